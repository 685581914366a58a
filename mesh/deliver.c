/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * deliver: DATA frames in (docs/protocol.md sections 3.3, 5 and 6). deliver_on_data opens the
 * frame (session_open: an old counter or a failed tag drops it, the first frame under new keys
 * completes a rekey), decodes the message and acts on it: ACCEPT and REJECT finish a handshake
 * we initiated, control messages act on the peer (REKEY and REKEY_REPLY go to rekey.c), and
 * SHOUT and WHISPER fragments are reassembled per session and delivered whole.
 *
 * Invariants:
 * - application messages are taken only on a LIVE session that is its peer's live one;
 * - each sender's messages are delivered once, in increasing msg_id order, per incarnation
 *   (peer.rx_last_id), and none is skipped: one that cannot be taken (no room) or that was
 *   lost (a DATA counter gap) stops delivery from that sender until its resend begins
 *   (RESEND, MARK); what the application has taken is acknowledged (ACK);
 * - decrypted plaintext is wiped from the scratch buffer on every path.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"
#include "reasm.h"

void deliver_ack_soon(struct mesh *m, struct peer *p, bool force, uint64_t now)
{
	if (!p->rx_taken_id || (!force && p->rx_taken_id == p->rx_acked_id))
		return;
	if (p->rx_unacked_msgs >= ACK_EVERY ||
	    p->rx_unacked_bytes >= ACK_EVERY_BYTES) {
		send_ack(m, p, now);
	} else if (!p->ack_due_ms) {
		p->ack_due_ms = now + ACK_DELAY_MS;
		m->any_ack_due = true;
	}
}

/* No more of p's messages are taken until the MARK that answers our RESEND: the sender
 * sends again all that we have not delivered (protocol section 6, "Delivery"). */
static void refuse(struct mesh *m, struct peer *p, uint64_t now)
{
	if (!p->rx_refusing) {
		p->rx_refusing = true;
		p->rx_asked = false;
	}
	m->any_ack_due = true;   /* the tick asks once there is room */
	(void)now;
}

/* A whole message: delivered once, in order (protocol section 6). Takes data. */
static void deliver(struct mesh *m, struct peer *p, bool shout, uint64_t id, const char *group,
                    size_t glen, uint8_t *data, size_t len, uint64_t now)
{
	char g[WIRE_MAX_GROUP + 1];
	if (id <= p->rx_last_id) {
		/* sent again: our ACK was lost with a session, or is on its way */
		MESH_DROP(m, msgs_dup);
		deliver_ack_soon(m, p, true, now);
		goto drop;
	}
	/* a sender that does not follow "Delivery" would never send it again: take it anyway */
	if (p->acks && m->cfg.can_take && !m->cfg.can_take(m->cfg.event_arg, len)) {
		MESH_DROP(m, msgs_refused);
		refuse(m, p, now);
		goto drop;
	}
	p->rx_last_id = id;
	p->rx_last_ms = now;
	if (shout && !group_set_has(&m->groups, group, glen)) {
		/* we left the group while this was in flight: done with, as if taken */
		if (p->rx_taken_id == p->rx_emitted_id) {
			p->rx_taken_id = p->rx_emitted_id = id;
			deliver_ack_soon(m, p, false, now);
		}
		goto drop;
	}
	if (shout) {
		memcpy(g, group, glen);
		g[glen] = '\0';
	}
	p->rx_emitted_id = id;
	mesh_emit(m, shout ? MESH_EV_SHOUT : MESH_EV_WHISPER, p, shout ? g : NULL, id, data, len, NULL);
	if (!m->cfg.manual_ack) {
		p->rx_taken_id = id;
		p->rx_unacked_bytes += len;
		p->rx_unacked_msgs++;
		deliver_ack_soon(m, p, false, now);
	}
	return;
drop:
	sodium_memzero(data, len);
	free(data);
}

void mesh_taken(struct mesh *m, const uint8_t peer[WIRE_IDLEN], uint64_t incarnation,
                uint64_t msg_id, size_t len, uint64_t now_ms)
{
	struct peer *p = peer_table_get(&m->peers, peer);
	if (!p || p->rx_incarnation != incarnation || msg_id <= p->rx_taken_id ||
	    msg_id > p->rx_emitted_id)
		return;
	/* once all it was given is taken, so are the ones it never saw (left groups) */
	p->rx_taken_id = msg_id == p->rx_emitted_id ? p->rx_last_id : msg_id;
	p->rx_unacked_bytes += len;
	p->rx_unacked_msgs++;
	deliver_ack_soon(m, p, false, now_ms);
}

struct tick_ctx {
	struct mesh *m;
	uint64_t now;
	bool room;
	bool more;
};

static void tick_peer(struct peer *p, void *arg)
{
	struct tick_ctx *t = arg;
	if (p->ack_due_ms && p->ack_due_ms <= t->now)
		send_ack(t->m, p, t->now);
	if (p->rx_refusing && !p->rx_asked && t->room) {
		send_ask_resend(t->m, p, t->now);
		if (p->rx_asked)
			MESH_DECIDE(t->m, resends_asked, NULL);
	}
	if (p->ack_due_ms || (p->rx_refusing && !p->rx_asked))
		t->more = true;
}

