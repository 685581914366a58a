/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_group_peer: mesh/group.c and mesh/peer.c (docs/protocol.md sections 4 to 6).
 *
 * group_set: add, remove, has, bytewise sorted order, duplicates, every kind of invalid name
 * (empty, too long, bad UTF-8, embedded NUL) and the 256-group cap. peer table: many IDs
 * (64 that share their first four bytes are still spread over the buckets), the PEER_MAX cap,
 * deletion. Send queues: both caps
 * (a refused message leaves the queue exactly as it was), FIFO order, and one outmsg shared by
 * several queues freed exactly once (ASan and the refcount say so).
 */
#include "group.h"
#include "mesh_drop.h"
#include "peer.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"

/* ------------------------------------------------------------------ groups */

static bool sorted(const struct group_set *s)
{
	for (size_t i = 1; i < s->n; i++)
		if (strcmp(s->names[i - 1], s->names[i]) >= 0)   /* strcmp compares as unsigned */
			return false;
	return true;
}

static enum mesh_err add(struct group_set *s, const char *name)
{
	return group_set_add(s, name, strlen(name));
}

static void test_group_basic(void)
{
	struct group_set s = { 0 };
	/* bytewise, case-sensitive: "B" < "a" < "aa" < "ab" < "b" < UTF-8 multibyte */
	static const char *in[] = { "b", "ab", "\xc3\xa9t\xc3\xa9", "a", "B", "aa", "\xf0\x9f\x92\xac",
	                            "z" };
	static const char *want[] = { "B", "a", "aa", "ab", "b", "z", "\xc3\xa9t\xc3\xa9",
	                              "\xf0\x9f\x92\xac" };
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
		CHECK(add(&s, in[i]) == MESH_OK);
	CHECK(s.n == sizeof want / sizeof want[0]);
	for (size_t i = 0; i < s.n && i < sizeof want / sizeof want[0]; i++)
		CHECK(strcmp(s.names[i], want[i]) == 0);
	CHECK(sorted(&s));

	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
		CHECK(group_set_has(&s, in[i], strlen(in[i])));
	/* prefixes, extensions and case variants are other names */
	CHECK(!group_set_has(&s, "A", 1));
	CHECK(!group_set_has(&s, "abc", 3));
	CHECK(!group_set_has(&s, "zz", 2));
	CHECK(!group_set_has(&s, "", 0));
	CHECK(group_set_has(&s, "abc", 2));      /* by length: "ab" */
	CHECK(!group_set_has(&s, "\xc3\xa9", 2));

	/* duplicates */
	CHECK(add(&s, "ab") == MESH_ESTATE);
	CHECK(add(&s, "B") == MESH_ESTATE);
	CHECK(group_set_add(&s, "abc", 2) == MESH_ESTATE);
	CHECK(s.n == 8);

	/* remove: present, then absent */
	CHECK(group_set_remove(&s, "aa", 2) == MESH_OK);
	CHECK(!group_set_has(&s, "aa", 2));
	CHECK(group_set_remove(&s, "aa", 2) == MESH_ESTATE);
	CHECK(group_set_remove(&s, "A", 1) == MESH_ESTATE);
	CHECK(group_set_remove(&s, "", 0) == MESH_ESTATE);
	CHECK(group_set_remove(&s, "B", 1) == MESH_OK);     /* first */
	CHECK(group_set_remove(&s, "\xf0\x9f\x92\xac", 4) == MESH_OK);   /* last */
	CHECK(s.n == 5 && sorted(&s));
	CHECK(group_set_has(&s, "a", 1) && group_set_has(&s, "z", 1));
	CHECK(add(&s, "aa") == MESH_OK && sorted(&s) && s.n == 6);

	group_set_clear(&s);
	CHECK(s.n == 0 && s.names == NULL);
	CHECK(!group_set_has(&s, "a", 1));
	CHECK(group_set_remove(&s, "a", 1) == MESH_ESTATE);
	group_set_clear(&s);      /* twice is fine */
	CHECK(add(&s, "again") == MESH_OK);
	group_set_clear(&s);
}

