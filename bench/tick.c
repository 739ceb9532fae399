/*
 * tick: the tiny supervised program of the benchmark.  The first thing it
 * does is read CLOCK_MONOTONIC; it then sends "NAME PID NS\n" in one
 * datagram to the harness's unix socket and waits for a signal forever.
 *
 *	tick [NAME [SOCKET]]
 *
 * NAME defaults to the last component of the working directory (runit and
 * s6 run ./run inside the service directory, so `run` can be this binary
 * itself), SOCKET to $CKBENCH_SOCK.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec		 ts;
	struct sockaddr_un	 sun;
	char			 cwd[4096], msg[512];
	const char		*name, *sock, *slash;
	int			 fd, len;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc > 1)
		name = argv[1];
	else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return (111);
		slash = strrchr(cwd, '/');
		name = slash != NULL ? slash + 1 : cwd;
	}
	sock = argc > 2 ? argv[2] : getenv("CKBENCH_SOCK");
	if (sock == NULL || strlen(sock) >= sizeof(sun.sun_path))
		return (111);
	len = snprintf(msg, sizeof(msg), "%s %ld %lld\n", name, (long)getpid(),
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock, strlen(sock));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		while (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == ENOBUFS))
			;
		close(fd);
	}
	for (;;)
		pause();
}
