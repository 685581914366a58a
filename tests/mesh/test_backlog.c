/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_backlog: mesh/backlog.c, the beacons held for a check when tokens return. No socket.
 * - one entry per node ID: a newer beacon of a held ID takes its entry and keeps its place in
 *   line, an older or equal one leaves it as it was;
 * - the oldest is the one held first, whatever was replaced since;
 * - a full table refuses a new ID, and takes it again once one entry is gone;
 * - expiry drops the entries not held or replaced since the time given, and only those;
 * - a beacon longer than an entry holds is refused.
 */
#include "backlog.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>

static struct backlog bl;

static struct backlog_entry entry(unsigned id, uint64_t counter, uint8_t fill)
{
	struct backlog_entry e = { .counter = counter, .len = 100 };
	memset(e.id, 0, sizeof e.id);
	e.id[0] = (uint8_t)(id >> 8);
	e.id[1] = (uint8_t)id;
	memset(e.blob, fill, e.len);
	return e;
}

static const struct backlog_entry *get(unsigned id)
{
	struct backlog_entry k = entry(id, 0, 0);
	for (size_t i = 0; i < bl.n; i++)
		if (memcmp(bl.e[i].id, k.id, WIRE_IDLEN) == 0)
			return &bl.e[i];
	return NULL;
}

static void test_one_per_id(void)
{
	memset(&bl, 0, sizeof bl);
	struct backlog_entry a = entry(1, 10, 0xa1), b = entry(2, 10, 0xb1);
	bool ok = backlog_put(&bl, &a, 100) && backlog_put(&bl, &b, 200);
	ok &= bl.n == 2 && backlog_oldest(&bl) == get(1);
	/* newer: its bytes, the first one's place */
	a = entry(1, 11, 0xa2);
	ok &= backlog_put(&bl, &a, 300);
	ok &= bl.n == 2 && get(1)->blob[0] == 0xa2 && get(1)->held_ms == 100 &&
	      get(1)->last_ms == 300 && backlog_oldest(&bl) == get(1);
	/* as old or older: nothing changes */
	a = entry(1, 11, 0xa3);
	ok &= backlog_put(&bl, &a, 400);
	a = entry(1, 5, 0xa4);
	ok &= backlog_put(&bl, &a, 400);
	ok &= get(1)->blob[0] == 0xa2 && get(1)->last_ms == 300;
	backlog_del(&bl, get(1)->id);
	ok &= bl.n == 1 && get(1) == NULL && backlog_oldest(&bl) == get(2);
	backlog_del(&bl, b.id);
	backlog_del(&bl, b.id);                 /* not held: nothing */
	ok &= bl.n == 0 && backlog_oldest(&bl) == NULL;
	struct backlog_entry big = entry(3, 1, 0);
	big.len = sizeof big.blob + 1;
	ok &= !backlog_put(&bl, &big, 500) && bl.n == 0;
	CHECK(ok);
	printf("  %s one entry per ID, a newer beacon replaces it in place, oldest first, an "
	       "oversize one refused\n", ok ? "ok  " : "FAIL");
}

static void test_full(void)
{
	memset(&bl, 0, sizeof bl);
	bool all = true;
	for (unsigned i = 0; i < BACKLOG_SLOTS; i++) {
		struct backlog_entry e = entry(i, 1, (uint8_t)i);
		all &= backlog_put(&bl, &e, 1000 + i);
	}
	struct backlog_entry more = entry(BACKLOG_SLOTS, 1, 0);
	bool refused = !backlog_put(&bl, &more, 5000);
	/* a held ID is still replaced when full */
	struct backlog_entry again = entry(7, 2, 0x77);
	bool replaced = backlog_put(&bl, &again, 5000) && get(7)->blob[0] == 0x77;
	backlog_del(&bl, get(0)->id);
	bool taken = backlog_put(&bl, &more, 5001) && get(BACKLOG_SLOTS) != NULL;
	bool ok = all && refused && replaced && taken && bl.n == BACKLOG_SLOTS &&
	          backlog_oldest(&bl) == get(1);
	CHECK(ok);
	printf("  %s %d held: a new ID refused, a held one replaced, a new one taken once one is "
	       "gone\n", ok ? "ok  " : "FAIL", BACKLOG_SLOTS);
}

static void test_expire(void)
{
	memset(&bl, 0, sizeof bl);
	for (unsigned i = 0; i < 10; i++) {
		struct backlog_entry e = entry(i, 1, 0);
		CHECK(backlog_put(&bl, &e, 100 * i));
	}
	struct backlog_entry e = entry(2, 2, 0);
	CHECK(backlog_put(&bl, &e, 2000));      /* replaced late: stays */
	size_t gone = backlog_expire(&bl, 500); /* 0..4 last held before 500, but 2 */
	bool ok = gone == 4 && bl.n == 6 && get(2) && !get(0) && !get(1) && !get(3) && !get(4) &&
	          get(5) && get(9) && backlog_oldest(&bl) == get(2);
	CHECK(ok);
	CHECK(backlog_expire(&bl, 500) == 0);
	CHECK(backlog_expire(&bl, 3000) == 6 && bl.n == 0);
	printf("  %s expiry drops what was not held or replaced since, and only that\n",
	       ok ? "ok  " : "FAIL");
}

int main(void)
{
	test_one_per_id();
	test_full();
	test_expire();
	return testlib_done("test_backlog");
}
