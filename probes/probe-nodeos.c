/*
 * nodeos: EOSIO / Leap / Spring chain_api_plugin and producer_api_plugin.
 * Each check asks POST /v1/chain/get_info (and, with check_paused,
 * POST /v1/producer/paused at the same time) and judges the head and LIB
 * block numbers against what this run has seen so far: a head or LIB that
 * has not moved for head_stall / lib_stall, a head block older than
 * max_head_age, or fewer than min_producers distinct head_block_producer
 * names over producers_window fails the check.  The value is the head.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "probe.h"
#include "probe-nodeos.h"
#include "rpc.h"
#include "util.h"

#define NODEOS_REASON	160

struct nodeos_cfg {
	json_t			*params;	/* the settings: ep's strings */
	struct rpc_endpoint	 ep;
	int			 check_paused;
	long long		 max_body;
	struct nodeos_limits	 lim;
};

/* One check in flight: get_info and maybe paused, in parallel. */
struct nodeos_op {
	struct probe		*p;
	struct rpc_call		*info_call;
	struct rpc_call		*paused_call;
	int			 pending;
	int			 info_ok;
	struct nodeos_info	 info;
	char			 info_err[NODEOS_REASON];
	int			 paused;	/* -1: unknown */
	char			 paused_err[NODEOS_REASON];
};

static const char *const nodeos_keys[] = {
	"url", "head_stall", "lib_stall", "max_head_age", "min_producers",
	"producers_window", "check_paused", "max_body", NULL
};

static void
nodeos_free_config(void *arg)
{
	struct nodeos_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

static void *
nodeos_parse(const json_t *o, const char **key, char **err)
{
	struct nodeos_cfg	*c;
	long long		 minp = 0;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->ep.dialect = &rpc_nodeos;
	c->ep.url = "http://127.0.0.1:8888";
	c->max_body = 64 * 1024;
	c->lim.head_stall_ms = 10000;
	c->lim.lib_stall_ms = 20000;
	c->lim.max_head_age_ms = 30000;
	c->lim.window_ms = 60000;
	if (probe_param_check_keys(o, nodeos_keys, key, err) == -1 ||
	    rpc_endpoint_parse(o, 0, NULL, "the node's http-server-address, "
	    "without a path", &c->ep, key, err) == -1 ||
	    probe_param_duration(o, "head_stall", &c->lim.head_stall_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "lib_stall", &c->lim.lib_stall_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "max_head_age", &c->lim.max_head_age_ms,
	    key, err) == -1 ||
	    probe_param_duration(o, "producers_window", &c->lim.window_ms, key,
	    err) == -1 ||
	    probe_param_int(o, "min_producers", 0, NODEOS_PRODUCERS_MAX, &minp,
	    key, err) == -1 ||
	    probe_param_bool(o, "check_paused", &c->check_paused, key,
	    err) == -1 ||
	    probe_param_int(o, "max_body", 1024, 64 * 1024 * 1024,
	    &c->max_body, key, err) == -1)
		goto fail;
	c->lim.min_producers = (int)minp;
	if (c->lim.min_producers > 0 && c->lim.window_ms <= 0) {
		*key = "producers_window";
		xasprintf(err, "min_producers needs a producers_window");
		goto fail;
	}
	return (c);
fail:
	nodeos_free_config(c);
	return (NULL);
}

static int64_t
nodeos_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Both replies are in: judge and report. */
static void
nodeos_finish(struct nodeos_op *op)
{
	struct probe		*p = op->p;
	struct nodeos_cfg	*c = p->cfg->kcfg;
	json_t			*detail = NULL;
	char			 reason[200];
	double			 value;
	int			 status, has_value;

	if (p->state == NULL)
		p->state = xcalloc(1, sizeof(struct nodeos_state));
	if (!op->info_ok) {
		if (c->check_paused)
			detail = json_object();
		snprintf(reason, sizeof(reason), "%s", op->info_err);
		status = PROBE_FAIL;
	} else
		status = nodeos_eval(p->state, &c->lim, &op->info, now_ms(),
		    nodeos_wall_ms(), &detail, reason, sizeof(reason));
	if (c->check_paused) {
		json_object_set_new(detail, "paused", op->paused == -1 ?
		    json_null() : json_boolean(op->paused));
		if (op->paused == -1)
			json_object_set_new(detail, "paused_error",
			    json_string(op->paused_err));
	}
	has_value = op->info_ok;
	value = (double)op->info.head;
	free(op);
	/* probe_done() clears p->op and takes detail. */
	probe_done(p, status, has_value ? &value : NULL, detail, "%s", reason);
}

static void
nodeos_info_cb(void *arg, const struct rpc_reply *rep)
{
	struct nodeos_op	*op = arg;

	op->info_call = NULL;
	if (rpc_reply_reason(rep, RPC_WORD_NAMED, "get_info", op->info_err,
	    sizeof(op->info_err)) == 0 &&
	    nodeos_check_info(rep->result, &op->info, op->info_err,
	    sizeof(op->info_err)) == 0)
		op->info_ok = 1;
	if (--op->pending == 0)
		nodeos_finish(op);
}

static void
nodeos_paused_cb(void *arg, const struct rpc_reply *rep)
{
	struct nodeos_op	*op = arg;

	op->paused_call = NULL;
	if (rpc_reply_reason(rep, RPC_WORD_NAMED, "paused", op->paused_err,
	    sizeof(op->paused_err)) == 0)
		(void)nodeos_check_paused(rep->result, &op->paused,
		    op->paused_err, sizeof(op->paused_err));
	if (--op->pending == 0)
		nodeos_finish(op);
}

static void
nodeos_cancel(struct probe *p)
{
	struct nodeos_op	*op = p->op;

	if (op == NULL)
		return;
	rpc_cancel(op->info_call);
	rpc_cancel(op->paused_call);
	free(op);
	p->op = NULL;
}

/*
 * Start a check.  Both calls are POSTs without a body (newer Leap refuses
 * parameters on calls that take none).  curl's own timeout is set past the
 * probe's, so a slow node always ends as a probe timeout (which counts
 * toward hung_after), never as a transport error.
 */
static void
nodeos_run(struct probe *p)
{
	struct nodeos_cfg	*c = p->cfg->kcfg;
	struct nodeos_op	*op;
	struct rpc_opts		 o;
	char			 err[NODEOS_REASON];

	op = xcalloc(1, sizeof(*op));
	op->p = p;
	op->paused = -1;
	memset(&o, 0, sizeof(o));
	o.timeout_ms = (long)p->cfg->timeout_ms + 1000;
	o.max_body = (size_t)c->max_body;
	if ((op->info_call = rpc_call(&c->ep, "/v1/chain/get_info", NULL, &o,
	    nodeos_info_cb, op, err, sizeof(err))) == NULL) {
		free(op);
		probe_done(p, PROBE_ERROR, NULL, NULL, "%s", err);
		return;
	}
	op->pending = 1;
	if (c->check_paused) {
		o.max_body = 4096;
		if ((op->paused_call = rpc_call(&c->ep, "/v1/producer/paused",
		    NULL, &o, nodeos_paused_cb, op, op->paused_err,
		    sizeof(op->paused_err))) != NULL)
			op->pending++;
	}
	p->op = op;
}

/* The run is over: forget its heads and producers. */
static void
nodeos_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_nodeos = {
	.name = "nodeos",
	.parse = nodeos_parse,
	.free_config = nodeos_free_config,
	.run = nodeos_run,
	.cancel = nodeos_cancel,
	.reset = nodeos_reset,
};
