/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * noise: the Noise Protocol Framework (revision 34) for DH 25519, cipher ChaChaPoly and hash
 * BLAKE2b, on libsodium primitives. The handshake is an interpreter over pattern tables (tokens
 * e, s, ee, es, se, ss, psk), so XX and XXpsk3 -- the two patterns the mesh uses -- are data, and
 * so are the other interactive and one-way patterns the official vectors exercise.
 *
 * Every function returns 0 or -1 and never says why a decryption failed: only an attacker gains
 * from that. A handshake that fails once is terminal; every later call returns -1.
 *
 * Secrets: struct noise_hs lives in sodium_malloc'd memory (or, through noise_hs_init(), in
 * locked memory the caller provides) and is wiped by noise_hs_destroy() or noise_hs_wipe().
 * A struct noise_transport holds link keys: callers keep it in locked memory (the mesh session
 * keeps it in a slot of crypto/secmem.h, locked, its chunk guarded) and call
 * noise_transport_wipe() when done.
 */
#ifndef MESH_CRYPTO_NOISE_H
#define MESH_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN 32
#define NOISE_KEYLEN 32
#define NOISE_HASHLEN 64
#define NOISE_BLOCKLEN 128
#define NOISE_TAGLEN 16
#define NOISE_PSKLEN 32
#define NOISE_MAX_MSG 65535u            /* spec section 3: every Noise message */
#define NOISE_MAX_PROTOCOL_NAME 255
#define NOISE_NONCE_MAX UINT64_MAX      /* reserved by the spec (section 5.1): never used */

/* CipherState (spec section 5.1). n is the next nonce of the implicit-nonce API. */
struct noise_cipher {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
};

void noise_cipher_init(struct noise_cipher *cs, const uint8_t k[NOISE_KEYLEN]);
/* EncryptWithAd / DecryptWithAd with the implicit counter; without a key they copy through.
 * out needs ptlen + NOISE_TAGLEN (ctlen - NOISE_TAGLEN for decrypt); out may not alias in. */
int noise_cipher_encrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap, size_t *outlen);
int noise_cipher_decrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *ct, size_t ctlen, uint8_t *out, size_t cap, size_t *outlen);
/* The same with an explicit nonce; n == NOISE_NONCE_MAX is refused. Does not touch cs->n. */
int noise_cipher_encrypt_at(const struct noise_cipher *cs, uint64_t n, const uint8_t *ad,
                            size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out,
                            size_t cap, size_t *outlen);
int noise_cipher_decrypt_at(const struct noise_cipher *cs, uint64_t n, const uint8_t *ad,
                            size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out,
                            size_t cap, size_t *outlen);
/* Rekey (spec section 4.2): k = first 32 bytes of ENCRYPT(k, 2^64-1, zero, zeros[32]). */
int noise_cipher_rekey(struct noise_cipher *cs);
void noise_cipher_wipe(struct noise_cipher *cs);

/*
 * Transport with explicit nonces: the sender's counter travels in the frame, so a lost frame
 * never desynchronises the link. The receiver accepts only counters greater than the last one it
 * accepted (a replayed or reordered frame fails). Counters start at 0 on each side.
 */
struct noise_transport {
	struct noise_cipher send;
	struct noise_cipher recv;
	uint64_t send_next;      /* next counter to use on send */
	uint64_t recv_last;      /* last accepted counter; meaningful once recv_any */
	bool recv_any;
};

/* Encrypts pt with the next counter, stored in *counter. Refuses once the counter is exhausted. */
int noise_transport_seal(struct noise_transport *t, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap,
                         size_t *outlen, uint64_t *counter);
/* The counter the next seal will use: 0, or -1 once exhausted or without a key. */
int noise_transport_next_counter(const struct noise_transport *t, uint64_t *counter);
/* Decrypts a frame carrying `counter`; only on success does recv_last move. */
int noise_transport_open(struct noise_transport *t, uint64_t counter, const uint8_t *ad,
                         size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out,
                         size_t cap, size_t *outlen);
