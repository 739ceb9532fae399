/*
 * Small files of /proc and /sys read whole into a caller's buffer: what
 * fits of them, NUL-terminated.  What a file means is for its reader
 * (proctree.c, the probes); this only reads.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "procfs.h"

/*
 * Read path into buf (at most len - 1 bytes, then a NUL): its length, or
 * -1 if it cannot be read or is empty.
 */
ssize_t
procfs_read(const char *path, char *buf, size_t len)
{
	ssize_t	 n, total = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - (size_t)total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			total = 0;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return (total > 0 ? total : -1);
}

/* The same for /proc/PID/NAME. */
ssize_t
procfs_read_pid(pid_t pid, const char *name, char *buf, size_t len)
{
	char	 path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	return (procfs_read(path, buf, len));
}
