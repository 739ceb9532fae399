/*
 * chainkeeper-fdholder: keeps the read and write ends of the programs'
 * output pipes open while chainkeeperd is away (crashed, killed), so a
 * program writing to stdout never sees EPIPE and nothing it wrote is lost:
 * it waits in the pipe.  chainkeeperd starts one holder and sends it every
 * pipe (SCM_RIGHTS over a SOCK_SEQPACKET socketpair on fd 3).  The next
 * chainkeeperd connects to the holder's socket, takes the pipes back and
 * tells it to go.  It needs nothing but libc (and lib/fdpass.c), to stay
 * small.
 *
 * Messages: "ADD key" (with two descriptors: read end, write end), "DEL key",
 * "BYE" (chainkeeperd stopped cleanly: exit).  To a client on the socket:
 * "FD key" (with the two descriptors) for each pipe, then "END".
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

#define KEY_MAX	160

struct held {
	char	 key[KEY_MAX];
	int	 fd[2];
};

static struct held	*held;
static size_t		 nheld, capheld;

static void
held_del(const char *key)
{
	size_t	 i;

	for (i = 0; i < nheld; i++) {
		if (strcmp(held[i].key, key) != 0)
			continue;
		close(held[i].fd[0]);
		close(held[i].fd[1]);
		held[i] = held[--nheld];
		return;
	}
}

static void
held_add(const char *key, int r, int w)
{
	held_del(key);
	if (nheld == capheld) {
		capheld = capheld == 0 ? 64 : capheld * 2;
		if ((held = realloc(held, capheld * sizeof(*held))) == NULL) {
			fprintf(stderr, "chainkeeper-fdholder: out of memory\n");
			exit(1);
		}
	}
	snprintf(held[nheld].key, KEY_MAX, "%.*s", KEY_MAX - 1, key);
	held[nheld].fd[0] = r;
	held[nheld].fd[1] = w;
	nheld++;
}

/* Hand every pipe to a new chainkeeperd; 0 when it has them all. */
static int
serve(int c)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	char		 buf[KEY_MAX + 8], line[64];
	size_t		 i;
	int		 fds[2];

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		return (-1);
	for (i = 0; i < nheld; i++) {
		snprintf(buf, sizeof(buf), "FD %s", held[i].key);
		if (fdpass_send(c, buf, held[i].fd, 0) == -1)
			return (-1);
	}
	if (fdpass_send(c, "END", NULL, 0) == -1)
		return (-1);
	/* Wait for the taker to say it has them (or to go away). */
	if (fdpass_recv(c, line, sizeof(line), fds) == -1 ||
	    strcmp(line, "TAKEN") != 0)
		return (-1);
	return (0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd[2];
	char			 buf[KEY_MAX + 8];
	int			 ls, c, fds[2], daemon_fd = 3;

	if (argc != 2) {
		fprintf(stderr, "usage: chainkeeper-fdholder socket "
		    "(started by chainkeeperd)\n");
		return (2);
	}
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    argv[1]) >= sizeof(sun.sun_path))
		return (1);
	if ((ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return (1);
	unlink(argv[1]);
	umask(0177);
	if (bind(ls, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(ls, 4) == -1)
		return (1);
	for (;;) {
		pfd[0].fd = daemon_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ls;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return (1);
		}
		if (daemon_fd != -1 && (pfd[0].revents & (POLLIN | POLLHUP))) {
			if (fdpass_recv(daemon_fd, buf, sizeof(buf),
			    fds) == -1) {
				/* chainkeeperd is gone: keep holding. */
				close(daemon_fd);
				daemon_fd = -1;
			} else if (strncmp(buf, "ADD ", 4) == 0 &&
			    fds[0] != -1)
				held_add(buf + 4, fds[0], fds[1]);
			else if (strncmp(buf, "DEL ", 4) == 0)
				held_del(buf + 4);
			else if (strcmp(buf, "BYE") == 0)
				break;
		}
		if (pfd[1].revents & POLLIN) {
			if ((c = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) == -1)
				continue;
			if (serve(c) == 0)
				break;
			close(c);
		}
	}
	unlink(argv[1]);
	return (0);
}
