/*
 * Unit tests for the alerts: template expansion and escaping, the success
 * predicate, JSON pointers, scrubbing and redaction, rendering several
 * alerts into one message, the outbox encoding and file (torn tails,
 * rewrites), reading an outbox back into delivery states, the summary
 * schedule, and the errors of the alerts section with their paths.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "sink.h"
#include "util.h"

static char	 tmpdir[256];

/* An alert with every field set, for templates and rendering. */
static struct alert *
mk_alert(uint64_t id, const char *message)
{
	struct alert	*a = xcalloc(1, sizeof(*a));

	a->id = id;
	a->time = 1700000000;
	a->kind = ALERT_RAISE;
	a->severity = ALERT_CRITICAL;
	a->host = xstrdup("bp1");
	a->program = xstrdup("nodeos");
	a->event = xstrdup("probe");
	a->rule = xstrdup("chain");
	a->key = xstrdup("nodeos|probe|chain|");
	a->message = xstrdup(message);
	a->value = xstrdup("12.5");
	return (a);
}

static void
test_tpl_url(void **state)
{
	struct alert	*a = mk_alert(7, "head stalled & lib 5/6 #x");
	char		*s;

	(void)state;
	s = tpl_expand("http://gw/send?content={message}【签名】&id={id}&x=a b#",
	    ESC_URL, a, NULL);
	assert_string_equal(s, "http://gw/send?content=head%20stalled%20%26%20"
	    "lib%205%2F6%20%23x%E3%80%90%E7%AD%BE%E5%90%8D%E3%80%91&id=7&"
	    "x=a%20b%23");
	free(s);
	s = tpl_expand("http://gw/?p={secret}&h={host}", ESC_URL, a, "p&w d");
	assert_string_equal(s, "http://gw/?p=p%26w%20d&h=bp1");
	free(s);
	alert_free(a);
}

static void
test_tpl_json(void **state)
{
	struct alert	*a = mk_alert(8, "say \"hi\" \\ and\nbye\t\x01");
	char		*s;
	json_t		*j;

	(void)state;
	s = tpl_expand("{\"text\": \"{message}\", \"sev\": \"{severity}\", "
	    "\"n\": {id}}", ESC_JSON, a, NULL);
	assert_string_equal(s, "{\"text\": \"say \\\"hi\\\" \\\\ and\\nbye"
	    "\\t\\u0001\", \"sev\": \"critical\", \"n\": 8}");
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "text")),
	    "say \"hi\" \\ and\nbye\t\x01");
	json_decref(j);
	free(s);
	/* {{ and }} are literal braces; an unknown name stays as is. */
	s = tpl_expand("{{id}} {nosuch} {program}", ESC_NONE, a, NULL);
	assert_string_equal(s, "{id} {nosuch} nodeos");
	free(s);
	/* Headers lose line breaks. */
	s = tpl_expand("X: {message}", ESC_HEADER, a, NULL);
	assert_null(strchr(s, '\n'));
	free(s);
	alert_free(a);
}

static void
test_tpl_fields(void **state)
{
	struct alert	*a = mk_alert(9, "m");
	char		*s;

	(void)state;
	a->carried = 3;
	s = tpl_expand("{host}|{program}|{event}|{rule}|{value}|{kind}|"
	    "{suppressed}|{unixtime}", ESC_NONE, a, NULL);
	assert_string_equal(s, "bp1|nodeos|probe|chain|12.5|alert|3|"
	    "1700000000");
	free(s);
	s = tpl_expand("{title}", ESC_NONE, a, NULL);
	assert_string_equal(s, "[CRITICAL] bp1: nodeos probe chain");
	free(s);
	a->kind = ALERT_RESOLVED;
	s = tpl_expand("{title}", ESC_NONE, a, NULL);
	assert_string_equal(s, "[RESOLVED] bp1: nodeos probe chain");
	free(s);
	alert_free(a);
}

static void
test_tpl_check(void **state)
{
	char	*err;

	(void)state;
	assert_int_equal(tpl_check("a {message} {{b}} {\"x\": 1}", 0, &err),
	    0);
	assert_null(err);
	assert_int_equal(tpl_check("a {mesage}", 0, &err), -1);
	assert_non_null(strstr(err, "unknown placeholder {mesage}"));
	free(err);
	assert_int_equal(tpl_check("p={secret}", 0, &err), -1);
	assert_non_null(strstr(err, "{secret} needs secret_file"));
	free(err);
	assert_int_equal(tpl_check("p={secret}", 1, &err), 0);
}

