/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keys: a node's identity and what people compare. One Ed25519 key pair per node: its public
 * key is the node ID (signs beacons), and its X25519 form is the Noise static key, so a peer's
 * claimed ID can be checked against the key Noise authenticated.
 *
 * struct keys_identity lives in sodium_malloc'd memory; keys_identity_destroy() wipes it.
 * File storage is not here (crypto/ does no I/O): see node/keyfile.h.
 */
#ifndef MESH_CRYPTO_KEYS_H
#define MESH_CRYPTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_SEEDLEN 32
#define KEYS_IDLEN 32          /* Ed25519 public key = node ID */
#define KEYS_SIGLEN 64
#define KEYS_XLEN 32           /* X25519 key */
#define KEYS_FPR_LEN 40        /* fingerprint text, NUL included: see docs/crypto.md */
#define KEYS_SAS_LEN 32        /* short authentication string, NUL included */
#define KEYS_HEXID_LEN (2 * KEYS_IDLEN + 1)

struct keys_identity {
	uint8_t id[KEYS_IDLEN];            /* Ed25519 public key */
	uint8_t ed_sk[64];                 /* Ed25519 secret key (seed || pk, libsodium layout) */
	uint8_t x_pk[KEYS_XLEN];           /* X25519 public key (Noise static) */
	uint8_t x_sk[KEYS_XLEN];           /* X25519 private key */
};

/* Fresh random identity; NULL on out of memory. */
struct keys_identity *keys_identity_generate(void);
/* Deterministic identity from a 32-byte seed (the key file stores the seed). */
struct keys_identity *keys_identity_from_seed(const uint8_t seed[KEYS_SEEDLEN]);
/* Copies the seed out of an identity (for storage); the caller wipes it. */
void keys_identity_seed(const struct keys_identity *k, uint8_t seed[KEYS_SEEDLEN]);
void keys_identity_destroy(struct keys_identity **kp);

/* Node ID -> X25519 static key. -1 if the ID is not a valid Ed25519 point. */
int keys_id_to_x25519(const uint8_t id[KEYS_IDLEN], uint8_t x_pk[KEYS_XLEN]);
/* 0 if the claimed node ID converts to exactly the authenticated static key (constant time). */
int keys_id_matches_static(const uint8_t id[KEYS_IDLEN], const uint8_t x_pk[KEYS_XLEN]);

int keys_sign(const struct keys_identity *k, const uint8_t *msg, size_t len,
              uint8_t sig[KEYS_SIGLEN]);
int keys_verify(const uint8_t id[KEYS_IDLEN], const uint8_t *msg, size_t len,
                const uint8_t sig[KEYS_SIGLEN]);

/* Lowercase hex of a node ID (64 chars + NUL). */
void keys_id_hex(const uint8_t id[KEYS_IDLEN], char out[KEYS_HEXID_LEN]);
/* Parses 64 hex chars exactly; -1 otherwise. */
int keys_id_from_hex(const char *hex, uint8_t id[KEYS_IDLEN]);

/* Human fingerprint of a public key, for display and pinning (docs/crypto.md). */
void keys_fingerprint(const uint8_t id[KEYS_IDLEN], char out[KEYS_FPR_LEN]);
/* Short authentication string from a handshake hash: both ends of a link show the same
 * string, a man in the middle cannot make them match (docs/crypto.md). */
void keys_sas(const uint8_t hash[64], char out[KEYS_SAS_LEN]);

#endif
