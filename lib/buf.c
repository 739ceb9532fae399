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
