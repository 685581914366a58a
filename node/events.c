/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * events: what the loop thread hands the application. The engine's events become
 * struct meshnode_event (events_on_mesh), are batched per loop turn (events_push) and queued
 * under one lock with at most one pipe write (events_flush); meshnode_next_event() takes them
 * out. The set of present peers follows ENTER and EXIT as they are queued.
 *
 * Acknowledgement (docs/protocol.md section 6, "Delivery"): a message is acknowledged to its
 * sender only once meshnode_next_event() has returned it. The application counts what it took
 * (msg_taken: changed under lock, read by the loop without it); the loop keeps, in order, a
 * record of each message it handed over (the ring ut, loop thread only) and catches up once a
 * turn (events_ack_taken). The engine asks before it hands a message over (events_can_take), so
 * the queue never holds more than its budget of messages and none is discarded; nor is an
 * answer to one of our own messages.
 */
#include "known.h"
#include "node_impl.h"
#include "monoclock.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* ---------- present peers (under lock) ---------- */

static size_t present_bucket(const uint8_t id[MESHNODE_IDLEN])
{
	/* IDs are public keys: their bytes are already uniform */
	return ((size_t)id[0] | (size_t)id[1] << 8) % PRESENT_BUCKETS;
}

bool events_present_has(const struct meshnode *n, const uint8_t id[MESHNODE_IDLEN])
{
	for (const struct present *e = n->present[present_bucket(id)]; e; e = e->next)
		if (memcmp(e->id, id, MESHNODE_IDLEN) == 0)
			return true;
	return false;
}

void events_present_set(struct meshnode *n, const uint8_t id[MESHNODE_IDLEN], bool on)
{
	struct present **pp = &n->present[present_bucket(id)];
	for (; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->id, id, MESHNODE_IDLEN) == 0) {
			if (!on) {
				struct present *e = *pp;
				*pp = e->next;
				free(e);
			}
			return;
		}
	}
	if (!on)
		return;
	struct present *e = malloc(sizeof *e);
	if (!e)
		return;   /* whispers to this peer take the waiting path, which is still exact */
	memcpy(e->id, id, MESHNODE_IDLEN);
	e->next = NULL;
	*pp = e;
}

void events_present_clear(struct meshnode *n)
{
	for (size_t i = 0; i < PRESENT_BUCKETS; i++)
		while (n->present[i]) {
			struct present *e = n->present[i];
			n->present[i] = e->next;
			free(e);
		}
}

/* ---------- events (loop thread -> application) ---------- */

struct meshnode_event *events_new(void)
{
	struct evbox *b = calloc(1, sizeof *b);
	return b ? &b->ev : NULL;
}

/* Loop thread: the event joins this turn's batch; events_flush() queues the batch. */
void events_push(struct meshnode *n, struct meshnode_event *ev)
{
	struct evbox *b = (struct evbox *)ev;
	b->next = NULL;
	if (n->pend_tail)
		n->pend_tail->next = b;
	else
		n->pend_head = b;
	n->pend_tail = b;
}

/* Loop thread: queues this turn's events under one lock, with at most one pipe write (none
 * for a driven node, which has no event fd). */
