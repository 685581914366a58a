/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * handshake: implements docs/protocol.md section 4 on the engine's side. Who dials whom
 * (handshake_maybe_connect, handshake_initiate: HELLO), the responder's limits on HELLOs and
 * its REPLY (handshake_on_hello), the initiator's FINISH (handshake_on_reply), and the
 * responder's checks and tie-break before ACCEPT (handshake_on_finish). What each side says of
 * itself follows who has proven what (protocol section 3.1): the responder's REPLY carries only
 * what its beacon publishes and its features (our_reply), the initiator's FINISH its whole
 * hello (our_hello), and the responder's name and groups go in ACCEPT (send_accept), after
 * every check of message 3. The Noise steps
 * themselves are session.c's; a session that passes them goes live in mesh_go_live() (mesh.c).
 *
 * Invariants:
 * - hs_in and hs_out count the answered and the initiated handshakes in progress: each is
 *   raised here for a session in the table, and lowered once, by handshake_done(), when that
 *   session goes live or is closed;
 * - hs_out_class[c] counts those of hs_out whose session has dial_class c;
 * - dial_addrs counts per dial_ip those of hs_out whose session has dial_counted: each of
 *   class DIAL_HEARD or DIAL_OTHER to an address other than ours (dialaddr.h), raised and
 *   lowered with hs_out (a count that leaked would shut its address out for good);
 * - a source address holds at most MESH_MAX_HALFOPEN_PER_ADDR answered handshakes and all of
 *   them at most MESH_MAX_HANDSHAKES_IN, the oldest evicted first (our own address is exempt
 *   from the per-address limits);
 * - a handshake that fails any check is closed without a reason: no event, no peer changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

/* A handshake stops being in progress: it went live or was removed. */
void handshake_done(struct mesh *m, const struct session *s)
{
	if (s->role == NOISE_INITIATOR) {
		m->hs_out--;
		m->hs_out_class[s->dial_class]--;
		if (s->dial_counted)
			dialaddr_remove(&m->dial_addrs, &s->dial_ip);
	} else
		m->hs_in--;
}

static uint32_t our_features(const struct mesh *m)
{
	if (m->cfg.test_no_ack)
		return 0;
	return WIRE_FEATURE_ACK | WIRE_FEATURE_REKEY | (m->cfg.test_no_pex ? 0 : WIRE_FEATURE_PEERS);
}

/* Message 2 goes to whoever sent a HELLO: nothing our signed beacon does not publish. Our
 * endpoint is the one on the interface towards its address (from: its source). */
static enum mesh_err our_reply(struct mesh *m, const struct ipaddr *from, uint8_t *out,
                               size_t cap, size_t *len)
{
	struct wire_reply_payload r = { .incarnation = m->incarnation,
	                                .features = our_features(m), .port = m->port };
	memcpy(r.node_id, m->id->id, WIRE_IDLEN);
	mesh_ip_towards(m, from, &r.ip);
	return wire_reply_payload_encode(&r, out, cap, len);
}

/* Message 3 goes to the node we dialled (at to), which message 2 has just authenticated. */
static enum mesh_err our_hello(struct mesh *m, const struct ipaddr *to, uint8_t *out,
                               size_t cap, size_t *len)
{
	/* 4 KiB of group pointers: heap, not stack, and not static (meshsim --inproc runs many
	 * meshes in one process) */
	struct wire_hello *hp = calloc(1, sizeof *hp);
	if (!hp)
		return MESH_ENOMEM;
	memcpy(hp->node_id, m->id->id, WIRE_IDLEN);
	hp->name.p = m->name;
	hp->name.len = strlen(m->name);
	hp->incarnation = m->incarnation;
	mesh_ip_towards(m, to, &hp->ip);
	hp->port = m->port;
	hp->features = our_features(m);
	hp->ngroups = m->groups.n;
	for (size_t i = 0; i < m->groups.n; i++) {
		hp->groups[i].p = m->groups.names[i];
		hp->groups[i].len = strlen(m->groups.names[i]);
	}
	enum mesh_err rc = wire_hello_encode(hp, out, cap, len);
	free(hp);
	return rc;
}

