/*
 * Unit tests for lib/util.c: durations, sizes, signal names and the
 * shell-like command splitter; and for the growable buffer of lib/buf.c,
 * the kind registry of lib/registry.c and the reads of lib/procfs.c.
 */
#include "autoconf.h"

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

#include "buf.h"
#include "procfs.h"
#include "registry.h"
#include "util.h"

/* A duration that must parse to want milliseconds. */
static void
duration_ok(const char *s, int64_t want)
{
	int64_t		 ms = -12345;
	const char	*err = "unset";

	if (parse_duration(s, &ms, &err) != 0)
		fail_msg("parse_duration(\"%s\") failed: %s", s, err);
	assert_null(err);
	if (ms != want)
		fail_msg("parse_duration(\"%s\") = %lld, want %lld", s,
		    (long long)ms, (long long)want);
}

/* A duration that must be refused, with a message naming why. */
static void
duration_bad(const char *s, const char *why)
{
	int64_t		 ms = -12345;
	const char	*err = NULL;

	if (parse_duration(s, &ms, &err) != -1)
		fail_msg("parse_duration(\"%s\") accepted: %lld", s,
		    (long long)ms);
	assert_non_null(err);
	if (strstr(err, why) == NULL)
		fail_msg("parse_duration(\"%s\"): \"%s\" lacks \"%s\"", s,
		    err, why);
}

static void
test_duration_units(void **state)
{
	(void)state;
	duration_ok("500ms", 500);
	duration_ok("0ms", 0);
	duration_ok("10s", 10000);
	duration_ok("2m", 120000);
	duration_ok("2min", 120000);
	duration_ok("1h", 3600000);
	duration_ok("1d", 86400000);
	duration_ok("  3s", 3000);
}

static void
test_duration_bare_seconds(void **state)
{
	(void)state;
	/* supervisord's startsecs=1 and stopwaitsecs=10 are seconds. */
	duration_ok("1", 1000);
	duration_ok("10", 10000);
	duration_ok("0", 0);
}

static void
test_duration_fractions(void **state)
{
	(void)state;
	duration_ok("1.5s", 1500);
	duration_ok("0.25", 250);
	duration_ok("0.5m", 30000);
	duration_ok("1.5ms", 2);	/* rounded to the nearest ms */
	duration_ok("0.4ms", 0);
	duration_ok("0.001", 1);
}

static void
test_duration_bad_units(void **state)
{
	(void)state;
	duration_bad("10x", "unknown duration unit");
	duration_bad("10sec", "unknown duration unit");
	duration_bad("10 s", "unknown duration unit");
	duration_bad("5mss", "unknown duration unit");
	duration_bad("ms", "expected a duration");
	duration_bad("abc", "expected a duration");
	duration_bad("nan", "expected a duration");
}

static void
test_duration_negative_empty(void **state)
{
	(void)state;
	duration_bad("-1s", "expected a duration");
	duration_bad("-0", "expected a duration");
	duration_bad("+5s", "expected a duration");
	duration_bad(" -5", "expected a duration");
	duration_bad("", "expected a duration");
	duration_bad("   ", "expected a duration");
}

static void
test_duration_overflow(void **state)
{
	(void)state;
	duration_ok("1000000000000000ms", 1000000000000000LL);
	duration_bad("1000000000000001ms", "too large");
	duration_bad("1e300", "too large");
	duration_bad("99999999999999999999h", "too large");
	duration_bad("inf", "too large");
	duration_bad("1e400s", "expected a duration");	/* ERANGE */
}

static void
size_ok(const char *s, int64_t want)
{
	int64_t		 b = -12345;
	const char	*err = "unset";

	if (parse_size(s, &b, &err) != 0)
		fail_msg("parse_size(\"%s\") failed: %s", s, err);
	assert_null(err);
	if (b != want)
		fail_msg("parse_size(\"%s\") = %lld, want %lld", s,
		    (long long)b, (long long)want);
}

