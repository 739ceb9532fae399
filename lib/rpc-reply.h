/*
 * rpc-reply: the envelope of a chain daemon's reply, read in one place for
 * every kind.  Pure (jansson and libc): no transport, no loop, so the unit
 * tests and fuzzers feed it anything.
 *
 * Two envelopes:
 *   RPC_JSONRPC  JSON-RPC 1.0 and 2.0: {"result":..,"error":null|{"code",
 *                "message","data"}}.  bitcoind answers errors with HTTP 500
 *                and such a body.
 *   RPC_NODEOS   nodeos' REST: a 2xx body is the result itself; an error
 *                status carries {"code","message","error":{"code","name",
 *                "what","details":[{"message"}]}}.
 *
 * rpc_reply_parse() fills a struct rpc_reply: the result (borrowed from the
 * parsed body), or what is wrong with the reply and the server's error code
 * and message.  rpc_reply_reason() words a failed reply the way the kinds
 * print it; a kind's own reply check then reads rep->result.
 */
#ifndef RPC_REPLY_H
#define RPC_REPLY_H

#include <stddef.h>

#include <jansson.h>

#define RPC_JSONRPC	0
#define RPC_NODEOS	1

/* What a reply is (rpc_reply.rc). */
#define RPC_OK		0	/* result is set */
#define RPC_TRANSPORT	1	/* no reply: text is the transport's error */
#define RPC_EMPTY	2	/* an empty body */
#define RPC_NOTJSON	3	/* text is jansson's reason */
#define RPC_NOTOBJECT	4	/* JSON-RPC: type names the body's JSON type */
#define RPC_ERROR	5	/* the server's error: code (has_code), text */
#define RPC_NORESULT	6	/* JSON-RPC: neither result nor error */
#define RPC_HTTP	7	/* nodeos: an error status without an error
				   in the body */

/* How text from a reply is cleaned into one line (rpc_text()). */
#define RPC_TEXT_LINE	0x1	/* keep only the first line */
#define RPC_TEXT_SPACE	0x2	/* control bytes become spaces, others stay;
				   without it, '?' for any byte that is not
				   printable ASCII */
#define RPC_TEXT_MORE	0x4	/* end cut text with "..." */

/* How rpc_reply_reason() words a failed reply. */
#define RPC_WORD_NAMED		0	/* "<what> reply is empty", "<what>: HTTP
					   500: RPC error 1: ..." */
#define RPC_WORD_BITCOIND	1	/* bitcoind's: "HTTP 401: authentication
					   failed ...", "reply is not JSON" */

#define RPC_TEXTLEN	160

struct rpc_reply {
	int		 envelope;	/* RPC_JSONRPC or RPC_NODEOS */
	int		 rc;		/* RPC_OK or what is wrong */
	long		 status;	/* HTTP status, 0 if none */
	json_t		*doc;		/* the parsed body, owned, or NULL */
	json_t		*result;	/* borrowed from doc */
	const char	*type;		/* RPC_NOTOBJECT */
	int		 has_code;	/* RPC_ERROR: code is set */
	long long	 code;
	char		 text[RPC_TEXTLEN];
	char		 head[64];	/* a body that is not JSON: its start */
};

int		 rpc_reply_parse(struct rpc_reply *, int, long, const char *,
		    size_t, int);
void		 rpc_reply_transport(struct rpc_reply *, const char *, int);
void		 rpc_reply_free(struct rpc_reply *);
int		 rpc_reply_ok(const struct rpc_reply *, int);
int		 rpc_reply_reason(const struct rpc_reply *, int, const char *,
		    char *, size_t);
void		 rpc_reply_error(const struct rpc_reply *, char *, size_t);

void		 rpc_text(char *, size_t, const char *, size_t, int);
const char	*rpc_json_type(const json_t *);
int		 rpc_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
