/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_handshake: the two ends of a link (mesh/session.h) on outside bytes, with no engine
 * and no socket. Three fixed identities: I initiates, R responds, X is someone else. The first
 * byte picks what the input is:
 *
 *   0  HELLO bytes for R's session_on_hello, then FINISH bytes for its session_on_finish;
 *   1  REPLY bytes for I's session_on_reply, after I's real HELLO;
 *   2  a reply_payload that an honest R carries in its REPLY: I must check it;
 *   3  a hello payload that an honest I carries in its FINISH: R must check it;
 *   4  FINISH bytes for R, after a real HELLO and REPLY;
 *   5  a finished handshake, then a sequence of DATA frames: sealed by I and delivered in any
 *      order, repeated, altered, or made of raw bytes, for R's session_open;
 *   6  the plaintext of R's ACCEPT (its name and groups) for I's session_on_accept, after a
 *      real handshake.
 *
 * The second byte sets the variant: the closed mesh's Noise_XXpsk3 or Noise_XX, keys in the
 * engine's locked pools or in sodium_malloc, whom I expects, whose key R answers with, and
 * whether a payload is raw bytes or built from fields (so that the fuzzer need not find a
 * node ID to reach the checks behind the decoder). Randomness is fixed per input (fuzz_rng).
 *
 * What must hold, beyond no crash, leak or undefined behaviour:
 * - a handshake passes exactly when the payload decodes and names the key Noise proved, and
 *   (initiator) the ID it expected; then both ends agree on the handshake hash and can talk;
 * - the initiator knows the responder's name and groups only from an ACCEPT that decodes, and
 *   goes live only after one; message 2 never gives them (it carries no more than a beacon);
 * - a failed handshake stays failed: the genuine message after a bad one is refused too;
 * - a step in the wrong state is MESH_ESTATE and changes nothing;
 * - a DATA frame opens exactly when it is one I sealed, unaltered, with a counter above every
 *   one opened before, and then gives back what was sealed.
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_input.h"
#include "fuzz_rng.h"
#include "keys.h"
#include "noise.h"
#include "session.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_handshake: %s:%d: %s\n", __FILE__,   \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

enum {
	MODE_HELLO, MODE_REPLY, MODE_PAYLOAD_R, MODE_PAYLOAD_I, MODE_FINISH, MODE_DATA, MODE_ACCEPT,
	NMODES
};
enum {
	V_PSK = 1, V_POOLS = 2, V_EXPECT_X = 4, V_R_IS_X = 8, V_FIELDS = 16, V_I_IS_R = 32,
};
enum { ID_I, ID_R, ID_X, NIDS };

/* what session_open() saw: these harnesses check the result alone */
static struct session_rx rx_ignored;

static struct keys_identity *ids[NIDS];
static struct session_keymem km;
static const uint8_t psk[NOISE_PSKLEN] = { 0x6d, 0x65, 0x73, 0x68, 0x2d, 0x6b, 0x65, 0x79 };
static uint8_t prologue[2][128];
static size_t prologue_len[2];

/* Message buffers: Noise messages and payloads of up to NOISE_MAX_MSG bytes. */
static uint8_t m1[NOISE_MAX_MSG], m2[NOISE_MAX_MSG], m3[NOISE_MAX_MSG], pl[NOISE_MAX_MSG];
static uint8_t frame[WIRE_MAX_FRAME], pt[WIRE_MAX_FRAME];

/* ------------------------------------------------------------------ reading the input */

/* ------------------------------------------------------------------ payloads */

static const char *const names[NIDS] = { "initiator", "responder", "other" };

/* What an honest responder says in message 2: no more than its beacon. */
static enum mesh_err honest_reply(int who, uint8_t *out, size_t cap, size_t *len)
{
	struct wire_reply_payload r = { .incarnation = 1000 + (uint64_t)who,
	                                .features = WIRE_FEATURE_ACK, .ip = IPADDR_V4(10, 0, 0, 1),
	                                .port = 7000 };
	memcpy(r.node_id, ids[who]->id, WIRE_IDLEN);
	return wire_reply_payload_encode(&r, out, cap, len);
}

