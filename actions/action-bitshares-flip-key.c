/*
 * bitshares-flip-key: move a BitShares witness to its next backup signing
 * key, as the witness monitors do when blocks are missed, and check that
 * the chain took it.  One request at a time, each on the loop:
 *
 *   read    get_witness_by_account on the node: the current signing_key;
 *           the next key is the one after it in keys (round-robin), or
 *           the first when the current one is not listed.
 *   unlock  cli_wallet "unlock" with the password, read from its file
 *           only now.
 *   update  update_witness(witness, url, next key, true); journaled
 *           (fsync'd) as soon as the wallet answers.
 *   lock    cli_wallet "lock" (unless lock: false), also after a failed
 *           update_witness.
 *   verify  get_witness_by_account on the node every poll_interval until
 *           signing_key is the next key (ok) or verify_timeout (failed).
 *
 * The password is wiped once unlock is answered, and every reply is
 * scrubbed of it before anything looks at the text.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "action.h"
#include "journal.h"
#include "log.h"
#include "probe.h"
#include "probe-bitshares-witness.h"
#include "program.h"
#include "rpc.h"
#include "secret.h"
#include "util.h"

#define FK_READ		0
#define FK_UNLOCK	1
#define FK_UPDATE	2
#define FK_LOCK		3
#define FK_VERIFY	4

#define FK_ERRLEN	160
#define FK_MAXKEY	128

struct fk_cfg {
	json_t		*o;		/* the settings; owns the strings */
	struct rpc_endpoint wallet;	/* cli_wallet */
	struct rpc_endpoint node;	/* witness_node */
	const char	*password_file;
	const char	*witness;
	const char	*url;		/* the witness URL to set, or "" */
	const char	**keys;
	size_t		 nkeys;
	int		 lock;
	int64_t		 verify_timeout_ms;
	int64_t		 poll_ms;
	int64_t		 timeout_ms;
};

struct fk_state {
	struct action	*a;
	int		 step;
	struct rpc_call	*call;
	char		*pass;		/* the wallet password, while needed */
	int		 unlocked;
	int		 failed;	/* update failed: lock, then fail */
	char		 fail[220];
	char		 current[FK_MAXKEY + 1];
	const char	*next;		/* borrowed from the config */
	int64_t		 verify_ms;
	unsigned int	 polls;
	char		 last[FK_ERRLEN];
};

static const char *const fk_keys[] = {
	"wallet", "wallet_password_file", "witness", "keys", "node", "url",
	"lock", "verify_timeout", "poll_interval", "timeout", NULL
};
static const char *const fk_url_keys[] = { "url", NULL };

static void	fk_step(struct fk_state *);

/* A duration for messages: "1m", "45s", "1.5s". */
static void
fk_dur(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 != 0)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms >= 60000 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
}

/* {url: "http://..."} of the wallet or the node. */
static int
fk_parse_url(const json_t *o, const char *what, struct rpc_endpoint *ep,
    char **err)
{
	const char	*key = NULL;
	char		*e = NULL;

	if (!json_is_object(o)) {
		xasprintf(err, "%s must be a map: {url: http://HOST:PORT/rpc}",
		    what);
		return (-1);
	}
	if (probe_param_check_keys(o, fk_url_keys, &key, &e) == -1) {
		xasprintf(err, "%s: %s", what, e);
		free(e);
		return (-1);
	}
	ep->dialect = &rpc_graphene;
	return (rpc_endpoint_parse(o, RPC_EP_PLAIN, what, NULL, ep, &key,
	    err));
}

/* A public key: letters and digits ("BTS6..."). */
static int
fk_valid_key(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 20 || n > FK_MAXKEY)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return (0);
	return (1);
}

static void
fk_free_config(void *arg)
{
	struct fk_cfg	*c = arg;

	if (c == NULL)
		return;
	free(c->keys);
	json_decref(c->o);
	free(c);
}

