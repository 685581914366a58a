/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * The node's read-only queries: peers, groups, status, stats and counters. Each is a command
 * (meshnode.c's FIFO): the caller's thread waits in node_call() while the loop thread, which
 * owns the engine, runs queries_run_*() and copies what it reads into memory the caller then
 * owns and frees with the matching *_free(). Nothing here touches the engine from the
 * caller's thread.
 */
#include "meshnode.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "keys.h"
#include "mesh.h"
#include "node_impl.h"

/* ---------- on the loop thread ---------- */

struct peers_acc {
	struct meshnode_peer *v;
	size_t n, cap;
	bool oom;
};

static void collect_peer(const struct mesh_peer_info *info, void *arg)
{
	struct peers_acc *acc = arg;
	const struct mesh_peer_view *p = info->peer;
	if (acc->oom)
		return;
	if (acc->n == acc->cap) {
		size_t ncap = acc->cap ? acc->cap * 2 : 16;
		struct meshnode_peer *nv = realloc(acc->v, ncap * sizeof *nv);
		if (!nv) {
			acc->oom = true;
			return;
		}
		acc->v = nv;
		acc->cap = ncap;
	}
	struct meshnode_peer *mp = &acc->v[acc->n];
	memset(mp, 0, sizeof *mp);
	memcpy(mp->id, p->id, MESHNODE_IDLEN);
	memcpy(mp->id_hex, p->hex, sizeof mp->id_hex);
	snprintf(mp->name, sizeof mp->name, "%s", p->name);
	keys_fingerprint(p->id, mp->fingerprint);
	ipaddr_endpoint(&p->ip, p->port, mp->endpoint);
	mp->evasive = p->evasive;
	mp->initiator = info->initiator;
	mp->local_sid = info->local_sid;
	mp->queued_msgs = p->queued_msgs;
	if (p->groups->n) {
		mp->groups = calloc(p->groups->n, sizeof *mp->groups);
		if (!mp->groups) {
			acc->oom = true;
			return;
		}
		for (size_t i = 0; i < p->groups->n; i++)
			snprintf(mp->groups[i], sizeof mp->groups[i], "%s", p->groups->names[i]);
		mp->ngroups = p->groups->n;
	}
	acc->n++;
}

struct status_acc {
	struct meshnode_peer_status *v;
	size_t n, cap;
	bool oom;
	uint64_t now;
};

static uint64_t ago(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void collect_status(const struct mesh_peer_info *info, void *arg)
{
	struct status_acc *acc = arg;
	const struct mesh_peer_view *p = info->peer;
	if (acc->oom)
		return;
	if (acc->n == acc->cap) {
		size_t ncap = acc->cap ? acc->cap * 2 : 16;
		struct meshnode_peer_status *nv = realloc(acc->v, ncap * sizeof *nv);
		if (!nv) {
			acc->oom = true;
			return;
		}
		acc->v = nv;
		acc->cap = ncap;
	}
	struct meshnode_peer_status *ps = &acc->v[acc->n++];
	memset(ps, 0, sizeof *ps);
	memcpy(ps->id, p->id, MESHNODE_IDLEN);
	memcpy(ps->id_hex, p->hex, sizeof ps->id_hex);
	snprintf(ps->name, sizeof ps->name, "%s", p->name);
	ipaddr_endpoint(&p->ip, p->port, ps->endpoint);
	ps->local_sid = info->local_sid;
	ps->initiator = info->initiator;
	ps->session_age_ms = ago(acc->now, info->created_ms);
	ps->handshake_age_ms = ago(acc->now, info->keys_ms);
	ps->last_rx_age_ms = ago(acc->now, info->last_rx_ms);
	ps->rtt_ms = info->rtt_srtt_ms;
	ps->rtt_last_ms = info->rtt_last_ms;
	ps->rtt_samples = info->rtt_samples;
	ps->tx_bytes = info->tx_bytes;
	ps->rx_bytes = info->rx_bytes;
	ps->tx_msgs = info->tx_msgs;
	ps->rx_msgs = info->rx_msgs;
	ps->queued_msgs = p->queued_msgs;
	ps->queued_bytes = info->queued_bytes;
	ps->unacked_msgs = p->unacked_msgs;
	ps->rekeys = info->rekeys;
}

static int status_cmp(const void *a, const void *b)
{
	const struct meshnode_peer_status *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : memcmp(x->id, y->id, MESHNODE_IDLEN);
}

void queries_run_status(struct meshnode *n, struct cmd *c, uint64_t now)
{
	struct status_acc acc = { .now = now };
	struct mesh_traffic t;
	mesh_each_live_peer(n->mesh, collect_status, &acc);
	if (acc.oom) {
		free(acc.v);
		c->rc = MESH_ENOMEM;
		return;
	}
	if (acc.n > 1)
		qsort(acc.v, acc.n, sizeof *acc.v, status_cmp);
	mesh_get_traffic(n->mesh, &t);
	c->status = (struct meshnode_status){
		.uptime_ms = ago(now, n->start_ms), .peers = acc.n, .sessions = t.sessions,
		.tx_bytes = t.tx_bytes, .rx_bytes = t.rx_bytes, .tx_msgs = t.tx_msgs,
		.rx_msgs = t.rx_msgs,
	};
	c->pstatus = acc.v;
	c->npeers = acc.n;
	c->rc = MESH_OK;
}

void queries_run_peers(struct meshnode *n, struct cmd *c)
{
	struct peers_acc acc = { 0 };
	mesh_each_live_peer(n->mesh, collect_peer, &acc);
	if (acc.oom) {
		meshnode_peers_free(&acc.v, acc.n);
		c->rc = MESH_ENOMEM;
	} else {
		c->peers = acc.v;
		c->npeers = acc.n;
		c->rc = MESH_OK;
	}
}

void queries_run_groups(struct meshnode *n, struct cmd *c)
{
	const struct group_set *gs = mesh_groups(n->mesh);
	c->groups = calloc(gs->n ? gs->n : 1, sizeof *c->groups);
	if (!c->groups) {
		c->rc = MESH_ENOMEM;
		return;
	}
	for (size_t i = 0; i < gs->n; i++) {
		c->groups[i] = node_dupstr(gs->names[i]);
		if (!c->groups[i]) {
			meshnode_groups_free(&c->groups, i);
			c->rc = MESH_ENOMEM;
			return;
		}
	}
	c->ngroups = gs->n;
	c->rc = MESH_OK;
}

void queries_run_stats(struct meshnode *n, struct cmd *c)
{
	mesh_get_stats(n->mesh, &c->stats, &c->sessions_live);
	c->rc = MESH_OK;
}

/* ---------- on the caller's thread ---------- */

enum mesh_err meshnode_peers(struct meshnode *n, struct meshnode_peer **out, size_t *count)
{
	struct cmd c = { .kind = CMD_PEERS };
	enum mesh_err rc = node_call(n, &c);
	*out = rc == MESH_OK ? c.peers : NULL;
	*count = rc == MESH_OK ? c.npeers : 0;
	return rc;
}

void meshnode_peers_free(struct meshnode_peer **peers, size_t count)
{
	if (!peers || !*peers)
		return;
	for (size_t i = 0; i < count; i++)
		free((*peers)[i].groups);
	free(*peers);
	*peers = NULL;
}

enum mesh_err meshnode_groups(struct meshnode *n, char ***out, size_t *count)
{
	struct cmd c = { .kind = CMD_GROUPS };
	enum mesh_err rc = node_call(n, &c);
	*out = rc == MESH_OK ? c.groups : NULL;
	*count = rc == MESH_OK ? c.ngroups : 0;
	return rc;
}

void meshnode_groups_free(char ***groups, size_t count)
{
	if (!groups || !*groups)
		return;
	for (size_t i = 0; i < count; i++)
		free((*groups)[i]);
	free(*groups);
	*groups = NULL;
}

enum mesh_err meshnode_status(struct meshnode *n, struct meshnode_status *totals,
                              struct meshnode_peer_status **peers, size_t *count)
{
	struct cmd c = { .kind = CMD_STATUS };
	if (!n || !totals || !peers || !count)
		return MESH_EINVAL;
	*peers = NULL;
	*count = 0;
	enum mesh_err rc = node_call(n, &c);
	if (rc != MESH_OK)
		return rc;
	*totals = c.status;
	*peers = c.pstatus;
	*count = c.npeers;
	return MESH_OK;
}

void meshnode_status_free(struct meshnode_peer_status **peers)
{
	if (!peers)
		return;
	free(*peers);
	*peers = NULL;
}

enum mesh_err meshnode_stats(struct meshnode *n, struct meshnode_stats *out)
{
	struct cmd c = { .kind = CMD_STATS };
	if (!n || !out)
		return MESH_EINVAL;
	enum mesh_err rc = node_call(n, &c);
	if (rc != MESH_OK)
		return rc;
#define COPY_COUNTER(name) out->name = c.stats.name;
	MESH_STATS_PUBLIC(COPY_COUNTER)
#undef COPY_COUNTER
	out->sessions_live = c.sessions_live;
	return MESH_OK;
}

enum mesh_err meshnode_counters(struct meshnode *n, struct meshnode_counter *out, size_t cap,
                                size_t *count)
{
	struct cmd c = { .kind = CMD_STATS };
	if (!n || !count || (cap && !out))
		return MESH_EINVAL;
	enum mesh_err rc = node_call(n, &c);
	if (rc != MESH_OK)
		return rc;
	size_t i = 0;
#define PUT_COUNTER(f) \
	do { \
		if (i < cap) \
			out[i] = (struct meshnode_counter){ #f, c.stats.f }; \
		i++; \
	} while (0);
	MESH_STATS_PUBLIC(PUT_COUNTER)
	if (i < cap)
		out[i] = (struct meshnode_counter){ "sessions_live", c.sessions_live };
	i++;
	MESH_STATS_ENGINE(PUT_COUNTER)
#undef PUT_COUNTER
	*count = i;
	return MESH_OK;
}