/* ... and in ACCEPT, once message 3 has proven the initiator. */
static enum mesh_err honest_accept(int who, uint8_t *out, size_t cap, size_t *len)
{
	static struct wire_accept a;
	memset(&a, 0, sizeof a);
	a.name.p = names[who];
	a.name.len = strlen(names[who]);
	a.groups[0].p = "chat";
	a.groups[0].len = 4;
	a.ngroups = 1;
	return wire_accept_encode(&a, out, cap, len);
}

/* What an honest initiator says in message 3: its whole hello. */
static enum mesh_err honest_payload(int who, uint8_t *out, size_t cap, size_t *len)
{
	static struct wire_hello h;
	memset(&h, 0, sizeof h);
	memcpy(h.node_id, ids[who]->id, WIRE_IDLEN);
	h.name.p = names[who];
	h.name.len = strlen(names[who]);
	h.incarnation = 1000 + (uint64_t)who;
	h.features = WIRE_FEATURE_ACK;
	h.groups[0].p = "chat";
	h.groups[0].len = 4;
	h.ngroups = 1;
	h.ip = IPADDR_V4(10, 0, 0, 1);
	h.port = 7000;
	return wire_hello_encode(&h, out, cap, len);
}

/* A payload from the input: raw bytes, or one built from fields the input gives: a hello, or
 * with reply a reply_payload (the name and groups read and left out). */
static size_t fuzzed_payload(struct in *c, bool fields, int sender, bool reply)
{
	static struct wire_hello h;
	static char text[WIRE_MAX_GROUPS + 1][80];
	size_t n, len = 0;
	const uint8_t *p;

	if (!fields) {
		p = in_chunk(c, &n);
		if (n)
			memcpy(pl, p, n);
		return n;
	}
	memset(&h, 0, sizeof h);
	uint8_t who = in_u8(c);
	if (who < NIDS) {
		memcpy(h.node_id, ids[who]->id, WIRE_IDLEN);
	} else if (who == NIDS) {
		memcpy(h.node_id, ids[sender]->id, WIRE_IDLEN);
		h.node_id[in_u8(c) % WIRE_IDLEN] ^= 1;   /* one bit off */
	} else {
		memcpy(h.node_id, ids[sender]->id, WIRE_IDLEN);
	}
	p = in_bytes(c, in_u8(c) % 80, &n);
	memcpy(text[0], p, n);
	h.name.p = text[0];
	h.name.len = n;
	h.incarnation = in_uint(c, 8);
	h.features = (uint32_t)in_uint(c, 4);
	h.ngroups = in_u8(c);
	if (h.ngroups > WIRE_MAX_GROUPS)
		h.ngroups = WIRE_MAX_GROUPS;
	for (size_t i = 0; i < h.ngroups; i++) {
		uint8_t gl = in_u8(c);
		if (gl & 0x80) {   /* a name made here, distinct from the others */
			snprintf(text[i + 1], sizeof text[i + 1], "g%zu", i);
			h.groups[i].p = text[i + 1];
			h.groups[i].len = strlen(text[i + 1]);
			continue;
		}
		p = in_bytes(c, gl % 80, &n);
		memcpy(text[i + 1], p, n);
		h.groups[i].p = text[i + 1];
		h.groups[i].len = n;
	}
	h.ip = IPADDR_V4(in_u8(c), 0, 0, 0);
	h.port = (uint16_t)in_uint(c, 2);
	if (reply) {
		struct wire_reply_payload r = { .incarnation = h.incarnation, .features = h.features,
		                                .port = h.port };
		memcpy(r.node_id, h.node_id, WIRE_IDLEN);
		r.ip = h.ip;
		if (wire_reply_payload_encode(&r, pl, sizeof pl, &len) != MESH_OK)
			return 0;
		return len;
	}
	if (wire_hello_encode(&h, pl, sizeof pl, &len) != MESH_OK)
		return 0;   /* fields the encoder refuses: an empty payload */
	return len;
}

/* Whether a session must accept this payload (a reply_payload at the initiator, a hello at
 * the responder) from the key whose ID is `proved`. */
