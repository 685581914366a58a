/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_sim: meshsim --sim (meshsim_sim.h). The scenarios map onto simnet's configuration:
 * converge starts the nodes and sends nothing; broadcast and whisper add traffic at --rate
 * (shouts or whispers); churn crashes and restarts --churn-kills random nodes during the
 * traffic; partition splits the nodes in two for a while. --loss is the beacon loss, --delay
 * and --jitter the one-way latency of every frame and beacon. simnet's own checks (no
 * duplicate or reordering; after settling, one live session per running pair and nothing
 * more; every accepted message delivered or reported) become meshsim's violations.
 */
#include "meshsim_sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mesh.h"
#include "meshsim_report.h"
#include "monoclock.h"
#include "simnet.h"

#ifndef MESHNODE_VERSION
#define MESHNODE_VERSION "unknown"
#endif

#define EXIT_OK 0
#define EXIT_FAIL 1
#define SAMPLE_MS 50            /* the sessions curve's resolution, as meshsim.c's */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void violation(char ***v, size_t *n, const char *text)
{
	char **nv = realloc(*v, (*n + 1) * sizeof *nv);
	char *t = strdup(text);
	if (!nv || !t) {
		free(t);
		if (nv)
			*v = nv;
		return;
	}
	*v = nv;
	nv[(*n)++] = t;
}

