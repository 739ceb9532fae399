/*
 * Unit tests for probes/probe-sys.c: the /proc/net/tcp, OOM-killer line,
 * /dev/kmsg record, cgroup, mountinfo and "key value" parsers, the regex
 * rewriter, UTF-8 cleaning, the line splitter and the file tailer.  Every
 * parser also gets garbage, truncated and huge input.
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

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe-sys.h"

/* Parse a NUL-terminated tcp line. */
static int
tcp(const char *s, struct sys_tcp *t)
{
	return (sys_tcp_parse(s, strlen(s), t));
}

static void
test_tcp_v4(void **state)
{
	struct sys_tcp	 t;
	char		 buf[64];

	(void)state;
	assert_int_equal(tcp("  sl  local_address rem_address   st tx_queue "
	    "rx_queue tr tm->when retrnsmt   uid  timeout inode\n", &t), -1);
	/* 127.0.0.1:8080 <- 127.0.0.1:45678, established, inode 123456. */
	assert_int_equal(tcp("   3: 0100007F:1F90 0100007F:B26E 01 "
	    "00000000:00000000 00:00000000 00000000  1000        0 123456 1 "
	    "0000000000000000 20 4 30 10 -1\n", &t), 0);
	assert_int_equal(t.family, AF_INET);
	assert_int_equal(t.lport, 8080);
	assert_int_equal(t.rport, 45678);
	assert_int_equal(t.state, SYS_TCP_ESTABLISHED);
	assert_true(t.inode == 123456);
	assert_string_equal(sys_tcp_addr(t.family, t.laddr, t.lport, buf,
	    sizeof(buf)), "127.0.0.1:8080");
	/* A listener: 0.0.0.0:9876, state 0A. */
	assert_int_equal(tcp("   0: 00000000:2694 00000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 22389 1 "
	    "0000000000000000 100 0 0 10 0", &t), 0);
	assert_int_equal(t.state, SYS_TCP_LISTEN);
	assert_int_equal(t.lport, 9876);
	/* 172.16.0.5 (0500 10AC on little endian). */
	assert_int_equal(tcp("1: 050010AC:2694 0A0A0A0A:D431 01 0:0 0:0 0 0 0 "
	    "99999999999", &t), 0);
	assert_string_equal(sys_tcp_addr(t.family, t.laddr, t.lport, buf,
	    sizeof(buf)), "172.16.0.5:9876");
	assert_string_equal(sys_tcp_addr(t.family, t.raddr, t.rport, buf,
	    sizeof(buf)), "10.10.10.10:54321");
	assert_true(t.inode == 99999999999ULL);
}

static void
test_tcp_v6(void **state)
{
	struct sys_tcp	 t;
	char		 buf[80];

	(void)state;
	/* [::1]:8888 <- [::1]:40000 */
	assert_int_equal(tcp("   0: 00000000000000000000000001000000:22B8 "
	    "00000000000000000000000001000000:9C40 01 00000000:00000000 "
	    "00:00000000 00000000     0        0 424242 1 0000000000000000 "
	    "20 4 0 10 -1", &t), 0);
	assert_int_equal(t.family, AF_INET6);
	assert_int_equal(t.lport, 8888);
	assert_int_equal(t.rport, 40000);
	assert_string_equal(sys_tcp_addr(t.family, t.laddr, t.lport, buf,
	    sizeof(buf)), "[::1]:8888");
	/* ::ffff:127.0.0.1 */
	assert_int_equal(tcp("   1: 0000000000000000FFFF00000100007F:22B8 "
	    "0000000000000000FFFF00000100007F:9C41 01 0:0 0:0 0 0 0 7", &t),
	    0);
	assert_string_equal(sys_tcp_addr(t.family, t.raddr, t.rport, buf,
	    sizeof(buf)), "[::ffff:127.0.0.1]:40001");
}

