/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_engine: one whole protocol engine (mesh/mesh.h) on outside input, with no socket and
 * no real clock. Its transport is this file's: a link_ops and an mcast_ops in memory (as in
 * tests/mesh/beaconrig.c) behind which the harness plays the other nodes. Three fixed
 * identities take part: P0 (an ID above the engine's: the engine dials it), P1 (below: it dials
 * the engine) and P2, the engine's own identity in another process (a copied identity file).
 * The harness ends speak the real protocol, with real Noise sessions (session.h), so fuzzed
 * bytes reach every layer: beacons, frames to known and unknown sessions, handshakes with
 * odd hellos, and DATA on live sessions, sealed correctly around fuzzed plaintext or around
 * messages built from fuzzed fields.
 *
 * The first byte sets the engine up (closed mesh, manual acknowledgement, receipts, a peer it
 * may not link with, a group, a link with P0 made at once); then each record is an operation:
 *
 *   0 raw frame on an incoming connection     6 a message from fields, sealed on a link
 *   1 raw frame on a connection it dialled    7 a DATA counter skipped (a lost frame)
 *   2 raw datagram to discovery               8 time passes (the timers run)
 *   3 a genuine beacon of one identity        9 the application (join, leave, shout, whisper,
 *   4 a handshake from one identity, with        take, bye, relink, a full receive buffer)
 *     its hello from fields (its endpoint    10 the last frame of a link again (a replay)
 *     its own or 127.0.0.1) or raw bytes
 *   5 raw plaintext sealed on a live link     11 PEERS (peer exchange) on a live link: signed
 *                                                beacons of fresh identities and of P0-P2 at
 *                                                any address, stale, forged, or garbage
 *
 * Beyond no crash, leak or undefined behaviour (and no socket: nosocket.c):
 * - every frame the engine sends decodes, and on a link the harness holds keys for it opens
 *   (in order, none lost) to a message wire_msg_decode accepts with a known type;
 * - messages are delivered once each and in increasing msg_id order per sender's run;
 * - each message of ours is answered (DELIVERED or DROPPED) at most once per peer;
 * - handshakes in progress and sessions stay within the engine's limits;
 * - it never dials a loopback address nor its own (no node here is on its host);
 * - every entry of a PEERS the engine sends is a beacon whose signature checks, of neither
 *   the engine's ID nor the receiving end's (it passes on only what its node signed).
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "beaconmaker.h"
#include "discovery.h"
#include "fuzz_input.h"
#include "fuzz_rng.h"
#include "keys.h"
#include "link.h"
#include "mcast.h"
#include "mesh.h"
#include "mesh_impl.h"
#include "session.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_engine: %s:%d: %s\n", __FILE__,      \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

#define NPEERS 3                 /* P0 above the engine's ID, P1 below, P2 its own */
#define NFRESH 8                 /* identities that only PEERS entries name */
#define MAXLINKS 16
#define MAXQ 64
#define MAXDGRAMS 16
#define WALL0 1800000000000ull
#define PORT0 7000               /* P k listens at 10.0.0.(10 + k):(PORT0 + k) */
#define OUR_PORT 6999
#define MAX_OPS 96

enum {
	S_PSK = 1, S_MANUAL_ACK = 2, S_RECEIPTS = 4, S_NO_ACK = 8, S_DENY_P1 = 16,
	S_IN_GROUP = 32, S_LINK_P0 = 64, S_SHORT_TIMERS = 128,
};

/* what session_open() saw: these harnesses check the result alone */
static struct session_rx rx_ignored;

static const uint8_t mesh_key[MESH_KEYLEN] = { 'f', 'u', 'z', 'z', '-', 'm', 'e', 's', 'h' };
static struct keys_identity *engine_id, *peer_id[NPEERS], *fresh_id[NFRESH];

/* ------------------------------------------------------------------ the harness's ends */

/* The harness's end of one connection with the engine. */
struct hlink {
	bool used, dead;
	int peer;                    /* whose keys this end holds, -1 for nobody (nothing answers) */
	bool dialled;                /* the engine dialled it: frames go by its sid, else by rid */
	uint32_t e_sid;              /* the engine's session ID (dialled, or learned from REPLY) */
	uint8_t rid[4];
	struct session *s;           /* our end; NULL when nobody answers */
	bool live;
	bool refuse;                 /* answer the engine's FINISH with REJECT */
	uint64_t next_msg_id;
	uint8_t *last;               /* the last frame we sent on it */
	size_t last_len;
};

struct qframe {
	struct link_route route;
	uint8_t rid[8];
	char addr[20];
	uint8_t *data;
	size_t len;
};

static struct {
	struct mesh *m;
	uint8_t setup;
	uint64_t now;
	struct link_sink sink;
	struct hlink link[MAXLINKS];
	unsigned nrid;
	struct qframe q[MAXQ];
	size_t qhead, qn;
	struct {
		uint8_t data[WIRE_MAX_BEACON + 8];
		size_t len;
		struct ipaddr src;
	} dg[MAXDGRAMS];
	size_t dgn;
	uint64_t inc[NPEERS];        /* each identity's current run */
	uint8_t groups[NPEERS];      /* which of the group names its hello lists (a bit each) */
	bool full;                   /* can_take says no */
	bool hello_loopback;         /* hellos claim 127.0.0.1 (where they do not come from) */
	bool relinking;              /* in mesh_test_relink */
	/* payload for the next handshake answer, if not the honest hello */
	uint8_t *fake_hello;
	size_t fake_hello_len;
	/* delivery order: per identity, its run, the last msg_id delivered from it and when */
	struct {
		bool any;
		uint64_t inc, last, at;
	} rx[NPEERS];
	/* answers to our own messages: (identity, msg_id) pairs answered */
	struct {
		uint8_t id[WIRE_IDLEN];
		uint64_t msg_id;
	} answered[256];
	size_t nanswered;
	/* the last message the application got, for mesh_taken */
	uint8_t took_from[WIRE_IDLEN];
	uint64_t took_inc, took_id;
	size_t took_len;
	bool took_any;
	uint8_t frame_buf[WIRE_MAX_FRAME + 64];
	size_t frame_buf_len;
	unsigned events[MESH_EV_COUNT];
} t;

static const char *const group_names[] = { "chat", "news", "\xc3\xa9t\xc3\xa9" };
#define NGROUPS (sizeof group_names / sizeof group_names[0])

static uint8_t scratch[WIRE_MAX_NOISE], scratch2[WIRE_MAX_NOISE], fbuf[WIRE_MAX_FRAME + 64];
static uint8_t ptbuf[WIRE_MAX_NOISE];

static void queue_frame(const struct link_route *to, const char *addr, const uint8_t *p,
                        size_t n)
{
	if (t.qn == MAXQ)
		return;
	struct qframe *q = &t.q[(t.qhead + t.qn) % MAXQ];
	q->data = malloc(n ? n : 1);
	REQUIRE(q->data != NULL);
	memcpy(q->data, p, n);
	q->len = n;
	q->route = *to;
	if (to->rid_len) {
		q->route.rid_len = to->rid_len < sizeof q->rid ? to->rid_len : sizeof q->rid;
		memcpy(q->rid, to->rid, q->route.rid_len);
		q->route.rid = q->rid;
	}
	snprintf(q->addr, sizeof q->addr, "%s", addr);
	t.qn++;
}

