/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_meshsim_json: meshsim's strict reader of meshnode --json lines (tools/meshsim_json.h),
 * alone and against the writer that makes those lines (node/json.h). The first byte picks:
 *
 *   bit 7 clear: the rest is a line to parse. A line that parses keeps the reader's promises
 *     (at most MESHSIM_JSON_MAX_FIELDS members, every key and string NUL-terminated after its
 *     length, meshsim_json_get() finds the first member of a name), parses the same with blanks
 *     after it and fails with anything else after it, and its members written again by
 *     json.c's writer parse back to the same values. A line that fails leaves no member.
 *   bit 7 set: the rest is a list of members (key bytes, kind, value bytes) that json.c writes
 *     as meshnode would: any bytes as a string, numbers, booleans, base64, nested arrays. The
 *     line must parse, and give back every value: a string's bytes exactly when they are
 *     well-formed UTF-8, else with each stray byte turned into U+FFFD (json.h's promise).
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "meshsim_json.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_meshsim_json: %s:%d: %s\n", __FILE__, \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

static struct meshsim_json j, j2;
static struct json_buf b;
static char *line2;
static size_t line2_cap;

/* What the writer promises a string becomes: well-formed UTF-8 as it is, each other byte
 * U+FFFD. */
static size_t expected_string(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = wire_utf8_seq(s + i, n - i);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	return o;
}

static bool same_value(const struct meshsim_json_field *a, const struct meshsim_json_field *c)
{
	if (a->type != c->type || strcmp(a->key, c->key) != 0)
		return false;
	switch (a->type) {
	case MESHSIM_JSON_STRING:
		return a->len == c->len && memcmp(a->str, c->str, a->len) == 0;
	case MESHSIM_JSON_NUMBER:
		return a->is_uint == c->is_uint && (!a->is_uint || a->u == c->u) &&
		       (a->num == c->num || (isnan(a->num) && isnan(c->num)));
	case MESHSIM_JSON_BOOL:
		return a->b == c->b;
	default:
		return true;
	}
}

/* Writes j's members again with json.c and parses that: the same members come back. Keys and
 * strings that are not well-formed UTF-8 would come back changed (as U+FFFD): not compared. */
static void rewrite(const struct meshsim_json *p)
{
	char num[64];
	json_buf_clear(&b);
	json_raw(&b, "{");
	for (size_t i = 0; i < p->n; i++) {
		const struct meshsim_json_field *f = &p->f[i];
		if (!wire_utf8_valid(f->key, strlen(f->key)) ||
		    (f->type == MESHSIM_JSON_STRING && !wire_utf8_valid(f->str, f->len)) ||
		    (f->type == MESHSIM_JSON_NUMBER && !isfinite(f->num)))
			return;
		if (i)
			json_raw(&b, ",");
		json_cstr(&b, f->key);
		json_raw(&b, ":");
		switch (f->type) {
		case MESHSIM_JSON_STRING: json_str(&b, f->str, f->len); break;
		case MESHSIM_JSON_NUMBER:
			if (f->is_uint)
				json_u64(&b, f->u);
			else {
				/* exactly the same double; and still not a plain integer */
				snprintf(num, sizeof num, "%.17g", f->num);
				if (strcspn(num, ".eE-") == strlen(num))
					strcat(num, ".0");
				json_raw(&b, num);
			}
			break;
		case MESHSIM_JSON_BOOL: json_bool(&b, f->b); break;
		case MESHSIM_JSON_NULL: json_raw(&b, "null"); break;
		default: json_raw(&b, "[]"); break;
		}
	}
	json_raw(&b, "}");
	REQUIRE(!b.failed);
	REQUIRE(meshsim_json_parse(&j2, b.p, b.len) == 0 && j2.n == p->n);
	for (size_t i = 0; i < p->n; i++)
		REQUIRE(same_value(&p->f[i], &j2.f[i]));
}

static void parse_line(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	int rc = meshsim_json_parse(&j, line, size);
	if (rc != 0) {
		REQUIRE(j.n == 0);
		return;
	}
	REQUIRE(j.n <= MESHSIM_JSON_MAX_FIELDS);
	for (size_t i = 0; i < j.n; i++) {
		const struct meshsim_json_field *f = &j.f[i];
		REQUIRE(f->key != NULL && strlen(f->key) <= size);
		REQUIRE(meshsim_json_get(&j, f->key) == &j.f[i] ||
		        meshsim_json_get(&j, f->key) < &j.f[i]);
		if (f->type == MESHSIM_JSON_STRING)
			REQUIRE(f->str && f->len <= size && f->str[f->len] == '\0');
		REQUIRE(f->type >= MESHSIM_JSON_STRING && f->type <= MESHSIM_JSON_NESTED);
	}
	/* blanks after it change nothing; anything else after it is refused */
	if (size + 2 > line2_cap) {
		line2_cap = 2 * (size + 2);
		line2 = realloc(line2, line2_cap);
		REQUIRE(line2 != NULL);
	}
	memcpy(line2, data, size);
	memcpy(line2 + size, " \t", 2);
	REQUIRE(meshsim_json_parse(&j2, line2, size + 2) == 0 && j2.n == j.n);
	for (size_t i = 0; i < j.n; i++)
		REQUIRE(same_value(&j.f[i], &j2.f[i]));
	line2[size] = 'x';
	REQUIRE(meshsim_json_parse(&j2, line2, size + 1) != 0);
	rewrite(&j);
}

/* ------------------------------------------------------------------ writer to reader */

enum { K_STRING, K_U64, K_BOOL, K_NULL, K_BASE64, K_NESTED, NKINDS };

static void write_and_read(const uint8_t *p, size_t n)
{
	static uint8_t want[MESHSIM_JSON_MAX_FIELDS + 1][3 * 300];
	static size_t want_len[MESHSIM_JSON_MAX_FIELDS + 1];
	static uint8_t kind[MESHSIM_JSON_MAX_FIELDS + 1];
	static uint64_t num[MESHSIM_JSON_MAX_FIELDS + 1];
	char key[16];
	size_t nf = 0, at = 0;

	json_buf_clear(&b);
	json_raw(&b, "{");
	while (at < n && nf <= MESHSIM_JSON_MAX_FIELDS) {
		uint8_t k = p[at++] % NKINDS;
		size_t len = at < n ? p[at++] : 0;
		if (len > n - at)
			len = n - at;
		const uint8_t *v = p + at;
		at += len;
		if (nf)
			json_raw(&b, ",");
		snprintf(key, sizeof key, "k%zu", nf);   /* distinct keys: get() finds each */
		json_cstr(&b, key);
		json_raw(&b, ":");
		kind[nf] = k;
		switch (k) {
		case K_STRING:
			json_str(&b, v, len);
			want_len[nf] = expected_string(v, len, want[nf]);
			break;
		case K_U64:
			num[nf] = 0;
			for (size_t i = 0; i < len && i < 8; i++)
				num[nf] = num[nf] << 8 | v[i];
			json_u64(&b, num[nf]);
			break;
		case K_BOOL:
			num[nf] = len & 1;
			json_bool(&b, (len & 1) != 0);
			break;
		case K_NULL:
			json_raw(&b, "null");
			break;
		case K_BASE64:
			json_base64(&b, v, len);
			memcpy(want[nf], v, len);
			want_len[nf] = len;
			break;
		default:                 /* an array of strings, as the peers reply has */
			json_raw(&b, "[");
			json_str(&b, v, len);
			json_raw(&b, ",[],{\"a\":[1,true,null]}]");
			break;
		}
		nf++;
	}
	json_raw(&b, "}");
	REQUIRE(!b.failed);
	int rc = meshsim_json_parse(&j, b.p, b.len);
	REQUIRE((rc == 0) == (nf <= MESHSIM_JSON_MAX_FIELDS));
	if (rc != 0)
		return;
	REQUIRE(j.n == nf);
	for (size_t i = 0; i < nf; i++) {
		const struct meshsim_json_field *f = &j.f[i];
		snprintf(key, sizeof key, "k%zu", i);
		REQUIRE(meshsim_json_get(&j, key) == f);
		switch (kind[i]) {
		case K_STRING:
			REQUIRE(f->type == MESHSIM_JSON_STRING && f->len == want_len[i] &&
			        memcmp(f->str, want[i], want_len[i]) == 0);
			break;
		case K_U64:
			REQUIRE(f->type == MESHSIM_JSON_NUMBER && f->is_uint && f->u == num[i]);
			break;
		case K_BOOL:
			REQUIRE(f->type == MESHSIM_JSON_BOOL && f->b == (num[i] != 0));
			break;
		case K_NULL:
			REQUIRE(f->type == MESHSIM_JSON_NULL);
			break;
		case K_BASE64: {
			uint8_t bin[300];
			size_t blen = 0;
			REQUIRE(f->type == MESHSIM_JSON_STRING);
			REQUIRE(sodium_base642bin(bin, sizeof bin, f->str, f->len, NULL, &blen, NULL,
			                          sodium_base64_VARIANT_ORIGINAL) == 0);
			REQUIRE(blen == want_len[i] && memcmp(bin, want[i], blen) == 0);
			break;
		}
		default:
			REQUIRE(f->type == MESHSIM_JSON_NESTED);
			break;
		}
	}
	rewrite(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		meshsim_json_init(&j);
		meshsim_json_init(&j2);
		json_buf_init(&b);
		init = true;
	}
	if (size == 0)
		return 0;
	if (data[0] & 0x80)
		write_and_read(data + 1, size - 1);
	else
		parse_line(data + 1, size - 1);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	/* lines as meshnode --json prints them (docs/usage.md, "JSON output"), and odd ones */
	static const char *const lines[] = {
		"{\"event\":\"ready\",\"id\":\"0123abcd\",\"name\":\"n\\u00e9ud\",\"endpoint\":"
		"\"tcp://10.0.0.5:40117\"}",
		"{\"event\":\"shout\",\"peer\":\"ab\",\"group\":\"chat\",\"id\":18446744073709551615,"
		"\"text\":\"a\\\"b\\\\c\\n\\t\\u2028\\ud83d\\ude00\"}",
		"{\"event\":\"peers\",\"peers\":[{\"peer\":\"ab\",\"groups\":[\"a\",\"b\"],\"sid\":7,"
		"\"evasive\":false}]}",
		" { \"a\" : -1.5e3 , \"b\" : 1 , \"c\" : true , \"d\" : null , \"e\" : 0.0 , "
		"\"f\" : 1E+2 } ",
		"{\"data\":\"AAECAw==\",\"x\":[[[[]]]],\"y\":{}}",
		"{}",
	};
	size_t n;
	if (i < sizeof lines / sizeof lines[0]) {
		n = strlen(lines[i]);
		if (cap < n + 1)
			return 0;
		buf[0] = 0;
		memcpy(buf + 1, lines[i], n);
		return n + 1;
	}
	if (i == sizeof lines / sizeof lines[0] && cap >= 64) {
		/* members for the writer: a string with a stray byte, a number, base64, nested */
		static const uint8_t m[] = { 0x80, K_STRING, 5, 'a', 0xff, 'b', 0xc3, 0xa9,
		                             K_U64, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		                             K_BOOL, 1, K_NULL, 0, K_BASE64, 4, 0, 1, 2, 3,
		                             K_NESTED, 2, '"', '\\' };
		memcpy(buf, m, sizeof m);
		return sizeof m;
	}
	return 0;
}