static void
pred(const char *yaml_json, struct success_pred *sp)
{
	json_t	*o = json_loads(yaml_json, 0, NULL);
	char	*err = NULL;

	assert_non_null(o);
	if (success_parse(o, sp, &err) != 0)
		fail_msg("success_parse(%s): %s", yaml_json, err);
	json_decref(o);
}

/* success_check() of a body given as a C string. */
static int
chk(const struct success_pred *sp, long status, const char *body, char *why,
    size_t len)
{
	return (success_check(sp, status, body, strlen(body), why, len));
}

static void
test_success(void **state)
{
	struct success_pred	 sp;
	char			 why[200];
	json_t			*o;
	char			*err = NULL;

	(void)state;
	/* No predicate: any 2xx. */
	memset(&sp, 0, sizeof(sp));
	assert_true(chk(&sp, 204, "", why, sizeof(why)));
	assert_false(chk(&sp, 500, "", why, sizeof(why)));
	assert_string_equal(why, "HTTP 500");
	/* ipyy: status 200 and returnstatus Success. */
	pred("{\"status\": 200, \"json\": {\"pointer\": \"/returnstatus\", "
	    "\"equals\": \"Success\"}}", &sp);
	assert_true(chk(&sp, 200, "{\"returnstatus\":\"Success\"}", why,
	    sizeof(why)));
	assert_false(chk(&sp, 200, "{\"returnstatus\":\"Faild\","
	    "\"message\":\"x\"}", why, sizeof(why)));
	assert_non_null(strstr(why, "/returnstatus is Faild, not Success"));
	assert_false(chk(&sp, 201, "{\"returnstatus\":\"Success\"}", why,
	    sizeof(why)));
	assert_false(chk(&sp, 200, "<html>", why, sizeof(why)));
	assert_non_null(strstr(why, "not JSON"));
	assert_false(chk(&sp, 200, "{}", why, sizeof(why)));
	assert_non_null(strstr(why, "has no /returnstatus"));
	success_free(&sp);
	/* errcode 0 equals "0"; a list of statuses; nested pointers. */
	pred("{\"status\": [200, 202], \"json\": {\"pointer\": \"/r/0/code\", "
	    "\"equals\": 0}}", &sp);
	assert_true(chk(&sp, 202, "{\"r\":[{\"code\":\"0\"}]}", why,
	    sizeof(why)));
	assert_true(chk(&sp, 200, "{\"r\":[{\"code\":0}]}", why, sizeof(why)));
	assert_false(chk(&sp, 200, "{\"r\":[{\"code\":45009}]}", why,
	    sizeof(why)));
	success_free(&sp);
	/* Aliyun: Code OK. */
	pred("{\"json\": {\"pointer\": \"/Code\", \"equals\": \"OK\"}}", &sp);
	assert_true(chk(&sp, 200, "{\"Code\":\"OK\"}", why, sizeof(why)));
	success_free(&sp);
	/* Bad predicates. */
	o = json_loads("{\"status\": \"200\"}", 0, NULL);
	assert_int_equal(success_parse(o, &sp, &err), -1);
	assert_non_null(strstr(err, "success.status"));
	free(err);
	json_decref(o);
	o = json_loads("{\"json\": {\"pointer\": \"x\", \"equals\": 1}}", 0,
	    NULL);
	assert_int_equal(success_parse(o, &sp, &err), -1);
	assert_non_null(strstr(err, "must start with /"));
	free(err);
	json_decref(o);
	success_free(&sp);
	o = json_loads("{\"statuss\": 200}", 0, NULL);
	assert_int_equal(success_parse(o, &sp, &err), -1);
	assert_non_null(strstr(err, "unknown key \"statuss\""));
	free(err);
	json_decref(o);
}

