/*
 * nodeos: the probe's reply checks and the evaluation of one sample
 * (probe-nodeos.h), apart from the loop and the transport: they read the
 * result of a reply whose envelope lib/rpc-reply.c has read.  Text from a
 * reply reaches a reason only through rpc_text(): one line, control bytes
 * turned into spaces.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe.h"
#include "probe-nodeos.h"
#include "rpc-reply.h"
#include "util.h"

/* A block number: a non-negative JSON integer. */
static int
nodeos_get_num(const json_t *o, const char *k, int64_t *out, char *err,
    size_t errlen)
{
	json_t	*v;

	if ((v = json_object_get(o, k)) == NULL) {
		snprintf(err, errlen, "get_info has no %s", k);
		return (-1);
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "get_info %s is %s, not an integer", k,
		    rpc_json_type(v));
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
nodeos_get_str(const json_t *o, const char *k, int required, char *out,
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
		    rpc_json_type(v));
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
	rpc_text(out, size, s, i, RPC_TEXT_SPACE);
	return (0);
}

/* Check get_info's result.  Returns 0, or -1 with a one-line reason. */
int
nodeos_check_info(const json_t *doc, struct nodeos_info *ni, char *err,
    size_t errlen)
{
	memset(ni, 0, sizeof(*ni));
	if (!json_is_object(doc))
		return (rpc_errf(err, errlen, "get_info reply is %s, not an "
		    "object", rpc_json_type(doc)));
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
		return (-1);
	if (parse_utc_time(ni->head_time, &ni->head_time_ms) == -1)
		return (rpc_errf(err, errlen, "get_info head_block_time \"%s\" "
		    "is not a time", ni->head_time));
	return (0);
}

/* Check /v1/producer/paused's result: a bare true or false. */
int
nodeos_check_paused(const json_t *doc, int *paused, char *err,
    size_t errlen)
{
	if (!json_is_boolean(doc))
		return (rpc_errf(err, errlen, "paused reply is %s, not true or "
		    "false", rpc_json_type(doc)));
	*paused = json_is_true(doc);
	return (0);
}

/*
 * Parse a get_info reply.  Returns 0, or -1 with a one-line reason in err.
 */
int
nodeos_parse_info(const char *body, size_t len, struct nodeos_info *ni,
    char *err, size_t errlen)
{
	struct rpc_reply	 rep;
	int			 rc = -1;

	memset(ni, 0, sizeof(*ni));
	(void)rpc_reply_parse(&rep, RPC_NODEOS, 200, body, len,
	    RPC_TEXT_SPACE);
	if (rpc_reply_reason(&rep, RPC_WORD_NAMED, "get_info", err,
	    errlen) == 0)
		rc = nodeos_check_info(rep.result, ni, err, errlen);
	rpc_reply_free(&rep);
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
	struct rpc_reply	 rep;
	int			 rc = -1;

	(void)rpc_reply_parse(&rep, RPC_NODEOS, 200, body, len,
	    RPC_TEXT_SPACE);
	if (rpc_reply_reason(&rep, RPC_WORD_NAMED, "paused", err,
	    errlen) == 0)
		rc = nodeos_check_paused(rep.result, paused, err, errlen);
	rpc_reply_free(&rep);
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
	struct rpc_reply	 rep;
	char			 x[RPC_TEXTLEN];

	/* Read as an error whatever the status. */
	(void)rpc_reply_parse(&rep, RPC_NODEOS, 0, body, len, RPC_TEXT_SPACE);
	if (rep.rc == RPC_ERROR)
		rpc_reply_error(&rep, x, sizeof(x));
	else
		snprintf(x, sizeof(x), "%s", rep.head);
	rpc_reply_free(&rep);
	snprintf(out, size, "HTTP %ld%s%s", status, x[0] != '\0' ? ": " : "",
	    x);
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
