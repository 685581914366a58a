/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_wire: mesh/wire.c against docs/protocol.md sections 2, 3, 3.1, 3.2, 3.3 and 6.
 *
 * Every happy path has hostile twins: each valid encoding is truncated at every offset (each
 * prefix in an exact-size heap buffer, so ASan sees any over-read), gets each byte xor'ed with
 * 0x01, 0x80 and 0xff, and grows a trailing byte. A mutated input may still decode; then every
 * invariant of the decoded struct must hold and it must survive encode + decode unchanged.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "testlib.h"
#include "wire_eq.h"

static uint8_t buf[WIRE_MAX_FRAME + 64];
static uint8_t rt[WIRE_MAX_FRAME + 64];

/* ------------------------------------------------------------------ helpers */

/* Hex with optional spaces; returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	char tmp[4096];
	size_t n = 0;
	for (; *hex != '\0' && n + 1 < sizeof tmp; hex++)
		if (*hex != ' ')
			tmp[n++] = *hex;
	tmp[n] = '\0';
	long r = testlib_unhex(tmp, out, cap);
	CHECK(r >= 0);
	return r < 0 ? 0 : (size_t)r;
}

static bool zeroed(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* q[0..len) lies inside p[0..n) (an empty span may sit at p + n). */
static bool inside(const void *q, size_t len, const uint8_t *p, size_t n)
{
	uintptr_t off = (uintptr_t)q - (uintptr_t)p;
	return off <= n && len <= n - off;
}

static struct wire_str S(const char *s)
{
	struct wire_str w = { s, strlen(s) };
	return w;
}

/* Invariant failures inside the decode adapters below; each test checks there were none. */
static unsigned long inv_failures;
#define INV(c)                                                                              \
	do {                                                                                \
		if (!(c)) {                                                                 \
			inv_failures++;                                                     \
			fprintf(stderr, "invariant failed %s:%d: %s\n", __FILE__, __LINE__, #c); \
		}                                                                           \
	} while (0)

/* ------------------------------------------------------------------ decode adapters */

/* Each decodes, and on success checks every invariant and decode(encode(x)) == x. */
typedef enum mesh_err (*decode_fn)(const uint8_t *p, size_t n);

static bool frame_eq(const struct wire_frame *a, const struct wire_frame *b)
{
	return a->type == b->type && a->rx_sid == b->rx_sid && a->tx_sid == b->tx_sid &&
	       a->counter == b->counter && bytes_eq(a->body, a->body_len, b->body, b->body_len);
}

static enum mesh_err dec_beacon(const uint8_t *p, size_t n)
{
	struct wire_beacon b, c;
	size_t len;
	enum mesh_err rc = wire_beacon_decode(p, n, &b);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&b, sizeof b));
		return rc;
	}
	INV(n <= WIRE_MAX_BEACON && inside(b.blob, b.blob_len, p, n));
	INV(wire_beacon_encode(b.sealed, b.blob, b.blob_len, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_beacon_decode(rt, len, &c) == MESH_OK && c.sealed == b.sealed &&
	    bytes_eq(b.blob, b.blob_len, c.blob, c.blob_len));
	return rc;
}

static enum mesh_err dec_signed(const uint8_t *p, size_t n)
{
	struct wire_signed s, t;
	size_t len;
	enum mesh_err rc = wire_signed_decode(p, n, &s);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&s, sizeof s));
		return rc;
	}
	INV(inside(s.body, s.body_len, p, n) && inside(s.sig, WIRE_SIGLEN, p, n));
	INV(wire_signed_encode(s.body, s.body_len, s.sig, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_signed_decode(rt, len, &t) == MESH_OK &&
	    bytes_eq(s.body, s.body_len, t.body, t.body_len) &&
	    memcmp(s.sig, t.sig, WIRE_SIGLEN) == 0);
	return rc;
}

static enum mesh_err dec_body(const uint8_t *p, size_t n)
{
	struct wire_beacon_body b, c;
	size_t len;
	enum mesh_err rc = wire_beacon_body_decode(p, n, &b);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&b, sizeof b));
		return rc;
	}
	INV(b.port != 0 && b.incarnation != 0);
	INV(wire_beacon_body_encode(&b, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_beacon_body_decode(rt, len, &c) == MESH_OK && memcmp(&b, &c, sizeof b) == 0);
	return rc;
}

static enum mesh_err dec_frame(const uint8_t *p, size_t n)
{
	struct wire_frame f, g;
	size_t len;
	enum mesh_err rc = wire_frame_decode(p, n, &f);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&f, sizeof f));
		return rc;
	}
	INV(inside(f.body, f.body_len, p, n) && f.body_len <= WIRE_MAX_NOISE);
	switch (f.type) {
	case WIRE_HELLO: INV(f.tx_sid != 0 && f.rx_sid == 0 && f.counter == 0); break;
	case WIRE_REPLY: INV(f.tx_sid != 0 && f.rx_sid != 0 && f.counter == 0); break;
	case WIRE_FINISH: INV(f.tx_sid == 0 && f.rx_sid != 0 && f.counter == 0); break;
	case WIRE_DATA: INV(f.tx_sid == 0 && f.rx_sid != 0); break;
	default: INV(false); break;
	}
	INV(wire_frame_encode(&f, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_frame_decode(rt, len, &g) == MESH_OK && frame_eq(&f, &g));
	return rc;
}

static enum mesh_err dec_hello(const uint8_t *p, size_t n)
{
	static struct wire_hello h, g;
	size_t len;
	enum mesh_err rc = wire_hello_decode(p, n, &h);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&h, sizeof h));
		return rc;
	}
	INV(h.name.len >= 1 && h.name.len <= WIRE_MAX_NAME && inside(h.name.p, h.name.len, p, n));
	INV(wire_utf8_valid(h.name.p, h.name.len) && h.incarnation != 0);
	INV(h.ngroups <= WIRE_MAX_GROUPS);
	for (size_t i = 0; i < h.ngroups && i < WIRE_MAX_GROUPS; i++) {
		struct wire_str s = h.groups[i];
		INV(s.len >= 1 && s.len <= WIRE_MAX_GROUP && inside(s.p, s.len, p, n));
		INV(wire_utf8_valid(s.p, s.len));
		for (size_t j = 0; j < i; j++)
			INV(!wstr_eq(s, h.groups[j]));
	}
	INV(wire_hello_encode(&h, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_hello_decode(rt, len, &g) == MESH_OK && hello_eq(&h, &g));
	return rc;
}

static enum mesh_err dec_reply(const uint8_t *p, size_t n)
{
	struct wire_reply_payload r, q;
	size_t len;
	enum mesh_err rc = wire_reply_payload_decode(p, n, &r);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&r, sizeof r));
		return rc;
	}
	INV(r.incarnation != 0);
	INV(wire_reply_payload_encode(&r, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_reply_payload_decode(rt, len, &q) == MESH_OK && memcmp(&r, &q, sizeof r) == 0);
	return rc;
}

/* An ACCEPT, whole; and wire_msg_decode agrees with it (name, number of groups). */
static enum mesh_err dec_accept(const uint8_t *p, size_t n)
{
	static struct wire_accept a, b;
	struct wire_msg m;
	size_t len;
	enum mesh_err rc = wire_accept_decode(p, n, &a);
	enum mesh_err mrc = wire_msg_decode(p, n, &m);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&a, sizeof a));
		INV(mrc != MESH_OK || m.type != WIRE_ACCEPT);
		return rc;
	}
	INV(mrc == MESH_OK && m.type == WIRE_ACCEPT && wstr_eq(m.name, a.name) &&
	    m.ngroups == a.ngroups);
	INV(a.name.len >= 1 && a.name.len <= WIRE_MAX_NAME && inside(a.name.p, a.name.len, p, n));
	INV(wire_name_valid(a.name.p, a.name.len) && a.ngroups <= WIRE_MAX_GROUPS);
	for (size_t i = 0; i < a.ngroups && i < WIRE_MAX_GROUPS; i++) {
		struct wire_str s = a.groups[i];
		INV(s.len >= 1 && s.len <= WIRE_MAX_GROUP && inside(s.p, s.len, p, n));
		INV(wire_name_valid(s.p, s.len));
		for (size_t j = 0; j < i; j++)
			INV(!wstr_eq(s, a.groups[j]));
	}
	INV(wire_accept_encode(&a, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_accept_decode(rt, len, &b) == MESH_OK && accept_eq(&a, &b));
	return rc;
}

static enum mesh_err dec_msg(const uint8_t *p, size_t n)
{
	struct wire_msg m, k;
	size_t len;
	enum mesh_err rc = wire_msg_decode(p, n, &m);
	if (rc != MESH_OK) {
		INV(rc == MESH_EMALFORMED && zeroed(&m, sizeof m));
		return rc;
	}
	if (m.type < WIRE_ACCEPT || m.type > WIRE_PEERS) {
		struct wire_msg z = m;
		z.type = 0;
		INV(zeroed(&z, sizeof z));
		INV(wire_msg_encode(&m, rt, sizeof rt, &len) == MESH_EINVAL);
		return rc;
	}
	if (m.type == WIRE_ACCEPT) {
		/* its own codec writes it (the groups are wire_accept_decode's) */
		struct wire_msg z = m;
		INV(dec_accept(p, n) == MESH_OK);
		INV(wire_msg_encode(&m, rt, sizeof rt, &len) == MESH_EINVAL);
		z.type = 0;
		z.name = (struct wire_str){ NULL, 0 };
		z.ngroups = 0;
		INV(zeroed(&z, sizeof z));
		return rc;
	}
	INV(m.name.p == NULL && m.name.len == 0 && m.ngroups == 0);
	if (m.type == WIRE_JOIN || m.type == WIRE_LEAVE || m.type == WIRE_SHOUT)
		INV(m.group.len >= 1 && m.group.len <= WIRE_MAX_GROUP &&
		    inside(m.group.p, m.group.len, p, n) && wire_utf8_valid(m.group.p, m.group.len));
	else
		INV(m.group.p == NULL && m.group.len == 0);
	if (m.type == WIRE_SHOUT || m.type == WIRE_WHISPER)
		INV(m.msg_id != 0 && m.count >= 1 && m.count <= WIRE_MAX_FRAGMENTS &&
		    m.index < m.count && m.data_len <= WIRE_MAX_FRAGMENT &&
		    inside(m.data, m.data_len, p, n));
	else if (m.type != WIRE_ACK && m.type != WIRE_RESEND && m.type != WIRE_MARK)
		INV(m.msg_id == 0 && m.count == 0 && m.index == 0 && m.data == NULL);
	else
		INV(m.count == 0 && m.index == 0 && m.data == NULL);
	if (m.type == WIRE_ACK || m.type == WIRE_RESEND)
		INV(m.incarnation != 0);
	else
		INV(m.incarnation == 0);
	if (m.type != WIRE_REJECT)
		INV(m.reason == 0);
	if (m.type == WIRE_REKEY || m.type == WIRE_REKEY_REPLY)
		INV(m.rekey_n >= 1 && m.noise != NULL && inside(m.noise, WIRE_REKEY_NOISE, p, n));
	else
		INV(m.rekey_n == 0 && m.noise == NULL);
	if (m.type == WIRE_PEERS) {
		INV(m.npeers >= 1 && m.npeers <= WIRE_PEERS_MAX);
		for (size_t i = 0; i < m.npeers; i++)
			INV(m.peers[i].len >= 1 && m.peers[i].len <= WIRE_MAX_SIGNED &&
			    inside(m.peers[i].p, m.peers[i].len, p, n));
	} else {
		INV(m.npeers == 0);
	}
	INV(wire_msg_encode(&m, rt, sizeof rt, &len) == MESH_OK);
	INV(wire_msg_decode(rt, len, &k) == MESH_OK && msg_eq(&m, &k));
	return rc;
}

