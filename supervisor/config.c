/*
 * The configuration loader: YAML in, struct config out.  With the typed
 * reader (config-read.c), the only file that includes yaml.h.  A document
 * is loaded whole with libyaml, then walked with key tables; every error
 * is collected as "file:line:col: msg" and the load fails after the whole
 * tree (and every include) was checked.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "alert.h"
#include "config.h"
#include "config-read.h"
#include "failover-eos.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* The modules behind probes, rules and the rest; NULL: skip those parts. */
static const struct config_kinds *kinds;

const char	*(*config_logdir_check)(const char *, uid_t);

void
config_use_kinds(const struct config_kinds *k)
{
	kinds = k;
}

#define YAML_JSON_MAX_DEPTH	64
#define YAML_JSON_MAX_NODES	1000000

/*
 * Limits on a file, checked before the document is built: its size, how
 * deep collections nest and how many nodes it has (libyaml's time grows
 * quadratically with nesting).
 */
#define CONFIG_MAX_BYTES	(16 * 1024 * 1024)
#define CONFIG_MAX_DEPTH	64
#define CONFIG_MAX_NODES	100000

/*
 * The kinds of program keys.  A scalar key is read, defaulted and printed
 * by its type alone; a key with structure has its own parse() and
 * print().
 */
enum pk_type {
	PK_CUSTOM,		/* parse() and print() */
	PK_BOOL,		/* int: 0 or 1 */
	PK_INT,			/* int in min..max */
	PK_OCTAL,		/* int in min..max, written in octal; -1:
				   not set */
	PK_DURATION,		/* int64_t milliseconds */
	PK_SIZE,		/* int64_t bytes */
	PK_SIGNAL,		/* int */
	PK_AUTORESTART,		/* int: true, false or unexpected */
	PK_STRING,		/* char *; NULL: not set */
	PK_PATH,		/* char *, an absolute path; NULL: not set */
};

/*
 * One program key, as redis's static_configs[] has them: its type, where
 * it goes in struct program_config, its default and bounds, and where
 * -nv prints it (json under in; NULL: its own name at the top).  The
 * table's order is -nv's.
 */
struct program_key {
	const char	*name;
	enum pk_type	 type;
	size_t		 off;
	int64_t		 def;
	long		 min, max;
	const char	*json;
	const char	*in;
	void		(*parse)(struct cfgctx *, yaml_node_t *,
			    struct program_config *);
	json_t		*(*print)(const struct program_config *, int);
};

#define PC(field)	offsetof(struct program_config, field)

static const char *const limit_names[LIMIT_MAX + 1] = {
	"nofile", "nproc", "core", "memlock", NULL
};

/* The keys of the maps with a fixed set of keys, for cfg_key(). */
static const char *const backoff_names[] = { "initial", "max", "jitter",
    NULL };
static const struct cfg_keys backoff_keys = { "backoff", "key",
    "backoff key", "", backoff_names };
static const char *const depends_names[] = { "program", "healthy", NULL };
static const struct cfg_keys depends_keys = { "depends_on", "key",
    "depends_on key", " (program, healthy)", depends_names };
static const struct cfg_keys limits_keys = { "limits", "limit",
    "limits key", " (use nofile, nproc, core or memlock)", limit_names };
static const char *const step_names[] = { "do", "max", "within", NULL };
static const struct cfg_keys step_keys = { "step", "setting",
    "step setting", "", step_names };
static const char *const rule_names[] = { "name", "when", "do", "steps",
    "hold_down", NULL };
static const struct cfg_keys rule_keys = { "rule", "setting",
    "rule setting", "", rule_names };
static const char *const control_names[] = { "socket", "mode", "group",
    "idle_timeout", NULL };
static const struct cfg_keys control_keys = { "control", "key",
    "control key", "", control_names };
static const char *const log_names[] = { "file", "dir", NULL };
static const struct cfg_keys log_keys = { "log", "key", "log key", "",
    log_names };

static void
set_str(char **dst, char *v)
{
	if (v == NULL)
		return;
	free(*dst);
	*dst = v;
}

static int
valid_name(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 64)
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return (0);
	return (1);
}

/* Program keys. */

static void
pk_command(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	const char	*err, *s;
	char		**argv;

	if (n->type == YAML_SCALAR_NODE) {
		s = (const char *)n->data.scalar.value;
		if ((argv = split_command(s, &err)) == NULL) {
			cfg_error(ctx, n, "command: %s", err);
			return;
		}
	} else if ((argv = cfg_list(ctx, n, "command")) == NULL)
		return;
	else if (argv[0] == NULL || *argv[0] == '\0') {
		cfg_error(ctx, n, "command: empty command");
		free_argv(argv);
		return;
	}
	free_argv(pc->argv);
	pc->argv = argv;
}

static void
pk_user(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	struct passwd	*pw;
	char		*v, *end;
	gid_t		 groups[NGROUPS_MAX];
	int		 ng = NGROUPS_MAX;
	unsigned long	 id;

	if ((v = cfg_string(ctx, n, "user")) == NULL)
		return;
	errno = 0;
	pw = getpwnam(v);
	if (pw == NULL && isdigit((unsigned char)*v)) {
		id = strtoul(v, &end, 10);
		if (*end == '\0')
			pw = getpwuid((uid_t)id);
	}
	if (pw == NULL) {
		cfg_error(ctx, n, "user: no such user \"%s\"", v);
		free(v);
		return;
	}
	if (geteuid() != 0 && pw->pw_uid != geteuid()) {
		cfg_error(ctx, n, "user: switching to \"%s\" needs root", v);
		free(v);
		return;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) == -1) {
		cfg_error(ctx, n, "user: \"%s\" is in too many groups", v);
		free(v);
		return;
	}
	set_str(&pc->user, xstrdup(pw->pw_name));
	free(v);
	pc->uid = pw->pw_uid;
	pc->gid = pw->pw_gid;
	set_str(&pc->home, xstrdup(pw->pw_dir));
	free(pc->groups);
	pc->groups = xcalloc(ng, sizeof(gid_t));
	memcpy(pc->groups, groups, ng * sizeof(gid_t));
	pc->ngroups = ng;
}

static int
valid_env_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return (0);
	return (1);
}

static void
pk_environment(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*ks, *vs;
	char			**env;
	size_t			 i = 0;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "environment must be a map of NAME: value");
		return;
	}
	env = xcalloc(n->data.mapping.pairs.top - n->data.mapping.pairs.start
	    + 1, sizeof(*env));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((ks = cfg_scalar(ctx, k, "environment name")) == NULL)
			continue;
		if (!valid_env_name(ks)) {
			cfg_error(ctx, k, "environment: invalid name \"%s\"",
			    ks);
			continue;
		}
		if ((vs = cfg_scalar(ctx, v, "environment value")) == NULL)
			continue;
		xasprintf(&env[i++], "%s=%s", ks, cfg_is_null(v) ? "" : vs);
	}
	free_argv(pc->env);
	pc->env = env;
}

static void
pk_exitcodes(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	char			*copy, *tok, *save, *end;
	long			 v;

	free(pc->exitcodes);
	pc->exitcodes = NULL;
	pc->nexitcodes = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			e = cfg_node(ctx, *it);
			if (cfg_int(ctx, e, "exitcodes", 0, 255, 10, &v) == -1)
				continue;
			pc->exitcodes = xreallocarray(pc->exitcodes,
			    pc->nexitcodes + 1, sizeof(int));
			pc->exitcodes[pc->nexitcodes++] = (int)v;
		}
		return;
	}
	if (cfg_scalar(ctx, n, "exitcodes") == NULL)
		return;
	/* supervisord's form: "0,2". */
	copy = xstrdup((const char *)n->data.scalar.value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		errno = 0;
		v = strtol(tok, &end, 10);
		if (*end != '\0' || errno != 0 || v < 0 || v > 255) {
			cfg_error(ctx, n, "exitcodes: \"%s\" is not an exit "
			    "code 0..255", tok);
			continue;
		}
		pc->exitcodes = xreallocarray(pc->exitcodes,
		    pc->nexitcodes + 1, sizeof(int));
		pc->exitcodes[pc->nexitcodes++] = (int)v;
	}
	free(copy);
}

/* AUTO, NONE or an absolute path; AUTO is resolved after the load. */
static void
logfile_path(struct cfgctx *ctx, yaml_node_t *n, const char *key,
    struct logfile_config *lc)
{
	const char	*v;

	if ((v = cfg_scalar(ctx, n, key)) == NULL)
		return;
	free(lc->path);
	lc->path = NULL;
	lc->line = (int)n->start_mark.line + 1;
	lc->col = (int)n->start_mark.column + 1;
	if (strcasecmp(v, "NONE") == 0)
		return;
	if (strcasecmp(v, "AUTO") == 0) {
		lc->path = xstrdup("AUTO");
		return;
	}
	if (*v != '/') {
		cfg_error(ctx, n, "%s must be AUTO, NONE or an absolute path",
		    key);
		return;
	}
	lc->path = xstrdup(v);
}

/*
 * A log folder that someone other than root and the program's user can
 * write would let them steer where root writes: refused.
 */
static void
logfile_check(struct cfgctx *ctx, const struct program_config *pc,
    struct logfile_config *lc, const char *key)
{
	const char	*why;
	char		*dir, *slash;

	lc->user = pc->user != NULL ? pc->uid : (uid_t)-1;
	if (lc->path == NULL || config_logdir_check == NULL)
		return;
	dir = xstrdup(lc->path);
	if ((slash = strrchr(dir, '/')) == dir)
		slash++;
	*slash = '\0';
	if ((why = config_logdir_check(dir, lc->user)) != NULL)
		cfg_error_at(ctx, pc->file, lc->line > 0 ? lc->line : pc->line,
		    lc->line > 0 ? lc->col : pc->col, "program \"%s\": %s "
		    "folder %s refused: %s (it must belong to root or the "
		    "program's user, and nobody else may write it)", pc->name,
		    key, dir, why);
	free(dir);
}

