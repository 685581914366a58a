/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_handoff: the hand-off between application threads and a node's loop thread
 * (meshnode.h, "Threading"). Two embedded nodes on loopback, inside the private network
 * namespace that tests/integration/netns-run makes. The sender's FIFO of sends is made small
 * through the test hooks (two sends), so that its senders keep waiting for room.
 *
 * Four threads whisper to the same peer through one node while the main thread reads: every
 * whisper arrives exactly once and in each thread's order, none is reported dropped, the IDs
 * each thread is given increase, and the senders did wait for room. In the first run nothing
 * else wakes a waiting sender, so a lost wake-up for room stops them: the test then fails on
 * its deadline, naming how far each thread got. In the second, a fifth thread makes calls
 * that wait for the loop (meshnode_stats) meanwhile, and the senders' node asks for receipts:
 * every whisper is answered once (DELIVERED).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshnode.h"
#include "meshnode_testhooks.h"
#include "testlib.h"
#include "testnode.h"

static char dir[] = "/tmp/test_handoff.XXXXXX";

enum { THREADS = 4, PER_THREAD = 1500, MSGS = THREADS * PER_THREAD, FIFO_SENDS = 2 };

/* small_fifo: the senders' node, whose FIFO holds two sends; receipts: it wants DELIVERED */
static struct meshnode *start(const char *name, bool small_fifo, bool receipts)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, 47631);
	cfg.evasive_ms = 10000;
	cfg.expired_ms = 30000;
	cfg.receipts = receipts;
	cfg.queue_msgs = 16384;      /* every whisper of the test fits in the peer's queue */
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n) {
		fprintf(stderr, "meshnode_new: %s\n", err);
		return NULL;
	}
	if (small_fifo)
		meshnode_test_send_caps(n, FIFO_SENDS, 1u << 20);
	if (meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode_start: %s\n", err);
		meshnode_destroy(&n);
	}
	return n;
}

struct sender {
	struct meshnode *self, *to;
	uint8_t who;
	_Atomic unsigned sent;   /* read by the main thread while this one runs */
	unsigned refused, ids_unordered;
	uint64_t ids[PER_THREAD];
};

static void *send_main(void *arg)
{
	struct sender *s = arg;
	uint64_t last = 0;
	for (unsigned i = 0; i < PER_THREAD; i++) {
		uint8_t msg[5] = { s->who, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
		                   (uint8_t)(i >> 8), (uint8_t)i };
		uint64_t id = 0;
		const uint8_t *to = meshnode_id(s->to);
		if (meshnode_whisper(s->self, to, msg, sizeof msg, &id) != MESH_OK) {
			s->refused++;
			continue;
		}
		s->ids_unordered += id <= last;
		last = id;
		s->ids[i] = id;
		s->sent++;
	}
	return NULL;
}

/* Calls that wait for the loop thread, made while the senders run. */
struct caller {
	struct meshnode *n;
	atomic_bool stop;
	unsigned calls, failed;
};

static void *call_main(void *arg)
{
	struct caller *c = arg;
	while (!c->stop) {
		struct meshnode_stats st;
		if (meshnode_stats(c->n, &st) == MESH_OK)
			c->calls++;
		else
			c->failed++;
	}
	return NULL;
}

/* What the main thread has read: b's whispers, a's answers. */
struct tally {
	unsigned next[THREADS];         /* each thread's next sequence number */
	unsigned got, out_of_order;     /* whispers; those not next of their thread */
	unsigned answered, dropped, other_answers;
	unsigned delivered[MSGS + 1];   /* DELIVERED by msg_id */
};

