/*
 * raptoreum-revive: bring a PoSe-banned Raptoreum smartnode back with
 * "protx update_service", sent through the JSON-RPC of the wallet that
 * holds the fee funds, then watch the smartnode's own RPC until the ban
 * clears.  One request at a time, each on the loop:
 *
 *   check   "protx info <hash>" on the node, asked again every
 *           poll_interval until it answers (ready_timeout).  Not banned:
 *           done, nothing sent.  No answer: failed, nothing sent (a hung
 *           node is for a hung rule to restart).
 *   unlock  "walletpassphrase <pw> 60", with wallet_passphrase_file.
 *   update  "protx update_service <hash> <ip:port> <operator secret>
 *           [payout [fee source]]" on the wallet; the txid is journaled
 *           (fsync'd) as soon as it comes back.
 *   lock    "walletlock", when this action unlocked the wallet.
 *   watch   "protx info <hash>" on the node every poll_interval until
 *           PoSeBanHeight is -1 (ok) or clear_timeout (failed).
 *
 * The settings hold only the paths of secrets.  A secret is read when its
 * request is built, kept until that request is answered, wiped, and every
 * reply is scrubbed of it before anything looks at the text.
 */
#include "autoconf.h"

#include <arpa/inet.h>

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
#include "probe-bitcoin-rpc.h"
#include "program.h"
#include "rpc.h"
#include "secret.h"
#include "util.h"

#define RV_CHECK	0
#define RV_UNLOCK	1
#define RV_UPDATE	2
#define RV_LOCK		3
#define RV_WATCH	4

#define RV_UNLOCK_SECS	60	/* walletpassphrase's timeout */
#define RV_MSG		220

struct rv_cfg {
	json_t		*o;		/* the settings; owns the strings */
	struct rpc_endpoint wallet;
	struct rpc_endpoint node;
	const char	*protx_hash;
	const char	*ip_port;
	const char	*operator_key_file;
	const char	*payout;
	const char	*fee_source;
	const char	*passphrase_file;
	int64_t		 clear_timeout_ms;
	int64_t		 ready_timeout_ms;
	int64_t		 poll_ms;
	int64_t		 timeout_ms;
};

struct rv_state {
	struct action	*a;
	int		 step;
	struct rpc_call	*call;
	char		*key;		/* the operator secret, while needed */
	char		*pass;		/* the wallet passphrase, same */
	int64_t		 step_ms;	/* when check or watch began */
	int		 unlocked;
	int		 failed;	/* update failed: lock, then fail */
	char		 fail[256];
	long long	 ban_height;
	long long	 revived_height;
	unsigned int	 polls;
	char		 txid[72];
	char		 last[BTC_ERRLEN];	/* last error while polling */
};

static const char *const rv_keys[] = {
	"wallet", "node", "protx_hash", "ip_port", "operator_key_file",
	"operator_payout_address", "fee_source_address",
	"wallet_passphrase_file", "clear_timeout", "ready_timeout",
	"poll_interval", "timeout", NULL
};
static void	rv_step(struct rv_state *);

/* A duration for messages: "30m", "45s", "1.5s". */
static void
rv_dur(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 != 0)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms >= 60000 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
}

/* Check a secret file setting at load; -1 with *err on a bad one. */
static int
rv_check_secret(const char *what, const char *path, char **err)
{
	char	*e = NULL;
	int	 rc;

	if ((rc = secret_file_check(path, &e)) == 0)
		return (0);
	if (rc == SECRET_MISSING) {
		log_warnx("raptoreum-revive: %s: %s (the action fails until "
		    "it exists)", what, e);
		free(e);
		return (0);
	}
	xasprintf(err, "%s: %s", what, e);
	free(e);
	return (-1);
}

/* url and credentials of the wallet or the node. */
static int
rv_parse_endpoint(const json_t *o, const char *what, struct rpc_endpoint *ep,
    char **err)
{
	const char	*key = NULL;
	char		*e = NULL, *w;

	if (!json_is_object(o)) {
		xasprintf(err, "%s must be a map: {url, cookie | user and "
		    "password_file}", what);
		return (-1);
	}
	if (probe_param_check_keys(o, rpc_endpoint_keys, &key, &e) == -1) {
		xasprintf(err, "%s: %s", what, e);
		free(e);
		return (-1);
	}
	ep->dialect = &rpc_bitcoind;
	/* A cookie is the daemon's own file; a password must be private. */
	ep->read_cookie = secret_file_read_any;
	ep->read_password = secret_file_read;
	if (rpc_endpoint_parse(o, RPC_EP_AUTH | RPC_EP_PLAIN, what, NULL, ep,
	    &key, err) == -1)
		return (-1);
	if (ep->password_file != NULL) {
		xasprintf(&w, "%s: password_file", what);
		if (rv_check_secret(w, ep->password_file, err) == -1) {
			free(w);
			return (-1);
		}
		free(w);
	}
	return (0);
}

