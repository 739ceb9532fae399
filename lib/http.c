/*
 * HTTP for probes, actions and alerts: one libcurl multi handle driven by
 * libev socket and timer watchers (curl's "multi_socket" API), so requests
 * never block the loop.  A request's callback always runs from a watcher
 * callback, never from inside http_request(); http_cancel() drops a request
 * without calling it.
 */
#include "autoconf.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "http.h"
#include "log.h"
#include "util.h"

struct http_req {
	CURL		*easy;
	struct curl_slist *headers;
	char		*buf;
	size_t		 len;
	size_t		 size;
	size_t		 max;
	int		 toolarge;
	char		 errbuf[CURL_ERROR_SIZE];
	http_done_cb	 cb;
	void		*arg;
};

struct http_sock {
	ev_io		 io;
	curl_socket_t	 fd;
};

static CURLM		*multi;
static ev_timer		 multi_timer;
static unsigned int	 active;

static void
check_done(void)
{
	CURLMsg			*m;
	struct http_req		*r;
	struct http_reply	 rep;
	int			 left;
	char			*err;
	double			 t = 0;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &err);
		r = (struct http_req *)err;
		memset(&rep, 0, sizeof(rep));
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &rep.status);
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &t);
		rep.elapsed_ms = t * 1000.0;
		if (r->toolarge)
			rep.error = "reply too large";
		else if (m->data.result != CURLE_OK)
			rep.error = r->errbuf[0] != '\0' ? r->errbuf :
			    curl_easy_strerror(m->data.result);
		rep.body = r->buf != NULL ? r->buf : "";
		rep.len = r->len;
		curl_multi_remove_handle(multi, r->easy);
		active--;
		r->cb(r->arg, &rep);
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r->buf);
		free(r);
	}
}

static void
sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int	 running, action = 0;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, w->fd, action, &running);
	check_done();
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 running;

	(void)loop;
	(void)w;
	(void)revents;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

/* curl tells which events a socket needs. */
static int
multi_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct http_sock	*hs = sockp;
	int			 ev = 0;

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			ev_io_stop(EV_DEFAULT, &hs->io);
			free(hs);
			curl_multi_assign(multi, s, NULL);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (hs == NULL) {
		hs = xcalloc(1, sizeof(*hs));
		hs->fd = s;
		curl_multi_assign(multi, s, hs);
	} else
		ev_io_stop(EV_DEFAULT, &hs->io);
	ev_io_init(&hs->io, sock_cb, s, ev);
	hs->io.data = hs;
	ev_io_start(EV_DEFAULT, &hs->io);
	return (0);
}

/* curl asks for a timeout; it is only armed here, never run inline. */
static int
multi_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	ev_timer_stop(EV_DEFAULT, &multi_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&multi_timer, (ev_tstamp)timeout_ms / 1000.0, 0.);
		ev_timer_start(EV_DEFAULT, &multi_timer);
	}
	return (0);
}

/*
 * libcurl keeps copies of URLs, bodies and headers, which may hold a
 * secret: every block it frees is wiped first.
 */
static void
http_wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *
http_wipe_realloc(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return (malloc(n));
	if (n == 0) {
		http_wipe_free(p);
		return (NULL);
	}
	if ((q = malloc(n)) == NULL)
		return (NULL);
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	http_wipe_free(p);
	return (q);
}

int
http_init(void)
{
	if (multi != NULL)
		return (0);
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, http_wipe_free,
	    http_wipe_realloc, strdup, calloc) != 0) {
		log_warnx("curl_global_init failed");
		return (-1);
	}
	if ((multi = curl_multi_init()) == NULL) {
		log_warnx("curl_multi_init failed");
		return (-1);
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	ev_timer_init(&multi_timer, timer_cb, 0., 0.);
	return (0);
}

void
http_shutdown(void)
{
	if (multi == NULL)
		return;
	ev_timer_stop(EV_DEFAULT, &multi_timer);
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*r = arg;
	size_t		 n = size * nmemb;

	if (r->len + n > r->max) {
		r->toolarge = 1;
		return (0);	/* aborts the transfer */
	}
	if (r->len + n + 1 > r->size) {
		r->size = (r->len + n + 1) * 2;
		if (r->size > r->max + 1)
			r->size = r->max + 1;
		r->buf = xreallocarray(r->buf, r->size, 1);
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return (n);
}

/*
 * Start a request; cb runs later from the loop with the reply or error.
 * Returns NULL (and calls nothing) if the request could not be made.
 */
struct http_req *
http_request(const char *url, const struct http_opts *o, http_done_cb cb,
    void *arg)
{
	struct http_req	*r;
	const char	*const *h;
	char		*ct;

	if (multi == NULL && http_init() == -1)
		return (NULL);
	r = xcalloc(1, sizeof(*r));
	if ((r->easy = curl_easy_init()) == NULL) {
		free(r);
		return (NULL);
	}
	r->cb = cb;
	r->arg = arg;
	r->max = o->max_body > 0 ? o->max_body : 1024 * 1024;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
	    o->timeout_ms > 0 ? o->timeout_ms : 10000L);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    o->timeout_ms > 0 ? o->timeout_ms : 10000L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "chainkeeper/"
	    PACKAGE_VERSION);
	if (o->userpwd != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(r->easy, CURLOPT_USERPWD, o->userpwd);
	}
	if (o->body != NULL) {
		/* Copied: callers free the body once the request is made. */
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(o->body));
		curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->body);
	}
	if (o->method != NULL)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, o->method);
	if (o->content_type != NULL) {
		xasprintf(&ct, "Content-Type: %s", o->content_type);
		r->headers = curl_slist_append(r->headers, ct);
		free(ct);
	}
	for (h = o->headers; h != NULL && *h != NULL; h++)
		r->headers = curl_slist_append(r->headers, *h);
	/* No "Expect: 100-continue" round trip on POST. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r);
		return (NULL);
	}
	active++;
	return (r);
}

/* Drop a request in flight; its callback is not called. */
void
http_cancel(struct http_req *r)
{
	if (r == NULL)
		return;
	curl_multi_remove_handle(multi, r->easy);
	active--;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->buf);
	free(r);
}

unsigned int
http_active(void)
{
	return (active);
}
