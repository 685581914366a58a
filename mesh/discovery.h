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
	/* where beacons go: group and port; iface, when set, is one more entry of sel.allow */
	struct mcast_config mcast;
	const struct mcast_ops *ops;    /* NULL: mcast_udp */
	const uint8_t *beacon_key;      /* DISCOVERY_KEYLEN bytes, or NULL for unsealed beacons */
	struct mcast_ifsel sel;         /* which interfaces (mcast.h); borrowed for the lifetime */
};

/*
 * Beacons go out on every interface mcast_select_ifaces() picks from the transport's list
 * (ops->ifaces), one handle each, each announcing its own interface's address; a transport
 * without a list has the one interface its open() finds. discovery_new() fails only when no
 * interface could be opened; discovery_rescan() follows the list at run time.
 */
struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap);
void discovery_destroy(struct discovery **dp);

/* The interfaces open now, 0..discovery_count() - 1; an index is valid until the next
 * discovery_rescan(). tag: 1..255, fixed while that interface stays open and not reused
 * for another soon (peer exchange compares where two peers were heard by it). */
size_t discovery_count(const struct discovery *d);
const struct mcast_iface *discovery_iface(const struct discovery *d, size_t i);
uint8_t discovery_tag(const struct discovery *d, size_t i);
/* What to poll for input on interface i, or -1: then call discovery_recv*() on every turn. */
int discovery_fd(const struct discovery *d, size_t i);
/* The address of the first interface (tests and logs). */
struct ipaddr discovery_ifaddr(const struct discovery *d);
/* Whether addr was one of this host's addresses at the last listing (open or rescan),
 * whatever was chosen: an address gone from the host is one nothing can reach any more. */
bool discovery_host_has(const struct discovery *d, const struct ipaddr *addr);
/* An entry of the allow list that named no interface at the last listing, or NULL. */
const char *discovery_unmatched(const struct discovery *d);

/* What one rescan changed, for the engine to act on and log. */
enum discovery_change_kind {
	DISCOVERY_ADDED,                /* now beaconed on */
	DISCOVERY_REMOVED,              /* gone, down, or its address changed (then ADDED too) */
	DISCOVERY_FAILED,               /* picked but could not be opened: tried again next time */
};
struct discovery_change {
	enum discovery_change_kind kind;
	struct mcast_iface iface;
	uint8_t tag;                    /* ADDED, REMOVED: its handle's (discovery_tag) */
	char why[128];                  /* FAILED: the transport's reason */
};
#define DISCOVERY_MAX_CHANGES (2 * MCAST_MAX_IFACES)

/*
 * Lists the interfaces again and follows what changed: closes the handles of interfaces no
 * longer picked (gone, down, denied) or whose address changed, and opens the new ones.
 * Returns how many changes it wrote to out (at most DISCOVERY_MAX_CHANGES); 0 with a
 * transport that has no list. A listing that fails changes nothing (*err says why).
 */
size_t discovery_rescan(struct discovery *d, struct discovery_change out[static
                        DISCOVERY_MAX_CHANGES], char *err, size_t errcap);

/* Source address of the datagram the last discovery_recv*() read, and the tag of the
 * interface it came in on. */
struct ipaddr discovery_last_source(const struct discovery *d);
uint8_t discovery_last_tag(const struct discovery *d);
/* Bytes of the datagram the last discovery_recv*() read, or the last discovery_send() sent. */
size_t discovery_last_len(const struct discovery *d);
/* The wall clock (ms) when the discovery opened: every beacon of this run counts from it, so a
 * beacon with our ID and a lower counter is one of an earlier run (a replay). */
uint64_t discovery_first_counter(const struct discovery *d);

/* The protocol version of the datagram the last read dropped as another version's (section
 * 2: [ "meshnode", version, ... ] with a version not ours), or 0. */
uint64_t discovery_last_version(const struct discovery *d);

/* Sends one beacon on interface i announcing its address and port. Every beacon of the
 * node, on whichever interface, takes the next counter of one sequence (section 2), so a
 * receiver that hears two interfaces of ours never takes one for a replay of the other. */
enum mesh_err discovery_send(struct discovery *d, size_t i, const struct keys_identity *id,
                             uint16_t port, uint64_t incarnation);

/*
 * Reads one datagram, from the interfaces in turn (one flooded interface does not starve the
 * others). *got is false when nothing was waiting on any. Otherwise the result says what
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
 * Decodes a signed beacon, such as one a peer passed on (peer exchange) or one held for a
 * check later, and checks its signature, unless known(arg, body) says it need not be (then
 * *skipped). from: the source of the datagram it came in, which gives a link-local ip its
 * scope as in discovery_recv(); NULL for one passed on. Results as discovery_recv(); no
 * socket, no state.
 */
enum mesh_err discovery_check_signed(const uint8_t *p, size_t n, struct wire_beacon_body *out,
                                     bool *skipped,
                                     bool (*known)(void *arg,
                                                   const struct wire_beacon_body *unverified),
                                     void *arg, const struct ipaddr *from);

#endif
