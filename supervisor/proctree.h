/* Process tree queries: the only user of libproc2. */
#ifndef PROCTREE_H
#define PROCTREE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define PROCTREE_MARKER	"CHAINKEEPER_INSTANCE"

struct proctree_stat {
	pid_t		*pids;		/* the tree; the caller frees */
	size_t		 npids;
	size_t		 nprocs;	/* of them, read */
	uint64_t	 rss;		/* bytes */
	uint64_t	 ticks;		/* utime+stime+cutime+cstime */
	uint64_t	 threads;
	char		 root_state;	/* R S D Z T ...; 0: root gone */
};

int	proctree_collect(pid_t, const char *, pid_t **, size_t *);
int	proctree_collect_stop(pid_t, const char *, int, pid_t **, size_t *);
int	proctree_stat(pid_t, const char *, struct proctree_stat *);
unsigned long long proctree_start_ticks(pid_t);
int	proctree_children(pid_t **, size_t *);
int	proctree_is_subreaper(void);
int	proctree_collect_markers(char *const *, const pid_t *, size_t,
	    const pid_t *, size_t, int, pid_t **, size_t *);
int	proctree_find_instances(const char *, void (*)(const char *, pid_t,
	    pid_t, pid_t, void *), void *);

/* Who a process runs as and what it runs, from /proc. */
struct proctree_ident {
	uid_t		 uid[4];	/* real, effective, saved, fs */
	gid_t		 gid[4];
	dev_t		 exe_dev;	/* 0 and 0: unknown */
	ino_t		 exe_ino;
	char		 exe[256];
};

int	proctree_ident(pid_t, struct proctree_ident *);

#endif
