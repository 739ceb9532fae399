/*
 * nodeos probe: the pure parts (probe-nodeos-check.c: reply checks and the
 * evaluation of one sample against the run's history), apart from the loop
 * and the transport so the unit tests and fuzzers can feed them anything.
 */
#ifndef PROBE_NODEOS_H
#define PROBE_NODEOS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Producer names have 13 characters at most; more is refused. */
#define NODEOS_NAME_MAX		32
/* Distinct producers remembered for producers_seen. */
#define NODEOS_PRODUCERS_MAX	64

/* What one get_info reply says. */
struct nodeos_info {
	int64_t		 head;
	int64_t		 lib;
	int64_t		 head_time_ms;	/* ms since the epoch */
	char		 head_time[40];	/* as nodeos wrote it */
	char		 producer[NODEOS_NAME_MAX + 1];
	char		 version[NODEOS_NAME_MAX + 1];	/* or "" */
};

/* The failure bounds; 0 turns a check off. */
struct nodeos_limits {
	int64_t		 head_stall_ms;
	int64_t		 lib_stall_ms;
	int64_t		 max_head_age_ms;
	int64_t		 window_ms;	/* producers_window */
	int		 min_producers;
};

struct nodeos_seen {
	char		 name[NODEOS_NAME_MAX + 1];
	int64_t		 last_ms;	/* monotonic */
};

/* What the probe remembers during one run of the program. */
struct nodeos_state {
	int		 have;
	int64_t		 first_ms;
	int64_t		 head;
	int64_t		 head_since_ms;	/* its last change */
	int64_t		 lib;
	int64_t		 lib_since_ms;
	struct nodeos_seen seen[NODEOS_PRODUCERS_MAX];
	int		 nseen;
};

int	nodeos_check_info(const json_t *, struct nodeos_info *, char *,
	    size_t);
int	nodeos_check_paused(const json_t *, int *, char *, size_t);
int	nodeos_parse_info(const char *, size_t, struct nodeos_info *, char *,
	    size_t);
int	nodeos_parse_paused(const char *, size_t, int *, char *, size_t);
void	nodeos_error_text(long, const char *, size_t, char *, size_t);
int	nodeos_eval(struct nodeos_state *, const struct nodeos_limits *,
	    const struct nodeos_info *, int64_t, int64_t, json_t **, char *,
	    size_t);

#endif
