/*
 * The alerts section of the configuration, checked and turned into a
 * struct alerts_config.  config.c turns the YAML into JSON and hands it
 * here; every error is reported with a path into the section
 * ("sinks/wecom/key_file"), which config.c turns into a file position.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "probe.h"
#include "sink.h"
#include "util.h"

struct parse_ctx {
	alerts_error_fn	 fn;
	void		*arg;
	int		 nerrors;
};

static const char *const events[] = { "fatal", "exit", "oom", "probe",
    "alert", "action", NULL };

static const char *const common_keys[] = { "kind", "timeout", "rate_limit",
    "rate_window", NULL };

static void	perr(struct parse_ctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Report one error at a path into the section. */
static void
perr(struct parse_ctx *pc, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	pc->fn(pc->arg, path, msg != NULL ? msg : "invalid");
	free(msg);
	pc->nerrors++;
}

static int
sink_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 64)
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return (0);
	return (1);
}

void
sink_config_free(struct sink_config *sc)
{
	if (sc == NULL)
		return;
	if (sc->kcfg != NULL)
		sc->kind->free_config(sc->kcfg);
	json_decref(sc->params);
	free(sc->name);
	free(sc);
}

void
alerts_config_free(struct alerts_config *ac)
{
	size_t	 i;

	if (ac == NULL)
		return;
	for (i = 0; i < ac->nsinks; i++)
		sink_config_free(ac->sinks[i]);
	free(ac->sinks);
	for (i = 0; i < ac->nroutes; i++) {
		free_argv(ac->routes[i].programs);
		free_argv(ac->routes[i].events);
		free_argv(ac->routes[i].sinks);
	}
	free(ac->routes);
	free_argv(ac->summary_sinks);
	free(ac->host);
	free(ac);
}

/* A duration setting; 0 with allow_zero. */
static int
get_dur(struct parse_ctx *pc, const json_t *o, const char *name,
    const char *path, int64_t *out, int allow_zero)
{
	const char	*key = NULL;
	char		*err = NULL;
	int64_t		 v = *out;

	if (probe_param_duration(o, name, &v, &key, &err) == -1) {
		perr(pc, path, "%s", err);
		free(err);
		return (-1);
	}
	if (v == 0 && !allow_zero && json_object_get(o, name) != NULL) {
		perr(pc, path, "%s must be longer than 0", name);
		return (-1);
	}
	*out = v;
	return (0);
}

