/*
 * The metrics: section (checked here as JSON; config.c hands it over) and
 * the Prometheus text exposition (format 0.0.4), built from the programs'
 * in-memory state on every scrape: one pass over the programs per metric
 * family, so that each family's samples stay together after its # HELP
 * and # TYPE lines.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "program.h"
#include "secret.h"
#include "util.h"

/* Room for a dotted key named in an error ("influxdb.eoskeeper.role"). */
static char	 errkey[96];

static const int prom_states[] = {
	PROGRAM_STOPPED, PROGRAM_STARTING, PROGRAM_RUNNING, PROGRAM_BACKOFF,
	PROGRAM_STOPPING, PROGRAM_EXITED, PROGRAM_FATAL
};
static const int prom_healths[] = {
	PROBE_UNKNOWN, PROBE_HEALTHY, PROBE_FAILING, PROBE_HUNG
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Configuration. */

static int
cfg_err(const char *prefix, const char *name, const char **key, char **err,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Set *key to prefix+name (for the error's position) and *err. */
static int
cfg_err(const char *prefix, const char *name, const char **key, char **err,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (name != NULL) {
		snprintf(errkey, sizeof(errkey), "%s%s", prefix, name);
		*key = errkey;
	} else
		*key = *prefix != '\0' ? prefix : NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (name != NULL) {
		xasprintf(err, "%s%s: %s", prefix, name, msg);
		free(msg);
	} else
		*err = msg;
	return (-1);
}

/* A probe_param_* failure under prefix ("influxdb."): re-keyed. */
static int
param_fail(const char *prefix, const char *k, const char **key, char **err)
{
	char	*e = *err;
	size_t	 n = strlen(prefix);

	snprintf(errkey, sizeof(errkey), "%s%s", prefix, k != NULL ? k : "");
	*key = errkey;
	if (n > 0 && prefix[n - 1] == '.')
		n--;
	xasprintf(err, "%.*s: %s", (int)n, prefix, e);
	free(e);
	return (-1);
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return ((ntohl(s4->sin_addr.s_addr) >> 24) == 127);
	if (ss->ss_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    s6->sin6_addr.s6_addr[12] == 127));
	return (0);
}

/*
 * A listen address: PORT, HOST:PORT or [V6]:PORT with a numeric host (or
 * localhost); the host defaults to 127.0.0.1.  Never resolves names.
 */
int
metrics_parse_listen(const char *s, struct metrics_config *mc, char **err)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&mc->addr;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&mc->addr;
	char			 host[64], *end, *colon;
	const char		*ps;
	long			 port;
	int			 v6 = 0;

	*err = NULL;
	memset(&mc->addr, 0, sizeof(mc->addr));
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':' ||
		    (size_t)(end - s - 1) >= sizeof(host)) {
			xasprintf(err, "\"%s\": expected [IPV6]:PORT", s);
			return (-1);
		}
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		ps = end + 2;
		v6 = 1;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if (strchr(s, ':') != colon) {
			xasprintf(err, "\"%s\": write an IPv6 address as "
			    "[ADDRESS]:PORT", s);
			return (-1);
		}
		if ((size_t)(colon - s) >= sizeof(host)) {
			xasprintf(err, "\"%s\": host too long", s);
			return (-1);
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		ps = colon + 1;
	} else {
		snprintf(host, sizeof(host), "127.0.0.1");
		ps = s;
	}
	errno = 0;
	port = strtol(ps, &end, 10);
	if (*ps == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535) {
		xasprintf(err, "\"%s\": the port must be 1 to 65535", s);
		return (-1);
	}
	if (*host == '\0' || strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!v6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		mc->addrlen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		mc->addrlen = sizeof(*s6);
	} else {
		xasprintf(err, "\"%s\": \"%s\" is not a numeric IP address",
		    s, host);
		return (-1);
	}
	free(mc->listen);
	if (v6 || mc->addr.ss_family == AF_INET6)
		xasprintf(&mc->listen, "[%s]:%ld", host, port);
	else
		xasprintf(&mc->listen, "%s:%ld", host, port);
	return (0);
}

static void
eosk_free(struct metrics_eoskeeper *e)
{
	free(e->program);
	free(e->measurement);
	free(e->nodeos_probe);
	free(e->peers_probe);
	free(e->produced_probe);
}

static void
influx_config_free(struct metrics_influx *mi)
{
	size_t	 i;

	if (mi == NULL)
		return;
	free(mi->url);
	free(mi->measurement);
	free(mi->host);
	free(mi->user);
	free(mi->password_file);
	secret_free(mi->password);
	for (i = 0; i < mi->neosk; i++)
		eosk_free(&mi->eosk[i]);
	free(mi->eosk);
	free(mi);
}

void
metrics_config_free(struct metrics_config *mc)
{
	if (mc == NULL)
		return;
	free(mc->listen);
	influx_config_free(mc->influx);
	free(mc);
}