/* Whose slots a dial to p may take (protocol section 4, "Dial slots"). */
static enum dial_class dial_class_of(const struct peer *p, uint64_t now)
{
	if (p->live_sid || (p->last_live_ms && now - p->last_live_ms <= RECENT_LINK_MS))
		return DIAL_RECENT;
	if (p->heard_again && p->dial_failures == 0)
		return DIAL_HEARD;
	return DIAL_OTHER;
}

/* The first try waits handshake_timeout, each retry twice as long as the one before, up to
 * HS_TRIES_SCALE_MAX times, but never past half of expired unless handshake_timeout itself is:
 * a host or LAN so slow that a handshake's round trips outlast the timeout gets through on a
 * later try, while a message lost on a fast one is still tried again soon (a longer first
 * timeout doubled the time 128 processes took to link, docs/performance.md). */
uint32_t mesh_handshake_longest(uint32_t handshake_timeout_ms, uint32_t expired_ms)
{
	uint64_t base = handshake_timeout_ms ? handshake_timeout_ms : MESH_HANDSHAKE_TIMEOUT_MS;
	uint64_t cap = (uint64_t)expired_ms / 2;
	if (cap > HS_TRIES_SCALE_MAX * base)
		cap = HS_TRIES_SCALE_MAX * base;
	return (uint32_t)(cap > base ? cap : base);
}

uint32_t handshake_timeout(const struct mesh *m, uint32_t failures)
{
	uint64_t t = m->cfg.handshake_timeout_ms;
	for (uint32_t i = 0; i < failures && t < m->hs_longest_ms; i++)
		t *= 2;
	return t < m->hs_longest_ms ? (uint32_t)t : m->hs_longest_ms;
}

struct session *handshake_dial(struct mesh *m, const struct ipaddr *ip, uint16_t port,
                               const uint8_t *expected_id, enum dial_class c, uint32_t failures,
                               uint64_t now)
{
	size_t nlen, flen;
	struct session *s = session_new(NOISE_INITIATOR, m->prologue, m->prologue_len, m->id->x_sk,
	                                m->id->x_pk, m->psk, &m->keymem, now);
	if (!s)
		return NULL;
	if (expected_id)
		memcpy(s->expected_id, expected_id, WIRE_IDLEN);
	else
		s->expect_any = true;
	s->dial_class = (uint8_t)c;
	s->dial_ip = *ip;
	s->hs_timeout_ms = handshake_timeout(m, failures);
	if (session_table_add(&m->sessions, s) != MESH_OK) {
		session_destroy(&s);
		return NULL;
	}
	if (m->lops->dial(m->link, s->sid, ip, port) != MESH_OK)
		goto fail;
	if (session_write_hello(s, m->pbuf, sizeof m->pbuf, &nlen) != MESH_OK)
		goto fail;
	struct wire_frame f = { .type = WIRE_HELLO, .tx_sid = s->sid, .body = m->pbuf,
	                        .body_len = nlen };
	if (wire_frame_encode(&f, m->fbuf, sizeof m->fbuf, &flen) != MESH_OK)
		goto fail;
	/* queued by the link until the connection is up; should it fail, the handshake times out
	 * and is tried again */
	mesh_trace_decision(m, "dial", s, NULL);
	(void)send_frame(m, s, m->fbuf, flen);
	m->hs_out++;
	m->hs_out_class[c]++;
	/* of the classes anyone can make identities for, counted per destination address (our
	 * own exempt); the table has a row per slot (mesh_impl.h): were it full, the dial would
	 * go uncounted */
	bool per_addr = c != DIAL_RECENT && !mesh_own_ip(m, ip);
	s->dial_counted = per_addr && dialaddr_add(&m->dial_addrs, ip);
	return s;
fail:
	session_table_del(&m->sessions, s->sid);
	m->lops->hangup(m->link, s->sid);
	session_destroy(&s);
	return NULL;
}

