/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mesh: ties discovery, sessions, peers and groups into the protocol of docs/protocol.md.
 *
 * Invariants:
 * - a peer has at most one live session (live_sid) and at most one handshake we initiated
 *   (pending_sid); each names a session in the table, or is 0;
 * - a session's peer is known for an initiator from the start (expected_id, the beacon's ID),
 *   but for one that dials a fixed peer by address only (expect_any) and for a responder only
 *   once the handshake authenticated it; nothing is trusted before;
 * - every application message a peer's queue holds is either sent or reported to the
 *   application by a DROPPED event: nothing is discarded silently;
 * - a DATA counter is never spent on a frame that was not sent: a frame that meets a full
 *   socket is kept (session->stall) and goes out before anything else on that session.
 *
 * The engine is one struct mesh (mesh_impl.h) and one file per concern. This one holds setup,
 * logging and events, session transitions (mesh_go_live, mesh_close_session), input from the
 * link, the application's requests and the queries. handshake.c runs the handshake, send.c
 * sends and queues, deliver.c takes DATA frames in, beacon.c acts on beacons and sends ours,
 * timers.c does the clock's work (mesh_on_tick), and mesh_test.c holds the test hooks.
 */
#include "mesh_impl.h"

#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROLOGUE_TAG "meshnode/2 "     /* the protocol version, WIRE_VERSION */
_Static_assert(WIRE_VERSION == 2, "PROLOGUE_TAG names the protocol version");
#define PROTO_XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define PROTO_XXPSK3 "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"

static void on_link_frame(void *arg, const struct link_route *from, const char *addr,
                          const uint8_t *frame, size_t len);
static void on_link_malformed(void *arg);
static void on_link_closed(void *arg, enum link_closed why, const char *addr);

/* ---------- logging ---------- */

void mesh_logline(struct mesh *m, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (level > m->cfg.log_level || !m->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	m->cfg.log(m->cfg.log_arg, level, line);
}

/* For input from the network: a flood must not become a log flood. */
void mesh_droplog(struct mesh *m, enum logkind k, uint64_t now, const char *fmt, ...)
{
	char line[400];
	va_list ap;
	if (m->log_last[k] && now - m->log_last[k] < 1000) {
		m->log_suppressed[k]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (m->log_suppressed[k])
		mesh_logline(m, 1, "%s (and %u similar since the last report)", line,
		             m->log_suppressed[k]);
	else
		mesh_logline(m, 1, "%s", line);
	m->log_last[k] = now;
	m->log_suppressed[k] = 0;
}

const char *mesh_fpr(const uint8_t id[WIRE_IDLEN], char buf[KEYS_FPR_LEN])
{
	keys_fingerprint(id, buf);
	return buf;
}

/* ---------- events ---------- */

_Static_assert(MESH_MAX_PEERS == PEER_MAX, "the peer table's cap, which mesh.h sizes by");

void mesh_peer_view(const struct peer *p, struct mesh_peer_view *out)
{
	memcpy(out->id, p->id, sizeof out->id);
	memcpy(out->hex, p->hex, sizeof out->hex);
	memcpy(out->name, p->name, sizeof out->name);
	out->ip = p->ip;
	out->port = p->port;
	out->incarnation = p->incarnation;
	out->evasive = p->evasive;
	out->queued_msgs = p->qmsgs - p->qinflight;
	out->unacked_msgs = p->qinflight;
	out->groups = &p->groups;
}

void mesh_emit(struct mesh *m, enum mesh_event_type type, const struct peer *p,
               const char *group, uint64_t msg_id, uint8_t *data, size_t len,
               const char *reason)
{
	struct mesh_peer_view view;
	if (p)
		mesh_peer_view(p, &view);
	struct mesh_event ev = {
		.type = type, .peer = p ? &view : NULL, .group = group, .msg_id = msg_id,
		.data = data, .len = len, .reason = reason,
	};
	mesh_trace_event(m, &ev);
	if (m->cfg.event) {
		m->cfg.event(m->cfg.event_arg, &ev);
	} else if (data) {
		sodium_memzero(data, len);
		free(data);
	}
}

/* One node ID in two places (mesh.h, enum mesh_alarm): an info line and an ALARM event (which
 * the application shows: a warning line too would say it twice in the chat), at
 * most one per ALARM_GAP_MS for each kind and ID, since whatever causes it goes on. The view
 * is the other node's: its ID, where it is, its run. */
void mesh_alarm(struct mesh *m, enum mesh_alarm kind, const uint8_t id[WIRE_IDLEN],
                const char *name, const struct ipaddr *ip, uint16_t port, uint64_t incarnation,
                uint64_t *last_ms, uint64_t now)
{
	if (*last_ms && now - *last_ms < ALARM_GAP_MS)
		return;
	*last_ms = now ? now : 1;
	char fp[KEYS_FPR_LEN], ipbuf[IPADDR_EPLEN];
	ipaddr_endpoint(ip, port, ipbuf);
	struct mesh_peer_view view = { .port = port, .incarnation = incarnation };
	memcpy(view.id, id, WIRE_IDLEN);
	keys_id_hex(id, view.hex);
	view.ip = *ip;
	if (name)
		snprintf(view.name, sizeof view.name, "%s", name);
	MESH_DECIDE(m, alarms, NULL);
	const char *reason;
	if (kind == MESH_ALARM_OWN_ID) {
		reason = "another node uses our own identity";
		mesh_logline(m, 2, "another node, at %s, announces our own node ID %s: the identity "
		             "file was copied, and the two nodes will disturb each other's links; give "
		             "one of them its own identity", ipbuf, mesh_fpr(id, fp));
	} else {
		reason = "two nodes share one identity";
		mesh_logline(m, 2, "two nodes take turns as %s (one now at %s): an identity file was "
		             "copied; keeping the link we have", mesh_fpr(id, fp), ipbuf);
	}
	struct mesh_event ev = { .type = MESH_EV_ALARM, .alarm = kind, .peer = &view,
	                         .reason = reason };
	if (m->cfg.event)
		m->cfg.event(m->cfg.event_arg, &ev);
}

void mesh_emit_answer(struct mesh *m, const struct peer *p, const struct outmsg *om,
                      enum mesh_drop why, bool maybe)
{
	struct mesh_peer_view view;
	mesh_peer_view(p, &view);
	bool delivered = why == MESH_DROP_COUNT;
	struct mesh_event ev = {
		.type = delivered ? MESH_EV_DELIVERED : MESH_EV_DROPPED, .peer = &view,
		.group = om->kind == OUTMSG_SHOUT ? om->group : NULL, .msg_id = om->msg_id,
		.reason = delivered ? NULL : mesh_drop_reason(why), .maybe_delivered = maybe,
	};
	if (m->cfg.event)
		m->cfg.event(m->cfg.event_arg, &ev);
}

/* ---------- setup ---------- */

static void derive(const uint8_t key[MESH_KEYLEN], const char *label, uint8_t out[32])
{
	crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), key, MESH_KEYLEN);
}

