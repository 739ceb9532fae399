/*
 * Jobs: fork and exec a command that is not a program (an exec action, an
 * exec alert sink), capture its output, and say once how it ended.
 *
 * The command runs in a session and process group of its own, with stdin
 * on /dev/null and stdout and stderr on one pipe; the last outmax - 1
 * bytes of what it writes are kept.  A job is done only when its process
 * has exited and the pipe has reached EOF: then the output is made valid
 * UTF-8 (once, here, NULs too become '?') and loses its trailing
 * newlines, and done is called, after which the job is freed.
 * At the timeout the whole process group is killed (SIGKILL) and the job
 * is marked timed out; a descendant that left the group and still holds
 * the pipe a grace second later is not waited for.  done is never called
 * from job_start(), nor after job_cancel().
 *
 * Children are reaped by libev (an ev_child on the default loop, which
 * must be running), the way chainkeeperd reaps all of its children; a
 * cancelled job's process is killed and left for the same reaping.
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
#include <jansson.h>

#include "job.h"
#include "util.h"

#define JOB_GRACE	1.0	/* seconds the pipe may outlive a kill */

extern char	**environ;

struct job_proc {
	pid_t		 pid;
	int		 fd;		/* the pipe's read end, -1 at EOF */
	int		 exited;
	int		 status;	/* as waitpid() says, once exited */
	int		 timed_out;
	ev_io		 io;
	ev_child	 child;
	ev_timer	 timer;
	void		(*done)(const struct job_result *, void *);
	void		*arg;
	size_t		 outmax;
	size_t		 outlen;
	char		 out[];		/* outmax bytes */
};

/* In the child: the command's own process, with its stdio set up. */
static void __attribute__((noreturn))
job_exec(const struct job_params *jp, int out)
{
	sigset_t	 none;
	int		 i, nul;

	setsid();
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((nul = open("/dev/null", O_RDONLY)) != -1 &&
	    nul != STDIN_FILENO) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	}
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(out, STDERR_FILENO) == -1)
		_exit(127);
	if (jp->env != NULL)
		execvpe(jp->argv[0], jp->argv, jp->env);
	else
		execvp(jp->argv[0], jp->argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", jp->argv[0],
	    strerror(errno));
	_exit(127);
}

/* Once exited and at EOF: clean the output, tell the caller, free. */
static void
job_finish(struct job_proc *j)
{
	struct job_result	 r;
	char			*nl;

	if (!j->exited || j->fd != -1)
		return;
	ev_timer_stop(EV_DEFAULT, &j->timer);
	j->out[j->outlen] = '\0';
	utf8_sanitize(j->out, j->outlen);
	while (j->outlen > 0 && j->out[j->outlen - 1] == '\n')
		j->out[--j->outlen] = '\0';
	r.out = j->out;
	r.last = (nl = strrchr(j->out, '\n')) != NULL ? nl + 1 : j->out;
	r.timed_out = j->timed_out;
	if (WIFEXITED(j->status)) {
		r.status = WEXITSTATUS(j->status);
		r.signo = 0;
	} else {
		r.status = -1;
		r.signo = WTERMSIG(j->status);
	}
	j->done(&r, j->arg);
	free(j);
}

static void
job_close(struct job_proc *j)
{
	ev_io_stop(EV_DEFAULT, &j->io);
	close(j->fd);
	j->fd = -1;
}

static void
job_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job_proc	*j = w->data;
	char		 buf[4096];
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(j->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		tail_append(j->out, j->outmax, &j->outlen, buf, (size_t)n);
		return;
	}
	job_close(j);		/* EOF, or an error that ends the output */
	job_finish(j);
}

static void
job_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct job_proc	*j = w->data;

	(void)loop;
	(void)revents;
	ev_child_stop(EV_DEFAULT, w);
	j->exited = 1;
	j->status = w->rstatus;
	job_finish(j);
}

/* Kill the group; the main process too, which may not have called setsid. */
static void
job_kill(struct job_proc *j)
{
	kill(-j->pid, SIGKILL);
	if (!j->exited)
		kill(j->pid, SIGKILL);
}

/* The timeout, then every grace second until done. */
static void
job_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job_proc	*j = w->data;

	(void)loop;
	(void)revents;
	if (!j->timed_out) {
		j->timed_out = 1;
		job_kill(j);
		return;
	}
	if (j->exited && j->fd != -1) {
		job_close(j);
		job_finish(j);
	}
}

