/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim.h: what meshsim's core (meshsim.c) shares with its two node backends: real
 * `meshnode --json` processes (meshsim_proc.c) and node objects in this process
 * (meshsim_inproc.c). The core owns the run: it decides what to send, keeps the observer's view
 * of every node (sessions, memberships, deliveries) and checks the invariants. A backend only
 * starts, drives and stops nodes, and turns whatever they report into struct meshsim_ev.
 *
 * Everything runs on one thread: the core calls backend->poll(), which calls meshsim_event()
 * for each event it reads. Times are CLOCK_MONOTONIC microseconds (meshsim_now_us()).
 */
#ifndef MESHSIM_H
#define MESHSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "meshsim_json.h"
#include "meshsim_net.h"

#define MESHSIM_GROUP "sim"
#define MESHSIM_REKEY_MS 120000   /* the nodes' default rekey interval (docs/usage.md) */
#define MESHSIM_HEX_LEN 64

enum meshsim_scenario {
	MESHSIM_CONVERGE = 0,
	MESHSIM_BROADCAST,
	MESHSIM_WHISPER,
	MESHSIM_CHURN,
	MESHSIM_PARTITION,
	MESHSIM_FAULTS,            /* meshsim_faults.c */
	MESHSIM_ATTACK,            /* meshsim_attack.c */
};

/* With --subnets, which nodes of the other subnets each node is given as --peer (multicast
 * does not cross the router). */
enum meshsim_fixed_peers {
	MESHSIM_PEERS_ALL = 0,     /* every node of every other subnet: a full mesh without help */
	MESHSIM_PEERS_NONE,        /* TEST AID: none, so the mesh must stay split by subnet */
	MESHSIM_PEERS_ONE,         /* the first node of subnet 0 names the first of each other
	                            * subnet, and peer exchange must do the rest */
};

/* With --subnets every node listens on a fixed TCP port, so that others can name it: node i on
 * MESHSIM_NODE_PORT_BASE + i. Unique per node, so nodes sharing a host cannot collide, and
 * below Linux's ephemeral range (32768-60999), so no outgoing connection can hold it first. */
#define MESHSIM_NODE_PORT_BASE 20000

enum meshsim_fault {
	MESHSIM_FAULT_NONE = 0,
	MESHSIM_FAULT_DROP,        /* the observer ignores one delivery */
	MESHSIM_FAULT_DUP,         /* the observer counts one delivery twice */
};

struct meshsim_opts {
	int n;
	enum meshsim_scenario scenario;
	uint64_t seed;
	int hosts;                 /* 0: loopback only */
	int subnets;               /* 0: the hosts share one bridge; else routed subnets */
	enum meshsim_fixed_peers fixed_peers;   /* with subnets */
	bool bridge;               /* with subnets: host 0 on subnets 0 and 1 (meshsim_net.h) */
	int ipv6;                  /* with hosts: MESHSIM_IPV6_* (meshsim_net.h) */
	unsigned loss_permille;
	unsigned delay_ms, jitter_ms;
	bool inproc;
	bool sim;                  /* --sim: simnet, virtual time (meshsim_sim.c) */
	long messages;
	double rate;
	size_t size;
	double deadline_s;
	const char *json_path, *plot_path, *meshnode;
	const char *capture_path;  /* --capture: tcpdump writes it (tcpdump found at startup) */
	char tcpdump[PATH_MAX];
	const char *keylog_path;   /* --keylog: the nodes' key logs, concatenated at the end */
	bool json_stdout;   /* --json -: the report on stdout, so the table goes to stderr */
	uint32_t beacon_ms, heartbeat_ms, evasive_ms, expired_ms;
	int churn_kills;
	bool quiet;
	bool keep;
	enum meshsim_fault fault;
	const char *log_level;
	uint32_t rss_settle_ms;    /* 0: two heartbeats */
	/* faults and churn: the account of every message (meshsim_check.h) */
	int cuts, kills, stops, partitions;   /* faults: how many of each */
	int flaps, readdrs;        /* faults: interface faults on hosts (meshsim_faults.c) */
	uint32_t ttl_ms;           /* the nodes' --ttl */
	bool no_receipts;          /* run nodes without --receipts and --ttl */
	/* attack (meshsim_attack.c) */
	double attack_secs;        /* how long each attack lasts */
	uint32_t attack_link_ms;   /* the bound on a fresh node's link with the victim */
	int attack_conns;          /* conn-flood: connections held at once */
	int attack_peers;          /* partial-hold: linked peers of the attacker's own */
	unsigned attacks;          /* bit per enum meshsim_attacker to run; 0: all */
};

