/*
 * Unit tests for supervisor/config.c.  Every test writes its YAML into a
 * private folder made with mkdtemp(3), loads it with config_load() and
 * checks the result or the collected "file:line:col: message" errors.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/resource.h>

#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "util.h"

struct fx {
	char		 dir[1024];
	char		 main[1100];
	struct config	*cfg;
	char		*errors;
};

static int
fx_setup(void **state)
{
	struct fx	*f;
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if ((size_t)snprintf(f->dir, sizeof(f->dir), "%s/ck-test-config.XXXXXX",
	    tmp) >= sizeof(f->dir) || mkdtemp(f->dir) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(f->main, sizeof(f->main), "%s/main.yaml", f->dir);
	*state = f;
	return (0);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == -1 ? -1 : 0);
}

static int
fx_teardown(void **state)
{
	struct fx	*f = *state;
	int		 r;

	config_free(f->cfg);
	free(f->errors);
	r = nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return (r == 0 ? 0 : -1);
}

static void write_file(struct fx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Write a file under the test's folder (one level of folder is made). */
static void
write_file(struct fx *f, const char *rel, const char *fmt, ...)
{
	char	 path[2048], *slash;
	FILE	*fp;
	va_list	 ap;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp) != 0)
		fail_msg("cannot write %s", path);
}

/* Load main.yaml (as is); the result stays in the fixture. */
static struct config *
load_main(struct fx *f)
{
	config_free(f->cfg);
	free(f->errors);
	f->errors = NULL;
	f->cfg = config_load(f->main, &f->errors);
	return (f->cfg);
}

static struct config *
load_ok(struct fx *f)
{
	if (load_main(f) == NULL)
		fail_msg("config_load failed:\n%s", f->errors ? f->errors :
		    "(no errors)");
	assert_null(f->errors);
	return (f->cfg);
}

static const char *
load_bad(struct fx *f)
{
	if (load_main(f) != NULL)
		fail_msg("config_load accepted a bad configuration");
	assert_non_null(f->errors);
	return (f->errors);
}

static int
count_lines(const char *s)
{
	int	 n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return (n);
}

/* Whether one line of errors starts with prefix and contains frag. */
static int
has_line(const char *errors, const char *prefix, const char *frag)
{
	const char	*l, *nl;
	char		 buf[4096];
	size_t		 len;

	for (l = errors; *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL)
			nl = l + strlen(l);
		len = (size_t)(nl - l);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, l, len);
		buf[len] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0 &&
		    strstr(buf + strlen(prefix), frag) != NULL)
			return (1);
		if (*nl == '\0')
			break;
	}
	return (0);
}

/* An error "file:line:col: ...frag..." must be among errors. */
static void
expect_error(const char *errors, const char *file, int line, int col,
    const char *frag)
{
	char	 prefix[PATH_MAX + 64];

	snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", file, line, col);
	if (!has_line(errors, prefix, frag))
		fail_msg("no error \"%s...%s...\" in:\n%s", prefix, frag,
		    errors);
}