/*
 * Keys older than this close their session (protocol section 3.3): the rekey interval plus
 * half of it, but at least two REKEY_TIMEOUT_MS (an attempt and its retry start before it,
 * when the round trip is short) and at most 60 s (WireGuard's REJECT_AFTER_TIME, 180 s, with
 * the default 120 s interval). A round trip long enough to push a retry past it is a link
 * that cannot rekey, and closing it is the rule's purpose.
 */
uint64_t mesh_reject_after(uint32_t rekey_ms)
{
	uint64_t margin = rekey_ms / 2;
	if (margin < REKEY_MARGIN_MIN_MS)
		margin = REKEY_MARGIN_MIN_MS;
	if (margin > REKEY_MARGIN_MAX_MS)
		margin = REKEY_MARGIN_MAX_MS;
	return (uint64_t)rekey_ms + margin;
}

struct mesh *mesh_new(const struct mesh_config *cfg, uint64_t now_ms, char *err, size_t errcap)
{
	struct mesh *m = calloc(1, sizeof *m);
	uint8_t beacon_key[32], mesh_id[32] = { 0 };
	if (!m) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	m->cfg = *cfg;
	if (!m->cfg.ttl_ms)
		m->cfg.ttl_ms = TTL_DEFAULT_MS;
	if (m->cfg.ttl_ms > MESH_TTL_MAX_MS)
		m->cfg.ttl_ms = MESH_TTL_MAX_MS;
	if (!m->cfg.rekey_after_ms)
		m->cfg.rekey_after_ms = MESH_REKEY_AFTER_MS;
	if (!m->cfg.rekey_after_msgs)
		m->cfg.rekey_after_msgs = MESH_REKEY_AFTER_MSGS;
	m->reject_after_ms = mesh_reject_after(m->cfg.rekey_after_ms);
	/* Not derived from expired: f37071b made it half of expired, and a handshake whose
	 * message was lost then waited that long to be tried again; 128 processes took twice as
	 * long to full mesh (docs/performance.md) */
	if (!m->cfg.handshake_timeout_ms)
		m->cfg.handshake_timeout_ms = MESH_HANDSHAKE_TIMEOUT_MS;
	m->hs_longest_ms = mesh_handshake_longest(m->cfg.handshake_timeout_ms, m->cfg.expired_ms);
	m->rpool.budget = REASM_BUDGET;
	m->id = cfg->id;
	snprintf(m->name, sizeof m->name, "%s", cfg->name ? cfg->name : "node");
	do {
		randombytes_buf(&m->incarnation, sizeof m->incarnation);
	} while (m->incarnation == 0);
	if (session_table_init(&m->sessions, MESH_MAX_SESSIONS) != MESH_OK ||
	    session_keymem_init(&m->keymem) != MESH_OK ||
	    peer_table_init(&m->peers, 1024) != MESH_OK) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	heard_init(&m->heard);
	randombytes_buf(m->seen_key, sizeof m->seen_key);
	if (cfg->mesh_key) {
		m->psk = sodium_malloc(NOISE_PSKLEN);
		if (!m->psk) {
			snprintf(err, errcap, "out of memory");
			goto fail;
		}
		derive(cfg->mesh_key, "meshnode psk v1", m->psk);
		derive(cfg->mesh_key, "meshnode beacon v1", beacon_key);
		mesh_keylog_beacon(cfg, beacon_key);
		derive(cfg->mesh_key, "meshnode mesh-id v1", mesh_id);
	}
	/* prologue = "meshnode/2 " || protocol name || mesh_id (protocol section 3.1) */
	{
		const char *proto = m->psk ? PROTO_XXPSK3 : PROTO_XX;
		size_t tl = strlen(PROLOGUE_TAG), pl = strlen(proto);
		memcpy(m->prologue, PROLOGUE_TAG, tl);
		memcpy(m->prologue + tl, proto, pl);
		memcpy(m->prologue + tl + pl, mesh_id, sizeof mesh_id);
		m->prologue_len = tl + pl + sizeof mesh_id;
	}
	struct discovery_config dc = {
		.mcast = { .env = cfg->mcast_env, .iface = cfg->iface, .group = cfg->mcast_group,
		           .port = cfg->mcast_port, .group6 = cfg->mcast_group6 },
		.ops = cfg->mcast_ops, .beacon_key = m->psk ? beacon_key : NULL,
		.sel = { .allow = cfg->iface_allow, .n_allow = cfg->n_iface_allow,
		         .deny = cfg->iface_deny, .n_deny = cfg->n_iface_deny },
	};
	m->disc = discovery_new(&dc, err, errcap);
	sodium_memzero(beacon_key, sizeof beacon_key);
	if (!m->disc)
		goto fail;
	m->ip = discovery_ifaddr(m->disc);
	m->lops = cfg->link_ops ? cfg->link_ops : &link_zmq;
	/* a genuine initiator has its try's timeout until REPLY, then at most the longest from
	 * its FINISH until ACCEPT (protocol section 4, "States"), and its connection is proven
	 * once our session completes: twice the longest bounds it (protocol section 3) */
	uint64_t unauth = 2 * (uint64_t)m->hs_longest_ms;
	struct link_config lc = {
		.env = cfg->link_ops ? cfg->link_env : cfg->zmq_ctx, .port = cfg->port,
		.unauth_lifetime_ms = unauth < UINT32_MAX ? (uint32_t)unauth : UINT32_MAX,
		.sink = { .arg = m, .frame = on_link_frame, .malformed = on_link_malformed,
		          .closed = on_link_closed },
	};
	lc.ip = m->ip;
	m->link = m->lops->open(&lc, &m->port, err, errcap);
	if (!m->link)
		goto fail;
	m->next_beacon_ms = now_ms;
	/* Sweeping every session and peer is the only per-tick cost that grows with the mesh, and
	 * its timers (heartbeat, evasive, expired, handshake and queue timeouts, fallback) are
	 * hundreds of milliseconds: a quarter of a heartbeat, within [TICK_MS, SWEEP_MAX_MS], is
	 * soon enough. Stalled sends are retried on every tick regardless. */
	m->sweep_ms = cfg->heartbeat_ms / 4;
	if (m->sweep_ms < TICK_MS)
		m->sweep_ms = TICK_MS;
	if (m->sweep_ms > SWEEP_MAX_MS)
		m->sweep_ms = SWEEP_MAX_MS;
	mesh_logline(m, 2, "node %s listening on %s", m->name, m->lops->endpoint(m->link));
	ifaces_on_open(m, now_ms);
	return m;
fail:
	mesh_destroy(&m);
	return NULL;
}

