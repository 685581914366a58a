/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * heard: node IDs heard in beacons whose signature was not checked. A lower ID we are not
 * linked to is the one to dial us, so its beacons are answered unchecked until the fallback is
 * due (docs/protocol.md section 2); what we must remember meanwhile is when we first heard it.
 * Nothing proves such a node exists, so it never enters the peer table: it lives here, in a
 * fixed set-associative table placed by SipHash under a random key of its own, where a full
 * set forgets the entry heard from least recently. Its memory is fixed whatever arrives. An
 * unchecked beacon never moves an entry's first-heard time later (a forged new incarnation
 * cannot put the fallback off), but a flood of fresh IDs that fills a set can make us forget
 * a genuine lower node's entry, and with it when it was first heard, which delays our
 * fallback dial towards it; it can take no peer's place.
 */
#ifndef MESH_MESH_HEARD_H
#define MESH_MESH_HEARD_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "wire.h"

#define HEARD_SETS 128
#define HEARD_WAYS 4

struct heard {
	uint8_t id[WIRE_IDLEN];
	uint64_t incarnation;         /* the one it claimed when first heard */
	uint64_t first_ms;            /* when first heard with that incarnation; 0: free slot */
	uint64_t last_ms;             /* when last heard */
};

struct heard_table {
	struct heard slots[HEARD_SETS * HEARD_WAYS];
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* Empties t and draws its key. */
void heard_init(struct heard_table *t);
struct heard *heard_get(struct heard_table *t, const uint8_t id[WIRE_IDLEN]);
/* The entry of id, or a new one (first_ms 0, id set) in a free slot of its set, or in the
 * place of the set's least recently heard. Never NULL. */
struct heard *heard_add(struct heard_table *t, const uint8_t id[WIRE_IDLEN], uint64_t now_ms);
void heard_del(struct heard_table *t, const uint8_t id[WIRE_IDLEN]);
/* The set (0 to HEARD_SETS - 1) that holds id: an entry is evicted only by a fifth ID of its
 * set, which tests that need their entries kept avoid. */
size_t heard_set(const struct heard_table *t, const uint8_t id[WIRE_IDLEN]);

#endif
