/* Small helpers shared by the daemon and the client. */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal("malloc");
	return (p);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		fatal("calloc");
	return (p);
}

void *
xreallocarray(void *old, size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("reallocarray: overflow");
	if ((p = realloc(old, nmemb * size == 0 ? 1 : nmemb * size)) == NULL)
		fatal("realloc");
	return (p);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return (p);
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	return (n);
}

/*
 * Parse a duration into milliseconds: "500ms", "10s", "2m", "1h", "1d" or a
 * bare number of seconds (supervisord's startsecs=1).  Fractions are allowed
 * ("1.5s").  On error returns -1 and points *err at a message.
 */
int
parse_duration(const char *s, int64_t *ms, const char **err)
{
	char		*end;
	double		 v, mult;

	*err = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '-' || *s == '+') {
		*err = "expected a duration such as 500ms, 10s, 2m or 1h";
		return (-1);
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || v != v) {
		*err = "expected a duration such as 500ms, 10s, 2m or 1h";
		return (-1);
	}
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 86400 * 1000;
	else {
		*err = "unknown duration unit (use ms, s, m, h or d)";
		return (-1);
	}
	v *= mult;
	if (v > 1e15) {
		*err = "duration too large";
		return (-1);
	}
	*ms = (int64_t)(v + 0.5);
	return (0);
}

/*
 * Parse a size into bytes: a bare number, or with KB, MB, GB (powers of
 * 1024, as supervisord), also K, M, G and KiB, MiB, GiB.
 */
int
parse_size(const char *s, int64_t *bytes, const char **err)
{
	char		*end;
	double		 v, mult;

	*err = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '-' || *s == '+') {
		*err = "expected a size such as 4096, 512KB, 50MB or 1GB";
		return (-1);
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || v != v) {
		*err = "expected a size such as 4096, 512KB, 50MB or 1GB";
		return (-1);
	}
	while (*end == ' ')
		end++;
	if (*end == '\0' || strcasecmp(end, "B") == 0)
		mult = 1;
	else if (strcasecmp(end, "KB") == 0 || strcasecmp(end, "K") == 0 ||
	    strcasecmp(end, "KiB") == 0)
		mult = 1024.0;
	else if (strcasecmp(end, "MB") == 0 || strcasecmp(end, "M") == 0 ||
	    strcasecmp(end, "MiB") == 0)
		mult = 1024.0 * 1024;
	else if (strcasecmp(end, "GB") == 0 || strcasecmp(end, "G") == 0 ||
	    strcasecmp(end, "GiB") == 0)
		mult = 1024.0 * 1024 * 1024;
	else {
		*err = "unknown size unit (use KB, MB or GB)";
		return (-1);
	}
	v *= mult;
	if (v > 9e18) {
		*err = "size too large";
		return (-1);
	}
	*bytes = (int64_t)v;
	return (0);
}

static const struct {
	const char	*name;
	int		 sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ABRT", SIGABRT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "WINCH", SIGWINCH }, { "PWR", SIGPWR },
};

/* A signal from "TERM", "SIGTERM", "term" or "15"; -1 if unknown. */
int
parse_signal(const char *s)
{
	size_t	 i;
	char	*end;
	long	 n;

	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		if (*end != '\0' || n < 1 || n >= NSIG)
			return (-1);
		return ((int)n);
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return (signals[i].sig);
	return (-1);
}

/* The short name of a signal ("TERM"), or its number as text. */
const char *
signal_name(int sig)
{
	static char	 buf[16];
	size_t		 i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return (signals[i].name);
	snprintf(buf, sizeof(buf), "%d", sig);
	return (buf);
}

/*
 * Split a command line into words like a POSIX shell would, without running
 * one: blanks separate words, '...' is literal, "..." allows \" \\ \$ \`,
 * and a backslash outside quotes escapes the next character.  Expansions,
 * pipes and redirections are not supported: use a YAML list with sh -c.
 */
