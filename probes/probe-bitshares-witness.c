/*
 * bitshares-witness: a BitShares witness_node's HTTP JSON-RPC.  Each check
 * asks, at the same time, for the witness object (get_witness_by_account,
 * or get_objects for a "1.6.N" id) and get_dynamic_global_properties.  It
 * reports total_missed (the value), how many blocks were missed since the
 * first check of this run, the last confirmed block and the signing key;
 * it fails when the chain time is older than max_age, on RPC errors, and
 * when the witness does not exist.  Windows and thresholds on missed
 * blocks are the rules engine's business.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "probe.h"
#include "probe-bitshares-witness.h"
#include "rpc.h"
#include "util.h"

#define BTS_REASON	160

struct bitshares_cfg {
	json_t			*params;	/* the settings: ep's strings */
	struct rpc_endpoint	 ep;
	char			*witness;
	int64_t			 max_age_ms;
	long long		 max_body;
};

/* One check in flight: the witness and the global properties. */
struct bitshares_op {
	struct probe		*p;
	struct rpc_call		*witness_call;
	struct rpc_call		*dgp_call;
	int			 pending;
	int			 witness_rc;	/* 0, -1, NOT_FOUND */
	struct bitshares_witness w;
	char			 witness_err[BTS_REASON];
	int			 dgp_rc;
	struct bitshares_dgp	 d;
	char			 dgp_err[BTS_REASON];
};

static const char *const bitshares_keys[] = {
	"url", "witness", "max_age", "max_body", NULL
};

static void
bitshares_free_config(void *arg)
{
	struct bitshares_cfg	*c = arg;

	json_decref(c->params);
	free(c->witness);
	free(c);
}

static void *
bitshares_parse(const json_t *o, const char **key, char **err)
{
	struct bitshares_cfg	*c;
	const char		*witness = NULL;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->ep.dialect = &rpc_graphene;
	c->ep.url = "http://127.0.0.1:8090/rpc";
	c->max_age_ms = 60000;
	c->max_body = 64 * 1024;
	if (probe_param_check_keys(o, bitshares_keys, key, err) == -1 ||
	    rpc_endpoint_parse(o, 0, NULL, "the node's rpc-endpoint, e.g. "
	    "http://127.0.0.1:8090/rpc", &c->ep, key, err) == -1 ||
	    probe_param_string(o, "witness", 1, &witness, key, err) == -1 ||
	    probe_param_duration(o, "max_age", &c->max_age_ms, key,
	    err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	if (!bitshares_valid_witness(witness)) {
		*key = "witness";
		xasprintf(err, "witness must be an account name (init0) or a "
		    "witness id (1.6.14)");
		goto fail;
	}
	c->witness = xstrdup(witness);
	return (c);
fail:
	bitshares_free_config(c);
	return (NULL);
}

static int64_t
bitshares_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Both replies are in: judge and report. */
static void
bitshares_finish(struct bitshares_op *op)
{
	struct probe		*p = op->p;
	struct bitshares_cfg	*c = p->cfg->kcfg;
	json_t			*detail = NULL;
	char			 reason[200];
	double			 value = 0;
	int			 status = PROBE_FAIL, has_value = 0;

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct bitshares_state));
	if (op->witness_rc == BITSHARES_NOT_FOUND)
		snprintf(reason, sizeof(reason), "witness %s not found",
		    c->witness);
	else if (op->witness_rc != 0)
		snprintf(reason, sizeof(reason), "%s", op->witness_err);
	else if (op->dgp_rc != 0)
		snprintf(reason, sizeof(reason), "%s", op->dgp_err);
	else {
		status = bitshares_eval(p->state, c->max_age_ms, &op->w,
		    &op->d, bitshares_wall_ms(), &detail, reason,
		    sizeof(reason));
		value = (double)op->w.total_missed;
		has_value = 1;
	}
	free(op);
	/* probe_done() clears p->op and takes detail. */
	probe_done(p, status, has_value ? &value : NULL, detail, "%s", reason);
}

static void
bitshares_witness_cb(void *arg, const struct rpc_reply *rep)
{
	struct bitshares_op	*op = arg;

	op->witness_call = NULL;
	if ((op->witness_rc = rpc_reply_reason(rep, RPC_WORD_NAMED, "witness",
	    op->witness_err, sizeof(op->witness_err))) == 0)
		op->witness_rc = bitshares_check_witness(rep->result, &op->w,
		    op->witness_err, sizeof(op->witness_err));
	if (--op->pending == 0)
		bitshares_finish(op);
}

static void
bitshares_dgp_cb(void *arg, const struct rpc_reply *rep)
{
	struct bitshares_op	*op = arg;

	op->dgp_call = NULL;
	if ((op->dgp_rc = rpc_reply_reason(rep, RPC_WORD_NAMED,
	    "global properties", op->dgp_err, sizeof(op->dgp_err))) == 0)
		op->dgp_rc = bitshares_check_dgp(rep->result, &op->d,
		    op->dgp_err, sizeof(op->dgp_err));
	if (--op->pending == 0)
		bitshares_finish(op);
}

static void
bitshares_cancel(struct probe *p)
{
	struct bitshares_op	*op = p->op;

	if (op == NULL)
		return;
	rpc_cancel(op->witness_call);
	rpc_cancel(op->dgp_call);
	free(op);
	p->op = NULL;
}

/*
 * A call to the database API: "call" with ["database", method, args]
 * (args stolen).
 */
static struct rpc_call *
bitshares_call(struct bitshares_op *op, const char *method, json_t *args,
    rpc_done_cb cb, char *err, size_t errlen)
{
	struct probe		*p = op->p;
	struct bitshares_cfg	*c = p->cfg->kcfg;
	struct rpc_opts		 o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	return (rpc_call(&c->ep, "call", json_pack("[s,s,o]", "database",
	    method, args), &o, cb, op, err, errlen));
}

/*
 * Start a check: both calls at once.  curl's own timeout is set past the
 * probe's, so a slow node always ends as a probe timeout (which counts
 * toward hung_after), never as a transport error.
 */
static void
bitshares_run(struct probe *p)
{
	struct bitshares_cfg	*c = p->cfg->kcfg;
	struct bitshares_op	*op;
	char			 err[BTS_REASON];

	op = xcalloc(1, sizeof(*op));
	op->p = p;
	if (strncmp(c->witness, "1.6.", 4) == 0)
		op->witness_call = bitshares_call(op, "get_objects",
		    json_pack("[[s]]", c->witness), bitshares_witness_cb, err,
		    sizeof(err));
	else
		op->witness_call = bitshares_call(op, "get_witness_by_account",
		    json_pack("[s]", c->witness), bitshares_witness_cb, err,
		    sizeof(err));
	if (op->witness_call == NULL || (op->dgp_call = bitshares_call(op,
	    "get_dynamic_global_properties", json_array(), bitshares_dgp_cb,
	    err, sizeof(err))) == NULL) {
		rpc_cancel(op->witness_call);
		free(op);
		probe_done(p, PROBE_ERROR, NULL, NULL, "%s", err);
		return;
	}
	op->pending = 2;
	p->op = op;
}

/* The run is over: forget its first total_missed. */
static void
bitshares_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_bitshares_witness = {
	.name = "bitshares-witness",
	.parse = bitshares_parse,
	.free_config = bitshares_free_config,
	.run = bitshares_run,
	.cancel = bitshares_cancel,
	.reset = bitshares_reset,
};
