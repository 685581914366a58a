/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * beacon: what the engine does with beacons (docs/protocol.md section 2). discovery.c signs,
 * seals and opens them; this file decides which to check (beacon_skip), holds those over the
 * check budget until tokens return (hold, check_held; backlog.h), what a verified one changes
 * (on_beacon: endpoint, incarnation, an early answer, a dial), and when ours go out
 * (beacon_on_tick: a burst at start, then every interval +-20 %, and answers in between).
 *
 * Invariants:
 * - a beacon is acted on only once its signature is checked and its signed address is its
 *   source; an unchecked one may only note when it was heard (heard.h, first_heard_ms,
 *   last_beacon_ms) and make us answer early, and never makes a peer entry;
 * - its counter must exceed the last one verified from that node ID, or it is stale;
 * - at most the budget's checks a second, held ones included: a held beacon takes a token
 *   only from the upper half of its bucket;
 * - answers are ordinary beacons sent early, at most one per ANSWER_GAP_MS after any beacon,
 *   and leave the periodic schedule as it was.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

#define ANSWER_GAP_MS 100      /* answer beacons: at most one per this, after any beacon */

struct oldest {
	struct peer *p;
	uint64_t now;
};

static void find_oldest_unlinked(struct peer *p, void *arg)
{
	struct oldest *o = arg;
	if (p->live_sid || p->pending_sid || p->present || p->qhead)
		return;
	/* its delivery record must outlive the sender's resends (protocol section 6), as in
	 * timers.c: forgotten, the next resend of a message it delivered is delivered twice */
	if (p->rx_last_id && o->now - p->rx_last_ms <= MESH_RX_MEMORY_MS)
		return;
	if (!o->p || p->last_beacon_ms < o->p->last_beacon_ms)
		o->p = p;
}

/* The table is full (a flood of fresh identities, say): make room by forgetting the peer
 * heard from least recently among those we are not linked to, not handshaking with, have
 * nothing queued for, and have no recent delivery record of. */
bool beacon_evict_unlinked(struct mesh *m)
{
	struct oldest o = { NULL, m->now_ms };
	peer_table_each(&m->peers, find_oldest_unlinked, &o);
	if (!o.p)
		return false;
	peer_table_del(&m->peers, o.p);
	return true;
}

/* Whether ip is one of p's other addresses already heard (alt_ip; an empty slot is ::,
 * which no beacon may name). */
static bool alt_known(const struct peer *p, const struct ipaddr *ip)
{
	if (ipaddr_is_unspecified(ip))
		return false;
	for (size_t i = 0; i < PEER_ALT_IPS; i++)
		if (ipaddr_eq(&p->alt_ip[i], ip))
			return true;
	return false;
}

/*
 * Whether a beacon of p's run, at another address than p's, is of another interface of the
 * node rather than a move: the address recorded was heard within ALT_ADDR_BEACONS intervals.
 * A node on two of our segments is heard at two addresses, and taking each for a move would
 * abandon its handshake at every beacon. One that moved stops being heard where it was, and
 * is moved once that is ALT_ADDR_BEACONS intervals old. A beacon passed on by a peer at
 * another address, while we hear the node ourselves, moves it no more: it is the address
 * the node has on the passer's segment, which we may not reach.
 */
static bool alternate(const struct mesh *m, const struct peer *p,
                      const struct wire_beacon_body *b, uint64_t now)
{
	return p->discovered && p->beacon_incarnation == b->incarnation && p->ip_heard_ms &&
	       now - p->ip_heard_ms < (uint64_t)ALT_ADDR_BEACONS * m->cfg.beacon_interval_ms;
}