static bool payload_acceptable(const uint8_t *p, size_t n, const uint8_t proved[WIRE_IDLEN],
                               const uint8_t *expected)
{
	static struct wire_hello h;
	struct wire_reply_payload r;
	const uint8_t *id;
	if (expected) {
		if (wire_reply_payload_decode(p, n, &r) != MESH_OK)
			return false;
		id = r.node_id;
	} else {
		if (wire_hello_decode(p, n, &h) != MESH_OK)
			return false;
		id = h.node_id;
	}
	if (memcmp(id, proved, WIRE_IDLEN) != 0)
		return false;
	return !expected || memcmp(id, expected, WIRE_IDLEN) == 0;
}

/* After an initiator accepted a reply_payload: what it said, and no name or group yet. */
static void check_reply_peer(const struct session *s, const uint8_t *p, size_t n)
{
	struct wire_reply_payload r;
	REQUIRE(wire_reply_payload_decode(p, n, &r) == MESH_OK);
	REQUIRE(s->authenticated && memcmp(s->peer_id, r.node_id, WIRE_IDLEN) == 0);
	REQUIRE(s->peer_incarnation == r.incarnation && s->peer_features == r.features);
	REQUIRE(s->peer_port == r.port && ipaddr_eq(&s->peer_ip, &r.ip));
	REQUIRE(!s->named && s->peer_name[0] == '\0' && s->hello_groups.n == 0);
}

/* After an initiator took an ACCEPT: exactly the name and groups it carried. */
static void check_accept_peer(const struct session *s, const uint8_t *p, size_t n)
{
	static struct wire_accept a;
	REQUIRE(wire_accept_decode(p, n, &a) == MESH_OK);
	REQUIRE(s->named && strlen(s->peer_name) == a.name.len &&
	        memcmp(s->peer_name, a.name.p, a.name.len) == 0);
	REQUIRE(s->hello_groups.n == a.ngroups);
	for (size_t i = 0; i < a.ngroups; i++)
		REQUIRE(group_set_has(&s->hello_groups, a.groups[i].p, a.groups[i].len));
}

/* After a responder accepted a hello payload, it holds exactly what the payload said. */
static void check_peer(const struct session *s, const uint8_t *p, size_t n)
{
	static struct wire_hello h;
	REQUIRE(wire_hello_decode(p, n, &h) == MESH_OK);
	REQUIRE(s->authenticated && s->named && memcmp(s->peer_id, h.node_id, WIRE_IDLEN) == 0);
	REQUIRE(strlen(s->peer_name) == h.name.len &&
	        memcmp(s->peer_name, h.name.p, h.name.len) == 0);
	REQUIRE(s->peer_incarnation == h.incarnation && s->peer_features == h.features);
	REQUIRE(s->peer_port == h.port && ipaddr_eq(&s->peer_ip, &h.ip));
	REQUIRE(s->hello_groups.n == h.ngroups);
	for (size_t i = 0; i < h.ngroups; i++)
		REQUIRE(group_set_has(&s->hello_groups, h.groups[i].p, h.groups[i].len));
}

/* True if the first 32 bytes of p are a public key that X25519 refuses (low order). */
static bool low_order(const uint8_t *p)
{
	uint8_t out[32], sk[32];
	memset(sk, 0x5c, sizeof sk);
	return crypto_scalarmult(out, sk, p) != 0;
}

/* ------------------------------------------------------------------ the two ends */

struct ends {
	struct session *i, *r;
	int i_who, r_who;             /* whose keys each end holds */
	bool psk;
};

static struct session *new_end(const struct ends *e, enum noise_role role, bool pools)
{
	int who = role == NOISE_INITIATOR ? e->i_who : e->r_who;
	int k = e->psk ? 1 : 0;
	struct session *s = session_new(role, prologue[k], prologue_len[k], ids[who]->x_sk,
	                                pools ? ids[who]->x_pk : NULL, e->psk ? psk : NULL,
	                                pools ? &km : NULL, 0);
	REQUIRE(s != NULL);
	return s;
}

