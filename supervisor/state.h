/* The state file in state_dir, written atomically. */
#ifndef STATE_H
#define STATE_H

int	state_open(const char *);
void	state_close(void);
int	state_admin_stopped(const char *);
int	state_set_admin_stopped(const char *, int);
int	state_save(void);

#endif
