/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_json: the JSON escaper and base64 encoder that meshnode's --json output relies on.
 * Escaping is checked against exact expected strings, then hostile inputs (every 1- and 2-byte
 * string, malformed UTF-8, random bytes) must always give a string that a strict decoder in
 * this file accepts, that is well-formed UTF-8 with no raw control bytes, and that decodes back
 * to the input whenever the input was text. Base64 runs the RFC 4648 section 10 vectors and is
 * compared with libsodium's encoder for every length up to 300. The terminal form (json_term)
 * gets the same treatment: exact strings, then every short and random input, and every code
 * point, must come out as well-formed UTF-8 with no byte that could drive a terminal and no
 * invisible or bidi character (only ASCII for a terminal that is not UTF-8).
 */
#include "json.h"
#include "testlib.h"
#include "wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool esc_is(const void *in, size_t len, const char *want)
{
	struct json_buf b;
	json_buf_init(&b);
	json_str(&b, in, len);
	bool ok = !b.failed && b.p && strlen(want) == b.len && memcmp(b.p, want, b.len) == 0;
	json_buf_free(&b);
	return ok;
}

#define ESC(lit, want) esc_is(lit, sizeof lit - 1, want)

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 63));
		return 2;
	}
	o[0] = (unsigned char)(0xe0 | cp >> 12);
	o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
	o[2] = (unsigned char)(0x80 | (cp & 63));
	return 3;
}

/* A strict decoder for what json_str() may produce: a quoted string, escapes limited to the
 * JSON set with lowercase hex, no surrogate escapes (json_str never needs them), no raw byte
 * below 0x20 or DEL, well-formed UTF-8 outside escapes. Writes the decoded bytes to out, which
 * must hold len bytes. Returns the decoded length, or -1. */
