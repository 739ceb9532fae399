/*
 * bitshares-witness: a BitShares witness_node's HTTP JSON-RPC.  Each check
 * asks, at the same time, for the witness object (get_witness_by_account,
 * or get_objects for a "1.6.N" id) and get_dynamic_global_properties.  It
 * reports total_missed (the value), how many blocks were missed since the
 * first check of this run, the last confirmed block and the signing key;
 * it fails when the chain time is older than max_age, on RPC errors, and
 * when the witness does not exist.  Windows and thresholds on missed
 * blocks are the rules engine's business.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http.h"
#include "log.h"
#include "probe.h"
#include "probe-bitshares-witness.h"
#include "util.h"

#define BTS_REASON	160

struct bitshares_cfg {
	char			*url;
	char			*witness;
	char			*witness_req;	/* JSON-RPC bodies */
	char			*dgp_req;
	int64_t			 max_age_ms;
	long long		 max_body;
};

/* One check in flight: the witness and the global properties. */
struct bitshares_op {
	struct probe		*p;
	struct http_req		*witness_http;
	struct http_req		*dgp_http;
	int			 pending;
	int			 witness_rc;	/* 0, -1, NOT_FOUND */
	struct bitshares_witness w;
	char			 witness_err[BTS_REASON];
	int			 dgp_rc;
	struct bitshares_dgp	 d;
	char			 dgp_err[BTS_REASON];
};

static const char *const bitshares_keys[] = {
	"url", "witness", "max_age", "max_body", NULL
};

/* Copy text for a one-line reason: stop at a newline, no control bytes. */
static void
bitshares_copy_text(char *dst, size_t size, const char *src, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len && n + 1 < size; i++) {
		if (src[i] == '\n' || src[i] == '\r')
			break;
		dst[n++] = (unsigned char)src[i] < 0x20 ||
		    (unsigned char)src[i] == 0x7f ? ' ' : src[i];
	}
	dst[n] = '\0';
}

static const char *
bitshares_type_name(const json_t *v)
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
		return ("a real");
	case JSON_TRUE:
	case JSON_FALSE:
		return ("a boolean");
	case JSON_NULL:
		return ("null");
	}
	return ("?");
}

/* Format a JSON-RPC "error" member as "RPC error N: first line". */
static void
bitshares_rpc_error(json_t *e, char *out, size_t size)
{
	const char	*msg;
	char		 buf[100];

	msg = json_string_value(json_object_get(e, "message"));
	if (msg == NULL)
		msg = json_string_value(e);
	bitshares_copy_text(buf, sizeof(buf), msg != NULL ? msg : "",
	    msg != NULL ? strlen(msg) : 0);
	if (json_is_integer(json_object_get(e, "code")))
		snprintf(out, size, "RPC error %lld%s%s",
		    (long long)json_integer_value(json_object_get(e, "code")),
		    buf[0] != '\0' ? ": " : "", buf);
	else
		snprintf(out, size, "RPC error%s%s", buf[0] != '\0' ? ": " :
		    "", buf);
}

/*
 * The "result" of a JSON-RPC reply (borrowed from *doc, which the caller
 * frees), or NULL with err set.  An "error" member becomes the reason.
 */