int meshsim_sim_run(const struct meshsim_opts *o, const char *scenario, uint32_t beacon_ms,
                    uint32_t heartbeat_ms, uint32_t evasive_ms, uint32_t expired_ms,
                    uint32_t rekey_ms)
{
	struct simnet_config c;
	struct simnet_report r;
	struct meshsim_result res;
	char line[512];
	simnet_config_init(&c, (uint32_t)o->n, o->seed);
	c.cuts = c.partitions = c.crashes = c.pauses = c.slow_readers = 0;
	c.beacon_loss_pct = o->loss_permille / 10;
	/* a LAN is never instant: without --delay, 1 ms one way with up to 1 ms of jitter */
	c.latency_ms = o->delay_ms ? o->delay_ms : 1;
	c.jitter_ms = o->delay_ms || o->jitter_ms ? o->jitter_ms : 1;
	c.big_pct = 0;
	/* --size, but never less than the 24 bytes that name a message (as meshsim's tag) */
	c.msg_size = o->size < 24 ? 24 : (uint32_t)o->size;
	c.record = true;
	c.beacon_ms = beacon_ms;
	c.heartbeat_ms = heartbeat_ms;
	c.evasive_ms = evasive_ms;
	c.expired_ms = expired_ms;
	/* the nodes' rekey interval, as the process back-end's (simnet_config_init's is short,
	 * for fault scenarios that must see rekeys under every fault) */
	c.rekey_ms = rekey_ms ? rekey_ms : MESHSIM_REKEY_MS;
	bool traffic = o->scenario != MESHSIM_CONVERGE && o->scenario != MESHSIM_PARTITION;
	if (traffic && o->rate > 0 && o->messages > 0) {
		/* --rate is all senders together; simnet's interval is per node */
		c.msg_interval_ms = (uint32_t)(1000.0 * o->n / o->rate);
		if (c.msg_interval_ms == 0)
			c.msg_interval_ms = 1;
		/* simnet's senders start at 1 s and draw their intervals: about --messages */
		c.duration_ms = (uint32_t)(1000.0 * (double)o->messages / o->rate) + 1000;
	} else {
		c.msg_interval_ms = 0;
		c.duration_ms = (uint32_t)(o->deadline_s * 1000);
	}
	c.shout_pct = o->scenario == MESHSIM_WHISPER ? 0 : 100;
	if (o->scenario == MESHSIM_CHURN)
		c.crashes = (uint32_t)o->churn_kills;
	if (o->scenario == MESHSIM_PARTITION) {
		/* as in the process back-end, the split must be seen: long enough for every session
		 * across it to expire, twice over, with a node on each side */
		c.partitions = 1;
		c.partition_ms = 2 * expired_ms + 1000;
		if (c.duration_ms < 2 * c.partition_ms)
			c.duration_ms = 2 * c.partition_ms;
	}
	/* after the traffic: long enough for a queue timeout and an expiry, twice over */
	c.settle_ms = traffic || c.crashes || c.partitions ? 4 * expired_ms + 20000 : 0;
	/* converge measures the time to full mesh: once there, 10 s more (two handshake timeouts
	 * at N <= 40), or the longest a handshake may take and 2 s (a retry's, or one answered
	 * for a try its initiator gave up on: 32 s at N = 256) let crossing handshakes finish
	 * before the checks */
	if (o->scenario == MESHSIM_CONVERGE) {
		uint32_t longest = mesh_handshake_longest(c.handshake_timeout_ms, expired_ms) + 2000;
		c.end_after_converged_ms = longest > 10000 ? longest : 10000;
	}
	simnet_seed_rng(o->seed);
	if (sodium_init() < 0) {
		fprintf(stderr, "meshsim: libsodium cannot start\n");
		return EXIT_FAIL;
	}
	if (!o->quiet)
		fprintf(stderr, "meshsim: %s, %d nodes (simulated, virtual time), seed %llu, timers "
		        "%u/%u/%u/%u ms\n", scenario, o->n, (unsigned long long)o->seed, beacon_ms,
		        heartbeat_ms, evasive_ms, expired_ms);
	double t0 = monoclock_s();
	if (simnet_run(&c, &r) != 0) {
		fprintf(stderr, "meshsim: out of memory in the simulation\n");
		simnet_report_free(&r);
		return EXIT_FAIL;
	}
	double wall = monoclock_s() - t0;

	memset(&res, 0, sizeof res);
	res.version = MESHNODE_VERSION;
	res.scenario = scenario;
	res.n = o->n;
	res.seed = o->seed;
	res.sim = true;
	res.loss_pct = c.beacon_loss_pct;
	res.delay_ms = c.latency_ms;
	res.jitter_ms = c.jitter_ms;
	res.beacon_ms = beacon_ms;
	res.heartbeat_ms = heartbeat_ms;
	res.evasive_ms = evasive_ms;
	res.expired_ms = expired_ms;
	res.rekey_ms = c.rekey_ms;
	res.deadline_s = o->deadline_s;
	res.converged = r.converged_ms > 0 && r.converged_ms <= o->deadline_s * 1000;
	res.convergence_ms = res.converged ? (double)r.converged_ms : -1;
	res.ready_ms = -1;
	res.cpu_converge_s = -1;
	res.sessions_full = (long)o->n * (o->n - 1);
	res.steps = calloc(r.nsteps ? r.nsteps : 1, sizeof *res.steps);
	if (res.steps) {
		for (size_t i = 0; i < r.nsteps; i++)
			res.steps[i] = (struct meshsim_point){ (double)r.steps[i].ms,
			                                       (long)r.steps[i].live };
		res.nsteps = r.nsteps;
	}
	/* the curve: the steps sampled every SAMPLE_MS of virtual time, to the end of the run */
	size_t ns = (size_t)(r.virtual_ms / SAMPLE_MS) + 1;
	res.curve = calloc(ns, sizeof *res.curve);
	if (res.curve) {
		size_t k = 0;
		long live = 0;
		for (size_t i = 0; i < ns; i++) {
			uint64_t t = (uint64_t)i * SAMPLE_MS;
			while (k < r.nsteps && r.steps[k].ms <= t)
				live = (long)r.steps[k++].live;
			res.curve[i] = (struct meshsim_point){ (double)t, live };
		}
		res.ncurve = ns;
	}
	res.detect_ms = res.reconverge_ms = -1;
	res.has_messages = traffic;
	res.messages = (long)(r.sent + r.refused);
	res.send_failures = (long)r.refused;
	res.size = c.msg_size;
	res.rate = o->rate;
	res.deliveries_expected = (long)r.accepted;
	res.deliveries = (long)r.delivered;
	res.deliveries_total = (long)r.delivered;
	res.losses = (long)r.lost;
	res.duplicates = (long)r.duplicates;
	res.order_violations = (long)r.reordered;
	res.dropped_events = (long)r.reported;
	if (r.nlat)                     /* qsort(NULL, 0, ...) is undefined */
		qsort(r.latencies_ms, r.nlat, sizeof *r.latencies_ms, cmp_double);
	res.latencies_ms = r.latencies_ms;
	res.nlat = r.nlat;
	if (r.nlat) {
		double sum = 0;
		for (size_t i = 0; i < r.nlat; i++)
			sum += r.latencies_ms[i];
		res.lat_mean = sum / (double)r.nlat;
		res.lat_p50 = meshsim_report_percentile(r.latencies_ms, r.nlat, 50);
		res.lat_p95 = meshsim_report_percentile(r.latencies_ms, r.nlat, 95);
		res.lat_p99 = meshsim_report_percentile(r.latencies_ms, r.nlat, 99);
		res.lat_max = r.latencies_ms[r.nlat - 1];
	}
	if (c.duration_ms)
		res.throughput_per_s = (double)r.delivered / (c.duration_ms / 1000.0);
	res.rss_full_mean = res.rss_full_max = -1;
	res.rss_settle_ms = -1;
	res.duration_ms = (double)r.virtual_ms;
	res.has_churn = false;
	if (r.part_start_ms) {
		/* split: the first time the sessions fell to what the two sides allow; healed: the
		 * first time after the heal that they were all back */
		res.has_partition = true;
		for (size_t i = 0; i < r.nsteps; i++) {
			const struct simnet_step *st = &r.steps[i];
			if (res.detect_ms < 0 && st->ms >= r.part_start_ms && st->ms < r.part_heal_ms &&
			    st->live == r.part_live)
				res.detect_ms = (double)(st->ms - r.part_start_ms);
			if (res.reconverge_ms < 0 && st->ms >= r.part_heal_ms &&
			    st->live == (uint64_t)res.sessions_full)
				res.reconverge_ms = (double)(st->ms - r.part_heal_ms);
		}
		if (res.detect_ms < 0)
			violation(&res.violations, &res.nviolations,
			          "partition: the split was never seen in full");
		if (res.reconverge_ms < 0)
			violation(&res.violations, &res.nviolations,
			          "partition: no full mesh again after the heal");
	}
	/* simnet keeps the first partition's times, not those of its other faults */
	struct meshsim_mark marks[2] = { { (double)r.part_start_ms, "cut" },
	                                 { (double)r.part_heal_ms, "heal" } };
	if (r.part_start_ms) {
		res.marks = marks;
		res.nmarks = r.part_heal_ms ? 2 : 1;
	}
	res.kills = (int)r.crashes;
	if (!res.converged) {
		snprintf(line, sizeof line, "not at full mesh within %.0f virtual s", o->deadline_s);
		violation(&res.violations, &res.nviolations, line);
	}
	if (simnet_broken(&r)) {
		snprintf(line, sizeof line, "%s (unlinked pairs %" PRIu64 ", stray sessions %" PRIu64
		         ", lost %" PRIu64 ", duplicated %" PRIu64 ", reordered %" PRIu64 ")",
		         r.first_problem, r.pairs_unlinked, r.stray_sessions, r.lost, r.duplicates,
		         r.reordered);
		violation(&res.violations, &res.nviolations, line);
	}
	res.ok = res.nviolations == 0;

	FILE *human = o->json_stdout ? stderr : stdout;
	meshsim_report_table(human, &res);
	fprintf(human, "  %-20s %.1f s of virtual time in %.2f s of wall time (%" PRIu64 " events)\n",
	        "simulation", (double)r.virtual_ms / 1000.0, wall, r.events);
	if (c.crashes || c.partitions)
		fprintf(human, "  %-20s %" PRIu64 " crashes, %" PRIu64 " restarts, %" PRIu64 " partitions; %"
		        PRIu64 " messages gone with their crashed sender\n", "faults", r.crashes,
		        r.restarts, r.partitions, r.with_sender);
	fflush(human);
	int rc = res.ok ? EXIT_OK : EXIT_FAIL;
	if (o->json_path && meshsim_report_json(o->json_path, &res) != 0) {
		fprintf(stderr, "meshsim: cannot write %s\n", o->json_path);
		rc = EXIT_FAIL;
	}
	if (o->plot_path && meshsim_report_svg(o->plot_path, &res) != 0) {
		fprintf(stderr, "meshsim: cannot write %s\n", o->plot_path);
		rc = EXIT_FAIL;
	}
	if (!res.ok) {
		fprintf(stderr, "meshsim: FAILED (%s, n=%d, seed %llu; replay: meshsim --sim with the "
		        "same arguments):\n", scenario, o->n, (unsigned long long)o->seed);
		for (size_t i = 0; i < res.nviolations; i++)
			fprintf(stderr, "  - %s\n", res.violations[i]);
	}
	for (size_t i = 0; i < res.nviolations; i++)
		free(res.violations[i]);
	free(res.violations);
	free(res.steps);
	free(res.curve);
	simnet_report_free(&r);
	return rc;
}