static const struct {
	const char *name;
	decode_fn dec;
} decoders[] = {
	{ "beacon", dec_beacon }, { "signed", dec_signed }, { "body", dec_body },
	{ "frame", dec_frame },   { "hello", dec_hello },   { "msg", dec_msg },
	{ "reply", dec_reply },   { "accept", dec_accept },
};
#define NDECODERS (sizeof decoders / sizeof decoders[0])

/* Decodes an exact-size heap copy, so ASan catches any read past n. */
static enum mesh_err dec_copy(decode_fn dec, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);
	enum mesh_err rc;
	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	rc = dec(n > 0 ? c : c + 1, n);   /* an empty input points past a real object */
	free(c);
	return rc;
}

/* The hostile twins of one valid encoding. */
static void hostile(const char *what, decode_fn dec, const uint8_t *enc, size_t len)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	static uint8_t m[WIRE_MAX_FRAME + 64];
	unsigned long before = inv_failures;
	bool ok = true;

	CHECK(dec_copy(dec, enc, len) == MESH_OK);
	/* msgpack is prefix-free: no proper prefix of one object is a whole object */
	for (size_t k = 0; k < len; k++) {
		if (dec_copy(dec, enc, k) != MESH_EMALFORMED) {
			fprintf(stderr, "%s: truncation at %zu decoded\n", what, k);
			ok = false;
		}
	}
	CHECK(ok);
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof flips; f++) {
			memcpy(m, enc, len);
			m[i] ^= flips[f];
			(void)dec_copy(dec, m, len);
		}
	}
	memcpy(m, enc, len);
	m[len] = 0x00;
	CHECK(dec_copy(dec, m, len + 1) == MESH_EMALFORMED);
	memcpy(m + len, enc, len);
	CHECK(dec_copy(dec, m, 2 * len) == MESH_EMALFORMED);
	CHECK(inv_failures == before);
	if (inv_failures != before)
		fprintf(stderr, "%s: invariant failures under mutation\n", what);
}

/* ------------------------------------------------------------------ a tiny packer for shapes */

enum kind { K_UINT, K_NEG, K_BOOL, K_NIL, K_FLOAT, K_STR, K_BIN, K_ARR, K_MAP, K_INTPOS,
            K_EXT, K_RAW, K_NKINDS };

/* One array element: K_UINT u; K_STR/K_BIN/K_RAW p, len (K_RAW: packed bytes verbatim). */
struct el {
	enum kind k;
	uint64_t u;
	const void *p;
	size_t len;
};

#define U(v) { K_UINT, (v), NULL, 0 }
#define STR(s) { K_STR, 0, (s), sizeof(s) - 1 }
#define BIN(s, n) { K_BIN, 0, (s), (n) }
#define RAW(s, n) { K_RAW, 0, (s), (n) }
#define BOOL(v) { K_BOOL, (v), NULL, 0 }

struct pk {
	uint8_t *out;
	size_t cap, len;
};

static int pk_write(void *data, const char *b, size_t len)
{
	struct pk *w = data;
	if (len > w->cap - w->len)
		abort();   /* a test shape too big for its buffer is a bug in this file */
	if (len > 0)
		memcpy(w->out + w->len, b, len);
	w->len += len;
	return 0;
}

static void pack_el(msgpack_packer *pk, const struct el *e)
{
	switch (e->k) {
	case K_UINT: msgpack_pack_uint64(pk, e->u); break;
	case K_NEG: msgpack_pack_int64(pk, -1); break;
	case K_BOOL: if (e->u) msgpack_pack_true(pk); else msgpack_pack_false(pk); break;
	case K_NIL: msgpack_pack_nil(pk); break;
	case K_FLOAT: msgpack_pack_double(pk, 1.0); break;
	case K_STR: msgpack_pack_str(pk, e->len); msgpack_pack_str_body(pk, e->p, e->len); break;
	case K_BIN: msgpack_pack_bin(pk, e->len); msgpack_pack_bin_body(pk, e->p, e->len); break;
	case K_ARR: msgpack_pack_array(pk, 0); break;
	case K_MAP: msgpack_pack_map(pk, 0); break;
	case K_INTPOS: pk->callback(pk->data, "\xd0\x01", 2); break;   /* int8 holding 1 */
	case K_EXT: pk->callback(pk->data, "\xd4\x01\x00", 3); break;  /* fixext1 */
	case K_RAW: pk->callback(pk->data, e->p, e->len); break;
	case K_NKINDS: break;
	}
}

static size_t pack(const struct el *els, size_t n, uint8_t *out, size_t cap)
{
	struct pk w = { out, cap, 0 };
	msgpack_packer pk;
	msgpack_packer_init(&pk, &w, pk_write);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++)
		pack_el(&pk, &els[i]);
	return w.len;
}

/* Replaces each element in turn with each value of another type: always malformed. */
static void wrong_types(const char *what, decode_fn dec, const struct el *els, size_t n)
{
	struct el tmp[16];
	bool ok = true;
	size_t len = pack(els, n, buf, sizeof buf);
	CHECK(dec(buf, len) == MESH_OK);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < K_RAW; k++) {
			if ((enum kind)k == els[i].k || (k == K_ARR && els[i].k == K_RAW))
				continue;
			memcpy(tmp, els, n * sizeof *els);
			tmp[i].k = (enum kind)k;
			tmp[i].u = 1;
			tmp[i].p = "x";
			tmp[i].len = 1;
			len = pack(tmp, n, buf, sizeof buf);
			if (dec(buf, len) != MESH_EMALFORMED) {
				fprintf(stderr, "%s: kind %d at %zu decoded\n", what, k, i);
				ok = false;
			}
		}
	}
	/* one element short and one too many */
	len = pack(els, n - 1, buf, sizeof buf);
	CHECK(dec(buf, len) == MESH_EMALFORMED);
	memcpy(tmp, els, n * sizeof *els);
	tmp[n] = tmp[n - 1];
	len = pack(tmp, n + 1, buf, sizeof buf);
	CHECK(dec(buf, len) == MESH_EMALFORMED);
	CHECK(ok);
}

/* A node ID in its first 32 bytes; the rest lets a test read a bin one byte too long. */
static const uint8_t ID[2 * WIRE_IDLEN] = {
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static uint8_t big[WIRE_MAX_NOISE + 2];

/* The largest blob and signed body that keep a beacon within WIRE_MAX_BEACON: 512 minus
 * the rest of the datagram (array, "meshnode", version, bool, bin16 header), resp. minus
 * array, bin16 header, and the bin8 header and 64 bytes of the signature. */
#define BEACON_TEST_MAX (WIRE_MAX_BEACON - (1 + 9 + 1 + 1 + 3))
#define SIGNED_TEST_MAX (WIRE_MAX_BEACON - (1 + 3 + 2 + WIRE_SIGLEN))

/* ------------------------------------------------------------------ wire_utf8_valid */

static void test_utf8(void)
{
	static const char *good[] = {
		"", "a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
		"\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
		"gr\xc3\xbc\xc3\x9f\x65", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	};
	static const char *bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\xc2", "\xe2\x82", "\xf0\x9f\x98", "\xc2\x41", "\xe2\x28\xa1", "a\xe2\x82",
		"\xf0\x9f\x98\x41",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(wire_utf8_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!wire_utf8_valid(bad[i], strlen(bad[i])));
	CHECK(wire_utf8_valid("a\0b", 3));   /* U+0000 is a code point like any other */
	CHECK(wire_utf8_valid(NULL, 0));
	CHECK(!wire_utf8_valid(NULL, 1));
	/* a valid sequence cut by the length the caller gives */
	CHECK(!wire_utf8_valid("\xe2\x82\xac", 2));
}

/* ------------------------------------------------------------------ wire_check */

static enum mesh_err chk(const char *hex, unsigned depth, size_t elems)
{
	uint8_t b[256];
	size_t n = unhex(hex, b, sizeof b);
	uint8_t *c = malloc(n > 0 ? n : 1);   /* exact size, for ASan */
	enum mesh_err rc;
	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, b, n);
	rc = wire_check(c, n, depth, elems);
	free(c);
	return rc;
}

