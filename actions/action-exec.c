/*
 * exec: run a command (a list, or a string split like a shell) as a job
 * (job.c: done only when it has exited and its output reached EOF) with a
 * timeout; the last line of its output is the result.  The command gets
 * the program's name and pid and the rule's reason in its environment,
 * never in its argv.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "job.h"
#include "program.h"
#include "util.h"

#define EXEC_OUTPUT_MAX	4096

struct exec_cfg {
	char	**argv;
	int64_t	  timeout_ms;
};

static void
exec_free_config(void *arg)
{
	struct exec_cfg	*c = arg;

	free_argv(c->argv);
	free(c);
}

static void *
exec_parse(const json_t *o, char **err)
{
	struct exec_cfg	*c;
	const json_t	*cmd = o, *v;
	const char	*e;

	c = xcalloc(1, sizeof(*c));
	c->timeout_ms = 60000;
	if (json_is_object(o)) {
		cmd = json_object_get(o, "command");
		if ((v = json_object_get(o, "timeout")) != NULL) {
			if (json_is_integer(v) && json_integer_value(v) > 0)
				c->timeout_ms = json_integer_value(v) * 1000;
			else if (!json_is_string(v) || parse_duration(
			    json_string_value(v), &c->timeout_ms, &e) == -1) {
				xasprintf(err, "timeout must be a duration "
				    "such as 30s");
				goto fail;
			}
		}
	}
	if ((c->argv = job_argv(cmd, "exec takes a command (string or list), "
	    "or {command, timeout}", err)) == NULL)
		goto fail;
	return (c);
fail:
	exec_free_config(c);
	return (NULL);
}

static void
exec_done(const struct job_result *r, void *arg)
{
	struct action	*a = arg;

	a->state = NULL;
	if (r->timed_out)
		action_done(a, 0, "timed out; killed: %.150s", r->last);
	else if (r->signo == 0)
		action_done(a, r->status == 0, "exit status %d: %.150s",
		    r->status, r->last);
	else
		action_done(a, 0, "killed by SIG%s: %.150s",
		    signal_name(r->signo), r->last);
}

static void
exec_start(struct action *a)
{
	static const char *const drop[] = { "CHAINKEEPER_INSTANCE=",
	    "NOTIFY_SOCKET=", NULL };
	struct exec_cfg		*c = a->cfg->kcfg;
	struct program		*p = action_program(a);
	struct job_params	 jp;
	const char		*cause;
	char			**env, pidbuf[32];

	snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)p->pid);
	env = job_env(drop);
	job_setenv(&env, "CHAINKEEPER_PROGRAM", p->pc->name);
	job_setenv(&env, "CHAINKEEPER_PID", pidbuf);
	job_setenv(&env, "CHAINKEEPER_STATE", program_state_name(p->state));
	job_setenv(&env, "CHAINKEEPER_RULE", a->job->rs->rc->name);
	job_setenv(&env, "CHAINKEEPER_REASON", a->job->why);
	jp = (struct job_params){ .argv = c->argv, .env = env,
	    .timeout_ms = c->timeout_ms, .outmax = EXEC_OUTPUT_MAX,
	    .done = exec_done, .arg = a };
	if ((a->state = job_start(&jp, &cause)) == NULL)
		action_done(a, 0, "%s: %s", cause, strerror(errno));
	free_argv(env);
}

static void
exec_cancel(struct action *a)
{
	job_cancel(a->state);
	a->state = NULL;
}

const struct action_kind action_kind_exec = {
	.name = "exec",
	.chain = 0,
	.parse = exec_parse,
	.free_config = exec_free_config,
	.start = exec_start,
	.cancel = exec_cancel,
	.poll = NULL,
};
