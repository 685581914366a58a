/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * link: how the engine reaches other engines. The engine sees its transport only through
 * struct link_ops: it listens, dials one connection for each session it initiates, sends whole
 * frames along a route, and gets whole frames back through a struct link_sink. It never sees a
 * socket, and the frames it sends and gets are the bytes of docs/protocol.md section 3, one
 * frame per transport message. link_zmq is the product's transport; a simulated network can
 * implement the same ops.
 *
 * A route names a connection: the one dialled for a session we initiated (by that session's
 * ID), or an incoming one (by up to LINK_MAX_RID opaque bytes the transport chose, which the
 * engine keeps with the session it answered). Frames from an incoming connection come with the
 * sender's address as text, for logs and per-address limits.
 *
 * link_zmq: a ROUTER bound to the address we announce, which every peer dials, and a DEALER
 * per session we initiate. Every DEALER's ZMQ_FD sits in one epoll set, polled as a single
 * descriptor, so a turn of the loop costs the same with 3 peers or 1000. A monitor on the
 * ROUTER (connwatch.h), read on the same thread, bounds the incoming connections that no
 * session has authenticated yet.
 */
#ifndef MESH_MESH_LINK_H
#define MESH_MESH_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "ipaddr.h"
#include "mesh_err.h"

#define LINK_MAX_RID 255             /* zmq routing ids are at most 255 bytes */
#define LINK_ZMQ_HWM 256             /* ZMQ_SNDHWM and ZMQ_RCVHWM, in frames */
/* The ROUTER's bound on connections that never become a session (docs/protocol.md
 * sections 3 and 7): the ZMTP greeting must complete within LINK_HANDSHAKE_IVL_MS (the rest
 * are connwatch.h's). No ZMTP heartbeats: in libzmq 4.3.4 a heartbeat timer that fires while
 * a reset connection's full pipe drains aborts the process (libzmq issues 4364 and 3937), and
 * any peer can bring that about. TCP keepalive finds peers that vanished instead: a
 * connection idle for LINK_KEEPALIVE_IDLE_S whose LINK_KEEPALIVE_CNT probes, one every
 * LINK_KEEPALIVE_INTVL_S, all go unanswered is closed by the kernel. */
#define LINK_HANDSHAKE_IVL_MS 2000
#define LINK_KEEPALIVE_IDLE_S 10
#define LINK_KEEPALIVE_INTVL_S 2
#define LINK_KEEPALIVE_CNT 3
/* The ROUTER's listen backlog: connections the kernel completes and queues while the node is
 * busy. A SYN beyond it is dropped and retried by its sender only a second later, so zmq's
 * default of 100 let a burst of strangers' connections make a legitimate dial wait that
 * second (meshsim's conn-flood did, on a loaded host). The kernel caps it at
 * net.core.somaxconn (4096 since Linux 5.4); what waits here costs kernel memory only,
 * and the node closes strangers beyond connwatch.h's bounds as it accepts them. */
#define LINK_LISTEN_BACKLOG 1024

/* Why the transport closed an incoming connection no session had authenticated yet
 * (docs/protocol.md section 7; link_zmq's bounds are connwatch.h's). */
enum link_closed {
	LINK_CLOSED_SOURCE = 1,      /* its source address had the most such connections */
	LINK_CLOSED_TOTAL,           /* there were the most such connections in all */
	LINK_CLOSED_UNAUTH_TIMEOUT,  /* no session completed over it in time */
};

struct link_route {
	uint32_t sid;                /* nonzero: the connection dialled for this session */
	const uint8_t *rid;          /* sid 0: the incoming connection these bytes name */
	size_t rid_len;
};

/* Where input goes: called from on_ready(), synchronously. */
struct link_sink {
	void *arg;
	/* One whole frame, not parsed yet, of any length. addr: the sender's address as text
	 * ("?" if unknown). Everything is borrowed for the call. The engine may call any op from
	 * here, hangup(from->sid) included. */
	void (*frame)(void *arg, const struct link_route *from, const char *addr,
	              const uint8_t *frame, size_t len);
	/* A transport message that was not one frame (several parts) was dropped. */
	void (*malformed)(void *arg);
	/* The transport closed an incoming connection that no session had authenticated, the
	 * oldest beyond a bound or one too old (addr: its source, borrowed). NULL ok. */
	void (*closed)(void *arg, enum link_closed why, const char *addr);
};

#define LINK_MAX_ADDRS 16            /* listen_also() adds at most (as MCAST_MAX_IFACES) */
#define LINK_EPLEN (6 + IPADDR_EPLEN)  /* "tcp://" and an ipaddr_endpoint() */

