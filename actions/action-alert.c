/*
 * alert: tell the operator.  The alert is logged as a warning and raised
 * through the alerts machinery (alert.c): throttled, routed to the sinks
 * and written to the outbox, so it is delivered even if a sink is down
 * for a while.  The action is done once the alert is safely queued; its
 * result (in the journal) says which sinks it went to, or that it was a
 * suppressed repeat.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "alert.h"
#include "log.h"
#include "probe.h"
#include "program.h"
#include "util.h"

struct alert_cfg {
	char	*message;
	int	 severity;
};

static void
alert_free(void *p)
{
	struct alert_cfg	*c = p;

	free(c->message);
	free(c);
}

static void *
alert_parse(const json_t *o, char **err)
{
	struct alert_cfg	*c;
	const char		*k, *s;
	json_t			*v;

	c = xcalloc(1, sizeof(*c));
	c->severity = ALERT_WARNING;
	if (json_is_string(o)) {
		c->message = xstrdup(json_string_value(o));
		return (c);
	}
	if (o == NULL || json_is_null(o) || json_is_true(o)) {
		c->message = xstrdup("");
		return (c);
	}
	if (!json_is_object(o))
		goto bad;
	json_object_foreach((json_t *)o, k, v)
		if (strcmp(k, "message") != 0 && strcmp(k, "severity") != 0)
			goto bad;
	v = json_object_get(o, "message");
	if (v != NULL && !json_is_string(v))
		goto bad;
	c->message = xstrdup(v != NULL ? json_string_value(v) : "");
	if ((v = json_object_get(o, "severity")) != NULL) {
		if ((s = json_string_value(v)) == NULL ||
		    (c->severity = alerts_severity_parse(s)) == -1) {
			xasprintf(err, "alert: severity must be info, warning "
			    "or critical");
			alert_free(c);
			return (NULL);
		}
	}
	return (c);
bad:
	xasprintf(err, "alert takes a message: a string, or {message: ..., "
	    "severity: info | warning | critical}");
	alert_free(c);
	return (NULL);
}

static void
alert_start(struct action *a)
{
	struct alert_cfg	*c = a->cfg->kcfg;
	const struct rule_config *rc = a->job->rs->rc;
	struct program		*p = action_program(a);
	char			 out[200], cond[96];
	const char		*resolve_on = NULL;

	log_warnx("ALERT %s: %s%s%s", p->pc->name, c->message,
	    *c->message != '\0' ? ": " : "", a->job->why);
	/*
	 * What clears it: a failing probe's next good result, a bad health
	 * the probe's return to healthy, FATAL a run.  A value or growth
	 * condition has no clear end: such an alert is not resolved.
	 */
	if (rc->on == RULE_ON_PROBE && rc->probe != NULL &&
	    (rc->cond == COND_ANY || rc->cond == COND_FAILURES)) {
		snprintf(cond, sizeof(cond), "probe-ok:%s", rc->probe);
		resolve_on = cond;
	} else if (rc->on == RULE_ON_PROBE && rc->probe != NULL &&
	    rc->cond == COND_HEALTH && rc->health != PROBE_HEALTHY) {
		snprintf(cond, sizeof(cond), "probe:%s", rc->probe);
		resolve_on = cond;
	} else if (rc->on == RULE_ON_FATAL)
		resolve_on = "running";
	alerts_raise_rule(p, rc->name, c->severity, c->message, a->job->why,
	    resolve_on, out, sizeof(out));
	action_done(a, 1, "%s", out);
}

const struct action_kind action_kind_alert = {
	.name = "alert",
	.chain = 0,
	.parse = alert_parse,
	.free_config = alert_free,
	.start = alert_start,
	.cancel = NULL,
	.poll = NULL,
};