/* A step out of turn is refused and changes nothing. */
static void check_out_of_turn(struct session *s)
{
	enum session_state st = s->state;
	size_t n;
	if (s->state != SESSION_NEW || s->role != NOISE_INITIATOR)
		REQUIRE(session_write_hello(s, m3, sizeof m3, &n) == MESH_ESTATE);
	if (s->state != SESSION_NEW || s->role != NOISE_RESPONDER)
		REQUIRE(session_on_hello(s, m1, 32, NULL, 0, m3, sizeof m3, &n) == MESH_ESTATE);
	if (s->state != SESSION_INIT_SENT_HELLO)
		REQUIRE(session_on_reply(s, m2, 96, NULL, 0, m3, sizeof m3, &n) == MESH_ESTATE);
	if (s->state != SESSION_RESP_SENT_REPLY)
		REQUIRE(session_on_finish(s, m3, 64) == MESH_ESTATE);
	if (s->state != SESSION_INIT_WAIT_ACCEPT || s->named)
		REQUIRE(session_on_accept(s, m3, 64) == MESH_ESTATE);
	if (s->role == NOISE_INITIATOR && !s->named)
		REQUIRE(session_go_live(s, 1000) == MESH_ESTATE);   /* not before ACCEPT */
	if (!s->tx) {
		REQUIRE(session_go_live(s, 1000) == MESH_ESTATE);
		REQUIRE(session_seal(s, pt, 1, frame, sizeof frame, &n) == MESH_ESTATE);
		REQUIRE(session_sealed_len(s, 1) == 0);
	}
	REQUIRE(s->state == st);
}

/* I takes R's honest ACCEPT. */
static void accept_honest(struct ends *e)
{
	uint8_t acc[256];
	size_t n;
	REQUIRE(honest_accept(e->r_who, acc, sizeof acc, &n) == MESH_OK);
	REQUIRE(session_on_accept(e->i, acc, n) == MESH_OK);
	check_accept_peer(e->i, acc, n);
}

/* Both ends split and I has R's ACCEPT: they agree on the hash, and a message goes each way. */
static void check_link(struct ends *e)
{
	uint8_t msg[3] = { 1, 2, 3 };
	struct wire_frame f;
	size_t flen, n;
	REQUIRE(e->i->tx && e->r->tx && memcmp(e->i->hash, e->r->hash, NOISE_HASHLEN) == 0);
	REQUIRE(session_go_live(e->i, 1000) == MESH_OK && session_go_live(e->r, 1000) == MESH_OK);
	REQUIRE(session_go_live(e->i, 1000) == MESH_ESTATE);    /* only once */
	struct session *from[2] = { e->i, e->r }, *to[2] = { e->r, e->i };
	for (int k = 0; k < 2; k++) {
		REQUIRE(session_seal(from[k], msg, sizeof msg, frame, sizeof frame, &flen) == MESH_OK);
		REQUIRE(wire_frame_decode(frame, flen, &f) == MESH_OK && f.type == WIRE_DATA);
		REQUIRE(session_open(to[k], &f, pt, sizeof pt, &n, 1000, &rx_ignored) == MESH_OK &&
		        n == sizeof msg &&
		        memcmp(pt, msg, n) == 0);
		REQUIRE(session_open(to[k], &f, pt, sizeof pt, &n, 1000, &rx_ignored) ==
		        MESH_EAUTH);   /* replay */
	}
}

/* I's HELLO into m1. */
static size_t hello(struct ends *e)
{
	size_t n;
	REQUIRE(session_write_hello(e->i, m1, sizeof m1, &n) == MESH_OK);
	return n;
}

/* The most payload a REPLY (e, ee, s, es) and a FINISH (s, se) can carry. */
#define REPLY_ROOM (NOISE_MAX_MSG - 2 * NOISE_DHLEN - 2 * NOISE_TAGLEN)
#define FINISH_ROOM (NOISE_MAX_MSG - NOISE_DHLEN - 2 * NOISE_TAGLEN)

/* R's REPLY into m2, carrying payload p; 0 if p does not fit in one. */
static size_t reply(struct ends *e, size_t n1, const uint8_t *p, size_t plen)
{
	size_t n;
	enum mesh_err rc = session_on_hello(e->r, m1, n1, p, plen, m2, sizeof m2, &n);
	REQUIRE((rc == MESH_OK) == (plen <= REPLY_ROOM));
	return rc == MESH_OK ? n : 0;
}

/* ------------------------------------------------------------------ DATA frames */

#define SEALS 64

