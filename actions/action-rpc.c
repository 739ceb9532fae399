/*
 * rpc: one JSON-RPC call ({url, method, params, jsonrpc: "1.0"|"2.0"},
 * Basic auth with user and password_file, or a cookie file).  Done when
 * the reply came: ok with HTTP 2xx and no "error" in the reply.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "http.h"
#include "probe.h"
#include "secret.h"
#include "util.h"

struct rpc_cfg {
	json_t		*o;		/* the settings, a reference */
	const char	*url;
	const char	*method;
	const char	*user;
	const char	*password_file;
	const char	*cookie;
	const char	*version;
	int64_t		 timeout_ms;
};

static const char *const rpc_keys[] = { "url", "method", "params", "user",
    "password_file", "cookie", "jsonrpc", "timeout", NULL };

static void
rpc_free_config(void *arg)
{
	struct rpc_cfg	*c = arg;

	json_decref(c->o);
	free(c);
}

static void *
rpc_parse(const json_t *o, char **err)
{
	struct rpc_cfg	*c;
	const char	*key = NULL;
	json_t		*params;

	if (!json_is_object(o)) {
		xasprintf(err, "rpc takes {url, method, params, ...}");
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->version = "1.0";
	c->timeout_ms = 30000;
	if (probe_param_check_keys(o, rpc_keys, &key, err) == -1 ||
	    probe_param_string(o, "url", 1, &c->url, &key, err) == -1 ||
	    probe_param_string(o, "method", 1, &c->method, &key, err) == -1 ||
	    probe_param_string(o, "user", 0, &c->user, &key, err) == -1 ||
	    probe_param_string(o, "password_file", 0, &c->password_file, &key,
	    err) == -1 ||
	    probe_param_string(o, "cookie", 0, &c->cookie, &key, err) == -1 ||
	    probe_param_string(o, "jsonrpc", 0, &c->version, &key, err) ==
	    -1 ||
	    probe_param_duration(o, "timeout", &c->timeout_ms, &key, err) ==
	    -1)
		goto fail;
	if ((params = json_object_get(o, "params")) != NULL &&
	    !json_is_array(params) && !json_is_object(params)) {
		xasprintf(err, "params must be a list or a map");
		goto fail;
	}
	if ((c->user == NULL) != (c->password_file == NULL)) {
		xasprintf(err, "user and password_file go together");
		goto fail;
	}
	if (c->password_file != NULL &&
	    secret_file_check(c->password_file, err) == -1)
		goto fail;
	free(*err);
	*err = NULL;
	if (strcmp(c->version, "1.0") != 0 && strcmp(c->version, "2.0") != 0) {
		xasprintf(err, "jsonrpc must be 1.0 or 2.0");
		goto fail;
	}
	return (c);
fail:
	rpc_free_config(c);
	return (NULL);
}

static void
rpc_reply_cb(void *arg, const struct http_reply *r)
{
	struct action	*a = arg;
	json_t		*doc, *e;
	char		*s;

	a->state = NULL;
	if (r->error != NULL) {
		action_done(a, 0, "%s", r->error);
		return;
	}
	doc = json_loadb(r->body, r->len, 0, NULL);
	e = json_object_get(doc, "error");
	if (r->status < 200 || r->status > 299 || (e != NULL &&
	    !json_is_null(e))) {
		s = e != NULL ? json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY) :
		    NULL;
		action_done(a, 0, "HTTP %ld%s%.180s", r->status,
		    s != NULL ? ": " : "", s != NULL ? s : "");
		free(s);
		json_decref(doc);
		return;
	}
	s = json_dumps(json_object_get(doc, "result"), JSON_COMPACT |
	    JSON_ENCODE_ANY);
	action_done(a, 1, "HTTP %ld: %.200s", r->status, s != NULL ? s :
	    "(no result)");
	free(s);
	json_decref(doc);
}

static void
rpc_start(struct action *a)
{
	struct rpc_cfg		*c = a->cfg->kcfg;
	struct http_opts	 o;
	json_t			*req, *params;
	char			*body, *secret = NULL, *up = NULL, *err;

	memset(&o, 0, sizeof(o));
	if (c->password_file != NULL || c->cookie != NULL) {
		/* A cookie is the daemon's own file; a password must be
		 * private. */
		secret = c->cookie != NULL ? secret_file_read_any(c->cookie,
		    &err) : secret_file_read(c->password_file, &err);
		if (secret == NULL) {
			action_done(a, 0, "%s", err);
			free(err);
			return;
		}
		if (c->cookie != NULL)
			up = xstrdup(secret);	/* "__cookie__:hex" */
		else
			xasprintf(&up, "%s:%s", c->user, secret);
		explicit_bzero(secret, strlen(secret));
		free(secret);
		o.userpwd = up;
	}
	params = json_object_get(c->o, "params");
	req = json_pack("{s:s,s:s,s:s,s:O}", "jsonrpc", c->version, "id",
	    "chainkeeper", "method", c->method, "params",
	    params != NULL ? params : json_array());
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	o.body = body;
	o.content_type = "application/json";
	o.timeout_ms = (long)c->timeout_ms;
	a->state = http_request(c->url, &o, rpc_reply_cb, a);
	free(body);
	if (up != NULL) {
		explicit_bzero(up, strlen(up));
		free(up);
	}
	if (a->state == NULL)
		action_done(a, 0, "cannot make a request");
}

static void
rpc_cancel(struct action *a)
{
	http_cancel(a->state);
	a->state = NULL;
}

const struct action_kind action_kind_rpc = {
	.name = "rpc",
	.chain = 1,
	.parse = rpc_parse,
	.free_config = rpc_free_config,
	.start = rpc_start,
	.cancel = rpc_cancel,
	.poll = NULL,
};
