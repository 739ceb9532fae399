/*
 * oom: notices when the kernel's OOM killer kills a process of the
 * program's tree.  Two kinds of evidence:
 *  - "Killed process N (name)" lines, read from /dev/kmsg (the default) or
 *    from a syslog file (syslog:), each line once, across rotation;
 *  - the oom_kill counter of the program's own memory cgroup (v2
 *    memory.events, v1 memory.oom_control), when the program has a cgroup
 *    of its own, counting only increases since the run began.
 * A line's pid is matched against the tree's pids of the last minute of
 * checks (a killed process is gone by the time its line is read), else,
 * with match_name, its name against the names of those processes and
 * argv[0] (unless a shell or env wrapper) of exactly one program.  When
 * the victim is the main process, program_note_oom() has its exit reported
 * as an OOM kill.  The check fails while a kill is younger than hold (and
 * at the check that first sees it), also for a new run after its previous
 * run's main process was OOM-killed.  The value is the number of kills in
 * this run.
 *
 * Sources are shared: one /dev/kmsg reader (an ev_io) and one reader per
 * syslog file (polled every second), each with the list of watches, one
 * per probe.  A watch outlives its probe by a few seconds, since the end of
 * a run is often the OOM kill itself and its line may come after the exit
 * was reaped and the run's probes freed.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "log.h"
#include "probe-oom.h"
#include "probe-sys.h"
#include "probe.h"
#include "procfs.h"
#include "proctree.h"
#include "program.h"
#include "util.h"

#define OOM_KMSG		"/dev/kmsg"
#define OOM_LINGER_TICKS	10	/* s a watch outlives its probe */
#define OOM_POLL_S		1.0	/* syslog files are read so often */
#define OOM_PID_KEEP_MS		60000	/* tree pids are remembered so long */
#define OOM_PIDS_MAX		8192
#define OOM_KMSG_PER_EVENT	512
#define OOM_READ_MAX		(4 * 1024 * 1024)
#define OOM_SEEN		16	/* killed pids kept, against doubles */

struct oom_cfg {
	const char	*syslog;	/* NULL: /dev/kmsg */
	int		 cgroup;
	int		 match_name;
	int64_t		 hold_ms;
	json_t		*params;
};

struct oom_src {
	LIST_ENTRY(oom_src) entry;
	char		*path;		/* NULL: /dev/kmsg */
	int		 fd;		/* /dev/kmsg, -1 if not open */
	ev_io		 io;
	struct sys_tail	 tail;
	ev_timer	 poll;
	int		 refs;
	int		 err;		/* errno of the last failure */
	uint64_t	 lines;
	uint64_t	 lost;		/* kmsg records lost unread */
};

struct oom_pid {
	pid_t		 pid;
	int64_t		 seen_ms;
	char		 comm[16];	/* its name when first seen */
};

struct oom_watch {
	LIST_ENTRY(oom_watch) entry;
	struct oom_src	*src;
	struct probe	*p;		/* NULL once the probe is gone */
	char		*prog;		/* the program's name */
	/* argv[0] basename, cut as comm is; "" for a shell or env. */
	char		 comm[16];
	int		 match_name;
	pid_t		 main_pid;
	struct oom_pid	*pids;
	size_t		 npids;
	pid_t		 seen[OOM_SEEN];
	unsigned int	 nseen;
	/* The memory cgroup's oom_kill counter. */
	int		 cg_tried;
	char		*cg_file;	/* NULL: no cgroup of its own */
	uint64_t	 cg_base;
	uint64_t	 cg_last;
	int64_t		 cg_ms;		/* when it last rose */
	time_t		 cg_wall;
	/* Kills seen in lines, this run. */
	unsigned int	 kills;
	int64_t		 last_ms;
	time_t		 last_wall;
	pid_t		 last_pid;
	char		 last_name[64];
	int		 last_main;
	int		 last_by_name;
	/* The previous run's main process, if the OOM killer ended it. */
	int		 prev_noted;
	pid_t		 prev_pid;
	time_t		 prev_wall;
	int64_t		 prev_ms;
	unsigned int	 events;
	unsigned int	 events_at_check;
	ev_timer	 linger;
	int		 linger_ticks;
};

int			(*probe_oom_note_hook)(const char *, pid_t, int);

