/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_report: what a run found, and the three ways meshsim shows it: the summary table on
 * stdout, the JSON report (--json, schema in docs/meshsim.md) and the SVG picture (--plot). The
 * core fills struct meshsim_result once the run is over; nothing here decides pass or fail.
 */
#ifndef MESHSIM_REPORT_H
#define MESHSIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct meshsim_point {
	double ms;
	long count;
};

struct meshsim_node_usage {
	char name[16];
	double cpu_s;
	long max_rss_kb;
	long full_rss_kb;                 /* VmRSS at full mesh after the settle; -1: unknown */
	int restarts;
	double start_ms, ready_ms, full_ms;  /* first generation; -1: did not happen */
};

/* A moment the run changed the network or a node: a fault injected or undone, a node killed
 * or restarted, an attack begun or ended. The plot draws each on its time axis. */
struct meshsim_mark {
	double ms;                        /* the report's clock (meshsim_ms_of) */
	char what[24];                    /* short: "cut", "heal", "kill node3", "garbage end" */
};

struct meshsim_cycle {
	char name[16];
	double kill_ms, restart_ms, ready_ms, reconverge_ms;   /* -1: did not happen */
};

/* Kinds of fault a message is attributed to in the account (meshsim_check.h). */
enum meshsim_kind {
	MESHSIM_KIND_NONE = 0,            /* sent while no fault was in effect */
	MESHSIM_KIND_CUT,                 /* a TCP connection cut (ss -K) */
	MESHSIM_KIND_KILL,                /* a node SIGKILLed and restarted */
	MESHSIM_KIND_STOP,                /* a node SIGSTOPped, then SIGCONT (or SIGKILL) */
	MESHSIM_KIND_PARTITION,           /* the LAN cut in two, then healed */
	MESHSIM_KIND_FLAP,                /* a host's interface down, then up */
	MESHSIM_KIND_READDR,              /* a host's interface given another address */
	/* attack (meshsim_attack.c): one kind per attacker, in enum meshsim_attacker's order */
	MESHSIM_KIND_CONN_FLOOD,
	MESHSIM_KIND_BEACON_FLOOD,
	MESHSIM_KIND_HELLO_FLOOD,
	MESHSIM_KIND_PARTIAL_HOLD,
	MESHSIM_KIND_GARBAGE,
	MESHSIM_KIND_MITM,
	MESHSIM_KINDS
};

struct meshsim_account_row {
	long messages;                    /* accepted by their sender (a "sent" reply) */
	long pairs;                       /* (message, recipient) accounted */
	long delivered, maybe, reported, gone, lost, unanswered, bad;   /* one per pair */
	long duplicates;                  /* deliveries beyond the first, on top */
};

struct meshsim_account {
	bool receipts;                    /* the nodes ran with --receipts */
	struct meshsim_account_row kind[MESHSIM_KINDS], total;
	long faults[MESHSIM_KINDS];       /* faults injected, per kind */
	long stop_kills;                  /* stops that ended in SIGKILL (counted as stops) */
	long cuts_missed;                 /* cuts that found no connection to destroy */
	long refused;                     /* messages their sender refused (an error reply) */
	long order_violations;
	long late_answers;                /* answers read during teardown: not counted */
};

const char *meshsim_report_kind_name(int kind);   /* "none", "cut", ... */

/* attack: what one attack did to the victim (docs/meshsim.md, "Attack"). */
struct meshsim_attack_row {
	char name[16];
	double start_ms, secs;            /* when it began, how long the attacker ran */
	long base_fds, peak_fds;          /* the victim's open fds before it and at most during */
	long base_rss_kb, peak_rss_kb;
	double cpu_mean_pct, cpu_peak_pct; /* the victim's CPU (100 = one core), 200 ms samples */
	long samples;
	double link_ms;                   /* the fresh node's start to linked both ways; -1 never */
	double whisper_ms;                /* linked to the victim printing its whisper; -1 never */
	long exits;                       /* exits between meshsim's nodes in the attack's window */
	char exit_example[64];
	bool victim_alive;                /* the victim was still running when it ended */
	bool attacker_ok;                 /* the attacker process ran and reported */
	bool breach;                      /* the protocol gave way (mitm: a swapped key accepted,
	                                   * plaintext on the wire) */
	struct meshsim_account_row account;  /* messages sent while it was in effect */
	char what[480];                   /* what the attacker did, in its own words */
};

