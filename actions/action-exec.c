/*
 * exec: run a command (a list, or a string split like a shell) with a
 * timeout; its output is captured.  Done only when the process has exited
 * AND its output pipe reached EOF.  The command gets the program's name
 * and pid and the rule's reason in its environment, never in its argv.
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

#include "action.h"
#include "log.h"
#include "program.h"
#include "util.h"

#define EXEC_OUTPUT_MAX	4096

struct exec_cfg {
	char	**argv;
	int64_t	  timeout_ms;
};

struct exec_state {
	pid_t		 pid;
	int		 exited;
	int		 status;
	int		 fd;
	ev_io		 io;
	ev_child	 child;
	char		 out[EXEC_OUTPUT_MAX];
	size_t		 outlen;
	int		 timed_out;
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
	size_t		 i;

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
		xasprintf(err, "exec takes a command (string or list), or "
		    "{command, timeout}");
		goto fail;
	}
	return (c);
fail:
	exec_free_config(c);
	return (NULL);
}

static void
exec_finish(struct action *a)
{
	struct exec_state	*st = a->state;
	char			*last, *nl;
	int			 ok;

	if (!st->exited || st->fd != -1)
		return;
	st->out[st->outlen] = '\0';
	/* The last non-empty line of output, as the result. */
	while (st->outlen > 0 && st->out[st->outlen - 1] == '\n')
		st->out[--st->outlen] = '\0';
	last = (nl = strrchr(st->out, '\n')) != NULL ? nl + 1 : st->out;
	ok = !st->timed_out && WIFEXITED(st->status) &&
	    WEXITSTATUS(st->status) == 0;
	a->state = NULL;
	if (st->timed_out)
		action_done(a, 0, "timed out; killed: %.150s", last);
	else if (WIFEXITED(st->status))
		action_done(a, ok, "exit status %d: %.150s",
		    WEXITSTATUS(st->status), last);
	else
		action_done(a, 0, "killed by SIG%s: %.150s",
		    signal_name(WTERMSIG(st->status)), last);
	free(st);
}

static void
exec_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct action		*a = w->data;
	struct exec_state	*st = a->state;
	char			 buf[4096];
	ssize_t			 n;

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
	exec_finish(a);
}

static void
exec_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct action		*a = w->data;
	struct exec_state	*st = a->state;

	(void)loop;
	(void)revents;
	ev_child_stop(EV_DEFAULT, w);
	st->exited = 1;
	st->status = w->rstatus;
	exec_finish(a);
}

static void
exec_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct action		*a = w->data;
	struct exec_state	*st = a->state;

	(void)loop;
	(void)revents;
	st->timed_out = 1;
	kill(-st->pid, SIGKILL);
	kill(st->pid, SIGKILL);
}

static void
exec_start(struct action *a)
{
	struct exec_cfg		*c = a->cfg->kcfg;
	struct program		*p = action_program(a);
	struct exec_state	*st;
	int			 fd[2], nul, i;
	pid_t			 pid;
	char			 pidbuf[32];
	sigset_t		 none, all, old;

	if (pipe2(fd, O_CLOEXEC) == -1) {
		action_done(a, 0, "pipe: %s", strerror(errno));
		return;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)p->pid);
	/* As in spawn.c: no signal may run our handlers in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(fd[0]);
		close(fd[1]);
		action_done(a, 0, "fork: %s", strerror(errno));
		return;
	}
	if (pid > 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
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
		setenv("CHAINKEEPER_PROGRAM", p->pc->name, 1);
		setenv("CHAINKEEPER_PID", pidbuf, 1);
		setenv("CHAINKEEPER_STATE", program_state_name(p->state), 1);
		setenv("CHAINKEEPER_RULE", a->job->rs->rc->name, 1);
		setenv("CHAINKEEPER_REASON", a->job->why, 1);
		unsetenv("CHAINKEEPER_INSTANCE");
		unsetenv("NOTIFY_SOCKET");
		execvp(c->argv[0], c->argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", c->argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	set_nonblock(fd[0]);
	st = xcalloc(1, sizeof(*st));
	st->pid = pid;
	st->fd = fd[0];
	a->state = st;
	ev_io_init(&st->io, exec_io_cb, fd[0], EV_READ);
	st->io.data = a;
	ev_io_start(EV_DEFAULT, &st->io);
	ev_child_init(&st->child, exec_child_cb, pid, 0);
	st->child.data = a;
	ev_child_start(EV_DEFAULT, &st->child);
	ev_timer_init(&a->timer, exec_timeout_cb, (ev_tstamp)c->timeout_ms /
	    1000.0, 0.);
	a->timer.data = a;
	ev_timer_start(EV_DEFAULT, &a->timer);
}

static void
exec_cancel(struct action *a)
{
	struct exec_state	*st = a->state;

	if (st == NULL)
		return;
	kill(-st->pid, SIGKILL);
	if (st->fd != -1) {
		ev_io_stop(EV_DEFAULT, &st->io);
		close(st->fd);
	}
	ev_child_stop(EV_DEFAULT, &st->child);
	free(st);
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
