/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* backlog: see backlog.h. */
#include "backlog.h"

#include <string.h>

static struct backlog_entry *find(struct backlog *b, const uint8_t id[WIRE_IDLEN])
{
	for (size_t i = 0; i < b->n; i++)
		if (memcmp(b->e[i].id, id, WIRE_IDLEN) == 0)
			return &b->e[i];
	return NULL;
}

bool backlog_put(struct backlog *b, const struct backlog_entry *in, uint64_t now_ms)
{
	if (in->len > sizeof in->blob)
		return false;
	struct backlog_entry *e = find(b, in->id);
	if (e && in->counter <= e->counter)
		return true;                /* the one held is as new: it stays */
	if (!e && b->n == BACKLOG_SLOTS)
		return false;
	uint64_t held_ms = e ? e->held_ms : now_ms;
	if (!e)
		e = &b->e[b->n++];
	*e = *in;
	e->held_ms = held_ms;
	e->last_ms = now_ms;
	return true;
}

const struct backlog_entry *backlog_oldest(const struct backlog *b)
{
	const struct backlog_entry *o = NULL;
	for (size_t i = 0; i < b->n; i++)
		if (!o || b->e[i].held_ms < o->held_ms)
			o = &b->e[i];
	return o;
}

static void remove_at(struct backlog *b, size_t i)
{
	b->e[i] = b->e[--b->n];
	memset(&b->e[b->n], 0, sizeof b->e[b->n]);
}

void backlog_del(struct backlog *b, const uint8_t id[WIRE_IDLEN])
{
	struct backlog_entry *e = find(b, id);
	if (e)
		remove_at(b, (size_t)(e - b->e));
}

size_t backlog_expire(struct backlog *b, uint64_t before_ms)
{
	size_t gone = 0;
	for (size_t i = 0; i < b->n;)
		if (b->e[i].last_ms < before_ms) {
			remove_at(b, i);
			gone++;
		} else {
			i++;
		}
	return gone;
}