/* A verified beacon; passed: passed on by a peer (pex.c), not heard on our segment. */
static struct peer *on_beacon(struct mesh *m, const struct wire_beacon_body *b, bool passed,
                              uint64_t now)
{
	struct peer *p;
	if (memcmp(b->node_id, m->id->id, WIRE_IDLEN) == 0) {
		/* signed with our key by another run since we started: someone copied our
		 * identity file */
		if (b->incarnation != m->incarnation && b->counter >= discovery_first_counter(m->disc))
			mesh_alarm(m, MESH_ALARM_OWN_ID, b->node_id, NULL, &b->ip, b->port, b->incarnation,
			           &m->own_alarm_ms, now);
		return NULL;
	}
	p = peer_table_get_or_add(&m->peers, b->node_id);
	if (!p && beacon_evict_unlinked(m)) {
		p = peer_table_get_or_add(&m->peers, b->node_id);
	}
	if (!p) {
		mesh_droplog(m, LK_BEACON, now, "peer table full: beacon ignored");
		return NULL;
	}
	if ((p->discovered || p->beacon_counter) && b->counter <= p->beacon_counter) {
		MESH_DROP(m, beacons_stale);
		return NULL;
	}
	/* two nodes share this ID (mesh.c, shared_id): the other one's beacons change nothing */
	if (now < p->shared_until_ms && p->live_sid && b->incarnation != p->incarnation)
		return NULL;
	/* heard unchecked before: the fallback counts from then */
	struct heard *h = heard_get(&m->heard, b->node_id);
	if (h) {
		if (!p->first_heard_ms && h->incarnation == b->incarnation) {
			p->first_heard_ms = h->first_ms;
			p->heard_incarnation = h->incarnation;
		}
		heard_del(&m->heard, b->node_id);
	}
	/*
	 * A node we have not heard before (or a new incarnation) may have started listening
	 * after our last beacon went out. If its ID is the lower one it is the one to dial, and
	 * it would wait for our next periodic beacon: answer early instead (protocol section 2).
	 */
	bool fresh = !p->discovered || p->beacon_incarnation != b->incarnation;
	bool linked = p->live_sid && p->incarnation == b->incarnation;
	if (fresh && !linked && !passed && mesh_id_lower(b->node_id, m->id->id))
		m->answer_due = true;
	/* heard (unchecked) since before: the fallback counts from then */
	if (!p->discovered && p->first_heard_ms && !p->live_sid && !p->first_unlinked_ms)
		p->first_unlinked_ms = p->first_heard_ms;
	p->discovered = true;
	if (m->check_seen && !passed)
		p->heard_again = true;         /* heard in the last second: not a one-off */
	p->beacon_counter = b->counter;
	p->last_beacon_ms = now;
	if (m->backlog.n)
		backlog_superseded(&m->backlog, b->node_id, b->counter);
	if (p->port == b->port && !ipaddr_eq(&p->ip, &b->ip) && alternate(m, p, b, now)) {
		if (!passed && !alt_known(p, &b->ip)) {
			char fp[KEYS_FPR_LEN], ep[IPADDR_EPLEN];
			mesh_logline(m, 3, "beacon: %s also at %s", mesh_fpr(b->node_id, fp),
			             ipaddr_endpoint(&b->ip, b->port, ep));
			p->alt_ip[p->alt_next] = b->ip;
			p->alt_next = (uint8_t)((p->alt_next + 1) % PEER_ALT_IPS);
		}
		handshake_maybe_connect(m, p, now);
		return p;
	}
	if (!passed) {
		bool same_ip = ipaddr_eq(&p->ip, &b->ip);
		p->ip_heard_ms = now;
		if (!same_ip || b->counter > p->ip_heard_counter)
			p->ip_heard_counter = b->counter;
	}
	if (p->beacon_incarnation != b->incarnation || !ipaddr_eq(&p->ip, &b->ip) ||
	    p->port != b->port) {
		char fp[KEYS_FPR_LEN], ep[IPADDR_EPLEN];
		mesh_logline(m, 3, "beacon: %s at %s", mesh_fpr(b->node_id, fp),
		             ipaddr_endpoint(&b->ip, b->port, ep));
	}
	/* A handshake we started towards the old endpoint (or the old incarnation: a node we
	 * dialled when its link expired, which was restarting) can only time out; a verified
	 * beacon says where the node is now, so dial there at once (protocol section 4). */
	bool moved = p->beacon_incarnation != b->incarnation || !ipaddr_eq(&p->ip, &b->ip) ||
	             p->port != b->port;
	p->ip = b->ip;
	p->port = b->port;
	p->beacon_incarnation = b->incarnation;
	if (moved && p->pending_sid) {
		struct session *ps = session_table_get(&m->sessions, p->pending_sid);
		if (ps && ps->state != SESSION_LIVE) {
			mesh_logline(m, 3, "handshake with %s abandoned: its beacon names a new endpoint",
			             p->name[0] ? p->name : "a peer");
			mesh_close_session(m, ps, NULL, now);
		}
	}
	if (moved)
		handshake_dial_now(p);
	handshake_maybe_connect(m, p, now);
	return p;
}