static void test_check(void)
{
	/* every format, alone */
	static const char *good[] = {
		"c0", "c2", "c3", "00", "7f", "e0", "ff", "cc ff", "cd ffff", "ce ffffffff",
		"cf ffffffffffffffff", "d0 80", "d1 8000", "d2 80000000", "d3 8000000000000000",
		"ca 3f800000", "cb 3ff0000000000000", "a0", "a3 616263", "d9 00", "d9 01 61",
		"da 0001 61", "db 00000001 61", "c4 00", "c4 01 00", "c5 0001 00", "c6 00000001 00",
		"90", "91 01", "dc 0001 01", "dd 00000002 01 02", "80", "81 01 02",
		"de 0001 a1 61 c0", "df 00000001 01 02", "92 91 01 81 01 c3",
	};
	static const char *bad[] = {
		"", "c1", "d4 01 00", "d5 01 0000", "d6 01 00000000", "d7 01 0000000000000000",
		"d8 01 00000000000000000000000000000000", "c7 01 01 00", "c8 0001 01 00",
		"c9 00000001 01 00", "cc", "cd ff", "cf 00", "ca 3f80", "a3 6162", "d9 02 61",
		"da 00", "db 00000002 61", "c4 02 00", "c6 ffffffff 00", "db ffffffff 00",
		"91", "92 01", "dc 0003 01 02", "dd ffffffff 01 02", "dd ffffffff",
		"df ffffffff 01 02", "81 01", "de 0002 01 02 03", "00 00", "91 01 00", "c0 c0",
		"91 d4 01 00", "81 c7 00 01 01",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		enum mesh_err rc = chk(good[i], 3, 16);
		CHECK(rc == MESH_OK);
		if (rc != MESH_OK)
			fprintf(stderr, "  wire_check rejected %s\n", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum mesh_err rc = chk(bad[i], 3, 16);
		CHECK(rc == MESH_EMALFORMED);
		if (rc != MESH_EMALFORMED)
			fprintf(stderr, "  wire_check accepted %s\n", bad[i]);
	}

	/* depth: a top-level scalar is at depth 1, [[[1]]] reaches 4 */
	CHECK(chk("01", 1, 1) == MESH_OK);
	CHECK(chk("01", 0, 1) == MESH_EMALFORMED);
	CHECK(chk("91 01", 1, 2) == MESH_EMALFORMED);
	CHECK(chk("90", 1, 2) == MESH_OK);
	CHECK(chk("91 91 01", 3, 16) == MESH_OK);
	CHECK(chk("91 91 91 01", 3, 16) == MESH_EMALFORMED);
	CHECK(chk("91 91 91 01", 4, 16) == MESH_OK);
	CHECK(chk("91 91 90", 3, 16) == MESH_OK);
	CHECK(chk("81 01 81 01 81 01 02", 3, 16) == MESH_EMALFORMED);
	CHECK(chk("81 01 81 01 02", 3, 16) == MESH_OK);
	/* elements: every object counts, the outer array included */
	CHECK(chk("93 01 02 03", 3, 4) == MESH_OK);
	CHECK(chk("93 01 02 03", 3, 3) == MESH_EMALFORMED);
	CHECK(chk("81 01 02", 3, 3) == MESH_OK);
	CHECK(chk("81 01 02", 3, 2) == MESH_EMALFORMED);
	CHECK(chk("01", 3, 0) == MESH_EMALFORMED);
	/* a container ends where its elements end, then the parent continues */
	CHECK(chk("93 92 01 02 90 03", 3, 16) == MESH_OK);
	CHECK(chk("93 92 01 02 90", 3, 16) == MESH_EMALFORMED);
	CHECK(wire_check(NULL, 0, 3, 16) == MESH_EMALFORMED);
	CHECK(wire_check(NULL, 5, 3, 16) == MESH_EMALFORMED);
	/* wire_check itself accepts int8 1; the decoders refuse it (see test_strict_ints) */
	CHECK(chk("d0 01", 1, 1) == MESH_OK);
}

static void test_bombs(void)
{
	/* nesting deeper than anyone allows, whatever the caller's max_depth */
	size_t n = 100000;
	uint8_t *b = malloc(n + 1);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	memset(b, 0x91, n);
	b[n] = 0x01;
	CHECK(wire_check(b, n + 1, 3, SIZE_MAX) == MESH_EMALFORMED);
	CHECK(wire_check(b, n + 1, UINT32_MAX, SIZE_MAX) == MESH_EMALFORMED);
	CHECK(wire_check(b + n - 31, 32, 32, SIZE_MAX) == MESH_OK);
	CHECK(wire_check(b + n - 32, 33, 33, SIZE_MAX) == MESH_EMALFORMED);
	for (size_t d = 0; d < NDECODERS; d++)
		CHECK(dec_copy(decoders[d].dec, b + n - 60000, 60001) == MESH_EMALFORMED);
	/* maps nest too */
	for (size_t i = 0; i < n; i += 2) {
		b[i] = 0x81;
		b[i + 1] = 0x01;
	}
	b[n] = 0x02;
	CHECK(wire_check(b, n + 1, 3, SIZE_MAX) == MESH_EMALFORMED);
	CHECK(dec_copy(dec_msg, b + n - 60000, 60001) == MESH_EMALFORMED);
	/* a wide flat array of nils, more elements than any decoder allows */
	memset(b, 0xc0, n);
	memcpy(b, "\xdd\x00\x00\xea\x5b", 5);   /* array32 of 59995 */
	CHECK(wire_check(b, 60000, 3, SIZE_MAX) == MESH_OK);
	CHECK(wire_check(b, 60000, 3, 59995) == MESH_EMALFORMED);
	for (size_t d = 0; d < NDECODERS; d++)
		CHECK(dec_copy(decoders[d].dec, b, 60000) == MESH_EMALFORMED);
	free(b);

	/* counts and lengths that the bytes cannot back fail before anything is allocated */
	static const char *liars[] = {
		"dd ffffffff 01", "df ffffffff 01 02", "dc ffff 01", "de ffff 01 02",
		"c6 ffffffff 00", "db ffffffff 00", "91 dd ffffffff", "94 04 01 00 dd ffffffff",
		"94 04 01 00 c6 ffffffff", "9f 01",
	};
	uint8_t l[64];
	for (size_t i = 0; i < sizeof liars / sizeof liars[0]; i++) {
		size_t ln = unhex(liars[i], l, sizeof l);
		CHECK(wire_check(l, ln, 3, SIZE_MAX) == MESH_EMALFORMED);
		for (size_t d = 0; d < NDECODERS; d++)
			CHECK(dec_copy(decoders[d].dec, l, ln) == MESH_EMALFORMED);
	}
}

/* ------------------------------------------------------------------ beacons (section 2) */

static void test_beacon(void)
{
	struct wire_beacon b;
	size_t len, n;
	uint8_t blob[BEACON_TEST_MAX + 1];
	uint8_t want[64];

	/* golden: ["meshnode", 2, false, bin 01 02] */
	n = unhex("94 a8 6d657368 6e6f6465 02 c2 c4 02 0102", want, sizeof want);
	CHECK(wire_beacon_encode(false, (const uint8_t *)"\x01\x02", 2, buf, sizeof buf, &len) ==
	      MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(wire_beacon_decode(buf, len, &b) == MESH_OK);
	CHECK(!b.sealed && b.blob == buf + 14 && b.blob_len == 2);
	hostile("beacon", dec_beacon, buf, len);

	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	/* the largest blob that still fits a datagram, sealed */
	CHECK(wire_beacon_encode(true, blob, BEACON_TEST_MAX, buf, sizeof buf, &len) == MESH_OK);
	CHECK(len == WIRE_MAX_BEACON);
	CHECK(wire_beacon_decode(buf, len, &b) == MESH_OK);
	CHECK(b.sealed && bytes_eq(b.blob, b.blob_len, blob, BEACON_TEST_MAX));
	CHECK(wire_beacon_encode(true, blob, BEACON_TEST_MAX + 1, buf, sizeof buf, &len) ==
	      MESH_EINVAL);
	CHECK(wire_beacon_encode(true, NULL, 1, buf, sizeof buf, &len) == MESH_EINVAL);
	CHECK(wire_beacon_encode(true, NULL, 0, buf, sizeof buf, &len) == MESH_OK);
	CHECK(wire_beacon_decode(buf, len, &b) == MESH_OK && b.sealed && b.blob_len == 0);

	/* over the datagram cap, even when well formed (bin16 of 498 bytes) */
	{
		struct el e[] = { STR("meshnode"), U(2), BOOL(1), BIN(blob, BEACON_TEST_MAX + 1) };
		len = pack(e, 4, buf, sizeof buf);
		CHECK(len == WIRE_MAX_BEACON + 1 && dec_beacon(buf, len) == MESH_EMALFORMED);
	}
	{
		struct el e[] = { STR("meshnode"), U(2), BOOL(0), BIN("abc", 3) };
		wrong_types("beacon", dec_beacon, e, 4);
	}
	/* wrong magic and version */
	{
		struct el e[][4] = {
			{ STR("meshnodf"), U(2), BOOL(0), BIN("abc", 3) },
			{ STR("meshnod"), U(2), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode "), U(2), BOOL(0), BIN("abc", 3) },
			{ STR("MESHNODE"), U(2), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode-beacon"), U(2), BOOL(0), BIN("abc", 3) },
			{ BIN("meshnode", 8), U(2), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode"), U(0), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode"), U(1), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode"), U(3), BOOL(0), BIN("abc", 3) },
			{ STR("meshnode"), U(257), BOOL(0), BIN("abc", 3) },
		};
		/* wire_beacon_version names the version of the last four, so that the receiver can
		 * say why it drops them, and of none of the others */
		static const uint64_t named[] = { 0, 0, 0, 0, 0, 0, 0, 1, 3, 257 };
		for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
			uint64_t v = 99;
			len = pack(e[i], 4, buf, sizeof buf);
			CHECK(dec_beacon(buf, len) == MESH_EMALFORMED);
			CHECK(wire_beacon_version(buf, len, &v) ==
			      (named[i] ? MESH_OK : MESH_EMALFORMED) && v == named[i]);
		}
		/* a version 1 datagram of another shape, and our own version: not named */
		struct el v1[] = { STR("meshnode"), U(1), BOOL(0) };
		uint64_t v = 99;
		len = pack(v1, 3, buf, sizeof buf);
		CHECK(wire_beacon_version(buf, len, &v) == MESH_EMALFORMED && v == 0);
		CHECK(wire_beacon_encode(false, (const uint8_t *)"ab", 2, buf, sizeof buf, &len) ==
		      MESH_OK);
		CHECK(wire_beacon_version(buf, len, &v) == MESH_EMALFORMED && v == 0);
		/* a genuine version 1 datagram, as a node of protocol version 1 sends it */
		n = unhex("94 a8 6d657368 6e6f6465 01 c2 c4 02 0102", want, sizeof want);
		CHECK(dec_beacon(want, n) == MESH_EMALFORMED);
		CHECK(wire_beacon_version(want, n, &v) == MESH_OK && v == 1);
		for (size_t cut = 0; cut < n; cut++)
			CHECK(wire_beacon_version(want, cut, &v) == MESH_EMALFORMED && v == 0);
	}
	/* non-shortest forms are accepted: str8 magic, uint64 version, bin32 blob */
	n = unhex("94 d9 08 6d657368 6e6f6465 cf 0000000000000002 c3 c6 00000001 ff", want,
	          sizeof want);
	CHECK(dec_beacon(want, n) == MESH_OK);
	CHECK(wire_beacon_decode(want, n, &b) == MESH_OK && b.sealed && b.blob_len == 1 &&
	      b.blob == want + n - 1);
}

static void test_signed(void)
{
	struct wire_signed s;
	uint8_t sig[WIRE_SIGLEN + 1], body[SIGNED_TEST_MAX + 1];
	size_t len;

	memset(sig, 0x11, sizeof sig);
	memset(body, 0x22, sizeof body);
	CHECK(wire_signed_encode((const uint8_t *)"b", 1, sig, buf, sizeof buf, &len) == MESH_OK);
	CHECK(len == 1 + 3 + 2 + WIRE_SIGLEN && buf[0] == 0x92 && buf[1] == 0xc4 && buf[2] == 1 &&
	      buf[3] == 'b' && buf[4] == 0xc4 && buf[5] == 64);
	CHECK(wire_signed_decode(buf, len, &s) == MESH_OK);
	CHECK(s.body == buf + 3 && s.body_len == 1 && s.sig == buf + 6);
	hostile("signed", dec_signed, buf, len);

	CHECK(wire_signed_encode(body, SIGNED_TEST_MAX, sig, buf, sizeof buf, &len) == MESH_OK);
	CHECK(len == WIRE_MAX_BEACON && dec_signed(buf, len) == MESH_OK);
	CHECK(wire_signed_encode(body, SIGNED_TEST_MAX + 1, sig, buf, sizeof buf, &len) ==
	      MESH_EINVAL);
	CHECK(wire_signed_encode(body, 1, NULL, buf, sizeof buf, &len) == MESH_EINVAL);
	{
		struct el e[] = { BIN(body, 10), BIN(sig, WIRE_SIGLEN) };
		wrong_types("signed", dec_signed, e, 2);
		/* sig one byte short and one too long */
		e[1].len = WIRE_SIGLEN - 1;
		len = pack(e, 2, buf, sizeof buf);
		CHECK(dec_signed(buf, len) == MESH_EMALFORMED);
		e[1].len = WIRE_SIGLEN + 1;
		len = pack(e, 2, buf, sizeof buf);
		CHECK(dec_signed(buf, len) == MESH_EMALFORMED);
		e[1].len = 0;
		len = pack(e, 2, buf, sizeof buf);
		CHECK(dec_signed(buf, len) == MESH_EMALFORMED);
	}
}

static void test_body(void)
{
	struct wire_beacon_body b = { { 0 }, IPADDR_V4(192, 168, 1, 2), 47474, 1700000000000ull, 5 }, c;
	uint8_t want[128];
	size_t len, n;

	memcpy(b.node_id, ID, WIRE_IDLEN);
	n = unhex("97 af 6d657368 6e6f6465 2d626561 636f6e 02"
	          "c4 20 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "c4 04 c0a80102 cd b972 cf 0000018bcfe56800 05",
	          want, sizeof want);
	CHECK(wire_beacon_body_encode(&b, buf, sizeof buf, &len) == MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(wire_beacon_body_decode(buf, len, &c) == MESH_OK && memcmp(&b, &c, sizeof b) == 0);
	hostile("body", dec_body, buf, len);

	/* extremes */
	b.port = 65535;
	b.counter = UINT64_MAX;
	b.incarnation = UINT64_MAX;
	CHECK(wire_beacon_body_encode(&b, buf, sizeof buf, &len) == MESH_OK);
	CHECK(wire_beacon_body_decode(buf, len, &c) == MESH_OK && memcmp(&b, &c, sizeof b) == 0);
	b.counter = 0;
	CHECK(wire_beacon_body_encode(&b, buf, sizeof buf, &len) == MESH_OK);
	CHECK(wire_beacon_body_decode(buf, len, &c) == MESH_OK && c.counter == 0);
	b.port = 0;
	CHECK(wire_beacon_body_encode(&b, buf, sizeof buf, &len) == MESH_EINVAL);
	b.port = 1;
	b.incarnation = 0;
	CHECK(wire_beacon_body_encode(&b, buf, sizeof buf, &len) == MESH_EINVAL);
	CHECK(wire_beacon_body_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);

	{
		struct el e[] = { STR("meshnode-beacon"), U(2), BIN(ID, 32), BIN("\x0a\0\0\x01", 4),
		                  U(1), U(1), U(1) };
		wrong_types("body", dec_body, e, 7);
		struct el t[7];
		static const struct { size_t pos; uint64_t u; size_t len; } bad[] = {
			{ 1, 0, 0 }, { 1, 1, 0 }, { 1, 3, 0 }, { 2, 0, 31 }, { 2, 0, 33 }, { 2, 0, 0 },
			{ 3, 0, 3 }, { 3, 0, 5 }, { 3, 0, 0 }, { 4, 0, 0 }, { 4, 65536, 0 },
			{ 6, 0, 0 },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			memcpy(t, e, sizeof e);
			if (t[bad[i].pos].k == K_UINT)
				t[bad[i].pos].u = bad[i].u;
			else
				t[bad[i].pos].len = bad[i].len;
			len = pack(t, 7, buf, sizeof buf);
			CHECK(dec_body(buf, len) == MESH_EMALFORMED);
		}
		struct el m1[] = { STR("meshnode"), U(2), BIN(ID, 32), BIN("\x0a\0\0\x01", 4), U(1),
		                   U(1), U(1) };
		len = pack(m1, 7, buf, sizeof buf);
		CHECK(dec_body(buf, len) == MESH_EMALFORMED);
		struct el m2[] = { STR("meshnode-beacoN"), U(2), BIN(ID, 32), BIN("\x0a\0\0\x01", 4),
		                   U(1), U(1), U(1) };
		len = pack(m2, 7, buf, sizeof buf);
		CHECK(dec_body(buf, len) == MESH_EMALFORMED);
		/* port 65535 and counter 0 are fine */
		memcpy(t, e, sizeof e);
		t[4].u = 65535;
		t[5].u = 0;
		len = pack(t, 7, buf, sizeof buf);
		CHECK(dec_body(buf, len) == MESH_OK);
	}
}

/* ------------------------------------------------------------------ frames (section 3) */

static void test_frames(void)
{
	static const struct {
		struct wire_frame f;
		const char *hex;
	} golden[] = {
		{ { WIRE_HELLO, 0, 0x12345678, 0, (const uint8_t *)"ab", 2 },
		  "93 01 ce 12345678 c4 02 6162" },
		{ { WIRE_REPLY, 1, 0x10000, 0, (const uint8_t *)"", 0 },
		  "94 02 01 ce 00010000 c4 00" },
		{ { WIRE_FINISH, 0xffffffff, 0, 0, (const uint8_t *)"x", 1 },
		  "93 03 ce ffffffff c4 01 78" },
		{ { WIRE_DATA, 7, 0, 0x100000000ull, (const uint8_t *)"", 0 },
		  "94 04 07 cf 0000000100000000 c4 00" },
		{ { WIRE_DATA, 0xff, 0, 0, (const uint8_t *)"yz", 2 }, "94 04 cc ff 00 c4 02 797a" },
	};
	struct wire_frame f;
	uint8_t want[64];
	size_t len, n;

	for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
		n = unhex(golden[i].hex, want, sizeof want);
		CHECK(wire_frame_encode(&golden[i].f, buf, sizeof buf, &len) == MESH_OK);
		CHECK(bytes_eq(buf, len, want, n));
		CHECK(wire_frame_decode(buf, len, &f) == MESH_OK && frame_eq(&f, &golden[i].f));
		/* borrowed: the body points into the input, just after its bin header (an empty
		 * one at the end of the input) */
		CHECK(f.body == buf + len - f.body_len);
		hostile("frame", dec_frame, buf, len);
	}

	/* the largest Noise message, in every frame type */
	for (int t = WIRE_HELLO; t <= WIRE_DATA; t++) {
		struct wire_frame g = { (enum wire_frame_type)t, UINT32_MAX, UINT32_MAX, UINT64_MAX,
		                        big, WIRE_MAX_NOISE };
		CHECK(wire_frame_encode(&g, buf, sizeof buf, &len) == MESH_OK);
		CHECK(len <= WIRE_MAX_FRAME && dec_frame(buf, len) == MESH_OK);
		g.body_len = WIRE_MAX_NOISE + 1;
		CHECK(wire_frame_encode(&g, buf, sizeof buf, &len) == MESH_EINVAL);
	}
	/* a Noise message one byte too long, well formed otherwise */
	{
		struct el e[] = { U(4), U(1), U(0), BIN(big, WIRE_MAX_NOISE + 1) };
		len = pack(e, 4, buf, sizeof buf);
		CHECK(dec_frame(buf, len) == MESH_EMALFORMED);
	}

	/* zero sids: refused by the encoder, malformed on the wire */
	{
		struct wire_frame z[] = {
			{ WIRE_HELLO, 5, 0, 0, NULL, 0 }, { WIRE_REPLY, 0, 5, 0, NULL, 0 },
			{ WIRE_REPLY, 5, 0, 0, NULL, 0 }, { WIRE_FINISH, 0, 5, 0, NULL, 0 },
			{ WIRE_DATA, 0, 5, 0, NULL, 0 },
		};
		for (size_t i = 0; i < sizeof z / sizeof z[0]; i++)
			CHECK(wire_frame_encode(&z[i], buf, sizeof buf, &len) == MESH_EINVAL);
		static const char *hex[] = {
			"93 01 00 c4 00", "94 02 00 01 c4 00", "94 02 01 00 c4 00", "93 03 00 c4 00",
			"94 04 00 00 c4 00", "93 01 cf 0000000000000000 c4 00",
		};
		for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
			n = unhex(hex[i], want, sizeof want);
			CHECK(dec_frame(want, n) == MESH_EMALFORMED);
		}
	}
	/* sids beyond uint32, unknown frame types, ext, nil body */
	{
		static const char *hex[] = {
			"93 01 cf 0000000100000000 c4 00", "94 02 01 ce 00000001 c4 00 00",
			"93 00 01 c4 00", "93 05 01 c4 00", "93 cc ff 01 c4 00", "91 01", "90",
			"93 01 01 d4 01 00", "93 01 01 c0", "93 01 01 a0", "c4 00", "01",
			"94 01 01 c4 00 c4 00", "93 04 01 c4 00", "95 04 01 00 c4 00 c0",
		};
		for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
			n = unhex(hex[i], want, sizeof want);
			CHECK(dec_frame(want, n) == MESH_EMALFORMED);
		}
		struct wire_frame u = { (enum wire_frame_type)5, 1, 1, 0, NULL, 0 };
		CHECK(wire_frame_encode(&u, buf, sizeof buf, &len) == MESH_EINVAL);
		u.type = (enum wire_frame_type)0;
		CHECK(wire_frame_encode(&u, buf, sizeof buf, &len) == MESH_EINVAL);
		CHECK(wire_frame_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);
		u.type = WIRE_HELLO;
		u.body_len = 3;   /* NULL body with a length */
		CHECK(wire_frame_encode(&u, buf, sizeof buf, &len) == MESH_EINVAL);
	}
	/* non-shortest integers and bin32 are fine; the counter may be 0 */
	n = unhex("94 cf 0000000000000004 ce 00000009 cc 00 c6 00000000", want, sizeof want);
	CHECK(wire_frame_decode(want, n, &f) == MESH_OK && f.type == WIRE_DATA && f.rx_sid == 9 &&
	      f.counter == 0 && f.body_len == 0);

	{
		struct el hello[] = { U(1), U(77), BIN("e", 1) };
		struct el reply[] = { U(2), U(77), U(78), BIN("e", 1) };
		struct el finish[] = { U(3), U(77), BIN("e", 1) };
		struct el data[] = { U(4), U(77), U(3), BIN("e", 1) };
		wrong_types("HELLO", dec_frame, hello, 3);
		wrong_types("REPLY", dec_frame, reply, 4);
		wrong_types("FINISH", dec_frame, finish, 3);
		wrong_types("DATA", dec_frame, data, 4);
	}
}

/* wire_data_header() followed by the body must be byte for byte what wire_frame_encode()
 * makes of the same DATA frame: the sender seals behind the header it wrote. */
static void test_data_header(void)
{
	static const uint32_t sids[] = { 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, UINT32_MAX };
	static const uint64_t ctrs[] = { 0, 1, 0x7f, 0x80, 0xffff, 0x10000, 0xffffffffull,
	                                 0x100000000ull, UINT64_MAX };
	static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535 - 16, WIRE_MAX_NOISE };
	static uint8_t hdr_body[WIRE_MAX_FRAME];
	size_t hlen, len;

	for (size_t i = 0; i < sizeof sids / sizeof sids[0]; i++) {
		for (size_t j = 0; j < sizeof ctrs / sizeof ctrs[0]; j++) {
			for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
				struct wire_frame f = { WIRE_DATA, sids[i], 0, ctrs[j], big, lens[k] };
				CHECK(wire_data_header(sids[i], ctrs[j], lens[k], hdr_body, sizeof hdr_body,
				                       &hlen) == MESH_OK);
				CHECK(hlen <= WIRE_DATA_HDR_MAX);
				memcpy(hdr_body + hlen, big, lens[k]);
				CHECK(wire_frame_encode(&f, buf, sizeof buf, &len) == MESH_OK);
				CHECK(bytes_eq(hdr_body, hlen + lens[k], buf, len));
			}
		}
	}
	/* the largest header there is */
	CHECK(wire_data_header(UINT32_MAX, UINT64_MAX, WIRE_MAX_NOISE, hdr_body, sizeof hdr_body,
	                       &hlen) == MESH_OK && hlen == WIRE_DATA_HDR_MAX);
	/* refused as wire_frame_encode refuses them: a zero sid, a body beyond a Noise message */
	CHECK(wire_data_header(0, 1, 1, hdr_body, sizeof hdr_body, &hlen) == MESH_EINVAL && hlen == 0);
	CHECK(wire_data_header(1, 1, WIRE_MAX_NOISE + 1, hdr_body, sizeof hdr_body, &hlen) ==
	      MESH_EINVAL);
	/* too little room at every length short of the header */
	CHECK(wire_data_header(UINT32_MAX, UINT64_MAX, 300, hdr_body, sizeof hdr_body, &hlen) ==
	      MESH_OK);
	for (size_t cap = 0; cap < hlen; cap++) {
		size_t l = 99;
		CHECK(wire_data_header(UINT32_MAX, UINT64_MAX, 300, hdr_body, cap, &l) == MESH_ELIMIT &&
		      l == 0);
	}
	CHECK(wire_data_header(1, 1, 1, NULL, 0, &hlen) == MESH_ELIMIT);
}

