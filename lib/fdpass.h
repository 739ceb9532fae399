/*
 * Passing descriptors: a short text message with a pair of descriptors
 * (or none) over a SOCK_SEQPACKET socket, as SCM_RIGHTS.
 */
#ifndef FDPASS_H
#define FDPASS_H

#include <sys/types.h>

int	 fdpass_send(int, const char *, const int [2], int);
ssize_t	 fdpass_recv(int, char *, size_t, int [2]);

#endif
