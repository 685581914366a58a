/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_mcast6: mesh/mcast6.c inside a private network namespace (run only through
 * tests/integration/netns-run), on veth pairs the test makes there: ff02::/ff12:: multicast
 * does not work on lo. a0-b0 and c0-d0 are two segments; e0's peer f0 stays down, so an
 * address added to e0 without nodad stays tentative (no carrier, no DAD). Automatic link-local
 * addresses are off (addrgenmode none): each address here is one the test gave with nodad, so
 * none is tentative by accident.
 *
 * Happy paths: a datagram sent on a0 with an explicit unique-local source arrives on b0 with
 * exactly that source, at two handles on b0 (two nodes on one host) and, looped, at a handle
 * on a0; a link-local source comes with scope = the arrival interface; the listing sees each
 * address with its prefix, flags and state; the pick prefers stable global/ULA, then
 * temporary, then link-local. Hostile twins: a handle on the other segment hears nothing of
 * it; truncation is flagged as cap + 1; a source that is not ours, an IPv4 or a link-local one
 * of another interface is refused; groups that are not link-scope multicast and bad interface
 * indices are refused. Every wait is a poll() with a deadline.
 */
#include "mcast6.h"
#include "testlib.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUP "ff12::7d7e"
#define PORT 47712
#define WAIT_MS 3000

static unsigned ix_a, ix_b, ix_c, ix_d, ix_e;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool run(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "test_mcast6: '%s' failed (%d)\n", cmd, rc);
	return rc == 0;
}

static bool setup(void)
{
	static const char *const cmds[] = {
		"ip link add a0 type veth peer name b0",
		"ip link add c0 type veth peer name d0",
		"ip link add e0 type veth peer name f0",
		"for i in a0 b0 c0 d0 e0 f0; do ip link set $i addrgenmode none || exit 1; done",
		"for i in a0 b0 c0 d0 e0; do ip link set $i up || exit 1; done",
		"ip -6 addr add fd77:0:1::5/64 dev a0 nodad",
		"ip -6 addr add fe80::a/64 dev a0 nodad",
		"ip -6 addr add fd77:0:1::7/64 dev a0 nodad preferred_lft 0",   /* deprecated */
		"ip -6 addr add fd77:0:1::6/64 dev b0 nodad",
		"ip -6 addr add fe80::b/64 dev b0 nodad",
		"ip -6 addr add fd77:0:2::5/64 dev c0 nodad",
		"ip -6 addr add fd77:0:2::6/64 dev d0 nodad",
		"ip -6 addr add fd77:0:3::1/64 dev e0",                          /* tentative */
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!run(cmds[i]))
			return false;
	ix_a = if_nametoindex("a0");
	ix_b = if_nametoindex("b0");
	ix_c = if_nametoindex("c0");
	ix_d = if_nametoindex("d0");
	ix_e = if_nametoindex("e0");
	return ix_a && ix_b && ix_c && ix_d && ix_e;
}

static struct ipaddr addr(const char *s)
{
	struct ipaddr a;
	memset(&a, 0, sizeof a);
	if (ipaddr_parse(s, &a) != MESH_OK)
		fprintf(stderr, "test_mcast6: bad address '%s' in the test\n", s);
	return a;
}

static struct mcast6 *open_on(unsigned ix)
{
	struct mcast6 *m = NULL;
	char err[256];
	enum mesh_err rc = mcast6_open(GROUP, PORT, ix, &m, err, sizeof err);
	CHECK(rc == MESH_OK && m);
	if (rc != MESH_OK)
		fprintf(stderr, "test_mcast6: %s\n", err);
	return m;
}

/* The next datagram on m within the deadline: true and its bytes, source and interface. */
static bool next(struct mcast6 *m, uint8_t *buf, size_t cap, size_t *len, struct ipaddr *from,
                 unsigned *ix)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		bool got = false;
		if (mcast6_recv(m, buf, cap, &got, len, from, ix) != MESH_OK)
			return false;
		if (got)
			return true;
		uint64_t now = now_ms();
		if (now >= deadline)
			return false;
		struct pollfd p = { .fd = mcast6_fd(m), .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return false;
	}
}

