/*
 * The InfluxDB push: every interval, one line-protocol point per program
 * (and per probe, and eoskeeper's eosbpinfo / eosfninfo points if asked)
 * goes into a bounded queue; the queue is written in batches through the
 * shared curl multi (http.c), one request at a time.  A failed write keeps
 * its points for the next tick; a full queue drops the oldest points,
 * counted and logged.  InfluxDB refusing points as malformed (400) drops
 * them: sending them again would not help.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "program.h"
#include "util.h"

#define LOG_EVERY_MS	60000	/* repeated warnings, at most */
#define INFO_MAX_CHARS	60	/* eoskeeper's info field */

struct lp_line {
	TAILQ_ENTRY(lp_line) entry;
	size_t		 len;
	char		 s[];
};
TAILQ_HEAD(lp_lines, lp_line);

struct eosk_last {
	int		 have_head;
	double		 hbn;
	double		 lib;
	int		 have_links;
	double		 linkn;
};

static const struct metrics_influx *icfg;	/* borrowed: cur_config's */
static char		*iurl;			/* icfg->url, kept */
static char		*userpwd;
static struct lp_lines	 queue = TAILQ_HEAD_INITIALIZER(queue);
static size_t		 nqueued;
static struct http_req	*inflight;
static size_t		 inflight_n;	/* lines at the queue's head */
static struct buf	 body;		/* of the request in flight */
static ev_timer		 tick;
static int		 tick_init;
static struct influx_stats stats;
static int		 failing;
static int64_t		 fail_logged_ms;
static int64_t		 drop_logged_ms;
static unsigned long long drops_unlogged;
static struct eosk_last	*last;		/* one per icfg->eosk */
static size_t		 nlast;

static void	influx_flush(void);

/* Line protocol. */

/* A measurement: commas and spaces escaped. */
void
lp_escape_measurement(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == ' ')
			buf_adds(b, "\\");
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_adds(b, "\\ ");
		else if (*s == '\\' && s[1] == '\0')
			buf_adds(b, "\\\\");
		else
			buf_add(b, s, 1);
	}
}

/* A tag key, tag value or field key: commas, '=' and spaces escaped. */
void
lp_escape_key(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == '=' || *s == ' ')
			buf_adds(b, "\\");
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_adds(b, "\\ ");
		else if (*s == '\\' && s[1] == '\0')
			buf_adds(b, "\\\\");
		else
			buf_add(b, s, 1);
	}
}

/* A string field value, quoted: '"' and '\' escaped, no line breaks. */
void
lp_escape_string(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_adds(b, "\\");
		if (*s == '\n' || *s == '\r')
			buf_adds(b, " ");
		else
			buf_add(b, s, 1);
	}
	buf_adds(b, "\"");
}

/* A float field value (finite only: the caller skips others). */
void
lp_format_float(struct buf *b, double v)
{
	char	 num[40];

	prom_format_value(num, sizeof(num), v);
	buf_adds(b, num);
}

/* One point being written: fields separated, at least one. */
struct lp_point {
	struct buf	*b;
	size_t		 start;
	int		 nfields;
};

static void
pt_begin(struct lp_point *pt, struct buf *b, const char *measurement,
    const char *const *tags)
{
	pt->b = b;
	pt->start = b->len;
	pt->nfields = 0;
	lp_escape_measurement(b, measurement);
	for (; tags[0] != NULL; tags += 2) {
		if (tags[1] == NULL || *tags[1] == '\0')
			continue;
		buf_adds(b, ",");
		lp_escape_key(b, tags[0]);
		buf_adds(b, "=");
		lp_escape_key(b, tags[1]);
	}
}

static void
pt_key(struct lp_point *pt, const char *k)
{
	buf_adds(pt->b, pt->nfields++ == 0 ? " " : ",");
	lp_escape_key(pt->b, k);
	buf_adds(pt->b, "=");
}

static void
pt_int(struct lp_point *pt, const char *k, long long v)
{
	pt_key(pt, k);
	buf_printf(pt->b, "%lldi", v);
}

static void
pt_float(struct lp_point *pt, const char *k, double v)
{
	if (!isfinite(v))
		return;
	pt_key(pt, k);
	lp_format_float(pt->b, v);
}

