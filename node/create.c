/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * create: a node's configuration checked and its state made (meshnode_create, meshnode_new):
 * the identity and the mesh key loaded or created, the known peers opened, the pipes and the
 * lock set up. Opens no socket and starts no thread; meshnode.c does that at the start.
 */
#include "meshnode.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "keys.h"
#include "known.h"
#include "node_impl.h"
#include "wire.h"

char *node_dupstr(const char *s)
{
	if (!s)
		return NULL;
	size_t l = strlen(s) + 1;
	char *d = malloc(l);
	if (d)
		memcpy(d, s, l);
	return d;
}

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}
/* ---------- config and lifecycle ---------- */

void meshnode_config_init(struct meshnode_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->log_level = MESHNODE_LOG_INFO;
}

const char *meshnode_strerror(enum mesh_err e)
{
	return mesh_strerror(e);
}

static bool name_valid(const char *s)
{
	size_t l = strlen(s);
	return l >= 1 && l <= MESHNODE_MAX_NAME && wire_name_valid(s, l);
}

enum mesh_err meshnode_create(const struct meshnode_config *cfg, struct meshnode **out,
                              char *err, size_t errcap)
{
	char path[4096];
	char kerr[512];
	struct meshnode *n;
	enum mesh_err rc = MESH_EINVAL;
	if (!out)
		return MESH_EINVAL;
	*out = NULL;
	if (!cfg || (!err && errcap)) {
		if (err && errcap)
			snprintf(err, errcap, "no configuration");
		return MESH_EINVAL;
	}
	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium failed to initialise");
		return MESH_EIO;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errcap, "out of memory");
		return MESH_ENOMEM;
	}
	n->cfg = *cfg;
	n->wake[0] = n->wake[1] = n->evpipe[0] = n->evpipe[1] = -1;
	n->keylog_fd = -1;
	n->ev_max = EVENT_QUEUE_MAX;
	n->ev_max_bytes = EVENT_QUEUE_MAX_BYTES;
	n->cq_max_sends = SEND_QUEUE_MAX;
	n->cq_max_bytes = SEND_QUEUE_MAX_BYTES;
	pthread_mutex_init(&n->lock, NULL);
	/* timed waits on the monotonic clock: a wall-clock step must not stretch a timeout */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	n->iface = node_dupstr(cfg->iface);
	n->mesh_key_path = node_dupstr(cfg->mesh_key_path);
	n->mcast_group = node_dupstr(cfg->mcast_group);
	n->mcast_group6 = node_dupstr(cfg->mcast_group6);
	n->known_peers_path = node_dupstr(cfg->known_peers_path);
	n->allow_path = node_dupstr(cfg->allow_path);
	/* a copy that failed would silently mean the default interface, group or an open mesh */
	if ((cfg->iface && !n->iface) || (cfg->mesh_key_path && !n->mesh_key_path) ||
	    (cfg->mcast_group && !n->mcast_group) || (cfg->mcast_group6 && !n->mcast_group6) ||
	    (cfg->known_peers_path && !n->known_peers_path) || (cfg->allow_path && !n->allow_path)) {
		snprintf(err, errcap, "out of memory");
		rc = MESH_ENOMEM;
		goto fail;
	}
	n->cfg.iface = n->iface;
	n->cfg.mesh_key_path = n->mesh_key_path;
	n->cfg.mcast_group = n->mcast_group;
	n->cfg.mcast_group6 = n->mcast_group6;
	n->cfg.known_peers_path = n->known_peers_path;
	n->cfg.allow_path = n->allow_path;
	n->cfg.name = NULL;
	n->cfg.identity_path = NULL;
	if (!n->cfg.beacon_interval_ms) n->cfg.beacon_interval_ms = 1000;
	if (!n->cfg.heartbeat_ms) n->cfg.heartbeat_ms = 1000;
	if (!n->cfg.evasive_ms) n->cfg.evasive_ms = 3000;
	if (!n->cfg.expired_ms) n->cfg.expired_ms = 10000;
	if (!n->cfg.queue_msgs) n->cfg.queue_msgs = 1024;
	if (!n->cfg.queue_bytes) n->cfg.queue_bytes = 16u << 20;
	if (!n->cfg.ttl_ms) n->cfg.ttl_ms = n->cfg.queue_timeout_ms ? n->cfg.queue_timeout_ms
	                                                             : TTL_DEFAULT_MS;
	if (n->cfg.ttl_ms > MESH_TTL_MAX_MS) {
		snprintf(err, errcap, "ttl must be at most %u ms (got %u)", MESH_TTL_MAX_MS,
		         n->cfg.ttl_ms);
		goto fail;
	}
	if (n->cfg.rekey_ms && n->cfg.rekey_ms < MESHNODE_REKEY_MIN_MS) {
		snprintf(err, errcap, "rekey_ms must be 0 or at least %u ms (got %u)",
		         MESHNODE_REKEY_MIN_MS, n->cfg.rekey_ms);
		goto fail;
	}
	if (n->cfg.evasive_ms >= n->cfg.expired_ms || n->cfg.heartbeat_ms >= n->cfg.evasive_ms) {
		snprintf(err, errcap, "timers must satisfy heartbeat < evasive < expired "
		         "(got %u, %u, %u ms)", n->cfg.heartbeat_ms, n->cfg.evasive_ms,
		         n->cfg.expired_ms);
		goto fail;
	}
	if (cfg->name && !name_valid(cfg->name)) {
		snprintf(err, errcap, "name must be 1 to %d bytes of UTF-8 without control characters",
		         MESHNODE_MAX_NAME);
		goto fail;
	}
	if (cfg->identity_path) {
		if (strlen(cfg->identity_path) >= sizeof path) {
			/* cut short, it would name another file */
			snprintf(err, errcap, "identity: the file name is longer than %zu bytes",
			         sizeof path - 1);
			goto fail;
		}
		snprintf(path, sizeof path, "%s", cfg->identity_path);
	} else if (keyfile_default_identity_path(path, sizeof path) != 0) {
		snprintf(err, errcap, "identity: neither XDG_CONFIG_HOME nor HOME is set; "
		         "give an identity file with --identity");
		rc = MESH_EKEYFILE;
		goto fail;
	}
	n->identity_path = node_dupstr(path);
	if (!n->identity_path) {
		snprintf(err, errcap, "out of memory");
		rc = MESH_ENOMEM;
		goto fail;
	}
	n->id = keyfile_load_or_create_identity(path, &n->identity_created, kerr, sizeof kerr);
	if (!n->id) {
		snprintf(err, errcap, "identity: %s", kerr);
		rc = MESH_EKEYFILE;
		goto fail;
	}
	if (cfg->mesh_key_path) {
		n->mesh_key = sodium_malloc(KEYFILE_MESHKEY_LEN);
		if (!n->mesh_key) {
			snprintf(err, errcap, "out of memory");
			rc = MESH_ENOMEM;
			goto fail;
		}
		if (keyfile_load_mesh_key(cfg->mesh_key_path, n->mesh_key, kerr, sizeof kerr) != 0) {
			snprintf(err, errcap, "mesh key: %s", kerr);
			rc = MESH_EKEYFILE;
			goto fail;
		}
	}
	rc = known_open(n, cfg->identity_path ? path : NULL, err, errcap);
	if (rc != MESH_OK)
		goto fail;
	rc = MESH_EINVAL;
	keys_id_hex(n->id->id, n->id_hex);
	keys_fingerprint(n->id->id, n->fingerprint);
	if (cfg->name)
		snprintf(n->name, sizeof n->name, "%s", cfg->name);
	else
		snprintf(n->name, sizeof n->name, "node-%.8s", n->id_hex);
	if (pipe(n->wake) != 0 || pipe(n->evpipe) != 0 || set_nonblock_cloexec(n->wake[0]) ||
	    set_nonblock_cloexec(n->wake[1]) || set_nonblock_cloexec(n->evpipe[0]) ||
	    set_nonblock_cloexec(n->evpipe[1])) {
		snprintf(err, errcap, "pipe: %s", strerror(errno));
		rc = MESH_EIO;
		goto fail;
	}
	*out = n;
	return MESH_OK;
fail:
	meshnode_destroy(&n);
	return rc;
}

struct meshnode *meshnode_new(const struct meshnode_config *cfg, char *err, size_t errcap)
{
	struct meshnode *n;
	(void)meshnode_create(cfg, &n, err, errcap);
	return n;
}
