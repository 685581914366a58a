/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_fixed: mesh/fixed.c (protocol section 4, "Fixed peers") at the engine's level, with
 * engines on loopback inside a private network namespace (run only through
 * tests/integration/netns-run), each on its own multicast port so that none hears another's
 * beacons: only the fixed peers link them. Driven as test_engine drives its engines.
 *
 * Cases:
 * - a pin given while an unpinned dial to the address is under way: the node that answers
 *   there is not the pinned one and must not be linked (nor become the pin);
 * - two nodes that name each other: one session, no EXIT, and every count of handshakes in
 *   progress back to zero (hs_out, hs_out_class, hs_in, each fixed entry's sid);
 * - our own endpoint as a fixed peer: never linked, the counts back to zero, backed off;
 * - a pinned ID the user's list refuses: never dialled; an unpinned address whose node it
 *   refuses: dialled, refused after message 2, no FINISH (the node there never learns us);
 * - the node at the address restarts with a new identity: linked again, under the new ID;
 * - peer exchange (mesh/pex.c): two segments of two nodes, one fixed peer between them, reach
 *   full mesh through PEERS alone, and without it do not; a peer's bad PEERS entries (garbage,
 *   a forged signature, an address no node can have) are dropped and counted, its session
 *   kept, and good ones of nodes nobody hears are taken and dialled, each whole; entries of
 *   unknown IDs never take a check from the half of the budget kept for IDs heard again;
 *   four nodes on one segment pass nothing on, nor does a node to (or about) a peer on its
 *   segment that linked before its beacon was read; a peer that comes back where it is not
 *   heard counts as heard nowhere, and gets what is passed; a beacon taken from PEERS before
 *   its node linked is passed on once that session's wait ends.
 */
#include "mesh.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "beaconmaker.h"
#include "keys.h"
#include "mesh_impl.h"
#include "peer.h"

#define MCAST_GROUP "239.192.7.81"
#define MCAST_BASE 48740
#define MAXN 4

static void *zctx;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct node {
	struct keys_identity *id;
	struct mesh *m;
	struct mesh_config cfg;
	uint64_t next_tick;
	unsigned enters, exits;
	uint8_t last_enter[WIRE_IDLEN];
	unsigned long log_lines;
	const uint8_t *refuse;
	bool no_pex;                  /* as a node that predates peer exchange */
	bool deaf;                    /* reads no beacons (as behind a spent check budget) */
	uint32_t beacon_ms;           /* its beacon interval; 0: 100 ms */
};

static void on_event(void *arg, const struct mesh_event *e)
{
	struct node *n = arg;
	if (e->type == MESH_EV_ENTER) {
		n->enters++;
		memcpy(n->last_enter, e->peer->id, WIRE_IDLEN);
	} else if (e->type == MESH_EV_EXIT)
		n->exits++;
	free(e->data);
}

static void on_log(void *arg, int level, const char *line)
{
	(void)level;
	(void)line;
	((struct node *)arg)->log_lines++;
}

static bool may_link(void *arg, const uint8_t id[WIRE_IDLEN])
{
	struct node *n = arg;
	return !n->refuse || memcmp(id, n->refuse, WIRE_IDLEN) != 0;
}

/* The engine of n, or false with the reason in err. */
static bool node_open(struct node *n, const char *label, uint16_t mcast_port, uint16_t port,
                      char *err, size_t errcap)
{
	if (!n->id)
		n->id = keys_identity_generate();
	n->cfg = (struct mesh_config){
		.id = n->id, .name = label, .iface = "lo", .port = port, .mcast_group = MCAST_GROUP,
		.mcast_port = mcast_port, .beacon_interval_ms = n->beacon_ms ? n->beacon_ms : 100,
		.heartbeat_ms = 100,
		.evasive_ms = 500, .expired_ms = 1500, .handshake_timeout_ms = 1000,
		.fallback_ms = 300, .queue_msgs = 64, .queue_bytes = 1u << 20, .ttl_ms = 3000,
		.zmq_ctx = zctx, .log_level = 3, .log = on_log, .log_arg = n, .event = on_event,
		.event_arg = n, .may_link = may_link, .test_no_pex = n->no_pex,
	};
	n->next_tick = 0;
	n->m = mesh_new(&n->cfg, now_ms(), err, errcap);
	return n->m != NULL;
}

static bool node_start(struct node *n, const char *label, uint16_t mcast_port, uint16_t port)
{
	char err[256] = "";
	bool ok = node_open(n, label, mcast_port, port, err, sizeof err);
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "mesh_new(%s): %s\n", label, err);
	return ok;
}

static void node_free(struct node *n)
{
	mesh_destroy(&n->m);
	keys_identity_destroy(&n->id);
	memset(n, 0, sizeof *n);
}

static uint16_t node_port(const struct node *n)
{
	const char *ep = mesh_endpoint(n->m), *colon = strrchr(ep, ':');
	return (uint16_t)atoi(colon + 1);
}