static void
pt_bool(struct lp_point *pt, const char *k, int v)
{
	pt_key(pt, k);
	buf_adds(pt->b, v ? "true" : "false");
}

static void
pt_string(struct lp_point *pt, const char *k, const char *v)
{
	pt_key(pt, k);
	lp_escape_string(pt->b, v);
}

/* End the point with its timestamp, or take it back if it has no field. */
static void
pt_end(struct lp_point *pt, long long ts)
{
	if (pt->nfields == 0) {
		pt->b->len = pt->start;
		if (pt->b->s != NULL)
			pt->b->s[pt->b->len] = '\0';
		return;
	}
	buf_printf(pt->b, " %lld\n", ts);
}

/* The URL's precision= (InfluxDB 1.x), as a divisor of nanoseconds. */
static long long
url_precision_ms(const char *url, long long ms)
{
	const char	*q = strchr(url, '?'), *p;
	size_t		 n;

	for (p = q; p != NULL; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, "precision=", 10) != 0)
			continue;
		p += 11;
		n = strcspn(p, "&#");
		if (n == 1 && *p == 's')
			return (ms / 1000);
		if (n == 2 && strncmp(p, "ms", 2) == 0)
			return (ms);
		if (n == 1 && (*p == 'u' || *p == 'U'))
			return (ms * 1000);
		if (n == 1 && *p == 'm')
			return (ms / 60000);
		if (n == 1 && *p == 'h')
			return (ms / 3600000);
		break;
	}
	return (ms * 1000000);
}

/* eoskeeper's lpbt: "N秒前", "N分钟前", or "~" (never, or over 1 h). */
void
influx_eoskeeper_lpbt(char *buf, size_t size, int64_t now_s, int64_t last_s)
{
	int64_t	 d = now_s - last_s;

	if (last_s <= 0 || d > 3600)
		snprintf(buf, size, "~");
	else if (d > 150)
		snprintf(buf, size, "%lld分钟前", (long long)(d / 60));
	else
		snprintf(buf, size, "%lld秒前", (long long)(d < 0 ? 0 : d));
}

static struct probe *
find_probe(const struct program *p, const char *name)
{
	size_t	 i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < p->nprobes; i++)
		if (strcmp(p->probes[i]->cfg->name, name) == 0)
			return (p->probes[i]);
	return (NULL);
}

/* Cut s to at most n UTF-8 characters. */
static void
utf8_cut(char *s, size_t n)
{
	size_t	 chars = 0;
	char	*c;

	for (c = s; *c != '\0'; c++) {
		if (((unsigned char)*c & 0xc0) == 0x80)
			continue;
		if (chars++ == n) {
			*c = '\0';
			return;
		}
	}
}

/* eoskeeper's info: what is wrong with the program, short, or "". */
static void
eosk_info(char *buf, size_t size, const struct program *p)
{
	const struct probe	*pr;
	size_t			 i, n = 0;

	buf[0] = '\0';
	if (p == NULL) {
		snprintf(buf, size, "not supervised");
		return;
	}
	if (p->state != PROGRAM_RUNNING) {
		snprintf(buf, size, "%s %s", p->pc->name,
		    program_state_name(p->state));
		return;
	}
	for (i = 0; i < p->nprobes && n < size; i++) {
		pr = p->probes[i];
		if (pr->health != PROBE_FAILING && pr->health != PROBE_HUNG)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s: %s",
		    n > 0 ? "; " : "", pr->cfg->name, pr->reason[0] != '\0' ?
		    pr->reason : probe_health_name(pr->health));
	}
	utf8_sanitize(buf, strlen(buf));
	utf8_cut(buf, INFO_MAX_CHARS);
}

