/*
 * Unit tests for the bitshares-witness probe's pure parts
 * (probes/probe-bitshares-witness-check.c over lib/rpc-reply.c):
 * witness_object and get_dynamic_global_properties replies fed good,
 * garbage, truncated, huge and wrong-typed; JSON-RPC errors; the
 * evaluation of samples; witness names.  It links only those, util, log,
 * jansson and cmocka (the kind's settings are in test_probe_config).
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
#include "probe-bitshares-witness.h"
#include "util.h"

/* From chain-apis.md §2c. */
#define WITNESS_PREFIX	"{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":"
static const char witness_reply[] =
    WITNESS_PREFIX "{\"id\":\"1.6.14\","
    "\"witness_account\":\"1.2.43556\",\"last_aslot\":21522494,"
    "\"signing_key\":\"BTS8FYdT6UH3HC8Q2Epw713jhkymocyrhfRnAHk8V2TwtKJKMU2wR"
    "\",\"pay_vb\":\"1.13.98\",\"vote_id\":\"1:41\",\"total_votes\":"
    "\"36630737598892\",\"url\":\"https://example.org\",\"total_missed\":221,"
    "\"last_confirmed_block_num\":15472913}}";

static const char dgp_reply[] =
    "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"id\":\"2.1.0\","
    "\"head_block_number\":16757465,\"head_block_id\":\"00ffb2d9\","
    "\"time\":\"2019-01-28T06:08:00\",\"current_witness\":\"1.6.52\","
    "\"next_maintenance_time\":\"2019-01-28T06:40:00\","
    "\"recently_missed_count\":0,\"current_aslot\":16958091,"
    "\"recent_slots_filled\":\"340282366920938463463374607431768211455\","
    "\"last_irreversible_block_num\":16757449}}";

#define DGP_MS	1548655680000LL

