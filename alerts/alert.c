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
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/wait.h>

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "action.h"
#include "log.h"
#include "probe.h"
#include "program.h"
#include "registry.h"
#include "secret.h"
#include "sink.h"
#include "util.h"

extern const struct sink_kind	sink_kind_wecom_robot;
extern const struct sink_kind	sink_kind_wecom_app;
extern const struct sink_kind	sink_kind_http;
extern const struct sink_kind	sink_kind_telegram;
extern const struct sink_kind	sink_kind_exec;

static const void *const kinds[] = {
	&sink_kind_wecom_robot,
	&sink_kind_wecom_app,
	&sink_kind_http,
	&sink_kind_telegram,
	&sink_kind_exec,
};
static struct registry	sink_kinds = REGISTRY_INIT(kinds);

#define ALERTS_KEEP	200		/* finished alerts remembered */
#define OUTBOX_COMPACT	(1024 * 1024)	/* bytes before a rewrite */
#define DEADLINE_SLACK_MS 5000		/* past a sink's own timeout */

struct sink {
	TAILQ_ENTRY(sink) entry;
	struct sink_config *cfg;	/* owned */
	struct sink_config *next_cfg;	/* owned: applied when idle */
	void		*kstate;	/* the kind's */
	TAILQ_HEAD(delivq, delivery) queue;	/* in alert order */
	size_t		 queued;
	struct sink_op	*op;		/* in flight, or NULL */
	ev_timer	 timer;		/* next try, or a free rate slot */
	ev_timer	 deadline;	/* of the op in flight */
	int64_t		 next_ms;	/* monotonic; 0: at once */
	time_t		 next_wall;
	unsigned int	 fails;		/* failed attempts in a row */
	int64_t		*sent_ms;	/* when messages went, a ring */
	size_t		 nring;
	size_t		 ring_next;
	uint64_t	 nsent;		/* alerts accepted */
	uint64_t	 nfailed;	/* alerts given up */
	uint64_t	 nmessages;	/* messages accepted */
	uint64_t	 nattempts_failed;	/* attempts not accepted */
	char		 error[240];	/* the last failure */
	int		 removed;	/* gone from the configuration */
};

/* What throttling and resolving remember of one kind of alert. */
struct akey {
	LIST_ENTRY(akey) entry;
	char		*key;
	char		*program;
	char		*event;
	char		*rule;
	time_t		 last;		/* the last one delivered */
	int		 last_severity;
	unsigned int	 supp;		/* suppressed since */
	time_t		 supp_since;
	int		 open;		/* raised, not resolved */
	char		*resolve_on;
	time_t		 open_since;
	char		*message;	/* of the alert that opened it */
	char		**sinks;	/* where it went */
};

/* The last health seen of each probe, by "program|probe". */
struct phealth {
	LIST_ENTRY(phealth) entry;
	char		*key;
	int		 health;
};

struct raise_req {
	int		 kind;
	int		 severity;
	const char	*program;
	const char	*event;
	const char	*rule;
	const char	*extra;		/* more of the throttle key */
	const char	*message;
	const char	*value;
	const char	*resolve_on;
	char		**sinks;	/* NULL: by the routes */
	int		 no_throttle;
	time_t		 incident_since;
	unsigned int	 carried;	/* for a resolved alert */
	time_t		 carried_since;
};

static struct alerts_config	*acfg;	/* owned, less its sinks */
static TAILQ_HEAD(alertq, alert) alerts = TAILQ_HEAD_INITIALIZER(alerts);
static size_t			 nalerts;
static TAILQ_HEAD(, sink)	 sinks = TAILQ_HEAD_INITIALIZER(sinks);
static LIST_HEAD(, akey)	 akeys = LIST_HEAD_INITIALIZER(akeys);
static LIST_HEAD(, phealth)	 phealths = LIST_HEAD_INITIALIZER(phealths);
static uint64_t			 next_id = 1;
/*
 * Alert ids are reserved on disk ahead of use: an "ids" record in the
 * outbox says every id up to "upto" may have been given out, and a
 * restart goes on after it.  So an id given to an alert that a full disk
 * kept out of the outbox is still never given again after a restart,
 * unless IDS_BLOCK - IDS_LOW alerts came while the disk stayed full.
 */
#define IDS_BLOCK	1000
#define IDS_LOW		500
static uint64_t			 ids_reserved;	/* on disk: <= this */
static int			 started;
static int			 draining;	/* exiting: no new sends */
static ev_periodic		 summary_w;
static ev_timer			 sweep_w;
static uint64_t			 nraised[3];
static uint64_t			 nsuppressed;

static void	sink_kick(struct sink *);
static void	sink_later(struct sink *, int64_t);
static void	op_finish(struct sink_op *);
static void	alerts_requeue(void);

const struct sink_kind *
sink_kind_find(const char *name)
{
	return (registry_find(&sink_kinds, name));
}

/* "wecom-robot, http, ...", for error messages. */
const char *
sink_kinds_list(void)
{
	return (registry_names(&sink_kinds));
}

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

static struct sink *
sink_find(const char *name)
{
	struct sink	*s;

	TAILQ_FOREACH(s, &sinks, entry)
		if (!s->removed && strcmp(s->cfg->name, name) == 0)
			return (s);
	return (NULL);
}

static struct alert *
alert_find(uint64_t id)
{
	struct alert	*a;

	TAILQ_FOREACH_REVERSE(a, &alerts, alertq, entry)
		if (a->id == id)
			return (a);
	return (NULL);
}

static struct delivery *
deliv_of(struct alert *a, const char *sink)
{
	size_t	 i;

	for (i = 0; i < a->ndeliv; i++)
		if (strcmp(a->deliv[i].sink, sink) == 0)
			return (&a->deliv[i]);
	return (NULL);
}

static int
deliv_pending(const struct delivery *d)
{
	return (d->state != DELIV_SENT && d->state != DELIV_FAILED);
}

static int
alert_pending(const struct alert *a)
{
	size_t	 i;

	for (i = 0; i < a->ndeliv; i++)
		if (deliv_pending(&a->deliv[i]))
			return (1);
	return (0);
}

