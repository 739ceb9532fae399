/*
 * The action journal, state_dir/journal.jsonl: one JSON object per line,
 * appended, fsync'd for chain actions.  Each firing of a rule is a "fire"
 * record; each action a "begin" record before it runs and an "end" record
 * with its outcome.  At start-up the journal is read back: the last records
 * are kept in memory (hold-downs and ladder windows count from them, so
 * they hold across restarts) and every begin without an end is reported
 * and recorded as "interrupted", never run again by itself.  The files
 * are opened relative to a checked descriptor of state_dir, with
 * O_NOFOLLOW; compaction writes a new 0600 file (O_EXCL) and renames it.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsafe.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#define JOURNAL_KEEP	2000		/* records kept in memory */
#define JOURNAL_MAX	(4 * 1024 * 1024) /* bytes before compaction */

static char	*journal_path;
static int	 journal_dfd = -1;	/* state_dir, checked */
static int	 journal_fd = -1;
static json_t	*recent;		/* owned array, oldest first */
static uint64_t	 next_seq = 1;
static off_t	 journal_size;
static int	 journal_torn;		/* a write stopped within a record */

static void
keep(json_t *rec)
{
	json_array_append(recent, rec);
	if (json_array_size(recent) > JOURNAL_KEEP)
		json_array_remove(recent, 0);
}

/* Rewrite the file with the records kept in memory (atomically). */
static void
journal_compact(void)
{
	char	*tmp;
	size_t	 i;
	FILE	*f;
	int	 fd;

	struct fsafe_err e;

	xasprintf(&tmp, "%s.tmp", journal_path);
	if ((fd = fsafe_mktemp(journal_dfd, "journal.jsonl.tmp")) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_warn("journal: %s", tmp);
		if (fd != -1) {
			close(fd);
			unlinkat(journal_dfd, "journal.jsonl.tmp", 0);
		}
		free(tmp);
		return;
	}
	for (i = 0; i < json_array_size(recent); i++) {
		json_dumpf(json_array_get(recent, i), f, JSON_COMPACT);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		log_warn("journal: compacting %s", journal_path);
		fclose(f);
		unlinkat(journal_dfd, "journal.jsonl.tmp", 0);
		free(tmp);
		return;
	}
	if (fclose(f) != 0 || renameat(journal_dfd, "journal.jsonl.tmp",
	    journal_dfd, "journal.jsonl") == -1) {
		log_warn("journal: compacting %s", journal_path);
		unlinkat(journal_dfd, "journal.jsonl.tmp", 0);
		free(tmp);
		return;
	}
	free(tmp);
	fsync(journal_dfd);
	if ((fd = fsafe_openat(journal_dfd, "journal.jsonl", O_WRONLY |
	    O_APPEND, 0, FSAFE_NOUSER, &e)) != -1) {
		close(journal_fd);
		journal_fd = fd;
		journal_size = lseek(fd, 0, SEEK_END);
	}
}