/* One sink: the common settings here, the rest by its kind's parse(). */
static struct sink_config *
parse_sink(struct parse_ctx *pc, const char *name, const json_t *o)
{
	struct sink_config	*sc;
	json_t			*params, *v;
	const char		*k, *key = NULL;
	char			*err = NULL, path[160];
	long long		 l;

	snprintf(path, sizeof(path), "sinks/%s", name);
	if (!sink_name_ok(name)) {
		perr(pc, path, "invalid sink name \"%s\" (use letters, "
		    "digits, '.', '_' and '-', at most 64)", name);
		return (NULL);
	}
	if (!json_is_object(o)) {
		perr(pc, path, "sink %s must be a map with at least kind",
		    name);
		return (NULL);
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->name = xstrdup(name);
	sc->timeout_ms = 10000;
	if (json_object_get(o, "kind") != NULL)
		snprintf(path, sizeof(path), "sinks/%s/kind", name);
	k = json_string_value(json_object_get(o, "kind"));
	if (k == NULL || (sc->kind = sink_kind_find(k)) == NULL) {
		perr(pc, path, "sink %s: %s kind (kinds: %s)", name, k ==
		    NULL ? "needs a" : "unknown", sink_kinds_list());
		sink_config_free(sc);
		return (NULL);
	}
	sc->rate_limit = sc->kind->rate_limit;
	sc->rate_window_ms = sc->kind->rate_window_ms > 0 ?
	    sc->kind->rate_window_ms : 60000;
	snprintf(path, sizeof(path), "sinks/%s/timeout", name);
	if (get_dur(pc, o, "timeout", path, &sc->timeout_ms, 0) == -1)
		goto fail;
	snprintf(path, sizeof(path), "sinks/%s/rate_limit", name);
	l = sc->rate_limit;
	if (probe_param_int(o, "rate_limit", 0, 100000, &l, &key, &err) ==
	    -1) {
		perr(pc, path, "%s", err);
		free(err);
		goto fail;
	}
	sc->rate_limit = (int)l;
	snprintf(path, sizeof(path), "sinks/%s/rate_window", name);
	if (get_dur(pc, o, "rate_window", path, &sc->rate_window_ms, 0) == -1)
		goto fail;
	params = json_object();
	json_object_foreach((json_t *)o, k, v) {
		const char *const	*c;

		for (c = common_keys; *c != NULL; c++)
			if (strcmp(*c, k) == 0)
				break;
		if (*c == NULL)
			json_object_set(params, k, v);
	}
	sc->params = params;
	key = NULL;
	if ((sc->kcfg = sc->kind->parse(params, &key, &err)) == NULL) {
		if (key != NULL)
			snprintf(path, sizeof(path), "sinks/%s/%s", name, key);
		else
			snprintf(path, sizeof(path), "sinks/%s", name);
		perr(pc, path, "sink %s (%s): %s", name, sc->kind->name,
		    err != NULL ? err : "invalid");
		free(err);
		goto fail;
	}
	return (sc);
fail:
	sink_config_free(sc);
	return (NULL);
}

static int
has_sink(const struct alerts_config *ac, const char *name)
{
	size_t	 i;

	for (i = 0; i < ac->nsinks; i++)
		if (strcmp(ac->sinks[i]->name, name) == 0)
			return (1);
	return (0);
}

/* A list of sink names that must all be defined. */
static char **
sink_list(struct parse_ctx *pc, struct alerts_config *ac, const json_t *o,
    const char *name, const char *path)
{
	const char	*key = NULL;
	char		*err = NULL, **v;
	size_t		 i;

	if (sink_param_strings(o, name, &v, &key, &err) == -1) {
		perr(pc, path, "%s", err);
		free(err);
		return (NULL);
	}
	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (!has_sink(ac, v[i])) {
			perr(pc, path, "no sink named \"%s\"", v[i]);
			free_argv(v);
			return (NULL);
		}
	return (v);
}

/* One route: {program, event, severity, sinks}. */
static void
parse_route(struct parse_ctx *pc, struct alerts_config *ac, size_t idx,
    const json_t *o)
{
	struct route	 r;
	const char	*k, *key = NULL;
	char		*err = NULL, path[64];
	json_t		*v;
	size_t		 i, j;

	memset(&r, 0, sizeof(r));
	snprintf(path, sizeof(path), "routes/%zu", idx);
	if (!json_is_object(o)) {
		perr(pc, path, "a route is a map: {program, event, severity, "
		    "sinks}");
		return;
	}
	json_object_foreach((json_t *)o, k, v) {
		if (strcmp(k, "program") != 0 && strcmp(k, "event") != 0 &&
		    strcmp(k, "severity") != 0 && strcmp(k, "sinks") != 0) {
			snprintf(path, sizeof(path), "routes/%zu/%s", idx, k);
			perr(pc, path, "route: unknown key \"%s\" (program, "
			    "event, severity, sinks)", k);
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "routes/%zu/program", idx);
	if (sink_param_strings(o, "program", &r.programs, &key, &err) == -1) {
		perr(pc, path, "%s", err);
		free(err);
		goto fail;
	}
	snprintf(path, sizeof(path), "routes/%zu/event", idx);
	if (sink_param_strings(o, "event", &r.events, &key, &err) == -1) {
		perr(pc, path, "%s", err);
		free(err);
		goto fail;
	}
	for (i = 0; r.events != NULL && r.events[i] != NULL; i++) {
		for (j = 0; events[j] != NULL; j++)
			if (strcmp(events[j], r.events[i]) == 0)
				break;
		if (events[j] == NULL) {
			perr(pc, path, "unknown event \"%s\" (fatal, exit, "
			    "oom, probe, alert, action)", r.events[i]);
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "routes/%zu/severity", idx);
	if ((v = json_object_get(o, "severity")) != NULL &&
	    (!json_is_string(v) || (r.min_severity =
	    alerts_severity_parse(json_string_value(v))) == -1)) {
		perr(pc, path, "severity must be info, warning or critical");
		goto fail;
	}
	snprintf(path, sizeof(path), "routes/%zu/sinks", idx);
	if (json_object_get(o, "sinks") == NULL) {
		snprintf(path, sizeof(path), "routes/%zu", idx);
		perr(pc, path, "route: sinks is required");
		goto fail;
	}
	if ((r.sinks = sink_list(pc, ac, o, "sinks", path)) == NULL)
		goto fail;
	ac->routes = xreallocarray(ac->routes, ac->nroutes + 1,
	    sizeof(*ac->routes));
	ac->routes[ac->nroutes++] = r;
	return;
fail:
	free_argv(r.programs);
	free_argv(r.events);
	free_argv(r.sinks);
}

/* summary: {hours, sinks}. */
static void
parse_summary(struct parse_ctx *pc, struct alerts_config *ac, const json_t *o)
{
	json_t		*h, *v;
	const char	*k;
	size_t		 i;

	if (!json_is_object(o)) {
		perr(pc, "summary", "summary must be a map: {hours: [7, 19], "
		    "sinks: [...]}");
		return;
	}
	json_object_foreach((json_t *)o, k, v)
		if (strcmp(k, "hours") != 0 && strcmp(k, "sinks") != 0)
			perr(pc, "summary", "summary: unknown key \"%s\" "
			    "(hours, sinks)", k);
	h = json_object_get(o, "hours");
	if (json_is_integer(h)) {
		ac->hours[ac->nhours++] = (int)json_integer_value(h);
		if (ac->hours[0] < 0 || ac->hours[0] > 23)
			perr(pc, "summary/hours", "hours must be 0..23");
	} else if (json_is_array(h) && json_array_size(h) <= 24) {
		json_array_foreach(h, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 23) {
				perr(pc, "summary/hours", "hours must be a "
				    "list of hours 0..23");
				break;
			}
			ac->hours[ac->nhours++] = (int)json_integer_value(v);
		}
	} else
		perr(pc, "summary/hours", "summary needs hours: a list of "
		    "hours 0..23 (local time)");
	if (json_object_get(o, "sinks") != NULL)
		ac->summary_sinks = sink_list(pc, ac, o, "sinks",
		    "summary/sinks");
}

/*
 * Check the alerts section (a JSON object, borrowed); every error goes to
 * fn with its path.  NULL if there was any.
 */
struct alerts_config *
alerts_config_parse(const json_t *o, alerts_error_fn fn, void *arg)
{
	struct parse_ctx	 pc;
	struct alerts_config	*ac;
	struct sink_config	*sc;
	json_t			*v, *r;
	const char		*k, *rk;
	char			 host[256];
	size_t			 i;

	memset(&pc, 0, sizeof(pc));
	pc.fn = fn;
	pc.arg = arg;
	ac = xcalloc(1, sizeof(*ac));
	ac->throttle_ms = 30 * 60 * 1000;
	ac->max_age_ms = 24 * 3600 * 1000LL;
	ac->retry_initial_ms = 5000;
	ac->retry_max_ms = 5 * 60 * 1000;
	ac->resolved = 1;
	if (o == NULL || json_is_null(o))
		goto defaults;
	if (!json_is_object(o)) {
		perr(&pc, "", "alerts must be a map (sinks, routes, throttle, "
		    "...)");
		goto done;
	}
	json_object_foreach((json_t *)o, k, v) {
		if (strcmp(k, "host") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0)
				perr(&pc, k, "host must be a non-empty string");
			else
				ac->host = xstrdup(json_string_value(v));
		} else if (strcmp(k, "throttle") == 0)
			get_dur(&pc, o, k, k, &ac->throttle_ms, 1);
		else if (strcmp(k, "max_age") == 0)
			get_dur(&pc, o, k, k, &ac->max_age_ms, 0);
		else if (strcmp(k, "retry") == 0) {
			if (!json_is_object(v)) {
				perr(&pc, k, "retry must be a map: {initial: "
				    "5s, max: 5m}");
				continue;
			}
			/* Its own key variable: the outer walk goes on. */
			json_object_foreach(v, rk, r)
				if (strcmp(rk, "initial") != 0 &&
				    strcmp(rk, "max") != 0)
					perr(&pc, "retry", "retry: unknown key "
					    "\"%s\" (initial, max)", rk);
			get_dur(&pc, v, "initial", "retry/initial",
			    &ac->retry_initial_ms, 0);
			get_dur(&pc, v, "max", "retry/max", &ac->retry_max_ms,
			    0);
			if (ac->retry_max_ms < ac->retry_initial_ms)
				perr(&pc, "retry", "retry.max is less than "
				    "retry.initial");
		} else if (strcmp(k, "resolved") == 0) {
			if (!json_is_boolean(v))
				perr(&pc, k, "resolved must be true or false");
			else
				ac->resolved = json_is_true(v);
		} else if (strcmp(k, "sinks") != 0 &&
		    strcmp(k, "routes") != 0 && strcmp(k, "summary") != 0)
			perr(&pc, k, "unknown key \"%s\" (host, "
			    "throttle, max_age, retry, resolved, summary, "
			    "sinks, routes)", k);
	}
	if ((v = json_object_get(o, "sinks")) != NULL) {
		if (!json_is_object(v))
			perr(&pc, "sinks", "sinks must be a map of name: "
			    "{kind: ..., ...}");
		else
			json_object_foreach(v, k, r) {
				if ((sc = parse_sink(&pc, k, r)) == NULL)
					continue;
				ac->sinks = xreallocarray(ac->sinks,
				    ac->nsinks + 1, sizeof(*ac->sinks));
				ac->sinks[ac->nsinks++] = sc;
			}
	}
	if ((v = json_object_get(o, "routes")) != NULL) {
		ac->has_routes = 1;
		if (!json_is_array(v))
			perr(&pc, "routes", "routes must be a list of "
			    "{program, event, severity, sinks}");
		else
			json_array_foreach(v, i, r)
				parse_route(&pc, ac, i, r);
	}
	if ((v = json_object_get(o, "summary")) != NULL)
		parse_summary(&pc, ac, v);
defaults:
	if (ac->host == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		ac->host = xstrdup(host);
		utf8_sanitize(ac->host, strlen(ac->host));
	}
done:
	if (pc.nerrors > 0) {
		alerts_config_free(ac);
		return (NULL);
	}
	return (ac);
}

/* Whether a name (of a header, a query parameter) suggests a secret. */
static int
secret_word(const char *s, size_t n)
{
	static const char	*words[] = { "pass", "secret", "token", "key",
				    "auth", "sign", "credential", "pwd" };
	size_t			 i, j, wl;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		wl = strlen(words[i]);
		for (j = 0; j + wl <= n; j++)
			if (strncasecmp(s + j, words[i], wl) == 0)
				return (1);
	}
	return (0);
}

