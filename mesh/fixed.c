/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fixed: peers the user named by address (docs/protocol.md section 4, "Fixed peers"), for
 * nodes that multicast cannot reach (another subnet, a network that drops multicast). The
 * node dials each such address itself, whatever the order of the IDs, until a session with
 * whoever answers there is live, and again whenever none is: with the backoff of section 4
 * after failures. Who answers is proven by the handshake like anyone else: any ID whose key
 * Noise authenticated, or only the pinned one when the user named an ID too; and the user's
 * allow-list or known-only mode applies as to any peer.
 *
 * Once the REPLY names the node, its dial is an ordinary initiated handshake of that peer
 * (pending_sid), unless that peer is already linked or being dialled, and then this one is
 * dropped before its FINISH (it is not a failure: the address is served).
 *
 * Invariants: at most MESH_MAX_FIXED entries, each with at most one handshake in progress
 * (sid), cleared by fixed_handshake_over() on every path by which that handshake ends; the
 * table never shrinks while the mesh lives.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_impl.h"

static bool usable_ip(const struct ipaddr *ip)
{
	/* not 0.0.0.0/8, not multicast or reserved (224/3, ff00::/8), not the broadcast address */
	return !ipaddr_is_bogus(ip);
}

/* f is pinned now: a dial of it already under way must prove the pin too. Before its REPLY
 * the session's own check of message 2 does it (section 3.1, expected_id); past it, a
 * session that proved another node is closed, a failure like any refused answer. */
static void pin_dial_in_flight(struct mesh *m, struct fixed_peer *f, uint64_t now)
{
	struct session *s = f->sid ? session_table_get(&m->sessions, f->sid) : NULL;
	if (!s)
		return;
	if (s->state == SESSION_INIT_SENT_HELLO) {
		memcpy(s->expected_id, f->id, WIRE_IDLEN);
		s->expect_any = false;
	} else if (sodium_memcmp(s->peer_id, f->id, WIRE_IDLEN) != 0) {
		mesh_close_session(m, s, NULL, now);
	}
}

enum mesh_err mesh_add_peer(struct mesh *m, const struct ipaddr *ip, uint16_t port,
                            const uint8_t *pin, uint64_t now)
{
	if (!m || !ip || port == 0 || !usable_ip(ip))
		return MESH_EINVAL;
	for (size_t i = 0; i < m->nfixed; i++) {
		struct fixed_peer *f = &m->fixed[i];
		if (ipaddr_eq(&f->ip, ip) && f->port == port) {
			/* named again: a pin given now replaces what was known */
			if (pin) {
				f->pinned = f->known = true;
				memcpy(f->id, pin, WIRE_IDLEN);
				pin_dial_in_flight(m, f, now);
			}
			return MESH_OK;
		}
	}
	if (m->nfixed == MESH_MAX_FIXED)
		return MESH_ELIMIT;
	if (!m->fixed) {
		m->fixed = calloc(MESH_MAX_FIXED, sizeof *m->fixed);
		if (!m->fixed)
			return MESH_ENOMEM;
	}
	struct fixed_peer *f = &m->fixed[m->nfixed++];
	memset(f, 0, sizeof *f);
	f->ip = *ip;
	f->port = port;
	if (pin) {
		f->pinned = f->known = true;
		memcpy(f->id, pin, WIRE_IDLEN);
	}
	return MESH_OK;
}

/* Whether the node at f is linked, or a handshake with it is under way, by any path. */
static bool served(struct mesh *m, const struct fixed_peer *f)
{
	if (f->sid)
		return true;
	if (!f->known)
		return false;
	const struct peer *p = peer_table_get(&m->peers, f->id);
	return p && (p->live_sid || p->pending_sid);
}

