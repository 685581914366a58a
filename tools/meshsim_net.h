/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_net: the private network meshsim runs its nodes in. meshsim never uses the network
 * it was started in: meshsim_net_isolate() moves the whole process into a new network and mount
 * namespace first, and refuses to go on unless loopback is the only interface there. With
 * --hosts, meshsim_net_hosts_new() builds a LAN inside that namespace: K network namespaces,
 * each with one veth whose other end is a port of a bridge, so nodes on different hosts talk
 * over a real (virtual) Ethernet segment that no physical interface is part of. With subnets,
 * the hosts are split into contiguous blocks, each on a bridge and a /24 of its own, and one
 * router namespace with a veth into every bridge forwards unicast between them and nothing
 * else: multicast (the beacons) stays inside its subnet, as behind a real router. With a
 * bridge (subnets only), host 0 has a second veth into subnet 1's bridge, so that it is on both
 * subnets, as a multi-homed machine between two LANs.
 *
 * Invariants:
 * - Every address used is 127.0.0.0/8 or 10.77.0.0/16 (subnet s is 10.77.s.0/24, host i has
 *   10.77.s.(i+1) or after a readdr 10.77.s.(100+i), the bridge interface 10.77.1.200 or
 *   10.77.1.201, the router 10.77.s.254) or, with IPv6, fd77:0:s::/64 (the same last byte,
 *   in hex: host i fd77:0:s::(i+1), the bridge interface fd77:0:1::c8, the router
 *   fd77:0:s::fe) and the link-local fe80::/64 of the veths, on interfaces created here;
 *   without IPv6, the hosts' veths have IPv6 off (no link-local address either), and every
 *   namespace is registered on a tmpfs mounted in meshsim's own mount namespace: when meshsim
 *   dies, everything it built dies with it.
 * - Loss is applied with nftables (numgen random) on input in each host namespace; delay and
 *   jitter need the kernel's sch_netem, and their absence is reported, never ignored.
 */
#ifndef MESHSIM_NET_H
#define MESHSIM_NET_H

#include <stdbool.h>
#include <stddef.h>

#define MESHSIM_NET_MAX_HOSTS 250
#define MESHSIM_NET_MAX_SUBNETS 8
/* A readdr moves host i to 10.77.s.(100+i) and back: hosts beyond this would collide with
 * the bridge interface's 10.77.1.200 */
#define MESHSIM_NET_MAX_READDR_HOSTS 99
/* Interfaces of one host: its own veth, and on the bridging host the one into subnet 1 */
#define MESHSIM_NET_MAX_IFACES 2

/* The bridge of --hosts without subnets, in meshsim's own namespace (--capture listens there). */
#define MESHSIM_NET_BRIDGE "msbr0"

/* Enters a new network and mount namespace, brings lo up with multicast and a 224.0.0.0/4
 * route, and checks that lo is the only interface. 0, or -1 with a reason in err. */
int meshsim_net_isolate(char *err, size_t errcap);

struct meshsim_net;

struct meshsim_net_params {
	int hosts;
	int subnets;                /* 0: one bridge; 2..MESHSIM_NET_MAX_SUBNETS: routed subnets */
	unsigned loss_permille;     /* 0..1000 */
	unsigned delay_ms, jitter_ms;
	bool bridge;                /* with subnets: host 0 also on subnet 1 (10.77.1.200) */
	int ipv6;                   /* MESHSIM_IPV6_*: which interfaces have which families */
};

/* --ipv6: NONE, IPv4 only (IPv6 off); DUAL, every interface both; MIXED, subnet 0's both and
 * every other subnet's (the bridging host's second interface too) IPv6 only; ONLY, IPv6 on
 * every interface and no IPv4 address. */
enum { MESHSIM_IPV6_NONE, MESHSIM_IPV6_DUAL, MESHSIM_IPV6_MIXED, MESHSIM_IPV6_ONLY };

/* Builds the hosts and links. On failure returns NULL, writes err, and sets *usage to true when
 * the failure is a missing kernel feature that the options asked for (netem), which meshsim
 * reports as a usage error. */
struct meshsim_net *meshsim_net_hosts_new(const struct meshsim_net_params *p, char *err,
                                          size_t errcap, bool *usage);
/* Removes every namespace, veth and bridge it made. NULL ok; *np = NULL. */
void meshsim_net_destroy(struct meshsim_net **np);

const char *meshsim_net_ns(const struct meshsim_net *net, int host);      /* borrowed */
const char *meshsim_net_addr(const struct meshsim_net *net, int host);    /* borrowed */

/* Host h's interfaces: 1, or 2 on the bridging host (interface 0 is its own subnet's, the
 * one meshsim_net_addr() names). Their name inside the host namespace and current address
 * (borrowed: a readdr changes it). */
int meshsim_net_ifaces(const struct meshsim_net *net, int host);
const char *meshsim_net_iface_name(const struct meshsim_net *net, int host, int k);
const char *meshsim_net_iface_addr(const struct meshsim_net *net, int host, int k);
/* Its IPv6 unique-local address ("fd77:0:s::x", borrowed: a readdr changes it), or NULL
 * when it has none. */
const char *meshsim_net_iface_addr6(const struct meshsim_net *net, int host, int k);
/* Whether it has an IPv4 address (not on an IPv6-only subnet). */
bool meshsim_net_iface_v4(const struct meshsim_net *net, int host, int k);
bool meshsim_net_iface_up(const struct meshsim_net *net, int host, int k);

/* Interface faults. flap sets interface k of host h down, or up again, and then puts back the
 * routes the kernel removed with it and waits until it forwards. readdr moves its address to
 * the other of its two (10.77.s.(i+1) <-> 10.77.s.(100+i); the bridge interface's .200 <->
 * .201), and its IPv6 one likewise (the same last bytes, in hex): the new one first,
 * then the old one deleted, so that the host is never without an address there. 0, or -1 with a reason in err. */
int meshsim_net_flap(struct meshsim_net *net, int host, int k, bool up, char *err,
                     size_t errcap);
int meshsim_net_readdr(struct meshsim_net *net, int host, int k, char *err, size_t errcap);

/* The subnet of host h of hosts split into subnets contiguous blocks, as even as possible (the
 * first hosts % subnets blocks have one host more); 0 when subnets < 2. A pure function, so
 * that the options can count nodes per subnet before any namespace exists. */
int meshsim_net_subnet_of(int hosts, int subnets, int h);

/* Moves hosts [first, hosts) to a second bridge, so that the two halves cannot reach each
 * other; heal puts them back. Both wait until the moved ports forward. */
int meshsim_net_cut(struct meshsim_net *net, int first, char *err, size_t errcap);
int meshsim_net_heal(struct meshsim_net *net, char *err, size_t errcap);

/* Runs argv (argv[0] looked up in PATH) and waits for it; its stdout goes to out (up to cap - 1
 * bytes, NUL-terminated) if out is not NULL. 0 if it exited with 0; otherwise -1 with its stderr
 * or the reason in err. */
int meshsim_net_run(const char *const argv[], char *out, size_t outcap, char *err, size_t errcap);

#endif