/* One look at b (waiting up to wait_ms) and everything a has. */
static void read_round(struct meshnode *a, struct meshnode *b, struct tally *t, int wait_ms)
{
	struct meshnode_event *ev = meshnode_next_event(b, wait_ms);
	if (ev && ev->type == MESHNODE_EV_WHISPER) {
		const uint8_t *p = ev->data;
		uint32_t seq = ev->len == 5 ? (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		                              (uint32_t)p[3] << 8 | p[4] : UINT32_MAX;
		if (ev->len == 5 && p[0] < THREADS && seq == t->next[p[0]])
			t->next[p[0]]++;
		else
			t->out_of_order++;
		t->got++;
	}
	meshnode_event_destroy(&ev);
	while ((ev = meshnode_next_event(a, 0))) {
		bool ours = ev->msg_id >= 1 && ev->msg_id <= MSGS;
		if (ev->type == MESHNODE_EV_DELIVERED && ours) {
			t->delivered[ev->msg_id]++;
			t->answered++;
		} else if (ev->type == MESHNODE_EV_DROPPED) {
			t->dropped++;
			t->answered++;
		} else if (ev->type == MESHNODE_EV_DELIVERED) {
			t->other_answers++;
		}
		meshnode_event_destroy(&ev);
	}
}

/* with_calls: a fifth thread makes calls that wait for the loop meanwhile, and a wants
 * receipts. Either would also wake a sender waiting for room (the calls' answers and the
 * DELIVERED events are signalled on the same condition), so the first run has neither: there
 * only the loop's word that it took the FIFO wakes them. */
static void test_senders_wait_for_room(bool with_calls)
{
	struct meshnode *a = start(with_calls ? "senders2" : "senders1", true, with_calls),
	                *b = start(with_calls ? "reader2" : "reader1", false, false);
	static struct sender s[THREADS];
	static struct tally t;
	pthread_t th[THREADS], callth;
	struct caller caller = { .n = a };
	bool calling = false;
	int started = 0;
	CHECK(a && b);
	if (!a || !b)
		goto done;
	CHECK(testnode_wait_enter(a, 10.0) && testnode_wait_enter(b, 10.0));
	memset(s, 0, sizeof s);
	memset(&t, 0, sizeof t);
	if (with_calls) {
		calling = pthread_create(&callth, NULL, call_main, &caller) == 0;
		CHECK(calling);
	}
	for (int i = 0; i < THREADS; i++) {
		s[i].self = a;
		s[i].to = b;
		s[i].who = (uint8_t)i;
		if (pthread_create(&th[i], NULL, send_main, &s[i]) == 0)
			started++;
	}
	CHECK(started == THREADS);
	/* b reads every whisper; a reads its answers (DELIVERED with receipts; without, none is
	 * owed, and a DROPPED would fail the run). The deadline is generous: a run that passes
	 * takes well under a second here. */
	double end = testnode_now_s() + 30.0;
	unsigned owed = with_calls ? MSGS : 0;
	while ((t.got < MSGS || t.answered < owed) && testnode_now_s() < end)
		read_round(a, b, &t, 10);
	if (t.got < MSGS || t.answered < owed) {
		fprintf(stderr, "stopped at %u of %u whispers read, %u answered; sent by thread:",
		        t.got, MSGS, t.answered);
		for (int i = 0; i < THREADS; i++)
			fprintf(stderr, " %u", s[i].sent);
		fprintf(stderr, "\n");
		/* a sender may be stuck for good: end here, without joining it */
		CHECK(t.got == MSGS && t.answered == owed);
		exit(testlib_done("test_handoff"));
	}
	/* a while more: a whisper twice, or an answer after the last one owed, shows here */
	for (double more = testnode_now_s() + 0.2; testnode_now_s() < more;)
		read_round(a, b, &t, 10);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	caller.stop = true;
	if (calling)
		pthread_join(callth, NULL);
	CHECK(t.got == MSGS && t.out_of_order == 0);
	unsigned once = 0, refused = 0, unordered = 0, ids_known = 0;
	for (int i = 0; i < THREADS; i++) {
		refused += s[i].refused;
		unordered += s[i].ids_unordered;
		CHECK(t.next[i] == PER_THREAD);
		for (unsigned k = 0; k < PER_THREAD; k++)
			ids_known += s[i].ids[k] >= 1 && s[i].ids[k] <= MSGS &&
			             t.delivered[s[i].ids[k]] == 1;
	}
	for (unsigned i = 1; i <= MSGS; i++)
		once += t.delivered[i] == 1;
	CHECK(refused == 0 && unordered == 0);
	CHECK(t.dropped == 0 && t.other_answers == 0 && t.answered == owed);
	if (with_calls)
		CHECK(once == MSGS && ids_known == MSGS);
	else
		CHECK(once == 0);   /* no receipts asked for: none came */
	uint64_t waits = meshnode_test_send_waits(a);
	CHECK(waits > 0);
	CHECK(!with_calls || (caller.calls > 0 && caller.failed == 0));
	printf("  %d threads%s: %u of %u whispers read once and in each thread's order, %u "
	       "answered once; %llu sends waited for room; %u calls made meanwhile\n", THREADS,
	       with_calls ? " and receipts" : "", t.got, MSGS, once, (unsigned long long)waits,
	       caller.calls);
done:
	meshnode_destroy(&a);
	meshnode_destroy(&b);
}

int main(void)
{
	testlib_require_netns("test_handoff");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_senders_wait_for_room(false);
	test_senders_wait_for_room(true);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return testlib_done("test_handoff");
}
