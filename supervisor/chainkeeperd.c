/*
 * chainkeeperd: the supervisor daemon.  One libev loop; every input is an
 * event (child exit, pipe data, control request, timer, signal).  Program
 * state changes mark the daemon dirty, and a prepare watcher re-evaluates
 * dependencies, the shutdown order and waiting control requests once per
 * loop iteration, after the callbacks that changed things have returned.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "action.h"
#include "alert.h"
#include "chainkeeperd.h"
#include "config.h"
#include "control.h"
#include "fdhold.h"
#include "fsafe.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "logpipe.h"
#include "metrics.h"
#include "probe-oom.h"
#include "program.h"
#include "proctree.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

struct config		*cur_config;

#define REEXEC_ENV	"CHAINKEEPER_REEXEC"

static int		 dirty;
static int		 shutting_down;
static ev_timer		 hold_w;	/* starts a new fdholder */
static ev_tstamp	 hold_started;
static int		 lock_fd = -1;
static char		*exe_path;	/* for reexec: the installed binary */
static ev_idle		 reexec_w;
static int		 verbose;
static int		 log_to_syslog;
static ev_prepare	 prepare_w;
static ev_child		 child_w;
static ev_signal	 sig_term, sig_int, sig_hup, sig_usr2, sig_usr1;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: chainkeeperd [-dnvV] [--dry-run] "
	    "[--show-secrets] [-c file]\n");
	exit(2);
}

