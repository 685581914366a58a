/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * group: a sorted set of group names (docs/protocol.md section 6). Names are 1..GROUP_MAX_NAME
 * bytes of UTF-8, compared bytewise; a set holds at most GROUP_MAX_GROUPS. Used for our own
 * groups and for each peer's.
 */
#ifndef MESH_MESH_GROUP_H
#define MESH_MESH_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "mesh_err.h"
#include "wire.h"

/* the wire's limits (docs/protocol.md section 6): one home, wire.h */
#define GROUP_MAX_NAME WIRE_MAX_GROUP
#define GROUP_MAX_GROUPS WIRE_MAX_GROUPS

struct group_set {
	size_t n;
	char **names;       /* sorted, each NUL-terminated, owned */
};

/* MESH_EINVAL for a bad name, MESH_ESTATE if present, MESH_ELIMIT when full. */
enum mesh_err group_set_add(struct group_set *s, const char *name, size_t len);
/* MESH_ESTATE if absent. */
enum mesh_err group_set_remove(struct group_set *s, const char *name, size_t len);
bool group_set_has(const struct group_set *s, const char *name, size_t len);
bool group_name_valid(const char *name, size_t len);
void group_set_clear(struct group_set *s);
/* Replaces *dst with a copy of *src; MESH_ENOMEM leaves *dst empty. */
enum mesh_err group_set_copy(struct group_set *dst, const struct group_set *src);

#endif
