/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * wire: strict msgpack encoding and decoding of beacons, frames, payloads and messages
 * (docs/protocol.md, sections 2, 3, 3.1, 3.2, 3.3 and 6).
 *
 * Every decoder runs the same three steps: bound n by the structure's cap, walk the raw bytes
 * (walk(): every count and length backed by bytes present, depth and element caps, exactly one
 * object spanning all n bytes), and only then let msgpack_unpack build objects, in a zone sized
 * by the walk, accepting MSGPACK_UNPACK_SUCCESS with off == n and nothing else. The object tree
 * is then read through a cursor that remembers failure (struct arr) and checked for the exact
 * shape: element count, exact types, ranges and lengths. Decoded structs are zeroed on every
 * failure.
 *
 * Borrowed pointers. msgpack_unpack (unlike the streaming msgpack_unpacker) does not copy
 * str/bin payloads into its zone: their ptr points into the buffer it was given (checked by
 * experiment with msgpack-c 4.0.0, and by test_wire). We do not rely on that blindly: every
 * borrowed str/bin is re-based, by offset, onto the caller's input and rejected if it does not
 * lie inside it (arr_bin, arr_str), so a decoded struct can never point into the zone that
 * unpacked_destroy frees before we return.
 *
 * Encoders write the shortest forms through a fixed-buffer packer (MESH_ELIMIT when the
 * caller's buffer is too small) and refuse, with MESH_EINVAL, any value their own decoder
 * would reject, so decode(encode(x)) == x for every x the encoder accepts.
 */
#include "wire.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

/*
 * Hard ceiling on nesting for walk(). msgpack-c's own unpacker stack is 32 deep
 * (MSGPACK_EMBED_STACK_SIZE), so nothing deeper could unpack anyway; no message needs more
 * than WIRE_MAX_DEPTH.
 */
#define WALK_MAX_DEPTH 32

/* Element caps handed to walk(): every object counts, the top-level array included. */
#define BEACON_ELEMS 5               /* [ magic, version, sealed, blob ] */
#define SIGNED_ELEMS 3               /* [ body, sig ] */
#define BODY_ELEMS 8                 /* [ magic, version, id, ip, port, counter, incarnation ] */
#define FRAME_ELEMS 5                /* REPLY and DATA: 4 fields */
#define REPLY_PAYLOAD_ELEMS 7        /* [ version, id, incarnation, features, ip, port ] */
#define HELLO_ELEMS (9 + WIRE_MAX_GROUPS)
#define ACCEPT_ELEMS (4 + WIRE_MAX_GROUPS)  /* [ 1, name, [ group, ... ] ] */
/*
 * A message of an unknown type is still bounded: at most MSG_MAX_FIELDS top-level fields and
 * MSG_MAX_ELEMS objects in all. Known types need at most 6 fields, and all but ACCEPT (a name
 * and up to WIRE_MAX_GROUPS groups: ACCEPT_ELEMS) stay within MSG_MAX_ELEMS too.
 */
#define MSG_MAX_FIELDS 16
#define MSG_MAX_ELEMS 64

/* Largest blob/body such that the datagram still fits WIRE_MAX_BEACON (bin16 headers). */
#define BEACON_MAX_BLOB (WIRE_MAX_BEACON - (1 + 1 + 8 + 1 + 1 + 3))
#define SIGNED_MAX_BODY (WIRE_MAX_BEACON - (1 + 3 + 2 + WIRE_SIGLEN))

/* ------------------------------------------------------------------ raw byte walk */

struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->bad || r->left < 1) {
		r->bad = true;
		return 0;
	}
	uint8_t v = r->p[0];
	r->p++;
	r->left--;
	return v;
}

/* Big-endian unsigned integer of k (1, 2, 4 or 8) bytes. */
static uint64_t rd_be(struct rd *r, size_t k)
{
	if (r->bad || r->left < k) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < k; i++)
		v = v << 8 | r->p[i];
	r->p += k;
	r->left -= k;
	return v;
}

static void rd_skip(struct rd *r, uint64_t n)
{
	if (r->bad || n > r->left) {
		r->bad = true;
		return;
	}
	r->p += (size_t)n;
	r->left -= (size_t)n;
}

/*
 * The walk behind wire_check(). An object's depth is the number of objects on its nesting
 * path: a top-level scalar is at depth 1, the strings inside hello's group list at depth 3.
 * Iterative, with one pending-element count per open container.
 *
 * With canonical_ints, a signed integer format (int8..int64) holding a value >= 0 is
 * malformed. msgpack-c reports such a value as MSGPACK_OBJECT_POSITIVE_INTEGER, which would
 * let it pass as a uint field; the spec allows only unsigned forms there, and no conforming
 * encoder emits a non-negative value in a signed form.
 */
