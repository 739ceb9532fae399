/*
 * The growable text buffer.  It doubles as it grows, so appending a byte
 * at a time costs amortised constant time; running out of memory is
 * fatal, as everywhere in chainkeeper.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

/* Make room for n more bytes and a NUL (b holds a string after). */
void
buf_need(struct buf *b, size_t n)
{
	size_t	 size;

	if (n > SIZE_MAX / 2 - b->len - 1)
		fatalx("buf_need: %zu bytes", n);
	if (b->len + n + 1 <= b->size)
		return;
	size = b->size == 0 ? 64 : b->size;
	while (size < b->len + n + 1)
		size *= 2;
	b->s = xreallocarray(b->s, size, 1);
	b->size = size;
	b->s[b->len] = '\0';
}

void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_need(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *big;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&big, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

/*
 * s %-encoded for a URL: all but the unreserved characters of RFC 3986.
 * Room for the worst case is made first, so that a secret passing
 * through leaves no copy behind in memory freed by a realloc.
 */
void
buf_add_url(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			 e[3];

	buf_need(b, strlen(s) * 3);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			buf_add(b, (const char *)p, 1);
		else {
			e[0] = '%';
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 15];
			buf_add(b, e, 3);
		}
	}
}

/*
 * s escaped for the inside of a JSON string: quote, backslash, \n, \r,
 * \t, other control bytes as \u00xx; the rest (UTF-8 too) as is.  Room
 * is made first, as in buf_add_url().
 */
void
buf_add_json(struct buf *b, const char *s)
{
	const unsigned char	*p;
	char			 e[8];

	buf_need(b, strlen(s) * 6);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			e[0] = '\\';
			e[1] = (char)*p;
			buf_add(b, e, 2);
		} else if (*p == '\n')
			buf_add(b, "\\n", 2);
		else if (*p == '\r')
			buf_add(b, "\\r", 2);
		else if (*p == '\t')
			buf_add(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", *p);
			buf_add(b, e, 6);
		} else
			buf_add(b, (const char *)p, 1);
	}
}

/* The text, for the caller to free ("" when empty); b is empty after. */
char *
buf_take(struct buf *b)
{
	char	*s;

	if (b->s == NULL)
		return (xstrdup(""));
	s = b->s;
	memset(b, 0, sizeof(*b));
	return (s);
}

void
buf_free(struct buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}
