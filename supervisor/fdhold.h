/* chainkeeperd's side of the output pipe holder. */
#ifndef FDHOLD_H
#define FDHOLD_H

int	fdhold_start(const char *, const char *);
void	fdhold_add(const char *, const char *, int, int);
void	fdhold_del(const char *, const char *);
void	fdhold_stop(void);
int	fdhold_recover(const char *, void (*)(const char *, const char *, int,
	    int, void *), void *);

#endif
