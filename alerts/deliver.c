/*
 * Alerts, delivery: the alerts remembered, the sinks, their queues, the
 * attempts in flight and the outbox.
 *
 * The alerts are on one list in id order, each with a delivery per sink;
 * a delivery is queued on its sink, or held while no sink of its name is
 * configured.  A sink has one attempt in flight at a time, the oldest
 * alert first, through its kind (the table below); the kind ends each
 * attempt with exactly one sink_done().  An accepted attempt is recorded
 * in the outbox and fsync'd before anything else; a failed one is tried
 * again after an exponential, jittered backoff, or when the sink's rate
 * limit has a free slot, and an attempt that has no answer past the
 * sink's timeout and a slack is abandoned and tried again.  Alert ids
 * are reserved in the outbox ahead of use.  At a start the outbox is read
 * back (alerts_replay_cb()); it is rewritten with what is remembered
 * when it grows past OUTBOX_COMPACT.  A reload keeps each sink whose
 * configuration did not change; a changed one takes its new
 * configuration when idle; a removed one's alerts are held.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "alert-int.h"
#include "log.h"
#include "program.h"	/* TAILQ_FOREACH_SAFE */
#include "registry.h"
#include "secret.h"
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
#define DEADLINE_SLACK_MS 5000		/* past a sink's own timeout */

struct alertq		 alerts = TAILQ_HEAD_INITIALIZER(alerts);
size_t			 nalerts;
struct sinkq		 sinks = TAILQ_HEAD_INITIALIZER(sinks);
uint64_t		 alerts_next_id = 1;
/*
 * Alert ids are reserved on disk ahead of use: an "ids" record in the
 * outbox says every id up to "upto" may have been given out, and a
 * restart goes on after it.  So an id given to an alert that a full disk
 * kept out of the outbox is still never given again after a restart,
 * unless IDS_BLOCK - IDS_LOW alerts came while the disk stayed full.
 */
#define IDS_BLOCK	1000
#define IDS_LOW		500
uint64_t		 alerts_ids_reserved;	/* on disk: <= this */
int			 alerts_draining;	/* exiting: no new sends */

static void	sink_kick(struct sink *);
static void	op_finish(struct sink_op *);

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

struct sink *
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

int
alert_pending(const struct alert *a)
{
	size_t	 i;

	for (i = 0; i < a->ndeliv; i++)
		if (deliv_pending(&a->deliv[i]))
			return (1);
	return (0);
}

/* Put an alert on the list in id order. */
void
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
	if (a->id >= alerts_next_id)
		alerts_next_id = a->id + 1;
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
void
alerts_replay_cb(json_t *rec, void *arg)
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
		    (uint64_t)json_integer_value(v) >= alerts_next_id) {
			alerts_next_id = (uint64_t)json_integer_value(v) + 1;
			alerts_ids_reserved = alerts_next_id - 1;
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
void
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
void
alerts_ids_reserve(void)
{
	static uint64_t	 warned;
	uint64_t	 upto;

	if (alerts_ids_reserved >= alerts_next_id + IDS_LOW)
		return;
	upto = alerts_next_id + IDS_BLOCK;
	if (outbox_append(ids_json(upto), 1) == 0) {
		alerts_ids_reserved = upto;
		return;
	}
	if (warned != alerts_ids_reserved) {
		log_warnx("outbox: alert ids past #%llu are not reserved on "
		    "disk yet: a restart before they are may give them "
		    "again", (unsigned long long)alerts_ids_reserved);
		warned = alerts_ids_reserved;
	}
}

/* Rewrite the outbox with what is remembered. */
void
alerts_outbox_compact(void)
{
	json_t		*recs = json_array();
	struct alert	*a;
	struct akey	*k;

	if (alerts_ids_reserved > 0)
		json_array_append_new(recs, ids_json(alerts_ids_reserved));

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

void
alerts_outbox_maybe_compact(void)
{
	if (outbox_size() > OUTBOX_COMPACT)
		alerts_outbox_compact();
}

/* Put a delivery on its sink's queue, in alert order. */
void
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
void
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
void
sink_later(struct sink *s, int64_t ms)
{
	ev_timer_stop(EV_DEFAULT, &s->timer);
	ev_timer_set(&s->timer, ms > 0 ? (ev_tstamp)ms / 1000.0 : 0., 0.);
	ev_timer_start(EV_DEFAULT, &s->timer);
}

/* How many messages went within the rate window; *oldest of them. */
int
sink_rate_used(struct sink *s, int64_t now, int64_t *oldest)
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

	if (s->op != NULL || s->removed || alerts_draining)
		return;
	while ((d = TAILQ_FIRST(&s->queue)) != NULL &&
	    alert_too_old(d->alert, wall))
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
		used = sink_rate_used(s, now, &oldest);
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
	alerts_outbox_maybe_compact();
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
void
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
void
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

/* Take the sinks of a new configuration; keep those that did not change. */
void
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

	if (!alerts_started)
		return;
	alerts_draining = 1;
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