void mesh_destroy(struct mesh **mp)
{
	struct mesh *m = mp ? *mp : NULL;
	if (!m)
		return;
	if (m->sessions.slots)
		session_table_free(&m->sessions);
	session_keymem_free(&m->keymem);
	if (m->peers.buckets)
		peer_table_free(&m->peers);
	group_set_clear(&m->groups);
	if (m->link)
		m->lops->close(m->link);
	discovery_destroy(&m->disc);
	if (m->psk)
		sodium_free(m->psk);
	free(m->fixed);
	sodium_memzero(m->pbuf, sizeof m->pbuf);
	sodium_memzero(m->mbuf, sizeof m->mbuf);
	free(m);
	*mp = NULL;
}

const char *mesh_endpoint(const struct mesh *m)
{
	return m->lops->endpoint(m->link);
}

uint64_t mesh_incarnation(const struct mesh *m)
{
	return m->incarnation;
}

/* ---------- peers and sessions ---------- */

bool mesh_id_lower(const uint8_t a[WIRE_IDLEN], const uint8_t b[WIRE_IDLEN])
{
	return memcmp(a, b, WIRE_IDLEN) < 0;
}

/* The peer a session belongs to, or NULL while a responder does not know yet. */
struct peer *mesh_session_peer(struct mesh *m, const struct session *s)
{
	if (s->authenticated)
		return peer_table_get(&m->peers, s->peer_id);
	if (s->role == NOISE_INITIATOR)
		return peer_table_get(&m->peers, s->expected_id);
	return NULL;
}

static void emit_groups(struct mesh *m, struct peer *p, enum mesh_event_type t)
{
	for (size_t i = 0; i < p->groups.n; i++)
		mesh_emit(m, t, p, p->groups.names[i], 0, NULL, 0, NULL);
}

/* Queues JOIN/LEAVE for whatever changed in our groups since our hello was sent, ahead of
 * anything else for p: a join made during the handshake must not be lost. */
static void sync_groups(struct mesh *m, struct session *s, struct peer *p, uint64_t now)
{
	send_drop_controls(p);   /* queued for an earlier session: the hello supersedes them */
	struct peer_qent *old_head = p->qhead, *old_tail = p->qtail;
	for (int pass = 0; pass < 2; pass++) {
		const struct group_set *from = pass == 0 ? &m->groups : &s->sent_groups;
		const struct group_set *other = pass == 0 ? &s->sent_groups : &m->groups;
		for (size_t i = 0; i < from->n; i++) {
			if (group_set_has(other, from->names[i], strlen(from->names[i])))
				continue;
			struct outmsg *om = outmsg_new(pass == 0 ? OUTMSG_JOIN : OUTMSG_LEAVE, 0,
			                               from->names[i], NULL, 0);
			if (!om || peer_enqueue(p, om, false, now, SIZE_MAX, SIZE_MAX) != MESH_OK)
				mesh_logline(m, 0, "out of memory: group change not sent to %s", p->name);
			outmsg_unref(&om);
		}
	}
	group_set_clear(&s->sent_groups);
	/* the group changes go first, then what was already waiting: move them to the front */
	if (old_head && p->qtail != old_tail) {
		struct peer_qent *first = old_tail->next, *last = p->qtail;
		old_tail->next = NULL;
		p->qtail = old_tail;
		first->prev = NULL;
		last->next = old_head;
		old_head->prev = last;
		p->qhead = first;
	}
	peer_qsend_back(p, NULL);
}

