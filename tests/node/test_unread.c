/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_unread: applications that do not read their events (docs/protocol.md section 6,
 * "Delivery"; meshnode.h). Two embedded nodes on loopback, inside the private network namespace
 * that tests/integration/netns-run makes; the event queue's caps are made small through the
 * test hooks so that a test can fill them.
 *
 * - A receiver that reads nothing: its node refuses what does not fit (the sender keeps it),
 *   and once the application reads, every message arrives exactly once and in order, and the
 *   sender has exactly one answer for each (with receipts: DELIVERED); nothing is discarded.
 * - A sender that reads none of its own events: its sends are refused (MESH_ELIMIT) once its
 *   queue is full, and when it reads, every send that was accepted has exactly one answer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meshnode.h"
#include "meshnode_testhooks.h"
#include "testlib.h"
#include "testnode.h"

static char dir[] = "/tmp/test_unread.XXXXXX";

enum { CAP_EVENTS = 40, CAP_BYTES = 64 * 1024, MSGS = 300, SIZE = 1000 };

static struct meshnode *start(const char *name, uint16_t mport, bool receipts)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, mport);
	cfg.evasive_ms = 10000;
	cfg.expired_ms = 30000;
	cfg.receipts = receipts;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n) {
		fprintf(stderr, "meshnode_new: %s\n", err);
		return NULL;
	}
	meshnode_test_event_caps(n, CAP_EVENTS, CAP_BYTES);
	if (meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode_start: %s\n", err);
		meshnode_destroy(&n);
	}
	return n;
}

struct answers {
	unsigned delivered[MSGS + 1], dropped[MSGS + 1];
	unsigned other;
};

/* One read of everything queued at a; the answers are indexed by msg_id. */
static void read_answers(struct meshnode *a, struct answers *an, int wait_ms)
{
	struct meshnode_event *ev;
	while ((ev = meshnode_next_event(a, wait_ms))) {
		wait_ms = 0;
		if ((ev->type == MESHNODE_EV_DELIVERED || ev->type == MESHNODE_EV_DROPPED) &&
		    ev->msg_id >= 1 && ev->msg_id <= MSGS) {
			if (ev->type == MESHNODE_EV_DELIVERED)
				an->delivered[ev->msg_id]++;
			else
				an->dropped[ev->msg_id]++;
		} else if (ev->type == MESHNODE_EV_DELIVERED || ev->type == MESHNODE_EV_DROPPED) {
			an->other++;
		}
		meshnode_event_destroy(&ev);
	}
}

static void test_unread_receiver(void)
{
	struct meshnode *a = start("sender", 47621, true), *b = start("reader", 47621, false);
	static struct answers an;
	static char msg[SIZE];
	CHECK(a && b);
	if (!a || !b)
		goto done;
	CHECK(testnode_wait_enter(a, 10.0) && testnode_wait_enter(b, 10.0));
	/* b reads nothing while a sends: far more than b's queue holds (40 messages) */
	unsigned accepted = 0;
	for (unsigned i = 0; i < MSGS; i++) {
		snprintf(msg, sizeof msg, "m%05u", i);
		uint64_t id = 0;
		if (meshnode_whisper(a, meshnode_id(b), msg, SIZE, &id) == MESH_OK)
			accepted++;
		read_answers(a, &an, 0);
	}
	CHECK(accepted == MSGS);
	/* let the sender push, and the receiver refuse, for a while */
	for (double end = testnode_now_s() + 1.5; testnode_now_s() < end;)
		read_answers(a, &an, 50);
	/* b reads now: everything, once, in order */
	unsigned got = 0, in_order = 0, bad = 0;
	uint64_t last = 0;
	double end = testnode_now_s() + 20.0;
	while (got < MSGS && testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(b, 50);
		if (ev && ev->type == MESHNODE_EV_WHISPER) {
			char want[16];
			snprintf(want, sizeof want, "m%05u", got);
			in_order += ev->msg_id > last && ev->len == SIZE &&
			            memcmp(ev->data, want, strlen(want)) == 0;
			bad += ev->msg_id <= last;
			last = ev->msg_id;
			got++;
		}
		meshnode_event_destroy(&ev);
		read_answers(a, &an, 0);
	}
	CHECK(got == MSGS);
	CHECK(in_order == MSGS && bad == 0);
	/* and the sender has one answer for each: delivered (nothing was dropped) */
	for (end = testnode_now_s() + 5.0; testnode_now_s() < end;) {
		unsigned n = 0;
		for (unsigned i = 1; i <= MSGS; i++)
			n += an.delivered[i];
		if (n == MSGS)
			break;
		read_answers(a, &an, 50);
	}
	unsigned one = 0, dropped = 0;
	for (unsigned i = 1; i <= MSGS; i++) {
		one += an.delivered[i] + an.dropped[i] == 1;
		dropped += an.dropped[i];
	}
	CHECK(one == MSGS && dropped == 0 && an.other == 0);
	printf("  unread receiver: %u of %u whispers taken once and in order after it read, "
	       "%u answered once (%u dropped)\n", got, MSGS, one, dropped);
done:
	meshnode_destroy(&a);
	meshnode_destroy(&b);
}

static void test_unread_sender(void)
{
	struct meshnode *a = start("deaf", 47622, true), *b = start("peer", 47622, false);
	static struct answers an;
	static char msg[64];
	CHECK(a && b);
	if (!a || !b)
		goto done;
	CHECK(testnode_wait_enter(a, 10.0) && testnode_wait_enter(b, 10.0));
	/* a never reads while it sends; b reads everything */
	unsigned accepted = 0, refused = 0;
	bool accepted_id[MSGS + 1] = { false };
	for (unsigned i = 0; i < MSGS; i++) {
		snprintf(msg, sizeof msg, "s%05u", i);
		uint64_t id = 0;
		enum mesh_err rc = meshnode_whisper(a, meshnode_id(b), msg, strlen(msg), &id);
		if (rc == MESH_OK && id >= 1 && id <= MSGS) {
			accepted++;
			accepted_id[id] = true;
		} else {
			refused += rc == MESH_ELIMIT;
		}
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(b, 0)))
			meshnode_event_destroy(&ev);
		nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
	}
	CHECK(refused > 0 && accepted >= CAP_EVENTS);
	/* a reads now: one answer for each accepted send, none for the refused */
	double end = testnode_now_s() + 10.0;
	unsigned answered = 0;
	while (testnode_now_s() < end && answered < accepted) {
		read_answers(a, &an, 50);
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(b, 0)))
			meshnode_event_destroy(&ev);
		answered = 0;
		for (unsigned i = 1; i <= MSGS; i++)
			answered += an.delivered[i] + an.dropped[i];
	}
	unsigned right = 0;
	for (unsigned i = 1; i <= MSGS; i++)
		right += (an.delivered[i] + an.dropped[i]) == (accepted_id[i] ? 1u : 0u);
	CHECK(right == MSGS && an.other == 0);
	printf("  unread sender: %u sends accepted, %u refused with MESH_ELIMIT, %u answered, "
	       "%u of %u ids with the right number of answers\n", accepted, refused, answered,
	       right, MSGS);
done:
	meshnode_destroy(&a);
	meshnode_destroy(&b);
}

int main(void)
{
	testlib_require_netns("test_unread");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_unread_receiver();
	test_unread_sender();
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_unread: could not remove %s\n", dir);
	return testlib_done("test_unread");
}
