/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_dialaddr: mesh/dialaddr.c, the initiated handshakes in progress per destination
 * address (docs/protocol.md section 4, "Dial slots"). Counts go up and down per address, a
 * row is freed at zero (so the rows are never more than the addresses with a dial in
 * progress), a full table refuses to count a new address (the engine then dials uncounted)
 * but still counts the addresses it holds, and the rows that move when one is freed keep
 * their counts.
 */
#include "dialaddr.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>

static void ip_of(unsigned i, struct ipaddr *ip)
{
	*ip = IPADDR_V4(10, 7, (uint8_t)(i >> 8), (uint8_t)i);
}

static void test_counts(void)
{
	static struct dialaddr d;
	memset(&d, 0, sizeof d);
	const struct ipaddr *a = &IPADDR_V4(10, 0, 0, 2), *b = &IPADDR_V4(10, 0, 0, 3),
	                    *c = &IPADDR_V4(10, 0, 0, 4);
	CHECK(dialaddr_count(&d, a) == 0 && dialaddr_total(&d) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(dialaddr_add(&d, a));
	CHECK(dialaddr_add(&d, b));
	CHECK(dialaddr_add(&d, c));
	CHECK(dialaddr_count(&d, a) == 3 && dialaddr_count(&d, b) == 1 &&
	      dialaddr_count(&d, c) == 1 && dialaddr_total(&d) == 5 && d.used == 3);
	/* a's row freed first: c's moves into it and keeps its count */
	for (int i = 0; i < 3; i++)
		dialaddr_remove(&d, a);
	CHECK(dialaddr_count(&d, a) == 0 && d.used == 2 && dialaddr_count(&d, c) == 1 &&
	      dialaddr_count(&d, b) == 1);
	dialaddr_remove(&d, c);      /* the last row */
	dialaddr_remove(&d, b);
	CHECK(d.used == 0 && dialaddr_total(&d) == 0);
	printf("  ok   counts per address go up and down, rows freed at zero\n");
}

static void test_full(void)
{
	static struct dialaddr d;
	memset(&d, 0, sizeof d);
	struct ipaddr ip;
	for (unsigned i = 0; i < DIALADDR_MAX; i++) {
		ip_of(i, &ip);
		CHECK(dialaddr_add(&d, &ip));
	}
	ip_of(DIALADDR_MAX, &ip);
	CHECK(!dialaddr_add(&d, &ip));          /* no row for a new address: not counted */
	CHECK(dialaddr_count(&d, &ip) == 0 && dialaddr_total(&d) == DIALADDR_MAX);
	ip_of(5, &ip);
	CHECK(dialaddr_add(&d, &ip) && dialaddr_count(&d, &ip) == 2);   /* one it holds: counted */
	dialaddr_remove(&d, &ip);
	dialaddr_remove(&d, &ip);               /* a row free again */
	ip_of(DIALADDR_MAX, &ip);
	CHECK(dialaddr_add(&d, &ip) && dialaddr_count(&d, &ip) == 1);
	/* every other address kept its count through the moves */
	unsigned ones = 0;
	for (unsigned i = 0; i <= DIALADDR_MAX; i++) {
		ip_of(i, &ip);
		ones += dialaddr_count(&d, &ip) == 1;
	}
	CHECK(ones == DIALADDR_MAX && dialaddr_total(&d) == DIALADDR_MAX);
	for (unsigned i = 0; i <= DIALADDR_MAX; i++) {
		ip_of(i, &ip);
		if (dialaddr_count(&d, &ip))
			dialaddr_remove(&d, &ip);
	}
	CHECK(d.used == 0 && dialaddr_total(&d) == 0);
	printf("  ok   a full table counts the addresses it holds and refuses a new one\n");
}

int main(void)
{
	test_counts();
	test_full();
	return testlib_done("test_dialaddr");
}