/* The decoders take only unsigned forms for unsigned fields (section "All integers ..."). */
static void test_strict_ints(void)
{
	static const char *hex[] = {
		"93 d0 01 01 c4 00",          /* int8 frame type */
		"93 01 d0 05 c4 00",          /* int8 sid */
		"93 01 d2 00000005 c4 00",    /* int32 sid */
		"94 04 01 d3 0000000000000001 c4 00",   /* int64 counter */
		"93 01 ff c4 00",             /* negative fixint sid */
		"93 01 d0 ff c4 00",          /* int8 -1 sid */
		"93 01 cb 3ff0000000000000 c4 00",      /* 1.0 */
	};
	uint8_t b[64];
	for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
		size_t n = unhex(hex[i], b, sizeof b);
		CHECK(dec_frame(b, n) == MESH_EMALFORMED);
	}
	size_t n = unhex("92 d0 05 01", b, sizeof b);
	CHECK(dec_msg(b, n) == MESH_EMALFORMED);
	n = unhex("92 63 d0 ff", b, sizeof b);   /* a negative value is fine in an unknown message */
	CHECK(dec_msg(b, n) == MESH_OK);
}

/* ------------------------------------------------------------------ hello (section 3.1) */

static char gnames[WIRE_MAX_GROUPS + 1][8];

