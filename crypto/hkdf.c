/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * hkdf: HMAC-BLAKE2b-512 (RFC 2104 with a 128-byte block) and the Noise HKDF (spec section 4.3).
 *
 * BLAKE2b has its own keyed mode, but Noise defines HMAC-HASH as the RFC 2104 construction for
 * every hash, so keyed BLAKE2b would silently produce different keys and fail the official
 * vectors. Every padded key block, inner digest and temporary key is wiped before return.
 */
#include "hkdf.h"

#include <sodium.h>
#include <string.h>

void hkdf_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t datalen,
               uint8_t out[HKDF_HASHLEN])
{
	uint8_t block[HKDF_BLOCKLEN];
	uint8_t inner[HKDF_HASHLEN];
	crypto_generichash_state st;

	memset(block, 0, sizeof block);
	if (keylen > HKDF_BLOCKLEN)
		crypto_generichash(block, HKDF_HASHLEN, key, keylen, NULL, 0);
	else if (keylen > 0)
		memcpy(block, key, keylen);

	for (size_t i = 0; i < sizeof block; i++)
		block[i] ^= 0x36;
	crypto_generichash_init(&st, NULL, 0, HKDF_HASHLEN);
	crypto_generichash_update(&st, block, sizeof block);
	if (datalen > 0)
		crypto_generichash_update(&st, data, datalen);
	crypto_generichash_final(&st, inner, sizeof inner);

	/* 0x36 ^ 0x5c turns the inner pad into the outer one without keeping the key around */
	for (size_t i = 0; i < sizeof block; i++)
		block[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, HKDF_HASHLEN);
	crypto_generichash_update(&st, block, sizeof block);
	crypto_generichash_update(&st, inner, sizeof inner);
	crypto_generichash_final(&st, out, HKDF_HASHLEN);

	sodium_memzero(block, sizeof block);
	sodium_memzero(inner, sizeof inner);
	sodium_memzero(&st, sizeof st);
}

/*
 * ck and ikm are read only while deriving temp_key, before any output is written, so out1 may
 * be the chaining key itself (MixKey writes the new ck over the old one).
 */
int hkdf_noise(const uint8_t ck[HKDF_HASHLEN], const uint8_t *ikm, size_t ikmlen,
               uint8_t out1[HKDF_HASHLEN], uint8_t out2[HKDF_HASHLEN], uint8_t *out3)
{
	uint8_t temp_key[HKDF_HASHLEN];
	uint8_t buf[HKDF_HASHLEN + 1];
	uint8_t o1[HKDF_HASHLEN];

	if (!ck || !out1 || !out2 || (ikmlen > 0 && !ikm))
		return -1;

	hkdf_hmac(ck, HKDF_HASHLEN, ikm, ikmlen, temp_key);

	buf[0] = 0x01;
	hkdf_hmac(temp_key, sizeof temp_key, buf, 1, o1);

	memcpy(buf, o1, HKDF_HASHLEN);
	buf[HKDF_HASHLEN] = 0x02;
	hkdf_hmac(temp_key, sizeof temp_key, buf, sizeof buf, out2);

	if (out3) {
		memcpy(buf, out2, HKDF_HASHLEN);
		buf[HKDF_HASHLEN] = 0x03;
		hkdf_hmac(temp_key, sizeof temp_key, buf, sizeof buf, out3);
	}
	memcpy(out1, o1, HKDF_HASHLEN);

	sodium_memzero(temp_key, sizeof temp_key);
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(o1, sizeof o1);
	return 0;
}
