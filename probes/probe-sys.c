/*
 * Pure parsers and small helpers for the host-level probe kinds.  Every
 * parser takes a byte range (not necessarily NUL-terminated), never reads
 * past it, and returns a result or a refusal; none allocates except where
 * it says so.  They get libFuzzer harnesses, so no input may crash them.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe-sys.h"
#include "util.h"

#define TCP_LINE_MAX	512
#define TAIL_CHUNK	65536

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Exactly n hex digits at s as a number (n <= 8). */
static int
hex_n(const char *s, size_t n, uint32_t *out)
{
	uint32_t	 v = 0;
	size_t		 i;
	int		 d;

	for (i = 0; i < n; i++) {
		if ((d = hexval((unsigned char)s[i])) == -1)
			return (-1);
		v = (v << 4) | (uint32_t)d;
	}
	*out = v;
	return (0);
}

/*
 * An address:port token of /proc/net/tcp: 8 (IPv4) or 32 (IPv6) hex digits,
 * each group of 8 being one 32-bit word as the kernel holds it in memory.
 */
static int
tcp_endpoint(const char *tok, size_t len, int *family, uint8_t *addr,
    uint16_t *port)
{
	size_t		 alen, i;
	uint32_t	 w, p;

	if (len == 8 + 1 + 4)
		alen = 8;
	else if (len == 32 + 1 + 4)
		alen = 32;
	else
		return (-1);
	if (tok[alen] != ':')
		return (-1);
	memset(addr, 0, 16);
	for (i = 0; i < alen / 8; i++) {
		if (hex_n(tok + i * 8, 8, &w) == -1)
			return (-1);
		memcpy(addr + i * 4, &w, 4);
	}
	if (hex_n(tok + alen + 1, 4, &p) == -1)
		return (-1);
	*family = alen == 8 ? AF_INET : AF_INET6;
	*port = (uint16_t)p;
	return (0);
}

/*
 * One line of /proc/net/tcp{,6}:
 *   sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
 * Returns 0, or -1 for the header and anything malformed.
 */
int
sys_tcp_parse(const char *line, size_t len, struct sys_tcp *t)
{
	char		 buf[TCP_LINE_MAX];
	char		*tok[10], *s, *end;
	size_t		 n = 0, i;
	int		 fam2;
	uint32_t	 st;
	unsigned long long inode;

	memset(t, 0, sizeof(*t));
	if (len >= sizeof(buf) || memchr(line, '\0', len) != NULL)
		return (-1);
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (s = buf; n < 10; ) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			break;
		tok[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' &&
		    *s != '\r')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	if (n < 10)
		return (-1);
	/* "12:" */
	for (i = 0; isdigit((unsigned char)tok[0][i]); i++)
		;
	if (i == 0 || tok[0][i] != ':' || tok[0][i + 1] != '\0')
		return (-1);
	if (tcp_endpoint(tok[1], strlen(tok[1]), &t->family, t->laddr,
	    &t->lport) == -1 ||
	    tcp_endpoint(tok[2], strlen(tok[2]), &fam2, t->raddr,
	    &t->rport) == -1 || fam2 != t->family)
		return (-1);
	if (strlen(tok[3]) != 2 || hex_n(tok[3], 2, &st) == -1 || st == 0 ||
	    st > 12)
		return (-1);
	t->state = (int)st;
	if (!isdigit((unsigned char)tok[9][0]))
		return (-1);
	errno = 0;
	inode = strtoull(tok[9], &end, 10);
	if (*end != '\0' || errno != 0)
		return (-1);
	t->inode = inode;
	return (0);
}

/* "1.2.3.4:80" or "[::1]:80" into buf. */
char *
sys_tcp_addr(int family, const uint8_t *addr, uint16_t port, char *buf,
    size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, (unsigned int)port);
	else
		snprintf(buf, len, "%s:%u", a, (unsigned int)port);
	return (buf);
}