/* A URL with the values of secret-looking query parameters hidden. */
static char *
redact_query(const char *url)
{
	char		*out, *o;
	const char	*p, *q, *eq, *amp;

	out = xmalloc(strlen(url) * 2 + 32);
	o = out;
	if ((q = strchr(url, '?')) == NULL)
		return (strcpy(out, url));
	memcpy(o, url, (size_t)(q - url) + 1);
	o += q - url + 1;
	for (p = q + 1; *p != '\0'; p = *amp != '\0' ? amp + 1 : amp) {
		amp = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && secret_word(p, (size_t)(eq - p)) &&
		    memchr(eq, '{', (size_t)(amp - eq)) == NULL) {
			memcpy(o, p, (size_t)(eq - p) + 1);
			o += eq - p + 1;
			memcpy(o, "(redacted)", 10);
			o += 10;
		} else {
			memcpy(o, p, (size_t)(amp - p));
			o += amp - p;
		}
		if (*amp != '\0')
			*o++ = '&';
	}
	*o = '\0';
	return (out);
}

/*
 * A sink's settings for -nv (new reference).  Secrets live in files, so
 * the settings hold none by design; still, with redact, header values and
 * query parameters whose names suggest a secret are hidden.
 */
static json_t *
sink_params_json(const struct sink_config *sc, int redact)
{
	json_t		*o, *h, *v;
	const char	*k;
	char		*u;

	o = json_deep_copy(sc->params);
	if (!redact)
		return (o);
	if ((h = json_object_get(o, "headers")) != NULL && json_is_object(h))
		json_object_foreach(h, k, v)
			if (secret_word(k, strlen(k)) && json_is_string(v) &&
			    strchr(json_string_value(v), '{') == NULL)
				json_object_set_new(h, k,
				    json_string("(redacted)"));
	if (json_is_string(json_object_get(o, "url"))) {
		u = redact_query(json_string_value(json_object_get(o, "url")));
		json_object_set_new(o, "url", json_string(u));
		free(u);
	}
	return (o);
}

