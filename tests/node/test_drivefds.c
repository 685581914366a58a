/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * One thread owns three driven nodes (meshnode_start_driven) and runs them from a poll loop
 * of its own with meshnode_drive_fds(), on loopback inside netns-run's namespace. It turns a
 * node only when one of the node's descriptors is readable or the node's time is up, so a
 * readiness the call failed to report would leave every step of a ping-pong to the node's
 * time, which the test counts. xan whispers to yul and shouts to the group of all three, with
 * receipts; every message is accounted for: yul gets each whisper and each shout exactly once
 * and in order, zed each shout, and xan exactly one DELIVERED per message per receiver (the
 * ping-pong's too) and no DROPPED. Also: the call refuses a node not started or stopped and a
 * thread that is not the owner; it counts past cap without writing there and gives open
 * descriptors; a send no turn has run yet, or a look at the known peers due since the last
 * turn, asks for no wait; and an idle node asks for a wait (of 10 ms or more, but zed's).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshnode.h"
#include "meshnode_testhooks.h"
#include "testlib.h"
#include "testnode.h"

#define WHISPERS 2000
#define SHOUTS 500
#define NODES 3
#define PINGS 200
#define MAX_FDS 16
#define GROUP "g"
#define DEADLINE_S 60.0

static char dir[] = "/tmp/test_drivefds.XXXXXX";
static struct meshnode *node[NODES];     /* xan, yul, zed */
static const char *const names[NODES] = { "xan", "yul", "zed" };

/* What the owner saw, per node. */
static struct {
	long entered, joined;                /* ENTERs, JOINs of GROUP by the others */
	long whispers, shouts;               /* xan's, in order so far */
	long out_of_order, foreign;
	long delivered, dropped, receipts_bad;
} seen[NODES];

static unsigned char rcpt[NODES][WHISPERS + SHOUTS];   /* xan's DELIVERED, by receiver */
static uint64_t first_id;                    /* xan's message IDs: first_id + sending order */
static bool is_shout[WHISPERS + SHOUTS];     /* by sending order */
static int longest_wait[NODES];               /* the longest wait drive_fds asked for */
static long steps_readable;                  /* ping-pong steps a readable descriptor moved */
static long pings, pongs;                    /* xan's pings answered by yul, pongs back */
static uint64_t ping0, pong0;                /* their first IDs: the rest follow one by one */
static unsigned char ping_rcpt[PINGS], pong_rcpt[PINGS];   /* their DELIVERED, by index */
static long ping_receipts, pong_receipts;    /* at xan and at yul, each once */

static struct meshnode *make(const char *name)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, 47643);
	cfg.receipts = true;
	cfg.queue_msgs = 2 * (WHISPERS + SHOUTS);
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n)
		fprintf(stderr, "meshnode_new %s: %s\n", name, err);
	return n;
}

static int who(const uint8_t *id)
{
	for (int i = 0; i < NODES; i++)
		if (memcmp(id, meshnode_id(node[i]), MESHNODE_IDLEN) == 0)
			return i;
	return -1;
}

/* One of xan's messages of the bulk part at node at: counted in order. */
static void note_msg(int at, int from, const struct meshnode_event *ev, bool w)
{
	long *count = w ? &seen[at].whispers : &seen[at].shouts;
	if (from != 0)
		seen[at].foreign++;
	else if (testnode_index_of(ev, w ? 'w' : 's') == *count)
		(*count)++;
	else
		seen[at].out_of_order++;
}

