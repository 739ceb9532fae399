/*
 * Unit tests for supervisor/program.c: the backoff arithmetic, and the
 * state machine driven for real.  The test owns the libev default loop and
 * an ev_child watcher on pid 0 that hands exits to program_child_exited(),
 * as chainkeeperd's child_cb does; it starts short real commands and runs
 * the loop, one iteration at a time, until a condition holds or a deadline
 * passes.  Every state change is recorded through program_changed_hook so
 * the exact sequence of states can be checked.
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

static int		 fork_fails;	/* fork() fails with EAGAIN */
static int		 pidfd_fails;	/* pidfd_open() fails with ENOSYS */

/* Linked with --wrap: the host's resources run out on demand. */
pid_t	__real_fork(void);
pid_t	__wrap_fork(void);
int	__real_pidfd_open(pid_t, unsigned int);
int	__wrap_pidfd_open(pid_t, unsigned int);

pid_t
__wrap_fork(void)
{
	if (fork_fails) {
		errno = EAGAIN;
		return (-1);
	}
	return (__real_fork());
}

int
__wrap_pidfd_open(pid_t pid, unsigned int flags)
{
	if (pidfd_fails) {
		errno = ENOSYS;
		return (-1);
	}
	return (__real_pidfd_open(pid, flags));
}

static int
group_setup(void **state)
{
	(void)state;
	return (harness_setup("program"));
}

static int
restarts_reach(const struct program *p, long n)
{
	return (p->restarts >= (unsigned int)n);
}

/* The recorded states, exactly (n = -1: only the first ones). */
static void
expect_trans(const int *want, int n, int prefix)
{
	int	 i;

	if (ntrans < n || (!prefix && ntrans != n))
		fail_msg("%d state changes, want %d: %s", ntrans, n,
		    trans_text());
	for (i = 0; i < n; i++)
		if (trans[i].state != want[i])
			fail_msg("change %d is %s, want %s: %s", i,
			    program_state_name(trans[i].state),
			    program_state_name(want[i]), trans_text());
}

static int
trans_has(int st)
{
	int	 i;

	for (i = 0; i < ntrans; i++)
		if (trans[i].state == st)
			return (1);
	return (0);
}


static struct program *new_program(const char *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A program "name" with settings given as a YAML flow map. */
static struct program *
new_program(const char *name, const char *fmt, ...)
{
	struct program	*p;
	char		*body, *yaml;
	va_list		 ap;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) == -1)
		fail_msg("vasprintf");
	va_end(ap);
	xasprintf(&yaml, "  %s: %s", name, body);
	free(body);
	assert_int_equal(new_programs(yaml), 1);
	free(yaml);
	assert_non_null(p = program_find(name));
	return (p);
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

static void
test_backoff_delay(void **state)
{
	struct backoff_config	 bc = { 1000, 60000, 0 };

	(void)state;
	/* Exponential from initial, doubling per attempt. */
	assert_int_equal(program_backoff_delay(&bc, 1, 0), 1000);
	assert_int_equal(program_backoff_delay(&bc, 2, 0), 2000);
	assert_int_equal(program_backoff_delay(&bc, 3, 0), 4000);
	assert_int_equal(program_backoff_delay(&bc, 6, 0), 32000);
	/* Capped at max. */
	assert_int_equal(program_backoff_delay(&bc, 7, 0), 60000);
	assert_int_equal(program_backoff_delay(&bc, 100, 0), 60000);
	assert_int_equal(program_backoff_delay(&bc, INT_MAX, UINT32_MAX),
	    60000);
	/* n < 1 is the first attempt. */
	assert_int_equal(program_backoff_delay(&bc, 0, 0), 1000);
	assert_int_equal(program_backoff_delay(&bc, -5, 0), 1000);
	/* Without jitter rnd does not matter. */
	assert_int_equal(program_backoff_delay(&bc, 2, UINT32_MAX), 2000);
	/* initial == max: constant. */
	bc.initial_ms = bc.max_ms = 500;
	assert_int_equal(program_backoff_delay(&bc, 1, 0), 500);
	assert_int_equal(program_backoff_delay(&bc, 9, 0), 500);
	/* Zero delay stays zero. */
	bc.initial_ms = bc.max_ms = 0;
	assert_int_equal(program_backoff_delay(&bc, 5, 0), 0);
	/* Long delays do not overflow. */
	bc.initial_ms = 3600000;
	bc.max_ms = 86400000;
	assert_int_equal(program_backoff_delay(&bc, 1000, 0), 86400000);
}