static void
test_tcp_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"0:",
		"   3: 0100007F:1F90 0100007F:B26E 01",
		"   3: 0100007F:1F90 0100007F:B26E 01 0 0 0 0 0",
		"   3: 0100007G:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F9 0100007F:B26E 01 0:0 0:0 0 0 0 1",
		"   3: 0100007F-1F90 0100007F:B26E 01 0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F90 00000000000000000000000001000000:9C40 01 "
		    "0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F90 0100007F:B26E 00 0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F90 0100007F:B26E FF 0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F90 0100007F:B26E 1 0:0 0:0 0 0 0 1",
		"   3: 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 -1",
		"   3: 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 12x",
		"   3: 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 "
		    "99999999999999999999999",
		"x3: 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 1",
		"3 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 1",
	};
	struct sys_tcp	 t;
	char		 huge[4096];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tcp(bad[i], &t) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
	/* An embedded NUL, and a line longer than any real one. */
	assert_int_equal(sys_tcp_parse("3: 0100007F:1F90\0 0100007F:B26E 01 "
	    "0:0 0:0 0 0 0 1", 47, &t), -1);
	memset(huge, ' ', sizeof(huge));
	memcpy(huge + 3000, "3: 0100007F:1F90 0100007F:B26E 01 0:0 0:0 0 0 0 "
	    "1", 50);
	assert_int_equal(sys_tcp_parse(huge, sizeof(huge), &t), -1);
	/* Not NUL-terminated: the parser stops at len. */
	assert_int_equal(sys_tcp_parse("3: 0100007F:1F90 0100007F:B26E 01 0:0 "
	    "0:0 0 0 0 12345", 49, &t), 0);
	assert_true(t.inode == 1);
}