/* One eoskeeper point (eosbpinfo / eosfninfo). */
static void
eosk_point(struct buf *b, const struct metrics_influx *mi,
    const struct metrics_eoskeeper *e, struct eosk_last *lst, long long ts,
    int64_t now_s)
{
	struct program		*p = program_find(e->program);
	struct probe		*np = NULL, *pp = NULL, *lp = NULL;
	struct lp_point		 pt;
	const char		*tags[] = { "host", mi->host, NULL };
	json_t			*v;
	const char		*paused = "~";
	char			 lpbt[64], info[512];
	int64_t			 lm = 0;
	int			 s = e->short_fields;

	if (p != NULL) {
		np = find_probe(p, e->nodeos_probe);
		pp = find_probe(p, e->peers_probe);
		lp = find_probe(p, e->produced_probe);
	}
	if (np != NULL && np->detail != NULL) {
		if (json_is_number(json_object_get(np->detail, "head")) &&
		    json_is_number(json_object_get(np->detail, "lib"))) {
			lst->hbn = json_number_value(json_object_get(
			    np->detail, "head"));
			lst->lib = json_number_value(json_object_get(
			    np->detail, "lib"));
			lst->have_head = 1;
		}
		v = json_object_get(np->detail, "paused");
		if (json_is_boolean(v))
			paused = json_is_true(v) ? "是" : "否";
	}
	if (pp != NULL && pp->has_value && pp->status >= 0) {
		lst->linkn = pp->value;
		lst->have_links = 1;
	}
	if (lp != NULL && lp->detail != NULL &&
	    json_is_integer(json_object_get(lp->detail, "last_match_time")))
		lm = json_integer_value(json_object_get(lp->detail,
		    "last_match_time"));
	pt_begin(&pt, b, e->measurement, tags);
	if (lst->have_head) {
		pt_float(&pt, s ? "hbn" : "hbn/当前块", lst->hbn);
		pt_float(&pt, s ? "lib" : "lib/不可逆块", lst->lib);
	}
	if (lst->have_links)
		pt_float(&pt, s ? "linkn" : "linkn/连接数量", lst->linkn);
	if (e->role == EOSK_BP) {
		influx_eoskeeper_lpbt(lpbt, sizeof(lpbt), now_s, lm);
		pt_string(&pt, s ? "lpbt" : "lpbt/上次出块时间", lpbt);
		pt_string(&pt, "paused", paused);
	}
	eosk_info(info, sizeof(info), p);
	pt_string(&pt, s ? "info" : "info/告警信息", info);
	pt_end(&pt, ts);
}

/* The probe's point: ok, health, duration, value, numeric detail. */
static void
probe_point(struct buf *b, const struct metrics_influx *mi,
    const struct probe *pr, const char *measurement, long long ts)
{
	struct lp_point	 pt;
	const char	*tags[] = { "host", mi->host, "program",
	    pr->prog->pc->name, "probe", pr->cfg->name, "kind",
	    pr->cfg->kind->name, NULL };
	const char	*k;
	json_t		*v;

	if (pr->status < 0)
		return;
	pt_begin(&pt, b, measurement, tags);
	pt_bool(&pt, "ok", pr->status == PROBE_OK);
	pt_string(&pt, "status", probe_status_name(pr->status));
	pt_string(&pt, "health", probe_health_name(pr->health));
	pt_float(&pt, "duration_s", pr->elapsed_ms / 1000.0);
	if (pr->has_value)
		pt_float(&pt, "value", pr->value);
	if (pr->detail != NULL) {
		json_object_foreach(pr->detail, k, v) {
			if (strcmp(k, "ok") == 0 || strcmp(k, "status") == 0 ||
			    strcmp(k, "health") == 0 ||
			    strcmp(k, "duration_s") == 0 ||
			    strcmp(k, "value") == 0)
				continue;
			if (json_is_number(v))
				pt_float(&pt, k, json_number_value(v));
			else if (json_is_boolean(v))
				pt_bool(&pt, k, json_is_true(v));
		}
	}
	pt_end(&pt, ts);
}

