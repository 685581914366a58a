/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * rekey: the engine's side of rekeying (docs/protocol.md section 3.3). The initiator of a live
 * session starts a Noise_KK exchange inside it once its keys are rekey_after_ms old or have
 * carried rekey_after_msgs frames one way, and starts a new one (the next n) when a REKEY_REPLY
 * does not come in time (attempt_timeout); the responder answers; either side closes a session
 * whose keys have outlived reject_after_ms, and the peers link again with a fresh handshake.
 * The key transitions themselves are session.c's (session_rekey_start, session_on_rekey,
 * session_on_rekey_reply, and the promotion in session_open).
 *
 * Invariants:
 * - nothing happens with a peer whose hello lacks WIRE_FEATURE_REKEY, or when we act as a node
 *   that predates it (test_no_ack): no exchange, no close for old keys;
 * - one exchange at a time per session: a new one starts only when the last is done on both
 *   sides (no tx_next left);
 * - a bad or stale REKEY or REKEY_REPLY is dropped and counted, never the session;
 * - a responder runs at most one REKEY's key exchange per REKEY_ANSWER_MIN_MS, good or bad;
 *   a REKEY that comes sooner is held (the latest only: 56 bytes per session) and taken at
 *   the first sweep after;
 * - log lines name the peer by fingerprint; no key byte is ever logged.
 */
#include <string.h>

#include <sodium.h>

#include "mesh_impl.h"

#define KEYS_TOO_OLD "keys too old: rekey did not complete"

bool rekey_enabled(const struct mesh *m, const struct session *s)
{
	return s->state == SESSION_LIVE && !m->cfg.test_no_ack &&
	       (s->peer_features & WIRE_FEATURE_REKEY);
}

/* Whether the current keys have done their time: age, or frames either way. */
static bool rekey_due(const struct mesh *m, const struct session *s, uint64_t now)
{
	const struct noise_transport *t = s->tx;
	return now - s->keys_ms >= m->cfg.rekey_after_ms ||
	       t->send_next >= m->cfg.rekey_after_msgs ||
	       (t->recv_any && t->recv_last >= m->cfg.rekey_after_msgs);
}

/* How long the attempt in flight waits for its REKEY_REPLY (protocol section 3.3, "Retries"):
 * REKEY_TIMEOUT_MS, or twice the smoothed round trip if that is longer, and twice as long as
 * the attempt before it for each retry of the same exchange, up to 8 times the first. On one
 * ordered connection a REPLY that is only late still comes, while a retry throws away the KK
 * state it would complete: with fixed 5 s retries, a path whose round trip had grown past
 * 5 s (a peer starved of CPU) never rekeyed, and its sessions closed as "keys too old". */
static uint64_t attempt_timeout(const struct session *s)
{
	uint64_t wait = REKEY_TIMEOUT_MS, rtt2 = s->rtt_samples ? s->rtt_srtt_ms8 / 4 : 0;
	if (rtt2 > wait)
		wait = rtt2;
	uint32_t doublings = s->rekey_tries > 1 ? s->rekey_tries - 1 : 0;
	return wait << (doublings < 3 ? doublings : 3);
}

/* A new attempt, rekey_n + 1: a REKEY under the current keys; the first of an exchange, or a
 * retry. A REKEY that cannot go out now (a full socket) is made again when the attempt times
 * out. */
static void start(struct mesh *m, struct session *s, bool retry, uint64_t now)
{
	s->rekey_tries = retry ? s->rekey_tries + 1 : 1;
	uint8_t kk[WIRE_REKEY_NOISE];
	uint64_t n = 0;
	enum mesh_err rc = session_rekey_start(s, m->id->x_sk, m->id->x_pk, now, kk, &n);
	if (rc != MESH_OK) {
		mesh_droplog(m, LK_HS, now, "rekey of session %08x not started: %s", s->sid,
		             mesh_strerror(rc));
		return;
	}
	struct wire_msg msg = { .type = WIRE_REKEY, .rekey_n = n, .noise = kk };
	if (send_msg(m, s, &msg, now) != MESH_OK)
		s->rekey_tries = 0;   /* it never went out: no late REPLY to wait for, no backoff */
}

/* Responder: answers REKEY n (protocol section 3.3, step 2), or drops it, counted. */
static void answer(struct mesh *m, struct session *s, uint64_t n,
                   const uint8_t noise[WIRE_REKEY_NOISE], uint64_t now)
{
	uint8_t out[WIRE_REKEY_NOISE];
	if (n >= s->rekey_held_n)
		s->rekey_held_n = 0;             /* this one is it, or newer */
	enum mesh_err rc = session_on_rekey(s, n, noise, m->id->x_sk, m->id->x_pk, out);
	if (rc != MESH_ESTATE)
		s->rekey_kk_ms = now ? now : 1;  /* it ran the exchange: the bound counts it */
	if (rc != MESH_OK) {
		char fp[KEYS_FPR_LEN];
		MESH_DROP_N(m, msgs_bad, rc != MESH_ENOMEM);
		mesh_droplog(m, LK_MSG, now, "REKEY %llu from %s on session %08x refused (%s)",
		             (unsigned long long)n, mesh_fpr(s->peer_id, fp), s->sid,
		             mesh_strerror(rc));
		return;
	}
	mesh_keylog_session(m, s, s->tx_next);
	/* under the current keys: ours change once a frame under the new ones arrives */
	struct wire_msg reply = { .type = WIRE_REKEY_REPLY, .rekey_n = n, .noise = out };
	(void)send_msg(m, s, &reply, now);
	s->rekey_answered_ms = now ? now : 1;
}

