/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * testid: identities placed in the ID order, for the engine's tests (the lower ID dials,
 * docs/protocol.md section 4). Header-only: the tests of tests/mesh link mn_crypto, the rest
 * of the suite's testlib does not need it.
 */
#ifndef MESH_TESTS_TESTID_H
#define MESH_TESTS_TESTID_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "keys.h"
#include "wire.h"

/* A new identity whose ID is below (lower) or above id, found by trying; NULL after 1000
 * tries or out of memory. */
static inline struct keys_identity *testid_beside(const uint8_t id[WIRE_IDLEN], bool lower)
{
	for (int tries = 0; tries < 1000; tries++) {
		struct keys_identity *k = keys_identity_generate();
		if (!k)
			return NULL;
		if ((memcmp(k->id, id, WIRE_IDLEN) < 0) == lower)
			return k;
		keys_identity_destroy(&k);
	}
	return NULL;
}

#endif
