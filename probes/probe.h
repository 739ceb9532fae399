/*
 * Health probes.  A probe kind is one file exporting one const struct
 * probe_kind, listed in the table in probe.c.  The framework schedules each
 * probe of a RUNNING program on its own timer with jitter, enforces the
 * timeout, counts consecutive results into a health (fall/rise), keeps a
 * short history, and frees everything when the program's run ends.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdint.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#define PROBE_OK	0
#define PROBE_FAIL	1	/* the target answered, wrongly */
#define PROBE_TIMEOUT	2	/* no answer within timeout */
#define PROBE_ERROR	3	/* the probe itself could not run */

#define PROBE_UNKNOWN	0	/* health before the first result */
#define PROBE_HEALTHY	1
#define PROBE_FAILING	2
#define PROBE_HUNG	3	/* alive, but hung_after timeouts in a row */

#define PROBE_HISTORY	16

struct probe;
struct program;

struct probe_kind {
	const char	*name;
	/*
	 * Check the kind's settings (a JSON object, borrowed) and return
	 * them parsed, or NULL with *key (the bad setting, or NULL) and
	 * *err (allocated) set.
	 */
	void		*(*parse)(const json_t *, const char **, char **);
	void		 (*free_config)(void *);
	/* Begin one check; it ends with exactly one probe_done(). */
	void		 (*run)(struct probe *);
	/* Abort the check in flight (timeout, end of run): no probe_done. */
	void		 (*cancel)(struct probe *);
	/* Free p->state at the end of the program's run (may be NULL). */
	void		 (*reset)(struct probe *);
};

struct probe_config {
	char		*name;
	const struct probe_kind *kind;
	int64_t		 interval_ms;
	int64_t		 timeout_ms;
	int		 fall;
	int		 rise;
	int		 hung_after;	/* 0: never */
	json_t		*params;	/* the kind's settings, owned */
	void		*kcfg;		/* parsed by the kind, owned */
};

struct probe_hist {
	time_t		 time;
	int		 status;
	double		 value;
	int		 has_value;
	double		 elapsed_ms;
	char		 reason[120];
};

struct probe {
	struct program	*prog;		/* borrowed */
	const struct probe_config *cfg;	/* borrowed from prog->pc */
	void		*state;		/* the kind's, for this run */
	void		*op;		/* the kind's check in flight */
	ev_timer	 timer;
	ev_timer	 timeout;
	int		 running;
	int		 in_run;
	int		 finished_early;
	int64_t		 started_ms;
	int64_t		 due_ms;	/* when the timer should fire */
	double		 max_late_ms;
	/* The last result. */
	int		 status;
	double		 value;
	int		 has_value;
	char		 reason[200];
	json_t		*detail;	/* owned, or NULL */
	time_t		 last_time;
	double		 elapsed_ms;
	/* Health. */
	int		 health;
	time_t		 health_since;
	int		 consec_ok;
	int		 consec_fail;
	int		 consec_timeout;
	unsigned int	 runs;
	unsigned int	 failures;
	unsigned int	 skipped;
	struct probe_hist hist[PROBE_HISTORY];
	unsigned int	 hist_next;
	unsigned int	 hist_count;
};

extern void	(*probe_changed_hook)(struct probe *);

const struct probe_kind *probe_kind_find(const char *);
const char	*probe_kinds_list(void);
void		 probe_config_free(struct probe_config *);
struct probe	*probe_new(struct program *, const struct probe_config *);
void		 probe_free(struct probe *);
void		 probe_done(struct probe *, int, const double *, json_t *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
json_t		*probe_status_json(const struct probe *, int);
const char	*probe_status_name(int);
const char	*probe_health_name(int);

/* Helpers for kinds' parse(). */
int		 probe_param_string(const json_t *, const char *, int,
		    const char **, const char **, char **);
int		 probe_param_int(const json_t *, const char *, long long,
		    long long, long long *, const char **, char **);
int		 probe_param_double(const json_t *, const char *, double *,
		    const char **, char **);
int		 probe_param_duration(const json_t *, const char *,
		    int64_t *, const char **, char **);
int		 probe_param_bool(const json_t *, const char *, int *,
		    const char **, char **);
int		 probe_param_check_keys(const json_t *, const char *const *,
		    const char **, char **);

#endif
