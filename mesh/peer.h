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
#include "ratelimit.h"
#include "wire.h"

#define PEER_MAX 4096             /* peers tracked at once (beacon floods stop here) */

/*
 * One message in a peer's queue (docs/protocol.md section 6, "Delivery"). The queue is in
 * msg_id order; entries before peer.qsend have been sent and wait for the peer's ACK, the
 * rest wait to be sent. An entry leaves the queue when it is acknowledged or reported.
 */
struct peer_qent {
	struct peer_qent *next, *prev;
	struct outmsg *m;
	uint32_t next_frag;       /* fragments before this one are sent (while it is qsend) */
	uint64_t enqueued_ms;
	uint64_t deadline_ms;     /* its time-to-live ends: reported if not acknowledged */
	uint64_t sent_inc;        /* the peer incarnation it was last sent whole to; 0: never */
	bool inflight;            /* before qsend: sent, waiting for the ACK */
	bool if_member;           /* queued during a handshake: send only if the peer is a member */
};

/* A signed beacon kept to pass on (pex.c), with the endpoint and incarnation it was signed
 * for, checked or not yet. */
struct pex_kept {
	uint8_t *sig;                 /* len bytes, malloc'd; NULL: none */
	uint16_t len;
	bool checked;
	struct ipaddr ip;
	uint16_t port;
	uint64_t incarnation;
};

/* Other addresses of one node remembered (beacon.c, alternate()): a dual-stack host on two
 * segments beacons from four. One more is taken for a move each time it is heard. */
#define PEER_ALT_IPS 7

struct peer {
	struct peer *hnext;       /* hash chain */
	uint8_t id[WIRE_IDLEN];
	char hex[2 * WIRE_IDLEN + 1];
	char name[WIRE_MAX_NAME + 1];

	/* From beacons. */
	bool discovered;
	struct ipaddr ip;
	uint16_t port;
	/* a node on several of our segments, or with both families, beacons from several
	 * addresses: ip stays the one heard first while it is heard (ip_heard_ms), and the
	 * others are alt_ip (beacon.c) */
	uint64_t ip_heard_ms;
	uint64_t ip_heard_counter;    /* the newest counter heard at ip: replays there are not */
	struct ipaddr alt_ip[PEER_ALT_IPS];   /* the others heard, newest replacing oldest */
	uint8_t alt_next;                     /* the slot alt_ip's next one takes */
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
	/* a beacon of it was heard again after one was verified, or one was verified because it
	 * had been heard in the last second: not a one-off identity (its dials' class) */
	bool heard_again;

	/* Peer exchange (pex.c): its last signed beacon of its recorded endpoint (pex), and of
	 * a dual-stack node its beacon of the other family (pex_other: at one of its alt_ip, the
	 * run we are linked to, for peers whose session runs over that family); where its
	 * beacons are heard (PEX_*); the generation when a beacon became one to pass on, and the
	 * generation up to which what is to pass on was passed to it; whether it takes PEERS;
	 * its share of what it passes; until when nothing goes to it or about it (a beacon
	 * interval and a half from going live, so that where it is heard is known; 0: over). */
	struct pex_kept pex, pex_other;
	uint8_t pex_origin;
	uint64_t pex_gen, pex_sent_gen;
	uint64_t pex_wait_ms;
	bool pex_takes;
	struct tokens pex_rx;         /* its passed-on beacons taken (pex.c) */

	/* Sessions: at most one live and one we initiated that is in progress. */
	uint32_t live_sid;
	uint32_t pending_sid;
	bool present;                 /* ENTER reported, EXIT not yet */
	uint64_t incarnation;         /* of the live session's node */
	uint64_t prev_incarnation;    /* the one before: a run that never comes back (shared_id) */
	uint64_t shared_until_ms;     /* two nodes share this ID: keep our link until then */
	uint64_t shared_alarm_ms;     /* last ALARM about it */
	bool acks;                    /* its hello has WIRE_FEATURE_ACK (protocol section 6) */
	uint64_t last_live_ms;        /* when its last live session ended (0: never linked) */
	struct group_set groups;
	bool evasive;

	/* Receiving (protocol section 6, "Delivery"): of the node's rx_incarnation, the highest
	 * msg_id delivered to the application (rx_last_id) and taken by it (rx_taken_id, what
	 * ACK says), the last ACK sent and when the next is due (0: none). rx_refusing: a message
	 * was refused (no room) or lost, so none is taken until the MARK that answers our RESEND
	 * (rx_asked: sent). rx_last_ms: when rx_last_id last changed; the record is kept for
	 * MESH_RX_MEMORY_MS after that, so that a resend from the same run is not delivered
	 * twice. */
	uint64_t rx_incarnation;
	uint64_t rx_last_id;
	uint64_t rx_taken_id;
	uint64_t rx_emitted_id;       /* the last delivered one that reached the application */
	uint64_t rx_acked_id;
	size_t rx_unacked_bytes;      /* taken since the last ACK */
	size_t rx_unacked_msgs;       /* the same in messages (msg_ids are the sender's, not ours) */
	uint64_t ack_due_ms;
	uint64_t rx_last_ms;
	bool rx_refusing, rx_asked;

	/* Sending: the queue (peer_qent), qsend the next entry to send (NULL: all sent), and a
	 * MARK owed to the peer's RESEND (mark_due, for its msg_id mark_id). */
	struct peer_qent *qhead, *qtail, *qsend;
	size_t qmsgs, qbytes;
	size_t qinflight;             /* entries before qsend */
	uint64_t qdeadline_ms;        /* no queued message's time-to-live ends before this */
	bool mark_due;
	uint64_t mark_id;
	/* RESENDs are answered at most once per RESEND_MIN_MS (protocol section 6, "Delivery"
	 * 4): when the last was, and one that waits (resend_wait, for its msg_id resend_id). */
	uint64_t resend_last_ms;
	bool resend_wait;
	uint64_t resend_id;
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
/* Removes the head entry (acknowledged or dropped). */
void peer_dequeue(struct peer *p);
/* Removes e, wherever it is in the queue (qsend moves on to the next if it was e). */
void peer_unlink(struct peer *p, struct peer_qent *e);
/* qsend moves on past its entry (sent whole), or back to e (NULL: the head), so that
 * everything from there on is sent again. */
void peer_qsend_next(struct peer *p);
void peer_qsend_back(struct peer *p, struct peer_qent *e);

#endif
