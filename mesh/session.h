/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * session: one end of one Noise XX link (docs/protocol.md sections 3 and 4), its rekeying
 * (section 3.3), and the table that finds it by our session ID in O(1). A session knows nothing
 * of sockets or clocks: the mesh engine hands it bytes and the time, and sends what it returns.
 * Keys live in locked memory (the owner's pools, or sodium_malloc) and are wiped by
 * session_destroy().
 *
 * Invariants: sid != 0 and unique in its table; state only moves forward
 * (INIT_SENT_HELLO -> INIT_WAIT_ACCEPT -> LIVE, RESP_SENT_REPLY -> LIVE); `tx` is non-NULL
 * exactly from Split on; the peer's ID is trusted only once `authenticated` is set; `tx_next`
 * exists only on a LIVE session, and only the initiator's sends ever use it before it
 * replaces `tx` (tx_next_sends); `rekey_hs` exists only on a LIVE initiator.
 */
#ifndef MESH_MESH_SESSION_H
#define MESH_MESH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group.h"
#include "mesh_err.h"
#include "noise.h"
#include "reasm.h"
#include "wire.h"

#define SESSION_ID_LEN 4
#define SESSION_MAX_RID 255          /* a transport's name for a connection (LINK_MAX_RID) */
#define SESSION_RID_INLINE 16        /* kept in the session; ZeroMQ's own are 5 bytes */

/* Where sessions keep their secrets: two pools of locked memory (crypto/secmem.h) that their
 * owner keeps, one for handshake states and one for link keys, instead of a sodium_malloc
 * (several system calls) for each. Sessions borrow it: it must outlive them. */
struct secmem;
struct session_keymem {
	struct secmem *hs;      /* noise_hs_size() slots */
	struct secmem *tx;      /* struct noise_transport slots */
};

enum mesh_err session_keymem_init(struct session_keymem *km);
void session_keymem_free(struct session_keymem *km);     /* wipes everything; NULLs ok */
/* Gives back the chunks of either pool that two calls in a row found empty (secmem_trim):
 * called every KEYMEM_TRIM_MS, it leaves no chunk without a slot in use behind a burst of
 * handshakes. */
void session_keymem_trim(struct session_keymem *km);

/*
 * One end of a link moves only forward, and only in session.c, each step guarded at its top
 * (docs/protocol.md section 4):
 *   initiator: NEW -> INIT_SENT_HELLO (session_write_hello) -> INIT_WAIT_ACCEPT
 *              (session_on_reply: REPLY checked, FINISH written, keys split) -> LIVE
 *              (session_on_accept: name and groups; then session_go_live)
 *   responder: NEW -> RESP_SENT_REPLY (session_on_hello) -> LIVE (session_on_finish checked
 *              FINISH and split the keys; session_go_live once ACCEPT is sent)
 * Any failure or REJECT ends the session instead (the engine closes it).
 */
enum session_state {
	SESSION_NEW = 0,             /* made by session_new(); no handshake message yet */
	SESSION_INIT_SENT_HELLO,
	SESSION_INIT_WAIT_ACCEPT,
	SESSION_RESP_SENT_REPLY,
	SESSION_LIVE,
};

struct session {
	uint32_t sid;                /* ours */
	uint32_t remote_sid;         /* theirs, once known */
	enum session_state state;
	enum noise_role role;
	uint8_t dial_class;        /* initiator: whose slots it holds (mesh_impl.h, DIAL_*) */
	bool dial_counted;         /* initiator: counted to dial_ip in the engine's dial_addrs */
	struct ipaddr dial_ip;     /* initiator: the address it dialled */
	uint32_t hs_timeout_ms;    /* how long its handshake may take (protocol section 4, "States") */
	const struct session_keymem *km;  /* where hs and tx live; NULL: sodium_malloc */
	struct noise_hs *hs;         /* until Split */
	struct noise_transport *tx;  /* from Split: the current keys */
	uint8_t hash[NOISE_HASHLEN]; /* handshake hash, for the SAS */

	/*
	 * Rekeying (docs/protocol.md section 3.3). A Noise_KK exchange inside the session makes
	 * tx_next; a frame that opens with it promotes it to tx (the old keys are wiped). The
	 * initiator's sends use tx_next from the REKEY_REPLY on (tx_next_sends), the responder's
	 * only once promoted. `chain` is the h the next exchange's prologue binds: the XX
	 * handshake hash, then the h of the last exchange promoted (chain_next until then).
	 */
	struct noise_transport *tx_next;
	bool tx_next_sends;
	uint8_t chain[NOISE_HASHLEN];
	uint8_t chain_next[NOISE_HASHLEN];
	uint8_t peer_static[NOISE_DHLEN];   /* the X25519 key the XX handshake authenticated */
	struct noise_hs *rekey_hs;       /* initiator: the exchange waiting for its REKEY_REPLY */
	uint64_t rekey_n;                /* initiator: the last attempt started; responder: the
	                                  * last REKEY answered */
	uint64_t rekey_sent_ms;          /* initiator: when the last attempt started */
	uint32_t rekey_tries;            /* initiator: attempts of the exchange under way (rekey.c) */
	uint64_t rekey_answered_ms;      /* responder: when it last answered a REKEY (rekey.c) */
	uint64_t rekey_kk_ms;            /* responder: when it last ran a REKEY's exchange, which
	                                  * succeeded or not (rekey.c) */
	uint64_t rekey_held_n;           /* responder: a REKEY that came too soon after the last,
	                                  * to answer at its time (rekey.c); 0: none */
	uint8_t rekey_held[WIRE_REKEY_NOISE];
	bool rekey_waiting;              /* initiator: that attempt has no good REPLY yet */
	uint64_t keys_ms;                /* when tx became current: LIVE, or its promotion */

	/* Transport: an initiator's frames go on the connection dialled for its sid; a
	 * responder's go back on the incoming connection its HELLO came on, which the transport
	 * names by these opaque bytes. */
	const uint8_t *rid;          /* rid_in, or rid_heap for a longer one (session_set_rid) */
	uint8_t *rid_heap;
	uint8_t rid_in[SESSION_RID_INLINE];
	size_t rid_len;
	char src_addr[48];           /* responder: peer address as the transport reports it */

	/* Who is on the other end. For an initiator, expected_id is the beacon's ID, unless
	 * expect_any (a fixed peer named by its address only: any ID its key proves); peer_id is
	 * authenticated once `authenticated` is set. */
	uint8_t expected_id[WIRE_IDLEN];
	bool expect_any;
	/* initiator: the fixed peer (mesh/fixed.c) it dials, as index + 1; 0: none. fixed_quiet:
	 * it ends without counting as that fixed peer's failure (another session does its job) */
	uint16_t fixed;
	bool fixed_quiet;
	uint8_t peer_id[WIRE_IDLEN];
	bool authenticated;
	/* The peer's name and groups: a responder has them from the initiator's hello (message
	 * 3), an initiator only from ACCEPT, which the responder sends once it has checked
	 * message 3 (protocol section 3.1); `named` says they are here. */
	bool named;
	char peer_name[WIRE_MAX_NAME + 1];
	uint64_t peer_incarnation;
	uint32_t peer_features;          /* WIRE_FEATURE_* of its payload */
	struct ipaddr peer_ip;           /* its ROUTER endpoint, from its payload */
	uint16_t peer_port;
	struct group_set hello_groups;   /* from its hello or ACCEPT, handed to the peer on LIVE */
	struct group_set sent_groups;    /* what our own hello or ACCEPT told the peer: a JOIN or
	                                  * LEAVE made during the handshake is sent on LIVE */

	uint64_t created_ms, last_rx_ms, last_tx_ms, live_ms;
	/* What /status shows (docs/usage.md, "Status"): bytes of the session's frames each way,
	 * the handshake's included (received ones once authenticated; hello_len: the HELLO's,
	 * counted once FINISH proves it), whole application messages each way, rekeys promoted. The round trip
	 * is timed only on exchanges the peer's engine answers at once (FINISH -> ACCEPT, REPLY
	 * -> FINISH, REKEY -> REKEY_REPLY, REKEY_REPLY -> first frame under new keys), never on
	 * an ACK, which may wait for the application. probe_ms: when our FINISH went (initiator);
	 * rtt_srtt_ms8: the smoothed round trip times 8 (RFC 6298's alpha of 1/8). */
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs, rekeys_done, probe_ms;
	size_t hello_len;
	uint64_t rtt_last_ms, rtt_srtt_ms8, rtt_samples;
	uint64_t tx_refused;             /* sealed frames the link refused (peer's connection gone) */
	bool evasive;
	/* Responder, live: its peer is reported (ENTER) at the initiator's first frame, which
	 * shows the initiator read our ACCEPT (protocol section 4, "Reporting the peer"). */
	bool enter_due;
	uint64_t refused_ms;             /* a sweep saw a refused frame while enter_due (timers.c) */

	/* A sealed frame that met a full socket: its counter is spent, so it is sent before
	 * anything else rather than leaving a gap the receiver would read as a lost fragment. */
	uint8_t *stall;
	size_t stall_len;

	/* The fragmented message in progress (protocol section 6): allocated for the first
	 * fragment of a message of several, freed by the sweep once it holds nothing
	 * (reasm_idle). Most sessions only ever carry messages of one frame. */
	struct reasm *rs;
};

/* A table keyed by our session ID: open addressing, linear probing, tombstone-free deletion.
 * It starts small and doubles up to cap_max, so a node with few peers sweeps few slots. */
struct session_table {
	struct session **slots;
	size_t cap;              /* power of two, load at most one half */
	size_t cap_max;          /* the table holds at most cap_max / 2 sessions */
	size_t n;
};

/* Room for at least `cap` sessions (exactly: half the power of two >= 2 * cap, min 16). */
enum mesh_err session_table_init(struct session_table *t, size_t cap);
/* Destroys every session and frees the table. */
void session_table_free(struct session_table *t);
struct session *session_table_get(const struct session_table *t, uint32_t sid);
/* Gives s a fresh random nonzero sid unique in t and stores it. MESH_ELIMIT when full. */
enum mesh_err session_table_add(struct session_table *t, struct session *s);
/* Removes s from the table (does not destroy it). */
void session_table_del(struct session_table *t, uint32_t sid);
/* Calls fn on each session; fn may not modify the table. */
void session_table_each(const struct session_table *t, void (*fn)(struct session *, void *),
                        void *arg);

/* Starts a handshake. psk NULL: Noise_XX, else Noise_XXpsk3. s_pub: our static public key
 * if the caller has it (saves an X25519 multiplication), else NULL. km: the owner's pools, or
 * NULL for a sodium_malloc per secret. */
struct session *session_new(enum noise_role role, const uint8_t *prologue, size_t plen,
                            const uint8_t s_priv[NOISE_DHLEN], const uint8_t *s_pub,
                            const uint8_t *psk, const struct session_keymem *km,
                            uint64_t now_ms);
void session_destroy(struct session **sp);
/* Keeps the transport's name of a responder's connection (1 to SESSION_MAX_RID bytes): in the
 * session when it fits SESSION_RID_INLINE, else in a copy of its own. MESH_ENOMEM, or
 * MESH_EINVAL for a length out of range. */
enum mesh_err session_set_rid(struct session *s, const uint8_t *rid, size_t len);

/* -> e (initiator). */
enum mesh_err session_write_hello(struct session *s, uint8_t *out, size_t cap, size_t *len);
/* Responder: reads msg 1 (empty payload required), writes msg 2 carrying our reply_payload
 * (wire_reply_payload_encode: nothing the beacon does not say, protocol section 3.1). */
enum mesh_err session_on_hello(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen);
/* Initiator: reads msg 2 (the responder's reply_payload), checks the peer's ID against its
 * static key and expected_id, writes msg 3 carrying our hello payload and splits. MESH_EAUTH on
 * any identity mismatch. The peer's name and groups come later, in ACCEPT. */
enum mesh_err session_on_reply(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen);
/* Responder: reads msg 3 (the initiator's hello payload), checks the ID against the static
 * key, splits. */
enum mesh_err session_on_finish(struct session *s, const uint8_t *msg, size_t len);
/* Initiator: the plaintext of the responder's ACCEPT, which carries its name and groups (the
 * whole message: wire_accept_decode). MESH_ESTATE unless we wait for ACCEPT and have none yet;
 * MESH_EMALFORMED if it does not decode. */
enum mesh_err session_on_accept(struct session *s, const uint8_t *pt, size_t len);
/* The handshake is over and, for a responder, ACCEPT is on its way: the session carries
 * application messages from now on, and its keys' age counts from now_ms. MESH_ESTATE unless
 * the keys are split and it is an initiator that has read ACCEPT or a responder whose FINISH
 * was checked. */
enum mesh_err session_go_live(struct session *s, uint64_t now_ms);
/* One round trip of an exchange answered at once, begun at sent_ms (see rtt_* above). */
void session_rtt_sample(struct session *s, uint64_t sent_ms, uint64_t now_ms);

/* Encrypts one message into a complete DATA frame (pt and frame must not overlap), under the
 * keys our sends use (tx, or tx_next once tx_next_sends). MESH_ELIMIT: too large for one frame
 * or for the buffer, and no counter spent; MESH_ESTATE: no keys yet, or the send counter is
 * exhausted (close it). */
enum mesh_err session_seal(struct session *s, const uint8_t *pt, size_t ptlen, uint8_t *frame,
                           size_t cap, size_t *flen);
/* The exact length session_seal() will produce for ptlen bytes next; 0 if it cannot seal. */
size_t session_sealed_len(const struct session *s, size_t ptlen);
/* What session_open() saw, for the engine's counters and its delivery rules. */
struct session_rx {
	bool old;        /* refused: its counter is not above the last one accepted (replayed or
	                  * reordered) under the current keys */
	bool gap;        /* opened, and frames are missing before it under its keys */
	bool promoted;   /* opened with tx_next, which replaced tx from now_ms on (a rekey is
	                  * complete on our side) */
};
/* Decrypts a DATA frame (already decoded) into pt with the current keys, or else with tx_next
 * (then promoted). MESH_EAUTH on failure or an old counter, MESH_ESTATE before Split. */
enum mesh_err session_open(struct session *s, const struct wire_frame *f, uint8_t *pt,
                           size_t cap, size_t *ptlen, uint64_t now_ms, struct session_rx *rx);

/*
 * Rekeying (docs/protocol.md section 3.3): Noise_KK_25519_ChaChaPoly_BLAKE2b between the two
 * static keys the XX handshake authenticated, prologue SESSION_REKEY_TAG || chain || n (8
 * bytes, big-endian), empty payloads. s_priv and s_pub are our static key pair (s_pub NULL:
 * derived). Every message is exactly WIRE_REKEY_NOISE bytes.
 */
#define SESSION_REKEY_TAG "meshnode rekey v1"

/* Initiator: starts attempt n = rekey_n + 1 (an attempt still in flight is dropped) and writes
 * its KK message 1 (-> e, es, ss). MESH_ESTATE: not a LIVE initiator, or new keys are still
 * pending (tx_next: the last exchange is not done both ways). */
enum mesh_err session_rekey_start(struct session *s, const uint8_t s_priv[NOISE_DHLEN],
                                  const uint8_t *s_pub, uint64_t now_ms,
                                  uint8_t out[WIRE_REKEY_NOISE], uint64_t *n);
/* Responder: REKEY n. Reads message 1, writes message 2 (<- e, ee, se) into out, and keeps the
 * new keys as tx_next (replacing any pending ones: their REKEY_REPLY was lost); our sends stay
 * on tx. MESH_ESTATE: not a LIVE responder, or n is not above the last REKEY answered;
 * MESH_EAUTH: the KK message failed (nothing changed). */
enum mesh_err session_on_rekey(struct session *s, uint64_t n, const uint8_t msg[WIRE_REKEY_NOISE],
                               const uint8_t s_priv[NOISE_DHLEN], const uint8_t *s_pub,
                               uint8_t out[WIRE_REKEY_NOISE]);
/* Initiator: REKEY_REPLY n. Completes the exchange, keeps the keys as tx_next and sends with
 * them from now on. MESH_ESTATE: no attempt waits, or it is another n (a stale reply: ignore
 * it); MESH_EAUTH: the KK message failed (the attempt is dropped; it is retried later). */
enum mesh_err session_on_rekey_reply(struct session *s, uint64_t n,
                                     const uint8_t msg[WIRE_REKEY_NOISE]);
/* Initiator: whether an attempt waits for its REKEY_REPLY. */
bool session_rekey_waiting(const struct session *s);

#endif