static void
assert_argv(char **argv, const char *const *want)
{
	size_t	 i;

	assert_non_null(argv);
	for (i = 0; want[i] != NULL; i++) {
		if (argv[i] == NULL)
			fail_msg("argv has %zu words, want more", i);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

static void
test_defaults(void **state)
{
	struct fx		*f = *state;
	struct config		*cfg;
	struct program_config	*pc;
	char			 want[PATH_MAX + 64];
	int			 i;

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"
	    "programs:\n"
	    "  node:\n"
	    "    command: /bin/true\n", f->dir);
	cfg = load_ok(f);
	assert_string_equal(cfg->path, f->main);
	snprintf(want, sizeof(want), "%s/state", f->dir);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/state/logs", f->dir);
	assert_string_equal(cfg->log_dir, want);
	assert_null(cfg->log_file);
	assert_string_equal(cfg->control_socket, CONFIG_DEFAULT_SOCKET);
	assert_int_equal(cfg->control_mode, 0700);
	assert_int_equal(cfg->control_idle_ms, CONFIG_DEFAULT_IDLE_MS);
	assert_null(cfg->control_group);
	assert_int_equal(cfg->nprograms, 1);

	pc = cfg->programs[0];
	assert_ptr_equal(config_find(cfg, "node"), pc);
	assert_null(config_find(cfg, "nope"));
	assert_string_equal(pc->name, "node");
	assert_string_equal(pc->file, f->main);
	assert_int_equal(pc->line, 3);
	assert_argv(pc->argv, (const char *const []){ "/bin/true", NULL });
	assert_null(pc->directory);
	assert_null(pc->user);
	assert_int_equal(pc->umask, -1);
	assert_non_null(pc->env);
	assert_null(pc->env[0]);
	assert_int_equal(pc->autostart, 1);
	assert_int_equal(pc->autorestart, AUTORESTART_UNEXPECTED);
	assert_int_equal(pc->nexitcodes, 1);
	assert_int_equal(pc->exitcodes[0], 0);
	assert_int_equal(pc->startsecs_ms, 1000);
	assert_int_equal(pc->startretries, 3);
	assert_int_equal(pc->stopsignal, SIGTERM);
	assert_int_equal(pc->stopwait_ms, 10000);
	assert_int_equal(pc->stopasgroup, 0);
	assert_int_equal(pc->killasgroup, 0);
	assert_int_equal(pc->priority, 999);
	assert_int_equal(pc->redirect_stderr, 0);
	snprintf(want, sizeof(want), "%s/state/logs/node.out.log", f->dir);
	assert_string_equal(pc->out.path, want);
	snprintf(want, sizeof(want), "%s/state/logs/node.err.log", f->dir);
	assert_string_equal(pc->err.path, want);
	assert_int_equal(pc->out.maxbytes, 50 * 1024 * 1024);
	assert_int_equal(pc->err.maxbytes, 50 * 1024 * 1024);
	assert_int_equal(pc->out.backups, 10);
	assert_int_equal(pc->err.backups, 10);
	assert_int_equal(pc->backoff.initial_ms, 1000);
	assert_int_equal(pc->backoff.max_ms, 60000);
	assert_int_equal(pc->backoff.jitter_pct, 10);
	assert_non_null(pc->depends_on);
	assert_null(pc->depends_on[0]);
	for (i = 0; i < LIMIT_MAX; i++)
		assert_int_equal(pc->limit_set[i], 0);
	assert_true(config_exitcode_expected(pc, 0));
	assert_false(config_exitcode_expected(pc, 1));
}

/* Without state_dir, the compiled-in default holds the AUTO logs. */
static void
test_default_state_dir(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	char		 want[PATH_MAX];

	write_file(f, "main.yaml", "programs:\n  a:\n    command: x\n");
	cfg = load_ok(f);
	assert_string_equal(cfg->state_dir, CONFIG_DEFAULT_STATE);
	snprintf(want, sizeof(want), "%s/logs/a.out.log",
	    CONFIG_DEFAULT_STATE);
	assert_string_equal(cfg->programs[0]->out.path, want);
}

/* A relative path is made absolute (includes are relative to it). */
static void
test_relative_path(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	char		 cwd[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 16];
	char		*errors = NULL;

	write_file(f, "main.yaml", "include: conf.d/*.yaml\n");
	write_file(f, "conf.d/a.yaml", "programs:\n  a:\n    command: x\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(realpath(f->dir, real));
	assert_int_equal(chdir(f->dir), 0);
	cfg = config_load("main.yaml", &errors);
	assert_int_equal(chdir(cwd), 0);
	if (cfg == NULL)
		fail_msg("config_load failed:\n%s", errors);
	f->cfg = cfg;
	snprintf(want, sizeof(want), "%s/main.yaml", real);
	assert_string_equal(cfg->path, want);
	assert_int_equal(cfg->nprograms, 1);
	snprintf(want, sizeof(want), "%s/conf.d/a.yaml", real);
	assert_string_equal(cfg->programs[0]->file, want);
}

static void
test_every_key(void **state)
{
	struct fx		*f = *state;
	struct config		*cfg;
	struct program_config	*pc;
	struct passwd		*pw;
	struct group		*gr;
	char			 want[PATH_MAX + 64], user[256], group[256];
	json_t			*j, *lim;

	assert_non_null(pw = getpwuid(geteuid()));
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	assert_non_null(gr = getgrgid(getegid()));
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	write_file(f, "main.yaml",
	    "state_dir: %1$s/state\n"
	    "log:\n"
	    "  dir: %1$s/logs\n"
	    "  file: %1$s/ck.log\n"
	    "control:\n"
	    "  socket: %1$s/ck.sock\n"
	    "  mode: 0660\n"
	    "  group: %2$s\n"
	    "  idle_timeout: 2m\n"
	    "programs:\n"
	    "  node:\n"
	    "    command: \"/usr/bin/nodeos --data-dir '/var/lib/eos data' "
	    "-e\"\n"
	    "    directory: /tmp\n"
	    "    user: %3$s\n"
	    "    umask: 027\n"
	    "    environment:\n"
	    "      CHAIN: eos\n"
	    "      EMPTY:\n"
	    "      QUOTED: \"a b\"\n"
	    "    autostart: false\n"
	    "    autorestart: true\n"
	    "    exitcodes: [0, 2]\n"
	    "    startsecs: 500ms\n"
	    "    startretries: 5\n"
	    "    stopsignal: SIGINT\n"
	    "    stopwaitsecs: 2m\n"
	    "    stopasgroup: true\n"
	    "    priority: -10\n"
	    "    redirect_stderr: false\n"
	    "    stdout_logfile: %1$s/node.out\n"
	    "    stdout_logfile_maxbytes: 1KB\n"
	    "    stdout_logfile_backups: 3\n"
	    "    stderr_logfile: NONE\n"
	    "    stderr_logfile_maxbytes: 2MB\n"
	    "    stderr_logfile_backups: 0\n"
	    "    backoff:\n"
	    "      initial: 2s\n"
	    "      max: 1m\n"
	    "      jitter: 25%%\n"
	    "    depends_on: base\n"
	    "    limits:\n"
	    "      nofile: 65536\n"
	    "      nproc: unlimited\n"
	    "      core: 1GB\n"
	    "      memlock: infinity\n"
	    "  base:\n"
	    "    command: [/bin/sh, -c, \"exit 0\"]\n"
	    "    exitcodes: \"0,2\"\n"
	    "    autorestart: unexpected\n"
	    "    killasgroup: yes\n"
	    "    redirect_stderr: true\n"
	    "    stdout_logfile: AUTO\n"
	    "    backoff:\n"
	    "      jitter: 0.1\n"
	    "    priority: 5\n"
	    "  pool:\n"
	    "    command: /bin/true\n"
	    "    depends_on: [node, base]\n"
	    "    autorestart: false\n"
	    "    stderr_logfile: AUTO\n"
	    "    limits: {core: 0}\n",
	    f->dir, group, user);
	cfg = load_ok(f);

	snprintf(want, sizeof(want), "%s/state", f->dir);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/logs", f->dir);
	assert_string_equal(cfg->log_dir, want);
	snprintf(want, sizeof(want), "%s/ck.log", f->dir);
	assert_string_equal(cfg->log_file, want);
	snprintf(want, sizeof(want), "%s/ck.sock", f->dir);
	assert_string_equal(cfg->control_socket, want);
	assert_int_equal(cfg->control_mode, 0660);
	assert_int_equal(cfg->control_idle_ms, 120000);
	assert_string_equal(cfg->control_group, group);
	assert_int_equal(cfg->control_gid, getegid());
	assert_int_equal(cfg->nprograms, 3);
	assert_string_equal(cfg->programs[0]->name, "node");
	assert_string_equal(cfg->programs[1]->name, "base");
	assert_string_equal(cfg->programs[2]->name, "pool");

	pc = cfg->programs[0];
	assert_argv(pc->argv, (const char *const []){ "/usr/bin/nodeos",
	    "--data-dir", "/var/lib/eos data", "-e", NULL });
	assert_string_equal(pc->directory, "/tmp");
	assert_string_equal(pc->user, user);
	assert_int_equal(pc->uid, pw->pw_uid);
	assert_int_equal(pc->gid, pw->pw_gid);
	assert_string_equal(pc->home, pw->pw_dir);
	assert_true(pc->ngroups >= 1);
	assert_int_equal(pc->umask, 027);
	assert_argv(pc->env, (const char *const []){ "CHAIN=eos", "EMPTY=",
	    "QUOTED=a b", NULL });
	assert_int_equal(pc->autostart, 0);
	assert_int_equal(pc->autorestart, AUTORESTART_TRUE);
	assert_int_equal(pc->nexitcodes, 2);
	assert_int_equal(pc->exitcodes[0], 0);
	assert_int_equal(pc->exitcodes[1], 2);
	assert_int_equal(pc->startsecs_ms, 500);
	assert_int_equal(pc->startretries, 5);
	assert_int_equal(pc->stopsignal, SIGINT);
	assert_int_equal(pc->stopwait_ms, 120000);
	assert_int_equal(pc->stopasgroup, 1);
	assert_int_equal(pc->killasgroup, 1);	/* implied by stopasgroup */
	assert_int_equal(pc->priority, -10);
	assert_int_equal(pc->redirect_stderr, 0);
	snprintf(want, sizeof(want), "%s/node.out", f->dir);
	assert_string_equal(pc->out.path, want);
	assert_int_equal(pc->out.maxbytes, 1024);
	assert_int_equal(pc->out.backups, 3);
	assert_null(pc->err.path);
	assert_int_equal(pc->err.maxbytes, 2 * 1024 * 1024);
	assert_int_equal(pc->err.backups, 0);
	assert_int_equal(pc->backoff.initial_ms, 2000);
	assert_int_equal(pc->backoff.max_ms, 60000);
	assert_int_equal(pc->backoff.jitter_pct, 25);
	assert_argv(pc->depends_on, (const char *const []){ "base", NULL });
	assert_true(pc->limit_set[LIMIT_NOFILE]);
	assert_int_equal(pc->limit[LIMIT_NOFILE], 65536);
	assert_true(pc->limit_set[LIMIT_NPROC]);
	assert_true(pc->limit[LIMIT_NPROC] == RLIM_INFINITY);
	assert_true(pc->limit_set[LIMIT_CORE]);
	assert_int_equal(pc->limit[LIMIT_CORE], 1024LL * 1024 * 1024);
	assert_true(pc->limit_set[LIMIT_MEMLOCK]);
	assert_true(pc->limit[LIMIT_MEMLOCK] == RLIM_INFINITY);

	/* The normalized form shows the same. */
	j = config_program_json(pc, 0);
	assert_string_equal(json_string_value(json_object_get(j, "umask")),
	    "027");
	assert_string_equal(json_string_value(json_object_get(j,
	    "stopsignal")), "INT");
	assert_string_equal(json_string_value(json_object_get(j,
	    "autorestart")), "true");
	lim = json_object_get(j, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "nofile")),
	    65536);
	assert_string_equal(json_string_value(json_object_get(lim, "nproc")),
	    "unlimited");
	assert_true(json_is_null(json_object_get(json_object_get(j,
	    "stderr_logfile"), "path")));
	json_decref(j);

	pc = cfg->programs[1];
	assert_argv(pc->argv, (const char *const []){ "/bin/sh", "-c",
	    "exit 0", NULL });
	assert_int_equal(pc->nexitcodes, 2);
	assert_int_equal(pc->exitcodes[0], 0);
	assert_int_equal(pc->exitcodes[1], 2);
	assert_true(config_exitcode_expected(pc, 2));
	assert_false(config_exitcode_expected(pc, 1));
	assert_int_equal(pc->autorestart, AUTORESTART_UNEXPECTED);
	assert_int_equal(pc->stopasgroup, 0);
	assert_int_equal(pc->killasgroup, 1);
	assert_int_equal(pc->redirect_stderr, 1);
	snprintf(want, sizeof(want), "%s/logs/base.out.log", f->dir);
	assert_string_equal(pc->out.path, want);
	assert_null(pc->err.path);	/* redirected into stdout */
	assert_int_equal(pc->backoff.jitter_pct, 10);
	assert_int_equal(pc->backoff.initial_ms, 1000);
	assert_int_equal(pc->priority, 5);
	assert_null(pc->depends_on[0]);

	pc = cfg->programs[2];
	assert_argv(pc->depends_on, (const char *const []){ "node", "base",
	    NULL });
	assert_int_equal(pc->autorestart, AUTORESTART_FALSE);
	snprintf(want, sizeof(want), "%s/logs/pool.err.log", f->dir);
	assert_string_equal(pc->err.path, want);
	assert_true(pc->limit_set[LIMIT_CORE]);
	assert_int_equal(pc->limit[LIMIT_CORE], 0);
	assert_false(pc->limit_set[LIMIT_NOFILE]);
}