static void
pk_stdout_logfile(struct cfgctx *ctx, yaml_node_t *n,
    struct program_config *pc)
{
	logfile_path(ctx, n, "stdout_logfile", &pc->out);
}

static void
pk_stderr_logfile(struct cfgctx *ctx, yaml_node_t *n,
    struct program_config *pc)
{
	logfile_path(ctx, n, "stderr_logfile", &pc->err);
}

static void
pk_backoff(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*vs;
	char			*end;
	double			 d;
	int			 i;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "backoff must be a map with initial, max "
		    "and jitter");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((i = cfg_key(ctx, k, &backoff_keys)) == -1)
			continue;
		if (i == 0)		/* initial */
			cfg_duration(ctx, v, "backoff.initial",
			    &pc->backoff.initial_ms);
		else if (i == 1)	/* max */
			cfg_duration(ctx, v, "backoff.max",
			    &pc->backoff.max_ms);
		else {			/* jitter */
			if ((vs = cfg_scalar(ctx, v, "backoff.jitter")) == NULL)
				continue;
			errno = 0;
			d = strtod(vs, &end);
			if (end == vs || errno != 0 ||
			    (*end != '\0' && strcmp(end, "%") != 0)) {
				cfg_error(ctx, v, "backoff.jitter: expected a "
				    "percentage such as 10%% or a fraction "
				    "such as 0.1, not \"%s\"", vs);
				continue;
			}
			/* 10% or a fraction 0.1; a bare 2 is ambiguous. */
			if (*end == '\0' && d > 1.0) {
				cfg_error(ctx, v, "backoff.jitter: a bare number "
				    "is a fraction of 1; write %g%% for a "
				    "percentage", d);
				continue;
			}
			if (*end == '\0')
				d *= 100;
			if (d < 0 || d > 100) {
				cfg_error(ctx, v, "backoff.jitter: must be "
				    "between 0%% and 100%%");
				continue;
			}
			pc->backoff.jitter_pct = (int)(d + 0.5);
		}
	}
}


/* Free depends_healthy, which is as long as depends_on. */
static void
free_depends_healthy(struct program_config *pc)
{
	size_t	 i;

	if (pc->depends_healthy == NULL)
		return;
	for (i = 0; pc->depends_on[i] != NULL; i++)
		free(pc->depends_healthy[i]);
	free(pc->depends_healthy);
	pc->depends_healthy = NULL;
}

/* One depends_on item in the long form: {program: name, healthy: probe}. */
static int
depends_item(struct cfgctx *ctx, yaml_node_t *n, char **name, char **probe)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	int			 i;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((i = cfg_key(ctx, k, &depends_keys)) == 0)	/* program */
			set_str(name, cfg_string(ctx, v, "depends_on.program"));
		else if (i == 1)	/* healthy */
			set_str(probe, cfg_string(ctx, v,
			    "depends_on.healthy"));
	}
	if (*name == NULL) {
		cfg_error(ctx, n, "depends_on: an item needs program");
		return (-1);
	}
	return (0);
}

/*
 * depends_on: a name, or a list of names and {program, healthy} items; the
 * latter waits for that probe of the program to be healthy.
 */
static void
pk_depends_on(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	char			**v, **h, *name, *probe;
	size_t			 i = 0, len;

	if (n->type != YAML_SEQUENCE_NODE) {
		if ((v = cfg_list(ctx, n, "depends_on")) == NULL)
			return;
		len = argv_len(v);
	} else {
		len = (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
		v = xcalloc(len + 1, sizeof(*v));
	}
	h = xcalloc(len + 1, sizeof(*h));
	if (n->type == YAML_SEQUENCE_NODE) {
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			e = cfg_node(ctx, *it);
			name = probe = NULL;
			if (e->type == YAML_MAPPING_NODE) {
				if (depends_item(ctx, e, &name, &probe) == -1) {
					free(probe);
					continue;
				}
			} else if (cfg_scalar(ctx, e, "depends_on") != NULL)
				name = xstrdup((const char *)
				    e->data.scalar.value);
			else
				continue;
			v[i] = name;
			h[i++] = probe;
		}
	}
	free_depends_healthy(pc);	/* walks depends_on: first */
	free_argv(pc->depends_on);
	pc->depends_on = v;
	pc->depends_healthy = h;
}

static void
pk_limits(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*ks, *vs, *err;
	int64_t			 val;
	int			 i;
	char			*end;
	unsigned long long	 u;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "limits must be a map (nofile, nproc, core, "
		    "memlock)");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((i = cfg_key(ctx, k, &limits_keys)) == -1)
			continue;
		ks = limit_names[i];
		if ((vs = cfg_scalar(ctx, v, "limits value")) == NULL)
			continue;
		if (strcasecmp(vs, "unlimited") == 0 ||
		    strcasecmp(vs, "infinity") == 0) {
			pc->limit[i] = RLIM_INFINITY;
			pc->limit_set[i] = 1;
			continue;
		}
		if (i == LIMIT_NOFILE || i == LIMIT_NPROC) {
			errno = 0;
			u = strtoull(vs, &end, 10);
			if (*vs == '-' || *end != '\0' || errno != 0 ||
			    u == 0) {
				cfg_error(ctx, v, "limits.%s: expected a "
				    "positive count or unlimited, not \"%s\"",
				    ks, vs);
				continue;
			}
			pc->limit[i] = (rlim_t)u;
		} else {
			if (parse_size(vs, &val, &err) == -1) {
				cfg_error(ctx, v, "limits.%s: %s, not \"%s\"",
				    ks, err, vs);
				continue;
			}
			pc->limit[i] = (rlim_t)val;
		}
		pc->limit_set[i] = 1;
	}
}

/* A YAML node as JSON: plain scalars become numbers, booleans or null. */
static json_t *
yaml_json(struct cfgctx *ctx, yaml_node_t *n)
{
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	yaml_node_t		*k;
	json_t			*o;
	const char		*v;
	char			*end;
	long long		 ll;
	double			 d;

	if (ctx->json_bad)
		return (json_null());
	if (ctx->json_depth >= YAML_JSON_MAX_DEPTH ||
	    ++ctx->json_nodes > YAML_JSON_MAX_NODES) {
		cfg_error(ctx, n, "nested too deeply or too large (a recursive "
		    "alias?)");
		ctx->json_bad = 1;
		return (json_null());
	}
	switch (n->type) {
	case YAML_MAPPING_NODE:
		o = json_object();
		ctx->json_depth++;
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			k = cfg_node(ctx, p->key);
			if (k->type != YAML_SCALAR_NODE)
				continue;
			json_object_set_new(o, (char *)k->data.scalar.value,
			    yaml_json(ctx, cfg_node(ctx, p->value)));
		}
		ctx->json_depth--;
		return (o);
	case YAML_SEQUENCE_NODE:
		o = json_array();
		ctx->json_depth++;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			json_array_append_new(o, yaml_json(ctx,
			    cfg_node(ctx, *it)));
		ctx->json_depth--;
		return (o);
	default:
		break;
	}
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (json_string(v));
	if (cfg_is_null(n))
		return (json_null());
	if (strcmp(v, "true") == 0)
		return (json_true());
	if (strcmp(v, "false") == 0)
		return (json_false());
	errno = 0;
	ll = strtoll(v, &end, 10);
	if (*v != '\0' && *end == '\0' && errno == 0)
		return (json_integer(ll));
	d = strtod(v, &end);
	/* JSON has no nan or inf: those stay strings. */
	if (*v != '\0' && *end == '\0' && errno == 0 && isfinite(d))
		return (json_real(d));
	return (json_string(v));
}

/* The node of a key in a mapping, for error positions. */
static yaml_node_t *
map_key_node(struct cfgctx *ctx, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (key == NULL || map->type != YAML_MAPPING_NODE)
		return (map);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return (cfg_node(ctx, p->value));
	}
	return (map);
}

/*
 * One probe: the common settings (kind, name, interval, timeout, fall,
 * rise, hung_after) are read here; the rest goes to the kind's parse().
 */
static struct probe_config *
parse_probe(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	struct probe_config	*pr;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *kind = NULL;
	const char		*ks, *bad = NULL;
	char			*err = NULL;
	json_t			*params;
	long			 l;
	size_t			 i;
	int			 ok = 1;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "a probe must be a map with at least kind");
		return (NULL);
	}
	pr = xcalloc(1, sizeof(*pr));
	pr->interval_ms = 10000;
	pr->timeout_ms = -1;
	pr->fall = 3;
	pr->rise = 2;
	params = json_object();
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((ks = cfg_scalar(ctx, k, "probe setting")) == NULL) {
			ok = 0;
			continue;
		}
		if (strcmp(ks, "kind") == 0) {
			kind = v;
			if (cfg_scalar(ctx, v, "kind") == NULL)
				ok = 0;
			else if ((pr->kind = kinds->probe_kind_find(
			    (char *)v->data.scalar.value)) == NULL) {
				cfg_error(ctx, v, "unknown probe kind \"%s\" "
				    "(kinds: %s)", v->data.scalar.value,
				    kinds->probe_kinds_list());
				ok = 0;
			}
		} else if (strcmp(ks, "name") == 0) {
			free(pr->name);
			if ((pr->name = cfg_string(ctx, v, "name")) == NULL ||
			    !valid_name(pr->name)) {
				if (pr->name != NULL)
					cfg_error(ctx, v, "invalid probe name");
				ok = 0;
			}
		} else if (strcmp(ks, "interval") == 0) {
			if (cfg_duration(ctx, v, "interval",
			    &pr->interval_ms) == -1)
				ok = 0;
			else if (pr->interval_ms < 100) {
				cfg_error(ctx, v, "interval must be at least "
				    "100ms");
				ok = 0;
			}
		} else if (strcmp(ks, "timeout") == 0) {
			if (cfg_duration(ctx, v, "timeout",
			    &pr->timeout_ms) == -1)
				ok = 0;
		} else if (strcmp(ks, "fall") == 0 || strcmp(ks, "rise") == 0 ||
		    strcmp(ks, "hung_after") == 0) {
			if (cfg_int(ctx, v, ks, strcmp(ks, "hung_after") == 0 ?
			    0 : 1, 1000, 10, &l) == -1)
				ok = 0;
			else if (*ks == 'f')
				pr->fall = (int)l;
			else if (*ks == 'r')
				pr->rise = (int)l;
			else
				pr->hung_after = (int)l;
		} else
			json_object_set_new(params, ks, yaml_json(ctx, v));
	}
	if (kind == NULL) {
		cfg_error(ctx, n, "probe: kind is required (kinds: %s)",
		    kinds->probe_kinds_list());
		ok = 0;
	}
	if (pr->timeout_ms == -1)
		pr->timeout_ms = pr->interval_ms < 5000 ? pr->interval_ms :
		    5000;
	if (pr->timeout_ms > pr->interval_ms) {
		cfg_error(ctx, map_key_node(ctx, n, "timeout"), "probe timeout "
		    "must not be longer than its interval");
		ok = 0;
	}
	if (pr->kind != NULL && pr->name == NULL)
		pr->name = xstrdup(pr->kind->name);
	if (pr->kind != NULL && ok) {
		if ((pr->kcfg = pr->kind->parse(params, &bad, &err)) == NULL) {
			cfg_error(ctx, map_key_node(ctx, n, bad), "%s probe: %s",
			    pr->kind->name, err != NULL ? err : "invalid");
			free(err);
			ok = 0;
		}
	}
	pr->params = params;
	for (i = 0; ok && i < pc->nprobes; i++) {
		if (strcmp(pc->probes[i]->name, pr->name) == 0) {
			cfg_error(ctx, n, "program \"%s\": two probes named "
			    "\"%s\" (set name:)", pc->name, pr->name);
			ok = 0;
		}
	}
	if (!ok) {
		kinds->probe_config_free(pr);
		return (NULL);
	}
	return (pr);
}