static void note(int at, const struct meshnode_event *ev)
{
	int from = who(ev->peer);
	switch (ev->type) {
	case MESHNODE_EV_ENTER:
		seen[at].entered++;
		break;
	case MESHNODE_EV_JOIN:
		if (strcmp(ev->group, GROUP) == 0)
			seen[at].joined++;
		break;
	case MESHNODE_EV_WHISPER:
		if (at == 1 && from == 0 && testnode_index_of(ev, 'p') == pings) {   /* yul answers */
			char msg[16];
			int len = snprintf(msg, sizeof msg, "r%ld", pings);
			uint64_t id = 0;
			if (meshnode_whisper(node[1], meshnode_id(node[0]), msg, (size_t)len, &id) !=
			    MESH_OK || (pings && id != pong0 + (uint64_t)pings))
				seen[at].foreign++;
			if (pings++ == 0)
				pong0 = id;
		} else if (at == 0 && from == 1 && testnode_index_of(ev, 'r') == pongs) {
			pongs++;
		} else {
			note_msg(at, from, ev, true);
		}
		break;
	case MESHNODE_EV_SHOUT:
		note_msg(at, from, ev, false);
		break;
	case MESHNODE_EV_DELIVERED: {
		if (at == 1 && from == 0) {   /* yul's pongs */
			uint64_t k = ev->msg_id - pong0;
			if (pongs && ev->msg_id >= pong0 && k < PINGS && pong_rcpt[k]++ == 0)
				pong_receipts++;
			else
				seen[at].receipts_bad++;
			break;
		}
		if (at == 0 && from == 1 && (first_id == 0 || ev->msg_id < first_id)) {
			uint64_t k = ev->msg_id - ping0;   /* sent before the bulk part's first */
			if (ev->msg_id >= ping0 && k < PINGS && ping_rcpt[k]++ == 0)
				ping_receipts++;
			else
				seen[at].receipts_bad++;
			break;
		}
		uint64_t i = ev->msg_id - first_id;
		if (at != 0 || from < 1 || ev->msg_id < first_id || i >= WHISPERS + SHOUTS ||
		    (from == 2 && !is_shout[i]) || rcpt[from][i]++ != 0)
			seen[at].receipts_bad++;
		else
			seen[at].delivered++;
		break;
	}
	case MESHNODE_EV_DROPPED:
		seen[at].dropped++;
		break;
	default:
		break;
	}
}

/* One pass of the owner's loop: every node's descriptors into one poll, then a turn of each
 * node that has input or whose time is up: its events taken with meshnode_next_event(), whose
 * call that finds none queued runs the turn. */
static bool pass(void)
{
	struct pollfd pfd[NODES * MAX_FDS];
	int first[NODES], count[NODES], wait_ms = 1000;
	double due[NODES];
	nfds_t np = 0;
	for (int i = 0; i < NODES; i++) {
		int fds[MAX_FDS], t = -1;
		count[i] = meshnode_drive_fds(node[i], fds, MAX_FDS, &t);
		if (count[i] < 1 || count[i] > MAX_FDS || t < 0)
			return false;
		due[i] = testnode_now_s() + t / 1000.0;
		if (t > longest_wait[i])
			longest_wait[i] = t;
		first[i] = (int)np;
		for (int k = 0; k < count[i]; k++) {
			if (fcntl(fds[k], F_GETFD) == -1)   /* an open descriptor */
				return false;
			pfd[np++] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
		}
		if (t < wait_ms)
			wait_ms = t;
	}
	if (poll(pfd, np, wait_ms) < 0)
		return false;
	double now = testnode_now_s();
	for (int i = 0; i < NODES; i++) {
		bool readable = false;
		for (int k = 0; k < count[i]; k++)
			readable |= pfd[first[i] + k].revents != 0;
		if (!readable && now < due[i])
			continue;
		long steps = pings + pongs;
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(node[i], 0))) {
			note(i, ev);
			meshnode_event_destroy(&ev);
		}
		if (readable)
			steps_readable += pings + pongs - steps;
	}
	return true;
}

static bool linked(void)
{
	for (int i = 0; i < NODES; i++)
		if (seen[i].entered < NODES - 1 || seen[i].joined < NODES - 1)
			return false;
	return true;
}

static bool all_in(void)
{
	/* the ping-pong's receipts too: an ACK may come after the bulk part's last message */
	return seen[1].whispers == WHISPERS && seen[1].shouts == SHOUTS &&
	       seen[2].shouts == SHOUTS && seen[0].delivered == WHISPERS + 2 * SHOUTS &&
	       ping_receipts == PINGS && pong_receipts == PINGS;
}

