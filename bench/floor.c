/*
 * floor: not a supervisor, the lower bound of one on this machine.  It
 * forks and execs N ticks and, whenever one dies, forks and execs it again
 * at once: no state, no logging, no setup of the child.  Its figures show
 * what fork, exec and wait(2) alone cost here.
 *
 *	floor TICK SOCKET N
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char		*tick, *sock;
static char		 (*names)[16];
static pid_t		*pids;
static int		 n;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static pid_t
spawn(int i)
{
	pid_t	 pid;

	if ((pid = fork()) == 0) {
		execl(tick, tick, names[i], sock, (char *)NULL);
		_exit(127);
	}
	return (pid);
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	pid_t			 pid;
	int			 i, status;

	if (argc != 4 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: floor TICK SOCKET N\n");
		return (2);
	}
	tick = argv[1];
	sock = argv[2];
	names = calloc((size_t)n, sizeof(*names));
	pids = calloc((size_t)n, sizeof(*pids));
	if (names == NULL || pids == NULL)
		return (1);
	sa.sa_handler = on_term;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "p%04d", i);
		pids[i] = spawn(i);
	}
	while (!stop) {
		if ((pid = wait(&status)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++)
			if (pids[i] == pid) {
				pids[i] = stop ? 0 : spawn(i);
				break;
			}
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	while (wait(&status) > 0)
		;
	return (0);
}
