/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_crypto: the crypto primitives' ceilings on one core, through the same libsodium
 * calls the product makes (see meshbench_limits.h).
 *
 * Runs loop in batches that double until one batch takes a millisecond, so the clock is read
 * rarely, and every result is folded into a volatile sink so that no call can be dropped as
 * dead code.
 */
#include "meshbench_limits.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "monoclock.h"

/* loops read the clock once per batch, and grow a batch until it lasts this long */
#define LIMITS_BATCH_S 1e-3

static volatile uint8_t sink;

static int sodium_ready(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "limits: sodium_init failed\n");
		return -1;
	}
	return 0;
}

/* Runs op in batches for about `seconds`; operations per second, or -1 if op failed once. */
static double time_loop(int (*op)(void *), void *arg, double seconds)
{
	long n = 0, batch = 1;
	double t0 = monoclock_s(), t = t0, prev;
	do {
		for (long i = 0; i < batch; i++)
			if (op(arg) != 0)
				return -1;
		n += batch;
		prev = t;
		t = monoclock_s();
		if (t - prev < LIMITS_BATCH_S && batch < LONG_MAX / 4)
			batch *= 2;
	} while (t - t0 < seconds);
	return t > t0 ? (double)n / (t - t0) : -1;
}

/* A short untimed run first (a tenth of the time, at most 50 ms) so that caches, the branch
 * predictor and the CPU clock have settled before we count. */
static double ops_per_s(int (*op)(void *), void *arg, double seconds)
{
	double warm = seconds / 10 < 0.05 ? seconds / 10 : 0.05;
	if (sodium_ready() != 0)
		return -1;
	if (time_loop(op, arg, warm) < 0)
		return -1;
	return time_loop(op, arg, seconds);
}

static double us_per_op(int (*op)(void *), void *arg, double seconds)
{
	double r = ops_per_s(op, arg, seconds);
	return r > 0 ? 1e6 / r : -1;
}

struct aead {
	uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint64_t counter;
	uint8_t *pt, *ct;
	size_t size;
};

/* a counter nonce as a transport cipher uses it: each encryption is a fresh one */
static int aead_encrypt(void *arg)
{
	struct aead *a = arg;
	unsigned long long clen;
	uint64_t c = a->counter++;
	for (int i = 0; i < 8; i++)
		a->nonce[4 + i] = (uint8_t)(c >> (8 * i));
	crypto_aead_chacha20poly1305_ietf_encrypt(a->ct, &clen, a->pt, a->size, NULL, 0, NULL,
	                                          a->nonce, a->key);
	sink ^= a->ct[clen - 1];
	return 0;
}

static int aead_decrypt(void *arg)
{
	struct aead *a = arg;
	unsigned long long mlen;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(a->pt, &mlen, NULL, a->ct,
	                                              a->size + crypto_aead_chacha20poly1305_ietf_ABYTES,
	                                              NULL, 0, a->nonce, a->key) != 0 ||
	    mlen != a->size) {
		fprintf(stderr, "limits: decryption failed\n");
		return -1;
	}
	sink ^= a->pt[0];
	return 0;
}

static double aead_rate(size_t size, double seconds, int decrypt)
{
	struct aead a = { .size = size };
	uint8_t *ref = NULL;
	double r = -1;
	if (size > SIZE_MAX - crypto_aead_chacha20poly1305_ietf_ABYTES - 1 || sodium_ready() != 0)
		return -1;
	a.pt = malloc(size + 1);
	a.ct = malloc(size + crypto_aead_chacha20poly1305_ietf_ABYTES);
	ref = malloc(size + 1);
	if (!a.pt || !a.ct || !ref) {
		fprintf(stderr, "limits: out of memory\n");
		goto done;
	}
	crypto_aead_chacha20poly1305_ietf_keygen(a.key);
	randombytes_buf(a.pt, size + 1);
	memcpy(ref, a.pt, size + 1);
	if (!decrypt) {
		r = ops_per_s(aead_encrypt, &a, seconds);
		goto done;
	}
	/* one ciphertext, opened again and again: the nonce stays that of the encryption */
	(void)aead_encrypt(&a);
	memset(a.pt, 0, size + 1);
	r = ops_per_s(aead_decrypt, &a, seconds);
	if (r > 0 && memcmp(a.pt, ref, size) != 0) {
		fprintf(stderr, "limits: decryption gave the wrong plaintext\n");
		r = -1;
	}
done:
	sodium_memzero(a.key, sizeof a.key);
	if (a.pt)
		sodium_memzero(a.pt, size + 1);
	if (ref)
		sodium_memzero(ref, size + 1);
	free(a.pt);
	free(a.ct);
	free(ref);
	return r;
}

