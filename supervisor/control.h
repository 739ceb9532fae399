/* The control socket. */
#ifndef CONTROL_H
#define CONTROL_H

#include "config.h"

#define CONTROL_PROTOCOL	1
#define CONTROL_MAX_REQUEST	65536
#define CONTROL_MAX_OUTPUT	(8 * 1024 * 1024)

int	control_listen(const struct config *);
void	control_configure(const struct config *);
void	control_close(void);
void	control_evaluate(void);
int	control_pending(void);
int	control_parse(const char *, size_t, json_t **, const char **,
	    json_t **, const char **, char **);

#endif
