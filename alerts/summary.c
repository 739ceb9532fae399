/*
 * Alerts, summary and status: the daily summary, and what chainkeeperctl
 * alerts and the metrics see.
 *
 * The summary (every program's state and health, and the open incidents)
 * goes at the configured hours (local time) to summary_sinks, or to every
 * sink, and is never throttled.  chainkeeperctl alerts asks for the last
 * alerts with their deliveries, the sinks and the open incidents
 * (alerts_status_json()), and sends a test alert or the summary now; the
 * metrics take the counters (alerts_stats_json()).  Nothing here changes
 * the other files' state but by raising an alert.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "alert-int.h"
#include "program.h"
#include "util.h"

ev_periodic		 summary_w;

/* The next of the configured hours (local time) strictly after now. */
time_t
summary_next(time_t now, const int *hours, int n)
{
	struct tm	 tm, base;
	time_t		 best = 0, t;
	int		 d, i;

	localtime_r(&now, &base);
	for (d = 0; d <= 2; d++)
		for (i = 0; i < n; i++) {
			tm = base;
			tm.tm_mday += d;
			tm.tm_hour = hours[i];
			tm.tm_min = 0;
			tm.tm_sec = 0;
			tm.tm_isdst = -1;
			if ((t = mktime(&tm)) == (time_t)-1 || t <= now)
				continue;
			if (best == 0 || t < best)
				best = t;
		}
	return (best);
}

/* A duration in seconds, for people ("12 min"). */
void
alerts_dur_text(int64_t s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(buf, len, "%lld min", (long long)s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%lld h %lld min", (long long)s / 3600,
		    (long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%lld d %lld h", (long long)s / 86400,
		    (long long)(s % 86400) / 3600);
}

/* The daily summary: every program's state and health. */
static struct alert *
summary_raise(void)
{
	struct raise_req	 r;
	struct program		*p;
	struct akey		*k;
	char			*b = NULL, *line, up[32], since[32];
	char			**all = NULL;
	const char		*h;
	size_t			 len = 0, nprog = 0, nopen = 0, n;
	struct alert		*a;
	struct tm		 tm;

	TAILQ_FOREACH(p, &programs, entry) {
		if (p->removed)
			continue;
		nprog++;
		h = program_health(p);
		up[0] = '\0';
		if (p->pid > 0)
			alerts_dur_text((now_ms() - p->start_ms) / 1000, up,
			    sizeof(up));
		n = (size_t)xasprintf(&line, "\n%s: %s%s%s%s%s, %u restarts",
		    p->pc->name, program_state_name(p->state), h != NULL ?
		    ", " : "", h != NULL ? h : "", *up != '\0' ? ", up " : "",
		    up, p->restarts);
		b = xreallocarray(b, len + n + 1, 1);
		memcpy(b + len, line, n + 1);
		len += n;
		free(line);
	}
	LIST_FOREACH(k, &akeys, entry)
		if (k->open) {
			nopen++;
			localtime_r(&k->open_since, &tm);
			strftime(since, sizeof(since), "%m-%d %H:%M", &tm);
			n = (size_t)xasprintf(&line, "\nopen since %s: %s %s%s"
			    "%s", since, k->program, k->event, *k->rule !=
			    '\0' ? " " : "", k->rule);
			b = xreallocarray(b, len + n + 1, 1);
			memcpy(b + len, line, n + 1);
			len += n;
			free(line);
		}
	xasprintf(&line, "%zu programs, %zu open incidents%s", nprog, nopen,
	    b != NULL ? b : "");
	free(b);
	memset(&r, 0, sizeof(r));
	r.kind = ALERT_SUMMARY;
	r.severity = ALERT_INFO;
	r.event = "summary";
	r.message = line;
	r.no_throttle = 1;
	if ((r.sinks = acfg->summary_sinks) == NULL)
		r.sinks = all = alerts_all_sinks();
	a = alert_raise(&r);
	free_argv(all);
	free(line);
	return (a);
}

/* Set the summary's timer to the next configured hour. */
void
summary_arm(void)
{
	time_t	 t;

	ev_periodic_stop(EV_DEFAULT, &summary_w);
	if (acfg->nhours == 0)
		return;
	if ((t = summary_next(time(NULL), acfg->hours, acfg->nhours)) == 0)
		return;
	ev_periodic_set(&summary_w, (ev_tstamp)t, 0., NULL);
	ev_periodic_start(EV_DEFAULT, &summary_w);
}

void
summary_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	summary_raise();
	summary_arm();
}

/* chainkeeperctl alerts test [SINK...]: a test alert (not throttled). */
int
alerts_send_test(const char *message, json_t *names, char **err)
{
	struct raise_req	 r;
	char			**v = NULL;
	size_t			 n = 0, i;
	json_t			*e;
	struct alert		*a;

	*err = NULL;
	if (!alerts_started) {
		*err = xstrdup("alerts are not running");
		return (-1);
	}
	json_array_foreach(names, i, e) {
		if (!json_is_string(e) || sink_find(json_string_value(e)) ==
		    NULL) {
			xasprintf(err, "no sink named %s",
			    json_is_string(e) ? json_string_value(e) : "?");
			free_argv(v);
			return (-1);
		}
		alerts_strv_add(&v, &n, json_string_value(e));
	}
	if (v == NULL)
		v = alerts_all_sinks();
	if (v == NULL) {
		*err = xstrdup("no sink is configured");
		return (-1);
	}
	memset(&r, 0, sizeof(r));
	r.kind = ALERT_TEST;
	r.severity = ALERT_INFO;
	r.event = "test";
	r.message = message != NULL ? message : "a test alert from "
	    "chainkeeperctl";
	r.sinks = v;
	r.no_throttle = 1;
	a = alert_raise(&r);
	free_argv(v);
	return ((int)a->id);
}

