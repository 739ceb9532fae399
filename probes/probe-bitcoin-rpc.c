/*
 * bitcoin-rpc: block height, sync progress and lag of a Bitcoin-lineage
 * daemon (raptoreumd, litecoind, dashd) over JSON-RPC 1.0 with Basic auth,
 * from user + password_file or the daemon's cookie file (re-read at every
 * check: it changes at each daemon restart).  One check is a chain of
 * requests to the node, each sent when the last one answered:
 * getblockchaininfo, then "smartnode status" (smartnode: true), then
 * "protx info <hash>" (protx_hash:).  A reference height (another node's
 * getblockcount, or an explorer URL returning a bare count) is asked at
 * the same time and given at most three quarters of the timeout, so a slow
 * reference never makes the node itself look hung.  The value is the
 * height.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "probe.h"
#include "probe-bitcoin-rpc.h"
#include "secret.h"
#include "util.h"

/* Heights are exact as doubles (the probe's value) up to 2^53. */
#define BTC_MAX_HEIGHT	(1LL << 53)

struct btc_endpoint {
	const char	*url;
	const char	*user;
	const char	*password_file;
	const char	*cookie;
};

struct btc_cfg {
	struct btc_endpoint	 node;
	struct btc_endpoint	 ref;		/* ref.url NULL: none */
	const char		*reference_url;	/* explorer, or NULL */
	int64_t			 stall_after_ms; /* 0: off */
	long long		 max_lag;	/* -1: off */
	int			 smartnode;
	const char		*protx_hash;
	char			*protx_body;
	long long		 max_body;
	json_t			*params;	/* keeps the strings alive */
};

/* Across the checks of one run: when the height last changed. */
struct btc_state {
	int		 have;
	long long	 height;
	int64_t		 changed_ms;
};

#define BTC_STEP_CHAININFO	0
#define BTC_STEP_SMARTNODE	1
#define BTC_STEP_PROTX		2
#define BTC_STEP_DONE		3

/* One check in flight. */
struct btc_op {
	struct probe		*p;
	struct http_req		*node_req;
	struct http_req		*ref_req;
	int			 step;
	char			*userpwd;	/* the node's, wiped at free */
	struct btc_check	 chk;
};

static const char *const btc_keys[] = {
	"url", "user", "password_file", "cookie", "reference",
	"reference_url", "max_lag", "stall_after", "smartnode", "protx_hash",
	"max_body", NULL
};
static const char *const btc_ref_keys[] = {
	"url", "user", "password_file", "cookie", NULL
};

/*
 * No keep-alive: bitcoind-lineage daemons wait at shutdown until every
 * open RPC connection is closed, and an idle one kept in curl's pool is
 * only closed by their rpcservertimeout (30 s), which would hold up every
 * stop of a probed node by that long.
 */
static const char *const btc_headers[] = { "Connection: close", NULL };

static const char btc_body_chaininfo[] =
    "{\"jsonrpc\":\"1.0\",\"id\":\"ck\",\"method\":\"getblockchaininfo\","
    "\"params\":[]}";
static const char btc_body_smartnode[] =
    "{\"jsonrpc\":\"1.0\",\"id\":\"ck\",\"method\":\"smartnode\","
    "\"params\":[\"status\"]}";
static const char btc_body_blockcount[] =
    "{\"jsonrpc\":\"1.0\",\"id\":\"ck\",\"method\":\"getblockcount\","
    "\"params\":[]}";

/*
 * Reply parsers.  Text from a reply goes into reasons only through
 * btc_clean(), so a reason is always one line of printable ASCII (and
 * valid UTF-8 for the JSON of status --json).
 */

/* Copy at most srclen bytes of src as printable ASCII ('?' for others). */
static void
btc_clean(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t	 i, n = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && src[i] != '\0' && n + 1 < dstlen; i++) {
		if ((unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f)
			dst[n++] = src[i];
		else
			dst[n++] = '?';
	}
	dst[n] = '\0';
	if (i < srclen && src[i] != '\0' && n >= 3)
		memcpy(dst + n - 3, "...", 3);
}

