/*
 * Unit tests for program_reload(): programs in every state meet a new
 * configuration, and each name is added, removed, changed or unchanged
 * exactly once.  The harness is test_program.c's: the test owns the libev
 * default loop and reaps its children as chainkeeperd does, and runs the
 * loop until a condition holds or a deadline passes.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "program.h"
#include "proctree.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

#include "harness.h"

static int
group_setup(void **state)
{
	(void)state;
	return (harness_setup("reload"));
}


/* Stop and free every program, leaving no child behind. */
static int
test_teardown(void **state)
{
	struct program	*p;
	int		 r = 0;

	(void)state;
	program_no_restarts = 1;	/* as chainkeeperd shutting down */
	while ((p = TAILQ_FIRST(&programs)) != NULL) {
		program_stop(p);
		if (!run_until(is_stopped, p, 0, WAIT_MS)) {
			r = -1;
			if (p->pid > 0) {
				kill(-p->pgid, SIGKILL);
				kill(p->pid, SIGKILL);
				run_until(reaped, p, 0, WAIT_MS);
			}
		}
		program_free(p);
	}
	return (r);
}


/*
 * Reload the programs from YAML (the lines under "programs:"), as
 * chainkeeperd's daemon_reload does; returns the summary.
 */
static json_t *
reload_yaml(const char *yaml)
{
	struct config	*cfg = load_programs(yaml);
	json_t		*res;

	res = program_reload(cfg);
	config_free(cfg);
	assert_non_null(res);
	return (res);
}

/* How many times name is in the JSON array a. */
static int
count_in(const json_t *a, const char *name)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), name) == 0)
			n++;
	return (n);
}

/*
 * name is reported exactly once, under kind (NULL: unchanged), and exactly
 * one program of that name is left, unless it was removed.
 */
static void
expect_once(const json_t *res, const char *name, const char *kind)
{
	static const char *const kinds[] = { "added", "changed", "removed" };
	struct program	*p;
	size_t		 i;
	int		 n, live = 0;

	for (i = 0; i < 3; i++) {
		n = count_in(json_object_get(res, kinds[i]), name);
		if (kind != NULL && strcmp(kind, kinds[i]) == 0) {
			if (n != 1)
				fail_msg("%s: %d times in %s, want once", name,
				    n, kinds[i]);
		} else if (n != 0)
			fail_msg("%s: in %s, want %s", name, kinds[i],
			    kind != NULL ? kind : "unchanged");
	}
	TAILQ_FOREACH(p, &programs, entry)
		if (strcmp(p->pc->name, name) == 0 && !p->removed)
			live++;
	if (live != (kind != NULL && strcmp(kind, "removed") == 0 ? 0 : 1))
		fail_msg("%s: %d programs of that name after the reload",
		    name, live);
}

/* The unchanged count of a summary. */
static long long
unchanged(const json_t *res)
{
	return ((long long)json_integer_value(json_object_get(res,
	    "unchanged")));
}

/* The bystanders: equal priority, so the list order is insertion order. */
#define OTHERS \
	"  by-one: {command: sleep 60, autostart: false}\n" \
	"  by-two: {command: sleep 60, autostart: false}\n"

/* argv[i] of the program's current settings. */
static const char *
arg(const struct program *p, int i)
{
	return (p->pc->argv[i]);
}

static int
pid_other(const struct program *p, long old)
{
	return (p->state == PROGRAM_RUNNING && p->pid > 0 && p->pid != old);
}

/* RUNNING, changed: restarted with the new settings. */
static void
test_reload_running(void **state)
{
	struct program	*p;
	json_t		*res;
	pid_t		 old;

	(void)state;
	new_programs("  t: {command: sleep 60, startsecs: 0}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	old = p->pid;
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "by-one", NULL);
	expect_once(res, "by-two", NULL);
	assert_int_equal(unchanged(res), 2);
	json_decref(res);
	if (!run_until(pid_other, p, old, WAIT_MS))
		fail_msg("not restarted: %s", trans_text());
	assert_string_equal(arg(p, 1), "61");
}