static void
test_diag_request(void **state)
{
	union {
		struct nlmsghdr	 h;
		char		 b[256];
	}			 u;
	struct inet_diag_req_v2	*r;
	struct rtattr		*rta;
	struct inet_diag_bc_op	*op;
	size_t			 len;

	(void)state;
	/* No filter: the request alone. */
	len = sys_diag_request(&u, sizeof(u), AF_INET, 0, 0, 7);
	assert_int_equal(len, NLMSG_LENGTH(sizeof(*r)));
	assert_int_equal(u.h.nlmsg_len, len);
	assert_int_equal(u.h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
	assert_int_equal(u.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(u.h.nlmsg_seq, 7);
	r = NLMSG_DATA(&u.h);
	assert_int_equal(r->sdiag_family, AF_INET);
	assert_int_equal(r->sdiag_protocol, IPPROTO_TCP);
	assert_int_equal(r->idiag_states, 1U << 1);
	/* Local 8080 and remote 9876: four tests of two ops each. */
	len = sys_diag_request(&u, sizeof(u), AF_INET6, 8080, 9876, 8);
	assert_int_equal(len, NLMSG_LENGTH(sizeof(*r)) + RTA_SPACE(32));
	rta = (struct rtattr *)(u.b + NLMSG_LENGTH(sizeof(*r)));
	assert_int_equal(rta->rta_type, INET_DIAG_REQ_BYTECODE);
	assert_int_equal(rta->rta_len, RTA_LENGTH(32));
	op = RTA_DATA(rta);
	assert_int_equal(op[0].code, INET_DIAG_BC_S_GE);
	assert_int_equal(op[0].yes, 8);
	assert_int_equal(op[0].no, 36);
	assert_int_equal(op[1].no, 8080);
	assert_int_equal(op[2].code, INET_DIAG_BC_S_LE);
	assert_int_equal(op[2].no, 28);
	assert_int_equal(op[4].code, INET_DIAG_BC_D_GE);
	assert_int_equal(op[5].no, 9876);
	assert_int_equal(op[6].code, INET_DIAG_BC_D_LE);
	assert_int_equal(op[6].no, 12);
	/* Too small a buffer. */
	assert_int_equal(sys_diag_request(&u, 20, AF_INET, 1, 0, 1), 0);
}

struct diag_seen {
	struct sys_tcp	 t[4];
	int		 n;
};

static void
diag_cb(void *arg, const struct sys_tcp *t)
{
	struct diag_seen	*d = arg;

	if (d->n < 4)
		d->t[d->n] = *t;
	d->n++;
}

/* Append one netlink message to a reply being built. */
static size_t
nl_add(char *buf, size_t off, uint16_t type, uint32_t seq, const void *data,
    size_t len)
{
	struct nlmsghdr	*h = (struct nlmsghdr *)(buf + off);

	memset(h, 0, NLMSG_SPACE(len));
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_seq = seq;
	memcpy(NLMSG_DATA(h), data, len);
	return (off + NLMSG_SPACE(len));
}

static void
test_diag_parse(void **state)
{
	union {
		struct nlmsghdr	 h;
		char		 b[2048];
	}			 u;
	struct inet_diag_msg	 m;
	struct nlmsgerr		 e;
	struct diag_seen	 d;
	uint32_t		 done = 0;
	size_t			 off = 0;
	char			 buf[64];

	(void)state;
	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET;
	m.idiag_state = 1;
	m.id.idiag_sport = htons(9876);
	m.id.idiag_dport = htons(40000);
	inet_pton(AF_INET, "172.16.0.5", m.id.idiag_src);
	inet_pton(AF_INET, "10.1.2.3", m.id.idiag_dst);
	m.idiag_inode = 4242;
	off = nl_add(u.b, off, SOCK_DIAG_BY_FAMILY, 5, &m, sizeof(m));
	/* Another request's message is skipped. */
	off = nl_add(u.b, off, SOCK_DIAG_BY_FAMILY, 4, &m, sizeof(m));
	m.idiag_family = AF_INET6;
	inet_pton(AF_INET6, "fd00::1", m.id.idiag_src);
	inet_pton(AF_INET6, "fd00::2", m.id.idiag_dst);
	off = nl_add(u.b, off, SOCK_DIAG_BY_FAMILY, 5, &m, sizeof(m));
	memset(&d, 0, sizeof(d));
	assert_int_equal(sys_diag_parse(&u, off, 5, diag_cb, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.t[0].family, AF_INET);
	assert_int_equal(d.t[0].lport, 9876);
	assert_int_equal(d.t[0].rport, 40000);
	assert_true(d.t[0].inode == 4242);
	assert_string_equal(sys_tcp_addr(d.t[0].family, d.t[0].laddr,
	    d.t[0].lport, buf, sizeof(buf)), "172.16.0.5:9876");
	assert_string_equal(sys_tcp_addr(d.t[1].family, d.t[1].raddr,
	    d.t[1].rport, buf, sizeof(buf)), "[fd00::2]:40000");
	/* The end. */
	off = nl_add(u.b, off, NLMSG_DONE, 5, &done, sizeof(done));
	memset(&d, 0, sizeof(d));
	assert_int_equal(sys_diag_parse(&u, off, 5, diag_cb, &d), 1);
	assert_int_equal(d.n, 2);
	/* An error reply. */
	memset(&e, 0, sizeof(e));
	e.error = -EPERM;
	off = nl_add(u.b, 0, NLMSG_ERROR, 5, &e, sizeof(e));
	assert_int_equal(sys_diag_parse(&u, off, 5, diag_cb, &d), -1);
	assert_int_equal(errno, EPERM);
	/* Truncated: the header claims more than there is. */
	off = nl_add(u.b, 0, SOCK_DIAG_BY_FAMILY, 5, &m, sizeof(m));
	assert_int_equal(sys_diag_parse(&u, off - 8, 5, diag_cb, &d), -1);
	assert_int_equal(errno, EBADMSG);
	/* A length below the header's own. */
	u.h.nlmsg_len = 3;
	assert_int_equal(sys_diag_parse(&u, off, 5, diag_cb, &d), -1);
	/* A message too short for an inet_diag_msg is skipped. */
	off = nl_add(u.b, 0, SOCK_DIAG_BY_FAMILY, 5, &m, 8);
	memset(&d, 0, sizeof(d));
	assert_int_equal(sys_diag_parse(&u, off, 5, diag_cb, &d), 0);
	assert_int_equal(d.n, 0);
	/* Fewer bytes than a header. */
	assert_int_equal(sys_diag_parse(&u, 10, 5, diag_cb, &d), 0);
	assert_int_equal(sys_diag_parse(&u, 0, 5, diag_cb, &d), 0);
}

static void
test_net(void **state)
{
	struct sys_net	 n;
	uint8_t		 a[16];

	(void)state;
	assert_int_equal(sys_net_parse("172.16.0.0/12", &n), 0);
	inet_pton(AF_INET, "172.20.1.2", a);
	assert_true(sys_net_match(&n, AF_INET, a));
	inet_pton(AF_INET, "172.32.1.2", a);
	assert_false(sys_net_match(&n, AF_INET, a));
	/* A v4-mapped v6 socket matches a v4 network. */
	inet_pton(AF_INET6, "::ffff:172.16.9.9", a);
	assert_true(sys_net_match(&n, AF_INET6, a));
	inet_pton(AF_INET6, "fd00::1", a);
	assert_false(sys_net_match(&n, AF_INET6, a));
	assert_int_equal(sys_net_parse("fd00::/8", &n), 0);
	assert_true(sys_net_match(&n, AF_INET6, a));
	assert_int_equal(sys_net_parse("10.1.2.3", &n), 0);
	assert_int_equal(n.bits, 32);
	assert_int_equal(sys_net_parse("0.0.0.0/0", &n), 0);
	assert_true(sys_net_match(&n, AF_INET, a + 12));
	assert_int_equal(sys_net_parse("10.0.0.0/33", &n), -1);
	assert_int_equal(sys_net_parse("10.0.0.0/", &n), -1);
	assert_int_equal(sys_net_parse("10.0.0.0/-1", &n), -1);
	assert_int_equal(sys_net_parse("10.0.0/8", &n), -1);
	assert_int_equal(sys_net_parse("lan", &n), -1);
	assert_int_equal(sys_net_parse("::/129", &n), -1);
	assert_int_equal(sys_net_parse("", &n), -1);
}

static int
oom(const char *s, int need_kernel, struct sys_oom *o)
{
	return (sys_oom_parse(s, strlen(s), need_kernel, o));
}

static void
test_oom_lines(void **state)
{
	struct sys_oom	 o;

	(void)state;
	/* chain-apis.md section 4, as syslog has it. */
	assert_int_equal(oom("Mar  1 12:00:00 node1 kernel: [123456.789] Out "
	    "of memory: Killed process 4567 (raptoreumd) total-vm:8123456kB, "
	    "anon-rss:5234567kB, file-rss:0kB, shmem-rss:0kB, UID:1000 "
	    "pgtables:11264kB oom_score_adj:0", 1, &o), 1);
	assert_int_equal(o.pid, 4567);
	assert_string_equal(o.name, "raptoreumd");
	assert_true(o.killed);
	assert_false(o.memcg);
	/* As /dev/kmsg has it on this kind of kernel (cgroup limit). */
	assert_int_equal(oom("Memory cgroup out of memory: Killed process "
	    "13493 (python3) total-vm:323768kB, anon-rss:65280kB, "
	    "file-rss:6448kB, shmem-rss:0kB, UID:0 pgtables:188kB "
	    "oom_score_adj:0", 0, &o), 1);
	assert_int_equal(o.pid, 13493);
	assert_string_equal(o.name, "python3");
	assert_true(o.memcg);
	/* Older kernels: the chosen process, then the victim. */
	assert_int_equal(oom("Out of memory: Kill process 812 (nodeos) score "
	    "912 or sacrifice child", 0, &o), 1);
	assert_false(o.killed);
	assert_int_equal(o.pid, 812);
	assert_string_equal(o.name, "nodeos");
	assert_int_equal(oom("Killed process 813 (nodeos-child) total-vm:1kB",
	    0, &o), 1);
	assert_true(o.killed);
	assert_int_equal(o.pid, 813);
	/* A name with spaces and parentheses; a name alone at the end. */
	assert_int_equal(oom("Out of memory: Killed process 77 (Web (Con)tent) "
	    "total-vm:1kB", 0, &o), 1);
	assert_string_equal(o.name, "Web (Con)tent");
	assert_int_equal(oom("Out of memory: Killed process 78 (a b)", 0, &o),
	    1);
	assert_string_equal(o.name, "a b");
	assert_int_equal(oom("Killed process 79 (x), UID:0", 0, &o), 1);
	assert_string_equal(o.name, "x");
	/* Not kills. */
	assert_int_equal(oom("oom_reaper: reaped process 4567 (raptoreumd), "
	    "now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", 0, &o), 0);
	assert_int_equal(oom("python3 invoked oom-killer: gfp_mask=0xcc0", 0,
	    &o), 0);
	assert_int_equal(oom("", 0, &o), 0);
}

static void
test_oom_syslog_kernel_tag(void **state)
{
	struct sys_oom	 o;

	(void)state;
	/* Anyone can log this text: in a syslog file, only the kernel's. */
	assert_int_equal(oom("Mar  1 12:00:00 node1 myapp[12]: Out of memory: "
	    "Killed process 4567 (raptoreumd) total-vm:1kB", 1, &o), 0);
	assert_int_equal(oom("Mar  1 12:00:00 node1 notkernel: Out of memory: "
	    "Killed process 4567 (raptoreumd) total-vm:1kB", 1, &o), 0);
	assert_int_equal(oom("2024-03-01T12:00:00.123+00:00 node1 kernel: Out "
	    "of memory: Killed process 4567 (raptoreumd) total-vm:1kB", 1,
	    &o), 1);
	assert_int_equal(oom("<3>1 2024-03-01T12:00:00Z node1 kernel - - - "
	    "Out of memory: Killed process 4567 (raptoreumd)", 1, &o), 1);
	/* kernel after the match does not count. */
	assert_int_equal(oom("Out of memory: Killed process 4567 (x) kernel: "
	    "y", 1, &o), 0);
	assert_int_equal(oom("kernel: Killed process 4567 (x)", 1, &o), 1);
}

static void
test_oom_garbage(void **state)
{
	static const char *const bad[] = {
		"Killed process",
		"Killed process ",
		"Killed process x (y)",
		"Killed process 12",
		"Killed process 12 ",
		"Killed process 12 (",
		"Killed process 12 (abc",
		"Killed process 12(abc)",
		"Killed process 0 (abc)",
		"Killed process -5 (abc)",
		"Killed process 99999999999 (abc)",
		"Killed process 2147483648 (abc)",
		"Killed process 12 (abc)x",
	};
	struct sys_oom	 o;
	char		 big[400];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (oom(bad[i], 0, &o) != 0)
			fail_msg("accepted: \"%s\" (pid %ld, name \"%s\")",
			    bad[i], (long)o.pid, o.name);
	assert_int_equal(oom("Killed process 2147483647 (abc)", 0, &o), 1);
	/* A name longer than any comm: cut, still a kill. */
	snprintf(big, sizeof(big), "Killed process 5 (%0300d) total-vm:1kB",
	    0);
	assert_int_equal(oom(big, 0, &o), 0);
	snprintf(big, sizeof(big), "Killed process 5 (%050d) total-vm:1kB", 0);
	assert_int_equal(oom(big, 0, &o), 1);
	assert_int_equal(strlen(o.name), 50);
	/* The length bounds the search: the ")" past it is not seen. */
	assert_int_equal(sys_oom_parse("Killed process 5 (abc)", 21, 0, &o),
	    0);
	/* Embedded NUL in the name. */
	assert_int_equal(sys_oom_parse("Killed process 5 (a\0c) total-vm:1", 33,
	    0, &o), 1);
	assert_string_equal(o.name, "a?c");
}

static void
test_kmsg(void **state)
{
	struct sys_kmsg	 k;
	const char	*r;

	(void)state;
	r = "3,424,947191028,-;Memory cgroup out of memory: Killed process "
	    "13493 (python3) total-vm:323768kB\n";
	assert_int_equal(sys_kmsg_parse(r, strlen(r), &k), 0);
	assert_int_equal(k.facility, 0);
	assert_int_equal(k.level, 3);
	assert_true(k.seq == 424);
	assert_true(k.usec == 947191028);
	assert_int_equal(k.msglen, strlen(r) - 19);
	assert_memory_equal(k.msg, "Memory cgroup", 13);
	/* Continuation lines are not part of the message. */
	r = "6,339,5140900,-,caller=T1;usb 1-1: new device\n SUBSYSTEM=usb\n "
	    "DEVICE=c189:1\n";
	assert_int_equal(sys_kmsg_parse(r, strlen(r), &k), 0);
	assert_int_equal(k.msglen, strlen("usb 1-1: new device"));
	/* Written by root to /dev/kmsg: facility user. */
	r = "11,345,932602114,-;Out of memory: Killed process 9 (t)\n";
	assert_int_equal(sys_kmsg_parse(r, strlen(r), &k), 0);
	assert_int_equal(k.facility, 1);
	assert_int_equal(k.level, 3);
	/* Older kernels: no flags field. */
	r = "6,1,2;hello";
	assert_int_equal(sys_kmsg_parse(r, strlen(r), &k), 0);
	assert_int_equal(k.msglen, 5);
	assert_int_equal(sys_kmsg_parse("", 0, &k), -1);
	assert_int_equal(sys_kmsg_parse(";x", 2, &k), -1);
	assert_int_equal(sys_kmsg_parse("6,1;x", 5, &k), -1);
	assert_int_equal(sys_kmsg_parse("a,1,2,-;x", 9, &k), -1);
	assert_int_equal(sys_kmsg_parse("6,1,2,-", 7, &k), -1);
	assert_int_equal(sys_kmsg_parse("99999999999999999999999,1,2,-;x",
	    31, &k), -1);
	assert_int_equal(sys_kmsg_parse("6,1,2,-;", 8, &k), 0);
	assert_int_equal(k.msglen, 0);
}

static void
test_kv(void **state)
{
	const char	*ev = "low 0\nhigh 12\nmax 3\noom 2\noom_kill 1\n"
	    "oom_group_kill 0\n";
	const char	*v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 7";
	uint64_t	 v = 99;

	(void)state;
	assert_int_equal(sys_kv_parse(ev, strlen(ev), "oom_kill", &v), 0);
	assert_true(v == 1);
	assert_int_equal(sys_kv_parse(ev, strlen(ev), "oom", &v), 0);
	assert_true(v == 2);
	/* oom_kill_disable is not oom_kill. */
	assert_int_equal(sys_kv_parse(v1, strlen(v1), "oom_kill", &v), 0);
	assert_true(v == 7);
	assert_int_equal(sys_kv_parse(ev, strlen(ev), "nope", &v), -1);
	assert_int_equal(sys_kv_parse("oom_kill x\n", 11, "oom_kill", &v), -1);
	assert_int_equal(sys_kv_parse("oom_kill \n", 10, "oom_kill", &v), -1);
	assert_int_equal(sys_kv_parse("oom_kill 99999999999999999999999", 32,
	    "oom_kill", &v), -1);
	assert_int_equal(sys_kv_parse("", 0, "oom_kill", &v), -1);
	/* Bounded by len. */
	assert_int_equal(sys_kv_parse("oom_kill 12", 10, "oom_kill", &v), 0);
	assert_true(v == 1);
}

static void
test_cgroup(void **state)
{
	const char	*c = "12:pids:/system.slice/nodeos.service\n"
	    "4:memory:/process_api/35eae29a\n"
	    "2:cpu,cpuacct:/x\n"
	    "1:name=systemd:/system.slice/nodeos.service\n"
	    "0::/system.slice/nodeos.service\n";
	char		 out[256];

	(void)state;
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "", out, sizeof(out)),
	    0);
	assert_string_equal(out, "/system.slice/nodeos.service");
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "memory", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/process_api/35eae29a");
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "cpuacct", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "cpuset", out,
	    sizeof(out)), -1);
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "mem", out,
	    sizeof(out)), -1);
	assert_int_equal(sys_cgroup_parse(c, strlen(c), "", out, 5), -1);
	assert_int_equal(sys_cgroup_parse("0::\n", 4, "", out, sizeof(out)),
	    -1);
	assert_int_equal(sys_cgroup_parse("0::x\n", 5, "", out, sizeof(out)),
	    -1);
	assert_int_equal(sys_cgroup_parse("garbage", 7, "", out, sizeof(out)),
	    -1);
	assert_int_equal(sys_cgroup_parse("0:/", 3, "", out, sizeof(out)), -1);
	assert_int_equal(sys_cgroup_parse("", 0, "", out, sizeof(out)), -1);
}

