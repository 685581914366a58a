/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_mallocpolicy: meshnode_malloc_policy() stops the page faults that made a 64 KiB whisper
 * slow (docs/performance.md). The pattern is a whisper burst's: a window of 64 KiB blocks
 * (4 MiB) allocated, written and freed, round after round. Under glibc's defaults free() hands
 * the heap's top back each round and the next round faults every page in again; this is
 * checked first, so the test shows it can see the faults. With the policy, rounds after the
 * first fault almost no page. Under AddressSanitizer, whose allocator is not glibc's, the
 * policy must say it changed nothing (false), and that is what is checked there.
 */
#include "meshnode.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifndef TESTLIB_ASAN
enum { BLOCK = 64 << 10, WINDOW = 64, ROUNDS = 20 };

static long minor_faults(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : -1;
}

/* Minor page faults in rounds 2..ROUNDS of the whisper-burst pattern. */
static long burst_faults(void)
{
	static char *blocks[WINDOW];
	long before = 0;
	for (int r = 0; r < ROUNDS; r++) {
		if (r == 1)
			before = minor_faults();
		for (int i = 0; i < WINDOW; i++) {
			blocks[i] = malloc(BLOCK);
			if (!blocks[i])
				return -1;
			memset(blocks[i], r + i, BLOCK);
		}
		/* in the order they were sent, as delivered messages are freed */
		for (int i = 0; i < WINDOW; i++)
			free(blocks[i]);
	}
	return minor_faults() - before;
}
#endif

int main(void)
{
#ifdef TESTLIB_ASAN
	CHECK(!meshnode_malloc_policy());
	printf("test_mallocpolicy: AddressSanitizer's allocator: the policy reports false\n");
#else
	long pages = (long)WINDOW * BLOCK / 4096 * (ROUNDS - 1);
	long dflt = burst_faults();
	printf("test_mallocpolicy: glibc's defaults: %ld minor faults in %d rounds (%ld pages written)\n",
	       dflt, ROUNDS - 1, pages);
	CHECK(dflt > pages / 2);   /* the faults this policy is for: the test can see them */
	CHECK(meshnode_malloc_policy());
	long kept = burst_faults();
	printf("test_mallocpolicy: with the policy: %ld minor faults\n", kept);
	CHECK(kept >= 0 && kept < pages / 100);
#endif
	return testlib_done("test_mallocpolicy");
}