static json_t *
strv(char **v)
{
	json_t	*a;
	size_t	 i;

	if (v == NULL)
		return (json_null());
	a = json_array();
	for (i = 0; v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return (a);
}

/* The normalized alerts section for -nv (new reference). */
json_t *
alerts_config_json(const struct alerts_config *ac, int redact)
{
	json_t			*o, *sinks, *routes, *hours;
	const struct sink_config *sc;
	const struct route	*r;
	size_t			 i;

	if (ac == NULL)
		return (json_null());
	sinks = json_object();
	for (i = 0; i < ac->nsinks; i++) {
		sc = ac->sinks[i];
		json_object_set_new(sinks, sc->name, json_pack("{s:s,s:I,s:i,"
		    "s:I,s:o}", "kind", sc->kind->name, "timeout_ms",
		    (json_int_t)sc->timeout_ms, "rate_limit", sc->rate_limit,
		    "rate_window_ms", (json_int_t)sc->rate_window_ms,
		    "settings", sink_params_json(sc, redact)));
	}
	routes = json_array();
	for (i = 0; i < ac->nroutes; i++) {
		r = &ac->routes[i];
		json_array_append_new(routes, json_pack("{s:o,s:o,s:s,s:o}",
		    "program", strv(r->programs), "event", strv(r->events),
		    "severity", alerts_severity_name(r->min_severity),
		    "sinks", strv(r->sinks)));
	}
	if (!ac->has_routes) {
		json_decref(routes);
		routes = json_null();
	}
	hours = json_array();
	for (i = 0; i < (size_t)ac->nhours; i++)
		json_array_append_new(hours, json_integer(ac->hours[i]));
	o = json_pack("{s:s,s:I,s:I,s:{s:I,s:I},s:b,s:{s:o,s:o},s:o,s:o}",
	    "host", ac->host, "throttle_ms", (json_int_t)ac->throttle_ms,
	    "max_age_ms", (json_int_t)ac->max_age_ms, "retry", "initial_ms",
	    (json_int_t)ac->retry_initial_ms, "max_ms",
	    (json_int_t)ac->retry_max_ms, "resolved", ac->resolved, "summary",
	    "hours", hours, "sinks", strv(ac->summary_sinks), "sinks", sinks,
	    "routes", routes);
	return (o);
}