static void
size_bad(const char *s, const char *why)
{
	int64_t		 b = -12345;
	const char	*err = NULL;

	if (parse_size(s, &b, &err) != -1)
		fail_msg("parse_size(\"%s\") accepted: %lld", s,
		    (long long)b);
	assert_non_null(err);
	if (strstr(err, why) == NULL)
		fail_msg("parse_size(\"%s\"): \"%s\" lacks \"%s\"", s, err,
		    why);
}

static void
test_size_units(void **state)
{
	(void)state;
	size_ok("512KB", 512 * 1024);
	size_ok("50MB", 50 * 1024 * 1024);
	size_ok("1GB", 1024LL * 1024 * 1024);
	size_ok("8GB", 8LL * 1024 * 1024 * 1024);
	size_ok("1kb", 1024);
	size_ok("1K", 1024);
	size_ok("1KiB", 1024);
	size_ok("3M", 3 * 1024 * 1024);
	size_ok("2MiB", 2 * 1024 * 1024);
	size_ok("1G", 1024LL * 1024 * 1024);
	size_ok("2 MB", 2 * 1024 * 1024);
	size_ok("1.5KB", 1536);
}

static void
test_size_bare_bytes(void **state)
{
	(void)state;
	size_ok("4096", 4096);
	size_ok("0", 0);
	size_ok("10B", 10);
	size_ok("  7", 7);
}

static void
test_size_bad(void **state)
{
	(void)state;
	size_bad("", "expected a size");
	size_bad("   ", "expected a size");
	size_bad("-1", "expected a size");
	size_bad("-1KB", "expected a size");
	size_bad("+1", "expected a size");
	size_bad("MB", "expected a size");
	size_bad("lots", "expected a size");
	size_bad("nan", "expected a size");
	size_bad("1TB", "unknown size unit");
	size_bad("10XB", "unknown size unit");
	size_bad("10KBs", "unknown size unit");
	size_bad("1e30", "too large");
	size_bad("9000000000GB", "too large");
}

static void
test_parse_signal(void **state)
{
	(void)state;
	assert_int_equal(parse_signal("TERM"), SIGTERM);
	assert_int_equal(parse_signal("SIGTERM"), SIGTERM);
	assert_int_equal(parse_signal("term"), SIGTERM);
	assert_int_equal(parse_signal("sigkill"), SIGKILL);
	assert_int_equal(parse_signal("HUP"), SIGHUP);
	assert_int_equal(parse_signal("INT"), SIGINT);
	assert_int_equal(parse_signal("QUIT"), SIGQUIT);
	assert_int_equal(parse_signal("USR1"), SIGUSR1);
	assert_int_equal(parse_signal("SIGUSR2"), SIGUSR2);
	assert_int_equal(parse_signal("15"), 15);
	assert_int_equal(parse_signal("9"), 9);
	assert_int_equal(parse_signal("1"), 1);
	assert_int_equal(parse_signal("64"), 64);
}

static void
test_parse_signal_bad(void **state)
{
	(void)state;
	assert_int_equal(parse_signal(""), -1);
	assert_int_equal(parse_signal("SIG"), -1);
	assert_int_equal(parse_signal("TERMINATE"), -1);
	assert_int_equal(parse_signal("NOPE"), -1);
	assert_int_equal(parse_signal("0"), -1);
	assert_int_equal(parse_signal("-9"), -1);
	assert_int_equal(parse_signal("15x"), -1);
	assert_int_equal(parse_signal("65"), -1);
	assert_int_equal(parse_signal("99999999999999999999"), -1);
}

static void
test_signal_name(void **state)
{
	static const int	 sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGABRT,
				    SIGKILL, SIGUSR1, SIGUSR2, SIGALRM,
				    SIGTERM, SIGCONT, SIGSTOP, SIGTSTP,
				    SIGWINCH };
	size_t			 i;
	char			 buf[32];

	(void)state;
	assert_string_equal(signal_name(SIGTERM), "TERM");
	assert_string_equal(signal_name(SIGKILL), "KILL");
	assert_string_equal(signal_name(SIGHUP), "HUP");
	/* Every name round-trips through parse_signal, with and without SIG. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		assert_int_equal(parse_signal(signal_name(sigs[i])), sigs[i]);
		snprintf(buf, sizeof(buf), "SIG%s", signal_name(sigs[i]));
		assert_int_equal(parse_signal(buf), sigs[i]);
	}
	/* A signal without a name is shown as its number. */
	snprintf(buf, sizeof(buf), "%d", SIGRTMIN + 1);
	assert_string_equal(signal_name(SIGRTMIN + 1), buf);
	assert_string_equal(signal_name(999), "999");
}

