/*
 * Unit tests for the metrics module: Prometheus label, help and value
 * formatting; InfluxDB line-protocol escaping; eoskeeper's lpbt text; the
 * metrics: section (listen addresses, loopback rule, influxdb and
 * eoskeeper keys, secrets kept out of the JSON); the /metrics page and the
 * pushed points of programs with probes, checked line by line; the status
 * page's HTML escaping.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "config.h"
#include "metrics.h"
#include "probe.h"
#include "program.h"
#include "util.h"

static char	 tmpdir[] = "/tmp/ck-test-metrics.XXXXXX";

/* The text being checked (b.s) has this substring. */
#define HAS(sub)	assert_non_null(strstr(b.s, (sub)))

static char *
label(const char *in)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	prom_escape_label(&b, in);
	if (b.s == NULL)
		buf_adds(&b, "");
	return (b.s);
}

static void
test_prom_escape(void **state)
{
	struct buf	 b;
	char		*s;

	(void)state;
	s = label("plain");
	assert_string_equal(s, "plain");
	free(s);
	s = label("a\"b\\c\nd");
	assert_string_equal(s, "a\\\"b\\\\c\\nd");
	free(s);
	s = label("");
	assert_string_equal(s, "");
	free(s);
	s = label("\\\\\"\"\n");
	assert_string_equal(s, "\\\\\\\\\\\"\\\"\\n");
	free(s);
	s = label("节点 ok");
	assert_string_equal(s, "节点 ok");
	free(s);

	memset(&b, 0, sizeof(b));
	prom_escape_help(&b, "a \"quoted\" \\ help\nline");
	assert_string_equal(b.s, "a \"quoted\" \\\\ help\\nline");
	buf_free(&b);
}

static void
test_prom_value(void **state)
{
	char	 buf[40];

	(void)state;
	prom_format_value(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	prom_format_value(buf, sizeof(buf), -3);
	assert_string_equal(buf, "-3");
	prom_format_value(buf, sizeof(buf), 123456789012);
	assert_string_equal(buf, "123456789012");
	prom_format_value(buf, sizeof(buf), 0.1);
	assert_string_equal(buf, "0.1");
	prom_format_value(buf, sizeof(buf), 2.5);
	assert_string_equal(buf, "2.5");
	prom_format_value(buf, sizeof(buf), 1e20);
	assert_string_equal(buf, "1e+20");
	prom_format_value(buf, sizeof(buf), 1.0 / 3.0);
	assert_true(strtod(buf, NULL) == 1.0 / 3.0);
	prom_format_value(buf, sizeof(buf), NAN);
	assert_string_equal(buf, "NaN");
	prom_format_value(buf, sizeof(buf), INFINITY);
	assert_string_equal(buf, "+Inf");
	prom_format_value(buf, sizeof(buf), -INFINITY);
	assert_string_equal(buf, "-Inf");
}

typedef void (*esc_fn)(struct buf *, const char *);

static void
check_esc(esc_fn f, const char *in, const char *want)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	f(&b, in);
	if (b.s == NULL)
		buf_adds(&b, "");
	assert_string_equal(b.s, want);
	buf_free(&b);
}

static void
test_lp_escape(void **state)
{
	struct buf	 b;

	(void)state;
	check_esc(lp_escape_measurement, "cpu load,x=1", "cpu\\ load\\,x=1");
	check_esc(lp_escape_measurement, "eosbpinfo", "eosbpinfo");
	check_esc(lp_escape_key, "a b,c=d", "a\\ b\\,c\\=d");
	check_esc(lp_escape_key, "hbn/当前块", "hbn/当前块");
	check_esc(lp_escape_key, "line\nbreak\ttab", "line\\ break\\ tab");
	/* A trailing backslash must not escape the separator after it. */
	check_esc(lp_escape_key, "dir\\", "dir\\\\");
	check_esc(lp_escape_key, "a\\b", "a\\b");
	check_esc(lp_escape_string, "say \"hi\" \\ now",
	    "\"say \\\"hi\\\" \\\\ now\"");
	check_esc(lp_escape_string, "two\nlines\r", "\"two lines \"");
	check_esc(lp_escape_string, "", "\"\"");
	check_esc(lp_escape_string, "10秒前", "\"10秒前\"");
	memset(&b, 0, sizeof(b));
	lp_format_float(&b, 19876);
	buf_adds(&b, " ");
	lp_format_float(&b, 0.25);
	assert_string_equal(b.s, "19876 0.25");
	buf_free(&b);
}

