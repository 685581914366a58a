/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * reasm: puts a fragmented SHOUT or WHISPER back together (docs/protocol.md section 6). One
 * struct reasm per session, one message at a time: the fragments of a message are sent
 * consecutively on one session, so anything else (another msg_id, index or count, the other
 * kind or group, or a gap in the DATA counters in between) means a fragment was lost, and the
 * message in progress is dropped whole. No socket and no clock: the caller hands in decoded
 * messages, whether a DATA frame went missing before this one, and the time.
 *
 * Memory: a message in progress holds at most WIRE_MAX_PAYLOAD bytes; between messages a
 * buffer of up to REASM_KEEP bytes is kept for the next one, until REASM_IDLE_MS pass without a
 * fragment. Buffers hold plaintext and are wiped before they are reused or freed.
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

/* All zero is an empty reassembly. */
struct reasm {
	uint64_t msg_id;
	uint32_t next, count;            /* count 0: no message in progress */
	bool shout;
	char group[WIRE_MAX_GROUP + 1];
	uint8_t *buf;
	size_t len, cap;
	uint64_t last_ms;                /* last fragment of the message in progress */
};

enum reasm_status {
	REASM_MORE = 0,     /* kept: the message is not whole yet */
	REASM_WHOLE,        /* out->data is the whole message, and the caller's */
	REASM_STRAY,        /* not the first fragment, and no message in progress: dropped */
	REASM_TOO_BIG,      /* the message passed WIRE_MAX_PAYLOAD bytes: dropped whole */
	REASM_BAD,          /* not a fragment wire_msg_decode() would return: dropped */
	REASM_NOMEM,        /* out of memory: the message is dropped */
};

struct reasm_out {
	/* Whatever the status: a message was in progress and this fragment did not continue it,
	 * so that message was dropped first (the fragment may still start a new one). */
	bool lost;
	uint64_t lost_msg_id;
	/* REASM_WHOLE */
	bool shout;
	uint64_t msg_id;
	char group[WIRE_MAX_GROUP + 1];  /* SHOUT: NUL-terminated; glen bytes */
	size_t glen;
	uint8_t *data;                   /* malloc'd, len bytes (never NULL); free it */
	size_t len;
};

/* Adds one SHOUT or WHISPER (decoded by wire_msg_decode) received at now_ms. gap: a DATA frame
 * went missing between the previous frame on this session and this one. */
enum reasm_status reasm_add(struct reasm *r, const struct wire_msg *msg, bool gap,
                            uint64_t now_ms, struct reasm_out *out);
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

#endif
