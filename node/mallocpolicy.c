/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mallocpolicy: meshnode_malloc_policy(), the allocator policy a program that carries large
 * messages should choose. Process-wide, so the node never sets it itself: the meshnode program
 * and meshbench call it first thing, and an embedding program may.
 */
#include <stdbool.h>
#include <stdlib.h>   /* defines __GLIBC__ under glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "meshnode.h"

/*
 * A 64 KiB whisper is malloc'd and freed four times at least: the caller's copy, the sealed
 * frames, ZeroMQ's receive buffers, the reassembled message. With glibc's defaults, free()
 * hands the top of a thread's heap back to the kernel once 128 KiB are free there (more after
 * the first mmap'd block is freed), so the next message faults every page in again: on this
 * project's VMs that was most of a 64 KiB whisper's cost (`perf record -e page-faults`,
 * 2026-12-05; docs/performance.md, "The page faults of large messages"). Keeping up to
 * TRIM_KEEP free at the top of each heap, and serving blocks below MMAP_ABOVE from the heaps
 * rather than from mmap (every message up to MESHNODE_MAX_PAYLOAD fits), removes those faults.
 * The pages kept are pages a burst used; malloc_trim(0) still returns them (the meshnode
 * program does after 10 quiet s).
 */
enum {
	TRIM_KEEP = 8 << 20,    /* twice meshbench's 4 MiB of whispers in flight */
	MMAP_ABOVE = 2 << 20,   /* > MESHNODE_MAX_PAYLOAD and its framing */
};

bool meshnode_malloc_policy(void)
{
#ifdef __GLIBC__
	_Static_assert(MMAP_ABOVE > MESHNODE_MAX_PAYLOAD + 65536, "a whole message stays in the heaps");
	bool ok = mallopt(M_MMAP_THRESHOLD, MMAP_ABOVE) == 1;
	return mallopt(M_TRIM_THRESHOLD, TRIM_KEEP) == 1 && ok;
#else
	return false;
#endif
}
