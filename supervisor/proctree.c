/*
 * Process tree queries: the only user of libproc2.  chainkeeperd is a
 * child subreaper, so every process a program leaves behind, even one that
 * called setsid() after its parent died, is reparented to chainkeeperd
 * rather than to init.  A program's tree is then every process below
 * chainkeeperd that is in the program's process group, or below its main
 * pid, or carries its instance marker (CHAINKEEPER_INSTANCE=name/pid,
 * inherited through the environment).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libproc2/pids.h>

#include "log.h"
#include "proctree.h"
#include "util.h"

struct pinfo {
	pid_t	 pid;
	pid_t	 ppid;
	pid_t	 pgrp;
};

static enum pids_item items[] = { PIDS_ID_PID, PIDS_ID_PPID, PIDS_ID_PGRP };

/* Whether /proc/pid/environ holds the marker. */
static int
has_marker(pid_t pid, const char *marker)
{
	char	 path[64], buf[16384], want[160];
	ssize_t	 n;
	size_t	 wl;
	int	 fd;
	char	*p, *end;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	wl = (size_t)snprintf(want, sizeof(want), "%s=%s", PROCTREE_MARKER,
	    marker);
	end = buf + n;
	for (p = buf; p < end; p += strlen(p) + 1)
		if (strlen(p) == wl && memcmp(p, want, wl) == 0)
			return (1);
	return (0);
}

static int
read_all(struct pinfo **out, size_t *np)
{
	struct pids_info	*info = NULL;
	struct pids_fetch	*f;
	struct pinfo		*v;
	int			 i;

	if (procps_pids_new(&info, items, 3) < 0) {
		log_warnx("procps_pids_new failed");
		return (-1);
	}
	if ((f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY)) == NULL) {
		log_warnx("procps_pids_reap failed");
		procps_pids_unref(&info);
		return (-1);
	}
	v = xcalloc(f->counts->total, sizeof(*v));
	for (i = 0; i < f->counts->total; i++) {
		v[i].pid = PIDS_VAL(0, s_int, f->stacks[i], info);
		v[i].ppid = PIDS_VAL(1, s_int, f->stacks[i], info);
		v[i].pgrp = PIDS_VAL(2, s_int, f->stacks[i], info);
	}
	*np = f->counts->total;
	*out = v;
	procps_pids_unref(&info);
	return (0);
}

static struct pinfo *
lookup(struct pinfo *v, size_t n, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i].pid == pid)
			return (&v[i]);
	return (NULL);
}

/*
 * The pids of the tree of one program instance: root is its main pid (which
 * is also its process group), marker its instance marker.  The caller frees
 * *pids.  Returns -1 if /proc cannot be read.
 */
int
proctree_collect(pid_t root, const char *marker, pid_t **pids, size_t *np)
{
	struct pinfo	*v, *q;
	size_t		 n, i, k = 0, depth;
	pid_t		 self = getpid();
	int		 below_root, below_self;

	*pids = NULL;
	*np = 0;
	if (read_all(&v, &n) == -1)
		return (-1);
	*pids = xcalloc(n, sizeof(pid_t));
	for (i = 0; i < n; i++) {
		if (v[i].pid == self)
			continue;
		below_root = below_self = 0;
		q = &v[i];
		for (depth = 0; q != NULL && depth < n; depth++) {
			if (q->ppid == root && root > 0)
				below_root = 1;
			if (q->ppid == self) {
				below_self = 1;
				break;
			}
			if (q->ppid <= 1)
				break;
			q = lookup(v, n, q->ppid);
		}
		if (!below_self)
			continue;
		if (below_root || (root > 0 && (v[i].pgrp == root ||
		    v[i].pid == root)) || has_marker(v[i].pid, marker))
			(*pids)[k++] = v[i].pid;
	}
	free(v);
	*np = k;
	return (0);
}

/* Signal a program instance's whole tree; returns how many were sent. */
int
proctree_kill(pid_t root, const char *marker, int sig)
{
	pid_t	*pids;
	size_t	 n, i;
	int	 sent = 0;

	if (proctree_collect(root, marker, &pids, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (kill(pids[i], sig) == 0)
			sent++;
	free(pids);
	return (sent);
}
