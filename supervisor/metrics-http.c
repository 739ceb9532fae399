/*
 * The metrics listener: libmicrohttpd in its "external epoll" mode, driven
 * by the loop without threads.  MHD keeps its listen socket and every
 * connection in one epoll fd; one ev_io watches that fd, and an ev_timer
 * follows MHD_get_timeout(); both call MHD_run(), which never blocks.
 * Replies are built from the programs' in-memory state: /metrics
 * (Prometheus), / (the status page) and /status.json.  Only GET and HEAD;
 * nothing here changes anything.
 *
 * While bound to loopback without allow_remote, a request must name a
 * loopback host (Host: 127.0.0.1, localhost, [::1]): a web page the
 * operator visits cannot read the status through DNS rebinding.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "program.h"
#include "util.h"

#define LISTEN_RETRY_S		5.0
#define IDLE_RUN_MS		5000	/* MHD_run() at least this often */

/*
 * Slow clients cannot starve the scrapes: a connection has
 * HEADER_DEADLINE_S from its accept (or from the end of its last request)
 * to send a request's headers, and lives CONNECTION_MAX_S at most, however
 * slowly it trickles bytes; CONNECTION_TIMEOUT_S is libmicrohttpd's own
 * inactivity limit.  A scraper that finds every slot taken waits in the
 * backlog for the next one free, HEADER_DEADLINE_S at most.  A limit per
 * address applies only with allow_remote: every local client, a scraper
 * too, comes from loopback.
 */
#define MAX_CONNECTIONS		256
#define LISTEN_BACKLOG		512
#define PER_IP_CONNECTIONS	32
#define CONNECTION_TIMEOUT_S	5
#define HEADER_DEADLINE_S	5.
#define CONNECTION_MAX_S	60.
#define DEADLINE_CHECK_S	1.

struct mconn {
	LIST_ENTRY(mconn) entry;
	struct MHD_Connection *c;
	ev_tstamp	 opened;
	ev_tstamp	 waiting;	/* since; 0: a request is being served */
	int		 cut;		/* shut down: MHD closes it */
};

static LIST_HEAD(, mconn) mconns = LIST_HEAD_INITIALIZER(mconns);
static ev_timer		 deadline_timer;

static struct MHD_Daemon *mhd;
static ev_io		 mhd_io;
static ev_timer		 mhd_timer;
static ev_timer		 retry_timer;
static char		*bound;		/* the listen address being served */
static struct metrics_config lcfg;	/* its copy: address, flags */
static int		 started;
static int		 bind_failing;	/* warned: retries are quiet */
static int		 mhd_kick;	/* a connection closed: run again */

static void	listener_open(void);
static void	mhd_rearm(void);

static void
mhd_log_cb(void *arg, const char *fmt, va_list ap)
{
	char	 buf[256];
	size_t	 n;

	(void)arg;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("metrics: %s", buf);
}

/*
 * A connection is gone.  libmicrohttpd 0.9.75 takes its listen socket out
 * of its epoll set at the connection limit and puts it back only in a
 * later MHD_run(), which nothing would call once the connections are gone
 * (MHD_get_timeout() does not ask for it): run once more, soon.  The
 * same can happen after EMFILE with no connection at all, so MHD_run()
 * also runs every IDLE_RUN_MS.
 */
static void
mhd_notify_cb(void *arg, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct mconn	*mc;

	(void)arg;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		mc = xcalloc(1, sizeof(*mc));
		mc->c = c;
		mc->opened = mc->waiting = ev_now(EV_DEFAULT);
		LIST_INSERT_HEAD(&mconns, mc, entry);
		*ctx = mc;
		if (!ev_is_active(&deadline_timer))
			ev_timer_again(EV_DEFAULT, &deadline_timer);
		return;
	}
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		mhd_kick = 1;
		if ((mc = *ctx) != NULL) {
			LIST_REMOVE(mc, entry);
			free(mc);
			*ctx = NULL;
		}
	}
}

/* The connection's own record, from its socket context. */
static struct mconn *
mconn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return (ci != NULL ? ci->socket_context : NULL);
}

/* A request is over: the next one's headers have a new deadline. */
static void
mhd_completed_cb(void *arg, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct mconn	*mc;

	(void)arg;
	(void)con_cls;
	(void)toe;
	if ((mc = mconn_of(c)) != NULL)
		mc->waiting = ev_now(EV_DEFAULT);
}

/*
 * Cut connections past their deadline: shut the socket down, so that
 * libmicrohttpd sees the end and closes it in its next run.
 */
