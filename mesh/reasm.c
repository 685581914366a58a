/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * reasm: see reasm.h. Invariants: count == 0 or next < count <= WIRE_MAX_FRAGMENTS;
 * len <= cap and len <= WIRE_MAX_PAYLOAD; buf is NULL exactly when cap is 0.
 */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---------- the pool ---------- */

static void unlink_pool(struct reasm *r)
{
	struct reasm_pool *pool = r->pool;
	if (!pool)
		return;
	pool->held -= r->charged;
	if (r->older)
		r->older->newer = r->newer;
	else
		pool->oldest = r->newer;
	if (r->newer)
		r->newer->older = r->older;
	else
		pool->newest = r->older;
	r->pool = NULL;
	r->older = r->newer = NULL;
	r->charged = 0;
}

static void link_pool(struct reasm_pool *pool, struct reasm *r)
{
	r->pool = pool;
	r->older = pool->newest;
	r->newer = NULL;
	if (pool->newest)
		pool->newest->newer = r;
	else
		pool->oldest = r;
	pool->newest = r;
	r->charged = 0;
}

/* r's buffer is charged to its pool; the oldest others go while the pool is over budget. r
 * itself never does: one message fits any budget (at least WIRE_MAX_PAYLOAD). */
static size_t charge(struct reasm *r)
{
	struct reasm_pool *pool = r->pool;
	size_t evicted = 0;
	if (!pool)
		return 0;
	pool->held += r->cap - r->charged;
	r->charged = r->cap;
	while (pool->held > pool->budget && pool->oldest && pool->oldest != r) {
		struct reasm *old = pool->oldest;
		uint64_t id = old->msg_id;
		reasm_reset(old);        /* unlinks it, and frees its (large) buffer */
		reasm_trim(old, UINT64_MAX);
		old->evicted = true;
		old->evicted_id = id;
		evicted++;
	}
	return evicted;
}

/* ---------- one session's message ---------- */

/* What wire_msg_decode() guarantees, checked again because a violation would write past
 * group[] or let a buffer grow without bound. */
static bool valid_fragment(const struct wire_msg *msg)
{
	bool shout = msg->type == WIRE_SHOUT;
	if (!shout && msg->type != WIRE_WHISPER)
		return false;
	if (msg->count == 0 || msg->count > WIRE_MAX_FRAGMENTS || msg->index >= msg->count)
		return false;
	if (msg->data_len > WIRE_MAX_FRAGMENT || (msg->data_len && !msg->data))
		return false;
	return !shout || (msg->group.len <= WIRE_MAX_GROUP && (msg->group.len == 0 || msg->group.p));
}

static bool continues(const struct reasm *r, const struct wire_msg *msg, bool shout, bool gap)
{
	return msg->msg_id == r->msg_id && msg->index == r->next && msg->count == r->count &&
	       shout == r->shout && !gap &&
	       (!shout || (msg->group.len == strlen(r->group) &&
	                   memcmp(msg->group.p, r->group, msg->group.len) == 0));
}

/* The common case, a message in one frame: straight from the frame to the caller. */
static enum reasm_status single(const struct wire_msg *msg, bool shout, struct reasm_out *out)
{
	uint8_t *data = malloc(msg->data_len ? msg->data_len : 1);
	if (!data)
		return REASM_NOMEM;
	if (msg->data_len)
		memcpy(data, msg->data, msg->data_len);
	out->shout = shout;
	out->msg_id = msg->msg_id;
	if (shout) {
		memcpy(out->group, msg->group.p, msg->group.len);
		out->group[msg->group.len] = '\0';
		out->glen = msg->group.len;
	}
	out->data = data;
	out->len = msg->data_len;
	return REASM_WHOLE;
}

/* Room for more bytes: the first fragment says how many follow, so room for all at once. */
static bool grow(struct reasm *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : REASM_KEEP;
	size_t whole = (size_t)r->count * WIRE_MAX_FRAGMENT;
	if (ncap < whole)
		ncap = whole < WIRE_MAX_PAYLOAD ? whole : WIRE_MAX_PAYLOAD;
	while (ncap < need)
		ncap *= 2;
	uint8_t *nb = malloc(ncap);
	if (!nb)
		return false;
	if (r->buf) {
		memcpy(nb, r->buf, r->len);
		sodium_memzero(r->buf, r->cap);
		free(r->buf);
	}
	r->buf = nb;
	r->cap = ncap;
	return true;
}

