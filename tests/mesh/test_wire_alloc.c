/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_wire_alloc: what one decode costs the allocator. Every beacon and frame that reaches
 * a node is decoded, a flood's included, so a decode must take one small block, not the two
 * of 8 KiB that msgpack_unpack_next takes (under AddressSanitizer, whose quarantine hands out
 * fresh memory for each, a beacon flood then cost the nodes so many page faults that a fresh
 * node took over 2 s to link: meshsim_attack_floods). Allocations are counted by interposing
 * malloc and friends over glibc's, or under AddressSanitizer by its malloc hook. The counter
 * is checked first on a malloc of our own, so the test shows that it sees allocations (under
 * valgrind, which replaces malloc itself, it sees none, and that first check says so).
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"
#include "testlib.h"

static bool counting;
static size_t blocks, bytes;

static void note(size_t n)
{
	if (counting) {
		blocks++;
		bytes += n;
	}
}

#ifdef TESTLIB_ASAN
/* sanitizer/allocator_interface.h, which gcc does not install: the runtime has it */
int __sanitizer_install_malloc_and_free_hooks(void (*on_malloc)(const volatile void *, size_t),
                                              void (*on_free)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	note(n);
}

static void on_free(const volatile void *p)
{
	(void)p;
}

static void count_setup(void)
{
	CHECK(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0);
}
#else
/* glibc's own entry points, which ours pass every call on to */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t k, size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
	note(n);
	return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
	note(k * n);
	return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
	note(n);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

static void count_setup(void)
{
}
#endif

static void count_start(void)
{
	blocks = bytes = 0;
	counting = true;
}

/* Stops counting and checks what was counted since count_start(). */
static void count_check(const char *what, size_t max_blocks, size_t max_bytes)
{
	counting = false;
	if (blocks > max_blocks || bytes > max_bytes)
		fprintf(stderr, "%s: %zu blocks, %zu bytes (at most %zu and %zu)\n", what, blocks,
		        bytes, max_blocks, max_bytes);
	CHECK(blocks <= max_blocks);
	CHECK(bytes <= max_bytes);
}

/* The counter sees a malloc of ours: without this, "no allocation" would prove nothing. */
static void test_counter_sees(void)
{
	count_start();
	void *volatile p = malloc(100);
	counting = false;
	CHECK(p != NULL);
	CHECK(blocks == 1);
	CHECK(bytes == 100);
	free(p);
}

static void test_beacon(void)
{
	const struct ipaddr ip = IPADDR_V4(192, 168, 1, 2);
	struct wire_beacon_body b, c;
	struct wire_beacon wb;
	uint8_t body[WIRE_MAX_BEACON], outer[WIRE_MAX_BEACON];
	size_t blen, olen;

	memset(&b, 0, sizeof b);     /* padding too: the decoded struct is compared whole */
	memset(b.node_id, 0xaa, WIRE_IDLEN);
	b.ip = ip;
	b.port = 47474;
	b.counter = 1700000000000ull;
	b.incarnation = 5;
	CHECK(wire_beacon_body_encode(&b, body, sizeof body, &blen) == MESH_OK);
	CHECK(wire_beacon_encode(false, body, blen, outer, sizeof outer, &olen) == MESH_OK);

	count_start();
	CHECK(wire_beacon_decode(outer, olen, &wb) == MESH_OK);
	count_check("beacon", 1, 512);
	count_start();
	CHECK(wire_beacon_body_decode(body, blen, &c) == MESH_OK);
	count_check("beacon body", 1, 512);
	CHECK(memcmp(&b, &c, sizeof b) == 0);
}

static void test_data(void)
{
	static uint8_t ct[64 + 16], out[WIRE_MAX_FRAME];
	struct wire_frame f = { WIRE_DATA, 0x12345678, 0, 42, ct, sizeof ct }, g;
	size_t len;

	CHECK(wire_frame_encode(&f, out, sizeof out, &len) == MESH_OK);
	count_start();
	CHECK(wire_frame_decode(out, len, &g) == MESH_OK);
	count_check("DATA frame", 1, 512);
	CHECK(g.type == WIRE_DATA && g.rx_sid == f.rx_sid && g.counter == 42 &&
	      g.body_len == sizeof ct);
}

/* Malformed input is refused by the walk, before anything is allocated. */
static void test_malformed(void)
{
	static const uint8_t bad[] = { 0x94, 0xa8, 'm', 'e', 's', 'h' };   /* truncated */
	struct wire_beacon wb;

	count_start();
	CHECK(wire_beacon_decode(bad, sizeof bad, &wb) == MESH_EMALFORMED);
	count_check("malformed beacon", 0, 0);
}

int main(void)
{
	count_setup();
	test_counter_sees();
	test_beacon();
	test_data();
	test_malformed();
	return testlib_done("test_wire_alloc");
}
