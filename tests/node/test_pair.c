/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * Two embedded nodes in one process, on loopback inside the private network namespace that
 * tests/integration/netns-run creates: discovery, one session per pair, the same SAS on both
 * ends, join/shout/whisper through the public API, and a clean stop reported as EXIT.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meshnode.h"
#include "testlib.h"
#include "testnode.h"

static char dir[] = "/tmp/test_pair.XXXXXX";

/* alice's trace (meshnode_set_trace), counted on her loop thread */
static _Atomic unsigned long trace_lines, trace_shouts_out, trace_bad;

static void on_trace(void *arg, const char *line)
{
	(void)arg;
	size_t len = strlen(line);
	trace_lines++;
	if (strncmp(line, "{\"ts\":\"", 7) != 0 || len < 2 || line[len - 1] != '}' ||
	    strchr(line, '\n') || strstr(line, "hello group") || strstr(line, "chat"))
		trace_bad++;
	if (strstr(line, "\"ev\":\"out\"") && strstr(line, "\"msg\":\"shout\""))
		trace_shouts_out++;
}

/* pre_group: joined before meshnode_start(), so that the node starts in it */
static struct meshnode *start(const char *name, const char *pre_group)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, 47611);
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n) {
		fprintf(stderr, "meshnode_new: %s\n", err);
		return NULL;
	}
	if (strcmp(name, "alice") == 0)
		CHECK(meshnode_set_trace(n, on_trace, NULL) == MESH_OK);
	if (pre_group) {
		CHECK(meshnode_join(n, pre_group) == MESH_OK);
		CHECK(meshnode_join(n, pre_group) == MESH_ESTATE);
		CHECK(meshnode_join(n, "bad\tname") == MESH_EINVAL);
		CHECK(meshnode_join(n, "passing") == MESH_OK);
		CHECK(meshnode_leave(n, "passing") == MESH_OK);
		CHECK(meshnode_leave(n, "passing") == MESH_ESTATE);
	}
	if (meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode_start: %s\n", err);
		meshnode_destroy(&n);
	}
	if (n)
		CHECK(meshnode_set_trace(n, on_trace, NULL) == MESH_ESTATE);   /* before the start */
	return n;
}

/* Waits up to timeout_ms for an event of type t (and group/text if given). */
static struct meshnode_event *wait_for(struct meshnode *n, enum meshnode_event_type t,
                                       const char *text, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(n, 50))) {
			if (ev->type == t && (!text || (ev->len == strlen(text) &&
			                                memcmp(ev->data, text, ev->len) == 0)))
				return ev;
			meshnode_event_destroy(&ev);
		}
	}
	return NULL;
}

enum { FLOOD = 4000, FLOOD_SIZE = 20000 };

struct flood {
	struct meshnode *self, *peer;
	long sent, got, bad;
};

/* Whispers FLOOD messages to the peer while reading its own node's whispers, keeping at most
 * a hundred in flight so no queue overflows. */
static void *flood_main(void *arg)
{
	struct flood *f = arg;
	static _Thread_local char msg[FLOOD_SIZE];
	uint64_t last = 0;
	struct timespec t0, t;
	memset(msg, 'f', sizeof msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* a lost frame means the peer never gets everything: give up after 20 s, as a failure */
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((f->got >= FLOOD && f->sent >= FLOOD) || t.tv_sec - t0.tv_sec > 20)
			break;
		bool can_send = f->sent < FLOOD && f->sent - f->got < 100;
		if (can_send &&
		    meshnode_whisper(f->self, meshnode_id(f->peer), msg, sizeof msg, NULL) == MESH_OK)
			f->sent++;
		/* block when there is nothing to send: two spinning threads starve the loops */
		struct meshnode_event *ev;
		int wait = can_send ? 0 : 50;
		while ((ev = meshnode_next_event(f->self, wait))) {
			wait = 0;
			if (ev->type == MESHNODE_EV_WHISPER) {
				f->bad += ev->msg_id <= last || ev->len != sizeof msg;
				last = ev->msg_id;
				f->got++;
			}
			meshnode_event_destroy(&ev);
		}
	}
	return NULL;
}

