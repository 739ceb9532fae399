/*
 * chainkeeperd's side of chainkeeper-fdholder (see fdholder.c): start the
 * holder, send it each output pipe as it is made, take the pipes back from
 * the holder a crashed chainkeeperd left, and dismiss it on a clean exit.
 * Sends never block the loop: a full socket costs a warning, and that pipe
 * is then not kept over a crash.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdhold.h"
#include "fdpass.h"
#include "log.h"
#include "util.h"

#define KEY_MAX	160

static int	hold_fd = -1;
static pid_t	hold_pid = -1;

/*
 * Start the holder: the chainkeeper-fdholder next to this binary (a build
 * folder) or in LIBEXECDIR.  Without one, pipes just do not survive a
 * crash of chainkeeperd.
 */
int
fdhold_start(const char *state_dir, const char *exe_path)
{
	char	*dir, *path, *sock;
	int	 sv[2], sz = 1 << 20;
	pid_t	 pid;

	dir = xstrdup(exe_path);
	xasprintf(&path, "%s/chainkeeper-fdholder", dirname(dir));
	free(dir);
	if (access(path, X_OK) == -1) {
		free(path);
		path = xstrdup(LIBEXECDIR "/chainkeeper-fdholder");
	}
	if (access(path, X_OK) == -1) {
		log_warnx("no chainkeeper-fdholder (%s): output pipes will "
		    "not survive a crash of chainkeeperd", path);
		free(path);
		return (-1);
	}
	xasprintf(&sock, "%s/fdholder.sock", state_dir);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("fdholder: socketpair");
		free(path);
		free(sock);
		return (-1);
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if ((pid = fork()) == -1) {
		log_warn("fdholder: fork");
		close(sv[0]);
		close(sv[1]);
		free(path);
		free(sock);
		return (-1);
	}
	if (pid == 0) {
		sigset_t	 none;
		int		 i;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		if (dup2(sv[1], 3) == -1)
			_exit(127);
		for (i = 4; i < 1024; i++)
			close(i);
		execl(path, "chainkeeper-fdholder", sock, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	set_nonblock(sv[0]);
	hold_fd = sv[0];
	hold_pid = pid;
	free(path);
	free(sock);
	return (0);
}

static void
hold_message(const char *verb, const char *name, const char *stream,
    const int fds[2])
{
	char	 buf[KEY_MAX + 8];

	if (hold_fd == -1)
		return;
	snprintf(buf, sizeof(buf), "%s %s/%s", verb, name, stream);
	if (fdpass_send(hold_fd, buf, fds, MSG_DONTWAIT) == -1)
		log_warn("fdholder: %s %s/%s", verb, name, stream);
}

/* Give the holder a pipe (both ends; it keeps its own copies). */
void
fdhold_add(const char *name, const char *stream, int r, int w)
{
	int	 fds[2] = { r, w };

	hold_message("ADD", name, stream, fds);
}

void
fdhold_del(const char *name, const char *stream)
{
	hold_message("DEL", name, stream, NULL);
}

/*
 * A clean exit: the holder has nothing more to keep.  Wait (at most a
 * second: the loop is over) until it is gone, so that chainkeeperd leaves
 * no process behind.
 */
void
fdhold_stop(void)
{
	int	 i;

	if (hold_fd == -1)
		return;
	if (fdpass_send(hold_fd, "BYE", NULL, 0) == -1)
		log_warn("fdholder: BYE");
	close(hold_fd);
	hold_fd = -1;
	for (i = 0; i < 100 && hold_pid > 0; i++) {
		if (waitpid(hold_pid, NULL, WNOHANG) != 0)
			break;
		usleep(10000);
	}
	hold_pid = -1;
}

/*
 * Take the pipes from the holder an earlier chainkeeperd left: cb gets
 * each (name, stream, read end, write end).  Returns how many, -1 if there
 * was no holder.  This runs once at start-up, before the loop, so it may
 * wait (briefly, bounded) for the holder's answer.
 */
int
fdhold_recover(const char *state_dir, void (*cb)(const char *, const char *,
    int, int, void *), void *arg)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	struct ucred		 cred;
	struct stat		 st;
	socklen_t		 credlen = sizeof(cred);
	char			 buf[KEY_MAX + 8], *slash;
	int			 s, fds[2], n = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/fdholder.sock", state_dir) >= sizeof(sun.sun_path))
		return (-1);
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(s);
		if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(sun.sun_path);
		return (-1);
	}
	/* Only a holder of our own uid is trusted with the pipes. */
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == -1 ||
	    cred.uid != geteuid()) {
		log_warnx("fdholder: %s answers as uid %ld, not as "
		    "chainkeeperd's: its pipes are not taken", sun.sun_path,
		    credlen == sizeof(cred) ? (long)cred.uid : -1L);
		close(s);
		return (-1);
	}
	for (;;) {
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) <= 0) {
			log_warnx("fdholder: no answer from the old holder");
			break;
		}
		if (fdpass_recv(s, buf, sizeof(buf), fds) == -1)
			break;
		if (strcmp(buf, "END") == 0) {
			fdpass_send(s, "TAKEN", NULL, 0);
			break;
		}
		if (strncmp(buf, "FD ", 3) != 0 || fds[0] == -1 ||
		    (slash = strrchr(buf + 3, '/')) == NULL) {
			if (fds[0] != -1) {
				close(fds[0]);
				close(fds[1]);
			}
			continue;
		}
		*slash = '\0';
		cb(buf + 3, slash + 1, fds[0], fds[1], arg);
		n++;
	}
	close(s);
	return (n);
}

/*
 * A child exited: if it was the holder, say so and forget it (the caller
 * starts a new one).  1 if it was the holder.
 */
int
fdhold_exited(pid_t pid, int status)
{
	if (pid != hold_pid || hold_pid <= 0)
		return (0);
	if (WIFSIGNALED(status))
		log_warnx("chainkeeper-fdholder (pid %ld) was killed by signal "
		    "%d: output pipes would not survive a crash of "
		    "chainkeeperd; starting a new holder", (long)pid,
		    WTERMSIG(status));
	else
		log_warnx("chainkeeper-fdholder (pid %ld) exited with status "
		    "%d: output pipes would not survive a crash of "
		    "chainkeeperd; starting a new holder", (long)pid,
		    WEXITSTATUS(status));
	if (hold_fd != -1)
		close(hold_fd);
	hold_fd = -1;
	hold_pid = -1;
	return (1);
}

/* The pipe holder's pid, or -1. */
pid_t
fdhold_pid(void)
{
	return (hold_pid);
}