static json_t *
bitshares_result(const char *body, size_t len, const char *what,
    json_t **doc, char *err, size_t errlen)
{
	json_t		*e, *r;
	json_error_t	 jerr;
	char		 buf[120];

	*doc = NULL;
	if (len == 0) {
		snprintf(err, errlen, "%s reply is empty", what);
		return (NULL);
	}
	if ((*doc = json_loadb(body, len, 0, &jerr)) == NULL) {
		bitshares_copy_text(jerr.text, sizeof(jerr.text), jerr.text,
		    strlen(jerr.text));	/* it may quote a newline */
		snprintf(err, errlen, "%s reply is not JSON: %s", what,
		    jerr.text);
		return (NULL);
	}
	if (!json_is_object(*doc)) {
		snprintf(err, errlen, "%s reply is %s, not an object", what,
		    bitshares_type_name(*doc));
		return (NULL);
	}
	if ((e = json_object_get(*doc, "error")) != NULL && !json_is_null(e)) {
		bitshares_rpc_error(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
		return (NULL);
	}
	if ((r = json_object_get(*doc, "result")) == NULL) {
		snprintf(err, errlen, "%s reply has no result", what);
		return (NULL);
	}
	return (r);
}

/*
 * A counter: a non-negative integer, or a decimal string (fc writes big
 * 64-bit numbers as strings).
 */
static int
bitshares_get_num(json_t *o, const char *what, const char *k, int64_t *out,
    char *err, size_t errlen)
{
	json_t		*v;
	const char	*s;
	int64_t		 n = 0;
	size_t		 i, len;

	if ((v = json_object_get(o, k)) == NULL) {
		snprintf(err, errlen, "%s has no %s", what, k);
		return (-1);
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return (0);
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		len = json_string_length(v);
		for (i = 0; i < len && i < 18 && s[i] >= '0' && s[i] <= '9';
		    i++)
			n = n * 10 + (s[i] - '0');
		if (len > 0 && i == len) {
			*out = n;
			return (0);
		}
	}
	snprintf(err, errlen, "%s %s is %s, not a non-negative integer", what,
	    k, json_is_integer(v) ? "negative" : json_is_string(v) ?
	    "a non-numeric string" : bitshares_type_name(v));
	return (-1);
}

/* A printable string into out; long ones are cut when !strict. */
static int
bitshares_get_str(json_t *o, const char *what, const char *k, int strict,
    char *out, size_t size, char *err, size_t errlen)
{
	json_t		*v;
	const char	*s;
	size_t		 i, len;

	out[0] = '\0';
	if ((v = json_object_get(o, k)) == NULL) {
		if (!strict)
			return (0);
		snprintf(err, errlen, "%s has no %s", what, k);
		return (-1);
	}
	if (!json_is_string(v)) {
		if (!strict && json_is_null(v))
			return (0);
		snprintf(err, errlen, "%s %s is %s, not a string", what, k,
		    bitshares_type_name(v));
		return (-1);
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (strict && (len == 0 || len >= size)) {
		snprintf(err, errlen, "%s %s has %zu characters", what, k, len);
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
			if (!strict)
				break;
			snprintf(err, errlen, "%s %s has a control or "
			    "non-ASCII character", what, k);
			return (-1);
		}
	}
	bitshares_copy_text(out, size, s, i);
	return (0);
}

/*
 * Parse the reply to get_witness_by_account (an object or null) or
 * get_objects (an array of one object or null).  Returns 0, -1 with err,
 * or BITSHARES_NOT_FOUND.
 */
int
bitshares_parse_witness(const char *body, size_t len,
    struct bitshares_witness *w, char *err, size_t errlen)
{
	json_t	*doc, *r;
	int	 rc = -1;

	memset(w, 0, sizeof(*w));
	if ((r = bitshares_result(body, len, "witness", &doc, err,
	    errlen)) == NULL)
		goto out;
	if (json_is_array(r)) {
		if (json_array_size(r) > 1) {
			snprintf(err, errlen, "witness reply has %zu objects",
			    json_array_size(r));
			goto out;
		}
		r = json_array_get(r, 0);
	}
	if (r == NULL || json_is_null(r)) {
		snprintf(err, errlen, "witness not found");
		rc = BITSHARES_NOT_FOUND;
		goto out;
	}
	if (!json_is_object(r)) {
		snprintf(err, errlen, "witness is %s, not an object",
		    bitshares_type_name(r));
		goto out;
	}
	if (bitshares_get_str(r, "witness", "id", 1, w->id, sizeof(w->id),
	    err, errlen) == -1 ||
	    bitshares_get_str(r, "witness", "witness_account", 0, w->account,
	    sizeof(w->account), err, errlen) == -1 ||
	    bitshares_get_str(r, "witness", "signing_key", 1, w->signing_key,
	    sizeof(w->signing_key), err, errlen) == -1 ||
	    bitshares_get_str(r, "witness", "url", 0, w->url, sizeof(w->url),
	    err, errlen) == -1 ||
	    bitshares_get_num(r, "witness", "total_missed", &w->total_missed,
	    err, errlen) == -1 ||
	    bitshares_get_num(r, "witness", "last_confirmed_block_num",
	    &w->last_confirmed, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(doc);
	return (rc);
}

/* Parse get_dynamic_global_properties.  Returns 0, or -1 with err. */
int
bitshares_parse_dgp(const char *body, size_t len, struct bitshares_dgp *d,
    char *err, size_t errlen)
{
	json_t	*doc, *r;
	int	 rc = -1;

	memset(d, 0, sizeof(*d));
	d->lib = d->recently_missed = -1;
	if ((r = bitshares_result(body, len, "global properties", &doc, err,
	    errlen)) == NULL)
		goto out;
	if (!json_is_object(r)) {
		snprintf(err, errlen, "global properties are %s, not an "
		    "object", bitshares_type_name(r));
		goto out;
	}
	if (bitshares_get_num(r, "global properties", "head_block_number",
	    &d->head, err, errlen) == -1 ||
	    bitshares_get_str(r, "global properties", "time", 1, d->time,
	    sizeof(d->time), err, errlen) == -1 ||
	    bitshares_get_str(r, "global properties", "current_witness", 0,
	    d->current_witness, sizeof(d->current_witness), err,
	    errlen) == -1)
		goto out;
	if (parse_utc_time(d->time, &d->time_ms) == -1) {
		snprintf(err, errlen, "global properties time \"%s\" is not a "
		    "time", d->time);
		goto out;
	}
	/* Optional: not every version has them. */
	if (json_object_get(r, "last_irreversible_block_num") != NULL &&
	    bitshares_get_num(r, "global properties",
	    "last_irreversible_block_num", &d->lib, err, errlen) == -1)
		goto out;
	if (json_object_get(r, "recently_missed_count") != NULL &&
	    bitshares_get_num(r, "global properties", "recently_missed_count",
	    &d->recently_missed, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(doc);
	return (rc);
}

/*
 * Judge one sample: remember the run's first total_missed, set *detail
 * (new reference) and the reason; PROBE_OK, or PROBE_FAIL when the chain
 * time is more than max_age_ms (0: no bound) behind wall (ms).
 */
int
bitshares_eval(struct bitshares_state *st, int64_t max_age_ms,
    const struct bitshares_witness *w, const struct bitshares_dgp *d,
    int64_t wall, json_t **detail, char *reason, size_t size)
{
	int64_t	 age, delta;

	if (!st->have) {
		st->have = 1;
		st->first_missed = w->total_missed;
	}
	delta = w->total_missed - st->first_missed;
	age = wall - d->time_ms;
	*detail = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:o,s:s,s:f,"
	    "s:s,s:o}",
	    "witness_id", w->id,
	    "witness_account", w->account,
	    "total_missed", (json_int_t)w->total_missed,
	    "missed_delta", (json_int_t)delta,
	    "last_confirmed_block_num", (json_int_t)w->last_confirmed,
	    "signing_key", w->signing_key,
	    "url", w->url,
	    "head_block_number", (json_int_t)d->head,
	    "last_irreversible_block_num", d->lib >= 0 ?
	    json_integer((json_int_t)d->lib) : json_null(),
	    "time", d->time,
	    "head_age_s", (double)age / 1000.0,
	    "current_witness", d->current_witness,
	    "recently_missed_count", d->recently_missed >= 0 ?
	    json_integer((json_int_t)d->recently_missed) : json_null());
	if (max_age_ms > 0 && age > max_age_ms) {
		snprintf(reason, size, "chain time %s is %.1f s old (max %.1f "
		    "s); total_missed %lld", d->time, (double)age / 1000.0,
		    (double)max_age_ms / 1000.0, (long long)w->total_missed);
		return (PROBE_FAIL);
	}
	snprintf(reason, size, "total_missed %lld (%+lld this run), last "
	    "confirmed block %lld, chain time %.1f s old",
	    (long long)w->total_missed, (long long)delta,
	    (long long)w->last_confirmed, (double)age / 1000.0);
	return (PROBE_OK);
}

/* A witness account name ("init0") or a witness id ("1.6.14"). */
int
bitshares_valid_witness(const char *s)
{
	size_t	 i, n = strlen(s);

	if (strncmp(s, "1.6.", 4) == 0) {
		if (n == 4 || n > 4 + 10)
			return (0);
		for (i = 4; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return (0);
		return (1);
	}
	if (n == 0 || n > 63 || s[0] < 'a' || s[0] > 'z')
		return (0);
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-'))
			return (0);
	return (1);
}

static void
bitshares_free_config(void *arg)
{
	struct bitshares_cfg	*c = arg;

	free(c->url);
	free(c->witness);
	free(c->witness_req);
	free(c->dgp_req);
	free(c);
}

/* A JSON-RPC "call" to the database API (allocated text). */
static char *
bitshares_request(const char *method, json_t *args)
{
	json_t	*req;
	char	*s;

	/* json_pack "o" steals args. */
	req = json_pack("{s:s,s:s,s:[s,s,o],s:i}", "jsonrpc", "2.0",
	    "method", "call", "params", "database", method, args, "id", 1);
	if (req == NULL || (s = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build a JSON-RPC request");
	json_decref(req);
	return (s);
}

static void *
bitshares_parse(const json_t *o, const char **key, char **err)
{
	struct bitshares_cfg	*c;
	const char		*url = "http://127.0.0.1:8090/rpc";
	const char		*witness = NULL;

	c = xcalloc(1, sizeof(*c));
	c->max_age_ms = 60000;
	c->max_body = 64 * 1024;
	if (probe_param_check_keys(o, bitshares_keys, key, err) == -1 ||
	    probe_param_string(o, "url", 0, &url, key, err) == -1 ||
	    probe_param_string(o, "witness", 1, &witness, key, err) == -1 ||
	    probe_param_duration(o, "max_age", &c->max_age_ms, key,
	    err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		*key = "url";
		xasprintf(err, "url must start with http:// or https:// (the "
		    "node's rpc-endpoint, e.g. http://127.0.0.1:8090/rpc)");
		goto fail;
	}
	if (!bitshares_valid_witness(witness)) {
		*key = "witness";
		xasprintf(err, "witness must be an account name (init0) or a "
		    "witness id (1.6.14)");
		goto fail;
	}
	c->url = xstrdup(url);
	c->witness = xstrdup(witness);
	if (strncmp(witness, "1.6.", 4) == 0)
		c->witness_req = bitshares_request("get_objects",
		    json_pack("[[s]]", witness));
	else
		c->witness_req = bitshares_request("get_witness_by_account",
		    json_pack("[s]", witness));
	c->dgp_req = bitshares_request("get_dynamic_global_properties",
	    json_array());
	return (c);
fail:
	bitshares_free_config(c);
	return (NULL);
}

static int64_t
bitshares_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Both replies are in: judge and report. */
static void
bitshares_finish(struct bitshares_op *op)
{
	struct probe		*p = op->p;
	struct bitshares_cfg	*c = p->cfg->kcfg;
	json_t			*detail = NULL;
	char			 reason[200];
	double			 value = 0;
	int			 status = PROBE_FAIL, has_value = 0;

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct bitshares_state));
	if (op->witness_rc == BITSHARES_NOT_FOUND)
		snprintf(reason, sizeof(reason), "witness %s not found",
		    c->witness);
	else if (op->witness_rc != 0)
		snprintf(reason, sizeof(reason), "%s", op->witness_err);
	else if (op->dgp_rc != 0)
		snprintf(reason, sizeof(reason), "%s", op->dgp_err);
	else {
		status = bitshares_eval(p->state, c->max_age_ms, &op->w,
		    &op->d, bitshares_wall_ms(), &detail, reason,
		    sizeof(reason));
		value = (double)op->w.total_missed;
		has_value = 1;
	}
	free(op);
	/* probe_done() clears p->op and takes detail. */
	probe_done(p, status, has_value ? &value : NULL, detail, "%s", reason);
}

/*
 * 0 for a 2xx reply, or -1 with the reason: the JSON-RPC error when the
 * body has one, else the body's first bytes.
 */
static int
bitshares_reply_error(const char *what, const struct http_reply *r,
    char *err, size_t errlen)
{
	json_t	*doc, *e;
	char	 buf[120];

	if (r->error != NULL) {
		snprintf(err, errlen, "%s: %s", what, r->error);
		return (-1);
	}
	if (r->status >= 200 && r->status <= 299)
		return (0);
	buf[0] = '\0';
	if ((doc = json_loadb(r->body, r->len, 0, NULL)) != NULL &&
	    (e = json_object_get(doc, "error")) != NULL && !json_is_null(e))
		bitshares_rpc_error(e, buf, sizeof(buf));
	else
		bitshares_copy_text(buf, sizeof(buf), r->body,
		    r->len > 60 ? 60 : r->len);
	json_decref(doc);
	snprintf(err, errlen, "%s: HTTP %ld%s%s", what, r->status,
	    buf[0] != '\0' ? ": " : "", buf);
	return (-1);
}

static void
bitshares_witness_cb(void *arg, const struct http_reply *r)
{
	struct bitshares_op	*op = arg;

	op->witness_http = NULL;
	if ((op->witness_rc = bitshares_reply_error("witness", r,
	    op->witness_err, sizeof(op->witness_err))) == 0)
		op->witness_rc = bitshares_parse_witness(r->body, r->len,
		    &op->w, op->witness_err, sizeof(op->witness_err));
	if (--op->pending == 0)
		bitshares_finish(op);
}

static void
bitshares_dgp_cb(void *arg, const struct http_reply *r)
{
	struct bitshares_op	*op = arg;

	op->dgp_http = NULL;
	if ((op->dgp_rc = bitshares_reply_error("global properties", r,
	    op->dgp_err, sizeof(op->dgp_err))) == 0)
		op->dgp_rc = bitshares_parse_dgp(r->body, r->len, &op->d,
		    op->dgp_err, sizeof(op->dgp_err));
	if (--op->pending == 0)
		bitshares_finish(op);
}

static void
bitshares_cancel(struct probe *p)
{
	struct bitshares_op	*op = p->op;

	if (op == NULL)
		return;
	http_cancel(op->witness_http);
	http_cancel(op->dgp_http);
	free(op);
	p->op = NULL;
}

/*
 * Start a check: both calls at once.  curl's own timeout is set past the
 * probe's, so a slow node always ends as a probe timeout (which counts
 * toward hung_after), never as a transport error.
 */
static void
bitshares_run(struct probe *p)
{
	struct bitshares_cfg	*c = p->cfg->kcfg;
	struct bitshares_op	*op;
	struct http_opts	 o;

	op = xcalloc(1, sizeof(*op));
	op->p = p;
	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.content_type = "application/json";
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	o.body = c->witness_req;
	if ((op->witness_http = http_request(c->url, &o, bitshares_witness_cb,
	    op)) == NULL) {
		free(op);
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot make a request");
		return;
	}
	o.body = c->dgp_req;
	if ((op->dgp_http = http_request(c->url, &o, bitshares_dgp_cb,
	    op)) == NULL) {
		http_cancel(op->witness_http);
		free(op);
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot make a request");
		return;
	}
	op->pending = 2;
	p->op = op;
}

/* The run is over: forget its first total_missed. */
static void
bitshares_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_bitshares_witness = {
	.name = "bitshares-witness",
	.parse = bitshares_parse,
	.free_config = bitshares_free_config,
	.run = bitshares_run,
	.cancel = bitshares_cancel,
	.reset = bitshares_reset,
};