static struct akey *
akey_get(const char *key, int create)
{
	struct akey	*k;

	LIST_FOREACH(k, &akeys, entry)
		if (strcmp(k->key, key) == 0)
			return (k);
	if (!create)
		return (NULL);
	k = xcalloc(1, sizeof(*k));
	k->key = xstrdup(key);
	k->program = xstrdup("");
	k->event = xstrdup("");
	k->rule = xstrdup("");
	k->message = xstrdup("");
	LIST_INSERT_HEAD(&akeys, k, entry);
	return (k);
}

static void
akey_free(struct akey *k)
{
	LIST_REMOVE(k, entry);
	free(k->key);
	free(k->program);
	free(k->event);
	free(k->rule);
	free(k->resolve_on);
	free(k->message);
	free_argv(k->sinks);
	free(k);
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? xstrdup(v) : NULL;
}

/* What an alert changes in its kind's throttle and incident state. */
static void
akey_apply(const struct alert *a)
{
	struct akey	*k;
	size_t		 i;

	if (a->kind != ALERT_RAISE && a->kind != ALERT_RESOLVED)
		return;
	k = akey_get(a->key, 1);
	set_str(&k->program, a->program);
	set_str(&k->event, a->event);
	set_str(&k->rule, a->rule);
	if (a->kind == ALERT_RESOLVED) {
		k->open = 0;
		k->last = 0;
		k->supp = 0;
		return;
	}
	if (a->suppressed) {
		if (k->supp++ == 0)
			k->supp_since = a->time;
		return;
	}
	k->last = a->time;
	k->last_severity = a->severity;
	k->supp = 0;
	if (a->resolve_on != NULL) {
		if (!k->open)
			k->open_since = a->time;
		k->open = 1;
		set_str(&k->resolve_on, a->resolve_on);
		set_str(&k->message, a->message);
		free_argv(k->sinks);
		k->sinks = xcalloc(a->ndeliv + 1, sizeof(char *));
		for (i = 0; i < a->ndeliv; i++)
			k->sinks[i] = xstrdup(a->deliv[i].sink);
	}
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

/* A kind's state as an outbox record, for a rewrite (new reference). */
static json_t *
akey_json(const struct akey *k)
{
	json_t	*o;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:i,s:I,s:b,s:I,s:s}",
	    "t", "key", "key", k->key, "program", k->program, "event",
	    k->event, "rule", k->rule, "last", (json_int_t)k->last,
	    "last_severity", k->last_severity, "suppressed", (int)k->supp,
	    "suppressed_since", (json_int_t)k->supp_since, "open", k->open,
	    "open_since", (json_int_t)k->open_since, "message", k->message);
	if (o == NULL)
		return (NULL);
	if (k->resolve_on != NULL)
		json_object_set_new(o, "resolve_on",
		    json_string(k->resolve_on));
	json_object_set_new(o, "sinks", strv_json(k->sinks));
	return (o);
}

/* A kind's state back from a "key" record of a rewritten outbox. */
static void
akey_from_json(const json_t *o)
{
	struct akey	*k;
	const char	*key = json_string_value(json_object_get(o, "key"));
	json_t		*v;
	size_t		 i;

	if (key == NULL)
		return;
	k = akey_get(key, 1);
#define S(f, n) set_str(&k->f, json_string_value(json_object_get(o, n)) != \
	    NULL ? json_string_value(json_object_get(o, n)) : "")
	S(program, "program");
	S(event, "event");
	S(rule, "rule");
	S(message, "message");
#undef S
	k->last = (time_t)json_integer_value(json_object_get(o, "last"));
	k->last_severity = (int)json_integer_value(json_object_get(o,
	    "last_severity"));
	k->supp = (unsigned int)json_integer_value(json_object_get(o,
	    "suppressed"));
	k->supp_since = (time_t)json_integer_value(json_object_get(o,
	    "suppressed_since"));
	k->open = json_is_true(json_object_get(o, "open"));
	k->open_since = (time_t)json_integer_value(json_object_get(o,
	    "open_since"));
	set_str(&k->resolve_on, json_string_value(json_object_get(o,
	    "resolve_on")));
	free_argv(k->sinks);
	v = json_object_get(o, "sinks");
	k->sinks = xcalloc(json_array_size(v) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(v); i++)
		k->sinks[i] = xstrdup(json_string_value(json_array_get(v, i))
		    != NULL ? json_string_value(json_array_get(v, i)) : "");
}

/* Put an alert on the list in id order. */
static void
alert_insert(struct alert *a)
{
	struct alert	*b;

	TAILQ_FOREACH_REVERSE(b, &alerts, alertq, entry)
		if (b->id < a->id)
			break;
	if (b == NULL)
		TAILQ_INSERT_HEAD(&alerts, a, entry);
	else
		TAILQ_INSERT_AFTER(&alerts, b, a, entry);
	nalerts++;
	if (a->id >= next_id)
		next_id = a->id + 1;
}

/* Forget an alert: off its sinks' queues and the list, and free it. */
static void
alert_remove(struct alert *a)
{
	struct sink	*s;
	size_t		 i;

	for (i = 0; i < a->ndeliv; i++)
		if ((s = a->deliv[i].qsink) != NULL) {
			TAILQ_REMOVE(&s->queue, &a->deliv[i], qentry);
			s->queued--;
		}
	TAILQ_REMOVE(&alerts, a, entry);
	nalerts--;
	alert_free(a);
}