static void
test_mountinfo(void **state)
{
	struct sys_mount	 m;
	const char		*l;

	(void)state;
	l = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime "
	    "shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), 0);
	assert_string_equal(m.point, "/sys/fs/cgroup");
	assert_string_equal(m.fstype, "cgroup2");
	assert_string_equal(m.root, "/");
	l = "40 30 0:35 /process_api /sys/fs/cgroup/memory rw,relatime - "
	    "cgroup cgroup rw,memory";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), 0);
	assert_string_equal(m.fstype, "cgroup");
	assert_string_equal(m.super, "rw,memory");
	assert_string_equal(m.root, "/process_api");
	l = "41 30 0:36 / /mnt/with\\040space rw - ext4 /dev/sda1 rw";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), 0);
	assert_string_equal(m.point, "/mnt/with space");
	assert_int_equal(sys_mountinfo_parse("", 0, &m), -1);
	l = "41 30 0:36 / /mnt rw ext4 /dev/sda1 rw";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), -1);
	l = "41 30 0:36 / /mnt rw - ext4";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), -1);
	l = "x 30 0:36 / /mnt rw - ext4 /dev/sda1 rw";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), -1);
	l = "41 30 0:36 / /mnt\\ rw - ext4 /dev/sda1 rw";
	assert_int_equal(sys_mountinfo_parse(l, strlen(l), &m), 0);
	assert_string_equal(m.point, "/mnt\\");
}