static void *
fk_parse(const json_t *o, char **err)
{
	struct fk_cfg	*c;
	const char	*key = NULL;
	char		*e = NULL;
	json_t		*keys, *v;
	size_t		 i, j;
	int		 rc;

	if (!json_is_object(o)) {
		xasprintf(err, "bitshares-flip-key takes a map: {wallet, "
		    "wallet_password_file, witness, keys, node, ...}");
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->url = "";
	c->lock = 1;
	c->verify_timeout_ms = 60000;
	c->poll_ms = 3000;
	c->timeout_ms = 10000;
	if (probe_param_check_keys(o, fk_keys, &key, &e) == -1 ||
	    probe_param_string(o, "wallet_password_file", 1,
	    &c->password_file, &key, &e) == -1 ||
	    probe_param_string(o, "witness", 1, &c->witness, &key, &e) == -1 ||
	    probe_param_string(o, "url", 0, &c->url, &key, &e) == -1 ||
	    probe_param_bool(o, "lock", &c->lock, &key, &e) == -1 ||
	    probe_param_duration(o, "verify_timeout", &c->verify_timeout_ms,
	    &key, &e) == -1 ||
	    probe_param_duration(o, "poll_interval", &c->poll_ms, &key,
	    &e) == -1 ||
	    probe_param_duration(o, "timeout", &c->timeout_ms, &key,
	    &e) == -1) {
		*err = e;
		goto fail;
	}
	if (json_object_get(o, "wallet") == NULL) {
		xasprintf(err, "wallet is required: {url} of cli_wallet's HTTP "
		    "RPC (-H)");
		goto fail;
	}
	if (json_object_get(o, "node") == NULL) {
		xasprintf(err, "node is required: {url} of a witness_node RPC "
		    "that follows the chain");
		goto fail;
	}
	if (fk_parse_url(json_object_get(o, "wallet"), "wallet", &c->wallet,
	    err) == -1 ||
	    fk_parse_url(json_object_get(o, "node"), "node", &c->node,
	    err) == -1)
		goto fail;
	if (strncmp(c->witness, "1.6.", 4) == 0 ||
	    !bitshares_valid_witness(c->witness)) {
		xasprintf(err, "witness must be the witness's account name "
		    "(init0), as update_witness takes it");
		goto fail;
	}
	keys = json_object_get(o, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0) {
		xasprintf(err, "keys is required: a list of the witness's "
		    "signing public keys (BTS...), flipped round-robin");
		goto fail;
	}
	c->keys = xcalloc(json_array_size(keys), sizeof(*c->keys));
	json_array_foreach(keys, i, v) {
		if (!json_is_string(v) || !fk_valid_key(json_string_value(v))) {
			xasprintf(err, "keys: entry %zu is not a public key "
			    "(letters and digits, like BTS6...)", i + 1);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcmp(c->keys[j], json_string_value(v)) == 0) {
				xasprintf(err, "keys: entry %zu repeats entry "
				    "%zu", i + 1, j + 1);
				goto fail;
			}
		c->keys[c->nkeys++] = json_string_value(v);
	}
	if (c->verify_timeout_ms < 1000) {
		xasprintf(err, "verify_timeout must be at least 1s");
		goto fail;
	}
	if (c->poll_ms < 100 || c->timeout_ms < 100) {
		xasprintf(err, "poll_interval and timeout must be at least "
		    "100ms");
		goto fail;
	}
	if ((rc = secret_file_check(c->password_file, &e)) == SECRET_MISSING) {
		log_warnx("bitshares-flip-key: wallet_password_file: %s (the "
		    "action fails until it exists)", e);
		free(e);
	} else if (rc == -1) {
		xasprintf(err, "wallet_password_file: %s", e);
		free(e);
		goto fail;
	}
	return (c);
fail:
	fk_free_config(c);
	return (NULL);
}

/* Forget the request in flight and the password. */
static void
fk_clear_request(struct fk_state *st)
{
	rpc_cancel(st->call);
	st->call = NULL;
	secret_free(st->pass);
	st->pass = NULL;
}

static void
fk_finish(struct fk_state *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* End the action: free everything first, action_done() may free a. */
static void
fk_finish(struct fk_state *st, int ok, const char *fmt, ...)
{
	struct action	*a = st->a;
	char		 msg[240];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fk_clear_request(st);
	ev_timer_stop(EV_DEFAULT, &a->timer);
	free(st);
	a->state = NULL;
	action_done(a, ok, "%s", msg);
}

static void	fk_reply_cb(void *, const struct rpc_reply *);
static void	fk_witness_reply(struct fk_state *, const struct rpc_reply *);

/* A reply's text, scrubbed of the password while it is in flight. */
static char *
fk_scrub(void *arg, const char *text, size_t len, size_t *outlen)
{
	struct fk_state	*st = arg;
	const char	*secrets[2];

	secrets[0] = st->pass;
	secrets[1] = NULL;
	return (secret_scrub(text, len, st->pass != NULL ? secrets :
	    secrets + 1, outlen));
}

/* A JSON-RPC 2.0 call (params stolen: they may hold the password). */
static int
fk_send(struct fk_state *st, const struct rpc_endpoint *ep,
    const char *method, json_t *params)
{
	struct fk_cfg	*c = st->a->cfg->kcfg;
	struct rpc_opts	 o;
	char		 err[FK_ERRLEN];

	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)c->timeout_ms;
	o.max_body = 256 * 1024;
	o.filter = fk_scrub;
	if ((st->call = rpc_call(ep, method, params, &o, fk_reply_cb, st, err,
	    sizeof(err))) == NULL)
		return (-1);
	return (0);
}

/* get_witness_by_account to the node (read and verify). */
static void
fk_send_read(struct fk_state *st)
{
	struct fk_cfg		*c = st->a->cfg->kcfg;
	struct rpc_reply	 none;

	st->polls++;
	if (fk_send(st, &c->node, "call", json_pack("[s,s,[s]]", "database",
	    "get_witness_by_account", c->witness)) == -1) {
		rpc_reply_transport(&none, "cannot make a request", 0);
		fk_witness_reply(st, &none);
	}
}

static void
fk_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct action	*a = w->data;

	(void)loop;
	(void)revents;
	fk_send_read(a->state);
}

