/*
 * Metrics: the metrics: section of the configuration, the Prometheus text
 * exposition and the status page served by an optional HTTP listener
 * (metrics-http.c, libmicrohttpd driven by the loop), and the InfluxDB
 * line-protocol push (metrics-influx.c, through the shared curl multi).
 * Everything is built from the programs' in-memory state when asked for.
 */
#ifndef METRICS_H
#define METRICS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct config;

#define METRICS_DEFAULT_PORT	9150
#define EOSK_BP			0
#define EOSK_FN			1

/* metrics.influxdb.eoskeeper: eoskeeper's measurements from probes. */
struct metrics_eoskeeper {
	char		*program;
	int		 role;		/* EOSK_BP, EOSK_FN */
	char		*measurement;	/* eosbpinfo / eosfninfo */
	char		*nodeos_probe;
	char		*peers_probe;	/* NULL: none */
	char		*produced_probe; /* NULL: none */
	int		 short_fields;	/* hbn, not "hbn/当前块" */
};

struct metrics_influx {
	char		*url;
	int64_t		 interval_ms;
	int64_t		 timeout_ms;
	char		*measurement;	/* of the program points */
	char		*host;		/* the host tag */
	char		*user;
	char		*password_file;
	char		*password;	/* read from password_file */
	size_t		 max_points;	/* buffered, then the oldest go */
	size_t		 batch;		/* points per request */
	int		 programs;	/* push the program points */
	struct metrics_eoskeeper *eosk;
	size_t		 neosk;
};

struct metrics_config {
	char		*listen;	/* normalized HOST:PORT; NULL: none */
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	int		 allow_remote;
	int64_t		 refresh_ms;	/* status page */
	struct metrics_influx *influx;	/* NULL: no push */
	int		 line;		/* of the section, for errors */
	int		 col;
};

/* Configuration (metrics.c). */
struct metrics_config *metrics_config_parse(const json_t *, const char **,
	    char **);
void	 metrics_config_free(struct metrics_config *);
json_t	*metrics_config_json(const struct metrics_config *, int);
char	*metrics_config_check(const struct metrics_config *,
	    const struct config *);
int	 metrics_parse_listen(const char *, struct metrics_config *, char **);

/* Text formats (metrics.c). */
void	 prom_escape_label(struct buf *, const char *);
void	 prom_escape_help(struct buf *, const char *);
void	 prom_format_value(char *, size_t, double);
void	 prom_exposition(struct buf *);
void	 html_escape(struct buf *, const char *);
void	 status_page(struct buf *, int64_t);
void	 lp_escape_measurement(struct buf *, const char *);
void	 lp_escape_key(struct buf *, const char *);
void	 lp_escape_string(struct buf *, const char *);
void	 lp_format_float(struct buf *, double);

/* The listener (metrics-http.c) and the push (metrics-influx.c). */
void	 metrics_start(const struct config *);
void	 metrics_reload(const struct config *);
void	 metrics_stop(void);
void	 influx_start(const struct metrics_influx *);
void	 influx_stop(void);
void	 influx_points(struct buf *, const struct metrics_influx *, int64_t);
void	 influx_eoskeeper_lpbt(char *, size_t, int64_t, int64_t);

/* Counters of the push, for /metrics. */
struct influx_stats {
	unsigned long long pushes;
	unsigned long long failures;
	unsigned long long points_sent;
	unsigned long long points_dropped;
	size_t		 buffered;
	int		 enabled;
};
void	 influx_get_stats(struct influx_stats *);

#endif