/* What I sealed, by counter: the ciphertext and the byte the message was made of. */
static uint8_t sealed[SEALS][256 + NOISE_TAGLEN];
static size_t sealed_len[SEALS];
static uint8_t sealed_tag[SEALS];

/* R's session_open on one decoded frame: it opens exactly a frame I sealed, unaltered, whose
 * counter is above every one opened before. */
static void open_one(struct ends *e, const struct wire_frame *f, unsigned nsealed, bool *any,
                     uint64_t *last)
{
	size_t n;
	enum mesh_err rc = session_open(e->r, f, pt, sizeof pt, &n, 1000, &rx_ignored);
	bool genuine = f->counter < nsealed && f->body_len == sealed_len[f->counter] &&
	               memcmp(f->body, sealed[f->counter], f->body_len) == 0;
	if (genuine && (!*any || f->counter > *last)) {
		REQUIRE(rc == MESH_OK && n + NOISE_TAGLEN == f->body_len);
		for (size_t j = 0; j < n; j++)
			REQUIRE(pt[j] == sealed_tag[f->counter]);
		*any = true;
		*last = f->counter;
	} else {
		REQUIRE(rc == MESH_EAUTH);
	}
}

/* A sequence of (op, arg) pairs: I seals arg bytes; a sealed frame is delivered as it was, or
 * with one bit flipped; or arg raw bytes are delivered as a frame. */
static void fuzz_data(struct ends *e, struct in *c)
{
	static uint8_t raw[256];
	unsigned nsealed = 0;
	bool any = false;
	uint64_t last = 0;
	struct wire_frame f;
	size_t n, flen;

	for (int ops = 0; c->left > 0 && ops < 2 * SEALS; ops++) {
		uint8_t op = in_u8(c), arg = in_u8(c);
		if (op % 4 == 0) {                       /* I seals a message of arg bytes */
			if (nsealed == SEALS)
				continue;
			size_t want = session_sealed_len(e->i, arg);
			memset(pt, arg, arg);
			REQUIRE(session_seal(e->i, pt, arg, frame, sizeof frame, &flen) == MESH_OK);
			REQUIRE(flen == want);
			REQUIRE(wire_frame_decode(frame, flen, &f) == MESH_OK && f.type == WIRE_DATA &&
			        f.counter == nsealed && f.rx_sid == e->i->remote_sid &&
			        f.body_len == (size_t)arg + NOISE_TAGLEN);
			memcpy(sealed[nsealed], f.body, f.body_len);
			sealed_len[nsealed] = f.body_len;
			sealed_tag[nsealed++] = arg;
		} else if (op % 4 != 3) {                /* deliver a sealed one, maybe altered */
			if (!nsealed)
				continue;
			unsigned k = arg % nsealed;
			struct wire_frame g = { .type = WIRE_DATA, .rx_sid = e->i->remote_sid,
			                        .counter = k, .body = sealed[k],
			                        .body_len = sealed_len[k] };
			REQUIRE(wire_frame_encode(&g, frame, sizeof frame, &flen) == MESH_OK);
			if (op % 4 == 2)
				frame[in_u8(c) % flen] ^= (uint8_t)(1u << (in_u8(c) % 8));
			if (wire_frame_decode(frame, flen, &f) == MESH_OK && f.type == WIRE_DATA)
				open_one(e, &f, nsealed, &any, &last);
		} else {                                 /* raw bytes as a frame */
			const uint8_t *p = in_bytes(c, arg, &n);
			memcpy(raw, p, n);
			if (wire_frame_decode(raw, n, &f) == MESH_OK && f.type == WIRE_DATA)
				open_one(e, &f, nsealed, &any, &last);
		}
	}
}

