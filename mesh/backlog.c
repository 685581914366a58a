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

enum backlog_put_result backlog_put(struct backlog *b, const struct backlog_entry *in,
                                    uint64_t now_ms)
{
	if (in->len > sizeof in->blob)
		return BACKLOG_FULL;
	struct backlog_entry *e = find(b, in->id);
	if (e && in->counter <= e->counter)
		return BACKLOG_KEPT;
	if (!e && b->n == BACKLOG_SLOTS)
		return BACKLOG_FULL;
	enum backlog_put_result r = e ? BACKLOG_REPLACED : BACKLOG_NEW;
	uint64_t held_ms = e ? e->held_ms : now_ms;
	if (!e)
		e = &b->e[b->n++];
	*e = *in;
	e->held_ms = held_ms;
	e->last_ms = now_ms;
	return r;
}

const struct backlog_entry *backlog_oldest(const struct backlog *b,
                                           bool (*ok)(void *arg,
                                                      const struct backlog_entry *e),
                                           void *arg)
{
	const struct backlog_entry *o = NULL;
	for (size_t i = 0; i < b->n; i++)
		if ((!o || b->e[i].held_ms < o->held_ms) && (!ok || ok(arg, &b->e[i])))
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

void backlog_superseded(struct backlog *b, const uint8_t id[WIRE_IDLEN], uint64_t counter)
{
	struct backlog_entry *e = find(b, id);
	if (e && e->counter <= counter)
		remove_at(b, (size_t)(e - b->e));
}

/* Drops the entries last held before before_ms (tag < 0), or of that tag; returns how many. */
static size_t drop_where(struct backlog *b, uint64_t before_ms, int tag)
{
	size_t gone = 0;
	for (size_t i = 0; i < b->n;)
		if (tag < 0 ? b->e[i].last_ms < before_ms : b->e[i].tag == tag) {
			remove_at(b, i);
			gone++;
		} else {
			i++;
		}
	return gone;
}

size_t backlog_expire(struct backlog *b, uint64_t before_ms)
{
	return drop_where(b, before_ms, -1);
}

size_t backlog_drop_tag(struct backlog *b, uint8_t tag)
{
	return drop_where(b, 0, tag);
}
