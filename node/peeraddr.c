/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * peeraddr: the address of a fixed peer as a person writes it (`--peer`, meshnode_add_peer;
 * docs/usage.md, "Fixed peers"): `[NODEID@]HOST:PORT`, where NODEID is the 64 hex digits of
 * the one node that may answer there, HOST an IPv4 address or a name resolved (to IPv4) when
 * the peer is added, and PORT its ROUTER port. IPv6 is refused with that reason.
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
	const char *colon = strrchr(host, ':');
	if (host[0] == '[' || (colon && strchr(host, ':') != colon)) {
		snprintf(err, errcap, "'%s': IPv6 addresses are not supported yet", host);
		return -1;
	}
	if (!colon || colon == host || (size_t)(colon - host) > HOST_MAX) {
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
	memcpy(name, host, (size_t)(colon - host));
	name[colon - host] = 0;
	struct in_addr a;
	bool numeric = strspn(name, "0123456789.") == strlen(name);
	if (inet_pton(AF_INET, name, &a) != 1 && numeric) {
		/* getaddrinfo() would take "127.1" or "2130706433" for 127.0.0.1: a person who
		 * typed that most likely meant something else */
		snprintf(err, errcap, "'%s' is not an IPv4 address (four numbers, 0 to 255, with dots)",
		         name);
		return -1;
	}
	if (inet_pton(AF_INET, name, &a) != 1) {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		int rc = getaddrinfo(name, NULL, &hints, &res);
		if (rc != 0 || !res) {
			snprintf(err, errcap, "cannot resolve '%s': %s", name,
			         rc ? gai_strerror(rc) : "no IPv4 address");
			return -1;
		}
		a = ((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	memcpy(out->ip, &a.s_addr, 4);
	out->port = (uint16_t)port;
	if (out->ip[0] == 0 || out->ip[0] >= 224) {
		snprintf(err, errcap, "'%s' is not an address a peer can have (unspecified, multicast "
		         "or broadcast)", name);
		return -1;
	}
	return 0;
}
