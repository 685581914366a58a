/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_session: mesh/session.c against docs/protocol.md sections 3.1 to 3.3 and 4, no socket:
 * every Noise XX (and XXpsk3) handshake runs in memory between an initiator and a responder
 * session, with identities from keys_identity_generate(), the responder's reply_payload
 * (message 2), the initiator's hello payload (message 3) and the responder's ACCEPT from
 * wire.h's encoders.
 *
 * Happy paths: both ends authenticated, the right peer IDs, names, incarnations and groups, the
 * same handshake hash; transport frames both ways; the initiator learns the responder's name
 * and groups only from ACCEPT (section 3.1). Hostile twins: wrong psk, wrong prologue,
 * XX against XXpsk3, an unexpected node ID, a hello payload naming another valid identity (or
 * an invalid point, or garbage), every byte of every handshake message flipped and every
 * truncation, steps in the wrong state; replayed, reordered, flipped and misdirected DATA
 * frames. Rekeying (section 3.3): 50 rekeys in a row with data in flight both ways across every
 * switch, every frame once and in order; a lost REKEY_REPLY and its retry, stale replies,
 * frames under replaced keys refused, flipped KK messages, wrong roles, attempts and chains;
 * and a responder built from the protocol text alone interoperates.
 * The session table gets a model-checked random workout plus the 1000-session case.
 *
 * Output is counts and failing check locations only: no key, hash or plaintext is printed.
 */
#include "session.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "secmem.h"
#include "wire.h"

#define PROTO_XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define PROTO_XXPSK3 "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
#define MSGCAP 4096

/* ------------------------------------------------------------------ parties */

struct party {
	struct keys_identity *k;
	const char *name;
	uint64_t incarnation;
	const char *groups[4];
	size_t ngroups;
	struct ipaddr ip;
	uint16_t port;
};

static uint8_t prologue_a[128], prologue_b[128];
static size_t prologue_len;
static uint8_t psk_a[NOISE_PSKLEN], psk_b[NOISE_PSKLEN];
static struct session_keymem km;    /* the pools a mesh would own */
static struct session_rx last_rx;   /* what the last session_open() saw */

static void make_prologue(uint8_t out[128], const char *proto, uint8_t mesh_id_byte)
{
	size_t tl = strlen("meshnode/2 "), pl = strlen(proto);
	memcpy(out, "meshnode/2 ", tl);
	memcpy(out + tl, proto, pl);
	memset(out + tl + pl, mesh_id_byte, 32);
	prologue_len = tl + pl + 32;
}

/* Encodes a hello payload for p that claims the node ID `claimed` (normally p's own). */
static size_t make_payload(const struct party *p, const uint8_t claimed[WIRE_IDLEN],
                           uint8_t *out, size_t cap)
{
	static struct wire_hello h;
	size_t len = 0;
	memset(&h, 0, sizeof h);
	memcpy(h.node_id, claimed, WIRE_IDLEN);
	h.name.p = p->name;
	h.name.len = strlen(p->name);
	h.incarnation = p->incarnation;
	h.features = 0;
	h.ngroups = p->ngroups;
	for (size_t i = 0; i < p->ngroups; i++) {
		h.groups[i].p = p->groups[i];
		h.groups[i].len = strlen(p->groups[i]);
	}
	h.ip = p->ip;
	h.port = p->port;
	CHECK(wire_hello_encode(&h, out, cap, &len) == MESH_OK);
	return len;
}

/* The reply_payload of p (message 2), claiming `claimed`: no name, no groups. */
static size_t make_reply(const struct party *p, const uint8_t claimed[WIRE_IDLEN], uint8_t *out,
                         size_t cap)
{
	struct wire_reply_payload r = { .incarnation = p->incarnation, .port = p->port };
	size_t len = 0;
	memcpy(r.node_id, claimed, WIRE_IDLEN);
	r.ip = p->ip;
	CHECK(wire_reply_payload_encode(&r, out, cap, &len) == MESH_OK);
	return len;
}

/* p's ACCEPT: its name and groups. */
static size_t make_accept(const struct party *p, uint8_t *out, size_t cap)
{
	static struct wire_accept a;
	size_t len = 0;
	memset(&a, 0, sizeof a);
	a.name = (struct wire_str){ p->name, strlen(p->name) };
	a.ngroups = p->ngroups;
	for (size_t i = 0; i < p->ngroups; i++)
		a.groups[i] = (struct wire_str){ p->groups[i], strlen(p->groups[i]) };
	CHECK(wire_accept_encode(&a, out, cap, &len) == MESH_OK);
	return len;
}

/* ------------------------------------------------------------------ handshake driver */

/* One handshake's two sessions and the messages that passed between them. */
struct hs {
	struct session *i, *r;
	uint8_t m1[MSGCAP], m2[MSGCAP], m3[MSGCAP];
	size_t l1, l2, l3;
	/* write_hello, on_hello, on_reply, on_finish, and the initiator's on_accept */
	enum mesh_err rc1, rc2, rc3, rc4, rc5;
};

struct hs_opts {
	const uint8_t *ipsk, *rpsk;
	const uint8_t *iprologue, *rprologue;
	const uint8_t *expected;        /* initiator's expected_id; NULL: the responder's ID */
	const uint8_t *iclaim, *rclaim; /* node_id each payload claims; NULL: its own */
	const uint8_t *ipayload_raw, *rpayload_raw; /* replace a payload with raw bytes */
	size_t ipayload_raw_len, rpayload_raw_len;
	const uint8_t *accept_raw;      /* replace the responder's ACCEPT with raw bytes */
	size_t accept_raw_len;
	/* The initiator always takes its secrets from the pools (km) and is given its static
	 * public key; the responder uses sodium_malloc and derives it, unless rpool. ipub
	 * replaces the initiator's public key (a wrong one must fail cleanly). */
	bool rpool;
	const uint8_t *ipub;
	/* Mutation hooks: called on a message before it is delivered (step 1, 2 or 3). */
	void (*mutate)(int step, uint8_t *msg, size_t *len, void *arg);
	void *mutate_arg;
};

static void hs_free(struct hs *h)
{
	session_destroy(&h->i);
	session_destroy(&h->r);
}


/* Runs as far as the handshake goes; rc1..rc4 say how far. Stops at the first failure. */
static void hs_run(struct hs *h, const struct party *ini, const struct party *rsp,
                   const struct hs_opts *o)
{
	uint8_t ipl[1024], rpl[1024], acc[1024];
	size_t ipll, rpll, accl;
	memset(h, 0, sizeof *h);
	h->rc1 = h->rc2 = h->rc3 = h->rc4 = h->rc5 = MESH_EINVAL;   /* "not reached" */
	h->i = session_new(NOISE_INITIATOR, o->iprologue ? o->iprologue : prologue_a,
	                   prologue_len, ini->k->x_sk, o->ipub ? o->ipub : ini->k->x_pk, o->ipsk,
	                   &km, 1000);
	h->r = session_new(NOISE_RESPONDER, o->rprologue ? o->rprologue : prologue_a,
	                   prologue_len, rsp->k->x_sk, o->rpool ? rsp->k->x_pk : NULL, o->rpsk,
	                   o->rpool ? &km : NULL, 1000);
	CHECK(h->i != NULL && h->r != NULL);
	if (!h->i || !h->r)
		return;
	memcpy(h->i->expected_id, o->expected ? o->expected : rsp->k->id, WIRE_IDLEN);
	if (o->ipayload_raw) {
		memcpy(ipl, o->ipayload_raw, o->ipayload_raw_len);
		ipll = o->ipayload_raw_len;
	} else {
		ipll = make_payload(ini, o->iclaim ? o->iclaim : ini->k->id, ipl, sizeof ipl);
	}
	if (o->rpayload_raw) {
		memcpy(rpl, o->rpayload_raw, o->rpayload_raw_len);
		rpll = o->rpayload_raw_len;
	} else {
		rpll = make_reply(rsp, o->rclaim ? o->rclaim : rsp->k->id, rpl, sizeof rpl);
	}
	if (o->accept_raw) {
		memcpy(acc, o->accept_raw, o->accept_raw_len);
		accl = o->accept_raw_len;
	} else {
		accl = make_accept(rsp, acc, sizeof acc);
	}

	/* -> e */
	h->rc1 = session_write_hello(h->i, h->m1, sizeof h->m1, &h->l1);
	if (h->rc1 != MESH_OK)
		return;
	if (o->mutate)
		o->mutate(1, h->m1, &h->l1, o->mutate_arg);
	/* <- e, ee, s, es */
	h->rc2 = session_on_hello(h->r, h->m1, h->l1, rpl, rpll, h->m2, sizeof h->m2, &h->l2);
	if (h->rc2 != MESH_OK)
		return;
	if (o->mutate)
		o->mutate(2, h->m2, &h->l2, o->mutate_arg);
	/* -> s, se (psk) */
	h->rc3 = session_on_reply(h->i, h->m2, h->l2, ipl, ipll, h->m3, sizeof h->m3, &h->l3);
	if (h->rc3 != MESH_OK)
		return;
	if (o->mutate)
		o->mutate(3, h->m3, &h->l3, o->mutate_arg);
	h->rc4 = session_on_finish(h->r, h->m3, h->l3);
	if (h->rc4 != MESH_OK)
		return;
	/* ACCEPT, which the engine seals in the first DATA frame: the responder's name and groups
	 * reach the initiator only now that message 3 has proven it */
	CHECK(!h->i->named && h->i->peer_name[0] == '\0' && h->i->hello_groups.n == 0);
	h->rc5 = session_on_accept(h->i, acc, accl);
}

static bool hs_complete(const struct hs *h)
{
	return h->rc1 == MESH_OK && h->rc2 == MESH_OK && h->rc3 == MESH_OK && h->rc4 == MESH_OK &&
	       h->rc5 == MESH_OK;
}