static void test_group_invalid(void)
{
	struct group_set s = { 0 };
	char n64[65], n65[66];
	memset(n64, 'x', 64);
	n64[64] = '\0';
	memset(n65, 'y', 65);
	n65[65] = '\0';
	static const struct {
		const char *p;
		size_t len;
	} bad[] = {
		{ "", 0 },
		{ "abc", 0 },
		{ "a\0b", 3 },              /* embedded NUL */
		{ "\0", 1 },
		{ "ab\0", 3 },              /* trailing NUL inside the length */
		{ "\xff", 1 },
		{ "\xc0\xaf", 2 },          /* overlong '/' */
		{ "\xe0\x80\xaf", 3 },      /* overlong, 3 bytes */
		{ "\xed\xa0\x80", 3 },      /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 4 },  /* above U+10FFFF */
		{ "\xc3", 1 },              /* truncated sequence */
		{ "ok\xe2\x82", 4 },        /* truncated at the end */
		{ "\x80x", 2 },             /* lone continuation byte */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(group_set_add(&s, bad[i].p, bad[i].len) == MESH_EINVAL);
		CHECK(!group_name_valid(bad[i].p, bad[i].len));
	}
	CHECK(group_set_add(&s, NULL, 3) == MESH_EINVAL);
	CHECK(!group_name_valid(NULL, 1));
	CHECK(add(&s, n65) == MESH_EINVAL);
	CHECK(group_set_add(&s, n65, 65) == MESH_EINVAL);
	CHECK(s.n == 0);
	/* the limits themselves are fine */
	CHECK(add(&s, n64) == MESH_OK);
	CHECK(add(&s, "a") == MESH_OK);
	CHECK(group_set_add(&s, n65, 64) == MESH_OK);    /* a 64-byte prefix */
	CHECK(add(&s, "\xf4\x8f\xbf\xbf") == MESH_OK);   /* U+10FFFF */
	CHECK(s.n == 4 && sorted(&s));
	for (size_t i = 0; i < s.n; i++)
		CHECK(strlen(s.names[i]) >= 1 && strlen(s.names[i]) <= GROUP_MAX_NAME);
	group_set_clear(&s);
}

static void test_group_cap(void)
{
	struct group_set s = { 0 };
	char name[16];
	/* add in a scrambled order so inserts land everywhere */
	for (unsigned i = 0; i < GROUP_MAX_GROUPS; i++) {
		unsigned v = (i * 97u) % GROUP_MAX_GROUPS;
		snprintf(name, sizeof name, "g%03u", v);
		CHECK(add(&s, name) == MESH_OK);
	}
	CHECK(s.n == GROUP_MAX_GROUPS);
	CHECK(sorted(&s));
	CHECK(add(&s, "g256") == MESH_ELIMIT);      /* the 257th */
	CHECK(add(&s, "another") == MESH_ELIMIT);
	CHECK(add(&s, "g000") == MESH_ESTATE);      /* a duplicate is still a duplicate */
	CHECK(add(&s, "") == MESH_EINVAL);
	CHECK(s.n == GROUP_MAX_GROUPS && !group_set_has(&s, "g256", 4));
	unsigned found = 0;
	for (unsigned v = 0; v < GROUP_MAX_GROUPS; v++) {
		snprintf(name, sizeof name, "g%03u", v);
		found += group_set_has(&s, name, strlen(name));
	}
	CHECK(found == GROUP_MAX_GROUPS);
	/* one out, one in */
	CHECK(group_set_remove(&s, "g123", 4) == MESH_OK);
	CHECK(add(&s, "g256") == MESH_OK);
	CHECK(add(&s, "g257") == MESH_ELIMIT);
	CHECK(sorted(&s));
	group_set_clear(&s);
}