/* Apply one outbox record while reading it back. */
static void
replay_cb(json_t *rec, void *arg)
{
	const char	*t = json_string_value(json_object_get(rec, "t"));
	const char	*sname;
	struct alert	*a, *old;
	struct delivery	*d;
	json_t		*ids, *v;
	char		*err;
	size_t		 i;

	(void)arg;
	if (t == NULL)
		return;
	if (strcmp(t, "alert") == 0) {
		if ((a = alert_from_json(rec, &err)) == NULL) {
			log_warnx("outbox: %s: skipped", err);
			free(err);
			return;
		}
		if ((old = alert_find(a->id)) != NULL)
			alert_remove(old);
		alert_insert(a);
		akey_apply(a);
	} else if (strcmp(t, "ids") == 0) {
		v = json_object_get(rec, "upto");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    (uint64_t)json_integer_value(v) >= next_id) {
			next_id = (uint64_t)json_integer_value(v) + 1;
			ids_reserved = next_id - 1;
		}
	} else if (strcmp(t, "sent") == 0 || strcmp(t, "failed") == 0) {
		sname = json_string_value(json_object_get(rec, "sink"));
		ids = json_object_get(rec, "ids");
		if (sname == NULL || !json_is_array(ids))
			return;
		json_array_foreach(ids, i, v) {
			if ((a = alert_find((uint64_t)json_integer_value(v))) ==
			    NULL || (d = deliv_of(a, sname)) == NULL)
				continue;
			d->state = *t == 's' ? DELIV_SENT : DELIV_FAILED;
			d->done = (time_t)json_integer_value(
			    json_object_get(rec, "time"));
			if (*t == 'f')
				snprintf(d->error, sizeof(d->error), "%s",
				    json_string_value(json_object_get(rec,
				    "error")) != NULL ? json_string_value(
				    json_object_get(rec, "error")) : "");
		}
	} else if (strcmp(t, "key") == 0)
		akey_from_json(rec);
}

/* Forget old finished alerts; keep every pending one. */
static void
alerts_prune(void)
{
	struct alert	*a, *na;

	for (a = TAILQ_FIRST(&alerts); a != NULL && nalerts > ALERTS_KEEP;
	    a = na) {
		/* The newest stays: its raiser may still look at it. */
		if ((na = TAILQ_NEXT(a, entry)) == NULL)
			break;
		if (!alert_pending(a))
			alert_remove(a);
	}
}

/* The "ids" record: ids up to upto may be in use. */
static json_t *
ids_json(uint64_t upto)
{
	return (json_pack("{s:s,s:I}", "t", "ids", "upto", (json_int_t)upto));
}

/*
 * Keep the on-disk reservation well ahead of the ids given out.  A
 * failure (a full disk) is said once per reservation and tried again at
 * the next alert.
 */
static void
ids_reserve(void)
{
	static uint64_t	 warned;
	uint64_t	 upto;

	if (ids_reserved >= next_id + IDS_LOW)
		return;
	upto = next_id + IDS_BLOCK;
	if (outbox_append(ids_json(upto), 1) == 0) {
		ids_reserved = upto;
		return;
	}
	if (warned != ids_reserved) {
		log_warnx("outbox: alert ids past #%llu are not reserved on "
		    "disk yet: a restart before they are may give them "
		    "again", (unsigned long long)ids_reserved);
		warned = ids_reserved;
	}
}

/* Rewrite the outbox with what is remembered. */
static void
outbox_compact(void)
{
	json_t		*recs = json_array();
	struct alert	*a;
	struct akey	*k;

	if (ids_reserved > 0)
		json_array_append_new(recs, ids_json(ids_reserved));

	TAILQ_FOREACH(a, &alerts, entry)
		json_array_append_new(recs, alert_to_json(a));
	LIST_FOREACH(k, &akeys, entry)
		if (k->open || k->supp > 0 || k->last != 0)
			json_array_append_new(recs, akey_json(k));
	if (outbox_rewrite(recs) == 0)
		log_debug("outbox: rewritten with %zu records",
		    json_array_size(recs));
	json_decref(recs);
}

static void
outbox_maybe_compact(void)
{
	if (outbox_size() > OUTBOX_COMPACT)
		outbox_compact();
}

/* Put a delivery on its sink's queue, in alert order. */
static void
sink_enqueue(struct sink *s, struct delivery *d)
{
	struct delivery	*e;

	if (d->queued)
		return;
	TAILQ_FOREACH_REVERSE(e, &s->queue, delivq, qentry)
		if (e->alert->id < d->alert->id)
			break;
	if (e == NULL)
		TAILQ_INSERT_HEAD(&s->queue, d, qentry);
	else
		TAILQ_INSERT_AFTER(&s->queue, e, d, qentry);
	d->queued = 1;
	d->qsink = s;
	s->queued++;
	if (d->state == DELIV_HELD || d->state == DELIV_SENDING)
		d->state = d->attempts > 0 ? DELIV_RETRYING : DELIV_QUEUED;
}

static void
sink_dequeue(struct sink *s, struct delivery *d)
{
	if (!d->queued)
		return;
	TAILQ_REMOVE(&s->queue, d, qentry);
	d->queued = 0;
	d->qsink = NULL;
	s->queued--;
}

/* Record that alerts were accepted or given up, fsync'd. */
static void
record_done(const char *sink, struct delivery **v, size_t n, int sent,
    const char *why)
{
	json_t	*ids = json_array(), *rec;
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_integer((json_int_t)
		    v[i]->alert->id));
	rec = json_pack("{s:s,s:s,s:o,s:I}", "t", sent ? "sent" : "failed",
	    "sink", sink, "ids", ids, "time", (json_int_t)time(NULL));
	if (rec != NULL && !sent)
		json_object_set_new(rec, "error", json_string(why));
	if (outbox_append(rec, 1) == -1)
		log_warnx("outbox: the %s record of alert #%llu (sink %s) is "
		    "not on disk: a restart may %s it again", sent ? "sent" :
		    "failed", (unsigned long long)v[0]->alert->id, sink,
		    sent ? "send" : "try");
}

/* Give a delivery up. */
static void
deliv_fail(struct sink *s, struct delivery *d, const char *why)
{
	if (s != NULL)
		sink_dequeue(s, d);
	d->state = DELIV_FAILED;
	d->done = time(NULL);
	snprintf(d->error, sizeof(d->error), "%s", why);
	record_done(d->sink, &d, 1, 0, why);
	if (s != NULL)
		s->nfailed++;
	log_warnx("alert #%llu to %s FAILED: %s", (unsigned long long)
	    d->alert->id, d->sink, why);
}

static int
too_old(const struct alert *a, time_t now)
{
	return ((int64_t)(now - a->time) * 1000 > acfg->max_age_ms);
}

