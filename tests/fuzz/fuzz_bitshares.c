/*
 * Fuzz the bitshares-witness probe's reply parsers
 * (probes/probe-bitshares-witness.h).  The first byte picks the parser,
 * the rest is the reply body:
 *   0 bitshares_parse_witness, 1 bitshares_parse_dgp,
 *   2 both on the two halves of the body split at its first newline,
 *     then bitshares_eval, 3 bitshares_valid_witness.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe-bitshares-witness.h"

#include "fuzz.h"

/* A witness_object's strings end within their fields. */
static void
fuzz_check_witness(const struct bitshares_witness *w)
{
	fuzz_check_text(w->id, sizeof(w->id), 0);
	fuzz_check_text(w->account, sizeof(w->account), 0);
	fuzz_check_text(w->signing_key, sizeof(w->signing_key), 0);
	fuzz_check_text(w->url, sizeof(w->url), 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bitshares_witness w;
	struct bitshares_dgp	 d;
	struct bitshares_state	 st;
	json_t			*detail;
	const char		*body = NULL, *nl;
	char			 err[160], *s;
	size_t			 half;
	unsigned int		 which;

	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	which = fuzz_pick(&data, &size, 4);
	body = (const char *)data;
	switch (which) {
	case 0:
		if (bitshares_parse_witness(body, size, &w, err,
		    sizeof(err)) == 0)
			fuzz_check_witness(&w);
		else
			fuzz_check_oneline(err, sizeof(err));
		break;
	case 1:
		if (bitshares_parse_dgp(body, size, &d, err, sizeof(err)) == 0)
			fuzz_check_text(d.current_witness,
			    sizeof(d.current_witness), 0);
		else
			fuzz_check_oneline(err, sizeof(err));
		break;
	case 2:
		nl = memchr(body, '\n', size);
		half = nl != NULL ? (size_t)(nl - body) : size;
		if (bitshares_parse_witness(body, half, &w, err,
		    sizeof(err)) != 0)
			break;
		if (nl == NULL || bitshares_parse_dgp(nl + 1, size - half - 1,
		    &d, err, sizeof(err)) != 0)
			break;
		fuzz_check_witness(&w);
		memset(&st, 0, sizeof(st));
		(void)bitshares_eval(&st, 3000, &w, &d, d.time_ms + 1000,
		    &detail, err, sizeof(err));
		fuzz_check(detail != NULL);
		json_decref(detail);
		fuzz_check_oneline(err, sizeof(err));
		break;
	case 3:
		s = fuzz_strndup(data, size);
		(void)bitshares_valid_witness(s);
		free(s);
		break;
	}
	return (0);
}
