/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_mcast: mesh/mcast.c's choice of interfaces (mcast_select_ifaces), on interface lists
 * the test makes up, so no socket and no real interface is involved. By default every up,
 * multicast-capable, non-loopback interface is chosen, once each; an allow list takes exactly
 * what it names (loopback too, as the tests on lo need), by name or address; a deny list wins
 * over both; the cap of MCAST_MAX_IFACES holds and says how many it left out; an allow entry
 * naming nothing is reported. An interface with both families is picked once per family, and
 * of its IPv6 addresses a global or unique-local one before a link-local one.
 */
#include "mcast.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static struct mcast_iface ifc(const char *name, const char *addr, bool up, bool mc, bool lo)
{
	struct mcast_iface i;
	memset(&i, 0, sizeof i);
	snprintf(i.name, sizeof i.name, "%s", name);
	CHECK(ipaddr_parse(addr, &i.addr) == MESH_OK);
	i.up = up;
	i.multicast = mc;
	i.loopback = lo;
	return i;
}

static bool is(const struct mcast_iface *i, const char *name, const char *addr)
{
	struct ipaddr a;
	return ipaddr_parse(addr, &a) == MESH_OK && ipaddr_eq(&a, &i->addr) &&
	       strcmp(i->name, name) == 0;
}

static size_t pick(const struct mcast_iface *all, size_t n, const char *const *allow,
                   size_t n_allow, const char *const *deny, size_t n_deny,
                   struct mcast_iface out[static MCAST_MAX_IFACES], size_t *over,
                   size_t *unmatched)
{
	struct mcast_ifsel sel = { allow, n_allow, deny, n_deny };
	return mcast_select_ifaces(all, n, &sel, out, over, unmatched);
}

static void test_default(void)
{
	struct mcast_iface all[] = {
		ifc("lo", "127.0.0.1", true, false, true),
		ifc("eth0", "10.0.0.5", true, true, false),
		ifc("eth0", "10.0.0.6", true, true, false),     /* a second address: not twice */
		ifc("down0", "10.1.0.5", false, true, false),
		ifc("tun0", "10.2.0.5", true, false, false),    /* no multicast */
		ifc("wlan0", "192.168.1.9", true, true, false),
	};
	struct mcast_iface out[MCAST_MAX_IFACES];
	size_t over, unmatched;
	size_t n = pick(all, sizeof all / sizeof all[0], NULL, 0, NULL, 0, out, &over, &unmatched);
	CHECK(n == 2 && over == 0 && unmatched == 0);
	CHECK(n == 2 && is(&out[0], "eth0", "10.0.0.5") && is(&out[1], "wlan0", "192.168.1.9"));
	const char *deny[] = { "wlan0" };
	n = pick(all, sizeof all / sizeof all[0], NULL, 0, deny, 1, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "eth0", "10.0.0.5"));
	/* only loopback: nothing, and the caller says so (as the single --iface default did) */
	n = pick(all, 1, NULL, 0, NULL, 0, out, &over, &unmatched);
	CHECK(n == 0 && over == 0);
	printf("  ok   by default every up multicast non-loopback interface, once, minus denied\n");
}

static void test_allow(void)
{
	struct mcast_iface all[] = {
		ifc("lo", "127.0.0.1", true, false, true),
		ifc("eth0", "10.0.0.5", true, true, false),
		ifc("eth0", "10.0.0.6", true, true, false),
		ifc("wlan0", "192.168.1.9", true, true, false),
	};
	size_t nall = sizeof all / sizeof all[0];
	struct mcast_iface out[MCAST_MAX_IFACES];
	size_t over, unmatched;
	/* lo named, by name or by address: exactly as the single --iface lo did */
	const char *lo[] = { "lo" }, *lo_addr[] = { "127.0.0.1" };
	size_t n = pick(all, nall, lo, 1, NULL, 0, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "lo", "127.0.0.1") && unmatched == 1);
	n = pick(all, nall, lo_addr, 1, NULL, 0, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "lo", "127.0.0.1") && unmatched == 1);
	/* an interface named by its second address uses that address */
	const char *second[] = { "10.0.0.6", "wlan0" };
	n = pick(all, nall, second, 2, NULL, 0, out, &over, &unmatched);
	CHECK(n == 2 && is(&out[0], "eth0", "10.0.0.6") && is(&out[1], "wlan0", "192.168.1.9"));
	/* deny wins over allow */
	const char *deny[] = { "eth0" };
	n = pick(all, nall, second, 2, deny, 1, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "wlan0", "192.168.1.9"));
	/* an entry that names nothing is reported by its index */
	const char *typo[] = { "lo", "eht0", "wlan0" };
	n = pick(all, nall, typo, 3, NULL, 0, out, &over, &unmatched);
	CHECK(n == 2 && unmatched == 1);
	printf("  ok   an allow list takes what it names, loopback too; deny wins; typo said\n");
}

