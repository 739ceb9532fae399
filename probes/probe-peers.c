/*
 * peers: the established TCP connections of a program's whole process
 * tree, found the way lsof finds them but without forking it: the socket
 * inodes in /proc/<pid>/fd of every process of the tree, looked up in the
 * table of established TCP sockets of the main process's network
 * namespace.  That table comes from NETLINK_SOCK_DIAG (as ss(8) gets it:
 * established sockets only, filtered by port in the kernel) when the
 * program shares chainkeeperd's namespace, else (or if netlink fails, or
 * with method: proc) from /proc/<pid>/net/tcp and tcp6, whose generation
 * costs several times more on a host with thousands of sockets.  A socket
 * shared by several processes counts once.  Filters: local port, remote
 * port, local or remote network.  The value is the count; min and max
 * bound it.  The check is synchronous and ends inside run().
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <linux/netlink.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "probe-sys.h"
#include "probe.h"
#include "proctree.h"
#include "program.h"
#include "util.h"

#define PEERS_REMOTES	16	/* remote endpoints in the detail */

#define PEERS_AUTO	0	/* netlink, else /proc */
#define PEERS_NETLINK	1
#define PEERS_PROC	2

struct peers_cfg {
	long long	 port;		/* local port, 0: any */
	long long	 remote_port;	/* 0: any */
	long long	 min;
	long long	 max;		/* -1: no bound */
	int		 method;	/* PEERS_AUTO, ... */
	int		 has_lnet;
	int		 has_rnet;
	struct sys_net	 lnet;
	struct sys_net	 rnet;
	json_t		*params;
};

struct peers_count {
	const struct peers_cfg *c;
	const char	*method;
	const uint64_t	*inodes;
	size_t		 ninodes;
	long long	 n;
	long long	 v4;
	long long	 v6;
	json_t		*remotes;
};

static const char *const peers_keys[] = { "port", "remote_port", "min",
    "max", "local_net", "remote_net", "method", NULL };

static void
peers_free_config(void *arg)
{
	struct peers_cfg	*c = arg;

	json_decref(c->params);
	free(c);
}