static void
test_backoff_jitter(void **state)
{
	struct backoff_config	 bc = { 1000, 60000, 10 };
	struct backoff_config	 nojitter = { 1000, 60000, 0 };
	int64_t			 d, base, prev;
	uint64_t		 r;
	int			 n;

	(void)state;
	/* rnd 0 is the low end, UINT32_MAX the high end, middle no change. */
	assert_int_equal(program_backoff_delay(&bc, 1, 0), 900);
	assert_int_equal(program_backoff_delay(&bc, 1, UINT32_MAX), 1100);
	d = program_backoff_delay(&bc, 1, UINT32_MAX / 2 + 1);
	assert_in_range(d, 999, 1001);
	assert_int_equal(program_backoff_delay(&bc, 3, 0), 3600);
	assert_int_equal(program_backoff_delay(&bc, 3, UINT32_MAX), 4400);
	/* Jitter applies after the cap. */
	assert_int_equal(program_backoff_delay(&bc, 50, 0), 54000);
	assert_int_equal(program_backoff_delay(&bc, 50, UINT32_MAX), 66000);
	/* Every rnd stays within the bounds, monotonic in rnd. */
	for (n = 1; n <= 8; n++) {
		base = program_backoff_delay(&nojitter, n, 0);
		prev = 0;
		for (r = 0; r <= UINT32_MAX; r += 0x1000001) {
			d = program_backoff_delay(&bc, n, (unsigned int)r);
			if (d < base - base / 10 || d > base + base / 10)
				fail_msg("n %d rnd %llu: %lld not %lld+-10%%",
				    n, (unsigned long long)r, (long long)d,
				    (long long)base);
			assert_true(d >= prev);
			prev = d;
		}
	}
	/* 100% jitter: from nothing to twice the delay. */
	bc.jitter_pct = 100;
	assert_int_equal(program_backoff_delay(&bc, 1, 0), 0);
	assert_int_equal(program_backoff_delay(&bc, 1, UINT32_MAX), 2000);
}

/* STOPPED -> STARTING at once, RUNNING after startsecs, then a stop. */
static void
test_startsecs(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_STOPPING, PROGRAM_STOPPED };
	struct program	*p;
	pid_t		 pid;
	int64_t		 t0, up;

	(void)state;
	p = new_program("sleeper", "{command: sleep 5, startsecs: 300ms}");
	assert_int_equal(p->state, PROGRAM_STOPPED);
	assert_int_equal(p->pid, 0);
	ev_now_update(EV_DEFAULT);
	t0 = now_ms();
	program_start(p);
	/* The start is synchronous up to STARTING; nothing else yet. */
	assert_int_equal(p->state, PROGRAM_STARTING);
	assert_true(p->pid > 0);
	assert_int_equal(p->runs, 1);
	assert_int_equal(ntrans, 1);
	pid = p->pid;
	assert_int_equal(kill(pid, 0), 0);
	/* Starting again changes nothing. */
	program_start(p);
	assert_int_equal(p->pid, pid);
	assert_int_equal(ntrans, 1);

	wait_state(p, PROGRAM_RUNNING);
	up = now_ms() - t0;
	if (up < 295)
		fail_msg("RUNNING after %lld ms, before startsecs 300ms",
		    (long long)up);
	assert_int_equal(p->pid, pid);
	assert_int_equal(p->exec_ok, 1);
	assert_int_equal(p->retries, 0);

	program_stop(p);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	wait_state(p, PROGRAM_STOPPED);
	expect_trans(want, 4, 0);
	assert_int_equal(p->pid, 0);
	assert_true(p->exit_known);
	assert_true(WIFSIGNALED(p->exit_status));
	assert_int_equal(WTERMSIG(p->exit_status), SIGTERM);
	/* libev reaped it: the pid is gone. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(p->restarts, 0);
}

/* startsecs 0: RUNNING as soon as exec succeeded, no timer. */
static void
test_startsecs_zero(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING };
	struct program	*p;

	(void)state;
	p = new_program("quick", "{command: [sleep, '5'], startsecs: 0}");
	program_start(p);
	assert_int_equal(p->state, PROGRAM_STARTING);
	wait_state(p, PROGRAM_RUNNING);
	assert_int_equal(p->exec_ok, 1);
	assert_true(p->pid > 0);
	assert_false(ev_is_active(&p->timer));
	if (now_ms() - p->start_ms > 2000)
		fail_msg("startsecs 0 took %lld ms",
		    (long long)(now_ms() - p->start_ms));
	expect_trans(want, 2, 0);
}

