/*
 * chainkeeperctl: the command-line client.  It sends one request over the
 * control socket and prints the reply, for people or, with --json, for
 * scripts.  Exit codes: 0 success, 1 the request failed (a program did not
 * start, an unknown name, ...), 2 usage, 3 chainkeeperd cannot be reached,
 * 4 refused (permission, protocol version).
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "util.h"

#define EXIT_FAILED	1
#define EXIT_USAGE	2
#define EXIT_NOCONN	3
#define EXIT_DENIED	4

static int	 opt_json;
static int	 timeout_ms = -1;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: chainkeeperctl [-s socket | -c file] [-t timeout] command "
	    "[args]\n"
	    "commands:\n"
	    "  status [--json] [name ...]\n"
	    "  start|stop|restart [--no-wait] [--json] name ... | all\n"
	    "  signal SIG name ... | all\n"
	    "  pid [name ...]\n"
	    "  probes name ... | all\n"
	    "  hold name ... duration | release name ...\n"
	    "  history [-n count] [name]\n"
	    "  alerts [-n count] | alerts test [-m message] [sink ...] | "
	    "alerts summary\n"
	    "  failover name [pause | auto | handback | resume]\n"
	    "  tail [-f] [-c bytes] name [stdout|stderr]\n"
	    "  reload | reexec | shutdown | version\n");
	exit(EXIT_USAGE);
}

static int
connect_socket(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "chainkeeperctl: socket path too long: %s\n",
		    path);
		exit(EXIT_USAGE);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "chainkeeperctl: socket: %s\n",
		    strerror(errno));
		exit(EXIT_NOCONN);
	}
	/* With -t, a connect that waits on a full backlog is bounded too. */
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EAGAIN && timeout_ms > 0) {
			fprintf(stderr, "chainkeeperctl: %s: chainkeeperd did "
			    "not accept the connection within %d ms\n", path,
			    timeout_ms);
			exit(EXIT_FAILED);
		}
		if (errno == EACCES || errno == EPERM) {
			fprintf(stderr, "chainkeeperctl: cannot connect to "
			    "%s: permission denied (run as root or as a "
			    "member of control.group)\n", path);
			exit(EXIT_DENIED);
		}
		fprintf(stderr, "chainkeeperctl: cannot connect to %s: %s "
		    "(is chainkeeperd running?)\n", path, strerror(errno));
		exit(EXIT_NOCONN);
	}
	return (fd);
}

static void
send_request(int fd, json_t *req)
{
	char	*s;
	size_t	 len, off = 0;
	ssize_t	 n;

	json_object_set_new(req, "v", json_integer(CONTROL_PROTOCOL));
	if ((s = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("json_dumps");
	len = strlen(s);
	s = xreallocarray(s, len + 2, 1);
	s[len++] = '\n';
	while (off < len) {
		n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		/* Refused at accept and closed: the reply says why. */
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n <= 0) {
			fprintf(stderr, "chainkeeperctl: write: %s\n",
			    strerror(errno));
			exit(EXIT_NOCONN);
		}
		off += (size_t)n;
	}
	free(s);
}

/* Read one reply line; NULL at EOF. */
static json_t *
read_reply(int fd)
{
	static char	*buf;
	static size_t	 len, size;
	char		*nl;
	json_t		*r;
	json_error_t	 err;
	struct pollfd	 pfd;
	ssize_t		 n;
	size_t		 used;

	for (;;) {
		if (len > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
			used = (size_t)(nl - buf) + 1;
			r = json_loadb(buf, used - 1, 0, &err);
			memmove(buf, buf + used, len - used);
			len -= used;
			if (r == NULL || !json_is_object(r)) {
				fprintf(stderr, "chainkeeperctl: bad reply: "
				    "%s\n", err.text);
				exit(EXIT_DENIED);
			}
			return (r);
		}
		if (len + 65536 > size) {
			size = (len + 65536) * 2;
			buf = xreallocarray(buf, size, 1);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) == 0) {
			fprintf(stderr, "chainkeeperctl: no reply within "
			    "%d ms\n", timeout_ms);
			exit(EXIT_FAILED);
		}
		n = read(fd, buf + len, size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "chainkeeperctl: read: %s\n",
			    strerror(errno));
			exit(EXIT_NOCONN);
		}
		if (n == 0)
			return (NULL);
		len += (size_t)n;
	}
}

