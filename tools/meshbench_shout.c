/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_shout: meshbench's shout part (docs/performance.md, "meshbench"): one sender
 * shouts to 8 and to 32 member nodes in the process, each with its loop thread, then to 32
 * again with every node driven by this one thread (meshnode_drive_fds); raw ZeroMQ's fan-out
 * in the same shape beside each loop run (meshbench_floor.c). Every member must get every
 * shout exactly once and in order, or the run fails.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshbench.h"
#include "meshbench_floor.h"
#include "meshnode.h"
#include "monoclock.h"

struct fan {
	struct meshnode *sender;
	struct meshnode *member[MAX_MEMBERS];
	int members;
	bool driven;             /* all started driven, and owned by this thread */
};

/* A run's account: every delivery checked, and when the last member has each shout. */
struct fan_count {
	size_t size;
	long sent, done, bad, nlat, joins;
	long next[MAX_MEMBERS];  /* the shout each member must get next: one sender's come in order */
	double *t_sent, *lat_us;
	int *have;
	bool any;                /* a delivery since the last look */
};

/* An event of node i (0 the sender, i a member i - 1) into the account. */
static void fan_take(struct fan *fn, struct fan_count *fc, int i, struct meshnode_event *ev)
{
	if (i == 0) {
		fc->bad += ev->type == MESHNODE_EV_DROPPED;
		fc->joins += ev->type == MESHNODE_EV_JOIN && strcmp(ev->group, "fan") == 0;
	} else if (ev->type == MESHNODE_EV_SHOUT) {
		uint64_t seq = 0;
		if (ev->len >= 8)
			memcpy(&seq, ev->data, 8);
		/* exactly once and in order at each member: a copy, a gap or a stranger is bad */
		if (seq != (uint64_t)fc->next[i - 1] || seq >= (uint64_t)fc->sent ||
		    !payload_ok(ev->data, ev->len, fc->size, seq)) {
			fc->bad++;
		} else {
			fc->next[i - 1]++;
			if (++fc->have[seq] == fn->members) {
				fc->lat_us[fc->nlat++] = (monoclock_s() - fc->t_sent[seq]) * 1e6;
				fc->done++;
			}
		}
		fc->any = true;
	}
	meshnode_event_destroy(&ev);
}

#define FAN_FDS 8    /* descriptors a node may ask us to poll (meshnode_drive_fds) */

/* Driven nodes, all owned by this thread: every node's descriptors in one poll, waiting at
 * most max_ms, then a turn of each node with input or whose time is up, and its events
 * taken; -1 if a node failed or asked for more descriptors than we have room for. */
static int fan_pass(struct fan *fn, struct fan_count *fc, int max_ms)
{
	struct pollfd pfd[(MAX_MEMBERS + 1) * FAN_FDS];
	int first[MAX_MEMBERS + 1], cnt[MAX_MEMBERS + 1], wait_ms = max_ms;
	double due[MAX_MEMBERS + 1];
	nfds_t np = 0;
	for (int i = 0; i <= fn->members; i++) {
		struct meshnode *n = i ? fn->member[i - 1] : fn->sender;
		int fds[FAN_FDS], t;
		cnt[i] = meshnode_drive_fds(n, fds, FAN_FDS, &t);
		if (cnt[i] < 0 || cnt[i] > FAN_FDS)
			return -1;
		due[i] = monoclock_s() + t / 1e3;   /* from this call: a turn before it would not tick */
		first[i] = (int)np;
		for (int k = 0; k < cnt[i]; k++)
			pfd[np++] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
		if (t < wait_ms)
			wait_ms = t;
	}
	if (poll(pfd, np, wait_ms) < 0 && errno != EINTR)
		return -1;
	double now = monoclock_s();
	for (int i = 0; i <= fn->members; i++) {
		struct meshnode *n = i ? fn->member[i - 1] : fn->sender;
		bool ready = now >= due[i];
		for (int k = 0; k < cnt[i] && !ready; k++)
			ready = pfd[first[i] + k].revents != 0;
		if (!ready)
			continue;
		/* the call that finds no event queued runs the node's turn */
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(n, 0)))
			fan_take(fn, fc, i, ev);
	}
	return 0;
}

/* One run: count shouts of size to the group, at most window shouts not yet delivered to every
 * member. Fills msgs/s and the sorted latencies to the last member. Nodes with loop threads
 * are waited for on their event descriptors; driven ones are run by fan_pass(). */
