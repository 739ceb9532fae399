/*
 * wecom-robot: a WeCom (企业微信) group robot.  POST a JSON message to
 * the robot's webhook, whose key comes from key_file (the key) or
 * url_file (the whole URL).  Accepted only when the reply is HTTP 200 with
 * errcode 0; errcode 45009 means rate limited.  A robot takes at most 20
 * messages a minute, so when the minute is nearly used up, what waits is
 * combined into one message.  The key is never logged: the webhook is
 * shown as https://qyapi.weixin.qq.com/...key=(redacted).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "probe.h"
#include "secret.h"
#include "sink.h"
#include "util.h"

#define ROBOT_TEXT_MAX		2048	/* bytes of text content */
#define ROBOT_MARKDOWN_MAX	4096

struct robot_cfg {
	json_t		*o;		/* the settings, a reference */
	const char	*key_file;
	const char	*url_file;
	const char	*api_base;
	int		 format;
	char		**mentioned;
	char		**mobiles;
};

static const char *const robot_keys[] = { "key_file", "url_file",
    "api_base", "format", "mentioned_list", "mentioned_mobile_list", NULL };

static void
robot_free_config(void *arg)
{
	struct robot_cfg	*c = arg;

	free_argv(c->mentioned);
	free_argv(c->mobiles);
	json_decref(c->o);
	free(c);
}

static void *
robot_parse(const json_t *o, const char **key, char **err)
{
	struct robot_cfg	*c;
	const char		*fmt = "text";
	char			*e = NULL;

	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->api_base = "https://qyapi.weixin.qq.com";
	if (probe_param_check_keys(o, robot_keys, key, err) == -1 ||
	    probe_param_string(o, "key_file", 0, &c->key_file, key, err) ==
	    -1 ||
	    probe_param_string(o, "url_file", 0, &c->url_file, key, err) ==
	    -1 ||
	    probe_param_string(o, "api_base", 0, &c->api_base, key, err) ==
	    -1 ||
	    probe_param_string(o, "format", 0, &fmt, key, err) == -1 ||
	    sink_param_strings(o, "mentioned_list", &c->mentioned, key,
	    err) == -1 ||
	    sink_param_strings(o, "mentioned_mobile_list", &c->mobiles, key,
	    err) == -1)
		goto fail;
	if ((c->key_file == NULL) == (c->url_file == NULL)) {
		xasprintf(err, "give key_file (the robot's key) or url_file "
		    "(its whole webhook URL), not both");
		goto fail;
	}
	if (sink_secret_check(c->key_file != NULL ? c->key_file :
	    c->url_file, &e) == -1) {
		*key = c->key_file != NULL ? "key_file" : "url_file";
		*err = e;
		goto fail;
	}
	if ((c->format = format_parse(fmt)) == -1 ||
	    c->format == FORMAT_HTML) {
		*key = "format";
		xasprintf(err, "format must be text or markdown");
		goto fail;
	}
	if (c->format == FORMAT_MARKDOWN && (c->mentioned != NULL ||
	    c->mobiles != NULL)) {
		*key = "format";
		xasprintf(err, "mentions work only with format: text");
		goto fail;
	}
	if (strncmp(c->api_base, "http://", 7) != 0 &&
	    strncmp(c->api_base, "https://", 8) != 0) {
		*key = "api_base";
		xasprintf(err, "api_base must start with http:// or https://");
		goto fail;
	}
	return (c);
fail:
	robot_free_config(c);
	return (NULL);
}

static json_t *
strv_json(char **v)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return (a);
}

static void
robot_reply_cb(void *arg, const struct http_reply *r)
{
	struct sink_op	*op = arg;
	json_t		*doc;
	json_int_t	 code;
	const char	*msg;

	op->state = NULL;
	if (r->error != NULL) {
		sink_done(op, SINK_RETRY, "%s", r->error);
		return;
	}
	if (r->status != 200) {
		sink_done(op, SINK_RETRY, "HTTP %ld", r->status);
		return;
	}
	doc = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_integer(json_object_get(doc, "errcode"))) {
		sink_done(op, SINK_RETRY, "HTTP 200, but no errcode in the "
		    "reply: %.80s", r->body);
		json_decref(doc);
		return;
	}
	code = json_integer_value(json_object_get(doc, "errcode"));
	msg = json_string_value(json_object_get(doc, "errmsg"));
	if (code == 0)
		sink_done(op, SINK_OK, "errcode 0");
	else
		sink_done(op, code == 45009 ? SINK_RATE_LIMITED : SINK_RETRY,
		    "errcode %lld%s%s%.120s", (long long)code, code == 93000 ?
		    " (the robot's key is wrong)" : code == 45009 ?
		    " (rate limited)" : "", msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
	json_decref(doc);
}