static int
btc_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set err; returns -1 for "return (btc_err(...))". */
static int
btc_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

static const char *
btc_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return ("an object");
	case JSON_ARRAY:
		return ("an array");
	case JSON_STRING:
		return ("a string");
	case JSON_INTEGER:
		return ("an integer");
	case JSON_REAL:
		return ("a real number");
	case JSON_TRUE:
	case JSON_FALSE:
		return ("a boolean");
	case JSON_NULL:
		return ("null");
	}
	return ("unknown");
}

/* An integer member of o between min and BTC_MAX_HEIGHT. */
static int
btc_get_int(const json_t *o, const char *name, int required, long long min,
    long long *out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL) {
		if (required)
			return (btc_err(err, errlen, "%s is missing", name));
		return (0);
	}
	if (!json_is_integer(v))
		return (btc_err(err, errlen, "%s is %s, not an integer", name,
		    btc_type(v)));
	if (json_integer_value(v) < min ||
	    json_integer_value(v) > BTC_MAX_HEIGHT)
		return (btc_err(err, errlen, "%s is out of range (%lld)", name,
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
			return (btc_err(err, errlen, "%s is missing", name));
		return (0);
	}
	if (!json_is_string(v))
		return (btc_err(err, errlen, "%s is %s, not a string", name,
		    btc_type(v)));
	btc_clean(out, outlen, json_string_value(v), json_string_length(v));
	return (0);
}

/*
 * The result of a JSON-RPC 1.0 reply ({"result":..,"error":..,"id":..}),
 * or -1 with the HTTP or RPC error.  *result is a new reference.
 */
int
btc_rpc_result(long status, const char *body, size_t len, json_t **result,
    char *err, size_t errlen)
{
	json_t		*doc, *e, *r, *code, *msg;
	json_error_t	 jerr;
	char		 text[BTC_ERRLEN];
	char		*dump;

	*result = NULL;
	if (len == 0) {
		if (status == 401)
			return (btc_err(err, errlen, "HTTP 401: authentication "
			    "failed (check user and password_file, or "
			    "cookie)"));
		if (status == 403)
			return (btc_err(err, errlen, "HTTP 403: forbidden "
			    "(rpcallowip?)"));
		if (status == 200)
			return (btc_err(err, errlen, "empty reply"));
		return (btc_err(err, errlen, "HTTP %ld with an empty body",
		    status));
	}
	if ((doc = json_loadb(body, len, 0, &jerr)) == NULL) {
		if (status == 401)
			return (btc_err(err, errlen, "HTTP 401: authentication "
			    "failed (check user and password_file, or "
			    "cookie)"));
		btc_clean(text, sizeof(text), jerr.text, sizeof(jerr.text));
		if (status != 200)
			return (btc_err(err, errlen, "HTTP %ld, reply is not "
			    "JSON: %s", status, text));
		return (btc_err(err, errlen, "reply is not JSON: %s", text));
	}
	if (!json_is_object(doc)) {
		if (status != 200)
			btc_err(err, errlen, "HTTP %ld, reply is %s, not a "
			    "JSON-RPC object", status, btc_type(doc));
		else
			btc_err(err, errlen, "reply is %s, not a JSON-RPC "
			    "object", btc_type(doc));
		json_decref(doc);
		return (-1);
	}
	e = json_object_get(doc, "error");
	if (e != NULL && !json_is_null(e)) {
		code = json_object_get(e, "code");
		msg = json_object_get(e, "message");
		if (json_is_string(msg))
			btc_clean(text, sizeof(text), json_string_value(msg),
			    json_string_length(msg));
		else if (json_is_string(e))
			btc_clean(text, sizeof(text), json_string_value(e),
			    json_string_length(e));
		else {
			dump = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT |
			    JSON_ENSURE_ASCII);
			btc_clean(text, sizeof(text), dump != NULL ? dump : "?",
			    dump != NULL ? strlen(dump) : 1);
			free(dump);
		}
		if (json_is_integer(code))
			btc_err(err, errlen, "RPC error %lld: %s",
			    (long long)json_integer_value(code), text);
		else
			btc_err(err, errlen, "RPC error: %s", text);
		json_decref(doc);
		return (-1);
	}
	if (status != 200) {
		json_decref(doc);
		return (btc_err(err, errlen, "HTTP %ld", status));
	}
	if ((r = json_object_get(doc, "result")) == NULL) {
		json_decref(doc);
		return (btc_err(err, errlen, "reply has neither result nor "
		    "error"));
	}
	*result = json_incref(r);
	json_decref(doc);
	return (0);
}