enum meshsim_ev_type {
	MESHSIM_EV_READY = 1,      /* text: the node's own hex ID */
	MESHSIM_EV_ENTER,
	MESHSIM_EV_EXIT,           /* reason */
	MESHSIM_EV_EVASIVE,
	MESHSIM_EV_JOIN,           /* group */
	MESHSIM_EV_LEAVE,          /* group */
	MESHSIM_EV_SHOUT,          /* group, id, data/len */
	MESHSIM_EV_WHISPER,        /* id, data/len */
	MESHSIM_EV_DROPPED,        /* id, reason, maybe */
	MESHSIM_EV_DELIVERED,      /* id: the peer took our message (--receipts) */
	MESHSIM_EV_ERROR,          /* text; msg: the failed command's message, or -1 */
	MESHSIM_EV_SENT,           /* id; msg: which message */
	MESHSIM_EV_STOPPED,
	MESHSIM_EV_OTHER,
};

struct meshsim_ev {
	enum meshsim_ev_type type;
	int64_t t_us;              /* when meshsim read it */
	const char *peer;          /* hex ID, or NULL */
	const char *group;
	uint64_t id;
	bool has_id;
	const char *data;
	size_t len;
	bool binary;               /* the payload came as base64 "data" */
	const char *reason;
	bool maybe;                /* DROPPED: maybe_delivered */
	const char *text;
	long msg;                  /* SENT, ERROR: index of the message the command sent; -1 none */
	const char *endpoint;      /* READY: the node's ROUTER, "tcp://IP:PORT", or NULL */
};

struct meshsim_node {
	int idx;
	char name[16];
	char hex[MESHSIM_HEX_LEN + 1];
	bool have_id;
	int host;
	int gen;                   /* 0 for the first start, +1 per restart */
	bool running;              /* started, and neither killed nor gone */
	bool ready;                /* reported ready in this generation */
	bool killed;               /* SIGKILLed by churn or faults (this generation) */
	bool frozen;               /* SIGSTOPped by faults, not yet continued */
	bool stopping;             /* asked to quit */
	bool failed;               /* something went wrong: show its log at the end */
	int64_t start_us, ready_us;
	/* for the report: the first generation's start and ready, and when this node first had
	 * every other in its view (0: not yet) */
	int64_t first_start_us, first_ready_us, full_us;
	int seen;                  /* peers whose enter it reported, exit not (yet) */
	char endpoint[64];         /* its ROUTER, from its ready line ("" if not said) */

	/* process backend */
	pid_t pid;
	bool reaped, eof;
	int in_fd, out_fd;
	char *rbuf;
	size_t rlen, rcap;
	char *wbuf;
	size_t wlen, wcap;         /* bytes waiting to be written to stdin */
	struct meshsim_stamp { size_t end; long msg; } *stamps;
	size_t nstamps, cstamps;
	long *cmdq;                /* commands awaiting their reply: message index or -1 */
	size_t qhead, qlen, qcap;
	int status;                /* wait status of the last generation */
	char stderr_path[512];

	/* in-process backend */
	struct meshnode *mn;

