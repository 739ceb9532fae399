/*
 * tcp: a connect to host:port (pool modules on 18080/8082/8000), optionally
 * sending a few bytes and expecting a substring of the answer (ZooKeeper:
 * send "ruok", expect "imok").
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "probe.h"
#include "util.h"

struct tcp_cfg {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*send;
	const char		*expect;
	json_t			*params;
};

struct tcp_op {
	ev_io		 io;
	int		 fd;
	int		 connected;
	size_t		 sent;
	char		 buf[512];
	size_t		 len;
	struct probe	*p;
};

static const char *const tcp_keys[] = { "host", "port", "send", "expect",
    NULL };

static void
tcp_free_config(void *arg)
{
	struct tcp_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

static void *
tcp_parse(const json_t *o, const char **key, char **err)
{
	struct tcp_cfg		*c;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const char		*host = "127.0.0.1";
	long long		 port = -1;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	if (probe_param_check_keys(o, tcp_keys, key, err) == -1 ||
	    probe_param_string(o, "host", 0, &host, key, err) == -1 ||
	    probe_param_int(o, "port", 1, 65535, &port, key, err) == -1 ||
	    probe_param_string(o, "send", 0, &c->send, key, err) == -1 ||
	    probe_param_string(o, "expect", 0, &c->expect, key, err) == -1)
		goto fail;
	if (port == -1) {
		*key = "port";
		xasprintf(err, "port is required");
		goto fail;
	}
	sin = (struct sockaddr_in *)&c->ss;
	sin6 = (struct sockaddr_in6 *)&c->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		c->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		c->sslen = sizeof(*sin6);
	} else {
		/* Names would need a resolver that does not block. */
		*key = "host";
		xasprintf(err, "host must be an IPv4 or IPv6 address");
		goto fail;
	}
	return (c);
fail:
	tcp_free_config(c);
	return (NULL);
}

static void
tcp_close(struct tcp_op *op)
{
	ev_io_stop(EV_DEFAULT, &op->io);
	close(op->fd);
	free(op);
}

static void
tcp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_op	*op = w->data;
	struct probe	*p = op->p;
	struct tcp_cfg	*c = p->cfg->kcfg;
	int		 e = 0;
	socklen_t	 el = sizeof(e);
	ssize_t		 n;

	(void)loop;
	(void)revents;
	if (!op->connected) {
		getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e != 0) {
			p->op = NULL;
			tcp_close(op);
			probe_done(p, PROBE_FAIL, NULL, NULL, "connect: %s",
			    strerror(e));
			return;
		}
		op->connected = 1;
		if (c->send == NULL && c->expect == NULL) {
			p->op = NULL;
			tcp_close(op);
			probe_done(p, PROBE_OK, NULL, NULL, "connected");
			return;
		}
	}
	if (c->send != NULL && op->sent < strlen(c->send)) {
		n = send(op->fd, c->send + op->sent, strlen(c->send) - op->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			p->op = NULL;
			tcp_close(op);
			probe_done(p, PROBE_FAIL, NULL, NULL, "send: %s",
			    strerror(errno));
			return;
		}
		if (n > 0)
			op->sent += (size_t)n;
		if (op->sent == strlen(c->send)) {
			ev_io_stop(EV_DEFAULT, &op->io);
			ev_io_set(&op->io, op->fd, EV_READ);
			ev_io_start(EV_DEFAULT, &op->io);
		}
		return;
	}
	n = recv(op->fd, op->buf + op->len, sizeof(op->buf) - 1 - op->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		op->len += (size_t)n;
		op->buf[op->len] = '\0';
		if (c->expect == NULL || strstr(op->buf, c->expect) != NULL) {
			p->op = NULL;
			tcp_close(op);
			probe_done(p, PROBE_OK, NULL, NULL, "answered");
			return;
		}
		if (op->len < sizeof(op->buf) - 1)
			return;
	}
	p->op = NULL;
	tcp_close(op);
	probe_done(p, PROBE_FAIL, NULL, NULL, "answer did not contain \"%s\"",
	    c->expect != NULL ? c->expect : "");
}

static void
tcp_run(struct probe *p)
{
	struct tcp_cfg	*c = p->cfg->kcfg;
	struct tcp_op	*op;
	int		 fd;

	fd = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "socket: %s",
		    strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&c->ss, c->sslen) == -1 &&
	    errno != EINPROGRESS) {
		probe_done(p, PROBE_FAIL, NULL, NULL, "connect: %s",
		    strerror(errno));
		close(fd);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->fd = fd;
	op->p = p;
	ev_io_init(&op->io, tcp_io_cb, fd, EV_WRITE);
	op->io.data = op;
	ev_io_start(EV_DEFAULT, &op->io);
	p->op = op;
}

static void
tcp_cancel(struct probe *p)
{
	if (p->op != NULL)
		tcp_close(p->op);
	p->op = NULL;
}

const struct probe_kind probe_kind_tcp = {
	.name = "tcp",
	.parse = tcp_parse,
	.free_config = tcp_free_config,
	.run = tcp_run,
	.cancel = tcp_cancel,
	.reset = NULL,
};
