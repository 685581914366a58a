/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * Nodes driven by their owners' threads (meshnode_start_driven), on loopback inside
 * netns-run's namespace: ann and bob each run on a thread of their own that drives them, cat
 * has its loop thread as usual. Every message a sender was told it accepted is accounted
 * for: bob gets ann's whispers exactly once and in order, bob and cat get her shouts the same
 * way, and ann gets exactly one DELIVERED for each message from each peer that got it, and no
 * DROPPED; a whisper queued just before her stop still arrives. Also: the calls that need the
 * engine refuse any other thread and log_fn (where a stop and a destroy are ignored), the
 * synchronous calls (a whisper to an unknown peer among them) and a full FIFO work without a
 * loop thread, log_fn runs on the owner's thread, a node left alone for over a second says
 * so, and a driven node's stop is seen by the others at once (its BYE, not their expiry).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meshnode.h"
#include "meshnode_testhooks.h"
#include "testlib.h"
#include "testnode.h"

#define WHISPERS 3000                  /* and one more, queued just before ann stops */
#define SHOUTS 500
#define GROUP "g"
#define DEADLINE_S 30.0

static char dir[] = "/tmp/test_driven.XXXXXX";
static struct meshnode *ann, *bob, *cat;
static _Thread_local bool on_ann_thread;
static atomic_bool ann_ready;          /* ann started and linked: main may try its calls */
static atomic_bool ann_stopped;
static _Atomic double ann_stop_s;      /* when her stop was called */
static atomic_ulong ann_logs_elsewhere, ann_undriven_said;
static atomic_int ann_call_in_log = -1;   /* what a call from inside log_fn returned */

/* What one receiver saw of ann's messages, checked by main once every thread is done. */
struct seen {
	atomic_long whispers, shouts;      /* in order so far (ann's thread watches them) */
	long out_of_order, foreign;        /* a wrong index, a message not from ann */
	atomic_bool ann_exit;
	double ann_exit_s;                 /* when her EXIT came */
};

static struct seen bob_seen, cat_seen;

/* ann's results */
static struct {
	bool linked, joined_seen;
	enum mesh_err join_rc, peers_rc, send_rc;
	size_t npeers;
	long delivered, dropped;
	long receipts_bad;                 /* a DELIVERED for no message of ours, or twice */
	enum mesh_err drive_rc, unknown_rc;
	uint64_t waits;                    /* sends that found the FIFO full */
	uint64_t first_id;                 /* message IDs: first_id + index, in sending order */
	bool ids_in_order;
} ann_res;

/* DELIVERED receipts per message: whispers (bob), then shouts (bob, cat) */
static unsigned char rcpt_bob[WHISPERS + SHOUTS], rcpt_cat[WHISPERS + SHOUTS];

static bool bob_linked, bob_start_ok, ann_start_ok;

static void on_ann_log(void *arg, int level, const char *line)
{
	(void)arg;
	(void)level;
	if (!on_ann_thread)
		ann_logs_elsewhere++;
	if (strstr(line, "was not driven")) {
		ann_undriven_said++;
		struct meshnode_stats st;   /* inside a turn: refused, not run in it */
		atomic_store(&ann_call_in_log, (int)meshnode_stats(ann, &st));
		struct meshnode *same = ann;   /* ignored there: ann goes on, and is used below */
		meshnode_stop(ann);
		meshnode_destroy(&same);
		if (same != ann)
			atomic_store(&ann_call_in_log, -2);
	}
}

static struct meshnode *make(const char *name, bool logs)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, 47641);
	cfg.receipts = true;
	cfg.queue_msgs = 2 * (WHISPERS + SHOUTS);
	if (logs)
		cfg.log_fn = on_ann_log;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n)
		fprintf(stderr, "meshnode_new %s: %s\n", name, err);
	return n;
}

