/*
 * nodeos: EOSIO / Leap / Spring chain_api_plugin and producer_api_plugin.
 * Each check asks POST /v1/chain/get_info (and, with check_paused,
 * POST /v1/producer/paused at the same time) and judges the head and LIB
 * block numbers against what this run has seen so far: a head or LIB that
 * has not moved for head_stall / lib_stall, a head block older than
 * max_head_age, or fewer than min_producers distinct head_block_producer
 * names over producers_window fails the check.  The value is the head.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http.h"
#include "probe.h"
#include "probe-nodeos.h"
#include "util.h"

#define NODEOS_REASON	160

struct nodeos_cfg {
	char			*info_url;
	char			*paused_url;
	int			 check_paused;
	long long		 max_body;
	struct nodeos_limits	 lim;
};

/* One check in flight: get_info and maybe paused, in parallel. */
struct nodeos_op {
	struct probe		*p;
	struct http_req		*info_req;
	struct http_req		*paused_req;
	int			 pending;
	int			 info_ok;
	struct nodeos_info	 info;
	char			 info_err[NODEOS_REASON];
	int			 paused;	/* -1: unknown */
	char			 paused_err[NODEOS_REASON];
};

static const char *const nodeos_keys[] = {
	"url", "head_stall", "lib_stall", "max_head_age", "min_producers",
	"producers_window", "check_paused", "max_body", NULL
};

/* Copy text for a one-line reason: control bytes become spaces. */
static void
nodeos_copy_text(char *dst, size_t size, const char *src, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len && n + 1 < size; i++)
		dst[n++] = (unsigned char)src[i] < 0x20 ||
		    (unsigned char)src[i] == 0x7f ? ' ' : src[i];
	dst[n] = '\0';
}

/* A JSON type's name, for "is a string, not an integer" messages. */
static const char *
nodeos_type_name(const json_t *v)
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

/* A block number: a non-negative JSON integer. */
static int
nodeos_get_num(json_t *o, const char *k, int64_t *out, char *err,
    size_t errlen)
{
	json_t	*v;

	if ((v = json_object_get(o, k)) == NULL) {
		snprintf(err, errlen, "get_info has no %s", k);
		return (-1);
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "get_info %s is %s, not an integer", k,
		    nodeos_type_name(v));
		return (-1);
	}
	if (json_integer_value(v) < 0) {
		snprintf(err, errlen, "get_info %s is negative", k);
		return (-1);
	}
	*out = json_integer_value(v);
	return (0);
}

/* A short printable string (a name, a version). */
static int
nodeos_get_str(json_t *o, const char *k, int required, char *out,
    size_t size, char *err, size_t errlen)
{
	json_t		*v;
	const char	*s;
	size_t		 i, len;

	out[0] = '\0';
	if ((v = json_object_get(o, k)) == NULL || (!required &&
	    json_is_null(v))) {
		if (!required)
			return (0);
		snprintf(err, errlen, "get_info has no %s", k);
		return (-1);
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "get_info %s is %s, not a string", k,
		    nodeos_type_name(v));
		return (-1);
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (required && (len == 0 || len >= size)) {
		snprintf(err, errlen, "get_info %s has %zu characters", k, len);
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
			if (!required)
				break;
			snprintf(err, errlen, "get_info %s has a control or "
			    "non-ASCII character", k);
			return (-1);
		}
	}
	nodeos_copy_text(out, size, s, i);
	return (0);
}

/*
 * Parse a get_info reply.  Returns 0, or -1 with a one-line reason in err.
 */
int
nodeos_parse_info(const char *body, size_t len, struct nodeos_info *ni,
    char *err, size_t errlen)
{
	json_t		*doc;
	json_error_t	 jerr;
	int		 rc = -1;

	memset(ni, 0, sizeof(*ni));
	if (len == 0) {
		snprintf(err, errlen, "get_info reply is empty");
		return (-1);
	}
	if ((doc = json_loadb(body, len, 0, &jerr)) == NULL) {
		nodeos_copy_text(jerr.text, sizeof(jerr.text), jerr.text,
		    strlen(jerr.text));	/* it may quote a newline */
		snprintf(err, errlen, "get_info reply is not JSON: %s",
		    jerr.text);
		return (-1);
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "get_info reply is %s, not an object",
		    nodeos_type_name(doc));
		goto out;
	}
	if (nodeos_get_num(doc, "head_block_num", &ni->head, err,
	    errlen) == -1 ||
	    nodeos_get_num(doc, "last_irreversible_block_num", &ni->lib, err,
	    errlen) == -1 ||
	    nodeos_get_str(doc, "head_block_producer", 1, ni->producer,
	    sizeof(ni->producer), err, errlen) == -1 ||
	    nodeos_get_str(doc, "head_block_time", 1, ni->head_time,
	    sizeof(ni->head_time), err, errlen) == -1 ||
	    nodeos_get_str(doc, "server_version_string", 0, ni->version,
	    sizeof(ni->version), err, errlen) == -1)
		goto out;
	if (parse_utc_time(ni->head_time, &ni->head_time_ms) == -1) {
		snprintf(err, errlen, "get_info head_block_time \"%s\" is not "
		    "a time", ni->head_time);
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return (rc);
}

