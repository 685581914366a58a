/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* heard: see heard.h. */
#include "heard.h"

#include <string.h>

void heard_init(struct heard_table *t)
{
	memset(t->slots, 0, sizeof t->slots);
	crypto_shorthash_keygen(t->key);
}

size_t heard_set(const struct heard_table *t, const uint8_t id[WIRE_IDLEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, id, WIRE_IDLEN, t->key);
	uint64_t v = 0;
	for (size_t i = 0; i < sizeof h; i++)
		v = v << 8 | h[i];
	return (size_t)(v % HEARD_SETS);
}

static struct heard *set_of(struct heard_table *t, const uint8_t id[WIRE_IDLEN])
{
	return &t->slots[heard_set(t, id) * HEARD_WAYS];
}

struct heard *heard_get(struct heard_table *t, const uint8_t id[WIRE_IDLEN])
{
	struct heard *set = set_of(t, id);
	for (size_t i = 0; i < HEARD_WAYS; i++)
		if (set[i].first_ms && memcmp(set[i].id, id, WIRE_IDLEN) == 0)
			return &set[i];
	return NULL;
}

struct heard *heard_add(struct heard_table *t, const uint8_t id[WIRE_IDLEN], uint64_t now_ms)
{
	struct heard *set = set_of(t, id), *pick = NULL;
	for (size_t i = 0; i < HEARD_WAYS; i++) {
		struct heard *h = &set[i];
		if (h->first_ms && memcmp(h->id, id, WIRE_IDLEN) == 0)
			return h;
		if (!pick || (pick->first_ms && (!h->first_ms || h->last_ms < pick->last_ms)))
			pick = h;
	}
	memset(pick, 0, sizeof *pick);
	memcpy(pick->id, id, WIRE_IDLEN);
	pick->last_ms = now_ms;
	return pick;
}

void heard_del(struct heard_table *t, const uint8_t id[WIRE_IDLEN])
{
	struct heard *h = heard_get(t, id);
	if (h)
		memset(h, 0, sizeof *h);
}