static enum mesh_err walk(const uint8_t *p, size_t n, unsigned max_depth, size_t max_elems,
                          bool canonical_ints, size_t *objects)
{
	struct rd r = { p, n, p == NULL };
	size_t pending[WALK_MAX_DEPTH];
	unsigned open = 0;           /* containers still open */
	size_t elems = 0;

	if (max_depth > WALK_MAX_DEPTH)
		max_depth = WALK_MAX_DEPTH;
	if (max_depth == 0 || max_elems == 0)
		return MESH_EMALFORMED;

	while (!r.bad) {
		uint64_t count = 0;      /* elements of a container */
		unsigned per = 1;        /* objects per element: 2 for a map entry */
		bool container = false;
		uint8_t b = rd_u8(&r);

		elems++;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool: the byte is the whole object */
		} else if (b <= 0x8f) {
			container = true;
			count = b & 0x0f;
			per = 2;
		} else if (b <= 0x9f) {
			container = true;
			count = b & 0x0f;
		} else if (b <= 0xbf) {
			rd_skip(&r, b & 0x1f);
		} else {
			switch (b) {
			case 0xc4: rd_skip(&r, rd_be(&r, 1)); break;       /* bin8 */
			case 0xc5: rd_skip(&r, rd_be(&r, 2)); break;       /* bin16 */
			case 0xc6: rd_skip(&r, rd_be(&r, 4)); break;       /* bin32 */
			case 0xca: rd_skip(&r, 4); break;                  /* float32 */
			case 0xcb: rd_skip(&r, 8); break;                  /* float64 */
			case 0xcc: rd_skip(&r, 1); break;                  /* uint8 */
			case 0xcd: rd_skip(&r, 2); break;                  /* uint16 */
			case 0xce: rd_skip(&r, 4); break;                  /* uint32 */
			case 0xcf: rd_skip(&r, 8); break;                  /* uint64 */
			case 0xd0: case 0xd1: case 0xd2: case 0xd3: {      /* int8..int64 */
				size_t k = (size_t)1 << (b - 0xd0);
				if (canonical_ints && r.left >= 1 && (r.p[0] & 0x80) == 0)
					r.bad = true;
				rd_skip(&r, k);
				break;
			}
			case 0xd9: rd_skip(&r, rd_be(&r, 1)); break;       /* str8 */
			case 0xda: rd_skip(&r, rd_be(&r, 2)); break;       /* str16 */
			case 0xdb: rd_skip(&r, rd_be(&r, 4)); break;       /* str32 */
			case 0xdc: container = true; count = rd_be(&r, 2); break;
			case 0xdd: container = true; count = rd_be(&r, 4); break;
			case 0xde: container = true; count = rd_be(&r, 2); per = 2; break;
			case 0xdf: container = true; count = rd_be(&r, 4); per = 2; break;
			default:
				/* 0xc1 (never used) and every ext format: nothing of ours uses ext */
				r.bad = true;
				break;
			}
		}
		if (r.bad || elems > max_elems)
			break;

		if (container && count > 0) {
			/* Each element takes at least one byte: a count the bytes cannot back is
			 * malformed before anything is allocated or descended into. */
			if (count > r.left / per || count * per > max_elems - elems ||
			    open + 2 > max_depth) {
				r.bad = true;
				break;
			}
			pending[open++] = (size_t)count * per;
			continue;
		}
		/* One object finished: it may complete its container, and that one its parent. */
		while (open > 0 && --pending[open - 1] == 0)
			open--;
		if (open == 0)
			break;
	}
	if (r.bad || elems > max_elems || open != 0 || r.left != 0)
		return MESH_EMALFORMED;
	if (objects)
		*objects = elems;
	return MESH_OK;
}

enum mesh_err wire_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_elems)
{
	return walk(p, n, max_depth, max_elems, false, NULL);
}

size_t wire_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;    /* allowed range of the second byte (RFC 3629) */

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

bool wire_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	if (s == NULL)
		return len == 0;
	for (size_t i = 0, n; i < len; i += n)
		if ((n = wire_utf8_seq(u + i, len - i)) == 0)
			return false;
	return true;
}

bool wire_name_valid(const char *s, size_t len)
{
	if (!wire_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		/* C0 and DEL; C1 (U+0080..U+009F) is encoded 0xc2 0x80..0x9f */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (uint8_t)s[i + 1] < 0xa0))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ object cursor */

/* Reads the elements of one msgpack array in order; any mismatch sets bad for good. */
struct arr {
	const msgpack_object *o;
	size_t left;
	const uint8_t *base;         /* the caller's input, to re-base borrowed pointers */
	size_t n;
	bool bad;
};

/* Opens o as an array of exactly count (>= 1) elements. */
static void arr_open(struct arr *a, const msgpack_object *o, size_t count, const uint8_t *base,
                     size_t n)
{
	a->o = NULL;
	a->left = 0;
	a->base = base;
	a->n = n;
	a->bad = true;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != count || count == 0)
		return;
	a->o = o->via.array.ptr;
	a->left = count;
	a->bad = false;
}

static const msgpack_object *arr_next(struct arr *a)
{
	if (a->bad || a->left == 0) {
		a->bad = true;
		return NULL;
	}
	a->left--;
	return a->o++;
}