static void
test_lpbt(void **state)
{
	char	 buf[64];
	int64_t	 now = 1700000000;

	(void)state;
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, 0);
	assert_string_equal(buf, "~");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now);
	assert_string_equal(buf, "0秒前");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now - 10);
	assert_string_equal(buf, "10秒前");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now - 150);
	assert_string_equal(buf, "150秒前");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now - 151);
	assert_string_equal(buf, "2分钟前");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now - 3600);
	assert_string_equal(buf, "60分钟前");
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now - 3601);
	assert_string_equal(buf, "~");
	/* A clock step back is "0秒前", not negative. */
	influx_eoskeeper_lpbt(buf, sizeof(buf), now, now + 5);
	assert_string_equal(buf, "0秒前");
}

static void
check_listen(const char *in, const char *want)
{
	struct metrics_config	 mc;
	char			*err = NULL;

	memset(&mc, 0, sizeof(mc));
	if (want == NULL) {
		assert_int_equal(metrics_parse_listen(in, &mc, &err), -1);
		assert_non_null(err);
		free(err);
		assert_null(mc.listen);
		return;
	}
	if (metrics_parse_listen(in, &mc, &err) != 0)
		fail_msg("%s: %s", in, err);
	assert_string_equal(mc.listen, want);
	free(mc.listen);
}

static void
test_listen(void **state)
{
	(void)state;
	check_listen("9150", "127.0.0.1:9150");
	check_listen("127.0.0.1:9150", "127.0.0.1:9150");
	check_listen("localhost:80", "127.0.0.1:80");
	check_listen(":81", "127.0.0.1:81");
	check_listen("[::1]:9150", "[::1]:9150");
	check_listen("0.0.0.0:1", "0.0.0.0:1");
	check_listen("10.1.2.3:65535", "10.1.2.3:65535");
	check_listen("127.0.0.1:0", NULL);
	check_listen("127.0.0.1:65536", NULL);
	check_listen("127.0.0.1:", NULL);
	check_listen("127.0.0.1:9x", NULL);
	check_listen("example.com:80", NULL);
	check_listen("::1:80", NULL);
	check_listen("[::1]80", NULL);
	check_listen("[::1", NULL);
	check_listen("[not-v6]:80", NULL);
	check_listen("", NULL);
	check_listen("-1", NULL);
}

/* Parse YAML-ish JSON text as the metrics: section. */
static struct metrics_config *
parse(const char *text, const char **key, char **err)
{
	json_t			*j;
	json_error_t		 je;
	struct metrics_config	*mc;

	if ((j = json_loads(text, JSON_DECODE_ANY, &je)) == NULL)
		fail_msg("bad JSON in test: %s: %s", text, je.text);
	mc = metrics_config_parse(j, key, err);
	json_decref(j);
	return (mc);
}

