/* HTTP requests through one libcurl multi handle driven by the loop. */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

struct http_req;

struct http_reply {
	long		 status;	/* HTTP status, 0 if none */
	const char	*body;		/* NUL-terminated, borrowed */
	size_t		 len;
	const char	*error;		/* transport error, or NULL */
	double		 elapsed_ms;
};

/* Called once, from the loop, never from inside http_request(). */
typedef void (*http_done_cb)(void *, const struct http_reply *);

struct http_opts {
	const char	*method;	/* default GET, or POST with a body */
	const char	*body;
	const char	*content_type;
	const char	*userpwd;	/* "user:password" for Basic auth */
	const char	*const *headers; /* NULL-terminated "K: V" */
	long		 timeout_ms;
	size_t		 max_body;	/* bigger replies fail */
};

int		 http_init(void);
void		 http_shutdown(void);
struct http_req	*http_request(const char *, const struct http_opts *,
		    http_done_cb, void *);
void		 http_cancel(struct http_req *);
unsigned int	 http_active(void);

#endif
