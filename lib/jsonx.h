/* Helpers over jansson that more than one part of chainkeeper needs. */
#ifndef JSONX_H
#define JSONX_H

#include <jansson.h>

json_t	*json_pointer_get(json_t *, const char *);

#endif