/*
 * Two nodes with one ID (a copied identity file) would take turns as p: each handshake of one
 * replaces the other's session, and every other node would show them leaving and entering
 * for as long as both run. A restart never brings back the run before: a session with p's
 * previous incarnation, while a working one with another stands, is the second node. Then
 * say so (ALARM), keep the link we have for SHARED_HOLD_MS, and refuse the newcomer's.
 */
static bool shared_id(struct mesh *m, struct peer *p, const struct session *s, uint64_t now)
{
	struct session *live = p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	if (!live || live == s || live->evasive || s->peer_incarnation == p->incarnation)
		return false;
	bool back = p->prev_incarnation && s->peer_incarnation == p->prev_incarnation;
	if (!back && now >= p->shared_until_ms)
		return false;
	p->shared_until_ms = now + SHARED_HOLD_MS;
	mesh_alarm(m, MESH_ALARM_SHARED_ID, p->id, s->peer_name, &s->peer_ip, s->peer_port,
	           s->peer_incarnation, &p->shared_alarm_ms, now);
	MESH_DROP(m, sessions_rejected);
	return true;
}

/* s becomes the live session of its peer (protocol section 4). */
/* The interface a session's connection runs over, for a link-local address: the scope of
 * the address dialled, or of the connection's source (link.c gives it one). 0 if neither. */
static uint32_t session_scope(const struct session *s)
{
	struct ipaddr src;
	if (s->role == NOISE_INITIATOR)
		return s->dial_ip.scope;
	return ipaddr_parse(s->src_addr, &src) == MESH_OK ? src.scope : 0;
}

/* The application hears of p: ENTER, then a JOIN per group it is in. */
static void report_enter(struct mesh *m, struct peer *p)
{
	char fp[KEYS_FPR_LEN];
	p->present = true;
	mesh_logline(m, 2, "peer %s (%s) entered", p->name, mesh_fpr(p->id, fp));
	mesh_emit(m, MESH_EV_ENTER, p, NULL, 0, NULL, 0, NULL);
	emit_groups(m, p, MESH_EV_JOIN);
}

void mesh_enter_confirmed(struct mesh *m, struct session *s)
{
	struct peer *p = mesh_session_peer(m, s);
	s->enter_due = false;
	if (p && p->live_sid == s->sid && !p->present)
		report_enter(m, p);
}

