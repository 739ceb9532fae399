/*
 * What sink kinds share: {placeholder} templates with URL, JSON or header
 * escaping; an alert rendered as a message (text, WeCom markdown, HTML),
 * alone or several in one; the success predicate of a reply (status codes
 * and a JSON field); secret files (never open to group or others) and
 * URLs fit for a log.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "secret.h"
#include "sink.h"
#include "util.h"

static const char *const placeholders[] = {
	"host", "program", "event", "severity", "value", "time", "unixtime",
	"message", "rule", "id", "kind", "title", "text", "suppressed",
	"secret", NULL
};

/* Append s escaped for where it goes: a URL, a JSON string, a header. */
void
str_append_escaped(struct buf *b, const char *s, int esc)
{
	const char	*p;

	switch (esc) {
	case ESC_URL:
		buf_add_url(b, s);
		break;
	case ESC_JSON:
		buf_add_json(b, s);
		break;
	case ESC_HEADER:
		for (p = s; *p != '\0'; p++)
			buf_add(b, (unsigned char)*p < 0x20 ? " " : p, 1);
		break;
	default:
		buf_adds(b, s);
		break;
	}
}

/* The length of a placeholder name at s ("{name}"), or 0. */
static size_t
tpl_name(const char *s)
{
	size_t	 n = 0;

	if (*s != '{')
		return (0);
	for (s++; (s[n] >= 'a' && s[n] <= 'z') || s[n] == '_'; n++)
		;
	return (n > 0 && s[n] == '}' ? n : 0);
}

static int
tpl_known(const char *s, size_t n)
{
	const char *const	*p;

	for (p = placeholders; *p != NULL; p++)
		if (strlen(*p) == n && strncmp(*p, s, n) == 0)
			return (1);
	return (0);
}

/*
 * Check a template: every {name} must be a known placeholder ({{ and }}
 * are literal braces; a brace not around a name is literal too), and
 * {secret} only where a secret file is set.
 */
int
tpl_check(const char *t, int secret_ok, char **err)
{
	const char	*p;
	size_t		 n;

	*err = NULL;
	for (p = t; *p != '\0'; p++) {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if ((n = tpl_name(p)) == 0)
			continue;
		if (!tpl_known(p + 1, n)) {
			xasprintf(err, "unknown placeholder {%.*s} (known: "
			    "host, program, event, severity, value, time, "
			    "unixtime, message, rule, id, kind, title, text, "
			    "suppressed, secret; {{ is a literal {)", (int)n,
			    p + 1);
			return (-1);
		}
		if (!secret_ok && n == 6 && strncmp(p + 1, "secret", 6) == 0) {
			xasprintf(err, "{secret} needs secret_file");
			return (-1);
		}
		p += n + 1;
	}
	return (0);
}

static const char *
severity_upper(int s)
{
	switch (s) {
	case ALERT_CRITICAL:
		return ("CRITICAL");
	case ALERT_WARNING:
		return ("WARNING");
	}
	return ("INFO");
}

/* A time as "2006-01-02 15:04:05", or with short "15:04". */
static void
time_text(time_t t, int short_form, char *buf, size_t len)
{
	struct tm	 tm;
	size_t		 n;

	localtime_r(&t, &tm);
	if (short_form)
		n = strftime(buf, len, "%H:%M", &tm);
	else
		n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	if (n == 0)
		buf[0] = '\0';
}

