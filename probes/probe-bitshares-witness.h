/*
 * bitshares-witness probe: the pure parts (probe-bitshares-witness-check.c:
 * reply checks and the evaluation of one sample), apart from the loop and
 * the transport so the unit tests and fuzzers can feed them anything.
 */
#ifndef PROBE_BITSHARES_WITNESS_H
#define PROBE_BITSHARES_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A witness_object, as get_witness_by_account or get_objects return it. */
struct bitshares_witness {
	char		 id[32];		/* "1.6.14" */
	char		 account[32];		/* "1.2.43556" */
	char		 signing_key[96];
	char		 url[128];		/* shortened if longer */
	int64_t		 total_missed;
	int64_t		 last_confirmed;	/* ..._block_num */
};

/* get_dynamic_global_properties. */
struct bitshares_dgp {
	int64_t		 head;		/* head_block_number */
	int64_t		 lib;			/* -1 if absent */
	int64_t		 time_ms;		/* ms since the epoch */
	char		 time[40];		/* as the node wrote it */
	char		 current_witness[32];
	int64_t		 recently_missed;	/* -1 if absent */
};

/* What the probe remembers during one run of the program. */
struct bitshares_state {
	int		 have;
	int64_t		 first_missed;
};

#define BITSHARES_NOT_FOUND	1

int	bitshares_check_witness(const json_t *, struct bitshares_witness *,
	    char *, size_t);
int	bitshares_check_dgp(const json_t *, struct bitshares_dgp *, char *,
	    size_t);
int	bitshares_parse_witness(const char *, size_t,
	    struct bitshares_witness *, char *, size_t);
int	bitshares_parse_dgp(const char *, size_t, struct bitshares_dgp *,
	    char *, size_t);
int	bitshares_eval(struct bitshares_state *, int64_t,
	    const struct bitshares_witness *, const struct bitshares_dgp *,
	    int64_t, json_t **, char *, size_t);
int	bitshares_valid_witness(const char *);

#endif