void handshake_initiate(struct mesh *m, struct peer *p, uint64_t now)
{
	char ipbuf[IPADDR_EPLEN], fp[KEYS_FPR_LEN];
	enum dial_class c = dial_class_of(p, now);
	size_t unlinked = m->hs_out_class[DIAL_HEARD] + m->hs_out_class[DIAL_OTHER];
	/* Anyone can make identities of the last two classes, as many as it likes at one
	 * address: there they get DIAL_PER_ADDR_MAX slots, not all of them. Our own address is
	 * exempt, since many nodes on one host are normal (as handshake_on_hello spares it). */
	bool per_addr = c != DIAL_RECENT && !mesh_own_ip(m, &p->ip);
	if (m->hs_out >= MESH_MAX_HANDSHAKES_OUT ||
	    (c != DIAL_RECENT && unlinked >= MESH_MAX_HANDSHAKES_OUT - DIAL_RESERVED) ||
	    (c == DIAL_OTHER && m->hs_out_class[DIAL_OTHER] >= DIAL_OTHER_MAX) ||
	    (per_addr && dialaddr_count(&m->dial_addrs, &p->ip) >= DIAL_PER_ADDR_MAX)) {
		MESH_DECIDE(m, dials_deferred, NULL);      /* tried again at the next sweep */
		return;
	}
	struct session *s = handshake_dial(m, &p->ip, p->port, p->id, c, p->dial_failures, now);
	if (!s) {
		handshake_backoff(p, now);      /* a dial that cannot even start is a failure too */
		return;
	}
	p->pending_sid = s->sid;
	mesh_logline(m, 3, "handshake -> %s at %s (sid %08x)", mesh_fpr(p->id, fp),
	             ipaddr_endpoint(&p->ip, p->port, ipbuf), s->sid);
}

/* A handshake we started with p ended without a live session (it failed a check, timed out
 * or was refused): the next may start after REDIAL_BASE_MS x 2^(failures - 1), at most
 * REDIAL_MAX_MS, each drawn between half and one and a half times that (protocol section 4),
 * so that a peer that cannot be linked costs a few handshakes a minute, not ten a second. */
uint64_t handshake_redial_at(uint32_t *failures, uint64_t now)
{
	if (*failures < 32)
		(*failures)++;
	uint64_t d = *failures > 8 ? REDIAL_MAX_MS : (uint64_t)REDIAL_BASE_MS << (*failures - 1);
	if (d > REDIAL_MAX_MS)
		d = REDIAL_MAX_MS;
	return now + d / 2 + randombytes_uniform((uint32_t)d);
}

void handshake_backoff(struct peer *p, uint64_t now)
{
	uint64_t at = handshake_redial_at(&p->dial_failures, now);
	if (p->next_dial_ms != UINT64_MAX)
		p->next_dial_ms = at;
}

void handshake_dial_now(struct peer *p)
{
	p->dial_failures = 0;
	p->next_dial_ms = 0;
}

/* Starts a handshake with p if the rules of protocol section 4 say we should. */
void handshake_maybe_connect(struct mesh *m, struct peer *p, uint64_t now)
{
	bool needed = !p->live_sid || p->incarnation != p->beacon_incarnation;
	if (!p->discovered || p->pending_sid || !needed || now < p->next_dial_ms)
		return;
	if (m->cfg.may_link && !m->cfg.may_link(m->cfg.event_arg, p->id))
		return;
	if (p->first_unlinked_ms == 0)
		p->first_unlinked_ms = now;
	/* the lower ID initiates; the higher steps in only if nothing happened for `fallback` */
	if (!mesh_id_lower(m->id->id, p->id) && now - p->first_unlinked_ms < m->cfg.fallback_ms)
		return;
	handshake_initiate(m, p, now);
}

struct halfopen {
	const char *addr;
	size_t n;
};

static void count_halfopen(struct session *s, void *arg)
{
	struct halfopen *h = arg;
	if (s->role == NOISE_RESPONDER && s->state != SESSION_LIVE && strcmp(s->src_addr, h->addr) == 0)
		h->n++;
}

