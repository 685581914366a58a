/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshnode.h: the embeddable meshnode. A node discovers its peers on the LAN by UDP multicast,
 * holds one Noise XX authenticated, encrypted link to each, and carries group broadcasts
 * (shout) and direct messages (whisper) over them. docs/protocol.md is the wire protocol.
 *
 * Threading: meshnode_start() spawns one event-loop thread that owns every socket, and, when
 * the node remembers peers, one that writes the known peers file (it calls nothing of the
 * application's; both inherit the caller's signal mask). The other
 * functions may be called from any application thread (commands run in the order they were
 * made; none blocks on a peer). meshnode_shout(), and meshnode_whisper() to a peer whose ENTER
 * has been reported, copy the payload and return without waiting for the loop thread, unless
 * 65536 sends or 64 MiB are already waiting for it, in which case they wait for room; every
 * other call waits briefly for the loop thread to run it. There are three rules: meshnode_stop() and
 * meshnode_destroy() must not race with any other call on the same node (stop it from the
 * thread that owns it, after the others are done with it); log_fn runs on the loop thread
 * and must not call back into meshnode_*; and the event queue holds at most 200000 events and
 * 256 MiB of payloads. A message is acknowledged to its sender only once
 * meshnode_next_event() has returned it; when the queue is full the node takes no more
 * messages (their senders keep them and send them again once there is room, or are told
 * "send queue full"), so no message is discarded; nor is an answer to one of ours (DELIVERED,
 * DROPPED): instead meshnode_shout() and meshnode_whisper() return MESH_ELIMIT while 200000
 * events are unread. Other events (ENTER, EXIT, JOIN...) past 200000 unread are discarded,
 * counted and logged at ERROR with the total. Read events promptly.
 *
 * Events come out of a queue, read with meshnode_next_event() (blocking with a timeout) or
 * after meshnode_event_fd() polls readable, so a node fits into another program's poll loop.
 * A node started with meshnode_start_driven() has no loop thread: the application's thread
 * that started it runs the loop in meshnode_next_event() and meshnode_drive(), and the rules
 * above change as that function says.
 * If the loop ever fails, an ERROR event says so and the node stops: meshnode_next_event()
 * then returns NULL while the fd stays readable.
 *
 * Errors are enum mesh_err values (mesh/mesh_err.h in the source tree, copied into the installed
 * header); meshnode_strerror() gives the text.
 *
 * Installed, this header is <meshnode/meshnode.h>, self-contained (the build copies enum
 * mesh_err into it from mesh/mesh_err.h); link with `pkg-config --cflags --libs meshnode` or,
 * in CMake, find_package(meshnode) and the target meshnode::meshnode. The man page is
 * meshnode(3).
 *
 * Typical use (tests/install compiles these lines, as C and as C++, so they cannot rot):
 *     char err[256];
 *     struct meshnode_config cfg;
 *     meshnode_config_init(&cfg);
 *     cfg.name = "alice";
 *     cfg.iface = "eth0";
 *     struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
 *     if (!n || meshnode_start(n, err, sizeof err) != MESH_OK) {
 *         fprintf(stderr, "meshnode: %s\n", err);
 *         meshnode_destroy(&n);
 *         return 1;
 *     }
 *     meshnode_join(n, "chat");
 *     meshnode_shout(n, "chat", "hello", 5, NULL);
 *     struct meshnode_event *ev;
 *     while ((ev = meshnode_next_event(n, -1))) {
 *         if (ev->type == MESHNODE_EV_SHOUT)
 *             printf("%s: %.*s\n", ev->name, (int)ev->len, (const char *)ev->data);
 *         meshnode_event_destroy(&ev);
 *     }
 *     meshnode_destroy(&n);   // stops, says BYE to every peer, wipes keys
 */
