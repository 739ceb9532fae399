/*
 * The control socket: a Unix stream socket speaking newline-delimited JSON.
 * A request is one object, at most CONTROL_MAX_REQUEST bytes:
 *	{"v":1,"cmd":"start","args":["nodeos"],"wait":true}
 * and every reply carries "v" and "ok".  Each connection is checked with
 * SO_PEERCRED when accepted: root, chainkeeperd's own uid and members of
 * control.group are served, anybody else gets one refusal and is closed.
 * start, stop and restart reply once their programs have settled, which
 * control_evaluate() checks whenever a program changed state.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "alert.h"
#include "chainkeeperd.h"
#include "control.h"
#include "failover-eos.h"
#include "journal.h"
#include "log.h"
#include "logpipe.h"
#include "probe.h"
#include "program.h"
#include "state.h"
#include "util.h"

#define OP_NONE		0
#define OP_START	1
#define OP_STOP		2
#define OP_RESTART	3

/*
 * The control socket never takes the last CONTROL_FD_RESERVE descriptors:
 * spawns, log files and probes need them.  Up to CONTROL_FD_FEW clients are
 * still served then, so that an operator can look.  The backlog holds a
 * burst of clients while the loop is busy: non-blocking connect()s to a
 * full one fail with EAGAIN (the kernel caps it at net.core.somaxconn).
 */
#define CONTROL_FD_RESERVE	64
#define CONTROL_FD_FEW		4
#define CONTROL_BACKLOG		4096

/*
 * A client's input buffer grows on need, from CONTROL_IN_FIRST bytes up to
 * one request, and is freed when empty.  One request per client is handled
 * per loop pass, so that a pipelining client cannot hold the loop.
 */
#define CONTROL_IN_FIRST	4096

/*
 * Refused connections are logged once per peer uid per
 * CONTROL_REFUSE_WINDOW seconds, with a count of the rest; at most
 * CONTROL_REFUSE_UIDS uids are told apart, the others are counted together.
 */
#define CONTROL_REFUSE_WINDOW	60.
#define CONTROL_REFUSE_UIDS	64

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS		59
#endif

struct target {
	char		*name;
	unsigned int	 runs;		/* p->runs when asked */
	int		 done;
	json_t		*result;	/* owned */
};

struct client {
	LIST_ENTRY(client) entry;
	int		 fd;
	ev_io		 rio;
	ev_io		 wio;
	ev_timer	 idle;		/* control.idle_timeout */
	uid_t		 uid;
	pid_t		 pid;
	char		*in;		/* NULL until data comes */
	size_t		 inlen;
	size_t		 insize;
	ev_idle		 more;		/* requests left in the buffer */
	char		*out;
	size_t		 outlen;
	size_t		 outsize;
	int		 closing;	/* close once out is flushed */
	int		 op;		/* pending start/stop/restart */
	struct target	*targets;
	size_t		 ntargets;
	struct logfile	*follow;	/* tail -f */
};

struct command {
	const char	*name;
	int		 min_args;
	int		 max_args;	/* -1: any */
	void		(*fn)(struct client *, json_t *, json_t *);
};

static int			 listen_fd = -1;
static ev_io			 listen_io;
static ev_timer			 accept_pause;	/* after EMFILE */
static char			*listen_path;
static gid_t			 allowed_gid;
static int			 have_group;
static double			 idle_timeout;	/* seconds; 0: none */
static LIST_HEAD(, client)	 clients = LIST_HEAD_INITIALIZER(clients);
static size_t			 nclients;
static int			 starved;	/* short of descriptors */
static ev_tstamp		 starved_since;
static unsigned long		 starved_refused;

struct refusal {
	uid_t		 uid;		/* (uid_t)-1: the other uids */
	ev_tstamp	 since;		/* the line logged */
	unsigned long	 more;		/* refused since, not logged */
};
static struct refusal		 refusals[CONTROL_REFUSE_UIDS];
static size_t			 nrefusals;
static ev_timer			 refusal_timer;

static void	client_free(struct client *);
static void	client_write_cb(struct ev_loop *, ev_io *, int);

/* Queue one JSON line for the client; steals the reference. */
static void
client_send(struct client *c, json_t *msg)
{
	char	*s;
	size_t	 len;

	if (msg == NULL) {
		/* Never: every string sent is valid UTF-8.  But not fatal. */
		log_warnx("control: a reply could not be built");
		msg = json_pack("{s:b,s:s,s:s}", "ok", 0, "code", "internal",
		    "error", "internal error: reply could not be built");
	}
	json_object_set_new(msg, "v", json_integer(CONTROL_PROTOCOL));
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL) {
		log_warnx("control: a reply could not be encoded");
		return;
	}
	len = strlen(s);
	if (c->outlen + len + 1 > CONTROL_MAX_OUTPUT) {
		log_warnx("control: client pid %ld does not read its replies: "
		    "closing it", (long)c->pid);
		free(s);
		c->closing = 1;
		c->outlen = 0;
		shutdown(c->fd, SHUT_RDWR);
		ev_io_start(EV_DEFAULT, &c->wio);
		return;
	}
	if (c->outlen + len + 1 > c->outsize) {
		c->outsize = (c->outlen + len + 1) * 2;
		c->out = xreallocarray(c->out, c->outsize, 1);
	}
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(s);
	ev_io_start(EV_DEFAULT, &c->wio);
}

static void
reply_error(struct client *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(struct client *c, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	client_send(c, json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code,
	    "error", msg));
	free(msg);
}

static void
reply_ok(struct client *c, json_t *result)
{
	client_send(c, json_pack("{s:b,s:o}", "ok", 1, "result",
	    result != NULL ? result : json_null()));
}

