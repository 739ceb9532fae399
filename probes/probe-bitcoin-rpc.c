/*
 * bitcoin-rpc: block height, sync progress and lag of a Bitcoin-lineage
 * daemon (raptoreumd, litecoind, dashd) over JSON-RPC 1.0 with Basic auth,
 * from user + password_file or the daemon's cookie file (re-read at every
 * check: it changes at each daemon restart).  One check is a chain of
 * requests to the node, each sent when the last one answered:
 * getblockchaininfo, then "smartnode status" (smartnode: true), then
 * "protx info <hash>" (protx_hash:).  A reference height (another node's
 * getblockcount, or an explorer URL returning a bare count) is asked at
 * the same time and given at most three quarters of the timeout, so a slow
 * reference never makes the node itself look hung.  The value is the
 * height.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "probe.h"
#include "probe-bitcoin-rpc.h"
#include "secret.h"
#include "rpc.h"
#include "util.h"

struct btc_cfg {
	struct rpc_endpoint	 node;
	struct rpc_endpoint	 ref;		/* ref.url NULL: none */
	const char		*reference_url;	/* explorer, or NULL */
	int64_t			 stall_after_ms; /* 0: off */
	long long		 max_lag;	/* -1: off */
	int			 smartnode;
	const char		*protx_hash;
	long long		 max_body;
	json_t			*params;	/* keeps the strings alive */
};

/* Across the checks of one run: when the height last changed. */
struct btc_state {
	int		 have;
	long long	 height;
	int64_t		 changed_ms;
};

#define BTC_STEP_CHAININFO	0
#define BTC_STEP_SMARTNODE	1
#define BTC_STEP_PROTX		2
#define BTC_STEP_DONE		3

/* One check in flight. */
struct btc_op {
	struct probe		*p;
	struct rpc_call		*node_call;
	struct rpc_call		*ref_call;	/* reference */
	struct http_req		*ref_req;	/* reference_url */
	int			 step;
	char			*userpwd;	/* the node's, wiped at free */
	struct btc_check	 chk;
};

static const char *const btc_keys[] = {
	"url", "user", "password_file", "cookie", "reference",
	"reference_url", "max_lag", "stall_after", "smartnode", "protx_hash",
	"max_body", NULL
};
static const char *const btc_ref_keys[] = {
	"url", "user", "password_file", "cookie", NULL
};

/* Configuration. */

static void
btc_free_config(void *arg)
{
	struct btc_cfg	*c = arg;

	if (c == NULL)
		return;
	json_decref(c->params);
	free(c);
}

/* url and credentials of an endpoint in o; errors name the key "what". */
static int
btc_parse_endpoint(const json_t *o, struct rpc_endpoint *ep, const char *what,
    const char **key, char **err)
{
	ep->dialect = &rpc_bitcoind;
	ep->read_password = secret_file_read_any;
	ep->read_cookie = secret_file_read_any;
	return (rpc_endpoint_parse(o, RPC_EP_AUTH, what, NULL, ep, key, err));
}

