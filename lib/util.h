/* Small helpers shared by the daemon and the client. */
#ifndef UTIL_H
#define UTIL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

int	 parse_duration(const char *, int64_t *, const char **);
int	 parse_size(const char *, int64_t *, const char **);
int	 parse_signal(const char *);
const char *signal_name(int);
char	**split_command(const char *, const char **);
void	 free_argv(char **);
size_t	 argv_len(char *const *);
int64_t	 now_ms(void);
int	 parse_utc_time(const char *, int64_t *);
int	 set_nonblock(int);
int	 set_cloexec(int);
int	 mkdir_p(const char *, mode_t);
void	 utf8_sanitize(char *, size_t);
void	 tail_append(char *, size_t, size_t *, const char *, size_t);

#endif