static void route_of(const struct hlink *l, struct link_route *r)
{
	memset(r, 0, sizeof *r);
	if (l->dialled) {
		r->sid = l->e_sid;
	} else {
		r->rid = l->rid;
		r->rid_len = sizeof l->rid;
	}
}

static const char *addr_of(int peer)
{
	static const char *const a[] = { "10.0.0.10", "10.0.0.11", "10.0.0.12" };
	return peer >= 0 && peer < NPEERS ? a[peer] : "10.0.0.99";
}

/* Sends a frame to the engine on l's connection, and keeps it for a replay. */
static void send_on(struct hlink *l, const uint8_t *p, size_t n)
{
	struct link_route r;
	route_of(l, &r);
	queue_frame(&r, addr_of(l->peer), p, n);
	uint8_t *keep = malloc(n ? n : 1);     /* p may be l->last itself (a replay) */
	REQUIRE(keep != NULL);
	memcpy(keep, p, n);
	free(l->last);
	l->last = keep;
	l->last_len = n;
}

static void send_frame_on(struct hlink *l, const struct wire_frame *f)
{
	size_t n;
	REQUIRE(wire_frame_encode(f, fbuf, sizeof fbuf, &n) == MESH_OK);
	send_on(l, fbuf, n);
}

/* Seals pt on l and sends it; false if l cannot seal. */
static bool seal_on(struct hlink *l, const uint8_t *pt, size_t n, bool drop)
{
	size_t flen;
	if (!l->s || !l->s->tx || l->dead)
		return false;
	if (session_seal(l->s, pt, n, fbuf, sizeof fbuf, &flen) != MESH_OK)
		return false;
	if (!drop)
		send_on(l, fbuf, flen);
	return true;
}

static bool seal_msg(struct hlink *l, const struct wire_msg *msg)
{
	size_t n;
	if (wire_msg_encode(msg, ptbuf, sizeof ptbuf, &n) != MESH_OK)
		return false;
	return seal_on(l, ptbuf, n, false);
}

/* The next message payload, if the input set one (a fake hello in place of the real one):
 * into out, at most cap bytes, once. */
static bool take_fake_hello(uint8_t *out, size_t cap, size_t *n)
{
	if (!t.fake_hello)
		return false;
	*n = t.fake_hello_len < cap ? t.fake_hello_len : cap;
	memcpy(out, t.fake_hello, *n);
	free(t.fake_hello);
	t.fake_hello = NULL;
	return true;
}

/* The reply_payload identity k sends in message 2 when the engine dials it: its ID, run,
 * features and where it listens (raw bytes instead, if the input gave some). */
static size_t reply_of(int k, uint8_t *out, size_t cap)
{
	struct wire_reply_payload r = { .incarnation = t.inc[k],
	                                .features = t.setup & S_NO_ACK ? 0
	                                            : WIRE_FEATURE_ACK | WIRE_FEATURE_PEERS,
	                                .ip = IPADDR_V4(10, 0, 0, (uint8_t)(10 + k)),
	                                .port = (uint16_t)(PORT0 + k) };
	size_t n = 0;
	if (take_fake_hello(out, cap, &n))
		return n;
	memcpy(r.node_id, peer_id[k]->id, WIRE_IDLEN);
	REQUIRE(wire_reply_payload_encode(&r, out, cap, &n) == MESH_OK);
	return n;
}

/* The ACCEPT identity k sends once the engine's message 3 checked out: its name and groups. */
static size_t accept_of(int k, uint8_t *out, size_t cap)
{
	static struct wire_accept a;
	size_t n = 0;
	memset(&a, 0, sizeof a);
	a.name.p = k == 0 ? "p0" : k == 1 ? "p1" : "p2";
	a.name.len = 2;
	for (size_t g = 0; g < NGROUPS; g++)
		if (t.groups[k] & (1u << g)) {
			a.groups[a.ngroups].p = group_names[g];
			a.groups[a.ngroups++].len = strlen(group_names[g]);
		}
	REQUIRE(wire_accept_encode(&a, out, cap, &n) == MESH_OK);
	return n;
}

/* The hello payload identity k sends in message 3: its run, its groups, where it listens. */
static size_t hello_of(int k, uint8_t *out, size_t cap)
{
	static struct wire_hello h;
	size_t n = 0;
	if (take_fake_hello(out, cap, &n))
		return n;
	memset(&h, 0, sizeof h);
	memcpy(h.node_id, peer_id[k]->id, WIRE_IDLEN);
	h.name.p = k == 0 ? "p0" : k == 1 ? "p1" : "p2";
	h.name.len = 2;
	h.incarnation = t.inc[k];
	h.features = t.setup & S_NO_ACK ? 0 : WIRE_FEATURE_ACK | WIRE_FEATURE_PEERS;
	for (size_t g = 0; g < NGROUPS; g++)
		if (t.groups[k] & (1u << g)) {
			h.groups[h.ngroups].p = group_names[g];
			h.groups[h.ngroups++].len = strlen(group_names[g]);
		}
	h.ip = t.hello_loopback ? IPADDR_V4(127, 0, 0, 1) : IPADDR_V4(10, 0, 0, (uint8_t)(10 + k));
	h.port = (uint16_t)(PORT0 + k);
	REQUIRE(wire_hello_encode(&h, out, cap, &n) == MESH_OK);
	return n;
}

static void free_link(struct hlink *l)
{
	session_destroy(&l->s);
	free(l->last);
	memset(l, 0, sizeof *l);
}

/* A free entry, or the first dead one (the engine may still name it: it is then nobody's). */
static struct hlink *new_link(void)
{
	struct hlink *l = NULL;
	for (size_t i = 0; i < MAXLINKS && !l; i++)
		if (!t.link[i].used)
			l = &t.link[i];
	for (size_t i = 0; i < MAXLINKS && !l; i++)
		if (t.link[i].dead)
			l = &t.link[i];
	if (!l)
		return NULL;
	free_link(l);
	l->used = true;
	l->peer = -1;
	l->next_msg_id = 1;
	return l;
}

static struct session *new_session(int k, enum noise_role role)
{
	struct mesh *m = t.m;
	struct session *s = session_new(role, m->prologue, m->prologue_len, peer_id[k]->x_sk,
	                                peer_id[k]->x_pk, m->psk, NULL, t.now);
	REQUIRE(s != NULL);
	return s;
}

