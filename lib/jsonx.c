/*
 * Helpers over jansson: the value an RFC 6901 JSON pointer names, for the
 * http probe's checks and the alert sinks' success predicate.
 */
#include "autoconf.h"

#include <stdlib.h>

#include <jansson.h>

#include "jsonx.h"

/* RFC 6901: the value at a JSON pointer, borrowed, or NULL. */
json_t *
json_pointer_get(json_t *v, const char *ptr)
{
	char		 tok[256];
	const char	*p = ptr;
	size_t		 n;
	char		*end;
	unsigned long	 idx;

	if (*p == '\0')
		return (v);
	while (v != NULL && *p == '/') {
		p++;
		for (n = 0; *p != '\0' && *p != '/' && n < sizeof(tok) - 1;
		    p++) {
			if (p[0] == '~' && p[1] == '0') {
				tok[n++] = '~';
				p++;
			} else if (p[0] == '~' && p[1] == '1') {
				tok[n++] = '/';
				p++;
			} else
				tok[n++] = *p;
		}
		tok[n] = '\0';
		if (json_is_object(v))
			v = json_object_get(v, tok);
		else if (json_is_array(v)) {
			idx = strtoul(tok, &end, 10);
			if (*tok == '\0' || *end != '\0')
				return (NULL);
			v = json_array_get(v, idx);
		} else
			return (NULL);
	}
	return (*p == '\0' ? v : NULL);
}
