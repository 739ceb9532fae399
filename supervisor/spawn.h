/* fork and exec of a program. */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/types.h>
#include <sys/resource.h>

#include "config.h"

struct spawn_io {
	int	 out;		/* child's stdout */
	int	 err;		/* child's stderr */
	int	 execfd;	/* write end of the exec error pipe */
	int	 gate;		/* set: write end of the start gate */
};

void	spawn_init(void);
void	spawn_nofile(struct rlimit *, const struct rlimit *);
pid_t	spawn_program(const struct program_config *, struct spawn_io *,
	    const char *);
int	spawn_release(int);

#endif