/* Identity k starts a handshake with the engine on a new incoming connection. */
static void connect_from(int k)
{
	struct hlink *l = new_link();
	size_t n;
	if (!l)
		return;
	l->peer = k;
	l->s = new_session(k, NOISE_INITIATOR);
	l->s->sid = 0x1000 + t.nrid;
	memcpy(l->s->expected_id, engine_id->id, WIRE_IDLEN);   /* whom it dials */
	memcpy(l->rid, &t.nrid, sizeof l->rid);
	t.nrid++;
	REQUIRE(session_write_hello(l->s, scratch, sizeof scratch, &n) == MESH_OK);
	struct wire_frame f = { .type = WIRE_HELLO, .tx_sid = l->s->sid, .body = scratch,
	                        .body_len = n };
	send_frame_on(l, &f);
}

static struct hlink *link_by_route(const struct link_route *to)
{
	for (size_t i = 0; i < MAXLINKS; i++) {
		struct hlink *l = &t.link[i];
		if (!l->used)
			continue;
		if (to->sid ? l->dialled && l->e_sid == to->sid
		            : !l->dialled && to->rid_len == sizeof l->rid &&
		                      memcmp(to->rid, l->rid, sizeof l->rid) == 0)
			return l;
	}
	return NULL;
}

/* A DATA frame from the engine on a link we hold keys for: it must open, in order, and carry
 * a well-formed message. */
static void on_engine_data(struct hlink *l, const struct wire_frame *f)
{
	size_t n;
	struct wire_msg msg;
	REQUIRE(l->s->tx != NULL);
	REQUIRE(session_open(l->s, f, ptbuf, sizeof ptbuf, &n, 1000, &rx_ignored) == MESH_OK);
	REQUIRE(wire_msg_decode(ptbuf, n, &msg) == MESH_OK);
	REQUIRE(msg.type >= WIRE_ACCEPT && msg.type <= WIRE_PEERS);
	switch (msg.type) {
	case WIRE_PEERS:
		/* only what its node signed, to a live end, never our own or the end's own beacon */
		REQUIRE(l->live || l->s->role == NOISE_RESPONDER);
		for (size_t i = 0; i < msg.npeers; i++) {
			struct wire_beacon_body b;
			bool skipped;
			REQUIRE(discovery_check_signed(msg.peers[i].p, msg.peers[i].len, &b, &skipped,
			                               NULL, NULL, NULL) == MESH_OK);
			REQUIRE(memcmp(b.node_id, engine_id->id, WIRE_IDLEN) != 0);
			REQUIRE(memcmp(b.node_id, peer_id[l->peer]->id, WIRE_IDLEN) != 0);
		}
		break;
	case WIRE_ACCEPT:
		/* only now, our message 3 checked, does the engine name itself and its groups */
		REQUIRE(l->s->role == NOISE_INITIATOR && !l->s->named);
		REQUIRE(session_on_accept(l->s, ptbuf, n) == MESH_OK);
		REQUIRE(strcmp(l->s->peer_name, "engine") == 0);
		REQUIRE(session_go_live(l->s, 1000) == MESH_OK);
		l->live = true;
		break;
	case WIRE_REJECT:
		REQUIRE(l->s->role == NOISE_INITIATOR && !l->live);
		l->dead = true;
		break;
	case WIRE_BYE:
		l->dead = true;
		break;
	default:
		REQUIRE(l->live || l->s->role == NOISE_RESPONDER);
		break;
	}
}

/* Everything the engine sends comes here. */
static void on_engine_frame(const struct link_route *to, const uint8_t *p, size_t n)
{
	struct wire_frame f;
	size_t len;
	REQUIRE(wire_frame_decode(p, n, &f) == MESH_OK);
	struct hlink *l = link_by_route(to);
	if (!l || l->dead || l->peer < 0)
		return;                          /* nobody there, or a connection of raw frames */
	switch (f.type) {
	case WIRE_HELLO:                         /* the engine dialled us */
		REQUIRE(l->dialled && !l->s && f.tx_sid == to->sid);
		l->s = new_session(l->peer, NOISE_RESPONDER);
		l->s->sid = 0x2000 + (uint32_t)(l - t.link);
		l->s->remote_sid = f.tx_sid;
		len = reply_of(l->peer, scratch2, sizeof scratch2);
		if (session_on_hello(l->s, f.body, f.body_len, scratch2, len, scratch, sizeof scratch,
		                     &len) != MESH_OK) {
			l->dead = true;
			break;
		}
		struct wire_frame r = { .type = WIRE_REPLY, .rx_sid = f.tx_sid, .tx_sid = l->s->sid,
		                        .body = scratch, .body_len = len };
		send_frame_on(l, &r);
		break;
	case WIRE_REPLY:                         /* the engine answered our HELLO */
		REQUIRE(!l->dialled && l->s && l->s->role == NOISE_INITIATOR);
		REQUIRE(f.rx_sid == l->s->sid);
		if (l->s->state != SESSION_INIT_SENT_HELLO)
			break;                       /* it answered a replay of our HELLO too */
		l->e_sid = f.tx_sid;
		l->s->remote_sid = f.tx_sid;
		len = hello_of(l->peer, scratch2, sizeof scratch2);
		if (session_on_reply(l->s, f.body, f.body_len, scratch2, len, scratch, sizeof scratch,
		                     &len) != MESH_OK) {
			l->dead = true;              /* its payload was not the one we expected */
			break;
		}
		REQUIRE(!l->s->named);               /* message 2 names nobody */
		struct wire_frame fin = { .type = WIRE_FINISH, .rx_sid = f.tx_sid, .body = scratch,
		                          .body_len = len };
		send_frame_on(l, &fin);
		break;
	case WIRE_FINISH:                        /* the engine finished the handshake it began */
		REQUIRE(l->dialled && l->s && l->s->role == NOISE_RESPONDER);
		if (session_on_finish(l->s, f.body, f.body_len) != MESH_OK) {
			l->dead = true;
			break;
		}
		if (l->refuse) {
			struct wire_msg rej = { .type = WIRE_REJECT, .reason = 2 };
			REQUIRE(seal_msg(l, &rej));
		} else {
			len = accept_of(l->peer, scratch2, sizeof scratch2);
			REQUIRE(seal_on(l, scratch2, len, false));
		}
		if (l->refuse) {
			l->dead = true;
		} else {
			REQUIRE(session_go_live(l->s, 1000) == MESH_OK);
			l->live = true;
		}
		break;
	case WIRE_DATA:
		if (l->s && l->s->tx)
			on_engine_data(l, &f);
		break;
	}
}

/* ------------------------------------------------------------------ the engine's transport */

static void *fm_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                     size_t errcap)
{
	(void)cfg;
	(void)err;
	(void)errcap;
	*ifaddr = IPADDR_V4(10, 0, 0, 1);
	return &t;
}

static void fm_close(void *p)
{
	(void)p;
}

static int fm_fd(const void *p)
{
	(void)p;
	return -1;
}

static enum mesh_err fm_send(void *p, const uint8_t *d, size_t len)
{
	struct wire_beacon b;
	(void)p;
	REQUIRE(len <= WIRE_MAX_BEACON && wire_beacon_decode(d, len, &b) == MESH_OK);
	REQUIRE(b.sealed == ((t.setup & S_PSK) != 0));
	return MESH_OK;
}