/* Wait, without reaping it, until pid has exited. */
static int
zombie(pid_t pid, int64_t ms)
{
	struct timespec	 ts = { 0, 1000000 };
	int64_t		 deadline = now_ms() + ms;
	siginfo_t	 si;

	do {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == -1)
			return (0);
		if (si.si_pid == pid)
			return (1);
		nanosleep(&ts, NULL);
	} while (now_ms() < deadline);
	return (0);
}

/*
 * startsecs 0 and a program that exits at once: exec succeeded, so it
 * was RUNNING and the exit is judged by exitcodes (EXITED), whichever of
 * the exec pipe's EOF and the child's exit the loop sees first.  In the
 * second half of the runs the loop only runs once the child is a zombie
 * (waited for with WNOWAIT, so libev still reaps it): both events are
 * then pending in one iteration, and libev reports the exit first.
 */
static void
test_startsecs_zero_quick_exit(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED };
	struct program	*p;
	int		 i;

	(void)state;
	p = new_program("blink", "{command: /bin/true, startsecs: 0, "
	    "autorestart: unexpected}");
	for (i = 0; i < 20; i++) {
		ntrans = 0;
		program_start(p);
		if (i >= 10 && !zombie(p->pid, WAIT_MS))
			fail_msg("run %d: /bin/true did not exit", i);
		if (!run_until(reaped, p, 0, WAIT_MS))
			fail_msg("run %d: /bin/true did not exit", i);
		if (p->state != PROGRAM_EXITED)
			fail_msg("run %d: %s, want EXITED: %s", i,
			    program_state_name(p->state), trans_text());
		expect_trans(want, 3, 0);
		assert_true(WIFEXITED(p->exit_status));
		assert_int_equal(WEXITSTATUS(p->exit_status), 0);
	}
	assert_int_equal(p->runs, 20);
	assert_int_equal(p->restarts, 0);
}

/* Exits before startsecs: BACKOFF, retried, FATAL after startretries+1. */
static void
test_fatal_after_retries(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_BACKOFF,
	    PROGRAM_STARTING, PROGRAM_BACKOFF, PROGRAM_STARTING,
	    PROGRAM_FATAL };
	struct program	*p;
	json_t		*j, *le;

	(void)state;
	p = new_program("flop", "{command: /bin/false, startsecs: 1s, "
	    "startretries: 2, backoff: {initial: 40ms, max: 1s, jitter: 0}}");
	program_start(p);
	wait_state(p, PROGRAM_FATAL);
	expect_trans(want, 6, 0);
	assert_int_equal(p->runs, 3);
	assert_int_equal(p->pid, 0);
	assert_int_equal(p->restarts, 0);
	assert_null(p->spawnerr);
	assert_true(WIFEXITED(p->exit_status));
	assert_int_equal(WEXITSTATUS(p->exit_status), 1);
	/* The waits grow: 40 ms, then 80 ms. */
	if (trans[2].ms - trans[1].ms < 35)
		fail_msg("first backoff %lld ms < 40",
		    (long long)(trans[2].ms - trans[1].ms));
	if (trans[4].ms - trans[3].ms < 75)
		fail_msg("second backoff %lld ms < 80",
		    (long long)(trans[4].ms - trans[3].ms));
	assert_false(ev_is_active(&p->timer));

	j = program_status_json(p);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "FATAL");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 0);
	le = json_object_get(j, "last_exit");
	assert_true(json_is_object(le));
	assert_int_equal(json_integer_value(json_object_get(le, "code")), 1);
	assert_true(json_is_null(json_object_get(le, "signal")));
	assert_string_equal(json_string_value(json_object_get(le, "text")),
	    "exit status 1");
	json_decref(j);

	/* FATAL stays FATAL. */
	ntrans = 0;
	run_for(150);
	assert_int_equal(ntrans, 0);
	assert_int_equal(p->runs, 3);

	/* A start by hand begins afresh. */
	program_start(p);
	assert_int_equal(p->state, PROGRAM_STARTING);
	assert_int_equal(p->retries, 0);
	wait_state(p, PROGRAM_FATAL);
	assert_int_equal(p->runs, 6);
}

