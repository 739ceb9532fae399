/*
 * The program state machine.  program_set_state() is the only place that
 * changes a program's state; it logs the change and tells the daemon, which
 * re-evaluates dependencies, shutdown progress and control waiters before
 * the loop next blocks.  Every other function here reacts to one event: a
 * command (start, stop), a timer, the exec pipe, or the exit of the child.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "failover-eos.h"
#include "fdhold.h"
#include "log.h"
#include "logpipe.h"
#include "probe.h"
#include "proctree.h"
#include "program.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

#define PIDPOLL_INTERVAL	0.25	/* s, adopted pid without a pidfd */
#define STOP_POLL_FIRST		0.1	/* s, first look for leftovers */
#define STOP_POLL_MAX		1.0	/* s, longest wait between looks */
#define KILL_ROUNDS_MAX		20	/* SIGKILL rounds, then give up */
#define KILLQ_CHUNK		128	/* signals sent per loop iteration */
#define KILLQ_SLICE_MS		5	/* ms, and no longer */

/*
 * Signals for many processes, sent KILLQ_CHUNK (or KILLQ_SLICE_MS worth)
 * per loop iteration from an idle watcher, so that control requests are
 * answered in between: the kernel tears a killed process down at once, a
 * tenth of a millisecond or so each, and 2000 of them in one callback
 * would hold the loop for a fifth of a second.  The pids come from a scan
 * just before; the kernel hands out a freed pid again only after going
 * round the whole pid space, so none is recycled in the few milliseconds
 * the queue takes.
 */
struct killq {
	pid_t		*pids;		/* owned */
	size_t		 n;
	size_t		 next;
	int		 sig;
	ev_idle		 w;
	void		(*done)(void *);	/* when all are sent */
	void		*arg;
};

struct programs	 programs = TAILQ_HEAD_INITIALIZER(programs);
char		 program_daemon_id[16] = "0";
int		 program_no_restarts;	/* shutting down */
void		(*program_changed_hook)(struct program *);

static void	program_spawn(struct program *);
static void	program_timer_cb(struct ev_loop *, ev_timer *, int);
static void	program_sweep_cb(struct ev_loop *, ev_timer *, int);
static void	program_pidpoll_cb(struct ev_loop *, ev_timer *, int);
static void	program_unwatch(struct program *);
static void	program_exec_cb(struct ev_loop *, ev_io *, int);
static void	program_exetimer_cb(struct ev_loop *, ev_timer *, int);
static void	killq_idle_cb(struct ev_loop *, ev_idle *, int);

/*
 * Send sig to n pids (the queue owns pids), a chunk per loop iteration;
 * done(arg) runs from the loop once the last is sent, never from here.
 */
static struct killq *
killq_new(pid_t *pids, size_t n, int sig, void (*done)(void *), void *arg)
{
	struct killq	*kq;

	kq = xcalloc(1, sizeof(*kq));
	kq->pids = pids;
	kq->n = n;
	kq->sig = sig;
	kq->done = done;
	kq->arg = arg;
	ev_idle_init(&kq->w, killq_idle_cb);
	kq->w.data = kq;
	ev_idle_start(EV_DEFAULT, &kq->w);
	return (kq);
}

/* Forget a queue, sent or not. */
static void
killq_free(struct killq *kq)
{
	if (kq == NULL)
		return;
	ev_idle_stop(EV_DEFAULT, &kq->w);
	free(kq->pids);
	free(kq);
}

/*
 * Send up to max more signals, for at most about slice ms (a kill can
 * take milliseconds when the host is busy tearing processes down);
 * returns 1 when all are sent.
 */
static int
killq_send(struct killq *kq, size_t max, int64_t slice)
{
	int64_t	 end = now_ms() + slice;
	size_t	 i;

	for (i = 0; kq->next < kq->n && i < max; kq->next++, i++) {
		if (i > 0 && now_ms() >= end)
			break;
		kill(kq->pids[kq->next], kq->sig);
	}
	return (kq->next == kq->n);
}

/* Send the rest at once (the loop is over) and forget the queue. */
static void
killq_flush(struct killq *kq)
{
	if (kq == NULL)
		return;
	killq_send(kq, kq->n, INT64_MAX / 2);
	killq_free(kq);
}

/*
 * Add the sorted pids to a sorted set; returns how many were not in it
 * (the processes a round found that earlier rounds had not signalled: a
 * process sent SIGKILL may take a while to go on a busy host).
 */
static size_t
pidset_merge(pid_t **set, size_t *nset, const pid_t *pids, size_t n)
{
	pid_t	*m;
	size_t	 i = 0, j = 0, k = 0, fresh = 0;

	m = xreallocarray(NULL, *nset + n, sizeof(*m));
	while (i < *nset || j < n) {
		if (j == n || (i < *nset && (*set)[i] < pids[j]))
			m[k++] = (*set)[i++];
		else if (i == *nset || pids[j] < (*set)[i]) {
			m[k++] = pids[j++];
			fresh++;
		} else {
			m[k++] = pids[j++];
			i++;
		}
	}
	free(*set);
	*set = m;
	*nset = k;
	return (fresh);
}

static void
killq_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct killq	*kq = w->data;
	void		(*done)(void *) = kq->done;
	void		*arg = kq->arg;

	(void)loop;
	(void)revents;
	if (!killq_send(kq, KILLQ_CHUNK, KILLQ_SLICE_MS))
		return;
	killq_free(kq);
	done(arg);
}

static const char *
state_name(int s)
{
	switch (s) {
	case PROGRAM_STOPPED:
		return ("STOPPED");
	case PROGRAM_STARTING:
		return ("STARTING");
	case PROGRAM_RUNNING:
		return ("RUNNING");
	case PROGRAM_BACKOFF:
		return ("BACKOFF");
	case PROGRAM_STOPPING:
		return ("STOPPING");
	case PROGRAM_EXITED:
		return ("EXITED");
	case PROGRAM_FATAL:
		return ("FATAL");
	}
	return ("UNKNOWN");
}

const char *
program_state_name(int s)
{
	return (state_name(s));
}

