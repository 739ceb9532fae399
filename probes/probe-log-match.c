/*
 * log-match: a POSIX extended regex over lines of the program's own
 * captured output (stream: stdout or stderr, seen live through a logfile
 * subscription) or of an external log file (file:, tailed at each check,
 * across rotation).  Two modes:
 *  - fresh: the check fails when no line has matched for this long (since
 *    the run began, if none ever did): "no Produced block line for 10m";
 *  - absent: a matching line is an error: the check fails when a line
 *    matched since the last check (or within hold).
 * The value is the number of seconds since the last match (or since the
 * probe began watching).
 */
#include "autoconf.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "logpipe.h"
#include "probe-sys.h"
#include "probe.h"
#include "program.h"
#include "util.h"

#define LM_STDOUT	1
#define LM_STDERR	2
#define LM_LAST_LINE	200		/* bytes kept of the last match */
#define LM_READ_MAX	(8 * 1024 * 1024) /* file bytes per check */

struct lm_cfg {
	regex_t		 re;
	int		 has_re;
	const char	*pattern;
	int		 stream;
	const char	*file;
	int64_t		 fresh_ms;	/* -1: not set */
	int		 absent;
	int64_t		 hold_ms;
	json_t		*params;
};

struct lm_state {
	struct probe	*p;
	struct logfile	*lf;		/* subscribed to, or NULL */
	int		 gone;		/* the logfile was freed */
	const char	*nolf;		/* why there is no logfile */
	struct sys_linebuf lb;
	struct sys_tail	 tail;
	int		 tailing;
	int64_t		 start_ms;
	int64_t		 last_ms;	/* 0: no match yet */
	time_t		 last_wall;
	char		 last_line[LM_LAST_LINE + 4];
	unsigned long long matches;
	unsigned long long lines;
	unsigned long long matches_at_check;
};

static const char *const lm_keys[] = { "regex", "stream", "file", "fresh",
    "absent", "hold", NULL };

static void
lm_free_config(void *arg)
{
	struct lm_cfg	*c = arg;

	if (c->has_re)
		regfree(&c->re);
	json_decref(c->params);
	free(c);
}

static void *
lm_parse(const json_t *o, const char **key, char **err)
{
	struct lm_cfg	*c;
	const char	*stream = NULL;
	char		*re, buf[256];
	int		 r;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->stream = LM_STDOUT;
	c->fresh_ms = -1;
	if (probe_param_check_keys(o, lm_keys, key, err) == -1 ||
	    probe_param_string(o, "regex", 1, &c->pattern, key, err) == -1 ||
	    probe_param_string(o, "stream", 0, &stream, key, err) == -1 ||
	    probe_param_string(o, "file", 0, &c->file, key, err) == -1 ||
	    probe_param_duration(o, "fresh", &c->fresh_ms, key, err) == -1 ||
	    probe_param_bool(o, "absent", &c->absent, key, err) == -1 ||
	    probe_param_duration(o, "hold", &c->hold_ms, key, err) == -1)
		goto fail;
	if (stream != NULL) {
		if (strcmp(stream, "stdout") == 0)
			c->stream = LM_STDOUT;
		else if (strcmp(stream, "stderr") == 0)
			c->stream = LM_STDERR;
		else {
			*key = "stream";
			xasprintf(err, "stream must be stdout or stderr");
			goto fail;
		}
		if (c->file != NULL) {
			*key = "file";
			xasprintf(err, "file and stream do not go together");
			goto fail;
		}
	}
	if (c->file != NULL && c->file[0] != '/') {
		*key = "file";
		xasprintf(err, "file must be an absolute path");
		goto fail;
	}
	if (c->absent && c->fresh_ms != -1) {
		*key = "fresh";
		xasprintf(err, "fresh and absent do not go together (absent "
		    "uses hold)");
		goto fail;
	}
	if (!c->absent && c->fresh_ms == -1) {
		*key = "fresh";
		xasprintf(err, "set fresh (how long without a matching line "
		    "fails) or absent: true (a matching line fails)");
		goto fail;
	}
	if (!c->absent && json_object_get(o, "hold") != NULL) {
		*key = "hold";
		xasprintf(err, "hold goes with absent: true");
		goto fail;
	}
	if (c->fresh_ms == 0) {
		*key = "fresh";
		xasprintf(err, "fresh must be longer than 0");
		goto fail;
	}
	re = sys_regex_translate(c->pattern);
	r = regcomp(&c->re, re, REG_EXTENDED | REG_NOSUB);
	free(re);
	if (r != 0) {
		regerror(r, &c->re, buf, sizeof(buf));
		*key = "regex";
		xasprintf(err, "regex: %s", buf);
		goto fail;
	}
	c->has_re = 1;
	return (c);
fail:
	lm_free_config(c);
	return (NULL);
}

/* One complete line, from either source. */
static void
lm_line_cb(void *arg, const char *line, size_t len)
{
	static char	 buf[SYS_LINE_MAX + 1];
	struct lm_state	*st = arg;
	struct lm_cfg	*c = st->p->cfg->kcfg;

	st->lines++;
	if (len > SYS_LINE_MAX)
		len = SYS_LINE_MAX;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (regexec(&c->re, buf, 0, NULL, 0) != 0)
		return;
	st->matches++;
	st->last_ms = now_ms();
	st->last_wall = time(NULL);
	sys_utf8_clean(line, len, st->last_line, LM_LAST_LINE + 1);
}