static void
pk_probes(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_item_t	*it;
	struct probe_config	*pr;

	if (kinds == NULL)
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, n, "probes must be a list of probes");
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((pr = parse_probe(ctx, cfg_node(ctx, *it), pc)) == NULL)
			continue;
		pc->probes = xreallocarray(pc->probes, pc->nprobes + 1,
		    sizeof(*pc->probes));
		pc->probes[pc->nprobes++] = pr;
	}
}

/* One action: "restart", or a one-key map {signal: USR1}. */
static struct action_config *
parse_action(struct cfgctx *ctx, yaml_node_t *n)
{
	struct action_config	*ac;
	yaml_node_t		*k, *v = NULL;
	const char		*name;
	char			*err = NULL;

	if (n->type == YAML_SCALAR_NODE)
		name = (const char *)n->data.scalar.value;
	else if (n->type == YAML_MAPPING_NODE &&
	    n->data.mapping.pairs.top - n->data.mapping.pairs.start == 1) {
		k = cfg_node(ctx, n->data.mapping.pairs.start->key);
		v = cfg_node(ctx, n->data.mapping.pairs.start->value);
		if ((name = cfg_scalar(ctx, k, "action")) == NULL)
			return (NULL);
	} else {
		cfg_error(ctx, n, "an action is a name (restart) or a map with "
		    "one key ({signal: USR1})");
		return (NULL);
	}
	ac = xcalloc(1, sizeof(*ac));
	if ((ac->kind = kinds->action_kind_find(name)) == NULL) {
		cfg_error(ctx, n, "unknown action \"%s\" (actions: %s)", name,
		    kinds->action_kinds_list());
		free(ac);
		return (NULL);
	}
	ac->params = v != NULL ? yaml_json(ctx, v) : json_null();
	if ((ac->kcfg = ac->kind->parse(ac->params, &err)) == NULL) {
		cfg_error(ctx, v != NULL ? v : n, "%s: %s", name,
		    err != NULL ? err : "invalid");
		free(err);
		kinds->action_config_free(ac);
		return (NULL);
	}
	return (ac);
}

/* do: an action or a list of actions, into a step. */
static int
parse_do(struct cfgctx *ctx, yaml_node_t *n, struct rule_step *st)
{
	yaml_node_item_t	*it;
	struct action_config	*ac;
	int			 ok = 1;

	if (n->type != YAML_SEQUENCE_NODE) {
		if ((ac = parse_action(ctx, n)) == NULL)
			return (-1);
		st->actions = xcalloc(1, sizeof(*st->actions));
		st->actions[st->nactions++] = ac;
		return (0);
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((ac = parse_action(ctx, cfg_node(ctx, *it))) == NULL) {
			ok = 0;
			continue;
		}
		st->actions = xreallocarray(st->actions, st->nactions + 1,
		    sizeof(*st->actions));
		st->actions[st->nactions++] = ac;
	}
	if (st->nactions == 0 && ok)
		cfg_error(ctx, n, "do: no actions");
	return (ok && st->nactions > 0 ? 0 : -1);
}

static void
parse_step(struct cfgctx *ctx, yaml_node_t *n, struct rule_config *rc,
    int *ok)
{
	struct rule_step	 st;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *d = NULL;
	long			 l;

	memset(&st, 0, sizeof(st));
	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "a step is a map: {do, max, within}");
		*ok = 0;
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		switch (cfg_key(ctx, k, &step_keys)) {
		case 0:		/* do */
			d = v;
			break;
		case 1:		/* max */
			if (cfg_int(ctx, v, "max", 1, 100000, 10, &l) == -1)
				*ok = 0;
			else
				st.max = (int)l;
			break;
		case 2:		/* within */
			if (cfg_duration(ctx, v, "within", &st.within_ms) == -1)
				*ok = 0;
			break;
		default:
			*ok = 0;
		}
	}
	if (d == NULL) {
		cfg_error(ctx, n, "step: do is required");
		*ok = 0;
	} else if (parse_do(ctx, d, &st) == -1)
		*ok = 0;
	if (st.max > 0 && st.within_ms == 0) {
		cfg_error(ctx, n, "step: max needs within (a window)");
		*ok = 0;
	}
	rc->steps = xreallocarray(rc->steps, rc->nsteps + 1,
	    sizeof(*rc->steps));
	rc->steps[rc->nsteps++] = st;
}

static const char *const rule_events[] = { "", "exit", "oom", "fatal",
    "hung", NULL };

/* when: the condition of a rule. */
static void
parse_when(struct cfgctx *ctx, yaml_node_t *n, struct rule_config *rc,
    int *ok)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*ks, *vs;
	char			 op[3], *end;
	long			 l;
	int			 i, conds = 0;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "when must be a map: {probe: NAME, failures: "
		    "N} or {event: exit}");
		*ok = 0;
		return;
	}
	rc->on = -1;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((ks = cfg_scalar(ctx, k, "condition")) == NULL) {
			*ok = 0;
			continue;
		}
		if (strcmp(ks, "probe") == 0) {
			free(rc->probe);
			if ((rc->probe = cfg_string(ctx, v, "probe")) == NULL)
				*ok = 0;
			rc->on = RULE_ON_PROBE;
		} else if (strcmp(ks, "event") == 0) {
			/* 0 is RULE_ON_PROBE: not an event. */
			if (cfg_enum(ctx, v, "event", rule_events + 1,
			    &i) == -1)
				*ok = 0;
			else
				rc->on = i + 1;
		} else if (strcmp(ks, "failures") == 0) {
			conds++;
			rc->cond = COND_FAILURES;
			if (cfg_int(ctx, v, "failures", 1, 10000, 10, &l) == -1)
				*ok = 0;
			else
				rc->count = (int)l;
		} else if (strcmp(ks, "within") == 0) {
			if (cfg_duration(ctx, v, "within", &rc->window_ms) == -1)
				*ok = 0;
		} else if (strcmp(ks, "health") == 0) {
			conds++;
			rc->cond = COND_HEALTH;
			vs = cfg_scalar(ctx, v, "health");
			if (vs != NULL && strcmp(vs, "failing") == 0)
				rc->health = PROBE_FAILING;
			else if (vs != NULL && strcmp(vs, "hung") == 0)
				rc->health = PROBE_HUNG;
			else if (vs != NULL && strcmp(vs, "healthy") == 0)
				rc->health = PROBE_HEALTHY;
			else {
				cfg_error(ctx, v, "health must be failing, hung "
				    "or healthy");
				*ok = 0;
			}
		} else if (strcmp(ks, "value") == 0) {
			conds++;
			rc->cond = COND_VALUE;
			if ((vs = cfg_scalar(ctx, v, "value")) == NULL) {
				*ok = 0;
				continue;
			}
			while (*vs == ' ')
				vs++;
			for (i = 0; i < 2 && strchr("<>=!", vs[i]) != NULL &&
			    vs[i] != '\0'; i++)
				op[i] = vs[i];
			op[i] = '\0';
			rc->value = strtod(vs + i, &end);
			if ((strcmp(op, "<") != 0 && strcmp(op, "<=") != 0 &&
			    strcmp(op, ">") != 0 && strcmp(op, ">=") != 0 &&
			    strcmp(op, "==") != 0 && strcmp(op, "!=") != 0) ||
			    end == vs + i || *end != '\0') {
				cfg_error(ctx, v, "value must be a comparison "
				    "such as \"> 10\" or \"< 5\"");
				*ok = 0;
				continue;
			}
			memcpy(rc->op, op, sizeof(rc->op));
		} else if (strcmp(ks, "grew") == 0) {
			conds++;
			rc->cond = COND_GREW;
			if ((vs = cfg_scalar(ctx, v, "grew")) == NULL)
				*ok = 0;
			else if ((rc->value = strtod(vs, &end)) <= 0 ||
			    *end != '\0') {
				cfg_error(ctx, v, "grew must be a positive "
				    "number");
				*ok = 0;
			}
		} else {
			cfg_error(ctx, k, "when: unknown condition \"%s\"", ks);
			*ok = 0;
		}
	}
	if (rc->on == -1) {
		cfg_error(ctx, n, "when: probe or event is required");
		*ok = 0;
	} else if (rc->on != RULE_ON_PROBE && conds > 0) {
		cfg_error(ctx, n, "when: an event takes no other condition");
		*ok = 0;
	}
	if (conds > 1) {
		cfg_error(ctx, n, "when: one of failures, health, value, grew");
		*ok = 0;
	}
	if (rc->cond == COND_GREW && rc->window_ms == 0) {
		cfg_error(ctx, n, "when: grew needs within (a window)");
		*ok = 0;
	}
	if (rc->window_ms > 0 && rc->cond != COND_GREW &&
	    rc->cond != COND_FAILURES) {
		cfg_error(ctx, n, "when: within goes with failures or grew");
		*ok = 0;
	}
}

