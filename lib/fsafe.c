/*
 * Folders and files opened as root, never through a path someone else
 * controls (the way sshd's StrictModes and logrotate do it).
 *
 * fsafe_opendir() walks a folder's path from "/" one component at a time
 * with openat(O_DIRECTORY | O_NOFOLLOW), and checks each folder with
 * fstat: it must belong to root, to chainkeeperd's uid or to the program's
 * user, and nobody else may write it (a sticky folder such as /tmp may be
 * passed through, but not be the last one).  A symbolic link is followed
 * only where it sits in a folder that root alone can write (/var/run ->
 * /run); anywhere else it is refused.  What comes back is a descriptor of
 * the folder that was checked, so the files in it are then opened with
 * fsafe_openat() relative to it: O_NOFOLLOW, never blocking on a FIFO,
 * and proven by fstat to be a regular file with one link (or, in a folder
 * only root writes, whatever root put there, such as a device or the
 * /dev/stdout link).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsafe.h"
#include "util.h"

#define FSAFE_MAX_LINKS	16

static int	fsafe_walk(const char *, uid_t, int, struct fsafe_err *, int);

static void	fsafe_say(struct fsafe_err *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Record why, and leave errno set to e. */
static void
fsafe_say(struct fsafe_err *e, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	errno = err;
}

/* Whether a file or folder owner is one chainkeeperd may trust. */
int
fsafe_owner_ok(uid_t owner, uid_t user)
{
	return (owner == 0 || owner == geteuid() ||
	    (user != FSAFE_NOUSER && owner == user));
}

/* Root's (or chainkeeperd's) alone: only its owner can change it. */
static int
fsafe_private(const struct stat *st)
{
	return ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0);
}

/* Check one folder on the way; last: the folder asked for. */
static int
fsafe_dir_ok(int fd, const char *shown, uid_t user, int last,
    struct stat *st, struct fsafe_err *e)
{
	if (fstat(fd, st) == -1) {
		fsafe_say(e, errno, "%s: %s", shown, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st->st_mode)) {
		fsafe_say(e, ENOTDIR, "%s is not a folder", shown);
		return (-1);
	}
	if (!fsafe_owner_ok(st->st_uid, user)) {
		if (user != FSAFE_NOUSER)
			fsafe_say(e, EPERM, "%s is owned by uid %lu, not by "
			    "root or the program's user (uid %lu)", shown,
			    (unsigned long)st->st_uid, (unsigned long)user);
		else
			fsafe_say(e, EPERM, "%s is owned by uid %lu, not by "
			    "root", shown, (unsigned long)st->st_uid);
		return (-1);
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (last || (st->st_mode & S_ISVTX) == 0)) {
		fsafe_say(e, EPERM, "%s is writable by %s (mode %04o)", shown,
		    (st->st_mode & S_IWOTH) != 0 ? "others" : "its group",
		    (unsigned int)(st->st_mode & 07777));
		return (-1);
	}
	return (0);
}

/* Follow the link name in folder fd (which root alone writes). */
static int
fsafe_follow(int fd, const char *name, const char *sofar, const char *rest,
    uid_t user, int flags, struct fsafe_err *e, int depth)
{
	char	 target[PATH_MAX], *next;
	ssize_t	 n;
	int	 rc;

	if (depth >= FSAFE_MAX_LINKS) {
		fsafe_say(e, ELOOP, "%s/%s: too many symbolic links", sofar,
		    name);
		return (-1);
	}
	if ((n = readlinkat(fd, name, target, sizeof(target) - 1)) == -1) {
		fsafe_say(e, errno, "%s/%s: %s", sofar, name, strerror(errno));
		return (-1);
	}
	target[n] = '\0';
	xasprintf(&next, "%s%s%s%s%s", target[0] == '/' ? "" : sofar,
	    target[0] == '/' ? "" : "/", target, rest != NULL ? "/" : "",
	    rest != NULL ? rest : "");
	rc = fsafe_walk(next, user, flags, e, depth + 1);
	free(next);
	return (rc);
}