static const struct ipaddr *const LOOPBACK = &IPADDR_V4(127, 0, 0, 1);

static zmq_pollitem_t items[256];

static void drive_round(struct node **ns, size_t n)
{
	size_t off[MAXN], cnt[MAXN], total = 0;
	for (size_t i = 0; i < n; i++) {
		off[i] = total;
		cnt[i] = 0;
		if (!ns[i]->m)
			continue;
		cnt[i] = mesh_pollitems(ns[i]->m, items + total, sizeof items / sizeof *items - total);
		total += cnt[i];
	}
	if (total)
		(void)zmq_poll(items, (int)total, 5);
	uint64_t t = now_ms();
	for (size_t i = 0; i < n; i++) {
		if (!cnt[i])
			continue;
		for (size_t j = 0; ns[i]->deaf && j < cnt[i]; j++)
			for (size_t k = 0; k < discovery_count(ns[i]->m->disc); k++)
				if (!items[off[i] + j].socket &&
				    items[off[i] + j].fd == discovery_fd(ns[i]->m->disc, k))
					items[off[i] + j].revents = 0;
		mesh_on_ready(ns[i]->m, items + off[i], cnt[i], t);
	}
	for (size_t i = 0; i < n; i++)
		if (ns[i]->m && (t >= ns[i]->next_tick || t >= mesh_next_due(ns[i]->m)))
			ns[i]->next_tick = mesh_on_tick(ns[i]->m, t);
}

typedef bool (*pred_fn)(void *arg);

static bool drive_until(struct node **ns, size_t n, uint64_t timeout_ms, pred_fn pred, void *arg)
{
	uint64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (pred && pred(arg))
			return true;
		if (now_ms() >= deadline)
			return false;
		drive_round(ns, n);
	}
}

static uint64_t live_count(const struct node *n)
{
	struct mesh_stats st;
	uint64_t live = 0;
	mesh_get_stats(n->m, &st, &live);
	return live;
}

static struct mesh_stats stats(const struct node *n)
{
	struct mesh_stats st;
	uint64_t live;
	mesh_get_stats(n->m, &st, &live);
	return st;
}

/* No handshake in progress anywhere in n: every count of them is zero. */
static bool idle(const struct node *n)
{
	const struct mesh *m = n->m;
	size_t cls = 0;
	for (int c = 0; c < DIAL_CLASSES; c++)
		cls += m->hs_out_class[c];
	bool sids = false;
	for (size_t i = 0; i < m->nfixed; i++)
		sids = sids || m->fixed[i].sid != 0;
	return m->hs_out == 0 && m->hs_in == 0 && cls == 0 && !sids;
}

struct pair {
	struct node *a, *b;
};

static bool both_linked(void *arg)
{
	struct pair *p = arg;
	return live_count(p->a) == 1 && live_count(p->b) == 1 && p->a->enters >= 1 &&
	       p->b->enters >= 1;
}

static bool both_idle(void *arg)
{
	struct pair *p = arg;
	return idle(p->a) && idle(p->b);
}

/* ------------------------------------------------------------------ cases */

/*
 * The user names an address, then pins it (meshnode_add_peer twice, or --peer given and then
 * the API) while the unpinned dial is under way. The pin must hold for that dial's answer too:
 * the node at the address is not the pinned one, so it is not linked, and the entry keeps the
 * pin. Found by review: fixed_on_reply() took whatever ID the unpinned dial proved, linked it
 * and wrote it over the pin, which every later dial then expected.
 */
static void test_pin_while_dialling(void)
{
	struct node nodes[2] = { 0 };
	struct node *A = &nodes[0], *B = &nodes[1];
	struct node *ns[2] = { A, B };
	struct keys_identity *other = keys_identity_generate();
	if (!node_start(A, "a", MCAST_BASE, 0) || !node_start(B, "b", MCAST_BASE + 1, 0) || !other)
		goto done;
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(B), NULL, now_ms()) == MESH_OK);
	/* the first sweep dials it */
	A->next_tick = mesh_on_tick(A->m, now_ms());
	CHECK(A->m->nfixed == 1 && A->m->fixed[0].sid != 0);
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(B), other->id, now_ms()) == MESH_OK);
	(void)drive_until(ns, 2, 3000, NULL, NULL);
	CHECK(A->enters == 0);
	CHECK(live_count(A) == 0);
	CHECK(A->m->fixed[0].pinned && memcmp(A->m->fixed[0].id, other->id, WIRE_IDLEN) == 0);
	printf("  pin while dialling: enters %u, live %llu, pin kept %d\n", A->enters,
	       (unsigned long long)live_count(A),
	       memcmp(A->m->fixed[0].id, other->id, WIRE_IDLEN) == 0);
done:
	keys_identity_destroy(&other);
	node_free(A);
	node_free(B);
}

