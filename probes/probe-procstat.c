/*
 * procstat: resource use of a program's whole process tree, through
 * proctree_stat() (libproc2): RSS, CPU (the change of utime + stime,
 * children's included, between two checks, as % of one core), threads and
 * open fds summed over the tree, and the state letter of the main process.
 * Thresholds: max_rss, max_cpu, max_threads, max_fds, and how long the
 * main process may stay in D (max_dstate) or T (max_stopped) state, as
 * seen at every check.  The value is the RSS in bytes.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "probe.h"
#include "proctree.h"
#include "program.h"
#include "util.h"

struct procstat_cfg {
	int64_t		 max_rss;	/* bytes, -1: none */
	double		 max_cpu;	/* %, < 0: none */
	long long	 max_threads;	/* -1: none */
	long long	 max_fds;
	int64_t		 max_dstate_ms;	/* -1: none */
	int64_t		 max_stopped_ms;
	json_t		*params;
};

struct procstat_state {
	int		 have_prev;
	pid_t		 prev_root;
	uint64_t	 prev_ticks;
	int64_t		 prev_ms;
	char		 state;
	int64_t		 state_ms;	/* since when, monotonic */
	time_t		 state_wall;
};

static const char *const procstat_keys[] = { "max_rss", "max_cpu",
    "max_threads", "max_fds", "max_dstate", "max_stopped", NULL };

static void
procstat_free_config(void *arg)
{
	struct procstat_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

/* A size: a number of bytes, or a string such as "30GB". */
static int
param_size(const json_t *o, const char *name, int64_t *out, const char **key,
    char **err)
{
	json_t		*v = json_object_get(o, name);
	const char	*e;

	if (v == NULL)
		return (0);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return (0);
	}
	if (json_is_string(v) &&
	    parse_size(json_string_value(v), out, &e) == 0)
		return (0);
	*key = name;
	xasprintf(err, "%s must be a size such as 512MB or 30GB", name);
	return (-1);
}

static void *
procstat_parse(const json_t *o, const char **key, char **err)
{
	struct procstat_cfg	*c;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->max_rss = -1;
	c->max_cpu = -1;
	c->max_threads = -1;
	c->max_fds = -1;
	c->max_dstate_ms = -1;
	c->max_stopped_ms = -1;
	if (probe_param_check_keys(o, procstat_keys, key, err) == -1 ||
	    param_size(o, "max_rss", &c->max_rss, key, err) == -1 ||
	    probe_param_double(o, "max_cpu", &c->max_cpu, key, err) == -1 ||
	    probe_param_int(o, "max_threads", 1, 100000000, &c->max_threads,
	    key, err) == -1 ||
	    probe_param_int(o, "max_fds", 1, 100000000, &c->max_fds, key,
	    err) == -1 ||
	    probe_param_duration(o, "max_dstate", &c->max_dstate_ms, key,
	    err) == -1 ||
	    probe_param_duration(o, "max_stopped", &c->max_stopped_ms, key,
	    err) == -1)
		goto fail;
	if (json_object_get(o, "max_cpu") != NULL && !(c->max_cpu > 0)) {
		*key = "max_cpu";
		xasprintf(err, "max_cpu must be a percentage of one core above "
		    "0 (250 is two and a half cores)");
		goto fail;
	}
	return (c);
fail:
	procstat_free_config(c);
	return (NULL);
}

/* Open fds of one process, or -1 if its fd folder cannot be read. */
static long long
count_fds(pid_t pid)
{
	char		 path[64];
	struct dirent	*de;
	DIR		*d;
	long long	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
fmt_size(double b, char *buf, size_t len)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1f GB", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MB", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KB", b / 1024.0);
}

