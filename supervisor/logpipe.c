/*
 * Output capture.  A logfile owns the read end of a program's pipe and the
 * file it is written to.  Reads happen in the loop; writes go straight to
 * the file (O_APPEND).  Rotation is by size and only at a line boundary,
 * so no line is ever split between two files: "name" is current, "name.1"
 * the newest backup.  A line longer than maxbytes is written whole.
 *
 * When the file cannot be written (a full disk, a folder that cannot be
 * made) the output is dropped, counted, and the write tried again once a
 * second; writing resumes at the start of a line, and the log says how
 * much was lost.  The pipe is read all along, so the program never blocks.
 *
 * The folder may belong to the program's user, who can put a symbolic
 * link, a hard link or a FIFO where the file is expected.  So every open
 * (the first, after a rotation, on SIGUSR2, after the file was removed,
 * and for tail) goes through fsafe: a descriptor of the checked folder,
 * then openat(O_NOFOLLOW) and fstat proving a regular file with one link,
 * owned by root or the program's user.  Rotation renames relative to that
 * descriptor and truncates through the open file, never by path.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsafe.h"
#include "log.h"
#include "logpipe.h"
#include "util.h"

#define READ_CHUNK	65536
#define READS_PER_EVENT	16	/* fairness between busy programs */

struct logsub {
	LIST_ENTRY(logsub) entry;
	logfile_sub_cb	 cb;
	void		*arg;
};

struct logfile {
	LIST_ENTRY(logfile) entry;
	char		*label;
	char		*path;
	char		*dir;		/* the folder of path */
	char		*base;		/* the file's name in it */
	uid_t		 user;		/* the program's user or -1 */
	int		 dfd;		/* the checked folder or -1 */
	int64_t		 maxbytes;
	int		 backups;
	int		 fd;		/* the file, -1 if not open */
	int		 regular;	/* a regular file: rotate it */
	uint64_t	 size;
	int		 at_nl;		/* last byte written was '\n' */
	uint64_t	 total;		/* bytes captured, ever */
	int		 failing;	/* writes fail: output is dropped */
	char		 fail_why[256];	/* why, as last logged */
	ev_tstamp	 retry_at;	/* when failing: next write attempt */
	uint64_t	 dropped;	/* bytes dropped while failing */
	uint64_t	 dropped_lines;
	int		 stream_nl;	/* last byte captured was '\n' */
	ev_tstamp	 checked;	/* when the file's link was last checked */
	int		 rfd;		/* read end of the pipe */
	ev_io		 io;
	LIST_HEAD(, logsub) subs;
};

static LIST_HEAD(, logfile) logfiles = LIST_HEAD_INITIALIZER(logfiles);

static void	logfile_read_cb(struct ev_loop *, ev_io *, int);
static void	logfile_fail(struct logfile *, const char *, int,
		    const char *, const char *, size_t);

/*
 * Open (or make) the file through a fresh, checked descriptor of its
 * folder and learn its size; -1 with errno and *why if not.
 */