/* Both name each other: one link, no churn, every count back to zero. */
static void test_mutual(void)
{
	for (int round = 0; round < 8; round++) {
		struct node nodes[2] = { 0 };
		struct node *A = &nodes[0], *B = &nodes[1];
		struct node *ns[2] = { A, B };
		struct pair p = { A, B };
		if (!node_start(A, "a", MCAST_BASE + 2, 0) || !node_start(B, "b", MCAST_BASE + 3, 0))
			goto next;
		CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(B), NULL, now_ms()) == MESH_OK);
		CHECK(mesh_add_peer(B->m, LOOPBACK, node_port(A), NULL, now_ms()) == MESH_OK);
		CHECK(drive_until(ns, 2, 5000, both_linked, &p));
		CHECK(drive_until(ns, 2, 3000, both_idle, &p));
		(void)drive_until(ns, 2, 1000, NULL, NULL);
		CHECK(live_count(A) == 1 && live_count(B) == 1);
		CHECK(A->enters == 1 && B->enters == 1 && A->exits == 0 && B->exits == 0);
		CHECK(idle(A) && idle(B));
		/* the crossing handshake that lost is not a failure: the address is served */
		CHECK(A->m->fixed[0].failures == 0 && B->m->fixed[0].failures == 0);
		printf("  mutual %d: enters %u/%u exits %u/%u, fixed failures %u/%u\n", round,
		       A->enters, B->enters, A->exits, B->exits, A->m->fixed[0].failures,
		       B->m->fixed[0].failures);
	next:
		node_free(A);
		node_free(B);
	}
}

/* Our own endpoint: never linked, counts back to zero, backed off, few log lines. */
static void test_self(void)
{
	struct node nodes[1] = { 0 };
	struct node *A = &nodes[0];
	struct node *ns[1] = { A };
	if (!node_start(A, "a", MCAST_BASE + 4, 0))
		goto done;
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(A), NULL, now_ms()) == MESH_OK);
	(void)drive_until(ns, 1, 4000, NULL, NULL);
	CHECK(A->enters == 0 && live_count(A) == 0);
	CHECK(A->m->fixed[0].failures >= 1);
	CHECK(!A->m->fixed[0].known);
	struct pair p = { A, A };
	CHECK(drive_until(ns, 1, 3000, both_idle, &p));
	printf("  self: failures %u, log lines %lu\n", A->m->fixed[0].failures, A->log_lines);
done:
	node_free(A);
}

/* A pinned ID the list refuses is never dialled; an unpinned node it refuses never learns us. */
static void test_refused(void)
{
	struct node nodes[2] = { 0 };
	struct node *A = &nodes[0], *B = &nodes[1];
	struct node *ns[2] = { A, B };
	if (!node_start(A, "a", MCAST_BASE + 5, 0) || !node_start(B, "b", MCAST_BASE + 6, 0))
		goto done;
	A->refuse = B->id->id;
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(B), B->id->id, now_ms()) == MESH_OK);
	(void)drive_until(ns, 2, 1500, NULL, NULL);
	CHECK(stats(B).handshakes_done == 0 && B->m->hs_in == 0 && stats(B).hellos_limited == 0);
	CHECK(A->m->fixed[0].sid == 0 && A->enters == 0 && B->enters == 0);
	node_free(A);
	node_free(B);
	memset(nodes, 0, sizeof nodes);
	/* unpinned: dialled, refused after message 2, no FINISH */
	if (!node_start(A, "a", MCAST_BASE + 5, 0) || !node_start(B, "b", MCAST_BASE + 6, 0))
		goto done;
	A->refuse = B->id->id;
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(B), NULL, now_ms()) == MESH_OK);
	(void)drive_until(ns, 2, 2500, NULL, NULL);
	CHECK(stats(A).sessions_rejected >= 1);
	CHECK(A->enters == 0 && B->enters == 0 && live_count(B) == 0);
	CHECK(!A->m->fixed[0].known);
	struct pair p = { A, B };
	CHECK(drive_until(ns, 2, 3000, both_idle, &p));
done:
	node_free(A);
	node_free(B);
}

