/*
 * bitshares-witness: the probe's reply checks and the evaluation of one
 * sample (probe-bitshares-witness.h), apart from the loop and the
 * transport: they read the result of a JSON-RPC reply whose envelope
 * lib/rpc-reply.c has read.  Text from a reply reaches a reason only
 * through rpc_text(): its first line, control bytes turned into spaces.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe.h"
#include "probe-bitshares-witness.h"
#include "rpc-reply.h"
#include "util.h"

#define BITSHARES_TEXT	(RPC_TEXT_LINE | RPC_TEXT_SPACE)

/*
 * A counter: a non-negative integer, or a decimal string (fc writes big
 * 64-bit numbers as strings).
 */
static int
bitshares_get_num(const json_t *o, const char *what, const char *k, int64_t *out,
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
	    "a non-numeric string" : rpc_json_type(v));
	return (-1);
}

/* A printable string into out; long ones are cut when !strict. */
static int
bitshares_get_str(const json_t *o, const char *what, const char *k, int strict,
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
		    rpc_json_type(v));
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
	rpc_text(out, size, s, i, RPC_TEXT_LINE | RPC_TEXT_SPACE);
	return (0);
}

/*
 * Check the result of get_witness_by_account (an object or null) or
 * get_objects (an array of one object or null).  Returns 0, -1 with err,
 * or BITSHARES_NOT_FOUND.
 */
int
bitshares_check_witness(const json_t *r, struct bitshares_witness *w,
    char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	if (json_is_array(r)) {
		if (json_array_size(r) > 1)
			return (rpc_errf(err, errlen, "witness reply has %zu "
			    "objects", json_array_size(r)));
		r = json_array_get(r, 0);
	}
	if (r == NULL || json_is_null(r)) {
		snprintf(err, errlen, "witness not found");
		return (BITSHARES_NOT_FOUND);
	}
	if (!json_is_object(r))
		return (rpc_errf(err, errlen, "witness is %s, not an object",
		    rpc_json_type(r)));
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
		return (-1);
	return (0);
}

/* Check get_dynamic_global_properties' result.  0, or -1 with err. */
int
bitshares_check_dgp(const json_t *r, struct bitshares_dgp *d, char *err,
    size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->lib = d->recently_missed = -1;
	if (!json_is_object(r))
		return (rpc_errf(err, errlen, "global properties are %s, not "
		    "an object", rpc_json_type(r)));
	if (bitshares_get_num(r, "global properties", "head_block_number",
	    &d->head, err, errlen) == -1 ||
	    bitshares_get_str(r, "global properties", "time", 1, d->time,
	    sizeof(d->time), err, errlen) == -1 ||
	    bitshares_get_str(r, "global properties", "current_witness", 0,
	    d->current_witness, sizeof(d->current_witness), err,
	    errlen) == -1)
		return (-1);
	if (parse_utc_time(d->time, &d->time_ms) == -1)
		return (rpc_errf(err, errlen, "global properties time \"%s\" is "
		    "not a time", d->time));
	/* Optional: not every version has them. */
	if (json_object_get(r, "last_irreversible_block_num") != NULL &&
	    bitshares_get_num(r, "global properties",
	    "last_irreversible_block_num", &d->lib, err, errlen) == -1)
		return (-1);
	if (json_object_get(r, "recently_missed_count") != NULL &&
	    bitshares_get_num(r, "global properties", "recently_missed_count",
	    &d->recently_missed, err, errlen) == -1)
		return (-1);
	return (0);
}

/*
 * Parse a whole reply to get_witness_by_account or get_objects: the
 * JSON-RPC envelope, then the witness.  0, -1 with err, or
 * BITSHARES_NOT_FOUND.
 */
int
bitshares_parse_witness(const char *body, size_t len,
    struct bitshares_witness *w, char *err, size_t errlen)
{
	struct rpc_reply	 rep;
	int			 rc = -1;

	memset(w, 0, sizeof(*w));
	(void)rpc_reply_parse(&rep, RPC_JSONRPC, 200, body, len,
	    BITSHARES_TEXT);
	if (rpc_reply_reason(&rep, RPC_WORD_NAMED, "witness", err,
	    errlen) == 0)
		rc = bitshares_check_witness(rep.result, w, err, errlen);
	rpc_reply_free(&rep);
	return (rc);
}

/* Parse get_dynamic_global_properties.  Returns 0, or -1 with err. */
int
bitshares_parse_dgp(const char *body, size_t len, struct bitshares_dgp *d,
    char *err, size_t errlen)
{
	struct rpc_reply	 rep;
	int			 rc = -1;

	memset(d, 0, sizeof(*d));
	d->lib = d->recently_missed = -1;
	(void)rpc_reply_parse(&rep, RPC_JSONRPC, 200, body, len,
	    BITSHARES_TEXT);
	if (rpc_reply_reason(&rep, RPC_WORD_NAMED, "global properties", err,
	    errlen) == 0)
		rc = bitshares_check_dgp(rep.result, d, err, errlen);
	rpc_reply_free(&rep);
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