static void *stranger_main(void *arg)
{
	int fds[MAX_FDS], t = -1;
	*(int *)arg = meshnode_drive_fds(node[0], fds, MAX_FDS, &t);
	return NULL;
}

int main(void)
{
	testlib_require_netns("test_drivefds");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < NODES; i++)
		node[i] = make(names[i]);
	CHECK(node[0] && node[1] && node[2]);
	if (!node[0] || !node[1] || !node[2])
		return testlib_done("test_drivefds");
	char err[512];
	int fds[MAX_FDS], t = -1;
	CHECK(meshnode_drive_fds(node[0], fds, MAX_FDS, &t) == -1);   /* not started */
	meshnode_test_known_save(node[2], 10, NULL, NULL);
	for (int i = 0; i < NODES; i++) {
		CHECK(meshnode_join(node[i], GROUP) == MESH_OK);
		CHECK(meshnode_start_driven(node[i], err, sizeof err) == MESH_OK);
	}

	/* cap 0 and cap 1 count what cap 16 gets, and write no more than cap */
	int sentinel = -7, two[2] = { -7, -7 };
	int n0 = meshnode_drive_fds(node[0], &sentinel, 0, NULL);
	int n1 = meshnode_drive_fds(node[0], two, 1, NULL);
	int n16 = meshnode_drive_fds(node[0], fds, MAX_FDS, &t);
	CHECK(n0 >= 1 && n0 == n16 && n1 == n16 && sentinel == -7);
	CHECK(n16 >= 1 && two[0] == fds[0] && fds[0] >= 0 && two[1] == -7);
	int stranger = 0;
	pthread_t st;
	CHECK(pthread_create(&st, NULL, stranger_main, &stranger) == 0);
	pthread_join(st, NULL);
	CHECK(stranger == -1);   /* not the owner */

	double end = testnode_now_s() + DEADLINE_S;
	bool ok = true;
	while (ok && !linked() && testnode_now_s() < end)
		ok = pass();
	CHECK(ok && linked());

	/*
	 * Ping-pong: each whisper waits for its answer, so every step needs the receiver's turn.
	 * A node is turned when its descriptors are readable or its time is up (every 20 to
	 * 100 ms here); descriptors that did not say so would leave the steps to the time, and
	 * the turns a readable descriptor asked for would be far fewer than the messages.
	 */
	steps_readable = 0;
	bool ping_ids_in_order = true;
	for (long k = 0; ok && k < PINGS; k++) {
		char msg[16];
		uint64_t id = 0;
		int len = snprintf(msg, sizeof msg, "p%ld", k);
		ok = meshnode_whisper(node[0], meshnode_id(node[1]), msg, (size_t)len, &id) ==
		     MESH_OK;
		if (k == 0)
			ping0 = id;
		ping_ids_in_order &= id == ping0 + (uint64_t)k;
		while (ok && pongs <= k && testnode_now_s() < end)
			ok = pass();
	}
	CHECK(ok && pings == PINGS && pongs == PINGS && ping_ids_in_order);
	/* 2 x PINGS steps (a ping at yul, a pong at xan): most must come with their descriptor */
	CHECK(steps_readable >= PINGS);
	if (steps_readable < PINGS)
		fprintf(stderr, "%ld of %d ping-pong steps came with a readable descriptor\n",
		        steps_readable, 2 * PINGS);

	/* a send that no turn has run yet asks for no wait */
	CHECK(meshnode_whisper(node[0], meshnode_id(node[1]), "w0", 2, &first_id) == MESH_OK);
	t = -1;
	CHECK(meshnode_drive_fds(node[0], fds, MAX_FDS, &t) >= 1 && t == 0);
	long w = 1, s = 0;
	bool ids_in_order = true;
	for (long k = 1; ok && k < WHISPERS + SHOUTS; k++) {   /* 4 whispers, then a shout */
		char msg[16];
		uint64_t mid = 0;
		bool shout = w == WHISPERS || (s < SHOUTS && k % 5 == 4);
		int len = snprintf(msg, sizeof msg, "%c%ld", shout ? 's' : 'w', shout ? s : w);
		enum mesh_err rc = shout ? meshnode_shout(node[0], GROUP, msg, (size_t)len, &mid)
		                         : meshnode_whisper(node[0], meshnode_id(node[1]), msg,
		                                            (size_t)len, &mid);
		CHECK(rc == MESH_OK);
		ok = rc == MESH_OK;
		ids_in_order &= mid == first_id + (uint64_t)k;
		is_shout[k] = shout;
		if (shout)
			s++;
		else
			w++;
		if (k % 64 == 0)
			ok = ok && pass();
	}
	CHECK(ids_in_order && w == WHISPERS && s == SHOUTS);
	while (ok && !all_in() && testnode_now_s() < end)
		ok = pass();
	CHECK(ok);
	if (!all_in())
		fprintf(stderr, "yul %ld whispers %ld shouts, zed %ld shouts, xan %ld delivered "
		        "%ld dropped, receipts %ld pings %ld pongs\n", seen[1].whispers,
		        seen[1].shouts, seen[2].shouts, seen[0].delivered, seen[0].dropped,
		        ping_receipts, pong_receipts);
	CHECK(seen[1].whispers == WHISPERS && seen[1].shouts == SHOUTS);
	CHECK(seen[2].whispers == 0 && seen[2].shouts == SHOUTS);
	for (int i = 0; i < NODES; i++) {
		CHECK(seen[i].out_of_order == 0 && seen[i].foreign == 0);
		CHECK(seen[i].dropped == 0 && seen[i].receipts_bad == 0);
	}
	CHECK(seen[0].delivered == WHISPERS + 2 * SHOUTS);
	CHECK(ping_receipts == PINGS && pong_receipts == PINGS);

	/*
	 * zed saves its known peers every 10 ms (the test hook): 15 ms after a turn that looked
	 * at them, the next look is due, and no turn has tried it, so no wait. A look that fell
	 * due before the last turn and that it could not make waits TAKEN_POLL_MS; this one did
	 * not, and with 20 ms asked for it would wait behind the next poll.
	 */
	int waits_past_due = 0;
	for (int k = 0; ok && k < 20; k++) {
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(node[2], 0)))   /* the last call turns */
			meshnode_event_destroy(&ev);
		struct timespec ts = { 0, 15 * 1000000L };
		nanosleep(&ts, NULL);
		t = -1;
		ok = meshnode_drive_fds(node[2], fds, MAX_FDS, &t) >= 1;
		waits_past_due += t != 0;
	}
	CHECK(ok && waits_past_due == 0);
	if (waits_past_due)
		fprintf(stderr, "%d of 20 calls asked for a wait with the known peers' look due\n",
		        waits_past_due);

	/* idle, the nodes ask for a wait of their next deadline (the sweep's is 100 ms at most) */
	memset(longest_wait, 0, sizeof longest_wait);
	double until = testnode_now_s() + 5;
	bool all_waited = false;
	while (ok && !all_waited && testnode_now_s() < until) {
		ok = pass();
		all_waited = true;
		for (int i = 0; i < NODES; i++)   /* zed looks every 10 ms: some wait, less */
			all_waited &= longest_wait[i] >= (i == 2 ? 1 : 10);
	}
	CHECK(ok && all_waited);
	for (int i = 0; i < NODES; i++)
		CHECK(longest_wait[i] <= 1000);

	for (int i = 0; i < NODES; i++) {
		meshnode_stop(node[i]);
		CHECK(meshnode_drive_fds(node[i], fds, MAX_FDS, &t) == -1);   /* stopped */
		meshnode_destroy(&node[i]);
	}
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return testlib_done("test_drivefds");
}
