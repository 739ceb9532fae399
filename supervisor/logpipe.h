/* Output capture: pipes read in the loop, log files with size rotation. */
#ifndef LOGPIPE_H
#define LOGPIPE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "config.h"

struct logfile;
typedef void (*logfile_sub_cb)(void *, const char *, size_t);

struct logfile	*logfile_new(const char *, const struct logfile_config *);
void		 logfile_free(struct logfile *);
int		 logfile_attach(struct logfile *, int);
void		 logfile_detach(struct logfile *);
void		 logfile_drain(struct logfile *);
int		 logfile_write(struct logfile *, const char *, size_t);
const char	*logfile_path(const struct logfile *);
int		 logfile_reopen(struct logfile *);
void		 logfile_reopen_all(void);
void		 logfile_subscribe(struct logfile *, logfile_sub_cb, void *);
void		 logfile_unsubscribe(struct logfile *, void *);
int		 logfile_tail(const struct logfile *, size_t, char **,
		    size_t *);
uint64_t	 logfile_bytes(const struct logfile *);
int		 logfile_fd(const struct logfile *);

#endif
