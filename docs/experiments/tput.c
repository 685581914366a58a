/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * tput.c: a measurement, not part of the product or of the tests. Whispers a -> b between two
 * embedded nodes as meshbench's whisper part sends them (one application thread, at most 256
 * in flight, the receiver's events read by the same thread), with nothing else in the
 * process, so that `perf stat` of the whole program sees that loop alone
 * (docs/performance.md, "Wake-ups after the lock is let go"). It opens sockets, so it refuses
 * to run outside netns-run's namespace. Built from the repository's root against a build
 * tree:
 *
 *   gcc -O2 -Inode -Imesh -Itests docs/experiments/tput.c tests/testlib.c \
 *       build/node/libmeshnode.a -lzmq -lsodium -lmsgpackc -lpthread -o /tmp/tput
 *   tests/integration/netns-run /usr/bin/perf stat -e context-switches,task-clock \
 *       /tmp/tput 300000 64
 *
 * Prints the rate of COUNT whispers (default 300000) of SIZE bytes (default 64).
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
		fprintf(stderr, "tput: %s: %s\n", name, err);
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

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 300000;
	long size = argc > 2 ? atol(argv[2]) : 64;
	char dir[] = "/tmp/tput.XXXXXX";
	testlib_require_netns("tput");
	if (count < 1 || size < 0 || size > MESHNODE_MAX_PAYLOAD) {
		fprintf(stderr, "usage: tput [COUNT >= 1 [SIZE, 0 to %d]]\n", MESHNODE_MAX_PAYLOAD);
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("tput: mkdtemp");
		return 1;
	}
	struct meshnode *a = start("a", dir), *b = start("b", dir);
	if (wait_for(a, MESHNODE_EV_ENTER) != 0 || wait_for(b, MESHNODE_EV_ENTER) != 0) {
		fprintf(stderr, "tput: the two nodes did not link\n");
		return 1;
	}
	uint8_t *payload = calloc(1, size ? (size_t)size : 1);
	if (!payload)
		return 1;
	long sent = 0, got = 0;
	double t0 = now_us();
	while (got < count) {
		for (; sent < count && sent - got < 256; sent++) {
			const uint8_t *to = meshnode_id(b);
			if (meshnode_whisper(a, to, payload, (size_t)size, NULL) != MESH_OK) {
				fprintf(stderr, "tput: whisper %ld refused\n", sent);
				return 1;
			}
		}
		struct meshnode_event *ev = meshnode_next_event(b, 5000);
		if (!ev) {
			fprintf(stderr, "tput: stalled at %ld of %ld received\n", got, count);
			return 1;
		}
		got += ev->type == MESHNODE_EV_WHISPER;
		meshnode_event_destroy(&ev);
	}
	double secs = (now_us() - t0) / 1e6;
	printf("%ld B: %.0f msg/s\n", size, (double)count / secs);
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	free(payload);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
