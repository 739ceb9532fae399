/*
 * Unit tests for the nodeos probe's pure parts (probes/probe-nodeos-check.c
 * over lib/rpc-reply.c): get_info and paused reply parsing fed good,
 * garbage, truncated, huge and wrong-typed replies; error bodies; the
 * evaluation of samples (head and LIB stalls, head age, producers seen in
 * the window); and parse_utc_time() from util.c, which it relies on.  It
 * links only those, util, log, jansson and cmocka: no curl, no libev, no
 * daemon (the kind's settings are in test_probe_config).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "probe.h"
#include "probe-nodeos.h"
#include "util.h"

/* Leap 3.1's get_info, from chain-apis.md. */
static const char leap3[] =
    "{\"server_version\":\"f36e59e5\",\"chain_id\":\"4a920ae9b3b9c99e7954"
    "2834f2332201d9393adfca26cdcca10aa3fd4a3dc68d\",\"head_block_num\":362,"
    "\"last_irreversible_block_num\":361,\"last_irreversible_block_id\":"
    "\"0000016993d6b2d1\",\"head_block_id\":\"0000016a079b188b\","
    "\"head_block_time\":\"2022-10-14T06:06:53.500\",\"head_block_producer\":"
    "\"eosio\",\"virtual_block_cpu_limit\":286788,\"virtual_block_net_limit\""
    ":1504517,\"block_cpu_limit\":199900,\"block_net_limit\":1048576,"
    "\"server_version_string\":\"v3.1.0\",\"fork_db_head_block_num\":362,"
    "\"fork_db_head_block_id\":\"0000016a\",\"server_full_version_string\":"
    "\"v3.1.0-f36e59e5\",\"earliest_available_block_num\":1,"
    "\"last_irreversible_block_time\":\"2022-10-14T06:06:53.000\"}";

/* 2022-10-14T06:06:53.500 UTC in ms. */
#define LEAP3_MS	1665727613500LL

/* get_info with head, lib, producer and time as raw JSON values. */
static char *
info_json(const char *head, const char *lib, const char *prod,
    const char *t)
{
	char	*s;

	xasprintf(&s, "{\"head_block_num\":%s,\"last_irreversible_block_num\""
	    ":%s,\"head_block_producer\":%s,\"head_block_time\":%s}", head, lib,
	    prod, t);
	return (s);
}

