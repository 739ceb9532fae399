/*
 * Helpers shared by the libFuzzer harnesses in tests/fuzz.  Each harness
 * is built by tests/fuzz/build.sh with clang, ASan and UBSan: a crash, a
 * leak, an overflow or a failed check (fuzz_check) is a bug.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A property every input must keep; abort() makes libFuzzer save it. */
#define fuzz_check(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* The input as a NUL-terminated string (allocated). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return (s);
}

/*
 * The selector of a harness with several parsers: the first byte, so that
 * seed files can start with an ASCII digit ('0' selects parser 0).
 */
static inline unsigned int
fuzz_pick(const uint8_t **data, size_t *size, unsigned int n)
{
	unsigned int	 k;

	if (*size == 0)
		return (0);
	k = (unsigned int)(uint8_t)(**data - '0') % n;
	(*data)++;
	(*size)--;
	return (k);
}

/*
 * A reason written into a buffer of size bytes must end within it and be
 * one line of printable ASCII when printable is set (never empty then).
 */
static inline void
fuzz_check_text(const char *s, size_t size, int printable)
{
	size_t	 i, n;

	n = strnlen(s, size);
	fuzz_check(n < size);
	if (!printable)
		return;
	fuzz_check(n > 0);
	for (i = 0; i < n; i++)
		fuzz_check((unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f);
}

/* A one-line reason: it ends within its buffer and holds no newline. */
static inline void
fuzz_check_oneline(const char *s, size_t size)
{
	fuzz_check_text(s, size, 0);
	fuzz_check(strchr(s, '\n') == NULL && strchr(s, '\r') == NULL);
}

#endif