/* Tell systemd (Type=notify) something; a no-op outside systemd. */
static void
sd_notify(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (*path == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify");
	close(fd);
}

static void
program_changed(struct program *p)
{
	alerts_program_changed(p);
	dirty = 1;
}

/* A probe result: to the rules; a healthy one may start a waiter. */
static void
probe_changed(struct probe *pr)
{
	struct program	*p;

	rules_probe_result(pr);
	if (pr->health != PROBE_HEALTHY)
		return;
	TAILQ_FOREACH(p, &programs, entry)
		if (p->waiting) {
			dirty = 1;
			break;
		}
}

int
daemon_shutting_down(void)
{
	return (shutting_down);
}

/* A start by hand: forget a hand stop. */
void
daemon_admin_start(struct program *p)
{
	p->admin_stopped = 0;
	state_set_admin_stopped(p->pc->name, 0);
	program_start(p);
}

/* A stop by hand: remembered across restarts of chainkeeperd. */
void
daemon_admin_stop(struct program *p)
{
	p->admin_stopped = 1;
	state_set_admin_stopped(p->pc->name, 1);
	program_stop(p);
}

/*
 * Whether the run record of name, a program that is not in the
 * configuration, is of the run whose main process is mpid; pid, which
 * carries that run's marker, is named in the log if not.
 */
static int
unconfigured_recorded(const char *name, pid_t mpid, pid_t pid,
    struct state_run *r)
{
	if (!config_name_valid(name) || state_run_get(name, r) == -1 ||
	    r->legacy || r->pid != mpid) {
		log_warnx("pid %ld carries the marker of program \"%s\", "
		    "which is not in the configuration and has no run record "
		    "for it: leaving it alone", (long)pid, name);
		return (0);
	}
	return (1);
}

/*
 * A process with the marker of a program that is not in the configuration
 * (a reload that removed it was cut short by a crash): when it is the run
 * an earlier chainkeeperd recorded, it is ours and nobody else will ever
 * stop it, so it is adopted as a removed program and stopped the way a
 * reload stops one (stopsignal, stopwaitsecs, then SIGKILL to its tree,
 * with the defaults, as its settings are gone).  Anything else is left
 * alone: a marker proves nothing.
 */
static void
stop_unconfigured(const char *name, pid_t pid)
{
	struct program		*p;
	struct state_run	 r;

	if (!unconfigured_recorded(name, pid, pid, &r))
		return;
	p = program_new(config_program_default(cur_config, name));
	p->removed = 1;
	if (program_adopt_record(p, &r) == -1) {
		state_run_clear(name);
		program_free(p);
		return;
	}
	log_warnx("%s: pid %ld is a recorded run of a program that is no "
	    "longer in the configuration: stopping it", name, (long)pid);
	program_stop(p);
}

/*
 * A process left by a run of a program that is not in the configuration,
 * whose main process has ended: a crash came while its stop waited for the
 * rest of its tree.  When the run record says that run was ours, what
 * carries its marker is swept; otherwise it is left alone, as above.
 */
static void
sweep_unconfigured(const char *name, pid_t mpid, pid_t pid)
{
	struct state_run	 r;
	char			 marker[96];	/* as program.h has it */

	if (!unconfigured_recorded(name, mpid, pid, &r))
		return;
	if (kill(mpid, 0) == 0 || errno != ESRCH)
		return;		/* its main runs: stop_unconfigured stops all */
	log_warnx("%s: pid %ld is left by a recorded run (pid %ld) of a "
	    "program that is no longer in the configuration: killing it",
	    name, (long)pid, (long)mpid);
	snprintf(marker, sizeof(marker), "%s:%s/%ld", program_daemon_id,
	    name, (long)mpid);
	program_sweep_marker(marker);
}

/*
 * A process that carries one of our markers, found at start: part of a run
 * just adopted (left alone), or what is left of a run nobody runs now, or
 * a process that only says it is ours.  Those are never adopted (anyone
 * can put the marker in an environment): they are swept, and a process
 * whose marker names its own pid, which would have passed for a run, is
 * named in the log with the reason.
 */
static void
adopt_scan_cb(const char *name, pid_t mpid, pid_t pid, pid_t pgrp,
    void *arg)
{
	struct program		*p;
	struct proctree_ident	 id;
	char			 marker[96];	/* as program.h has it */

	(void)pgrp;
	(void)arg;
	if ((p = program_find(name)) == NULL) {
		if (pid == mpid)
			stop_unconfigured(name, pid);
		else
			sweep_unconfigured(name, mpid, pid);
		return;
	}
	if (p->pid > 0 && p->pid == mpid)
		return;
	if (pid == mpid) {
		if (proctree_ident(pid, &id) == -1)
			id.uid[0] = (uid_t)-1;
		log_warnx("%s: not adopting pid %ld (uid %ld): it carries the "
		    "program's marker but is not its recorded run: killing "
		    "it", name, (long)pid, id.uid[0] == (uid_t)-1 ? -1L :
		    (long)id.uid[0]);
	}
	snprintf(marker, sizeof(marker), "%s:%s/%ld", program_daemon_id,
	    name, (long)mpid);
	program_sweep_marker(marker);
}

/*
 * Adopt the programs an earlier chainkeeperd left running, from their run
 * records only: the process must be the one recorded (pid, start ticks,
 * user, executable, not setuid; see program_adopt_record).  Then one scan
 * for processes with our markers sweeps what no adopted run owns.  A
 * program that is running is never started a second time: every run is
 * recorded before its exec.
 */
static void
adopt_running(void)
{
	struct program		*p;
	struct state_run	 r;

	TAILQ_FOREACH(p, &programs, entry) {
		if (state_run_get(p->pc->name, &r) == -1)
			continue;
		if (program_adopt_record(p, &r) == -1)
			state_run_clear(p->pc->name);
	}
	if (proctree_find_instances(program_daemon_id, adopt_scan_cb,
	    NULL) == -1)
		log_warnx("cannot scan processes for what earlier runs left");
	TAILQ_FOREACH(p, &programs, entry)
		if (p->adopted && p->admin_stopped)
			program_stop(p);
	state_flush();
}

/* A pipe back from the old holder: to its program, or closed. */
static void
recover_pipe_cb(const char *name, const char *stream, int r, int w,
    void *arg)
{
	struct program	*p;

	(void)arg;
	if ((p = program_find(name)) == NULL) {
		close(r);
		close(w);
		return;
	}
	if (strcmp(stream, "stdout") == 0)
		program_attach_output(p, r, w, -1, -1);
	else
		program_attach_output(p, -1, -1, r, w);
}

/* Start a holder and give it every output pipe; how many, or -1. */
static int
hold_give_all(void)
{
	struct program	*p;
	int		 n = 0;

	hold_started = ev_now(EV_DEFAULT);
	if (fdhold_start(cur_config->state_dir, exe_path) == -1)
		return (-1);
	TAILQ_FOREACH(p, &programs, entry) {
		if (p->out != NULL) {
			fdhold_add(p->pc->name, "stdout", logfile_fd(p->out),
			    p->outw);
			n++;
		}
		if (p->err != NULL) {
			fdhold_add(p->pc->name, "stderr", logfile_fd(p->err),
			    p->errw);
			n++;
		}
	}
	return (n);
}

/*
 * Take the output pipes back from the holder an earlier chainkeeperd
 * left, say which adopted programs got none back (their output is lost
 * until they restart), then start a new holder and give it every pipe.
 */
static void
hold_pipes(void)
{
	struct program	*p;
	int		 n;

	if ((n = fdhold_recover(cur_config->state_dir, recover_pipe_cb,
	    NULL)) > 0)
		log_info("took %d output pipes back from the holder", n);
	TAILQ_FOREACH(p, &programs, entry) {
		if (!p->adopted || p->pid <= 0)
			continue;
		if (p->pc->out.path != NULL && p->out == NULL)
			log_warnx("%s: adopted, but its stdout pipe did not "
			    "come back from the holder: its output is not "
			    "captured until it restarts", p->pc->name);
		if (p->pc->err.path != NULL && p->err == NULL)
			log_warnx("%s: adopted, but its stderr pipe did not "
			    "come back from the holder: its output is not "
			    "captured until it restarts", p->pc->name);
	}
	hold_give_all();
}

/* The holder died: a new one, given every pipe again. */
static void
hold_restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 n;

	(void)loop;
	(void)w;
	(void)revents;
	if (shutting_down)
		return;
	if ((n = hold_give_all()) >= 0)
		log_info("started a new chainkeeper-fdholder (pid %ld) and "
		    "gave it %d output pipes", (long)fdhold_pid(), n);
}

