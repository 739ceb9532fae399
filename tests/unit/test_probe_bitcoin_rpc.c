/*
 * Unit tests for the bitcoin-rpc probe's pure parts (probes/probe-bitcoin-
 * rpc-check.c over lib/rpc-reply.c): the JSON-RPC 1.0 reply parsers, fed
 * real replies, error replies, garbage, truncated, huge and wrong-typed
 * JSON, and btc_assess(), which turns a check into ok/fail, a reason and
 * the detail object.  It links only those, util, log, jansson and cmocka.
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
#include "probe-bitcoin-rpc.h"

#define GBCI_OK	"{\"result\":{\"chain\":\"main\",\"blocks\":512345," \
	"\"headers\":512345,\"bestblockhash\":\"0000ab\",\"difficulty\":" \
	"1234.56,\"mediantime\":1690000000,\"verificationprogress\":0.9999," \
	"\"initialblockdownload\":false,\"chainwork\":\"0000ff\"," \
	"\"size_on_disk\":123456789,\"pruned\":false,\"softforks\":[]," \
	"\"bip9_softforks\":{},\"warnings\":\"\"},\"error\":null,\"id\":\"ck\"}"

/* A reason must be one line of printable ASCII, never empty. */
static void
assert_printable(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;

	if (*u == '\0')
		fail_msg("empty reason");
	for (; *u != '\0'; u++)
		if (*u < 0x20 || *u >= 0x7f)
			fail_msg("byte 0x%02x in reason \"%s\"", *u, s);
}