static void program_set_state(struct program *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Probes live for one RUNNING period: a new run starts them afresh. */
static void
program_probes_start(struct program *p)
{
	size_t	 i;

	if (p->pc->nprobes == 0)
		return;
	p->probes = xcalloc(p->pc->nprobes, sizeof(*p->probes));
	for (i = 0; i < p->pc->nprobes; i++)
		p->probes[i] = probe_new(p, p->pc->probes[i]);
	p->nprobes = p->pc->nprobes;
}

static void
program_probes_stop(struct program *p)
{
	size_t	 i;

	for (i = 0; i < p->nprobes; i++)
		probe_free(p->probes[i]);
	free(p->probes);
	p->probes = NULL;
	p->nprobes = 0;
}

/* The health of a running program from its probes: the worst one. */
const char *
program_health(const struct program *p)
{
	size_t	 i;
	int	 worst = PROBE_HEALTHY, h;

	if (p->state != PROGRAM_RUNNING || p->nprobes == 0)
		return (NULL);
	for (i = 0; i < p->nprobes; i++) {
		h = p->probes[i]->health;
		if (h == PROBE_HUNG || (h == PROBE_FAILING &&
		    worst != PROBE_HUNG) || (h == PROBE_UNKNOWN &&
		    worst == PROBE_HEALTHY))
			worst = h;
	}
	return (probe_health_name(worst));
}

/* Change state: the only writer of p->state. */
static void
program_set_state(struct program *p, int state, const char *fmt, ...)
{
	va_list	 ap;
	char	 why[256];
	int	 old = p->state;

	why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	p->state = state;
	p->state_ms = now_ms();
	if (state == PROGRAM_RUNNING && old != PROGRAM_RUNNING) {
		program_probes_start(p);
		eosfo_start(p);
	} else if (state != PROGRAM_RUNNING && old == PROGRAM_RUNNING) {
		program_probes_stop(p);
		eosfo_stop(p);
	}
	log_info("%s: %s -> %s%s%s", p->pc->name, state_name(old),
	    state_name(state), *why != '\0' ? ": " : "", why);
	if (program_changed_hook != NULL)
		program_changed_hook(p);
}

/* Insert in priority order (stable), so iteration is start order. */
static void
program_insert(struct program *p)
{
	struct program	*q;

	TAILQ_FOREACH(q, &programs, entry) {
		if (q->pc->priority > p->pc->priority) {
			TAILQ_INSERT_BEFORE(q, p, entry);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&programs, p, entry);
}

/* A new, STOPPED program; takes ownership of pc. */
struct program *
program_new(struct program_config *pc)
{
	struct program	*p;

	p = xcalloc(1, sizeof(*p));
	p->pc = pc;
	p->state = PROGRAM_STOPPED;
	p->state_ms = now_ms();
	p->execfd = -1;
	p->pidfd = -1;
	p->outw = p->errw = -1;
	ev_timer_init(&p->timer, program_timer_cb, 0., 0.);
	p->timer.data = p;
	ev_timer_init(&p->sweep, program_sweep_cb, 0., 0.);
	p->sweep.data = p;
	ev_timer_init(&p->exetimer, program_exetimer_cb, 0., 0.);
	p->exetimer.data = p;
	ev_timer_init(&p->pidpoll, program_pidpoll_cb, PIDPOLL_INTERVAL,
	    PIDPOLL_INTERVAL);
	p->pidpoll.data = p;
	program_insert(p);
	rules_program_start(p);
	return (p);
}

/* Close the output pipes and log files (the program is stopped). */
static void
program_close_output(struct program *p)
{
	if (p->out != NULL)
		fdhold_del(p->pc->name, "stdout");
	if (p->err != NULL)
		fdhold_del(p->pc->name, "stderr");
	if (p->outw != -1)
		close(p->outw);
	if (p->errw != -1)
		close(p->errw);
	p->outw = p->errw = -1;
	logfile_free(p->out);	/* drains and closes the read end */
	logfile_free(p->err);
	p->out = p->err = NULL;
}

void
program_free(struct program *p)
{
	rules_program_free(p);
	program_probes_stop(p);
	eosfo_stop(p);
	ev_timer_stop(EV_DEFAULT, &p->timer);
	ev_timer_stop(EV_DEFAULT, &p->sweep);
	ev_timer_stop(EV_DEFAULT, &p->exetimer);
	killq_free(p->kq);
	p->kq = NULL;
	free(p->sigkilled);
	program_unwatch(p);
	if (p->execfd != -1) {
		ev_io_stop(EV_DEFAULT, &p->execio);
		close(p->execfd);
	}
	program_close_output(p);
	TAILQ_REMOVE(&programs, p, entry);
	free(p->spawnerr);
	config_program_free(p->pc);
	config_program_free(p->next_pc);
	free(p);
}

struct program *
program_find(const char *name)
{
	struct program	*p;

	TAILQ_FOREACH(p, &programs, entry)
		if (strcmp(p->pc->name, name) == 0)
			return (p);
	return (NULL);
}

struct program *
program_by_pid(pid_t pid)
{
	struct program	*p;

	TAILQ_FOREACH(p, &programs, entry)
		if (p->pid == pid)
			return (p);
	return (NULL);
}

int
program_is_stopped(const struct program *p)
{
	return (p->state == PROGRAM_STOPPED || p->state == PROGRAM_EXITED ||
	    p->state == PROGRAM_FATAL);
}

/*
 * The delay before the n-th consecutive restart (n >= 1): initial * 2^(n-1),
 * capped at max, then moved by up to jitter% either way (rnd is uniform).
 */
int64_t
program_backoff_delay(const struct backoff_config *bc, int n, unsigned int rnd)
{
	double	 d, j;
	int	 i;

	if (n < 1)
		n = 1;
	d = (double)bc->initial_ms;
	for (i = 1; i < n && d < (double)bc->max_ms; i++)
		d *= 2;
	if (d > (double)bc->max_ms)
		d = (double)bc->max_ms;
	if (bc->jitter_pct > 0) {
		j = ((double)rnd / (double)UINT32_MAX) * 2.0 - 1.0;
		d += d * j * bc->jitter_pct / 100.0;
	}
	if (d < 0)
		d = 0;
	return ((int64_t)d);
}

static void
timer_set(ev_timer *t, int64_t ms)
{
	/* The loop's clock may be stale (start-up, a long callback). */
	ev_now_update(EV_DEFAULT);
	ev_timer_stop(EV_DEFAULT, t);
	ev_timer_set(t, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT, t);
}

/* Whether d is RUNNING and, when probe is set, that probe is healthy. */
static int
dep_ready(const struct program *d, const char *probe)
{
	size_t	 i;

	if (d == NULL || d->removed || d->state != PROGRAM_RUNNING)
		return (0);
	if (probe == NULL)
		return (1);
	for (i = 0; i < d->nprobes; i++)
		if (strcmp(d->probes[i]->cfg->name, probe) == 0)
			return (d->probes[i]->health == PROBE_HEALTHY);
	return (0);
}

/* Whether every depends_on is ready; else the first that is not. */
static int
deps_running(struct program *p, const char **missing, const char **probe)
{
	size_t	 i;

	for (i = 0; p->pc->depends_on[i] != NULL; i++) {
		if (!dep_ready(program_find(p->pc->depends_on[i]),
		    p->pc->depends_healthy[i])) {
			*missing = p->pc->depends_on[i];
			*probe = p->pc->depends_healthy[i];
			return (0);
		}
	}
	return (1);
}

/* Wait before the next attempt, or give up (FATAL). */
static void
program_backoff(struct program *p, int n, const char *why)
{
	int64_t	 delay;

	if (p->retries > p->pc->startretries) {
		program_set_state(p, PROGRAM_FATAL, "%s; gave up after %d "
		    "start retries", why, p->pc->startretries);
		rules_program_event(p, RULE_ON_FATAL, why);
		return;
	}
	delay = program_backoff_delay(&p->pc->backoff, n, arc4random());
	timer_set(&p->timer, delay);
	program_set_state(p, PROGRAM_BACKOFF, "%s; retry in %lld ms", why,
	    (long long)delay);
}

/*
 * Take output pipes handed over by an earlier image (reexec): the read ends
 * go to new log files, the write ends are kept for respawns.
 */
void
program_attach_output(struct program *p, int out_r, int out_w, int err_r,
    int err_w)
{
	char	 label[128];

	if (out_r != -1 && p->out == NULL && p->pc->out.path != NULL) {
		snprintf(label, sizeof(label), "%s stdout", p->pc->name);
		p->out = logfile_new(label, &p->pc->out);
		logfile_attach(p->out, out_r);
		p->outw = out_w;
	} else {
		if (out_r != -1)
			close(out_r);
		if (out_w != -1)
			close(out_w);
	}
	if (err_r != -1 && p->err == NULL && p->pc->err.path != NULL) {
		snprintf(label, sizeof(label), "%s stderr", p->pc->name);
		p->err = logfile_new(label, &p->pc->err);
		logfile_attach(p->err, err_r);
		p->errw = err_w;
	} else {
		if (err_r != -1)
			close(err_r);
		if (err_w != -1)
			close(err_w);
	}
}

/* A pipe for a stream: the read end goes to a new log file. */
static struct logfile *
output_open(const char *name, const char *stream,
    const struct logfile_config *lc, int *wfd)
{
	struct logfile	*lf;
	char		 label[128];
	int		 fd[2];

	if (pipe2(fd, O_CLOEXEC) == -1)
		return (NULL);
	if (set_nonblock(fd[0]) == -1) {
		close(fd[0]);
		close(fd[1]);
		return (NULL);
	}
	snprintf(label, sizeof(label), "%s %s", name, stream);
	lf = logfile_new(label, lc);
	logfile_attach(lf, fd[0]);
	*wfd = fd[1];
	fdhold_add(name, stream, fd[0], fd[1]);
	return (lf);
}

/*
 * Create the output pipes and log files on first use.  The write ends stay
 * open here for the program's life, so a respawn reuses the same pipe and
 * output of escaped descendants is still captured.
 */
static int
program_open_output(struct program *p)
{
	if (p->pc->out.path != NULL && p->out == NULL &&
	    (p->out = output_open(p->pc->name, "stdout", &p->pc->out,
	    &p->outw)) == NULL)
		return (-1);
	if (p->pc->err.path != NULL && p->err == NULL &&
	    (p->err = output_open(p->pc->name, "stderr", &p->pc->err,
	    &p->errw)) == NULL)
		return (-1);
	return (0);
}

/*
 * Note the current run in its record, so it can be adopted: at spawn,
 * before the child is let through its gate (whom it will run as: the
 * program's user, or chainkeeperd's own ids), and again once it has
 * exec'd and once it is RUNNING, with its executable and real ids as
 * /proc shows them.  The executable is written only when it changed.
 */
static int
program_record_run(struct program *p, int execd)
{
	struct state_run	 r;
	struct proctree_ident	 id;

	memset(&r, 0, sizeof(r));
	r.pid = p->pid;
	r.start_ticks = p->start_ticks;
	r.start_time = p->start_wall;
	r.restarts = p->restarts;
	snprintf(r.boot_id, sizeof(r.boot_id), "%s", state_boot_id());
	if (!execd) {
		r.uid = p->pc->user != NULL ? p->pc->uid : getuid();
		r.gid = p->pc->user != NULL ? p->pc->gid : getgid();
		p->exe_dev = 0;
		p->exe_ino = 0;
	} else {
		if (proctree_ident(p->pid, &id) == -1 || (id.exe_dev ==
		    p->exe_dev && id.exe_ino == p->exe_ino))
			return (0);
		r.uid = id.uid[0];
		r.gid = id.gid[0];
		r.exe_dev = p->exe_dev = id.exe_dev;
		r.exe_ino = p->exe_ino = id.exe_ino;
		snprintf(r.exe, sizeof(r.exe), "%s", id.exe);
	}
	return (state_run_set(p->pc->name, &r));
}

/*
 * A test hook (CK_TEST_CRASH_AT=point[:n], read once at start): chainkeeperd
 * kills itself with SIGKILL the n-th time (default the first) it reaches
 * the named point, to prove that no instant loses or doubles a program.
 */
static char	*crash_point;
static int	 crash_count;

void
program_crash_hook(const char *spec)
{
	char	*c;

	free(crash_point);
	crash_point = NULL;
	if (spec == NULL || *spec == '\0')
		return;
	crash_point = xstrdup(spec);
	crash_count = 1;
	if ((c = strchr(crash_point, ':')) != NULL) {
		*c = '\0';
		crash_count = atoi(c + 1);
	}
	log_info("test hook: SIGKILL at %s (time %d)", crash_point,
	    crash_count);
}

/* When to look at a run's executable again, in s after its spawn. */
static const ev_tstamp	exe_looks[] = { .01, .1, 1., 10., 60. };

/*
 * A wrapper (a shell script that ends in exec) replaces its executable
 * after the exec chainkeeperd saw: look again 10 ms, 100 ms, 1 s, 10 s and
 * 60 s after the spawn, and record what runs then.
 */
static void
program_exetimer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct program	*p = w->data;
	size_t		 n = sizeof(exe_looks) / sizeof(exe_looks[0]);

	(void)loop;
	(void)revents;
	if (p->pid <= 0 || p->adopted)
		return;
	if (p->exec_ok)
		program_record_run(p, 1);
	if ((size_t)++p->exelooks < n) {
		ev_now_update(EV_DEFAULT);
		ev_timer_set(w, exe_looks[p->exelooks] -
		    exe_looks[p->exelooks - 1], 0.);
		ev_timer_start(EV_DEFAULT, w);
	}
}

/* Record what a run executes now (before a reexec hands it over). */
void
program_note_exe(struct program *p)
{
	if (p->pid > 0 && p->exec_ok)
		program_record_run(p, 1);
}

static void
program_crash_at(const char *point)
{
	if (crash_point == NULL || strcmp(crash_point, point) != 0 ||
	    --crash_count > 0)
		return;
	log_info("test hook: SIGKILL at %s", point);
	raise(SIGKILL);
}

static void
program_pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct program	*p = w->data;

	(void)loop;
	(void)revents;
	log_info("%s: adopted pid %ld has exited", p->pc->name, (long)p->pid);
	program_child_exited(p, PROGRAM_EXIT_UNKNOWN);
}