static LIST_HEAD(, oom_src)	oom_srcs = LIST_HEAD_INITIALIZER(oom_srcs);
static LIST_HEAD(, oom_watch)	oom_watches =
    LIST_HEAD_INITIALIZER(oom_watches);

static void	oom_src_read(struct oom_src *);
static void	oom_cgroup_check(struct oom_watch *);

static const char *const oom_keys[] = { "syslog", "cgroup", "match_name",
    "hold", NULL };

static void
oom_free_config(void *arg)
{
	struct oom_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

static void *
oom_parse(const json_t *o, const char **key, char **err)
{
	struct oom_cfg	*c;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->cgroup = 1;
	c->match_name = 1;
	c->hold_ms = 10 * 60 * 1000;
	if (probe_param_check_keys(o, oom_keys, key, err) == -1 ||
	    probe_param_string(o, "syslog", 0, &c->syslog, key, err) == -1 ||
	    probe_param_bool(o, "cgroup", &c->cgroup, key, err) == -1 ||
	    probe_param_bool(o, "match_name", &c->match_name, key,
	    err) == -1 ||
	    probe_param_duration(o, "hold", &c->hold_ms, key, err) == -1)
		goto fail;
	if (c->syslog != NULL && c->syslog[0] != '/') {
		*key = "syslog";
		xasprintf(err, "syslog must be an absolute path");
		goto fail;
	}
	return (c);
fail:
	oom_free_config(c);
	return (NULL);
}

/* Whether a watch's tree held pid lately. */
static int
watch_has_pid(const struct oom_watch *w, pid_t pid)
{
	size_t	 i;

	if (pid == w->main_pid)
		return (1);
	for (i = 0; i < w->npids; i++)
		if (w->pids[i].pid == pid)
			return (1);
	return (0);
}

/* The name (comm) of a process, as the kernel's lines give it. */
static void
read_comm(pid_t pid, char *out, size_t len)
{
	if (procfs_read_pid(pid, "comm", out, len) == -1)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/*
 * Whether a name is that of the program: of a process of its tree seen
 * lately, or its argv[0].
 */
static int
watch_has_name(const struct oom_watch *w, const char *name)
{
	size_t	 i, l = sizeof(w->comm) - 1;

	if (w->comm[0] != '\0' && strncmp(w->comm, name, l) == 0)
		return (1);
	for (i = 0; i < w->npids; i++)
		if (w->pids[i].comm[0] != '\0' &&
		    strncmp(w->pids[i].comm, name, l) == 0)
			return (1);
	return (0);
}

/* Remember the tree's pids as of now; forget those not seen lately. */
static void
watch_update_pids(struct oom_watch *w, const pid_t *pids, size_t n)
{
	int64_t	 now = now_ms();
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < w->npids; j++)
			if (w->pids[j].pid == pids[i])
				break;
		if (j == w->npids) {
			if (w->npids == OOM_PIDS_MAX)
				continue;
			w->pids = xreallocarray(w->pids, w->npids + 1,
			    sizeof(*w->pids));
			w->pids[w->npids].pid = pids[i];
			read_comm(pids[i], w->pids[w->npids].comm,
			    sizeof(w->pids[w->npids].comm));
			w->npids++;
		}
		w->pids[j].seen_ms = now;
	}
	for (i = j = 0; i < w->npids; i++)
		if (now - w->pids[i].seen_ms <= OOM_PID_KEEP_MS)
			w->pids[j++] = w->pids[i];
	w->npids = j;
}

/* A kill attributed to a watch (once per pid). */
static void
watch_kill(struct oom_watch *w, const struct sys_oom *o, int by_name)
{
	unsigned int	 i;
	int		 main_proc = 0;

	for (i = 0; i < w->nseen && i < OOM_SEEN; i++)
		if (w->seen[i] == o->pid)
			return;
	w->seen[w->nseen++ % OOM_SEEN] = o->pid;
	w->kills++;
	w->events++;
	w->last_ms = now_ms();
	w->last_wall = time(NULL);
	w->last_pid = o->pid;
	sys_utf8_clean(o->name, strlen(o->name), w->last_name,
	    sizeof(w->last_name));
	w->last_by_name = by_name;
	if (probe_oom_note_hook != NULL)
		main_proc = probe_oom_note_hook(w->prog, o->pid, 1);
	w->last_main = main_proc;
	log_warnx("%s: the OOM killer killed pid %ld (%s)%s%s", w->prog,
	    (long)o->pid, w->last_name, main_proc ? ", the main process" : "",
	    by_name ? " (matched by name)" : "");
}

