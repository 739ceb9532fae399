/*
 * Fuzz the small parsers of lib/util.c: the first byte picks one,
 * the rest is its input.
 *   0 utf8_sanitize: the result must be valid UTF-8 (jansson accepts it)
 *   1 split_command
 *   2 parse_duration, 3 parse_size, 4 parse_signal, 5 parse_utc_time
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*err;
	char		*s, **argv;
	json_t		*j;
	int64_t		 v;
	size_t		 i;
	int		 sig;

	switch (fuzz_pick(&data, &size, 6)) {
	case 0:
		s = fuzz_strndup(data, size);
		utf8_sanitize(s, size);
		/* No NUL is left inside, and jansson takes it as UTF-8. */
		fuzz_check(strlen(s) == size);
		j = json_stringn(s, size);
		fuzz_check(j != NULL);
		json_decref(j);
		free(s);
		break;
	case 1:
		s = fuzz_strndup(data, size);
		argv = split_command(s, &err);
		if (argv == NULL)
			fuzz_check(err != NULL);
		else {
			fuzz_check(argv[0] != NULL);
			for (i = 0; argv[i] != NULL; i++)
				fuzz_check(strlen(argv[i]) <= size);
		}
		free_argv(argv);
		free(s);
		break;
	case 2:
		s = fuzz_strndup(data, size);
		if (parse_duration(s, &v, &err) == 0)
			fuzz_check(v >= 0);
		else
			fuzz_check(err != NULL);
		free(s);
		break;
	case 3:
		s = fuzz_strndup(data, size);
		if (parse_size(s, &v, &err) == 0)
			fuzz_check(v >= 0);
		else
			fuzz_check(err != NULL);
		free(s);
		break;
	case 4:
		s = fuzz_strndup(data, size);
		sig = parse_signal(s);
		fuzz_check(sig == -1 || (sig > 0 && sig < 65));
		if (sig != -1)
			fuzz_check(signal_name(sig) != NULL);
		free(s);
		break;
	case 5:
		s = fuzz_strndup(data, size);
		(void)parse_utc_time(s, &v);
		free(s);
		break;
	}
	return (0);
}
