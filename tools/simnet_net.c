/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * simnet_net: the simulated LAN under simnet's engines: struct link_ops (connections) and
 * struct mcast_ops (beacons), with no socket and no clock of their own.
 *
 * - A connection is dialled by the session's initiator (a ZeroMQ DEALER) to an ip:port. It
 *   comes up one latency later if something listens there and is reachable, else the dialler
 *   retries after 100 ms, doubling up to 2 s (ZMQ_RECONNECT_IVL, _MAX). Frames sent before it
 *   is up wait at the dialler (up to the HWM), as ZeroMQ queues them in the pipe.
 * - Frames keep their order per direction (TCP). A frame arrives latency + jitter after it was
 *   sent, never before the one sent ahead of it; one sent across a partition arrives once it
 *   heals (TCP retransmits).
 * - A cut (ss -K) loses what is in flight both ways; the responder's route for it is gone at
 *   once (its sends fail, as ZMQ_ROUTER_MANDATORY says EHOSTUNREACH), and the dialler
 *   reconnects by itself, arriving at the responder under a new route: exactly what ZeroMQ
 *   does, and what the engine must cope with.
 * - A crash closes every connection of the node without a word; its peers' dialled ones
 *   reconnect to whatever listens at that address later (a restarted process).
 * - A paused node (SIGSTOP) takes nothing and runs no timer; frames to it pile up until the
 *   sender's HWM says "full".
 * - A beacon goes to every running node on the same side of a partition, each copy lost with
 *   beacon_loss_pct.
 */
#include "simnet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t sim_delay(void)
{
	return simnet_w->cfg->latency_ms + sim_below(simnet_w->cfg->jitter_ms + 1ull);
}

bool sim_reachable(const struct node *a, const struct node *b)
{
	return !simnet_w->partition_until || a->side == b->side;
}

struct item *sim_item_new(const uint8_t *data, size_t len)
{
	struct item *it = calloc(1, sizeof *it + len);
	if (!it) {
		simnet_w->oom = true;
		return NULL;
	}
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	return it;
}

