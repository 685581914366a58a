/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * trace: the engine's record of what it does (mesh.h, struct mesh_trace). Each record goes to
 * mesh_config.trace at once, on the mesh's thread; without one every function here returns at
 * its first line.
 *
 * Input is traced in three steps, because what a frame is becomes known as it is handled: the
 * reader notes the beacon or frame (mesh_trace_in_beacon, _in_frame), the handler names its
 * session once it has found it (_in_session), and the record goes out as IN once the input
 * was taken (_in_taken), or as DROP, with the counter it was counted in as its reason, when it
 * was not (MESH_DROP, mesh_impl.h). An input neither taken nor dropped (a beacon of a known
 * peer that changed nothing) leaves no record: _in_done forgets it.
 */
#include <string.h>

#include "mesh_impl.h"

static const char *const msg_names[] = {
	[WIRE_ACCEPT] = "accept", [WIRE_REJECT] = "reject", [WIRE_HEARTBEAT] = "heartbeat",
	[WIRE_BYE] = "bye", [WIRE_JOIN] = "join", [WIRE_LEAVE] = "leave",
	[WIRE_SHOUT] = "shout", [WIRE_WHISPER] = "whisper", [WIRE_ACK] = "ack",
	[WIRE_RESEND] = "resend", [WIRE_MARK] = "mark", [WIRE_REKEY] = "rekey",
	[WIRE_REKEY_REPLY] = "rekey_reply", [WIRE_PEERS] = "peers",
};

const char *mesh_trace_msg_name(int t)
{
	if (t <= 0 || (size_t)t >= sizeof msg_names / sizeof msg_names[0])
		return NULL;
	return msg_names[t];
}

static const char *frame_name(int t)
{
	switch (t) {
	case WIRE_HELLO: return "hello";
	case WIRE_REPLY: return "reply";
	case WIRE_FINISH: return "finish";
	case WIRE_DATA: return "data";
	default: return "frame";
	}
}

static const char *event_name(enum mesh_event_type t)
{
	static const char *const names[MESH_EV_COUNT] = {
		[MESH_EV_ENTER] = "enter", [MESH_EV_EXIT] = "exit", [MESH_EV_EVASIVE] = "evasive",
		[MESH_EV_JOIN] = "join", [MESH_EV_LEAVE] = "leave", [MESH_EV_SHOUT] = "shout",
		[MESH_EV_WHISPER] = "whisper", [MESH_EV_DROPPED] = "dropped",
		[MESH_EV_DELIVERED] = "delivered", [MESH_EV_ALARM] = "alarm", [MESH_EV_BACK] = "back",
	};
	return t > 0 && t < MESH_EV_COUNT && names[t] ? names[t] : "event";
}

/* The ID of the node at the other end of s, once it is known. */
static const uint8_t *session_peer_id(const struct session *s)
{
	if (s->authenticated)
		return s->peer_id;
	if (s->role == NOISE_INITIATOR && !s->expect_any)
		return s->expected_id;
	return NULL;
}

/* The type of the message a msgpack array [type, ...] holds, or -1, without decoding the rest
 * (the plaintext of a frame being sent). Every message starts so (protocol section 5): a
 * fixarray, then a positive fixint. */
static int first_type(const uint8_t *p, size_t n)
{
	if (!p || n < 2 || (p[0] & 0xf0) != 0x90 || p[1] > 0x7f)
		return -1;
	return p[1];
}

void mesh_trace_drop(struct mesh *m, const char *reason, const struct session *s)
{
	if (!mesh_tracing(m))
		return;
	struct mesh_trace t = m->tr_in;
	t.kind = MESH_TRACE_DROP;
	t.reason = reason;
	if (s) {
		t.sid = s->sid;
		if (!t.peer)
			t.peer = session_peer_id(s);
	}
	mesh_trace_put(m, &t);
	m->tr_done = true;      /* a drop is the input's record */
}

void mesh_trace_decision(struct mesh *m, const char *what, const struct session *s,
                         const char *why)
{
	if (!mesh_tracing(m))
		return;
	mesh_trace_in_taken(m, m->tr_in.msg);   /* the input it follows from comes first */
	struct mesh_trace t = { .kind = MESH_TRACE_DECISION, .what = what, .reason = why,
	                        .msg = -1 };
	if (s) {
		t.sid = s->sid;
		t.peer = session_peer_id(s);
		if (s->role == NOISE_RESPONDER && s->src_addr[0])
			t.addr = s->src_addr;
	}
	mesh_trace_put(m, &t);
}

