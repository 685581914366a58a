/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * monoclock: the monotonic clock, read in one place. The engine (mesh/) never reads a clock:
 * its callers pass it the time, which comes from here in the node and the tools (a simulation
 * passes virtual time instead). CLOCK_BOOTTIME (CLOCK_MONOTONIC where there is none), so a
 * wall-clock step never stretches or shortens a timer, and a suspension counts: a message's
 * time-to-live and a peer's silence run while the machine sleeps, as they do for the peers.
 * And the wall clock's time of day, which only says when, to people (wallclock_iso).
 */
#ifndef MESHNODE_MONOCLOCK_H
#define MESHNODE_MONOCLOCK_H

#include <stdint.h>

uint64_t monoclock_ms(void);
int64_t monoclock_us(void);
double monoclock_s(void);

/* The wall clock in UTC for logs and traces, which people set beside other machines' logs:
 * "2026-12-05T03:50:01.123Z" with digits (3 or 6) decimals of the second. */
#define WALLCLOCK_ISO_LEN 32
void wallclock_iso(char out[WALLCLOCK_ISO_LEN], int digits);

#endif
