/*
 * Logging: to stderr (foreground), a file (log.file in the config) or
 * syslog (daemonized without a file).  Lines are short and written with one
 * write(2), so they never interleave with a child's output on the same fd.
 * A line is never waited for: when the log is a pipe or socket that is not
 * read (a stuck journald, a full terminal), it is dropped and counted, and
 * the count is logged once lines get through again.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "chainkeeper";
static int		 log_dest = LOG_TO_STDERR;
static int		 log_verbose;
static int		 log_fd = STDERR_FILENO;
static char		*log_path;
static int		 log_stamp;
static unsigned long	 log_dropped;	/* lines the log could not take */

/* Set the program name, the destination and whether to log debug lines. */
void
log_init(const char *ident, int dest, int verbose)
{
	log_ident = ident;
	log_dest = dest;
	log_verbose = verbose;
	/* journald stamps lines itself; elsewhere a stamp helps. */
	log_stamp = getenv("JOURNAL_STREAM") == NULL;
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Send log lines to a file, appended; -1 with errno if it cannot open. */
int
log_open_file(const char *path)
{
	char	*copy;

	if ((copy = strdup(path)) == NULL)
		return (-1);
	free(log_path);
	log_path = copy;
	log_dest = LOG_TO_FILE;
	log_stamp = 1;
	return (log_reopen());
}

/* Reopen the log file (SIGUSR2, after an external rotation). */
int
log_reopen(void)
{
	int	 fd;

	if (log_dest != LOG_TO_FILE || log_path == NULL)
		return (0);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return (-1);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return (0);
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

/*
 * Write one line if the log can take it now.  A regular file always can;
 * a pipe or socket that is full drops the line instead of blocking the
 * loop.
 */
static void
log_put(const char *stamp, const char *line, size_t n)
{
	struct pollfd	 pfd;
	char		 note[192];
	int		 r;

	pfd.fd = log_fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1 || (pfd.revents & POLLOUT) == 0) {
		log_dropped++;
		return;
	}
	if (log_dropped > 0) {
		r = snprintf(note, sizeof(note), "%s%s: warning: %lu log lines "
		    "were dropped: the log was not being read\n", stamp,
		    log_ident, log_dropped);
		if (r > 0 && (size_t)r < sizeof(note))
			(void)write(log_fd, note, (size_t)r);
		log_dropped = 0;
	}
	(void)write(log_fd, line, n);
}

static void
log_emit(int pri, const char *level, const char *fmt, va_list ap,
    const char *err)
{
	char		 line[2048], stamp[32];
	size_t		 n = 0;
	int		 r;
	struct timespec	 ts;
	struct tm	 tm;

	if (log_dest == LOG_TO_SYSLOG) {
		(void)vsnprintf(line, sizeof(line), fmt, ap);
		if (err != NULL)
			syslog(pri, "%s: %s", line, err);
		else
			syslog(pri, "%s", line);
		return;
	}
	stamp[0] = '\0';
	if (log_stamp) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		r = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(stamp + r, sizeof(stamp) - r, ".%03ld ",
		    ts.tv_nsec / 1000000);
	}
	r = snprintf(line, sizeof(line), "%s%s: %s", stamp, log_ident, level);
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r :
		    sizeof(line) - n - 1;
	if (err != NULL && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", err);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r :
			    sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	log_put(stamp, line, n);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[128];
	int	 saved = errno;

	snprintf(err, sizeof(err), "%s", strerror(saved));
	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap, err);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "debug: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[128];

	snprintf(err, sizeof(err), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