/* Parsing must fail with a reason containing want. */
static void
info_bad(const char *body, size_t len, const char *want)
{
	struct nodeos_info	 ni;
	char			 err[160];

	err[0] = '\0';
	if (nodeos_parse_info(body, len, &ni, err, sizeof(err)) != -1)
		fail_msg("accepted: %.*s", (int)(len > 200 ? 200 : len), body);
	if (strchr(err, '\n') != NULL)
		fail_msg("reason has a newline: %s", err);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void
info_bad_fields(const char *head, const char *lib, const char *prod,
    const char *t, const char *want)
{
	char	*s = info_json(head, lib, prod, t);

	info_bad(s, strlen(s), want);
	free(s);
}

static void
test_info_leap3(void **state)
{
	struct nodeos_info	 ni;
	char			 err[160] = "";

	(void)state;
	assert_int_equal(nodeos_parse_info(leap3, strlen(leap3), &ni, err,
	    sizeof(err)), 0);
	assert_int_equal(ni.head, 362);
	assert_int_equal(ni.lib, 361);
	assert_string_equal(ni.producer, "eosio");
	assert_string_equal(ni.head_time, "2022-10-14T06:06:53.500");
	assert_int_equal(ni.head_time_ms, LEAP3_MS);
	assert_string_equal(ni.version, "v3.1.0");
}

static void
test_info_minimal(void **state)
{
	struct nodeos_info	 ni;
	char			 err[160] = "";
	char			*s;

	(void)state;
	/* EOSIO 1.x style without a version, whole-second time. */
	s = info_json("4294967295", "0", "\"a.b.c12345\"",
	    "\"2018-11-25T23:04:02\"");
	assert_int_equal(nodeos_parse_info(s, strlen(s), &ni, err,
	    sizeof(err)), 0);
	assert_int_equal(ni.head, 4294967295LL);
	assert_int_equal(ni.lib, 0);
	assert_string_equal(ni.version, "");
	free(s);
	/* server_version_string: null, a number, or odd bytes are ignored */
	s = strdup("{\"head_block_num\":1,\"last_irreversible_block_num\":1,"
	    "\"head_block_producer\":\"x\",\"head_block_time\":"
	    "\"2022-01-01T00:00:00.000\",\"server_version_string\":\"v1\\n"
	    "evil\"}");
	assert_int_equal(nodeos_parse_info(s, strlen(s), &ni, err,
	    sizeof(err)), 0);
	assert_string_equal(ni.version, "v1");
	free(s);
	s = strdup("{\"head_block_num\":1,\"last_irreversible_block_num\":1,"
	    "\"head_block_producer\":\"x\",\"head_block_time\":"
	    "\"2022-01-01T00:00:00.000\",\"server_version_string\":7}");
	info_bad(s, strlen(s), "server_version_string is an integer");
	free(s);
}

static void
test_info_garbage(void **state)
{
	static const char *const bad[] = {
		"", " ", "not json", "{", "}", "[]", "null", "123", "\"s\"",
		"true", "{\"head_block_num\":}", "<html>502</html>",
		"{\"a\":1}{\"b\":2}", "\xff\xfe{}", NULL
	};
	const char *const *b;

	(void)state;
	for (b = bad; *b != NULL; b++)
		info_bad(*b, strlen(*b), NULL);
	info_bad("[]", 2, "not an object");
	info_bad("{}", 2, "get_info has no head_block_num");
	info_bad("garbage", 7, "not JSON");
	info_bad("", 0, "get_info reply is empty");
	/* NUL bytes: jansson skips one between tokens, refuses one in a
	 * string. */
	info_bad("{\"head_block_num\":1\0}", 21, "no last_irreversible");
	/* Deep nesting is refused, not recursed into forever. */
	{
		char	*deep;
		size_t	 i, n = 100000;

		deep = xmalloc(2 * n + 1);
		for (i = 0; i < n; i++) {
			deep[i] = '[';
			deep[n + i] = ']';
		}
		deep[2 * n] = '\0';
		info_bad(deep, 2 * n, NULL);
		free(deep);
	}
}

static void
test_info_truncated(void **state)
{
	struct nodeos_info	 ni;
	char			 err[160];
	size_t			 n, len = strlen(leap3);

	(void)state;
	/* Every proper prefix of a good reply is refused. */
	for (n = 0; n < len; n++) {
		if (nodeos_parse_info(leap3, n, &ni, err, sizeof(err)) != -1)
			fail_msg("a %zu-byte prefix was accepted", n);
		assert_non_null(strstr(err, n == 0 ? "reply is empty" :
		    "not JSON"));
	}
}

static void
test_info_wrong_types(void **state)
{
	(void)state;
	info_bad_fields("\"362\"", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is a string, not an integer");
	info_bad_fields("362.5", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is a real");
	info_bad_fields("-1", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is negative");
	info_bad_fields("null", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is null");
	info_bad_fields("true", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is a boolean");
	info_bad_fields("{}", "1", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "head_block_num is an object");
	info_bad_fields("99999999999999999999", "1", "\"p\"",
	    "\"2022-01-01T00:00:00\"", "not JSON");
	info_bad_fields("1", "[1]", "\"p\"", "\"2022-01-01T00:00:00\"",
	    "last_irreversible_block_num is an array");
	info_bad_fields("1", "1", "12345", "\"2022-01-01T00:00:00\"",
	    "head_block_producer is an integer, not a string");
	info_bad_fields("1", "1", "\"\"", "\"2022-01-01T00:00:00\"",
	    "head_block_producer has 0 characters");
	info_bad_fields("1", "1",
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	    "\"2022-01-01T00:00:00\"", "head_block_producer has 58 characters");
	info_bad_fields("1", "1", "\"bad\\nname\"", "\"2022-01-01T00:00:00\"",
	    "control or non-ASCII");
	info_bad_fields("1", "1", "\"bad\\u0000name\"",
	    "\"2022-01-01T00:00:00\"", "not JSON");
	info_bad_fields("1", "1", "\"caf\\u00e9\"", "\"2022-01-01T00:00:00\"",
	    "control or non-ASCII");
	info_bad_fields("1", "1", "\"p\"", "null",
	    "head_block_time is null, not a string");
	info_bad_fields("1", "1", "\"p\"", "1665727613",
	    "head_block_time is an integer");
	info_bad_fields("1", "1", "\"p\"", "\"yesterday\"",
	    "head_block_time \"yesterday\" is not a time");
	info_bad_fields("1", "1", "\"p\"", "\"2022-02-30T00:00:00\"",
	    "is not a time");
	info_bad_fields("1", "1", "\"p\"",
	    "\"2022-10-14T06:06:53.500+08:00\"", "is not a time");
	info_bad("{\"head_block_num\":1}", 20,
	    "get_info has no last_irreversible_block_num");
}

static void
test_info_huge(void **state)
{
	struct nodeos_info	 ni;
	char			 err[160];
	char			*big;
	size_t			 pad = 8 * 1024 * 1024, n;

	(void)state;
	/* A valid 8 MB reply still parses (the size cap is http's job). */
	big = xmalloc(pad + 2048);
	n = (size_t)snprintf(big, 2048, "{\"padding\":\"");
	memset(big + n, 'x', pad);
	n += pad;
	n += (size_t)snprintf(big + n, 2048, "\",%s", leap3 + 1);
	assert_int_equal(nodeos_parse_info(big, n, &ni, err, sizeof(err)), 0);
	assert_int_equal(ni.head, 362);
	/* Cut in the middle of the padding. */
	info_bad(big, pad / 2, "not JSON");
	free(big);
}

static void
test_paused(void **state)
{
	char	 err[160];
	int	 paused = -1;

	(void)state;
	assert_int_equal(nodeos_parse_paused("true", 4, &paused, err,
	    sizeof(err)), 0);
	assert_int_equal(paused, 1);
	assert_int_equal(nodeos_parse_paused(" false\n", 7, &paused, err,
	    sizeof(err)), 0);
	assert_int_equal(paused, 0);
	assert_int_equal(nodeos_parse_paused("\"true\"", 6, &paused, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "paused reply is a string"));
	assert_int_equal(nodeos_parse_paused("1", 1, &paused, err,
	    sizeof(err)), -1);
	assert_int_equal(nodeos_parse_paused("", 0, &paused, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "paused reply is empty"));
	assert_int_equal(nodeos_parse_paused(" ", 1, &paused, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(nodeos_parse_paused("tru", 3, &paused, err,
	    sizeof(err)), -1);
	assert_int_equal(nodeos_parse_paused("{\"result\":\"ok\"}", 15,
	    &paused, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "an object, not true or false"));
}

static void
test_error_text(void **state)
{
	static const char e500[] = "{\"code\":500,\"message\":\"Internal "
	    "Service Error\",\"error\":{\"code\":3010004,\"name\":\"x\","
	    "\"what\":\"Invalid\\npacked transaction\",\"details\":[{"
	    "\"message\":\"bad sig\"}]}}";
	char	 out[160];
	char	 longbody[4000];

	(void)state;
	nodeos_error_text(500, e500, strlen(e500), out, sizeof(out));
	assert_string_equal(out, "HTTP 500: Invalid packed transaction: bad "
	    "sig");
	nodeos_error_text(500, "{\"message\":\"m\"}", 15, out, sizeof(out));
	assert_string_equal(out, "HTTP 500: m");
	nodeos_error_text(404, "", 0, out, sizeof(out));
	assert_string_equal(out, "HTTP 404");
	nodeos_error_text(502, "<html>\r\n<h1>Bad</h1>", 20, out, sizeof(out));
	assert_string_equal(out, "HTTP 502: <html>  <h1>Bad</h1>");
	nodeos_error_text(401, "{\"error\":7}", 11, out, sizeof(out));
	assert_string_equal(out, "HTTP 401");
	memset(longbody, 'z', sizeof(longbody));
	nodeos_error_text(500, longbody, sizeof(longbody), out, sizeof(out));
	assert_true(strlen(out) < 80);
	nodeos_error_text(500, longbody, sizeof(longbody), out, 10);
	assert_string_equal(out, "HTTP 500:");
}

/* A sample for nodeos_eval(). */
static struct nodeos_info
sample(int64_t head, int64_t lib, const char *prod, int64_t head_ms)
{
	struct nodeos_info	 ni;

	memset(&ni, 0, sizeof(ni));
	ni.head = head;
	ni.lib = lib;
	snprintf(ni.producer, sizeof(ni.producer), "%s", prod);
	ni.head_time_ms = head_ms;
	snprintf(ni.head_time, sizeof(ni.head_time), "t");
	return (ni);
}

static int
eval(struct nodeos_state *st, const struct nodeos_limits *lim,
    struct nodeos_info ni, int64_t mono, int64_t wall, char *reason,
    json_t **detail)
{
	json_t	*d = NULL;
	int	 rc;

	rc = nodeos_eval(st, lim, &ni, mono, wall, &d, reason, 200);
	assert_non_null(d);
	if (detail != NULL)
		*detail = d;
	else
		json_decref(d);
	return (rc);
}

static void
test_eval_stalls(void **state)
{
	struct nodeos_state	 st;
	struct nodeos_limits	 lim = { 10000, 20000, 30000, 60000, 0 };
	char			 r[200];
	json_t			*d;
	int64_t			 t, wall = 1700000000000LL;

	(void)state;
	memset(&st, 0, sizeof(st));
	/* Advancing every second: fine. */
	for (t = 0; t <= 30000; t += 1000)
		assert_int_equal(eval(&st, &lim, sample(100 + t / 500,
		    50 + t / 500, "bpa", wall + t), 1000000 + t, wall + t, r,
		    NULL), PROBE_OK);
	assert_non_null(strstr(r, "head 160 by bpa, LIB 110"));
	/* The head stops at 160 (t=30 s); 9 s later still fine. */
	assert_int_equal(eval(&st, &lim, sample(160, 110, "bpa", wall + 30000),
	    1039000, wall + 39000, r, NULL), PROBE_OK);
	/* 10 s later: failing, the reason and detail say why. */
	assert_int_equal(eval(&st, &lim, sample(160, 110, "bpa", wall + 30000),
	    1040000, wall + 40000, r, &d), PROBE_FAIL);
	assert_non_null(strstr(r, "head 160 has not advanced for 10.0 s"));
	assert_null(strstr(r, "LIB"));
	assert_int_equal(json_integer_value(json_object_get(d, "head")), 160);
	assert_int_equal(json_integer_value(json_object_get(d, "lib")), 110);
	assert_true(json_real_value(json_object_get(d, "head_stalled_s")) ==
	    10.0);
	assert_true(json_real_value(json_object_get(d, "head_age_s")) ==
	    10.0);
	assert_string_equal(json_string_value(json_object_get(d,
	    "head_producer")), "bpa");
	assert_true(json_is_null(json_object_get(d, "paused")));
	json_decref(d);
	/* 20 s: LIB too; 31 s: the head block is too old as well. */
	assert_int_equal(eval(&st, &lim, sample(160, 110, "bpa", wall + 30000),
	    1050000, wall + 50000, r, NULL), PROBE_FAIL);
	assert_non_null(strstr(r, "LIB 110 has not advanced for 20.0 s"));
	assert_int_equal(eval(&st, &lim, sample(160, 110, "bpa", wall + 30000),
	    1061000, wall + 61000, r, NULL), PROBE_FAIL);
	assert_non_null(strstr(r, "head block is 31.0 s old"));
	assert_non_null(strstr(r, "; "));
	/* It moves again: fine at once. */
	assert_int_equal(eval(&st, &lim, sample(161, 111, "bpa", wall + 61000),
	    1062000, wall + 62000, r, NULL), PROBE_OK);
	/* LIB alone stalls while the head goes on. */
	for (t = 1; t <= 20; t++)
		(void)eval(&st, &lim, sample(161 + t, 111, "bpa", wall +
		    62000 + t * 1000), 1062000 + t * 1000, wall + 62000 +
		    t * 1000, r, NULL);
	assert_non_null(strstr(r, "LIB 111 has not advanced for 20.0 s"));
	assert_null(strstr(r, "head 1"));
	/* A head that goes back (a fork switch) counts as a change. */
	memset(&st, 0, sizeof(st));
	(void)eval(&st, &lim, sample(500, 400, "p", wall), 0, wall, r, NULL);
	assert_int_equal(eval(&st, &lim, sample(499, 400, "p", wall), 10000,
	    wall, r, NULL), PROBE_OK);
}

static void
test_eval_disabled(void **state)
{
	struct nodeos_state	 st;
	struct nodeos_limits	 lim = { 0, 0, 0, 60000, 0 };
	char			 r[200];

	(void)state;
	memset(&st, 0, sizeof(st));
	(void)eval(&st, &lim, sample(1, 1, "p", 0), 0, 0, r, NULL);
	/* Nothing moves for a day and the head is a day old: no check on. */
	assert_int_equal(eval(&st, &lim, sample(1, 1, "p", 0), 86400000,
	    86400000, r, NULL), PROBE_OK);
}

static void
test_eval_producers(void **state)
{
	struct nodeos_state	 st;
	struct nodeos_limits	 lim = { 0, 0, 0, 10000, 3 };
	char			 r[200], name[40];
	json_t			*d, *seen;
	int			 i;

	(void)state;
	memset(&st, 0, sizeof(st));
	/* Before the window has passed once, few producers are fine. */
	assert_int_equal(eval(&st, &lim, sample(1, 1, "a", 0), 0, 0, r, NULL),
	    PROBE_OK);
	assert_int_equal(eval(&st, &lim, sample(2, 1, "b", 0), 5000, 0, r,
	    NULL), PROBE_OK);
	assert_int_equal(eval(&st, &lim, sample(3, 1, "b", 0), 9999, 0, r,
	    NULL), PROBE_OK);
	/* At 10 s: a and b in the window, min 3. */
	assert_int_equal(eval(&st, &lim, sample(4, 1, "b", 0), 10000, 0, r,
	    &d), PROBE_FAIL);
	assert_non_null(strstr(r, "2 producers seen in 10 s, fewer than 3"));
	seen = json_object_get(d, "producers_seen");
	assert_int_equal(json_array_size(seen), 2);
	assert_string_equal(json_string_value(json_array_get(seen, 0)), "b");
	assert_string_equal(json_string_value(json_array_get(seen, 1)), "a");
	json_decref(d);
	/* c comes in at the same time: three, fine. */
	assert_int_equal(eval(&st, &lim, sample(5, 1, "c", 0), 10000, 0, r,
	    NULL), PROBE_OK);
	/* a was last seen at 0: out of the window 1 ms later. */
	assert_int_equal(eval(&st, &lim, sample(6, 1, "c", 0), 10001, 0, r,
	    &d), PROBE_FAIL);
	assert_non_null(strstr(r, "2 producers seen"));
	seen = json_object_get(d, "producers_seen");
	assert_int_equal(json_array_size(seen), 2);
	assert_string_equal(json_string_value(json_array_get(seen, 0)), "c");
	json_decref(d);
	/* Hundreds of distinct names: the table stays bounded. */
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		(void)eval(&st, &lim, sample(10 + i, 1, name, 0), 20000 + i,
		    0, r, &d);
		assert_true(json_array_size(json_object_get(d,
		    "producers_seen")) <= NODEOS_PRODUCERS_MAX);
		json_decref(d);
	}
	assert_int_equal(st.nseen, NODEOS_PRODUCERS_MAX);
	/* Long after, one producer only: the others expired. */
	assert_int_equal(eval(&st, &lim, sample(9999, 1, "z", 0), 90000, 0, r,
	    &d), PROBE_FAIL);
	assert_non_null(strstr(r, "1 producer seen in 10 s"));
	json_decref(d);
}

static void
test_utc_time(void **state)
{
	int64_t	 ms;

	(void)state;
	assert_int_equal(parse_utc_time("2022-10-14T06:06:53.500", &ms), 0);
	assert_int_equal(ms, LEAP3_MS);
	assert_int_equal(parse_utc_time("2019-01-28T06:08:00", &ms), 0);
	assert_int_equal(ms, 1548655680000LL);
	assert_int_equal(parse_utc_time("2019-01-28T06:08:00Z", &ms), 0);
	assert_int_equal(ms, 1548655680000LL);
	assert_int_equal(parse_utc_time("1970-01-01T00:00:00.5", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(parse_utc_time("2024-02-29T23:59:59.123456", &ms), 0);
	assert_int_equal(ms % 1000, 123);
	assert_int_equal(parse_utc_time("", &ms), -1);
	assert_int_equal(parse_utc_time("2019-01-28", &ms), -1);
	assert_int_equal(parse_utc_time("2019-01-28 06:08:00", &ms), -1);
	assert_int_equal(parse_utc_time("2019-13-28T06:08:00", &ms), -1);
	assert_int_equal(parse_utc_time("2023-02-29T06:08:00", &ms), -1);
	assert_int_equal(parse_utc_time("2019-01-28T24:00:00", &ms), -1);
	assert_int_equal(parse_utc_time("2019-01-28T06:08:00.", &ms), -1);
	assert_int_equal(parse_utc_time("2019-01-28T06:08:00x", &ms), -1);
	assert_int_equal(parse_utc_time("1969-12-31T23:59:59", &ms), -1);
	assert_int_equal(parse_utc_time("+019-01-28T06:08:00", &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_leap3),
		cmocka_unit_test(test_info_minimal),
		cmocka_unit_test(test_info_garbage),
		cmocka_unit_test(test_info_truncated),
		cmocka_unit_test(test_info_wrong_types),
		cmocka_unit_test(test_info_huge),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_eval_stalls),
		cmocka_unit_test(test_eval_disabled),
		cmocka_unit_test(test_eval_producers),
		cmocka_unit_test(test_utc_time),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
