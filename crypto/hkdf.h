/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * hkdf: HMAC (RFC 2104) over unkeyed BLAKE2b-512 with a 128-byte block, and the Noise HKDF
 * (spec section 4.3) built on it. libsodium has no HMAC-BLAKE2b, and keyed BLAKE2b is a
 * different function: the official vectors only pass with the RFC 2104 construction.
 */
#ifndef MESH_CRYPTO_HKDF_H
#define MESH_CRYPTO_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define HKDF_HASHLEN 64
#define HKDF_BLOCKLEN 128

/* HMAC-BLAKE2b-512; key may be any length (longer than a block is hashed first). */
void hkdf_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t datalen,
               uint8_t out[HKDF_HASHLEN]);

/* Noise HKDF(chaining_key, ikm, num_outputs) with num_outputs 2 or 3; out3 NULL for 2.
 * Returns 0, or -1 if num_outputs is out of range. Intermediate keys are wiped. */
int hkdf_noise(const uint8_t ck[HKDF_HASHLEN], const uint8_t *ikm, size_t ikmlen,
               uint8_t out1[HKDF_HASHLEN], uint8_t out2[HKDF_HASHLEN], uint8_t *out3);

#endif
