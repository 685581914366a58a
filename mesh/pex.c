/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * pex: peer exchange (docs/protocol.md section 2, "Peer exchange"). A node passes the signed
 * beacons of its live peers to its other live peers in PEERS messages, so that segments that
 * multicast does not join (two subnets, a fixed peer across a router) learn of each other's
 * nodes and link directly. The beacons are the nodes' own, signed: passing one on proves
 * nothing about the node that passes it, and the receiver checks it as it would a beacon it
 * heard itself, but for the source address, which a passed-on beacon has none of.
 *
 * What is passed, and to whom (pex_on_sweep):
 * - the last signed beacon of each live peer's current endpoint (pex_note_beacon keeps it: a
 *   verified one, or one heard unchecked that names the endpoint and incarnation the live
 *   session authenticated, checked here before it is first passed on);
 * - to each live peer that takes PEERS (its payload's WIRE_FEATURE_PEERS), of the peers whose
 *   beacon it may not hear: heard on another segment than it (peer.pex_origin), or heard on
 *   none (a fixed peer, a peer learnt from PEERS, a responder whose beacon we never heard, a
 *   peer that came back from where we did not hear it: pex_on_live);
 *   two peers heard on one segment hear each other, and a mesh on one segment sends no PEERS;
 * - nothing to or about a peer for a beacon interval and a half after its session went live
 *   (peer.pex_wait_ms): by then we know where it is heard (in a crowd its beacon is often
 *   read after it links), and a dual-stack peer's beacons of both families;
 * - once: a peer gets everything when its wait ends, and afterwards what changed (a peer
 *   whose wait ended, or that moved), by generation (mesh.pex_gen).
 * A receiver takes at most PEX_RX_BURST entries at once from a peer, PEX_RX_PER_S a second
 * after that; each needs a signature check from the beacon budget (beacon_may_check).
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

#define PEX_RX_PER_S 16        /* passed-on beacons taken per second from one peer ... */
#define PEX_RX_BURST 64        /* ... and at once */

static bool same_endpoint(const struct peer *p, const struct wire_beacon_body *b)
{
	return p->port == b->port && ipaddr_eq(&p->ip, &b->ip);
}

static bool session_addr(const struct session *s, struct ipaddr *ip);

/* Keeps b's signed beacon (sig, len) in k; a new endpoint or run there is one to pass on. */
static void keep(struct mesh *m, struct peer *p, struct pex_kept *k,
                 const struct wire_beacon_body *b, const uint8_t *sig, size_t len, bool checked)
{
	bool moved = !k->sig || k->port != b->port || !ipaddr_eq(&k->ip, &b->ip) ||
	             k->incarnation != b->incarnation;
	/* the same endpoint: keep a checked one rather than an unchecked newer one */
	if (!moved && (k->checked || !checked))
		return;
	assert(len > 0 && len <= WIRE_MAX_SIGNED);
	/* at its own length: room for the longest beacon would be about 90 bytes more a peer */
	if (!k->sig || k->len != len) {
		uint8_t *ns = realloc(k->sig, len);
		if (!ns) {
			if (moved) {                /* not the old endpoint's beacon in its place */
				free(k->sig);
				k->sig = NULL;
				k->len = 0;
			}
			return;
		}
		k->sig = ns;
	}
	memcpy(k->sig, sig, len);
	k->len = (uint16_t)len;
	k->checked = checked;
	k->ip = b->ip;
	k->port = b->port;
	k->incarnation = b->incarnation;
	if (moved) {
		p->pex_gen = ++m->pex_gen;
		m->pex_due = true;
	}
}

void pex_note_beacon(struct mesh *m, const struct wire_beacon_body *b, bool checked,
                     const struct ipaddr *from, uint8_t tag, const uint8_t *sig, size_t len)
{
	struct peer *p = peer_table_get(&m->peers, b->node_id);
	/* A dual-stack node's beacon of the other family than its recorded endpoint's, of the
	 * run we are linked to: for peers that can reach only that family (an IPv6-only subnet
	 * joined to a dual-stack one), to which the recorded endpoint's would name an address
	 * they cannot dial, leaving the pair to the fallback (section 2). Unchecked, as below:
	 * only of the run the live session proved, and checked before it is passed on. */
	if (p && len && p->live_sid && p->incarnation == b->incarnation &&
	    p->port == b->port && ipaddr_eq(from, &b->ip) &&
	    ipaddr_is_v4(&b->ip) != ipaddr_is_v4(&p->ip) && !ipaddr_is_linklocal(&b->ip)) {
		keep(m, p, &p->pex_other, b, sig, len, checked);
		return;
	}
	if (!p || len == 0 || !same_endpoint(p, b) || !ipaddr_eq(from, &b->ip))
		return;
	/* unchecked, only what the live session proved: the endpoint and incarnation */
	if (!checked && !(p->live_sid && p->incarnation == b->incarnation))
		return;
	if (checked && p->beacon_incarnation != b->incarnation)
		return;
	p->pex_origin = tag;
	keep(m, p, &p->pex, b, sig, len, checked);
}

/* Whether k holds a beacon of the run s authenticated, heard where s runs: from the address s
 * runs to (ip), or on the segment whose subnet holds ip, where p was last heard (a host with
 * several addresses there). Each address of ours is a segment of its own, so a dual-stack
 * peer linked over the other family than its recorded endpoint's counts only by that
 * family's beacon kept from an earlier session of the run (pex_other); otherwise it is heard
 * nowhere until its next beacon of the recorded family, which pex_on_live's wait leaves time
 * for. */
static bool kept_of(const struct mesh *m, const struct peer *p, const struct pex_kept *k,
                    const struct session *s, const struct ipaddr *ip)
{
	return k->sig && k->incarnation == s->peer_incarnation &&
	       (ipaddr_eq(&k->ip, ip) ||
	        (p->pex_origin != PEX_NOWHERE && mesh_tag_within(m, ip) == p->pex_origin));
}

void pex_on_live(struct mesh *m, struct peer *p, const struct session *s, uint64_t now)
{
	struct ipaddr ip;
	bool addr = session_addr(s, &ip);
	const struct heard *h = heard_get(&m->heard, p->id);
	bool unchecked = (p->first_heard_ms && p->heard_incarnation == s->peer_incarnation) ||
	                 (h && h->incarnation == s->peer_incarnation);
	/* this run heard here unchecked (a lower ID, which dialled us): on the segment its
	 * session runs over, as a verified beacon would say (pex_note_beacon) */
	if (unchecked && addr)
		p->pex_origin = mesh_tag_towards(m, &ip);
	/* Where we heard another run, or this one elsewhere, is no guide: a peer that comes back
	 * from behind a router would stay counted as hearing that segment, and get nothing
	 * passed. It is heard nowhere until its beacon is heard again (during the wait below, if
	 * it is on a segment of ours). */
	else if (!addr || !(kept_of(m, p, &p->pex, s, &ip) || kept_of(m, p, &p->pex_other, s, &ip)))
		p->pex_origin = PEX_NOWHERE;
	/* Nothing to it or about it for a beacon interval and a half (the longest jittered
	 * interval, +20 %, and more), so that where it is heard is known first:
	 * - in a crowd that starts together a peer's beacon is often read after it links (the
	 *   check budget, section 2); counted as heard nowhere, it got one round of everything,
	 *   and that was most of what a mesh on one segment passed;
	 * - a dual-stack peer's beacon of the other family is kept only once it is live
	 *   (pex_note_beacon): passed before, its first family went alone to peers that can
	 *   dial only the other.
	 * The price: a fixed peer, or a peer across a router, gets what we pass that much later. */
	p->pex_wait_ms = now + m->cfg.beacon_interval_ms + m->cfg.beacon_interval_ms / 2;
	p->pex_takes = (s->peer_features & WIRE_FEATURE_PEERS) && !m->cfg.test_no_pex;
	p->pex_sent_gen = 0;
	m->pex_due = true;               /* its beacon goes to the others when the wait ends */
}

struct live {
	struct peer **v;
	size_t n, cap;
	bool oom;
};

static void collect_live(struct peer *p, void *arg)
{
	struct live *l = arg;
	if (!p->live_sid)
		return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 64;
		struct peer **nv = realloc(l->v, ncap * sizeof *nv);
		if (!nv) {
			l->oom = true;
			return;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = p;
}

/* The address s runs to: the one we dialled, or its connection's source (false if that does
 * not parse). Not the endpoint its payload names, which a peer whose beacon we never heard
 * chose itself. */
static bool session_addr(const struct session *s, struct ipaddr *ip)
{
	if (s->role == NOISE_INITIATOR) {
		*ip = s->dial_ip;
		return true;
	}
	return ipaddr_parse(s->src_addr, ip) == MESH_OK;
}

static bool session_on_loopback(const struct session *s)
{
	struct ipaddr ip;
	return session_addr(s, &ip) && ipaddr_is_loopback(&ip);
}

/* Whether s runs to our host: over loopback, or to or from our own address. */
static bool session_on_host(const struct mesh *m, const struct session *s)
{
	struct ipaddr ip;
	return session_addr(s, &ip) && (ipaddr_is_loopback(&ip) || mesh_own_ip(m, &ip));
}

/* Whether q's beacon is worth passing to to (to_loopback: its session runs over loopback): it
 * may not hear it itself, and could use it. */
static bool worth(const struct peer *q, const struct peer *to, bool to_loopback)
{
	if (q == to || !q->pex.sig || q->pex.incarnation != q->incarnation || q->pex_wait_ms)
		return false;
	if (q->pex_origin != PEX_NOWHERE && q->pex_origin == to->pex_origin)
		return false;                /* heard on one segment: they hear each other */
	/* a link-local address means a link of ours, which to may not be on (and the address
	 * is nothing without the interface: ipaddr.h) */
	if (ipaddr_is_linklocal(&q->pex.ip))
		return false;
	/* a loopback address means the host of the node that passes it on */
	return !ipaddr_is_loopback(&q->pex.ip) || to_loopback;
}

/* A beacon kept unchecked (k, of q) is checked before it is first passed on: false, and
 * forgotten, if it is bad. */
static bool check_kept(const struct peer *q, struct pex_kept *k)
{
	struct wire_beacon_body b;
	bool skipped;
	if (k->checked)
		return true;
	if (discovery_check_signed(k->sig, k->len, &b, &skipped, NULL, NULL, NULL) == MESH_OK &&
	    memcmp(b.node_id, q->id, WIRE_IDLEN) == 0 && ipaddr_same(&b.ip, &k->ip) &&
	    b.port == k->port && b.incarnation == k->incarnation) {
		k->checked = true;
		return true;
	}
	free(k->sig);
	k->sig = NULL;
	k->len = 0;
	return false;
}

/* Sends to `to` the beacons of generation > its pex_sent_gen; false if its socket is full. */
static bool pass_to(struct mesh *m, struct peer *to, struct live *l, uint64_t now)
{
	struct session *s = session_table_get(&m->sessions, to->live_sid);
	struct wire_msg msg = { .type = WIRE_PEERS };
	if (!s || s->state != SESSION_LIVE)
		return true;
	bool to_loopback = session_on_loopback(s);
	struct ipaddr to_ip;
	bool to_v4 = session_addr(s, &to_ip) ? ipaddr_is_v4(&to_ip) : true;
	for (size_t i = 0; i <= l->n; i++) {
		struct peer *q = i < l->n ? l->v[i] : NULL;
		if (q && (q->pex_gen <= to->pex_sent_gen || !worth(q, to, to_loopback) ||
		          !check_kept(q, &q->pex)))
			continue;
		/* of a dual-stack node, the beacon of the family to's session runs over */
		struct pex_kept *k = q ? &q->pex : NULL;
		if (q && ipaddr_is_v4(&q->pex.ip) != to_v4 && q->pex_other.sig &&
		    ipaddr_is_v4(&q->pex_other.ip) == to_v4 &&
		    q->pex_other.incarnation == q->incarnation && check_kept(q, &q->pex_other))
			k = &q->pex_other;
		if (k)
			msg.peers[msg.npeers++] = (struct wire_bin){ k->sig, k->len };
		if (msg.npeers == WIRE_PEERS_MAX || (!q && msg.npeers)) {
			enum mesh_err rc = send_msg(m, s, &msg, now);
			if (rc == MESH_ELIMIT)
				return false;
			if (rc == MESH_OK)
				m->stats.pex_tx += msg.npeers;
			msg.npeers = 0;
		}
	}
	return true;
}

void pex_on_sweep(struct mesh *m, uint64_t now)
{
	if (!m->pex_due)
		return;
	struct live l = { 0 };
	peer_table_each(&m->peers, collect_live, &l);
	bool done = !l.oom;
	/* the waits (pex_on_live), over: the peer is heard where we heard it, or nowhere (like a
	 * fixed peer), and gets what is to pass. Its beacon is one to pass from now on, to the
	 * peers that cannot hear it (worth): a new generation, since what was passed during the
	 * wait skipped it, and the beacon we hold may be one kept before (from PEERS), which
	 * keep() did not count as new. */
	for (size_t i = 0; i < l.n; i++) {
		struct peer *p = l.v[i];
		if (!p->pex_wait_ms)
			continue;
		if (now < p->pex_wait_ms) {
			done = false;
			continue;
		}
		p->pex_wait_ms = 0;
		if (p->pex.sig)
			p->pex_gen = ++m->pex_gen;
	}
	/* one segment and nothing else: every peer hears every other's beacons */
	bool elsewhere = false;
	for (size_t i = 0; i < l.n && !elsewhere; i++)
		elsewhere = l.v[i]->pex_origin == PEX_NOWHERE ||
		            l.v[i]->pex_origin != l.v[0]->pex_origin;
	for (size_t i = 0; i < l.n && elsewhere; i++) {
		struct peer *to = l.v[i];
		if (!to->pex_takes || to->pex_wait_ms || to->pex_sent_gen >= m->pex_gen)
			continue;
		if (pass_to(m, to, &l, now))
			to->pex_sent_gen = m->pex_gen;
		else
			done = false;            /* its socket is full: the rest next sweep */
	}
	free(l.v);
	m->pex_due = !done;
}

/* What a passed-on beacon must be before its signature is worth a check: true drops it. */
struct pex_check {
	struct mesh *m;
	const struct peer *from;
	bool from_host;               /* its session runs to our host (session_on_host) */
};

/* An address of our host (loopback, or our own, which dials do not count per address) names
 * a node on it: only a peer on it may pass one, else any member could aim dials at our host's
 * ports. A node there that a remote peer hears is one we hear ourselves. */
static bool usable_ip(const struct mesh *m, const struct ipaddr *ip, bool from_host)
{
	/* this network, multicast, reserved; a link-local one is on the passer's link */
	if (ipaddr_is_bogus(ip) || ipaddr_is_linklocal(ip))
		return false;
	return !(ipaddr_is_loopback(ip) || mesh_own_ip(m, ip)) || from_host;
}

static bool pex_skip(void *arg, const struct wire_beacon_body *b)
{
	struct pex_check *c = arg;
	struct mesh *m = c->m;
	if (memcmp(b->node_id, m->id->id, WIRE_IDLEN) == 0 ||
	    memcmp(b->node_id, c->from->id, WIRE_IDLEN) == 0)
		return true;                                 /* ours, or the sender's own */
	struct peer *p = peer_table_get(&m->peers, b->node_id);
	if (p && p->live_sid && p->incarnation == b->incarnation)
		return true;                                 /* linked to that run already */
	if (p && p->live_sid && !p->discovered && !p->beacon_counter) {
		/* linked to another run of it, with no counter of that run (its beacons never
		 * verified here): rule 4 cannot tell an older run's beacon, which the passer may
		 * have kept, from a newer one's, so none may move it. A restarted node links
		 * again as any node does: the lower ID dials once it learns the other's beacon. */
		MESH_DROP(m, beacons_stale);
		return true;
	}
	if (p && (p->discovered || p->beacon_counter) && b->counter <= p->beacon_counter) {
		MESH_DROP(m, beacons_stale);
		return true;
	}
	if (!usable_ip(m, &b->ip, c->from_host) || b->port == 0) {
		MESH_DROP(m, pex_bad);
		mesh_droplog(m, LK_BEACON, m->now_ms, "passed-on beacon with an address no node "
		             "can have dropped");
		return true;
	}
	if (!mesh_has_family(m, &b->ip)) {
		/* an IPv6 node passed to an IPv4-only one (or the other way): nothing to dial it
		 * from; it may still dial us, over what it has */
		MESH_DROP(m, pex_unreachable);
		return true;
	}
	bool known = p && (p->discovered || p->live_sid || p->last_live_ms);
	/* never heard again here: no share of the half kept for IDs that were (check_seen is
	 * what the last beacon heard left, and stays so while entries fail their checks) */
	m->check_seen = false;
	if (!beacon_may_check(m, known, m->now_ms)) {
		MESH_DROP(m, beacons_limited);
		return true;
	}
	return false;
}

void pex_on_msg(struct mesh *m, struct peer *from, const struct session *s,
                const struct wire_msg *msg, uint64_t now)
{
	if (m->cfg.test_no_pex) {
		MESH_DROP(m, msgs_unknown_type);      /* as a node that predates peer exchange */
		return;
	}
	m->now_ms = now;
	/* msg borrows from m->pbuf, where a dial that an entry starts writes its HELLO: copy */
	uint8_t copy[WIRE_PEERS_MAX][WIRE_MAX_SIGNED];
	size_t len[WIRE_PEERS_MAX];
	for (size_t i = 0; i < msg->npeers; i++) {
		memcpy(copy[i], msg->peers[i].p, msg->peers[i].len);
		len[i] = msg->peers[i].len;
	}
	for (size_t i = 0; i < msg->npeers; i++) {
		struct wire_beacon_body b;
		struct pex_check c = { m, from, session_on_host(m, s) };
		bool skipped;
		m->stats.pex_rx++;
		if (!tokens_take(&from->pex_rx, PEX_RX_PER_S, PEX_RX_BURST, 0, now)) {
			MESH_DROP(m, beacons_limited);
			mesh_droplog(m, LK_BEACON, now, "passed-on beacons from %s over its share: "
			             "dropped", from->name);
			continue;
		}
		enum mesh_err rc = discovery_check_signed(copy[i], len[i], &b, &skipped, pex_skip, &c,
		                                          NULL);
		if (rc == MESH_OK && skipped)
			continue;
		if (rc != MESH_OK) {
			MESH_DROP(m, pex_bad);
			mesh_droplog(m, LK_BEACON, now, "passed-on beacon from %s dropped (%s)",
			             from->name, mesh_strerror(rc));
			continue;
		}
		m->stats.beacons_verified++;
		MESH_DECIDE(m, pex_taken, NULL);
		struct peer *p = beacon_on_passed(m, &b, now);
		if (p) {
			/* newer than any we heard: it is not where we hear it, if it ever was */
			p->pex_origin = PEX_NOWHERE;
			keep(m, p, &p->pex, &b, copy[i], len[i], true);
		}
	}
}
