/*
 * The RPC client under the chain kinds (rpc.h): endpoints, requests built
 * with jansson, calls through http, replies read by rpc-reply.c.
 *
 * Requests may carry a secret (a wallet passphrase, an operator key): the
 * first endpoint read switches jansson to a free() that wipes each block,
 * as http.c does for libcurl, so that no copy outlives its use; the body
 * and the "user:password" are wiped here once http has copied them.
 */
#include "autoconf.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

struct rpc_call {
	struct http_req	*req;
	const struct rpc_dialect *dialect;
	char		*(*filter)(void *, const char *, size_t, size_t *);
	rpc_done_cb	 cb;
	void		*arg;
};

/*
 * No keep-alive: bitcoind-lineage daemons wait at shutdown until every
 * open RPC connection is closed, and an idle one kept in curl's pool is
 * only closed by their rpcservertimeout (30 s), which would hold up every
 * stop of a node by that long.
 */
static const char *const rpc_close[] = { "Connection: close", NULL };

/* The protocols: one row each. */
const struct rpc_dialect rpc_bitcoind = {
	"bitcoind", RPC_JSONRPC, "1.0", RPC_TEXT_MORE, RPC_WORD_BITCOIND,
	rpc_close
};
const struct rpc_dialect rpc_graphene = {
	"graphene", RPC_JSONRPC, "2.0", RPC_TEXT_LINE | RPC_TEXT_SPACE,
	RPC_WORD_NAMED, NULL
};
const struct rpc_dialect rpc_nodeos = {
	"nodeos", RPC_NODEOS, NULL, RPC_TEXT_SPACE, RPC_WORD_NAMED, NULL
};

const char *const rpc_endpoint_keys[] = {
	"url", "user", "password_file", "cookie", NULL
};

/* One string setting; *out stays as it was when it is absent. */
static int
rpc_param(const json_t *o, const char *name, const char **out,
    const char **key, char **err)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL)
		return (0);
	if (json_is_string(v) && json_string_length(v) > 0) {
		*out = json_string_value(v);
		return (0);
	}
	*key = name;
	xasprintf(err, "%s must be a non-empty string", name);
	return (-1);
}

/* The url and credentials checks; -1 with *key and *err. */
static int
rpc_endpoint_check(const struct rpc_endpoint *ep, int flags,
    const char *hint, const char **key, char **err)
{
	const char	*p;

	*key = "url";
	if (!(flags & RPC_EP_LAX) && strncmp(ep->url, "http://", 7) != 0 &&
	    strncmp(ep->url, "https://", 8) != 0) {
		xasprintf(err, "url must start with http:// or https://%s%s%s",
		    hint != NULL ? " (" : "", hint != NULL ? hint : "",
		    hint != NULL ? ")" : "");
		return (-1);
	}
	p = ep->url + strcspn(ep->url, ":") + 3;
	if ((flags & RPC_EP_PLAIN) && !(flags & RPC_EP_LAX) &&
	    memchr(p, '@', strcspn(p, "/?#")) != NULL) {
		xasprintf(err, "url must not hold credentials%s",
		    flags & RPC_EP_AUTH ? ": use user and password_file, or "
		    "cookie" : "");
		return (-1);
	}
	*key = "cookie";
	if ((flags & RPC_EP_AUTH) && ep->cookie != NULL &&
	    (ep->user != NULL || ep->password_file != NULL)) {
		xasprintf(err, "cookie and user/password_file exclude each "
		    "other");
		return (-1);
	}
	*key = ep->user != NULL ? "user" : ep->password_file != NULL ?
	    "password_file" : NULL;
	if ((flags & RPC_EP_AUTH) && ep->cookie == NULL &&
	    (ep->user == NULL || ep->password_file == NULL)) {
		xasprintf(err, "needs cookie, or user and password_file");
		return (-1);
	}
	if ((flags & RPC_EP_AUTH_OPT) &&
	    (ep->user == NULL) != (ep->password_file == NULL)) {
		xasprintf(err, "user and password_file go together");
		return (-1);
	}
	return (0);
}

/* jansson's free(), once a request may carry a secret. */
static void
rpc_json_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/*
 * From the first endpoint read on (before any secret is packed into a
 * request's params), jansson wipes what it frees.  Blocks it took from
 * malloc() before are freed the same way.
 */
static void
rpc_json_wiping(void)
{
	static int	 wiping;

	if (!wiping) {
		json_set_alloc_funcs(malloc, rpc_json_free);
		wiping = 1;
	}
}

/*
 * Read an endpoint from settings o (borrowed; ep points into it): url
 * (required unless ep->url holds a default), and the credentials flags
 * ask for.  The kind checks unknown keys and sets ep's dialect and secret
 * readers.  On error, -1 with *key and *err (allocated); inside a map
 * named what, the error is "what: ..." at the key what.
 */
int
rpc_endpoint_parse(const json_t *o, int flags, const char *what,
    const char *hint, struct rpc_endpoint *ep, const char **key, char **err)
{
	const char	*k = NULL;
	char		*e = NULL;
	int		 auth = flags & (RPC_EP_AUTH | RPC_EP_AUTH_OPT);

	rpc_json_wiping();
	if (ep->url == NULL && json_object_get(o, "url") == NULL) {
		k = "url";
		xasprintf(&e, "url is required");
	} else if (rpc_param(o, "url", &ep->url, &k, &e) == -1 ||
	    (auth && (rpc_param(o, "user", &ep->user, &k, &e) == -1 ||
	    rpc_param(o, "password_file", &ep->password_file, &k, &e) == -1 ||
	    rpc_param(o, "cookie", &ep->cookie, &k, &e) == -1)) ||
	    rpc_endpoint_check(ep, flags, hint, &k, &e) == -1)
		;
	else
		return (0);
	*key = what != NULL ? what : k;
	if (what != NULL) {
		xasprintf(err, "%s: %s", what, e);
		free(e);
	} else
		*err = e;
	return (-1);
}