/* The program names in args, or every program for "all". */
static int
resolve(struct client *c, json_t *args, struct program ***out, size_t *n)
{
	struct program	**v = NULL, *p;
	size_t		  i, k = 0, cnt = 0;
	json_t		 *a;
	const char	 *name;

	*out = NULL;
	*n = 0;
	TAILQ_FOREACH(p, &programs, entry)
		cnt++;
	json_array_foreach(args, i, a) {
		if ((name = json_string_value(a)) == NULL) {
			reply_error(c, "usage", "program names must be "
			    "strings");
			free(v);
			return (-1);
		}
		if (strcmp(name, "all") == 0) {
			v = xreallocarray(v, k + cnt + 1, sizeof(*v));
			TAILQ_FOREACH(p, &programs, entry)
				if (!p->removed)
					v[k++] = p;
			continue;
		}
		if ((p = program_find(name)) == NULL || p->removed) {
			reply_error(c, "unknown", "no such program: %s", name);
			free(v);
			return (-1);
		}
		v = xreallocarray(v, k + 1, sizeof(*v));
		v[k++] = p;
	}
	*out = v;
	*n = k;
	return (0);
}

static void
cmd_status(struct client *c, json_t *req, json_t *args)
{
	struct program	**v, *p;
	size_t		  n, i;
	json_t		 *arr;

	(void)req;
	arr = json_array();
	if (json_array_size(args) == 0) {
		TAILQ_FOREACH(p, &programs, entry)
			json_array_append_new(arr, program_status_json(p));
	} else {
		if (resolve(c, args, &v, &n) == -1) {
			json_decref(arr);
			return;
		}
		for (i = 0; i < n; i++)
			json_array_append_new(arr, program_status_json(v[i]));
		free(v);
	}
	reply_ok(c, arr);
}

/* Whether a pending target has settled; sets its result when it has. */
static int
target_settled(struct client *c, struct target *t)
{
	struct program	*p;
	const char	*err = NULL;
	char		 why[256];

	if (t->done)
		return (1);
	if ((p = program_find(t->name)) == NULL || p->removed)
		err = "removed from the configuration";
	else if (c->op == OP_STOP) {
		if (!program_is_stopped(p))
			return (0);
	} else {
		if (c->op == OP_RESTART && p->runs == t->runs)
			if (p->state != PROGRAM_FATAL &&
			    p->state != PROGRAM_BACKOFF && !p->waiting)
				return (0);
		switch (p->state) {
		case PROGRAM_RUNNING:
			break;
		case PROGRAM_STARTING:
		case PROGRAM_STOPPING:
			return (0);
		case PROGRAM_BACKOFF:
			err = "exited too quickly; retrying (BACKOFF)";
			if (p->resfails > 0 && p->spawnerr != NULL) {
				snprintf(why, sizeof(why), "%s; retrying "
				    "until the host has it again (BACKOFF)",
				    p->spawnerr);
				err = why;
			}
			break;
		case PROGRAM_FATAL:
			err = "could not be started (FATAL)";
			break;
		case PROGRAM_EXITED:
			err = "exited";
			break;
		default:
			if (!p->waiting)
				err = "stopped";
			break;
		}
	}
	t->done = 1;
	t->result = p != NULL ? program_status_json(p) :
	    json_pack("{s:s}", "name", t->name);
	json_object_set_new(t->result, "ok", json_boolean(err == NULL));
	if (err != NULL)
		json_object_set_new(t->result, "error", json_string(err));
	return (1);
}

static void
client_clear_targets(struct client *c)
{
	size_t	 i;

	for (i = 0; i < c->ntargets; i++) {
		free(c->targets[i].name);
		json_decref(c->targets[i].result);
	}
	free(c->targets);
	c->targets = NULL;
	c->ntargets = 0;
	c->op = OP_NONE;
}

/* Reply to a pending start/stop/restart once all its targets settled. */
static void
client_check_pending(struct client *c)
{
	json_t	*arr;
	size_t	 i;
	int	 ok = 1;

	if (c->op == OP_NONE)
		return;
	for (i = 0; i < c->ntargets; i++)
		if (!target_settled(c, &c->targets[i]))
			return;
	arr = json_array();
	for (i = 0; i < c->ntargets; i++) {
		if (!json_is_true(json_object_get(c->targets[i].result,
		    "ok")))
			ok = 0;
		json_array_append(arr, c->targets[i].result);
	}
	client_clear_targets(c);
	client_send(c, json_pack("{s:b,s:o}", "ok", ok, "result", arr));
}

/* Re-check every waiting request (a program changed state). */
void
control_evaluate(void)
{
	struct client	*c;

	LIST_FOREACH(c, &clients, entry)
		client_check_pending(c);
}

int
control_pending(void)
{
	struct client	*c;

	LIST_FOREACH(c, &clients, entry)
		if (c->op != OP_NONE)
			return (1);
	return (0);
}

static void
cmd_startstop(struct client *c, json_t *req, json_t *args, int op)
{
	struct program	**v;
	size_t		  n, i;
	json_t		 *w;

	if (resolve(c, args, &v, &n) == -1)
		return;
	if (daemon_shutting_down() && op != OP_STOP) {
		free(v);
		reply_error(c, "shutdown", "chainkeeperd is shutting down");
		return;
	}
	c->op = op;
	c->targets = xcalloc(n, sizeof(*c->targets));
	c->ntargets = n;
	for (i = 0; i < n; i++) {
		c->targets[i].name = xstrdup(v[i]->pc->name);
		c->targets[i].runs = v[i]->runs;
	}
	for (i = 0; i < n; i++) {
		switch (op) {
		case OP_START:
			daemon_admin_start(v[i]);
			break;
		case OP_STOP:
			daemon_admin_stop(v[i]);
			break;
		case OP_RESTART:
			/* Restart first: a stopped program starts once. */
			program_restart(v[i]);
			daemon_admin_start(v[i]);	/* forget a hand stop */
			break;
		}
	}
	free(v);
	w = json_object_get(req, "wait");
	if (w != NULL && json_is_false(w))
		for (i = 0; i < c->ntargets; i++) {
			c->targets[i].done = 1;
			c->targets[i].result = json_pack("{s:s,s:b}", "name",
			    c->targets[i].name, "ok", 1);
		}
	client_check_pending(c);
}