/*
 * Start a job (the parameters are read only here).  NULL, with errno set
 * and *cause naming the call that failed, if it cannot start.
 */
struct job_proc *
job_start(const struct job_params *jp, const char **cause)
{
	struct job_proc	*j;
	sigset_t	 all, old;
	pid_t		 pid;
	int		 fd[2], saved;

	if (jp->argv == NULL || jp->argv[0] == NULL || jp->outmax < 2 ||
	    jp->done == NULL) {
		*cause = "job";
		errno = EINVAL;
		return (NULL);
	}
	*cause = "pipe";
	if (pipe2(fd, O_CLOEXEC) == -1)
		return (NULL);
	if (set_nonblock(fd[0]) == -1) {
		saved = errno;
		close(fd[0]);
		close(fd[1]);
		errno = saved;
		return (NULL);
	}
	/* As in spawn.c: no signal may run our handlers in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
		job_exec(jp, fd[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd[1]);
	if (pid == -1) {
		close(fd[0]);
		*cause = "fork";
		errno = saved;
		return (NULL);
	}
	j = xcalloc(1, sizeof(*j) + jp->outmax);
	j->pid = pid;
	j->fd = fd[0];
	j->done = jp->done;
	j->arg = jp->arg;
	j->outmax = jp->outmax;
	ev_io_init(&j->io, job_io_cb, j->fd, EV_READ);
	j->io.data = j;
	ev_io_start(EV_DEFAULT, &j->io);
	ev_child_init(&j->child, job_child_cb, pid, 0);
	j->child.data = j;
	ev_child_start(EV_DEFAULT, &j->child);
	ev_timer_init(&j->timer, job_timeout_cb, (ev_tstamp)jp->timeout_ms /
	    1000.0, JOB_GRACE);
	j->timer.data = j;
	ev_timer_start(EV_DEFAULT, &j->timer);
	return (j);
}

/* Kill a job that is not done and free it: done is not called. */
void
job_cancel(struct job_proc *j)
{
	if (j == NULL)
		return;
	job_kill(j);
	if (j->fd != -1)
		job_close(j);
	ev_child_stop(EV_DEFAULT, &j->child);
	ev_timer_stop(EV_DEFAULT, &j->timer);
	free(j);
}

/*
 * The argv of a command in a configuration (borrowed): a string split like
 * a shell, or a list of strings.  NULL with *err set (allocated) if it is
 * neither: the message is what, unless the string or the list is bad.
 */
char **
job_argv(const json_t *cmd, const char *what, char **err)
{
	char		**argv;
	const json_t	 *v;
	const char	 *e;
	size_t		  i;

	if (json_is_string(cmd)) {
		if ((argv = split_command(json_string_value(cmd), &e)) == NULL)
			xasprintf(err, "command: %s", e);
		return (argv);
	}
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		*err = xstrdup(what);
		return (NULL);
	}
	argv = xcalloc(json_array_size(cmd) + 1, sizeof(char *));
	json_array_foreach(cmd, i, v) {
		if (!json_is_string(v)) {
			xasprintf(err, "command must be a list of strings");
			free_argv(argv);
			return (NULL);
		}
		argv[i] = xstrdup(json_string_value(v));
	}
	return (argv);
}

/*
 * A copy of our environment for a job, less every variable that starts
 * with one of drop ("NAME=" for one, a prefix for a family; may be NULL).
 */
char **
job_env(const char *const *drop)
{
	char	**env, **e;
	size_t	  n = 0, i;

	env = xcalloc(argv_len(environ) + 1, sizeof(char *));
	for (e = environ; *e != NULL; e++) {
		for (i = 0; drop != NULL && drop[i] != NULL; i++)
			if (strncmp(*e, drop[i], strlen(drop[i])) == 0)
				break;
		if (drop == NULL || drop[i] == NULL)
			env[n++] = xstrdup(*e);
	}
	env[n] = NULL;
	return (env);
}

/* Set name to value in an environment from job_env(), as setenv() does. */
void
job_setenv(char ***envp, const char *name, const char *value)
{
	char	**env = *envp;
	size_t	  n, len = strlen(name);

	for (n = 0; env[n] != NULL; n++)
		if (strncmp(env[n], name, len) == 0 && env[n][len] == '=') {
			free(env[n]);
			xasprintf(&env[n], "%s=%s", name, value);
			return;
		}
	env = xreallocarray(env, n + 2, sizeof(char *));
	xasprintf(&env[n], "%s=%s", name, value);
	env[n + 1] = NULL;
	*envp = env;
}
