/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mesh_impl: the inside of one protocol engine, shared by the files that make it up (mesh.c,
 * send.c, ...). Private to mesh/: node/ and tools/ never include it; they see only mesh.h.
 *
 * Every function declared here runs on the mesh's thread (mesh.h). Each is defined in the
 * file its prefix names, mesh_ for mesh.c's own (logging, events, session transitions), which
 * mesh.h does not declare: no short name is global, since a program that links mn_mesh has
 * names of its own (the meshnode program has an emit()).
 */
#ifndef MESH_MESH_IMPL_H
#define MESH_MESH_IMPL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backlog.h"
#include "dialaddr.h"
#include "discovery.h"
#include "group.h"
#include "heard.h"
#include "link.h"
#include "mesh.h"
#include "mesh_drop.h"
#include "peer.h"
#include "ratelimit.h"
#include "session.h"
#include "wire.h"

#define TICK_MS 20             /* ticks this often while ACKs or held beacons wait */
#define REDIAL_BASE_MS 500     /* protocol section 4, "Redialling" */
#define REDIAL_MAX_MS 60000
#define HS_TRIES_SCALE_MAX 8   /* a retried handshake waits up to 8 x handshake_timeout */
#define STALL_RETRY_MS 5
#define SWEEP_MAX_MS 100       /* session and peer timers: at least this often, see mesh_new */
#define KEYMEM_TRIM_MS 1000    /* the secrets' pools give back chunks empty 1 - 2 s */
#define ACK_DELAY_MS 20        /* protocol section 6, "Delivery": an ACK waits at most this, */
#define ACK_EVERY 32           /* or until this many messages are taken, */
#define ACK_EVERY_BYTES 65536  /* or this many bytes of them */
#define TTL_DEFAULT_MS 60000
#define ALARM_GAP_MS 30000     /* an ALARM about one ID is repeated at most this often */
#define SHARED_HOLD_MS 60000   /* two nodes with one ID: keep the link we have this long */
#define OWN_CHECKS_PER_S 10    /* beacons with our own ID from elsewhere checked, per second */
/* Beacon signatures checked per second (protocol section 7): of node IDs with a peer entry
 * (verified before, or linked), and of the rest, half of which only IDs heard in this or
 * the last second may take (beacon_seen); the rest are also limited per source address
 * (check_rate, at the rate of ratelimit.h), except from our own address */
#define KNOWN_CHECKS_PER_S 200
#define UNKNOWN_CHECKS_PER_S 200
/* Initiated handshakes in progress by class (protocol section 4, "Dial slots"): a peer linked
 * within RECENT_LINK_MS (or now) may take any of the MESH_MAX_HANDSHAKES_OUT; one whose beacons
 * were heard more than once and that never failed, all but DIAL_RESERVED; the rest, never
 * more than DIAL_OTHER_MAX at once. Those of the last two classes to one destination address
 * other than our own are at most DIAL_PER_ADDR_MAX at once (counted in mesh.dial_addrs). */
enum dial_class { DIAL_RECENT, DIAL_HEARD, DIAL_OTHER, DIAL_CLASSES };
#define RECENT_LINK_MS 600000
#define DIAL_RESERVED 16
#define DIAL_OTHER_MAX (MESH_MAX_HANDSHAKES_OUT / 2)
#define DIAL_PER_ADDR_MAX 16
/* a counted dial holds a slot: the table of addresses has a row for each, never full */
_Static_assert(DIALADDR_MAX >= MESH_MAX_HANDSHAKES_OUT, "a row of dial_addrs per slot");
#define SEEN_BITS (1u << 19)   /* beacon_seen_again: two generations of a filter */
#define SEEN_HASHES 4          /* bits per ID in each */
#define RESEND_MIN_MS 1000     /* a peer's RESENDs are answered at most this often */
#define REKEY_TIMEOUT_MS 5000  /* protocol section 3.3: the shortest wait before a REKEY
                                * without REPLY is made again (rekey.c, attempt_timeout) */
#define REKEY_ANSWER_MIN_MS 50 /* a responder runs at most one REKEY's exchange this often per
                                * session */
#define REKEY_MARGIN_MIN_MS (2 * REKEY_TIMEOUT_MS)   /* keys too old: see reject_after() */
#define REKEY_MARGIN_MAX_MS 60000