/*
 * Parse a /v1/producer/paused reply: a bare true or false.  Returns 0
 * with *paused set, or -1 with err.
 */
int
nodeos_parse_paused(const char *body, size_t len, int *paused, char *err,
    size_t errlen)
{
	json_t		*doc;
	json_error_t	 jerr;
	int		 rc = -1;

	if (len == 0) {
		snprintf(err, errlen, "paused reply is empty");
		return (-1);
	}
	if ((doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL) {
		nodeos_copy_text(jerr.text, sizeof(jerr.text), jerr.text,
		    strlen(jerr.text));	/* it may quote a newline */
		snprintf(err, errlen, "paused reply is not JSON: %s",
		    jerr.text);
		return (-1);
	}
	if (json_is_boolean(doc)) {
		*paused = json_is_true(doc);
		rc = 0;
	} else
		snprintf(err, errlen, "paused reply is %s, not true or false",
		    nodeos_type_name(doc));
	json_decref(doc);
	return (rc);
}

/*
 * A reason for an HTTP error status: nodeos's error body names the
 * exception ({"code":500,"message":..,"error":{"what":..,"details":
 * [{"message":..}]}}); anything else is shown as its first bytes.
 */
void
nodeos_error_text(long status, const char *body, size_t len, char *out,
    size_t size)
{
	json_t		*doc, *e, *d;
	const char	*what = NULL, *detail = NULL;
	char		 a[80], b[80];

	a[0] = b[0] = '\0';
	if ((doc = json_loadb(body, len, 0, NULL)) != NULL) {
		e = json_object_get(doc, "error");
		what = json_string_value(json_object_get(e, "what"));
		d = json_array_get(json_object_get(e, "details"), 0);
		detail = json_string_value(json_object_get(d, "message"));
		if (what == NULL)
			what = json_string_value(json_object_get(doc,
			    "message"));
		if (what != NULL)
			nodeos_copy_text(a, sizeof(a), what, strlen(what));
		if (detail != NULL)
			nodeos_copy_text(b, sizeof(b), detail, strlen(detail));
		json_decref(doc);
	} else
		nodeos_copy_text(a, sizeof(a), body, len > 60 ? 60 : len);
	snprintf(out, size, "HTTP %ld%s%s%s%s", status, a[0] != '\0' ? ": " :
	    "", a, b[0] != '\0' ? ": " : "", b);
}

/* Remember that a producer was seen; forget those older than window. */
static void
nodeos_seen_update(struct nodeos_state *st, const char *name, int64_t now,
    int64_t window)
{
	int	 i, j, oldest = 0;

	for (i = j = 0; i < st->nseen; i++) {
		if (window > 0 && now - st->seen[i].last_ms > window)
			continue;
		if (i != j)
			st->seen[j] = st->seen[i];
		j++;
	}
	st->nseen = j;
	if (*name == '\0')
		return;
	for (i = 0; i < st->nseen; i++) {
		if (strcmp(st->seen[i].name, name) == 0) {
			st->seen[i].last_ms = now;
			return;
		}
		if (st->seen[i].last_ms < st->seen[oldest].last_ms)
			oldest = i;
	}
	if (st->nseen < NODEOS_PRODUCERS_MAX)
		i = st->nseen++;
	else
		i = oldest;
	snprintf(st->seen[i].name, sizeof(st->seen[i].name), "%s", name);
	st->seen[i].last_ms = now;
}

/* The producers seen in the window, the most recent first (new ref). */
static json_t *
nodeos_seen_json(const struct nodeos_state *st)
{
	json_t	*a;
	int	 order[NODEOS_PRODUCERS_MAX], i, j, t;

	for (i = 0; i < st->nseen; i++)
		order[i] = i;
	for (i = 1; i < st->nseen; i++)
		for (j = i; j > 0 && st->seen[order[j]].last_ms >
		    st->seen[order[j - 1]].last_ms; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	a = json_array();
	for (i = 0; i < st->nseen; i++)
		json_array_append_new(a, json_string(st->seen[order[i]].name));
	return (a);
}

/* Append "; what" to a reason. */
static void
nodeos_reason_add(char *r, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
nodeos_reason_add(char *r, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n = strlen(r);

	if (n > 0 && n + 2 < size) {
		memcpy(r + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(r + n, size - n, fmt, ap);
	va_end(ap);
}

/*
 * Judge one sample: update the run's state (mono is the monotonic clock,
 * wall the real one, both in ms), set *detail (new reference) and the
 * reason, and return PROBE_OK or PROBE_FAIL.
 */
int
nodeos_eval(struct nodeos_state *st, const struct nodeos_limits *lim,
    const struct nodeos_info *ni, int64_t mono, int64_t wall,
    json_t **detail, char *reason, size_t size)
{
	int64_t	 head_stall, lib_stall, age;

	if (!st->have) {
		st->have = 1;
		st->first_ms = mono;
		st->head = ni->head;
		st->head_since_ms = mono;
		st->lib = ni->lib;
		st->lib_since_ms = mono;
	}
	if (ni->head != st->head) {
		st->head = ni->head;
		st->head_since_ms = mono;
	}
	if (ni->lib != st->lib) {
		st->lib = ni->lib;
		st->lib_since_ms = mono;
	}
	nodeos_seen_update(st, ni->producer, mono, lim->window_ms);
	head_stall = mono - st->head_since_ms;
	lib_stall = mono - st->lib_since_ms;
	age = wall - ni->head_time_ms;

	*detail = json_pack("{s:I,s:I,s:s,s:s,s:f,s:f,s:f,s:o,s:n,s:s?}",
	    "head", (json_int_t)ni->head,
	    "lib", (json_int_t)ni->lib,
	    "head_producer", ni->producer,
	    "head_block_time", ni->head_time,
	    "head_age_s", (double)age / 1000.0,
	    "head_stalled_s", (double)head_stall / 1000.0,
	    "lib_stalled_s", (double)lib_stall / 1000.0,
	    "producers_seen", nodeos_seen_json(st),
	    "paused",
	    "server_version", ni->version[0] != '\0' ? ni->version : NULL);

	reason[0] = '\0';
	if (lim->head_stall_ms > 0 && head_stall >= lim->head_stall_ms)
		nodeos_reason_add(reason, size, "head %lld has not advanced "
		    "for %.1f s", (long long)ni->head,
		    (double)head_stall / 1000.0);
	if (lim->max_head_age_ms > 0 && age > lim->max_head_age_ms)
		nodeos_reason_add(reason, size, "head block is %.1f s old",
		    (double)age / 1000.0);
	if (lim->lib_stall_ms > 0 && lib_stall >= lim->lib_stall_ms)
		nodeos_reason_add(reason, size, "LIB %lld has not advanced "
		    "for %.1f s", (long long)ni->lib,
		    (double)lib_stall / 1000.0);
	if (lim->min_producers > 0 && mono - st->first_ms >= lim->window_ms &&
	    st->nseen < lim->min_producers)
		nodeos_reason_add(reason, size, "%d producer%s seen in %.0f s, "
		    "fewer than %d", st->nseen, st->nseen == 1 ? "" : "s",
		    (double)lim->window_ms / 1000.0, lim->min_producers);
	if (reason[0] != '\0')
		return (PROBE_FAIL);
	snprintf(reason, size, "head %lld by %s, LIB %lld, head %.1f s old",
	    (long long)ni->head, ni->producer, (long long)ni->lib,
	    (double)age / 1000.0);
	return (PROBE_OK);
}

static void
nodeos_free_config(void *arg)
{
	struct nodeos_cfg	*c = arg;

	free(c->info_url);
	free(c->paused_url);
	free(c);
}

static void *
nodeos_parse(const json_t *o, const char **key, char **err)
{
	struct nodeos_cfg	*c;
	const char		*url = "http://127.0.0.1:8888";
	long long		 minp = 0;
	size_t			 n;

	c = xcalloc(1, sizeof(*c));
	c->max_body = 64 * 1024;
	c->lim.head_stall_ms = 10000;
	c->lim.lib_stall_ms = 20000;
	c->lim.max_head_age_ms = 30000;
	c->lim.window_ms = 60000;
	if (probe_param_check_keys(o, nodeos_keys, key, err) == -1 ||
	    probe_param_string(o, "url", 0, &url, key, err) == -1 ||
	    probe_param_duration(o, "head_stall", &c->lim.head_stall_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "lib_stall", &c->lim.lib_stall_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "max_head_age", &c->lim.max_head_age_ms,
	    key, err) == -1 ||
	    probe_param_duration(o, "producers_window", &c->lim.window_ms, key,
	    err) == -1 ||
	    probe_param_int(o, "min_producers", 0, NODEOS_PRODUCERS_MAX, &minp,
	    key, err) == -1 ||
	    probe_param_bool(o, "check_paused", &c->check_paused, key,
	    err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	c->lim.min_producers = (int)minp;
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		*key = "url";
		xasprintf(err, "url must start with http:// or https:// (the "
		    "node's http-server-address, without a path)");
		goto fail;
	}
	if (c->lim.min_producers > 0 && c->lim.window_ms <= 0) {
		*key = "producers_window";
		xasprintf(err, "min_producers needs a producers_window");
		goto fail;
	}
	for (n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
		;
	xasprintf(&c->info_url, "%.*s/v1/chain/get_info", (int)n, url);
	xasprintf(&c->paused_url, "%.*s/v1/producer/paused", (int)n, url);
	return (c);
fail:
	nodeos_free_config(c);
	return (NULL);
}

static int64_t
nodeos_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Both replies are in: judge and report. */
static void
nodeos_finish(struct nodeos_op *op)
{
	struct probe		*p = op->p;
	struct nodeos_cfg	*c = p->cfg->kcfg;
	json_t			*detail = NULL;
	char			 reason[200];
	double			 value;
	int			 status, has_value;

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct nodeos_state));
	if (!op->info_ok) {
		if (c->check_paused)
			detail = json_object();
		snprintf(reason, sizeof(reason), "%s", op->info_err);
		status = PROBE_FAIL;
	} else
		status = nodeos_eval(p->state, &c->lim, &op->info, now_ms(),
		    nodeos_wall_ms(), &detail, reason, sizeof(reason));
	if (c->check_paused) {
		json_object_set_new(detail, "paused", op->paused == -1 ?
		    json_null() : json_boolean(op->paused));
		if (op->paused == -1)
			json_object_set_new(detail, "paused_error",
			    json_string(op->paused_err));
	}
	has_value = op->info_ok;
	value = (double)op->info.head;
	free(op);
	/* probe_done() clears p->op and takes detail. */
	probe_done(p, status, has_value ? &value : NULL, detail, "%s", reason);
}

/* Classify an HTTP reply: 0 with a 2xx body, or -1 with the reason. */
static int
nodeos_reply_error(const char *what, const struct http_reply *r, char *err,
    size_t errlen)
{
	char	 buf[NODEOS_REASON - 20];

	if (r->error != NULL) {
		snprintf(err, errlen, "%s: %s", what, r->error);
		return (-1);
	}
	if (r->status < 200 || r->status > 299) {
		nodeos_error_text(r->status, r->body, r->len, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
		return (-1);
	}
	return (0);
}

static void
nodeos_info_cb(void *arg, const struct http_reply *r)
{
	struct nodeos_op	*op = arg;

	op->info_req = NULL;
	if (nodeos_reply_error("get_info", r, op->info_err,
	    sizeof(op->info_err)) == 0 &&
	    nodeos_parse_info(r->body, r->len, &op->info, op->info_err,
	    sizeof(op->info_err)) == 0)
		op->info_ok = 1;
	if (--op->pending == 0)
		nodeos_finish(op);
}

static void
nodeos_paused_cb(void *arg, const struct http_reply *r)
{
	struct nodeos_op	*op = arg;

	op->paused_req = NULL;
	if (nodeos_reply_error("paused", r, op->paused_err,
	    sizeof(op->paused_err)) == 0)
		(void)nodeos_parse_paused(r->body, r->len, &op->paused,
		    op->paused_err, sizeof(op->paused_err));
	if (--op->pending == 0)
		nodeos_finish(op);
}

static void
nodeos_cancel(struct probe *p)
{
	struct nodeos_op	*op = p->op;

	if (op == NULL)
		return;
	http_cancel(op->info_req);
	http_cancel(op->paused_req);
	free(op);
	p->op = NULL;
}

/*
 * Start a check.  Both calls are POSTs without a body (newer Leap refuses
 * parameters on calls that take none).  curl's own timeout is set past the
 * probe's, so a slow node always ends as a probe timeout (which counts
 * toward hung_after), never as a transport error.
 */
static void
nodeos_run(struct probe *p)
{
	struct nodeos_cfg	*c = p->cfg->kcfg;
	struct nodeos_op	*op;
	struct http_opts	 o;

	op = xcalloc(1, sizeof(*op));
	op->p = p;
	op->paused = -1;
	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.body = "";
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	if ((op->info_req = http_request(c->info_url, &o, nodeos_info_cb,
	    op)) == NULL) {
		free(op);
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot make a request");
		return;
	}
	op->pending = 1;
	if (c->check_paused) {
		o.max_body = 4096;
		if ((op->paused_req = http_request(c->paused_url, &o,
		    nodeos_paused_cb, op)) == NULL)
			snprintf(op->paused_err, sizeof(op->paused_err),
			    "cannot make a request");
		else
			op->pending++;
	}
	p->op = op;
}

/* The run is over: forget its heads and producers. */
static void
nodeos_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_nodeos = {
	.name = "nodeos",
	.parse = nodeos_parse,
	.free_config = nodeos_free_config,
	.run = nodeos_run,
	.cancel = nodeos_cancel,
	.reset = nodeos_reset,
};
