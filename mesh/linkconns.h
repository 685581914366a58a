/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * linkconns: the DEALERs the link dialled (link.c), one per session we initiate, found by
 * session ID. Open addressing with linear probing, load at most one half, removal by backward
 * shift, so a lookup never stops early at a hole. No socket calls: the link opens and closes
 * what the records hold. Owned by the engine's thread, like the link.
 */
#ifndef MESH_MESH_LINKCONNS_H
#define MESH_MESH_LINKCONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "mesh_err.h"

/* A DEALER we dialled for one session. */
struct linkconn {
	uint32_t sid;
	void *sock;
	int fd;                      /* its ZMQ_FD while in the epoll set; else -1 */
	bool recheck;                /* queued for a readiness recheck */
	char addr[IPADDR_EPLEN];     /* "IP:PORT" or "[IPv6]:PORT" it dialled, for the sink */
};

struct linkconns {
	struct linkconn **slots;     /* cap of them (a power of two, or 0), NULL where empty */
	size_t cap, n;
	/* counts additions and removals: either may move records between slots, so a walk by
	 * slot that one interrupted must start again */
	uint64_t gen;
};

/* An empty table: MESH_OK, or MESH_ENOMEM with no slots (cap 0), which every call below
 * takes as empty. */
enum mesh_err linkconns_init(struct linkconns *t);
/* Frees the slots, not the records (the caller closes them first). */
void linkconns_free(struct linkconns *t);
/* sid's record, or NULL (sid 0 is never one). */
struct linkconn *linkconns_get(const struct linkconns *t, uint32_t sid);
/* Adds c, whose sid is not in t: MESH_OK, or MESH_ENOMEM with t unchanged. */
enum mesh_err linkconns_add(struct linkconns *t, struct linkconn *c);
/* Removes sid's record from t, if there; the record itself stays the caller's. */
void linkconns_del(struct linkconns *t, uint32_t sid);

#endif
