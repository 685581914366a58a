/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * session: Noise XX (or XXpsk3) handshake steps, the explicit-counter transport of one link and
 * its rekeying (Noise KK inside the session, docs/protocol.md section 3.3), plus the session
 * table. Every handshake step either completes every check or leaves the session failed (the
 * engine then removes it): noise_hs_read works on a scratch copy, and a failed handshake is
 * never continued. A failed rekey changes nothing the session already uses: its keys stay, the
 * exchange is dropped, and the link goes on.
 */
#include "session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "secmem.h"

#define PROTO_XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define PROTO_XXPSK3 "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
#define PROTO_KK "Noise_KK_25519_ChaChaPoly_BLAKE2b"

/* --- table --- */

#define SESSION_TABLE_START 64

enum mesh_err session_table_init(struct session_table *t, size_t cap)
{
	size_t c = 16;
	while (c < cap * 2)
		c <<= 1;
	t->cap_max = c;
	t->cap = c < SESSION_TABLE_START ? c : SESSION_TABLE_START;
	t->slots = calloc(t->cap, sizeof *t->slots);
	t->n = 0;
	if (!t->slots)
		return MESH_ENOMEM;
	return MESH_OK;
}

static void put(struct session **slots, size_t cap, struct session *s);

static size_t slot_of(uint32_t sid, size_t cap)
{
	/* sids are random, so their low bits already spread well */
	return (size_t)sid & (cap - 1);
}

struct session *session_table_get(const struct session_table *t, uint32_t sid)
{
	if (sid == 0)
		return NULL;
	for (size_t i = slot_of(sid, t->cap), k = 0; k < t->cap; i = (i + 1) & (t->cap - 1), k++) {
		struct session *s = t->slots[i];
		if (!s)
			return NULL;
		if (s->sid == sid)
			return s;
	}
	return NULL;
}

static void put(struct session **slots, size_t cap, struct session *s)
{
	size_t i = slot_of(s->sid, cap);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

enum mesh_err session_table_add(struct session_table *t, struct session *s)
{
	/* Keep the load at most one half so probes stay short and an empty slot always exists. */
	if ((t->n + 1) * 2 > t->cap) {
		if (t->cap >= t->cap_max)
			return MESH_ELIMIT;
		size_t ncap = t->cap * 2;
		struct session **ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return MESH_ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i])
				put(ns, ncap, t->slots[i]);
		free(t->slots);
		t->slots = ns;
		t->cap = ncap;
	}
	uint32_t sid;
	do {
		sid = randombytes_random();
	} while (sid == 0 || session_table_get(t, sid));
	s->sid = sid;
	put(t->slots, t->cap, s);
	t->n++;
	return MESH_OK;
}

void session_table_del(struct session_table *t, uint32_t sid)
{
	size_t i = slot_of(sid, t->cap);
	while (t->slots[i] && t->slots[i]->sid != sid)
		i = (i + 1) & (t->cap - 1);
	if (!t->slots[i])
		return;
	t->slots[i] = NULL;
	t->n--;
	/* Backward-shift the rest of the cluster so lookups never stop early at the hole. */
	size_t j = (i + 1) & (t->cap - 1);
	while (t->slots[j]) {
		struct session *s = t->slots[j];
		size_t home = slot_of(s->sid, t->cap);
		/* s may move into the hole i if its home is not cyclically in (i, j] */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			t->slots[i] = s;
			t->slots[j] = NULL;
			i = j;
		}
		j = (j + 1) & (t->cap - 1);
	}
}

void session_table_each(const struct session_table *t, void (*fn)(struct session *, void *),
                        void *arg)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			fn(t->slots[i], arg);
}

void session_table_free(struct session_table *t)
{
	if (!t->slots)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			session_destroy(&t->slots[i]);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->cap_max = t->n = 0;
}

/* --- lifecycle --- */