/* The delay before attempt fails + 1: exponential, capped, jittered. */
static int64_t
retry_delay(unsigned int fails)
{
	int64_t	 d = acfg->retry_initial_ms;
	double	 j;

	while (fails-- > 1 && d < acfg->retry_max_ms)
		d *= 2;
	if (d > acfg->retry_max_ms)
		d = acfg->retry_max_ms;
	j = ((double)arc4random() / (double)UINT32_MAX - 0.5) * 0.2;
	return (d + (int64_t)((double)d * j));
}

static void
sink_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sink	*s = w->data;

	(void)loop;
	(void)revents;
	if (s->next_ms != 0 && s->next_ms <= now_ms() + 5)
		s->next_ms = 0;
	sink_kick(s);
}

/* An attempt ran past its timeout and the slack: abandon it, try again. */
static void
sink_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sink	*s = w->data;
	struct sink_op	*op = s->op;

	(void)loop;
	(void)revents;
	if (op == NULL || op->done)
		return;
	if (op->cfg->kind->cancel != NULL)
		op->cfg->kind->cancel(op);
	op->done = 1;
	op->result = SINK_RETRY;
	snprintf(op->why, sizeof(op->why), "no answer within %lld ms",
	    (long long)(op->cfg->timeout_ms + DEADLINE_SLACK_MS));
	op_finish(op);
}

/* Look at the sink again after ms (0: on the next loop iteration). */
static void
sink_later(struct sink *s, int64_t ms)
{
	ev_timer_stop(EV_DEFAULT, &s->timer);
	ev_timer_set(&s->timer, ms > 0 ? (ev_tstamp)ms / 1000.0 : 0., 0.);
	ev_timer_start(EV_DEFAULT, &s->timer);
}

/* How many messages went within the rate window; *oldest of them. */
static int
rate_used(struct sink *s, int64_t now, int64_t *oldest)
{
	size_t	 i;
	int	 n = 0;

	*oldest = 0;
	for (i = 0; i < s->nring; i++)
		if (s->sent_ms[i] != 0 && now - s->sent_ms[i] <
		    s->cfg->rate_window_ms) {
			n++;
			if (*oldest == 0 || s->sent_ms[i] < *oldest)
				*oldest = s->sent_ms[i];
		}
	return (n);
}

static void
rate_note(struct sink *s, int64_t t)
{
	if (s->nring == 0)
		return;
	s->sent_ms[s->ring_next] = t;
	s->ring_next = (s->ring_next + 1) % s->nring;
}

/* Give a sink a (new) configuration; its kind's state starts afresh. */
static void
sink_set_cfg(struct sink *s, struct sink_config *sc)
{
	if (s->cfg != NULL && s->kstate != NULL &&
	    s->cfg->kind->reset != NULL)
		s->cfg->kind->reset(s->kstate);
	s->kstate = NULL;
	sink_config_free(s->cfg);
	s->cfg = sc;
	free(s->sent_ms);
	s->nring = sc->rate_limit > 0 ? (size_t)sc->rate_limit : 0;
	s->sent_ms = xcalloc(s->nring + 1, sizeof(*s->sent_ms));
	s->ring_next = 0;
	s->fails = 0;
	s->next_ms = 0;
}

/*
 * Deliver what waits, if nothing is in flight, the backoff has passed and
 * the rate allows.  Alerts older than max_age are given up first.
 */
static void
sink_kick(struct sink *s)
{
	struct delivery	*d;
	struct sink_op	*op;
	int64_t		 now, oldest;
	time_t		 wall = time(NULL);
	size_t		 n, i;
	int		 used, left = 0;

	if (s->op != NULL || s->removed || draining)
		return;
	while ((d = TAILQ_FIRST(&s->queue)) != NULL && too_old(d->alert, wall))
		deliv_fail(s, d, "not delivered within max_age");
	if (d == NULL)
		return;
	now = now_ms();
	if (s->next_ms > now) {
		sink_later(s, s->next_ms - now);
		return;
	}
	s->next_ms = 0;
	if (s->cfg->rate_limit > 0) {
		used = rate_used(s, now, &oldest);
		if (used >= s->cfg->rate_limit) {
			sink_later(s, oldest + s->cfg->rate_window_ms - now);
			return;
		}
		left = s->cfg->rate_limit - used;
	}
	/*
	 * More waiting than the rate has slots left: combine (the kind puts
	 * as many as fit in one message), or the backlog would drain at
	 * one alert a slot.
	 */
	n = 1;
	if (s->cfg->kind->batch && s->cfg->rate_limit > 0 &&
	    s->queued > (size_t)left)
		n = s->queued < SINK_MAX_BATCH ? s->queued : SINK_MAX_BATCH;
	op = xcalloc(1, sizeof(*op));
	op->sink = s;
	op->cfg = s->cfg;
	op->kstate = &s->kstate;
	op->alerts = xcalloc(n, sizeof(*op->alerts));
	for (i = 0, d = TAILQ_FIRST(&s->queue); i < n && d != NULL;
	    i++, d = TAILQ_NEXT(d, qentry)) {
		op->alerts[i] = d->alert;
		d->state = DELIV_SENDING;
		d->attempts++;
	}
	op->n = i;
	s->op = op;
	ev_timer_set(&s->deadline, (ev_tstamp)(s->cfg->timeout_ms +
	    DEADLINE_SLACK_MS) / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT, &s->deadline);
	op->in_send = 1;
	s->cfg->kind->send(op);
	op->in_send = 0;
	if (op->done)
		op_finish(op);
}

