/*
 * Unit tests for lib/job.c, on the libev default loop with real children
 * (/bin/sh -c ...): the output captured and cut to its tail, the exit
 * status, a death by signal, the timeout killing the whole process group
 * (a job is done only when the pipe is at EOF, not at the exit, unless
 * what holds the pipe left the group), invalid UTF-8 made valid, a
 * command that does not exist, a failed start, a cancel, the environment
 * helpers and the command parser.  Each test ends with no process of its
 * own left and no zombie.  Every wait runs the loop until a condition
 * holds, bounded by WAIT_MS.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "job.h"
#include "util.h"

#define WAIT_MS		10000	/* bound on any wait */
#define TICK_MS		20

/* What the done callback saw. */
struct outcome {
	int		 ndone;
	int		 status;
	int		 signo;
	int		 timed_out;
	char		 out[8192];
	char		 last[8192];
	int64_t		 ms;		/* when, from now_ms() */
};

static void
done_cb(const struct job_result *r, void *arg)
{
	struct outcome	*o = arg;

	o->ndone++;
	o->status = r->status;
	o->signo = r->signo;
	o->timed_out = r->timed_out;
	snprintf(o->out, sizeof(o->out), "%s", r->out);
	snprintf(o->last, sizeof(o->last), "%s", r->last);
	o->ms = now_ms();
}

/* Counts the ticks of a wait: the loop never blocks for long. */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	*ticks = w->data;

	(void)loop;
	(void)revents;
	(*ticks)++;
}

/* Run the loop until pred(arg) holds; 0, or -1 after WAIT_MS of ticks. */
static int
run_until(int (*pred)(const void *), const void *arg)
{
	ev_timer	 tick;
	int		 ticks = 0, ok;

	ev_timer_init(&tick, tick_cb, TICK_MS / 1000.0, TICK_MS / 1000.0);
	tick.data = &ticks;
	ev_timer_start(EV_DEFAULT, &tick);
	while (!(ok = pred(arg)) && ticks < WAIT_MS / TICK_MS)
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	ev_timer_stop(EV_DEFAULT, &tick);
	return (ok ? 0 : -1);
}

static int
is_done(const void *arg)
{
	const struct outcome	*o = arg;

	return (o->ndone > 0);
}

/* No process is left in the group. */
static int
group_gone(const void *arg)
{
	pid_t	 pgid = *(const pid_t *)arg;

	return (kill(-pgid, 0) == -1 && errno == ESRCH);
}

/* No child at all, not even a zombie (looked at, not reaped). */
static int
no_children(const void *arg)
{
	siginfo_t	 si;

	(void)arg;
	memset(&si, 0, sizeof(si));
	return (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 &&
	    errno == ECHILD);
}

/* Every test ends with no child and no zombie left. */
static int
teardown(void **state)
{
	(void)state;
	if (run_until(no_children, NULL) == -1)
		fail_msg("a child or a zombie is left");
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	return (0);
}

/* Start sh -c script with the environment env (NULL: ours). */
static struct job_proc *
start_env(const char *script, char **env, int64_t timeout_ms, size_t outmax,
    struct outcome *o)
{
	char *const		 argv[] = { "/bin/sh", "-c", (char *)script,
				    NULL };
	struct job_params	 jp;
	struct job_proc		*j;
	const char		*cause = NULL;

	memset(o, 0, sizeof(*o));
	jp = (struct job_params){ .argv = argv, .env = env,
	    .timeout_ms = timeout_ms, .outmax = outmax, .done = done_cb,
	    .arg = o };
	if ((j = job_start(&jp, &cause)) == NULL)
		fail_msg("job_start: %s: %s", cause, strerror(errno));
	assert_int_equal(o->ndone, 0);	/* never from job_start() */
	return (j);
}

/* A script run to its end, and how it must end. */
struct want {
	const char	*script;
	int64_t		 timeout_ms;
	size_t		 outmax;
	int		 status;
	int		 signo;
	int		 timed_out;
	int64_t		 min_ms;	/* not done sooner */
	const char	*out;		/* NULL: not checked */
	const char	*last;		/* NULL: not checked */
};

static const struct want ends[] = {
	{ "echo one; echo two >&2; printf 'three\\n\\n\\n'", 5000, 4096,
	    0, 0, 0, 0, "one\ntwo\nthree", "three" },
	/* stdin is /dev/null: cat ends at once. */
	{ "cat; echo after", 5000, 4096, 0, 0, 0, 0, "after", "after" },
	{ "true", 5000, 4096, 0, 0, 0, 0, "", "" },
	/* Only the tail is kept, outmax - 1 bytes. */
	{ "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo $i; done", 5000,
	    18, 0, 0, 0, 0, "7\n1998\n1999\n2000", "2000" },
	{ "echo failing; exit 3", 5000, 4096, 3, 0, 0, 0, NULL, "failing" },
	{ "echo dying; kill -TERM $$", 5000, 4096, -1, SIGTERM, 0, 0,
	    "dying", NULL },
	/* Exited is not done: the output of a grandchild is waited for. */
	{ "(sleep 0.3; echo late) & echo early", 5000, 4096, 0, 0, 0, 300,
	    "early\nlate", "late" },
	/* Invalid UTF-8 and NUL bytes become '?'. */
	{ "printf 'ok \\377\\376 \\303\\251 \\355\\240\\200 "
	    "a\\000b \\342\\202'", 5000, 4096, 0, 0, 0, 0,
	    "ok ?? \xc3\xa9 ??? a?b ??", NULL },
};