enum mesh_err session_keymem_init(struct session_keymem *km)
{
	km->hs = secmem_new(noise_hs_size());
	km->tx = secmem_new(sizeof(struct noise_transport));
	if (!km->hs || !km->tx) {
		session_keymem_free(km);
		return MESH_ENOMEM;
	}
	return MESH_OK;
}

void session_keymem_free(struct session_keymem *km)
{
	secmem_destroy(&km->hs);
	secmem_destroy(&km->tx);
}

void session_keymem_trim(struct session_keymem *km)
{
	(void)secmem_trim(km->hs);
	(void)secmem_trim(km->tx);
}

struct session *session_new(enum noise_role role, const uint8_t *prologue, size_t plen,
                            const uint8_t s_priv[NOISE_DHLEN], const uint8_t *s_pub,
                            const uint8_t *psk, const struct session_keymem *km,
                            uint64_t now_ms)
{
	const char *proto = psk ? PROTO_XXPSK3 : PROTO_XX;
	struct session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->km = km;
	if (km) {
		void *mem = secmem_alloc(km->hs);
		s->hs = noise_hs_init(mem, noise_hs_size(), proto, role, prologue, plen, s_priv, s_pub,
		                      NULL, psk);
		if (!s->hs)
			secmem_free(km->hs, mem);
	} else {
		s->hs = noise_hs_new(proto, role, prologue, plen, s_priv, NULL, psk);
	}
	if (!s->hs) {
		free(s);
		return NULL;
	}
	s->role = role;
	s->created_ms = s->last_rx_ms = s->last_tx_ms = now_ms;
	return s;
}

/* A handshake state (the XX one once Split has the link keys, a rekey's once done), wiped
 * and given back; NULL is fine. */
static void free_hs(const struct session *s, struct noise_hs **hsp)
{
	if (!*hsp)
		return;
	if (s->km) {
		noise_hs_wipe(*hsp);
		secmem_free(s->km->hs, *hsp);
		*hsp = NULL;
	} else {
		noise_hs_destroy(hsp);
	}
}

static void release_hs(struct session *s)
{
	free_hs(s, &s->hs);
}

static struct noise_transport *alloc_tx(const struct session *s)
{
	return s->km ? secmem_alloc(s->km->tx) : sodium_malloc(sizeof(struct noise_transport));
}

/* Link keys, wiped and given back; NULL is fine. */
static void free_tx(const struct session *s, struct noise_transport **tp)
{
	if (!*tp)
		return;
	noise_transport_wipe(*tp);
	if (s->km)
		secmem_free(s->km->tx, *tp);
	else
		sodium_free(*tp);
	*tp = NULL;
}

void session_destroy(struct session **sp)
{
	struct session *s = sp ? *sp : NULL;
	if (!s)
		return;
	release_hs(s);
	free_hs(s, &s->rekey_hs);
	free_tx(s, &s->tx);
	free_tx(s, &s->tx_next);
	group_set_clear(&s->hello_groups);
	group_set_clear(&s->sent_groups);
	free(s->stall);   /* ciphertext only */
	free(s->rid_heap);
	if (s->rs) {
		reasm_free(s->rs);
		free(s->rs);
	}
	sodium_memzero(s->hash, sizeof s->hash);
	sodium_memzero(s->chain, sizeof s->chain);
	sodium_memzero(s->chain_next, sizeof s->chain_next);
	free(s);
	*sp = NULL;
}

enum mesh_err session_set_rid(struct session *s, const uint8_t *rid, size_t len)
{
	if (len == 0 || len > SESSION_MAX_RID)
		return MESH_EINVAL;
	uint8_t *to = s->rid_in;
	if (len > sizeof s->rid_in) {
		to = malloc(len);
		if (!to)
			return MESH_ENOMEM;
	}
	free(s->rid_heap);
	s->rid_heap = to == s->rid_in ? NULL : to;
	memcpy(to, rid, len);
	s->rid = to;
	s->rid_len = len;
	return MESH_OK;
}

/* --- handshake --- */

