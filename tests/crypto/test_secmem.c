/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_secmem: crypto/secmem.c. Slots are distinct, aligned, zeroed when handed out, do not
 * overlap (filling one leaves every other intact), are wiped when given back and reused; the
 * pool grows past one chunk and counts what is in use; destroying it with slots still in use
 * is fine; a pool of thousands of slots takes few chunks, doubling in size up to a bound;
 * secmem_trim() releases a chunk only at its second call that finds it empty and unused, never
 * one with a slot in use, and the pool works on after it (slots intact, new chunks as needed).
 * Hostile twin: sizes it must refuse, NULLs it must accept, and a random workout of
 * allocations and frees checked against a model (each live slot keeps the pattern written to
 * it). Under the sanitizer build a use after free of a slot would be reported (slots are
 * poisoned), so the workout also proves no slot is touched after it was given back.
 */
#include "secmem.h"
#include "testlib.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define SLOT 37                         /* not a multiple of the alignment on purpose */
#define MANY (3 * SECMEM_CHUNK_SLOTS + 5)

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_basic(void)
{
	struct secmem *p = secmem_new(SLOT);
	uint8_t *s[MANY];
	CHECK(p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < MANY; i++) {
		s[i] = secmem_alloc(p);
		CHECK(s[i] != NULL);
		if (!s[i])
			goto done;
		CHECK((uintptr_t)s[i] % _Alignof(max_align_t) == 0);
		CHECK(all_bytes(s[i], SLOT, 0));
		memset(s[i], (int)(i + 1), SLOT);
	}
	CHECK(secmem_in_use(p) == MANY);
	/* no two slots overlap: each still holds its own pattern */
	for (size_t i = 0; i < MANY; i++)
		CHECK(all_bytes(s[i], SLOT, (uint8_t)(i + 1)));
	for (size_t i = 0; i < MANY; i++)
		for (size_t j = i + 1; j < MANY; j++)
			CHECK(s[i] != s[j]);

	/* given back, a slot is reused, and comes back zeroed */
	uint8_t *again;
	secmem_free(p, s[7]);
	CHECK(secmem_in_use(p) == MANY - 1);
	again = secmem_alloc(p);
	CHECK(again == s[7]);
	CHECK(again && all_bytes(again, SLOT, 0));
	CHECK(secmem_in_use(p) == MANY);
	secmem_free(p, NULL);               /* fine */
	CHECK(secmem_in_use(p) == MANY);

	/* all given back, then all taken again: no new chunk needed, all zero */
	for (size_t i = 0; i < MANY; i++)
		secmem_free(p, s[i]);
	CHECK(secmem_in_use(p) == 0);
	for (size_t i = 0; i < MANY; i++) {
		s[i] = secmem_alloc(p);
		CHECK(s[i] && all_bytes(s[i], SLOT, 0));
		if (s[i])
			memset(s[i], 0x5a, SLOT);
	}
done:
	/* destroyed with slots in use: everything is wiped and released */
	secmem_destroy(&p);
	CHECK(p == NULL);
	secmem_destroy(&p);                 /* NULL is fine */
	secmem_destroy(NULL);
}

static void test_refused(void)
{
	CHECK(secmem_new(0) == NULL);
	CHECK(secmem_new(SECMEM_MAX_SLOT + 1) == NULL);
	CHECK(secmem_new((size_t)-1) == NULL);
	struct secmem *p = secmem_new(SECMEM_MAX_SLOT);
	CHECK(p != NULL);
	void *s = p ? secmem_alloc(p) : NULL;
	CHECK(s != NULL);
	secmem_free(p, s);
	secmem_destroy(&p);
	CHECK(secmem_in_use(NULL) == 0);
}

