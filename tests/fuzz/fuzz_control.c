/*
 * Fuzz the control protocol's request parsing (control_parse() of
 * supervisor/control.c), fed line by line as client_read_cb() does.  A
 * request is accepted with a command and its arguments, or refused with
 * an error code and a message that a reply can carry (valid UTF-8).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control.h"

#include "fuzz.h"

/* One line, without its newline. */
static void
fuzz_line(const char *line, size_t len)
{
	json_t		*req, *args, *reply;
	const char	*cmd, *code;
	char		*err;
	int		 i;

	i = control_parse(line, len, &req, &cmd, &args, &code, &err);
	if (i >= 0) {
		fuzz_check(req != NULL && json_is_object(req));
		fuzz_check(args != NULL && json_is_array(args));
		fuzz_check(cmd != NULL && err == NULL);
		json_decref(args);
		json_decref(req);
		return;
	}
	fuzz_check(i == -1 && req == NULL && args == NULL);
	fuzz_check(code != NULL && err != NULL);
	/* As reply_error() builds it. */
	reply = json_pack("{s:b,s:s,s:s}", "ok", 0, "code", code, "error",
	    err);
	fuzz_check(reply != NULL);
	json_decref(reply);
	free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nl;
	size_t		 len;

	while (size > 0) {
		nl = memchr(s, '\n', size);
		len = nl != NULL ? (size_t)(nl - s) : size;
		if (len <= CONTROL_MAX_REQUEST)
			fuzz_line(s, len);
		if (nl == NULL)
			break;
		size -= len + 1;
		s += len + 1;
	}
	return (0);
}
