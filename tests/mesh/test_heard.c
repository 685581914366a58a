/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_heard: mesh/heard.c, the table of IDs heard in unchecked beacons. No socket.
 * - add, get and del of one ID; add of a known ID returns its entry unchanged;
 * - a set that is full forgets its least recently heard entry, and only that one;
 * - 100,000 fresh IDs (a flood) leave at most HEARD_SETS x HEARD_WAYS entries, and an ID heard
 *   between every two of them keeps its entry (it is the most recently heard of its set
 *   whenever a newcomer arrives).
 */
#include "heard.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

static size_t used(const struct heard_table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < HEARD_SETS * HEARD_WAYS; i++)
		n += t->slots[i].first_ms != 0;
	return n;
}

static void fill(struct heard *h, uint64_t now)
{
	if (!h->first_ms)
		h->first_ms = now;
	h->last_ms = now;
}

static void test_basics(void)
{
	static struct heard_table t;
	uint8_t a[WIRE_IDLEN], b[WIRE_IDLEN];
	heard_init(&t);
	randombytes_buf(a, sizeof a);
	randombytes_buf(b, sizeof b);
	CHECK(heard_get(&t, a) == NULL);
	struct heard *h = heard_add(&t, a, 5);
	CHECK(h && h->first_ms == 0 && memcmp(h->id, a, WIRE_IDLEN) == 0);
	h->first_ms = 5;
	h->incarnation = 77;
	CHECK(heard_get(&t, a) == h);
	CHECK(heard_add(&t, a, 9) == h && h->first_ms == 5 && h->incarnation == 77);
	CHECK(heard_get(&t, b) == NULL);
	heard_del(&t, a);
	CHECK(heard_get(&t, a) == NULL && used(&t) == 0);
	heard_del(&t, b);                       /* unknown: nothing happens */
	CHECK(used(&t) == 0);
}

/* The set an ID goes to in t (found through an empty table with t's key). */
static size_t set_index(const struct heard_table *t, const uint8_t id[WIRE_IDLEN])
{
	static struct heard_table scratch;
	memset(scratch.slots, 0, sizeof scratch.slots);
	memcpy(scratch.key, t->key, sizeof scratch.key);
	return (size_t)(heard_add(&scratch, id, 1) - scratch.slots) / HEARD_WAYS;
}

/* want IDs that land in one set: found by trying, as an attacker without the key cannot. */
static size_t same_set(const struct heard_table *t, uint8_t ids[][WIRE_IDLEN], size_t want)
{
	size_t n = 1;
	randombytes_buf(ids[0], WIRE_IDLEN);
	size_t set = set_index(t, ids[0]);
	for (int tries = 0; n < want && tries < 1000000; tries++) {
		randombytes_buf(ids[n], WIRE_IDLEN);
		if (set_index(t, ids[n]) == set)
			n++;
	}
	return n;
}

static void test_full_set(void)
{
	static struct heard_table t;
	uint8_t ids[HEARD_WAYS + 1][WIRE_IDLEN];
	heard_init(&t);
	CHECK(same_set(&t, ids, HEARD_WAYS + 1) == HEARD_WAYS + 1);
	/* the four in the set, heard at 10, 20, 30, 40 */
	for (size_t i = 0; i < HEARD_WAYS; i++)
		fill(heard_add(&t, ids[i], 10 * (i + 1)), 10 * (i + 1));
	CHECK(used(&t) == HEARD_WAYS);
	struct heard *h0 = heard_get(&t, ids[0]);
	CHECK(h0 != NULL);
	if (h0)
		h0->last_ms = 50;                  /* heard again: now the newest; 20 is the oldest */
	struct heard *n = heard_add(&t, ids[HEARD_WAYS], 60);
	CHECK(n && n->first_ms == 0 && memcmp(n->id, ids[HEARD_WAYS], WIRE_IDLEN) == 0);
	fill(n, 60);
	CHECK(heard_get(&t, ids[1]) == NULL);   /* the least recently heard went */
	CHECK(heard_get(&t, ids[0]) && heard_get(&t, ids[2]) && heard_get(&t, ids[3]));
}

static void test_flood(void)
{
	static struct heard_table t;
	uint8_t keep[WIRE_IDLEN], id[WIRE_IDLEN];
	heard_init(&t);
	randombytes_buf(keep, sizeof keep);
	fill(heard_add(&t, keep, 1), 1);
	unsigned kept = 0;
	for (uint64_t i = 2; i < 100002; i++) {
		randombytes_buf(id, sizeof id);
		fill(heard_add(&t, id, i), i);
		/* the genuine node beacons too, as often as the flood lets any one ID be heard */
		struct heard *k = heard_get(&t, keep);
		if (k) {
			kept++;
			k->last_ms = i;
		} else {
			fill(heard_add(&t, keep, i), i);
		}
	}
	CHECK(used(&t) <= HEARD_SETS * HEARD_WAYS);
	CHECK(kept > 99000);
	printf("  flood: 100000 fresh IDs, %zu entries held (at most %d); a node heard between "
	       "them kept its entry %u times\n", used(&t), HEARD_SETS * HEARD_WAYS, kept);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_basics();
	test_full_set();
	test_flood();
	return testlib_done("test_heard");
}