static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	const union MHD_ConnectionInfo	*ci;
	struct mconn			*mc;
	ev_tstamp			 now = ev_now(EV_DEFAULT);
	int				 cut = 0;

	(void)loop;
	(void)revents;
	if (LIST_EMPTY(&mconns)) {
		ev_timer_stop(EV_DEFAULT, w);
		return;
	}
	LIST_FOREACH(mc, &mconns, entry) {
		if (mc->cut || !((mc->waiting > 0 &&
		    now - mc->waiting >= HEADER_DEADLINE_S) ||
		    now - mc->opened >= CONNECTION_MAX_S))
			continue;
		ci = MHD_get_connection_info(mc->c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			continue;
		(void)shutdown(ci->connect_fd, SHUT_RDWR);
		mc->cut = 1;
		cut++;
	}
	if (cut > 0) {
		log_debug("metrics: closed %d slow connection(s)", cut);
		MHD_run(mhd);
		mhd_rearm();
	}
}

/* Arm the timer MHD asks for; MHD_run() must run by then. */
static void
mhd_rearm(void)
{
	MHD_UNSIGNED_LONG_LONG	 t;

	ev_timer_stop(EV_DEFAULT, &mhd_timer);
	if (mhd == NULL)
		return;
	if (mhd_kick) {
		mhd_kick = 0;
		t = 0;
	} else if (MHD_get_timeout(mhd, &t) != MHD_YES || t > IDLE_RUN_MS)
		t = IDLE_RUN_MS;
	ev_timer_set(&mhd_timer, (ev_tstamp)t / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT, &mhd_timer);
}

static void
mhd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	MHD_run(mhd);
	mhd_rearm();
}

static void
mhd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	MHD_run(mhd);
	mhd_rearm();
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	listener_open();
}

/* Whether a Host header names this machine's loopback. */
static int
host_is_local(const char *h)
{
	char	 host[128], *e;
	size_t	 n;

	if (h == NULL)
		return (1);	/* HTTP/1.0 */
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return (0);
		return (e - h - 1 == 3 && strncmp(h + 1, "::1", 3) == 0);
	}
	n = strcspn(h, ":");
	if (n >= sizeof(host))
		return (0);
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return (1);
	return (strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n);
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int code, const char *type,
    struct buf *body, const char *allow)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	if (body->s == NULL)
		buf_adds(body, "");
	r = MHD_create_response_from_buffer(body->len, body->s,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		buf_free(body);
		return (MHD_NO);
	}
	body->s = NULL;		/* MHD frees it */
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (strncmp(type, "text/html", 9) == 0) {
		MHD_add_response_header(r, "Content-Security-Policy",
		    "default-src 'none'; style-src 'unsafe-inline'");
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	}
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return (ret);
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned int code, const char *msg,
    const char *allow)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	buf_adds(&b, msg);
	buf_adds(&b, "\n");
	return (reply(c, code, "text/plain; charset=utf-8", &b, allow));
}

static void
status_json(struct buf *b)
{
	struct program	*p;
	json_t		*arr;
	char		*s;

	arr = json_array();
	TAILQ_FOREACH(p, &programs, entry)
		json_array_append_new(arr, program_status_json(p));
	if ((s = json_dumps(arr, JSON_COMPACT)) == NULL)
		fatalx("json_dumps");
	json_decref(arr);
	buf_adds(b, s);
	buf_adds(b, "\n");
	free(s);
}

static int	 request_marker;

/*
 * One request.  The first call (headers only) is answered at once for a
 * method we refuse; a GET or HEAD is answered once any body was read and
 * dropped.
 */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct buf	 b;
	struct mconn	*mc;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return (reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET "
		    "and HEAD: nothing can be changed over HTTP", "GET, HEAD"));
	if (*con_cls == NULL) {
		*con_cls = &request_marker;
		if ((mc = mconn_of(c)) != NULL)
			mc->waiting = 0;	/* the headers came in time */
		return (MHD_YES);
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return (MHD_YES);
	}
	if (!lcfg.allow_remote && !host_is_local(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)))
		return (reply_text(c, MHD_HTTP_MISDIRECTED_REQUEST, "this "
		    "listener serves loopback names only (set allow_remote: "
		    "true to serve others)", NULL));
	memset(&b, 0, sizeof(b));
	if (strcmp(url, "/metrics") == 0) {
		prom_exposition(&b);
		return (reply(c, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8", &b, NULL));
	}
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
		status_page(&b, lcfg.refresh_ms);
		return (reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", &b,
		    NULL));
	}
	if (strcmp(url, "/status.json") == 0) {
		status_json(&b);
		return (reply(c, MHD_HTTP_OK, "application/json", &b, NULL));
	}
	return (reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /, "
	    "/metrics or /status.json", NULL));
}

