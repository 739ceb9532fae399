/*
 * rpc: one client for the chain daemons' RPC, under every chain kind.  An
 * endpoint (url and credentials) is read from a kind's settings once; a
 * call builds the request with jansson, sends it through http, reads the
 * envelope (rpc-reply.h) and hands the reply to the kind's own check.
 *
 * A dialect is one row of the table of protocols: adding a chain whose
 * daemon speaks one of them takes only the kind's own reply check.
 */
#ifndef RPC_H
#define RPC_H

#include <stddef.h>

#include <jansson.h>

#include "rpc-reply.h"

struct rpc_dialect {
	const char	*name;
	int		 envelope;	/* RPC_JSONRPC or RPC_NODEOS */
	const char	*jsonrpc;	/* "1.0", "2.0"; NULL: REST */
	int		 text;		/* RPC_TEXT_* for reply text */
	int		 wording;	/* RPC_WORD_* */
	const char *const *headers;	/* NULL-terminated "K: V", or NULL */
};

extern const struct rpc_dialect rpc_bitcoind;	/* JSON-RPC 1.0 */
extern const struct rpc_dialect rpc_graphene;	/* JSON-RPC 2.0 */
extern const struct rpc_dialect rpc_nodeos;	/* REST */

/* A secret file's reader: its first line (allocated), or NULL with err. */
typedef char	*(*rpc_secret_fn)(const char *, char **);

/* rpc_endpoint_parse() flags. */
#define RPC_EP_AUTH	0x1	/* needs cookie, or user and password_file */
#define RPC_EP_AUTH_OPT	0x2	/* may have them: user and password_file */
#define RPC_EP_PLAIN	0x4	/* the url must not hold credentials */
#define RPC_EP_LAX	0x8	/* any url (curl takes "host:port" as http) */

struct rpc_endpoint {
	const struct rpc_dialect *dialect;
	const char	*url;		/* borrowed from the settings */
	const char	*user;
	const char	*password_file;
	const char	*cookie;
	/* How the kind reads each secret file (lib knows no trust rules). */
	rpc_secret_fn	 read_password;
	rpc_secret_fn	 read_cookie;
};

/* Per call. */
struct rpc_opts {
	long		 timeout_ms;
	size_t		 max_body;	/* 0: http's default */
	/* Credentials read already, for a chain of calls; or NULL. */
	const char	*userpwd;
	/*
	 * The reply's text before anything reads it (to scrub secrets):
	 * an allocated copy and its length.  NULL: the text as it came.
	 */
	char		*(*filter)(void *, const char *, size_t, size_t *);
};

struct rpc_call;

/* Called once, from the loop; the reply is freed when it returns. */
typedef void	 (*rpc_done_cb)(void *, const struct rpc_reply *);

extern const char *const rpc_endpoint_keys[];

int		 rpc_endpoint_parse(const json_t *, int, const char *,
		    const char *, struct rpc_endpoint *, const char **,
		    char **);
char		*rpc_endpoint_userpwd(const struct rpc_endpoint *, char *,
		    size_t);
char		*rpc_request(const struct rpc_dialect *, const char *,
		    json_t *);
struct rpc_call	*rpc_call(const struct rpc_endpoint *, const char *, json_t *,
		    const struct rpc_opts *, rpc_done_cb, void *, char *,
		    size_t);
void		 rpc_cancel(struct rpc_call *);

#endif
