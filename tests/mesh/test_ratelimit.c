/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_ratelimit: mesh/ratelimit.c, the HELLO token bucket per source address (docs/protocol.md
 * section 4), with no socket and a clock the table sets.
 *
 * Each scenario starts from an empty table and runs its steps in order. A step sends `tries`
 * HELLOs from one address at one time and says how many must pass. A step with `span` > 0
 * stands for `span` steps, from the addresses addr followed by i, at times t + i (i from 0): a
 * crowd of sources, to fill the table.
 */
#include "ratelimit.h"
#include "testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BURST ((unsigned)RATELIMIT_BURST)
#define MS_PER_TOKEN ((uint64_t)(1000.0 / RATELIMIT_PER_SEC))   /* 50 ms */
/* 69 characters, past the 47 a slot keeps; its first 47 are LONG_ADDR_CUT */
#define LONG_ADDR "fe80:0000:0000:0000:0000:0000:0000:0001%some-long-interface-name-here"
#define LONG_ADDR_CUT "fe80:0000:0000:0000:0000:0000:0000:0001%some-lo"

struct step {
	const char *addr;
	uint64_t t;
	unsigned tries;
	unsigned allowed;
	unsigned span;
};

struct scenario {
	const char *name;
	struct step steps[12];
};

static const struct scenario scenarios[] = {
	{ "burst: a new source may send a full burst at once, then nothing",
	  { { "10.0.0.1", 1000, BURST + 5, BURST, 0 } } },
	{ "burst: one HELLO at a time, the 41st at the same instant is refused",
	  { { "10.0.0.1", 1000, BURST, BURST, 0 }, { "10.0.0.1", 1000, 1, 0, 0 } } },
	{ "refill: one token per 50 ms, and not before",
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.0.1", 1000 + MS_PER_TOKEN, 3, 1, 0 },
	    { "10.0.0.1", 1000 + 3 * MS_PER_TOKEN, 3, 2, 0 },
	    { "10.0.0.1", 1000 + 3 * MS_PER_TOKEN + 1, 1, 0, 0 } } },
	{ "refill: never past the burst, however long the source was quiet",
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.0.1", 4000, BURST + 10, BURST, 0 },             /* 3 s: 60 tokens' worth */
	    { "10.0.0.1", 4000 + 3600 * 1000, BURST + 10, BURST, 0 } } },
	{ "sources do not share a bucket",
	  { { "10.0.0.1", 1000, BURST + 1, BURST, 0 },
	    { "10.0.0.2", 1000, BURST + 1, BURST, 0 },
	    { "10.0.0.1", 1000, 1, 0, 0 },
	    { "10.0.0.10", 1000, 1, 1, 0 } } },
	{ "eviction: a full table gives a new source the slot of the oldest",
	  /* .1 empties its bucket; 63 others fill the table; a 65th source takes the slot of .1,
	   * the least recent; so .1 comes back as a new source with a full burst */
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.1.", 1001, 1, 1, RATELIMIT_SLOTS - 1 },
	    { "10.0.2.1", 1001 + RATELIMIT_SLOTS, 1, 1, 0 },
	    { "10.0.0.1", 1001 + RATELIMIT_SLOTS, BURST + 1, BURST, 0 } } },
	{ "eviction: the least recently heard goes, not the first one in",
	  /* .1 empties its bucket first, but is heard again after the crowd filled the table:
	   * the new source takes the crowd's first slot, and .1 keeps its nearly empty bucket */
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.1.", 1001, 1, 1, RATELIMIT_SLOTS - 1 },
	    { "10.0.0.1", 1000 + RATELIMIT_SLOTS, 2, 1, 0 },    /* 64 ms: 1.28 tokens */
	    { "10.0.2.1", 1001 + RATELIMIT_SLOTS, 1, 1, 0 },
	    { "10.0.0.1", 1001 + RATELIMIT_SLOTS, 1, 0, 0 } } },
	{ "eviction: a flood of new sources leaves the latest ones their buckets",
	  { { "172.16.1.", 1000, 2, 2, 1000 },
	    /* the last of the flood, 1 ms later: 38 tokens and a fiftieth */
	    { "172.16.1.999", 2000, BURST, BURST - 2, 0 } } },
	{ "huge gap: the clock jumps to the end of time",
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.0.1", UINT64_MAX, BURST + 1, BURST, 0 },
	    { "10.0.0.1", UINT64_MAX, 1, 0, 0 } } },
	{ "huge gap: a source first heard at the end of time",
	  { { "10.0.0.1", UINT64_MAX - 1, BURST + 1, BURST, 0 } } },
	{ "clock backwards: a step back refills nothing",
	  { { "10.0.0.1", 100000, BURST, BURST, 0 },
	    { "10.0.0.1", 50000, 3, 0, 0 },
	    { "10.0.0.1", 0, 3, 0, 0 },
	    /* ... and time counts on from the new reading */
	    { "10.0.0.1", 2 * MS_PER_TOKEN, 3, 2, 0 } } },
	{ "clock backwards: a source at time 0 is a source, not a free slot",
	  { { "10.0.0.1", 0, BURST + 1, BURST, 0 },
	    { "10.0.0.2", 0, 1, 1, 0 },
	    { "10.0.0.1", 0, 1, 0, 0 } } },
	{ "the empty address has a bucket like any other",
	  { { "", 0, BURST + 1, BURST, 0 }, { "", 10, 1, 0, 0 } } },
	{ "long address: cut to the slot, still one bucket",
	  { { LONG_ADDR, 1000, BURST + 10, BURST, 0 }, { LONG_ADDR, 1000, 1, 0, 0 } } },
	{ "long address: cannot flush the table by coming back",
	  /* each HELLO of a long address that found no bucket would take the oldest slot */
	  { { "10.0.0.1", 1000, BURST, BURST, 0 },
	    { "10.0.1.", 1001, 1, 1, RATELIMIT_SLOTS - 2 },
	    { LONG_ADDR, 1001 + RATELIMIT_SLOTS, 5, 5, 0 },
	    { "10.0.0.1", 1001 + RATELIMIT_SLOTS, 2, 1, 0 } } },
	{ "long addresses that agree as far as a slot holds share it",
	  { { LONG_ADDR "a", 1000, BURST, BURST, 0 }, { LONG_ADDR "b", 1000, 1, 0, 0 },
	    { LONG_ADDR_CUT, 1000, 1, 0, 0 }, { "fe80:0000:0000", 1000, 1, 1, 0 } } },
};