/* The node at the address comes back with another identity: linked again, under it. */
static void test_new_identity(void)
{
	struct node nodes[2] = { 0 };
	struct node *A = &nodes[0], *B = &nodes[1];
	struct node *ns[2] = { A, B };
	struct pair p = { A, B };
	if (!node_start(A, "a", MCAST_BASE + 7, 0) || !node_start(B, "b", MCAST_BASE + 8, 0))
		goto done;
	uint16_t bport = node_port(B);
	CHECK(mesh_add_peer(A->m, LOOPBACK, bport, NULL, now_ms()) == MESH_OK);
	CHECK(drive_until(ns, 2, 5000, both_linked, &p));
	uint8_t old[WIRE_IDLEN];
	memcpy(old, B->id->id, WIRE_IDLEN);
	CHECK(memcmp(A->m->fixed[0].id, old, WIRE_IDLEN) == 0);
	node_free(B);
	/* zmq closes the old ROUTER in its I/O thread, after mesh_destroy returned: its port is
	 * free a moment later, not at once */
	char err[256] = "";
	bool up = false;
	for (int i = 0; i < 200 && !up; i++) {
		up = node_open(B, "b2", MCAST_BASE + 8, bport, err, sizeof err);
		if (!up)
			nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	}
	CHECK(up);
	if (!up) {
		fprintf(stderr, "mesh_new(b2) for 2 s: %s\n", err);
		goto done;
	}
	CHECK(drive_until(ns, 2, 10000, both_linked, &p));
	CHECK(memcmp(A->last_enter, B->id->id, WIRE_IDLEN) == 0);
	CHECK(memcmp(A->m->fixed[0].id, B->id->id, WIRE_IDLEN) == 0);
	printf("  new identity: enters %u exits %u\n", A->enters, A->exits);
done:
	node_free(A);
	node_free(B);
}

struct quad {
	struct node **ns;
};

/* The first n nodes of q each have a session with the n - 1 others. */
static bool linked_among(const struct quad *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (live_count(q->ns[i]) != n - 1)
			return false;
	return true;
}

static bool full_mesh(void *arg)
{
	return linked_among(arg, 4);
}

static bool three_linked(void *arg)
{
	return linked_among(arg, 3);
}

/* a (pair.a) has a live session with d (pair.b) */
static bool a_has_d(void *arg)
{
	struct pair *p = arg;
	struct peer *d = peer_table_get(&p->a->m->peers, p->b->id->id);
	return d && d->live_sid;
}

struct sweep_wait {
	struct node *n;
	uint64_t due;                 /* its next_sweep_ms when the wait began */
};

/* n swept since: its next sweep is due later */
static bool swept(void *arg)
{
	struct sweep_wait *w = arg;
	return w->n->m->next_sweep_ms > w->due;
}

/* The signed beacon inside an open beacon datagram (section 2), into out; its length. */
static size_t signed_of(const struct keys_identity *id, const struct ipaddr *ip, uint16_t port,
                        uint8_t *out)
{
	uint8_t dgram[WIRE_MAX_BEACON];
	struct wire_beacon wb;
	size_t n = beaconmaker_make(id, ip, port, 1, (uint64_t)time(NULL) * 1000u, NULL, dgram,
	                            sizeof dgram);
	if (n == 0 || wire_beacon_decode(dgram, n, &wb) != MESH_OK || wb.blob_len > WIRE_MAX_SIGNED)
		return 0;
	memcpy(out, wb.blob, wb.blob_len);
	return wb.blob_len;
}

/* A peer passes on bad entries and one good one, of a node at a closed port. */
static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void hostile_peers(struct node *from, struct node *to)
{
	struct keys_identity *x = keys_identity_generate(), *y = keys_identity_generate();
	struct keys_identity *z = keys_identity_generate();
	/* x above `to`, so that `to` dials it at once (the lower ID dials, section 4) */
	while (x && !mesh_id_lower(to->id->id, x->id)) {
		keys_identity_destroy(&x);
		x = keys_identity_generate();
	}
	uint8_t good[WIRE_MAX_SIGNED], forged[WIRE_MAX_SIGNED], mcast[WIRE_MAX_SIGNED];
	uint8_t good2[WIRE_MAX_SIGNED];
	static const uint8_t garbage[] = { 0x92, 0xc4, 0x01, 0x00, 0xc0 };
	const struct ipaddr *group = &IPADDR_V4(224, 0, 0, 1);
	size_t gl = x ? signed_of(x, LOOPBACK, 9, good) : 0;
	size_t fl = y ? signed_of(y, LOOPBACK, 9, forged) : 0;
	size_t ml = y ? signed_of(y, group, 9, mcast) : 0;
	size_t gl2 = z ? signed_of(z, LOOPBACK, 10, good2) : 0;
	struct peer *p = peer_table_get(&from->m->peers, to->id->id);
	struct session *s = p ? session_table_get(&from->m->sessions, p->live_sid) : NULL;
	CHECK(gl && fl && ml && gl2 && s);
	if (!gl || !fl || !ml || !gl2 || !s)
		goto done;
	forged[fl - 1] ^= 1;          /* the last byte of the signature */
	struct wire_msg msg = { .type = WIRE_PEERS, .npeers = 5 };
	/* a good one first: the dial it starts must not spoil it, nor those after it */
	msg.peers[0] = (struct wire_bin){ good, gl };
	msg.peers[1] = (struct wire_bin){ garbage, sizeof garbage };
	msg.peers[2] = (struct wire_bin){ forged, fl };
	msg.peers[3] = (struct wire_bin){ mcast, ml };
	msg.peers[4] = (struct wire_bin){ good2, gl2 };
	struct mesh_stats before = stats(to);
	CHECK(send_msg(from->m, s, &msg, now_ms()) == MESH_OK);
	struct node *pair[2] = { from, to };
	(void)drive_until(pair, 2, 500, NULL, NULL);
	struct mesh_stats after = stats(to);
	struct peer *xp = peer_table_get(&to->m->peers, x->id);
	struct peer *zp = peer_table_get(&to->m->peers, z->id);
	CHECK(after.pex_bad == before.pex_bad + 3);
	CHECK(after.pex_taken == before.pex_taken + 2);
	CHECK(xp != NULL && xp->discovered && xp->port == 9);
	CHECK(zp != NULL && zp->discovered && zp->port == 10);
	/* kept as signed, to be passed on */
	CHECK(xp && xp->pex.sig && bytes_eq(xp->pex.sig, xp->pex.len, good, gl));
	CHECK(zp && zp->pex.sig && bytes_eq(zp->pex.sig, zp->pex.len, good2, gl2));
	CHECK(!peer_table_get(&to->m->peers, y->id));
	CHECK(live_count(to) == 3);
	printf("  hostile PEERS: bad %llu, taken %llu, x known %d, live %llu\n",
	       (unsigned long long)(after.pex_bad - before.pex_bad),
	       (unsigned long long)(after.pex_taken - before.pex_taken), xp != NULL,
	       (unsigned long long)live_count(to));
done:
	keys_identity_destroy(&x);
	keys_identity_destroy(&y);
	keys_identity_destroy(&z);
}

