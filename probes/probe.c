/*
 * The probe registry and scheduler.  Each probe has its own timer: the
 * first check comes after a random part of the interval (so hundreds of
 * probes do not fire in lock-step), the next ones every interval.  A check
 * that does not end within timeout is cancelled and counts as a timeout.
 * A kind may end a check inside its run(); the result is then applied
 * after run() returns, so the framework's bookkeeping runs exactly once.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "program.h"
#include "registry.h"
#include "util.h"

extern const struct probe_kind	probe_kind_http;
extern const struct probe_kind	probe_kind_tcp;
extern const struct probe_kind	probe_kind_bitcoin_rpc;
extern const struct probe_kind	probe_kind_nodeos;
extern const struct probe_kind	probe_kind_bitshares_witness;
extern const struct probe_kind	probe_kind_peers;
extern const struct probe_kind	probe_kind_procstat;
extern const struct probe_kind	probe_kind_oom;
extern const struct probe_kind	probe_kind_log_match;

static const void *const kinds[] = {
	&probe_kind_http,
	&probe_kind_tcp,
	&probe_kind_bitcoin_rpc,
	&probe_kind_nodeos,
	&probe_kind_bitshares_witness,
	&probe_kind_peers,
	&probe_kind_procstat,
	&probe_kind_oom,
	&probe_kind_log_match,
};
static struct registry	probe_kinds = REGISTRY_INIT(kinds);

void	(*probe_changed_hook)(struct probe *);

static void	probe_timer_cb(struct ev_loop *, ev_timer *, int);
static void	probe_timeout_cb(struct ev_loop *, ev_timer *, int);

const struct probe_kind *
probe_kind_find(const char *name)
{
	return (registry_find(&probe_kinds, name));
}

/* "http, tcp, ...", for error messages. */
const char *
probe_kinds_list(void)
{
	return (registry_names(&probe_kinds));
}

void
probe_config_free(struct probe_config *pc)
{
	if (pc == NULL)
		return;
	if (pc->kcfg != NULL && pc->kind != NULL)
		pc->kind->free_config(pc->kcfg);
	json_decref(pc->params);
	free(pc->name);
	free(pc);
}

const char *
probe_status_name(int s)
{
	switch (s) {
	case PROBE_OK:
		return ("ok");
	case PROBE_FAIL:
		return ("fail");
	case PROBE_TIMEOUT:
		return ("timeout");
	}
	return ("error");
}

const char *
probe_health_name(int h)
{
	switch (h) {
	case PROBE_HEALTHY:
		return ("healthy");
	case PROBE_FAILING:
		return ("failing");
	case PROBE_HUNG:
		return ("hung");
	}
	return ("unknown");
}

/* A probe for one run of a program; its first check is scheduled. */
struct probe *
probe_new(struct program *prog, const struct probe_config *cfg)
{
	struct probe	*p;
	double		 first;

	p = xcalloc(1, sizeof(*p));
	p->prog = prog;
	p->cfg = cfg;
	p->health = PROBE_UNKNOWN;
	p->health_since = time(NULL);
	p->status = -1;
	ev_timer_init(&p->timer, probe_timer_cb, 0., 0.);
	p->timer.data = p;
	ev_timer_init(&p->timeout, probe_timeout_cb, 0., 0.);
	p->timeout.data = p;
	/* Spread the first checks over one interval (at most 1 s). */
	first = fmin((double)cfg->interval_ms, 1000.0) *
	    ((double)arc4random() / (double)UINT32_MAX) / 1000.0;
	p->due_ms = now_ms() + (int64_t)(first * 1000.0);
	ev_timer_set(&p->timer, first, 0.);
	ev_timer_start(EV_DEFAULT, &p->timer);
	return (p);
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	ev_timer_stop(EV_DEFAULT, &p->timer);
	ev_timer_stop(EV_DEFAULT, &p->timeout);
	if (p->running && p->cfg->kind->cancel != NULL)
		p->cfg->kind->cancel(p);
	if (p->cfg->kind->reset != NULL)
		p->cfg->kind->reset(p);
	json_decref(p->detail);
	free(p);
}

static void
probe_set_health(struct probe *p, int h)
{
	if (p->health == h)
		return;
	log_info("%s: probe %s: %s -> %s%s%s", p->prog->pc->name,
	    p->cfg->name, probe_health_name(p->health), probe_health_name(h),
	    p->reason[0] != '\0' ? ": " : "", p->reason);
	p->health = h;
	p->health_since = time(NULL);
}

