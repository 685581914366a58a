/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* beaconrig: see beaconrig.h. */
#include "beaconrig.h"
#include "beaconmaker.h"
#include "discovery.h"
#include "testid.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

/* ------------------------------------------------------------------ the engine's transport */

struct rig t;

/* What fm_open hands out: a socket of either family, all reading the one queue of t, each only
 * the datagrams of its family, as a real socket would. */
static char fm_v4, fm_v6;

static void *fm_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                     size_t errcap)
{
	*ifaddr = IPADDR_V4(10, 0, 0, 1);
	if (cfg->iface && t.refuse && strcmp(cfg->iface, t.refuse) == 0) {
		snprintf(err, errcap, "refused by the test");
		return NULL;
	}
	if (cfg->iface)                    /* the address of an interface fm_ifaces() listed */
		(void)ipaddr_parse(cfg->iface, ifaddr);
	return ipaddr_is_v4(ifaddr) ? &fm_v4 : &fm_v6;
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
	(void)p;
	(void)d;
	(void)len;
	t.sent++;
	return MESH_OK;
}

static enum mesh_err fm_recv(void *p, uint8_t *buf, size_t cap, bool *got, size_t *len,
                             struct ipaddr *from)
{
	*got = t.n > 0 && ipaddr_is_v4(&t.q[t.head].src) == (p == &fm_v4);
	*len = 0;
	if (!*got)
		return MESH_OK;
	struct dgram *d = &t.q[t.head];
	t.head = (t.head + 1) % MAXQ;
	t.n--;
	*len = d->len > cap ? cap + 1 : d->len;
	memcpy(buf, d->data, d->len > cap ? cap : d->len);
	*from = d->src;
	return MESH_OK;
}

static uint64_t fm_wall(void *p)
{
	(void)p;
	return WALL0 + t.now;
}

const struct mcast_ops engine_mcast = {
	.open = fm_open, .close = fm_close, .fd = fm_fd, .send = fm_send, .recv = fm_recv,
	.wall_ms = fm_wall,
};

/* The host's interfaces as t.ifs says, for the engines that follow them (ifaces.c). */
static enum mesh_err fm_ifaces(void *env, struct mcast_iface *out, size_t cap, size_t *n,
                               char *err, size_t errcap)
{
	(void)env;
	(void)err;
	(void)errcap;
	*n = t.nifs < cap ? t.nifs : cap;
	memcpy(out, t.ifs, *n * sizeof *out);
	return MESH_OK;
}

const struct mcast_ops engine_mcast_ifaces = {
	.open = fm_open, .close = fm_close, .fd = fm_fd, .send = fm_send, .recv = fm_recv,
	.wall_ms = fm_wall, .ifaces = fm_ifaces,
};

static uint8_t fbuf[WIRE_MAX_FRAME];

static void *fl_open(const struct link_config *cfg, uint16_t *port, char *err, size_t errcap)
{
	t.sink = cfg->sink;
	(void)err;
	(void)errcap;
	*port = 7000;
	return &t;
}

static void fl_close(void *l)
{
	(void)l;
}

static const char *fl_endpoint(const void *l)
{
	(void)l;
	return "test://10.0.0.1:7000";
}

static enum mesh_err fl_dial(void *l, uint32_t sid, const struct ipaddr *ip, uint16_t port)
{
	(void)l;
	(void)port;
	t.dials++;
	CHECK(t.nheld < MAXHELD);
	if (!t.fail_dials && t.nheld < MAXHELD) {
		t.held[t.nheld].sid = sid;
		t.held[t.nheld].at = t.now;
		t.held[t.nheld++].ip = *ip;
	}
	if (t.now >= t.window_ms)
		t.window_dials++;
	for (size_t i = 0; i < t.nwatch; i++) {
		struct watch *w = &t.watch[i];
		if (!w->dial_ms && t.now >= w->from_ms && ipaddr_eq(ip, &w->ip))
			w->dial_ms = t.now ? t.now : 1;
	}
	return t.fail_dials ? MESH_EIO : MESH_OK;
}

static void fl_hangup(void *l, uint32_t sid)
{
	(void)l;
	for (size_t i = 0; i < t.nheld; i++)
		if (t.held[i].sid == sid) {
			if (t.ntries < MAXTRIES)
				t.tries[t.ntries++] = t.now - t.held[i].at;
			t.held[i] = t.held[--t.nheld];
			break;
		}
}

static enum mesh_err fl_send(void *l, const struct link_route *to, const uint8_t *f, size_t n)
{
	struct wire_frame fr;
	(void)l;
	if (t.bad_replies && to->sid && wire_frame_decode(f, n, &fr) == MESH_OK &&
	    fr.type == WIRE_HELLO && t.nreply < MAXQ)
		t.reply_to[t.nreply++] = to->sid;
	if (!to->sid && wire_frame_decode(f, n, &fr) == MESH_OK && fr.type == WIRE_REPLY)
		t.replies++;
	return MESH_OK;
}