/* Log lines about bad input are limited per kind to one a second. */
enum logkind { LK_BEACON, LK_HELD, LK_VERSION, LK_FRAME, LK_HS, LK_MSG, LK_RATE, LK_CONN,
               LK_COUNT };

/* Where a peer's beacons are heard (peer.pex_origin): on none of our segments, or on the
 * interface of that tag (discovery_tag: 1..255). */
#define PEX_NOWHERE 0
#define IFACES_RESCAN_MS 2000  /* interfaces listed again this often (ifaces.c) */
/* A beacon of a peer's run at another address than the one recorded, while that one was heard
 * within this many beacon intervals, is of its other interface, not a move (beacon.c). */
#define ALT_ADDR_BEACONS 3

/* A peer the user named by address (fixed.c, protocol section 4, "Fixed peers"). */
#define MESH_MAX_FIXED 64
struct fixed_peer {
	struct ipaddr ip;
	uint16_t port;
	bool pinned;                   /* id is the one the user named: only it may answer */
	bool known;                    /* id holds who answered last (or the pin) */
	uint8_t id[WIRE_IDLEN];
	uint32_t sid;                  /* our handshake in progress to it; 0: none */
	uint32_t failures;             /* in a row, for the backoff of section 4 */
	uint64_t next_dial_ms;
};

struct mesh {
	struct mesh_config cfg;
	char name[WIRE_MAX_NAME + 1];
	const struct keys_identity *id;
	uint64_t incarnation;
	uint64_t last_msg_id;

	const struct link_ops *lops;   /* the transport (link.h) */
	void *link;
	struct ipaddr ip;              /* the first interface's at the start: the link's own */
	uint16_t port;
	struct discovery *disc;
	struct ipaddr listen[LINK_MAX_ADDRS]; /* further addresses listened on (ifaces.c) */
	size_t nlisten;
	uint64_t next_rescan_ms;
	size_t npolled_disc;           /* discovery's items at the last mesh_pollitems() */

	uint8_t *psk;                  /* sodium_malloc'd, NULL for an open mesh */
	uint8_t prologue[128];
	size_t prologue_len;

	struct session_table sessions;
	struct reasm_pool rpool;       /* every session's partial messages (reasm.h) */
	struct session_keymem keymem;  /* every session's secrets; outlives the table */
	struct peer_table peers;
	struct heard_table heard;      /* IDs of unchecked beacons: not peers (heard.h) */
	struct backlog backlog;        /* beacons over the check budget, to check (beacon.c) */
	struct group_set groups;
	size_t hs_in, hs_out;          /* handshakes in progress, answered and initiated */
	size_t hs_out_class[DIAL_CLASSES];   /* hs_out by class (enum dial_class) */
	struct dialaddr dial_addrs;    /* of those, per destination address (session.dial_counted) */
	struct fixed_peer *fixed;      /* peers named by address (fixed.c); NULL until the first */
	size_t nfixed;
	bool check_seen;               /* the beacon being checked was heard in the last second */
	uint64_t now_ms;               /* time of the input being handled (for callbacks) */

	uint64_t next_beacon_ms;
	unsigned burst;
	uint64_t next_sweep_ms, sweep_ms;
	uint64_t last_tick_ms;         /* the last mesh_on_tick's time (mesh_next_due) */
	uint64_t next_trim_ms;         /* of keymem (session_keymem_trim) */
	uint64_t reject_after_ms;      /* keys this old close their session (protocol 3.3) */
	uint32_t hs_longest_ms;        /* the longest a handshake may take (mesh_handshake_longest) */
	uint64_t last_beacon_ms;       /* when we last sent one; 0: never */
	bool answer_due;               /* a new lower peer may have missed our beacons */
	uint64_t pex_gen;              /* peer exchange (pex.c): the last generation */
	bool pex_due;                  /* some peer may have beacons to be passed to it */
	uint64_t own_alarm_ms;         /* last ALARM_OWN_ID (mesh_alarm) */
	struct tokens own_checks;      /* of beacons with our ID from elsewhere */
	struct tokens known_checks, unknown_checks;   /* of beacons of IDs with a peer entry, not */
	uint64_t seen_epoch;           /* the second seen[0] is of */
	uint8_t seen_key[crypto_shorthash_siphashx24_KEYBYTES];
	uint8_t seen[2][SEEN_BITS / 8];
	bool test_unlimited_checks;    /* mesh_test_unlimit_checks() */
	bool any_stalled;
	bool any_ack_due;              /* some peer's ACK or RESEND waits (peer.ack_due_ms) */

