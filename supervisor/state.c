/*
 * The state file, state_dir/state.json: what must survive a restart of
 * chainkeeperd: which programs were stopped by hand, and the running
 * process of each program (pid and start ticks) so it can be adopted.  It is written
 * to a temporary file, fsync'd, renamed over the old one and the folder
 * fsync'd, so a crash leaves either the old or the new state, never half.
 * When it cannot be written (a full disk) that is logged once, the write is
 * tried again every second, and its success is logged.  Every file is
 * opened relative to a descriptor of state_dir (checked by fsafe), with
 * O_NOFOLLOW, and the temporary file is made new with O_EXCL.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "fsafe.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_VERSION	1

static char	*state_dir;
static int	 state_dfd = -1;	/* state_dir, checked */
static json_t	*state;		/* owned: {"version":1,"programs":{...}} */
static int	 state_dirty;	/* runtime records changed, not yet written */
static int	 state_failing;	/* the last write failed */
static ev_timer	 state_retry;

static int	state_write(int);
static void	state_retry_cb(struct ev_loop *, ev_timer *, int);
static json_t	*state_program(const char *);

/* Read state_dir/state.json; a missing file is an empty state. */
int
state_open(const char *dir)
{
	struct fsafe_err e;
	json_error_t	 err;
	char		*path;
	json_t		*v = NULL;
	int		 fd;

	free(state_dir);
	state_dir = xstrdup(dir);
	json_decref(state);
	state = NULL;
	if (state_dfd != -1)
		close(state_dfd);
	if ((state_dfd = fsafe_opendir(dir, FSAFE_NOUSER, 0, &e)) < 0) {
		log_warnx("state: %s", e.msg);
		state_dfd = -1;
	}
	xasprintf(&path, "%s/state.json", dir);
	if (state_dfd != -1 && (fd = fsafe_openat(state_dfd, "state.json",
	    O_RDONLY, 0, FSAFE_NOUSER, &e)) != -1) {
		if ((v = json_loadfd(fd, 0, &err)) == NULL)
			log_warnx("%s:%d: unreadable state (%s): starting "
			    "afresh", path, err.line, err.text);
		close(fd);
	} else if (state_dfd != -1 && errno != ENOENT)
		log_warnx("%s refused: %s: starting afresh", path, e.msg);
	free(path);
	if (v != NULL && (!json_is_object(v) ||
	    json_integer_value(json_object_get(v, "version")) !=
	    STATE_VERSION || !json_is_object(json_object_get(v,
	    "programs")))) {
		log_warnx("%s/state.json: not a version %d state: starting "
		    "afresh", dir, STATE_VERSION);
		json_decref(v);
		v = NULL;
	}
	if (v == NULL)
		v = json_pack("{s:i,s:{}}", "version", STATE_VERSION,
		    "programs");
	state = v;
	return (0);
}

void
state_close(void)
{
	if (ev_is_active(&state_retry))
		ev_timer_stop(EV_DEFAULT, &state_retry);
	state_failing = 0;
	json_decref(state);
	state = NULL;
	free(state_dir);
	state_dir = NULL;
	if (state_dfd != -1)
		close(state_dfd);
	state_dfd = -1;
}

int
state_admin_stopped(const char *name)
{
	json_t	*p;

	p = json_object_get(json_object_get(state, "programs"), name);
	return (json_is_true(json_object_get(p, "admin_stopped")));
}

/* Remember a hand stop or start; saves when it changed. */
int
state_set_admin_stopped(const char *name, int stopped)
{
	json_t	*p;

	if (state_admin_stopped(name) == stopped)
		return (0);
	p = state_program(name);
	json_object_set_new(p, "admin_stopped", json_boolean(stopped));
	if (state_save() == -1) {
		log_warnx("state: the hand %s of %s is not on disk yet: it is "
		    "kept in memory and written as soon as the state can be; "
		    "a restart of chainkeeperd before then forgets it",
		    stopped ? "stop" : "start", name);
		return (-1);
	}
	return (0);
}

/* The program's entry, created if needed (borrowed). */
static json_t *
state_program(const char *name)
{
	json_t	*progs, *p;

	progs = json_object_get(state, "programs");
	if ((p = json_object_get(progs, name)) == NULL) {
		p = json_object();
		json_object_set_new(progs, name, p);	/* steals p */
	}
	return (p);
}

/*
 * Record a program's current run (pid and start ticks name the process for
 * good).  Written at the end of the loop iteration, without fsync: it only
 * matters while the machine stays up, and a crash of chainkeeperd alone
 * keeps the page cache.
 */
void
state_run_set(const char *name, const struct state_run *r)
{
	json_t	*p = state_program(name);

	json_object_set_new(p, "run", json_pack("{s:I,s:I,s:I,s:I}",
	    "pid", (json_int_t)r->pid,
	    "start_ticks", (json_int_t)r->start_ticks,
	    "start_time", (json_int_t)r->start_time,
	    "restarts", (json_int_t)r->restarts));
	state_dirty = 1;
}