#ifndef MESHNODE_H
#define MESHNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MESHNODE_IDLEN 32
#define MESHNODE_HEXID_LEN 65          /* 64 hex digits + NUL */
/* "IP:PORT", "[IPv6]:PORT" or "[fe80::...%IFACE]:PORT", with its NUL */
#define MESHNODE_ENDPOINT_LEN 72
#define MESHNODE_MAX_NAME 64           /* bytes of UTF-8 */
#define MESHNODE_MAX_GROUP 64          /* bytes of UTF-8 */
#define MESHNODE_MAX_GROUPS 256        /* groups one node may join */
#define MESHNODE_MAX_PAYLOAD 1048576u  /* 1 MiB: the largest shout or whisper */
#define MESHNODE_REKEY_MIN_MS 100u     /* the shortest rekey_ms */

struct meshnode;

struct meshnode_config {
	const char *name;             /* shown to peers; NULL: "node-" + first 8 hex of the ID */
	const char *iface;            /* an interface to use, name or address, with any that
	                               * meshnode_add_iface() allows; NULL and none allowed there:
	                               * every up, multicast, non-loopback interface */
	uint16_t port;                /* ROUTER TCP port; 0: ephemeral */
	const char *identity_path;    /* NULL: $XDG_CONFIG_HOME/meshnode/identity */
	const char *mesh_key_path;    /* NULL: open mesh (no psk, unsealed beacons) */
	const char *mcast_group;      /* IPv4 multicast group; NULL: "239.192.7.7" */
	uint16_t mcast_port;          /* 0: 47474 */
	uint32_t beacon_interval_ms;  /* 0: 1000 */
	uint32_t heartbeat_ms;        /* 0: 1000 */
	uint32_t evasive_ms;          /* 0: 3000 */
	uint32_t expired_ms;          /* 0: 10000 */
	uint32_t handshake_timeout_ms;/* 0: 5000 */
	uint32_t queue_msgs;          /* per-peer send queue cap in messages; 0: 1024 */
	size_t queue_bytes;           /* per-peer send queue cap in bytes; 0: 16 MiB */
	uint32_t queue_timeout_ms;    /* older name of ttl_ms, used when ttl_ms is 0 */
	int log_level;                /* MESHNODE_LOG_*; default MESHNODE_LOG_INFO */
	/* Where log lines go; NULL: stderr, written by the loop thread itself (so a stderr that
	 * nobody drains would stall the node: the meshnode program passes its own function that
	 * hands lines to its main loop). Runs on the loop thread; must not block for long or call
	 * meshnode_*. Lines never contain keys or message payloads, nor control characters. */
	void (*log_fn)(void *arg, int level, const char *line);
	void *log_arg;
	/* Delivery (docs/protocol.md section 6). ttl_ms: how long a message may take to be
	 * acknowledged by a peer's application before it is reported DROPPED; 0: queue_timeout_ms
	 * if set, else 60000; at most 600000. receipts: report a DELIVERED event for each peer
	 * that acknowledged a message. */
	uint32_t ttl_ms;
	bool receipts;
	/* Remembered peers (docs/usage.md, "Remembered peers"). known_peers_path: the file; NULL:
	 * identity_path + ".known_peers" when identity_path is set, else
	 * $XDG_DATA_HOME/meshnode/known_peers (or ~/.local/share/meshnode/known_peers); "": remember
	 * no one. known_only: link only with remembered peers. allow_path (NULL: none): a file of
	 * node IDs, one per line; with it the node links only with those (and, with known_only,
	 * the remembered ones too). */
	const char *known_peers_path;
	bool known_only;
	const char *allow_path;
	/* How often a link replaces its keys with a fresh key exchange (docs/protocol.md section
	 * 3.3), in ms; 0: 120000; else at least 100. A link whose rekey has not completed within
	 * half as long again (at least 10 s, at most 60 s more) is closed and made anew. Only
	 * links to peers that rekey too; keys are also replaced after 2^20 frames either way. */
	uint32_t rekey_ms;
	/* The IPv6 group beacons go to on IPv6 addresses: link-local scope (ff02::/16, ff12::/16); NULL:
	 * "ff12::7d7e". All nodes of one mesh use the same groups and port. */
	const char *mcast_group6;
};