/* Start the autostart programs, in priority order. */
static void
autostart_all(void)
{
	struct program	*p;

	TAILQ_FOREACH(p, &programs, entry)
		if (p->pc->autostart && !p->admin_stopped && p->state ==
		    PROGRAM_STOPPED && !p->waiting && p->runs == 0 &&
		    !p->removed)
			program_start(p);
}

/*
 * Reload: load the configuration aside; only when it is valid, restart the
 * programs whose settings changed, add new ones, stop removed ones, and
 * leave every other program alone.  Returns a summary, or NULL and the
 * errors.
 */
json_t *
daemon_reload(char **errors)
{
	struct config		*ncfg;
	json_t			*res;

	if (shutting_down) {
		*errors = xstrdup("chainkeeperd is shutting down");
		return (NULL);
	}
	sd_notify("RELOADING=1");
	if ((ncfg = config_load(cur_config->path, errors)) == NULL) {
		log_warnx("reload: %s is not valid; nothing changed:\n%s",
		    cur_config->path, *errors);
		sd_notify("READY=1");
		return (NULL);
	}
	res = program_reload(ncfg);
	if (strcmp(ncfg->control_socket, cur_config->control_socket) != 0 ||
	    ncfg->control_mode != cur_config->control_mode ||
	    strcmp(ncfg->state_dir, cur_config->state_dir) != 0)
		log_warnx("reload: control and state_dir changes take effect "
		    "when chainkeeperd restarts");
	/* Keep the globals chainkeeperd runs with; take the rest. */
	free(ncfg->control_socket);
	ncfg->control_socket = xstrdup(cur_config->control_socket);
	free(ncfg->state_dir);
	ncfg->state_dir = xstrdup(cur_config->state_dir);
	ncfg->control_mode = cur_config->control_mode;
	config_free(cur_config);
	cur_config = ncfg;
	control_configure(cur_config);
	metrics_reload(cur_config);
	alerts_configure(&cur_config->alerts);
	autostart_all();
	log_info("reload: %zu added, %zu changed, %zu removed, %lld unchanged",
	    json_array_size(json_object_get(res, "added")),
	    json_array_size(json_object_get(res, "changed")),
	    json_array_size(json_object_get(res, "removed")),
	    (long long)json_integer_value(json_object_get(res, "unchanged")));
	dirty = 1;
	sd_notify("READY=1");
	return (res);
}