/* Split s and compare with the NULL-terminated list of expected words. */
static void
split_ok(const char *s, ...)
{
	va_list		 ap;
	char		**argv;
	const char	*err = "unset", *w;
	size_t		 i = 0;

	argv = split_command(s, &err);
	if (argv == NULL)
		fail_msg("split_command(\"%s\") failed: %s", s, err);
	assert_null(err);
	va_start(ap, s);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (argv[i] == NULL)
			fail_msg("split_command(\"%s\"): %zu words, want more",
			    s, i);
		if (strcmp(argv[i], w) != 0)
			fail_msg("split_command(\"%s\"): word %zu is [%s], "
			    "want [%s]", s, i, argv[i], w);
		i++;
	}
	va_end(ap);
	if (argv[i] != NULL)
		fail_msg("split_command(\"%s\"): extra word [%s]", s, argv[i]);
	assert_int_equal(argv_len(argv), i);
	free_argv(argv);
}

static void
split_bad(const char *s, const char *why)
{
	char		**argv;
	const char	*err = NULL;

	argv = split_command(s, &err);
	if (argv != NULL) {
		free_argv(argv);
		fail_msg("split_command(\"%s\") accepted", s);
	}
	assert_non_null(err);
	if (strstr(err, why) == NULL)
		fail_msg("split_command(\"%s\"): \"%s\" lacks \"%s\"", s, err,
		    why);
}

static void
test_split_plain(void **state)
{
	(void)state;
	split_ok("/bin/true", "/bin/true", NULL);
	split_ok("nodeos --data-dir /var/lib/eos -e", "nodeos",
	    "--data-dir", "/var/lib/eos", "-e", NULL);
	split_ok("  a \t b\n c  ", "a", "b", "c", NULL);
}

static void
test_split_quotes(void **state)
{
	(void)state;
	split_ok("sh -c 'echo a  b; exit 2'", "sh", "-c", "echo a  b; exit 2",
	    NULL);
	split_ok("echo \"two  words\" x", "echo", "two  words", "x", NULL);
	/* Adjacent quoted and bare parts make one word. */
	split_ok("ab\"cd\"'ef'g", "abcdefg", NULL);
	/* Empty quotes are an empty word. */
	split_ok("a '' \"\" b", "a", "", "", "b", NULL);
	/* Single quotes are literal, backslashes included. */
	split_ok("'a\\b' '\"'", "a\\b", "\"", NULL);
	/* Double quotes do not nest single ones. */
	split_ok("\"it's\"", "it's", NULL);
}

static void
test_split_escapes(void **state)
{
	(void)state;
	split_ok("a\\ b c", "a b", "c", NULL);
	split_ok("\\'x\\\"", "'x\"", NULL);
	split_ok("\\\\", "\\", NULL);
	/* In double quotes only \" \\ \$ \` are escapes. */
	split_ok("\"\\\" \\\\ \\$HOME \\` \\x\"", "\" \\ $HOME ` \\x", NULL);
	/* Nothing is expanded. */
	split_ok("echo $HOME `id` *", "echo", "$HOME", "`id`", "*", NULL);
}

static void
test_split_errors(void **state)
{
	(void)state;
	split_bad("echo 'abc", "unterminated quote");
	split_bad("echo \"abc", "unterminated quote");
	split_bad("echo \"abc\\\"", "unterminated quote");
	split_bad("'", "unterminated quote");
	split_bad("echo abc\\", "trailing backslash");
	split_bad("", "empty command");
	split_bad("   \t\n", "empty command");
}

static void
test_argv_helpers(void **state)
{
	char	*v[] = { "a", "b", NULL };

	(void)state;
	assert_int_equal(argv_len(NULL), 0);
	assert_int_equal(argv_len(v), 2);
	free_argv(NULL);	/* must not crash */
}