static enum mesh_err fm_recv(void *p, uint8_t *buf, size_t cap, bool *got, size_t *len,
                             struct ipaddr *from)
{
	(void)p;
	*got = t.dgn > 0;
	*len = 0;
	if (!t.dgn)
		return MESH_OK;
	size_t n = t.dg[0].len;
	*len = n > cap ? cap + 1 : n;
	memcpy(buf, t.dg[0].data, n > cap ? cap : n);
	*from = t.dg[0].src;
	memmove(&t.dg[0], &t.dg[1], --t.dgn * sizeof t.dg[0]);
	return MESH_OK;
}

static uint64_t fm_wall(void *p)
{
	(void)p;
	return WALL0 + t.now;
}

static const struct mcast_ops engine_mcast = {
	.open = fm_open, .close = fm_close, .fd = fm_fd, .send = fm_send, .recv = fm_recv,
	.wall_ms = fm_wall,
};

static void *fl_open(const struct link_config *cfg, uint16_t *port, char *err, size_t errcap)
{
	(void)err;
	(void)errcap;
	t.sink = cfg->sink;
	*port = OUR_PORT;
	return &t;
}

static void fl_close(void *l)
{
	(void)l;
}

static const char *fl_endpoint(const void *l)
{
	(void)l;
	return "fuzz://10.0.0.1:6999";
}

static enum mesh_err fl_dial(void *lp, uint32_t sid, const struct ipaddr *ip, uint16_t port)
{
	(void)lp;
	REQUIRE(sid != 0 && !link_by_route(&(struct link_route){ .sid = sid }));
	/* no node here is on the engine's host: a loopback address or its own (10.0.0.1) names
	 * that host, which no beacon and no PEERS entry may make it dial (protocol section 2),
	 * whatever a peer's hello claims (mesh_test_relink, a benchmark's hook, dials whatever
	 * the peer said) */
	REQUIRE((!ipaddr_is_loopback(ip) && !ipaddr_eq(ip, &IPADDR_V4(10, 0, 0, 1))) || t.relinking);
	struct hlink *l = new_link();
	if (!l)
		return MESH_EIO;
	l->dialled = true;
	l->e_sid = sid;
	const uint8_t *v4 = ipaddr_v4_bytes(ip);
	for (int k = 0; k < NPEERS; k++)
		if (port == PORT0 + k && ipaddr_is_v4(ip) && v4[0] == 10 && v4[3] == 10 + k)
			l->peer = k;
	return MESH_OK;
}

static void fl_hangup(void *lp, uint32_t sid)
{
	(void)lp;
	struct hlink *l = link_by_route(&(struct link_route){ .sid = sid });
	if (l)
		free_link(l);
}

static enum mesh_err fl_send(void *lp, const struct link_route *to, const uint8_t *f, size_t n)
{
	(void)lp;
	on_engine_frame(to, f, n);
	return MESH_OK;
}

static uint8_t *fl_frame_buf(void *lp, size_t len)
{
	(void)lp;
	if (len > sizeof t.frame_buf)
		return NULL;
	t.frame_buf_len = len;
	return t.frame_buf;
}

static enum mesh_err fl_send_buf(void *lp, const struct link_route *to)
{
	return fl_send(lp, to, t.frame_buf, t.frame_buf_len);
}

static void fl_linger(void *lp, int ms)
{
	(void)lp;
	(void)ms;
}

static size_t fl_pollitems(void *lp, zmq_pollitem_t *items, size_t cap)
{
	(void)lp;
	(void)items;
	(void)cap;
	return 0;
}

/* The frames the harness queued for the engine; what it sends back is queued behind them. */
static void fl_on_ready(void *lp, const zmq_pollitem_t *items, size_t n)
{
	(void)lp;
	(void)items;
	(void)n;
	for (int k = 0; k < 4 * MAXQ && t.qn; k++) {
		struct qframe q = t.q[t.qhead];
		t.qhead = (t.qhead + 1) % MAXQ;
		t.qn--;
		t.sink.frame(t.sink.arg, &q.route, q.addr, q.data, q.len);
		free(q.data);
	}
}

static size_t fl_dialled(const void *lp)
{
	(void)lp;
	size_t n = 0;
	for (size_t i = 0; i < MAXLINKS; i++)
		n += t.link[i].used && t.link[i].dialled;
	return n;
}

static const struct link_ops engine_link = {
	.open = fl_open, .close = fl_close, .endpoint = fl_endpoint, .dial = fl_dial,
	.hangup = fl_hangup, .send = fl_send, .frame_buf = fl_frame_buf, .send_buf = fl_send_buf,
	.linger = fl_linger, .pollitems = fl_pollitems, .on_ready = fl_on_ready,
	.dialled = fl_dialled,
};

/* ------------------------------------------------------------------ beacons */

static void queue_dgram(const uint8_t *p, size_t n, const struct ipaddr *src)
{
	if (t.dgn == MAXDGRAMS)
		return;
	if (n > sizeof t.dg[0].data)
		n = sizeof t.dg[0].data;
	memcpy(t.dg[t.dgn].data, p, n);
	t.dg[t.dgn].len = n;
	t.dg[t.dgn].src = *src;
	t.dgn++;
}

/* A beacon identity k really sends: from its address or elsewhere, at a port, of a run, with
 * a clock off by skew_ms; with one bit of it flipped if forged. */
static void genuine_beacon(int k, bool elsewhere, uint16_t port, uint64_t inc, int64_t skew_ms,
                           bool forged)
{
	const struct ipaddr ip = IPADDR_V4(10, 0, 0, (uint8_t)(10 + k));
	const struct ipaddr elsewhere_ip = IPADDR_V4(10, 9, 9, 9);
	uint8_t beacon_key[32];
	uint8_t d[WIRE_MAX_BEACON + 8];
	if (t.setup & S_PSK)
		crypto_generichash(beacon_key, sizeof beacon_key, (const uint8_t *)"meshnode beacon v1",
		                   18, mesh_key, MESH_KEYLEN);
	size_t n = beaconmaker_make(peer_id[k], elsewhere ? &elsewhere_ip : &ip,
	                            port, inc, WALL0 + t.now + (uint64_t)skew_ms,
	                            t.setup & S_PSK ? beacon_key : NULL, d, sizeof d);
	REQUIRE(n > 0);
	if (forged)
		d[n - 1] ^= 1;
	queue_dgram(d, n, &ip);
}

/* ------------------------------------------------------------------ the engine's callbacks */

