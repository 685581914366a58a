/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_reasm: mesh/reasm.c, the reassembly of fragmented SHOUT and WHISPER messages
 * (docs/protocol.md section 6), with no socket and no session: decoded messages in, results out.
 *
 * Scenarios are tables of steps run on one struct reasm, as a session would: fragments (with
 * their DATA counter, so a lost frame shows as a gap exactly as the engine computes it), other
 * frames in between, the expiry and trim timers, and the session closing. Each step says what
 * must come out: the status, which message (if any) was dropped first, and for a whole message
 * its length and bytes. After every step the memory bounds must hold. A random walk of hostile
 * fragments closes, under ASan in the sanitizer build.
 */
#include "reasm.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FRAG WIRE_MAX_FRAGMENT
#define LAST_OF_1MIB (WIRE_MAX_PAYLOAD - 17 * FRAG)     /* 28576: 17 full + this = 1 MiB */

enum op { FRAGMENT = 1, OTHER, EXPIRE, TRIM, CLOSE };

struct step {
	enum op op;
	char kind;                /* 'S' shout, 'W' whisper */
	uint64_t msg_id;
	uint32_t index, count;
	size_t len;               /* data bytes of this fragment */
	unsigned lost_before;     /* DATA frames lost just before this one (a counter gap) */
	uint64_t t;
	const char *group;        /* NULL: "chat" for a shout */
	/* what must come out */
	enum reasm_status want;
	uint64_t want_lost;       /* the message dropped first; 0: none */
	size_t want_len;          /* REASM_WHOLE; EXPIRE: 1 if a message expires, else 0 */
};

