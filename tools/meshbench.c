/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench: the messenger's speed and memory, side by side with the limits of this machine,
 * measured in one run (docs/performance.md).
 *
 *     meshbench [--quick] [--runs R] [--json FILE] [--only LIST] [--meshsim PATH]
 *
 * Limits: raw ZeroMQ DEALER->ROUTER over tcp loopback and its connection set-up
 * (meshbench_limits.c); ChaCha20-Poly1305 on one core, X25519 and Ed25519 costs
 * (meshbench_crypto.c). Ours: whisper throughput and round trip between two
 * embedded nodes (and the round trip again between two driven by their owners' threads,
 * meshnode_start_driven), shout fan-out to 8 and 32 members (meshbench_shout.c), Noise XX
 * handshakes per second, time to full mesh of 16, 64 and 128 node processes, and the memory
 * of a node process (the last two through meshsim, which starts real meshnode processes).
 *
 * Every networked part runs in a private network namespace of its own: meshbench makes a new
 * one (loopback only, up) before each in-process part and refuses to go on if it cannot, and
 * meshsim makes its own. Each figure is the median of R runs, printed with the range; each
 * comparison is printed with its ratio to the limit and to the target. Nothing here asserts
 * a speed: the exit status says only whether every run delivered every message correctly.
 * A figure below its target is counted in the summary as a missed target, never a failure.
 */
/* unshare(2) and CLONE_NEWNET are Linux interfaces outside POSIX */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "meshbench.h"
#include "meshbench_floor.h"
#include "meshbench_limits.h"
#include "meshnode_testhooks.h"
#include "monoclock.h"

#define MAX_RUNS 15
#define MAX_FIGS 96

/* shouts in flight (not yet delivered to every member) in the fan-out runs */
long shout_window = 16;

/* ---------- figures ---------- */

struct fig {
	char key[48];          /* JSON name */
	char label[64];        /* table label */
	const char *unit;
	double v[MAX_RUNS];
	int n;
	double med, min, max;
};

/* A comparison: ratio = figure / limit (or limit / figure when lower is better), against the
 * target ratio the project set itself (issue 6). */
struct cmp {
	char name[64];
	const struct fig *fig, *limit;
	double limit_scale;    /* limit in the figure's unit = limit->med * limit_scale */
	bool lower_better;
	double target_ratio;   /* <= 0: no target */
	double target_abs;     /* > 0: an absolute target instead (in the figure's unit) */
	double target_over;    /* > 0: at most the limit plus this (in the figure's unit) */
	const char *target_text;
};

static struct fig figs[MAX_FIGS];
static int nfigs;
static struct cmp cmps[MAX_FIGS];
static int ncmps;
int failures;

/* One line on stderr as each run of a part starts, so that a long part (the convergence runs
 * of 64 and 128 processes take minutes) shows where it is; stdout keeps only the table. */
void progress(const char *what, int run, int runs)
{
	fprintf(stderr, "meshbench:   %s, run %d of %d\n", what, run + 1, runs);
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct fig *fig_get(const char *key, const char *label, const char *unit)
{
	for (int i = 0; i < nfigs; i++)
		if (strcmp(figs[i].key, key) == 0)
			return &figs[i];
	if (nfigs == MAX_FIGS)
		return NULL;
	struct fig *f = &figs[nfigs++];
	memset(f, 0, sizeof *f);
	snprintf(f->key, sizeof f->key, "%s", key);
	snprintf(f->label, sizeof f->label, "%s", label);
	f->unit = unit;
	return f;
}

void fig_add(struct fig *f, double v)
{
	if (!f || f->n == MAX_RUNS || v != v)
		return;
	f->v[f->n++] = v;
	double s[MAX_RUNS];
	memcpy(s, f->v, sizeof(double) * (size_t)f->n);
	qsort(s, (size_t)f->n, sizeof s[0], cmp_double);
	f->min = s[0];
	f->max = s[f->n - 1];
	f->med = f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
}

static const struct fig *fig_find(const char *key)
{
	for (int i = 0; i < nfigs; i++)
		if (strcmp(figs[i].key, key) == 0 && figs[i].n)
			return &figs[i];
	return NULL;
}

/* The comparison added, or NULL when a figure it needs was not measured. */
static struct cmp *cmp_add(const char *name, const char *fig_key, const char *limit_key,
                           double limit_scale, bool lower_better, double target_ratio,
                           double target_abs, const char *target_text)
{
	const struct fig *f = fig_find(fig_key), *l = limit_key ? fig_find(limit_key) : NULL;
	if (!f || (limit_key && !l) || ncmps == MAX_FIGS)
		return NULL;
	struct cmp *c = &cmps[ncmps++];
	snprintf(c->name, sizeof c->name, "%s", name);
	c->fig = f;
	c->limit = l;
	c->limit_scale = limit_scale;
	c->lower_better = lower_better;
	c->target_ratio = target_ratio;
	c->target_abs = target_abs;
	c->target_text = target_text;
	return c;
}

static bool cmp_has_target(const struct cmp *c)
{
	return c->target_ratio > 0 || c->target_abs > 0 || c->target_over > 0;
}

static double cmp_ratio(const struct cmp *c)
{
	if (!c->limit)
		return -1;
	double lim = c->limit->med * c->limit_scale;
	if (c->lower_better)
		return c->fig->med > 0 ? c->fig->med / lim : -1;   /* how many times the limit */
	return lim > 0 ? c->fig->med / lim : -1;
}

static bool cmp_met(const struct cmp *c)
{
	if (c->target_over > 0)
		return c->limit && c->fig->med <= c->limit->med * c->limit_scale + c->target_over;
	if (c->target_abs > 0)
		return c->lower_better ? c->fig->max <= c->target_abs && c->fig->med < c->target_abs
		                       : c->fig->med >= c->target_abs;
	double r = cmp_ratio(c);
	return c->lower_better ? r >= 0 && r <= c->target_ratio : r >= c->target_ratio;
}

/* ---------- a private network namespace per part ---------- */

int fresh_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "meshbench: cannot create a private network namespace (%s); "
		        "run as root\n", strerror(errno));
		return -1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "meshbench: cannot read lo: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "meshbench: cannot bring lo up: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	struct if_nameindex *ifs = if_nameindex(), *it;
	int others = 0;
	for (it = ifs; it && it->if_name; it++)
		others += strcmp(it->if_name, "lo") != 0;
	if (ifs)
		if_freenameindex(ifs);
	if (!ifs || others) {
		fprintf(stderr, "meshbench: the new namespace is not private: refusing\n");
		return -1;
	}
	return 0;
}

/* ---------- embedded nodes ---------- */

static char tmpdir[64];

