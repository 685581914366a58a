/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * simnet: see simnet.h. The world is a heap of timed events; each step takes the earliest
 * (ties in the order they were scheduled), sets the virtual clock to it and runs it: a datagram
 * or frame arriving at a node (then the node's engine reads its inbox, as after zmq_poll), a
 * node's timer, a connection coming up, an application send, or a fault. Nothing reads a real
 * clock, and every random choice comes from the seed, so a history replays exactly.
 */
#include "simnet_impl.h"
#include "seedrng.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>


/* ------------------------------------------------------------------ deterministic random */

void simnet_seed_rng(uint64_t seed)
{
	seedrng_seed(seed, "simnet-rng");
}

/* The scheduler's own choices, apart from the engines' draws, so that a change in how often
 * an engine draws does not move every fault. splitmix64. */
static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t sim_below(uint64_t n)
{
	return n ? prng() % n : 0;
}

struct world *simnet_w;              /* the run in progress: the ops' callbacks reach it */

void sim_problem(const char *fmt, ...)
{
	if (simnet_w->r->first_problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	char *out = simnet_w->r->first_problem;
	size_t cap = sizeof simnet_w->r->first_problem;
	int k = snprintf(out, cap, "t=%" PRIu64 " ms: ", simnet_w->now);
	vsnprintf(out + k, cap - (size_t)k, fmt, ap);
	va_end(ap);
}

void *sim_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(p, ncap * size);
	if (!np) {
		simnet_w->oom = true;
		return NULL;
	}
	*cap = ncap;
	return np;
}

/* ------------------------------------------------------------------ the event heap */

static bool before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

struct ev *sim_schedule(uint64_t t, enum ev_kind kind)
{
	size_t cap = simnet_w->capheap;
	struct ev **h = sim_grow(simnet_w->heap, &cap, simnet_w->nheap + 1, sizeof *h);
	struct ev *e = calloc(1, sizeof *e);
	if (!h || !e) {
		free(e);
		simnet_w->oom = true;
		return NULL;
	}
	simnet_w->heap = h;
	simnet_w->capheap = cap;
	e->t = t;
	e->seq = simnet_w->seq++;
	e->kind = kind;
	size_t i = simnet_w->nheap++;
	while (i > 0 && before(e, h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
	return e;
}

struct ev *sim_take(void)
{
	struct ev **h = simnet_w->heap, *top = h[0], *last = h[--simnet_w->nheap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= simnet_w->nheap)
			break;
		if (c + 1 < simnet_w->nheap && before(h[c + 1], h[c]))
			c++;
		if (!before(h[c], last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (simnet_w->nheap)
		h[i] = last;
	return top;
}

/* ------------------------------------------------------------------ nodes */

static void engine_log(void *arg, int level, const char *line)
{
	const struct node *nd = arg;
	fprintf(stderr, "%8" PRIu64 " node %u: [%d] %s\n", simnet_w->now, nd->idx, level, line);
}

static void schedule_tick(struct node *nd, uint64_t t)
{
	nd->next_tick = t;
	struct ev *e = sim_schedule(t, EV_TICK);
	if (e) {
		e->node = nd->idx;
		e->gen = ++nd->tick_gen;
	}
}

static bool node_start(struct node *nd, bool new_identity)
{
	const struct simnet_config *c = simnet_w->cfg;
	if (new_identity || !nd->id) {
		keys_identity_destroy(&nd->id);
		nd->id = keys_identity_generate();
		size_t cap = simnet_w->capident, cap2 = simnet_w->capident;
		uint32_t *in = sim_grow(simnet_w->ident_node, &cap, simnet_w->nident + 1, sizeof *in);
		if (!in || !nd->id)
			return false;
		simnet_w->ident_node = in;
		uint8_t (*ii)[WIRE_IDLEN] = sim_grow(simnet_w->ident_id, &cap2, simnet_w->nident + 1, sizeof *ii);
		if (!ii)
			return false;
		simnet_w->ident_id = ii;
		simnet_w->capident = (uint32_t)cap;
		for (uint32_t i = 0; i < simnet_w->n; i++) {
			struct last *nl = realloc(simnet_w->lasts[i], (simnet_w->nident + 1) * sizeof *nl);
			if (!nl)
				return false;
			nl[simnet_w->nident] = (struct last){ 0 };
			simnet_w->lasts[i] = nl;
		}
		nd->ident = simnet_w->nident;
		simnet_w->ident_node[nd->ident] = nd->idx;
		memcpy(simnet_w->ident_id[nd->ident], nd->id->id, WIRE_IDLEN);
		if (!sim_ident_index(nd->ident))
			return false;
		simnet_w->nident++;
	}
	char name[16], err[256];
	snprintf(name, sizeof name, "n%u", nd->idx);
	uint32_t beacon = c->beacon_ms ? c->beacon_ms : 1000;
	struct mesh_config mc = {
		.id = nd->id, .name = name, .beacon_interval_ms = beacon,
		.heartbeat_ms = c->heartbeat_ms ? c->heartbeat_ms : 1000,
		.evasive_ms = c->evasive_ms ? c->evasive_ms : 3000,
		.expired_ms = c->expired_ms ? c->expired_ms : 10000,
		.handshake_timeout_ms = c->handshake_timeout_ms,   /* 0: the engine's 5 s */
		.rekey_after_ms = c->rekey_ms,
		.fallback_ms = 3 * beacon, .queue_msgs = 1024, .queue_bytes = 16u << 20,
		.ttl_ms = 10000, .receipts = true, .manual_ack = true, .can_take = sim_can_take,
		.can_resume = sim_can_resume,
		.link_ops = &simnet_link, .link_env = nd,
		.mcast_ops = &simnet_mcast, .mcast_env = nd, .log_level = c->log_level,
		.log = c->log_level >= 0 ? engine_log : NULL, .log_arg = nd,
		.event = sim_on_event, .event_arg = nd,
	};
	nd->life++;
	nd->msg_id = 0;
	nd->live = 0;
	nd->m = mesh_new(&mc, simnet_w->now, err, sizeof err);
	if (!nd->m) {
		sim_problem("node %u cannot start: %s", nd->idx, err);
		return false;
	}
	if (mesh_join(nd->m, GROUP, simnet_w->now) != MESH_OK)
		sim_problem("node %u cannot join the group", nd->idx);
	simnet_w->up++;
	simnet_w->complete = 0;            /* recounted below: every node now lacks one peer */
	for (uint32_t i = 0; i < simnet_w->n; i++)
		if (simnet_w->nodes[i].m && simnet_w->nodes[i].live + 1 == simnet_w->up)
			simnet_w->complete++;
	schedule_tick(nd, simnet_w->now);
	return true;
}

/* Every message this process accepted and nobody answered for dies with it. */
static void node_crash(struct node *nd)
{
	for (size_t k = 0; k < simnet_w->nrecs; k++) {
		struct rec *r = &simnet_w->recs[k];
		if (r->sender_ident == nd->ident && r->sender_life == nd->life)
			r->sender_died = true;
	}
	struct mesh_stats st;
	uint64_t live_sessions;
	mesh_get_stats(nd->m, &st, &live_sessions);
	simnet_w->r->rekeys += st.rekeys;
	mesh_destroy(&nd->m);
	nd->ninbox = 0;                    /* never taken: their senders hear "peer restarted" */
	nd->slow_until = 0;
	simnet_w->live_total -= nd->live;
	nd->live = 0;
	sim_record_step();
	sim_free_items(&nd->fhead, &nd->ftail);
	sim_free_items(&nd->dhead, &nd->dtail);
	nd->paused = false;
	nd->tick_gen++;
	simnet_w->up--;
	simnet_w->complete = 0;
	for (uint32_t i = 0; i < simnet_w->n; i++)
		if (simnet_w->nodes[i].m && simnet_w->nodes[i].live + 1 == simnet_w->up)
			simnet_w->complete++;
}

/* What the loop does before it sleeps: a deadline the last turn made sooner than the tick
 * scheduled (an ACK, an answer, a stalled send) brings the tick forward. */
static void retick(struct node *nd)
{
	if (!nd->m || nd->paused)
		return;
	uint64_t due = mesh_next_due(nd->m);
	if (due < nd->next_tick)
		schedule_tick(nd, due > simnet_w->now ? due : simnet_w->now);
}

/* What a loop turn after its poll does: the engine reads everything waiting. */
static void node_ready(struct node *nd)
{
	for (int i = 0; i < 1000 && nd->m && !nd->paused && (nd->fhead || nd->dhead); i++)
		mesh_on_ready(nd->m, NULL, 0, simnet_w->now);
	retick(nd);
}

/* ------------------------------------------------------------------ faults */

static void fault_cut(void)
{
	uint32_t ups = 0;
	for (uint32_t i = 0; i < simnet_w->nconns; i++)
		ups += simnet_w->conns[i]->up;
	if (!ups)
		return;
	uint32_t k = (uint32_t)sim_below(ups);
	for (uint32_t i = 0; i < simnet_w->nconns; i++)
		if (simnet_w->conns[i]->up && k-- == 0) {
			simnet_w->r->cuts++;
			sim_conn_break(i, simnet_w->conns[i]);
			return;
		}
}

static void fault_partition(uint64_t until)
{
	simnet_w->r->partitions++;
	simnet_w->partition_until = until;
	uint64_t side1 = 0;
	for (uint32_t i = 0; i < simnet_w->n; i++) {
		simnet_w->nodes[i].side = (uint32_t)sim_below(2);
		side1 += simnet_w->nodes[i].side;
	}
	/* a scenario that must see the split gets one: a node moves to the empty side */
	if (simnet_w->cfg->partition_ms && simnet_w->n > 1 && (side1 == 0 || side1 == simnet_w->n)) {
		struct node *mv = &simnet_w->nodes[sim_below(simnet_w->n)];
		mv->side = !mv->side;
		side1 = mv->side ? side1 + 1 : side1 - 1;
	}
	if (!simnet_w->r->part_start_ms) {
		uint64_t side0 = simnet_w->n - side1;
		simnet_w->r->part_start_ms = simnet_w->now;
		simnet_w->r->part_heal_ms = until;
		simnet_w->r->part_live = side0 * (side0 ? side0 - 1 : 0) + side1 * (side1 ? side1 - 1 : 0);
	}
	struct ev *e = sim_schedule(until, EV_HEAL);
	(void)e;
}

static void heal(void)
{
	simnet_w->partition_until = 0;
	for (uint32_t i = 0; i < simnet_w->n; i++)
		simnet_w->nodes[i].side = 0;
}

static void plan_faults(void)
{
	const struct simnet_config *c = simnet_w->cfg;
	uint64_t d = c->duration_ms;
	for (uint32_t i = 0; i < c->cuts; i++)
		sim_schedule(sim_below(d), EV_CUT);
	for (uint32_t i = 0; i < c->partitions; i++) {
		/* a partition of a set length ends before the traffic does: settling heals it */
		uint64_t room = c->partition_ms && d > c->partition_ms ? d - c->partition_ms : d;
		struct ev *e = sim_schedule(c->partition_ms && d <= c->partition_ms ? 0 :
		                            sim_below(room), EV_PARTITION);
		if (e)
			e->len = c->partition_ms ? c->partition_ms : 500 + sim_below(5000);
	}
	for (uint32_t i = 0; i < c->crashes; i++) {
		struct ev *e = sim_schedule(sim_below(d), EV_CRASH);
		if (e)
			e->node = (uint32_t)sim_below(simnet_w->n);
	}
	for (uint32_t i = 0; i < c->pauses; i++) {
		struct ev *e = sim_schedule(sim_below(d), EV_PAUSE);
		if (e)
			e->node = (uint32_t)sim_below(simnet_w->n);
	}
	for (uint32_t i = 0; i < c->slow_readers; i++) {
		struct ev *e = sim_schedule(sim_below(d), EV_SLOW);
		if (e)
			e->node = (uint32_t)sim_below(simnet_w->n);
	}
}

/* ------------------------------------------------------------------ the run */

static void step(struct ev *e)
{
	struct node *nd = e->kind == EV_DGRAM || e->kind == EV_TICK || e->kind == EV_APP ||
	                  e->kind == EV_CRASH || e->kind == EV_RESTART ||
	                  e->kind == EV_PAUSE || e->kind == EV_RESUME || e->kind == EV_SLOW ||
	                  e->kind == EV_TAKE
	                  ? &simnet_w->nodes[e->node] : NULL;
	bool calm = simnet_w->settling;
	switch (e->kind) {
	case EV_DGRAM:
		if (nd->m) {
			struct item *it = sim_item_new(e->data, e->len);
			if (it) {
				memcpy(it->src, e->src, 4);
				sim_append(&nd->dhead, &nd->dtail, it);
			}
			node_ready(nd);
		}
		break;
	case EV_FRAME: {
		struct conn *c = simnet_w->conns[e->conn];
		if (c->epoch != e->gen)
			break;                  /* lost in a break */
		struct node *to = &simnet_w->nodes[e->back ? c->from : c->to];
		if (!to->m || (e->back ? c->from_life : c->to_life) != to->life)
			break;
		struct item *it = sim_item_new(e->data, e->len);
		if (it) {
			it->conn = e->conn;
			it->epoch = e->gen;
			it->back = e->back;
			sim_append(&to->fhead, &to->ftail, it);
		}
		node_ready(to);
		break;
	}
	case EV_CONNECT:
		sim_on_connect(e->conn, e->gen);
		break;
	case EV_TICK:
		if (nd->m && !nd->paused && e->gen == nd->tick_gen) {
			uint64_t next = mesh_on_tick(nd->m, simnet_w->now);
			schedule_tick(nd, next > simnet_w->now ? next : simnet_w->now + 1);
		}
		break;
	case EV_APP: {
		if (nd->m && !nd->paused && !calm)
			sim_app_send(nd);
		retick(nd);
		uint64_t mean = simnet_w->cfg->msg_interval_ms;
		struct ev *n2 = calm ? NULL : sim_schedule(simnet_w->now + 1 + sim_below(2 * mean), EV_APP);
		if (n2)
			n2->node = nd->idx;
		break;
	}
	case EV_CUT:
		if (!calm)
			fault_cut();
		break;
	case EV_PARTITION:
		if (!calm && !simnet_w->partition_until)
			fault_partition(simnet_w->now + e->len);
		break;
	case EV_HEAL:
		if (simnet_w->partition_until && simnet_w->partition_until <= simnet_w->now)
			heal();
		break;
	case EV_CRASH:
		if (!calm && nd->m) {
			simnet_w->r->crashes++;
			node_crash(nd);
			struct ev *r = sim_schedule(simnet_w->now + 100 + sim_below(3000), EV_RESTART);
			if (r)
				r->node = nd->idx;
		}
		break;
	case EV_RESTART:
		if (!nd->m) {
			simnet_w->r->restarts += nd->life > 0;
			node_start(nd, nd->life > 0 && sim_below(5) == 0);
		}
		break;
	case EV_PAUSE:
		if (!calm && nd->m && !nd->paused) {
			simnet_w->r->pauses++;
			nd->paused = true;
			struct ev *r = sim_schedule(simnet_w->now + 200 + sim_below(4000), EV_RESUME);
			if (r)
				r->node = nd->idx;
		}
		break;
	case EV_RESUME:
		if (nd->m && nd->paused) {
			nd->paused = false;
			node_ready(nd);
			schedule_tick(nd, simnet_w->now);
		}
		break;
	case EV_SLOW:
		/* the application stops reading for a while; the engine keeps running */
		if (!calm && nd->m && nd->slow_until <= simnet_w->now) {
			simnet_w->r->slow_readers++;
			nd->slow_until = simnet_w->now + 500 + sim_below(6000);
		}
		break;
	case EV_TAKE:
		sim_app_take(nd);
		retick(nd);
		break;
	case EV_END:
		break;
	}
}

static void settle(void)
{
	simnet_w->settling = true;
	heal();
	for (uint32_t i = 0; i < simnet_w->n; i++) {
		struct node *nd = &simnet_w->nodes[i];
		if (!nd->m) {
			simnet_w->r->restarts++;
			node_start(nd, false);
		} else if (nd->paused) {
			nd->paused = false;
			node_ready(nd);
			schedule_tick(nd, simnet_w->now);
		}
		if (nd->slow_until > simnet_w->now)
			nd->slow_until = simnet_w->now;   /* its pending EV_TAKE comes at its time */
		/* rekeys ran under the faults; settling need not pay for one every rekey_ms */
		if (nd->m)
			mesh_test_set_rekey(nd->m, 0);
	}
}

void simnet_config_init(struct simnet_config *c, uint32_t nodes, uint64_t seed)
{
	*c = (struct simnet_config){
		.nodes = nodes, .seed = seed, .duration_ms = 20000, .settle_ms = 40000,
		.latency_ms = 1, .jitter_ms = 2, .beacon_loss_pct = 5, .cuts = 4, .partitions = 1,
		.crashes = 2, .pauses = 2, .slow_readers = 2, .msg_interval_ms = 200, .big_pct = 2, .shout_pct = 25,
		.rekey_ms = SIMNET_REKEY_MS, .log_level = -1,
	};
}

void simnet_report_free(struct simnet_report *r)
{
	free(r->steps);
	free(r->latencies_ms);
	r->steps = NULL;
	r->latencies_ms = NULL;
	r->nsteps = r->nlat = 0;
}

static void world_free(struct world *w)
{
	for (uint32_t i = 0; i < w->n; i++) {
		struct node *nd = &w->nodes[i];
		mesh_destroy(&nd->m);
		keys_identity_destroy(&nd->id);
		sim_free_items(&nd->fhead, &nd->ftail);
		sim_free_items(&nd->dhead, &nd->dtail);
		free(nd->dialled);
		free(nd->fbuf);
		free(nd->inbox);
		if (w->lasts)
			free(w->lasts[i]);
	}
	for (uint32_t i = 0; i < w->nconns; i++) {
		sim_free_items(&w->conns[i]->wait_head, &w->conns[i]->wait_tail);
		free(w->conns[i]);
	}
	while (w->nheap) {
		struct ev *e = sim_take();
		free(e->data);
		free(e);
	}
	free(w->heap);
	free(w->nodes);
	free(w->conns);
	free(w->route_conn);
	free(w->ident_node);
	free(w->ident_id);
	free(w->idx);
	free(w->recs);
	free(w->rec_index);
	free(w->lasts);
	free(w->payload);
}

int simnet_run(const struct simnet_config *c, struct simnet_report *r)
{
	struct world w = { .cfg = c, .r = r };
	memset(r, 0, sizeof *r);
	simnet_w = &w;
	prng_state = c->seed;
	w.n = c->nodes;
	w.nodes = calloc(w.n, sizeof *w.nodes);
	w.lasts = calloc(w.n, sizeof *w.lasts);
	w.payload = malloc(HDR + 5 * WIRE_MAX_FRAGMENT + 1000 > (size_t)c->msg_size
	                   ? HDR + 5 * WIRE_MAX_FRAGMENT + 1000 : c->msg_size);
	if (!w.nodes || !w.lasts || !w.payload || w.n > 65000 ||
	    c->msg_size > WIRE_MAX_PAYLOAD) {
		world_free(&w);
		simnet_w = NULL;
		return -1;
	}
	for (uint32_t i = 0; i < w.n; i++) {
		struct node *nd = &w.nodes[i];
		nd->idx = i;
		nd->ip[0] = 10;
		nd->ip[1] = (uint8_t)((i + 1) >> 16);
		nd->ip[2] = (uint8_t)((i + 1) >> 8);
		nd->ip[3] = (uint8_t)(i + 1);
	}
	/* nodes start within the first 200 ms, as a crowd started by a script would */
	for (uint32_t i = 0; i < w.n; i++) {
		struct ev *e = sim_schedule(sim_below(200), EV_RESTART);
		if (e)
			e->node = i;
		if (c->msg_interval_ms && (e = sim_schedule(1000 + sim_below(c->msg_interval_ms), EV_APP)))
			e->node = i;
	}
	plan_faults();
	sim_schedule((uint64_t)c->duration_ms, EV_END);
	uint64_t end = (uint64_t)c->duration_ms + c->settle_ms;
	bool settled = false;
	while (w.nheap && !w.oom) {
		if (w.heap[0]->t > end)
			break;
		struct ev *e = sim_take();
		w.now = e->t;
		if (!settled && w.now >= c->duration_ms) {
			settled = true;
			settle();
		}
		step(e);
		r->events++;
		free(e->data);
		free(e);
		if (!r->converged_ms && w.up == w.n && w.complete == w.n) {
			r->converged_ms = w.now ? w.now : 1;
			if (c->end_after_converged_ms &&
			    w.now + c->end_after_converged_ms < end)
				end = w.now + c->end_after_converged_ms;
		}
	}
	w.now = end;
	r->virtual_ms = end;
	int rc = w.oom ? -1 : 0;
	if (!w.oom)
		sim_final_checks();
	world_free(&w);
	simnet_w = NULL;
	return rc;
}
