/*
 * Fuzz the configuration loader (config_load() of supervisor/config.c):
 * the input is written to chainkeeper.yaml in a private temporary folder
 * (made once per process; include: globs are relative to it) and loaded.
 * A configuration is accepted and can be shown as JSON (chainkeeperd -nv,
 * status) with each program equal to itself (a reload keeps it), or it is
 * refused with an error message.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

#include "fuzz.h"

static char	 dir[PATH_MAX];
static char	 path[PATH_MAX];

static void
fuzz_cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/*
	 * tmpfs if there is one: on ext4, closing a truncated file flushes
	 * it (auto_da_alloc), which costs milliseconds per input.
	 */
	if (access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	else if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/ck-fuzz-config.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/chainkeeper.yaml", dir);
	atexit(fuzz_cleanup);
	config_use_kinds(&config_kinds_all);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	json_t		*j;
	char		*errors = NULL;
	size_t		 i;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(path);
		abort();
	}
	n = write(fd, data, size);
	fuzz_check(n == (ssize_t)size);
	close(fd);

	cfg = config_load(path, &errors);
	if (cfg == NULL) {
		fuzz_check(errors != NULL && *errors != '\0');
		free(errors);
		return (0);
	}
	fuzz_check(errors == NULL);
	j = config_json(cfg, 1);
	fuzz_check(j != NULL);
	json_decref(j);
	for (i = 0; i < cfg->nprograms; i++)
		fuzz_check(config_program_equal(cfg->programs[i],
		    cfg->programs[i]));
	config_free(cfg);
	return (0);
}