/* A node with meshbench's configuration, not started. */
struct meshnode *new_node(const char *name)
{
	struct meshnode_config cfg;
	char path[512], err[512];
	meshnode_config_init(&cfg);
	snprintf(path, sizeof path, "%s/%s.id", tmpdir, name);
	cfg.name = name;
	cfg.iface = "lo";
	cfg.identity_path = path;
	cfg.beacon_interval_ms = 200;
	cfg.log_level = MESHNODE_LOG_WARN;
	/* The sender's queue keeps a message until the receiver's ACK (docs/protocol.md section
	 * 6), which may trail its delivery by up to 20 ms: at 100,000 whispers a second that is
	 * 2,000 messages, past the default cap of 1,024, which a run then meets with "send queue
	 * full" however small its window. Room for 16,384 (160 ms at that rate) keeps the runs
	 * measuring the link, not the cap. */
	cfg.queue_msgs = 16384;
	cfg.queue_bytes = 64u << 20;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n)
		fprintf(stderr, "meshbench: %s: %s\n", name, err);
	return n;
}

static struct meshnode *start_node(const char *name)
{
	char err[512];
	struct meshnode *n = new_node(name);
	if (n && meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshbench: %s: %s\n", name, err);
		meshnode_destroy(&n);
	}
	return n;
}

/* Reads n's events until `want` of type t (in group, if given) have come; others are
 * discarded. 0, or -1 after timeout seconds. */
int wait_events(struct meshnode *n, enum meshnode_event_type t, const char *group,
                int want, double timeout)
{
	double end = monoclock_s() + timeout;
	int got = 0;
	while (got < want && monoclock_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(n, 100);
		if (!ev)
			continue;
		got += ev->type == t && (!group || strcmp(ev->group, group) == 0);
		meshnode_event_destroy(&ev);
	}
	return got < want ? -1 : 0;
}

void drain_events(struct meshnode *n)
{
	struct meshnode_event *ev;
	while ((ev = meshnode_next_event(n, 0)))
		meshnode_event_destroy(&ev);
}

/* Payloads are a fixed pattern with the sequence number in the first 8 bytes; the pattern is
 * made once, so checking a message costs a memcmp, not a loop of our own beside the nodes. */
static uint8_t *pattern;

static int make_pattern(void)
{
	pattern = malloc(MESHNODE_MAX_PAYLOAD);
	if (!pattern)
		return -1;
	for (size_t i = 0; i < MESHNODE_MAX_PAYLOAD; i++)
		pattern[i] = (uint8_t)('a' + i % 26);
	return 0;
}

void fill_payload(uint8_t *p, size_t size, uint64_t seq)
{
	memcpy(p, pattern, size);
	if (size >= 8)
		memcpy(p, &seq, 8);
}

bool payload_ok(const uint8_t *p, size_t len, size_t size, uint64_t seq)
{
	if (len != size)
		return false;
	if (size < 8)
		return memcmp(p, pattern, size) == 0;
	return memcmp(p, &seq, 8) == 0 && memcmp(p + 8, pattern + 8, size - 8) == 0;
}

/* ---------- whisper ---------- */

/* One run: count whispers a -> b, at most `window` in flight; msgs/s, or -1. */
static double whisper_run(struct meshnode *a, struct meshnode *b, size_t size, long count,
                          long window)
{
	uint8_t *payload = malloc(size ? size : 1);
	long sent = 0, got = 0, bad = 0, dropped = 0, exits_a = 0, exits_b = 0;
	/* what a failed run says of itself: the first reason of each kind (static texts) */
	const char *drop_why = "", *exit_a_why = "", *exit_b_why = "";
	if (!payload)
		return -1;
	fill_payload(payload, size, 0);
	double t0 = monoclock_s();
	while (got < count) {
		while (sent < count && sent - got < window) {
			if (size >= 8)
				memcpy(payload, &sent, 8);
			if (meshnode_whisper(a, meshnode_id(b), payload, size, NULL) != MESH_OK) {
				fprintf(stderr, "meshbench: whisper failed\n");
				free(payload);
				return -1;
			}
			sent++;
		}
		struct meshnode_event *ev = meshnode_next_event(b, 5000);
		if (!ev) {
			fprintf(stderr, "meshbench: whisper stalled at %ld of %ld received\n", got, count);
			break;
		}
		if (ev->type == MESHNODE_EV_WHISPER) {
			bad += !payload_ok(ev->data, ev->len, size, (uint64_t)got);
			got++;
		} else if (ev->type == MESHNODE_EV_EXIT && exits_b++ == 0 && ev->reason) {
			exit_b_why = ev->reason;
		}
		meshnode_event_destroy(&ev);
	}
	double secs = monoclock_s() - t0;
	struct meshnode_event *ev;
	while ((ev = meshnode_next_event(a, 0))) {
		if (ev->type == MESHNODE_EV_DROPPED && dropped++ == 0 && ev->reason)
			drop_why = ev->reason;
		else if (ev->type == MESHNODE_EV_EXIT && exits_a++ == 0 && ev->reason)
			exit_a_why = ev->reason;
		meshnode_event_destroy(&ev);
	}
	free(payload);
	if (got != count || bad || dropped) {
		/* enough to tell a lost message from one reported dropped, and why */
		fprintf(stderr, "meshbench: whisper %zu B: %ld of %ld received, %ld out of order or "
		        "damaged, %ld reported dropped to the sender (first: %s); exits seen by the "
		        "sender %ld (first: %s), by the receiver %ld (first: %s)\n", size, got, count,
		        bad, dropped, drop_why, exits_a, exit_a_why, exits_b, exit_b_why);
		return -1;
	}
	return (double)count / secs;
}

/* count sequential round trips a -> b -> a of size bytes; fills the sorted latencies. */
static int rtt_run(struct meshnode *a, struct meshnode *b, size_t size, long count,
                   double *lat_us)
{
	uint8_t *payload = calloc(1, size ? size : 1);
	if (!payload)
		return -1;
	for (long i = -100; i < count; i++) {
		double t0 = monoclock_s();
		struct meshnode *from = a, *to = b;
		for (int leg = 0; leg < 2; leg++) {
			if (meshnode_whisper(from, meshnode_id(to), payload, size, NULL) != MESH_OK) {
				free(payload);
				return -1;
			}
			struct meshnode_event *ev;
			do {
				ev = meshnode_next_event(to, 5000);
				if (!ev) {
					fprintf(stderr, "meshbench: round trip lost\n");
					free(payload);
					return -1;
				}
				if (ev->type == MESHNODE_EV_WHISPER) {
					meshnode_event_destroy(&ev);
					break;
				}
				meshnode_event_destroy(&ev);
			} while (1);
			from = b;
			to = a;
		}
		if (i >= 0)
			lat_us[i] = (monoclock_s() - t0) * 1e6;
	}
	free(payload);
	qsort(lat_us, (size_t)count, sizeof lat_us[0], cmp_double);
	return 0;
}