/* Read the journal back; report actions a crash interrupted. */
int
journal_open(const char *dir)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	json_t		*rec, *open_begins, *v;
	json_error_t	 err;
	const char	*key;
	unsigned int	 lineno = 0, bad = 0;
	char		 seqs[32];
	struct fsafe_err e;
	int		 fd;

	xasprintf(&journal_path, "%s/journal.jsonl", dir);
	recent = json_array();
	if ((journal_dfd = fsafe_opendir(dir, FSAFE_NOUSER, 0, &e)) < 0) {
		log_warnx("journal: %s", e.msg);
		journal_dfd = -1;
		return (-1);
	}
	open_begins = json_object();
	f = NULL;
	if ((fd = fsafe_openat(journal_dfd, "journal.jsonl", O_RDONLY, 0,
	    FSAFE_NOUSER, &e)) != -1 && (f = fdopen(fd, "re")) == NULL)
		close(fd);
	if (f != NULL) {
		while ((n = getline(&line, &cap, f)) > 0) {
			lineno++;
			if ((rec = json_loadb(line, (size_t)n, 0, &err)) ==
			    NULL || !json_is_object(rec)) {
				/* A torn last line after a crash. */
				bad++;
				json_decref(rec);
				continue;
			}
			if ((uint64_t)json_integer_value(json_object_get(rec,
			    "seq")) >= next_seq)
				next_seq = (uint64_t)json_integer_value(
				    json_object_get(rec, "seq")) + 1;
			key = json_string_value(json_object_get(rec, "event"));
			if (key != NULL && strcmp(key, "begin") == 0) {
				snprintf(seqs, sizeof(seqs), "%lld",
				    (long long)json_integer_value(
				    json_object_get(rec, "seq")));
				json_object_set(open_begins, seqs, rec);
			} else if (key != NULL && (strcmp(key, "end") == 0 ||
			    strcmp(key, "interrupted") == 0)) {
				snprintf(seqs, sizeof(seqs), "%lld",
				    (long long)json_integer_value(
				    json_object_get(rec, "of")));
				json_object_del(open_begins, seqs);
			}
			keep(rec);
			json_decref(rec);
		}
		free(line);
		fclose(f);
		if (bad > 0)
			log_warnx("journal: %u unreadable lines in %s skipped",
			    bad, journal_path);
	} else if (errno != ENOENT)
		log_warnx("journal: %s: %s", journal_path, e.msg);
	journal_fd = fsafe_openat(journal_dfd, "journal.jsonl", O_WRONLY |
	    O_APPEND | O_CREAT, 0600, FSAFE_NOUSER, &e);
	if (journal_fd == -1) {
		log_warnx("journal: %s: %s", journal_path, e.msg);
		json_decref(open_begins);
		return (-1);
	}
	journal_size = lseek(journal_fd, 0, SEEK_END);
	/* A torn last record (a crash mid-write) must not swallow the next. */
	if (journal_size > 0 && pread(journal_fd, seqs, 1, journal_size - 1) ==
	    1 && seqs[0] != '\n' && write(journal_fd, "\n", 1) == 1)
		journal_size++;
	json_object_foreach(open_begins, key, v) {
		log_warnx("journal: %s: action %s (#%s) of rule %s began at %lld "
		    "and never ended: it was interrupted and is NOT run again; "
		    "check by hand", json_string_value(json_object_get(v,
		    "program")), json_string_value(json_object_get(v,
		    "action")), key, json_string_value(json_object_get(v,
		    "rule")), (long long)json_integer_value(json_object_get(v,
		    "time")));
		journal_append(json_pack("{s:s,s:I,s:O,s:O,s:O}", "event",
		    "interrupted", "of", (json_int_t)strtoll(key, NULL, 10),
		    "program", json_object_get(v, "program"), "rule",
		    json_object_get(v, "rule"), "action",
		    json_object_get(v, "action")), 1);
	}
	json_decref(open_begins);
	return (0);
}

void
journal_close(void)
{
	if (journal_fd != -1)
		close(journal_fd);
	journal_fd = -1;
	if (journal_dfd != -1)
		close(journal_dfd);
	journal_dfd = -1;
	json_decref(recent);
	recent = NULL;
	free(journal_path);
	journal_path = NULL;
}

/*
 * Append a record (stolen) with its sequence number and time; fsync when
 * durable.  Returns the sequence number.
 */