static enum mesh_err split(struct session *s)
{
	s->tx = alloc_tx(s);
	if (!s->tx)
		return MESH_ENOMEM;
	if (noise_hs_hash(s->hs, s->hash) != 0 || noise_hs_split(s->hs, s->tx) != 0 ||
	    noise_hs_remote_static(s->hs, s->peer_static) != 0)
		return MESH_EAUTH;
	/* the first rekey binds this handshake (protocol section 3.3) */
	memcpy(s->chain, s->hash, sizeof s->chain);
	release_hs(s);
	return MESH_OK;
}

/* Whether id is the key Noise authenticated and, for an initiator, the node it dialled. */
static bool id_is_peer(const struct session *s, const uint8_t id[WIRE_IDLEN])
{
	uint8_t rs[NOISE_DHLEN];
	bool ok = noise_hs_remote_static(s->hs, rs) == 0 && keys_id_matches_static(id, rs) == 0 &&
	          (s->role != NOISE_INITIATOR || s->expect_any ||
	           sodium_memcmp(id, s->expected_id, WIRE_IDLEN) == 0);
	sodium_memzero(rs, sizeof rs);
	return ok;
}

/* Copies a name and groups, checked by the decoder, into the session; on failure (memory)
 * the session names nobody. */
static enum mesh_err take_name(struct session *s, struct wire_str name,
                               const struct wire_str *groups, size_t ngroups)
{
	enum mesh_err rc = MESH_OK;
	group_set_clear(&s->hello_groups);
	for (size_t i = 0; i < ngroups && rc == MESH_OK; i++) {
		rc = group_set_add(&s->hello_groups, groups[i].p, groups[i].len);
		if (rc != MESH_OK && rc != MESH_ENOMEM)
			rc = MESH_EMALFORMED;
	}
	if (rc != MESH_OK) {
		group_set_clear(&s->hello_groups);
		return rc;
	}
	memcpy(s->peer_name, name.p, name.len);
	s->peer_name[name.len] = '\0';
	s->named = true;
	return MESH_OK;
}

/* Initiator: the responder's reply_payload, which names no more than its beacon does. */
static enum mesh_err accept_reply(struct session *s, const uint8_t *pl, size_t plen)
{
	struct wire_reply_payload r;
	enum mesh_err rc = wire_reply_payload_decode(pl, plen, &r);
	if (rc != MESH_OK)
		return rc;
	if (!id_is_peer(s, r.node_id))
		return MESH_EAUTH;
	memcpy(s->peer_id, r.node_id, WIRE_IDLEN);
	s->peer_incarnation = r.incarnation;
	s->peer_features = r.features;
	s->peer_ip = r.ip;
	s->peer_port = r.port;
	return MESH_OK;
}

/* Responder: the initiator's hello payload, and that its node ID is the key Noise
 * authenticated. */
static enum mesh_err accept_hello(struct session *s, const uint8_t *pl, size_t plen)
{
	/* 4 KiB of borrowed pointers: on the heap, not static, since several nodes may share a
	 * process, each on its own thread */
	struct wire_hello *h = malloc(sizeof *h);
	enum mesh_err rc;
	if (!h)
		return MESH_ENOMEM;
	rc = wire_hello_decode(pl, plen, h);
	if (rc != MESH_OK)
		goto done;
	rc = MESH_EAUTH;
	if (!id_is_peer(s, h->node_id))
		goto done;
	memcpy(s->peer_id, h->node_id, WIRE_IDLEN);
	s->peer_incarnation = h->incarnation;
	s->peer_features = h->features;
	s->peer_ip = h->ip;
	s->peer_port = h->port;
	rc = take_name(s, h->name, h->groups, h->ngroups);
done:
	free(h);
	return rc;
}