static void
parse_rule(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	struct rule_config	*rc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *d = NULL, *steps = NULL, *when = NULL;
	yaml_node_item_t	*it;
	struct rule_step	 st;
	size_t			 i;
	int			 ok = 1;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "a rule is a map: {when, do | steps, "
		    "hold_down}");
		return;
	}
	rc = xcalloc(1, sizeof(*rc));
	rc->hold_down_ms = 60000;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		switch (cfg_key(ctx, k, &rule_keys)) {
		case 0:		/* name */
			free(rc->name);
			if ((rc->name = cfg_string(ctx, v, "name")) == NULL ||
			    !valid_name(rc->name)) {
				if (rc->name != NULL)
					cfg_error(ctx, v, "invalid rule name");
				ok = 0;
			}
			break;
		case 1:		/* when */
			when = v;
			break;
		case 2:		/* do */
			d = v;
			break;
		case 3:		/* steps */
			steps = v;
			break;
		case 4:		/* hold_down */
			if (cfg_duration(ctx, v, "hold_down",
			    &rc->hold_down_ms) == -1)
				ok = 0;
			break;
		default:
			ok = 0;
		}
	}
	if (rc->name == NULL)
		xasprintf(&rc->name, "rule%zu", pc->nrules + 1);
	if (when == NULL) {
		cfg_error(ctx, n, "rule %s: when is required", rc->name);
		ok = 0;
	} else
		parse_when(ctx, when, rc, &ok);
	if ((d == NULL) == (steps == NULL)) {
		cfg_error(ctx, n, "rule %s: give either do or steps", rc->name);
		ok = 0;
	} else if (d != NULL) {
		memset(&st, 0, sizeof(st));
		if (parse_do(ctx, d, &st) == -1)
			ok = 0;
		rc->steps = xcalloc(1, sizeof(*rc->steps));
		rc->steps[rc->nsteps++] = st;
	} else if (steps->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, steps, "steps must be a list");
		ok = 0;
	} else
		for (it = steps->data.sequence.items.start;
		    it < steps->data.sequence.items.top; it++)
			parse_step(ctx, cfg_node(ctx, *it), rc, &ok);
	for (i = 0; ok && i < pc->nrules; i++)
		if (strcmp(pc->rules[i]->name, rc->name) == 0) {
			cfg_error(ctx, n, "two rules named \"%s\"", rc->name);
			ok = 0;
		}
	if (!ok) {
		kinds->rule_config_free(rc);
		return;
	}
	pc->rules = xreallocarray(pc->rules, pc->nrules + 1,
	    sizeof(*pc->rules));
	pc->rules[pc->nrules++] = rc;
}

static void
pk_rules(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	yaml_node_item_t	*it;

	if (kinds == NULL)
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(ctx, n, "rules must be a list of rules");
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++)
		parse_rule(ctx, cfg_node(ctx, *it), pc);
}

static void
pk_eos_failover(struct cfgctx *ctx, yaml_node_t *n, struct program_config *pc)
{
	const char	*bad = NULL;
	char		*err = NULL;
	json_t		*params;

	if (kinds == NULL)
		return;
	params = yaml_json(ctx, n);
	if (pc->eos_failover != NULL)
		kinds->eosfo_free_config(pc->eos_failover);
	json_decref(pc->eos_failover_params);
	pc->eos_failover_params = NULL;
	pc->eos_failover = kinds->eosfo_parse(params, &bad, &err);
	if (pc->eos_failover == NULL) {
		cfg_error(ctx, map_key_node(ctx, n, bad), "eos_failover: %s",
		    err != NULL ? err : "invalid");
		free(err);
		json_decref(params);
		return;
	}
	pc->eos_failover_params = params;
}

static json_t	*pj_command(const struct program_config *, int);
static json_t	*pj_environment(const struct program_config *, int);
static json_t	*pj_exitcodes(const struct program_config *, int);
static json_t	*pj_stdout_logfile(const struct program_config *, int);
static json_t	*pj_stderr_logfile(const struct program_config *, int);
static json_t	*pj_backoff(const struct program_config *, int);
static json_t	*pj_depends_on(const struct program_config *, int);
static json_t	*pj_limits(const struct program_config *, int);
static json_t	*pj_probes(const struct program_config *, int);
static json_t	*pj_rules(const struct program_config *, int);
static json_t	*pj_eos_failover(const struct program_config *, int);

#define PK_SCALAR(n, t, f, d, lo, hi, j, i) \
	{ (n), (t), PC(f), (d), (lo), (hi), (j), (i), NULL, NULL }
#define PK_OWN(n, p, j) \
	{ (n), PK_CUSTOM, 0, 0, 0, 0, NULL, NULL, (p), (j) }

static const struct program_key program_keys[] = {
	PK_OWN("command", pk_command, pj_command),
	PK_SCALAR("directory", PK_PATH, directory, 0, 0, 0, NULL, NULL),
	{ "user", PK_STRING, PC(user), 0, 0, 0, NULL, NULL, pk_user, NULL },
	PK_SCALAR("umask", PK_OCTAL, umask, -1, 0, 0777, NULL, NULL),
	PK_OWN("environment", pk_environment, pj_environment),
	PK_SCALAR("inherit_environment", PK_BOOL, inherit_env, 0, 0, 0, NULL,
	    NULL),
	PK_SCALAR("autostart", PK_BOOL, autostart, 1, 0, 0, NULL, NULL),
	PK_SCALAR("autorestart", PK_AUTORESTART, autorestart,
	    AUTORESTART_UNEXPECTED, 0, 0, NULL, NULL),
	PK_OWN("exitcodes", pk_exitcodes, pj_exitcodes),
	PK_SCALAR("startsecs", PK_DURATION, startsecs_ms, 1000, 0, 0,
	    "startsecs_ms", NULL),
	PK_SCALAR("startretries", PK_INT, startretries, 3, 0, 1000000, NULL,
	    NULL),
	PK_SCALAR("stopsignal", PK_SIGNAL, stopsignal, SIGTERM, 0, 0, NULL,
	    NULL),
	PK_SCALAR("stopwaitsecs", PK_DURATION, stopwait_ms, 10000, 0, 0,
	    "stopwaitsecs_ms", NULL),
	PK_SCALAR("stopasgroup", PK_BOOL, stopasgroup, 0, 0, 0, NULL, NULL),
	PK_SCALAR("killasgroup", PK_BOOL, killasgroup, 0, 0, 0, NULL, NULL),
	PK_SCALAR("priority", PK_INT, priority, 999, -100000, 100000, NULL,
	    NULL),
	PK_SCALAR("redirect_stderr", PK_BOOL, redirect_stderr, 0, 0, 0, NULL,
	    NULL),
	PK_OWN("stdout_logfile", pk_stdout_logfile, pj_stdout_logfile),
	PK_SCALAR("stdout_logfile_maxbytes", PK_SIZE, out.maxbytes,
	    50 * 1024 * 1024, 0, 0, "maxbytes", "stdout_logfile"),
	PK_SCALAR("stdout_logfile_backups", PK_INT, out.backups, 10, 0, 1000,
	    "backups", "stdout_logfile"),
	PK_OWN("stderr_logfile", pk_stderr_logfile, pj_stderr_logfile),
	PK_SCALAR("stderr_logfile_maxbytes", PK_SIZE, err.maxbytes,
	    50 * 1024 * 1024, 0, 0, "maxbytes", "stderr_logfile"),
	PK_SCALAR("stderr_logfile_backups", PK_INT, err.backups, 10, 0, 1000,
	    "backups", "stderr_logfile"),
	PK_OWN("backoff", pk_backoff, pj_backoff),
	PK_OWN("depends_on", pk_depends_on, pj_depends_on),
	PK_OWN("limits", pk_limits, pj_limits),
	PK_OWN("probes", pk_probes, pj_probes),
	PK_OWN("rules", pk_rules, pj_rules),
	PK_OWN("eos_failover", pk_eos_failover, pj_eos_failover),
};

#define NPROGRAM_KEYS	(sizeof(program_keys) / sizeof(program_keys[0]))

/* Where a key's value is in a program. */
static void *
pk_at(const struct program_key *k, const struct program_config *pc)
{
	return ((char *)pc + k->off);
}

/* Set a scalar key to its default. */
static void
pk_default(const struct program_key *k, struct program_config *pc)
{
	switch (k->type) {
	case PK_BOOL:
	case PK_INT:
	case PK_OCTAL:
	case PK_SIGNAL:
	case PK_AUTORESTART:
		*(int *)pk_at(k, pc) = (int)k->def;
		break;
	case PK_DURATION:
	case PK_SIZE:
		*(int64_t *)pk_at(k, pc) = k->def;
		break;
	case PK_CUSTOM:
	case PK_STRING:
	case PK_PATH:
		break;		/* NULL, or the custom key's own */
	}
}

/* Read a scalar key into a program with the typed reader. */
static void
pk_scalar(struct cfgctx *ctx, yaml_node_t *n, const struct program_key *k,
    struct program_config *pc)
{
	const char	*v;
	long		 l;
	int		 b;