static void test_group_copy(void)
{
	struct group_set a = { 0 }, b = { 0 }, empty = { 0 };
	CHECK(add(&a, "one") == MESH_OK && add(&a, "two") == MESH_OK && add(&a, "three") == MESH_OK);
	CHECK(add(&b, "stale") == MESH_OK);
	/* replaces what dst held (ASan: the old names are freed) */
	CHECK(group_set_copy(&b, &a) == MESH_OK);
	CHECK(b.n == 3 && sorted(&b) && !group_set_has(&b, "stale", 5));
	for (size_t i = 0; i < a.n; i++)
		CHECK(strcmp(a.names[i], b.names[i]) == 0 && a.names[i] != b.names[i]);
	/* a deep copy: changing one leaves the other alone */
	CHECK(group_set_remove(&a, "two", 3) == MESH_OK);
	CHECK(add(&a, "four") == MESH_OK);
	CHECK(group_set_has(&b, "two", 3) && !group_set_has(&b, "four", 4));
	CHECK(add(&b, "five") == MESH_OK && !group_set_has(&a, "five", 4) && sorted(&b));
	/* copying an empty set empties dst */
	CHECK(group_set_copy(&b, &empty) == MESH_OK);
	CHECK(b.n == 0 && !group_set_has(&b, "one", 3));
	CHECK(add(&b, "again") == MESH_OK);
	/* a full set copies whole */
	struct group_set full = { 0 };
	char name[16];
	for (unsigned i = 0; i < GROUP_MAX_GROUPS; i++) {
		snprintf(name, sizeof name, "n%03u", i);
		CHECK(add(&full, name) == MESH_OK);
	}
	CHECK(group_set_copy(&b, &full) == MESH_OK && b.n == GROUP_MAX_GROUPS && sorted(&b));
	CHECK(add(&b, "over") == MESH_ELIMIT);
	group_set_clear(&full);
	CHECK(b.n == GROUP_MAX_GROUPS && group_set_has(&b, "n255", 4));
	group_set_clear(&a);
	group_set_clear(&b);
}

/* ------------------------------------------------------------------ peer table */

static void random_id(uint8_t id[WIRE_IDLEN])
{
	randombytes_buf(id, WIRE_IDLEN);
}

static void count_peer(struct peer *p, void *arg)
{
	(void)p;
	(*(size_t *)arg)++;
}

static void test_peer_table(void)
{
	enum { N = PEER_MAX };
	struct peer_table t;
	static uint8_t ids[N + 1][WIRE_IDLEN];
	static struct peer *ps[N];
	static bool gone[N];
	unsigned long bad = 0;

	CHECK(peer_table_init(&t, 1024) == MESH_OK);
	/* the first 64 IDs share their first four bytes, as an attacker grinding IDs would make
	 * them: the table's keyed hash must still spread them, or a lookup among them walks one
	 * long chain (peer_table_init() draws the key) */
	for (size_t i = 0; i < N + 1; i++) {
		random_id(ids[i]);
		if (i < 64)
			memset(ids[i], 0xab, 4);
	}
	for (size_t i = 0; i < 64; i++)
		CHECK(peer_table_get_or_add(&t, ids[i]) != NULL);
	size_t used = 0, longest = 0;
	for (size_t b = 0; b < t.nbuckets; b++) {
		size_t chain = 0;
		for (struct peer *p = t.buckets[b]; p; p = p->hnext)
			chain++;
		used += chain > 0;
		longest = chain > longest ? chain : longest;
	}
	/* 64 keys in 1024 buckets: about 62 buckets used; a chain of 6 has odds below 1e-7 */
	CHECK(used >= 48);
	CHECK(longest <= 5);
	for (size_t i = 0; i < N; i++) {
		ps[i] = peer_table_get_or_add(&t, ids[i]);
		if (!ps[i]) {
			bad++;
			continue;
		}
		if (memcmp(ps[i]->id, ids[i], WIRE_IDLEN) != 0)
			bad++;
		/* get_or_add of a known ID returns the same peer */
		if (peer_table_get_or_add(&t, ids[i]) != ps[i])
			bad++;
	}
	CHECK(bad == 0);
	CHECK(t.n == N);

	/* the defaults of a new peer: hex ID and a provisional name */
	if (ps[0]) {
		char hex[KEYS_HEXID_LEN];
		keys_id_hex(ids[0], hex);
		CHECK(strcmp(ps[0]->hex, hex) == 0);
		CHECK(strncmp(ps[0]->name, "node-", 5) == 0 && strncmp(ps[0]->name + 5, hex, 8) == 0);
		CHECK(!ps[0]->discovered && ps[0]->live_sid == 0 && ps[0]->qhead == NULL);
	}

	/* PEER_MAX: a new ID is refused, known ones are still served */
	CHECK(peer_table_get_or_add(&t, ids[N]) == NULL);
	CHECK(peer_table_get(&t, ids[N]) == NULL);
	CHECK(t.n == N);
	CHECK(peer_table_get_or_add(&t, ids[7]) == ps[7]);

	bad = 0;
	for (size_t i = 0; i < N; i++)
		if (peer_table_get(&t, ids[i]) != ps[i])
			bad++;
	CHECK(bad == 0);
	size_t cnt = 0;
	peer_table_each(&t, count_peer, &cnt);
	CHECK(cnt == N);

	/* delete every other peer, among the IDs of one prefix too: chains stay intact */
	for (size_t i = 0; i < N; i += 2) {
		peer_table_del(&t, ps[i]);
		gone[i] = true;
	}
	CHECK(t.n == N / 2);
	bad = 0;
	for (size_t i = 0; i < N; i++) {
		struct peer *p = peer_table_get(&t, ids[i]);
		if (gone[i] ? p != NULL : p != ps[i])
			bad++;
	}
	CHECK(bad == 0);
	cnt = 0;
	peer_table_each(&t, count_peer, &cnt);
	CHECK(cnt == N / 2);

	/* below the cap again: the refused ID fits now */
	struct peer *late = peer_table_get_or_add(&t, ids[N]);
	CHECK(late != NULL && peer_table_get(&t, ids[N]) == late);
	/* a peer with a queue and groups: the table frees it all (ASan) */
	if (late) {
		struct outmsg *m = outmsg_new(OUTMSG_WHISPER, 1, NULL, "hello", 5);
		CHECK(m && peer_enqueue(late, m, false, 0, 10, 100) == MESH_OK);
		outmsg_unref(&m);
		CHECK(group_set_add(&late->groups, "g", 1) == MESH_OK);
	}
	peer_table_free(&t);
	CHECK(t.buckets == NULL && t.n == 0);
	peer_table_free(&t);          /* twice is fine */
}

