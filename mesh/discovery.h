/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * discovery: UDP multicast beacons (docs/protocol.md section 2). Opens the multicast socket on
 * one interface, builds signed (and, with a mesh key, sealed) beacons, and turns received
 * datagrams into verified beacon bodies. It does not decide what to do with a beacon, nor
 * keep per-peer state: the engine checks counters against its peer table.
 */
#ifndef MESH_MESH_DISCOVERY_H
#define MESH_MESH_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "keys.h"
#include "mesh_err.h"
#include "wire.h"

#define DISCOVERY_DEFAULT_GROUP "239.192.7.7"
#define DISCOVERY_DEFAULT_PORT 47474
#define DISCOVERY_KEYLEN 32
#define DISCOVERY_RCVBUF (1 << 20)      /* requested receive buffer, bytes */

struct discovery;

struct discovery_config {
	const char *iface;              /* name or IPv4; NULL: first up multicast non-loopback */
	const char *group;              /* NULL: DISCOVERY_DEFAULT_GROUP */
	uint16_t port;                  /* 0: DISCOVERY_DEFAULT_PORT */
	const uint8_t *beacon_key;      /* DISCOVERY_KEYLEN bytes, or NULL for unsealed beacons */
};

/* Finds the IPv4 address of an interface given by name or address (see config). */
enum mesh_err discovery_resolve_iface(const char *iface, struct in_addr *out, char *err,
                                      size_t errcap);

struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap);
void discovery_destroy(struct discovery **dp);
int discovery_fd(const struct discovery *d);
/* Source address of the datagram the last discovery_recv*() read. */
struct in_addr discovery_last_source(const struct discovery *d);
struct in_addr discovery_ifaddr(const struct discovery *d);

/* Sends one beacon announcing ip:port. */
enum mesh_err discovery_send(struct discovery *d, const struct keys_identity *id,
                             uint16_t port, uint64_t incarnation);

/*
 * Reads one datagram. *got is false when nothing was waiting. Otherwise the result says what
 * it was: MESH_OK (out holds a verified body), MESH_EMALFORMED (garbage, wrong version),
 * MESH_ESTATE (other sealing mode: another mesh), MESH_EAUTH (bad seal or signature).
 */
enum mesh_err discovery_recv(struct discovery *d, struct wire_beacon_body *out, bool *got);

/*
 * The same, but first asks known(arg, body) with the parsed, NOT yet verified body: when it
 * returns true (the engine has no need of this beacon checked: docs/protocol.md section 2),
 * the signature check is skipped, *skipped is set and the body must not be used as if it were
 * verified. With many nodes this saves an Ed25519 verification per beacon per receiver.
 * discovery_last_source() already gives the datagram's source when known() runs.
 */
enum mesh_err discovery_recv_filtered(struct discovery *d, struct wire_beacon_body *out,
                                      bool *got, bool *skipped,
                                      bool (*known)(void *arg,
                                                    const struct wire_beacon_body *unverified),
                                      void *arg);

#endif
