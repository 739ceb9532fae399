/* The harness of the program unit tests; see harness.c. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct program;

#define MAXTRANS	128
#define WAIT_MS		5000	/* bound on any wait for an event */

/* A state change, as program_changed_hook saw it. */
struct trans {
	const struct program	*p;
	int			 state;
	int			 spawnerr;	/* spawnerr was set */
	int64_t			 ms;
};

typedef int (*pred_fn)(const struct program *, long);

extern char		 tmpdir[1024];
extern struct trans	 trans[MAXTRANS];
extern int		 ntrans;

int		 harness_setup(const char *);
int		 harness_group_teardown(void **);
int		 harness_test_setup(void **);
int		 run_until(pred_fn, const struct program *, long, int64_t);
int		 never(const struct program *, long);
void		 run_for(int64_t);
int		 state_is(const struct program *, long);
int		 is_stopped(const struct program *, long);
int		 reaped(const struct program *, long);
int		 runs_reach(const struct program *, long);
const char	*trans_text(void);
void		 wait_state(struct program *, int);
struct config	*load_programs(const char *);
size_t		 new_programs(const char *);

#endif
