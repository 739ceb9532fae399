/*
 * Secrets: files that only their owner may read (or that another program
 * keeps, such as a node's cookie), read at the moment of use, wiped when
 * done with, and scrubbed out of any text a server sends back before that
 * text is logged, journaled or shown.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

#define SECRET_MISSING	1	/* secret_file_check(): no such file (yet) */

int	 secret_file_check(const char *, char **);
char	*secret_file_read(const char *, char **);
char	*secret_file_read_any(const char *, char **);
void	 secret_free(char *);
char	*secret_scrub(const char *, size_t, const char *const *, size_t *);
char	*secret_json_quote(const char *);

#endif