/* A witness reply with one member replaced by raw JSON. */
static char *
witness_with(const char *key, const char *raw)
{
	json_t	*doc, *v;
	char	*s, *out;

	doc = json_loads(witness_reply, 0, NULL);
	assert_non_null(doc);
	if (raw == NULL)
		json_object_del(json_object_get(doc, "result"), key);
	else {
		v = json_loads(raw, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_object_set_new(json_object_get(doc, "result"), key, v);
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	out = xstrdup(s);
	free(s);
	return (out);
}

static char *
dgp_with(const char *key, const char *raw)
{
	json_t	*doc, *v;
	char	*s, *out;

	doc = json_loads(dgp_reply, 0, NULL);
	assert_non_null(doc);
	if (raw == NULL)
		json_object_del(json_object_get(doc, "result"), key);
	else {
		v = json_loads(raw, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_object_set_new(json_object_get(doc, "result"), key, v);
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	out = xstrdup(s);
	free(s);
	return (out);
}

static void
witness_bad(const char *body, size_t len, int want_rc, const char *want)
{
	struct bitshares_witness	 w;
	char				 err[160];
	int				 rc;

	err[0] = '\0';
	if ((rc = bitshares_parse_witness(body, len, &w, err,
	    sizeof(err))) != want_rc)
		fail_msg("rc %d, not %d: %.*s", rc, want_rc,
		    (int)(len > 200 ? 200 : len), body);
	if (strchr(err, '\n') != NULL)
		fail_msg("reason has a newline: %s", err);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void
witness_bad_field(const char *key, const char *raw, const char *want)
{
	char	*s = witness_with(key, raw);

	witness_bad(s, strlen(s), -1, want);
	free(s);
}

static void
dgp_bad(const char *body, size_t len, const char *want)
{
	struct bitshares_dgp	 d;
	char			 err[160];

	err[0] = '\0';
	if (bitshares_parse_dgp(body, len, &d, err, sizeof(err)) != -1)
		fail_msg("accepted: %.*s", (int)(len > 200 ? 200 : len), body);
	if (strchr(err, '\n') != NULL)
		fail_msg("reason has a newline: %s", err);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

/* The same, for a NUL-terminated body. */
static void
witness_bad_s(const char *body, int want_rc, const char *want)
{
	witness_bad(body, strlen(body), want_rc, want);
}

static void
dgp_bad_s(const char *body, const char *want)
{
	dgp_bad(body, strlen(body), want);
}

static void
dgp_bad_field(const char *key, const char *raw, const char *want)
{
	char	*s = dgp_with(key, raw);

	dgp_bad(s, strlen(s), want);
	free(s);
}

static void
test_witness_good(void **state)
{
	struct bitshares_witness	 w;
	char				 err[160] = "", *s;
	size_t				 n;

	(void)state;
	assert_int_equal(bitshares_parse_witness(witness_reply,
	    strlen(witness_reply), &w, err, sizeof(err)), 0);
	assert_string_equal(w.id, "1.6.14");
	assert_string_equal(w.account, "1.2.43556");
	assert_string_equal(w.signing_key,
	    "BTS8FYdT6UH3HC8Q2Epw713jhkymocyrhfRnAHk8V2TwtKJKMU2wR");
	assert_string_equal(w.url, "https://example.org");
	assert_int_equal(w.total_missed, 221);
	assert_int_equal(w.last_confirmed, 15472913);
	/* get_objects: an array of one. */
	n = strlen(WITNESS_PREFIX);
	xasprintf(&s, "{\"id\":1,\"result\":[%.*s]}",
	    (int)(strlen(witness_reply) - n - 1), witness_reply + n);
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), 0);
	assert_int_equal(w.total_missed, 221);
	free(s);
	/* Counters as strings (fc's big numbers), url missing or odd. */
	s = witness_with("total_missed", "\"123456789012\"");
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), 0);
	assert_int_equal(w.total_missed, 123456789012LL);
	free(s);
	s = witness_with("url", NULL);
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), 0);
	assert_string_equal(w.url, "");
	free(s);
	s = witness_with("url", "\"https://a.example/\\npath\"");
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), 0);
	assert_string_equal(w.url, "https://a.example/");
	free(s);
	/* total_votes of any shape is not looked at. */
	s = witness_with("total_votes",
	    "\"340282366920938463463374607431768211455\"");
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), 0);
	free(s);
	/* A real where a counter belongs; a number jansson cannot hold. */
	s = xstrdup(witness_reply);
	memcpy(strstr(s, "221"), "9e9", 3);
	assert_int_equal(bitshares_parse_witness(s, strlen(s), &w, err,
	    sizeof(err)), -1);
	free(s);
	xasprintf(&s, "{\"result\":{\"total_votes\":1e400}}");
	witness_bad(s, strlen(s), -1, "not JSON");
	free(s);
}

static void
test_witness_not_found(void **state)
{
	(void)state;
	witness_bad_s("{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":null}",
	    BITSHARES_NOT_FOUND, "not found");
	witness_bad_s("{\"id\":1,\"result\":[null]}", BITSHARES_NOT_FOUND,
	    "not found");
	witness_bad_s("{\"id\":1,\"result\":[]}", BITSHARES_NOT_FOUND,
	    "not found");
	witness_bad_s("{\"id\":1,\"result\":[{},{}]}", -1, "2 objects");
	witness_bad_s("{\"id\":1,\"result\":7}", -1,
	    "witness is an integer, not an object");
}

static void
test_rpc_errors(void **state)
{
	static const char e[] = "{\"id\":1,\"error\":{\"code\":1,\"message\":"
	    "\"Assert Exception: itr != end: no such witness\\nstack line 2\","
	    "\"data\":{\"code\":10,\"name\":\"assert_exception\",\"message\":"
	    "\"x\",\"stack\":[]}}}";

	(void)state;
	witness_bad(e, strlen(e), -1, "witness: RPC error 1: Assert "
	    "Exception: itr != end: no such witness");
	dgp_bad(e, strlen(e), "global properties: RPC error 1: Assert");
	witness_bad_s("{\"error\":\"boom\"}", -1, "RPC error: boom");
	witness_bad_s("{\"error\":{}}", -1, "witness: RPC error");
	witness_bad_s("{\"id\":1}", -1, "witness reply has no result");
	/* "error": null is JSON-RPC 1.0's "no error". */
	witness_bad_s("{\"result\":null,\"error\":null}",
	    BITSHARES_NOT_FOUND, "not found");
}

