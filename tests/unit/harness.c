/*
 * The harness of the program unit tests (test_program, test_reload): the
 * test owns the libev default loop and reaps its children as chainkeeperd
 * does, records every state change, and runs the loop until a condition
 * holds or a deadline passes.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "config.h"
#include "log.h"
#include "program.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

#include "harness.h"

char		 tmpdir[1024];
struct trans	 trans[MAXTRANS];
int		 ntrans;
static ev_child		 child_w;
static ev_timer		 tick_w;

static void
changed_cb(struct program *p)
{
	if (ntrans >= MAXTRANS)
		return;
	trans[ntrans].p = p;
	trans[ntrans].state = p->state;
	trans[ntrans].spawnerr = p->spawnerr != NULL;
	trans[ntrans].ms = now_ms();
	ntrans++;
}

/* As chainkeeperd's child_cb: libev reaped a child. */
static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct program	*p;

	(void)loop;
	(void)revents;
	if ((p = program_by_pid(w->rpid)) != NULL)
		program_child_exited(p, w->rstatus);
}

/* Wakes the loop up now and then, so a wait never blocks for long. */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == -1 ? -1 : 0);
}

int
harness_setup(const char *name)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[1100];
	static char	 ident[64];	/* log_init keeps the pointer */

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(tmpdir, sizeof(tmpdir),
	    "%s/ck-test-%s.XXXXXX", tmp, name) >= sizeof(tmpdir) ||
	    mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	if (mkdir(path, 0700) == -1)
		return (-1);
	snprintf(path, sizeof(path), "%s/state/logs", tmpdir);
	if (mkdir(path, 0700) == -1)
		return (-1);
	/* The daemon's log goes to a file, unless asked for on stderr. */
	snprintf(ident, sizeof(ident), "test_%s", name);
	log_init(ident, LOG_TO_STDERR, 0);
	if (getenv("CK_TEST_VERBOSE") == NULL) {
		snprintf(path, sizeof(path), "%s/chainkeeperd.log", tmpdir);
		if (log_open_file(path) == -1)
			return (-1);
	}
	signal(SIGPIPE, SIG_IGN);
	spawn_init();
	/* As chainkeeperd: program.c records runs in the state. */
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	if (state_open(path) == -1)
		return (-1);
	if (ev_default_loop(EVFLAG_AUTO) == NULL)
		return (-1);
	ev_child_init(&child_w, child_cb, 0, 0);
	ev_child_start(EV_DEFAULT, &child_w);
	ev_timer_init(&tick_w, tick_cb, 0.05, 0.05);
	ev_timer_start(EV_DEFAULT, &tick_w);
	program_changed_hook = changed_cb;
	return (0);
}

int
harness_group_teardown(void **state)
{
	(void)state;
	program_changed_hook = NULL;
	ev_timer_stop(EV_DEFAULT, &tick_w);
	ev_child_stop(EV_DEFAULT, &child_w);
	ev_loop_destroy(EV_DEFAULT);
	state_close();
	return (nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1);
}

int
harness_test_setup(void **state)
{
	(void)state;
	ntrans = 0;
	program_no_restarts = 0;
	return (0);
}


/* Run the loop until pred holds or ms have passed; whether it held. */
int
run_until(pred_fn pred, const struct program *p, long arg, int64_t ms)
{
	int64_t	 deadline = now_ms() + ms;

	while (!pred(p, arg)) {
		if (now_ms() >= deadline)
			return (0);
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	}
	return (1);
}

int
never(const struct program *p, long arg)
{
	(void)p;
	(void)arg;
	return (0);
}

/* Run the loop for ms, to see that nothing more happens. */
void
run_for(int64_t ms)
{
	run_until(never, NULL, 0, ms);
}

int
state_is(const struct program *p, long st)
{
	return (p->state == st);
}

int
is_stopped(const struct program *p, long arg)
{
	(void)arg;
	return (program_is_stopped(p) && p->pid == 0);
}

int
reaped(const struct program *p, long arg)
{
	(void)arg;
	return (p->pid == 0);
}

int
runs_reach(const struct program *p, long n)
{
	return (p->runs >= (unsigned int)n);
}

const char *
trans_text(void)
{
	static char	 buf[2048];
	size_t		 n = 0;
	int		 i;

	buf[0] = '\0';
	for (i = 0; i < ntrans && n < sizeof(buf) - 32; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
		    i == 0 ? "" : " ", program_state_name(trans[i].state));
	return (buf);
}

void
wait_state(struct program *p, int st)
{
	if (!run_until(state_is, p, st, WAIT_MS))
		fail_msg("%s: no %s within %d ms; state %s; seen: %s",
		    p->pc->name, program_state_name(st), WAIT_MS,
		    program_state_name(p->state), trans_text());
}

/*
 * Programs from YAML (the lines under "programs:"), through config_load;
 * program_new takes each program_config out of the config, as the daemon
 * does.  Returns how many were made.
 */
/* The configuration of the programs in yaml, loaded from a file. */
struct config *
load_programs(const char *yaml)
{
	struct config	*cfg;
	char		 path[1100], *errors = NULL;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/test.yaml", tmpdir);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	fprintf(fp, "state_dir: %s/state\nprograms:\n%s\n", tmpdir, yaml);
	if (fclose(fp) != 0)
		fail_msg("cannot write %s", path);
	cfg = config_load(path, &errors);
	unlink(path);
	if (cfg == NULL)
		fail_msg("config_load: %s", errors);
	return (cfg);
}

size_t
new_programs(const char *yaml)
{
	struct config	*cfg = load_programs(yaml);
	size_t		 i, n;

	for (i = 0; i < cfg->nprograms; i++) {
		program_new(cfg->programs[i]);
		cfg->programs[i] = NULL;
	}
	n = cfg->nprograms;
	cfg->nprograms = 0;
	config_free(cfg);
	return (n);
}
