/*
 * Passing descriptors between chainkeeperd and chainkeeper-fdholder.  A
 * message is one packet: a text (no NUL) and, in its control data,
 * either no descriptor or exactly two.  Only libc: the holder links this
 * and nothing else.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <string.h>

#include "fdpass.h"

union fdpass_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(2 * sizeof(int))];
};

/*
 * Send text with fds (two descriptors, or NULL for none); flags are added
 * to sendmsg's (MSG_DONTWAIT).  0, or -1 with errno set.
 */
int
fdpass_send(int s, const char *text, const int fds[2], int flags)
{
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	union fdpass_cmsg	 c;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)text;
	iov.iov_len = strlen(text);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fds != NULL) {
		msg.msg_control = c.buf;
		msg.msg_controllen = sizeof(c.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, 2 * sizeof(int));
	}
	return (sendmsg(s, &msg, MSG_NOSIGNAL | flags) == -1 ? -1 : 0);
}

/*
 * Receive one message into buf (NUL-terminated, at most len - 1 bytes)
 * and the two descriptors it carries (close-on-exec), or -1 in both
 * fds.  Returns its length, or -1 at EOF or on an error.
 */
ssize_t
fdpass_recv(int s, char *buf, size_t len, int fds[2])
{
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	union fdpass_cmsg	 c;
	ssize_t			 n;

	fds[0] = fds[1] = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = len - 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = c.buf;
	msg.msg_controllen = sizeof(c.buf);
	if ((n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return (-1);
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
			memcpy(fds, CMSG_DATA(cm), 2 * sizeof(int));
	return (n);
}