/* chainkeeperctl alerts summary: the daily summary, now. */
int
alerts_send_summary(char **err)
{
	*err = NULL;
	if (!alerts_started) {
		*err = xstrdup("alerts are not running");
		return (-1);
	}
	return ((int)summary_raise()->id);
}

/* A sink for chainkeeperctl alerts (new reference). */
static json_t *
sink_json(const struct sink *s)
{
	const char	*state;
	int64_t		 now = now_ms(), oldest;

	if (s->op != NULL)
		state = "sending";
	else if (s->queued == 0)
		state = "idle";
	else if (s->next_ms > now)
		state = "retrying";
	else if (s->cfg->rate_limit > 0 && sink_rate_used((struct sink *)s, now,
	    &oldest) >= s->cfg->rate_limit)
		state = "rate limited";
	else
		state = "queued";
	return (json_pack("{s:s,s:s,s:s,s:I,s:i,s:o,s:s,s:I,s:I,s:I}",
	    "name", s->cfg->name, "kind", s->cfg->kind->name, "state", state,
	    "queued", (json_int_t)s->queued, "failures_in_a_row",
	    (int)s->fails, "next_try", s->next_ms > now ?
	    json_integer((json_int_t)s->next_wall) : json_null(), "error",
	    s->error, "sent", (json_int_t)s->nsent, "failed",
	    (json_int_t)s->nfailed, "messages", (json_int_t)s->nmessages));
}

/* An alert and its deliveries for chainkeeperctl alerts (new reference). */
static json_t *
alert_status(const struct alert *a)
{
	json_t			*o, *dv;
	const struct delivery	*d;
	struct sink		*s;
	char			*title;
	size_t			 i;
	int64_t			 now = now_ms();

	dv = json_array();
	for (i = 0; i < a->ndeliv; i++) {
		d = &a->deliv[i];
		s = sink_find(d->sink);
		json_array_append_new(dv, json_pack("{s:s,s:s,s:i,s:o,s:o,s:s}",
		    "sink", d->sink, "state", deliv_state_name(d->state),
		    "attempts", (int)d->attempts, "done", d->done != 0 ?
		    json_integer((json_int_t)d->done) : json_null(),
		    "next_try", d->state == DELIV_RETRYING && s != NULL &&
		    s->next_ms > now ? json_integer((json_int_t)s->next_wall) :
		    json_null(), "error", d->error));
	}
	title = alert_title(a);
	o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:i,"
	    "s:o}", "id", (json_int_t)a->id, "time", (json_int_t)a->time,
	    "kind", alert_kind_name(a->kind), "severity",
	    alerts_severity_name(a->severity), "program", a->program, "event",
	    a->event, "rule", a->rule, "message", a->message, "value",
	    a->value, "title", title, "suppressed", a->suppressed,
	    "carried", (int)a->carried, "deliveries", dv);
	free(title);
	return (o);
}

/* The last n alerts and the sinks, for chainkeeperctl alerts. */
json_t *
alerts_status_json(size_t n)
{
	json_t		*arr = json_array(), *sv = json_array();
	json_t		*open = json_array();
	struct alert	*a;
	struct sink	*s;
	struct akey	*k;

	if (alerts_started) {
		TAILQ_FOREACH_REVERSE(a, &alerts, alertq, entry) {
			if (json_array_size(arr) >= n)
				break;
			json_array_insert_new(arr, 0, alert_status(a));
		}
		TAILQ_FOREACH(s, &sinks, entry)
			if (!s->removed)
				json_array_append_new(sv, sink_json(s));
		LIST_FOREACH(k, &akeys, entry)
			if (k->open)
				json_array_append_new(open, json_pack(
				    "{s:s,s:s,s:s,s:I}", "program", k->program,
				    "event", k->event, "rule", k->rule, "since",
				    (json_int_t)k->open_since));
	}
	return (json_pack("{s:o,s:o,s:o}", "alerts", arr, "sinks", sv,
	    "open", open));
}

/*
 * Counters for metrics (new reference): alerts raised by severity, the
 * suppressed repeats, and per sink the alerts queued, sent (accepted),
 * failed (given up at max_age), the messages sent (a batch is one) and
 * the attempts that failed.
 */
json_t *
alerts_stats_json(void)
{
	json_t		*sv = json_object();
	struct sink	*s;

	TAILQ_FOREACH(s, &sinks, entry)
		if (!s->removed)
			json_object_set_new(sv, s->cfg->name, json_pack(
			    "{s:s,s:I,s:I,s:I,s:I,s:I}", "kind",
			    s->cfg->kind->name, "queued", (json_int_t)s->queued,
			    "sent", (json_int_t)s->nsent, "failed",
			    (json_int_t)s->nfailed, "messages",
			    (json_int_t)s->nmessages, "attempts_failed",
			    (json_int_t)s->nattempts_failed));
	return (json_pack("{s:{s:I,s:I,s:I},s:I,s:o}", "raised", "info",
	    (json_int_t)alerts_nraised[0], "warning",
	    (json_int_t)alerts_nraised[1], "critical",
	    (json_int_t)alerts_nraised[2], "suppressed",
	    (json_int_t)alerts_nsuppressed, "sinks", sv));
}
