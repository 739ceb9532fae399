/*
 * Alerts, inside: what the files of alerts/ share, and nothing that the
 * rest of chainkeeperd uses (that is alert.h; the alert record, the sink
 * kinds and the outbox file are in sink.h).  The module's state is global
 * to these files, each variable defined in the file that owns it; all of
 * it goes back to its first value at alerts_stop().  Everything runs on
 * the one libev loop: nothing here is locked.
 */
#ifndef ALERT_INT_H
#define ALERT_INT_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "sink.h"

#define OUTBOX_COMPACT	(1024 * 1024)	/* bytes before a rewrite */

struct sink {
	TAILQ_ENTRY(sink) entry;
	struct sink_config *cfg;	/* owned */
	struct sink_config *next_cfg;	/* owned: applied when idle */
	void		*kstate;	/* the kind's */
	TAILQ_HEAD(delivq, delivery) queue;	/* in alert order */
	size_t		 queued;
	struct sink_op	*op;		/* in flight, or NULL */
	ev_timer	 timer;		/* next try, or a free rate slot */
	ev_timer	 deadline;	/* of the op in flight */
	int64_t		 next_ms;	/* monotonic; 0: at once */
	time_t		 next_wall;
	unsigned int	 fails;		/* failed attempts in a row */
	int64_t		*sent_ms;	/* when messages went, a ring */
	size_t		 nring;
	size_t		 ring_next;
	uint64_t	 nsent;		/* alerts accepted */
	uint64_t	 nfailed;	/* alerts given up */
	uint64_t	 nmessages;	/* messages accepted */
	uint64_t	 nattempts_failed;	/* attempts not accepted */
	char		 error[240];	/* the last failure */
	int		 removed;	/* gone from the configuration */
};

/* What throttling and resolving remember of one kind of alert. */
struct akey {
	LIST_ENTRY(akey) entry;
	char		*key;
	char		*program;
	char		*event;
	char		*rule;
	time_t		 last;		/* the last one delivered */
	int		 last_severity;
	unsigned int	 supp;		/* suppressed since */
	time_t		 supp_since;
	int		 open;		/* raised, not resolved */
	char		*resolve_on;
	time_t		 open_since;
	char		*message;	/* of the alert that opened it */
	char		**sinks;	/* where it went */
};

/* The last health seen of each probe, by "program|probe". */
struct phealth {
	LIST_ENTRY(phealth) entry;
	char		*key;
	int		 health;
};

struct raise_req {
	int		 kind;
	int		 severity;
	const char	*program;
	const char	*event;
	const char	*rule;
	const char	*extra;		/* more of the throttle key */
	const char	*message;
	const char	*value;
	const char	*resolve_on;
	char		**sinks;	/* NULL: by the routes */
	int		 no_throttle;
	time_t		 incident_since;
	unsigned int	 carried;	/* for a resolved alert */
	time_t		 carried_since;
};

TAILQ_HEAD(alertq, alert);
TAILQ_HEAD(sinkq, sink);
LIST_HEAD(akeyq, akey);
LIST_HEAD(phealthq, phealth);

/* alert.c: the configuration, raising; start and stop. */
extern struct alerts_config	*acfg;
extern int			 alerts_started;
extern uint64_t			 alerts_nraised[3];

struct alert	*alert_raise(const struct raise_req *);

/* route.c: events, incidents resolved, routes. */
extern struct phealthq		 phealths;

void		 alerts_strv_add(char ***, size_t *, const char *);
char		**alerts_all_sinks(void);
char		**alerts_route(const struct alert *);

/* throttle.c: each kind's record, repeats, max_age. */
extern struct akeyq		 akeys;
extern uint64_t			 alerts_nsuppressed;

void		 akey_free(struct akey *);
void		 akey_apply(const struct alert *);
json_t		*akey_json(const struct akey *);
void		 akey_from_json(const json_t *);
int		 alert_throttle(struct alert *, int);
int		 alert_too_old(const struct alert *, time_t);
void		 alerts_sweep_cb(struct ev_loop *, ev_timer *, int);

/* deliver.c: the alerts remembered, the sinks, the outbox. */
extern struct alertq		 alerts;
extern size_t			 nalerts;
extern struct sinkq		 sinks;
extern uint64_t			 alerts_next_id;
extern uint64_t			 alerts_ids_reserved;
extern int			 alerts_draining;

struct sink	*sink_find(const char *);
int		 alert_pending(const struct alert *);
void		 alert_insert(struct alert *);
void		 alerts_replay_cb(json_t *, void *);
void		 alerts_prune(void);
void		 alerts_ids_reserve(void);
void		 alerts_outbox_compact(void);
void		 alerts_outbox_maybe_compact(void);
void		 sink_enqueue(struct sink *, struct delivery *);
void		 deliv_fail(struct sink *, struct delivery *, const char *);
void		 sink_later(struct sink *, int64_t);
int		 sink_rate_used(struct sink *, int64_t, int64_t *);
void		 sink_free(struct sink *);
void		 alerts_requeue(void);
void		 sinks_reconcile(struct alerts_config *);

/* summary.c: the daily summary, status and counters. */
extern ev_periodic		 summary_w;

void		 alerts_dur_text(int64_t, char *, size_t);
void		 summary_arm(void);
void		 summary_cb(struct ev_loop *, ev_periodic *, int);

#endif
