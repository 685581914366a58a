/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * session: one end of one Noise XX link (docs/protocol.md sections 3 and 4) and the table that
 * finds it by our session ID in O(1). A session knows nothing of sockets: the mesh engine hands
 * it bytes and sends what it returns. Keys live in locked memory (the owner's pools, or
 * sodium_malloc) and are wiped by session_destroy().
 *
 * Invariants: sid != 0 and unique in its table; state only moves forward
 * (INIT_SENT_HELLO -> INIT_WAIT_ACCEPT -> LIVE, RESP_SENT_REPLY -> LIVE); `tx` is non-NULL
 * exactly from Split on; the peer's ID is trusted only once `authenticated` is set.
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

/*
 * One end of a link moves only forward, and only in session.c, each step guarded at its top
 * (docs/protocol.md section 4):
 *   initiator: NEW -> INIT_SENT_HELLO (session_write_hello) -> INIT_WAIT_ACCEPT
 *              (session_on_reply: REPLY checked, FINISH written, keys split) -> LIVE
 *              (session_go_live, on ACCEPT)
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
	const struct session_keymem *km;  /* where hs and tx live; NULL: sodium_malloc */
	struct noise_hs *hs;         /* until Split */
	struct noise_transport *tx;  /* from Split */
	uint8_t hash[NOISE_HASHLEN]; /* handshake hash, for the SAS */

	/* Transport: an initiator's frames go on the connection dialled for its sid; a
	 * responder's go back on the incoming connection its HELLO came on, which the transport
	 * names by these opaque bytes. */
	uint8_t rid[SESSION_MAX_RID];
	size_t rid_len;
	char src_addr[48];           /* responder: peer address as the transport reports it */

	/* Who is on the other end. For an initiator, expected_id is the beacon's ID; peer_id is
	 * authenticated once `authenticated` is set. */
	uint8_t expected_id[WIRE_IDLEN];
	uint8_t peer_id[WIRE_IDLEN];
	bool authenticated;
	char peer_name[WIRE_MAX_NAME + 1];
	uint64_t peer_incarnation;
	uint32_t peer_features;          /* WIRE_FEATURE_* of its hello */
	uint8_t peer_ip[4];              /* its ROUTER endpoint, from the hello */
	uint16_t peer_port;
	struct group_set hello_groups;   /* from the hello payload, handed to the peer on LIVE */
	struct group_set sent_groups;    /* what our own hello told the peer: a JOIN or LEAVE
	                                  * made during the handshake is sent on LIVE */

	uint64_t created_ms, last_rx_ms, last_tx_ms, live_ms;
	bool evasive;

	/* A sealed frame that met a full socket: its counter is spent, so it is sent before
	 * anything else rather than leaving a gap the receiver would read as a lost fragment. */
	uint8_t *stall;
	size_t stall_len;

	struct reasm rs;             /* the fragmented message in progress (protocol section 6) */
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

/* -> e (initiator). */
enum mesh_err session_write_hello(struct session *s, uint8_t *out, size_t cap, size_t *len);
/* Responder: reads msg 1 (empty payload required), writes msg 2 carrying our hello payload. */
enum mesh_err session_on_hello(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen);
/* Initiator: reads msg 2, checks the peer's ID against its static key and expected_id, writes
 * msg 3 carrying our payload and splits. MESH_EAUTH on any identity mismatch. */
enum mesh_err session_on_reply(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen);
/* Responder: reads msg 3, checks the ID against the static key, splits. */
enum mesh_err session_on_finish(struct session *s, const uint8_t *msg, size_t len);
/* The handshake is over and, for a responder, ACCEPT is on its way: the session carries
 * application messages from now on. MESH_ESTATE unless the keys are split and it is an
 * initiator waiting for ACCEPT or a responder whose FINISH was checked. */
enum mesh_err session_go_live(struct session *s);

/* Encrypts one message into a complete DATA frame (pt and frame must not overlap). MESH_ELIMIT:
 * too large for one frame or for the buffer, and no counter spent; MESH_ESTATE: no keys yet, or
 * the send counter is exhausted (close it). */
enum mesh_err session_seal(struct session *s, const uint8_t *pt, size_t ptlen, uint8_t *frame,
                           size_t cap, size_t *flen);
/* The exact length session_seal() will produce for ptlen bytes next; 0 if it cannot seal. */
size_t session_sealed_len(const struct session *s, size_t ptlen);
/* Decrypts a DATA frame (already decoded) into pt; MESH_EAUTH on failure or old counter. */
enum mesh_err session_open(struct session *s, const struct wire_frame *f, uint8_t *pt,
                           size_t cap, size_t *ptlen);

#endif