/* Apply a finished check: counters, health, history, next check. */
static void
probe_finish(struct probe *p)
{
	struct probe_hist	*h;
	int64_t			 next;

	p->running = 0;
	ev_timer_stop(EV_DEFAULT, &p->timeout);
	p->runs++;
	p->last_time = time(NULL);
	p->elapsed_ms = (double)(now_ms() - p->started_ms);
	if (p->status == PROBE_OK) {
		p->consec_ok++;
		p->consec_fail = 0;
		p->consec_timeout = 0;
	} else {
		p->failures++;
		p->consec_fail++;
		p->consec_ok = 0;
		if (p->status == PROBE_TIMEOUT)
			p->consec_timeout++;
		else
			p->consec_timeout = 0;
	}
	h = &p->hist[p->hist_next];
	h->time = p->last_time;
	h->status = p->status;
	h->value = p->value;
	h->has_value = p->has_value;
	h->elapsed_ms = p->elapsed_ms;
	snprintf(h->reason, sizeof(h->reason), "%.119s", p->reason);
	p->hist_next = (p->hist_next + 1) % PROBE_HISTORY;
	if (p->hist_count < PROBE_HISTORY)
		p->hist_count++;

	if (p->cfg->hung_after > 0 && p->consec_timeout >= p->cfg->hung_after)
		probe_set_health(p, PROBE_HUNG);
	else if (p->status == PROBE_OK && (p->health == PROBE_UNKNOWN ||
	    p->consec_ok >= p->cfg->rise))
		probe_set_health(p, PROBE_HEALTHY);
	else if (p->status != PROBE_OK && p->consec_fail >= p->cfg->fall)
		probe_set_health(p, PROBE_FAILING);

	/* The next check is due one interval after the last was due. */
	p->due_ms += p->cfg->interval_ms;
	next = p->due_ms - now_ms();
	if (next < 0) {
		p->skipped += (unsigned int)(-next / p->cfg->interval_ms);
		p->due_ms = now_ms();
		next = 0;
	}
	ev_timer_set(&p->timer, (ev_tstamp)next / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT, &p->timer);
	if (probe_changed_hook != NULL)
		probe_changed_hook(p);
}

static void
probe_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe	*p = w->data;
	double		 late;

	(void)loop;
	(void)revents;
	late = (double)(now_ms() - p->due_ms);
	if (late > p->max_late_ms)
		p->max_late_ms = late;
	p->running = 1;
	p->in_run = 1;
	p->finished_early = 0;
	p->started_ms = now_ms();
	ev_timer_set(&p->timeout, (ev_tstamp)p->cfg->timeout_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT, &p->timeout);
	p->cfg->kind->run(p);
	p->in_run = 0;
	if (p->finished_early)
		probe_finish(p);
}

static void
probe_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe	*p = w->data;

	(void)loop;
	(void)revents;
	if (!p->running)
		return;
	if (p->cfg->kind->cancel != NULL)
		p->cfg->kind->cancel(p);
	p->op = NULL;
	p->status = PROBE_TIMEOUT;
	p->has_value = 0;
	json_decref(p->detail);
	p->detail = NULL;
	snprintf(p->reason, sizeof(p->reason), "no answer within %lld ms",
	    (long long)p->cfg->timeout_ms);
	probe_finish(p);
}

/*
 * A kind reports the result of its check: status, an optional value, an
 * optional detail object (stolen) and a one-line reason.
 */
void
probe_done(struct probe *p, int status, const double *value, json_t *detail,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*c;

	if (!p->running) {
		json_decref(detail);
		return;
	}
	p->op = NULL;
	p->status = status;
	p->has_value = value != NULL;
	p->value = value != NULL ? *value : 0;
	json_decref(p->detail);
	p->detail = detail;
	p->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
		va_end(ap);
		utf8_sanitize(p->reason, strlen(p->reason));
		for (c = p->reason; *c != '\0'; c++)	/* one line */
			if ((unsigned char)*c < 0x20)
				*c = ' ';
	}
	if (p->in_run) {
		p->finished_early = 1;
		return;
	}
	probe_finish(p);
}