/* The text must fail, naming key (or NULL) and with err matching sub. */
static void
parse_fails(const char *text, const char *key, const char *sub)
{
	const char		*k = NULL;
	char			*err = NULL;
	struct metrics_config	*mc;

	mc = parse(text, &k, &err);
	if (mc != NULL)
		fail_msg("accepted: %s", text);
	assert_non_null(err);
	if (key == NULL)
		assert_null(k);
	else {
		assert_non_null(k);
		assert_string_equal(k, key);
	}
	if (strstr(err, sub) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", text, err, sub);
	free(err);
}

static void
test_config(void **state)
{
	struct metrics_config	*mc;
	const char		*k;
	char			*err, path[256], *s;
	json_t			*j;
	FILE			*f;

	(void)state;
	mc = parse("null", &k, &err);
	assert_non_null(mc);
	assert_null(mc->listen);
	assert_null(mc->influx);
	assert_int_equal(mc->refresh_ms, 5000);
	metrics_config_free(mc);

	mc = parse("{\"listen\": 9150}", &k, &err);
	assert_non_null(mc);
	assert_string_equal(mc->listen, "127.0.0.1:9150");
	metrics_config_free(mc);

	parse_fails("[1]", NULL, "must be a map");
	parse_fails("{\"bogus\": 1}", "bogus", "unknown");
	parse_fails("{\"listen\": \"0.0.0.0:9150\"}", "listen",
	    "allow_remote");
	parse_fails("{\"listen\": \"[::]:9150\"}", "listen", "allow_remote");
	parse_fails("{\"listen\": true}", "listen", "PORT");
	parse_fails("{\"listen\": 70000}", "listen", "65535");
	parse_fails("{\"refresh\": \"500ms\"}", "refresh", "1s");
	parse_fails("{\"allow_remote\": \"yes\"}", "allow_remote",
	    "true or false");
	mc = parse("{\"listen\": \"0.0.0.0:9150\", \"allow_remote\": true,"
	    "\"refresh\": 0}", &k, &err);
	assert_non_null(mc);
	assert_int_equal(mc->refresh_ms, 0);
	metrics_config_free(mc);

	parse_fails("{\"influxdb\": 1}", "influxdb", "must be a map");
	parse_fails("{\"influxdb\": {}}", "influxdb.url", "url is required");
	parse_fails("{\"influxdb\": {\"url\": \"ftp://x/\"}}", "influxdb.url",
	    "http://");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"interval\": "
	    "\"100ms\"}}", "influxdb.interval", "at least 1s");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"bogus\": 1}}",
	    "influxdb.bogus", "unknown");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"user\": "
	    "\"u\"}}", "influxdb.password_file", "together");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"buffer\": 1}}",
	    "influxdb.buffer", "between");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"measurement\": "
	    "\"_bad\"}}", "influxdb.measurement", "not a valid");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"eoskeeper\": "
	    "{\"program\": \"nodeos\"}}}", "influxdb.eoskeeper.role",
	    "role is required");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"eoskeeper\": "
	    "{\"program\": \"nodeos\", \"role\": \"A\"}}}",
	    "influxdb.eoskeeper.role", "bp");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"eoskeeper\": "
	    "{\"program\": \"n\", \"role\": \"fn\", \"produced_probe\": "
	    "\"p\"}}}", "influxdb.eoskeeper.produced_probe", "full node");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"eoskeeper\": "
	    "[{\"program\": \"n\", \"role\": \"bp\"}, 3]}}",
	    "influxdb.eoskeeper.", "must be a map");
	parse_fails("{\"influxdb\": {\"url\": \"http://x/\", \"user\": \"u\", "
	    "\"password_file\": \"/nonexistent/pw\"}}",
	    "influxdb.password_file", "cannot open");

	/* A password from a file never reaches the JSON, nor a URL's p=. */
	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("s3cr3t-pw\n", f);
	fclose(f);
	chmod(path, 0644);
	xasprintf(&s, "{\"influxdb\": {\"url\": \"http://x/\", \"user\": "
	    "\"u\", \"password_file\": \"%s\"}}", path);
	parse_fails(s, "influxdb.password_file", "chmod 600");
	free(s);
	chmod(path, 0600);
	xasprintf(&s, "{\"influxdb\": {\"url\": \"http://me:pw@127.0.0.1:8086"
	    "/write?db=eosdb&p=hunter2&precision=s\", \"user\": \"chain\", "
	    "\"password_file\": \"%s\", \"eoskeeper\": {\"program\": "
	    "\"nodeos\", \"role\": \"bp\", \"produced_probe\": "
	    "\"produced\"}}}", path);
	mc = parse(s, &k, &err);
	free(s);
	if (mc == NULL)
		fail_msg("%s", err);
	assert_string_equal(mc->influx->password, "s3cr3t-pw");
	assert_string_equal(mc->influx->eosk[0].measurement, "eosbpinfo");
	assert_string_equal(mc->influx->eosk[0].nodeos_probe, "nodeos");
	assert_int_equal(mc->influx->interval_ms, 10000);
	assert_int_equal(mc->influx->max_points, 10000);
	j = metrics_config_json(mc, 1);
	s = json_dumps(j, 0);
	json_decref(j);
	assert_null(strstr(s, "s3cr3t"));
	assert_null(strstr(s, "hunter2"));
	assert_null(strstr(s, "me:pw"));
	assert_non_null(strstr(s, "db=eosdb"));
	assert_non_null(strstr(s, "precision=s"));
	free(s);
	metrics_config_free(mc);
	unlink(path);
}

