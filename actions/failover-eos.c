/*
 * EOS producer failover.  Every host of one producer (the primary and its
 * backups) runs nodeos with --pause-on-startup, and chainkeeperd alone
 * decides who resumes.  Each tick it reads get_info, producer/paused and
 * net/connections, and it reads the node's "Produced block" and "Received
 * block" log lines: the first are this host's blocks, the second every
 * block that came from the network, which for the producer's own account
 * means another host signed it.
 *
 *  - The producer's last block is known only from what this run of nodeos
 *    showed (a log line or a head block); a run that has seen none does
 *    not resume by itself.
 *  - A paused host resumes only inside its window: the producer's last
 *    block is between rounds + 1/8 and rounds + 1/2 rounds old (primary
 *    1, first backup 2, second backup 6), and its node is synced and
 *    healthy.  Hosts of different rounds thus decide in different gaps
 *    between two turns of the producer, and each sees the turn of the one
 *    before; a host whose window passed (it was down) stays paused.
 *  - A producing backup pauses as soon as its node receives a block of the
 *    producer from the network (nodeos keeps its own block for a slot it
 *    signed, so the other host's block is received, not the head), or sees
 *    such a head, or when its node turns unhealthy.
 *  - A primary that has seen another host produce never resumes by itself
 *    again: it takes over only by an explicit, journaled hand-back.
 *  - A node found producing without chainkeeperd having resumed that very
 *    process is paused at once.
 *  - A producing node that has not answered for half a round is killed
 *    (SIGKILL), so that it cannot wake up producing beside a backup.
 *
 * Every pause, resume and kill is journaled (fsync'd) before and after.
 */
#include "autoconf.h"

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "action.h"
#include "failover-eos.h"
#include "journal.h"
#include "log.h"
#include "logpipe.h"
#include "probe.h"
#include "probe-nodeos.h"
#include "program.h"
#include "rpc.h"
#include "state.h"
#include "util.h"

#define OWN_RING	256	/* own produced block numbers remembered */
#define SUSPECT_MS	1000	/* grace for our own block's log line */
#define ROLE_PRIMARY	0
#define ROLE_BACKUP	1

struct eosfo_cfg {
	json_t		*params;	/* a reference */
	const char	*producer;
	int		 role;
	int		 rounds;
	int64_t		 round_ms;
	struct rpc_endpoint ep;		/* the node's */
	int64_t		 interval_ms;
	int		 min_peers;
	int64_t		 lib_stall_ms;
	int64_t		 max_head_age_ms;
	int		 stream_stderr;
};

struct eosfo {
	struct program	*prog;		/* borrowed */
	const struct eosfo_cfg *cfg;	/* borrowed from prog->pc */
	ev_timer	 tick;
	struct rpc_call	*req[3];
	int		 pending;
	int		 failed;
	char		 error[160];
	/* This tick's answers. */
	long long	 head;
	long long	 lib;
	char		 head_producer[16];
	double		 head_age_ms;
	int		 paused;
	int		 peers;
	/* What was seen. */
	int64_t		 watch_start;
	int64_t		 lib_changed_ms;
	long long	 last_lib;
	char		 own[OWN_RING][17];	/* ids (16 hex) of own blocks */
	unsigned int	 own_next;
	char		 head_id[65];
	int64_t		 head_time;	/* chain time of the head, ms */
	long long	 first_head;	/* head at the first answer, or -1 */
	int64_t		 run_wall;	/* wall clock when this watch began */
	int64_t		 last_block;	/* chain time of the producer's last
					   block this run saw, or 0 */
	int64_t		 evidence_after; /* blocks up to this chain time
					   tell nothing of another host */
	int64_t		 received;	/* chain time of the newest block of
					   the producer that came from the
					   network since the last tick, or 0 */
	int64_t		 answer_ms;	/* monotonic: last full answer */
	int		 producing;	/* the last answer: not paused */
	int		 killed;	/* SIGKILL sent to this run */
	int		 late_said;
	int		 dry_last;	/* dry run: last decision said, or -1 */
	char		 suspect[65];	/* a producer block not (yet) ours */
	int64_t		 suspect_ms;	/* when it was first seen */
	int		 other_seen;	/* another host produced this run */
	int		 healthy;
	char		 why[200];	/* of the last decision or wait */
	int		 acting;	/* a pause/resume request in flight */
	struct rpc_call	*act_req;
	uint64_t	 act_seq;
	int		 act_resume;
	/* Log lines of the node, for its own "Produced block". */
	struct logfile	*lf;
	char		 line[1024];
	size_t		 linelen;
	regex_t		 re;
};