struct meshsim_result {
	const char *version;
	const char *scenario;
	int n, hosts;
	int subnets;                      /* 0: the hosts share one bridge */
	const char *fixed_peers;          /* with subnets: "all", "one" or "none"; else NULL */
	bool bridge;                      /* --bridge: host 0 on subnets 0 and 1 */
	uint64_t seed;
	bool inproc;
	bool sim;                         /* --sim: virtual time, no CPU or memory figures */
	double loss_pct;
	unsigned delay_ms, jitter_ms;
	uint32_t beacon_ms, heartbeat_ms, evasive_ms, expired_ms;
	uint32_t rekey_ms;                /* the nodes' rekey interval */
	uint16_t mcast_port;
	double deadline_s;

	bool converged;
	double convergence_ms;            /* -1 if not converged */
	double ready_ms;                  /* last node ready; -1 if some never were */
	long sessions_full;               /* n * (n - 1) */
	struct meshsim_point *curve;      /* sampled every MESHSIM_SAMPLE_MS */
	size_t ncurve;
	struct meshsim_point *steps;      /* every change, at its event's time (1 ms resolution) */
	size_t nsteps;
	struct meshsim_mark *marks;       /* in the order they happened */
	size_t nmarks;

	bool has_messages;
	long messages;                    /* sent */
	long send_failures;
	size_t size;
	double rate;
	long deliveries_expected, deliveries, losses, duplicates, order_violations;
	long deliveries_total;            /* every delivery of a message to its intended receiver */
	long misdeliveries;               /* to the sender itself, or a whisper to a non-target */
	long dropped_events;              /* DROPPED events the senders reported */
	long payload_errors;
	double *latencies_ms;             /* sorted, one per first delivery to an intended receiver */
	size_t nlat;
	double lat_p50, lat_p95, lat_p99, lat_max, lat_mean;
	double throughput_per_s;

	struct meshsim_node_usage *nodes;
	size_t nnodes;
	bool usage_shared;                /* in-process: process totals divided by n */
	double cpu_mean, cpu_max, rss_mean, rss_max;
	double observer_cpu_s;            /* meshsim itself (process mode) */
	double rss_full_mean, rss_full_max; /* VmRSS at full mesh, KiB; -1: not measured */
	double rss_settle_ms;             /* how long after full mesh it was read; -1: not */
	double cpu_converge_s;            /* nodes' CPU from the first start to full mesh; -1 */
	long online_cpus;

	bool has_churn;
	int kills;
	struct meshsim_cycle *cycles;
	size_t ncycles;
	long exits_seen, reenters_seen;

	bool has_account;                 /* faults, churn: the account of every message */
	struct meshsim_account account;

	bool has_attack;                  /* attack: per attack, what it did to the victim */
	char attack_victim[16];
	long attack_victim_nofile;        /* the victim's open-file limit (soft); -1 unknown */
	double attack_link_bound_ms;
	struct meshsim_attack_row *attacks;
	size_t nattacks;

	bool has_partition;
	double detect_ms, reconverge_ms;  /* -1: not reached */

	long spurious_exits;
	long evasive_events;
	double duration_ms;
	const char *fault;                /* --inject-fault (tests only), or NULL */
	char **violations;
	size_t nviolations;
	bool ok;
};

/* The p-th percentile (0..100, nearest rank) of sorted values. 0 if n == 0. */
double meshsim_report_percentile(const double *sorted, size_t n, double p);
void meshsim_report_table(FILE *f, const struct meshsim_result *r);
/* 0, or -1 with errno set. */
int meshsim_report_json(const char *path, const struct meshsim_result *r);
int meshsim_report_svg(const char *path, const struct meshsim_result *r);

#endif
