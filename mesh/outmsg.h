/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * outmsg: one outgoing application message (SHOUT or WHISPER) or group change (JOIN, LEAVE),
 * shared by reference between the send queues of every peer it goes to, so a 1 MiB shout to
 * 50 members is stored once (docs/protocol.md section 6, "Queues").
 *
 * Threads: a mesh is single-threaded (mesh.h), and so is the reference count (not atomic).
 * outmsg_new() touches no mesh, so a caller may build a message on its own thread and copy the
 * payload there; until the message is handed to the mesh (mesh_shout_msg, mesh_whisper_msg)
 * it is the creator's alone. From then on it belongs to the mesh's thread: every outmsg_ref()
 * and outmsg_unref(), the creator's own reference included (node/ drops it in handle_wake),
 * and the encoded copy (enc) the mesh makes on first send.
 */
#ifndef MESH_MESH_OUTMSG_H
#define MESH_MESH_OUTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* JOIN and LEAVE travel in the same queue so that a peer sees them in order with shouts. */
enum outmsg_kind { OUTMSG_SHOUT = 1, OUTMSG_WHISPER = 2, OUTMSG_JOIN = 3, OUTMSG_LEAVE = 4 };

struct outmsg {
	unsigned refs;
	enum outmsg_kind kind;
	uint64_t msg_id;
	uint32_t ttl_ms;          /* time-to-live (<= MESH_TTL_MAX_MS); 0: the mesh's default */
	char group[WIRE_MAX_GROUP + 1];
	size_t glen;
	uint8_t *data;            /* points just past the struct: one allocation */
	size_t len;
	uint8_t *enc;             /* a one-frame shout's encoded plaintext, made on first send */
	size_t enc_len;
};

/* A message with one reference, the payload copied; NULL when out of memory or the group
 * name is too long. Any thread. */
struct outmsg *outmsg_new(enum outmsg_kind kind, uint64_t msg_id, const char *group,
                          const void *data, size_t len);
struct outmsg *outmsg_ref(struct outmsg *m);
/* Drops one reference; the last one wipes the payload and frees. *mp = NULL; NULL ok. */
void outmsg_unref(struct outmsg **mp);

#endif