/* The walk itself; depth counts the links followed. */
static int
fsafe_walk(const char *path, uid_t user, int flags, struct fsafe_err *e,
    int depth)
{
	struct stat	 st, lst;
	char		*copy, *comp, *rest, *next, *sofar = NULL;
	int		 fd, nfd, oflags, rc = -1;

	if (path[0] != '/') {
		fsafe_say(e, EINVAL, "%s is not an absolute path", path);
		return (-1);
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fsafe_say(e, errno, "/: %s", strerror(errno));
		return (-1);
	}
	copy = xstrdup(path);
	sofar = xstrdup("");
	rest = copy;
	for (;;) {
		while (*rest == '/')
			rest++;
		comp = rest;
		if ((rest = strchr(rest, '/')) != NULL)
			*rest++ = '\0';
		while (rest != NULL && *rest == '/')
			rest++;
		if (rest != NULL && *rest == '\0')
			rest = NULL;
		if (*comp == '\0' || strcmp(comp, ".") == 0) {
			if (fsafe_dir_ok(fd, *sofar != '\0' ? sofar : "/",
			    user, rest == NULL, &st, e) == -1)
				goto done;
			if (rest == NULL)
				break;
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			fsafe_say(e, EINVAL, "%s: \"..\" is not allowed", path);
			goto done;
		}
		/* The folder holding comp. */
		if (fsafe_dir_ok(fd, *sofar != '\0' ? sofar : "/", user, 0,
		    &st, e) == -1)
			goto done;
		/*
		 * A folder on the way is opened O_PATH: searching it is
		 * enough, as for a path (a daemon that is not root); the
		 * last one is opened to be read and fsync'd.
		 */
		oflags = (rest == NULL ? O_RDONLY : O_PATH) | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC;
		nfd = openat(fd, comp, oflags);
		if (nfd == -1 && errno == ENOENT && (flags & FSAFE_CREATE)) {
			if (mkdirat(fd, comp, 0750) == 0)
				e->made++;
			else if (errno != EEXIST) {
				fsafe_say(e, errno, "mkdir %s/%s: %s", sofar,
				    comp, strerror(errno));
				goto done;
			}
			nfd = openat(fd, comp, oflags);
		}
		if (nfd == -1 && errno == ENOENT && (flags & FSAFE_MISSING)) {
			rc = -2;
			goto done;
		}
		if (nfd == -1 && (errno == ELOOP || errno == ENOTDIR) &&
		    fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(lst.st_mode)) {
			if (!fsafe_private(&st)) {
				fsafe_say(e, ELOOP, "%s/%s is a symbolic link "
				    "in a folder that not only root can write: "
				    "not followed", sofar, comp);
				goto done;
			}
			rc = fsafe_follow(fd, comp, sofar, rest, user, flags,
			    e, depth);
			goto done;
		}
		if (nfd == -1) {
			fsafe_say(e, errno, "%s/%s: %s", sofar, comp,
			    strerror(errno));
			goto done;
		}
		close(fd);
		fd = nfd;
		xasprintf(&next, "%s/%s", sofar, comp);
		free(sofar);
		sofar = next;
		if (rest == NULL) {
			if (fsafe_dir_ok(fd, sofar, user, 1, &st, e) == -1)
				goto done;
			break;
		}
	}
	rc = fd;
	fd = -1;
done:
	if (fd != -1)
		close(fd);
	free(copy);
	free(sofar);
	return (rc);
}

/*
 * Open a folder for files that root writes or reads: a descriptor, -1
 * with errno and e->msg, or -2 (FSAFE_MISSING) if it does not exist.
 */
int
fsafe_opendir(const char *path, uid_t user, int flags, struct fsafe_err *e)
{
	e->msg[0] = '\0';
	e->made = 0;
	return (fsafe_walk(path, user, flags, e, 0));
}