/* startretries 0: one attempt only. */
static void
test_fatal_no_retries(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_FATAL };
	struct program	*p;

	(void)state;
	p = new_program("once", "{command: [sh, -c, 'exit 3'], startsecs: 1s, "
	    "startretries: 0}");
	program_start(p);
	wait_state(p, PROGRAM_FATAL);
	expect_trans(want, 2, 0);
	assert_int_equal(p->runs, 1);
	assert_int_equal(WEXITSTATUS(p->exit_status), 3);
}

/* A command that cannot be run: the error is kept and shown. */
static void
test_spawn_error(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_BACKOFF,
	    PROGRAM_STARTING, PROGRAM_FATAL };
	static const char *const startsecs[] = { "1s", "0" };
	struct program	*p;
	json_t		*j;
	const char	*desc;
	size_t		 k;
	char		 name[32];

	(void)state;
	for (k = 0; k < 2; k++) {
		ntrans = 0;
		snprintf(name, sizeof(name), "ghost%zu", k);
		p = new_program(name, "{command: /nonexistent/ck-no-such-cmd "
		    "-x, startsecs: %s, startretries: 1, backoff: {initial: "
		    "20ms, jitter: 0}}", startsecs[k]);
		program_start(p);
		wait_state(p, PROGRAM_FATAL);
		/* Never RUNNING, even with startsecs 0. */
		expect_trans(want, 4, 0);
		assert_int_equal(p->runs, 2);
		assert_non_null(p->spawnerr);
		if (strstr(p->spawnerr, "/nonexistent/ck-no-such-cmd") ==
		    NULL || strstr(p->spawnerr, strerror(ENOENT)) == NULL)
			fail_msg("spawnerr: %s", p->spawnerr);
		/* The error was known when it went into BACKOFF. */
		assert_true(trans[1].spawnerr);
		assert_int_equal(WEXITSTATUS(p->exit_status), 127);
		j = program_status_json(p);
		desc = json_string_value(json_object_get(j, "description"));
		assert_non_null(desc);
		if (strstr(desc, "/nonexistent/ck-no-such-cmd") == NULL)
			fail_msg("description: %s", desc);
		json_decref(j);
	}
}

static int
resfails_reach(const struct program *p, long n)
{
	return (p->resfails >= n);
}

/*
 * fork failing with EAGAIN (a process limit) is not a failed start: the
 * program stays in BACKOFF past startretries, never FATAL, runs nothing,
 * and starts by itself once fork works again.
 */
static void
test_fork_eagain(void **state)
{
	struct program	*p;
	int		 i;

	(void)state;
	p = new_program("starved", "{command: sleep 30, startsecs: 0, "
	    "startretries: 1, backoff: {initial: 10ms, max: 20ms, "
	    "jitter: 0}}");
	fork_fails = 1;
	program_start(p);
	if (!run_until(resfails_reach, p, 6, WAIT_MS)) {
		fork_fails = 0;
		fail_msg("%d fork attempts; seen: %s", p->resfails,
		    trans_text());
	}
	fork_fails = 0;
	assert_int_equal(p->state, PROGRAM_BACKOFF);
	assert_false(trans_has(PROGRAM_FATAL));
	assert_false(trans_has(PROGRAM_STARTING));
	assert_int_equal(p->runs, 0);
	assert_int_equal(p->retries, 0);
	assert_non_null(p->spawnerr);
	if (strstr(p->spawnerr, strerror(EAGAIN)) == NULL)
		fail_msg("spawnerr: %s", p->spawnerr);
	for (i = 0; i < ntrans; i++)
		assert_int_equal(trans[i].state, PROGRAM_BACKOFF);
	wait_state(p, PROGRAM_RUNNING);
	assert_int_equal(p->runs, 1);
	assert_int_equal(p->resfails, 0);
	assert_true(p->pid > 0);
}

