/*
 * http: a templated request, for any SMS gateway or webhook.  The URL,
 * the headers and the body are templates with {placeholders}: values are
 * URL-encoded in the URL, JSON-escaped in a JSON body, form-encoded in a
 * form body.  A secret (a password, an API key) comes from secret_file
 * and goes where {secret} is.  The reply is a success when its status and
 * an optional JSON field say so:
 *	success: {status: 200,
 *	    json: {pointer: /returnstatus, equals: Success}}
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "probe.h"
#include "secret.h"
#include "sink.h"
#include "util.h"

struct hs_cfg {
	json_t		*o;		/* the settings, a reference */
	const char	*url;
	const char	*method;
	const char	*body;
	const char	*content_type;
	const char	*secret_file;
	int		 escape;	/* of the body */
	char		**hnames;	/* headers: names and templates */
	char		**hvalues;
	size_t		 nheaders;
	struct success_pred success;
};

static const char *const hs_keys[] = { "url", "method", "headers", "body",
    "content_type", "body_escape", "secret_file", "success", NULL };

static void
hs_free_config(void *arg)
{
	struct hs_cfg	*c = arg;
	size_t		 i;

	for (i = 0; i < c->nheaders; i++) {
		free(c->hnames[i]);
		free(c->hvalues[i]);
	}
	free(c->hnames);
	free(c->hvalues);
	success_free(&c->success);
	json_decref(c->o);
	free(c);
}

static int
hs_template(const char *t, const char *key, int secret_ok, const char **bad,
    char **err)
{
	char	*e;

	if (tpl_check(t, secret_ok, &e) == -1) {
		*bad = key;
		xasprintf(err, "%s: %s", key, e);
		free(e);
		return (-1);
	}
	return (0);
}

static void *
hs_parse(const json_t *o, const char **key, char **err)
{
	struct hs_cfg	*c;
	const char	*esc = "auto", *k, *m;
	json_t		*h, *v;
	char		*e = NULL;

	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	if (probe_param_check_keys(o, hs_keys, key, err) == -1 ||
	    probe_param_string(o, "url", 1, &c->url, key, err) == -1 ||
	    probe_param_string(o, "method", 0, &c->method, key, err) == -1 ||
	    probe_param_string(o, "body", 0, &c->body, key, err) == -1 ||
	    probe_param_string(o, "content_type", 0, &c->content_type, key,
	    err) == -1 ||
	    probe_param_string(o, "body_escape", 0, &esc, key, err) == -1 ||
	    probe_param_string(o, "secret_file", 0, &c->secret_file, key,
	    err) == -1)
		goto fail;
	if (strncmp(c->url, "http://", 7) != 0 &&
	    strncmp(c->url, "https://", 8) != 0) {
		*key = "url";
		xasprintf(err, "url must start with http:// or https://");
		goto fail;
	}
	if (c->secret_file != NULL &&
	    sink_secret_check(c->secret_file, &e) == -1) {
		*key = "secret_file";
		*err = e;
		goto fail;
	}
	if (hs_template(c->url, "url", c->secret_file != NULL, key, err) ==
	    -1 || (c->body != NULL && hs_template(c->body, "body",
	    c->secret_file != NULL, key, err) == -1))
		goto fail;
	if (c->method == NULL)
		c->method = c->body != NULL ? "POST" : "GET";
	for (m = c->method; *m != '\0'; m++)
		if (*m < 'A' || *m > 'Z') {
			*key = "method";
			xasprintf(err, "method must be a word such as GET or "
			    "POST");
			goto fail;
		}
	if (c->body != NULL && c->content_type == NULL)
		c->content_type = "application/json";
	if (strcmp(esc, "auto") == 0)
		c->escape = c->content_type != NULL &&
		    strcasestr(c->content_type, "json") != NULL ? ESC_JSON :
		    c->content_type != NULL && strcasestr(c->content_type,
		    "x-www-form-urlencoded") != NULL ? ESC_URL : ESC_NONE;
	else if (strcmp(esc, "json") == 0)
		c->escape = ESC_JSON;
	else if (strcmp(esc, "url") == 0)
		c->escape = ESC_URL;
	else if (strcmp(esc, "none") == 0)
		c->escape = ESC_NONE;
	else {
		*key = "body_escape";
		xasprintf(err, "body_escape must be auto, json, url or none");
		goto fail;
	}
	if ((h = json_object_get(o, "headers")) != NULL) {
		if (!json_is_object(h)) {
			*key = "headers";
			xasprintf(err, "headers must be a map of name: value");
			goto fail;
		}
		c->hnames = xcalloc(json_object_size(h), sizeof(char *));
		c->hvalues = xcalloc(json_object_size(h), sizeof(char *));
		json_object_foreach(h, k, v) {
			if (!json_is_string(v) && !json_is_number(v)) {
				*key = "headers";
				xasprintf(err, "header %s must be a string", k);
				goto fail;
			}
			if (*k == '\0' || strpbrk(k, ": \t\r\n") != NULL) {
				*key = "headers";
				xasprintf(err, "invalid header name \"%s\"", k);
				goto fail;
			}
			c->hnames[c->nheaders] = xstrdup(k);
			if (json_is_string(v))
				c->hvalues[c->nheaders] = xstrdup(
				    json_string_value(v));
			else
				c->hvalues[c->nheaders] = json_dumps(v,
				    JSON_ENCODE_ANY);
			c->nheaders++;
			if (hs_template(c->hvalues[c->nheaders - 1],
			    "headers", c->secret_file != NULL, key, err) == -1)
				goto fail;
		}
	}
	if (success_parse(json_object_get(o, "success"), &c->success,
	    err) == -1) {
		*key = "success";
		goto fail;
	}
	return (c);
fail:
	hs_free_config(c);
	return (NULL);
}