/* Without a pidfd: the adopted pid is gone once its start ticks change. */
static void
program_pidpoll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct program	*p = w->data;

	(void)loop;
	(void)revents;
	if (p->pid > 0 && proctree_start_ticks(p->pid) == p->start_ticks)
		return;
	log_info("%s: adopted pid %ld has exited (seen by polling)",
	    p->pc->name, (long)p->pid);
	program_child_exited(p, PROGRAM_EXIT_UNKNOWN);
}

/* Stop watching an adopted non-child. */
static void
program_unwatch(struct program *p)
{
	ev_timer_stop(EV_DEFAULT, &p->pidpoll);
	if (p->pidfd != -1) {
		ev_io_stop(EV_DEFAULT, &p->pidio);
		close(p->pidfd);
		p->pidfd = -1;
	}
}

/*
 * Take over a run started by an earlier chainkeeperd: the process with this
 * pid must still have the recorded start ticks, or it is another process
 * that got a recycled pid.  Our own children (after reexec) are reaped as
 * usual; others are watched through a pidfd.  Returns -1 if not adopted.
 */
int
program_adopt(struct program *p, pid_t pid, unsigned long long ticks,
    time_t start_time, unsigned int restarts)
{
	unsigned long long	 now_ticks;
	char			 path[64], buf[512];
	FILE			*f;
	long			 ppid = 0;

	now_ticks = proctree_start_ticks(pid);
	if (now_ticks == 0 || (ticks != 0 && now_ticks != ticks))
		return (-1);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    strrchr(buf, ')') != NULL)
			sscanf(strrchr(buf, ')') + 2, "%*c %ld", &ppid);
		fclose(f);
	}
	p->pid = pid;
	p->pgid = pid;
	p->start_ticks = now_ticks;
	p->start_wall = start_time != 0 ? start_time : time(NULL);
	p->start_ms = now_ms() - (int64_t)(time(NULL) - p->start_wall) * 1000;
	p->restarts = restarts;
	p->exec_ok = 1;
	p->adopted = 1;
	p->runs++;
	snprintf(p->marker, sizeof(p->marker), "%s:%s/%ld", program_daemon_id,
	    p->pc->name, (long)pid);
	if (ppid != (long)getpid()) {
		/* Without a pidfd (an old kernel, no descriptor left) the
		 * program is still adopted, never started twice: its exit is
		 * then seen by polling. */
		if ((p->pidfd = pidfd_open(pid, 0)) == -1) {
			log_warn("%s: pidfd_open %ld: its exit will be seen by "
			    "polling every %d ms", p->pc->name, (long)pid,
			    (int)(PIDPOLL_INTERVAL * 1000));
			ev_timer_again(EV_DEFAULT, &p->pidpoll);
		} else {
			ev_io_init(&p->pidio, program_pidfd_cb, p->pidfd,
			    EV_READ);
			p->pidio.data = p;
			ev_io_start(EV_DEFAULT, &p->pidio);
		}
	}
	p->exe_dev = 0;
	p->exe_ino = 0;
	program_record_run(p, 1);
	program_set_state(p, PROGRAM_RUNNING, "adopted pid %ld%s, up %lld s",
	    (long)pid, ppid == (long)getpid() ? "" : " (not a child: exit "
	    "status will not be known)",
	    (long long)(time(NULL) - p->start_wall));
	return (0);
}

/*
 * Whether the process a record names is the run it recorded; NULL if so,
 * else why not.  The pid and start ticks name the process chainkeeperd
 * forked (a recycled pid has later ticks); it must run as the recorded
 * real uid and gid with no other effective, saved or filesystem id (not
 * setuid or setgid), in this boot, and run the recorded executable once
 * one was seen after exec.  A record of an older chainkeeperd (legacy:
 * pid and ticks only) is held to the program's configured user instead.
 */