static void
cmd_start(struct client *c, json_t *req, json_t *args)
{
	cmd_startstop(c, req, args, OP_START);
}

static void
cmd_stop(struct client *c, json_t *req, json_t *args)
{
	cmd_startstop(c, req, args, OP_STOP);
}

static void
cmd_restart(struct client *c, json_t *req, json_t *args)
{
	cmd_startstop(c, req, args, OP_RESTART);
}

static void
cmd_signal(struct client *c, json_t *req, json_t *args)
{
	struct program	**v;
	size_t		  n, i;
	const char	 *s;
	json_t		 *arr, *rest, *r;
	int		  sig, ok = 1;

	(void)req;
	s = json_string_value(json_array_get(args, 0));
	if (s == NULL || (sig = parse_signal(s)) == -1) {
		reply_error(c, "usage", "unknown signal: %s",
		    s != NULL ? s : "(none)");
		return;
	}
	rest = json_array();
	for (i = 1; i < json_array_size(args); i++)
		json_array_append(rest, json_array_get(args, i));
	if (resolve(c, rest, &v, &n) == -1) {
		json_decref(rest);
		return;
	}
	json_decref(rest);
	arr = json_array();
	for (i = 0; i < n; i++) {
		r = json_pack("{s:s}", "name", v[i]->pc->name);
		if (program_signal(v[i], sig) == -1) {
			json_object_set_new(r, "ok", json_false());
			json_object_set_new(r, "error", json_string(errno ==
			    ESRCH ? "not running" : strerror(errno)));
			ok = 0;
		} else {
			log_info("%s: sent SIG%s to pid %ld (control)",
			    v[i]->pc->name, signal_name(sig), (long)v[i]->pid);
			json_object_set_new(r, "ok", json_true());
		}
		json_array_append_new(arr, r);
	}
	free(v);
	client_send(c, json_pack("{s:b,s:o}", "ok", ok, "result", arr));
}

static void
cmd_pid(struct client *c, json_t *req, json_t *args)
{
	struct program	**v;
	size_t		  n, i;
	json_t		 *arr;

	(void)req;
	if (json_array_size(args) == 0) {
		reply_ok(c, json_pack("{s:I}", "pid", (json_int_t)getpid()));
		return;
	}
	if (resolve(c, args, &v, &n) == -1)
		return;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I}", "name",
		    v[i]->pc->name, "pid", (json_int_t)v[i]->pid));
	free(v);
	reply_ok(c, arr);
}

/* Program output as a data reply: made valid UTF-8 first. */
static void
client_send_data(struct client *c, const char *buf, size_t len,
    const char *path)
{
	char	*copy;

	copy = xmalloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	utf8_sanitize(copy, len);
	client_send(c, json_pack("{s:b,s:s%,s:s?}", "ok", 1, "data", copy,
	    len, "path", path));
	free(copy);
}

/* tail -f: new output of the followed stream, as it is captured. */
static void
client_follow_cb(void *arg, const char *buf, size_t len)
{
	struct client	*c = arg;

	if (buf == NULL) {
		c->follow = NULL;
		client_send(c, json_pack("{s:b,s:b}", "ok", 1, "eof", 1));
		c->closing = 1;
		return;
	}
	if (c->closing)
		return;
	client_send_data(c, buf, len, NULL);
}

static void
cmd_tail(struct client *c, json_t *req, json_t *args)
{
	struct program	*p;
	struct logfile	*lf;
	const char	*name, *stream = "stdout";
	char		*buf;
	size_t		 len;
	json_int_t	 bytes = 1600;

	name = json_string_value(json_array_get(args, 0));
	if (json_array_size(args) > 1)
		stream = json_string_value(json_array_get(args, 1));
	if (name == NULL || stream == NULL || (strcmp(stream, "stdout") != 0 &&
	    strcmp(stream, "stderr") != 0)) {
		reply_error(c, "usage", "usage: tail [-f] NAME [stdout|stderr]");
		return;
	}
	if ((p = program_find(name)) == NULL || p->removed) {
		reply_error(c, "unknown", "no such program: %s", name);
		return;
	}
	if (json_is_integer(json_object_get(req, "bytes")))
		bytes = json_integer_value(json_object_get(req, "bytes"));
	if (bytes < 0 || bytes > 1024 * 1024)
		bytes = 1024 * 1024;
	if (strcmp(stream, "stderr") == 0 && p->pc->redirect_stderr) {
		reply_error(c, "nolog", "%s: stderr goes to stdout "
		    "(redirect_stderr)", name);
		return;
	}
	lf = strcmp(stream, "stdout") == 0 ? p->out : p->err;
	if (lf == NULL) {
		if ((strcmp(stream, "stdout") == 0 ? p->pc->out.path :
		    p->pc->err.path) == NULL)
			reply_error(c, "nolog", "%s: %s is not logged (NONE)",
			    name, stream);
		else
			reply_error(c, "nolog", "%s: no %s captured yet",
			    name, stream);
		return;
	}
	if (logfile_tail(lf, (size_t)bytes, &buf, &len) == -1) {
		buf = NULL;
		len = 0;
	}
	client_send_data(c, buf != NULL ? buf : "", len, logfile_path(lf));
	free(buf);
	if (json_is_true(json_object_get(req, "follow"))) {
		c->follow = lf;
		logfile_subscribe(lf, client_follow_cb, c);
	} else
		client_send(c, json_pack("{s:b,s:b}", "ok", 1, "eof", 1));
}