struct peer *beacon_on_passed(struct mesh *m, const struct wire_beacon_body *b, uint64_t now)
{
	m->check_seen = false;
	return on_beacon(m, b, true, now);
}

static bool unchanged(struct mesh *m, const struct wire_beacon_body *b, struct peer *p,
                      const struct ipaddr *from, uint64_t now);

/*
 * Two filters, one per second, SEEN_HASHES bits per ID in each. With a bit pair, a flood of
 * 10,000 fresh identities a second passed about 13 of them a second for heard (both bits of
 * an ID set by others in a filter 4 % full); with four bits in a filter 8 % full, about one
 * in three seconds (test_beacon, "30,000 fresh IDs in 3 s").
 */
bool beacon_seen_again(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t now)
{
	uint64_t epoch = now / 1000;
	if (epoch != m->seen_epoch) {
		if (epoch == m->seen_epoch + 1)
			memcpy(m->seen[1], m->seen[0], sizeof m->seen[0]);
		else
			memset(m->seen[1], 0, sizeof m->seen[1]);
		memset(m->seen[0], 0, sizeof m->seen[0]);
		m->seen_epoch = epoch;
	}
	uint8_t h[crypto_shorthash_siphashx24_BYTES];
	uint32_t bit[SEEN_HASHES];
	crypto_shorthash_siphashx24(h, id, WIRE_IDLEN, m->seen_key);
	for (int k = 0; k < SEEN_HASHES; k++)   /* 4 bytes of the 16 each */
		bit[k] = ((uint32_t)h[4 * k] | (uint32_t)h[4 * k + 1] << 8 |
		          (uint32_t)h[4 * k + 2] << 16 | (uint32_t)h[4 * k + 3] << 24) % SEEN_BITS;
	bool seen = false;
	for (int g = 0; g < 2 && !seen; g++) {
		bool all = true;
		for (int k = 0; k < SEEN_HASHES; k++)
			all = all && (m->seen[g][bit[k] / 8] >> (bit[k] % 8) & 1);
		seen = all;
	}
	for (int k = 0; k < SEEN_HASHES; k++)
		m->seen[0][bit[k] / 8] |= (uint8_t)(1u << (bit[k] % 8));
	return seen;
}

/*
 * Whether a beacon of an ID without a peer entry, from `from`, is within its source's share
 * of the checks (protocol section 2): RATELIMIT_PER_SEC a second, RATELIMIT_BURST at once,
 * per source address. An attacker on the LAN can make identities without end but has one
 * address (a beacon's signed ip must be its source), so its flood takes the checks of one
 * address, and a new node at another address finds its share full. Our own address is
 * exempt: every node on this host has it, and dozens of them may start together.
 */
static bool within_share(struct mesh *m, const struct ipaddr *from, uint64_t now)
{
	char src[IPADDR_STRLEN];
	if (mesh_own_ip(m, from))
		return true;
	ipaddr_str(from, src);
	if (ratelimit_allow(&m->check_rate, src, now))
		return true;
	mesh_droplog(m, LK_BEACON, now, "beacon checks from %s over its share: beacon dropped "
	             "unchecked", src);
	return false;
}

/*
 * A beacon over the check budget: held to be checked when tokens return (check_held). Every
 * beacon left unchecked while its node still needed the check is counted: this one if
 * BACKLOG_SLOTS others are held, or its ID's entry holds one as new; the one held before it if
 * it takes that entry (check_held counts those that expire).
 */