/* A placeholder's value for an alert (allocated). */
char *
alert_field(const struct alert *a, const char *name)
{
	char	 buf[64];
	char	*s;

	if (strcmp(name, "host") == 0)
		return (xstrdup(a->host));
	if (strcmp(name, "program") == 0)
		return (xstrdup(a->program));
	if (strcmp(name, "event") == 0)
		return (xstrdup(a->event));
	if (strcmp(name, "severity") == 0)
		return (xstrdup(alerts_severity_name(a->severity)));
	if (strcmp(name, "value") == 0)
		return (xstrdup(a->value));
	if (strcmp(name, "message") == 0)
		return (xstrdup(a->message));
	if (strcmp(name, "rule") == 0)
		return (xstrdup(a->rule));
	if (strcmp(name, "kind") == 0)
		return (xstrdup(alert_kind_name(a->kind)));
	if (strcmp(name, "title") == 0)
		return (alert_title(a));
	if (strcmp(name, "text") == 0)
		return (alert_render(a, FORMAT_TEXT));
	if (strcmp(name, "time") == 0) {
		time_text(a->time, 0, buf, sizeof(buf));
		return (xstrdup(buf));
	}
	if (strcmp(name, "unixtime") == 0)
		xasprintf(&s, "%lld", (long long)a->time);
	else if (strcmp(name, "id") == 0)
		xasprintf(&s, "%llu", (unsigned long long)a->id);
	else if (strcmp(name, "suppressed") == 0)
		xasprintf(&s, "%u", a->carried);
	else
		s = xstrdup("");
	return (s);
}

/*
 * A literal character of a template.  In a URL, one that may not appear
 * there (a space, a byte of UTF-8 text such as 【签名】) is %-encoded, and
 * so is '#': a request has no fragment, and "alert #{id}" means text.
 */
static void
url_literal(struct buf *b, char c, int esc)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 u = (unsigned char)c;
	char			 e[3];

	if (esc != ESC_URL || (u > 0x20 && u < 0x7f &&
	    strchr("\"#<>\\^`{|}", c) == NULL)) {
		buf_add(b, &c, 1);
		return;
	}
	e[0] = '%';
	e[1] = hex[u >> 4];
	e[2] = hex[u & 15];
	buf_add(b, e, 3);
}

/*
 * Expand a template for an alert, each value escaped as esc says;
 * {secret} becomes secret (which may be NULL: empty).
 */
char *
tpl_expand(const char *t, int esc, const struct alert *a, const char *secret)
{
	struct buf	 b = { NULL, 0, 0 };
	char		*v, name[16];
	size_t		 n;
	const char	*p;

	buf_need(&b, strlen(t));
	for (p = t; *p != '\0'; p++) {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			url_literal(&b, *p, esc);
			p++;
			continue;
		}
		if ((n = tpl_name(p)) == 0 || n >= sizeof(name) ||
		    !tpl_known(p + 1, n)) {
			url_literal(&b, *p, esc);
			continue;
		}
		memcpy(name, p + 1, n);
		name[n] = '\0';
		if (strcmp(name, "secret") == 0)
			str_append_escaped(&b, secret != NULL ?
			    secret : "", esc);
		else {
			v = alert_field(a, name);
			str_append_escaped(&b, v, esc);
			free(v);
		}
		p += n + 1;
	}
	return (buf_take(&b));
}

/* "[CRITICAL] host: program event rule", one line (allocated). */
char *
alert_title(const struct alert *a)
{
	char		*s;
	const char	*tag;

	switch (a->kind) {
	case ALERT_RESOLVED:
		tag = "RESOLVED";
		break;
	case ALERT_SUMMARY:
		xasprintf(&s, "[SUMMARY] %s: daily summary", a->host);
		return (s);
	case ALERT_TEST:
		tag = "TEST";
		break;
	default:
		tag = severity_upper(a->severity);
		break;
	}
	xasprintf(&s, "[%s] %s: %s%s%s%s%s", tag, a->host, a->program,
	    *a->program != '\0' ? " " : "", a->event, *a->rule != '\0' ?
	    " " : "", a->rule);
	return (s);
}

static void
html_append(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '<')
			buf_add(b, "&lt;", 4);
		else if (*s == '>')
			buf_add(b, "&gt;", 4);
		else if (*s == '&')
			buf_add(b, "&amp;", 5);
		else
			buf_add(b, s, 1);
	}
}

