/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keys: the node identity (one Ed25519 key pair), its X25519 form for Noise, and the two strings
 * people compare: the fingerprint of a node ID and the SAS of a handshake (docs/crypto.md).
 *
 * Invariant: in every struct keys_identity, x_pk is the X25519 public key of x_sk, and it equals
 * keys_id_to_x25519(id). That is what lets keys_id_matches_static() tie a claimed node ID to the
 * static key Noise authenticated.
 */
#include "keys.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

/* Domain strings: the same hash must never serve two purposes (docs/crypto.md). */
static const char FPR_DOMAIN[] = "meshnode fingerprint v1";
static const char SAS_DOMAIN[] = "meshnode sas v1";

#define FPR_BYTES 20        /* 160 bits: 32 base32 characters, 8 groups of 4 */
#define FPR_GROUP 4
#define SAS_GROUPS 5        /* 5 x 5 decimal digits, about 83 bits */
#define SAS_GROUP_MOD 100000u
#define FPR_CHARS (FPR_BYTES * 8 / 5)
#define SAS_CHARS (SAS_GROUPS * 6 - 1)

_Static_assert(FPR_BYTES * 8 % 5 == 0, "base32 without padding needs whole 5-bit groups");
_Static_assert(FPR_CHARS + FPR_CHARS / FPR_GROUP - 1 < KEYS_FPR_LEN, "fingerprint fits");
_Static_assert(SAS_CHARS < KEYS_SAS_LEN, "SAS fits");
_Static_assert(SAS_GROUPS * 8 <= 64, "each SAS group takes 8 bytes of BLAKE2b-512");

struct keys_identity *keys_identity_from_seed(const uint8_t seed[KEYS_SEEDLEN])
{
	/* sodium_malloc needs an initialised library; sodium_init() is idempotent and cheap. */
	if (sodium_init() < 0)
		return NULL;
	/* sodium_malloc carries on when mlock fails (memlock limit): the guard pages and the
	 * wipe on free still hold, only swap-out protection is lost. */
	struct keys_identity *k = sodium_malloc(sizeof *k);
	if (!k)
		return NULL;
	if (crypto_sign_seed_keypair(k->id, k->ed_sk, seed) != 0)
		goto fail;
	if (crypto_sign_ed25519_sk_to_curve25519(k->x_sk, k->ed_sk) != 0)
		goto fail;
	/* Derive x_pk from x_sk, as the Noise DH will, rather than from the ID: the test checks
	 * that the ID maps onto it, which is the invariant peers rely on. */
	if (crypto_scalarmult_base(k->x_pk, k->x_sk) != 0)
		goto fail;
	return k;
fail:
	keys_identity_destroy(&k);
	return NULL;
}

struct keys_identity *keys_identity_generate(void)
{
	uint8_t seed[KEYS_SEEDLEN];
	struct keys_identity *k = NULL;
	if (sodium_init() < 0)
		goto done;
	randombytes_buf(seed, sizeof seed);
	k = keys_identity_from_seed(seed);
done:
	sodium_memzero(seed, sizeof seed);
	return k;
}

void keys_identity_seed(const struct keys_identity *k, uint8_t seed[KEYS_SEEDLEN])
{
	assert(k);
	/* libsodium's Ed25519 secret key is seed || public key. */
	memcpy(seed, k->ed_sk, KEYS_SEEDLEN);
}

void keys_identity_destroy(struct keys_identity **kp)
{
	if (!kp || !*kp)
		return;
	/* sodium_free wipes the whole allocation before releasing it. */
	sodium_free(*kp);
	*kp = NULL;
}

int keys_id_to_x25519(const uint8_t id[KEYS_IDLEN], uint8_t x_pk[KEYS_XLEN])
{
	/* libsodium refuses small-order and non-canonical points and points outside the main
	 * subgroup, so a peer cannot claim an ID that maps onto a weak static key. */
	return crypto_sign_ed25519_pk_to_curve25519(x_pk, id) == 0 ? 0 : -1;
}

/* Checked pairs (ID, X25519 key), so that the conversion (which includes a subgroup check,
 * about the cost of one more scalar multiplication) runs once per peer, not once per
 * handshake. Public values only; one table per thread, so nodes on different threads never
 * share one. An entry is written only after the check passed, whole, and is found only by an
 * exact match of both keys, so a wrong entry can never make a mismatch pass. */
#define MATCH_CACHE 64

struct match_entry {
	uint8_t id[KEYS_IDLEN];
	uint8_t x_pk[KEYS_XLEN];
	bool used;
};

static _Thread_local struct match_entry match_cache[MATCH_CACHE];