/* A sink kind says how an attempt went; scrubbed of its secrets. */
void
sink_done(struct sink_op *op, int result, const char *fmt, ...)
{
	va_list		 ap;
	const char	*sv[sizeof(op->secrets) / sizeof(op->secrets[0]) + 1];
	char		*s;
	size_t		 i, n = 0;

	if (op->done)
		return;
	op->done = 1;
	op->result = result;
	op->why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(op->why, sizeof(op->why), fmt, ap);
		va_end(ap);
	}
	for (i = 0; i < sizeof(op->secrets) / sizeof(op->secrets[0]); i++)
		if (op->secrets[i] != NULL)
			sv[n++] = op->secrets[i];
	sv[n] = NULL;
	s = secret_scrub(op->why, strlen(op->why), sv, NULL);
	snprintf(op->why, sizeof(op->why), "%s", s);
	free(s);
	utf8_sanitize(op->why, strlen(op->why));
	if (op->in_send)
		return;		/* sink_kick() carries on */
	op_finish(op);
}

/* Remember a secret of this attempt, to scrub from what it reports. */
void
sink_op_secret(struct sink_op *op, const char *secret)
{
	size_t	 i;

	for (i = 0; i < sizeof(op->secrets) / sizeof(op->secrets[0]); i++)
		if (op->secrets[i] == NULL) {
			op->secrets[i] = xstrdup(secret);
			return;
		}
}

static void
op_free(struct sink_op *op)
{
	size_t	 i;

	for (i = 0; i < sizeof(op->secrets) / sizeof(op->secrets[0]); i++)
		if (op->secrets[i] != NULL) {
			explicit_bzero(op->secrets[i], strlen(op->secrets[i]));
			free(op->secrets[i]);
		}
	free(op->alerts);
	free(op);
}

static void sink_free(struct sink *);

/*
 * An attempt ended.  Accepted: recorded (fsync'd) before anything else.
 * Not accepted: every alert of it waits for the next try.
 */
static void
op_finish(struct sink_op *op)
{
	struct sink	*s = op->sink;
	struct delivery	*d, **v;
	size_t		 i, taken;
	int64_t		 now = now_ms(), delay;
	time_t		 wall = time(NULL);

	ev_timer_stop(EV_DEFAULT, &s->deadline);
	v = xcalloc(op->n + 1, sizeof(*v));
	for (i = 0; i < op->n; i++)
		v[i] = deliv_of(op->alerts[i], s->cfg->name);
	/* The alerts the message did not carry were not attempted. */
	taken = op->taken == 0 ? 1 : op->taken > op->n ? op->n : op->taken;
	for (i = taken; i < op->n; i++) {
		v[i]->attempts--;
		v[i]->state = v[i]->attempts > 0 ? DELIV_RETRYING :
		    DELIV_QUEUED;
	}
	if (op->result == SINK_OK) {
		record_done(s->cfg->name, v, taken, 1, NULL);
		for (i = 0; i < taken; i++) {
			d = v[i];
			sink_dequeue(s, d);
			d->state = DELIV_SENT;
			d->done = wall;
			d->error[0] = '\0';
		}
		rate_note(s, now);
		s->nsent += taken;
		s->nmessages++;
		s->fails = 0;
		s->next_ms = 0;
		s->error[0] = '\0';
		if (taken > 1)
			log_info("alerts #%llu..#%llu sent to %s in one "
			    "message%s%s",
			    (unsigned long long)v[0]->alert->id,
			    (unsigned long long)v[taken - 1]->alert->id,
			    s->cfg->name, *op->why != '\0' ? ": " : "",
			    op->why);
		else
			log_info("alert #%llu sent to %s%s%s",
			    (unsigned long long)v[0]->alert->id, s->cfg->name,
			    *op->why != '\0' ? ": " : "", op->why);
	} else {
		for (i = 0; i < taken; i++) {
			v[i]->state = DELIV_RETRYING;
			snprintf(v[i]->error, sizeof(v[i]->error), "%s",
			    op->why);
		}
		snprintf(s->error, sizeof(s->error), "%s", op->why);
		s->fails++;
		s->nattempts_failed++;
		delay = retry_delay(s->fails);
		if (op->result == SINK_RATE_LIMITED && s->nring > 0) {
			/* The service says the window is full: so it is. */
			for (i = 0; i < s->nring; i++)
				rate_note(s, now);
			delay = 0;
		}
		s->next_ms = now + delay;
		s->next_wall = wall + (time_t)((delay + 999) / 1000);
		if (op->result == SINK_RATE_LIMITED && s->nring > 0)
			log_warnx("alert #%llu to %s: attempt %u failed: %s; "
			    "next try when the rate limit allows",
			    (unsigned long long)v[0]->alert->id, s->cfg->name,
			    v[0]->attempts, op->why);
		else
			log_warnx("alert #%llu to %s: attempt %u failed: %s; "
			    "next try in %lld ms", (unsigned long long)
			    v[0]->alert->id, s->cfg->name, v[0]->attempts,
			    op->why, (long long)delay);
	}
	free(v);
	s->op = NULL;
	op_free(op);
	if (s->removed) {
		sink_free(s);
		alerts_requeue();
		return;
	}
	if (s->next_cfg != NULL) {
		sink_set_cfg(s, s->next_cfg);
		s->next_cfg = NULL;
	}
	alerts_prune();
	outbox_maybe_compact();
	sink_later(s, s->next_ms > now ? s->next_ms - now : 0);
}

/* A sink for a configuration (taken), idle, with an empty queue. */
static struct sink *
sink_new(struct sink_config *sc)
{
	struct sink	*s;

	s = xcalloc(1, sizeof(*s));
	TAILQ_INIT(&s->queue);
	ev_timer_init(&s->timer, sink_timer_cb, 0., 0.);
	s->timer.data = s;
	ev_timer_init(&s->deadline, sink_deadline_cb, 0., 0.);
	s->deadline.data = s;
	sink_set_cfg(s, sc);
	TAILQ_INSERT_TAIL(&sinks, s, entry);
	return (s);
}

/* Free a sink; what waits on it is held for a sink of its name. */
static void
sink_free(struct sink *s)
{
	struct delivery	*d;

	if (s->op != NULL) {
		if (s->op->cfg->kind->cancel != NULL && !s->op->done)
			s->op->cfg->kind->cancel(s->op);
		op_free(s->op);
		s->op = NULL;
	}
	while ((d = TAILQ_FIRST(&s->queue)) != NULL) {
		sink_dequeue(s, d);
		d->state = DELIV_HELD;
	}
	ev_timer_stop(EV_DEFAULT, &s->timer);
	ev_timer_stop(EV_DEFAULT, &s->deadline);
	if (s->kstate != NULL && s->cfg->kind->reset != NULL)
		s->cfg->kind->reset(s->kstate);
	sink_config_free(s->cfg);
	sink_config_free(s->next_cfg);
	free(s->sent_ms);
	TAILQ_REMOVE(&sinks, s, entry);
	free(s);
}