/*
 * At the timeout the group is killed, a grandchild holding the pipe too:
 * the job is done only at EOF.  Each prints its pid, the group's id.
 */
static const struct want timeouts[] = {
	{ "echo $$; sleep 300 & exec sleep 300", 300, 4096, -1, SIGKILL, 1,
	    300, NULL, NULL },
	/* It exits at once; a grandchild keeps the pipe until killed. */
	{ "echo $$; sleep 300 & exit 0", 300, 4096, 0, 0, 1, 300, NULL,
	    NULL },
};

/* Run w->script to its end, check how it ended, and that it is reaped. */
static void
run(const struct want *w, struct outcome *o)
{
	int64_t	 t0 = now_ms();

	start_env(w->script, NULL, w->timeout_ms, w->outmax, o);
	if (run_until(is_done, o) == -1)
		fail_msg("not done: %s", w->script);
	assert_int_equal(o->ndone, 1);
	if (o->status != w->status || o->signo != w->signo ||
	    o->timed_out != w->timed_out || o->ms - t0 < w->min_ms)
		fail_msg("%s: status %d, signal %d, timed out %d, %lld ms",
		    w->script, o->status, o->signo, o->timed_out,
		    (long long)(o->ms - t0));
	if (w->out != NULL)
		assert_string_equal(o->out, w->out);
	if (w->last != NULL)
		assert_string_equal(o->last, w->last);
	if (run_until(no_children, NULL) == -1)
		fail_msg("%s: a child or a zombie is left", w->script);
}

static void
test_ends(void **state)
{
	struct outcome	 o;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		run(&ends[i], &o);
}

/* Nothing of the group is left after a timeout. */
static void
test_timeouts(void **state)
{
	struct outcome	 o;
	size_t		 i;
	pid_t		 pgid;

	(void)state;
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		run(&timeouts[i], &o);
		pgid = (pid_t)atol(o.out);
		assert_true(pgid > 1);
		if (run_until(group_gone, &pgid) == -1)
			fail_msg("process group %ld is still there",
			    (long)pgid);
	}
}

/* No such process, not even a zombie. */
static int
pid_gone(const void *arg)
{
	pid_t	 pid = *(const pid_t *)arg;

	return (kill(pid, 0) == -1 && errno == ESRCH);
}

/*
 * A grandchild that left the group and holds the pipe is not waited for
 * past a grace second after the kill (it is killed here, by the test).
 */