static void hold(struct mesh *m, const struct wire_beacon_body *b, const struct ipaddr *from,
                 uint64_t now)
{
	struct backlog_entry e = { .counter = b->counter, .from = *from,
	                           .tag = discovery_last_tag(m->disc), .seen = m->check_seen };
	size_t len;
	const uint8_t *sig = discovery_last_signed(m->disc, &len);
	memcpy(e.id, b->node_id, WIRE_IDLEN);
	if (len == 0 || len > sizeof e.blob) {      /* not kept by discovery: cannot be held */
		MESH_DROP(m, beacons_limited);
		mesh_droplog(m, LK_BEACON, now, "beacon checks over budget: beacon dropped unchecked");
		return;
	}
	memcpy(e.blob, sig, len);
	e.len = (uint16_t)len;
	switch (backlog_put(&m->backlog, &e, now)) {
	case BACKLOG_NEW:
		mesh_droplog(m, LK_HELD, now, "beacon checks over budget: beacons held, to be checked "
		             "as the budget refills");
		break;
	case BACKLOG_REPLACED:
	case BACKLOG_KEPT:
		MESH_DROP(m, beacons_limited);    /* one of two beacons of one ID, held as one */
		break;
	case BACKLOG_FULL:
		MESH_DROP(m, beacons_limited);
		mesh_droplog(m, LK_BEACON, now, "beacon checks over budget and %d beacons held: beacon "
		             "dropped unchecked", BACKLOG_SLOTS);
		break;
	}
}

/*
 * A beacon that needs its signature checked (unchanged() said so) first passes the cheap
 * checks, then the budget (protocol section 7): its source must be the address it announces,
 * and its counter newer than the last verified of that ID; and a token must be left, from
 * KNOWN_CHECKS_PER_S for an ID with a peer entry; else first from its source address's
 * share (within_share), then from UNKNOWN_CHECKS_PER_S, the second half of which is kept
 * for IDs heard before in this or the last second, so that a flood of fresh identities
 * (each heard once) from many addresses cannot take every check from a new node that
 * beacons every second. What fails the share is dropped unchecked and counted; what fails the
 * budget is held, to be checked when tokens return (hold, check_held).
 */
static bool beacon_skip(void *arg, const struct wire_beacon_body *b)
{
	struct mesh *m = arg;
	uint64_t now = m->now_ms;
	m->check_seen = false;
	if (mesh_tracing(m)) {
		struct ipaddr src = discovery_last_source(m->disc);
		mesh_trace_in_beacon(m, &src, b->node_id, discovery_last_len(m->disc));
	}
	struct ipaddr from = discovery_last_source(m->disc);
	if (memcmp(b->node_id, m->id->id, WIRE_IDLEN) == 0)
		return unchanged(m, b, NULL, &from, now);
	struct peer *p = peer_table_get(&m->peers, b->node_id);
	if (unchanged(m, b, p, &from, now))
		return true;
	if (!ipaddr_eq(&from, &b->ip)) {
		/* A signed endpoint that is not where the beacon came from would make every node
		 * dial an address of the signer's choosing (a reflector): refuse it, unchecked. */
		char src[IPADDR_STRLEN];
		ipaddr_str(&from, src);
		MESH_DROP(m, beacons_bad);
		mesh_droplog(m, LK_BEACON, now, "beacon announcing another address than its source "
		             "(%s) dropped", src);
		return true;
	}
	if (p && (p->discovered || p->beacon_counter) && b->counter <= p->beacon_counter) {
		MESH_DROP(m, beacons_stale);
		return true;
	}
	bool known = p && (p->discovered || p->live_sid || p->last_live_ms);
	if (!known)
		m->check_seen = beacon_seen_again(m, b->node_id, now);
	/* the source's share first: what one address is refused leaves the global budget whole */
	if (!known && !m->test_unlimited_checks && !within_share(m, &from, now)) {
		MESH_DROP(m, beacons_limited);
		return true;
	}
	bool ok = beacon_may_check(m, known, now);
	if (!ok)
		hold(m, b, &from, now);
	return !ok;
}

