/*
 * The rules engine and the action registry.  Probe results and program
 * events arrive here; a rule whose condition holds, outside its hold-down
 * and not held by hand, fires: the first step of its ladder with room in
 * its window gives the actions, run one after the other as a job.  Every
 * firing and action is journaled (chain actions fsync'd), and the journal
 * is what hold-downs and windows count from, so they hold across restarts.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "alert.h"
#include "journal.h"
#include "log.h"
#include "probe.h"
#include "program.h"
#include "registry.h"
#include "util.h"

extern const struct action_kind	action_kind_restart;
extern const struct action_kind	action_kind_stop;
extern const struct action_kind	action_kind_signal;
extern const struct action_kind	action_kind_exec;
extern const struct action_kind	action_kind_rpc;
extern const struct action_kind	action_kind_alert;
extern const struct action_kind	action_kind_raptoreum_revive;
extern const struct action_kind	action_kind_bitshares_flip_key;

static const void *const kinds[] = {
	&action_kind_restart,
	&action_kind_stop,
	&action_kind_signal,
	&action_kind_exec,
	&action_kind_rpc,
	&action_kind_alert,
	&action_kind_raptoreum_revive,
	&action_kind_bitshares_flip_key,
};
static struct registry	action_kinds = REGISTRY_INIT(kinds);

int	action_dry_run;

/*
 * Firings wait here until the end of the loop iteration: a probe result or
 * an exit is being handled when a rule matches, and acting at once (a
 * restart frees the probes) would pull the ground from under it.
 */
struct pending {
	TAILQ_ENTRY(pending) entry;
	struct program	*p;
	struct rule_state *rs;
	char		 why[200];
};
static TAILQ_HEAD(, pending) pendings = TAILQ_HEAD_INITIALIZER(pendings);

static void	job_next(struct job *);
static void	rule_fire(struct program *, struct rule_state *, const char *);

const struct action_kind *
action_kind_find(const char *name)
{
	return (registry_find(&action_kinds, name));
}

const char *
action_kinds_list(void)
{
	return (registry_names(&action_kinds));
}

void
action_config_free(struct action_config *ac)
{
	if (ac == NULL)
		return;
	if (ac->kcfg != NULL)
		ac->kind->free_config(ac->kcfg);
	json_decref(ac->params);
	free(ac);
}

void
rule_config_free(struct rule_config *rc)
{
	size_t	 i, j;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nsteps; i++) {
		for (j = 0; j < rc->steps[i].nactions; j++)
			action_config_free(rc->steps[i].actions[j]);
		free(rc->steps[i].actions);
	}
	free(rc->steps);
	free(rc->name);
	free(rc->probe);
	free(rc);
}

struct program *
action_program(const struct action *a)
{
	return (a->job->prog);
}

/* Rule states for a program's current configuration. */
void
rules_program_start(struct program *p)
{
	size_t	 i;

	rules_program_free(p);
	if (p->pc->nrules == 0)
		return;
	p->rules = xcalloc(p->pc->nrules, sizeof(*p->rules));
	p->nrules = p->pc->nrules;
	for (i = 0; i < p->nrules; i++) {
		p->rules[i].rc = p->pc->rules[i];
		if (p->rules[i].rc->cond == COND_FAILURES &&
		    p->rules[i].rc->window_ms > 0)
			p->rules[i].fail_times = xcalloc((size_t)
			    p->rules[i].rc->count, sizeof(time_t));
	}
}

static void
job_free(struct job *j)
{
	if (j->cur != NULL) {
		if (!j->cur->done && j->cur->cfg->kind->cancel != NULL)
			j->cur->cfg->kind->cancel(j->cur);
		/* Cancelled on purpose (shutdown, reload): not interrupted. */
		if (!j->cur->done)
			journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s}",
			    "event", "end", "of", (json_int_t)j->cur->seq,
			    "program", j->prog->pc->name, "rule",
			    j->rs->rc->name, "action", j->cur->cfg->kind->name,
			    "ok", 0, "result", "cancelled: chainkeeperd stopped "
			    "or the program's settings changed"),
			    j->cur->cfg->kind->chain);
		ev_timer_stop(EV_DEFAULT, &j->cur->timer);
		free(j->cur);
	}
	j->rs->job = NULL;
	free(j);
}

static void
rule_fire_later(struct program *p, struct rule_state *rs, const char *why)
{
	struct pending	*pe;

	TAILQ_FOREACH(pe, &pendings, entry)
		if (pe->rs == rs)
			return;
	pe = xcalloc(1, sizeof(*pe));
	pe->p = p;
	pe->rs = rs;
	snprintf(pe->why, sizeof(pe->why), "%s", why);
	utf8_sanitize(pe->why, strlen(pe->why));
	TAILQ_INSERT_TAIL(&pendings, pe, entry);
}