/* ------------------------------------------------------------------ queues */

struct qsnap {
	struct peer_qent *head, *tail;
	size_t msgs, bytes;
};

static struct qsnap snap(const struct peer *p)
{
	return (struct qsnap){ p->qhead, p->qtail, p->qmsgs, p->qbytes };
}

static bool same(struct qsnap a, struct qsnap b)
{
	return a.head == b.head && a.tail == b.tail && a.msgs == b.msgs && a.bytes == b.bytes;
}

static struct outmsg *msg(uint64_t id, size_t len)
{
	uint8_t buf[256];
	memset(buf, (int)(id & 0xff), sizeof buf);
	struct outmsg *m = outmsg_new(OUTMSG_SHOUT, id, "grp", buf, len);
	CHECK(m != NULL);
	return m;
}

static void test_queue_caps(void)
{
	struct peer_table t;
	uint8_t id[WIRE_IDLEN];
	CHECK(peer_table_init(&t, 16) == MESH_OK);
	random_id(id);
	struct peer *p = peer_table_get_or_add(&t, id);
	CHECK(p != NULL);
	if (!p)
		goto done;

	/* by messages: 3 fit, the 4th is refused and changes nothing */
	struct outmsg *m[8];
	for (int i = 0; i < 8; i++)
		m[i] = msg((uint64_t)i + 1, 10);
	for (int i = 0; i < 3; i++)
		CHECK(peer_enqueue(p, m[i], false, (uint64_t)i, 3, 1000) == MESH_OK);
	CHECK(p->qmsgs == 3 && p->qbytes == 30);
	struct qsnap before = snap(p);
	CHECK(peer_enqueue(p, m[3], false, 9, 3, 1000) == MESH_ELIMIT);
	CHECK(same(before, snap(p)));
	CHECK(m[3]->refs == 1);           /* the refused message took no reference */
	CHECK(m[0]->refs == 2);

	/* FIFO */
	CHECK(p->qhead && p->qhead->m == m[0] && p->qhead->enqueued_ms == 0);
	peer_dequeue(p);
	CHECK(m[0]->refs == 1);
	CHECK(p->qhead && p->qhead->m == m[1]);
	CHECK(p->qmsgs == 2 && p->qbytes == 20);
	/* room again for one */
	CHECK(peer_enqueue(p, m[3], true, 10, 3, 1000) == MESH_OK);
	CHECK(p->qtail && p->qtail->m == m[3] && p->qtail->if_member &&
	      p->qtail->enqueued_ms == 10 && p->qtail->next_frag == 0);
	uint64_t order[4];
	size_t k = 0;
	while (p->qhead && k < 4) {
		order[k++] = p->qhead->m->msg_id;
		peer_dequeue(p);
	}
	CHECK(k == 3 && order[0] == 2 && order[1] == 3 && order[2] == 4);
	CHECK(p->qhead == NULL && p->qtail == NULL && p->qmsgs == 0 && p->qbytes == 0);
	peer_dequeue(p);                   /* empty: nothing happens */
	CHECK(p->qhead == NULL && p->qmsgs == 0);

	/* by bytes: 40 + 40 fit in 100, another 40 does not, 20 fits exactly */
	struct outmsg *b40a = msg(20, 40), *b40b = msg(21, 40), *b40c = msg(22, 40);
	struct outmsg *b20 = msg(23, 20), *b0 = msg(24, 0), *b1 = msg(25, 1);
	CHECK(peer_enqueue(p, b40a, false, 0, 100, 100) == MESH_OK);
	CHECK(peer_enqueue(p, b40b, false, 0, 100, 100) == MESH_OK);
	before = snap(p);
	CHECK(peer_enqueue(p, b40c, false, 0, 100, 100) == MESH_ELIMIT);
	CHECK(same(before, snap(p)) && b40c->refs == 1);
	CHECK(peer_enqueue(p, b20, false, 0, 100, 100) == MESH_OK);
	CHECK(p->qbytes == 100);
	/* full to the byte: an empty message still fits the byte cap, one more byte does not */
	CHECK(peer_enqueue(p, b0, false, 0, 100, 100) == MESH_OK);
	before = snap(p);
	CHECK(peer_enqueue(p, b1, false, 0, 100, 100) == MESH_ELIMIT);
	CHECK(same(before, snap(p)));
	/* a single message larger than the cap never fits, even in an empty queue */
	struct peer *q = NULL;
	random_id(id);
	q = peer_table_get_or_add(&t, id);
	CHECK(q && peer_enqueue(q, b40c, false, 0, 100, 39) == MESH_ELIMIT);
	CHECK(q && q->qhead == NULL && q->qmsgs == 0 && q->qbytes == 0);
	/* a zero cap refuses everything */
	CHECK(q && peer_enqueue(q, b0, false, 0, 0, 100) == MESH_ELIMIT);

	for (int i = 0; i < 8; i++)
		outmsg_unref(&m[i]);
	CHECK(m[0] == NULL);
	outmsg_unref(&b40a);
	outmsg_unref(&b40b);
	outmsg_unref(&b40c);
	outmsg_unref(&b20);
	outmsg_unref(&b0);
	outmsg_unref(&b1);
	outmsg_unref(&b1);                 /* NULL is fine */
	outmsg_unref(NULL);
	/* p still holds four queued messages: freed with the table */
	CHECK(p->qmsgs == 4);
done:
	peer_table_free(&t);
}