static const char *const eosfo_keys[] = { "producer", "role", "rounds",
    "round", "url", "interval", "min_peers", "lib_stall", "max_head_age",
    "log", NULL };

void
eosfo_free_config(void *arg)
{
	struct eosfo_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

/* eos_failover: settings, checked at config load. */
void *
eosfo_parse(const json_t *o, const char **key, char **err)
{
	struct eosfo_cfg	*c;
	const char		*role = NULL, *log = "stderr";
	long long		 v;

	if (!json_is_object(o)) {
		*key = NULL;
		xasprintf(err, "eos_failover takes a map: {producer, role, ...}");
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->ep.dialect = &rpc_nodeos;
	c->ep.url = "http://127.0.0.1:8888";
	c->round_ms = 126000;
	c->interval_ms = 1000;
	c->min_peers = 1;
	c->lib_stall_ms = 20000;
	c->max_head_age_ms = 10000;
	c->rounds = -1;
	if (probe_param_check_keys(o, eosfo_keys, key, err) == -1 ||
	    probe_param_string(o, "producer", 1, &c->producer, key, err) ==
	    -1 ||
	    probe_param_string(o, "role", 1, &role, key, err) == -1 ||
	    rpc_endpoint_parse(o, RPC_EP_LAX, NULL, NULL, &c->ep, key,
	    err) == -1 ||
	    probe_param_string(o, "log", 0, &log, key, err) == -1 ||
	    probe_param_duration(o, "round", &c->round_ms, key, err) == -1 ||
	    probe_param_duration(o, "interval", &c->interval_ms, key, err) ==
	    -1 ||
	    probe_param_duration(o, "lib_stall", &c->lib_stall_ms, key, err) ==
	    -1 ||
	    probe_param_duration(o, "max_head_age", &c->max_head_age_ms, key,
	    err) == -1)
		goto fail;
	v = -1;
	if (probe_param_int(o, "rounds", 1, 1000, &v, key, err) == -1)
		goto fail;
	c->rounds = (int)v;
	v = c->min_peers;
	if (probe_param_int(o, "min_peers", 0, 10000, &v, key, err) == -1)
		goto fail;
	c->min_peers = (int)v;
	if (strcmp(role, "primary") == 0)
		c->role = ROLE_PRIMARY;
	else if (strcmp(role, "backup") == 0)
		c->role = ROLE_BACKUP;
	else {
		*key = "role";
		xasprintf(err, "role must be primary or backup");
		goto fail;
	}
	if (c->rounds == -1)
		c->rounds = c->role == ROLE_PRIMARY ? 1 : 2;
	if (strlen(c->producer) > 12) {
		*key = "producer";
		xasprintf(err, "an EOS account name has at most 12 characters");
		goto fail;
	}
	if (strcmp(log, "stderr") != 0 && strcmp(log, "stdout") != 0) {
		*key = "log";
		xasprintf(err, "log must be stderr or stdout (where nodeos "
		    "writes \"Produced block\")");
		goto fail;
	}
	c->stream_stderr = strcmp(log, "stderr") == 0;
	if (c->interval_ms < 100 || c->round_ms < c->interval_ms) {
		*key = "interval";
		xasprintf(err, "interval must be at least 100ms and shorter "
		    "than a round");
		goto fail;
	}
	return (c);
fail:
	eosfo_free_config(c);
	return (NULL);
}

/* The controller's persistent record in state.json (borrowed). */
static json_t *
eosfo_record(const struct program *p)
{
	return (state_program_get(p->pc->name, "eos_failover"));
}

static int
eosfo_flag(const struct program *p, const char *flag)
{
	return (json_is_true(json_object_get(eosfo_record(p), flag)));
}

static void
eosfo_set_flag(const struct program *p, const char *flag, int on)
{
	json_t	*r = json_deep_copy(eosfo_record(p));

	if (r == NULL)
		r = json_object();
	json_object_set_new(r, flag, json_boolean(on));
	state_program_set(p->pc->name, "eos_failover", r);	/* steals r */
}

/* The identity of the running nodeos process: pid and start time. */
static void
eosfo_run_id(const struct program *p, char *buf, size_t len)
{
	snprintf(buf, len, "%ld:%llu", (long)p->pid, p->start_ticks);
}

/*
 * Whether chainkeeperd resumed this very nodeos process: a flag recorded
 * for another process (one that died while chainkeeperd was down, say)
 * means nothing.
 */
static int
eosfo_resumed(const struct program *p)
{
	json_t		*r = eosfo_record(p);
	const char	*rec;
	char		 id[64];

	if (p->pid <= 0 || !json_is_true(json_object_get(r, "resumed")))
		return (0);
	rec = json_string_value(json_object_get(r, "resumed_run"));
	eosfo_run_id(p, id, sizeof(id));
	return (rec != NULL && strcmp(rec, id) == 0);
}

/* Record whether chainkeeperd resumed the running nodeos process. */
static void
eosfo_set_resumed(const struct program *p, int on)
{
	json_t	*r = json_deep_copy(eosfo_record(p));
	char	 id[64];

	if (r == NULL)
		r = json_object();
	json_object_set_new(r, "resumed", json_boolean(on));
	if (on) {
		eosfo_run_id(p, id, sizeof(id));
		json_object_set_new(r, "resumed_run", json_string(id));
	} else
		json_object_del(r, "resumed_run");
	state_program_set(p->pc->name, "eos_failover", r);	/* steals r */
}

/* The wall clock in ms since the epoch: chain time is wall time. */
static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* EOS time "2022-10-14T06:06:53.500" (UTC) in ms since the epoch. */
static int64_t
eos_time_ms(const char *s)
{
	struct tm	 tm;
	char		*end;
	long		 ms = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL)
		return (-1);
	if (*end == '.')
		ms = strtol(end + 1, NULL, 10);
	return ((int64_t)timegm(&tm) * 1000 + ms);
}

/*
 * Whether the head block is one this node produced: by its id, not its
 * number, since two hosts producing the same slot make two blocks of the
 * same number (a fork) and each logs its own.  nodeos logs 16 hex digits
 * of the id: the first 16 (EOSIO 1.0) or, since, the 16 after the block
 * number.
 */
static int
own_block(const struct eosfo *f, const char *id)
{
	unsigned int	 i;
	size_t		 n = strlen(id);

	for (i = 0; i < OWN_RING; i++) {
		if (f->own[i][0] == '\0')
			continue;
		if (n >= 16 && strncmp(f->own[i], id, 16) == 0)
			return (1);
		if (n >= 24 && strncmp(f->own[i], id + 8, 16) == 0)
			return (1);
	}
	return (0);
}

static void	eosfo_act(struct eosfo *, int, const char *);

/*
 * A log line of the node.  A block of the producer, produced here or
 * received, tells when the producer last produced; one produced here is
 * remembered as our own; one received from the network was signed by
 * another host (nodeos never logs its own block as received), unless it
 * is older than what we know to be ours (from before this watch, or before
 * a resume by hand).
 */
static void
eosfo_line(struct eosfo *f, const char *line)
{
	regmatch_t	 m[6];
	char		 ts[32];
	size_t		 n;
	int64_t		 t;

	if (regexec(&f->re, line, 6, m, 0) != 0)
		return;
	n = (size_t)(m[5].rm_eo - m[5].rm_so);
	if (strlen(f->cfg->producer) != n ||
	    strncmp(line + m[5].rm_so, f->cfg->producer, n) != 0)
		return;
	n = (size_t)(m[4].rm_eo - m[4].rm_so);
	if (n >= sizeof(ts))
		return;
	memcpy(ts, line + m[4].rm_so, n);
	ts[n] = '\0';
	if ((t = eos_time_ms(ts)) < 0)
		return;
	if (t > f->last_block)
		f->last_block = t;
	if (line[m[1].rm_so] == 'R') {
		if (t <= f->evidence_after)
			return;
		if (t > f->received)
			f->received = t;
		/* A producing backup steps back now, not at the next tick. */
		if (f->cfg->role == ROLE_BACKUP && !f->paused) {
			snprintf(f->why, sizeof(f->why), "a block of %s came "
			    "from another host", f->cfg->producer);
			eosfo_act(f, 0, f->why);
		}
		return;
	}
	n = (size_t)(m[2].rm_eo - m[2].rm_so);
	if (n > 16)
		n = 16;
	memcpy(f->own[f->own_next], line + m[2].rm_so, n);
	f->own[f->own_next][n] = '\0';
	f->own_next = (f->own_next + 1) % OWN_RING;
}

static void
eosfo_log_cb(void *arg, const char *buf, size_t len)
{
	struct eosfo	*f = arg;
	size_t		 i;

	if (buf == NULL) {
		f->lf = NULL;	/* the log file is going away */
		return;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			f->line[f->linelen] = '\0';
			eosfo_line(f, f->line);
			f->linelen = 0;
		} else if (f->linelen < sizeof(f->line) - 1)
			f->line[f->linelen++] = buf[i];
	}
}