void events_flush(struct meshnode *n)
{
	struct evbox *b = n->pend_head, *drop = NULL;
	size_t dropped = 0;
	if (!b)
		return;
	n->pend_head = n->pend_tail = NULL;
	pthread_mutex_lock(&n->lock);
	bool was_empty = n->ev_count == 0;
	while (b) {
		struct evbox *next = b->next;
		struct meshnode_event *ev = &b->ev;
		b->next = NULL;
		if (ev->type == MESHNODE_EV_ENTER || ev->type == MESHNODE_EV_EXIT)
			events_present_set(n, ev->peer, ev->type == MESHNODE_EV_ENTER);
		/* Message events always get in: events_can_take() kept them within the budget, and each
		 * will be acknowledged. So do the answers to our own messages (DELIVERED, DROPPED):
		 * each is owed, and new sends are refused while the queue is full (send_cmd), which
		 * bounds them. The rest (ENTER, EXIT, JOIN...) past the count cap are discarded,
		 * counted and reported. */
		bool owed = ev->type == MESHNODE_EV_SHOUT || ev->type == MESHNODE_EV_WHISPER ||
		            ev->type == MESHNODE_EV_DELIVERED || ev->type == MESHNODE_EV_DROPPED;
		if (!owed && n->ev_count >= n->ev_max) {
			b->next = drop;
			drop = b;
			dropped++;
		} else {
			if (n->ev_tail)
				n->ev_tail->next = b;
			else
				n->ev_head = b;
			n->ev_tail = b;
			n->ev_bytes += ev->len;
			n->ev_count++;
		}
		b = next;
	}
	if (was_empty && n->ev_count && !n->driven)
		(void)!write(n->evpipe[1], "e", 1);
	bool wake = n->ev_count > 0;
	bool say = false;
	if (dropped) {
		/* the application stopped reading: count and say so, never grow without bound */
		n->ev_dropped += dropped;
		time_t now = time(NULL);
		say = now != n->ev_dropped_logged;
		n->ev_dropped_logged = now;
	}
	uint64_t total = n->ev_dropped;
	pthread_mutex_unlock(&n->lock);
	if (wake)
		pthread_cond_broadcast(&n->cond);
	if (say)
		node_logmsg(n, MESHNODE_LOG_ERROR, "event queue full (%d events unread): %llu events "
		       "about peers and groups discarded so far; read events faster",
		       (int)n->ev_max, (unsigned long long)total);
	while (drop) {
		struct meshnode_event *ev = &drop->ev;
		drop = drop->next;
		meshnode_event_destroy(&ev);
	}
}

bool events_waiting(struct meshnode *n)
{
	pthread_mutex_lock(&n->lock);
	bool waiting = n->ev_count > 0;
	pthread_mutex_unlock(&n->lock);
	return waiting;
}