static void
cmd_reload(struct client *c, json_t *req, json_t *args)
{
	char	*errors = NULL;
	json_t	*r;

	(void)req;
	(void)args;
	if ((r = daemon_reload(&errors)) == NULL) {
		client_send(c, json_pack("{s:b,s:s,s:s}", "ok", 0, "code",
		    "config", "error", errors != NULL ? errors :
		    "reload failed"));
		free(errors);
		return;
	}
	reply_ok(c, r);
}

static void
cmd_reexec(struct client *c, json_t *req, json_t *args)
{
	char	*err;

	(void)req;
	(void)args;
	if (daemon_reexec_request(&err) == -1) {
		reply_error(c, "reexec", "%s", err);
		free(err);
		return;
	}
	reply_ok(c, NULL);
}

static void
cmd_shutdown(struct client *c, json_t *req, json_t *args)
{
	(void)req;
	(void)args;
	reply_ok(c, NULL);
	daemon_shutdown("shutdown requested over the control socket");
}

static void
cmd_version(struct client *c, json_t *req, json_t *args)
{
	(void)req;
	(void)args;
	reply_ok(c, json_pack("{s:s,s:i}", "version", PACKAGE_VERSION,
	    "protocol", CONTROL_PROTOCOL));
}

/* The probes of programs with their recent history. */
static void
cmd_probes(struct client *c, json_t *req, json_t *args)
{
	struct program	**v;
	size_t		  n, i, j;
	json_t		 *arr, *pr;

	(void)req;
	if (resolve(c, args, &v, &n) == -1)
		return;
	arr = json_array();
	for (i = 0; i < n; i++) {
		pr = json_array();
		for (j = 0; j < v[i]->nprobes; j++)
			json_array_append_new(pr,
			    probe_status_json(v[i]->probes[j], 1));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:o}",
		    "name", v[i]->pc->name, "state",
		    program_state_name(v[i]->state), "health",
		    program_health(v[i]), "probes", pr));
	}
	free(v);
	reply_ok(c, arr);
}

/* hold NAME... DURATION: pause the rules of programs (maintenance). */
static void
cmd_hold(struct client *c, json_t *req, json_t *args)
{
	struct program	**v;
	size_t		  n, i;
	const char	 *d, *err;
	int64_t		  ms;
	json_t		 *names, *arr;
	time_t		  until;

	(void)req;
	d = json_string_value(json_array_get(args, json_array_size(args) - 1));
	if (d == NULL || parse_duration(d, &ms, &err) == -1 || ms <= 0) {
		reply_error(c, "usage", "usage: hold NAME... DURATION (such as "
		    "30m)");
		return;
	}
	names = json_array();
	for (i = 0; i + 1 < json_array_size(args); i++)
		json_array_append(names, json_array_get(args, i));
	if (resolve(c, names, &v, &n) == -1) {
		json_decref(names);
		return;
	}
	json_decref(names);
	until = time(NULL) + (time_t)((ms + 999) / 1000);
	arr = json_array();
	for (i = 0; i < n; i++) {
		v[i]->held_until = until;
		state_set_held_until(v[i]->pc->name, until);
		log_info("%s: rules held until %lld (%s)", v[i]->pc->name,
		    (long long)until, d);
		json_array_append_new(arr, json_pack("{s:s,s:I}", "name",
		    v[i]->pc->name, "held_until", (json_int_t)until));
	}
	free(v);
	reply_ok(c, arr);
}

static void
cmd_release(struct client *c, json_t *req, json_t *args)
{
	struct program	**v;
	size_t		  n, i;
	json_t		 *arr;

	(void)req;
	if (resolve(c, args, &v, &n) == -1)
		return;
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (v[i]->held_until != 0)
			log_info("%s: rules released", v[i]->pc->name);
		v[i]->held_until = 0;
		state_set_held_until(v[i]->pc->name, 0);
		/* Also acknowledges actions a crash interrupted. */
		journal_append(json_pack("{s:s,s:s}", "event", "ack",
		    "program", v[i]->pc->name), 1);
		json_array_append_new(arr, json_pack("{s:s}", "name",
		    v[i]->pc->name));
	}
	free(v);
	reply_ok(c, arr);
}

/* history [NAME]: the journal of rule firings and actions. */
static void
cmd_history(struct client *c, json_t *req, json_t *args)
{
	const char	*name = json_string_value(json_array_get(args, 0));
	json_int_t	 max = 50;

	if (name != NULL && (program_find(name) == NULL)) {
		reply_error(c, "unknown", "no such program: %s", name);
		return;
	}
	if (json_is_integer(json_object_get(req, "count")))
		max = json_integer_value(json_object_get(req, "count"));
	if (max < 1 || max > 2000)
		max = 2000;
	reply_ok(c, journal_recent(name, (size_t)max));
}

/* failover NAME [pause|auto|handback|resume]: EOS producer failover. */
static void
cmd_failover(struct client *c, json_t *req, json_t *args)
{
	struct program	*p;
	const char	*name, *sub;
	char		*err;

	(void)req;
	name = json_string_value(json_array_get(args, 0));
	sub = json_string_value(json_array_get(args, 1));
	if (name == NULL || (p = program_find(name)) == NULL || p->removed) {
		reply_error(c, "unknown", "no such program: %s",
		    name != NULL ? name : "(none)");
		return;
	}
	if (p->pc->eos_failover == NULL) {
		reply_error(c, "usage", "%s has no eos_failover", name);
		return;
	}
	if (sub != NULL && eosfo_command(p, sub, &err) == -1) {
		reply_error(c, "usage", "%s", err);
		free(err);
		return;
	}
	reply_ok(c, eosfo_status_json(p));
}

