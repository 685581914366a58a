/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_json: a strict reader for meshnode's flat JSON lines (see meshsim_json.h). All reads
 * go through a cursor that cannot run past the end and remembers that it failed, so one check
 * at the end decides.
 */
#include "meshsim_json.h"

#include <stdlib.h>
#include <string.h>

struct cur {
	const char *p;
	size_t left;
	bool bad;
	char *out;          /* where the next decoded byte goes */
	size_t out_left;
};

static int peek(const struct cur *c)
{
	return c->bad || c->left == 0 ? -1 : (unsigned char)c->p[0];
}

static void adv(struct cur *c, size_t n)
{
	if (c->bad || n > c->left) {
		c->bad = true;
		return;
	}
	c->p += n;
	c->left -= n;
}

static void ws(struct cur *c)
{
	while (!c->bad && c->left > 0 &&
	       (c->p[0] == ' ' || c->p[0] == '\t' || c->p[0] == '\r' || c->p[0] == '\n'))
		adv(c, 1);
}

static void expect(struct cur *c, char ch)
{
	if (peek(c) != (unsigned char)ch)
		c->bad = true;
	else
		adv(c, 1);
}

static void emit(struct cur *c, unsigned char b)
{
	if (c->bad)
		return;
	if (c->out_left == 0) {
		c->bad = true;      /* cannot happen: the buffer is sized from the input */
		return;
	}
	*c->out++ = (char)b;
	c->out_left--;
}