/* exitcodes as a list, supervisord's "0,2" string, or one number. */
static void
test_exitcodes_forms(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: x, exitcodes: [0, 2]}\n"
	    "  b: {command: x, exitcodes: \"0,2\"}\n"
	    "  c: {command: x, exitcodes: \"1, 3,255\"}\n"
	    "  d: {command: x, exitcodes: 2}\n"
	    "  e: {command: x, exitcodes: []}\n");
	cfg = load_ok(f);
	assert_int_equal(cfg->programs[0]->nexitcodes, 2);
	assert_int_equal(cfg->programs[0]->exitcodes[1], 2);
	assert_int_equal(cfg->programs[1]->nexitcodes, 2);
	assert_int_equal(cfg->programs[1]->exitcodes[0], 0);
	assert_int_equal(cfg->programs[1]->exitcodes[1], 2);
	assert_int_equal(cfg->programs[2]->nexitcodes, 3);
	assert_int_equal(cfg->programs[2]->exitcodes[0], 1);
	assert_int_equal(cfg->programs[2]->exitcodes[1], 3);
	assert_int_equal(cfg->programs[2]->exitcodes[2], 255);
	assert_int_equal(cfg->programs[3]->nexitcodes, 1);
	assert_int_equal(cfg->programs[3]->exitcodes[0], 2);
	assert_false(config_exitcode_expected(cfg->programs[3], 0));
	/* No expected code: every exit is unexpected. */
	assert_int_equal(cfg->programs[4]->nexitcodes, 0);
	assert_false(config_exitcode_expected(cfg->programs[4], 0));
}

/* backoff.jitter as a percentage or a fraction. */
static void
test_jitter_forms(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	const char	*e;
	static const int want[] = { 10, 10, 25, 50, 1, 0, 100, 33 };
	size_t		 i;

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: x, backoff: {jitter: 10%%}}\n"
	    "  b: {command: x, backoff: {jitter: 0.1}}\n"
	    "  c: {command: x, backoff: {jitter: 0.25}}\n"
	    "  d: {command: x, backoff: {jitter: 0.5}}\n"
	    "  e: {command: x, backoff: {jitter: 1%%}}\n"
	    "  f: {command: x, backoff: {jitter: 0}}\n"
	    "  g: {command: x, backoff: {jitter: 100%%}}\n"
	    "  h: {command: x, backoff: {jitter: 33.3%%, initial: 500ms, "
	    "max: 500ms}}\n");
	cfg = load_ok(f);
	assert_int_equal(cfg->nprograms, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < cfg->nprograms; i++)
		if (cfg->programs[i]->backoff.jitter_pct != want[i])
			fail_msg("%s: jitter %d%%, want %d%%",
			    cfg->programs[i]->name,
			    cfg->programs[i]->backoff.jitter_pct, want[i]);
	assert_int_equal(cfg->programs[7]->backoff.initial_ms, 500);
	assert_int_equal(cfg->programs[7]->backoff.max_ms, 500);

	/* A bare number above 1 is neither: 50 could mean 50% or 5000%. */
	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: x, backoff: {jitter: 50}}\n"
	    "  b: {command: x, backoff: {jitter: -10%%}}\n"
	    "  c: {command: x, backoff: {jitter: 10 %%}}\n");
	e = load_bad(f);
	expect_error(e, f->main, 2, 37, "backoff.jitter: a bare number is a "
	    "fraction");
	expect_error(e, f->main, 3, 37, "backoff.jitter: must be between");
	expect_error(e, f->main, 4, 37, "backoff.jitter: expected a "
	    "percentage");
	assert_int_equal(count_lines(e), 3);
}