/* m gets exactly msg next, from src, on interface ix */
static void expect(struct mcast6 *m, const char *msg, const struct ipaddr *src, unsigned ix)
{
	uint8_t buf[256];
	size_t len = 0;
	struct ipaddr from;
	unsigned arrived = 0;
	bool got = next(m, buf, sizeof buf, &len, &from, &arrived);
	CHECK(got);
	CHECK(got && len == strlen(msg) && memcmp(buf, msg, len) == 0);
	CHECK(got && ipaddr_eq(&from, src));
	CHECK(got && arrived == ix);
}

static void test_open_refuses(void)
{
	static const char *const bad[] = { "ff05::7d7e", "ff0e::1", "fd77::1", "239.192.7.7",
	                                   "::ffff:239.1.1.1", "ff02::7d7e%a0", "nonsense", "" };
	struct mcast6 *m = NULL;
	char err[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		CHECK(mcast6_open(bad[i], PORT, ix_a, &m, err, sizeof err) == MESH_EINVAL && !m);
		CHECK(strstr(err, "link-scope") != NULL);
	}
	CHECK(mcast6_open(GROUP, PORT, 0, &m, err, sizeof err) == MESH_EINVAL && !m);
	CHECK(mcast6_open(GROUP, PORT, 999999, &m, err, sizeof err) == MESH_EINVAL && !m);
	/* ff02:: works the same as ff12::, and NULL takes the default */
	CHECK(mcast6_open("ff02::7d7e", PORT, ix_a, &m, err, sizeof err) == MESH_OK && m);
	mcast6_close(&m);
	CHECK(!m);
	CHECK(mcast6_open(NULL, PORT, ix_a, &m, err, sizeof err) == MESH_OK && m);
	CHECK(m && mcast6_ifindex(m) == ix_a);
	mcast6_close(&m);
	mcast6_close(&m);               /* NULL ok */
	mcast6_close(NULL);
	struct ipaddr g = addr("ff02::1"), g12 = addr("ff12::8384"), g5 = addr("ff05::2");
	struct ipaddr v4 = addr("224.0.0.1");
	CHECK(mcast6_group_ok(&g) && mcast6_group_ok(&g12));
	CHECK(!mcast6_group_ok(&g5) && !mcast6_group_ok(&v4));
}

static void test_segments(void)
{
	struct mcast6 *a = open_on(ix_a), *b1 = open_on(ix_b), *b2 = open_on(ix_b);
	struct mcast6 *c = open_on(ix_c), *d = open_on(ix_d);
	struct ipaddr ula = addr("fd77:0:1::5"), ll = addr("fe80::a"), other = addr("fd77:0:2::5");
	struct ipaddr ll_b = ll, ll_a = ll;
	if (!a || !b1 || !b2 || !c || !d)
		goto done;
	ll_a.scope = ix_a;
	ll_b.scope = ix_b;

	/* the announced ULA address, not the link-local one the kernel would choose */
	CHECK(mcast6_send(a, &ula, (const uint8_t *)"one", 3) == MESH_OK);
	expect(b1, "one", &ula, ix_b);
	expect(b2, "one", &ula, ix_b);
	expect(a, "one", &ula, ix_a);   /* looped: a node beside us on a0 hears it */

	/* link-local source: scope is where it arrived, given as 0 or as a0's index */
	CHECK(mcast6_send(a, &ll, (const uint8_t *)"two", 3) == MESH_OK);
	CHECK(mcast6_send(a, &ll_a, (const uint8_t *)"three", 5) == MESH_OK);
	expect(b1, "two", &ll_b, ix_b);
	expect(b1, "three", &ll_b, ix_b);
	expect(b2, "two", &ll_b, ix_b);
	expect(b2, "three", &ll_b, ix_b);
	expect(a, "two", &ll_a, ix_a);
	expect(a, "three", &ll_a, ix_a);

	/* the other segment heard none of the above: its first datagram is its own */
	CHECK(mcast6_send(c, &other, (const uint8_t *)"four", 4) == MESH_OK);
	expect(d, "four", &other, ix_d);
	expect(c, "four", &other, ix_c);
	/* and nothing of it reached a0-b0: a0's next one is again from a0 */
	CHECK(mcast6_send(a, &ula, (const uint8_t *)"five", 4) == MESH_OK);
	expect(b1, "five", &ula, ix_b);
	expect(b2, "five", &ula, ix_b);
	expect(a, "five", &ula, ix_a);

	/* no source given: the kernel's choice, which for ff12:: is the link-local one */
	CHECK(mcast6_send(b1, NULL, (const uint8_t *)"six", 3) == MESH_OK);
	ll_a = addr("fe80::b");
	ll_a.scope = ix_a;
	expect(a, "six", &ll_a, ix_a);
done:
	mcast6_close(&a);
	mcast6_close(&b1);
	mcast6_close(&b2);
	mcast6_close(&c);
	mcast6_close(&d);
}

