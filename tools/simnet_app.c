/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * simnet_app: simnet's application and its checks. Every node sends whispers and shouts whose
 * payload names the sender's identity, process life and message ID; every (message,
 * recipient) the sender's engine accepted is recorded, and each delivery and each DROPPED is
 * matched to its record, so that a duplicate or a reordering is seen as it happens and, after
 * settling, every record is accounted for (simnet.h). The links at the end are counted here
 * too.
 */
#include "simnet_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the record of messages */

static uint64_t rec_hash(uint32_t s, uint32_t life, uint64_t id, uint32_t d)
{
	uint64_t h = ((uint64_t)s * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)life << 32) ^
	             (id * 0xbf58476d1ce4e5b9ull) ^ ((uint64_t)d * 0x94d049bb133111ebull);
	return h ^ (h >> 29);
}

static struct rec *rec_find(uint32_t s, uint32_t life, uint64_t id, uint32_t d)
{
	if (!simnet_w->capindex)
		return NULL;
	size_t mask = simnet_w->capindex - 1;
	for (size_t i = rec_hash(s, life, id, d) & mask;; i = (i + 1) & mask) {
		size_t k = simnet_w->rec_index[i];
		if (!k)
			return NULL;
		struct rec *r = &simnet_w->recs[k - 1];
		if (r->sender_ident == s && r->sender_life == life && r->msg_id == id &&
		    r->dest_ident == d)
			return r;
	}
}

/* The index is kept at most half full, so there is always a free slot. */
static void rec_index_put(size_t *index, size_t cap, const struct rec *r, size_t k)
{
	size_t mask = cap - 1;
	size_t i = rec_hash(r->sender_ident, r->sender_life, r->msg_id, r->dest_ident) & mask;
	while (index[i])
		i = (i + 1) & mask;
	index[i] = k;
}

static void rec_add(uint32_t s, uint32_t life, uint64_t id, uint32_t d)
{
	size_t cap = simnet_w->caprecs;
	struct rec *rs = sim_grow(simnet_w->recs, &cap, simnet_w->nrecs + 1, sizeof *rs);
	if (!rs)
		return;
	simnet_w->recs = rs;
	simnet_w->caprecs = cap;
	if (2 * (simnet_w->nrecs + 1) > simnet_w->capindex) {
		size_t ncap = simnet_w->capindex ? 2 * simnet_w->capindex : 1024;
		size_t *ni = calloc(ncap, sizeof *ni);
		if (!ni) {
			simnet_w->oom = true;
			return;
		}
		for (size_t k = 0; k < simnet_w->nrecs; k++)
			rec_index_put(ni, ncap, &simnet_w->recs[k], k + 1);
		free(simnet_w->rec_index);
		simnet_w->rec_index = ni;
		simnet_w->capindex = ncap;
	}
	struct rec *r = &simnet_w->recs[simnet_w->nrecs++];
	*r = (struct rec){ .sender_ident = s, .sender_life = life, .msg_id = id, .dest_ident = d,
	                   .sent_ms = simnet_w->now };
	rec_index_put(simnet_w->rec_index, simnet_w->capindex, r, simnet_w->nrecs);
}

static size_t ident_slot(const uint8_t id[WIRE_IDLEN])
{
	uint64_t h;
	memcpy(&h, id, sizeof h);
	return (size_t)(h ^ (h >> 31)) & (simnet_w->capidx - 1);
}

/* The identity number of a node ID; UINT32_MAX if it is none of ours. */
static uint32_t ident_of(const uint8_t id[WIRE_IDLEN])
{
	for (size_t i = ident_slot(id);; i = (i + 1) & (simnet_w->capidx - 1)) {
		uint32_t k = simnet_w->idx[i];
		if (!k)
			return UINT32_MAX;
		if (memcmp(simnet_w->ident_id[k - 1], id, WIRE_IDLEN) == 0)
			return k - 1;
	}
}

