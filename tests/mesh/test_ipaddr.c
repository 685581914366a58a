/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_ipaddr: mesh/ipaddr.c, one address type for IPv4 and IPv6. IPv4 is kept mapped and
 * goes on the wire as 4 bytes, never as 16; text round-trips, with brackets around IPv6 in
 * an endpoint and the interface after a link-local address; the address classes the engine
 * refuses (unspecified, multicast, reserved) and those it treats apart (loopback,
 * link-local); prefixes of either family, never across families. Interface names are looked
 * up through a socket, so it runs in a private namespace (netns-run), where lo is index 1.
 */
#include "ipaddr.h"
#include "testlib.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

static struct ipaddr P(const char *s)
{
	struct ipaddr a;
	memset(&a, 0xee, sizeof a);
	CHECK(ipaddr_parse(s, &a) == MESH_OK);
	return a;
}

static void test_text(void)
{
	char b[IPADDR_STRLEN], e[IPADDR_EPLEN];
	struct ipaddr a = P("10.1.2.3");
	CHECK(ipaddr_is_v4(&a) && ipaddr_eq(&a, &IPADDR_V4(10, 1, 2, 3)));
	CHECK(strcmp(ipaddr_str(&a, b), "10.1.2.3") == 0);
	CHECK(strcmp(ipaddr_endpoint(&a, 47474, e), "10.1.2.3:47474") == 0);
	a = P("fd00::5");
	CHECK(!ipaddr_is_v4(&a) && a.scope == 0 && !ipaddr_is_linklocal(&a));
	CHECK(strcmp(ipaddr_endpoint(&a, 1, e), "[fd00::5]:1") == 0);
	/* the mapped text of an IPv4 address is that IPv4 address */
	a = P("::ffff:10.1.2.3");
	CHECK(ipaddr_is_v4(&a) && strcmp(ipaddr_str(&a, b), "10.1.2.3") == 0);
	/* a link-local address with its interface, by name or index; lo is index 1 */
	unsigned lo = if_nametoindex("lo");
	CHECK(lo != 0);
	a = P("fe80::1%lo");
	CHECK(ipaddr_is_linklocal(&a) && a.scope == lo);
	CHECK(strcmp(ipaddr_endpoint(&a, 80, e), "[fe80::1%lo]:80") == 0);
	struct ipaddr n = P("fe80::1%1");
	CHECK(n.scope == 1);
	/* a scope only on a link-local address, naming an interface that exists */
	CHECK(ipaddr_parse("fd00::1%lo", &a) == MESH_EINVAL);
	CHECK(ipaddr_parse("fe80::1%nosuch-if0", &a) == MESH_EINVAL);
	CHECK(ipaddr_parse("fe80::1%", &a) == MESH_EINVAL);
	CHECK(ipaddr_parse("10.1.2.3%lo", &a) == MESH_EINVAL);
	CHECK(ipaddr_parse("", &a) == MESH_EINVAL && ipaddr_parse("10.1.2", &a) == MESH_EINVAL &&
	      ipaddr_parse("[fd00::1]", &a) == MESH_EINVAL && ipaddr_parse("host", &a) == MESH_EINVAL);
	char longs[200];
	memset(longs, 'f', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	CHECK(ipaddr_parse(longs, &a) == MESH_EINVAL);
	/* the longest text fits: a full IPv6 address, a 15-character interface name, a port */
	a = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	CHECK(strlen(ipaddr_endpoint(&a, 65535, e)) == 47);
	a = P("fe80::ffff:ffff:ffff:ffff");
	a.scope = 4000000000u;                       /* no such interface: its number */
	CHECK(strcmp(ipaddr_endpoint(&a, 65535, e), "[fe80::ffff:ffff:ffff:ffff%4000000000]:65535")
	      == 0);
	printf("  ok   text: IPv4, IPv6, link-local with its interface, endpoints in brackets\n");
}

static void test_wire(void)
{
	struct ipaddr a = P("192.168.1.2"), b;
	CHECK(ipaddr_wire_len(&a) == 4 && memcmp(ipaddr_wire(&a), "\xc0\xa8\x01\x02", 4) == 0);
	CHECK(ipaddr_from_wire(ipaddr_wire(&a), 4, &b) && ipaddr_eq(&a, &b));
	a = P("fe80::1%lo");
	CHECK(ipaddr_wire_len(&a) == 16 && ipaddr_from_wire(ipaddr_wire(&a), 16, &b));
	CHECK(ipaddr_same(&a, &b) && b.scope == 0 && !ipaddr_eq(&a, &b));   /* no scope on it */
	/* one way to say an IPv4 address: 16 mapped bytes are refused, as are other lengths */
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };
	CHECK(!ipaddr_from_wire(mapped, 16, &b));
	CHECK(!ipaddr_from_wire(mapped, 0, &b) && !ipaddr_from_wire(mapped, 5, &b) &&
	      !ipaddr_from_wire(mapped, 15, &b));
	printf("  ok   wire: 4 bytes for IPv4, 16 for IPv6, never a mapped IPv4 in 16\n");
}