static void *
peers_parse(const json_t *o, const char **key, char **err)
{
	struct peers_cfg	*c;
	const char		*lnet = NULL, *rnet = NULL, *method = NULL;

	c = xcalloc(1, sizeof(*c));
	c->params = json_incref((json_t *)o);
	c->min = 1;
	c->max = -1;
	if (probe_param_check_keys(o, peers_keys, key, err) == -1 ||
	    probe_param_int(o, "port", 1, 65535, &c->port, key, err) == -1 ||
	    probe_param_int(o, "remote_port", 1, 65535, &c->remote_port, key,
	    err) == -1 ||
	    probe_param_int(o, "min", 0, 10000000, &c->min, key, err) == -1 ||
	    probe_param_int(o, "max", 0, 10000000, &c->max, key, err) == -1 ||
	    probe_param_string(o, "local_net", 0, &lnet, key, err) == -1 ||
	    probe_param_string(o, "remote_net", 0, &rnet, key, err) == -1 ||
	    probe_param_string(o, "method", 0, &method, key, err) == -1)
		goto fail;
	if (method == NULL || strcmp(method, "auto") == 0)
		c->method = PEERS_AUTO;
	else if (strcmp(method, "netlink") == 0)
		c->method = PEERS_NETLINK;
	else if (strcmp(method, "proc") == 0)
		c->method = PEERS_PROC;
	else {
		*key = "method";
		xasprintf(err, "method must be auto, netlink or proc");
		goto fail;
	}
	if (c->max != -1 && c->max < c->min) {
		*key = "max";
		xasprintf(err, "max (%lld) is less than min (%lld)", c->max,
		    c->min);
		goto fail;
	}
	if (lnet != NULL) {
		if (sys_net_parse(lnet, &c->lnet) == -1) {
			*key = "local_net";
			xasprintf(err, "local_net must be an address or a "
			    "network such as 172.16.0.0/12, not \"%s\"", lnet);
			goto fail;
		}
		c->has_lnet = 1;
	}
	if (rnet != NULL) {
		if (sys_net_parse(rnet, &c->rnet) == -1) {
			*key = "remote_net";
			xasprintf(err, "remote_net must be an address or a "
			    "network such as 10.0.0.0/8, not \"%s\"", rnet);
			goto fail;
		}
		c->has_rnet = 1;
	}
	return (c);
fail:
	peers_free_config(c);
	return (NULL);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Add the socket inodes of one process's fds.  Returns 0, or -1 when its
 * fd folder cannot be read (gone, or not ours to read).
 */
static int
peers_inodes(pid_t pid, uint64_t **v, size_t *n, size_t *cap,
    size_t *nfds)
{
	char		 path[64], link[64], *end;
	struct dirent	*de;
	DIR		*d;
	ssize_t		 l;
	uint64_t	 ino;
	int		 dfd;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(*nfds)++;
		l = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (l <= 8)
			continue;
		link[l] = '\0';
		if (strncmp(link, "socket:[", 8) != 0)
			continue;
		errno = 0;
		ino = strtoull(link + 8, &end, 10);
		if (errno != 0 || *end != ']' || ino == 0)
			continue;
		if (*n == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		(*v)[(*n)++] = ino;
	}
	closedir(d);
	return (0);
}

/* One socket of the table: count it if it is the tree's and matches. */
static void
peers_sock_cb(void *arg, const struct sys_tcp *t)
{
	struct peers_count	*pc = arg;
	const struct peers_cfg	*c = pc->c;
	char			 buf[64];

	if (t->state != SYS_TCP_ESTABLISHED || t->inode == 0)
		return;
	if (c->port != 0 && t->lport != c->port)
		return;
	if (c->remote_port != 0 && t->rport != c->remote_port)
		return;
	if (c->has_lnet && !sys_net_match(&c->lnet, t->family, t->laddr))
		return;
	if (c->has_rnet && !sys_net_match(&c->rnet, t->family, t->raddr))
		return;
	if (pc->ninodes == 0 || bsearch(&t->inode, pc->inodes, pc->ninodes,
	    sizeof(*pc->inodes), u64_cmp) == NULL)
		return;
	pc->n++;
	if (t->family == AF_INET)
		pc->v4++;
	else
		pc->v6++;
	if (json_array_size(pc->remotes) < PEERS_REMOTES)
		json_array_append_new(pc->remotes, json_string(
		    sys_tcp_addr(t->family, t->raddr, t->rport, buf,
		    sizeof(buf))));
}

static void
peers_count_clear(struct peers_count *pc)
{
	pc->n = pc->v4 = pc->v6 = 0;
	json_array_clear(pc->remotes);
}

/* Count the matching established sockets of one /proc/net/tcp file. */
static int
peers_scan(const char *path, struct peers_count *pc)
{
	struct sys_tcp	 t;
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;

	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	while ((len = getline(&line, &cap, f)) != -1)
		if (sys_tcp_parse(line, (size_t)len, &t) == 0)
			peers_sock_cb(pc, &t);
	free(line);
	fclose(f);
	return (0);
}

/* Count through a NETLINK_SOCK_DIAG dump of one family; 0 or -1. */
static int
peers_diag(struct peers_count *pc, int family)
{
	static uint32_t		 seq;
	static union {
		struct nlmsghdr	 h;
		char		 b[32768];
	}			 rbuf;
	union {
		struct nlmsghdr	 h;
		char		 b[256];
	}			 req;
	struct sockaddr_nl	 sa;
	struct timeval		 tv = { 2, 0 };
	size_t			 len;
	ssize_t			 n;
	int			 fd, r = 0, e;

	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return (-1);
	/* The dump is made as it is read; the bound is a safety net. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	len = sys_diag_request(&req, sizeof(req), family,
	    (uint16_t)pc->c->port, (uint16_t)pc->c->remote_port, ++seq);
	if (len == 0 || sendto(fd, &req, len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) != (ssize_t)len) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	while (r == 0) {
		n = recv(fd, &rbuf, sizeof(rbuf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -1;
			if (n == 0)
				errno = EPIPE;
			break;
		}
		r = sys_diag_parse(&rbuf, (size_t)n, seq, peers_sock_cb, pc);
	}
	e = errno;
	close(fd);
	errno = e;
	return (r == 1 ? 0 : -1);
}

/* Whether pid shares chainkeeperd's network namespace. */
static int
same_netns(pid_t pid)
{
	struct stat	 a, b;
	char		 path[64];

	snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)pid);
	return (stat("/proc/self/ns/net", &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/*
 * The table, by netlink if possible (IPv6 turned off counts as no IPv6
 * sockets), else from /proc.  Returns 0, or -1 if it could not be read.
 */
static int
peers_table(pid_t pid, struct peers_count *pc)
{
	char	 path[64];
	int	 r4, r6, m = pc->c->method;

	if (m != PEERS_PROC && (m == PEERS_NETLINK || same_netns(pid))) {
		if (peers_diag(pc, AF_INET) == 0 &&
		    (peers_diag(pc, AF_INET6) == 0 || errno == ENOENT ||
		    errno == EAFNOSUPPORT || errno == EINVAL)) {
			pc->method = "netlink";
			return (0);
		}
		if (m == PEERS_NETLINK)
			return (-1);
	}
	peers_count_clear(pc);
	pc->method = "proc";
	snprintf(path, sizeof(path), "/proc/%ld/net/tcp", (long)pid);
	r4 = peers_scan(path, pc);
	snprintf(path, sizeof(path), "/proc/%ld/net/tcp6", (long)pid);
	r6 = peers_scan(path, pc);
	return (r4 == -1 && r6 == -1 ? -1 : 0);
}

static void
peers_run(struct probe *p)
{
	struct peers_cfg	*c = p->cfg->kcfg;
	struct program		*prog = p->prog;
	struct peers_count	 pc;
	pid_t			*pids = NULL;
	uint64_t		*inodes = NULL;
	size_t			 npids = 0, n = 0, cap = 0, i, j;
	size_t			 nfds = 0, unreadable = 0;
	double			 value;
	json_t			*detail;
	int			 lasterr = 0;

	if (prog->pid <= 0) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "no main process");
		return;
	}
	if (proctree_collect(prog->pid, prog->marker, &pids, &npids) == -1) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read /proc");
		return;
	}
	for (i = 0; i < npids; i++)
		if (peers_inodes(pids[i], &inodes, &n, &cap, &nfds) == -1) {
			lasterr = errno;
			unreadable++;
		}
	if (npids > 0 && unreadable == npids) {
		probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read "
		    "/proc/%ld/fd: %s", (long)pids[0], strerror(lasterr));
		goto out;
	}
	if (n > 0)
		qsort(inodes, n, sizeof(*inodes), u64_cmp);
	for (i = j = 0; i < n; i++)
		if (j == 0 || inodes[j - 1] != inodes[i])
			inodes[j++] = inodes[i];
	n = j;

	memset(&pc, 0, sizeof(pc));
	pc.c = c;
	pc.inodes = inodes;
	pc.ninodes = n;
	pc.remotes = json_array();
	if (peers_table(prog->pid, &pc) == -1) {
		json_decref(pc.remotes);
		if (c->method == PEERS_NETLINK)
			probe_done(p, PROBE_ERROR, NULL, NULL, "netlink "
			    "sock_diag: %s", strerror(errno));
		else
			probe_done(p, PROBE_ERROR, NULL, NULL, "cannot read "
			    "/proc/%ld/net/tcp: %s", (long)prog->pid,
			    strerror(errno));
		goto out;
	}
	/* json_pack "o" steals pc.remotes. */
	detail = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:o}",
	    "established", (json_int_t)pc.n,
	    "ipv4", (json_int_t)pc.v4,
	    "ipv6", (json_int_t)pc.v6,
	    "sockets", (json_int_t)n,
	    "fds", (json_int_t)nfds,
	    "processes", (json_int_t)npids,
	    "method", pc.method,
	    "remotes", pc.remotes);
	if (unreadable > 0)
		json_object_set_new(detail, "unreadable_processes",
		    json_integer((json_int_t)unreadable));
	value = (double)pc.n;
	if (pc.n < c->min)
		probe_done(p, PROBE_FAIL, &value, detail, "%lld established "
		    "connection%s, fewer than %lld", pc.n, pc.n == 1 ? "" : "s",
		    c->min);
	else if (c->max != -1 && pc.n > c->max)
		probe_done(p, PROBE_FAIL, &value, detail, "%lld established "
		    "connections, more than %lld", pc.n, c->max);
	else
		probe_done(p, PROBE_OK, &value, detail, "%lld established "
		    "connection%s", pc.n, pc.n == 1 ? "" : "s");
out:
	free(pids);
	free(inodes);
}

const struct probe_kind probe_kind_peers = {
	.name = "peers",
	.parse = peers_parse,
	.free_config = peers_free_config,
	.run = peers_run,
	.cancel = NULL,
	.reset = NULL,
};
