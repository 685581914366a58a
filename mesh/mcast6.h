/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mcast6: the IPv6 socket layer under discovery (issue 15): beacons to a link-scope multicast
 * group on one interface, and the addresses this host could announce there. It knows nothing
 * of beacons and nothing of mcast.c's IPv4 socket; mcast_udp builds on both.
 *
 * One handle is one non-blocking UDP socket bound to group%ifindex:port and joined on that one
 * interface. The bind's scope ties the socket to the interface (the kernel then delivers to it
 * only datagrams that arrived there, and only for that group), which IPV6_JOIN_GROUP alone
 * does not: Linux's IPv6 membership check looks at the group, never at which interface joined
 * it. Several handles, of one process or several, share group and port (SO_REUSEADDR and
 * SO_REUSEPORT), each on its own interface or on the same one, and all of them on one
 * interface hear each other (IPV6_MULTICAST_LOOP). Hop limit 1: nothing is forwarded.
 *
 * A beacon signs the address it announces and the receiver compares it with the datagram's
 * source, so mcast6_send() sets the source explicitly (IPV6_PKTINFO): for an ff02:: destination
 * the kernel would otherwise pick the link-local address, not the global or unique-local one
 * we announce.
 */
#ifndef MESH_MESH_MCAST6_H
#define MESH_MESH_MCAST6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "mesh_err.h"

/*
 * ff12::7d7e: flags T=1 (transient: RFC 4291 section 2.7 reserves T=0 groups for IANA
 * assignments, which this is not; Syncthing's ff12::8384 does the same) and scope 2 (link:
 * routers never forward it, so beacons stay on the segment whatever the hop limit). The
 * group ID 0x7d7e is arbitrary, one we know no other use of. ff02::7d7e works the same.
 */
#define MCAST6_DEFAULT_GROUP "ff12::7d7e"
#define MCAST6_IFNAME_LEN 16            /* IFNAMSIZ, with its NUL */

struct mcast6;

/* Whether g is a multicast group of link scope (ffX2::/16, any flags). */
bool mcast6_group_ok(const struct ipaddr *g);

/*
 * Opens the socket for group (NULL: MCAST6_DEFAULT_GROUP; must pass mcast6_group_ok) and port
 * on the interface with index ifindex (not 0), joined there. *out is the new handle, to be
 * released with mcast6_close(). MESH_EINVAL for a bad group or index, MESH_ENOMEM, MESH_EIO
 * (errno set); every error with a reason in err.
 */
enum mesh_err mcast6_open(const char *group, uint16_t port, unsigned ifindex, struct mcast6 **out,
                          char *err, size_t errcap);
void mcast6_close(struct mcast6 **mp);          /* closes, frees, *mp = NULL; NULL ok */

int mcast6_fd(const struct mcast6 *m);          /* readable: mcast6_recv() has a datagram */
unsigned mcast6_ifindex(const struct mcast6 *m);

/*
 * Sends one datagram to the group on the handle's interface, never blocking, with src as its
 * source address: an IPv6 address of this host (a link-local one of this interface: scope 0
 * or the handle's index). NULL: the kernel picks (for ff02:: that is the link-local one).
 * MESH_EINVAL for an IPv4, unspecified or a link-local address of another interface; MESH_EIO
 * with errno set when the kernel refuses (EINVAL: src is no address of this host, or is still
 * tentative; EAGAIN: the send buffer is full, the datagram is lost).
 */
enum mesh_err mcast6_send(struct mcast6 *m, const struct ipaddr *src, const uint8_t *dgram,
                          size_t len);

/*
 * Reads one datagram into buf: *got false when nothing is waiting, and on any error (MESH_EIO,
 * errno set); else *len its length, or cap + 1 when it was longer than cap (the rest is lost),
 * *from its source (scope = the arrival interface for a link-local one, 0 otherwise) and
 * *ifindex the interface it arrived on (always the handle's; NULL ok).
 */
enum mesh_err mcast6_recv(struct mcast6 *m, uint8_t *buf, size_t cap, bool *got, size_t *len,
                          struct ipaddr *from, unsigned *ifindex);

/*
 * This host's IPv6 addresses. Flags of the interface come from getifaddrs(); the address's
 * own state from /proc/net/if_inet6 (Linux), read once per listing, because getifaddrs()
 * does not pass IFA_F_* on. Where that file cannot be read, state_known is false and every
 * address counts as usable.
 */
struct mcast6_addr {
	char name[MCAST6_IFNAME_LEN];
	unsigned index;                 /* if_nametoindex; 0 if the interface just went */
	struct ipaddr addr;             /* a link-local one has scope = index */
	uint8_t prefix;                 /* from the netmask; 0 when not known */
	bool up, multicast, loopback;   /* the interface's IFF_* */
	bool linklocal;                 /* fe80::/10: means nothing off this interface */
	bool state_known;               /* the three below were read, not assumed */
	bool tentative;                 /* DAD not done (or failed): the kernel will not send
	                                 * from it; optimistic addresses (RFC 4429) are not */
	bool deprecated;                /* preferred lifetime over: not for new traffic */
	bool temporary;                 /* RFC 8981 privacy address: goes away by design */
};

/* One row per IPv6 address, in getifaddrs() order, at most cap (the rest are dropped: *n is
 * how many rows were filled). MESH_EIO with a reason in err when they cannot be listed. */
enum mesh_err mcast6_list_addrs(struct mcast6_addr *out, size_t cap, size_t *n, char *err,
                                size_t errcap);

/*
 * Picks, per interface (by index, in order of its first row in all[0..n)), the one address to
 * announce, at most cap into out; returns how many. Pure: a test gives it any list. An address
 * qualifies unless it is tentative, deprecated, unspecified, loopback or multicast, or its
 * row has index 0. Among those, in this order and then list order: a stable global or unique-
 * local address (it can be passed on to nodes on other subnets), a temporary one, a link-local
 * one (good on this segment only). An interface with none that qualifies is left out. Whether
 * to beacon on an interface at all (up, multicast, not loopback) is not decided here.
 */
size_t mcast6_pick(const struct mcast6_addr *all, size_t n, struct mcast6_addr *out, size_t cap);

#endif