/* Queue every held or unfinished delivery whose sink exists. */
static void
alerts_requeue(void)
{
	struct alert	*a;
	struct sink	*s;
	struct delivery	*d;
	size_t		 i;

	TAILQ_FOREACH(a, &alerts, entry)
		for (i = 0; i < a->ndeliv; i++) {
			d = &a->deliv[i];
			if (!deliv_pending(d) || d->queued)
				continue;
			if ((s = sink_find(d->sink)) == NULL)
				d->state = DELIV_HELD;
			else
				sink_enqueue(s, d);
		}
	TAILQ_FOREACH(s, &sinks, entry)
		if (!s->removed && s->op == NULL)
			sink_later(s, 0);
}

static int
strv_has(char **v, const char *s)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

static void
strv_add(char ***v, size_t *n, const char *s)
{
	if (strv_has(*v, s))
		return;
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* Every configured sink's name (a new vector, NULL if none). */
static char **
all_sinks(void)
{
	struct sink	*s;
	char		**v = NULL;
	size_t		  n = 0;

	TAILQ_FOREACH(s, &sinks, entry)
		if (!s->removed)
			strv_add(&v, &n, s->cfg->name);
	return (v);
}

/* Whether a route takes an alert: severity, event and program glob. */
static int
route_matches(const struct route *r, const struct alert *a)
{
	size_t	 i;

	if (a->severity < r->min_severity)
		return (0);
	if (r->events != NULL && !strv_has(r->events, a->event))
		return (0);
	if (r->programs == NULL)
		return (1);
	for (i = 0; r->programs[i] != NULL; i++)
		if (fnmatch(r->programs[i], a->program, 0) == 0)
			return (1);
	return (0);
}

/* The sinks an alert goes to (a new vector). */
static char **
route(const struct alert *a)
{
	char		**v = NULL;
	size_t		  n = 0, i, j;

	if (!acfg->has_routes)
		return (all_sinks());
	for (i = 0; i < acfg->nroutes; i++)
		if (route_matches(&acfg->routes[i], a))
			for (j = 0; acfg->routes[i].sinks[j] != NULL; j++)
				strv_add(&v, &n, acfg->routes[i].sinks[j]);
	return (v);
}

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
static struct alert *
alert_raise(const struct raise_req *r)
{
	struct alert	*a;
	struct akey	*k;
	struct sink	*s;
	char		**to, *list;
	size_t		 i, n, len;
	time_t		 now = time(NULL);

	a = xcalloc(1, sizeof(*a));
	a->id = next_id++;
	ids_reserve();
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
	k = a->kind == ALERT_RAISE ? akey_get(a->key, 0) : NULL;
	if (k != NULL && !r->no_throttle && acfg->throttle_ms > 0 &&
	    k->last != 0 && (int64_t)(now - k->last) * 1000 <
	    acfg->throttle_ms && a->severity <= k->last_severity) {
		a->suppressed = 1;
		akey_apply(a);
		nsuppressed++;
		alert_insert(a);
		outbox_append(alert_to_json(a), 0);
		log_info("alert #%llu %s %s: suppressed (a repeat within the "
		    "throttle; %u so far): %s", (unsigned long long)a->id,
		    a->program, a->event, k->supp, a->message);
		alerts_prune();
		return (a);
	}
	if (k != NULL && k->supp > 0 && a->kind == ALERT_RAISE) {
		a->carried = k->supp;
		a->carried_since = k->supp_since;
	}
	to = r->sinks != NULL ? NULL : route(a);
	n = 0;
	for (i = 0; r->sinks != NULL && r->sinks[i] != NULL; i++)
		strv_add(&to, &n, r->sinks[i]);
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
		nraised[a->severity]++;
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
	outbox_maybe_compact();
	return (a);
}

/* A duration in seconds, for people ("12 min"). */
static void
dur_text(int64_t s, char *buf, size_t len)
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

/* A condition cleared: resolve the open alerts it closes. */
static void
alerts_resolve(const char *program, const char *cond, const char *why)
{
	struct akey		*k, *nk;
	struct raise_req	 r;
	char			*msg, took[32];

	for (k = LIST_FIRST(&akeys); k != NULL; k = nk) {
		nk = LIST_NEXT(k, entry);
		if (!k->open || k->resolve_on == NULL ||
		    strcmp(k->resolve_on, cond) != 0 ||
		    strcmp(k->program, program) != 0)
			continue;
		if (!acfg->resolved) {
			k->open = 0;
			k->last = 0;
			k->supp = 0;
			continue;
		}
		dur_text((int64_t)(time(NULL) - k->open_since), took,
		    sizeof(took));
		xasprintf(&msg, "%s, after %s (it was: %s)", why, took,
		    k->message);
		memset(&r, 0, sizeof(r));
		r.kind = ALERT_RESOLVED;
		r.severity = k->last_severity;
		r.program = k->program;
		r.event = k->event;
		r.rule = k->rule;
		r.extra = strrchr(k->key, '|') + 1;
		r.message = msg;
		r.sinks = k->sinks;
		r.incident_since = k->open_since;
		r.carried = k->supp;
		r.carried_since = k->supp_since;
		/* A resolved alert goes where its incident went, or nowhere. */
		if (r.sinks != NULL && r.sinks[0] != NULL)
			alert_raise(&r);
		else {
			k->open = 0;
			k->last = 0;
			k->supp = 0;
		}
		free(msg);
	}
}

/* A program event from the state machine: FATAL, exit, OOM kill. */
void
alerts_program_event(struct program *p, int ev, const char *why)
{
	struct raise_req	 r;
	char			 value[32], *msg;
	int			 st = p->exit_status;

	if (!started)
		return;
	memset(&r, 0, sizeof(r));
	r.program = p->pc->name;
	value[0] = '\0';
	if (p->exit_known && st != PROGRAM_EXIT_UNKNOWN) {
		if (WIFEXITED(st))
			snprintf(value, sizeof(value), "%d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			snprintf(value, sizeof(value), "SIG%s",
			    signal_name(WTERMSIG(st)));
	}
	r.value = value;
	switch (ev) {
	case RULE_ON_FATAL:
		r.event = "fatal";
		r.severity = ALERT_CRITICAL;
		r.resolve_on = "running";
		xasprintf(&msg, "FATAL: %s; gave up after %d start retries",
		    why, p->pc->startretries);
		break;
	case RULE_ON_OOM:
		/* At the exit, or moments later when the kernel's line came. */
		r.event = "oom";
		r.severity = ALERT_CRITICAL;
		xasprintf(&msg, "killed by the OOM killer: %s", why);
		break;
	case RULE_ON_EXIT:
		if (p->exit_oom)
			return;		/* the oom event said it */
		r.event = "exit";
		r.severity = ALERT_WARNING;
		xasprintf(&msg, "exited unexpectedly: %s", why);
		break;
	default:
		return;
	}
	r.message = msg;
	alert_raise(&r);
	free(msg);
}

/* A program changed state: running again resolves a FATAL. */
void
alerts_program_changed(struct program *p)
{
	char	 why[64];

	if (!started || p->state != PROGRAM_RUNNING)
		return;
	snprintf(why, sizeof(why), "running again, pid %ld", (long)p->pid);
	alerts_resolve(p->pc->name, "running", why);
}

/* A probe result: a change of health raises or resolves. */
void
alerts_probe_result(struct probe *pr)
{
	struct phealth		*ph;
	struct raise_req	 r;
	char			*key, *msg, cond[96], value[32];
	int			 prev;

	if (!started)
		return;
	if (pr->status == PROBE_OK) {
		snprintf(cond, sizeof(cond), "probe-ok:%s", pr->cfg->name);
		xasprintf(&msg, "probe %s is good again: %s", pr->cfg->name,
		    pr->reason);
		alerts_resolve(pr->prog->pc->name, cond, msg);
		free(msg);
	}
	xasprintf(&key, "%s|%s", pr->prog->pc->name, pr->cfg->name);
	LIST_FOREACH(ph, &phealths, entry)
		if (strcmp(ph->key, key) == 0)
			break;
	if (ph == NULL) {
		ph = xcalloc(1, sizeof(*ph));
		ph->key = key;
		ph->health = PROBE_UNKNOWN;
		LIST_INSERT_HEAD(&phealths, ph, entry);
	} else
		free(key);
	prev = ph->health;
	if (pr->health == prev || pr->health == PROBE_UNKNOWN)
		return;
	ph->health = pr->health;
	snprintf(cond, sizeof(cond), "probe:%s", pr->cfg->name);
	if (pr->health == PROBE_HEALTHY) {
		xasprintf(&msg, "probe %s is healthy again: %s", pr->cfg->name,
		    pr->reason);
		alerts_resolve(pr->prog->pc->name, cond, msg);
		free(msg);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.program = pr->prog->pc->name;
	r.event = "probe";
	r.rule = pr->cfg->name;
	r.severity = pr->health == PROBE_HUNG ? ALERT_CRITICAL : ALERT_WARNING;
	r.resolve_on = cond;
	value[0] = '\0';
	if (pr->has_value)
		snprintf(value, sizeof(value), "%g", pr->value);
	r.value = value;
	xasprintf(&msg, "probe %s is %s: %s", pr->cfg->name,
	    probe_health_name(pr->health), pr->reason);
	r.message = msg;
	alert_raise(&r);
	free(msg);
}

/* A chain action ended (it is in the journal too). */
void
alerts_action_outcome(struct program *p, const char *rule,
    const char *action, int ok, const char *result)
{
	struct raise_req	 r;
	char			*msg;

	if (!started)
		return;
	memset(&r, 0, sizeof(r));
	r.program = p->pc->name;
	r.event = "action";
	r.rule = rule;
	r.extra = ok ? "ok" : "failed";
	r.severity = ok ? ALERT_INFO : ALERT_CRITICAL;
	xasprintf(&msg, "rule %s: action %s %s: %s", rule, action,
	    ok ? "done" : "FAILED", result);
	r.message = msg;
	alert_raise(&r);
	free(msg);
}

/*
 * The alert action of a rule; *out says what became of it (for the
 * journal).  Returns the alert's id.
 */
uint64_t
alerts_raise_rule(struct program *p, const char *rule, int severity,
    const char *message, const char *why, const char *resolve_on,
    char *out, size_t outlen)
{
	struct raise_req	 r;
	struct alert		*a;
	char			*msg, value[32];
	size_t			 i, k;

	if (!started) {
		snprintf(out, outlen, "logged (alerts are not running)");
		return (0);
	}
	memset(&r, 0, sizeof(r));
	r.program = p->pc->name;
	r.event = "alert";
	r.rule = rule;
	r.severity = severity;
	r.resolve_on = resolve_on;
	value[0] = '\0';
	if (resolve_on != NULL && strncmp(resolve_on, "probe", 5) == 0)
		for (i = 0; i < p->nprobes; i++)
			if (strcmp(p->probes[i]->cfg->name, strchr(resolve_on,
			    ':') + 1) == 0 && p->probes[i]->has_value)
				snprintf(value, sizeof(value), "%g",
				    p->probes[i]->value);
	r.value = value;
	if (message != NULL && *message != '\0')
		xasprintf(&msg, "%s: %s", message, why);
	else
		msg = xstrdup(why);
	r.message = msg;
	a = alert_raise(&r);
	free(msg);
	if (a->suppressed)
		snprintf(out, outlen, "alert #%llu suppressed (a repeat within "
		    "the throttle)", (unsigned long long)a->id);
	else if (a->ndeliv == 0)
		snprintf(out, outlen, "alert #%llu: no sink takes it",
		    (unsigned long long)a->id);
	else {
		k = (size_t)snprintf(out, outlen, "alert #%llu queued for",
		    (unsigned long long)a->id);
		for (i = 0; i < a->ndeliv && k < outlen; i++)
			k += (size_t)snprintf(out + k, outlen - k, "%s %s",
			    i > 0 ? "," : "", a->deliv[i].sink);
	}
	return (a->id);
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
			dur_text((now_ms() - p->start_ms) / 1000, up,
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
		r.sinks = all = all_sinks();
	a = alert_raise(&r);
	free_argv(all);
	free(line);
	return (a);
}

/* Set the summary's timer to the next configured hour. */
static void
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

static void
summary_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	summary_raise();
	summary_arm();
}

/* Every minute: give up held deliveries past max_age. */
static void
sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct alert	*a;
	size_t		 i;
	time_t		 now = time(NULL);

	(void)loop;
	(void)w;
	(void)revents;
	TAILQ_FOREACH(a, &alerts, entry) {
		if (!too_old(a, now))
			continue;
		for (i = 0; i < a->ndeliv; i++)
			if (a->deliv[i].state == DELIV_HELD)
				deliv_fail(NULL, &a->deliv[i], "not delivered "
				    "within max_age: its sink is not "
				    "configured");
	}
	alerts_prune();
}

/* Take the sinks of a new configuration; keep those that did not change. */
static void
sinks_reconcile(struct alerts_config *nc)
{
	struct sink		*s, *ns;
	struct sink_config	*sc;
	size_t			 i;

	TAILQ_FOREACH_SAFE(s, &sinks, entry, ns) {
		if (s->removed)
			continue;
		for (i = 0; i < nc->nsinks; i++)
			if (nc->sinks[i] != NULL &&
			    strcmp(nc->sinks[i]->name, s->cfg->name) == 0)
				break;
		if (i == nc->nsinks) {
			log_info("alerts: sink %s removed; its %zu waiting "
			    "alerts are held", s->cfg->name, s->queued);
			if (s->op != NULL)
				s->removed = 1;	/* freed after the op */
			else
				sink_free(s);
			continue;
		}
		sc = nc->sinks[i];
		nc->sinks[i] = NULL;
		if (sc->kind == s->cfg->kind && json_equal(sc->params,
		    s->cfg->params) && sc->timeout_ms == s->cfg->timeout_ms &&
		    sc->rate_limit == s->cfg->rate_limit &&
		    sc->rate_window_ms == s->cfg->rate_window_ms) {
			sink_config_free(sc);
			continue;
		}
		log_info("alerts: sink %s changed", sc->name);
		if (s->op != NULL) {
			sink_config_free(s->next_cfg);
			s->next_cfg = sc;
		} else
			sink_set_cfg(s, sc);
	}
	for (i = 0; i < nc->nsinks; i++)
		if (nc->sinks[i] != NULL) {
			sink_new(nc->sinks[i]);
			nc->sinks[i] = NULL;
		}
	free(nc->sinks);
	nc->sinks = NULL;
	nc->nsinks = 0;
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

	if (started)
		alerts_stop();
	acfg = *cfgp;
	*cfgp = NULL;
	if (acfg == NULL)
		acfg = alerts_config_parse(NULL, NULL, NULL);
	ev_periodic_init(&summary_w, summary_cb, 0., 0., NULL);
	ev_timer_init(&sweep_w, sweep_cb, 60., 60.);
	rc = outbox_open(state_dir, replay_cb, NULL);
	if (rc == 0)
		ids_reserve();
	sinks_reconcile(acfg);
	started = 1;
	TAILQ_FOREACH(a, &alerts, entry)
		if (alert_pending(a))
			pending++;
	if (pending > 0)
		log_info("alerts: %zu alerts from the outbox are not delivered "
		    "yet: resuming", pending);
	alerts_requeue();
	alerts_prune();
	if (rc == 0 && outbox_size() > OUTBOX_COMPACT / 16)
		outbox_compact();
	ev_timer_start(EV_DEFAULT, &sweep_w);
	summary_arm();
	return (rc);
}

/* A reload: the new configuration (*cfgp is taken). */
void
alerts_configure(struct alerts_config **cfgp)
{
	struct alerts_config	*nc = *cfgp;

	if (!started)
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

static void
flush_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/*
 * At a clean shutdown, after the main loop ended: start nothing new, and
 * give the sends in flight up to ms to finish, so that an alert a sink
 * accepted is recorded as sent and not sent again by the next start.
 */
void
alerts_flush(int64_t ms)
{
	struct sink	*s;
	ev_timer	 t;
	int64_t		 end = now_ms() + ms;
	int		 busy;

	if (!started)
		return;
	draining = 1;
	ev_timer_init(&t, flush_timer_cb, 0.05, 0.05);
	ev_timer_start(EV_DEFAULT, &t);
	for (;;) {
		busy = 0;
		TAILQ_FOREACH(s, &sinks, entry)
			if (s->op != NULL)
				busy = 1;
		if (!busy || now_ms() >= end)
			break;
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	}
	ev_timer_stop(EV_DEFAULT, &t);
	if (busy)
		log_warnx("alerts: sends still in flight at exit are tried "
		    "again at the next start (a sink may see them twice)");
}

/* Stop: what is in flight is abandoned, and resumed by the next start. */
void
alerts_stop(void)
{
	struct sink	*s;
	struct alert	*a;
	struct akey	*k;
	struct phealth	*ph;

	if (!started)
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
	next_id = 1;
	ids_reserved = 0;
	started = 0;
	draining = 0;
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
	if (!started) {
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
		strv_add(&v, &n, json_string_value(e));
	}
	if (v == NULL)
		v = all_sinks();
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
	if (!started) {
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
	else if (s->cfg->rate_limit > 0 && rate_used((struct sink *)s, now,
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

	if (started) {
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
	    (json_int_t)nraised[0], "warning", (json_int_t)nraised[1],
	    "critical", (json_int_t)nraised[2], "suppressed",
	    (json_int_t)nsuppressed, "sinks", sv));
}
