/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_reasm: fragment reassembly (mesh/reasm.h) against a model of what it documents. The
 * input is a list of 8-byte records, each one fragment (valid or not: any type, index, count,
 * length and group) with whether a DATA frame went missing before it, how far the clock moves,
 * and whether reasm_expire, reasm_trim or reasm_reset runs after it. A second implementation
 * written here from reasm.h's words says what each call must return, and the target checks:
 *
 * - every status and every "lost" report (with its msg_id) is the model's;
 * - a message handed over is exactly its fragments 0..count-1 of one msg_id, in order, of one
 *   kind and group, with no missing DATA frame in between: never out of sequence, never
 *   spliced from two messages (fragment bytes carry their msg_id and index to tell);
 * - bytes stay bounded: a message in progress holds at most WIRE_MAX_PAYLOAD bytes, a buffer
 *   kept between messages is at most REASM_KEEP, buf is NULL exactly when cap is 0, and
 *   count == 0 or next < count <= WIRE_MAX_FRAGMENTS (reasm.c's invariants);
 * - reasm_trim frees the kept buffer once REASM_IDLE_MS passed with no message in progress.
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_reasm: %s:%d: %s\n", __FILE__,       \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

#define REC 8

enum {
	F_SHOUT = 1, F_GAP = 2, F_OTHER = 4, F_BIG = 8, F_EXPIRE = 16, F_TRIM = 32, F_RESET = 64,
	F_GROUP_B = 128,
};

/* The model: the message in progress, as reasm.h describes it. */
static struct {
	bool active;
	uint64_t msg_id;
	uint32_t next, count;
	bool shout;
	char group[WIRE_MAX_GROUP + 1];
	size_t glen;
	size_t len;
	uint64_t last_ms;
} md;

static uint8_t frag[WIRE_MAX_FRAGMENT + 1024];
static char groups[2][80];

/* Fragment bytes say whose they are: a header of its msg_id and index, then a byte made of
 * both, so that a splice or a reordering shows. memset and memcmp keep large ones cheap. */
#define HDR 5

static uint8_t tag(uint64_t msg_id, uint32_t index)
{
	return (uint8_t)(msg_id * 31 + index * 7 + 1);
}

static void fill(uint8_t *p, uint64_t msg_id, uint32_t index, size_t len)
{
	uint8_t h[HDR] = { (uint8_t)msg_id, (uint8_t)(msg_id >> 8), (uint8_t)index, 0xa5,
	                   tag(msg_id, index) };
	memcpy(p, h, len < HDR ? len : HDR);
	if (len > HDR)
		memset(p + HDR, tag(msg_id, index), len - HDR);
}

static uint8_t expect_buf[sizeof frag];

/* The message handed over must be the model's: fragments 0..count-1 of msg_id. The lengths of
 * the fragments are kept as they were added. */
static size_t frag_len[WIRE_MAX_FRAGMENTS];

static void check_whole(const struct reasm_out *o)
{
	size_t off = 0;
	REQUIRE(o->data != NULL && o->len == md.len && o->msg_id == md.msg_id);
	REQUIRE(o->shout == md.shout);
	if (md.shout)
		REQUIRE(o->glen == md.glen && memcmp(o->group, md.group, md.glen) == 0 &&
		        o->group[o->glen] == '\0');
	for (uint32_t i = 0; i < md.count; i++) {
		fill(expect_buf, md.msg_id, i, frag_len[i]);
		REQUIRE(memcmp(o->data + off, expect_buf, frag_len[i]) == 0);
		off += frag_len[i];
	}
	REQUIRE(off == o->len);
}

static void check_invariants(const struct reasm *r)
{
	REQUIRE((r->buf == NULL) == (r->cap == 0));
	REQUIRE(r->len <= r->cap || (r->len == 0 && r->cap == 0));
	REQUIRE(r->len <= WIRE_MAX_PAYLOAD && r->cap <= WIRE_MAX_PAYLOAD);
	REQUIRE(r->count == 0 || (r->next < r->count && r->count <= WIRE_MAX_FRAGMENTS));
	REQUIRE((r->count != 0) == md.active);
	if (!r->count)
		REQUIRE(r->cap <= REASM_KEEP && r->len == 0);
	else
		REQUIRE(r->len == md.len && r->next == md.next && r->msg_id == md.msg_id);
}

static bool model_valid(const struct wire_msg *m)
{
	bool shout = m->type == WIRE_SHOUT;
	if (!shout && m->type != WIRE_WHISPER)
		return false;
	if (m->count == 0 || m->count > WIRE_MAX_FRAGMENTS || m->index >= m->count ||
	    m->data_len > WIRE_MAX_FRAGMENT)
		return false;
	return !shout || m->group.len <= WIRE_MAX_GROUP;
}

static void add(struct reasm *r, const struct wire_msg *m, bool gap, uint64_t now)
{
	struct reasm_out o;
	bool shout = m->type == WIRE_SHOUT;
	bool lost = false;
	uint64_t lost_id = 0;
	enum reasm_status want;

	/* what reasm.h says must happen */
	if (md.active &&
	    !(m->msg_id == md.msg_id && m->index == md.next && m->count == md.count &&
	      shout == md.shout && !gap &&
	      (!shout || (m->group.len == md.glen && memcmp(m->group.p, md.group, md.glen) == 0)))) {
		lost = true;
		lost_id = md.msg_id;
		md.active = false;
	}
	if (!model_valid(m)) {
		want = REASM_BAD;
	} else if (!md.active && m->index != 0) {
		want = REASM_STRAY;
	} else {
		if (!md.active) {
			md.active = true;
			md.msg_id = m->msg_id;
			md.count = m->count;
			md.next = 0;
			md.shout = shout;
			md.glen = shout ? m->group.len : 0;
			if (md.glen)
				memcpy(md.group, m->group.p, md.glen);
			md.len = 0;
		}
		if (md.len + m->data_len > WIRE_MAX_PAYLOAD) {
			want = REASM_TOO_BIG;
			md.active = false;
		} else {
			frag_len[md.next++] = m->data_len;
			md.len += m->data_len;
			md.last_ms = now;
			want = md.next < md.count ? REASM_MORE : REASM_WHOLE;
		}
	}

	enum reasm_status got = reasm_add(NULL, r, m, gap, now, &o);   /* no pool: one session */
	REQUIRE(got == want);
	REQUIRE(o.lost == lost && (!lost || o.lost_msg_id == lost_id));
	if (got == REASM_WHOLE) {
		check_whole(&o);
		md.active = false;
		free(o.data);
	} else {
		REQUIRE(o.data == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm r;
	uint64_t now = 1000;

	memset(&r, 0, sizeof r);
	memset(&md, 0, sizeof md);
	memset(groups[0], 'g', sizeof groups[0]);
	memset(groups[1], 'g', sizeof groups[1]);
	groups[1][0] = 'h';
	for (size_t at = 0; at + REC <= size; at += REC) {
		const uint8_t *b = data + at;
		struct wire_msg m;
		memset(&m, 0, sizeof m);
		m.type = b[0] & F_OTHER ? (b[1] & 1 ? WIRE_ACK : 0) : b[0] & F_SHOUT ? WIRE_SHOUT
		                                                                     : WIRE_WHISPER;
		m.msg_id = b[1] >> 1;
		m.index = b[2] & 0x1f;
		m.count = b[3] & 0x1f;
		m.data_len = b[0] & F_BIG ? (size_t)b[4] << 8 | b[5] : b[4];
		if (m.data_len > sizeof frag)
			m.data_len = sizeof frag;
		fill(frag, m.msg_id, m.index, m.data_len);
		m.data = frag;
		if (m.type == WIRE_SHOUT) {
			m.group.p = groups[b[0] & F_GROUP_B ? 1 : 0];
			m.group.len = b[7] % 70;        /* past WIRE_MAX_GROUP too */
		}
		now += (uint64_t)b[6] * 64;
		add(&r, &m, (b[0] & F_GAP) != 0, now);
		check_invariants(&r);

		if (b[0] & F_EXPIRE) {
			uint64_t id = 0, idle = (uint64_t)(b[7] & 0x0f) * 1000;
			bool want = md.active && now - md.last_ms >= idle;
			REQUIRE(reasm_expire(&r, now, idle, &id) == want);
			if (want) {
				REQUIRE(id == md.msg_id);
				md.active = false;
			}
		}
		if (b[0] & F_TRIM) {
			bool idle = !md.active && now - r.last_ms >= REASM_IDLE_MS;
			reasm_trim(&r, now);
			if (idle)
				REQUIRE(r.buf == NULL && r.cap == 0);
		}
		if ((b[0] & F_RESET) && (b[7] & 0x80)) {
			reasm_reset(&r);
			md.active = false;
		}
		check_invariants(&r);
		/* as the engine's sweep does: an idle reasm is freed, and a zeroed one stands for it */
		if (reasm_idle(&r)) {
			REQUIRE(!md.active && r.buf == NULL);
			reasm_free(&r);
			memset(&r, 0, sizeof r);
		}
	}
	reasm_free(&r);
	REQUIRE(r.buf == NULL && r.cap == 0 && r.count == 0);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

/* One record: flags, msg_id, index, count, data_len (hi, lo or lo alone), time, group. */
static size_t rec(uint8_t *p, uint8_t flags, uint8_t id, uint8_t index, uint8_t count,
                  size_t len, uint8_t time, uint8_t group)
{
	p[0] = flags | (len > 255 ? F_BIG : 0);
	p[1] = (uint8_t)(id << 1);
	p[2] = index;
	p[3] = count;
	p[4] = len > 255 ? (uint8_t)(len >> 8) : (uint8_t)len;
	p[5] = (uint8_t)len;
	p[6] = time;
	p[7] = group;
	return REC;
}

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	size_t n = 0;
	if (cap < 40 * REC)
		return 0;
	switch (i) {
	case 0:   /* a whisper in one fragment, then a shout in one */
		n += rec(buf + n, 0, 1, 0, 1, 10, 1, 0);
		n += rec(buf + n, F_SHOUT, 2, 0, 1, 0, 1, 4);
		break;
	case 1:   /* a shout in three fragments */
		for (uint8_t k = 0; k < 3; k++)
			n += rec(buf + n, F_SHOUT, 5, k, 3, 200, 1, 4);
		break;
	case 2:   /* a whisper of the largest size, in 18 fragments of 58254 bytes */
		for (uint8_t k = 0; k < 18; k++)
			n += rec(buf + n, 0, 9, k, 18, 58254, 0, 0);
		break;
	case 3:   /* a lost fragment (gap), then a stray, then a new message */
		n += rec(buf + n, 0, 3, 0, 2, 100, 1, 0);
		n += rec(buf + n, F_GAP, 3, 1, 2, 100, 1, 0);
		n += rec(buf + n, 0, 4, 1, 2, 100, 1, 0);
		n += rec(buf + n, 0, 4, 0, 2, 300, 1, 0);
		n += rec(buf + n, 0, 4, 1, 2, 300, 1, 0);
		break;
	case 4:   /* a message left half way expires, the kept buffer is trimmed */
		n += rec(buf + n, F_SHOUT, 6, 0, 4, 60000, 1, 4);
		n += rec(buf + n, F_SHOUT | F_EXPIRE, 6, 1, 4, 60000, 100, 0x05);
		n += rec(buf + n, F_TRIM, 7, 9, 1, 1, 100, 0);
		break;
	case 5:   /* a too-big message: 18 fragments of 60000 bytes */
		for (uint8_t k = 0; k < 18; k++)
			n += rec(buf + n, 0, 8, k, 18, 60000, 0, 0);
		break;
	case 6:   /* bad fragments: another type, count 0, index past count, oversized, group */
		n += rec(buf + n, F_OTHER, 1, 0, 1, 10, 0, 0);
		n += rec(buf + n, 0, 1, 0, 0, 10, 0, 0);
		n += rec(buf + n, 0, 1, 3, 2, 10, 0, 0);
		n += rec(buf + n, 0, 1, 0, 1, 60001, 0, 0);
		n += rec(buf + n, F_SHOUT, 1, 0, 1, 10, 0, 65);
		n += rec(buf + n, F_SHOUT | F_RESET, 1, 0, 2, 10, 0, 0x84);
		break;
	default:
		return 0;
	}
	return n;
}