enum meshnode_log_level {
	MESHNODE_LOG_ERROR = 0,
	MESHNODE_LOG_WARN = 1,
	MESHNODE_LOG_INFO = 2,
	MESHNODE_LOG_DEBUG = 3,
};

/* Fills every field with its default (zeros and NULLs, log_level INFO). */
void meshnode_config_init(struct meshnode_config *cfg);

/* Loads or creates the identity, reads the mesh key, checks the config. Opens no socket.
 * NULL on failure, with a one-line reason in err. */
struct meshnode *meshnode_new(const struct meshnode_config *cfg, char *err, size_t errcap);
/* The same, saying why by code too: MESH_OK (*out is the node), MESH_EKEYFILE (the identity
 * or mesh key file could not be loaded, created or trusted, or the known peers file or allow
 * list could not be read), MESH_EINVAL (a bad config, an
 * identity file name of 4096 bytes or more, or a NULL cfg or out),
 * MESH_ENOMEM, MESH_EIO; *out is NULL and err holds a one-line reason on failure. */
enum mesh_err meshnode_create(const struct meshnode_config *cfg, struct meshnode **out,
                              char *err, size_t errcap);
/* Binds the sockets and starts the event-loop thread (and the known peers' writer). MESH_EIO
 * when the interface or port cannot be used, or a thread cannot start (err says which);
 * MESH_ESTATE when the node was already started or stopped.
 * Every command below (join, leave, shout, whisper, the snapshots) is MESH_ESTATE after
 * stop, and all but join and leave before start: joined before the start (on the thread that
 * then calls meshnode_start), a group is in the node's very first hello. */
enum mesh_err meshnode_start(struct meshnode *n, char *err, size_t errcap);
/* As meshnode_start(), without a loop thread: the calling thread becomes the node's owner and
 * runs its loop itself, in meshnode_next_event() (which runs the node while it waits, a
 * timeout of 0 included) and meshnode_drive(). A message then crosses no thread of ours between
 * the application and ZeroMQ, which takes about a third off a round trip
 * (docs/performance.md, "A node driven by its owner's thread").
 * The rules change with it:
 * - every call that reaches the engine (join, leave, shout, whisper, add_peer, add_iface,
 *   sas, the snapshots, meshnode_next_event, meshnode_drive, meshnode_drive_fds) must come
 *   from the owner's thread, and not from inside log_fn or the trace; otherwise it returns
 *   MESH_ESTATE (meshnode_next_event: NULL; meshnode_drive_fds: -1) and does nothing. The
 *   accessors, the known peers' calls (trust, is_verified, known_by_name) and
 *   meshnode_event_destroy() may still be called from any thread. The owner must not exit
 *   while the node runs;
 * - nothing happens between the owner's calls: the node sends, answers, beacons and keeps its
 *   sessions alive only while its owner is in meshnode_next_event() or meshnode_drive(). A node
 *   left alone past its evasive time (3 s by default) is reported EVASIVE by its peers, and
 *   past its expired time (10 s) gone; a turn that comes 1 s or more after the one before is
 *   logged at WARN. meshnode_next_event(n, -1) returns only with an event or once the node
 *   has stopped: an owner that must stay interruptible waits with a finite timeout;
 * - shout and whisper queue their message and return, and it goes out at the next turn (a
 *   whisper to a peer that is not present runs turns until its answer is known, and a send
 *   that finds 65536 sends or 64 MiB queued runs a turn first). Sends past the peer's queue
 *   (queue_msgs messages not yet acknowledged) are DROPPED "send queue full", as with a loop
 *   thread;
 * - log_fn and the trace run inside the calls that run turns (meshnode_next_event,
 *   meshnode_drive, the synchronous calls, a send that finds the FIFO full, meshnode_stop),
 *   on the owner's thread; meshnode_stop() and meshnode_destroy() called from them are
 *   ignored;
 * - meshnode_event_fd() is -1 once the node is started driven; meshnode_drive_fds() says what
 *   to poll, and for how long, before the next turn;
 * - meshnode_stop() and meshnode_destroy() run on the owner's thread, or on another once the
 *   owner is done with the node (after a join of the owner, say), never beside a call of the
 *   owner.
 * Errors as meshnode_start(). */
