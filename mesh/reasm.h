/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * reasm: puts a fragmented SHOUT or WHISPER back together (docs/protocol.md section 6). At
 * most one struct reasm per session, made by its owner for the first fragment of a message of
 * several and freed once it is idle (reasm_idle); one message at a time: the fragments of a
 * message are sent consecutively on one session, so anything else (another msg_id, index or
 * count, the other kind or group, or a gap in the DATA counters in between) means a fragment
 * was lost, and the message in progress is dropped whole. No socket and no clock: the caller
 * hands in decoded messages, whether a DATA frame went missing before this one, and the time.
 * A freed struct reasm and a zeroed one are the same to every function here.
 *
 * Memory: a message in progress holds at most WIRE_MAX_PAYLOAD bytes; between messages a
 * buffer of up to REASM_KEEP bytes is kept for the next one, until REASM_IDLE_MS pass without a
 * fragment. Buffers hold plaintext and are wiped before they are reused or freed.
 *
 * Node-wide budget: every session's partial messages belong to one struct reasm_pool, which
 * holds at most its budget (REASM_BUDGET) in buffers of messages in progress, however many
 * peers each keep one incomplete. Adding a message that would pass it drops the oldest others
 * first (by first fragment). The session whose message went learns it on its next fragment
 * (REASM_EVICTED), before anything else of that sender can be delivered, so the caller can
 * refuse it and have it sent again (docs/protocol.md section 6, "Delivery" 4) rather than skip
 * it.
 *
 * The caller counts and logs what the results say; reasm keeps no counters.
 */
#ifndef MESH_MESH_REASM_H
#define MESH_MESH_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define REASM_KEEP 65536             /* buffer kept between messages */
#define REASM_IDLE_MS 5000           /* ... but not once no fragment came for this long */

/* Bytes held in partial messages by all sessions together (docs/protocol.md section 7): 32
 * messages of the largest size, so that many legitimate large messages at once still fit. */
#define REASM_BUDGET (32u * WIRE_MAX_PAYLOAD)

struct reasm;

/* All zero but budget is an empty pool. */
struct reasm_pool {
	size_t held, budget;             /* bytes charged to messages in progress */
	struct reasm *oldest, *newest;   /* the messages in progress, by first fragment */
};

/* All zero is an empty reassembly. */
struct reasm {
	uint64_t msg_id;
	uint32_t next, count;            /* count 0: no message in progress */
	bool shout;
	char group[WIRE_MAX_GROUP + 1];
	uint8_t *buf;
	size_t len, cap;
	uint64_t last_ms;                /* last fragment of the message in progress */
	/* while a message is in progress with a pool: its place there and what it is charged */
	struct reasm_pool *pool;
	struct reasm *older, *newer;
	size_t charged;
	bool evicted;                    /* the pool dropped evicted_id to make room */
	uint64_t evicted_id;
};

enum reasm_status {
	REASM_MORE = 0,     /* kept: the message is not whole yet */
	REASM_WHOLE,        /* out->data is the whole message, and the caller's */
	REASM_STRAY,        /* not the first fragment, and no message in progress: dropped */
	REASM_TOO_BIG,      /* the message passed WIRE_MAX_PAYLOAD bytes: dropped whole */
	REASM_BAD,          /* not a fragment wire_msg_decode() would return: dropped */
	REASM_NOMEM,        /* out of memory: the message is dropped */
	REASM_EVICTED,      /* the pool dropped the message in progress (lost_msg_id) for room
	                     * since the last fragment; this fragment is dropped too */
};

struct reasm_out {
	/* Whatever the status: a message was in progress and this fragment did not continue it,
	 * so that message was dropped first (the fragment may still start a new one). */
	bool lost;
	uint64_t lost_msg_id;
	/* messages of other sessions this fragment's message dropped from the pool for room */
	size_t evicted;
	/* REASM_WHOLE */
	bool shout;
	uint64_t msg_id;
	char group[WIRE_MAX_GROUP + 1];  /* SHOUT: NUL-terminated; glen bytes */
	size_t glen;
	uint8_t *data;                   /* malloc'd, len bytes (never NULL); free it */
	size_t len;
};

/* Adds one SHOUT or WHISPER (decoded by wire_msg_decode) received at now_ms. gap: a DATA frame
 * went missing between the previous frame on this session and this one. pool: where a
 * message of several fragments is charged, the same for every call on r; NULL: none. */
enum reasm_status reasm_add(struct reasm_pool *pool, struct reasm *r, const struct wire_msg *msg,
                            bool gap, uint64_t now_ms, struct reasm_out *out);
/* Drops a message in progress that has had no fragment for max_idle_ms: true if there was one,
 * and its ID in *msg_id. A sender that stops half way must not pin a partial message. */
bool reasm_expire(struct reasm *r, uint64_t now_ms, uint64_t max_idle_ms, uint64_t *msg_id);
/* Drops a message in progress; keeps the buffer (wiped) if it is small. */
void reasm_reset(struct reasm *r);
/* Frees the buffer kept between messages once no fragment arrived for REASM_IDLE_MS and no
 * message is in progress: a burst of large messages must not pin 64 KiB in every session for
 * good, while a stream of them still reuses one buffer. */
void reasm_trim(struct reasm *r, uint64_t now_ms);
/* Wipes and frees everything; r is then empty. */
void reasm_free(struct reasm *r);
/* Nothing in progress, no buffer kept, nothing to report at the next fragment: the owner may
 * free r itself (r is in no pool then) and make a new one when a fragment comes. */
bool reasm_idle(const struct reasm *r);

#endif