static uint8_t *fl_frame_buf(void *l, size_t len)
{
	(void)l;
	return len <= sizeof fbuf ? fbuf : NULL;
}

static enum mesh_err fl_send_buf(void *l, const struct link_route *to)
{
	(void)l;
	(void)to;
	return MESH_OK;
}

static void fl_linger(void *l, int ms)
{
	(void)l;
	(void)ms;
}

static size_t fl_pollitems(void *l, zmq_pollitem_t *items, size_t cap)
{
	(void)l;
	(void)items;
	(void)cap;
	return 0;
}

/* The answers owed: a REPLY whose Noise message is garbage, so the handshake fails at once
 * (as when another identity answers at the address we dialled). */
static void fl_on_ready(void *l, const zmq_pollitem_t *items, size_t n)
{
	(void)l;
	(void)items;
	(void)n;
	while (t.nreply) {
		uint32_t sid = t.reply_to[--t.nreply];
		uint8_t body[96], frame[256];
		size_t len;
		memset(body, 0x5a, sizeof body);
		struct wire_frame r = { .type = WIRE_REPLY, .rx_sid = sid, .tx_sid = 4242,
		                        .body = body, .body_len = sizeof body };
		if (wire_frame_encode(&r, frame, sizeof frame, &len) == MESH_OK) {
			struct link_route from = { .sid = sid };
			t.sink.frame(t.sink.arg, &from, "10.0.0.9", frame, len);
		}
	}
	for (unsigned i = 0; i < t.hellos; i++) {
		/* -> e: any 32 bytes make the responder run its half */
		uint8_t e[32], frame[128], rid[5] = { 0, 'h', (uint8_t)(i >> 8), (uint8_t)i, 1 };
		size_t len;
		randombytes_buf(e, sizeof e);
		struct wire_frame h = { .type = WIRE_HELLO, .tx_sid = 1000 + i, .body = e,
		                        .body_len = sizeof e };
		char addr[IPADDR_STRLEN];
		snprintf(addr, sizeof addr, "10.2.%u.%u", (i >> 8) & 255, i & 255);
		if (wire_frame_encode(&h, frame, sizeof frame, &len) == MESH_OK) {
			struct link_route from = { .rid = rid, .rid_len = sizeof rid };
			t.sink.frame(t.sink.arg, &from, t.hello_spread ? addr : t.hello_addr, frame, len);
		}
	}
	t.hellos = 0;
}

static size_t fl_dialled(const void *l)
{
	(void)l;
	return t.dials;
}

static size_t listening_at(const struct ipaddr *ip)
{
	size_t i = 0;
	while (i < t.nlistening && !ipaddr_eq(&t.listening[i], ip))
		i++;
	return i;
}

static enum mesh_err fl_listen_also(void *l, const struct ipaddr *ip, char *err,
                                    size_t errcap)
{
	(void)l;
	if (listening_at(ip) < t.nlistening || t.nlistening == LINK_MAX_ADDRS) {
		t.listen_twice = true;
		snprintf(err, errcap, "listened on already, or too many");
		return MESH_ELIMIT;
	}
	t.listening[t.nlistening++] = *ip;
	return MESH_OK;
}

static void fl_unlisten(void *l, const struct ipaddr *ip)
{
	(void)l;
	size_t i = listening_at(ip);
	if (i == t.nlistening) {
		t.unlisten_unknown = true;
		return;
	}
	t.listening[i] = t.listening[--t.nlistening];
}

static const struct link_ops engine_link = {
	.open = fl_open, .close = fl_close, .endpoint = fl_endpoint, .dial = fl_dial,
	.hangup = fl_hangup, .send = fl_send, .frame_buf = fl_frame_buf, .send_buf = fl_send_buf,
	.linger = fl_linger, .pollitems = fl_pollitems, .on_ready = fl_on_ready,
	.dialled = fl_dialled, .listen_also = fl_listen_also, .unlisten = fl_unlisten,
};

/* ------------------------------------------------------------------ live sessions */

struct session *live_with(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t inc,
                          uint64_t now)
{
	struct peer *p = peer_table_get(&m->peers, id);
	struct session *s = session_new(NOISE_INITIATOR, m->prologue, m->prologue_len,
	                                m->id->x_sk, m->id->x_pk, m->psk, &m->keymem, now);
	if (!p || !s || session_table_add(&m->sessions, s) != MESH_OK) {
		session_destroy(&s);
		return NULL;
	}
	s->state = SESSION_LIVE;
	s->live_ms = s->last_rx_ms = s->last_tx_ms = s->keys_ms = now;
	memcpy(s->peer_id, id, WIRE_IDLEN);
	s->authenticated = true;
	s->peer_incarnation = inc;
	p->live_sid = s->sid;
	p->incarnation = inc;
	return s;
}

