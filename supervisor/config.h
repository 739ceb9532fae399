/* The parsed, validated configuration: the only output of config.c. */
#ifndef CONFIG_H
#define CONFIG_H

#include <sys/types.h>
#include <sys/resource.h>
#include <stdint.h>

#include <jansson.h>

#include "action.h"
#include "probe.h"

struct metrics_config;
struct alerts_config;

#define AUTORESTART_FALSE	0
#define AUTORESTART_TRUE	1
#define AUTORESTART_UNEXPECTED	2

#define LIMIT_NOFILE	0
#define LIMIT_NPROC	1
#define LIMIT_CORE	2
#define LIMIT_MEMLOCK	3
#define LIMIT_MAX	4

struct logfile_config {
	char		*path;		/* NULL: NONE (discarded) */
	int64_t		 maxbytes;	/* 0: never rotate */
	int		 backups;
	uid_t		 user;		/* program's user or -1 */
	int		 line, col;	/* where the path was set, or 0 */
};

struct backoff_config {
	int64_t		 initial_ms;
	int64_t		 max_ms;
	int		 jitter_pct;
};

struct program_config {
	char		*name;
	char		*file;		/* where it was defined */
	int		 line;
	int		 col;		/* of its name */
	char		**argv;
	char		*directory;
	char		*user;		/* NULL: run as chainkeeperd */
	uid_t		 uid;
	gid_t		 gid;
	char		*home;
	gid_t		*groups;
	int		 ngroups;
	int		 umask;		/* -1: inherit */
	char		**env;		/* "K=V", NULL-terminated */
	int		 inherit_env;	/* inherit_environment */
	int		 autostart;
	int		 autorestart;
	int		*exitcodes;
	size_t		 nexitcodes;
	int64_t		 startsecs_ms;
	int		 startretries;
	int		 stopsignal;
	int64_t		 stopwait_ms;
	int		 stopasgroup;
	int		 killasgroup;
	int		 priority;
	int		 redirect_stderr;
	struct logfile_config out;
	struct logfile_config err;
	struct backoff_config backoff;
	char		**depends_on;	/* NULL-terminated */
	char		**depends_healthy; /* as long: a probe of that
					   program to be healthy, or NULL */
	int		 limit_set[LIMIT_MAX];
	rlim_t		 limit[LIMIT_MAX];
	struct probe_config **probes;
	size_t		 nprobes;
	struct rule_config **rules;
	size_t		 nrules;
	void		*eos_failover;	/* parsed by failover-eos.c */
	json_t		*eos_failover_params;
};

struct config {
	char		*path;
	char		*state_dir;
	char		*log_dir;	/* AUTO program logs */
	char		*log_file;	/* chainkeeperd's own log; NULL: default */
	char		*control_socket;
	int		 control_mode;
	char		*control_group;
	gid_t		 control_gid;
	int64_t		 control_idle_ms;	/* 0: no idle timeout */
	struct program_config **programs;
	size_t		 nprograms;
	struct metrics_config *metrics;	/* metrics: section, or NULL */
	struct alerts_config *alerts;	/* alerts: section, or NULL */
};

/*
 * What the configuration needs from the probe, action, alert, metrics and
 * failover modules, reached through this table so that a program that only
 * reads control: (chainkeeperctl) links none of them.  chainkeeperd, and
 * anything else that runs programs, calls config_use_kinds(
 * &config_kinds_all) first; without it, probes, rules, eos_failover,
 * metrics and alerts are read as YAML and otherwise ignored.
 */
struct config_kinds {
	const struct probe_kind *(*probe_kind_find)(const char *);
	const char	*(*probe_kinds_list)(void);
	void		 (*probe_config_free)(struct probe_config *);
	const struct action_kind *(*action_kind_find)(const char *);
	const char	*(*action_kinds_list)(void);
	void		 (*action_config_free)(struct action_config *);
	void		 (*rule_config_free)(struct rule_config *);
	void		*(*eosfo_parse)(const json_t *, const char **, char **);
	void		 (*eosfo_free_config)(void *);
	struct metrics_config *(*metrics_config_parse)(const json_t *,
		    const char **, char **);
	void		 (*metrics_config_free)(struct metrics_config *);
	json_t		*(*metrics_config_json)(const struct metrics_config *,
		    int);
	char		*(*metrics_config_check)(const struct metrics_config *,
		    const struct config *);
	struct alerts_config *(*alerts_config_parse)(const json_t *,
		    void (*)(void *, const char *, const char *), void *);
	void		 (*alerts_config_free)(struct alerts_config *);
	json_t		*(*alerts_config_json)(const struct alerts_config *,
		    int);
};

extern const struct config_kinds config_kinds_all;

/*
 * Set by chainkeeperd: why a log folder is refused for files root writes
 * for a program's user ((uid_t)-1 for none), or NULL if it is fit.  NULL
 * (chainkeeperctl, tests): not checked.
 */
extern const char	*(*config_logdir_check)(const char *, uid_t);

void		 config_use_kinds(const struct config_kinds *);
struct config	*config_load(const char *, char **);
void		 config_free(struct config *);
void		 config_program_free(struct program_config *);
struct program_config *config_program_default(const struct config *,
		    const char *);
int		 config_name_valid(const char *);
struct program_config *config_find(const struct config *, const char *);
json_t		*config_json(const struct config *, int);
json_t		*config_program_json(const struct program_config *, int);
int		 config_program_equal(const struct program_config *,
		    const struct program_config *);
int		 config_exitcode_expected(const struct program_config *, int);
const char	*config_autorestart_name(int);

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/chainkeeper/chainkeeper.yaml"
#define CONFIG_DEFAULT_SOCKET	RUNSTATEDIR "/chainkeeper/chainkeeper.sock"
#define CONFIG_DEFAULT_IDLE_MS	60000
#define CONFIG_DEFAULT_STATE	LOCALSTATEDIR "/lib/chainkeeper"

#endif