static void test_cap(void)
{
	struct mcast_iface all[MCAST_MAX_IFACES + 5];
	char name[MCAST_IFNAME_LEN], addr[INET_ADDRSTRLEN];
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		snprintf(name, sizeof name, "veth%zu", i);
		snprintf(addr, sizeof addr, "10.9.%zu.1", i);
		all[i] = ifc(name, addr, true, true, false);
	}
	struct mcast_iface out[MCAST_MAX_IFACES];
	size_t over, unmatched;
	size_t n = pick(all, sizeof all / sizeof all[0], NULL, 0, NULL, 0, out, &over, &unmatched);
	CHECK(n == MCAST_MAX_IFACES && over == 5);
	CHECK(is(&out[0], "veth0", "10.9.0.1") &&
	      is(&out[MCAST_MAX_IFACES - 1], "veth15", "10.9.15.1"));
	printf("  ok   at most %d interfaces, the rest counted as left out\n", MCAST_MAX_IFACES);
}

static void test_families(void)
{
	struct mcast_iface all[] = {
		ifc("eth0", "fe80::1%1", true, true, false),   /* listed first, passed over */
		ifc("eth0", "10.0.0.5", true, true, false),
		ifc("eth0", "fd00::5", true, true, false),
		ifc("eth0", "fd00::6", true, true, false),      /* a second one: not twice */
		ifc("wlan0", "fe80::2%1", true, true, false),  /* only link-local: that one */
		ifc("v6only", "2001:db8::9", true, true, false),
	};
	size_t na = sizeof all / sizeof all[0];
	struct mcast_iface out[MCAST_MAX_IFACES];
	size_t over, unmatched;
	size_t n = pick(all, na, NULL, 0, NULL, 0, out, &over, &unmatched);
	CHECK(n == 4 && over == 0);
	CHECK(n == 4 && is(&out[0], "eth0", "10.0.0.5") && is(&out[1], "eth0", "fd00::5") &&
	      is(&out[2], "wlan0", "fe80::2%1") && is(&out[3], "v6only", "2001:db8::9"));
	/* named by its link-local address: that one, and eth0's IPv4 is not named */
	const char *ll[] = { "fe80::1%1" };
	n = pick(all, na, ll, 1, NULL, 0, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "eth0", "fe80::1%1") && unmatched == 1);
	/* by name: both families; denied by name: neither */
	const char *eth[] = { "eth0" }, *v6[] = { "fd00::5" };
	n = pick(all, na, eth, 1, NULL, 0, out, &over, &unmatched);
	CHECK(n == 2 && is(&out[0], "eth0", "10.0.0.5") && is(&out[1], "eth0", "fd00::5"));
	n = pick(all, na, NULL, 0, eth, 1, out, &over, &unmatched);
	CHECK(n == 2 && is(&out[0], "wlan0", "fe80::2%1") && is(&out[1], "v6only", "2001:db8::9"));
	/* denied by address: that address only, and the interface's next one is used */
	n = pick(all, na, NULL, 0, v6, 1, out, &over, &unmatched);
	CHECK(n == 4 && is(&out[0], "eth0", "10.0.0.5") && is(&out[1], "eth0", "fd00::6") &&
	      is(&out[2], "wlan0", "fe80::2%1"));
	/* one link-local address on two interfaces: named with its interface, that one only */
	struct mcast_iface twin[] = {
		ifc("eth0", "fe80::1%1", true, true, false),
		ifc("eth1", "fe80::1%2", true, true, false),
	};
	const char *ll2[] = { "fe80::1%2" };
	n = pick(twin, 2, ll2, 1, NULL, 0, out, &over, &unmatched);
	CHECK(n == 1 && is(&out[0], "eth1", "fe80::1%2"));
	printf("  ok   families: one pick each, a passable IPv6 address before a link-local one\n");
}

int main(void)
{
	test_default();
	test_allow();
	test_cap();
	test_families();
	return testlib_done("test_mcast");
}