static char *
opt_strdup(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* One eoskeeper entry (an object) into e; prefix names it in errors. */
static int
parse_eosk(const json_t *o, struct metrics_eoskeeper *e, const char *prefix,
    const char **key, char **err)
{
	static const char *const known[] = { "program", "role",
	    "measurement", "nodeos_probe", "peers_probe", "produced_probe",
	    "fields", NULL };
	const char	*prog = NULL, *role = NULL, *meas = NULL;
	const char	*np = "nodeos", *pp = NULL, *prp = NULL, *f = NULL;

	if (!json_is_object(o))
		return (cfg_err(prefix, NULL, key, err, "%s must be a map "
		    "(program, role, nodeos_probe, peers_probe, "
		    "produced_probe)", prefix));
	if (probe_param_check_keys(o, known, key, err) == -1)
		return (param_fail(prefix, *key, key, err));
	if (probe_param_string(o, "program", 1, &prog, key, err) == -1 ||
	    probe_param_string(o, "role", 1, &role, key, err) == -1 ||
	    probe_param_string(o, "measurement", 0, &meas, key, err) == -1 ||
	    probe_param_string(o, "nodeos_probe", 0, &np, key, err) == -1 ||
	    probe_param_string(o, "peers_probe", 0, &pp, key, err) == -1 ||
	    probe_param_string(o, "produced_probe", 0, &prp, key, err) == -1 ||
	    probe_param_string(o, "fields", 0, &f, key, err) == -1)
		return (param_fail(prefix, *key, key, err));
	if (strcmp(role, "bp") == 0)
		e->role = EOSK_BP;
	else if (strcmp(role, "fn") == 0)
		e->role = EOSK_FN;
	else
		return (cfg_err(prefix, "role", key, err, "\"%s\": expected "
		    "bp (eoskeeper roles A, B, C) or fn (role F)", role));
	if (e->role == EOSK_FN && prp != NULL)
		return (cfg_err(prefix, "produced_probe", key, err, "a full "
		    "node (role fn) produces no blocks"));
	if (f != NULL && strcmp(f, "eoskeeper") != 0 &&
	    strcmp(f, "short") != 0)
		return (cfg_err(prefix, "fields", key, err, "\"%s\": expected "
		    "eoskeeper (hbn/当前块, ...) or short (hbn, ...)", f));
	e->short_fields = f != NULL && strcmp(f, "short") == 0;
	e->program = xstrdup(prog);
	e->measurement = xstrdup(meas != NULL ? meas :
	    e->role == EOSK_BP ? "eosbpinfo" : "eosfninfo");
	e->nodeos_probe = xstrdup(np);
	e->peers_probe = opt_strdup(pp);
	e->produced_probe = opt_strdup(prp);
	return (0);
}

static int
valid_url(const char *u)
{
	return (strncmp(u, "http://", 7) == 0 ||
	    strncmp(u, "https://", 8) == 0);
}

/* Whether a measurement, tag or field name is usable. */
static int
valid_lp_name(const char *s)
{
	if (*s == '\0' || *s == '_' || strlen(s) > 200)
		return (0);
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (0);
	return (1);
}

static struct metrics_influx *
parse_influx(const json_t *o, const char **key, char **err)
{
	static const char *const known[] = { "url", "interval", "timeout",
	    "measurement", "host", "user", "password_file", "buffer",
	    "batch", "programs", "eoskeeper", NULL };
	static const char	*P = "influxdb.";
	struct metrics_influx	*mi;
	const char		*url = NULL, *meas = NULL, *host = NULL;
	const char		*user = NULL, *pwf = NULL;
	long long		 buffer = 10000, batch = 1000;
	char			 hn[256], *e;
	const json_t		*eo, *it;
	size_t			 i, n;

	if (!json_is_object(o)) {
		cfg_err("influxdb", NULL, key, err, "influxdb must be a map "
		    "(url, interval, measurement, ...)");
		return (NULL);
	}
	mi = xcalloc(1, sizeof(*mi));
	mi->interval_ms = 10000;
	mi->timeout_ms = 5000;
	mi->programs = 1;
	if (probe_param_check_keys(o, known, key, err) == -1 ||
	    probe_param_string(o, "url", 1, &url, key, err) == -1 ||
	    probe_param_string(o, "measurement", 0, &meas, key, err) == -1 ||
	    probe_param_string(o, "host", 0, &host, key, err) == -1 ||
	    probe_param_string(o, "user", 0, &user, key, err) == -1 ||
	    probe_param_string(o, "password_file", 0, &pwf, key, err) == -1 ||
	    probe_param_duration(o, "interval", &mi->interval_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "timeout", &mi->timeout_ms, key,
	    err) == -1 ||
	    probe_param_int(o, "buffer", 10, 10000000, &buffer, key,
	    err) == -1 ||
	    probe_param_int(o, "batch", 1, 100000, &batch, key, err) == -1 ||
	    probe_param_bool(o, "programs", &mi->programs, key, err) == -1) {
		param_fail(P, *key, key, err);
		goto fail;
	}
	if (!valid_url(url)) {
		cfg_err(P, "url", key, err, "\"%s\" is not an http:// or "
		    "https:// URL", url);
		goto fail;
	}
	if (mi->interval_ms < 1000) {
		cfg_err(P, "interval", key, err, "must be at least 1s");
		goto fail;
	}
	if (mi->timeout_ms < 100 || mi->timeout_ms > 600000) {
		cfg_err(P, "timeout", key, err, "must be 100ms to 10m");
		goto fail;
	}
	if (meas != NULL && !valid_lp_name(meas)) {
		cfg_err(P, "measurement", key, err, "\"%s\" is not a valid "
		    "measurement name", meas);
		goto fail;
	}
	if (host != NULL && !valid_lp_name(host)) {
		cfg_err(P, "host", key, err, "not a valid tag value");
		goto fail;
	}
	if ((user == NULL) != (pwf == NULL)) {
		cfg_err(P, user == NULL ? "user" : "password_file", key, err,
		    "user and password_file go together");
		goto fail;
	}
	if (pwf != NULL) {
		if (*pwf != '/') {
			cfg_err(P, "password_file", key, err, "must be an "
			    "absolute path");
			goto fail;
		}
		if ((mi->password = secret_file_read(pwf, &e)) == NULL) {
			cfg_err(P, "password_file", key, err, "%s", e);
			free(e);
			goto fail;
		}
	}
	if (batch > buffer)
		batch = buffer;
	mi->url = xstrdup(url);
	mi->measurement = xstrdup(meas != NULL ? meas : "chainkeeper");
	if (host == NULL) {
		if (gethostname(hn, sizeof(hn)) == -1 || *hn == '\0')
			snprintf(hn, sizeof(hn), "localhost");
		hn[sizeof(hn) - 1] = '\0';
		host = hn;
	}
	mi->host = xstrdup(host);
	mi->user = opt_strdup(user);
	mi->password_file = opt_strdup(pwf);
	mi->max_points = (size_t)buffer;
	mi->batch = (size_t)batch;
	eo = json_object_get(o, "eoskeeper");
	if (eo != NULL && !json_is_null(eo)) {
		n = json_is_array(eo) ? json_array_size(eo) : 1;
		mi->eosk = xcalloc(n, sizeof(*mi->eosk));
		for (i = 0; i < n; i++) {
			it = json_is_array(eo) ? json_array_get(eo, i) : eo;
			mi->neosk++;
			if (parse_eosk(it, &mi->eosk[i],
			    "influxdb.eoskeeper.", key, err) == -1)
				goto fail;
		}
	}
	return (mi);
fail:
	influx_config_free(mi);
	return (NULL);
}

/*
 * Check the metrics: section (a JSON value, borrowed).  Returns the parsed
 * settings, or NULL with *key (a dotted key, or NULL) and *err set.
 */
struct metrics_config *
metrics_config_parse(const json_t *o, const char **key, char **err)
{
	static const char *const known[] = { "listen", "allow_remote",
	    "refresh", "influxdb", NULL };
	struct metrics_config	*mc;
	const json_t		*v;
	char			 port[16], *e;

	*key = NULL;
	*err = NULL;
	mc = xcalloc(1, sizeof(*mc));
	mc->refresh_ms = 5000;
	if (o == NULL || json_is_null(o))
		return (mc);
	if (!json_is_object(o)) {
		cfg_err("", NULL, key, err, "metrics must be a map (listen, "
		    "allow_remote, refresh, influxdb)");
		goto fail;
	}
	if (probe_param_check_keys(o, known, key, err) == -1 ||
	    probe_param_bool(o, "allow_remote", &mc->allow_remote, key,
	    err) == -1 ||
	    probe_param_duration(o, "refresh", &mc->refresh_ms, key,
	    err) == -1)
		goto fail;
	if (mc->refresh_ms != 0 && (mc->refresh_ms < 1000 ||
	    mc->refresh_ms > 3600000)) {
		cfg_err("", "refresh", key, err, "must be 0 (never) or 1s "
		    "to 1h");
		goto fail;
	}
	v = json_object_get(o, "listen");
	if (json_is_integer(v)) {
		snprintf(port, sizeof(port), "%lld",
		    (long long)json_integer_value(v));
		if (metrics_parse_listen(port, mc, &e) == -1) {
			cfg_err("", "listen", key, err, "%s", e);
			free(e);
			goto fail;
		}
	} else if (json_is_string(v)) {
		if (metrics_parse_listen(json_string_value(v), mc, &e) == -1) {
			cfg_err("", "listen", key, err, "%s", e);
			free(e);
			goto fail;
		}
	} else if (v != NULL && !json_is_null(v) && !json_is_false(v)) {
		cfg_err("", "listen", key, err, "expected PORT or HOST:PORT "
		    "(e.g. 127.0.0.1:%d)", METRICS_DEFAULT_PORT);
		goto fail;
	}
	if (mc->listen != NULL && !mc->allow_remote &&
	    !is_loopback(&mc->addr)) {
		cfg_err("", "listen", key, err, "%s is not a loopback address: "
		    "other hosts could read the metrics and the status page; "
		    "set allow_remote: true to allow that", mc->listen);
		goto fail;
	}
	v = json_object_get(o, "influxdb");
	if (v != NULL && !json_is_null(v) &&
	    (mc->influx = parse_influx(v, key, err)) == NULL)
		goto fail;
	return (mc);
fail:
	/* *key may point into o: the caller may keep it longer. */
	if (*key != NULL && *key != errkey) {
		snprintf(errkey, sizeof(errkey), "%s", *key);
		*key = errkey;
	}
	metrics_config_free(mc);
	return (NULL);
}

/* Checks against the programs; returns NULL or the messages. */
char *
metrics_config_check(const struct metrics_config *mc,
    const struct config *cfg)
{
	const struct metrics_eoskeeper	*e;
	const struct program_config	*pc;
	const char			*want[3], *kinds[3];
	struct buf			 b;
	size_t				 i, j, k;

	memset(&b, 0, sizeof(b));
	for (i = 0; mc->influx != NULL && i < mc->influx->neosk; i++) {
		e = &mc->influx->eosk[i];
		if ((pc = config_find(cfg, e->program)) == NULL) {
			buf_printf(&b, "%smetrics.influxdb.eoskeeper: program "
			    "\"%s\" is not defined", b.len ? "\n" : "",
			    e->program);
			continue;
		}
		want[0] = e->nodeos_probe;
		kinds[0] = "nodeos";
		want[1] = e->peers_probe;
		kinds[1] = NULL;
		want[2] = e->produced_probe;
		kinds[2] = "log-match";
		for (j = 0; j < 3; j++) {
			if (want[j] == NULL)
				continue;
			for (k = 0; k < pc->nprobes; k++)
				if (strcmp(pc->probes[k]->name, want[j]) == 0)
					break;
			if (k == pc->nprobes)
				buf_printf(&b, "%smetrics.influxdb.eoskeeper: "
				    "program \"%s\" has no probe named \"%s\"",
				    b.len ? "\n" : "", e->program, want[j]);
			else if (kinds[j] != NULL && strcmp(
			    pc->probes[k]->kind->name, kinds[j]) != 0)
				buf_printf(&b, "%smetrics.influxdb.eoskeeper: "
				    "probe \"%s\" of \"%s\" is a %s probe, not "
				    "%s", b.len ? "\n" : "", want[j],
				    e->program, pc->probes[k]->kind->name,
				    kinds[j]);
		}
	}
	return (b.s);
}

/* A URL without its user information and password parameters. */
static char *
redact_url(const char *url)
{
	struct buf	 b;
	const char	*at, *s, *host, *q;

	memset(&b, 0, sizeof(b));
	host = strstr(url, "://");
	host = host != NULL ? host + 3 : url;
	at = strchr(host, '@');
	s = strpbrk(host, "/?#");
	buf_add(&b, url, (size_t)(host - url));
	if (at != NULL && (s == NULL || at < s)) {
		buf_adds(&b, "(redacted)@");
		host = at + 1;
	}
	/* Query parameters p= (InfluxDB's password) and *token*. */
	if ((q = strchr(host, '?')) == NULL) {
		buf_adds(&b, host);
		return (b.s);
	}
	buf_add(&b, host, (size_t)(q - host));
	for (s = q; *s != '\0';) {
		const char	*end = s + 1 + strcspn(s + 1, "&#");
		const char	*eq = memchr(s + 1, '=', (size_t)(end - s - 1));

		if (eq != NULL && ((eq - s - 1 == 1 && s[1] == 'p') ||
		    (eq - s - 1 >= 5 && strncmp(s + 1, "token", 5) == 0) ||
		    (eq - s - 1 == 8 && strncmp(s + 1, "password", 8) == 0))) {
			buf_add(&b, s, (size_t)(eq - s + 1));
			buf_adds(&b, "(redacted)");
		} else
			buf_add(&b, s, (size_t)(end - s));
		s = end;
		if (*s == '#') {
			buf_adds(&b, s);
			break;
		}
	}
	return (b.s);
}

/* The section as JSON (new reference); the password is never in it. */
json_t *
metrics_config_json(const struct metrics_config *mc, int redact)
{
	const struct metrics_influx	*mi = mc->influx;
	const struct metrics_eoskeeper	*e;
	json_t				*o, *io, *eo;
	char				*u;
	size_t				 i;

	o = json_pack("{s:s?,s:b,s:I}", "listen", mc->listen,
	    "allow_remote", mc->allow_remote,
	    "refresh_ms", (json_int_t)mc->refresh_ms);
	if (mi == NULL)
		return (o);
	u = redact ? redact_url(mi->url) : xstrdup(mi->url);
	io = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s?,s:s?,s:I,s:I,s:b}",
	    "url", u,
	    "interval_ms", (json_int_t)mi->interval_ms,
	    "timeout_ms", (json_int_t)mi->timeout_ms,
	    "measurement", mi->measurement,
	    "host", mi->host,
	    "user", mi->user,
	    "password_file", mi->password_file,
	    "buffer", (json_int_t)mi->max_points,
	    "batch", (json_int_t)mi->batch,
	    "programs", mi->programs);
	free(u);
	eo = json_array();
	for (i = 0; i < mi->neosk; i++) {
		e = &mi->eosk[i];
		json_array_append_new(eo, json_pack("{s:s,s:s,s:s,s:s,s:s?,"
		    "s:s?,s:s}", "program", e->program,
		    "role", e->role == EOSK_BP ? "bp" : "fn",
		    "measurement", e->measurement,
		    "nodeos_probe", e->nodeos_probe,
		    "peers_probe", e->peers_probe,
		    "produced_probe", e->produced_probe,
		    "fields", e->short_fields ? "short" : "eoskeeper"));
	}
	json_object_set_new(io, "eoskeeper", eo);
	json_object_set_new(o, "influxdb", io);
	return (o);
}

