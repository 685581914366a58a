/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * discovery: beacons (docs/protocol.md section 2). Builds signed (and, with a mesh key,
 * sealed) beacons, and turns received datagrams into verified beacon bodies, over a datagram
 * transport it sees only through struct mcast_ops (mcast.h: UDP multicast in the product, a
 * simulated LAN in tests). It does not decide what to do with a beacon, nor keep per-peer
 * state: the engine checks counters against its peer table.
 */
#ifndef MESH_MESH_DISCOVERY_H
#define MESH_MESH_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "keys.h"
#include "mcast.h"
#include "mesh_err.h"
#include "wire.h"

#define DISCOVERY_KEYLEN 32

struct discovery;

struct discovery_config {
	struct mcast_config mcast;      /* where beacons go: interface, group, port */
	const struct mcast_ops *ops;    /* NULL: mcast_udp */
	const uint8_t *beacon_key;      /* DISCOVERY_KEYLEN bytes, or NULL for unsealed beacons */
};

struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap);
void discovery_destroy(struct discovery **dp);
/* What to poll for input, or -1: then call discovery_recv*() on every turn of the loop. */
int discovery_fd(const struct discovery *d);
/* Source address of the datagram the last discovery_recv*() read. */
struct in_addr discovery_last_source(const struct discovery *d);
struct in_addr discovery_ifaddr(const struct discovery *d);
/* The wall clock (ms) when the discovery opened: every beacon of this run counts from it, so a
 * beacon with our ID and a lower counter is one of an earlier run (a replay). */
uint64_t discovery_first_counter(const struct discovery *d);

/* The protocol version of the datagram the last read dropped as another version's (section
 * 2: [ "meshnode", version, ... ] with a version not ours), or 0. */
uint64_t discovery_last_version(const struct discovery *d);

/* Sends one beacon announcing ip:port. */
enum mesh_err discovery_send(struct discovery *d, const struct keys_identity *id,
                             uint16_t port, uint64_t incarnation);

/*
 * Reads one datagram. *got is false when nothing was waiting. Otherwise the result says what
 * it was: MESH_OK (out holds a verified body), MESH_EMALFORMED (garbage, or another protocol
 * version: then discovery_last_version() says which), MESH_ESTATE (other sealing mode: another
 * mesh), MESH_EAUTH (bad seal or signature).
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

/*
 * The signed beacon (section 2's `signed`: body and signature, unsealed) of the datagram the
 * last discovery_recv*() read, when it decoded (checked or not) and is at most
 * WIRE_MAX_SIGNED bytes; else *len is 0. Valid until the next read.
 */
const uint8_t *discovery_last_signed(const struct discovery *d, size_t *len);

/*
 * Decodes a signed beacon, such as one a peer passed on (peer exchange), and checks its
 * signature, unless known(arg, body) says it need not be (then *skipped). Results as
 * discovery_recv(); no socket, no state.
 */
enum mesh_err discovery_check_signed(const uint8_t *p, size_t n, struct wire_beacon_body *out,
                                     bool *skipped,
                                     bool (*known)(void *arg,
                                                   const struct wire_beacon_body *unverified),
                                     void *arg);

#endif