/* One event at a receiver: ann's messages counted in order, her EXIT noted. */
static void note(struct seen *s, const struct meshnode_event *ev)
{
	bool from_ann = memcmp(ev->peer, meshnode_id(ann), MESHNODE_IDLEN) == 0;
	if (ev->type == MESHNODE_EV_WHISPER || ev->type == MESHNODE_EV_SHOUT) {
		if (!from_ann) {
			s->foreign++;
			return;
		}
		bool w = ev->type == MESHNODE_EV_WHISPER;
		atomic_long *count = w ? &s->whispers : &s->shouts;
		if (testnode_index_of(ev, w ? 'w' : 's') == atomic_load(count))
			atomic_fetch_add(count, 1);
		else
			s->out_of_order++;
	} else if (ev->type == MESHNODE_EV_EXIT && from_ann) {
		s->ann_exit_s = testnode_now_s();
		s->ann_exit = true;
	}
}

static bool done_receiving(const struct seen *s, bool whispers)
{
	return (!whispers || s->whispers == WHISPERS) && s->shouts == SHOUTS;
}

/* ann's message IDs, checked in sending order */
static void note_id(long i, uint64_t id)
{
	if (i == 0)
		ann_res.first_id = id;
	else if (id != ann_res.first_id + (uint64_t)i)
		ann_res.ids_in_order = false;
}

static void note_receipt(const struct meshnode_event *ev)
{
	uint64_t i = ev->msg_id - ann_res.first_id;
	bool from_bob = memcmp(ev->peer, meshnode_id(bob), MESHNODE_IDLEN) == 0;
	bool from_cat = memcmp(ev->peer, meshnode_id(cat), MESHNODE_IDLEN) == 0;
	if (ev->msg_id < ann_res.first_id || i >= WHISPERS + SHOUTS || (!from_bob && !from_cat) ||
	    (from_cat && i < WHISPERS)) {
		ann_res.receipts_bad++;
		return;
	}
	unsigned char *r = from_bob ? &rcpt_bob[i] : &rcpt_cat[i];
	if ((*r)++)
		ann_res.receipts_bad++;
}

static void *ann_main(void *arg)
{
	(void)arg;
	char err[512];
	on_ann_thread = true;
	ann_start_ok = meshnode_start_driven(ann, err, sizeof err) == MESH_OK;
	if (!ann_start_ok) {
		fprintf(stderr, "ann: %s\n", err);
		return NULL;
	}
	ann_res.join_rc = meshnode_join(ann, GROUP);   /* a synchronous call, driven */
	/* linked to both, and both in the group as ann sees it */
	int enters = 0, joins = 0;
	double end = testnode_now_s() + DEADLINE_S;
	while ((enters < 2 || joins < 2) && testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(ann, 50);
		if (ev && ev->type == MESHNODE_EV_ENTER)
			enters++;
		if (ev && ev->type == MESHNODE_EV_JOIN && strcmp(ev->group, GROUP) == 0)
			joins++;
		meshnode_event_destroy(&ev);
	}
	ann_res.linked = enters == 2;
	ann_res.joined_seen = joins == 2;
	struct meshnode_peer *peers = NULL;
	ann_res.peers_rc = meshnode_peers(ann, &peers, &ann_res.npeers);
	meshnode_peers_free(&peers, ann_res.npeers);
	uint8_t stranger[MESHNODE_IDLEN];
	memset(stranger, 0x5a, sizeof stranger);   /* waits for the engine's answer: no ENTER */
	ann_res.unknown_rc = meshnode_whisper(ann, stranger, "x", 1, NULL);
	atomic_store(&ann_ready, true);
	/* left alone for longer than LATE_TURN_MS: the next turn says so, once. Early, so that
	 * no late turn before it (logged at most once in 10 s) can hide its line. */
	struct timespec ts = { 1, 300000000L };
	nanosleep(&ts, NULL);
	ann_res.drive_rc = meshnode_drive(ann, 0);
	/* a burst without a turn between: the FIFO (64 here) fills, and the sender runs it */
	ann_res.send_rc = MESH_OK;
	ann_res.ids_in_order = true;
	for (long i = 0; i < WHISPERS && ann_res.send_rc == MESH_OK; i++) {
		char text[16];
		uint64_t id = 0;
		int len = snprintf(text, sizeof text, "w%ld", i);
		ann_res.send_rc = meshnode_whisper(ann, meshnode_id(bob), text, (size_t)len, &id);
		note_id(i, id);
	}
	for (long i = 0; i < SHOUTS && ann_res.send_rc == MESH_OK; i++) {
		char text[16];
		uint64_t id = 0;
		int len = snprintf(text, sizeof text, "s%ld", i);
		ann_res.send_rc = meshnode_shout(ann, GROUP, text, (size_t)len, &id);
		note_id(WHISPERS + i, id);
	}
	ann_res.waits = meshnode_test_send_waits(ann);
	long want = WHISPERS + 2 * SHOUTS;   /* a receipt per message per peer */
	while (ann_res.delivered + ann_res.dropped < want && testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(ann, 100);
		if (ev && ev->type == MESHNODE_EV_DELIVERED) {
			ann_res.delivered++;
			note_receipt(ev);
		}
		if (ev && ev->type == MESHNODE_EV_DROPPED)
			ann_res.dropped++;
		meshnode_event_destroy(&ev);
	}
	/* until the receivers are done: they must not see her go first */
	while (!(done_receiving(&bob_seen, true) && done_receiving(&cat_seen, false)) &&
	       testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(ann, 50);
		meshnode_event_destroy(&ev);
	}
	/* queued, not yet sent when the stop comes: it still goes, before the BYE */
	char text[16];
	int len = snprintf(text, sizeof text, "w%d", WHISPERS);
	if (meshnode_whisper(ann, meshnode_id(bob), text, (size_t)len, NULL) != MESH_OK)
		ann_res.send_rc = MESH_EIO;
	atomic_store(&ann_stop_s, testnode_now_s());
	meshnode_stop(ann);   /* on the owner's thread */
	atomic_store(&ann_stopped, true);
	return NULL;
}

