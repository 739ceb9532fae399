/*
 * Pure parsers and small helpers shared by the host-level probe kinds
 * (peers, procstat, oom, log-match): /proc/net/tcp lines, kernel OOM-kill
 * lines, /dev/kmsg records, /proc/<pid>/cgroup and mountinfo, "key value"
 * files (memory.events), a line splitter and a file tailer that follows
 * rotation.  Nothing here touches the event loop or the program table, so
 * the unit tests and fuzz harnesses can feed these functions anything.
 */
#ifndef PROBE_SYS_H
#define PROBE_SYS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* One socket line of /proc/net/tcp or /proc/net/tcp6. */
struct sys_tcp {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 laddr[16];	/* network byte order */
	uint8_t		 raddr[16];
	uint16_t	 lport;
	uint16_t	 rport;
	int		 state;		/* SYS_TCP_ESTABLISHED, ... */
	uint64_t	 inode;
};
#define SYS_TCP_ESTABLISHED	1
#define SYS_TCP_LISTEN		10

int	sys_tcp_parse(const char *, size_t, struct sys_tcp *);
char	*sys_tcp_addr(int, const uint8_t *, uint16_t, char *, size_t);

/*
 * The same sockets through NETLINK_SOCK_DIAG (what ss(8) uses): a dump
 * request for established TCP sockets of a family, filtered in the kernel
 * by local and remote port (0: any), and the parser of the replies.
 */
typedef void (*sys_tcp_cb)(void *, const struct sys_tcp *);
size_t	sys_diag_request(void *, size_t, int, uint16_t, uint16_t,
	    uint32_t);
/* The buffer must be aligned as a struct nlmsghdr (4 bytes). */
int	sys_diag_parse(const void *, size_t, uint32_t, sys_tcp_cb, void *);

/* A network (CIDR) for the peers filters. */
struct sys_net {
	int		 family;
	uint8_t		 addr[16];
	int		 bits;
};
int	sys_net_parse(const char *, struct sys_net *);
int	sys_net_match(const struct sys_net *, int, const uint8_t *);

/* A kernel OOM-killer line. */
struct sys_oom {
	pid_t		 pid;
	char		 name[64];
	int		 killed;	/* "Killed process": the victim */
	int		 memcg;		/* in a memory cgroup */
};
int	sys_oom_parse(const char *, size_t, int, struct sys_oom *);

/* One record read from /dev/kmsg. */
struct sys_kmsg {
	int		 facility;
	int		 level;
	uint64_t	 seq;
	uint64_t	 usec;		/* since boot */
	const char	*msg;		/* in the record, not NUL-ended */
	size_t		 msglen;
};
int	sys_kmsg_parse(const char *, size_t, struct sys_kmsg *);

/* "key value" lines (memory.events, memory.oom_control). */
int	sys_kv_parse(const char *, size_t, const char *, uint64_t *);
/* The path of a controller ("" for cgroup v2) in /proc/<pid>/cgroup. */
int	sys_cgroup_parse(const char *, size_t, const char *, char *, size_t);

/* One line of /proc/self/mountinfo. */
struct sys_mount {
	char		 root[256];
	char		 point[256];
	char		 fstype[32];
	char		 super[256];	/* super options */
};
int	sys_mountinfo_parse(const char *, size_t, struct sys_mount *);

/* Valid UTF-8 of at most outlen - 1 bytes: bad bytes and controls are '?'. */
size_t	sys_utf8_clean(const char *, size_t, char *, size_t);

/* POSIX ERE with the Perl shorthands \d and \D rewritten (allocated). */
char	*sys_regex_translate(const char *);

/* Splits a byte stream into lines; a line longer than max is cut. */
typedef void (*sys_line_cb)(void *, const char *, size_t);
struct sys_linebuf {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 max;		/* 0: SYS_LINE_MAX */
	int		 cut;		/* the pending line was cut */
};
#define SYS_LINE_MAX	8192

void	sys_linebuf_feed(struct sys_linebuf *, const char *, size_t,
	    sys_line_cb, void *);
void	sys_linebuf_flush(struct sys_linebuf *, sys_line_cb, void *);
void	sys_linebuf_clear(struct sys_linebuf *);

/*
 * Follows a log file by path, like tail -F: each line is delivered once,
 * across rename (the old file is read to its end first) and truncation.
 */
struct sys_tail {
	char		*path;
	int		 fd;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 off;
	int		 opened;	/* opened at least once */
	int		 missed;	/* it did not exist at first */
	int		 from_end;	/* first open: start at the end */
	unsigned int	 rotations;
	unsigned int	 truncations;
	uint64_t	 bytes;		/* read, ever */
	uint64_t	 behind;	/* left for the next read (max hit) */
	/* The last bytes read, to notice a rewrite after a truncation. */
	char		 sig[64];
	size_t		 siglen;
	struct sys_linebuf lb;
};
void	sys_tail_init(struct sys_tail *, const char *, int);
int	sys_tail_read(struct sys_tail *, size_t, sys_line_cb, void *);
void	sys_tail_close(struct sys_tail *);

#endif