bool beacon_may_check(struct mesh *m, bool known, uint64_t now)
{
	bool ok = known ? tokens_take(&m->known_checks, KNOWN_CHECKS_PER_S, KNOWN_CHECKS_PER_S,
	                              0, now)
	                : tokens_take(&m->unknown_checks, UNKNOWN_CHECKS_PER_S, UNKNOWN_CHECKS_PER_S,
	                              m->check_seen ? 0 : UNKNOWN_CHECKS_PER_S / 2, now);
	return ok || m->test_unlimited_checks;
}

/*
 * Decides, before its signature is checked, whether a beacon needs checking at all (protocol
 * section 2); p is the peer entry of a node ID other than ours, or NULL. It does not when
 * acting on it could change nothing:
 * - it is ours (multicast loopback brings our own beacons back), or has our ID and was signed
 *   before we started (a replay of an earlier run); one with our ID from another run or
 *   endpoint since is checked (at most OWN_CHECKS_PER_S a second): signed, it means a copied
 *   identity;
 * - its endpoint and incarnation are those of the last verified beacon of that node ID, while
 *   a live session, if any, is with that incarnation: acting on it would only record a newer
 *   counter, and whatever a verified beacon would start (a dial) the timers start anyway;
 * - we are linked to that incarnation through a handshake, which authenticated the same
 *   endpoint, and have not verified a beacon of it yet.
 * Nor does a beacon of a lower node ID we are not linked to, until the fallback is due: that
 * node is the one to dial, so all we do is note when we first heard it (the fallback counts
 * from then) and answer it, and an answer needs no proof (it is rate-limited, and a forged
 * beacon gains nothing but one of our beacons). Then we check only the beacons we act on: the
 * first of each higher node, and changes. With N nodes starting together every node hears
 * every other's burst and answers, so this is about N(N-1)/2 Ed25519 verifications in all,
 * instead of several per pair.
 */
static bool unchanged(struct mesh *m, const struct wire_beacon_body *b, struct peer *p,
                      const struct ipaddr *from, uint64_t now)
{
	if (memcmp(b->node_id, m->id->id, WIRE_IDLEN) == 0) {
		/* ours, back through multicast loopback; with our ID but another run or endpoint, it
		 * is forged or a copy of our identity: check it, at most once a second */
		bool mine = b->incarnation == m->incarnation && b->port == m->port &&
		            mesh_own_ip(m, &b->ip);
		/* signed before we started: a replay of an earlier run of ours, not a copy */
		bool old = b->counter < discovery_first_counter(m->disc);
		if (mine || old)
			return true;
		/* a token bucket, so that forged beacons cannot take every check from a copy's
		 * genuine ones for long */
		return !tokens_take(&m->own_checks, OWN_CHECKS_PER_S, OWN_CHECKS_PER_S, 0, now);
	}
	bool same_place = p && p->port == b->port && ipaddr_eq(&p->ip, &b->ip);
	/* Still heard where recorded (alternate()), unchecked: so only a beacon newer than any
	 * heard there, from there. A replay, captured there before the node moved, would pin it
	 * to an address it has left: its beacons elsewhere taken for another interface's. */
	if (same_place && b->counter > p->ip_heard_counter &&
	    ipaddr_eq(from, &b->ip)) {
		p->ip_heard_ms = now;
		p->ip_heard_counter = b->counter;
	}
	if (!same_place && p && p->port == b->port && alternate(m, p, b, now))
		same_place = alt_known(p, &b->ip);   /* another interface of it, known */
	bool linked = p && p->live_sid && p->incarnation == b->incarnation;
	if (p && p->discovered) {
		bool known = same_place && p->beacon_incarnation == b->incarnation &&
		             (!p->live_sid || linked);
		/* Only a timestamp, used to forget silent peers, and only for a linked peer: its
		 * entry must not be forgotten while it is linked, or its counter with it. An
		 * unlinked peer is forgotten 3 x expired after its last verified beacon. */
		if (known && linked)
			p->last_beacon_ms = now;
		if (known) {
			p->last_heard_ms = now;
			p->heard_again = true;
		}
		return known;
	}
	if (linked && same_place) {
		p->last_beacon_ms = now;
		return true;
	}
	if (!mesh_id_lower(b->node_id, m->id->id))
		return false;                   /* we are to dial it: check it */
	/* one announcing another address than its source is dropped by the source rule */
	if (!ipaddr_eq(from, &b->ip))
		return false;
	if (!p) {
		/* unproven: remembered apart (heard.h), never as a peer */
		struct heard *h = heard_add(&m->heard, b->node_id, now);
		if (!h->first_ms || h->incarnation != b->incarnation) {
			m->answer_due = true;
			/* never later: an unchecked beacon, a forged one say, must not put off the
			 * fallback; a new incarnation is answered, counted from the first */
			if (!h->first_ms)
				h->first_ms = now ? now : 1;
			h->incarnation = b->incarnation;
		}
		h->last_ms = now;
		/* once the fallback is due, check it: it has not dialled us */
		return now - h->first_ms < m->cfg.fallback_ms;
	}
	if (!p->first_heard_ms || p->heard_incarnation != b->incarnation) {
		if (!linked)
			m->answer_due = true;
		if (!p->first_heard_ms)         /* never later, as above */
			p->first_heard_ms = now ? now : 1;
		p->heard_incarnation = b->incarnation;
	}
	if (now - p->first_heard_ms >= m->cfg.fallback_ms)
		return false;                   /* it has not dialled us: time to check and dial */
	p->last_beacon_ms = now;            /* an entry of its own, forgotten like any other */
	return true;
}

