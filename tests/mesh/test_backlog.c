/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_backlog: mesh/backlog.c, the beacons held for a check when tokens return. No socket.
 * - one entry per node ID: a newer beacon of a held ID takes its entry and keeps its place in
 *   line, an older or equal one leaves it as it was, and each outcome says which;
 * - the oldest is the one held first, whatever was replaced since, of all or of those a
 *   filter accepts;
 * - a full table refuses a new ID, and takes it again once one entry is gone;
 * - expiry drops the entries not held or replaced since the time given, and only those; so
 *   does the drop of one interface's entries, and a verified beacon as new drops its ID's;
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

static bool odd_only(void *arg, const struct backlog_entry *e)
{
	(void)arg;
	return e->id[1] % 2 == 1;
}

static void test_one_per_id(void)
{
	memset(&bl, 0, sizeof bl);
	struct backlog_entry a = entry(1, 10, 0xa1), b = entry(2, 10, 0xb1);
	bool ok = backlog_put(&bl, &a, 100) == BACKLOG_NEW && backlog_put(&bl, &b, 200) == BACKLOG_NEW;
	ok &= bl.n == 2 && backlog_oldest(&bl, NULL, NULL) == get(1);
	/* newer: its bytes, the first one's place */
	a = entry(1, 11, 0xa2);
	ok &= backlog_put(&bl, &a, 300) == BACKLOG_REPLACED;
	ok &= bl.n == 2 && get(1)->blob[0] == 0xa2 && get(1)->held_ms == 100 &&
	      get(1)->last_ms == 300 && backlog_oldest(&bl, NULL, NULL) == get(1);
	/* as old or older: nothing changes */
	a = entry(1, 11, 0xa3);
	ok &= backlog_put(&bl, &a, 400) == BACKLOG_KEPT;
	a = entry(1, 5, 0xa4);
	ok &= backlog_put(&bl, &a, 400) == BACKLOG_KEPT;
	ok &= get(1)->blob[0] == 0xa2 && get(1)->last_ms == 300;
	/* the oldest of those the filter takes */
	ok &= backlog_oldest(&bl, odd_only, NULL) == get(1);
	struct backlog_entry c = entry(4, 1, 0);
	ok &= backlog_put(&bl, &c, 50) == BACKLOG_NEW;   /* held earliest, but even */
	ok &= backlog_oldest(&bl, NULL, NULL) == get(4) && backlog_oldest(&bl, odd_only, NULL) == get(1);
	backlog_del(&bl, c.id);
	backlog_del(&bl, get(1)->id);
	ok &= bl.n == 1 && get(1) == NULL && backlog_oldest(&bl, NULL, NULL) == get(2);
	ok &= backlog_oldest(&bl, odd_only, NULL) == NULL;
	backlog_del(&bl, b.id);
	backlog_del(&bl, b.id);                 /* not held: nothing */
	ok &= bl.n == 0 && backlog_oldest(&bl, NULL, NULL) == NULL;
	struct backlog_entry big = entry(3, 1, 0);
	big.len = sizeof big.blob + 1;
	ok &= backlog_put(&bl, &big, 500) == BACKLOG_FULL && bl.n == 0;
	CHECK(ok);
	printf("  %s one entry per ID, a newer beacon replaces it in place, oldest first (of a "
	       "filter's too), an oversize one refused\n", ok ? "ok  " : "FAIL");
}

static void test_full(void)
{
	memset(&bl, 0, sizeof bl);
	bool all = true;
	for (unsigned i = 0; i < BACKLOG_SLOTS; i++) {
		struct backlog_entry e = entry(i, 1, (uint8_t)i);
		all &= backlog_put(&bl, &e, 1000 + i) == BACKLOG_NEW;
	}
	struct backlog_entry more = entry(BACKLOG_SLOTS, 1, 0);
	bool refused = backlog_put(&bl, &more, 5000) == BACKLOG_FULL;
	/* a held ID is still replaced when full */
	struct backlog_entry again = entry(7, 2, 0x77);
	bool replaced = backlog_put(&bl, &again, 5000) == BACKLOG_REPLACED &&
	                get(7)->blob[0] == 0x77;
	backlog_del(&bl, get(0)->id);
	bool taken = backlog_put(&bl, &more, 5001) == BACKLOG_NEW && get(BACKLOG_SLOTS) != NULL;
	bool ok = all && refused && replaced && taken && bl.n == BACKLOG_SLOTS &&
	          backlog_oldest(&bl, NULL, NULL) == get(1);
	CHECK(ok);
	printf("  %s %d held: a new ID refused, a held one replaced, a new one taken once one is "
	       "gone\n", ok ? "ok  " : "FAIL", BACKLOG_SLOTS);
}

static void test_expire(void)
{
	memset(&bl, 0, sizeof bl);
	for (unsigned i = 0; i < 10; i++) {
		struct backlog_entry e = entry(i, 1, 0);
		e.tag = (uint8_t)(i < 8 ? 1 : 2);
		CHECK(backlog_put(&bl, &e, 100 * i) == BACKLOG_NEW);
	}
	struct backlog_entry e = entry(2, 2, 0);
	e.tag = 1;
	CHECK(backlog_put(&bl, &e, 2000) == BACKLOG_REPLACED);   /* replaced late: stays */
	size_t gone = backlog_expire(&bl, 500); /* 0..4 last held before 500, but 2 */
	bool ok = gone == 4 && bl.n == 6 && get(2) && !get(0) && !get(1) && !get(3) && !get(4) &&
	          get(5) && get(9) && backlog_oldest(&bl, NULL, NULL) == get(2);
	ok &= backlog_expire(&bl, 500) == 0;
	/* a verified beacon as new as the held one, or newer, drops it; an older one does not */
	backlog_superseded(&bl, get(5)->id, 0);
	ok &= get(5) != NULL;
	backlog_superseded(&bl, get(5)->id, 1);
	ok &= get(5) == NULL && bl.n == 5;
	/* the interface of tag 2 is gone: 8 and 9 */
	ok &= backlog_drop_tag(&bl, 2) == 2 && !get(8) && !get(9) && bl.n == 3;
	ok &= backlog_drop_tag(&bl, 3) == 0;
	ok &= backlog_expire(&bl, 3000) == 3 && bl.n == 0;
	CHECK(ok);
	printf("  %s expiry, a verified beacon as new, and a gone interface drop what they say, and "
	       "only that\n", ok ? "ok  " : "FAIL");
}

int main(void)
{
	test_one_per_id();
	test_full();
	test_expire();
	return testlib_done("test_backlog");
}
