/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mcast: the datagram transport under discovery, seen only through struct mcast_ops, as the
 * engine sees its links through struct link_ops (link.h). It sends a datagram to every node on
 * the segment and reads the ones that arrive, with their source address; it knows nothing of
 * beacons. mcast_udp is the product's: one UDP socket bound to the multicast group and port,
 * joined on one interface: an IPv4 group for an IPv4 address, a link-scope IPv6 group
 * (ff12::7d7e, mcast6.h) for an IPv6 one. Several nodes on one host share the port (SO_REUSEADDR and
 * SO_REUSEPORT), which is what lets tests and meshsim run many nodes on loopback in one
 * namespace. A simulated LAN implements the same ops with no socket.
 */
#ifndef MESH_MESH_MCAST_H
#define MESH_MESH_MCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "ipaddr.h"
#include "mcast6.h"
#include "mesh_err.h"

#define MCAST_DEFAULT_GROUP "239.192.7.7"
#define MCAST_DEFAULT_GROUP6 MCAST6_DEFAULT_GROUP   /* link scope (mcast6.h) */
#define MCAST_DEFAULT_PORT 47474
#define MCAST_RCVBUF (1 << 20)          /* requested receive buffer, bytes */

/*
 * Choosing interfaces (issue 15: a node beacons on every interface). The choice is a pure
 * function of the interface list, so that a test can feed it any list, and the list comes
 * from mcast_list_ifaces() (getifaddrs) or a simulated LAN. An interface with both families
 * is two picks, one per family, each beaconed on with its own group.
 */
#define MCAST_MAX_IFACES 16             /* interfaces beaconed on at most (as c-toxcore) */
#define MCAST_IFNAME_LEN 16             /* IFNAMSIZ, with its NUL */
#define MCAST_LIST_MAX 256              /* interface addresses of this host looked at */

struct mcast_iface {
	char name[MCAST_IFNAME_LEN];
	unsigned index;                 /* if_nametoindex: an IPv6 group is joined by it */
	struct ipaddr addr;             /* a link-local IPv6 one has scope = index */
	uint8_t prefix;                 /* its subnet's prefix length; 0 when not known */
	bool up, multicast, loopback;
};

struct mcast_config {
	void *env;                      /* the transport's own; mcast_udp takes none */
	const char *iface;              /* name or address; NULL: first up multicast non-loopback */
	const char *group;              /* IPv4 group; NULL: MCAST_DEFAULT_GROUP */
	uint16_t port;                  /* 0: MCAST_DEFAULT_PORT */
	const char *group6;             /* IPv6 group of link scope; NULL: MCAST_DEFAULT_GROUP6 */
};

struct mcast_ops {
	/* Joins the group; *ifaddr is our address on the segment, which beacons announce. NULL
	 * with a reason in err on failure. */
	void *(*open)(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
	              size_t errcap);
	void (*close)(void *t);                      /* NULL ok */
	/* What to poll for input, or -1: then recv() is tried on every turn of the loop. */
	int (*fd)(const void *t);
	/* Sends one datagram to the group, never blocking. MESH_EIO with errno set on failure. */
	enum mesh_err (*send)(void *t, const uint8_t *dgram, size_t len);
	/* Reads one datagram into buf: *got false when nothing is waiting, and on any error
	 * (MESH_EIO, errno set); else *len its length, or cap + 1 when it was longer than cap
	 * (the rest is lost), and *from its source (a link-local one with the scope of the
	 * interface it came in on). */
	enum mesh_err (*recv)(void *t, uint8_t *buf, size_t cap, bool *got, size_t *len,
	                      struct ipaddr *from);
	/* The wall clock, in milliseconds, that beacon counters start from (docs/protocol.md
	 * section 2); NULL: CLOCK_REALTIME. */
	uint64_t (*wall_ms)(void *t);
	/* The interfaces open() could join, as this transport sees them (env: cfg->env), for
	 * mcast_select_ifaces(): a node on several interfaces opens one handle per pick (issue
	 * 15). *n rows filled, at most cap; MESH_EIO with a reason in err when they cannot be
	 * listed. NULL: the transport has one interface, the one open() finds. */
	enum mesh_err (*ifaces)(void *env, struct mcast_iface *out, size_t cap, size_t *n,
	                        char *err, size_t errcap);
};

extern const struct mcast_ops mcast_udp;

struct mcast_ifsel {
	const char *const *allow;       /* names or addresses; none: the default below */
	size_t n_allow;
	const char *const *deny;        /* names or addresses never used, even when allowed */
	size_t n_deny;
};

/*
 * Picks from all[0..n) the interfaces to beacon on, in list order, one address per interface
 * name and family (the first that qualifies: one multicast membership per interface), at most
 * MCAST_MAX_IFACES into out; returns how many. IPv6 prefers a global or unique-local address
 * to a link-local one, which cannot be passed on to another segment. With no allow list, every up,
 * multicast-capable, non-loopback interface qualifies; with one, exactly those it names (by
 * name, or by address, which then is the one used), whatever their flags: that is how a test
 * names lo. *over counts those left out by the cap; *unmatched is the index of the first
 * allow entry that names no interface in the list at all, or n_allow.
 */
size_t mcast_select_ifaces(const struct mcast_iface *all, size_t n, const struct mcast_ifsel *sel,
                           struct mcast_iface out[static MCAST_MAX_IFACES], size_t *over,
                           size_t *unmatched);

/* This host's IPv4 and IPv6 interface addresses, one row per address, at most cap (the rest are
 * dropped: *n is how many rows were filled). MESH_EIO with a reason when they cannot be
 * listed. */
enum mesh_err mcast_list_ifaces(struct mcast_iface *out, size_t cap, size_t *n, char *err,
                                size_t errcap);

/* Finds the interface given by name or address (see config): its first pick. */
enum mesh_err mcast_resolve_iface(const char *iface, struct mcast_iface *out, char *err,
                                  size_t errcap);

#endif