void mesh_trace_in_beacon(struct mesh *m, const struct ipaddr *ip, const uint8_t *id,
                          size_t bytes)
{
	if (!mesh_tracing(m))
		return;
	m->tr_in = (struct mesh_trace){ .kind = MESH_TRACE_IN, .what = "beacon", .peer = id,
	                                .bytes = bytes, .msg = -1 };
	m->tr_done = false;
	if (ip)
		m->tr_in.addr = ipaddr_str(ip, m->tr_addr);
}

void mesh_trace_in_frame(struct mesh *m, const char *addr, const struct wire_frame *f,
                         size_t bytes)
{
	if (!mesh_tracing(m))
		return;
	m->tr_in = (struct mesh_trace){ .kind = MESH_TRACE_IN, .what = "frame", .bytes = bytes,
	                                .msg = -1 };
	m->tr_done = false;
	if (addr) {
		snprintf(m->tr_addr, sizeof m->tr_addr, "%s", addr);
		m->tr_in.addr = m->tr_addr;
	}
	if (f) {
		m->tr_in.what = frame_name((int)f->type);
		m->tr_in.rx_sid = f->rx_sid;
		m->tr_in.sid = f->rx_sid;
		m->tr_in.has_counter = f->type == WIRE_DATA;
		m->tr_in.counter = f->counter;
	}
}

void mesh_trace_in_session(struct mesh *m, const struct session *s)
{
	if (!mesh_tracing(m) || !m->tr_in.what || m->tr_done)
		return;
	m->tr_in.sid = s->sid;
	m->tr_in.peer = session_peer_id(s);
	if (!m->tr_in.addr && s->role == NOISE_RESPONDER && s->src_addr[0])
		m->tr_in.addr = s->src_addr;
}

void mesh_trace_in_taken(struct mesh *m, int msg)
{
	if (!mesh_tracing(m) || !m->tr_in.what || m->tr_done)
		return;
	m->tr_in.msg = msg;
	mesh_trace_put(m, &m->tr_in);
	/* what follows from it (a drop of the message inside, a decision) has records of its
	 * own, in the input's context */
	m->tr_done = true;
}

void mesh_trace_in_done(struct mesh *m)
{
	m->tr_in = (struct mesh_trace){ .msg = -1 };
	m->tr_done = false;
}

bool mesh_trace_out_begin(struct mesh *m, const struct session *s, const uint8_t *frame,
                          size_t len, const uint8_t *pt, size_t ptlen, struct mesh_trace *t)
{
	if (!mesh_tracing(m))
		return false;
	mesh_trace_in_taken(m, m->tr_in.msg);   /* what it answers comes first */
	*t = (struct mesh_trace){ .kind = MESH_TRACE_OUT, .what = frame_name(-1), .sid = s->sid,
	                          .peer = session_peer_id(s), .bytes = len,
	                          .msg = first_type(pt, ptlen) };
	struct wire_frame f;
	if (wire_frame_decode(frame, len, &f) == MESH_OK) {
		t->what = frame_name((int)f.type);
		t->rx_sid = f.rx_sid;
		t->has_counter = f.type == WIRE_DATA;
		t->counter = f.counter;
	}
	if (s->role == NOISE_RESPONDER && s->src_addr[0])
		t->addr = s->src_addr;
	return true;
}

void mesh_trace_put(struct mesh *m, const struct mesh_trace *t)
{
	m->cfg.trace(m->cfg.trace_arg, t);
}

void mesh_trace_out_beacon(struct mesh *m, const struct ipaddr *ip, size_t bytes)
{
	if (!mesh_tracing(m))
		return;
	char a[IPADDR_STRLEN];
	struct mesh_trace t = { .kind = MESH_TRACE_OUT, .what = "beacon", .bytes = bytes,
	                        .msg = -1, .addr = ip ? ipaddr_str(ip, a) : NULL };
	mesh_trace_put(m, &t);
}

void mesh_trace_event(struct mesh *m, const struct mesh_event *ev)
{
	if (!mesh_tracing(m))
		return;
	struct mesh_trace t = { .kind = MESH_TRACE_DECISION, .what = event_name(ev->type),
	                        .reason = ev->reason, .msg = -1, .msg_id = ev->msg_id,
	                        .peer = ev->peer ? ev->peer->id : NULL };
	mesh_trace_put(m, &t);
}