#define F(k, id, i, n, l) \
	{ .op = FRAGMENT, .kind = k, .msg_id = id, .index = i, .count = n, .len = l
#define S(id, i, n, l) F('S', id, i, n, l)
#define W(id, i, n, l) F('W', id, i, n, l)
#define MORE .want = REASM_MORE }
#define WHOLE(l) .want = REASM_WHOLE, .want_len = l }

struct scenario {
	const char *name;
	struct step steps[24];
};

static const struct scenario scenarios[] = {
	{ "one frame: a shout straight through",
	  { S(1, 0, 1, 100), WHOLE(100) } },
	{ "one frame: an empty whisper is a message of 0 bytes",
	  { W(1, 0, 1, 0), WHOLE(0) } },
	{ "in order: three fragments of a shout",
	  { S(7, 0, 3, FRAG), MORE, S(7, 1, 3, FRAG), MORE, S(7, 2, 3, 123), WHOLE(2 * FRAG + 123) } },
	{ "in order: empty fragments make an empty message",
	  { W(7, 0, 2, 0), MORE, W(7, 1, 2, 0), WHOLE(0) } },
	{ "in order: one message after another, the buffer reused",
	  { W(1, 0, 2, 1000), MORE, W(1, 1, 2, 10), WHOLE(1010),
	    W(2, 0, 2, 500), MORE, W(2, 1, 2, 20), WHOLE(520),
	    S(3, 0, 1, 5), WHOLE(5) } },
	{ "memory bound: 18 fragments make exactly 1 MiB",
	  { S(9, 0, 18, FRAG), MORE, S(9, 1, 18, FRAG), MORE, S(9, 2, 18, FRAG), MORE,
	    S(9, 3, 18, FRAG), MORE, S(9, 4, 18, FRAG), MORE, S(9, 5, 18, FRAG), MORE,
	    S(9, 6, 18, FRAG), MORE, S(9, 7, 18, FRAG), MORE, S(9, 8, 18, FRAG), MORE,
	    S(9, 9, 18, FRAG), MORE, S(9, 10, 18, FRAG), MORE, S(9, 11, 18, FRAG), MORE,
	    S(9, 12, 18, FRAG), MORE, S(9, 13, 18, FRAG), MORE, S(9, 14, 18, FRAG), MORE,
	    S(9, 15, 18, FRAG), MORE, S(9, 16, 18, FRAG), MORE,
	    S(9, 17, 18, LAST_OF_1MIB), WHOLE(WIRE_MAX_PAYLOAD) } },
	{ "memory bound: one byte more than 1 MiB is dropped whole",
	  { S(9, 0, 18, FRAG), MORE, S(9, 1, 18, FRAG), MORE, S(9, 2, 18, FRAG), MORE,
	    S(9, 3, 18, FRAG), MORE, S(9, 4, 18, FRAG), MORE, S(9, 5, 18, FRAG), MORE,
	    S(9, 6, 18, FRAG), MORE, S(9, 7, 18, FRAG), MORE, S(9, 8, 18, FRAG), MORE,
	    S(9, 9, 18, FRAG), MORE, S(9, 10, 18, FRAG), MORE, S(9, 11, 18, FRAG), MORE,
	    S(9, 12, 18, FRAG), MORE, S(9, 13, 18, FRAG), MORE, S(9, 14, 18, FRAG), MORE,
	    S(9, 15, 18, FRAG), MORE, S(9, 16, 18, FRAG), MORE,
	    S(9, 17, 18, LAST_OF_1MIB + 1), .want = REASM_TOO_BIG },
	    /* and the session carries on */
	    S(10, 0, 2, 10), MORE, S(10, 1, 2, 10), WHOLE(20) } },
	{ "memory bound: a first fragment claiming 18 cannot make us hold more than 1 MiB",
	  { S(9, 0, 18, 1), MORE, S(9, 1, 18, 1), MORE,
	    { .op = CLOSE } } },
	{ "lost fragment: a counter gap drops the whole message",
	  { S(4, 0, 3, FRAG), MORE,
	    S(4, 1, 3, FRAG), .lost_before = 1, .want = REASM_STRAY, .want_lost = 4 },
	    S(4, 2, 3, 5), .want = REASM_STRAY },
	    S(5, 0, 2, 5), MORE, S(5, 1, 2, 5), WHOLE(10) } },
	{ "lost fragment: a gap before a first fragment loses nothing",
	  { S(4, 0, 2, 9), .lost_before = 3, MORE, S(4, 1, 2, 9), WHOLE(18) } },
	{ "lost fragment: a gap before a one-frame message ends the one in progress",
	  { W(4, 0, 2, 9), MORE, W(5, 0, 1, 3), .lost_before = 1, .want = REASM_WHOLE,
	    .want_lost = 4, .want_len = 3 } } },
	{ "lost fragment: a skipped index",
	  { W(4, 0, 3, 9), MORE, W(4, 2, 3, 9), .want = REASM_STRAY, .want_lost = 4 } } },
	{ "lost fragment: the first one, so the rest are strays",
	  { W(4, 1, 3, 9), .want = REASM_STRAY }, W(4, 2, 3, 9), .want = REASM_STRAY },
	    W(5, 0, 1, 1), WHOLE(1) } },
	{ "duplicate index: a repeated fragment 1 drops the message",
	  { S(4, 0, 3, 9), MORE, S(4, 1, 3, 9), MORE,
	    S(4, 1, 3, 9), .want = REASM_STRAY, .want_lost = 4 },
	    S(4, 2, 3, 9), .want = REASM_STRAY } } },
	{ "duplicate index: a repeated fragment 0 starts the message over",
	  { S(4, 0, 2, 9), MORE, S(4, 0, 2, 7), .want = REASM_MORE, .want_lost = 4 },
	    S(4, 1, 2, 7), WHOLE(14) } },
	{ "out of range: index at or past count, count 0 or past 18 (never decoded)",
	  { W(4, 3, 3, 1), .want = REASM_BAD }, W(4, 0, 0, 1), .want = REASM_BAD },
	    W(4, 0, 19, 1), .want = REASM_BAD }, W(4, 18, 18, 1), .want = REASM_BAD },
	    W(4, 0, 1, FRAG + 1), .want = REASM_BAD },
	    W(5, 0, 2, 1), MORE, W(5, 2, 2, 1), .want = REASM_BAD, .want_lost = 5 } } },
	{ "count lie: the count changes in the middle of a message",
	  { S(4, 0, 3, 9), MORE, S(4, 1, 4, 9), .want = REASM_STRAY, .want_lost = 4 },
	    S(6, 0, 4, 9), MORE, S(6, 1, 2, 9), .want = REASM_STRAY, .want_lost = 6 } } },
	{ "another message: a new msg_id drops the one in progress",
	  { S(4, 0, 3, 9), MORE, S(5, 0, 2, 9), .want = REASM_MORE, .want_lost = 4 },
	    S(5, 1, 2, 1), WHOLE(10) } },
	{ "another message: a one-frame message in the middle of one",
	  { S(4, 0, 3, 9), MORE, S(9, 0, 1, 2), .want = REASM_WHOLE, .want_lost = 4, .want_len = 2 },
	    S(4, 1, 3, 9), .want = REASM_STRAY } } },
	{ "another message: a whisper cannot continue a shout",
	  { S(4, 0, 2, 9), MORE, W(4, 1, 2, 9), .want = REASM_STRAY, .want_lost = 4 } } },
	{ "another message: nor a shout to another group",
	  { S(4, 0, 2, 9), MORE, S(4, 1, 2, 9), .group = "news", .want = REASM_STRAY,
	    .want_lost = 4 } } },
	{ "interleaved: other frames between fragments change nothing",
	  { S(4, 0, 3, 9), MORE, { .op = OTHER }, { .op = OTHER }, S(4, 1, 3, 9), MORE,
	    { .op = OTHER }, S(4, 2, 3, 9), WHOLE(27) } },
	{ "interleaved: a lost frame just before a fragment is a gap",
	  { S(4, 0, 3, 9), MORE, { .op = OTHER }, S(4, 1, 3, 9), .lost_before = 1,
	    .want = REASM_STRAY, .want_lost = 4 } } },
	{ "interleaved: a lost frame before another frame is seen by the index",
	  /* the gap is checked against the frame just before (mesh.c on_data): a frame lost
	   * earlier was either a fragment, and the next index says so, or it was not ours */
	  { S(4, 0, 3, 9), MORE, { .op = OTHER, .lost_before = 1 }, S(4, 1, 3, 9), MORE,
	    { .op = OTHER, .lost_before = 1 }, { .op = OTHER },
	    S(4, 2, 3, 9), WHOLE(27) } },
	{ "interleaved: ... so a lost fragment there still drops the message",
	  { S(4, 0, 3, 9), MORE, { .op = OTHER, .lost_before = 1 },
	    S(4, 2, 3, 9), .want = REASM_STRAY, .want_lost = 4 } } },
	{ "expiry: a message with no fragment for `expired` is dropped, and only then",
	  { S(4, 0, 3, 9), .t = 1000, MORE,
	    { .op = EXPIRE, .t = 3999, .want_len = 0 }, { .op = EXPIRE, .t = 4000, .want_len = 1 },
	    { .op = EXPIRE, .t = 9000, .want_len = 0 },
	    S(4, 1, 3, 9), .t = 4001, .want = REASM_STRAY } } },
	{ "expiry: each fragment restarts the wait",
	  { S(4, 0, 3, 9), .t = 1000, MORE, S(4, 1, 3, 9), .t = 3500, MORE,
	    { .op = EXPIRE, .t = 6000, .want_len = 0 }, S(4, 2, 3, 9), .t = 6000, WHOLE(27) } },
	{ "trim: the kept buffer goes after REASM_IDLE_MS, never while a message is open",
	  { W(4, 0, 2, 9), .t = 1000, MORE,
	    { .op = TRIM, .t = 1000 + 10 * REASM_IDLE_MS },   /* open: kept */
	    { .op = EXPIRE, .t = 1000 + 10 * REASM_IDLE_MS, .want_len = 1 },
	    { .op = TRIM, .t = 1000 + REASM_IDLE_MS - 1 },    /* not idle long enough */
	    { .op = TRIM, .t = 1000 + REASM_IDLE_MS } } },
	{ "close: a session closing mid-message frees it",
	  { S(4, 0, 3, FRAG), MORE, S(4, 1, 3, FRAG), MORE, { .op = CLOSE },
	    S(4, 2, 3, 9), .want = REASM_STRAY }, { .op = CLOSE }, { .op = CLOSE } } },
};