/* Every point of one tick, at wall time now_ms, appended to b. */
void
influx_points(struct buf *b, const struct metrics_influx *mi,
    int64_t wall_ms)
{
	struct program	*p;
	struct lp_point	 pt;
	const char	*h;
	char		*pm;
	long long	 ts = url_precision_ms(mi->url, wall_ms);
	size_t		 i;

	xasprintf(&pm, "%s_probe", mi->measurement);
	TAILQ_FOREACH(p, &programs, entry) {
		const char	*tags[] = { "host", mi->host, "program",
		    p->pc->name, NULL };

		if (!mi->programs)
			break;
		pt_begin(&pt, b, mi->measurement, tags);
		pt_string(&pt, "state", program_state_name(p->state));
		pt_int(&pt, "state_code", p->state);
		pt_int(&pt, "up", p->state == PROGRAM_RUNNING);
		pt_int(&pt, "pid", p->pid);
		pt_int(&pt, "uptime_s", p->pid > 0 ? (now_ms() - p->start_ms) /
		    1000 : 0);
		pt_int(&pt, "restarts", p->restarts);
		pt_int(&pt, "starts", p->runs);
		if ((h = program_health(p)) != NULL)
			pt_string(&pt, "health", h);
		pt_end(&pt, ts);
		for (i = 0; i < p->nprobes; i++)
			probe_point(b, mi, p->probes[i], pm, ts);
	}
	free(pm);
	if (nlast < mi->neosk) {
		last = xreallocarray(last, mi->neosk, sizeof(*last));
		memset(last + nlast, 0, (mi->neosk - nlast) * sizeof(*last));
		nlast = mi->neosk;
	}
	for (i = 0; i < mi->neosk; i++)
		eosk_point(b, mi, &mi->eosk[i], &last[i], ts, wall_ms / 1000);
}

/* The queue. */

static void
queue_drop_head(void)
{
	struct lp_line	*l;

	if ((l = TAILQ_FIRST(&queue)) == NULL)
		return;
	TAILQ_REMOVE(&queue, l, entry);
	free(l);
	nqueued--;
	if (inflight_n > 0)
		inflight_n--;
}

static void
queue_clear(void)
{
	while (!TAILQ_EMPTY(&queue))
		queue_drop_head();
	inflight_n = 0;
}

/* Add each line of b; a full queue loses its oldest lines. */
static void
queue_lines(const struct buf *b)
{
	struct lp_line	*l;
	const char	*s, *nl;
	size_t		 n;
	int64_t		 now = now_ms();

	for (s = b->s; s != NULL && *s != '\0'; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		n = (size_t)(nl - s) + 1;
		while (nqueued >= icfg->max_points) {
			queue_drop_head();
			stats.points_dropped++;
			drops_unlogged++;
		}
		l = xmalloc(sizeof(*l) + n + 1);
		memcpy(l->s, s, n);
		l->s[n] = '\0';
		l->len = n;
		TAILQ_INSERT_TAIL(&queue, l, entry);
		nqueued++;
	}
	if (drops_unlogged > 0 && (drop_logged_ms == 0 ||
	    now - drop_logged_ms >= LOG_EVERY_MS)) {
		log_warnx("influxdb: the buffer is full (%zu points): dropped "
		    "the %llu oldest (%llu in all)", icfg->max_points,
		    drops_unlogged, stats.points_dropped);
		drops_unlogged = 0;
		drop_logged_ms = now;
	}
	stats.buffered = nqueued;
}

/* The URL for logs: scheme, host and path, no query. */
static void
log_url(char *buf, size_t size)
{
	const char	*at, *h = strstr(iurl, "://");
	size_t		 n;

	h = h != NULL ? h + 3 : iurl;
	if ((at = strchr(h, '@')) != NULL && at < h + strcspn(h, "/?#"))
		h = at + 1;
	n = strcspn(h, "?#");
	snprintf(buf, size, "%.*s", (int)(n < 200 ? n : 200), h);
}

static void
push_done_cb(void *arg, const struct http_reply *r)
{
	char		 u[256], why[200];
	size_t		 n = inflight_n;
	int64_t		 now = now_ms();

	(void)arg;
	inflight = NULL;
	buf_free(&body);
	stats.pushes++;
	if (r->error == NULL && r->status >= 200 && r->status < 300) {
		while (inflight_n > 0)
			queue_drop_head();
		stats.points_sent += n;
		stats.buffered = nqueued;
		if (failing) {
			log_info("influxdb: writing again (%zu points "
			    "buffered)", nqueued);
			failing = 0;
		}
		influx_flush();
		return;
	}
	log_url(u, sizeof(u));
	if (r->error != NULL)
		snprintf(why, sizeof(why), "%s", r->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld: %.*s", r->status,
		    (int)(r->len < 120 ? r->len : 120), r->body);
	utf8_sanitize(why, strlen(why));
	why[strcspn(why, "\r\n")] = '\0';
	if (r->error == NULL && (r->status == 400 || r->status == 413)) {
		/* Malformed or too big: sending again cannot help. */
		log_warnx("influxdb: %s refused %zu points: %s", u, n, why);
		while (inflight_n > 0)
			queue_drop_head();
		stats.points_dropped += n;
		stats.buffered = nqueued;
		return;
	}
	stats.failures++;
	inflight_n = 0;
	if (!failing || now - fail_logged_ms >= LOG_EVERY_MS) {
		log_warnx("influxdb: write to %s failed: %s (%zu points "
		    "buffered, retrying every %lld s)", u, why, nqueued,
		    (long long)(icfg->interval_ms / 1000));
		fail_logged_ms = now;
	}
	failing = 1;
}