/* "203.0.113.5:10226" or "[2001:db8::1]:10226". */
static int
rv_valid_ip_port(const char *s)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	unsigned char	 addr[16];
	const char	*colon;
	char		*end;
	long		 port;
	size_t		 n;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return (0);
		n = (size_t)(colon - s - 1);
		if (n == 0 || n >= sizeof(host))
			return (0);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			return (0);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return (0);
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(host))
			return (0);
		memcpy(host, s, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, addr) != 1)
			return (0);
	}
	if (!isdigit((unsigned char)colon[1]))
		return (0);
	port = strtol(colon + 1, &end, 10);
	return (*end == '\0' && port > 0 && port <= 65535);
}

/* A base58 address: letters and digits, 25 to 64 of them. */
static int
rv_valid_address(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 25 || n > 64)
		return (0);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return (0);
	return (1);
}

static void
rv_free_config(void *arg)
{
	struct rv_cfg	*c = arg;

	if (c == NULL)
		return;
	json_decref(c->o);
	free(c);
}

static void *
rv_parse(const json_t *o, char **err)
{
	struct rv_cfg	*c;
	const char	*key = NULL;
	char		*e = NULL;
	size_t		 i;

	if (!json_is_object(o)) {
		xasprintf(err, "raptoreum-revive takes a map: {wallet, node, "
		    "protx_hash, ip_port, operator_key_file, ...}");
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->o = json_incref((json_t *)o);
	c->clear_timeout_ms = 30 * 60 * 1000;
	c->ready_timeout_ms = 60 * 1000;
	c->poll_ms = 5000;
	c->timeout_ms = 10000;
	if (probe_param_check_keys(o, rv_keys, &key, &e) == -1 ||
	    probe_param_string(o, "protx_hash", 1, &c->protx_hash, &key,
	    &e) == -1 ||
	    probe_param_string(o, "ip_port", 1, &c->ip_port, &key, &e) == -1 ||
	    probe_param_string(o, "operator_key_file", 1,
	    &c->operator_key_file, &key, &e) == -1 ||
	    probe_param_string(o, "operator_payout_address", 0, &c->payout,
	    &key, &e) == -1 ||
	    probe_param_string(o, "fee_source_address", 0, &c->fee_source,
	    &key, &e) == -1 ||
	    probe_param_string(o, "wallet_passphrase_file", 0,
	    &c->passphrase_file, &key, &e) == -1 ||
	    probe_param_duration(o, "clear_timeout", &c->clear_timeout_ms,
	    &key, &e) == -1 ||
	    probe_param_duration(o, "ready_timeout", &c->ready_timeout_ms,
	    &key, &e) == -1 ||
	    probe_param_duration(o, "poll_interval", &c->poll_ms, &key,
	    &e) == -1 ||
	    probe_param_duration(o, "timeout", &c->timeout_ms, &key,
	    &e) == -1) {
		*err = e;
		goto fail;
	}
	if (json_object_get(o, "wallet") == NULL) {
		xasprintf(err, "wallet is required: {url, cookie | user and "
		    "password_file} of the wallet holding the fee funds");
		goto fail;
	}
	if (json_object_get(o, "node") == NULL) {
		xasprintf(err, "node is required: {url, cookie | user and "
		    "password_file} of the smartnode's own RPC");
		goto fail;
	}
	if (rv_parse_endpoint(json_object_get(o, "wallet"), "wallet",
	    &c->wallet, err) == -1 ||
	    rv_parse_endpoint(json_object_get(o, "node"), "node", &c->node,
	    err) == -1)
		goto fail;
	for (i = 0; c->protx_hash[i] != '\0'; i++)
		if (!isxdigit((unsigned char)c->protx_hash[i]))
			break;
	if (i != 64 || c->protx_hash[i] != '\0') {
		xasprintf(err, "protx_hash must be 64 hexadecimal digits");
		goto fail;
	}
	if (!rv_valid_ip_port(c->ip_port)) {
		xasprintf(err, "ip_port must be an IP address and a port, as "
		    "registered: \"203.0.113.5:10226\" or \"[2001:db8::5]:"
		    "10226\"");
		goto fail;
	}
	if (c->payout != NULL && !rv_valid_address(c->payout)) {
		xasprintf(err, "operator_payout_address is not an address");
		goto fail;
	}
	if (c->fee_source != NULL && !rv_valid_address(c->fee_source)) {
		xasprintf(err, "fee_source_address is not an address");
		goto fail;
	}
	if (c->clear_timeout_ms < 1000 || c->ready_timeout_ms < 1000) {
		xasprintf(err, "clear_timeout and ready_timeout must be at "
		    "least 1s");
		goto fail;
	}
	if (c->poll_ms < 100 || c->timeout_ms < 100) {
		xasprintf(err, "poll_interval and timeout must be at least "
		    "100ms");
		goto fail;
	}
	if (rv_check_secret("operator_key_file", c->operator_key_file,
	    err) == -1 || (c->passphrase_file != NULL &&
	    rv_check_secret("wallet_passphrase_file", c->passphrase_file,
	    err) == -1))
		goto fail;
	return (c);
fail:
	rv_free_config(c);
	return (NULL);
}

/* Forget the request in flight and the secrets it needed. */
static void
rv_clear_request(struct rv_state *st)
{
	rpc_cancel(st->call);
	st->call = NULL;
	secret_free(st->key);
	st->key = NULL;
	secret_free(st->pass);
	st->pass = NULL;
}

static void
rv_finish(struct rv_state *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* End the action: free everything first, action_done() may free a. */
static void
rv_finish(struct rv_state *st, int ok, const char *fmt, ...)
{
	struct action	*a = st->a;
	char		 msg[240];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rv_clear_request(st);
	ev_timer_stop(EV_DEFAULT, &a->timer);
	free(st);
	a->state = NULL;
	action_done(a, ok, "%s", msg);
}

static void	rv_reply_cb(void *, const struct rpc_reply *);
static void	rv_info_reply(struct rv_state *, const struct rpc_reply *);

/* A reply's text, scrubbed of the secrets of the call in flight. */
static char *
rv_scrub(void *arg, const char *text, size_t len, size_t *outlen)
{
	struct rv_state	*st = arg;
	const char	*secrets[3];
	size_t		 n = 0;

	if (st->key != NULL)
		secrets[n++] = st->key;
	if (st->pass != NULL)
		secrets[n++] = st->pass;
	secrets[n] = NULL;
	return (secret_scrub(text, len, secrets, outlen));
}

/*
 * Send one JSON-RPC 1.0 call (params stolen; they may hold a secret).
 * Returns 0, or -1 with err set.
 */
static int
rv_send(struct rv_state *st, const struct rpc_endpoint *ep,
    const char *method, json_t *params, char *err, size_t errlen)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;
	struct rpc_opts	 o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)c->timeout_ms;
	o.max_body = 256 * 1024;
	o.filter = rv_scrub;
	if ((st->call = rpc_call(ep, method, params, &o, rv_reply_cb, st, err,
	    errlen)) == NULL)
		return (-1);
	return (0);
}