static void *
btc_parse(const json_t *o, const char **key, char **err)
{
	struct btc_cfg	*c;
	const json_t	*ref;
	const char	*hex;
	char		*reason;
	size_t		 i;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->max_lag = -1;
	c->max_body = 1024 * 1024;
	if (probe_param_check_keys(o, btc_keys, key, err) == -1 ||
	    btc_parse_endpoint(o, &c->node, NULL, key, err) == -1 ||
	    probe_param_string(o, "reference_url", 0, &c->reference_url, key,
	    err) == -1 ||
	    probe_param_int(o, "max_lag", 0, BTC_MAX_HEIGHT, &c->max_lag, key,
	    err) == -1 ||
	    probe_param_duration(o, "stall_after", &c->stall_after_ms, key,
	    err) == -1 ||
	    probe_param_bool(o, "smartnode", &c->smartnode, key, err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	if ((ref = json_object_get(o, "reference")) != NULL) {
		if (!json_is_object(ref)) {
			*key = "reference";
			xasprintf(err, "reference must be a map with url and "
			    "cookie, or url, user and password_file");
			goto fail;
		}
		if (probe_param_check_keys(ref, btc_ref_keys, key, err) ==
		    -1) {
			reason = *err;
			*key = "reference";
			xasprintf(err, "reference: %s", reason);
			free(reason);
			goto fail;
		}
		if (btc_parse_endpoint(ref, &c->ref, "reference", key, err) ==
		    -1)
			goto fail;
		if (c->reference_url != NULL) {
			*key = "reference_url";
			xasprintf(err, "reference and reference_url exclude "
			    "each other");
			goto fail;
		}
	}
	if (c->reference_url != NULL &&
	    strncmp(c->reference_url, "http://", 7) != 0 &&
	    strncmp(c->reference_url, "https://", 8) != 0) {
		*key = "reference_url";
		xasprintf(err, "reference_url must start with http:// or "
		    "https://");
		goto fail;
	}
	if (c->ref.url == NULL && c->reference_url == NULL) {
		if (c->max_lag != -1) {
			*key = "max_lag";
			xasprintf(err, "max_lag needs reference or "
			    "reference_url");
			goto fail;
		}
	} else if (c->max_lag == -1)
		c->max_lag = 3;
	if (json_is_number(json_object_get(o, "protx_hash"))) {
		*key = "protx_hash";
		xasprintf(err, "protx_hash must be quoted (a 64-digit hex "
		    "string)");
		goto fail;
	}
	if (probe_param_string(o, "protx_hash", 0, &c->protx_hash, key,
	    err) == -1)
		goto fail;
	if ((hex = c->protx_hash) != NULL) {
		for (i = 0; hex[i] != '\0'; i++)
			if (!isxdigit((unsigned char)hex[i]))
				break;
		if (hex[i] != '\0' || i != 64) {
			*key = "protx_hash";
			xasprintf(err, "protx_hash must be 64 hex digits");
			goto fail;
		}
	}
	return (c);
fail:
	btc_free_config(c);
	return (NULL);
}

/* Checks. */

static void
btc_op_free(struct btc_op *op)
{
	rpc_cancel(op->node_call);
	rpc_cancel(op->ref_call);
	http_cancel(op->ref_req);
	if (op->userpwd != NULL) {
		explicit_bzero(op->userpwd, strlen(op->userpwd));
		free(op->userpwd);
	}
	free(op);
}

/* Both the node's chain of requests and the reference have answered. */
static void
btc_finish(struct btc_op *op)
{
	struct probe		*p = op->p;
	struct btc_cfg		*c = p->cfg->kcfg;
	struct btc_state	*st = p->state;
	char			 reason[200];
	json_t			*detail;
	double			 v;
	int64_t			 now = now_ms();
	int			 status;

	if (!st->have || st->height != op->chk.ci.blocks) {
		st->have = 1;
		st->height = op->chk.ci.blocks;
		st->changed_ms = now;
	}
	op->chk.unchanged_ms = now - st->changed_ms;
	status = btc_assess(&op->chk, c->stall_after_ms, c->max_lag, reason,
	    sizeof(reason), &detail);
	v = (double)op->chk.ci.blocks;
	p->op = NULL;
	btc_op_free(op);
	probe_done(p, status, &v, detail, "%s", reason);
}

/* The node failed: the check ends now, the reference is dropped. */
static void
btc_node_failed(struct btc_op *op, int status, const char *what,
    const char *why)
{
	struct probe	*p = op->p;

	p->op = NULL;
	btc_op_free(op);
	probe_done(p, status, NULL, NULL, "%s%s%s", what, *what != '\0' ?
	    ": " : "", why);
}

static void	btc_node_cb(void *, const struct rpc_reply *);

/* Send the call of op->step to the node; 0, or -1 (op is then freed). */
static int
btc_node_send(struct btc_op *op)
{
	struct probe	*p = op->p;
	struct btc_cfg	*c = p->cfg->kcfg;
	struct rpc_opts	 o;
	const char	*method = "getblockchaininfo";
	json_t		*params = NULL;
	char		 err[BTC_ERRLEN];

	if (op->step == BTC_STEP_SMARTNODE) {
		method = "smartnode";
		params = json_pack("[s]", "status");
	} else if (op->step == BTC_STEP_PROTX) {
		method = "protx";
		params = json_pack("[s,s]", "info", c->protx_hash);
	}
	memset(&o, 0, sizeof(o));
	o.userpwd = op->userpwd;
	/* The probe's own timeout fires first and counts as a timeout. */
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	if ((op->node_call = rpc_call(&c->node, method, params, &o,
	    btc_node_cb, op, err, sizeof(err))) == NULL) {
		btc_node_failed(op, PROBE_ERROR, "", err);
		return (-1);
	}
	return (0);
}

/* The next step after op->step, or BTC_STEP_DONE. */
static int
btc_next_step(const struct btc_cfg *c, int step)
{
	if (step < BTC_STEP_SMARTNODE && c->smartnode)
		return (BTC_STEP_SMARTNODE);
	if (step < BTC_STEP_PROTX && c->protx_hash != NULL)
		return (BTC_STEP_PROTX);
	return (BTC_STEP_DONE);
}

static void
btc_node_cb(void *arg, const struct rpc_reply *rep)
{
	struct btc_op	*op = arg;
	struct btc_cfg	*c = op->p->cfg->kcfg;
	struct btc_check *k = &op->chk;
	char		 err[BTC_ERRLEN];
	int		 rc;

	op->node_call = NULL;
	rc = rpc_reply_reason(rep, RPC_WORD_BITCOIND, NULL, err, sizeof(err));
	switch (op->step) {
	case BTC_STEP_CHAININFO:
		if (rc == -1 || btc_check_chaininfo(rep->result, &k->ci, err,
		    sizeof(err)) == -1) {
			btc_node_failed(op, PROBE_FAIL, "getblockchaininfo",
			    err);
			return;
		}
		break;
	case BTC_STEP_SMARTNODE:
		if (rc == 0)
			rc = btc_check_smartnode(rep->result, &k->smartnode,
			    err, sizeof(err));
		k->sn = rc == 0 ? 1 : -1;
		if (rc == -1)
			snprintf(k->sn_error, sizeof(k->sn_error), "%s", err);
		break;
	case BTC_STEP_PROTX:
		if (rc == 0)
			rc = btc_check_protx(rep->result, &k->protxinfo, err,
			    sizeof(err));
		k->protx = rc == 0 ? 1 : -1;
		if (rc == -1)
			snprintf(k->protx_error, sizeof(k->protx_error), "%s",
			    err);
		break;
	}
	op->step = btc_next_step(c, op->step);
	if (op->step != BTC_STEP_DONE) {
		btc_node_send(op);
		return;
	}
	if (op->ref_call == NULL && op->ref_req == NULL)
		btc_finish(op);
}

/* The reference node's getblockcount. */
static void
btc_ref_rpc_cb(void *arg, const struct rpc_reply *rep)
{
	struct btc_op	*op = arg;
	struct btc_check *k = &op->chk;

	op->ref_call = NULL;
	k->ref = rpc_reply_reason(rep, RPC_WORD_BITCOIND, NULL, k->ref_error,
	    sizeof(k->ref_error)) == 0 && btc_check_blockcount(rep->result,
	    &k->ref_height, k->ref_error, sizeof(k->ref_error)) == 0 ? 1 : -1;
	if (op->step == BTC_STEP_DONE)
		btc_finish(op);
}

/* The explorer's bare block count. */
static void
btc_ref_cb(void *arg, const struct http_reply *r)
{
	struct btc_op	*op = arg;
	struct btc_check *k = &op->chk;
	int		 rc;

	op->ref_req = NULL;
	if (r->error != NULL) {
		rpc_text(k->ref_error, sizeof(k->ref_error), r->error,
		    strlen(r->error), RPC_TEXT_MORE);
		rc = -1;
	} else
		rc = btc_parse_count_text(r->status, r->body, r->len,
		    &k->ref_height, k->ref_error, sizeof(k->ref_error));
	k->ref = rc == 0 ? 1 : -1;
	if (op->step == BTC_STEP_DONE)
		btc_finish(op);
}

/* Ask the reference for its height; failures are noted, not fatal. */
static void
btc_ref_send(struct btc_op *op)
{
	struct probe		*p = op->p;
	struct btc_cfg		*c = p->cfg->kcfg;
	struct rpc_opts		 ro;
	struct http_opts	 o;
	long			 timeout_ms;

	timeout_ms = (long)(p->cfg->timeout_ms * 3 / 4);
	if (timeout_ms < 1)
		timeout_ms = 1;
	if (c->ref.url != NULL) {
		memset(&ro, 0, sizeof(ro));
		ro.timeout_ms = timeout_ms;
		ro.max_body = (size_t)c->max_body;
		if ((op->ref_call = rpc_call(&c->ref, "getblockcount", NULL,
		    &ro, btc_ref_rpc_cb, op, op->chk.ref_error,
		    sizeof(op->chk.ref_error))) == NULL)
			op->chk.ref = -1;
		return;
	}
	memset(&o, 0, sizeof(o));
	o.headers = rpc_bitcoind.headers;
	o.timeout_ms = timeout_ms;
	o.max_body = (size_t)c->max_body;
	if ((op->ref_req = http_request(c->reference_url, &o, btc_ref_cb,
	    op)) == NULL) {
		op->chk.ref = -1;
		snprintf(op->chk.ref_error, sizeof(op->chk.ref_error),
		    "cannot make a request");
	}
}

static void
btc_run(struct probe *p)
{
	struct btc_cfg	*c = p->cfg->kcfg;
	struct btc_op	*op;
	char		 err[BTC_ERRLEN];

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct btc_state));
	op = xcalloc(1, sizeof(*op));
	op->p = p;
	op->step = BTC_STEP_CHAININFO;
	/* Read once for the chain of calls of this check. */
	if ((op->userpwd = rpc_endpoint_userpwd(&c->node, err,
	    sizeof(err))) == NULL) {
		free(op);
		probe_done(p, c->node.cookie != NULL ? PROBE_FAIL : PROBE_ERROR,
		    NULL, NULL, "%s", err);
		return;
	}
	p->op = op;
	if (btc_node_send(op) == -1)
		return;
	if (c->ref.url != NULL || c->reference_url != NULL)
		btc_ref_send(op);
}

/* Timeout or end of run: drop every request in flight. */
static void
btc_cancel(struct probe *p)
{
	if (p->op != NULL)
		btc_op_free(p->op);
	p->op = NULL;
}

static void
btc_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_bitcoin_rpc = {
	.name = "bitcoin-rpc",
	.parse = btc_parse,
	.free_config = btc_free_config,
	.run = btc_run,
	.cancel = btc_cancel,
	.reset = btc_reset,
};
