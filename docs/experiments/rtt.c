/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * rtt.c: a measurement, not part of the product or of the tests. Sequential 64-byte round
 * trips a -> b -> a between two embedded nodes, as meshbench's round-trip part makes them,
 * with nothing else in the process, so that `perf stat` and `perf record -e 'sched:*'` of
 * the whole program see the round trips alone (docs/performance.md, "Wake-ups after the lock
 * is let go"). It opens sockets, so it refuses to run outside netns-run's namespace. Built
 * from the repository's root against a build tree:
 *
 *   gcc -O2 -Inode -Imesh -Itests docs/experiments/rtt.c tests/testlib.c \
 *       build/node/libmeshnode.a -lzmq -lsodium -lmsgpackc -lpthread -o /tmp/rtt
 *   tests/integration/netns-run /usr/bin/perf stat -e context-switches,task-clock /tmp/rtt 3000
 *
 * Prints the p50 and p99 of COUNT round trips (default 2000), after 100 that are not counted.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshnode.h"
#include "testlib.h"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static struct meshnode *start(const char *name, const char *dir)
{
	struct meshnode_config cfg;
	char path[256], err[256];
	meshnode_config_init(&cfg);
	snprintf(path, sizeof path, "%s/%s.id", dir, name);
	cfg.name = name;
	cfg.iface = "lo";
	cfg.identity_path = path;
	cfg.beacon_interval_ms = 200;
	cfg.log_level = MESHNODE_LOG_WARN;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n || meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "rtt: %s: %s\n", name, err);
		exit(1);
	}
	return n;
}

/* Reads n's events until one of type t: 0, or -1 after 5 s without it. */
static int wait_for(struct meshnode *n, enum meshnode_event_type t)
{
	double end = now_us() + 5e6;
	while (now_us() < end) {
		struct meshnode_event *ev = meshnode_next_event(n, 100);
		bool match = ev && ev->type == t;
		meshnode_event_destroy(&ev);
		if (match)
			return 0;
	}
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 2000;
	char dir[] = "/tmp/rtt.XXXXXX";
	testlib_require_netns("rtt");
	if (count < 1) {
		fprintf(stderr, "usage: rtt [COUNT >= 1]\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("rtt: mkdtemp");
		return 1;
	}
	struct meshnode *a = start("a", dir), *b = start("b", dir);
	if (wait_for(a, MESHNODE_EV_ENTER) != 0 || wait_for(b, MESHNODE_EV_ENTER) != 0) {
		fprintf(stderr, "rtt: the two nodes did not link\n");
		return 1;
	}
	uint8_t payload[64] = { 0 };
	double *lat = calloc((size_t)count, sizeof *lat);
	if (!lat)
		return 1;
	for (long i = -100; i < count; i++) {
		double t0 = now_us();
		struct meshnode *from = a, *to = b;
		for (int leg = 0; leg < 2; leg++) {
			enum mesh_err rc = meshnode_whisper(from, meshnode_id(to), payload,
			                                    sizeof payload, NULL);
			if (rc != MESH_OK || wait_for(to, MESHNODE_EV_WHISPER) != 0) {
				fprintf(stderr, "rtt: round trip %ld lost\n", i);
				return 1;
			}
			from = b;
			to = a;
		}
		if (i >= 0)
			lat[i] = now_us() - t0;
	}
	qsort(lat, (size_t)count, sizeof *lat, cmp_double);
	printf("rtt p50 %.0f us p99 %.0f us\n", lat[count / 2], lat[count * 99 / 100]);
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	free(lat);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