	struct ratelimit hello_rate;   /* HELLOs per source address */
	struct ratelimit check_rate;   /* beacon checks of IDs without a peer entry, per source */
	uint64_t log_last[LK_COUNT];
	unsigned log_suppressed[LK_COUNT];

	struct mesh_stats stats;
	struct mesh_traffic closed;    /* what the sessions closed so far carried (/status) */
	/* The input being handled, for trace records of drops (trace.c): set by the code that
	 * reads a beacon or frame, cleared when it is done. */
	struct mesh_trace tr_in;
	bool tr_done;                  /* its record (IN or DROP) is out */
	uint64_t tr_out_msg_id;        /* the message the next sealed frame carries (send.c) */
	size_t in_len;                 /* the bytes of the frame being handled: a session counts
	                                * them once it is authenticated (session.h, tx_bytes) */
	char tr_addr[64];

	/* Scratch: frames are up to 64 KiB, too large for the stack. */
	uint8_t fbuf[WIRE_MAX_FRAME];
	uint8_t pbuf[WIRE_MAX_NOISE];
	uint8_t hbuf[WIRE_MAX_NOISE];
	uint8_t mbuf[WIRE_MAX_NOISE];
};

_Static_assert(LINK_MAX_RID <= SESSION_MAX_RID, "a session keeps the route it answers on");

/* ---------- mesh.c: logging, events, sessions ---------- */

/* Lets the compiler check every log line's arguments; clang's -Wformat=2 also insists on it
 * before it accepts a forwarded format. */
#if defined(__GNUC__)
#define MESH_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define MESH_PRINTF_LIKE(f, a)
#endif

void mesh_logline(struct mesh *m, int level, const char *fmt, ...) MESH_PRINTF_LIKE(3, 4);
/* For input from the network: at most one line a second per kind, so that a flood does not
 * become a log flood. */
void mesh_droplog(struct mesh *m, enum logkind k, uint64_t now, const char *fmt, ...)
	MESH_PRINTF_LIKE(4, 5);
const char *mesh_fpr(const uint8_t id[WIRE_IDLEN], char buf[KEYS_FPR_LEN]);
bool mesh_id_lower(const uint8_t a[WIRE_IDLEN], const uint8_t b[WIRE_IDLEN]);
/* Whether ip (network order) is one of our own addresses: every node on this host has it, so
 * the per-address limits (beacon checks, HELLOs, dials) spare it. The one place that knows
 * which addresses are ours, so that a node with several interfaces changes only this. */
bool mesh_own_ip(const struct mesh *m, const struct ipaddr *ip);
/* Whether we have an address of ip's family to reach it from (an interface beaconed on). */
bool mesh_has_family(const struct mesh *m, const struct ipaddr *ip);
/* ---------- trace.c: the trace (mesh.h, struct mesh_trace) ---------- */
/* Counts input dropped in counter c (struct mesh_stats) and traces it with c's name as the
 * reason, so that the trace has a DROP for each count; MESH_DROP_S names the session it
 * concerns, MESH_DROP_N counts (and traces) n. */
#define MESH_DROP(m, c) ((m)->stats.c++, mesh_trace_drop((m), #c, NULL))
#define MESH_DROP_S(m, c, s) ((m)->stats.c++, mesh_trace_drop((m), #c, (s)))
#define MESH_DROP_N(m, c, n) do { \
	for (uint64_t k_ = 0, n_ = (n); k_ < n_; k_++) \
		MESH_DROP(m, c); \
} while (0)
/* The same for a decision counted in c: traced as DECISION c. */
#define MESH_DECIDE(m, c, s) ((m)->stats.c++, mesh_trace_decision((m), #c, (s), NULL))
static inline bool mesh_tracing(const struct mesh *m) { return m->cfg.trace != NULL; }
void mesh_trace_drop(struct mesh *m, const char *reason, const struct session *s);
void mesh_trace_decision(struct mesh *m, const char *what, const struct session *s,
                         const char *why);
/* The input now handled: a beacon from ip (announcing id, or NULL), a frame from addr (f:
 * decoded, or NULL). Before the next input, _in_done forgets it. A DECISION first puts out
 * the IN record of the input it follows from. */