static void
listener_close(void)
{
	struct mconn	*mc;

	ev_timer_stop(EV_DEFAULT, &retry_timer);
	ev_timer_stop(EV_DEFAULT, &mhd_timer);
	ev_io_stop(EV_DEFAULT, &mhd_io);
	ev_timer_stop(EV_DEFAULT, &deadline_timer);
	if (mhd != NULL) {
		MHD_stop_daemon(mhd);	/* closes the listen socket too */
		mhd = NULL;
		log_info("metrics: stopped listening on %s", bound);
	}
	while ((mc = LIST_FIRST(&mconns)) != NULL) {
		LIST_REMOVE(mc, entry);
		free(mc);
	}
	free(bound);
	bound = NULL;
	bind_failing = 0;
}

/* Bind lcfg's address and start MHD on it; on failure retry later. */
static void
listener_open(void)
{
	const union MHD_DaemonInfo	*info;
	int				 fd, on = 1;

	ev_timer_stop(EV_DEFAULT, &retry_timer);
	if (lcfg.listen == NULL || mhd != NULL)
		return;
	fd = socket(lcfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("metrics: socket");
		goto retry;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (lcfg.addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&lcfg.addr, lcfg.addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		if (!bind_failing)
			log_warn("metrics: cannot listen on %s (retrying every "
			    "%.0f s)", lcfg.listen, LISTEN_RETRY_S);
		else
			log_debug("metrics: still cannot listen on %s",
			    lcfg.listen);
		bind_failing = 1;
		close(fd);
		goto retry;
	}
	bind_failing = 0;
	mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    (lcfg.addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL,
	    NULL, access_cb, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, lcfg.allow_remote ?
	    (unsigned int)PER_IP_CONNECTIONS : 0U,
	    MHD_OPTION_NOTIFY_CONNECTION, mhd_notify_cb, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, mhd_completed_cb, NULL,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		log_warnx("metrics: cannot start the HTTP server on %s",
		    lcfg.listen);
		close(fd);
		goto retry;
	}
	if ((info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL) {
		log_warnx("metrics: libmicrohttpd has no epoll fd");
		MHD_stop_daemon(mhd);
		mhd = NULL;
		return;
	}
	ev_io_init(&mhd_io, mhd_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(EV_DEFAULT, &mhd_io);
	bound = xstrdup(lcfg.listen);
	log_info("metrics: listening on http://%s/ (/metrics, /status.json)",
	    bound);
	mhd_rearm();
	return;
retry:
	ev_timer_set(&retry_timer, LISTEN_RETRY_S, 0.);
	ev_timer_start(EV_DEFAULT, &retry_timer);
}

/* Take the listener's settings: the address, allow_remote, refresh. */
static void
listener_config(const struct metrics_config *mc)
{
	free(lcfg.listen);
	memset(&lcfg, 0, sizeof(lcfg));
	if (mc == NULL)
		return;
	lcfg.listen = mc->listen != NULL ? xstrdup(mc->listen) : NULL;
	lcfg.addr = mc->addr;
	lcfg.addrlen = mc->addrlen;
	lcfg.allow_remote = mc->allow_remote;
	lcfg.refresh_ms = mc->refresh_ms;
}

/* Start what the metrics: section asks for. */
void
metrics_start(const struct config *cfg)
{
	if (!started) {
		ev_init(&mhd_io, mhd_io_cb);
		ev_timer_init(&mhd_timer, mhd_timer_cb, 0., 0.);
		ev_timer_init(&retry_timer, retry_cb, 0., 0.);
		ev_init(&deadline_timer, deadline_cb);
		deadline_timer.repeat = DEADLINE_CHECK_S;
		started = 1;
	}
	listener_config(cfg->metrics);
	listener_open();
	influx_start(cfg->metrics != NULL ? cfg->metrics->influx : NULL);
}

/* A new configuration: rebind only if the address changed. */
void
metrics_reload(const struct config *cfg)
{
	const struct metrics_config	*mc = cfg->metrics;
	const char			*nl = mc != NULL ? mc->listen : NULL;
	int				 same;

	same = (nl == NULL && lcfg.listen == NULL) || (nl != NULL &&
	    lcfg.listen != NULL && strcmp(nl, lcfg.listen) == 0);
	if (!same)
		listener_close();
	listener_config(mc);
	if (!same)
		listener_open();
	influx_start(mc != NULL ? mc->influx : NULL);
}

void
metrics_stop(void)
{
	if (!started)
		return;
	listener_close();
	listener_config(NULL);
	influx_stop();
}

/* The status page. */

void
html_escape(struct buf *b, const char *s)
{
	const char	*run = s, *rep;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

static void
html_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Format, then escape. */
static void
html_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	html_escape(b, s);
	free(s);
}

static void
fmt_duration(char *buf, size_t size, int64_t s)
{
	if (s >= 86400)
		snprintf(buf, size, "%lldd %lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
}

/* The first probe detail of p with a numeric field among names. */
static int
detail_number(const struct program *p, const char *const *names,
    const char **which, double *out)
{
	const char *const	*n;
	json_t			*v;
	size_t			 i;

	for (i = 0; i < p->nprobes; i++) {
		if (p->probes[i]->detail == NULL)
			continue;
		for (n = names; *n != NULL; n++) {
			v = json_object_get(p->probes[i]->detail, *n);
			if (json_is_number(v)) {
				*out = json_number_value(v);
				if (which != NULL)
					*which = *n;
				return (1);
			}
		}
	}
	return (0);
}

/* The chain columns: height, lag, peers (empty when unknown). */
static void
chain_cells(struct buf *b, const struct program *p)
{
	static const char *const heights[] = { "height", "head",
	    "head_block_number", NULL };
	static const char *const lags[] = { "lag", "blocks_behind", NULL };
	static const char *const ages[] = { "head_age_s", NULL };
	static const char *const peers[] = { "established", "connections",
	    "peers", NULL };
	double		 v;
	const char	*which;
	size_t		 i;
	int		 have = 0;

	buf_adds(b, "<td class=\"num\">");
	if (detail_number(p, heights, NULL, &v))
		buf_printf(b, "%.0f", v);
	buf_adds(b, "</td><td class=\"num\">");
	if (detail_number(p, lags, &which, &v))
		buf_printf(b, "%.0f block%s", v, v == 1 ? "" : "s");
	else if (detail_number(p, ages, &which, &v))
		buf_printf(b, "%.1f s", v);
	buf_adds(b, "</td><td class=\"num\">");
	for (i = 0; i < p->nprobes && !have; i++) {
		if (strcmp(p->probes[i]->cfg->kind->name, "peers") == 0 &&
		    p->probes[i]->has_value && p->probes[i]->status >= 0) {
			buf_printf(b, "%.0f", p->probes[i]->value);
			have = 1;
		}
	}
	if (!have && detail_number(p, peers, NULL, &v))
		buf_printf(b, "%.0f", v);
	buf_adds(b, "</td>");
}

static const char *
state_class(int s)
{
	switch (s) {
	case PROGRAM_RUNNING:
		return ("ok");
	case PROGRAM_STARTING:
	case PROGRAM_STOPPING:
	case PROGRAM_BACKOFF:
		return ("warn");
	case PROGRAM_FATAL:
	case PROGRAM_EXITED:
		return ("bad");
	default:
		return ("off");
	}
}

static const char *
health_class(const char *h)
{
	if (h == NULL)
		return ("off");
	if (strcmp(h, "healthy") == 0)
		return ("ok");
	if (strcmp(h, "unknown") == 0)
		return ("warn");
	return ("bad");
}

/* The probes of a program, one line each: name, health, reason. */
static void
probe_lines(struct buf *b, const struct program *p)
{
	const struct probe	*pr;
	size_t			 i;

	for (i = 0; i < p->nprobes; i++) {
		pr = p->probes[i];
		buf_printf(b, "<div class=\"probe %s\">",
		    health_class(probe_health_name(pr->health)));
		html_escape(b, pr->cfg->name);
		buf_adds(b, " ");
		html_escape(b, probe_health_name(pr->health));
		if (pr->reason[0] != '\0') {
			buf_adds(b, ": ");
			html_escape(b, pr->reason);
		}
		buf_adds(b, "</div>");
	}
}

/* How the last run ended, for a program that is not running. */
static void
last_exit_line(struct buf *b, const struct program *p)
{
	int	 st = p->exit_status;

	if (!p->exit_known || p->pid > 0)
		return;
	buf_adds(b, "<div class=\"exit\">last exit: ");
	if (st == PROGRAM_EXIT_UNKNOWN)
		buf_adds(b, "unknown (not our child)");
	else if (WIFEXITED(st))
		buf_printf(b, "code %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		html_printf(b, "killed by SIG%s", signal_name(WTERMSIG(st)));
	if (p->exit_oom)
		buf_adds(b, " (OOM killer)");
	buf_adds(b, "</div>");
}

/* The whole page, appended to b. */
void
status_page(struct buf *b, int64_t refresh_ms)
{
	struct program	*p;
	const char	*h;
	char		 host[256], when[64], up[32];
	time_t		 now = time(NULL);
	struct tm	 tm;
	size_t		 n = 0, running = 0, bad = 0;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
	TAILQ_FOREACH(p, &programs, entry) {
		n++;
		if (p->state == PROGRAM_RUNNING)
			running++;
		h = program_health(p);
		if (p->state == PROGRAM_FATAL || p->state == PROGRAM_BACKOFF ||
		    (h != NULL && strcmp(h, "failing") == 0) ||
		    (h != NULL && strcmp(h, "hung") == 0))
			bad++;
	}
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n");
	if (refresh_ms > 0)
		buf_printf(b, "<meta http-equiv=\"refresh\" "
		    "content=\"%lld\">\n", (long long)((refresh_ms + 999) /
		    1000));
	buf_adds(b, "<title>chainkeeper: ");
	html_escape(b, host);
	buf_adds(b, "</title>\n<style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;"
	    "color:#222;background:#fafafa}\n"
	    "h1{font-size:1.3em;margin:0 0 .2em}\n"
	    ".sub{color:#666;margin-bottom:1em}\n"
	    "table{border-collapse:collapse;width:100%;background:#fff}\n"
	    "th,td{border-bottom:1px solid #ddd;padding:.35em .6em;"
	    "text-align:left;vertical-align:top}\n"
	    "th{background:#eee}\n"
	    "td.num{text-align:right;font-variant-numeric:tabular-nums;"
	    "white-space:nowrap}\n"
	    ".ok{color:#176f2c}.warn{color:#8a6100}.bad{color:#b00020;"
	    "font-weight:bold}.off{color:#777}\n"
	    ".probe{font-size:.9em}\n"
	    "</style></head>\n<body>\n<h1>chainkeeper on ");
	html_escape(b, host);
	buf_adds(b, "</h1>\n<div class=\"sub\">");
	html_printf(b, "%zu programs, %zu running, %zu in trouble; "
	    "chainkeeperd %s; %s", n, running, bad, PACKAGE_VERSION, when);
	if (refresh_ms > 0)
		html_printf(b, "; refreshes every %lld s",
		    (long long)((refresh_ms + 999) / 1000));
	buf_adds(b, "</div>\n<table id=\"programs\">\n<thead><tr>"
	    "<th>Program</th><th>State</th><th>Health</th><th>PID</th>"
	    "<th>Uptime</th><th>Restarts</th><th>Height</th><th>Lag</th>"
	    "<th>Peers</th><th>Details</th></tr></thead>\n<tbody>\n");
	TAILQ_FOREACH(p, &programs, entry) {
		h = program_health(p);
		buf_adds(b, "<tr id=\"program-");
		html_escape(b, p->pc->name);
		buf_adds(b, "\"><td class=\"name\">");
		html_escape(b, p->pc->name);
		buf_printf(b, "</td><td class=\"state %s\">",
		    state_class(p->state));
		html_escape(b, program_state_name(p->state));
		if (p->admin_stopped)
			buf_adds(b, " (by hand)");
		buf_printf(b, "</td><td class=\"health %s\">",
		    health_class(h));
		html_escape(b, h != NULL ? h : "-");
		buf_adds(b, "</td><td class=\"num\">");
		if (p->pid > 0)
			buf_printf(b, "%ld", (long)p->pid);
		buf_adds(b, "</td><td class=\"num\">");
		if (p->pid > 0) {
			fmt_duration(up, sizeof(up),
			    (now_ms() - p->start_ms) / 1000);
			html_escape(b, up);
		}
		buf_printf(b, "</td><td class=\"num\">%u</td>", p->restarts);
		chain_cells(b, p);
		buf_adds(b, "<td>");
		if (p->spawnerr != NULL && p->pid <= 0) {
			buf_adds(b, "<div class=\"bad\">");
			html_escape(b, p->spawnerr);
			buf_adds(b, "</div>");
		}
		last_exit_line(b, p);
		probe_lines(b, p);
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody></table>\n<p class=\"sub\">Read-only. Also: "
	    "<a href=\"/metrics\">/metrics</a> (Prometheus), "
	    "<a href=\"/status.json\">/status.json</a>.</p>\n"
	    "</body></html>\n");
}