static uint64_t arr_uint(struct arr *a, uint64_t min, uint64_t max)
{
	const msgpack_object *o = arr_next(a);
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min ||
	    o->via.u64 > max) {
		a->bad = true;
		return 0;
	}
	return o->via.u64;
}

static bool arr_bool(struct arr *a)
{
	const msgpack_object *o = arr_next(a);
	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN) {
		a->bad = true;
		return false;
	}
	return o->via.boolean;
}

/*
 * Maps a payload pointer from msgpack back onto the input, by offset; NULL if outside. An empty
 * payload gets the end of the input: msgpack-c's pointer for one is not meaningful (it may
 * point before its own header), and nobody reads through it.
 */
static const uint8_t *rebase(const struct arr *a, const char *ptr, size_t len)
{
	uintptr_t off = (uintptr_t)ptr - (uintptr_t)a->base;
	if (len == 0)
		return a->base + a->n;
	if (ptr == NULL || off > a->n || len > a->n - off)
		return NULL;
	return a->base + off;
}

static const uint8_t *arr_bin_in(struct arr *a, const msgpack_object *o, size_t min, size_t max,
                                 size_t *len)
{
	const uint8_t *p = NULL;
	*len = 0;
	if (o != NULL && o->type == MSGPACK_OBJECT_BIN && o->via.bin.size >= min &&
	    o->via.bin.size <= max)
		p = rebase(a, o->via.bin.ptr, o->via.bin.size);
	if (p == NULL) {
		a->bad = true;
		return NULL;
	}
	*len = o->via.bin.size;
	return p;
}

static const uint8_t *arr_bin(struct arr *a, size_t min, size_t max, size_t *len)
{
	return arr_bin_in(a, arr_next(a), min, max, len);
}

static void arr_bin_fixed(struct arr *a, uint8_t *dst, size_t len)
{
	size_t got;
	const uint8_t *p = arr_bin(a, len, len, &got);
	if (p != NULL)
		memcpy(dst, p, len);
}

/* An address: bin(4) for IPv4, bin(16) for IPv6 (never an IPv4-mapped one). */
static void arr_ip(struct arr *a, struct ipaddr *dst)
{
	size_t got;
	const uint8_t *p = arr_bin(a, 4, 16, &got);
	if (p != NULL && !ipaddr_from_wire(p, got, dst))
		a->bad = true;
}

/* A str of min..max bytes of valid UTF-8. */
static struct wire_str str_in(struct arr *a, const msgpack_object *o, size_t min, size_t max)
{
	struct wire_str s = { NULL, 0 };
	const uint8_t *p = NULL;
	if (o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size >= min &&
	    o->via.str.size <= max && wire_name_valid(o->via.str.ptr, o->via.str.size))
		p = rebase(a, o->via.str.ptr, o->via.str.size);
	if (p == NULL) {
		a->bad = true;
		return s;
	}
	s.p = (const char *)p;
	s.len = o->via.str.size;
	return s;
}

static struct wire_str arr_str(struct arr *a, size_t min, size_t max)
{
	return str_in(a, arr_next(a), min, max);
}

static void arr_magic(struct arr *a, const char *magic)
{
	size_t len = strlen(magic);
	struct wire_str s = arr_str(a, len, len);
	if (s.p == NULL || memcmp(s.p, magic, len) != 0)
		a->bad = true;
}

/* Every element consumed and nothing failed. */
static bool arr_done(const struct arr *a)
{
	return !a->bad && a->left == 0;
}

/* ------------------------------------------------------------------ decoding frame */

/* What unpack() builds: the object tree, and the zone that holds its containers' elements. */
struct unpacked {
	msgpack_object data;
	msgpack_zone zone;
	bool zoned;                 /* zone holds memory: unpacked_destroy() frees it */
};

/*
 * Steps one and two of every decoder: size cap, byte walk, then msgpack. The walk counts the
 * objects, so the zone is sized before msgpack runs: one allocation of what the containers
 * need (an element of an array is one msgpack_object, of a map two, plus alignment per
 * container), where msgpack_unpack_next would take two of 8 KiB each. Every beacon and frame
 * is decoded here, a flood's included, so that is what a flood costs the allocator.
 */
static enum mesh_err unpack(const uint8_t *p, size_t n, size_t max_n, size_t max_elems,
                            struct unpacked *u)
{
	size_t off = 0, objects = 0;
	msgpack_unpack_return rc;

	memset(u, 0, sizeof *u);
	if (p == NULL || n == 0 || n > max_n)
		return MESH_EMALFORMED;
	if (walk(p, n, WIRE_MAX_DEPTH, max_elems, true, &objects) != MESH_OK)
		return MESH_EMALFORMED;
	if (!msgpack_zone_init(&u->zone, objects * (sizeof(msgpack_object) + MSGPACK_ZONE_ALIGN)))
		return MESH_ENOMEM;
	u->zoned = true;
	rc = msgpack_unpack((const char *)p, n, &off, &u->zone, &u->data);
	if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
		return MESH_ENOMEM;
	if (rc != MSGPACK_UNPACK_SUCCESS || off != n)
		return MESH_EMALFORMED;
	return MESH_OK;
}