void deliver_on_tick(struct mesh *m, uint64_t now)
{
	if (!m->any_ack_due)
		return;
	struct tick_ctx t = { m, now, !m->cfg.can_resume || m->cfg.can_resume(m->cfg.event_arg),
	                      false };
	peer_table_each(&m->peers, tick_peer, &t);
	m->any_ack_due = t.more;
}

/* Completes or extends the reassembly of a SHOUT or WHISPER (protocol section 6). */
static void on_fragment(struct mesh *m, struct session *s, struct peer *p,
                        const struct wire_msg *msg, bool gap, uint64_t now)
{
	struct reasm_out out;
	enum reasm_status st;
	/* with nothing in progress, only the first fragment of a message of several needs state
	 * of the session's; anything else (a message of one frame, a stray or bad fragment)
	 * reasm_add answers from a zeroed one, which it leaves as it was */
	struct reasm one = { 0 };
	bool first = msg->index == 0 && msg->count > 1;
	if (!s->rs && first)
		s->rs = calloc(1, sizeof *s->rs);
	if (s->rs || !first) {
		st = reasm_add(&m->rpool, s->rs ? s->rs : &one, msg, gap, now, &out);
	} else {
		memset(&out, 0, sizeof out);
		st = REASM_NOMEM;
	}
	if (out.evicted) {
		MESH_DROP_N(m, partials_evicted, out.evicted);
		mesh_droplog(m, LK_MSG, now, "%zu partial message(s) of other peers dropped: more "
		             "than %zu bytes held in partial messages", out.evicted, m->rpool.budget);
	}
	if (st == REASM_EVICTED) {
		/* its partial message went for room: it comes again after our RESEND, as when
		 * memory ran out (below), and nothing of the sender is taken before it does */
		MESH_DROP(m, fragments_dropped);
		if (p->acks) {
			MESH_DROP(m, msgs_refused);
			refuse(m, p, now);
		}
		return;
	}
	if (out.lost) {
		MESH_DROP(m, fragments_dropped);
		mesh_droplog(m, LK_MSG, now, "message %llu from %s lost a fragment: dropped whole",
		             (unsigned long long)out.lost_msg_id, p->name);
	}
	switch (st) {
	case REASM_WHOLE:
		s->rx_msgs++;
		deliver(m, p, out.shout, out.msg_id, out.group, out.glen, out.data, out.len, now);
		break;
	case REASM_STRAY:
		MESH_DROP(m, fragments_dropped);
		break;
	case REASM_TOO_BIG:
		MESH_DROP(m, msgs_bad);
		mesh_droplog(m, LK_MSG, now, "message from %s exceeds %u bytes: dropped", p->name,
		             MESH_MAX_PAYLOAD);
		break;
	case REASM_BAD:
		MESH_DROP(m, msgs_bad);
		break;
	case REASM_NOMEM:
		/* not delivered, and the next one would be, and acknowledged with it: refuse, so
		 * that it comes again after our RESEND */
		if (p->acks) {   /* a sender that predates "Delivery" would not resend it */
			MESH_DROP(m, msgs_refused);
			refuse(m, p, now);
		}
		break;
	case REASM_MORE:
	case REASM_EVICTED:
		break;
	}
}

