/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_json: reads the flat JSON objects that `meshnode --json` prints, one per line
 * (docs/usage.md, "JSON output"). Only top-level members are decoded: strings (with every JSON
 * escape, surrogate pairs included, turned back into UTF-8), numbers, booleans and null. A
 * nested array or object (the "peers" reply) is checked for balance and skipped.
 *
 * Invariants:
 * - A line either parses completely (one object, nothing but blanks after it) or the parser
 *   returns -1 and the caller counts the line as malformed: there is no partial result.
 * - Decoded strings are NUL-terminated and live in the parser's buffer until the next parse,
 *   so a member's text may be used in place without copying.
 * - The input is never read past len and needs no terminating NUL.
 */
#ifndef MESHSIM_JSON_H
#define MESHSIM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MESHSIM_JSON_MAX_FIELDS 32   /* meshnode's widest object (stats) has 18 members */
#define MESHSIM_JSON_MAX_DEPTH 32    /* nesting allowed inside a skipped value */

enum meshsim_json_type {
	MESHSIM_JSON_STRING = 1,
	MESHSIM_JSON_NUMBER,
	MESHSIM_JSON_BOOL,
	MESHSIM_JSON_NULL,
	MESHSIM_JSON_NESTED,             /* an array or object, not decoded */
};

struct meshsim_json_field {
	const char *key;                 /* decoded, NUL-terminated */
	enum meshsim_json_type type;
	const char *str;                 /* STRING: decoded bytes, NUL-terminated (may hold NULs) */
	size_t len;                      /* STRING: decoded length */
	bool is_uint;                    /* NUMBER: a plain decimal that fits in uint64 */
	uint64_t u;                      /* NUMBER with is_uint */
	double num;                      /* NUMBER */
	bool b;                          /* BOOL */
};

struct meshsim_json {
	struct meshsim_json_field f[MESHSIM_JSON_MAX_FIELDS];
	size_t n;
	char *buf;                       /* decoded keys and strings */
	size_t cap;
};

void meshsim_json_init(struct meshsim_json *j);
void meshsim_json_free(struct meshsim_json *j);
/* Parses one object from line[0..len). 0 on success; -1 if it is not one well-formed JSON
 * object with at most MESHSIM_JSON_MAX_FIELDS members, or if memory ran out. */
int meshsim_json_parse(struct meshsim_json *j, const char *line, size_t len);
/* The first member named key, or NULL. */
const struct meshsim_json_field *meshsim_json_get(const struct meshsim_json *j, const char *key);
/* The string member key (and its length in *len if len is not NULL), or NULL if it is absent
 * or not a string. */
const char *meshsim_json_str(const struct meshsim_json *j, const char *key, size_t *len);
/* True, with *out set, if key is a number that is a plain unsigned integer. */
bool meshsim_json_uint(const struct meshsim_json *j, const char *key, uint64_t *out);

#endif