static void unpacked_destroy(struct unpacked *u)
{
	if (u->zoned)
		msgpack_zone_destroy(&u->zone);
	u->zoned = false;
}

/* ------------------------------------------------------------------ encoding frame */

/* A packer that writes into the caller's buffer and remembers that it ran out. */
struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool over;
};

static int wbuf_write(void *data, const char *buf, size_t len)
{
	struct wbuf *w = data;
	if (w->over || len > w->cap - w->len) {
		w->over = true;
		return -1;
	}
	if (len > 0)
		memcpy(w->p + w->len, buf, len);
	w->len += len;
	return 0;
}

static void wbuf_init(struct wbuf *w, msgpack_packer *pk, uint8_t *out, size_t cap)
{
	w->p = out;
	w->cap = out == NULL ? 0 : cap;
	w->len = 0;
	w->over = false;
	msgpack_packer_init(pk, w, wbuf_write);
}

static enum mesh_err wbuf_finish(const struct wbuf *w, size_t *outlen)
{
	if (w->over)
		return MESH_ELIMIT;
	*outlen = w->len;
	return MESH_OK;
}

static void pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

static void pack_ip(msgpack_packer *pk, const struct ipaddr *ip)
{
	pack_bin(pk, ipaddr_wire(ip), ipaddr_wire_len(ip));
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* Buffer arguments from our own caller: a NULL pointer is fine only for zero bytes. */
static bool buf_ok(const void *p, size_t len, size_t max)
{
	return len <= max && (p != NULL || len == 0);
}

static bool name_ok(struct wire_str s, size_t max)
{
	return s.len >= 1 && s.len <= max && s.p != NULL && wire_name_valid(s.p, s.len);
}

/* ------------------------------------------------------------------ beacons (section 2) */

enum mesh_err wire_beacon_decode(const uint8_t *p, size_t n, struct wire_beacon *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_BEACON, BEACON_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 4, p, n);
		arr_magic(&a, WIRE_MAGIC);
		arr_uint(&a, WIRE_VERSION, WIRE_VERSION);
		out->sealed = arr_bool(&a);
		out->blob = arr_bin(&a, 0, WIRE_MAX_BEACON, &out->blob_len);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_beacon_version(const uint8_t *p, size_t n, uint64_t *version)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(version != NULL);
	*version = 0;
	rc = unpack(p, n, WIRE_MAX_BEACON, BEACON_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 4, p, n);
		arr_magic(&a, WIRE_MAGIC);
		*version = arr_uint(&a, 0, UINT64_MAX);
		(void)arr_next(&a);
		(void)arr_next(&a);
		if (!arr_done(&a) || *version == 0 || *version == WIRE_VERSION)
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		*version = 0;
	return rc == MESH_OK ? MESH_OK : MESH_EMALFORMED;
}

enum mesh_err wire_beacon_encode(bool sealed, const uint8_t *blob, size_t blob_len,
                                 uint8_t *out, size_t cap, size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (!buf_ok(blob, blob_len, BEACON_MAX_BLOB))
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, 4);
	pack_str(&pk, WIRE_MAGIC, strlen(WIRE_MAGIC));
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	if (sealed)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	pack_bin(&pk, blob, blob_len);
	return wbuf_finish(&w, outlen);
}

enum mesh_err wire_signed_decode(const uint8_t *p, size_t n, struct wire_signed *out)
{
	struct unpacked u;
	struct arr a;
	size_t siglen;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_BEACON, SIGNED_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 2, p, n);
		out->body = arr_bin(&a, 0, WIRE_MAX_BEACON, &out->body_len);
		out->sig = arr_bin(&a, WIRE_SIGLEN, WIRE_SIGLEN, &siglen);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_signed_encode(const uint8_t *body, size_t body_len,
                                 const uint8_t sig[WIRE_SIGLEN], uint8_t *out, size_t cap,
                                 size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (!buf_ok(body, body_len, SIGNED_MAX_BODY) || sig == NULL)
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, 2);
	pack_bin(&pk, body, body_len);
	pack_bin(&pk, sig, WIRE_SIGLEN);
	return wbuf_finish(&w, outlen);
}

