/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ratelimit: see ratelimit.h. Invariant: 0 <= tokens <= RATELIMIT_BURST in every slot, and a
 * slot's addr is meaningful only while `used`.
 */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

/* Which slot a new source may take: a free one first, else the one heard from least recently. */
static bool older(const struct ratelimit_slot *a, const struct ratelimit_slot *b)
{
	if (a->used != b->used)
		return !a->used;
	return a->last_ms < b->last_ms;
}

bool ratelimit_allow(struct ratelimit *rl, const char *addr, uint64_t now_ms)
{
	struct ratelimit_slot *slot = NULL, *oldest = &rl->slot[0];
	for (int i = 0; i < RATELIMIT_SLOTS; i++) {
		struct ratelimit_slot *s = &rl->slot[i];
		/* compared as stored: an address longer than a slot holds must still find its own
		 * bucket, or every HELLO from it would start a full one and evict another source */
		if (s->used && strncmp(s->addr, addr, sizeof s->addr - 1) == 0) {
			slot = s;
			break;
		}
		if (older(s, oldest))
			oldest = s;
	}
	if (!slot) {
		slot = oldest;
		snprintf(slot->addr, sizeof slot->addr, "%s", addr);
		slot->used = true;
		slot->tokens = RATELIMIT_BURST;
		slot->last_ms = now_ms;
	}
	/* a clock that steps back refills nothing: the time since counts from the new reading */
	if (now_ms > slot->last_ms)
		slot->tokens += (double)(now_ms - slot->last_ms) * RATELIMIT_PER_SEC / 1000.0;
	if (slot->tokens > RATELIMIT_BURST)
		slot->tokens = RATELIMIT_BURST;
	slot->last_ms = now_ms;
	if (slot->tokens < 1.0)
		return false;
	slot->tokens -= 1.0;
	return true;
}

static void refill(struct tokens *t, unsigned per_s, unsigned cap, uint64_t now_ms)
{
	if (!t->at_ms) {
		t->n = cap;
		t->at_ms = now_ms ? now_ms : 1;
	} else if (now_ms < t->at_ms) {
		t->at_ms = now_ms ? now_ms : 1;
	} else {
		uint64_t fill = (now_ms - t->at_ms) * per_s / 1000;
		if (fill && t->n + fill >= cap) {
			t->n = cap;
			t->at_ms = now_ms;
		} else if (fill) {
			/* only the time the whole tokens took: the rest counts towards the next */
			t->n += (unsigned)fill;
			t->at_ms += fill * 1000 / per_s;
		}
	}
}

bool tokens_left(struct tokens *t, unsigned per_s, unsigned cap, unsigned floor,
                 uint64_t now_ms)
{
	refill(t, per_s, cap, now_ms);
	return t->n > floor;
}

bool tokens_take(struct tokens *t, unsigned per_s, unsigned cap, unsigned floor,
                 uint64_t now_ms)
{
	refill(t, per_s, cap, now_ms);
	if (t->n <= floor)
		return false;
	t->n--;
	return true;
}