/*
 * alerts [-n N]: recent alerts and their delivery per sink; alerts test
 * [SINK...] sends a test alert, alerts summary the daily summary now.
 */
static void
cmd_alerts(struct client *c, json_t *req, json_t *args)
{
	const char	*sub = json_string_value(json_array_get(args, 0));
	const char	*msg = json_string_value(json_object_get(req, "message"));
	json_int_t	 max = 20;
	json_t		*names;
	char		*err;
	size_t		 i;
	int		 id;

	if (sub == NULL) {
		if (json_is_integer(json_object_get(req, "count")))
			max = json_integer_value(json_object_get(req, "count"));
		if (max < 1 || max > 1000)
			max = 1000;
		reply_ok(c, alerts_status_json((size_t)max));
		return;
	}
	if (strcmp(sub, "test") == 0) {
		names = json_array();
		for (i = 1; i < json_array_size(args); i++)
			json_array_append(names, json_array_get(args, i));
		id = alerts_send_test(msg, names, &err);
		json_decref(names);
	} else if (strcmp(sub, "summary") == 0 && json_array_size(args) == 1)
		id = alerts_send_summary(&err);
	else {
		reply_error(c, "usage", "usage: alerts [-n count] | alerts test "
		    "[sink...] | alerts summary");
		return;
	}
	if (id == -1) {
		reply_error(c, "failed", "%s", err);
		free(err);
		return;
	}
	reply_ok(c, json_pack("{s:i}", "id", id));
}

static const struct command commands[] = {
	{ "alerts", 0, -1, cmd_alerts },
	{ "failover", 1, 2, cmd_failover },
	{ "hold", 2, -1, cmd_hold },
	{ "release", 1, -1, cmd_release },
	{ "history", 0, 1, cmd_history },
	{ "probes", 1, -1, cmd_probes },
	{ "status", 0, -1, cmd_status },
	{ "start", 1, -1, cmd_start },
	{ "stop", 1, -1, cmd_stop },
	{ "restart", 1, -1, cmd_restart },
	{ "signal", 2, -1, cmd_signal },
	{ "pid", 0, -1, cmd_pid },
	{ "tail", 1, 2, cmd_tail },
	{ "reload", 0, 0, cmd_reload },
	{ "shutdown", 0, 0, cmd_shutdown },
	{ "reexec", 0, 0, cmd_reexec },
	{ "version", 0, 0, cmd_version },
};

/*
 * Parse and check one request line: a JSON object speaking our protocol
 * version, with a known "cmd" and an "args" array of that command's arity.
 * Returns the command's index in the command table and sets *reqp and
 * *argsp (new references) and *cmdp (into *reqp); or returns -1 with *codep
 * (static) and *errp (allocated) set.  Pure: no I/O, no state.
 */
int
control_parse(const char *line, size_t len, json_t **reqp, const char **cmdp,
    json_t **argsp, const char **codep, char **errp)
{
	json_t		*req, *args, *v;
	json_error_t	 err;
	const char	*cmd;
	size_t		 i, nargs;

	*reqp = *argsp = NULL;
	*cmdp = NULL;
	*codep = "protocol";
	*errp = NULL;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (req == NULL || !json_is_object(req)) {
		xasprintf(errp, "request is not a JSON object: %s",
		    req == NULL ? err.text : "wrong type");
		json_decref(req);
		return (-1);
	}
	v = json_object_get(req, "v");
	if (!json_is_integer(v) || json_integer_value(v) != CONTROL_PROTOCOL) {
		xasprintf(errp, "protocol version %s not supported "
		    "(this chainkeeperd speaks %d)", json_is_integer(v) ?
		    "given" : "missing", CONTROL_PROTOCOL);
		json_decref(req);
		return (-1);
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	args = json_object_get(req, "args");
	if (args == NULL)
		args = json_array();
	else if (!json_is_array(args)) {
		xasprintf(errp, "args must be an array");
		json_decref(req);
		return (-1);
	} else
		json_incref(args);
	nargs = json_array_size(args);
	*codep = "usage";
	for (i = 0; cmd != NULL && i < sizeof(commands) / sizeof(commands[0]);
	    i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if ((int)nargs < commands[i].min_args ||
		    (commands[i].max_args != -1 &&
		    (int)nargs > commands[i].max_args))
			break;
		*reqp = req;
		*cmdp = cmd;
		*argsp = args;
		return ((int)i);
	}
	if (cmd != NULL && i < sizeof(commands) / sizeof(commands[0]))
		xasprintf(errp, "%s: wrong number of arguments", cmd);
	else
		xasprintf(errp, "unknown command: %s",
		    cmd != NULL ? cmd : "(none)");
	json_decref(args);
	json_decref(req);
	return (-1);
}

/* Parse and run one request line. */
static void
client_request(struct client *c, const char *line, size_t len)
{
	json_t		*req, *args;
	const char	*cmd, *code;
	char		*err;
	int		 i;

	if (c->op != OP_NONE || c->follow != NULL) {
		reply_error(c, "busy", "one request at a time per connection");
		return;
	}
	if ((i = control_parse(line, len, &req, &cmd, &args, &code,
	    &err)) == -1) {
		reply_error(c, code, "%s", err);
		free(err);
		return;
	}
	log_debug("control: pid %ld uid %ld: %s", (long)c->pid, (long)c->uid,
	    cmd);
	commands[i].fn(c, req, args);
	json_decref(args);
	json_decref(req);
}

/* The client made progress: restart its idle timer. */
static void
client_touch(struct client *c)
{
	if (idle_timeout > 0) {
		c->idle.repeat = idle_timeout;
		ev_timer_again(EV_DEFAULT, &c->idle);
	} else
		ev_timer_stop(EV_DEFAULT, &c->idle);
}

/*
 * No progress for control.idle_timeout: close the connection, unless it
 * waits for a start, stop or restart or follows a log (the timer repeats).
 */
static void
client_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client	*c = w->data;

	(void)loop;
	(void)revents;
	if (c->op != OP_NONE || c->follow != NULL)
		return;
	if (c->inlen > 0)
		log_warnx("control: client pid %ld idle for %g s with half a "
		    "request (%zu bytes) read: closing it", (long)c->pid,
		    idle_timeout, c->inlen);
	else if (c->outlen > 0)
		log_warnx("control: client pid %ld idle for %g s, not reading "
		    "%zu bytes of replies: closing it", (long)c->pid,
		    idle_timeout, c->outlen);
	else
		log_warnx("control: client pid %ld idle for %g s without a "
		    "request: closing it", (long)c->pid, idle_timeout);
	client_free(c);
}