void
state_run_clear(const char *name)
{
	json_t	*p;

	p = json_object_get(json_object_get(state, "programs"), name);
	if (json_object_get(p, "run") == NULL)
		return;
	json_object_del(p, "run");
	state_dirty = 1;
}

/* The recorded run of a program; -1 if there is none. */
int
state_run_get(const char *name, struct state_run *r)
{
	json_t	*run;

	run = json_object_get(json_object_get(json_object_get(state,
	    "programs"), name), "run");
	if (!json_is_object(run))
		return (-1);
	memset(r, 0, sizeof(*r));
	r->pid = (pid_t)json_integer_value(json_object_get(run, "pid"));
	r->start_ticks = (unsigned long long)json_integer_value(
	    json_object_get(run, "start_ticks"));
	r->start_time = (time_t)json_integer_value(json_object_get(run,
	    "start_time"));
	r->restarts = (unsigned int)json_integer_value(json_object_get(run,
	    "restarts"));
	return (r->pid > 0 ? 0 : -1);
}

/* Rules of a program paused by hand until a time (0: not held). */
time_t
state_held_until(const char *name)
{
	json_t	*p;

	p = json_object_get(json_object_get(state, "programs"), name);
	return ((time_t)json_integer_value(json_object_get(p, "held_until")));
}

int
state_set_held_until(const char *name, time_t until)
{
	json_t	*p = state_program(name);

	if (until == 0)
		json_object_del(p, "held_until");
	else
		json_object_set_new(p, "held_until",
		    json_integer((json_int_t)until));
	return (state_save());
}

/* A program's named record in the state (borrowed; NULL if none). */
json_t *
state_program_get(const char *name, const char *key)
{
	return (json_object_get(json_object_get(json_object_get(state,
	    "programs"), name), key));
}

/* Set a program's named record (stolen) and save durably. */
int
state_program_set(const char *name, const char *key, json_t *v)
{
	json_object_set_new(state_program(name), key, v);
	return (state_save());
}

/* Write pending runtime records. */
int
state_flush(void)
{
	if (!state_dirty)
		return (0);
	/* After a failure, the retry timer writes it. */
	if (state_failing)
		return (-1);
	return (state_write(0));
}

static void
state_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	state_write(1);
}

/* A write failed: say so once, keep it dirty and retry in a second. */
static void
state_fail(const char *what, const char *file)
{
	if (!state_failing)
		log_warn("state: %s %s: the state is kept in memory and written "
		    "again every second until it works", what, file);
	state_failing = 1;
	state_dirty = 1;
	if (!ev_is_active(&state_retry)) {
		ev_timer_init(&state_retry, state_retry_cb, 1., 0.);
		ev_timer_start(EV_DEFAULT, &state_retry);
	}
}

/* Write the state atomically and durably. */
int
state_save(void)
{
	return (state_write(1));
}

static int
state_write(int durable)
{
	char	*path, *tmp, *text = NULL;
	size_t	 len;
	ssize_t	 n;
	int	 fd = -1, rc = -1;

	if (state_dir == NULL)
		return (0);
	xasprintf(&path, "%s/state.json", state_dir);
	xasprintf(&tmp, "%s/.state.json.tmp", state_dir);
	if (state_dfd == -1) {
		errno = EBADF;
		state_fail("open", tmp);
		goto done;
	}
	if ((fd = fsafe_mktemp(state_dfd, ".state.json.tmp")) == -1) {
		state_fail("open", tmp);
		goto done;
	}
	/* One write: json_dumpfd() writes each token on its own. */
	if ((text = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS)) ==
	    NULL) {
		log_warnx("state: cannot encode the state");
		goto done;
	}
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: the buffer holds it */
	if ((n = write(fd, text, len)) != (ssize_t)len) {
		if (n >= 0)
			errno = ENOSPC;	/* a short write */
		state_fail("write", tmp);
		goto done;
	}
	if (durable && fsync(fd) == -1) {
		state_fail("fsync", tmp);
		goto done;
	}
	close(fd);
	fd = -1;
	if (renameat(state_dfd, ".state.json.tmp", state_dfd,
	    "state.json") == -1) {
		state_fail("rename", tmp);
		goto done;
	}
	if (durable)
		fsync(state_dfd);
	state_dirty = 0;
	if (state_failing)
		log_info("state: %s written again", path);
	state_failing = 0;
	rc = 0;
done:
	if (fd != -1) {
		close(fd);
		unlinkat(state_dfd, ".state.json.tmp", 0);
	}
	free(text);
	free(path);
	free(tmp);
	return (rc);
}