static void	eosfo_decide(struct eosfo *);

/* The answer to a pause or resume. */
static void
eosfo_act_cb(void *arg, const struct rpc_reply *r)
{
	struct eosfo	*f = arg;
	int		 ok = r->rc != RPC_TRANSPORT && r->status >= 200 &&
			    r->status <= 299;
	const char	*error = r->rc == RPC_TRANSPORT ? r->text : NULL;

	f->act_req = NULL;
	f->acting = 0;
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s}", "event",
	    "end", "of", (json_int_t)f->act_seq, "program",
	    f->prog->pc->name, "rule", "eos-failover", "action",
	    f->act_resume ? "resume" : "pause", "ok", ok, "result",
	    ok ? "done" : (error != NULL ? error : "HTTP error")), 1);
	if (!ok) {
		log_warnx("%s: eos-failover: %s failed: %s (HTTP %ld)",
		    f->prog->pc->name, f->act_resume ? "resume" : "pause",
		    error != NULL ? error : "", r->status);
		return;
	}
	f->paused = !f->act_resume;
	f->producing = f->act_resume;
	eosfo_set_resumed(f->prog, f->act_resume);
	log_info("%s: eos-failover: %s done", f->prog->pc->name,
	    f->act_resume ? "resumed production" : "paused production");
}