double limits_aead_encrypt_rate(size_t size, double seconds)
{
	return aead_rate(size, seconds, 0);
}

double limits_aead_decrypt_rate(size_t size, double seconds)
{
	return aead_rate(size, seconds, 1);
}

struct keys {
	uint8_t x_sk[crypto_scalarmult_SCALARBYTES], x_pk[crypto_scalarmult_BYTES];
	uint8_t ed_sk[crypto_sign_SECRETKEYBYTES], ed_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t msg[64], sig[crypto_sign_BYTES];
	uint8_t out[64];
};

static int keys_init(struct keys *k)
{
	if (sodium_ready() != 0)
		return -1;
	crypto_box_keypair(k->x_pk, k->x_sk);
	crypto_sign_keypair(k->ed_pk, k->ed_sk);
	randombytes_buf(k->msg, sizeof k->msg);
	crypto_sign_detached(k->sig, NULL, k->msg, sizeof k->msg, k->ed_sk);
	return 0;
}

static double keys_run(int (*op)(void *), double seconds)
{
	struct keys k;
	double us = -1;
	if (keys_init(&k) == 0)
		us = us_per_op(op, &k, seconds);
	sodium_memzero(&k, sizeof k);
	return us;
}

static int op_x25519(void *arg)
{
	struct keys *k = arg;
	if (crypto_scalarmult(k->out, k->x_sk, k->x_pk) != 0) {
		fprintf(stderr, "limits: crypto_scalarmult failed\n");
		return -1;
	}
	sink ^= k->out[0];
	return 0;
}

static int op_x25519_base(void *arg)
{
	struct keys *k = arg;
	if (crypto_scalarmult_base(k->out, k->x_sk) != 0) {
		fprintf(stderr, "limits: crypto_scalarmult_base failed\n");
		return -1;
	}
	sink ^= k->out[0];
	return 0;
}

static int op_sign(void *arg)
{
	struct keys *k = arg;
	crypto_sign_detached(k->out, NULL, k->msg, sizeof k->msg, k->ed_sk);
	sink ^= k->out[0];
	return 0;
}

static int op_verify(void *arg)
{
	struct keys *k = arg;
	if (crypto_sign_verify_detached(k->sig, k->msg, sizeof k->msg, k->ed_pk) != 0) {
		fprintf(stderr, "limits: signature did not verify\n");
		return -1;
	}
	sink ^= k->sig[0];
	return 0;
}

static int op_ed_to_x(void *arg)
{
	struct keys *k = arg;
	if (crypto_sign_ed25519_pk_to_curve25519(k->out, k->ed_pk) != 0) {
		fprintf(stderr, "limits: crypto_sign_ed25519_pk_to_curve25519 failed\n");
		return -1;
	}
	sink ^= k->out[0];
	return 0;
}

double limits_x25519_us(double seconds)
{
	return keys_run(op_x25519, seconds);
}

double limits_x25519_base_us(double seconds)
{
	return keys_run(op_x25519_base, seconds);
}

double limits_ed25519_sign_us(double seconds)
{
	return keys_run(op_sign, seconds);
}

double limits_ed25519_verify_us(double seconds)
{
	return keys_run(op_verify, seconds);
}

double limits_ed25519_to_x25519_us(double seconds)
{
	return keys_run(op_ed_to_x, seconds);
}

struct hash {
	const uint8_t *in;
	size_t size;
	uint8_t out[32];
};

static int op_blake2b(void *arg)
{
	struct hash *h = arg;
	if (crypto_generichash(h->out, sizeof h->out, h->in, h->size, NULL, 0) != 0) {
		fprintf(stderr, "limits: crypto_generichash failed\n");
		return -1;
	}
	sink ^= h->out[0];
	return 0;
}

double limits_blake2b_us(size_t size, double seconds)
{
	struct hash h = { .size = size };
	uint8_t *in;
	double us;
	if (sodium_ready() != 0)
		return -1;
	if (!(in = malloc(size ? size : 1))) {
		fprintf(stderr, "limits: out of memory\n");
		return -1;
	}
	randombytes_buf(in, size);
	h.in = in;
	us = us_per_op(op_blake2b, &h, seconds);
	free(in);
	return us;
}
