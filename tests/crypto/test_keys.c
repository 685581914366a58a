/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* test_keys: crypto/keys.c. Known answers come from RFC 8032 (test 1) and from the derivations in
 * docs/crypto.md, recomputed independently; every happy check has a hostile twin (flipped bits,
 * malformed hex). Nothing secret is printed: a failing check shows only its expression. */
#include "keys.h"
#include "testlib.h"

#include <ctype.h>
#include <string.h>

#include <sodium.h>

/* RFC 8032, section 7.1, TEST 1 (empty message). */
static const char RFC_SEED[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char RFC_PK[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char RFC_SIG[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
                              "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/* docs/crypto.md: fingerprint of RFC_PK, and SAS of the hash 00 01 02 .. 3f. */
static const char KAT_FPR[] = "t56d-okz6-6ip5-ljoa-i34y-jpc6-c5et-tjgh";
static const char KAT_SAS[] = "52946 44693 51222 49944 70947";

static void test_seed(void)
{
	uint8_t seed[KEYS_SEEDLEN], pk[KEYS_IDLEN], sig[KEYS_SIGLEN], want_sig[KEYS_SIGLEN];
	uint8_t out[KEYS_SEEDLEN];
	CHECK(testlib_unhex(RFC_SEED, seed, sizeof seed) == KEYS_SEEDLEN);
	CHECK(testlib_unhex(RFC_PK, pk, sizeof pk) == KEYS_IDLEN);
	CHECK(testlib_unhex(RFC_SIG, want_sig, sizeof want_sig) == KEYS_SIGLEN);

	struct keys_identity *a = keys_identity_from_seed(seed);
	struct keys_identity *b = keys_identity_from_seed(seed);
	CHECK(a && b);
	if (!a || !b)
		goto done;
	CHECK(memcmp(a->id, pk, KEYS_IDLEN) == 0);
	CHECK(memcmp(a->ed_sk, b->ed_sk, sizeof a->ed_sk) == 0);
	CHECK(memcmp(a->x_sk, b->x_sk, KEYS_XLEN) == 0);
	CHECK(memcmp(a->x_pk, b->x_pk, KEYS_XLEN) == 0);
	keys_identity_seed(a, out);
	CHECK(memcmp(out, seed, sizeof seed) == 0);
	CHECK(keys_sign(a, NULL, 0, sig) == 0);
	CHECK(memcmp(sig, want_sig, sizeof sig) == 0);
	CHECK(keys_verify(pk, NULL, 0, sig) == 0);

	/* A different seed gives a different identity. */
	seed[0] ^= 1;
	keys_identity_destroy(&b);
	b = keys_identity_from_seed(seed);
	CHECK(b && memcmp(a->id, b->id, KEYS_IDLEN) != 0);
done:
	keys_identity_destroy(&a);
	keys_identity_destroy(&b);
	CHECK(a == NULL && b == NULL);
	keys_identity_destroy(&a);      /* NULL is fine */
	keys_identity_destroy(NULL);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(out, sizeof out);
}

static void test_x25519(void)
{
	for (int i = 0; i < 16; i++) {
		struct keys_identity *k = keys_identity_generate();
		uint8_t x_pk[KEYS_XLEN], from_sk[KEYS_XLEN];
		CHECK(k != NULL);
		if (!k)
			return;
		/* The ID converts onto the very key the Noise DH uses. */
		CHECK(keys_id_to_x25519(k->id, x_pk) == 0);
		CHECK(crypto_scalarmult_base(from_sk, k->x_sk) == 0);
		CHECK(memcmp(x_pk, from_sk, KEYS_XLEN) == 0);
		CHECK(memcmp(x_pk, k->x_pk, KEYS_XLEN) == 0);
		CHECK(keys_id_matches_static(k->id, k->x_pk) == 0);

		/* Hostile: a static key differing in any bit, or another node's key. */
		for (size_t j = 0; j < KEYS_XLEN; j++) {
			x_pk[j] ^= 0x80;
			CHECK(keys_id_matches_static(k->id, x_pk) != 0);
			x_pk[j] ^= 0x81;
			CHECK(keys_id_matches_static(k->id, x_pk) != 0);
			x_pk[j] ^= 0x01;
		}
		struct keys_identity *other = keys_identity_generate();
		CHECK(other && keys_id_matches_static(other->id, k->x_pk) != 0);
		CHECK(other && keys_id_matches_static(k->id, other->x_pk) != 0);
		/* checked pairs are remembered (keys.c): a hit must still need both keys exact */
		CHECK(other && keys_id_matches_static(other->id, other->x_pk) == 0);
		CHECK(keys_id_matches_static(k->id, k->x_pk) == 0);
		CHECK(other && keys_id_matches_static(other->id, k->x_pk) != 0);
		CHECK(other && keys_id_matches_static(k->id, other->x_pk) != 0);
		keys_identity_destroy(&other);
		keys_identity_destroy(&k);
	}

	/* IDs that are not usable Ed25519 points: identity element (small order), and a y that
	 * is not on the curve. */
	uint8_t bad[KEYS_IDLEN] = { 1 }, x[KEYS_XLEN], zero[KEYS_XLEN] = { 0 };
	CHECK(keys_id_to_x25519(bad, x) != 0);
	CHECK(keys_id_matches_static(bad, zero) != 0);
	memset(bad, 0, sizeof bad);
	bad[0] = 2;
	CHECK(keys_id_to_x25519(bad, x) != 0);
}

static void test_sign(void)
{
	struct keys_identity *k = keys_identity_generate();
	uint8_t msg[100], sig[KEYS_SIGLEN];
	CHECK(k != NULL);
	if (!k)
		return;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	CHECK(keys_sign(k, msg, sizeof msg, sig) == 0);
	CHECK(keys_verify(k->id, msg, sizeof msg, sig) == 0);

	/* Every bit of the signature and of the message matters. */
	int sig_ok = 0, msg_ok = 0;
	for (size_t i = 0; i < sizeof sig; i++)
		for (int b = 0; b < 8; b++) {
			sig[i] ^= (uint8_t)(1u << b);
			sig_ok += keys_verify(k->id, msg, sizeof msg, sig) == 0;
			sig[i] ^= (uint8_t)(1u << b);
		}
	for (size_t i = 0; i < sizeof msg; i++)
		for (int b = 0; b < 8; b++) {
			msg[i] ^= (uint8_t)(1u << b);
			msg_ok += keys_verify(k->id, msg, sizeof msg, sig) == 0;
			msg[i] ^= (uint8_t)(1u << b);
		}
	CHECK(sig_ok == 0);
	CHECK(msg_ok == 0);
	CHECK(keys_verify(k->id, msg, sizeof msg - 1, sig) != 0);
	CHECK(keys_verify(k->id, msg, sizeof msg, sig) == 0);

	struct keys_identity *other = keys_identity_generate();
	CHECK(other && keys_verify(other->id, msg, sizeof msg, sig) != 0);
	keys_identity_destroy(&other);
	keys_identity_destroy(&k);
}

static void test_hex(void)
{
	uint8_t id[KEYS_IDLEN], back[KEYS_IDLEN], keep[KEYS_IDLEN];
	char hex[KEYS_HEXID_LEN], buf[80];
	randombytes_buf(id, sizeof id);
	keys_id_hex(id, hex);
	CHECK(strlen(hex) == 2 * KEYS_IDLEN);
	int lower = 1;
	for (size_t i = 0; hex[i]; i++)
		lower &= isdigit((unsigned char)hex[i]) || (hex[i] >= 'a' && hex[i] <= 'f');
	CHECK(lower);
	CHECK(keys_id_from_hex(hex, back) == 0);
	CHECK(memcmp(id, back, sizeof id) == 0);

	uint8_t pk[KEYS_IDLEN];
	CHECK(testlib_unhex(RFC_PK, pk, sizeof pk) == KEYS_IDLEN);
	keys_id_hex(pk, hex);
	CHECK(strcmp(hex, RFC_PK) == 0);

	/* Hostile: wrong lengths and stray characters leave the output untouched. */
	memset(keep, 0xa5, sizeof keep);
	memcpy(back, keep, sizeof back);
	memcpy(buf, RFC_PK, 63);
	buf[63] = '\0';
	CHECK(keys_id_from_hex(buf, back) != 0);                /* 63 chars */
	memcpy(buf, RFC_PK, 64);
	buf[64] = '0';
	buf[65] = '\0';
	CHECK(keys_id_from_hex(buf, back) != 0);                /* 65 chars */
	buf[64] = '\n';
	CHECK(keys_id_from_hex(buf, back) != 0);                /* trailing newline */
	CHECK(keys_id_from_hex("", back) != 0);
	CHECK(keys_id_from_hex(NULL, back) != 0);
	for (size_t i = 0; i < 64; i++) {
		static const char junk[] = { 'g', ' ', 'x', ':', '\n', '-' };
		for (size_t j = 0; j < sizeof junk; j++) {
			memcpy(buf, RFC_PK, 65);
			buf[i] = junk[j];
			CHECK(keys_id_from_hex(buf, back) != 0);
		}
	}
	CHECK(memcmp(back, keep, sizeof back) == 0);
	/* Upper case is still hex. */
	memcpy(buf, RFC_PK, 65);
	for (size_t i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	CHECK(keys_id_from_hex(buf, back) == 0 && memcmp(back, pk, sizeof pk) == 0);
}

static int fpr_well_formed(const char *f)
{
	if (strlen(f) != KEYS_FPR_LEN - 1)
		return 0;
	for (size_t i = 0; f[i]; i++) {
		if (i % 5 == 4) {
			if (f[i] != '-')
				return 0;
		} else if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '2' && f[i] <= '7'))) {
			return 0;
		}
	}
	return 1;
}

static void test_fingerprint(void)
{
	uint8_t pk[KEYS_IDLEN];
	char a[KEYS_FPR_LEN], b[KEYS_FPR_LEN];
	CHECK(testlib_unhex(RFC_PK, pk, sizeof pk) == KEYS_IDLEN);
	memset(a, 'Z', sizeof a);
	keys_fingerprint(pk, a);
	CHECK(strcmp(a, KAT_FPR) == 0);
	CHECK(fpr_well_formed(a));
	keys_fingerprint(pk, b);
	CHECK(strcmp(a, b) == 0);

	/* Any change to the key changes the fingerprint. */
	int same = 0, bad_form = 0;
	for (size_t i = 0; i < KEYS_IDLEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			pk[i] ^= (uint8_t)(1u << bit);
			keys_fingerprint(pk, b);
			same += strcmp(a, b) == 0;
			bad_form += !fpr_well_formed(b);
			pk[i] ^= (uint8_t)(1u << bit);
		}
	CHECK(same == 0);
	CHECK(bad_form == 0);
}

static int sas_well_formed(const char *s)
{
	if (strlen(s) != 29)
		return 0;
	for (size_t i = 0; s[i]; i++)
		if (i % 6 == 5 ? s[i] != ' ' : !isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static void test_sas(void)
{
	uint8_t h[64];
	char a[KEYS_SAS_LEN], b[KEYS_SAS_LEN];
	for (size_t i = 0; i < sizeof h; i++)
		h[i] = (uint8_t)i;
	keys_sas(h, a);
	CHECK(strcmp(a, KAT_SAS) == 0);
	CHECK(sas_well_formed(a));
	keys_sas(h, b);
	CHECK(strcmp(a, b) == 0);

	int same = 0, bad_form = 0;
	for (size_t i = 0; i < sizeof h; i++)
		for (int bit = 0; bit < 8; bit++) {
			h[i] ^= (uint8_t)(1u << bit);
			keys_sas(h, b);
			same += strcmp(a, b) == 0;
			bad_form += !sas_well_formed(b);
			h[i] ^= (uint8_t)(1u << bit);
		}
	CHECK(same == 0);
	CHECK(bad_form == 0);

	/* Random hashes keep the format, leading zeros included. */
	for (int i = 0; i < 256; i++) {
		randombytes_buf(h, sizeof h);
		keys_sas(h, b);
		bad_form += !sas_well_formed(b);
	}
	CHECK(bad_form == 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_seed();
	test_x25519();
	test_sign();
	test_hex();
	test_fingerprint();
	test_sas();
	return testlib_done("test_keys");
}
