/*
 * wecom-app: a WeCom (企业微信) application message, as eoskeeper sent.
 * The corp id and the app's secret (from secret_file) buy an access token
 * (gettoken), cached until it expires; message/send then goes to users,
 * parties or tags of the app (agent_id).  A reply of errcode 40014 or
 * 42001 (a bad or expired token) drops the token, fetches a new one and
 * sends once more.  The secret and the token are never logged.
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

#define APP_TEXT_MAX	2048
#define APP_TOKEN_SLACK	60000		/* renew this long (ms) before */

struct app_cfg {
	json_t		*o;
	const char	*corp_id;
	const char	*secret_file;
	const char	*api_base;
	long long	 agent_id;
	char		*to_user;	/* "u1|u2" */
	char		*to_party;
	char		*to_tag;
	int		 format;
};

/* The token cache of a sink. */
struct app_token {
	char		*token;
	int64_t		 expires_ms;	/* monotonic */
};

/* One send: maybe a gettoken first, then message/send, maybe again. */
struct app_op {
	struct http_req	*req;
	int		 renewed;	/* got a new token for this send */
	char		*body;		/* the message */
};

static const char *const app_keys[] = { "corp_id", "secret_file",
    "agent_id", "to_user", "to_party", "to_tag", "format", "api_base",
    NULL };

static void	app_post(struct sink_op *);
static void	app_gettoken(struct sink_op *);

static void
app_free_config(void *arg)
{
	struct app_cfg	*c = arg;

	free(c->to_user);
	free(c->to_party);
	free(c->to_tag);
	json_decref(c->o);
	free(c);
}

/* A list (or a string) joined with '|', as WeCom wants it. */
static int
join_list(const json_t *o, const char *name, char **out, const char **key,
    char **err)
{
	char	**v;
	size_t	 i, len = 1;

	if (sink_param_strings(o, name, &v, key, err) == -1)
		return (-1);
	if (v == NULL)
		return (0);
	for (i = 0; v[i] != NULL; i++)
		len += strlen(v[i]) + 1;
	*out = xcalloc(1, len);
	for (i = 0, len = 0; v[i] != NULL; i++)
		len += (size_t)sprintf(*out + len, "%s%s", i > 0 ? "|" : "",
		    v[i]);
	free_argv(v);
	return (0);
}

static void *
app_parse(const json_t *o, const char **key, char **err)
{
	struct app_cfg	*c;
	const char	*fmt = "text";
	char		*e = NULL;

	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->api_base = "https://qyapi.weixin.qq.com";
	c->agent_id = -1;
	if (probe_param_check_keys(o, app_keys, key, err) == -1 ||
	    probe_param_string(o, "corp_id", 1, &c->corp_id, key, err) ==
	    -1 ||
	    probe_param_string(o, "secret_file", 1, &c->secret_file, key,
	    err) == -1 ||
	    probe_param_int(o, "agent_id", 0, 0x7fffffff, &c->agent_id, key,
	    err) == -1 ||
	    probe_param_string(o, "api_base", 0, &c->api_base, key, err) ==
	    -1 ||
	    probe_param_string(o, "format", 0, &fmt, key, err) == -1 ||
	    join_list(o, "to_user", &c->to_user, key, err) == -1 ||
	    join_list(o, "to_party", &c->to_party, key, err) == -1 ||
	    join_list(o, "to_tag", &c->to_tag, key, err) == -1)
		goto fail;
	if (c->agent_id == -1) {
		*key = NULL;
		xasprintf(err, "agent_id is required (the app's AgentId)");
		goto fail;
	}
	if (sink_secret_check(c->secret_file, &e) == -1) {
		*key = "secret_file";
		*err = e;
		goto fail;
	}
	if ((c->format = format_parse(fmt)) == -1 ||
	    c->format == FORMAT_HTML) {
		*key = "format";
		xasprintf(err, "format must be text or markdown");
		goto fail;
	}
	if (c->to_user == NULL && c->to_party == NULL && c->to_tag == NULL)
		c->to_user = xstrdup("@all");
	if (strncmp(c->api_base, "http://", 7) != 0 &&
	    strncmp(c->api_base, "https://", 8) != 0) {
		*key = "api_base";
		xasprintf(err, "api_base must start with http:// or https://");
		goto fail;
	}
	return (c);
fail:
	app_free_config(c);
	return (NULL);
}