/* ------------------------------------------------------------------ running a table */

static uint8_t pattern(uint64_t msg_id, size_t off)
{
	return (uint8_t)(msg_id * 31u + off * 7u + off / 251u);
}

static uint8_t fragbuf[WIRE_MAX_FRAGMENT + 1];

struct run {
	struct reasm r;
	uint64_t counter;          /* last DATA counter received */
	bool any;
	size_t off;                /* bytes sent so far of the message in progress (sender side) */
};

/* The bounds reasm.h promises, after every step. */
static void check_bounds(const struct reasm *r)
{
	CHECK(r->len <= r->cap && r->cap <= WIRE_MAX_PAYLOAD);
	CHECK((r->buf == NULL) == (r->cap == 0));
	CHECK(r->count == 0 || (r->next < r->count && r->count <= WIRE_MAX_FRAGMENTS));
	CHECK(r->count != 0 || r->cap <= REASM_KEEP);    /* between messages: a small one kept */
}

/* The engine's gap rule (mesh.c on_data): any frame may sit between two fragments, as long as
 * none is missing. */
static bool next_frame(struct run *rn, unsigned lost_before)
{
	uint64_t c = rn->any ? rn->counter + 1 + lost_before : lost_before;
	bool gap = rn->any && c != rn->counter + 1;
	rn->counter = c;
	rn->any = true;
	return gap;
}

