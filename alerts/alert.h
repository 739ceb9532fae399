/*
 * Alerts, as the rest of chainkeeperd sees them: events raise alerts,
 * which are throttled, routed to sinks and delivered through a durable
 * outbox in state_dir, so that none is lost.  The internals (the alert
 * record, sink kinds, templates, the outbox) are in sink.h.
 */
#ifndef ALERT_H
#define ALERT_H

#include <stdint.h>

#include <jansson.h>

#define ALERT_INFO	0
#define ALERT_WARNING	1
#define ALERT_CRITICAL	2

struct alerts_config;
struct program;
struct probe;

/* Called for each error in the alerts section, with a path to it. */
typedef void	(*alerts_error_fn)(void *, const char *, const char *);

struct alerts_config *alerts_config_parse(const json_t *, alerts_error_fn,
		    void *);
void		 alerts_config_free(struct alerts_config *);
json_t		*alerts_config_json(const struct alerts_config *, int);
int		 alerts_severity_parse(const char *);
const char	*alerts_severity_name(int);

int		 alerts_start(const char *, struct alerts_config **);
void		 alerts_configure(struct alerts_config **);
void		 alerts_flush(int64_t);
void		 alerts_stop(void);

/* Events. */
void		 alerts_program_event(struct program *, int, const char *);
void		 alerts_program_changed(struct program *);
void		 alerts_probe_result(struct probe *);
void		 alerts_action_outcome(struct program *, const char *,
		    const char *, int, const char *);
uint64_t	 alerts_raise_rule(struct program *, const char *, int,
		    const char *, const char *, const char *, char *, size_t);

/* chainkeeperctl alerts. */
json_t		*alerts_status_json(size_t);
json_t		*alerts_stats_json(void);
int		 alerts_send_test(const char *, json_t *, char **);
int		 alerts_send_summary(char **);

#endif
