/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * peeraddr: the address of a fixed peer as a person writes it (`--peer`, meshnode_add_peer;
 * docs/usage.md, "Fixed peers"): `[NODEID@]HOST:PORT`, where NODEID is the 64 hex digits of
 * the one node that may answer there, HOST an IPv4 address, an IPv6 one in brackets
 * ([fd00::1], [fe80::1%eth0]) or a name resolved when the peer is added, and PORT its ROUTER
 * port.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "keys.h"
#include "node_impl.h"

#define HOST_MAX 255

int node_peer_addr_parse(const char *s, struct node_peer_addr *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s) {
		snprintf(err, errcap, "no address: expected [NODEID@]HOST:PORT");
		return -1;
	}
	const char *at = strchr(s, '@'), *host = s;
	if (at) {
		char hex[2 * MESHNODE_IDLEN + 1];
		size_t n = (size_t)(at - s);
		if (n != 2 * MESHNODE_IDLEN) {
			snprintf(err, errcap, "'%.*s' is not a node ID (64 hex digits)",
			         (int)(n > 80 ? 80 : n), s);
			return -1;
		}
		memcpy(hex, s, n);
		hex[n] = 0;
		if (keys_id_from_hex(hex, out->pin) != 0) {
			snprintf(err, errcap, "'%s' is not a node ID (64 hex digits)", hex);
			return -1;
		}
		out->pinned = true;
		host = at + 1;
	}
	/* HOST:PORT, or [IPV6]:PORT (with %IFACE for a link-local one), as in a URL */
	const char *colon, *hstart = host, *hend;
	if (host[0] == '[') {
		hstart = host + 1;
		hend = strchr(hstart, ']');
		if (!hend || hend[1] != ':') {
			snprintf(err, errcap, "'%s' is not [IPV6]:PORT", host);
			return -1;
		}
		colon = hend + 1;
	} else {
		colon = strrchr(host, ':');
		if (colon && strchr(host, ':') != colon) {
			snprintf(err, errcap, "'%s': write an IPv6 address in brackets, [ADDRESS]:PORT",
			         host);
			return -1;
		}
		hend = colon;
	}
	if (!colon || hend == hstart || (size_t)(hend - hstart) > HOST_MAX) {
		snprintf(err, errcap, "'%s' is not HOST:PORT", host);
		return -1;
	}
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535) {
		snprintf(err, errcap, "'%s': the port must be a number from 1 to 65535", colon + 1);
		return -1;
	}
	char name[HOST_MAX + 1];
	memcpy(name, hstart, (size_t)(hend - hstart));
	name[hend - hstart] = 0;
	bool numeric = strspn(name, "0123456789.") == strlen(name);
	if (hstart != host) {
		if (ipaddr_parse(name, &out->ip) != MESH_OK || ipaddr_is_v4(&out->ip)) {
			snprintf(err, errcap, "'%s' is not an IPv6 address (a link-local one needs its "
			         "interface: fe80::1%%eth0)", name);
			return -1;
		}
		if (ipaddr_is_linklocal(&out->ip) && out->ip.scope == 0) {
			snprintf(err, errcap, "'%s': a link-local address needs its interface, as in "
			         "fe80::1%%eth0", name);
			return -1;
		}
	} else if (ipaddr_parse(name, &out->ip) != MESH_OK && numeric) {
		/* getaddrinfo() would take "127.1" or "2130706433" for 127.0.0.1: a person who
		 * typed that most likely meant something else */
		snprintf(err, errcap, "'%s' is not an IPv4 address (four numbers, 0 to 255, with dots)",
		         name);
		return -1;
	} else if (ipaddr_parse(name, &out->ip) != MESH_OK) {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;        /* the first in getaddrinfo's order (gai.conf) */
		hints.ai_socktype = SOCK_STREAM;
		int rc = getaddrinfo(name, NULL, &hints, &res);
		if (rc != 0 || !res || !ipaddr_from_sockaddr(res->ai_addr, &out->ip, NULL)) {
			snprintf(err, errcap, "cannot resolve '%s': %s", name,
			         rc ? gai_strerror(rc) : "no address");
			if (res)
				freeaddrinfo(res);
			return -1;
		}
		freeaddrinfo(res);
	}
	out->port = (uint16_t)port;
	if (ipaddr_is_bogus(&out->ip)) {
		snprintf(err, errcap, "'%s' is not an address a peer can have (unspecified, multicast "
		         "or broadcast)", name);
		return -1;
	}
	return 0;
}