void mesh_trace_in_beacon(struct mesh *m, const struct ipaddr *ip, const uint8_t *id,
                          size_t bytes);
void mesh_trace_in_frame(struct mesh *m, const char *addr, const struct wire_frame *f,
                         size_t bytes);
/* s is the session the input is for, once known. */
void mesh_trace_in_session(struct mesh *m, const struct session *s);
/* The record of the input: IN, once it is taken (a DATA frame that opened: msg is its
 * message's type), unless a DROP was its record. */
void mesh_trace_in_taken(struct mesh *m, int msg);
void mesh_trace_in_done(struct mesh *m);
/* A frame about to be sent on s (its bytes); pt: the plaintext inside (DATA), or NULL. Fills
 * *t, to be put once the send succeeded, when tracing (then true). */
bool mesh_trace_out_begin(struct mesh *m, const struct session *s, const uint8_t *frame,
                          size_t len, const uint8_t *pt, size_t ptlen, struct mesh_trace *t);
void mesh_trace_put(struct mesh *m, const struct mesh_trace *t);
/* A beacon sent on interface i of discovery. */
void mesh_trace_out_beacon(struct mesh *m, const struct ipaddr *ip, size_t bytes);
/* Every event the engine emits is a decision too. */
void mesh_trace_event(struct mesh *m, const struct mesh_event *ev);

/* ---------- keylog.c: the opt-in key log (mesh.h, struct mesh_keylog) ---------- */
/* The keys of t, a transport of s (its current or next keys), to mesh_config.keylog. */
void mesh_keylog_session(struct mesh *m, const struct session *s, const struct noise_transport *t);
void mesh_keylog_beacon(const struct mesh_config *cfg, const uint8_t key[MESH_KEYLEN]);

/* ---------- ifaces.c: several interfaces ---------- */
/* Our address that a node at ip (NULL: unknown) should be told: that of the interface whose
 * subnet holds ip; else the link's own while the host has it and it is of ip's family; else
 * the first interface's of ip's family that is not link-local; else the link's own while the
 * host has it, else the first interface's. */
void mesh_ip_towards(const struct mesh *m, const struct ipaddr *ip, struct ipaddr *out);
/* The tag of the interface whose subnet holds ip, or PEX_NOWHERE; on a node with one segment,
 * that segment's, wherever ip is. */
uint8_t mesh_tag_towards(const struct mesh *m, const struct ipaddr *ip);
/* The tag of the interface whose subnet holds ip, or PEX_NOWHERE: no one-segment guess. */
uint8_t mesh_tag_within(const struct mesh *m, const struct ipaddr *ip);
/* Listens on every interface's address, once the link is open. */
void ifaces_on_open(struct mesh *m, uint64_t now);
/* Follows the interfaces when a rescan is due. */
void ifaces_on_tick(struct mesh *m, uint64_t now);
/* The peer a session belongs to, or NULL while a responder does not know yet. */
struct peer *mesh_session_peer(struct mesh *m, const struct session *s);
/* s becomes the live session of its peer (protocol section 4). */
void mesh_go_live(struct mesh *m, struct session *s, uint64_t now);
/* A frame from the initiator on s, live with enter_due: reports its peer entered. */
void mesh_enter_confirmed(struct mesh *m, struct session *s);
/* With a reason, a live session's close is reported (EXIT); the peer's queue stays. */
void mesh_close_session(struct mesh *m, struct session *s, const char *reason, uint64_t now);
/* How old keys may get before they close their session, for a rekey interval (rekey.c). */
uint64_t mesh_reject_after(uint32_t rekey_ms);
/* The copy of p that events and iterations hand out (mesh.h). */
void mesh_peer_view(const struct peer *p, struct mesh_peer_view *out);
void mesh_emit(struct mesh *m, enum mesh_event_type type, const struct peer *p, const char *group,
               uint64_t msg_id, uint8_t *data, size_t len, const char *reason);
/* The answer for one of our messages to p: DROPPED for why (maybe: it was sent, and may have
 * been delivered), or DELIVERED when why is MESH_DROP_COUNT. */
void mesh_emit_answer(struct mesh *m, const struct peer *p, const struct outmsg *om,
                      enum mesh_drop why, bool maybe);