void mesh_go_live(struct mesh *m, struct session *s, uint64_t now)
{
	struct peer *p = peer_table_get_or_add(&m->peers, s->peer_id);
	bool restarted = false;
	if (!p) {
		mesh_close_session(m, s, NULL, now);
		return;
	}
	if (shared_id(m, p, s, now)) {
		mesh_close_session(m, s, NULL, now);
		return;
	}
	if (session_go_live(s, now) != MESH_OK) {
		mesh_close_session(m, s, NULL, now);   /* not reached: its callers checked */
		return;
	}
	handshake_done(m, s);
	fixed_handshake_over(m, s, true, now);
	m->stats.handshakes_done++;
	mesh_trace_decision(m, "live", s, NULL);
	if (s->role == NOISE_RESPONDER && m->lops->proven) {
		/* its connection is a proven peer's now, out of the strangers' bounds */
		struct link_route from = { .rid = s->rid, .rid_len = s->rid_len };
		m->lops->proven(m->link, &from);
	}
	if (p->pending_sid && p->pending_sid != s->sid) {
		struct session *mine = session_table_get(&m->sessions, p->pending_sid);
		p->pending_sid = 0;
		if (mine)
			mesh_close_session(m, mine, NULL, now);
	}
	if (p->pending_sid == s->sid)
		p->pending_sid = 0;
	if (p->live_sid && p->live_sid != s->sid) {
		struct session *old = session_table_get(&m->sessions, p->live_sid);
		restarted = p->present && p->incarnation != s->peer_incarnation;
		/* A replaced session that had gone silent was a broken link (its connection died,
		 * say): the peer has already expired it and reports EXIT and ENTER, so do we. */
		bool lost = p->present && old && old->evasive;
		/* Another name in the new hello: the application must hear of it as it hears of a
		 * new peer (it shows names, and remembers who used which), not find it changed. */
		bool renamed = p->present && strcmp(p->name, s->peer_name) != 0;
		if (restarted || lost || renamed) {
			emit_groups(m, p, MESH_EV_LEAVE);
			mesh_emit(m, MESH_EV_EXIT, p, NULL, 0, NULL, 0,
			          restarted ? "restarted" : lost ? "link lost" : "renamed");
			p->present = false;
		}
		p->live_sid = 0;
		if (old)
			mesh_close_session(m, old, NULL, now);
	}
	p->live_sid = s->sid;
	pex_on_live(m, p, s, now);
	p->first_unlinked_ms = 0;
	p->first_heard_ms = 0;
	handshake_dial_now(p);
	if (m->nfixed)
		fixed_on_live(m, p->id);
	heard_del(&m->heard, p->id);
	p->evasive = false;
	memcpy(p->name, s->peer_name, sizeof p->name);
	if (!p->discovered) {
		/* no beacon yet: the authenticated hello says where it listens; a link-local
		 * address there, on the interface the session runs over */
		p->ip = s->peer_ip;
		p->port = s->peer_port;
		if (ipaddr_is_linklocal(&p->ip) && p->ip.scope == 0)
			p->ip.scope = session_scope(s);
	}
	if (p->rx_incarnation != s->peer_incarnation) {
		p->rx_incarnation = s->peer_incarnation;
		p->rx_last_id = p->rx_taken_id = p->rx_emitted_id = p->rx_acked_id = 0;
		p->ack_due_ms = 0;
	}
	p->rx_refusing = p->rx_asked = false;
	p->mark_due = false;
	/* messages sent whole to an earlier run of the peer that never acknowledged them may or
	 * may not have reached its application: say so rather than send them twice */
	send_forget_run(m, p, s->peer_incarnation);
	/* the hello's groups replace what we knew; report the difference */
	struct group_set old_groups = p->groups;
	p->groups = s->hello_groups;
	s->hello_groups = (struct group_set){ 0 };
	bool was_present = p->present && p->incarnation == s->peer_incarnation;
	if (p->incarnation && p->incarnation != s->peer_incarnation)
		p->prev_incarnation = p->incarnation;
	p->incarnation = s->peer_incarnation;
	p->acks = (s->peer_features & WIRE_FEATURE_ACK) && !m->cfg.test_no_ack;
	if (!was_present && s->role == NOISE_RESPONDER) {
		/* not before the initiator is heard on s: it may have given up on our ACCEPT
		 * (protocol section 4, "Reporting the peer"), and then has no session to report
		 * us in */
		s->enter_due = true;
	} else if (!was_present) {
		report_enter(m, p);
	} else {
		for (size_t i = 0; i < old_groups.n; i++)
			if (!group_set_has(&p->groups, old_groups.names[i], strlen(old_groups.names[i])))
				mesh_emit(m, MESH_EV_LEAVE, p, old_groups.names[i], 0, NULL, 0, NULL);
		for (size_t i = 0; i < p->groups.n; i++)
			if (!group_set_has(&old_groups, p->groups.names[i], strlen(p->groups.names[i])))
				mesh_emit(m, MESH_EV_JOIN, p, p->groups.names[i], 0, NULL, 0, NULL);
	}
	group_set_clear(&old_groups);
	/* our first frame tells the responder we read its ACCEPT: it reports us at that */
	if (s->role == NOISE_INITIATOR)
		(void)send_simple(m, s, WIRE_HEARTBEAT, 0, now);
	/* every message not yet acknowledged is sent again, from the oldest and from fragment
	 * 0 (sync_groups sets qsend): the receiver reassembles per session, and its msg_id check
	 * keeps delivery exactly-once; what it has already taken, it says first (ACK) */
	sync_groups(m, s, p, now);
	if (p->rx_taken_id)
		send_ack(m, p, now);
	send_pump(m, p, now);
}

/*
 * Removes s. With a reason, and if s was its peer's live session, the peer has left: EXIT
 * (after a LEAVE per group) is reported. Its queue stays (protocol section 6, "Delivery").
 */
void mesh_close_session(struct mesh *m, struct session *s, const char *reason, uint64_t now)
{
	struct peer *p = mesh_session_peer(m, s);
	mesh_trace_decision(m, "close", s, reason ? reason : s->state == SESSION_LIVE ? NULL :
	                    "handshake not completed");
	if (s->state != SESSION_LIVE) {
		handshake_done(m, s);
		fixed_handshake_over(m, s, false, now);
	} else if (s->role == NOISE_RESPONDER && m->lops->unproven) {
		/* its connection carries one proven session less; with none it is a stranger's */
		struct link_route from = { .rid = s->rid, .rid_len = s->rid_len };
		m->lops->unproven(m->link, &from, now);
	}
	m->closed.tx_bytes += s->tx_bytes;
	m->closed.rx_bytes += s->rx_bytes;
	m->closed.tx_msgs += s->tx_msgs;
	m->closed.rx_msgs += s->rx_msgs;
	session_table_del(&m->sessions, s->sid);
	if (s->role == NOISE_INITIATOR)
		m->lops->hangup(m->link, s->sid);
	if (p) {
		if (p->pending_sid == s->sid) {
			p->pending_sid = 0;
			handshake_backoff(p, now);   /* it never went live */
		}
		if (p->live_sid == s->sid) {
			p->live_sid = 0;
			p->last_live_ms = now;
			p->first_unlinked_ms = p->discovered ? now : 0;
			/* a refusal, a MARK or an ACK owed belong to this session; the next starts
			 * afresh (protocol section 6, "Delivery") */
			p->rx_refusing = p->rx_asked = p->mark_due = p->resend_wait = false;
			p->ack_due_ms = 0;
			send_drop_controls(p);   /* a peer kept by a JOIN alone is never forgotten */
			if (reason && p->present) {
				char fp[KEYS_FPR_LEN];
				mesh_logline(m, 2, "peer %s (%s) left: %s", p->name, mesh_fpr(p->id, fp), reason);
				emit_groups(m, p, MESH_EV_LEAVE);
				mesh_emit(m, MESH_EV_EXIT, p, NULL, 0, NULL, 0, reason);
				p->present = false;
				group_set_clear(&p->groups);
				/* its messages wait for its return until their time-to-live ends */
			}
		}
	}
	session_destroy(&s);
}

