/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* peer: a chained hash table keyed by node ID (hashed with a secret random key, so that
 * nobody can choose IDs that share a bucket), and the per-peer FIFO send queue. */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"

/* SipHash of the ID under the table's own random key: anyone can make IDs (a key pair is
 * cheap) and grind them to share a prefix, but not to share a bucket they cannot see. */
static size_t bucket_of(const struct peer_table *t, const uint8_t id[WIRE_IDLEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, id, WIRE_IDLEN, t->key);
	uint64_t v = 0;
	for (size_t i = 0; i < sizeof h; i++)
		v = v << 8 | h[i];
	return (size_t)(v % t->nbuckets);
}

enum mesh_err peer_table_init(struct peer_table *t, size_t nbuckets)
{
	t->buckets = calloc(nbuckets, sizeof *t->buckets);
	if (!t->buckets)
		return MESH_ENOMEM;
	crypto_shorthash_keygen(t->key);
	t->nbuckets = nbuckets;
	t->n = 0;
	return MESH_OK;
}

static void peer_free(struct peer *p)
{
	while (p->qhead)
		peer_dequeue(p);
	group_set_clear(&p->groups);
	free(p->pex.sig);
	free(p->pex_other.sig);
	free(p);
}

void peer_table_free(struct peer_table *t)
{
	if (!t->buckets)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct peer *p = t->buckets[i];
		while (p) {
			struct peer *next = p->hnext;
			peer_free(p);
			p = next;
		}
	}
	sodium_memzero(t->key, sizeof t->key);
	free(t->buckets);
	t->buckets = NULL;
	t->n = 0;
}

struct peer *peer_table_get(const struct peer_table *t, const uint8_t id[WIRE_IDLEN])
{
	for (struct peer *p = t->buckets[bucket_of(t, id)]; p; p = p->hnext)
		if (memcmp(p->id, id, WIRE_IDLEN) == 0)
			return p;
	return NULL;
}

struct peer *peer_table_get_or_add(struct peer_table *t, const uint8_t id[WIRE_IDLEN])
{
	struct peer *p = peer_table_get(t, id);
	if (p)
		return p;
	if (t->n >= PEER_MAX)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->id, id, WIRE_IDLEN);
	keys_id_hex(id, p->hex);
	/* until its handshake tells us its name */
	snprintf(p->name, sizeof p->name, "node-%.8s", p->hex);
	size_t b = bucket_of(t, id);
	p->hnext = t->buckets[b];
	t->buckets[b] = p;
	t->n++;
	return p;
}

void peer_table_del(struct peer_table *t, struct peer *p)
{
	for (struct peer **pp = &t->buckets[bucket_of(t, p->id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			t->n--;
			peer_free(p);
			return;
		}
	}
}

void peer_table_each(const struct peer_table *t, void (*fn)(struct peer *, void *), void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct peer *p = t->buckets[i]; p; p = p->hnext)
			fn(p, arg);
}

enum mesh_err peer_enqueue(struct peer *p, struct outmsg *m, bool if_member, uint64_t now_ms,
                           size_t max_msgs, size_t max_bytes)
{
	if (p->qmsgs + 1 > max_msgs || p->qbytes + m->len > max_bytes)
		return MESH_ELIMIT;
	struct peer_qent *e = calloc(1, sizeof *e);
	if (!e)
		return MESH_ENOMEM;
	e->m = outmsg_ref(m);
	e->enqueued_ms = now_ms;
	e->deadline_ms = UINT64_MAX;   /* the caller sets an application message's */
	e->if_member = if_member;
	e->prev = p->qtail;
	if (p->qtail)
		p->qtail->next = e;
	else
		p->qhead = e;
	p->qtail = e;
	if (!p->qsend)
		p->qsend = e;
	p->qmsgs++;
	p->qbytes += m->len;
	return MESH_OK;
}

void peer_unlink(struct peer *p, struct peer_qent *e)
{
	if (p->qsend == e) {
		p->qsend = e->next;
		if (p->qsend)
			p->qsend->next_frag = 0;
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		p->qhead = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->qtail = e->prev;
	p->qmsgs--;
	p->qbytes -= e->m->len;
	p->qinflight -= e->inflight;
	outmsg_unref(&e->m);
	free(e);
}

void peer_qsend_next(struct peer *p)
{
	struct peer_qent *e = p->qsend;
	if (!e)
		return;
	e->inflight = true;
	p->qinflight++;
	p->qsend = e->next;
	if (p->qsend)
		p->qsend->next_frag = 0;
}

void peer_qsend_back(struct peer *p, struct peer_qent *e)
{
	if (!e)
		e = p->qhead;
	for (struct peer_qent *x = e; x && x != p->qsend; x = x->next) {
		p->qinflight -= x->inflight;
		x->inflight = false;
	}
	p->qsend = e;
	if (e)
		e->next_frag = 0;
}

void peer_dequeue(struct peer *p)
{
	if (p->qhead)
		peer_unlink(p, p->qhead);
}