static void
test_json_pointer(void **state)
{
	json_t	*doc;

	(void)state;
	doc = json_loads("{\"a/b\": {\"m~n\": [10, 20]}, \"\": 1}", 0, NULL);
	assert_int_equal(json_integer_value(json_pointer_get(doc,
	    "/a~1b/m~0n/1")), 20);
	assert_int_equal(json_integer_value(json_pointer_get(doc, "/")), 1);
	assert_ptr_equal(json_pointer_get(doc, ""), doc);
	assert_null(json_pointer_get(doc, "/a~1b/m~0n/2"));
	assert_null(json_pointer_get(doc, "/a~1b/m~0n/x"));
	assert_null(json_pointer_get(doc, "/a~1b/m~0n/-1"));
	assert_null(json_pointer_get(doc, "/a~1b/m~0n/"));
	assert_null(json_pointer_get(doc, "a~1b"));
	assert_null(json_pointer_get(doc, "/nosuch/x"));
	json_decref(doc);
}

static void
test_url_redact(void **state)
{
	char	*u;

	(void)state;
	/* Scrubbing secrets out of text: test_secret.c. */
	u = url_redact("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?"
	    "key=693a91f6-7xxx");
	assert_string_equal(u, "https://qyapi.weixin.qq.com/...(redacted)");
	free(u);
	u = url_redact("http://user:pw@127.0.0.1:8080/x?y");
	assert_string_equal(u, "http://127.0.0.1:8080/...(redacted)");
	free(u);
}

static void
test_render_batch(void **state)
{
	struct alert	*v[4];
	char		*s;
	json_t		*j;
	size_t		 taken, i;

	(void)state;
	for (i = 0; i < 4; i++)
		v[i] = mk_alert(i + 1, "a message of some length, 40 bytes..");
	s = alert_render_batch(v, 4, FORMAT_TEXT, 100000, &taken);
	assert_int_equal(taken, 4);
	assert_true(strncmp(s, "4 alerts:\n\n", 11) == 0);
	for (i = 1; i <= 4; i++) {
		char	 id[16];

		snprintf(id, sizeof(id), "alert #%zu", i);
		assert_non_null(strstr(s, id));
	}
	free(s);
	/* Only whole alerts, and the count says how many. */
	s = alert_render_batch(v, 4, FORMAT_TEXT, 250, &taken);
	assert_int_equal(taken, 2);
	assert_true(strlen(s) <= 250);
	assert_true(strncmp(s, "2 alerts:\n\n", 11) == 0);
	assert_null(strstr(s, "alert #3"));
	free(s);
	/* One alert too big is cut, on a UTF-8 boundary. */
	free(v[0]->message);
	v[0]->message = xstrdup("告警告警告警告警告警告警告警告警");
	s = alert_render_batch(v, 1, FORMAT_TEXT, 40, &taken);
	assert_int_equal(taken, 1);
	assert_true(strlen(s) <= 40);
	j = json_string(s);		/* valid UTF-8 */
	assert_non_null(j);
	json_decref(j);
	free(s);
	/* Markdown quotes the message, HTML escapes it. */
	free(v[1]->message);
	v[1]->message = xstrdup("a <b> & c\nsecond line");
	v[1]->carried = 2;
	v[1]->carried_since = 1700000000;
	s = alert_render(v[1], FORMAT_MARKDOWN);
	assert_non_null(strstr(s, "<font color=\"warning\">[CRITICAL] bp1: "
	    "nodeos probe chain</font>"));
	assert_non_null(strstr(s, "\n> a <b> & c\n> second line"));
	assert_non_null(strstr(s, "(2 repeats suppressed since "));
	free(s);
	s = alert_render(v[1], FORMAT_HTML);
	assert_non_null(strstr(s, "a &lt;b&gt; &amp; c"));
	free(s);
	for (i = 0; i < 4; i++)
		alert_free(v[i]);
}