/* Exit for an error reply. */
static void __attribute__((noreturn))
fail_reply(json_t *r)
{
	const char	*code, *err;

	code = json_string_value(json_object_get(r, "code"));
	err = json_string_value(json_object_get(r, "error"));
	if (opt_json)
		json_dumpf(r, stdout, JSON_COMPACT), putchar('\n');
	fprintf(stderr, "chainkeeperctl: %s%s", err != NULL ? err : "failed",
	    err != NULL && err[strlen(err) - 1] == '\n' ? "" : "\n");
	if (code != NULL && (strcmp(code, "denied") == 0 ||
	    strcmp(code, "protocol") == 0))
		exit(EXIT_DENIED);
	if (code != NULL && strcmp(code, "usage") == 0)
		exit(EXIT_USAGE);
	exit(EXIT_FAILED);
}

static void
print_status(json_t *arr)
{
	json_t		*o;
	size_t		 i;

	json_array_foreach(arr, i, o) {
		printf("%-24s %-9s %s\n",
		    json_string_value(json_object_get(o, "name")),
		    json_string_value(json_object_get(o, "state")),
		    json_string_value(json_object_get(o, "description")));
	}
}

static void
print_results(const char *cmd, json_t *arr)
{
	json_t		*o;
	size_t		 i;
	const char	*done;

	done = strcmp(cmd, "start") == 0 ? "started" :
	    strcmp(cmd, "stop") == 0 ? "stopped" :
	    strcmp(cmd, "restart") == 0 ? "restarted" : "signalled";
	json_array_foreach(arr, i, o) {
		if (json_is_true(json_object_get(o, "ok")) &&
		    json_object_get(o, "description") != NULL &&
		    strcmp(json_string_value(json_object_get(o,
		    "description")), "waiting for depends_on") == 0)
			printf("%s: waiting for depends_on\n",
			    json_string_value(json_object_get(o, "name")));
		else if (json_is_true(json_object_get(o, "ok")))
			printf("%s: %s\n", json_string_value(json_object_get(o,
			    "name")), done);
		else
			printf("%s: ERROR (%s%s%s)\n",
			    json_string_value(json_object_get(o, "name")),
			    json_string_value(json_object_get(o, "error")),
			    json_object_get(o, "description") != NULL &&
			    *json_string_value(json_object_get(o,
			    "description")) != '\0' ? ": " : "",
			    json_object_get(o, "description") != NULL ?
			    json_string_value(json_object_get(o,
			    "description")) : "");
	}
}

static void
print_probes(json_t *arr)
{
	json_t		*o, *pr, *h;
	size_t		 i, j, k;
	char		 when[32];
	time_t		 t;
	struct tm	 tm;

	json_array_foreach(arr, i, o) {
		printf("%s %s%s%s\n", json_string_value(json_object_get(o,
		    "name")), json_string_value(json_object_get(o, "state")),
		    json_is_string(json_object_get(o, "health")) ? " " : "",
		    json_is_string(json_object_get(o, "health")) ?
		    json_string_value(json_object_get(o, "health")) : "");
		json_array_foreach(json_object_get(o, "probes"), j, pr) {
			printf("  %s (%s): %s, %s: %s\n",
			    json_string_value(json_object_get(pr, "name")),
			    json_string_value(json_object_get(pr, "kind")),
			    json_string_value(json_object_get(pr, "health")),
			    json_is_string(json_object_get(pr, "status")) ?
			    json_string_value(json_object_get(pr, "status")) :
			    "not run yet",
			    json_string_value(json_object_get(pr, "reason")));
			json_array_foreach(json_object_get(pr, "history"), k,
			    h) {
				t = (time_t)json_integer_value(
				    json_object_get(h, "time"));
				localtime_r(&t, &tm);
				strftime(when, sizeof(when), "%H:%M:%S", &tm);
				printf("    %s %-7s %6.0f ms  %s\n", when,
				    json_string_value(json_object_get(h,
				    "status")), json_real_value(
				    json_object_get(h, "elapsed_ms")),
				    json_string_value(json_object_get(h,
				    "reason")));
			}
		}
	}
}

