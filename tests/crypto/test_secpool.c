/* test_secpool: crypto/secpool.c. Slots are distinct, aligned and zeroed when handed out, wiped
 * when given back, blocks come and go with their slots, and nothing leaks (ASan). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secpool.h"
#include "testlib.h"

#define N 300

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_sizes(void)
{
	struct secpool *p = secpool_new(0);
	CHECK(p == NULL);
	p = secpool_new(4097);
	CHECK(p == NULL);
	static const size_t sizes[] = { 1, 15, 16, 17, 120, 128, 1000, 4096 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		p = secpool_new(sizes[k]);
		CHECK(p != NULL);
		if (!p)
			continue;
		uint8_t *a = secpool_alloc(p), *b = secpool_alloc(p);
		CHECK(a && b && a != b);
		CHECK(((uintptr_t)a % 16) == 0 && ((uintptr_t)b % 16) == 0);
		if (a && b) {
			CHECK(all_zero(a, sizes[k]) && all_zero(b, sizes[k]));
			/* the whole requested size is usable, and the two do not overlap */
			memset(a, 0xa5, sizes[k]);
			memset(b, 0x5a, sizes[k]);
			CHECK(a[sizes[k] - 1] == 0xa5 && b[0] == 0x5a);
		}
		secpool_free(p, (void **)&a);
		secpool_free(p, (void **)&b);
		CHECK(a == NULL && b == NULL);
		CHECK(secpool_used(p) == 0 && secpool_blocks(p) == 0);
		secpool_destroy(&p);
		CHECK(p == NULL);
	}
}

static void test_many(void)
{
	struct secpool *p = secpool_new(120);   /* a struct noise_transport */
	uint8_t *s[N];
	size_t order[N];
	CHECK(p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < N; i++) {
		s[i] = secpool_alloc(p);
		CHECK(s[i] != NULL);
		if (s[i]) {
			CHECK(all_zero(s[i], 120));
			memset(s[i], (int)(i & 0xff) | 1, 120);
		}
	}
	CHECK(secpool_used(p) == N);
	/* far fewer blocks than slots: the point of the pool */
	CHECK(secpool_blocks(p) >= 1 && secpool_blocks(p) * 32 <= N + 64);
	/* no slot was overwritten by another's memset */
	for (size_t i = 0; i < N; i++)
		CHECK(s[i] && s[i][0] == ((i & 0xff) | 1) && s[i][119] == ((i & 0xff) | 1));

	/* give half back in a shuffled order (test_wipe checks the wipe) */
	for (size_t i = 0; i < N; i++)
		order[i] = i;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = randombytes_uniform((uint32_t)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t k = 0; k < N / 2; k++) {
		secpool_free(p, (void **)&s[order[k]]);
		CHECK(s[order[k]] == NULL);
	}
	CHECK(secpool_used(p) == N - N / 2);
	/* reuse: a slot handed out again is zero, whatever was in it */
	for (size_t k = 0; k < N / 2; k++) {
		s[order[k]] = secpool_alloc(p);
		CHECK(s[order[k]] && all_zero(s[order[k]], 120));
	}
	CHECK(secpool_used(p) == N);
	for (size_t i = 0; i < N; i++)
		secpool_free(p, (void **)&s[i]);
	CHECK(secpool_used(p) == 0 && secpool_blocks(p) == 0);
	secpool_destroy(&p);
}

/* A slot given back is wiped at once, not when its block goes. */
static void test_wipe(void)
{
	struct secpool *p = secpool_new(64);
	CHECK(p != NULL);
	if (!p)
		return;
	uint8_t *keep = secpool_alloc(p), *gone = secpool_alloc(p);
	CHECK(keep && gone);
	if (keep && gone) {
		uint8_t *addr = gone;
		memset(gone, 0x77, 64);
		secpool_free(p, (void **)&gone);
		CHECK(secpool_blocks(p) == 1);   /* `keep` holds the block */
		CHECK(all_zero(addr, 64));
		/* the next slot handed out is that one again, zeroed */
		uint8_t *again = secpool_alloc(p);
		CHECK(again == addr);
		secpool_free(p, (void **)&again);
	}
	secpool_free(p, (void **)&keep);
	secpool_destroy(&p);
}

/* NULLs are fine; destroying a pool with slots in use releases them (ASan finds a leak). */
static void test_edges(void)
{
	struct secpool *p = NULL;
	void *none = NULL;
	secpool_destroy(&p);
	secpool_destroy(NULL);
	CHECK(secpool_used(NULL) == 0 && secpool_blocks(NULL) == 0);
	p = secpool_new(32);
	CHECK(p != NULL);
	if (!p)
		return;
	secpool_free(p, &none);
	secpool_free(p, NULL);
	for (int i = 0; i < 200; i++)
		CHECK(secpool_alloc(p) != NULL);
	CHECK(secpool_used(p) == 200);
	secpool_destroy(&p);
	CHECK(p == NULL);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "test_secpool: sodium_init failed\n");
		return 1;
	}
	test_sizes();
	test_many();
	test_wipe();
	test_edges();
	return testlib_done("test_secpool");
}