void beacon_on_readable(struct mesh *m, uint64_t now)
{
	m->now_ms = now;
	/* bounded so a flood cannot starve the links */
	for (int i = 0; i < 64; i++) {
		struct wire_beacon_body b;
		bool got, skipped;
		mesh_trace_in_done(m);
		enum mesh_err rc = discovery_recv_filtered(m->disc, &b, &got, &skipped, beacon_skip,
		                                           m);
		if (!got)
			break;
		m->stats.beacons_rx++;
		struct ipaddr from = discovery_last_source(m->disc);
		if (!m->tr_in.what && !m->tr_done)   /* not seen by beacon_skip: not one we read */
			mesh_trace_in_beacon(m, &from, NULL, discovery_last_len(m->disc));
		size_t len;
		const uint8_t *sig = discovery_last_signed(m->disc, &len);
		if (rc == MESH_OK && skipped) {
			pex_note_beacon(m, &b, false, &from, discovery_last_tag(m->disc), sig, len);
			mesh_trace_in_taken(m, -1);
			continue;
		}
		if (rc == MESH_OK)
			m->stats.beacons_verified++;
		if (rc == MESH_OK && !ipaddr_eq(&from, &b.ip)) {
			/* A signed endpoint that is not where the beacon came from would make every
			 * node dial an address of the signer's choosing (a reflector): refuse it. */
			char src[IPADDR_STRLEN];
			ipaddr_str(&from, src);
			MESH_DROP(m, beacons_bad);
			mesh_droplog(m, LK_BEACON, now, "beacon announcing another address than its source "
			             "(%s) dropped", src);
			continue;
		}
		if (rc == MESH_OK) {
			on_beacon(m, &b, false, now);
			pex_note_beacon(m, &b, true, &from, discovery_last_tag(m->disc), sig, len);
		} else if (rc == MESH_ESTATE || rc == MESH_EAUTH) {
			/* sealed for another mesh, or an open beacon in a closed one */
			MESH_DROP(m, beacons_foreign);
			mesh_droplog(m, LK_BEACON, now, "beacon of another mesh or with a bad signature "
			             "dropped (%s)", mesh_strerror(rc));
		} else if (discovery_last_version(m->disc) != 0) {
			/* a node of another protocol version: it and we never link (section 2), and
			 * its user, or ours, needs to know why */
			MESH_DROP(m, beacons_version);
			mesh_droplog(m, LK_VERSION, now, "beacon of protocol version %llu dropped: this "
			             "node speaks version %d", (unsigned long long)discovery_last_version(
			             m->disc), WIRE_VERSION);
		} else {
			MESH_DROP(m, beacons_bad);
			mesh_droplog(m, LK_BEACON, now, "malformed beacon dropped (%s)", mesh_strerror(rc));
		}
		mesh_trace_in_taken(m, -1);
	}
	mesh_trace_in_done(m);
}