static void
keep_fd(json_t *o, const char *key, int fd)
{
	int	 fl;

	if (fd < 0)
		return;
	if ((fl = fcntl(fd, F_GETFD)) != -1)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	json_object_set_new(o, key, json_integer(fd));
}

static int
take_fd(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);
	int	 fd;

	if (!json_is_integer(v))
		return (-1);
	fd = (int)json_integer_value(v);
	if (fcntl(fd, F_GETFD) == -1)
		return (-1);
	set_cloexec(fd);
	return (fd);
}

/*
 * Replace this image with the installed binary, keeping the pid, every
 * program (they stay our children), their output pipes and the state_dir
 * lock.  What the new image needs rides in the environment.
 */
static void
daemon_reexec(void)
{
	struct program	*p;
	json_t		*j, *progs, *o;
	struct rlimit	 rl;
	char		*s, *argv[8];
	int		 argc = 0;

	j = json_object();
	progs = json_object();
	TAILQ_FOREACH(p, &programs, entry) {
		program_note_exe(p);
		o = json_object();
		if (p->out != NULL) {
			logfile_drain(p->out);
			keep_fd(o, "out_r", logfile_fd(p->out));
		}
		if (p->err != NULL) {
			logfile_drain(p->err);
			keep_fd(o, "err_r", logfile_fd(p->err));
		}
		keep_fd(o, "out_w", p->outw);
		keep_fd(o, "err_w", p->errw);
		json_object_set_new(progs, p->pc->name, o);
	}
	json_object_set_new(j, "programs", progs);
	keep_fd(j, "lock_fd", lock_fd);
	spawn_nofile(&rl, NULL);
	json_object_set_new(j, "nofile_cur", json_integer((json_int_t)
	    rl.rlim_cur));
	json_object_set_new(j, "nofile_max", json_integer((json_int_t)
	    rl.rlim_max));
	json_object_set_new(j, "syslog", json_boolean(log_to_syslog));
	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		fatalx("json_dumps");
	json_decref(j);
	setenv(REEXEC_ENV, s, 1);
	free(s);
	state_flush();
	control_close();
	argv[argc++] = exe_path;
	argv[argc++] = "-c";
	argv[argc++] = cur_config->path;
	if (verbose)
		argv[argc++] = "-v";
	if (action_dry_run)
		argv[argc++] = "--dry-run";
	argv[argc] = NULL;
	log_info("re-executing %s", exe_path);
	execv(exe_path, argv);
	log_warn("reexec %s failed: carrying on with this image", exe_path);
	unsetenv(REEXEC_ENV);
	TAILQ_FOREACH(p, &programs, entry) {
		if (p->out != NULL)
			set_cloexec(logfile_fd(p->out));
		if (p->err != NULL)
			set_cloexec(logfile_fd(p->err));
		if (p->outw != -1)
			set_cloexec(p->outw);
		if (p->errw != -1)
			set_cloexec(p->errw);
	}
	set_cloexec(lock_fd);
	if (control_listen(cur_config) == -1)
		log_warnx("the control socket is gone: restart chainkeeperd");
}

static void
reexec_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
	daemon_reexec();
}