/* Neither end may think it is talking to someone after a failed handshake: the initiator may
 * have finished its side (it cannot know msg 3 was damaged), the responder must not. */
static bool hs_failed_cleanly(const struct hs *h)
{
	if (hs_complete(h))
		return false;
	if (h->rc3 != MESH_OK && (h->i->authenticated || h->i->tx))
		return false;
	if (h->rc4 != MESH_OK && (h->r->authenticated || h->r->tx))
		return false;
	if (h->rc5 != MESH_OK && h->i->named)
		return false;
	return true;
}

static struct party alice, bob, carol;

static void parties_init(void)
{
	alice = (struct party){ keys_identity_generate(), "alice", 0x1111222233334444ull,
	                        { "chat", "ops", "\xc3\xa9t\xc3\xa9" }, 3, IPADDR_V4(10, 0, 0, 1), 40001 };
	bob = (struct party){ keys_identity_generate(), "bob \xe2\x9c\x93", 7, { "chat" }, 1,
	                      IPADDR_V4(192, 168, 1, 2), 65535 };
	carol = (struct party){ keys_identity_generate(), "carol", UINT64_MAX, { 0 }, 0,
	                        IPADDR_V4(127, 0, 0, 1), 1 };
	CHECK(alice.k && bob.k && carol.k);
	make_prologue(prologue_a, PROTO_XX, 0);
	make_prologue(prologue_b, PROTO_XX, 1);   /* another mesh_id */
	randombytes_buf(psk_a, sizeof psk_a);
	randombytes_buf(psk_b, sizeof psk_b);
}

static void parties_free(void)
{
	keys_identity_destroy(&alice.k);
	keys_identity_destroy(&bob.k);
	keys_identity_destroy(&carol.k);
	sodium_memzero(psk_a, sizeof psk_a);
	sodium_memzero(psk_b, sizeof psk_b);
}

static bool groups_are(const struct group_set *g, const char *const *want, size_t n)
{
	if (g->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!group_set_has(g, want[i], strlen(want[i])))
			return false;
	return true;
}

/* ------------------------------------------------------------------ happy paths */

static void check_complete(const struct hs *h, const struct party *ini, const struct party *rsp)
{
	CHECK(hs_complete(h));
	if (!hs_complete(h))
		return;
	CHECK(h->i->state == SESSION_INIT_WAIT_ACCEPT);
	/* the responder goes LIVE only when the engine accepts; the session stays put */
	CHECK(h->r->state == SESSION_RESP_SENT_REPLY);
	CHECK(h->i->authenticated && h->r->authenticated && h->i->named && h->r->named);
	CHECK(h->i->tx != NULL && h->r->tx != NULL);
	CHECK(h->i->hs == NULL && h->r->hs == NULL);
	CHECK(memcmp(h->i->peer_id, rsp->k->id, WIRE_IDLEN) == 0);
	CHECK(memcmp(h->r->peer_id, ini->k->id, WIRE_IDLEN) == 0);
	CHECK(strcmp(h->i->peer_name, rsp->name) == 0);
	CHECK(strcmp(h->r->peer_name, ini->name) == 0);
	CHECK(h->i->peer_incarnation == rsp->incarnation);
	CHECK(h->r->peer_incarnation == ini->incarnation);
	CHECK(ipaddr_eq(&h->i->peer_ip, &rsp->ip) && h->i->peer_port == rsp->port);
	CHECK(ipaddr_eq(&h->r->peer_ip, &ini->ip) && h->r->peer_port == ini->port);
	CHECK(groups_are(&h->i->hello_groups, rsp->groups, rsp->ngroups));
	CHECK(groups_are(&h->r->hello_groups, ini->groups, ini->ngroups));
	CHECK(sodium_memcmp(h->i->hash, h->r->hash, NOISE_HASHLEN) == 0);
	uint8_t zero[NOISE_HASHLEN] = { 0 };
	CHECK(sodium_memcmp(h->i->hash, zero, NOISE_HASHLEN) != 0);
	char sas_i[KEYS_SAS_LEN], sas_r[KEYS_SAS_LEN];
	keys_sas(h->i->hash, sas_i);
	keys_sas(h->r->hash, sas_r);
	CHECK(strcmp(sas_i, sas_r) == 0);
}

static void test_happy(void)
{
	struct hs h, h2;
	struct hs_opts o = { 0 };
	hs_run(&h, &alice, &bob, &o);
	check_complete(&h, &alice, &bob);
	/* msg 1 is a bare ephemeral key with an empty payload: it travels in the clear */
	CHECK(h.l1 == NOISE_DHLEN);

	/* Another run between the same keys gives another handshake hash (fresh ephemerals). */
	hs_run(&h2, &alice, &bob, &o);
	check_complete(&h2, &alice, &bob);
	CHECK(memcmp(h.i->hash, h2.i->hash, NOISE_HASHLEN) != 0);
	hs_free(&h);
	hs_free(&h2);

	/* Roles swapped, and a party with no groups and the largest incarnation. */
	hs_run(&h, &carol, &alice, &o);
	check_complete(&h, &carol, &alice);
	hs_free(&h);
	hs_run(&h, &bob, &carol, &o);
	check_complete(&h, &bob, &carol);
	hs_free(&h);

	/* Both ends on pools, and the pools empty again once the sessions are gone. */
	o.rpool = true;
	hs_run(&h, &alice, &bob, &o);
	check_complete(&h, &alice, &bob);
	CHECK(secmem_in_use(km.hs) == 0 && secmem_in_use(km.tx) == 2);
	hs_free(&h);
	CHECK(secmem_in_use(km.hs) == 0 && secmem_in_use(km.tx) == 0);
	o.rpool = false;

	/* XXpsk3 with the same psk on both ends. */
	o.ipsk = o.rpsk = psk_a;
	hs_run(&h, &alice, &bob, &o);
	check_complete(&h, &alice, &bob);
	/* with psk, e also keys the cipher, so the empty payload gets a tag (Noise 9.2) */
	CHECK(h.l1 == NOISE_DHLEN + NOISE_TAGLEN);
	hs_free(&h);
}

/* The initiator was handed a static public key that is not its own (a caller's mistake): the
 * responder, which checks message 3 against it, refuses; nothing crashes and the pools are
 * given back. */
static void test_wrong_static_pub(void)
{
	struct hs h;
	struct hs_opts o = { 0 };
	o.ipub = carol.k->x_pk;
	o.rpool = true;
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc1 == MESH_OK && h.rc2 == MESH_OK && h.rc3 == MESH_OK);
	CHECK(h.rc4 == MESH_EAUTH && !h.r->authenticated && h.r->tx == NULL);
	hs_free(&h);
	CHECK(secmem_in_use(km.hs) == 0 && secmem_in_use(km.tx) == 0);
}

/* ------------------------------------------------------------------ hostile handshakes */

static void test_mismatch(void)
{
	struct hs h;
	struct hs_opts o = { 0 };

	/* Different psks: the psk token is in msg 3, so the responder is the one that fails. */
	o.ipsk = psk_a;
	o.rpsk = psk_b;
	hs_run(&h, &alice, &bob, &o);
	CHECK(!hs_complete(&h));
	CHECK(h.rc3 == MESH_OK && h.rc4 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* psk on one end only: two different protocol names, so it never completes. */
	o.ipsk = psk_a;
	o.rpsk = NULL;
	hs_run(&h, &alice, &bob, &o);
	CHECK(!hs_complete(&h));
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	o.ipsk = NULL;
	o.rpsk = psk_a;
	hs_run(&h, &alice, &bob, &o);
	CHECK(!hs_complete(&h));
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* Different prologues (another mesh_id): msg 2 fails at the initiator. */
	o = (struct hs_opts){ .iprologue = prologue_a, .rprologue = prologue_b };
	hs_run(&h, &alice, &bob, &o);
	CHECK(!hs_complete(&h));
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	o = (struct hs_opts){ .iprologue = prologue_a, .rprologue = prologue_b,
	                      .ipsk = psk_a, .rpsk = psk_a };
	hs_run(&h, &alice, &bob, &o);
	CHECK(!hs_complete(&h));
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
}

static void test_identity(void)
{
	struct hs h;
	struct hs_opts o = { 0 };
	uint8_t raw[8] = { 0xc1, 1, 2, 3 };
	uint8_t not_a_point[WIRE_IDLEN] = { 2 };  /* y = 2 is not on the curve */

	/* The initiator dialled carol's beacon, but bob answers (with his own, valid, ID). */
	o.expected = carol.k->id;
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	CHECK(!h.i->authenticated);
	/* The failed handshake is terminal: the genuine message does not revive it. */
	uint8_t m3[MSGCAP];
	size_t l3;
	uint8_t ipl[1024];
	size_t ipll = make_payload(&alice, alice.k->id, ipl, sizeof ipl);
	CHECK(session_on_reply(h.i, h.m2, h.l2, ipl, ipll, m3, sizeof m3, &l3) != MESH_OK);
	CHECK(!h.i->authenticated && h.i->tx == NULL);
	hs_free(&h);

	/* Bob's payload claims carol's ID (a valid identity, but not his static key): whether the
	 * initiator expects bob or carol, message 2 fails. */
	o = (struct hs_opts){ .rclaim = carol.k->id };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	o = (struct hs_opts){ .rclaim = carol.k->id, .expected = carol.k->id };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* Alice's payload claims carol's ID: message 3 fails at the responder. */
	o = (struct hs_opts){ .iclaim = carol.k->id };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc3 == MESH_OK && h.rc4 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	CHECK(!h.r->authenticated);
	hs_free(&h);

	/* A claimed ID that is not an Ed25519 point at all, on either side. */
	o = (struct hs_opts){ .rclaim = not_a_point, .expected = not_a_point };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	o = (struct hs_opts){ .iclaim = not_a_point };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc4 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* The responder claims the initiator's own ID. */
	o = (struct hs_opts){ .rclaim = alice.k->id, .expected = alice.k->id };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc3 == MESH_EAUTH);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* A payload that is not a reply_payload or a hello at all (authenticated garbage), and an
	 * empty one. */
	o = (struct hs_opts){ .rpayload_raw = raw, .rpayload_raw_len = sizeof raw };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EMALFORMED);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	o = (struct hs_opts){ .ipayload_raw = raw, .ipayload_raw_len = 0 };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc3 == MESH_OK && h.rc4 == MESH_EMALFORMED);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);

	/* No way back to telling strangers: a message 2 that carries a whole hello (name and
	 * groups, as in protocol version 1) is refused, not read. */
	uint8_t full[1024];
	size_t full_len = make_payload(&bob, bob.k->id, full, sizeof full);
	o = (struct hs_opts){ .rpayload_raw = full, .rpayload_raw_len = full_len };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc2 == MESH_OK && h.rc3 == MESH_EMALFORMED);
	CHECK(hs_failed_cleanly(&h) && h.i->peer_name[0] == '\0');
	hs_free(&h);
	/* ... nor may message 3 be a reply_payload (no name, no groups) */
	uint8_t bare[256];
	size_t bare_len = make_reply(&alice, alice.k->id, bare, sizeof bare);
	o = (struct hs_opts){ .ipayload_raw = bare, .ipayload_raw_len = bare_len };
	hs_run(&h, &alice, &bob, &o);
	CHECK(h.rc3 == MESH_OK && h.rc4 == MESH_EMALFORMED);
	CHECK(hs_failed_cleanly(&h));
	hs_free(&h);
	/* an ACCEPT that does not decode (garbage, protocol version 1's bare [ 1 ], a hello)
	 * names nobody, and the session cannot go live */
	static const uint8_t accept_v1[] = { 0x91, 0x01 };
	const struct { const uint8_t *p; size_t n; } bad_acc[] = {
		{ raw, sizeof raw }, { accept_v1, sizeof accept_v1 }, { full, full_len }, { raw, 0 },
	};
	for (size_t k = 0; k < sizeof bad_acc / sizeof bad_acc[0]; k++) {
		o = (struct hs_opts){ .accept_raw = bad_acc[k].p, .accept_raw_len = bad_acc[k].n };
		hs_run(&h, &alice, &bob, &o);
		CHECK(h.rc4 == MESH_OK && h.rc5 == MESH_EMALFORMED);
		CHECK(hs_failed_cleanly(&h) && h.i->peer_name[0] == '\0' && h.i->hello_groups.n == 0);
		CHECK(session_go_live(h.i, 1000) == MESH_ESTATE);
		hs_free(&h);
	}
}