struct held_check {
	struct mesh *m;
	const struct backlog_entry *e;
	bool empty[2];                 /* by known: that bucket's upper half is empty this turn */
	bool no_token;                 /* left held: its bucket's upper half is empty */
};

/* Whether an ID's beacons check from the bucket of IDs with a peer entry (beacon_skip). */
static bool known_id(struct mesh *m, const uint8_t id[WIRE_IDLEN])
{
	const struct peer *p = peer_table_get(&m->peers, id);
	return p && (p->discovered || p->live_sid || p->last_live_ms);
}

/* The bucket of held beacons of that kind (check_held): its upper half only. */
static bool held_token(struct mesh *m, bool known, bool take, uint64_t now)
{
	struct tokens *t = known ? &m->known_checks : &m->unknown_checks;
	unsigned per_s = known ? KNOWN_CHECKS_PER_S : UNKNOWN_CHECKS_PER_S;
	if (m->test_unlimited_checks)
		return true;
	return take ? tokens_take(t, per_s, per_s, per_s / 2, now)
	            : tokens_left(t, per_s, per_s, per_s / 2, now);
}

/* backlog_oldest()'s filter: a held beacon whose bucket has a token for it (check_held and
 * held_skip keep c->empty up to date). */
static bool has_token(void *arg, const struct backlog_entry *e)
{
	struct held_check *c = arg;
	if (c->empty[0] && c->empty[1])
		return false;
	bool known = known_id(c->m, e->id);
	return !c->empty[known];
}

/* beacon_skip() for a held beacon, once its bucket has a token: what changed while it
 * waited (we linked to that run since it was held: the handshake said more, and later, than
 * the beacon; or a newer beacon was verified), then that token (check_held). */
static bool held_skip(void *arg, const struct wire_beacon_body *b)
{
	struct held_check *c = arg;
	struct mesh *m = c->m;
	uint64_t now = m->now_ms;
	struct peer *p = peer_table_get(&m->peers, b->node_id);
	const struct session *live = p && p->live_sid ? session_table_get(&m->sessions, p->live_sid)
	                                               : NULL;
	if (live && p->incarnation == b->incarnation && live->live_ms >= c->e->held_ms)
		return true;
	if (unchanged(m, b, p, &c->e->from, now))
		return true;
	if (p && (p->discovered || p->beacon_counter) && b->counter <= p->beacon_counter) {
		MESH_DROP(m, beacons_stale);
		return true;
	}
	bool known = known_id(m, b->node_id);
	if (!held_token(m, known, true, now)) {
		c->no_token = true;
		return true;
	}
	c->empty[known] = !held_token(m, known, false, now);   /* that was its last */
	return false;
}

/*
 * The held beacons' turn (backlog.h), the longest held first of those whose bucket has a
 * token left in its upper half (one bucket empty does not hold up the other's). The lower
 * half stays for beacons as they arrive, among them the half of the unknown IDs' bucket kept
 * for IDs heard again, so a backlog of a flood's fresh identities cannot take the check of a
 * node heard beaconing. A held beacon is checked, and acted on, as one arriving now from the
 * source and interface it came from, with whether its ID had been heard before then. One not
 * replaced for a beacon interval is dropped: its node's next beacon has come, or the node is
 * gone.
 */