/* Ask the node again after poll_interval. */
static void
fk_again(struct fk_state *st)
{
	struct fk_cfg	*c = st->a->cfg->kcfg;

	ev_timer_init(&st->a->timer, fk_timer_cb,
	    (ev_tstamp)c->poll_ms / 1000.0, 0.);
	st->a->timer.data = st->a;
	ev_timer_start(EV_DEFAULT, &st->a->timer);
}

/* unlock, with the password read now. */
static void
fk_send_unlock(struct fk_state *st)
{
	struct fk_cfg	*c = st->a->cfg->kcfg;
	char		*e = NULL;

	if ((st->pass = secret_file_read(c->password_file, &e)) == NULL) {
		fk_finish(st, 0, "wallet_password_file: %s; the signing key "
		    "was not changed", e);
		free(e);
		return;
	}
	if (fk_send(st, &c->wallet, "unlock", json_pack("[s]", st->pass)) ==
	    -1)
		fk_finish(st, 0, "wallet: cannot make a request to %s",
		    c->wallet.url);
}

/* update_witness(witness, url, next key, broadcast). */
static void
fk_send_update(struct fk_state *st)
{
	struct fk_cfg	*c = st->a->cfg->kcfg;

	if (fk_send(st, &c->wallet, "update_witness", json_pack("[s,s,s,b]",
	    c->witness, c->url, st->next, 1)) == -1) {
		snprintf(st->fail, sizeof(st->fail), "wallet: cannot make a "
		    "request to %s; the signing key was not changed",
		    c->wallet.url);
		st->failed = 1;
		st->step = FK_LOCK;
		fk_step(st);
	}
}

/* Begin the current step. */
static void
fk_step(struct fk_state *st)
{
	struct fk_cfg	*c = st->a->cfg->kcfg;

	switch (st->step) {
	case FK_READ:
		fk_send_read(st);
		break;
	case FK_UNLOCK:
		fk_send_unlock(st);
		break;
	case FK_UPDATE:
		fk_send_update(st);
		break;
	case FK_LOCK:
		if (st->unlocked && c->lock) {
			st->unlocked = 0;
			if (fk_send(st, &c->wallet, "lock", NULL) == 0)
				break;
			log_warnx("%s: bitshares-flip-key: cannot lock the "
			    "wallet", action_program(st->a)->pc->name);
		}
		if (st->failed)
			fk_finish(st, 0, "%s", st->fail);
		else {
			st->step = FK_VERIFY;
			st->verify_ms = now_ms();
			st->polls = 0;
			st->last[0] = '\0';
			fk_again(st);
		}
		break;
	}
}

/* Journal the broadcast at once (fsync'd): a crash must not lose it. */
static void
fk_journal_update(struct fk_state *st)
{
	struct action	*a = st->a;
	char		 msg[240];

	snprintf(msg, sizeof(msg), "update_witness broadcast: %s -> %s",
	    st->current, st->next);
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "event", "progress", "of", (json_int_t)a->seq, "program",
	    action_program(a)->pc->name, "rule", a->job->rs->rc->name,
	    "action", a->cfg->kind->name, "from", st->current, "to", st->next,
	    "result", msg), 1);
	log_info("%s: rule %s: bitshares-flip-key: %s",
	    action_program(a)->pc->name, a->job->rs->rc->name, msg);
}