static void step_fragment(struct run *rn, const struct step *st, size_t k, const char *name)
{
	struct wire_msg msg = { .type = st->kind == 'S' ? WIRE_SHOUT : WIRE_WHISPER,
	                        .msg_id = st->msg_id, .index = st->index, .count = st->count };
	const char *group = st->group ? st->group : "chat";
	struct reasm_out out;
	if (st->kind == 'S') {
		msg.group.p = group;
		msg.group.len = strlen(group);
	}
	if (st->index == 0)
		rn->off = 0;
	for (size_t i = 0; i < st->len && i < sizeof fragbuf; i++)
		fragbuf[i] = pattern(st->msg_id, rn->off + i);
	msg.data = fragbuf;
	msg.data_len = st->len;
	rn->off += st->len;
	bool gap = next_frame(rn, st->lost_before);
	enum reasm_status got = reasm_add(NULL, &rn->r, &msg, gap, st->t, &out);
	CHECK(got == st->want);
	CHECK(out.lost == (st->want_lost != 0));
	CHECK(!out.lost || out.lost_msg_id == st->want_lost);
	if (got != st->want || out.lost != (st->want_lost != 0))
		fprintf(stderr, "  %s, step %zu: status %d (want %d), lost %d\n", name, k, got,
		        st->want, out.lost);
	if (got != REASM_WHOLE) {
		CHECK(out.data == NULL);
		return;
	}
	CHECK(out.data != NULL && out.len == st->want_len && out.msg_id == st->msg_id);
	CHECK(out.shout == (st->kind == 'S'));
	CHECK(!out.shout || (out.glen == strlen(group) && strcmp(out.group, group) == 0));
	if (out.data && out.len == st->want_len) {
		size_t bad = 0;
		for (size_t i = 0; i < out.len; i++)
			bad += out.data[i] != pattern(st->msg_id, i);
		CHECK(bad == 0);
	}
	free(out.data);
}