/* --dry-run: say what would be done, journal it, do nothing. */
static int
action_dry_run_eos(struct eosfo *f, int resume, const char *why)
{
	uint64_t	 seq;

	if (!action_dry_run)
		return (0);
	if (f->dry_last == resume)
		return (1);	/* said already */
	f->dry_last = resume;
	log_info("%s: eos-failover: dry run: would %s production: %s",
	    f->prog->pc->name, resume ? "resume" : "pause", why);
	seq = journal_append(json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "event",
	    "begin", "program", f->prog->pc->name, "rule", "eos-failover",
	    "action", resume ? "resume" : "pause", "why", why, "dry_run", 1),
	    0);
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s,s:b}",
	    "event", "end", "of", (json_int_t)seq, "program",
	    f->prog->pc->name, "rule", "eos-failover", "action",
	    resume ? "resume" : "pause", "ok", 1, "result", "dry run: not done",
	    "dry_run", 1), 0);
	return (1);
}

/* Pause or resume, journaled before and after. */
static void
eosfo_act(struct eosfo *f, int resume, const char *why)
{
	struct rpc_opts		 o;
	char			 err[RPC_TEXTLEN];

	if (f->acting || action_dry_run_eos(f, resume, why))
		return;
	f->act_resume = resume;
	if (resume && f->evidence_after < wall_ms())
		f->evidence_after = wall_ms();
	f->act_seq = journal_append(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
	    "event", "begin", "program", f->prog->pc->name, "rule",
	    "eos-failover", "action", resume ? "resume" : "pause", "role",
	    f->cfg->role == ROLE_PRIMARY ? "primary" : "backup", "why", why),
	    1);
	log_warnx("%s: eos-failover: %s production: %s", f->prog->pc->name,
	    resume ? "RESUMING" : "PAUSING", why);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)f->cfg->interval_ms * 3;
	f->acting = 1;
	if ((f->act_req = rpc_call(&f->cfg->ep, resume ?
	    "/v1/producer/resume" : "/v1/producer/pause", NULL, &o,
	    eosfo_act_cb, f, err, sizeof(err))) == NULL) {
		f->acting = 0;
		log_warnx("%s: eos-failover: %s", f->prog->pc->name, err);
	}
}

/*
 * A producing node that has not answered for half a round is killed, so
 * that a hung nodeos cannot wake up producing beside a backup: a backup
 * takes over two rounds after the producer's last block at the earliest.
 * It comes back paused (--pause-on-startup).
 */
static void
eosfo_hung(struct eosfo *f, int64_t now)
{
	struct program	*p = f->prog;
	uint64_t	 seq;
	int		 rc = 0;

	if (f->killed || !f->producing ||
	    now - f->answer_ms < f->cfg->round_ms / 2)
		return;
	f->killed = 1;
	snprintf(f->why, sizeof(f->why), "nodeos produced and has not "
	    "answered for %lld ms (half a round): killed, so that it cannot "
	    "wake up producing", (long long)(now - f->answer_ms));
	log_warnx("%s: eos-failover: KILLING nodeos (pid %ld): %s",
	    p->pc->name, (long)p->pid, f->why);
	seq = journal_append(json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "event",
	    "begin", "program", p->pc->name, "rule", "eos-failover", "action",
	    "kill", "why", f->why, "dry_run", action_dry_run), 1);
	if (!action_dry_run)
		rc = program_signal(p, SIGKILL);
	if (rc == -1)
		log_warn("%s: eos-failover: kill", p->pc->name);
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s}", "event",
	    "end", "of", (json_int_t)seq, "program", p->pc->name, "rule",
	    "eos-failover", "action", "kill", "ok", rc == 0, "result",
	    action_dry_run ? "dry run: not done" : rc == 0 ? "SIGKILL sent" :
	    "kill failed"), 1);
}