/* A `sleep 30` whose parent has exited: not a child of this process. */
static pid_t
orphan(void)
{
	int	 fd[2];
	pid_t	 c, g = 0;

	if (pipe(fd) == -1)
		fail_msg("pipe: %s", strerror(errno));
	if ((c = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (c == 0) {
		if ((g = fork()) == 0) {
			close(fd[0]);
			close(fd[1]);
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
		if (write(fd[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], &g, sizeof(g)) != (ssize_t)sizeof(g))
		g = 0;
	close(fd[0]);
	waitpid(c, NULL, 0);
	if (g <= 0)
		fail_msg("no grandchild");
	return (g);
}

/*
 * An adopted process that is not our child: its exit is seen through a
 * pidfd, or, when pidfd_open fails, by polling its start ticks; it is
 * adopted either way (never started a second time).
 */
static void
test_adopt_nonchild(void **state)
{
	struct program	*p;
	pid_t		 g;
	int		 k;

	(void)state;
	for (k = 0; k < 2; k++) {
		ntrans = 0;
		p = new_program(k == 0 ? "adopted0" : "adopted1",
		    "{command: sleep 30, autorestart: false}");
		g = orphan();
		pidfd_fails = k;
		if (program_adopt(p, g, proctree_start_ticks(g), 0, 0) == -1) {
			pidfd_fails = 0;
			kill(g, SIGKILL);
			fail_msg("pid %ld not adopted (pidfd_open %s)",
			    (long)g, k ? "failing" : "working");
		}
		pidfd_fails = 0;
		assert_int_equal(p->state, PROGRAM_RUNNING);
		assert_int_equal(p->pid, g);
		if (k == 0)
			assert_true(p->pidfd != -1);
		else
			assert_true(p->pidfd == -1 &&
			    ev_is_active(&p->pidpoll));
		kill(g, SIGKILL);
		wait_state(p, PROGRAM_EXITED);
		assert_int_equal(p->pid, 0);
		assert_int_equal(p->runs, 1);
		assert_false(ev_is_active(&p->pidpoll));
		assert_int_equal(p->pidfd, -1);
	}
	/* A recycled pid (other start ticks) is not adopted. */
	p = program_find("adopted0");
	g = orphan();
	assert_int_equal(program_adopt(p, g, proctree_start_ticks(g) + 1, 0,
	    0), -1);
	kill(g, SIGKILL);
}

/* How a RUNNING program's exit is judged, by exitcodes and autorestart. */
static void
test_exit_policy(void **state)
{
	static const struct {
		int		 code;
		const char	*exitcodes;
		const char	*autorestart;
		int		 restart;
	} cases[] = {
		{ 0, "[0]", "unexpected", 0 },
		{ 2, "\"0,2\"", "unexpected", 0 },
		{ 2, "[0]", "false", 0 },
		{ 0, "[0]", "true", 1 },
		{ 2, "[0]", "unexpected", 1 },
		{ 0, "[2]", "unexpected", 1 },
	};
	static const int want_stay[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED };
	static const int want_restart[] = { PROGRAM_STARTING,
	    PROGRAM_RUNNING, PROGRAM_EXITED, PROGRAM_STARTING };
	struct program	*p;
	size_t		 i;
	char		 name[32];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ntrans = 0;
		snprintf(name, sizeof(name), "exit%zu", i);
		p = new_program(name, "{command: [sh, -c, 'sleep 0.2; exit "
		    "%d'], startsecs: 50ms, exitcodes: %s, autorestart: %s, "
		    "backoff: {initial: 5s, max: 10s}}", cases[i].code,
		    cases[i].exitcodes, cases[i].autorestart);
		program_start(p);
		if (!cases[i].restart) {
			if (!run_until(reaped, p, 0, WAIT_MS))
				fail_msg("case %zu: no exit", i);
			/* It stays EXITED. */
			run_for(200);
			if (p->state != PROGRAM_EXITED || p->runs != 1)
				fail_msg("case %zu: %s after %u runs: %s", i,
				    program_state_name(p->state), p->runs,
				    trans_text());
			expect_trans(want_stay, 3, 0);
			assert_int_equal(p->restarts, 0);
		} else {
			run_until(runs_reach, p, 2, WAIT_MS);
			if (p->runs != 2)
				fail_msg("case %zu: not restarted: %s", i,
				    trans_text());
			/* At once: the first crash has no backoff. */
			expect_trans(want_restart, 4, 1);
			assert_int_equal(p->restarts, 1);
			assert_int_equal(p->crashes, 1);
		}
		assert_true(WIFEXITED(p->exit_status));
		assert_int_equal(WEXITSTATUS(p->exit_status), cases[i].code);
		program_stop(p);
		if (!run_until(is_stopped, p, 0, WAIT_MS))
			fail_msg("case %zu: not stopped: %s", i, trans_text());
		program_free(p);
	}
}

/* Unexpected exits: restarted at once, then with backoff; counted. */
static void
test_restart_counter(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED, PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED, PROGRAM_BACKOFF, PROGRAM_STARTING,
	    PROGRAM_RUNNING, PROGRAM_EXITED, PROGRAM_BACKOFF,
	    PROGRAM_STARTING };
	struct program	*p;
	json_t		*j;

	(void)state;
	p = new_program("crashy", "{command: [sh, -c, 'sleep 0.15; exit 2'], "
	    "startsecs: 50ms, backoff: {initial: 30ms, max: 5s, jitter: 0}}");
	program_start(p);
	if (!run_until(restarts_reach, p, 3, WAIT_MS) ||
	    !run_until(runs_reach, p, 4, WAIT_MS))
		fail_msg("restarts %u: %s", p->restarts, trans_text());
	expect_trans(want, 12, 1);
	assert_int_equal(p->restarts, 3);
	assert_int_equal(p->runs, 4);
	/* The second wait is twice the first. */
	if (trans[11].ms - trans[10].ms < 55)
		fail_msg("second backoff %lld ms < 60",
		    (long long)(trans[11].ms - trans[10].ms));
	j = program_status_json(p);
	assert_int_equal(json_integer_value(json_object_get(j, "restarts")),
	    3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "last_exit"), "code")), 2);
	json_decref(j);
}

