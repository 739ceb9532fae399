/*
 * A growable text buffer: zeroed, it is empty (s is NULL); once anything
 * was added or room made, s holds len bytes and a NUL.  It owns s, which
 * buf_free() frees and buf_take() hands over.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char		*s;
	size_t		 len;
	size_t		 size;
};

void	 buf_need(struct buf *, size_t);
void	 buf_add(struct buf *, const char *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_add_url(struct buf *, const char *);
void	 buf_add_json(struct buf *, const char *);
char	*buf_take(struct buf *);
void	 buf_free(struct buf *);

#endif