struct link_config {
	void *env;                   /* the transport's own: link_zmq takes the zmq context */
	struct ipaddr ip;            /* where to listen */
	uint16_t port;               /* 0: any free port */
	/* how long an incoming connection may stay unauthenticated (link_zmq: 0 is 10 s,
	 * connwatch.h) */
	uint32_t unauth_lifetime_ms;
	struct link_sink sink;
};

struct link_ops {
	/* Starts listening; *port is the port it got. NULL with a reason in err on failure. */
	void *(*open)(const struct link_config *cfg, uint16_t *port, char *err, size_t errcap);
	/* Closes every connection at once (linger() first for a clean stop); NULL ok. */
	void (*close)(void *l);
	/* Where peers reach us, for logs and mesh_endpoint(): "tcp://IP:PORT". Borrowed. */
	const char *(*endpoint)(const void *l);
	/* Opens the connection for session sid towards a peer's listening address. Frames sent
	 * on it before it is up wait for it. MESH_ESTATE if sid has one already. */
	enum mesh_err (*dial)(void *l, uint32_t sid, const struct ipaddr *ip, uint16_t port);
	/* Closes sid's connection, dropping what it has not sent; unknown sids are ignored. */
	void (*hangup)(void *l, uint32_t sid);
	/* Sends one whole frame, never blocking: MESH_OK, MESH_ELIMIT (the connection's queue is
	 * full: try later), MESH_EIO (no such connection any more). */
	enum mesh_err (*send)(void *l, const struct link_route *to, const uint8_t *frame,
	                      size_t len);
	/* Zero-copy sending: a buffer of exactly len bytes to build the next frame in, which
	 * send_buf() then sends as a whole without a copy. It stays valid, and keeps its bytes
	 * when send_buf() fails, until the next frame_buf() call. NULL if out of memory. */
	uint8_t *(*frame_buf)(void *l, size_t len);
	enum mesh_err (*send_buf)(void *l, const struct link_route *to);
	/* Lets frames still queued leave for up to ms once their connection is closed. */
	void (*linger)(void *l, int ms);
	/* What the loop polls for input: writes them if cap allows and returns how many there
	 * are (0 for a transport that needs none; ZeroMQ's: one, an epoll set over all its
	 * sockets). With items, the driver calls it right before each poll: link_zmq looks again
	 * there at the sockets whose signal a call may have taken (see link.c). on_ready() takes
	 * any of them back after the poll, whatever their order, and reads the ready ones; the
	 * engine calls it on every mesh_on_ready(), with no items if none of them is the link's,
	 * so a transport without items delivers what it holds then. */
	size_t (*pollitems)(void *l, zmq_pollitem_t *items, size_t cap);
	void (*on_ready)(void *l, const zmq_pollitem_t *items, size_t n);
	/* Connections dialled and not hung up (tests count them). */
	size_t (*dialled)(const void *l);
	/* The engine's time, given first thing on every mesh_on_ready() and mesh_on_tick(): a
	 * transport with deadlines of its own meets them here. NULL for one without. */
	void (*clock)(void *l, uint64_t now_ms);
	/* When clock() next has work (UINT64_MAX: nothing waits); the engine sleeps no longer.
	 * NULL: a transport with clock() is then given its time every TICK_MS. */
	uint64_t (*next_due)(const void *l);
	/* A session we answered over the incoming connection from has completed its handshake:
	 * that connection is authenticated, and no longer bounded as a stranger's. NULL ok. */
	void (*proven)(void *l, const struct link_route *from);
	/* A session that proven() named has ended: if no other live one was proven over that
	 * connection, it is bounded as a stranger's again, from now_ms. NULL ok. */
	void (*unproven)(void *l, const struct link_route *from, uint64_t now_ms);
	/* Listens on one more address, on the port open() got: a node on several interfaces
	 * listens on each of their addresses with one port (issue 15). MESH_EIO with a reason in
	 * err when it cannot (MESH_ELIMIT past LINK_MAX_ADDRS); an address already listened on is
	 * MESH_OK. NULL: the transport
	 * takes every address at open(), and the engine never asks. */
	enum mesh_err (*listen_also)(void *l, const struct ipaddr *ip, char *err,
	                             size_t errcap);
	/* Stops listening on an address that listen_also() added (an interface that went away).
	 * Connections accepted over it close too; those over other addresses stay. NULL ok. */
	void (*unlisten)(void *l, const struct ipaddr *ip);
	/* Tests only (set in the test-hooks build): leaves the listening socket, the dialled
	 * connections or both unread from now on, to force an order of frames; true if the
	 * listening socket is held with frames waiting. NULL ok. */
	bool (*hold)(void *l, bool listener, bool dialled);
};

/* The product's transport, over ZeroMQ; env is the zmq context. */
extern const struct link_ops link_zmq;

#endif