/* command as a string split like a shell, or a list taken word for word. */
static void
test_command_forms(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a:\n"
	    "    command: sh -c 'echo \"$X\"; exit 2'\n"
	    "  b:\n"
	    "    command:\n"
	    "      - /bin/sh\n"
	    "      - -c\n"
	    "      - echo 'a  b' \"$X\"\n"
	    "  c:\n"
	    "    command: [single]\n");
	cfg = load_ok(f);
	assert_argv(cfg->programs[0]->argv, (const char *const []){ "sh",
	    "-c", "echo \"$X\"; exit 2", NULL });
	assert_argv(cfg->programs[1]->argv, (const char *const []){
	    "/bin/sh", "-c", "echo 'a  b' \"$X\"", NULL });
	assert_argv(cfg->programs[2]->argv, (const char *const []){ "single",
	    NULL });
}

/* include: a glob of conf.d files (sorted), or a list of globs. */
static void
test_include(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	char		 want[PATH_MAX + 64];

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"
	    "include: conf.d/*.yaml\n"
	    "programs:\n"
	    "  main:\n"
	    "    command: /bin/true\n"
	    "    depends_on: [b-node]\n", f->dir);
	write_file(f, "conf.d/20-b.yaml",
	    "programs:\n"
	    "  b-node:\n"
	    "    command: /bin/true\n"
	    "    depends_on: a-node\n");
	write_file(f, "conf.d/10-a.yaml",
	    "# a comment first\n"
	    "programs:\n"
	    "  a-node:\n"
	    "    command: /bin/false\n");
	write_file(f, "conf.d/30-empty.yaml", "%s", "");
	write_file(f, "conf.d/ignored.txt", "programs: [not, programs]\n");
	cfg = load_ok(f);
	assert_int_equal(cfg->nprograms, 3);
	assert_string_equal(cfg->programs[0]->name, "main");
	assert_string_equal(cfg->programs[1]->name, "a-node");
	assert_string_equal(cfg->programs[2]->name, "b-node");
	snprintf(want, sizeof(want), "%s/conf.d/10-a.yaml", f->dir);
	assert_string_equal(cfg->programs[1]->file, want);
	assert_int_equal(cfg->programs[1]->line, 3);
	snprintf(want, sizeof(want), "%s/state/logs/a-node.out.log", f->dir);
	assert_string_equal(cfg->programs[1]->out.path, want);

	/* A list of globs; one that matches nothing is not an error. */
	write_file(f, "main.yaml",
	    "include:\n"
	    "  - conf.d/10-*.yaml\n"
	    "  - %s/conf.d/20-b.yaml\n"
	    "  - nothing/*.yaml\n", f->dir);
	cfg = load_ok(f);
	assert_int_equal(cfg->nprograms, 2);
	assert_non_null(config_find(cfg, "a-node"));
	assert_non_null(config_find(cfg, "b-node"));
}

/* An empty file, or null programs, is a valid configuration. */
static void
test_empty(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;

	write_file(f, "main.yaml", "%s", "");
	cfg = load_ok(f);
	assert_int_equal(cfg->nprograms, 0);
	write_file(f, "main.yaml", "# nothing\nprograms:\n");
	cfg = load_ok(f);
	assert_int_equal(cfg->nprograms, 0);
}

/* Several errors in one file: all reported, each at its place. */
static void
test_errors_collected(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"			/* 1 */
	    "programs:\n"				/* 2 */
	    "  a:\n"					/* 3 */
	    "    command: /bin/true\n"			/* 4 */
	    "    startsecs: 10x\n"			/* 5 */
	    "    bogus: 1\n"				/* 6 */
	    "    autostart: maybe\n"			/* 7 */
	    "    priority: [1]\n"			/* 8 */
	    "    stopsignal: NOPE\n"			/* 9 */
	    "    exitcodes: [0, 300]\n"			/* 10 */
	    "  b:\n"					/* 11 */
	    "    startretries: -1\n"			/* 12 */
	    "bogus_top: 1\n", f->dir);			/* 13 */
	e = load_bad(f);
	expect_error(e, f->main, 5, 16, "startsecs: unknown duration unit");
	expect_error(e, f->main, 6, 5, "program \"a\": unknown setting "
	    "\"bogus\"");
	expect_error(e, f->main, 7, 16, "autostart: expected true or false");
	expect_error(e, f->main, 8, 15, "priority must be a scalar");
	expect_error(e, f->main, 9, 17, "stopsignal: unknown signal \"NOPE\"");
	expect_error(e, f->main, 10, 20, "exitcodes: 300 is out of range");
	expect_error(e, f->main, 11, 3, "program \"b\": command is required");
	expect_error(e, f->main, 12, 19, "startretries: -1 is out of range");
	expect_error(e, f->main, 13, 1, "unknown key \"bogus_top\"");
	assert_int_equal(count_lines(e), 9);
}

/* Unknown keys at every level. */
static void
test_errors_unknown_keys(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "control:\n"				/* 1 */
	    "  sockett: /tmp/x.sock\n"			/* 2 */
	    "log:\n"					/* 3 */
	    "  level: debug\n"				/* 4 */
	    "programs:\n"				/* 5 */
	    "  a:\n"					/* 6 */
	    "    command: /bin/true\n"			/* 7 */
	    "    backoff: {initial: 1s, factor: 2}\n"	/* 8 */
	    "    limits: {nofiles: 10}\n"		/* 9 */
	    "    startsec: 1\n"				/* 10 */
	    "alerts_typo: {}\n");			/* 11 */
	e = load_bad(f);
	expect_error(e, f->main, 2, 3, "control: unknown key \"sockett\"");
	expect_error(e, f->main, 4, 3, "log: unknown key \"level\"");
	expect_error(e, f->main, 8, 28, "backoff: unknown key \"factor\"");
	expect_error(e, f->main, 9, 14, "limits: unknown limit \"nofiles\"");
	expect_error(e, f->main, 10, 5, "unknown setting \"startsec\"");
	expect_error(e, f->main, 11, 1, "unknown key \"alerts_typo\"");
	assert_int_equal(count_lines(e), 6);
}