/* STARTING, changed: restarted with the new settings. */
static void
test_reload_starting(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: sleep 60, startsecs: 30s}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	assert_int_equal(p->state, PROGRAM_STARTING);
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	assert_int_equal(unchanged(res), 2);
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
	assert_string_equal(arg(p, 1), "61");
}

/* BACKOFF (exits at once), fixed: one reload brings it up. */
static void
test_reload_backoff(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: /bin/false, startsecs: 1s, "
	    "startretries: 50, backoff: {initial: 5s, jitter: 0}}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_BACKOFF);
	res = reload_yaml("  t: {command: sleep 60, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "by-one", NULL);
	expect_once(res, "by-two", NULL);
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
	assert_string_equal(arg(p, 0), "sleep");
}

/* FATAL (cannot be run), fixed: one reload starts it (autostart). */
static void
test_reload_fatal(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: /nonexistent/ck-reload, startsecs: 0, "
	    "startretries: 0}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_FATAL);
	res = reload_yaml("  t: {command: sleep 60, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "by-one", NULL);
	expect_once(res, "by-two", NULL);
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
	assert_string_equal(arg(p, 0), "sleep");
}

/* EXITED (done, not restarted), changed: started again (autostart). */
static void
test_reload_exited(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: 'true', startsecs: 0, "
	    "autorestart: false}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_EXITED);
	res = reload_yaml("  t: {command: sleep 60, startsecs: 0, "
	    "autorestart: false}\n" OTHERS);
	expect_once(res, "t", "changed");
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
}

/* A stop by hand, then a change: stays stopped, takes the settings. */
static void
test_reload_handstop(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: sleep 60, startsecs: 0}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	p->admin_stopped = 1;		/* as daemon_admin_stop */
	state_set_admin_stopped("t", 1);
	program_stop(p);
	wait_state(p, PROGRAM_STOPPED);
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "by-one", NULL);
	expect_once(res, "by-two", NULL);
	json_decref(res);
	assert_int_equal(p->state, PROGRAM_STOPPED);
	assert_null(p->next_pc);
	assert_string_equal(arg(p, 1), "61");
	assert_true(p->admin_stopped);
	assert_true(state_admin_stopped("t"));
	run_for(200);
	assert_int_equal(p->state, PROGRAM_STOPPED);
	assert_int_equal(p->runs, 1);
	state_set_admin_stopped("t", 0);
}

/* A hand stop under way when the settings change: it stays a stop. */
static void
test_reload_stopping(void **state)
{
	struct program	*p, *q;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: [sh, -c, 'trap \"\" TERM; sleep 60'], "
	    "startsecs: 0, stopwaitsecs: 30s}\n"
	    "  u: {command: [sh, -c, 'trap \"\" TERM; sleep 60'], "
	    "startsecs: 0, stopwaitsecs: 30s}\n" OTHERS);
	p = program_find("t");
	q = program_find("u");
	program_start(p);
	program_start(q);
	wait_state(p, PROGRAM_RUNNING);
	wait_state(q, PROGRAM_RUNNING);
	run_for(100);			/* the traps are set */
	p->admin_stopped = 1;
	state_set_admin_stopped("t", 1);
	program_stop(p);
	program_restart(q);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	assert_int_equal(q->state, PROGRAM_STOPPING);
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0}\n"
	    "  u: {command: sleep 61, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "u", "changed");
	json_decref(res);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	kill(-p->pgid, SIGKILL);
	kill(-q->pgid, SIGKILL);
	wait_state(p, PROGRAM_STOPPED);
	assert_string_equal(arg(p, 1), "61");
	/* The restart under way ends in a start with the new settings. */
	if (!run_until(runs_reach, q, 2, WAIT_MS))
		fail_msg("u not started again: %s", trans_text());
	wait_state(q, PROGRAM_RUNNING);
	assert_string_equal(arg(q, 0), "sleep");
	run_for(100);
	assert_int_equal(p->state, PROGRAM_STOPPED);
	assert_int_equal(p->runs, 1);
	state_set_admin_stopped("t", 0);
}