static void test_send_refuses(void)
{
	struct mcast6 *a = open_on(ix_a);
	struct ipaddr notours = addr("fd77:0:99::1"), v4 = addr("10.0.0.1"), any = addr("::");
	struct ipaddr ll = addr("fe80::a"), c_ula = addr("fd77:0:2::5");
	if (!a)
		return;
	ll.scope = ix_b;
	errno = 0;
	CHECK(mcast6_send(a, &notours, (const uint8_t *)"x", 1) == MESH_EIO);
	CHECK(errno == EINVAL);         /* Linux's word for "not an address of ours" */
	CHECK(mcast6_send(a, &v4, (const uint8_t *)"x", 1) == MESH_EINVAL);
	CHECK(mcast6_send(a, &any, (const uint8_t *)"x", 1) == MESH_EINVAL);
	CHECK(mcast6_send(a, &ll, (const uint8_t *)"x", 1) == MESH_EINVAL);
	/* a global address of another interface is still ours: the kernel takes it (weak host
	 * model), and the receiver sees that address */
	CHECK(mcast6_send(a, &c_ula, (const uint8_t *)"y", 1) == MESH_OK);
	expect(a, "y", &c_ula, ix_a);
	/* nothing was queued by the refused sends */
	bool got = true;
	size_t len;
	struct ipaddr from;
	uint8_t buf[8];
	CHECK(mcast6_recv(a, buf, sizeof buf, &got, &len, &from, NULL) == MESH_OK && !got);
	mcast6_close(&a);
}

static void test_truncation(void)
{
	struct mcast6 *a = open_on(ix_a), *b = open_on(ix_b);
	struct ipaddr ula = addr("fd77:0:1::5");
	uint8_t big[1200], buf[1200];
	size_t len = 0;
	struct ipaddr from;
	unsigned ix = 0;
	if (!a || !b)
		goto done;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)i;
	CHECK(mcast6_send(a, &ula, big, sizeof big) == MESH_OK);
	CHECK(mcast6_send(a, &ula, big, 10) == MESH_OK);
	CHECK(mcast6_send(a, &ula, big, 0) == MESH_OK);
	CHECK(next(b, buf, 100, &len, &from, &ix) && len == 101 && memcmp(buf, big, 100) == 0);
	CHECK(ipaddr_eq(&from, &ula) && ix == ix_b);
	/* the rest of the long one is gone; an exact fit is not truncated; empty is empty */
	CHECK(next(b, buf, 10, &len, &from, &ix) && len == 10 && memcmp(buf, big, 10) == 0);
	CHECK(next(b, buf, sizeof buf, &len, &from, &ix) && len == 0);
done:
	mcast6_close(&a);
	mcast6_close(&b);
}

static const struct mcast6_addr *row(const struct mcast6_addr *all, size_t n, const char *a)
{
	struct ipaddr x = addr(a);
	for (size_t i = 0; i < n; i++)
		if (ipaddr_same(&all[i].addr, &x))
			return &all[i];
	return NULL;
}

static void test_list(void)
{
	struct mcast6_addr all[64], pick[16];
	size_t n = 0;
	char err[256];
	CHECK(mcast6_list_addrs(all, 64, &n, err, sizeof err) == MESH_OK);
	const struct mcast6_addr *ula = row(all, n, "fd77:0:1::5"), *ll = row(all, n, "fe80::a");
	const struct mcast6_addr *dep = row(all, n, "fd77:0:1::7"), *ten = row(all, n, "fd77:0:3::1");
	const struct mcast6_addr *lo = row(all, n, "::1");
	CHECK(ula && strcmp(ula->name, "a0") == 0 && ula->index == ix_a && ula->prefix == 64);
	CHECK(ula && ula->up && ula->multicast && !ula->loopback && !ula->linklocal);
	CHECK(ula && ula->state_known && !ula->tentative && !ula->deprecated && !ula->temporary);
	CHECK(ll && ll->linklocal && ll->addr.scope == ix_a && ll->index == ix_a);
	CHECK(dep && dep->deprecated && !dep->tentative);
	CHECK(ten && ten->tentative && ten->index == ix_e);
	CHECK(lo && lo->loopback && lo->prefix == 128 && lo->addr.scope == 0);
	/* a cap below the count fills exactly cap rows */
	size_t m = 0;
	CHECK(n > 2 && mcast6_list_addrs(all, 2, &m, err, sizeof err) == MESH_OK && m == 2);

	CHECK(mcast6_list_addrs(all, 64, &n, err, sizeof err) == MESH_OK);
	size_t got = mcast6_pick(all, n, pick, 16);
	bool a0 = false, b0 = false, e0 = false;
	for (size_t i = 0; i < got; i++) {
		struct ipaddr want_a = addr("fd77:0:1::5"), want_b = addr("fd77:0:1::6");
		if (pick[i].index == ix_a)
			a0 = ipaddr_eq(&pick[i].addr, &want_a);
		if (pick[i].index == ix_b)
			b0 = ipaddr_eq(&pick[i].addr, &want_b);
		e0 = e0 || pick[i].index == ix_e;
	}
	CHECK(a0 && b0 && !e0);         /* e0 has only a tentative address */
}