enum mesh_err meshnode_start_driven(struct meshnode *n, char *err, size_t errcap);
/* One turn of a driven node's loop: runs what is due and what its owner queued, then waits for
 * input at most timeout_ms (-1: up to the node's next deadline, at most about 100 ms; never
 * while events wait to be read) and handles it. MESH_ESTATE when n was not started with
 * meshnode_start_driven(), has stopped, or the caller is not its owner. */
enum mesh_err meshnode_drive(struct meshnode *n, int timeout_ms);
/* For an owner with a poll loop of its own, where one thread may own several driven nodes
 * (and other descriptors): what to wait for before the node's next turn. Call it right before
 * each poll, with no other call on the node in between (it looks again at the sockets whose
 * readiness the last turn's calls may have taken, and makes a descriptor readable if one holds
 * input; a send made after it needs a turn, so call it again). It stores up to cap descriptors
 * to watch for readability in fds and, in *timeout_ms (NULL: not wanted), the most the owner
 * may wait: 0 while commands or events wait (a queued send, an event not yet taken), else up
 * to the node's next deadline. Returns how many descriptors the node has, which may exceed
 * cap (call again with room), or -1 when n was not started with meshnode_start_driven(), has
 * stopped (its events, an ERROR among them, may still be taken), or the caller is not its
 * owner. Once one of them is readable or the time is up, take the node's events with
 * meshnode_next_event(n, 0) until it returns NULL: a call that finds none queued runs a turn,
 * and so does the first call 20 ms or more after the last turn, before it takes one
 * (meshnode_drive(n, 0) runs one and takes none). A node whose descriptors are quiet
 * and whose time is not up needs no turn. Watch them level-triggered (poll, select, epoll
 * without EPOLLET), never read from them, and take them anew each time: they change. */
int meshnode_drive_fds(struct meshnode *n, int *fds, size_t cap, int *timeout_ms);
/* Says BYE to every peer, stops the thread, closes every socket. Idempotent. Messages still
 * waiting for a peer's acknowledgement are abandoned without an event: the node is gone. */
void meshnode_stop(struct meshnode *n);
/* Stops if needed, wipes keys, frees; *np = NULL. NULL ok. */
void meshnode_destroy(struct meshnode **np);

/* Own identity. */
const uint8_t *meshnode_id(const struct meshnode *n);               /* MESHNODE_IDLEN bytes */
const char *meshnode_id_hex(const struct meshnode *n);
const char *meshnode_name(const struct meshnode *n);
const char *meshnode_fingerprint(const struct meshnode *n);
/* "tcp://IP:PORT" of the bound ROUTER socket; valid after start. */
const char *meshnode_endpoint(const struct meshnode *n);
/* The identity file: identity_path, or the default one, as the node used it. */
const char *meshnode_identity_path(const struct meshnode *n);
/* Whether meshnode_create() (or meshnode_new()) created the identity file, because none was
 * there: a new identity, which a program should tell its user about (where it is, and that
 * it is private). False when an existing file was loaded. */
bool meshnode_identity_created(const struct meshnode *n);

/* Groups. Names: 1..MESHNODE_MAX_GROUP bytes of UTF-8, case-sensitive. Joining a group
 * already joined, or leaving one not joined, is MESH_ESTATE. */
enum mesh_err meshnode_join(struct meshnode *n, const char *group);
enum mesh_err meshnode_leave(struct meshnode *n, const char *group);