	switch (k->type) {
	case PK_BOOL:
		cfg_bool(ctx, n, k->name, pk_at(k, pc));
		break;
	case PK_INT:
	case PK_OCTAL:
		if (cfg_int(ctx, n, k->name, k->min, k->max,
		    k->type == PK_OCTAL ? 8 : 10, &l) == 0)
			*(int *)pk_at(k, pc) = (int)l;
		break;
	case PK_DURATION:
		cfg_duration(ctx, n, k->name, pk_at(k, pc));
		break;
	case PK_SIZE:
		cfg_size(ctx, n, k->name, pk_at(k, pc));
		break;
	case PK_SIGNAL:
		cfg_signal(ctx, n, k->name, pk_at(k, pc));
		break;
	case PK_AUTORESTART:
		if ((v = cfg_scalar(ctx, n, k->name)) == NULL)
			break;
		if (strcasecmp(v, "unexpected") == 0)
			*(int *)pk_at(k, pc) = AUTORESTART_UNEXPECTED;
		else if (cfg_bool(ctx, n, k->name, &b) == 0)
			*(int *)pk_at(k, pc) = b ? AUTORESTART_TRUE :
			    AUTORESTART_FALSE;
		break;
	case PK_STRING:
		set_str(pk_at(k, pc), cfg_string(ctx, n, k->name));
		break;
	case PK_PATH:
		set_str(pk_at(k, pc), cfg_path(ctx, n, k->name));
		break;
	case PK_CUSTOM:
		break;
	}
}

/* A program with supervisord's defaults. */
static struct program_config *
program_new(const char *name, const char *file, int line, int col)
{
	struct program_config	*pc;
	size_t			 i;

	pc = xcalloc(1, sizeof(*pc));
	pc->name = xstrdup(name);
	pc->file = xstrdup(file);
	pc->line = line;
	pc->col = col;
	for (i = 0; i < NPROGRAM_KEYS; i++)
		pk_default(&program_keys[i], pc);
	pc->exitcodes = xcalloc(1, sizeof(int));
	pc->nexitcodes = 1;
	pc->out.path = xstrdup("AUTO");
	pc->err.path = xstrdup("AUTO");
	pc->backoff.initial_ms = 1000;
	pc->backoff.max_ms = 60000;
	pc->backoff.jitter_pct = 10;
	pc->env = xcalloc(1, sizeof(char *));
	pc->depends_on = xcalloc(1, sizeof(char *));
	pc->depends_healthy = xcalloc(1, sizeof(char *));
	return (pc);
}

/* Whether a name could be a program's (a marker's name may be anything). */
int
config_name_valid(const char *s)
{
	return (valid_name(s));
}

/*
 * A program no configuration names, with the defaults: what a run that an
 * earlier chainkeeperd recorded is stopped with once its program is gone.
 */
struct program_config *
config_program_default(const struct config *cfg, const char *name)
{
	struct program_config	*pc;

	pc = program_new(name, "(not in the configuration)", 0, 0);
	free(pc->out.path);
	xasprintf(&pc->out.path, "%s/%s.out.log", cfg->log_dir, name);
	free(pc->err.path);
	xasprintf(&pc->err.path, "%s/%s.err.log", cfg->log_dir, name);
	return (pc);
}

void
config_program_free(struct program_config *pc)
{
	size_t	 i;

	if (pc == NULL)
		return;
	free(pc->name);
	free(pc->file);
	free_argv(pc->argv);
	free(pc->directory);
	free(pc->user);
	free(pc->home);
	free(pc->groups);
	free_argv(pc->env);
	free(pc->exitcodes);
	free(pc->out.path);
	free(pc->err.path);
	free_depends_healthy(pc);
	free_argv(pc->depends_on);
	for (i = 0; i < pc->nprobes; i++)
		kinds->probe_config_free(pc->probes[i]);
	free(pc->probes);
	for (i = 0; i < pc->nrules; i++)
		kinds->rule_config_free(pc->rules[i]);
	free(pc->rules);
	if (pc->eos_failover != NULL)
		kinds->eosfo_free_config(pc->eos_failover);
	json_decref(pc->eos_failover_params);
	free(pc);
}

static void
parse_program(struct cfgctx *ctx, yaml_node_t *kn, yaml_node_t *n)
{
	struct config		*cfg = ctx->cfg;
	struct program_config	*pc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*name, *ks;
	size_t			 i;

	if ((name = cfg_scalar(ctx, kn, "program name")) == NULL)
		return;
	if (!valid_name(name)) {
		cfg_error(ctx, kn, "invalid program name \"%s\" (use letters, "
		    "digits, '.', '_' and '-', at most 64)", name);
		return;
	}
	if (config_find(cfg, name) != NULL) {
		cfg_error(ctx, kn, "program \"%s\" is defined twice", name);
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "program \"%s\" must be a map of settings",
		    name);
		return;
	}
	pc = program_new(name, ctx->file, (int)kn->start_mark.line + 1,
	    (int)kn->start_mark.column + 1);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((ks = cfg_scalar(ctx, k, "setting name")) == NULL)
			continue;
		for (i = 0; i < NPROGRAM_KEYS; i++)
			if (strcmp(ks, program_keys[i].name) == 0)
				break;
		if (i == NPROGRAM_KEYS) {
			cfg_error(ctx, k, "program \"%s\": unknown setting "
			    "\"%s\"", name, ks);
			continue;
		}
		if (program_keys[i].parse != NULL)
			program_keys[i].parse(ctx, v, pc);
		else
			pk_scalar(ctx, v, &program_keys[i], pc);
	}
	if (pc->argv == NULL)
		cfg_error(ctx, kn, "program \"%s\": command is required",
		    name);
	if (pc->stopasgroup)
		pc->killasgroup = 1;
	cfg->programs = xreallocarray(cfg->programs, cfg->nprograms + 1,
	    sizeof(*cfg->programs));
	cfg->programs[cfg->nprograms++] = pc;
}

static void
parse_programs(struct cfgctx *ctx, yaml_node_t *n)
{
	yaml_node_pair_t	*p;

	if (cfg_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "programs must be a map of name: settings");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++)
		parse_program(ctx, cfg_node(ctx, p->key),
		    cfg_node(ctx, p->value));
}

static void
parse_control(struct cfgctx *ctx, yaml_node_t *n)
{
	struct config		*cfg = ctx->cfg;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	int			 i;
	struct group		*gr;
	long			 l;
	char			*s;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "control must be a map (socket, mode, "
		    "group, idle_timeout)");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		i = cfg_key(ctx, k, &control_keys);
		if (i == 0) {			/* socket */
			if ((s = cfg_string(ctx, v, "control.socket")) == NULL)
				continue;
			if (strlen(s) >= 100) {
				cfg_error(ctx, v, "control.socket: path "
				    "longer than 99 bytes");
				free(s);
				continue;
			}
			set_str(&cfg->control_socket, s);
		} else if (i == 1) {		/* mode */
			if (cfg_int(ctx, v, "control.mode", 0, 0777, 8,
			    &l) == 0)
				cfg->control_mode = (int)l;
		} else if (i == 2) {		/* group */
			if ((s = cfg_string(ctx, v, "control.group")) == NULL)
				continue;
			if ((gr = getgrnam(s)) == NULL) {
				cfg_error(ctx, v, "control.group: no such "
				    "group \"%s\"", s);
				free(s);
				continue;
			}
			cfg->control_gid = gr->gr_gid;
			set_str(&cfg->control_group, s);
		} else if (i == 3)		/* idle_timeout */
			cfg_duration(ctx, v, "control.idle_timeout",
			    &cfg->control_idle_ms);
	}
}

static void
parse_log(struct cfgctx *ctx, yaml_node_t *n)
{
	struct config		*cfg = ctx->cfg;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*ks;
	int			 i;
	char			*s;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, n, "log must be a map (file, dir)");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((i = cfg_key(ctx, k, &log_keys)) == -1)
			continue;
		ks = log_names[i];
		if ((s = cfg_string(ctx, v, ks)) == NULL)
			continue;
		if (*s != '/') {
			cfg_error(ctx, v, "log.%s must be an absolute path",
			    ks);
			free(s);
			continue;
		}
		set_str(strcmp(ks, "file") == 0 ? &cfg->log_file :
		    &cfg->log_dir, s);
	}
}

/* metrics: checked by metrics.c as JSON; an error names a dotted key. */
static void
parse_metrics(struct cfgctx *ctx, yaml_node_t *n)
{
	yaml_node_t	*at = n;
	const char	*bad = NULL;
	char		*err = NULL, *path, *s, *dot;
	json_t		*j;

	if (kinds == NULL)
		return;
	j = yaml_json(ctx, n);
	kinds->metrics_config_free(ctx->cfg->metrics);
	ctx->cfg->metrics = kinds->metrics_config_parse(j, &bad, &err);
	if (ctx->cfg->metrics == NULL) {
		path = bad != NULL ? xstrdup(bad) : NULL;
		for (s = path; s != NULL && *s != '\0'; s = dot) {
			if ((dot = strchr(s, '.')) != NULL)
				*dot++ = '\0';
			at = map_key_node(ctx, at, s);
			if (dot == NULL)
				break;
		}
		cfg_error(ctx, at, "metrics: %s", err != NULL ? err :
		    "invalid");
		free(path);
		free(err);
	} else {
		ctx->cfg->metrics->line = (int)n->start_mark.line + 1;
		ctx->cfg->metrics->col = (int)n->start_mark.column + 1;
	}
	json_decref(j);
}

/* The node at a path ("sinks/wecom/key_file", "routes/0") under n. */
static yaml_node_t *
node_at_path(struct cfgctx *ctx, yaml_node_t *n, const char *path)
{
	char		*copy, *s, *slash, *end;
	yaml_node_item_t *it;
	unsigned long	 i;

	copy = xstrdup(path);
	for (s = copy; *s != '\0'; s = slash) {
		if ((slash = strchr(s, '/')) != NULL)
			*slash++ = '\0';
		if (n->type == YAML_SEQUENCE_NODE) {
			i = strtoul(s, &end, 10);
			it = n->data.sequence.items.start + i;
			if (*end != '\0' || it >= n->data.sequence.items.top)
				break;
			n = cfg_node(ctx, *it);
		} else if (n->type == YAML_MAPPING_NODE &&
		    map_key_node(ctx, n, s) != n)
			n = map_key_node(ctx, n, s);
		else
			break;
		if (slash == NULL)
			break;
	}
	free(copy);
	return (n);
}

struct alerts_errctx {
	struct cfgctx	*ctx;
	yaml_node_t	*root;
};