/* "protx info <hash>" to the node (check and watch). */
static void
rv_send_info(struct rv_state *st)
{
	struct rv_cfg		*c = st->a->cfg->kcfg;
	struct rpc_reply	 none;
	char			 err[BTC_ERRLEN];

	st->polls++;
	/* No cookie while the node restarts: asked again, as no answer. */
	if (rv_send(st, &c->node, "protx", json_pack("[s,s]", "info",
	    c->protx_hash), err, sizeof(err)) == -1) {
		rpc_reply_transport(&none, err, 0);
		rv_info_reply(st, &none);
	}
}

static void
rv_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct action	*a = w->data;

	(void)loop;
	(void)revents;
	rv_send_info(a->state);
}

/* Ask the node again after poll_interval. */
static void
rv_again(struct rv_state *st)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;

	ev_timer_init(&st->a->timer, rv_timer_cb,
	    (ev_tstamp)c->poll_ms / 1000.0, 0.);
	st->a->timer.data = st->a;
	ev_timer_start(EV_DEFAULT, &st->a->timer);
}

/* walletpassphrase, with the passphrase read now. */
static void
rv_send_unlock(struct rv_state *st)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;
	char		*e = NULL, err[BTC_ERRLEN];

	if ((st->pass = secret_file_read(c->passphrase_file, &e)) == NULL) {
		rv_finish(st, 0, "wallet_passphrase_file: %s; nothing sent", e);
		free(e);
		return;
	}
	if (rv_send(st, &c->wallet, "walletpassphrase", json_pack("[s,i]",
	    st->pass, RV_UNLOCK_SECS), err, sizeof(err)) == -1)
		rv_finish(st, 0, "wallet: %s; nothing sent", err);
}