/* A fixed peer (docs/usage.md, "Fixed peers"): a node that multicast cannot reach, named by
 * address as "[NODEID@]HOST:PORT". HOST is an IPv4 address, an IPv6 one in brackets
 * ("[fd00::5]:47000"; a link-local one with its interface, "[fe80::1%eth0]:47000") or a name,
 * resolved here (this may block); PORT its ROUTER port. The node dials it whatever the order of the IDs, and again
 * whenever no session with it is live, with the usual backoff after failures. Whoever answers
 * must prove its ID in the handshake like any peer, and the allow-list and known-only mode
 * apply; with NODEID, only that node may answer there. Before meshnode_start() (on the thread
 * that then calls it, as for meshnode_join) or after it, from any thread.
 * MESH_EINVAL: a malformed or unresolvable address (err says which); MESH_ELIMIT:
 * MESHNODE_MAX_FIXED_PEERS already; MESH_ESTATE: stopped. The same address again is not a
 * second peer (a NODEID given then replaces the one known). err may be NULL. */
#define MESHNODE_MAX_FIXED_PEERS 64
enum mesh_err meshnode_add_peer(struct meshnode *n, const char *addr, char *err, size_t errcap);

/* Interfaces (docs/usage.md, "Interfaces"). The node beacons on every interface that is up,
 * supports multicast and is not loopback, and listens on each one's address; or, once any is
 * allowed here (or cfg.iface is set: one more), on exactly those allowed, by name or IPv4
 * address (loopback only so); never on one denied (deny: true), which wins. It looks again
 * every 2 s, and follows interfaces and addresses that come, go or change, without dropping
 * a link that still works. Before meshnode_start() only; MESH_ESTATE after, MESH_ELIMIT past
 * MESHNODE_MAX_IFACES of a kind, MESH_EINVAL for an empty name. err may be NULL. */
#define MESHNODE_MAX_IFACES 16
enum mesh_err meshnode_add_iface(struct meshnode *n, const char *iface, bool deny, char *err,
                                 size_t errcap);

/* Sends len bytes to every member of group (shout) or to one peer (whisper). The payload is
 * copied; len > MESHNODE_MAX_PAYLOAD is MESH_ELIMIT, and so is any send while the event
 * queue holds 200000 unread events (the answers of earlier sends would be among them). *msg_id (if not NULL) gets the message
 * ID, which DELIVERED and DROPPED events name. A shout goes to every peer that is a member of
 * group when the node's loop handles it (live, or linking and then shown a member).
 *
 * Every message to every one of its peers ends in exactly one answer: it is delivered once,
 * in order, to the peer's application, which acknowledges it (a DELIVERED event when receipts
 * is on, nothing otherwise), or the sender gets a DROPPED event. The node keeps a message
 * until it is acknowledged, across lost connections and restarts of the peer, for at most its
 * time-to-live (ttl_ms). A DROPPED event's reason is one of: "send queue full" (the peer's
 * queue of unacknowledged messages is at queue_msgs or queue_bytes: a slow or stopped
 * reader), "expired" (its time-to-live ended before it could be sent), "not confirmed in
 * time" (sent, not acknowledged within its time-to-live), "peer restarted" (sent to a run of
 * the peer that ended without acknowledging it), "peer gone" (no such peer when the send
 * ran), "out of memory", "not sent". maybe_delivered is true for "not confirmed in time" and
 * "peer restarted": the message may have been shown all the same.
 * A whisper to an unknown peer is MESH_ENOTFOUND. */
enum mesh_err meshnode_shout(struct meshnode *n, const char *group, const void *data,
                             size_t len, uint64_t *msg_id);
enum mesh_err meshnode_whisper(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                               const void *data, size_t len, uint64_t *msg_id);
/* The same with this message's own time-to-live (1 to 600000 ms; 0: the node's ttl_ms;
 * more is MESH_EINVAL). */
enum mesh_err meshnode_shout_ttl(struct meshnode *n, const char *group, const void *data,
                                 size_t len, uint32_t ttl_ms, uint64_t *msg_id);
enum mesh_err meshnode_whisper_ttl(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                                   const void *data, size_t len, uint32_t ttl_ms,
                                   uint64_t *msg_id);

