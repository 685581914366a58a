/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * timers: mesh_on_tick(), the engine's work that is due by the clock. Beacons are beacon.c's
 * (beacon_on_tick); the rest is the sweep: every session (heartbeat, evasive, expired,
 * handshake timeout, an answered one never reported whose connection is gone, rekeying and
 * keys too old (rekey_on_sweep), stalled frames, reassembly)
 * and every peer (time-to-live of its queued messages, dialling, forgetting a silent one), at
 * most every sweep_ms and on every tick while a send is stalled; and, every KEYMEM_TRIM_MS, the
 * secrets' pools give back what a burst of handshakes left empty. Due ACKs and RESENDs go out
 * on every tick (deliver_on_tick). mesh_next_due() says when the next tick has work.
 *
 * Invariants:
 * - sessions are closed and peers forgotten after the walk of their table, never during it
 *   (the walk only notes them), and a peer is checked for forgetting before it is dialled;
 * - a queued message dropped for its age is reported by a DROPPED event, as in send.c;
 * - a peer we delivered messages from is remembered MESH_RX_MEMORY_MS, so that its resends
 *   are not delivered twice;
 * - the deadline returned (mesh_next_due) is after the tick's own time and no later than
 *   the next beacon, sweep, rescan or link deadline; while ACKs, RESENDs or held beacons
 *   wait it is at most TICK_MS away, STALL_RETRY_MS while a send is stalled.
 */
#include <stdlib.h>

#include "mesh_impl.h"
#include "reasm.h"

struct sweep {
	struct mesh *m;
	uint64_t now;
	uint32_t *close_sids;
	const char **close_reasons;
	size_t nclose, capclose;
	struct peer **gone;
	size_t ngone, capgone;
};

static void sweep_add_close(struct sweep *sw, uint32_t sid, const char *reason)
{
	if (sw->nclose == sw->capclose) {
		size_t ncap = sw->capclose ? sw->capclose * 2 : 16;
		uint32_t *ns = realloc(sw->close_sids, ncap * sizeof *ns);
		if (!ns)
			return;
		sw->close_sids = ns;
		const char **nr = realloc(sw->close_reasons, ncap * sizeof *nr);
		if (!nr)
			return;
		sw->close_reasons = nr;
		sw->capclose = ncap;
	}
	sw->close_sids[sw->nclose] = sid;
	sw->close_reasons[sw->nclose++] = reason;
}

