/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * peer: what we know of another node ID, whether or not a session is up: its beacon (where to
 * connect, last counter), its live and pending sessions, its groups, the delivery state that
 * stops duplicates across sessions, and its bounded send queue (docs/protocol.md 4 to 6).
 *
 * Outgoing payloads are shared between peers (one SHOUT fans out to many queues) through a
 * reference-counted struct outmsg (outmsg.h), so a 1 MiB shout to 50 members is stored once.
 */
#ifndef MESH_MESH_PEER_H
#define MESH_MESH_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "group.h"
#include "mesh_err.h"
#include "outmsg.h"
#include "wire.h"

#define PEER_MAX 4096             /* peers tracked at once (beacon floods stop here) */

struct peer_qent {
	struct peer_qent *next;
	struct outmsg *m;
	uint32_t next_frag;       /* fragments before this one are sent */
	uint64_t enqueued_ms;
	bool if_member;           /* queued during a handshake: send only if the peer is a member */
};

struct peer {
	struct peer *hnext;       /* hash chain */
	uint8_t id[WIRE_IDLEN];
	char hex[2 * WIRE_IDLEN + 1];
	char name[WIRE_MAX_NAME + 1];

	/* From beacons. */
	bool discovered;
	uint8_t ip[4];
	uint16_t port;
	uint64_t beacon_counter;
	uint64_t beacon_incarnation;
	uint64_t first_unlinked_ms;   /* when we first saw it without any session; 0 if linked */
	uint64_t last_beacon_ms;
	/* Heard but not checked (a lower ID that is to dial us, protocol section 2): when it was
	 * first heard since it was last linked (0: not), and the incarnation it claimed. */
	uint64_t first_heard_ms;
	uint64_t heard_incarnation;

	/* Redialling (protocol section 4): handshakes we started that failed in a row, and when
	 * we may start the next; UINT64_MAX after its BYE, until a beacon says it moved. */
	uint32_t dial_failures;
	uint64_t next_dial_ms;
	/* when a beacon of the recorded endpoint and incarnation was last heard, checked or not:
	 * a node we fail to link but still hear is not forgotten, nor its backoff with it */
	uint64_t last_heard_ms;

	/* Sessions: at most one live and one we initiated that is in progress. */
	uint32_t live_sid;
	uint32_t pending_sid;
	bool present;                 /* ENTER reported, EXIT not yet */
	uint64_t incarnation;         /* of the live session's node */
	struct group_set groups;
	bool evasive;

	/* Delivery: highest msg_id delivered from rx_incarnation. */
	uint64_t rx_incarnation;
	uint64_t rx_last_id;

	/* Send queue. */
	struct peer_qent *qhead, *qtail;
	size_t qmsgs, qbytes;
};

struct peer_table {
	struct peer **buckets;
	size_t nbuckets;
	size_t n;
	uint8_t key[crypto_shorthash_KEYBYTES];  /* the bucket hash's, random per table */
};

enum mesh_err peer_table_init(struct peer_table *t, size_t nbuckets);
void peer_table_free(struct peer_table *t);
struct peer *peer_table_get(const struct peer_table *t, const uint8_t id[WIRE_IDLEN]);
/* Returns the existing peer or a new one; NULL when out of memory or at PEER_MAX. */
struct peer *peer_table_get_or_add(struct peer_table *t, const uint8_t id[WIRE_IDLEN]);
void peer_table_del(struct peer_table *t, struct peer *p);
/* Iteration: fn may not add or remove peers. */
void peer_table_each(const struct peer_table *t, void (*fn)(struct peer *, void *), void *arg);

/* Appends a message; MESH_ELIMIT if it would exceed either cap (the message is not queued). */
enum mesh_err peer_enqueue(struct peer *p, struct outmsg *m, bool if_member, uint64_t now_ms,
                           size_t max_msgs, size_t max_bytes);
/* Removes the head entry (sent or dropped). */
void peer_dequeue(struct peer *p);

#endif
