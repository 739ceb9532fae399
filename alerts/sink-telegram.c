/*
 * telegram: the Bot API's sendMessage to a chat.  The bot token comes from
 * token_file and is part of the URL, so it is never logged.  Accepted when
 * the reply is HTTP 200 with "ok": true; 429 means rate limited.  A bot
 * may send about 20 messages a minute to a group, so what waits then is
 * combined into one message.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "probe.h"
#include "secret.h"
#include "sink.h"
#include "util.h"

#define TELEGRAM_TEXT_MAX	4096

struct tg_cfg {
	json_t		*o;
	const char	*token_file;
	const char	*api_base;
	json_t		*chat_id;	/* borrowed: a number or "@name" */
	int		 format;
	int		 silent;
};

static const char *const tg_keys[] = { "token_file", "chat_id", "format",
    "api_base", "disable_notification", NULL };

static void
tg_free_config(void *arg)
{
	struct tg_cfg	*c = arg;

	json_decref(c->o);
	free(c);
}

static void *
tg_parse(const json_t *o, const char **key, char **err)
{
	struct tg_cfg	*c;
	const char	*fmt = "text";
	char		*e = NULL;

	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->api_base = "https://api.telegram.org";
	if (probe_param_check_keys(o, tg_keys, key, err) == -1 ||
	    probe_param_string(o, "token_file", 1, &c->token_file, key,
	    err) == -1 ||
	    probe_param_string(o, "api_base", 0, &c->api_base, key, err) ==
	    -1 ||
	    probe_param_string(o, "format", 0, &fmt, key, err) == -1 ||
	    probe_param_bool(o, "disable_notification", &c->silent, key,
	    err) == -1)
		goto fail;
	c->chat_id = json_object_get(o, "chat_id");
	if (!json_is_integer(c->chat_id) && !(json_is_string(c->chat_id) &&
	    json_string_length(c->chat_id) > 0)) {
		*key = "chat_id";
		xasprintf(err, "chat_id must be a chat's id (a number) or "
		    "@channelname");
		goto fail;
	}
	if (sink_secret_check(c->token_file, &e) == -1) {
		*key = "token_file";
		*err = e;
		goto fail;
	}
	if ((c->format = format_parse(fmt)) == -1 ||
	    c->format == FORMAT_MARKDOWN) {
		*key = "format";
		xasprintf(err, "format must be text or html");
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
	tg_free_config(c);
	return (NULL);
}

static void
tg_reply_cb(void *arg, const struct http_reply *r)
{
	struct sink_op	*op = arg;
	json_t		*doc;
	const char	*d;

	op->state = NULL;
	if (r->error != NULL) {
		sink_done(op, SINK_RETRY, "%s", r->error);
		return;
	}
	doc = json_loadb(r->body, r->len, 0, NULL);
	if (r->status == 200 && json_is_true(json_object_get(doc, "ok")))
		sink_done(op, SINK_OK, "ok");
	else {
		d = json_string_value(json_object_get(doc, "description"));
		sink_done(op, r->status == 429 ? SINK_RATE_LIMITED :
		    SINK_RETRY, "HTTP %ld%s%.120s", r->status, d != NULL ?
		    ": " : "", d != NULL ? d : "");
	}
	json_decref(doc);
}

static void
tg_send(struct sink_op *op)
{
	struct tg_cfg		*c = op->cfg->kcfg;
	struct http_opts	 o;
	json_t			*msg;
	char			*token, *err, *url, *text, *body;
	size_t			 taken;

	if ((token = secret_file_read(c->token_file, &err)) == NULL) {
		sink_done(op, SINK_RETRY, "token_file: %s", err);
		free(err);
		return;
	}
	sink_op_secret(op, token);
	xasprintf(&url, "%s/bot%s/sendMessage", c->api_base, token);
	text = alert_render_batch(op->alerts, op->n, c->format,
	    TELEGRAM_TEXT_MAX, &taken);
	op->taken = taken;
	msg = json_pack("{s:O,s:s,s:b,s:b}", "chat_id", c->chat_id, "text",
	    text, "disable_web_page_preview", 1, "disable_notification",
	    c->silent);
	if (msg != NULL && c->format == FORMAT_HTML)
		json_object_set_new(msg, "parse_mode", json_string("HTML"));
	free(text);
	body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	memset(&o, 0, sizeof(o));
	o.body = body;
	o.content_type = "application/json";
	o.timeout_ms = (long)op->cfg->timeout_ms;
	o.max_body = 64 * 1024;
	op->state = body != NULL ? http_request(url, &o, tg_reply_cb, op) :
	    NULL;
	explicit_bzero(token, strlen(token));
	explicit_bzero(url, strlen(url));
	free(token);
	free(url);
	free(body);
	if (op->state == NULL)
		sink_done(op, SINK_RETRY, "cannot make a request");
}

static void
tg_cancel(struct sink_op *op)
{
	http_cancel(op->state);
	op->state = NULL;
}

const struct sink_kind sink_kind_telegram = {
	.name = "telegram",
	.batch = 1,
	.rate_limit = 20,
	.rate_window_ms = 60000,
	.parse = tg_parse,
	.free_config = tg_free_config,
	.send = tg_send,
	.cancel = tg_cancel,
	.reset = NULL,
};