static void
test_alert_json(void **state)
{
	struct alert	*a = mk_alert(42, "m"), *b;
	json_t		*j;
	char		*err;

	(void)state;
	a->resolve_on = xstrdup("probe:chain");
	a->carried = 4;
	a->carried_since = 1699999000;
	a->deliv = xcalloc(2, sizeof(*a->deliv));
	a->ndeliv = 2;
	a->deliv[0].sink = xstrdup("wecom");
	a->deliv[0].state = DELIV_QUEUED;
	a->deliv[1].sink = xstrdup("sms");
	a->deliv[1].state = DELIV_FAILED;
	a->deliv[1].attempts = 9;
	a->deliv[1].done = 1700000100;
	snprintf(a->deliv[1].error, sizeof(a->deliv[1].error), "HTTP 500");
	j = alert_to_json(a);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j,
	    "sinks"), "wecom")), "queued");
	b = alert_from_json(j, &err);
	assert_non_null(b);
	assert_int_equal(b->id, 42);
	assert_int_equal(b->time, 1700000000);
	assert_int_equal(b->kind, ALERT_RAISE);
	assert_int_equal(b->severity, ALERT_CRITICAL);
	assert_string_equal(b->program, "nodeos");
	assert_string_equal(b->key, "nodeos|probe|chain|");
	assert_string_equal(b->resolve_on, "probe:chain");
	assert_int_equal(b->carried, 4);
	assert_int_equal(b->ndeliv, 2);
	assert_string_equal(b->deliv[1].sink, "sms");
	assert_int_equal(b->deliv[1].state, DELIV_FAILED);
	assert_int_equal(b->deliv[1].attempts, 9);
	assert_string_equal(b->deliv[1].error, "HTTP 500");
	json_decref(j);
	alert_free(b);
	/* Broken records are refused with a reason. */
	j = json_loads("{\"t\":\"alert\",\"id\":3,\"time\":1,\"kind\":\"x\","
	    "\"severity\":\"info\"}", 0, NULL);
	assert_null(alert_from_json(j, &err));
	assert_non_null(strstr(err, "unknown kind"));
	free(err);
	json_decref(j);
	j = json_loads("{\"t\":\"alert\",\"time\":1}", 0, NULL);
	assert_null(alert_from_json(j, &err));
	free(err);
	json_decref(j);
	alert_free(a);
}

static void
collect_cb(json_t *rec, void *arg)
{
	json_array_append((json_t *)arg, rec);
}

static off_t
file_size(const char *path)
{
	struct stat	 st;

	return (stat(path, &st) == 0 ? st.st_size : -1);
}

static void
write_file(const char *path, const char *s)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void
test_outbox_file(void **state)
{
	char	 path[512];
	json_t	*recs;
	FILE	*f;
	char	 line[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/outbox.jsonl", tmpdir);
	/* Two good records, a bad line, and a torn tail. */
	write_file(path, "{\"t\":\"sent\",\"sink\":\"a\",\"ids\":[1]}\n"
	    "not json\n"
	    "{\"t\":\"sent\",\"sink\":\"b\",\"ids\":[2]}\n"
	    "{\"t\":\"alert\",\"id\":3,\"ti");
	recs = json_array();
	assert_int_equal(outbox_open(tmpdir, collect_cb, recs), 0);
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    recs, 1), "sink")), "b");
	json_decref(recs);
	/* The torn tail is gone; the next record has a line of its own. */
	assert_int_equal(file_size(path), 34 + 9 + 34);
	assert_int_equal(outbox_append(json_pack("{s:s,s:s}", "t", "sent",
	    "sink", "c"), 1), 0);
	assert_int_equal(outbox_size(), file_size(path));
	outbox_close();
	recs = json_array();
	assert_int_equal(outbox_open(tmpdir, collect_cb, recs), 0);
	assert_int_equal(json_array_size(recs), 3);
	json_decref(recs);
	/* A rewrite replaces everything, atomically. */
	recs = json_pack("[{s:s},{s:s}]", "t", "x", "t", "y");
	assert_int_equal(outbox_rewrite(recs), 0);
	json_decref(recs);
	assert_int_equal(outbox_append(json_pack("{s:s}", "t", "z"), 0), 0);
	outbox_close();
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "{\"t\":\"x\"}\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "{\"t\":\"z\"}\n");
	fclose(f);
	unlink(path);
}

struct errs {
	char	 buf[4096];
	size_t	 len;
};

static void
err_cb(void *arg, const char *path, const char *msg)
{
	struct errs	*e = arg;

	e->len += (size_t)snprintf(e->buf + e->len, sizeof(e->buf) - e->len,
	    "%s: %s\n", path, msg);
}

static struct alerts_config *
parse(const char *js, struct errs *e)
{
	json_t			*o = json_loads(js, 0, NULL);
	struct alerts_config	*ac;

	if (o == NULL)
		fail_msg("bad JSON in the test: %s", js);
	memset(e, 0, sizeof(*e));
	ac = alerts_config_parse(o, err_cb, e);
	json_decref(o);
	return (ac);
}