static const char *
program_check_record(struct program *p, const struct state_run *r,
    const struct proctree_ident *id, char *buf, size_t len)
{
	uid_t	 uid = r->uid;
	gid_t	 gid = r->gid;
	int	 i;

	if (r->legacy) {
		uid = p->pc->user != NULL ? p->pc->uid : getuid();
		gid = p->pc->user != NULL ? p->pc->gid : getgid();
	} else if (r->boot_id[0] != '\0' && strcmp(r->boot_id,
	    state_boot_id()) != 0)
		return ("recorded in an earlier boot");
	for (i = 0; i < 4; i++)
		if (id->uid[i] != uid || id->gid[i] != gid)
			break;
	if (i < 4) {
		snprintf(buf, len, "it runs as uid %lu gid %lu (effective "
		    "%lu/%lu), the record says uid %lu gid %lu",
		    (unsigned long)id->uid[0], (unsigned long)id->gid[0],
		    (unsigned long)id->uid[1], (unsigned long)id->gid[1],
		    (unsigned long)uid, (unsigned long)gid);
		return (buf);
	}
	if (!r->legacy && (r->exe_dev != 0 || r->exe_ino != 0) &&
	    (id->exe_dev != r->exe_dev || id->exe_ino != r->exe_ino)) {
		snprintf(buf, len, "it runs %s, the record says %s",
		    id->exe[0] != '\0' ? id->exe : "an unknown executable",
		    r->exe);
		return (buf);
	}
	return (NULL);
}

/*
 * Adopt the run a record names, if it is still that run (see above).
 * Returns 0 if adopted; -1 if not, said in the log with pid and reason.
 */
int
program_adopt_record(struct program *p, const struct state_run *r)
{
	struct proctree_ident	 id;
	unsigned long long	 ticks;
	const char		*why;
	char			 buf[640];

	ticks = proctree_start_ticks(r->pid);
	if (ticks == 0 || (r->start_ticks != 0 && ticks != r->start_ticks) ||
	    (r->start_ticks == 0 && !r->legacy)) {
		log_info("%s: recorded pid %ld is gone", p->pc->name,
		    (long)r->pid);
		return (-1);
	}
	if (proctree_ident(r->pid, &id) == -1)
		why = "its credentials cannot be read";
	else
		why = program_check_record(p, r, &id, buf, sizeof(buf));
	if (why == NULL && proctree_start_ticks(r->pid) != ticks)
		why = "it exited while being checked";
	if (why != NULL) {
		log_warnx("%s: not adopting recorded pid %ld: %s",
		    p->pc->name, (long)r->pid, why);
		return (-1);
	}
	if (r->legacy)
		log_info("%s: pid %ld was recorded by an older chainkeeperd "
		    "(no executable): adopted by pid, start time and user",
		    p->pc->name, (long)r->pid);
	return (program_adopt(p, r->pid, ticks, r->start_time, r->restarts));
}

/*
 * A spawn failed before the program could run.  When the host is out of a
 * resource (processes, memory, file descriptors) it is not the program's
 * fault: retry at the backoff pace for as long as it takes, without
 * counting against startretries, so the program comes back by itself when
 * the resource does.  Anything else counts as a failed start.
 */
static void
program_spawn_failed(struct program *p, const char *what, int e)
{
	char	*why;

	free(p->spawnerr);
	xasprintf(&p->spawnerr, "%s: %s", what, strerror(e));
	if (e != EAGAIN && e != ENOMEM && e != EMFILE && e != ENFILE) {
		log_warnx("%s: %s", p->pc->name, p->spawnerr);
		p->retries++;
		program_backoff(p, p->retries, p->spawnerr);
		return;
	}
	p->resfails++;
	if (p->resfails == 1)
		log_warnx("%s: %s: the host is out of a resource; retrying "
		    "until it returns (not counted against startretries)",
		    p->pc->name, p->spawnerr);
	/* retries is not raised, so this never ends FATAL. */
	xasprintf(&why, "%s (attempt %d)", p->spawnerr, p->resfails);
	program_backoff(p, p->resfails, why);
	free(why);
}

/* fork and exec; STARTING, or BACKOFF when even fork failed. */
static void
program_spawn(struct program *p)
{
	struct spawn_io	 io;
	int		 ep[2], e;
	pid_t		 pid;

	free(p->spawnerr);
	p->spawnerr = NULL;
	p->waiting = 0;
	p->killed = 0;
	p->kill_rounds = 0;
	if (program_open_output(p) == -1 || pipe2(ep, O_CLOEXEC) == -1) {
		program_spawn_failed(p, "cannot create pipes", errno);
		return;
	}
	io.out = p->outw;
	io.err = p->pc->redirect_stderr ? io.out : p->errw;
	io.execfd = ep[1];
	snprintf(p->marker, sizeof(p->marker), "%s:%s", program_daemon_id,
	    p->pc->name);
	pid = spawn_program(p->pc, &io, p->marker);
	close(ep[1]);
	/* Nothing else is forked before the child is let through. */
	if (pid == -1) {
		e = errno;
		close(ep[0]);
		program_spawn_failed(p, "fork", e);
		return;
	}
	if (p->resfails > 0) {
		log_info("%s: spawned again after %d attempts failed for want "
		    "of a host resource", p->pc->name, p->resfails);
		p->resfails = 0;
	}
	p->runs++;
	p->pid = pid;
	p->pgid = pid;	/* the child called setsid() */
	p->start_ms = now_ms();
	p->start_wall = time(NULL);
	p->exec_ok = 0;
	snprintf(p->marker, sizeof(p->marker), "%s:%s/%ld", program_daemon_id,
	    p->pc->name, (long)pid);
	p->adopted = 0;
	p->start_ticks = proctree_start_ticks(pid);
	program_crash_at("spawn-after-fork");
	/* Recorded before it may run; a failed record is said and borne. */
	program_record_run(p, 0);
	program_crash_at("spawn-after-record");
	spawn_release(io.gate);
	program_crash_at("spawn-after-release");
	p->exelooks = 0;
	timer_set(&p->exetimer, (int64_t)(exe_looks[0] * 1000));
	set_nonblock(ep[0]);
	p->execfd = ep[0];
	ev_io_init(&p->execio, program_exec_cb, ep[0], EV_READ);
	p->execio.data = p;
	ev_io_start(EV_DEFAULT, &p->execio);
	if (p->pc->startsecs_ms > 0)
		timer_set(&p->timer, p->pc->startsecs_ms);
	program_set_state(p, PROGRAM_STARTING, "pid %ld", (long)pid);
}

/*
 * Read the exec pipe: an errno means exec failed (the child then exits
 * 127), EOF means exec succeeded.  Returns 1 when the pipe is done.
 */
static int
program_exec_read(struct program *p)
{
	int	 e;
	ssize_t	 n;

	n = read(p->execfd, &e, sizeof(e));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n == (ssize_t)sizeof(e)) {
		free(p->spawnerr);
		xasprintf(&p->spawnerr, "cannot run %s: %s", p->pc->argv[0],
		    strerror(e));
		log_warnx("%s: %s", p->pc->name, p->spawnerr);
	} else if (n == 0)
		p->exec_ok = 1;
	ev_io_stop(EV_DEFAULT, &p->execio);
	close(p->execfd);
	p->execfd = -1;
	return (1);
}

static void
program_exec_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct program	*p = w->data;

	(void)loop;
	(void)revents;
	if (!program_exec_read(p))
		return;
	if (p->exec_ok && p->pid > 0)
		program_record_run(p, 1);
	if (p->exec_ok && p->state == PROGRAM_STARTING &&
	    p->pc->startsecs_ms == 0) {
		p->retries = 0;
		program_set_state(p, PROGRAM_RUNNING, "pid %ld", (long)p->pid);
	}
}

/* Send the stop signal, and arm the SIGKILL deadline. */
static void
program_begin_stop(struct program *p)
{
	pid_t	 target = p->pc->stopasgroup ? -p->pid : p->pid;

	if (kill(target, p->pc->stopsignal) == -1 && errno != ESRCH)
		log_warn("%s: kill %ld %s", p->pc->name, (long)target,
		    signal_name(p->pc->stopsignal));
	/* A stopped (SIGSTOP) process must run to handle the signal. */
	if (p->pc->stopsignal != SIGKILL)
		kill(target, SIGCONT);
	p->killed = 0;
	p->kill_rounds = 0;
	p->sweep_wait = STOP_POLL_FIRST;
	timer_set(&p->timer, p->pc->stopwait_ms);
	program_set_state(p, PROGRAM_STOPPING, "sent SIG%s to %s %ld",
	    signal_name(p->pc->stopsignal),
	    p->pc->stopasgroup ? "group" : "pid", (long)p->pid);
}