double pct(const double *sorted, long n, double p)
{
	long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int pair_up(struct meshnode **a, struct meshnode **b)
{
	if (fresh_netns() != 0)
		return -1;
	*a = start_node("bench-a");
	*b = start_node("bench-b");
	if (!*a || !*b || wait_events(*a, MESHNODE_EV_ENTER, NULL, 1, 10) != 0 ||
	    wait_events(*b, MESHNODE_EV_ENTER, NULL, 1, 10) != 0) {
		fprintf(stderr, "meshbench: two nodes did not link within 10 s\n");
		meshnode_destroy(a);
		meshnode_destroy(b);
		return -1;
	}
	return 0;
}

static void bench_rtt_driven(int runs, bool quick);

static void bench_whisper(int runs, bool quick)
{
	static const size_t sizes[] = { 64, 1024, 65536 };
	static const long full[] = { 300000, 200000, 8000 };
	struct meshnode *a, *b;
	if (pair_up(&a, &b) != 0) {
		failures++;
		bench_rtt_driven(runs, quick);   /* a part of its own: it may still run */
		return;
	}
	for (int k = 0; k < 3; k++) {
		size_t size = sizes[k];
		long count = quick ? full[k] / 30 : full[k];
		/* in flight (sent, not yet received) at most 256 messages or 4 MiB; the queue also
		 * holds the received ones until their ACK comes back (start_node) */
		long window = (long)((4u << 20) / size);
		if (window > 256)
			window = 256;
		char key[48], label[64];
		snprintf(key, sizeof key, "whisper_%zu_msgs", size);
		snprintf(label, sizeof label, "whisper %zu B", size);
		struct fig *f = fig_get(key, label, "msg/s");
		snprintf(key, sizeof key, "whisper_%zu_mbs", size);
		snprintf(label, sizeof label, "whisper %zu B", size);
		struct fig *fm = fig_get(key, label, "MB/s");
		for (int r = 0; r < runs; r++) {
			progress(label, r, runs);
			double v = whisper_run(a, b, size, count, window);
			if (v < 0) {
				failures++;
				break;
			}
			fig_add(f, v);
			fig_add(fm, v * (double)size / 1e6);
		}
	}
	long count = quick ? 200 : 2000;
	double *lat = calloc((size_t)count, sizeof *lat);
	struct fig *p50 = fig_get("whisper_rtt_p50_us", "whisper round trip 64 B p50", "us");
	struct fig *p99 = fig_get("whisper_rtt_p99_us", "whisper round trip 64 B p99", "us");
	for (int r = 0; lat && r < runs; r++) {
		progress("whisper round trip 64 B", r, runs);
		if (rtt_run(a, b, 64, count, lat) != 0) {
			failures++;
			break;
		}
		fig_add(p50, pct(lat, count, 50));
		fig_add(p99, pct(lat, count, 99));
	}
	free(lat);
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	bench_rtt_driven(runs, quick);
}

/* ---------- whisper round trip between driven nodes ---------- */

/* b's side of a driven round trip: its owner's thread, which answers every whisper with the
 * same bytes, as raw zmq's echo thread does (limits_zmq_rtt). */
struct echo {
	struct meshnode *b;
	atomic_bool stop;
	enum mesh_err rc;   /* the first start or answer that failed */
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	char err[512];
	e->rc = meshnode_start_driven(e->b, err, sizeof err);
	if (e->rc != MESH_OK) {
		fprintf(stderr, "meshbench: bench-b: %s\n", err);
		return NULL;
	}
	while (!atomic_load(&e->stop)) {
		struct meshnode_event *ev = meshnode_next_event(e->b, 50);
		if (ev && ev->type == MESHNODE_EV_WHISPER) {
			enum mesh_err rc = meshnode_whisper(e->b, ev->peer, ev->data, ev->len, NULL);
			if (rc != MESH_OK && e->rc == MESH_OK)
				e->rc = rc;
		}
		meshnode_event_destroy(&ev);
	}
	return NULL;
}

/* count round trips a -> b -> a of 64 bytes, a driven by this thread; sorted latencies. */
static int rtt_driven_run(struct meshnode *a, const uint8_t *b_id, long count, double *lat_us)
{
	uint8_t payload[64] = { 0 };
	for (long i = -100; i < count; i++) {
		double t0 = monoclock_s();
		if (meshnode_whisper(a, b_id, payload, sizeof payload, NULL) != MESH_OK)
			return -1;
		for (;;) {
			struct meshnode_event *ev = meshnode_next_event(a, 5000);
			if (!ev) {
				fprintf(stderr, "meshbench: driven round trip lost\n");
				return -1;
			}
			bool answer = ev->type == MESHNODE_EV_WHISPER;
			meshnode_event_destroy(&ev);
			if (answer)
				break;
		}
		if (i >= 0)
			lat_us[i] = (monoclock_s() - t0) * 1e6;
	}
	qsort(lat_us, (size_t)count, sizeof lat_us[0], cmp_double);
	return 0;
}

/* The round trip again, between two nodes that their owners' threads drive
 * (meshnode_start_driven): a by this thread, b by an echo thread, the shape of raw zmq's
 * round trip in the limits part. */
static void bench_rtt_driven(int runs, bool quick)
{
	struct echo e = { 0 };
	struct meshnode *a = NULL;
	char err[512];
	pthread_t t;
	bool started = false;
	if (fresh_netns() == 0 && (a = new_node("bench-a")) && (e.b = new_node("bench-b"))) {
		if (meshnode_start_driven(a, err, sizeof err) != MESH_OK)
			fprintf(stderr, "meshbench: bench-a: %s\n", err);
		else
			started = pthread_create(&t, NULL, echo_main, &e) == 0;
	}
	if (started && wait_events(a, MESHNODE_EV_ENTER, NULL, 1, 10) == 0) {
		long count = quick ? 200 : 2000;
		double *lat = calloc((size_t)count, sizeof *lat);
		struct fig *p50 = fig_get("whisper_driven_rtt_p50_us",
		                          "whisper round trip 64 B p50, driven nodes", "us");
		struct fig *p99 = fig_get("whisper_driven_rtt_p99_us",
		                          "whisper round trip 64 B p99, driven nodes", "us");
		for (int r = 0; lat && r < runs; r++) {
			progress("whisper round trip 64 B, driven nodes", r, runs);
			if (rtt_driven_run(a, meshnode_id(e.b), count, lat) != 0) {
				failures++;
				break;
			}
			fig_add(p50, pct(lat, count, 50));
			fig_add(p99, pct(lat, count, 99));
		}
		if (!lat)
			failures++;
		free(lat);
	} else {
		fprintf(stderr, "meshbench: two driven nodes did not start and link within 10 s\n");
		failures++;
	}
	if (started) {
		atomic_store(&e.stop, true);
		pthread_join(t, NULL);   /* b's owner is done with it: this thread may destroy it */
		if (e.rc != MESH_OK)
			failures++;
	}
	meshnode_destroy(&a);
	meshnode_destroy(&e.b);
}

/* ---------- handshakes ---------- */

#define HS_PEERS 8

/* Node 0 re-links with each of HS_PEERS peers (BYE, then a new Noise XX handshake), all at
 * once, again and again; handshakes completed per second, counted by ENTER at node 0. */
static void bench_handshake(int runs, bool quick)
{
	struct meshnode *hub = NULL, *peer[HS_PEERS] = { 0 };
	char name[32];
	bool ok = fresh_netns() == 0 && (hub = start_node("hub")) != NULL;
	for (int i = 0; ok && i < HS_PEERS; i++) {
		snprintf(name, sizeof name, "spoke-%d", i);
		ok = (peer[i] = start_node(name)) != NULL;
	}
	if (ok && wait_events(hub, MESHNODE_EV_ENTER, NULL, HS_PEERS, 10) != 0) {
		fprintf(stderr, "meshbench: handshake peers did not link within 10 s\n");
		ok = false;
	}
	struct fig *f = fig_get("handshakes_per_s", "Noise XX handshakes", "hs/s");
	long rounds = quick ? 10 : 150;
	for (int r = 0; ok && r < runs; r++) {
		progress("handshakes", r, runs);
		double t0 = monoclock_s();
		for (long k = 0; ok && k < rounds; k++) {
			for (int i = 0; ok && i < HS_PEERS; i++)
				ok = meshnode_test_relink(hub, meshnode_id(peer[i])) == MESH_OK;
			if (ok && wait_events(hub, MESHNODE_EV_ENTER, NULL, HS_PEERS, 10) != 0) {
				fprintf(stderr, "meshbench: re-link did not complete within 10 s\n");
				ok = false;
			}
			for (int i = 0; i < HS_PEERS; i++)
				drain_events(peer[i]);
		}
		if (ok)
			fig_add(f, (double)(rounds * HS_PEERS) / (monoclock_s() - t0));
	}
	if (!ok)
		failures++;
	meshnode_destroy(&hub);
	for (int i = 0; i < HS_PEERS; i++)
		meshnode_destroy(&peer[i]);
}

/* ---------- meshsim: convergence and memory of node processes ---------- */

static char meshsim_path[PATH_MAX];
static char self_path[PATH_MAX];       /* this program, for the ZeroMQ floors' processes */

/* The first number after "key": in a JSON text; NAN if absent or null. */
static double json_number(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		return 0.0 / 0.0;
	p += strlen(pat);
	char *end;
	double v = strtod(p, &end);
	return end == p ? 0.0 / 0.0 : v;
}

/* Runs meshsim with args and returns its --json report (malloc'd), or NULL. */
static char *meshsim_json(const char *args)
{
	char file[128], cmd[PATH_MAX + 512];
	snprintf(file, sizeof file, "%s/meshsim.json", tmpdir);
	snprintf(cmd, sizeof cmd, "'%s' %s --json '%s' > '%s/meshsim.out' 2>&1", meshsim_path, args,
	         file, tmpdir);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "meshbench: meshsim %s failed (see below)\n", args);
		snprintf(cmd, sizeof cmd, "tail -n 20 '%s/meshsim.out' >&2", tmpdir);
		(void)!system(cmd);
		return NULL;
	}
	FILE *f = fopen(file, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[65536];
	size_t k;
	while (m && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, k, m);
	fclose(f);
	if (m)
		fclose(m);
	return buf;
}

