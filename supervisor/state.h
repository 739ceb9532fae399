/* The state file in state_dir, written atomically. */
#ifndef STATE_H
#define STATE_H

#include <sys/types.h>
#include <time.h>

#include <jansson.h>

int	state_open(const char *);
void	state_close(void);
int	state_admin_stopped(const char *);
int	state_set_admin_stopped(const char *, int);
int	state_save(void);
int	state_flush(void);
json_t	*state_program_get(const char *, const char *);
int	state_program_set(const char *, const char *, json_t *);
time_t	state_held_until(const char *);
int	state_set_held_until(const char *, time_t);

/*
 * A run of a program, as recorded before its exec: what names the process
 * (pid and start ticks, this boot), whom it runs as, and, once seen after
 * exec, its executable.  legacy: read from an older chainkeeperd's
 * state.json, which recorded only pid and start ticks.
 */
struct state_run {
	pid_t			 pid;
	unsigned long long	 start_ticks;
	time_t			 start_time;
	unsigned int		 restarts;
	uid_t			 uid;
	gid_t			 gid;
	char			 boot_id[40];	/* "" if unknown */
	dev_t			 exe_dev;	/* 0, 0: not seen yet */
	ino_t			 exe_ino;
	char			 exe[256];	/* for messages only */
	int			 legacy;
};

int	state_run_set(const char *, const struct state_run *);
void	state_run_clear(const char *);
int	state_run_get(const char *, struct state_run *);
const char *state_boot_id(void);

#endif