enum mesh_err session_write_hello(struct session *s, uint8_t *out, size_t cap, size_t *len)
{
	if (s->state != SESSION_NEW || s->role != NOISE_INITIATOR || !s->hs ||
	    !noise_hs_my_turn(s->hs))
		return MESH_ESTATE;
	/* -> e: the first message goes in the clear, so it carries nothing */
	if (noise_hs_write(s->hs, NULL, 0, out, cap, len) != 0)
		return MESH_EAUTH;
	s->state = SESSION_INIT_SENT_HELLO;
	return MESH_OK;
}

enum mesh_err session_on_hello(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen)
{
	uint8_t empty[1];
	size_t got = 0;
	if (s->state != SESSION_NEW || s->role != NOISE_RESPONDER || !s->hs)
		return MESH_ESTATE;
	/* -> e */
	if (noise_hs_read(s->hs, msg, len, empty, sizeof empty, &got) != 0)
		return MESH_EAUTH;
	if (got != 0)
		return MESH_EMALFORMED;
	/* <- e, ee, s, es */
	if (noise_hs_write(s->hs, payload, plen, out, cap, outlen) != 0)
		return MESH_EAUTH;
	s->state = SESSION_RESP_SENT_REPLY;
	return MESH_OK;
}

/* The peer's hello payload is never longer than the Noise message that carries it. On the
 * heap and only as large as that: a 64 KiB array on the stack would stay resident in the
 * loop thread's stack for good after the first handshake. */
static uint8_t *payload_buf(size_t msg_len)
{
	return malloc(msg_len ? msg_len : 1);
}

static void payload_free(uint8_t *pl, size_t got)
{
	if (pl) {
		sodium_memzero(pl, got);
		free(pl);
	}
}

enum mesh_err session_on_reply(struct session *s, const uint8_t *msg, size_t len,
                               const uint8_t *payload, size_t plen, uint8_t *out, size_t cap,
                               size_t *outlen)
{
	uint8_t *pl;
	size_t got = 0;
	enum mesh_err rc = MESH_EAUTH;
	if (s->state != SESSION_INIT_SENT_HELLO || !s->hs)
		return MESH_ESTATE;
	pl = payload_buf(len);
	if (!pl)
		return MESH_ENOMEM;
	/* <- e, ee, s, es */
	if (noise_hs_read(s->hs, msg, len, pl, len, &got) != 0)
		goto done;
	rc = accept_reply(s, pl, got);
	if (rc != MESH_OK)
		goto done;
	/* -> s, se (psk) */
	rc = MESH_EAUTH;
	if (noise_hs_write(s->hs, payload, plen, out, cap, outlen) != 0 || !noise_hs_done(s->hs))
		goto done;
	rc = split(s);
	if (rc == MESH_OK) {
		s->authenticated = true;
		s->state = SESSION_INIT_WAIT_ACCEPT;
	}
done:
	payload_free(pl, got);
	return rc;
}

enum mesh_err session_on_finish(struct session *s, const uint8_t *msg, size_t len)
{
	uint8_t *pl;
	size_t got = 0;
	enum mesh_err rc = MESH_EAUTH;
	if (s->state != SESSION_RESP_SENT_REPLY || !s->hs)
		return MESH_ESTATE;
	pl = payload_buf(len);
	if (!pl)
		return MESH_ENOMEM;
	/* -> s, se (psk) */
	if (noise_hs_read(s->hs, msg, len, pl, len, &got) != 0 || !noise_hs_done(s->hs))
		goto done;
	rc = accept_hello(s, pl, got);
	if (rc != MESH_OK)
		goto done;
	rc = split(s);
	if (rc == MESH_OK)
		s->authenticated = true;
done:
	payload_free(pl, got);
	return rc;
}

enum mesh_err session_on_accept(struct session *s, const uint8_t *pt, size_t len)
{
	/* 4 KiB of borrowed pointers: on the heap, as in accept_hello() */
	struct wire_accept *a;
	enum mesh_err rc;
	if (s->role != NOISE_INITIATOR || s->state != SESSION_INIT_WAIT_ACCEPT || s->named)
		return MESH_ESTATE;
	if (!(a = malloc(sizeof *a)))
		return MESH_ENOMEM;
	rc = wire_accept_decode(pt, len, a);
	if (rc == MESH_OK)
		rc = take_name(s, a->name, a->groups, a->ngroups);
	free(a);
	return rc;
}