/* An OOM-kill line: find whose tree it hit. */
static void
oom_dispatch(struct oom_src *src, const struct sys_oom *o)
{
	struct oom_watch	*w, *cand = NULL;
	int			 n = 0, by_pid = 0;

	/* Every watch that knew the pid (two probes of one program). */
	LIST_FOREACH(w, &oom_watches, entry) {
		if (w->src == src && watch_has_pid(w, o->pid)) {
			watch_kill(w, o, 0);
			by_pid = 1;
		}
	}
	if (by_pid)
		return;
	LIST_FOREACH(w, &oom_watches, entry) {
		if (w->src != src || w->p == NULL || !w->match_name ||
		    !watch_has_name(w, o->name))
			continue;
		/* Two probes of one program share the verdict. */
		if (cand != NULL && strcmp(cand->prog, w->prog) == 0)
			continue;
		cand = w;
		n++;
	}
	if (n == 1) {
		LIST_FOREACH(w, &oom_watches, entry)
			if (w->src == src && w->p != NULL && w->match_name &&
			    strcmp(w->prog, cand->prog) == 0 &&
			    watch_has_name(w, o->name))
				watch_kill(w, o, 1);
	} else if (n > 1)
		log_warnx("the OOM killer killed pid %ld (%s): not matched, "
		    "several programs run a process of that name",
		    (long)o->pid, o->name);
}

static void
oom_line(struct oom_src *src, const char *line, size_t len, int need_kernel)
{
	struct sys_oom	 o;

	src->lines++;
	if (sys_oom_parse(line, len, need_kernel, &o) == 1 && o.killed)
		oom_dispatch(src, &o);
}

static void
oom_syslog_line_cb(void *arg, const char *line, size_t len)
{
	oom_line(arg, line, len, 1);
}

/* Read what the source has now: kmsg records, or new syslog lines. */
static void
oom_src_read(struct oom_src *src)
{
	char		 buf[8192];
	struct sys_kmsg	 k;
	ssize_t		 n;
	int		 i;

	if (src->path != NULL) {
		if (sys_tail_read(&src->tail, OOM_READ_MAX, oom_syslog_line_cb,
		    src) == -1)
			src->err = errno;
		else
			src->err = 0;
		return;
	}
	if (src->fd == -1)
		return;
	for (i = 0; i < OOM_KMSG_PER_EVENT; i++) {
		n = read(src->fd, buf, sizeof(buf));
		if (n > 0) {
			if (sys_kmsg_parse(buf, (size_t)n, &k) == 0)
				oom_line(src, k.msg, k.msglen, 0);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EPIPE) {
			/* Records were overwritten before we read them. */
			src->lost++;
			continue;
		}
		if (n == -1 && errno != EAGAIN) {
			src->err = errno;
			log_warn("%s: read", OOM_KMSG);
		}
		break;
	}
}

static void
oom_kmsg_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	oom_src_read(w->data);
}

static void
oom_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	oom_src_read(w->data);
}