static void
test_timeout_escaped(void **state)
{
	static const struct want w = { "setsid sh -c 'echo $$; exec sleep "
	    "300' & exit 0", 300, 4096, 0, 0, 1, 1300, NULL, NULL };
	struct outcome	 o;
	pid_t		 pid;

	(void)state;
	start_env(w.script, NULL, w.timeout_ms, w.outmax, &o);
	if (run_until(is_done, &o) == -1)
		fail_msg("not done");
	pid = (pid_t)atol(o.out);
	assert_true(pid > 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	if (run_until(pid_gone, &pid) == -1)
		fail_msg("pid %ld is still there", (long)pid);
	assert_int_equal(o.timed_out, 1);
	assert_int_equal(o.status, 0);
}

static void
test_no_such_command(void **state)
{
	char *const		 argv[] = { "ck-no-such-command-here", "x",
				    NULL };
	struct job_params	 jp;
	struct outcome		 o;
	const char		*cause;

	(void)state;
	memset(&o, 0, sizeof(o));
	jp = (struct job_params){ .argv = argv, .timeout_ms = 5000,
	    .outmax = 4096, .done = done_cb, .arg = &o };
	assert_non_null(job_start(&jp, &cause));
	if (run_until(is_done, &o) == -1)
		fail_msg("not done");
	assert_int_equal(o.status, 127);
	assert_int_equal(o.timed_out, 0);
	assert_string_equal(o.last, "cannot run ck-no-such-command-here: "
	    "No such file or directory");
}

/* A job that cannot start says why, and runs nothing. */
static void
test_start_fails(void **state)
{
	char *const		 argv[] = { "/bin/true", NULL };
	char *const		 none[] = { NULL };
	struct job_params	 jp;
	struct outcome		 o;
	struct rlimit		 rl, low;
	struct job_proc		*j;
	const char		*cause = NULL;
	int			 saved;

	(void)state;
	memset(&o, 0, sizeof(o));
	jp = (struct job_params){ .argv = none, .timeout_ms = 5000,
	    .outmax = 4096, .done = done_cb, .arg = &o };
	assert_null(job_start(&jp, &cause));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(cause, "job");
	/* No descriptor left for the pipe. */
	jp.argv = argv;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = 3;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	j = job_start(&jp, &cause);
	saved = errno;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_null(j);
	assert_int_equal(saved, EMFILE);
	assert_string_equal(cause, "pipe");
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	assert_int_equal(o.ndone, 0);
}

/* The pid a script wrote to a file, once it is there. */
struct pidfile {
	char	 path[64];
	pid_t	 pid;
};

static int
pid_written(const void *arg)
{
	struct pidfile	*pf = (struct pidfile *)arg;
	FILE		*f;
	int		 pid;

	if ((f = fopen(pf->path, "r")) == NULL)
		return (0);
	if (fscanf(f, "%d\n", &pid) == 1)
		pf->pid = pid;
	fclose(f);
	return (pf->pid > 0);
}

/* A cancelled job kills its group and says nothing. */
static void
test_cancel(void **state)
{
	struct outcome	 o;
	struct pidfile	 pf;
	struct job_proc	*j;
	char		 script[256];

	(void)state;
	memset(&pf, 0, sizeof(pf));
	snprintf(pf.path, sizeof(pf.path), "/tmp/ck-test-job.%ld",
	    (long)getpid());
	snprintf(script, sizeof(script), "sleep 300 & echo $$ > %s.new && "
	    "mv %s.new %s && exec sleep 300", pf.path, pf.path, pf.path);
	j = start_env(script, NULL, 60000, 4096, &o);
	if (run_until(pid_written, &pf) == -1)
		fail_msg("the script did not start");
	unlink(pf.path);
	job_cancel(j);
	if (run_until(group_gone, &pf.pid) == -1)
		fail_msg("process group %ld is still there", (long)pf.pid);
	assert_int_equal(o.ndone, 0);
	job_cancel(NULL);
}

static void
test_env(void **state)
{
	static const char *const drop[] = { "CK_TEST_DROP=", "CK_TEST_FAM_",
	    NULL };
	struct outcome	 o;
	char		**env;

	(void)state;
	setenv("CK_TEST_DROP", "1", 1);
	setenv("CK_TEST_DROPNOT", "2", 1);
	setenv("CK_TEST_FAM_A", "3", 1);
	setenv("CK_TEST_SET", "old", 1);
	env = job_env(drop);
	job_setenv(&env, "CK_TEST_SET", "new");
	job_setenv(&env, "CK_TEST_ADD", "added");
	start_env("echo ${CK_TEST_DROP-unset} ${CK_TEST_DROPNOT-unset} "
	    "${CK_TEST_FAM_A-unset} $CK_TEST_SET $CK_TEST_ADD "
	    "$(env | grep -c '^CK_TEST_SET=')", env, 5000, 4096, &o);
	free_argv(env);
	if (run_until(is_done, &o) == -1)
		fail_msg("not done");
	assert_string_equal(o.out, "unset 2 unset new added 1");
	unsetenv("CK_TEST_DROP");
	unsetenv("CK_TEST_DROPNOT");
	unsetenv("CK_TEST_FAM_A");
	unsetenv("CK_TEST_SET");
}

static void
test_argv(void **state)
{
	json_t	*j;
	char	**argv, *err = NULL;

	(void)state;
	j = json_string("sh -c 'echo a b'");
	argv = job_argv(j, "what", &err);
	json_decref(j);
	assert_non_null(argv);
	assert_string_equal(argv[0], "sh");
	assert_string_equal(argv[2], "echo a b");
	assert_null(argv[3]);
	free_argv(argv);
	j = json_pack("[s,s]", "x", "y z");
	argv = job_argv(j, "what", &err);
	json_decref(j);
	assert_non_null(argv);
	assert_string_equal(argv[1], "y z");
	assert_null(argv[2]);
	free_argv(argv);
	j = json_pack("[s,i]", "x", 1);
	assert_null(job_argv(j, "what", &err));
	json_decref(j);
	assert_string_equal(err, "command must be a list of strings");
	free(err);
	j = json_array();
	assert_null(job_argv(j, "what", &err));
	json_decref(j);
	assert_string_equal(err, "what");
	free(err);
	assert_null(job_argv(NULL, "what", &err));
	assert_string_equal(err, "what");
	free(err);
	j = json_string("'open");
	assert_null(job_argv(j, "what", &err));
	json_decref(j);
	assert_true(strncmp(err, "command: ", 9) == 0);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ends, teardown),
		cmocka_unit_test_teardown(test_timeouts, teardown),
		cmocka_unit_test_teardown(test_timeout_escaped, teardown),
		cmocka_unit_test_teardown(test_no_such_command, teardown),
		cmocka_unit_test_teardown(test_start_fails, teardown),
		cmocka_unit_test_teardown(test_cancel, teardown),
		cmocka_unit_test_teardown(test_env, teardown),
		cmocka_unit_test(test_argv),
	};

	signal(SIGPIPE, SIG_IGN);
	/* Orphaned grandchildren come to us, to be reaped by libev. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		perror("PR_SET_CHILD_SUBREAPER");
		return (1);
	}
	if (ev_default_loop(EVFLAG_AUTO) == NULL) {
		fprintf(stderr, "no libev loop\n");
		return (1);
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