/* Look again for what is left of a stopping program's tree after delay. */
static void
program_sweep_after(struct program *p, ev_tstamp delay)
{
	ev_timer_stop(EV_DEFAULT, &p->sweep);
	ev_timer_set(&p->sweep, delay, 0.);
	ev_timer_start(EV_DEFAULT, &p->sweep);
}

/*
 * The live processes of the tree of the current or last run: one scan of
 * /proc, every process on the host only for a run adopted from an earlier
 * chainkeeperd (what it left went to init).
 */
static int
program_collect(struct program *p, pid_t **pids, size_t *n)
{
	return (proctree_collect_stop(p->pgid, p->marker, p->adopted, pids,
	    n));
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t	 x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Whether every child of chainkeeperd is a program's main process or the
 * pipe holder, told from /proc/self/task/PID/children (one small read).
 * chainkeeperd is a child subreaper, so the top of whatever is left of an
 * ended run's tree is either in that run's process group or one of its
 * own children: with the group empty and this true, nothing is left, and
 * no scan of /proc is needed.  (A stop of 1000 programs at once would
 * otherwise scan /proc 1000 times.)
 */
static int
program_children_known(void)
{
	struct program	*q;
	pid_t		*kids, *mains;
	size_t		 nkids, nmains = 0, i;
	int		 known = 1;

	if (!proctree_is_subreaper() || proctree_children(&kids, &nkids) == -1)
		return (0);
	if (nkids == 0)
		return (1);
	mains = xreallocarray(NULL, nkids, sizeof(*mains));
	TAILQ_FOREACH(q, &programs, entry)
		if (q->pid > 0 && nmains < nkids)
			mains[nmains++] = q->pid;
	qsort(mains, nmains, sizeof(*mains), pid_cmp);
	for (i = 0; i < nkids && known; i++)
		if (kids[i] != fdhold_pid() && bsearch(&kids[i], mains,
		    nmains, sizeof(*mains), pid_cmp) == NULL)
			known = 0;
	free(mains);
	free(kids);
	return (known);
}

/* Whether a process group (of an ended run) may still have members. */
static int
group_maybe_alive(pid_t pgid)
{
	return (pgid > 1 && (kill(-pgid, 0) == 0 || errno != ESRCH));
}

/*
 * Whether anything can be left of the tree of a run whose main process
 * is gone, without a scan; 1 when only a scan can tell (an adopted run's
 * leftovers went to init, not to chainkeeperd).
 */
static int
program_tree_maybe_left(const struct program *p)
{
	if (p->adopted || p->pid > 0 || group_maybe_alive(p->pgid))
		return (1);
	return (!program_children_known());
}

/* A queue of signals for the tree is sent: look again soon. */
static void
program_queue_done(void *arg)
{
	struct program	*p = arg;

	p->kq = NULL;
	if (p->state == PROGRAM_STOPPING)
		program_sweep_after(p, p->sweep_wait);
}

/* Signal the processes of one scan, a chunk per loop iteration. */
static void
program_queue(struct program *p, pid_t *pids, size_t n, int sig)
{
	killq_free(p->kq);
	p->kq = killq_new(pids, n, sig, program_queue_done, p);
}

/*
 * SIGKILL the whole tree, the first round: the main pid at once, then
 * every process that one scan finds (its group, descendants, escaped
 * setsid children), a chunk per loop iteration.  The group is killed in
 * one go only when the scan cannot tell all of it: the run was adopted
 * (a process of its group that dropped the marker is not below us), or
 * /proc could not be read.  Returns how many processes the scan found.
 */
static int
program_kill_tree(struct program *p)
{
	pid_t	*pids;
	size_t	 n;

	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	p->killed = 1;
	p->kill_rounds = 1;
	p->sweep_wait = STOP_POLL_FIRST;
	if (program_collect(p, &pids, &n) == -1) {
		kill(-p->pgid, SIGKILL);
		killq_free(p->kq);
		p->kq = NULL;
		program_sweep_after(p, p->sweep_wait);
		return (0);
	}
	if (p->adopted)
		kill(-p->pgid, SIGKILL);
	pidset_merge(&p->sigkilled, &p->nsigkilled, pids, n);
	program_queue(p, pids, n, SIGKILL);
	return ((int)n);
}

/* The main process is gone and so is its tree: the stop is complete. */
static void
program_finish_stop(struct program *p)
{
	ev_timer_stop(EV_DEFAULT, &p->timer);
	ev_timer_stop(EV_DEFAULT, &p->sweep);
	killq_free(p->kq);
	p->kq = NULL;
	p->kill_rounds = 0;
	free(p->sigkilled);
	p->sigkilled = NULL;
	p->nsigkilled = 0;
	state_run_clear(p->pc->name);
	if (p->next_pc != NULL) {
		program_close_output(p);
		rules_program_free(p);
		config_program_free(p->pc);
		p->pc = p->next_pc;
		p->next_pc = NULL;
		TAILQ_REMOVE(&programs, p, entry);
		program_insert(p);
		rules_program_start(p);
	}
	program_set_state(p, PROGRAM_STOPPED, p->removed ? "removed" : NULL);
	if (p->restart_pending && !p->removed) {
		p->restart_pending = 0;
		program_start(p);
	}
}

static void
program_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct program	*p = w->data;
	int		 n;

	(void)loop;
	(void)revents;
	switch (p->state) {
	case PROGRAM_STARTING:
		p->retries = 0;
		/* A wrapper may have exec'd the real program by now. */
		program_record_run(p, 1);
		program_set_state(p, PROGRAM_RUNNING, "pid %ld, up %lld ms",
		    (long)p->pid, (long long)(now_ms() - p->start_ms));
		break;
	case PROGRAM_BACKOFF:
		program_spawn(p);
		break;
	case PROGRAM_STOPPING:
		n = program_kill_tree(p);
		log_warnx("%s: still running %lld ms after SIG%s: sent SIGKILL "
		    "to the whole tree (%d processes)", p->pc->name,
		    (long long)p->pc->stopwait_ms,
		    signal_name(p->pc->stopsignal), n);
		break;
	}
}

/*
 * While STOPPING, once the main pid exited or SIGKILL was sent: one scan
 * for what is left of the tree.  Nothing left and the main pid reaped: the
 * stop is complete.  Before SIGKILL the look is repeated, less and less
 * often, until the stopwaitsecs deadline.  After it, each look is a round
 * that SIGKILLs what it finds (a tree that forks as fast as it is killed
 * loses a generation each time), until nothing is found or, after
 * KILL_ROUNDS_MAX rounds, the leftovers are given up on.  Every round is
 * on a timer, never a loop in one callback.
 */
static void
program_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct program	*p = w->data;
	pid_t		*pids;
	size_t		 n, fresh;

	(void)loop;
	(void)revents;
	if (p->state != PROGRAM_STOPPING || p->kq != NULL)
		return;		/* the end of the queue looks again */
	if (p->pid > 0 && !p->killed)
		return;		/* its exit, or the deadline, comes */
	if (!program_tree_maybe_left(p)) {
		program_finish_stop(p);
		return;
	}
	if (program_collect(p, &pids, &n) == -1) {
		program_sweep_after(p, STOP_POLL_MAX);
		return;
	}
	if (n == 0 && p->pid <= 0) {
		free(pids);
		program_finish_stop(p);
		return;
	}
	if (p->sweep_wait * 2 < STOP_POLL_MAX)
		p->sweep_wait *= 2;
	else
		p->sweep_wait = STOP_POLL_MAX;
	/* Not killed yet, or only the main pid's exit still to come. */
	if (!p->killed || n == 0 || p->kill_rounds >= KILL_ROUNDS_MAX) {
		if (p->killed && n > 0 && p->pid <= 0) {
			log_warnx("%s: %zu processes still left after %d "
			    "SIGKILL rounds: giving up on them", p->pc->name,
			    n, p->kill_rounds);
			free(pids);
			program_finish_stop(p);
			return;
		}
		free(pids);
		program_sweep_after(p, p->sweep_wait);
		return;
	}
	/* Those signalled before and not gone yet get it again. */
	p->kill_rounds++;
	if ((fresh = pidset_merge(&p->sigkilled, &p->nsigkilled, pids,
	    n)) > 0)
		log_warnx("%s: killed %zu leftover processes (round %d)",
		    p->pc->name, fresh, p->kill_rounds);
	program_queue(p, pids, n, SIGKILL);
}

