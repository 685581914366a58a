/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * nosocket: linked into every fuzz target and replay driver. A fuzz target runs on the host,
 * outside any network namespace, so it must never open a socket: this definition takes the
 * place of the C library's for the whole process (the program's own symbols come first, for
 * the shared libraries too), and ends the run loudly if anything reaches for one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	fprintf(stderr, "fuzz: socket(%d, %d, %d) called: fuzz targets must not open sockets\n",
	        domain, type, protocol);
	abort();
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
	(void)sv;
	fprintf(stderr, "fuzz: socketpair(%d, %d, %d) called: fuzz targets must not open sockets\n",
	        domain, type, protocol);
	abort();
}