static void test_queue_shared(void)
{
	enum { PEERS = 5 };
	struct peer_table t;
	struct peer *p[PEERS];
	uint8_t id[WIRE_IDLEN];
	CHECK(peer_table_init(&t, 8) == MESH_OK);
	for (int i = 0; i < PEERS; i++) {
		random_id(id);
		p[i] = peer_table_get_or_add(&t, id);
		CHECK(p[i] != NULL);
		if (!p[i])
			goto done;
	}
	/* one 1 KiB shout fanned out to every queue: stored once */
	uint8_t payload[1024];
	randombytes_buf(payload, sizeof payload);
	struct outmsg *m = outmsg_new(OUTMSG_SHOUT, 42, "team", payload, sizeof payload);
	struct outmsg *w = outmsg_new(OUTMSG_JOIN, 0, "team", NULL, 0);
	CHECK(m && w);
	if (!m || !w)
		goto done;
	CHECK(m->refs == 1 && m->len == sizeof payload && m->glen == 4 &&
	      strcmp(m->group, "team") == 0 && m->kind == OUTMSG_SHOUT && m->msg_id == 42);
	CHECK(memcmp(m->data, payload, sizeof payload) == 0 && m->data != payload);
	CHECK(w->len == 0 && w->data != NULL);
	for (int i = 0; i < PEERS; i++) {
		CHECK(peer_enqueue(p[i], w, false, 0, 10, 1 << 20) == MESH_OK);
		CHECK(peer_enqueue(p[i], m, false, 0, 10, 1 << 20) == MESH_OK);
	}
	CHECK(m->refs == 1 + PEERS && w->refs == 1 + PEERS);
	for (int i = 0; i < PEERS; i++)
		CHECK(p[i]->qbytes == sizeof payload && p[i]->qmsgs == 2 &&
		      p[i]->qhead->m == w && p[i]->qtail->m == m);
	/* the sender lets go: the queues keep it alive */
	struct outmsg *mref = m;
	outmsg_unref(&m);
	CHECK(m == NULL && mref->refs == PEERS);
	/* drain the queues one by one; the payload is intact for each */
	for (int i = 0; i < PEERS - 1; i++) {
		peer_dequeue(p[i]);                       /* the JOIN */
		CHECK(p[i]->qhead && p[i]->qhead->m == mref);
		CHECK(memcmp(p[i]->qhead->m->data, payload, sizeof payload) == 0);
		peer_dequeue(p[i]);
		CHECK(p[i]->qhead == NULL && p[i]->qbytes == 0);
		CHECK(mref->refs == (unsigned)(PEERS - 1 - i));
	}
	/* the last reference goes with the last peer (deleted, not dequeued): ASan reports a
	 * double free or a leak if the count is off */
	peer_table_del(&t, p[PEERS - 1]);
	CHECK(t.n == PEERS - 1);
	CHECK(w->refs == 1);               /* only ours is left */
	outmsg_unref(&w);
	CHECK(w == NULL);
	/* a message whose refcount rises and falls around zero queues never leaks */
	struct outmsg *x = outmsg_new(OUTMSG_WHISPER, 7, NULL, "x", 1);
	CHECK(x != NULL);
	if (!x)
		goto done;
	CHECK(outmsg_ref(x) == x);
	CHECK(x->refs == 2 && x->glen == 0 && x->group[0] == '\0');
	struct outmsg *x2 = x;
	outmsg_unref(&x2);
	CHECK(x2 == NULL && x->refs == 1);
	outmsg_unref(&x);
done:
	peer_table_free(&t);
}

