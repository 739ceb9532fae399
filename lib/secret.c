/*
 * Secrets: reading them from files, wiping them, and scrubbing them out of
 * text.  A secret file of chainkeeper's own must be a regular file (not
 * a symbolic link) that belongs to chainkeeperd's uid and that neither its
 * group nor others may read or write: the config loader refuses it
 * otherwise, and so does every read at run time, in case its mode changed
 * since.  A file that another program writes for us (a node's RPC cookie)
 * is read without those checks.  Only the first line counts.  Text that a
 * server sends back (an error message may quote a request's parameters)
 * goes through secret_scrub() before anyone sees it.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "secret.h"
#include "util.h"

#define SECRET_MAX	4096		/* bytes read from a secret file */
#define SECRET_MARK	"(redacted)"
#define SECRET_FORMS	8		/* forms of a secret, secret_forms() */

/* Open a secret file and check its type and mode; -1 with *err set. */
static int
secret_open(const char *path, int *missing, char **err)
{
	struct stat	 st;
	int		 fd;

	*missing = 0;
	if (path[0] != '/') {
		xasprintf(err, "%s: a secret file needs an absolute path",
		    path);
		return (-1);
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ELOOP)
			xasprintf(err, "%s is a symbolic link: name the file "
			    "itself", path);
		else {
			*missing = errno == ENOENT;
			xasprintf(err, "cannot open %s: %s", path,
			    strerror(errno));
		}
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(err, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(err, "%s is not a regular file", path);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		xasprintf(err, "%s is owned by uid %ld: a secret file must "
		    "belong to uid %ld, whom chainkeeperd runs as (chown %ld %s)",
		    path, (long)st.st_uid, (long)geteuid(), (long)geteuid(),
		    path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		xasprintf(err, "%s is open to its group or others (mode %04o): "
		    "a secret file must be private (chmod 600 %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size == 0) {
		xasprintf(err, "%s is empty", path);
		goto fail;
	}
	return (fd);
fail:
	close(fd);
	return (-1);
}

/*
 * Check a secret file at config load: 0 when it is usable, SECRET_MISSING
 * when it does not exist (yet), -1 otherwise; *err is set unless 0.
 */
int
secret_file_check(const char *path, char **err)
{
	int	 fd, missing;

	*err = NULL;
	if ((fd = secret_open(path, &missing, err)) == -1)
		return (missing ? SECRET_MISSING : -1);
	close(fd);
	return (0);
}

/* The first line of an open secret file (allocated), or NULL with *err. */
static char *
secret_fd_read(int fd, const char *path, char **err)
{
	char	 buf[SECRET_MAX];
	char	*s = NULL, *nl;
	ssize_t	 n;

	n = read(fd, buf, sizeof(buf) - 1);
	if (n == -1)
		xasprintf(err, "cannot read %s: %s", path, strerror(errno));
	else {
		buf[n] = '\0';
		if ((nl = strpbrk(buf, "\r\n")) != NULL)
			*nl = '\0';
		if (buf[0] == '\0')
			xasprintf(err, "%s has an empty first line", path);
		else
			s = xstrdup(buf);
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return (s);
}

/*
 * Read a secret: the first line of the file, without its newline.
 * Returns an allocated string (free it with secret_free()) or NULL with
 * *err set.
 */
char *
secret_file_read(const char *path, char **err)
{
	int	 fd, missing;

	*err = NULL;
	if ((fd = secret_open(path, &missing, err)) == -1)
		return (NULL);
	return (secret_fd_read(fd, path, err));
}

/*
 * The same for a file that another program keeps (a node's RPC cookie,
 * a password file of the node's own): neither its owner nor its mode is
 * checked; a symbolic link is still refused.
 */
char *
secret_file_read_any(const char *path, char **err)
{
	int	 fd;

	*err = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		xasprintf(err, "cannot read %s: %s", path, strerror(errno));
		return (NULL);
	}
	return (secret_fd_read(fd, path, err));
}

/* Wipe and free a secret (NULL is fine). */
void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/*
 * s as jansson writes it inside a JSON string (flags), or NULL when the
 * same as s.  With lower, the hex digits of \u escapes are in lower case
 * (as Python and PHP write them; jansson writes upper case).
 */
static char *
secret_json_form(const char *s, size_t flags, int lower)
{
	json_t	*j;
	char	*d, *out = NULL;
	size_t	 len, i, k;

	if ((j = json_string(s)) == NULL)
		return (NULL);		/* not UTF-8: sent as is, if at all */
	d = json_dumps(j, JSON_ENCODE_ANY | flags);
	json_decref(j);
	if (d == NULL)
		return (NULL);
	len = strlen(d);
	for (i = 0; lower && i + 5 < len; i++)
		if (d[i] == '\\' && d[i + 1] == 'u')
			for (k = i + 2; k < i + 6; k++)
				d[k] = (char)tolower((unsigned char)d[k]);
	if (len >= 2 && (len - 2 != strlen(s) || memcmp(d + 1, s,
	    len - 2) != 0)) {
		out = xmalloc(len - 1);
		memcpy(out, d + 1, len - 2);
		out[len - 2] = '\0';
	}
	explicit_bzero(d, len);
	free(d);
	return (out);
}

/* s with each slash escaped ("a\/b"), or NULL when s has none. */
static char *
secret_slash_form(const char *s)
{
	char	*out;
	size_t	 n = 0;

	if (strchr(s, '/') == NULL)
		return (NULL);
	out = xmalloc(strlen(s) * 2 + 1);
	for (; *s != '\0'; s++) {
		if (*s == '/')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
	return (out);
}

/* The forms of one secret that text may hold, added to v (n of them). */
static void
secret_forms(const char *s, char ***v, size_t *n)
{
	struct buf	 b;
	char		*f[SECRET_FORMS];
	size_t		 i, nf = 0;

	f[nf++] = xstrdup(s);
	memset(&b, 0, sizeof(b));
	buf_add_url(&b, s);
	f[nf++] = buf_take(&b);
	buf_add_json(&b, s);
	f[nf++] = buf_take(&b);
	f[nf++] = secret_json_form(s, 0, 0);
	f[nf++] = secret_json_form(s, JSON_ENSURE_ASCII, 0);
	f[nf++] = secret_json_form(s, JSON_ENSURE_ASCII, 1);
	f[nf++] = secret_json_form(s, JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH,
	    1);
	f[nf++] = secret_slash_form(s);
	*v = xreallocarray(*v, *n + nf, sizeof(**v));
	for (i = 0; i < nf; i++)
		if (f[i] != NULL)
			(*v)[(*n)++] = f[i];
}

/*
 * A copy of text (len bytes, any bytes) with every secret in the
 * NULL-terminated list replaced by "(redacted)": as is, URL-encoded, and
 * as JSON writers escape it (jansson, Python's \u00e9, PHP's \/).  At
 * each place the longest form wins, and the text is read once, so
 * "(redacted)" itself is never scrubbed again.  The copy is NUL-terminated;
 * *outlen (if not NULL) gets its length.
 */
char *
secret_scrub(const char *text, size_t len, const char *const *secrets,
    size_t *outlen)
{
	struct buf	 out;
	char		**needles = NULL;
	size_t		 nn = 0, i, k, nlen, best;
	const char	*const *s;

	for (s = secrets; *s != NULL; s++)
		if ((*s)[0] != '\0')
			secret_forms(*s, &needles, &nn);
	memset(&out, 0, sizeof(out));
	buf_need(&out, len);
	for (i = 0; i < len;) {
		for (k = 0, best = 0; k < nn; k++) {
			nlen = strlen(needles[k]);
			if (nlen > best && nlen <= len - i &&
			    memcmp(text + i, needles[k], nlen) == 0)
				best = nlen;
		}
		if (best > 0) {
			buf_add(&out, SECRET_MARK, sizeof(SECRET_MARK) - 1);
			i += best;
		} else
			buf_add(&out, text + i++, 1);
	}
	for (k = 0; k < nn; k++)
		secret_free(needles[k]);
	free(needles);
	if (outlen != NULL)
		*outlen = out.len;
	return (buf_take(&out));
}

/*
 * s as a JSON string literal, quotes included, for request bodies that
 * carry a secret: built by hand so that no library keeps a copy of it in
 * memory it frees without wiping.  Free the result with secret_free().
 */
char *
secret_json_quote(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, n = 0, len = strlen(s);
	unsigned char	 c;
	char		*out;

	out = xmalloc(len * 6 + 3);
	out[n++] = '"';
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[n++] = '\\';
			out[n++] = 'u';
			out[n++] = '0';
			out[n++] = '0';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
		} else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	out[n] = '\0';
	return (out);
}
