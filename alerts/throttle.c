/*
 * Alerts, throttling: what is remembered of each kind of alert (its
 * program, event, rule and detail: the key), and what that decides.
 *
 * A raised alert whose kind was delivered less than throttle ago, no
 * more severe than that one, is a repeat: it is suppressed (counted and
 * written to the outbox, not delivered), and the next alert of the kind
 * that goes out carries the count.  The same record says whether the
 * kind has an open incident, since when, why, and to which sinks it went
 * (route.c resolves it).  The records are rebuilt from the outbox at a
 * start (akey_apply(), akey_from_json()) and written into it when it is
 * rewritten (akey_json()).  An alert older than max_age is given up:
 * deliver.c asks alert_too_old() before each attempt, and a sweep every
 * minute gives up the deliveries held because their sink is not
 * configured.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "alert-int.h"
#include "log.h"
#include "util.h"

struct akeyq		 akeys = LIST_HEAD_INITIALIZER(akeys);
uint64_t		 alerts_nsuppressed;

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

void
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
void
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
json_t *
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
void
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

/*
 * Throttle a new alert: a repeat of its kind within the throttle window,
 * no more severe than the last one delivered, is suppressed (counted and
 * written to the outbox, not delivered), and 1 is returned.  Else 0, and
 * a raised alert carries the count of the repeats suppressed before it.
 */
int
alert_throttle(struct alert *a, int no_throttle)
{
	struct akey	*k;
	time_t		 now = a->time;

	k = a->kind == ALERT_RAISE ? akey_get(a->key, 0) : NULL;
	if (k != NULL && !no_throttle && acfg->throttle_ms > 0 &&
	    k->last != 0 && (int64_t)(now - k->last) * 1000 <
	    acfg->throttle_ms && a->severity <= k->last_severity) {
		a->suppressed = 1;
		akey_apply(a);
		alerts_nsuppressed++;
		alert_insert(a);
		outbox_append(alert_to_json(a), 0);
		log_info("alert #%llu %s %s: suppressed (a repeat within the "
		    "throttle; %u so far): %s", (unsigned long long)a->id,
		    a->program, a->event, k->supp, a->message);
		alerts_prune();
		return (1);
	}
	if (k != NULL && k->supp > 0 && a->kind == ALERT_RAISE) {
		a->carried = k->supp;
		a->carried_since = k->supp_since;
	}
	return (0);
}

int
alert_too_old(const struct alert *a, time_t now)
{
	return ((int64_t)(now - a->time) * 1000 > acfg->max_age_ms);
}

/* Every minute: give up held deliveries past max_age. */
void
alerts_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct alert	*a;
	size_t		 i;
	time_t		 now = time(NULL);

	(void)loop;
	(void)w;
	(void)revents;
	TAILQ_FOREACH(a, &alerts, entry) {
		if (!alert_too_old(a, now))
			continue;
		for (i = 0; i < a->ndeliv; i++)
			if (a->deliv[i].state == DELIV_HELD)
				deliv_fail(NULL, &a->deliv[i], "not delivered "
				    "within max_age: its sink is not "
				    "configured");
	}
	alerts_prune();
}
