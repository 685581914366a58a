/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * seedrng: libsodium's randombytes from a seed, for simulations (simnet) and fuzz targets,
 * where a run must take the same path every time it is given the same seed: keys, session IDs
 * and jitter then come from a ChaCha20 stream keyed by the seed and a label. Never linked into
 * the library or the programs people run: a node's keys must not be predictable.
 */
#ifndef MESH_TOOLS_SEEDRNG_H
#define MESH_TOOLS_SEEDRNG_H

#include <stdint.h>

/* Starts the stream of (seed, label) again; the first call installs it as randombytes'
 * implementation, which must happen before sodium_init(). label: at most 24 bytes are used. */
void seedrng_seed(uint64_t seed, const char *label);

#endif