static void fill_groups(struct wire_hello *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(gnames[i], sizeof gnames[i], "g%03u", (unsigned)(i % 1000));
		h->groups[i] = S(gnames[i]);
	}
	h->ngroups = n;
}

/* A packed group list of count str elements (the first dup times repeated). */
static size_t pack_groups(uint8_t *out, size_t cap, size_t count, const char *first)
{
	struct pk w = { out, cap, 0 };
	msgpack_packer pk;
	msgpack_packer_init(&pk, &w, pk_write);
	msgpack_pack_array(&pk, count);
	for (size_t i = 0; i < count; i++) {
		char g[8];
		const char *s = g;
		snprintf(g, sizeof g, "g%03u", (unsigned)(i % 1000));
		if (first != NULL && i < 2)
			s = first;
		msgpack_pack_str(&pk, strlen(s));
		msgpack_pack_str_body(&pk, s, strlen(s));
	}
	return w.len;
}

static void test_hello(void)
{
	static struct wire_hello h, g;
	static uint8_t gl[WIRE_MAX_GROUPS * 8 + 16];
	uint8_t want[128];
	char name65[WIRE_MAX_NAME + 2];
	size_t len, n;

	memset(&h, 0, sizeof h);
	memcpy(h.node_id, ID, WIRE_IDLEN);
	h.name = S("n");
	h.incarnation = 9;
	h.groups[0] = S("a");
	h.groups[1] = S("b");
	h.ngroups = 2;
	h.ip = IPADDR_V4(127, 0, 0, 1);
	h.port = 40000;
	n = unhex("98 02 c4 20 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "a1 6e 09 00 92 a1 61 a1 62 c4 04 7f000001 cd 9c 40",
	          want, sizeof want);
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(wire_hello_decode(buf, len, &g) == MESH_OK && hello_eq(&h, &g));
	CHECK(g.name.p == (const char *)buf + 37 && g.groups[1].p == (const char *)buf + len - 10);
	hostile("hello", dec_hello, buf, len);

	/* UTF-8 names of exactly 64 bytes, features, no groups */
	memset(name65, 0, sizeof name65);
	for (size_t i = 0; i < WIRE_MAX_NAME; i += 2)
		memcpy(name65 + i, "\xc3\xa9", 2);
	h.name.p = name65;
	h.name.len = WIRE_MAX_NAME;
	h.features = UINT32_MAX;
	h.incarnation = UINT64_MAX;
	h.ngroups = 0;
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
	CHECK(wire_hello_decode(buf, len, &g) == MESH_OK && hello_eq(&h, &g));
	hostile("hello-utf8", dec_hello, buf, len);

	/* all 256 groups of 64 bytes: the largest hello */
	{
		static char gs[WIRE_MAX_GROUPS][WIRE_MAX_GROUP];
		for (size_t i = 0; i < WIRE_MAX_GROUPS; i++) {
			memset(gs[i], 'x', WIRE_MAX_GROUP);
			snprintf(gs[i], 8, "%03u", (unsigned)(i % 1000));
			gs[i][3] = 'x';
			h.groups[i].p = gs[i];
			h.groups[i].len = WIRE_MAX_GROUP;
		}
		h.ngroups = WIRE_MAX_GROUPS;
		CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
		CHECK(len < WIRE_MAX_NOISE && dec_hello(buf, len) == MESH_OK);
		CHECK(wire_hello_decode(buf, len, &g) == MESH_OK && hello_eq(&h, &g));
		for (size_t k = 0; k < len; k += 97)
			CHECK(dec_copy(dec_hello, buf, k) == MESH_EMALFORMED);
		h.groups[200] = h.groups[3];
		CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	}

	/* encoder refusals */
	h.name = S("node");
	fill_groups(&h, 3);
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
	memset(name65, 'a', WIRE_MAX_NAME + 1);
	h.name.p = name65;
	h.name.len = WIRE_MAX_NAME + 1;
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.name = S("");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.name = S("\xc0\xaf");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.name = S("esc\x1b[2J");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.name = S("c1\xc2\x9b");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.name = S("caf\xc3\xa9 \xc2\xa0ok");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
	h.name = S("node");
	h.incarnation = 0;
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.incarnation = 1;
	h.groups[1] = S("\xed\xa0\x80");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.groups[1] = S("");
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	h.groups[1] = h.groups[2];
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	fill_groups(&h, WIRE_MAX_GROUPS);
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_OK);
	h.ngroups = WIRE_MAX_GROUPS + 1;
	CHECK(wire_hello_encode(&h, buf, sizeof buf, &len) == MESH_EINVAL);
	CHECK(wire_hello_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);

	/* hostile shapes */
	size_t gn = pack_groups(gl, sizeof gl, 2, NULL);
	struct el e[] = { U(2), BIN(ID, 32), STR("node"), U(7), U(0), RAW(gl, gn), BIN(ID, 4),
	                  U(40000) };
	wrong_types("hello", dec_hello, e, 8);
	struct el t[8];
	static const struct { const char *name; } badnames[] = {
		{ "" }, { "\xc0\xaf" }, { "\xe0\x80\xaf" }, { "\xed\xa0\x80" }, { "\xed\xbf\xbf" },
		{ "ab\xe2\x82" }, { "\xf4\x90\x80\x80" }, { "\x80" }, { "\xff" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		/* control characters: valid UTF-8, but names reach logs and terminals */
		{ "evil\x1b[31mred" }, { "a\nmeshnode[x] error: forged" }, { "\t" }, { "\x7f" },
		{ "\xc2\x85" }, { "\xc2\x9b" }, { "cr\r" },
	};
	for (size_t i = 0; i < sizeof badnames / sizeof badnames[0]; i++) {
		memcpy(t, e, sizeof e);
		t[2].p = badnames[i].name;
		t[2].len = strlen(badnames[i].name);
		len = pack(t, 8, buf, sizeof buf);
		CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
		/* the same string as a group */
		struct pk w = { gl, sizeof gl, 0 };
		msgpack_packer pk;
		msgpack_packer_init(&pk, &w, pk_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "a", 1);
		msgpack_pack_str(&pk, t[2].len);
		msgpack_pack_str_body(&pk, t[2].p, t[2].len);
		memcpy(t, e, sizeof e);
		t[5].len = w.len;
		len = pack(t, 8, buf, sizeof buf);
		CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	}
	memcpy(t, e, sizeof e);
	t[2].p = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	t[2].len = WIRE_MAX_NAME;
	t[5].len = pack_groups(gl, sizeof gl, 2, NULL);
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_OK);
	/* version, node_id length, zero incarnation, features beyond uint32 */
	static const struct { size_t pos; uint64_t u; size_t len; } bad[] = {
		{ 0, 0, 0 }, { 0, 1, 0 }, { 0, 3, 0 }, { 1, 0, 31 }, { 1, 0, 33 }, { 1, 0, 0 },
		{ 3, 0, 0 },
		{ 4, 0x100000000ull, 0 }, { 6, 0, 3 }, { 6, 0, 5 }, { 7, 0x10000, 0 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(t, e, sizeof e);
		t[5].len = pack_groups(gl, sizeof gl, 2, NULL);
		if (t[bad[i].pos].k == K_UINT)
			t[bad[i].pos].u = bad[i].u;
		else
			t[bad[i].pos].len = bad[i].len;
		len = pack(t, 8, buf, sizeof buf);
		CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	}
	/* group lists: 256 fine, 257 too many, duplicates, empty, a nested array */
	memcpy(t, e, sizeof e);
	t[5].len = pack_groups(gl, sizeof gl, WIRE_MAX_GROUPS, NULL);
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_OK);
	t[5].len = pack_groups(gl, sizeof gl, WIRE_MAX_GROUPS + 1, NULL);
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	t[5].len = pack_groups(gl, sizeof gl, 2, "dup");
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	t[5].len = pack_groups(gl, sizeof gl, 40, "dup");
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	t[5].len = pack_groups(gl, sizeof gl, 2, "");   /* two bad names that are also equal */
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	t[5].len = pack_groups(gl, sizeof gl, 0, NULL);
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_OK);
	memcpy(gl, "\x92\xa1\x61\x91\xa1\x62", 6);
	t[5].len = 6;
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
	memcpy(gl, "\x92\xa1\x61\xc4\x01\x62", 6);   /* bin where a str belongs */
	len = pack(t, 8, buf, sizeof buf);
	CHECK(dec_hello(buf, len) == MESH_EMALFORMED);
}