int keys_id_matches_static(const uint8_t id[KEYS_IDLEN], const uint8_t x_pk[KEYS_XLEN])
{
	struct match_entry *e = &match_cache[(id[0] | (unsigned)id[1] << 8) % MATCH_CACHE];
	if (e->used && memcmp(e->id, id, KEYS_IDLEN) == 0 &&
	    sodium_memcmp(e->x_pk, x_pk, KEYS_XLEN) == 0)
		return 0;
	uint8_t derived[KEYS_XLEN];
	int rc = -1;
	if (keys_id_to_x25519(id, derived) != 0)
		goto done;
	if (sodium_memcmp(derived, x_pk, KEYS_XLEN) != 0)
		goto done;
	memcpy(e->id, id, KEYS_IDLEN);
	memcpy(e->x_pk, x_pk, KEYS_XLEN);
	e->used = true;
	rc = 0;
done:
	sodium_memzero(derived, sizeof derived);
	return rc;
}

int keys_sign(const struct keys_identity *k, const uint8_t *msg, size_t len,
              uint8_t sig[KEYS_SIGLEN])
{
	assert(k);
	return crypto_sign_detached(sig, NULL, msg, len, k->ed_sk) == 0 ? 0 : -1;
}

int keys_verify(const uint8_t id[KEYS_IDLEN], const uint8_t *msg, size_t len,
                const uint8_t sig[KEYS_SIGLEN])
{
	return crypto_sign_verify_detached(sig, msg, len, id) == 0 ? 0 : -1;
}

void keys_id_hex(const uint8_t id[KEYS_IDLEN], char out[KEYS_HEXID_LEN])
{
	sodium_bin2hex(out, KEYS_HEXID_LEN, id, KEYS_IDLEN);
}

int keys_id_from_hex(const char *hex, uint8_t id[KEYS_IDLEN])
{
	uint8_t tmp[KEYS_IDLEN];
	size_t binlen = 0;
	const char *end = NULL;
	/* strnlen stops at 65, so an overlong string is refused without reading all of it. */
	if (!hex || strnlen(hex, 2 * KEYS_IDLEN + 1) != 2 * KEYS_IDLEN)
		return -1;
	/* With hex_end set, sodium_hex2bin stops at the first non-hex character instead of
	 * failing: the end pointer tells whether all 64 characters were consumed. Decoding into
	 * tmp leaves id untouched on failure. */
	if (sodium_hex2bin(tmp, sizeof tmp, hex, 2 * KEYS_IDLEN, NULL, &binlen, &end) != 0 ||
	    binlen != KEYS_IDLEN || end != hex + 2 * KEYS_IDLEN)
		return -1;
	memcpy(id, tmp, KEYS_IDLEN);
	return 0;
}

/* RFC 4648 base32, lowercase, no padding; n * 8 must be a multiple of 5 (20 bytes: 32 chars). */
static void base32(const uint8_t *in, size_t n, char *out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xfffu;    /* at most 12 live bits */
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alphabet[(acc >> bits) & 31u];
		}
	}
	out[o] = '\0';
}

void keys_fingerprint(const uint8_t id[KEYS_IDLEN], char out[KEYS_FPR_LEN])
{
	crypto_generichash_state st;
	uint8_t digest[32];
	char b32[FPR_CHARS + 1];
	size_t o = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof digest);
	crypto_generichash_update(&st, (const uint8_t *)FPR_DOMAIN, sizeof FPR_DOMAIN - 1);
	crypto_generichash_update(&st, id, KEYS_IDLEN);
	crypto_generichash_final(&st, digest, sizeof digest);
	base32(digest, FPR_BYTES, b32);

	for (size_t i = 0; b32[i] != '\0'; i++) {
		if (i > 0 && i % FPR_GROUP == 0)
			out[o++] = '-';
		out[o++] = b32[i];
	}
	out[o] = '\0';
}

void keys_sas(const uint8_t hash[64], char out[KEYS_SAS_LEN])
{
	crypto_generichash_state st;
	uint8_t digest[64];
	size_t o = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof digest);
	crypto_generichash_update(&st, (const uint8_t *)SAS_DOMAIN, sizeof SAS_DOMAIN - 1);
	crypto_generichash_update(&st, hash, 64);
	crypto_generichash_final(&st, digest, sizeof digest);

	for (size_t g = 0; g < SAS_GROUPS; g++) {
		/* A 64-bit value reduced mod 10^5: the bias is below 2^-47, far too small to help
		 * an attacker who must match the whole string. */
		uint64_t v = 0;
		for (size_t i = 0; i < 8; i++)
			v = v << 8 | digest[8 * g + i];
		unsigned d = (unsigned)(v % SAS_GROUP_MOD);
		if (g > 0)
			out[o++] = ' ';
		for (size_t i = 5; i-- > 0; d /= 10)
			out[o + i] = (char)('0' + d % 10);
		o += 5;
	}
	out[o] = '\0';
}
