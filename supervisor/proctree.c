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

/* The CHAINKEEPER_INSTANCE value of a process; -1 if it has none. */
static int
instance_of(pid_t pid, char *out, size_t outlen)
{
	char	 path[64], buf[16384], *p, *end;
	size_t	 ml = strlen(PROCTREE_MARKER "=");
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	end = buf + n;
	for (p = buf; p < end; p += strlen(p) + 1)
		if (strncmp(p, PROCTREE_MARKER "=", ml) == 0) {
			snprintf(out, outlen, "%s", p + ml);
			return (0);
		}
	return (-1);
}

/* Whether a process carries the marker. */
static int
has_marker(pid_t pid, const char *marker)
{
	char	 value[160];

	return (instance_of(pid, value, sizeof(value)) == 0 &&
	    strcmp(value, marker) == 0);
}

static int
pinfo_cmp(const void *a, const void *b)
{
	const struct pinfo	*x = a, *y = b;

	return (x->pid < y->pid ? -1 : x->pid > y->pid);
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
	qsort(v, *np, sizeof(*v), pinfo_cmp);
	return (0);
}

/* A binary search: a tree walk over every process stays O(n log n). */
static struct pinfo *
lookup(struct pinfo *v, size_t n, pid_t pid)
{
	struct pinfo	 key;

	key.pid = pid;
	return (bsearch(&key, v, n, sizeof(*v), pinfo_cmp));
}

/*
 * The pids of the tree of one program instance: root is its main pid (which
 * is also its process group), marker its instance marker.  The caller frees
 * *pids.  Returns -1 if /proc cannot be read.
 */
static int
collect(pid_t root, const char *marker, int thorough, pid_t **pids,
    size_t *np)
{
	struct pinfo	*v, *q;
	size_t		 n, i, k = 0, depth;
	pid_t		 self = getpid();
	int		 below_root, below_self, everywhere = 0;

	*pids = NULL;
	*np = 0;
	if (read_all(&v, &n) == -1)
		return (-1);
	/*
	 * A program adopted from an earlier chainkeeperd is not below this
	 * one, nor are its escaped descendants: look at every process.
	 */
	if (root > 0 && (q = lookup(v, n, root)) != NULL && q->ppid != self &&
	    has_marker(root, marker))
		everywhere = 1;
	*pids = xcalloc(n, sizeof(pid_t));
	for (i = 0; i < n; i++) {
		if (v[i].pid == self || v[i].pid <= 1)
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
		/*
		 * Below this chainkeeperd, the group and ancestry say it; an
		 * adopted instance's root was checked for its marker above.
		 * Anywhere else only the marker counts (a process left by an
		 * adopted program was reparented to init, not to us): it names
		 * one instance, so a recycled pid never matches.
		 */
		if (((below_self || everywhere) && (below_root ||
		    (root > 0 && (v[i].pgrp == root || v[i].pid == root)))) ||
		    ((thorough || below_self || everywhere) &&
		    has_marker(v[i].pid, marker)))
			(*pids)[k++] = v[i].pid;
	}
	free(v);
	*np = k;
	return (0);
}

/*
 * Resource use of a program instance's tree (see proctree_collect): RSS,
 * CPU ticks (utime + stime + cutime + cstime, so the time of children
 * reaped inside the tree is not lost) and threads, summed, and the state
 * letter of root.  st->pids (the tree) is for the caller to free.  Only the
 * tree's processes are read beyond what proctree_collect reads.
 */
int
proctree_stat(pid_t root, const char *marker, struct proctree_stat *st)
{
	static enum pids_item	 sitems[] = { PIDS_ID_PID, PIDS_RSS,
	    PIDS_TICS_ALL_C, PIDS_NLWP, PIDS_STATE };
	struct pids_info	*info = NULL;
	struct pids_fetch	*f;
	unsigned int		 ids[255];
	size_t			 i, j, chunk;
	long			 page = sysconf(_SC_PAGESIZE);
	int			 k;

	memset(st, 0, sizeof(*st));
	if (proctree_collect(root, marker, &st->pids, &st->npids) == -1)
		return (-1);
	if (st->npids == 0)
		return (0);
	if (procps_pids_new(&info, sitems, 5) < 0) {
		log_warnx("procps_pids_new failed");
		return (-1);
	}
	/* libproc2 selects at most 255 pids at a time. */
	for (i = 0; i < st->npids; i += chunk) {
		chunk = st->npids - i < 255 ? st->npids - i : 255;
		for (j = 0; j < chunk; j++)
			ids[j] = (unsigned int)st->pids[i + j];
		if ((f = procps_pids_select(info, ids, (int)chunk,
		    PIDS_SELECT_PID)) == NULL)
			continue;
		for (k = 0; k < f->counts->total; k++) {
			st->rss += (uint64_t)PIDS_VAL(1, ul_int, f->stacks[k],
			    info) * (uint64_t)(page > 0 ? page : 4096);
			st->ticks += PIDS_VAL(2, ull_int, f->stacks[k], info);
			st->threads += (uint64_t)PIDS_VAL(3, s_int,
			    f->stacks[k], info);
			if (PIDS_VAL(0, s_int, f->stacks[k], info) == root)
				st->root_state = (char)PIDS_VAL(4, s_ch,
				    f->stacks[k], info);
			st->nprocs++;
		}
	}
	procps_pids_unref(&info);
	return (0);
}