/* Values of the wrong YAML type. */
static void
test_errors_wrong_types(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "state_dir: relative/dir\n"			/* 1 */
	    "control: [a]\n"				/* 2 */
	    "log:\n"					/* 3 */
	    "  dir: logs\n"				/* 4 */
	    "programs:\n"				/* 5 */
	    "  a:\n"					/* 6 */
	    "    command: {x: y}\n"			/* 7 */
	    "    environment: [A=1]\n"			/* 8 */
	    "    backoff: 5s\n"				/* 9 */
	    "    limits: 1\n"				/* 10 */
	    "    directory: relative\n"			/* 11 */
	    "    stdout_logfile: out.log\n"		/* 12 */
	    "    depends_on: {x: 1}\n"			/* 13 */
	    "  b: just a string\n");			/* 14 */
	e = load_bad(f);
	expect_error(e, f->main, 1, 12, "state_dir must be an absolute path");
	expect_error(e, f->main, 2, 10, "control must be a map");
	expect_error(e, f->main, 4, 8, "log.dir must be an absolute path");
	expect_error(e, f->main, 7, 14, "command must be a string or a list");
	expect_error(e, f->main, 6, 3, "program \"a\": command is required");
	expect_error(e, f->main, 8, 18, "environment must be a map");
	expect_error(e, f->main, 9, 14, "backoff must be a map");
	expect_error(e, f->main, 10, 13, "limits must be a map");
	expect_error(e, f->main, 11, 16, "directory must be an absolute path");
	expect_error(e, f->main, 12, 21, "stdout_logfile must be AUTO, NONE "
	    "or an absolute path");
	expect_error(e, f->main, 13, 17, "depends_on must be a string or a "
	    "list");
	expect_error(e, f->main, 14, 6, "program \"b\" must be a map");
	assert_int_equal(count_lines(e), 12);

	write_file(f, "main.yaml", "programs: [a, b]\n");
	e = load_bad(f);
	expect_error(e, f->main, 1, 11, "programs must be a map");
	assert_int_equal(count_lines(e), 1);

	write_file(f, "main.yaml", "- a\n- b\n");
	e = load_bad(f);
	expect_error(e, f->main, 1, 1, "the top level must be a map");
	assert_int_equal(count_lines(e), 1);
}

/* Values of the right type that are not valid. */
static void
test_errors_bad_values(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "control:\n"				/* 1 */
	    "  mode: 999\n"				/* 2 */
	    "  group: no-such-group-ck\n"		/* 3 */
	    "  socket: /tmp/%0100d.sock\n"		/* 4 */
	    "programs:\n"				/* 5 */
	    "  a:\n"					/* 6 */
	    "    command: \"echo 'x\"\n"		/* 7 */
	    "    umask: 0999\n"				/* 8 */
	    "    exitcodes: \"0,abc\"\n"		/* 9 */
	    "    environment:\n"			/* 10 */
	    "      1BAD: x\n"				/* 11 */
	    "    backoff:\n"				/* 12 */
	    "      initial: 10s\n"			/* 13 */
	    "      max: 1s\n"				/* 14 */
	    "      jitter: 150%%\n"			/* 15 */
	    "    limits:\n"				/* 16 */
	    "      nofile: 0\n"				/* 17 */
	    "      core: lots\n"			/* 18 */
	    "    user: no-such-user-ck\n"		/* 19 */
	    "    stdout_logfile_maxbytes: 5TB\n"	/* 20 */
	    "    stopwaitsecs: -5s\n"			/* 21 */
	    "  \"bad name!\":\n"			/* 22 */
	    "    command: /bin/true\n"			/* 23 */
	    "  .hidden:\n"				/* 24 */
	    "    command: /bin/true\n"			/* 25 */
	    "  b:\n"					/* 26 */
	    "    command: \"\"\n"			/* 27 */
	    "    autorestart: sometimes\n"		/* 28 */
	    "    backoff: {jitter: abc}\n"		/* 29 */
	    "    stdout_logfile_backups: 1001\n",	/* 30 */
	    0);
	e = load_bad(f);
	expect_error(e, f->main, 2, 9, "control.mode: expected an octal "
	    "number");
	expect_error(e, f->main, 3, 10, "control.group: no such group "
	    "\"no-such-group-ck\"");
	expect_error(e, f->main, 4, 11, "control.socket: path longer than");
	expect_error(e, f->main, 7, 14, "command: unterminated quote");
	expect_error(e, f->main, 6, 3, "program \"a\": command is required");
	expect_error(e, f->main, 8, 12, "umask: expected an octal number");
	expect_error(e, f->main, 9, 16, "exitcodes: \"abc\" is not an exit "
	    "code");
	expect_error(e, f->main, 11, 7, "environment: invalid name \"1BAD\"");
	expect_error(e, f->main, 6, 3, "program \"a\": backoff.max is less "
	    "than backoff.initial");
	expect_error(e, f->main, 15, 15, "backoff.jitter: must be between");
	expect_error(e, f->main, 17, 15, "limits.nofile: expected a positive "
	    "count");
	expect_error(e, f->main, 18, 13, "limits.core: expected a size");
	expect_error(e, f->main, 19, 11, "user: no such user "
	    "\"no-such-user-ck\"");
	expect_error(e, f->main, 20, 30, "stdout_logfile_maxbytes: unknown "
	    "size unit");
	expect_error(e, f->main, 21, 19, "stopwaitsecs: expected a duration");
	expect_error(e, f->main, 22, 3, "invalid program name \"bad name!\"");
	expect_error(e, f->main, 24, 3, "invalid program name \".hidden\"");
	expect_error(e, f->main, 27, 14, "command: empty command");
	expect_error(e, f->main, 26, 3, "program \"b\": command is required");
	expect_error(e, f->main, 28, 18, "autorestart: expected true or false");
	expect_error(e, f->main, 29, 23, "backoff.jitter: expected a "
	    "percentage");
	expect_error(e, f->main, 30, 29, "stdout_logfile_backups: 1001 is out "
	    "of range");
	assert_int_equal(count_lines(e), 22);
}

/* A command must have at least one non-empty word. */
static void
test_errors_empty_command(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: []}\n"
	    "  b: {command: ['', x]}\n"
	    "  c: {command: [[x]]}\n"
	    "  d: {command: '  '}\n");
	e = load_bad(f);
	expect_error(e, f->main, 2, 16, "command: empty command");
	expect_error(e, f->main, 2, 3, "program \"a\": command is required");
	expect_error(e, f->main, 3, 16, "command: empty command");
	expect_error(e, f->main, 3, 3, "program \"b\": command is required");
	expect_error(e, f->main, 4, 17, "command must be a scalar");
	expect_error(e, f->main, 4, 3, "program \"c\": command is required");
	expect_error(e, f->main, 5, 16, "command: empty command");
	expect_error(e, f->main, 5, 3, "program \"d\": command is required");
	assert_int_equal(count_lines(e), 8);
}

