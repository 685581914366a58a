/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ratelimit: see ratelimit.h. Invariant: 0 <= tokens <= RATELIMIT_BURST in every slot.
 */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

bool ratelimit_allow(struct ratelimit *rl, const char *addr, uint64_t now_ms)
{
	struct ratelimit_slot *slot = NULL, *oldest = &rl->slot[0];
	for (int i = 0; i < RATELIMIT_SLOTS; i++) {
		if (strcmp(rl->slot[i].addr, addr) == 0) {
			slot = &rl->slot[i];
			break;
		}
		if (rl->slot[i].last_ms < oldest->last_ms)
			oldest = &rl->slot[i];
	}
	if (!slot) {
		slot = oldest;
		snprintf(slot->addr, sizeof slot->addr, "%s", addr);
		slot->tokens = RATELIMIT_BURST;
		slot->last_ms = now_ms;
	}
	slot->tokens += (double)(now_ms - slot->last_ms) * RATELIMIT_PER_SEC / 1000.0;
	if (slot->tokens > RATELIMIT_BURST)
		slot->tokens = RATELIMIT_BURST;
	slot->last_ms = now_ms;
	if (slot->tokens < 1.0)
		return false;
	slot->tokens -= 1.0;
	return true;
}
