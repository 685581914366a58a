/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * json: output-side JSON helpers for the meshnode program, and the terminal-safe form of the
 * same untrusted text (see json.h for the invariants).
 */
#include "json.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void json_buf_init(struct json_buf *b)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void json_buf_clear(struct json_buf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->len);
		b->p[0] = '\0';
	}
	b->len = 0;
	b->failed = false;
}

void json_buf_free(struct json_buf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	json_buf_init(b);
}

/* Makes room for extra more bytes plus the NUL. realloc() would leave a copy of the old
 * contents (possibly plaintext) in freed memory, so we copy and wipe by hand. */
static bool reserve(struct json_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (extra > SIZE_MAX - 1 - b->len)
		goto fail;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	char *p = malloc(cap);
	if (!p)
		goto fail;
	if (b->p) {
		memcpy(p, b->p, b->len + 1);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

void json_raw_n(struct json_buf *b, const void *s, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void json_raw(struct json_buf *b, const char *s)
{
	json_raw_n(b, s, strlen(s));
}

bool json_is_text(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		if (p[i] == 0)
			return false;
		size_t n = wire_utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void put_u_escape(struct json_buf *b, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15],
	              hex[v & 15] };
	json_raw_n(b, e, sizeof e);
}

void json_str(struct json_buf *b, const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;

	/* Worst case is six output bytes per input byte; reserving the common case up front keeps
	 * a megabyte of text from growing the buffer many times. */
	if (!reserve(b, len + 2))
		return;
	json_raw_n(b, "\"", 1);
	while (i < len) {
		/* Copy the longest run that needs no escaping in one go. */
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			json_raw_n(b, p + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			json_raw_n(b, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\b': json_raw_n(b, "\\b", 2); break;
			case '\f': json_raw_n(b, "\\f", 2); break;
			case '\n': json_raw_n(b, "\\n", 2); break;
			case '\r': json_raw_n(b, "\\r", 2); break;
			case '\t': json_raw_n(b, "\\t", 2); break;
			default: put_u_escape(b, c); break;
			}
			i++;
		} else {
			size_t n = wire_utf8_seq(p + i, len - i);
			if (n == 0) {
				put_u_escape(b, 0xfffd);
				i++;
			} else if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
				put_u_escape(b, p[i + 1]);      /* C1 control, U+0080..U+009F */
				i += 2;
			} else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
			           (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
				/* U+2028 or U+2029 */
				put_u_escape(b, 0x2000u + (unsigned)(p[i + 2] - 0x80));
				i += 3;
			} else {
				json_raw_n(b, p + i, n);
				i += n;
			}
		}
	}
	json_raw_n(b, "\"", 1);
}

void json_cstr(struct json_buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}

void json_u64(struct json_buf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	json_raw_n(b, d + i, sizeof d - i);
}

void json_bool(struct json_buf *b, bool v)
{
	json_raw(b, v ? "true" : "false");
}

size_t json_base64_len(size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);
	if (groups > SIZE_MAX / 4)
		return SIZE_MAX;
	return groups * 4;
}

void json_base64(struct json_buf *b, const void *data, size_t len)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t out = json_base64_len(len);

	if (out == SIZE_MAX || out > SIZE_MAX - 2) {
		b->failed = true;
		return;
	}
	if (!reserve(b, out + 2))
		return;
	char *w = b->p + b->len;
	*w++ = '"';
	size_t i = 0;
	for (; len - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*w++ = alpha[v >> 18];
		*w++ = alpha[(v >> 12) & 63];
		*w++ = alpha[(v >> 6) & 63];
		*w++ = alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*w++ = alpha[v >> 18];
		*w++ = alpha[(v >> 12) & 63];
		*w++ = '=';
		*w++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*w++ = alpha[v >> 18];
		*w++ = alpha[(v >> 12) & 63];
		*w++ = alpha[(v >> 6) & 63];
		*w++ = '=';
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
}

/* ---- Text for a terminal ---------------------------------------------------------------- */

static const char REPLACEMENT[] = "\xef\xbf\xbd";   /* U+FFFD */

