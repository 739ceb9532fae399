/*
 * The state file, state_dir/state.json: what must survive a restart of
 * chainkeeperd: which programs were stopped by hand, holds and the like.
 * It is written to a temporary file, fsync'd, renamed over the old one and
 * the folder fsync'd, so a crash leaves either the old or the new state,
 * never half.  When it cannot be written (a full disk) that is logged once,
 * the write is tried again every second, and its success is logged.
 *
 * The run of each program, what adoption goes by, is kept apart, one small
 * file per program in state_dir/runs, written at once (not at the end of
 * the loop iteration) so that it is in place before the program's exec:
 * a respawn costs one small file, not a rewrite of the whole state.
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

#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_VERSION	1

static char	*state_dir;
static json_t	*state;		/* owned: {"version":1,"programs":{...}} */
static int	 state_dirty;	/* runtime records changed, not yet written */
static int	 state_failing;	/* the last write failed */
static ev_timer	 state_retry;
static int	 runs_fd = -1;	/* state_dir/runs, O_DIRECTORY */
static int	 runs_failing;	/* the last run record write failed */
static char	 boot_id[40];

static int	state_write(int);
static void	state_runs_open(const char *);
static void	state_retry_cb(struct ev_loop *, ev_timer *, int);
static json_t	*state_program(const char *);

/* Read state_dir/state.json; a missing file is an empty state. */
int
state_open(const char *dir)
{
	json_error_t	 err;
	char		*path;
	json_t		*v;

	free(state_dir);
	state_dir = xstrdup(dir);
	json_decref(state);
	state = NULL;
	xasprintf(&path, "%s/state.json", dir);
	v = json_load_file(path, 0, &err);
	if (v == NULL && access(path, F_OK) == 0)
		log_warnx("%s:%d: unreadable state (%s): starting afresh",
		    path, err.line, err.text);
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
	state_runs_open(dir);
	return (0);
}

/* This boot's id (/proc/sys/kernel/random/boot_id); "" if unknown. */
const char *
state_boot_id(void)
{
	FILE	*f;

	if (boot_id[0] == '\0' && (f = fopen("/proc/sys/kernel/random/boot_id",
	    "re")) != NULL) {
		if (fgets(boot_id, sizeof(boot_id), f) == NULL)
			boot_id[0] = '\0';
		boot_id[strcspn(boot_id, "\n")] = '\0';
		fclose(f);
	}
	return (boot_id);
}

/*
 * Open (make) state_dir/runs.  It must be a folder of ours that nobody
 * else can write, or run records are neither read nor written (programs
 * then are not adopted after a crash of chainkeeperd, only restarted).
 */