static void *bob_main(void *arg)
{
	(void)arg;
	char err[512];
	bool joined = meshnode_join(bob, GROUP) == MESH_OK;   /* before the start */
	bob_start_ok = joined && meshnode_start_driven(bob, err, sizeof err) == MESH_OK;
	if (!bob_start_ok) {
		fprintf(stderr, "bob: %s\n", err);
		return NULL;
	}
	double end = testnode_now_s() + DEADLINE_S;
	/* until ann is gone; her messages counted on the way */
	while (!atomic_load(&bob_seen.ann_exit) && testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(bob, 50);
		if (ev && ev->type == MESHNODE_EV_ENTER)
			bob_linked = true;
		if (ev)
			note(&bob_seen, ev);
		meshnode_event_destroy(&ev);
	}
	return NULL;
}

int main(void)
{
	testlib_require_netns("test_driven");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ann = make("ann", true);
	bob = make("bob", false);
	cat = make("cat", false);
	CHECK(ann && bob && cat);
	if (!ann || !bob || !cat)
		return testlib_done("test_driven");
	meshnode_test_send_caps(ann, 64, 1u << 20);   /* ann's burst fills it 50 times over */
	char err[512];
	CHECK(meshnode_drive(cat, 0) == MESH_ESTATE);   /* not started, not driven */
	CHECK(meshnode_join(cat, GROUP) == MESH_OK);
	CHECK(meshnode_start(cat, err, sizeof err) == MESH_OK);
	CHECK(meshnode_drive(cat, 0) == MESH_ESTATE);   /* it has its loop thread */
	CHECK(meshnode_event_fd(cat) >= 0);
	pthread_t at, bt;
	CHECK(pthread_create(&at, NULL, ann_main, NULL) == 0);
	CHECK(pthread_create(&bt, NULL, bob_main, NULL) == 0);

	/* cat, on this thread: ann's shouts; ann's calls from here, once she is running */
	bool tried = false;
	double end = testnode_now_s() + DEADLINE_S + 5;
	while (!atomic_load(&cat_seen.ann_exit) && testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(cat, 50);
		if (ev)
			note(&cat_seen, ev);
		meshnode_event_destroy(&ev);
		if (!tried && atomic_load(&ann_ready)) {
			tried = true;
			CHECK(meshnode_whisper(ann, meshnode_id(cat), "x", 1, NULL) == MESH_ESTATE);
			CHECK(meshnode_shout(ann, GROUP, "x", 1, NULL) == MESH_ESTATE);
			CHECK(meshnode_join(ann, "other") == MESH_ESTATE);
			struct meshnode_stats st;
			CHECK(meshnode_stats(ann, &st) == MESH_ESTATE);
			CHECK(meshnode_next_event(ann, 0) == NULL);
			CHECK(meshnode_drive(ann, 0) == MESH_ESTATE);
			CHECK(meshnode_event_fd(ann) == -1);
			struct meshnode_peer *peers = NULL;
			size_t np = 0;
			CHECK(meshnode_peers(ann, &peers, &np) == MESH_ESTATE && peers == NULL);
			char sas[32];
			CHECK(meshnode_sas(ann, meshnode_id(cat), sas) == MESH_ESTATE);
			char e2[256];
			CHECK(meshnode_add_peer(ann, "127.0.0.1:1", e2, sizeof e2) == MESH_ESTATE);
			CHECK(strcmp(meshnode_name(ann), "ann") == 0);   /* accessors: any thread */
		}
	}
	pthread_join(at, NULL);
	pthread_join(bt, NULL);
	CHECK(tried);

	CHECK(ann_start_ok && bob_start_ok);
	CHECK(ann_res.join_rc == MESH_OK);
	CHECK(ann_res.linked && bob_linked);
	CHECK(ann_res.joined_seen);
	CHECK(ann_res.peers_rc == MESH_OK && ann_res.npeers == 2);
	CHECK(ann_res.send_rc == MESH_OK);
	CHECK(ann_res.ids_in_order);
	CHECK(ann_res.unknown_rc == MESH_ENOTFOUND);
	CHECK(ann_res.waits > 0);   /* the FIFO was full, and the sender ran it */
	/* every message accounted for: delivered once, in order, and receipted once by each */
	CHECK(bob_seen.whispers == WHISPERS + 1);
	CHECK(bob_seen.shouts == SHOUTS);
	CHECK(cat_seen.shouts == SHOUTS);
	CHECK(cat_seen.whispers == 0);
	CHECK(bob_seen.out_of_order == 0 && cat_seen.out_of_order == 0);
	CHECK(bob_seen.foreign == 0 && cat_seen.foreign == 0);
	CHECK(ann_res.delivered == WHISPERS + 2 * SHOUTS);
	CHECK(ann_res.receipts_bad == 0);
	long missing = 0;
	for (long i = 0; i < WHISPERS + SHOUTS; i++)
		missing += rcpt_bob[i] != 1 || (i >= WHISPERS && rcpt_cat[i] != 1);
	CHECK(missing == 0);
	CHECK(ann_res.dropped == 0);
	if (bob_seen.whispers != WHISPERS + 1 || ann_res.delivered != WHISPERS + 2 * SHOUTS)
		fprintf(stderr, "bob %ld whispers %ld shouts, cat %ld shouts, ann %ld delivered "
		        "%ld dropped\n", atomic_load(&bob_seen.whispers),
		        atomic_load(&bob_seen.shouts), atomic_load(&cat_seen.shouts),
		        ann_res.delivered, ann_res.dropped);
	/* the owner ran the node and its log */
	CHECK(ann_res.drive_rc == MESH_OK);
	CHECK(ann_undriven_said == 1);
	CHECK(atomic_load(&ann_call_in_log) == (int)MESH_ESTATE);
	CHECK(ann_logs_elsewhere == 0);
	/* ann's stop, on her thread, reached both */
	CHECK(atomic_load(&ann_stopped));
	CHECK(bob_seen.ann_exit && cat_seen.ann_exit);
	/* by her BYE: their expiry would take 3 s */
	CHECK(bob_seen.ann_exit_s - atomic_load(&ann_stop_s) < 2.0);
	CHECK(cat_seen.ann_exit_s - atomic_load(&ann_stop_s) < 2.0);
	CHECK(meshnode_drive(ann, 0) == MESH_ESTATE);   /* stopped */

	/* the owners are done: another thread may destroy their nodes */
	meshnode_destroy(&ann);
	meshnode_destroy(&bob);
	meshnode_destroy(&cat);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return testlib_done("test_driven");
}