/*
 * Handle the first complete request in the buffer, if any; whether
 * another complete one follows it.
 */
static int
client_next(struct client *c)
{
	char	*nl;
	size_t	 used;

	if (c->closing || c->inlen == 0 ||
	    (nl = memchr(c->in, '\n', c->inlen)) == NULL)
		return (0);
	used = (size_t)(nl - c->in) + 1;
	client_request(c, c->in, used - 1);
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	if (c->inlen == 0) {
		free(c->in);
		c->in = NULL;
		c->insize = 0;
	}
	return (!c->closing && c->inlen > 0 &&
	    memchr(c->in, '\n', c->inlen) != NULL);
}

/*
 * One request handled; if more wait in the buffer, stop reading and come
 * back for them when the loop has nothing else to do.
 */
static void
client_pace(struct client *c)
{
	if (client_next(c)) {
		ev_io_stop(EV_DEFAULT, &c->rio);
		ev_idle_start(EV_DEFAULT, &c->more);
		return;
	}
	ev_idle_stop(EV_DEFAULT, &c->more);
	if (c->inlen > CONTROL_MAX_REQUEST) {
		reply_error(c, "toolarge", "request larger than %d bytes",
		    CONTROL_MAX_REQUEST);
		c->closing = 1;
		c->inlen = 0;
	}
	if (c->closing)
		ev_io_stop(EV_DEFAULT, &c->rio);
	else
		ev_io_start(EV_DEFAULT, &c->rio);
}

static void
client_more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)revents;
	client_pace(w->data);
}

static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client	*c = w->data;
	ssize_t		 n;
	size_t		 size;

	(void)loop;
	(void)revents;
	if (c->inlen == c->insize) {
		size = c->insize == 0 ? CONTROL_IN_FIRST : c->insize * 2;
		if (size > CONTROL_MAX_REQUEST + 1)
			size = CONTROL_MAX_REQUEST + 1;
		c->in = xreallocarray(c->in, size, 1);
		c->insize = size;
	}
	n = read(c->fd, c->in + c->inlen, c->insize - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	client_touch(c);
	c->inlen += (size_t)n;
	client_pace(c);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client	*c = w->data;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			client_free(c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
		client_touch(c);
	}
	ev_io_stop(EV_DEFAULT, &c->wio);
	if (c->closing)
		client_free(c);
}

static void
client_free(struct client *c)
{
	ev_io_stop(EV_DEFAULT, &c->rio);
	ev_io_stop(EV_DEFAULT, &c->wio);
	ev_idle_stop(EV_DEFAULT, &c->more);
	ev_timer_stop(EV_DEFAULT, &c->idle);
	if (c->follow != NULL)
		logfile_unsubscribe(c->follow, c);
	client_clear_targets(c);
	LIST_REMOVE(c, entry);
	nclients--;
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Whether a peer process is in the control group, from /proc. */
static int
peer_in_group_proc(pid_t pid, gid_t gid)
{
	char		 path[64], line[4096], *p, *end;
	FILE		*f;
	unsigned long	 g;
	int		 found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7; *p != '\n' && *p != '\0'; p = end) {
			g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if ((gid_t)g == gid)
				found = 1;
		}
		break;
	}
	fclose(f);
	return (found);
}

/*
 * Whether a peer is in the control group: from SO_PEERGROUPS, taken with
 * the connection, or from /proc on kernels older than 4.13.
 */
static int
peer_in_group(int fd, pid_t pid, gid_t gid)
{
	gid_t		 few[64], *v = few;
	socklen_t	 len = sizeof(few);
	size_t		 i, n;
	int		 found = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) == -1) {
		if (errno == ENOPROTOOPT)
			return (peer_in_group_proc(pid, gid));
		if (errno != ERANGE)
			return (0);
		v = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len) == -1) {
			free(v);
			return (0);
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n; i++)
		if (v[i] == gid)
			found = 1;
	if (v != few)
		free(v);
	return (found);
}

/*
 * Whether an accepted descriptor is among the last CONTROL_FD_RESERVE below
 * RLIMIT_NOFILE (read each time: prlimit(1) may change it).  Descriptors
 * below fd are all in use, as accept() returns the lowest free one.
 */
static int
fd_in_reserve(int fd, unsigned long long *limit)
{
	struct rlimit	 rl;

	*limit = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return (0);
	*limit = (unsigned long long)rl.rlim_cur;
	return ((unsigned long long)fd + CONTROL_FD_RESERVE >= *limit);
}

