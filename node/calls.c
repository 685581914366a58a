/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * The node's API calls other than start, stop and the queries: the accessors, and the calls
 * that change something (join, leave, an interface, a fixed peer, shout, whisper, the SAS, the
 * test hooks). Each checks its arguments on the caller's thread, builds a command and hands
 * it to the loop through meshnode.c's FIFO (enqueue_cmd, node_call); before the start a group
 * is only recorded. Nothing here touches the engine from the caller's thread.
 */

#include "meshnode.h"
#ifdef MESH_TEST_HOOKS
#include "meshnode_testhooks.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "keys.h"
#include "mesh.h"
#include "node_impl.h"

/* ---------- accessors ---------- */

const uint8_t *meshnode_id(const struct meshnode *n) { return n->id->id; }
const char *meshnode_id_hex(const struct meshnode *n) { return n->id_hex; }
const char *meshnode_name(const struct meshnode *n) { return n->name; }
const char *meshnode_fingerprint(const struct meshnode *n) { return n->fingerprint; }
const char *meshnode_endpoint(const struct meshnode *n) { return n->endpoint; }
const char *meshnode_identity_path(const struct meshnode *n) { return n->identity_path; }
bool meshnode_identity_created(const struct meshnode *n) { return n->identity_created; }

/* Before the start there is no loop: the group is recorded, and meshnode_start() joins it. */
static enum mesh_err start_group(struct meshnode *n, const char *group, bool join)
{
	size_t len = strlen(group);
	if (!group_name_valid(group, len))
		return MESH_EINVAL;
	return join ? group_set_add(&n->start_groups, group, len)
	            : group_set_remove(&n->start_groups, group, len);
}

enum mesh_err meshnode_join(struct meshnode *n, const char *group)
{
	struct cmd c = { .kind = CMD_JOIN, .group = group };
	if (!group)
		return MESH_EINVAL;
	if (!n->started && !n->stopped)
		return start_group(n, group, true);
	return node_call(n, &c);
}

enum mesh_err meshnode_add_iface(struct meshnode *n, const char *iface, bool deny, char *err,
                                 size_t errcap)
{
	char scratch[8];
	if (!err || !errcap) {
		err = scratch;
		errcap = sizeof scratch;
	}
	err[0] = 0;
	if (!n || !iface || !iface[0]) {
		snprintf(err, errcap, "no node or no interface");
		return MESH_EINVAL;
	}
	if (n->started || n->stopped) {
		snprintf(err, errcap, "interfaces are chosen before the node starts");
		return MESH_ESTATE;
	}
	size_t *k = &n->nifaces[deny];
	if (*k == MESHNODE_MAX_IFACES) {
		snprintf(err, errcap, "%d interfaces %s already", MESHNODE_MAX_IFACES,
		         deny ? "denied" : "allowed");
		return MESH_ELIMIT;
	}
	char *copy = node_dupstr(iface);
	if (!copy) {
		snprintf(err, errcap, "out of memory");
		return MESH_ENOMEM;
	}
	n->ifaces[deny][(*k)++] = copy;
	return MESH_OK;
}

enum mesh_err meshnode_add_peer(struct meshnode *n, const char *addr, char *err, size_t errcap)
{
	char scratch[8];
	if (!err || !errcap) {
		err = scratch;
		errcap = sizeof scratch;
	}
	err[0] = 0;
	if (!n || !addr) {
		snprintf(err, errcap, "no node or no address");
		return MESH_EINVAL;
	}
	if (n->stopped) {
		snprintf(err, errcap, "node stopped");
		return MESH_ESTATE;
	}
	struct cmd c = { .kind = CMD_ADD_PEER };
	if (node_peer_addr_parse(addr, &c.addr, err, errcap) != 0)
		return MESH_EINVAL;
	if (n->started) {
		enum mesh_err rc = node_call(n, &c);
		if (rc == MESH_ELIMIT)
			snprintf(err, errcap, "%d fixed peers already", MESHNODE_MAX_FIXED_PEERS);
		else if (rc != MESH_OK)
			snprintf(err, errcap, "%s", mesh_strerror(rc));
		return rc;
	}
	/* before the start: kept for it (the same address once, a later pin replacing) */
	for (size_t i = 0; i < n->nstart_peers; i++) {
		struct node_peer_addr *a = &n->start_peers[i];
		if (ipaddr_eq(&a->ip, &c.addr.ip) && a->port == c.addr.port) {
			if (c.addr.pinned)
				*a = c.addr;
			return MESH_OK;
		}
	}
	if (n->nstart_peers == MESHNODE_MAX_FIXED_PEERS) {
		snprintf(err, errcap, "%d fixed peers already", MESHNODE_MAX_FIXED_PEERS);
		return MESH_ELIMIT;
	}
	struct node_peer_addr *np = realloc(n->start_peers,
	                                    (n->nstart_peers + 1) * sizeof *np);
	if (!np) {
		snprintf(err, errcap, "out of memory");
		return MESH_ENOMEM;
	}
	n->start_peers = np;
	n->start_peers[n->nstart_peers++] = c.addr;
	return MESH_OK;
}

enum mesh_err meshnode_leave(struct meshnode *n, const char *group)
{
	struct cmd c = { .kind = CMD_LEAVE, .group = group };
	if (!group)
		return MESH_EINVAL;
	if (!n->started && !n->stopped)
		return start_group(n, group, false);
	return node_call(n, &c);
}