/* The same key twice in one map, anywhere. */
static void
test_errors_duplicate_keys(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"			/* 1 */
	    "programs:\n"				/* 2 */
	    "  a:\n"					/* 3 */
	    "    command: /bin/true\n"			/* 4 */
	    "    command: /bin/false\n"			/* 5 */
	    "  a:\n"					/* 6 */
	    "    command: /bin/true\n"			/* 7 */
	    "    environment: {X: 1, X: 2}\n"		/* 8 */
	    "state_dir: /tmp\n", f->dir);		/* 9 */
	e = load_bad(f);
	expect_error(e, f->main, 5, 5, "duplicate key \"command\"");
	expect_error(e, f->main, 6, 3, "duplicate key \"a\"");
	expect_error(e, f->main, 6, 3, "program \"a\" is defined twice");
	expect_error(e, f->main, 8, 25, "duplicate key \"X\"");
	expect_error(e, f->main, 9, 1, "duplicate key \"state_dir\"");
	assert_int_equal(count_lines(e), 5);
}

/* A program defined in the main file and again in an included one. */
static void
test_errors_duplicate_program_include(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	char		 inc1[PATH_MAX + 32], inc2[PATH_MAX + 32];

	write_file(f, "main.yaml",
	    "include: conf.d/*.yaml\n"
	    "programs:\n"
	    "  a:\n"
	    "    command: /bin/true\n");
	write_file(f, "conf.d/1.yaml",
	    "programs:\n"
	    "  b: {command: /bin/true}\n"
	    "  a:\n"
	    "    command: /bin/false\n");
	write_file(f, "conf.d/2.yaml",
	    "programs:\n"
	    "  c: {command: /bin/true}\n"
	    "  b: {command: /bin/true}\n");
	snprintf(inc1, sizeof(inc1), "%s/conf.d/1.yaml", f->dir);
	snprintf(inc2, sizeof(inc2), "%s/conf.d/2.yaml", f->dir);
	e = load_bad(f);
	expect_error(e, inc1, 3, 3, "program \"a\" is defined twice");
	expect_error(e, inc2, 3, 3, "program \"b\" is defined twice");
	assert_int_equal(count_lines(e), 2);
}

/* An included file may only add programs. */
static void
test_errors_include_non_program_keys(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	char		 inc[PATH_MAX + 32];

	write_file(f, "main.yaml", "include: conf.d/*.yaml\n");
	write_file(f, "conf.d/x.yaml",
	    "state_dir: /tmp\n"
	    "programs:\n"
	    "  c:\n"
	    "    command: /bin/true\n"
	    "include: \"*.yaml\"\n"
	    "control: {socket: /tmp/s}\n");
	snprintf(inc, sizeof(inc), "%s/conf.d/x.yaml", f->dir);
	e = load_bad(f);
	expect_error(e, inc, 1, 1, "an included file may only define "
	    "programs, not \"state_dir\"");
	expect_error(e, inc, 5, 1, "not \"include\"");
	expect_error(e, inc, 6, 1, "not \"control\"");
	assert_int_equal(count_lines(e), 3);
}

static void
test_errors_unknown_depends_on(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	char		 inc[PATH_MAX + 32];

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  b:\n"
	    "    command: /bin/true\n"
	    "  a:\n"
	    "    command: /bin/true\n"
	    "    depends_on: [b, ghost]\n");
	e = load_bad(f);
	expect_error(e, f->main, 4, 3, "program \"a\" depends on \"ghost\", "
	    "which is not defined");
	assert_int_equal(count_lines(e), 1);

	/* In an included file, the error names that file. */
	write_file(f, "main.yaml", "include: conf.d/*.yaml\n");
	write_file(f, "conf.d/x.yaml",
	    "programs:\n"
	    "  x:\n"
	    "    command: /bin/true\n"
	    "    depends_on: nobody\n");
	snprintf(inc, sizeof(inc), "%s/conf.d/x.yaml", f->dir);
	e = load_bad(f);
	expect_error(e, inc, 2, 3, "program \"x\" depends on \"nobody\"");
	assert_int_equal(count_lines(e), 1);
}

static void
test_errors_cycle(void **state)
{
	struct fx	*f = *state;
	const char	*e;

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: x, depends_on: b}\n"
	    "  b: {command: x, depends_on: [c]}\n"
	    "  c: {command: x, depends_on: [ok, a]}\n"
	    "  ok: {command: x}\n"
	    "  self: {command: x, depends_on: self}\n"
	    "  down: {command: x, depends_on: [ok, a]}\n");
	e = load_bad(f);
	expect_error(e, f->main, 2, 3, "program \"a\": depends_on forms a "
	    "cycle");
	expect_error(e, f->main, 3, 3, "program \"b\": depends_on forms a "
	    "cycle");
	expect_error(e, f->main, 4, 3, "program \"c\": depends_on forms a "
	    "cycle");
	expect_error(e, f->main, 6, 3, "program \"self\" depends on itself");
	expect_error(e, f->main, 6, 3, "program \"self\": depends_on forms a "
	    "cycle");
	/* Depending on a cycle is not being on one. */
	assert_false(has_line(e, "", "program \"ok\""));
	assert_false(has_line(e, "", "program \"down\""));
	assert_int_equal(count_lines(e), 5);

	/* A chain without a loop is fine. */
	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: {command: x, depends_on: [b, c]}\n"
	    "  b: {command: x, depends_on: [c]}\n"
	    "  c: {command: x}\n");
	load_ok(f);
}

static void
test_errors_yaml_syntax(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	char		 prefix[PATH_MAX + 32];

	write_file(f, "main.yaml",
	    "programs:\n"
	    "  a: [unclosed\n"
	    "  b: {command: x}\n");
	e = load_bad(f);
	snprintf(prefix, sizeof(prefix), "%s:", f->main);
	assert_true(has_line(e, prefix, ""));
	assert_int_equal(count_lines(e), 1);

	/* A bad include is reported with the included file's name. */
	write_file(f, "main.yaml", "include: conf.d/*.yaml\n");
	write_file(f, "conf.d/bad.yaml", "programs:\n\t- tab\n");
	e = load_bad(f);
	snprintf(prefix, sizeof(prefix), "%s/conf.d/bad.yaml:", f->dir);
	assert_true(has_line(e, prefix, ""));
	assert_int_equal(count_lines(e), 1);
}