/* A probe attached by hand to a program, with a detail (stolen). */
static struct probe *
fake_probe(struct program *p, const char *name, const char *kind,
    int status, double value, json_t *detail)
{
	struct probe_config	*pc;
	struct probe		*pr;

	pc = xcalloc(1, sizeof(*pc));
	pc->name = xstrdup(name);
	pc->kind = probe_kind_find(kind);
	assert_non_null(pc->kind);
	pr = xcalloc(1, sizeof(*pr));
	pr->prog = p;
	pr->cfg = pc;
	pr->status = status;
	pr->health = status == PROBE_OK ? PROBE_HEALTHY : PROBE_FAILING;
	pr->value = value;
	pr->has_value = 1;
	pr->detail = detail;
	pr->elapsed_ms = 12.5;
	pr->last_time = 1700000000;
	snprintf(pr->reason, sizeof(pr->reason), "%s", status == PROBE_OK ?
	    "fine" : "peers \"low\"\nsecond line");
	p->probes = xreallocarray(p->probes, p->nprobes + 1,
	    sizeof(*p->probes));
	p->probes[p->nprobes++] = pr;
	return (pr);
}

static void
unfake_probes(struct program *p)
{
	size_t	 i;

	for (i = 0; i < p->nprobes; i++) {
		json_decref(p->probes[i]->detail);
		free(p->probes[i]->cfg->name);
		free((void *)p->probes[i]->cfg);
		free(p->probes[i]);
	}
	free(p->probes);
	p->probes = NULL;
	p->nprobes = 0;
}

static struct config *
load(const char *yaml)
{
	struct config	*cfg;
	char		 path[256], *errors;
	FILE		*f;
	size_t		 i;

	snprintf(path, sizeof(path), "%s/ck.yaml", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "state_dir: %s\n%s", tmpdir, yaml);
	fclose(f);
	if ((cfg = config_load(path, &errors)) == NULL)
		fail_msg("config_load: %s", errors);
	for (i = 0; i < cfg->nprograms; i++) {
		program_new(cfg->programs[i]);
		cfg->programs[i] = NULL;
	}
	cfg->nprograms = 0;
	return (cfg);
}

static void
unload(struct config *cfg)
{
	struct program	*p;

	while ((p = TAILQ_FIRST(&programs)) != NULL) {
		unfake_probes(p);
		p->state = PROGRAM_STOPPED;
		p->pid = 0;
		program_free(p);
	}
	config_free(cfg);
}

/* Every line of a /metrics page is a comment or a well-formed sample. */
static void
check_exposition(const char *text)
{
	regex_t		 re;
	const char	*s, *nl;
	char		 line[1024];
	size_t		 n;

	assert_int_equal(regcomp(&re, "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	    "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
	    "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\")*\\})? "
	    "(NaN|[+-]Inf|-?[0-9]+(\\.[0-9]+)?(e[+-][0-9]+)?)$",
	    REG_EXTENDED | REG_NOSUB), 0);
	for (s = text; *s != '\0'; s = nl + 1) {
		assert_non_null(nl = strchr(s, '\n'));
		n = (size_t)(nl - s);
		assert_true(n < sizeof(line));
		memcpy(line, s, n);
		line[n] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0)
			continue;
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("bad exposition line: %s", line);
	}
	regfree(&re);
}

