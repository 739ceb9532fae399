/*
 * exec: run a script with the alert in its environment (CK_ALERT_ID,
 * CK_ALERT_SEVERITY, CK_ALERT_MESSAGE, ...), never in its argv.  The alert
 * is delivered when the script exits 0; an attempt is a job (job.c), over
 * only when the script has exited and its output reached EOF.  A script
 * still running at the sink's timeout, or still holding its output
 * through a child, is killed (with its process group) and the attempt
 * failed.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "probe.h"
#include "sink.h"
#include "util.h"

#define EXEC_OUT_MAX	1024

struct ex_cfg {
	char	**argv;
};

static void
ex_free_config(void *arg)
{
	struct ex_cfg	*c = arg;

	free_argv(c->argv);
	free(c);
}

static void *
ex_parse(const json_t *o, const char **key, char **err)
{
	struct ex_cfg	*c;
	json_t		*cmd;

	if (probe_param_check_keys(o, (const char *const[]){ "command",
	    NULL }, key, err) == -1)
		return (NULL);
	c = xcalloc(1, sizeof(*c));
	cmd = json_object_get(o, "command");
	*key = "command";
	if ((c->argv = job_argv(cmd, "command is required: a string or a list",
	    err)) == NULL)
		goto fail;
	if (c->argv[0] == NULL || *c->argv[0] == '\0') {
		xasprintf(err, "command is empty");
		goto fail;
	}
	*key = NULL;
	return (c);
fail:
	ex_free_config(c);
	return (NULL);
}

/* The script exited and its output is at EOF. */
static void
ex_done(const struct job_result *r, void *arg)
{
	struct sink_op	*op = arg;
	const char	*sep = *r->last != '\0' ? ": " : "";

	op->state = NULL;
	if (r->timed_out)
		sink_done(op, SINK_RETRY, "timed out; killed: %.150s", r->last);
	else if (r->signo == 0 && r->status == 0)
		sink_done(op, SINK_OK, "exit status 0%s%.150s", sep, r->last);
	else if (r->signo == 0)
		sink_done(op, SINK_RETRY, "exit status %d%s%.150s", r->status,
		    sep, r->last);
	else
		sink_done(op, SINK_RETRY, "killed by SIG%s%s%.150s",
		    signal_name(r->signo), sep, r->last);
}

/* The environment of the script: ours, less a few, plus the alert. */
static char **
ex_env(const struct sink_op *op)
{
	static const char *const drop[] = { "CHAINKEEPER_INSTANCE=",
	    "NOTIFY_SOCKET=", "CK_ALERT_", NULL };
	static const char *const fields[] = { "id", "kind", "severity",
	    "host", "program", "event", "rule", "value", "message", "title",
	    "text", "unixtime", "suppressed", NULL };
	static const char *const names[] = { "CK_ALERT_ID", "CK_ALERT_KIND",
	    "CK_ALERT_SEVERITY", "CK_ALERT_HOST", "CK_ALERT_PROGRAM",
	    "CK_ALERT_EVENT", "CK_ALERT_RULE", "CK_ALERT_VALUE",
	    "CK_ALERT_MESSAGE", "CK_ALERT_TITLE", "CK_ALERT_TEXT",
	    "CK_ALERT_TIME", "CK_ALERT_SUPPRESSED", NULL };
	char	**env, *v;
	size_t	  i;

	env = job_env(drop);
	for (i = 0; fields[i] != NULL; i++) {
		v = alert_field(op->alerts[0], fields[i]);
		job_setenv(&env, names[i], v);
		free(v);
	}
	job_setenv(&env, "CK_ALERT_SINK", op->cfg->name);
	return (env);
}

static void
ex_send(struct sink_op *op)
{
	struct ex_cfg		*c = op->cfg->kcfg;
	struct job_params	 jp;
	const char		*cause;
	char			**env;

	op->taken = 1;
	env = ex_env(op);
	jp = (struct job_params){ .argv = c->argv, .env = env,
	    .timeout_ms = op->cfg->timeout_ms, .outmax = EXEC_OUT_MAX,
	    .done = ex_done, .arg = op };
	if ((op->state = job_start(&jp, &cause)) == NULL)
		sink_done(op, SINK_RETRY, "%s: %s", cause, strerror(errno));
	free_argv(env);
}

static void
ex_cancel(struct sink_op *op)
{
	job_cancel(op->state);
	op->state = NULL;
}

const struct sink_kind sink_kind_exec = {
	.name = "exec",
	.batch = 0,
	.rate_limit = 0,
	.rate_window_ms = 60000,
	.parse = ex_parse,
	.free_config = ex_free_config,
	.send = ex_send,
	.cancel = ex_cancel,
	.reset = NULL,
};