/* Builds the message on the caller's thread (the one copy of the payload) and queues it. A
 * whisper to a present peer, and every shout, returns without waiting for the loop. */
static enum mesh_err send_cmd(struct meshnode *n, enum cmd_kind kind, const char *group,
                              const uint8_t *peer, const void *data, size_t len,
                              uint32_t ttl_ms, uint64_t *msg_id)
{
	if (len > MESHNODE_MAX_PAYLOAD)
		return MESH_ELIMIT;
	if (ttl_ms > MESH_TTL_MAX_MS)
		return MESH_EINVAL;
	if (len && !data)
		return MESH_EINVAL;
	if (group && !group_name_valid(group, strlen(group)))
		return MESH_EINVAL;
	if (!node_owner_ok(n))
		return MESH_ESTATE;
	struct cmd *c = calloc(1, sizeof *c);
	if (!c)
		return MESH_ENOMEM;
	c->kind = kind;
	if (peer)
		memcpy(c->peer, peer, MESHNODE_IDLEN);
	c->om = outmsg_new(kind == CMD_SHOUT ? OUTMSG_SHOUT : OUTMSG_WHISPER, 0, group, data, len);
	if (!c->om) {
		free(c);
		return MESH_ENOMEM;
	}
	c->om->ttl_ms = ttl_ms;
	pthread_mutex_lock(&n->lock);
	c->async = kind == CMD_SHOUT || events_present_has(n, c->peer);
	enum mesh_err rc = enqueue_cmd(n, c);
	uint64_t id = c->om->msg_id;   /* still ours: the loop needs the lock to take c */
	if (rc == MESH_OK && c->async) {
		pthread_mutex_unlock(&n->lock);   /* the loop owns c now */
	} else if (n->driven) {   /* the caller is the loop: it turns until c has run */
		pthread_mutex_unlock(&n->lock);
		while (rc == MESH_OK && !c->done && !n->loop_done)
			drive_turn(n, 0);
		if (rc == MESH_OK)
			rc = c->done ? c->rc : MESH_ESTATE;
		free_cmd(c);
	} else {
		while (rc == MESH_OK && !c->done && !n->loop_done)
			pthread_cond_wait(&n->cond, &n->lock);
		if (rc == MESH_OK)
			rc = c->done ? c->rc : MESH_ESTATE;
		pthread_mutex_unlock(&n->lock);
		free_cmd(c);
	}
	if (rc == MESH_OK && msg_id)
		*msg_id = id;
	return rc;
}

enum mesh_err meshnode_shout(struct meshnode *n, const char *group, const void *data,
                             size_t len, uint64_t *msg_id)
{
	if (!group)
		return MESH_EINVAL;
	return send_cmd(n, CMD_SHOUT, group, NULL, data, len, 0, msg_id);
}

enum mesh_err meshnode_shout_ttl(struct meshnode *n, const char *group, const void *data,
                                 size_t len, uint32_t ttl_ms, uint64_t *msg_id)
{
	if (!group)
		return MESH_EINVAL;
	return send_cmd(n, CMD_SHOUT, group, NULL, data, len, ttl_ms, msg_id);
}

enum mesh_err meshnode_whisper(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                               const void *data, size_t len, uint64_t *msg_id)
{
	if (!peer)
		return MESH_EINVAL;
	return send_cmd(n, CMD_WHISPER, NULL, peer, data, len, 0, msg_id);
}

enum mesh_err meshnode_whisper_ttl(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                                   const void *data, size_t len, uint32_t ttl_ms,
                                   uint64_t *msg_id)
{
	if (!peer)
		return MESH_EINVAL;
	return send_cmd(n, CMD_WHISPER, NULL, peer, data, len, ttl_ms, msg_id);
}

enum mesh_err meshnode_sas(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN], char out[32])
{
	struct cmd c = { .kind = CMD_SAS };
	if (!peer)
		return MESH_EINVAL;
	memcpy(c.peer, peer, MESHNODE_IDLEN);
	enum mesh_err rc = node_call(n, &c);
	if (rc == MESH_OK)
		memcpy(out, c.sas, KEYS_SAS_LEN);
	return rc;
}

#ifdef MESH_TEST_HOOKS
enum mesh_err meshnode_test_relink(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN])
{
	struct cmd c = { .kind = CMD_RELINK };
	if (!peer)
		return MESH_EINVAL;
	memcpy(c.peer, peer, MESHNODE_IDLEN);
	return node_call(n, &c);
}

void meshnode_test_event_caps(struct meshnode *n, size_t events, size_t bytes)
{
	n->ev_max = events;
	n->ev_max_bytes = bytes;
}

void meshnode_test_send_caps(struct meshnode *n, size_t sends, size_t bytes)
{
	n->cq_max_sends = sends;
	n->cq_max_bytes = bytes;
}

uint64_t meshnode_test_send_waits(struct meshnode *n)
{
	pthread_mutex_lock(&n->lock);
	uint64_t w = n->cq_waits;
	pthread_mutex_unlock(&n->lock);
	return w;
}

void meshnode_test_known_save(struct meshnode *n, uint32_t every_ms, void (*before_write)(void *),
                              void *arg)
{
	n->test_save_ms = every_ms;
	n->test_save_hook = before_write;
	n->test_save_arg = arg;
}
#endif
