/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_hold: the partial-hold attacker of the attack scenario (meshsim_attackers.h). It
 * plays `HOLD_PEERS` authenticated peers with identities of its own: each really links with
 * the victim, as the initiator of protocol section 4 (HELLO, REPLY, FINISH, ACCEPT, through
 * mesh/'s session and wire code), and then keeps one fragmented WHISPER in progress, of
 * WIRE_MAX_FRAGMENTS fragments of WIRE_MAX_FRAGMENT bytes, sending the next fragment every
 * HOLD_EVERY_MS but never the last, so that the victim holds every fragment so far for as
 * long as the attack lasts (protocol section 7: partial messages are bounded in total).
 *
 * The peers say in their hellos that they follow neither delivery nor rekeying (features 0):
 * the victim then expects no ACK from them and never closes their sessions for key age.
 * They never beacon, so only the victim links with them; their identities come from
 * meshsim, which takes the victim's events about them away from its observer.
 *
 * Invariants: every frame goes to the victim's loopback ROUTER; every session's secrets are
 * wiped (session_destroy) and every socket closed when the attack ends.
 */
#include "meshsim_attackers.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "keys.h"
#include "monoclock.h"
#include "session.h"
#include "wire.h"

#define HOLD_EVERY_MS 400       /* a peer's next fragment */
#define HOLD_ROUND_MS 20
#define HOLD_DEAD_PORT 9        /* the hellos' ROUTER port: nobody listens there */

/* protocol section 3.1: "meshnode/1 " || protocol name || mesh_id (zeros in an open mesh) */
#define HOLD_PROLOGUE_TAG "meshnode/2 "    /* protocol version 2 (WIRE_VERSION) */
_Static_assert(WIRE_VERSION == 2, "HOLD_PROLOGUE_TAG names the protocol version");
#define HOLD_PROTO "Noise_XX_25519_ChaChaPoly_BLAKE2b"

enum hold_state { H_HELLO, H_WAIT_ACCEPT, H_LIVE, H_DEAD };

struct holder {
	void *sock;
	struct session *s;
	enum hold_state st;
	uint32_t next_index;
	uint64_t next_ms;
	uint64_t msg_id;
};

struct hold {
	const struct meshsim_attack_target *t;
	uint8_t prologue[128];
	size_t plen;
	uint8_t *frag;               /* WIRE_MAX_FRAGMENT bytes of filler */
	uint8_t *pt, *frame;         /* scratch: a fragment's plaintext, its sealed frame */
	long linked, rejected, failed, fragments, lost;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int send_raw(void *sock, const uint8_t *p, size_t n)
{
	return zmq_send(sock, p, n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* -> e */
static int hold_hello(struct hold *h, struct holder *x)
{
	uint8_t noise[256], out[300];
	size_t nlen, flen;
	if (session_write_hello(x->s, noise, sizeof noise, &nlen) != MESH_OK)
		return -1;
	struct wire_frame f = { .type = WIRE_HELLO, .tx_sid = x->s->sid, .body = noise,
	                        .body_len = nlen };
	(void)h;
	if (wire_frame_encode(&f, out, sizeof out, &flen) != MESH_OK)
		return -1;
	return send_raw(x->sock, out, flen);
}

/* <- e, ee, s, es; -> s, se: our hello payload goes in FINISH */
static int hold_finish(struct hold *h, struct holder *x, const struct keys_identity *id, int k,
                       const struct wire_frame *reply)
{
	uint8_t hello[512], noise[1024], out[1100];
	size_t hlen, nlen, flen;
	char name[16];
	struct wire_hello *hp = calloc(1, sizeof *hp);
	int rc = -1;
	if (!hp)
		return -1;
	snprintf(name, sizeof name, "hold%03d", k);
	memcpy(hp->node_id, id->id, WIRE_IDLEN);
	hp->name.p = name;
	hp->name.len = strlen(name);
	hp->incarnation = 1 + (uint64_t)k;
	hp->features = 0;
	hp->ip = ipaddr_from_in(h->t->addr);
	hp->port = HOLD_DEAD_PORT;
	x->s->remote_sid = reply->tx_sid;
	if (wire_hello_encode(hp, hello, sizeof hello, &hlen) == MESH_OK &&
	    session_on_reply(x->s, reply->body, reply->body_len, hello, hlen, noise, sizeof noise,
	                     &nlen) == MESH_OK) {
		struct wire_frame f = { .type = WIRE_FINISH, .rx_sid = x->s->remote_sid, .body = noise,
		                        .body_len = nlen };
		if (wire_frame_encode(&f, out, sizeof out, &flen) == MESH_OK)
			rc = send_raw(x->sock, out, flen);
	}
	free(hp);
	return rc;
}

/* One more fragment of the message that never ends: never index count - 1. */
static int hold_fragment(struct hold *h, struct holder *x)
{
	size_t plen, flen;
	struct wire_msg m;
	memset(&m, 0, sizeof m);
	m.type = WIRE_WHISPER;
	m.msg_id = x->msg_id;
	m.index = x->next_index;
	m.count = WIRE_MAX_FRAGMENTS;
	m.data = h->frag;
	m.data_len = WIRE_MAX_FRAGMENT;
	if (wire_msg_encode(&m, h->pt, WIRE_MAX_FRAME, &plen) != MESH_OK ||
	    session_seal(x->s, h->pt, plen, h->frame, WIRE_MAX_FRAME, &flen) != MESH_OK)
		return -1;
	if (send_raw(x->sock, h->frame, flen) != 0)
		return -1;
	h->fragments++;
	x->next_index++;
	if (x->next_index >= WIRE_MAX_FRAGMENTS - 1) {
		/* the last but one is in: start another message, which drops this one unfinished
		 * (out of sequence), so that the victim never gets a whole message from us */
		x->next_index = 0;
		x->msg_id++;
	}
	return 0;
}

/* Reads what the victim sent x: REPLY, then ACCEPT or REJECT; later frames are drained. */
static void hold_read(struct hold *h, struct holder *x, const struct keys_identity *id, int k,
                      uint64_t now)
{
	int got;
	while (x->st != H_DEAD &&
	       (got = zmq_recv(x->sock, h->frame, WIRE_MAX_FRAME, ZMQ_DONTWAIT)) >= 0) {
		struct wire_frame f;
		if ((size_t)got > WIRE_MAX_FRAME ||
		    wire_frame_decode(h->frame, (size_t)got, &f) != MESH_OK)
			continue;
		if (x->st == H_HELLO && f.type == WIRE_REPLY && f.rx_sid == x->s->sid) {
			if (hold_finish(h, x, id, k, &f) == 0) {
				x->st = H_WAIT_ACCEPT;
			} else {
				h->failed++;
				x->st = H_DEAD;
			}
			continue;
		}
		if (x->st != H_WAIT_ACCEPT || f.type != WIRE_DATA)
			continue;        /* live: heartbeats and RESENDs, which we ignore */
		size_t ptlen;
		struct session_rx rx;
		struct wire_msg m;
		if (session_open(x->s, &f, h->pt, WIRE_MAX_FRAME, &ptlen, now, &rx) != MESH_OK ||
		    wire_msg_decode(h->pt, ptlen, &m) != MESH_OK)
			continue;
		/* ACCEPT carries the victim's name and groups (protocol section 3.1) */
		if (m.type == WIRE_ACCEPT && session_on_accept(x->s, h->pt, ptlen) == MESH_OK &&
		    session_go_live(x->s, now) == MESH_OK) {
			x->st = H_LIVE;
			x->next_ms = now;
			h->linked++;
		} else if (m.type == WIRE_REJECT) {
			x->st = H_DEAD;
			h->rejected++;
		}
	}
}

int meshsim_attacker_hold(const struct meshsim_attack_target *t, uint64_t end_ms, char *desc,
                          size_t cap)
{
	char ip[INET_ADDRSTRLEN], ep[64];
	struct hold h;
	int n = t->nholders;
	memset(&h, 0, sizeof h);
	h.t = t;
	/* the prologue of an open mesh: mesh_id is 32 zero bytes */
	size_t tl = strlen(HOLD_PROLOGUE_TAG), pl = strlen(HOLD_PROTO);
	memcpy(h.prologue, HOLD_PROLOGUE_TAG, tl);
	memcpy(h.prologue + tl, HOLD_PROTO, pl);
	memset(h.prologue + tl + pl, 0, 32);
	h.plen = tl + pl + 32;
	h.frag = malloc(WIRE_MAX_FRAGMENT);
	h.pt = malloc(WIRE_MAX_FRAME);
	h.frame = malloc(WIRE_MAX_FRAME);
	struct holder *x = calloc((size_t)(n > 0 ? n : 1), sizeof *x);
	void *ctx = zmq_ctx_new();
	if (!h.frag || !h.pt || !h.frame || !x || !ctx) {
		snprintf(desc, cap, "out of memory");
		goto done;
	}
	memset(h.frag, 'h', WIRE_MAX_FRAGMENT);
	inet_ntop(AF_INET, &t->addr, ip, sizeof ip);
	snprintf(ep, sizeof ep, "tcp://%s:%u", ip, t->port);
	uint64_t now = monoclock_ms();
	for (int k = 0; k < n; k++) {
		int zero = 0, hwm = 64;
		int64_t maxmsg = WIRE_MAX_FRAME;
		x[k].st = H_DEAD;
		x[k].msg_id = 1;
		x[k].s = session_new(NOISE_INITIATOR, h.prologue, h.plen, t->holders[k]->x_sk,
		                     t->holders[k]->x_pk, NULL, NULL, now);
		x[k].sock = zmq_socket(ctx, ZMQ_DEALER);
		if (!x[k].s || !x[k].sock) {
			h.failed++;
			continue;
		}
		/* the engine's session table would choose the sid; any nonzero one is ours here */
		x[k].s->sid = ((uint32_t)t->seed ^ (uint32_t)k * 2654435761u) | 1u;
		memcpy(x[k].s->expected_id, t->victim_id, WIRE_IDLEN);
		zmq_setsockopt(x[k].sock, ZMQ_LINGER, &zero, sizeof zero);
		zmq_setsockopt(x[k].sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
		zmq_setsockopt(x[k].sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
		if (zmq_connect(x[k].sock, ep) != 0 || hold_hello(&h, &x[k]) != 0) {
			h.failed++;
			continue;
		}
		x[k].st = H_HELLO;
	}
	while ((now = monoclock_ms()) < end_ms) {
		for (int k = 0; k < n; k++) {
			if (x[k].st == H_DEAD)
				continue;
			hold_read(&h, &x[k], t->holders[k], k, now);
			if (x[k].st == H_LIVE && now >= x[k].next_ms) {
				if (hold_fragment(&h, &x[k]) != 0)
					h.lost++;     /* a full queue: the counter is spent, a gap follows */
				x[k].next_ms = now + HOLD_EVERY_MS;
			}
		}
		sleep_ms(HOLD_ROUND_MS);
	}
	long live = 0;
	for (int k = 0; k < n; k++)
		live += x[k].st == H_LIVE;
	snprintf(desc, cap, "%d peers of our own: %ld linked (%ld still live at the end), %ld "
	         "refused, %ld failed; %ld fragments of %d bytes sent, each peer's message "
	         "never finished, %ld not sent (queue full)", n, h.linked, live, h.rejected,
	         h.failed, h.fragments, WIRE_MAX_FRAGMENT, h.lost);
done:
	for (int k = 0; x && k < n; k++) {
		if (x[k].sock)
			zmq_close(x[k].sock);
		session_destroy(&x[k].s);
	}
	if (ctx)
		zmq_ctx_term(ctx);
	free(x);
	free(h.frag);
	free(h.pt);
	free(h.frame);
	return h.linked > 0 ? 0 : -1;
}