enum mesh_err wire_beacon_body_decode(const uint8_t *p, size_t n, struct wire_beacon_body *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_BEACON, BODY_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 7, p, n);
		arr_magic(&a, WIRE_BEACON_MAGIC);
		arr_uint(&a, WIRE_VERSION, WIRE_VERSION);
		arr_bin_fixed(&a, out->node_id, WIRE_IDLEN);
		arr_ip(&a, &out->ip);
		out->port = (uint16_t)arr_uint(&a, 1, UINT16_MAX);
		out->counter = arr_uint(&a, 0, UINT64_MAX);
		out->incarnation = arr_uint(&a, 1, UINT64_MAX);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_beacon_body_encode(const struct wire_beacon_body *b, uint8_t *out, size_t cap,
                                      size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (b == NULL || b->port == 0 || b->incarnation == 0)
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, 7);
	pack_str(&pk, WIRE_BEACON_MAGIC, strlen(WIRE_BEACON_MAGIC));
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	pack_bin(&pk, b->node_id, WIRE_IDLEN);
	pack_ip(&pk, &b->ip);
	msgpack_pack_uint64(&pk, b->port);
	msgpack_pack_uint64(&pk, b->counter);
	msgpack_pack_uint64(&pk, b->incarnation);
	return wbuf_finish(&w, outlen);
}

/* ------------------------------------------------------------------ frames (section 3) */

static size_t frame_fields(uint64_t type)
{
	switch (type) {
	case WIRE_HELLO: return 3;
	case WIRE_REPLY: return 4;
	case WIRE_FINISH: return 3;
	case WIRE_DATA: return 4;
	}
	return 0;
}

enum mesh_err wire_frame_decode(const uint8_t *p, size_t n, struct wire_frame *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_FRAME, FRAME_ELEMS, &u);
	if (rc == MESH_OK) {
		const msgpack_object *o = &u.data;
		uint64_t type = 0;
		/* The type decides the count, so peek at it before opening the array exactly. */
		if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0 &&
		    o->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			type = o->via.array.ptr[0].via.u64;
		arr_open(&a, o, frame_fields(type), p, n);
		arr_uint(&a, type, type);
		if (frame_fields(type) != 0)
			out->type = (enum wire_frame_type)type;
		switch (type) {
		case WIRE_HELLO:
			out->tx_sid = (uint32_t)arr_uint(&a, 1, UINT32_MAX);
			break;
		case WIRE_REPLY:
			out->rx_sid = (uint32_t)arr_uint(&a, 1, UINT32_MAX);
			out->tx_sid = (uint32_t)arr_uint(&a, 1, UINT32_MAX);
			break;
		case WIRE_FINISH:
			out->rx_sid = (uint32_t)arr_uint(&a, 1, UINT32_MAX);
			break;
		case WIRE_DATA:
			out->rx_sid = (uint32_t)arr_uint(&a, 1, UINT32_MAX);
			out->counter = arr_uint(&a, 0, UINT64_MAX);
			break;
		default:
			a.bad = true;
			break;
		}
		out->body = arr_bin(&a, 0, WIRE_MAX_NOISE, &out->body_len);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_frame_encode(const struct wire_frame *f, uint8_t *out, size_t cap,
                                size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;
	size_t fields;

	assert(outlen != NULL);
	*outlen = 0;
	if (f == NULL)
		return MESH_EINVAL;
	fields = frame_fields((uint64_t)f->type);
	if (fields == 0 || !buf_ok(f->body, f->body_len, WIRE_MAX_NOISE))
		return MESH_EINVAL;
	/* The fields a type does not carry are ignored, as the decoder leaves them zero. */
	if ((f->type == WIRE_HELLO || f->type == WIRE_REPLY) && f->tx_sid == 0)
		return MESH_EINVAL;
	if (f->type != WIRE_HELLO && f->rx_sid == 0)
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, fields);
	msgpack_pack_uint64(&pk, (uint64_t)f->type);
	switch (f->type) {
	case WIRE_HELLO:
		msgpack_pack_uint64(&pk, f->tx_sid);
		break;
	case WIRE_REPLY:
		msgpack_pack_uint64(&pk, f->rx_sid);
		msgpack_pack_uint64(&pk, f->tx_sid);
		break;
	case WIRE_FINISH:
		msgpack_pack_uint64(&pk, f->rx_sid);
		break;
	case WIRE_DATA:
		msgpack_pack_uint64(&pk, f->rx_sid);
		msgpack_pack_uint64(&pk, f->counter);
		break;
	}
	pack_bin(&pk, f->body, f->body_len);
	return wbuf_finish(&w, outlen);
}

enum mesh_err wire_data_header(uint32_t rx_sid, uint64_t counter, size_t body_len, uint8_t *out,
                               size_t cap, size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (rx_sid == 0 || body_len > WIRE_MAX_NOISE)
		return MESH_EINVAL;
	/* the same calls, in the same order, as wire_frame_encode() for a DATA frame */
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, frame_fields(WIRE_DATA));
	msgpack_pack_uint64(&pk, (uint64_t)WIRE_DATA);
	msgpack_pack_uint64(&pk, rx_sid);
	msgpack_pack_uint64(&pk, counter);
	msgpack_pack_bin(&pk, body_len);
	return wbuf_finish(&w, outlen);
}

/* ------------------------------------------------------------------ payloads (section 3.1) */