/* getblockchaininfo must fail, with a reason containing want. */
static void
chaininfo_bad(long status, const char *body, size_t len, const char *want)
{
	struct btc_chaininfo	 ci;
	char			 err[BTC_ERRLEN];

	err[0] = '\0';
	if (btc_parse_chaininfo(status, body, len, &ci, err, sizeof(err)) !=
	    -1)
		fail_msg("accepted HTTP %ld \"%.*s\"", status, (int)len, body);
	assert_printable(err);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void
chaininfo_bad_s(long status, const char *body, const char *want)
{
	chaininfo_bad(status, body, strlen(body), want);
}

static void
test_chaininfo_real(void **state)
{
	struct btc_chaininfo	 ci;
	char			 err[BTC_ERRLEN];
	/* litecoind 0.21 regtest, as it really answers. */
	const char *ltc = "{\"result\":{\"chain\":\"regtest\",\"blocks\":7,"
	    "\"headers\":7,\"bestblockhash\":\"1f\",\"difficulty\":4.6e-10,"
	    "\"mediantime\":1700000000,\"verificationprogress\":1,"
	    "\"initialblockdownload\":false,\"chainwork\":\"10\","
	    "\"size_on_disk\":2300,\"pruned\":false,\"softforks\":{\"bip34\":"
	    "{\"type\":\"buried\",\"active\":true,\"height\":500}},"
	    "\"warnings\":\"\"},\"error\":null,\"id\":\"ck\"}\n";
	/* Only blocks is required; the rest is optional. */
	const char *min = "{\"result\":{\"blocks\":0},\"error\":null}";
	/* A progress a little over 1 is clamped. */
	const char *over = "{\"result\":{\"blocks\":3,"
	    "\"verificationprogress\":1.0000002},\"error\":null}";

	(void)state;
	assert_int_equal(btc_parse_chaininfo(200, GBCI_OK, strlen(GBCI_OK),
	    &ci, err, sizeof(err)), 0);
	assert_int_equal(ci.blocks, 512345);
	assert_int_equal(ci.headers, 512345);
	assert_true(ci.progress > 0.9998 && ci.progress < 1.0);
	assert_int_equal(ci.ibd, 0);
	assert_string_equal(ci.chain, "main");

	assert_int_equal(btc_parse_chaininfo(200, ltc, strlen(ltc), &ci, err,
	    sizeof(err)), 0);
	assert_int_equal(ci.blocks, 7);
	assert_true(ci.progress == 1.0);
	assert_string_equal(ci.chain, "regtest");

	assert_int_equal(btc_parse_chaininfo(200, min, strlen(min), &ci, err,
	    sizeof(err)), 0);
	assert_int_equal(ci.blocks, 0);
	assert_int_equal(ci.headers, -1);
	assert_true(ci.progress < 0);
	assert_int_equal(ci.ibd, -1);
	assert_string_equal(ci.chain, "");

	assert_int_equal(btc_parse_chaininfo(200, over, strlen(over), &ci, err,
	    sizeof(err)), 0);
	assert_true(ci.progress == 1.0);
}

static void
test_rpc_errors(void **state)
{
	(void)state;
	chaininfo_bad(401, "", 0, "HTTP 401: authentication failed");
	chaininfo_bad_s(401, "<html>Unauthorized</html>", "HTTP 401");
	chaininfo_bad(403, "", 0, "HTTP 403");
	chaininfo_bad_s(500, "{\"result\":null,\"error\":{\"code\":-28,"
	    "\"message\":\"Loading block index...\"},\"id\":\"ck\"}",
	    "RPC error -28: Loading block index...");
	chaininfo_bad_s(404, "{\"result\":null,\"error\":{\"code\":-32601,"
	    "\"message\":\"Method not found\"},\"id\":\"ck\"}",
	    "RPC error -32601: Method not found");
	chaininfo_bad_s(500, "<html><body>500 Internal Server Error</body>"
	    "</html>", "HTTP 500, reply is not JSON");
	chaininfo_bad(502, "", 0, "HTTP 502 with an empty body");
	chaininfo_bad(200, "", 0, "empty reply");
	/* An error that is a string, or an object without code/message. */
	chaininfo_bad_s(200, "{\"result\":null,\"error\":\"boom\"}",
	    "RPC error: boom");
	chaininfo_bad_s(200, "{\"result\":null,\"error\":{\"x\":[1,2]}}",
	    "RPC error: {\"x\":[1,2]}");
	chaininfo_bad_s(200, "{\"result\":null,\"error\":{\"code\":\"-5\","
	    "\"message\":7}}", "RPC error");
	chaininfo_bad_s(200, "{\"error\":null,\"id\":1}",
	    "neither result nor error");
	/* A 500 without an error object still fails. */
	chaininfo_bad_s(500, "{\"result\":{\"blocks\":5},\"error\":null}",
	    "HTTP 500");
	/* Control bytes and UTF-8 in a message come out printable. */
	chaininfo_bad_s(500, "{\"result\":null,\"error\":{\"code\":-1,"
	    "\"message\":\"bad\\nline\\u0001 \\u00e9\\u4e2d\"}}",
	    "RPC error -1: bad?line?");
}

static void
test_garbage(void **state)
{
	unsigned char	 bin[1024];
	char		 nested[20001];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + 3);
	chaininfo_bad(200, (const char *)bin, sizeof(bin), "not JSON");
	/* NUL bytes inside. */
	chaininfo_bad(200, "{\"result\"\0:{}}", 14, "not JSON");
	chaininfo_bad_s(200, "not json at all", "not JSON");
	chaininfo_bad_s(200, "[1,2,3]", "an array, not a JSON-RPC object");
	chaininfo_bad_s(200, "[{\"result\":{\"blocks\":1},\"error\":null}]",
	    "an array");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":1}} trailing",
	    "not JSON");
	/* Deep nesting must be refused, not overflow the stack. */
	memset(nested, '[', sizeof(nested) - 1);
	nested[sizeof(nested) - 1] = '\0';
	chaininfo_bad_s(200, nested, "not JSON");
	memset(nested, '{', 1);
	chaininfo_bad_s(200, nested, "not JSON");
}

static void
test_truncated(void **state)
{
	struct btc_chaininfo	 ci;
	char			 err[BTC_ERRLEN];
	size_t			 n, len = strlen(GBCI_OK);
	char			*copy;

	(void)state;
	/*
	 * Every proper prefix fails; each is copied so that ASan would see a
	 * read past its end.
	 */
	for (n = 0; n < len; n++) {
		copy = malloc(n + 1);
		assert_non_null(copy);
		memcpy(copy, GBCI_OK, n);
		chaininfo_bad(200, copy, n, NULL);
		free(copy);
	}
	/* The body need not be NUL-terminated: len is what counts. */
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, GBCI_OK, len);
	assert_int_equal(btc_parse_chaininfo(200, copy, len, &ci, err,
	    sizeof(err)), 0);
	assert_int_equal(ci.blocks, 512345);
	free(copy);
}

