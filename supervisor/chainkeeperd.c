/*
 * chainkeeperd: the supervisor daemon.  One libev loop; every input is an
 * event (child exit, pipe data, control request, timer, signal).  Program
 * state changes mark the daemon dirty, and a prepare watcher re-evaluates
 * dependencies, the shutdown order and waiting control requests once per
 * loop iteration, after the callbacks that changed things have returned.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "chainkeeperd.h"
#include "config.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "logpipe.h"
#include "program.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

struct config		*cur_config;

static int		 dirty;
static int		 shutting_down;
static int		 lock_fd = -1;
static ev_prepare	 prepare_w;
static ev_child		 child_w;
static ev_signal	 sig_term, sig_int, sig_hup, sig_usr2;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: chainkeeperd [-dnvV] [-c file]\n");
	exit(2);
}

/* Tell systemd (Type=notify) something; a no-op outside systemd. */
static void
sd_notify(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (*path == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify");
	close(fd);
}

static void
program_changed(struct program *p)
{
	(void)p;
	dirty = 1;
}

int
daemon_shutting_down(void)
{
	return (shutting_down);
}

/* A start by hand: forget a hand stop. */
void
daemon_admin_start(struct program *p)
{
	p->admin_stopped = 0;
	state_set_admin_stopped(p->pc->name, 0);
	program_start(p);
}

/* A stop by hand: remembered across restarts of chainkeeperd. */
void
daemon_admin_stop(struct program *p)
{
	p->admin_stopped = 1;
	state_set_admin_stopped(p->pc->name, 1);
	program_stop(p);
}

/* Take the programs out of a configuration: the programs own them now. */
static void
adopt_programs(struct config *cfg)
{
	struct program	*p;
	size_t		 i;

	for (i = 0; i < cfg->nprograms; i++) {
		if (cfg->programs[i] == NULL)
			continue;
		p = program_new(cfg->programs[i]);
		cfg->programs[i] = NULL;
		p->admin_stopped = state_admin_stopped(p->pc->name);
		if (p->admin_stopped)
			log_info("%s: stopped by hand earlier: not starting",
			    p->pc->name);
	}
	cfg->nprograms = 0;
}

/* Start the autostart programs, in priority order. */
static void
autostart_all(void)
{
	struct program	*p;

	TAILQ_FOREACH(p, &programs, entry)
		if (p->pc->autostart && !p->admin_stopped && p->state ==
		    PROGRAM_STOPPED && !p->waiting && p->runs == 0 &&
		    !p->removed)
			program_start(p);
}

/*
 * Reload: load the configuration aside; only when it is valid, restart the
 * programs whose settings changed, add new ones, stop removed ones, and
 * leave every other program alone.  Returns a summary, or NULL and the
 * errors.
 */
json_t *
daemon_reload(char **errors)
{
	struct config		*ncfg;
	struct program		*p, *np;
	struct program_config	*npc;
	json_t			*added, *changed, *removed;
	size_t			 i, same = 0;
	int			 active;

	if (shutting_down) {
		*errors = xstrdup("chainkeeperd is shutting down");
		return (NULL);
	}
	sd_notify("RELOADING=1");
	if ((ncfg = config_load(cur_config->path, errors)) == NULL) {
		log_warnx("reload: %s is not valid; nothing changed:\n%s",
		    cur_config->path, *errors);
		sd_notify("READY=1");
		return (NULL);
	}
	added = json_array();
	changed = json_array();
	removed = json_array();
	TAILQ_FOREACH_SAFE(p, &programs, entry, np) {
		if (p->removed)
			continue;
		for (i = 0; i < ncfg->nprograms; i++)
			if (strcmp(ncfg->programs[i]->name, p->pc->name) == 0)
				break;
		if (i == ncfg->nprograms) {
			json_array_append_new(removed,
			    json_string(p->pc->name));
			p->removed = 1;
			program_stop(p);
			continue;
		}
		npc = ncfg->programs[i];
		/* The rest of the new list is matched by name only once. */
		memmove(&ncfg->programs[i], &ncfg->programs[i + 1],
		    (ncfg->nprograms - i - 1) * sizeof(*ncfg->programs));
		ncfg->nprograms--;
		if (config_program_equal(p->pc, npc)) {
			config_program_free(npc);
			same++;
			continue;
		}
		json_array_append_new(changed, json_string(p->pc->name));
		active = !program_is_stopped(p) || p->waiting;
		config_program_free(p->next_pc);
		p->next_pc = npc;
		if (active || (npc->autostart && !p->admin_stopped)) {
			program_restart(p);
		} else
			program_stop(p);	/* applies next_pc now */
	}
	for (i = 0; i < ncfg->nprograms; i++)
		json_array_append_new(added,
		    json_string(ncfg->programs[i]->name));
	if (strcmp(ncfg->control_socket, cur_config->control_socket) != 0 ||
	    ncfg->control_mode != cur_config->control_mode ||
	    strcmp(ncfg->state_dir, cur_config->state_dir) != 0)
		log_warnx("reload: control and state_dir changes take effect "
		    "when chainkeeperd restarts");
	adopt_programs(ncfg);
	/* Keep the globals chainkeeperd runs with; take the rest. */
	free(ncfg->control_socket);
	ncfg->control_socket = xstrdup(cur_config->control_socket);
	free(ncfg->state_dir);
	ncfg->state_dir = xstrdup(cur_config->state_dir);
	ncfg->control_mode = cur_config->control_mode;
	config_free(cur_config);
	cur_config = ncfg;
	autostart_all();
	log_info("reload: %zu added, %zu changed, %zu removed, %zu unchanged",
	    json_array_size(added), json_array_size(changed),
	    json_array_size(removed), same);
	dirty = 1;
	sd_notify("READY=1");
	return (json_pack("{s:o,s:o,s:o,s:I}", "added", added, "changed",
	    changed, "removed", removed, "unchanged", (json_int_t)same));
}

/* Begin the orderly shutdown; the prepare watcher carries it on. */
void
daemon_shutdown(const char *why)
{
	if (shutting_down)
		return;
	log_info("shutting down: %s", why);
	sd_notify("STOPPING=1");
	shutting_down = 1;
	dirty = 1;
}

/*
 * One step of the shutdown: stop every program that no running program
 * with a higher priority number, and no running dependent, still waits
 * for.  When all are stopped, leave the loop.
 */
static void
shutdown_step(void)
{
	struct program	*p, *q;
	size_t		 i;
	int		 left = 0, blocked;

	TAILQ_FOREACH(p, &programs, entry) {
		if (program_is_stopped(p) && !p->waiting)
			continue;
		left++;
		if (p->state == PROGRAM_STOPPING)
			continue;
		blocked = 0;
		TAILQ_FOREACH(q, &programs, entry) {
			if (q == p || (program_is_stopped(q) && !q->waiting))
				continue;
			if (q->pc->priority > p->pc->priority)
				blocked = 1;
			for (i = 0; q->pc->depends_on[i] != NULL; i++)
				if (strcmp(q->pc->depends_on[i],
				    p->pc->name) == 0)
					blocked = 1;
			if (blocked)
				break;
		}
		if (!blocked)
			program_stop(p);
	}
	if (left == 0)
		ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct program	*p, *np;

	(void)loop;
	(void)w;
	(void)revents;
	while (dirty) {
		dirty = 0;
		if (!shutting_down)
			program_deps_changed();
		TAILQ_FOREACH_SAFE(p, &programs, entry, np)
			if (p->removed && program_is_stopped(p))
				program_free(p);
		control_evaluate();
		if (shutting_down)
			shutdown_step();
	}
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct program	*p;

	(void)loop;
	(void)revents;
	if ((p = program_by_pid(w->rpid)) != NULL)
		program_child_exited(p, w->rstatus);
	else
		log_debug("reaped pid %ld (left behind by a program)",
		    (long)w->rpid);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	char	*errors = NULL;
	json_t	*r;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGTERM:
	case SIGINT:
		daemon_shutdown(w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		if ((r = daemon_reload(&errors)) != NULL)
			json_decref(r);
		free(errors);
		break;
	case SIGUSR2:
		log_info("SIGUSR2: reopening log files");
		if (log_reopen() == -1)
			log_warn("reopen log file");
		logfile_reopen_all();
		break;
	}
}

/* mkdir -p */
static int
mkdirs(const char *path, mode_t mode)
{
	char	*copy, *p;
	int	 rc = 0;

	copy = xstrdup(path);
	for (p = copy + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(copy);
	return (rc);
}

/* One chainkeeperd per state_dir: an exclusive lock held for life. */
static int
lock_state(const char *dir)
{
	char	*path;

	xasprintf(&path, "%s/lock", dir);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd == -1) {
		log_warn("open %s", path);
		free(path);
		return (-1);
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("%s is locked: another chainkeeperd runs on this "
		    "state_dir", path);
		free(path);
		return (-1);
	}
	free(path);
	return (0);
}

/* -d: fork; the parent exits 0 once the child is ready, 1 if it fails. */
static int
daemonize(void)
{
	int	 p[2], fd;
	char	 c;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return (p[1]);
}

int
main(int argc, char *argv[])
{
	const char	*path = CONFIG_DEFAULT_PATH;
	char		*errors;
	json_t		*j;
	int		 ch, check = 0, verbose = 0, daemon = 0, ready_fd = -1;
	int		 fd;
	struct program	*p;

	while ((ch = getopt(argc, argv, "c:dnvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			daemon = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("chainkeeperd %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("chainkeeperd", LOG_TO_STDERR, verbose && !check);

	if ((cur_config = config_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		fprintf(stderr, "chainkeeperd: %s: configuration not valid\n",
		    path);
		free(errors);
		return (1);
	}
	if (check) {
		if (verbose) {
			j = config_json(cur_config, 1);
			json_dumpf(j, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(j);
		}
		fprintf(stderr, "chainkeeperd: %s: configuration OK (%zu "
		    "programs)\n", cur_config->path, cur_config->nprograms);
		config_free(cur_config);
		return (0);
	}

	if (mkdirs(cur_config->state_dir, 0750) == -1)
		fatal("mkdir %s", cur_config->state_dir);
	if (mkdirs(cur_config->log_dir, 0750) == -1)
		fatal("mkdir %s", cur_config->log_dir);
	if (lock_state(cur_config->state_dir) == -1)
		return (1);
	if (daemon)
		ready_fd = daemonize();
	if (cur_config->log_file != NULL) {
		if (log_open_file(cur_config->log_file) == -1)
			fatal("open %s", cur_config->log_file);
	} else if (daemon)
		log_init("chainkeeperd", LOG_TO_SYSLOG, verbose);
	if (daemon && (fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER: escaped descendants of "
		    "programs will not be found");
	signal(SIGPIPE, SIG_IGN);
	spawn_init();
	state_open(cur_config->state_dir);

	ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_hup, signal_cb, SIGHUP);
	ev_signal_init(&sig_usr2, signal_cb, SIGUSR2);
	ev_signal_start(EV_DEFAULT, &sig_term);
	ev_signal_start(EV_DEFAULT, &sig_int);
	ev_signal_start(EV_DEFAULT, &sig_hup);
	ev_signal_start(EV_DEFAULT, &sig_usr2);
	ev_child_init(&child_w, child_cb, 0, 0);
	ev_child_start(EV_DEFAULT, &child_w);
	ev_prepare_init(&prepare_w, prepare_cb);
	ev_prepare_start(EV_DEFAULT, &prepare_w);
	program_changed_hook = program_changed;

	if (control_listen(cur_config) == -1)
		return (1);
	adopt_programs(cur_config);
	autostart_all();
	log_info("chainkeeperd %s ready: %s, socket %s", PACKAGE_VERSION,
	    cur_config->path, cur_config->control_socket);
	sd_notify("READY=1");
	if (ready_fd != -1) {
		(void)write(ready_fd, "", 1);
		close(ready_fd);
	}

	ev_run(EV_DEFAULT, 0);

	log_info("all programs stopped; exiting");
	control_close();
	while ((p = TAILQ_FIRST(&programs)) != NULL)
		program_free(p);
	state_close();
	config_free(cur_config);
	http_shutdown();
	ev_loop_destroy(EV_DEFAULT);
	return (0);
}