/* Fire what matched during this loop iteration. */
void
rules_run_pending(void)
{
	struct pending	*pe;

	while ((pe = TAILQ_FIRST(&pendings)) != NULL) {
		TAILQ_REMOVE(&pendings, pe, entry);
		rule_fire(pe->p, pe->rs, pe->why);
		free(pe);
	}
}

/* Drop a program's rule states and cancel its jobs (config change, free). */
void
rules_program_free(struct program *p)
{
	struct pending	*pe, *npe;
	size_t		 i;

	for (pe = TAILQ_FIRST(&pendings); pe != NULL; pe = npe) {
		npe = TAILQ_NEXT(pe, entry);
		if (pe->p == p) {
			TAILQ_REMOVE(&pendings, pe, entry);
			free(pe);
		}
	}
	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].job != NULL) {
			log_warnx("%s: rule %s: job cancelled", p->pc->name,
			    p->rules[i].rc->name);
			job_free(p->rules[i].job);
		}
		free(p->rules[i].fail_times);
		free(p->rules[i].grew_v);
		free(p->rules[i].grew_t);
	}
	free(p->rules);
	p->rules = NULL;
	p->nrules = 0;
}

/* Record and begin the next action of a job, or end the job. */
static void
job_next(struct job *j)
{
	struct action		*a;
	const struct action_config *ac;
	const char		*pname = j->prog->pc->name;

	while (j->next < j->step->nactions) {
		ac = j->step->actions[j->next++];
		a = xcalloc(1, sizeof(*a));
		a->job = j;
		a->cfg = ac;
		j->cur = a;
		a->seq = journal_append(json_pack("{s:s,s:s,s:s,s:i,s:s,s:O,"
		    "s:I,s:b}", "event", "begin", "program", pname, "rule",
		    j->rs->rc->name, "step", j->stepno, "action",
		    ac->kind->name, "params", ac->params, "fire",
		    (json_int_t)j->seq, "dry_run", action_dry_run),
		    ac->kind->chain);
		if (action_dry_run) {
			log_info("%s: rule %s: dry run: would run %s",
			    pname, j->rs->rc->name, ac->kind->name);
			a->in_start = 1;
			action_done(a, 1, "dry run: not run");
			a->in_start = 0;
		} else {
			log_info("%s: rule %s: running %s", pname,
			    j->rs->rc->name, ac->kind->name);
			a->in_start = 1;
			ac->kind->start(a);
			a->in_start = 0;
		}
		if (!a->done)
			return;		/* action_done() will come */
		j->cur = NULL;
		if (!a->ok) {
			j->next = j->step->nactions;
			log_warnx("%s: rule %s: stopping this run after a "
			    "failed action", pname, j->rs->rc->name);
		}
		free(a);
	}
	log_info("%s: rule %s: done", pname, j->rs->rc->name);
	j->rs->job = NULL;
	free(j);
}

/*
 * An action ended.  A failed action ends its job (the next firing, or
 * the next step of the ladder, tries again).
 */
void
action_done(struct action *a, int ok, const char *fmt, ...)
{
	struct job	*j = a->job;
	va_list		 ap;

	if (a->done)
		return;
	a->done = 1;
	a->ok = ok;
	a->result[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(a->result, sizeof(a->result), fmt, ap);
		va_end(ap);
		utf8_sanitize(a->result, strlen(a->result));
	}
	ev_timer_stop(EV_DEFAULT, &a->timer);
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s}", "event",
	    "end", "of", (json_int_t)a->seq, "program", j->prog->pc->name,
	    "rule", j->rs->rc->name, "action", a->cfg->kind->name, "ok", ok,
	    "result", a->result), a->cfg->kind->chain);
	if (a->cfg->kind->chain && !action_dry_run)
		alerts_action_outcome(j->prog, j->rs->rc->name,
		    a->cfg->kind->name, ok, a->result);
	if (ok)
		log_info("%s: rule %s: %s: %s", j->prog->pc->name,
		    j->rs->rc->name, a->cfg->kind->name, a->result);
	else
		log_warnx("%s: rule %s: %s failed: %s", j->prog->pc->name,
		    j->rs->rc->name, a->cfg->kind->name, a->result);
	if (a->in_start)
		return;		/* job_next() carries on */
	j->cur = NULL;
	free(a);
	if (!ok) {
		j->next = j->step->nactions;
		log_warnx("%s: rule %s: stopping this run after a failed "
		    "action", j->prog->pc->name, j->rs->rc->name);
	}
	job_next(j);
}