static bool str_eq(struct wire_str a, struct wire_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Quadratic, but bounded by WIRE_MAX_GROUPS names of at most WIRE_MAX_GROUP bytes. */
static bool groups_unique(const struct wire_str *g, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (str_eq(g[i], g[j]))
				return false;
	return true;
}

/*
 * The next element as a list of at most WIRE_MAX_GROUPS distinct group names (section 6), as
 * the hello payload and ACCEPT carry it. With out NULL it is only checked: uniqueness is then
 * compared on msgpack's own objects, so that a caller needs no room for the names.
 */
static size_t arr_groups(struct arr *a, struct wire_str *out)
{
	const msgpack_object *g = arr_next(a);
	if (g == NULL || g->type != MSGPACK_OBJECT_ARRAY || g->via.array.size > WIRE_MAX_GROUPS) {
		a->bad = true;
		return 0;
	}
	size_t n = g->via.array.size;
	for (size_t i = 0; i < n && !a->bad; i++) {
		const msgpack_object *o = &g->via.array.ptr[i];
		struct wire_str si = str_in(a, o, 1, WIRE_MAX_GROUP);
		if (out)
			out[i] = si;
		for (size_t j = 0; j < i && !a->bad && !out; j++) {
			const msgpack_object *q = &g->via.array.ptr[j];
			if (str_eq(si, (struct wire_str){ q->via.str.ptr, q->via.str.size }))
				a->bad = true;
		}
	}
	if (!a->bad && out && !groups_unique(out, n))
		a->bad = true;
	return a->bad ? 0 : n;
}

/* Checks a list of groups we are about to encode by the decoder's rules. */
static bool groups_ok(const struct wire_str *g, size_t n)
{
	if (n > WIRE_MAX_GROUPS || (n > 0 && g == NULL))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_ok(g[i], WIRE_MAX_GROUP))
			return false;
	return groups_unique(g, n);
}

static void pack_groups(msgpack_packer *pk, const struct wire_str *g, size_t n)
{
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		pack_str(pk, g[i].p, g[i].len);
}

enum mesh_err wire_reply_payload_decode(const uint8_t *p, size_t n,
                                        struct wire_reply_payload *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_NOISE, REPLY_PAYLOAD_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 6, p, n);
		arr_uint(&a, WIRE_VERSION, WIRE_VERSION);
		arr_bin_fixed(&a, out->node_id, WIRE_IDLEN);
		out->incarnation = arr_uint(&a, 1, UINT64_MAX);
		out->features = (uint32_t)arr_uint(&a, 0, UINT32_MAX);
		arr_ip(&a, &out->ip);
		out->port = (uint16_t)arr_uint(&a, 0, UINT16_MAX);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_reply_payload_encode(const struct wire_reply_payload *r, uint8_t *out,
                                        size_t cap, size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (r == NULL || r->incarnation == 0)
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	pack_bin(&pk, r->node_id, WIRE_IDLEN);
	msgpack_pack_uint64(&pk, r->incarnation);
	msgpack_pack_uint64(&pk, r->features);
	pack_ip(&pk, &r->ip);
	msgpack_pack_uint64(&pk, r->port);
	return wbuf_finish(&w, outlen);
}

enum mesh_err wire_hello_decode(const uint8_t *p, size_t n, struct wire_hello *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_NOISE, HELLO_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, 8, p, n);
		arr_uint(&a, WIRE_VERSION, WIRE_VERSION);
		arr_bin_fixed(&a, out->node_id, WIRE_IDLEN);
		out->name = arr_str(&a, 1, WIRE_MAX_NAME);
		out->incarnation = arr_uint(&a, 1, UINT64_MAX);
		out->features = (uint32_t)arr_uint(&a, 0, UINT32_MAX);
		out->ngroups = arr_groups(&a, out->groups);
		arr_ip(&a, &out->ip);
		out->port = (uint16_t)arr_uint(&a, 0, UINT16_MAX);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_hello_encode(const struct wire_hello *h, uint8_t *out, size_t cap,
                                size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (h == NULL || !name_ok(h->name, WIRE_MAX_NAME) || h->incarnation == 0 ||
	    !groups_ok(h->groups, h->ngroups))
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, 8);
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	pack_bin(&pk, h->node_id, WIRE_IDLEN);
	pack_str(&pk, h->name.p, h->name.len);
	msgpack_pack_uint64(&pk, h->incarnation);
	msgpack_pack_uint64(&pk, h->features);
	pack_groups(&pk, h->groups, h->ngroups);
	pack_ip(&pk, &h->ip);
	msgpack_pack_uint64(&pk, h->port);
	return wbuf_finish(&w, outlen);
}

/* ------------------------------------------------------------------ messages (3.2, 3.3, 6) */

static size_t msg_fields(uint64_t type)
{
	switch (type) {
	case WIRE_ACCEPT: return 3;
	case WIRE_REJECT: return 2;
	case WIRE_HEARTBEAT: return 1;
	case WIRE_BYE: return 1;
	case WIRE_JOIN: return 2;
	case WIRE_LEAVE: return 2;
	case WIRE_SHOUT: return 6;
	case WIRE_WHISPER: return 5;
	case WIRE_ACK: return 3;
	case WIRE_RESEND: return 3;
	case WIRE_MARK: return 2;
	case WIRE_REKEY: return 3;
	case WIRE_REKEY_REPLY: return 3;
	case WIRE_PEERS: return 2;
	}
	return 0;
}