/* A group name longer than the wire allows is refused, never copied past m->group. */
static void test_outmsg_group_bound(void)
{
	char longest[WIRE_MAX_GROUP + 1], too_long[WIRE_MAX_GROUP + 2];

	memset(longest, 'g', WIRE_MAX_GROUP);
	longest[WIRE_MAX_GROUP] = '\0';
	memset(too_long, 'g', WIRE_MAX_GROUP + 1);
	too_long[WIRE_MAX_GROUP + 1] = '\0';
	struct outmsg *ok = outmsg_new(OUTMSG_SHOUT, 1, longest, "x", 1);
	CHECK(ok && ok->glen == WIRE_MAX_GROUP && strcmp(ok->group, longest) == 0);
	if (ok)
		outmsg_unref(&ok);
	CHECK(outmsg_new(OUTMSG_SHOUT, 2, too_long, "x", 1) == NULL);
}

/* Every DROPPED reason has a text of its own, and an unknown value still gets one. */
static void test_drop_reasons(void)
{
	for (int i = 0; i < MESH_DROP_COUNT; i++) {
		const char *a = mesh_drop_reason((enum mesh_drop)i);
		CHECK(a && a[0] && strcmp(a, "not delivered") != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a, mesh_drop_reason((enum mesh_drop)j)) != 0);
	}
	CHECK(strcmp(mesh_drop_reason(MESH_DROP_COUNT), "not delivered") == 0);
	CHECK(strcmp(mesh_drop_reason(MESH_DROP_QUEUE_FULL), "send queue full") == 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_group_basic();
	test_group_invalid();
	test_group_cap();
	test_group_copy();
	test_peer_table();
	test_queue_caps();
	test_queue_shared();
	test_outmsg_group_bound();
	test_drop_reasons();
	return testlib_done("test_group_peer");
}