static void
test_errors_missing_file(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	char		*errors = NULL, path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/absent.yaml", f->dir);
	cfg = config_load(path, &errors);
	assert_null(cfg);
	assert_non_null(errors);
	assert_true(has_line(errors, path, "No such file"));
	free(errors);
}

/* Write a program "name" with the base settings, line i replaced. */
static void
write_variant(FILE *fp, const char *name, const char *const *keys,
    const char *const *vals, size_t n)
{
	size_t	 i;

	fprintf(fp, "  %s:\n", name);
	for (i = 0; i < n; i++)
		fprintf(fp, "    %s: %s\n", keys[i], vals[i]);
}

/* Programs with the same settings are equal; one difference is seen. */
static void
test_program_equal(void **state)
{
	static const char *const keys[] = {
		"command", "directory", "umask", "environment", "autostart",
		"autorestart", "exitcodes", "startsecs", "startretries",
		"stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup",
		"priority", "redirect_stderr", "stdout_logfile",
		"stdout_logfile_maxbytes", "stdout_logfile_backups",
		"stderr_logfile", "stderr_logfile_maxbytes",
		"stderr_logfile_backups", "backoff", "depends_on", "limits",
	};
	static const char *const base[] = {
		"/bin/sleep 5", "/tmp", "022", "{A: '1', B: '2'}", "true",
		"unexpected", "[0]", "1s", "3", "TERM", "10s", "false",
		"false", "999", "false", "/tmp/o.log", "1MB", "1",
		"/tmp/e.log", "1MB", "1",
		"{initial: 1s, max: 10s, jitter: 10%}", "[]",
		"{nofile: 1024}",
	};
	static const char *const alt[] = {
		"/bin/sleep 6", "/", "027", "{A: '1', B: '3'}", "false",
		"true", "[0, 2]", "2s", "4", "INT", "11s", "true",
		"true", "998", "true", "/tmp/o2.log", "2MB", "2",
		"/tmp/e2.log", "2MB", "2",
		"{initial: 1s, max: 10s, jitter: 20%}", "[z]",
		"{nofile: 2048}",
	};
	struct fx		*f = *state;
	const char		*vals[sizeof(keys) / sizeof(keys[0])];
	size_t			 n = sizeof(keys) / sizeof(keys[0]), i;
	struct config		*cfg;
	FILE			*fp;

	assert_int_equal(sizeof(base) / sizeof(base[0]), n);
	assert_int_equal(sizeof(alt) / sizeof(alt[0]), n);
	for (i = 0; i <= n; i++) {
		assert_non_null(fp = fopen(f->main, "w"));
		fprintf(fp, "programs:\n  z: {command: x}\n");
		write_variant(fp, "a", keys, base, n);
		memcpy(vals, base, sizeof(vals));
		if (i < n)
			vals[i] = alt[i];
		write_variant(fp, "b", keys, vals, n);
		assert_int_equal(fclose(fp), 0);
		cfg = load_ok(f);
		assert_true(config_program_equal(cfg->programs[1],
		    cfg->programs[1]));
		if (i == n) {
			/* Same settings under another name: equal. */
			if (!config_program_equal(cfg->programs[1],
			    cfg->programs[2]))
				fail_msg("identical programs differ");
		} else if (config_program_equal(cfg->programs[1],
		    cfg->programs[2]))
			fail_msg("%s: %s and %s compare equal", keys[i],
			    base[i], alt[i]);
	}
}

/* config_json: the normalized configuration, secrets redacted. */
static void
test_json_redact(void **state)
{
	static const char *const secret[] = {
		"RPC_PASSWORD", "API_TOKEN", "wallet_key", "Secret_Seed",
		"AUTH_HEADER", "DB_CREDENTIALS", "RPC_PW", "WALLET_SEED",
		"MNEMONIC", "OWNER_WIF", "PRIVKEY",
	};
	static const char *const value[] = {
		"hunter2", "tok123", "k123", "s123", "a123", "c123", "pw123",
		"seed123", "words123", "wif123", "priv123",
	};
	struct fx	*f = *state;
	struct config	*cfg;
	json_t		*j, *env, *prog;
	char		*dump;
	size_t		 i;
	int		 redact;

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"
	    "programs:\n"
	    "  node:\n"
	    "    command: /bin/true\n"
	    "    environment:\n"
	    "      RPC_PASSWORD: hunter2\n"
	    "      API_TOKEN: tok123\n"
	    "      wallet_key: k123\n"
	    "      Secret_Seed: s123\n"
	    "      AUTH_HEADER: a123\n"
	    "      DB_CREDENTIALS: c123\n"
	    "      RPC_PW: pw123\n"
	    "      WALLET_SEED: seed123\n"
	    "      MNEMONIC: words123\n"
	    "      OWNER_WIF: wif123\n"
	    "      PRIVKEY: priv123\n"
	    "      DB_URL: postgres://u:url123@db/x\n"
	    "      CHAIN: eos\n"
	    "      DATA_DIR: /var/lib/eos\n", f->dir);
	cfg = load_ok(f);
	for (redact = 0; redact <= 1; redact++) {
		j = config_json(cfg, redact);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j,
		    "state_dir")), cfg->state_dir);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(j, "control"), "mode")), "0700");
		prog = json_object_get(json_object_get(j, "programs"), "node");
		assert_non_null(prog);
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(prog, "command"), 0)), "/bin/true");
		env = json_object_get(prog, "environment");
		assert_int_equal(json_object_size(env), 14);
		assert_string_equal(json_string_value(json_object_get(env,
		    "DB_URL")), redact ? "postgres://u:(redacted)@db/x" :
		    "postgres://u:url123@db/x");
		for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
			assert_string_equal(json_string_value(json_object_get(
			    env, secret[i])), redact ? "(redacted)" :
			    value[i]);
		assert_string_equal(json_string_value(json_object_get(env,
		    "CHAIN")), "eos");
		assert_string_equal(json_string_value(json_object_get(env,
		    "DATA_DIR")), "/var/lib/eos");
		dump = json_dumps(j, 0);
		assert_non_null(dump);
		for (i = 0; i < sizeof(value) / sizeof(value[0]); i++)
			if ((strstr(dump, value[i]) != NULL) == redact)
				fail_msg("redact %d: \"%s\" %s in %s", redact,
				    value[i], redact ? "shown" : "missing",
				    dump);
		free(dump);
		json_decref(j);
	}
}

