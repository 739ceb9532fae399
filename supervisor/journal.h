/* The action journal: state_dir/journal.jsonl, append-only. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

int		 journal_open(const char *);
void		 journal_close(void);
uint64_t	 journal_append(json_t *, int);
json_t		*journal_recent(const char *, size_t);
int		 journal_fires(const char *, const char *, int, time_t);
time_t		 journal_last_fire(const char *, const char *);

#endif