enum mesh_err session_go_live(struct session *s, uint64_t now_ms)
{
	bool ready = s->role == NOISE_INITIATOR ? s->state == SESSION_INIT_WAIT_ACCEPT
	                                        : s->state == SESSION_RESP_SENT_REPLY;
	if (!ready || !s->authenticated || !s->named || !s->tx)
		return MESH_ESTATE;
	s->state = SESSION_LIVE;
	s->live_ms = s->keys_ms = now_ms;
	return MESH_OK;
}

/* --- transport --- */

void session_rtt_sample(struct session *s, uint64_t sent_ms, uint64_t now_ms)
{
	uint64_t r = now_ms >= sent_ms ? now_ms - sent_ms : 0;
	s->rtt_last_ms = r;
	s->rtt_srtt_ms8 = s->rtt_samples ? s->rtt_srtt_ms8 - s->rtt_srtt_ms8 / 8 + r : 8 * r;
	s->rtt_samples++;
}

static void sid_ad(uint32_t sid, uint8_t ad[SESSION_ID_LEN])
{
	ad[0] = (uint8_t)(sid >> 24);
	ad[1] = (uint8_t)(sid >> 16);
	ad[2] = (uint8_t)(sid >> 8);
	ad[3] = (uint8_t)sid;
}

/* The keys our sends use: the initiator moves to new keys as soon as it has them, the
 * responder once a frame under them has come (protocol section 3.3). */
static struct noise_transport *send_tx(const struct session *s)
{
	return s->tx_next && s->tx_next_sends ? s->tx_next : s->tx;
}

enum mesh_err session_seal(struct session *s, const uint8_t *pt, size_t ptlen, uint8_t *frame,
                           size_t cap, size_t *flen)
{
	/* the header first, then the ciphertext straight after it: no copy of the message */
	uint8_t ad[SESSION_ID_LEN];
	size_t hlen, ctlen;
	uint64_t counter, used;
	struct noise_transport *t = send_tx(s);
	*flen = 0;
	if (!t || s->remote_sid == 0)
		return MESH_ESTATE;
	if (ptlen + NOISE_TAGLEN > WIRE_MAX_NOISE)
		return MESH_ELIMIT;
	if (noise_transport_next_counter(t, &counter) != 0)
		return MESH_ESTATE;     /* counter exhausted: the engine closes the session */
	enum mesh_err rc = wire_data_header(s->remote_sid, counter, ptlen + NOISE_TAGLEN, frame,
	                                    cap, &hlen);
	if (rc != MESH_OK)
		return rc;
	if (cap - hlen < ptlen + NOISE_TAGLEN)
		return MESH_ELIMIT;
	sid_ad(s->remote_sid, ad);
	if (noise_transport_seal(t, ad, sizeof ad, pt, ptlen, frame + hlen, cap - hlen, &ctlen,
	                         &used) != 0 || used != counter)
		return MESH_ESTATE;
	*flen = hlen + ctlen;
	return MESH_OK;
}

size_t session_sealed_len(const struct session *s, size_t ptlen)
{
	uint8_t hdr[32];
	size_t hlen;
	uint64_t counter;
	const struct noise_transport *t = send_tx(s);
	if (!t || s->remote_sid == 0 || noise_transport_next_counter(t, &counter) != 0 ||
	    wire_data_header(s->remote_sid, counter, ptlen + NOISE_TAGLEN, hdr, sizeof hdr,
	                     &hlen) != MESH_OK)
		return 0;
	return hlen + ptlen + NOISE_TAGLEN;
}

/* tx_next becomes the current keys: the old ones are wiped, and no frame under them opens
 * again (the connection keeps order, so none can legitimately follow one under the new). */
