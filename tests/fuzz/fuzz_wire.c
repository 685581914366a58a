/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_wire: every decoder of mesh/wire.c on the same input (docs/protocol.md, sections 2, 3,
 * 3.1, 3.2, 3.3 and 6). An input that decodes must satisfy the decoder's invariants, re-encode, and
 * come back unchanged: decode(encode(x)) == x, and encoding is deterministic. Nested payloads
 * (beacon blob -> signed -> body, REPLY -> reply_payload, other handshake frames -> hello,
 * DATA -> message, an ACCEPT -> wire_accept_decode, which must agree) are followed as
 * the node would. wire_check is checked against msgpack-c itself: bytes it passes must unpack
 * to exactly one object within its depth and element caps.
 *
 * The text rules are checked against second implementations written here: wire_utf8_seq and
 * wire_utf8_valid against a code point decoder, wire_name_valid against "valid UTF-8 and no C0,
 * DEL or C1 code point". wire_data_header, followed by that many body bytes, must be exactly
 * the DATA frame wire_frame_encode makes, and decode back to its fields.
 *
 * A violated property is a bug in wire.c, so abort() is the right answer here (a fuzz target,
 * never product code). Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "wire.h"
#include "wire_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                  \
	do {                        \
		if (!(c))           \
			abort();    \
	} while (0)

/* Re-encodings; static so that deep recursion into nested payloads stays cheap. */
static uint8_t enc1[WIRE_MAX_FRAME];
static uint8_t enc2[WIRE_MAX_FRAME];

static bool inside(const void *q, size_t len, const uint8_t *p, size_t n)
{
	uintptr_t off = (uintptr_t)q - (uintptr_t)p;
	return off <= n && len <= n - off;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* A second, differently written UTF-8 check: decode each code point, then judge it. */
static bool utf8_reference(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp, min;
		size_t k;
		if (s[i] < 0x80) {
			i++;
			continue;
		} else if ((s[i] & 0xe0) == 0xc0) {
			k = 1, cp = s[i] & 0x1fu, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2, cp = s[i] & 0x0fu, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3, cp = s[i] & 0x07u, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Length of the one code point at the start of s if it is well-formed, else 0 (reference for
 * wire_utf8_seq). */
static size_t utf8_seq_reference(const uint8_t *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
	         : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (k == 0 || k > n)
		return 0;
	return utf8_reference(s, k) ? k : 0;
}

/* Valid UTF-8 and no C0, DEL or C1 code point (reference for wire_name_valid). */
static bool name_reference(const uint8_t *s, size_t n)
{
	if (!utf8_reference(s, n))
		return false;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_reference(s + i, n - i);
		uint32_t cp = k == 1 ? s[i] : k == 2 ? (uint32_t)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f)
		                                     : 0x800;   /* longer: not a control */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
		i += k;
	}
	return true;
}

static void fuzz_text(const uint8_t *p, size_t n)
{
	REQUIRE(wire_utf8_valid((const char *)p, n) == utf8_reference(p, n));
	REQUIRE(wire_name_valid((const char *)p, n) == name_reference(p, n));
	/* every position: the decoder's one sequence against the reference's */
	for (size_t i = 0; i < n && i < 64; i++)
		REQUIRE(wire_utf8_seq(p + i, n - i) == utf8_seq_reference(p + i, n - i));
}

/* Depth (a scalar is 1) and object count of a tree msgpack-c built; false on ext. */
static bool tree_ok(const msgpack_object *o, unsigned depth, unsigned max_depth, size_t *elems)
{
	if (depth > max_depth)
		return false;
	(*elems)++;
	switch (o->type) {
	case MSGPACK_OBJECT_EXT:
		return false;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++)
			if (!tree_ok(&o->via.array.ptr[i], depth + 1, max_depth, elems))
				return false;
		return true;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++)
			if (!tree_ok(&o->via.map.ptr[i].key, depth + 1, max_depth, elems) ||
			    !tree_ok(&o->via.map.ptr[i].val, depth + 1, max_depth, elems))
				return false;
		return true;
	default:
		return true;
	}
}

