/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * send: everything that leaves on a session. Frames go out through the link (send_frame);
 * application messages are sealed straight into the link's buffer (send_plain), cut into
 * fragments from each peer's queue (send_entry), and the queue is pumped as far as the socket
 * takes it (send_pump). Delivery (protocol section 6): a message stays queued until the peer
 * acknowledges it (send_on_ack), is sent again on every new session and after a RESEND
 * (send_on_resend), and is reported when its time-to-live ends (send_expire) or the peer's
 * run it was sent to is gone (send_forget_run). The receiving side's ACK and RESEND go out
 * here too (send_ack, send_ask_resend).
 *
 * Invariants:
 * - a DATA counter is never spent on a frame that was not sent: a frame that meets a full
 *   socket after sealing is kept (session->stall) and goes out before anything else on that
 *   session (send_unstall); a full socket before sealing leaves the message queued;
 * - every application message a peer's queue holds leaves it acknowledged (DELIVERED, with
 *   receipts) or reported (DROPPED); JOIN and LEAVE are not reported, and are never refused
 *   by the caps;
 * - the queue is in msg_id order, entries before qsend have been sent whole.
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
	struct mesh_trace t;
	bool traced = mesh_trace_out_begin(m, s, frame, len, NULL, 0, &t);
	enum mesh_err rc = m->lops->send(m->link, &to, frame, len);
	if (traced && rc == MESH_OK)
		mesh_trace_put(m, &t);
	if (rc == MESH_OK)
		s->tx_bytes += len;
	return rc;
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
	/* traced when it was sealed (send_plain) */
	struct link_route to = route_of(s);
	enum mesh_err rc = m->lops->send(m->link, &to, s->stall, s->stall_len);
	if (rc == MESH_EIO)
		s->tx_refused++;             /* its connection is gone (timers.c) */
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
	struct mesh_trace t;
	bool traced = mesh_trace_out_begin(m, s, frame, want, pt, len, &t);  /* the link takes
	                                                                      * the buffer */
	t.msg_id = m->tr_out_msg_id;
	rc = send_sealed(m, s, frame, want);
	if (traced && rc == MESH_OK)
		mesh_trace_put(m, &t);
	if (rc == MESH_OK)
		s->tx_bytes += want;
	else if (rc == MESH_EIO)
		s->tx_refused++;
	return rc;
}

/* Encodes one message and sends it as send_plain() does. */
enum mesh_err send_msg(struct mesh *m, struct session *s, const struct wire_msg *msg,
                       uint64_t now)
{
	size_t len;
	enum mesh_err rc = wire_msg_encode(msg, m->mbuf, sizeof m->mbuf, &len);
	if (rc != MESH_OK)
		return rc;
	uint64_t traced_id = m->tr_out_msg_id;   /* the trace names the message ID it carries */
	if (!traced_id)
		m->tr_out_msg_id = msg->msg_id;
	rc = send_plain(m, s, m->mbuf, len, now);
	m->tr_out_msg_id = traced_id;
	sodium_memzero(m->mbuf, len);
	return rc;
}

enum mesh_err send_simple(struct mesh *m, struct session *s, uint64_t type,
                          uint64_t reason, uint64_t now)
{
	struct wire_msg msg = { .type = type, .reason = reason };
	return send_msg(m, s, &msg, now);
}

/* ACCEPT with our name and groups (protocol section 3.2): the responder's last word of the
 * handshake, sent once message 3 has proven the initiator and every check has passed. */
enum mesh_err send_accept(struct mesh *m, struct session *s, uint64_t now)
{
	/* 4 KiB of group pointers: heap, as our_hello() in handshake.c */
	struct wire_accept *a = calloc(1, sizeof *a);
	size_t len = 0;
	enum mesh_err rc;
	if (!a)
		return MESH_ENOMEM;
	a->name = (struct wire_str){ m->name, strlen(m->name) };
	a->ngroups = m->groups.n;
	for (size_t i = 0; i < m->groups.n; i++)
		a->groups[i] = (struct wire_str){ m->groups.names[i], strlen(m->groups.names[i]) };
	rc = wire_accept_encode(a, m->mbuf, sizeof m->mbuf, &len);
	free(a);
	if (rc == MESH_OK)
		rc = send_plain(m, s, m->mbuf, len, now);
	sodium_memzero(m->mbuf, len);
	return rc;
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
		m->tr_out_msg_id = om->msg_id;   /* for the trace (send_plain) */
		rc = send_msg(m, s, &msg, now);
		m->tr_out_msg_id = 0;
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
		m->tr_out_msg_id = om->msg_id;   /* for the trace (send_plain) */
		if (count == 1 && om->kind == OUTMSG_SHOUT && (pt = shout_plaintext(om, &msg, &ptlen)))
			rc = send_plain(m, s, pt, ptlen, now);
		else
			rc = send_msg(m, s, &msg, now);
		m->tr_out_msg_id = 0;
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
	s->tx_msgs++;
	return 1;
}