/* PEERS' list: 1 to WIRE_PEERS_MAX bins of 1 to WIRE_MAX_SIGNED bytes, borrowed. */
static size_t arr_peers(struct arr *a, struct wire_bin *out)
{
	const msgpack_object *l = arr_next(a);
	if (l == NULL || l->type != MSGPACK_OBJECT_ARRAY || l->via.array.size == 0 ||
	    l->via.array.size > WIRE_PEERS_MAX) {
		a->bad = true;
		return 0;
	}
	size_t n = l->via.array.size;
	for (size_t i = 0; i < n && !a->bad; i++)
		out[i].p = arr_bin_in(a, &l->via.array.ptr[i], 1, WIRE_MAX_SIGNED, &out[i].len);
	return a->bad ? 0 : n;
}

static void arr_fragment(struct arr *a, struct wire_msg *m)
{
	m->index = (uint32_t)arr_uint(a, 0, WIRE_MAX_FRAGMENTS - 1);
	m->count = (uint32_t)arr_uint(a, 1, WIRE_MAX_FRAGMENTS);
	if (m->index >= m->count)
		a->bad = true;
	m->data = arr_bin(a, 0, WIRE_MAX_FRAGMENT, &m->data_len);
}

enum mesh_err wire_msg_decode(const uint8_t *p, size_t n, struct wire_msg *m)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(m != NULL);
	memset(m, 0, sizeof *m);
	/* ACCEPT may hold WIRE_MAX_GROUPS names; every other type stays within MSG_MAX_ELEMS */
	rc = unpack(p, n, WIRE_MAX_FRAME, ACCEPT_ELEMS, &u);
	if (rc == MESH_OK) {
		const msgpack_object *o = &u.data;
		uint64_t type = 0;
		size_t fields;
		if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 ||
		    o->via.array.size > MSG_MAX_FIELDS ||
		    o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			rc = MESH_EMALFORMED;
			goto done;
		}
		type = o->via.array.ptr[0].via.u64;
		if (type != WIRE_ACCEPT && walk(p, n, WIRE_MAX_DEPTH, MSG_MAX_ELEMS, true, NULL) != MESH_OK) {
			rc = MESH_EMALFORMED;
			goto done;
		}
		fields = msg_fields(type);
		if (fields == 0) {
			m->type = type;  /* unknown: the caller counts and ignores it */
			goto done;
		}
		arr_open(&a, o, fields, p, n);
		m->type = arr_uint(&a, type, type);
		switch (type) {
		case WIRE_ACCEPT:
			m->name = arr_str(&a, 1, WIRE_MAX_NAME);
			m->ngroups = arr_groups(&a, NULL);
			break;
		case WIRE_REJECT:
			m->reason = arr_uint(&a, 0, UINT64_MAX);
			break;
		case WIRE_JOIN:
		case WIRE_LEAVE:
			m->group = arr_str(&a, 1, WIRE_MAX_GROUP);
			break;
		case WIRE_SHOUT:
			m->msg_id = arr_uint(&a, 1, UINT64_MAX);
			m->group = arr_str(&a, 1, WIRE_MAX_GROUP);
			arr_fragment(&a, m);
			break;
		case WIRE_WHISPER:
			m->msg_id = arr_uint(&a, 1, UINT64_MAX);
			arr_fragment(&a, m);
			break;
		case WIRE_ACK:
		case WIRE_RESEND:
			m->incarnation = arr_uint(&a, 1, UINT64_MAX);
			m->msg_id = arr_uint(&a, 0, UINT64_MAX);
			break;
		case WIRE_MARK:
			m->msg_id = arr_uint(&a, 0, UINT64_MAX);
			break;
		case WIRE_REKEY:
		case WIRE_REKEY_REPLY: {
			size_t len;
			m->rekey_n = arr_uint(&a, 1, UINT64_MAX);
			m->noise = arr_bin(&a, WIRE_REKEY_NOISE, WIRE_REKEY_NOISE, &len);
			break;
		}
		case WIRE_PEERS:
			m->npeers = arr_peers(&a, m->peers);
			break;
		}
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
done:
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(m, 0, sizeof *m);
	return rc;
}

