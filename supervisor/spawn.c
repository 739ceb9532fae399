/*
 * fork and exec of a program.  The child gets its own session, a clean
 * signal state, its rlimits, umask, directory and user, stdin from
 * /dev/null, the output pipes, and nothing else open but the exec error
 * pipe (close-on-exec), through which it reports a failed exec.
 *
 * Before its exec the child waits at a gate: a pipe from which it reads
 * one byte, written by spawn_release() once the run is recorded.  If
 * chainkeeperd dies first, the child reads EOF (the write end was only
 * ever open in chainkeeperd) and exits without running the program: so a
 * program never runs unless its run is recorded, whatever instant
 * chainkeeperd is killed at.  The gate is read after the user is set, so
 * a released child already runs with the recorded uid and gid.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proctree.h"
#include "spawn.h"
#include "util.h"

extern char	**environ;

static struct rlimit	 nofile_orig;
static const int	 limit_res[LIMIT_MAX] = {
	RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE, RLIMIT_MEMLOCK
};

/*
 * Remember the inherited RLIMIT_NOFILE (children get it back), then raise
 * ours to the hard limit: two pipes and two log files per program.
 */
void
spawn_init(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &nofile_orig) == -1)
		fatal("getrlimit");
	rl = nofile_orig;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_max);
}

/* The RLIMIT_NOFILE children get (kept across a reexec). */
void
spawn_nofile(struct rlimit *rl, const struct rlimit *set)
{
	if (set != NULL)
		nofile_orig = *set;
	if (rl != NULL)
		*rl = nofile_orig;
}

static int
env_has(char **env, const char *kv)
{
	size_t	 n = strcspn(kv, "=") + 1, i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], kv, n) == 0)
			return (1);
	return (0);
}

/*
 * The child's environment: the program's own variables, then the
 * user's HOME, USER, LOGNAME, then chainkeeperd's environment, then the
 * instance marker slot (filled in by the child, which knows its pid).
 */