/*
 * A SOCK_DIAG_BY_FAMILY dump request for established TCP sockets of one
 * family into buf, with a bytecode filter on the local port (lport) and
 * the remote port (rport) when they are not 0.  Returns its length, or 0
 * if buf is too small.
 */
size_t
sys_diag_request(void *buf, size_t len, int family, uint16_t lport,
    uint16_t rport, uint32_t seq)
{
	struct nlmsghdr		*nlh = buf;
	struct inet_diag_req_v2	*r;
	struct rtattr		*rta;
	struct inet_diag_bc_op	 ops[8], *op;
	size_t			 nops = 0, i, bclen, total;
	int			 codes[4], ports[4], n = 0;

	if (lport != 0) {
		codes[n] = INET_DIAG_BC_S_GE;
		ports[n++] = lport;
		codes[n] = INET_DIAG_BC_S_LE;
		ports[n++] = lport;
	}
	if (rport != 0) {
		codes[n] = INET_DIAG_BC_D_GE;
		ports[n++] = rport;
		codes[n] = INET_DIAG_BC_D_LE;
		ports[n++] = rport;
	}
	/*
	 * Each test is two ops (the test, then the port in "no").  The
	 * kernel accepts a socket when the program runs off its exact end;
	 * a failed test jumps 4 bytes past the end, which rejects.
	 */
	bclen = (size_t)n * 2 * sizeof(struct inet_diag_bc_op);
	for (i = 0; i < (size_t)n; i++) {
		op = &ops[nops++];
		op->code = (unsigned char)codes[i];
		op->yes = 2 * sizeof(*op);
		op->no = (unsigned short)(bclen - i * 2 * sizeof(*op) + 4);
		op = &ops[nops++];
		op->code = INET_DIAG_BC_NOP;
		op->yes = 0;
		op->no = (unsigned short)ports[i];
	}
	total = NLMSG_LENGTH(sizeof(*r)) + (bclen > 0 ? RTA_SPACE(bclen) : 0);
	if (len < total)
		return (0);
	memset(buf, 0, total);
	nlh->nlmsg_len = (uint32_t)total;
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = NLMSG_DATA(nlh);
	r->sdiag_family = (uint8_t)family;
	r->sdiag_protocol = IPPROTO_TCP;
	r->idiag_states = 1U << SYS_TCP_ESTABLISHED;
	if (bclen > 0) {
		rta = (struct rtattr *)((char *)buf +
		    NLMSG_LENGTH(sizeof(*r)));
		rta->rta_type = INET_DIAG_REQ_BYTECODE;
		rta->rta_len = (unsigned short)RTA_LENGTH(bclen);
		memcpy(RTA_DATA(rta), ops, bclen);
	}
	return (total);
}

/*
 * Replies to a sys_diag_request dump: cb gets each socket.  Returns 1 at
 * the end of the dump, 0 if more is to come, -1 (errno set) on an error
 * reply or a malformed message.  Messages of another seq are skipped.
 */
int
sys_diag_parse(const void *buf, size_t len, uint32_t seq, sys_tcp_cb cb,
    void *arg)
{
	const struct nlmsghdr		*nlh;
	const struct inet_diag_msg	*m;
	const struct nlmsgerr		*e;
	struct sys_tcp			 t;
	size_t				 left = len;

	for (nlh = buf; left >= sizeof(*nlh); ) {
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > left) {
			errno = EBADMSG;
			return (-1);
		}
		if (nlh->nlmsg_seq != seq)
			goto next;
		if (nlh->nlmsg_type == NLMSG_DONE)
			return (1);
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			e = NLMSG_DATA(nlh);
			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				errno = EBADMSG;
			else
				errno = e->error < 0 ? -e->error : EPROTO;
			return (-1);
		}
		if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			goto next;
		m = NLMSG_DATA(nlh);
		if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
			goto next;
		memset(&t, 0, sizeof(t));
		t.family = m->idiag_family;
		memcpy(t.laddr, m->id.idiag_src, t.family == AF_INET ? 4 : 16);
		memcpy(t.raddr, m->id.idiag_dst, t.family == AF_INET ? 4 : 16);
		t.lport = ntohs(m->id.idiag_sport);
		t.rport = ntohs(m->id.idiag_dport);
		t.state = m->idiag_state;
		t.inode = m->idiag_inode;
		cb(arg, &t);