static void on_event(void *arg, const struct mesh_event *ev)
{
	(void)arg;
	REQUIRE(ev->type >= MESH_EV_ENTER && ev->type < MESH_EV_COUNT);
	t.events[ev->type]++;
	if (ev->type == MESH_EV_SHOUT || ev->type == MESH_EV_WHISPER) {
		REQUIRE(ev->peer && ev->len <= MESH_MAX_PAYLOAD && ev->data != NULL);
		REQUIRE((ev->type == MESH_EV_SHOUT) == (ev->group != NULL));
		int k = 0;
		while (k < NPEERS && memcmp(peer_id[k]->id, ev->peer->id, WIRE_IDLEN) != 0)
			k++;
		REQUIRE(k < NPEERS - 1);     /* from P0 or P1: never from our own ID */
		/* once only, in order, within one run of the sender while the engine remembers it
		 * (a run is never resumed, so a new one starts afresh) */
		if (t.rx[k].any && t.rx[k].inc == ev->peer->incarnation &&
		    t.now - t.rx[k].at <= MESH_RX_MEMORY_MS)
			REQUIRE(ev->msg_id > t.rx[k].last);
		t.rx[k].any = true;
		t.rx[k].inc = ev->peer->incarnation;
		t.rx[k].last = ev->msg_id;
		t.rx[k].at = t.now;
		memcpy(t.took_from, ev->peer->id, WIRE_IDLEN);
		t.took_inc = ev->peer->incarnation;
		t.took_id = ev->msg_id;
		t.took_len = ev->len;
		t.took_any = true;
		free(ev->data);
	} else if (ev->type == MESH_EV_DELIVERED || ev->type == MESH_EV_DROPPED) {
		REQUIRE(ev->peer != NULL);
		for (size_t i = 0; i < t.nanswered; i++)
			REQUIRE(t.answered[i].msg_id != ev->msg_id ||
			        memcmp(t.answered[i].id, ev->peer->id, WIRE_IDLEN) != 0);
		if (t.nanswered < sizeof t.answered / sizeof t.answered[0]) {
			memcpy(t.answered[t.nanswered].id, ev->peer->id, WIRE_IDLEN);
			t.answered[t.nanswered++].msg_id = ev->msg_id;
		}
	}
}

static bool can_take(void *arg, size_t len)
{
	(void)arg;
	(void)len;
	return !t.full;
}

static bool can_resume(void *arg)
{
	(void)arg;
	return !t.full;
}

static bool may_link(void *arg, const uint8_t id[WIRE_IDLEN])
{
	(void)arg;
	return memcmp(id, peer_id[1]->id, WIRE_IDLEN) != 0;
}

static int debug = -1;           /* FUZZ_ENGINE_DEBUG set: tell what each input did */

static void on_log(void *arg, int level, const char *line)
{
	(void)arg;
	REQUIRE(line != NULL);
	if (debug > 0)
		fprintf(stderr, "  engine log %d: %s\n", level, line);
}

/* The trace: every record well formed, and a DROP for each count of dropped input (checked
 * at the end of each input, trace_check). */
#define DROP_NAME(c) #c,
static const char *const drop_names[] = { MESH_STATS_DROPS(DROP_NAME) };
#define NDROPS (sizeof drop_names / sizeof drop_names[0])
static uint64_t trace_drops[NDROPS];
static uint8_t trace_sink;

static void on_trace(void *arg, const struct mesh_trace *tr)
{
	(void)arg;
	REQUIRE(tr->kind <= MESH_TRACE_DECISION);
	REQUIRE(tr->kind == MESH_TRACE_DROP ? tr->reason != NULL : tr->what != NULL);
	if (tr->addr)
		REQUIRE(strlen(tr->addr) < 64);
	for (size_t i = 0; tr->peer && i < WIRE_IDLEN; i++)
		trace_sink ^= tr->peer[i];   /* readable (ASan) */
	if (tr->kind == MESH_TRACE_DROP) {
		size_t i = 0;
		while (i < NDROPS && strcmp(tr->reason, drop_names[i]) != 0)
			i++;
		REQUIRE(i < NDROPS);
		trace_drops[i]++;
	}
}

static void trace_check(void)
{
	struct mesh_stats st;
	uint64_t live;
	mesh_get_stats(t.m, &st, &live);
#define DROP_COUNT(c) st.c,
	const uint64_t counts[] = { MESH_STATS_DROPS(DROP_COUNT) };
	for (size_t i = 0; i < NDROPS; i++) {
		if (counts[i] != trace_drops[i])
			fprintf(stderr, "fuzz_engine: %s counted %llu, traced %llu\n", drop_names[i],
			        (unsigned long long)counts[i], (unsigned long long)trace_drops[i]);
		REQUIRE(counts[i] == trace_drops[i]);
	}
}

/* ------------------------------------------------------------------ driving the engine */

static uint64_t next_tick;

static void settle(void)
{
	for (int k = 0; k < 8 && (t.qn || t.dgn); k++)
		mesh_on_ready(t.m, NULL, 0, t.now);
	/* frames left over (a ping-pong) wait for the next turn; what the input made due
	 * brings the tick forward, as the loop asks before it sleeps */
	if (mesh_next_due(t.m) < next_tick)
		next_tick = mesh_next_due(t.m);
	if (t.now >= next_tick)
		next_tick = mesh_on_tick(t.m, t.now);
}

static void advance(uint64_t ms)
{
	uint64_t until = t.now + ms;
	for (int k = 0; k < 400 && next_tick <= until; k++) {
		if (next_tick > t.now)
			t.now = next_tick;
		next_tick = mesh_on_tick(t.m, t.now);
		settle();
	}
	t.now = until;
	settle();
}

static void check_limits(void)
{
	size_t all, dialled;
	mesh_test_sessions(t.m, &all, &dialled);
	REQUIRE(t.m->hs_in <= MESH_MAX_HANDSHAKES_IN && t.m->hs_out <= MESH_MAX_HANDSHAKES_OUT);
	/* the dials counted per address are exactly those in progress (protocol section 4,
	 * "Dial slots"): a count that leaked would shut its address out for good */
	size_t counted, in_progress;
	mesh_test_dials_to(t.m, NULL, &counted, &in_progress);
	REQUIRE(counted == in_progress && counted <= t.m->hs_out);
	REQUIRE(all <= MESH_MAX_SESSIONS && dialled <= all);
	REQUIRE(mesh_test_peer_entries(t.m) <= MESH_MAX_PEERS);
}

/* A link that can carry DATA, picked by b among those that can. */
static struct hlink *pick_link(uint8_t b)
{
	size_t n = 0;
	struct hlink *can[MAXLINKS];
	for (size_t i = 0; i < MAXLINKS; i++)
		if (t.link[i].used && !t.link[i].dead && t.link[i].s && t.link[i].s->tx)
			can[n++] = &t.link[i];
	return n ? can[b % n] : NULL;
}

static void count_live(const struct mesh_peer_info *info, void *arg)
{
	REQUIRE(info->peer && info->local_sid != 0);
	(*(uint64_t *)arg)++;
}

