/* Folders and files opened as root without following anyone's links. */
#ifndef FSAFE_H
#define FSAFE_H

#include <sys/types.h>
#include <stddef.h>

#define FSAFE_NOUSER	((uid_t)-1)	/* no program user: root only */

#define FSAFE_CREATE	0x1	/* make missing folders (0750) */
#define FSAFE_MISSING	0x2	/* missing is fine: return -2 */
#define FSAFE_ROOTLINK	0x4	/* follow links in root's folders */

struct fsafe_err {
	char	 msg[512];
	int	 made;		/* folders made by fsafe_opendir() */
};

int	 fsafe_opendir(const char *, uid_t, int, struct fsafe_err *);
int	 fsafe_openat(int, const char *, int, mode_t, uid_t,
	    struct fsafe_err *);
int	 fsafe_openat_x(int, const char *, int, mode_t, uid_t, int,
	    struct fsafe_err *);
int	 fsafe_check_dir(const char *, uid_t, struct fsafe_err *);
int	 fsafe_owner_ok(uid_t, uid_t);
const char *fsafe_logdir_refused(const char *, uid_t);
int	 fsafe_mktemp(int, const char *);

#endif