static void
test_exposition(void **state)
{
	struct config	*cfg;
	struct program	*p;
	struct buf	 b;

	(void)state;
	cfg = load("programs:\n"
	    "  nodeos:\n    command: /bin/true\n"
	    "  idle:\n    command: /bin/true\n");
	p = program_find("nodeos");
	p->state = PROGRAM_RUNNING;
	p->pid = 4242;
	p->start_ms = now_ms() - 5000;
	p->restarts = 3;
	p->runs = 4;
	fake_probe(p, "nodeos", "nodeos", PROBE_OK, 120,
	    json_pack("{s:i,s:i,s:b,s:f,s:s,s:n}", "head", 120, "lib", 100,
	    "paused", 1, "head_age_s", 0.5, "head_producer", "eosio",
	    "server_version"));
	fake_probe(p, "peers", "peers", PROBE_FAIL, 2,
	    json_pack("{s:i}", "established", 2));
	p = program_find("idle");
	p->exit_known = 1;
	p->exit_status = 9;		/* killed by SIGKILL */
	p->exit_wall = 1700000000;

	memset(&b, 0, sizeof(b));
	prom_exposition(&b);
	check_exposition(b.s);
	HAS("# TYPE chainkeeper_program_restarts_total "
	    "counter\n");
	HAS("chainkeeper_program_state{program=\"nodeos\",state=\"RUNNING\"} "
	    "1\n");
	HAS("chainkeeper_program_state{program=\"idle\",state=\"STOPPED\"} "
	    "1\n");
	HAS("chainkeeper_program_restarts_total{program=\"nodeos\"} 3\n");
	HAS("chainkeeper_program_pid{program=\"nodeos\"} 4242\n");
	HAS("chainkeeper_program_last_exit_signal{"
	    "program=\"idle\",signal=\"SIGKILL\"} 9\n");
	HAS("chainkeeper_program_health{program="
	    "\"nodeos\",health=\"failing\"} 1\n");
	HAS("chainkeeper_probe_ok{program=\"nodeos\","
	    "probe=\"peers\",kind=\"peers\"} 0\n");
	HAS("chainkeeper_probe_value{program=\"nodeos\","
	    "probe=\"nodeos\",kind=\"nodeos\"} 120\n");
	HAS("chainkeeper_probe_duration_seconds{program="
	    "\"nodeos\",probe=\"nodeos\",kind=\"nodeos\"} 0.0125\n");
	HAS("chainkeeper_probe_detail{program=\"nodeos\","
	    "probe=\"nodeos\",kind=\"nodeos\",field=\"lib\"} 100\n");
	HAS("chainkeeper_probe_detail{program=\"nodeos\","
	    "probe=\"nodeos\",kind=\"nodeos\",field=\"paused\"} 1\n");
	HAS("chainkeeper_probe_detail{program=\"nodeos\","
	    "probe=\"peers\",kind=\"peers\",field=\"established\"} 2\n");
	/* Strings in the detail are not samples. */
	assert_null(strstr(b.s, "field=\"head_producer\""));
	HAS("\nprocess_open_fds ");
	HAS("\nprocess_resident_memory_bytes ");
	/* A family's samples follow its # TYPE line, once. */
	assert_null(strstr(strstr(b.s, "# TYPE chainkeeper_program_up ") + 1,
	    "# TYPE chainkeeper_program_up "));
	buf_free(&b);

	/* The status page escapes every text. */
	memset(&b, 0, sizeof(b));
	status_page(&b, 5000);
	HAS("<meta http-equiv=\"refresh\" "
	    "content=\"5\">");
	HAS("peers failing: peers &quot;low&quot;");
	HAS("<td class=\"num\">120</td>");
	HAS("last exit: killed by SIGKILL");
	assert_null(strstr(b.s, "\"low\""));
	buf_free(&b);
	unload(cfg);
}

static void
test_html_escape(void **state)
{
	(void)state;
	check_esc(html_escape, "<script>alert('x&y')</script> \"q\"",
	    "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; "
	    "&quot;q&quot;");
	check_esc(html_escape, "", "");
	check_esc(html_escape, "高度", "高度");
}