static void
alerts_error_cb(void *arg, const char *path, const char *msg)
{
	struct alerts_errctx	*ec = arg;

	cfg_error(ec->ctx, node_at_path(ec->ctx, ec->root, path), "alerts: %s",
	    msg);
}

/* alerts: checked by alerts/alert-config.c, errors with their paths. */
static void
parse_alerts(struct cfgctx *ctx, yaml_node_t *n)
{
	struct alerts_errctx	 ec;
	json_t			*j;

	if (kinds == NULL)
		return;
	ec.ctx = ctx;
	ec.root = n;
	j = yaml_json(ctx, n);
	kinds->alerts_config_free(ctx->cfg->alerts);
	ctx->cfg->alerts = kinds->alerts_config_parse(j, alerts_error_cb,
	    &ec);
	json_decref(j);
}

static int	load_file(struct cfgctx *, const char *, int);
static void	file_error(struct cfgctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Record one error about a file as a whole: "path: message". */
static void
file_error(struct cfgctx *ctx, const char *path, const char *fmt, ...)
{
	const char	*saved = ctx->file;
	va_list		 ap;
	char		*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	ctx->file = path;
	cfg_error(ctx, NULL, "%s", msg);
	ctx->file = saved;
	free(msg);
}

/*
 * Whether a file's owner and mode make it trusted, as sshd's StrictModes
 * has it: it belongs to root or to chainkeeperd's uid, and neither its
 * group nor others may write it.
 */
static int
config_trusted(const struct stat *st)
{
	return ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0);
}

/* Whether the folder of an included file is trusted; error if not. */
static int
include_dir_trusted(struct cfgctx *ctx, const char *path)
{
	struct stat	 st;
	char		*copy, *dir;
	int		 rc = 0;

	copy = xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &st) == -1) {
		file_error(ctx, path, "include: cannot check its folder %s: "
		    "%s", dir, strerror(errno));
		rc = -1;
	} else if (!config_trusted(&st)) {
		file_error(ctx, path, "include: its folder %s is owned by uid "
		    "%ld with mode %04o: it must belong to root and not be "
		    "writable by group or others", dir, (long)st.st_uid,
		    (unsigned int)(st.st_mode & 07777));
		rc = -1;
	}
	free(copy);
	return (rc);
}

/* include: a glob or a list of globs, relative to the main file's folder. */
static void
parse_include(struct cfgctx *ctx, yaml_node_t *n)
{
	char		**pats, *dir, *pat, *copy;
	glob_t		 g;
	size_t		 i, j;
	int		 r;

	if ((pats = cfg_list(ctx, n, "include")) == NULL)
		return;
	copy = xstrdup(ctx->file);
	dir = dirname(copy);
	for (i = 0; pats[i] != NULL; i++) {
		if (*pats[i] == '/')
			pat = xstrdup(pats[i]);
		else
			xasprintf(&pat, "%s/%s", dir, pats[i]);
		r = glob(pat, 0, NULL, &g);
		if (r == GLOB_NOMATCH) {
			free(pat);
			continue;
		}
		if (r != 0) {
			cfg_error(ctx, n, "include: cannot expand \"%s\"",
			    pats[i]);
			free(pat);
			continue;
		}
		for (j = 0; j < g.gl_pathc; j++)
			if (include_dir_trusted(ctx, g.gl_pathv[j]) == 0)
				load_file(ctx, g.gl_pathv[j], 1);
		globfree(&g);
		free(pat);
	}
	free(copy);
	free_argv(pats);
}

/* Whether a key is one of the main file's top level keys. */
static int
top_key(const char *ks)
{
	static const char	*names[] = { "control", "log", "metrics",
				    "alerts", "include", "state_dir" };
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(ks, names[i]) == 0)
			return (1);
	return (0);
}

/* Walk one document's top level; included files may only add programs. */
static void
parse_top(struct cfgctx *ctx, yaml_node_t *root, int included)
{
	struct config		*cfg = ctx->cfg;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	yaml_node_t		*inc = NULL;
	const char		*ks;

	if (root == NULL)
		return;		/* empty file */
	if (root->type != YAML_MAPPING_NODE) {
		cfg_error(ctx, root, "the top level must be a map");
		return;
	}
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		k = cfg_node(ctx, p->key);
		v = cfg_node(ctx, p->value);
		if ((ks = cfg_scalar(ctx, k, "key")) == NULL)
			continue;
		if (strcmp(ks, "programs") == 0)
			parse_programs(ctx, v);
		else if (included && top_key(ks))
			cfg_error(ctx, k, "an included file may only define "
			    "programs, not \"%s\"", ks);
		else if (included)
			/* Not quoted: the file may be anything readable. */
			cfg_error(ctx, k, "an included file may only define "
			    "programs");
		else if (strcmp(ks, "control") == 0)
			parse_control(ctx, v);
		else if (strcmp(ks, "log") == 0)
			parse_log(ctx, v);
		else if (strcmp(ks, "metrics") == 0)
			parse_metrics(ctx, v);
		else if (strcmp(ks, "alerts") == 0)
			parse_alerts(ctx, v);
		else if (strcmp(ks, "include") == 0)
			inc = v;
		else if (strcmp(ks, "state_dir") == 0)
			set_str(&cfg->state_dir, cfg_path(ctx, v, "state_dir"));
		else
			cfg_error(ctx, k, "unknown key \"%s\"", ks);
	}
	if (inc != NULL)
		parse_include(ctx, inc);
}

struct keyref {
	yaml_node_t	*node;
	size_t		 at;		/* place among the mapping's pairs */
};

/* Order of mapping keys: by text, then by place in the mapping. */
static int
key_cmp(const void *a, const void *b)
{
	const struct keyref	*x = a, *y = b;
	int			 r;

	if ((r = strcmp((char *)x->node->data.scalar.value,
	    (char *)y->node->data.scalar.value)) != 0)
		return (r);
	return (x->at < y->at ? -1 : x->at > y->at);
}

/*
 * Check that no mapping of the document has the same key twice: each
 * mapping's keys are sorted, so a big one costs n log n, and every key
 * after the first of its text is reported, in document order.
 */
static void
check_duplicates(struct cfgctx *ctx)
{
	yaml_node_t		*n, *a;
	yaml_node_pair_t	*p;
	struct keyref		*keys = NULL;
	size_t			 npairs, nkeys, i, cap = 0;
	char			*dup = NULL;

	for (n = ctx->doc->nodes.start; n < ctx->doc->nodes.top; n++) {
		if (n->type != YAML_MAPPING_NODE)
			continue;
		npairs = (size_t)(n->data.mapping.pairs.top -
		    n->data.mapping.pairs.start);
		if (npairs < 2)
			continue;
		if (npairs > cap) {
			cap = npairs;
			keys = xreallocarray(keys, cap, sizeof(*keys));
			dup = xreallocarray(dup, cap, 1);
		}
		nkeys = 0;
		for (i = 0; i < npairs; i++) {
			p = n->data.mapping.pairs.start + i;
			a = cfg_node(ctx, p->key);
			if (a->type != YAML_SCALAR_NODE)
				continue;
			keys[nkeys].node = a;
			keys[nkeys++].at = i;
		}
		qsort(keys, nkeys, sizeof(*keys), key_cmp);
		memset(dup, 0, npairs);
		for (i = 1; i < nkeys; i++)
			if (strcmp((char *)keys[i].node->data.scalar.value,
			    (char *)keys[i - 1].node->data.scalar.value) == 0)
				dup[keys[i].at] = 1;
		/* Back in document order for the messages. */
		for (i = 0; i < npairs; i++) {
			if (!dup[i])
				continue;
			a = cfg_node(ctx, n->data.mapping.pairs.start[i].key);
			cfg_error(ctx, a, "duplicate key \"%s\"",
			    a->data.scalar.value);
		}
	}
	free(keys);
	free(dup);
}

/*
 * Walk a file's YAML events before the document is built, and refuse it
 * when collections nest deeper than CONFIG_MAX_DEPTH or it has more than
 * CONFIG_MAX_NODES nodes.  A syntax error is left to the loader.
 */
static int
check_limits(struct cfgctx *ctx, const char *path, const unsigned char *buf,
    size_t len)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	size_t		 nodes = 0;
	int		 depth = 0, done = 0, rc = 0;

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev))
			break;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			/* FALLTHROUGH */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			nodes++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (depth > CONFIG_MAX_DEPTH) {
			file_error(ctx, path, "line %zu: nested more than %d "
			    "levels deep", ev.start_mark.line + 1,
			    CONFIG_MAX_DEPTH);
			rc = -1;
		} else if (nodes > CONFIG_MAX_NODES) {
			file_error(ctx, path, "line %zu: more than %d nodes "
			    "(keys, values and items)", ev.start_mark.line + 1,
			    CONFIG_MAX_NODES);
			rc = -1;
		}
		yaml_event_delete(&ev);
		if (rc == -1)
			break;
	}
	yaml_parser_delete(&parser);
	return (rc);
}

/*
 * Open a configuration file and read it whole: a regular file (a FIFO or
 * a device is refused without waiting on it; the main file may be a pipe),
 * trusted (config_trusted()),
 * at most CONFIG_MAX_BYTES.  Returns the bytes, or NULL with an error.
 */