/* reply_payload: message 2 says no more than the beacon (section 3.1) */
static void test_reply_payload(void)
{
	struct wire_reply_payload r = { .incarnation = 9, .features = 3, .ip = IPADDR_V4(127, 0, 0, 1),
	                                .port = 40000 }, q;
	uint8_t want[128];
	size_t len, n;

	memcpy(r.node_id, ID, WIRE_IDLEN);
	n = unhex("96 02 c4 20 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "09 03 c4 04 7f000001 cd 9c40",
	          want, sizeof want);
	CHECK(wire_reply_payload_encode(&r, buf, sizeof buf, &len) == MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(wire_reply_payload_decode(buf, len, &q) == MESH_OK && memcmp(&r, &q, sizeof r) == 0);
	hostile("reply", dec_reply, buf, len);
	/* extremes: features of 32 bits, port 0 (as in the hello), the largest incarnation */
	r.features = UINT32_MAX;
	r.port = 0;
	r.incarnation = UINT64_MAX;
	CHECK(wire_reply_payload_encode(&r, buf, sizeof buf, &len) == MESH_OK);
	CHECK(wire_reply_payload_decode(buf, len, &q) == MESH_OK && memcmp(&r, &q, sizeof r) == 0);
	r.incarnation = 0;
	CHECK(wire_reply_payload_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
	CHECK(wire_reply_payload_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);

	struct el e[] = { U(2), BIN(ID, 32), U(7), U(0), BIN(ID, 4), U(40000) };
	wrong_types("reply", dec_reply, e, 6);
	struct el t[8];
	static const struct { size_t pos; uint64_t u; size_t len; } bad[] = {
		{ 0, 0, 0 }, { 0, 1, 0 }, { 0, 3, 0 }, { 1, 0, 31 }, { 1, 0, 33 }, { 1, 0, 0 },
		{ 2, 0, 0 }, { 3, 0x100000000ull, 0 }, { 4, 0, 3 }, { 4, 0, 5 }, { 5, 0x10000, 0 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(t, e, sizeof e);
		if (t[bad[i].pos].k == K_UINT)
			t[bad[i].pos].u = bad[i].u;
		else
			t[bad[i].pos].len = bad[i].len;
		len = pack(t, 6, buf, sizeof buf);
		CHECK(dec_reply(buf, len) == MESH_EMALFORMED);
	}
	/* a name or groups in it, as a hello of version 1 carried them, is not a reply_payload */
	struct el v1[] = { U(1), BIN(ID, 32), STR("node"), U(7), U(0), RAW("\x90", 1), BIN(ID, 4),
	                   U(40000) };
	len = pack(v1, 8, buf, sizeof buf);
	CHECK(dec_reply(buf, len) == MESH_EMALFORMED);
	struct el seven[] = { U(2), BIN(ID, 32), U(7), U(0), BIN(ID, 4), U(40000), STR("node") };
	len = pack(seven, 7, buf, sizeof buf);
	CHECK(dec_reply(buf, len) == MESH_EMALFORMED);
}

/* ACCEPT = [ 1, name, [ group, ... ] ]: the name and groups, after message 3 (section 3.2) */
static void test_accept(void)
{
	static struct wire_accept a, b;
	static struct wire_hello h;
	static uint8_t gl[WIRE_MAX_GROUPS * 8 + 16];
	struct wire_msg m;
	uint8_t want[64];
	size_t len, n;

	memset(&a, 0, sizeof a);
	a.name = S("n");
	a.groups[0] = S("a");
	a.groups[1] = S("b");
	a.ngroups = 2;
	n = unhex("93 01 a1 6e 92 a1 61 a1 62", want, sizeof want);
	CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(wire_accept_decode(buf, len, &b) == MESH_OK && accept_eq(&a, &b));
	CHECK(b.name.p == (const char *)buf + 3 && b.groups[1].p == (const char *)buf + len - 1);
	CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && m.type == WIRE_ACCEPT &&
	      wstr_eq(m.name, a.name) && m.ngroups == 2);
	hostile("accept", dec_accept, buf, len);
	hostile("accept-msg", dec_msg, buf, len);
	/* wire_msg_encode leaves ACCEPT to wire_accept_encode */
	struct wire_msg am = { .type = WIRE_ACCEPT, .name = S("n") };
	CHECK(wire_msg_encode(&am, buf, sizeof buf, &len) == MESH_EINVAL);
	/* no groups */
	a.ngroups = 0;
	n = unhex("93 01 a1 6e 90", want, sizeof want);
	CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_OK);
	CHECK(bytes_eq(buf, len, want, n));
	CHECK(dec_accept(buf, len) == MESH_OK && dec_msg(buf, len) == MESH_OK);
	/* protocol version 1's ACCEPT, [ 1 ], says nothing: malformed now */
	n = unhex("91 01", want, sizeof want);
	CHECK(dec_accept(want, n) == MESH_EMALFORMED && dec_msg(want, n) == MESH_EMALFORMED);

	/* the largest: a 64-byte name and 256 groups of 64 bytes, within one frame, and
	 * wire_msg_decode takes it although other types stay within 64 objects */
	{
		static char gs[WIRE_MAX_GROUPS][WIRE_MAX_GROUP];
		static char nm[WIRE_MAX_NAME];
		memset(nm, 'n', sizeof nm);
		a.name = (struct wire_str){ nm, WIRE_MAX_NAME };
		for (size_t i = 0; i < WIRE_MAX_GROUPS; i++) {
			memset(gs[i], 'x', WIRE_MAX_GROUP);
			snprintf(gs[i], 8, "%03u", (unsigned)(i % 1000));
			gs[i][3] = 'x';
			a.groups[i] = (struct wire_str){ gs[i], WIRE_MAX_GROUP };
		}
		a.ngroups = WIRE_MAX_GROUPS;
		CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_OK);
		CHECK(len + 16 <= WIRE_MAX_NOISE && dec_accept(buf, len) == MESH_OK);
		CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && m.ngroups == WIRE_MAX_GROUPS);
		for (size_t k = 0; k < len; k += 97)
			CHECK(dec_copy(dec_accept, buf, k) == MESH_EMALFORMED);
		a.groups[200] = a.groups[3];
		CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
	}
	/* an unknown type is still held to 64 objects */
	{
		struct pk w = { buf, sizeof buf, 0 };
		msgpack_packer pk;
		msgpack_packer_init(&pk, &w, pk_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, 99);
		msgpack_pack_array(&pk, 61);
		for (size_t i = 0; i < 61; i++)
			msgpack_pack_uint64(&pk, i);
		CHECK(dec_msg(buf, w.len) == MESH_OK);      /* 64 objects */
		w.len = 0;
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, 99);
		msgpack_pack_array(&pk, 62);
		for (size_t i = 0; i < 62; i++)
			msgpack_pack_uint64(&pk, i);
		CHECK(dec_msg(buf, w.len) == MESH_EMALFORMED);   /* 65 */
	}

	/* encoder refusals: the hello's rules for the name and the groups */
	a.name = S("node");
	memset(&h, 0, sizeof h);
	fill_groups(&h, 3);
	memcpy(a.groups, h.groups, 3 * sizeof h.groups[0]);
	a.ngroups = 3;
	CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_OK);
	static const char *const badn[] = { "", "\xc0\xaf", "esc\x1b[2J", "c1\xc2\x9b",
	                                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
		a.name = S(badn[i]);
		CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
		a.name = S("node");
		a.groups[1] = S(badn[i]);
		CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
		a.groups[1] = h.groups[1];
	}
	a.groups[1] = a.groups[2];
	CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
	fill_groups(&h, WIRE_MAX_GROUPS);
	memcpy(a.groups, h.groups, sizeof a.groups);
	a.ngroups = WIRE_MAX_GROUPS + 1;
	CHECK(wire_accept_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
	CHECK(wire_accept_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);

	/* hostile shapes: names, group lists (257, duplicates, nested, bin) */
	size_t gn = pack_groups(gl, sizeof gl, 2, NULL);
	struct el e[] = { U(1), STR("node"), RAW(gl, gn) };
	wrong_types("accept", dec_accept, e, 3);
	struct el t[3];
	static const char *const hostile_names[] = { "", "\xc0\xaf", "\xed\xa0\x80", "\x80",
	                                             "evil\x1b[31mred", "a\nb", "\x7f", "\xc2\x85",
	                                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof hostile_names / sizeof hostile_names[0]; i++) {
		memcpy(t, e, sizeof e);
		t[1].p = hostile_names[i];
		t[1].len = strlen(hostile_names[i]);
		len = pack(t, 3, buf, sizeof buf);
		CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
		struct pk w = { gl, sizeof gl, 0 };
		msgpack_packer pk;
		msgpack_packer_init(&pk, &w, pk_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "a", 1);
		msgpack_pack_str(&pk, t[1].len);
		msgpack_pack_str_body(&pk, t[1].p, t[1].len);
		memcpy(t, e, sizeof e);
		t[2].len = w.len;
		len = pack(t, 3, buf, sizeof buf);
		CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	}
	memcpy(t, e, sizeof e);
	t[2].len = pack_groups(gl, sizeof gl, WIRE_MAX_GROUPS, NULL);
	len = pack(t, 3, buf, sizeof buf);
	CHECK(dec_accept(buf, len) == MESH_OK && dec_msg(buf, len) == MESH_OK);
	static const struct { size_t count; const char *first; } lists[] = {
		{ WIRE_MAX_GROUPS + 1, NULL }, { 2, "dup" }, { 40, "dup" }, { 2, "" },
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		t[2].len = pack_groups(gl, sizeof gl, lists[i].count, lists[i].first);
		len = pack(t, 3, buf, sizeof buf);
		CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	}
	memcpy(gl, "\x92\xa1\x61\x91\xa1\x62", 6);
	t[2].len = 6;
	len = pack(t, 3, buf, sizeof buf);
	CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	memcpy(gl, "\x92\xa1\x61\xc4\x01\x62", 6);
	len = pack(t, 3, buf, sizeof buf);
	CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	/* a fourth element, or the name missing */
	struct el four[] = { U(1), STR("node"), RAW("\x90", 1), U(0) };
	len = pack(four, 4, buf, sizeof buf);
	CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	struct el two[] = { U(1), RAW("\x90", 1) };
	len = pack(two, 2, buf, sizeof buf);
	CHECK(dec_accept(buf, len) == MESH_EMALFORMED && dec_msg(buf, len) == MESH_EMALFORMED);
	/* another message type is not an ACCEPT */
	n = unhex("92 05 a4 63686174", want, sizeof want);
	CHECK(dec_accept(want, n) == MESH_EMALFORMED);
}

/* ------------------------------------------------------------------ messages (3.2, 6) */

