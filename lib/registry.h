/*
 * A table of kinds (probe kinds, action kinds, sink kinds) looked up by
 * name.  A kind is a struct whose first member is its name, a const
 * char *; the table is an array of pointers to such structs.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>

struct registry {
	const void *const	*kinds;
	size_t			 nkinds;
	char			 names[512];	/* "http, tcp, ..." */
};

#define REGISTRY_INIT(v)	{ (v), sizeof(v) / sizeof((v)[0]), "" }

const void	*registry_find(const struct registry *, const char *);
const char	*registry_names(struct registry *);

#endif
