/* What chainkeeperd's main module offers the others. */
#ifndef CHAINKEEPERD_H
#define CHAINKEEPERD_H

#include <jansson.h>

#include "config.h"

struct program;

extern struct config	*cur_config;

json_t	*daemon_reload(char **);
void	 daemon_shutdown(const char *);
int	 daemon_reexec_request(char **);
int	 daemon_shutting_down(void);
void	 daemon_admin_start(struct program *);
void	 daemon_admin_stop(struct program *);

#endif