next:
		if (NLMSG_ALIGN(nlh->nlmsg_len) >= left)
			break;
		left -= NLMSG_ALIGN(nlh->nlmsg_len);
		nlh = (const struct nlmsghdr *)((const char *)nlh +
		    NLMSG_ALIGN(nlh->nlmsg_len));
	}
	return (0);
}

/* "10.0.0.0/8", "fd00::/8" or a single address.  Returns 0 or -1. */
int
sys_net_parse(const char *s, struct sys_net *net)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long		 bits;
	int		 max;

	memset(net, 0, sizeof(*net));
	if (strlen(s) >= sizeof(buf))
		return (-1);
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else
		return (-1);
	net->bits = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)*slash))
			return (-1);
		errno = 0;
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || errno != 0 || bits < 0 || bits > max)
			return (-1);
		net->bits = (int)bits;
	}
	return (0);
}

/* Whether an address is in the network (IPv4-mapped IPv6 counts as IPv4). */
int
sys_net_match(const struct sys_net *net, int family, const uint8_t *addr)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	int			 full, rest;
	uint8_t			 mask;

	if (net->family == AF_INET && family == AF_INET6 &&
	    memcmp(addr, mapped, sizeof(mapped)) == 0) {
		addr += 12;
		family = AF_INET;
	}
	if (family != net->family)
		return (0);
	full = net->bits / 8;
	rest = net->bits % 8;
	if (memcmp(addr, net->addr, (size_t)full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((addr[full] & mask) == (net->addr[full] & mask));
}

/* Whether "kernel" stands as a word in [s, s + len). */
static int
has_kernel_tag(const char *s, size_t len)
{
	const char	*p = s, *end = s + len;
	char		 after;

	while (p < end && (p = memmem(p, (size_t)(end - p), "kernel", 6)) !=
	    NULL) {
		after = p + 6 < end ? p[6] : ' ';
		if ((p == s || p[-1] == ' ') && (after == ':' ||
		    after == ' ' || after == '['))
			return (1);
		p += 6;
	}
	return (0);
}

/*
 * A kernel OOM-killer line, from /dev/kmsg or a syslog file:
 *   Out of memory: Killed process 4567 (raptoreumd) total-vm:...
 *   Memory cgroup out of memory: Killed process 4567 (x) total-vm:...
 *   Out of memory: Kill process 4567 (x) score 912 or sacrifice child
 * The last, older form names the chosen process, not necessarily the
 * victim (killed is 0 then); such kernels print a "Killed process" line
 * too.  With need_kernel, "kernel" must come first as a word (syslog).
 * Returns 1 for an OOM line, 0 for anything else.
 */
int
sys_oom_parse(const char *line, size_t len, int need_kernel,
    struct sys_oom *o)
{
	const char	*p, *end = line + len, *name, *close, *q;
	long long	 pid = 0;
	size_t		 n, i;

	memset(o, 0, sizeof(*o));
	if ((p = memmem(line, len, "Killed process ", 15)) != NULL) {
		o->killed = 1;
		n = 15;
	} else if ((p = memmem(line, len, "Kill process ", 13)) != NULL)
		n = 13;
	else
		return (0);
	if (need_kernel && !has_kernel_tag(line, (size_t)(p - line)))
		return (0);
	o->memcg = memmem(line, (size_t)(p - line),
	    "Memory cgroup out of memory", 27) != NULL;
	p += n;
	for (i = 0; p < end && isdigit((unsigned char)*p) && i <= 10; i++, p++)
		pid = pid * 10 + (*p - '0');
	if (i == 0 || i > 10 || pid <= 0 || pid > INT_MAX)
		return (0);
	if (end - p < 3 || p[0] != ' ' || p[1] != '(')
		return (0);
	name = p + 2;
	/*
	 * The name ends at the ")" followed by the next field, or the end;
	 * a name may itself hold ")" (comm is anything).
	 */
	close = NULL;
	for (q = name; q < end && q - name <= (ptrdiff_t)sizeof(o->name);
	    q++) {
		if (*q != ')')
			continue;
		if (q + 1 == end || q[1] == ',' || q[1] == '\n' ||
		    (end - q > 10 && memcmp(q + 1, " total-vm:", 10) == 0) ||
		    (end - q > 7 && memcmp(q + 1, " score ", 7) == 0)) {
			close = q;
			break;
		}
		if (q[1] == ' ' && close == NULL)
			close = q;
	}
	if (close == NULL)
		return (0);
	n = (size_t)(close - name);
	if (n >= sizeof(o->name))
		n = sizeof(o->name) - 1;
	memcpy(o->name, name, n);
	o->name[n] = '\0';
	for (i = 0; i < n; i++)
		if (o->name[i] == '\0' || o->name[i] == '\n')
			o->name[i] = '?';
	o->pid = (pid_t)pid;
	return (1);
}

/* A decimal number at [*pp, end) ending at one of ends; moves past it. */
static int
dec_field(const char **pp, const char *end, const char *ends, uint64_t *out)
{
	const char	*p = *pp;
	uint64_t	 v = 0;
	int		 n = 0;

	while (p < end && isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
		n++;
	}
	if (n == 0 || p >= end || *p == '\0' || strchr(ends, *p) == NULL)
		return (-1);
	*out = v;
	*pp = p + 1;
	return (0);
}

/*
 * One /dev/kmsg record: "prio,seq,usec,flags[,...];message\n" and then
 * " KEY=value" continuation lines.  Returns 0 or -1.
 */
int
sys_kmsg_parse(const char *rec, size_t len, struct sys_kmsg *k)
{
	const char	*p = rec, *end = rec + len, *semi, *nl;
	uint64_t	 prio;

	memset(k, 0, sizeof(*k));
	if ((semi = memchr(rec, ';', len)) == NULL)
		return (-1);
	/* usec ends at ',' (flags follow) or, in old kernels, at ';'. */
	if (dec_field(&p, semi, ",", &prio) == -1 ||
	    dec_field(&p, semi, ",", &k->seq) == -1 ||
	    dec_field(&p, semi + 1, ",;", &k->usec) == -1)
		return (-1);
	if (prio > 0xffffff)
		return (-1);
	k->facility = (int)(prio >> 3);
	k->level = (int)(prio & 7);
	k->msg = semi + 1;
	nl = memchr(k->msg, '\n', (size_t)(end - k->msg));
	k->msglen = (size_t)((nl != NULL ? nl : end) - k->msg);
	return (0);
}

/* The value of "key N" in a file of such lines.  Returns 0 or -1. */
int
sys_kv_parse(const char *buf, size_t len, const char *key, uint64_t *out)
{
	const char	*p = buf, *end = buf + len, *nl, *q;
	size_t		 kl = strlen(key);
	uint64_t	 v;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > kl + 1 && memcmp(p, key, kl) == 0 &&
		    p[kl] == ' ') {
			q = p + kl + 1;
			while (q < nl && *q == ' ')
				q++;
			v = 0;
			if (q == nl)
				return (-1);
			for (; q < nl && isdigit((unsigned char)*q); q++) {
				if (v > (UINT64_MAX - 9) / 10)
					return (-1);
				v = v * 10 + (uint64_t)(*q - '0');
			}
			if (q != nl && *q != ' ' && *q != '\r')
				return (-1);
			*out = v;
			return (0);
		}
		p = nl + 1;
	}
	return (-1);
}