static void op_app(struct in *c)
{
	uint8_t what = in_u8(c), arg = in_u8(c);
	const char *g = group_names[arg % NGROUPS];
	int k = arg % NPEERS;
	size_t len = arg & 0x80 ? (size_t)(arg & 0x7f) * 9000 : (size_t)(arg & 0x7f);
	uint64_t id;
	char sas[KEYS_SAS_LEN];
	static uint8_t payload[128 * 9000];

	memset(payload, arg, len);
	switch (what % 10) {
	case 0: (void)mesh_join(t.m, g, t.now); break;
	case 1: (void)mesh_leave(t.m, g, t.now); break;
	case 2: (void)mesh_shout(t.m, g, payload, len, t.now, &id); break;
	case 3: (void)mesh_whisper(t.m, peer_id[k]->id, payload, len, t.now, &id); break;
	case 4:
		if (t.took_any)
			mesh_taken(t.m, t.took_from, t.took_inc, t.took_id, t.took_len, t.now);
		break;
	case 5: mesh_say_bye(t.m, t.now); break;
	case 6: t.full = !t.full; break;
	case 7:
		t.relinking = true;
		(void)mesh_test_relink(t.m, peer_id[k]->id, t.now);
		t.relinking = false;
		break;
	case 8:
		if (mesh_sas(t.m, peer_id[k]->id, sas) == MESH_OK)
			REQUIRE(strlen(sas) > 0);
		break;
	default: {
		struct mesh_stats st;
		uint64_t live, n = 0;
		mesh_get_stats(t.m, &st, &live);
		mesh_each_live_peer(t.m, count_live, &n);
		REQUIRE(live == n && live < NPEERS);     /* never a link with our own ID */
		REQUIRE(mesh_groups(t.m)->n <= NGROUPS);
		if (arg & 1)
			t.sink.malformed(t.sink.arg);    /* a message of several parts */
		break;
	}
	}
}

static void op_msg(struct in *c)
{
	struct hlink *l = pick_link(in_u8(c));
	uint8_t type = in_u8(c), gsel = in_u8(c), idsel = in_u8(c), idx = in_u8(c),
	        cnt = in_u8(c), dlen = in_u8(c), incsel = in_u8(c);
	struct wire_msg msg;
	static uint8_t data[WIRE_MAX_FRAGMENT];
	memset(&msg, 0, sizeof msg);
	msg.type = type % 13;
	msg.reason = type >> 4;
	msg.group.p = group_names[gsel % NGROUPS];
	msg.group.len = strlen(msg.group.p);
	/* a msg_id in sequence, the same again, a jump, or one of ours */
	if (!l)
		return;
	switch (idsel % 4) {
	case 0: msg.msg_id = l->next_msg_id++; break;
	case 1: msg.msg_id = l->next_msg_id > 1 ? l->next_msg_id - 1 : 1; break;
	case 2: msg.msg_id = l->next_msg_id += idsel >> 2; break;
	default: msg.msg_id = t.m->last_msg_id - (idsel >> 2); break;
	}
	msg.index = idx % 20;
	msg.count = cnt % 20;
	msg.data = data;
	msg.data_len = dlen & 0x80 ? WIRE_MAX_FRAGMENT - (dlen & 0x7f) : dlen;
	memset(data, dlen, msg.data_len);
	msg.incarnation = incsel & 1 ? mesh_incarnation(t.m) : incsel;
	(void)seal_msg(l, &msg);
}

/* The signed beacon (section 2's `signed`) of id at ip:port, run inc, clock wall: into out. */
static size_t signed_beacon(const struct keys_identity *id, const struct ipaddr *ip, uint16_t port,
                            uint64_t inc, uint64_t wall, uint8_t out[WIRE_MAX_SIGNED])
{
	uint8_t d[WIRE_MAX_BEACON + 8];
	struct wire_beacon wb;
	size_t n = beaconmaker_make(id, ip, port, inc, wall, NULL, d, sizeof d);
	REQUIRE(n > 0 && wire_beacon_decode(d, n, &wb) == MESH_OK);
	REQUIRE(wb.blob_len <= WIRE_MAX_SIGNED);
	memcpy(out, wb.blob, wb.blob_len);
	return wb.blob_len;
}

/* PEERS on a live link: 1 to 8 entries, each a kind and an argument byte. */
static void op_peers(struct in *c)
{
	const struct ipaddr ips[8] = {
		IPADDR_V4(10, 0, 0, 20), IPADDR_V4(10, 0, 0, 21), IPADDR_V4(10, 9, 9, 9),
		IPADDR_V4(127, 0, 0, 1), IPADDR_V4(224, 0, 0, 1), IPADDR_V4(0, 0, 0, 0),
		IPADDR_V4(255, 255, 255, 255), IPADDR_V4(10, 0, 0, 1),
	};
	static uint8_t e[WIRE_PEERS_MAX][WIRE_MAX_SIGNED];
	struct hlink *l = pick_link(in_u8(c));
	uint8_t count = in_u8(c);
	struct wire_msg msg = { .type = WIRE_PEERS, .npeers = 1 + count % WIRE_PEERS_MAX };
	for (size_t i = 0; i < msg.npeers; i++) {
		uint8_t kind = in_u8(c), a = in_u8(c);
		const struct ipaddr *ip = &ips[a % 8];
		/* port 1, not 0: a beacon of port 0 cannot be signed */
		uint16_t port = a & 0x40 ? 1 : (uint16_t)(PORT0 + 20 + (a >> 3 & 7));
		uint64_t wall = WALL0 + t.now + (kind & 0x80 ? 0 : 1u + i);
		const uint8_t *p;
		size_t n;
		switch (kind % 6) {
		case 0:                          /* a fresh identity */
		case 1:                          /* ... forged */
		case 2:                          /* ... stale: an older clock */
			n = signed_beacon(fresh_id[(kind >> 3) % NFRESH], ip, port, 1 + (kind >> 6),
			                  kind % 6 == 2 ? WALL0 - 1000 : wall, e[i]);
			if (kind % 6 == 1)
				e[i][n - 1 - (a % 8)] ^= 1;
			break;
		case 3: {                        /* P0 to P2 (P2: our own ID), this run or another */
			int k = (kind >> 3) % NPEERS;
			const struct ipaddr own = IPADDR_V4(10, 0, 0, (uint8_t)(10 + k));
			n = signed_beacon(peer_id[k], a & 0x80 ? ip : &own, a & 0x80 ? port
			                  : (uint16_t)(PORT0 + k), t.inc[k] + (kind >> 6), wall, e[i]);
			break;
		}
		case 4:                          /* garbage */
			p = in_chunk(c, &n);
			n = n > WIRE_MAX_SIGNED ? WIRE_MAX_SIGNED : n;
			if (n == 0)
				e[i][n++] = a;
			else
				memcpy(e[i], p, n);
			break;
		default:                         /* the entry before again, or a fresh one */
			if (i > 0) {
				n = msg.peers[i - 1].len;
				memcpy(e[i], e[i - 1], n);
			} else {
				n = signed_beacon(fresh_id[a % NFRESH], ip, port, 1, wall, e[i]);
			}
			break;
		}
		msg.peers[i] = (struct wire_bin){ e[i], n };
	}
	if (l)
		(void)seal_msg(l, &msg);
}