bool sim_ident_index(uint32_t ident)
{
	if (2 * (simnet_w->nident + 1) > simnet_w->capidx) {
		size_t ncap = simnet_w->capidx ? 2 * simnet_w->capidx : 256;
		uint32_t *ni = calloc(ncap, sizeof *ni);
		if (!ni) {
			simnet_w->oom = true;
			return false;
		}
		free(simnet_w->idx);
		simnet_w->idx = ni;
		simnet_w->capidx = ncap;
		for (uint32_t k = 0; k < simnet_w->nident; k++)
			if (k != ident)
				(void)sim_ident_index(k);
	}
	size_t i = ident_slot(simnet_w->ident_id[ident]);
	while (simnet_w->idx[i])
		i = (i + 1) & (simnet_w->capidx - 1);
	simnet_w->idx[i] = ident + 1;
	return true;
}

/* ------------------------------------------------------------------ the application */

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void on_received(struct node *nd, const uint8_t *data, size_t len)
{
	if (len < HDR) {
		sim_problem("node %u got a message of %zu bytes, shorter than its header", nd->idx, len);
		simnet_w->r->reordered++;
		return;
	}
	uint32_t s = (uint32_t)get64(data), life = (uint32_t)get64(data + 8);
	uint64_t id = get64(data + 16);
	if (s >= simnet_w->nident) {
		sim_problem("node %u got a message naming no sender", nd->idx);
		simnet_w->r->reordered++;
		return;
	}
	struct last *l = &simnet_w->lasts[nd->idx][s];
	if (l->sender_life == life && id <= l->msg_id) {
		struct rec *r = rec_find(s, life, id, nd->ident);
		bool again = r && r->delivered;
		if (again)
			simnet_w->r->duplicates++;
		else
			simnet_w->r->reordered++;
		sim_problem("node %u got message %" PRIu64 " of identity %u life %u %s (last %" PRIu64
		        ")", nd->idx, id, s, life, again ? "twice" : "out of order", l->msg_id);
	}
	if (l->sender_life != life || id > l->msg_id) {
		l->sender_life = life;
		l->msg_id = id;
	}
	struct rec *r = rec_find(s, life, id, nd->ident);
	if (r && r->delivered++ == 0 && simnet_w->cfg->record) {
		struct simnet_report *rep = simnet_w->r;
		double *nl = sim_grow(rep->latencies_ms, &simnet_w->caplat, rep->nlat + 1, sizeof *nl);
		if (nl) {
			rep->latencies_ms = nl;
			nl[rep->nlat++] = (double)(simnet_w->now - r->sent_ms);
		}
	}
}

void sim_record_step(void)
{
	struct simnet_report *r = simnet_w->r;
	if (!simnet_w->cfg->record)
		return;
	if (r->nsteps && r->steps[r->nsteps - 1].ms == simnet_w->now) {
		r->steps[r->nsteps - 1].live = simnet_w->live_total;
		return;
	}
	struct simnet_step *ns = sim_grow(r->steps, &simnet_w->capsteps, r->nsteps + 1, sizeof *ns);
	if (!ns)
		return;
	r->steps = ns;
	ns[r->nsteps++] = (struct simnet_step){ simnet_w->now, simnet_w->live_total };
}

void sim_on_event(void *arg, const struct mesh_event *ev)
{
	struct node *nd = arg;
	switch (ev->type) {
	case MESH_EV_ENTER:
		nd->live++;
		simnet_w->live_total++;
		if (nd->live + 1 == simnet_w->up)
			simnet_w->complete++;
		sim_record_step();
		break;
	case MESH_EV_EXIT:
		simnet_w->r->exits++;
		if (nd->live + 1 == simnet_w->up)
			simnet_w->complete--;
		nd->live--;
		simnet_w->live_total--;
		sim_record_step();
		break;
	case MESH_EV_SHOUT:
	case MESH_EV_WHISPER: {
		/* into the inbox; the application takes it later (EV_TAKE), never inside the
		 * engine's callback */
		struct inmsg *in = sim_grow(nd->inbox, &nd->capinbox, nd->ninbox + 1, sizeof *in);
		if (!in)
			break;
		nd->inbox = in;
		in = &nd->inbox[nd->ninbox++];
		memcpy(in->peer, ev->peer->id, WIRE_IDLEN);
		in->incarnation = ev->peer->incarnation;
		in->msg_id = ev->msg_id;
		in->len = ev->len;
		memset(in->hdr, 0, HDR);
		memcpy(in->hdr, ev->data, ev->len < HDR ? ev->len : HDR);
		if (!nd->take_due) {
			struct ev *t = sim_schedule(simnet_w->now > nd->slow_until ? simnet_w->now
			                                                            : nd->slow_until,
			                            EV_TAKE);
			if (t) {
				t->node = nd->idx;
				nd->take_due = true;
			}
		}
		break;
	}
	case MESH_EV_DROPPED:
	case MESH_EV_DELIVERED: {
		uint32_t d = ident_of(ev->peer->id);
		struct rec *r = d == UINT32_MAX ? NULL
		                                : rec_find(nd->ident, nd->life, ev->msg_id, d);
		if (r && ev->type == MESH_EV_DELIVERED)
			r->receipts++;
		else if (r) {
			r->reported++;
			r->reported_sure += !ev->maybe_delivered;
		}
		break;
	}
	default:
		break;
	}
	free(ev->data);
}

