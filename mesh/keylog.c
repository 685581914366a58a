/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keylog: hands the keys of each session, and the beacon key, to mesh_config.keylog, so that a
 * user who asked for a key log can read captures of this node's traffic (docs/usage.md, "Key
 * log"). Without a keylog function nothing here copies a key. The copies live on the stack for
 * the call only and are wiped on every path; no key reaches a log line, an error or a trace.
 */
#include <sodium.h>

#include "mesh_impl.h"

void mesh_keylog_session(struct mesh *m, const struct session *s, const struct noise_transport *t)
{
	uint8_t send[NOISE_KEYLEN], recv[NOISE_KEYLEN];
	if (!m->cfg.keylog || !t)
		return;
	if (noise_transport_keys(t, send, recv) == 0) {
		/* frames to our sid are those we open; frames to the peer's, those we seal */
		struct mesh_keylog k = { .local_sid = s->sid, .remote_sid = s->remote_sid,
		                         .to_local = recv, .to_remote = send };
		m->cfg.keylog(m->cfg.keylog_arg, &k);
	}
	sodium_memzero(send, sizeof send);
	sodium_memzero(recv, sizeof recv);
}

void mesh_keylog_beacon(const struct mesh_config *cfg, const uint8_t key[MESH_KEYLEN])
{
	if (!cfg->keylog)
		return;
	struct mesh_keylog k = { .beacon_key = key };
	cfg->keylog(cfg->keylog_arg, &k);
}
