/*
 * The envelope of a chain daemon's reply (rpc-reply.h): parsed once, then
 * worded for reasons.  Text from a reply reaches a reason only through
 * rpc_text(), so a reason is always one line.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rpc-reply.h"

/* Bytes of a body that is not JSON shown in a reason. */
#define RPC_HEAD	60

/* Copy at most len bytes of src as one line, cleaned as flags say. */
void
rpc_text(char *dst, size_t size, const char *src, size_t len, int flags)
{
	unsigned char	 c;
	size_t		 i, n = 0;

	if (size == 0)
		return;
	for (i = 0; i < len && n + 1 < size; i++) {
		c = (unsigned char)src[i];
		if ((flags & RPC_TEXT_LINE) && (c == '\n' || c == '\r'))
			break;
		if (c == '\0' && !(flags & RPC_TEXT_SPACE))
			break;
		if (c < 0x20 || c == 0x7f)
			dst[n++] = flags & RPC_TEXT_SPACE ? ' ' : '?';
		else if (c >= 0x80 && !(flags & RPC_TEXT_SPACE))
			dst[n++] = '?';
		else
			dst[n++] = (char)c;
	}
	dst[n] = '\0';
	if ((flags & RPC_TEXT_MORE) && n + 1 >= size && i < len &&
	    src[i] != '\0' && n >= 3)
		memcpy(dst + n - 3, "...", 3);
}

/* A JSON type's name, for "is a string, not an integer" reasons. */
const char *
rpc_json_type(const json_t *v)
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

/* Set err; returns -1, for "return (rpc_errf(...))". */
int
rpc_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

/* A JSON-RPC "error" member: its code and message (or itself, as text). */
static void
rpc_reply_jsonrpc_error(struct rpc_reply *rep, const json_t *e, int flags)
{
	const json_t	*code = json_object_get(e, "code");
	const json_t	*msg = json_object_get(e, "message");
	char		*dump;

	rep->rc = RPC_ERROR;
	if (json_is_integer(code)) {
		rep->has_code = 1;
		rep->code = json_integer_value(code);
	}
	if (!json_is_string(msg) && json_is_string(e))
		msg = e;
	if (json_is_string(msg)) {
		rpc_text(rep->text, sizeof(rep->text), json_string_value(msg),
		    json_string_length(msg), flags);
		return;
	}
	dump = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT |
	    JSON_ENSURE_ASCII);
	rpc_text(rep->text, sizeof(rep->text), dump != NULL ? dump : "?",
	    dump != NULL ? strlen(dump) : 1, flags);
	free(dump);
}

/*
 * nodeos' error status: the exception it names ("what", else "message")
 * and its first detail, or the body's first bytes when it is not JSON.
 */
static int
rpc_reply_nodeos_error(struct rpc_reply *rep, const char *body, size_t len,
    int flags)
{
	json_t		*e, *d;
	const char	*what, *detail;
	char		 a[80], b[80];

	rep->rc = RPC_HTTP;
	if ((rep->doc = json_loadb(body, len, 0, NULL)) == NULL) {
		rpc_text(rep->head, sizeof(rep->head), body,
		    len > RPC_HEAD ? RPC_HEAD : len, flags);
		return (-1);
	}
	e = json_object_get(rep->doc, "error");
	what = json_string_value(json_object_get(e, "what"));
	d = json_array_get(json_object_get(e, "details"), 0);
	detail = json_string_value(json_object_get(d, "message"));
	if (what == NULL)
		what = json_string_value(json_object_get(rep->doc, "message"));
	if (what == NULL && detail == NULL)
		return (-1);
	a[0] = b[0] = '\0';
	if (what != NULL)
		rpc_text(a, sizeof(a), what, strlen(what), flags);
	if (detail != NULL)
		rpc_text(b, sizeof(b), detail, strlen(detail), flags);
	rep->rc = RPC_ERROR;
	if (json_is_integer(json_object_get(e, "code"))) {
		rep->has_code = 1;
		rep->code = json_integer_value(json_object_get(e, "code"));
	}
	snprintf(rep->text, sizeof(rep->text), "%s%s%s", a,
	    a[0] != '\0' && b[0] != '\0' ? ": " : "", b);
	return (-1);
}

/*
 * Read a reply (status and body, any bytes, not necessarily NUL-terminated)
 * in the given envelope.  Returns 0 with rep->result set, or -1 with
 * rep->rc saying what is wrong.  Free with rpc_reply_free() either way.
 */
int
rpc_reply_parse(struct rpc_reply *rep, int envelope, long status,
    const char *body, size_t len, int flags)
{
	json_error_t	 jerr;
	json_t		*e;

	memset(rep, 0, sizeof(*rep));
	rep->envelope = envelope;
	rep->status = status;
	if (envelope == RPC_NODEOS && (status < 200 || status > 299))
		return (rpc_reply_nodeos_error(rep, body, len, flags));
	if (len == 0) {
		rep->rc = RPC_EMPTY;
		return (-1);
	}
	if ((rep->doc = json_loadb(body, len, envelope == RPC_NODEOS ?
	    JSON_DECODE_ANY : 0, &jerr)) == NULL) {
		rep->rc = RPC_NOTJSON;
		rpc_text(rep->text, sizeof(rep->text), jerr.text,
		    strnlen(jerr.text, sizeof(jerr.text)), flags);
		rpc_text(rep->head, sizeof(rep->head), body,
		    len > RPC_HEAD ? RPC_HEAD : len, flags);
		return (-1);
	}
	if (envelope == RPC_NODEOS) {
		rep->result = rep->doc;
		return (0);
	}
	if (!json_is_object(rep->doc)) {
		rep->rc = RPC_NOTOBJECT;
		rep->type = rpc_json_type(rep->doc);
		return (-1);
	}
	if ((e = json_object_get(rep->doc, "error")) != NULL &&
	    !json_is_null(e)) {
		rpc_reply_jsonrpc_error(rep, e, flags);
		return (-1);
	}
	if ((rep->result = json_object_get(rep->doc, "result")) == NULL) {
		rep->rc = RPC_NORESULT;
		return (-1);
	}
	return (0);
}