/* meshnode_counters: the struct's counters first, by name and in order, then the engine's;
 * a short array gets what fits and the count of all. */
static void check_counters(struct meshnode *n, const struct meshnode_stats *st)
{
	struct meshnode_counter cs[64], few[3];
	size_t count = 0, count2 = 0;
	CHECK(meshnode_counters(n, cs, 64, &count) == MESH_OK);
	CHECK(count > 17 && count <= 64);
	CHECK(count <= 64 && strcmp(cs[0].name, "beacons_rx") == 0 && cs[0].value >= st->beacons_rx);
	CHECK(strcmp(cs[16].name, "sessions_live") == 0 && cs[16].value == st->sessions_live);
	bool limited = false, closed = false;
	for (size_t i = 0; i < count && i < 64; i++) {
		limited |= strcmp(cs[i].name, "beacons_limited") == 0;
		closed |= strcmp(cs[i].name, "conns_closed_unauth_timeout") == 0;
	}
	CHECK(limited && closed);
	CHECK(meshnode_counters(n, few, 3, &count2) == MESH_OK && count2 == count);
	CHECK(strcmp(few[2].name, cs[2].name) == 0);
	CHECK(meshnode_counters(n, NULL, 0, &count2) == MESH_OK && count2 == count);
	CHECK(meshnode_counters(n, NULL, 1, &count2) == MESH_EINVAL);
}