/* Begin starting: at once, or when depends_on are ready. */
void
program_start(struct program *p)
{
	const char	*missing, *probe;

	switch (p->state) {
	case PROGRAM_STARTING:
	case PROGRAM_RUNNING:
		return;
	case PROGRAM_STOPPING:
		p->restart_pending = 1;
		return;
	case PROGRAM_BACKOFF:
		ev_timer_stop(EV_DEFAULT, &p->timer);
		break;
	}
	p->retries = 0;
	p->crashes = 0;
	if (!deps_running(p, &missing, &probe)) {
		if (!p->waiting && probe != NULL)
			log_info("%s: waiting for %s to be RUNNING with probe "
			    "%s healthy", p->pc->name, missing, probe);
		else if (!p->waiting)
			log_info("%s: waiting for %s to be RUNNING",
			    p->pc->name, missing);
		p->waiting = 1;
		if (program_changed_hook != NULL)
			program_changed_hook(p);
		return;
	}
	program_spawn(p);
}

/* Start programs whose dependencies have just become ready. */
void
program_deps_changed(void)
{
	struct program	*p;
	const char	*missing, *probe;

	TAILQ_FOREACH(p, &programs, entry)
		if (p->waiting && program_is_stopped(p) &&
		    deps_running(p, &missing, &probe))
			program_spawn(p);
}

/* Stop: signal, then SIGKILL the tree after stopwaitsecs. */
void
program_stop(struct program *p)
{
	p->waiting = 0;
	p->restart_pending = 0;
	switch (p->state) {
	case PROGRAM_STARTING:
	case PROGRAM_RUNNING:
		program_begin_stop(p);
		break;
	case PROGRAM_BACKOFF:
		ev_timer_stop(EV_DEFAULT, &p->timer);
		program_finish_stop(p);
		break;
	case PROGRAM_STOPPING:
		break;
	default:
		if (p->next_pc != NULL || p->removed)
			program_finish_stop(p);
		else if (program_changed_hook != NULL)
			program_changed_hook(p);
		break;
	}
}

/* Stop if running, then start again. */
void
program_restart(struct program *p)
{
	if (program_is_stopped(p) || p->state == PROGRAM_BACKOFF) {
		program_stop(p);
		program_start(p);
		return;
	}
	program_stop(p);
	p->restart_pending = 1;
}

int
program_signal(struct program *p, int sig)
{
	if (p->pid <= 0 || (p->state != PROGRAM_RUNNING &&
	    p->state != PROGRAM_STARTING && p->state != PROGRAM_STOPPING)) {
		errno = ESRCH;
		return (-1);
	}
	return (kill(p->pid, sig));
}

static void
exit_text(int status, int oom, char *buf, size_t len)
{
	if (status == PROGRAM_EXIT_UNKNOWN)
		snprintf(buf, len, "exited (status unknown: adopted)");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by SIG%s%s%s",
		    signal_name(WTERMSIG(status)),
		    WCOREDUMP(status) ? " (core dumped)" : "",
		    oom ? " (OOM killer)" : "");
	else
		snprintf(buf, len, "wait status %d", status);
}

/*
 * Runs that ended by themselves, whose escaped descendants are still to be
 * swept: one scan of /proc a moment later serves them all, so that a
 * respawn storm does not scan once per crash.  The scans go on, in rounds
 * on a timer as for a stop, until one finds nothing of them.
 */
static char		**dead_markers;
static pid_t		 *dead_pgids;		/* stopped groups, or 0 */
static size_t		  ndead;
static int		  dead_everywhere;	/* a run was adopted */
static int		  dead_rounds;
static pid_t		 *dead_killed;		/* sorted, signalled */
static size_t		  ndead_killed;
static struct killq	 *dead_kq;
static ev_timer		  dead_timer;

static void	dead_timer_cb(struct ev_loop *, ev_timer *, int);

/* Forget the runs that ended: nothing of them is left. */
static void
dead_forget(void)
{
	size_t	 i;

	for (i = 0; i < ndead; i++)
		free(dead_markers[i]);
	free(dead_markers);
	free(dead_pgids);
	dead_markers = NULL;
	dead_pgids = NULL;
	ndead = 0;
	dead_everywhere = 0;
	dead_rounds = 0;
	free(dead_killed);
	dead_killed = NULL;
	ndead_killed = 0;
}

/* The main pids of the runs going on (the caller frees *live). */
static void
live_roots(pid_t **live, size_t *n)
{
	struct program	*p;
	size_t		 k = 0;

	TAILQ_FOREACH(p, &programs, entry)
		k++;
	*live = xcalloc(k > 0 ? k : 1, sizeof(**live));
	k = 0;
	TAILQ_FOREACH(p, &programs, entry)
		if (p->pid > 0)
			(*live)[k++] = p->pid;
	*n = k;
}

/* What is left of the runs that ended (the caller frees *pids). */
static int
dead_collect(pid_t **pids, size_t *n)
{
	pid_t	*live;
	size_t	 nlive;
	int	 rv;

	live_roots(&live, &nlive);
	rv = proctree_collect_markers(dead_markers, dead_pgids, ndead, live,
	    nlive, dead_everywhere, pids, n);
	free(live);
	return (rv);
}

/* Whether anything of the runs that ended may be left (see above). */
static int
dead_maybe_left(void)
{
	size_t	 i;

	if (dead_everywhere)
		return (1);
	for (i = 0; i < ndead; i++)
		if (group_maybe_alive(dead_pgids[i]))
			return (1);
	return (!program_children_known());
}

/* Sweep the runs that ended again after delay. */
static void
dead_after(ev_tstamp delay)
{
	ev_timer_stop(EV_DEFAULT, &dead_timer);
	ev_timer_init(&dead_timer, dead_timer_cb, delay, 0.);
	ev_timer_start(EV_DEFAULT, &dead_timer);
}

static void
dead_queue_done(void *arg)
{
	ev_tstamp	 delay = STOP_POLL_FIRST;
	int		 i;

	(void)arg;
	dead_kq = NULL;
	for (i = 1; i < dead_rounds && delay < STOP_POLL_MAX; i++)
		delay *= 2;
	dead_after(delay < STOP_POLL_MAX ? delay : STOP_POLL_MAX);
}

/*
 * One round for the runs that ended: scan for what carries their markers
 * and queue a SIGKILL for each; a scan that finds nothing ends the sweep.
 */
static void
dead_round(void)
{
	pid_t	*pids;
	size_t	 n, fresh;

	if (ndead == 0 || dead_kq != NULL)
		return;
	if (!dead_maybe_left()) {
		dead_forget();
		return;
	}
	if (dead_collect(&pids, &n) == -1) {
		dead_after(STOP_POLL_MAX);
		return;
	}
	if (n == 0 || dead_rounds >= KILL_ROUNDS_MAX) {
		if (n > 0)
			log_warnx("%zu processes left behind by runs that "
			    "ended are still there after %d SIGKILL rounds: "
			    "giving up on them", n, dead_rounds);
		free(pids);
		dead_forget();
		return;
	}
	dead_rounds++;
	fresh = pidset_merge(&dead_killed, &ndead_killed, pids, n);
	if (fresh > 0 && dead_rounds == 1)
		log_info("killed %zu processes left behind by runs that ended",
		    fresh);
	else if (fresh > 0)
		log_info("killed %zu processes left behind by runs that ended "
		    "(round %d)", fresh, dead_rounds);
	dead_kq = killq_new(pids, n, SIGKILL, dead_queue_done, NULL);
}

/*
 * SIGKILL what is left of runs that ended by themselves, at once: for the
 * end of chainkeeperd, when the loop no longer runs.
 */