/* A run as long as backoff.max forgives earlier crashes: no backoff. */
static void
test_restart_forgiven(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED, PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED, PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED, PROGRAM_STARTING };
	struct program	*p;

	(void)state;
	p = new_program("steady", "{command: [sh, -c, 'sleep 0.15; exit 2'], "
	    "startsecs: 20ms, backoff: {initial: 100ms, max: 100ms}}");
	program_start(p);
	if (!run_until(restarts_reach, p, 3, WAIT_MS))
		fail_msg("restarts %u: %s", p->restarts, trans_text());
	expect_trans(want, 10, 1);
	assert_false(trans_has(PROGRAM_BACKOFF));
}

/* While the daemon shuts down, an exit is not restarted. */
static void
test_no_restart_when_shutting_down(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_EXITED };
	struct program	*p;

	(void)state;
	p = new_program("late", "{command: [sh, -c, 'sleep 1; exit 1'], "
	    "startsecs: 20ms, autorestart: true}");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	program_no_restarts = 1;
	if (!run_until(reaped, p, 0, WAIT_MS))
		fail_msg("no exit: %s", trans_text());
	run_for(100);
	expect_trans(want, 3, 0);
	assert_int_equal(p->restarts, 0);
}

/* Stop while STARTING: the startsecs timer must not make it RUNNING. */
static void
test_stop_starting(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_STOPPING,
	    PROGRAM_STOPPED };
	struct program	*p;

	(void)state;
	p = new_program("slowstart", "{command: sleep 5, startsecs: 10s}");
	program_start(p);
	run_for(50);
	assert_int_equal(p->state, PROGRAM_STARTING);
	program_stop(p);
	wait_state(p, PROGRAM_STOPPED);
	expect_trans(want, 3, 0);
	assert_false(ev_is_active(&p->timer));
}