void events_copy_str(char *dst, size_t cap, const char *src)
{
	size_t l = strnlen(src, cap - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* Loop thread: records a message event handed over, to acknowledge once it is taken. */
static bool untaken_room(struct meshnode *n)
{
	if (n->ut_len == n->ut_cap) {
		size_t ncap = n->ut_cap ? 2 * n->ut_cap : 256;
		struct untaken *nu = malloc(ncap * sizeof *nu);
		if (!nu)
			return false;
		for (size_t i = 0; i < n->ut_len; i++)
			nu[i] = n->ut[(n->ut_head + i) % n->ut_cap];
		free(n->ut);
		n->ut = nu;
		n->ut_cap = ncap;
		n->ut_head = 0;
	}
	return true;
}

static bool untaken_push(struct meshnode *n, const uint8_t *peer, uint64_t incarnation,
                         uint64_t msg_id, size_t len)
{
	if (!untaken_room(n))
		return false;
	struct untaken *u = &n->ut[(n->ut_head + n->ut_len++) % n->ut_cap];
	memcpy(u->peer, peer, MESHNODE_IDLEN);
	u->incarnation = incarnation;
	u->msg_id = msg_id;
	u->len = len;
	n->msg_given++;
	n->msg_given_bytes += len;
	return true;
}

/* Loop thread: acknowledges what the application took since the last turn. */
void events_ack_taken(struct meshnode *n, uint64_t now)
{
	/* each read on its own, and each counts only events already out of the queue: the
	 * count may be one take ahead of the bytes, the bytes any number ahead of the count */
	uint64_t taken = atomic_load(&n->msg_taken);
	n->seen_taken_bytes = atomic_load(&n->msg_taken_bytes);
	for (; n->seen_taken < taken && n->ut_len; n->seen_taken++) {
		struct untaken *u = &n->ut[n->ut_head];
		n->ut_head = (n->ut_head + 1) % n->ut_cap;
		n->ut_len--;
		mesh_taken(n->mesh, u->peer, u->incarnation, u->msg_id, u->len, now);
	}
}

/* Loop thread, from the engine: is there room enough again to ask refused senders to resend?
 * Half the budget free, so that a reader at the edge does not refuse and ask in turn. */
bool events_can_resume(void *arg)
{
	struct meshnode *n = arg;
	return n->msg_given - n->seen_taken <= n->ev_max / 2 &&
	       n->msg_given_bytes - n->seen_taken_bytes <= n->ev_max_bytes / 2;
}

/* Loop thread, from the engine: may a message of len bytes be handed over now? */
bool events_can_take(void *arg, size_t len)
{
	struct meshnode *n = arg;
	uint64_t count = n->msg_given - n->seen_taken;
	uint64_t bytes = n->msg_given_bytes - n->seen_taken_bytes;
	if (count >= n->ev_max || bytes + len > n->ev_max_bytes)
		return false;
	/* what events_on_mesh needs for the message, reserved now: out of memory there would
	 * lose it after the engine counted it delivered, and the next one's ACK would cover it
	 * (a false DELIVERED); refused here, it comes again */
	if (!n->spare)
		n->spare = calloc(1, sizeof *n->spare);
	return n->spare && untaken_room(n);
}

void events_on_mesh(void *arg, const struct mesh_event *me)
{
	struct meshnode *n = arg;
	bool message = me->type == MESH_EV_SHOUT || me->type == MESH_EV_WHISPER;
	struct meshnode_event *ev = NULL;
	if (message && n->spare) {   /* reserved by events_can_take */
		ev = &n->spare->ev;
		n->spare = NULL;
	} else {
		ev = events_new();
	}
	if (!ev) {
		if (me->data) {
			sodium_memzero(me->data, me->len);   /* someone's plaintext */
			free(me->data);
		}
		return;
	}
	ev->type = me->type == MESH_EV_DELIVERED ? MESHNODE_EV_DELIVERED
	         : me->type == MESH_EV_ALARM     ? MESHNODE_EV_ALARM
	         : me->type == MESH_EV_BACK      ? MESHNODE_EV_BACK
	                                         : (enum meshnode_event_type)me->type;
	ev->alarm = (enum meshnode_alarm)me->alarm;
	ev->maybe_delivered = me->maybe_delivered;
	if ((me->type == MESH_EV_SHOUT || me->type == MESH_EV_WHISPER) && me->peer &&
	    !untaken_push(n, me->peer->id, me->peer->incarnation, me->msg_id, me->len)) {
		/* it cannot be tracked, so it would never be acknowledged: the sender will
		 * report it, and the application never sees it */
		node_logmsg(n, MESHNODE_LOG_ERROR, "out of memory: a message from %s not taken",
		       me->peer->name);
		sodium_memzero(me->data, me->len);
		free(me->data);
		free((struct evbox *)ev);
		return;
	}
	if (me->peer) {
		memcpy(ev->peer, me->peer->id, MESHNODE_IDLEN);
		memcpy(ev->peer_hex, me->peer->hex, sizeof ev->peer_hex);
		events_copy_str(ev->name, sizeof ev->name, me->peer->name);
		ev->incarnation = me->peer->incarnation;
		if (ev->type == MESHNODE_EV_ENTER || ev->type == MESHNODE_EV_ALARM) {
			/* the header: endpoint is for ENTER and ALARM */
			ipaddr_endpoint(&me->peer->ip, me->peer->port, ev->endpoint);
		}
	}
	if (me->group)
		events_copy_str(ev->group, sizeof ev->group, me->group);
	ev->msg_id = me->msg_id;
	ev->data = me->data;
	ev->len = me->len;
	ev->reason = me->reason;
	known_on_event(n, ev);
	events_push(n, ev);
}

/* The queue's first event, taken out; NULL when empty. With lock held. */
static struct meshnode_event *take_locked(struct meshnode *n)
{
	struct evbox *b = n->ev_head;
	if (!b)
		return NULL;
	n->ev_head = b->next;
	if (!n->ev_head)
		n->ev_tail = NULL;
	n->ev_bytes -= b->ev.len;
	if (b->ev.type == MESHNODE_EV_SHOUT || b->ev.type == MESHNODE_EV_WHISPER) {
		atomic_fetch_add(&n->msg_taken, 1);
		atomic_fetch_add(&n->msg_taken_bytes, b->ev.len);
	}
	/* once the loop is gone the fd stays readable: that is how a poller learns it */
	if (--n->ev_count == 0 && !n->loop_done && !n->driven)
		node_drain_fd(n->evpipe[0]);
	b->next = NULL;
	return &b->ev;
}

struct meshnode_event *events_take(struct meshnode *n)
{
	pthread_mutex_lock(&n->lock);
	struct meshnode_event *ev = take_locked(n);
	pthread_mutex_unlock(&n->lock);
	return ev;
}

/* A driven node: its owner runs turns until an event is queued, the time is up, or the node
 * has stopped; and one first if the last was TAKEN_POLL_MS ago or more, even with events
 * queued. A timeout of 0 still makes one turn (a poll of the sockets that does not wait), so
 * that an owner that only ever polls keeps the node running. */
static struct meshnode_event *next_driven(struct meshnode *n, int timeout_ms)
{
	if (!node_owner_ok(n))
		return NULL;
	uint64_t deadline = timeout_ms >= 0 ? monoclock_ms() + (uint64_t)timeout_ms : 0;
	/* an owner working through a long queue still turns the node: ACKs, heartbeats, input */
	if (!n->loop_done && n->started && monoclock_ms() - n->ls.ended >= TAKEN_POLL_MS)
		drive_turn(n, 0);
	for (;;) {
		struct meshnode_event *ev = events_take(n);
		if (ev || n->loop_done || !n->started)
			return ev;
		long left = -1;
		if (timeout_ms >= 0) {
			uint64_t now = monoclock_ms();
			left = deadline > now ? (long)(deadline - now) : 0;
		}
		drive_turn(n, left);
		if (left == 0)
			return events_take(n);
	}
}

struct meshnode_event *meshnode_next_event(struct meshnode *n, int timeout_ms)
{
	if (n->driven)
		return next_driven(n, timeout_ms);
	uint64_t deadline = timeout_ms >= 0 ? monoclock_ms() + (uint64_t)timeout_ms : 0;
	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct meshnode_event *ev = take_locked(n);
		if (ev) {
			pthread_mutex_unlock(&n->lock);
			return ev;
		}
		if (n->loop_done || !n->started || timeout_ms == 0)
			break;
		if (timeout_ms < 0) {
			pthread_cond_wait(&n->cond, &n->lock);
			continue;
		}
		uint64_t now = monoclock_ms();
		if (now >= deadline)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t wait = deadline - now;
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&n->cond, &n->lock, &ts);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

void meshnode_event_destroy(struct meshnode_event **evp)
{
	struct meshnode_event *ev = evp ? *evp : NULL;
	if (!ev)
		return;
	if (ev->data) {
		sodium_memzero(ev->data, ev->len);   /* someone's plaintext */
		free(ev->data);
	}
	free(ev);   /* the evbox around it: ev is its first member */
	*evp = NULL;
}

int meshnode_event_fd(const struct meshnode *n)
{
	return n->driven ? -1 : n->evpipe[0];
}

const char *meshnode_event_name(enum meshnode_event_type t)
{
	switch (t) {
	case MESHNODE_EV_ENTER: return "enter";
	case MESHNODE_EV_EXIT: return "exit";
	case MESHNODE_EV_EVASIVE: return "evasive";
	case MESHNODE_EV_JOIN: return "join";
	case MESHNODE_EV_LEAVE: return "leave";
	case MESHNODE_EV_SHOUT: return "shout";
	case MESHNODE_EV_WHISPER: return "whisper";
	case MESHNODE_EV_DROPPED: return "dropped";
	case MESHNODE_EV_ERROR: return "error";
	case MESHNODE_EV_DELIVERED: return "delivered";
	case MESHNODE_EV_ALARM: return "alarm";
	case MESHNODE_EV_BACK: return "back";
	}
	return "unknown";
}