/*
 * Asked over the control socket: re-execute once the reply is out.  The
 * configuration on disk must be the one running, so that nothing changes
 * underneath the programs.
 */
int
daemon_reexec_request(char **error)
{
	struct config	*ncfg;
	struct program	*p;
	struct program_config *npc;
	size_t		 n = 0;
	char		*errors;

	*error = NULL;
	if (shutting_down) {
		*error = xstrdup("chainkeeperd is shutting down");
		return (-1);
	}
	if (access(exe_path, X_OK) == -1) {
		xasprintf(error, "%s: %s", exe_path, strerror(errno));
		return (-1);
	}
	if ((ncfg = config_load(cur_config->path, &errors)) == NULL) {
		xasprintf(error, "the configuration is not valid; fix it "
		    "first:\n%s", errors);
		free(errors);
		return (-1);
	}
	TAILQ_FOREACH(p, &programs, entry) {
		if (p->removed)
			continue;
		n++;
		if ((npc = config_find(ncfg, p->pc->name)) == NULL ||
		    !config_program_equal(npc, p->pc)) {
			xasprintf(error, "the configuration changed since it "
			    "was loaded (%s): run reload first", p->pc->name);
			break;
		}
	}
	if (*error == NULL && n != ncfg->nprograms)
		xasprintf(error, "the configuration changed since it was "
		    "loaded: run reload first");
	config_free(ncfg);
	if (*error != NULL)
		return (-1);
	ev_idle_start(EV_DEFAULT, &reexec_w);
	return (0);
}

/* The new image takes what the old one handed over. */
static void
reexec_restore(const char *env)
{
	json_t		*j, *o;
	json_error_t	 err;
	const char	*name;
	struct program	*p;
	struct rlimit	 rl;

	if ((j = json_loads(env, 0, &err)) == NULL) {
		log_warnx("reexec: unreadable hand-over: %s", err.text);
		return;
	}
	json_object_foreach(json_object_get(j, "programs"), name, o) {
		if ((p = program_find(name)) == NULL) {
			close(take_fd(o, "out_r"));
			close(take_fd(o, "out_w"));
			close(take_fd(o, "err_r"));
			close(take_fd(o, "err_w"));
			continue;
		}
		program_attach_output(p, take_fd(o, "out_r"),
		    take_fd(o, "out_w"), take_fd(o, "err_r"),
		    take_fd(o, "err_w"));
	}
	if (json_is_integer(json_object_get(j, "nofile_cur"))) {
		rl.rlim_cur = (rlim_t)json_integer_value(json_object_get(j,
		    "nofile_cur"));
		rl.rlim_max = (rlim_t)json_integer_value(json_object_get(j,
		    "nofile_max"));
		spawn_nofile(NULL, &rl);
	}
	json_decref(j);
	log_info("re-executed: taking over the running programs");
}

/* Begin the orderly shutdown; the prepare watcher carries it on. */
void
daemon_shutdown(const char *why)
{
	if (shutting_down)
		return;
	log_info("shutting down: %s", why);
	sd_notify("STOPPING=1");
	shutting_down = 1;
	program_no_restarts = 1;
	dirty = 1;
}

/*
 * The priority a program is stopped at: its own, or that of anything that
 * depends on it, if lower, since dependents stop before their
 * dependencies even when their priorities say otherwise (depends_on has
 * no cycles: the configuration is checked).
 */
static int
stop_priority(const struct program *p, int depth)
{
	const struct program	*q;
	size_t			 i;
	int			 prio = p->pc->priority, d;

	if (depth > 64)
		return (prio);
	TAILQ_FOREACH(q, &programs, entry) {
		if (q == p)
			continue;
		for (i = 0; q->pc->depends_on[i] != NULL; i++)
			if (strcmp(q->pc->depends_on[i], p->pc->name) == 0 &&
			    (d = stop_priority(q, depth + 1)) < prio)
				prio = d;
	}
	return (prio);
}