static void bench_converge(int runs, bool quick)
{
	static const int sizes[] = { 16, 64, 128 };
	/* the floor's processes bind in a namespace of this part's own (meshsim makes its own) */
	if (fresh_netns() != 0) {
		failures++;
		return;
	}
	for (int k = 0; k < 3; k++) {
		int n = quick ? 8 : sizes[k];
		/* issue 6 asks for 7 runs of 64, to see the worst case as well as the median */
		int reps = quick ? 1 : n == 64 ? (runs > 7 ? runs : 7) : n == 128 ? 3 : runs;
		char key[48], label[64], args[128];
		snprintf(key, sizeof key, "converge_%d_ms", n);
		snprintf(label, sizeof label, "full mesh of %d processes", n);
		struct fig *f = fig_get(key, label, "ms");
		snprintf(key, sizeof key, "ready_%d_ms", n);
		snprintf(label, sizeof label, "%d processes all ready", n);
		struct fig *fr = fig_get(key, label, "ms");
		snprintf(key, sizeof key, "converge_%d_cpu_per_pair_ms", n);
		snprintf(label, sizeof label, "CPU per linked pair, %d processes", n);
		struct fig *fc = fig_get(key, label, "ms");
		/* beside each run, the same mesh formed by raw ZeroMQ without crypto (the floor) */
		snprintf(key, sizeof key, "zmq_mesh_%d_ms", n);
		snprintf(label, sizeof label, "raw zmq mesh of %d processes", n);
		struct fig *fz = fig_get(key, label, "ms");
		snprintf(key, sizeof key, "zmq_mesh_%d_cpu_per_pair_ms", n);
		snprintf(label, sizeof label, "raw zmq mesh of %d, CPU per pair", n);
		struct fig *fzc = fig_get(key, label, "ms");
		double pairs = (double)n * (n - 1) / 2;
		for (int r = 0; r < reps; r++) {
			snprintf(label, sizeof label, "full mesh of %d processes", n);
			progress(label, r, reps);
			snprintf(args, sizeof args, "-n %d converge --seed %d --deadline 60", n, r + 1);
			char *js = meshsim_json(args);
			double v = js ? json_number(js, "convergence_ms") : -1;
			if (v != v || v < 0) {
				failures++;
				free(js);
				break;
			}
			fig_add(f, v);
			fig_add(fr, json_number(js, "ready_ms"));
			/* every node's CPU from the first start to full mesh, over the pairs linked */
			double cpu = json_number(js, "cpu_to_converge_s");
			if (cpu == cpu && cpu > 0)
				fig_add(fc, cpu * 1000 / pairs);
			free(js);
			/* a floor that fails is counted, and ours goes on */
			double wall, per_pair;
			if (floor_mesh(self_path, n, &wall, &per_pair) != 0) {
				failures++;
				continue;
			}
			fig_add(fz, wall);
			fig_add(fzc, per_pair);
		}
		if (quick)
			break;
	}
}

/* meshsim's mean RSS at full mesh of its nodes for args, or a negative value (counted). */
static double node_rss(const char *args)
{
	char *js = meshsim_json(args);
	double rss = js ? json_number(js, "rss_full_kb_mean") : -1;
	free(js);
	if (rss != rss || rss <= 0) {
		fprintf(stderr, "meshbench: no RSS from meshsim %s\n", args);
		failures++;
		return -1;
	}
	return rss;
}