/*
 * An alert as a message: a title line, the message, when, and how many
 * repeats were suppressed before it.
 */
char *
alert_render(const struct alert *a, int fmt)
{
	struct buf	 b = { NULL, 0, 0 };
	char		*title, when[32], since[32];
	const char	*color, *m, *nl;
	size_t		 n;

	title = alert_title(a);
	time_text(a->time, 0, when, sizeof(when));
	buf_need(&b, 256);
	switch (fmt) {
	case FORMAT_MARKDOWN:
		color = a->kind == ALERT_RESOLVED || a->severity ==
		    ALERT_INFO ? "info" : a->severity == ALERT_WARNING ?
		    "comment" : "warning";
		buf_printf(&b, "**<font color=\"%s\">%s</font>**",
		    color, title);
		/* Each line of the message quoted. */
		for (m = a->message; *m != '\0'; m = nl != NULL ? nl + 1 :
		    m + strlen(m)) {
			nl = strchr(m, '\n');
			n = nl != NULL ? (size_t)(nl - m) : strlen(m);
			buf_printf(&b, "\n> %.*s", (int)n, m);
		}
		buf_printf(&b, "\n<font color=\"comment\">%s, alert "
		    "#%llu</font>", when, (unsigned long long)a->id);
		break;
	case FORMAT_HTML:
		buf_add(&b, "<b>", 3);
		html_append(&b, title);
		buf_add(&b, "</b>\n", 5);
		html_append(&b, a->message);
		buf_printf(&b, "\n<i>%s, alert #%llu</i>", when,
		    (unsigned long long)a->id);
		break;
	default:
		buf_printf(&b, "%s\n%s%s%s, alert #%llu", title,
		    a->message, *a->message != '\0' ? "\n" : "", when,
		    (unsigned long long)a->id);
		break;
	}
	if (a->carried > 0) {
		time_text(a->carried_since, 1, since, sizeof(since));
		buf_printf(&b, "\n(%u repeat%s suppressed since %s)",
		    a->carried, a->carried == 1 ? "" : "s", since);
	}
	free(title);
	return (buf_take(&b));
}

/* Cut s to at most max bytes on a UTF-8 boundary. */
static void
utf8_cut(char *s, size_t max)
{
	size_t	 n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/*
 * Several alerts as one message of at most max bytes: as many whole
 * alerts as fit (at least the first, cut if it must be); *taken says how
 * many.
 */
char *
alert_render_batch(struct alert *const *v, size_t n, int fmt, size_t max,
    size_t *taken)
{
	struct buf	 b = { NULL, 0, 0 };
	char		*s, *one, head[64];
	size_t		 i, hl;

	if (n == 1) {
		s = alert_render(v[0], fmt);
		utf8_cut(s, max);
		*taken = 1;
		return (s);
	}
	hl = (size_t)snprintf(head, sizeof(head), fmt == FORMAT_MARKDOWN ?
	    "**%zu alerts**" : "%zu alerts:", n);
	buf_need(&b, 256);
	for (i = 0; i < n; i++) {
		one = alert_render(v[i], fmt);
		if (i > 0 && hl + b.len + strlen(one) + 2 > max) {
			free(one);
			break;
		}
		if (i > 0)
			buf_add(&b, "\n\n", 2);
		buf_add(&b, one, strlen(one));
		free(one);
	}
	*taken = i;
	if (i > 1) {
		/* The count now says how many this message carries. */
		hl = (size_t)snprintf(head, sizeof(head), fmt ==
		    FORMAT_MARKDOWN ? "**%zu alerts**\n\n" : "%zu alerts:\n\n",
		    i);
		s = xmalloc(hl + b.len + 1);
		memcpy(s, head, hl);
		memcpy(s + hl, b.s, b.len + 1);
		buf_free(&b);
	} else
		s = buf_take(&b);
	utf8_cut(s, max);
	return (s);
}

int
format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return (FORMAT_TEXT);
	if (strcmp(s, "markdown") == 0)
		return (FORMAT_MARKDOWN);
	if (strcmp(s, "html") == 0)
		return (FORMAT_HTML);
	return (-1);
}