/* ---------- input from the link ---------- */

/* A frame on a connection we dialled: a REPLY or DATA for the session we dialled it for. */
static void on_dialled_frame(struct mesh *m, uint32_t sid, const uint8_t *p, size_t len,
                             uint64_t now)
{
	struct session *s = session_table_get(&m->sessions, sid);
	struct wire_frame f;
	if (!s || s->role != NOISE_INITIATOR)
		return;
	enum mesh_err rc = len > WIRE_MAX_FRAME ? MESH_EMALFORMED : wire_frame_decode(p, len, &f);
	m->in_len = len;
	mesh_trace_in_frame(m, NULL, rc == MESH_OK ? &f : NULL, len);
	mesh_trace_in_session(m, s);
	if (rc != MESH_OK) {
		MESH_DROP(m, frames_bad);
		mesh_droplog(m, LK_FRAME, now, "malformed frame on session %08x dropped", sid);
	} else if (f.type == WIRE_HELLO || f.type == WIRE_FINISH || f.rx_sid != s->sid) {
		MESH_DROP(m, frames_bad);
	} else if (f.type == WIRE_REPLY) {
		handshake_on_reply(m, s, &f, now);
	} else {
		deliver_on_data(m, s, &f, now);
	}
}

/* A frame on an incoming connection: a HELLO, or a FINISH or DATA for a session we answered
 * on that same connection. */
static void on_incoming_frame(struct mesh *m, const struct link_route *from, const char *addr,
                              const uint8_t *p, size_t len, uint64_t now)
{
	struct wire_frame f;
	enum mesh_err rc = len > WIRE_MAX_FRAME ? MESH_EMALFORMED : wire_frame_decode(p, len, &f);
	m->in_len = len;
	mesh_trace_in_frame(m, addr, rc == MESH_OK ? &f : NULL, len);
	if (rc != MESH_OK) {
		MESH_DROP(m, frames_bad);
		mesh_droplog(m, LK_FRAME, now, "malformed frame from %s dropped", addr);
		return;
	}
	if (f.type == WIRE_HELLO) {
		handshake_on_hello(m, &f, from->rid, from->rid_len, addr, now);
		return;
	}
	struct session *s = session_table_get(&m->sessions, f.rx_sid);
	if (s)
		mesh_trace_in_session(m, s);
	if (!s) {
		MESH_DROP(m, frames_unknown_sid);
		mesh_droplog(m, LK_FRAME, now, "frame for unknown session %08x from %s dropped", f.rx_sid,
		             addr);
	} else if (s->role != NOISE_RESPONDER || s->rid_len != from->rid_len ||
	           memcmp(s->rid, from->rid, from->rid_len) != 0) {
		MESH_DROP(m, frames_bad);
		mesh_droplog(m, LK_FRAME, now, "frame for session %08x from another connection (%s) "
		             "dropped", f.rx_sid, addr);
	} else if (f.type == WIRE_FINISH) {
		handshake_on_finish(m, s, &f, now);
	} else if (f.type == WIRE_DATA) {
		deliver_on_data(m, s, &f, now);
	} else {
		MESH_DROP(m, frames_bad);
	}
}

/* The link's sink: every frame arrives here, during mesh_on_ready(). */
static void on_link_frame(void *arg, const struct link_route *from, const char *addr,
                          const uint8_t *frame, size_t len)
{
	struct mesh *m = arg;
	mesh_trace_in_done(m);
	if (from->sid)
		on_dialled_frame(m, from->sid, frame, len, m->now_ms);
	else
		on_incoming_frame(m, from, addr, frame, len, m->now_ms);
	mesh_trace_in_taken(m, -1);   /* a handshake frame handled; a DATA frame's is out */
	mesh_trace_in_done(m);
}

static void on_link_malformed(void *arg)
{
	struct mesh *m = arg;
	mesh_trace_in_done(m);
	MESH_DROP(m, frames_bad);
	mesh_trace_in_done(m);
}

/* The link closed a connection no session had authenticated (protocol section 7). */
static void on_link_closed(void *arg, enum link_closed why, const char *addr)
{
	struct mesh *m = arg;
	const char *what = "?";
	switch (why) {
	case LINK_CLOSED_SOURCE:
		MESH_DROP(m, conns_closed_source);
		what = "too many unauthenticated connections from its address";
		break;
	case LINK_CLOSED_TOTAL:
		MESH_DROP(m, conns_closed_total);
		what = "too many unauthenticated connections";
		break;
	case LINK_CLOSED_UNAUTH_TIMEOUT:
		MESH_DROP(m, conns_closed_unauth_timeout);
		what = "no handshake completed in time";
		break;
	}
	mesh_droplog(m, LK_CONN, m->now_ms, "connection from %s closed: %s", addr, what);
}

/* The link's items, with discovery's second (one per interface, if its transport has them):
 * the link's listening socket stays first. A transport with no item is read on every turn. */
static size_t disc_polled(const struct mesh *m)
{
	size_t n = 0;
	for (size_t i = 0; i < discovery_count(m->disc); i++)
		n += discovery_fd(m->disc, i) >= 0;
	return n;
}

size_t mesh_pollitems_count(const struct mesh *m)
{
	return m->lops->pollitems(m->link, NULL, 0) + disc_polled(m);
}