static void fuzz_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_elems)
{
	msgpack_unpacked u;
	size_t off = 0, elems = 0;

	if (wire_check(p, n, max_depth, max_elems) != MESH_OK)
		return;
	/* Only now is msgpack-c safe to run: every count is backed by bytes. */
	msgpack_unpacked_init(&u);
	REQUIRE(msgpack_unpack_next(&u, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS);
	REQUIRE(off == n);
	REQUIRE(tree_ok(&u.data, 1, max_depth, &elems) && elems <= max_elems);
	msgpack_unpacked_destroy(&u);
}

static void fuzz_body(const uint8_t *p, size_t n)
{
	struct wire_beacon_body b, c;
	size_t l1, l2;
	enum mesh_err rc = wire_beacon_body_decode(p, n, &b);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&b, sizeof b));
		return;
	}
	REQUIRE(n <= WIRE_MAX_BEACON && b.port != 0 && b.incarnation != 0);
	REQUIRE(wire_beacon_body_encode(&b, enc1, sizeof enc1, &l1) == MESH_OK);
	REQUIRE(wire_beacon_body_decode(enc1, l1, &c) == MESH_OK);
	REQUIRE(memcmp(&b, &c, sizeof b) == 0);
	REQUIRE(wire_beacon_body_encode(&c, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
}

static void fuzz_signed(const uint8_t *p, size_t n)
{
	struct wire_signed s, t;
	size_t l1, l2;
	enum mesh_err rc = wire_signed_decode(p, n, &s);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&s, sizeof s));
		return;
	}
	REQUIRE(inside(s.body, s.body_len, p, n) && inside(s.sig, WIRE_SIGLEN, p, n));
	REQUIRE(wire_signed_encode(s.body, s.body_len, s.sig, enc1, sizeof enc1, &l1) == MESH_OK);
	REQUIRE(wire_signed_decode(enc1, l1, &t) == MESH_OK);
	REQUIRE(bytes_eq(s.body, s.body_len, t.body, t.body_len));
	REQUIRE(memcmp(s.sig, t.sig, WIRE_SIGLEN) == 0);
	REQUIRE(wire_signed_encode(t.body, t.body_len, t.sig, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
	fuzz_body(s.body, s.body_len);
}

static void fuzz_beacon(const uint8_t *p, size_t n)
{
	struct wire_beacon b, c;
	size_t l1, l2;
	uint64_t v = 99;
	enum mesh_err rc = wire_beacon_decode(p, n, &b);
	enum mesh_err vrc = wire_beacon_version(p, n, &v);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&b, sizeof b));
		/* another version is named, never ours and never 0; anything else is not */
		REQUIRE(vrc == MESH_OK ? v != 0 && v != WIRE_VERSION : vrc == MESH_EMALFORMED && v == 0);
		return;
	}
	REQUIRE(vrc == MESH_EMALFORMED && v == 0);
	REQUIRE(n <= WIRE_MAX_BEACON && inside(b.blob, b.blob_len, p, n));
	REQUIRE(wire_beacon_encode(b.sealed, b.blob, b.blob_len, enc1, sizeof enc1, &l1) ==
	        MESH_OK);
	REQUIRE(wire_beacon_decode(enc1, l1, &c) == MESH_OK && c.sealed == b.sealed);
	REQUIRE(bytes_eq(b.blob, b.blob_len, c.blob, c.blob_len));
	REQUIRE(wire_beacon_encode(c.sealed, c.blob, c.blob_len, enc2, sizeof enc2, &l2) ==
	        MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
	if (!b.sealed)
		fuzz_signed(b.blob, b.blob_len);
}