static unsigned char *
config_read(struct cfgctx *ctx, const char *path, int included,
    size_t *lenp)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd;

	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		file_error(ctx, path, "%s", strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1) {
		file_error(ctx, path, "fstat: %s", strerror(errno));
		goto fail;
	}
	/* The main file may be a pipe (-c /dev/stdin): wait for it. */
	if (!included && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	else if (!S_ISREG(st.st_mode)) {
		file_error(ctx, path, "not a regular file");
		goto fail;
	}
	if (!config_trusted(&st)) {
		file_error(ctx, path, "owned by uid %ld with mode %04o: it "
		    "must belong to root%s and not be writable by group or "
		    "others", (long)st.st_uid,
		    (unsigned int)(st.st_mode & 07777),
		    geteuid() == 0 ? "" : " or to chainkeeperd's uid");
		goto fail;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		file_error(ctx, path, "larger than %d MB",
		    CONFIG_MAX_BYTES / (1024 * 1024));
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_MAX_BYTES) {
				file_error(ctx, path, "larger than %d MB",
				    CONFIG_MAX_BYTES / (1024 * 1024));
				goto fail;
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			file_error(ctx, path, "read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*lenp = len;
	return (buf);
fail:
	free(buf);
	close(fd);
	return (NULL);
}

/* Load one file into the configuration being built. */
static int
load_file(struct cfgctx *ctx, const char *path, int included)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	const char	*saved_file = ctx->file;
	yaml_document_t	*saved_doc = ctx->doc;
	unsigned char	*buf;
	size_t		 len;

	if ((buf = config_read(ctx, path, included, &len)) == NULL)
		return (-1);
	if (check_limits(ctx, path, buf, len) == -1) {
		free(buf);
		return (-1);
	}
	ctx->file = path;
	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		cfg_error_at(ctx, path, (int)parser.problem_mark.line + 1,
		    (int)parser.problem_mark.column + 1, "%s%s%s",
		    parser.problem != NULL ? parser.problem : "YAML error",
		    parser.context != NULL ? " " : "",
		    parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		free(buf);
		ctx->file = saved_file;
		return (-1);
	}
	ctx->doc = &doc;
	check_duplicates(ctx);
	parse_top(ctx, yaml_document_get_root_node(&doc), included);
	ctx->doc = saved_doc;
	ctx->file = saved_file;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(buf);
	return (0);
}

static struct program_config *
find_dep(struct config *cfg, const char *name)
{
	return (config_find(cfg, name));
}

/* Whether pc has a probe of that name. */
static int
has_probe(const struct program_config *pc, const char *name)
{
	size_t	 i;

	for (i = 0; i < pc->nprobes; i++)
		if (strcmp(pc->probes[i]->name, name) == 0)
			return (1);
	return (0);
}

/*
 * Depth-first search for a depends_on cycle through programs[start]:
 * whether it is reachable again from pc.  A program that only depends on
 * a cycle is not on it.  mark[] flags the programs already visited.
 */
static int
dep_cycle(struct config *cfg, struct program_config *pc, int *mark,
    size_t start)
{
	struct program_config	*d;
	size_t			 j, k;

	for (j = 0; pc->depends_on[j] != NULL; j++) {
		if ((d = find_dep(cfg, pc->depends_on[j])) == NULL)
			continue;
		for (k = 0; k < cfg->nprograms; k++)
			if (cfg->programs[k] == d)
				break;
		if (k == start)
			return (1);
		if (mark[k])
			continue;
		mark[k] = 1;
		if (dep_cycle(cfg, d, mark, start))
			return (1);
	}
	return (0);
}

/* Record an error found after the load at the program's name. */
static void
cfg_error_program(struct cfgctx *ctx, const struct program_config *pc,
    const char *msg)
{
	cfg_error_at(ctx, pc->file, pc->line, pc->col, "%s", msg);
}

/* Checks across programs, and defaults that depend on other settings. */
static void
validate(struct cfgctx *ctx)
{
	struct config		*cfg = ctx->cfg;
	struct program_config	*pc, *dpc;
	size_t			 i, j;
	int			*mark;
	char			*msg;

	if (cfg->state_dir == NULL)
		cfg->state_dir = xstrdup(CONFIG_DEFAULT_STATE);
	if (cfg->log_dir == NULL)
		xasprintf(&cfg->log_dir, "%s/logs", cfg->state_dir);
	if (cfg->control_socket == NULL)
		cfg->control_socket = xstrdup(CONFIG_DEFAULT_SOCKET);
	if (cfg->control_mode == -1)
		cfg->control_mode = cfg->control_group != NULL ? 0770 : 0700;
	mark = xcalloc(cfg->nprograms, sizeof(int));
	for (i = 0; i < cfg->nprograms; i++) {
		pc = cfg->programs[i];
		for (j = 0; pc->depends_on[j] != NULL; j++) {
			if (strcmp(pc->depends_on[j], pc->name) == 0)
				xasprintf(&msg, "program \"%s\" depends on "
				    "itself", pc->name);
			else if ((dpc = find_dep(cfg, pc->depends_on[j])) ==
			    NULL)
				xasprintf(&msg, "program \"%s\" depends on "
				    "\"%s\", which is not defined", pc->name,
				    pc->depends_on[j]);
			else if (pc->depends_healthy[j] != NULL &&
			    kinds != NULL &&
			    !has_probe(dpc, pc->depends_healthy[j]))
				xasprintf(&msg, "program \"%s\" waits for "
				    "probe \"%s\" of \"%s\", which has no such "
				    "probe", pc->name, pc->depends_healthy[j],
				    pc->depends_on[j]);
			else
				continue;
			cfg_error_program(ctx, pc, msg);
			free(msg);
		}
		for (j = 0; j < pc->nrules; j++) {
			struct rule_config	*rc = pc->rules[j];
			size_t			 q;

			if (rc->on != RULE_ON_PROBE)
				continue;
			for (q = 0; q < pc->nprobes; q++)
				if (strcmp(pc->probes[q]->name, rc->probe) == 0)
					break;
			if (q == pc->nprobes) {
				ctx->file = pc->file;
				cfg_error(ctx, NULL, "line %d: program \"%s\": "
				    "rule %s watches probe \"%s\", which is not "
				    "defined", pc->line, pc->name, rc->name,
				    rc->probe);
			}
		}
		if (pc->backoff.max_ms < pc->backoff.initial_ms) {
			xasprintf(&msg, "program \"%s\": backoff.max is less "
			    "than backoff.initial", pc->name);
			cfg_error_program(ctx, pc, msg);
			free(msg);
		}
		if (pc->out.path != NULL && strcmp(pc->out.path, "AUTO") == 0) {
			free(pc->out.path);
			xasprintf(&pc->out.path, "%s/%s.out.log", cfg->log_dir,
			    pc->name);
		}
		if (pc->err.path != NULL && strcmp(pc->err.path, "AUTO") == 0) {
			free(pc->err.path);
			xasprintf(&pc->err.path, "%s/%s.err.log", cfg->log_dir,
			    pc->name);
		}
		if (pc->redirect_stderr) {
			free(pc->err.path);
			pc->err.path = NULL;
		}
		logfile_check(ctx, pc, &pc->out, "stdout_logfile");
		logfile_check(ctx, pc, &pc->err, "stderr_logfile");
	}
	for (i = 0; i < cfg->nprograms; i++) {
		memset(mark, 0, cfg->nprograms * sizeof(int));
		if (dep_cycle(cfg, cfg->programs[i], mark, i)) {
			pc = cfg->programs[i];
			xasprintf(&msg, "program \"%s\": depends_on forms a "
			    "cycle", pc->name);
			cfg_error_program(ctx, pc, msg);
			free(msg);
		}
	}
	free(mark);
	if (cfg->metrics != NULL &&
	    (msg = kinds->metrics_config_check(cfg->metrics, cfg)) != NULL) {
		for (j = 0; msg[j] != '\0'; j += i + (msg[j + i] != '\0')) {
			i = strcspn(msg + j, "\n");
			cfg_error_at(ctx, cfg->path, cfg->metrics->line,
			    cfg->metrics->col, "%.*s", (int)i, msg + j);
		}
		free(msg);
	}
}

/*
 * Load and validate a configuration.  On failure returns NULL and sets
 * *errors to every message, one per line (the caller frees it).
 */
struct config *
config_load(const char *path, char **errors)
{
	struct cfgctx	 ctx;
	struct config	*cfg;
	char		 abspath[PATH_MAX];

	*errors = NULL;
	memset(&ctx, 0, sizeof(ctx));
	cfg = xcalloc(1, sizeof(*cfg));
	if (*path != '/' && realpath(path, abspath) != NULL)
		path = abspath;
	cfg->path = xstrdup(path);
	cfg->control_mode = -1;
	cfg->control_idle_ms = CONFIG_DEFAULT_IDLE_MS;
	ctx.cfg = cfg;
	ctx.file = cfg->path;
	if (load_file(&ctx, cfg->path, 0) == 0)
		validate(&ctx);
	if (ctx.nerrors > 0) {
		*errors = ctx.errors;
		config_free(cfg);
		return (NULL);
	}
	free(ctx.errors);
	return (cfg);
}

void
config_free(struct config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nprograms; i++)
		config_program_free(cfg->programs[i]);
	free(cfg->programs);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->log_dir);
	free(cfg->log_file);
	free(cfg->control_socket);
	free(cfg->control_group);
	if (cfg->metrics != NULL)
		kinds->metrics_config_free(cfg->metrics);
	if (cfg->alerts != NULL)
		kinds->alerts_config_free(cfg->alerts);
	free(cfg);
}

struct program_config *
config_find(const struct config *cfg, const char *name)
{
	size_t	 i;

	for (i = 0; i < cfg->nprograms; i++)
		if (strcmp(cfg->programs[i]->name, name) == 0)
			return (cfg->programs[i]);
	return (NULL);
}

int
config_exitcode_expected(const struct program_config *pc, int code)
{
	size_t	 i;

	for (i = 0; i < pc->nexitcodes; i++)
		if (pc->exitcodes[i] == code)
			return (1);
	return (0);
}

const char *
config_autorestart_name(int v)
{
	switch (v) {
	case AUTORESTART_TRUE:
		return ("true");
	case AUTORESTART_FALSE:
		return ("false");
	}
	return ("unexpected");
}

/* Values of variables whose names suggest a secret are not shown. */
static int
secret_name(const char *kv)
{
	static const char	*words[] = { "PASS", "PW", "SECRET", "TOKEN",
				    "KEY", "SEED", "MNEMONIC", "WIF", "PRIV",
				    "CREDENTIAL", "AUTH" };
	size_t			 i, n;
	const char		*eq;

	eq = strchr(kv, '=');
	n = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char	*w = words[i];
		size_t		 wl = strlen(w), j;

		for (j = 0; j + wl <= n; j++)
			if (strncasecmp(kv + j, w, wl) == 0)
				return (1);
	}
	return (0);
}

