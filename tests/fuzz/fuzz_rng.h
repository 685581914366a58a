/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_rng: the fuzz targets' own randomness. A target that makes keys, session IDs or
 * jitter calls fuzz_rng_seed() at the start of every input: libsodium's randombytes then
 * draws from a ChaCha20 stream of that seed, so one input always takes the same path (a crash
 * replays, and coverage feedback is not noise). Also runs sodium_init() the first time.
 */
#ifndef MESH_TESTS_FUZZ_RNG_H
#define MESH_TESTS_FUZZ_RNG_H

#include <stdint.h>

void fuzz_rng_seed(uint64_t seed);

#endif
