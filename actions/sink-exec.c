/*
 * exec: run a script with the alert in its environment (CK_ALERT_ID,
 * CK_ALERT_SEVERITY, CK_ALERT_MESSAGE, ...), never in its argv.  The alert
 * is delivered when the script exits 0; an attempt is over only when the
 * script has exited and its output reached EOF.  A script still running
 * at the sink's timeout is killed (with its process group) and the attempt
 * failed.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "probe.h"
#include "sink.h"
#include "util.h"

#define EXEC_OUT_MAX	1024

extern char	**environ;

struct ex_cfg {
	char	**argv;
};

struct ex_op {
	pid_t		 pid;
	int		 fd;
	int		 exited;
	int		 status;
	int		 timed_out;
	ev_io		 io;
	ev_child	 child;
	ev_timer	 timer;
	char		 out[EXEC_OUT_MAX];
	size_t		 outlen;
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
	json_t		*cmd, *v;
	const char	*e;
	size_t		 i;

	if (probe_param_check_keys(o, (const char *const[]){ "command",
	    NULL }, key, err) == -1)
		return (NULL);
	c = xcalloc(1, sizeof(*c));
	cmd = json_object_get(o, "command");
	*key = "command";
	if (json_is_string(cmd)) {
		if ((c->argv = split_command(json_string_value(cmd), &e)) ==
		    NULL) {
			xasprintf(err, "command: %s", e);
			goto fail;
		}
	} else if (json_is_array(cmd) && json_array_size(cmd) > 0) {
		c->argv = xcalloc(json_array_size(cmd) + 1, sizeof(char *));
		json_array_foreach(cmd, i, v) {
			if (!json_is_string(v)) {
				xasprintf(err, "command must be a list of "
				    "strings");
				goto fail;
			}
			c->argv[i] = xstrdup(json_string_value(v));
		}
	} else {
		xasprintf(err, "command is required: a string or a list");
		goto fail;
	}
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

static void
ex_op_free(struct sink_op *op)
{
	struct ex_op	*st = op->state;

	if (st == NULL)
		return;
	if (st->fd != -1) {
		ev_io_stop(EV_DEFAULT, &st->io);
		close(st->fd);
	}
	ev_child_stop(EV_DEFAULT, &st->child);
	ev_timer_stop(EV_DEFAULT, &st->timer);
	free(st);
	op->state = NULL;
}

/* Done once the script exited and its output is at EOF. */
static void
ex_finish(struct sink_op *op)
{
	struct ex_op	*st = op->state;
	char		*last, *nl, out[EXEC_OUT_MAX];
	int		 status = st->status, timed_out = st->timed_out;

	if (!st->exited || st->fd != -1)
		return;
	memcpy(out, st->out, st->outlen);
	out[st->outlen] = '\0';
	ex_op_free(op);
	while ((nl = strrchr(out, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	last = (nl = strrchr(out, '\n')) != NULL ? nl + 1 : out;
	utf8_sanitize(last, strlen(last));
	if (timed_out)
		sink_done(op, SINK_RETRY, "timed out; killed: %.150s", last);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		sink_done(op, SINK_OK, "exit status 0%s%.150s",
		    *last != '\0' ? ": " : "", last);
	else if (WIFEXITED(status))
		sink_done(op, SINK_RETRY, "exit status %d%s%.150s",
		    WEXITSTATUS(status), *last != '\0' ? ": " : "", last);
	else
		sink_done(op, SINK_RETRY, "killed by SIG%s%s%.150s",
		    signal_name(WTERMSIG(status)), *last != '\0' ? ": " : "",
		    last);
}

static void
ex_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sink_op	*op = w->data;
	struct ex_op	*st = op->state;
	char		 buf[4096];
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(st->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		tail_append(st->out, sizeof(st->out), &st->outlen, buf,
		    (size_t)n);
		return;
	}
	ev_io_stop(EV_DEFAULT, &st->io);
	close(st->fd);
	st->fd = -1;
	ex_finish(op);
}

static void
ex_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sink_op	*op = w->data;
	struct ex_op	*st = op->state;

	(void)loop;
	(void)revents;
	ev_child_stop(EV_DEFAULT, w);
	ev_timer_stop(EV_DEFAULT, &st->timer);
	st->exited = 1;
	st->status = w->rstatus;
	ex_finish(op);
}

static void
ex_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sink_op	*op = w->data;
	struct ex_op	*st = op->state;

	(void)loop;
	(void)revents;
	st->timed_out = 1;
	kill(-st->pid, SIGKILL);
	kill(st->pid, SIGKILL);
}