/* Milliseconds since the epoch (the journal's clock). */
static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Fire a rule: pick the ladder step, journal, start the job. */
static void
rule_fire(struct program *p, struct rule_state *rs, const char *why)
{
	const struct rule_config *rc = rs->rc;
	struct job	*j;
	time_t		 now = time(NULL);
	int64_t		 nms = wall_ms(), last;
	size_t		 i;
	int		 n;

	/*
	 * A match starts a new growth window (grew:) whether it acts or not:
	 * growth seen while the rule could not act (running, held, in its
	 * hold-down, ladder used up) must not fire it the moment it can.
	 */
	rs->grew_n = 0;
	if (rs->job != NULL)
		return;		/* still running its last firing */
	if (p->held_until > now) {
		log_debug("%s: rule %s: held until %lld", p->pc->name,
		    rc->name, (long long)p->held_until);
		return;
	}
	if (journal_blocked(p->pc->name, rc->name)) {
		if (!rs->used_up_logged)
			log_warnx("%s: rule %s: %s, but an earlier run was "
			    "interrupted by a crash: not acting until it is "
			    "checked (chainkeeperctl release %s)", p->pc->name,
			    rc->name, why, p->pc->name);
		rs->used_up_logged = 1;
		return;
	}
	last = journal_last_fire(p->pc->name, rc->name);
	if (last != 0 && rc->hold_down_ms > 0 && nms - last < rc->hold_down_ms)
		return;
	for (i = 0; i < rc->nsteps; i++) {
		if (rc->steps[i].max == 0)
			break;
		n = journal_fires(p->pc->name, rc->name, (int)i,
		    nms - rc->steps[i].within_ms);
		if (n < rc->steps[i].max)
			break;
	}
	if (i == rc->nsteps) {
		if (!rs->used_up_logged)
			log_info("%s: rule %s: %s, but every step of its ladder "
			    "is used up: not acting until a window has room",
			    p->pc->name, rc->name, why);
		rs->used_up_logged = 1;
		return;
	}
	rs->used_up_logged = 0;
	j = xcalloc(1, sizeof(*j));
	j->prog = p;
	j->rs = rs;
	j->step = &rc->steps[i];
	j->stepno = (int)i;
	snprintf(j->why, sizeof(j->why), "%s", why);
	rs->job = j;
	rs->last_fire = now;
	rs->fail_n = 0;
	j->seq = journal_append(json_pack("{s:s,s:s,s:s,s:i,s:s,s:b}",
	    "event", "fire", "program", p->pc->name, "rule", rc->name,
	    "step", (int)i, "why", why, "dry_run", action_dry_run), 1);
	log_info("%s: rule %s fires (step %zu): %s", p->pc->name, rc->name,
	    i + 1, why);
	job_next(j);
}

static int
compare(const char *op, double a, double b)
{
	if (strcmp(op, ">") == 0)
		return (a > b);
	if (strcmp(op, ">=") == 0)
		return (a >= b);
	if (strcmp(op, "<") == 0)
		return (a < b);
	if (strcmp(op, "<=") == 0)
		return (a <= b);
	if (strcmp(op, "==") == 0)
		return (a == b);
	return (a != b);
}

