/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mesh: the protocol engine of one node. It owns its transport (mesh/link.h: by default
 * ZeroMQ, a ROUTER and a DEALER per session it initiated), the discovery socket and every
 * table, and it knows how to handle each once it is readable; it never polls or sleeps. node/
 * runs the loop: it asks for the poll items, polls, hands back the ready ones, and calls
 * mesh_on_tick() when the deadline mesh_next_due() gave before it slept has come (input and
 * calls may make something due sooner than the last tick said). Every call takes the current
 * monotonic time in milliseconds and every timer runs on it, so tests can drive the engine
 * with a fake clock; the one real clock read is the wall time that beacon counters start from
 * (discovery.c), so that they keep increasing across restarts. Events go out through a
 * callback, synchronously; it must not call back into the mesh (the engine emits while it
 * walks its queues and tables: a send from the callback could free the entry it is on).
 *
 * A mesh and everything it owns belong to one thread, the node's loop. The one exception is
 * outmsg_new() (outmsg.h), which touches no mesh: callers build a message on their own thread
 * and hand it over with mesh_shout_msg() or mesh_whisper_msg() on the loop's.
 */
#ifndef MESH_MESH_MESH_H
#define MESH_MESH_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "keys.h"
#include "link.h"
#include "mcast.h"
#include "mesh_drop.h"
#include "mesh_err.h"
#include "mesh_stats.h"
#include "group.h"
#include "outmsg.h"
#include "wire.h"

#define MESH_MAX_PAYLOAD WIRE_MAX_PAYLOAD  /* 1 MiB: docs/protocol.md section 6 */
#define MESH_MAX_HANDSHAKES_IN 1024     /* answered and in progress at once (section 4) */
#define MESH_MAX_HANDSHAKES_OUT 128     /* initiated and in progress at once */
#define MESH_MAX_HALFOPEN_PER_ADDR 32   /* answered handshakes in progress per source address */
#define MESH_MAX_SESSIONS 8192
#define MESH_MAX_PEERS 4096         /* PEER_MAX (peer.h), to which mesh.c ties it */
#define MESH_ZMQ_HWM LINK_ZMQ_HWM       /* ZMQ_SNDHWM and ZMQ_RCVHWM, in frames */
/* zmq sockets one mesh holds at most: its ROUTER, a DEALER for the live session of each peer
 * if we initiated it, one for each handshake we initiate, and room for closed ones zmq's
 * reaper has not finished yet. A zmq context sets aside, and touches, 12 bytes per socket it
 * may ever hold, so this is the ZMQ_MAX_SOCKETS to give it: 8192 cost 96 KiB of RSS. */
#define MESH_ZMQ_SOCKETS (1 + MESH_MAX_PEERS + MESH_MAX_HANDSHAKES_OUT + 64)
#define MESH_KEYLEN 32
#define MESH_TTL_MAX_MS 600000          /* the longest time-to-live of a message */
#define MESH_RX_MEMORY_MS 600000        /* how long a sender's last delivered msg_id is kept */
#define MESH_REKEY_AFTER_MS 120000      /* link keys are replaced this often (protocol 3.3), */
#define MESH_REKEY_AFTER_MSGS (1u << 20)  /* or after this many frames either way */
#define MESH_HANDSHAKE_TIMEOUT_MS 5000  /* the default handshake_timeout */

enum mesh_event_type {
	MESH_EV_ENTER = 1,
	MESH_EV_EXIT,
	MESH_EV_EVASIVE,
	MESH_EV_JOIN,
	MESH_EV_LEAVE,
	MESH_EV_SHOUT,
	MESH_EV_WHISPER,
	MESH_EV_DROPPED,
	MESH_EV_DELIVERED,            /* receipts: the peer's application took our message */
	MESH_EV_ALARM,                /* one node ID in two places: mesh_event.alarm says which */
	MESH_EV_BACK,                 /* a peer reported EVASIVE was heard again on its link */
	MESH_EV_COUNT                 /* not an event: one past the last */
};

/*
 * What the engine tells of a peer: a copy of its public facts, made for the one callback or
 * iteration step that receives it. struct peer stays private to mesh/.
 */