static unsigned run_step(struct ratelimit *rl, const char *addr, uint64_t t, unsigned tries)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < tries; i++)
		ok += ratelimit_allow(rl, addr, t);
	return ok;
}

static void run(const struct scenario *sc)
{
	static struct ratelimit rl;
	unsigned failures = (unsigned)testlib_failures;
	memset(&rl, 0, sizeof rl);
	for (size_t k = 0; k < sizeof sc->steps / sizeof sc->steps[0] && sc->steps[k].addr; k++) {
		const struct step *st = &sc->steps[k];
		unsigned n = st->span ? st->span : 1;
		for (unsigned i = 0; i < n; i++) {
			char addr[128];
			if (st->span)
				snprintf(addr, sizeof addr, "%s%u", st->addr, i);
			else
				snprintf(addr, sizeof addr, "%s", st->addr);
			unsigned got = run_step(&rl, addr, st->t + i, st->tries);
			CHECK(got == st->allowed);
			if (got != st->allowed)
				fprintf(stderr, "  step %zu (%s at %llu): %u allowed, want %u\n", k, addr,
				        (unsigned long long)(st->t + i), got, st->allowed);
		}
	}
	for (int i = 0; i < RATELIMIT_SLOTS; i++)
		CHECK(rl.slot[i].tokens >= 0.0 && rl.slot[i].tokens <= RATELIMIT_BURST);
	printf("  %s %s\n", testlib_failures == failures ? "ok  " : "FAIL", sc->name);
}

static unsigned take_n(struct tokens *t, unsigned per_s, unsigned cap, unsigned floor,
                       uint64_t now, unsigned tries)
{
	unsigned got = 0;
	for (unsigned i = 0; i < tries; i++)
		got += tokens_take(t, per_s, cap, floor, now);
	return got;
}

/* The single bucket (struct tokens): starts full at cap, refills at per_s up to cap, keeps
 * the fraction not yet earned, honours the floor, and a clock that steps back refills
 * nothing; tokens_left() only looks. */
static void test_tokens(void)
{
	struct tokens t = { 0 };
	CHECK(take_n(&t, 16, 64, 0, 5000, 100) == 64);          /* a burst of cap, at first */
	CHECK(take_n(&t, 16, 64, 0, 5000 + 1000, 100) == 16);   /* then per_s a second */
	/* 60 ms earns no whole token at 16/s, and is not lost: 4 x 60 ms earn 3 */
	unsigned got = 0;
	for (int i = 1; i <= 4; i++)
		got += take_n(&t, 16, 64, 0, 6000 + 60u * (unsigned)i, 1);
	CHECK(got == 3);
	CHECK(take_n(&t, 16, 64, 0, 1000000, 100) == 64);       /* never above cap */
	CHECK(take_n(&t, 16, 64, 0, 500, 100) == 0);            /* the clock stepped back */
	CHECK(take_n(&t, 16, 64, 0, 500 + 1000, 100) == 16);    /* and counts from there */
	/* a floor keeps tokens for others: 200 a second, half kept */
	struct tokens u = { 0 };
	CHECK(take_n(&u, 200, 200, 100, 7, 300) == 100);
	CHECK(take_n(&u, 200, 200, 0, 7, 300) == 100);
	CHECK(take_n(&u, 200, 200, 0, 7, 1) == 0);
	/* tokens_left says what tokens_take would do, and takes nothing */
	struct tokens v = { 0 };
	CHECK(tokens_left(&v, 200, 200, 100, 7) && take_n(&v, 200, 200, 100, 7, 300) == 100);
	CHECK(!tokens_left(&v, 200, 200, 100, 7) && tokens_left(&v, 200, 200, 0, 7));
	CHECK(!tokens_left(&v, 200, 200, 100, 11) && tokens_left(&v, 200, 200, 100, 12));
	CHECK(take_n(&v, 200, 200, 100, 12, 5) == 1);
	/* time 0 is a time like any (a test clock starting there) */
	struct tokens z = { 0 };
	CHECK(take_n(&z, 1, 2, 0, 0, 5) == 2 && take_n(&z, 1, 2, 0, 999, 5) == 0 &&
	      take_n(&z, 1, 2, 0, 1001, 5) == 1);
}

int main(void)
{
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		run(&scenarios[i]);
	test_tokens();
	return testlib_done("test_ratelimit");
}
