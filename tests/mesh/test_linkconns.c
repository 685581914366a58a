/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_linkconns: mesh/linkconns.c, the link's dialled connections by session ID. Records are
 * found by sid through growth and removals: a removal shifts the rest of its probe cluster
 * back, across the table's end too, so a lookup never stops early at a hole, and records at
 * their home stay. sid 0 and unknown sids find nothing, removing an unknown sid changes
 * nothing, and every addition and removal counts in gen, which a walk by slot uses to know
 * that records moved.
 */
#include "linkconns.h"
#include "testlib.h"

#include <string.h>

#define N 3000
#define HASH_INV 244002641u   /* 2654435761 (linkconns.c's hash) times this is 1 mod 2^32 */

static struct linkconn recs[N];

/* A third of the sids are multiples of 4096, whose hashes keep 12 low zero bits: at every
 * table size up to 4096 they share home 0, and crowd two homes at 8192. */
static uint32_t sid_of(unsigned i)
{
	return i % 3 == 0 ? (uint32_t)(i + 1) * 4096u : (uint32_t)(i * 2654435761u) | 1u;
}

/* The k-th sid whose home is h in a table of 64 slots. */
static uint32_t sid_home64(unsigned h, unsigned k)
{
	return (uint32_t)((h + 64u * k) * HASH_INV);
}

static bool all_found(const struct linkconns *t, unsigned from, unsigned to, unsigned step)
{
	for (unsigned i = from; i < to; i += step)
		if (linkconns_get(t, recs[i].sid) != &recs[i])
			return false;
	return true;
}

static size_t walk(const struct linkconns *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->cap; i++)
		k += t->slots[i] != NULL;
	return k;
}

static void test_many(void)
{
	struct linkconns t;
	CHECK(linkconns_init(&t) == MESH_OK);
	if (!t.cap)
		return;
	CHECK(t.n == 0 && walk(&t) == 0 && t.gen == 0);
	CHECK(linkconns_get(&t, 0) == NULL && linkconns_get(&t, 12345) == NULL);
	for (unsigned i = 0; i < N; i++) {
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].sid = sid_of(i);
		recs[i].fd = -1;
	}
	bool added = true;
	for (unsigned i = 0; i < N; i++)
		added &= linkconns_add(&t, &recs[i]) == MESH_OK;
	CHECK(added);
	CHECK(t.n == N && walk(&t) == N && t.gen == N);
	CHECK(t.cap >= 2 * N && (t.cap & (t.cap - 1)) == 0);   /* load at most a half */
	CHECK(all_found(&t, 0, N, 1));
	CHECK(linkconns_get(&t, 0) == NULL && linkconns_get(&t, 7) == NULL);
	/* every other record out: all of one crowded home's, and half of the rest */
	uint64_t gen = t.gen;
	for (unsigned i = 1; i < N; i += 2)
		linkconns_del(&t, recs[i].sid);
	CHECK(t.n == N / 2 && walk(&t) == N / 2 && t.gen == gen + N / 2);
	CHECK(all_found(&t, 0, N, 2));
	bool gone = true;
	for (unsigned i = 1; i < N; i += 2)
		gone &= linkconns_get(&t, recs[i].sid) == NULL;
	CHECK(gone);
	/* an unknown sid: nothing changes, gen included */
	gen = t.gen;
	linkconns_del(&t, 7);
	linkconns_del(&t, recs[1].sid);
	CHECK(t.n == N / 2 && t.gen == gen);
	/* back in, then all out */
	added = true;
	for (unsigned i = 1; i < N; i += 2)
		added &= linkconns_add(&t, &recs[i]) == MESH_OK;
	CHECK(added && t.n == N && all_found(&t, 0, N, 1) && t.gen == gen + N / 2);
	for (unsigned i = 0; i < N; i++)
		linkconns_del(&t, recs[i].sid);
	CHECK(t.n == 0 && walk(&t) == 0 && linkconns_get(&t, recs[0].sid) == NULL);
	CHECK(t.gen == gen + N / 2 + N);
	linkconns_free(&t);
	CHECK(t.slots == NULL && t.cap == 0);
	/* a freed table is empty to every call, and a record added grows it again */
	CHECK(linkconns_get(&t, recs[0].sid) == NULL);
	linkconns_del(&t, recs[0].sid);
	CHECK(linkconns_add(&t, &recs[0]) == MESH_OK && linkconns_get(&t, recs[0].sid) == &recs[0]);
	linkconns_free(&t);
}

/* A cluster that wraps past the last slot, in a table of 64: after a removal, each record
 * is where a lookup from its home meets it first. */
static void test_wrap(void)
{
	struct linkconn a = { .sid = sid_home64(62, 0) }, b = { .sid = sid_home64(62, 1) },
	                c = { .sid = sid_home64(63, 0) }, d = { .sid = sid_home64(63, 1) };
	struct linkconns t;
	CHECK(linkconns_init(&t) == MESH_OK && t.cap == 64);
	if (t.cap != 64)
		return;
	/* a (home 62), c and d (home 63): slots 62, 63, 0; a out: c and d stay, since slot 62
	 * is before their home (d's wraps past the end) */
	CHECK(linkconns_add(&t, &a) == MESH_OK && linkconns_add(&t, &c) == MESH_OK &&
	      linkconns_add(&t, &d) == MESH_OK);
	CHECK(t.slots[62] == &a && t.slots[63] == &c && t.slots[0] == &d);
	linkconns_del(&t, a.sid);
	CHECK(t.slots[62] == NULL && t.slots[63] == &c && t.slots[0] == &d);
	CHECK(linkconns_get(&t, c.sid) == &c && linkconns_get(&t, d.sid) == &d);
	linkconns_free(&t);
	/* a, b (home 62), c (home 63): slots 62, 63, 0; a out: b to 62, c to 63, slot 0 empty */
	CHECK(linkconns_init(&t) == MESH_OK && t.cap == 64);
	if (t.cap != 64)
		return;
	CHECK(linkconns_add(&t, &a) == MESH_OK && linkconns_add(&t, &b) == MESH_OK &&
	      linkconns_add(&t, &c) == MESH_OK);
	CHECK(t.slots[62] == &a && t.slots[63] == &b && t.slots[0] == &c);
	linkconns_del(&t, a.sid);
	CHECK(t.slots[62] == &b && t.slots[63] == &c && t.slots[0] == NULL);
	CHECK(linkconns_get(&t, b.sid) == &b && linkconns_get(&t, c.sid) == &c);
	linkconns_free(&t);
}

int main(void)
{
	test_many();
	test_wrap();
	return testlib_done("test_linkconns");
}
