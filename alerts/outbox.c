/*
 * The outbox, state_dir/outbox.jsonl: an append-only log of JSON lines.
 * An "alert" record (the alert and the sinks it goes to) is written and
 * fsync'd before the first attempt to deliver it; a "sent" record is
 * written and fsync'd right after a sink accepted it, a "failed" record
 * when it is given up.  Reading the log back in order gives every alert's
 * state, so a restart resumes what was not yet accepted.  A torn last line
 * (a crash in the middle of a write) is cut off when the log is opened, so
 * that the next record starts on a line of its own.  When the log grows,
 * it is rewritten (atomically) with only what is still needed.  The files
 * are opened relative to a checked descriptor of state_dir, with
 * O_NOFOLLOW, and the rewrite goes through a new 0600 file (O_EXCL).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsafe.h"
#include "log.h"
#include "sink.h"
#include "util.h"

static char	*outbox_path;
static int	 outbox_dfd = -1;	/* state_dir, checked */
static int	 outbox_fd = -1;
static off_t	 outbox_len;

static const char *const kind_names[] = { "alert", "resolved", "summary",
    "test", NULL };
static const char *const deliv_names[] = { "queued", "sending", "retrying",
    "sent", "failed", "held", NULL };
static const char *const severity_names[] = { "info", "warning",
    "critical", NULL };

const char *
alert_kind_name(int k)
{
	return (k >= 0 && k <= ALERT_TEST ? kind_names[k] : "alert");
}

const char *
deliv_state_name(int s)
{
	return (s >= 0 && s <= DELIV_HELD ? deliv_names[s] : "queued");
}

int
deliv_state_parse(const char *s)
{
	int	 i;

	for (i = 0; deliv_names[i] != NULL; i++)
		if (strcmp(deliv_names[i], s) == 0)
			return (i);
	return (-1);
}

const char *
alerts_severity_name(int s)
{
	return (s >= 0 && s <= ALERT_CRITICAL ? severity_names[s] : "info");
}

int
alerts_severity_parse(const char *s)
{
	int	 i;

	for (i = 0; severity_names[i] != NULL; i++)
		if (strcmp(severity_names[i], s) == 0)
			return (i);
	return (-1);
}

static int
kind_parse(const char *s)
{
	int	 i;

	for (i = 0; kind_names[i] != NULL; i++)
		if (strcmp(kind_names[i], s) == 0)
			return (i);
	return (-1);
}

/*
 * Open state_dir/outbox.jsonl and hand every record to cb, in order
 * (borrowed).  Unreadable lines are skipped; a torn last line is cut off.
 */
int
outbox_open(const char *dir, outbox_record_fn cb, void *arg)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	off_t		 good = 0, total = 0;
	json_t		*rec;
	json_error_t	 err;
	unsigned int	 bad = 0;
	int		 fd;
	struct fsafe_err e;

	outbox_close();
	xasprintf(&outbox_path, "%s/outbox.jsonl", dir);
	if ((outbox_dfd = fsafe_opendir(dir, FSAFE_NOUSER, 0, &e)) < 0) {
		log_warnx("outbox: %s", e.msg);
		outbox_dfd = -1;
		return (-1);
	}
	fd = fsafe_openat(outbox_dfd, "outbox.jsonl", O_RDWR | O_CREAT, 0600,
	    FSAFE_NOUSER, &e);
	if (fd == -1) {
		log_warnx("outbox: %s: %s", outbox_path, e.msg);
		return (-1);
	}
	if ((f = fdopen(dup(fd), "r")) == NULL) {
		log_warn("outbox: %s", outbox_path);
		close(fd);
		return (-1);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		total += n;
		if (line[n - 1] != '\n')
			break;		/* torn: no newline */
		good = total;
		rec = json_loadb(line, (size_t)n - 1, 0, &err);
		if (rec == NULL || !json_is_object(rec)) {
			bad++;
			json_decref(rec);
			continue;
		}
		cb(rec, arg);
		json_decref(rec);
	}
	free(line);
	fclose(f);
	if (bad > 0)
		log_warnx("outbox: %u unreadable records in %s skipped", bad,
		    outbox_path);
	if (total > good) {
		log_warnx("outbox: a torn last record (%lld bytes) in %s, "
		    "left by a crash, was cut off", (long long)(total - good),
		    outbox_path);
		if (ftruncate(fd, good) == -1)
			log_warn("outbox: truncate %s", outbox_path);
	}
	close(fd);
	outbox_fd = fsafe_openat(outbox_dfd, "outbox.jsonl", O_WRONLY |
	    O_APPEND, 0, FSAFE_NOUSER, &e);
	if (outbox_fd == -1) {
		log_warnx("outbox: %s: %s", outbox_path, e.msg);
		return (-1);
	}
	outbox_len = lseek(outbox_fd, 0, SEEK_END);
	return (0);
}