static void
robot_send(struct sink_op *op)
{
	struct robot_cfg	*c = op->cfg->kcfg;
	struct http_opts	 o;
	json_t			*msg;
	char			*secret, *err, *url, *text, *body, *k, *amp;
	struct buf		 ek = { NULL, 0, 0 };
	size_t			 taken;

	if ((secret = secret_file_read(c->key_file != NULL ? c->key_file :
	    c->url_file, &err)) == NULL) {
		sink_done(op, SINK_RETRY, "%s: %s", c->key_file != NULL ?
		    "key_file" : "url_file", err);
		free(err);
		return;
	}
	sink_op_secret(op, secret);
	if (c->key_file != NULL) {
		str_append_escaped(&ek, secret, ESC_URL);
		xasprintf(&url, "%s/cgi-bin/webhook/send?key=%s", c->api_base,
		    ek.s);
		buf_free(&ek);
	} else {
		url = xstrdup(secret);
		/* The key inside the URL is a secret of its own. */
		if ((k = strstr(url, "key=")) != NULL) {
			k = xstrdup(k + 4);
			if ((amp = strchr(k, '&')) != NULL)
				*amp = '\0';
			if (*k != '\0')
				sink_op_secret(op, k);
			free(k);
		}
	}
	text = alert_render_batch(op->alerts, op->n, c->format,
	    c->format == FORMAT_MARKDOWN ? ROBOT_MARKDOWN_MAX :
	    ROBOT_TEXT_MAX, &taken);
	op->taken = taken;
	if (c->format == FORMAT_MARKDOWN)
		msg = json_pack("{s:s,s:{s:s}}", "msgtype", "markdown",
		    "markdown", "content", text);
	else {
		msg = json_pack("{s:s,s:{s:s}}", "msgtype", "text", "text",
		    "content", text);
		if (msg != NULL && c->mentioned != NULL)
			json_object_set_new(json_object_get(msg, "text"),
			    "mentioned_list", strv_json(c->mentioned));
		if (msg != NULL && c->mobiles != NULL)
			json_object_set_new(json_object_get(msg, "text"),
			    "mentioned_mobile_list", strv_json(c->mobiles));
	}
	free(text);
	body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	memset(&o, 0, sizeof(o));
	o.body = body;
	o.content_type = "application/json";
	o.timeout_ms = (long)op->cfg->timeout_ms;
	o.max_body = 64 * 1024;
	/* The webhook's URL holds the key: it is never logged whole. */
	log_debug("sink %s: %zu alert%s to %s/...key=(redacted)",
	    op->cfg->name, taken, taken == 1 ? "" : "s", c->key_file != NULL ?
	    c->api_base : "the webhook of url_file");
	op->state = body != NULL ? http_request(url, &o, robot_reply_cb, op) :
	    NULL;
	secret_free(secret);
	explicit_bzero(url, strlen(url));
	free(url);
	free(body);
	if (op->state == NULL)
		sink_done(op, SINK_RETRY, "cannot make a request to "
		    "%s/...key=(redacted)", c->key_file != NULL ? c->api_base :
		    "the url_file's webhook");
}

static void
robot_cancel(struct sink_op *op)
{
	http_cancel(op->state);
	op->state = NULL;
}

const struct sink_kind sink_kind_wecom_robot = {
	.name = "wecom-robot",
	.batch = 1,
	.rate_limit = 20,
	.rate_window_ms = 60000,
	.parse = robot_parse,
	.free_config = robot_free_config,
	.send = robot_send,
	.cancel = robot_cancel,
	.reset = NULL,
};