static void fuzz_hello(const uint8_t *p, size_t n)
{
	static struct wire_hello h, g;
	size_t l1, l2;
	enum mesh_err rc = wire_hello_decode(p, n, &h);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&h, sizeof h));
		return;
	}
	REQUIRE(h.name.len >= 1 && h.name.len <= WIRE_MAX_NAME);
	REQUIRE(inside(h.name.p, h.name.len, p, n));
	REQUIRE(utf8_reference((const uint8_t *)h.name.p, h.name.len));
	REQUIRE(h.incarnation != 0 && h.ngroups <= WIRE_MAX_GROUPS);
	for (size_t i = 0; i < h.ngroups; i++) {
		REQUIRE(h.groups[i].len >= 1 && h.groups[i].len <= WIRE_MAX_GROUP);
		REQUIRE(inside(h.groups[i].p, h.groups[i].len, p, n));
		REQUIRE(utf8_reference((const uint8_t *)h.groups[i].p, h.groups[i].len));
		for (size_t j = 0; j < i; j++)
			REQUIRE(!wstr_eq(h.groups[i], h.groups[j]));
	}
	REQUIRE(wire_hello_encode(&h, enc1, sizeof enc1, &l1) == MESH_OK);
	REQUIRE(wire_hello_decode(enc1, l1, &g) == MESH_OK && hello_eq(&h, &g));
	REQUIRE(wire_hello_encode(&g, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
}

static void fuzz_reply(const uint8_t *p, size_t n)
{
	struct wire_reply_payload r, q;
	size_t l1, l2;
	enum mesh_err rc = wire_reply_payload_decode(p, n, &r);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&r, sizeof r));
		return;
	}
	REQUIRE(r.incarnation != 0);
	REQUIRE(wire_reply_payload_encode(&r, enc1, sizeof enc1, &l1) == MESH_OK && l1 <= n);
	REQUIRE(wire_reply_payload_decode(enc1, l1, &q) == MESH_OK && memcmp(&r, &q, sizeof r) == 0);
	REQUIRE(wire_reply_payload_encode(&q, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
}

/* An ACCEPT, and wire_msg_decode's view of the same bytes, which must agree. */
static void fuzz_accept(const uint8_t *p, size_t n)
{
	static struct wire_accept a, b;
	struct wire_msg m;
	size_t l1, l2;
	enum mesh_err rc = wire_accept_decode(p, n, &a);
	enum mesh_err mrc = wire_msg_decode(p, n, &m);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&a, sizeof a));
		REQUIRE(mrc != MESH_OK || m.type != WIRE_ACCEPT);
		return;
	}
	REQUIRE(mrc == MESH_OK && m.type == WIRE_ACCEPT && wstr_eq(m.name, a.name) &&
	        m.ngroups == a.ngroups);
	REQUIRE(a.name.len >= 1 && a.name.len <= WIRE_MAX_NAME);
	REQUIRE(inside(a.name.p, a.name.len, p, n));
	REQUIRE(utf8_reference((const uint8_t *)a.name.p, a.name.len));
	REQUIRE(a.ngroups <= WIRE_MAX_GROUPS);
	for (size_t i = 0; i < a.ngroups; i++) {
		REQUIRE(a.groups[i].len >= 1 && a.groups[i].len <= WIRE_MAX_GROUP);
		REQUIRE(inside(a.groups[i].p, a.groups[i].len, p, n));
		REQUIRE(utf8_reference((const uint8_t *)a.groups[i].p, a.groups[i].len));
		for (size_t j = 0; j < i; j++)
			REQUIRE(!wstr_eq(a.groups[i], a.groups[j]));
	}
	REQUIRE(wire_accept_encode(&a, enc1, sizeof enc1, &l1) == MESH_OK && l1 <= n);
	REQUIRE(wire_accept_decode(enc1, l1, &b) == MESH_OK && accept_eq(&a, &b));
	REQUIRE(wire_accept_encode(&b, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
}

static void fuzz_msg(const uint8_t *p, size_t n)
{
	struct wire_msg m, k;
	size_t l1, l2;
	enum mesh_err rc = wire_msg_decode(p, n, &m);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&m, sizeof m));
		return;
	}
	if (m.type < WIRE_ACCEPT || m.type > WIRE_PEERS) {
		k = m;
		k.type = 0;
		REQUIRE(all_zero(&k, sizeof k));
		REQUIRE(wire_msg_encode(&m, enc1, sizeof enc1, &l1) == MESH_EINVAL);
		return;
	}
	if (m.type == WIRE_ACCEPT) {
		/* written by its own encoder: fuzz_accept checks the round trip */
		REQUIRE(wire_msg_encode(&m, enc1, sizeof enc1, &l1) == MESH_EINVAL);
		fuzz_accept(p, n);
		return;
	}
	REQUIRE(m.name.p == NULL && m.name.len == 0 && m.ngroups == 0);
	if (m.type == WIRE_JOIN || m.type == WIRE_LEAVE || m.type == WIRE_SHOUT) {
		REQUIRE(m.group.len >= 1 && m.group.len <= WIRE_MAX_GROUP);
		REQUIRE(inside(m.group.p, m.group.len, p, n));
		REQUIRE(utf8_reference((const uint8_t *)m.group.p, m.group.len));
	}
	if (m.type == WIRE_SHOUT || m.type == WIRE_WHISPER) {
		REQUIRE(m.msg_id != 0 && m.count >= 1 && m.count <= WIRE_MAX_FRAGMENTS);
		REQUIRE(m.index < m.count && m.data_len <= WIRE_MAX_FRAGMENT);
		REQUIRE(inside(m.data, m.data_len, p, n));
	}
	if (m.type == WIRE_REKEY || m.type == WIRE_REKEY_REPLY)
		REQUIRE(m.rekey_n >= 1 && m.noise && inside(m.noise, WIRE_REKEY_NOISE, p, n));
	else
		REQUIRE(m.rekey_n == 0 && m.noise == NULL);
	REQUIRE(m.type == WIRE_PEERS ? m.npeers >= 1 && m.npeers <= WIRE_PEERS_MAX : m.npeers == 0);
	for (size_t i = 0; i < m.npeers; i++)
		REQUIRE(m.peers[i].len >= 1 && m.peers[i].len <= WIRE_MAX_SIGNED &&
		        inside(m.peers[i].p, m.peers[i].len, p, n));
	REQUIRE(wire_msg_encode(&m, enc1, sizeof enc1, &l1) == MESH_OK);
	REQUIRE(l1 <= n);   /* shortest forms: never longer than what was received */
	if (m.type == WIRE_SHOUT || m.type == WIRE_WHISPER)
		REQUIRE(l1 <= wire_msg_overhead(m.group.len) + m.data_len);
	REQUIRE(wire_msg_decode(enc1, l1, &k) == MESH_OK && msg_eq(&m, &k));
	REQUIRE(wire_msg_encode(&k, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
}

static bool frame_eq(const struct wire_frame *a, const struct wire_frame *b)
{
	return a->type == b->type && a->rx_sid == b->rx_sid && a->tx_sid == b->tx_sid &&
	       a->counter == b->counter && bytes_eq(a->body, a->body_len, b->body, b->body_len);
}

static void fuzz_frame(const uint8_t *p, size_t n)
{
	struct wire_frame f, g;
	size_t l1, l2;
	enum mesh_err rc = wire_frame_decode(p, n, &f);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_EMALFORMED && all_zero(&f, sizeof f));
		return;
	}
	REQUIRE(inside(f.body, f.body_len, p, n) && f.body_len <= WIRE_MAX_NOISE);
	switch (f.type) {
	case WIRE_HELLO:
		REQUIRE(f.tx_sid != 0 && f.rx_sid == 0 && f.counter == 0);
		break;
	case WIRE_REPLY:
		REQUIRE(f.tx_sid != 0 && f.rx_sid != 0 && f.counter == 0);
		break;
	case WIRE_FINISH:
		REQUIRE(f.tx_sid == 0 && f.rx_sid != 0 && f.counter == 0);
		break;
	case WIRE_DATA:
		REQUIRE(f.tx_sid == 0 && f.rx_sid != 0);
		break;
	default:
		abort();
	}
	REQUIRE(wire_frame_encode(&f, enc1, sizeof enc1, &l1) == MESH_OK);
	REQUIRE(l1 <= n);
	REQUIRE(wire_frame_decode(enc1, l1, &g) == MESH_OK && frame_eq(&f, &g));
	REQUIRE(wire_frame_encode(&g, enc2, sizeof enc2, &l2) == MESH_OK);
	REQUIRE(bytes_eq(enc1, l1, enc2, l2));
	if (f.type == WIRE_DATA)
		fuzz_msg(f.body, f.body_len);
	else if (f.type == WIRE_REPLY)
		fuzz_reply(f.body, f.body_len);
	else
		fuzz_hello(f.body, f.body_len);
}