void
outbox_close(void)
{
	if (outbox_fd != -1)
		close(outbox_fd);
	outbox_fd = -1;
	if (outbox_dfd != -1)
		close(outbox_dfd);
	outbox_dfd = -1;
	outbox_len = 0;
	free(outbox_path);
	outbox_path = NULL;
}

off_t
outbox_size(void)
{
	return (outbox_len);
}

/*
 * Append a record (stolen); with durable, it is on disk when this returns
 * 0.  A short write is cut off again, so no torn line stays behind.
 */
int
outbox_append(json_t *rec, int durable)
{
	char	*s;
	size_t	 len;
	ssize_t	 n;
	int	 rc = 0;

	if (rec == NULL)
		return (-1);
	s = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (s == NULL) {
		log_warnx("outbox: a record could not be encoded");
		return (-1);
	}
	if (outbox_fd == -1) {
		free(s);
		return (-1);
	}
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps left room: it ended with NUL */
	n = write(outbox_fd, s, len);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = ENOSPC;	/* a short write sets none */
		log_warn("outbox: write %s", outbox_path);
		if (n > 0 && ftruncate(outbox_fd, outbox_len) == -1)
			log_warn("outbox: truncate %s", outbox_path);
		rc = -1;
	} else {
		outbox_len += (off_t)len;
		if (durable && fdatasync(outbox_fd) == -1) {
			log_warn("outbox: fsync %s", outbox_path);
			rc = -1;
		}
	}
	free(s);
	return (rc);
}

/* Replace the log with these records (borrowed), atomically. */
int
outbox_rewrite(json_t *recs)
{
	struct fsafe_err e;
	char	*tmp;
	FILE	*f;
	size_t	 i;
	int	 fd;

	if (outbox_path == NULL)
		return (-1);
	xasprintf(&tmp, "%s.tmp", outbox_path);
	if ((fd = fsafe_mktemp(outbox_dfd, "outbox.jsonl.tmp")) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_warn("outbox: %s", tmp);
		if (fd != -1) {
			close(fd);
			unlinkat(outbox_dfd, "outbox.jsonl.tmp", 0);
		}
		free(tmp);
		return (-1);
	}
	for (i = 0; i < json_array_size(recs); i++) {
		json_dumpf(json_array_get(recs, i), f, JSON_COMPACT);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		log_warn("outbox: writing %s", tmp);
		fclose(f);
		unlinkat(outbox_dfd, "outbox.jsonl.tmp", 0);
		free(tmp);
		return (-1);
	}
	if (fclose(f) != 0 || renameat(outbox_dfd, "outbox.jsonl.tmp",
	    outbox_dfd, "outbox.jsonl") == -1) {
		log_warn("outbox: rename %s", tmp);
		unlinkat(outbox_dfd, "outbox.jsonl.tmp", 0);
		free(tmp);
		return (-1);
	}
	free(tmp);
	if (fsync(outbox_dfd) == -1)
		log_warn("outbox: fsync the folder of %s", outbox_path);
	if ((fd = fsafe_openat(outbox_dfd, "outbox.jsonl", O_WRONLY |
	    O_APPEND, 0, FSAFE_NOUSER, &e)) == -1) {
		log_warnx("outbox: %s: %s", outbox_path, e.msg);
		return (-1);
	}
	if (outbox_fd != -1)
		close(outbox_fd);
	outbox_fd = fd;
	outbox_len = lseek(fd, 0, SEEK_END);
	return (0);
}

void
alert_free(struct alert *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->ndeliv; i++)
		free(a->deliv[i].sink);
	free(a->deliv);
	free(a->host);
	free(a->program);
	free(a->event);
	free(a->rule);
	free(a->key);
	free(a->message);
	free(a->value);
	free(a->resolve_on);
	free(a);
}

/*
 * An alert as an outbox record (new reference): a delivery is its state
 * name, or {state, attempts, done, error} once it has a history.
 */