/* The witness object from the node, in the read or verify step. */
static void
fk_witness_reply(struct fk_state *st, const struct rpc_reply *rep)
{
	struct fk_cfg		*c = st->a->cfg->kcfg;
	struct bitshares_witness w;
	char			 t1[32], t2[32];
	int64_t			 spent;
	size_t			 i;
	int			 rc;

	if ((rc = rpc_reply_reason(rep, RPC_WORD_NAMED, "witness", st->last,
	    sizeof(st->last))) == 0 && (rc = bitshares_check_witness(
	    rep->result, &w, st->last, sizeof(st->last))) ==
	    BITSHARES_NOT_FOUND)
		snprintf(st->last, sizeof(st->last), "witness %s not found",
		    c->witness);
	if (st->step == FK_READ) {
		if (rc != 0) {
			fk_finish(st, 0, "node: %s; the signing key was not "
			    "changed", st->last);
			return;
		}
		snprintf(st->current, sizeof(st->current), "%s",
		    w.signing_key);
		for (i = 0; i < c->nkeys; i++)
			if (strcmp(c->keys[i], st->current) == 0)
				break;
		st->next = c->keys[i < c->nkeys ? (i + 1) % c->nkeys : 0];
		if (strcmp(st->next, st->current) == 0) {
			fk_finish(st, 0, "the signing key %s is the only one "
			    "in keys: no key to flip to", st->current);
			return;
		}
		st->step = FK_UNLOCK;
		fk_step(st);
		return;
	}
	/* FK_VERIFY */
	spent = now_ms() - st->verify_ms;
	if (rc == 0 && strcmp(w.signing_key, st->next) == 0) {
		fk_dur(t1, sizeof(t1), spent);
		fk_finish(st, 1, "signing key of %s flipped %s -> %s, on chain "
		    "after %s", c->witness, st->current, st->next, t1);
		return;
	}
	if (rc == 0)
		snprintf(st->last, sizeof(st->last), "the chain shows %s",
		    w.signing_key);
	if (spent + c->poll_ms > c->verify_timeout_ms) {
		fk_dur(t1, sizeof(t1), c->verify_timeout_ms);
		fk_dur(t2, sizeof(t2), spent);
		fk_finish(st, 0, "update_witness to %s broadcast, but not on "
		    "chain within %s (%s after %u checks in %s)", st->next, t1,
		    st->last, st->polls, t2);
		return;
	}
	fk_again(st);
}

/* A reply from the node or the wallet, scrubbed of the password already. */
static void
fk_reply_cb(void *arg, const struct rpc_reply *rep)
{
	struct fk_state	*st = arg;
	char		 err[FK_ERRLEN];
	json_t		*k;
	int		 rc;

	st->call = NULL;
	secret_free(st->pass);
	st->pass = NULL;
	rc = rpc_reply_reason(rep, RPC_WORD_NAMED, NULL, err, sizeof(err));
	switch (st->step) {
	case FK_READ:
	case FK_VERIFY:
		fk_witness_reply(st, rep);
		break;
	case FK_UNLOCK:
		if (rc == -1) {
			fk_finish(st, 0, "wallet: unlock refused: %s; the "
			    "signing key was not changed", err);
			break;
		}
		st->unlocked = 1;
		st->step = FK_UPDATE;
		fk_step(st);
		break;
	case FK_UPDATE:
		if (rc == -1) {
			snprintf(st->fail, sizeof(st->fail), "wallet: "
			    "update_witness to %s: %.100s%s", st->next, err,
			    rep->rc == RPC_TRANSPORT ? " (it may have been "
			    "broadcast: check the chain)" : "");
			st->failed = 1;
		} else {
			/* The operation names the key it sets, if shown. */
			k = json_object_get(json_array_get(json_array_get(
			    json_object_get(rep->result, "operations"), 0), 1),
			    "new_signing_key");
			if (json_is_string(k) && strcmp(json_string_value(k),
			    st->next) != 0) {
				snprintf(st->fail, sizeof(st->fail), "wallet: "
				    "update_witness set another key than %s",
				    st->next);
				st->failed = 1;
			}
			fk_journal_update(st);
		}
		st->step = FK_LOCK;
		fk_step(st);
		break;
	case FK_LOCK:
		if (rc == -1)
			log_warnx("%s: bitshares-flip-key: lock: %s",
			    action_program(st->a)->pc->name, err);
		fk_step(st);	/* st->unlocked is 0: on to verify or fail */
		break;
	}
}

static void
fk_start(struct action *a)
{
	struct fk_state	*st;

	st = xcalloc(1, sizeof(*st));
	st->a = a;
	st->step = FK_READ;
	a->state = st;
	fk_step(st);
}

static void
fk_cancel(struct action *a)
{
	struct fk_state	*st = a->state;

	if (st == NULL)
		return;
	fk_clear_request(st);
	ev_timer_stop(EV_DEFAULT, &a->timer);
	free(st);
	a->state = NULL;
}

const struct action_kind action_kind_bitshares_flip_key = {
	.name = "bitshares-flip-key",
	.chain = 1,
	.parse = fk_parse,
	.free_config = fk_free_config,
	.start = fk_start,
	.cancel = fk_cancel,
	.poll = NULL,
};