struct mesh_peer_view {
	uint8_t id[WIRE_IDLEN];
	char hex[2 * WIRE_IDLEN + 1];
	char name[WIRE_MAX_NAME + 1];
	struct ipaddr ip;                   /* where it listens, from its beacon or hello */
	uint16_t port;
	uint64_t incarnation;               /* of the node its last live session was with; 0:
	                                     * never linked */
	bool evasive;
	size_t queued_msgs;                 /* waiting in our send queue for it, not yet sent */
	size_t unacked_msgs;                /* sent to it, waiting for its ACK */
	const struct group_set *groups;     /* its groups: borrowed for the call */
};

/* What an ALARM is about. Both mean that an identity file was copied: whoever holds a node's
 * key can be that node, and two nodes with one ID make each other's links flap. */
enum mesh_alarm {
	MESH_ALARM_NONE = 0,
	MESH_ALARM_OWN_ID,            /* another node announces our own ID (peer: it, where it is) */
	MESH_ALARM_SHARED_ID,         /* two nodes take turns as the peer with one ID */
};

struct mesh_event {
	enum mesh_event_type type;
	enum mesh_alarm alarm;        /* ALARM */
	const struct mesh_peer_view *peer;  /* borrowed for the callback */
	const char *group;            /* JOIN, LEAVE, SHOUT, DROPPED of a shout */
	uint64_t msg_id;
	uint8_t *data;                /* SHOUT, WHISPER: malloc'd, the callback takes it */
	size_t len;
	const char *reason;           /* static text */
	bool maybe_delivered;         /* DROPPED: it was sent and may have been delivered */
};


/*
 * The trace (docs/usage.md, "Trace"): one record for each frame or beacon in and out and for
 * each decision, handed to mesh_config.trace on the mesh's thread while it happens. Every
 * pointer is borrowed for the call. It never carries a key, a payload, a name or a group:
 * only what a frame's header says, its size, the type of the message inside, who and why.
 */
enum mesh_trace_kind {
	MESH_TRACE_IN,                /* a frame or beacon taken in (DATA: it opened) */
	MESH_TRACE_OUT,               /* a frame or beacon sent */
	MESH_TRACE_DROP,              /* input dropped, or something given up: reason says why */
	MESH_TRACE_DECISION,          /* what the engine did: what says what */
};
struct mesh_trace {
	enum mesh_trace_kind kind;
	const char *what;             /* IN, OUT: "beacon", "hello", "reply", "finish", "data";
	                               * DECISION: "dial", "answer", "live", "close", "rekey",
	                               * and the events ("enter", "dropped", ...) */
	const char *reason;           /* DROP: the counter it counts in (docs/usage.md,
	                               * "Counters"); DECISION: words or NULL */
	const char *addr;             /* the other end's address, when known, else NULL */
	const uint8_t *peer;          /* the other node's ID, when known, else NULL */
	uint32_t sid;                 /* our session ID; 0: none */
	uint32_t rx_sid;              /* a frame's receiver session ID; 0: none (HELLO) */
	bool has_counter;             /* DATA frames: counter is its nonce counter */
	uint64_t counter;
	size_t bytes;                 /* on the wire; 0: not a frame */
	int msg;                      /* DATA: the message type inside (protocol section 5), or
	                               * -1 (unknown: not opened) */
	uint64_t msg_id;              /* events of a message; 0: none */
};
/* "shout", "ack", ...: the name of message type t, or NULL for one this engine does not know. */
const char *mesh_trace_msg_name(int t);

/*
 * The key log (docs/usage.md, "Key log"): the keys a capture's reader needs to open this node's
 * traffic, handed to mesh_config.keylog on the mesh's thread as they come into use. Whoever
 * holds them reads every frame they protect, so only a user who asked for a key log gets them.
 * The buffers are borrowed for the call and wiped after it.
 */
