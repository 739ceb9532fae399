/*
 * bitcoin-rpc: the probe's reply checks (probe-bitcoin-rpc.h), apart from
 * the loop and the transport: they read the result of a JSON-RPC 1.0 reply
 * whose envelope lib/rpc-reply.c has read.  Text from a reply goes into
 * reasons only through rpc_text(), so a reason is always one line of
 * printable ASCII (and valid UTF-8 for the JSON of status --json).
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe.h"
#include "probe-bitcoin-rpc.h"
#include "rpc-reply.h"

/* An integer member of o between min and BTC_MAX_HEIGHT. */
static int
btc_get_int(const json_t *o, const char *name, int required, long long min,
    long long *out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL) {
		if (required)
			return (rpc_errf(err, errlen, "%s is missing", name));
		return (0);
	}
	if (!json_is_integer(v))
		return (rpc_errf(err, errlen, "%s is %s, not an integer", name,
		    rpc_json_type(v)));
	if (json_integer_value(v) < min ||
	    json_integer_value(v) > BTC_MAX_HEIGHT)
		return (rpc_errf(err, errlen, "%s is out of range (%lld)", name,
		    (long long)json_integer_value(v)));
	*out = json_integer_value(v);
	return (0);
}

/* A string member of o, cleaned into out. */
static int
btc_get_string(const json_t *o, const char *name, int required, char *out,
    size_t outlen, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL) {
		if (required)
			return (rpc_errf(err, errlen, "%s is missing", name));
		return (0);
	}
	if (!json_is_string(v))
		return (rpc_errf(err, errlen, "%s is %s, not a string", name,
		    rpc_json_type(v)));
	rpc_text(out, outlen, json_string_value(v), json_string_length(v),
	    RPC_TEXT_MORE);
	return (0);
}

/* getblockchaininfo's result. */
int
btc_check_chaininfo(const json_t *r, struct btc_chaininfo *ci, char *err,
    size_t errlen)
{
	json_t	*v;

	memset(ci, 0, sizeof(*ci));
	ci->headers = -1;
	ci->progress = -1;
	ci->ibd = -1;
	if (!json_is_object(r))
		return (rpc_errf(err, errlen, "result is %s, not an object",
		    rpc_json_type(r)));
	if (btc_get_int(r, "blocks", 1, 0, &ci->blocks, err, errlen) == -1 ||
	    btc_get_int(r, "headers", 0, 0, &ci->headers, err, errlen) == -1 ||
	    btc_get_string(r, "chain", 0, ci->chain, sizeof(ci->chain), err,
	    errlen) == -1)
		return (-1);
	if ((v = json_object_get(r, "verificationprogress")) != NULL) {
		if (!json_is_number(v))
			return (rpc_errf(err, errlen, "verificationprogress is "
			    "%s, not a number", rpc_json_type(v)));
		ci->progress = json_number_value(v);
		if (!isfinite(ci->progress) || ci->progress < 0)
			return (rpc_errf(err, errlen, "verificationprogress is "
			    "out of range"));
		if (ci->progress > 1)
			ci->progress = 1;
	}
	if ((v = json_object_get(r, "initialblockdownload")) != NULL) {
		if (!json_is_boolean(v))
			return (rpc_errf(err, errlen, "initialblockdownload is "
			    "%s, not a boolean", rpc_json_type(v)));
		ci->ibd = json_is_true(v);
	}
	return (0);
}

/* getblockcount's result. */
int
btc_check_blockcount(const json_t *r, long long *count, char *err,
    size_t errlen)
{
	if (!json_is_integer(r))
		return (rpc_errf(err, errlen, "result is %s, not an integer",
		    rpc_json_type(r)));
	if (json_integer_value(r) < 0 || json_integer_value(r) >
	    BTC_MAX_HEIGHT)
		return (rpc_errf(err, errlen, "block count out of range (%lld)",
		    (long long)json_integer_value(r)));
	*count = json_integer_value(r);
	return (0);
}

/* "smartnode status": state (READY, POSE_BANNED, ...) and status text. */
int
btc_check_smartnode(const json_t *r, struct btc_smartnode *sn, char *err,
    size_t errlen)
{
	memset(sn, 0, sizeof(*sn));
	if (!json_is_object(r))
		return (rpc_errf(err, errlen, "result is %s, not an object",
		    rpc_json_type(r)));
	if (btc_get_string(r, "state", 1, sn->state, sizeof(sn->state), err,
	    errlen) == -1 || btc_get_string(r, "status", 0, sn->status,
	    sizeof(sn->status), err, errlen) == -1)
		return (-1);
	if (sn->state[0] == '\0')
		return (rpc_errf(err, errlen, "state is empty"));
	return (0);
}

