/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * driven.c: measurements, not part of the product or of the tests (docs/performance.md, "A
 * node driven by its owner's thread"). Two embedded nodes a and b, each used by an
 * application thread of its own, as raw ZeroMQ's two threads are in meshbench's limits part:
 * - driven: each thread starts its node with meshnode_start_driven(), and so runs it;
 * - threaded: meshnode_start(), each node with its loop thread, and the same two threads.
 * rtt [COUNT]: COUNT (default 2000) sequential 64-byte round trips after 100 not counted, a's
 * thread sends and waits, b's answers each whisper; prints their p50 and p99.
 * tput [COUNT [SIZE]]: COUNT (default 300000) whispers of SIZE bytes (default 64) a -> b, at
 * most 256 in flight, counted by b's thread; prints the rate.
 * one [COUNT [SIZE]]: the same whispers as meshbench's whisper part makes them: one thread
 * starts both nodes, sends on a up to 256 in flight (or 4 MiB), and takes b's events, one
 * per wait; with meshnode_malloc_policy(), as meshbench calls it. Only with threaded nodes.
 * It opens sockets, so it refuses to run outside netns-run's namespace. Built from the
 * repository's root against a build tree:
 *
 *   gcc -O2 -Inode -Imesh -Itests docs/experiments/driven.c tests/testlib.c \
 *       build/node/libmeshnode.a -lzmq -lsodium -lmsgpackc -lpthread -o /tmp/driven
 *   tests/integration/netns-run /tmp/driven driven rtt
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
#include "testlib.h"

static bool driven, is_rtt, is_one;
static long count, size;
static struct meshnode *na, *nb;
static atomic_long got;                 /* whispers b's thread has read */
static atomic_int linked;               /* threads whose node saw its peer */
static atomic_bool done;                /* a's thread is finished */
static atomic_bool failed;
static double t_start, t_end;           /* tput: a's first send, b's last read */
static double *lat;

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void fail(const char *what)
{
	fprintf(stderr, "driven: %s\n", what);
	atomic_store(&failed, true);
	atomic_store(&done, true);
}

static struct meshnode *make(const char *name, const char *dir)
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
	if (!n) {
		fprintf(stderr, "driven: %s: %s\n", name, err);
		exit(1);
	}
	return n;
}

/* On the node's own thread: started either way. */
static bool start(struct meshnode *n)
{
	char err[256];
	enum mesh_err rc = driven ? meshnode_start_driven(n, err, sizeof err)
	                          : meshnode_start(n, err, sizeof err);
	if (rc != MESH_OK)
		fprintf(stderr, "driven: %s\n", err);
	return rc == MESH_OK;
}

/* Reads n's events until one of type t: true, or false after ms. A driven node runs while
 * its thread waits here. */
static bool wait_type(struct meshnode *n, enum meshnode_event_type t, int ms)
{
	double end = now_us() + ms * 1000.0;
	while (now_us() < end) {
		struct meshnode_event *ev = meshnode_next_event(n, 50);
		bool match = ev && ev->type == t;
		meshnode_event_destroy(&ev);
		if (match)
			return true;
	}
	return false;
}

static void *a_main(void *arg)
{
	(void)arg;
	if (!start(na) || !wait_type(na, MESHNODE_EV_ENTER, 5000)) {
		fail("a did not start or link");
		return NULL;
	}
	atomic_fetch_add(&linked, 1);
	while (atomic_load(&linked) < 2 && !atomic_load(&failed)) {
		struct meshnode_event *ev = meshnode_next_event(na, 1);
		meshnode_event_destroy(&ev);
	}
	uint8_t *payload = calloc(1, size ? (size_t)size : 1);
	const uint8_t *to = meshnode_id(nb);
	if (is_rtt) {
		for (long i = -100; payload && i < count && !atomic_load(&failed); i++) {
			double t0 = now_us();
			if (meshnode_whisper(na, to, payload, (size_t)size, NULL) != MESH_OK ||
			    !wait_type(na, MESHNODE_EV_WHISPER, 5000)) {
				fail("a round trip was lost");
				break;
			}
			if (i >= 0)
				lat[i] = now_us() - t0;
		}
	} else {
		long sent = 0;
		t_start = now_us();
		while (payload && atomic_load(&got) < count && !atomic_load(&failed)) {
			for (; sent < count && sent - atomic_load(&got) < 256; sent++) {
				if (meshnode_whisper(na, to, payload, (size_t)size, NULL) != MESH_OK) {
					fail("a whisper was refused");
					break;
				}
			}
			/* the window is full: let a's node take its ACKs (a driven one runs here) */
			struct meshnode_event *ev = meshnode_next_event(na, 1);
			meshnode_event_destroy(&ev);
		}
	}
	free(payload);
	atomic_store(&done, true);
	return NULL;
}

