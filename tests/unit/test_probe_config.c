/*
 * Unit tests for the settings of the chain probe kinds (nodeos,
 * bitshares-witness), through the kind registry of probes/probe.c: these
 * link the daemon's modules, while the kinds' reply checks are tested
 * apart, without them (test_probe_nodeos, test_probe_bitshares).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "probe.h"

static char	keybuf[64];

/* Settings json of probe kind name: its parsed config, or NULL. */
static void *
kind_parse(const char *name, const char *json, const char **key, char **err)
{
	const struct probe_kind	*k = probe_kind_find(name);
	json_t			*o;
	void			*c;

	assert_non_null(k);
	o = json_loads(json, 0, NULL);
	assert_non_null(o);
	*key = NULL;
	*err = NULL;
	c = k->parse(o, key, err);
	/* *key points into o (as in config.c, which keeps it alive). */
	if (*key != NULL) {
		snprintf(keybuf, sizeof(keybuf), "%s", *key);
		*key = keybuf;
	}
	json_decref(o);
	return (c);
}

/* Good settings: parsed and freed. */
static void
config_good(const char *name, const char *json)
{
	const char	*key;
	char		*err;
	void		*c;

	if ((c = kind_parse(name, json, &key, &err)) == NULL)
		fail_msg("%s: refused: %s", json, err);
	probe_kind_find(name)->free_config(c);
}

static void
config_bad(const char *name, const char *json, const char *want_key,
    const char *want)
{
	const char	*key;
	char		*err;

	if (kind_parse(name, json, &key, &err) != NULL)
		fail_msg("accepted: %s", json);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", json, err, want);
	if (want_key != NULL)
		assert_string_equal(key, want_key);
	free(err);
}

static void
test_nodeos(void **state)
{
	(void)state;
	config_good("nodeos", "{}");
	config_good("nodeos", "{\"url\":\"http://127.0.0.1:8888/\","
	    "\"head_stall\":\"5s\",\"lib_stall\":30,\"max_head_age\":0,"
	    "\"min_producers\":5,\"producers_window\":\"2m\",\"check_paused\":"
	    "true,\"max_body\":100000}");
	config_bad("nodeos", "{\"url\":\"ftp://x\"}", "url", "http://");
	config_bad("nodeos", "{\"bogus\":1}", "bogus", "unknown setting");
	config_bad("nodeos", "{\"head_stall\":\"soon\"}", "head_stall",
	    "head_stall");
	config_bad("nodeos", "{\"min_producers\":-1}", "min_producers",
	    "between");
	config_bad("nodeos", "{\"min_producers\":3,\"producers_window\":0}",
	    "producers_window", "needs a producers_window");
	config_bad("nodeos", "{\"check_paused\":\"yes\"}", "check_paused",
	    "true or");
	config_bad("nodeos", "{\"max_body\":10}", "max_body", "between");
}

static void
test_bitshares(void **state)
{
	const char	*bts = "bitshares-witness";

	(void)state;
	config_good(bts, "{\"witness\":\"init0\"}");
	config_good(bts, "{\"witness\":\"1.6.14\",\"url\":\"https://"
	    "n.example/rpc\",\"max_age\":\"30s\",\"max_body\":2048}");
	config_bad(bts, "{}", "witness", "witness is required");
	config_bad(bts, "{\"witness\":\"x\\\"y\"}", "witness", "account name");
	config_bad(bts, "{\"witness\":\"init0\",\"url\":"
	    "\"ws://127.0.0.1:8090\"}", "url", "http://");
	config_bad(bts, "{\"witness\":\"init0\",\"max_age\":true}", "max_age",
	    "duration");
	config_bad(bts, "{\"witness\":\"init0\",\"key\":\"5K\"}", "key",
	    "unknown setting");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nodeos),
		cmocka_unit_test(test_bitshares),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