static void
test_config(void **state)
{
	struct alerts_config	*ac;
	struct errs		 e;
	char			 js[2048], key[600];

	(void)state;
	ac = parse("{}", &e);
	assert_non_null(ac);
	assert_int_equal(ac->throttle_ms, 30 * 60 * 1000);
	assert_int_equal(ac->max_age_ms, 24 * 3600 * 1000);
	assert_int_equal(ac->retry_initial_ms, 5000);
	assert_int_equal(ac->retry_max_ms, 300000);
	assert_int_equal(ac->resolved, 1);
	alerts_config_free(ac);
	/* Every key after retry is read too, as etc/alerts.yaml orders them. */
	ac = parse("{\"retry\": {\"initial\": \"2s\", \"max\": \"1m\"}, "
	    "\"max_age\": \"1h\", \"resolved\": false, \"throttle\": "
	    "\"10m\", \"host\": \"bp9\"}", &e);
	assert_non_null(ac);
	assert_int_equal(ac->retry_initial_ms, 2000);
	assert_int_equal(ac->retry_max_ms, 60000);
	assert_int_equal(ac->max_age_ms, 3600 * 1000);
	assert_int_equal(ac->resolved, 0);
	assert_int_equal(ac->throttle_ms, 10 * 60 * 1000);
	assert_string_equal(ac->host, "bp9");
	alerts_config_free(ac);
	ac = parse("{\"retry\": {\"initial\": \"2s\"}, \"colour\": 1}", &e);
	assert_null(ac);
	assert_non_null(strstr(e.buf, "colour: unknown key"));
	/* Every error, each with its path. */
	ac = parse("{\"throttel\": 1, \"sinks\": {\"a\": {\"kind\": "
	    "\"carrier-pigeon\"}, \"b\": {\"kind\": \"http\", \"url\": "
	    "\"ftp://x\"}, \"c\": {\"kind\": \"http\", \"url\": "
	    "\"http://x/{mesage}\"}}, \"routes\": [{\"sinks\": [\"nosuch\"]}, "
	    "{\"event\": \"exploded\", \"sinks\": \"c\"}, {\"severity\": "
	    "\"panic\", \"sinks\": [\"c\"]}], \"summary\": {\"hours\": [25]}}",
	    &e);
	assert_null(ac);
	assert_non_null(strstr(e.buf, "throttel: unknown key "
	    "\"throttel\""));
	assert_non_null(strstr(e.buf, "sinks/a/kind: sink a: unknown kind"));
	assert_non_null(strstr(e.buf, "sinks/b/url: sink b (http): url must "
	    "start with http://"));
	assert_non_null(strstr(e.buf, "sinks/c/url: sink c (http): url: "
	    "unknown placeholder {mesage}"));
	assert_non_null(strstr(e.buf, "routes/0/sinks: no sink named "
	    "\"nosuch\""));
	assert_non_null(strstr(e.buf, "routes/1/event: unknown event "
	    "\"exploded\""));
	assert_non_null(strstr(e.buf, "routes/2/severity: severity must be"));
	assert_non_null(strstr(e.buf, "summary/hours: hours must be"));
	/* A secret file open to others is refused; a missing one is not. */
	snprintf(key, sizeof(key), "%s/robot.key", tmpdir);
	write_file(key, "k\n");
	chmod(key, 0640);
	snprintf(js, sizeof(js), "{\"sinks\": {\"w\": {\"kind\": "
	    "\"wecom-robot\", \"key_file\": \"%s\"}}}", key);
	ac = parse(js, &e);
	assert_null(ac);
	assert_non_null(strstr(e.buf, "sinks/w/key_file: sink w "
	    "(wecom-robot): "));
	assert_non_null(strstr(e.buf, "open to its group or others (mode "
	    "0640)"));
	chmod(key, 0600);
	ac = parse(js, &e);
	assert_non_null(ac);
	assert_int_equal(ac->nsinks, 1);
	assert_int_equal(ac->sinks[0]->rate_limit, 20);
	assert_int_equal(ac->sinks[0]->rate_window_ms, 60000);
	alerts_config_free(ac);
	unlink(key);
	ac = parse(js, &e);
	assert_non_null(ac);
	alerts_config_free(ac);
	snprintf(js, sizeof(js), "{\"sinks\": {\"w\": {\"kind\": "
	    "\"wecom-robot\", \"key_file\": \"%s\", \"url_file\": \"%s\"}}}",
	    key, key);
	ac = parse(js, &e);
	assert_null(ac);
	assert_non_null(strstr(e.buf, "give key_file"));
}

