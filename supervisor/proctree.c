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

#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libproc2/pids.h>

#include "log.h"
#include "procfs.h"
#include "proctree.h"
#include "util.h"

struct pinfo {
	pid_t	 pid;
	pid_t	 ppid;
	pid_t	 pgrp;
	char	 state;		/* R S D Z T ... */
};

static enum pids_item items[] = { PIDS_ID_PID, PIDS_ID_PPID, PIDS_ID_PGRP,
    PIDS_STATE };

/* What collect() looks at. */
#define COLLECT_EVERYWHERE	0x1	/* the marker of every process */
#define COLLECT_LIVE		0x2	/* no zombies */

/* The ancestry of a process, worked out once (see classify). */
#define CLS_VISITING	0x1
#define CLS_DONE	0x2
#define CLS_ROOT	0x4	/* below a root, on the way up to self */
#define CLS_SELF	0x8	/* below this chainkeeperd */

/* The CHAINKEEPER_INSTANCE value of a process; -1 if it has none. */
static int
instance_of(pid_t pid, char *out, size_t outlen)
{
	char	 buf[16384], *p, *end;
	size_t	 ml = strlen(PROCTREE_MARKER "=");
	ssize_t	 n;

	if ((n = procfs_read_pid(pid, "environ", buf, sizeof(buf))) == -1)
		return (-1);
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

/*
 * Whether escaped descendants come back to this chainkeeperd: if it is not
 * a child subreaper, they go to init and only a look at every process
 * finds them.
 */
int
proctree_is_subreaper(void)
{
	int	 on = 0;

	return (prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0) == 0 && on);
}

/*
 * The direct children of this process (its main thread's), from
 * /proc/self/task/PID/children: one small read, not a scan of /proc.
 * -1 if the kernel does not tell.
 */