uint32_t json_utf8_decode(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

/* Sorted, disjoint. Default_Ignorable_Code_Point (Unicode 15.1 DerivedCoreProperties.txt)
 * without U+200C, U+200D and the variation selectors (U+180B..U+180D, U+180F, U+FE00..U+FE0F,
 * U+E0100..U+E01EF), plus C1, the line and paragraph separators and the interlinear annotation
 * characters. Terminals draw these as nothing (or reorder the text around them), so a name or a
 * message could hide text or pass for another ("evil" shown as "live"). */
static const struct { uint32_t lo, hi; } hidden[] = {
	{ 0x0080, 0x009f },     /* C1 controls: 0x9b is CSI on an 8-bit terminal */
	{ 0x00ad, 0x00ad },     /* soft hyphen */
	{ 0x034f, 0x034f },     /* combining grapheme joiner */
	{ 0x061c, 0x061c },     /* arabic letter mark */
	{ 0x115f, 0x1160 },     /* hangul choseong and jungseong fillers */
	{ 0x17b4, 0x17b5 },     /* khmer inherent vowels */
	{ 0x180e, 0x180e },     /* mongolian vowel separator */
	{ 0x200b, 0x200b },     /* zero width space */
	{ 0x200e, 0x200f },     /* left-to-right and right-to-left marks */
	{ 0x2028, 0x202e },     /* line and paragraph separators, bidi embeddings and overrides */
	{ 0x2060, 0x206f },     /* word joiner, invisible operators, bidi isolates, old format */
	{ 0x3164, 0x3164 },     /* hangul filler */
	{ 0xfeff, 0xfeff },     /* zero width no-break space (byte order mark) */
	{ 0xffa0, 0xffa0 },     /* halfwidth hangul filler */
	{ 0xfff0, 0xfffb },     /* unassigned specials, interlinear annotation */
	{ 0x1bca0, 0x1bca3 },   /* shorthand format controls */
	{ 0x1d173, 0x1d17a },   /* musical symbol format controls */
	{ 0xe0000, 0xe00ff },   /* tags, which can spell out invisible ASCII */
	{ 0xe01f0, 0xe0fff },   /* unassigned, default ignorable */
};

bool json_term_hidden(uint32_t cp)
{
	size_t lo = 0, hi = sizeof hidden / sizeof hidden[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < hidden[mid].lo)
			hi = mid;
		else if (cp > hidden[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static void put_code_point(struct json_buf *b, uint32_t cp)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[12] = "<U+";
	size_t n = 3;
	int digits = cp > 0xfffff ? 6 : cp > 0xffff ? 5 : 4;
	for (int d = digits - 1; d >= 0; d--)
		e[n++] = hex[(cp >> (4 * d)) & 15];
	e[n++] = '>';
	json_raw_n(b, e, n);
}

/* The non-ASCII unit at the start of s (len > 0, s[0] >= 0x80): how many bytes it takes, and
 * in *cp what it shows as: its code point, or U+FFFD for a byte that is not well-formed UTF-8.
 * Returns in *keep whether its bytes may reach the terminal as they are. */
static size_t term_unit(const unsigned char *s, size_t len, unsigned flags, uint32_t *cp,
                        bool *keep)
{
	size_t n = wire_utf8_seq(s, len);
	if (n == 0) {
		*cp = 0xfffd;
		*keep = false;
		return 1;
	}
	*cp = json_utf8_decode(s, n);
	*keep = !(flags & JSON_TERM_ASCII) && !json_term_hidden(*cp);
	return n;
}

/* A '<' that starts "<U+" in the text itself: shown as <U+003C>, or it could pass for one of
 * our escapes ("zo<U+00EB>" for "zoë" on an ASCII terminal). */
static bool forged_escape(const unsigned char *p, size_t len, size_t i)
{
	return p[i] == '<' && len - i >= 3 && p[i + 1] == 'U' && p[i + 2] == '+';
}

void json_term(struct json_buf *b, const void *s, size_t len, unsigned flags)
{
	const unsigned char *p = s;
	bool multiline = flags & JSON_TERM_MULTILINE;
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && !forged_escape(p, len, run))
			run++;
		if (run > i) {
			json_raw_n(b, p + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
		if (c == '<') {
			put_code_point(b, '<');
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			if (multiline && c == '\n') {
				json_raw(b, "\n    ");
			} else if (multiline && c == '\t') {
				json_raw(b, "\t");
			} else {
				char caret[2] = { '^', (char)(c ^ 0x40) };
				json_raw_n(b, caret, 2);
			}
			i++;
			continue;
		}
		uint32_t cp;
		bool keep;
		size_t n = term_unit(p + i, len - i, flags, &cp, &keep);
		if (keep)
			json_raw_n(b, p + i, n);
		else if (cp == 0xfffd && !(flags & JSON_TERM_ASCII))
			json_raw(b, REPLACEMENT);
		else
			put_code_point(b, cp);
		i += n;
	}
}

bool json_term_clean(const void *s, size_t len, unsigned flags)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f || forged_escape(p, len, i))
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		bool keep;
		i += term_unit(p + i, len - i, flags, &cp, &keep);
		if (!keep)
			return false;
	}
	return true;
}
