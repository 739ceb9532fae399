/* Process tree queries: the only user of libproc2. */
#ifndef PROCTREE_H
#define PROCTREE_H

#include <sys/types.h>
#include <stddef.h>

#define PROCTREE_MARKER	"CHAINKEEPER_INSTANCE"

int	proctree_collect(pid_t, const char *, pid_t **, size_t *);
int	proctree_kill(pid_t, const char *, int);
unsigned long long proctree_start_ticks(pid_t);
int	proctree_find_instances(const char *, void (*)(const char *, pid_t,
	    pid_t, unsigned long long, void *), void *);

#endif