/* One tick's three answers are in: decide. */
static void
eosfo_decide(struct eosfo *f)
{
	const struct eosfo_cfg	*c = f->cfg;
	struct program		*p = f->prog;
	int64_t			 now = now_ms(), missing, lo, hi;
	int			 other = 0, handback, rounds;

	if (f->failed) {
		snprintf(f->why, sizeof(f->why), "nodeos does not answer: %s",
		    f->error);
		f->healthy = 0;
		eosfo_hung(f, now);
		return;
	}
	f->answer_ms = now;
	f->producing = !f->paused;
	if (f->lib != f->last_lib) {
		f->last_lib = f->lib;
		f->lib_changed_ms = now;
	}
	/*
	 * A block of the producer that its node received from the network,
	 * newer than a resume by hand made since it was read.
	 */
	if (f->received != 0) {
		other = f->received > f->evidence_after;
		f->received = 0;
	}
	/*
	 * A head block of the producer that this node did not log as its
	 * own: while paused, another host made it; while producing, give our
	 * own log line time to arrive before believing so: a tick, and at
	 * least SUSPECT_MS (nodeos logs its block as it makes it; a loaded
	 * host may read the line later).
	 */
	if (f->suspect[0] != '\0') {
		if (own_block(f, f->suspect))
			f->suspect[0] = '\0';
		else if (now - f->suspect_ms >= SUSPECT_MS &&
		    now - f->suspect_ms >= f->cfg->interval_ms) {
			other = 1;
			f->suspect[0] = '\0';
		}
	}
	/*
	 * Blocks up to the first head seen may be our own from before this
	 * watch began (reexec, a restart of nodeos): their log lines were not
	 * read, so they tell nothing about another host.
	 */
	if (f->first_head == -1)
		f->first_head = f->head;
	if (strcmp(f->head_producer, c->producer) == 0) {
		if (f->head_time > f->last_block)
			f->last_block = f->head_time;
		if (f->head > f->first_head && f->head_time > f->evidence_after &&
		    !own_block(f, f->head_id)) {
			/*
			 * Paused and never resumed here: another host made
			 * it.  Once resumed here, a "paused" reply may be
			 * from a poll sent before the resume, and the block
			 * our own whose log line has yet to be read.
			 */
			if (f->paused && !eosfo_resumed(p))
				other = 1;
			else if (f->suspect[0] == '\0') {
				snprintf(f->suspect, sizeof(f->suspect), "%s",
				    f->head_id);
				f->suspect_ms = now;
			}
		}
	}
	f->healthy = now - f->lib_changed_ms <= c->lib_stall_ms &&
	    f->head_age_ms <= (double)c->max_head_age_ms &&
	    f->peers >= c->min_peers;
	if (other && !f->other_seen)
		log_info("%s: eos-failover: a block of %s was produced by "
		    "another host", p->pc->name, c->producer);
	if (other)
		f->other_seen = 1;
	if (other && c->role == ROLE_PRIMARY &&
	    !eosfo_flag(p, "handback_required")) {
		/* From now on only an explicit hand-back resumes here. */
		eosfo_set_flag(p, "handback_required", 1);
		journal_append(json_pack("{s:s,s:s,s:s,s:s}", "event",
		    "failover", "program", p->pc->name, "rule",
		    "eos-failover", "why", "another host is producing: "
		    "hand-back required"), 1);
	}

	if (!f->paused) {
		if (!eosfo_resumed(p)) {
			eosfo_act(f, 0, "producing without chainkeeperd having "
			    "resumed this nodeos process (start every host "
			    "with --pause-on-startup)");
			return;
		}
		if (c->role == ROLE_BACKUP && other) {
			snprintf(f->why, sizeof(f->why), "a block of %s came "
			    "from another host", c->producer);
			eosfo_act(f, 0, f->why);
			return;
		}
		if (c->role == ROLE_BACKUP && !f->healthy) {
			snprintf(f->why, sizeof(f->why), "own node unhealthy "
			    "(lib %lld ms ago, head %.0f ms old, %d peers)",
			    (long long)(now - f->lib_changed_ms),
			    f->head_age_ms, f->peers);
			eosfo_act(f, 0, f->why);
			return;
		}
		snprintf(f->why, sizeof(f->why), "producing");
		return;
	}
	/* Paused: resume only inside this host's window, and healthy. */
	handback = eosfo_flag(p, "handback");
	if (eosfo_flag(p, "hold")) {
		snprintf(f->why, sizeof(f->why), "paused by hand (failover "
		    "auto ends it)");
		return;
	}
	if (c->role == ROLE_PRIMARY && eosfo_flag(p, "handback_required") &&
	    !handback) {
		snprintf(f->why, sizeof(f->why), "a backup took over: waiting "
		    "for an explicit hand-back");
		return;
	}
	if (f->last_block <= 0) {
		snprintf(f->why, sizeof(f->why), "paused: no block of %s seen "
		    "since nodeos started, so its last block is not known "
		    "(failover resume starts production by hand)",
		    c->producer);
		return;
	}
	rounds = handback ? 1 : c->rounds;
	missing = wall_ms() - f->last_block;
	lo = rounds * c->round_ms + c->round_ms / 8;
	hi = handback ? INT64_MAX : rounds * c->round_ms + c->round_ms / 2;
	if (missing < lo) {
		snprintf(f->why, sizeof(f->why), "paused: %s's last block "
		    "%lld ms ago (resume from %lld ms)", c->producer,
		    (long long)missing, (long long)lo);
		return;
	}
	if (missing >= hi) {
		snprintf(f->why, sizeof(f->why), "paused: %s's last block "
		    "%lld ms ago, past this host's window (%lld to %lld ms): "
		    "another host's turn (failover resume to produce here)",
		    c->producer, (long long)missing, (long long)lo,
		    (long long)hi);
		if (!f->late_said)
			log_warnx("%s: eos-failover: %s", p->pc->name, f->why);
		f->late_said = 1;
		return;
	}
	if (!f->healthy) {
		snprintf(f->why, sizeof(f->why), "paused: %s missing, but own "
		    "node unhealthy (lib %lld ms ago, head %.0f ms old, %d "
		    "peers)", c->producer, (long long)(now - f->lib_changed_ms),
		    f->head_age_ms, f->peers);
		return;
	}
	snprintf(f->why, sizeof(f->why), "%s's last block %lld ms ago (%d "
	    "round%s), own node healthy%s", c->producer, (long long)missing,
	    rounds, rounds > 1 ? "s" : "", handback ? ": hand-back" : "");
	if (handback) {
		eosfo_set_flag(p, "handback", 0);
		eosfo_set_flag(p, "handback_required", 0);
	}
	eosfo_act(f, 1, f->why);
}

