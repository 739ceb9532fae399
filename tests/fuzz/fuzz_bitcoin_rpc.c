/*
 * Fuzz the bitcoin-rpc probe's reply parsers (probes/probe-bitcoin-rpc.h).
 * The first byte picks the parser, the second the HTTP status, the rest
 * is the reply body:
 *   0 btc_rpc_result, 1 btc_parse_chaininfo (then btc_assess),
 *   2 btc_parse_blockcount, 3 btc_parse_count_text,
 *   4 btc_parse_smartnode, 5 btc_parse_protx
 * A reply is parsed, or refused with a one-line printable reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe-bitcoin-rpc.h"

#include "fuzz.h"

static const long statuses[] = { 200, 500, 401, 403, 404, 0, 503, 201 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct btc_check	 c;
	struct btc_smartnode	 sn;
	struct btc_protx	 px;
	json_t			*r = NULL;
	const char		*body;
	char			 err[BTC_ERRLEN], reason[256];
	long long		 n;
	long			 status;
	unsigned int		 which;
	int			 rc = -1;

	which = fuzz_pick(&data, &size, 6);
	status = statuses[fuzz_pick(&data, &size, 8)];
	body = (const char *)data;
	memset(&c, 0, sizeof(c));
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	switch (which) {
	case 0:
		rc = btc_rpc_result(status, body, size, &r, err, sizeof(err));
		fuzz_check(rc == -1 || r != NULL);
		json_decref(r);
		break;
	case 1:
		rc = btc_parse_chaininfo(status, body, size, &c.ci, err,
		    sizeof(err));
		if (rc == 0) {
			fuzz_check(strnlen(c.ci.chain, sizeof(c.ci.chain)) <
			    sizeof(c.ci.chain));
			c.unchanged_ms = 600000;
			c.ref = 1;
			c.ref_height = c.ci.blocks + 5;
			(void)btc_assess(&c, 300000, 3, reason, sizeof(reason),
			    &r);
			fuzz_check(r != NULL);
			json_decref(r);
			fuzz_check_text(reason, sizeof(reason), 1);
		}
		break;
	case 2:
		rc = btc_parse_blockcount(status, body, size, &n, err,
		    sizeof(err));
		break;
	case 3:
		rc = btc_parse_count_text(status, body, size, &n, err,
		    sizeof(err));
		break;
	case 4:
		rc = btc_parse_smartnode(status, body, size, &sn, err,
		    sizeof(err));
		if (rc == 0) {
			fuzz_check_text(sn.state, sizeof(sn.state), 0);
			fuzz_check_text(sn.status, sizeof(sn.status), 0);
		}
		break;
	case 5:
		rc = btc_parse_protx(status, body, size, &px, err,
		    sizeof(err));
		break;
	}
	if (rc != 0)
		fuzz_check_text(err, sizeof(err), 1);
	return (0);
}