static void
test_garbage_truncated(void **state)
{
	static const char *const bad[] = {
		"", " ", "garbage", "{", "[]", "null", "42", "\"s\"",
		"<html><h1>502</h1></html>", "\xff", "{\"result\":}", NULL
	};
	const char *const	*b;
	struct bitshares_witness w;
	struct bitshares_dgp	 d;
	char			 err[160];
	size_t			 n;

	(void)state;
	for (b = bad; *b != NULL; b++) {
		witness_bad(*b, strlen(*b), -1, NULL);
		dgp_bad(*b, strlen(*b), NULL);
	}
	witness_bad_s("[1]", -1, "witness reply is an array, not an object");
	dgp_bad_s("x", "global properties reply is not JSON");
	dgp_bad_s("", "global properties reply is empty");
	witness_bad_s("", -1, "witness reply is empty");
	for (n = 0; n < strlen(witness_reply); n++)
		if (bitshares_parse_witness(witness_reply, n, &w, err,
		    sizeof(err)) != -1)
			fail_msg("witness prefix of %zu bytes accepted", n);
	for (n = 0; n < strlen(dgp_reply); n++)
		if (bitshares_parse_dgp(dgp_reply, n, &d, err,
		    sizeof(err)) != -1)
			fail_msg("dgp prefix of %zu bytes accepted", n);
}

static void
test_witness_wrong_types(void **state)
{
	(void)state;
	witness_bad_field("total_missed", NULL, "witness has no total_missed");
	witness_bad_field("total_missed", "\"lots\"",
	    "total_missed is a non-numeric string");
	witness_bad_field("total_missed", "\"\"", "non-numeric string");
	witness_bad_field("total_missed", "\"12a\"", "non-numeric string");
	witness_bad_field("total_missed", "\"1234567890123456789\"",
	    "non-numeric string");
	witness_bad_field("total_missed", "-3", "total_missed is negative");
	witness_bad_field("total_missed", "2.5", "total_missed is a real");
	witness_bad_field("total_missed", "true", "is a boolean");
	witness_bad_field("total_missed", "null", "is null");
	witness_bad_field("last_confirmed_block_num", "[1]", "is an array");
	witness_bad_field("signing_key", "{\"key\":1}",
	    "signing_key is an object, not a string");
	witness_bad_field("signing_key", "\"\"", "signing_key has 0");
	witness_bad_field("signing_key", "\"BTS\\u0001x\"", "control");
	witness_bad_field("id", NULL, "witness has no id");
	witness_bad_field("id", "14", "id is an integer");
	witness_bad_field("url", "5", "url is an integer");
	witness_bad_field("witness_account", "[]", "is an array");
}