static char **
build_env(const struct program_config *pc, char **marker)
{
	char	**env, *extra[4];
	size_t	  n, i, k = 0, ne = 0;

	if (pc->user != NULL) {
		xasprintf(&extra[ne++], "HOME=%s", pc->home);
		xasprintf(&extra[ne++], "USER=%s", pc->user);
		xasprintf(&extra[ne++], "LOGNAME=%s", pc->user);
	}
	xasprintf(&extra[ne++], "CHAINKEEPER_PROGRAM=%s", pc->name);
	n = argv_len(pc->env) + ne + argv_len(environ) + 2;
	env = xcalloc(n, sizeof(*env));
	for (i = 0; pc->env[i] != NULL; i++)
		env[k++] = xstrdup(pc->env[i]);
	for (i = 0; i < ne; i++) {
		if (!env_has(env, extra[i]))
			env[k++] = extra[i];
		else
			free(extra[i]);
	}
	for (i = 0; environ[i] != NULL; i++)
		if (!env_has(env, environ[i]) &&
		    strncmp(environ[i], PROCTREE_MARKER "=",
		    sizeof(PROCTREE_MARKER)) != 0 &&
		    strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
			env[k++] = xstrdup(environ[i]);
	*marker = env[k++] = xmalloc(sizeof(PROCTREE_MARKER) + 128);
	env[k] = NULL;
	return (env);
}

/* In the child: report errno through the exec pipe and exit. */
static void __attribute__((noreturn))
child_fail(int fd)
{
	int	 e = errno;

	(void)write(fd, &e, sizeof(e));
	_exit(127);
}

/* Close every descriptor above fd. */
static void
close_from(int fd)
{
#ifdef HAVE_CLOSE_RANGE
	if (close_range(fd, ~0U, 0) == 0)
		return;
#endif
	{
		long	 max = sysconf(_SC_OPEN_MAX), i;

		if (max < 0 || max > 65536)
			max = 65536;
		for (i = fd; i < max; i++)
			close((int)i);
	}
}

/*
 * Let a spawned child run its program (see above) and close the gate.
 * Returns -1 if the child is gone already (its exit tells the rest).
 */
int
spawn_release(int gate)
{
	ssize_t	 n;

	do
		n = write(gate, "", 1);
	while (n == -1 && errno == EINTR);
	close(gate);
	return (n == 1 ? 0 : -1);
}

/*
 * fork, set the child up and let it wait at the gate (io->gate is set to
 * the write end, for spawn_release()).  Returns the pid, or -1 with errno
 * if fork failed; a failed exec is reported on io->execfd and the child
 * exits 127.  Nothing here blocks the parent.
 */
pid_t
spawn_program(const struct program_config *pc, struct spawn_io *io,
    const char *name)
{
	char		**env, *marker, c;
	pid_t		  pid;
	sigset_t	  all, old;
	struct rlimit	  rl;
	int		  i, fd, ex, gate[2], e;
	ssize_t		  n;

	io->gate = -1;
	if (pipe2(gate, O_CLOEXEC) == -1)
		return (-1);
	env = build_env(pc, &marker);
	/*
	 * Block every signal across fork: until the child has reset its
	 * handlers, a stop signal would run chainkeeperd's (libev's) handler
	 * in the child and be lost.  Blocked, it waits and then kills.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	switch ((pid = fork())) {
	case -1:
		e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		free_argv(env);
		close(gate[0]);
		close(gate[1]);
		errno = e;
		return (-1);
	case 0:
		break;
	default:
		sigprocmask(SIG_SETMASK, &old, NULL);
		free_argv(env);
		close(gate[0]);
		io->gate = gate[1];
		return (pid);
	}

	/* Child. */
	ex = io->execfd;
	snprintf(marker, sizeof(PROCTREE_MARKER) + 128, "%s=%s/%ld",
	    PROCTREE_MARKER, name, (long)getpid());
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() == -1)
		child_fail(ex);
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		child_fail(ex);
	/* Move the exec pipe and the gate out of the way of 0 to 4 first. */
	if ((ex = fcntl(ex, F_DUPFD_CLOEXEC, 5)) == -1)
		child_fail(io->execfd);
	if ((gate[0] = fcntl(gate[0], F_DUPFD_CLOEXEC, 5)) == -1)
		child_fail(ex);
	if (dup2(fd, STDIN_FILENO) == -1 ||
	    dup2(io->out != -1 ? io->out : fd, STDOUT_FILENO) == -1 ||
	    dup2(io->err != -1 ? io->err : fd, STDERR_FILENO) == -1)
		child_fail(ex);
	if (dup3(ex, 3, O_CLOEXEC) == -1 || dup3(gate[0], 4, O_CLOEXEC) == -1)
		child_fail(ex);
	ex = 3;
	/* This closes the gate's write end too: only the parent holds it. */
	close_from(5);

	rl = nofile_orig;
	if (pc->limit_set[LIMIT_NOFILE])
		rl.rlim_cur = rl.rlim_max = pc->limit[LIMIT_NOFILE];
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		child_fail(ex);
	for (i = LIMIT_NPROC; i < LIMIT_MAX; i++) {
		if (!pc->limit_set[i])
			continue;
		rl.rlim_cur = rl.rlim_max = pc->limit[i];
		if (setrlimit(limit_res[i], &rl) == -1)
			child_fail(ex);
	}
	if (pc->umask != -1)
		umask((mode_t)pc->umask);
	if (pc->user != NULL) {
		if (setgroups(pc->ngroups, pc->groups) == -1 ||
		    setgid(pc->gid) == -1 || setuid(pc->uid) == -1)
			child_fail(ex);
	}
	if (pc->directory != NULL && chdir(pc->directory) == -1)
		child_fail(ex);
	/* Wait until the run is recorded; EOF: chainkeeperd is gone. */
	do
		n = read(4, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		_exit(126);
	close(4);
	/* PATH for the lookup is the program's own (environment:). */
	environ = env;
	execvp(pc->argv[0], pc->argv);
	child_fail(ex);
}
