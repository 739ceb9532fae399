/*
 * Alerts: raised by events, throttled, routed, and delivered so that none
 * is lost.
 *
 * An event (a program went FATAL, exited unexpectedly or was OOM-killed, a
 * probe became failing or hung, an alert action ran, a chain action ended)
 * raises an alert.  A repeat of the same kind (program, event, rule)
 * within the throttle window is suppressed and counted; the next one that
 * goes out carries the count.  An alert whose condition clears (the probe
 * is healthy again, the FATAL program runs again) is followed by a
 * "resolved" alert to the same sinks.  The routes pick the sinks.
 *
 * Each alert is written to the outbox and fsync'd before the first attempt
 * to deliver it.  Each sink has a queue and delivers in order: the next
 * alert waits for the one before.  A failed attempt is tried again after an
 * exponential backoff, until the sink accepts it (recorded and fsync'd at
 * once) or the alert is older than max_age (recorded as failed).  A sink
 * with a rate limit waits for a free slot, and a sink kind that can
 * combines what waits into one message.  After a restart, the outbox is
 * read back and every delivery not yet accepted is resumed.
 *
 * This file is the module's core: it raises an alert (alert_raise():
 * throttle, route, write to the outbox, queue on the sinks) and starts,
 * reconfigures and stops the module.  The rest is in route.c (which event
 * raises which alert, the incidents it opens and resolves, the routes),
 * throttle.c (what is remembered of each kind of alert: repeats, open
 * incidents; max_age), deliver.c (the sinks, their queues, the attempts
 * in flight, the outbox) and summary.c (the daily summary, and what
 * chainkeeperctl alerts and the metrics see).  alert-int.h is what they
 * share; alert.h is all that the rest of chainkeeperd uses.
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
#include "log.h"
#include "util.h"

struct alerts_config	*acfg;	/* owned, less its sinks */
int			 alerts_started;
uint64_t		 alerts_nraised[3];
static ev_timer		 sweep_w;

static char *
clean(const char *s)
{
	char	*c = xstrdup(s != NULL ? s : "");

	utf8_sanitize(c, strlen(c));
	return (c);
}

/*
 * Raise an alert: throttle it, route it, write it to the outbox (fsync'd)
 * and queue it on its sinks.  Returns the alert (owned by the list).
 */
struct alert *
alert_raise(const struct raise_req *r)
{
	struct alert	*a;
	struct sink	*s;
	char		**to, *list;
	size_t		 i, n, len;
	time_t		 now = time(NULL);

	a = xcalloc(1, sizeof(*a));
	a->id = alerts_next_id++;
	alerts_ids_reserve();
	a->time = now;
	a->kind = r->kind;
	a->severity = r->severity;
	a->host = clean(acfg->host);
	a->program = clean(r->program);
	a->event = clean(r->event);
	a->rule = clean(r->rule);
	a->message = clean(r->message);
	a->value = clean(r->value);
	a->resolve_on = r->resolve_on != NULL ? xstrdup(r->resolve_on) : NULL;
	a->incident_since = r->incident_since;
	a->carried = r->carried;
	a->carried_since = r->carried_since;
	xasprintf(&a->key, "%s|%s|%s|%s", a->program, a->event, a->rule,
	    r->extra != NULL ? r->extra : "");
	if (alert_throttle(a, r->no_throttle))
		return (a);
	to = r->sinks != NULL ? NULL : alerts_route(a);
	n = 0;
	for (i = 0; r->sinks != NULL && r->sinks[i] != NULL; i++)
		alerts_strv_add(&to, &n, r->sinks[i]);
	for (n = 0; to != NULL && to[n] != NULL; n++)
		;
	a->deliv = xcalloc(n + 1, sizeof(*a->deliv));
	len = 1;
	for (i = 0; i < n; i++) {
		a->deliv[i].alert = a;
		a->deliv[i].sink = xstrdup(to[i]);
		a->deliv[i].state = DELIV_QUEUED;
		len += strlen(to[i]) + 2;
	}
	a->ndeliv = n;
	list = xcalloc(1, len);
	for (i = 0, len = 0; i < n; i++)
		len += (size_t)sprintf(list + len, "%s%s", i > 0 ? ", " : "",
		    to[i]);
	free_argv(to);
	akey_apply(a);
	if (a->severity >= 0 && a->severity <= ALERT_CRITICAL)
		alerts_nraised[a->severity]++;
	alert_insert(a);
	if (outbox_append(alert_to_json(a), n > 0) == -1 && n > 0)
		log_warnx("outbox: alert #%llu is not on disk: it is "
		    "delivered, but would not survive a restart",
		    (unsigned long long)a->id);
	/* One line in the log: the message's first. */
	log_info("alert #%llu (%s%s) %s%s%s%s%s: %.*s%s: %s%s",
	    (unsigned long long)a->id, a->kind == ALERT_RAISE ?
	    alerts_severity_name(a->severity) : alert_kind_name(a->kind),
	    a->carried > 0 ? ", with repeats" : "", a->program,
	    *a->program != '\0' ? " " : "", a->event,
	    *a->rule != '\0' ? " " : "", a->rule,
	    (int)strcspn(a->message, "\n"), a->message,
	    strchr(a->message, '\n') != NULL ? " ..." : "",
	    n > 0 ? "to " : "", n > 0 ? list : "no sink");
	free(list);
	for (i = 0; i < n; i++) {
		if ((s = sink_find(a->deliv[i].sink)) == NULL) {
			a->deliv[i].state = DELIV_HELD;
			continue;
		}
		sink_enqueue(s, &a->deliv[i]);
		/* Sent from the loop: what else is raised now may join. */
		if (s->op == NULL)
			sink_later(s, 0);
	}
	alerts_prune();
	alerts_outbox_maybe_compact();
	return (a);
}

