/*
 * http: a request whose reply must have an expected status, and optionally
 * a body matching a regex, or a JSON value (RFC 6901 pointer) that passes
 * a comparison ("/result/blocks" > 100).  A numeric JSON value is the
 * probe's value.
 */
#include "autoconf.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "jsonx.h"
#include "probe.h"
#include "secret.h"
#include "util.h"

struct http_cfg {
	const char	*url;
	const char	*method;
	const char	*body;
	const char	*user;
	const char	*password_file;
	long long	 status_min;
	long long	 status_max;
	int		 has_regex;
	regex_t		 regex;
	const char	*pointer;
	const char	*op;
	json_t		*value;		/* borrowed from params */
	long long	 max_body;
	json_t		*params;	/* a reference, keeps strings alive */
};

static const char *const http_keys[] = {
	"url", "method", "body", "user", "password_file", "status",
	"body_regex", "json_pointer", "compare", "value", "max_body", NULL
};

static void
http_free_config(void *arg)
{
	struct http_cfg	*c = arg;

	if (c->has_regex)
		regfree(&c->regex);
	json_decref(c->params);
	free(c);
}

static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=", NULL };

static void *
http_parse(const json_t *o, const char **key, char **err)
{
	struct http_cfg	*c;
	const char	*re = NULL;
	const char *const *op;
	json_t		*st;
	char		 buf[256];
	int		 r;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->method = NULL;
	c->status_min = 200;
	c->status_max = 299;
	c->max_body = 1024 * 1024;
	if (probe_param_check_keys(o, http_keys, key, err) == -1 ||
	    probe_param_string(o, "url", 1, &c->url, key, err) == -1 ||
	    probe_param_string(o, "method", 0, &c->method, key, err) == -1 ||
	    probe_param_string(o, "body", 0, &c->body, key, err) == -1 ||
	    probe_param_string(o, "user", 0, &c->user, key, err) == -1 ||
	    probe_param_string(o, "password_file", 0, &c->password_file, key,
	    err) == -1 ||
	    probe_param_string(o, "body_regex", 0, &re, key, err) == -1 ||
	    probe_param_string(o, "json_pointer", 0, &c->pointer, key,
	    err) == -1 ||
	    probe_param_string(o, "compare", 0, &c->op, key, err) == -1 ||
	    probe_param_int(o, "max_body", 1, 64 * 1024 * 1024, &c->max_body,
	    key, err) == -1)
		goto fail;
	if (strncmp(c->url, "http://", 7) != 0 &&
	    strncmp(c->url, "https://", 8) != 0) {
		*key = "url";
		xasprintf(err, "url must start with http:// or https://");
		goto fail;
	}
	if ((st = json_object_get(o, "status")) != NULL) {
		if (json_is_integer(st))
			c->status_min = c->status_max = json_integer_value(st);
		else if (json_is_string(st) && sscanf(json_string_value(st),
		    "%lld-%lld", &c->status_min, &c->status_max) == 2 &&
		    c->status_min <= c->status_max)
			;
		else {
			*key = "status";
			xasprintf(err, "status must be a code (200) or a range "
			    "(200-399)");
			goto fail;
		}
	}
	if ((c->user == NULL) != (c->password_file == NULL)) {
		*key = c->user == NULL ? "password_file" : "user";
		xasprintf(err, "user and password_file go together");
		goto fail;
	}
	if (re != NULL) {
		if ((r = regcomp(&c->regex, re, REG_EXTENDED | REG_NOSUB)) !=
		    0) {
			regerror(r, &c->regex, buf, sizeof(buf));
			*key = "body_regex";
			xasprintf(err, "body_regex: %s", buf);
			goto fail;
		}
		c->has_regex = 1;
	}
	if (c->op != NULL) {
		for (op = ops; *op != NULL; op++)
			if (strcmp(*op, c->op) == 0)
				break;
		if (*op == NULL) {
			*key = "compare";
			xasprintf(err, "compare must be one of == != < <= > >=");
			goto fail;
		}
		if (c->pointer == NULL ||
		    (c->value = json_object_get(o, "value")) == NULL) {
			*key = "compare";
			xasprintf(err, "compare needs json_pointer and value");
			goto fail;
		}
	}
	if (c->pointer != NULL && *c->pointer != '/' && *c->pointer != '\0') {
		*key = "json_pointer";
		xasprintf(err, "json_pointer must start with /");
		goto fail;
	}
	return (c);
fail:
	http_free_config(c);
	return (NULL);
}