/*
 * The pids of a running instance's tree, for probes: cheap, it reads the
 * environment only of processes below this chainkeeperd (or of an adopted
 * instance's).
 */
int
proctree_collect(pid_t root, const char *marker, pid_t **pids, size_t *np)
{
	return (collect(root, marker, 0, pids, np));
}

/*
 * The same for a stop: also every process on the host that carries the
 * marker (left by an adopted program, reparented to init).  Dearer: it
 * reads every process's environment.
 */
int
proctree_collect_all(pid_t root, const char *marker, pid_t **pids, size_t *np)
{
	return (collect(root, marker, 1, pids, np));
}

/* Signal a program instance's whole tree; returns how many were sent. */
int
proctree_kill(pid_t root, const char *marker, int sig)
{
	pid_t	*pids;
	size_t	 n, i;
	int	 sent = 0;

	if (proctree_collect_all(root, marker, &pids, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (kill(pids[i], sig) == 0)
			sent++;
	free(pids);
	return (sent);
}

/*
 * The start time of a process in clock ticks since boot (field 22 of
 * /proc/pid/stat): with the pid, it names one process for good, since a
 * recycled pid has a later start time.  0 if the process is gone.
 */
unsigned long long
proctree_start_ticks(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ticks = 0;
	ssize_t			 n;
	int			 fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: skip past the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (0);
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
		ticks = strtoull(p, NULL, 10);
	/* A zombie has exited: it is not a live instance. */
	if (strstr(buf, ") Z ") != NULL)
		return (0);
	return (ticks);
}

/*
 * Find the main processes of this chainkeeperd's programs: every process
 * whose instance marker (CHAINKEEPER_INSTANCE=id:name/pid, id naming the
 * state_dir) names its own pid.  For
 * each, cb gets the program name, pid, process group and start ticks.  This
 * works without the state file and finds programs of a chainkeeperd that
 * died, wherever they were reparented.
 */
int
proctree_find_instances(const char *id, void (*cb)(const char *, pid_t,
    pid_t, unsigned long long, void *), void *arg)
{
	struct pinfo	*v;
	size_t		 n, i, len;
	char		 path[64], buf[32768], name[160], *p, *end, *slash;
	char		*colon;
	ssize_t		 r;
	int		 fd;
	long		 mpid;

	if (read_all(&v, &n) == -1)
		return (-1);
	len = strlen(PROCTREE_MARKER "=");
	for (i = 0; i < n; i++) {
		if (v[i].pid == getpid() || v[i].pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/environ",
		    (long)v[i].pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		end = buf + r;
		for (p = buf; p < end; p += strlen(p) + 1) {
			if (strncmp(p, PROCTREE_MARKER "=", len) != 0)
				continue;
			/* "id:name/pid": only this chainkeeperd's own. */
			snprintf(name, sizeof(name), "%s", p + len);
			if ((slash = strrchr(name, '/')) == NULL ||
			    (colon = strchr(name, ':')) == NULL ||
			    (size_t)(colon - name) != strlen(id) ||
			    strncmp(name, id, strlen(id)) != 0)
				break;
			*slash = '\0';
			mpid = strtol(slash + 1, NULL, 10);
			if (mpid == v[i].pid)
				cb(colon + 1, v[i].pid, v[i].pgrp,
				    proctree_start_ticks(v[i].pid), arg);
			break;
		}
	}
	free(v);
	return (0);
}

/*
 * SIGKILL what is left of runs that ended by themselves: every process
 * that carries one of the markers (below this chainkeeperd, or reparented
 * to init after an adoption).  One scan of
 * /proc for all of them.  Returns how many were killed.
 */
int
proctree_kill_markers(char *const *markers, size_t nm, int sig)
{
	struct pinfo	*v;
	size_t		 n, i, j;
	pid_t		 self = getpid();
	int		 killed = 0;
	char		 value[160];

	if (nm == 0 || read_all(&v, &n) == -1)
		return (0);
	for (i = 0; i < n; i++) {
		if (v[i].pid == self || v[i].pid <= 1)
			continue;
		/* One read of its environment, matched against them all. */
		if (instance_of(v[i].pid, value, sizeof(value)) == -1)
			continue;
		for (j = 0; j < nm; j++)
			if (strcmp(value, markers[j]) == 0) {
				if (kill(v[i].pid, sig) == 0)
					killed++;
				break;
			}
	}
	free(v);
	return (killed);
}