void
program_sweep_dead(void)
{
	pid_t	*pids;
	size_t	 n, i;

	ev_timer_stop(EV_DEFAULT, &dead_timer);
	killq_flush(dead_kq);
	dead_kq = NULL;
	if (ndead > 0 && dead_collect(&pids, &n) == 0) {
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		if (n > 0)
			log_info("killed %zu processes left behind by runs "
			    "that ended", n);
		free(pids);
	}
	dead_forget();
}

static void
dead_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	dead_round();
}

/*
 * Leftovers of a run that ended by itself: its process group is stopped
 * (SIGSTOP) at once, and killed with the escaped (setsid) descendants by
 * the sweep a moment later, a chunk per loop iteration.  Stopping a group
 * costs the kernel little, where a SIGKILL of a group of 2000 holds the
 * caller a fifth of a second; and while a stopped process is left the
 * group's id cannot be recycled, so the sweep may still go by it.
 */
static void
program_kill_leftovers(struct program *p, pid_t oldpid)
{
	pid_t	 pgid = oldpid;

	if (kill(-oldpid, SIGSTOP) == -1) {
		if (errno != ESRCH)
			log_warn("stop group %ld", (long)oldpid);
		pgid = 0;	/* nobody left in it */
	}
	dead_markers = xreallocarray(dead_markers, ndead + 1,
	    sizeof(*dead_markers));
	dead_pgids = xreallocarray(dead_pgids, ndead + 1, sizeof(*dead_pgids));
	dead_pgids[ndead] = pgid;
	dead_markers[ndead++] = xstrdup(p->marker);
	dead_rounds = 0;
	if (p->adopted)
		dead_everywhere = 1;
	/* A round under way looks again when its queue is sent. */
	if (dead_kq == NULL)
		dead_after(0.2);
}

/*
 * What an earlier chainkeeperd's runs left that carries a marker no run
 * going on owns (escaped descendants of a run that ended while nobody
 * watched, or a process that is not ours and only says so): swept like
 * the leftovers of a run that ended here, by marker, anywhere.
 */
void
program_sweep_marker(const char *marker)
{
	size_t	 i;

	for (i = 0; i < ndead; i++)
		if (dead_pgids[i] == 0 && strcmp(dead_markers[i], marker) == 0)
			return;
	dead_markers = xreallocarray(dead_markers, ndead + 1,
	    sizeof(*dead_markers));
	dead_pgids = xreallocarray(dead_pgids, ndead + 1, sizeof(*dead_pgids));
	dead_pgids[ndead] = 0;
	dead_markers[ndead++] = xstrdup(marker);
	dead_rounds = 0;
	dead_everywhere = 1;
	if (dead_kq == NULL)
		dead_after(0.2);
}

static int
exit_is_sigkill(int status)
{
	return (status != PROGRAM_EXIT_UNKNOWN && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL);
}

/*
 * The oom probe saw the OOM killer kill pid of program name's tree: sure
 * for a kernel line naming pid, not sure for a rise of the cgroup counter.
 * If pid is the main process, its exit is an OOM kill: noted now if it is
 * not reaped yet, or attached to the last exit if that was a SIGKILL of
 * this pid moments ago (the kernel's line may come after the exit; a
 * counter rise counts only if chainkeeperd did not send a SIGKILL itself).
 * Returns 1 if pid was the main process.
 */
int
program_note_oom(const char *name, pid_t pid, int sure)
{
	struct program	*p;

	if (pid <= 0 || (p = program_find(name)) == NULL)
		return (0);
	if (sure && p->pid == pid) {
		p->oom_pid = pid;
		return (1);
	}
	if (p->exit_known && p->exit_pid == pid && p->pid != pid &&
	    exit_is_sigkill(p->exit_status) && (sure || !p->killed) &&
	    time(NULL) - p->exit_wall <= PROGRAM_OOM_LATE_S) {
		if (!p->exit_oom)
			rules_program_event(p, RULE_ON_OOM,
			    "killed by the OOM killer");
		p->exit_oom = 1;
		return (1);
	}
	return (0);
}

/* The main process exited (reaped by libev) with a wait status. */
void
program_child_exited(struct program *p, int status)
{
	char		 what[64];
	pid_t		 oldpid = p->pid, *pids;
	size_t		 n;
	int		 expected, restart;
	int64_t		 up;

	if (p->execfd != -1)
		program_exec_read(p);
	/*
	 * A run that lasted startsecs is a run, not a failed start, even when
	 * its exit is seen before the startsecs timer or, with startsecs 0,
	 * before the exec pipe's EOF (a busy loop orders events freely).
	 */
	if (p->state == PROGRAM_STARTING && p->exec_ok &&
	    now_ms() - p->start_ms >= p->pc->startsecs_ms) {
		ev_timer_stop(EV_DEFAULT, &p->timer);
		p->retries = 0;
		program_set_state(p, PROGRAM_RUNNING, "pid %ld", (long)p->pid);
	}
	p->exit_pid = oldpid;
	p->exit_oom = oldpid > 0 && p->oom_pid == oldpid &&
	    exit_is_sigkill(status);
	p->oom_pid = 0;
	exit_text(status, p->exit_oom, what, sizeof(what));
	if (p->exit_oom)
		rules_program_event(p, RULE_ON_OOM, what);
	program_unwatch(p);
	ev_timer_stop(EV_DEFAULT, &p->exetimer);
	eosfo_exited(p);
	p->pid = 0;
	/*
	 * The run record goes with the run's last process: while some of
	 * its tree may be left, it tells the next chainkeeperd (after a
	 * crash in between) that what carries this run's marker is ours.
	 */
	if (!program_tree_maybe_left(p))
		state_run_clear(p->pc->name);
	p->exit_known = 1;
	p->exit_status = status;
	p->exit_wall = time(NULL);
	up = now_ms() - p->start_ms;
	switch (p->state) {
	case PROGRAM_STARTING:
		ev_timer_stop(EV_DEFAULT, &p->timer);
		program_kill_leftovers(p, oldpid);
		p->retries++;
		program_backoff(p, p->retries, p->spawnerr != NULL ?
		    p->spawnerr : what);
		break;
	case PROGRAM_RUNNING:
		program_kill_leftovers(p, oldpid);
		expected = status != PROGRAM_EXIT_UNKNOWN && WIFEXITED(status) &&
		    config_exitcode_expected(p->pc, WEXITSTATUS(status));
		restart = p->pc->autorestart == AUTORESTART_TRUE ||
		    (p->pc->autorestart == AUTORESTART_UNEXPECTED &&
		    !expected);
		program_set_state(p, PROGRAM_EXITED, "%s (%s) after %lld ms",
		    what, expected ? "expected" : "not expected",
		    (long long)up);
		if (!expected)
			rules_program_event(p, RULE_ON_EXIT, what);
		if (!restart || program_no_restarts)
			break;
		/* A run as long as the longest delay forgives the past. */
		if (up >= p->pc->backoff.max_ms)
			p->crashes = 0;
		p->crashes++;
		p->restarts++;
		if (p->crashes == 1)
			program_spawn(p);
		else
			program_backoff(p, p->crashes - 1, what);
		break;
	case PROGRAM_STOPPING:
		log_info("%s: pid %ld %s", p->pc->name, (long)oldpid, what);
		if (p->killed || p->kq != NULL) {
			/* A SIGKILL round: the sweep takes over. */
			program_sweep_after(p, 0.);
			break;
		}
		if (!program_tree_maybe_left(p)) {
			program_finish_stop(p);
			break;
		}
		/* The rest of the tree gets the stop signal too. */
		if (program_collect(p, &pids, &n) == -1) {
			program_sweep_after(p, p->sweep_wait);
			break;
		}
		if (n == 0) {
			free(pids);
			program_finish_stop(p);
			break;
		}
		log_info("%s: sent SIG%s to %zu processes left behind",
		    p->pc->name, signal_name(p->pc->stopsignal), n);
		program_crash_at("stop-leftovers");
		program_queue(p, pids, n, p->pc->stopsignal);
		break;
	default:
		log_warnx("%s: pid %ld %s in state %s", p->pc->name,
		    (long)oldpid, what, state_name(p->state));
		break;
	}
}

