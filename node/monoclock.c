/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* monoclock: see monoclock.h. */
#include "monoclock.h"

#include <stdio.h>
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

void wallclock_iso(char out[WALLCLOCK_ISO_LEN], int digits)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm)) {
		snprintf(out, WALLCLOCK_ISO_LEN, "?");
		return;
	}
	size_t k = strftime(out, WALLCLOCK_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 6)
		snprintf(out + k, WALLCLOCK_ISO_LEN - k, ".%06ldZ", ts.tv_nsec / 1000);
	else
		snprintf(out + k, WALLCLOCK_ISO_LEN - k, ".%03ldZ", ts.tv_nsec / 1000000);
}