size_t mesh_pollitems(struct mesh *m, zmq_pollitem_t *items, size_t cap)
{
	size_t k = m->lops->pollitems(m->link, NULL, 0);
	size_t nd = disc_polled(m);
	m->npolled_disc = nd;
	if (!nd)
		return cap < k ? 0 : m->lops->pollitems(m->link, items, k);
	if (cap < k + nd)
		return 0;
	(void)m->lops->pollitems(m->link, items, k);
	size_t d = k ? 1 : 0;
	if (k > 1)
		memmove(items + 1 + nd, items + 1, (k - 1) * sizeof *items);
	for (size_t i = 0, j = d; i < discovery_count(m->disc); i++) {
		int fd = discovery_fd(m->disc, i);
		if (fd >= 0)
			items[j++] = (zmq_pollitem_t){ .fd = fd, .events = ZMQ_POLLIN };
	}
	return k + nd;
}

void mesh_on_ready(struct mesh *m, const zmq_pollitem_t *items, size_t n, uint64_t now)
{
	size_t d = m->lops->pollitems(m->link, NULL, 0) ? 1 : 0;
	size_t nd = m->npolled_disc;
	bool readable = false;
	m->now_ms = now;
	if (m->lops->clock)
		m->lops->clock(m->link, now);
	/* in the order of the items: the listening socket, discovery, the rest of the link; the
	 * link's turn comes even with no items of its own (a simulated one delivers then) */
	if (d && n >= 1)
		m->lops->on_ready(m->link, items, 1);
	for (size_t i = d; i < d + nd && i < n; i++)
		readable |= (items[i].revents & ZMQ_POLLIN) != 0;
	if (!disc_polled(m) || readable)
		beacon_on_readable(m, now);
	if (n > d + nd)
		m->lops->on_ready(m->link, items + d + nd, n - d - nd);
	else
		m->lops->on_ready(m->link, NULL, 0);
}

/* ---------- application requests ---------- */

struct fanout {
	struct mesh *m;
	struct outmsg *om;
	uint64_t now;
};

static void fan_control(struct peer *p, void *arg)
{
	struct fanout *fo = arg;
	if (p->live_sid)
		(void)send_enqueue(fo->m, p, fo->om, false, fo->now);
}

static enum mesh_err join_leave(struct mesh *m, const char *group, bool join, uint64_t now)
{
	size_t len = group ? strlen(group) : 0;
	enum mesh_err rc;
	if (!group_name_valid(group, len))
		return MESH_EINVAL;
	rc = join ? group_set_add(&m->groups, group, len) : group_set_remove(&m->groups, group, len);
	if (rc != MESH_OK)
		return rc;
	struct outmsg *om = outmsg_new(join ? OUTMSG_JOIN : OUTMSG_LEAVE, 0, group, NULL, 0);
	if (!om)
		return MESH_ENOMEM;
	struct fanout fo = { m, om, now };
	peer_table_each(&m->peers, fan_control, &fo);
	outmsg_unref(&om);
	return MESH_OK;
}

enum mesh_err mesh_join(struct mesh *m, const char *group, uint64_t now_ms)
{
	return join_leave(m, group, true, now_ms);
}

enum mesh_err mesh_leave(struct mesh *m, const char *group, uint64_t now_ms)
{
	return join_leave(m, group, false, now_ms);
}

static void fan_shout(struct peer *p, void *arg)
{
	struct fanout *fo = arg;
	struct outmsg *om = fo->om;
	struct session *s = p->live_sid ? session_table_get(&fo->m->sessions, p->live_sid) : NULL;
	if (s && s->state == SESSION_LIVE) {
		if (group_set_has(&p->groups, om->group, om->glen))
			(void)send_enqueue(fo->m, p, om, false, fo->now);
	} else if (p->discovered) {
		/* handshake in progress or about to start: park it until the hello shows whether
		 * this peer is a member (protocol section 6, "Queues") */
		(void)send_enqueue(fo->m, p, om, true, fo->now);
	}
}

/* A caller-assigned message ID must exceed every ID this mesh has sent: receivers deliver
 * each sender's messages once, in increasing ID order. */
static bool take_msg_id(struct mesh *m, uint64_t msg_id)
{
	if (msg_id <= m->last_msg_id)
		return false;
	m->last_msg_id = msg_id;
	return true;
}

enum mesh_err mesh_shout_msg(struct mesh *m, struct outmsg *om, uint64_t now_ms)
{
	if (om->kind != OUTMSG_SHOUT || !group_name_valid(om->group, om->glen) ||
	    om->len > MESH_MAX_PAYLOAD || om->ttl_ms > MESH_TTL_MAX_MS)
		return MESH_EINVAL;
	if (!take_msg_id(m, om->msg_id))
		return MESH_ESTATE;
	struct fanout fo = { m, om, now_ms };
	peer_table_each(&m->peers, fan_shout, &fo);
	return MESH_OK;
}

enum mesh_err mesh_whisper_msg(struct mesh *m, const uint8_t peer[WIRE_IDLEN],
                               struct outmsg *om, uint64_t now_ms)
{
	struct peer *p = peer_table_get(&m->peers, peer);
	if (om->kind != OUTMSG_WHISPER || om->len > MESH_MAX_PAYLOAD || om->ttl_ms > MESH_TTL_MAX_MS)
		return MESH_EINVAL;
	/* one we have linked with before is known even if we never checked its beacons (it is
	 * the lower ID, and dials us): its message waits for its return (protocol section 6) */
	if (!p || (!p->live_sid && !p->discovered && !p->incarnation))
		return MESH_ENOTFOUND;
	if (!take_msg_id(m, om->msg_id))
		return MESH_ESTATE;
	(void)send_enqueue(m, p, om, false, now_ms);
	return MESH_OK;
}