struct mesh_keylog {
	uint32_t local_sid, remote_sid;     /* session keys: our session ID and the peer's */
	const uint8_t *to_local;            /* MESH_KEYLEN: the key of DATA frames to local_sid */
	const uint8_t *to_remote;           /* MESH_KEYLEN: the key of DATA frames to remote_sid */
	const uint8_t *beacon_key;          /* MESH_KEYLEN: the beacon key; then the rest is 0 */
};

struct mesh_config {
	const struct keys_identity *id;     /* borrowed: must outlive the mesh */
	const char *name;
	/* Interfaces (docs/usage.md, "Interfaces"): beacons go out on every interface allowed
	 * (by name or IPv4 address; iface is one more entry) and not denied; with none allowed,
	 * on every up, multicast-capable, non-loopback one. Borrowed: must outlive the mesh. */
	const char *iface;
	const char *const *iface_allow;
	size_t n_iface_allow;
	const char *const *iface_deny;
	size_t n_iface_deny;
	uint16_t port;
	const char *mcast_group, *mcast_group6;     /* IPv4, IPv6 (mcast.h) */
	uint16_t mcast_port;
	const uint8_t *mesh_key;            /* MESH_KEYLEN bytes or NULL; copied */
	uint32_t beacon_interval_ms, heartbeat_ms, evasive_ms, expired_ms;
	/* 0: MESH_HANDSHAKE_TIMEOUT_MS */
	uint32_t handshake_timeout_ms, fallback_ms;
	uint32_t queue_msgs;
	size_t queue_bytes;
	uint32_t ttl_ms;                    /* a message's time-to-live unless it has its own */
	/* Rekeying (protocol section 3.3): the initiator of a live session replaces its keys
	 * once they are rekey_after_ms old or have carried rekey_after_msgs frames one way (0:
	 * MESH_REKEY_AFTER_MS, MESH_REKEY_AFTER_MSGS); keys older than rekey_after_ms plus
	 * half of it, at least 10 s and at most 60 s more, close the session (mesh.c's
	 * reject_after()). */
	uint32_t rekey_after_ms;
	uint64_t rekey_after_msgs;
	bool receipts;                      /* report DELIVERED events */
	/* Acknowledgement (protocol section 6, "Delivery"). manual_ack: a delivered message is
	 * acknowledged only once mesh_taken() says the application took it; otherwise as it is
	 * emitted. can_take (NULL: always): whether a message of len bytes may be emitted now;
	 * when not, it is refused and the sender resends it later. can_resume (NULL: always):
	 * whether there is room enough again to ask refused senders to resend (mesh_on_tick()
	 * asks, and does so). Both get event_arg. */
	bool manual_ack;
	bool (*can_take)(void *arg, size_t len);
	bool (*can_resume)(void *arg);
	/* Tests: behave as a node that predates "Delivery" and rekeying (no feature in the
	 * hello, no ACK, RESEND or refusal, no rekey), to check that we still work with one. */
	bool test_no_ack;
	bool test_no_pex;                   /* neither sends nor takes PEERS (pex.c) */
	/* Whom we link with (NULL: anyone who proves an ID): consulted before we dial a peer and
	 * once a peer's handshake has proved its ID; false means no link (the user's allow-list or
	 * known-only mode). Gets event_arg; runs on the mesh's thread. */
	bool (*may_link)(void *arg, const uint8_t id[WIRE_IDLEN]);
	void *zmq_ctx;
	/* The transport (mesh/link.h): NULL for ZeroMQ (link_zmq over zmq_ctx), as the product
	 * runs; a simulated network passes its own ops and the env they open with. */
	const struct link_ops *link_ops;
	void *link_env;
	/* The same for discovery's datagrams (mesh/mcast.h): NULL for UDP multicast. */
	const struct mcast_ops *mcast_ops;
	void *mcast_env;
	int log_level;
	void (*log)(void *arg, int level, const char *line);
	void *log_arg;
	void (*event)(void *arg, const struct mesh_event *ev);
	void *event_arg;
	/* NULL: no trace (then it costs a test of this pointer at each place) */
	void (*trace)(void *arg, const struct mesh_trace *t);
	void *trace_arg;
	/* NULL: no key log (the default). Otherwise called with each session's transport keys
	 * when its handshake splits them and again after each rekey's split, and once, from
	 * mesh_new(), with the beacon key of a closed mesh. Gets keylog_arg. */
	void (*keylog)(void *arg, const struct mesh_keylog *k);
	void *keylog_arg;
};