/* get_info's result: this tick's head, LIB and head producer. */
static void
eosfo_info(struct eosfo *f, const json_t *doc)
{
	int64_t	 t;

	if (!json_is_integer(json_object_get(doc, "head_block_num")) ||
	    !json_is_integer(json_object_get(doc,
	    "last_irreversible_block_num")) ||
	    !json_is_string(json_object_get(doc, "head_block_producer"))) {
		f->failed = 1;
		snprintf(f->error, sizeof(f->error), "get_info: missing or "
		    "wrong fields");
		return;
	}
	f->head = json_integer_value(json_object_get(doc, "head_block_num"));
	f->lib = json_integer_value(json_object_get(doc,
	    "last_irreversible_block_num"));
	snprintf(f->head_producer, sizeof(f->head_producer), "%s",
	    json_string_value(json_object_get(doc, "head_block_producer")));
	snprintf(f->head_id, sizeof(f->head_id), "%s",
	    json_is_string(json_object_get(doc, "head_block_id")) ?
	    json_string_value(json_object_get(doc, "head_block_id")) : "");
	t = eos_time_ms(json_string_value(json_object_get(doc,
	    "head_block_time")));
	f->head_time = t;
	f->head_age_ms = t < 0 ? 1e12 : (double)(wall_ms() - t);
}