static void
print_history(json_t *arr)
{
	json_t		*r;
	size_t		 i;
	char		 when[32];
	time_t		 t;
	struct tm	 tm;
	const char	*ev;
	char		*params;

	json_array_foreach(arr, i, r) {
		t = (time_t)json_integer_value(json_object_get(r, "time"));
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		ev = json_string_value(json_object_get(r, "event"));
		printf("%s #%lld %s rule %s: %s", when,
		    (long long)json_integer_value(json_object_get(r, "seq")),
		    json_string_value(json_object_get(r, "program")),
		    json_string_value(json_object_get(r, "rule")),
		    ev != NULL ? ev : "?");
		if (ev != NULL && strcmp(ev, "fire") == 0)
			printf(" (step %lld): %s",
			    (long long)json_integer_value(json_object_get(r,
			    "step")) + 1, json_string_value(json_object_get(r,
			    "why")));
		else if (ev != NULL && strcmp(ev, "begin") == 0) {
			params = json_dumps(json_object_get(r, "params"),
			    JSON_COMPACT | JSON_ENCODE_ANY);
			printf(" %s %s", json_string_value(json_object_get(r,
			    "action")), params != NULL ? params : "");
			free(params);
		} else if (ev != NULL && strcmp(ev, "end") == 0)
			printf(" %s %s: %s", json_string_value(
			    json_object_get(r, "action")),
			    json_is_true(json_object_get(r, "ok")) ? "ok" :
			    "FAILED", json_string_value(json_object_get(r,
			    "result")));
		else if (ev != NULL && strcmp(ev, "progress") == 0)
			printf(" %s (#%lld): %s", json_string_value(
			    json_object_get(r, "action")), (long long)
			    json_integer_value(json_object_get(r, "of")),
			    json_string_value(json_object_get(r, "result")));
		else if (ev != NULL && strcmp(ev, "interrupted") == 0)
			printf(" %s (#%lld) was interrupted by a crash and NOT "
			    "run again", json_string_value(json_object_get(r,
			    "action")), (long long)json_integer_value(
			    json_object_get(r, "of")));
		if (json_is_true(json_object_get(r, "dry_run")))
			printf(" [dry run]");
		putchar('\n');
	}
}

/* A time (JSON seconds) as "2006-01-02 15:04:05", or short "15:04:05". */
static void
clock_text(json_t *v, int short_form, char *buf, size_t len)
{
	time_t		 t = (time_t)json_integer_value(v);
	struct tm	 tm;
	size_t		 n;

	localtime_r(&t, &tm);
	if (short_form)
		n = strftime(buf, len, "%H:%M:%S", &tm);
	else
		n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (n == 0)
		buf[0] = '\0';
}