/* Answered handshakes in progress from one address: a source cannot hold every slot. */
static size_t halfopen_from(struct mesh *m, const char *addr)
{
	struct halfopen h = { addr, 0 };
	session_table_each(&m->sessions, count_halfopen, &h);
	return h.n;
}

struct oldest_hs {
	const char *addr;            /* NULL: from any address */
	struct session *s;
};

static void find_oldest_halfopen(struct session *s, void *arg)
{
	struct oldest_hs *o = arg;
	if (s->role == NOISE_RESPONDER && s->state == SESSION_RESP_SENT_REPLY &&
	    (!o->addr || strcmp(s->src_addr, o->addr) == 0) &&
	    (!o->s || s->created_ms < o->s->created_ms))
		o->s = s;
}

/* All answered slots are taken (of addr, or of all when NULL): give the newcomer the slot of
 * the oldest answered handshake. A real handshake finishes within a round trip, so a flood
 * that keeps the slots full evicts mostly its own half-open sessions, while refusing
 * newcomers would lock out every peer. Of one address's slots only a handshake older than
 * handshake_timeout is taken: one that waits longer (up to 40 s, section 4 "Timeouts") may
 * have been given up by its initiator and must not shut its address out that long, but a
 * burst from a shared address must not kill the handshakes in flight beside it either. */
static bool evict_oldest_halfopen(struct mesh *m, const char *addr, uint64_t now)
{
	struct oldest_hs o = { addr, NULL };
	session_table_each(&m->sessions, find_oldest_halfopen, &o);
	if (!o.s || (addr && now - o.s->created_ms < m->cfg.handshake_timeout_ms))
		return false;
	MESH_DROP_S(m, handshakes_failed, o.s);
	mesh_close_session(m, o.s, NULL, now);
	return true;
}

void handshake_on_hello(struct mesh *m, const struct wire_frame *f, const uint8_t *rid,
                        size_t rid_len, const char *addr, uint64_t now)
{
	size_t hlen, nlen, flen;
	struct session *s;
	/* Per-address limits stop a few LAN hosts from taking every handshake slot. Our own
	 * address is exempt: every node of this host dials from it (several applications, or a
	 * simulation), as connwatch.c spares it. Any other, 127.0.0.2 too, is a host like any. */
	struct ipaddr src;
	bool parsed = ipaddr_parse(addr, &src) == MESH_OK;
	bool local = parsed && mesh_own_ip(m, &src);
	if (!local && !ratelimit_allow(&m->hello_rate, addr, now)) {
		MESH_DROP(m, hellos_limited);
		mesh_droplog(m, LK_RATE, now, "handshake from %s over the rate limit: dropped", addr);
		return;
	}
	if (rid_len == 0 || rid_len > SESSION_MAX_RID)
		return;
	if (!local && halfopen_from(m, addr) >= MESH_MAX_HALFOPEN_PER_ADDR &&
	    !evict_oldest_halfopen(m, addr, now)) {
		MESH_DROP(m, hellos_limited);
		mesh_droplog(m, LK_RATE, now, "too many handshakes in progress from %s: HELLO dropped",
		             addr);
		return;
	}
	if (m->hs_in >= MESH_MAX_HANDSHAKES_IN && !evict_oldest_halfopen(m, NULL, now)) {
		MESH_DROP(m, hellos_limited);
		mesh_droplog(m, LK_RATE, now, "%d handshakes in progress: HELLO from %s dropped",
		             MESH_MAX_HANDSHAKES_IN, addr);
		return;
	}
	s = session_new(NOISE_RESPONDER, m->prologue, m->prologue_len, m->id->x_sk, m->id->x_pk,
	                m->psk, &m->keymem, now);
	if (!s)
		return;
	if (session_set_rid(s, rid, rid_len) != MESH_OK) {
		session_destroy(&s);
		mesh_droplog(m, LK_RATE, now, "out of memory: HELLO from %s dropped", addr);
		return;
	}
	s->hs_timeout_ms = m->hs_longest_ms;   /* whichever try of the initiator's this is */
	if (session_table_add(&m->sessions, s) != MESH_OK) {
		session_destroy(&s);
		mesh_droplog(m, LK_RATE, now, "session table full: HELLO from %s dropped", addr);
		return;
	}
	m->hs_in++;
	snprintf(s->src_addr, sizeof s->src_addr, "%s", addr);
	s->remote_sid = f->tx_sid;
	s->hello_len = m->in_len;
	mesh_trace_in_session(m, s);
	mesh_trace_decision(m, "answer", s, NULL);
	if (our_reply(m, parsed ? &src : NULL, m->hbuf, sizeof m->hbuf,
	              &hlen) != MESH_OK ||
	    session_on_hello(s, f->body, f->body_len, m->hbuf, hlen, m->pbuf, sizeof m->pbuf,
	                     &nlen) != MESH_OK) {
		MESH_DROP(m, handshakes_failed);
		mesh_droplog(m, LK_HS, now, "handshake message 1 from %s rejected", addr);
		mesh_close_session(m, s, NULL, now);
		return;
	}
	struct wire_frame r = { .type = WIRE_REPLY, .rx_sid = f->tx_sid, .tx_sid = s->sid,
	                        .body = m->pbuf, .body_len = nlen };
	if (wire_frame_encode(&r, m->fbuf, sizeof m->fbuf, &flen) != MESH_OK ||
	    send_frame(m, s, m->fbuf, flen) != MESH_OK)
		mesh_close_session(m, s, NULL, now);
}

