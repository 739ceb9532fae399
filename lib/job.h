/*
 * Jobs: a command that is not a program, run to its end with its output
 * captured (exec actions, exec alert sinks).  See job.c.
 */
#ifndef JOB_H
#define JOB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct job_proc;

/* How a job ended; valid only during the done callback. */
struct job_result {
	int		 status;	/* exit status; -1: killed */
	int		 signo;		/* the signal that killed it */
	int		 timed_out;	/* its group killed at the timeout */
	const char	*out;		/* its output (see job.c) */
	const char	*last;		/* the last line of out */
};

struct job_params {
	char *const	*argv;		/* argv[0] is looked up in PATH */
	char *const	*env;		/* the environment; NULL: ours */
	int64_t		 timeout_ms;
	size_t		 outmax;	/* the last outmax - 1 bytes kept */
	void		(*done)(const struct job_result *, void *);
	void		*arg;		/* for done */
};

struct job_proc	*job_start(const struct job_params *, const char **);
void		 job_cancel(struct job_proc *);
char		**job_argv(const json_t *, const char *, char **);
char		**job_env(const char *const *);
void		 job_setenv(char ***, const char *, const char *);

#endif
