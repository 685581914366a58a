/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mesh_drop: why a message of ours was not delivered to a peer, the reason of a DROPPED event:
 * one enum, one name per case, for the engine (mesh/) and the node (node/), whose texts
 * docs/usage.md lists for programs that read them.
 */
#ifndef MESH_MESH_DROP_H
#define MESH_MESH_DROP_H

enum mesh_drop {
	MESH_DROP_QUEUE_FULL,      /* the peer's send queue was at its cap */
	MESH_DROP_EXPIRED,         /* its time-to-live ended before it was sent */
	MESH_DROP_UNCONFIRMED,     /* sent, but not acknowledged within its time-to-live */
	MESH_DROP_PEER_RESTARTED,  /* sent to a run of the peer that ended without acknowledging */
	MESH_DROP_PEER_GONE,       /* node: the peer was not there when the send ran */
	MESH_DROP_NO_MEMORY,       /* node: out of memory */
	MESH_DROP_NOT_SENT,        /* node: the engine refused it for another reason */
	MESH_DROP_COUNT
};

/* The reason's text: static, lower case, no trailing period. MESH_DROP_COUNT (not a
 * reason) stands for "delivered" where an answer is either (mesh_emit_answer). */
const char *mesh_drop_reason(enum mesh_drop d);

#endif