/*
 * Passed-on entries of IDs we do not know take checks from the bucket of the rest, whose second
 * half is kept for IDs heard again (protocol section 2): an entry is never one, whatever the
 * last beacon heard was. Here that beacon was one (check_seen left set), the bucket holds just
 * its kept half, and no time passes: every entry, forged ones of fresh IDs, must be dropped
 * unchecked. Failed before the fix: all eight were checked (pex_bad 8), a forged entry never
 * reaching beacon_on_passed, which was the only place the flag was cleared.
 */
static void pex_budget(struct node *from, struct node *to)
{
	struct keys_identity *f = keys_identity_generate();
	uint8_t e[WIRE_PEERS_MAX][WIRE_MAX_SIGNED];
	struct peer *p = peer_table_get(&to->m->peers, from->id->id);
	struct session *s = p ? session_table_get(&to->m->sessions, p->live_sid) : NULL;
	struct wire_msg msg = { .type = WIRE_PEERS, .npeers = WIRE_PEERS_MAX };
	CHECK(f && s);
	if (!f || !s)
		goto done;
	for (size_t i = 0; i < WIRE_PEERS_MAX; i++) {
		size_t n = signed_of(f, LOOPBACK, (uint16_t)(20 + i), e[i]);
		CHECK(n > 0);
		e[i][n - 1] ^= 1;
		msg.peers[i] = (struct wire_bin){ e[i], n };
	}
	uint64_t t = now_ms();
	struct mesh_stats before = stats(to);
	to->m->check_seen = true;
	to->m->unknown_checks.at_ms = t;
	to->m->unknown_checks.n = UNKNOWN_CHECKS_PER_S / 2;
	p->pex_rx.at_ms = 0;               /* its share full again: the budget is what limits */
	pex_on_msg(to->m, p, s, &msg, t);
	struct mesh_stats after = stats(to);
	CHECK(after.pex_bad == before.pex_bad);
	CHECK(after.beacons_limited == before.beacons_limited + WIRE_PEERS_MAX);
	CHECK(to->m->unknown_checks.n == UNKNOWN_CHECKS_PER_S / 2);
	printf("  PEERS over the budget's open half: checked %llu, limited %llu\n",
	       (unsigned long long)(after.pex_bad - before.pex_bad),
	       (unsigned long long)(after.beacons_limited - before.beacons_limited));
done:
	keys_identity_destroy(&f);
}

/*
 * A linked peer whose beacon we never verified (a fixed peer across segments): we know its run
 * from the handshake but no counter of it, so a passed-on beacon of another run of it, an
 * older one kept by the passer, could not be told from a newer one by rule 4. It must not move
 * the peer (protocol section 2, "Limits"). Failed before the fix: the linked peer's endpoint
 * became the entry's (port 9) and its recorded run the entry's.
 */