enum mesh_err wire_msg_encode(const struct wire_msg *m, uint8_t *out, size_t cap, size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;
	size_t fields;
	bool fragment;

	assert(outlen != NULL);
	*outlen = 0;
	if (m == NULL)
		return MESH_EINVAL;
	fields = msg_fields(m->type);
	fragment = m->type == WIRE_SHOUT || m->type == WIRE_WHISPER;
	if (fields == 0 || m->type == WIRE_ACCEPT)
		return MESH_EINVAL;
	if ((m->type == WIRE_JOIN || m->type == WIRE_LEAVE || m->type == WIRE_SHOUT) &&
	    !name_ok(m->group, WIRE_MAX_GROUP))
		return MESH_EINVAL;
	if ((m->type == WIRE_ACK || m->type == WIRE_RESEND) && m->incarnation == 0)
		return MESH_EINVAL;
	if ((m->type == WIRE_REKEY || m->type == WIRE_REKEY_REPLY) &&
	    (m->rekey_n == 0 || m->noise == NULL))
		return MESH_EINVAL;
	if (m->type == WIRE_PEERS) {
		if (m->npeers == 0 || m->npeers > WIRE_PEERS_MAX)
			return MESH_EINVAL;
		for (size_t i = 0; i < m->npeers; i++)
			if (m->peers[i].len == 0 || m->peers[i].len > WIRE_MAX_SIGNED ||
			    m->peers[i].p == NULL)
				return MESH_EINVAL;
	}
	if (fragment && (m->msg_id == 0 || m->count < 1 || m->count > WIRE_MAX_FRAGMENTS ||
	                 m->index >= m->count || !buf_ok(m->data, m->data_len, WIRE_MAX_FRAGMENT)))
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, fields);
	msgpack_pack_uint64(&pk, m->type);
	switch (m->type) {
	case WIRE_REJECT:
		msgpack_pack_uint64(&pk, m->reason);
		break;
	case WIRE_JOIN:
	case WIRE_LEAVE:
		pack_str(&pk, m->group.p, m->group.len);
		break;
	case WIRE_SHOUT:
	case WIRE_WHISPER:
		msgpack_pack_uint64(&pk, m->msg_id);
		if (m->type == WIRE_SHOUT)
			pack_str(&pk, m->group.p, m->group.len);
		msgpack_pack_uint64(&pk, m->index);
		msgpack_pack_uint64(&pk, m->count);
		pack_bin(&pk, m->data, m->data_len);
		break;
	case WIRE_ACK:
	case WIRE_RESEND:
		msgpack_pack_uint64(&pk, m->incarnation);
		msgpack_pack_uint64(&pk, m->msg_id);
		break;
	case WIRE_MARK:
		msgpack_pack_uint64(&pk, m->msg_id);
		break;
	case WIRE_REKEY:
	case WIRE_REKEY_REPLY:
		msgpack_pack_uint64(&pk, m->rekey_n);
		pack_bin(&pk, m->noise, WIRE_REKEY_NOISE);
		break;
	case WIRE_PEERS:
		msgpack_pack_array(&pk, m->npeers);
		for (size_t i = 0; i < m->npeers; i++)
			pack_bin(&pk, m->peers[i].p, m->peers[i].len);
		break;
	}
	return wbuf_finish(&w, outlen);
}

enum mesh_err wire_accept_decode(const uint8_t *p, size_t n, struct wire_accept *out)
{
	struct unpacked u;
	struct arr a;
	enum mesh_err rc;

	assert(out != NULL);
	memset(out, 0, sizeof *out);
	rc = unpack(p, n, WIRE_MAX_FRAME, ACCEPT_ELEMS, &u);
	if (rc == MESH_OK) {
		arr_open(&a, &u.data, msg_fields(WIRE_ACCEPT), p, n);
		arr_uint(&a, WIRE_ACCEPT, WIRE_ACCEPT);
		out->name = arr_str(&a, 1, WIRE_MAX_NAME);
		out->ngroups = arr_groups(&a, out->groups);
		if (!arr_done(&a))
			rc = MESH_EMALFORMED;
	}
	unpacked_destroy(&u);
	if (rc != MESH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

enum mesh_err wire_accept_encode(const struct wire_accept *acc, uint8_t *out, size_t cap,
                                 size_t *outlen)
{
	struct wbuf w;
	msgpack_packer pk;

	assert(outlen != NULL);
	*outlen = 0;
	if (acc == NULL || !name_ok(acc->name, WIRE_MAX_NAME) || !groups_ok(acc->groups, acc->ngroups))
		return MESH_EINVAL;
	wbuf_init(&w, &pk, out, cap);
	msgpack_pack_array(&pk, msg_fields(WIRE_ACCEPT));
	msgpack_pack_uint64(&pk, WIRE_ACCEPT);
	pack_str(&pk, acc->name.p, acc->name.len);
	pack_groups(&pk, acc->groups, acc->ngroups);
	return wbuf_finish(&w, outlen);
}

/*
 * Upper bound, not counting the data bytes: fixarray(1) + type(1) + msg_id(uint64: 9) +
 * group(str32 header: 5, + glen) + index(uint32: 5) + count(uint32: 5) + data(bin32 header: 5).
 */
size_t wire_msg_overhead(size_t glen)
{
	const size_t fixed = 1 + 1 + 9 + 5 + 5 + 5 + 5;
	if (glen > SIZE_MAX - fixed)
		return SIZE_MAX;
	return fixed + glen;
}