/* Snapshots. */
struct meshnode_peer {
	uint8_t id[MESHNODE_IDLEN];
	char id_hex[MESHNODE_HEXID_LEN];
	char name[MESHNODE_MAX_NAME + 1];
	char fingerprint[40];
	char endpoint[MESHNODE_ENDPOINT_LEN]; /* "IP:PORT" ("[IPv6]:PORT") from its beacon, or
	                               * from its HELLO if no beacon
	                               * was heard */
	bool evasive;
	bool initiator;               /* we initiated the live session */
	uint32_t local_sid;           /* our session ID of the live session */
	size_t ngroups;
	char (*groups)[MESHNODE_MAX_GROUP + 1];
	size_t queued_msgs;           /* messages waiting in its send queue */
};
/* Peers with a live session. *out is an array of *count entries; free with
 * meshnode_peers_free(). */
enum mesh_err meshnode_peers(struct meshnode *n, struct meshnode_peer **out, size_t *count);
void meshnode_peers_free(struct meshnode_peer **peers, size_t count);
/* Own groups, sorted; free with meshnode_groups_free(). */
enum mesh_err meshnode_groups(struct meshnode *n, char ***out, size_t *count);
void meshnode_groups_free(char ***groups, size_t count);
/* Short authentication string of the live link to peer (docs/crypto.md). */
enum mesh_err meshnode_sas(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                           char out[32]);

/* Marks peer verified (the user compared meshnode_sas() out of band) or not, in the known
 * peers, saved before the call returns. An ID never met can be verified (pinned) too.
 * MESH_ESTATE: remembering is off; MESH_ENOTFOUND: unverifying an unknown ID; MESH_ELIMIT:
 * the store is full of verified peers; MESH_EIO: it could not be saved (logged). Any thread. */
enum mesh_err meshnode_trust(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                             bool verified);
/* Whether the user verified peer. Any thread. */
bool meshnode_is_verified(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN]);
/* The remembered peers that have used name (or one the same but for ASCII case and blanks at
 * either end): how many, and the IDs of up to
 * cap of them in ids (ids may be NULL). 0 when remembering is off. Any thread. */
size_t meshnode_known_by_name(struct meshnode *n, const char *name,
                              uint8_t (*ids)[MESHNODE_IDLEN], size_t cap);
/* The known peers file, or NULL when remembering is off (borrowed). */
const char *meshnode_known_peers_path(const struct meshnode *n);

/*
 * What /status shows, like `wg show` (docs/usage.md, "Status"). Times are milliseconds ago on
 * the node's monotonic clock. Bytes count every frame of the session on the wire, the
 * handshake's included (a received one once authenticated); messages count application
 * messages (shouts and whispers) sent or received whole, resends included. The round trip is timed only on exchanges the peer's engine
 * answers at once (the handshake's and each rekey's), never on ACKs, which may wait for the
 * application: rtt_samples 0 means none was timed yet.
 */
struct meshnode_peer_status {
	uint8_t id[MESHNODE_IDLEN];
	char id_hex[MESHNODE_HEXID_LEN];
	char name[MESHNODE_MAX_NAME + 1];
	char endpoint[MESHNODE_ENDPOINT_LEN];
	uint32_t local_sid;           /* our session ID of the live session */
	bool initiator;
	uint64_t session_age_ms;      /* since its handshake began */
	uint64_t handshake_age_ms;    /* since its keys last changed: the handshake or a rekey */
	uint64_t last_rx_age_ms;      /* since its last authenticated frame */
	uint64_t rtt_ms, rtt_last_ms, rtt_samples;  /* smoothed (RFC 6298), the latest, how many */
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs;  /* of this session */
	uint64_t queued_msgs, queued_bytes;   /* not yet sent */
	uint64_t unacked_msgs;        /* sent, waiting for the peer's ACK */
	uint64_t rekeys;              /* rekeys completed in this session */
};
struct meshnode_status {
	uint64_t uptime_ms;           /* since meshnode_start() */
	uint64_t peers;               /* with a live session */
	uint64_t sessions;            /* in any state, handshakes included */
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs;  /* every session since the start */
};
/* The node's totals and its live peers, sorted by name then ID. *peers is an array of *count
 * entries (NULL when there are none); free it with meshnode_status_free(). Any thread. */