static void emit_utf8(struct cur *c, uint32_t cp)
{
	if (cp < 0x80) {
		emit(c, (unsigned char)cp);
	} else if (cp < 0x800) {
		emit(c, (unsigned char)(0xc0 | cp >> 6));
		emit(c, (unsigned char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		emit(c, (unsigned char)(0xe0 | cp >> 12));
		emit(c, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		emit(c, (unsigned char)(0x80 | (cp & 0x3f)));
	} else {
		emit(c, (unsigned char)(0xf0 | cp >> 18));
		emit(c, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
		emit(c, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		emit(c, (unsigned char)(0x80 | (cp & 0x3f)));
	}
}

static uint32_t hex4(struct cur *c)
{
	uint32_t v = 0;
	if (c->bad || c->left < 4) {
		c->bad = true;
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		char h = c->p[i];
		uint32_t d;
		if (h >= '0' && h <= '9')
			d = (uint32_t)(h - '0');
		else if (h >= 'a' && h <= 'f')
			d = (uint32_t)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			d = (uint32_t)(h - 'A' + 10);
		else {
			c->bad = true;
			return 0;
		}
		v = v << 4 | d;
	}
	adv(c, 4);
	return v;
}

/* A string at the cursor. With decode, its bytes go to c->out followed by a NUL and *start and
 * *len say where; without, it is only checked. */
static void string(struct cur *c, bool decode, const char **start, size_t *len)
{
	char *begin = c->out;
	expect(c, '"');
	for (;;) {
		int ch = peek(c);
		if (ch < 0) {
			c->bad = true;
			return;
		}
		adv(c, 1);
		if (ch == '"')
			break;
		if (ch < 0x20) {
			c->bad = true;           /* raw control character */
			return;
		}
		if (ch != '\\') {
			if (decode)
				emit(c, (unsigned char)ch);
			continue;
		}
		int e = peek(c);
		adv(c, 1);
		uint32_t cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = hex4(c);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* a high surrogate must be followed by an escaped low one */
				uint32_t lo;
				if (c->left < 2 || c->p[0] != '\\' || c->p[1] != 'u') {
					c->bad = true;
					return;
				}
				adv(c, 2);
				lo = hex4(c);
				if (lo < 0xdc00 || lo > 0xdfff) {
					c->bad = true;
					return;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				c->bad = true;    /* lone low surrogate */
				return;
			}
			break;
		default:
			c->bad = true;
			return;
		}
		if (decode)
			emit_utf8(c, cp);
		if (c->bad)
			return;
	}
	if (decode) {
		if (start)
			*start = begin;
		if (len)
			*len = (size_t)(c->out - begin);
		emit(c, 0);
	}
}

static void number(struct cur *c, struct meshsim_json_field *f)
{
	const char *s = c->p;
	size_t n = 0;
	bool plain = true;
	if (peek(c) == '-') {
		plain = false;
		adv(c, 1);
		n++;
	}
	size_t digits = 0;
	while (peek(c) >= '0' && peek(c) <= '9') {
		adv(c, 1);
		n++;
		digits++;
	}
	if (digits == 0 || (digits > 1 && s[plain ? 0 : 1] == '0')) {
		c->bad = true;                /* no digits, or a leading zero */
		return;
	}
	if (peek(c) == '.') {
		plain = false;
		adv(c, 1);
		n++;
		size_t frac = 0;
		while (peek(c) >= '0' && peek(c) <= '9') {
			adv(c, 1);
			n++;
			frac++;
		}
		if (frac == 0) {
			c->bad = true;
			return;
		}
	}
	if (peek(c) == 'e' || peek(c) == 'E') {
		plain = false;
		adv(c, 1);
		n++;
		if (peek(c) == '+' || peek(c) == '-') {
			adv(c, 1);
			n++;
		}
		size_t exp = 0;
		while (peek(c) >= '0' && peek(c) <= '9') {
			adv(c, 1);
			n++;
			exp++;
		}
		if (exp == 0) {
			c->bad = true;
			return;
		}
	}
	if (c->bad)
		return;
	char tmp[64];
	if (n >= sizeof tmp) {
		c->bad = true;                /* no number meshnode prints is this long */
		return;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	f->type = MESHSIM_JSON_NUMBER;
	f->num = strtod(tmp, NULL);
	f->is_uint = false;
	if (plain && digits <= 20) {
		uint64_t v = 0;
		bool fits = true;
		for (size_t i = 0; i < digits; i++) {
			uint64_t d = (uint64_t)(tmp[i] - '0');
			if (v > (UINT64_MAX - d) / 10) {
				fits = false;
				break;
			}
			v = v * 10 + d;
		}
		if (fits) {
			f->is_uint = true;
			f->u = v;
		}
	}
}

static void literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if (c->bad || c->left < n || memcmp(c->p, word, n) != 0) {
		c->bad = true;
		return;
	}
	adv(c, n);
}

/* Skips any value, arrays and objects included, up to MESHSIM_JSON_MAX_DEPTH deep. */
static void skip_value(struct cur *c, int depth)
{
	struct meshsim_json_field dummy;
	int ch;
	if (depth > MESHSIM_JSON_MAX_DEPTH) {
		c->bad = true;
		return;
	}
	ws(c);
	ch = peek(c);
	if (ch == '"') {
		string(c, false, NULL, NULL);
	} else if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		adv(c, 1);
		ws(c);
		if (peek(c) == (unsigned char)close) {
			adv(c, 1);
			return;
		}
		for (;;) {
			if (close == '}') {
				ws(c);
				string(c, false, NULL, NULL);
				ws(c);
				expect(c, ':');
			}
			skip_value(c, depth + 1);
			ws(c);
			if (c->bad)
				return;
			if (peek(c) == ',') {
				adv(c, 1);
				continue;
			}
			expect(c, close);
			return;
		}
	} else if (ch == 't') {
		literal(c, "true");
	} else if (ch == 'f') {
		literal(c, "false");
	} else if (ch == 'n') {
		literal(c, "null");
	} else {
		number(c, &dummy);
	}
}

static void value(struct cur *c, struct meshsim_json_field *f)
{
	int ch;
	ws(c);
	ch = peek(c);
	if (ch == '"') {
		f->type = MESHSIM_JSON_STRING;
		string(c, true, &f->str, &f->len);
	} else if (ch == '{' || ch == '[') {
		f->type = MESHSIM_JSON_NESTED;
		skip_value(c, 1);
	} else if (ch == 't') {
		f->type = MESHSIM_JSON_BOOL;
		f->b = true;
		literal(c, "true");
	} else if (ch == 'f') {
		f->type = MESHSIM_JSON_BOOL;
		f->b = false;
		literal(c, "false");
	} else if (ch == 'n') {
		f->type = MESHSIM_JSON_NULL;
		literal(c, "null");
	} else {
		number(c, f);
	}
}

void meshsim_json_init(struct meshsim_json *j)
{
	memset(j, 0, sizeof *j);
}

void meshsim_json_free(struct meshsim_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof *j);
}

int meshsim_json_parse(struct meshsim_json *j, const char *line, size_t len)
{
	/* Decoding never makes a string longer than its JSON text (a 6-byte \uXXXX gives at most
	 * 3 bytes, a 12-byte surrogate pair 4), and each key or string adds one NUL, whose quote
	 * characters already paid for it. */
	size_t need = len + 1;
	struct cur c;
	j->n = 0;
	if (need > j->cap) {
		char *nb = realloc(j->buf, need);
		if (!nb)
			return -1;
		j->buf = nb;
		j->cap = need;
	}
	c = (struct cur){ .p = line, .left = len, .out = j->buf, .out_left = j->cap };
	ws(&c);
	expect(&c, '{');
	ws(&c);
	if (peek(&c) == '}') {
		adv(&c, 1);
	} else {
		for (;;) {
			struct meshsim_json_field *f;
			if (j->n == MESHSIM_JSON_MAX_FIELDS) {
				c.bad = true;
				break;
			}
			f = &j->f[j->n];
			memset(f, 0, sizeof *f);
			ws(&c);
			string(&c, true, &f->key, NULL);
			ws(&c);
			expect(&c, ':');
			value(&c, f);
			if (c.bad)
				break;
			j->n++;
			ws(&c);
			if (peek(&c) == ',') {
				adv(&c, 1);
				continue;
			}
			expect(&c, '}');
			break;
		}
	}
	ws(&c);
	if (c.bad || c.left != 0) {
		j->n = 0;
		return -1;
	}
	return 0;
}

const struct meshsim_json_field *meshsim_json_get(const struct meshsim_json *j, const char *key)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->f[i].key, key) == 0)
			return &j->f[i];
	return NULL;
}

const char *meshsim_json_str(const struct meshsim_json *j, const char *key, size_t *len)
{
	const struct meshsim_json_field *f = meshsim_json_get(j, key);
	if (!f || f->type != MESHSIM_JSON_STRING)
		return NULL;
	if (len)
		*len = f->len;
	return f->str;
}

bool meshsim_json_uint(const struct meshsim_json *j, const char *key, uint64_t *out)
{
	const struct meshsim_json_field *f = meshsim_json_get(j, key);
	if (!f || f->type != MESHSIM_JSON_NUMBER || !f->is_uint)
		return false;
	*out = f->u;
	return true;
}