/* Prometheus text format 0.0.4. */

/* A label value: backslash, double quote and newline are escaped. */
void
prom_escape_label(struct buf *b, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\' && *s != '"' && *s != '\n')
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n");
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

/* HELP text: backslash and newline are escaped. */
void
prom_escape_help(struct buf *b, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\' && *s != '\n')
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, *s == '\\' ? "\\\\" : "\\n");
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

/* A sample value as Go's ParseFloat reads it: NaN, +Inf, -Inf, digits. */
void
prom_format_value(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, size, "%.0f", v);
	else {
		snprintf(buf, size, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, size, "%.17g", v);
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s ", name);
	prom_escape_help(b, help);
	buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* One sample; labels is a NULL-terminated list of name, value pairs. */
static void
sample(struct buf *b, const char *name, const char *const *labels, double v)
{
	char	 num[40];
	int	 first = 1;

	buf_adds(b, name);
	for (; labels != NULL && labels[0] != NULL; labels += 2) {
		if (labels[1] == NULL)
			continue;
		buf_adds(b, first ? "{" : ",");
		first = 0;
		buf_adds(b, labels[0]);
		buf_adds(b, "=\"");
		prom_escape_label(b, labels[1]);
		buf_adds(b, "\"");
	}
	if (!first)
		buf_adds(b, "}");
	prom_format_value(num, sizeof(num), v);
	buf_printf(b, " %s\n", num);
}

static void
prog_sample(struct buf *b, const char *name, const struct program *p,
    double v)
{
	const char	*l[] = { "program", p->pc->name, NULL };

	sample(b, name, l, v);
}

static void
probe_sample(struct buf *b, const char *name, const struct probe *pr,
    const char *xname, const char *xvalue, double v)
{
	const char	*l[] = { "program", pr->prog->pc->name, "probe",
	    pr->cfg->name, "kind", pr->cfg->kind->name, xname, xvalue, NULL };

	sample(b, name, l, v);
}

/* When this process started (seconds since the epoch), from /proc. */
static double
process_start_time(void)
{
	static double	 t;
	char		 buf[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	FILE		*f;
	size_t		 n;
	int		 i;

	if (t != 0)
		return (t);
	if ((f = fopen("/proc/self/stat", "re")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		/* Field 22, counted after the ")" that ends field 2. */
		if ((p = strrchr(buf, ')')) != NULL) {
			for (i = 2; i < 22 && p != NULL; i++)
				p = strchr(p + 1, ' ');
			if (p != NULL)
				ticks = strtoull(p + 1, NULL, 10);
		}
	}
	if ((f = fopen("/proc/stat", "re")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (sscanf(buf, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	if (ticks > 0 && btime > 0)
		t = (double)btime + (double)ticks /
		    (double)sysconf(_SC_CLK_TCK);
	else
		t = (double)time(NULL);
	return (t);
}

/* What the kernel says about chainkeeperd itself. */
static void
process_metrics(struct buf *b)
{
	struct rusage	 ru;
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	unsigned long	 vsz = 0, rss = 0;
	long		 pagesize = sysconf(_SC_PAGESIZE);
	int		 nfd = 0;

	if ((f = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(f, "%lu %lu", &vsz, &rss) != 2)
			vsz = rss = 0;
		fclose(f);
	}
	family(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory of chainkeeperd in bytes.");
	sample(b, "process_resident_memory_bytes", NULL,
	    (double)rss * (double)pagesize);
	family(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory of chainkeeperd in bytes.");
	sample(b, "process_virtual_memory_bytes", NULL,
	    (double)vsz * (double)pagesize);
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				nfd++;
		closedir(d);
		nfd--;		/* the one opendir() holds */
		family(b, "process_open_fds", "gauge",
		    "Open file descriptors of chainkeeperd.");
		sample(b, "process_open_fds", NULL, nfd);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		family(b, "process_max_fds", "gauge",
		    "chainkeeperd's limit of open file descriptors.");
		sample(b, "process_max_fds", NULL, rl.rlim_cur ==
		    RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		family(b, "process_cpu_seconds_total", "counter",
		    "CPU time chainkeeperd used (user and system), seconds.");
		sample(b, "process_cpu_seconds_total", NULL,
		    (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    ((double)ru.ru_utime.tv_usec +
		    (double)ru.ru_stime.tv_usec) / 1e6);
	}
	family(b, "process_start_time_seconds", "gauge",
	    "When chainkeeperd started, seconds since the epoch.");
	sample(b, "process_start_time_seconds", NULL, process_start_time());
}

/* The numeric top-level fields of a probe's detail. */
static void
probe_detail_samples(struct buf *b, const struct probe *pr)
{
	const char	*k;
	json_t		*v;

	if (pr->detail == NULL || !json_is_object(pr->detail))
		return;
	json_object_foreach(pr->detail, k, v) {
		if (json_is_number(v))
			probe_sample(b, "chainkeeper_probe_detail", pr, "field",
			    k, json_number_value(v));
		else if (json_is_boolean(v))
			probe_sample(b, "chainkeeper_probe_detail", pr, "field",
			    k, json_is_true(v));
	}
}

/* One sample per sink of alerts_stats_json()'s "sinks", for a field. */
static void
alert_sink_samples(struct buf *b, const json_t *sinks, const char *name,
    const char *field)
{
	const char	*sn, *l[5];
	json_t		*so, *v;

	json_object_foreach((json_t *)sinks, sn, so) {
		v = json_object_get(so, field);
		if (!json_is_number(v))
			continue;
		l[0] = "sink";
		l[1] = sn;
		l[2] = "kind";
		l[3] = json_string_value(json_object_get(so, "kind"));
		l[4] = NULL;
		sample(b, name, l, json_number_value(v));
	}
}

/* The alerts module's counters (alert.h). */
static void
alert_metrics(struct buf *b)
{
	static const char *const sev[] = { "info", "warning", "critical" };
	json_t		*st, *raised, *sinks, *v;
	const char	*l[3];
	size_t		 i;

	if ((st = alerts_stats_json()) == NULL)
		return;
	raised = json_object_get(st, "raised");
	family(b, "chainkeeper_alerts_raised_total", "counter",
	    "Alerts raised, by severity.");
	for (i = 0; i < nitems(sev); i++) {
		v = json_object_get(raised, sev[i]);
		l[0] = "severity";
		l[1] = sev[i];
		l[2] = NULL;
		sample(b, "chainkeeper_alerts_raised_total", l,
		    json_is_number(v) ? json_number_value(v) : 0);
	}
	v = json_object_get(st, "suppressed");
	family(b, "chainkeeper_alerts_suppressed_total", "counter",
	    "Alerts held back by throttling.");
	sample(b, "chainkeeper_alerts_suppressed_total", NULL,
	    json_is_number(v) ? json_number_value(v) : 0);
	sinks = json_object_get(st, "sinks");
	if (json_is_object(sinks) && json_object_size(sinks) > 0) {
		family(b, "chainkeeper_alert_sink_queued", "gauge",
		    "Alerts waiting in the outbox for the sink.");
		alert_sink_samples(b, sinks, "chainkeeper_alert_sink_queued",
		    "queued");
		family(b, "chainkeeper_alert_sink_sent_total", "counter",
		    "Alerts the sink accepted.");
		alert_sink_samples(b, sinks,
		    "chainkeeper_alert_sink_sent_total", "sent");
		family(b, "chainkeeper_alert_sink_failures_total", "counter",
		    "Failed delivery attempts to the sink.");
		alert_sink_samples(b, sinks,
		    "chainkeeper_alert_sink_failures_total", "failed");
		family(b, "chainkeeper_alert_sink_messages_total", "counter",
		    "Messages sent to the sink (a batch is one).");
		alert_sink_samples(b, sinks,
		    "chainkeeper_alert_sink_messages_total", "messages");
	}
	json_decref(st);
}

#define FOREACH_PROBE(p, i) \
	TAILQ_FOREACH((p), &programs, entry) \
		for ((i) = 0; (i) < (p)->nprobes; (i)++)

/* The whole /metrics page, appended to b. */
void
prom_exposition(struct buf *b)
{
	struct program		*p;
	const struct probe	*pr;
	struct influx_stats	 is;
	const char		*h;
	const char		*l[5];
	char			 sig[24];
	size_t			 i, n = 0;
	int64_t			 now = now_ms();

	family(b, "chainkeeper_build_info", "gauge",
	    "chainkeeperd's version, as a label.");
	l[0] = "version";
	l[1] = PACKAGE_VERSION;
	l[2] = NULL;
	sample(b, "chainkeeper_build_info", l, 1);
	TAILQ_FOREACH(p, &programs, entry)
		n++;
	family(b, "chainkeeper_programs", "gauge",
	    "Programs chainkeeperd supervises.");
	sample(b, "chainkeeper_programs", NULL, (double)n);

	family(b, "chainkeeper_program_state", "gauge",
	    "1 for the program's state (STOPPED STARTING RUNNING BACKOFF "
	    "STOPPING EXITED FATAL), 0 for the others.");
	TAILQ_FOREACH(p, &programs, entry) {
		for (i = 0; i < nitems(prom_states); i++) {
			l[0] = "program";
			l[1] = p->pc->name;
			l[2] = "state";
			l[3] = program_state_name(prom_states[i]);
			l[4] = NULL;
			sample(b, "chainkeeper_program_state", l,
			    p->state == prom_states[i]);
		}
	}
	family(b, "chainkeeper_program_up", "gauge",
	    "1 if the program is RUNNING.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_up", p,
		    p->state == PROGRAM_RUNNING);
	family(b, "chainkeeper_program_health", "gauge",
	    "1 for the health of a RUNNING program with probes (its worst "
	    "probe's), 0 for the others.");
	TAILQ_FOREACH(p, &programs, entry) {
		if ((h = program_health(p)) == NULL)
			continue;
		for (i = 0; i < nitems(prom_healths); i++) {
			l[0] = "program";
			l[1] = p->pc->name;
			l[2] = "health";
			l[3] = probe_health_name(prom_healths[i]);
			l[4] = NULL;
			sample(b, "chainkeeper_program_health", l,
			    strcmp(h, l[3]) == 0);
		}
	}
	family(b, "chainkeeper_program_pid", "gauge",
	    "The program's main pid, 0 if none.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_pid", p, p->pid);
	family(b, "chainkeeper_program_uptime_seconds", "gauge",
	    "How long the program's current run has lasted.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_uptime_seconds", p,
		    p->pid > 0 ? (double)(now - p->start_ms) / 1000.0 : 0);
	family(b, "chainkeeper_program_start_time_seconds", "gauge",
	    "When the program's current run started, seconds since the "
	    "epoch.");
	TAILQ_FOREACH(p, &programs, entry)
		if (p->pid > 0)
			prog_sample(b, "chainkeeper_program_start_time_seconds",
			    p, (double)p->start_wall);
	family(b, "chainkeeper_program_restarts_total", "counter",
	    "Automatic restarts of the program.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_restarts_total", p,
		    p->restarts);
	family(b, "chainkeeper_program_starts_total", "counter",
	    "Times chainkeeperd started the program.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_starts_total", p, p->runs);
	family(b, "chainkeeper_program_admin_stopped", "gauge",
	    "1 if the program was stopped by hand.");
	TAILQ_FOREACH(p, &programs, entry)
		prog_sample(b, "chainkeeper_program_admin_stopped", p,
		    p->admin_stopped);
	family(b, "chainkeeper_program_last_exit_code", "gauge",
	    "Exit code of the program's last exit, if it exited by itself.");
	TAILQ_FOREACH(p, &programs, entry)
		if (p->exit_known && p->exit_status != PROGRAM_EXIT_UNKNOWN &&
		    WIFEXITED(p->exit_status))
			prog_sample(b, "chainkeeper_program_last_exit_code", p,
			    WEXITSTATUS(p->exit_status));
	family(b, "chainkeeper_program_last_exit_signal", "gauge",
	    "The signal that ended the program's last run, if one did.");
	TAILQ_FOREACH(p, &programs, entry) {
		if (!p->exit_known || p->exit_status == PROGRAM_EXIT_UNKNOWN ||
		    !WIFSIGNALED(p->exit_status))
			continue;
		l[0] = "program";
		l[1] = p->pc->name;
		snprintf(sig, sizeof(sig), "SIG%s",
		    signal_name(WTERMSIG(p->exit_status)));
		l[2] = "signal";
		l[3] = sig;
		l[4] = NULL;
		sample(b, "chainkeeper_program_last_exit_signal", l,
		    WTERMSIG(p->exit_status));
	}
	family(b, "chainkeeper_program_last_exit_oom", "gauge",
	    "1 if the kernel's OOM killer ended the program's last run.");
	TAILQ_FOREACH(p, &programs, entry)
		if (p->exit_known)
			prog_sample(b, "chainkeeper_program_last_exit_oom", p,
			    p->exit_oom);
	family(b, "chainkeeper_program_last_exit_time_seconds", "gauge",
	    "When the program last exited, seconds since the epoch.");
	TAILQ_FOREACH(p, &programs, entry)
		if (p->exit_known)
			prog_sample(b,
			    "chainkeeper_program_last_exit_time_seconds", p,
			    (double)p->exit_wall);

	family(b, "chainkeeper_probe_ok", "gauge",
	    "1 if the probe's last check succeeded (RUNNING programs).");
	FOREACH_PROBE(p, i) {
		pr = p->probes[i];
		if (pr->status >= 0)
			probe_sample(b, "chainkeeper_probe_ok", pr, NULL, NULL,
			    pr->status == PROBE_OK);
	}
	family(b, "chainkeeper_probe_health", "gauge",
	    "1 for the probe's health (unknown healthy failing hung), 0 for "
	    "the others.");
	FOREACH_PROBE(p, i) {
		pr = p->probes[i];
		for (n = 0; n < nitems(prom_healths); n++)
			probe_sample(b, "chainkeeper_probe_health", pr,
			    "health", probe_health_name(prom_healths[n]),
			    pr->health == prom_healths[n]);
	}
	family(b, "chainkeeper_probe_value", "gauge",
	    "The value of the probe's last check (height, peers, RSS, "
	    "seconds since a log match, ... by kind).");
	FOREACH_PROBE(p, i) {
		pr = p->probes[i];
		if (pr->has_value && pr->status >= 0)
			probe_sample(b, "chainkeeper_probe_value", pr, NULL,
			    NULL, pr->value);
	}
	family(b, "chainkeeper_probe_duration_seconds", "gauge",
	    "How long the probe's last check took.");
	FOREACH_PROBE(p, i) {
		pr = p->probes[i];
		if (pr->status >= 0)
			probe_sample(b, "chainkeeper_probe_duration_seconds",
			    pr, NULL, NULL, pr->elapsed_ms / 1000.0);
	}
	family(b, "chainkeeper_probe_last_check_time_seconds", "gauge",
	    "When the probe's last check ended, seconds since the epoch.");
	FOREACH_PROBE(p, i) {
		pr = p->probes[i];
		if (pr->last_time != 0)
			probe_sample(b,
			    "chainkeeper_probe_last_check_time_seconds", pr,
			    NULL, NULL, (double)pr->last_time);
	}
	family(b, "chainkeeper_probe_checks_total", "counter",
	    "Checks of the probe in the program's current run.");
	FOREACH_PROBE(p, i)
		probe_sample(b, "chainkeeper_probe_checks_total", p->probes[i],
		    NULL, NULL, p->probes[i]->runs);
	family(b, "chainkeeper_probe_failures_total", "counter",
	    "Failed checks of the probe in the program's current run.");
	FOREACH_PROBE(p, i)
		probe_sample(b, "chainkeeper_probe_failures_total",
		    p->probes[i], NULL, NULL, p->probes[i]->failures);
	family(b, "chainkeeper_probe_detail", "gauge",
	    "Numeric fields of the probe's last detail (head, lib, height, "
	    "blocks_behind, lag, established, total_missed, rss, ...); "
	    "booleans are 0 or 1.");
	FOREACH_PROBE(p, i)
		probe_detail_samples(b, p->probes[i]);

	alert_metrics(b);
	influx_get_stats(&is);
	if (is.enabled) {
		family(b, "chainkeeper_influxdb_pushes_total", "counter",
		    "Write requests sent to InfluxDB.");
		sample(b, "chainkeeper_influxdb_pushes_total", NULL,
		    (double)is.pushes);
		family(b, "chainkeeper_influxdb_push_failures_total",
		    "counter", "Write requests to InfluxDB that failed.");
		sample(b, "chainkeeper_influxdb_push_failures_total", NULL,
		    (double)is.failures);
		family(b, "chainkeeper_influxdb_points_sent_total", "counter",
		    "Points InfluxDB accepted.");
		sample(b, "chainkeeper_influxdb_points_sent_total", NULL,
		    (double)is.points_sent);
		family(b, "chainkeeper_influxdb_points_dropped_total",
		    "counter", "Points dropped: the buffer was full, or "
		    "InfluxDB refused them.");
		sample(b, "chainkeeper_influxdb_points_dropped_total", NULL,
		    (double)is.points_dropped);
		family(b, "chainkeeper_influxdb_buffered_points", "gauge",
		    "Points waiting to be sent to InfluxDB.");
		sample(b, "chainkeeper_influxdb_buffered_points", NULL,
		    (double)is.buffered);
	}
	process_metrics(b);
}