static void pex_linked_other_run(struct node *from, struct node *to, struct node *linked)
{
	uint8_t e[WIRE_MAX_SIGNED];
	struct peer *p = peer_table_get(&to->m->peers, from->id->id);
	struct peer *l = peer_table_get(&to->m->peers, linked->id->id);
	struct session *s = p ? session_table_get(&to->m->sessions, p->live_sid) : NULL;
	size_t n = signed_of(linked->id, LOOPBACK, 9, e);   /* run 1: not the live one */
	CHECK(s && l && l->live_sid && l->beacon_counter == 0 && l->incarnation != 1 && n > 0);
	if (!s || !l || n == 0)
		return;
	uint16_t port = l->port;
	uint64_t inc = l->beacon_incarnation;
	struct wire_msg msg = { .type = WIRE_PEERS, .npeers = 1 };
	msg.peers[0] = (struct wire_bin){ e, n };
	p->pex_rx.at_ms = 0;
	pex_on_msg(to->m, p, s, &msg, now_ms());
	CHECK(l->port == port && l->port == node_port(linked) && l->beacon_incarnation == inc);
	printf("  PEERS naming another run of a linked peer: its port %u (was %u)\n", l->port, port);
}

/*
 * Two segments (a multicast port each), a1 and a2 on one, b1 and b2 on the other, and a1
 * names b1 as a fixed peer. Through peer exchange every node learns the others and links:
 * a2 learns b1 and b2 from a1's PEERS, b2 learns a1 and a2 from b1's. Without it (no_pex),
 * a2 and b2 stay with the one peer of their segment. Fails on the code before pex.c: a2 never
 * hears of b1 or b2.
 */
static void test_pex_segments(bool pex)
{
	struct node nodes[4] = { 0 };
	struct node *ns[4] = { &nodes[0], &nodes[1], &nodes[2], &nodes[3] };
	struct quad q = { ns };
	static const char *labels[4] = { "a1", "a2", "b1", "b2" };
	bool ok = true;
	for (size_t i = 0; i < 4; i++) {
		nodes[i].no_pex = !pex;
		ok = ok && node_start(&nodes[i], labels[i], (uint16_t)(MCAST_BASE + 20 + i / 2), 0);
	}
	if (!ok)
		goto done;
	uint64_t t0 = now_ms();
	CHECK(mesh_add_peer(ns[0]->m, LOOPBACK, node_port(ns[2]), NULL, t0) == MESH_OK);
	if (pex) {
		bool full = drive_until(ns, 4, 10000, full_mesh, &q);
		CHECK(full);
		uint64_t t = now_ms() - t0;
		(void)drive_until(ns, 4, 1000, NULL, NULL);
		unsigned exits = 0;
		for (size_t i = 0; i < 4; i++)
			exits += ns[i]->exits;
		CHECK(full_mesh(&q) && exits == 0);
		printf("  pex: full mesh of 2 segments x 2 in %llu ms, exits %u, a2 took %llu, "
		       "a1 passed %llu\n", (unsigned long long)t, exits,
		       (unsigned long long)stats(ns[1]).pex_taken,
		       (unsigned long long)stats(ns[0]).pex_tx);
		hostile_peers(ns[0], ns[1]);
		pex_budget(ns[0], ns[1]);
		pex_linked_other_run(ns[1], ns[0], ns[2]);
	} else {
		(void)drive_until(ns, 4, 4000, NULL, NULL);
		CHECK(live_count(ns[0]) == 2 && live_count(ns[2]) == 2);
		CHECK(live_count(ns[1]) == 1 && live_count(ns[3]) == 1);
		CHECK(stats(ns[0]).pex_tx == 0 && stats(ns[1]).pex_taken == 0);
		printf("  no pex: live a1 %llu a2 %llu b1 %llu b2 %llu\n",
		       (unsigned long long)live_count(ns[0]), (unsigned long long)live_count(ns[1]),
		       (unsigned long long)live_count(ns[2]), (unsigned long long)live_count(ns[3]));
	}
done:
	for (size_t i = 0; i < 4; i++)
		node_free(&nodes[i]);
}

/* Four nodes on one segment: every one hears every other's beacons, so none passes any on
 * (protocol section 2, "Peer exchange": a mesh on one segment sends no PEERS). */
static void test_pex_one_segment(void)
{
	struct node nodes[4] = { 0 };
	struct node *ns[4] = { &nodes[0], &nodes[1], &nodes[2], &nodes[3] };
	struct quad q = { ns };
	bool ok = true;
	for (size_t i = 0; i < 4; i++)
		ok = ok && node_start(&nodes[i], "s", MCAST_BASE + 30, 0);
	if (!ok)
		goto done;
	CHECK(drive_until(ns, 4, 10000, full_mesh, &q));
	(void)drive_until(ns, 4, 1000, NULL, NULL);
	uint64_t tx = 0, rx = 0;
	for (size_t i = 0; i < 4; i++) {
		tx += stats(ns[i]).pex_tx;
		rx += stats(ns[i]).pex_rx;
	}
	CHECK(full_mesh(&q) && tx == 0 && rx == 0);
	printf("  one segment: full mesh %d, PEERS entries sent %llu, received %llu\n",
	       full_mesh(&q), (unsigned long long)tx, (unsigned long long)rx);
done:
	for (size_t i = 0; i < 4; i++)
		node_free(&nodes[i]);
}