static void
test_huge(void **state)
{
	struct btc_chaininfo	 ci;
	char			 err[BTC_ERRLEN];
	const char		*head = "{\"result\":{\"blocks\":42,\"pad\":\"";
	const char		*tail = "\"},\"error\":null,\"id\":\"ck\"}";
	size_t			 pad = 8 * 1024 * 1024, len;
	char			*big;

	(void)state;
	len = strlen(head) + pad + strlen(tail);
	big = malloc(len);
	assert_non_null(big);
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'x', pad);
	memcpy(big + strlen(head) + pad, tail, strlen(tail));
	assert_int_equal(btc_parse_chaininfo(200, big, len, &ci, err,
	    sizeof(err)), 0);
	assert_int_equal(ci.blocks, 42);
	/* The same cut in the middle. */
	chaininfo_bad(200, big, len / 2, "not JSON");
	free(big);
	/* A huge error message is cut, not overflowed. */
	pad = 100000;
	head = "{\"result\":null,\"error\":{\"code\":-1,\"message\":\"";
	tail = "\"}}";
	len = strlen(head) + pad + strlen(tail);
	big = malloc(len);
	assert_non_null(big);
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'm', pad);
	memcpy(big + strlen(head) + pad, tail, strlen(tail));
	chaininfo_bad(500, big, len, "RPC error -1: mmm");
	free(big);
}

static void
test_wrong_types(void **state)
{
	(void)state;
	chaininfo_bad_s(200, "{\"result\":null,\"error\":null}",
	    "result is null, not an object");
	chaininfo_bad_s(200, "{\"result\":[1],\"error\":null}",
	    "result is an array");
	chaininfo_bad_s(200, "{\"result\":\"x\",\"error\":null}",
	    "result is a string");
	chaininfo_bad_s(200, "{\"result\":{},\"error\":null}",
	    "blocks is missing");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":\"512345\"}}",
	    "blocks is a string, not an integer");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":512345.0}}",
	    "blocks is a real number");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":null}}",
	    "blocks is null");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":true}}",
	    "blocks is a boolean");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":-1}}",
	    "blocks is out of range");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":9223372036854775807}}",
	    "blocks is out of range");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":99999999999999999999}}",
	    "not JSON");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":1e400}}", "not JSON");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":5,\"headers\":[5]}}",
	    "headers is an array");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":5,"
	    "\"verificationprogress\":\"0.5\"}}",
	    "verificationprogress is a string, not a number");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":5,"
	    "\"verificationprogress\":-0.5}}",
	    "verificationprogress is out of range");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":5,"
	    "\"initialblockdownload\":\"no\"}}",
	    "initialblockdownload is a string, not a boolean");
	chaininfo_bad_s(200, "{\"result\":{\"blocks\":5,\"chain\":1}}",
	    "chain is an integer, not a string");
	chaininfo_bad_s(200, "42", "not JSON");
}