/* Compare a JSON value with the configured one. */
static int
compare(const char *op, json_t *a, json_t *b)
{
	double	 x, y;
	int	 c;

	if (json_is_number(a) && json_is_number(b)) {
		x = json_number_value(a);
		y = json_number_value(b);
		c = x < y ? -1 : x > y ? 1 : 0;
	} else if (json_is_string(a) && json_is_string(b))
		c = strcmp(json_string_value(a), json_string_value(b));
	else if (strcmp(op, "==") == 0)
		return (json_equal(a, b));
	else if (strcmp(op, "!=") == 0)
		return (!json_equal(a, b));
	else
		return (0);
	if (strcmp(op, "==") == 0)
		return (c == 0);
	if (strcmp(op, "!=") == 0)
		return (c != 0);
	if (strcmp(op, "<") == 0)
		return (c < 0);
	if (strcmp(op, "<=") == 0)
		return (c <= 0);
	if (strcmp(op, ">") == 0)
		return (c > 0);
	return (c >= 0);
}

static void
http_reply_cb(void *arg, const struct http_reply *r)
{
	struct probe	*p = arg;
	struct http_cfg	*c = p->cfg->kcfg;
	json_t		*doc, *v;
	json_error_t	 jerr;
	double		 d;
	char		*shown;

	p->op = NULL;
	if (r->error != NULL) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "%s", r->error);
		return;
	}
	if (r->status < c->status_min || r->status > c->status_max) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "HTTP %ld", r->status);
		return;
	}
	if (c->has_regex && regexec(&c->regex, r->body, 0, NULL, 0) != 0) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "HTTP %ld: body does not "
		    "match", r->status);
		return;
	}
	if (c->pointer == NULL) {
		probe_done(p, PROBE_OK, NULL, NULL, "HTTP %ld", r->status);
		return;
	}
	if ((doc = json_loadb(r->body, r->len, 0, &jerr)) == NULL) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "reply is not JSON: %s",
		    jerr.text);
		return;
	}
	if ((v = json_pointer_get(doc, c->pointer)) == NULL) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "no %s in the reply",
		    c->pointer);
		json_decref(doc);
		return;
	}
	d = json_number_value(v);
	shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (c->op != NULL && !compare(c->op, v, c->value))
		probe_done(p, PROBE_FAIL, json_is_number(v) ? &d : NULL, NULL,
		    "%s is %.60s, not %s the expected value", c->pointer,
		    shown != NULL ? shown : "?", c->op);
	else
		probe_done(p, PROBE_OK, json_is_number(v) ? &d : NULL, NULL,
		    "%s is %.60s", c->pointer, shown != NULL ? shown : "?");
	free(shown);
	json_decref(doc);
}

static void
http_run(struct probe *p)
{
	struct http_cfg		*c = p->cfg->kcfg;
	struct http_opts	 o;
	char			*pw = NULL, *up = NULL, *err;

	memset(&o, 0, sizeof(o));
	o.method = c->method;
	o.body = c->body;
	/* The probe's own timer must win, so that a hang is a timeout. */
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	if (c->password_file != NULL) {
		if ((pw = secret_file_read_any(c->password_file, &err)) ==
		    NULL) {
			probe_done(p, PROBE_ERROR, NULL, NULL, "%s", err);
			free(err);
			return;
		}
		xasprintf(&up, "%s:%s", c->user, pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		o.userpwd = up;
	}
	p->op = http_request(c->url, &o, http_reply_cb, p);
	if (up != NULL) {
		explicit_bzero(up, strlen(up));
		free(up);
	}
	if (p->op == NULL)
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot make a request");
}

static void
http_cancel_check(struct probe *p)
{
	http_cancel(p->op);
	p->op = NULL;
}

const struct probe_kind probe_kind_http = {
	.name = "http",
	.parse = http_parse,
	.free_config = http_free_config,
	.run = http_run,
	.cancel = http_cancel_check,
	.reset = NULL,
};