static void
test_regex_translate(void **state)
{
	static const char *const cases[][2] = {
		{ "abc", "abc" },
		{ "(#\\d+)", "(#[0-9]+)" },
		{ "\\D", "[^0-9]" },
		{ "\\\\d", "\\\\d" },
		{ "[\\d]", "[\\d]" },
		{ "[]\\d]\\d", "[]\\d][0-9]" },
		{ "[^]x]\\d", "[^]x][0-9]" },
		{ "[[:digit:]]\\d", "[[:digit:]][0-9]" },
		{ "\\w+\\s", "\\w+\\s" },
		{ "trailing\\", "trailing\\" },
		{ "[unclosed\\d", "[unclosed\\d" },
	};
	regex_t		 re;
	size_t		 i;
	char		*t;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = sys_regex_translate(cases[i][0]);
		if (strcmp(t, cases[i][1]) != 0)
			fail_msg("\"%s\" -> \"%s\", want \"%s\"", cases[i][0],
			    t, cases[i][1]);
		free(t);
	}
	/* eoskeeper's pattern, verbatim. */
	t = sys_regex_translate(".*producer_plugin.cpp.*] Produced block "
	    ".* (#\\d+) @.*");
	assert_int_equal(regcomp(&re, t, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, "info  2024-03-01T12:00:00.500 nodeos  "
	    "  producer_plugin.cpp:2480      produce_block        ] Produced "
	    "block 0a1b2c3d4e5f6a7b... #123456789 @ 2024-03-01T12:00:00.500 "
	    "signed by eosstorebest [trxs: 0, lib: 123456450, confirmed: 240]",
	    0, NULL, 0), 0);
	assert_int_equal(regexec(&re, "info producer_plugin.cpp:1 ] Produced "
	    "block 0a1b... #x @ now", 0, NULL, 0), REG_NOMATCH);
	regfree(&re);
	free(t);
}

