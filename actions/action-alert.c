/*
 * alert: tell the operator.  Until alert sinks exist, an alert is a
 * warning in chainkeeperd's log and a journal record.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "action.h"
#include "log.h"
#include "program.h"
#include "util.h"

static void *
alert_parse(const json_t *o, char **err)
{
	if (json_is_string(o))
		return (xstrdup(json_string_value(o)));
	if (json_is_object(o) && json_is_string(json_object_get(o,
	    "message")))
		return (xstrdup(json_string_value(json_object_get(o,
		    "message"))));
	if (o == NULL || json_is_null(o) || json_is_true(o))
		return (xstrdup(""));
	xasprintf(err, "alert takes a message (a string or {message: ...})");
	return (NULL);
}

static void
alert_free(void *p)
{
	free(p);
}

static void
alert_start(struct action *a)
{
	const char	*msg = a->cfg->kcfg;

	log_warnx("ALERT %s: %s%s%s", action_program(a)->pc->name,
	    *msg != '\0' ? msg : "", *msg != '\0' ? ": " : "", a->job->why);
	action_done(a, 1, "logged");
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