static int
logfile_open(struct logfile *lf, const char **why)
{
	static struct fsafe_err	 e;
	struct stat		 st;
	char			 last;
	int			 dfd;

	*why = NULL;
	if (lf->fd != -1)
		return (0);
	if ((dfd = fsafe_opendir(lf->dir, lf->user, FSAFE_CREATE, &e)) < 0) {
		*why = e.msg;
		return (-1);
	}
	if (e.made > 0)
		log_warnx("%s: made %s again", lf->label, lf->dir);
	if (lf->dfd != -1)
		close(lf->dfd);
	lf->dfd = dfd;
	lf->fd = fsafe_openat_x(dfd, lf->base, O_WRONLY | O_APPEND | O_CREAT,
	    0640, lf->user, FSAFE_ROOTLINK, &e);
	if (lf->fd == -1) {
		*why = e.msg;
		return (-1);
	}
	lf->size = 0;
	lf->at_nl = 1;
	lf->regular = 0;
	if (fstat(lf->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		lf->regular = 1;
		lf->size = (uint64_t)st.st_size;
		if (st.st_size > 0 && pread(lf->fd, &last, 1,
		    st.st_size - 1) == 1)
			lf->at_nl = last == '\n';
	}
	return (0);
}

struct logfile *
logfile_new(const char *label, const struct logfile_config *lc)
{
	struct logfile	*lf;

	const char	*why;
	char		*slash;

	lf = xcalloc(1, sizeof(*lf));
	lf->label = xstrdup(label);
	lf->path = xstrdup(lc->path);
	lf->dir = xstrdup(lc->path);
	if ((slash = strrchr(lf->dir, '/')) == NULL)
		fatalx("%s: log path %s is not absolute", label, lc->path);
	lf->base = xstrdup(slash + 1);
	if (slash == lf->dir)
		slash++;
	*slash = '\0';
	lf->user = lc->user;
	lf->dfd = -1;
	lf->maxbytes = lc->maxbytes;
	lf->backups = lc->backups;
	lf->fd = -1;
	lf->rfd = -1;
	lf->at_nl = 1;
	lf->stream_nl = 1;
	LIST_INIT(&lf->subs);
	LIST_INSERT_HEAD(&logfiles, lf, entry);
	if (logfile_open(lf, &why) == -1)
		logfile_fail(lf, "cannot open", errno, why, NULL, 0);
	return (lf);
}

/* Take the read end of a pipe and start reading it. */
int
logfile_attach(struct logfile *lf, int rfd)
{
	lf->rfd = rfd;
	ev_io_init(&lf->io, logfile_read_cb, rfd, EV_READ);
	lf->io.data = lf;
	ev_io_start(EV_DEFAULT, &lf->io);
	return (0);
}

/* Read what is in the pipe now, without waiting. */
void
logfile_drain(struct logfile *lf)
{
	char	 buf[READ_CHUNK];
	ssize_t	 n;

	if (lf->rfd == -1)
		return;
	while ((n = read(lf->rfd, buf, sizeof(buf))) > 0)
		logfile_write(lf, buf, (size_t)n);
}

void
logfile_detach(struct logfile *lf)
{
	if (lf->rfd == -1)
		return;
	logfile_drain(lf);
	ev_io_stop(EV_DEFAULT, &lf->io);
	close(lf->rfd);
	lf->rfd = -1;
}

void
logfile_free(struct logfile *lf)
{
	struct logsub	*s;

	if (lf == NULL)
		return;
	logfile_detach(lf);
	while ((s = LIST_FIRST(&lf->subs)) != NULL) {
		LIST_REMOVE(s, entry);
		s->cb(s->arg, NULL, 0);		/* tell it the end came */
		free(s);
	}
	if (lf->fd != -1)
		close(lf->fd);
	if (lf->dfd != -1)
		close(lf->dfd);
	LIST_REMOVE(lf, entry);
	free(lf->label);
	free(lf->path);
	free(lf->dir);
	free(lf->base);
	free(lf);
}

static void
logfile_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct logfile	*lf = w->data;
	char		 buf[READ_CHUNK];
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < READS_PER_EVENT; i++) {
		n = read(lf->rfd, buf, sizeof(buf));
		if (n > 0) {
			logfile_write(lf, buf, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF: the program holds no write end and neither do we. */
		if (n == -1)
			log_warn("%s: read", lf->label);
		ev_io_stop(EV_DEFAULT, &lf->io);
		close(lf->rfd);
		lf->rfd = -1;
		return;
	}
}

/*
 * name.(n-1) -> name.n, ..., name -> name.1 (renamed inside the folder
 * that was checked when the file was opened); then a fresh name.  With
 * no backups the open file is cut to nothing.  -1 (logged) if the fresh
 * file cannot be opened.
 */
static int
logfile_rotate(struct logfile *lf)
{
	const char	*why;
	char		*from, *to;
	int		 i;

	if (lf->backups == 0) {
		if (ftruncate(lf->fd, 0) == 0) {
			lf->size = 0;
			lf->at_nl = 1;
			return (0);
		}
		log_warn("%s: truncate %s", lf->label, lf->path);
	} else {
		for (i = lf->backups - 1; i >= 0; i--) {
			if (i == 0)
				from = xstrdup(lf->base);
			else
				xasprintf(&from, "%s.%d", lf->base, i);
			xasprintf(&to, "%s.%d", lf->base, i + 1);
			if (renameat(lf->dfd, from, lf->dfd, to) == -1 &&
			    errno != ENOENT)
				log_warn("%s: rename %s/%s", lf->label,
				    lf->dir, from);
			free(from);
			free(to);
		}
	}
	close(lf->fd);
	lf->fd = -1;
	if (logfile_open(lf, &why) == -1) {
		logfile_fail(lf, "cannot open", errno, why, NULL, 0);
		return (-1);
	}
	return (0);
}

static size_t
last_nl(const char *buf, size_t len)
{
	while (len > 0) {
		if (buf[len - 1] == '\n')
			return (len);
		len--;
	}
	return (0);
}

static size_t
first_nl(const char *buf, size_t len)
{
	const char	*p = memchr(buf, '\n', len);

	return (p != NULL ? (size_t)(p - buf) + 1 : len);
}

static void
logfile_publish(struct logfile *lf, const char *buf, size_t len)
{
	struct logsub	*s, *next;

	for (s = LIST_FIRST(&lf->subs); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		s->cb(s->arg, buf, len);
	}
}

/* Count bytes that will never reach the file. */
static void
logfile_drop(struct logfile *lf, const char *buf, size_t len)
{
	const char	*end = buf + len, *nl;

	lf->dropped += len;
	while (buf < end && (nl = memchr(buf, '\n', end - buf)) != NULL) {
		lf->dropped_lines++;
		buf = nl + 1;
	}
}

/*
 * A write (or open) failed: drop this output and try again in a second.
 * The first failure of an episode is logged, and again when the reason
 * changes (a link refused, then a full disk); so is its end.
 */
static void
logfile_fail(struct logfile *lf, const char *what, int e, const char *why,
    const char *buf, size_t len)
{
	char	 now[sizeof(lf->fail_why)];

	snprintf(now, sizeof(now), "%s %s: %s", what, lf->path,
	    why != NULL && *why != '\0' ? why : strerror(e));
	if (lf->failing && strcmp(now, lf->fail_why) != 0) {
		log_warnx("%s: %s: output is still dropped", lf->label, now);
		memcpy(lf->fail_why, now, sizeof(lf->fail_why));
	}
	if (!lf->failing) {
		log_warnx("%s: %s: output is dropped until it can be written "
		    "again (tried once a second)", lf->label, now);
		memcpy(lf->fail_why, now, sizeof(lf->fail_why));
		lf->failing = 1;
		lf->dropped = 0;
		lf->dropped_lines = 0;
	}
	logfile_drop(lf, buf, len);
	lf->retry_at = ev_now(EV_DEFAULT) + 1.0;
	/* A full disk may free up under the same file; anything else
	 * (an I/O error, a file that was replaced) wants a fresh open. */
	if (e != ENOSPC && e != EDQUOT && e != EFBIG && lf->fd != -1) {
		close(lf->fd);
		lf->fd = -1;
	}
}

/*
 * While failing: whether to try writing now.  Output is taken up again
 * only at the start of a line (what came before it is dropped), and a
 * line the failure cut short in the file is ended first.
 */
static int
logfile_retry(struct logfile *lf, const char **buf, size_t *len,
    int stream_nl)
{
	ssize_t		 w;
	const char	*why;
	size_t		 skip;

	if (ev_now(EV_DEFAULT) < lf->retry_at) {
		logfile_drop(lf, *buf, *len);
		return (0);
	}
	skip = stream_nl ? 0 : first_nl(*buf, *len);
	logfile_drop(lf, *buf, skip);
	*buf += skip;
	*len -= skip;
	if (*len == 0)
		return (0);
	if (lf->fd == -1 && logfile_open(lf, &why) == -1) {
		logfile_fail(lf, "cannot open", errno, why, *buf, *len);
		return (0);
	}
	if (!lf->at_nl) {
		if ((w = write(lf->fd, "\n", 1)) != 1) {
			if (w == 0)
				errno = ENOSPC;
			logfile_fail(lf, "write", errno, NULL, *buf, *len);
			return (0);
		}
		lf->size++;
		lf->at_nl = 1;
	}
	return (1);
}

/* Write captured bytes, rotating at line boundaries. */
int
logfile_write(struct logfile *lf, const char *buf, size_t len)
{
	struct stat	 st;
	const char	*why;
	size_t		 n, room;
	ssize_t		 w;
	int		 stream_nl = lf->stream_nl;

	if (len == 0)
		return (0);
	lf->total += len;
	lf->stream_nl = buf[len - 1] == '\n';
	logfile_publish(lf, buf, len);
	if (lf->failing && !logfile_retry(lf, &buf, &len, stream_nl))
		return (-1);
	/* A file removed under us (or its folder) is made again, once a
	 * second at most. */
	if (lf->fd != -1 && ev_now(EV_DEFAULT) - lf->checked >= 1.0) {
		lf->checked = ev_now(EV_DEFAULT);
		if (fstat(lf->fd, &st) == 0 && st.st_nlink == 0) {
			log_warnx("%s: %s was removed: making it again",
			    lf->label, lf->path);
			close(lf->fd);
			lf->fd = -1;
		}
	}
	while (len > 0) {
		if (lf->fd == -1 && logfile_open(lf, &why) == -1) {
			logfile_fail(lf, "cannot open", errno, why, buf, len);
			return (-1);
		}
		n = len;
		if (lf->regular && lf->maxbytes > 0) {
			if (lf->size >= (uint64_t)lf->maxbytes && lf->at_nl &&
			    lf->size > 0) {
				if (logfile_rotate(lf) == -1) {
					logfile_drop(lf, buf, len);
					return (-1);
				}
				continue;
			}
			room = lf->size < (uint64_t)lf->maxbytes ?
			    (size_t)((uint64_t)lf->maxbytes - lf->size) : 0;
			if (room > len)
				room = len;
			if (room == len)
				n = len;
			else if ((n = last_nl(buf, room)) == 0) {
				if (lf->at_nl && lf->size > 0) {
					/* The next line does not fit. */
					if (logfile_rotate(lf) == -1) {
						logfile_drop(lf, buf, len);
						return (-1);
					}
					continue;
				}
				n = first_nl(buf, len);
			}
		}
		w = write(lf->fd, buf, n);
		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			if (w == 0)
				errno = ENOSPC;
			logfile_fail(lf, "write", errno, NULL, buf, len);
			return (-1);
		}
		if (lf->failing) {
			log_info("%s: writing to %s again; %llu bytes (%llu "
			    "lines) were dropped while it failed", lf->label,
			    lf->path, (unsigned long long)lf->dropped,
			    (unsigned long long)lf->dropped_lines);
			lf->failing = 0;
		}
		lf->size += (uint64_t)w;
		lf->at_nl = buf[w - 1] == '\n';
		buf += w;
		len -= (size_t)w;
	}
	return (0);
}