/* The first bytes as rx_sid, counter and body length of a DATA header. */
static void fuzz_data_header(const uint8_t *p, size_t n)
{
	static uint8_t body[WIRE_MAX_NOISE + 1];
	struct wire_frame f = { .type = WIRE_DATA }, g;
	uint64_t v[3] = { 0, 0, 0 };
	size_t hlen, flen;
	enum mesh_err rc;
	if (n < 14)
		return;
	for (size_t i = 0; i < 4; i++)
		v[0] = v[0] << 8 | p[i];
	for (size_t i = 4; i < 12; i++)
		v[1] = v[1] << 8 | p[i];
	v[2] = (uint64_t)p[12] << 8 | p[13];
	f.rx_sid = (uint32_t)v[0];
	f.counter = v[1];
	f.body = body;
	f.body_len = (size_t)v[2] + (v[2] == 0xffff && (p[0] & 1));   /* one past the limit */
	rc = wire_data_header(f.rx_sid, f.counter, f.body_len, enc1, sizeof enc1, &hlen);
	if (f.rx_sid == 0 || f.body_len > WIRE_MAX_NOISE) {
		REQUIRE(rc == MESH_EINVAL);
		return;
	}
	REQUIRE(rc == MESH_OK && hlen <= WIRE_DATA_HDR_MAX);
	memset(body, p[13], f.body_len);
	REQUIRE(wire_frame_encode(&f, enc2, sizeof enc2, &flen) == MESH_OK);
	REQUIRE(flen == hlen + f.body_len && memcmp(enc1, enc2, hlen) == 0);
	REQUIRE(wire_frame_decode(enc2, flen, &g) == MESH_OK && frame_eq(&f, &g));
	/* too small a buffer is refused, never overrun */
	REQUIRE(wire_data_header(f.rx_sid, f.counter, f.body_len, enc1, hlen - 1, &flen) ==
	        MESH_ELIMIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_text(data, size);
	fuzz_data_header(data, size);
	fuzz_check(data, size, WIRE_MAX_DEPTH, 64);
	fuzz_check(data, size, 8, 4096);
	fuzz_beacon(data, size);
	fuzz_signed(data, size);
	fuzz_body(data, size);
	fuzz_frame(data, size);
	fuzz_hello(data, size);
	fuzz_reply(data, size);
	fuzz_accept(data, size);
	fuzz_msg(data, size);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

static const uint8_t seed_id[WIRE_IDLEN] = { 0x01, 0x02, 0x03, 0xfe, 0xff };
static const uint8_t seed_bytes[2048] = { 0x93, 0x01, 0xc4, 0x00, 0xa1, 0x61 };

static enum mesh_err seed_hello(size_t ngroups, uint8_t *buf, size_t cap, size_t *len)
{
	static struct wire_hello h;
	static char names[WIRE_MAX_GROUPS][4];
	memset(&h, 0, sizeof h);
	memcpy(h.node_id, seed_id, WIRE_IDLEN);
	h.name.p = "n\xc3\xa9ud";
	h.name.len = 5;
	h.incarnation = 0x0123456789abcdefull;
	h.features = 0;
	for (size_t i = 0; i < ngroups && i < WIRE_MAX_GROUPS; i++) {
		names[i][0] = 'g';
		names[i][1] = (char)('a' + i / 26 % 26);
		names[i][2] = (char)('a' + i % 26);
		h.groups[i].p = names[i];
		h.groups[i].len = 3;
	}
	h.ngroups = ngroups;
	return wire_hello_encode(&h, buf, cap, len);
}

static enum mesh_err seed_reply(uint8_t *buf, size_t cap, size_t *len)
{
	struct wire_reply_payload r = { .incarnation = 0x0123456789abcdefull, .features = 3,
	                                .ip = IPADDR_V4(10, 1, 2, 3), .port = 47000 };
	memcpy(r.node_id, seed_id, WIRE_IDLEN);
	return wire_reply_payload_encode(&r, buf, cap, len);
}

static enum mesh_err seed_accept(size_t ngroups, uint8_t *buf, size_t cap, size_t *len)
{
	static struct wire_accept a;
	static char names[WIRE_MAX_GROUPS][4];
	memset(&a, 0, sizeof a);
	a.name.p = "n\xc3\xa9ud";
	a.name.len = 5;
	for (size_t i = 0; i < ngroups && i < WIRE_MAX_GROUPS; i++) {
		names[i][0] = 'g';
		names[i][1] = (char)('a' + i / 26 % 26);
		names[i][2] = (char)('a' + i % 26);
		a.groups[i].p = names[i];
		a.groups[i].len = 3;
	}
	a.ngroups = ngroups;
	return wire_accept_encode(&a, buf, cap, len);
}

/*
 * Valid encodings of every structure, built with the encoders, for replay.c to mutate.
 * Returns the seed's length, or 0 past the last seed (or if cap is too small for it).
 */
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	uint8_t tmp[WIRE_MAX_BEACON];
	size_t len = 0, tlen = 0;
	enum mesh_err rc;
	struct wire_beacon_body body = { { 0 }, IPADDR_V4(10, 1, 2, 3), 47474, 1700000000000ull, 99 };
	struct wire_frame f = { WIRE_HELLO, 0, 0x11223344, 0, seed_bytes, 32 };
	struct wire_msg m = { .type = WIRE_ACCEPT, .group = { "chat", 4 }, .count = 1,
	                      .data = seed_bytes };

	memcpy(body.node_id, seed_id, WIRE_IDLEN);
	switch (i) {
	case 0: rc = wire_beacon_body_encode(&body, buf, cap, &len); break;
	case 1:
	case 2:
		rc = wire_beacon_body_encode(&body, tmp, sizeof tmp, &tlen);
		if (rc == MESH_OK)
			rc = wire_signed_encode(tmp, tlen, seed_bytes, i == 1 ? buf : tmp + tlen,
			                        i == 1 ? cap : sizeof tmp - tlen, &len);
		if (rc == MESH_OK && i == 2)
			rc = wire_beacon_encode(false, tmp + tlen, len, buf, cap, &len);
		break;
	case 3: rc = wire_beacon_encode(true, seed_bytes, 24 + 16 + 148, buf, cap, &len); break;
	case 4: rc = wire_frame_encode(&f, buf, cap, &len); break;
	case 5:
		f.type = WIRE_REPLY;
		f.rx_sid = 0x11223344;
		f.tx_sid = 0x55667788;
		f.body_len = 200;
		rc = wire_frame_encode(&f, buf, cap, &len);
		break;
	case 6:
		f.type = WIRE_FINISH;
		f.rx_sid = 0x55667788;
		f.body_len = 100;
		rc = wire_frame_encode(&f, buf, cap, &len);
		break;
	case 7:
		f.type = WIRE_DATA;
		f.rx_sid = 7;
		f.counter = 1u << 20;
		f.body_len = sizeof seed_bytes;
		rc = wire_frame_encode(&f, buf, cap, &len);
		break;
	case 8:
	case 9:
		/* a handshake frame whose body is a hello, a DATA frame whose body is a SHOUT */
		if (i == 8) {
			rc = seed_reply(enc2, sizeof enc2, &tlen);
			f.type = WIRE_REPLY;
			f.rx_sid = 1;
		} else {
			m.type = WIRE_SHOUT;
			m.msg_id = 5;
			m.data_len = 10;
			rc = wire_msg_encode(&m, enc2, sizeof enc2, &tlen);
			f.type = WIRE_DATA;
			f.rx_sid = 2;
		}
		f.body = enc2;
		f.body_len = tlen;
		if (rc == MESH_OK)
			rc = wire_frame_encode(&f, buf, cap, &len);
		break;
	case 10: rc = seed_hello(0, buf, cap, &len); break;
	case 11: rc = seed_hello(2, buf, cap, &len); break;
	case 12: rc = seed_hello(40, buf, cap, &len); break;
	case 13: case 14: case 15: case 16: case 17: case 18: case 19: case 20: case 22: case 23:
	case 24:
		m.type = i <= 20 ? i - 12 : i - 13;   /* every message type, 1 to 11 */
		m.incarnation = 77;
		m.reason = 1;
		m.msg_id = 0x1000;
		m.index = 1;
		m.count = 3;
		m.data_len = i == 19 ? 300 : 3;
		if (m.type == WIRE_ACCEPT)
			rc = seed_accept(2, buf, cap, &len);   /* its own encoder */
		else
			rc = wire_msg_encode(&m, buf, cap, &len);
		break;
	case 27: rc = seed_reply(buf, cap, &len); break;
	case 28: rc = seed_accept(0, buf, cap, &len); break;
	case 29: rc = seed_accept(40, buf, cap, &len); break;
	case 30:
		/* a FINISH frame whose body is a hello */
		rc = seed_hello(3, enc2, sizeof enc2, &tlen);
		f.type = WIRE_FINISH;
		f.rx_sid = 3;
		f.body = enc2;
		f.body_len = tlen;
		if (rc == MESH_OK)
			rc = wire_frame_encode(&f, buf, cap, &len);
		break;
	case 31:
		/* a beacon datagram of protocol version 1, as such a node sends it */
		rc = wire_beacon_encode(false, seed_bytes, 100, buf, cap, &len);
		if (rc == MESH_OK && len > 10 && buf[10] == WIRE_VERSION)
			buf[10] = 1;
		break;
	case 25:
	case 26:
		/* REKEY and REKEY_REPLY (section 3.3) */
		m.type = i == 25 ? WIRE_REKEY : WIRE_REKEY_REPLY;
		m.rekey_n = i == 25 ? 1 : 0x10000;
		m.noise = seed_bytes;
		rc = wire_msg_encode(&m, buf, cap, &len);
		break;
	case 32:
		/* PEERS (section 2, "Peer exchange") with three entries, one of the largest */
		m.type = WIRE_PEERS;
		m.npeers = 3;
		m.peers[0] = (struct wire_bin){ seed_bytes, 148 };
		m.peers[1] = (struct wire_bin){ seed_bytes + 3, 1 };
		m.peers[2] = (struct wire_bin){ seed_bytes, WIRE_MAX_SIGNED };
		rc = wire_msg_encode(&m, buf, cap, &len);
		break;
	case 33:
	case 34:
		/* IPv6 (section 2, "IPv6"): a beacon body and a reply payload with 16-byte ips */
		(void)ipaddr_parse("fd77:0:1::5", &body.ip);
		if (i == 33) {
			rc = wire_beacon_body_encode(&body, buf, cap, &len);
		} else {
			struct wire_reply_payload r = { .incarnation = 9, .features = 7, .port = 1 };
			(void)ipaddr_parse("fe80::1", &r.ip);
			memcpy(r.node_id, seed_id, WIRE_IDLEN);
			rc = wire_reply_payload_encode(&r, buf, cap, &len);
		}
		break;
	case 21:
		/* an unknown message type with a bit of everything in it */
		if (cap < 24)
			return 0;
		memcpy(buf, "\x96\x63\xc0\xc3\xa1\x78\x92\xff\xd0\x80\x81\x01\xcb\x3f\xf0\0\0\0\0\0\0", 21);
		len = 21;
		rc = MESH_OK;
		break;
	default:
		return 0;
	}
	return rc == MESH_OK ? len : 0;
}