void deliver_on_data(struct mesh *m, struct session *s, const struct wire_frame *f, uint64_t now)
{
	size_t ptlen = 0;
	struct wire_msg msg;
	struct session_rx rx;
	enum mesh_err rc;
	if (session_open(s, f, m->pbuf, sizeof m->pbuf, &ptlen, now, &rx) != MESH_OK) {
		if (rx.old) {
			MESH_DROP(m, frames_replayed);
			mesh_droplog(m, LK_FRAME, now, "replayed or reordered frame on session %08x "
			             "dropped", s->sid);
		} else {
			MESH_DROP(m, frames_auth_failed);
			mesh_droplog(m, LK_FRAME, now, "frame on session %08x failed authentication: "
			             "dropped", s->sid);
		}
		return;
	}
	/* a counter gap means a frame was lost; any frame may sit between two fragments */
	bool gap = rx.gap;
	s->last_rx_ms = now;
	s->rx_bytes += m->in_len;
	if (s->enter_due)
		mesh_enter_confirmed(m, s);   /* before what the frame holds: ENTER comes first */
	rc = wire_msg_decode(m->pbuf, ptlen, &msg);
	if (rc == MESH_OK) {
		m->tr_in.msg_id = msg.msg_id;
		mesh_trace_in_taken(m, (int)msg.type);
	}
	/* after the frame's trace record, which names its message: the promotion's decision
	 * follows from it */
	if (rx.promoted)
		rekey_on_promoted(m, s, now);   /* whatever the frame holds: the keys are in use */
	if (rc != MESH_OK && s->state == SESSION_INIT_WAIT_ACCEPT) {
		/* the responder's first word is ACCEPT or REJECT: anything malformed in its place
		 * ends the handshake (protocol section 3.2) */
		MESH_DROP(m, msgs_bad);
		MESH_DROP(m, handshakes_failed);
		mesh_droplog(m, LK_HS, now, "malformed ACCEPT on session %08x: handshake dropped",
		             s->sid);
		mesh_close_session(m, s, NULL, now);
		goto done;
	}
	if (rc != MESH_OK) {
		MESH_DROP(m, msgs_bad);
		mesh_droplog(m, LK_MSG, now, "malformed message on session %08x dropped (%s)", s->sid,
		             mesh_strerror(rc));
		goto done;
	}
	struct peer *p = mesh_session_peer(m, s);
	if (s->evasive && p && p->live_sid == s->sid) {
		s->evasive = false;
		if (p->evasive) {   /* reported EVASIVE (timers.c): say that it is heard again */
			p->evasive = false;
			mesh_emit(m, MESH_EV_BACK, p, NULL, 0, NULL, 0, NULL);
		}
	}
	switch (msg.type) {
	case WIRE_ACCEPT:
		if (s->role != NOISE_INITIATOR || s->state != SESSION_INIT_WAIT_ACCEPT) {
			MESH_DROP(m, msgs_bad);
		} else if ((rc = session_on_accept(s, m->pbuf, ptlen)) != MESH_OK) {
			/* it checked once already (wire_msg_decode): only memory can fail here */
			MESH_DROP(m, handshakes_failed);
			mesh_droplog(m, LK_HS, now, "ACCEPT on session %08x not taken (%s): handshake "
			             "dropped", s->sid, mesh_strerror(rc));
			mesh_close_session(m, s, NULL, now);
		} else {
			session_rtt_sample(s, s->probe_ms, now);   /* ACCEPT answers our FINISH */
			mesh_go_live(m, s, now);
		}
		goto done;
	case WIRE_REJECT:
		if (s->role == NOISE_INITIATOR && s->state == SESSION_INIT_WAIT_ACCEPT) {
			MESH_DROP(m, sessions_rejected);
			mesh_close_session(m, s, NULL, now);
		} else {
			MESH_DROP(m, msgs_bad);
		}
		goto done;
	default:
		break;
	}
	if (s->state != SESSION_LIVE || !p || p->live_sid != s->sid) {
		MESH_DROP(m, msgs_bad);
		goto done;
	}
	if (gap && !p->rx_refusing && p->acks) {
		/* a frame was lost, maybe a message: it comes again after our RESEND */
		mesh_droplog(m, LK_FRAME, now, "frames lost on session %08x: asking %s to resend",
		             s->sid, p->name);
		refuse(m, p, now);
	}
	switch (msg.type) {
	case WIRE_HEARTBEAT:
		break;
	case WIRE_BYE: {
		/* it left: dial it only once a beacon shows it back (section 4, "Redialling"), unless
		 * a beacon of its next incarnation came first (a BYE can lag behind a restart) */
		bool gone = p->beacon_incarnation == s->peer_incarnation;
		mesh_close_session(m, s, "bye", now);     /* s is freed */
		if (gone)
			p->next_dial_ms = UINT64_MAX;
		break;
	}
	case WIRE_JOIN:
	case WIRE_LEAVE: {
		bool join = msg.type == WIRE_JOIN;
		if ((join ? group_set_add : group_set_remove)(&p->groups, msg.group.p,
		                                              msg.group.len) == MESH_OK) {
			char g[WIRE_MAX_GROUP + 1];
			memcpy(g, msg.group.p, msg.group.len);
			g[msg.group.len] = '\0';
			mesh_emit(m, join ? MESH_EV_JOIN : MESH_EV_LEAVE, p, g, 0, NULL, 0, NULL);
		}
		break;
	}
	case WIRE_SHOUT:
	case WIRE_WHISPER:
		if (p->rx_refusing)
			MESH_DROP_N(m, msgs_refused, msg.index == 0);
		else
			on_fragment(m, s, p, &msg, gap, now);
		break;
	case WIRE_ACK:
		send_on_ack(m, p, msg.incarnation, msg.msg_id);
		break;
	case WIRE_RESEND:
		send_on_resend(m, p, msg.incarnation, msg.msg_id, now);
		break;
	case WIRE_MARK:
		if (p->rx_refusing && p->rx_asked && msg.msg_id == p->rx_last_id)
			p->rx_refusing = p->rx_asked = false;
		break;
	case WIRE_REKEY:
	case WIRE_REKEY_REPLY:
		rekey_on_msg(m, s, p, &msg, now);
		break;
	case WIRE_PEERS:
		pex_on_msg(m, p, s, &msg, now);
		break;
	default:
		MESH_DROP(m, msgs_unknown_type);
		break;
	}
done:
	sodium_memzero(m->pbuf, ptlen);
}
