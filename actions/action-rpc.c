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
#include "probe.h"
#include "rpc.h"
#include "secret.h"
#include "util.h"

struct actrpc_cfg {
	json_t		*o;		/* the settings, a reference */
	struct rpc_endpoint ep;
	const char	*method;
	const char	*version;
	int64_t		 timeout_ms;
};

static const char *const actrpc_keys[] = { "url", "method", "params",
    "user", "password_file", "cookie", "jsonrpc", "timeout", NULL };

static void
actrpc_free_config(void *arg)
{
	struct actrpc_cfg	*c = arg;

	json_decref(c->o);
	free(c);
}

static void *
actrpc_parse(const json_t *o, char **err)
{
	struct actrpc_cfg	*c;
	const char		*key = NULL;
	json_t			*params;

	if (!json_is_object(o)) {
		xasprintf(err, "rpc takes {url, method, params, ...}");
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->version = "1.0";
	c->timeout_ms = 30000;
	/* A cookie is the daemon's own file; a password must be private. */
	c->ep.read_cookie = secret_file_read_any;
	c->ep.read_password = secret_file_read;
	if (probe_param_check_keys(o, actrpc_keys, &key, err) == -1 ||
	    rpc_endpoint_parse(o, RPC_EP_AUTH_OPT | RPC_EP_LAX, NULL, NULL,
	    &c->ep, &key, err) == -1 ||
	    probe_param_string(o, "method", 1, &c->method, &key, err) == -1 ||
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
	if (c->ep.password_file != NULL &&
	    secret_file_check(c->ep.password_file, err) == -1)
		goto fail;
	free(*err);
	*err = NULL;
	if (strcmp(c->version, "1.0") == 0)
		c->ep.dialect = &rpc_bitcoind;
	else if (strcmp(c->version, "2.0") == 0)
		c->ep.dialect = &rpc_graphene;
	else {
		xasprintf(err, "jsonrpc must be 1.0 or 2.0");
		goto fail;
	}
	return (c);
fail:
	actrpc_free_config(c);
	return (NULL);
}

/* Done: ok with HTTP 2xx and no "error"; the result or error is shown. */
static void
actrpc_reply_cb(void *arg, const struct rpc_reply *rep)
{
	struct action	*a = arg;
	json_t		*e;
	char		*s;

	a->state = NULL;
	if (rep->rc == RPC_TRANSPORT) {
		action_done(a, 0, "%s", rep->text);
		return;
	}
	e = json_object_get(rep->doc, "error");
	if (rep->status < 200 || rep->status > 299 || rep->rc == RPC_ERROR) {
		s = e != NULL ? json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY) :
		    NULL;
		action_done(a, 0, "HTTP %ld%s%.180s", rep->status,
		    s != NULL ? ": " : "", s != NULL ? s : "");
		free(s);
		return;
	}
	s = json_dumps(rep->result, JSON_COMPACT | JSON_ENCODE_ANY);
	action_done(a, 1, "HTTP %ld: %.200s", rep->status, s != NULL ? s :
	    "(no result)");
	free(s);
}

static void
actrpc_start(struct action *a)
{
	struct actrpc_cfg	*c = a->cfg->kcfg;
	struct rpc_opts		 o;
	json_t			*params;
	char			 err[RPC_TEXTLEN];

	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)c->timeout_ms;
	params = json_object_get(c->o, "params");
	if ((a->state = rpc_call(&c->ep, c->method, params != NULL ?
	    json_incref(params) : NULL, &o, actrpc_reply_cb, a, err,
	    sizeof(err))) == NULL)
		action_done(a, 0, "%s", err);
}

static void
actrpc_cancel(struct action *a)
{
	rpc_cancel(a->state);
	a->state = NULL;
}

const struct action_kind action_kind_rpc = {
	.name = "rpc",
	.chain = 1,
	.parse = actrpc_parse,
	.free_config = actrpc_free_config,
	.start = actrpc_start,
	.cancel = actrpc_cancel,
	.poll = NULL,
};
