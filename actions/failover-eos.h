/* EOS producer failover: one controller per nodeos program. */
#ifndef FAILOVER_EOS_H
#define FAILOVER_EOS_H

#include <jansson.h>

struct program;

void	*eosfo_parse(const json_t *, const char **, char **);
void	 eosfo_free_config(void *);
void	 eosfo_start(struct program *);
void	 eosfo_stop(struct program *);
void	 eosfo_exited(struct program *);
json_t	*eosfo_status_json(const struct program *);
int	 eosfo_command(struct program *, const char *, char **);

#endif
