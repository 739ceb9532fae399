/*
 * Fuzz the nodeos probe's reply parsers (probes/probe-nodeos.h).  The
 * first byte picks the parser, the rest is the reply body:
 *   0 nodeos_parse_info (then nodeos_eval twice),
 *   1 nodeos_parse_paused,
 *   2 nodeos_error_text (the second byte picks the HTTP status).
 * Reasons are one line, and end within their buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe-nodeos.h"

#include "fuzz.h"

static const long statuses[] = { 500, 400, 404, 200, 0, 503, 201, 401 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodeos_info	 ni;
	struct nodeos_state	 st;
	struct nodeos_limits	 lim = { 2000, 3000, 4000, 3000, 3 };
	json_t			*detail;
	const char		*body;
	char			 err[160], out[160];
	long			 status;
	int			 paused, rc;

	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	switch (fuzz_pick(&data, &size, 3)) {
	case 0:
		body = (const char *)data;
		if (nodeos_parse_info(body, size, &ni, err, sizeof(err)) ==
		    -1) {
			fuzz_check_oneline(err, sizeof(err));
			break;
		}
		fuzz_check_text(ni.producer, sizeof(ni.producer), 0);
		fuzz_check_text(ni.version, sizeof(ni.version), 0);
		fuzz_check_text(ni.head_time, sizeof(ni.head_time), 0);
		memset(&st, 0, sizeof(st));
		rc = nodeos_eval(&st, &lim, &ni, 1000, ni.head_time_ms + 500,
		    &detail, err, sizeof(err));
		fuzz_check(detail != NULL);
		json_decref(detail);
		fuzz_check_oneline(err, sizeof(err));
		rc = nodeos_eval(&st, &lim, &ni, 9000, ni.head_time_ms + 8500,
		    &detail, err, sizeof(err));
		(void)rc;
		fuzz_check(detail != NULL);
		json_decref(detail);
		fuzz_check_oneline(err, sizeof(err));
		break;
	case 1:
		body = (const char *)data;
		if (nodeos_parse_paused(body, size, &paused, err,
		    sizeof(err)) == -1)
			fuzz_check_oneline(err, sizeof(err));
		else
			fuzz_check(paused == 0 || paused == 1);
		break;
	case 2:
		status = statuses[fuzz_pick(&data, &size, 8)];
		body = (const char *)data;
		memset(out, 'x', sizeof(out));
		nodeos_error_text(status, body, size, out, sizeof(out));
		fuzz_check_oneline(out, sizeof(out));
		break;
	}
	return (0);
}