/*
 * The path of a cgroup hierarchy in /proc/<pid>/cgroup, whose lines are
 * "id:controllers:path"; controller "" asks for the v2 line ("0::/x").
 * Returns 0, or -1 when there is none or it does not fit.
 */
int
sys_cgroup_parse(const char *buf, size_t len, const char *controller,
    char *out, size_t outlen)
{
	const char	*p = buf, *end = buf + len, *nl, *c1, *c2, *c, *comma;
	size_t		 cl = strlen(controller), n;
	int		 found;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		c1 = memchr(p, ':', (size_t)(nl - p));
		c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) :
		    NULL;
		found = 0;
		if (c2 != NULL && cl == 0)
			found = c1 - p == 1 && *p == '0' && c2 == c1 + 1;
		else if (c2 != NULL) {
			for (c = c1 + 1; c < c2; c = comma + 1) {
				comma = memchr(c, ',', (size_t)(c2 - c));
				if (comma == NULL)
					comma = c2;
				if ((size_t)(comma - c) == cl &&
				    memcmp(c, controller, cl) == 0) {
					found = 1;
					break;
				}
			}
		}
		if (found) {
			n = (size_t)(nl - c2 - 1);
			if (n == 0 || n >= outlen || c2[1] != '/' ||
			    memchr(c2 + 1, '\0', n) != NULL)
				return (-1);
			memcpy(out, c2 + 1, n);
			out[n] = '\0';
			return (0);
		}
		p = nl + 1;
	}
	return (-1);
}