/* Flips byte `pos` of message `step` with `x`, or truncates it to `pos` bytes (x == 0). */
struct mut {
	int step;
	size_t pos;
	uint8_t x;
	bool extend;        /* instead: append one byte */
	bool applied;
};

static void mutate(int step, uint8_t *msg, size_t *len, void *arg)
{
	struct mut *m = arg;
	if (step != m->step)
		return;
	if (m->extend) {
		msg[*len] = 0;
		(*len)++;
		m->applied = true;
	} else if (m->x == 0) {
		if (m->pos < *len) {
			*len = m->pos;
			m->applied = true;
		}
	} else if (m->pos < *len) {
		msg[m->pos] ^= m->x;
		m->applied = true;
	}
}

static void test_flip_truncate(const uint8_t *psk)
{
	static const uint8_t xs[] = { 0x01, 0x80, 0xff };
	struct hs h;
	struct hs_opts o = { .ipsk = psk, .rpsk = psk };
	size_t len[4];
	unsigned long cases = 0, bad = 0, unapplied = 0;

	hs_run(&h, &alice, &bob, &o);   /* no mutation yet: learn the message lengths */
	o.mutate = mutate;
	CHECK(hs_complete(&h));
	len[1] = h.l1;
	len[2] = h.l2;
	len[3] = h.l3;
	hs_free(&h);

	for (int step = 1; step <= 3; step++) {
		for (size_t pos = 0; pos < len[step]; pos++) {
			for (size_t xi = 0; xi <= sizeof xs; xi++) {
				/* xi == sizeof xs: truncate to pos bytes */
				struct mut m = { step, pos, xi < sizeof xs ? xs[xi] : 0, false, false };
				o.mutate_arg = &m;
				hs_run(&h, &alice, &bob, &o);
				cases++;
				unapplied += !m.applied;
				if (!hs_failed_cleanly(&h))
					bad++;
				/* msg 1 carries nothing the responder can check: the damage shows at the
				 * initiator (different ee, different transcript) */
				if (step == 1 && xi < sizeof xs && h.rc2 == MESH_OK && h.rc3 == MESH_OK)
					bad++;
				if (step == 2 && h.rc3 == MESH_OK)
					bad++;
				if (step == 3 && h.rc4 == MESH_OK)
					bad++;
				hs_free(&h);
			}
		}
		/* one byte too many */
		struct mut m = { step, 0, 0, true, false };
		o.mutate_arg = &m;
		hs_run(&h, &alice, &bob, &o);
		cases++;
		unapplied += !m.applied;
		if (!hs_failed_cleanly(&h))
			bad++;
		hs_free(&h);
	}
	CHECK(bad == 0);
	CHECK(unapplied == 0);
	CHECK(cases > 3 * 4 * (NOISE_DHLEN + 48));
	printf("  %s: %lu mutated handshakes, %lu not refused\n", psk ? "XXpsk3" : "XX", cases, bad);
}

/* Garbage does not damage a handshake in progress? The session API says: a failed step is
 * terminal (the engine rebuilds from scratch), so check exactly that, on both ends. */
static void test_terminal(void)
{
	struct hs h;
	struct hs_opts o = { 0 };
	hs_run(&h, &alice, &bob, &o);
	CHECK(hs_complete(&h));
	hs_free(&h);

	struct session *i = session_new(NOISE_INITIATOR, prologue_a, prologue_len, alice.k->x_sk,
	                                alice.k->x_pk, NULL, &km, 0);
	struct session *r = session_new(NOISE_RESPONDER, prologue_a, prologue_len, bob.k->x_sk,
	                                NULL, NULL, NULL, 0);
	uint8_t m1[MSGCAP], m2[MSGCAP], m3[MSGCAP], pl[1024], junk[MSGCAP];
	size_t l1, l2, l3, pll;
	CHECK(i && r);
	if (!i || !r)
		goto done;
	memcpy(i->expected_id, bob.k->id, WIRE_IDLEN);
	CHECK(session_write_hello(i, m1, sizeof m1, &l1) == MESH_OK);
	pll = make_reply(&bob, bob.k->id, pl, sizeof pl);
	CHECK(session_on_hello(r, m1, l1, pl, pll, m2, sizeof m2, &l2) == MESH_OK);
	/* a forged msg 2 of the right length */
	randombytes_buf(junk, l2);
	pll = make_payload(&alice, alice.k->id, pl, sizeof pl);
	CHECK(session_on_reply(i, junk, l2, pl, pll, m3, sizeof m3, &l3) == MESH_EAUTH);
	CHECK(!i->authenticated && i->tx == NULL);
	/* terminal: the real msg 2 no longer completes it */
	CHECK(session_on_reply(i, m2, l2, pl, pll, m3, sizeof m3, &l3) != MESH_OK);
	CHECK(!i->authenticated && i->tx == NULL);
	/* and sealing on a session that never split is refused */
	i->remote_sid = 1;
	CHECK(session_seal(i, pl, 1, junk, sizeof junk, &l3) == MESH_ESTATE);
done:
	session_destroy(&i);
	session_destroy(&r);
	CHECK(i == NULL && r == NULL);
	session_destroy(&i);       /* NULL is fine */
	session_destroy(NULL);
}