static void
test_dgp(void **state)
{
	struct bitshares_dgp	 d;
	char			 err[160] = "", *s;

	(void)state;
	assert_int_equal(bitshares_parse_dgp(dgp_reply, strlen(dgp_reply), &d,
	    err, sizeof(err)), 0);
	assert_int_equal(d.head, 16757465);
	assert_int_equal(d.lib, 16757449);
	assert_int_equal(d.time_ms, DGP_MS);
	assert_string_equal(d.time, "2019-01-28T06:08:00");
	assert_string_equal(d.current_witness, "1.6.52");
	assert_int_equal(d.recently_missed, 0);
	/* Old versions: no LIB, no recently_missed_count. */
	s = dgp_with("last_irreversible_block_num", NULL);
	assert_int_equal(bitshares_parse_dgp(s, strlen(s), &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.lib, -1);
	free(s);
	dgp_bad_field("head_block_number", NULL, "has no head_block_number");
	dgp_bad_field("head_block_number", "\"many\"", "non-numeric string");
	dgp_bad_field("time", "1548655680", "time is an integer");
	dgp_bad_field("time", NULL, "global properties has no time");
	dgp_bad_field("time", "\"2019-01-28\"", "is not a time");
	dgp_bad_field("time", "\"2019-01-28T06:08:00+01:00\"",
	    "is not a time");
	dgp_bad_field("last_irreversible_block_num", "\"x\"",
	    "last_irreversible_block_num is a non-numeric string");
	dgp_bad_field("recently_missed_count", "-1", "negative");
	dgp_bad_field("current_witness", "1", "is an integer");
	dgp_bad_s("{\"result\":[1]}",
	    "global properties are an array, not an object");
}

static void
test_huge(void **state)
{
	struct bitshares_witness	 w;
	char				 err[160];
	char				*big;
	size_t				 pad = 8 * 1024 * 1024, n;

	(void)state;
	big = xmalloc(pad + 1024);
	n = (size_t)snprintf(big, 1024, "{\"padding\":\"");
	memset(big + n, 'y', pad);
	n += pad;
	n += (size_t)snprintf(big + n, 1024, "\",%s", witness_reply + 1);
	assert_int_equal(bitshares_parse_witness(big, n, &w, err,
	    sizeof(err)), 0);
	assert_int_equal(w.total_missed, 221);
	witness_bad(big, n - 10, -1, "not JSON");
	free(big);
}

static void
test_eval(void **state)
{
	struct bitshares_state		 st;
	struct bitshares_witness	 w;
	struct bitshares_dgp		 d;
	char				 err[160], r[200];
	json_t				*det;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(bitshares_parse_witness(witness_reply,
	    strlen(witness_reply), &w, err, sizeof(err)), 0);
	assert_int_equal(bitshares_parse_dgp(dgp_reply, strlen(dgp_reply), &d,
	    err, sizeof(err)), 0);
	assert_int_equal(bitshares_eval(&st, 60000, &w, &d, DGP_MS + 2500,
	    &det, r, sizeof(r)), PROBE_OK);
	assert_string_equal(r, "total_missed 221 (+0 this run), last "
	    "confirmed block 15472913, chain time 2.5 s old");
	assert_int_equal(json_integer_value(json_object_get(det,
	    "total_missed")), 221);
	assert_int_equal(json_integer_value(json_object_get(det,
	    "missed_delta")), 0);
	assert_string_equal(json_string_value(json_object_get(det,
	    "signing_key")), w.signing_key);
	assert_int_equal(json_integer_value(json_object_get(det,
	    "last_irreversible_block_num")), 16757449);
	assert_true(json_real_value(json_object_get(det, "head_age_s")) ==
	    2.5);
	json_decref(det);
	/* Misses grow: reported against the first sample of the run. */
	w.total_missed = 228;
	assert_int_equal(bitshares_eval(&st, 60000, &w, &d, DGP_MS + 3000,
	    &det, r, sizeof(r)), PROBE_OK);
	assert_int_equal(json_integer_value(json_object_get(det,
	    "missed_delta")), 7);
	assert_non_null(strstr(r, "(+7 this run)"));
	json_decref(det);
	/* Stale chain. */
	assert_int_equal(bitshares_eval(&st, 60000, &w, &d, DGP_MS + 60001,
	    &det, r, sizeof(r)), PROBE_FAIL);
	assert_non_null(strstr(r, "chain time 2019-01-28T06:08:00 is 60.0 s "
	    "old (max 60.0 s)"));
	json_decref(det);
	/* max_age 0: no bound. */
	assert_int_equal(bitshares_eval(&st, 0, &w, &d, DGP_MS + 86400000,
	    &det, r, sizeof(r)), PROBE_OK);
	json_decref(det);
}

static void
test_valid_witness(void **state)
{
	(void)state;
	assert_true(bitshares_valid_witness("init0"));
	assert_true(bitshares_valid_witness("roelandp"));
	assert_true(bitshares_valid_witness("bts-witness.x1"));
	assert_true(bitshares_valid_witness("1.6.14"));
	assert_false(bitshares_valid_witness(""));
	assert_false(bitshares_valid_witness("1.6."));
	assert_false(bitshares_valid_witness("1.6.x"));
	assert_false(bitshares_valid_witness("1.2.14"));
	assert_false(bitshares_valid_witness("Init0"));
	assert_false(bitshares_valid_witness("a\"b"));
	assert_false(bitshares_valid_witness("0abc"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_witness_good),
		cmocka_unit_test(test_witness_not_found),
		cmocka_unit_test(test_rpc_errors),
		cmocka_unit_test(test_garbage_truncated),
		cmocka_unit_test(test_witness_wrong_types),
		cmocka_unit_test(test_dgp),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_valid_witness),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