static int shout_run(struct fan *fn, size_t size, long count, long window, double *msgs_s,
                     double *lat_us)
{
	uint8_t *payload = malloc(size ? size : 1);
	struct fan_count fc = { .size = size, .lat_us = lat_us };
	fc.t_sent = calloc((size_t)count, sizeof *fc.t_sent);
	fc.have = calloc((size_t)count, sizeof *fc.have);
	struct pollfd pfd[MAX_MEMBERS];
	int rc = -1;
	if (!payload || !fc.t_sent || !fc.have)
		goto out;
	fill_payload(payload, size, 0);
	for (int i = 0; !fn->driven && i < fn->members; i++)
		pfd[i] = (struct pollfd){ .fd = meshnode_event_fd(fn->member[i]), .events = POLLIN };
	double t0 = monoclock_s(), last_progress = t0;
	while (fc.done < count) {
		while (fc.sent < count && fc.sent - fc.done < window) {
			uint64_t seq = (uint64_t)fc.sent;
			if (size >= 8)
				memcpy(payload, &seq, 8);
			fc.t_sent[fc.sent] = monoclock_s();
			if (meshnode_shout(fn->sender, "fan", payload, size, NULL) != MESH_OK)
				goto out;
			fc.sent++;
		}
		bool full = fc.sent - fc.done >= window || fc.sent == count;
		fc.any = false;
		if (fn->driven) {
			if (fan_pass(fn, &fc, full ? 100 : 0) != 0) {
				fprintf(stderr, "meshbench: shout: a driven node failed\n");
				goto out;
			}
		} else {
			for (int i = 0; i < fn->members; i++) {
				struct meshnode_event *ev;
				while ((ev = meshnode_next_event(fn->member[i], 0)))
					fan_take(fn, &fc, i + 1, ev);
			}
		}
		if (fc.any) {
			last_progress = monoclock_s();
		} else if (monoclock_s() - last_progress > 5) {
			fprintf(stderr, "meshbench: shout stalled at %ld of %ld delivered to all (%ld "
			        "bad, dropped or unexpected deliveries)\n", fc.done, count, fc.bad);
			goto out;
		} else if (full && !fn->driven) {
			(void)poll(pfd, (nfds_t)fn->members, 100);
		}
	}
	*msgs_s = (double)count / (monoclock_s() - t0);
	qsort(lat_us, (size_t)fc.nlat, sizeof lat_us[0], cmp_double);
	struct meshnode_event *ev;
	while ((ev = meshnode_next_event(fn->sender, 0)))
		fan_take(fn, &fc, 0, ev);
	rc = fc.bad ? -1 : 0;
	if (fc.bad)
		fprintf(stderr, "meshbench: shout: %ld bad, dropped or unexpected deliveries\n",
		        fc.bad);
out:
	free(payload);
	free(fc.t_sent);
	free(fc.have);
	return rc;
}

/* Beside each shout run, raw ZeroMQ's in the same shape (floor_fanout): its figures, 0 or -1.
 * lat: room for count latencies. */
static int shout_floor(int members, size_t size, long count, long window, double *lat)
{
	char key[48], label[64];
	double rate;
	if (floor_fanout(members, size, count, window, &rate, lat) != 0)
		return -1;
	qsort(lat, (size_t)count, sizeof lat[0], cmp_double);
	snprintf(key, sizeof key, "zmq_fan_%d_%zu_deliveries", members, size);
	snprintf(label, sizeof label, "raw zmq fan-out %zu B to %d", size, members);
	fig_add(fig_get(key, label, "deliveries/s"), rate);
	snprintf(key, sizeof key, "zmq_fan_%d_%zu_last_p50_us", members, size);
	snprintf(label, sizeof label, "raw zmq fan-out %zu B to %d, last p50", size, members);
	fig_add(fig_get(key, label, "us"), pct(lat, count, 50));
	snprintf(key, sizeof key, "zmq_fan_%d_%zu_last_p99_us", members, size);
	snprintf(label, sizeof label, "raw zmq fan-out %zu B to %d, last p99", size, members);
	fig_add(fig_get(key, label, "us"), pct(lat, count, 99));
	return 0;
}

/* The sender and its members started, all in the group, and linked: 0, or -1 with a reason
 * said. Driven nodes are started and run by this thread (their owner) until linked. */