void fixed_on_sweep(struct mesh *m, uint64_t now)
{
	char ipbuf[IPADDR_EPLEN];
	for (size_t i = 0; i < m->nfixed; i++) {
		struct fixed_peer *f = &m->fixed[i];
		if (served(m, f) || now < f->next_dial_ms)
			continue;
		/* pinned to a node the user's list refuses: never dialled. An address whose last
		 * node was refused is dialled still (with the backoff of its failures): another
		 * node may answer there now, and fixed_on_reply() refuses one that is not allowed */
		if (f->pinned && m->cfg.may_link && !m->cfg.may_link(m->cfg.event_arg, f->id))
			continue;
		/* named by the user: any free slot, like a node linked lately */
		if (m->hs_out >= MESH_MAX_HANDSHAKES_OUT) {
			MESH_DECIDE(m, dials_deferred, NULL);
			return;
		}
		struct session *s = handshake_dial(m, &f->ip, f->port, f->pinned ? f->id : NULL,
		                                   DIAL_RECENT, f->failures, now);
		if (!s) {
			f->next_dial_ms = handshake_redial_at(&f->failures, now);
			continue;
		}
		s->fixed = (uint16_t)(i + 1);
		f->sid = s->sid;
		mesh_logline(m, 3, "handshake -> fixed peer %s (sid %08x)",
		             ipaddr_endpoint(&f->ip, f->port, ipbuf), s->sid);
	}
}

bool fixed_on_reply(struct mesh *m, struct session *s, uint64_t now)
{
	struct fixed_peer *f = &m->fixed[s->fixed - 1];
	char ipbuf[IPADDR_EPLEN], fp[KEYS_FPR_LEN];
	ipaddr_endpoint(&f->ip, f->port, ipbuf);
	if (memcmp(s->peer_id, m->id->id, WIRE_IDLEN) == 0) {
		mesh_droplog(m, LK_HS, now, "fixed peer %s is this node itself: not linked", ipbuf);
		mesh_close_session(m, s, NULL, now);
		return false;
	}
	if (m->cfg.may_link && !m->cfg.may_link(m->cfg.event_arg, s->peer_id)) {
		MESH_DROP(m, sessions_rejected);
		mesh_droplog(m, LK_HS, now, "fixed peer %s is %s: not a peer we link with",
		             ipbuf, mesh_fpr(s->peer_id, fp));
		mesh_close_session(m, s, NULL, now);
		return false;
	}
	f->known = true;
	memcpy(f->id, s->peer_id, WIRE_IDLEN);
	struct peer *p = peer_table_get_or_add(&m->peers, s->peer_id);
	if (!p && beacon_evict_unlinked(m))
		p = peer_table_get_or_add(&m->peers, s->peer_id);
	if (!p || p->live_sid || p->pending_sid) {
		/* linked or being dialled already (its beacons reach us too): this one is not needed
		 * (a full table: it is retried, as after any failure) */
		s->fixed_quiet = p != NULL;
		mesh_close_session(m, s, NULL, now);
		return false;
	}
	/* from here on, an ordinary handshake we initiated with p */
	memcpy(s->expected_id, s->peer_id, WIRE_IDLEN);
	p->pending_sid = s->sid;
	if (!p->discovered) {
		/* where to reach it, until a beacon of its own says otherwise */
		p->ip = f->ip;
		p->port = f->port;
	}
	return true;
}

void fixed_handshake_over(struct mesh *m, const struct session *s, bool live, uint64_t now)
{
	if (!s->fixed || s->fixed > m->nfixed)
		return;
	struct fixed_peer *f = &m->fixed[s->fixed - 1];
	if (f->sid != s->sid)
		return;
	f->sid = 0;
	if (live) {
		f->failures = 0;
		f->next_dial_ms = 0;
	} else if (!s->fixed_quiet) {
		f->next_dial_ms = handshake_redial_at(&f->failures, now);
	}
}

void fixed_on_live(struct mesh *m, const uint8_t id[WIRE_IDLEN])
{
	for (size_t i = 0; i < m->nfixed; i++) {
		struct fixed_peer *f = &m->fixed[i];
		if (f->known && memcmp(f->id, id, WIRE_IDLEN) == 0) {
			f->failures = 0;
			f->next_dial_ms = 0;
		}
	}
}
