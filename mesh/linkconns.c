/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* linkconns: the link's dialled connections by session ID (see linkconns.h). */
#include "linkconns.h"

#include <stdlib.h>

#define CONNS_START 64

static size_t home_of(uint32_t sid, size_t cap)
{
	/* the engine's sids are random, but a transport should not depend on it */
	return (size_t)(sid * 2654435761u) & (cap - 1);
}

enum mesh_err linkconns_init(struct linkconns *t)
{
	t->n = 0;
	t->gen = 0;
	t->slots = calloc(CONNS_START, sizeof *t->slots);
	t->cap = t->slots ? CONNS_START : 0;
	return t->slots ? MESH_OK : MESH_ENOMEM;
}

void linkconns_free(struct linkconns *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

struct linkconn *linkconns_get(const struct linkconns *t, uint32_t sid)
{
	if (sid == 0 || t->cap == 0)
		return NULL;
	for (size_t i = home_of(sid, t->cap);; i = (i + 1) & (t->cap - 1)) {
		struct linkconn *c = t->slots[i];
		if (!c || c->sid == sid)
			return c;
	}
}

static void put(struct linkconn **slots, size_t cap, struct linkconn *c)
{
	size_t i = home_of(c->sid, cap);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = c;
}

enum mesh_err linkconns_add(struct linkconns *t, struct linkconn *c)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : CONNS_START;
		struct linkconn **ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return MESH_ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i])
				put(ns, ncap, t->slots[i]);
		free(t->slots);
		t->slots = ns;
		t->cap = ncap;
	}
	put(t->slots, t->cap, c);
	t->n++;
	t->gen++;
	return MESH_OK;
}

void linkconns_del(struct linkconns *t, uint32_t sid)
{
	if (t->cap == 0)
		return;
	size_t mask = t->cap - 1, i = home_of(sid, t->cap);
	while (t->slots[i] && t->slots[i]->sid != sid)
		i = (i + 1) & mask;
	if (!t->slots[i])
		return;
	t->slots[i] = NULL;
	t->n--;
	t->gen++;
	/* Backward-shift the rest of the cluster so lookups never stop early at the hole. */
	for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t home = home_of(t->slots[j]->sid, t->cap);
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
}