void sim_append(struct item **head, struct item **tail, struct item *it)
{
	if (*tail)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

void sim_free_items(struct item **head, struct item **tail)
{
	while (*head) {
		struct item *it = *head;
		*head = it->next;
		free(it);
	}
	*tail = NULL;
}

/* ------------------------------------------------------------------ connections */

struct node *sim_node_at(const uint8_t ip[4])
{
	uint32_t k = ((uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3]) - 1;
	return ip[0] == 10 && k < simnet_w->n ? &simnet_w->nodes[k] : NULL;
}

static struct conn *conn_of(const struct node *nd, uint32_t sid, size_t *at)
{
	for (size_t i = 0; i < nd->ndialled; i++) {
		struct conn *c = simnet_w->conns[nd->dialled[i]];
		if (c->sid == sid) {
			if (at)
				*at = i;
			return c;
		}
	}
	return NULL;
}

/* Sends one frame on c, which is up. */
static void frame_out(uint32_t cn, struct conn *c, bool back, const uint8_t *p, size_t len)
{
	uint64_t at = simnet_w->now + sim_delay();
	struct node *a = &simnet_w->nodes[c->from], *b = &simnet_w->nodes[c->to];
	if (!sim_reachable(a, b) && at < simnet_w->partition_until + simnet_w->cfg->latency_ms)
		at = simnet_w->partition_until + simnet_w->cfg->latency_ms;   /* retransmitted after the heal */
	uint64_t *last = back ? &c->last_back : &c->last_fwd;
	if (at < *last)
		at = *last;
	*last = at;
	struct ev *e = sim_schedule(at, EV_FRAME);
	if (!e)
		return;
	e->conn = cn;
	e->gen = c->epoch;
	e->back = back;
	e->data = malloc(len ? len : 1);
	if (!e->data) {
		simnet_w->oom = true;
		return;
	}
	memcpy(e->data, p, len);
	e->len = len;
	if (back)
		c->unread_back++;
	else
		c->unread_fwd++;
}

/* The connection broke: in flight is lost; the dialler, if it still wants it, reconnects. */
void sim_conn_break(uint32_t cn, struct conn *c)
{
	if (c->up && c->route < simnet_w->nroutes)
		simnet_w->route_conn[c->route] = 0;
	c->up = false;
	c->epoch++;
	c->unread_fwd = c->unread_back = 0;
	c->last_fwd = c->last_back = 0;
	if (c->open) {
		c->backoff = RECONNECT_MS;
		struct ev *e = sim_schedule(simnet_w->now + RECONNECT_MS, EV_CONNECT);
		if (e) {
			e->conn = cn;
			e->gen = c->epoch;
		}
	}
}

void sim_on_connect(uint32_t cn, uint32_t epoch)
{
	struct conn *c = simnet_w->conns[cn];
	if (!c->open || c->up || c->epoch != epoch)
		return;
	struct node *to = sim_node_at(c->ip);
	if (!to || !to->m || !sim_reachable(&simnet_w->nodes[c->from], to)) {
		struct ev *e = sim_schedule(simnet_w->now + c->backoff, EV_CONNECT);
		if (e) {
			e->conn = cn;
			e->gen = c->epoch;
		}
		c->backoff = c->backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : c->backoff * 2;
		return;
	}
	size_t cap = simnet_w->caproutes;
	uint32_t *rc = sim_grow(simnet_w->route_conn, &cap, simnet_w->nroutes + 1, sizeof *rc);
	if (!rc)
		return;
	simnet_w->route_conn = rc;
	simnet_w->caproutes = (uint32_t)cap;
	c->route = simnet_w->nroutes++;
	simnet_w->route_conn[c->route] = cn + 1;
	c->up = true;
	c->to = to->idx;
	c->to_life = to->life;
	while (c->wait_head) {
		struct item *it = c->wait_head;
		c->wait_head = it->next;
		frame_out(cn, c, false, it->data, it->len);
		free(it);
	}
	c->wait_tail = NULL;
	c->nwait = 0;
}

/* ------------------------------------------------------------------ link_ops */

static void *sl_open(const struct link_config *cfg, uint16_t *port, char *err, size_t errcap)
{
	struct node *nd = cfg->env;
	(void)err;
	(void)errcap;
	nd->sink = cfg->sink;
	snprintf(nd->endpoint, sizeof nd->endpoint, "sim://%u.%u.%u.%u:%u", nd->ip[0], nd->ip[1],
	         nd->ip[2], nd->ip[3], PORT);
	*port = PORT;
	return nd;
}

static void sl_close(void *l)
{
	struct node *nd = l;
	if (!nd)
		return;
	/* every connection of this process breaks: those it dialled are gone for good, those
	 * dialled to it reconnect (to whatever listens here next) */
	for (uint32_t i = 0; i < simnet_w->nconns; i++) {
		struct conn *c = simnet_w->conns[i];
		if (c->open && c->from == nd->idx) {
			c->open = false;
			sim_free_items(&c->wait_head, &c->wait_tail);
			sim_conn_break(i, c);
		} else if (c->up && c->to == nd->idx) {
			sim_conn_break(i, c);
		}
	}
	nd->ndialled = 0;
	sim_free_items(&nd->fhead, &nd->ftail);
	free(nd->fbuf);
	nd->fbuf = NULL;
	nd->fbufcap = nd->fbuflen = 0;
}

static const char *sl_endpoint(const void *l)
{
	return ((const struct node *)l)->endpoint;
}

static enum mesh_err sl_dial(void *l, uint32_t sid, const struct ipaddr *ip, uint16_t port)
{
	struct node *nd = l;
	(void)port;
	if (sid == 0 || conn_of(nd, sid, NULL))
		return MESH_ESTATE;
	size_t cap = simnet_w->capconns, dcap = nd->capdialled;
	struct conn **cs = sim_grow(simnet_w->conns, &cap, simnet_w->nconns + 1, sizeof *cs);
	if (!cs)
		return MESH_ENOMEM;
	simnet_w->conns = cs;
	simnet_w->capconns = (uint32_t)cap;
	uint32_t *ds = sim_grow(nd->dialled, &dcap, nd->ndialled + 1, sizeof *ds);
	if (!ds)
		return MESH_ENOMEM;
	nd->dialled = ds;
	nd->capdialled = dcap;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return MESH_ENOMEM;
	c->from = nd->idx;
	c->from_life = nd->life;
	c->sid = sid;
	memcpy(c->ip, ipaddr_v4_bytes(ip), 4);     /* the simulated LAN is IPv4 */
	c->open = true;
	c->backoff = RECONNECT_MS;
	uint32_t cn = simnet_w->nconns++;
	simnet_w->conns[cn] = c;
	nd->dialled[nd->ndialled++] = cn;
	struct ev *e = sim_schedule(simnet_w->now + sim_delay(), EV_CONNECT);
	if (e)
		e->conn = cn;
	return MESH_OK;
}

static void sl_hangup(void *l, uint32_t sid)
{
	struct node *nd = l;
	size_t at;
	struct conn *c = conn_of(nd, sid, &at);
	if (!c)
		return;
	uint32_t cn = nd->dialled[at];
	nd->dialled[at] = nd->dialled[--nd->ndialled];
	c->open = false;
	sim_free_items(&c->wait_head, &c->wait_tail);
	/* what is in flight still arrives (TCP sends it before the FIN); the responder's route
	 * goes when the connection does */
	if (c->up && c->route < simnet_w->nroutes)
		simnet_w->route_conn[c->route] = 0;
	c->up = false;
	(void)cn;
}

static enum mesh_err sl_send(void *l, const struct link_route *to, const uint8_t *frame,
                             size_t len)
{
	struct node *nd = l;
	if (to->sid) {
		size_t at;
		struct conn *c = conn_of(nd, to->sid, &at);
		if (!c)
			return MESH_EIO;
		uint32_t cn = nd->dialled[at];
		if (!c->up) {
			if (c->nwait >= HWM)
				return MESH_ELIMIT;
			struct item *it = sim_item_new(frame, len);
			if (!it)
				return MESH_ENOMEM;
			sim_append(&c->wait_head, &c->wait_tail, it);
			c->nwait++;
			return MESH_OK;
		}
		if (c->unread_fwd >= 2 * HWM)
			return MESH_ELIMIT;
		frame_out(cn, c, false, frame, len);
		return MESH_OK;
	}
	uint32_t route;
	if (to->rid_len != sizeof route)
		return MESH_EIO;
	memcpy(&route, to->rid, sizeof route);
	uint32_t cn1 = route < simnet_w->nroutes ? simnet_w->route_conn[route] : 0;
	if (!cn1)
		return MESH_EIO;            /* ZMQ_ROUTER_MANDATORY: no such peer any more */
	struct conn *c = simnet_w->conns[cn1 - 1];
	if (!c->up || c->to != nd->idx)
		return MESH_EIO;
	if (c->unread_back >= 2 * HWM)
		return MESH_ELIMIT;
	frame_out(cn1 - 1, c, true, frame, len);
	return MESH_OK;
}

static uint8_t *sl_frame_buf(void *l, size_t len)
{
	struct node *nd = l;
	if (len > nd->fbufcap) {
		uint8_t *b = realloc(nd->fbuf, len);
		if (!b)
			return NULL;
		nd->fbuf = b;
		nd->fbufcap = len;
	}
	nd->fbuflen = len;
	return nd->fbuf;
}

static enum mesh_err sl_send_buf(void *l, const struct link_route *to)
{
	struct node *nd = l;
	return sl_send(l, to, nd->fbuf, nd->fbuflen);
}

static void sl_linger(void *l, int ms)
{
	(void)l;
	(void)ms;
}

static size_t sl_pollitems(void *l, zmq_pollitem_t *items, size_t cap)
{
	(void)l;
	(void)items;
	(void)cap;
	return 0;
}

/* The engine's turn: every frame in the inbox, in order. */
static void sl_on_ready(void *l, const zmq_pollitem_t *items, size_t n)
{
	struct node *nd = l;
	(void)items;
	(void)n;
	while (nd->fhead && nd->m) {
		struct item *it = nd->fhead;
		nd->fhead = it->next;
		if (!nd->fhead)
			nd->ftail = NULL;
		struct conn *c = simnet_w->conns[it->conn];
		if (c->epoch != it->epoch) {
			free(it);
			continue;           /* the connection broke while this waited */
		}
		if (it->back) {
			c->unread_back -= c->unread_back > 0;
			struct link_route from = { .sid = c->sid };
			if (c->open && c->from == nd->idx)
				nd->sink.frame(nd->sink.arg, &from, "sim", it->data, it->len);
		} else {
			c->unread_fwd -= c->unread_fwd > 0;
			uint8_t rid[4];
			memcpy(rid, &c->route, sizeof rid);
			struct link_route from = { .rid = rid, .rid_len = sizeof rid };
			char addr[24];
			const struct node *a = &simnet_w->nodes[c->from];
			snprintf(addr, sizeof addr, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
			nd->sink.frame(nd->sink.arg, &from, addr, it->data, it->len);
		}
		free(it);
	}
}

static size_t sl_dialled(const void *l)
{
	return ((const struct node *)l)->ndialled;
}

const struct link_ops simnet_link = {
	.open = sl_open, .close = sl_close, .endpoint = sl_endpoint, .dial = sl_dial,
	.hangup = sl_hangup, .send = sl_send, .frame_buf = sl_frame_buf, .send_buf = sl_send_buf,
	.linger = sl_linger, .pollitems = sl_pollitems, .on_ready = sl_on_ready,
	.dialled = sl_dialled,
};

/* ------------------------------------------------------------------ mcast_ops */

static void *sm_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                     size_t errcap)
{
	struct node *nd = cfg->env;
	(void)err;
	(void)errcap;
	*ifaddr = ipaddr_v4(nd->ip);
	return nd;
}

static void sm_close(void *t)
{
	struct node *nd = t;
	if (nd)
		sim_free_items(&nd->dhead, &nd->dtail);
}

static int sm_fd(const void *t)
{
	(void)t;
	return -1;
}

static enum mesh_err sm_send(void *t, const uint8_t *dgram, size_t len)
{
	struct node *from = t;
	for (uint32_t i = 0; i < simnet_w->n; i++) {
		struct node *to = &simnet_w->nodes[i];
		if (to == from || !to->m || !sim_reachable(from, to) ||
		    sim_below(100) < simnet_w->cfg->beacon_loss_pct)
			continue;
		struct ev *e = sim_schedule(simnet_w->now + sim_delay(), EV_DGRAM);
		if (!e)
			return MESH_ENOMEM;
		e->node = i;
		memcpy(e->src, from->ip, 4);
		e->data = malloc(len);
		if (!e->data)
			return MESH_ENOMEM;
		memcpy(e->data, dgram, len);
		e->len = len;
	}
	return MESH_OK;
}

static enum mesh_err sm_recv(void *t, uint8_t *buf, size_t cap, bool *got, size_t *len,
                             struct ipaddr *from)
{
	struct node *nd = t;
	struct item *it = nd->dhead;
	*got = it != NULL;
	*len = 0;
	if (!it)
		return MESH_OK;
	nd->dhead = it->next;
	if (!nd->dhead)
		nd->dtail = NULL;
	*from = ipaddr_v4(it->src);
	*len = it->len > cap ? cap + 1 : it->len;
	memcpy(buf, it->data, it->len > cap ? cap : it->len);
	free(it);
	return MESH_OK;
}

static uint64_t sm_wall_ms(void *t)
{
	(void)t;
	return WALL_BASE_MS + simnet_w->now;
}

const struct mcast_ops simnet_mcast = {
	.open = sm_open, .close = sm_close, .fd = sm_fd, .send = sm_send, .recv = sm_recv,
	.wall_ms = sm_wall_ms,
};