/*
 * One step of the shutdown: stop every program that no running program
 * with a higher stop priority number, and no running dependent, still
 * waits for.  When all are stopped, leave the loop.  Priorities are worked
 * out once a step, so a step is O(N^2) at worst, not O(N^3).
 */
static void
shutdown_step(void)
{
	struct program	*p, *q;
	size_t		 i, n = 0, k;
	int		 left = 0, blocked, *prio, top = INT_MIN;

	TAILQ_FOREACH(p, &programs, entry)
		n++;
	prio = xcalloc(n + 1, sizeof(*prio));
	k = 0;
	TAILQ_FOREACH(p, &programs, entry) {
		prio[k] = stop_priority(p, 0);
		if ((!program_is_stopped(p) || p->waiting) && prio[k] > top)
			top = prio[k];
		k++;
	}
	k = 0;
	TAILQ_FOREACH(p, &programs, entry) {
		k++;
		if (program_is_stopped(p) && !p->waiting)
			continue;
		left++;
		if (p->state == PROGRAM_STOPPING)
			continue;
		/* Another running program has a higher number. */
		blocked = top > prio[k - 1];
		TAILQ_FOREACH(q, &programs, entry) {
			if (blocked)
				break;
			if (q == p || (program_is_stopped(q) && !q->waiting))
				continue;
			for (i = 0; q->pc->depends_on[i] != NULL; i++)
				if (strcmp(q->pc->depends_on[i],
				    p->pc->name) == 0)
					blocked = 1;
		}
		if (!blocked)
			program_stop(p);
	}
	free(prio);
	if (left == 0)
		ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct program	*p, *np;

	(void)loop;
	(void)w;
	(void)revents;
	if (!shutting_down)
		rules_run_pending();
	while (dirty) {
		dirty = 0;
		rules_poll();
		if (!shutting_down)
			program_deps_changed();
		TAILQ_FOREACH_SAFE(p, &programs, entry, np)
			if (p->removed && program_is_stopped(p))
				program_free(p);
		control_evaluate();
		if (shutting_down)
			shutdown_step();
	}
	state_flush();
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct program	*p;

	(void)loop;
	(void)revents;
	if ((p = program_by_pid(w->rpid)) != NULL)
		program_child_exited(p, w->rstatus);
	else if (fdhold_exited(w->rpid, w->rstatus)) {
		/* At once, unless it also died within a second of start. */
		ev_timer_set(&hold_w, ev_now(EV_DEFAULT) - hold_started < 1. ?
		    1. : 0., 0.);
		ev_timer_start(EV_DEFAULT, &hold_w);
	} else
		log_debug("reaped pid %ld (left behind by a program)",
		    (long)w->rpid);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	char	*errors = NULL;
	json_t	*r;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGTERM:
	case SIGINT:
		daemon_shutdown(w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		if ((r = daemon_reload(&errors)) != NULL)
			json_decref(r);
		free(errors);
		break;
	case SIGUSR1:
		log_info("SIGUSR1 ignored (SIGUSR2 reopens log files, SIGHUP "
		    "reloads)");
		break;
	case SIGUSR2:
		log_info("SIGUSR2: reopening log files");
		if (log_reopen() == -1)
			log_warn("reopen log file");
		logfile_reopen_all();
		break;
	}
}

/* The id in instance markers: a hash of state_dir, one per daemon. */
static void
daemon_set_id(const char *dir)
{
	uint32_t	 h = 2166136261u;

	for (; *dir != '\0'; dir++)
		h = (h ^ (unsigned char)*dir) * 16777619u;
	snprintf(program_daemon_id, sizeof(program_daemon_id), "%08x", h);
}

