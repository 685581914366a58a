/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* fuzz_rng: see fuzz_rng.h. */
#include "fuzz_rng.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static struct {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint64_t nonce;
	bool installed;
} rng;

static const char *rng_name(void)
{
	return "fuzz";
}

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

void fuzz_rng_seed(uint64_t seed)
{
	memset(rng.key, 0, sizeof rng.key);
	memcpy(rng.key, &seed, sizeof seed);
	memcpy(rng.key + 8, "meshnode-fuzz", 13);
	rng.nonce = 0;
	if (!rng.installed) {
		randombytes_set_implementation(&rng_impl);
		if (sodium_init() < 0) {
			fprintf(stderr, "fuzz_rng: sodium_init failed\n");
			abort();
		}
		rng.installed = true;
	}
}