static void
test_summary_next(void **state)
{
	int		 hours[] = { 19, 7 };
	struct tm	 tm;
	time_t		 t, n;

	(void)state;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2024 - 1900;
	tm.tm_mon = 4;
	tm.tm_mday = 1;
	tm.tm_hour = 6;
	tm.tm_min = 30;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	n = summary_next(t, hours, 2);
	localtime_r(&n, &tm);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_hour, 7);
	assert_int_equal(tm.tm_min, 0);
	/* At 07:00:00 sharp the next one is 19:00. */
	n = summary_next(n, hours, 2);
	localtime_r(&n, &tm);
	assert_int_equal(tm.tm_hour, 19);
	/* After the last hour of the day: tomorrow's first. */
	n = summary_next(n + 3600, hours, 2);
	localtime_r(&n, &tm);
	assert_int_equal(tm.tm_mday, 2);
	assert_int_equal(tm.tm_hour, 7);
	assert_int_equal(summary_next(t, hours, 0), 0);
}

/*
 * An outbox read back: an alert accepted by one sink and not the other is
 * resumed for the other only; one failed stays failed; a suppressed one
 * counts toward the next alert of its kind.
 */
static void
test_replay(void **state)
{
	char			 path[512], key[600], js[2048];
	struct alerts_config	*ac;
	struct errs		 e;
	json_t			*st, *a;
	FILE			*f;

	(void)state;
	snprintf(key, sizeof(key), "%s/pw", tmpdir);
	write_file(key, "pw\n");
	chmod(key, 0600);
	snprintf(path, sizeof(path), "%s/outbox.jsonl", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"t\":\"alert\",\"id\":1,\"time\":%lld,\"kind\":\"alert\","
	    "\"severity\":\"critical\",\"program\":\"p\",\"event\":\"fatal\","
	    "\"key\":\"p|fatal||\",\"message\":\"m1\",\"resolve_on\":"
	    "\"running\",\"sinks\":{\"a\":"
	    "\"queued\",\"b\":\"queued\"}}\n", (long long)time(NULL));
	fprintf(f, "{\"t\":\"sent\",\"sink\":\"a\",\"ids\":[1],\"time\":5}\n");
	fprintf(f, "{\"t\":\"alert\",\"id\":2,\"time\":%lld,\"kind\":\"test\","
	    "\"severity\":\"info\",\"message\":\"m2\",\"sinks\":{\"a\":"
	    "\"queued\"}}\n", (long long)time(NULL));
	fprintf(f, "{\"t\":\"failed\",\"sink\":\"a\",\"ids\":[2],\"time\":6,"
	    "\"error\":\"too old\"}\n");
	fprintf(f, "{\"t\":\"alert\",\"id\":3,\"time\":%lld,\"kind\":\"alert\","
	    "\"severity\":\"critical\",\"program\":\"p\",\"event\":\"fatal\","
	    "\"key\":\"p|fatal||\",\"message\":\"m3\",\"suppressed\":true}\n",
	    (long long)time(NULL));
	fclose(f);
	snprintf(js, sizeof(js), "{\"throttle\": \"1h\", \"sinks\": {\"a\": "
	    "{\"kind\": \"http\", \"url\": \"http://127.0.0.1:9/\"}, \"b\": "
	    "{\"kind\": \"exec\", \"command\": \"true\"}}}");
	ac = parse(js, &e);
	assert_non_null(ac);
	assert_int_equal(alerts_start(tmpdir, &ac), 0);
	assert_null(ac);
	st = alerts_status_json(10);
	assert_int_equal(json_array_size(json_object_get(st, "alerts")), 3);
	a = json_array_get(json_object_get(st, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "deliveries"), 0), "state")), "sent");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "deliveries"), 1), "state")), "queued");
	a = json_array_get(json_object_get(st, "alerts"), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "deliveries"), 0), "state")), "failed");
	a = json_array_get(json_object_get(st, "alerts"), 2);
	assert_true(json_is_true(json_object_get(a, "suppressed")));
	/* Sink b has the one alert a did not take; the incident is open. */
	a = json_array_get(json_object_get(st, "sinks"), 1);
	assert_string_equal(json_string_value(json_object_get(a, "name")), "b");
	assert_int_equal(json_integer_value(json_object_get(a, "queued")), 1);
	a = json_array_get(json_object_get(st, "sinks"), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "queued")), 0);
	assert_int_equal(json_array_size(json_object_get(st, "open")), 1);
	json_decref(st);
	alerts_stop();
	unlink(path);
	unlink(key);
}