static void run(const struct scenario *sc)
{
	static struct run rn;
	unsigned long failures = testlib_failures;
	memset(&rn, 0, sizeof rn);
	for (size_t k = 0; k < sizeof sc->steps / sizeof sc->steps[0] && sc->steps[k].op; k++) {
		const struct step *st = &sc->steps[k];
		uint64_t id = 0;
		switch (st->op) {
		case FRAGMENT:
			step_fragment(&rn, st, k, sc->name);
			break;
		case OTHER:
			/* a HEARTBEAT or JOIN: the engine hands it to nobody here */
			(void)next_frame(&rn, st->lost_before);
			break;
		case EXPIRE: {
			uint64_t before = rn.r.msg_id;
			bool expired = reasm_expire(&rn.r, st->t, 3000, &id);
			CHECK(expired == (st->want_len != 0));
			CHECK(!expired || (id == before && rn.r.count == 0));
			break;
		}
		case TRIM: {
			bool open = rn.r.count != 0, had = rn.r.buf != NULL;
			bool idle = st->t - rn.r.last_ms >= REASM_IDLE_MS;
			reasm_trim(&rn.r, st->t);
			CHECK((rn.r.buf != NULL) == (had && (open || !idle)));
			break;
		}
		case CLOSE:
			reasm_free(&rn.r);
			CHECK(rn.r.buf == NULL && rn.r.cap == 0 && rn.r.count == 0 && rn.r.len == 0);
			break;
		}
		check_bounds(&rn.r);
	}
	reasm_free(&rn.r);
	printf("  %s %s\n", testlib_failures == failures ? "ok  " : "FAIL", sc->name);
}

/* ------------------------------------------------------------------ beyond the tables */

/* The buffer kept between messages (at most REASM_KEEP bytes) is wiped when a message is done
 * with, goes once it has been idle, and never while a message is being put together. A
 * message of several fragments gets room for all of them, more than REASM_KEEP, so the state
 * is made by hand. */
static void test_kept_buffer(void)
{
	struct reasm r = { 0 };
	reasm_trim(&r, 1000000);                    /* nothing kept: nothing to do */
	CHECK(r.buf == NULL);
	r.buf = malloc(REASM_KEEP);
	CHECK(r.buf != NULL);
	if (r.buf) {
		memset(r.buf, 'x', 100);
		r.cap = REASM_KEEP;
		r.len = 100;
		r.count = 2;                            /* a message in progress ... */
		r.next = 1;
		r.last_ms = 1000;
		reasm_trim(&r, 1000 + 10 * REASM_IDLE_MS);
		CHECK(r.buf != NULL && r.cap == REASM_KEEP);              /* ... is kept */
		reasm_reset(&r);                        /* done with it: the buffer stays */
		CHECK(r.buf != NULL && r.count == 0 && r.len == 0);
		CHECK(r.buf[0] == 0 && r.buf[99] == 0);                    /* wiped */
		reasm_trim(&r, 1000 + REASM_IDLE_MS - 1);                 /* not idle long enough */
		CHECK(r.buf != NULL);
		reasm_trim(&r, 1000 + REASM_IDLE_MS);
		CHECK(r.buf == NULL && r.cap == 0 && r.len == 0);
	}
	reasm_free(&r);

	/* a large buffer goes with the message it held */
	struct reasm_out out;
	struct wire_msg msg = { .type = WIRE_WHISPER, .msg_id = 3, .index = 0, .count = 5,
	                        .data = fragbuf, .data_len = FRAG };
	CHECK(reasm_add(NULL, &r, &msg, false, 0, &out) == REASM_MORE);
	CHECK(r.cap > REASM_KEEP && r.cap <= WIRE_MAX_PAYLOAD);
	msg.index = 1;
	CHECK(reasm_add(NULL, &r, &msg, true, 0, &out) == REASM_STRAY && out.lost);
	CHECK(r.buf == NULL && r.cap == 0);
	reasm_free(&r);
	reasm_free(&r);                             /* twice is fine */

	/* reasm_idle: the owner may free r only when nothing of it is left */
	CHECK(reasm_idle(&r));                      /* zeroed, or freed */
	msg.index = 0;
	msg.count = 2;
	CHECK(reasm_add(NULL, &r, &msg, false, 0, &out) == REASM_MORE && !reasm_idle(&r));
	msg.index = 1;
	CHECK(reasm_add(NULL, &r, &msg, false, 0, &out) == REASM_WHOLE);
	free(out.data);
	CHECK(reasm_idle(&r));                      /* the whole message took the buffer */
	r.buf = calloc(1, REASM_KEEP);              /* a buffer kept for the next, as above */
	r.cap = r.buf ? REASM_KEEP : 0;
	r.last_ms = 1000;
	CHECK(r.buf == NULL || !reasm_idle(&r));
	reasm_trim(&r, 1000 + REASM_IDLE_MS);
	CHECK(reasm_idle(&r));
	reasm_free(&r);
}