static void check_held(struct mesh *m, uint64_t now)
{
	uint64_t interval = m->cfg.beacon_interval_ms;
	size_t gone = backlog_expire(&m->backlog, now > interval ? now - interval : 0);
	for (size_t i = 0; i < gone; i++)
		MESH_DROP(m, beacons_limited);
	/* both buckets looked at once a turn: a full backlog waiting for tokens costs no lookup */
	struct held_check c = { .m = m, .empty = { !held_token(m, false, false, now),
	                                           !held_token(m, true, false, now) } };
	const struct backlog_entry *oldest;
	while (!(c.empty[0] && c.empty[1]) &&
	       (oldest = backlog_oldest(&m->backlog, has_token, &c))) {
		struct backlog_entry e = *oldest;
		c.e = &e;
		c.no_token = false;
		struct wire_beacon_body b;
		bool skipped;
		enum mesh_err rc = discovery_check_signed(e.blob, e.len, &b, &skipped, held_skip, &c,
		                                          &e.from);
		if (c.no_token) {                 /* has_token said there was one: not expected */
			c.empty[known_id(m, e.id)] = true;
			continue;
		}
		backlog_del(&m->backlog, e.id);
		if (rc == MESH_OK && skipped)
			continue;
		if (rc != MESH_OK) {
			MESH_DROP(m, beacons_foreign);
			mesh_droplog(m, LK_BEACON, now, "held beacon with a bad signature dropped (%s)",
			             mesh_strerror(rc));
			continue;
		}
		m->stats.beacons_verified++;
		m->check_seen = e.seen;
		on_beacon(m, &b, false, now);
		pex_note_beacon(m, &b, true, &e.from, e.tag, e.blob, e.len);
	}
}

static uint64_t jittered(uint64_t interval)
{
	/* +-20 % so that nodes started together do not beacon in lockstep */
	uint64_t span = interval * 2 / 5;
	if (span == 0)
		return interval;
	return interval - interval / 5 + randombytes_uniform((uint32_t)(span + 1));
}

/* Sends a beacon when one is due: at start, the burst, then the periodic one; or an answer. */
void beacon_on_tick(struct mesh *m, uint64_t now)
{
	static const unsigned burst_ms[] = { 50, 100, 200 };  /* +50, +150, +350 from start */
	/* An answer is an ordinary beacon sent early; any beacon sent answers every new peer
	 * heard before it, so answers coalesce, and they are spaced ANSWER_GAP_MS apart so a
	 * crowd starting together cannot make us beacon at its rate. */
	m->now_ms = now;
	if (m->backlog.n)
		check_held(m, now);
	bool answer = m->answer_due && now - m->last_beacon_ms >= ANSWER_GAP_MS;
	if (now >= m->next_beacon_ms || answer) {
		bool early = now < m->next_beacon_ms;
		/* on every interface, each beacon with its own address (discovery.h) */
		for (size_t i = 0; i < discovery_count(m->disc); i++) {
			enum mesh_err rc = discovery_send(m->disc, i, m->id, m->port, m->incarnation);
			if (rc != MESH_OK) {
				mesh_droplog(m, LK_BEACON, now, "cannot send beacon on %s: %s",
				             discovery_iface(m->disc, i)->name,
				             rc == MESH_EIO ? strerror(errno) : mesh_strerror(rc));
			} else {
				m->stats.beacons_tx++;
				m->stats.beacons_answered += early;
				if (mesh_tracing(m)) {
					struct ipaddr a = discovery_iface(m->disc, i)->addr;
					mesh_trace_out_beacon(m, &a, discovery_last_len(m->disc));
				}
			}
		}
		m->last_beacon_ms = now;
		m->answer_due = false;
		/* an answer leaves the periodic schedule as it was */
		if (!early && m->burst < sizeof burst_ms / sizeof burst_ms[0])
			m->next_beacon_ms = now + burst_ms[m->burst++];
		else if (!early)
			m->next_beacon_ms = now + jittered(m->cfg.beacon_interval_ms);
	}
}

/* When beacon_on_tick() has work next: the periodic beacon, or an answer due sooner. */
uint64_t beacon_next_due(const struct mesh *m)
{
	if (m->answer_due && m->last_beacon_ms + ANSWER_GAP_MS < m->next_beacon_ms)
		return m->last_beacon_ms + ANSWER_GAP_MS;
	return m->next_beacon_ms;
}