void handshake_on_reply(struct mesh *m, struct session *s, const struct wire_frame *f,
                        uint64_t now)
{
	size_t hlen, nlen, flen;
	char fp[KEYS_FPR_LEN];
	enum mesh_err rc;
	if (s->state != SESSION_INIT_SENT_HELLO) {
		MESH_DROP(m, frames_bad);
		return;
	}
	s->remote_sid = f->tx_sid;
	rc = our_hello(m, &s->dial_ip, m->hbuf, sizeof m->hbuf, &hlen);
	if (rc == MESH_OK)
		rc = group_set_copy(&s->sent_groups, &m->groups);
	if (rc == MESH_OK)
		rc = session_on_reply(s, f->body, f->body_len, m->hbuf, hlen, m->pbuf,
		                      sizeof m->pbuf, &nlen);
	if (rc != MESH_OK) {
		MESH_DROP(m, handshakes_failed);
		mesh_droplog(m, LK_HS, now, "handshake with %s failed at message 2: %s",
		             s->expect_any ? "a fixed peer" : mesh_fpr(s->expected_id, fp),
		             rc == MESH_EAUTH ? "authentication or identity check failed"
		                              : mesh_strerror(rc));
		mesh_close_session(m, s, NULL, now);
		return;
	}
	if (s->fixed && !fixed_on_reply(m, s, now))
		return;                         /* not needed, or not a peer we link with */
	mesh_keylog_session(m, s, s->tx);
	struct wire_frame r = { .type = WIRE_FINISH, .rx_sid = s->remote_sid, .body = m->pbuf,
	                        .body_len = nlen };
	if (wire_frame_encode(&r, m->fbuf, sizeof m->fbuf, &flen) != MESH_OK ||
	    send_frame(m, s, m->fbuf, flen) != MESH_OK) {
		mesh_close_session(m, s, NULL, now);
		return;
	}
	s->last_rx_ms = s->probe_ms = now;
	s->rx_bytes += m->in_len;   /* the REPLY, authenticated */
}