/* Hostile fragments at random: whatever comes, the bounds hold, every whole message is the
 * bytes its fragments carried, and nothing leaks (ASan). */
static void test_random_walk(void)
{
	static struct run rn;
	unsigned long whole = 0, bad = 0;
	memset(&rn, 0, sizeof rn);
	for (int i = 0; i < 200000; i++) {
		uint32_t rnd = randombytes_random();
		struct step st = { .op = FRAGMENT, .kind = (rnd & 1) ? 'S' : 'W',
		                   .msg_id = 1 + (rnd >> 1) % 3, .count = 1 + (rnd >> 3) % 4,
		                   .len = (rnd >> 6) % 40, .lost_before = (rnd >> 12) % 16 == 0,
		                   .t = (uint64_t)i, .group = (rnd >> 16) % 8 == 0 ? "other" : NULL };
		/* mostly in order, sometimes anything */
		st.index = (rnd >> 20) % 4 ? (rn.r.count ? rn.r.next : 0) : (rnd >> 22) % 5;
		if ((rnd >> 25) % 64 == 0)
			st.count = (rnd >> 26) % 20;
		if (rn.r.count && (rnd >> 20) % 4)
			st.count = rn.r.count;
		struct wire_msg msg = { .type = st.kind == 'S' ? WIRE_SHOUT : WIRE_WHISPER,
		                        .msg_id = st.msg_id, .index = st.index, .count = st.count,
		                        .data = fragbuf, .data_len = st.len };
		const char *group = st.group ? st.group : "chat";
		if (st.kind == 'S') {
			msg.group.p = group;
			msg.group.len = strlen(group);
		}
		if (st.index == 0)
			rn.off = 0;
		for (size_t k = 0; k < st.len; k++)
			fragbuf[k] = pattern(st.msg_id, rn.off + k);
		rn.off += st.len;
		struct reasm_out out;
		enum reasm_status got = reasm_add(NULL, &rn.r, &msg, next_frame(&rn, st.lost_before), st.t,
		                                  &out);
		if (got == REASM_WHOLE) {
			whole++;
			for (size_t k = 0; k < out.len; k++)
				bad += out.data[k] != pattern(out.msg_id, k);
			free(out.data);
		} else if (out.data) {
			bad++;
		}
		if (rn.r.len > rn.r.cap || rn.r.cap > WIRE_MAX_PAYLOAD ||
		    (rn.r.count == 0 && rn.r.cap > REASM_KEEP))
			bad++;
		if ((rnd >> 28) == 0)
			reasm_trim(&rn.r, st.t + REASM_IDLE_MS);
		if ((rnd >> 27) == 0) {
			uint64_t id;
			(void)reasm_expire(&rn.r, st.t + 5000, 3000, &id);
		}
	}
	CHECK(bad == 0);
	CHECK(whole > 1000);
	printf("  ok   random walk: %lu whole messages\n", whole);
	reasm_free(&rn.r);
}

/* One fragment of a 1 MiB whisper (18 fragments), its bytes pattern(id, offset). */
static enum reasm_status add_1mib(struct reasm_pool *pool, struct reasm *r, uint64_t id,
                                  uint32_t index, uint64_t t, struct reasm_out *out)
{
	size_t len = index == 17 ? LAST_OF_1MIB : FRAG;
	struct wire_msg msg = { .type = WIRE_WHISPER, .msg_id = id, .index = index, .count = 18,
	                        .data = fragbuf, .data_len = len };
	for (size_t i = 0; i < len; i++)
		fragbuf[i] = pattern(id, (size_t)index * FRAG + i);
	return reasm_add(pool, r, &msg, false, t, out);
}

/* Issue 14: 300 peers each keep one 1 MiB message incomplete. The pool holds at most
 * REASM_BUDGET bytes of them, dropping the oldest first; a peer whose message went learns it
 * on its next fragment (REASM_EVICTED), and the message, sent again from fragment 0 (as after
 * the engine's RESEND), comes out whole. Nothing is lost. */