struct session *send_live_session(struct mesh *m, const struct peer *p)
{
	struct session *s = p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	return s && s->state == SESSION_LIVE ? s : NULL;
}

static bool is_control(const struct outmsg *om)
{
	return om->kind == OUTMSG_JOIN || om->kind == OUTMSG_LEAVE;
}

/* Sends what p's queue holds from qsend on, in order, as far as its socket takes it: first a
 * MARK that a RESEND is owed. A message sent whole stays queued until it is acknowledged; a
 * group change leaves the queue once sent (a new session's hello carries the groups). */
void send_pump(struct mesh *m, struct peer *p, uint64_t now)
{
	struct session *s = send_live_session(m, p);
	if (!s)
		return;
	if (p->mark_due) {
		struct wire_msg mk = { .type = WIRE_MARK, .msg_id = p->mark_id };
		enum mesh_err rc = send_msg(m, s, &mk, now);
		if (rc == MESH_ELIMIT)
			m->any_stalled = true;
		if (rc != MESH_OK)
			return;
		p->mark_due = false;
	}
	while (p->qsend) {
		struct peer_qent *e = p->qsend;
		if (e->if_member && !group_set_has(&p->groups, e->m->group, e->m->glen)) {
			peer_unlink(p, e);   /* parked during the handshake; not a member after all */
			continue;
		}
		if (send_entry(m, s, e, now) != 1)
			return;
		if (is_control(e->m) || !p->acks) {
			/* a peer that does not acknowledge (protocol section 6, "Delivery"): what is
			 * sent whole is done with, and only a failure is reported */
			peer_unlink(p, e);
			continue;
		}
		e->sent_inc = s->peer_incarnation;
		e->if_member = false;    /* it was for this peer after all */
		peer_qsend_next(p);
	}
}

enum mesh_err send_enqueue(struct mesh *m, struct peer *p, struct outmsg *om, bool if_member,
                           uint64_t now)
{
	bool control = is_control(om);
	/* control messages are tiny and must not be lost to a cap meant for payloads */
	enum mesh_err rc = peer_enqueue(p, om, if_member, now,
	                                control ? SIZE_MAX : m->cfg.queue_msgs,
	                                control ? SIZE_MAX : m->cfg.queue_bytes);
	if (rc != MESH_OK) {
		if (!control)
			mesh_emit_answer(m, p, om, rc == MESH_ENOMEM ? MESH_DROP_NO_MEMORY
			                                             : MESH_DROP_QUEUE_FULL, false);
		return rc;
	}
	if (!control) {
		uint64_t d = now + (om->ttl_ms ? om->ttl_ms : m->cfg.ttl_ms);
		p->qtail->deadline_ms = d;
		if (p->qmsgs == 1 || d < p->qdeadline_ms)
			p->qdeadline_ms = d;
	}
	send_pump(m, p, now);
	return MESH_OK;
}

/* JOIN and LEAVE belong to the session they were queued on: the next session's hello carries
 * the groups, and mesh_go_live queues what changed since (protocol section 6, "Queues"). One
 * left over would be sent after that hello and undo it. */
void send_drop_controls(struct peer *p)
{
	struct peer_qent *e = p->qhead, *next;
	for (; e; e = next) {
		next = e->next;
		if (is_control(e->m))
			peer_unlink(p, e);
	}
}

/* An entry is reported to the application unless it was a shout parked during a handshake
 * for a peer that turned out not to be a member. */
static bool reportable(const struct peer *p, const struct peer_qent *e)
{
	return !is_control(e->m) &&
	       (!e->if_member || group_set_has(&p->groups, e->m->group, e->m->glen));
}

