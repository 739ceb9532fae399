/*
 * Unit tests for lib/fsafe.c: the folder walk (owner and mode
 * checks, links followed only in folders that only their owner writes,
 * folders made or reported missing) and the file opens (no link, no
 * second hard link, no FIFO; temporary files new and 0600).  Run in a
 * private folder made with mkdtemp(3).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsafe.h"
#include "util.h"

struct fixture {
	char	 dir[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ck-test-fsafe.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return (-1);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		*cmd;

	xasprintf(&cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(cmd);
	free(f);
	return (0);
}

/* A path below the fixture's folder (the caller frees it). */
static char *
at(const struct fixture *f, const char *rel)
{
	char	*p;

	xasprintf(&p, "%s/%s", f->dir, rel);
	return (p);
}

static void
test_opendir_modes(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*d = at(f, "logs");
	int		 fd;

	assert_int_equal(mkdir(d, 0750), 0);
	fd = fsafe_opendir(d, FSAFE_NOUSER, 0, &e);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, 0, &e), -1);
	assert_non_null(strstr(e.msg, "writable by others (mode 0777)"));
	/* Sticky does not make the last folder fit. */
	assert_int_equal(chmod(d, 01777), 0);
	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, 0, &e), -1);
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, 0, &e), -1);
	assert_non_null(strstr(e.msg, "writable by its group"));
	assert_non_null(fsafe_logdir_refused(d, FSAFE_NOUSER));
	assert_int_equal(chmod(d, 0755), 0);
	assert_null(fsafe_logdir_refused(d, FSAFE_NOUSER));
	free(d);
}

static void
test_opendir_missing_and_create(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*d = at(f, "a/b/c");
	struct stat	 st;
	int		 fd;

	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, FSAFE_MISSING, &e),
	    -2);
	assert_int_equal(fsafe_check_dir(d, FSAFE_NOUSER, &e), 0);
	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, 0, &e), -1);
	assert_int_equal(errno, ENOENT);
	fd = fsafe_opendir(d, FSAFE_NOUSER, FSAFE_CREATE, &e);
	assert_true(fd >= 0);
	assert_int_equal(e.made, 3);
	close(fd);
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fsafe_opendir("relative/path", FSAFE_NOUSER, 0, &e),
	    -1);
	free(d);
}

static void
test_opendir_links(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*real = at(f, "real"), *pub = at(f, "pub");
	char		*viapriv = at(f, "lnk/x"), *viapub = at(f, "pub/lnk/x");
	char		*lnk = at(f, "lnk"), *publnk = at(f, "pub/lnk");
	char		*x = at(f, "real/x");
	int		 fd;

	assert_int_equal(mkdir(real, 0750), 0);
	assert_int_equal(mkdir(x, 0750), 0);
	free(x);
	assert_int_equal(mkdir(pub, 0777), 0);
	assert_int_equal(chmod(pub, 0777), 0);
	assert_int_equal(symlink(real, lnk), 0);
	assert_int_equal(symlink(real, publnk), 0);
	/* In a folder only its owner writes: followed. */
	fd = fsafe_opendir(viapriv, FSAFE_NOUSER, 0, &e);
	assert_true(fd >= 0);
	close(fd);
	/* In a folder others write: refused (pub itself is refused too). */
	assert_int_equal(chmod(pub, 01777), 0);
	assert_int_equal(fsafe_opendir(viapub, FSAFE_NOUSER, 0, &e), -1);
	assert_non_null(strstr(e.msg, "is a symbolic link"));
	/* The last component as a link is judged by its folder too. */
	fd = fsafe_opendir(lnk, FSAFE_NOUSER, 0, &e);
	assert_true(fd >= 0);
	close(fd);
	free(real);
	free(pub);
	free(viapriv);
	free(viapub);
	free(lnk);
	free(publnk);
}

static void
test_openat_files(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*target = at(f, "target");
	int		 dfd, fd;

	dfd = fsafe_opendir(f->dir, FSAFE_NOUSER, 0, &e);
	assert_true(dfd >= 0);
	fd = open(target, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlinkat(target, dfd, "link"), 0);
	assert_int_equal(fsafe_openat(dfd, "link", O_WRONLY | O_APPEND, 0,
	    FSAFE_NOUSER, &e), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(e.msg, "symbolic link"));
	/* A log in root's own folder may be a link root put there. */
	fd = fsafe_openat_x(dfd, "link", O_WRONLY | O_APPEND, 0,
	    FSAFE_NOUSER, FSAFE_ROOTLINK, &e);
	assert_true(fd >= 0);
	close(fd);
	/* A FIFO never blocks the open. */
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_int_equal(fsafe_openat(dfd, "fifo", O_WRONLY, 0,
	    FSAFE_NOUSER, &e), -1);
	assert_int_equal(errno, ENXIO);
	/* A new file, made through the folder. */
	fd = fsafe_openat(dfd, "new.log", O_WRONLY | O_APPEND | O_CREAT,
	    0640, FSAFE_NOUSER, &e);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
	free(target);
}

static void
test_openat_shared_folder(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*d = at(f, "user");
	int		 dfd, fd;

	/* A folder that is not root's alone: a program user's. */
	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(chown(d, 65534, 65534), 0);
	dfd = fsafe_opendir(d, 65534, 0, &e);
	assert_true(dfd >= 0);
	assert_int_equal(fsafe_opendir(d, FSAFE_NOUSER, 0, &e), -1);
	assert_non_null(strstr(e.msg, "owned by uid 65534"));
	fd = openat(dfd, "one", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(linkat(dfd, "one", dfd, "two", 0), 0);
	assert_int_equal(fsafe_openat(dfd, "one", O_WRONLY, 0, 65534, &e),
	    -1);
	assert_non_null(strstr(e.msg, "2 hard links"));
	assert_int_equal(unlinkat(dfd, "two", 0), 0);
	fd = fsafe_openat(dfd, "one", O_WRONLY, 0, 65534, &e);
	assert_true(fd >= 0);
	close(fd);
	/* Even a link root could not have put there is not followed. */
	assert_int_equal(symlinkat("/etc/hostname", dfd, "l"), 0);
	assert_int_equal(fsafe_openat_x(dfd, "l", O_RDONLY, 0, 65534,
	    FSAFE_ROOTLINK, &e), -1);
	close(dfd);
	free(d);
}

static void
test_mktemp(void **state)
{
	struct fixture	*f = *state;
	struct fsafe_err e;
	char		*victim = at(f, "victim");
	struct stat	 st;
	mode_t		 old;
	int		 dfd, fd;

	dfd = fsafe_opendir(f->dir, FSAFE_NOUSER, 0, &e);
	assert_true(dfd >= 0);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(symlinkat(victim, dfd, "x.tmp"), 0);
	old = umask(0);
	fd = fsafe_mktemp(dfd, "x.tmp");
	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 4);
	close(dfd);
	free(victim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_opendir_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_opendir_missing_and_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opendir_links, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_openat_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_openat_shared_folder,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mktemp, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
