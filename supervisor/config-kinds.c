/*
 * The modules the configuration reads probes, rules, eos_failover, metrics
 * and alerts with.  Kept out of config.c so that chainkeeperctl, which
 * only needs control.socket, does not link them (nor libcurl and
 * libmicrohttpd behind them).
 */
#include "autoconf.h"

#include <jansson.h>

#include "action.h"
#include "alert.h"
#include "config.h"
#include "failover-eos.h"
#include "metrics.h"
#include "probe.h"

const struct config_kinds config_kinds_all = {
	.probe_kind_find = probe_kind_find,
	.probe_kinds_list = probe_kinds_list,
	.probe_config_free = probe_config_free,
	.action_kind_find = action_kind_find,
	.action_kinds_list = action_kinds_list,
	.action_config_free = action_config_free,
	.rule_config_free = rule_config_free,
	.eosfo_parse = eosfo_parse,
	.eosfo_free_config = eosfo_free_config,
	.metrics_config_parse = metrics_config_parse,
	.metrics_config_free = metrics_config_free,
	.metrics_config_json = metrics_config_json,
	.metrics_config_check = metrics_config_check,
	.alerts_config_parse = alerts_config_parse,
	.alerts_config_free = alerts_config_free,
	.alerts_config_json = alerts_config_json,
};
