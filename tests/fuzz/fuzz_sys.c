/*
 * Fuzz the host-level probes' pure parsers (probes/probe-sys.h).  The
 * first byte picks one, the rest is its input:
 *   0 sys_tcp_parse (a /proc/net/tcp line; then sys_tcp_addr),
 *   1 sys_oom_parse (a kernel OOM-killer log line), 2 the same in syslog
 *     form (need_kernel), 3 sys_kmsg_parse (a /dev/kmsg record),
 *   4 sys_kv_parse (memory.events), 5 sys_cgroup_parse (/proc/PID/cgroup),
 *   6 sys_mountinfo_parse, 7 sys_net_parse and sys_net_match,
 *   8 sys_regex_translate, 9 sys_utf8_clean,
 *   10 sys_linebuf_feed/flush, checked against a plain line splitter.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "probe-sys.h"

#include "fuzz.h"

/* What the line splitter must deliver: the expected lines in order. */
struct lines {
	const char	*data;
	size_t		 size;
	size_t		 pos;	/* start of the next expected line */
	size_t		 max;
	size_t		 count;
};

/* The next line of the input, cut at max, without a trailing CR. */
static void
line_cb(void *arg, const char *s, size_t n)
{
	struct lines	*l = arg;
	const char	*nl;
	size_t		 len, want;

	fuzz_check(l->pos <= l->size);
	nl = memchr(l->data + l->pos, '\n', l->size - l->pos);
	len = nl != NULL ? (size_t)(nl - (l->data + l->pos)) :
	    l->size - l->pos;
	want = len < l->max ? len : l->max;
	if (want > 0 && l->data[l->pos + want - 1] == '\r')
		want--;
	fuzz_check(n == want);
	fuzz_check(n == 0 || memcmp(s, l->data + l->pos, n) == 0);
	l->pos += len + 1;
	l->count++;
}

static void
fuzz_linebuf(const uint8_t *data, size_t size)
{
	struct sys_linebuf	 lb;
	struct lines		 l;
	size_t			 chunk, off, n, nlines = 0, i;

	if (size < 2)
		return;
	memset(&lb, 0, sizeof(lb));
	lb.max = 1 + data[0] % 64;
	chunk = 1 + data[1] % 17;
	data += 2;
	size -= 2;
	memset(&l, 0, sizeof(l));
	l.data = (const char *)data;
	l.size = size;
	l.max = lb.max;
	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		sys_linebuf_feed(&lb, l.data + off, n, line_cb, &l);
	}
	sys_linebuf_flush(&lb, line_cb, &l);
	sys_linebuf_clear(&lb);
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			nlines++;
	if (size > 0 && data[size - 1] != '\n')
		nlines++;
	fuzz_check(l.count == nlines);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sys_tcp	 t;
	struct sys_oom	 o;
	struct sys_kmsg	 k;
	struct sys_mount m;
	struct sys_net	 net;
	static const uint8_t v4[16] = { 10, 1, 2, 3 };
	static const uint8_t v6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff, 192, 168, 1, 1 };
	const char	*s = NULL;
	char		 buf[256], *str, *out;
	uint64_t	 v;
	size_t		 n, outlen, i;
	json_t		*j;
	unsigned int	 which;

	which = fuzz_pick(&data, &size, 11);
	s = (const char *)data;
	switch (which) {
	case 0:
		if (sys_tcp_parse(s, size, &t) == 0) {
			fuzz_check(t.family == AF_INET || t.family == AF_INET6);
			fuzz_check(t.state >= 1 && t.state <= 12);
			sys_tcp_addr(t.family, t.laddr, t.lport, buf,
			    sizeof(buf));
			fuzz_check_text(buf, sizeof(buf), 1);
			sys_tcp_addr(t.family, t.raddr, t.rport, buf, 8);
		}
		break;
	case 1:
	case 2:
		if (sys_oom_parse(s, size, which == 2, &o) == 1) {
			fuzz_check(o.pid > 0);
			fuzz_check_text(o.name, sizeof(o.name), 0);
		}
		break;
	case 3:
		if (sys_kmsg_parse(s, size, &k) == 0) {
			fuzz_check(k.msg >= s && k.msg + k.msglen <= s + size);
			fuzz_check(k.level >= 0 && k.level <= 7);
		}
		break;
	case 4:
		(void)sys_kv_parse(s, size, "oom_kill", &v);
		(void)sys_kv_parse(s, size, "", &v);
		break;
	case 5:
		if (sys_cgroup_parse(s, size, "", buf, sizeof(buf)) == 0)
			fuzz_check(buf[0] == '/');
		if (sys_cgroup_parse(s, size, "memory", buf, 16) == 0)
			fuzz_check(strlen(buf) < 16);
		break;
	case 6:
		if (sys_mountinfo_parse(s, size, &m) == 0) {
			fuzz_check_text(m.root, sizeof(m.root), 0);
			fuzz_check_text(m.point, sizeof(m.point), 0);
			fuzz_check_text(m.fstype, sizeof(m.fstype), 0);
			fuzz_check_text(m.super, sizeof(m.super), 0);
		}
		break;
	case 7:
		str = fuzz_strndup(data, size);
		if (sys_net_parse(str, &net) == 0) {
			fuzz_check(net.family == AF_INET ||
			    net.family == AF_INET6);
			fuzz_check(net.bits >= 0 && net.bits <=
			    (net.family == AF_INET ? 32 : 128));
			(void)sys_net_match(&net, AF_INET, v4);
			(void)sys_net_match(&net, AF_INET6, v6);
		}
		free(str);
		break;
	case 8:
		str = fuzz_strndup(data, size);
		out = sys_regex_translate(str);
		fuzz_check(strlen(out) <= 3 * size);
		free(out);
		free(str);
		break;
	case 9:
		outlen = size > 0 ? 1 + data[0] % 200 : 1;
		n = sys_utf8_clean(s, size, buf, outlen);
		fuzz_check(n < outlen && strlen(buf) == n);
		for (i = 0; i < n; i++)
			fuzz_check((unsigned char)buf[i] >= 0x20 &&
			    buf[i] != 0x7f);
		j = json_stringn(buf, n);
		fuzz_check(j != NULL);
		json_decref(j);
		break;
	case 10:
		fuzz_linebuf(data, size);
		break;
	}
	return (0);
}