/* fig's median of `runs` readings of meshsim's mean RSS for args (as progress item what), or a
 * negative value (counted). */
static double node_rss_runs(struct fig *fig, const char *what, const char *args, int runs)
{
	for (int r = 0; r < runs; r++) {
		progress(what, r, runs);
		double v = node_rss(args);
		if (v < 0)
			return -1;
		fig_add(fig, v);
	}
	return fig && fig->n ? fig->med : -1;
}

/* Our memory per session beside raw ZeroMQ's per pipe. The floor grows from one pipe up (a
 * warm-up pipe first, limits_zmq_rss_per_pipe_kib), so the like figure of ours grows from one
 * session up: what the first session brings in once (code paths of the handshake, libsodium's
 * and ZeroMQ's TCP engine, paged in; about half a MiB) is not a cost per session. The figure
 * over the idle node, first session included, stays beside it. The idle node, the node with
 * one peer and the one with 16 are the medians of `runs` readings (a reading moves by some
 * 50 KiB between runs, 3 KiB a session at 16); 128 peers, one reading. */
static void bench_memory(int runs, bool quick)
{
	static const int peers[] = { 16, 128 };
	char args[128];
	double idle = node_rss_runs(fig_get("rss_idle_kib", "idle node process RSS", "KiB"),
	                            "idle node", "-n 1 converge --seed 1", runs);
	if (idle < 0)
		return;
	double one = node_rss_runs(fig_get("rss_1_peer_kib", "node process RSS with 1 peer", "KiB"),
	                           "node with 1 peer", "-n 2 converge --seed 1 --deadline 60", runs);
	if (one < 0)
		return;
	for (int k = 0; k < 2; k++) {
		int p = quick ? 4 : peers[k];
		snprintf(args, sizeof args, "-n %d converge --seed %d --deadline 60", p + 1, p);
		char what[48], key[48], label[64];
		snprintf(what, sizeof what, "node with %d peers", p);
		snprintf(key, sizeof key, "rss_%d_peers_kib", p);
		snprintf(label, sizeof label, "node process RSS with %d peers", p);
		double rss = node_rss_runs(fig_get(key, label, "KiB"), what, args, p > 16 ? 1 : runs);
		if (rss < 0)
			return;
		snprintf(what, sizeof what, "raw zmq floor, %d pipes", p);
		progress(what, 0, 1);
		double router_kib;
		double floor = limits_zmq_rss_per_pipe_kib(self_path, p, &router_kib);
		if (floor < 0) {
			failures++;
			return;
		}
		if (k == 0)
			fig_add(fig_get("zmq_idle_rss_kib", "raw zmq process RSS (ROUTER, one pipe)",
			                "KiB"), router_kib);
		snprintf(key, sizeof key, "zmq_rss_per_pipe_%d_kib", p);
		snprintf(label, sizeof label, "raw zmq RSS per pipe (%d pipes)", p);
		fig_add(fig_get(key, label, "KiB"), floor);
		snprintf(key, sizeof key, "rss_per_session_%d_kib", p);
		snprintf(label, sizeof label, "extra RSS per session over idle (%d peers)", p);
		fig_add(fig_get(key, label, "KiB"), (rss - idle) / p);
		snprintf(key, sizeof key, "rss_per_added_session_%d_kib", p);
		snprintf(label, sizeof label, "RSS per session past the first (%d peers)", p);
		fig_add(fig_get(key, label, "KiB"), (rss - one) / (p - 1));
		if (quick)
			break;
	}
}

/* ---------- limits ---------- */

/* A negative figure is a failed run (one line on stderr already): counted, never a value. */
static void add_or_fail(struct fig *f, double v)
{
	if (v < 0)
		failures++;
	else
		fig_add(f, v);
}

static void bench_limits(int runs, bool quick)
{
	static const size_t sizes[] = { 64, 1024, 65536 };
	static const long zcount[] = { 2000000, 1000000, 40000 };
	double secs = quick ? 0.05 : 0.3;
	if (fresh_netns() != 0) {
		failures++;
		return;
	}
	for (int k = 0; k < 3; k++) {
		size_t size = sizes[k];
		char key[48], label[64];
		snprintf(key, sizeof key, "zmq_%zu_msgs", size);
		snprintf(label, sizeof label, "raw zmq DEALER->ROUTER %zu B", size);
		struct fig *fz = fig_get(key, label, "msg/s");
		snprintf(key, sizeof key, "aead_enc_%zu_ops", size);
		snprintf(label, sizeof label, "ChaCha20-Poly1305 encrypt %zu B", size);
		struct fig *fe = fig_get(key, label, "op/s");
		snprintf(key, sizeof key, "aead_dec_%zu_ops", size);
		snprintf(label, sizeof label, "ChaCha20-Poly1305 decrypt %zu B", size);
		struct fig *fd = fig_get(key, label, "op/s");
		for (int r = 0; r < runs; r++) {
			snprintf(label, sizeof label, "limits %zu B (raw zmq, cipher)", size);
			progress(label, r, runs);
			double v = limits_zmq_throughput(size, quick ? zcount[k] / 20 : zcount[k]);
			if (v < 0)
				failures++;
			else
				fig_add(fz, v);
			add_or_fail(fe, limits_aead_encrypt_rate(size, secs));
			add_or_fail(fd, limits_aead_decrypt_rate(size, secs));
		}
	}
	struct fig *p50 = fig_get("zmq_rtt_p50_us", "raw zmq round trip 64 B p50", "us");
	struct fig *p99 = fig_get("zmq_rtt_p99_us", "raw zmq round trip 64 B p99", "us");
	struct fig *x = fig_get("x25519_us", "X25519 scalar multiplication", "us");
	struct fig *xb = fig_get("x25519_base_us", "X25519 key generation", "us");
	struct fig *conv = fig_get("ed25519_to_x25519_us", "Ed25519 -> X25519 public key", "us");
	struct fig *sg = fig_get("ed25519_sign_us", "Ed25519 sign", "us");
	struct fig *vf = fig_get("ed25519_verify_us", "Ed25519 verify", "us");
	struct fig *bl = fig_get("blake2b_64_us", "BLAKE2b 64 B", "us");
	char crlabel[64];
	snprintf(crlabel, sizeof crlabel, "raw zmq connections, %d at a time", HS_PEERS);
	struct fig *cr = fig_get("zmq_connect_per_s", crlabel, "conn/s");
	for (int r = 0; r < runs; r++) {
		double a50, a99;
		if (limits_zmq_rtt(64, quick ? 200 : 2000, &a50, &a99) == 0) {
			fig_add(p50, a50);
			fig_add(p99, a99);
		} else {
			failures++;
		}
		add_or_fail(x, limits_x25519_us(secs));
		add_or_fail(xb, limits_x25519_base_us(secs));
		add_or_fail(conv, limits_ed25519_to_x25519_us(secs));
		add_or_fail(sg, limits_ed25519_sign_us(secs));
		add_or_fail(vf, limits_ed25519_verify_us(secs));
		add_or_fail(bl, limits_blake2b_us(64, secs));
		/* HS_PEERS at a time and 128-byte messages, as the handshake part relinks */
		add_or_fail(cr, limits_zmq_connect_rate(128, HS_PEERS, quick ? 20 : 150));
	}
	/* The handshake bound: each side of a Noise XX handshake makes 4 X25519 operations (one
	 * of them a key generation) and checks the peer's identity (Ed25519 public key to X25519)
	 * on its one loop thread. */
	const struct fig *fx = fig_find("x25519_us"), *fxb = fig_find("x25519_base_us"),
	                 *fc = fig_find("ed25519_to_x25519_us");
	if (fx && fxb && fc)
		fig_add(fig_get("handshake_bound_per_s", "X25519-bound handshakes (one side)", "hs/s"),
		        1e6 / (3 * fx->med + fxb->med + fc->med));
	/* A handshake of the handshake part is also a new connection: where the cores are
	 * saturated (two cores: the part keeps 1.6 - 1.7 busy), their times per handshake add up.
	 * An estimate, not a bound: with cores to spare the two could overlap. */
	const struct fig *fb = fig_find("handshake_bound_per_s"), *fcr = fig_find("zmq_connect_per_s");
	if (fb && fcr)
		fig_add(fig_get("handshake_conn_est_per_s", "X25519 + raw zmq connection estimate",
		                "hs/s"),
		        1 / (1 / fb->med + 1 / fcr->med));
	/* The crypto a linked pair cannot avoid, both sides together: the Noise XX handshake's 6
	 * X25519 and 2 key generations, each side's check of the other's identity (Ed25519 ->
	 * X25519) and of one of its beacons (Ed25519 verify). */
	const struct fig *fv = fig_find("ed25519_verify_us");
	if (fx && fxb && fc && fv)
		fig_add(fig_get("pair_crypto_ms", "crypto a linked pair cannot avoid", "ms"),
		        (6 * fx->med + 2 * fxb->med + 2 * fc->med + 2 * fv->med) / 1000);
}