static void run_op(struct in *c)
{
	uint8_t op = in_u8(c), b;
	const uint8_t *p;
	size_t n;
	struct hlink *l;
	switch (op % 12) {
	case 0:                                  /* raw frame on an incoming connection */
		b = in_u8(c);
		p = in_chunk(c, &n);
		{
			uint8_t rid[4] = { 'r', 'a', 'w', (uint8_t)(b & 3) };
			struct link_route r = { .rid = rid, .rid_len = b & 4 ? 0 : sizeof rid };
			/* or on a connection the harness uses */
			struct hlink *on = pick_link(b >> 3);
			if ((b & 8) && on && !on->dialled)
				route_of(on, &r);
			queue_frame(&r, b & 16 ? "127.0.0.1" : addr_of(b % NPEERS), p, n);
		}
		break;
	case 1:                                  /* raw frame on a dialled connection */
		b = in_u8(c);
		p = in_chunk(c, &n);
		{
			struct link_route r = { .sid = (uint32_t)(b | 1) };
			for (size_t i = 0; i < MAXLINKS; i++)
				if (t.link[(b + i) % MAXLINKS].used && t.link[(b + i) % MAXLINKS].dialled) {
					r.sid = t.link[(b + i) % MAXLINKS].e_sid;
					break;
				}
			queue_frame(&r, "?", p, n);
		}
		break;
	case 2:                                  /* raw datagram */
		b = in_u8(c);
		p = in_chunk(c, &n);
		queue_dgram(p, n, &IPADDR_V4(10, 0, 0, b));
		break;
	case 3: {                                /* a genuine beacon */
		uint8_t who = in_u8(c), how = in_u8(c), skew = in_u8(c);
		int k = who % NPEERS;
		if (how & 1)
			t.inc[k] = t.inc[k] + 1 + (how >> 4);       /* a new run */
		uint16_t port = how & 2 ? (uint16_t)(PORT0 + 10 + (how >> 4)) : (uint16_t)(PORT0 + k);
		genuine_beacon(k, how & 4, port, how & 8 && k == 2 ? mesh_incarnation(t.m) : t.inc[k],
		               (int64_t)(int8_t)skew * 100, (who & 0x80) != 0);
		break;
	}
	case 4: {                                /* a handshake from an identity */
		uint8_t who = in_u8(c), how = in_u8(c);
		int k = who % NPEERS;
		if (how & 1)
			t.inc[k] = t.inc[k] + 1;
		t.groups[k] = (uint8_t)(how >> 4);
		t.hello_loopback = how & 8;
		if (how & 2) {                   /* its hello is raw bytes */
			p = in_chunk(c, &n);
			free(t.fake_hello);
			t.fake_hello = malloc(n ? n : 1);
			REQUIRE(t.fake_hello != NULL);
			memcpy(t.fake_hello, p, n);
			t.fake_hello_len = n;
		}
		connect_from(k);
		if (how & 4) {                   /* and answers the engine's next dial with REJECT */
			for (size_t i = 0; i < MAXLINKS; i++)
				if (t.link[i].used && t.link[i].dialled)
					t.link[i].refuse = true;
		}
		break;
	}
	case 5:                                  /* raw plaintext on a link */
		l = pick_link(in_u8(c));
		p = in_chunk(c, &n);
		if (l)
			(void)seal_on(l, p, n, false);
		break;
	case 6:
		op_msg(c);
		break;
	case 7:                                  /* a lost DATA frame */
		l = pick_link(in_u8(c));
		if (l)
			(void)seal_on(l, (const uint8_t *)"\x91\x03", 2, true);
		break;
	case 8:                                  /* time passes */
		b = in_u8(c);
		advance(b < 200 ? b : (uint64_t)(b - 199) * 1000);
		break;
	case 9:
		op_app(c);
		break;
	case 11:
		op_peers(c);
		break;
	default:                                 /* a replay */
		l = pick_link(in_u8(c));
		if (l && l->last)
			send_on(l, l->last, l->last_len);
		break;
	}
}