/* Copy a mountinfo field, undoing its octal escapes (\040). */
static int
mount_field(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (o + 1 >= outlen)
			return (-1);
		if (s[i] == '\\' && i + 3 < n &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)((s[i + 1] - '0') * 64 +
			    (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (0);
}

/*
 * One line of /proc/self/mountinfo:
 *   id parent maj:min root point options [optional...] - fstype source super
 * Returns 0 or -1.
 */
int
sys_mountinfo_parse(const char *line, size_t len, struct sys_mount *m)
{
	const char	*f[64], *p = line, *end = line + len;
	size_t		 fl[64], n = 0, i, dash;

	memset(m, 0, sizeof(*m));
	while (p < end && n < 64) {
		while (p < end && (*p == ' ' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		f[n] = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		fl[n] = (size_t)(p - f[n]);
		n++;
	}
	for (dash = 6; dash < n; dash++)
		if (fl[dash] == 1 && f[dash][0] == '-')
			break;
	if (n < 10 || dash + 3 >= n)
		return (-1);
	for (i = 0; i < fl[0]; i++)
		if (!isdigit((unsigned char)f[0][i]))
			return (-1);
	if (mount_field(f[3], fl[3], m->root, sizeof(m->root)) == -1 ||
	    mount_field(f[4], fl[4], m->point, sizeof(m->point)) == -1 ||
	    mount_field(f[dash + 1], fl[dash + 1], m->fstype,
	    sizeof(m->fstype)) == -1)
		return (-1);
	if (mount_field(f[dash + 3], fl[dash + 3], m->super,
	    sizeof(m->super)) == -1)
		return (-1);
	return (0);
}

/* The length of the UTF-8 sequence at s (1-4), or 0 if it is invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t		 n, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return (0);
	if (len < n)
		return (0);
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return (0);
	return (n);
}

/*
 * Copy at most outlen - 1 bytes of s as valid UTF-8 (for JSON): invalid
 * bytes and control characters become '?', and a multi-byte character is
 * never cut.  Returns the length written; out is NUL-terminated.
 */
size_t
sys_utf8_clean(const char *s, size_t len, char *out, size_t outlen)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n;

	if (outlen == 0)
		return (0);
	while (i < len && o + 1 < outlen) {
		n = utf8_seq(u + i, len - i);
		if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			out[o++] = u[i] == '\t' ? ' ' : '?';
			i++;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, u + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return (o);
}

/*
 * A POSIX ERE with \d and \D (Perl, used by eoskeeper's patterns) rewritten
 * as bracket expressions outside brackets; glibc knows \w \s \b already.
 */
char *
sys_regex_translate(const char *re)
{
	size_t	 len = strlen(re), o = 0, i;
	char	*out;
	int	 in_bracket = 0, first = 0;

	out = xmalloc(len * 6 + 1);
	for (i = 0; i < len; i++) {
		if (in_bracket) {
			if (re[i] == '[' && i + 1 < len && (re[i + 1] == ':' ||
			    re[i + 1] == '.' || re[i + 1] == '=')) {
				/* [:alpha:] inside a bracket: copy through */
				const char	*e;
				char		 term[3];

				term[0] = re[i + 1];
				term[1] = ']';
				term[2] = '\0';

				e = strstr(re + i + 2, term);
				if (e != NULL) {
					memcpy(out + o, re + i,
					    (size_t)(e + 2 - (re + i)));
					o += (size_t)(e + 2 - (re + i));
					i = (size_t)(e + 1 - re);
					first = 0;
					continue;
				}
			}
			if (re[i] == ']' && !first)
				in_bracket = 0;
			first = 0;
			out[o++] = re[i];
			continue;
		}
		if (re[i] == '\\' && i + 1 < len) {
			if (re[i + 1] == 'd' || re[i + 1] == 'D') {
				o += (size_t)sprintf(out + o, "%s",
				    re[i + 1] == 'd' ? "[0-9]" : "[^0-9]");
			} else {
				out[o++] = re[i];
				out[o++] = re[i + 1];
			}
			i++;
			continue;
		}
		if (re[i] == '[') {
			in_bracket = 1;
			first = 1;
			out[o++] = re[i];
			if (i + 1 < len && re[i + 1] == '^')
				out[o++] = re[++i];
			continue;
		}
		out[o++] = re[i];
	}
	out[o] = '\0';
	return (out);
}

static void
linebuf_add(struct sys_linebuf *lb, const char *s, size_t n)
{
	size_t	 max = lb->max != 0 ? lb->max : SYS_LINE_MAX, room;

	room = lb->len < max ? max - lb->len : 0;
	if (n > room) {
		n = room;
		lb->cut = 1;
	}
	if (n == 0)
		return;
	if (lb->len + n > lb->cap) {
		lb->cap = lb->len + n < 256 ? 256 : lb->len + n;
		if (lb->cap < max && lb->cap < lb->len * 2)
			lb->cap = lb->len * 2 < max ? lb->len * 2 : max;
		lb->buf = xreallocarray(lb->buf, lb->cap, 1);
	}
	memcpy(lb->buf + lb->len, s, n);
	lb->len += n;
}

static void
line_deliver(const char *s, size_t n, sys_line_cb cb, void *arg)
{
	if (n > 0 && s[n - 1] == '\r')
		n--;
	cb(arg, s, n);
}

/*
 * Feed bytes; cb gets each complete line (without its newline, at most
 * max bytes).  A line with no pending part is passed without a copy.
 */
void
sys_linebuf_feed(struct sys_linebuf *lb, const char *s, size_t n,
    sys_line_cb cb, void *arg)
{
	size_t		 max = lb->max != 0 ? lb->max : SYS_LINE_MAX, seg;
	const char	*nl;

	while (n > 0) {
		if ((nl = memchr(s, '\n', n)) == NULL) {
			linebuf_add(lb, s, n);
			return;
		}
		seg = (size_t)(nl - s);
		if (lb->len == 0 && !lb->cut)
			line_deliver(s, seg < max ? seg : max, cb, arg);
		else {
			linebuf_add(lb, s, seg);
			line_deliver(lb->buf, lb->len, cb, arg);
			lb->len = 0;
			lb->cut = 0;
		}
		n -= seg + 1;
		s = nl + 1;
	}
}

/* Deliver a pending partial line as a line (end of a file). */
void
sys_linebuf_flush(struct sys_linebuf *lb, sys_line_cb cb, void *arg)
{
	if (lb->len > 0 || lb->cut)
		line_deliver(lb->buf != NULL ? lb->buf : "", lb->len, cb, arg);
	lb->len = 0;
	lb->cut = 0;
}

void
sys_linebuf_clear(struct sys_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = 0;
	lb->cut = 0;
}

void
sys_tail_init(struct sys_tail *t, const char *path, int from_end)
{
	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	t->fd = -1;
	t->from_end = from_end;
}

void
sys_tail_close(struct sys_tail *t)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	sys_linebuf_clear(&t->lb);
	free(t->path);
	t->path = NULL;
}

/* Open the file: at its end the first time (from_end), else at 0. */
static int
tail_open(struct sys_tail *t)
{
	struct stat	 st;
	int		 fd, e;

	memset(&st, 0, sizeof(st));
	if ((fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		if (!t->opened)
			t->missed = 1;
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		e = S_ISREG(st.st_mode) ? errno : EINVAL;
		close(fd);
		errno = e;
		return (-1);
	}
	t->fd = fd;
	t->siglen = 0;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->off = !t->opened && !t->missed && t->from_end ? st.st_size : 0;
	t->opened = 1;
	return (0);
}

/* Read to the end or to the budget.  Returns 1 at the end, 0 if not. */
static int
tail_drain(struct sys_tail *t, size_t *budget, sys_line_cb cb, void *arg)
{
	static char	 buf[TAIL_CHUNK];
	ssize_t		 n;
	size_t		 want;

	while (*budget > 0) {
		want = *budget < sizeof(buf) ? *budget : sizeof(buf);
		n = pread(t->fd, buf, want, t->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (1);
		t->off += n;
		t->bytes += (uint64_t)n;
		*budget -= (size_t)n;
		sys_linebuf_feed(&t->lb, buf, (size_t)n, cb, arg);
	}
	return (0);
}

/* Remember the last bytes read, to notice a rewrite of the file later. */
static void
tail_sign(struct sys_tail *t)
{
	ssize_t	 n;
	size_t	 want = t->off < (off_t)sizeof(t->sig) ? (size_t)t->off :
	    sizeof(t->sig);

	n = want > 0 ? pread(t->fd, t->sig, want, t->off - (off_t)want) : 0;
	t->siglen = n > 0 ? (size_t)n : 0;
}

/*
 * Whether the bytes before the offset changed: the file was truncated
 * and written again (copytruncate), even up to or past the old size.
 */
static int
tail_rewritten(struct sys_tail *t)
{
	char	 buf[sizeof(t->sig)];

	if (t->siglen == 0)
		return (0);
	return (pread(t->fd, buf, t->siglen, t->off - (off_t)t->siglen) !=
	    (ssize_t)t->siglen || memcmp(buf, t->sig, t->siglen) != 0);
}

/*
 * Deliver the lines added since the last call, reading at most max bytes.
 * A file renamed away is read to its end before the new one is opened
 * (from its start); a file truncated in place is read again from 0.
 * Returns 0, or -1 with errno when no file is open and the path cannot be
 * opened.
 */
int
sys_tail_read(struct sys_tail *t, size_t max, sys_line_cb cb, void *arg)
{
	struct stat	 st, pst;
	size_t		 budget = max;
	int		 round, done;

	t->behind = 0;
	for (round = 0; round < 4; round++) {
		if (t->fd == -1 && tail_open(t) == -1)
			return (-1);
		if (tail_rewritten(t)) {
			t->truncations++;
			t->lb.len = 0;
			t->lb.cut = 0;
			t->off = 0;
		}
		done = tail_drain(t, &budget, cb, arg);
		tail_sign(t);
		if (!done) {
			if (fstat(t->fd, &st) == 0 && st.st_size > t->off)
				t->behind = (uint64_t)(st.st_size - t->off);
			return (0);
		}
		if (stat(t->path, &pst) == -1)
			return (0);	/* renamed away, no new file yet */
		if (pst.st_dev != t->dev || pst.st_ino != t->ino) {
			sys_linebuf_flush(&t->lb, cb, arg);
			close(t->fd);
			t->fd = -1;
			t->rotations++;
			continue;
		}
		if (fstat(t->fd, &st) == 0 && st.st_size < t->off) {
			t->truncations++;
			t->lb.len = 0;
			t->lb.cut = 0;
			t->off = 0;
			t->siglen = 0;
			continue;
		}
		return (0);
	}
	return (0);
}