/* The first refusal or failed accept of an episode says so, once. */
static void
starved_begin(void)
{
	starved = 1;
	starved_since = ev_now(EV_DEFAULT);
	starved_refused = 0;
}

/* A client was taken below the reserve again: the episode is over. */
static void
starved_end(void)
{
	if (!starved)
		return;
	starved = 0;
	log_info("control: accepting new clients again, after %.1f s "
	    "(%lu refused)", ev_now(EV_DEFAULT) - starved_since,
	    starved_refused);
}

/*
 * Refuse a client, without reading its request, to keep the last
 * descriptors for the programs.  The reply fits any fresh socket buffer.
 */
static void
client_refuse(int fd, unsigned long long limit)
{
	static const char msg[] = "{\"ok\":false,\"code\":\"busy\","
	    "\"error\":\"chainkeeperd is short of file descriptors: try "
	    "again later\",\"v\":1}\n";

	if (!starved) {
		starved_begin();
		log_warnx("control: %d of %llu file descriptors in use: "
		    "refusing new clients beyond %zu, to keep the last %d "
		    "for the programs", fd + 1, limit, nclients,
		    CONTROL_FD_RESERVE);
	}
	starved_refused++;
	(void)write(fd, msg, sizeof(msg) - 1);
	close(fd);
}

/* Log the counts of windows that ended; forget quiet uids. */
static void
refusal_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);
	size_t		 i = 0;

	(void)loop;
	(void)w;
	(void)revents;
	while (i < nrefusals) {
		struct refusal	*r = &refusals[i];

		if (now - r->since < CONTROL_REFUSE_WINDOW) {
			i++;
			continue;
		}
		if (r->more > 0) {
			if (r->uid == (uid_t)-1)
				log_warnx("control: %lu more refused from "
				    "other uids in the last minute", r->more);
			else
				log_warnx("control: %lu more refused from "
				    "uid %ld in the last minute", r->more,
				    (long)r->uid);
			r->since = now;
			r->more = 0;
			i++;
			continue;
		}
		refusals[i] = refusals[--nrefusals];
	}
	if (nrefusals == 0)
		ev_timer_stop(EV_DEFAULT, &refusal_timer);
}

/*
 * Whether a refusal of uid should be logged: the first of a window is,
 * the rest are counted and summed up when the window ends.
 */
static int
refusal_log(uid_t uid)
{
	size_t	 i;

	for (i = 0; i < nrefusals; i++)
		if (refusals[i].uid == uid) {
			refusals[i].more++;
			return (0);
		}
	if (nrefusals == CONTROL_REFUSE_UIDS - 1 && uid != (uid_t)-1)
		return (refusal_log((uid_t)-1));
	refusals[nrefusals].uid = uid;
	refusals[nrefusals].since = ev_now(EV_DEFAULT);
	refusals[nrefusals].more = 0;
	nrefusals++;
	if (!ev_is_active(&refusal_timer)) {
		ev_timer_init(&refusal_timer, refusal_timer_cb, 5., 5.);
		ev_timer_start(EV_DEFAULT, &refusal_timer);
	}
	return (1);
}

/*
 * Tell a refused peer why, and close: its request is read and dropped
 * first, so that it gets the reply rather than a reset.
 */
static void
peer_refuse(int fd, const char *msg)
{
	char	 buf[4096];
	int	 i;

	(void)write(fd, msg, strlen(msg));
	(void)shutdown(fd, SHUT_WR);
	for (i = 0; i < 16; i++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
	close(fd);
}

static void
listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client		*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	unsigned long long	 limit;
	char			 msg[256];
	int			 fd;

	(void)loop;
	(void)revents;
	if ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/*
			 * The pending connection would make the socket
			 * readable forever: stop listening for a moment, and
			 * try again until a descriptor is free.
			 */
			if (!starved) {
				starved_begin();
				log_warn("control: accept failed, new clients "
				    "wait (retrying every 100 ms)");
			}
			ev_io_stop(EV_DEFAULT, &listen_io);
			ev_timer_set(&accept_pause, 0.1, 0.);
			ev_timer_start(EV_DEFAULT, &accept_pause);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (fd_in_reserve(fd, &limit)) {
		if (nclients >= CONTROL_FD_FEW) {
			client_refuse(fd, limit);
			return;
		}
	} else
		starved_end();
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		peer_refuse(fd, "{\"ok\":false,\"code\":\"denied\","
		    "\"error\":\"cannot check peer credentials\",\"v\":1}\n");
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid() && !(have_group &&
	    (cred.gid == allowed_gid || peer_in_group(fd, cred.pid,
	    allowed_gid)))) {
		if (refusal_log(cred.uid))
			log_warnx("control: refused pid %ld uid %ld gid %ld: "
			    "not root, not uid %ld and not in control.group "
			    "(more from this uid are counted for a minute)",
			    (long)cred.pid, (long)cred.uid, (long)cred.gid,
			    (long)geteuid());
		snprintf(msg, sizeof(msg), "{\"ok\":false,\"code\":\"denied\","
		    "\"error\":\"permission denied: uid %ld may not control "
		    "chainkeeperd\",\"v\":%d}\n", (long)cred.uid,
		    CONTROL_PROTOCOL);
		peer_refuse(fd, msg);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	ev_idle_init(&c->more, client_more_cb);
	ev_init(&c->idle, client_idle_cb);
	c->rio.data = c->wio.data = c->idle.data = c->more.data = c;
	LIST_INSERT_HEAD(&clients, c, entry);
	nclients++;
	client_touch(c);
	ev_io_start(EV_DEFAULT, &c->rio);
}