/* ---------- output ---------- */

static void print_value(char *out, size_t cap, double v)
{
	if (v >= 100)
		snprintf(out, cap, "%.0f", v);
	else if (v >= 10)
		snprintf(out, cap, "%.1f", v);
	else
		snprintf(out, cap, "%.2f", v);
}

static void print_table(FILE *f, int runs)
{
	fprintf(f, "\n%-44s %12s %-12s %s\n", "figure", "median", "unit",
	        runs > 1 ? "range over the runs" : "");
	for (int i = 0; i < nfigs; i++) {
		const struct fig *g = &figs[i];
		char m[32], lo[32], hi[32];
		if (!g->n)
			continue;
		print_value(m, sizeof m, g->med);
		print_value(lo, sizeof lo, g->min);
		print_value(hi, sizeof hi, g->max);
		fprintf(f, "%-44s %12s %-12s", g->label, m, g->unit);
		if (g->n > 1)
			fprintf(f, " %s .. %s (%d runs)", lo, hi, g->n);
		fputc('\n', f);
	}
	if (!ncmps)
		return;
	fprintf(f, "\n%-36s %12s %12s %8s  %-28s %s\n", "comparison", "ours", "limit", "ratio",
	        "target", "");
	for (int i = 0; i < ncmps; i++) {
		const struct cmp *c = &cmps[i];
		char o[32], l[32] = "-", r[32] = "-";
		print_value(o, sizeof o, c->fig->med);
		if (c->limit) {
			print_value(l, sizeof l, c->limit->med * c->limit_scale);
			snprintf(r, sizeof r, "%.2fx", cmp_ratio(c));
		}
		bool has_target = cmp_has_target(c);
		fprintf(f, "%-36s %12s %12s %8s  %-28s %s\n", c->name, o, l, r, c->target_text,
		        !has_target ? "" : cmp_met(c) ? "met" : "MISSED");
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * A figure below its target is news, not a failure: the exit status counts only parts that
 * could not run or gave no figure, so this count is reported apart.
 */
static int targets_missed(void)
{
	int n = 0;
	for (int i = 0; i < ncmps; i++) {
		const struct cmp *c = &cmps[i];
		if (cmp_has_target(c) && !cmp_met(c))
			n++;
	}
	return n;
}

/* A number as JSON has it: a figure that came out infinite or NaN (a limit of 0) is null. */
static void json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static int write_json(const char *path, int runs, bool quick, double wall)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "meshbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct utsname u;
	uname(&u);
	fprintf(f, "{\"meshbench\":1,\"quick\":%s,\"runs\":%d,\"cpus\":%ld,\"kernel\":",
	        quick ? "true" : "false", runs, sysconf(_SC_NPROCESSORS_ONLN));
	json_str(f, u.release);
	fprintf(f, ",\"libzmq\":\"%d.%d.%d\",\"libsodium\":", ZMQ_VERSION_MAJOR,
	        ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
	json_str(f, sodium_version_string());
	fprintf(f, ",\"wall_s\":%.1f,\"failures\":%d,\"targets_missed\":%d,\"figures\":{", wall,
	        failures, targets_missed());
	int first = 1;
	for (int i = 0; i < nfigs; i++) {
		const struct fig *g = &figs[i];
		if (!g->n)
			continue;
		fprintf(f, "%s\n  ", first ? "" : ",");
		first = 0;
		json_str(f, g->key);
		fputs(":{\"label\":", f);
		json_str(f, g->label);
		fputs(",\"unit\":", f);
		json_str(f, g->unit);
		fprintf(f, ",\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"runs\":[", g->med, g->min,
		        g->max);
		for (int k = 0; k < g->n; k++)
			fprintf(f, "%s%.6g", k ? "," : "", g->v[k]);
		fputs("]}", f);
	}
	fputs("},\n\"comparisons\":[", f);
	for (int i = 0; i < ncmps; i++) {
		const struct cmp *c = &cmps[i];
		fprintf(f, "%s\n  {\"name\":", i ? "," : "");
		json_str(f, c->name);
		fputs(",\"figure\":", f);
		json_str(f, c->fig->key);
		json_num(f, "value", c->fig->med);
		if (c->limit) {
			fputs(",\"limit\":", f);
			json_str(f, c->limit->key);
			json_num(f, "limit_value", c->limit->med * c->limit_scale);
			json_num(f, "limit_ratio", cmp_ratio(c));
		}
		if (c->target_ratio > 0)
			fprintf(f, ",\"target_ratio\":%.4g", c->target_ratio);
		if (c->target_abs > 0)
			fprintf(f, ",\"target_value\":%.6g", c->target_abs);
		if (c->target_over > 0)
			fprintf(f, ",\"target_over_limit\":%.6g", c->target_over);
		fprintf(f, ",\"lower_is_better\":%s,\"target\":", c->lower_better ? "true" : "false");
		json_str(f, c->target_text);
		if (cmp_has_target(c))
			fprintf(f, ",\"met\":%s", cmp_met(c) ? "true" : "false");
		fputc('}', f);
	}
	fputs("]}\n", f);
	return fclose(f) == 0 ? 0 : -1;
}

/* The targets of issue 17, each against a limit measured in the same run where there is one. */
static void add_comparisons(void)
{
	struct cmp *c;
	cmp_add("whisper 64 B msg/s / raw zmq", "whisper_64_msgs", "zmq_64_msgs", 1, false, 0.3,
	        0, ">= 0.3x raw zmq");
	cmp_add("whisper 1 KiB msg/s / raw zmq", "whisper_1024_msgs", "zmq_1024_msgs", 1, false,
	        0.6, 0, ">= 0.6x raw zmq");
	cmp_add("whisper 64 KiB msg/s / encrypt rate", "whisper_65536_msgs", "aead_enc_65536_ops",
	        1, false, 0.5, 0, ">= 0.5x one-core encrypt");
	cmp_add("whisper 64 KiB msg/s / raw zmq", "whisper_65536_msgs", "zmq_65536_msgs", 1, false,
	        0, 0, "(for information)");
	cmp_add("round trip p50 / raw zmq", "whisper_rtt_p50_us", "zmq_rtt_p50_us", 1, true, 1.5,
	        0, "<= 1.5x raw zmq");
	cmp_add("round trip p50, driven nodes / raw zmq", "whisper_driven_rtt_p50_us",
	        "zmq_rtt_p50_us", 1, true, 1.5, 0, "<= 1.5x raw zmq");
	cmp_add("shout 64 B to 32: deliveries/s", "shout_32_64_deliveries", NULL, 1, false, 0,
	        400000, ">= 400000/s");
	cmp_add("shout 64 B to 32: last p99 (us)", "shout_32_64_last_p99_us", NULL, 1, true, 0,
	        2000, "< 2000 us");
	cmp_add("shout 64 B to 32, driven nodes: deliveries/s", "shout_driven_32_64_deliveries",
	        NULL, 1, false, 0, 400000, ">= 400000/s");
	cmp_add("shout 64 B to 32, driven nodes: last p99 (us)", "shout_driven_32_64_last_p99_us",
	        NULL, 1, true, 0, 2000, "< 2000 us");
	cmp_add("handshakes/s / X25519 bound", "handshakes_per_s", "handshake_bound_per_s", 1,
	        false, 0.6, 0, ">= 0.6x bound");
	cmp_add("handshakes/s / X25519 + connection estimate", "handshakes_per_s",
	        "handshake_conn_est_per_s", 1, false, 0, 0, "(for information)");
	cmp_add("full mesh of 64 processes (ms)", "converge_64_ms", NULL, 1, true, 0, 500,
	        "median < 500 ms");
	cmp_add("full mesh of 128 processes (ms)", "converge_128_ms", NULL, 1, true, 0, 1500,
	        "< 1500 ms");
	cmp_add("CPU per pair, 64 processes / crypto", "converge_64_cpu_per_pair_ms",
	        "pair_crypto_ms", 1, true, 2, 0, "<= 2x the pair's crypto");
	cmp_add("CPU per pair, 8 processes / crypto", "converge_8_cpu_per_pair_ms",
	        "pair_crypto_ms", 1, true, 2, 0, "<= 2x the pair's crypto");
	/* beside them, for information: the same mesh formed by raw ZeroMQ, with the crypto a
	 * pair cannot avoid added to its CPU (the floor under the 2x target), and its time */
	static const int mesh_n[] = { 8, 16, 64, 128 };
	for (size_t i = 0; i < sizeof mesh_n / sizeof *mesh_n; i++) {
		char name[80], key[48], floor[48], label[64];
		snprintf(key, sizeof key, "zmq_mesh_%d_cpu_per_pair_ms", mesh_n[i]);
		const struct fig *z = fig_find(key), *cr = fig_find("pair_crypto_ms");
		snprintf(floor, sizeof floor, "zmq_mesh_crypto_%d_ms", mesh_n[i]);
		snprintf(label, sizeof label, "raw zmq mesh of %d + crypto, CPU per pair", mesh_n[i]);
		if (z && cr)
			fig_add(fig_get(floor, label, "ms"), z->med + cr->med);
		snprintf(name, sizeof name, "CPU per pair, %d / raw zmq + crypto", mesh_n[i]);
		snprintf(key, sizeof key, "converge_%d_cpu_per_pair_ms", mesh_n[i]);
		cmp_add(name, key, floor, 1, true, 0, 0, "(for information)");
		snprintf(name, sizeof name, "full mesh of %d processes / raw zmq", mesh_n[i]);
		snprintf(key, sizeof key, "converge_%d_ms", mesh_n[i]);
		snprintf(floor, sizeof floor, "zmq_mesh_%d_ms", mesh_n[i]);
		cmp_add(name, key, floor, 1, true, 0, 0, "(for information)");
	}
	cmp_add("shout 64 B to 32 / raw zmq fan-out", "shout_32_64_deliveries",
	        "zmq_fan_32_64_deliveries", 1, false, 0, 0, "(for information)");
	cmp_add("shout 64 B to 32: last p99 / raw zmq", "shout_32_64_last_p99_us",
	        "zmq_fan_32_64_last_p99_us", 1, true, 0, 0, "(for information)");
	cmp_add("shout 64 B to 32, driven nodes / raw zmq fan-out", "shout_driven_32_64_deliveries",
	        "zmq_fan_32_64_deliveries", 1, false, 0, 0, "(for information)");
	/* beside it, a process with the same libraries, a zmq context and a ROUTER: the floor */
	cmp_add("idle node RSS (KiB)", "rss_idle_kib", "zmq_idle_rss_kib", 1, true, 0, 6144,
	        "< 6 MiB");
	/* per session: raw ZeroMQ's own memory per pipe (measured beside it, from one pipe up) is
	 * the floor; ours from one session up is the like figure, the one with the target */
	static const int peers[] = { 4, 16, 128 };
	for (size_t i = 0; i < sizeof peers / sizeof *peers; i++) {
		char name[64], key[48], floor[48];
		snprintf(floor, sizeof floor, "zmq_rss_per_pipe_%d_kib", peers[i]);
		snprintf(name, sizeof name, "RSS per session, %d peers (KiB)", peers[i]);
		snprintf(key, sizeof key, "rss_per_added_session_%d_kib", peers[i]);
		c = cmp_add(name, key, floor, 1, true, 0, 0, "<= raw zmq floor + 4 KiB");
		if (c)
			c->target_over = 4;
		snprintf(name, sizeof name, "RSS per session over idle, %d peers", peers[i]);
		snprintf(key, sizeof key, "rss_per_session_%d_kib", peers[i]);
		cmp_add(name, key, floor, 1, true, 0, 0, "(for information)");
	}
}

static const char *const part_names[] = {
	"limits", "whisper", "shout", "handshake", "converge", "memory",
};
#define NPARTS (sizeof part_names / sizeof part_names[0])

/* Which parts --only names, into want[NPARTS]. NULL if all is well, else the first name that
 * is no part, copied into bad. */
static const char *parse_only(const char *only, bool want[NPARTS], char *bad, size_t badcap)
{
	const char *p = only;
	for (;;) {
		size_t l = strcspn(p, ",");
		size_t i = 0;
		while (i < NPARTS && !(strlen(part_names[i]) == l && memcmp(part_names[i], p, l) == 0))
			i++;
		if (i == NPARTS) {
			snprintf(bad, badcap, "%.*s", (int)(l < 64 ? l : 64), p);
			return bad;
		}
		want[i] = true;
		if (!p[l])
			return NULL;
		p += l + 1;
	}
}

/* A whole decimal number in [min, max]: strtol() alone would take "3x" as 3. */
static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Says what is wrong with the command line, in one line and a hint; returns the exit status. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("meshbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'meshbench --help'.\n", stderr);
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: meshbench [--quick] [--runs R] [--json FILE] [--only LIST] [--meshsim PATH]\n"
"                 [--shout-window W] [-h | --help] [-V | --version]\n"
"  --quick        short counts and one run per figure (a smoke test, about 30 s)\n"
"  --runs R       runs per figure, 1 to %d (default 5, 1 with --quick; the median and\n"
"                 the range are printed)\n"
"  --json FILE    the same figures as JSON (comparisons carry \"limit_ratio\")\n"
"  --only LIST    comma-separated parts: limits,whisper,shout,handshake,converge,memory\n"
"  --meshsim PATH the meshsim program (default: the meshsim beside this program)\n"
"  --shout-window W  shouts in flight in the fan-out runs (default 16)\n"
"  -h, --help     show this help\n"
"  -V, --version  show the version\n"
"Run as root: each part runs in a private network namespace made for it.\n", MAX_RUNS);
}