void sim_app_take(struct node *nd)
{
	nd->take_due = false;
	if (!nd->m)
		return;
	if (simnet_w->now < nd->slow_until) {
		struct ev *t = sim_schedule(nd->slow_until, EV_TAKE);
		if (t) {
			t->node = nd->idx;
			nd->take_due = true;
		}
		return;
	}
	for (size_t i = 0; i < nd->ninbox; i++) {
		struct inmsg *in = &nd->inbox[i];
		on_received(nd, in->hdr, in->len);
		mesh_taken(nd->m, in->peer, in->incarnation, in->msg_id, in->len, simnet_w->now);
	}
	nd->ninbox = 0;
}

bool sim_can_take(void *arg, size_t len)
{
	struct node *nd = arg;
	(void)len;
	return nd->ninbox < INBOX_MAX;
}

bool sim_can_resume(void *arg)
{
	struct node *nd = arg;
	return nd->ninbox <= INBOX_MAX / 2;
}

struct members {
	uint32_t *ident;
	size_t n, cap;
	bool shout;
};

static void collect_member(const struct mesh_peer_info *info, void *arg)
{
	struct members *ms = arg;
	if (ms->shout && !group_set_has(info->peer->groups, GROUP, strlen(GROUP)))
		return;
	uint32_t d = ident_of(info->peer->id);
	if (d == UINT32_MAX)
		return;
	uint32_t *ni = sim_grow(ms->ident, &ms->cap, ms->n + 1, sizeof *ni);
	if (!ni)
		return;
	ms->ident = ni;
	ms->ident[ms->n++] = d;
}

void sim_app_send(struct node *nd)
{
	const struct simnet_config *c = simnet_w->cfg;
	struct members ms = { .shout = sim_below(100) < c->shout_pct };
	mesh_each_live_peer(nd->m, collect_member, &ms);
	size_t len = HDR + sim_below(200);
	if (c->msg_size)
		len = c->msg_size < HDR ? HDR : c->msg_size;
	else if (sim_below(100) < c->big_pct)
		len = HDR + WIRE_MAX_FRAGMENT * (1 + sim_below(4)) + sim_below(1000);
	uint64_t id = ++nd->msg_id;
	put64(simnet_w->payload, nd->ident);
	put64(simnet_w->payload + 8, nd->life);
	put64(simnet_w->payload + 16, id);
	memset(simnet_w->payload + HDR, (int)(id & 0xff), len - HDR);
	struct outmsg *om;
	enum mesh_err rc;
	if (ms.shout) {
		om = outmsg_new(OUTMSG_SHOUT, id, GROUP, simnet_w->payload, len);
		rc = om ? mesh_shout_msg(nd->m, om, simnet_w->now) : MESH_ENOMEM;
		for (size_t i = 0; rc == MESH_OK && i < ms.n; i++)
			rec_add(nd->ident, nd->life, id, ms.ident[i]);
	} else if (ms.n) {
		uint32_t d = ms.ident[sim_below(ms.n)];
		om = outmsg_new(OUTMSG_WHISPER, id, NULL, simnet_w->payload, len);
		rc = om ? mesh_whisper_msg(nd->m, simnet_w->ident_id[d], om, simnet_w->now) : MESH_ENOMEM;
		if (rc == MESH_OK)
			rec_add(nd->ident, nd->life, id, d);
	} else {
		om = NULL;
		rc = MESH_ENOTFOUND;
	}
	outmsg_unref(&om);
	if (rc == MESH_OK) {
		simnet_w->r->sent++;
		simnet_w->r->accepted += ms.shout ? ms.n : 1;
	}
	else
		simnet_w->r->refused++;
	free(ms.ident);
}