uint64_t
journal_append(json_t *rec, int durable)
{
	char		*s;
	size_t		 len;
	ssize_t		 n;
	uint64_t	 seq = next_seq++;
	struct timespec	 ts;

	if (rec == NULL) {
		log_warnx("journal: a record could not be built");
		rec = json_pack("{s:s}", "event", "unrecordable");
	}
	json_object_set_new(rec, "seq", json_integer((json_int_t)seq));
	if (json_object_get(rec, "time") == NULL) {
		clock_gettime(CLOCK_REALTIME, &ts);
		json_object_set_new(rec, "time",
		    json_integer((json_int_t)ts.tv_sec));
		json_object_set_new(rec, "ms", json_integer((json_int_t)
		    ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	}
	if (recent != NULL)
		keep(rec);
	if (journal_fd == -1) {
		json_decref(rec);
		return (seq);
	}
	s = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (s == NULL) {
		log_warnx("journal: a record could not be encoded");
		return (seq);
	}
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps left room: it ends with NUL */
	/* End a record a full disk cut short, or this one would be lost
	 * with it. */
	if (journal_torn && write(journal_fd, "\n", 1) == 1)
		journal_torn = 0;
	if (journal_torn)
		log_warn("journal: write %s", journal_path);
	else if ((n = write(journal_fd, s, len)) != (ssize_t)len) {
		if (n >= 0)
			errno = ENOSPC;
		log_warn("journal: write %s", journal_path);
		journal_torn = n > 0;
	} else if (durable && fdatasync(journal_fd) == -1)
		log_warn("journal: fsync %s", journal_path);
	free(s);
	journal_size += (off_t)len;
	if (journal_size > JOURNAL_MAX)
		journal_compact();
	return (seq);
}

/* The last max records (of one program, or all), newest last. */
json_t *
journal_recent(const char *program, size_t max)
{
	json_t	*out = json_array(), *rec;
	size_t	 i;
	const char *p;

	if (recent == NULL)
		return (out);
	for (i = json_array_size(recent); i > 0; i--) {
		rec = json_array_get(recent, i - 1);
		p = json_string_value(json_object_get(rec, "program"));
		if (program != NULL && (p == NULL || strcmp(p, program) != 0))
			continue;
		json_array_insert(out, 0, rec);
		if (json_array_size(out) >= max)
			break;
	}
	return (out);
}

/* Whether chainkeeperd runs with --dry-run: its firings count apart. */
int	journal_dry_run;

static int
rec_is_fire(json_t *rec, const char *program, const char *rule)
{
	const char	*e, *p, *r;

	if (json_is_true(json_object_get(rec, "dry_run")) != journal_dry_run)
		return (0);
	e = json_string_value(json_object_get(rec, "event"));
	p = json_string_value(json_object_get(rec, "program"));
	r = json_string_value(json_object_get(rec, "rule"));
	return (e != NULL && p != NULL && r != NULL &&
	    strcmp(e, "fire") == 0 && strcmp(p, program) == 0 &&
	    strcmp(r, rule) == 0);
}

/* A record's time in ms since the epoch (older records: seconds). */
static int64_t
rec_ms(json_t *rec)
{
	json_t	*ms = json_object_get(rec, "ms");

	if (json_is_integer(ms))
		return (json_integer_value(ms));
	return (json_integer_value(json_object_get(rec, "time")) * 1000);
}

/* How often a rule's step fired since a time (ms since the epoch). */
int
journal_fires(const char *program, const char *rule, int step, int64_t since)
{
	size_t	 i;
	int	 n = 0;
	json_t	*rec;

	if (recent == NULL)
		return (0);
	for (i = json_array_size(recent); i > 0; i--) {
		rec = json_array_get(recent, i - 1);
		if (rec_ms(rec) < since)
			break;
		if (rec_is_fire(rec, program, rule) &&
		    json_integer_value(json_object_get(rec, "step")) == step)
			n++;
	}
	return (n);
}

/* When a rule last fired (ms since the epoch), or 0. */
int64_t
journal_last_fire(const char *program, const char *rule)
{
	size_t	 i;
	json_t	*rec;

	if (recent == NULL)
		return (0);
	for (i = json_array_size(recent); i > 0; i--) {
		rec = json_array_get(recent, i - 1);
		if (rec_is_fire(rec, program, rule))
			return (rec_ms(rec));
	}
	return (0);
}

/*
 * Whether a rule is blocked: one of its actions was interrupted by a crash
 * and nobody has acknowledged it since (chainkeeperctl release).
 */
int
journal_blocked(const char *program, const char *rule)
{
	size_t		 i;
	json_t		*rec;
	const char	*e, *p, *r;

	if (recent == NULL)
		return (0);
	for (i = json_array_size(recent); i > 0; i--) {
		rec = json_array_get(recent, i - 1);
		e = json_string_value(json_object_get(rec, "event"));
		p = json_string_value(json_object_get(rec, "program"));
		r = json_string_value(json_object_get(rec, "rule"));
		if (e == NULL || p == NULL || strcmp(p, program) != 0)
			continue;
		if (strcmp(e, "ack") == 0)
			return (0);
		if (strcmp(e, "interrupted") == 0 && r != NULL &&
		    strcmp(r, rule) == 0)
			return (1);
	}
	return (0);
}