/* "protx info <hash>": the PoSe fields of its state object. */
int
btc_check_protx(const json_t *r, struct btc_protx *px, char *err,
    size_t errlen)
{
	json_t	*st;

	px->penalty = 0;
	px->ban_height = -1;
	px->revived_height = -1;
	if (!json_is_object(r))
		return (rpc_errf(err, errlen, "result is %s, not an object",
		    rpc_json_type(r)));
	if ((st = json_object_get(r, "state")) == NULL)
		return (rpc_errf(err, errlen, "state is missing"));
	if (!json_is_object(st))
		return (rpc_errf(err, errlen, "state is %s, not an object",
		    rpc_json_type(st)));
	if (btc_get_int(st, "PoSePenalty", 1, 0, &px->penalty, err,
	    errlen) == -1 || btc_get_int(st, "PoSeBanHeight", 1, -1,
	    &px->ban_height, err, errlen) == -1 || btc_get_int(st,
	    "PoSeRevivedHeight", 0, -1, &px->revived_height, err, errlen) == -1)
		return (-1);
	return (0);
}

/*
 * The result of a JSON-RPC 1.0 reply ({"result":..,"error":..,"id":..}),
 * or -1 with the HTTP or RPC error, worded the bitcoind way.  *result is
 * a new reference.
 */
int
btc_rpc_result(long status, const char *body, size_t len, json_t **result,
    char *err, size_t errlen)
{
	struct rpc_reply	 rep;

	*result = NULL;
	(void)rpc_reply_parse(&rep, RPC_JSONRPC, status, body, len,
	    RPC_TEXT_MORE);
	if (rpc_reply_reason(&rep, RPC_WORD_BITCOIND, NULL, err, errlen) == 0)
		*result = json_incref(rep.result);
	rpc_reply_free(&rep);
	return (*result != NULL ? 0 : -1);
}

/* Each parser: the envelope, then the check of the result. */
#define BTC_PARSE(name, type)						\
int									\
btc_parse_##name(long status, const char *body, size_t len, type *out,	\
    char *err, size_t errlen)						\
{									\
	json_t	*r;							\
	int	 rc;							\
									\
	if (btc_rpc_result(status, body, len, &r, err, errlen) == -1)	\
		return (-1);						\
	rc = btc_check_##name(r, out, err, errlen);			\
	json_decref(r);							\
	return (rc);							\
}

BTC_PARSE(chaininfo, struct btc_chaininfo)
BTC_PARSE(blockcount, long long)
BTC_PARSE(smartnode, struct btc_smartnode)
BTC_PARSE(protx, struct btc_protx)

/* An explorer's block count: a bare integer (JSON number) in the body. */
int
btc_parse_count_text(long status, const char *body, size_t len,
    long long *count, char *err, size_t errlen)
{
	json_t		*v;
	json_error_t	 jerr;
	char		 text[48];
	double		 d;
	int		 rc = -1;

	if (status < 200 || status > 299)
		return (rpc_errf(err, errlen, "HTTP %ld", status));
	while (len > 0 && isspace((unsigned char)body[0])) {
		body++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)body[len - 1]))
		len--;
	if (len == 0)
		return (rpc_errf(err, errlen, "empty reply"));
	rpc_text(text, sizeof(text), body, len, RPC_TEXT_MORE);
	if ((v = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL)
		return (rpc_errf(err, errlen, "reply is not a block count: "
		    "\"%s\"", text));
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= BTC_MAX_HEIGHT) {
		*count = json_integer_value(v);
		rc = 0;
	} else if (json_is_real(v) && (d = json_real_value(v)) >= 0 &&
	    d <= (double)BTC_MAX_HEIGHT && floor(d) == d) {
		*count = (long long)d;
		rc = 0;
	} else
		rpc_errf(err, errlen, "reply is not a block count: \"%s\"",
		    text);
	json_decref(v);
	return (rc);
}

/* A duration for reasons: "300s", "1.5s". */
static void
btc_fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
}