static void
app_reset(void *arg)
{
	struct app_token	*t = arg;

	if (t == NULL)
		return;
	if (t->token != NULL) {
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	free(t);
}

static void
app_op_free(struct sink_op *op)
{
	struct app_op	*ao = op->state;

	if (ao == NULL)
		return;
	free(ao->body);
	free(ao);
	op->state = NULL;
}

static void
app_done(struct sink_op *op, int result, const char *why)
{
	app_op_free(op);
	sink_done(op, result, "%s", why);
}

static void
app_token_drop(struct sink_op *op)
{
	app_reset(*op->kstate);
	*op->kstate = NULL;
}

static void
app_send_cb(void *arg, const struct http_reply *r)
{
	struct sink_op	*op = arg;
	struct app_op	*ao = op->state;
	json_t		*doc;
	json_int_t	 code;
	const char	*msg;
	char		 why[200];

	ao->req = NULL;
	if (r->error != NULL) {
		app_done(op, SINK_RETRY, r->error);
		return;
	}
	if (r->status != 200) {
		snprintf(why, sizeof(why), "message/send: HTTP %ld", r->status);
		app_done(op, SINK_RETRY, why);
		return;
	}
	doc = json_loadb(r->body, r->len, 0, NULL);
	code = json_integer_value(json_object_get(doc, "errcode"));
	msg = json_string_value(json_object_get(doc, "errmsg"));
	if (!json_is_integer(json_object_get(doc, "errcode"))) {
		json_decref(doc);
		app_done(op, SINK_RETRY, "message/send: no errcode in the "
		    "reply");
		return;
	}
	snprintf(why, sizeof(why), "message/send: errcode %lld%s%.120s",
	    (long long)code, msg != NULL ? ": " : "", msg != NULL ? msg : "");
	json_decref(doc);
	if (code == 0) {
		app_done(op, SINK_OK, "errcode 0");
		return;
	}
	if (code == 40014 || code == 42001 || code == 40001 ||
	    code == 41001) {
		app_token_drop(op);
		if (!ao->renewed) {
			app_gettoken(op);
			return;
		}
	}
	app_done(op, code == 45009 ? SINK_RATE_LIMITED : SINK_RETRY, why);
}

/* message/send with the cached token. */
static void
app_post(struct sink_op *op)
{
	struct app_cfg		*c = op->cfg->kcfg;
	struct app_op		*ao = op->state;
	struct app_token	*t = *op->kstate;
	struct http_opts	 o;
	char			*url;

	sink_op_secret(op, t->token);
	xasprintf(&url, "%s/cgi-bin/message/send?access_token=%s",
	    c->api_base, t->token);
	memset(&o, 0, sizeof(o));
	o.body = ao->body;
	o.content_type = "application/json";
	o.timeout_ms = (long)op->cfg->timeout_ms;
	o.max_body = 64 * 1024;
	ao->req = http_request(url, &o, app_send_cb, op);
	explicit_bzero(url, strlen(url));
	free(url);
	if (ao->req == NULL)
		app_done(op, SINK_RETRY, "cannot make a request");
}

static void
app_token_cb(void *arg, const struct http_reply *r)
{
	struct sink_op		*op = arg;
	struct app_op		*ao = op->state;
	struct app_token	*t;
	json_t			*doc;
	const char		*tok, *msg;
	json_int_t		 code, exp;
	char			 why[200];

	ao->req = NULL;
	if (r->error != NULL) {
		snprintf(why, sizeof(why), "gettoken: %s", r->error);
		app_done(op, SINK_RETRY, why);
		return;
	}
	doc = json_loadb(r->body, r->len, 0, NULL);
	code = json_integer_value(json_object_get(doc, "errcode"));
	tok = json_string_value(json_object_get(doc, "access_token"));
	exp = json_integer_value(json_object_get(doc, "expires_in"));
	msg = json_string_value(json_object_get(doc, "errmsg"));
	if (r->status != 200 || code != 0 || tok == NULL || *tok == '\0') {
		snprintf(why, sizeof(why), "gettoken: HTTP %ld, errcode "
		    "%lld%s%.120s", r->status, (long long)code,
		    msg != NULL ? ": " : "", msg != NULL ? msg : "");
		json_decref(doc);
		app_done(op, SINK_RETRY, why);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->token = xstrdup(tok);
	if (exp <= 0)
		exp = 7200;
	/* Renew a minute early, or halfway for a short-lived token. */
	t->expires_ms = now_ms() + (exp * 1000 > 2 * APP_TOKEN_SLACK ?
	    exp * 1000 - APP_TOKEN_SLACK : exp * 500);
	json_decref(doc);
	app_token_drop(op);
	*op->kstate = t;
	log_debug("sink %s: a new access token, for %lld s", op->cfg->name,
	    (long long)exp);
	app_post(op);
}

/* gettoken with the corp id and the app's secret. */
static void
app_gettoken(struct sink_op *op)
{
	struct app_cfg		*c = op->cfg->kcfg;
	struct app_op		*ao = op->state;
	struct http_opts	 o;
	struct buf		 b = { NULL, 0, 0 };
	char			*secret, *err, *url, *es, *ec;

	ao->renewed = 1;
	if ((secret = secret_file_read(c->secret_file, &err)) == NULL) {
		app_done(op, SINK_RETRY, err);
		free(err);
		return;
	}
	sink_op_secret(op, secret);
	str_append_escaped(&b, secret, ESC_URL);
	es = buf_take(&b);
	str_append_escaped(&b, c->corp_id, ESC_URL);
	ec = buf_take(&b);
	xasprintf(&url, "%s/cgi-bin/gettoken?corpid=%s&corpsecret=%s",
	    c->api_base, ec, es);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)op->cfg->timeout_ms;
	o.max_body = 64 * 1024;
	ao->req = http_request(url, &o, app_token_cb, op);
	explicit_bzero(secret, strlen(secret));
	explicit_bzero(es, strlen(es));
	explicit_bzero(url, strlen(url));
	free(secret);
	free(es);
	free(ec);
	free(url);
	if (ao->req == NULL)
		app_done(op, SINK_RETRY, "cannot make a request");
}

static void
app_send(struct sink_op *op)
{
	struct app_cfg		*c = op->cfg->kcfg;
	struct app_token	*t = *op->kstate;
	struct app_op		*ao;
	json_t			*msg;
	char			*text;
	size_t			 taken;

	text = alert_render_batch(op->alerts, op->n, c->format, APP_TEXT_MAX,
	    &taken);
	op->taken = taken;
	msg = json_pack("{s:s,s:I,s:s}", "msgtype", c->format ==
	    FORMAT_MARKDOWN ? "markdown" : "text", "agentid",
	    (json_int_t)c->agent_id, "touser", c->to_user != NULL ?
	    c->to_user : "");
	if (c->to_party != NULL)
		json_object_set_new(msg, "toparty", json_string(c->to_party));
	if (c->to_tag != NULL)
		json_object_set_new(msg, "totag", json_string(c->to_tag));
	json_object_set_new(msg, c->format == FORMAT_MARKDOWN ? "markdown" :
	    "text", json_pack("{s:s}", "content", text));
	free(text);
	ao = xcalloc(1, sizeof(*ao));
	ao->body = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	op->state = ao;
	if (ao->body == NULL) {
		app_done(op, SINK_RETRY, "the message could not be encoded");
		return;
	}
	if (t != NULL && t->expires_ms > now_ms())
		app_post(op);
	else
		app_gettoken(op);
}

static void
app_cancel(struct sink_op *op)
{
	struct app_op	*ao = op->state;

	if (ao == NULL)
		return;
	http_cancel(ao->req);
	ao->req = NULL;
	app_op_free(op);
}

const struct sink_kind sink_kind_wecom_app = {
	.name = "wecom-app",
	.batch = 1,
	.rate_limit = 0,
	.rate_window_ms = 60000,
	.parse = app_parse,
	.free_config = app_free_config,
	.send = app_send,
	.cancel = app_cancel,
	.reset = app_reset,
};