static void
env_add(char ***env, size_t *n, const char *k, const char *v)
{
	*env = xreallocarray(*env, *n + 2, sizeof(char *));
	xasprintf(&(*env)[(*n)++], "%s=%s", k, v);
	(*env)[*n] = NULL;
}

/* The environment of the script: ours, less a few, plus the alert. */
static char **
ex_env(const struct sink_op *op)
{
	static const char *const fields[] = { "id", "kind", "severity",
	    "host", "program", "event", "rule", "value", "message", "title",
	    "text", "unixtime", "suppressed", NULL };
	static const char *const names[] = { "CK_ALERT_ID", "CK_ALERT_KIND",
	    "CK_ALERT_SEVERITY", "CK_ALERT_HOST", "CK_ALERT_PROGRAM",
	    "CK_ALERT_EVENT", "CK_ALERT_RULE", "CK_ALERT_VALUE",
	    "CK_ALERT_MESSAGE", "CK_ALERT_TITLE", "CK_ALERT_TEXT",
	    "CK_ALERT_TIME", "CK_ALERT_SUPPRESSED", NULL };
	char	**env = NULL, *v, **e;
	size_t	  n = 0, i;

	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "CHAINKEEPER_INSTANCE=", 21) == 0 ||
		    strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 ||
		    strncmp(*e, "CK_ALERT_", 9) == 0)
			continue;
		env = xreallocarray(env, n + 2, sizeof(char *));
		env[n++] = xstrdup(*e);
		env[n] = NULL;
	}
	for (i = 0; fields[i] != NULL; i++) {
		v = alert_field(op->alerts[0], fields[i]);
		env_add(&env, &n, names[i], v);
		free(v);
	}
	env_add(&env, &n, "CK_ALERT_SINK", op->cfg->name);
	return (env);
}

static void
ex_send(struct sink_op *op)
{
	struct ex_cfg	*c = op->cfg->kcfg;
	struct ex_op	*st;
	char		**env;
	int		 fd[2], nul, i;
	pid_t		 pid;
	sigset_t	 none;

	op->taken = 1;
	if (pipe2(fd, O_CLOEXEC) == -1) {
		sink_done(op, SINK_RETRY, "pipe: %s", strerror(errno));
		return;
	}
	env = ex_env(op);
	if ((pid = fork()) == -1) {
		close(fd[0]);
		close(fd[1]);
		free_argv(env);
		sink_done(op, SINK_RETRY, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		setsid();
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((nul = open("/dev/null", O_RDONLY)) != -1)
			dup2(nul, STDIN_FILENO);
		dup2(fd[1], STDOUT_FILENO);
		dup2(fd[1], STDERR_FILENO);
		execvpe(c->argv[0], c->argv, env);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", c->argv[0],
		    strerror(errno));
		_exit(127);
	}
	free_argv(env);
	close(fd[1]);
	set_nonblock(fd[0]);
	st = xcalloc(1, sizeof(*st));
	st->pid = pid;
	st->fd = fd[0];
	op->state = st;
	ev_io_init(&st->io, ex_io_cb, fd[0], EV_READ);
	st->io.data = op;
	ev_io_start(EV_DEFAULT, &st->io);
	ev_child_init(&st->child, ex_child_cb, pid, 0);
	st->child.data = op;
	ev_child_start(EV_DEFAULT, &st->child);
	ev_timer_init(&st->timer, ex_timeout_cb,
	    (ev_tstamp)op->cfg->timeout_ms / 1000.0, 0.);
	st->timer.data = op;
	ev_timer_start(EV_DEFAULT, &st->timer);
}

static void
ex_cancel(struct sink_op *op)
{
	struct ex_op	*st = op->state;

	if (st == NULL)
		return;
	if (!st->exited)
		kill(-st->pid, SIGKILL);
	ex_op_free(op);
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