/*
 * success: {status: 200 | [200, 201], json: {pointer: /p, equals: V}}.
 * Without it, any 2xx reply is a success.
 */
int
success_parse(const json_t *o, struct success_pred *sp, char **err)
{
	json_t		*st, *j, *v;
	const char	*k;
	size_t		 i;

	memset(sp, 0, sizeof(*sp));
	if (o == NULL)
		return (0);
	if (!json_is_object(o)) {
		xasprintf(err, "success must be a map: {status: 200, json: "
		    "{pointer: /field, equals: value}}");
		return (-1);
	}
	json_object_foreach((json_t *)o, k, v) {
		if (strcmp(k, "status") != 0 && strcmp(k, "json") != 0) {
			xasprintf(err, "success: unknown key \"%s\" (status, "
			    "json)", k);
			return (-1);
		}
	}
	st = json_object_get(o, "status");
	if (json_is_integer(st)) {
		sp->status[sp->nstatus++] = (long)json_integer_value(st);
	} else if (json_is_array(st) && json_array_size(st) > 0 &&
	    json_array_size(st) <= sizeof(sp->status) /
	    sizeof(sp->status[0])) {
		json_array_foreach(st, i, v) {
			if (!json_is_integer(v))
				break;
			sp->status[sp->nstatus++] = (long)json_integer_value(v);
		}
		if (i < json_array_size(st))
			st = json_true();	/* an error below */
	} else if (st != NULL)
		st = json_true();
	if (json_is_true(st)) {
		xasprintf(err, "success.status must be a status code or a "
		    "list of at most 16");
		return (-1);
	}
	for (i = 0; i < sp->nstatus; i++)
		if (sp->status[i] < 100 || sp->status[i] > 599) {
			xasprintf(err, "success.status: %ld is not an HTTP "
			    "status", sp->status[i]);
			return (-1);
		}
	if ((j = json_object_get(o, "json")) == NULL)
		return (0);
	if (!json_is_object(j) || !json_is_string(json_object_get(j,
	    "pointer")) || json_object_get(j, "equals") == NULL ||
	    json_object_size(j) != 2) {
		xasprintf(err, "success.json must be {pointer: /field, equals: "
		    "value}");
		return (-1);
	}
	k = json_string_value(json_object_get(j, "pointer"));
	if (*k != '/') {
		xasprintf(err, "success.json.pointer must start with /");
		return (-1);
	}
	sp->pointer = xstrdup(k);
	sp->equals = json_incref(json_object_get(j, "equals"));
	return (0);
}

void
success_free(struct success_pred *sp)
{
	free(sp->pointer);
	json_decref(sp->equals);
	memset(sp, 0, sizeof(*sp));
}

/* A JSON scalar as text, for comparisons across types ("0" and 0). */
static char *
scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return (xstrdup(json_string_value(v)));
	if (json_is_number(v) || json_is_boolean(v) || json_is_null(v))
		return (json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT));
	return (NULL);
}

/*
 * Whether a reply is a success; if not, why (a short text).  Strings and
 * numbers compare by their text, so errcode 0 equals "0".
 */