/* A program that ignores its stop signal is killed after stopwaitsecs. */
static void
test_stop_escalates(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_STOPPING, PROGRAM_STOPPED };
	struct program	*p;
	int64_t		 t0, took;

	(void)state;
	/* SIGCONT does not end sleep: only the SIGKILL will. */
	p = new_program("stubborn", "{command: sleep 5, startsecs: 0, "
	    "stopsignal: CONT, stopwaitsecs: 300ms}");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	ev_now_update(EV_DEFAULT);
	t0 = now_ms();
	program_stop(p);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	run_for(100);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	assert_true(p->pid > 0);
	wait_state(p, PROGRAM_STOPPED);
	took = now_ms() - t0;
	if (took < 290)
		fail_msg("stopped after %lld ms, before stopwaitsecs",
		    (long long)took);
	expect_trans(want, 4, 0);
	assert_true(p->killed);
	assert_true(WIFSIGNALED(p->exit_status));
	assert_int_equal(WTERMSIG(p->exit_status), SIGKILL);
}

/* Stop in BACKOFF: STOPPED at once, and the retry never comes. */
static void
test_stop_backoff(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_BACKOFF,
	    PROGRAM_STOPPED };
	struct program	*p;

	(void)state;
	p = new_program("waiter", "{command: /bin/false, startsecs: 1s, "
	    "backoff: {initial: 300ms, jitter: 0}}");
	program_start(p);
	wait_state(p, PROGRAM_BACKOFF);
	assert_true(ev_is_active(&p->timer));
	program_stop(p);
	assert_int_equal(p->state, PROGRAM_STOPPED);
	assert_false(ev_is_active(&p->timer));
	run_for(400);
	expect_trans(want, 3, 0);
	assert_int_equal(p->runs, 1);
}

/* restart: stop, then start again with a new pid. */
static void
test_restart(void **state)
{
	static const int want[] = { PROGRAM_STARTING, PROGRAM_RUNNING,
	    PROGRAM_STOPPING, PROGRAM_STOPPED, PROGRAM_STARTING,
	    PROGRAM_RUNNING };
	struct program	*p;
	pid_t		 old;

	(void)state;
	p = new_program("again", "{command: sleep 5, startsecs: 0}");
	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	old = p->pid;
	program_restart(p);
	assert_int_equal(p->state, PROGRAM_STOPPING);
	if (!run_until(runs_reach, p, 2, WAIT_MS))
		fail_msg("not started again: %s", trans_text());
	wait_state(p, PROGRAM_RUNNING);
	expect_trans(want, 6, 0);
	assert_true(p->pid > 0);
	assert_true(p->pid != old);
	assert_int_equal(p->restarts, 0);	/* by hand, not automatic */
}

/* depends_on: a start waits until the dependency is RUNNING. */
static void
test_depends_on(void **state)
{
	struct program	*a, *b;

	(void)state;
	assert_int_equal(new_programs(
	    "  dep-b: {command: sleep 5, startsecs: 0, depends_on: dep-a}\n"
	    "  dep-a: {command: sleep 5, startsecs: 100ms}\n"), 2);
	assert_non_null(a = program_find("dep-a"));
	assert_non_null(b = program_find("dep-b"));
	program_start(b);
	assert_int_equal(b->state, PROGRAM_STOPPED);
	assert_true(b->waiting);
	assert_int_equal(b->runs, 0);
	program_start(a);
	wait_state(a, PROGRAM_RUNNING);
	assert_int_equal(b->runs, 0);
	/* chainkeeperd calls this once per loop iteration after changes. */
	program_deps_changed();
	assert_int_equal(b->state, PROGRAM_STARTING);
	assert_false(b->waiting);
	wait_state(b, PROGRAM_RUNNING);
}