static void
test_points(void **state)
{
	struct config		*cfg;
	struct program		*p;
	struct buf		 b;
	struct metrics_influx	*mi;
	int64_t			 wall = 1700000000123LL;
	const char		*want;

	(void)state;
	cfg = load("metrics:\n"
	    "  influxdb:\n"
	    "    url: http://127.0.0.1:1/write?db=eosdb\n"
	    "    host: bp 1\n"
	    "    eoskeeper:\n"
	    "      - {program: nodeos, role: bp, peers_probe: peers,\n"
	    "         produced_probe: produced}\n"
	    "      - {program: nodeos, role: fn, fields: short,\n"
	    "         measurement: eos_full_node_info}\n"
	    "programs:\n"
	    "  nodeos:\n    command: /bin/true\n"
	    "    probes:\n"
	    "      - {kind: nodeos, url: http://127.0.0.1:1/}\n"
	    "      - {kind: peers, name: peers}\n"
	    "      - {kind: log-match, name: produced, regex: Produced,\n"
	    "         fresh: 1h}\n");
	mi = cfg->metrics->influx;

	/* Not running: no head known, lpbt and paused unknown. */
	memset(&b, 0, sizeof(b));
	influx_points(&b, mi, wall);
	want = "chainkeeper,host=bp\\ 1,program=nodeos state=\"STOPPED\","
	    "state_code=0i,up=0i,pid=0i,uptime_s=0i,restarts=0i,starts=0i "
	    "1700000000123000000\n"
	    "eosbpinfo,host=bp\\ 1 lpbt/上次出块时间=\"~\",paused=\"~\","
	    "info/告警信息=\"nodeos STOPPED\" 1700000000123000000\n"
	    "eos_full_node_info,host=bp\\ 1 info=\"nodeos STOPPED\" "
	    "1700000000123000000\n";
	assert_string_equal(b.s, want);
	buf_free(&b);

	/* Running with results. */
	p = program_find("nodeos");
	p->state = PROGRAM_RUNNING;
	p->pid = 77;
	p->start_ms = now_ms();
	fake_probe(p, "nodeos", "nodeos", PROBE_OK, 120,
	    json_pack("{s:i,s:i,s:b,s:s}", "head", 120, "lib", 100,
	    "paused", 1, "head_producer", "eosio"));
	fake_probe(p, "peers", "peers", PROBE_OK, 7, NULL);
	fake_probe(p, "produced", "log-match", PROBE_OK, 10,
	    json_pack("{s:I}", "last_match_time",
	    (json_int_t)(wall / 1000 - 10)));
	memset(&b, 0, sizeof(b));
	influx_points(&b, mi, wall);
	HAS("\neosbpinfo,host=bp\\ 1 hbn/当前块=120,"
	    "lib/不可逆块=100,linkn/连接数量=7,lpbt/上次出块时间=\"10秒前\","
	    "paused=\"是\",info/告警信息=\"\" 1700000000123000000\n");
	HAS("\neos_full_node_info,host=bp\\ 1 hbn=120,"
	    "lib=100,info=\"\" 1700000000123000000\n");
	HAS("chainkeeper_probe,host=bp\\ 1,program="
	    "nodeos,probe=nodeos,kind=nodeos ok=true,status=\"ok\",health="
	    "\"healthy\",duration_s=0.0125,value=120,");
	HAS("health=\"healthy\" 1700000000123000000\n");
	buf_free(&b);

	/* A failing probe is eoskeeper's info, cut to 60 characters. */
	p->probes[1]->status = PROBE_FAIL;
	p->probes[1]->health = PROBE_FAILING;
	json_object_set_new(p->probes[0]->detail, "paused", json_false());
	memset(&b, 0, sizeof(b));
	influx_points(&b, mi, wall);
	HAS("paused=\"否\",info/告警信息=\"peers: "
	    "fine\" 1700000000123000000\n");
	buf_free(&b);
	snprintf(p->probes[1]->reason, sizeof(p->probes[1]->reason),
	    "节点peer连接数过低!节点peer连接数过低!节点peer连接数过低!"
	    "节点peer连接数过低!节点peer连接数过低!节点peer连接数过低!");
	memset(&b, 0, sizeof(b));
	influx_points(&b, mi, wall);
	HAS("info/告警信息=\"peers: 节点peer连接数过低!"
	    "节点peer连接数过低!节点peer连接数过低!节点peer连接数过低!节点pee"
	    "\" ");
	buf_free(&b);

	/* Stopped again: the last head is kept, as eoskeeper did. */
	unfake_probes(p);
	p->state = PROGRAM_BACKOFF;
	p->pid = 0;
	memset(&b, 0, sizeof(b));
	influx_points(&b, mi, wall);
	HAS("\neosbpinfo,host=bp\\ 1 hbn/当前块=120,"
	    "lib/不可逆块=100,linkn/连接数量=7,lpbt/上次出块时间=\"~\","
	    "paused=\"~\",info/告警信息=\"nodeos BACKOFF\" ");
	buf_free(&b);
	unload(cfg);
}

