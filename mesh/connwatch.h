/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * connwatch: the bounds on connections to the ROUTER that no session has authenticated yet
 * (docs/protocol.md section 7), for link_zmq. Anyone on the LAN can open TCP connections to
 * the ROUTER, greet ZMTP and then say nothing, or send a HELLO and never FINISH: zmq's own
 * intervals close none of those, and each holds a descriptor and zmq's buffers.
 *
 * A zmq socket monitor on the ROUTER reports every accepted connection with its descriptor
 * (ZMQ_EVENT_ACCEPTED) and every one that ends (DISCONNECTED, CLOSED), on an inproc PAIR that
 * the owner of the ROUTER reads on its own thread. The table holds the connections accepted
 * and not yet authenticated, oldest first, with their source address: at most
 * CONNWATCH_MAX_PER_SOURCE from one address (but our own: this host's nodes all have it) and
 * CONNWATCH_MAX_TOTAL in all, a newcomer beyond
 * either bound closing the oldest (of its source, or of all), and none older than its
 * lifetime (connwatch_new). A connection leaves the table when a session completes over it
 * (connwatch_proven, by its zmq routing id, which connwatch_on_frame learnt from the
 * messages' ZMQ_SRCFD), or when it ends; it comes back, as if just accepted, when the last
 * session proven over it ends (connwatch_unproven).
 *
 * Closing: shutdown(SHUT_RDWR) on the descriptor, never close(): zmq owns it, sees the end of
 * the stream and cleans up. The monitor is asynchronous and descriptors are reused, so a
 * record may name a number that is now another socket: before the shutdown the descriptor is
 * duplicated (so the socket checked is the socket shut down) and checked to be a connection to
 * our ROUTER's port from the recorded address and port; otherwise the record is dropped.
 */
#ifndef MESH_MESH_CONNWATCH_H
#define MESH_MESH_CONNWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONNWATCH_MAX_TOTAL 256        /* unauthenticated connections in all */
#define CONNWATCH_MAX_PER_SOURCE 32    /* of them from one source address */
#define CONNWATCH_LIFETIME_MS 10000    /* the default lifetime: how long one may stay
                                        * unauthenticated */
#define CONNWATCH_MAX_RID 255          /* zmq routing ids are at most 255 bytes */

enum connwatch_why {
	CONNWATCH_SOURCE = 1,          /* its source already had CONNWATCH_MAX_PER_SOURCE */
	CONNWATCH_TOTAL,               /* there were CONNWATCH_MAX_TOTAL in all */
	CONNWATCH_TIMEOUT,             /* unauthenticated for the lifetime */
};

/* A connection was closed; addr is its source as "IP:PORT", borrowed for the call. */
typedef void connwatch_closed_fn(void *arg, enum connwatch_why why, const char *addr);

struct connwatch;

/* Starts monitoring router (a zmq socket of ctx, before it binds, so that no connection is
 * missed), closing connections unauthenticated for lifetime_ms (0: CONNWATCH_LIFETIME_MS).
 * Once it is bound, connwatch_set_port says its port: until then nothing is closed. NULL with
 * a reason in err on failure. */
struct connwatch *connwatch_new(void *ctx, void *router, uint32_t lifetime_ms,
                                connwatch_closed_fn *closed, void *arg, char *err,
                                size_t errcap);
void connwatch_set_port(struct connwatch *cw, uint16_t local_port);
/* Stops monitoring and frees; call before router is closed. NULL ok. */
void connwatch_destroy(struct connwatch **cwp);
/* The PAIR socket to poll for ZMQ_POLLIN. */
void *connwatch_socket(const struct connwatch *cw);
/* Reads the monitor's events (a bounded batch; true if more may wait) and applies the bounds
 * to new connections, at now_ms. */
bool connwatch_on_readable(struct connwatch *cw, uint64_t now_ms);
/* Closes connections older than the lifetime at now_ms. */
void connwatch_on_clock(struct connwatch *cw, uint64_t now_ms);
/* When connwatch_on_clock() next closes one (the oldest's lifetime ends); UINT64_MAX when
 * none is watched. */
uint64_t connwatch_next_due(const struct connwatch *cw);
/* A message with routing id rid came in over descriptor fd (its ZMQ_SRCFD), at now_ms. One
 * whose id the table does not hold for fd first reads the monitor to its end (at most four
 * batches; the id stays unrecorded if it does not run dry, and the next message tries
 * again), which may close others: the closed callback may run from here. True if it read the
 * monitor and stopped before its end (more may wait, as after connwatch_on_readable). */
bool connwatch_on_frame(struct connwatch *cw, int fd, const uint8_t *rid, size_t rid_len,
                        uint64_t now_ms);
/* A session completed over the connection with routing id rid: it is no longer bounded. */
void connwatch_proven(struct connwatch *cw, const uint8_t *rid, size_t rid_len);
/* A session that connwatch_proven() named has ended: when it was the last live one over that
 * connection, the connection is a stranger's again, bounded as if accepted at now_ms, so
 * that identities made for the purpose cannot each keep a connection open after their
 * sessions end. */
void connwatch_unproven(struct connwatch *cw, const uint8_t *rid, size_t rid_len,
                        uint64_t now_ms);
/* Connections in the table (tests). */
size_t connwatch_count(const struct connwatch *cw);

#endif