enum mesh_err meshnode_status(struct meshnode *n, struct meshnode_status *totals,
                              struct meshnode_peer_status **peers, size_t *count);
void meshnode_status_free(struct meshnode_peer_status **peers);

/* Counters of what was dropped, for tests and diagnostics. */
struct meshnode_stats {
	uint64_t beacons_rx, beacons_bad, beacons_stale, beacons_foreign;
	uint64_t frames_bad, frames_unknown_sid, frames_auth_failed, frames_replayed;
	uint64_t hellos_limited, handshakes_failed, handshakes_done, sessions_rejected;
	uint64_t msgs_bad, msgs_unknown_type, msgs_dup, fragments_dropped;
	uint64_t sessions_live;
};
enum mesh_err meshnode_stats(struct meshnode *n, struct meshnode_stats *out);

/* One of the node's counters, by name (docs/usage.md, "Counters"). */
struct meshnode_counter {
	const char *name;             /* static, e.g. "beacons_limited" */
	uint64_t value;
};
/* Every counter the node keeps: those of struct meshnode_stats first, in its order, then the
 * engine's own (the refusals of docs/protocol.md section 7 among them). Fills up to cap of
 * them into out and sets *count to how many there are in all. New versions add counters at
 * the end and never rename one, so a program looks them up by name; struct meshnode_stats
 * keeps its size. Any thread. */
enum mesh_err meshnode_counters(struct meshnode *n, struct meshnode_counter *out, size_t cap,
                                size_t *count);

/* The trace (docs/usage.md, "Trace"): fn is called with one line of JSON (no newline) for
 * each frame and beacon in and out and for each decision of the node: a session dialled,
 * answered, live or closed, a rekey, an event, and every input dropped, with the counter it
 * was counted in as its reason code. Lines never hold a key, a payload, a name or a group.
 * fn runs on the loop thread, like log_fn, and must not block for long nor call meshnode_*;
 * the line is borrowed for the call. NULL: no trace (the default). Before meshnode_start()
 * only: MESH_ESTATE after it. At log level debug, each drop and decision is logged as well,
 * with or without a trace. */
enum mesh_err meshnode_set_trace(struct meshnode *n, void (*fn)(void *arg, const char *line),
                                 void *arg);

/* The key log (docs/usage.md, "Key log"), like a browser's SSLKEYLOGFILE: the node appends to
 * path one line per session's transport keys (at each handshake and each rekey) and, in a
 * closed mesh, one with the beacon key, so that a capture of its traffic can be decrypted
 * (tools/wireshark/meshnode.lua). DANGEROUS: whoever reads the file reads every captured
 * frame of this node. The file is created with mode 0600 and opened now, never through a
 * symbolic link; an existing one must be a regular file of ours without group or other
 * permissions. NULL: no key log (the default). Before meshnode_start() only (MESH_ESTATE
 * after it); MESH_EIO with a reason in err when the file cannot be used. */
enum mesh_err meshnode_set_keylog(struct meshnode *n, const char *path, char *err,
                                  size_t errcap);

/* The allocator policy for a program that carries large messages (docs/performance.md): glibc's
 * malloc keeps up to 8 MiB of freed memory at the top of each thread's heap instead of handing
 * it back at once, and serves blocks below 2 MiB from its heaps, so that the next large message
 * does not fault its pages in again (3x the 64 KiB whisper rate on this project's VMs). It is
 * process-wide, so the node never calls it: a program may, before it starts its nodes; the
 * meshnode program and meshbench do. malloc_trim(0) still returns the memory kept. true when
 * set; false where the C library is not glibc, which changes nothing. */
bool meshnode_malloc_policy(void);