void unlive(struct mesh *m, uint32_t sid)
{
	struct session *s = sid ? session_table_get(&m->sessions, sid) : NULL;
	if (!s)
		return;                         /* the engine closed it, or there was none */
	struct peer *p = peer_table_get(&m->peers, s->peer_id);
	if (p && p->live_sid == sid)
		p->live_sid = 0;
	session_table_del(&m->sessions, sid);
	session_destroy(&s);
}

/* ------------------------------------------------------------------ making beacons */


struct keys_identity *ids[NWHO];

void queue_beacon(const struct beacon *b)
{
	struct ipaddr ip = IPADDR_V4(10, 0, 0, (uint8_t)(2 + b->who));
	uint16_t port = b->port ? b->port : 7001;
	uint64_t inc = b->incarnation ? b->incarnation : 1000 + b->who;
	if (b->who == US && !b->incarnation) {
		/* the engine's own, back through multicast loopback */
		ip = IPADDR_V4(10, 0, 0, 1);
		port = 7000;
		inc = t.self_inc;
	}
	struct ipaddr from = b->how == ELSEWHERE ? IPADDR_V4(10, 9, 9, 9) : ip;
	uint64_t wall = b->how == EARLIER ? WALL0 - 1000
	                                  : WALL0 + (b->counter_ms ? b->counter_ms : t.now);
	CHECK(t.n < MAXQ);
	if (t.n >= MAXQ)
		return;
	struct dgram *q = &t.q[(t.head + t.n) % MAXQ];
	q->len = beaconmaker_make(ids[b->who], &from, port, inc, wall, NULL, q->data,
	                          sizeof q->data);
	CHECK(q->len > 0);
	if (!q->len)
		return;
	if (b->how == FORGED)
		q->data[q->len - 1] ^= 1;      /* the signature is the datagram's last field */
	t.n++;
	q->src = ip;
}

/* A beacon of id, signed at virtual time at_ms (a replay when that is past), from ip (and
 * announcing it), port 7001. */
void queue_signed(const struct keys_identity *id, const struct ipaddr *ip, uint64_t inc,
                         uint64_t at_ms)
{
	CHECK(t.n < MAXQ);
	if (t.n >= MAXQ)
		return;
	struct dgram *q = &t.q[(t.head + t.n) % MAXQ];
	q->len = beaconmaker_make(id, ip, 7001, inc, WALL0 + at_ms, NULL, q->data, sizeof q->data);
	CHECK(q->len > 0);
	if (!q->len)
		return;
	t.n++;
	q->src = *ip;
}

/* A beacon of id, signed now, from ip (and announcing it), port 7001. */
void queue_id(const struct keys_identity *id, const struct ipaddr *ip, uint64_t inc)
{
	queue_signed(id, ip, inc, t.now);
}

/* ------------------------------------------------------------------ the engine */

static void on_event(void *arg, const struct mesh_event *ev)
{
	(void)arg;
	t.alarms += ev->type == MESH_EV_ALARM;
	free(ev->data);
}

/* The engine under test, over ops, logging at level to log (NULL: nowhere). */
struct mesh *engine_new_logged(const struct mcast_ops *ops, int level,
                                      void (*log)(void *arg, int level, const char *line))
{
	char err[256];
	struct mesh_config cfg = {
		.id = ids[US], .name = "under-test", .beacon_interval_ms = BEACON_MS,
		.heartbeat_ms = 1000, .evasive_ms = 3000, .expired_ms = t.expired_ms ? t.expired_ms : 10000,
		.handshake_timeout_ms = 5000, .fallback_ms = FALLBACK_MS, .queue_msgs = 16,
		.queue_bytes = 1 << 20, .ttl_ms = 10000, .link_ops = &engine_link,
		.mcast_ops = ops, .log_level = log ? level : -1, .log = log, .event = on_event,
	};
	struct mesh *m = mesh_new(&cfg, 0, err, sizeof err);
	CHECK(m != NULL);
	if (m)
		t.self_inc = mesh_incarnation(m);
	return m;
}

struct mesh *engine_new_ops(const struct mcast_ops *ops)
{
	return engine_new_logged(ops, -1, NULL);
}

struct mesh *engine_new(void)
{
	return engine_new_ops(&engine_mcast);
}

bool rig_ids_init(void)
{
	do {
		keys_identity_destroy(&ids[US]);
		ids[US] = keys_identity_generate();
	} while (ids[US] && (ids[US]->id[0] < 0x40 || ids[US]->id[0] >= 0xc0));
	if (!ids[US])
		return false;
	ids[LOW1] = testid_beside(ids[US]->id, true);
	ids[LOW2] = testid_beside(ids[US]->id, true);
	ids[HIGH1] = testid_beside(ids[US]->id, false);
	ids[HIGH2] = testid_beside(ids[US]->id, false);
	return ids[LOW1] && ids[LOW2] && ids[HIGH1] && ids[HIGH2];
}

void rig_ids_free(void)
{
	for (int i = 0; i < NWHO; i++)
		keys_identity_destroy(&ids[i]);
}
