/* chainkeeperd's side of the output pipe holder. */
#ifndef FDHOLD_H
#define FDHOLD_H

#include <sys/types.h>

int	fdhold_start(const char *, const char *);
void	fdhold_add(const char *, const char *, int, int);
void	fdhold_del(const char *, const char *);
void	fdhold_stop(void);
pid_t	fdhold_pid(void);
int	fdhold_exited(pid_t, int);
int	fdhold_recover(const char *, void (*)(const char *, const char *, int,
	    int, void *), void *);

#endif