static void
test_blockcount(void **state)
{
	long long	 n = -5;
	char		 err[BTC_ERRLEN];
	const char	*ok = "{\"result\":812,\"error\":null,\"id\":\"ck\"}";
	const char	*str = "{\"result\":\"812\",\"error\":null}";
	const char	*neg = "{\"result\":-3,\"error\":null}";
	const char	*warm = "{\"result\":null,\"error\":{\"code\":-28,"
	    "\"message\":\"Verifying blocks...\"}}";

	(void)state;
	assert_int_equal(btc_parse_blockcount(200, ok, strlen(ok), &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 812);
	assert_int_equal(btc_parse_blockcount(200, str, strlen(str), &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "result is a string, not an integer"));
	assert_int_equal(btc_parse_blockcount(200, neg, strlen(neg), &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(btc_parse_blockcount(500, warm, strlen(warm), &n, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "RPC error -28: Verifying blocks...");
	assert_int_equal(btc_parse_blockcount(401, "", 0, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "HTTP 401"));
}

/* An explorer count that must parse to want. */
static void
count_ok(const char *body, long long want)
{
	long long	 n = -5;
	char		 err[BTC_ERRLEN];

	if (btc_parse_count_text(200, body, strlen(body), &n, err,
	    sizeof(err)) != 0)
		fail_msg("\"%s\" refused: %s", body, err);
	assert_int_equal(n, want);
}

static void
count_bad(long status, const char *body, const char *want)
{
	long long	 n = -5;
	char		 err[BTC_ERRLEN];

	if (btc_parse_count_text(status, body, strlen(body), &n, err,
	    sizeof(err)) != -1)
		fail_msg("\"%s\" accepted as %lld", body, n);
	assert_printable(err);
	if (strstr(err, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(n, -5);
}

static void
test_count_text(void **state)
{
	(void)state;
	count_ok("512345", 512345);
	count_ok(" 512345\n", 512345);
	count_ok("\r\n512345\r\n", 512345);
	count_ok("512345.0", 512345);
	count_ok("0", 0);
	count_bad(200, "", "empty reply");
	count_bad(200, " \n ", "empty reply");
	count_bad(200, "-1", "not a block count");
	count_bad(200, "512345.5", "not a block count");
	count_bad(200, "\"512345\"", "not a block count");
	count_bad(200, "{\"height\":5}", "not a block count");
	count_bad(200, "<html>Bad gateway</html>", "not a block count: "
	    "\"<html>Bad gateway</html>\"");
	count_bad(200, "1e400", "not a block count");
	count_bad(200, "99999999999999999999", "not a block count");
	count_bad(200, "1e300", "not a block count");
	count_bad(200, "512345 512346", "not a block count");
	count_bad(500, "512345", "HTTP 500");
	count_bad(404, "", "HTTP 404");
	count_bad(200, "\x01\x02\xff\xfe", "not a block count: \"????\"");
}

static void
test_smartnode(void **state)
{
	struct btc_smartnode	 sn;
	char			 err[BTC_ERRLEN];
	const char		*ready = "{\"result\":{\"outpoint\":\"ab-1\","
	    "\"service\":\"203.0.113.5:10226\",\"proTxHash\":\"d3\","
	    "\"dmnState\":{\"PoSePenalty\":0,\"PoSeBanHeight\":-1},"
	    "\"state\":\"READY\",\"status\":\"Ready\"},\"error\":null,"
	    "\"id\":\"ck\"}";
	const char		*banned = "{\"result\":{\"state\":"
	    "\"POSE_BANNED\",\"status\":\"Smartnode was PoSe banned\"},"
	    "\"error\":null}";
	const char		*notsn = "{\"result\":null,\"error\":{\"code\":"
	    "-32603,\"message\":\"This is not a smartnode\"},\"id\":\"ck\"}";
	const char		*wrong = "{\"result\":{\"state\":5},"
	    "\"error\":null}";
	const char		*empty = "{\"result\":{\"state\":\"\"},"
	    "\"error\":null}";

	(void)state;
	assert_int_equal(btc_parse_smartnode(200, ready, strlen(ready), &sn,
	    err, sizeof(err)), 0);
	assert_string_equal(sn.state, "READY");
	assert_string_equal(sn.status, "Ready");
	assert_int_equal(btc_parse_smartnode(200, banned, strlen(banned), &sn,
	    err, sizeof(err)), 0);
	assert_string_equal(sn.state, "POSE_BANNED");
	assert_int_equal(btc_parse_smartnode(500, notsn, strlen(notsn), &sn,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "RPC error -32603: This is not a smartnode");
	assert_int_equal(btc_parse_smartnode(200, wrong, strlen(wrong), &sn,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "state is an integer, not a string");
	assert_int_equal(btc_parse_smartnode(200, empty, strlen(empty), &sn,
	    err, sizeof(err)), -1);
	assert_int_equal(btc_parse_smartnode(200, "{\"result\":[]}", 13, &sn,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "result is an array"));
}

static void
test_protx(void **state)
{
	struct btc_protx	 px;
	char			 err[BTC_ERRLEN];
	const char *banned = "{\"result\":{\"proTxHash\":\"d3\","
	    "\"collateralIndex\":1,\"state\":{\"service\":"
	    "\"203.0.113.5:10226\",\"registeredHeight\":250000,"
	    "\"lastPaidHeight\":511900,\"PoSePenalty\":312,"
	    "\"PoSeRevivedHeight\":-1,\"PoSeBanHeight\":511950,"
	    "\"revocationReason\":0},\"confirmations\":260000},"
	    "\"error\":null,\"id\":\"ck\"}";
	const char *fine = "{\"result\":{\"state\":{\"PoSePenalty\":0,"
	    "\"PoSeBanHeight\":-1,\"PoSeRevivedHeight\":400000}},"
	    "\"error\":null}";
	const char *notfound = "{\"result\":null,\"error\":{\"code\":-8,"
	    "\"message\":\"smartnode with proTxHash ff not found\"}}";
	const char *strpen = "{\"result\":{\"state\":{\"PoSePenalty\":"
	    "\"12\",\"PoSeBanHeight\":-1}}}";
	const char *nostate = "{\"result\":{\"proTxHash\":\"d3\"}}";
	const char *badstate = "{\"result\":{\"state\":\"READY\"}}";
	const char *noban = "{\"result\":{\"state\":{\"PoSePenalty\":0}}}";

	(void)state;
	assert_int_equal(btc_parse_protx(200, banned, strlen(banned), &px, err,
	    sizeof(err)), 0);
	assert_int_equal(px.penalty, 312);
	assert_int_equal(px.ban_height, 511950);
	assert_int_equal(px.revived_height, -1);
	assert_int_equal(btc_parse_protx(200, fine, strlen(fine), &px, err,
	    sizeof(err)), 0);
	assert_int_equal(px.penalty, 0);
	assert_int_equal(px.ban_height, -1);
	assert_int_equal(px.revived_height, 400000);
	assert_int_equal(btc_parse_protx(500, notfound, strlen(notfound), &px,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "RPC error -8: smartnode with proTxHash ff "
	    "not found");
	assert_int_equal(btc_parse_protx(200, strpen, strlen(strpen), &px, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "PoSePenalty is a string, not an integer");
	assert_int_equal(btc_parse_protx(200, nostate, strlen(nostate), &px,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "state is missing");
	assert_int_equal(btc_parse_protx(200, badstate, strlen(badstate), &px,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "state is a string, not an object");
	assert_int_equal(btc_parse_protx(200, noban, strlen(noban), &px, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "PoSeBanHeight is missing");
}

/* A check at height h, synced. */
static void
check_init(struct btc_check *c, long long h)
{
	memset(c, 0, sizeof(*c));
	c->ci.blocks = h;
	c->ci.headers = h;
	c->ci.progress = 0.99999;
	c->ci.ibd = 0;
	snprintf(c->ci.chain, sizeof(c->ci.chain), "main");
}

/* Assess; the reason is checked for form and returned in reason. */
static int
assess(const struct btc_check *c, int64_t stall, long long lag,
    char *reason, size_t len, json_t **detail)
{
	int	 st;

	st = btc_assess(c, stall, lag, reason, len, detail);
	assert_printable(reason);
	assert_non_null(*detail);
	assert_true(json_is_object(*detail));
	return (st);
}

static long long
dint(json_t *d, const char *k)
{
	json_t	*v = json_object_get(d, k);

	if (!json_is_integer(v))
		fail_msg("detail.%s is not an integer", k);
	return (json_integer_value(v));
}

static void
test_assess_synced(void **state)
{
	struct btc_check	 c;
	char			 r[200];
	json_t			*d;

	(void)state;
	check_init(&c, 512345);
	c.unchanged_ms = 4000;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 512345");
	assert_int_equal(dint(d, "height"), 512345);
	assert_int_equal(dint(d, "headers"), 512345);
	assert_int_equal(dint(d, "blocks_behind"), 0);
	assert_true(json_is_false(json_object_get(d, "ibd")));
	assert_true(json_real_value(json_object_get(d, "progress")) > 99.99);
	assert_string_equal(json_string_value(json_object_get(d, "chain")),
	    "main");
	assert_true(json_real_value(json_object_get(d, "unchanged_s")) == 4.0);
	assert_null(json_object_get(d, "stalled"));
	json_decref(d);
}

static void
test_assess_syncing(void **state)
{
	struct btc_check	 c;
	char			 r[200];
	json_t			*d;

	(void)state;
	check_init(&c, 1000);
	c.ci.headers = 1234;
	c.ci.progress = 0.81;
	c.ci.ibd = 1;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 1000, syncing 81.00%, 234 blocks "
	    "behind");
	assert_int_equal(dint(d, "blocks_behind"), 234);
	assert_true(json_is_true(json_object_get(d, "ibd")));
	assert_true(json_real_value(json_object_get(d, "progress")) == 81.0);
	json_decref(d);

	/* Behind the reference more than its own headers: that counts. */
	c.ref = 1;
	c.ref_height = 1300;
	assert_int_equal(assess(&c, 0, 500, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 1000, syncing 81.00%, 300 blocks "
	    "behind, reference 1300");
	assert_int_equal(dint(d, "blocks_behind"), 300);
	assert_int_equal(dint(d, "lag"), 300);
	assert_int_equal(dint(d, "reference_height"), 1300);
	json_decref(d);

	/* No progress in the reply. */
	check_init(&c, 10);
	c.ci.headers = 20;
	c.ci.progress = -1;
	c.ci.ibd = -1;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 10, syncing, 10 blocks behind");
	assert_null(json_object_get(d, "progress"));
	assert_null(json_object_get(d, "ibd"));
	json_decref(d);
}

static void
test_assess_lag(void **state)
{
	struct btc_check	 c;
	char			 r[200];
	json_t			*d;

	(void)state;
	check_init(&c, 1000);
	c.ref = 1;
	c.ref_height = 1003;
	assert_int_equal(assess(&c, 0, 3, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 1000, 3 blocks behind, reference 1003");
	json_decref(d);
	c.ref_height = 1004;
	assert_int_equal(assess(&c, 0, 3, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "height 1000 is 4 blocks behind the reference "
	    "1004 (max_lag 3); height 1000, 4 blocks behind, reference 1004");
	assert_int_equal(dint(d, "lag"), 4);
	json_decref(d);
	c.ref_height = 1001;
	assert_int_equal(assess(&c, 0, 0, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "height 1000 is 1 block behind the reference "
	    "1001 (max_lag 0); height 1000, 1 block behind, reference 1001");
	json_decref(d);
	/* Ahead of the reference: fine, lag is negative. */
	c.ref_height = 990;
	assert_int_equal(assess(&c, 0, 0, r, sizeof(r), &d), PROBE_OK);
	assert_int_equal(dint(d, "lag"), -10);
	assert_int_equal(dint(d, "blocks_behind"), 0);
	json_decref(d);
	/* The reference failed: noted, not a failure. */
	c.ref = -1;
	snprintf(c.ref_error, sizeof(c.ref_error), "HTTP 502");
	assert_int_equal(assess(&c, 0, 3, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 1000; reference: HTTP 502");
	assert_string_equal(json_string_value(json_object_get(d,
	    "reference_error")), "HTTP 502");
	assert_null(json_object_get(d, "lag"));
	json_decref(d);
}

static void
test_assess_stall(void **state)
{
	struct btc_check	 c;
	char			 r[200];
	json_t			*d;

	(void)state;
	check_init(&c, 77);
	c.unchanged_ms = 299999;
	assert_int_equal(assess(&c, 300000, -1, r, sizeof(r), &d), PROBE_OK);
	json_decref(d);
	c.unchanged_ms = 300000;
	assert_int_equal(assess(&c, 300000, -1, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "stalled: height 77 unchanged for 300s "
	    "(stall_after 300s); height 77");
	assert_true(json_is_true(json_object_get(d, "stalled")));
	json_decref(d);
	c.unchanged_ms = 1500;
	assert_int_equal(assess(&c, 1200, -1, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "stalled: height 77 unchanged for 1.5s "
	    "(stall_after 1.2s); height 77");
	json_decref(d);
	/* stall_after 0 is off. */
	c.unchanged_ms = 86400000;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_OK);
	json_decref(d);
}

static void
test_assess_smartnode(void **state)
{
	struct btc_check	 c;
	char			 r[200];
	json_t			*d;

	(void)state;
	check_init(&c, 500);
	c.sn = 1;
	snprintf(c.smartnode.state, sizeof(c.smartnode.state), "READY");
	snprintf(c.smartnode.status, sizeof(c.smartnode.status), "Ready");
	c.protx = 1;
	c.protxinfo.penalty = 12;
	c.protxinfo.ban_height = -1;
	c.protxinfo.revived_height = -1;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_OK);
	assert_string_equal(r, "height 500, smartnode READY, PoSe penalty 12");
	assert_string_equal(json_string_value(json_object_get(d,
	    "smartnode_state")), "READY");
	assert_int_equal(dint(d, "pose_penalty"), 12);
	assert_int_equal(dint(d, "pose_ban_height"), -1);
	assert_int_equal(dint(d, "pose_revived_height"), -1);
	json_decref(d);

	snprintf(c.smartnode.state, sizeof(c.smartnode.state), "POSE_BANNED");
	snprintf(c.smartnode.status, sizeof(c.smartnode.status),
	    "Smartnode was PoSe banned");
	c.protxinfo.penalty = 312;
	c.protxinfo.ban_height = 511950;
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "smartnode POSE_BANNED: Smartnode was PoSe "
	    "banned; PoSe banned at height 511950 (penalty 312); height 500");
	assert_int_equal(dint(d, "pose_ban_height"), 511950);
	json_decref(d);

	c.sn = -1;
	snprintf(c.sn_error, sizeof(c.sn_error), "RPC error -32603: This is "
	    "not a smartnode");
	c.protx = -1;
	snprintf(c.protx_error, sizeof(c.protx_error), "RPC error -8: not "
	    "found");
	assert_int_equal(assess(&c, 0, -1, r, sizeof(r), &d), PROBE_FAIL);
	assert_string_equal(r, "smartnode status: RPC error -32603: This is "
	    "not a smartnode; protx info: RPC error -8: not found; height 500");
	assert_non_null(json_object_get(d, "smartnode_error"));
	assert_non_null(json_object_get(d, "protx_error"));
	json_decref(d);
}

static void
test_assess_long(void **state)
{
	struct btc_check	 c;
	char			 r[200], small[24];
	json_t			*d;

	(void)state;
	/* Everything fails at once, with maximal numbers: cut, not overrun. */
	check_init(&c, 9007199254740992LL);
	c.ci.headers = 9007199254740992LL;
	c.ci.ibd = 1;
	c.unchanged_ms = INT64_MAX / 2;
	c.ref = 1;
	c.ref_height = 9007199254740992LL;
	c.sn = -1;
	memset(c.sn_error, 'e', sizeof(c.sn_error) - 1);
	c.protx = -1;
	memset(c.protx_error, 'p', sizeof(c.protx_error) - 1);
	assert_int_equal(assess(&c, 1, 0, r, sizeof(r), &d), PROBE_FAIL);
	assert_true(strlen(r) < sizeof(r));
	json_decref(d);
	assert_int_equal(assess(&c, 1, 0, small, sizeof(small), &d),
	    PROBE_FAIL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chaininfo_real),
		cmocka_unit_test(test_rpc_errors),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_blockcount),
		cmocka_unit_test(test_count_text),
		cmocka_unit_test(test_smartnode),
		cmocka_unit_test(test_protx),
		cmocka_unit_test(test_assess_synced),
		cmocka_unit_test(test_assess_syncing),
		cmocka_unit_test(test_assess_lag),
		cmocka_unit_test(test_assess_stall),
		cmocka_unit_test(test_assess_smartnode),
		cmocka_unit_test(test_assess_long),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