/* One of this tick's three replies. */
static void
eosfo_reply(struct eosfo *f, int which, const struct rpc_reply *r)
{
	static const char *const what[3] = { "get_info", "paused",
	    "connections" };
	const json_t	*v;
	size_t		 i;

	f->req[which] = NULL;
	if (rpc_reply_reason(r, RPC_WORD_NAMED, what[which], f->error,
	    sizeof(f->error)) == -1) {
		f->failed = 1;
		return;
	}
	if (which == 0)
		eosfo_info(f, r->result);
	else if (which == 1) {
		if (nodeos_check_paused(r->result, &f->paused, f->error,
		    sizeof(f->error)) == -1)
			f->failed = 1;
	} else {
		f->peers = 0;
		json_array_foreach(r->result, i, v) {
			if (json_is_true(json_object_get(v, "connecting")))
				continue;
			if (json_is_false(json_object_get(v,
			    "is_socket_open")))
				continue;
			f->peers++;
		}
	}
}

static void
eosfo_info_cb(void *arg, const struct rpc_reply *r)
{
	struct eosfo	*f = arg;

	eosfo_reply(f, 0, r);
	if (--f->pending == 0)
		eosfo_decide(f);
}

static void
eosfo_paused_cb(void *arg, const struct rpc_reply *r)
{
	struct eosfo	*f = arg;

	eosfo_reply(f, 1, r);
	if (--f->pending == 0)
		eosfo_decide(f);
}

static void
eosfo_conn_cb(void *arg, const struct rpc_reply *r)
{
	struct eosfo	*f = arg;

	eosfo_reply(f, 2, r);
	if (--f->pending == 0)
		eosfo_decide(f);
}

static void
eosfo_cancel_requests(struct eosfo *f)
{
	int	 i;

	for (i = 0; i < 3; i++) {
		rpc_cancel(f->req[i]);
		f->req[i] = NULL;
	}
	f->pending = 0;
}

static void
eosfo_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct eosfo		*f = w->data;
	struct rpc_opts		 o;
	static const char	*paths[3] = { "/v1/chain/get_info",
				    "/v1/producer/paused",
				    "/v1/net/connections" };
	static rpc_done_cb	 cbs[3] = { eosfo_info_cb, eosfo_paused_cb,
				    eosfo_conn_cb };
	int			 i;

	(void)loop;
	(void)revents;
	if (f->pending > 0) {
		/* The last tick's answers are late: start over. */
		eosfo_cancel_requests(f);
		f->failed = 1;
		snprintf(f->error, sizeof(f->error), "no answer within %lld ms",
		    (long long)f->cfg->interval_ms);
		eosfo_decide(f);
	}
	f->failed = 0;
	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)f->cfg->interval_ms;
	o.max_body = 4 * 1024 * 1024;
	f->pending = 3;
	for (i = 0; i < 3; i++) {
		if ((f->req[i] = rpc_call(&f->cfg->ep, paths[i], NULL, &o,
		    cbs[i], f, f->error, sizeof(f->error))) == NULL) {
			eosfo_cancel_requests(f);
			f->failed = 1;
			eosfo_decide(f);
			return;
		}
	}
}

/* The nodeos program is RUNNING: start watching (from scratch). */
void
eosfo_start(struct program *p)
{
	struct eosfo	*f;

	if (p->pc->eos_failover == NULL || p->eosfo != NULL)
		return;
	f = xcalloc(1, sizeof(*f));
	f->prog = p;
	f->cfg = p->pc->eos_failover;
	f->paused = 1;
	f->watch_start = f->lib_changed_ms = now_ms();
	f->last_lib = -1;
	f->first_head = -1;
	f->dry_last = -1;
	f->answer_ms = f->watch_start;
	f->run_wall = f->evidence_after = wall_ms();
	/* Adopted after a reexec, still producing: watch it as producing. */
	f->producing = eosfo_resumed(p);
	if (!f->producing && eosfo_flag(p, "resumed"))
		eosfo_set_resumed(p, 0);	/* of a process now gone */
	if (regcomp(&f->re, "(Produced|Received) block ([0-9a-f]+)"
	    "\\.\\.\\. #([0-9]+) @ ([0-9T:.-]+) signed by ([a-z1-5.]+)",
	    REG_EXTENDED) != 0)
		fatalx("eos-failover: regcomp");
	f->lf = f->cfg->stream_stderr && !p->pc->redirect_stderr ? p->err :
	    p->out;
	if (f->lf != NULL)
		logfile_subscribe(f->lf, eosfo_log_cb, f);
	else
		log_warnx("%s: eos-failover: the node's log is not captured: "
		    "its own blocks cannot be told from another host's",
		    p->pc->name);
	snprintf(f->why, sizeof(f->why), "watching since start");
	ev_timer_init(&f->tick, eosfo_tick_cb, 0., (ev_tstamp)
	    f->cfg->interval_ms / 1000.0);
	f->tick.data = f;
	ev_timer_again(EV_DEFAULT, &f->tick);
	ev_feed_event(EV_DEFAULT, &f->tick, EV_TIMER);
	p->eosfo = f;
}