json_t *
alert_to_json(const struct alert *a)
{
	json_t			*o, *sinks;
	const struct delivery	*d;
	size_t			 i;

	sinks = json_object();
	for (i = 0; i < a->ndeliv; i++) {
		d = &a->deliv[i];
		if (d->attempts == 0 && d->done == 0 && d->error[0] == '\0')
			json_object_set_new(sinks, d->sink,
			    json_string(deliv_state_name(d->state)));
		else
			json_object_set_new(sinks, d->sink, json_pack(
			    "{s:s,s:i,s:I,s:s}", "state",
			    deliv_state_name(d->state), "attempts",
			    (int)d->attempts, "done", (json_int_t)d->done,
			    "error", d->error));
	}
	o = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "t", "alert", "id", (json_int_t)a->id, "time", (json_int_t)a->time,
	    "kind", alert_kind_name(a->kind), "severity",
	    alerts_severity_name(a->severity), "host", a->host, "program",
	    a->program, "event", a->event, "rule", a->rule, "key", a->key,
	    "message", a->message, "value", a->value);
	if (o == NULL) {
		json_decref(sinks);
		return (NULL);
	}
	if (a->resolve_on != NULL)
		json_object_set_new(o, "resolve_on",
		    json_string(a->resolve_on));
	if (a->suppressed)
		json_object_set_new(o, "suppressed", json_true());
	if (a->carried > 0) {
		json_object_set_new(o, "carried", json_integer(a->carried));
		json_object_set_new(o, "carried_since",
		    json_integer((json_int_t)a->carried_since));
	}
	if (a->incident_since != 0)
		json_object_set_new(o, "incident_since",
		    json_integer((json_int_t)a->incident_since));
	json_object_set_new(o, "sinks", sinks);
	return (o);
}

static char *
get_str(const json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return (xstrdup(s != NULL ? s : ""));
}

/* An alert back from an outbox record, or NULL with *err. */
struct alert *
alert_from_json(const json_t *o, char **err)
{
	struct alert	*a;
	json_t		*sinks, *v;
	const char	*k, *s;
	struct delivery	*d;
	int		 st;

	*err = NULL;
	if (!json_is_integer(json_object_get(o, "id")) ||
	    json_integer_value(json_object_get(o, "id")) <= 0 ||
	    !json_is_integer(json_object_get(o, "time"))) {
		xasprintf(err, "an alert record without id or time");
		return (NULL);
	}
	a = xcalloc(1, sizeof(*a));
	a->id = (uint64_t)json_integer_value(json_object_get(o, "id"));
	a->time = (time_t)json_integer_value(json_object_get(o, "time"));
	s = json_string_value(json_object_get(o, "kind"));
	if (s == NULL || (a->kind = kind_parse(s)) == -1) {
		xasprintf(err, "alert #%llu: unknown kind",
		    (unsigned long long)a->id);
		goto fail;
	}
	s = json_string_value(json_object_get(o, "severity"));
	if (s == NULL || (a->severity = alerts_severity_parse(s)) == -1) {
		xasprintf(err, "alert #%llu: unknown severity",
		    (unsigned long long)a->id);
		goto fail;
	}
	a->host = get_str(o, "host");
	a->program = get_str(o, "program");
	a->event = get_str(o, "event");
	a->rule = get_str(o, "rule");
	a->key = get_str(o, "key");
	a->message = get_str(o, "message");
	a->value = get_str(o, "value");
	if ((s = json_string_value(json_object_get(o, "resolve_on"))) != NULL)
		a->resolve_on = xstrdup(s);
	a->suppressed = json_is_true(json_object_get(o, "suppressed"));
	a->carried = (unsigned int)json_integer_value(json_object_get(o,
	    "carried"));
	a->carried_since = (time_t)json_integer_value(json_object_get(o,
	    "carried_since"));
	a->incident_since = (time_t)json_integer_value(json_object_get(o,
	    "incident_since"));
	sinks = json_object_get(o, "sinks");
	if (sinks != NULL && !json_is_object(sinks)) {
		xasprintf(err, "alert #%llu: sinks is not a map",
		    (unsigned long long)a->id);
		goto fail;
	}
	a->deliv = xcalloc(json_object_size(sinks) + 1, sizeof(*a->deliv));
	json_object_foreach(sinks, k, v) {
		s = json_is_string(v) ? json_string_value(v) :
		    json_string_value(json_object_get(v, "state"));
		if (s == NULL || (st = deliv_state_parse(s)) == -1) {
			xasprintf(err, "alert #%llu: sink %s: unknown state",
			    (unsigned long long)a->id, k);
			goto fail;
		}
		d = &a->deliv[a->ndeliv++];
		d->alert = a;
		d->sink = xstrdup(k);
		d->state = st;
		if (json_is_object(v)) {
			d->attempts = (unsigned int)json_integer_value(
			    json_object_get(v, "attempts"));
			d->done = (time_t)json_integer_value(
			    json_object_get(v, "done"));
			snprintf(d->error, sizeof(d->error), "%s",
			    json_string_value(json_object_get(v, "error")) !=
			    NULL ? json_string_value(json_object_get(v,
			    "error")) : "");
		}
	}
	return (a);
fail:
	alert_free(a);
	return (NULL);
}