static void *b_main(void *arg)
{
	(void)arg;
	if (!start(nb) || !wait_type(nb, MESHNODE_EV_ENTER, 5000)) {
		fail("b did not start or link");
		return NULL;
	}
	atomic_fetch_add(&linked, 1);
	const uint8_t *to = meshnode_id(na);
	while (!atomic_load(&done)) {
		struct meshnode_event *ev = meshnode_next_event(nb, 10);
		if (ev && ev->type == MESHNODE_EV_WHISPER) {
			if (is_rtt) {
				if (meshnode_whisper(nb, to, ev->data, ev->len, NULL) != MESH_OK)
					fail("b could not answer");
			} else if (atomic_fetch_add(&got, 1) + 1 == count) {
				t_end = now_us();
			}
		}
		meshnode_event_destroy(&ev);
	}
	return NULL;
}

/* one: a and b both on this thread, as meshbench's whisper_run() uses them */
static void *one_main(void *arg)
{
	(void)arg;
	if (!start(na) || !start(nb) || !wait_type(na, MESHNODE_EV_ENTER, 5000) ||
	    !wait_type(nb, MESHNODE_EV_ENTER, 5000)) {
		fail("a and b did not start or link");
		return NULL;
	}
	uint8_t *payload = calloc(1, size ? (size_t)size : 1);
	long sent = 0, taken = 0, window = size > 16384 ? (4l << 20) / size : 256;
	t_start = now_us();
	while (payload && taken < count && !atomic_load(&failed)) {
		for (; sent < count && sent - taken < window; sent++)
			if (meshnode_whisper(na, meshnode_id(nb), payload, (size_t)size, NULL) != MESH_OK) {
				fail("a whisper was refused");
				break;
			}
		struct meshnode_event *ev = meshnode_next_event(nb, 5000);
		if (!ev)
			fail("b got nothing for 5 s");
		else if (ev->type == MESHNODE_EV_WHISPER && ++taken == count)
			t_end = now_us();
		meshnode_event_destroy(&ev);
	}
	free(payload);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	testlib_require_netns("driven");
	driven = argc > 1 && strcmp(argv[1], "driven") == 0;
	is_rtt = argc > 2 && strcmp(argv[2], "rtt") == 0;
	is_one = argc > 2 && strcmp(argv[2], "one") == 0;
	count = argc > 3 ? atol(argv[3]) : is_rtt ? 2000 : 300000;
	size = argc > 4 ? atol(argv[4]) : 64;
	if (argc < 3 || (!driven && strcmp(argv[1], "threaded") != 0) ||
	    (!is_rtt && !is_one && strcmp(argv[2], "tput") != 0) || (is_one && driven) ||
	    count < 1 || size < 0 ||
	    size > MESHNODE_MAX_PAYLOAD || (is_rtt && argc > 4)) {
		fprintf(stderr, "usage: driven driven|threaded rtt [COUNT] | "
		        "driven driven|threaded tput [COUNT [SIZE]] | "
		        "driven threaded one [COUNT [SIZE]]\n");
		return 1;
	}
	lat = calloc((size_t)count, sizeof *lat);
	char dir[] = "/tmp/driven.XXXXXX";
	if (!lat || !mkdtemp(dir)) {
		perror("driven");
		return 1;
	}
	if (is_one)
		(void)meshnode_malloc_policy();   /* before the nodes' threads, as meshbench */
	na = make("a", dir);
	nb = make("b", dir);
	pthread_t ta, tb;
	if (is_one) {
		(void)one_main(NULL);   /* nodes with loop threads: any one thread may use both */
	} else if (pthread_create(&ta, NULL, a_main, NULL) != 0 ||
	           pthread_create(&tb, NULL, b_main, NULL) != 0) {
		perror("driven: pthread_create");
		return 1;
	} else {
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
	}
	int rc = atomic_load(&failed) ? 1 : 0;
	if (!rc && is_rtt) {
		qsort(lat, (size_t)count, sizeof *lat, cmp_double);
		printf("%s rtt p50 %.0f us p99 %.0f us\n", argv[1], lat[count / 2],
		       lat[count * 99 / 100]);
	} else if (!rc) {
		printf("%s %ld B: %.0f msg/s\n", argv[1], size,
		       (double)count / ((t_end - t_start) / 1e6));
	}
	/* the owners are joined: this thread may stop and free their nodes */
	meshnode_destroy(&na);
	meshnode_destroy(&nb);
	free(lat);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