/*
 * Open a file in a checked folder: never through a symbolic link, never
 * blocking, and it must be a regular file with one link owned by root or
 * the program's user, unless the folder is root's alone.
 */
int
fsafe_openat(int dfd, const char *name, int flags, mode_t mode, uid_t user,
    struct fsafe_err *e)
{
	return (fsafe_openat_x(dfd, name, flags, mode, user, 0, e));
}

/*
 * The same; with FSAFE_ROOTLINK, a symbolic link in a folder that only
 * root can write is followed (root put it there: /dev/stdout).
 */
int
fsafe_openat_x(int dfd, const char *name, int flags, mode_t mode,
    uid_t user, int xflags, struct fsafe_err *e)
{
	struct stat	 st, dst;
	int		 fd, saved;

	e->msg[0] = '\0';
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY, mode);
	/* For a log: a link only root could have put there (/dev/stdout). */
	if (fd == -1 && errno == ELOOP && (xflags & FSAFE_ROOTLINK) &&
	    fstat(dfd, &dst) == 0 && fsafe_private(&dst))
		fd = openat(dfd, name, flags | O_NONBLOCK | O_CLOEXEC |
		    O_NOCTTY, mode);
	if (fd == -1) {
		saved = errno;
		if (saved == ELOOP)
			fsafe_say(e, ELOOP, "it is a symbolic link (not "
			    "followed)");
		else if (saved == ENXIO)
			fsafe_say(e, ENXIO, "it is a FIFO with no reader (not "
			    "a regular file)");
		else
			fsafe_say(e, saved, "%s", strerror(saved));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || fstat(dfd, &dst) == -1) {
		fsafe_say(e, errno, "fstat: %s", strerror(errno));
		goto fail;
	}
	if (!fsafe_private(&dst)) {
		if (!S_ISREG(st.st_mode)) {
			fsafe_say(e, EPERM, "it is not a regular file");
			goto fail;
		}
		if (st.st_nlink != 1) {
			fsafe_say(e, EPERM, "it has %lu hard links (only a "
			    "file with one is used)",
			    (unsigned long)st.st_nlink);
			goto fail;
		}
		if (!fsafe_owner_ok(st.st_uid, user)) {
			fsafe_say(e, EPERM, "it is owned by uid %lu",
			    (unsigned long)st.st_uid);
			goto fail;
		}
	}
	if ((flags & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		fsafe_say(e, errno, "fcntl: %s", strerror(errno));
		goto fail;
	}
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/*
 * At load: whether a folder is fit for files root writes there.  A
 * folder that does not exist yet is fine (chainkeeperd makes it), and so
 * is one this process may not look into (a check run by another user).
 */
int
fsafe_check_dir(const char *path, uid_t user, struct fsafe_err *e)
{
	int	 fd;

	if ((fd = fsafe_opendir(path, user, FSAFE_MISSING, e)) >= 0) {
		close(fd);
		return (0);
	}
	if (fd == -2 || errno == EACCES)
		return (0);
	return (-1);
}

/* For config_logdir_check: why a log folder is refused, or NULL. */
const char *
fsafe_logdir_refused(const char *dir, uid_t user)
{
	static struct fsafe_err	 e;

	return (fsafe_check_dir(dir, user, &e) == -1 ? e.msg : NULL);
}

/*
 * A new temporary file in a checked folder, 0600 whatever the umask: a
 * stale one (a crash) is removed first, and O_EXCL makes sure this one is
 * new, never a link someone left there.
 */
int
fsafe_mktemp(int dfd, const char *name)
{
	int	 fd, saved;

	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return (-1);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (fchmod(fd, 0600) == -1) {
		saved = errno;
		close(fd);
		unlinkat(dfd, name, 0);
		errno = saved;
		return (-1);
	}
	return (fd);
}
