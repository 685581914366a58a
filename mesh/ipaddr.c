/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ipaddr: IPv4 and IPv6 addresses in one 16-byte form (ipaddr.h).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

struct ipaddr ipaddr_v4(const uint8_t v4[4])
{
	struct ipaddr a = { .scope = 0 };
	memcpy(a.b, v4_prefix, sizeof v4_prefix);
	memcpy(a.b + 12, v4, 4);
	return a;
}

struct ipaddr ipaddr_from_in(struct in_addr in)
{
	return ipaddr_v4((const uint8_t *)&in.s_addr);
}

struct ipaddr ipaddr_from_in6(const struct in6_addr *in6, uint32_t scope)
{
	struct ipaddr a;
	memcpy(a.b, in6->s6_addr, 16);
	a.scope = ipaddr_is_linklocal(&a) ? scope : 0;
	return a;
}

bool ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		*out = ipaddr_from_in(s4->sin_addr);
		if (port)
			*port = ntohs(s4->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		*out = ipaddr_from_in6(&s6->sin6_addr, s6->sin6_scope_id);
		if (port)
			*port = ntohs(s6->sin6_port);
		return true;
	}
	return false;
}

socklen_t ipaddr_to_sockaddr(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (ipaddr_is_v4(a)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr.s_addr, a->b + 12, 4);
		return sizeof *s4;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(s6->sin6_addr.s6_addr, a->b, 16);
	s6->sin6_scope_id = a->scope;
	return sizeof *s6;
}

bool ipaddr_is_v4(const struct ipaddr *a)
{
	return memcmp(a->b, v4_prefix, sizeof v4_prefix) == 0;
}

const uint8_t *ipaddr_v4_bytes(const struct ipaddr *a)
{
	return a->b + 12;
}

bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return memcmp(a->b, b->b, 16) == 0 && a->scope == b->scope;
}

bool ipaddr_same(const struct ipaddr *a, const struct ipaddr *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

bool ipaddr_is_unspecified(const struct ipaddr *a)
{
	static const uint8_t zero[16];
	if (ipaddr_is_v4(a))
		return memcmp(a->b + 12, zero, 4) == 0;
	return memcmp(a->b, zero, 16) == 0;
}

bool ipaddr_is_linklocal(const struct ipaddr *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

bool ipaddr_is_loopback(const struct ipaddr *a)
{
	static const uint8_t one[16] = { [15] = 1 };
	if (ipaddr_is_v4(a))
		return a->b[12] == 127;
	return memcmp(a->b, one, 16) == 0;
}

bool ipaddr_is_bogus(const struct ipaddr *a)
{
	if (ipaddr_is_v4(a))
		return a->b[12] == 0 || a->b[12] >= 224;
	return ipaddr_is_unspecified(a) || a->b[0] == 0xff;
}

bool ipaddr_in_prefix(const struct ipaddr *a, const struct ipaddr *b, unsigned prefix)
{
	if (ipaddr_is_v4(a) != ipaddr_is_v4(b))
		return false;
	unsigned bits = ipaddr_is_v4(a) ? 96 + (prefix > 32 ? 32 : prefix)
	                                : (prefix > 128 ? 128 : prefix);
	size_t whole = bits / 8;
	if (memcmp(a->b, b->b, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (a->b[whole] & mask) == (b->b[whole] & mask);
}

const char *ipaddr_str(const struct ipaddr *a, char out[static IPADDR_STRLEN])
{
	if (ipaddr_is_v4(a)) {
		inet_ntop(AF_INET, a->b + 12, out, IPADDR_STRLEN);
		return out;
	}
	inet_ntop(AF_INET6, a->b, out, IPADDR_STRLEN);
	if (a->scope != 0) {
		char name[IF_NAMESIZE];
		size_t len = strlen(out);
		if (if_indextoname(a->scope, name))
			snprintf(out + len, IPADDR_STRLEN - len, "%%%s", name);
		else
			snprintf(out + len, IPADDR_STRLEN - len, "%%%u", (unsigned)a->scope);
	}
	return out;
}

const char *ipaddr_endpoint(const struct ipaddr *a, uint16_t port, char out[static IPADDR_EPLEN])
{
	char ip[IPADDR_STRLEN];
	ipaddr_str(a, ip);
	if (ipaddr_is_v4(a))
		snprintf(out, IPADDR_EPLEN, "%s:%u", ip, (unsigned)port);
	else
		snprintf(out, IPADDR_EPLEN, "[%s]:%u", ip, (unsigned)port);
	return out;
}

enum mesh_err ipaddr_parse(const char *s, struct ipaddr *out)
{
	struct in_addr in;
	if (inet_pton(AF_INET, s, &in) == 1) {
		*out = ipaddr_from_in(in);
		return MESH_OK;
	}
	char buf[IPADDR_STRLEN];
	if (strlen(s) >= sizeof buf)
		return MESH_EINVAL;
	strcpy(buf, s);
	char *pct = strchr(buf, '%');
	if (pct)
		*pct++ = '\0';
	struct in6_addr in6;
	if (inet_pton(AF_INET6, buf, &in6) != 1)
		return MESH_EINVAL;
	struct ipaddr a = ipaddr_from_in6(&in6, 0);
	if (ipaddr_is_v4(&a)) {
		if (pct)
			return MESH_EINVAL;
		*out = a;
		return MESH_OK;
	}
	if (pct) {
		if (!ipaddr_is_linklocal(&a) || *pct == '\0')
			return MESH_EINVAL;
		char *end;
		unsigned long idx = strtoul(pct, &end, 10);
		if (*end != '\0' || end == pct)
			idx = if_nametoindex(pct);
		if (idx == 0 || idx > UINT32_MAX)
			return MESH_EINVAL;
		a.scope = (uint32_t)idx;
	}
	*out = a;
	return MESH_OK;
}

size_t ipaddr_wire_len(const struct ipaddr *a)
{
	return ipaddr_is_v4(a) ? 4 : 16;
}

const uint8_t *ipaddr_wire(const struct ipaddr *a)
{
	return ipaddr_is_v4(a) ? a->b + 12 : a->b;
}

bool ipaddr_from_wire(const uint8_t *p, size_t n, struct ipaddr *out)
{
	if (n == 4) {
		*out = ipaddr_v4(p);
		return true;
	}
	if (n != 16 || memcmp(p, v4_prefix, sizeof v4_prefix) == 0)
		return false;
	memcpy(out->b, p, 16);
	out->scope = 0;
	return true;
}