static void test_msgs(void)
{
	static const struct {
		struct wire_msg m;
		const char *hex;
	} golden[] = {
		{ { .type = WIRE_REJECT, .reason = 1 }, "92 02 01" },
		{ { .type = WIRE_REJECT, .reason = UINT64_MAX },
		  "92 02 cf ffffffffffffffff" },
		{ { .type = WIRE_HEARTBEAT }, "91 03" },
		{ { .type = WIRE_BYE }, "91 04" },
		{ { .type = WIRE_JOIN, .group = { "chat", 4 } }, "92 05 a4 63686174" },
		{ { .type = WIRE_LEAVE, .group = { "\xc3\xa9t\xc3\xa9", 5 } },
		  "92 06 a5 c3a974c3a9" },
		{ { .type = WIRE_SHOUT, .group = { "g", 1 }, .msg_id = 1, .count = 1,
		    .data = (const uint8_t *)"hi", .data_len = 2 },
		  "96 07 01 a1 67 00 01 c4 02 6869" },
		{ { .type = WIRE_WHISPER, .msg_id = 0x100, .index = 2, .count = 3, .data = (const uint8_t *)"" },
		  "95 08 cd 0100 02 03 c4 00" },
		{ { .type = WIRE_WHISPER, .msg_id = UINT64_MAX, .index = 17, .count = 18,
		    .data = (const uint8_t *)"z", .data_len = 1 },
		  "95 08 cf ffffffffffffffff 11 12 c4 01 7a" },
		{ { .type = WIRE_ACK, .incarnation = 7 }, "93 09 07 00" },
		{ { .type = WIRE_ACK, .msg_id = UINT64_MAX, .incarnation = UINT64_MAX },
		  "93 09 cf ffffffffffffffff cf ffffffffffffffff" },
		{ { .type = WIRE_RESEND, .msg_id = 300, .incarnation = 1 }, "93 0a 01 cd 012c" },
		{ { .type = WIRE_MARK }, "92 0b 00" },
		{ { .type = WIRE_MARK, .msg_id = 65536 }, "92 0b ce 00010000" },
	};
	struct wire_msg m;
	uint8_t want[64];
	size_t len, n;

	for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
		n = unhex(golden[i].hex, want, sizeof want);
		CHECK(wire_msg_encode(&golden[i].m, buf, sizeof buf, &len) == MESH_OK);
		CHECK(bytes_eq(buf, len, want, n));
		CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && msg_eq(&m, &golden[i].m));
		hostile("msg", dec_msg, buf, len);
	}
	/* an ACK or RESEND names an incarnation, and incarnations start at 1 */
	{
		struct wire_msg a = { .type = WIRE_ACK, .msg_id = 5 };
		CHECK(wire_msg_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
		a.type = WIRE_RESEND;
		CHECK(wire_msg_encode(&a, buf, sizeof buf, &len) == MESH_EINVAL);
		static const char *bad[] = { "93 09 00 05", "93 0a 00 05", "92 09 01", "94 09 01 02 03",
		                             "91 0b", "93 0b 01 02", "93 09 01 d0 ff", "92 0b a1 78" };
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			n = unhex(bad[i], want, sizeof want);
			CHECK(dec_msg(want, n) == MESH_EMALFORMED);
		}
	}
	/* REKEY and REKEY_REPLY (section 3.3): an attempt >= 1 and exactly 48 bytes of Noise */
	{
		uint8_t kk[WIRE_REKEY_NOISE + 1];
		char hex[2 * sizeof kk + 32];
		for (size_t i = 0; i < sizeof kk; i++)
			kk[i] = (uint8_t)i;
		for (uint64_t t = WIRE_REKEY; t <= WIRE_REKEY_REPLY; t++) {
			struct wire_msg r = { .type = t, .rekey_n = 1, .noise = kk };
			size_t o = (size_t)snprintf(hex, sizeof hex, "93 %02x 01 c4 30 ", (unsigned)t);
			for (size_t i = 0; i < WIRE_REKEY_NOISE; i++)
				o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", kk[i]);
			uint8_t want_r[96];
			n = unhex(hex, want_r, sizeof want_r);
			CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_OK);
			CHECK(bytes_eq(buf, len, want_r, n));
			CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && msg_eq(&m, &r) &&
			      m.noise == buf + len - WIRE_REKEY_NOISE);
			hostile("msg", dec_msg, buf, len);
			r.rekey_n = UINT64_MAX;
			CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_OK);
			CHECK(dec_msg(buf, len) == MESH_OK);
			/* the encoder refuses attempt 0 and a missing Noise message */
			r.rekey_n = 0;
			CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
			r.rekey_n = 1;
			r.noise = NULL;
			CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
			/* the decoder: n = 0, a Noise message one byte short or long, a str, a
			 * missing or extra field, a negative n */
			struct el ok[] = { U(t), U(7), BIN(kk, WIRE_REKEY_NOISE) };
			len = pack(ok, 3, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_OK);
			struct el zero[] = { U(t), U(0), BIN(kk, WIRE_REKEY_NOISE) };
			len = pack(zero, 3, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			struct el shorter[] = { U(t), U(1), BIN(kk, WIRE_REKEY_NOISE - 1) };
			len = pack(shorter, 3, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			struct el longer[] = { U(t), U(1), BIN(kk, WIRE_REKEY_NOISE + 1) };
			len = pack(longer, 3, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			struct el str[] = { U(t), U(1), { K_STR, 0, "x", 1 } };
			len = pack(str, 3, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			len = pack(ok, 2, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			struct el extra[] = { U(t), U(1), BIN(kk, WIRE_REKEY_NOISE), U(0) };
			len = pack(extra, 4, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			n = unhex(t == WIRE_REKEY ? "93 0c ff c4 01 00" : "93 0d d0 ff c4 01 00", want,
			          sizeof want);
			CHECK(dec_msg(want, n) == MESH_EMALFORMED);
		}
	}

	/* fields a type does not carry are ignored by the encoder and zero after decoding */
	{
		struct wire_msg j = { .type = WIRE_HEARTBEAT, .reason = 5, .group = { "x", 1 },
		                      .msg_id = 3, .index = 1, .count = 2,
		                      .data = big, .data_len = 4, .rekey_n = 9, .noise = big };
		CHECK(wire_msg_encode(&j, buf, sizeof buf, &len) == MESH_OK && len == 2);
	}

	/* the largest fragment, and one byte more */
	{
		struct wire_msg s = { .type = WIRE_SHOUT, .group = { "g", 1 }, .msg_id = 1, .count = 1,
		                      .data = big, .data_len = WIRE_MAX_FRAGMENT };
		CHECK(wire_msg_encode(&s, buf, sizeof buf, &len) == MESH_OK);
		CHECK(dec_msg(buf, len) == MESH_OK);
		CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && m.data == buf + len - WIRE_MAX_FRAGMENT);
		s.data_len = WIRE_MAX_FRAGMENT + 1;
		CHECK(wire_msg_encode(&s, buf, sizeof buf, &len) == MESH_EINVAL);
		struct el e[] = { U(7), U(1), STR("g"), U(0), U(1), BIN(big, WIRE_MAX_FRAGMENT + 1) };
		len = pack(e, 6, buf, sizeof buf);
		CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
		struct el w[] = { U(8), U(1), U(0), U(1), BIN(big, WIRE_MAX_FRAGMENT + 1) };
		len = pack(w, 5, buf, sizeof buf);
		CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
		w[4].len = WIRE_MAX_FRAGMENT;
		len = pack(w, 5, buf, sizeof buf);
		CHECK(dec_msg(buf, len) == MESH_OK);
	}

	/* fragment index and count */
	{
		static const struct { uint64_t index, count; int ok; } fr[] = {
			{ 0, 1, 1 }, { 17, 18, 1 }, { 0, 18, 1 }, { 1, 1, 0 }, { 0, 0, 0 },
			{ 18, 18, 0 }, { 0, 19, 0 }, { 18, 19, 0 }, { 5, 3, 0 },
			{ 0x100000000ull, 1, 0 }, { 0, 0x100000001ull, 0 },
		};
		for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++) {
			struct el s[] = { U(7), U(1), STR("g"), U(fr[i].index), U(fr[i].count),
			                  BIN("d", 1) };
			struct el w[] = { U(8), U(1), U(fr[i].index), U(fr[i].count), BIN("d", 1) };
			enum mesh_err want_rc = fr[i].ok ? MESH_OK : MESH_EMALFORMED;
			len = pack(s, 6, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == want_rc);
			len = pack(w, 5, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == want_rc);
			if (fr[i].index <= UINT32_MAX && fr[i].count <= UINT32_MAX) {
				struct wire_msg x = { WIRE_WHISPER, 0, { NULL, 0 }, 1,
				                      (uint32_t)fr[i].index, (uint32_t)fr[i].count,
				                      (const uint8_t *)"d", 1, 0, 0, NULL, { NULL, 0 }, 0, 0, { { NULL, 0 } } };
				CHECK(wire_msg_encode(&x, buf, sizeof buf, &len) ==
				      (fr[i].ok ? MESH_OK : MESH_EINVAL));
			}
		}
	}

	/* msg_id 0, groups */
	{
		struct el s[] = { U(7), U(0), STR("g"), U(0), U(1), BIN("d", 1) };
		len = pack(s, 6, buf, sizeof buf);
		CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
		struct el w[] = { U(8), U(0), U(0), U(1), BIN("d", 1) };
		len = pack(w, 5, buf, sizeof buf);
		CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
		struct wire_msg x = { .type = WIRE_SHOUT, .group = { "g", 1 }, .count = 1 };
		CHECK(wire_msg_encode(&x, buf, sizeof buf, &len) == MESH_EINVAL);
		x.msg_id = 1;
		CHECK(wire_msg_encode(&x, buf, sizeof buf, &len) == MESH_OK);
		x.data_len = 1;   /* NULL data with a length */
		CHECK(wire_msg_encode(&x, buf, sizeof buf, &len) == MESH_EINVAL);
		x.data_len = 0;
		static const char *badg[] = {
			"", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82",
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		};
		for (size_t i = 0; i < sizeof badg / sizeof badg[0]; i++) {
			for (int t = WIRE_JOIN; t <= WIRE_SHOUT; t++) {
				struct wire_msg y = x;
				y.type = (uint64_t)t;
				y.group = S(badg[i]);
				CHECK(wire_msg_encode(&y, buf, sizeof buf, &len) == MESH_EINVAL);
			}
			struct el j[] = { U(5), STR("g") };
			j[1].p = badg[i];
			j[1].len = strlen(badg[i]);
			len = pack(j, 2, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			j[0].u = 6;
			len = pack(j, 2, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
			s[1].u = 1;
			s[2].p = badg[i];
			s[2].len = strlen(badg[i]);
			len = pack(s, 6, buf, sizeof buf);
			CHECK(dec_msg(buf, len) == MESH_EMALFORMED);
		}
		x.group = S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		CHECK(wire_msg_encode(&x, buf, sizeof buf, &len) == MESH_OK);
		CHECK(dec_msg(buf, len) == MESH_OK);
	}

	/* unknown types decode, with only the type set; the encoder will not make them */
	{
		static const char *hex[] = {
			"91 63", "93 63 a1 78 92 01 02", "91 00", "91 0f", "92 cf ffffffffffffffff c0",
			"9f 63 00 00 00 00 00 00 00 00 00 00 00 00 00 00", "92 63 81 01 02",
			"92 63 ca 3f800000",
		};
		static const uint64_t types[] = { 99, 99, 0, 15, UINT64_MAX, 99, 99, 99 };
		for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
			n = unhex(hex[i], want, sizeof want);
			CHECK(wire_msg_decode(want, n, &m) == MESH_OK && m.type == types[i]);
			CHECK(dec_msg(want, n) == MESH_OK);
		}
		struct wire_msg u = { .type = 99 };
		CHECK(wire_msg_encode(&u, buf, sizeof buf, &len) == MESH_EINVAL);
		u.type = 0;
		CHECK(wire_msg_encode(&u, buf, sizeof buf, &len) == MESH_EINVAL);
		CHECK(wire_msg_encode(NULL, buf, sizeof buf, &len) == MESH_EINVAL);
	}
	/* not messages at all, or known types of the wrong shape */
	{
		static const char *hex[] = {
			"90", "91 ff", "91 d0 ff", "91 a1 01", "91 c0", "91 91 01", "01", "a1 01", "c4 00",
			"80", "dc 0011 63 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
			"92 63 d4 00 00", "92 63 c7 01 00 00", "92 63 91 91 01", "92 01 00", "91 02",
			"93 02 01 01", "92 03 00", "92 04 c0", "91 05", "93 05 a1 61 a1 62",
			"92 05 c4 01 61", "96 07 01 a1 67 00 01 c4 00 00", "95 07 01 a1 67 00 01",
			"94 08 01 00 01", "96 08 01 00 01 c4 00 c0", "95 08 01 00 01 a0",
			"95 08 01 00 01 c0",
		};
		for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++) {
			n = unhex(hex[i], want, sizeof want);
			enum mesh_err rc = dec_msg(want, n);
			CHECK(rc == MESH_EMALFORMED);
			if (rc != MESH_EMALFORMED)
				fprintf(stderr, "  msg accepted: %s\n", hex[i]);
		}
	}
	{
		struct el rej[] = { U(2), U(1) };
		struct el join[] = { U(5), STR("g") };
		struct el leave[] = { U(6), STR("g") };
		struct el shout[] = { U(7), U(1), STR("g"), U(0), U(1), BIN("d", 1) };
		struct el wh[] = { U(8), U(1), U(0), U(1), BIN("d", 1) };
		wrong_types("REJECT", dec_msg, rej, 2);
		wrong_types("JOIN", dec_msg, join, 2);
		wrong_types("LEAVE", dec_msg, leave, 2);
		wrong_types("SHOUT", dec_msg, shout, 6);
		wrong_types("WHISPER", dec_msg, wh, 5);
	}

	/* wire_msg_overhead bounds every fragment header, whatever the numbers */
	{
		static char g[WIRE_MAX_GROUP + 1];
		memset(g, 'g', sizeof g);
		for (size_t glen = 1; glen <= WIRE_MAX_GROUP; glen++) {
			for (size_t d = 0; d <= WIRE_MAX_FRAGMENT; d += WIRE_MAX_FRAGMENT / 4) {
				struct wire_msg s = { .type = WIRE_SHOUT, .group = { g, glen },
				                      .msg_id = UINT64_MAX, .index = 17, .count = 18,
				                      .data = big, .data_len = d };
				CHECK(wire_msg_encode(&s, buf, sizeof buf, &len) == MESH_OK);
				CHECK(len <= wire_msg_overhead(glen) + d);
				s.type = WIRE_WHISPER;
				CHECK(wire_msg_encode(&s, buf, sizeof buf, &len) == MESH_OK);
				CHECK(len <= wire_msg_overhead(glen) + d);
			}
		}
		CHECK(wire_msg_overhead(WIRE_MAX_GROUP) + WIRE_MAX_FRAGMENT <= WIRE_MAX_NOISE - 16);
		CHECK(wire_msg_overhead(SIZE_MAX) == SIZE_MAX);
	}
}

/* ------------------------------------------------------------------ encoders and caps */

typedef enum mesh_err (*encode_fn)(uint8_t *out, size_t cap, size_t *outlen);

static enum mesh_err enc_beacon(uint8_t *out, size_t cap, size_t *outlen)
{
	return wire_beacon_encode(true, big, 300, out, cap, outlen);
}

static enum mesh_err enc_signed(uint8_t *out, size_t cap, size_t *outlen)
{
	return wire_signed_encode(big, 100, big, out, cap, outlen);
}

static enum mesh_err enc_body(uint8_t *out, size_t cap, size_t *outlen)
{
	struct wire_beacon_body b = { { 1 }, IPADDR_V4(10, 0, 0, 1), 9000, 123456789, 42 };
	return wire_beacon_body_encode(&b, out, cap, outlen);
}

static enum mesh_err enc_frame(uint8_t *out, size_t cap, size_t *outlen)
{
	struct wire_frame f = { WIRE_DATA, 0xdeadbeef, 0, 1000, big, 300 };
	return wire_frame_encode(&f, out, cap, outlen);
}

static enum mesh_err enc_hello(uint8_t *out, size_t cap, size_t *outlen)
{
	static struct wire_hello h;
	memset(&h, 0, sizeof h);
	h.name = S("alpha");
	h.incarnation = 77;
	fill_groups(&h, 20);
	return wire_hello_encode(&h, out, cap, outlen);
}

static enum mesh_err enc_msg(uint8_t *out, size_t cap, size_t *outlen)
{
	struct wire_msg m = { .type = WIRE_SHOUT, .group = { "room", 4 },
	                      .msg_id = 5, .index = 1, .count = 2,
	                      .data = big, .data_len = 300 };
	return wire_msg_encode(&m, out, cap, outlen);
}

static enum mesh_err enc_reply(uint8_t *out, size_t cap, size_t *outlen)
{
	struct wire_reply_payload r = { { 7 }, 77, 3, IPADDR_V4(10, 0, 0, 1), 9000 };
	return wire_reply_payload_encode(&r, out, cap, outlen);
}

static enum mesh_err enc_accept(uint8_t *out, size_t cap, size_t *outlen)
{
	static struct wire_hello h;
	static struct wire_accept a;
	memset(&h, 0, sizeof h);
	fill_groups(&h, 20);
	a.name = S("alpha");
	memcpy(a.groups, h.groups, sizeof a.groups);
	a.ngroups = h.ngroups;
	return wire_accept_encode(&a, out, cap, outlen);
}

/* Every cap short of the encoding fails with MESH_ELIMIT and writes nothing past cap. */
/* PEERS (section 2, "Peer exchange"): 1 to 8 signed beacons of 1 to 256 bytes each */
static void test_peers_msg(void)
{
	static uint8_t sig[WIRE_MAX_SIGNED + 1];
	struct wire_msg r = { .type = WIRE_PEERS, .npeers = 2 }, m;
	size_t len, n;
	uint8_t want[64];
	for (size_t i = 0; i < sizeof sig; i++)
		sig[i] = (uint8_t)(0xa0 + i);
	r.peers[0] = (struct wire_bin){ sig, 2 };
	r.peers[1] = (struct wire_bin){ sig + 2, 1 };
	/* [ 14, [ bin "a0 a1", bin "a2" ] ] */
	n = unhex("92 0e 92 c4 02 a0 a1 c4 01 a2", want, sizeof want);
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_OK && bytes_eq(buf, len, want, n));
	CHECK(wire_msg_decode(buf, len, &m) == MESH_OK && msg_eq(&m, &r) &&
	      m.peers[1].p == buf + len - 1);
	hostile("msg", dec_msg, buf, len);
	/* the most: 8 entries of 256 bytes */
	r.npeers = WIRE_PEERS_MAX;
	for (size_t i = 0; i < WIRE_PEERS_MAX; i++)
		r.peers[i] = (struct wire_bin){ sig, WIRE_MAX_SIGNED };
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_OK);
	CHECK(dec_msg(buf, len) == MESH_OK);
	/* the encoder refuses what the decoder would: none, 9, an empty or a 257-byte entry */
	r.npeers = 0;
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
	r.npeers = WIRE_PEERS_MAX + 1;
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
	r.npeers = 1;
	r.peers[0].len = 0;
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
	r.peers[0].len = WIRE_MAX_SIGNED + 1;
	CHECK(wire_msg_encode(&r, buf, sizeof buf, &len) == MESH_EINVAL);
	/* and the decoder: an empty list, nine entries, an empty or too long entry, a str
	 * entry, a missing list, an extra field */
	const char *bad[] = { "92 0e 90", "92 0e 99 c4 01 00 c4 01 00 c4 01 00 c4 01 00 c4 01 00 "
	                      "c4 01 00 c4 01 00 c4 01 00 c4 01 00",
	                      "92 0e 91 c4 00", "92 0e 91 a1 78", "91 0e", "93 0e 91 c4 01 00 00",
	                      "92 0e c4 01 00" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = unhex(bad[i], want, sizeof want);
		CHECK(dec_msg(want, n) == MESH_EMALFORMED);
	}
	/* 257 bytes */
	struct el big_peers[] = { U(WIRE_PEERS), RAW("\x91\xc5\x01\x01", 4) };
	len = pack(big_peers, 2, buf, sizeof buf);
	memcpy(buf + len, sig, WIRE_MAX_SIGNED + 1);
	CHECK(dec_msg(buf, len + WIRE_MAX_SIGNED + 1) == MESH_EMALFORMED);
	buf[len - 1] = 0x00;        /* 256 bytes: fine */
	CHECK(dec_msg(buf, len + WIRE_MAX_SIGNED) == MESH_OK);
}