/* protx update_service, with the operator secret read now. */
static void
rv_send_update(struct rv_state *st)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;
	json_t		*params;
	char		*e = NULL, err[BTC_ERRLEN];

	if ((st->key = secret_file_read(c->operator_key_file, &e)) == NULL) {
		snprintf(st->fail, sizeof(st->fail), "operator_key_file: %s; "
		    "update_service not sent", e);
		free(e);
		st->failed = 1;
		st->step = RV_LOCK;
		rv_step(st);
		return;
	}
	params = json_pack("[s,s,s,s]", "update_service", c->protx_hash,
	    c->ip_port, st->key);
	if (c->payout != NULL || c->fee_source != NULL)
		json_array_append_new(params, json_string(c->payout != NULL ?
		    c->payout : ""));
	if (c->fee_source != NULL)
		json_array_append_new(params, json_string(c->fee_source));
	if (rv_send(st, &c->wallet, "protx", params, err, sizeof(err)) ==
	    -1) {
		snprintf(st->fail, sizeof(st->fail), "wallet: %s; "
		    "update_service not sent", err);
		st->failed = 1;
		st->step = RV_LOCK;
		rv_step(st);
	}
}

/* Begin the current step. */
static void
rv_step(struct rv_state *st)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;
	char		 err[BTC_ERRLEN];

	switch (st->step) {
	case RV_CHECK:
	case RV_WATCH:
		st->step_ms = now_ms();
		st->polls = 0;
		st->last[0] = '\0';
		if (st->step == RV_CHECK)
			rv_send_info(st);
		else
			rv_again(st);
		break;
	case RV_UNLOCK:
		if (c->passphrase_file == NULL) {
			st->step = RV_UPDATE;
			rv_step(st);
		} else
			rv_send_unlock(st);
		break;
	case RV_UPDATE:
		rv_send_update(st);
		break;
	case RV_LOCK:
		if (st->unlocked) {
			st->unlocked = 0;
			if (rv_send(st, &c->wallet, "walletlock", NULL, err,
			    sizeof(err)) == 0)
				break;
			log_warnx("%s: raptoreum-revive: walletlock: %s",
			    action_program(st->a)->pc->name, err);
		}
		if (st->failed)
			rv_finish(st, 0, "%s", st->fail);
		else {
			st->step = RV_WATCH;
			rv_step(st);
		}
		break;
	}
}

/* Journal the txid at once (fsync'd): a crash must not lose it. */
static void
rv_journal_txid(struct rv_state *st)
{
	struct action	*a = st->a;
	char		 msg[RV_MSG];

	snprintf(msg, sizeof(msg), "update_service sent, txid %s; watching "
	    "the PoSe ban (at height %lld)", st->txid, st->ban_height);
	journal_append(json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "event",
	    "progress", "of", (json_int_t)a->seq, "program",
	    action_program(a)->pc->name, "rule", a->job->rs->rc->name,
	    "action", a->cfg->kind->name, "txid", st->txid, "result", msg),
	    1);
	log_info("%s: rule %s: raptoreum-revive: %s",
	    action_program(a)->pc->name, a->job->rs->rc->name, msg);
}