/* getblockchaininfo's result. */
int
btc_parse_chaininfo(long status, const char *body, size_t len,
    struct btc_chaininfo *ci, char *err, size_t errlen)
{
	json_t	*r, *v;
	int	 rc = -1;

	memset(ci, 0, sizeof(*ci));
	ci->headers = -1;
	ci->progress = -1;
	ci->ibd = -1;
	if (btc_rpc_result(status, body, len, &r, err, errlen) == -1)
		return (-1);
	if (!json_is_object(r)) {
		btc_err(err, errlen, "result is %s, not an object",
		    btc_type(r));
		goto out;
	}
	if (btc_get_int(r, "blocks", 1, 0, &ci->blocks, err, errlen) == -1 ||
	    btc_get_int(r, "headers", 0, 0, &ci->headers, err, errlen) == -1 ||
	    btc_get_string(r, "chain", 0, ci->chain, sizeof(ci->chain), err,
	    errlen) == -1)
		goto out;
	if ((v = json_object_get(r, "verificationprogress")) != NULL) {
		if (!json_is_number(v)) {
			btc_err(err, errlen, "verificationprogress is %s, not "
			    "a number", btc_type(v));
			goto out;
		}
		ci->progress = json_number_value(v);
		if (!isfinite(ci->progress) || ci->progress < 0) {
			btc_err(err, errlen, "verificationprogress is out of "
			    "range");
			goto out;
		}
		if (ci->progress > 1)
			ci->progress = 1;
	}
	if ((v = json_object_get(r, "initialblockdownload")) != NULL) {
		if (!json_is_boolean(v)) {
			btc_err(err, errlen, "initialblockdownload is %s, not "
			    "a boolean", btc_type(v));
			goto out;
		}
		ci->ibd = json_is_true(v);
	}
	rc = 0;
out:
	json_decref(r);
	return (rc);
}