/*
 * "user:password" for Basic auth (allocated: wipe it before freeing), or
 * NULL with err.  A cookie file already holds "__cookie__:hex"; it is
 * re-read at every call, as it changes at each start of the daemon.
 */
char *
rpc_endpoint_userpwd(const struct rpc_endpoint *ep, char *err, size_t errlen)
{
	char	*secret, *e = NULL, *up;

	if (ep->cookie != NULL) {
		if ((secret = ep->read_cookie(ep->cookie, &e)) == NULL) {
			rpc_errf(err, errlen, "cookie: %s (not started yet?)",
			    e);
			free(e);
			return (NULL);
		}
		if (strchr(secret, ':') == NULL) {
			explicit_bzero(secret, strlen(secret));
			free(secret);
			rpc_errf(err, errlen, "cookie %s does not hold "
			    "user:password", ep->cookie);
			return (NULL);
		}
		return (secret);
	}
	if ((secret = ep->read_password(ep->password_file, &e)) == NULL) {
		rpc_errf(err, errlen, "password_file: %s", e);
		free(e);
		return (NULL);
	}
	xasprintf(&up, "%s:%s", ep->user, secret);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return (up);
}

/*
 * The text of a JSON-RPC request for method with params (stolen; NULL for
 * none), allocated: wipe it before freeing.
 */
char *
rpc_request(const struct rpc_dialect *d, const char *method, json_t *params)
{
	json_t		*req;
	char		*s;

	rpc_json_wiping();
	if (params == NULL)
		params = json_array();
	/* "o" steals params. */
	req = json_pack("{s:s,s:o,s:s,s:o}", "jsonrpc", d->jsonrpc, "id",
	    strcmp(d->jsonrpc, "2.0") == 0 ? json_integer(1) :
	    json_string("chainkeeper"), "method", method, "params", params);
	if (req == NULL || (s = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build a JSON-RPC request");
	json_decref(req);
	return (s);
}

static void
rpc_wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
rpc_http_cb(void *arg, const struct http_reply *r)
{
	struct rpc_call		*c = arg;
	const struct rpc_dialect *d = c->dialect;
	struct rpc_reply	 rep;
	const char		*body = r->body, *error = r->error;
	char			*fbody = NULL, *ferror = NULL;
	size_t			 len = r->len, n;

	c->req = NULL;
	if (c->filter != NULL) {
		body = fbody = c->filter(c->arg, r->body, r->len, &len);
		if (r->error != NULL)
			error = ferror = c->filter(c->arg, r->error,
			    strlen(r->error), &n);
	}
	if (error != NULL)
		rpc_reply_transport(&rep, error, d->text);
	else
		(void)rpc_reply_parse(&rep, d->envelope, r->status, body, len,
		    d->text);
	c->cb(c->arg, &rep);
	rpc_reply_free(&rep);
	free(fbody);
	free(ferror);
	free(c);
}

/*
 * Call method on ep with params (stolen; a JSON-RPC method, or for REST
 * the path after the url, params NULL).  cb gets the reply later, from
 * the loop; the call is over then.  NULL with err (nothing called) when
 * the credentials cannot be read or the request cannot be made.
 */
struct rpc_call *
rpc_call(const struct rpc_endpoint *ep, const char *method, json_t *params,
    const struct rpc_opts *opts, rpc_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	const struct rpc_dialect *d = ep->dialect;
	struct rpc_call		*c;
	struct http_opts	 o;
	char			*url = NULL, *body, *up = NULL;
	size_t			 n;

	if (opts->userpwd == NULL && (ep->cookie != NULL ||
	    ep->password_file != NULL) &&
	    (up = rpc_endpoint_userpwd(ep, err, errlen)) == NULL) {
		json_decref(params);
		return (NULL);
	}
	memset(&o, 0, sizeof(o));
	if (d->jsonrpc == NULL) {
		/* REST: no parameters (newer Leap refuses them). */
		json_decref(params);
		for (n = strlen(ep->url); n > 0 && ep->url[n - 1] == '/'; n--)
			;
		xasprintf(&url, "%.*s%s", (int)n, ep->url, method);
		body = xstrdup("");
	} else {
		body = rpc_request(d, method, params);
		o.content_type = "application/json";
	}
	o.method = "POST";
	o.body = body;
	o.headers = d->headers;
	o.userpwd = opts->userpwd != NULL ? opts->userpwd : up;
	o.timeout_ms = opts->timeout_ms;
	o.max_body = opts->max_body;
	c = xcalloc(1, sizeof(*c));
	c->dialect = d;
	c->filter = opts->filter;
	c->cb = cb;
	c->arg = arg;
	c->req = http_request(url != NULL ? url : ep->url, &o, rpc_http_cb, c);
	rpc_wipe(body);
	rpc_wipe(up);
	free(url);
	if (c->req == NULL) {
		free(c);
		rpc_errf(err, errlen, "cannot make a request");
		return (NULL);
	}
	return (c);
}

/* Drop a call in flight: its callback is not called. */
void
rpc_cancel(struct rpc_call *c)
{
	if (c == NULL)
		return;
	http_cancel(c->req);
	free(c);
}