/* The number of the open incidents and sink a's queue, from the status. */
static void
replay_state(size_t *open, json_int_t *queued, size_t *nalerts)
{
	json_t	*st;

	st = alerts_status_json(1000);
	*open = json_array_size(json_object_get(st, "open"));
	*queued = json_integer_value(json_object_get(json_array_get(
	    json_object_get(st, "sinks"), 0), "queued"));
	*nalerts = json_array_size(json_object_get(st, "alerts"));
	json_decref(st);
}

/*
 * A big outbox is rewritten at start with what is still needed: the
 * pending alert, the last 200, and the state of throttling and of the
 * open incident, which a second start reads back the same.
 */
static void
test_compaction(void **state)
{
	char			 path[512], js[256], line[512];
	struct alerts_config	*ac;
	struct errs		 e;
	FILE			*f;
	off_t			 before;
	size_t			 open, n, i;
	json_int_t		 queued;
	long long		 now = (long long)time(NULL);
	int			 key_seen = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/outbox.jsonl", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 1; i <= 400; i++)
		fprintf(f, "{\"t\":\"alert\",\"id\":%zu,\"time\":%lld,"
		    "\"kind\":\"alert\",\"severity\":\"warning\",\"program\":"
		    "\"p\",\"event\":\"probe\",\"rule\":\"x\",\"key\":"
		    "\"p|probe|x|\",\"message\":\"probe x is failing: a "
		    "reason long enough to make the outbox grow past its "
		    "limit\",\"resolve_on\":\"probe:x\",\"sinks\":{\"a\":"
		    "\"sent\"}}\n", i, now - 3600 + (long long)i);
	for (i = 401; i <= 403; i++)
		fprintf(f, "{\"t\":\"alert\",\"id\":%zu,\"time\":%lld,"
		    "\"kind\":\"alert\",\"severity\":\"warning\",\"program\":"
		    "\"p\",\"event\":\"probe\",\"rule\":\"x\",\"key\":"
		    "\"p|probe|x|\",\"message\":\"again\",\"suppressed\":true}"
		    "\n", i, now);
	fprintf(f, "{\"t\":\"alert\",\"id\":404,\"time\":%lld,\"kind\":"
	    "\"test\",\"severity\":\"info\",\"message\":\"pending\","
	    "\"sinks\":{\"a\":\"queued\"}}\n", now);
	fclose(f);
	before = file_size(path);
	assert_true(before > 64 * 1024);
	snprintf(js, sizeof(js), "{\"sinks\": {\"a\": {\"kind\": \"exec\", "
	    "\"command\": \"true\"}}}");
	ac = parse(js, &e);
	assert_int_equal(alerts_start(tmpdir, &ac), 0);
	assert_true(file_size(path) < before * 2 / 3);
	replay_state(&open, &queued, &n);
	assert_int_equal(open, 1);
	assert_int_equal(queued, 1);
	assert_int_equal(n, 200);
	alerts_stop();
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "\"t\":\"key\"") != NULL &&
		    strstr(line, "\"suppressed\":3") != NULL &&
		    strstr(line, "\"open\":true") != NULL)
			key_seen = 1;
	fclose(f);
	assert_true(key_seen);
	/* Read back again: the same. */
	ac = parse(js, &e);
	assert_int_equal(alerts_start(tmpdir, &ac), 0);
	replay_state(&open, &queued, &n);
	assert_int_equal(open, 1);
	assert_int_equal(queued, 1);
	assert_int_equal(n, 200);
	alerts_stop();
	unlink(path);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

static int
setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");

	(void)state;
	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/ck-test-alerts.XXXXXX", tmp);
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	ev_default_loop(0);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpl_url),
		cmocka_unit_test(test_tpl_json),
		cmocka_unit_test(test_tpl_fields),
		cmocka_unit_test(test_tpl_check),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_json_pointer),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_render_batch),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_outbox_file),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_summary_next),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_compaction),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