/* The status of one program, for chainkeeperctl (new reference). */
json_t *
program_status_json(const struct program *p)
{
	json_t		*o, *le = json_null(), *probes;
	char		 what[64], desc[256];
	int64_t		 up = 0;
	const char	*health = program_health(p);
	size_t		 i, n;

	if (p->exit_known) {
		exit_text(p->exit_status, p->exit_oom, what, sizeof(what));
		le = json_pack("{s:o,s:o,s:I,s:s,s:b}",
		    "code", p->exit_status != PROGRAM_EXIT_UNKNOWN &&
		    WIFEXITED(p->exit_status) ?
		    json_integer(WEXITSTATUS(p->exit_status)) : json_null(),
		    "signal", p->exit_status != PROGRAM_EXIT_UNKNOWN &&
		    WIFSIGNALED(p->exit_status) ?
		    json_string(signal_name(WTERMSIG(p->exit_status))) :
		    json_null(),
		    "time", (json_int_t)p->exit_wall, "text", what,
		    "oom", p->exit_oom);
	}
	if (p->pid > 0)
		up = (now_ms() - p->start_ms) / 1000;
	desc[0] = '\0';
	if (p->waiting)
		snprintf(desc, sizeof(desc), "waiting for depends_on");
	else if (p->pid > 0) {
		n = (size_t)snprintf(desc, sizeof(desc), "pid %ld, uptime "
		    "%lld s", (long)p->pid, (long long)up);
		for (i = 0; health != NULL && i < p->nprobes &&
		    n < sizeof(desc); i++)
			n += (size_t)snprintf(desc + n, sizeof(desc) - n,
			    "%s%s %s%s%s", i == 0 ? "; " : ", ",
			    p->probes[i]->cfg->name,
			    probe_health_name(p->probes[i]->health),
			    p->probes[i]->reason[0] != '\0' ? ": " : "",
			    p->probes[i]->reason);
	}
	else if (p->spawnerr != NULL && (p->state == PROGRAM_BACKOFF ||
	    p->state == PROGRAM_FATAL))
		snprintf(desc, sizeof(desc), "%s", p->spawnerr);
	else if (p->exit_known)
		snprintf(desc, sizeof(desc), "%s", what);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:b,s:s}",
	    "name", p->pc->name,
	    "state", state_name(p->state),
	    "pid", (json_int_t)p->pid,
	    "uptime_s", (json_int_t)up,
	    "restarts", (json_int_t)p->restarts,
	    "last_exit", le,
	    "admin_stopped", p->admin_stopped,
	    "description", desc);
	if (p->pid > 0)
		json_object_set_new(o, "start_time",
		    json_integer((json_int_t)p->start_wall));
	json_object_set_new(o, "health", health != NULL ?
	    json_string(health) : json_null());
	probes = json_array();
	for (i = 0; i < p->nprobes; i++)
		json_array_append_new(probes,
		    probe_status_json(p->probes[i], 0));
	json_object_set_new(o, "probes", probes);
	json_object_set_new(o, "held_until", p->held_until > time(NULL) ?
	    json_integer((json_int_t)p->held_until) : json_null());
	json_object_set_new(o, "rules", rules_status_json(p));
	if (p->pc->eos_failover != NULL)
		json_object_set_new(o, "eos_failover", eosfo_status_json(p));
	return (o);
}

/*
 * A program for each program_config of cfg, taken out of it: a hand stop
 * and a hold recorded in the state file come back with it.
 */
void
program_take_all(struct config *cfg)
{
	struct program	*p;
	size_t		 i;

	for (i = 0; i < cfg->nprograms; i++) {
		if (cfg->programs[i] == NULL)
			continue;
		p = program_new(cfg->programs[i]);
		cfg->programs[i] = NULL;
		p->admin_stopped = state_admin_stopped(p->pc->name);
		p->held_until = state_held_until(p->pc->name);
		if (p->admin_stopped)
			log_info("%s: stopped by hand earlier: not starting",
			    p->pc->name);
	}
	cfg->nprograms = 0;
}

/* Give a program changed settings: now if stopped, else once stopped. */
static void
program_apply_change(struct program *p, struct program_config *npc)
{
	int	 active;

	active = !program_is_stopped(p) || p->waiting;
	config_program_free(p->next_pc);
	p->next_pc = npc;
	if (p->admin_stopped) {
		/* Stays stopped, or on its way there; takes npc then. */
		program_stop(p);
	} else if (p->state == PROGRAM_STOPPING) {
		/* A stop or a restart under way ends as it would have. */
	} else if (active || npc->autostart)
		program_restart(p);
	else
		program_stop(p);	/* applies next_pc now */
}

enum reload_what { R_NONE, R_REMOVE, R_CHANGE, R_READD };

/*
 * Match the programs against a new configuration, from a snapshot of both
 * taken before anything changes (a stop or a restart re-sorts the program
 * list): each name is added, removed, changed or unchanged exactly once,
 * whatever its state.  A changed program keeps its hand stop and its hold.
 * Takes the program_configs out of cfg.  Returns {added, changed, removed,
 * unchanged}.
 */
json_t *
program_reload(struct config *cfg)
{
	struct program		 *p, **olds;
	struct program_config	**npcs, *npc, *cur;
	json_t			 *added, *changed, *removed;
	size_t			  i, j, n = 0, nnew, same = 0;
	enum reload_what	 *what;

	TAILQ_FOREACH(p, &programs, entry)
		n++;
	olds = xcalloc(n + 1, sizeof(*olds));
	what = xcalloc(n + 1, sizeof(*what));
	npcs = xcalloc(n + 1, sizeof(*npcs));
	i = 0;
	TAILQ_FOREACH(p, &programs, entry)
		olds[i++] = p;
	added = json_array();
	changed = json_array();
	removed = json_array();
	nnew = cfg->nprograms;

	/* Classify each old program once, against its pending settings. */
	for (i = 0; i < n; i++) {
		p = olds[i];
		for (j = 0; j < nnew; j++)
			if (cfg->programs[j] != NULL && strcmp(
			    cfg->programs[j]->name, p->pc->name) == 0)
				break;
		npc = j < nnew ? cfg->programs[j] : NULL;
		if (npc != NULL)
			cfg->programs[j] = NULL;
		if (p->removed) {
			if (npc == NULL)
				continue;	/* still stopping: not ours */
			/* Back before its stop ended: the same program. */
			json_array_append_new(added, json_string(p->pc->name));
			what[i] = R_READD;
			npcs[i] = npc;
			continue;
		}
		if (npc == NULL) {
			json_array_append_new(removed,
			    json_string(p->pc->name));
			what[i] = R_REMOVE;
			continue;
		}
		cur = p->next_pc != NULL ? p->next_pc : p->pc;
		if (config_program_equal(cur, npc)) {
			config_program_free(npc);
			same++;
			continue;
		}
		json_array_append_new(changed, json_string(p->pc->name));
		what[i] = R_CHANGE;
		npcs[i] = npc;
	}
	/* What is left of cfg is new. */
	for (j = 0; j < nnew; j++)
		if (cfg->programs[j] != NULL)
			json_array_append_new(added,
			    json_string(cfg->programs[j]->name));
	program_take_all(cfg);

	/* Then act, from the snapshot: the list may re-sort under us. */
	for (i = 0; i < n; i++) {
		p = olds[i];
		switch (what[i]) {
		case R_NONE:
			break;
		case R_REMOVE:
			p->removed = 1;
			program_stop(p);
			break;
		case R_READD:
			p->removed = 0;
			p->admin_stopped = state_admin_stopped(p->pc->name);
			p->held_until = state_held_until(p->pc->name);
			program_apply_change(p, npcs[i]);
			if (p->state == PROGRAM_STOPPING && !p->admin_stopped &&
			    p->pc->autostart)
				p->restart_pending = 1;
			break;
		case R_CHANGE:
			program_apply_change(p, npcs[i]);
			break;
		}
	}
	free(olds);
	free(what);
	free(npcs);
	return (json_pack("{s:o,s:o,s:o,s:I}", "added", added, "changed",
	    changed, "removed", removed, "unchanged", (json_int_t)same));
}
