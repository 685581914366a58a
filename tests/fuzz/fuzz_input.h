/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_input: how the structured fuzz targets read their input, one field after another. Past
 * the end every read gives zeros (or fewer bytes), so any input is a whole script: a short one
 * is a long one with zeros after it.
 */
#ifndef MESH_TESTS_FUZZ_INPUT_H
#define MESH_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t in_u8(struct in *c)
{
	if (c->left == 0)
		return 0;
	c->left--;
	return *c->p++;
}

/* An unsigned integer of `bytes` bytes, big-endian. */
static inline uint64_t in_uint(struct in *c, size_t bytes)
{
	uint64_t v = 0;
	for (size_t i = 0; i < bytes; i++)
		v = v << 8 | in_u8(c);
	return v;
}

/* Up to n bytes (fewer at the end of the input). */
static inline const uint8_t *in_bytes(struct in *c, size_t n, size_t *got)
{
	const uint8_t *p = c->p;
	*got = n < c->left ? n : c->left;
	c->p += *got;
	c->left -= *got;
	return p;
}

/* A chunk: a 16-bit length, then that many bytes (or what is left). */
static inline const uint8_t *in_chunk(struct in *c, size_t *got)
{
	return in_bytes(c, (size_t)in_uint(c, 2), got);
}

#endif