static void init_ids(void)
{
	uint8_t seed[KEYS_SEEDLEN];
	memset(seed, 0x42, sizeof seed);
	/* the engine's ID in the middle of the space, so that both sides are easy to find */
	for (uint8_t s = 0; !engine_id || engine_id->id[0] < 0x40 || engine_id->id[0] >= 0xc0; s++) {
		keys_identity_destroy(&engine_id);
		seed[0] = s;
		engine_id = keys_identity_from_seed(seed);
		REQUIRE(engine_id != NULL);
	}
	for (int k = 0; k < 2; k++) {
		for (uint8_t s = 0;; s++) {
			memset(seed, 0x50 + k, sizeof seed);
			seed[0] = s;
			peer_id[k] = keys_identity_from_seed(seed);
			REQUIRE(peer_id[k] != NULL);
			if ((memcmp(peer_id[k]->id, engine_id->id, WIRE_IDLEN) > 0) == (k == 0))
				break;
			keys_identity_destroy(&peer_id[k]);
		}
	}
	keys_identity_seed(engine_id, seed);
	peer_id[2] = keys_identity_from_seed(seed);
	REQUIRE(peer_id[2] != NULL);
	for (int k = 0; k < NFRESH; k++) {
		memset(seed, 0x60 + k, sizeof seed);
		fresh_id[k] = keys_identity_from_seed(seed);
		REQUIRE(fresh_id[k] != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in c = { data, size };
	char err[256];

	fuzz_rng_seed(7);
	if (!engine_id)
		init_ids();
	if (debug < 0)
		debug = getenv("FUZZ_ENGINE_DEBUG") != NULL;
	memset(&t, 0, sizeof t);
	t.setup = in_u8(&c);
	for (int k = 0; k < NPEERS; k++) {
		t.inc[k] = 100 + (uint64_t)k;
		t.groups[k] = 1;
	}
	bool short_timers = t.setup & S_SHORT_TIMERS;
	struct mesh_config cfg = {
		.id = engine_id, .name = "engine", .beacon_interval_ms = 1000,
		.heartbeat_ms = short_timers ? 200 : 1000, .evasive_ms = short_timers ? 500 : 3000,
		.expired_ms = short_timers ? 1000 : 10000, .handshake_timeout_ms = 2000,
		.fallback_ms = 3000, .queue_msgs = 16, .queue_bytes = 1 << 20, .ttl_ms = 10000,
		.mesh_key = t.setup & S_PSK ? mesh_key : NULL,
		.receipts = t.setup & S_RECEIPTS, .manual_ack = t.setup & S_MANUAL_ACK,
		.can_take = can_take, .can_resume = can_resume,
		.may_link = t.setup & S_DENY_P1 ? may_link : NULL,
		.link_ops = &engine_link, .mcast_ops = &engine_mcast,
		.log_level = 3, .log = on_log, .event = on_event, .trace = on_trace,
	};
	memset(trace_drops, 0, sizeof trace_drops);
	t.m = mesh_new(&cfg, 0, err, sizeof err);
	REQUIRE(t.m != NULL);
	next_tick = mesh_on_tick(t.m, 0);
	if (t.setup & S_IN_GROUP)
		REQUIRE(mesh_join(t.m, "chat", 0) == MESH_OK);
	if (t.setup & S_LINK_P0) {
		connect_from(0);
		settle();
	}
	for (int ops = 0; c.left > 0 && ops < MAX_OPS; ops++) {
		run_op(&c);
		settle();
		check_limits();
	}
	advance(50);
	if (debug > 0) {                     /* what an input made the engine do */
		struct mesh_stats st;
		uint64_t live;
		mesh_get_stats(t.m, &st, &live);
		fprintf(stderr, "fuzz_engine: %zu bytes: live %llu, handshakes %llu done %llu "
		        "failed, beacons %llu checked, frames %llu bad %llu unknown, msgs %llu bad "
		        "%llu dup, PEERS entries %llu in %llu taken %llu out, %zu peers, now %llu ms; "
		        "events", size, (unsigned long long)live,
		        (unsigned long long)st.handshakes_done,
		        (unsigned long long)st.handshakes_failed,
		        (unsigned long long)st.beacons_verified, (unsigned long long)st.frames_bad,
		        (unsigned long long)st.frames_unknown_sid, (unsigned long long)st.msgs_bad,
		        (unsigned long long)st.msgs_dup, (unsigned long long)st.pex_rx,
		        (unsigned long long)st.pex_taken, (unsigned long long)st.pex_tx,
		        mesh_test_peer_entries(t.m),
		        (unsigned long long)t.now);
		for (int k = MESH_EV_ENTER; k < MESH_EV_COUNT; k++)
			fprintf(stderr, " %u", t.events[k]);
		fprintf(stderr, "\n");
	}
	trace_check();
	mesh_say_bye(t.m, t.now);
	mesh_destroy(&t.m);
	for (size_t i = 0; i < MAXLINKS; i++)
		if (t.link[i].used)
			free_link(&t.link[i]);
	while (t.qn) {
		free(t.q[t.qhead].data);
		t.qhead = (t.qhead + 1) % MAXQ;
		t.qn--;
	}
	free(t.fake_hello);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	/* (op, arguments...) after the setup byte; see run_op */
#define SEED(s) { sizeof s - 1, s }
	static const struct {
		size_t len;
		const char *bytes;
	} seeds[] = {
		/* P0 beacons: the engine dials it; then messages both ways */
		SEED("\x20" "\x03\x00\x00\x00" "\x08\x32" "\x09\x02\x05" "\x09\x03\x10"
		      "\x06\x00\x07\x00\x00\x00\x01\x05\x00" "\x08\xc8" "\x08\x32"),
		/* P1 dials the engine (it is the lower ID), shouts in three fragments */
		SEED("\x20" "\x04\x01\x10" "\x08\x0a" "\x06\x00\x07\x00\x00\x00\x03\x90\x00"
		      "\x06\x00\x07\x00\x01\x01\x03\x90\x00" "\x06\x00\x07\x00\x01\x02\x03\x10\x00"),
		/* a closed mesh with manual acks: link, whisper, take, ack */
		SEED("\x43" "\x06\x00\x08\x00\x00\x00\x01\x08\x00" "\x09\x04\x00" "\x08\x32"
		      "\x06\x00\x09\x00\x03\x00\x00\x00\x01" "\x08\x05"),
		/* a lost frame, a replay, a RESEND and a MARK */
		SEED("\x60" "\x06\x00\x07\x00\x00\x00\x01\x05\x00" "\x07\x00"
		      "\x06\x00\x07\x00\x00\x00\x01\x05\x00" "\x0a\x00" "\x08\x64"
		      "\x06\x00\x0b\x00\x01\x00\x00\x00\x00"),
		/* raw frames and datagrams */
		SEED("\x00" "\x00\x00\x00\x06\x94\x01\x00\x01\xc4\x00" "\x01\x00\x00\x04\x93\x04\x01\x01"
		      "\x02\x05\x00\x04\x93\xa1\x61\x01"),
		/* our own identity elsewhere: beacon and handshake (the alarms) */
		SEED("\x00" "\x03\x02\x09\x00" "\x08\x64" "\x04\x02\x00"),
		/* both peers linked, messages, acks and a restart of P0, time running out */
		SEED("\x25" "\x03\x00\x00\x00" "\x04\x01\x30" "\x08\x32" "\x09\x00\x01"
		       "\x09\x02\x81" "\x09\x03\x04" "\x06\x00\x07\x01\x00\x00\x02\x90\x00"
		       "\x06\x00\x07\x01\x01\x01\x02\x10\x00" "\x06\x01\x08\x00\x00\x00\x01\x20\x00"
		       "\x08\x32" "\x06\x00\x09\x00\x00\x00\x00\x00\x01" "\x09\x06\x00"
		       "\x06\x01\x08\x00\x00\x00\x01\x20\x00" "\x08\xd0" "\x09\x06\x00" "\x08\xd0"
		       "\x03\x00\x01\x00" "\x08\xff" "\x09\x09\x01" "\x08\xe0"),
		/* a hello of raw bytes, a refusal, a restart, time passing */
		SEED("\x40" "\x04\x00\x02\x00\x08\x92\xc4\x01\x00\xa1\x78\x01\x00" "\x04\x00\x01"
		      "\x08\xff" "\x03\x00\x01\x00" "\x08\xff"),
		/* P1 links and passes on eight entries: fresh identities, a forged and a stale one,
		 * P0's, garbage, a repeat */
		SEED("\x20" "\x04\x01\x10" "\x08\x0a"
		      "\x0b\x00\x07" "\x00\x00" "\x18\x01" "\x30\x07" "\x01\x00" "\x02\x00"
		      "\x03\x00" "\x04\x00\x00\x03\x92\xc4\x01" "\x0b\x00" "\x08\x32" "\x08\xc8"),
		/* P1 dials from 10.0.0.11 with a hello that claims 127.0.0.1, and passes on a fresh
		 * identity at 127.0.0.1: never dialled (a loopback entry needs a peer that is one) */
		SEED("\x20" "\x04\x01\x08" "\x08\x0a"
		      "\x0b\x00\x07" "\x00\x03" "\x18\x03" "\x30\x03" "\x48\x03" "\x60\x03"
		      "\x78\x03" "\x90\x03" "\xa8\x03" "\x08\x32" "\x08\xc8"),
		/* P1 passes on fresh identities at the engine's own address: never dialled */
		SEED("\x20" "\x04\x01\x10" "\x08\x0a"
		      "\x0b\x00\x07" "\x00\x07" "\x18\x07" "\x30\x07" "\x48\x07" "\x60\x07"
		      "\x78\x07" "\x90\x07" "\xa8\x07" "\x08\x32" "\x08\xc8"),
		/* P0 beacons and is dialled, P1 dials: the engine passes P0's beacon to P1 */
		SEED("\x20" "\x03\x00\x00\x00" "\x08\x32" "\x04\x01\x10" "\x08\x32" "\x08\xc8"
		      "\x08\xff"),
	};
#undef SEED
	if (i >= sizeof seeds / sizeof seeds[0] || cap < seeds[i].len)
		return 0;
	memcpy(buf, seeds[i].bytes, seeds[i].len);
	return seeds[i].len;
}