static void test_wrong_state(void)
{
	uint8_t m1[MSGCAP], m2[MSGCAP], m3[MSGCAP], pli[1024], plr[1024], out[MSGCAP];
	size_t l1, l2, l3, lo, pli_len, plr_len;
	struct session *i = session_new(NOISE_INITIATOR, prologue_a, prologue_len, alice.k->x_sk,
	                                alice.k->x_pk, NULL, &km, 0);
	struct session *r = session_new(NOISE_RESPONDER, prologue_a, prologue_len, bob.k->x_sk,
	                                NULL, NULL, NULL, 0);
	CHECK(i && r);
	if (!i || !r)
		goto done;
	memcpy(i->expected_id, bob.k->id, WIRE_IDLEN);
	uint8_t acc[1024];
	size_t acc_len = make_accept(&bob, acc, sizeof acc);
	pli_len = make_payload(&alice, alice.k->id, pli, sizeof pli);
	plr_len = make_reply(&bob, bob.k->id, plr, sizeof plr);
	memset(m1, 0x42, sizeof m1);

	/* Before anything: only write_hello (initiator) and on_hello (responder) are allowed. */
	CHECK(session_write_hello(r, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_hello(i, m1, NOISE_DHLEN, plr, plr_len, out, sizeof out, &lo) ==
	      MESH_ESTATE);
	CHECK(session_on_reply(i, m1, 100, pli, pli_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_reply(r, m1, 100, pli, pli_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_finish(i, m1, 100) == MESH_ESTATE);
	CHECK(session_on_finish(r, m1, 100) == MESH_ESTATE);
	CHECK(session_on_accept(i, acc, acc_len) == MESH_ESTATE);
	CHECK(session_on_accept(r, acc, acc_len) == MESH_ESTATE);
	CHECK(session_seal(i, pli, 1, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(i->state == SESSION_NEW && r->state == SESSION_NEW);
	CHECK(session_go_live(i, 1000) == MESH_ESTATE && session_go_live(r, 1000) == MESH_ESTATE);
	struct wire_frame f = { .type = WIRE_DATA, .rx_sid = 1, .body = m1, .body_len = 32 };
	CHECK(session_open(r, &f, out, sizeof out, &lo, 1000, &last_rx) == MESH_ESTATE);

	CHECK(session_write_hello(i, m1, sizeof m1, &l1) == MESH_OK);
	CHECK(i->state == SESSION_INIT_SENT_HELLO);
	/* write_hello twice, finish on an initiator */
	CHECK(session_write_hello(i, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_finish(i, m1, l1) == MESH_ESTATE);
	CHECK(session_on_accept(i, acc, acc_len) == MESH_ESTATE);
	CHECK(session_go_live(i, 1000) == MESH_ESTATE);      /* no REPLY yet */

	CHECK(session_on_hello(r, m1, l1, plr, plr_len, m2, sizeof m2, &l2) == MESH_OK);
	CHECK(r->state == SESSION_RESP_SENT_REPLY);
	/* HELLO again (a replayed msg 1) and REPLY at the responder */
	CHECK(session_on_hello(r, m1, l1, plr, plr_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_reply(r, m2, l2, plr, plr_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_write_hello(r, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_go_live(r, 1000) == MESH_ESTATE);      /* FINISH not checked yet */

	CHECK(session_on_reply(i, m2, l2, pli, pli_len, m3, sizeof m3, &l3) == MESH_OK);
	CHECK(i->state == SESSION_INIT_WAIT_ACCEPT);
	/* a replayed msg 2 */
	CHECK(session_on_reply(i, m2, l2, pli, pli_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_write_hello(i, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(i->authenticated && !i->named);
	/* authenticated, but not live before ACCEPT has named the peer */
	CHECK(session_go_live(i, 1000) == MESH_ESTATE);

	CHECK(session_on_finish(r, m3, l3) == MESH_OK);
	/* a replayed msg 3, after the split */
	CHECK(session_on_finish(r, m3, l3) == MESH_ESTATE);
	CHECK(session_on_hello(r, m1, l1, plr, plr_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(r->authenticated && r->named && r->tx != NULL);
	/* ACCEPT is the initiator's to read, once: not the responder's, not twice, and one that
	 * does not decode names nobody */
	CHECK(session_on_accept(r, acc, acc_len) == MESH_ESTATE);
	CHECK(session_on_accept(i, plr, plr_len) == MESH_EMALFORMED && !i->named);
	CHECK(session_on_accept(i, acc, acc_len - 1) == MESH_EMALFORMED && !i->named);
	CHECK(session_on_accept(i, acc, acc_len) == MESH_OK && i->named);
	CHECK(strcmp(i->peer_name, bob.name) == 0);
	CHECK(session_on_accept(i, acc, acc_len) == MESH_ESTATE);

	/* both go live once, and only once */
	CHECK(session_go_live(i, 1000) == MESH_OK && i->state == SESSION_LIVE);
	CHECK(session_go_live(r, 1000) == MESH_OK && r->state == SESSION_LIVE);
	CHECK(session_go_live(i, 1000) == MESH_ESTATE && session_go_live(r, 1000) == MESH_ESTATE);
	CHECK(session_on_reply(i, m2, l2, pli, pli_len, out, sizeof out, &lo) == MESH_ESTATE);
	CHECK(session_on_finish(r, m3, l3) == MESH_ESTATE);
	CHECK(session_on_accept(i, acc, acc_len) == MESH_ESTATE);

	/* sealing needs the remote sid */
	CHECK(session_seal(i, pli, 1, out, sizeof out, &lo) == MESH_ESTATE);
done:
	session_destroy(&i);
	session_destroy(&r);
}

/* ------------------------------------------------------------------ transport */

static uint8_t frame_buf[WIRE_MAX_FRAME + 16];
static uint8_t pt_buf[WIRE_MAX_NOISE + 16];

/* Seals pt on `from` into a fresh heap frame; *len its size. */
static uint8_t *seal(struct session *from, const void *pt, size_t ptlen, size_t *len)
{
	size_t flen = 0;
	enum mesh_err rc = session_seal(from, pt, ptlen, frame_buf, sizeof frame_buf, &flen);
	CHECK(rc == MESH_OK);
	if (rc != MESH_OK)
		return NULL;
	uint8_t *f = malloc(flen);
	CHECK(f != NULL);
	if (f)
		memcpy(f, frame_buf, flen);
	*len = flen;
	return f;
}

/* Decodes frame bytes and opens them on `to`: MESH_OK and the plaintext, or the error. */
static enum mesh_err open_frame(struct session *to, const uint8_t *frame, size_t len,
                                size_t *ptlen)
{
	struct wire_frame f;
	enum mesh_err rc = wire_frame_decode(frame, len, &f);
	if (rc != MESH_OK)
		return rc;
	if (f.type != WIRE_DATA)
		return MESH_EMALFORMED;
	return session_open(to, &f, pt_buf, sizeof pt_buf, ptlen, 1000, &last_rx);
}

static bool opens_to(struct session *to, const uint8_t *frame, size_t len, const void *want,
                     size_t wantlen)
{
	size_t ptlen = 0;
	if (open_frame(to, frame, len, &ptlen) != MESH_OK)
		return false;
	return ptlen == wantlen && (wantlen == 0 || memcmp(pt_buf, want, wantlen) == 0);
}

/* A completed pair with sids set the way the engine sets them. */
static bool live_pair(struct hs *h, const struct party *ini, const struct party *rsp,
                      uint32_t isid, uint32_t rsid)
{
	struct hs_opts o = { 0 };
	hs_run(h, ini, rsp, &o);
	CHECK(hs_complete(h));
	if (!hs_complete(h))
		return false;
	h->i->sid = isid;
	h->r->sid = rsid;
	h->i->remote_sid = rsid;
	h->r->remote_sid = isid;
	return true;
}

/*
 * A session's first frames lost: the first one that arrives is not counter 0, and that is a
 * gap like any (protocol section 6, "Delivery", rule 4). Found by meshsim_attack_mitm in CI:
 * with the first DATA frames of a new session dropped on the path, the next message was
 * delivered as if none were missing, and its ACK covered the lost ones (receipts for
 * messages never delivered).
 */
static void test_first_frames_lost(void)
{
	struct hs h;
	uint8_t *f[3] = { 0 };
	size_t fl[3], ptlen;
	if (!live_pair(&h, &alice, &bob, 0x05060708, 0xb0c0d0e0))
		return;
	for (int k = 0; k < 3; k++)
		f[k] = seal(h.i, "m", 1, &fl[k]);
	CHECK(f[2] && open_frame(h.r, f[2], fl[2], &ptlen) == MESH_OK && last_rx.gap);
	CHECK(f[0] && open_frame(h.r, f[0], fl[0], &ptlen) == MESH_EAUTH && last_rx.old);
	for (int k = 0; k < 3; k++)
		free(f[k]);
	/* the other way, the first frame arriving first: no gap */
	uint8_t *g = seal(h.r, "a", 1, &fl[0]);
	CHECK(g && open_frame(h.i, g, fl[0], &ptlen) == MESH_OK && !last_rx.gap);
	free(g);
	hs_free(&h);
}

static void test_transport(void)
{
	struct hs h, h2;
	uint8_t *f[8] = { 0 };
	size_t fl[8];
	char msg[64];
	size_t ptlen;

	if (!live_pair(&h, &alice, &bob, 0x01020304, 0xa0b0c0d0))
		return;

	/* Round trips both ways, including the empty message. */
	for (int k = 0; k < 4; k++) {
		snprintf(msg, sizeof msg, "i->r %d", k);
		f[0] = seal(h.i, msg, strlen(msg), &fl[0]);
		CHECK(f[0] && opens_to(h.r, f[0], fl[0], msg, strlen(msg)));
		free(f[0]);
		snprintf(msg, sizeof msg, "r->i %d", k);
		f[0] = seal(h.r, msg, strlen(msg), &fl[0]);
		CHECK(f[0] && opens_to(h.i, f[0], fl[0], msg, strlen(msg)));
		free(f[0]);
	}
	f[0] = seal(h.i, "", 0, &fl[0]);
	CHECK(f[0] && opens_to(h.r, f[0], fl[0], "", 0));
	free(f[0]);
	f[0] = NULL;

	/* The frame names the receiver's sid and carries the counter: 5 sent so far. */
	{
		struct wire_frame wf;
		f[0] = seal(h.i, "x", 1, &fl[0]);
		CHECK(f[0] && wire_frame_decode(f[0], fl[0], &wf) == MESH_OK);
		CHECK(wf.type == WIRE_DATA && wf.rx_sid == 0xa0b0c0d0 && wf.counter == 5);
		CHECK(opens_to(h.r, f[0], fl[0], "x", 1));
		/* Replay of the very same frame. */
		CHECK(open_frame(h.r, f[0], fl[0], &ptlen) == MESH_EAUTH);
		free(f[0]);
		f[0] = NULL;
	}

	/* Older after newer; a dropped frame does not desynchronise. */
	for (int k = 0; k < 4; k++) {
		snprintf(msg, sizeof msg, "seq %d", k);
		f[k] = seal(h.i, msg, strlen(msg), &fl[k]);
	}
	CHECK(opens_to(h.r, f[1], fl[1], "seq 1", 5));   /* frame 0 is "lost" for now */
	CHECK(open_frame(h.r, f[0], fl[0], &ptlen) == MESH_EAUTH);   /* arrives late: reordered */
	CHECK(open_frame(h.r, f[1], fl[1], &ptlen) == MESH_EAUTH);   /* replay */
	/* skip f[2] entirely */
	CHECK(opens_to(h.r, f[3], fl[3], "seq 3", 5));
	CHECK(open_frame(h.r, f[2], fl[2], &ptlen) == MESH_EAUTH);
	for (int k = 0; k < 4; k++) {
		free(f[k]);
		f[k] = NULL;
	}

	/* Flip every byte of the ciphertext (and the tag): every one fails, and none of the
	 * failures moves the replay window: the genuine frame opens afterwards. */
	{
		struct wire_frame wf;
		unsigned long opened = 0, tried = 0;
		const char *secret = "the quick brown fox";
		f[0] = seal(h.i, secret, strlen(secret), &fl[0]);
		CHECK(f[0] && wire_frame_decode(f[0], fl[0], &wf) == MESH_OK);
		size_t body_off = (size_t)(wf.body - f[0]);
		CHECK(wf.body_len == strlen(secret) + NOISE_TAGLEN);
		static const uint8_t xs[] = { 0x01, 0x80, 0xff };
		for (size_t pos = body_off; pos < fl[0]; pos++)
			for (size_t xi = 0; xi < sizeof xs; xi++) {
				uint8_t *copy = malloc(fl[0]);
				memcpy(copy, f[0], fl[0]);
				copy[pos] ^= xs[xi];
				tried++;
				opened += open_frame(h.r, copy, fl[0], &ptlen) == MESH_OK;
				free(copy);
			}
		CHECK(tried == 3 * wf.body_len);
		CHECK(opened == 0);
		/* the same ciphertext under another counter (nonce) */
		struct wire_frame moved = wf;
		moved.counter = wf.counter + 1;
		CHECK(session_open(h.r, &moved, pt_buf, sizeof pt_buf, &ptlen, 1000, &last_rx) ==
		      MESH_EAUTH);
		moved.counter = wf.counter + 1000;
		CHECK(session_open(h.r, &moved, pt_buf, sizeof pt_buf, &ptlen, 1000, &last_rx) ==
		      MESH_EAUTH);
		/* truncated ciphertext */
		moved = wf;
		for (size_t k = 0; k < wf.body_len; k++) {
			moved.body_len = k;
			opened += session_open(h.r, &moved, pt_buf, sizeof pt_buf, &ptlen, 1000,
			                       &last_rx) == MESH_OK;
		}
		CHECK(opened == 0);
		CHECK(opens_to(h.r, f[0], fl[0], secret, strlen(secret)));
		free(f[0]);
		f[0] = NULL;
	}

	/* The wrong direction: the initiator cannot open its own frames (different keys). */
	f[0] = seal(h.i, "mine", 4, &fl[0]);
	CHECK(f[0] && open_frame(h.i, f[0], fl[0], &ptlen) == MESH_EAUTH);
	CHECK(f[0] && opens_to(h.r, f[0], fl[0], "mine", 4));
	free(f[0]);
	f[0] = NULL;

	/* The AD binds the receiver's sid: the same keys under another sid refuse the frame. */
	f[0] = seal(h.i, "bound", 5, &fl[0]);
	h.r->sid = 0xa0b0c0d1;
	CHECK(f[0] && open_frame(h.r, f[0], fl[0], &ptlen) == MESH_EAUTH);
	h.r->sid = 0xa0b0c0d0;
	CHECK(f[0] && opens_to(h.r, f[0], fl[0], "bound", 5));
	free(f[0]);
	f[0] = NULL;

	/* A frame of one session does not open in another session, even one between the same two
	 * nodes with the same sids (new keys), nor in a third party's. */
	if (live_pair(&h2, &alice, &bob, 0x01020304, 0xa0b0c0d0)) {
		f[0] = seal(h.i, "session one", 11, &fl[0]);
		f[1] = seal(h2.i, "session two", 11, &fl[1]);
		CHECK(open_frame(h2.r, f[0], fl[0], &ptlen) == MESH_EAUTH);
		CHECK(open_frame(h.r, f[1], fl[1], &ptlen) == MESH_EAUTH);
		CHECK(opens_to(h.r, f[0], fl[0], "session one", 11));
		CHECK(opens_to(h2.r, f[1], fl[1], "session two", 11));
		free(f[0]);
		free(f[1]);
		f[0] = f[1] = NULL;
		hs_free(&h2);
	}
	if (live_pair(&h2, &carol, &bob, 0x55555555, 0x66666666)) {
		f[0] = seal(h.r, "to alice", 8, &fl[0]);
		CHECK(open_frame(h2.i, f[0], fl[0], &ptlen) == MESH_EAUTH);
		CHECK(opens_to(h.i, f[0], fl[0], "to alice", 8));
		free(f[0]);
		f[0] = NULL;
		hs_free(&h2);
	}

	/* Size limits: the largest message that fits a Noise message, and one byte more. */
	{
		size_t max = WIRE_MAX_NOISE - NOISE_TAGLEN, flen;
		uint8_t *big = malloc(max + 1);
		CHECK(big != NULL);
		if (big) {
			for (size_t k = 0; k < max + 1; k++)
				big[k] = (uint8_t)(k * 31);
			CHECK(session_seal(h.i, big, max + 1, frame_buf, sizeof frame_buf, &flen) ==
			      MESH_ELIMIT);
			f[0] = seal(h.i, big, max, &fl[0]);
			CHECK(f[0] && fl[0] <= WIRE_MAX_FRAME);
			CHECK(f[0] && opens_to(h.r, f[0], fl[0], big, max));
			free(f[0]);
			f[0] = NULL;
			/* an output buffer too small for the frame, at every size short of it: refused
			 * before a counter is spent, so the next frame follows without a gap */
			uint64_t before = h.i->tx->send_next;
			uint8_t hdr[WIRE_DATA_HDR_MAX];
			size_t hlen = 0;
			CHECK(wire_data_header(h.i->remote_sid, before, 100 + NOISE_TAGLEN, hdr, sizeof hdr,
			                       &hlen) == MESH_OK);
			for (size_t cap = 0; cap < hlen + 100 + NOISE_TAGLEN; cap++)
				CHECK(session_seal(h.i, big, 100, frame_buf, cap, &flen) == MESH_ELIMIT &&
				      flen == 0);
			CHECK(h.i->tx->send_next == before);
			f[0] = seal(h.i, big, 100, &fl[0]);
			CHECK(f[0] && opens_to(h.r, f[0], fl[0], big, 100));
			if (f[0]) {
				struct wire_frame wf;
				CHECK(wire_frame_decode(f[0], fl[0], &wf) == MESH_OK && wf.counter == before);
			}
			free(f[0]);
			f[0] = NULL;
			/* an exhausted send counter: MESH_ESTATE, so the engine closes the session
			 * rather than retrying as it would for a full socket (MESH_ELIMIT) */
			uint64_t saved = h.i->tx->send_next;
			h.i->tx->send_next = UINT64_MAX;
			CHECK(session_seal(h.i, big, 10, frame_buf, sizeof frame_buf, &flen) == MESH_ESTATE);
			h.i->tx->send_next = saved;
			free(big);
		}
	}
	hs_free(&h);
}

/* ------------------------------------------------------------------ rekeying (3.3) */

/*
 * Two live sessions and a connection between them: a queue of sealed frames each way, kept
 * in order as ZeroMQ keeps them. Plaintexts are 'D' + a sequence number (data, checked to
 * arrive exactly once and in order), 'H' (what the engine sends at once on new keys), or a
 * REKEY / REKEY_REPLY message, which the receiving end acts on as the engine does.
 */
#define RK_QMAX 4096

struct rk_frame {
	uint8_t *p;
	size_t len;
};

struct rk_dir {
	struct session *from, *to;
	struct rk_frame q[RK_QMAX];
	size_t head, tail;
	uint64_t sent, got;          /* data frames: sealed, and opened in order */
	unsigned long bad;           /* a data frame out of order, twice, or refused */
};

struct rk_link {
	struct hs h;
	struct rk_dir i2r, r2i;
	const struct party *ini, *rsp;
	bool drop_replies;           /* the connection loses the next REKEY_REPLY */
	unsigned long replies_dropped, promoted_i, promoted_r, stale, gaps;
	unsigned long switch_i_behind, switch_r_behind;  /* old-key frames still in flight
	                                                  * when each side changed its sends */
};

static void rk_push(struct rk_dir *d, uint8_t *frame, size_t len)
{
	CHECK(frame != NULL && d->tail - d->head < RK_QMAX);
	if (!frame || d->tail - d->head >= RK_QMAX) {
		free(frame);
		return;
	}
	d->q[d->tail++ % RK_QMAX] = (struct rk_frame){ frame, len };
}

static void rk_send_data(struct rk_dir *d)
{
	uint8_t pt[9] = { 'D' };
	size_t len;
	uint64_t seq = ++d->sent;
	memcpy(pt + 1, &seq, sizeof seq);
	uint8_t *f = seal(d->from, pt, sizeof pt, &len);
	rk_push(d, f, len);
}

static void rk_send_msg(struct rk_dir *d, uint64_t type, uint64_t n, const uint8_t *noise)
{
	struct wire_msg m = { .type = type, .rekey_n = n, .noise = noise };
	uint8_t enc[128];
	size_t elen = 0, len;
	CHECK(wire_msg_encode(&m, enc, sizeof enc, &elen) == MESH_OK);
	uint8_t *f = seal(d->from, enc, elen, &len);
	rk_push(d, f, len);
}

static void rk_send_h(struct rk_dir *d)
{
	size_t len;
	uint8_t *f = seal(d->from, "H", 1, &len);
	rk_push(d, f, len);
}

/* Starts a rekey on the initiator and puts its REKEY on the connection. */
static bool rk_start(struct rk_link *l)
{
	uint8_t m1[WIRE_REKEY_NOISE];
	uint64_t n = 0;
	if (session_rekey_start(l->h.i, l->ini->k->x_sk, l->ini->k->x_pk, 5000, m1, &n) != MESH_OK)
		return false;
	CHECK(n == l->h.i->rekey_n && session_rekey_waiting(l->h.i));
	rk_send_msg(&l->i2r, WIRE_REKEY, n, m1);
	return true;
}

/* Delivers the next frame of d, if any, and does what the engine would with it. */
static void rk_deliver(struct rk_link *l, struct rk_dir *d)
{
	if (d->head == d->tail)
		return;
	struct rk_frame fr = d->q[d->head++ % RK_QMAX];
	bool to_r = d->to == l->h.r;
	size_t ptlen = 0;
	enum mesh_err rc = open_frame(d->to, fr.p, fr.len, &ptlen);
	free(fr.p);
	CHECK(rc == MESH_OK);     /* in order on one connection: every frame opens */
	if (rc != MESH_OK) {
		d->bad++;
		return;
	}
	if (last_rx.promoted) {
		/* new keys both ways on this side; the responder says so under them at once */
		CHECK(d->to->tx_next == NULL && !d->to->tx_next_sends);
		if (to_r) {
			l->promoted_r++;
			l->switch_r_behind += l->r2i.tail - l->r2i.head;
			rk_send_h(&l->r2i);
		} else {
			l->promoted_i++;
		}
	}
	l->gaps += last_rx.gap;
	if (ptlen == 9 && pt_buf[0] == 'D') {
		uint64_t seq;
		memcpy(&seq, pt_buf + 1, sizeof seq);
		if (seq != d->got + 1)
			d->bad++;
		d->got = seq;
		return;
	}
	if (ptlen == 1 && pt_buf[0] == 'H')
		return;
	struct wire_msg m;
	uint8_t out[WIRE_REKEY_NOISE];
	CHECK(wire_msg_decode(pt_buf, ptlen, &m) == MESH_OK);
	if (m.type == WIRE_REKEY && to_r) {
		CHECK(session_on_rekey(l->h.r, m.rekey_n, m.noise, l->rsp->k->x_sk, NULL, out) ==
		      MESH_OK);
		CHECK(l->h.r->tx_next != NULL && !l->h.r->tx_next_sends);
		if (l->drop_replies) {
			l->drop_replies = false;
			l->replies_dropped++;
		} else {
			rk_send_msg(&l->r2i, WIRE_REKEY_REPLY, m.rekey_n, out);
		}
	} else if (m.type == WIRE_REKEY_REPLY && !to_r) {
		rc = session_on_rekey_reply(l->h.i, m.rekey_n, m.noise);
		if (rc == MESH_ESTATE) {
			l->stale++;
			return;
		}
		CHECK(rc == MESH_OK && l->h.i->tx_next && l->h.i->tx_next_sends &&
		      !session_rekey_waiting(l->h.i));
		l->switch_i_behind += l->i2r.tail - l->i2r.head;
		/* the initiator sends under the new keys at once, so the responder learns them */
		rk_send_h(&l->i2r);
	} else {
		CHECK(!"unexpected message");
	}
}

/* rpool: the responder keeps its secrets in the pools too (else sodium_malloc). */
static bool rk_link_up(struct rk_link *l, const struct party *ini, const struct party *rsp,
                       bool rpool)
{
	struct hs_opts o = { .rpool = rpool };
	memset(l, 0, sizeof *l);
	l->ini = ini;
	l->rsp = rsp;
	hs_run(&l->h, ini, rsp, &o);
	CHECK(hs_complete(&l->h));
	if (!hs_complete(&l->h))
		return false;
	l->h.i->sid = l->h.r->remote_sid = 0x0a0b0c0d;
	l->h.r->sid = l->h.i->remote_sid = 0x01020304;
	CHECK(session_go_live(l->h.i, 1000) == MESH_OK && session_go_live(l->h.r, 1000) == MESH_OK);
	l->i2r.from = l->r2i.to = l->h.i;
	l->i2r.to = l->r2i.from = l->h.r;
	return true;
}

static void rk_drain(struct rk_link *l)
{
	while (l->i2r.head != l->i2r.tail || l->r2i.head != l->r2i.tail) {
		rk_deliver(l, &l->i2r);
		rk_deliver(l, &l->r2i);
	}
}

static void rk_link_down(struct rk_link *l)
{
	rk_drain(l);
	hs_free(&l->h);
}

/* Both ends hold the same current keys, oriented, and nothing pending. */
static bool rk_agree(const struct rk_link *l)
{
	const struct session *i = l->h.i, *r = l->h.r;
	return i->tx && r->tx && !i->tx_next && !r->tx_next && !i->rekey_hs &&
	       !session_rekey_waiting(i) &&
	       sodium_memcmp(i->tx->send.k, r->tx->recv.k, NOISE_KEYLEN) == 0 &&
	       sodium_memcmp(i->tx->recv.k, r->tx->send.k, NOISE_KEYLEN) == 0 &&
	       sodium_memcmp(i->chain, r->chain, NOISE_HASHLEN) == 0;
}

/* 50 rekeys in a row, data flowing both ways across every switch in a random interleaving:
 * every data frame opens exactly once, in order; each rekey makes keys and chain new. */
static void test_rekey_stream(void)
{
	struct rk_link *l = calloc(1, sizeof *l);
	CHECK(l != NULL);
	if (!l || !rk_link_up(l, &alice, &bob, false)) {
		free(l);
		return;
	}
	uint8_t old_send[NOISE_KEYLEN], old_recv[NOISE_KEYLEN], old_chain[NOISE_HASHLEN];
	char sas[KEYS_SAS_LEN], sas_after[KEYS_SAS_LEN];
	keys_sas(l->h.i->hash, sas);
	CHECK(rk_agree(l));
	CHECK(sodium_memcmp(l->h.i->chain, l->h.i->hash, NOISE_HASHLEN) == 0);
	for (int round = 0; round < 50; round++) {
		memcpy(old_send, l->h.i->tx->send.k, sizeof old_send);
		memcpy(old_recv, l->h.i->tx->recv.k, sizeof old_recv);
		memcpy(old_chain, l->h.i->chain, sizeof old_chain);
		unsigned long pi = l->promoted_i, pr = l->promoted_r;
		/* frames under the old keys in flight both ways before the REKEY, and after it */
		for (uint32_t k = randombytes_uniform(4); k > 0; k--) {
			rk_send_data(&l->i2r);
			rk_send_data(&l->r2i);
		}
		CHECK(rk_start(l));
		/* no second exchange while one is on its way */
		uint8_t m1[WIRE_REKEY_NOISE];
		uint64_t n;
		for (int steps = 0; l->promoted_i == pi || l->promoted_r == pr ||
		                    l->i2r.head != l->i2r.tail || l->r2i.head != l->r2i.tail;
		     steps++) {
			CHECK(steps < 1000);
			if (steps >= 1000)
				break;
			switch (randombytes_uniform(6)) {
			case 0: rk_send_data(&l->i2r); break;
			case 1: rk_send_data(&l->r2i); break;
			case 2: case 3: rk_deliver(l, &l->i2r); break;
			default: rk_deliver(l, &l->r2i); break;
			}
			if (l->h.i->tx_next)
				CHECK(session_rekey_start(l->h.i, alice.k->x_sk, alice.k->x_pk, 6000, m1,
				                          &n) == MESH_ESTATE);
		}
		CHECK(l->promoted_i == pi + 1 && l->promoted_r == pr + 1);
		CHECK(rk_agree(l));
		CHECK(sodium_memcmp(old_send, l->h.i->tx->send.k, NOISE_KEYLEN) != 0);
		CHECK(sodium_memcmp(old_recv, l->h.i->tx->recv.k, NOISE_KEYLEN) != 0);
		CHECK(sodium_memcmp(old_chain, l->h.i->chain, NOISE_HASHLEN) != 0);
		CHECK(l->h.i->rekey_n == (uint64_t)round + 1 && l->h.r->rekey_n == l->h.i->rekey_n);
		CHECK(l->h.i->keys_ms == 1000 && l->h.r->keys_ms == 1000);
		/* the pools hold the initiator's one set of link keys and no handshake state (the
		 * responder here uses sodium_malloc) */
		CHECK(secmem_in_use(km.tx) == 1 && secmem_in_use(km.hs) == 0);
	}
	CHECK(l->i2r.got == l->i2r.sent && l->r2i.got == l->r2i.sent && l->i2r.sent > 50);
	CHECK(l->switch_i_behind > 0 && l->switch_r_behind > 0);
	CHECK(l->i2r.bad == 0 && l->r2i.bad == 0 && l->stale == 0 && l->gaps == 0);
	/* the SAS names the XX handshake, which a rekey does not change */
	keys_sas(l->h.r->hash, sas_after);
	CHECK(strcmp(sas, sas_after) == 0);
	printf("  rekey: 50 rekeys, %llu + %llu data frames in order across them (%lu + %lu under "
	       "old keys still in flight at the switches)\n", (unsigned long long)l->i2r.got,
	       (unsigned long long)l->r2i.got, l->switch_i_behind, l->switch_r_behind);
	sodium_memzero(old_send, sizeof old_send);
	sodium_memzero(old_recv, sizeof old_recv);
	rk_link_down(l);
	free(l);
}

/* Retries, stale replies, frames under keys that were replaced, and hostile twins. */
static void test_rekey_hostile(void)
{
	struct rk_link *l = calloc(1, sizeof *l);
	uint8_t m1[WIRE_REKEY_NOISE], m2[WIRE_REKEY_NOISE], out[WIRE_REKEY_NOISE];
	uint64_t n = 0;
	size_t len, ptlen;
	CHECK(l != NULL);
	if (!l || !rk_link_up(l, &alice, &bob, true)) {
		free(l);
		return;
	}
	struct session *i = l->h.i, *r = l->h.r;

	/* wrong roles and states */
	CHECK(session_rekey_start(r, bob.k->x_sk, NULL, 0, m1, &n) == MESH_ESTATE);
	CHECK(session_on_rekey_reply(i, 1, m1) == MESH_ESTATE);     /* nothing awaited */
	CHECK(session_rekey_start(i, alice.k->x_sk, alice.k->x_pk, 0, m1, &n) == MESH_OK && n == 1);
	CHECK(session_on_rekey(i, 1, m1, alice.k->x_sk, NULL, out) == MESH_ESTATE);
	CHECK(session_on_rekey_reply(r, 1, m1) == MESH_ESTATE);
	CHECK(session_on_rekey(r, 0, m1, bob.k->x_sk, NULL, out) == MESH_ESTATE);

	/* every flipped byte of REKEY fails and changes nothing; so do a wrong n (it is in the
	 * prologue) and the wrong static key */
	unsigned long opened = 0;
	for (size_t pos = 0; pos < WIRE_REKEY_NOISE; pos++) {
		uint8_t bad[WIRE_REKEY_NOISE];
		memcpy(bad, m1, sizeof bad);
		bad[pos] ^= 0x01;
		opened += session_on_rekey(r, 1, bad, bob.k->x_sk, NULL, out) == MESH_OK;
	}
	opened += session_on_rekey(r, 2, m1, bob.k->x_sk, NULL, out) == MESH_OK;
	opened += session_on_rekey(r, 1, m1, carol.k->x_sk, NULL, out) == MESH_OK;
	CHECK(opened == 0 && r->tx_next == NULL && r->rekey_n == 0);

	/* the good one; every flipped byte of its REPLY fails at the initiator, which keeps
	 * its keys and waits (the retry timer starts a new exchange) */
	CHECK(session_on_rekey(r, 1, m1, bob.k->x_sk, NULL, m2) == MESH_OK && r->tx_next);
	uint8_t bad2[WIRE_REKEY_NOISE];
	memcpy(bad2, m2, sizeof bad2);
	bad2[WIRE_REKEY_NOISE - 1] ^= 0x80;
	CHECK(session_on_rekey_reply(i, 1, bad2) == MESH_EAUTH);
	CHECK(i->tx_next == NULL && !i->tx_next_sends && i->rekey_hs == NULL &&
	      session_rekey_waiting(i));
	CHECK(session_on_rekey_reply(i, 1, m2) == MESH_ESTATE);     /* that attempt is over */
	/* REKEY 1 again (a replay inside a valid frame cannot happen, but the rule holds) */
	CHECK(session_on_rekey(r, 1, m1, bob.k->x_sk, NULL, out) == MESH_ESTATE);

	/* a lost REKEY_REPLY, then the retry: the responder replaces its pending keys */
	l->drop_replies = true;
	CHECK(rk_start(l) && i->rekey_n == 2);
	rk_drain(l);
	CHECK(l->replies_dropped == 1 && r->tx_next != NULL && i->tx_next == NULL);
	/* both ends' secrets are in the pools here: i's keys, r's keys and pending keys, and the
	 * initiator's exchange waiting for its reply */
	CHECK(secmem_in_use(km.tx) == 3 && secmem_in_use(km.hs) == 1);
	/* the initiator's frames still open with the current keys on both sides */
	rk_send_data(&l->i2r);
	rk_send_data(&l->r2i);
	rk_drain(l);
	CHECK(r->tx_next != NULL && l->promoted_r == 0);
	/* retry with n = 3; REPLY 2 was lost, so that of 3 completes */
	CHECK(rk_start(l) && i->rekey_n == 3);
	rk_drain(l);
	CHECK(rk_agree(l) && l->promoted_i == 1 && l->promoted_r == 1 && r->rekey_n == 3);
	/* the replaced pending keys, the old keys and the exchange were all given back */
	CHECK(secmem_in_use(km.tx) == 2 && secmem_in_use(km.hs) == 0);

	/* a stale REPLY (another n) is ignored while an attempt waits, and after it */
	CHECK(rk_start(l) && i->rekey_n == 4);
	uint8_t stale_reply[WIRE_REKEY_NOISE];
	{
		/* the responder answers attempt 4, but the initiator has moved on to 5 */
		struct rk_frame fr = l->i2r.q[l->i2r.head++ % RK_QMAX];
		struct wire_msg m;
		CHECK(open_frame(r, fr.p, fr.len, &ptlen) == MESH_OK);
		free(fr.p);
		CHECK(wire_msg_decode(pt_buf, ptlen, &m) == MESH_OK && m.type == WIRE_REKEY);
		CHECK(session_on_rekey(r, m.rekey_n, m.noise, bob.k->x_sk, NULL, stale_reply) ==
		      MESH_OK);
	}
	CHECK(rk_start(l) && i->rekey_n == 5);
	CHECK(session_on_rekey_reply(i, 4, stale_reply) == MESH_ESTATE);
	CHECK(session_rekey_waiting(i) && i->tx_next == NULL && i->rekey_hs != NULL);
	rk_drain(l);
	CHECK(rk_agree(l) && l->promoted_i == 2 && l->promoted_r == 2);
	CHECK(session_on_rekey_reply(i, 4, stale_reply) == MESH_ESTATE);
	CHECK(session_on_rekey_reply(i, 5, stale_reply) == MESH_ESTATE);

	/* frames sealed under keys that have since been replaced are refused, both ways, and
	 * the link goes on */
	uint8_t *held_i = seal(i, "old i", 5, &len), *held_r;
	size_t held_i_len = len, held_r_len;
	held_r = seal(r, "old r", 5, &held_r_len);
	CHECK(rk_start(l));
	rk_drain(l);
	CHECK(rk_agree(l) && l->promoted_i == 3 && l->promoted_r == 3);
	/* each side saw the gap the held frame left in the old keys' counters */
	CHECK(l->gaps == 2);
	CHECK(held_i && open_frame(r, held_i, held_i_len, &ptlen) == MESH_EAUTH);
	CHECK(held_r && open_frame(i, held_r, held_r_len, &ptlen) == MESH_EAUTH);
	free(held_i);
	free(held_r);
	rk_send_data(&l->i2r);
	rk_send_data(&l->r2i);
	rk_drain(l);
	CHECK(l->i2r.got == l->i2r.sent && l->r2i.got == l->r2i.sent && !l->i2r.bad && !l->r2i.bad);

	/* new keys count from 0 again, both ways, and the sealed length follows them */
	CHECK(i->tx->send_next == 2 && r->tx->send_next == 2);   /* 'H' or 'D', then 'D' */
	CHECK(session_sealed_len(i, 3) == len - 2);

	/* a REKEY made on another link between the same two nodes (another chain) fails */
	struct rk_link *o = calloc(1, sizeof *o);
	if (o && rk_link_up(o, &alice, &bob, false)) {
		CHECK(session_rekey_start(o->h.i, alice.k->x_sk, alice.k->x_pk, 0, m1, &n) ==
		      MESH_OK && n == 1);
		uint64_t before = r->rekey_n;
		CHECK(session_on_rekey(r, before + 1, m1, bob.k->x_sk, NULL, out) == MESH_EAUTH);
		CHECK(r->tx_next == NULL && r->rekey_n == before);
		rk_link_down(o);
	}
	free(o);
	rk_link_down(l);
	free(l);
}

/* The bytes docs/protocol.md section 3.3 gives, built here from the text alone: a responder
 * made directly with crypto/noise.c from the documented name, keys and prologue answers the
 * session's REKEY, and the session accepts its REKEY_REPLY, twice, the second bound to the
 * h of the first. So an implementation that follows the text interoperates. */
static void test_rekey_as_documented(void)
{
	struct rk_link *l = calloc(1, sizeof *l);
	CHECK(l != NULL);
	if (!l || !rk_link_up(l, &alice, &bob, false)) {
		free(l);
		return;
	}
	struct session *i = l->h.i;
	uint8_t chain[NOISE_HASHLEN];
	memcpy(chain, l->h.r->hash, sizeof chain);          /* the XX handshake hash */
	for (uint64_t n = 1; n <= 2; n++) {
		uint8_t pro[89], m1[WIRE_REKEY_NOISE], m2[WIRE_REKEY_NOISE], pl[1];
		size_t len = 0;
		uint64_t got_n = 0;
		memcpy(pro, "meshnode rekey v1", 17);
		memcpy(pro + 17, chain, 64);
		for (int k = 0; k < 8; k++)
			pro[81 + k] = (uint8_t)(n >> (56 - 8 * k));
		CHECK(session_rekey_start(i, alice.k->x_sk, alice.k->x_pk, 0, m1, &got_n) == MESH_OK &&
		      got_n == n);
		struct noise_hs *out = noise_hs_new("Noise_KK_25519_ChaChaPoly_BLAKE2b",
		                                    NOISE_RESPONDER, pro, sizeof pro, bob.k->x_sk,
		                                    alice.k->x_pk, NULL);
		CHECK(out != NULL);
		if (!out)
			break;
		CHECK(noise_hs_read(out, m1, sizeof m1, pl, sizeof pl, &len) == 0 && len == 0);
		CHECK(noise_hs_write(out, NULL, 0, m2, sizeof m2, &len) == 0 &&
		      len == WIRE_REKEY_NOISE && noise_hs_done(out));
		struct noise_transport t;
		CHECK(noise_hs_split(out, &t) == 0 && noise_hs_hash(out, chain) == 0);
		noise_hs_destroy(&out);
		CHECK(session_on_rekey_reply(i, n, m2) == MESH_OK);
		CHECK(i->tx_next && sodium_memcmp(i->tx_next->send.k, t.recv.k, NOISE_KEYLEN) == 0 &&
		      sodium_memcmp(i->tx_next->recv.k, t.send.k, NOISE_KEYLEN) == 0);
		/* its first DATA frame, counter 0, AD the receiver's sid: promotes, and the chain
		 * becomes this exchange's h */
		uint8_t ad[4] = { (uint8_t)(i->sid >> 24), (uint8_t)(i->sid >> 16),
		                  (uint8_t)(i->sid >> 8), (uint8_t)i->sid };
		uint8_t ct[64], frame[128];
		size_t ctlen = 0, flen = 0, ptlen = 0;
		uint64_t ctr = 99;
		CHECK(noise_transport_seal(&t, ad, sizeof ad, (const uint8_t *)"H", 1, ct, sizeof ct,
		                           &ctlen, &ctr) == 0 && ctr == 0);
		struct wire_frame wf = { .type = WIRE_DATA, .rx_sid = i->sid, .counter = ctr,
		                         .body = ct, .body_len = ctlen };
		CHECK(wire_frame_encode(&wf, frame, sizeof frame, &flen) == MESH_OK);
		CHECK(open_frame(i, frame, flen, &ptlen) == MESH_OK && last_rx.promoted &&
		      ptlen == 1 && pt_buf[0] == 'H');
		CHECK(sodium_memcmp(i->chain, chain, NOISE_HASHLEN) == 0);
		noise_transport_wipe(&t);
	}
	sodium_memzero(chain, sizeof chain);
	hs_free(&l->h);
	free(l);
}

/* ------------------------------------------------------------------ session table */

static struct session *blank_session(void)
{
	struct session *s = calloc(1, sizeof *s);
	CHECK(s != NULL);
	return s;
}

static void shuffle(size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void count_each(struct session *s, void *arg)
{
	(void)s;
	(*(size_t *)arg)++;
}

/* The name of a responder's connection: kept in the session up to SESSION_RID_INLINE bytes,
 * in a copy of its own past that (up to SESSION_MAX_RID), each time whole; a length out of
 * range is refused and changes nothing. Valgrind and ASan check the heap copy's life. */
static void test_rid(void)
{
	uint8_t big[SESSION_MAX_RID + 8];     /* room for the longest one, from big + 5 */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 1);
	struct session *s = blank_session();
	if (!s)
		return;
	static const size_t lens[] = { 5, SESSION_RID_INLINE, SESSION_RID_INLINE + 1,
	                               SESSION_MAX_RID, 1, SESSION_MAX_RID };
	for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
		CHECK(session_set_rid(s, big + k, lens[k]) == MESH_OK);
		CHECK(s->rid_len == lens[k] && memcmp(s->rid, big + k, lens[k]) == 0);
		CHECK((s->rid == s->rid_in) == (lens[k] <= SESSION_RID_INLINE));
	}
	CHECK(session_set_rid(s, big, 0) == MESH_EINVAL);
	CHECK(session_set_rid(s, big, SESSION_MAX_RID + 1) == MESH_EINVAL);
	CHECK(s->rid_len == SESSION_MAX_RID && memcmp(s->rid, big + 5, SESSION_MAX_RID) == 0);
	session_destroy(&s);
}

static void test_table_1000(void)
{
	enum { N = 1000 };
	struct session_table t;
	struct session *s[N + 64];
	uint32_t sid[N + 64];
	size_t order[N];
	size_t n = 0;
	unsigned long missing = 0, wrong = 0;

	CHECK(session_table_init(&t, N) == MESH_OK);
	for (size_t k = 0; k < N; k++) {
		s[k] = blank_session();
		if (!s[k])
			return;
		CHECK(session_table_add(&t, s[k]) == MESH_OK);
		sid[k] = s[k]->sid;
		if (sid[k] == 0)
			wrong++;
	}
	n = N;
	CHECK(t.n == N);
	CHECK(wrong == 0);
	for (size_t k = 0; k < N; k++)
		if (session_table_get(&t, sid[k]) != s[k])
			missing++;
	CHECK(missing == 0);
	CHECK(session_table_get(&t, 0) == NULL);
	size_t cnt = 0;
	session_table_each(&t, count_each, &cnt);
	CHECK(cnt == N);

	/* sids unique */
	for (size_t a = 0; a < N; a++)
		for (size_t b = a + 1; b < N; b++)
			if (sid[a] == sid[b])
				wrong++;
	CHECK(wrong == 0);

	/* Delete half, in random order. */
	for (size_t k = 0; k < N; k++)
		order[k] = k;
	shuffle(order, N);
	bool deleted[N] = { false };
	for (size_t k = 0; k < N / 2; k++) {
		size_t v = order[k];
		session_table_del(&t, sid[v]);
		deleted[v] = true;
		session_destroy(&s[v]);
	}
	CHECK(t.n == N - N / 2);
	missing = wrong = 0;
	for (size_t k = 0; k < N; k++) {
		struct session *g = session_table_get(&t, sid[k]);
		if (deleted[k] && g != NULL)
			wrong++;
		if (!deleted[k] && g != s[k])
			missing++;
	}
	CHECK(missing == 0);
	CHECK(wrong == 0);
	CHECK(session_table_get(&t, 0) == NULL);
	/* deleting what is absent (again, or never there, or 0) changes nothing */
	session_table_del(&t, sid[order[0]]);
	session_table_del(&t, 0);
	CHECK(t.n == N - N / 2);

	/* Refill to the cap: init(1000) has 2048 slots, half of which may be used. */
	n = 0;
	for (size_t k = 0; k < N; k++)
		if (!deleted[k])
			s[n++] = s[k];
	enum mesh_err rc = MESH_OK;
	size_t added = 0;
	struct session *extra = NULL;
	while (rc == MESH_OK && n < sizeof s / sizeof s[0]) {
		extra = blank_session();
		if (!extra)
			break;
		rc = session_table_add(&t, extra);
		if (rc == MESH_OK) {
			s[n++] = extra;
			extra = NULL;
			added++;
		}
	}
	CHECK(rc == MESH_ELIMIT);
	CHECK(t.n == t.cap / 2);
	CHECK(extra != NULL && extra->sid == 0);   /* a refused session got no sid */
	free(extra);
	/* still full on a second try; every stored session still found */
	extra = blank_session();
	CHECK(extra && session_table_add(&t, extra) == MESH_ELIMIT);
	free(extra);
	missing = 0;
	for (size_t k = 0; k < n; k++)
		if (session_table_get(&t, s[k]->sid) != s[k])
			missing++;
	CHECK(missing == 0);
	printf("  table: %zu slots, %zu stored at the cap\n", t.cap, t.n);

	/* A real session with keys in the table too: free destroys it all (ASan checks). */
	struct hs h;
	struct hs_opts o = { 0 };
	hs_run(&h, &alice, &bob, &o);
	CHECK(hs_complete(&h));
	session_table_del(&t, s[0]->sid);
	session_destroy(&s[0]);
	CHECK(session_table_add(&t, h.i) == MESH_OK);
	h.i = NULL;
	h.r->stall = malloc(16);          /* the extras session_destroy owns */
	h.r->rs = calloc(1, sizeof *h.r->rs);
	if (h.r->rs) {
		h.r->rs->buf = malloc(32);
		h.r->rs->cap = h.r->rs->buf ? 32 : 0;
	}
	CHECK(group_set_add(&h.r->hello_groups, "x", 1) == MESH_OK);
	CHECK(group_set_add(&h.r->sent_groups, "y", 1) == MESH_OK);
	session_table_del(&t, s[1]->sid);
	session_destroy(&s[1]);
	CHECK(session_table_add(&t, h.r) == MESH_OK);
	h.r = NULL;
	session_table_free(&t);
	CHECK(t.slots == NULL && t.n == 0);
	session_table_free(&t);           /* twice is fine */
}

/* Random operations on a tiny table against a model: clusters and wrap-around are common with
 * 16 slots, so the backward-shift deletion gets every case. */
static void test_table_model(void)
{
	enum { OPS = 40000 };
	struct session_table t;
	struct session *in[16];
	size_t n = 0;
	unsigned long bad = 0;
	CHECK(session_table_init(&t, 4) == MESH_OK);
	CHECK(t.cap == 16);
	for (int op = 0; op < OPS; op++) {
		uint32_t r = randombytes_uniform(10);
		if (r < 5) {
			struct session *s = blank_session();
			if (!s)
				break;
			enum mesh_err rc = session_table_add(&t, s);
			if (n < t.cap / 2) {
				if (rc != MESH_OK || s->sid == 0)
					bad++;
				if (rc == MESH_OK)
					in[n++] = s;
				else
					free(s);
			} else {
				if (rc != MESH_ELIMIT)
					bad++;
				if (rc == MESH_OK)
					in[n++] = s;   /* keep the model honest even when wrong */
				else
					free(s);
			}
		} else if (r < 9 && n > 0) {
			size_t v = randombytes_uniform((uint32_t)n);
			session_table_del(&t, in[v]->sid);
			if (session_table_get(&t, in[v]->sid) != NULL)
				bad++;
			session_destroy(&in[v]);
			in[v] = in[--n];
		} else {
			/* a sid that is absent: found nowhere, deleting it changes nothing */
			uint32_t sid;
			bool present;
			do {
				sid = randombytes_random();
				present = false;
				for (size_t k = 0; k < n; k++)
					present |= in[k]->sid == sid;
			} while (present);
			session_table_del(&t, sid);
			if (session_table_get(&t, sid) != NULL)
				bad++;
		}
		if (t.n != n)
			bad++;
		for (size_t k = 0; k < n; k++)
			if (session_table_get(&t, in[k]->sid) != in[k])
				bad++;
		if (session_table_get(&t, 0) != NULL)
			bad++;
	}
	CHECK(bad == 0);
	session_table_free(&t);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	parties_init();
	CHECK(session_keymem_init(&km) == MESH_OK);
	if (alice.k && bob.k && carol.k && km.hs && km.tx) {
		test_happy();
		test_wrong_static_pub();
		test_mismatch();
		test_identity();
		test_flip_truncate(NULL);
		test_flip_truncate(psk_a);
		test_terminal();
		test_wrong_state();
		test_transport();
		test_first_frames_lost();
		test_rekey_stream();
		test_rekey_hostile();
		test_rekey_as_documented();
		test_rid();
		test_table_1000();
		test_table_model();
		/* every session is gone, and so are its secrets */
		CHECK(secmem_in_use(km.hs) == 0 && secmem_in_use(km.tx) == 0);
	}
	session_keymem_free(&km);
	session_keymem_free(&km);       /* twice is fine */
	parties_free();
	return testlib_done("test_session");
}