	/* usage over every generation */
	double cpu_s;
	long max_rss_kb;
	long full_rss_kb;          /* VmRSS once the mesh was full and had settled; -1: unknown */
};

struct meshsim;

/* Exit statuses (docs/meshsim.md). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* meshsim_options.c: the command line. meshsim_parse_options() returns -1 to go on, or the
 * exit status (help, version, a usage error already reported on stderr). */
int meshsim_parse_options(int argc, char **argv, struct meshsim_opts *o);
int meshsim_usage_error(const char *what, const char *arg);
/* tcpdump's path from PATH into out; false if none is executable. */
bool meshsim_find_tcpdump(char *out, size_t cap);
const char *meshsim_scenario_name(enum meshsim_scenario sc);

/* meshsim's own nice value in process mode; nodes run at 0 (docs/meshsim.md). */
#define MESHSIM_NICE (-10)

struct meshsim_backend {
	const char *name;
	/* Starts generation nd->gen of nd. 0, or -1 with a reason in err. */
	int (*start)(struct meshsim *s, struct meshsim_node *nd, char *err, size_t errcap);
	/* Sends message msg from nd (meshsim_msg_payload() gives its text). */
	int (*send)(struct meshsim *s, struct meshsim_node *nd, long msg);
	void (*kill)(struct meshsim *s, struct meshsim_node *nd);
	/* Waits up to timeout_ms for events and reports them with meshsim_event(). */
	void (*poll)(struct meshsim *s, int timeout_ms);
	/* Stops every node (cleanly, then by force after deadline_us) and fills cpu_s/max_rss_kb. */
	void (*stop_all)(struct meshsim *s, int64_t deadline_us);
	/* Prints the last lines a failed node logged. */
	void (*show_log)(struct meshsim *s, struct meshsim_node *nd);
	/* Current resident set of nd in KiB, or -1. In-process: the whole process's. */
	long (*rss_kb)(struct meshsim *s, struct meshsim_node *nd);
	/* CPU seconds the running nodes have used so far (all their threads), or -1. */
	double (*cpu_now)(struct meshsim *s);
};

extern const struct meshsim_backend meshsim_proc_backend;
extern const struct meshsim_backend meshsim_inproc_backend;

/* The parts of the core a backend reads. */
struct meshsim_env {
	const struct meshsim_opts *o;
	struct meshsim_node *nodes;
	int n;
	const char *tmpdir;
	const char *meshnode;      /* process backend: the program */
	uint16_t mcast_port;
	uint32_t beacon_ms, heartbeat_ms, evasive_ms, expired_ms;
	uint32_t rekey_ms;         /* the nodes' --rekey-interval; 0: their default */
	struct meshsim_net *net;   /* NULL without --hosts */
	bool join_group;           /* nodes join MESHSIM_GROUP at start */
	bool receipts;             /* nodes run with --receipts and --ttl ttl_ms */
	uint32_t ttl_ms;
};

const struct meshsim_env *meshsim_env(const struct meshsim *s);
int64_t meshsim_now_us(void);
/* In a child of meshsim, just forked from parent: dies with meshsim (and at once if meshsim
 * died before it could ask), takes the signals and the normal priority back from meshsim's
 * (which runs at MESHSIM_NICE); SIGPIPE is ignored when ignore_pipe, else default. */