static void promote(struct session *s, uint64_t now_ms)
{
	free_tx(s, &s->tx);
	s->tx = s->tx_next;
	s->tx_next = NULL;
	s->tx_next_sends = false;
	memcpy(s->chain, s->chain_next, sizeof s->chain);
	sodium_memzero(s->chain_next, sizeof s->chain_next);
	s->keys_ms = now_ms;
	s->rekeys_done++;
}

enum mesh_err session_open(struct session *s, const struct wire_frame *f, uint8_t *pt,
                           size_t cap, size_t *ptlen, uint64_t now_ms, struct session_rx *rx)
{
	uint8_t ad[SESSION_ID_LEN];
	memset(rx, 0, sizeof *rx);
	if (!s->tx)
		return MESH_ESTATE;
	sid_ad(s->sid, ad);
	const struct noise_transport *t = s->tx;
	bool old = t->recv_any && f->counter <= t->recv_last;
	/* the peer's first frame is counter 0: one after it, first, follows frames lost */
	bool gap = !old && f->counter != (t->recv_any ? t->recv_last + 1 : 0);
	if (!old && noise_transport_open(s->tx, f->counter, ad, sizeof ad, f->body, f->body_len, pt,
	                                 cap, ptlen) == 0) {
		rx->gap = gap;
		return MESH_OK;
	}
	/* the peer's first frames under new keys start again at counter 0 */
	if (s->tx_next && noise_transport_open(s->tx_next, f->counter, ad, sizeof ad, f->body,
	                                       f->body_len, pt, cap, ptlen) == 0) {
		rx->gap = f->counter != 0;
		rx->promoted = true;
		promote(s, now_ms);
		return MESH_OK;
	}
	rx->old = old;
	return MESH_EAUTH;
}

/* --- rekeying (protocol section 3.3) --- */

#define REKEY_PROLOGUE_LEN (sizeof SESSION_REKEY_TAG - 1 + NOISE_HASHLEN + 8)

/* A fresh KK state for attempt n: SESSION_REKEY_TAG || chain || n (big-endian). */
static struct noise_hs *rekey_hs_new(const struct session *s, uint64_t n,
                                     const uint8_t s_priv[NOISE_DHLEN], const uint8_t *s_pub)
{
	uint8_t pro[REKEY_PROLOGUE_LEN];
	struct noise_hs *hs = NULL;
	size_t tl = sizeof SESSION_REKEY_TAG - 1;
	memcpy(pro, SESSION_REKEY_TAG, tl);
	memcpy(pro + tl, s->chain, NOISE_HASHLEN);
	for (size_t i = 0; i < 8; i++)
		pro[tl + NOISE_HASHLEN + i] = (uint8_t)(n >> (56 - 8 * i));
	if (s->km) {
		void *mem = secmem_alloc(s->km->hs);
		if (mem) {
			hs = noise_hs_init(mem, noise_hs_size(), PROTO_KK, s->role, pro, sizeof pro,
			                   s_priv, s_pub, s->peer_static, NULL);
			if (!hs)
				secmem_free(s->km->hs, mem);
		}
	} else {
		hs = noise_hs_new(PROTO_KK, s->role, pro, sizeof pro, s_priv, s->peer_static, NULL);
	}
	sodium_memzero(pro, sizeof pro);
	return hs;
}

/* Split of a completed exchange into tx_next, and its h kept for the chain. */
static enum mesh_err rekey_split(struct session *s, struct noise_hs *hs)
{
	uint8_t h[NOISE_HASHLEN];
	enum mesh_err rc = MESH_EAUTH;
	struct noise_transport *t = alloc_tx(s);
	if (!t)
		return MESH_ENOMEM;
	if (noise_hs_hash(hs, h) != 0 || noise_hs_split(hs, t) != 0) {
		free_tx(s, &t);
		goto done;
	}
	free_tx(s, &s->tx_next);
	s->tx_next = t;
	memcpy(s->chain_next, h, sizeof h);
	rc = MESH_OK;
done:
	sodium_memzero(h, sizeof h);
	return rc;
}

