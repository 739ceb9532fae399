/*
 * The typed reader: one function per kind of value, each taking the YAML
 * node of the value and the key's name for its messages.  A reader stores
 * the value and returns 0, or records "file:line:col: message" at that
 * node and returns -1 leaving the destination as it was; the load goes on
 * and fails once the whole tree has been read.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config-read.h"
#include "log.h"
#include "util.h"

/* Append one line to the collected errors. */
static void
cfg_append(struct cfgctx *ctx, const char *line, size_t len)
{
	ctx->errors = xreallocarray(ctx->errors, ctx->errlen + len + 1, 1);
	memcpy(ctx->errors + ctx->errlen, line, len + 1);
	ctx->errlen += len;
	ctx->nerrors++;
}

/* Record one error at line:col of a file (line 0: the file as a whole). */
static void
cfg_verror(struct cfgctx *ctx, const char *file, size_t line, size_t col,
    const char *fmt, va_list ap)
{
	char	*msg, *out;
	int	 len;

	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	if (line > 0)
		len = xasprintf(&out, "%s:%zu:%zu: %s\n", file, line, col, msg);
	else
		len = xasprintf(&out, "%s: %s\n", file, msg);
	free(msg);
	cfg_append(ctx, out, (size_t)len);
	free(out);
}

/* Record one error at a node's position (NULL: the file as a whole). */
void
cfg_error(struct cfgctx *ctx, yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (n != NULL)
		cfg_verror(ctx, ctx->file, n->start_mark.line + 1,
		    n->start_mark.column + 1, fmt, ap);
	else
		cfg_verror(ctx, ctx->file, 0, 0, fmt, ap);
	va_end(ap);
}

/* Record one error at a position kept after the load (1-based). */
void
cfg_error_at(struct cfgctx *ctx, const char *file, int line, int col,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	cfg_verror(ctx, file, (size_t)line, (size_t)col, fmt, ap);
	va_end(ap);
}

yaml_node_t *
cfg_node(struct cfgctx *ctx, int id)
{
	return (yaml_document_get_node(ctx->doc, id));
}

/* The text of a scalar node, or NULL with an error. */
const char *
cfg_scalar(struct cfgctx *ctx, yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		cfg_error(ctx, n, "%s must be a scalar", what);
		return (NULL);
	}
	return ((const char *)n->data.scalar.value);
}

/* Whether a node is YAML's null: empty, ~ or null, unquoted. */
int
cfg_is_null(yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	v = (const char *)n->data.scalar.value;
	return (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0);
}

/*
 * The known-key check: the place of a map's key k among keys->names, or
 * -1 with an error at the key when it is not one of them.
 */
int
cfg_key(struct cfgctx *ctx, yaml_node_t *k, const struct cfg_keys *keys)
{
	const char	*ks;
	int		 i;

	if ((ks = cfg_scalar(ctx, k, keys->keytext)) == NULL)
		return (-1);
	for (i = 0; keys->names[i] != NULL; i++)
		if (strcmp(ks, keys->names[i]) == 0)
			return (i);
	cfg_error(ctx, k, "%s%sunknown %s \"%s\"%s",
	    keys->what != NULL ? keys->what : "",
	    keys->what != NULL ? ": " : "", keys->noun, ks, keys->hint);
	return (-1);
}

/* true, yes, on or false, no, off, in any case. */
int
cfg_bool(struct cfgctx *ctx, yaml_node_t *n, const char *key, int *out)
{
	const char	*v;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcasecmp(v, "off") == 0)
		*out = 0;
	else {
		cfg_error(ctx, n, "%s: expected true or false, not \"%s\"",
		    key, v);
		return (-1);
	}
	return (0);
}

