/* Reading small files of /proc (and /sys) whole, in one go. */
#ifndef PROCFS_H
#define PROCFS_H

#include <sys/types.h>
#include <stddef.h>

ssize_t	 procfs_read(const char *, char *, size_t);
ssize_t	 procfs_read_pid(pid_t, const char *, char *, size_t);

#endif