/* Open /dev/kmsg at its end (only new records are read). */
static void
oom_kmsg_open(struct oom_src *src)
{
	if ((src->fd = open(OOM_KMSG, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1) {
		src->err = errno;
		return;
	}
	if (lseek(src->fd, 0, SEEK_END) == -1) {
		src->err = errno;
		close(src->fd);
		src->fd = -1;
		return;
	}
	src->err = 0;
	ev_io_init(&src->io, oom_kmsg_cb, src->fd, EV_READ);
	src->io.data = src;
	ev_io_start(EV_DEFAULT, &src->io);
}

/* The shared reader of a path (NULL: /dev/kmsg), with one more user. */
static struct oom_src *
oom_src_get(const char *path)
{
	struct oom_src	*src;

	LIST_FOREACH(src, &oom_srcs, entry) {
		if ((path == NULL && src->path == NULL) || (path != NULL &&
		    src->path != NULL && strcmp(path, src->path) == 0)) {
			src->refs++;
			return (src);
		}
	}
	src = xcalloc(1, sizeof(*src));
	src->refs = 1;
	src->fd = -1;
	LIST_INSERT_HEAD(&oom_srcs, src, entry);
	if (path == NULL) {
		oom_kmsg_open(src);
		return (src);
	}
	src->path = xstrdup(path);
	sys_tail_init(&src->tail, path, 1);
	oom_src_read(src);		/* positions it at the end */
	ev_timer_init(&src->poll, oom_poll_cb, OOM_POLL_S, OOM_POLL_S);
	src->poll.data = src;
	ev_timer_start(EV_DEFAULT, &src->poll);
	return (src);
}

static void
oom_src_unref(struct oom_src *src)
{
	if (--src->refs > 0)
		return;
	LIST_REMOVE(src, entry);
	if (src->fd != -1) {
		ev_io_stop(EV_DEFAULT, &src->io);
		close(src->fd);
	}
	if (src->path != NULL) {
		ev_timer_stop(EV_DEFAULT, &src->poll);
		sys_tail_close(&src->tail);
		free(src->path);
	}
	free(src);
}

static void
watch_free(struct oom_watch *w)
{
	ev_timer_stop(EV_DEFAULT, &w->linger);
	LIST_REMOVE(w, entry);
	oom_src_unref(w->src);
	free(w->pids);
	free(w->cg_file);
	free(w->prog);
	free(w);
}

/*
 * The oom_kill counter file of the memory cgroup of pid, if pid has one
 * of its own (not chainkeeperd's: then every program shares it): cgroup
 * v2 memory.events, else v1 memory.oom_control.  NULL if none.
 */
static char *
oom_cgroup_file(pid_t pid)
{
	static const char *const ctl[2] = { "", "memory" };
	static const char *const fname[2] = { "memory.events",
	    "memory.oom_control" };
	struct sys_mount	 m;
	char			 buf[8192], path[64], mine[512], self[512];
	char			 point[2][256], root[2][256], *file = NULL;
	const char		*rel;
	FILE			*f;
	char			*line = NULL;
	size_t			 cap = 0, rl;
	ssize_t			 len;
	int			 i, found[2] = { 0, 0 };

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return (NULL);
	while ((len = getline(&line, &cap, f)) != -1) {
		if (sys_mountinfo_parse(line, (size_t)len, &m) == -1)
			continue;
		i = -1;
		if (strcmp(m.fstype, "cgroup2") == 0)
			i = 0;
		else if (strcmp(m.fstype, "cgroup") == 0 &&
		    (strcmp(m.super, "memory") == 0 ||
		    strstr(m.super, ",memory") != NULL ||
		    strncmp(m.super, "memory,", 7) == 0))
			i = 1;
		if (i == -1 || found[i])
			continue;
		snprintf(point[i], sizeof(point[i]), "%s", m.point);
		snprintf(root[i], sizeof(root[i]), "%s", m.root);
		found[i] = 1;
	}
	free(line);
	fclose(f);
	for (i = 0; i < 2 && file == NULL; i++) {
		if (!found[i])
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
		if (procfs_read(path, buf, sizeof(buf)) <= 0 ||
		    sys_cgroup_parse(buf, strlen(buf), ctl[i], mine,
		    sizeof(mine)) == -1)
			continue;
		if (procfs_read("/proc/self/cgroup", buf, sizeof(buf)) > 0 &&
		    sys_cgroup_parse(buf, strlen(buf), ctl[i], self,
		    sizeof(self)) == 0 && strcmp(mine, self) == 0)
			continue;	/* chainkeeperd's own cgroup */
		/* The path is relative to the mount's root. */
		rel = mine;
		rl = strlen(root[i]);
		if (strcmp(root[i], "/") != 0 &&
		    strncmp(mine, root[i], rl) == 0 &&
		    (mine[rl] == '/' || mine[rl] == '\0'))
			rel = mine + rl;
		xasprintf(&file, "%s%s/%s", point[i],
		    strcmp(rel, "/") == 0 ? "" : rel, fname[i]);
		if (access(file, R_OK) == -1) {
			free(file);
			file = NULL;
		}
	}
	return (file);
}

static int
oom_cgroup_read(const char *file, uint64_t *v)
{
	char	 buf[4096];
	ssize_t	 n;

	if ((n = procfs_read(file, buf, sizeof(buf))) <= 0)
		return (-1);
	return (sys_kv_parse(buf, (size_t)n, "oom_kill", v));
}

/* Look at the cgroup's counter: a rise is a kill in the tree. */
static void
oom_cgroup_check(struct oom_watch *w)
{
	uint64_t	 v;

	if (w->cg_file == NULL || oom_cgroup_read(w->cg_file, &v) == -1 ||
	    v <= w->cg_last)
		return;
	log_warnx("%s: the OOM killer killed %llu process%s of its memory "
	    "cgroup (%s)", w->prog, (unsigned long long)(v - w->cg_last),
	    v - w->cg_last == 1 ? "" : "es", w->cg_file);
	w->cg_last = v;
	w->cg_ms = now_ms();
	w->cg_wall = time(NULL);
	w->events++;
	/*
	 * Once the probe is gone (the run ended), a rise at the moment the
	 * main process died of a SIGKILL that chainkeeperd did not send
	 * names it.
	 */
	if (w->p == NULL && probe_oom_note_hook != NULL &&
	    !(w->last_main && w->last_pid == w->main_pid) &&
	    probe_oom_note_hook(w->prog, w->main_pid, 0))
		log_warnx("%s: pid %ld, the main process, was the victim",
		    w->prog, (long)w->main_pid);
}

/* After the probe: a few more looks for a late line or counter rise. */
static void
oom_linger_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct oom_watch	*w = t->data;

	(void)loop;
	(void)revents;
	oom_src_read(w->src);
	oom_cgroup_check(w);
	if (++w->linger_ticks >= OOM_LINGER_TICKS)
		watch_free(w);
}

static struct oom_watch *
watch_new(struct probe *p)
{
	struct oom_cfg		*c = p->cfg->kcfg;
	struct oom_watch	*w;
	const char		*base, *argv0;

	w = xcalloc(1, sizeof(*w));
	w->p = p;
	w->prog = xstrdup(p->prog->pc->name);
	w->match_name = c->match_name;
	argv0 = p->prog->pc->argv != NULL && p->prog->pc->argv[0] != NULL ?
	    p->prog->pc->argv[0] : "";
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	/* A wrapper's name says nothing: the tree's names will. */
	if (strcmp(base, "sh") != 0 && strcmp(base, "bash") != 0 &&
	    strcmp(base, "dash") != 0 && strcmp(base, "env") != 0)
		snprintf(w->comm, sizeof(w->comm), "%s", base);
	ev_timer_init(&w->linger, oom_linger_cb, 1.0, 1.0);
	w->linger.data = w;
	LIST_INSERT_HEAD(&oom_watches, w, entry);
	w->src = oom_src_get(c->syslog);
	return (w);
}

static void
oom_run(struct probe *p)
{
	struct oom_cfg		*c = p->cfg->kcfg;
	struct oom_watch	*w = p->state;
	struct program		*prog = p->prog;
	pid_t			*pids = NULL;
	size_t			 npids = 0;
	int64_t			 now, age = -1;
	time_t			 wall = time(NULL);
	unsigned int		 fresh;
	uint64_t		 cg_kills = 0;
	double			 value;
	json_t			*detail, *last = json_null(), *prev;
	char			 why[160];

	if (w == NULL)
		w = p->state = watch_new(p);
	if (prog->pid > 0) {
		w->main_pid = prog->pid;
		if (proctree_collect(prog->pid, prog->marker, &pids,
		    &npids) == 0)
			watch_update_pids(w, pids, npids);
		free(pids);
	}
	if (c->cgroup && !w->cg_tried && prog->pid > 0) {
		w->cg_tried = 1;
		if ((w->cg_file = oom_cgroup_file(prog->pid)) != NULL &&
		    oom_cgroup_read(w->cg_file, &w->cg_base) == 0)
			w->cg_last = w->cg_base;
		else {
			free(w->cg_file);
			w->cg_file = NULL;
		}
	}
	if (w->src->path == NULL && w->src->fd == -1)
		oom_kmsg_open(w->src);
	oom_src_read(w->src);
	oom_cgroup_check(w);

	/* The previous run ended by an OOM kill of its main process. */
	if (!w->prev_noted && prog->exit_known && prog->exit_oom &&
	    prog->exit_pid != prog->pid &&
	    (wall - prog->exit_wall) * 1000 < c->hold_ms + 1000) {
		w->prev_noted = 1;
		w->prev_pid = prog->exit_pid;
		w->prev_wall = prog->exit_wall;
		w->prev_ms = now_ms() - (wall - prog->exit_wall) * 1000;
		w->events++;
	}

	if (w->src->err != 0) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read %s: %s%s",
		    w->src->path != NULL ? w->src->path : OOM_KMSG,
		    strerror(w->src->err), w->src->path == NULL ?
		    " (set syslog: to a log file instead)" : "");
		return;
	}

	now = now_ms();
	fresh = w->events - w->events_at_check;
	w->events_at_check = w->events;
	if (w->cg_file != NULL)
		cg_kills = w->cg_last - w->cg_base;
	value = (double)(cg_kills > w->kills ? cg_kills : w->kills);
	why[0] = '\0';
	/* The newest of the three kinds of evidence says why. */
	if (w->last_ms != 0) {
		age = now - w->last_ms;
		snprintf(why, sizeof(why), "the OOM killer killed pid %ld (%s)"
		    "%s %lld s ago", (long)w->last_pid, w->last_name,
		    w->last_main ? ", the main process," : "",
		    (long long)(age / 1000));
	}
	if (w->cg_ms != 0 && (age == -1 || now - w->cg_ms < age - 2000)) {
		age = now - w->cg_ms;
		snprintf(why, sizeof(why), "the OOM killer killed %llu "
		    "process%s of the memory cgroup, last %lld s ago",
		    (unsigned long long)cg_kills, cg_kills == 1 ? "" : "es",
		    (long long)(age / 1000));
	}
	if (w->prev_noted && (age == -1 || now - w->prev_ms < age)) {
		age = now - w->prev_ms;
		snprintf(why, sizeof(why), "the OOM killer killed the previous "
		    "run's main process, pid %ld, %lld s ago",
		    (long)w->prev_pid, (long long)(age / 1000));
	}

	if (w->last_ms != 0)
		last = json_pack("{s:I,s:s,s:I,s:b,s:b}",
		    "pid", (json_int_t)w->last_pid,
		    "name", w->last_name,
		    "time", (json_int_t)w->last_wall,
		    "main", w->last_main,
		    "by_name", w->last_by_name);
	prev = w->prev_noted ? json_pack("{s:I,s:I}", "pid",
	    (json_int_t)w->prev_pid, "time", (json_int_t)w->prev_wall) :
	    json_null();
	detail = json_pack("{s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:I}",
	    "source", w->src->path != NULL ? w->src->path : "kmsg",
	    "kills", (json_int_t)value,
	    "log_kills", (json_int_t)w->kills,
	    "cgroup", w->cg_file != NULL ? json_string(w->cg_file) :
	    json_null(),
	    "cgroup_kills", w->cg_file != NULL ?
	    json_integer((json_int_t)cg_kills) : json_null(),
	    "last_kill", last,
	    "previous_run", prev,
	    "tree_pids", (json_int_t)w->npids);
	if (w->src->lost > 0)
		json_object_set_new(detail, "kmsg_lost",
		    json_integer((json_int_t)w->src->lost));
	if (fresh > 0 || (age >= 0 && age < c->hold_ms))
		probe_done(p, PROBE_FAIL, &value, detail, "%s", why);
	else if (value > 0)
		probe_done(p, PROBE_OK, &value, detail, "no OOM kill for %lld "
		    "s", (long long)(age / 1000));
	else
		probe_done(p, PROBE_OK, &value, detail, "no OOM kill");
}

/*
 * The run ended: the watch lingers (see above) with the pids it knew, and
 * ends by itself.
 */
static void
oom_reset(struct probe *p)
{
	struct oom_watch	*w = p->state;

	if (w == NULL)
		return;
	p->state = NULL;
	w->p = NULL;
	oom_cgroup_check(w);
	ev_timer_start(EV_DEFAULT, &w->linger);
}

const struct probe_kind probe_kind_oom = {
	.name = "oom",
	.parse = oom_parse,
	.free_config = oom_free_config,
	.run = oom_run,
	.cancel = NULL,
	.reset = oom_reset,
};
