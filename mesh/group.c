/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* group: sorted array of owned names; binary search keeps membership checks cheap on the
 * shout fan-out path. */
#include "group.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

bool group_name_valid(const char *name, size_t len)
{
	return name && len >= 1 && len <= GROUP_MAX_NAME && wire_name_valid(name, len);
}

static int cmp(const char *a, const char *name, size_t len)
{
	size_t alen = strlen(a);
	int c = memcmp(a, name, alen < len ? alen : len);
	if (c != 0)
		return c;
	return alen < len ? -1 : (alen > len ? 1 : 0);
}

/* Index of name, or of where it would go; *found says which. */
static size_t find(const struct group_set *s, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = s->n;
	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(s->names[mid], name, len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum mesh_err group_set_add(struct group_set *s, const char *name, size_t len)
{
	bool found;
	if (!group_name_valid(name, len))
		return MESH_EINVAL;
	size_t at = find(s, name, len, &found);
	if (found)
		return MESH_ESTATE;
	if (s->n >= GROUP_MAX_GROUPS)
		return MESH_ELIMIT;
	char *copy = malloc(len + 1);
	char **grown = realloc(s->names, (s->n + 1) * sizeof *grown);
	if (!copy || !grown) {
		free(copy);
		if (grown)
			s->names = grown;
		return MESH_ENOMEM;
	}
	s->names = grown;
	memcpy(copy, name, len);
	copy[len] = '\0';
	memmove(&s->names[at + 1], &s->names[at], (s->n - at) * sizeof *s->names);
	s->names[at] = copy;
	s->n++;
	return MESH_OK;
}

enum mesh_err group_set_remove(struct group_set *s, const char *name, size_t len)
{
	bool found;
	size_t at = find(s, name, len, &found);
	if (!found)
		return MESH_ESTATE;
	free(s->names[at]);
	memmove(&s->names[at], &s->names[at + 1], (s->n - at - 1) * sizeof *s->names);
	s->n--;
	return MESH_OK;
}

bool group_set_has(const struct group_set *s, const char *name, size_t len)
{
	bool found;
	find(s, name, len, &found);
	return found;
}

void group_set_clear(struct group_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->n = 0;
}

enum mesh_err group_set_copy(struct group_set *dst, const struct group_set *src)
{
	group_set_clear(dst);
	if (src->n == 0)
		return MESH_OK;
	dst->names = calloc(src->n, sizeof *dst->names);
	if (!dst->names)
		return MESH_ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		size_t len = strlen(src->names[i]);
		dst->names[i] = malloc(len + 1);
		if (!dst->names[i]) {
			dst->n = i;
			group_set_clear(dst);
			return MESH_ENOMEM;
		}
		memcpy(dst->names[i], src->names[i], len + 1);
	}
	dst->n = src->n;
	return MESH_OK;
}