/*
 * Output of the program, as the logfile captures it; (NULL, 0) means the
 * logfile is being freed: it forgets us, so we must forget it.
 */
static void
lm_output_cb(void *arg, const char *buf, size_t len)
{
	struct lm_state	*st = arg;

	if (buf == NULL) {
		st->lf = NULL;
		st->gone = 1;
		return;
	}
	sys_linebuf_feed(&st->lb, buf, len, lm_line_cb, st);
}

/* The first check: subscribe to the output or start tailing the file. */
static const char *
lm_begin(struct probe *p, struct lm_state *st)
{
	struct lm_cfg	*c = p->cfg->kcfg;
	struct program	*prog = p->prog;
	struct logfile	*lf;

	st->start_ms = now_ms();
	if (c->file != NULL) {
		sys_tail_init(&st->tail, c->file, 1);
		st->tailing = 1;
		return (NULL);
	}
	if (c->stream == LM_STDERR && !prog->pc->redirect_stderr)
		lf = prog->err;
	else
		lf = prog->out;
	if (lf == NULL)
		return (c->stream == LM_STDERR ? "stderr is not captured "
		    "(stderr_logfile is NONE)" : "stdout is not captured "
		    "(stdout_logfile is NONE)");
	logfile_subscribe(lf, lm_output_cb, st);
	st->lf = lf;
	return (NULL);
}

static void
lm_run(struct probe *p)
{
	struct lm_cfg	*c = p->cfg->kcfg;
	struct lm_state	*st = p->state;
	int64_t		 now, since;
	unsigned long long fresh;
	double		 value;
	json_t		*detail;

	if (st == NULL) {
		st = p->state = xcalloc(1, sizeof(*st));
		st->p = p;
		st->nolf = lm_begin(p, st);
	}
	if (st->tailing && sys_tail_read(&st->tail, LM_READ_MAX, lm_line_cb,
	    st) == -1) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read %s: %s",
		    c->file, strerror(errno));
		return;
	}
	if (!st->tailing && st->lf == NULL) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "%s", st->gone ?
		    "the output capture ended" : st->nolf != NULL ? st->nolf :
		    "output is not captured");
		return;
	}
	now = now_ms();
	since = now - (st->last_ms != 0 ? st->last_ms : st->start_ms);
	value = (double)since / 1000.0;
	fresh = st->matches - st->matches_at_check;
	st->matches_at_check = st->matches;

	detail = json_pack("{s:s,s:s,s:I,s:I}",
	    "source", c->file != NULL ? c->file :
	    c->stream == LM_STDERR ? "stderr" : "stdout",
	    "regex", c->pattern,
	    "matches", (json_int_t)st->matches,
	    "lines", (json_int_t)st->lines);
	json_object_set_new(detail, "last_line", st->last_ms != 0 ?
	    json_string(st->last_line) : json_null());
	json_object_set_new(detail, "last_match_time", st->last_ms != 0 ?
	    json_integer((json_int_t)st->last_wall) : json_null());
	if (st->tailing) {
		json_object_set_new(detail, "rotations",
		    json_integer(st->tail.rotations));
		json_object_set_new(detail, "truncations",
		    json_integer(st->tail.truncations));
		if (st->tail.behind > 0)
			json_object_set_new(detail, "behind_bytes",
			    json_integer((json_int_t)st->tail.behind));
	}

	if (c->absent) {
		if (fresh > 0)
			probe_done(p, PROBE_FAIL, &value, detail, "%llu "
			    "matching line%s: %s", fresh, fresh == 1 ? "" : "s",
			    st->last_line);
		else if (c->hold_ms > 0 && st->last_ms != 0 &&
		    since < c->hold_ms)
			probe_done(p, PROBE_FAIL, &value, detail, "a line "
			    "matched %lld s ago: %s", (long long)(since / 1000),
			    st->last_line);
		else
			probe_done(p, PROBE_OK, &value, detail, "no matching "
			    "line%s", st->matches > 0 ? " lately" : "");
		return;
	}
	if (since > c->fresh_ms) {
		if (st->last_ms == 0)
			probe_done(p, PROBE_FAIL, &value, detail, "no line "
			    "matched in %lld s", (long long)(since / 1000));
		else
			probe_done(p, PROBE_FAIL, &value, detail, "no line "
			    "matched for %lld s (fresh: %lld s)",
			    (long long)(since / 1000),
			    (long long)(c->fresh_ms / 1000));
		return;
	}
	if (st->last_ms == 0)
		probe_done(p, PROBE_OK, &value, detail, "no match yet, "
		    "watching for %lld s", (long long)(since / 1000));
	else
		probe_done(p, PROBE_OK, &value, detail, "last match %lld s ago",
		    (long long)(since / 1000));
}

static void
lm_reset(struct probe *p)
{
	struct lm_state	*st = p->state;

	if (st == NULL)
		return;
	if (st->lf != NULL)
		logfile_unsubscribe(st->lf, st);
	sys_linebuf_clear(&st->lb);
	if (st->tailing)
		sys_tail_close(&st->tail);
	free(st);
	p->state = NULL;
}

const struct probe_kind probe_kind_log_match = {
	.name = "log-match",
	.parse = lm_parse,
	.free_config = lm_free_config,
	.run = lm_run,
	.cancel = NULL,
	.reset = lm_reset,
};