/* ------------------------------------------------------------------ one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in c = { data, size };
	struct ends e;
	size_t n1, n2, n3, plen, n;
	const uint8_t *p;
	enum mesh_err rc;
	uint8_t own[512];
	size_t ownlen;

	fuzz_rng_seed(1);
	if (!ids[0]) {
		for (int k = 0; k < NIDS; k++) {
			uint8_t seed[KEYS_SEEDLEN];
			memset(seed, 0x11 * (k + 1), sizeof seed);
			ids[k] = keys_identity_from_seed(seed);
			REQUIRE(ids[k] != NULL);
		}
		REQUIRE(session_keymem_init(&km) == MESH_OK);
		for (int k = 0; k < 2; k++) {
			const char *proto = k ? "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
			                      : "Noise_XX_25519_ChaChaPoly_BLAKE2b";
			prologue_len[k] = (size_t)snprintf((char *)prologue[k], sizeof prologue[k],
			                                   "meshnode/2 %s", proto) + 32;
		}
	}
	uint8_t mode = in_u8(&c) % NMODES, v = in_u8(&c);
	memset(&e, 0, sizeof e);
	e.psk = v & V_PSK;
	e.i_who = v & V_I_IS_R ? ID_R : ID_I;
	e.r_who = v & V_R_IS_X ? ID_X : ID_R;
	e.i = new_end(&e, NOISE_INITIATOR, v & V_POOLS);
	e.r = new_end(&e, NOISE_RESPONDER, v & V_POOLS);
	/* the session IDs, as the engine would set them from the frames */
	e.i->sid = e.r->remote_sid = 0x11111111;
	e.r->sid = e.i->remote_sid = 0x22222222;
	/* I expects R's ID (the beacon said so), or X's */
	memcpy(e.i->expected_id, ids[v & V_EXPECT_X ? ID_X : ID_R]->id, WIRE_IDLEN);
	check_out_of_turn(e.i);
	check_out_of_turn(e.r);

	switch (mode) {
	case MODE_HELLO:
		p = in_chunk(&c, &n1);
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		rc = session_on_hello(e.r, p, n1, own, ownlen, m2, sizeof m2, &n2);
		/* -> e: 32 bytes, any but a low-order point (ee fails on it), and an empty payload;
		 * with psk3 that payload is sealed under a key of public values (16 bytes), which
		 * the fuzzer would have to compute */
		if (!e.psk)
			REQUIRE((rc == MESH_OK) == (n1 == 32 && !low_order(p)));
		else if (rc == MESH_OK)
			REQUIRE(n1 == 48 && !low_order(p));
		check_out_of_turn(e.r);
		if (rc != MESH_OK)
			break;
		p = in_chunk(&c, &n3);
		rc = session_on_finish(e.r, p, n3);
		REQUIRE(rc != MESH_OK);      /* needs a static key sealed under our ephemeral */
		check_out_of_turn(e.r);
		break;
	case MODE_REPLY:
		n1 = hello(&e);
		p = in_chunk(&c, &n2);
		memcpy(m2, p, n2);
		rc = session_on_reply(e.i, m2, n2, NULL, 0, m3, sizeof m3, &n3);
		REQUIRE(rc != MESH_OK);      /* cannot know the key our ephemeral made */
		/* and the genuine REPLY after it is refused too */
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		n2 = reply(&e, n1, own, ownlen);
		if (e.i->state == SESSION_INIT_SENT_HELLO)
			REQUIRE(session_on_reply(e.i, m2, n2, NULL, 0, m3, sizeof m3, &n3) != MESH_OK);
		check_out_of_turn(e.i);
		break;
	case MODE_PAYLOAD_R:
		plen = fuzzed_payload(&c, v & V_FIELDS, e.r_who, true);
		n1 = hello(&e);
		n2 = reply(&e, n1, pl, plen);
		if (!n2)
			break;
		REQUIRE(honest_payload(e.i_who, own, sizeof own, &ownlen) == MESH_OK);
		rc = session_on_reply(e.i, m2, n2, own, ownlen, m3, sizeof m3, &n3);
		REQUIRE((rc == MESH_OK) ==
		        payload_acceptable(pl, plen, ids[e.r_who]->id, e.i->expected_id));
		check_out_of_turn(e.i);
		if (rc != MESH_OK) {
			REQUIRE(!e.i->authenticated && !e.i->tx);
			break;
		}
		check_reply_peer(e.i, pl, plen);
		REQUIRE(session_on_finish(e.r, m3, n3) == MESH_OK);
		check_peer(e.r, own, ownlen);
		accept_honest(&e);
		check_link(&e);
		break;
	case MODE_PAYLOAD_I:
		plen = fuzzed_payload(&c, v & V_FIELDS, e.i_who, false);
		n1 = hello(&e);
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		n2 = reply(&e, n1, own, ownlen);
		rc = session_on_reply(e.i, m2, n2, pl, plen, m3, sizeof m3, &n3);
		REQUIRE((rc == MESH_OK) ==
		        (e.r_who == (v & V_EXPECT_X ? ID_X : ID_R) && plen <= FINISH_ROOM));
		if (rc != MESH_OK)
			break;
		check_reply_peer(e.i, own, ownlen);
		rc = session_on_finish(e.r, m3, n3);
		REQUIRE((rc == MESH_OK) == payload_acceptable(pl, plen, ids[e.i_who]->id, NULL));
		check_out_of_turn(e.r);
		if (rc != MESH_OK) {
			REQUIRE(!e.r->authenticated && !e.r->tx);
			break;
		}
		check_peer(e.r, pl, plen);
		accept_honest(&e);
		check_link(&e);
		break;
	case MODE_FINISH:
		n1 = hello(&e);
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		n2 = reply(&e, n1, own, ownlen);
		p = in_chunk(&c, &n3);
		memcpy(m3, p, n3);
		rc = session_on_finish(e.r, m3, n3);
		REQUIRE(rc != MESH_OK);
		check_out_of_turn(e.r);
		break;
	case MODE_DATA:
		if (e.r_who != (v & V_EXPECT_X ? ID_X : ID_R))
			break;                   /* I would refuse R */
		n1 = hello(&e);
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		n2 = reply(&e, n1, own, ownlen);
		REQUIRE(honest_payload(e.i_who, pl, sizeof pl, &plen) == MESH_OK);
		REQUIRE(session_on_reply(e.i, m2, n2, pl, plen, m3, sizeof m3, &n3) == MESH_OK);
		REQUIRE(session_on_finish(e.r, m3, n3) == MESH_OK);
		accept_honest(&e);
		REQUIRE(session_go_live(e.i, 1000) == MESH_OK && session_go_live(e.r, 1000) == MESH_OK);
		fuzz_data(&e, &c);
		break;
	case MODE_ACCEPT: {
		/* raw bytes, or (V_FIELDS) an ACCEPT of a fuzzed name and groups */
		static struct wire_hello h;
		static struct wire_accept a;
		if (e.r_who != (v & V_EXPECT_X ? ID_X : ID_R))
			break;                   /* I would refuse R */
		plen = fuzzed_payload(&c, v & V_FIELDS, e.r_who, false);
		if ((v & V_FIELDS) && plen) {
			/* the hello's name and groups, as an ACCEPT */
			REQUIRE(wire_hello_decode(pl, plen, &h) == MESH_OK);
			memset(&a, 0, sizeof a);
			a.name = h.name;
			a.ngroups = h.ngroups;
			memcpy(a.groups, h.groups, h.ngroups * sizeof h.groups[0]);
			REQUIRE(wire_accept_encode(&a, own, sizeof own, &ownlen) == MESH_OK ||
			        ownlen == 0);
			plen = ownlen;
			if (plen)
				memcpy(pl, own, plen);
		}
		n1 = hello(&e);
		REQUIRE(honest_reply(e.r_who, own, sizeof own, &ownlen) == MESH_OK);
		n2 = reply(&e, n1, own, ownlen);
		REQUIRE(honest_payload(e.i_who, own, sizeof own, &ownlen) == MESH_OK);
		REQUIRE(session_on_reply(e.i, m2, n2, own, ownlen, m3, sizeof m3, &n3) == MESH_OK);
		REQUIRE(session_on_finish(e.r, m3, n3) == MESH_OK);
		rc = session_on_accept(e.i, pl, plen);
		REQUIRE((rc == MESH_OK) == (wire_accept_decode(pl, plen, &a) == MESH_OK));
		check_out_of_turn(e.i);
		if (rc != MESH_OK) {
			REQUIRE(!e.i->named && e.i->peer_name[0] == '\0' && e.i->hello_groups.n == 0);
			break;
		}
		check_accept_peer(e.i, pl, plen);
		check_link(&e);
		break;
	}
	}
	(void)n;
	session_destroy(&e.i);
	session_destroy(&e.r);
	REQUIRE(e.i == NULL && e.r == NULL);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