/* getblockcount's result. */
int
btc_parse_blockcount(long status, const char *body, size_t len,
    long long *count, char *err, size_t errlen)
{
	json_t	*r;
	int	 rc = -1;

	if (btc_rpc_result(status, body, len, &r, err, errlen) == -1)
		return (-1);
	if (!json_is_integer(r))
		btc_err(err, errlen, "result is %s, not an integer",
		    btc_type(r));
	else if (json_integer_value(r) < 0 ||
	    json_integer_value(r) > BTC_MAX_HEIGHT)
		btc_err(err, errlen, "block count out of range (%lld)",
		    (long long)json_integer_value(r));
	else {
		*count = json_integer_value(r);
		rc = 0;
	}
	json_decref(r);
	return (rc);
}

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
		return (btc_err(err, errlen, "HTTP %ld", status));
	while (len > 0 && isspace((unsigned char)body[0])) {
		body++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)body[len - 1]))
		len--;
	if (len == 0)
		return (btc_err(err, errlen, "empty reply"));
	btc_clean(text, sizeof(text), body, len);
	if ((v = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL)
		return (btc_err(err, errlen, "reply is not a block count: "
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
		btc_err(err, errlen, "reply is not a block count: \"%s\"",
		    text);
	json_decref(v);
	return (rc);
}

/* "smartnode status": state (READY, POSE_BANNED, ...) and status text. */
int
btc_parse_smartnode(long status, const char *body, size_t len,
    struct btc_smartnode *sn, char *err, size_t errlen)
{
	json_t	*r;
	int	 rc = -1;

	memset(sn, 0, sizeof(*sn));
	if (btc_rpc_result(status, body, len, &r, err, errlen) == -1)
		return (-1);
	if (!json_is_object(r))
		btc_err(err, errlen, "result is %s, not an object",
		    btc_type(r));
	else if (btc_get_string(r, "state", 1, sn->state, sizeof(sn->state),
	    err, errlen) == 0 && btc_get_string(r, "status", 0, sn->status,
	    sizeof(sn->status), err, errlen) == 0) {
		if (sn->state[0] == '\0')
			btc_err(err, errlen, "state is empty");
		else
			rc = 0;
	}
	json_decref(r);
	return (rc);
}

/* "protx info <hash>": the PoSe fields of its state object. */
int
btc_parse_protx(long status, const char *body, size_t len,
    struct btc_protx *px, char *err, size_t errlen)
{
	json_t	*r, *st;
	int	 rc = -1;

	px->penalty = 0;
	px->ban_height = -1;
	px->revived_height = -1;
	if (btc_rpc_result(status, body, len, &r, err, errlen) == -1)
		return (-1);
	if (!json_is_object(r))
		btc_err(err, errlen, "result is %s, not an object",
		    btc_type(r));
	else if ((st = json_object_get(r, "state")) == NULL)
		btc_err(err, errlen, "state is missing");
	else if (!json_is_object(st))
		btc_err(err, errlen, "state is %s, not an object",
		    btc_type(st));
	else if (btc_get_int(st, "PoSePenalty", 1, 0, &px->penalty, err,
	    errlen) == 0 && btc_get_int(st, "PoSeBanHeight", 1, -1,
	    &px->ban_height, err, errlen) == 0 && btc_get_int(st,
	    "PoSeRevivedHeight", 0, -1, &px->revived_height, err, errlen) == 0)
		rc = 0;
	json_decref(r);
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

/* Configuration. */

static void
btc_free_config(void *arg)
{
	struct btc_cfg	*c = arg;

	if (c == NULL)
		return;
	free(c->protx_body);
	json_decref(c->params);
	free(c);
}

/* url and credentials of an endpoint in o; errors name the key "what". */
static int
btc_parse_endpoint(const json_t *o, struct btc_endpoint *ep, const char *what,
    const char **key, char **err)
{
	const char	*k = NULL;
	char		*e = NULL;

	if (probe_param_string(o, "url", 1, &ep->url, &k, &e) == -1 ||
	    probe_param_string(o, "user", 0, &ep->user, &k, &e) == -1 ||
	    probe_param_string(o, "password_file", 0, &ep->password_file, &k,
	    &e) == -1 ||
	    probe_param_string(o, "cookie", 0, &ep->cookie, &k, &e) == -1)
		goto fail;
	if (strncmp(ep->url, "http://", 7) != 0 &&
	    strncmp(ep->url, "https://", 8) != 0) {
		k = "url";
		xasprintf(&e, "url must start with http:// or https://");
		goto fail;
	}
	if (ep->cookie != NULL && (ep->user != NULL ||
	    ep->password_file != NULL)) {
		k = "cookie";
		xasprintf(&e, "cookie and user/password_file exclude each "
		    "other");
		goto fail;
	}
	if (ep->cookie == NULL && (ep->user == NULL ||
	    ep->password_file == NULL)) {
		k = ep->user != NULL ? "user" : ep->password_file != NULL ?
		    "password_file" : NULL;
		xasprintf(&e, "needs cookie, or user and password_file");
		goto fail;
	}
	return (0);
fail:
	/* Inside reference:, the error is placed at the reference key. */
	*key = what != NULL ? what : k;
	if (what != NULL) {
		xasprintf(err, "%s: %s", what, e);
		free(e);
	} else
		*err = e;
	return (-1);
}

static void *
btc_parse(const json_t *o, const char **key, char **err)
{
	struct btc_cfg	*c;
	const json_t	*ref;
	const char	*hex;
	char		*reason;
	size_t		 i;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->max_lag = -1;
	c->max_body = 1024 * 1024;
	if (probe_param_check_keys(o, btc_keys, key, err) == -1 ||
	    btc_parse_endpoint(o, &c->node, NULL, key, err) == -1 ||
	    probe_param_string(o, "reference_url", 0, &c->reference_url, key,
	    err) == -1 ||
	    probe_param_int(o, "max_lag", 0, BTC_MAX_HEIGHT, &c->max_lag, key,
	    err) == -1 ||
	    probe_param_duration(o, "stall_after", &c->stall_after_ms, key,
	    err) == -1 ||
	    probe_param_bool(o, "smartnode", &c->smartnode, key, err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	if ((ref = json_object_get(o, "reference")) != NULL) {
		if (!json_is_object(ref)) {
			*key = "reference";
			xasprintf(err, "reference must be a map with url and "
			    "cookie, or url, user and password_file");
			goto fail;
		}
		if (probe_param_check_keys(ref, btc_ref_keys, key, err) ==
		    -1) {
			reason = *err;
			*key = "reference";
			xasprintf(err, "reference: %s", reason);
			free(reason);
			goto fail;
		}
		if (btc_parse_endpoint(ref, &c->ref, "reference", key, err) ==
		    -1)
			goto fail;
		if (c->reference_url != NULL) {
			*key = "reference_url";
			xasprintf(err, "reference and reference_url exclude "
			    "each other");
			goto fail;
		}
	}
	if (c->reference_url != NULL &&
	    strncmp(c->reference_url, "http://", 7) != 0 &&
	    strncmp(c->reference_url, "https://", 8) != 0) {
		*key = "reference_url";
		xasprintf(err, "reference_url must start with http:// or "
		    "https://");
		goto fail;
	}
	if (c->ref.url == NULL && c->reference_url == NULL) {
		if (c->max_lag != -1) {
			*key = "max_lag";
			xasprintf(err, "max_lag needs reference or "
			    "reference_url");
			goto fail;
		}
	} else if (c->max_lag == -1)
		c->max_lag = 3;
	if (json_is_number(json_object_get(o, "protx_hash"))) {
		*key = "protx_hash";
		xasprintf(err, "protx_hash must be quoted (a 64-digit hex "
		    "string)");
		goto fail;
	}
	if (probe_param_string(o, "protx_hash", 0, &c->protx_hash, key,
	    err) == -1)
		goto fail;
	if ((hex = c->protx_hash) != NULL) {
		for (i = 0; hex[i] != '\0'; i++)
			if (!isxdigit((unsigned char)hex[i]))
				break;
		if (hex[i] != '\0' || i != 64) {
			*key = "protx_hash";
			xasprintf(err, "protx_hash must be 64 hex digits");
			goto fail;
		}
		xasprintf(&c->protx_body, "{\"jsonrpc\":\"1.0\",\"id\":\"ck\","
		    "\"method\":\"protx\",\"params\":[\"info\",\"%s\"]}", hex);
	}
	return (c);
fail:
	btc_free_config(c);
	return (NULL);
}

/* Checks. */

/*
 * "user:password" for an endpoint (allocated; wipe before freeing), or
 * NULL with err set.  The cookie file already holds "__cookie__:hex".
 */
static char *
btc_userpwd(const struct btc_endpoint *ep, char *err, size_t errlen)
{
	char	*secret, *e, *up;

	if (ep->cookie != NULL) {
		if ((secret = secret_file_read_any(ep->cookie, &e)) ==
		    NULL) {
			btc_err(err, errlen, "cookie: %s (not started yet?)",
			    e);
			free(e);
			return (NULL);
		}
		if (strchr(secret, ':') == NULL) {
			explicit_bzero(secret, strlen(secret));
			free(secret);
			btc_err(err, errlen, "cookie %s does not hold "
			    "user:password", ep->cookie);
			return (NULL);
		}
		return (secret);
	}
	if ((secret = secret_file_read_any(ep->password_file, &e)) ==
	    NULL) {
		btc_err(err, errlen, "password_file: %s", e);
		free(e);
		return (NULL);
	}
	xasprintf(&up, "%s:%s", ep->user, secret);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return (up);
}

static void
btc_op_free(struct btc_op *op)
{
	http_cancel(op->node_req);
	http_cancel(op->ref_req);
	if (op->userpwd != NULL) {
		explicit_bzero(op->userpwd, strlen(op->userpwd));
		free(op->userpwd);
	}
	free(op);
}

/* Both the node's chain of requests and the reference have answered. */
static void
btc_finish(struct btc_op *op)
{
	struct probe		*p = op->p;
	struct btc_cfg		*c = p->cfg->kcfg;
	struct btc_state	*st = p->state;
	char			 reason[200];
	json_t			*detail;
	double			 v;
	int64_t			 now = now_ms();
	int			 status;

	if (!st->have || st->height != op->chk.ci.blocks) {
		st->have = 1;
		st->height = op->chk.ci.blocks;
		st->changed_ms = now;
	}
	op->chk.unchanged_ms = now - st->changed_ms;
	status = btc_assess(&op->chk, c->stall_after_ms, c->max_lag, reason,
	    sizeof(reason), &detail);
	v = (double)op->chk.ci.blocks;
	p->op = NULL;
	btc_op_free(op);
	probe_done(p, status, &v, detail, "%s", reason);
}

/* The node failed: the check ends now, the reference is dropped. */
static void
btc_node_failed(struct btc_op *op, int status, const char *what,
    const char *why)
{
	struct probe	*p = op->p;

	p->op = NULL;
	btc_op_free(op);
	probe_done(p, status, NULL, NULL, "%s%s%s", what, *what != '\0' ?
	    ": " : "", why);
}

static void	btc_node_cb(void *, const struct http_reply *);

/* Send the request of op->step to the node; 0, or -1 (op is then freed). */
static int
btc_node_send(struct btc_op *op)
{
	struct probe		*p = op->p;
	struct btc_cfg		*c = p->cfg->kcfg;
	struct http_opts	 o;

	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.body = op->step == BTC_STEP_CHAININFO ? btc_body_chaininfo :
	    op->step == BTC_STEP_SMARTNODE ? btc_body_smartnode :
	    c->protx_body;
	o.content_type = "application/json";
	o.headers = btc_headers;
	o.userpwd = op->userpwd;
	/* The probe's own timeout fires first and counts as a timeout. */
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	if ((op->node_req = http_request(c->node.url, &o, btc_node_cb, op)) ==
	    NULL) {
		btc_node_failed(op, PROBE_ERROR, "", "cannot make a request");
		return (-1);
	}
	return (0);
}

/* The next step after op->step, or BTC_STEP_DONE. */
static int
btc_next_step(const struct btc_cfg *c, int step)
{
	if (step < BTC_STEP_SMARTNODE && c->smartnode)
		return (BTC_STEP_SMARTNODE);
	if (step < BTC_STEP_PROTX && c->protx_hash != NULL)
		return (BTC_STEP_PROTX);
	return (BTC_STEP_DONE);
}

static void
btc_node_cb(void *arg, const struct http_reply *r)
{
	struct btc_op	*op = arg;
	struct btc_cfg	*c = op->p->cfg->kcfg;
	struct btc_check *k = &op->chk;
	char		 err[BTC_ERRLEN];
	int		 rc;

	op->node_req = NULL;
	if (r->error != NULL)
		btc_clean(err, sizeof(err), r->error, strlen(r->error));
	switch (op->step) {
	case BTC_STEP_CHAININFO:
		if (r->error != NULL || btc_parse_chaininfo(r->status, r->body,
		    r->len, &k->ci, err, sizeof(err)) == -1) {
			btc_node_failed(op, PROBE_FAIL, "getblockchaininfo",
			    err);
			return;
		}
		break;
	case BTC_STEP_SMARTNODE:
		rc = r->error != NULL ? -1 : btc_parse_smartnode(r->status,
		    r->body, r->len, &k->smartnode, err, sizeof(err));
		k->sn = rc == 0 ? 1 : -1;
		if (rc == -1)
			snprintf(k->sn_error, sizeof(k->sn_error), "%s", err);
		break;
	case BTC_STEP_PROTX:
		rc = r->error != NULL ? -1 : btc_parse_protx(r->status,
		    r->body, r->len, &k->protxinfo, err, sizeof(err));
		k->protx = rc == 0 ? 1 : -1;
		if (rc == -1)
			snprintf(k->protx_error, sizeof(k->protx_error), "%s",
			    err);
		break;
	}
	op->step = btc_next_step(c, op->step);
	if (op->step != BTC_STEP_DONE) {
		btc_node_send(op);
		return;
	}
	if (op->ref_req == NULL)
		btc_finish(op);
}

static void
btc_ref_cb(void *arg, const struct http_reply *r)
{
	struct btc_op	*op = arg;
	struct btc_cfg	*c = op->p->cfg->kcfg;
	struct btc_check *k = &op->chk;
	int		 rc;

	op->ref_req = NULL;
	if (r->error != NULL) {
		btc_clean(k->ref_error, sizeof(k->ref_error), r->error,
		    strlen(r->error));
		rc = -1;
	} else if (c->reference_url != NULL)
		rc = btc_parse_count_text(r->status, r->body, r->len,
		    &k->ref_height, k->ref_error, sizeof(k->ref_error));
	else
		rc = btc_parse_blockcount(r->status, r->body, r->len,
		    &k->ref_height, k->ref_error, sizeof(k->ref_error));
	k->ref = rc == 0 ? 1 : -1;
	if (op->step == BTC_STEP_DONE)
		btc_finish(op);
}

/* Ask the reference for its height; failures are noted, not fatal. */
static void
btc_ref_send(struct btc_op *op)
{
	struct probe		*p = op->p;
	struct btc_cfg		*c = p->cfg->kcfg;
	struct http_opts	 o;
	char			*up = NULL;

	memset(&o, 0, sizeof(o));
	o.headers = btc_headers;
	o.timeout_ms = (long)(p->cfg->timeout_ms * 3 / 4);
	if (o.timeout_ms < 1)
		o.timeout_ms = 1;
	o.max_body = (size_t)c->max_body;
	if (c->ref.url != NULL) {
		if ((up = btc_userpwd(&c->ref, op->chk.ref_error,
		    sizeof(op->chk.ref_error))) == NULL) {
			op->chk.ref = -1;
			return;
		}
		o.method = "POST";
		o.body = btc_body_blockcount;
		o.content_type = "application/json";
		o.userpwd = up;
	}
	op->ref_req = http_request(c->ref.url != NULL ? c->ref.url :
	    c->reference_url, &o, btc_ref_cb, op);
	if (up != NULL) {
		explicit_bzero(up, strlen(up));
		free(up);
	}
	if (op->ref_req == NULL) {
		op->chk.ref = -1;
		snprintf(op->chk.ref_error, sizeof(op->chk.ref_error),
		    "cannot make a request");
	}
}

static void
btc_run(struct probe *p)
{
	struct btc_cfg	*c = p->cfg->kcfg;
	struct btc_op	*op;
	char		 err[BTC_ERRLEN];

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct btc_state));
	op = xcalloc(1, sizeof(*op));
	op->p = p;
	op->step = BTC_STEP_CHAININFO;
	if ((op->userpwd = btc_userpwd(&c->node, err, sizeof(err))) == NULL) {
		free(op);
		probe_done(p, c->node.cookie != NULL ? PROBE_FAIL : PROBE_ERROR,
		    NULL, NULL, "%s", err);
		return;
	}
	p->op = op;
	if (btc_node_send(op) == -1)
		return;
	if (c->ref.url != NULL || c->reference_url != NULL)
		btc_ref_send(op);
}

/* Timeout or end of run: drop every request in flight. */
static void
btc_cancel(struct probe *p)
{
	if (p->op != NULL)
		btc_op_free(p->op);
	p->op = NULL;
}

static void
btc_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_bitcoin_rpc = {
	.name = "bitcoin-rpc",
	.parse = btc_parse,
	.free_config = btc_free_config,
	.run = btc_run,
	.cancel = btc_cancel,
	.reset = btc_reset,
};