void noise_transport_wipe(struct noise_transport *t);
/* The two keys of t, for an opt-in key log (docs/usage.md, "Key log") and for nothing else:
 * send seals the frames we send, recv opens those we receive. -1 unless both are set. The
 * caller wipes both buffers. */
int noise_transport_keys(const struct noise_transport *t, uint8_t send[NOISE_KEYLEN],
                         uint8_t recv[NOISE_KEYLEN]);

/* HandshakeState (spec section 5.3). */
enum noise_role { NOISE_INITIATOR = 0, NOISE_RESPONDER = 1 };

struct noise_hs;

/*
 * protocol_name: e.g. "Noise_XX_25519_ChaChaPoly_BLAKE2b" or "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b".
 * s_priv: our X25519 static private key (NULL when the pattern needs none).
 * rs: the remote static public key when the pattern pre-shares it (NULL otherwise).
 * psk: needed exactly when the name has a pskN modifier.
 * Returns NULL on an unknown or unsupported name, missing keys, or out of memory.
 */
struct noise_hs *noise_hs_new(const char *protocol_name, enum noise_role role,
                              const uint8_t *prologue, size_t prologue_len,
                              const uint8_t *s_priv, const uint8_t *rs, const uint8_t *psk);
/* Wipes the state (and frees it if noise_hs_new made it); *hsp = NULL; NULL is fine. */
void noise_hs_destroy(struct noise_hs **hsp);

/*
 * For callers that run many handshakes with one static key (a node linking to N peers):
 * - the state lives in mem, noise_hs_size() bytes of the caller's own locked memory (a
 *   secmem slot), aligned for any type, instead of a sodium_malloc per handshake;
 * - s_pub, if not NULL, is our static public key, derived once by the caller from s_priv,
 *   instead of an X25519 multiplication per handshake. It must belong to s_priv: a wrong one
 *   only makes the peer's checks fail.
 * Otherwise as noise_hs_new. Release with noise_hs_wipe() (or noise_hs_destroy(), which then
 * only wipes); mem stays the caller's to free.
 */
size_t noise_hs_size(void);
struct noise_hs *noise_hs_init(void *mem, size_t memlen, const char *protocol_name,
                               enum noise_role role, const uint8_t *prologue,
                               size_t prologue_len, const uint8_t *s_priv,
                               const uint8_t *s_pub, const uint8_t *rs, const uint8_t *psk);
void noise_hs_wipe(struct noise_hs *hs);

/* True when it is our turn to write the next handshake message. */
bool noise_hs_my_turn(const struct noise_hs *hs);
/* True once every handshake message has been processed (then call split). */
bool noise_hs_done(const struct noise_hs *hs);
/* True once a call has failed: the handshake is terminal. */
bool noise_hs_failed(const struct noise_hs *hs);

/* WriteMessage: out gets at most NOISE_MAX_MSG bytes. */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len,
                   uint8_t *out, size_t cap, size_t *outlen);
/* ReadMessage: runs on a scratch copy, committed only if every check passed; any failure makes
 * the handshake terminal. */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t msg_len,
                  uint8_t *payload, size_t cap, size_t *payload_len);

/* Split: fills t oriented for our role (initiator sends with the first key). Only when done. */
int noise_hs_split(struct noise_hs *hs, struct noise_transport *t);
/* The handshake hash h (channel binding); valid once done. */
int noise_hs_hash(const struct noise_hs *hs, uint8_t out[NOISE_HASHLEN]);
/* The remote static key, once the handshake has received (or pre-shared) it. */
int noise_hs_remote_static(const struct noise_hs *hs, uint8_t out[NOISE_DHLEN]);

#ifdef NOISE_TEST_HOOKS
/* Test-only (built into mn_crypto_testhooks, never into mn_crypto): the next `e` token uses this
 * fixed private key instead of a fresh one. Only for the official vectors. */
int noise_hs_test_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DHLEN]);
#endif

#endif