/* An ALARM (mesh.h): an info line and the event, at most once per ALARM_GAP_MS per *last_ms. */
void mesh_alarm(struct mesh *m, enum mesh_alarm kind, const uint8_t id[WIRE_IDLEN],
                const char *name, const struct ipaddr *ip, uint16_t port, uint64_t incarnation,
                uint64_t *last_ms, uint64_t now);

/* ---------- handshake.c: protocol section 4 ---------- */

/* One more failure in a row (*failures) of handshakes to one node: when the next may start,
 * d = min(500 x 2^(failures - 1), 60000) ms drawn from [d/2, 3d/2) (protocol section 4). */
uint64_t handshake_redial_at(uint32_t *failures, uint64_t now);
/* A handshake we started with p failed: the next waits (protocol section 4). */
void handshake_backoff(struct peer *p, uint64_t now);
/* p can be dialled again at once: it went live, or a verified beacon says it moved. */
void handshake_dial_now(struct peer *p);
/* Starts a handshake with p if the rules of protocol section 4 say we should. */
void handshake_maybe_connect(struct mesh *m, struct peer *p, uint64_t now);
void handshake_initiate(struct mesh *m, struct peer *p, uint64_t now);
/* Opens a session that dials ip:port as initiator of class c and sends its HELLO; it expects
 * expected_id, or any ID its key proves when NULL. NULL if it could not start (nothing is
 * left behind). The caller has checked the slots. */
struct session *handshake_dial(struct mesh *m, const struct ipaddr *ip, uint16_t port,
                               const uint8_t *expected_id, enum dial_class c, uint32_t failures,
                               uint64_t now);
/* How long a handshake of ours may take after `failures` failures in a row to the same node
 * or address (protocol section 4, "Timeouts"); at most m->hs_longest_ms. */
uint32_t handshake_timeout(const struct mesh *m, uint32_t failures);
/* A handshake stops being in progress: it went live or was removed. */
void handshake_done(struct mesh *m, const struct session *s);
void handshake_on_hello(struct mesh *m, const struct wire_frame *f, const uint8_t *rid,
                        size_t rid_len, const char *addr, uint64_t now);
void handshake_on_reply(struct mesh *m, struct session *s, const struct wire_frame *f,
                        uint64_t now);
void handshake_on_finish(struct mesh *m, struct session *s, const struct wire_frame *f,
                         uint64_t now);

/* ---------- fixed.c: peers named by address (protocol section 4) ---------- */

/* Dials the fixed peers that have no session and whose wait is over (each sweep). */
void fixed_on_sweep(struct mesh *m, uint64_t now);
/* The REPLY of s (a fixed peer's handshake) named its node: true to go on with it as that
 * peer's handshake, false if it was closed (ourselves, refused, or that node is served
 * already). */
bool fixed_on_reply(struct mesh *m, struct session *s, uint64_t now);
/* s's handshake ended (live, or not): its fixed peer may be dialled again (after a backoff
 * if it failed). No-op for a session that dials no fixed peer. */
void fixed_handshake_over(struct mesh *m, const struct session *s, bool live, uint64_t now);
/* A session with the node id went live, whoever dialled: the fixed peers known to be that
 * node are served, and their backoff is cleared (a crossing handshake of theirs that lost to
 * it, rejected or closed, was no failure). */
void fixed_on_live(struct mesh *m, const uint8_t id[WIRE_IDLEN]);

/* ---------- pex.c: peer exchange (protocol section 2) ---------- */

/* A beacon read from one of our segments (checked or not; tag: its interface's) and from its
 * source, signed as sig (len bytes; 0: not kept): kept if it is of a peer's endpoint, to pass
 * on. */
void pex_note_beacon(struct mesh *m, const struct wire_beacon_body *b, bool checked,
                     const struct ipaddr *from, uint8_t tag, const uint8_t *sig, size_t len);
/* s went live as p's session (before p takes its incarnation). */
void pex_on_live(struct mesh *m, struct peer *p, const struct session *s, uint64_t now);
/* Passes what is to pass on, to the peers that take it (each sweep). */
void pex_on_sweep(struct mesh *m, uint64_t now);
/* A PEERS message from a live peer, on its session s. */
void pex_on_msg(struct mesh *m, struct peer *from, const struct session *s,
                const struct wire_msg *msg, uint64_t now);

/* ---------- send.c: frames, sealing, queues ---------- */

