/*
 * Kinds looked up by name, and the list of their names for an error that
 * says what would have been known.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "registry.h"

/* The name of a kind: its struct's first member. */
static const char *
registry_name(const void *kind)
{
	return (*(const char *const *)kind);
}

/* The kind of that name, or NULL. */
const void *
registry_find(const struct registry *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nkinds; i++)
		if (strcmp(registry_name(r->kinds[i]), name) == 0)
			return (r->kinds[i]);
	return (NULL);
}

/* "http, tcp, ...", in the order of the table, for error messages. */
const char *
registry_names(struct registry *r)
{
	size_t	 i, n = 0;

	if (r->names[0] != '\0')
		return (r->names);
	for (i = 0; i < r->nkinds && n < sizeof(r->names); i++)
		n += (size_t)snprintf(r->names + n, sizeof(r->names) - n,
		    "%s%s", i > 0 ? ", " : "", registry_name(r->kinds[i]));
	return (r->names);
}