static json_t *
strv_json(char **v)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return (a);
}

/* depends_on as written: a name, or {program, healthy}. */
static json_t *
depends_json(const struct program_config *pc)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; pc->depends_on[i] != NULL; i++) {
		if (pc->depends_healthy[i] == NULL)
			json_array_append_new(a,
			    json_string(pc->depends_on[i]));
		else
			json_array_append_new(a, json_pack("{s:s,s:s}",
			    "program", pc->depends_on[i], "healthy",
			    pc->depends_healthy[i]));
	}
	return (a);
}

static json_t *
limit_json(rlim_t v)
{
	if (v == RLIM_INFINITY)
		return (json_string("unlimited"));
	return (json_integer((json_int_t)v));
}

static const char *
rule_on_name(const struct rule_config *rc)
{
	static const char *names[] = { "probe", "exit", "oom", "fatal",
	    "hung" };

	return (rc->on >= 0 && rc->on <= RULE_ON_HUNG ? names[rc->on] : "?");
}

static json_t *
rules_json(const struct program_config *pc)
{
	json_t			*a = json_array(), *steps, *acts;
	const struct rule_config *rc;
	size_t			 i, j, k;

	for (i = 0; i < pc->nrules; i++) {
		rc = pc->rules[i];
		steps = json_array();
		for (j = 0; j < rc->nsteps; j++) {
			acts = json_array();
			for (k = 0; k < rc->steps[j].nactions; k++)
				json_array_append_new(acts, json_pack("{s:O}",
				    rc->steps[j].actions[k]->kind->name,
				    rc->steps[j].actions[k]->params));
			json_array_append_new(steps, json_pack("{s:o,s:i,s:I}",
			    "do", acts, "max", rc->steps[j].max, "within_ms",
			    (json_int_t)rc->steps[j].within_ms));
		}
		json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:i,s:i,"
		    "s:I,s:i,s:s,s:f,s:I,s:o}", "name", rc->name, "on",
		    rule_on_name(rc), "probe", rc->probe, "cond", rc->cond,
		    "count", rc->count, "window_ms", (json_int_t)rc->window_ms,
		    "health", rc->health, "op", rc->op, "value", rc->value,
		    "hold_down_ms", (json_int_t)rc->hold_down_ms, "steps",
		    steps));
	}
	return (a);
}

/*
 * A value with the password of a URL's userinfo (scheme://user:pw@host)
 * replaced, or NULL when it has none.
 */
static char *
redact_userinfo(const char *v)
{
	const char	*auth, *end, *at, *colon;
	char		*out;

	if ((auth = strstr(v, "://")) == NULL)
		return (NULL);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (at = end; at > auth && at[-1] != '@'; at--)
		;
	if (at == auth)
		return (NULL);
	at--;
	if ((colon = memchr(auth, ':', (size_t)(at - auth))) == NULL)
		return (NULL);
	xasprintf(&out, "%.*s(redacted)%s", (int)(colon + 1 - v), v, at);
	return (out);
}

static json_t *
pj_command(const struct program_config *pc, int redact)
{
	(void)redact;
	return (strv_json(pc->argv));
}

/* With redact, secret-looking values and passwords in URLs are hidden. */
static json_t *
pj_environment(const struct program_config *pc, int redact)
{
	json_t	*env;
	size_t	 i;
	char	*k, *eq, *u;

	env = json_object();
	for (i = 0; pc->env[i] != NULL; i++) {
		k = xstrdup(pc->env[i]);
		eq = strchr(k, '=');
		*eq = '\0';
		u = NULL;
		if (redact && secret_name(pc->env[i]))
			json_object_set_new(env, k, json_string("(redacted)"));
		else if (redact && (u = redact_userinfo(eq + 1)) != NULL)
			json_object_set_new(env, k, json_string(u));
		else
			json_object_set_new(env, k, json_string(eq + 1));
		free(u);
		free(k);
	}
	return (env);
}

static json_t *
pj_exitcodes(const struct program_config *pc, int redact)
{
	json_t	*codes;
	size_t	 i;

	(void)redact;
	codes = json_array();
	for (i = 0; i < pc->nexitcodes; i++)
		json_array_append_new(codes, json_integer(pc->exitcodes[i]));
	return (codes);
}

/* The path only: maxbytes and backups are added by their table rows. */
static json_t *
pj_stdout_logfile(const struct program_config *pc, int redact)
{
	(void)redact;
	return (json_pack("{s:s?}", "path", pc->out.path));
}

static json_t *
pj_stderr_logfile(const struct program_config *pc, int redact)
{
	(void)redact;
	return (json_pack("{s:s?}", "path", pc->err.path));
}

static json_t *
pj_backoff(const struct program_config *pc, int redact)
{
	(void)redact;
	return (json_pack("{s:I,s:I,s:i}", "initial_ms",
	    (json_int_t)pc->backoff.initial_ms, "max_ms",
	    (json_int_t)pc->backoff.max_ms, "jitter_pct",
	    pc->backoff.jitter_pct));
}

static json_t *
pj_depends_on(const struct program_config *pc, int redact)
{
	(void)redact;
	return (depends_json(pc));
}

static json_t *
pj_limits(const struct program_config *pc, int redact)
{
	json_t	*limits;
	int	 j;

	(void)redact;
	limits = json_object();
	for (j = 0; j < LIMIT_MAX; j++)
		if (pc->limit_set[j])
			json_object_set_new(limits, limit_names[j],
			    limit_json(pc->limit[j]));
	return (limits);
}

static json_t *
pj_probes(const struct program_config *pc, int redact)
{
	json_t			*probes;
	struct probe_config	*pr;
	size_t			 i;

	(void)redact;
	probes = json_array();
	for (i = 0; i < pc->nprobes; i++) {
		pr = pc->probes[i];
		json_array_append_new(probes, json_pack("{s:s,s:s,s:I,s:I,s:i,"
		    "s:i,s:i,s:O}", "name", pr->name, "kind", pr->kind->name,
		    "interval_ms", (json_int_t)pr->interval_ms, "timeout_ms",
		    (json_int_t)pr->timeout_ms, "fall", pr->fall, "rise",
		    pr->rise, "hung_after", pr->hung_after, "settings",
		    pr->params));
	}
	return (probes);
}

static json_t *
pj_rules(const struct program_config *pc, int redact)
{
	(void)redact;
	return (rules_json(pc));
}

/* NULL (not printed) without eos_failover. */
static json_t *
pj_eos_failover(const struct program_config *pc, int redact)
{
	(void)redact;
	return (json_incref(pc->eos_failover_params));
}

/* A key's value as -nv prints it (new reference), or NULL: not at all. */
static json_t *
pk_json(const struct program_key *k, const struct program_config *pc,
    int redact)
{
	char	 buf[8], *str;
	int	 v;

	if (k->print != NULL)
		return (k->print(pc, redact));
	switch (k->type) {
	case PK_BOOL:
		return (json_boolean(*(int *)pk_at(k, pc)));
	case PK_INT:
		return (json_integer(*(int *)pk_at(k, pc)));
	case PK_OCTAL:
		if ((v = *(int *)pk_at(k, pc)) == -1)
			return (json_null());
		snprintf(buf, sizeof(buf), "%03o", v);
		return (json_string(buf));
	case PK_DURATION:
	case PK_SIZE:
		return (json_integer(*(int64_t *)pk_at(k, pc)));
	case PK_SIGNAL:
		return (json_string(signal_name(*(int *)pk_at(k, pc))));
	case PK_AUTORESTART:
		return (json_string(config_autorestart_name(
		    *(int *)pk_at(k, pc))));
	case PK_STRING:
	case PK_PATH:
		str = *(char **)pk_at(k, pc);
		return (str != NULL ? json_string(str) : json_null());
	case PK_CUSTOM:
		break;
	}
	return (NULL);
}

/*
 * A program's normalized settings as JSON (new reference), from the table
 * of program keys.  With redact, values of secret-looking environment
 * variables are replaced, and so are passwords in URLs.
 */
json_t *
config_program_json(const struct program_config *pc, int redact)
{
	const struct program_key *k;
	json_t			*o, *v;
	size_t			 i;

	o = json_object();
	for (i = 0; i < NPROGRAM_KEYS; i++) {
		k = &program_keys[i];
		if ((v = pk_json(k, pc, redact)) == NULL)
			continue;
		json_object_set_new(k->in != NULL ? json_object_get(o, k->in) :
		    o, k->json != NULL ? k->json : k->name, v);
	}
	return (o);
}

/* The whole normalized configuration as JSON (new reference). */
json_t *
config_json(const struct config *cfg, int redact)
{
	json_t	*o, *progs;
	size_t	 i;
	char	 mode[8];

	progs = json_object();
	for (i = 0; i < cfg->nprograms; i++)
		json_object_set_new(progs, cfg->programs[i]->name,
		    config_program_json(cfg->programs[i], redact));
	snprintf(mode, sizeof(mode), "%04o", cfg->control_mode);
	o = json_pack("{s:s,s:s,s:s?,s:{s:s,s:s,s:s?}}",
	    "state_dir", cfg->state_dir,
	    "log_dir", cfg->log_dir,
	    "log_file", cfg->log_file,
	    "control", "socket", cfg->control_socket, "mode", mode,
	    "group", cfg->control_group);
	json_object_set_new(json_object_get(o, "control"), "idle_timeout_ms",
	    json_integer(cfg->control_idle_ms));
	json_object_set_new(o, "programs", progs);
	if (cfg->metrics != NULL)
		json_object_set_new(o, "metrics",
		    kinds->metrics_config_json(cfg->metrics, redact));
	if (cfg->alerts != NULL)
		json_object_set_new(o, "alerts",
		    kinds->alerts_config_json(cfg->alerts, redact));
	return (o);
}

/* Whether two programs would run the same way (a reload keeps it). */
int
config_program_equal(const struct program_config *a,
    const struct program_config *b)
{
	json_t	*ja, *jb;
	int	 eq;

	ja = config_program_json(a, 0);
	jb = config_program_json(b, 0);
	eq = json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return (eq);
}