void
eosfo_stop(struct program *p)
{
	struct eosfo	*f = p->eosfo;

	if (f == NULL)
		return;
	ev_timer_stop(EV_DEFAULT, &f->tick);
	eosfo_cancel_requests(f);
	if (f->act_req != NULL) {
		rpc_cancel(f->act_req);
		journal_append(json_pack("{s:s,s:I,s:s,s:s,s:b,s:s}", "event",
		    "end", "of", (json_int_t)f->act_seq, "program",
		    p->pc->name, "rule", "eos-failover", "ok", 0, "result",
		    "cancelled: the node stopped"), 1);
	}
	if (f->lf != NULL)
		logfile_unsubscribe(f->lf, f);
	regfree(&f->re);
	free(f);
	p->eosfo = NULL;
}

/* nodeos exited: it comes back paused (--pause-on-startup). */
void
eosfo_exited(struct program *p)
{
	if (p->pc->eos_failover != NULL && eosfo_flag(p, "resumed"))
		eosfo_set_resumed(p, 0);
}

json_t *
eosfo_status_json(const struct program *p)
{
	const struct eosfo	*f = p->eosfo;
	const struct eosfo_cfg	*c = p->pc->eos_failover;
	json_t			*o;

	if (c == NULL)
		return (NULL);
	o = json_pack("{s:s,s:s,s:i,s:b,s:b,s:b}", "producer", c->producer,
	    "role", c->role == ROLE_PRIMARY ? "primary" : "backup", "rounds",
	    c->rounds, "resumed", eosfo_resumed(p),
	    "handback_required", eosfo_flag(p, "handback_required"), "hold",
	    eosfo_flag(p, "hold"));
	if (f != NULL) {
		json_object_set_new(o, "paused", json_boolean(f->paused));
		json_object_set_new(o, "healthy", json_boolean(f->healthy));
		json_object_set_new(o, "head", json_integer(f->head));
		json_object_set_new(o, "lib", json_integer(f->lib));
		json_object_set_new(o, "peers", json_integer(f->peers));
		json_object_set_new(o, "producer_last_block_ms_ago",
		    f->last_block > 0 ? json_integer((json_int_t)(wall_ms() -
		    f->last_block)) : json_null());
		json_object_set_new(o, "other_host_seen",
		    json_boolean(f->other_seen));
		json_object_set_new(o, "state", json_string(f->why));
	}
	return (o);
}

/*
 * chainkeeperctl failover NAME pause|auto|handback|resume: pause holds
 * production here until auto; handback lets a primary take over again once
 * the producer's last block is a round and an eighth old (pause the backup
 * first); resume forces production now (the operator's call).  Each is
 * journaled.
 */
int
eosfo_command(struct program *p, const char *cmd, char **err)
{
	struct eosfo	*f = p->eosfo;

	*err = NULL;
	if (p->pc->eos_failover == NULL) {
		xasprintf(err, "%s has no eos_failover", p->pc->name);
		return (-1);
	}
	journal_append(json_pack("{s:s,s:s,s:s,s:s}", "event", "failover",
	    "program", p->pc->name, "rule", "eos-failover", "why", cmd), 1);
	if (strcmp(cmd, "pause") == 0) {
		eosfo_set_flag(p, "hold", 1);
		if (f != NULL && !f->paused)
			eosfo_act(f, 0, "paused by hand");
	} else if (strcmp(cmd, "auto") == 0)
		eosfo_set_flag(p, "hold", 0);
	else if (strcmp(cmd, "handback") == 0) {
		eosfo_set_flag(p, "hold", 0);
		eosfo_set_flag(p, "handback", 1);
		if (f != NULL)
			f->evidence_after = wall_ms();
	} else if (strcmp(cmd, "resume") == 0) {
		if (f == NULL) {
			xasprintf(err, "%s is not running", p->pc->name);
			return (-1);
		}
		eosfo_set_flag(p, "hold", 0);
		eosfo_set_flag(p, "handback_required", 0);
		eosfo_set_resumed(p, 1);
		/*
		 * Blocks of the producer up to now tell nothing new, nor does
		 * one still held for a later tick.
		 */
		f->evidence_after = wall_ms();
		f->suspect[0] = '\0';
		eosfo_act(f, 1, "resumed by hand");
	} else {
		xasprintf(err, "failover commands: pause, auto, handback, "
		    "resume");
		return (-1);
	}
	return (0);
}