/* No reply: the transport failed with error. */
void
rpc_reply_transport(struct rpc_reply *rep, const char *error, int flags)
{
	memset(rep, 0, sizeof(*rep));
	rep->rc = RPC_TRANSPORT;
	rpc_text(rep->text, sizeof(rep->text), error, strlen(error), flags);
}

void
rpc_reply_free(struct rpc_reply *rep)
{
	json_decref(rep->doc);
	rep->doc = rep->result = NULL;
}

/*
 * The server's error: "RPC error -28: Loading block index..." for
 * JSON-RPC, "what: detail" for nodeos.
 */
void
rpc_reply_error(const struct rpc_reply *rep, char *out, size_t size)
{
	const char	*sep = rep->text[0] != '\0' ? ": " : "";

	if (rep->envelope == RPC_NODEOS)
		snprintf(out, size, "%s", rep->text);
	else if (rep->has_code)
		snprintf(out, size, "RPC error %lld%s%s", rep->code, sep,
		    rep->text);
	else
		snprintf(out, size, "RPC error%s%s", sep, rep->text);
}

/* bitcoind's wording: its HTTP statuses say what went wrong. */
static int
rpc_reason_bitcoind(const struct rpc_reply *rep, char *err, size_t errlen)
{
	static const char auth[] = "HTTP 401: authentication failed (check "
	    "user and password_file, or cookie)";
	long	 st = rep->status;

	switch (rep->rc) {
	case RPC_TRANSPORT:
		return (rpc_errf(err, errlen, "%s", rep->text));
	case RPC_EMPTY:
		if (st == 401)
			return (rpc_errf(err, errlen, "%s", auth));
		if (st == 403)
			return (rpc_errf(err, errlen, "HTTP 403: forbidden "
			    "(rpcallowip?)"));
		if (st == 200)
			return (rpc_errf(err, errlen, "empty reply"));
		return (rpc_errf(err, errlen, "HTTP %ld with an empty body",
		    st));
	case RPC_NOTJSON:
		if (st == 401)
			return (rpc_errf(err, errlen, "%s", auth));
		if (st != 200)
			return (rpc_errf(err, errlen, "HTTP %ld, reply is not "
			    "JSON: %s", st, rep->text));
		return (rpc_errf(err, errlen, "reply is not JSON: %s",
		    rep->text));
	case RPC_NOTOBJECT:
		if (st != 200)
			return (rpc_errf(err, errlen, "HTTP %ld, reply is %s, "
			    "not a JSON-RPC object", st, rep->type));
		return (rpc_errf(err, errlen, "reply is %s, not a JSON-RPC "
		    "object", rep->type));
	case RPC_ERROR:
		rpc_reply_error(rep, err, errlen);
		return (-1);
	}
	if (st != 200)
		return (rpc_errf(err, errlen, "HTTP %ld", st));
	if (rep->rc == RPC_NORESULT)
		return (rpc_errf(err, errlen, "reply has neither result nor "
		    "error"));
	return (0);
}

/*
 * 0 when rep holds a result to check, else -1 with the reason in err,
 * worded as wording says; what names the call ("witness", "get_info") or
 * is NULL.
 */
int
rpc_reply_reason(const struct rpc_reply *rep, int wording, const char *what,
    char *err, size_t errlen)
{
	char		 x[RPC_TEXTLEN];
	const char	*w = what != NULL ? what : "";
	const char	*sp = what != NULL ? " " : "";
	const char	*colon = what != NULL ? ": " : "";

	if (wording == RPC_WORD_BITCOIND)
		return (rpc_reason_bitcoind(rep, err, errlen));
	if (rep->rc == RPC_TRANSPORT)
		return (rpc_errf(err, errlen, "%s%s%s", w, colon, rep->text));
	if (rep->status < 200 || rep->status > 299) {
		if (rep->rc == RPC_ERROR)
			rpc_reply_error(rep, x, sizeof(x));
		else
			snprintf(x, sizeof(x), "%s", rep->head);
		return (rpc_errf(err, errlen, "%s%sHTTP %ld%s%s", w, colon,
		    rep->status, x[0] != '\0' ? ": " : "", x));
	}
	switch (rep->rc) {
	case RPC_EMPTY:
		return (rpc_errf(err, errlen, "%s%sreply is empty", w, sp));
	case RPC_NOTJSON:
		return (rpc_errf(err, errlen, "%s%sreply is not JSON: %s", w,
		    sp, rep->text));
	case RPC_NOTOBJECT:
		return (rpc_errf(err, errlen, "%s%sreply is %s, not an object",
		    w, sp, rep->type));
	case RPC_ERROR:
		rpc_reply_error(rep, x, sizeof(x));
		return (rpc_errf(err, errlen, "%s%s%s", w, colon, x));
	case RPC_NORESULT:
		return (rpc_errf(err, errlen, "%s%sreply has no result", w,
		    sp));
	}
	return (0);
}