void handshake_on_finish(struct mesh *m, struct session *s, const struct wire_frame *f,
                         uint64_t now)
{
	char fp[KEYS_FPR_LEN];
	if (s->state != SESSION_RESP_SENT_REPLY) {
		/* protocol section 3: a frame not expected in this state is dropped */
		MESH_DROP(m, frames_bad);
		mesh_droplog(m, LK_FRAME, now, "unexpected FINISH on session %08x dropped", s->sid);
		return;
	}
	enum mesh_err rc = session_on_finish(s, f->body, f->body_len);
	if (rc != MESH_OK) {
		MESH_DROP(m, handshakes_failed);
		mesh_droplog(m, LK_HS, now, "handshake from %s failed at message 3: %s", s->src_addr,
		             rc == MESH_EAUTH ? "authentication or identity check failed"
		                              : mesh_strerror(rc));
		mesh_close_session(m, s, NULL, now);
		return;
	}
	mesh_keylog_session(m, s, s->tx);
	session_rtt_sample(s, s->created_ms, now);   /* our REPLY went when s was made */
	s->last_rx_ms = now;
	s->rx_bytes += s->hello_len + m->in_len;    /* the HELLO, which FINISH authenticates */
	if (memcmp(s->peer_id, m->id->id, WIRE_IDLEN) == 0) {
		/* our own identity from another process: two nodes share an identity file */
		mesh_droplog(m, LK_HS, now, "handshake from %s carries our own identity: refused",
		             s->src_addr);
		mesh_alarm(m, MESH_ALARM_OWN_ID, s->peer_id, s->peer_name, &s->peer_ip, s->peer_port,
		           s->peer_incarnation, &m->own_alarm_ms, now);
		mesh_close_session(m, s, NULL, now);
		return;
	}
	if (m->cfg.may_link && !m->cfg.may_link(m->cfg.event_arg, s->peer_id)) {
		/* the user's list of peers (known-only mode or an allow-list) */
		MESH_DROP(m, sessions_rejected);
		mesh_droplog(m, LK_HS, now, "handshake from %s (%s) refused: not a peer we link with",
		             mesh_fpr(s->peer_id, fp), s->src_addr);
		(void)send_simple(m, s, WIRE_REJECT, 2, now);
		mesh_close_session(m, s, NULL, now);
		return;
	}
	struct peer *p = peer_table_get_or_add(&m->peers, s->peer_id);
	if (!p && beacon_evict_unlinked(m))
		p = peer_table_get_or_add(&m->peers, s->peer_id);
	if (!p) {
		MESH_DROP(m, sessions_rejected);
		mesh_droplog(m, LK_HS, now, "peer table full: handshake from %s dropped", s->src_addr);
		mesh_close_session(m, s, NULL, now);
		return;
	}
	/*
	 * Tie-break (protocol section 4): of two crossing handshakes, the lower initiator wins.
	 * The losing half may reach us while ours is still in progress (pending), or just after
	 * ours went live: the peer sent its FINISH before it accepted ours. A session we
	 * initiated as the lower ID, live for less than a handshake timeout, with the same
	 * incarnation, is that case, not a peer that lost its session and came back. Ours wins
	 * only while it can still succeed soon: a retry of ours may wait far longer than
	 * handshake_timeout for a REPLY (a port the peer cannot reach), and rejecting the
	 * peer's completed handshake all that time would keep a pair apart that its own dial
	 * can link; mesh_go_live() abandons ours.
	 */
	struct session *live = p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	struct session *mine = p->pending_sid ? session_table_get(&m->sessions, p->pending_sid) : NULL;
	bool lost_crossing = live && live->role == NOISE_INITIATOR &&
	                     mesh_id_lower(m->id->id, s->peer_id) &&
	                     live->peer_incarnation == s->peer_incarnation &&
	                     now - live->live_ms < m->cfg.handshake_timeout_ms;
	bool mine_wins = mine && !mesh_id_lower(s->peer_id, m->id->id) &&
	                 (mine->state == SESSION_INIT_WAIT_ACCEPT ||
	                  now - mine->created_ms < m->cfg.handshake_timeout_ms);
	if (mine_wins || lost_crossing) {
		MESH_DROP(m, sessions_rejected);
		mesh_logline(m, 3, "crossing handshakes with %s: ours wins", mesh_fpr(s->peer_id, fp));
		(void)send_simple(m, s, WIRE_REJECT, 1, now);
		mesh_close_session(m, s, NULL, now);
		return;
	}
	/* only now, the initiator proven and admitted, our name and groups */
	if (group_set_copy(&s->sent_groups, &m->groups) != MESH_OK ||
	    send_accept(m, s, now) != MESH_OK) {
		mesh_close_session(m, s, NULL, now);
		return;
	}
	mesh_go_live(m, s, now);
}
