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

#define SWEEP_INTERVAL		0.1	/* s, leftovers after main exit */
#define SWEEP_INTERVAL_SLOW	1.0	/* s, once SIGKILL was sent */
#define PIDPOLL_INTERVAL	0.25	/* s, adopted pid without a pidfd */

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
	ev_timer_init(&p->sweep, program_sweep_cb, SWEEP_INTERVAL,
	    SWEEP_INTERVAL);
	p->sweep.data = p;
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

static int
deps_running(struct program *p, const char **missing)
{
	struct program	*d;
	size_t		 i;

	for (i = 0; p->pc->depends_on[i] != NULL; i++) {
		d = program_find(p->pc->depends_on[i]);
		if (d == NULL || d->state != PROGRAM_RUNNING) {
			*missing = p->pc->depends_on[i];
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

/* Note the current run in the state file, so it can be adopted. */
static void
program_record_run(struct program *p)
{
	struct state_run	 r;

	p->start_ticks = proctree_start_ticks(p->pid);
	r.pid = p->pid;
	r.start_ticks = p->start_ticks;
	r.start_time = p->start_wall;
	r.restarts = p->restarts;
	state_run_set(p->pc->name, &r);
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
	program_record_run(p);
	program_set_state(p, PROGRAM_RUNNING, "adopted pid %ld%s, up %lld s",
	    (long)pid, ppid == (long)getpid() ? "" : " (not a child: exit "
	    "status will not be known)",
	    (long long)(time(NULL) - p->start_wall));
	return (0);
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
	int64_t	 delay;

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
	delay = program_backoff_delay(&p->pc->backoff, p->resfails,
	    arc4random());
	timer_set(&p->timer, delay);
	program_set_state(p, PROGRAM_BACKOFF, "%s (attempt %d); retry in "
	    "%lld ms", p->spawnerr, p->resfails, (long long)delay);
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
	program_record_run(p);
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
	timer_set(&p->timer, p->pc->stopwait_ms);
	program_set_state(p, PROGRAM_STOPPING, "sent SIG%s to %s %ld",
	    signal_name(p->pc->stopsignal),
	    p->pc->stopasgroup ? "group" : "pid", (long)p->pid);
}

/* SIGKILL the whole tree: group, descendants, escaped setsid children. */
static int
program_kill_tree(struct program *p)
{
	int	 n;

	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	kill(-p->pgid, SIGKILL);
	n = proctree_kill(p->pgid, p->marker, SIGKILL);
	p->killed = 1;
	return (n);
}

/* The main process is gone and so is its tree: the stop is complete. */
static void
program_finish_stop(struct program *p)
{
	ev_timer_stop(EV_DEFAULT, &p->timer);
	ev_timer_stop(EV_DEFAULT, &p->sweep);
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
		ev_timer_stop(EV_DEFAULT, &p->sweep);
		ev_timer_set(&p->sweep, SWEEP_INTERVAL, SWEEP_INTERVAL_SLOW);
		ev_timer_start(EV_DEFAULT, &p->sweep);
		break;
	}
}

/* After the main pid exited while STOPPING: wait for the rest to go. */
static void
program_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct program	*p = w->data;
	pid_t		*pids;
	size_t		 n;

	(void)loop;
	(void)revents;
	if (p->state != PROGRAM_STOPPING) {
		ev_timer_stop(EV_DEFAULT, w);
		return;
	}
	if (p->pid > 0)
		return;		/* its exit will come */
	if (proctree_collect_all(p->pgid, p->marker, &pids, &n) == -1)
		return;
	free(pids);
	if (n == 0) {
		program_finish_stop(p);
		return;
	}
	if (p->killed)
		proctree_kill(p->pgid, p->marker, SIGKILL);
}

/* Begin starting: at once, or when depends_on are RUNNING. */
void
program_start(struct program *p)
{
	const char	*missing;

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
	if (!deps_running(p, &missing)) {
		if (!p->waiting)
			log_info("%s: waiting for %s to be RUNNING",
			    p->pc->name, missing);
		p->waiting = 1;
		if (program_changed_hook != NULL)
			program_changed_hook(p);
		return;
	}
	program_spawn(p);
}

/* Start programs whose dependencies have just become RUNNING. */
void
program_deps_changed(void)
{
	struct program	*p;
	const char	*missing;

	TAILQ_FOREACH(p, &programs, entry)
		if (p->waiting && program_is_stopped(p) &&
		    deps_running(p, &missing))
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
 * respawn storm does not scan once per crash.
 */
static char		**dead_markers;
static size_t		  ndead;
static ev_timer		  dead_timer;

/* SIGKILL what is left of runs that ended by themselves. */
void
program_sweep_dead(void)
{
	size_t	 i;
	int	 n;

	ev_timer_stop(EV_DEFAULT, &dead_timer);
	if (ndead == 0)
		return;
	if ((n = proctree_kill_markers(dead_markers, ndead, SIGKILL)) > 0)
		log_info("killed %d processes left behind by runs that ended",
		    n);
	for (i = 0; i < ndead; i++)
		free(dead_markers[i]);
	free(dead_markers);
	dead_markers = NULL;
	ndead = 0;
}

static void
dead_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	program_sweep_dead();
}

/*
 * Leftovers of a run that ended by itself: its process group is killed at
 * once, escaped (setsid) descendants by the sweep a moment later.
 */
static void
program_kill_leftovers(struct program *p, pid_t oldpid)
{
	if (kill(-oldpid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("kill group %ld", (long)oldpid);
	dead_markers = xreallocarray(dead_markers, ndead + 1,
	    sizeof(*dead_markers));
	dead_markers[ndead++] = xstrdup(p->marker);
	if (!ev_is_active(&dead_timer)) {
		ev_timer_init(&dead_timer, dead_timer_cb, 0.2, 0.);
		ev_timer_start(EV_DEFAULT, &dead_timer);
	}
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
	pid_t		 oldpid = p->pid;
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
	state_run_clear(p->pc->name);
	eosfo_exited(p);
	p->pid = 0;
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
		ev_timer_stop(EV_DEFAULT, &p->sweep);
		ev_timer_set(&p->sweep, 0., p->killed ? SWEEP_INTERVAL_SLOW :
		    SWEEP_INTERVAL);
		ev_timer_start(EV_DEFAULT, &p->sweep);
		if (!p->killed && proctree_kill(oldpid, p->marker,
		    p->pc->stopsignal) > 0)
			log_info("%s: sent SIG%s to processes left behind",
			    p->pc->name, signal_name(p->pc->stopsignal));
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
