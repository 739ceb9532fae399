/*
 * Alert internals: the alert record and its deliveries, the configuration
 * of the alerts section, the sink kind interface, the helpers sink kinds
 * share (templates, escaping, rendering, the success predicate, secret
 * files), and the outbox.  A sink kind is one file exporting one const
 * struct sink_kind, listed in the table in deliver.c.
 */
#ifndef SINK_H
#define SINK_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "alert.h"
#include "buf.h"
#include "jsonx.h"

#define ALERT_RAISE	0	/* something happened */
#define ALERT_RESOLVED	1	/* ... and cleared */
#define ALERT_SUMMARY	2	/* the daily summary */
#define ALERT_TEST	3	/* chainkeeperctl alerts test */

#define DELIV_QUEUED	0	/* waiting for its turn */
#define DELIV_SENDING	1	/* an attempt is in flight */
#define DELIV_RETRYING	2	/* failed; tried again later */
#define DELIV_SENT	3	/* the sink accepted it */
#define DELIV_FAILED	4	/* given up: older than max_age */
#define DELIV_HELD	5	/* its sink is not configured (now) */

#define SINK_OK		0	/* accepted */
#define SINK_RETRY	1	/* not accepted: try again after a backoff */
#define SINK_RATE_LIMITED 2	/* ... when the sink's rate allows */

#define SINK_MAX_BATCH	50	/* alerts combined into one message */

#define FORMAT_TEXT	0
#define FORMAT_MARKDOWN	1
#define FORMAT_HTML	2

struct alert;
struct sink;

struct delivery {
	TAILQ_ENTRY(delivery) qentry;	/* on its sink's queue */
	struct alert	*alert;		/* the owner */
	char		*sink;
	int		 state;		/* DELIV_* */
	int		 queued;	/* on a queue */
	struct sink	*qsink;		/* ... of this sink */
	unsigned int	 attempts;
	time_t		 done;		/* sent or failed at */
	char		 error[240];	/* the last failure */
};

struct alert {
	TAILQ_ENTRY(alert) entry;
	uint64_t	 id;
	time_t		 time;
	int		 kind;		/* ALERT_RAISE ... */
	int		 severity;	/* ALERT_INFO ... */
	char		*host;
	char		*program;	/* "" for none */
	char		*event;		/* fatal, exit, probe, ... */
	char		*rule;		/* rule or probe, or "" */
	char		*key;		/* what throttling counts by */
	char		*message;
	char		*value;		/* "" for none */
	char		*resolve_on;	/* what clears it, or NULL */
	int		 suppressed;	/* throttled: not sent */
	unsigned int	 carried;	/* repeats suppressed before it */
	time_t		 carried_since;
	time_t		 incident_since;	/* resolved: raised at */
	struct delivery	*deliv;
	size_t		 ndeliv;
};

struct sink_config {
	char		*name;
	const struct sink_kind *kind;
	json_t		*params;	/* owned: the sink's settings */
	void		*kcfg;		/* owned by the kind */
	int64_t		 timeout_ms;
	int		 rate_limit;	/* messages per window; 0: any */
	int64_t		 rate_window_ms;
};

struct route {
	char		**programs;	/* globs; NULL: any */
	char		**events;	/* NULL: any */
	int		  min_severity;
	char		**sinks;
};

struct alerts_config {
	char		*host;
	int64_t		 throttle_ms;
	int64_t		 max_age_ms;
	int64_t		 retry_initial_ms;
	int64_t		 retry_max_ms;
	int		 resolved;	/* send resolved messages */
	int		 hours[24];	/* summary hours, -1 ended */
	int		 nhours;
	char		**summary_sinks;	/* NULL: every sink */
	struct sink_config **sinks;
	size_t		 nsinks;
	struct route	*routes;
	size_t		 nroutes;
	int		 has_routes;
};

struct sink;
struct sink_op;

struct sink_kind {
	const char	*name;
	int		 batch;		/* can put alerts in one message */
	int		 rate_limit;	/* default messages per window */
	int64_t		 rate_window_ms;
	/*
	 * Check the kind's settings (a JSON object, borrowed, without the
	 * common keys) and return them parsed, or NULL with *key (the bad
	 * setting, or NULL) and *err (allocated) set.
	 */
	void		*(*parse)(const json_t *, const char **, char **);
	void		 (*free_config)(void *);
	/* Send op->alerts[0..n-1]; ends with exactly one sink_done(). */
	void		 (*send)(struct sink_op *);
	/* Abort the send in flight: no sink_done afterwards. */
	void		 (*cancel)(struct sink_op *);
	/* Free the kind's state of a sink (a cached token), may be NULL. */
	void		 (*reset)(void *);
};

struct sink_op {
	struct sink	*sink;
	const struct sink_config *cfg;	/* borrowed */
	struct alert	**alerts;	/* borrowed, in order */
	size_t		 n;
	size_t		 taken;		/* how many one message took */
	void		*state;		/* the kind's, of this send */
	void		**kstate;	/* the kind's, for the sink */
	char		*secrets[4];	/* scrubbed from results */
	int		 in_send;
	int		 done;
	int		 result;
	char		 why[240];
};

void		 sink_done(struct sink_op *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 sink_op_secret(struct sink_op *, const char *);
const struct sink_kind *sink_kind_find(const char *);
const char	*sink_kinds_list(void);
void		 sink_config_free(struct sink_config *);

/* Templates: {placeholder} expansion with escaping. */
#define ESC_NONE	0
#define ESC_URL		1
#define ESC_JSON	2
#define ESC_HEADER	3

int		 tpl_check(const char *, int, char **);
char		*tpl_expand(const char *, int, const struct alert *,
		    const char *);
char		*alert_field(const struct alert *, const char *);
void		 str_append_escaped(struct buf *, const char *, int);

/* Rendering an alert (or several) as a message. */
char		*alert_title(const struct alert *);
char		*alert_render(const struct alert *, int);
char		*alert_render_batch(struct alert *const *, size_t, int,
		    size_t, size_t *);
int		 format_parse(const char *);

/* The success predicate of a reply. */
struct success_pred {
	long		 status[16];	/* 0 ended; none: any 2xx */
	size_t		 nstatus;
	char		*pointer;	/* JSON pointer, or NULL */
	json_t		*equals;	/* owned */
};

int		 success_parse(const json_t *, struct success_pred *,
		    char **);
void		 success_free(struct success_pred *);
int		 success_check(const struct success_pred *, long,
		    const char *, size_t, char *, size_t);

/* Secrets (files: secret.h). */
int		 sink_secret_check(const char *, char **);
char		*url_redact(const char *);

/* Parse helpers for kinds. */
int		 sink_param_strings(const json_t *, const char *, char ***,
		    const char **, char **);

/* The outbox file. */
typedef void	(*outbox_record_fn)(json_t *, void *);
int		 outbox_open(const char *, outbox_record_fn, void *);
int		 outbox_append(json_t *, int);
int		 outbox_rewrite(json_t *);
off_t		 outbox_size(void);
void		 outbox_close(void);

/* Encoding of alerts in the outbox. */
json_t		*alert_to_json(const struct alert *);
struct alert	*alert_from_json(const json_t *, char **);
void		 alert_free(struct alert *);
const char	*alert_kind_name(int);
const char	*deliv_state_name(int);
int		 deliv_state_parse(const char *);
time_t		 summary_next(time_t, const int *, int);

#endif