/* A reply to protx info, in the check or watch step. */
static void
rv_info_reply(struct rv_state *st, const struct rpc_reply *rep)
{
	struct rv_cfg	*c = st->a->cfg->kcfg;
	struct btc_protx px;
	char		 t1[32], t2[32];
	int64_t		 spent = now_ms() - st->step_ms;
	int		 ok;

	ok = rpc_reply_reason(rep, RPC_WORD_BITCOIND, NULL, st->last,
	    sizeof(st->last)) == 0 && btc_check_protx(rep->result, &px,
	    st->last, sizeof(st->last)) == 0;
	if (st->step == RV_CHECK) {
		if (!ok) {
			if (spent + c->poll_ms <= c->ready_timeout_ms) {
				rv_again(st);
				return;
			}
			rv_dur(t1, sizeof(t1), c->ready_timeout_ms);
			rv_finish(st, 0, "node RPC did not answer protx info "
			    "within %s (%s): update_service not sent; a hung "
			    "node is restarted by a hung rule", t1, st->last);
			return;
		}
		if (px.ban_height == -1) {
			rv_finish(st, 1, "not PoSe banned (PoSePenalty %lld): "
			    "update_service not needed", px.penalty);
			return;
		}
		st->ban_height = px.ban_height;
		st->step = RV_UNLOCK;
		rv_step(st);
		return;
	}
	/* RV_WATCH */
	if (ok && px.ban_height == -1) {
		rv_dur(t1, sizeof(t1), spent);
		rv_finish(st, 1, "PoSe ban cleared (revived at height %lld) "
		    "%s after update_service txid %s", px.revived_height, t1,
		    st->txid);
		return;
	}
	if (ok)
		snprintf(st->last, sizeof(st->last), "still banned at height "
		    "%lld", px.ban_height);
	if (spent + c->poll_ms > c->clear_timeout_ms) {
		rv_dur(t1, sizeof(t1), c->clear_timeout_ms);
		rv_dur(t2, sizeof(t2), spent);
		rv_finish(st, 0, "update_service txid %s sent, but the PoSe "
		    "ban did not clear within %s (%s after %u checks in %s)",
		    st->txid, t1, st->last, st->polls, t2);
		return;
	}
	rv_again(st);
}

/* A reply from the node or the wallet, scrubbed of the secrets already. */
static void
rv_reply_cb(void *arg, const struct rpc_reply *rep)
{
	struct rv_state	*st = arg;
	char		 err[BTC_ERRLEN];
	int		 rc;

	st->call = NULL;
	secret_free(st->key);
	st->key = NULL;
	secret_free(st->pass);
	st->pass = NULL;
	rc = rpc_reply_reason(rep, RPC_WORD_BITCOIND, NULL, err, sizeof(err));
	switch (st->step) {
	case RV_CHECK:
	case RV_WATCH:
		rv_info_reply(st, rep);
		break;
	case RV_UNLOCK:
		if (rc == -1) {
			rv_finish(st, 0, "wallet: walletpassphrase: %s; "
			    "update_service not sent", err);
			break;
		}
		st->unlocked = 1;
		st->step = RV_UPDATE;
		rv_step(st);
		break;
	case RV_UPDATE:
		if (rc == -1) {
			/* A timeout may still have sent it: say so. */
			snprintf(st->fail, sizeof(st->fail), "wallet: protx "
			    "update_service: %.150s%s", err,
			    rep->rc == RPC_TRANSPORT ? " (it may have been "
			    "sent: check the wallet)" : "");
			st->failed = 1;
		} else if (json_is_string(rep->result))
			rpc_text(st->txid, sizeof(st->txid),
			    json_string_value(rep->result),
			    json_string_length(rep->result), 0);
		else
			snprintf(st->txid, sizeof(st->txid), "(not a string: "
			    "%s)", json_is_object(rep->result) ? "an object" :
			    "?");
		if (rc == 0)
			rv_journal_txid(st);
		st->step = RV_LOCK;
		rv_step(st);
		break;
	case RV_LOCK:
		if (rc == -1)
			log_warnx("%s: raptoreum-revive: walletlock: %s",
			    action_program(st->a)->pc->name, err);
		rv_step(st);	/* st->unlocked is 0: on to watch or fail */
		break;
	}
}

static void
rv_start(struct action *a)
{
	struct rv_state	*st;

	st = xcalloc(1, sizeof(*st));
	st->a = a;
	st->step = RV_CHECK;
	st->ban_height = -1;
	a->state = st;
	rv_step(st);
}

static void
rv_cancel(struct action *a)
{
	struct rv_state	*st = a->state;

	if (st == NULL)
		return;
	rv_clear_request(st);
	ev_timer_stop(EV_DEFAULT, &a->timer);
	free(st);
	a->state = NULL;
}

const struct action_kind action_kind_raptoreum_revive = {
	.name = "raptoreum-revive",
	.chain = 1,
	.parse = rv_parse,
	.free_config = rv_free_config,
	.start = rv_start,
	.cancel = rv_cancel,
	.poll = NULL,
};
