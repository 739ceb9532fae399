/*
 * Rules and actions.  A rule watches one probe or one program event; when
 * its condition holds and its hold-down has passed, it runs the actions of
 * the first step of its escalation ladder that still has room in its
 * window.  An action kind is one file exporting one const struct
 * action_kind, listed in the table in action.c.  Every run of a rule is a
 * job: its actions run one after the other, each ending with action_done().
 */
#ifndef ACTION_H
#define ACTION_H

#include <stdint.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#define RULE_ON_PROBE	0
#define RULE_ON_EXIT	1	/* the program exited by itself */
#define RULE_ON_OOM	2	/* ... killed by the OOM killer */
#define RULE_ON_FATAL	3	/* gave up starting */
#define RULE_ON_HUNG	4	/* a probe says hung */

#define COND_ANY	0	/* every event / result counts */
#define COND_FAILURES	1	/* N failed results in a row, or within */
#define COND_HEALTH	2	/* the probe's health is ... */
#define COND_VALUE	3	/* the probe's value compares ... */
#define COND_GREW	4	/* the value grew by N within a window */

struct action;
struct program;
struct probe;

struct action_kind {
	const char	*name;
	int		 chain;		/* a chain action: journaled, fsync'd */
	/* Check settings (any JSON, borrowed); NULL with *err on error. */
	void		*(*parse)(const json_t *, char **);
	void		 (*free_config)(void *);
	/* Begin; ends with exactly one action_done(), maybe inside. */
	void		 (*start)(struct action *);
	/* Abort (program removed, shutdown): no action_done afterwards. */
	void		 (*cancel)(struct action *);
	/* Re-check a waiting action after a program changed state. */
	void		 (*poll)(struct action *);
};

struct action_config {
	const struct action_kind *kind;
	json_t		*params;	/* owned; shown by -nv, journaled */
	void		*kcfg;		/* owned by the kind */
};

struct rule_step {
	struct action_config **actions;
	size_t		 nactions;
	int		 max;		/* runs within the window; 0: any */
	int64_t		 within_ms;
};

struct rule_config {
	char		*name;
	int		 on;		/* RULE_ON_* */
	char		*probe;		/* RULE_ON_PROBE */
	int		 cond;		/* COND_* */
	int		 count;		/* failures */
	int64_t		 window_ms;	/* failures within, grew within */
	int		 health;	/* PROBE_* health */
	char		 op[3];		/* value */
	double		 value;		/* value, grew */
	int64_t		 hold_down_ms;
	struct rule_step *steps;
	size_t		 nsteps;
};

/* A rule's runtime, per program. */
struct rule_state {
	const struct rule_config *rc;	/* borrowed from the program's config */
	time_t		 last_fire;
	time_t		*fail_times;	/* COND_FAILURES within: a ring */
	size_t		 fail_n;
	size_t		 fail_next;
	double		*grew_v;	/* COND_GREW: samples in the window */
	time_t		*grew_t;
	size_t		 grew_n;
	size_t		 grew_cap;
	struct job	*job;		/* running, or NULL */
	int		 used_up_logged;	/* "ladder used up" said once */
	int		 last_health;	/* COND_HEALTH: seen last time */
};

struct job {
	struct program	*prog;		/* borrowed */
	struct rule_state *rs;		/* borrowed */
	const struct rule_step *step;
	int		 stepno;
	size_t		 next;		/* the action to run next */
	struct action	*cur;
	char		 why[200];
	uint64_t	 seq;		/* journal sequence of the firing */
};

struct action {
	struct job	*job;
	const struct action_config *cfg;
	void		*state;		/* the kind's */
	int		 in_start;
	int		 done;
	int		 ok;
	char		 result[240];
	uint64_t	 seq;		/* journal sequence of its begin */
	ev_timer	 timer;		/* free for the kind to use */
};

extern int	action_dry_run;

const struct action_kind *action_kind_find(const char *);
const char	*action_kinds_list(void);
void		 action_config_free(struct action_config *);
void		 rule_config_free(struct rule_config *);
void		 rules_program_start(struct program *);
void		 rules_program_free(struct program *);
void		 rules_probe_result(struct probe *);
void		 rules_program_event(struct program *, int, const char *);
void		 rules_poll(void);
void		 rules_run_pending(void);
json_t		*rules_status_json(const struct program *);
void		 action_done(struct action *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
struct program	*action_program(const struct action *);

#endif