/* A probe's state for status --json (new reference). */
json_t *
probe_status_json(const struct probe *p, int history)
{
	json_t			*o, *hist;
	const struct probe_hist	*h;
	unsigned int		 i;

	o = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:i,s:I,s:I,s:f,s:f}",
	    "name", p->cfg->name,
	    "kind", p->cfg->kind->name,
	    "health", probe_health_name(p->health),
	    "status", p->status >= 0 ? probe_status_name(p->status) : NULL,
	    "reason", p->reason,
	    "consecutive_failures", p->consec_fail,
	    "runs", (json_int_t)p->runs,
	    "failures", (json_int_t)p->failures,
	    "elapsed_ms", p->elapsed_ms,
	    "max_late_ms", p->max_late_ms);
	json_object_set_new(o, "value", p->has_value && isfinite(p->value) ?
	    json_real(p->value) : json_null());
	json_object_set_new(o, "last_time", p->last_time != 0 ?
	    json_integer((json_int_t)p->last_time) : json_null());
	json_object_set_new(o, "health_since",
	    json_integer((json_int_t)p->health_since));
	if (p->detail != NULL)
		json_object_set(o, "detail", p->detail);
	if (!history)
		return (o);
	hist = json_array();
	for (i = 0; i < p->hist_count; i++) {
		h = &p->hist[(p->hist_next + PROBE_HISTORY - 1 - i) %
		    PROBE_HISTORY];
		json_array_append_new(hist, json_pack("{s:I,s:s,s:o,s:f,s:s}",
		    "time", (json_int_t)h->time,
		    "status", probe_status_name(h->status),
		    "value", h->has_value && isfinite(h->value) ?
		    json_real(h->value) : json_null(),
		    "elapsed_ms", h->elapsed_ms,
		    "reason", h->reason));
	}
	json_object_set_new(o, "history", hist);
	return (o);
}

/* Parameter helpers: each returns 0, or -1 with *key and *err set. */

static int
param_error(const char *name, const char **key, char **err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
param_error(const char *name, const char **key, char **err,
    const char *fmt, ...)
{
	va_list	 ap;

	*key = name;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	return (-1);
}

int
probe_param_string(const json_t *o, const char *name, int required,
    const char **out, const char **key, char **err)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL) {
		if (required)
			return (param_error(name, key, err, "%s is required",
			    name));
		return (0);
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return (param_error(name, key, err, "%s must be a non-empty "
		    "string", name));
	*out = json_string_value(v);
	return (0);
}

int
probe_param_int(const json_t *o, const char *name, long long min,
    long long max, long long *out, const char **key, char **err)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL)
		return (0);
	if (!json_is_integer(v))
		return (param_error(name, key, err, "%s must be an integer",
		    name));
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return (param_error(name, key, err, "%s must be between %lld "
		    "and %lld", name, min, max));
	*out = json_integer_value(v);
	return (0);
}

int
probe_param_double(const json_t *o, const char *name, double *out,
    const char **key, char **err)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL)
		return (0);
	if (!json_is_number(v))
		return (param_error(name, key, err, "%s must be a number",
		    name));
	*out = json_number_value(v);
	return (0);
}

int
probe_param_duration(const json_t *o, const char *name, int64_t *out,
    const char **key, char **err)
{
	json_t		*v = json_object_get(o, name);
	const char	*e;
	char		 buf[64];

	if (v == NULL)
		return (0);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v) * 1000;
		return (0);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%f", json_real_value(v));
	} else if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else
		return (param_error(name, key, err, "%s must be a duration",
		    name));
	if (parse_duration(buf, out, &e) == -1)
		return (param_error(name, key, err, "%s: %s, not \"%s\"",
		    name, e, buf));
	return (0);
}

int
probe_param_bool(const json_t *o, const char *name, int *out,
    const char **key, char **err)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL)
		return (0);
	if (!json_is_boolean(v))
		return (param_error(name, key, err, "%s must be true or false",
		    name));
	*out = json_is_true(v);
	return (0);
}

/* Every key of o must be in the NULL-terminated list. */
int
probe_param_check_keys(const json_t *o, const char *const *known,
    const char **key, char **err)
{
	const char		*k;
	json_t			*v;
	const char *const	*n;

	json_object_foreach((json_t *)o, k, v) {
		for (n = known; *n != NULL; n++)
			if (strcmp(*n, k) == 0)
				break;
		if (*n == NULL)
			return (param_error(k, key, err, "unknown setting "
			    "\"%s\"", k));
	}
	return (0);
}
