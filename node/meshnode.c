/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshnode: the embeddable node. One loop thread owns the mesh engine and every socket; the
 * API talks to it through a FIFO of commands, and the loop hands events back through a queue
 * whose pipe is readable while the queue is non-empty, and for good once the loop has ended.
 *
 * Sends do not wait for the loop: shout and whisper copy the payload into a message, give it
 * its ID and append it to the FIFO, and the loop takes the whole FIFO at each turn. Every
 * other command waits in the same FIFO until the loop has run it, so commands run in the
 * order they were made and message IDs reach the wire in increasing order. A whisper to a
 * peer that is not present (no ENTER, or EXIT since) waits too, so that the answer
 * MESH_ENOTFOUND is exact. The loop collects the events of one turn and queues them under
 * one lock, with at most one pipe write (events.c, with the acknowledgement of what the
 * application took).
 *
 * The read-only queries (peers, groups, status, stats) are commands too; they live in
 * queries.c. The calls that change something (join, leave, shout, whisper, a fixed peer) and
 * the accessors live in calls.c, the loop's turn in loop.c.
 *
 * Locks: `lock` guards the FIFO, the event queue and the set of present peers (node_impl.h).
 * The loop never holds it while it runs mesh code.
 */
#include "meshnode.h"
#ifdef MESH_TEST_HOOKS
#include "meshnode_testhooks.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "known.h"
#include "monoclock.h"
#include "node_impl.h"
#include "keys.h"
#include "mesh.h"
#include "group.h"
#include "wire.h"

/* The public header cannot include the layers below (it is installed alone), so its values
 * are written out there; these tie each to its one home below, at build time. */
_Static_assert(MESHNODE_IDLEN == WIRE_IDLEN, "node ID length");
_Static_assert(MESHNODE_HEXID_LEN == KEYS_HEXID_LEN, "hex node ID length");
_Static_assert(MESHNODE_ENDPOINT_LEN == IPADDR_EPLEN, "endpoint text length");
_Static_assert(MESHNODE_MAX_NAME == WIRE_MAX_NAME, "node name limit");
_Static_assert(MESHNODE_MAX_GROUP == WIRE_MAX_GROUP, "group name limit");
_Static_assert(MESHNODE_MAX_GROUPS == WIRE_MAX_GROUPS, "groups per node");
_Static_assert(MESHNODE_MAX_PAYLOAD == WIRE_MAX_PAYLOAD, "payload limit");
_Static_assert(sizeof ((struct meshnode_peer *)0)->fingerprint == KEYS_FPR_LEN,
               "fingerprint text");
_Static_assert(KEYS_SAS_LEN == 32, "meshnode_sas() writes char out[32]");
/* events_on_mesh() passes the engine's event type through as the public one */
_Static_assert((int)MESHNODE_EV_ENTER == (int)MESH_EV_ENTER &&
               (int)MESHNODE_EV_EXIT == (int)MESH_EV_EXIT &&
               (int)MESHNODE_EV_EVASIVE == (int)MESH_EV_EVASIVE &&
               (int)MESHNODE_EV_JOIN == (int)MESH_EV_JOIN &&
               (int)MESHNODE_EV_LEAVE == (int)MESH_EV_LEAVE &&
               (int)MESHNODE_EV_SHOUT == (int)MESH_EV_SHOUT &&
               (int)MESHNODE_EV_WHISPER == (int)MESH_EV_WHISPER &&
               (int)MESHNODE_EV_DROPPED == (int)MESH_EV_DROPPED &&
               (int)MESH_EV_DELIVERED == (int)MESHNODE_EV_ERROR &&
               (int)MESH_EV_ALARM == (int)MESHNODE_EV_DELIVERED &&
               (int)MESH_EV_BACK == (int)MESHNODE_EV_ALARM &&
               (int)MESH_EV_COUNT == (int)MESHNODE_EV_BACK,
               "event types: the engine's are the node's up to DROPPED; ERROR is the node's "
               "own, so the engine's DELIVERED, ALARM and BACK are renumbered (events_on_mesh)");
_Static_assert((int)MESHNODE_ALARM_OWN_ID == (int)MESH_ALARM_OWN_ID &&
               (int)MESHNODE_ALARM_SHARED_ID == (int)MESH_ALARM_SHARED_ID,
               "alarm kinds: the engine's are the node's first ones");