/* Binds the ROUTER socket and opens discovery. NULL with a reason in err on failure. */
struct mesh *mesh_new(const struct mesh_config *cfg, uint64_t now_ms, char *err, size_t errcap);
/* Closes every socket at once (call mesh_say_bye first for a clean stop). */
void mesh_destroy(struct mesh **mp);

const char *mesh_endpoint(const struct mesh *m);  /* "tcp://IP:PORT" */
uint64_t mesh_incarnation(const struct mesh *m);

/* The sockets to poll for input; mesh_on_ready() takes the same array back after the poll.
 * Call it right before each poll, with nothing done on the mesh in between: it looks again at
 * the sockets whose readiness signal the turn's own calls may have taken, and makes the poll
 * return at once if one holds frames. */
size_t mesh_pollitems(struct mesh *m, zmq_pollitem_t *items, size_t cap);
size_t mesh_pollitems_count(const struct mesh *m);
void mesh_on_ready(struct mesh *m, const zmq_pollitem_t *items, size_t n, uint64_t now_ms);
/* Runs due timers; returns mesh_next_due(). */
uint64_t mesh_on_tick(struct mesh *m, uint64_t now_ms);
/* When mesh_on_tick() next has work, counting what mesh_on_ready() and the calls since the
 * last tick have made due: an owner asks before it sleeps, and may sleep until then. While
 * ACKs, held beacons or a stalled send wait, ticks come every TICK_MS (STALL_RETRY_MS)
 * after the last; otherwise the next beacon, sweep, interface rescan or link deadline. A
 * time already past means at once. */
uint64_t mesh_next_due(const struct mesh *m);
/* Sends BYE on every live session and gives the sockets time to flush it on close. */
void mesh_say_bye(struct mesh *m, uint64_t now_ms);

/* The longest a handshake may take with these timers (0: the default handshake_timeout): a
 * retried one of ours, and any we answer (docs/protocol.md section 4, "Timeouts"). */
uint32_t mesh_handshake_longest(uint32_t handshake_timeout_ms, uint32_t expired_ms);

/* Application requests (docs/protocol.md section 6). */
enum mesh_err mesh_join(struct mesh *m, const char *group, uint64_t now_ms);
/* A fixed peer (protocol section 4, "Fixed peers"): the node at ip:port is dialled whatever
 * the order of the IDs, and dialled again whenever no session with it is live, for as long
 * as the mesh lives. pin (NULL: any) is the only node ID that may answer there. MESH_EINVAL:
 * port 0, or an address that is unspecified, multicast or broadcast; MESH_ELIMIT: 64 already.
 * The same address again is not a second peer (a pin given then replaces what was known). */
enum mesh_err mesh_add_peer(struct mesh *m, const struct ipaddr *ip, uint16_t port,
                            const uint8_t *pin, uint64_t now_ms);
enum mesh_err mesh_leave(struct mesh *m, const char *group, uint64_t now_ms);
enum mesh_err mesh_shout(struct mesh *m, const char *group, const void *data, size_t len,
                         uint64_t now_ms, uint64_t *msg_id);
enum mesh_err mesh_whisper(struct mesh *m, const uint8_t peer[WIRE_IDLEN], const void *data,
                           size_t len, uint64_t now_ms, uint64_t *msg_id);
/* The same with a message the caller built (outmsg_new, kind SHOUT or WHISPER), so that the
 * payload is copied once, on the caller's thread. om->msg_id must exceed every ID sent before
 * (MESH_ESTATE otherwise). The mesh takes its own references; the caller keeps its own. */
enum mesh_err mesh_shout_msg(struct mesh *m, struct outmsg *om, uint64_t now_ms);
enum mesh_err mesh_whisper_msg(struct mesh *m, const uint8_t peer[WIRE_IDLEN],
                               struct outmsg *om, uint64_t now_ms);

