/* The oom probe kind's link to the program state machine. */
#ifndef PROBE_OOM_H
#define PROBE_OOM_H

#include <sys/types.h>

/*
 * Set by chainkeeperd to program_note_oom(): the OOM killer killed pid of
 * the named program's tree; sure is 1 for a kernel line naming pid, 0 for a
 * rise of the cgroup counter seen after the main process died.  Returns 1
 * if pid was (and is now reported as) the main process.  A hook, so that
 * chainkeeperctl, which links the probe table for config checks, does not
 * need the state machine.
 */
extern int	(*probe_oom_note_hook)(const char *, pid_t, int);

#endif
