/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * send: everything that leaves on a session. Frames go out through the link (send_frame);
 * application messages are sealed straight into the link's buffer (send_plain), cut into
 * fragments from each peer's queue (send_entry), and the queue is pumped as far as the socket
 * takes it (send_pump). Queued messages that cannot be sent are reported (send_drop_queue).
 *
 * Invariants:
 * - a DATA counter is never spent on a frame that was not sent: a frame that meets a full
 *   socket after sealing is kept (session->stall) and goes out before anything else on that
 *   session (send_unstall); a full socket before sealing leaves the message queued;
 * - every application message a peer's queue holds is either sent or reported by a DROPPED
 *   event; JOIN and LEAVE are not reported, and are never refused by the caps.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

/* Where s's frames go: the connection we dialled for it, or the one its HELLO came on. */
static struct link_route route_of(const struct session *s)
{
	if (s->role == NOISE_INITIATOR)
		return (struct link_route){ .sid = s->sid };
	return (struct link_route){ .rid = s->rid, .rid_len = s->rid_len };
}

/* One complete frame on s: MESH_OK, MESH_ELIMIT (socket full), MESH_EIO (peer gone). */
enum mesh_err send_frame(struct mesh *m, struct session *s, const uint8_t *frame,
                         size_t len)
{
	struct link_route to = route_of(s);
	return m->lops->send(m->link, &to, frame, len);
}

/* The same for the frame in the link's frame_buf() (len bytes), which goes out without a copy;
 * a full socket keeps a copy as the session's stall. */
static enum mesh_err send_sealed(struct mesh *m, struct session *s, const uint8_t *frame,
                                 size_t len)
{
	struct link_route to = route_of(s);
	enum mesh_err err = m->lops->send_buf(m->link, &to);
	if (err == MESH_ELIMIT) {
		s->stall = malloc(len);
		if (s->stall) {
			memcpy(s->stall, frame, len);
			s->stall_len = len;
			m->any_stalled = true;
			err = MESH_OK;
		} else {
			err = MESH_ENOMEM;
		}
	}
	return err;
}

/* Sends a stalled frame if there is one; MESH_OK when the way is clear. */
enum mesh_err send_unstall(struct mesh *m, struct session *s)
{
	if (!s->stall)
		return MESH_OK;
	enum mesh_err rc = send_frame(m, s, s->stall, s->stall_len);
	if (rc != MESH_OK)
		return rc;
	free(s->stall);
	s->stall = NULL;
	return MESH_OK;
}

/* Seals encoded plaintext straight into the buffer the link sends (no copy of the
 * ciphertext) and sends it. MESH_ELIMIT means nothing was sealed (the session is stalled;
 * try later). A frame that meets a full socket after sealing is kept. */
static enum mesh_err send_plain(struct mesh *m, struct session *s, const uint8_t *pt,
                                size_t len, uint64_t now)
{
	size_t flen;
	enum mesh_err rc = send_unstall(m, s);
	if (rc != MESH_OK)
		return rc;
	size_t want = session_sealed_len(s, len);
	uint8_t *frame = m->lops->frame_buf(m->link, want ? want : 1);
	if (!frame)
		return MESH_ENOMEM;
	rc = session_seal(s, pt, len, frame, want, &flen);
	if (rc != MESH_OK)
		return rc;
	s->last_tx_ms = now;
	return send_sealed(m, s, frame, want);
}

/* Encodes one message and sends it as send_plain() does. */
static enum mesh_err send_msg(struct mesh *m, struct session *s, const struct wire_msg *msg,
                              uint64_t now)
{
	size_t len;
	enum mesh_err rc = wire_msg_encode(msg, m->mbuf, sizeof m->mbuf, &len);
	if (rc != MESH_OK)
		return rc;
	rc = send_plain(m, s, m->mbuf, len, now);
	sodium_memzero(m->mbuf, len);
	return rc;
}

enum mesh_err send_simple(struct mesh *m, struct session *s, uint64_t type,
                          uint64_t reason, uint64_t now)
{
	struct wire_msg msg = { .type = type, .reason = reason };
	return send_msg(m, s, &msg, now);
}

/* The plaintext of a one-frame shout is the same for every member: encoded once, kept with
 * the message (and wiped with it), sealed once per member. */
static const uint8_t *shout_plaintext(struct outmsg *om, const struct wire_msg *msg,
                                      size_t *len)
{
	if (!om->enc) {
		size_t need = om->len + om->glen + 64, l;
		uint8_t *enc = malloc(need);
		if (!enc)
			return NULL;
		if (wire_msg_encode(msg, enc, need, &l) != MESH_OK) {
			sodium_memzero(enc, need);
			free(enc);
			return NULL;
		}
		om->enc = enc;
		om->enc_len = l;
	}
	*len = om->enc_len;
	return om->enc;
}

/* Sends what is left of queue entry e on s: 1 when all of it is sent, 0 when the socket is
 * full or the send failed for now (try later), -1 when s was closed. */