/* alerts: each alert with its deliveries, then the sinks. */
static void
print_alerts(json_t *res)
{
	json_t		*a, *d, *s, *v;
	size_t		 i, j;
	char		 when[32], next[32];
	const char	*st, *err;

	if (json_is_integer(json_object_get(res, "id"))) {
		printf("alert #%lld queued\n", (long long)json_integer_value(
		    json_object_get(res, "id")));
		return;
	}
	json_array_foreach(json_object_get(res, "alerts"), i, a) {
		clock_text(json_object_get(a, "time"), 0, when,
		    sizeof(when));
		printf("#%lld %s %s%s%s%s\n", (long long)json_integer_value(
		    json_object_get(a, "id")), when, json_string_value(
		    json_object_get(a, "title")), json_is_true(json_object_get(a,
		    "suppressed")) ? " (suppressed: a repeat within the "
		    "throttle)" : "", json_integer_value(json_object_get(a,
		    "carried")) > 0 ? " (with repeats)" : "",
		    json_array_size(json_object_get(a, "deliveries")) == 0 &&
		    !json_is_true(json_object_get(a, "suppressed")) ?
		    " (no sink)" : "");
		printf("    %s\n", json_string_value(json_object_get(a,
		    "message")));
		json_array_foreach(json_object_get(a, "deliveries"), j, d) {
			st = json_string_value(json_object_get(d, "state"));
			err = json_string_value(json_object_get(d, "error"));
			printf("    %s: %s", json_string_value(json_object_get(d,
			    "sink")), st);
			if ((v = json_object_get(d, "done")) != NULL &&
			    json_is_integer(v)) {
				clock_text(v, 1, next, sizeof(next));
				printf(" at %s", next);
			}
			if (json_integer_value(json_object_get(d,
			    "attempts")) > 0)
				printf(" (%lld attempt%s", (long long)
				    json_integer_value(json_object_get(d,
				    "attempts")), json_integer_value(
				    json_object_get(d, "attempts")) == 1 ? "" :
				    "s");
			if (json_integer_value(json_object_get(d,
			    "attempts")) > 0 && json_is_integer(
			    json_object_get(d, "next_try"))) {
				clock_text(json_object_get(d, "next_try"),
				    1, next, sizeof(next));
				printf(", next try %s", next);
			}
			if (json_integer_value(json_object_get(d,
			    "attempts")) > 0)
				putchar(')');
			if (err != NULL && *err != '\0' && strcmp(st, "sent") !=
			    0)
				printf(": %s", err);
			putchar('\n');
		}
	}
	if (json_array_size(json_object_get(res, "sinks")) > 0)
		printf("sinks:\n");
	json_array_foreach(json_object_get(res, "sinks"), i, s) {
		printf("  %s (%s): %s, %lld queued, %lld sent, %lld failed",
		    json_string_value(json_object_get(s, "name")),
		    json_string_value(json_object_get(s, "kind")),
		    json_string_value(json_object_get(s, "state")),
		    (long long)json_integer_value(json_object_get(s, "queued")),
		    (long long)json_integer_value(json_object_get(s, "sent")),
		    (long long)json_integer_value(json_object_get(s,
		    "failed")));
		if (json_is_integer(json_object_get(s, "next_try"))) {
			clock_text(json_object_get(s, "next_try"), 1,
			    next, sizeof(next));
			printf(", next try %s", next);
		}
		err = json_string_value(json_object_get(s, "error"));
		if (err != NULL && *err != '\0')
			printf(": %s", err);
		putchar('\n');
	}
	if (json_array_size(json_object_get(res, "open")) > 0)
		printf("open incidents:\n");
	json_array_foreach(json_object_get(res, "open"), i, s) {
		clock_text(json_object_get(s, "since"), 0, when,
		    sizeof(when));
		printf("  %s %s%s%s since %s\n", json_string_value(
		    json_object_get(s, "program")), json_string_value(
		    json_object_get(s, "event")), *json_string_value(
		    json_object_get(s, "rule")) != '\0' ? " " : "",
		    json_string_value(json_object_get(s, "rule")), when);
	}
}

