/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_floor_retry: meshbench's raw ZeroMQ mesh (floor_mesh, tools/meshbench_floor.c) gets
 * through a frame that ZeroMQ lost, and through an answer that came twice. This test plays
 * process 1 of a mesh of two against meshbench's own process 0 (`meshbench --zmq-mesh-child 0
 * 2 ...`), which dials it, and waits for process 0's report that its pair is done:
 *   lost:  the first HELLO is dropped unanswered, as when ZMTP's handshake timer closed the
 *          connection it came on; the next HELLO is answered.
 *   twice: the first HELLO is held until the next one comes, then both get a REPLY, and the
 *          FINISH gets two ACCEPTs: process 0 must move the pair on once, sending one first
 *          frame and reporting, where a dialler that took every answer sends FINISH and the
 *          first frame twice, counts the pair twice and never reports. (A second FINISH is not
 *          counted as a failure: it may also be a retry, if the ACCEPT took over 1 s.)
 * Before the dialler sent its frames again, both ended without a report (no second HELLO; a
 * full meshbench run saw 126 of 128 processes done), and "twice" also fails with a dialler
 * that sends again but takes every answer. Usage: test_floor_retry MESHBENCH lost|twice
 */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "meshbench_floor.h"
#include "monoclock.h"
#include "testlib.h"

#define WAIT_MS 15000     /* for each step; the dialler's first retry comes after 1 s */

struct counts {
	int hello, finish, first;
};

static void send_frame(void *router, const char *rid, int rl, int len)
{
	char buf[256];
	memset(buf, 'm', sizeof buf);
	CHECK(zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE) == rl);
	CHECK(zmq_send(router, buf, (size_t)len, 0) == len);
}

/* The next frame from process 0 within WAIT_MS, counted, with its routing id; its size, or -1. */
static int next_frame(void *router, struct counts *c, char *rid, int *rl)
{
	char buf[256];
	uint64_t end = monoclock_ms() + WAIT_MS;
	while (monoclock_ms() < end) {
		if ((*rl = zmq_recv(router, rid, 255, 0)) < 0)
			continue;     /* ZMQ_RCVTIMEO */
		int len = zmq_recv(router, buf, sizeof buf, 0);
		c->hello += len == F_HELLO;
		c->finish += len == F_FINISH;
		c->first += len == F_FIRST;
		return len;
	}
	return -1;
}

/* Plays process 1 until process 0 reports its pair done, or a step waits too long. */
static void play(void *router, int up, bool twice, struct counts *c)
{
	char rid[256], rid0[256];
	int rl, rl0, len;
	/* the first HELLO: dropped, or held */
	while ((len = next_frame(router, c, rid0, &rl0)) >= 0 && len != F_HELLO)
		;
	CHECK(len == F_HELLO);
	/* the dialler's own retry */
	while ((len = next_frame(router, c, rid, &rl)) >= 0 && len != F_HELLO)
		;
	CHECK(len == F_HELLO);
	if (len != F_HELLO)
		return;
	if (twice)
		send_frame(router, rid0, rl0, F_REPLY);
	send_frame(router, rid, rl, F_REPLY);
	while ((len = next_frame(router, c, rid, &rl)) >= 0 && len != F_FINISH)
		;
	CHECK(len == F_FINISH);
	if (len != F_FINISH)
		return;
	send_frame(router, rid, rl, F_ACCEPT);
	if (twice)
		send_frame(router, rid, rl, F_ACCEPT);
	while ((len = next_frame(router, c, rid, &rl)) >= 0 && len != F_FIRST)
		;
	CHECK(len == F_FIRST);
	/* process 0's report: 'd' (its record's first byte), within WAIT_MS */
	char rec[64];
	struct pollfd p = { .fd = up, .events = POLLIN };
	CHECK(poll(&p, 1, WAIT_MS) == 1 && read(up, rec, sizeof rec) > 0 && rec[0] == 'd');
	/* whatever else it sent by now: a second first frame would be counted here */
	while (zmq_poll(&(zmq_pollitem_t){ .socket = router, .events = ZMQ_POLLIN }, 1, 300) == 1)
		next_frame(router, c, rid, &rl);
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "lost") != 0 && strcmp(argv[2], "twice") != 0)) {
		fprintf(stderr, "usage: test_floor_retry MESHBENCH lost|twice\n");
		return 2;
	}
	testlib_require_netns("test_floor_retry");
	bool twice = strcmp(argv[2], "twice") == 0;
	char ep[64], a_up[16], a_go[16], ppid[24], rec[64];
	int up[2], go[2], zero = 0, tick = 100;
	void *ctx = zmq_ctx_new();
	void *router = zmq_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(router, ZMQ_RCVTIMEO, &tick, sizeof tick);
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", FLOOR_MESH_PORT0 + 1);
	CHECK(zmq_bind(router, ep) == 0);
	CHECK(pipe(up) == 0 && pipe(go) == 0);
	snprintf(a_up, sizeof a_up, "%d", up[1]);
	snprintf(a_go, sizeof a_go, "%d", go[0]);
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	pid_t pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(go[1]);
		execl(argv[1], argv[1], "--zmq-mesh-child", "0", "2", a_up, a_go, ppid, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	close(up[1]);
	close(go[0]);
	/* process 0 has bound: start it */
	struct pollfd p = { .fd = up[0], .events = POLLIN };
	bool bound = pid > 0 && poll(&p, 1, WAIT_MS) == 1 && read(up[0], rec, sizeof rec) > 0 &&
	             rec[0] == 'b';
	CHECK(bound);
	struct counts c = { 0, 0, 0 };
	if (bound && write(go[1], "g", 1) == 1)
		play(router, up[0], twice, &c);
	printf("test_floor_retry %s: %d HELLO, %d FINISH, %d first frames\n", argv[2], c.hello,
	       c.finish, c.first);
	CHECK(c.hello >= 2);
	CHECK(c.finish >= 1);
	CHECK(c.first == 1);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	zmq_close(router);
	zmq_ctx_term(ctx);
	return testlib_done(twice ? "test_floor_retry twice" : "test_floor_retry lost");
}
