/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mesh_test: the engine's test-only entry points (mesh.h, under MESH_TEST_HOOKS), built only
 * into mn_mesh_testhooks, which only tests and tools link; in mn_mesh this file compiles to
 * nothing. They reach inside a running engine (raw plaintext on a live session, a relink,
 * the rekey interval, table counts) and, like everything else in it, belong to the mesh's thread.
 */
#include <string.h>

#include "mesh_impl.h"

#ifdef MESH_TEST_HOOKS
enum mesh_err mesh_test_send_raw(struct mesh *m, const uint8_t peer[WIRE_IDLEN],
                                 const uint8_t *pt, size_t len, uint64_t now_ms)
{
	struct peer *p = peer_table_get(&m->peers, peer);
	struct session *s = p && p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	size_t flen;
	if (!s || s->state != SESSION_LIVE)
		return MESH_ENOTFOUND;
	enum mesh_err rc = session_seal(s, pt, len, m->fbuf, sizeof m->fbuf, &flen);
	if (rc != MESH_OK)
		return rc;
	s->last_tx_ms = now_ms;
	return send_frame(m, s, m->fbuf, flen);
}

enum mesh_err mesh_test_relink(struct mesh *m, const uint8_t peer[WIRE_IDLEN], uint64_t now_ms)
{
	struct peer *p = peer_table_get(&m->peers, peer);
	struct session *s = p && p->live_sid ? session_table_get(&m->sessions, p->live_sid) : NULL;
	if (!s || s->state != SESSION_LIVE)
		return MESH_ENOTFOUND;
	if (p->pending_sid)
		return MESH_ESTATE;
	(void)send_simple(m, s, WIRE_BYE, 0, now_ms);
	mesh_close_session(m, s, "relink", now_ms);
	handshake_initiate(m, p, now_ms);
	return p->pending_sid ? MESH_OK : MESH_ELIMIT;
}

void mesh_test_set_rekey(struct mesh *m, uint32_t rekey_after_ms)
{
	m->cfg.rekey_after_ms = rekey_after_ms ? rekey_after_ms : MESH_REKEY_AFTER_MS;
	m->reject_after_ms = mesh_reject_after(m->cfg.rekey_after_ms);
}

void mesh_test_set_reasm_budget(struct mesh *m, size_t bytes)
{
	m->rpool.budget = bytes < WIRE_MAX_PAYLOAD ? WIRE_MAX_PAYLOAD : bytes;
}

void mesh_test_sessions(const struct mesh *m, size_t *all, size_t *dealers)
{
	*all = m->sessions.n;
	*dealers = m->lops->dialled(m->link);
}

size_t mesh_test_peer_entries(const struct mesh *m)
{
	return m->peers.n;
}

void mesh_test_unlimit_checks(struct mesh *m)
{
	m->test_unlimited_checks = true;
}

void mesh_test_linked_before(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t now_ms)
{
	struct peer *p = peer_table_get_or_add(&m->peers, id);
	if (p)
		p->last_live_ms = now_ms ? now_ms : 1;
}

struct dials_to {
	const struct mesh *m;
	const struct ipaddr *ip;
	size_t n;
};

static void count_dial(struct session *s, void *arg)
{
	struct dials_to *d = arg;
	if (s->role == NOISE_INITIATOR && s->state != SESSION_LIVE && s->dial_class != DIAL_RECENT &&
	    !mesh_own_ip(d->m, &s->dial_ip) && (!d->ip || ipaddr_eq(&s->dial_ip, d->ip)))
		d->n++;
}

void mesh_test_dials_to(const struct mesh *m, const struct ipaddr *ip, size_t *counted,
                        size_t *in_progress)
{
	struct dials_to d = { m, ip, 0 };
	session_table_each(&m->sessions, count_dial, &d);
	*in_progress = d.n;
	*counted = ip ? dialaddr_count(&m->dial_addrs, ip) : dialaddr_total(&m->dial_addrs);
}

bool mesh_test_hold(struct mesh *m, bool listener, bool dialled)
{
	return m->lops->hold && m->lops->hold(m->link, listener, dialled);
}
#endif