/* One chainkeeperd per state_dir: an exclusive lock held for life. */
static int
lock_state(const char *dir, int dfd)
{
	struct fsafe_err e;
	char		*path;

	xasprintf(&path, "%s/lock", dir);
	lock_fd = fsafe_openat(dfd, "lock", O_RDWR | O_CREAT, 0600,
	    FSAFE_NOUSER, &e);
	if (lock_fd == -1) {
		log_warnx("open %s: %s", path, e.msg);
		free(path);
		return (-1);
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("%s is locked: another chainkeeperd runs on this "
		    "state_dir", path);
		free(path);
		return (-1);
	}
	free(path);
	return (0);
}

/*
 * Open (making it if missing) a folder that only root (or chainkeeperd's
 * uid) may write, as sshd's StrictModes wants: -1, said on stderr, if it
 * belongs to someone else or others can write it.
 */
static int
state_dir_open(const char *dir, const char *what)
{
	struct fsafe_err e;
	struct stat	 st;
	int		 fd;

	if ((fd = fsafe_opendir(dir, FSAFE_NOUSER, FSAFE_CREATE, &e)) >= 0)
		return (fd);
	if (lstat(dir, &st) == 0)
		log_warnx("%s %s (owner uid %lu, mode %04o) refused: %s: it "
		    "must belong to root (or chainkeeperd's uid), and neither "
		    "group nor others may write it or the folders above it",
		    what, dir, (unsigned long)st.st_uid,
		    (unsigned int)(st.st_mode & 07777), e.msg);
	else
		log_warnx("%s %s refused: %s", what, dir, e.msg);
	return (-1);
}

/* -d: fork; the parent exits 0 once the child is ready, 1 if it fails. */
static int
daemonize(void)
{
	int	 p[2], fd;
	char	 c;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return (p[1]);
}