const char *
logfile_path(const struct logfile *lf)
{
	return (lf->path);
}

/* The read end of the pipe, or -1. */
int
logfile_fd(const struct logfile *lf)
{
	return (lf->rfd);
}

uint64_t
logfile_bytes(const struct logfile *lf)
{
	return (lf->total);
}

int
logfile_reopen(struct logfile *lf)
{
	const char	*why;

	if (lf->fd != -1) {
		close(lf->fd);
		lf->fd = -1;
	}
	if (logfile_open(lf, &why) == -1) {
		logfile_fail(lf, "cannot open", errno, why, NULL, 0);
		return (-1);
	}
	return (0);
}

/* SIGUSR2: reopen every log file (after an external logrotate). */
void
logfile_reopen_all(void)
{
	struct logfile	*lf;

	LIST_FOREACH(lf, &logfiles, entry)
		logfile_reopen(lf);
}

void
logfile_subscribe(struct logfile *lf, logfile_sub_cb cb, void *arg)
{
	struct logsub	*s;

	s = xcalloc(1, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	LIST_INSERT_HEAD(&lf->subs, s, entry);
}

void
logfile_unsubscribe(struct logfile *lf, void *arg)
{
	struct logsub	*s;

	LIST_FOREACH(s, &lf->subs, entry) {
		if (s->arg == arg) {
			LIST_REMOVE(s, entry);
			free(s);
			return;
		}
	}
}

/* The last max bytes of the current file (the caller frees *out). */
int
logfile_tail(const struct logfile *lf, size_t max, char **out, size_t *len)
{
	struct fsafe_err e;
	struct stat	 st;
	off_t		 off;
	ssize_t		 n;
	int		 fd, dfd;

	*out = NULL;
	*len = 0;
	if ((dfd = fsafe_opendir(lf->dir, lf->user, 0, &e)) < 0) {
		if (errno != ENOENT)
			log_warnx("%s: tail %s refused: %s", lf->label,
			    lf->path, e.msg);
		return (-1);
	}
	fd = fsafe_openat_x(dfd, lf->base, O_RDONLY, 0, lf->user,
	    FSAFE_ROOTLINK, &e);
	close(dfd);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warnx("%s: tail %s refused: %s", lf->label,
			    lf->path, e.msg);
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return (-1);
	}
	off = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	*out = xmalloc(st.st_size - off + 1);
	n = pread(fd, *out, st.st_size - off, off);
	close(fd);
	if (n < 0) {
		free(*out);
		*out = NULL;
		return (-1);
	}
	*len = (size_t)n;
	return (0);
}
