/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fanfloor.c: a measurement, not part of the product or of the tests. meshbench's shout
 * fan-out part done by raw ZeroMQ, without crypto, loop threads or any code of ours: the floor
 * under its "shout 64 B to 32" figures (docs/performance.md, "Fan-out: the floor without
 * crypto").
 *
 * As in meshbench, one process holds the sender and the members, each with a ZeroMQ context of
 * its own (one I/O thread each, as each node has), and one application thread does all the
 * work: it sends each shout on a DEALER per member, connected to that member's ROUTER (one
 * message a member, as a shout is sealed and sent per link), with at most WINDOW shouts not yet
 * delivered to every member, and reads every member's ROUTER (zmq_poll over all of them when
 * nothing is ready). Every delivery is checked for its sequence number; a shout counts when its
 * last member has it, and its latency runs from its first send to that moment. It also prints
 * the CPU of the whole process (CLOCK_PROCESS_CPUTIME_ID, every thread) per delivery.
 *
 *   fanfloor [MEMBERS [SIZE [WINDOW [RUNS]]]]   defaults 32, 64, 16, 3 (meshbench's)
 *
 * It opens sockets, so it refuses to run outside netns-run's namespace. Built from the
 * repository's root:
 *
 *   gcc -O2 -Itests docs/experiments/fanfloor.c tests/testlib.c -lzmq -o /tmp/fanfloor
 *   tests/integration/netns-run /tmp/fanfloor 32 64 16 5
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "testlib.h"

enum { MAXM = 64 };

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void die(const char *what)
{
	fprintf(stderr, "fanfloor: %s: %s\n", what, zmq_strerror(errno));
	exit(1);
}

static double cpu_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One run of count shouts: 0 with the rate, the CPU of the whole process (every thread) per
 * delivery, and the sorted latencies; or -1. */
static int run(void **dealer, void **router, int m, size_t size, long count, long window,
               double *rate, double *cpu_per, double *lat)
{
	static uint8_t buf[65536];
	double *t_sent = calloc((size_t)count, sizeof *t_sent);
	int *have = calloc((size_t)count, sizeof *have);
	zmq_pollitem_t items[MAXM];
	if (!t_sent || !have)
		return -1;
	for (int i = 0; i < m; i++)
		items[i] = (zmq_pollitem_t){ .socket = router[i], .events = ZMQ_POLLIN };
	memset(buf, 'x', size);
	long sent = 0, done = 0;
	double t0 = now_us(), c0 = cpu_us();
	while (done < count) {
		for (; sent < count && sent - done < window; sent++) {
			memcpy(buf, &sent, sizeof sent);
			t_sent[sent] = now_us();
			for (int i = 0; i < m; i++)
				if (zmq_send(dealer[i], buf, size, 0) != (int)size)
					die("send");
		}
		bool any = false;
		for (int i = 0; i < m; i++) {
			char rid[256];
			while (zmq_recv(router[i], rid, sizeof rid, ZMQ_DONTWAIT) >= 0) {
				long seq;
				if (zmq_recv(router[i], buf, sizeof buf, 0) != (int)size)
					die("recv");
				memcpy(&seq, buf, sizeof seq);
				if (seq < 0 || seq >= sent) {
					fprintf(stderr, "fanfloor: unexpected sequence %ld\n", seq);
					return -1;
				}
				if (++have[seq] == m)
					lat[done++] = now_us() - t_sent[seq];
				any = true;
			}
		}
		if (!any && zmq_poll(items, m, 5000) <= 0) {
			fprintf(stderr, "fanfloor: stalled at %ld of %ld\n", done, count);
			return -1;
		}
	}
	*rate = (double)count * m / ((now_us() - t0) / 1e6);
	*cpu_per = (cpu_us() - c0) / ((double)count * m);
	qsort(lat, (size_t)count, sizeof *lat, cmp);
	free(t_sent);
	free(have);
	return 0;
}

int main(int argc, char **argv)
{
	testlib_require_netns("fanfloor");
	int m = argc > 1 ? atoi(argv[1]) : 32;
	long size = argc > 2 ? atol(argv[2]) : 64, window = argc > 3 ? atol(argv[3]) : 16;
	int runs = argc > 4 ? atoi(argv[4]) : 3;
	if (m < 1 || m > MAXM || size < 8 || size > 65536 || window < 1 || runs < 1) {
		fprintf(stderr, "usage: fanfloor [MEMBERS (1..%d) [SIZE (8..65536) [WINDOW [RUNS]]]]\n",
		        MAXM);
		return 2;
	}
	void *sender = zmq_ctx_new(), *ctx[MAXM], *router[MAXM], *dealer[MAXM];
	int zero = 0;
	for (int i = 0; i < m; i++) {
		char ep[64];
		size_t eplen = sizeof ep;
		ctx[i] = zmq_ctx_new();
		router[i] = zmq_socket(ctx[i], ZMQ_ROUTER);
		zmq_setsockopt(router[i], ZMQ_LINGER, &zero, sizeof zero);
		if (zmq_bind(router[i], "tcp://127.0.0.1:*") != 0 ||
		    zmq_getsockopt(router[i], ZMQ_LAST_ENDPOINT, ep, &eplen) != 0)
			die("bind");
		dealer[i] = zmq_socket(sender, ZMQ_DEALER);
		zmq_setsockopt(dealer[i], ZMQ_LINGER, &zero, sizeof zero);
		if (zmq_connect(dealer[i], ep) != 0)
			die("connect");
	}
	/* meshbench's count: 600,000 deliveries at 64 B, half that above */
	long count = 600000 / m / (size > 64 ? 2 : 1);
	double *lat = calloc((size_t)count, sizeof *lat);
	if (!lat)
		return 1;
	double rate, cpu_per;
	if (run(dealer, router, m, (size_t)size, 100, window, &rate, &cpu_per, lat) != 0)
		return 1;     /* not counted: every connection up first, as meshbench's joins do */
	for (int r = 0; r < runs; r++) {
		if (run(dealer, router, m, (size_t)size, count, window, &rate, &cpu_per, lat) != 0)
			return 1;
		printf("%d members, %ld B, window %ld: %.0f deliveries/s, %.2f us of CPU each, last "
		       "member p50 %.0f us, p99 %.0f us\n", m, size, window, rate, cpu_per,
		       lat[count / 2], lat[(size_t)((double)count * 0.99)]);
	}
	for (int i = 0; i < m; i++) {
		zmq_close(dealer[i]);
		zmq_close(router[i]);
		zmq_ctx_term(ctx[i]);
	}
	zmq_ctx_term(sender);
	free(lat);
	return 0;
}