/* Random allocations and frees against a model: every live slot keeps its pattern. */
static void test_workout(void)
{
	enum { LIVE = 200, STEPS = 20000 };
	struct secmem *p = secmem_new(48);
	uint8_t *live[LIVE] = { 0 };
	uint8_t pat[LIVE] = { 0 };
	size_t n = 0, bad = 0, trims = 0;
	CHECK(p != NULL);
	if (!p)
		return;
	for (int step = 0; step < STEPS; step++) {
		size_t k = randombytes_uniform(LIVE);
		if (live[k]) {
			if (!all_bytes(live[k], 48, pat[k]))
				bad++;
			secmem_free(p, live[k]);
			live[k] = NULL;
			n--;
		} else {
			live[k] = secmem_alloc(p);
			if (!live[k] || !all_bytes(live[k], 48, 0)) {
				bad++;
				continue;
			}
			pat[k] = (uint8_t)(1 + randombytes_uniform(255));
			memset(live[k], pat[k], 48);
			n++;
		}
		if (secmem_in_use(p) != n)
			bad++;
		if (step % 97 == 0)
			trims += secmem_trim(p);
		if (step % 5000 == 4999) {      /* a burst over: everything back, the pool trimmed */
			for (size_t j = 0; j < LIVE; j++) {
				if (live[j] && !all_bytes(live[j], 48, pat[j]))
					bad++;
				secmem_free(p, live[j]);
				live[j] = NULL;
			}
			n = 0;
			trims += secmem_trim(p);
			trims += secmem_trim(p);
			if (secmem_chunks(p) != 0)
				bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(trims > 0);                   /* the drains emptied the pool: its chunks went */
	printf("  workout: %d steps, %zu slots live at the end, %zu mismatches, %zu chunks trimmed\n",
	       STEPS, n, bad, trims);
	secmem_destroy(&p);
}

/* A pool as large as a node's link keys in meshsim --sim's 1,000-node mesh: its chunks double
 * (up to SECMEM_CHUNK_BYTES), so they stay few. With a fixed 32 slots a chunk, 4,096 slots took
 * 128 chunks, several memory mappings each, and 1,000 such nodes in one process ran into the
 * kernel's limit of 65,530 mappings; the sizes they come in are checked here. */
static void test_many_slots(void)
{
	enum { N = 4096 };
	static void *s[N];
	struct secmem *p = secmem_new(SLOT);
	size_t got = 0, bad = 0;
	CHECK(p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < N; i++) {
		s[i] = secmem_alloc(p);
		if (s[i]) {
			got++;
			memset(s[i], (int)(i & 0xff), SLOT);
		}
	}
	for (size_t i = 0; i < N; i++)
		if (s[i] && !all_bytes(s[i], SLOT, (uint8_t)(i & 0xff)))
			bad++;
	CHECK(got == N && bad == 0);
	CHECK(secmem_in_use(p) == N);
	/* 32 + 64 + ... + 4096 slots: 8 chunks hold 8,160, the 7 before them only 4,064 */
	CHECK(secmem_chunks(p) == 8);
	printf("  many slots: %d slots of %d bytes in %zu chunks\n", N, SLOT, secmem_chunks(p));
	for (size_t i = 0; i < N; i++)
		secmem_free(p, s[i]);
	CHECK(secmem_in_use(p) == 0);
	/* the largest slot: chunks stop doubling at SECMEM_CHUNK_BYTES */
	struct secmem *big = secmem_new(SECMEM_MAX_SLOT);
	size_t want_chunks = 0, slots = 0;
	for (size_t n = SECMEM_CHUNK_SLOTS; slots < 1024; want_chunks++) {
		slots += n;
		if ((size_t)SECMEM_MAX_SLOT * n * 2 <= SECMEM_CHUNK_BYTES)
			n *= 2;
	}
	for (size_t i = 0; big && i < 1024; i++)
		s[i] = secmem_alloc(big);
	CHECK(big && secmem_in_use(big) == 1024 && secmem_chunks(big) == want_chunks);
	secmem_destroy(&big);
	secmem_destroy(&p);
}

/* Trimming: chunks 0, 1 and 2 hold 32, 64 and 128 slots, handed out lowest address first, so
 * s[0..31] are chunk 0's and s[32..95] chunk 1's. */
static void test_trim(void)
{
	enum { N = 3 * SECMEM_CHUNK_SLOTS + 1 };
	uint8_t *s[N];
	size_t bad = 0;
	struct secmem *p = secmem_new(SLOT);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(secmem_trim(p) == 0);         /* no chunk yet */
	CHECK(secmem_trim(NULL) == 0);
	for (size_t i = 0; i < N; i++) {
		s[i] = secmem_alloc(p);
		if (!s[i]) {
			CHECK(s[i] != NULL);
			secmem_destroy(&p);
			return;
		}
		memset(s[i], (int)(i + 1), SLOT);
	}
	CHECK(secmem_chunks(p) == 3);
	/* nothing released while every chunk has a slot in use */
	CHECK(secmem_trim(p) == 0 && secmem_trim(p) == 0 && secmem_chunks(p) == 3);

	/* chunk 1 emptied: kept at the first trim, released at the second */
	for (size_t i = SECMEM_CHUNK_SLOTS; i < 3 * SECMEM_CHUNK_SLOTS; i++)
		secmem_free(p, s[i]);
	CHECK(secmem_trim(p) == 0 && secmem_chunks(p) == 3);
	CHECK(secmem_trim(p) == 1 && secmem_chunks(p) == 2);
	CHECK(secmem_in_use(p) == SECMEM_CHUNK_SLOTS + 1);
	for (size_t i = 0; i < SECMEM_CHUNK_SLOTS; i++)
		if (!all_bytes(s[i], SLOT, (uint8_t)(i + 1)))
			bad++;
	if (!all_bytes(s[N - 1], SLOT, (uint8_t)N))
		bad++;
	CHECK(bad == 0);

	/* chunk 0 emptied, then used between the two trims: kept; released at the trim after.
	 * The free stack is last in, first out, so the slot handed out is chunk 0's last freed. */
	for (size_t i = 0; i < SECMEM_CHUNK_SLOTS; i++)
		secmem_free(p, s[i]);
	CHECK(secmem_trim(p) == 0);
	uint8_t *t = secmem_alloc(p);
	CHECK(t == s[SECMEM_CHUNK_SLOTS - 1]);
	secmem_free(p, t);
	CHECK(secmem_trim(p) == 0 && secmem_chunks(p) == 2);
	CHECK(secmem_trim(p) == 1 && secmem_chunks(p) == 1);

	/* the pool goes on: the chunk left keeps its slot, new ones come zeroed and distinct, and
	 * new chunks are added past it */
	CHECK(all_bytes(s[N - 1], SLOT, (uint8_t)N));
	static uint8_t *u[4 * SECMEM_CHUNK_SLOTS * 2];
	const size_t nu = sizeof u / sizeof *u;
	for (size_t i = 0; i < nu; i++) {
		u[i] = secmem_alloc(p);
		if (!u[i] || !all_bytes(u[i], SLOT, 0))
			bad++;
		else
			memset(u[i], 0x33, SLOT);
	}
	CHECK(bad == 0 && secmem_in_use(p) == nu + 1 && secmem_chunks(p) >= 3);
	for (size_t i = 0; i < nu; i++)
		if (u[i] && !all_bytes(u[i], SLOT, 0x33))
			bad++;
	CHECK(bad == 0 && all_bytes(s[N - 1], SLOT, (uint8_t)N));

	/* all given back: the whole pool goes in two trims, and still hands out slots after */
	for (size_t i = 0; i < nu; i++)
		secmem_free(p, u[i]);
	secmem_free(p, s[N - 1]);
	size_t had = secmem_chunks(p);
	CHECK(secmem_trim(p) == 0 && secmem_trim(p) == had && secmem_chunks(p) == 0);
	uint8_t *t2 = secmem_alloc(p);
	CHECK(t2 && all_bytes(t2, SLOT, 0) && secmem_chunks(p) == 1 && secmem_in_use(p) == 1);
	printf("  trim: chunks released one at a time, then all %zu at once\n", had);
	secmem_destroy(&p);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_basic();
	test_refused();
	test_workout();
	test_many_slots();
	test_trim();
	return testlib_done("test_secmem");
}