/* The message is whole: the buffer itself becomes the caller's, shrunk to the message (in
 * place: no copy), so that a queue's byte budget counts what it holds. */
static enum reasm_status hand_over(struct reasm *r, struct reasm_out *out)
{
	uint8_t *data = r->buf;
	size_t len = r->len;
	if (data && r->cap > len) {
		uint8_t *shrunk = realloc(data, len ? len : 1);
		if (!shrunk) {
			shrunk = malloc(len ? len : 1);   /* an exact copy, then the big one wiped */
			if (shrunk && len)
				memcpy(shrunk, data, len);
			if (shrunk) {
				sodium_memzero(data, len);
				free(data);
			}
		}
		if (!shrunk) {
			reasm_reset(r);
			return REASM_NOMEM;
		}
		data = r->buf = shrunk;
		r->cap = len ? len : 1;
	}
	if (!data)
		data = malloc(1);
	out->shout = r->shout;
	out->msg_id = r->msg_id;
	memcpy(out->group, r->group, sizeof out->group);
	out->glen = strlen(out->group);
	out->data = data;
	out->len = len;
	r->buf = NULL;
	r->cap = 0;
	reasm_reset(r);
	return data ? REASM_WHOLE : REASM_NOMEM;
}

enum reasm_status reasm_add(struct reasm_pool *pool, struct reasm *r, const struct wire_msg *msg,
                            bool gap, uint64_t now_ms, struct reasm_out *out)
{
	bool shout = msg->type == WIRE_SHOUT;
	memset(out, 0, sizeof *out);
	if (r->evicted) {
		/* whatever this is, something of its sender is missing: the caller decides */
		r->evicted = false;
		out->lost = true;
		out->lost_msg_id = r->evicted_id;
		return REASM_EVICTED;
	}
	if (r->count && !continues(r, msg, shout, gap)) {
		out->lost = true;
		out->lost_msg_id = r->msg_id;
		reasm_reset(r);
	}
	if (!valid_fragment(msg))
		return REASM_BAD;
	if (!r->count && msg->index == 0 && msg->count == 1)
		return single(msg, shout, out);
	if (!r->count) {
		if (msg->index != 0)
			return REASM_STRAY;
		r->msg_id = msg->msg_id;
		r->count = msg->count;
		r->next = 0;
		r->shout = shout;
		r->len = 0;
		r->group[0] = '\0';
		if (shout) {
			memcpy(r->group, msg->group.p, msg->group.len);
			r->group[msg->group.len] = '\0';
		}
		if (pool)
			link_pool(pool, r);
	}
	if (r->len + msg->data_len > WIRE_MAX_PAYLOAD) {
		reasm_reset(r);
		return REASM_TOO_BIG;
	}
	if (r->len + msg->data_len > r->cap) {
		if (!grow(r, r->len + msg->data_len)) {
			reasm_reset(r);
			return REASM_NOMEM;
		}
		out->evicted = charge(r);
	}
	if (msg->data_len)
		memcpy(r->buf + r->len, msg->data, msg->data_len);
	r->len += msg->data_len;
	r->next++;
	r->last_ms = now_ms;
	if (r->next < r->count)
		return REASM_MORE;
	return hand_over(r, out);
}

bool reasm_expire(struct reasm *r, uint64_t now_ms, uint64_t max_idle_ms, uint64_t *msg_id)
{
	if (!r->count || now_ms - r->last_ms < max_idle_ms)
		return false;
	*msg_id = r->msg_id;
	reasm_reset(r);
	return true;
}

void reasm_reset(struct reasm *r)
{
	unlink_pool(r);
	if (r->buf)
		sodium_memzero(r->buf, r->len);
	/* keep a small buffer for the next message, but do not pin up to 1 MiB per session */
	if (r->cap > REASM_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	r->len = 0;
	r->next = r->count = 0;
	r->msg_id = 0;
}

void reasm_trim(struct reasm *r, uint64_t now_ms)
{
	if (!r->buf || r->count || now_ms - r->last_ms < REASM_IDLE_MS)
		return;
	/* reset wiped the last message already; the buffer holds nothing of it */
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

bool reasm_idle(const struct reasm *r)
{
	return !r->count && !r->buf && !r->evicted && !r->pool;
}

void reasm_free(struct reasm *r)
{
	unlink_pool(r);
	if (r->buf) {
		/* a partial message is someone's plaintext */
		sodium_memzero(r->buf, r->cap);
		free(r->buf);
	}
	memset(r, 0, sizeof *r);
}