static void
test_utf8_clean(void **state)
{
	char	 out[16];

	(void)state;
	assert_int_equal(sys_utf8_clean("plain", 5, out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	sys_utf8_clean("a\x01" "b\x7f\xff\xc3", 6, out, sizeof(out));
	assert_string_equal(out, "a?b???");
	sys_utf8_clean("tab\there", 8, out, sizeof(out));
	assert_string_equal(out, "tab here");
	/* "出块" is 6 bytes: 5 bytes of room keep only the first char. */
	sys_utf8_clean("\xe5\x87\xba\xe5\x9d\x97", 6, out, 6);
	assert_string_equal(out, "\xe5\x87\xba");
	/* Overlong, surrogate, beyond U+10FFFF. */
	sys_utf8_clean("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9, out,
	    sizeof(out));
	assert_string_equal(out, "?????????");
	assert_int_equal(sys_utf8_clean("abc", 3, out, 1), 0);
	assert_string_equal(out, "");
}

struct lines {
	char	 got[16][64];
	int	 n;
};

static void
line_cb(void *arg, const char *s, size_t len)
{
	struct lines	*l = arg;

	if (l->n < 16)
		snprintf(l->got[l->n], sizeof(l->got[0]), "%.*s", (int)len, s);
	l->n++;
}

static void
test_linebuf(void **state)
{
	struct sys_linebuf	 lb;
	struct lines		 l;

	(void)state;
	memset(&lb, 0, sizeof(lb));
	memset(&l, 0, sizeof(l));
	sys_linebuf_feed(&lb, "one\ntw", 6, line_cb, &l);
	sys_linebuf_feed(&lb, "o\r\nthr", 6, line_cb, &l);
	sys_linebuf_feed(&lb, "ee", 2, line_cb, &l);
	sys_linebuf_feed(&lb, "\n\n", 2, line_cb, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.got[0], "one");
	assert_string_equal(l.got[1], "two");
	assert_string_equal(l.got[2], "three");
	assert_string_equal(l.got[3], "");
	/* Long lines are cut at max, whether they come whole or in parts. */
	lb.max = 4;
	sys_linebuf_feed(&lb, "abcdefgh\nxy", 11, line_cb, &l);
	sys_linebuf_feed(&lb, "zzzzzz", 6, line_cb, &l);
	sys_linebuf_feed(&lb, "zz\nq", 4, line_cb, &l);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.got[4], "abcd");
	assert_string_equal(l.got[5], "xyzz");
	sys_linebuf_flush(&lb, line_cb, &l);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.got[6], "q");
	sys_linebuf_flush(&lb, line_cb, &l);
	assert_int_equal(l.n, 7);
	sys_linebuf_clear(&lb);
}