static void
state_runs_open(const char *dir)
{
	struct stat	 st;
	char		*path;

	xasprintf(&path, "%s/runs", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		log_warn("state: mkdir %s", path);
	if ((runs_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		log_warn("state: %s: run records are not kept", path);
	else if (fstat(runs_fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		log_warnx("state: %s must belong to uid %ld and not be group "
		    "or other writable: run records are not kept", path,
		    (long)geteuid());
		close(runs_fd);
		runs_fd = -1;
	}
	free(path);
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
	if (runs_fd != -1)
		close(runs_fd);
	runs_fd = -1;
	runs_failing = 0;
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
	return (state_save());
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

/* Forget a record an older chainkeeperd kept in state.json. */
static void
state_run_legacy_clear(const char *name)
{
	json_t	*p;

	p = json_object_get(json_object_get(state, "programs"), name);
	if (json_object_get(p, "run") == NULL)
		return;
	json_object_del(p, "run");
	state_dirty = 1;
}

/*
 * Record a program's current run in state_dir/runs/NAME, at once: a new
 * file renamed over the old one.  It is not fsync'd: what it protects
 * against is a crash of chainkeeperd, after which the page cache holds it
 * for the next reader; a crash of the machine takes the programs along,
 * and a record from an earlier boot is never adopted (boot_id).  Returns
 * -1 if it could not be written (said once until it works again).
 */
int
state_run_set(const char *name, const struct state_run *r)
{
	char	*text = NULL, tmp[80];
	json_t	*o;
	size_t	 len;
	ssize_t	 n;
	int	 fd = -1, rc = -1;

	state_run_legacy_clear(name);
	if (runs_fd == -1)
		return (-1);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:I,s:I}",
	    "pid", (json_int_t)r->pid,
	    "start_ticks", (json_int_t)r->start_ticks,
	    "start_time", (json_int_t)r->start_time,
	    "restarts", (json_int_t)r->restarts,
	    "uid", (json_int_t)r->uid,
	    "gid", (json_int_t)r->gid,
	    "boot_id", r->boot_id,
	    "exe", r->exe,
	    "exe_dev", (json_int_t)r->exe_dev,
	    "exe_ino", (json_int_t)r->exe_ino);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("state: cannot encode a run record");
	json_decref(o);
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if ((fd = openat(runs_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		goto done;
	if ((n = write(fd, text, len)) != (ssize_t)len) {
		if (n >= 0)
			errno = ENOSPC;
		goto done;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto done;
	}
	fd = -1;
	if (renameat(runs_fd, tmp, runs_fd, name) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1 && !runs_failing)
		log_warn("state: cannot record the run of %s (%s/runs/%s): "
		    "after a crash of chainkeeperd it would be restarted, "
		    "not adopted", name, state_dir, name);
	else if (rc == 0 && runs_failing)
		log_info("state: run records are written again");
	runs_failing = rc == -1;
	if (fd != -1) {
		close(fd);
		unlinkat(runs_fd, tmp, 0);
	}
	free(text);
	return (rc);
}

void
state_run_clear(const char *name)
{
	state_run_legacy_clear(name);
	if (runs_fd != -1 && unlinkat(runs_fd, name, 0) == -1 &&
	    errno != ENOENT)
		log_warn("state: unlink %s/runs/%s", state_dir, name);
}

/* A field of a run record as an integer (0 if missing). */
static json_int_t
run_int(json_t *run, const char *key)
{
	return (json_integer_value(json_object_get(run, key)));
}

/*
 * The recorded run of a program: its file in runs, else what an older
 * chainkeeperd left in state.json (legacy); -1 if there is none.
 */
int
state_run_get(const char *name, struct state_run *r)
{
	json_t		*run = NULL, *owned = NULL;
	json_error_t	 err;
	struct stat	 st;
	char		 buf[4096];
	ssize_t		 n;
	int		 fd;

	memset(r, 0, sizeof(*r));
	if (runs_fd != -1 && (fd = openat(runs_fd, name, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) != -1) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() && st.st_nlink == 1 &&
		    (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			if ((owned = json_loads(buf, 0, &err)) == NULL)
				log_warnx("state: %s/runs/%s: unreadable "
				    "(%s): ignored", state_dir, name, err.text);
		}
		close(fd);
	}
	if (json_is_object(owned))
		run = owned;
	else {
		run = json_object_get(json_object_get(json_object_get(state,
		    "programs"), name), "run");
		if (!json_is_object(run)) {
			json_decref(owned);
			return (-1);
		}
		r->legacy = 1;
	}
	r->pid = (pid_t)run_int(run, "pid");
	r->start_ticks = (unsigned long long)run_int(run, "start_ticks");
	r->start_time = (time_t)run_int(run, "start_time");
	r->restarts = (unsigned int)run_int(run, "restarts");
	if (!r->legacy) {
		r->uid = (uid_t)run_int(run, "uid");
		r->gid = (gid_t)run_int(run, "gid");
		snprintf(r->boot_id, sizeof(r->boot_id), "%s",
		    json_string_value(json_object_get(run, "boot_id")) != NULL ?
		    json_string_value(json_object_get(run, "boot_id")) : "");
		snprintf(r->exe, sizeof(r->exe), "%s",
		    json_string_value(json_object_get(run, "exe")) != NULL ?
		    json_string_value(json_object_get(run, "exe")) : "");
		r->exe_dev = (dev_t)run_int(run, "exe_dev");
		r->exe_ino = (ino_t)run_int(run, "exe_ino");
		/* A record must say whom the process runs as. */
		if (!json_is_integer(json_object_get(run, "uid")) ||
		    !json_is_integer(json_object_get(run, "gid")))
			r->pid = 0;
	}
	json_decref(owned);
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
	int	 fd = -1, dfd, rc = -1;

	if (state_dir == NULL)
		return (0);
	xasprintf(&path, "%s/state.json", state_dir);
	xasprintf(&tmp, "%s/.state.json.tmp", state_dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
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
	if (rename(tmp, path) == -1) {
		state_fail("rename", tmp);
		goto done;
	}
	if (durable && (dfd = open(state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	state_dirty = 0;
	if (state_failing)
		log_info("state: %s written again", path);
	state_failing = 0;
	rc = 0;
done:
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	free(text);
	free(path);
	free(tmp);
	return (rc);
}