int
proctree_children(pid_t **pids, size_t *n)
{
	char	 path[64], *buf = NULL, *s, *end;
	size_t	 len = 0, size = 0, cap = 0;
	ssize_t	 r;
	long	 v;
	int	 fd;

	*pids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
	    (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	for (;;) {
		if (len + 4096 > size) {
			size = (len + 4096) * 2;
			buf = xreallocarray(buf, size, 1);
		}
		if ((r = read(fd, buf + len, size - len - 1)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (r == -1) {
		free(buf);
		return (-1);
	}
	if (buf == NULL)
		return (0);
	buf[len] = '\0';
	for (s = buf; *s != '\0'; s = end) {
		v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			*pids = xreallocarray(*pids, cap, sizeof(**pids));
		}
		(*pids)[(*n)++] = (pid_t)v;
	}
	free(buf);
	return (0);
}

static int
pinfo_cmp(const void *a, const void *b)
{
	const struct pinfo	*x = a, *y = b;

	return (x->pid < y->pid ? -1 : x->pid > y->pid);
}

/* Every process on the host (pid, parent, group, state), sorted by pid. */
static int
read_all(struct pinfo **out, size_t *np)
{
	struct pids_info	*info = NULL;
	struct pids_fetch	*f;
	struct pinfo		*v;
	int			 i;

	if (procps_pids_new(&info, items, 4) < 0) {
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
		v[i].state = (char)PIDS_VAL(3, s_ch, f->stacks[i], info);
	}
	*np = f->counts->total;
	*out = v;
	procps_pids_unref(&info);
	qsort(v, *np, sizeof(*v), pinfo_cmp);
	return (0);
}

/* A binary search in the sorted table. */
static struct pinfo *
lookup(struct pinfo *v, size_t n, pid_t pid)
{
	struct pinfo	 key;

	key.pid = pid;
	return (bsearch(&key, v, n, sizeof(*v), pinfo_cmp));
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t	 x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x < y ? -1 : x > y);
}

/* Whether pid is in a sorted array. */
static int
pid_in(const pid_t *v, size_t n, pid_t pid)
{
	return (n > 0 && pid > 0 &&
	    bsearch(&pid, v, n, sizeof(*v), pid_cmp) != NULL);
}

/*
 * The ancestry of every process, each worked out once from its parent's,
 * so that the whole table costs O(n log n) however deep the tree (a walk
 * up from each process would be quadratic in a long chain of forks).  A
 * process is below self if a parent on its way up is self; it is below a
 * root if a parent on that way, before self, is one of roots (sorted).
 * The way up stops at init, at a parent that is gone, and at a cycle
 * (pids recycled while /proc was read).  cls gets CLS_* bits per process.
 */
static void
classify(struct pinfo *v, size_t n, const pid_t *roots, size_t nroots,
    pid_t self, unsigned char *cls)
{
	struct pinfo	*q;
	size_t		*stack, depth, i, j, x;
	unsigned char	 c;

	stack = xcalloc(n > 0 ? n : 1, sizeof(*stack));
	for (i = 0; i < n; i++) {
		/* Up to the first process already known, or the top. */
		depth = 0;
		for (j = i; !(cls[j] & (CLS_DONE | CLS_VISITING));) {
			cls[j] = CLS_VISITING;
			stack[depth++] = j;
			if (v[j].ppid == self || v[j].ppid <= 1 ||
			    (q = lookup(v, n, v[j].ppid)) == NULL)
				break;
			j = (size_t)(q - v);
		}
		/* Then down again, each from its parent. */
		while (depth > 0) {
			x = stack[--depth];
			c = CLS_DONE;
			if (v[x].ppid == self)
				c |= CLS_SELF;
			else if (v[x].ppid > 1 &&
			    (q = lookup(v, n, v[x].ppid)) != NULL &&
			    (cls[q - v] & CLS_DONE))
				c |= cls[q - v] & (CLS_ROOT | CLS_SELF);
			if (pid_in(roots, nroots, v[x].ppid))
				c |= CLS_ROOT;
			cls[x] = c;
		}
	}
	free(stack);
}

/*
 * The pids of the tree of one program instance: root is its main pid (which
 * is also its process group), marker its instance marker.  The environment
 * of a process is read only when its ancestry and group do not settle it,
 * and, unless flags has COLLECT_EVERYWHERE, only below this chainkeeperd.
 * The caller frees *pids.  Returns -1 if /proc cannot be read.
 */
static int
collect(pid_t root, const char *marker, int flags, pid_t **pids,
    size_t *np)
{
	struct pinfo	*v, *q;
	unsigned char	*cls;
	size_t		 n, i, k = 0;
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
	if (!everywhere && (flags & COLLECT_EVERYWHERE) == 0 &&
	    !proctree_is_subreaper())
		flags |= COLLECT_EVERYWHERE;
	cls = xcalloc(n > 0 ? n : 1, 1);
	classify(v, n, &root, root > 0 ? 1 : 0, self, cls);
	*pids = xcalloc(n > 0 ? n : 1, sizeof(pid_t));
	for (i = 0; i < n; i++) {
		if (v[i].pid == self || v[i].pid <= 1)
			continue;
		/* A zombie has exited: nothing to signal or wait for. */
		if ((flags & COLLECT_LIVE) && (v[i].state == 'Z' ||
		    v[i].state == 'X'))
			continue;
		below_root = (cls[i] & CLS_ROOT) != 0;
		below_self = (cls[i] & CLS_SELF) != 0;
		/*
		 * Below this chainkeeperd, the group and ancestry say it; an
		 * adopted instance's root was checked for its marker above.
		 * Anywhere else only the marker counts (a process left by an
		 * adopted program was reparented to init, not to us): it names
		 * one instance, so a recycled pid never matches.
		 */
		if (((below_self || everywhere) && (below_root ||
		    (root > 0 && (v[i].pgrp == root || v[i].pid == root)))) ||
		    (((flags & COLLECT_EVERYWHERE) || below_self ||
		    everywhere) && has_marker(v[i].pid, marker)))
			(*pids)[k++] = v[i].pid;
	}
	free(cls);
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
 * The same for a stop: the live processes only, and with everywhere (the
 * run was adopted from an earlier chainkeeperd) also every process on the
 * host that carries the marker, left by the run and reparented to init.
 * Dearer: that reads every process's environment.
 */
int
proctree_collect_stop(pid_t root, const char *marker, int everywhere,
    pid_t **pids, size_t *np)
{
	return (collect(root, marker, COLLECT_LIVE |
	    (everywhere ? COLLECT_EVERYWHERE : 0), pids, np));
}

/*
 * The start time of a process in clock ticks since boot (field 22 of
 * /proc/pid/stat): with the pid, it names one process for good, since a
 * recycled pid has a later start time.  0 if the process is gone.
 */
unsigned long long
proctree_start_ticks(pid_t pid)
{
	char			 buf[1024], *p;
	unsigned long long	 ticks = 0;
	int			 field;

	if (procfs_read_pid(pid, "stat", buf, sizeof(buf)) == -1)
		return (0);
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
 * Find the processes that carry one of this chainkeeperd's instance markers
 * (CHAINKEEPER_INSTANCE=id:name/pid, id naming the state_dir), wherever
 * they were reparented.  For each, cb gets the program name, the pid the
 * marker names (the main process of the run it came from), its own pid
 * and its process group.  The marker is in an environment its owner sets
 * at will: it tells where a process came from, never that it is ours.
 */
int
proctree_find_instances(const char *id, void (*cb)(const char *, pid_t,
    pid_t, pid_t, void *), void *arg)
{
	struct pinfo	*v;
	size_t		 n, i, idlen = strlen(id);
	char		 name[160], *slash, *end;
	long		 mpid;

	if (read_all(&v, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (v[i].pid == getpid() || v[i].pid <= 1 ||
		    v[i].state == 'Z' || v[i].state == 'X')
			continue;
		if (instance_of(v[i].pid, name, sizeof(name)) == -1)
			continue;
		/* "id:name/pid": only this chainkeeperd's own. */
		if (strncmp(name, id, idlen) != 0 || name[idlen] != ':' ||
		    (slash = strrchr(name, '/')) == NULL ||
		    slash < name + idlen + 1)
			continue;
		*slash = '\0';
		mpid = strtol(slash + 1, &end, 10);
		if (*end != '\0' || mpid <= 0 || mpid > INT32_MAX)
			continue;
		cb(name + idlen + 1, (pid_t)mpid, v[i].pid, v[i].pgrp, arg);
	}
	free(v);
	return (0);
}

/* Parse the four ids of a "Uid:" or "Gid:" line of /proc/PID/status. */
static int
ident_ids(const char *s, unsigned long out[4])
{
	return (sscanf(s, "%lu %lu %lu %lu", &out[0], &out[1], &out[2],
	    &out[3]) == 4 ? 0 : -1);
}

/*
 * Who a process runs as (the four uids and gids of /proc/PID/status) and
 * its executable (device and inode of /proc/PID/exe, and its path).  -1
 * if the process is gone or cannot be read.
 */
int
proctree_ident(pid_t pid, struct proctree_ident *id)
{
	char		 path[64], buf[4096], *l;
	unsigned long	 u[4], g[4];
	struct stat	 st;
	ssize_t		 n;
	int		 i, have = 0;

	memset(id, 0, sizeof(*id));
	if (procfs_read_pid(pid, "status", buf, sizeof(buf)) == -1)
		return (-1);
	for (l = buf; l != NULL && *l != '\0'; l = strchr(l, '\n'),
	    l = l != NULL ? l + 1 : NULL) {
		if (strncmp(l, "Uid:", 4) == 0 && ident_ids(l + 4, u) == 0)
			have |= 1;
		else if (strncmp(l, "Gid:", 4) == 0 &&
		    ident_ids(l + 4, g) == 0)
			have |= 2;
	}
	if (have != 3)
		return (-1);
	for (i = 0; i < 4; i++) {
		id->uid[i] = (uid_t)u[i];
		id->gid[i] = (gid_t)g[i];
	}
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	if (stat(path, &st) == 0) {
		id->exe_dev = st.st_dev;
		id->exe_ino = st.st_ino;
	}
	if ((n = readlink(path, id->exe, sizeof(id->exe) - 1)) > 0)
		id->exe[n] = '\0';
	else
		id->exe[0] = '\0';
	return (0);
}

/*
 * The live processes of runs that ended by themselves: those that carry
 * one of the markers, and those with no marker at all in one of the
 * process groups (pgids[i], 0 for none; a group the caller keeps from
 * being recycled, e.g. by stopping it).  Below this chainkeeperd, or,
 * with everywhere (one of the runs was adopted), anywhere.  live names
 * the main pids of the runs going on: what is below one of them or in its
 * group is theirs, and its environment is not read.  One scan of /proc
 * for all of them, at most one read of each environment.  The caller
 * frees *pids.
 */
int
proctree_collect_markers(char *const *markers, const pid_t *pgids,
    size_t nm, const pid_t *live, size_t nlive, int everywhere,
    pid_t **pids, size_t *np)
{
	struct pinfo	*v;
	unsigned char	*cls;
	pid_t		*roots, self = getpid();
	size_t		 n, i, j, k = 0;
	char		 value[160];

	*pids = NULL;
	*np = 0;
	if (nm == 0)
		return (0);
	if (read_all(&v, &n) == -1)
		return (-1);
	if (!everywhere && !proctree_is_subreaper())
		everywhere = 1;
	roots = xcalloc(nlive > 0 ? nlive : 1, sizeof(*roots));
	if (nlive > 0)
		memcpy(roots, live, nlive * sizeof(*roots));
	qsort(roots, nlive, sizeof(*roots), pid_cmp);
	cls = xcalloc(n > 0 ? n : 1, 1);
	classify(v, n, roots, nlive, self, cls);
	*pids = xcalloc(n > 0 ? n : 1, sizeof(pid_t));
	for (i = 0; i < n; i++) {
		if (v[i].pid == self || v[i].pid <= 1 || v[i].state == 'Z' ||
		    v[i].state == 'X')
			continue;
		/* Not below us: none of ours, unless a run was adopted. */
		if (!everywhere && (cls[i] & CLS_SELF) == 0)
			continue;
		/* A run that goes on: its tree, its group. */
		if ((cls[i] & CLS_ROOT) || pid_in(roots, nlive, v[i].pid) ||
		    pid_in(roots, nlive, v[i].pgrp))
			continue;
		/* One read of its environment, matched against them all. */
		if (instance_of(v[i].pid, value, sizeof(value)) == 0) {
			for (j = 0; j < nm; j++)
				if (strcmp(value, markers[j]) == 0)
					break;
		} else {
			for (j = 0; j < nm; j++)
				if (pgids[j] > 0 && v[i].pgrp == pgids[j])
					break;
		}
		if (j < nm)
			(*pids)[k++] = v[i].pid;
	}
	free(roots);
	free(cls);
	free(v);
	*np = k;
	return (0);
}