/* Waiting for a dependency, changed: still waits, reported once. */
static void
test_reload_waiting(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: sleep 60, startsecs: 0, "
	    "depends_on: by-one}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	assert_true(p->waiting);
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0, "
	    "depends_on: by-one}\n" OTHERS);
	expect_once(res, "t", "changed");
	expect_once(res, "by-one", NULL);
	json_decref(res);
	assert_true(p->waiting);
	assert_int_equal(p->runs, 0);
	assert_string_equal(arg(p, 1), "61");
}

/* A hold (rules paused by hand) survives a change. */
static void
test_reload_held(void **state)
{
	struct program	*p;
	json_t		*res;
	time_t		 until = time(NULL) + 3600;

	(void)state;
	new_programs("  t: {command: /nonexistent/ck-reload, startsecs: 0, "
	    "startretries: 0}\n" OTHERS);
	p = program_find("t");
	p->held_until = until;
	program_start(p);
	wait_state(p, PROGRAM_FATAL);
	res = reload_yaml("  t: {command: sleep 60, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "changed");
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
	assert_int_equal(p->held_until, until);
}

/* Added, removed, changed and unchanged in one reload, each once. */
static void
test_reload_mixed(void **state)
{
	struct program	*p, *q;
	json_t		*res;

	(void)state;
	new_programs("  a: {command: /nonexistent/ck-reload, startretries: 0}\n"
	    "  b: {command: /bin/false, startsecs: 1s, startretries: 50, "
	    "backoff: {initial: 5s, jitter: 0}}\n"
	    "  c: {command: sleep 60, startsecs: 0}\n"
	    "  d: {command: sleep 60, autostart: false}\n");
	program_start(p = program_find("a"));
	program_start(q = program_find("b"));
	program_start(program_find("c"));
	wait_state(p, PROGRAM_FATAL);
	wait_state(q, PROGRAM_BACKOFF);
	res = reload_yaml("  a: {command: sleep 60, startsecs: 0}\n"
	    "  b: {command: sleep 60, startsecs: 0}\n"
	    "  c: {command: sleep 60, startsecs: 0}\n"
	    "  e: {command: sleep 60, startsecs: 0}\n");
	expect_once(res, "a", "changed");
	expect_once(res, "b", "changed");
	expect_once(res, "c", NULL);
	expect_once(res, "d", "removed");
	expect_once(res, "e", "added");
	assert_int_equal(unchanged(res), 1);
	json_decref(res);
	wait_state(p, PROGRAM_RUNNING);
	wait_state(q, PROGRAM_RUNNING);
}

/* Removed while its stop is under way, then back: the same program. */
static void
test_reload_readd(void **state)
{
	struct program	*p;
	json_t		*res;

	(void)state;
	new_programs("  t: {command: [sh, -c, 'trap \"\" TERM; sleep 60'], "
	    "startsecs: 0, stopwaitsecs: 30s}\n" OTHERS);
	p = program_find("t");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	run_for(100);
	res = reload_yaml(OTHERS);
	expect_once(res, "t", "removed");
	json_decref(res);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	res = reload_yaml("  t: {command: sleep 61, startsecs: 0}\n" OTHERS);
	expect_once(res, "t", "added");
	json_decref(res);
	kill(-p->pgid, SIGKILL);
	if (!run_until(runs_reach, p, 2, WAIT_MS))
		fail_msg("t not started again: %s", trans_text());
	wait_state(p, PROGRAM_RUNNING);
	assert_string_equal(arg(p, 1), "61");
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, harness_test_setup, test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reload_running),
		T(test_reload_starting),
		T(test_reload_backoff),
		T(test_reload_fatal),
		T(test_reload_exited),
		T(test_reload_handstop),
		T(test_reload_stopping),
		T(test_reload_waiting),
		T(test_reload_held),
		T(test_reload_mixed),
		T(test_reload_readd),
	};

	config_use_kinds(&config_kinds_all);
	return (cmocka_run_group_tests(tests, group_setup, harness_group_teardown));
}