static void sweep_session(struct session *s, void *arg)
{
	struct sweep *sw = arg;
	struct mesh *m = sw->m;
	uint64_t now = sw->now;
	if (s->state != SESSION_LIVE) {
		/* its timeout (longer on a retry) from its start. An initiator that wrote FINISH
		 * waits from that FINISH as long again, or four times as long as its REPLY took to
		 * come if that is longer (up to hs_longest_ms): the responder went live when it sent
		 * ACCEPT, and on a host slow enough to delay the REPLY the ACCEPT comes late too;
		 * giving up on it would leave the responder a session that ends only by expiry or
		 * replacement (unreported: section 4, "Reporting the peer"), and the pair apart
		 * until then. Not simply the longest: a FINISH whose answered
		 * handshake the responder had already dropped (evicted) gets no answer at all, and
		 * a fast host must try again soon (section 4, "Timeouts") */
		bool sent_finish = s->state == SESSION_INIT_WAIT_ACCEPT;   /* probe_ms: its FINISH */
		uint64_t since = sent_finish ? s->probe_ms : s->created_ms, limit = s->hs_timeout_ms;
		if (sent_finish && 4 * (s->probe_ms - s->created_ms) > limit)
			limit = 4 * (s->probe_ms - s->created_ms);
		if (limit > m->hs_longest_ms)
			limit = m->hs_longest_ms;
		if (now - since >= limit) {
			MESH_DROP_S(m, handshakes_failed, s);
			sweep_add_close(sw, s->sid, NULL);
		}
		return;
	}
	/* answered, never heard on since our ACCEPT, and the link refused a frame to its
	 * connection: the initiator gave up on the ACCEPT and its connection is gone, and no frame
	 * can come on this session again (it is bound to that connection). Never reported, so it
	 * ends without an event, a sweep interval after the first sweep that saw the refusal
	 * (what came before the connection went is read first) rather than at its expiry. */
	if (s->enter_due && s->tx_refused) {
		if (!s->refused_ms) {
			s->refused_ms = now ? now : 1;
		} else if (now - s->refused_ms >= m->sweep_ms) {
			mesh_logline(m, 3, "session %08x (answered, %s) closed: its initiator never "
			             "answered our ACCEPT and its connection is gone", s->sid,
			             s->named ? s->peer_name : "unnamed");
			sweep_add_close(sw, s->sid, NULL);
			return;
		}
	}
	if (now - s->last_rx_ms >= m->cfg.expired_ms) {
		/* what tells a peer that went quiet from a link that broke under a live one: were we
		 * still sending, and did our sends get out */
		mesh_logline(m, 2, "session %08x (%s, %s) expired: nothing read for %llu ms, the last "
		             "frame sent %llu ms ago, %llu refused by the link, %s, %llu bytes read "
		             "and %llu sent in all", s->sid, s->role == NOISE_INITIATOR ? "ours" :
		             "answered", s->named ? s->peer_name : "unnamed",
		             (unsigned long long)(now - s->last_rx_ms),
		             (unsigned long long)(now - s->last_tx_ms),
		             (unsigned long long)s->tx_refused, s->stall ? "a frame stalled" :
		             "none stalled", (unsigned long long)s->rx_bytes,
		             (unsigned long long)s->tx_bytes);
		sweep_add_close(sw, s->sid, "expired");
		return;
	}
	const char *too_old = rekey_on_sweep(m, s, now);
	if (too_old) {
		sweep_add_close(sw, s->sid, too_old);
		return;
	}
	uint64_t lost_id;
	/* a live sender sends the next fragment long before it would be declared expired */
	if (s->rs && reasm_expire(s->rs, now, m->cfg.expired_ms, &lost_id)) {
		MESH_DROP_S(m, fragments_dropped, s);
		mesh_droplog(m, LK_MSG, now, "message %llu on session %08x incomplete for %u ms: dropped",
		             (unsigned long long)lost_id, s->sid, m->cfg.expired_ms);
	}
	if (s->rs) {
		reasm_trim(s->rs, now);
		if (reasm_idle(s->rs)) {        /* most sessions need none most of the time */
			free(s->rs);
			s->rs = NULL;
		}
	}
	if (now - s->last_rx_ms >= m->cfg.evasive_ms && !s->evasive) {
		s->evasive = true;
		/* the peer looked up only here: a lookup for every session on every sweep was the
		 * largest part of the sweep, and the sweep the engine's largest cost at 128 nodes */
		struct peer *p = mesh_session_peer(m, s);
		if (p && p->live_sid == s->sid && p->present) {
			p->evasive = true;
			mesh_emit(m, MESH_EV_EVASIVE, p, NULL, 0, NULL, 0, NULL);
		}
	}
	if (s->stall && send_unstall(m, s) != MESH_OK)
		m->any_stalled = true;
	if (now - s->last_tx_ms >= m->cfg.heartbeat_ms && !s->stall)
		(void)send_simple(m, s, WIRE_HEARTBEAT, 0, now);
}

