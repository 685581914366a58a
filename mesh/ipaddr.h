/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ipaddr: one IP address, IPv4 or IPv6, as the engine keeps it (issue 15: mixed IPv4/IPv6
 * meshes). Sixteen bytes in network order: an IPv6 address, or an IPv4 one mapped
 * (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2), so that both compare, copy and hash alike.
 * A link-local IPv6 address (fe80::/10) means something only on one interface: scope is that
 * interface's index, taken from where the address was heard, and 0 for every other address
 * (or a link-local one whose interface is not known, which nothing can dial). On the wire an
 * address is 4 or 16 bytes and never carries its scope (docs/protocol.md section 2).
 * No socket; names of interfaces only through if_indextoname/if_nametoindex.
 */
#ifndef MESH_MESH_IPADDR_H
#define MESH_MESH_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "mesh_err.h"

/* "ffff:...:ffff%<15-char ifname>" with its NUL, and the same as "[...]:65535". */
#define IPADDR_STRLEN 64
#define IPADDR_EPLEN 72

struct ipaddr {
	uint8_t b[16];
	uint32_t scope;
};

/* An IPv4 address as a constant (a, b, c, d: 0..255). */
#define IPADDR_V4(a, b, c, d) \
	((struct ipaddr){ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (a), (b), (c), (d) }, 0 })

struct ipaddr ipaddr_v4(const uint8_t v4[4]);
struct ipaddr ipaddr_from_in(struct in_addr a);
struct ipaddr ipaddr_from_in6(const struct in6_addr *a, uint32_t scope);
/* From an address of either family; false for another family. *port may be NULL. */
bool ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out, uint16_t *port);
/* To a sockaddr_in or sockaddr_in6 (with scope) for connect/bind/sendto; its length. */
socklen_t ipaddr_to_sockaddr(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *out);

bool ipaddr_is_v4(const struct ipaddr *a);
/* The four bytes of an IPv4 address (ipaddr_is_v4); of another, its last four. */
const uint8_t *ipaddr_v4_bytes(const struct ipaddr *a);
bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b);      /* scope too */
bool ipaddr_same(const struct ipaddr *a, const struct ipaddr *b);    /* bytes only */
bool ipaddr_is_unspecified(const struct ipaddr *a);  /* all zero, 0.0.0.0 or :: */
bool ipaddr_is_linklocal(const struct ipaddr *a);    /* fe80::/10 */
bool ipaddr_is_loopback(const struct ipaddr *a);     /* 127.0.0.0/8, ::1 */
/* Never a node's endpoint: 0.0.0.0/8, 224.0.0.0/3 (multicast and reserved), ::, ff00::/8.
 * Loopback is not (that is the caller's rule). */
bool ipaddr_is_bogus(const struct ipaddr *a);
/* Whether a and b are of one family and agree on their first prefix bits. */
bool ipaddr_in_prefix(const struct ipaddr *a, const struct ipaddr *b, unsigned prefix);

/* "10.0.0.1", "fd00::1", "fe80::1%eth0" (scope by name, or number if it has none). */
const char *ipaddr_str(const struct ipaddr *a, char out[static IPADDR_STRLEN]);
/* "10.0.0.1:47474", "[fd00::1]:47474", "[fe80::1%eth0]:47474": what ZeroMQ's tcp:// takes
 * and what users read. */
const char *ipaddr_endpoint(const struct ipaddr *a, uint16_t port, char out[static IPADDR_EPLEN]);
/* A numeric address: "10.0.0.1", "fd00::1", "fe80::1%eth0" or "fe80::1%3"; an IPv4-mapped
 * IPv6 text becomes the IPv4 address. MESH_EINVAL otherwise (a scope on a non-link-local
 * address, or one naming no interface, too). */
enum mesh_err ipaddr_parse(const char *s, struct ipaddr *out);

/* Wire form: 4 bytes for IPv4, 16 for IPv6. */
size_t ipaddr_wire_len(const struct ipaddr *a);
const uint8_t *ipaddr_wire(const struct ipaddr *a);
/* From 4 or 16 wire bytes (scope 0); false for another length, and for 16 bytes that hold an
 * IPv4-mapped address (there is one way to say an IPv4 address). */
bool ipaddr_from_wire(const uint8_t *p, size_t n, struct ipaddr *out);

#endif