int
success_check(const struct success_pred *sp, long status, const char *body,
    size_t len, char *why, size_t wlen)
{
	json_t	*doc, *v;
	char	*a, *b;
	size_t	 i;
	int	 ok;

	if (sp->nstatus == 0) {
		if (status < 200 || status > 299) {
			snprintf(why, wlen, "HTTP %ld", status);
			return (0);
		}
	} else {
		for (i = 0; i < sp->nstatus; i++)
			if (sp->status[i] == status)
				break;
		if (i == sp->nstatus) {
			snprintf(why, wlen, "HTTP %ld", status);
			return (0);
		}
	}
	if (sp->pointer == NULL)
		return (1);
	if ((doc = json_loadb(body, len, JSON_DECODE_ANY, NULL)) == NULL) {
		snprintf(why, wlen, "HTTP %ld, but the reply is not JSON: "
		    "%.80s", status, body);
		return (0);
	}
	if ((v = json_pointer_get(doc, sp->pointer)) == NULL) {
		snprintf(why, wlen, "HTTP %ld, but the reply has no %s",
		    status, sp->pointer);
		json_decref(doc);
		return (0);
	}
	a = scalar_text(v);
	b = scalar_text(sp->equals);
	ok = a != NULL && b != NULL ? strcmp(a, b) == 0 :
	    json_equal(v, sp->equals);
	if (!ok)
		snprintf(why, wlen, "HTTP %ld, but %s is %.60s, not %.60s",
		    status, sp->pointer, a != NULL ? a : "(not a scalar)",
		    b != NULL ? b : "(the expected value)");
	free(a);
	free(b);
	json_decref(doc);
	return (ok);
}

/* A URL fit for a log: scheme and host only ("https://host/..."). */
char *
url_redact(const char *url)
{
	const char	*p, *e;
	char		*s;

	if ((p = strstr(url, "://")) == NULL) {
		return (xstrdup("(redacted)"));
	}
	p += 3;
	e = p + strcspn(p, "/?#@");
	if (*e == '@') {
		/* user:password@host */
		p = e + 1;
		e = p + strcspn(p, "/?#");
	}
	xasprintf(&s, "%.*s%.*s/...(redacted)", (int)(strstr(url, "://") -
	    url + 3), url, (int)(e - p), p);
	return (s);
}

/*
 * Check a secret file named in the configuration (secret.c): a missing
 * file is not an error (the sink says so when it needs it), and a private
 * file of another user (chainkeeperctl -c run by a member of the control
 * group) is fine as far as its mode shows; anything open to group or
 * others is refused.
 */
int
sink_secret_check(const char *path, char **err)
{
	struct stat	 st;
	int		 r;

	*err = NULL;
	if (*path == '/' && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((st.st_mode & 077) != 0) {
			xasprintf(err, "%s is open to its group or others (mode "
			    "%04o): a secret file must be private (chmod 600 "
			    "%s)", path, (unsigned int)(st.st_mode & 07777),
			    path);
			return (-1);
		}
		if (access(path, R_OK) == -1 && errno == EACCES)
			return (0);
	}
	if ((r = secret_file_check(path, err)) == SECRET_MISSING) {
		free(*err);
		*err = NULL;
		return (0);
	}
	return (r == 0 ? 0 : -1);
}

/* A string or a list of strings, as a NULL-terminated vector. */
int
sink_param_strings(const json_t *o, const char *name, char ***out,
    const char **key, char **err)
{
	json_t	*v = json_object_get(o, name), *e;
	char	**r;
	size_t	 i;

	*out = NULL;
	if (v == NULL)
		return (0);
	if (json_is_string(v) || json_is_integer(v)) {
		r = xcalloc(2, sizeof(*r));
		if (json_is_string(v))
			r[0] = xstrdup(json_string_value(v));
		else
			xasprintf(&r[0], "%lld",
			    (long long)json_integer_value(v));
		*out = r;
		return (0);
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		*key = name;
		xasprintf(err, "%s must be a string or a list of strings",
		    name);
		return (-1);
	}
	r = xcalloc(json_array_size(v) + 1, sizeof(*r));
	json_array_foreach(v, i, e) {
		if (json_is_string(e))
			r[i] = xstrdup(json_string_value(e));
		else if (json_is_integer(e))
			xasprintf(&r[i], "%lld",
			    (long long)json_integer_value(e));
		else {
			free_argv(r);
			*key = name;
			xasprintf(err, "%s must be a string or a list of "
			    "strings", name);
			return (-1);
		}
	}
	*out = r;
	return (0);
}