int main(int argc, char **argv)
{
	/* the allocator policy of the meshnode program, for our figures and the limits alike (the
	 * floor's processes included), so that both sides of every ratio run under it */
	(void)meshnode_malloc_policy();
	/* not an option: how the memory part starts the processes of its floor (limits.h) */
	if (argc >= 2 && strcmp(argv[1], "--zmq-floor-child") == 0)
		return limits_floor_child(argc - 1, argv + 1);
	/* nor this: the processes of the converge part's raw ZeroMQ mesh (meshbench_floor.h) */
	if (argc >= 2 && strcmp(argv[1], "--zmq-mesh-child") == 0)
		return floor_mesh_child(argc - 1, argv + 1);
	int runs = 0;
	long v;
	bool quick = false;
	bool want[NPARTS] = { false };
	const char *json = NULL, *only = NULL;
	char bad[80];
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "meshsim", required_argument, NULL, 'm' },
		{ "shout-window", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	meshsim_path[0] = '\0';
	while ((c = getopt_long(argc, argv, "qr:j:o:m:w:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 'r':
			if (!parse_long(optarg, 1, MAX_RUNS, &v))
				return bad_usage("--runs: '%s' is not a whole number from 1 to %d",
				                 optarg, MAX_RUNS);
			runs = (int)v;
			break;
		case 'j': json = optarg; break;
		case 'o': only = optarg; break;
		case 'm': snprintf(meshsim_path, sizeof meshsim_path, "%s", optarg); break;
		case 'w':
			if (!parse_long(optarg, 1, LONG_MAX, &v))
				return bad_usage("--shout-window: '%s' is not a whole number above 0",
				                 optarg);
			shout_window = v;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("meshbench %s\n", MESHNODE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!only)
		memset(want, 1, sizeof want);
	else if (parse_only(only, want, bad, sizeof bad))
		return bad_usage("--only: unknown part '%s' (the parts: limits, whisper, shout, "
		                 "handshake, converge, memory)", bad);
	if (runs == 0)
		runs = quick ? 1 : 5;
	if (sodium_init() < 0 || make_pattern() != 0)
		return 1;
	ssize_t l = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (l <= 0)
		return 1;
	self_path[l] = '\0';
	if (!meshsim_path[0]) {
		char self[PATH_MAX];
		memcpy(self, self_path, (size_t)l + 1);
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		if (strlen(self) + sizeof "/meshsim" > sizeof meshsim_path)
			return 1;
		memcpy(meshsim_path, self, strlen(self));
		memcpy(meshsim_path + strlen(self), "/meshsim", sizeof "/meshsim");
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/meshbench.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("meshbench: mkdtemp");
		return 1;
	}
	/* the first private namespace before anything else: nothing here ever runs outside one */
	if (fresh_netns() != 0)
		return 1;
	printf("meshbench: %ld CPUs, libzmq %d.%d.%d, libsodium %s, %d run%s per figure%s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR,
	       ZMQ_VERSION_PATCH, sodium_version_string(), runs, runs > 1 ? "s" : "",
	       quick ? " (quick: short counts, figures are not comparable)" : "");
	fflush(stdout);
	double t0 = monoclock_s();
	/* in the order of part_names */
	static void (*const part_fn[NPARTS])(int, bool) = {
		bench_limits, bench_whisper, bench_shout, bench_handshake, bench_converge,
		bench_memory,
	};
	for (size_t i = 0; i < NPARTS; i++) {
		if (!want[i])
			continue;
		double ts = monoclock_s();
		fprintf(stderr, "meshbench: %s...\n", part_names[i]);
		part_fn[i](runs, quick);
		fprintf(stderr, "meshbench: %s done in %.1f s\n", part_names[i], monoclock_s() - ts);
	}
	add_comparisons();
	print_table(stdout, runs);
	double wall = monoclock_s() - t0;
	int missed = targets_missed();
	printf("\n%d failure%s, %d target%s missed (not a failure: see MISSED above); %.1f s\n",
	       failures, failures == 1 ? "" : "s", missed, missed == 1 ? "" : "s", wall);
	int rc = failures ? 1 : 0;
	if (json && write_json(json, runs, quick, wall) != 0)
		rc = 1;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "meshbench: could not remove %s\n", tmpdir);
	return rc;
}
