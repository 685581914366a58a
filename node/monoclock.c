/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* monoclock: see monoclock.h. */
#include "monoclock.h"

#include <time.h>

static struct timespec now(void)
{
	struct timespec ts;
#ifdef CLOCK_BOOTTIME
	/* counts a suspension: a node that wakes after one must see its time-to-live and its
	 * peers' silence as long as they were (protocol section 6), not resume where it slept */
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return ts;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

uint64_t monoclock_ms(void)
{
	struct timespec ts = now();
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t monoclock_us(void)
{
	struct timespec ts = now();
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double monoclock_s(void)
{
	struct timespec ts = now();
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