static void
hs_reply_cb(void *arg, const struct http_reply *r)
{
	struct sink_op	*op = arg;
	struct hs_cfg	*c = op->cfg->kcfg;
	char		 why[200];

	op->state = NULL;
	if (r->error != NULL) {
		sink_done(op, SINK_RETRY, "%s", r->error);
		return;
	}
	if (!success_check(&c->success, r->status, r->body, r->len, why,
	    sizeof(why))) {
		sink_done(op, r->status == 429 ? SINK_RATE_LIMITED :
		    SINK_RETRY, "%s", why);
		return;
	}
	sink_done(op, SINK_OK, "HTTP %ld", r->status);
}

static void
hs_send(struct sink_op *op)
{
	struct hs_cfg		*c = op->cfg->kcfg;
	const struct alert	*a = op->alerts[0];
	struct http_opts	 o;
	char			*secret = NULL, *err, *url, *body = NULL, *v;
	char			**hv;
	size_t			 i;

	if (c->secret_file != NULL) {
		if ((secret = secret_file_read(c->secret_file, &err)) == NULL) {
			sink_done(op, SINK_RETRY, "secret_file: %s", err);
			free(err);
			return;
		}
		sink_op_secret(op, secret);
	}
	url = tpl_expand(c->url, ESC_URL, a, secret);
	if (c->body != NULL)
		body = tpl_expand(c->body, c->escape, a, secret);
	hv = xcalloc(c->nheaders + 1, sizeof(char *));
	for (i = 0; i < c->nheaders; i++) {
		v = tpl_expand(c->hvalues[i], ESC_HEADER, a, secret);
		xasprintf(&hv[i], "%s: %s", c->hnames[i], v);
		explicit_bzero(v, strlen(v));
		free(v);
	}
	memset(&o, 0, sizeof(o));
	o.method = c->method;
	o.body = body;
	o.content_type = c->content_type;
	o.headers = (const char *const *)hv;
	o.timeout_ms = (long)op->cfg->timeout_ms;
	o.max_body = 64 * 1024;
	op->taken = 1;
	v = url_redact(url);
	log_debug("sink %s: %s %s", op->cfg->name, c->method, v);
	free(v);
	op->state = http_request(url, &o, hs_reply_cb, op);
	if (secret != NULL) {
		secret_free(secret);
		explicit_bzero(url, strlen(url));
		if (body != NULL)
			explicit_bzero(body, strlen(body));
		for (i = 0; i < c->nheaders; i++)
			explicit_bzero(hv[i], strlen(hv[i]));
	}
	free(url);
	free(body);
	free_argv(hv);
	if (op->state == NULL)
		sink_done(op, SINK_RETRY, "cannot make a request");
}

static void
hs_cancel(struct sink_op *op)
{
	http_cancel(op->state);
	op->state = NULL;
}

const struct sink_kind sink_kind_http = {
	.name = "http",
	.batch = 0,
	.rate_limit = 0,
	.rate_window_ms = 60000,
	.parse = hs_parse,
	.free_config = hs_free_config,
	.send = hs_send,
	.cancel = hs_cancel,
	.reset = NULL,
};