static int fan_start(struct fan *fn)
{
	char name[32], err[512];
	if (fresh_netns() != 0)
		return -1;
	for (int i = 0; i <= fn->members; i++) {
		struct meshnode *n;
		if (i)
			snprintf(name, sizeof name, "member-%02d", i - 1);
		n = new_node(i ? name : "sender");
		if (!n)
			return -1;
		if (i)
			fn->member[i - 1] = n;
		else
			fn->sender = n;
		if (i && meshnode_join(n, "fan") != MESH_OK)
			return -1;
		enum mesh_err rc = fn->driven ? meshnode_start_driven(n, err, sizeof err)
		                              : meshnode_start(n, err, sizeof err);
		if (rc != MESH_OK) {
			fprintf(stderr, "meshbench: %s: %s\n", meshnode_name(n), err);
			return -1;
		}
	}
	int rc = 0;
	if (fn->driven) {
		struct fan_count fc = { 0 };
		double end = monoclock_s() + 30;
		while (rc == 0 && fc.joins < fn->members && monoclock_s() < end)
			rc = fan_pass(fn, &fc, 100);
		rc = rc == 0 && fc.joins == fn->members ? 0 : -1;
	} else {
		rc = wait_events(fn->sender, MESHNODE_EV_JOIN, "fan", fn->members, 30);
	}
	if (rc != 0)
		fprintf(stderr, "meshbench: %d members did not all join within 30 s\n", fn->members);
	return rc;
}

void bench_shout(int runs, bool quick)
{
	/* 8 and 32 members with loop threads; 32 driven by this one thread (64 B only) */
	static const struct { int members; bool driven; } shapes[] = {
		{ 8, false }, { 32, false }, { 32, true },
	};
	static const size_t sizes[] = { 64, 1024 };
	for (size_t g = 0; g < sizeof shapes / sizeof *shapes; g++) {
		struct fan fn = { .members = shapes[g].members, .driven = shapes[g].driven };
		const char *kind = fn.driven ? "driven_" : "";
		const char *how = fn.driven ? ", driven nodes" : "";
		bool ok = fan_start(&fn) == 0;
		for (int s = 0; ok && s < (fn.driven ? 1 : 2); s++) {
			size_t size = sizes[s];
			long count = (quick ? 60000 : 600000) / fn.members / (size > 64 ? 2 : 1);
			long window = shout_window;
			double *lat = calloc((size_t)count, sizeof *lat);
			char key[48], label[80];
			snprintf(key, sizeof key, "shout_%s%d_%zu_msgs", kind, fn.members, size);
			snprintf(label, sizeof label, "shout %zu B to %d%s", size, fn.members, how);
			struct fig *fmsg = fig_get(key, label, "msg/s");
			snprintf(key, sizeof key, "shout_%s%d_%zu_deliveries", kind, fn.members, size);
			struct fig *fdel = fig_get(key, label, "deliveries/s");
			snprintf(key, sizeof key, "shout_%s%d_%zu_last_p50_us", kind, fn.members, size);
			snprintf(label, sizeof label, "shout %zu B to %d%s, last member p50", size,
			         fn.members, how);
			struct fig *f50 = fig_get(key, label, "us");
			snprintf(key, sizeof key, "shout_%s%d_%zu_last_p99_us", kind, fn.members, size);
			snprintf(label, sizeof label, "shout %zu B to %d%s, last member p99", size,
			         fn.members, how);
			struct fig *f99 = fig_get(key, label, "us");
			for (int r = 0; lat && r < runs; r++) {
				double msgs;
				snprintf(label, sizeof label, "shout %zu B to %d%s", size, fn.members, how);
				progress(label, r, runs);
				for (int i = 0; i < fn.members; i++)
					drain_events(fn.member[i]);
				if (shout_run(&fn, size, count, window, &msgs, lat) != 0) {
					failures++;
					ok = false;
					break;
				}
				fig_add(fmsg, msgs);
				fig_add(fdel, msgs * fn.members);
				fig_add(f50, pct(lat, count, 50));
				fig_add(f99, pct(lat, count, 99));
				/* a floor that fails is counted, and ours goes on; the driven runs have
				 * the loop runs' floor beside them */
				if (!fn.driven && shout_floor(fn.members, size, count, window, lat) != 0)
					failures++;
			}
			free(lat);
		}
		if (!ok)
			failures++;
		/* this thread owns the driven ones: it may stop and destroy them */
		meshnode_destroy(&fn.sender);
		for (int i = 0; i < fn.members; i++)
			meshnode_destroy(&fn.member[i]);
	}
}