char **
split_command(const char *s, const char **err)
{
	char	**argv = NULL, *word;
	size_t	  argc = 0, len;
	int	  inword, q;

	*err = NULL;
	word = xmalloc(strlen(s) + 1);
	len = 0;
	inword = 0;
	for (;;) {
		if (*s == '\0' || isspace((unsigned char)*s)) {
			if (inword) {
				word[len] = '\0';
				argv = xreallocarray(argv, argc + 2,
				    sizeof(*argv));
				argv[argc++] = xstrdup(word);
				argv[argc] = NULL;
				len = 0;
				inword = 0;
			}
			if (*s == '\0')
				break;
			s++;
			continue;
		}
		inword = 1;
		if (*s == '\\') {
			if (s[1] == '\0') {
				*err = "trailing backslash in command";
				goto fail;
			}
			word[len++] = s[1];
			s += 2;
		} else if (*s == '\'' || *s == '"') {
			q = *s++;
			while (*s != q) {
				if (*s == '\0') {
					*err = "unterminated quote in command";
					goto fail;
				}
				if (q == '"' && *s == '\\' && s[1] != '\0' &&
				    strchr("\"\\$`", s[1]) != NULL)
					s++;
				word[len++] = *s++;
			}
			s++;
		} else
			word[len++] = *s++;
	}
	free(word);
	if (argc == 0) {
		*err = "empty command";
		free(argv);
		return (NULL);
	}
	return (argv);
fail:
	free(word);
	free_argv(argv);
	return (NULL);
}

void
free_argv(char **argv)
{
	size_t	 i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

size_t
argv_len(char *const *argv)
{
	size_t	 n = 0;

	while (argv != NULL && argv[n] != NULL)
		n++;
	return (n);
}

/* Milliseconds on the monotonic clock. */
int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

int
set_cloexec(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFD, fl | FD_CLOEXEC));
}

/*
 * Parse a chain timestamp, UTC without a zone ("2022-10-14T06:06:53.500",
 * "2019-01-28T06:08:00", an optional trailing "Z"), into milliseconds
 * since the epoch.  Returns 0, or -1 for anything else.
 */
int
parse_utc_time(const char *s, int64_t *ms)
{
	struct tm	 tm;
	int		 f[6], i, w, frac = 0, digits = 0;
	static const int widths[6] = { 4, 2, 2, 2, 2, 2 };
	static const char seps[6] = { '-', '-', 'T', ':', ':', '\0' };
	time_t		 t;

	for (i = 0; i < 6; i++) {
		f[i] = 0;
		for (w = 0; w < widths[i]; w++, s++) {
			if (*s < '0' || *s > '9')
				return (-1);
			f[i] = f[i] * 10 + (*s - '0');
		}
		if (seps[i] != '\0' && *s++ != seps[i])
			return (-1);
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*s - '0');
		if (digits == 0)
			return (-1);
		for (i = digits; i < 3; i++)
			frac *= 10;
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0' || f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 ||
	    f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	/* timegm() normalizes: "02-30" comes back as March. */
	if ((t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != f[2])
		return (-1);
	*ms = (int64_t)t * 1000 + frac;
	return (0);
}

/* mkdir -p: create a folder and its parents; 0 if it exists afterwards. */
int
mkdir_p(const char *path, mode_t mode)
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

/*
 * Make a buffer valid UTF-8 in place, for JSON: every byte that does not
 * start or continue a well-formed sequence becomes '?'.
 */
void
utf8_sanitize(char *s, size_t len)
{
	unsigned char	*p = (unsigned char *)s, c;
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			if (c == 0)
				p[i] = '?';
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else {
			p[i++] = '?';
			continue;
		}
		if (i + n >= len) {
			p[i++] = '?';
			continue;
		}
		cp = c & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (k <= n || (n == 2 && cp < 0x800) || (n == 3 &&
		    (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			p[i++] = '?';
			continue;
		}
		i += n + 1;
	}
}

/*
 * Keep the last bytes of an output in buf (size bytes, one kept free for
 * a NUL): append n bytes of data, dropping the oldest when it is full.
 */
void
tail_append(char *buf, size_t size, size_t *len, const char *data, size_t n)
{
	size_t	 room = size - 1;

	if (n >= room) {
		memcpy(buf, data + n - room, room);
		*len = room;
		return;
	}
	if (*len + n > room) {
		memmove(buf, buf + *len + n - room, room - n);
		*len = room - n;
	}
	memcpy(buf + *len, data, n);
	*len += n;
}
