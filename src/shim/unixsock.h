/* Unix stream sockets by path, for the shim's start (main.c) and its proxy (proxy.c). */
#ifndef RUNCVM_SHIM_UNIXSOCK_H
#define RUNCVM_SHIM_UNIXSOCK_H

/* A connected, close-on-exec stream socket to path, or -1 with errno (ENAMETOOLONG when path
 * does not fit a socket address). */
int unix_dial(const char *path);

#endif