static void sweep_peer(struct peer *p, void *arg)
{
	struct sweep *sw = arg;
	struct mesh *m = sw->m;
	uint64_t now = sw->now;
	send_expire(m, p, now);
	if (p->resend_wait && now - p->resend_last_ms >= RESEND_MIN_MS)
		send_on_resend(m, p, m->incarnation, p->resend_id, now);
	if (p->qsend || p->mark_due)
		send_pump(m, p, now);
	/* forget peers that went quiet long ago, so the table stays bounded; some are only put
	 * to sleep (not dialled, not offered shouts) for a while first */
	uint64_t quiet = 3 * (uint64_t)m->cfg.expired_ms;
	if (!p->live_sid && !p->pending_sid && !p->present && !p->qhead &&
	    now - p->last_beacon_ms > quiet &&
	    (p->dial_failures == 0 || now - p->last_heard_ms > quiet)) {
		/* asleep, not gone: a message may still be sent to it to wait for its return (its
		 * last session ended lately), or its resends must not be delivered twice */
		if ((p->rx_last_id && now - p->rx_last_ms <= MESH_RX_MEMORY_MS) ||
		    (p->last_live_ms && now - p->last_live_ms <= quiet)) {
			p->discovered = false;
			return;
		}
		if (sw->ngone == sw->capgone) {
			size_t ncap = sw->capgone ? sw->capgone * 2 : 16;
			struct peer **ng = realloc(sw->gone, ncap * sizeof *ng);
			if (!ng)
				return;
			sw->gone = ng;
			sw->capgone = ncap;
		}
		sw->gone[sw->ngone++] = p;
		return;
	}
	/* only after the forget check: a peer due to be forgotten is not dialled first (its
	 * handshake would keep it up to another hs_longest_ms) */
	handshake_maybe_connect(m, p, now);
}

uint64_t mesh_on_tick(struct mesh *m, uint64_t now)
{
	m->last_tick_ms = now;
	if (m->lops->clock)
		m->lops->clock(m->link, now);   /* the link's own deadlines: connwatch's lifetime */
	ifaces_on_tick(m, now);
	beacon_on_tick(m, now);
	deliver_on_tick(m, now);
	if (now >= m->next_sweep_ms || m->any_stalled) {
		m->next_sweep_ms = now + m->sweep_ms;
		m->any_stalled = false;
		struct sweep sw = { .m = m, .now = now };
		session_table_each(&m->sessions, sweep_session, &sw);
		for (size_t i = 0; i < sw.nclose; i++) {
			struct session *s = session_table_get(&m->sessions, sw.close_sids[i]);
			if (s)
				mesh_close_session(m, s, sw.close_reasons[i], now);
		}
		peer_table_each(&m->peers, sweep_peer, &sw);
		for (size_t i = 0; i < sw.ngone; i++)
			peer_table_del(&m->peers, sw.gone[i]);
		if (m->nfixed)
			fixed_on_sweep(m, now);
		pex_on_sweep(m, now);
		if (now >= m->next_trim_ms) {
			m->next_trim_ms = now + KEYMEM_TRIM_MS;
			session_keymem_trim(&m->keymem);
		}
		free(sw.close_sids);
		free(sw.close_reasons);
		free(sw.gone);
	}
	return mesh_next_due(m);
}

/* The earlier of due and t; a t the last tick left past (it could not act on it then) counts
 * as TICK_MS after that tick, so that it is tried again at the old cadence, never in a spin,
 * and hides no other deadline. */
static uint64_t earlier(uint64_t due, uint64_t t, uint64_t last)
{
	if (t <= last)
		t = last + TICK_MS;
	return t < due ? t : due;
}

/* An idle engine sleeps from one beacon or sweep to the next (about 11 turns a second with
 * the default timers) instead of waking every TICK_MS: only what needs polling keeps the
 * short cadence. ACKs wait for the application to take messages (deliver_on_tick), held
 * beacons for tokens to return (check_held), a stalled send for room in its socket. */
uint64_t mesh_next_due(const struct mesh *m)
{
	uint64_t last = m->last_tick_ms;
	uint64_t due = earlier(UINT64_MAX, m->next_sweep_ms, last);
	due = earlier(due, m->next_rescan_ms, last);
	due = earlier(due, beacon_next_due(m), last);
	if (m->any_stalled)
		due = earlier(due, last + STALL_RETRY_MS, last);
	else if (m->any_ack_due || m->backlog.n)
		due = earlier(due, last + TICK_MS, last);
	if (m->lops->next_due)
		due = earlier(due, m->lops->next_due(m->link), last);
	else if (m->lops->clock)
		due = earlier(due, last + TICK_MS, last);   /* a transport's deadlines we cannot see */
	return due;
}