/*
 * Start: read the outbox back, take the sinks of the configuration
 * (*cfgp is taken), and resume every delivery not yet accepted.
 */
int
alerts_start(const char *state_dir, struct alerts_config **cfgp)
{
	struct alert	*a;
	size_t		 pending = 0;
	int		 rc;

	if (alerts_started)
		alerts_stop();
	acfg = *cfgp;
	*cfgp = NULL;
	if (acfg == NULL)
		acfg = alerts_config_parse(NULL, NULL, NULL);
	ev_periodic_init(&summary_w, summary_cb, 0., 0., NULL);
	ev_timer_init(&sweep_w, alerts_sweep_cb, 60., 60.);
	rc = outbox_open(state_dir, alerts_replay_cb, NULL);
	if (rc == 0)
		alerts_ids_reserve();
	sinks_reconcile(acfg);
	alerts_started = 1;
	TAILQ_FOREACH(a, &alerts, entry)
		if (alert_pending(a))
			pending++;
	if (pending > 0)
		log_info("alerts: %zu alerts from the outbox are not delivered "
		    "yet: resuming", pending);
	alerts_requeue();
	alerts_prune();
	if (rc == 0 && outbox_size() > OUTBOX_COMPACT / 16)
		alerts_outbox_compact();
	ev_timer_start(EV_DEFAULT, &sweep_w);
	summary_arm();
	return (rc);
}

/* A reload: the new configuration (*cfgp is taken). */
void
alerts_configure(struct alerts_config **cfgp)
{
	struct alerts_config	*nc = *cfgp;

	if (!alerts_started)
		return;
	*cfgp = NULL;
	if (nc == NULL)		/* the section is gone: no sinks */
		nc = alerts_config_parse(NULL, NULL, NULL);
	sinks_reconcile(nc);
	alerts_config_free(acfg);
	acfg = nc;
	alerts_requeue();
	summary_arm();
}

/* Stop: what is in flight is abandoned, and resumed by the next start. */
void
alerts_stop(void)
{
	struct sink	*s;
	struct alert	*a;
	struct akey	*k;
	struct phealth	*ph;

	if (!alerts_started)
		return;
	while ((s = TAILQ_FIRST(&sinks)) != NULL)
		sink_free(s);
	while ((a = TAILQ_FIRST(&alerts)) != NULL) {
		TAILQ_REMOVE(&alerts, a, entry);
		alert_free(a);
	}
	nalerts = 0;
	while ((k = LIST_FIRST(&akeys)) != NULL)
		akey_free(k);
	while ((ph = LIST_FIRST(&phealths)) != NULL) {
		LIST_REMOVE(ph, entry);
		free(ph->key);
		free(ph);
	}
	ev_periodic_stop(EV_DEFAULT, &summary_w);
	ev_timer_stop(EV_DEFAULT, &sweep_w);
	outbox_close();
	alerts_config_free(acfg);
	acfg = NULL;
	alerts_next_id = 1;
	alerts_ids_reserved = 0;
	alerts_started = 0;
	alerts_draining = 0;
}