const char *rekey_on_sweep(struct mesh *m, struct session *s, uint64_t now)
{
	if (!rekey_enabled(m, s) || !s->tx)
		return NULL;
	if (now - s->keys_ms >= m->reject_after_ms) {
		char fp[KEYS_FPR_LEN];
		mesh_logline(m, 1, "session %08x with %s: " KEYS_TOO_OLD " in %llu ms; linking "
		             "again", s->sid, mesh_fpr(s->peer_id, fp),
		             (unsigned long long)m->reject_after_ms);
		return KEYS_TOO_OLD;
	}
	if (s->rekey_held_n && now - s->rekey_kk_ms >= REKEY_ANSWER_MIN_MS)
		answer(m, s, s->rekey_held_n, s->rekey_held, now);
	/* only the initiator starts one, and only once the last is done both ways */
	if (s->role != NOISE_INITIATOR || s->tx_next)
		return NULL;
	if (session_rekey_waiting(s)) {
		if (now - s->rekey_sent_ms >= attempt_timeout(s)) {
			MESH_DECIDE(m, rekeys_retried, s);
			start(m, s, true, now);
		}
	} else if (rekey_due(m, s, now)) {
		start(m, s, false, now);
	}
	return NULL;
}

void rekey_on_msg(struct mesh *m, struct session *s, struct peer *p, const struct wire_msg *msg,
                  uint64_t now)
{
	enum mesh_err rc;
	if (m->cfg.test_no_ack) {
		MESH_DROP(m, msgs_unknown_type);   /* what a node that predates rekeying does */
		return;
	}
	if (!rekey_enabled(m, s)) {
		/* its hello did not offer it: the peer breaks its own word */
		MESH_DROP(m, msgs_bad);
		mesh_droplog(m, LK_MSG, now, "rekey message from %s, which did not offer rekeying: "
		             "dropped", p->name);
		return;
	}
	if (msg->type == WIRE_REKEY) {
		if (s->rekey_kk_ms && now - s->rekey_kk_ms < REKEY_ANSWER_MIN_MS &&
		    msg->rekey_n > s->rekey_n) {
			/* a key exchange per frame, good or bad, would be the peer's to ask for, so
			 * this one waits its turn (rekey_on_sweep). It replaces one held before: the
			 * initiator waits for the latest. A retry queued behind its first attempt
			 * while we were busy is such a REKEY, and dropping it left the initiator
			 * waiting. */
			s->rekey_held_n = msg->rekey_n;
			memcpy(s->rekey_held, msg->noise, WIRE_REKEY_NOISE);
			return;
		}
		answer(m, s, msg->rekey_n, msg->noise, now);
		return;
	}
	rc = session_on_rekey_reply(s, msg->rekey_n, msg->noise);
	if (rc == MESH_ESTATE) {
		/* the answer to an attempt given up on, or a duplicate: the retry goes on */
		MESH_DROP(m, rekey_replies_stale);
		return;
	}
	if (rc != MESH_OK) {
		MESH_DROP_N(m, msgs_bad, rc != MESH_ENOMEM);
		mesh_droplog(m, LK_MSG, now, "REKEY_REPLY %llu from %s on session %08x refused (%s)",
		             (unsigned long long)msg->rekey_n, p->name, s->sid, mesh_strerror(rc));
		return;
	}
	mesh_keylog_session(m, s, s->tx_next);
	session_rtt_sample(s, s->rekey_sent_ms, now);
	/* our sends use the new keys from here; the responder moves to them on this frame */
	(void)send_simple(m, s, WIRE_HEARTBEAT, 0, now);
}

void rekey_on_promoted(struct mesh *m, struct session *s, uint64_t now)
{
	char fp[KEYS_FPR_LEN];
	MESH_DECIDE(m, rekeys, s);
	mesh_logline(m, 3, "rekey: session %08x with %s has new keys (attempt %llu)", s->sid,
	             mesh_fpr(s->peer_id, fp), (unsigned long long)s->rekey_n);
	/* the responder's sends move now; a frame under them at once lets the initiator drop its
	 * old keys and start the next exchange without waiting for traffic */
	if (s->role == NOISE_RESPONDER) {
		/* the initiator moved on our REKEY_REPLY at once */
		session_rtt_sample(s, s->rekey_answered_ms, now);
		(void)send_simple(m, s, WIRE_HEARTBEAT, 0, now);
	}
}