_Static_assert(sizeof ((struct mesh_peer_view *)0)->hex == MESHNODE_HEXID_LEN,
               "events_on_mesh() copies the hex ID whole");
/* every public counter is copied from the engine's list, and there is nothing else in it */
#define COUNT_ONE(name) +1
_Static_assert(sizeof(struct meshnode_stats) ==
               (0 MESH_STATS_PUBLIC(COUNT_ONE) + 1) * sizeof(uint64_t),
               "struct meshnode_stats is MESH_STATS_PUBLIC and sessions_live");
#undef COUNT_ONE

/* ---------- small helpers ---------- */

static const char *level_name(int level)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	return level >= 0 && level <= 3 ? names[level] : "log";
}

/* Log lines may quote things that came from the network; no control byte gets through. */
static void sanitize(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < cap; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

static void node_log(void *arg, int level, const char *line)
{
	struct meshnode *n = arg;
	char clean[2048];
	if (level > n->cfg.log_level)
		return;
	sanitize(line, clean, sizeof clean);
	if (n->cfg.log_fn) {
		n->cfg.log_fn(n->cfg.log_arg, level, clean);
	} else {
		char ts[WALLCLOCK_ISO_LEN];
		wallclock_iso(ts, 3);
		fprintf(stderr, "%s meshnode[%s] %s: %s\n", ts, n->name, level_name(level), clean);
	}
}

void node_logmsg(struct meshnode *n, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	node_log(n, level, line);
}

void node_drain_fd(int fd)
{
	char buf[64];
	/* a pipe's read returns all it holds up to the buffer: a short read emptied it */
	while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
		;
}

/* ---------- commands (application -> loop thread) ---------- */

static void run_cmd(struct meshnode *n, struct cmd *c, uint64_t now)
{
	switch (c->kind) {
	case CMD_STOP:
		n->quit = true;
		c->rc = MESH_OK;
		break;
	case CMD_JOIN:
		c->rc = mesh_join(n->mesh, c->group, now);
		break;
	case CMD_LEAVE:
		c->rc = mesh_leave(n->mesh, c->group, now);
		break;
	case CMD_SHOUT:
		c->rc = mesh_shout_msg(n->mesh, c->om, now);
		break;
	case CMD_WHISPER:
		c->rc = mesh_whisper_msg(n->mesh, c->peer, c->om, now);
		break;
	case CMD_PEERS:
		queries_run_peers(n, c);
		break;
	case CMD_GROUPS:
		queries_run_groups(n, c);
		break;
	case CMD_SAS:
		c->rc = mesh_sas(n->mesh, c->peer, c->sas);
		break;
	case CMD_ADD_PEER:
		c->rc = mesh_add_peer(n->mesh, &c->addr.ip, c->addr.port,
		                      c->addr.pinned ? c->addr.pin : NULL, now);
		break;
	case CMD_RELINK:
#ifdef MESH_TEST_HOOKS
		c->rc = mesh_test_relink(n->mesh, c->peer, now);
#else
		c->rc = MESH_EINVAL;
#endif
		break;
	case CMD_STATS:
		queries_run_stats(n, c);
		break;
	case CMD_STATUS:
		queries_run_status(n, c, now);
		break;
	}
}

/* A send that nobody waits for failed in the loop: the application hears of it as DROPPED. */
static void report_async_failure(struct meshnode *n, const struct cmd *c)
{
	struct meshnode_event *ev = events_new();
	if (!ev)
		return;
	ev->type = MESHNODE_EV_DROPPED;
	ev->msg_id = c->om->msg_id;
	if (c->kind == CMD_SHOUT) {
		events_copy_str(ev->group, sizeof ev->group, c->om->group);
	} else {
		memcpy(ev->peer, c->peer, MESHNODE_IDLEN);
		keys_id_hex(c->peer, ev->peer_hex);
	}
	ev->reason = mesh_drop_reason(c->rc == MESH_ENOTFOUND ? MESH_DROP_PEER_GONE
	                              : c->rc == MESH_ENOMEM ? MESH_DROP_NO_MEMORY
	                              : MESH_DROP_NOT_SENT);
	events_push(n, ev);
}

void free_cmd(struct cmd *c)
{
	outmsg_unref(&c->om);
	free(c);
}

/* Appends c to the FIFO, waking the loop if it is not awake already. An async send waits
 * here while the FIFO is over its caps (the loop takes the whole FIFO at each turn, so that
 * wait is short). MESH_ESTATE once the node is not running. Called with lock held. */
enum mesh_err enqueue_cmd(struct meshnode *n, struct cmd *c)
{
	size_t bytes = c->om ? c->om->len : 0;
	bool waited = false;
	while (c->async && !n->loop_done && n->started &&
	       (n->cq_sends >= n->cq_max_sends ||
	        (n->cq_sends && n->cq_bytes + bytes > n->cq_max_bytes))) {
		if (!waited)
			n->cq_waits++;
		waited = true;
		if (n->driven) {
			/* nobody else would ever empty it: the owner runs a turn now, which also
			 * reads the ACKs that make room in the peers' queues */
			pthread_mutex_unlock(&n->lock);
			drive_turn(n, 0);
			pthread_mutex_lock(&n->lock);
			continue;
		}
		n->room_waiters++;
		pthread_cond_wait(&n->cond, &n->lock);
		n->room_waiters--;
	}
	if (!n->started || n->loop_done)
		return MESH_ESTATE;
	/* an application that reads none of its events gets no more sends: each would owe it
	 * an answer it does not read (flush_events keeps every answer) */
	if (c->om && n->ev_count >= n->ev_max)
		return MESH_ELIMIT;
	/* the ID is given here, after any wait and under the lock that orders the FIFO, so IDs
	 * reach the loop in increasing order whatever the threads do */
	if (c->om)
		c->om->msg_id = ++n->next_msg_id;
	c->next = NULL;
	if (n->cq_tail)
		n->cq_tail->next = c;
	else
		n->cq_head = c;
	n->cq_tail = c;
	if (c->async) {
		n->cq_sends++;
		n->cq_bytes += bytes;
	}
	/* Written under the lock, unlike the loop's wake-ups of the application: written after
	 * it, fan-out to 32 ran slower in eight runs of eight (medians 7 % apart;
	 * docs/performance.md, "Wake-ups after the lock is let go"). The likely reason: a loop
	 * woken on this core waits for the lock while this thread queues more sends, and then
	 * takes them in one turn. */
	if (!n->wake_pending && !n->driven) {
		n->wake_pending = true;
		(void)!write(n->wake[1], "c", 1);
	}
	return MESH_OK;
}

/* Hands c to the loop and waits until it has run. */
enum mesh_err node_call(struct meshnode *n, struct cmd *c)
{
	if (n->driven) {   /* the caller is the loop: it turns until c has run */
		if (!node_owner_ok(n))
			return MESH_ESTATE;
		pthread_mutex_lock(&n->lock);
		enum mesh_err rc = enqueue_cmd(n, c);
		pthread_mutex_unlock(&n->lock);
		while (rc == MESH_OK && !c->done && !n->loop_done)
			drive_turn(n, 0);
		return rc != MESH_OK ? rc : c->done ? c->rc : MESH_ESTATE;
	}
	pthread_mutex_lock(&n->lock);
	enum mesh_err rc = enqueue_cmd(n, c);
	if (rc == MESH_OK) {
		while (!c->done && !n->loop_done)
			pthread_cond_wait(&n->cond, &n->lock);
		rc = c->done ? c->rc : MESH_ESTATE;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* Runs every command in the FIFO, in order. */
void handle_wake(struct meshnode *n)
{
	if (!n->driven)
		node_drain_fd(n->wake[0]);
	pthread_mutex_lock(&n->lock);
	struct cmd *c = n->cq_head;
	bool room = n->room_waiters > 0;   /* the FIFO is emptied: they all have room */
	n->cq_head = n->cq_tail = NULL;
	n->cq_sends = n->cq_bytes = 0;
	n->wake_pending = false;
	pthread_mutex_unlock(&n->lock);
	if (room)
		pthread_cond_broadcast(&n->cond);
	uint64_t now = monoclock_ms();
	bool any_sync = false;
	for (struct cmd *next; c; c = next) {
		next = c->next;
		run_cmd(n, c, now);
		if (c->async) {
			if (c->rc != MESH_OK)
				report_async_failure(n, c);
			free_cmd(c);
			continue;
		}
		/* the message's references are counted on this thread only: drop ours here, not on
		 * the waiter's thread, while the mesh may hold another in a peer's queue */
		outmsg_unref(&c->om);
		/* a waiter frees c as soon as it sees done: set it under the lock, last */
		pthread_mutex_lock(&n->lock);
		c->done = true;
		pthread_mutex_unlock(&n->lock);
		any_sync = true;
	}
	if (any_sync)
		pthread_cond_broadcast(&n->cond);   /* done was set under the lock */
}

/* meshnode_start() and meshnode_start_driven(): with a loop thread, or driven by the
 * calling thread. */
static enum mesh_err start(struct meshnode *n, bool driven, char *err, size_t errcap)
{
	if (n->started || n->stopped) {
		snprintf(err, errcap, "node already started");
		return MESH_ESTATE;
	}
	n->zctx = zmq_ctx_new();
	if (!n->zctx) {
		snprintf(err, errcap, "zmq context: %s", zmq_strerror(errno));
		return MESH_EIO;
	}
	/* one DEALER per peer we initiated to: zmq's default cap of 1023 sockets would stop a
	 * node long before PEER_MAX */
	(void)zmq_ctx_set(n->zctx, ZMQ_MAX_SOCKETS, MESH_ZMQ_SOCKETS);
	struct mesh_config mc = {
		.id = n->id, .name = n->name, .iface = n->cfg.iface, .port = n->cfg.port,
		.iface_allow = (const char *const *)n->ifaces[0], .n_iface_allow = n->nifaces[0],
		.iface_deny = (const char *const *)n->ifaces[1], .n_iface_deny = n->nifaces[1],
		.mcast_group = n->cfg.mcast_group, .mcast_group6 = n->cfg.mcast_group6,
		.mcast_port = n->cfg.mcast_port,
		.mesh_key = n->mesh_key,
		.beacon_interval_ms = n->cfg.beacon_interval_ms, .heartbeat_ms = n->cfg.heartbeat_ms,
		.evasive_ms = n->cfg.evasive_ms, .expired_ms = n->cfg.expired_ms,
		.handshake_timeout_ms = n->cfg.handshake_timeout_ms,
		.fallback_ms = 3 * n->cfg.beacon_interval_ms,
		.queue_msgs = n->cfg.queue_msgs, .queue_bytes = n->cfg.queue_bytes,
		.ttl_ms = n->cfg.ttl_ms, .receipts = n->cfg.receipts, .manual_ack = true,
		.rekey_after_ms = n->cfg.rekey_ms,
		.can_take = events_can_take, .can_resume = events_can_resume,
		.zmq_ctx = n->zctx, .log_level = n->cfg.log_level, .log = node_log, .log_arg = n,
		.event = events_on_mesh, .event_arg = n, .may_link = known_may_link,
		/* the trace costs nothing unless someone reads it */
		.trace = n->trace_fn || n->cfg.log_level >= MESHNODE_LOG_DEBUG ? node_trace : NULL,
		.trace_arg = n,
		.keylog = n->keylog_fd >= 0 ? node_keylog : NULL, .keylog_arg = n,
	};
	uint64_t now = monoclock_ms();
	n->start_ms = now;
	n->mesh = mesh_new(&mc, now, err, errcap);
	if (!n->mesh) {
		zmq_ctx_term(n->zctx);
		n->zctx = NULL;
		return MESH_EIO;
	}
	/* the groups joined before the start, before any hello goes out */
	for (size_t i = 0; i < n->start_groups.n; i++) {
		enum mesh_err rc = mesh_join(n->mesh, n->start_groups.names[i], now);
		if (rc != MESH_OK) {
			snprintf(err, errcap, "cannot join '%s': %s", n->start_groups.names[i],
			         mesh_strerror(rc));
			mesh_destroy(&n->mesh);
			zmq_ctx_term(n->zctx);
			n->zctx = NULL;
			return rc;
		}
	}
	group_set_clear(&n->start_groups);
	/* and the fixed peers: dialled at the first sweep */
	for (size_t i = 0; i < n->nstart_peers; i++) {
		const struct node_peer_addr *a = &n->start_peers[i];
		(void)mesh_add_peer(n->mesh, &a->ip, a->port, a->pinned ? a->pin : NULL, now);
	}
	free(n->start_peers);
	n->start_peers = NULL;
	n->nstart_peers = 0;
	snprintf(n->endpoint, sizeof n->endpoint, "%s", mesh_endpoint(n->mesh));
	enum mesh_err krc = known_start(n, err, errcap);
	if (krc != MESH_OK) {
		mesh_destroy(&n->mesh);
		zmq_ctx_term(n->zctx);
		n->zctx = NULL;
		return krc;
	}
	n->driven = driven;
	n->owner = pthread_self();
	n->ls.ended = monoclock_ms();   /* a driven node's first turn may come late too */
	n->started = true;
	if (driven)
		return MESH_OK;   /* its first turn runs when its owner first drives it */
	if (pthread_create(&n->thread, NULL, loop_main, n) != 0) {
		snprintf(err, errcap, "cannot start the event loop thread");
		known_stop(n);
		n->started = false;
		mesh_destroy(&n->mesh);
		zmq_ctx_term(n->zctx);
		n->zctx = NULL;
		return MESH_EIO;
	}
	return MESH_OK;
}

enum mesh_err meshnode_start(struct meshnode *n, char *err, size_t errcap)
{
	return start(n, false, err, errcap);
}

enum mesh_err meshnode_start_driven(struct meshnode *n, char *err, size_t errcap)
{
	return start(n, true, err, errcap);
}

void meshnode_stop(struct meshnode *n)
{
	if (!n || !n->started || n->stopped)
		return;
	if (n->driven) {
		if (n->ls.in_turn)
			return;   /* from log_fn or the trace: the turn under it still runs */
		/* as the loop thread's last turn does: what the application took is noted for its
		 * ACKs, and what was queued before the stop runs, then BYE */
		if (!n->loop_done) {
			n->ls.in_turn = true;   /* what runs here may log and trace, as in a turn */
			events_ack_taken(n, monoclock_ms());
			handle_wake(n);
			n->quit = true;
			loop_finish(n, &n->ls);
			n->ls.in_turn = false;
		}
	} else {
		struct cmd c = { .kind = CMD_STOP };
		(void)node_call(n, &c);
		pthread_join(n->thread, NULL);
	}
	n->stopped = true;
	known_stop(n);
	if (n->zctx) {
		zmq_ctx_term(n->zctx);   /* waits at most the BYE linger */
		n->zctx = NULL;
	}
}

enum mesh_err meshnode_set_trace(struct meshnode *n, void (*fn)(void *arg, const char *line),
                                 void *arg)
{
	if (!n)
		return MESH_EINVAL;
	if (n->started || n->stopped)
		return MESH_ESTATE;
	n->trace_fn = fn;
	n->trace_arg = arg;
	return MESH_OK;
}

void meshnode_destroy(struct meshnode **np)
{
	struct meshnode *n = np ? *np : NULL;
	if (!n || (n->driven && n->ls.in_turn))   /* from log_fn or the trace: ignored */
		return;
	meshnode_stop(n);
	while (n->ev_head) {
		struct meshnode_event *ev = &n->ev_head->ev;
		n->ev_head = n->ev_head->next;
		meshnode_event_destroy(&ev);
	}
	events_present_clear(n);
	known_close(n);
	keys_identity_destroy(&n->id);
	if (n->mesh_key)
		sodium_free(n->mesh_key);
	for (int i = 0; i < 2; i++) {
		if (n->wake[i] >= 0)
			close(n->wake[i]);
		if (n->evpipe[i] >= 0)
			close(n->evpipe[i]);
	}
	group_set_clear(&n->start_groups);
	free(n->start_peers);
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; i < n->nifaces[d]; i++)
			free(n->ifaces[d][i]);
	free(n->iface);
	free(n->identity_path);
	free(n->mesh_key_path);
	free(n->mcast_group);
	free(n->mcast_group6);
	free(n->known_peers_path);
	free(n->allow_path);
	free(n->ut);
	free(n->spare);
	json_buf_free(&n->trace_buf);
	if (n->keylog_fd >= 0)
		close(n->keylog_fd);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
	*np = NULL;
}
