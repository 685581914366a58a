/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ratelimit: the token bucket per source address that limits HELLOs (docs/protocol.md section
 * 4) and the checks of beacons of unknown node IDs (section 2): one table each. No socket and
 * no clock of its own: the caller hands in the address as text and the current time, so a
 * test can drive it with any clock.
 *
 * A fixed table of RATELIMIT_SLOTS sources; a new source takes the slot of the one heard from
 * least recently, so the table never grows, and a flood of fresh addresses can only evict.
 * Addresses are kept to RATELIMIT_ADDR_MAX - 1 bytes: two that agree that far share a bucket.
 * Time only counts forwards: a clock that steps back refills no bucket.
 */
#ifndef MESH_MESH_RATELIMIT_H
#define MESH_MESH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 64
#define RATELIMIT_PER_SEC 20.0       /* tokens a source gains per second */
#define RATELIMIT_BURST 40.0         /* and holds at most: a new source starts full */
#define RATELIMIT_ADDR_MAX 48        /* bytes kept per address, with its NUL */

struct ratelimit_slot {
	char addr[RATELIMIT_ADDR_MAX];
	bool used;
	double tokens;
	uint64_t last_ms;
};

/* All zero is an empty table. */
struct ratelimit {
	struct ratelimit_slot slot[RATELIMIT_SLOTS];
};

/* Takes a token for one HELLO (or check) from addr at now_ms: false when its bucket is empty. */
bool ratelimit_allow(struct ratelimit *rl, const char *addr, uint64_t now_ms);

/*
 * One bucket of whole tokens, for a single budget (the engine's beacon checks, a peer's
 * passed-on beacons): it gains per_s (> 0) tokens a second up to cap, and starts full (at_ms
 * 0: never used; all zero is a fresh bucket). The time towards a token not yet whole is kept,
 * but for a full bucket. As above, a clock that steps back refills nothing.
 */
struct tokens {
	uint64_t at_ms;
	unsigned n;
};

/* Whether tokens_take() would take one now, taking none. */
bool tokens_left(struct tokens *t, unsigned per_s, unsigned cap, unsigned floor,
                 uint64_t now_ms);
/* Takes a token if more than floor are left (floor tokens are kept for other callers). */
bool tokens_take(struct tokens *t, unsigned per_s, unsigned cap, unsigned floor,
                 uint64_t now_ms);

#endif