int main(void)
{
	if (!getenv("MN_IN_NETNS")) {
		fprintf(stderr, "test_pair must run inside tests/integration/netns-run\n");
		return 1;
	}
	if (!mkdtemp(dir))
		return 1;
	struct meshnode *a = start("alice", "early"), *b = start("bob", NULL);
	CHECK(a && b);
	if (!a || !b)
		return testlib_done("test_pair");

	struct meshnode_event *ev = wait_for(a, MESHNODE_EV_ENTER, NULL, 5000);
	CHECK(ev && memcmp(ev->peer, meshnode_id(b), MESHNODE_IDLEN) == 0);
	CHECK(ev && strcmp(ev->name, "bob") == 0);
	meshnode_event_destroy(&ev);
	ev = wait_for(b, MESHNODE_EV_ENTER, NULL, 5000);
	CHECK(ev && strcmp(ev->name, "alice") == 0);
	meshnode_event_destroy(&ev);

	/* one session per pair: exactly one side initiated */
	struct meshnode_peer *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;
	CHECK(meshnode_peers(a, &pa, &na) == MESH_OK && na == 1);
	CHECK(meshnode_peers(b, &pb, &nb) == MESH_OK && nb == 1);
	/* alice joined "early" before she started: her very first hello carried it, so bob
	 * knows it as soon as she entered, whoever dialled */
	CHECK(nb == 1 && pb[0].ngroups == 1 && strcmp(pb[0].groups[0], "early") == 0);
	if (na == 1 && nb == 1)
		CHECK(pa[0].initiator != pb[0].initiator);
	meshnode_peers_free(&pa, na);
	meshnode_peers_free(&pb, nb);

	char sa[32], sb[32];
	CHECK(meshnode_sas(a, meshnode_id(b), sa) == MESH_OK);
	CHECK(meshnode_sas(b, meshnode_id(a), sb) == MESH_OK);
	CHECK(strcmp(sa, sb) == 0);

	/* groups and a shout */
	CHECK(meshnode_join(b, "chat") == MESH_OK);
	CHECK(meshnode_join(b, "chat") == MESH_ESTATE);
	ev = wait_for(a, MESHNODE_EV_JOIN, NULL, 3000);
	CHECK(ev && strcmp(ev->group, "chat") == 0);
	meshnode_event_destroy(&ev);
	CHECK(meshnode_join(a, "chat") == MESH_OK);
	uint64_t id1 = 0, id2 = 0;
	CHECK(meshnode_shout(a, "chat", "hello group", 11, &id1) == MESH_OK && id1 > 0);
	ev = wait_for(b, MESHNODE_EV_SHOUT, "hello group", 3000);
	CHECK(ev && strcmp(ev->group, "chat") == 0 && ev->msg_id == id1);
	meshnode_event_destroy(&ev);

	/* whisper, and the payload cap */
	CHECK(meshnode_whisper(b, meshnode_id(a), "psst", 4, &id2) == MESH_OK);
	ev = wait_for(a, MESHNODE_EV_WHISPER, "psst", 3000);
	CHECK(ev != NULL);
	meshnode_event_destroy(&ev);
	CHECK(meshnode_shout(a, "chat", "x", MESHNODE_MAX_PAYLOAD + 1, NULL) == MESH_ELIMIT);

	/* a 1 MiB shout is fragmented and reassembled intact */
	uint8_t *big = malloc(MESHNODE_MAX_PAYLOAD);
	CHECK(big != NULL);
	if (big) {
		for (size_t i = 0; i < MESHNODE_MAX_PAYLOAD; i++)
			big[i] = (uint8_t)(i * 31 + 7);
		CHECK(meshnode_shout(a, "chat", big, MESHNODE_MAX_PAYLOAD, NULL) == MESH_OK);
		ev = NULL;
		for (int i = 0; i < 100 && !ev; i++) {
			ev = meshnode_next_event(b, 100);
			if (ev && ev->type != MESHNODE_EV_SHOUT)
				meshnode_event_destroy(&ev);
		}
		CHECK(ev && ev->len == MESHNODE_MAX_PAYLOAD &&
		      memcmp(ev->data, big, MESHNODE_MAX_PAYLOAD) == 0);
		/* alice's trace: a line per frame, "hello group" (1) and 18 fragments of the 1 MiB,
		 * and nothing of a payload or a group name */
		/* the last record follows its send, on alice's thread */
		for (int i = 0; i < 100 && trace_shouts_out < 1 + 18; i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		CHECK(trace_shouts_out == 1 + 18);
		CHECK(trace_bad == 0);
		CHECK(trace_lines > 19);
		meshnode_event_destroy(&ev);
		free(big);
	}

	/* Both loop threads sealing at once: a buffer shared between nodes in one process once
	 * corrupted frames here (frames_auth_failed). Two application threads flood both ways,
	 * each driving its own node, so the two loops seal concurrently; every message is checked. */
	{
		struct flood fa = { .self = a, .peer = b }, fb = { .self = b, .peer = a };
		pthread_t th;
		CHECK(pthread_create(&th, NULL, flood_main, &fb) == 0);
		flood_main(&fa);
		pthread_join(th, NULL);
		if (fa.got != FLOOD || fb.got != FLOOD)
			fprintf(stderr, "flood: a sent %ld got %ld, b sent %ld got %ld\n", fa.sent, fa.got,
			        fb.sent, fb.got);
		CHECK(fa.sent == FLOOD && fb.sent == FLOOD);
		CHECK(fa.got == FLOOD && fb.got == FLOOD && fa.bad == 0 && fb.bad == 0);
		struct meshnode_stats st_a, st_b;
		CHECK(meshnode_stats(a, &st_a) == MESH_OK && meshnode_stats(b, &st_b) == MESH_OK);
		CHECK(st_a.frames_auth_failed == 0 && st_b.frames_auth_failed == 0);
		CHECK(st_a.msgs_dup == 0 && st_b.msgs_dup == 0 && st_a.fragments_dropped == 0);
		check_counters(a, &st_a);
	}

	/* clean stop: the other side reports EXIT at once (well before expiry) */
	meshnode_destroy(&b);
	ev = wait_for(a, MESHNODE_EV_EXIT, NULL, 2000);
	CHECK(ev && strcmp(ev->reason, "bye") == 0);
	meshnode_event_destroy(&ev);
	meshnode_destroy(&a);

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return testlib_done("test_pair");
}
