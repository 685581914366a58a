/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* fuzz_rng: see fuzz_rng.h. */
#include "fuzz_rng.h"

#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "seedrng.h"

void fuzz_rng_seed(uint64_t seed)
{
	seedrng_seed(seed, "meshnode-fuzz");
	if (sodium_init() < 0) {
		fprintf(stderr, "fuzz_rng: sodium_init failed\n");
		abort();
	}
}