static struct mcast6_addr mk(unsigned ix, const char *a, bool tent, bool dep, bool temp)
{
	struct mcast6_addr r;
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "if%u", ix);
	r.index = ix;
	r.addr = addr(a);
	if (ipaddr_is_linklocal(&r.addr))
		r.addr.scope = ix;
	r.linklocal = ipaddr_is_linklocal(&r.addr);
	r.up = r.multicast = true;
	r.state_known = true;
	r.tentative = tent;
	r.deprecated = dep;
	r.temporary = temp;
	return r;
}

static bool picked(const struct mcast6_addr *out, size_t n, unsigned ix, const char *a)
{
	struct ipaddr x = addr(a);
	for (size_t i = 0; i < n; i++)
		if (out[i].index == ix)
			return ipaddr_same(&out[i].addr, &x);
	return false;
}

static void test_pick(void)
{
	struct mcast6_addr out[8];
	const struct mcast6_addr all[] = {
		mk(2, "fe80::1", false, false, false),          /* if2: link-local first in list */
		mk(2, "2001:db8::9", false, false, true),       /* temporary */
		mk(2, "2001:db8::1", false, false, false),      /* stable global: wins */
		mk(3, "fe80::3", false, false, false),          /* if3: only link-local */
		mk(3, "fd00::3", true, false, false),           /* tentative */
		mk(3, "fd00::4", false, true, false),           /* deprecated */
		mk(4, "fd00::9", false, false, true),           /* if4: temporary beats link-local */
		mk(4, "fe80::4", false, false, false),
		mk(5, "fd00::5", true, false, false),           /* if5: nothing usable */
		mk(5, "ff02::1", false, false, false),
		mk(5, "::", false, false, false),
		mk(6, "fd00::6", false, false, false),          /* if6: two stable: first wins */
		mk(6, "2001:db8::6", false, false, false),
		mk(1, "::1", false, false, false),              /* loopback address: never */
		mk(0, "fd00::7", false, false, false),          /* no index: never */
		mk(7, "fe80::7", false, false, false),
	};
	size_t n = sizeof all / sizeof all[0];
	size_t got = mcast6_pick(all, n, out, 8);
	CHECK(got == 5);
	CHECK(got == 5 && out[0].index == 2 && out[1].index == 3 && out[2].index == 4 &&
	      out[3].index == 6 && out[4].index == 7);
	CHECK(picked(out, got, 2, "2001:db8::1"));
	CHECK(picked(out, got, 3, "fe80::3") && out[1].addr.scope == 3);
	CHECK(picked(out, got, 4, "fd00::9"));
	CHECK(picked(out, got, 6, "fd00::6"));
	CHECK(picked(out, got, 7, "fe80::7"));
	/* the cap holds, in order */
	CHECK(mcast6_pick(all, n, out, 2) == 2 && out[0].index == 2 && out[1].index == 3);
	CHECK(mcast6_pick(all, n, out, 0) == 0);
	CHECK(mcast6_pick(all, 0, out, 8) == 0);
}

int main(void)
{
	testlib_require_netns("test_mcast6");
	test_pick();
	if (setup()) {
		test_open_refuses();
		test_segments();
		test_send_refuses();
		test_truncation();
		test_list();
	} else {
		CHECK(!"veth setup in the namespace");
	}
	return testlib_done("test_mcast6");
}