int
main(int argc, char *argv[])
{
	const char	*path = CONFIG_DEFAULT_PATH;
	char		*errors;
	json_t		*j;
	int		 ch, check = 0, daemon = 0, ready_fd = -1;
	int		 show_secrets = 0;
	int		 fd, sdfd;
	struct program	*p;
	char		*reexec = NULL, *env, self[PATH_MAX];
	json_t		*hand;
	ssize_t		 n;

	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'D' },
		{ "show-secrets", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};

	/*
	 * Secrets are read into memory: no core dump, no ptrace and no
	 * /proc/PID/environ or mem for anybody but root, unless asked.
	 */
	if (((env = getenv("CHAINKEEPERD_DUMPABLE")) == NULL ||
	    strcmp(env, "1") != 0) && prctl(PR_SET_DUMPABLE, 0) == -1)
		fprintf(stderr, "chainkeeperd: PR_SET_DUMPABLE: %s\n",
		    strerror(errno));
	config_use_kinds(&config_kinds_all);
	config_logdir_check = fsafe_logdir_refused;
	while ((ch = getopt_long(argc, argv, "c:dnvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'D':
			action_dry_run = journal_dry_run = 1;
			break;
		case 'S':
			show_secrets = 1;
			break;
		case 'c':
			path = optarg;
			break;
		case 'd':
			daemon = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("chainkeeperd %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("chainkeeperd", LOG_TO_STDERR, verbose && !check);

	if ((cur_config = config_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		fprintf(stderr, "chainkeeperd: %s: configuration not valid\n",
		    path);
		free(errors);
		return (1);
	}
	if (check) {
		if (verbose) {
			j = config_json(cur_config, !show_secrets);
			json_dumpf(j, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(j);
		}
		fprintf(stderr, "chainkeeperd: %s: configuration OK (%zu "
		    "programs)\n", cur_config->path, cur_config->nprograms);
		config_free(cur_config);
		return (0);
	}

	/* The binary to re-execute: its path, which an upgrade replaces. */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if (n > 10 && strcmp(self + n - 10, " (deleted)") == 0)
			self[n - 10] = '\0';
		exe_path = xstrdup(self);
	} else
		exe_path = xstrdup(argv[0]);

	/* state_dir and log.dir: root's alone (sshd's StrictModes). */
	if ((sdfd = state_dir_open(cur_config->state_dir, "state_dir")) ==
	    -1 || (fd = state_dir_open(cur_config->log_dir, "log.dir")) == -1)
		return (1);
	close(fd);
	if ((env = getenv(REEXEC_ENV)) != NULL) {
		/* A reexec: same pid, same lock, already a daemon or not. */
		reexec = xstrdup(env);
		unsetenv(REEXEC_ENV);
		if ((hand = json_loads(reexec, 0, NULL)) != NULL) {
			lock_fd = take_fd(hand, "lock_fd");
			log_to_syslog = json_is_true(json_object_get(hand,
			    "syslog"));
			json_decref(hand);
		}
		daemon = 0;
	}
	if (lock_fd == -1 && lock_state(cur_config->state_dir, sdfd) == -1)
		return (1);
	close(sdfd);
	if (daemon)
		ready_fd = daemonize();
	if (cur_config->log_file != NULL) {
		if (log_open_file(cur_config->log_file) == -1)
			fatal("open %s", cur_config->log_file);
	} else if (daemon || log_to_syslog) {
		log_init("chainkeeperd", LOG_TO_SYSLOG, verbose);
		log_to_syslog = 1;
	}
	if (daemon && (fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER: escaped descendants of "
		    "programs will not be found");
	signal(SIGPIPE, SIG_IGN);
	/* A test hook, documented in chainkeeperd(8); not passed on. */
	program_crash_hook(getenv("CK_TEST_CRASH_AT"));
	unsetenv("CK_TEST_CRASH_AT");
	spawn_init();
	state_open(cur_config->state_dir);
	daemon_set_id(cur_config->state_dir);
	ev_idle_init(&reexec_w, reexec_cb);

	ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_hup, signal_cb, SIGHUP);
	ev_signal_init(&sig_usr2, signal_cb, SIGUSR2);
	ev_signal_init(&sig_usr1, signal_cb, SIGUSR1);
	ev_signal_start(EV_DEFAULT, &sig_usr1);
	ev_signal_start(EV_DEFAULT, &sig_term);
	ev_signal_start(EV_DEFAULT, &sig_int);
	ev_signal_start(EV_DEFAULT, &sig_hup);
	ev_signal_start(EV_DEFAULT, &sig_usr2);
	ev_timer_init(&hold_w, hold_restart_cb, 0., 0.);
	ev_child_init(&child_w, child_cb, 0, 0);
	ev_child_start(EV_DEFAULT, &child_w);
	ev_prepare_init(&prepare_w, prepare_cb);
	ev_prepare_start(EV_DEFAULT, &prepare_w);
	program_changed_hook = program_changed;
	probe_changed_hook = probe_changed;
	journal_open(cur_config->state_dir);
	alerts_start(cur_config->state_dir, &cur_config->alerts);
	probe_oom_note_hook = program_note_oom;

	if (control_listen(cur_config) == -1)
		return (1);
	program_take_all(cur_config);
	if (reexec != NULL)
		reexec_restore(reexec);
	adopt_running();
	hold_pipes();
	autostart_all();
	metrics_start(cur_config);
	/* A child that died while nothing watched (reexec) is reaped now. */
	ev_feed_signal(SIGCHLD);
	log_info("chainkeeperd %s ready: %s, socket %s", PACKAGE_VERSION,
	    cur_config->path, cur_config->control_socket);
	sd_notify("READY=1");
	if (ready_fd != -1) {
		(void)write(ready_fd, "", 1);
		close(ready_fd);
	}

	ev_run(EV_DEFAULT, 0);

	program_sweep_dead();
	log_info("all programs stopped; exiting");
	control_close();
	metrics_stop();
	alerts_flush(5000);
	alerts_stop();
	while ((p = TAILQ_FIRST(&programs)) != NULL)
		program_free(p);
	fdhold_stop();
	state_close();
	journal_close();
	config_free(cur_config);
	http_shutdown();
	ev_loop_destroy(EV_DEFAULT);
	free(reexec);
	free(exe_path);
	return (0);
}