void send_expire(struct mesh *m, struct peer *p, uint64_t now)
{
	/* the sweep runs every STALL_RETRY_MS while a socket is full: walk the queue only when
	 * something in it is due */
	if (!p->qhead || now < p->qdeadline_ms)
		return;
	struct peer_qent *e = p->qhead, *next;
	uint64_t soonest = UINT64_MAX;
	for (; e; e = next) {
		next = e->next;
		if (is_control(e->m))
			continue;
		if (now < e->deadline_ms) {
			if (e->deadline_ms < soonest)
				soonest = e->deadline_ms;
			continue;
		}
		/* a message being sent finishes first, unless its peer has stopped taking it: a
		 * live peer that reads nothing must not keep it unanswered for ever (the receiver
		 * drops the part it has when the next message begins) */
		if (e == p->qsend && e->next_frag > 0 && send_live_session(m, p) &&
		    now - e->deadline_ms < m->cfg.expired_ms) {
			soonest = now;   /* looked at again on every sweep until it is done */
			continue;
		}
		if (reportable(p, e))
			mesh_emit_answer(m, p, e->m, e->sent_inc ? MESH_DROP_UNCONFIRMED
			                                         : MESH_DROP_EXPIRED, e->sent_inc != 0);
		peer_unlink(p, e);
	}
	p->qdeadline_ms = soonest;
}

void send_forget_run(struct mesh *m, struct peer *p, uint64_t incarnation)
{
	struct peer_qent *e = p->qhead, *next;
	for (; e; e = next) {
		next = e->next;
		if (!e->sent_inc || e->sent_inc == incarnation)
			continue;
		if (reportable(p, e))
			mesh_emit_answer(m, p, e->m, MESH_DROP_PEER_RESTARTED, true);
		peer_unlink(p, e);
	}
}

void send_on_ack(struct mesh *m, struct peer *p, uint64_t incarnation, uint64_t msg_id)
{
	if (incarnation != m->incarnation) {
		MESH_DROP(m, msgs_bad);
		return;
	}
	while (p->qhead && p->qhead != p->qsend) {
		struct peer_qent *e = p->qhead;
		if (e->m->msg_id > msg_id || e->sent_inc != p->incarnation)
			break;
		if (m->cfg.receipts)
			mesh_emit_answer(m, p, e->m, MESH_DROP_COUNT, false);
		peer_dequeue(p);
	}
	/* a resend pass may have put qsend back on entries it now acknowledges */
	while (p->qhead && p->qhead == p->qsend && !is_control(p->qhead->m) &&
	       p->qhead->m->msg_id <= msg_id && p->qhead->sent_inc == p->incarnation &&
	       p->qhead->next_frag == 0) {
		if (m->cfg.receipts)
			mesh_emit_answer(m, p, p->qhead->m, MESH_DROP_COUNT, false);
		peer_dequeue(p);
	}
}

void send_on_resend(struct mesh *m, struct peer *p, uint64_t incarnation, uint64_t msg_id,
                    uint64_t now)
{
	if (incarnation != m->incarnation) {
		MESH_DROP(m, msgs_bad);
		return;
	}
	/* each RESEND may send the whole window again: a peer gets that once a second at most,
	 * and a RESEND that comes sooner waits for its turn (the sweep answers it) */
	if (p->resend_last_ms && now - p->resend_last_ms < RESEND_MIN_MS) {
		p->resend_wait = true;
		p->resend_id = msg_id;
		return;
	}
	p->resend_wait = false;
	p->resend_last_ms = now;
	struct peer_qent *e = p->qhead;
	while (e && e != p->qsend && (is_control(e->m) || e->m->msg_id <= msg_id))
		e = e->next;
	if (e != p->qsend)
		peer_qsend_back(p, e);
	else if (e)
		e->next_frag = 0;
	p->mark_due = true;
	p->mark_id = msg_id;
	send_pump(m, p, now);
}

void send_ack(struct mesh *m, struct peer *p, uint64_t now)
{
	struct session *s = send_live_session(m, p);
	if (!s || !p->rx_incarnation || !p->acks) {
		p->ack_due_ms = 0;   /* the next session starts with an ACK (mesh_go_live) */
		return;
	}
	struct wire_msg a = { .type = WIRE_ACK, .incarnation = p->rx_incarnation,
	                      .msg_id = p->rx_taken_id };
	if (send_msg(m, s, &a, now) == MESH_OK) {
		p->rx_acked_id = p->rx_taken_id;
		p->rx_unacked_bytes = p->rx_unacked_msgs = 0;
		p->ack_due_ms = 0;
	} else if (!p->ack_due_ms) {
		p->ack_due_ms = now + ACK_DELAY_MS;
		m->any_ack_due = true;
	}
}

void send_ask_resend(struct mesh *m, struct peer *p, uint64_t now)
{
	struct session *s = send_live_session(m, p);
	if (!s || !p->rx_refusing || p->rx_asked)
		return;
	struct wire_msg r = { .type = WIRE_RESEND, .incarnation = p->rx_incarnation,
	                      .msg_id = p->rx_last_id };
	if (send_msg(m, s, &r, now) == MESH_OK)
		p->rx_asked = true;
}
