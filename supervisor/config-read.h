/*
 * The typed reader of configuration values: a YAML scalar as a boolean,
 * an integer in a range, a duration, a size, a signal, a name of a fixed
 * set, a string or an absolute path, and the known-key check of a map.
 * Every error is collected in the load's context as "file:line:col: msg"
 * at the offending key or value itself.  For the configuration's own
 * files (config.c and the section parsers), not for the rest.
 */
#ifndef CONFIG_READ_H
#define CONFIG_READ_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct config;

/* One load: where it is, and the errors collected so far. */
struct cfgctx {
	const char	*file;
	yaml_document_t	*doc;
	struct config	*cfg;
	char		*errors;	/* collected messages, one per line */
	size_t		 errlen;
	int		 nerrors;
	/* yaml_json(): aliases may loop or multiply (billion laughs). */
	int		 json_depth;
	size_t		 json_nodes;
	int		 json_bad;
};

/*
 * The keys a map may have, for cfg_key(): an unknown one is reported as
 * "WHAT: unknown NOUN \"k\"HINT" (without "WHAT: " when what is NULL).
 */
struct cfg_keys {
	const char	*what;		/* "backoff", or NULL */
	const char	*noun;		/* "key", "setting", "limit" */
	const char	*keytext;	/* a key that is no scalar: "KEYTEXT
					   must be a scalar" */
	const char	*hint;		/* " (program, healthy)", or "" */
	const char *const *names;	/* NULL-terminated */
};

void		 cfg_error(struct cfgctx *, yaml_node_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 cfg_error_at(struct cfgctx *, const char *, int, int,
		    const char *, ...)
		    __attribute__((format(printf, 5, 6)));
yaml_node_t	*cfg_node(struct cfgctx *, int);
const char	*cfg_scalar(struct cfgctx *, yaml_node_t *, const char *);
int		 cfg_is_null(yaml_node_t *);
int		 cfg_key(struct cfgctx *, yaml_node_t *,
		    const struct cfg_keys *);
int		 cfg_bool(struct cfgctx *, yaml_node_t *, const char *, int *);
int		 cfg_int(struct cfgctx *, yaml_node_t *, const char *, long,
		    long, int, long *);
int		 cfg_duration(struct cfgctx *, yaml_node_t *, const char *,
		    int64_t *);
int		 cfg_size(struct cfgctx *, yaml_node_t *, const char *,
		    int64_t *);
int		 cfg_signal(struct cfgctx *, yaml_node_t *, const char *,
		    int *);
int		 cfg_enum(struct cfgctx *, yaml_node_t *, const char *,
		    const char *const *, int *);
char		*cfg_string(struct cfgctx *, yaml_node_t *, const char *);
char		*cfg_path(struct cfgctx *, yaml_node_t *, const char *);
char		**cfg_list(struct cfgctx *, yaml_node_t *, const char *);

#endif
