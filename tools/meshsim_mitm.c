/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_mitm: the attack scenario's attacker on the path (meshsim_attackers.h says how
 * attackers are run). For as long as it runs, every TCP connection between two nodes of the
 * namespace goes through it:
 *
 *   - an nft table of its own (MITM_TABLE) rewrites the destination of every new TCP
 *     connection from 127.0.0.1 to 127.0.0.1 (DNAT in the output hook) to its ROUTER on
 *     127.0.0.2, and resets (reject with tcp reset) every packet still going from 127.0.0.1
 *     to 127.0.0.1, so that the links already up break at their next heartbeat and ZeroMQ
 *     dials again, through it;
 *   - for each connection it learns where it was going (SO_ORIGINAL_DST on the descriptor
 *     its first frame came in on, ZMQ_SRCFD) and then either
 *       swaps keys: the first connection to each destination, and one in MITM_SWAP_ONE_IN of
 *       the others, is answered by the attacker itself with a REPLY under its own static key,
 *       whose payload claims the dialled node's ID (or, for a node meshsim did not name, the
 *       attacker's own), as an active key-swapping MITM would;
 *       or relays it through a DEALER of its own (from 127.0.0.2, so that the DNAT rule
 *       leaves it alone), tampering with the DATA frames it carries, both ways: a bit
 *       flipped in the ciphertext, the counter changed, the frame dropped, an earlier frame
 *       replayed, two frames swapped; handshake frames pass untouched.
 *
 * It checks what it can see: any FINISH on a swapped connection means an initiator went on
 * with the wrong key past message 2, and a run of the meshsim payload's filler (consecutive letters) in
 * any frame means plaintext on the wire. Either is a breach (MESHSIM_ATK_BREACH). A run that
 * carried no DATA frame either way, or swapped no handshake, proves nothing and fails.
 *
 * Invariants:
 * - The table is in meshsim's private namespace and is deleted when the attacker ends
 *   (meshsim_mitm_cleanup(), which meshsim calls again after reaping it, in case it was
 *   killed).
 * - At most MITM_MAX_CONNS connections are tracked; a connection the initiator closes (the
 *   ROUTER's monitor says so) is forgotten and its DEALER closed.
 */
#include "meshsim_attackers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zmq.h>

#include "keys.h"
#include "meshsim_net.h"
#include "monoclock.h"
#include "session.h"
#include "wire.h"

#define MITM_TABLE "meshsim_mitm"
#define MITM_ADDR "127.0.0.2"
#define MITM_MAX_CONNS 1024
#define MITM_SWAP_ONE_IN 6        /* connections whose HELLO it answers itself, 1 in N */
#define MITM_HOLD_MS 50           /* a frame held back to be swapped goes out by then */
#define MITM_KEEP_EVERY 8         /* every Nth frame is kept for a later replay */
#define MITM_FILLER_RUN 12        /* consecutive letters that only plaintext would show */
#define MITM_MONITOR "inproc://meshsim-mitm-monitor"

/* per mille of the DATA frames relayed, cumulative */
#define P_FLIP 20
#define P_DROP 40
#define P_REPLAY 60
#define P_SWAP 75
#define P_COUNTER 85

/* the prologue of an open mesh (protocol section 3.1): version tag, protocol, zero mesh_id */
#define MITM_PROLOGUE_TAG "meshnode/2 "
_Static_assert(WIRE_VERSION == 2, "MITM_PROLOGUE_TAG names the protocol version");
#define MITM_PROTO "Noise_XX_25519_ChaChaPoly_BLAKE2b"

struct held {
	uint8_t *p;
	size_t n;
	uint64_t due_ms;
};

struct mconn {
	bool used;
	uint8_t rid[256];
	size_t rid_len;
	int fd;                      /* the initiator's connection (ZMQ_SRCFD) */
	uint16_t dport;              /* where it was going */
	void *up;                    /* our DEALER to the destination; NULL while swapped */
	bool swapped;                /* its HELLO was answered by us: nothing goes through */
	struct session *swap;        /* our own responder session, until its FINISH */
	struct held hold[2];         /* [0] towards the responder, [1] towards the initiator */
	uint8_t *old[2];             /* a frame relayed earlier, for a replay */
	size_t oldn[2];
	unsigned relayed[2];
};

struct mitm {
	const struct meshsim_attack_target *t;
	uint64_t rng;
	void *ctx, *router, *monitor;
	struct keys_identity *id;
	uint8_t prologue[128];
	size_t plen;
	struct mconn *c;
	size_t nc;
	bool *dest_seen;             /* [port]: its first connection was swapped */
	uint8_t *buf, *pt;
	/* what it did */
	long conns, conns_refused, data[2], other, flips, drops, replays, reorders, counters;
	long keyswaps, keyswap_claimed_real, breaches, finishes_checked, plaintext;
};

static uint64_t rnd(struct mitm *m)
{
	/* splitmix64: the choices only have to be unpredictable to the nodes */
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---------- the namespace's routes through us ---------- */

void meshsim_mitm_cleanup(void)
{
	char err[256];
	/* absent once the attacker deleted it itself: that failure is the normal case */
	(void)meshsim_net_run((const char *const[]){ "nft", "delete", "table", "ip", MITM_TABLE,
	                                             NULL }, NULL, 0, err, sizeof err);
}

static int divert(uint16_t port, char *err, size_t errcap)
{
	char rules[1024];
	snprintf(rules, sizeof rules,
	         "add table ip " MITM_TABLE "; "
	         "add chain ip " MITM_TABLE " nat { type nat hook output priority -100; }; "
	         "add rule ip " MITM_TABLE " nat ip saddr 127.0.0.1 ip daddr 127.0.0.1 "
	         "meta l4proto tcp dnat to " MITM_ADDR ":%u; "
	         "add chain ip " MITM_TABLE " cut { type filter hook output priority 0; }; "
	         "add rule ip " MITM_TABLE " cut ip saddr 127.0.0.1 ip daddr 127.0.0.1 "
	         "meta l4proto tcp reject with tcp reset", port);
	return meshsim_net_run((const char *const[]){ "nft", rules, NULL }, NULL, 0, err, errcap);
}

/* ---------- connections ---------- */

static struct mconn *conn_find(struct mitm *m, const uint8_t *rid, size_t len)
{
	for (size_t i = 0; i < m->nc; i++)
		if (m->c[i].used && m->c[i].rid_len == len && memcmp(m->c[i].rid, rid, len) == 0)
			return &m->c[i];
	return NULL;
}

static void conn_free(struct mconn *c)
{
	if (c->up)
		zmq_close(c->up);
	session_destroy(&c->swap);
	for (int d = 0; d < 2; d++) {
		free(c->hold[d].p);
		free(c->old[d]);
	}
	memset(c, 0, sizeof *c);
}

/* The connection a frame from rid came in on (fd), new if need be; NULL if none can be. */
static struct mconn *conn_of(struct mitm *m, const uint8_t *rid, size_t len, int fd)
{
	struct mconn *c = conn_find(m, rid, len);
	if (c)
		return c;
	struct sockaddr_in dst;
	socklen_t dl = sizeof dst;
	if (fd < 0 || len > sizeof c->rid ||
	    getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &dl) != 0 ||
	    ntohl(dst.sin_addr.s_addr) != INADDR_LOOPBACK) {
		m->conns_refused++;
		return NULL;
	}
	for (size_t i = 0; i < m->nc && !c; i++)
		if (!m->c[i].used)
			c = &m->c[i];
	if (!c) {
		if (m->nc == MITM_MAX_CONNS) {
			m->conns_refused++;
			return NULL;
		}
		c = &m->c[m->nc++];
	}
	c->used = true;
	memcpy(c->rid, rid, len);
	c->rid_len = len;
	c->fd = fd;
	c->dport = ntohs(dst.sin_port);
	m->conns++;
	return c;
}

/* Our DEALER to where c was going, from MITM_ADDR so that the DNAT rule leaves it alone. */
static int conn_up(struct mitm *m, struct mconn *c)
{
	char ep[96];
	int zero = 0, never = -1;
	int64_t maxmsg = WIRE_MAX_FRAME;
	c->up = zmq_socket(m->ctx, ZMQ_DEALER);
	if (!c->up)
		return -1;
	zmq_setsockopt(c->up, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(c->up, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	/* a TCP proxy does not dial again: a broken connection stays broken, as the node's
	 * own would */
	zmq_setsockopt(c->up, ZMQ_RECONNECT_IVL, &never, sizeof never);
	snprintf(ep, sizeof ep, "tcp://" MITM_ADDR ":0;127.0.0.1:%u", c->dport);
	if (zmq_connect(c->up, ep) != 0) {
		zmq_close(c->up);
		c->up = NULL;
		return -1;
	}
	return 0;
}

static void send_to(struct mitm *m, struct mconn *c, int dir, const uint8_t *p, size_t n)
{
	if (dir == 0) {
		if (c->up)
			(void)zmq_send(c->up, p, n, ZMQ_DONTWAIT);
		return;
	}
	if (zmq_send(m->router, c->rid, c->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
		(void)zmq_send(m->router, p, n, ZMQ_DONTWAIT);
}

/* ---------- what it sees ---------- */

/* A run of MITM_FILLER_RUN letters, each the one after the last (meshsim's payload filler). */
static bool has_filler(const uint8_t *p, size_t n)
{
	size_t run = 1;
	for (size_t i = 1; i < n; i++) {
		bool next = p[i - 1] >= 'a' && p[i - 1] <= 'z' && p[i] >= 'a' && p[i] <= 'z' &&
		            p[i] == (p[i - 1] == 'z' ? 'a' : p[i - 1] + 1);
		run = next ? run + 1 : 1;
		if (run >= MITM_FILLER_RUN)
			return true;
	}
	return false;
}

/* ---------- the key swap ---------- */

static void swap_hello(struct mitm *m, struct mconn *c, const struct wire_frame *f)
{
	uint8_t payload[128], noise[256], out[300];
	size_t plen, nlen, flen;
	struct wire_reply_payload r;
	memset(&r, 0, sizeof r);
	/* claim the node that was dialled (its ID, under our key), or else be ourselves (our
	 * ID, not the one dialled): each initiator must refuse both */
	memcpy(r.node_id, m->id->id, WIRE_IDLEN);
	for (int k = 0; k < m->t->nnodes; k++)
		if (m->t->nodes[k].port == c->dport) {
			memcpy(r.node_id, m->t->nodes[k].id, WIRE_IDLEN);
			m->keyswap_claimed_real++;
			break;
		}
	r.incarnation = 1 + (rnd(m) >> 1);
	r.features = WIRE_FEATURE_ACK | WIRE_FEATURE_REKEY;
	(void)ipaddr_parse("127.0.0.1", &r.ip);
	r.port = c->dport;
	c->swap = session_new(NOISE_RESPONDER, m->prologue, m->plen, m->id->x_sk, m->id->x_pk,
	                      NULL, NULL, monoclock_ms());
	if (!c->swap)
		return;
	c->swap->sid = (uint32_t)rnd(m) | 1u;
	c->swap->remote_sid = f->tx_sid;
	if (wire_reply_payload_encode(&r, payload, sizeof payload, &plen) != MESH_OK ||
	    session_on_hello(c->swap, f->body, f->body_len, payload, plen, noise, sizeof noise,
	                     &nlen) != MESH_OK)
		return;
	struct wire_frame o = { .type = WIRE_REPLY, .rx_sid = f->tx_sid, .tx_sid = c->swap->sid,
	                        .body = noise, .body_len = nlen };
	if (wire_frame_encode(&o, out, sizeof out, &flen) != MESH_OK)
		return;
	send_to(m, c, 1, out, flen);
	m->keyswaps++;
}

/* A frame from the initiator of a swapped connection. Any FINISH is a breach: the initiator
 * went on past message 2 with our key; whether it also checks is noted apart. */
static void swap_frame(struct mitm *m, struct mconn *c, const struct wire_frame *f)
{
	if (f->type != WIRE_FINISH || !c->swap || f->rx_sid != c->swap->sid)
		return;
	m->breaches++;
	if (session_on_finish(c->swap, f->body, f->body_len) == MESH_OK)
		m->finishes_checked++;
	session_destroy(&c->swap);
}

/* ---------- relaying, with tampering ---------- */

static void flush_held(struct mitm *m, struct mconn *c, int dir)
{
	if (!c->hold[dir].p)
		return;
	send_to(m, c, dir, c->hold[dir].p, c->hold[dir].n);
	free(c->hold[dir].p);
	c->hold[dir].p = NULL;
}

static void keep(struct mconn *c, int dir, const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n);
	if (!q)
		return;
	memcpy(q, p, n);
	free(c->old[dir]);
	c->old[dir] = q;
	c->oldn[dir] = n;
}

/* One frame towards dir (0: the responder, 1: the initiator), p[0..n) ours to change; fp is
 * its decoding (pointing into p), or NULL if it does not decode. */
static void relay(struct mitm *m, struct mconn *c, int dir, uint8_t *p, size_t n,
                  const struct wire_frame *fp)
{
	if (has_filler(p, n))
		m->plaintext++;
	if (!fp || fp->type != WIRE_DATA || fp->body_len == 0) {
		m->other++;
		send_to(m, c, dir, p, n);
		flush_held(m, c, dir);
		return;
	}
	const struct wire_frame f = *fp;
	m->data[dir]++;
	unsigned r = (unsigned)(rnd(m) % 1000);
	if (r < P_FLIP) {
		size_t at = (size_t)(f.body - p) + (size_t)(rnd(m) % f.body_len);
		p[at] ^= (uint8_t)(1u << (rnd(m) % 8));
		m->flips++;
	} else if (r < P_DROP) {
		m->drops++;
		return;
	} else if (r < P_REPLAY && c->old[dir]) {
		send_to(m, c, dir, c->old[dir], c->oldn[dir]);
		m->replays++;
	} else if (r < P_SWAP && !c->hold[dir].p) {
		/* held back, to go out after the next frame this way */
		if ((c->hold[dir].p = malloc(n))) {
			memcpy(c->hold[dir].p, p, n);
			c->hold[dir].n = n;
			c->hold[dir].due_ms = monoclock_ms() + MITM_HOLD_MS;
			m->reorders++;
			return;
		}
	} else if (r >= P_SWAP && r < P_COUNTER) {
		struct wire_frame g = f;
		size_t gl;
		g.counter += 1 + rnd(m) % 1000;
		if (wire_frame_encode(&g, m->buf, WIRE_MAX_FRAME, &gl) == MESH_OK) {
			send_to(m, c, dir, m->buf, gl);
			flush_held(m, c, dir);
			m->counters++;
			return;
		}
	}
	if (c->relayed[dir]++ % MITM_KEEP_EVERY == 0)
		keep(c, dir, p, n);
	send_to(m, c, dir, p, n);
	flush_held(m, c, dir);
}

/* ---------- the loop ---------- */

static void from_initiators(struct mitm *m)
{
	uint8_t rid[256];
	for (int k = 0; k < 256; k++) {
		int rl = zmq_recv(m->router, rid, sizeof rid, ZMQ_DONTWAIT);
		if (rl < 0)
			return;
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, m->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		int fd = zmq_msg_get(&msg, ZMQ_SRCFD);
		size_t n = zmq_msg_size(&msg);
		struct mconn *c = rl <= (int)sizeof rid ? conn_of(m, rid, (size_t)rl, fd) : NULL;
		if (c && n <= WIRE_MAX_FRAME) {
			memcpy(m->pt, zmq_msg_data(&msg), n);
			struct wire_frame f;
			bool decoded = wire_frame_decode(m->pt, n, &f) == MESH_OK;
			bool hello = decoded && f.type == WIRE_HELLO;
			if (!c->up && !c->swapped && hello &&
			    (!m->dest_seen[c->dport] || rnd(m) % MITM_SWAP_ONE_IN == 0)) {
				m->dest_seen[c->dport] = true;
				c->swapped = true;
				swap_hello(m, c, &f);
			} else if (c->swapped) {
				if (decoded)
					swap_frame(m, c, &f);   /* the rest of a swapped handshake: ours */
			} else if (c->up || conn_up(m, c) == 0) {
				relay(m, c, 0, m->pt, n, decoded ? &f : NULL);
			}
		}
		zmq_msg_close(&msg);
	}
}

/* Every connection's responder side, read until it has nothing (a connection the monitor or
 * the initiators' side closed since the poll is gone from the table, and not read). */
static void from_responders(struct mitm *m)
{
	for (size_t i = 0; i < m->nc; i++) {
		struct mconn *c = &m->c[i];
		for (int k = 0; c->used && c->up && k < 256; k++) {
			int r = zmq_recv(c->up, m->pt, WIRE_MAX_FRAME, ZMQ_DONTWAIT);
			if (r < 0)
				break;
			if ((size_t)r > WIRE_MAX_FRAME)
				continue;                   /* truncated: MAXMSGSIZE says it cannot be */
			struct wire_frame f;
			bool decoded = wire_frame_decode(m->pt, (size_t)r, &f) == MESH_OK;
			relay(m, c, 1, m->pt, (size_t)r, decoded ? &f : NULL);
		}
	}
}

/* The ROUTER's monitor: a connection its initiator closed is forgotten. */
static void read_monitor(struct mitm *m)
{
	uint8_t ev[6];
	for (;;) {
		int r = zmq_recv(m->monitor, ev, sizeof ev, ZMQ_DONTWAIT);
		if (r < 0)
			return;
		char addr[256];
		(void)zmq_recv(m->monitor, addr, sizeof addr, ZMQ_DONTWAIT);
		uint16_t e;
		int32_t fd;
		memcpy(&e, ev, 2);
		memcpy(&fd, ev + 2, 4);
		if (r != 6 || e != ZMQ_EVENT_DISCONNECTED)
			continue;
		for (size_t i = 0; i < m->nc; i++)
			if (m->c[i].used && m->c[i].fd == fd)
				conn_free(&m->c[i]);
	}
}

static void flush_due(struct mitm *m, uint64_t now)
{
	for (size_t i = 0; i < m->nc; i++)
		for (int d = 0; d < 2; d++)
			if (m->c[i].used && m->c[i].hold[d].p && now >= m->c[i].hold[d].due_ms)
				flush_held(m, &m->c[i], d);
}

static int setup(struct mitm *m, char *desc, size_t cap)
{
	char ep[64], err[400];
	size_t epl = sizeof ep;
	int zero = 0;
	int64_t maxmsg = WIRE_MAX_FRAME;
	size_t tl = strlen(MITM_PROLOGUE_TAG), pl = strlen(MITM_PROTO);
	memcpy(m->prologue, MITM_PROLOGUE_TAG, tl);
	memcpy(m->prologue + tl, MITM_PROTO, pl);
	memset(m->prologue + tl + pl, 0, 32);
	m->plen = tl + pl + 32;
	m->c = calloc(MITM_MAX_CONNS, sizeof *m->c);
	m->dest_seen = calloc(65536, sizeof *m->dest_seen);
	m->buf = malloc(WIRE_MAX_FRAME);
	m->pt = malloc(WIRE_MAX_FRAME);
	m->id = keys_identity_generate();
	m->ctx = zmq_ctx_new();
	if (!m->c || !m->dest_seen || !m->buf || !m->pt || !m->id || !m->ctx ||
	    !(m->router = zmq_socket(m->ctx, ZMQ_ROUTER)) ||
	    !(m->monitor = zmq_socket(m->ctx, ZMQ_PAIR))) {
		snprintf(desc, cap, "out of memory");
		return -1;
	}
	zmq_setsockopt(m->router, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(m->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	zmq_setsockopt(m->monitor, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_socket_monitor(m->router, MITM_MONITOR, ZMQ_EVENT_DISCONNECTED) != 0 ||
	    zmq_connect(m->monitor, MITM_MONITOR) != 0 ||
	    zmq_bind(m->router, "tcp://" MITM_ADDR ":0") != 0 ||
	    zmq_getsockopt(m->router, ZMQ_LAST_ENDPOINT, ep, &epl) != 0) {
		snprintf(desc, cap, "cannot listen on " MITM_ADDR ": %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	const char *colon = strrchr(ep, ':');
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;
	if (port <= 0 || port > 65535 || divert((uint16_t)port, err, sizeof err) != 0) {
		snprintf(desc, cap, "cannot route the namespace's TCP through %s (nft): %.300s", ep,
		         port > 0 ? err : "no port");
		return -1;
	}
	return 0;
}

static void teardown(struct mitm *m)
{
	meshsim_mitm_cleanup();
	for (size_t i = 0; m->c && i < m->nc; i++)
		if (m->c[i].used)
			conn_free(&m->c[i]);
	if (m->router)
		zmq_close(m->router);
	if (m->monitor)
		zmq_close(m->monitor);
	if (m->ctx)
		zmq_ctx_term(m->ctx);
	keys_identity_destroy(&m->id);
	free(m->c);
	free(m->dest_seen);
	free(m->buf);
	free(m->pt);
}

int meshsim_attacker_mitm(const struct meshsim_attack_target *t, uint64_t end_ms, char *desc,
                          size_t cap)
{
	struct mitm m;
	memset(&m, 0, sizeof m);
	m.t = t;
	m.rng = t->seed;
	zmq_pollitem_t *items = calloc(MITM_MAX_CONNS + 2, sizeof *items);
	int rc = -1;
	if (!items) {
		snprintf(desc, cap, "out of memory");
		return -1;
	}
	if (setup(&m, desc, cap) != 0)
		goto done;
	uint64_t now;
	while ((now = monoclock_ms()) < end_ms) {
		size_t n = 0;
		items[n++] = (zmq_pollitem_t){ .socket = m.router, .events = ZMQ_POLLIN };
		for (size_t i = 0; i < m.nc; i++)
			if (m.c[i].used && m.c[i].up)
				items[n++] = (zmq_pollitem_t){ .socket = m.c[i].up, .events = ZMQ_POLLIN };
		long wait = (long)(end_ms - now) < 10 ? (long)(end_ms - now) : 10;
		if (zmq_poll(items, (int)n, wait) < 0 && zmq_errno() != EINTR)
			break;
		read_monitor(&m);
		from_initiators(&m);
		from_responders(&m);
		flush_due(&m, monoclock_ms());
	}
	snprintf(desc, cap, "on the path of %ld connections (%ld refused): %ld DATA frames to "
	         "responders, %ld to initiators, %ld others; %ld bits flipped, %ld counters changed, "
	         "%ld dropped, %ld replayed, %ld swapped in order; %ld HELLOs answered with its own "
	         "key (%ld claiming the dialled node's ID): %ld accepted (a FINISH, %ld of which "
	         "checked); %ld frames with plaintext", m.conns, m.conns_refused, m.data[0],
	         m.data[1], m.other, m.flips, m.counters, m.drops, m.replays, m.reorders, m.keyswaps,
	         m.keyswap_claimed_real, m.breaches, m.finishes_checked, m.plaintext);
	if (m.breaches || m.plaintext)
		rc = MESHSIM_ATK_BREACH;
	else if (!m.data[0] || !m.data[1] || !m.keyswaps)
		snprintf(desc + strlen(desc), cap - strlen(desc), "; too little went through it "
		         "to prove anything");
	else
		rc = 0;
done:
	teardown(&m);
	free(items);
	return rc;
}
