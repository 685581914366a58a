/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* seedrng: see seedrng.h. */
#include "seedrng.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

static struct {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint64_t nonce;
	bool installed;
} rng;

static const char *rng_name(void)
{
	return "seedrng";
}

/* Each draw is the start of a stream of its own (the draw's number is the nonce). */
static void rng_buf(void *const buf, const size_t size)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };
	memcpy(nonce, &rng.nonce, sizeof rng.nonce);
	rng.nonce++;
	crypto_stream_chacha20(buf, size, nonce, rng.key);
}

static uint32_t rng_random(void)
{
	uint32_t v;
	rng_buf(&v, sizeof v);
	return v;
}

static void rng_stir(void)
{
}

static int rng_close(void)
{
	return 0;
}

static struct randombytes_implementation rng_impl = {
	.implementation_name = rng_name, .random = rng_random, .stir = rng_stir,
	.uniform = NULL, .buf = rng_buf, .close = rng_close,
};

void seedrng_seed(uint64_t seed, const char *label)
{
	size_t llen = strlen(label);
	if (llen > sizeof rng.key - sizeof seed)
		llen = sizeof rng.key - sizeof seed;
	memset(rng.key, 0, sizeof rng.key);
	memcpy(rng.key, &seed, sizeof seed);
	memcpy(rng.key + sizeof seed, label, llen);
	rng.nonce = 0;
	if (!rng.installed) {
		randombytes_set_implementation(&rng_impl);
		rng.installed = true;
	}
}
