/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * json: output-side JSON helpers for the meshnode program, and the terminal-safe form of the
 * same untrusted text (see json.h for the invariants).
 */
#include "json.h"

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

size_t json_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;    /* allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c < 0xc2)                           /* continuation byte, or overlong C0/C1 */
		return 0;
	if (c < 0xe0) {
		n = 2;
	} else if (c < 0xf0) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;                      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;                      /* UTF-16 surrogates */
	} else if (c < 0xf5) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;                      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;                      /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

bool json_is_text(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		if (p[i] == 0)
			return false;
		size_t n = json_utf8_seq(p + i, len - i);
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
			size_t n = json_utf8_seq(p + i, len - i);
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

/* Bidirectional overrides and isolates can make a name or message display as something
 * else ("evil" shown as "live"), so they never reach the terminal. */
static bool is_bidi_control(const unsigned char *s, size_t n)
{
	if (n == 2)
		return s[0] == 0xd8 && s[1] == 0x9c;                          /* U+061C */
	if (n != 3 || s[0] != 0xe2)
		return false;
	if (s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f ||                        /* U+200E, U+200F */
		       (s[2] >= 0xa8 && s[2] <= 0xae);                        /* U+2028..U+202E */
	return s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9;              /* U+2066..U+2069 */
}

/* The non-ASCII unit at the start of s (len > 0, s[0] >= 0x80): returns how many bytes it
 * takes and sets *keep when they may reach the terminal as they are. */
static size_t term_unit(const unsigned char *s, size_t len, bool *keep)
{
	size_t n = json_utf8_seq(s, len);
	if (n == 0) {
		*keep = false;
		return 1;
	}
	*keep = !(n == 2 && s[0] == 0xc2 && s[1] < 0xa0) && !is_bidi_control(s, n);
	return n;
}

void json_term(struct json_buf *b, const void *s, size_t len, bool multiline)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f)
			run++;
		if (run > i) {
			json_raw_n(b, p + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
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
		bool keep;
		size_t n = term_unit(p + i, len - i, &keep);
		if (keep)
			json_raw_n(b, p + i, n);
		else
			json_raw(b, REPLACEMENT);
		i += n;
	}
}

bool json_term_clean(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		bool keep;
		i += term_unit(p + i, len - i, &keep);
		if (!keep)
			return false;
	}
	return true;
}
