/*
 * bitcoin-rpc: the pure parts of the probe (probe-bitcoin-rpc-check.c),
 * kept apart for unit tests and fuzzing.  The checks read a reply's result
 * (btc_check_*); the parsers take a reply's HTTP status and body (any
 * bytes, not necessarily NUL-terminated), read its envelope and check it.
 * Both either fill a struct and return 0, or return -1 with a one-line,
 * printable reason in err.  They never keep a pointer into the reply.
 */
#ifndef PROBE_BITCOIN_RPC_H
#define PROBE_BITCOIN_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BTC_ERRLEN	160

/* Heights are exact as doubles (the probe's value) up to 2^53. */
#define BTC_MAX_HEIGHT	(1LL << 53)

/* getblockchaininfo */
struct btc_chaininfo {
	long long	 blocks;
	long long	 headers;	/* -1: not in the reply */
	double		 progress;	/* 0..1; -1: not in the reply */
	int		 ibd;		/* 1, 0; -1: not in the reply */
	char		 chain[16];	/* "" when not in the reply */
};

/* smartnode status */
struct btc_smartnode {
	char		 state[32];	/* READY, POSE_BANNED, ... */
	char		 status[80];	/* "Ready", ... ("" if absent) */
};

/* protx info <proTxHash> */
struct btc_protx {
	long long	 penalty;
	long long	 ban_height;	/* -1: not banned */
	long long	 revived_height; /* -1: never */
};

/* What one check found; btc_assess() turns it into a result. */
struct btc_check {
	struct btc_chaininfo ci;
	int64_t		 unchanged_ms;	/* since the height last changed */
	int		 ref;		/* 0 none, 1 ref_height, -1 ref_error */
	long long	 ref_height;
	char		 ref_error[BTC_ERRLEN];
	int		 sn;		/* 0 not asked, 1 sn, -1 sn_error */
	struct btc_smartnode smartnode;
	char		 sn_error[BTC_ERRLEN];
	int		 protx;		/* 0 not asked, 1 protx, -1 error */
	struct btc_protx protxinfo;
	char		 protx_error[BTC_ERRLEN];
};

int	 btc_check_chaininfo(const json_t *, struct btc_chaininfo *, char *,
	    size_t);
int	 btc_check_blockcount(const json_t *, long long *, char *, size_t);
int	 btc_check_smartnode(const json_t *, struct btc_smartnode *, char *,
	    size_t);
int	 btc_check_protx(const json_t *, struct btc_protx *, char *, size_t);
int	 btc_rpc_result(long, const char *, size_t, json_t **, char *, size_t);
int	 btc_parse_chaininfo(long, const char *, size_t,
	    struct btc_chaininfo *, char *, size_t);
int	 btc_parse_blockcount(long, const char *, size_t, long long *, char *,
	    size_t);
int	 btc_parse_count_text(long, const char *, size_t, long long *, char *,
	    size_t);
int	 btc_parse_smartnode(long, const char *, size_t, struct btc_smartnode *,
	    char *, size_t);
int	 btc_parse_protx(long, const char *, size_t, struct btc_protx *, char *,
	    size_t);
int	 btc_assess(const struct btc_check *, int64_t, long long, char *,
	    size_t, json_t **);

#endif