static int send_entry(struct mesh *m, struct session *s, struct peer_qent *e, uint64_t now)
{
	struct outmsg *om = e->m;
	struct wire_msg msg = { .msg_id = om->msg_id };
	enum mesh_err rc;
	if (om->kind == OUTMSG_JOIN || om->kind == OUTMSG_LEAVE) {
		msg.type = om->kind == OUTMSG_JOIN ? WIRE_JOIN : WIRE_LEAVE;
		msg.group.p = om->group;
		msg.group.len = om->glen;
		rc = send_msg(m, s, &msg, now);
		if (rc == MESH_ELIMIT) {
			m->any_stalled = true;
			return 0;
		}
		return 1;
	}
	uint32_t count = om->len ? (uint32_t)((om->len + WIRE_MAX_FRAGMENT - 1) /
	                                       WIRE_MAX_FRAGMENT) : 1;
	msg.type = om->kind == OUTMSG_SHOUT ? WIRE_SHOUT : WIRE_WHISPER;
	msg.count = count;
	if (om->kind == OUTMSG_SHOUT) {
		msg.group.p = om->group;
		msg.group.len = om->glen;
	}
	while (e->next_frag < count) {
		size_t off = (size_t)e->next_frag * WIRE_MAX_FRAGMENT;
		size_t flen = om->len - off < WIRE_MAX_FRAGMENT ? om->len - off : WIRE_MAX_FRAGMENT;
		msg.index = e->next_frag;
		msg.data = om->data + off;
		msg.data_len = flen;
		const uint8_t *pt;
		size_t ptlen;
		if (count == 1 && om->kind == OUTMSG_SHOUT && (pt = shout_plaintext(om, &msg, &ptlen)))
			rc = send_plain(m, s, pt, ptlen, now);
		else
			rc = send_msg(m, s, &msg, now);
		if (rc == MESH_ELIMIT) {
			m->any_stalled = true;
			return 0;
		}
		if (rc == MESH_ESTATE) {
			/* send counter exhausted (2^64 frames): this session can never send again */
			mesh_close_session(m, s, "send counter exhausted", now);
			return -1;
		}
		if (rc != MESH_OK)
			return 0;   /* out of memory, or the connection is gone: retry on the next tick;
			             * a dead peer is expired and its queue reported */
		e->next_frag++;
	}
	return 1;
}

static struct session *live_session(struct mesh *m, const struct peer *p)
{
	struct session *s = p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	return s && s->state == SESSION_LIVE ? s : NULL;
}

/* Sends what p's queue holds, in order, as far as its socket takes it. */
void send_pump(struct mesh *m, struct peer *p, uint64_t now)
{
	struct session *s = live_session(m, p);
	if (!s)
		return;
	while (p->qhead) {
		struct peer_qent *e = p->qhead;
		if (e->if_member && !group_set_has(&p->groups, e->m->group, e->m->glen)) {
			peer_dequeue(p);   /* parked during the handshake; not a member after all */
			continue;
		}
		if (send_entry(m, s, e, now) != 1)
			return;
		peer_dequeue(p);
	}
}

enum mesh_err send_enqueue(struct mesh *m, struct peer *p, struct outmsg *om, bool if_member,
                           uint64_t now)
{
	enum mesh_err rc;
	bool control = om->kind == OUTMSG_JOIN || om->kind == OUTMSG_LEAVE;
	struct peer_qent now_e = { .m = om, .if_member = if_member };
	struct session *s;
	/* Nothing waiting ahead of it and a live session: straight to the socket, without a
	 * queue entry; whatever the socket does not take is queued as usual. */
	if (!p->qhead && !if_member && (s = live_session(m, p)) && !s->stall) {
		int r = send_entry(m, s, &now_e, now);
		if (r == 1)
			return MESH_OK;
		if (r < 0) {
			/* the session just closed (and reported the peer gone): so is this message */
			if (!control)
				mesh_emit(m, MESH_EV_DROPPED, p, om->kind == OUTMSG_SHOUT ? om->group : NULL,
				          om->msg_id, NULL, 0, mesh_drop_reason(MESH_DROP_PEER_LEFT));
			return MESH_ENOTFOUND;
		}
	}
	/* control messages are tiny and must not be lost to a cap meant for payloads */
	rc = peer_enqueue(p, om, if_member, now, control ? SIZE_MAX : m->cfg.queue_msgs,
	                  control ? SIZE_MAX : m->cfg.queue_bytes);
	if (rc != MESH_OK) {
		if (!control)
			mesh_emit(m, MESH_EV_DROPPED, p, om->kind == OUTMSG_SHOUT ? om->group : NULL,
			          om->msg_id, NULL, 0, mesh_drop_reason(MESH_DROP_QUEUE_FULL));
		return rc;
	}
	p->qtail->next_frag = now_e.next_frag;
	send_pump(m, p, now);
	return MESH_OK;
}

/* Reports and removes every message queued for p. */
void send_drop_queue(struct mesh *m, struct peer *p, enum mesh_drop reason)
{
	while (p->qhead) {
		struct outmsg *om = p->qhead->m;
		/* A shout parked during a handshake was never known to be for this peer. */
		bool report = !p->qhead->if_member || group_set_has(&p->groups, om->group, om->glen);
		if (report && (om->kind == OUTMSG_SHOUT || om->kind == OUTMSG_WHISPER))
			mesh_emit(m, MESH_EV_DROPPED, p, om->kind == OUTMSG_SHOUT ? om->group : NULL,
			          om->msg_id, NULL, 0, mesh_drop_reason(reason));
		peer_dequeue(p);
	}
}
