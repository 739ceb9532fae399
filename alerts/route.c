/*
 * Alerts, routing: which event raises which alert, and where it goes.
 *
 * A program event (FATAL, an unexpected exit, an OOM kill), a change of a
 * probe's health, the end of a chain action and a rule's alert action
 * each raise an alert (alert_raise()); events that come before
 * alerts_start() are ignored.  An alert that names what clears it
 * (resolve_on) opens an incident of its kind (throttle.c keeps it).  When
 * that condition clears (the FATAL program runs again, the probe is
 * healthy or good again), the incident is resolved: a "resolved" alert
 * goes to the sinks the incident went to, or, with resolved: false or
 * no such sink, the incident just closes.  The routes pick the sinks of
 * every other alert: each route whose minimum severity, events and
 * program globs take the alert adds its sinks; without routes, every
 * configured sink takes it.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/wait.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action.h"
#include "alert-int.h"
#include "probe.h"
#include "program.h"
#include "util.h"

struct phealthq		 phealths = LIST_HEAD_INITIALIZER(phealths);

static int
strv_has(char **v, const char *s)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

void
alerts_strv_add(char ***v, size_t *n, const char *s)
{
	if (strv_has(*v, s))
		return;
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* Every configured sink's name (a new vector, NULL if none). */
char **
alerts_all_sinks(void)
{
	struct sink	*s;
	char		**v = NULL;
	size_t		  n = 0;

	TAILQ_FOREACH(s, &sinks, entry)
		if (!s->removed)
			alerts_strv_add(&v, &n, s->cfg->name);
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
char **
alerts_route(const struct alert *a)
{
	char		**v = NULL;
	size_t		  n = 0, i, j;

	if (!acfg->has_routes)
		return (alerts_all_sinks());
	for (i = 0; i < acfg->nroutes; i++)
		if (route_matches(&acfg->routes[i], a))
			for (j = 0; acfg->routes[i].sinks[j] != NULL; j++)
				alerts_strv_add(&v, &n,
				    acfg->routes[i].sinks[j]);
	return (v);
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
		alerts_dur_text((int64_t)(time(NULL) - k->open_since), took,
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

	if (!alerts_started)
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

	if (!alerts_started || p->state != PROGRAM_RUNNING)
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

	if (!alerts_started)
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

	if (!alerts_started)
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

	if (!alerts_started) {
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