static void
append(const char *path, const char *s)
{
	FILE	*f = fopen(path, "a");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void
test_tail(void **state)
{
	char		 dir[] = "/tmp/ck-tail.XXXXXX", path[128], old[140];
	struct sys_tail	 t;
	struct lines	 l;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/node.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	append(path, "before the start\n");
	memset(&l, 0, sizeof(l));
	sys_tail_init(&t, path, 1);
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 0);
	append(path, "a1\na2\npart");
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.got[1], "a2");
	/* Rotation by rename: the old file's tail, then the new file. */
	append(path, "ial\nlast old\n");
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 4);
	append(path, "b1\n");
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.got[2], "partial");
	assert_string_equal(l.got[3], "last old");
	assert_string_equal(l.got[4], "b1");
	assert_int_equal(t.rotations, 1);
	/* Truncation in place (copytruncate). */
	assert_int_equal(truncate(path, 0), 0);
	append(path, "c1\n");
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.got[5], "c1");
	assert_int_equal(t.truncations, 1);
	/* The byte budget: the rest is read next time. */
	append(path, "d1\nd2\nd3\n");
	assert_int_equal(sys_tail_read(&t, 4, line_cb, &l), 0);
	assert_int_equal(l.n, 7);
	assert_true(t.behind == 5);
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 9);
	assert_string_equal(l.got[8], "d3");
	sys_tail_close(&t);

	/* A file that does not exist yet is read from its start. */
	unlink(old);
	unlink(path);
	memset(&l, 0, sizeof(l));
	sys_tail_init(&t, path, 1);
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), -1);
	append(path, "first\n");
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.got[0], "first");
	sys_tail_close(&t);
	/* Not a regular file. */
	sys_tail_init(&t, dir, 1);
	assert_int_equal(sys_tail_read(&t, 1 << 20, line_cb, &l), -1);
	sys_tail_close(&t);
	unlink(path);
	rmdir(dir);
}

