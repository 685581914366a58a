/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * backlog: beacons that needed their signature checked when the check budget had no token
 * left (docs/protocol.md section 2, "Cheap checks first, and a budget"), held to be checked
 * when tokens return rather than dropped. A crowd that starts together needs more checks at
 * once than the budget gives: in a mesh of 300 the lowest node has 299 nodes to dial, each
 * checked once, and hears their bursts within half a second. What the burst leaves over would
 * otherwise wait for the node's next beacon, an interval later.
 *
 * A fixed table of BACKLOG_SLOTS entries, one per node ID. A later beacon of a held ID takes
 * its entry if it claims a newer counter, and keeps its place in line. A beacon that finds
 * the table full is dropped (those held came first). An entry not replaced for an interval
 * is dropped (backlog_expire): the node's next beacon has come, or the node is gone. Nothing
 * in an entry is checked: the counter only picks the newer of two beacons of one ID, so a
 * forged beacon can take a genuine one's entry and fail its check, as it could have taken
 * its token. Its memory is fixed whatever arrives; each call scans at most the entries held.
 */
#ifndef MESH_MESH_BACKLOG_H
#define MESH_MESH_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "wire.h"

#define BACKLOG_SLOTS 1024

struct backlog_entry {
	uint8_t id[WIRE_IDLEN];       /* as the beacon claims it */
	uint64_t counter;             /* as the beacon claims it */
	uint64_t held_ms;             /* when first held: the order of checks */
	uint64_t last_ms;             /* when last held or replaced */
	struct ipaddr from;           /* the datagram's source */
	uint8_t tag;                  /* the interface it came in on (discovery_last_tag) */
	bool seen;                    /* its ID was heard in the second before (beacon_seen_again) */
	uint16_t len;
	uint8_t blob[WIRE_MAX_SIGNED];   /* the signed beacon (wire_signed) */
};

struct backlog {
	struct backlog_entry e[BACKLOG_SLOTS];   /* e[0..n-1] are held, in no order */
	size_t n;
};

enum backlog_put_result {
	BACKLOG_NEW,                  /* held in an entry of its own */
	BACKLOG_REPLACED,             /* held in its ID's entry, whose older beacon is dropped */
	BACKLOG_KEPT,                 /* dropped: its ID's entry holds one as new */
	BACKLOG_FULL,                 /* dropped: the table is full, or len is over the blob */
};

/* Holds a beacon (see above). */
enum backlog_put_result backlog_put(struct backlog *b, const struct backlog_entry *in,
                                    uint64_t now_ms);
/* The entry held longest of those ok(arg, entry) accepts, or NULL; borrowed until the next
 * change. ok is called on entries held before the best so far; NULL: of all. */
const struct backlog_entry *backlog_oldest(const struct backlog *b,
                                           bool (*ok)(void *arg,
                                                      const struct backlog_entry *e),
                                           void *arg);
void backlog_del(struct backlog *b, const uint8_t id[WIRE_IDLEN]);
/* Drops id's entry if its counter is at most counter (a beacon as new was verified). */
void backlog_superseded(struct backlog *b, const uint8_t id[WIRE_IDLEN], uint64_t counter);
/* Drops the entries last held or replaced before before_ms; returns how many. */
size_t backlog_expire(struct backlog *b, uint64_t before_ms);
/* Drops the entries that came in on the interface of this tag; returns how many. */
size_t backlog_drop_tag(struct backlog *b, uint8_t tag);

#endif
