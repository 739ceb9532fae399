/*
 * restart, stop and signal: actions on the program itself, through its
 * normal paths (stopsignal, stopwaitsecs, SIGKILL of the whole tree).
 * restart and stop wait until the program has settled.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "program.h"
#include "util.h"

struct restart_state {
	unsigned int	 runs;
};

static void *
noparams_parse(const json_t *o, char **err)
{
	if (o != NULL && !json_is_null(o) && !json_is_true(o) &&
	    !(json_is_object(o) && json_object_size(o) == 0)) {
		xasprintf(err, "takes no settings");
		return (NULL);
	}
	return (xstrdup(""));
}

static void
free_str(void *p)
{
	free(p);
}

static void
restart_poll(struct action *a)
{
	struct program		*p = action_program(a);
	struct restart_state	*rs = a->state;

	if (p->runs == rs->runs)
		return;		/* not started again yet */
	switch (p->state) {
	case PROGRAM_RUNNING:
		free(a->state);
		a->state = NULL;
		action_done(a, 1, "running again, pid %ld", (long)p->pid);
		break;
	case PROGRAM_FATAL:
	case PROGRAM_BACKOFF:
	case PROGRAM_EXITED:
		free(a->state);
		a->state = NULL;
		action_done(a, 0, "did not start again (%s)",
		    program_state_name(p->state));
		break;
	}
}

static void
restart_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct action	*a = w->data;

	(void)loop;
	(void)revents;
	free(a->state);
	a->state = NULL;
	action_done(a, 0, "not RUNNING again in time (%s)",
	    program_state_name(action_program(a)->state));
}

static void
restart_start(struct action *a)
{
	struct program		*p = action_program(a);
	struct restart_state	*rs;

	rs = xcalloc(1, sizeof(*rs));
	rs->runs = p->runs;
	a->state = rs;
	/* A bound: stop, start and startsecs, plus a minute. */
	ev_timer_init(&a->timer, restart_timeout_cb, (ev_tstamp)
	    (p->pc->stopwait_ms + p->pc->startsecs_ms + 60000) / 1000.0, 0.);
	a->timer.data = a;
	ev_timer_start(EV_DEFAULT, &a->timer);
	program_restart(p);
	restart_poll(a);
}

static void
state_cancel(struct action *a)
{
	free(a->state);
	a->state = NULL;
}

const struct action_kind action_kind_restart = {
	.name = "restart",
	.chain = 0,
	.parse = noparams_parse,
	.free_config = free_str,
	.start = restart_start,
	.cancel = state_cancel,
	.poll = restart_poll,
};

static void
stop_poll(struct action *a)
{
	struct program	*p = action_program(a);

	if (program_is_stopped(p))
		action_done(a, 1, "stopped");
}

static void
stop_start(struct action *a)
{
	program_stop(action_program(a));
	stop_poll(a);
}

const struct action_kind action_kind_stop = {
	.name = "stop",
	.chain = 0,
	.parse = noparams_parse,
	.free_config = free_str,
	.start = stop_start,
	.cancel = NULL,
	.poll = stop_poll,
};

static void *
signal_parse(const json_t *o, char **err)
{
	int	*sig;

	if (!json_is_string(o) || parse_signal(json_string_value(o)) == -1) {
		xasprintf(err, "signal takes a signal name such as USR1");
		return (NULL);
	}
	sig = xmalloc(sizeof(*sig));
	*sig = parse_signal(json_string_value(o));
	return (sig);
}

static void
signal_start(struct action *a)
{
	struct program	*p = action_program(a);
	int		 sig = *(int *)a->cfg->kcfg;

	if (program_signal(p, sig) == -1)
		action_done(a, 0, "SIG%s: %s", signal_name(sig),
		    errno == ESRCH ? "not running" : strerror(errno));
	else
		action_done(a, 1, "sent SIG%s to pid %ld", signal_name(sig),
		    (long)p->pid);
}

const struct action_kind action_kind_signal = {
	.name = "signal",
	.chain = 0,
	.parse = signal_parse,
	.free_config = free_str,
	.start = signal_start,
	.cancel = NULL,
	.poll = NULL,
};