void meshsim_child_setup(pid_t parent, bool ignore_pipe);
/* t as milliseconds since the first node was started (the report's clock). */
double meshsim_ms_of(const struct meshsim *s, int64_t t_us);
/* Reports one event of nd. */
void meshsim_event(struct meshsim *s, struct meshsim_node *nd, const struct meshsim_ev *ev);
/* The node's process is gone (its output was read to the end and it was reaped). */
void meshsim_node_gone(struct meshsim *s, struct meshsim_node *nd, int status);
/* The message's command went out (the whole line was written, or meshnode_shout returned). */
void meshsim_msg_sent(struct meshsim *s, long msg, int64_t t_us);
/* The payload of message msg (borrowed until the next call), and whom a whisper goes to. */
const char *meshsim_msg_payload(struct meshsim *s, long msg, size_t *len);
int meshsim_msg_target(const struct meshsim *s, long msg);
/* In-process: the whole process's CPU seconds and peak RSS, which the core divides by n. */
void meshsim_process_usage(struct meshsim *s, double cpu_s, long max_rss_kb);
void meshsim_violation(struct meshsim *s, const char *fmt, ...);
/* VmRSS of process pid (0: this one) from /proc/PID/status, in KiB; -1 if unreadable. */
long meshsim_vmrss_kb(pid_t pid);

/* For scenarios in files of their own (meshsim_faults.c): the core's loop and its view. */
typedef bool (*meshsim_cond)(struct meshsim *s);
/* Runs the mesh (sending, reading, checking) until done(s) or the deadline; see run_until. */
bool meshsim_run_until(struct meshsim *s, meshsim_cond done, int64_t deadline_us);
/* Starts every node and waits for full mesh with every membership; false if not reached. */
bool meshsim_converge(struct meshsim *s);
/* Full mesh, every membership, every node ready and none stopped. */
bool meshsim_mesh_whole(struct meshsim *s);
void meshsim_start_sending(struct meshsim *s);     /* at --rate, until stopped */
/* Goes on until at least --messages were sent, then stops sending. */
void meshsim_finish_sending(struct meshsim *s);
uint64_t meshsim_rng_below(struct meshsim *s, uint64_t bound);
/* A random node that is up (ready, not stopped) other than exclude, or -1. */
int meshsim_pick_node(struct meshsim *s, int exclude);
/* SIGKILLs nd (its generation's messages are then "gone with their sender"). */
void meshsim_kill_node(struct meshsim *s, struct meshsim_node *nd);
/* Starts nd's next generation, same identity and name. */
void meshsim_restart_node(struct meshsim *s, struct meshsim_node *nd);
/* Marks now on the report's time axis (struct meshsim_mark): what, printf-style, is cut to
 * a short label. Out of memory loses the mark, never the run. */
void meshsim_mark(struct meshsim *s, const char *fmt, ...);
/* The partition the observer knows of: hosts >= first are cut off; 0: healed. */
void meshsim_set_cut(struct meshsim *s, int first);
/* Why the mesh is not whole (for a violation), into buf. */
void meshsim_describe_missing(struct meshsim *s, char *buf, size_t cap);
/* Waits until the mesh is whole and every message has its answer; false (with a violation
 * if the mesh is not whole) when the deadline passed first. */
bool meshsim_wait_answers(struct meshsim *s, const char *scenario);
struct meshsim_check *meshsim_checker(struct meshsim *s);
bool meshsim_interrupted(const struct meshsim *s);      /* by SIGINT, SIGTERM, or every
                                                          node having died */

/* A scenario's look at every event before the core's: peer is the node the event is about
 * (-1: none of meshsim's nodes, or not known yet). Returning true takes the event away from
 * the core; the attack scenario takes those about its own identities (attackers, the fresh
 * node), which would otherwise wait for a ready line that never comes. */
typedef bool (*meshsim_hook)(void *arg, struct meshsim_node *nd, int peer,
                             const struct meshsim_ev *ev);
void meshsim_set_hook(struct meshsim *s, meshsim_hook fn, void *arg);

/* meshsim_faults.c: the scenario, and what it adds to the account (faults injected) */
struct meshsim_account;
void meshsim_scenario_faults(struct meshsim *s);
void meshsim_faults_result(struct meshsim *s, struct meshsim_account *acc);

/* meshsim_attack.c: the scenario, and its part of the report (after the account) */
struct meshsim_result;
void meshsim_scenario_attack(struct meshsim *s);
void meshsim_attack_result(struct meshsim *s, struct meshsim_result *res);

#endif