static void
accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (listen_fd != -1)
		ev_io_start(EV_DEFAULT, &listen_io);
}

/*
 * Open the socket's folder, made 0755 if missing, and check it as sshd's
 * StrictModes would: a real folder (not a symlink) that belongs to root
 * or to chainkeeperd's uid and that nobody else may write, so that no one
 * else can swap the socket between bind() and the group change.
 */
static int
socket_dir_open(const char *path, char **namep)
{
	struct stat	 st;
	char		*dir, *slash;
	int		 dfd = -1;

	*namep = NULL;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
		*namep = xstrdup(path);
	} else {
		*namep = xstrdup(slash + 1);
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (lstat(dir, &st) == -1 && errno == ENOENT &&
	    mkdir_p(dir, 0755) == -1)
		log_warn("control: mkdir %s", dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			log_warnx("control: %s: the socket's folder is a "
			    "symlink or not a folder", dir);
		else
			log_warn("control: open %s", dir);
		goto fail;
	}
	if (fstat(dfd, &st) == -1) {
		log_warn("control: fstat %s", dir);
		goto fail;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("control: %s: the socket's folder is owned by uid "
		    "%ld with mode %04o: it must belong to root (or uid %ld) "
		    "and not be writable by group or others",
		    dir, (long)st.st_uid, (unsigned int)(st.st_mode & 07777),
		    (long)geteuid());
		goto fail;
	}
	free(dir);
	return (dfd);
fail:
	if (dfd != -1)
		close(dfd);
	free(dir);
	free(*namep);
	*namep = NULL;
	return (-1);
}

/*
 * Bind the socket in its checked folder: refuse if another chainkeeperd
 * answers on it or if something else than a socket is there, remove a
 * stale socket, then bind with control.mode as the umask allows and give
 * it control.group through the folder's descriptor, before listen().
 */
int
control_listen(const struct config *cfg)
{
	struct sockaddr_un	 sun, at;
	struct stat		 st;
	int			 fd = -1, dfd, probe;
	mode_t			 old;
	char			*name;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    cfg->control_socket) >= sizeof(sun.sun_path)) {
		log_warnx("control: socket path too long: %s",
		    cfg->control_socket);
		return (-1);
	}
	if ((dfd = socket_dir_open(cfg->control_socket, &name)) == -1)
		return (-1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("control: %s exists and is not a socket: "
			    "not removing it (fix control.socket or move the "
			    "file away)", cfg->control_socket);
			goto fail;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) != -1) {
			if (connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0) {
				close(probe);
				log_warnx("control: %s: another chainkeeperd "
				    "is listening", cfg->control_socket);
				goto fail;
			}
			close(probe);
		}
		if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT) {
			log_warn("control: unlink %s", cfg->control_socket);
			goto fail;
		}
	} else if (errno != ENOENT) {
		log_warn("control: %s", cfg->control_socket);
		goto fail;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control: socket");
		goto fail;
	}
	/* Bind in the folder opened, not wherever its path leads now. */
	at = sun;
	if ((size_t)snprintf(at.sun_path, sizeof(at.sun_path),
	    "/proc/self/fd/%d/%s", dfd, name) >= sizeof(at.sun_path))
		at = sun;
	old = umask(~(mode_t)cfg->control_mode & 0777);
	if (bind(fd, (struct sockaddr *)&at, sizeof(at)) == -1 &&
	    (errno != ENOENT || memcmp(&at, &sun, sizeof(at)) == 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)) {
		umask(old);
		log_warn("control: bind %s", cfg->control_socket);
		goto fail;
	}
	umask(old);
	if (cfg->control_group != NULL && fchownat(dfd, name, (uid_t)-1,
	    cfg->control_gid, AT_SYMLINK_NOFOLLOW) == -1)
		log_warn("control: chown %s to group %s", cfg->control_socket,
		    cfg->control_group);
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		log_warn("control: listen");
		goto fail;
	}
	close(dfd);
	free(name);
	listen_fd = fd;
	free(listen_path);
	listen_path = xstrdup(cfg->control_socket);
	have_group = cfg->control_group != NULL;
	allowed_gid = cfg->control_gid;
	ev_io_init(&listen_io, listen_cb, fd, EV_READ);
	ev_io_start(EV_DEFAULT, &listen_io);
	ev_timer_init(&accept_pause, accept_pause_cb, 0.1, 0.);
	control_configure(cfg);
	return (0);
fail:
	if (fd != -1)
		close(fd);
	close(dfd);
	free(name);
	return (-1);
}

/* Take the settings a reload may change: control.idle_timeout. */
void
control_configure(const struct config *cfg)
{
	struct client	*c;
	double		 t = (double)cfg->control_idle_ms / 1000.;

	if (t == idle_timeout)
		return;
	idle_timeout = t;
	LIST_FOREACH(c, &clients, entry)
		client_touch(c);
}

void
control_close(void)
{
	struct client	*c;
	struct stat	 st;

	while ((c = LIST_FIRST(&clients)) != NULL) {
		/* Last words to waiting clients, if the socket takes them. */
		if (c->outlen > 0)
			(void)write(c->fd, c->out, c->outlen);
		client_free(c);
	}
	if (listen_fd != -1) {
		ev_io_stop(EV_DEFAULT, &listen_io);
		ev_timer_stop(EV_DEFAULT, &accept_pause);
		close(listen_fd);
		if (lstat(listen_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(listen_path);
		listen_fd = -1;
	}
	starved = 0;
	ev_timer_stop(EV_DEFAULT, &refusal_timer);
	nrefusals = 0;
	free(listen_path);
	listen_path = NULL;
}
