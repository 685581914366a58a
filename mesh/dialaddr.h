/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * dialaddr: how many of the handshakes we initiated are in progress to each destination IPv4
 * address, so that the engine can hold those of one address to DIAL_PER_ADDR_MAX
 * (docs/protocol.md section 4, "Dial slots"). No socket, no clock.
 *
 * A table of DIALADDR_MAX rows, each an address and its count; a row is freed when its count
 * falls to zero, so only addresses with a handshake in progress hold one. Every counted
 * handshake holds one of the MESH_MAX_HANDSHAKES_OUT slots, and the engine checks at build
 * time that DIALADDR_MAX is not below that (mesh_impl.h): so the table cannot be full when a
 * dial is counted. Were it full all the same, dialaddr_add says so and the engine lets the
 * dial go uncounted: the table must never become a way to refuse a dial. A lookup scans the
 * rows in use, at most DIALADDR_MAX.
 */
#ifndef MESH_MESH_DIALADDR_H
#define MESH_MESH_DIALADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define DIALADDR_MAX 128

/* All zero is an empty table. */
struct dialaddr {
	struct ipaddr addr[DIALADDR_MAX];
	uint32_t n[DIALADDR_MAX];
	size_t used;                 /* rows 0 .. used - 1 hold an address, each with n > 0 */
};

/* Handshakes counted to ip. */
uint32_t dialaddr_count(const struct dialaddr *d, const struct ipaddr *ip);
/* One more to ip; false (nothing counted) when ip has no row and none is free. */
bool dialaddr_add(struct dialaddr *d, const struct ipaddr *ip);
/* One fewer to ip, which dialaddr_add counted. */
void dialaddr_remove(struct dialaddr *d, const struct ipaddr *ip);
/* Handshakes counted to all addresses. */
size_t dialaddr_total(const struct dialaddr *d);

#endif