/* program_status_json: the fields chainkeeperctl status --json shows. */
static void
test_status_json(void **state)
{
	struct program	*p;
	json_t		*j, *le;
	pid_t		 pid;
	time_t		 t0 = time(NULL);

	(void)state;
	p = new_program("stat", "{command: sleep 5, startsecs: 0}");
	j = program_status_json(p);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "stat");
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "STOPPED");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")),
	    0);
	assert_int_equal(json_integer_value(json_object_get(j, "restarts")),
	    0);
	assert_true(json_is_null(json_object_get(j, "last_exit")));
	assert_null(json_object_get(j, "start_time"));
	json_decref(j);

	program_start(p);
	wait_state(p, PROGRAM_RUNNING);
	pid = p->pid;
	/* Pretend it has been up for 5.5 s. */
	p->start_ms -= 5500;
	j = program_status_json(p);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "RUNNING");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), pid);
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")),
	    5);
	assert_true(json_is_integer(json_object_get(j, "start_time")));
	assert_in_range(json_integer_value(json_object_get(j, "start_time")),
	    t0 - 1, time(NULL) + 1);
	json_decref(j);

	program_stop(p);
	wait_state(p, PROGRAM_STOPPED);
	j = program_status_json(p);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "STOPPED");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")),
	    0);
	le = json_object_get(j, "last_exit");
	assert_true(json_is_object(le));
	assert_true(json_is_null(json_object_get(le, "code")));
	assert_string_equal(json_string_value(json_object_get(le, "signal")),
	    "TERM");
	assert_string_equal(json_string_value(json_object_get(le, "text")),
	    "killed by SIGTERM");
	assert_in_range(json_integer_value(json_object_get(le, "time")),
	    t0 - 1, time(NULL) + 1);
	json_decref(j);
}

/* Whether file path holds text. */
static int
file_has(const char *path, const char *text)
{
	char	 buf[4096];
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return (strstr(buf, text) != NULL);
}

static int
logs_written(const struct program *p, long arg)
{
	char	 path[1100];

	(void)p;
	(void)arg;
	snprintf(path, sizeof(path), "%s/state/logs/talker.out.log", tmpdir);
	if (!file_has(path, "to-stdout\n"))
		return (0);
	snprintf(path, sizeof(path), "%s/state/logs/talker.err.log", tmpdir);
	return (file_has(path, "to-stderr\n"));
}

/* Output goes to the AUTO log files under state_dir/logs. */
static void
test_output_capture(void **state)
{
	struct program	*p;
	char		 path[1100];

	(void)state;
	p = new_program("talker", "{command: [sh, -c, 'echo to-stdout; "
	    "echo to-stderr >&2; exec sleep 5'], startsecs: 0}");
	program_start(p);
	if (!run_until(logs_written, p, 0, WAIT_MS))
		fail_msg("output not captured in %s/state/logs", tmpdir);
	snprintf(path, sizeof(path), "%s/state/logs/talker.out.log", tmpdir);
	assert_false(file_has(path, "to-stderr"));
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, harness_test_setup, test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_delay),
		cmocka_unit_test(test_backoff_jitter),
		T(test_startsecs),
		T(test_startsecs_zero),
		T(test_startsecs_zero_quick_exit),
		T(test_fatal_after_retries),
		T(test_fatal_no_retries),
		T(test_spawn_error),
		T(test_fork_eagain),
		T(test_adopt_nonchild),
		T(test_exit_policy),
		T(test_restart_counter),
		T(test_restart_forgiven),
		T(test_no_restart_when_shutting_down),
		T(test_stop_starting),
		T(test_stop_escalates),
		T(test_stop_backoff),
		T(test_restart),
		T(test_depends_on),
		T(test_status_json),
		T(test_output_capture),
	};

	config_use_kinds(&config_kinds_all);
	return (cmocka_run_group_tests(tests, group_setup, harness_group_teardown));
}