/* The application took message msg_id (len bytes) of peer's incarnation (manual_ack): it
 * and every earlier one from that run are acknowledged. */
void mesh_taken(struct mesh *m, const uint8_t peer[WIRE_IDLEN], uint64_t incarnation,
                uint64_t msg_id, size_t len, uint64_t now_ms);

/* Live peers: fn gets each peer and its live session's details. */
struct mesh_peer_info {
	const struct mesh_peer_view *peer;
	uint32_t local_sid;
	bool initiator;
	/* of the live session, for /status (session.h says what each counts) */
	uint64_t created_ms, keys_ms, last_rx_ms;
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs, rekeys;
	uint64_t rtt_last_ms, rtt_srtt_ms, rtt_samples;
	uint64_t queued_bytes;
};
void mesh_each_live_peer(struct mesh *m, void (*fn)(const struct mesh_peer_info *, void *),
                         void *arg);
const struct group_set *mesh_groups(const struct mesh *m);
enum mesh_err mesh_sas(struct mesh *m, const uint8_t peer[WIRE_IDLEN], char out[KEYS_SAS_LEN]);
void mesh_get_stats(const struct mesh *m, struct mesh_stats *out, uint64_t *sessions_live);
/* What every session carried since the start, closed or open (/status totals: session.h says
 * what each counts), and how many sessions there are now, in any state. */
struct mesh_traffic {
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs, sessions;
};
void mesh_get_traffic(const struct mesh *m, struct mesh_traffic *out);

#ifdef MESH_TEST_HOOKS
/* Test-only: sends raw plaintext (any bytes, sealed correctly) on the live session with peer,
 * so tests can put malformed application messages inside a valid session. */
enum mesh_err mesh_test_send_raw(struct mesh *m, const uint8_t peer[WIRE_IDLEN],
                                 const uint8_t *pt, size_t len, uint64_t now_ms);
/* Test-only: says BYE on the live session with peer and starts a new handshake with it at
 * once, so a benchmark can count complete handshakes per second between two running nodes. */
enum mesh_err mesh_test_relink(struct mesh *m, const uint8_t peer[WIRE_IDLEN], uint64_t now_ms);
/* Test-only: the rekey interval (mesh_config.rekey_after_ms, 0: the default) from now on,
 * and the time after which old keys close a session with it: a simulation rekeys often while
 * its faults run, and saves the work while it settles. */
void mesh_test_set_rekey(struct mesh *m, uint32_t rekey_after_ms);
/* Test-only: the bytes all sessions' partial messages may hold (REASM_BUDGET; at least
 * WIRE_MAX_PAYLOAD), so that a test can fill it with a few peers. */
void mesh_test_set_reasm_budget(struct mesh *m, size_t bytes);
/* Test-only: sessions in the table, and how many of them own a DEALER (we initiated). */
void mesh_test_sessions(const struct mesh *m, size_t *all, size_t *dealers);
/* Test-only: entries in the peer table. */
size_t mesh_test_peer_entries(const struct mesh *m);
/* Test-only: no budget on beacon checks (protocol section 2) from now on, so that a test can
 * fill the peer table in a moment, as a flood of many seconds would. */
void mesh_test_unlimit_checks(struct mesh *m);
/* Test-only: makes (or finds) the peer entry of id as if its link had just ended: a node
 * linked recently (protocol section 4, "Dial slots"), without a handshake. */
void mesh_test_linked_before(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t now_ms);
/* Test-only: the initiated handshakes in progress to ip (NULL: to any address) that the
 * engine counts against that address (protocol section 4, "Dial slots"), and, recounted from
 * the session table, those it should: not of a node linked recently, not to our address. */
void mesh_test_dials_to(const struct mesh *m, const struct ipaddr *ip, size_t *counted,
                        size_t *in_progress);
/* Test-only: the link's hold (link_ops.hold): leaves its listening socket, its dialled
 * connections or both unread from now on, so that a test can force an order of frames; true
 * if the listening socket is held with frames waiting. False where the link has no hold. */
bool mesh_test_hold(struct mesh *m, bool listener, bool dialled);
#endif

#endif
