/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * wire_eq: equality of decoded wire values, field by field, for the round trips that
 * test_wire and fuzz_wire check (decode(encode(x)) == x). Strings and byte runs compare by
 * content, never by where they point.
 */
#ifndef TESTS_MESH_WIRE_EQ_H
#define TESTS_MESH_WIRE_EQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

static inline bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static inline bool wstr_eq(struct wire_str a, struct wire_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool groups_eq(const struct wire_str *a, size_t na, const struct wire_str *b,
                             size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!wstr_eq(a[i], b[i]))
			return false;
	return true;
}

static inline bool hello_eq(const struct wire_hello *a, const struct wire_hello *b)
{
	return memcmp(a->node_id, b->node_id, WIRE_IDLEN) == 0 && wstr_eq(a->name, b->name) &&
	       a->incarnation == b->incarnation && a->features == b->features &&
	       ipaddr_eq(&a->ip, &b->ip) && a->port == b->port &&
	       groups_eq(a->groups, a->ngroups, b->groups, b->ngroups);
}

static inline bool accept_eq(const struct wire_accept *a, const struct wire_accept *b)
{
	return wstr_eq(a->name, b->name) && groups_eq(a->groups, a->ngroups, b->groups, b->ngroups);
}

static inline bool peers_eq(const struct wire_msg *a, const struct wire_msg *b)
{
	if (a->npeers != b->npeers)
		return false;
	for (size_t i = 0; i < a->npeers; i++)
		if (!bytes_eq(a->peers[i].p, a->peers[i].len, b->peers[i].p, b->peers[i].len))
			return false;
	return true;
}

static inline bool msg_eq(const struct wire_msg *a, const struct wire_msg *b)
{
	return a->type == b->type && a->reason == b->reason && wstr_eq(a->group, b->group) &&
	       a->msg_id == b->msg_id && a->index == b->index && a->count == b->count &&
	       a->incarnation == b->incarnation &&
	       bytes_eq(a->data, a->data_len, b->data, b->data_len) && a->rekey_n == b->rekey_n &&
	       (a->noise == NULL) == (b->noise == NULL) &&
	       (a->noise == NULL || memcmp(a->noise, b->noise, WIRE_REKEY_NOISE) == 0) &&
	       wstr_eq(a->name, b->name) && a->ngroups == b->ngroups && peers_eq(a, b);
}

#endif