static long decode(const char *s, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	if (len < 2 || p[0] != '"' || p[len - 1] != '"')
		return -1;
	if (!json_is_text(p, len))
		return -1;
	for (size_t i = 1; i < len - 1;) {
		unsigned char c = p[i];
		if (c < 0x20 || c == 0x7f || c == '"')
			return -1;
		if (c != '\\') {
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= len - 1)
			return -1;
		unsigned char e = p[i + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != 'u' && simple && e) {
			static const char map[] = "\"\\/\b\f\n\r\t";
			out[o++] = (unsigned char)map[simple - "\"\\/bfnrt"];
			i += 2;
			continue;
		}
		if (e != 'u' || len - 1 - i < 6)
			return -1;
		unsigned cp = 0;
		for (size_t k = 2; k < 6; k++) {
			int v = hexval(p[i + k]);
			if (v < 0)
				return -1;
			cp = cp << 4 | (unsigned)v;
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			return -1;
		o += put_utf8(out + o, cp);
		i += 6;
	}
	return (long)o;
}

/* Escapes in, checks the output is valid and, for text, that it round-trips. */
static void check_hostile(const unsigned char *in, size_t len)
{
	struct json_buf b;
	json_buf_init(&b);
	json_str(&b, in, len);
	CHECK(!b.failed);
	unsigned char *dec = malloc(b.len + 1);
	CHECK(dec != NULL);
	if (dec && !b.failed) {
		long n = decode(b.p, b.len, dec);
		CHECK(n >= 0);
		if (json_is_text(in, len))
			CHECK(n == (long)len && memcmp(dec, in, len) == 0);
	}
	free(dec);
	json_buf_free(&b);
}

static void test_escape_exact(void)
{
	CHECK(ESC("", "\"\""));
	CHECK(ESC("hello, world", "\"hello, world\""));
	CHECK(ESC("say \"hi\"", "\"say \\\"hi\\\"\""));
	CHECK(ESC("a\\b", "\"a\\\\b\""));
	CHECK(ESC("/", "\"/\""));
	CHECK(ESC("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""));
	CHECK(ESC("\x01\x1f", "\"\\u0001\\u001f\""));
	CHECK(ESC("\x1b[31mred", "\"\\u001b[31mred\""));
	CHECK(ESC("\x7f", "\"\\u007f\""));
	CHECK(ESC("a\0b", "\"a\\u0000b\""));

	/* Well-formed UTF-8 passes through as it is: 2-, 3- and 4-byte forms and the edges. */
	CHECK(ESC("h\xc3\xa9llo", "\"h\xc3\xa9llo\""));
	CHECK(ESC("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""));
	CHECK(ESC("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""));
	CHECK(ESC("\xc2\xa0", "\"\xc2\xa0\""));                 /* U+00A0 */
	CHECK(ESC("\xed\x9f\xbf", "\"\xed\x9f\xbf\""));         /* U+D7FF */
	CHECK(ESC("\xee\x80\x80", "\"\xee\x80\x80\""));         /* U+E000 */
	CHECK(ESC("\xef\xbf\xbf", "\"\xef\xbf\xbf\""));         /* U+FFFF */
	CHECK(ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""));/* U+10FFFF */

	/* C1 controls and the JavaScript line separators are escaped. */
	CHECK(ESC("\xc2\x80", "\"\\u0080\""));
	CHECK(ESC("\xc2\x9b" "2J", "\"\\u009b2J\""));
	CHECK(ESC("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\""));
	CHECK(ESC("\xe2\x80\xa7", "\"\xe2\x80\xa7\""));         /* U+2027 is ordinary */

	/* Malformed UTF-8: every byte that does not start a well-formed sequence is U+FFFD. */
	CHECK(ESC("\x80", "\"\\ufffd\""));
	CHECK(ESC("\xff", "\"\\ufffd\""));
	CHECK(ESC("\xfe\xfe", "\"\\ufffd\\ufffd\""));
	CHECK(ESC("\xc0\xaf", "\"\\ufffd\\ufffd\""));           /* overlong '/' */
	CHECK(ESC("\xc1\xbf", "\"\\ufffd\\ufffd\""));
	CHECK(ESC("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""));/* overlong, 3 bytes */
	CHECK(ESC("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""));
	CHECK(ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""));/* surrogate U+D800 */
	CHECK(ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"")); /* U+110000 */
	CHECK(ESC("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""));
	CHECK(ESC("a\xe6\x97", "\"a\\ufffd\\ufffd\""));         /* truncated at the end */
	CHECK(ESC("a\xe6\x97z", "\"a\\ufffd\\ufffdz\""));       /* truncated in the middle */
	CHECK(ESC("\xc3" "\"", "\"\\ufffd\\\"\""));             /* a quote cannot hide in a tail */
	CHECK(ESC("\xe2\x80", "\"\\ufffd\\ufffd\""));
}

static void test_escape_hostile(void)
{
	unsigned char in[4];
	for (unsigned a = 0; a < 256; a++) {
		in[0] = (unsigned char)a;
		check_hostile(in, 1);
		for (unsigned c = 0; c < 256; c++) {
			in[1] = (unsigned char)c;
			check_hostile(in, 2);
		}
	}
	/* Three- and four-byte strings built from the bytes that matter to UTF-8 decoding. */
	static const unsigned char edge[] = { 0x00, 0x22, 0x5c, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
	                                      0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0,
	                                      0xf4, 0xf5, 0xff };
	size_t ne = sizeof edge;
	for (size_t i = 0; i < ne; i++)
		for (size_t j = 0; j < ne; j++)
			for (size_t k = 0; k < ne; k++)
				for (size_t l = 0; l < ne; l++) {
					in[0] = edge[i];
					in[1] = edge[j];
					in[2] = edge[k];
					in[3] = edge[l];
					check_hostile(in, 3);
					check_hostile(in, 4);
				}
	unsigned char rnd[257];
	for (int r = 0; r < 2000; r++) {
		size_t len = (size_t)randombytes_uniform((uint32_t)sizeof rnd);
		randombytes_buf(rnd, len);
		check_hostile(rnd, len);
	}
}

static void test_is_text(void)
{
	CHECK(json_is_text("", 0));
	CHECK(json_is_text("hello", 5));
	CHECK(json_is_text("h\xc3\xa9", 3));
	CHECK(json_is_text("\xf0\x9f\x98\x80", 4));
	CHECK(json_is_text("\x1b\x7f", 2));          /* control characters are still text */
	CHECK(!json_is_text("a\0b", 3));             /* NUL is not */
	CHECK(!json_is_text("\x80", 1));
	CHECK(!json_is_text("\xc3", 1));
	CHECK(!json_is_text("\xc0\x80", 2));         /* overlong NUL */
	CHECK(!json_is_text("\xed\xb0\x80", 3));     /* surrogate */
	CHECK(!json_is_text("\xf4\x90\x80\x80", 4));
	CHECK(!json_is_text("\xff\xfe", 2));

	unsigned char s[4] = { 0xe2, 0x82, 0xac, 0 };
	CHECK(wire_utf8_seq(s, 3) == 3);
	CHECK(wire_utf8_seq(s, 2) == 0);             /* never reads past len */
	CHECK(wire_utf8_seq((const unsigned char *)"A", 1) == 1);
}

/* ---- json_term ------------------------------------------------------------------------- */

static bool term_is(const void *in, size_t len, unsigned flags, const char *want)
{
	struct json_buf b;
	json_buf_init(&b);
	json_term(&b, in, len, flags);
	bool ok = !b.failed && strlen(want) == b.len && (b.len == 0 || memcmp(b.p, want, b.len) == 0);
	json_buf_free(&b);
	return ok;
}

#define TERM(lit, want) term_is(lit, sizeof lit - 1, 0, want)
#define TERM_ML(lit, want) term_is(lit, sizeof lit - 1, JSON_TERM_MULTILINE, want)
#define TERM_A(lit, want) term_is(lit, sizeof lit - 1, JSON_TERM_ASCII, want)
#define TERM_AML(lit, want) \
	term_is(lit, sizeof lit - 1, JSON_TERM_ASCII | JSON_TERM_MULTILINE, want)
#define FFFD "\xef\xbf\xbd"

static void test_term_exact(void)
{
	CHECK(TERM("", ""));
	CHECK(TERM("bob the builder", "bob the builder"));
	CHECK(TERM("\"quoted\" \\ /", "\"quoted\" \\ /"));

	/* C0 controls and DEL in caret notation; in a name even newline and tab. */
	CHECK(TERM("evil\x1b[31mred", "evil^[[31mred"));
	CHECK(TERM("a\rb\nc\td", "a^Mb^Jc^Id"));
	CHECK(TERM("\x07\x7f", "^G^?"));
	CHECK(TERM("a\0b", "a^@b"));
	CHECK(TERM("\x1f", "^_"));

	/* In a message, a newline starts an indented line and a tab stays; the rest as above. */
	CHECK(TERM_ML("one\n* bob left (bye)", "one\n    * bob left (bye)"));
	CHECK(TERM_ML("a\tb", "a\tb"));
	CHECK(TERM_ML("a\r\nb", "a^M\n    b"));
	CHECK(TERM_ML("\x1b]0;title\x07", "^[]0;title^G"));

	/* Well-formed, visible UTF-8 passes, joiners and variation selectors included. */
	CHECK(TERM("h\xc3\xa9llo", "h\xc3\xa9llo"));
	CHECK(TERM("\xe6\x97\xa5\xf0\x9f\x98\x80", "\xe6\x97\xa5\xf0\x9f\x98\x80"));
	CHECK(TERM("\xc2\xa0", "\xc2\xa0"));                 /* U+00A0, first after C1 */
	CHECK(TERM("\xc2\xac\xc2\xae", "\xc2\xac\xc2\xae")); /* U+00AC, U+00AE around U+00AD */
	CHECK(TERM("\xe2\x80\x8c\xe2\x80\x8d", "\xe2\x80\x8c\xe2\x80\x8d")); /* U+200C, U+200D */
	CHECK(TERM("\xe2\x80\x8a\xe2\x80\xa7", "\xe2\x80\x8a\xe2\x80\xa7")); /* U+200A, U+2027 */
	CHECK(TERM("\xe2\x80\xaf\xe2\x81\x9f", "\xe2\x80\xaf\xe2\x81\x9f")); /* U+202F, U+205F */
	CHECK(TERM("\xe2\x81\xb0", "\xe2\x81\xb0"));         /* U+2070 */
	CHECK(TERM("\xe2\x9d\xa4\xef\xb8\x8f", "\xe2\x9d\xa4\xef\xb8\x8f")); /* heart + VS16 */
	CHECK(TERM("\xe1\xa0\x8b\xe1\xa0\x8f", "\xe1\xa0\x8b\xe1\xa0\x8f")); /* U+180B, U+180F */
	CHECK(TERM("\xf3\xa0\x84\x80\xf3\xa0\x87\xaf", "\xf3\xa0\x84\x80\xf3\xa0\x87\xaf"));
	                                                     /* U+E0100, U+E01EF */
	CHECK(TERM("\xef\xbf\xbc\xef\xbf\xbd", "\xef\xbf\xbc" FFFD)); /* U+FFFC, a real U+FFFD */

	/* C1 controls, bidi controls and invisible format characters become <U+XXXX>. */
	CHECK(TERM("\xc2\x80", "<U+0080>"));
	CHECK(TERM("\xc2\x9b" "2J", "<U+009B>2J"));             /* 8-bit CSI */
	CHECK(TERM("\xc2\x9f", "<U+009F>"));
	CHECK(TERM("\xc2\xad", "<U+00AD>"));                    /* soft hyphen */
	CHECK(TERM("\xcd\x8f", "<U+034F>"));
	CHECK(TERM("\xd8\x9c", "<U+061C>"));
	CHECK(TERM("\xe1\x85\x9f\xe1\x85\xa0", "<U+115F><U+1160>"));
	CHECK(TERM("\xe1\x9e\xb4\xe1\x9e\xb5", "<U+17B4><U+17B5>"));
	CHECK(TERM("\xe1\xa0\x8e", "<U+180E>"));
	CHECK(TERM("\xe2\x80\x8b", "<U+200B>"));
	CHECK(TERM("\xe2\x80\x8e\xe2\x80\x8f", "<U+200E><U+200F>"));
	CHECK(TERM("\xe2\x80\xa8\xe2\x80\xae", "<U+2028><U+202E>"));
	CHECK(TERM("evil\xe2\x80\xaeoll", "evil<U+202E>oll"));
	CHECK(TERM("\xe2\x81\xa0\xe2\x81\xa6\xe2\x81\xa9\xe2\x81\xaf",
	           "<U+2060><U+2066><U+2069><U+206F>"));
	CHECK(TERM("\xe3\x85\xa4", "<U+3164>"));
	CHECK(TERM("\xef\xbb\xbf", "<U+FEFF>"));
	CHECK(TERM("\xef\xbe\xa0", "<U+FFA0>"));
	CHECK(TERM("\xef\xbf\xb0\xef\xbf\xbb", "<U+FFF0><U+FFFB>"));
	CHECK(TERM("\xf0\x9b\xb2\xa0", "<U+1BCA0>"));
	CHECK(TERM("\xf0\x9d\x85\xb3\xf0\x9d\x85\xba", "<U+1D173><U+1D17A>"));
	CHECK(TERM("\xf3\xa0\x80\x81\xf3\xa0\x81\x81", "<U+E0001><U+E0041>")); /* tags */
	CHECK(TERM("\xf3\xa0\x83\xbf\xf3\xa0\x87\xb0", "<U+E00FF><U+E01F0>"));
	CHECK(TERM("\xf3\xa0\xbf\xbf", "<U+E0FFF>"));
	CHECK(TERM("\xf3\xa1\x80\x80", "\xf3\xa1\x80\x80"));  /* U+E1000, past the range */

	/* Malformed UTF-8: one U+FFFD per byte, a raw 0x9b (CSI) included. */
	CHECK(TERM("\x9b" "31m", FFFD "31m"));
	CHECK(TERM("\xff\xfe", FFFD FFFD));
	CHECK(TERM("\xc0\x9b", FFFD FFFD));
	CHECK(TERM("\xed\xa0\x80", FFFD FFFD FFFD));
	CHECK(TERM("a\xe6\x97", "a" FFFD FFFD));
	CHECK(TERM("\xe2\x80\x1b", FFFD FFFD "^["));          /* a control cannot hide in a tail */

	/* For a terminal that is not UTF-8, every non-ASCII character as <U+XXXX>. */
	CHECK(TERM_A("plain ASCII", "plain ASCII"));
	CHECK(TERM_A("h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5", "h<U+00E9>llo <U+2713> <U+65E5>"));
	CHECK(TERM_A("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", "<U+1F600><U+10FFFF>"));
	CHECK(TERM_A("\xc2\x9b\xe2\x80\xae", "<U+009B><U+202E>"));
	CHECK(TERM_A("\x9b\xff", "<U+FFFD><U+FFFD>"));
	CHECK(TERM_A("\x1b\x7f", "^[^?"));
	CHECK(TERM_AML("a\n\t\xc3\xa9", "a\n    \t<U+00E9>"));

	/* A literal "<U+" cannot pass for an escape: "zo<U+00EB>" typed in ASCII must not look
	 * like "zoë" on an ASCII terminal, nor "bob<U+200B>" like "bob\u200b" anywhere. */
	CHECK(TERM_A("zo<U+00EB>", "zo<U+003C>U+00EB>"));
	CHECK(TERM("bob<U+200B>", "bob<U+003C>U+200B>"));
	CHECK(TERM("a <b> <U <u+20> <U+", "a <b> <U <u+20> <U+003C>U+"));
	CHECK(TERM("<<U+", "<<U+003C>U+"));
	CHECK(!json_term_clean("zo<U+00EB>", 10, 0));
	CHECK(!json_term_clean("zo<U+00EB>", 10, JSON_TERM_ASCII));
	CHECK(json_term_clean("a <b> <U <u+", 12, 0));

	CHECK(json_term_clean("", 0, 0));
	CHECK(json_term_clean("bob the \"builder\"", 17, 0));
	CHECK(json_term_clean("h\xc3\xa9", 3, 0));
	CHECK(!json_term_clean("h\xc3\xa9", 3, JSON_TERM_ASCII));
	CHECK(json_term_clean("bob", 3, JSON_TERM_ASCII));
	CHECK(!json_term_clean("a\tb", 3, 0));
	CHECK(!json_term_clean("a\tb", 3, JSON_TERM_MULTILINE));
	CHECK(!json_term_clean("\x1b", 1, 0));
	CHECK(!json_term_clean("\x7f", 1, 0));
	CHECK(!json_term_clean("\xc2\x9b", 2, 0));
	CHECK(!json_term_clean("\xe2\x80\xae", 3, 0));
	CHECK(!json_term_clean("\xe2\x80\x8b", 3, 0));
	CHECK(!json_term_clean("\x9b", 1, 0));
	CHECK(!json_term_clean("a\xe6\x97", 3, 0));

	CHECK(json_utf8_decode((const unsigned char *)"A", 1) == 0x41);
	CHECK(json_utf8_decode((const unsigned char *)"\xc3\xa9", 2) == 0xe9);
	CHECK(json_utf8_decode((const unsigned char *)"\xe2\x80\xae", 3) == 0x202e);
	CHECK(json_utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4) == 0x10ffff);
}

/* The oracle for hidden code points, written out from docs/usage.md rather than shared with
 * json.c, so that a slip in either shows up. */
static bool oracle_hidden(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x34f || c == 0x61c ||
	       c == 0x115f || c == 0x1160 || c == 0x17b4 || c == 0x17b5 || c == 0x180e ||
	       c == 0x200b || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0x3164 || c == 0xfeff || c == 0xffa0 ||
	       (c >= 0xfff0 && c <= 0xfffb) || (c >= 0x1bca0 && c <= 0x1bca3) ||
	       (c >= 0x1d173 && c <= 0x1d17a) || (c >= 0xe0000 && c <= 0xe00ff) ||
	       (c >= 0xe01f0 && c <= 0xe0fff);
}

static void test_term_hidden_table(void)
{
	bool ok = true;
	for (uint32_t c = 0; c <= 0x10ffff && ok; c++)
		ok = json_term_hidden(c) == oracle_hidden(c);
	CHECK(ok);
}

/* Whatever the input: well-formed UTF-8 out, no C0 control (but newline and tab in multiline
 * form), no DEL and no hidden code point, only ASCII with JSON_TERM_ASCII; and
 * json_term_clean() holds exactly when the single-line form is the input itself. (The form is
 * not clean itself when it holds an escape: its "<U+" would be escaped again.) */
static void check_term_hostile(const unsigned char *in, size_t len)
{
	for (unsigned flags = 0; flags < 4; flags++) {
		bool ml = flags & JSON_TERM_MULTILINE, ascii = flags & JSON_TERM_ASCII;
		struct json_buf b;
		json_buf_init(&b);
		json_term(&b, in, len, flags);
		CHECK(!b.failed);
		const unsigned char *p = (const unsigned char *)(b.p ? b.p : "");
		bool ok = json_is_text(p, b.len);
		for (size_t i = 0; ok && i < b.len;) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				ok = ml && (p[i] == '\n' || p[i] == '\t');
			else if (p[i] >= 0x80)
				ok = !ascii;
			size_t n = wire_utf8_seq(p + i, b.len - i);
			if (n == 0)
				break;                     /* json_is_text() has failed already */
			ok = ok && !oracle_hidden(json_utf8_decode(p + i, n));
			i += n;
		}
		if (!ml) {
			bool same = b.len == len && (len == 0 || memcmp(p, in, len) == 0);
			ok = ok && same == json_term_clean(in, len, flags);
		}
		CHECK(ok);
		json_buf_free(&b);
	}
}

static void test_term_hostile(void)
{
	unsigned char in[4];
	for (unsigned a = 0; a < 256; a++) {
		in[0] = (unsigned char)a;
		check_term_hostile(in, 1);
		for (unsigned c = 0; c < 256; c++) {
			in[1] = (unsigned char)c;
			check_term_hostile(in, 2);
		}
	}
	static const unsigned char edge[] = { 0x00, 0x0a, 0x1b, 0x7f, 0x80, 0x81, 0x8e, 0x9b,
	                                      0x9c, 0x9f, 0xa0, 0xa6, 0xa8, 0xae, 0xbf, 0xc0,
	                                      0xc2, 0xd8, 0xe2, 0xed, 0xf0, 0xf3, 0xf4, 0xff };
	size_t ne = sizeof edge;
	for (size_t i = 0; i < ne; i++)
		for (size_t j = 0; j < ne; j++)
			for (size_t k = 0; k < ne; k++) {
				in[0] = edge[i];
				in[1] = edge[j];
				in[2] = edge[k];
				check_term_hostile(in, 3);
			}
	/* Every code point, alone, as well-formed UTF-8. */
	for (uint32_t c = 0x80; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		size_t n = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		static const unsigned char lead[5] = { 0, 0, 0xc0, 0xe0, 0xf0 };
		for (size_t k = n - 1; k > 0; k--)
			in[k] = (unsigned char)(0x80 | ((c >> (6 * (n - 1 - k))) & 0x3f));
		in[0] = (unsigned char)(lead[n] | (c >> (6 * (n - 1))));
		check_term_hostile(in, n);
	}
	unsigned char rnd[257];
	for (int r = 0; r < 2000; r++) {
		size_t len = (size_t)randombytes_uniform((uint32_t)sizeof rnd);
		randombytes_buf(rnd, len);
		check_term_hostile(rnd, len);
	}
}

static bool b64_is(const char *in, size_t len, const char *want)
{
	struct json_buf b;
	json_buf_init(&b);
	json_base64(&b, in, len);
	size_t wl = strlen(want);
	bool ok = !b.failed && b.len == wl + 2 && b.p[0] == '"' && b.p[wl + 1] == '"' &&
	          memcmp(b.p + 1, want, wl) == 0 && json_base64_len(len) == wl;
	json_buf_free(&b);
	return ok;
}

static void test_base64(void)
{
	/* RFC 4648, section 10. */
	CHECK(b64_is("", 0, ""));
	CHECK(b64_is("f", 1, "Zg=="));
	CHECK(b64_is("fo", 2, "Zm8="));
	CHECK(b64_is("foo", 3, "Zm9v"));
	CHECK(b64_is("foob", 4, "Zm9vYg=="));
	CHECK(b64_is("fooba", 5, "Zm9vYmE="));
	CHECK(b64_is("foobar", 6, "Zm9vYmFy"));
	/* The last two letters of the alphabet, and NUL bytes. */
	CHECK(b64_is("\xfb\xff", 2, "+/8="));
	CHECK(b64_is("\xff\xff\xff", 3, "////"));
	CHECK(b64_is("\0\0\0\0", 4, "AAAAAA=="));

	unsigned char data[300];
	char want[420];
	bool all = true;
	for (size_t len = 0; len <= sizeof data; len++) {
		randombytes_buf(data, len);
		sodium_bin2base64(want, sizeof want, data, len, sodium_base64_VARIANT_ORIGINAL);
		all = all && b64_is((const char *)data, len, want);
	}
	CHECK(all);
	CHECK(json_base64_len(SIZE_MAX) == SIZE_MAX);
}

static void test_buffer(void)
{
	struct json_buf b;
	json_buf_init(&b);
	json_raw(&b, "{\"id\":");
	json_u64(&b, 0);
	json_raw(&b, ",\"max\":");
	json_u64(&b, UINT64_MAX);
	json_raw(&b, ",\"b\":");
	json_bool(&b, true);
	json_raw(&b, ",\"s\":");
	json_cstr(&b, "x\"y");
	json_raw(&b, "}");
	CHECK(!b.failed);
	CHECK(b.p && strcmp(b.p,
	      "{\"id\":0,\"max\":18446744073709551615,\"b\":true,\"s\":\"x\\\"y\"}") == 0);
	json_buf_clear(&b);
	CHECK(b.len == 0 && !b.failed && b.p && b.p[0] == '\0');
	json_bool(&b, false);
	CHECK(strcmp(b.p, "false") == 0);

	/* A megabyte of text grows the buffer many times and still comes out whole. */
	size_t big = 1u << 20;
	char *text = malloc(big);
	CHECK(text != NULL);
	if (text) {
		for (size_t i = 0; i < big; i++)
			text[i] = (char)('a' + i % 26);
		json_buf_clear(&b);
		json_str(&b, text, big);
		CHECK(!b.failed && b.len == big + 2 && memcmp(b.p + 1, text, big) == 0);
		json_buf_clear(&b);
		json_base64(&b, text, big);
		CHECK(!b.failed && b.len == json_base64_len(big) + 2);
		free(text);
	}
	json_buf_free(&b);
	CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
	json_buf_free(&b);                  /* freeing twice is harmless */
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_escape_exact();
	test_escape_hostile();
	test_is_text();
	test_term_exact();
	test_term_hidden_table();
	test_term_hostile();
	test_base64();
	test_buffer();
	return testlib_done("test_json");
}