int
main(int argc, char *argv[])
{
	const char	*sock = NULL, *cfgpath = NULL, *cmd, *e;
	struct config	*cfg = NULL;
	char		*errors, *end;
	json_t		*req, *args, *r, *res;
	int		 ch, fd, i, follow = 0, rc = 0;
	long		 bytes = -1;

	log_init("chainkeeperctl", LOG_TO_STDERR, 0);
	while ((ch = getopt(argc, argv, "+c:s:t:")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout_ms = (int)strtol(optarg, &end, 10) * 1000;
			if (*end != '\0' || timeout_ms <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if (sock == NULL && cfgpath != NULL) {
		if ((cfg = config_load(cfgpath, &errors)) == NULL) {
			fputs(errors, stderr);
			free(errors);
			return (EXIT_USAGE);
		}
		sock = cfg->control_socket;
	}
	if (sock == NULL && (e = getenv("CHAINKEEPER_SOCKET")) != NULL)
		sock = e;
	if (sock == NULL)
		sock = CONFIG_DEFAULT_SOCKET;

	req = json_pack("{s:s}", "cmd", cmd);
	args = json_array();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			opt_json = 1;
		else if (strcmp(argv[i], "--no-wait") == 0)
			json_object_set_new(req, "wait", json_false());
		else if (strcmp(cmd, "tail") == 0 &&
		    strcmp(argv[i], "-f") == 0)
			follow = 1;
		else if (strcmp(cmd, "tail") == 0 &&
		    strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			bytes = strtol(argv[++i], &end, 10);
			if (*end != '\0' || bytes < 0)
				usage();
		} else if (strcmp(cmd, "alerts") == 0 &&
		    strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			json_object_set_new(req, "message",
			    json_string(argv[++i]));
		} else if ((strcmp(cmd, "history") == 0 ||
		    strcmp(cmd, "alerts") == 0) &&
		    strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			bytes = strtol(argv[++i], &end, 10);
			if (*end != '\0' || bytes < 1)
				usage();
			json_object_set_new(req, "count", json_integer(bytes));
			bytes = -1;
		} else
			json_array_append_new(args, json_string(argv[i]));
	}
	if ((strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 ||
	    strcmp(cmd, "restart") == 0) && json_array_size(args) == 0)
		usage();
	json_object_set_new(req, "args", args);
	if (follow)
		json_object_set_new(req, "follow", json_true());
	if (bytes >= 0)
		json_object_set_new(req, "bytes", json_integer(bytes));

	fd = connect_socket(sock);
	send_request(fd, req);
	json_decref(req);
	if ((r = read_reply(fd)) == NULL) {
		fprintf(stderr, "chainkeeperctl: chainkeeperd closed the "
		    "connection\n");
		return (EXIT_NOCONN);
	}
	if (!json_is_true(json_object_get(r, "ok")) &&
	    json_object_get(r, "result") == NULL)
		fail_reply(r);
	res = json_object_get(r, "result");
	if (strcmp(cmd, "tail") == 0) {
		for (;;) {
			e = json_string_value(json_object_get(r, "data"));
			if (e != NULL) {
				fwrite(e, 1, json_string_length(
				    json_object_get(r, "data")), stdout);
				fflush(stdout);
			}
			if (json_is_true(json_object_get(r, "eof")))
				break;
			json_decref(r);
			if ((r = read_reply(fd)) == NULL)
				break;
			if (!json_is_true(json_object_get(r, "ok")))
				fail_reply(r);
		}
	} else if (opt_json) {
		json_dumpf(res, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (strcmp(cmd, "status") == 0)
		print_status(res);
	else if (strcmp(cmd, "probes") == 0)
		print_probes(res);
	else if (strcmp(cmd, "history") == 0)
		print_history(res);
	else if (strcmp(cmd, "alerts") == 0)
		print_alerts(res);
	else if (strcmp(cmd, "hold") == 0) {
		json_array_foreach(res, i, args)
			printf("%s: rules held\n", json_string_value(
			    json_object_get(args, "name")));
	} else if (strcmp(cmd, "release") == 0) {
		json_array_foreach(res, i, args)
			printf("%s: rules released\n", json_string_value(
			    json_object_get(args, "name")));
	}
	else if (strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 ||
	    strcmp(cmd, "restart") == 0 || strcmp(cmd, "signal") == 0)
		print_results(cmd, res);
	else if (strcmp(cmd, "pid") == 0) {
		if (json_is_array(res)) {
			json_array_foreach(res, i, args)
				printf("%lld\n", (long long)json_integer_value(
				    json_object_get(args, "pid")));
		} else
			printf("%lld\n", (long long)json_integer_value(
			    json_object_get(res, "pid")));
	} else if (strcmp(cmd, "version") == 0)
		printf("chainkeeperctl %s, chainkeeperd %s (protocol %lld)\n",
		    PACKAGE_VERSION, json_string_value(json_object_get(res,
		    "version")), (long long)json_integer_value(
		    json_object_get(res, "protocol")));
	else if (strcmp(cmd, "reload") == 0)
		printf("reloaded: %zu added, %zu changed, %zu removed, %lld "
		    "unchanged\n",
		    json_array_size(json_object_get(res, "added")),
		    json_array_size(json_object_get(res, "changed")),
		    json_array_size(json_object_get(res, "removed")),
		    (long long)json_integer_value(json_object_get(res,
		    "unchanged")));
	else if (strcmp(cmd, "shutdown") == 0)
		printf("chainkeeperd is shutting down\n");
	else if (strcmp(cmd, "failover") == 0 && json_is_object(res)) {
		printf("%s %s of %s: %s\n", argv[1],
		    json_string_value(json_object_get(res, "role")),
		    json_string_value(json_object_get(res, "producer")),
		    json_is_string(json_object_get(res, "state")) ?
		    json_string_value(json_object_get(res, "state")) :
		    "not running");
		json_dumpf(res, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	else if (strcmp(cmd, "reexec") == 0)
		printf("chainkeeperd is re-executing\n");
	if (!json_is_true(json_object_get(r, "ok")))
		rc = EXIT_FAILED;
	json_decref(r);
	close(fd);
	config_free(cfg);
	return (rc);
}