/* Append "; text" to the reason being built. */
static void
why_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_add(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n = strlen(buf);

	if (n > 0 && n + 2 < len) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static void
procstat_run(struct probe *p)
{
	struct procstat_cfg	*c = p->cfg->kcfg;
	struct procstat_state	*s = p->state;
	struct program		*prog = p->prog;
	struct proctree_stat	 st;
	long long		 fds = 0, f;
	size_t			 i, unreadable = 0;
	int64_t			 now = now_ms(), in_state;
	double			 cpu = -1, value, hz;
	char			 why[200], a[32], b[32], st_s[2];
	json_t			*detail;

	if (s == NULL)
		s = p->state = xcalloc(1, sizeof(*s));
	if (prog->pid <= 0) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "no main process");
		return;
	}
	if (proctree_stat(prog->pid, prog->marker, &st) == -1) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read /proc");
		return;
	}
	if (st.nprocs == 0) {
		free(st.pids);
		probe_done(p, PROBE_ERROR, NULL, NULL, "pid %ld is gone",
		    (long)prog->pid);
		return;
	}
	for (i = 0; i < st.npids; i++) {
		if ((f = count_fds(st.pids[i])) == -1)
			unreadable++;
		else
			fds += f;
	}
	free(st.pids);

	/* CPU: the change since the last check of this same main pid. */
	hz = (double)sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	if (s->have_prev && s->prev_root == prog->pid &&
	    st.ticks >= s->prev_ticks && now > s->prev_ms)
		cpu = (double)(st.ticks - s->prev_ticks) / hz /
		    ((double)(now - s->prev_ms) / 1000.0) * 100.0;
	s->have_prev = 1;
	s->prev_root = prog->pid;
	s->prev_ticks = st.ticks;
	s->prev_ms = now;

	/* How long the main process has been in its state. */
	if (st.root_state != s->state) {
		s->state = st.root_state;
		s->state_ms = now;
		s->state_wall = time(NULL);
	}
	in_state = now - s->state_ms;

	st_s[0] = st.root_state != 0 ? st.root_state : '?';
	st_s[1] = '\0';
	detail = json_pack("{s:I,s:o,s:I,s:o,s:I,s:s,s:I,s:f}",
	    "rss", (json_int_t)st.rss,
	    "cpu_pct", cpu >= 0 ? json_real(round(cpu * 10) / 10) :
	    json_null(),
	    "threads", (json_int_t)st.threads,
	    "fds", unreadable == 0 ? json_integer((json_int_t)fds) :
	    json_null(),
	    "processes", (json_int_t)st.nprocs,
	    "state", st_s,
	    "state_since", (json_int_t)s->state_wall,
	    "state_s", (double)in_state / 1000.0);

	why[0] = '\0';
	if (c->max_rss >= 0 && st.rss > (uint64_t)c->max_rss) {
		fmt_size((double)st.rss, a, sizeof(a));
		fmt_size((double)c->max_rss, b, sizeof(b));
		why_add(why, sizeof(why), "RSS %s over %s", a, b);
	}
	if (c->max_cpu > 0 && cpu > c->max_cpu)
		why_add(why, sizeof(why), "CPU %.0f%% over %.0f%%", cpu,
		    c->max_cpu);
	if (c->max_threads > 0 && st.threads > (uint64_t)c->max_threads)
		why_add(why, sizeof(why), "%llu threads, over %lld",
		    (unsigned long long)st.threads, c->max_threads);
	if (c->max_fds > 0 && unreadable == 0 && fds > c->max_fds)
		why_add(why, sizeof(why), "%lld open fds, over %lld", fds,
		    c->max_fds);
	if (c->max_dstate_ms >= 0 && st.root_state == 'D' &&
	    in_state >= c->max_dstate_ms)
		why_add(why, sizeof(why), "in D state (uninterruptible) for "
		    "%lld s", (long long)(in_state / 1000));
	if (c->max_stopped_ms >= 0 && (st.root_state == 'T' ||
	    st.root_state == 't') && in_state >= c->max_stopped_ms)
		why_add(why, sizeof(why), "stopped (T state) for %lld s",
		    (long long)(in_state / 1000));
	value = (double)st.rss;
	if (why[0] != '\0') {
		probe_done(p, PROBE_FAIL, &value, detail, "%s", why);
		return;
	}
	if (c->max_fds > 0 && unreadable > 0) {
		probe_done(p, PROBE_ERROR, &value, detail, "cannot count the "
		    "open fds of %zu process%s", unreadable,
		    unreadable == 1 ? "" : "es");
		return;
	}
	fmt_size((double)st.rss, a, sizeof(a));
	if (cpu >= 0)
		probe_done(p, PROBE_OK, &value, detail, "RSS %s, CPU %.0f%%, "
		    "%llu threads, state %s", a, cpu,
		    (unsigned long long)st.threads, st_s);
	else
		probe_done(p, PROBE_OK, &value, detail, "RSS %s, %llu threads, "
		    "state %s", a, (unsigned long long)st.threads, st_s);
}

static void
procstat_reset(struct probe *p)
{
	free(p->state);
	p->state = NULL;
}

const struct probe_kind probe_kind_procstat = {
	.name = "procstat",
	.parse = procstat_parse,
	.free_config = procstat_free_config,
	.run = procstat_run,
	.cancel = NULL,
	.reset = procstat_reset,
};
