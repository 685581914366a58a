/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_meshsim_json: meshsim's reader for meshnode's JSON lines. Every event shape of
 * docs/usage.md must decode to the right members (escapes, surrogate pairs, big IDs, nested
 * replies skipped); its hostile twin truncates valid lines at every offset and flips every
 * byte, and feeds random bytes: the parser must fail cleanly (never crash, never read past the
 * end, which ASan checks) and accept nothing that is not one whole JSON object.
 */
#include "meshsim_json.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const valid[] = {
	"{\"event\":\"ready\",\"id\":\"5e1f00000000000000000000000000000000000000000000000000000000"
	"0000\",\"name\":\"bot\",\"endpoint\":\"tcp://10.0.0.5:40117\",\"fingerprint\":\"5e1f-aa\"}",
	"{\"event\":\"shout\",\"peer\":\"ab\",\"name\":\"n\\u0000x\",\"group\":\"sim\",\"id\":"
	"18446744073709551615,\"text\":\"s1-2 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
	"{\"event\":\"peers\",\"peers\":[{\"peer\":\"ab\",\"groups\":[\"a\",\"b\"],\"evasive\":false,"
	"\"sid\":3,\"x\":[[],{},null,-1.5e3]}]}",
	"{\"event\":\"stats\",\"a\":0,\"b\":1,\"c\":true,\"d\":null,\"e\":-2,\"f\":0.5}",
	"  { \"event\" : \"stopped\" }  ",
	"{}",
};

static void test_valid(void)
{
	struct meshsim_json j;
	size_t len;
	uint64_t u;
	meshsim_json_init(&j);
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
		CHECK(meshsim_json_parse(&j, valid[i], strlen(valid[i])) == 0);

	CHECK(meshsim_json_parse(&j, valid[0], strlen(valid[0])) == 0);
	CHECK(strcmp(meshsim_json_str(&j, "event", NULL), "ready") == 0);
	CHECK(strcmp(meshsim_json_str(&j, "endpoint", NULL), "tcp://10.0.0.5:40117") == 0);
	CHECK(meshsim_json_str(&j, "missing", NULL) == NULL);
	CHECK(!meshsim_json_uint(&j, "name", &u));

	CHECK(meshsim_json_parse(&j, valid[1], strlen(valid[1])) == 0);
	CHECK(meshsim_json_uint(&j, "id", &u) && u == UINT64_MAX);
	const char *name = meshsim_json_str(&j, "name", &len);
	CHECK(name && len == 3 && memcmp(name, "n\0x", 3) == 0);
	const char *text = meshsim_json_str(&j, "text", &len);
	const char want[] = "s1-2 \"q\" \\ / \b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80";
	CHECK(text && len == sizeof want - 1 && memcmp(text, want, len) == 0);

	CHECK(meshsim_json_parse(&j, valid[2], strlen(valid[2])) == 0);
	const struct meshsim_json_field *f = meshsim_json_get(&j, "peers");
	CHECK(f && f->type == MESHSIM_JSON_NESTED);
	CHECK(j.n == 2);

	CHECK(meshsim_json_parse(&j, valid[3], strlen(valid[3])) == 0);
	CHECK(meshsim_json_uint(&j, "b", &u) && u == 1);
	CHECK(!meshsim_json_uint(&j, "e", &u) && !meshsim_json_uint(&j, "f", &u));
	f = meshsim_json_get(&j, "c");
	CHECK(f && f->type == MESHSIM_JSON_BOOL && f->b);
	f = meshsim_json_get(&j, "e");
	CHECK(f && f->type == MESHSIM_JSON_NUMBER && f->num == -2);
	f = meshsim_json_get(&j, "d");
	CHECK(f && f->type == MESHSIM_JSON_NULL);
	meshsim_json_free(&j);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"", "{", "}", "[]", "\"x\"", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1}x",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"raw\ncontrol\"}", "{a:1}", "{\"a\":[1,2}",
		"{\"a\":{\"b\"}}", "{\"a\":1}{\"b\":2}", "{\"a\":99999999999999999999999999999999999"
		"99999999999999999999999999999999}",
	};
	struct meshsim_json j;
	meshsim_json_init(&j);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(meshsim_json_parse(&j, bad[i], strlen(bad[i])) == -1 && j.n == 0);
	/* more members than the cap */
	char many[2048] = "{";
	for (int i = 0; i <= MESHSIM_JSON_MAX_FIELDS; i++) {
		char m[16];
		snprintf(m, sizeof m, "%s\"k%d\":1", i ? "," : "", i);
		strcat(many, m);
	}
	strcat(many, "}");
	CHECK(meshsim_json_parse(&j, many, strlen(many)) == -1);
	/* nesting deeper than the cap */
	char deep[256] = "{\"a\":";
	for (int i = 0; i < MESHSIM_JSON_MAX_DEPTH + 2; i++)
		strcat(deep, "[");
	CHECK(meshsim_json_parse(&j, deep, strlen(deep)) == -1);
	meshsim_json_free(&j);
}

/* Hostile twin: every prefix of a valid line is rejected, every one-byte change and random
 * input is survived. The input is copied to an exact-size heap buffer, so ASan sees any read
 * past its end. */
static void test_hostile(void)
{
	struct meshsim_json j;
	unsigned long prefixes_ok = 0, prefixes = 0;
	meshsim_json_init(&j);
	for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
		size_t len = strlen(valid[v]);
		for (size_t cut = 0; cut < len; cut++) {
			char *p = malloc(cut ? cut : 1);
			memcpy(p, valid[v], cut);
			/* a prefix can only parse if all that was cut is trailing blanks */
			bool only_blanks = strspn(valid[v] + cut, " ") == len - cut;
			int rc = meshsim_json_parse(&j, p, cut);
			prefixes++;
			prefixes_ok += (rc == -1) || only_blanks;
			free(p);
		}
		for (size_t pos = 0; pos < len; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				char *p = malloc(len);
				memcpy(p, valid[v], len);
				p[pos] = (char)(p[pos] ^ (1 << bit));
				(void)meshsim_json_parse(&j, p, len);
				free(p);
			}
		}
	}
	CHECK(prefixes_ok == prefixes);
	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand() % 64);
		char *p = malloc(len ? len : 1);
		static const char alphabet[] = "{}[]\":,\\u0123456789abcdefntrl.-+eE \x01\xff";
		for (size_t k = 0; k < len; k++)
			p[k] = alphabet[rand() % (int)(sizeof alphabet - 1)];
		if (meshsim_json_parse(&j, p, len) == 0)
			CHECK(len >= 2);   /* an accepted input is at least "{}" */
		free(p);
	}
	meshsim_json_free(&j);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_hostile();
	return testlib_done("test_meshsim_json");
}