/* Events. */
enum meshnode_event_type {
	MESHNODE_EV_ENTER = 1,   /* a peer's session became live, at both ends */
	MESHNODE_EV_EXIT,        /* a peer left: BYE, expiry, or replaced by its restart */
	MESHNODE_EV_EVASIVE,     /* a peer has been silent for evasive_ms */
	MESHNODE_EV_JOIN,        /* a peer joined group */
	MESHNODE_EV_LEAVE,       /* a peer left group (also for each group when it exits) */
	MESHNODE_EV_SHOUT,       /* a message to group */
	MESHNODE_EV_WHISPER,     /* a message to us alone */
	MESHNODE_EV_DROPPED,     /* our message msg_id was not delivered to peer; reason says why */
	MESHNODE_EV_ERROR,       /* the node cannot go on as configured; text says why */
	MESHNODE_EV_DELIVERED,   /* receipts: peer's application took our message msg_id */
	MESHNODE_EV_ALARM,       /* someone may not be who they seem: alarm says what, reason
	                          * says it in words (docs/usage.md, "Alarms") */
	MESHNODE_EV_BACK,        /* a peer reported EVASIVE was heard again on its live link */
};

/* What an ALARM is about. Names are labels anyone can take; only the key (the node ID, the
 * fingerprint) says who a peer is. */
enum meshnode_alarm {
	MESHNODE_ALARM_NONE = 0,
	MESHNODE_ALARM_OWN_ID,   /* another node (peer, endpoint) announces our own node ID: our
	                          * identity file was copied */
	MESHNODE_ALARM_SHARED_ID,/* two nodes take turns as peer: its identity file was copied;
	                          * the node keeps the link it has */
	MESHNODE_ALARM_NAME_TAKEN, /* peer uses a name that another remembered key (other) used
	                          * before; other_verified: that one was verified by the user */
	MESHNODE_ALARM_VERIFIED_RENAMED, /* a peer the user verified comes back with another name
	                          * (name; other_name: the one it had) */
};

struct meshnode_event {
	enum meshnode_event_type type;
	uint8_t peer[MESHNODE_IDLEN];
	char peer_hex[MESHNODE_HEXID_LEN];
	char name[MESHNODE_MAX_NAME + 1];
	char group[MESHNODE_MAX_GROUP + 1];   /* JOIN, LEAVE, SHOUT, DROPPED of a shout */
	uint64_t msg_id;                      /* SHOUT, WHISPER, DROPPED */
	uint64_t incarnation;                 /* the peer's incarnation (ENTER, EXIT) */
	uint8_t *data;                        /* SHOUT, WHISPER payload (owned by the event) */
	size_t len;
	const char *reason;                   /* DROPPED, EXIT, ERROR: static text */
	char endpoint[MESHNODE_ENDPOINT_LEN]; /* ENTER: "IP:PORT" or "[IPv6]:PORT" */
	bool maybe_delivered;                 /* DROPPED: it was sent and may have arrived */
	bool verified;                        /* the user verified peer (meshnode_trust) */
	enum meshnode_alarm alarm;            /* ALARM */
	uint8_t other[MESHNODE_IDLEN];        /* ALARM NAME_TAKEN: the key that had the name */
	char other_hex[MESHNODE_HEXID_LEN];
	bool other_verified;
	char other_name[MESHNODE_MAX_NAME + 1]; /* ALARM VERIFIED_RENAMED: the name it had */
};

/* Next event, waiting up to timeout_ms (-1: forever, 0: poll). NULL on timeout or once the
 * node has stopped and the queue is empty. */
struct meshnode_event *meshnode_next_event(struct meshnode *n, int timeout_ms);
void meshnode_event_destroy(struct meshnode_event **evp);
/* Readable while events are queued. Do not read from it: call meshnode_next_event(). -1 once
 * the node is started driven (meshnode_start_driven; meshnode_drive_fds() instead). */
int meshnode_event_fd(const struct meshnode *n);

const char *meshnode_event_name(enum meshnode_event_type t);  /* "enter", "exit", ... */

const char *meshnode_strerror(enum mesh_err e);

#ifdef __cplusplus
}
#endif

#endif