enum mesh_err send_frame(struct mesh *m, struct session *s, const uint8_t *frame, size_t len);
enum mesh_err send_unstall(struct mesh *m, struct session *s);
enum mesh_err send_accept(struct mesh *m, struct session *s, uint64_t now);
enum mesh_err send_simple(struct mesh *m, struct session *s, uint64_t type, uint64_t reason,
                          uint64_t now);
/* Encodes one message and seals and sends it on s (a full socket: MESH_ELIMIT, not sent). */
enum mesh_err send_msg(struct mesh *m, struct session *s, const struct wire_msg *msg,
                       uint64_t now);
struct session *send_live_session(struct mesh *m, const struct peer *p);
void send_pump(struct mesh *m, struct peer *p, uint64_t now);
enum mesh_err send_enqueue(struct mesh *m, struct peer *p, struct outmsg *om, bool if_member,
                           uint64_t now);
/* Removes the queued JOIN and LEAVE of a session that ended (its successor's hello says). */
void send_drop_controls(struct peer *p);
/* Reports and removes the messages whose time-to-live has ended. */
void send_expire(struct mesh *m, struct peer *p, uint64_t now);
/* Reports and removes the messages sent whole to a run of p other than incarnation. */
void send_forget_run(struct mesh *m, struct peer *p, uint64_t incarnation);
/* The peer's ACK and RESEND of our messages. */
void send_on_ack(struct mesh *m, struct peer *p, uint64_t incarnation, uint64_t msg_id);
void send_on_resend(struct mesh *m, struct peer *p, uint64_t incarnation, uint64_t msg_id,
                    uint64_t now);
/* Our ACK of p's messages (rx_taken_id), and our RESEND when we refused some. A send that
 * cannot go now is retried by the tick. */
void send_ack(struct mesh *m, struct peer *p, uint64_t now);
void send_ask_resend(struct mesh *m, struct peer *p, uint64_t now);

/* ---------- rekey.c: replacing a live link's keys (protocol section 3.3) ---------- */

/* Whether s rekeys: a LIVE session with a peer whose hello says it does, and so do we. */
bool rekey_enabled(const struct mesh *m, const struct session *s);
/* The sweep's part on a LIVE session: starts or retries an exchange (initiator), and returns
 * the reason to close s when its keys have outlived reject_after_ms, else NULL. */
const char *rekey_on_sweep(struct mesh *m, struct session *s, uint64_t now);
/* A REKEY or REKEY_REPLY on p's live session s. */
void rekey_on_msg(struct mesh *m, struct session *s, struct peer *p, const struct wire_msg *msg,
                  uint64_t now);
/* A frame opened with s's new keys, which are now its current ones. */
void rekey_on_promoted(struct mesh *m, struct session *s, uint64_t now);

/* ---------- beacon.c: what the engine does with beacons ---------- */

void beacon_on_readable(struct mesh *m, uint64_t now);
void beacon_on_tick(struct mesh *m, uint64_t now);
uint64_t beacon_next_due(const struct mesh *m);
/* Forgets the least recently heard peer we have nothing to do with; false if there is none. */
bool beacon_evict_unlinked(struct mesh *m);
/* Whether a beacon signature check may be spent now (protocol section 2, the budget of 200
 * a second for IDs with a peer entry, known, or for the rest). */
bool beacon_may_check(struct mesh *m, bool known, uint64_t now);
/* Whether a beacon of this ID was heard in this second or the last (a filter, so a few of a
 * flood's fresh IDs pass for heard: about one in 30,000 at 10,000 a second), and notes it in
 * this second's. */
bool beacon_seen_again(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t now);
/* A beacon a peer passed on (pex.c), verified: acted on as one heard, but for the source
 * rule and the answer. The peer entry, or NULL if none could be made. */
struct peer *beacon_on_passed(struct mesh *m, const struct wire_beacon_body *b, uint64_t now);

/* ---------- deliver.c: DATA frames and application messages in ---------- */

void deliver_on_data(struct mesh *m, struct session *s, const struct wire_frame *f,
                     uint64_t now);
/* p's application took more (rx_taken_id moved): an ACK now or within ACK_DELAY_MS. force:
 * say it again even if nothing moved (the sender resent what we had). */
void deliver_ack_soon(struct mesh *m, struct peer *p, bool force, uint64_t now);
/* The tick's part: due ACKs, and RESENDs once there is room again. */
void deliver_on_tick(struct mesh *m, uint64_t now);

#endif