/* An integer in base 10 or 8, within min..max. */
int
cfg_int(struct cfgctx *ctx, yaml_node_t *n, const char *key, long min,
    long max, int base, long *out)
{
	const char	*v;
	char		*end;
	long		 l;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	errno = 0;
	l = strtol(v, &end, base);
	if (*v == '\0' || *end != '\0' || errno != 0) {
		cfg_error(ctx, n, "%s: expected %s, not \"%s\"", key,
		    base == 8 ? "an octal number" : "an integer", v);
		return (-1);
	}
	if (l < min || l > max) {
		cfg_error(ctx, n, "%s: %s is out of range %ld..%ld", key, v,
		    min, max);
		return (-1);
	}
	*out = l;
	return (0);
}

/* A duration (500ms, 10s, 2m, 1h) in milliseconds. */
int
cfg_duration(struct cfgctx *ctx, yaml_node_t *n, const char *key,
    int64_t *out)
{
	const char	*v, *err;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	if (parse_duration(v, out, &err) == -1) {
		cfg_error(ctx, n, "%s: %s, not \"%s\"", key, err, v);
		return (-1);
	}
	return (0);
}

/* A size (4096, 512KB, 50MB, 1GB) in bytes. */
int
cfg_size(struct cfgctx *ctx, yaml_node_t *n, const char *key, int64_t *out)
{
	const char	*v, *err;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	if (parse_size(v, out, &err) == -1) {
		cfg_error(ctx, n, "%s: %s, not \"%s\"", key, err, v);
		return (-1);
	}
	return (0);
}

/* A signal by name (TERM, SIGTERM) or number. */
int
cfg_signal(struct cfgctx *ctx, yaml_node_t *n, const char *key, int *out)
{
	const char	*v;
	int		 sig;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	if ((sig = parse_signal(v)) == -1) {
		cfg_error(ctx, n, "%s: unknown signal \"%s\"", key, v);
		return (-1);
	}
	*out = sig;
	return (0);
}

/*
 * One of a NULL-terminated list of names: its place in the list, or an
 * error "unknown KEY \"v\" (a, b, c)".
 */
int
cfg_enum(struct cfgctx *ctx, yaml_node_t *n, const char *key,
    const char *const *names, int *out)
{
	const char	*v;
	char		*list = NULL, *s;
	int		 i;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (-1);
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return (0);
		}
	for (i = 0; names[i] != NULL; i++) {
		xasprintf(&s, "%s%s%s", list != NULL ? list : "",
		    list != NULL ? ", " : "", names[i]);
		free(list);
		list = s;
	}
	cfg_error(ctx, n, "unknown %s \"%s\" (%s)", key, v,
	    list != NULL ? list : "");
	free(list);
	return (-1);
}

/* A string that is not empty (a copy), or NULL with an error. */
char *
cfg_string(struct cfgctx *ctx, yaml_node_t *n, const char *key)
{
	const char	*v;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return (NULL);
	if (*v == '\0') {
		cfg_error(ctx, n, "%s must not be empty", key);
		return (NULL);
	}
	return (xstrdup(v));
}

/* An absolute path (a copy), or NULL with an error. */
char *
cfg_path(struct cfgctx *ctx, yaml_node_t *n, const char *key)
{
	char	*v;

	if ((v = cfg_string(ctx, n, key)) == NULL)
		return (NULL);
	if (*v != '/') {
		cfg_error(ctx, n, "%s must be an absolute path", key);
		free(v);
		return (NULL);
	}
	return (v);
}

/* A scalar or a sequence of scalars as a NULL-terminated vector. */
char **
cfg_list(struct cfgctx *ctx, yaml_node_t *n, const char *key)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	char			**v;
	size_t			 i = 0;
	const char		*s;

	if (n->type == YAML_SCALAR_NODE) {
		v = xcalloc(2, sizeof(*v));
		v[0] = xstrdup((const char *)n->data.scalar.value);
		return (v);
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, n, "%s must be a string or a list", key);
		return (NULL);
	}
	v = xcalloc(n->data.sequence.items.top - n->data.sequence.items.start
	    + 1, sizeof(*v));
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		e = cfg_node(ctx, *it);
		if ((s = cfg_scalar(ctx, e, key)) == NULL) {
			free_argv(v);
			return (NULL);
		}
		v[i++] = xstrdup(s);
	}
	return (v);
}
