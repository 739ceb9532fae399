/*
 * Unit tests for lib/secret.c: the checks on secret files (type,
 * mode, symbolic links, absolute paths), reading the first line, quoting
 * for JSON bodies, and scrubbing secrets out of replies, raw or
 * JSON-escaped.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "secret.h"

static char	dir[64];

/* A file in the test folder with the given content and mode. */
static const char *
mkfile(const char *name, const char *content, mode_t mode)
{
	static char	 path[160];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("cannot create %s", path);
	fputs(content, f);
	fclose(f);
	if (chmod(path, mode) == -1)
		fail_msg("cannot chmod %s", path);
	return (path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ck-test-secret.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* A check that must fail with a message containing want. */
static void
check_bad(const char *path, int want_rc, const char *want)
{
	char	*err = NULL;

	assert_int_equal(secret_file_check(path, &err), want_rc);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("secret_file_check(%s): \"%s\" lacks \"%s\"", path,
		    err, want);
	free(err);
}

static void
test_check(void **state)
{
	char		*err = (char *)"unset";
	char		 link[200];
	const char	*p;

	(void)state;
	p = mkfile("ok", "s3cret\n", 0600);
	assert_int_equal(secret_file_check(p, &err), 0);
	assert_null(err);
	p = mkfile("ro", "s3cret\n", 0400);
	assert_int_equal(secret_file_check(p, &err), 0);

	p = mkfile("group", "s3cret\n", 0640);
	check_bad(p, -1, "is open to its group or others (mode 0640)");
	p = mkfile("other", "s3cret\n", 0604);
	check_bad(p, -1, "(mode 0604)");
	p = mkfile("gwrite", "s3cret\n", 0620);
	check_bad(p, -1, "chmod 600");
	p = mkfile("empty", "", 0600);
	check_bad(p, -1, "is empty");
	/* Another uid's file, when there is one to give it to. */
	if (geteuid() == 0) {
		p = mkfile("theirs", "s3cret\n", 0600);
		if (chown(p, 65534, (gid_t)-1) == -1)
			fail_msg("chown %s", p);
		check_bad(p, -1, "is owned by uid 65534");
	}

	snprintf(link, sizeof(link), "%s/link", dir);
	if (symlink(mkfile("target", "s3cret\n", 0600), link) == -1)
		fail_msg("symlink");
	check_bad(link, -1, "is a symbolic link");
	check_bad(dir, -1, "is not a regular file");
	check_bad("relative/key", -1, "needs an absolute path");

	snprintf(link, sizeof(link), "%s/nosuch", dir);
	check_bad(link, SECRET_MISSING, "No such file");
}

static void
test_read(void **state)
{
	char		*err = NULL, *s;
	char		 link[200];
	const char	*p;

	(void)state;
	p = mkfile("two", "first line\nsecond\n", 0600);
	s = secret_file_read(p, &err);
	assert_non_null(s);
	assert_string_equal(s, "first line");
	secret_free(s);

	p = mkfile("crlf", "pw\r\n", 0600);
	s = secret_file_read(p, &err);
	assert_string_equal(s, "pw");
	secret_free(s);

	p = mkfile("noeol", "abc", 0600);
	s = secret_file_read(p, &err);
	assert_string_equal(s, "abc");
	secret_free(s);

	p = mkfile("blank", "\nsecond\n", 0600);
	assert_null(secret_file_read(p, &err));
	assert_non_null(strstr(err, "empty first line"));
	free(err);

	/* The mode is checked again at every read. */
	p = mkfile("opened", "pw\n", 0644);
	assert_null(secret_file_read(p, &err));
	assert_non_null(strstr(err, "open to its group or others"));
	free(err);
	secret_free(NULL);

	/* A file another program keeps (a cookie): any mode, no link. */
	s = secret_file_read_any(p, &err);
	assert_string_equal(s, "pw");
	secret_free(s);
	p = mkfile("cookie-blank", "\n", 0644);
	assert_null(secret_file_read_any(p, &err));
	assert_non_null(strstr(err, "empty first line"));
	free(err);
	snprintf(link, sizeof(link), "%s/cookie-link", dir);
	if (symlink(p, link) == -1)
		fail_msg("symlink");
	assert_null(secret_file_read_any(link, &err));
	assert_non_null(strstr(err, "cannot read"));
	free(err);
}

static void
test_quote(void **state)
{
	char	*q;

	(void)state;
	q = secret_json_quote("plain");
	assert_string_equal(q, "\"plain\"");
	secret_free(q);
	q = secret_json_quote("a\"b\\c\td\x01");
	assert_string_equal(q, "\"a\\\"b\\\\c\\u0009d\\u0001\"");
	secret_free(q);
	q = secret_json_quote("");
	assert_string_equal(q, "\"\"");
	secret_free(q);
}

/* scrub(text, secrets...) must give want. */
static void
scrub_is(const char *text, const char *const *secrets, const char *want)
{
	char	*out;
	size_t	 len;

	out = secret_scrub(text, strlen(text), secrets, &len);
	if (strcmp(out, want) != 0)
		fail_msg("scrub(\"%s\") = \"%s\", want \"%s\"", text, out,
		    want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void
test_scrub(void **state)
{
	const char *const key[] = { "00ff00ff", NULL };
	const char *const two[] = { "pw\"1", "\xc3\xa9t\xc3\xa9", NULL };
	const char *const none[] = { NULL };
	const char *const empty[] = { "", NULL };
	const char *const slash[] = { "s3cr/t", NULL };
	const char *const php[] = { "\xc3\xa9/x", NULL };
	const char *const ctl[] = { "a\tb\bc", NULL };
	const char *const nested[] = { "abc", "abcdef", NULL };
	char	*out;
	size_t	 len;

	(void)state;
	scrub_is("error: bad key 00ff00ff here", key,
	    "error: bad key (redacted) here");
	scrub_is("00ff00ff00ff00ff", key, "(redacted)(redacted)");
	scrub_is("no secret", key, "no secret");
	scrub_is("", key, "");
	scrub_is("0", key, "0");
	/* Raw, JSON-escaped, and \u-escaped as Python writes it. */
	scrub_is("[\"pw\\\"1\"] and pw\"1", two,
	    "[\"(redacted)\"] and (redacted)");
	scrub_is("x \xc3\xa9t\xc3\xa9 y \\u00e9t\\u00e9", two,
	    "x (redacted) y (redacted)");
	scrub_is("untouched", none, "untouched");
	scrub_is("empty secrets change nothing", empty,
	    "empty secrets change nothing");
	/* URL-encoded, and JSON with escaped slashes (PHP). */
	scrub_is("key=s3cr%2Ft&x or s3cr/t or \"s3cr\\/t\"", slash,
	    "key=(redacted)&x or (redacted) or \"(redacted)\"");
	/* PHP's json_encode: \/ and lower-case \u escapes together. */
	scrub_is("{\"k\":\"\\u00e9\\/x\"}", php, "{\"k\":\"(redacted)\"}");
	/* A tab and a backspace as our own JSON templates escape them. */
	scrub_is("[\"a\\tb\\u0008c\"]", ctl, "[\"(redacted)\"]");
	/* The longest form wins: a secret inside another is no leak. */
	scrub_is("xabcdefx", nested, "x(redacted)x");
	/* Bytes after a NUL are scrubbed too. */
	out = secret_scrub("a\0 00ff00ff", 11, key, &len);
	assert_int_equal(len, 13);
	assert_memory_equal(out, "a\0 (redacted)", 14);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_scrub),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