static void test_encode_limits(void)
{
	/* in the order of decoders[] */
	static const encode_fn enc[] = { enc_beacon, enc_signed, enc_body, enc_frame,
	                                  enc_hello,  enc_msg,    enc_reply, enc_accept };
	for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
		size_t len = 0, l2 = 1;
		bool ok = true;
		CHECK(enc[i](buf, sizeof buf, &len) == MESH_OK && len > 0);
		CHECK(dec_copy(decoders[i].dec, buf, len) == MESH_OK);
		for (size_t cap = 0; cap < len; cap++) {
			uint8_t *o = malloc(cap > 0 ? cap : 1);
			if (o == NULL)
				abort();
			if (enc[i](o, cap, &l2) != MESH_ELIMIT || l2 != 0)
				ok = false;
			free(o);
		}
		CHECK(ok);
		CHECK(enc[i](NULL, 0, &l2) == MESH_ELIMIT);
		uint8_t *o = malloc(len);
		if (o == NULL)
			abort();
		CHECK(enc[i](o, len, &l2) == MESH_OK && l2 == len && memcmp(o, buf, len) == 0);
		free(o);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	test_utf8();
	test_check();
	test_bombs();
	test_beacon();
	test_signed();
	test_body();
	test_frames();
	test_data_header();
	test_strict_ints();
	test_hello();
	test_reply_payload();
	test_accept();
	test_msgs();
	test_peers_msg();
	test_encode_limits();
	CHECK(inv_failures == 0);
	return testlib_done("test_wire");
}
