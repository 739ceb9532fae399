/* The action journal: state_dir/journal.jsonl, append-only. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

extern int	 journal_dry_run;

int		 journal_open(const char *);
void		 journal_close(void);
uint64_t	 journal_append(json_t *, int);
json_t		*journal_recent(const char *, size_t);
int		 journal_fires(const char *, const char *, int, int64_t);
int64_t		 journal_last_fire(const char *, const char *);
int		 journal_blocked(const char *, const char *);

#endif