static void
test_precision(void **state)
{
	struct config	*cfg;
	struct buf	 b;

	(void)state;
	cfg = load("metrics:\n  influxdb:\n"
	    "    url: http://127.0.0.1:1/write?db=x&precision=s\n"
	    "    host: h\n    measurement: ck m\n"
	    "programs:\n  a:\n    command: /bin/true\n");
	memset(&b, 0, sizeof(b));
	influx_points(&b, cfg->metrics->influx, 1700000000999LL);
	assert_string_equal(b.s, "ck\\ m,host=h,program=a state=\"STOPPED\","
	    "state_code=0i,up=0i,pid=0i,uptime_s=0i,restarts=0i,starts=0i "
	    "1700000000\n");
	buf_free(&b);
	unload(cfg);
}

/* config_load reports eoskeeper settings that name missing things. */
static void
test_config_check(void **state)
{
	char	 path[256], *errors = NULL;
	FILE	*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "state_dir: %s\n"
	    "metrics:\n"
	    "  listen: 1.2.3.4:9150\n", tmpdir);
	fclose(f);
	assert_null(config_load(path, &errors));
	assert_non_null(strstr(errors, "bad.yaml:3:11: metrics: listen: "
	    "1.2.3.4:9150 is not a loopback address"));
	free(errors);

	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "state_dir: %s\n"
	    "metrics:\n"
	    "  influxdb:\n"
	    "    url: http://127.0.0.1:1/write\n"
	    "    interval: 1\n"
	    "    eoskeeper:\n"
	    "      program: nodeos\n"
	    "      role: bp\n"
	    "      peers_probe: links\n"
	    "      produced_probe: chain\n"
	    "programs:\n"
	    "  nodeos:\n"
	    "    command: /bin/true\n"
	    "    probes:\n"
	    "      - {kind: nodeos, name: chain, url: http://127.0.0.1:1/}\n",
	    tmpdir);
	fclose(f);
	assert_null(config_load(path, &errors));
	assert_non_null(strstr(errors, "bad.yaml:3:3: metrics.influxdb."
	    "eoskeeper: program \"nodeos\" has no probe named \"nodeos\""));
	assert_non_null(strstr(errors, "bad.yaml:3:3: metrics.influxdb."
	    "eoskeeper: program \"nodeos\" has no probe named \"links\""));
	assert_non_null(strstr(errors, "probe \"chain\" of \"nodeos\" is a "
	    "nodeos probe, not log-match"));
	free(errors);

	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "state_dir: %s\n"
	    "metrics:\n"
	    "  influxdb:\n"
	    "    url: http://127.0.0.1:1/write\n"
	    "    interval: 500ms\n", tmpdir);
	fclose(f);
	assert_null(config_load(path, &errors));
	assert_non_null(strstr(errors, "bad.yaml:5:15: metrics: "
	    "influxdb.interval: must be at least 1s"));
	free(errors);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_escape),
		cmocka_unit_test(test_prom_value),
		cmocka_unit_test(test_lp_escape),
		cmocka_unit_test(test_lpbt),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_config_check),
	};
	char	 cmd[300];
	int	 rc;

	if (mkdtemp(tmpdir) == NULL)
		return (1);
	ev_default_loop(0);
	config_use_kinds(&config_kinds_all);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		rc = rc != 0 ? rc : 1;
	return (rc);
}