/*
 * One segment, and a node that links before its beacon is read: d dials a (a fixed peer)
 * while a reads no beacons, as a node whose check budget is spent in a crowd. a must give d
 * time to be heard on the segment, and then pass nothing to it or about it (protocol section
 * 2, "Peer exchange"). Failed before: a passed b's and c's beacons to d at once (2 entries),
 * and in a 128-node mesh one such round per unheard peer was 156,000 entries.
 */
static void test_pex_linked_unheard(void)
{
	struct node nodes[4] = { 0 };
	struct node *ns[4] = { &nodes[0], &nodes[1], &nodes[2], &nodes[3] };
	struct quad q = { ns };
	static const char *labels[4] = { "a", "b", "c", "d" };
	bool ok = true;
	for (size_t i = 0; i < 4; i++)
		nodes[i].beacon_ms = 300;     /* a wait of 450 ms: far longer than two sweeps */
	for (size_t i = 0; i < 3; i++)
		ok = ok && node_start(&nodes[i], labels[i], MCAST_BASE + 31, 0);
	if (!ok || !drive_until(ns, 3, 10000, three_linked, &q)) {
		CHECK(!"three nodes linked");
		goto done;
	}
	nodes[0].deaf = true;
	ok = node_start(&nodes[3], labels[3], MCAST_BASE + 31, 0);
	if (!ok)
		goto done;
	uint64_t t0 = now_ms();
	CHECK(mesh_add_peer(ns[3]->m, LOOPBACK, node_port(ns[0]), NULL, t0) == MESH_OK);
	struct pair ad = { ns[0], ns[3] };
	bool linked = drive_until(ns, 4, 5000, a_has_d, &ad);
	CHECK(linked);
	/* two sweeps of a with d live and unheard: before, the first passed b and c to d */
	for (int sweeps = 0; linked && sweeps < 2; sweeps++) {
		uint64_t due = ns[0]->m->next_sweep_ms;
		struct sweep_wait w = { ns[0], due };
		CHECK(drive_until(ns, 4, 5000, swept, &w));
	}
	nodes[0].deaf = false;
	CHECK(drive_until(ns, 4, 10000, full_mesh, &q));
	/* five beacon intervals more: the wait (one and a half) is long over */
	(void)drive_until(ns, 4, 5 * nodes[0].cfg.beacon_interval_ms, NULL, NULL);
	uint64_t tx = 0;
	for (size_t i = 0; i < 4; i++)
		tx += stats(ns[i]).pex_tx;
	CHECK(full_mesh(&q) && tx == 0);
	printf("  linked before heard, one segment: full mesh %d, a linked d first %d, PEERS "
	       "entries sent %llu\n", full_mesh(&q), linked, (unsigned long long)tx);
done:
	for (size_t i = 0; i < 4; i++)
		node_free(&nodes[i]);
}

/* full mesh, with d's new run: a, b and c each have a session with it */
static bool relinked(void *arg)
{
	const struct quad *q = arg;
	if (!full_mesh(arg))
		return false;
	for (size_t i = 0; i < 3; i++) {
		struct peer *d = peer_table_get(&q->ns[i]->m->peers, q->ns[3]->id->id);
		if (!d || !d->live_sid || d->incarnation != q->ns[3]->m->incarnation)
			return false;
	}
	return true;
}

/*
 * A peer heard on our segment that comes back where we cannot hear it: d, linked on a's
 * segment, restarts on another (its own multicast port, as behind a router) and dials a.
 * a must not take it for heard where it was: it is heard nowhere now, so a passes b's and c's
 * beacons to it, d dials them, and the four link again (protocol section 2, "Peer
 * exchange"). Failed before: a kept d's old segment (pex_on_live set it only for a peer heard
 * since), counted all four on one segment and passed nothing; d stayed linked to a alone.
 * First d restarts where it was: heard there again, it gets nothing, nor does anyone.
 */
