/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * handoff.c: measurements, not part of the product or of the tests. Two embedded nodes a and
 * b, and one application thread, doing what meshbench's whisper part does with nothing else
 * in the process, so that `perf stat` and `perf record -e 'sched:*'` of the whole program see
 * that loop alone (docs/performance.md, "Wake-ups after the lock is let go"):
 * - rtt [COUNT]: COUNT (default 2000) sequential 64-byte round trips a -> b -> a, after 100
 *   not counted; prints their p50 and p99;
 * - tput [COUNT [SIZE]]: COUNT (default 300000) whispers of SIZE bytes (default 64) a -> b,
 *   at most 256 in flight at every size (meshbench keeps fewer above 16 KiB), b's events read
 *   by the same thread; prints the rate.
 * It opens sockets, so it refuses to run outside netns-run's namespace. Built from the
 * repository's root against a build tree:
 *
 *   gcc -O2 -Inode -Imesh -Itests docs/experiments/handoff.c tests/testlib.c \
 *       build/node/libmeshnode.a -lzmq -lsodium -lmsgpackc -lpthread -o /tmp/handoff
 *   tests/integration/netns-run /usr/bin/perf stat -e context-switches,task-clock \
 *       /tmp/handoff rtt 3000
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
	cfg.queue_msgs = 16384;        /* as meshbench: the ACKs may trail by 20 ms */
	cfg.queue_bytes = 64u << 20;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n || meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "handoff: %s: %s\n", name, err);
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

static int rtt(struct meshnode *a, struct meshnode *b, long count)
{
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
				fprintf(stderr, "handoff: round trip %ld lost\n", i);
				free(lat);
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
	free(lat);
	return 0;
}

static int tput(struct meshnode *a, struct meshnode *b, long count, long size)
{
	uint8_t *payload = calloc(1, size ? (size_t)size : 1);
	if (!payload)
		return 1;
	long sent = 0, got = 0;
	double t0 = now_us();
	while (got < count) {
		for (; sent < count && sent - got < 256; sent++) {
			const uint8_t *to = meshnode_id(b);
			if (meshnode_whisper(a, to, payload, (size_t)size, NULL) != MESH_OK) {
				fprintf(stderr, "handoff: whisper %ld refused\n", sent);
				free(payload);
				return 1;
			}
		}
		struct meshnode_event *ev = meshnode_next_event(b, 5000);
		if (!ev) {
			fprintf(stderr, "handoff: stalled at %ld of %ld received\n", got, count);
			free(payload);
			return 1;
		}
		got += ev->type == MESHNODE_EV_WHISPER;
		meshnode_event_destroy(&ev);
	}
	printf("%ld B: %.0f msg/s\n", size, (double)count / ((now_us() - t0) / 1e6));
	free(payload);
	return 0;
}

int main(int argc, char **argv)
{
	bool is_rtt = argc > 1 && strcmp(argv[1], "rtt") == 0;
	long count = argc > 2 ? atol(argv[2]) : is_rtt ? 2000 : 300000;
	long size = argc > 3 ? atol(argv[3]) : 64;
	char dir[] = "/tmp/handoff.XXXXXX";
	testlib_require_netns("handoff");
	if (argc < 2 || (!is_rtt && strcmp(argv[1], "tput") != 0) || count < 1 || size < 0 ||
	    size > MESHNODE_MAX_PAYLOAD) {
		fprintf(stderr, "usage: handoff rtt [COUNT] | handoff tput [COUNT [SIZE]] "
		        "(SIZE 0 to %u)\n", (unsigned)MESHNODE_MAX_PAYLOAD);
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("handoff: mkdtemp");
		return 1;
	}
	struct meshnode *a = start("a", dir), *b = start("b", dir);
	int rc = 1;
	if (wait_for(a, MESHNODE_EV_ENTER) != 0 || wait_for(b, MESHNODE_EV_ENTER) != 0)
		fprintf(stderr, "handoff: the two nodes did not link\n");
	else
		rc = is_rtt ? rtt(a, b, count) : tput(a, b, count, size);
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