/* tail_append keeps the last size - 1 bytes, in order, however fed. */
static void
test_tail_append(void **state)
{
	char	 buf[8];
	size_t	 len = 0;

	(void)state;
	tail_append(buf, sizeof(buf), &len, "abc", 3);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	tail_append(buf, sizeof(buf), &len, "defg", 4);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "abcdefg", 7);
	/* Full: the oldest go. */
	tail_append(buf, sizeof(buf), &len, "hi", 2);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "cdefghi", 7);
	/* More than fits at once: only its own tail. */
	tail_append(buf, sizeof(buf), &len, "0123456789", 10);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "3456789", 7);
	tail_append(buf, sizeof(buf), &len, "", 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "3456789", 7);
}

static void
test_buf(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 big[1000], *s;
	size_t		 i;

	(void)state;
	/* Empty: taken as "", and room made is an empty string. */
	s = buf_take(&b);
	assert_string_equal(s, "");
	free(s);
	buf_need(&b, 10);
	assert_string_equal(b.s, "");
	assert_int_equal(b.len, 0);
	buf_add(&b, "ab\0c", 4);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.s, "ab\0c", 5);
	buf_free(&b);
	assert_null(b.s);
	/* Growing past the first block, and printf past its small buffer. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 100; i++)
		buf_adds(&b, "0123456789");
	buf_printf(&b, "<%s>%d", big, 42);
	assert_int_equal(b.len, 1000 + 2 + 999 + 2);
	assert_int_equal(strlen(b.s), b.len);
	assert_memory_equal(b.s + 990, "0123456789<x", 12);
	assert_string_equal(b.s + b.len - 4, "x>42");
	s = buf_take(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(strlen(s), 2003);
	free(s);
}

struct test_kind {
	const char	*name;
	int		 value;
};

static void
test_registry(void **state)
{
	static const struct test_kind	 a = { "alpha", 1 }, b = { "beta", 2 };
	static const void *const	 kinds[] = { &a, &b };
	static struct registry		 r = REGISTRY_INIT(kinds);
	const struct test_kind		*k;

	(void)state;
	k = registry_find(&r, "beta");
	assert_ptr_equal(k, &b);
	assert_int_equal(k->value, 2);
	assert_ptr_equal(registry_find(&r, "alpha"), &a);
	assert_null(registry_find(&r, "gamma"));
	assert_null(registry_find(&r, ""));
	assert_string_equal(registry_names(&r), "alpha, beta");
	assert_string_equal(registry_names(&r), "alpha, beta");
}

static void
test_procfs(void **state)
{
	char	 path[] = "/tmp/ck-test-procfs.XXXXXX", buf[8];
	int	 fd;

	(void)state;
	if ((fd = mkstemp(path)) == -1)
		fail_msg("mkstemp");
	/* Empty: nothing to read. */
	assert_int_equal(procfs_read(path, buf, sizeof(buf)), -1);
	/* What fits, NUL-terminated. */
	if (write(fd, "0123456789", 10) != 10)
		fail_msg("write");
	close(fd);
	assert_int_equal(procfs_read(path, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "0123456");
	unlink(path);
	assert_int_equal(procfs_read(path, buf, sizeof(buf)), -1);
	/* /proc/PID/NAME: this process's name, cut to fit. */
	assert_int_equal(procfs_read_pid(getpid(), "comm", buf, sizeof(buf)),
	    7);
	assert_int_equal(strlen(buf), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_bare_seconds),
		cmocka_unit_test(test_duration_fractions),
		cmocka_unit_test(test_duration_bad_units),
		cmocka_unit_test(test_duration_negative_empty),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_size_bare_bytes),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_parse_signal),
		cmocka_unit_test(test_parse_signal_bad),
		cmocka_unit_test(test_signal_name),
		cmocka_unit_test(test_split_plain),
		cmocka_unit_test(test_split_quotes),
		cmocka_unit_test(test_split_escapes),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_argv_helpers),
		cmocka_unit_test(test_tail_append),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_procfs),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