static size_t put_chunk(uint8_t *buf, size_t at, const uint8_t *p, size_t n)
{
	buf[at] = (uint8_t)(n >> 8);
	buf[at + 1] = (uint8_t)n;
	memcpy(buf + at + 2, p, n);
	return at + 2 + n;
}

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	size_t n = 0, len;
	uint8_t tmp[512];
	if (cap < 4096)
		return 0;
	fuzz_rng_seed(1);
	if (!ids[0])
		LLVMFuzzerTestOneInput((const uint8_t *)"", 0);   /* makes the identities */
	switch (i) {
	case 0: case 1:                          /* a HELLO-sized message, then FINISH-sized */
		buf[n++] = MODE_HELLO;
		buf[n++] = i ? V_PSK | V_POOLS : 0;
		memset(tmp, 0x42, sizeof tmp);
		n = put_chunk(buf, n, tmp, 32);
		n = put_chunk(buf, n, tmp, i ? 112 : 96);
		return n;
	case 2: case 3:                          /* REPLY-sized garbage */
		buf[n++] = MODE_REPLY;
		buf[n++] = i == 3 ? V_PSK : 0;
		memset(tmp, 0x17, sizeof tmp);
		n = put_chunk(buf, n, tmp, 200);
		return n;
	case 4: case 5: case 6: case 7:          /* honest payloads, raw and as fields */
		buf[n++] = i < 6 ? MODE_PAYLOAD_R : MODE_PAYLOAD_I;
		buf[n++] = (uint8_t)(i % 2 ? V_FIELDS | V_POOLS : V_PSK);
		if (i % 2) {
			buf[n++] = 0xff;             /* the sender's own ID */
			buf[n++] = 5;
			memcpy(buf + n, "alice", 5);
			n += 5;
			memset(buf + n, 0, 12);
			buf[n + 7] = 9;              /* incarnation 9, features 0 */
			n += 12;
			buf[n++] = 3;                /* three groups */
			buf[n++] = 4;
			memcpy(buf + n, "chat", 4);
			n += 4;
			buf[n++] = 0x80;
			buf[n++] = 0x81;
			memcpy(buf + n, "\x0a\x1b\x58", 3);   /* ip 10, port 7000 */
			n += 3;
			return n;
		}
		if ((i < 6 ? honest_reply(ID_R, tmp, sizeof tmp, &len)
		           : honest_payload(ID_I, tmp, sizeof tmp, &len)) != MESH_OK)
			return 0;
		return put_chunk(buf, n, tmp, len);
	case 8:
		buf[n++] = MODE_FINISH;
		buf[n++] = 0;
		memset(tmp, 0x33, sizeof tmp);
		return put_chunk(buf, n, tmp, 100);
	case 9: case 10:                         /* seal, deliver, alter, replay, raw */
		buf[n++] = MODE_DATA;
		buf[n++] = i == 10 ? V_PSK | V_POOLS : 0;
		memcpy(buf + n, "\x00\x05\x00\x0e\x01\x05\x01\x06\x02\x05\x09\x03\x01\x05\x00\x00"
		                "\x01\x00\x03\x05\x94\x04\x01\x02\x03", 25);
		return n + 25;
	case 11: case 12:                        /* an ACCEPT: honest bytes, then as fields */
		buf[n++] = MODE_ACCEPT;
		buf[n++] = (uint8_t)(i == 12 ? V_FIELDS | V_PSK : V_POOLS);
		if (i == 12) {
			buf[n++] = 0xff;
			buf[n++] = 3;
			memcpy(buf + n, "bob", 3);
			n += 3;
			memset(buf + n, 0, 12);
			buf[n + 7] = 1;
			n += 12;
			buf[n++] = 2;                /* two groups */
			buf[n++] = 4;
			memcpy(buf + n, "chat", 4);
			n += 4;
			buf[n++] = 0x81;
			memcpy(buf + n, "\x0a\x1b\x58", 3);
			return n + 3;
		}
		if (honest_accept(ID_R, tmp, sizeof tmp, &len) != MESH_OK)
			return 0;
		return put_chunk(buf, n, tmp, len);
	default:
		return 0;
	}
}