struct count_live {
	uint32_t *seen;
	uint32_t n;
};

static void mark_live(const struct mesh_peer_info *info, void *arg)
{
	struct count_live *cl = arg;
	uint32_t d = ident_of(info->peer->id);
	if (d != UINT32_MAX && simnet_w->ident_node[d] < simnet_w->n &&
	    simnet_w->nodes[simnet_w->ident_node[d]].ident == d)
		cl->seen[simnet_w->ident_node[d]]++;
	cl->n++;
}

void sim_final_checks(void)
{
	struct simnet_report *r = simnet_w->r;
	uint32_t *seen = calloc(simnet_w->n, sizeof *seen);
	if (!seen) {
		simnet_w->oom = true;
		return;
	}
	/* links: every running pair, one live session each way, and nothing else */
	for (uint32_t i = 0; i < simnet_w->n; i++) {
		memset(seen, 0, simnet_w->n * sizeof *seen);
		struct count_live cl = { seen, 0 };
		mesh_each_live_peer(simnet_w->nodes[i].m, mark_live, &cl);
		for (uint32_t j = 0; j < simnet_w->n; j++)
			if (j != i && seen[j] != 1) {
				r->pairs_unlinked++;
				sim_problem("after settling, node %u sees node %u live %u times", i, j,
				        seen[j]);
			}
		if (cl.n > simnet_w->n - 1) {
			r->stray_sessions += cl.n - (simnet_w->n - 1);
			sim_problem("after settling, node %u has %u live peers, %u of them not running", i,
			        cl.n, cl.n - (simnet_w->n - 1));
		}
		size_t all, dealers;
		struct mesh_stats st;
		uint64_t live_sessions;
		mesh_get_stats(simnet_w->nodes[i].m, &st, &live_sessions);
		r->msgs_refused += st.msgs_refused;
		r->rekeys += st.rekeys;
		mesh_test_sessions(simnet_w->nodes[i].m, &all, &dealers);
		if (all > cl.n) {
			r->stray_sessions += all - cl.n;
			sim_problem("after settling, node %u holds %zu sessions for %u live peers", i, all,
			        cl.n);
		}
	}
	free(seen);
	/* messages: every one delivered once, or reported, or gone with its sender */
	for (size_t k = 0; k < simnet_w->nrecs; k++) {
		const struct rec *m = &simnet_w->recs[k];
		if (m->delivered && m->reported)
			r->reported_delivered++;
		if (m->delivered)
			r->delivered++;
		else if (m->reported)
			r->reported++;
		else if (m->sender_died)
			r->with_sender++;
		else {
			r->lost++;
			sim_problem("message %" PRIu64 " of identity %u (life %u) to identity %u: neither "
			        "delivered nor reported", m->msg_id, m->sender_ident, m->sender_life,
			        m->dest_ident);
		}
		if (m->sender_died)
			continue;
		if (m->receipts + m->reported != 1) {
			r->unanswered++;
			sim_problem("message %" PRIu64 " of identity %u (life %u) to identity %u: %u "
			            "answers (%u delivered, %u dropped)", m->msg_id, m->sender_ident,
			            m->sender_life, m->dest_ident, m->receipts + m->reported, m->receipts,
			            m->reported);
		}
		if ((m->receipts && !m->delivered) || (m->reported_sure && m->delivered)) {
			r->false_answers++;
			sim_problem("message %" PRIu64 " of identity %u (life %u) to identity %u: "
			            "delivered %u times, yet answered %s", m->msg_id, m->sender_ident,
			            m->sender_life, m->dest_ident, m->delivered,
			            m->receipts ? "delivered" : "certainly not delivered");
		}
	}
}

unsigned simnet_broken(const struct simnet_report *r)
{
	unsigned bad = 0;
	if (r->duplicates || r->reordered)
		bad |= SIMNET_BAD_ORDER;
	if (r->pairs_unlinked)
		bad |= SIMNET_BAD_UNLINKED;
	if (r->stray_sessions)
		bad |= SIMNET_BAD_STRAY;
	if (r->unanswered || r->false_answers)
		bad |= SIMNET_BAD_ANSWER;
	if (r->lost)
		bad |= SIMNET_BAD_DELIVERY;
	return bad;
}