static void
btc_append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append to a reason, "; " between parts. */
static void
btc_append(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n = strlen(buf);

	if (n > 0 && n + 2 < len) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/*
 * Judge one check: PROBE_OK or PROBE_FAIL, a one-line reason (failures
 * first, then the height and sync state) and the detail object (new
 * reference).  stall_after_ms 0 and max_lag -1 switch those checks off.
 */
int
btc_assess(const struct btc_check *c, int64_t stall_after_ms,
    long long max_lag, char *reason, size_t len, json_t **detailp)
{
	const struct btc_chaininfo *ci = &c->ci;
	json_t		*d;
	char		 fails[200], base[200], t1[32], t2[32];
	long long	 behind = 0, lag;
	size_t		 n;

	fails[0] = base[0] = '\0';
	if (ci->headers >= 0 && ci->headers > ci->blocks)
		behind = ci->headers - ci->blocks;
	lag = c->ref == 1 ? c->ref_height - ci->blocks : 0;
	if (lag > behind)
		behind = lag;

	d = json_object();
	json_object_set_new(d, "height", json_integer(ci->blocks));
	if (ci->headers >= 0)
		json_object_set_new(d, "headers", json_integer(ci->headers));
	if (ci->progress >= 0)
		json_object_set_new(d, "progress",
		    json_real(round(ci->progress * 1e6) / 1e4));
	json_object_set_new(d, "blocks_behind", json_integer(behind));
	if (ci->ibd >= 0)
		json_object_set_new(d, "ibd", json_boolean(ci->ibd));
	if (ci->chain[0] != '\0')
		json_object_set_new(d, "chain", json_string(ci->chain));
	json_object_set_new(d, "unchanged_s",
	    json_real(round((double)c->unchanged_ms / 100.0) / 10.0));

	if (stall_after_ms > 0 && c->unchanged_ms >= stall_after_ms) {
		btc_fmt_ms(t1, sizeof(t1), c->unchanged_ms);
		btc_fmt_ms(t2, sizeof(t2), stall_after_ms);
		btc_append(fails, sizeof(fails), "stalled: height %lld "
		    "unchanged for %s (stall_after %s)", ci->blocks, t1, t2);
		json_object_set_new(d, "stalled", json_true());
	}
	if (c->ref == 1) {
		json_object_set_new(d, "reference_height",
		    json_integer(c->ref_height));
		json_object_set_new(d, "lag", json_integer(lag));
		if (max_lag >= 0 && lag > max_lag)
			btc_append(fails, sizeof(fails), "height %lld is %lld "
			    "block%s behind the reference %lld (max_lag %lld)",
			    ci->blocks, lag, lag == 1 ? "" : "s",
			    c->ref_height, max_lag);
	} else if (c->ref == -1)
		json_object_set_new(d, "reference_error",
		    json_string(c->ref_error));
	if (c->sn == 1) {
		json_object_set_new(d, "smartnode_state",
		    json_string(c->smartnode.state));
		if (c->smartnode.status[0] != '\0')
			json_object_set_new(d, "smartnode_status",
			    json_string(c->smartnode.status));
		if (strcmp(c->smartnode.state, "READY") != 0)
			btc_append(fails, sizeof(fails), "smartnode %s%s%s",
			    c->smartnode.state,
			    c->smartnode.status[0] != '\0' ? ": " : "",
			    c->smartnode.status);
	} else if (c->sn == -1) {
		json_object_set_new(d, "smartnode_error",
		    json_string(c->sn_error));
		btc_append(fails, sizeof(fails), "smartnode status: %s",
		    c->sn_error);
	}
	if (c->protx == 1) {
		json_object_set_new(d, "pose_penalty",
		    json_integer(c->protxinfo.penalty));
		json_object_set_new(d, "pose_ban_height",
		    json_integer(c->protxinfo.ban_height));
		json_object_set_new(d, "pose_revived_height",
		    json_integer(c->protxinfo.revived_height));
		if (c->protxinfo.ban_height != -1)
			btc_append(fails, sizeof(fails), "PoSe banned at "
			    "height %lld (penalty %lld)",
			    c->protxinfo.ban_height, c->protxinfo.penalty);
	} else if (c->protx == -1) {
		json_object_set_new(d, "protx_error",
		    json_string(c->protx_error));
		btc_append(fails, sizeof(fails), "protx info: %s",
		    c->protx_error);
	}

	n = (size_t)snprintf(base, sizeof(base), "height %lld", ci->blocks);
	/* Syncing by its own account: IBD, or headers ahead of blocks. */
	if (n < sizeof(base) && (ci->ibd == 1 || ci->headers > ci->blocks)) {
		if (ci->progress >= 0)
			n += (size_t)snprintf(base + n, sizeof(base) - n,
			    ", syncing %.2f%%",
			    floor(ci->progress * 10000.0) / 100.0);
		else
			n += (size_t)snprintf(base + n, sizeof(base) - n,
			    ", syncing");
	}
	if (n < sizeof(base) && behind > 0)
		n += (size_t)snprintf(base + n, sizeof(base) - n,
		    ", %lld block%s behind", behind, behind == 1 ? "" : "s");
	if (n < sizeof(base) && c->ref == 1)
		n += (size_t)snprintf(base + n, sizeof(base) - n,
		    ", reference %lld", c->ref_height);
	if (n < sizeof(base) && c->sn == 1 &&
	    strcmp(c->smartnode.state, "READY") == 0)
		n += (size_t)snprintf(base + n, sizeof(base) - n,
		    ", smartnode READY");
	if (n < sizeof(base) && c->protx == 1 && c->protxinfo.penalty > 0 &&
	    c->protxinfo.ban_height == -1)
		n += (size_t)snprintf(base + n, sizeof(base) - n,
		    ", PoSe penalty %lld", c->protxinfo.penalty);
	if (n < sizeof(base) && c->ref == -1)
		snprintf(base + n, sizeof(base) - n, "; reference: %s",
		    c->ref_error);

	if (fails[0] != '\0')
		snprintf(reason, len, "%s; %s", fails, base);
	else
		snprintf(reason, len, "%s", base);
	*detailp = d;
	return (fails[0] != '\0' ? PROBE_FAIL : PROBE_OK);
}