static void
noop_cb(void *arg, const char *s, size_t len)
{
	(void)arg;
	(void)s;
	(void)len;
}

static void
noop_tcp_cb(void *arg, const struct sys_tcp *t)
{
	(void)arg;
	(void)t;
}

/* Random and mutated input into every parser: no crash, no overread. */
static void
test_random(void **state)
{
	static const char *const seeds[] = {
		"   3: 0100007F:1F90 0100007F:B26E 01 00000000:00000000 "
		    "00:00000000 00000000  1000        0 123456 1",
		"Mar  1 node kernel: Out of memory: Killed process 4567 "
		    "(raptoreumd) total-vm:8123456kB",
		"3,424,947191028,-;Memory cgroup out of memory: Killed "
		    "process 1 (x)\n SUBSYSTEM=x\n",
		"0::/a/b\n4:memory:/c\n",
		"35 24 0:30 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw",
		"oom_kill_disable 0\noom_kill 3\n",
	};
	struct sys_tcp		 t;
	struct sys_oom		 o;
	struct sys_kmsg		 k;
	struct sys_mount	 m;
	struct sys_linebuf	 lb;
	uint64_t		 v;
	uint32_t		 x = 12345;
	char			*buf, out[64], *re;
	size_t			 i, len, j, sl;

	(void)state;
	memset(&lb, 0, sizeof(lb));
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		len = (x >> 8) % 300;
		buf = malloc(len + 1);
		sl = strlen(seeds[i % 6]);
		for (j = 0; j < len; j++) {
			x = x * 1103515245 + 12345;
			/* Mostly a seed with some bytes changed. */
			buf[j] = (x >> 16) % 8 != 0 && j < sl ?
			    seeds[i % 6][j] : (char)(x >> 20);
		}
		sys_tcp_parse(buf, len, &t);
		sys_diag_parse(buf, len, (uint32_t)i, noop_tcp_cb, NULL);
		sys_oom_parse(buf, len, (int)(i & 1), &o);
		sys_kmsg_parse(buf, len, &k);
		sys_kv_parse(buf, len, "oom_kill", &v);
		sys_cgroup_parse(buf, len, i & 1 ? "memory" : "", out,
		    sizeof(out));
		sys_mountinfo_parse(buf, len, &m);
		sys_utf8_clean(buf, len, out, sizeof(out));
		sys_linebuf_feed(&lb, buf, len, noop_cb, NULL);
		buf[len] = '\0';
		re = sys_regex_translate(buf);
		free(re);
		free(buf);
	}
	sys_linebuf_clear(&lb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_v4),
		cmocka_unit_test(test_tcp_v6),
		cmocka_unit_test(test_tcp_garbage),
		cmocka_unit_test(test_diag_request),
		cmocka_unit_test(test_diag_parse),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_oom_lines),
		cmocka_unit_test(test_oom_syslog_kernel_tag),
		cmocka_unit_test(test_oom_garbage),
		cmocka_unit_test(test_kmsg),
		cmocka_unit_test(test_kv),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_regex_translate),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_linebuf),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_random),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
