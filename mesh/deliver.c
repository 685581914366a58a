/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * deliver: DATA frames in (docs/protocol.md sections 5 and 6). deliver_on_data drops an old
 * counter, opens the frame, decodes the message and acts on it: ACCEPT and REJECT finish a
 * handshake we initiated, control messages act on the peer, and SHOUT and WHISPER fragments
 * are reassembled per session and delivered whole.
 *
 * Invariants:
 * - application messages are taken only on a LIVE session that is its peer's live one;
 * - each sender's messages are delivered once, in increasing msg_id order, per incarnation
 *   (peer.rx_last_id); a message with a lost fragment is dropped whole, and counted;
 * - decrypted plaintext is wiped from the scratch buffer on every path.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"
#include "reasm.h"

/* A whole message: delivered once, in order (protocol section 6). Takes data. */
static void deliver(struct mesh *m, struct peer *p, bool shout, uint64_t id, const char *group,
                    size_t glen, uint8_t *data, size_t len)
{
	char g[WIRE_MAX_GROUP + 1];
	if (id <= p->rx_last_id) {
		m->stats.msgs_dup++;
		goto drop;
	}
	p->rx_last_id = id;
	if (shout && !group_set_has(&m->groups, group, glen))
		goto drop;   /* we left the group while this was in flight */
	if (shout) {
		memcpy(g, group, glen);
		g[glen] = '\0';
	}
	mesh_emit(m, shout ? MESH_EV_SHOUT : MESH_EV_WHISPER, p, shout ? g : NULL, id, data, len, NULL);
	return;
drop:
	sodium_memzero(data, len);
	free(data);
}

/* Completes or extends the reassembly of a SHOUT or WHISPER (protocol section 6). */
static void on_fragment(struct mesh *m, struct session *s, struct peer *p,
                        const struct wire_msg *msg, bool gap, uint64_t now)
{
	struct reasm_out out;
	enum reasm_status st = reasm_add(&s->rs, msg, gap, now, &out);
	if (out.lost) {
		m->stats.fragments_dropped++;
		mesh_droplog(m, LK_MSG, now, "message %llu from %s lost a fragment: dropped whole",
		             (unsigned long long)out.lost_msg_id, p->name);
	}
	switch (st) {
	case REASM_WHOLE:
		deliver(m, p, out.shout, out.msg_id, out.group, out.glen, out.data, out.len);
		break;
	case REASM_STRAY:
		m->stats.fragments_dropped++;
		break;
	case REASM_TOO_BIG:
		m->stats.msgs_bad++;
		mesh_droplog(m, LK_MSG, now, "message from %s exceeds %u bytes: dropped", p->name,
		             MESH_MAX_PAYLOAD);
		break;
	case REASM_BAD:
		m->stats.msgs_bad++;
		break;
	case REASM_MORE:
	case REASM_NOMEM:
		break;
	}
}

void deliver_on_data(struct mesh *m, struct session *s, const struct wire_frame *f, uint64_t now)
{
	size_t ptlen = 0;
	struct wire_msg msg;
	enum mesh_err rc;
	/* a counter gap means a frame was lost; any frame may sit between two fragments */
	bool gap = s->tx && s->tx->recv_any && f->counter != s->tx->recv_last + 1;
	if (s->tx && s->tx->recv_any && f->counter <= s->tx->recv_last) {
		m->stats.frames_replayed++;
		mesh_droplog(m, LK_FRAME, now, "replayed or reordered frame on session %08x dropped",
		             s->sid);
		return;
	}
	if (session_open(s, f, m->pbuf, sizeof m->pbuf, &ptlen) != MESH_OK) {
		m->stats.frames_auth_failed++;
		mesh_droplog(m, LK_FRAME, now, "frame on session %08x failed authentication: dropped",
		             s->sid);
		return;
	}
	s->last_rx_ms = now;
	rc = wire_msg_decode(m->pbuf, ptlen, &msg);
	if (rc != MESH_OK) {
		m->stats.msgs_bad++;
		mesh_droplog(m, LK_MSG, now, "malformed message on session %08x dropped (%s)", s->sid,
		             mesh_strerror(rc));
		goto done;
	}
	struct peer *p = mesh_session_peer(m, s);
	if (s->evasive && p && p->live_sid == s->sid) {
		s->evasive = false;
		p->evasive = false;
	}
	switch (msg.type) {
	case WIRE_ACCEPT:
		if (s->role == NOISE_INITIATOR && s->state == SESSION_INIT_WAIT_ACCEPT)
			mesh_go_live(m, s, now);
		else
			m->stats.msgs_bad++;
		goto done;
	case WIRE_REJECT:
		if (s->role == NOISE_INITIATOR && s->state == SESSION_INIT_WAIT_ACCEPT) {
			m->stats.sessions_rejected++;
			mesh_close_session(m, s, NULL, now);
		} else {
			m->stats.msgs_bad++;
		}
		goto done;
	default:
		break;
	}
	if (s->state != SESSION_LIVE || !p || p->live_sid != s->sid) {
		m->stats.msgs_bad++;
		goto done;
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
		if (group_set_add(&p->groups, msg.group.p, msg.group.len) == MESH_OK) {
			char g[WIRE_MAX_GROUP + 1];
			memcpy(g, msg.group.p, msg.group.len);
			g[msg.group.len] = '\0';
			mesh_emit(m, MESH_EV_JOIN, p, g, 0, NULL, 0, NULL);
		}
		break;
	case WIRE_LEAVE:
		if (group_set_remove(&p->groups, msg.group.p, msg.group.len) == MESH_OK) {
			char g[WIRE_MAX_GROUP + 1];
			memcpy(g, msg.group.p, msg.group.len);
			g[msg.group.len] = '\0';
			mesh_emit(m, MESH_EV_LEAVE, p, g, 0, NULL, 0, NULL);
		}
		break;
	case WIRE_SHOUT:
	case WIRE_WHISPER:
		on_fragment(m, s, p, &msg, gap, now);
		break;
	default:
		m->stats.msgs_unknown_type++;
		break;
	}
done:
	sodium_memzero(m->pbuf, ptlen);
}