/* Send the oldest batch, unless a request is in flight. */
static void
influx_flush(void)
{
	struct http_opts	 o;
	struct lp_line		*l;
	size_t			 n = 0;

	if (icfg == NULL || inflight != NULL || TAILQ_EMPTY(&queue))
		return;
	buf_free(&body);
	TAILQ_FOREACH(l, &queue, entry) {
		if (n == icfg->batch)
			break;
		buf_add(&body, l->s, l->len);
		n++;
	}
	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.body = body.s;
	o.content_type = "text/plain; charset=utf-8";
	o.userpwd = userpwd;
	o.timeout_ms = (long)icfg->timeout_ms;
	o.max_body = 64 * 1024;
	inflight_n = n;
	if ((inflight = http_request(iurl, &o, push_done_cb, NULL)) == NULL) {
		inflight_n = 0;
		stats.failures++;
		buf_free(&body);
		if (!failing)
			log_warnx("influxdb: cannot start a request");
		failing = 1;
	}
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct buf	 b;
	struct timespec	 ts;

	(void)loop;
	(void)w;
	(void)revents;
	if (icfg == NULL)
		return;
	memset(&b, 0, sizeof(b));
	clock_gettime(CLOCK_REALTIME, &ts);
	influx_points(&b, icfg, (int64_t)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000);
	queue_lines(&b);
	buf_free(&b);
	influx_flush();
}

/*
 * Start the push, or take new settings (mi is borrowed from the current
 * configuration; NULL stops it).  A new URL forgets the buffered points.
 */
void
influx_start(const struct metrics_influx *mi)
{
	if (!tick_init) {
		ev_timer_init(&tick, tick_cb, 0., 0.);
		tick_init = 1;
	}
	if (mi == NULL) {
		influx_stop();
		return;
	}
	if (iurl != NULL && strcmp(iurl, mi->url) != 0) {
		if (nqueued > 0)
			log_info("influxdb: new URL: %zu buffered points "
			    "dropped", nqueued);
		http_cancel(inflight);
		inflight = NULL;
		buf_free(&body);
		queue_clear();
	}
	free(iurl);
	iurl = xstrdup(mi->url);
	if (userpwd != NULL) {
		explicit_bzero(userpwd, strlen(userpwd));
		free(userpwd);
		userpwd = NULL;
	}
	if (mi->user != NULL)
		xasprintf(&userpwd, "%s:%s", mi->user, mi->password);
	/* Not icfg->neosk: on a reload icfg is already freed. */
	if (nlast != mi->neosk) {
		free(last);
		last = NULL;
		nlast = 0;
	}
	icfg = mi;
	stats.enabled = 1;
	ev_timer_stop(EV_DEFAULT, &tick);
	ev_timer_set(&tick, 1.0, (ev_tstamp)mi->interval_ms / 1000.0);
	ev_timer_start(EV_DEFAULT, &tick);
}

/* Stop pushing; what is buffered is dropped. */
void
influx_stop(void)
{
	if (tick_init)
		ev_timer_stop(EV_DEFAULT, &tick);
	if (icfg == NULL)
		return;
	if (nqueued > 0)
		log_info("influxdb: stopping with %zu points not written",
		    nqueued);
	http_cancel(inflight);
	inflight = NULL;
	buf_free(&body);
	queue_clear();
	free(iurl);
	iurl = NULL;
	if (userpwd != NULL) {
		explicit_bzero(userpwd, strlen(userpwd));
		free(userpwd);
		userpwd = NULL;
	}
	free(last);
	last = NULL;
	nlast = 0;
	icfg = NULL;
	stats.enabled = 0;
	stats.buffered = 0;
}

void
influx_get_stats(struct influx_stats *s)
{
	*s = stats;
}