enum mesh_err mesh_shout(struct mesh *m, const char *group, const void *data, size_t len,
                         uint64_t now_ms, uint64_t *msg_id)
{
	size_t glen = group ? strlen(group) : 0;
	if (!group_name_valid(group, glen) || (len && !data))
		return MESH_EINVAL;
	if (len > MESH_MAX_PAYLOAD)
		return MESH_ELIMIT;
	struct outmsg *om = outmsg_new(OUTMSG_SHOUT, m->last_msg_id + 1, group, data, len);
	if (!om)
		return MESH_ENOMEM;
	enum mesh_err rc = mesh_shout_msg(m, om, now_ms);
	if (rc == MESH_OK && msg_id)
		*msg_id = om->msg_id;
	outmsg_unref(&om);
	return rc;
}

enum mesh_err mesh_whisper(struct mesh *m, const uint8_t peer[WIRE_IDLEN], const void *data,
                           size_t len, uint64_t now_ms, uint64_t *msg_id)
{
	if (len && !data)
		return MESH_EINVAL;
	if (len > MESH_MAX_PAYLOAD)
		return MESH_ELIMIT;
	struct outmsg *om = outmsg_new(OUTMSG_WHISPER, m->last_msg_id + 1, NULL, data, len);
	if (!om)
		return MESH_ENOMEM;
	enum mesh_err rc = mesh_whisper_msg(m, peer, om, now_ms);
	if (rc == MESH_OK && msg_id)
		*msg_id = om->msg_id;
	outmsg_unref(&om);
	return rc;
}

/* ---------- leaving ---------- */

static void bye_one(struct session *s, void *arg)
{
	struct fanout *fo = arg;
	if (s->state == SESSION_LIVE)
		(void)send_simple(fo->m, s, WIRE_BYE, 0, fo->now);
}

void mesh_say_bye(struct mesh *m, uint64_t now_ms)
{
	struct fanout fo = { m, NULL, now_ms };
	session_table_each(&m->sessions, bye_one, &fo);
	/* let the BYEs leave before the connections close */
	m->lops->linger(m->link, 500);
}

/* ---------- queries ---------- */

struct each_live {
	struct mesh *m;
	void (*fn)(const struct mesh_peer_info *, void *);
	void *arg;
};

/* The bytes of the messages not yet sent to p (from qsend on), as queued_msgs counts them. */
static uint64_t queued_bytes(const struct peer *p)
{
	uint64_t b = 0;
	for (const struct peer_qent *e = p->qsend; e; e = e->next)
		b += e->m->len;
	return b;
}

static void each_live_one(struct peer *p, void *arg)
{
	struct each_live *el = arg;
	struct session *s = p->live_sid ? session_table_get(&el->m->sessions, p->live_sid) : NULL;
	if (!s || s->state != SESSION_LIVE || !p->present)
		return;
	struct mesh_peer_view view;
	mesh_peer_view(p, &view);
	struct mesh_peer_info info = {
		.peer = &view, .local_sid = s->sid, .initiator = s->role == NOISE_INITIATOR,
		.created_ms = s->created_ms, .keys_ms = s->keys_ms, .last_rx_ms = s->last_rx_ms,
		.tx_bytes = s->tx_bytes, .rx_bytes = s->rx_bytes, .tx_msgs = s->tx_msgs,
		.rx_msgs = s->rx_msgs, .rekeys = s->rekeys_done, .rtt_last_ms = s->rtt_last_ms,
		.rtt_srtt_ms = (s->rtt_srtt_ms8 + 4) / 8, .rtt_samples = s->rtt_samples,
		.queued_bytes = queued_bytes(p),
	};
	el->fn(&info, el->arg);
}

void mesh_each_live_peer(struct mesh *m, void (*fn)(const struct mesh_peer_info *, void *),
                         void *arg)
{
	struct each_live el = { m, fn, arg };
	peer_table_each(&m->peers, each_live_one, &el);
}

const struct group_set *mesh_groups(const struct mesh *m)
{
	return &m->groups;
}

enum mesh_err mesh_sas(struct mesh *m, const uint8_t peer[WIRE_IDLEN], char out[KEYS_SAS_LEN])
{
	struct peer *p = peer_table_get(&m->peers, peer);
	struct session *s = p && p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	if (!s || s->state != SESSION_LIVE)
		return MESH_ENOTFOUND;
	keys_sas(s->hash, out);
	return MESH_OK;
}

static void count_live(const struct mesh_peer_info *info, void *arg)
{
	(void)info;
	(*(uint64_t *)arg)++;
}

void mesh_get_stats(const struct mesh *m, struct mesh_stats *out, uint64_t *sessions_live)
{
	*out = m->stats;
	*sessions_live = 0;
	mesh_each_live_peer((struct mesh *)m, count_live, sessions_live);
}

static void add_traffic(struct session *s, void *arg)
{
	struct mesh_traffic *t = arg;
	t->tx_bytes += s->tx_bytes;
	t->rx_bytes += s->rx_bytes;
	t->tx_msgs += s->tx_msgs;
	t->rx_msgs += s->rx_msgs;
	t->sessions++;
}

void mesh_get_traffic(const struct mesh *m, struct mesh_traffic *out)
{
	*out = m->closed;
	out->sessions = 0;
	session_table_each(&m->sessions, add_traffic, out);
}
