/* The program state machine. */
#ifndef PROGRAM_H
#define PROGRAM_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#include <ev.h>
#include <jansson.h>

#include "config.h"

/* States, fixed by the design; the values are supervisord's. */
#define PROGRAM_STOPPED		0
#define PROGRAM_STARTING	10
#define PROGRAM_RUNNING		20
#define PROGRAM_BACKOFF		30
#define PROGRAM_STOPPING	40
#define PROGRAM_EXITED		100
#define PROGRAM_FATAL		200

struct logfile;
struct rule_state;
struct eosfo;
struct killq;

struct program {
	TAILQ_ENTRY(program) entry;
	struct program_config *pc;	/* owned */
	struct program_config *next_pc;	/* owned: applied when stopped */
	int		 state;
	pid_t		 pid;
	int64_t		 start_ms;	/* monotonic, of the current run */
	time_t		 start_wall;
	int64_t		 state_ms;	/* monotonic, of the last change */
	int		 retries;	/* failed starts since RUNNING */
	int		 resfails;	/* spawns failed for want of a host
					   resource (fork EAGAIN, EMFILE) */
	int		 crashes;	/* quick exits since a long run */
	unsigned int	 restarts;	/* automatic restarts, ever */
	int		 exec_ok;	/* exec(2) succeeded in this run */
	int		 exit_known;
	int		 exit_status;	/* raw wait(2) status */
	time_t		 exit_wall;
	pid_t		 exit_pid;	/* the pid of the last exit */
	int		 exit_oom;	/* the OOM killer killed it */
	pid_t		 oom_pid;	/* main pid the OOM killer killed */
	int		 admin_stopped;	/* stopped by hand: persisted */
	int		 waiting;	/* start once depends_on are RUNNING */
	int		 restart_pending; /* start again once stopped */
	unsigned int	 runs;		/* spawns, ever */
	int		 removed;	/* gone from the config: free when stopped */
	int		 killed;	/* SIGKILL sent in this stop */
	int		 kill_rounds;	/* SIGKILL rounds in this stop */
	ev_tstamp	 sweep_wait;	/* s, to the next look for leftovers */
	struct killq	*kq;		/* signals being sent to the tree */
	pid_t		*sigkilled;	/* sorted: sent SIGKILL in this stop */
	size_t		 nsigkilled;
	char		*spawnerr;	/* last spawn error, or NULL */
	char		 marker[96];	/* CHAINKEEPER_INSTANCE value */
	ev_timer	 timer;		/* startsecs, backoff, stop deadline */
	ev_timer	 sweep;		/* leftovers after the main pid exited */
	ev_io		 execio;	/* exec error pipe of the current spawn */
	int		 execfd;
	pid_t		 pgid;		/* of the current or last run */
	int		 outw;		/* stdout pipe's write end, kept */
	int		 errw;		/* stderr pipe's write end, kept */
	struct logfile	*out;
	struct logfile	*err;
	unsigned long long start_ticks;	/* of the main pid, from /proc */
	dev_t		 exe_dev;	/* its executable, last recorded */
	ino_t		 exe_ino;
	ev_timer	 exetimer;	/* look at the executable again */
	int		 exelooks;	/* looks done in this run */
	int		 adopted;	/* a run started by an earlier daemon */
	int		 pidfd;		/* exit watch of an adopted non-child */
	ev_io		 pidio;
	ev_timer	 pidpoll;	/* the same, without a pidfd */
	struct probe	**probes;	/* this run's, while RUNNING */
	size_t		 nprobes;
	struct rule_state *rules;	/* one per configured rule */
	size_t		 nrules;
	time_t		 held_until;	/* rules paused by hand until */
	struct eosfo	*eosfo;		/* EOS failover, while RUNNING */
};
TAILQ_HEAD(programs, program);

extern struct programs	 programs;
extern char		 program_daemon_id[16];
extern int		 program_no_restarts;
extern void		(*program_changed_hook)(struct program *);

struct program	*program_new(struct program_config *);
void		 program_free(struct program *);
struct program	*program_find(const char *);
const char	*program_state_name(int);
int		 program_is_stopped(const struct program *);
void		 program_start(struct program *);
void		 program_stop(struct program *);
void		 program_restart(struct program *);
void		 program_child_exited(struct program *, int);
int		 program_note_oom(const char *, pid_t, int);
void		 program_attach_output(struct program *, int, int, int, int);
int		 program_adopt(struct program *, pid_t, unsigned long long,
		    time_t, unsigned int);
struct state_run;
int		 program_adopt_record(struct program *,
		    const struct state_run *);
void		 program_sweep_marker(const char *);
void		 program_crash_hook(const char *);
void		 program_note_exe(struct program *);

/* A wait status for an exit that was not ours to reap. */
#define PROGRAM_EXIT_UNKNOWN	(-1)
/* How late an OOM-kill line may come after the exit it explains (s). */
#define PROGRAM_OOM_LATE_S	10
struct program	*program_by_pid(pid_t);
void		 program_orphan_exited(pid_t);
void		 program_deps_changed(void);
void		 program_sweep_dead(void);
int		 program_signal(struct program *, int);
json_t		*program_status_json(const struct program *);
const char	*program_health(const struct program *);
int64_t		 program_backoff_delay(const struct backoff_config *, int,
		    unsigned int);
void		 program_take_all(struct config *);
json_t		*program_reload(struct config *);

#endif