/* Whether a probe result meets a rule's condition (and its reason). */
static int
rule_matches(struct rule_state *rs, const struct probe *pr, char *why,
    size_t len)
{
	const struct rule_config *rc = rs->rc;
	time_t		 now = time(NULL);
	size_t		 i, k, n;
	double		 lo;

	switch (rc->cond) {
	case COND_ANY:
		snprintf(why, len, "probe %s: %.120s", pr->cfg->name, pr->reason);
		return (pr->status != PROBE_OK);
	case COND_FAILURES:
		if (rc->window_ms == 0) {
			snprintf(why, len, "probe %s failed %d times in a "
			    "row: %.120s", pr->cfg->name, pr->consec_fail,
			    pr->reason);
			return (pr->consec_fail >= rc->count);
		}
		if (pr->status == PROBE_OK)
			return (0);
		rs->fail_times[rs->fail_next] = now;
		rs->fail_next = (rs->fail_next + 1) % (size_t)rc->count;
		if (rs->fail_n < (size_t)rc->count)
			rs->fail_n++;
		for (i = 0, n = 0; i < rs->fail_n; i++)
			if ((int64_t)(now - rs->fail_times[i]) * 1000 <=
			    rc->window_ms)
				n++;
		snprintf(why, len, "probe %s failed %zu times within %lld s: "
		    "%.120s", pr->cfg->name, n, (long long)rc->window_ms / 1000,
		    pr->reason);
		return (n >= (size_t)rc->count);
	case COND_HEALTH:
		/* On the change into that health, not on every result. */
		snprintf(why, len, "probe %s is %s: %.120s", pr->cfg->name,
		    probe_health_name(pr->health), pr->reason);
		k = rs->last_health != pr->health;
		rs->last_health = pr->health;
		return (k && pr->health == rc->health);
	case COND_VALUE:
		if (!pr->has_value || pr->status == PROBE_TIMEOUT)
			return (0);
		snprintf(why, len, "probe %s: value %g %s %g", pr->cfg->name,
		    pr->value, rc->op, rc->value);
		return (compare(rc->op, pr->value, rc->value));
	case COND_GREW:
		if (!pr->has_value || pr->status == PROBE_TIMEOUT)
			return (0);
		/* Drop samples older than the window, then add this one. */
		for (i = 0, k = 0; i < rs->grew_n; i++)
			if ((int64_t)(now - rs->grew_t[i]) * 1000 <=
			    rc->window_ms) {
				rs->grew_t[k] = rs->grew_t[i];
				rs->grew_v[k++] = rs->grew_v[i];
			}
		rs->grew_n = k;
		if (rs->grew_n == rs->grew_cap) {
			rs->grew_cap = rs->grew_cap == 0 ? 16 :
			    rs->grew_cap * 2;
			rs->grew_t = xreallocarray(rs->grew_t, rs->grew_cap,
			    sizeof(*rs->grew_t));
			rs->grew_v = xreallocarray(rs->grew_v, rs->grew_cap,
			    sizeof(*rs->grew_v));
		}
		rs->grew_t[rs->grew_n] = now;
		rs->grew_v[rs->grew_n++] = pr->value;
		lo = pr->value;
		for (i = 0; i < rs->grew_n; i++)
			lo = fmin(lo, rs->grew_v[i]);
		snprintf(why, len, "probe %s: value grew by %g (from %g to "
		    "%g) within %lld s", pr->cfg->name, pr->value - lo, lo,
		    pr->value, (long long)rc->window_ms / 1000);
		return (pr->value - lo >= rc->value);
	}
	return (0);
}

/* A probe finished a check: evaluate the rules that watch it. */
void
rules_probe_result(struct probe *pr)
{
	struct program	*p = pr->prog;
	char		 why[200];
	size_t		 i;

	alerts_probe_result(pr);
	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].rc->on == RULE_ON_HUNG &&
		    pr->health == PROBE_HUNG) {
			snprintf(why, sizeof(why), "probe %s: hung: %.120s",
			    pr->cfg->name, pr->reason);
			rule_fire_later(p, &p->rules[i], why);
			continue;
		}
		if (p->rules[i].rc->on != RULE_ON_PROBE ||
		    strcmp(p->rules[i].rc->probe, pr->cfg->name) != 0)
			continue;
		if (rule_matches(&p->rules[i], pr, why, sizeof(why)))
			rule_fire_later(p, &p->rules[i], why);
	}
}

/* A program event: exit, OOM kill, FATAL. */
void
rules_program_event(struct program *p, int ev, const char *why)
{
	size_t	 i;

	alerts_program_event(p, ev, why);
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].rc->on == ev)
			rule_fire_later(p, &p->rules[i], why);
}

/* Programs changed state: actions waiting on one may be done. */
void
rules_poll(void)
{
	struct program	*p;
	size_t		 i;
	struct job	*j;

	TAILQ_FOREACH(p, &programs, entry)
		for (i = 0; i < p->nrules; i++) {
			j = p->rules[i].job;
			if (j != NULL && j->cur != NULL && !j->cur->done &&
			    j->cur->cfg->kind->poll != NULL)
				j->cur->cfg->kind->poll(j->cur);
		}
}

/* The rules of a program for status --json (new reference). */
json_t *
rules_status_json(const struct program *p)
{
	json_t	*a = json_array();
	size_t	 i;
	const struct rule_state *rs;

	for (i = 0; i < p->nrules; i++) {
		rs = &p->rules[i];
		json_array_append_new(a, json_pack("{s:s,s:o,s:b}",
		    "name", rs->rc->name,
		    "last_fire", journal_last_fire(p->pc->name,
		    rs->rc->name) != 0 ? json_integer((json_int_t)
		    journal_last_fire(p->pc->name, rs->rc->name) / 1000) :
		    json_null(),
		    "running", rs->job != NULL));
	}
	return (a);
}