static void test_classes(void)
{
	const char *bogus[] = { "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.192.7.7", "255.255.255.255",
	                        "240.0.0.1", "::", "ff02::1", "ff05::2" };
	const char *fine[] = { "10.0.0.1", "127.0.0.1", "::1", "fd00::1", "2001:db8::1",
	                       "fe80::1", "223.255.255.254", "1.0.0.0" };
	for (size_t i = 0; i < sizeof bogus / sizeof *bogus; i++) {
		struct ipaddr a = P(bogus[i]);
		if (!ipaddr_is_bogus(&a))
			fprintf(stderr, "  %s not bogus\n", bogus[i]);
		CHECK(ipaddr_is_bogus(&a));
	}
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
		struct ipaddr a = P(fine[i]);
		if (ipaddr_is_bogus(&a))
			fprintf(stderr, "  %s bogus\n", fine[i]);
		CHECK(!ipaddr_is_bogus(&a));
	}
	struct ipaddr l4 = P("127.9.9.9"), l6 = P("::1"), n6 = P("::2"), ll = P("fe80::1"),
	              ll2 = P("febf::1"), nl = P("fec0::1"), z4 = P("0.0.0.0"), z6 = P("::");
	CHECK(ipaddr_is_loopback(&l4) && ipaddr_is_loopback(&l6) && !ipaddr_is_loopback(&n6));
	CHECK(ipaddr_is_linklocal(&ll) && ipaddr_is_linklocal(&ll2) && !ipaddr_is_linklocal(&nl));
	CHECK(ipaddr_is_unspecified(&z4) && ipaddr_is_unspecified(&z6) &&
	      !ipaddr_is_unspecified(&l6));
	printf("  ok   classes: refused, loopback, link-local, unspecified\n");
}

static void test_prefix_and_sockaddr(void)
{
	struct ipaddr a = P("10.78.1.5"), b = P("10.78.1.200"), c = P("10.78.2.5");
	CHECK(ipaddr_in_prefix(&a, &b, 24) && !ipaddr_in_prefix(&a, &c, 24) &&
	      ipaddr_in_prefix(&a, &c, 22) && ipaddr_in_prefix(&a, &c, 0));
	struct ipaddr x = P("fd77:0:1::5"), y = P("fd77:0:1::fe"), z = P("fd77:0:2::5");
	CHECK(ipaddr_in_prefix(&x, &y, 64) && !ipaddr_in_prefix(&x, &z, 64) &&
	      ipaddr_in_prefix(&x, &z, 46) && !ipaddr_in_prefix(&x, &z, 47));
	/* never across families, whatever the bytes */
	struct ipaddr m = P("::ffff:0:0");
	CHECK(!ipaddr_in_prefix(&a, &x, 0) && ipaddr_is_v4(&m));
	struct sockaddr_storage ss;
	uint16_t port = 0;
	struct ipaddr back;
	socklen_t len = ipaddr_to_sockaddr(&a, 47474, &ss);
	CHECK(len == sizeof(struct sockaddr_in) && ss.ss_family == AF_INET);
	CHECK(ipaddr_from_sockaddr((struct sockaddr *)&ss, &back, &port) && port == 47474 &&
	      ipaddr_eq(&back, &a));
	struct ipaddr s = P("fe80::7%lo");
	len = ipaddr_to_sockaddr(&s, 9, &ss);
	CHECK(len == sizeof(struct sockaddr_in6) && ss.ss_family == AF_INET6 &&
	      ((struct sockaddr_in6 *)&ss)->sin6_scope_id == s.scope);
	CHECK(ipaddr_from_sockaddr((struct sockaddr *)&ss, &back, &port) && port == 9 &&
	      ipaddr_eq(&back, &s));
	/* a scope only ever on a link-local address */
	struct sockaddr_in6 g = { .sin6_family = AF_INET6, .sin6_scope_id = 3 };
	g.sin6_addr.s6_addr[0] = 0xfd;
	CHECK(ipaddr_from_sockaddr((struct sockaddr *)&g, &back, NULL) && back.scope == 0);
	struct sockaddr un = { .sa_family = AF_UNIX };
	CHECK(!ipaddr_from_sockaddr(&un, &back, NULL));
	printf("  ok   prefixes per family, sockaddr round trips with the scope\n");
}

int main(void)
{
	/* if_nametoindex() asks the kernel through a socket (no packet): inside netns-run, as
	 * every test that opens one */
	testlib_require_netns("test_ipaddr");
	test_text();
	test_wire();
	test_classes();
	test_prefix_and_sockaddr();
	return testlib_done("test_ipaddr");
}