static void test_pex_moved_unheard(void)
{
	struct node nodes[4] = { 0 };
	struct node *ns[4] = { &nodes[0], &nodes[1], &nodes[2], &nodes[3] };
	struct quad q = { ns };
	static const char *labels[4] = { "a", "b", "c", "d" };
	bool ok = true;
	for (size_t i = 0; i < 4; i++) {
		nodes[i].beacon_ms = 300;     /* a wait of 450 ms */
		ok = ok && node_start(&nodes[i], labels[i], MCAST_BASE + 32, 0);
	}
	if (!ok || !drive_until(ns, 4, 10000, full_mesh, &q)) {
		CHECK(!"four nodes linked on one segment");
		goto done;
	}
	/* d restarts in place: linked again, and five beacon intervals on (the waits are one
	 * and a half) nothing was passed */
	mesh_destroy(&nodes[3].m);
	if (!node_start(&nodes[3], labels[3], MCAST_BASE + 32, 0))
		goto done;
	CHECK(drive_until(ns, 4, 10000, relinked, &q));
	(void)drive_until(ns, 4, 5 * nodes[0].cfg.beacon_interval_ms, NULL, NULL);
	uint64_t in_place = 0;
	for (size_t i = 0; i < 4; i++)
		in_place += stats(ns[i]).pex_tx;
	CHECK(relinked(&q) && in_place == 0);
	/* d comes back with its identity, a new run and a port of its own, on another segment */
	mesh_destroy(&nodes[3].m);
	ok = node_start(&nodes[3], labels[3], MCAST_BASE + 33, 0);
	if (!ok)
		goto done;
	uint64_t t0 = now_ms();
	CHECK(mesh_add_peer(ns[3]->m, LOOPBACK, node_port(ns[0]), NULL, t0) == MESH_OK);
	bool full = drive_until(ns, 4, 10000, relinked, &q);
	CHECK(full);
	uint64_t t = now_ms() - t0;
	struct peer *d = peer_table_get(&ns[0]->m->peers, ns[3]->id->id);
	CHECK(d && d->pex_origin == PEX_NOWHERE);
	printf("  restarted in place: PEERS entries sent %llu; moved out of hearing: full mesh "
	       "again %d in %llu ms, a passed %llu entries, d's segment at a %d\n",
	       (unsigned long long)in_place, full, (unsigned long long)t,
	       (unsigned long long)stats(ns[0]).pex_tx, d ? d->pex_origin : -1);
done:
	for (size_t i = 0; i < 4; i++)
		node_free(&nodes[i]);
}

/* c (pair.a) holds an entry for b (pair.b): learnt from a PEERS message, as c hears nobody */
static bool c_knows_b(void *arg)
{
	struct pair *p = arg;
	return peer_table_get(&p->a->m->peers, p->b->id->id) != NULL;
}

/*
 * A beacon a node took from PEERS before the session with its node went live is passed on
 * when that session's wait ends (protocol section 2, "Peer exchange"). r and b share a segment;
 * a and c are each on one of their own, and a names r and c (fixed peers, whose beacons a
 * never hears, so it has none of theirs to pass). r passes b's beacon to a, which links with
 * b, and only a can pass b's beacon on to c: c refuses r and b refuses c, so neither is linked
 * with c. Fails without the new generation at the end of the wait (pex_on_sweep): a had given
 * c everything up to that beacon's generation while b was not yet live, and b's wait skipped
 * it, so it never went to c.
 */
static void test_pex_kept_before_live(void)
{
	struct node nodes[4] = { 0 };
	struct node *ns[4] = { &nodes[0], &nodes[1], &nodes[2], &nodes[3] };
	struct node *R = &nodes[0], *B = &nodes[1], *A = &nodes[2], *C = &nodes[3];
	static const char *labels[4] = { "r", "b", "a", "c" };
	bool ok = true;
	for (size_t i = 0; i < 4; i++)
		ok = ok && (nodes[i].id = keys_identity_generate()) != NULL;
	if (!ok) {
		CHECK(!"identities");
		goto done;
	}
	B->refuse = C->id->id;
	C->refuse = R->id->id;
	for (size_t i = 0; i < 4; i++)
		ok = ok && node_start(&nodes[i], labels[i], (uint16_t)(MCAST_BASE + 40 + (i ? i - 1 : 0)),
		                      0);
	if (!ok)
		goto done;
	uint64_t t0 = now_ms();
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(R), NULL, t0) == MESH_OK);
	CHECK(mesh_add_peer(A->m, LOOPBACK, node_port(C), NULL, t0) == MESH_OK);
	struct pair ab = { A, B }, cb = { C, B };
	bool linked = drive_until(ns, 4, 10000, a_has_d, &ab);
	CHECK(linked);
	bool known = drive_until(ns, 4, 5000, c_knows_b, &cb);
	CHECK(known);
	uint64_t t = now_ms() - t0;
	struct peer *rb = peer_table_get(&C->m->peers, R->id->id);
	CHECK(!rb || !rb->live_sid);
	printf("  beacon taken before live: a linked b %d, c learnt b from a %d in %llu ms, "
	       "a passed %llu entries\n", linked, known, (unsigned long long)t,
	       (unsigned long long)stats(A).pex_tx);
done:
	for (size_t i = 0; i < 4; i++)
		node_free(&nodes[i]);
}

int main(void)
{
	testlib_require_netns("test_fixed");
	if (sodium_init() < 0)
		return 1;
	zctx = zmq_ctx_new();
	CHECK(zctx != NULL);
	if (zctx) {
		test_pin_while_dialling();
		test_mutual();
		test_self();
		test_refused();
		test_new_identity();
		test_pex_segments(false);
		test_pex_segments(true);
		test_pex_one_segment();
		test_pex_linked_unheard();
		test_pex_moved_unheard();
		test_pex_kept_before_live();
		zmq_ctx_term(zctx);
	}
	return testlib_done("test_fixed");
}