#define PEERS 300
static void test_pool(void)
{
	static struct reasm rs[PEERS];
	struct reasm_pool pool = { .budget = REASM_BUDGET };
	struct reasm_out out;
	size_t evicted = 0, over = 0, whole = 0, bad = 0, kept = REASM_BUDGET / WIRE_MAX_PAYLOAD;
	memset(rs, 0, sizeof rs);
	for (size_t i = 0; i < PEERS; i++) {
		CHECK(add_1mib(&pool, &rs[i], 100 + i, 0, i, &out) == REASM_MORE);
		evicted += out.evicted;
		over += pool.held > pool.budget;
	}
	CHECK(over == 0);
	CHECK(pool.held == kept * WIRE_MAX_PAYLOAD);
	CHECK(evicted == PEERS - kept);
	for (size_t i = 0; i < PEERS; i++) {
		bool gone = i < PEERS - kept;     /* the oldest went */
		CHECK(rs[i].evicted == gone && (rs[i].count == 0) == gone);
		CHECK(!gone || rs[i].buf == NULL);
		CHECK(!reasm_idle(&rs[i]));       /* evicted: the report is owed; kept: in progress */
	}
	printf("  ok   pool: %d partial messages of 1 MiB hold %zu bytes (budget %u), %zu evicted\n",
	       PEERS, pool.held, REASM_BUDGET, evicted);
	/* each sender goes on; those whose message went hear so, and send it again whole */
	for (size_t i = 0; i < PEERS; i++) {
		uint64_t id = 100 + i, t = 1000 + i;
		enum reasm_status st = add_1mib(&pool, &rs[i], id, 1, t, &out);
		uint32_t from = 2;
		if (st == REASM_EVICTED) {
			CHECK(out.lost && out.lost_msg_id == id && reasm_idle(&rs[i]));
			CHECK(add_1mib(&pool, &rs[i], id, 1, t, &out) == REASM_STRAY);   /* once only */
			from = 0;
		} else {
			CHECK(st == REASM_MORE);
		}
		for (uint32_t k = from; k < 18; k++) {
			st = add_1mib(&pool, &rs[i], id, k, t, &out);
			over += pool.held > pool.budget;
			if (st != (k == 17 ? REASM_WHOLE : REASM_MORE))
				bad++;
		}
		if (st == REASM_WHOLE) {
			whole++;
			bad += out.len != WIRE_MAX_PAYLOAD;
			for (size_t k = 0; k < out.len; k++)
				bad += out.data[k] != pattern(id, k);
			free(out.data);
		}
	}
	CHECK(bad == 0 && over == 0);
	CHECK(whole == PEERS);
	/* every message is done with: nothing is charged any more */
	CHECK(pool.held == 0 && pool.oldest == NULL && pool.newest == NULL);
	for (size_t i = 0; i < PEERS; i++)
		reasm_free(&rs[i]);
	printf("  ok   pool: all %d messages whole after their senders sent them again\n", PEERS);
}

/* A session that closes with a message in progress leaves the pool; so does one whose message
 * expires. */
static void test_pool_leave(void)
{
	struct reasm a = { 0 }, b = { 0 };
	struct reasm_pool pool = { .budget = REASM_BUDGET };
	struct reasm_out out;
	uint64_t id;
	CHECK(add_1mib(&pool, &a, 1, 0, 0, &out) == REASM_MORE);
	CHECK(add_1mib(&pool, &b, 2, 0, 10, &out) == REASM_MORE);
	CHECK(pool.held == 2 * WIRE_MAX_PAYLOAD && pool.oldest == &a && pool.newest == &b);
	reasm_free(&a);
	CHECK(pool.held == WIRE_MAX_PAYLOAD && pool.oldest == &b && pool.newest == &b);
	CHECK(reasm_expire(&b, 5000, 3000, &id) && id == 2);
	CHECK(pool.held == 0 && pool.oldest == NULL && pool.newest == NULL);
	reasm_free(&b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		run(&scenarios[i]);
	test_kept_buffer();
	test_random_walk();
	test_pool();
	test_pool_leave();
	return testlib_done("test_reasm");
}