bool session_rekey_waiting(const struct session *s)
{
	return s->rekey_waiting;
}

enum mesh_err session_rekey_start(struct session *s, const uint8_t s_priv[NOISE_DHLEN],
                                  const uint8_t *s_pub, uint64_t now_ms,
                                  uint8_t out[WIRE_REKEY_NOISE], uint64_t *n)
{
	size_t len = 0;
	if (s->state != SESSION_LIVE || s->role != NOISE_INITIATOR || !s->tx || s->tx_next ||
	    s->rekey_n == UINT64_MAX)
		return MESH_ESTATE;
	/* every attempt is a fresh exchange: the one in flight, if any, is given up */
	free_hs(s, &s->rekey_hs);
	s->rekey_waiting = false;
	s->rekey_hs = rekey_hs_new(s, s->rekey_n + 1, s_priv, s_pub);
	if (!s->rekey_hs)
		return MESH_ENOMEM;
	/* -> e, es, ss */
	if (noise_hs_write(s->rekey_hs, NULL, 0, out, WIRE_REKEY_NOISE, &len) != 0 ||
	    len != WIRE_REKEY_NOISE) {
		free_hs(s, &s->rekey_hs);
		return MESH_EAUTH;
	}
	*n = ++s->rekey_n;
	s->rekey_sent_ms = now_ms;
	s->rekey_waiting = true;
	return MESH_OK;
}

enum mesh_err session_on_rekey(struct session *s, uint64_t n, const uint8_t msg[WIRE_REKEY_NOISE],
                               const uint8_t s_priv[NOISE_DHLEN], const uint8_t *s_pub,
                               uint8_t out[WIRE_REKEY_NOISE])
{
	uint8_t empty[1];
	size_t got = 0, len = 0;
	enum mesh_err rc = MESH_EAUTH;
	if (s->state != SESSION_LIVE || s->role != NOISE_RESPONDER || !s->tx || n <= s->rekey_n)
		return MESH_ESTATE;
	struct noise_hs *hs = rekey_hs_new(s, n, s_priv, s_pub);
	if (!hs)
		return MESH_ENOMEM;
	/* -> e, es, ss */
	if (noise_hs_read(hs, msg, WIRE_REKEY_NOISE, empty, sizeof empty, &got) != 0 || got != 0)
		goto done;
	/* <- e, ee, se */
	if (noise_hs_write(hs, NULL, 0, out, WIRE_REKEY_NOISE, &len) != 0 ||
	    len != WIRE_REKEY_NOISE || !noise_hs_done(hs))
		goto done;
	/* keys of an earlier REKEY whose REPLY was lost are replaced: the initiator never used
	 * them, since it uses new keys only after a REPLY */
	rc = rekey_split(s, hs);
	if (rc == MESH_OK)
		s->rekey_n = n;
done:
	free_hs(s, &hs);
	return rc;
}

enum mesh_err session_on_rekey_reply(struct session *s, uint64_t n,
                                     const uint8_t msg[WIRE_REKEY_NOISE])
{
	uint8_t empty[1];
	size_t got = 0;
	enum mesh_err rc = MESH_EAUTH;
	if (s->state != SESSION_LIVE || s->role != NOISE_INITIATOR || !s->rekey_waiting ||
	    !s->rekey_hs || n != s->rekey_n)
		return MESH_ESTATE;
	/* <- e, ee, se */
	if (noise_hs_read(s->rekey_hs, msg, WIRE_REKEY_NOISE, empty, sizeof empty, &got) == 0 &&
	    got == 0 && noise_hs_done(s->rekey_hs))
		rc = rekey_split(s, s->rekey_hs);
	/* done either way: a failed attempt stays "waiting" until it is retried */
	free_hs(s, &s->rekey_hs);
	if (rc == MESH_OK) {
		s->rekey_waiting = false;
		s->tx_next_sends = true;
	}
	return rc;
}