static void
test_autorestart_name(void **state)
{
	(void)state;
	assert_string_equal(config_autorestart_name(AUTORESTART_TRUE), "true");
	assert_string_equal(config_autorestart_name(AUTORESTART_FALSE),
	    "false");
	assert_string_equal(config_autorestart_name(AUTORESTART_UNEXPECTED),
	    "unexpected");
	config_free(NULL);
	config_program_free(NULL);
}

/* Files others may write, and a FIFO include, are refused with a message. */
static void
test_errors_untrusted_files(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	char		 path[2048];

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"
	    "include: conf.d/*.yaml\n"
	    "programs: {}\n", f->dir);
	write_file(f, "conf.d/a.yaml", "programs: {}\n");
	load_ok(f);

	chmod(f->main, 0666);
	e = load_bad(f);
	assert_non_null(strstr(e, "with mode 0666: it must belong to root"));
	chmod(f->main, 0644);

	snprintf(path, sizeof(path), "%s/conf.d", f->dir);
	chmod(path, 0777);
	e = load_bad(f);
	assert_non_null(strstr(e, "include: its folder"));
	assert_non_null(strstr(e, "mode 0777"));
	chmod(path, 0755);

	snprintf(path, sizeof(path), "%s/conf.d/b.yaml", f->dir);
	if (mkfifo(path, 0600) == -1)
		fail_msg("mkfifo %s", path);
	e = load_bad(f);
	assert_non_null(strstr(e, "b.yaml: not a regular file"));
}

/* Depth, node and size limits, and duplicates in a big mapping. */
static void
test_errors_limits(void **state)
{
	struct fx	*f = *state;
	const char	*e;
	FILE		*fp;
	int		 i;

	if ((fp = fopen(f->main, "w")) == NULL)
		fail_msg("cannot write %s", f->main);
	fprintf(fp, "programs:\n  a:\n    command: /bin/true\n"
	    "    environment: ");
	for (i = 0; i < 70; i++)
		fputc('[', fp);
	for (i = 0; i < 70; i++)
		fputc(']', fp);
	fputc('\n', fp);
	fclose(fp);
	e = load_bad(f);
	assert_non_null(strstr(e, "nested more than 64 levels deep"));

	if ((fp = fopen(f->main, "w")) == NULL)
		fail_msg("cannot write %s", f->main);
	fprintf(fp, "programs:\n  a:\n    command: /bin/true\n"
	    "    environment:\n");
	for (i = 0; i < 20000; i++)
		fprintf(fp, "      K%d: v\n", i);
	fprintf(fp, "      K7: again\n");
	fclose(fp);
	e = load_bad(f);
	expect_error(e, f->main, 20005, 7, "duplicate key \"K7\"");
	assert_int_equal(count_lines(e), 1);

	if ((fp = fopen(f->main, "w")) == NULL)
		fail_msg("cannot write %s", f->main);
	fprintf(fp, "programs:\n  a:\n    command: /bin/true\n"
	    "    environment:\n");
	for (i = 0; i < 60000; i++)
		fprintf(fp, "      K%d: v\n", i);
	fclose(fp);
	e = load_bad(f);
	assert_non_null(strstr(e, "more than 100000 nodes"));
}

/* depends_on items that wait for a probe: parsed, shown, compared. */
static void
test_depends_healthy(void **state)
{
	struct fx	*f = *state;
	struct config	*cfg;
	struct program_config *pc;
	json_t		*j, *d;
	const char	*e;

	write_file(f, "main.yaml",
	    "state_dir: %s/state\n"
	    "programs:\n"
	    "  node:\n"
	    "    command: /bin/true\n"
	    "    probes:\n"
	    "      - {kind: tcp, name: chain, port: 1}\n"
	    "  base:\n"
	    "    command: /bin/true\n"
	    "  pool:\n"
	    "    command: /bin/true\n"
	    "    depends_on: [base, {program: node, healthy: chain}, "
	    "{program: base}]\n", f->dir);
	cfg = load_ok(f);
	pc = config_find(cfg, "pool");
	assert_argv(pc->depends_on, (const char *const []){ "base", "node",
	    "base", NULL });
	assert_null(pc->depends_healthy[0]);
	assert_string_equal(pc->depends_healthy[1], "chain");
	assert_null(pc->depends_healthy[2]);
	j = config_program_json(pc, 0);
	d = json_object_get(j, "depends_on");
	assert_string_equal(json_string_value(json_array_get(d, 0)), "base");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(d, 1), "program")), "node");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(d, 1), "healthy")), "chain");
	json_decref(j);
	/* The plain form is unchanged; the healthy form differs from it. */
	pc = config_find(cfg, "node");
	assert_null(pc->depends_on[0]);
	assert_false(config_program_equal(config_find(cfg, "pool"),
	    config_find(cfg, "base")));

	write_file(f, "main.yaml",
	    "programs:\n"					/* 1 */
	    "  node:\n"					/* 2 */
	    "    command: /bin/true\n"			/* 3 */
	    "  a:\n"					/* 4 */
	    "    command: /bin/true\n"			/* 5 */
	    "    depends_on: [{program: node, healthy: chain}]\n" /* 6 */
	    "  b:\n"					/* 7 */
	    "    command: /bin/true\n"			/* 8 */
	    "    depends_on: [{healthy: chain}]\n"		/* 9 */
	    "  c:\n"					/* 10 */
	    "    command: /bin/true\n"			/* 11 */
	    "    depends_on: [{program: node, ready: x}]\n");	/* 12 */
	e = load_bad(f);
	expect_error(e, f->main, 4, 3, "program \"a\" waits for probe "
	    "\"chain\" of \"node\", which has no such probe");
	expect_error(e, f->main, 9, 18, "depends_on: an item needs program");
	expect_error(e, f->main, 12, 34, "depends_on: unknown key \"ready\" "
	    "(program, healthy)");
	assert_int_equal(count_lines(e), 3);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_default_state_dir),
		T(test_relative_path),
		T(test_every_key),
		T(test_exitcodes_forms),
		T(test_jitter_forms),
		T(test_command_forms),
		T(test_include),
		T(test_empty),
		T(test_errors_collected),
		T(test_errors_unknown_keys),
		T(test_errors_wrong_types),
		T(test_errors_bad_values),
		T(test_errors_empty_command),
		T(test_errors_duplicate_keys),
		T(test_errors_duplicate_program_include),
		T(test_errors_include_non_program_keys),
		T(test_errors_unknown_depends_on),
		T(test_errors_cycle),
		T(test_depends_healthy),
		T(test_errors_yaml_syntax),
		T(test_errors_missing_file),
		T(test_program_equal),
		T(test_json_redact),
		T(test_errors_untrusted_files),
		T(test_errors_limits),
		cmocka_unit_test(test_autorestart_name),
	};

	config_use_kinds(&config_kinds_all);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
