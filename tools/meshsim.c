/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim: starts many meshnode nodes on this machine, drives a scenario (converge, broadcast,
 * whisper, churn, partition, faults, attack), checks the mesh's invariants and reports what
 * happened, with figures and a picture (docs/meshsim.md is the user's guide, `meshsim --help`
 * the summary).
 *
 * This file is the core: the observer's view of the mesh, the scenarios and the checks.
 * meshsim_options.c reads the command line, meshsim_faults.c is the faults scenario,
 * meshsim_attack.c the attack scenario (its attackers in meshsim_attackers.c),
 * meshsim_check.c the account of every message (faults, churn, attack), meshsim_proc.c and
 * meshsim_inproc.c start and drive the nodes, meshsim_net.c builds the private network,
 * meshsim_report.c prints the results.
 *
 * Invariants:
 * - Nodes only ever run in a network namespace meshsim made for itself (meshsim_net_isolate()
 *   runs before anything is started, and a failure ends meshsim): nothing reaches a real LAN.
 * - Every random choice comes from one generator seeded with --seed, which the report prints.
 * - The observer only believes what nodes report (ENTER/EXIT/JOIN/...) and what it did itself
 *   (send, kill, restart, cut, heal); each invariant is checked against exactly that, and none
 *   is relaxed to let a run pass. No message is excused by a time window: a loss is
 *   legitimate only if its sender reported it, or if its sender was SIGKILLed before it could
 *   (the account, meshsim_check.c), and every such message is counted in the report.
 * - Exit status: 0 only if every invariant held and the mesh converged before the deadline;
 *   1 otherwise; 2 for usage errors.
 */
#include "meshsim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meshsim_check.h"
#include "meshsim_report.h"
#include "meshsim_sim.h"

#include "keyfile.h"
#include "keys.h"
#include "monoclock.h"
#include "secfile.h"

#ifndef MESHNODE_VERSION
#define MESHNODE_VERSION "unknown"
#endif

#define SAMPLE_MS 50            /* sessions curve resolution */
#define PROGRESS_MS 250
#define MAX_VIOLATIONS 200      /* stored strings; the rest are only counted */
#define MAX_EXAMPLES 3          /* examples of one kind of violation */
#define MAX_NODES 1000
#define MAX_LOGS_SHOWN 5        /* failed nodes whose log tail is printed */
#define DRAIN_MIN_MS 5000       /* how long to wait for late deliveries, at least */

/* per (message, receiver) slot */
#define SLOT_DROPPED 2u         /* the sender reported DROPPED for this receiver */
#define SLOT_AWAITED 4u         /* a delivery the drain phase waits for */

enum phase { PHASE_RUN, PHASE_TEARDOWN };

struct msg {
	int sender, target, gen;     /* target -1: a shout */
	uint64_t id;                 /* the sender's message ID, from its reply */
	bool id_known;
	uint64_t rx_id;              /* the ID receivers saw, checked against id */
	bool rx_id_seen;
	bool failed;
	int64_t issued_us, sent_us;
};

struct pending_drop {
	int sender, gen, peer;
	uint64_t id;
};

struct deferred {
	int node;
	struct meshsim_ev ev;        /* strings below are owned copies */
	char *peer, *group, *data, *reason, *text;
};

struct kill_rec {
	int node;
	int64_t kill_us, gone_us, restart_us, ready_us, reconv_us;   /* 0: not (yet) */
	uint8_t *up;                 /* nodes up when it was killed */
	uint8_t *had;                /* ... that had it entered */
	uint8_t *exits;              /* exits of it each of them reported since */
	uint8_t *reentered;          /* enters of its next generation each reported */
};

struct meshsim {
	struct meshsim_opts o;
	struct meshsim_env env;
	const struct meshsim_backend *be;
	int n;
	struct meshsim_node *nodes;
	int *idx_table;              /* hex ID -> node index + 1; open addressing */
	size_t idx_cap;

	/* The observer's view: sess[i * n + j] says node i reported j entered and not exited. */
	uint8_t *sess;
	int64_t *sess_t;             /* when that enter was reported */
	uint8_t *member;             /* i reported j joined MESHSIM_GROUP */
	long sessions, members, full;
	int64_t full_since;          /* sessions == full since then; 0 if not full */

	/* partition */
	int cut_first;               /* hosts >= this are on the far side; 0: no cut yet */
	bool cut_active;
	int64_t cut_us;              /* faults: when the observer learnt of the cut */
	long cross_sessions;
	int64_t last_cross_exit_us;

	/* per (receiver, sender): the last delivery, for the order check */
	int *last_gen;
	long *last_seq;
	uint64_t *last_id;

	struct msg *msgs;
	long nmsgs, cmsgs;
	uint16_t *rcount;            /* [msg * n + receiver] */
	int64_t *rtime;
	uint8_t *sflags;
	long awaited_open;
	long intended_total, intended_delivered;
	char *payload;
	size_t payload_cap;
	struct pending_drop *pdrops;
	size_t npdrops, cpdrops;

	bool sending, send_unbounded;
	long send_limit;
	int64_t next_send_us;
	double send_interval_us;
	long send_skipped;

	struct kill_rec *kills;
	int nkills;

	/* faults and churn: the account of every message; NULL in the other scenarios */
	struct meshsim_check *check;
	int64_t open_at_us;          /* when meshsim_check_open() was last asked */
	long open_pairs, open_unsure;  /* and what it said */
	char open_example[160];

	int64_t t0, end_us;
	struct meshsim_point *curve, *steps;
	size_t ncurve, ccurve, nsteps, csteps;
	struct meshsim_mark *marks;
	size_t nmarks, cmarks;
	int64_t next_sample_us, next_progress_us;
	bool progress, progress_shown;
	enum phase phase;

	bool converged;
	int64_t converged_us;
	double cpu_start_s, cpu_converge_s;   /* nodes' CPU when starting and at full mesh */
	int64_t ready_all_us;
	double detect_ms, reconverge_ms;

	char **viol;
	size_t nviol;
	long viol_more;
	long spurious_exits, evasive_events, order_violations, payload_errors, dropped_events;
	long send_failures, exits_seen, reenters_seen;
	int order_examples, payload_examples, exit_examples;
	bool fault_done;
	long fault_msg;              /* faults: the pair whose delivery and receipt were ignored */
	int fault_rx;
	bool interrupted;
	double proc_cpu_s;
	long proc_rss_kb;
	double rss_settle_ms;        /* -1: RSS at full mesh not measured */

	/* Events about a peer whose 'ready' line has not been read yet (it may still sit in that
	 * peer's pipe): kept, in order, and replayed once its ID is known. */
	struct deferred *deferred;
	size_t ndeferred, cdeferred;

	meshsim_hook hook;           /* attack: sees every event first */
	void *hook_arg;

	uint64_t rng[4];
	char tmpdir[512];
	char meshnode[4096];
	struct meshsim_net *net;
};

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

/* ---------- small helpers ---------- */

int64_t meshsim_now_us(void)
{
	return monoclock_us();
}

const struct meshsim_env *meshsim_env(const struct meshsim *s)
{
	return &s->env;
}

static double ms_of(const struct meshsim *s, int64_t t)
{
	return (double)(t - s->t0) / 1000.0;
}

void meshsim_violation(struct meshsim *s, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (s->nviol >= MAX_VIOLATIONS) {
		s->viol_more++;
		return;
	}
	char **nv = realloc(s->viol, (s->nviol + 1) * sizeof *nv);
	char *copy = strdup(buf);
	if (!nv || !copy) {
		if (nv)
			s->viol = nv;
		free(copy);
		s->viol_more++;
		return;
	}
	s->viol = nv;
	s->viol[s->nviol++] = copy;
}

void meshsim_mark(struct meshsim *s, const char *fmt, ...)
{
	va_list ap;
	if (s->nmarks == s->cmarks) {
		size_t ncap = s->cmarks ? s->cmarks * 2 : 64;
		struct meshsim_mark *nm = realloc(s->marks, ncap * sizeof *nm);
		if (!nm)
			return;
		s->marks = nm;
		s->cmarks = ncap;
	}
	struct meshsim_mark *m = &s->marks[s->nmarks++];
	m->ms = ms_of(s, meshsim_now_us());
	va_start(ap, fmt);
	vsnprintf(m->what, sizeof m->what, fmt, ap);
	va_end(ap);
}

void meshsim_process_usage(struct meshsim *s, double cpu_s, long max_rss_kb)
{
	s->proc_cpu_s = cpu_s;
	s->proc_rss_kb = max_rss_kb;
}

long meshsim_vmrss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	if (pid > 0)
		snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	else
		snprintf(path, sizeof path, "/proc/self/status");
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			char *end;
			long v = strtol(line + 6, &end, 10);
			if (end != line + 6 && v >= 0)
				kb = v;
			break;
		}
	}
	fclose(f);
	return kb;
}

/* xoshiro256**, seeded through splitmix64: small, fast, and the same on every machine. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct meshsim *s)
{
	uint64_t *r = s->rng;
	uint64_t result = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;
	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return result;
}

/* Uniform in [0, bound), without modulo bias. */
static uint64_t rng_below(struct meshsim *s, uint64_t bound)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound, v;
	do
		v = rng_next(s);
	while (v >= limit);
	return v % bound;
}

static int64_t rng_between_us(struct meshsim *s, int64_t lo_ms, int64_t hi_ms)
{
	return (lo_ms + (int64_t)rng_below(s, (uint64_t)(hi_ms - lo_ms + 1))) * 1000;
}

static uint32_t hash_hex(const char *hex)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < MESHSIM_HEX_LEN; i++)
		h = (h ^ (uint8_t)hex[i]) * 16777619u;
	return h;
}

static bool valid_hex(const char *s)
{
	if (!s || strlen(s) != MESHSIM_HEX_LEN)
		return false;
	for (int i = 0; i < MESHSIM_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int node_of(const struct meshsim *s, const char *hex)
{
	if (!valid_hex(hex))
		return -1;
	for (size_t k = hash_hex(hex) & (s->idx_cap - 1);; k = (k + 1) & (s->idx_cap - 1)) {
		int v = s->idx_table[k];
		if (v == 0)
			return -1;
		if (strcmp(s->nodes[v - 1].hex, hex) == 0)
			return v - 1;
	}
}

static void index_node(struct meshsim *s, int i)
{
	size_t k = hash_hex(s->nodes[i].hex) & (s->idx_cap - 1);
	while (s->idx_table[k] != 0)
		k = (k + 1) & (s->idx_cap - 1);
	s->idx_table[k] = i + 1;
}

static bool node_up(const struct meshsim_node *nd)
{
	return nd->running && nd->ready && !nd->stopping && !nd->frozen;
}

static int side_of(const struct meshsim *s, int i)
{
	return s->nodes[i].host >= s->cut_first ? 1 : 0;
}

static bool cross(const struct meshsim *s, int i, int j)
{
	return s->cut_first > 0 && side_of(s, i) != side_of(s, j);
}

/* ---------- sessions curve ---------- */

static int push_point(struct meshsim_point **v, size_t *n, size_t *cap, double ms, long count)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct meshsim_point *nv = realloc(*v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct meshsim_point){ ms, count };
	return 0;
}

static void sessions_changed(struct meshsim *s, int64_t t)
{
	double ms = floor(ms_of(s, t));
	if (s->phase == PHASE_RUN) {
		if (s->nsteps > 0 && s->steps[s->nsteps - 1].ms == ms)
			s->steps[s->nsteps - 1].count = s->sessions;
		else
			push_point(&s->steps, &s->nsteps, &s->csteps, ms, s->sessions);
	}
	if (s->sessions == s->full) {
		if (!s->full_since)
			s->full_since = t;
	} else {
		s->full_since = 0;
	}
}

static void sess_set(struct meshsim *s, int i, int j, bool on, int64_t t)
{
	size_t k = (size_t)i * (size_t)s->n + (size_t)j;
	if (s->sess[k] == on)
		return;
	s->sess[k] = on;
	s->sessions += on ? 1 : -1;
	s->nodes[i].seen += on ? 1 : -1;
	if (on)
		s->sess_t[k] = t;
	if (on && s->nodes[i].seen == s->n - 1 && !s->nodes[i].full_us)
		s->nodes[i].full_us = t;
	if (cross(s, i, j))
		s->cross_sessions += on ? 1 : -1;
	if (!on && s->member[k]) {
		s->member[k] = 0;
		s->members--;
	}
	sessions_changed(s, t);
}

/* ---------- messages ---------- */

static int grow_msgs(struct meshsim *s)
{
	size_t n = (size_t)s->n;
	size_t ncap = s->cmsgs ? (size_t)s->cmsgs * 2 : 256;
	struct msg *nm = realloc(s->msgs, ncap * sizeof *nm);
	if (!nm)
		return -1;
	s->msgs = nm;
	uint16_t *rc = realloc(s->rcount, ncap * n * sizeof *rc);
	if (!rc)
		return -1;
	s->rcount = rc;
	int64_t *rt = realloc(s->rtime, ncap * n * sizeof *rt);
	if (!rt)
		return -1;
	s->rtime = rt;
	uint8_t *sf = realloc(s->sflags, ncap * n * sizeof *sf);
	if (!sf)
		return -1;
	s->sflags = sf;
	s->cmsgs = (long)ncap;
	return 0;
}

/* "s<sender>-<seq>", then a blank and filler letters up to --size bytes. */
const char *meshsim_msg_payload(struct meshsim *s, long m, size_t *len)
{
	char tag[48];
	int tl = snprintf(tag, sizeof tag, "s%d-%ld", s->msgs[m].sender, m);
	size_t want = s->o.size > (size_t)tl ? s->o.size : (size_t)tl;
	if (want + 1 > s->payload_cap) {
		char *np = realloc(s->payload, want + 1);
		if (!np) {
			*len = 0;
			return "";
		}
		s->payload = np;
		s->payload_cap = want + 1;
	}
	memcpy(s->payload, tag, (size_t)tl);
	if (want > (size_t)tl) {
		s->payload[tl] = ' ';
		for (size_t k = (size_t)tl + 1; k < want; k++)
			s->payload[k] = (char)('a' + (char)(((size_t)m + k) % 26));
	}
	s->payload[want] = 0;
	*len = want;
	return s->payload;
}

int meshsim_msg_target(const struct meshsim *s, long m)
{
	return s->msgs[m].target;
}

static const char *msg_label(const struct meshsim *s, long m, char *buf, size_t cap)
{
	snprintf(buf, cap, "s%d-%ld", s->msgs[m].sender, m);
	return buf;
}

static void unawait(struct meshsim *s, long m, int r)
{
	size_t k = (size_t)m * (size_t)s->n + (size_t)r;
	if ((s->sflags[k] & SLOT_AWAITED) && s->rcount[k] == 0 && !(s->sflags[k] & SLOT_DROPPED))
		s->awaited_open--;
	s->sflags[k] &= (uint8_t)~SLOT_AWAITED;
}

void meshsim_msg_sent(struct meshsim *s, long m, int64_t t_us)
{
	if (m >= 0 && m < s->nmsgs && s->msgs[m].sent_us == 0)
		s->msgs[m].sent_us = t_us;
}

static bool connected(const struct meshsim *s, int a, int b)
{
	size_t ab = (size_t)a * (size_t)s->n + (size_t)b, ba = (size_t)b * (size_t)s->n + (size_t)a;
	/* each must have seen the *current* generation of the other enter */
	return node_up(&s->nodes[a]) && node_up(&s->nodes[b]) && s->sess[ab] && s->sess[ba] &&
	       s->sess_t[ab] >= s->nodes[b].start_us && s->sess_t[ba] >= s->nodes[a].start_us;
}

static int pick_node(struct meshsim *s, int exclude)
{
	int count = 0, chosen = -1;
	for (int i = 0; i < s->n; i++)
		if (i != exclude && node_up(&s->nodes[i]))
			count++;
	if (count == 0)
		return -1;
	int k = (int)rng_below(s, (uint64_t)count);
	for (int i = 0; i < s->n && chosen < 0; i++)
		if (i != exclude && node_up(&s->nodes[i]) && k-- == 0)
			chosen = i;
	return chosen;
}

/* faults: half of the messages are whispers, to a node the sender has entered */
static int pick_present(struct meshsim *s, int snd)
{
	int count = 0, k;
	for (int r = 0; r < s->n; r++)
		count += r != snd && s->sess[(size_t)snd * (size_t)s->n + (size_t)r];
	if (count == 0)
		return -1;
	k = (int)rng_below(s, (uint64_t)count);
	for (int r = 0; r < s->n; r++)
		if (r != snd && s->sess[(size_t)snd * (size_t)s->n + (size_t)r] && k-- == 0)
			return r;
	return -1;
}

static void send_one(struct meshsim *s, int64_t now)
{
	bool whisper = s->o.scenario == MESHSIM_WHISPER;
	int snd = pick_node(s, -1), tgt = -1;
	if (snd >= 0 && whisper)
		tgt = pick_node(s, snd);
	if (snd >= 0 && (s->o.scenario == MESHSIM_FAULTS || s->o.scenario == MESHSIM_ATTACK) &&
	    rng_below(s, 2)) {
		tgt = pick_present(s, snd);
		whisper = tgt >= 0;
	}
	if (snd < 0 || (whisper && tgt < 0)) {
		s->send_skipped++;
		return;
	}
	if (s->nmsgs == s->cmsgs && grow_msgs(s) != 0) {
		meshsim_violation(s, "out of memory for messages");
		s->sending = false;
		return;
	}
	long m = s->nmsgs++;
	struct msg *msg = &s->msgs[m];
	memset(msg, 0, sizeof *msg);
	msg->sender = snd;
	msg->target = tgt;
	msg->gen = s->nodes[snd].gen;
	msg->issued_us = now;
	if (s->check && meshsim_check_msg(s->check, m, snd, msg->gen, tgt, now) != 0) {
		meshsim_violation(s, "out of memory for the account of messages");
		s->sending = false;
		s->nmsgs--;
		return;
	}
	for (int r = 0; r < s->n; r++) {
		size_t k = (size_t)m * (size_t)s->n + (size_t)r;
		bool intended = whisper ? r == tgt : r != snd;
		uint8_t f = 0;
		s->rcount[k] = 0;
		s->rtime[k] = 0;
		if (intended) {
			s->intended_total++;
			/* churn and faults wait for answers instead (the account, meshsim_check.c) */
			if (!s->check) {
				f |= SLOT_AWAITED;
				s->awaited_open++;
			}
		}
		s->sflags[k] = f;
	}
	if (s->be->send(s, &s->nodes[snd], m) != 0) {
		char lb[48];
		msg->failed = true;
		s->send_failures++;
		meshsim_violation(s, "could not send %s from %s (its input is closed)",
		                  msg_label(s, m, lb, sizeof lb), s->nodes[snd].name);
		for (int r = 0; r < s->n; r++)
			unawait(s, m, r);
		if (s->check)
			meshsim_check_refused(s->check, m);
	}
}

/* Sender reported DROPPED for (its message id, peer). */
static bool apply_drop(struct meshsim *s, int snd, int gen, int peer, uint64_t id)
{
	for (long m = s->nmsgs - 1; m >= 0; m--) {
		struct msg *msg = &s->msgs[m];
		if (msg->sender != snd || msg->gen != gen || !msg->id_known || msg->id != id)
			continue;
		size_t k = (size_t)m * (size_t)s->n + (size_t)peer;
		if ((s->sflags[k] & SLOT_AWAITED) && s->rcount[k] == 0 && !(s->sflags[k] & SLOT_DROPPED))
			s->awaited_open--;
		s->sflags[k] |= SLOT_DROPPED;
		return true;
	}
	return false;
}

static void resolve_drops(struct meshsim *s)
{
	size_t w = 0;
	for (size_t i = 0; i < s->npdrops; i++) {
		struct pending_drop *d = &s->pdrops[i];
		if (!apply_drop(s, d->sender, d->gen, d->peer, d->id))
			s->pdrops[w++] = *d;
	}
	s->npdrops = w;
}

/* ---------- events ---------- */

static struct kill_rec *latest_kill(struct meshsim *s, int node)
{
	for (int k = s->nkills - 1; k >= 0; k--)
		if (s->kills[k].node == node)
			return &s->kills[k];
	return NULL;
}

static void on_enter(struct meshsim *s, int i, int j, int64_t t)
{
	size_t k = (size_t)i * (size_t)s->n + (size_t)j;
	if (s->sess[k]) {
		if (s->phase == PHASE_RUN)
			meshsim_violation(s, "%s reported %s entered twice, with no exit in between "
			                  "(at %.0f ms)", s->nodes[i].name, s->nodes[j].name, ms_of(s, t));
		s->sess_t[k] = t;
		return;
	}
	/* faults cuts while handshakes are in flight: an enter printed just before the cut may
	 * be read just after it */
	if (s->cut_active && cross(s, i, j) && s->phase == PHASE_RUN && t - s->cut_us > 1000000)
		meshsim_violation(s, "%s reported %s entered across the partition (at %.0f ms)",
		                  s->nodes[i].name, s->nodes[j].name, ms_of(s, t));
	sess_set(s, i, j, true, t);
	if (s->check)
		meshsim_check_enter(s->check, i, j);
	struct kill_rec *kr = latest_kill(s, j);
	if (kr && kr->restart_us && t >= kr->restart_us && !kr->reentered[i]) {
		kr->reentered[i] = 1;
		s->reenters_seen++;
	}
}

static void on_exit_ev(struct meshsim *s, int i, int j, const char *reason, int64_t t)
{
	size_t k = (size_t)i * (size_t)s->n + (size_t)j;
	const char *why = reason ? reason : "?";
	if (!s->sess[k]) {
		if (s->phase == PHASE_RUN)
			meshsim_violation(s, "%s reported %s exited (%s) without having reported it "
			                  "entered (at %.0f ms)", s->nodes[i].name, s->nodes[j].name, why,
			                  ms_of(s, t));
		return;
	}
	bool was_cross = cross(s, i, j);
	sess_set(s, i, j, false, t);
	if (s->check)
		meshsim_check_exit(s->check, i, j);
	/* faults cuts links, stops nodes and partitions on purpose: every exit is legitimate
	 * there, and what it costs shows in the account; attack counts them per attack in its
	 * report (meshsim_attack.c) */
	if (s->phase != PHASE_RUN || s->o.scenario == MESHSIM_FAULTS ||
	    s->o.scenario == MESHSIM_ATTACK)
		return;
	struct kill_rec *kr = latest_kill(s, j);
	if (kr && t >= kr->kill_us && kr->had[i] && !kr->exits[i] && !kr->reentered[i]) {
		/* the one exit every survivor owes a SIGKILLed node: no BYE, so it expired or the
		 * node came back with a new incarnation */
		kr->exits[i] = 1;
		s->exits_seen++;
		if (strcmp(why, "expired") != 0 && strcmp(why, "restarted") != 0)
			meshsim_violation(s, "%s reported %s exited with reason '%s', but it was "
			                  "SIGKILLed (expected 'expired' or 'restarted')",
			                  s->nodes[i].name, s->nodes[j].name, why);
		return;
	}
	if (s->cut_active && was_cross) {
		s->last_cross_exit_us = t;
		if (strcmp(why, "expired") != 0)
			meshsim_violation(s, "%s reported %s exited with reason '%s' across the "
			                  "partition (expected 'expired')", s->nodes[i].name,
			                  s->nodes[j].name, why);
		return;
	}
	s->spurious_exits++;
	if (s->exit_examples++ < MAX_EXAMPLES * 3)
		meshsim_violation(s, "spurious exit: %s reported %s exited (%s) at %.0f ms, but both "
		                  "were up and could reach each other", s->nodes[i].name,
		                  s->nodes[j].name, why, ms_of(s, t));
}

static void payload_error(struct meshsim *s, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	s->payload_errors++;
	if (s->payload_examples++ >= MAX_EXAMPLES * 3)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	meshsim_violation(s, "%s", buf);
}

/* Parses "s<sender>-<seq>" at the start of a payload. */
static bool parse_tag(const char *p, size_t len, int *sender, long *seq)
{
	size_t i = 1;
	long a = 0, b = 0;
	if (len < 4 || p[0] != 's')
		return false;
	if (i >= len || p[i] < '0' || p[i] > '9')
		return false;
	while (i < len && p[i] >= '0' && p[i] <= '9' && a < 100000000)
		a = a * 10 + (p[i++] - '0');
	if (i >= len || p[i] != '-')
		return false;
	i++;
	if (i >= len || p[i] < '0' || p[i] > '9')
		return false;
	while (i < len && p[i] >= '0' && p[i] <= '9' && b < 1000000000000L)
		b = b * 10 + (p[i++] - '0');
	if (i < len && p[i] != ' ')
		return false;
	*sender = (int)a;
	*seq = b;
	return true;
}

static void record_delivery(struct meshsim *s, long m, int r, const struct meshsim_ev *ev)
{
	struct msg *msg = &s->msgs[m];
	size_t k = (size_t)m * (size_t)s->n + (size_t)r;
	if (s->rcount[k] < UINT16_MAX)
		s->rcount[k]++;
	if (s->rcount[k] > 1)
		return;   /* a duplicate: counted at the end */
	s->rtime[k] = ev->t_us;
	if ((s->sflags[k] & SLOT_AWAITED) && !(s->sflags[k] & SLOT_DROPPED))
		s->awaited_open--;
	bool intended = msg->target < 0 ? r != msg->sender : r == msg->target;
	if (intended)
		s->intended_delivered++;
	if (s->check)
		return;   /* the account checks the order, per sender generation */
	/* per-sender order: within one incarnation of the sender, later sends arrive later and
	 * carry larger message IDs */
	size_t o = (size_t)r * (size_t)s->n + (size_t)msg->sender;
	bool bad = false;
	if (s->last_gen[o] >= 0 && msg->gen < s->last_gen[o])
		bad = true;
	else if (s->last_gen[o] == msg->gen && (m < s->last_seq[o] ||
	                                         (ev->has_id && ev->id <= s->last_id[o])))
		bad = true;
	if (bad) {
		char lb[48];
		s->order_violations++;
		if (s->order_examples++ < MAX_EXAMPLES)
			meshsim_violation(s, "order: %s received %s (id %llu) after s%d-%ld (id %llu)",
			                  s->nodes[r].name, msg_label(s, m, lb, sizeof lb),
			                  (unsigned long long)ev->id, msg->sender, s->last_seq[o],
			                  (unsigned long long)s->last_id[o]);
		return;
	}
	s->last_gen[o] = msg->gen;
	s->last_seq[o] = m;
	s->last_id[o] = ev->has_id ? ev->id : 0;
}

static void on_delivery(struct meshsim *s, int r, int peer, const struct meshsim_ev *ev)
{
	bool shout = ev->type == MESHSIM_EV_SHOUT;
	const char *kind = shout ? "shout" : "whisper";
	int snd;
	long m;
	size_t elen;
	char lb[48];
	if (ev->binary || !ev->data || !parse_tag(ev->data, ev->len, &snd, &m) || m < 0 ||
	    m >= s->nmsgs || s->msgs[m].sender != snd) {
		payload_error(s, "%s received a %s meshsim never sent (from %s): '%.40s'",
		              s->nodes[r].name, kind, peer >= 0 ? s->nodes[peer].name : "?",
		              ev->data ? ev->data : "");
		return;
	}
	struct msg *msg = &s->msgs[m];
	msg_label(s, m, lb, sizeof lb);
	if (peer != snd) {
		payload_error(s, "%s received %s from %s, but %s sent it", s->nodes[r].name, lb,
		              peer >= 0 ? s->nodes[peer].name : "an unknown peer",
		              s->nodes[snd].name);
		return;
	}
	if (shout != (msg->target < 0) ||
	    (shout && (!ev->group || strcmp(ev->group, MESHSIM_GROUP) != 0))) {
		payload_error(s, "%s received %s as a %s%s%s, but it was sent as a %s",
		              s->nodes[r].name, lb, kind, shout ? " to " : "",
		              shout && ev->group ? ev->group : "", msg->target < 0 ? "shout" : "whisper");
		return;
	}
	const char *want = meshsim_msg_payload(s, m, &elen);
	if (elen != ev->len || memcmp(want, ev->data, elen) != 0) {
		payload_error(s, "%s received %s with a corrupted payload (%zu bytes, expected %zu)",
		              s->nodes[r].name, lb, ev->len, elen);
		return;
	}
	if (ev->has_id) {
		uint64_t expect = msg->id_known ? msg->id : msg->rx_id;
		if ((msg->id_known || msg->rx_id_seen) && ev->id != expect)
			payload_error(s, "%s received %s with message ID %llu, but it has ID %llu",
			              s->nodes[r].name, lb, (unsigned long long)ev->id,
			              (unsigned long long)expect);
		if (!msg->rx_id_seen) {
			msg->rx_id = ev->id;
			msg->rx_id_seen = true;
		}
	}
	/* --inject-fault (tests only): pretend the observer lost or doubled this delivery */
	if (s->o.fault == MESHSIM_FAULT_DROP && !s->fault_done) {
		/* with the account, its receipt is ignored too: together, a silent loss */
		s->fault_done = true;
		s->fault_msg = m;
		s->fault_rx = r;
		return;
	}
	record_delivery(s, m, r, ev);
	if (s->check)
		meshsim_check_delivery(s->check, m, r);
	if (s->o.fault == MESHSIM_FAULT_DUP && !s->fault_done) {
		s->fault_done = true;
		record_delivery(s, m, r, ev);
	}
}

static char *dup_n(const char *p, size_t len, bool *oom)
{
	char *d;
	if (!p)
		return NULL;
	d = malloc(len + 1);
	if (!d) {
		*oom = true;
		return NULL;
	}
	memcpy(d, p, len);
	d[len] = 0;
	return d;
}

static void free_deferred(struct deferred *d)
{
	free(d->peer);
	free(d->group);
	free(d->data);
	free(d->reason);
	free(d->text);
}

static void defer_event(struct meshsim *s, int i, const struct meshsim_ev *ev)
{
	bool oom = false;
	if (s->ndeferred == s->cdeferred) {
		size_t ncap = s->cdeferred ? s->cdeferred * 2 : 64;
		struct deferred *nd = realloc(s->deferred, ncap * sizeof *nd);
		if (!nd) {
			meshsim_violation(s, "out of memory");
			return;
		}
		s->deferred = nd;
		s->cdeferred = ncap;
	}
	struct deferred *d = &s->deferred[s->ndeferred];
	memset(d, 0, sizeof *d);
	d->node = i;
	d->ev = *ev;
	d->peer = dup_n(ev->peer, strlen(ev->peer), &oom);
	d->group = dup_n(ev->group, ev->group ? strlen(ev->group) : 0, &oom);
	d->data = dup_n(ev->data, ev->len, &oom);
	d->reason = dup_n(ev->reason, ev->reason ? strlen(ev->reason) : 0, &oom);
	d->text = dup_n(ev->text, ev->text ? strlen(ev->text) : 0, &oom);
	if (oom) {
		free_deferred(d);
		meshsim_violation(s, "out of memory");
		return;
	}
	d->ev.peer = d->peer;
	d->ev.group = d->group;
	d->ev.data = d->data;
	d->ev.reason = d->reason;
	d->ev.text = d->text;
	s->ndeferred++;
}

static void replay_deferred(struct meshsim *s)
{
	size_t n = s->ndeferred;
	struct deferred *list = s->deferred;
	/* replaying may defer again (another peer still unknown): start a fresh list */
	s->deferred = NULL;
	s->ndeferred = s->cdeferred = 0;
	for (size_t k = 0; k < n; k++) {
		meshsim_event(s, &s->nodes[list[k].node], &list[k].ev);
		free_deferred(&list[k]);
	}
	free(list);
}

/* Events about IDs that never became known, once the run is over. */
static void flush_deferred(struct meshsim *s)
{
	for (size_t k = 0; k < s->ndeferred; k++) {
		struct deferred *d = &s->deferred[k];
		if (k < MAX_EXAMPLES)
			meshsim_violation(s, "%s reported an event about %.16s..., a node meshsim did not "
			                  "start", s->nodes[d->node].name, d->peer);
		free_deferred(d);
	}
	if (s->ndeferred > MAX_EXAMPLES)
		meshsim_violation(s, "%zu events in all about nodes meshsim did not start",
		                  s->ndeferred);
	free(s->deferred);
	s->deferred = NULL;
	s->ndeferred = s->cdeferred = 0;
}

void meshsim_event(struct meshsim *s, struct meshsim_node *nd, const struct meshsim_ev *ev)
{
	int i = nd->idx, j = -1;
	if (ev->peer && ev->type != MESHSIM_EV_READY) {
		j = node_of(s, ev->peer);
		if (j == i) {
			if (s->phase == PHASE_RUN)
				meshsim_violation(s, "%s reported an event about itself", nd->name);
			return;
		}
	}
	if (s->hook && s->hook(s->hook_arg, nd, j, ev))
		return;
	if (ev->peer && ev->type != MESHSIM_EV_READY) {
		if (j < 0) {
			defer_event(s, i, ev);
			return;
		}
	}
	switch (ev->type) {
	case MESHSIM_EV_READY:
		if (!valid_hex(ev->text)) {
			meshsim_violation(s, "%s: 'ready' without a valid ID", nd->name);
			nd->failed = true;
			return;
		}
		if (nd->have_id && strcmp(nd->hex, ev->text) != 0) {
			meshsim_violation(s, "%s came back with another ID after a restart", nd->name);
			nd->failed = true;
			return;
		}
		if (!nd->have_id) {
			if (node_of(s, ev->text) >= 0) {
				meshsim_violation(s, "%s has the same ID as another node", nd->name);
				nd->failed = true;
				return;
			}
			memcpy(nd->hex, ev->text, MESHSIM_HEX_LEN + 1);
			nd->have_id = true;
			index_node(s, i);
		}
		nd->ready = true;
		nd->ready_us = ev->t_us;
		snprintf(nd->endpoint, sizeof nd->endpoint, "%s", ev->endpoint ? ev->endpoint : "");
		if (!nd->first_ready_us)
			nd->first_ready_us = ev->t_us;
		if (s->n == 1 && !nd->full_us)
			nd->full_us = ev->t_us;   /* alone, a node has every other node once it is up */
		if (s->ndeferred)
			replay_deferred(s);
		break;
	case MESHSIM_EV_ENTER:
		if (j >= 0)
			on_enter(s, i, j, ev->t_us);
		break;
	case MESHSIM_EV_EXIT:
		if (j >= 0)
			on_exit_ev(s, i, j, ev->reason, ev->t_us);
		break;
	case MESHSIM_EV_EVASIVE:
		s->evasive_events++;
		break;
	case MESHSIM_EV_JOIN:
	case MESHSIM_EV_LEAVE:
		if (j >= 0 && ev->group && strcmp(ev->group, MESHSIM_GROUP) == 0) {
			size_t k = (size_t)i * (size_t)s->n + (size_t)j;
			bool on = ev->type == MESHSIM_EV_JOIN;
			if (s->member[k] != on) {
				s->member[k] = on;
				s->members += on ? 1 : -1;
			}
		}
		break;
	case MESHSIM_EV_SHOUT:
	case MESHSIM_EV_WHISPER:
		on_delivery(s, i, j, ev);
		break;
	case MESHSIM_EV_DELIVERED:
		if (s->fault_done && s->o.fault == MESHSIM_FAULT_DROP && j == s->fault_rx &&
		    s->msgs[s->fault_msg].sender == i && s->msgs[s->fault_msg].id == ev->id &&
		    s->msgs[s->fault_msg].gen == nd->gen)
			break;
		if (j >= 0 && ev->has_id && s->check)
			meshsim_check_answer(s->check, i, nd->gen, j, ev->id, true, false);
		break;
	case MESHSIM_EV_DROPPED:
		s->dropped_events++;
		if (j >= 0 && ev->has_id && s->check)
			meshsim_check_answer(s->check, i, nd->gen, j, ev->id, false, ev->maybe);
		if (j >= 0 && ev->has_id && !apply_drop(s, i, nd->gen, j, ev->id)) {
			if (s->npdrops == s->cpdrops) {
				size_t ncap = s->cpdrops ? s->cpdrops * 2 : 64;
				struct pending_drop *np = realloc(s->pdrops, ncap * sizeof *np);
				if (!np)
					break;
				s->pdrops = np;
				s->cpdrops = ncap;
			}
			s->pdrops[s->npdrops++] = (struct pending_drop){ i, nd->gen, j, ev->id };
		}
		break;
	case MESHSIM_EV_ERROR:
		if (ev->msg >= 0 && ev->msg < s->nmsgs) {
			char lb[48];
			s->msgs[ev->msg].failed = true;
			if (s->check)
				meshsim_check_refused(s->check, ev->msg);
			/* faults whispers to a peer that may have left meanwhile: refusing is right, and
			 * the account counts it */
			if (s->o.scenario != MESHSIM_FAULTS) {
				s->send_failures++;
				meshsim_violation(s, "%s could not send %s: %s", nd->name,
				                  msg_label(s, ev->msg, lb, sizeof lb),
				                  ev->text ? ev->text : "?");
			}
			for (int r = 0; r < s->n; r++)
				unawait(s, ev->msg, r);
		} else if (s->phase == PHASE_RUN) {
			meshsim_violation(s, "%s reported an error: %s", nd->name,
			                  ev->text ? ev->text : "?");
			nd->failed = true;
		}
		break;
	case MESHSIM_EV_SENT:
		if (ev->msg >= 0 && ev->msg < s->nmsgs && ev->has_id) {
			struct msg *msg = &s->msgs[ev->msg];
			char lb[48];
			msg->id = ev->id;
			msg->id_known = true;
			if (s->check)
				meshsim_check_accepted(s->check, ev->msg, ev->id);
			if (msg->rx_id_seen && msg->rx_id != ev->id)
				payload_error(s, "%s was received with message ID %llu, but its sender "
				              "reported ID %llu", msg_label(s, ev->msg, lb, sizeof lb),
				              (unsigned long long)msg->rx_id, (unsigned long long)ev->id);
			if (s->npdrops)
				resolve_drops(s);
		}
		break;
	case MESHSIM_EV_STOPPED:
	case MESHSIM_EV_OTHER:
		break;
	}
}

void meshsim_node_gone(struct meshsim *s, struct meshsim_node *nd, int status)
{
	int i = nd->idx;
	int64_t t = meshsim_now_us();
	char how[64];
	if (WIFEXITED(status))
		snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof how, "wait status %d", status);
	if (!nd->killed && !nd->stopping) {
		meshsim_violation(s, "%s exited unexpectedly (%s) at %.0f ms", nd->name, how,
		                  ms_of(s, t));
		nd->failed = true;
	} else if (nd->stopping && !nd->killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		meshsim_violation(s, "%s stopped with %s after /quit (expected exit status 0)",
		                  nd->name, how);
		nd->failed = true;
	}
	nd->running = false;
	nd->ready = false;
	nd->frozen = false;
	if (s->check)
		meshsim_check_gone(s->check, i, nd->gen, nd->killed);
	/* what it knew died with it */
	for (int j = 0; j < s->n; j++) {
		sess_set(s, i, j, false, t);
		size_t k = (size_t)i * (size_t)s->n + (size_t)j;
		if (s->member[k]) {
			s->member[k] = 0;
			s->members--;
		}
	}
	/* nothing more can reach it */
	for (long m = 0; m < s->nmsgs; m++)
		unawait(s, m, i);
	struct kill_rec *kr = latest_kill(s, i);
	if (kr && !kr->gone_us)
		kr->gone_us = t;
}

/* ---------- the loop ---------- */

static void progress(struct meshsim *s, int64_t now, bool final)
{
	int up = 0;
	char line[200];
	if (!s->progress)
		return;
	if (final) {
		if (s->progress_shown)
			fputs("\r\033[K", stderr);
		s->progress_shown = false;
		return;
	}
	for (int i = 0; i < s->n; i++)
		up += node_up(&s->nodes[i]);
	int w = snprintf(line, sizeof line, "\r\033[K[%6.1fs] nodes up %d/%d  sessions %ld/%ld",
	                 ms_of(s, now) / 1000.0, up, s->n, s->sessions, s->full);
	if (w > 0 && (size_t)w < sizeof line && s->intended_total > 0)
		snprintf(line + w, sizeof line - (size_t)w, "  delivered %ld/%ld", s->intended_delivered,
		         s->intended_total);
	fputs(line, stderr);
	fflush(stderr);
	s->progress_shown = true;
}

static void tick(struct meshsim *s, int64_t now)
{
	if (s->phase == PHASE_RUN && now >= s->next_sample_us) {
		push_point(&s->curve, &s->ncurve, &s->ccurve, floor(ms_of(s, now)), s->sessions);
		s->next_sample_us = now + SAMPLE_MS * 1000;
	}
	if (now >= s->next_progress_us) {
		progress(s, now, false);
		s->next_progress_us = now + PROGRESS_MS * 1000;
	}
	while (s->sending && now >= s->next_send_us) {
		if (!s->send_unbounded && s->nmsgs + s->send_skipped >= s->send_limit) {
			s->sending = false;
			break;
		}
		send_one(s, now);
		s->next_send_us += (int64_t)s->send_interval_us;
	}
}

typedef bool (*cond_fn)(struct meshsim *s);

/*
 * True once every node has gone by itself: none running, none killed by us (a killed node is
 * restarted) and none told to quit. Nothing can happen after that, so a run stops at once
 * instead of waiting out its deadline (a meshnode that cannot start, a bad --meshnode).
 */
static bool all_died(const struct meshsim *s)
{
	for (int i = 0; i < s->n; i++) {
		const struct meshsim_node *nd = &s->nodes[i];
		if (nd->running || nd->killed || nd->stopping)
			return false;
	}
	return s->n > 0;
}

/* Runs the mesh until done(s) holds (true) or the deadline passes (false). With done NULL it
 * just runs until the deadline and returns true. */
static bool run_until(struct meshsim *s, cond_fn done, int64_t deadline)
{
	for (;;) {
		int64_t now = meshsim_now_us();
		tick(s, now);
		if (g_signal && !s->interrupted) {
			s->interrupted = true;
			meshsim_violation(s, "interrupted by signal %d at %.0f ms", (int)g_signal,
			                  ms_of(s, now));
		}
		if (s->interrupted)
			return false;
		if (done && done(s))
			return true;
		if (all_died(s)) {
			/* as a signal does: every scenario winds down at once */
			s->interrupted = true;
			meshsim_violation(s, "every node has died (seen at %.0f ms): stopping the run",
			                  ms_of(s, now));
			return false;
		}
		if (now >= deadline)
			return done == NULL;
		int64_t wake = deadline;
		if (s->next_sample_us < wake)
			wake = s->next_sample_us;
		if (s->progress && s->next_progress_us < wake)
			wake = s->next_progress_us;
		if (s->sending && s->next_send_us < wake)
			wake = s->next_send_us;
		int64_t ms = (wake - now + 999) / 1000;
		if (ms < 0)
			ms = 0;
		if (ms > 1000)
			ms = 1000;
		s->be->poll(s, (int)ms);
	}
}

/* Needed as well as the session count: with one node, no sessions is already a full mesh. */
static bool all_ready(const struct meshsim *s)
{
	for (int i = 0; i < s->n; i++)
		if (!s->nodes[i].ready)
			return false;
	return true;
}

static bool cond_full(struct meshsim *s)
{
	return s->sessions == s->full && all_ready(s);
}

static bool cond_full_members(struct meshsim *s)
{
	return s->sessions == s->full && s->members == s->full && all_ready(s);
}

static bool cond_sent(struct meshsim *s)
{
	return !s->sending;
}

static bool cond_drained(struct meshsim *s)
{
	return s->awaited_open <= 0;
}

static bool cond_split(struct meshsim *s)
{
	return s->cross_sessions == 0;
}

/* Every accepted message has its answer (the account), and the mesh is whole. The account
 * walks every (message, node), so it is asked at most every 100 ms. */
static bool cond_answered(struct meshsim *s)
{
	int64_t now = meshsim_now_us();
	if (!meshsim_mesh_whole(s))
		return false;
	if (s->open_at_us == 0 || now - s->open_at_us >= 100000) {
		s->open_pairs = meshsim_check_open(s->check, &s->open_unsure, s->open_example,
		                                   sizeof s->open_example);
		s->open_at_us = now;
	}
	return s->open_pairs == 0;
}

static bool cond_answered_all(struct meshsim *s)
{
	return cond_answered(s) && s->open_unsure == 0;
}

/* ---------- scenarios ---------- */

void meshsim_describe_missing(struct meshsim *s, char *buf, size_t cap)
{
	size_t len = 0;
	int shown = 0, not_ready = 0;
	buf[0] = 0;
	for (int i = 0; i < s->n; i++)
		if (!s->nodes[i].ready)
			not_ready++;
	if (not_ready) {
		int w = snprintf(buf, cap, "; %d node(s) never ready:", not_ready);
		len = w > 0 ? (size_t)w : 0;
		for (int i = 0; i < s->n && shown < 5 && len < cap; i++) {
			if (s->nodes[i].ready)
				continue;
			w = snprintf(buf + len, cap - len, " %s", s->nodes[i].name);
			len += w > 0 ? (size_t)w : 0;
			shown++;
		}
		shown = 0;
	}
	for (int i = 0; i < s->n && shown < 5 && len < cap; i++) {
		for (int j = 0; j < s->n && shown < 5 && len < cap; j++) {
			size_t k = (size_t)i * (size_t)s->n + (size_t)j;
			if (i == j || !s->nodes[i].ready || s->sess[k])
				continue;
			int w = snprintf(buf + len, cap - len, "%s%s lacks %s", shown ? ", " :
			                 "; e.g. ", s->nodes[i].name, s->nodes[j].name);
			len += w > 0 ? (size_t)w : 0;
			shown++;
		}
	}
}

static void start_node(struct meshsim *s, struct meshsim_node *nd)
{
	char err[512];
	nd->start_us = meshsim_now_us();
	if (!nd->first_start_us)
		nd->first_start_us = nd->start_us;
	nd->running = true;
	nd->ready = false;
	nd->killed = false;
	nd->stopping = false;
	if (s->be->start(s, nd, err, sizeof err) != 0) {
		meshsim_violation(s, "cannot start %s: %s", nd->name, err);
		nd->running = false;
		nd->failed = true;
	}
}

/* "RSS at full mesh": once the mesh is full, wait two heartbeat intervals (or --rss-settle),
 * so that every session has carried traffic both ways and the handshakes' scratch memory is
 * gone, then read each node's current VmRSS. The observer keeps checking every invariant
 * meanwhile. */
static void measure_full_rss(struct meshsim *s)
{
	int64_t settle_us = s->o.rss_settle_ms ? (int64_t)s->o.rss_settle_ms * 1000 :
	                    2 * (int64_t)s->env.heartbeat_ms * 1000;
	(void)run_until(s, NULL, meshsim_now_us() + settle_us);
	if (s->interrupted)
		return;
	s->rss_settle_ms = (double)settle_us / 1000.0;
	for (int i = 0; i < s->n; i++)
		s->nodes[i].full_rss_kb = s->be->rss_kb(s, &s->nodes[i]);
}

/* Starts every node at once and waits for done(); records the convergence time, then the
 * memory at full mesh. */
static bool converge(struct meshsim *s, cond_fn done)
{
	char miss[400];
	s->cpu_start_s = s->be->cpu_now(s);     /* in-process: whatever meshsim used so far */
	s->t0 = meshsim_now_us();
	s->next_sample_us = s->t0;
	push_point(&s->steps, &s->nsteps, &s->csteps, 0, 0);
	for (int i = 0; i < s->n; i++) {
		start_node(s, &s->nodes[i]);
		/* keep reading while starting many nodes, so no pipe fills up */
		if ((i & 15) == 15)
			s->be->poll(s, 0);
	}
	bool ok = run_until(s, done, s->t0 + (int64_t)(s->o.deadline_s * 1e6));
	/* read at once: the loop stops as soon as the last enter event is read */
	double cpu = ok ? s->be->cpu_now(s) : -1;
	s->cpu_converge_s = cpu >= 0 && s->cpu_start_s >= 0 ? cpu - s->cpu_start_s : -1;
	int64_t ready = 0;
	for (int i = 0; i < s->n; i++) {
		if (!s->nodes[i].ready) {
			ready = 0;
			break;
		}
		if (s->nodes[i].ready_us > ready)
			ready = s->nodes[i].ready_us;
	}
	s->ready_all_us = ready;
	if (ok) {
		s->converged = true;
		s->converged_us = s->full_since ? s->full_since : meshsim_now_us();
		measure_full_rss(s);
		return !s->interrupted;
	}
	if (s->interrupted)
		return false;
	meshsim_describe_missing(s, miss, sizeof miss);
	meshsim_violation(s, "no full mesh within the %.1f s deadline: %ld of %ld sessions%s%s",
	                  s->o.deadline_s, s->sessions, s->full,
	                  done == cond_full_members && s->sessions == s->full ?
	                  " (but not every membership of the group)" : "", miss);
	return false;
}

static int64_t drain_us(const struct meshsim *s)
{
	int64_t ms = s->env.expired_ms > DRAIN_MIN_MS ? s->env.expired_ms : DRAIN_MIN_MS;
	return ms * 1000;
}

static void start_sending(struct meshsim *s, bool unbounded)
{
	s->sending = true;
	s->send_unbounded = unbounded;
	s->send_limit = s->o.messages;
	s->send_interval_us = 1e6 / s->o.rate;
	s->next_send_us = meshsim_now_us();
}

static void messages_phase(struct meshsim *s)
{
	start_sending(s, false);
	int64_t budget = (int64_t)((double)s->o.messages / s->o.rate * 1e6) + 2 * drain_us(s);
	if (!run_until(s, cond_sent, meshsim_now_us() + budget)) {
		if (!s->interrupted)
			meshsim_violation(s, "could not send %ld messages in time (%ld sent)",
			                  s->o.messages, s->nmsgs);
		s->sending = false;
	}
	(void)run_until(s, cond_drained, meshsim_now_us() + drain_us(s));
}

static void scenario_converge(struct meshsim *s)
{
	converge(s, cond_full);
}

static void scenario_messages(struct meshsim *s)
{
	if (converge(s, s->env.join_group ? cond_full_members : cond_full))
		messages_phase(s);
}

/* The victim is back when the mesh is full again *with its new generation*: a survivor that
 * still holds the old session (not yet expired, not yet replaced) does not count. */
static bool cond_victim_back(struct meshsim *s)
{
	const struct kill_rec *kr = &s->kills[s->nkills - 1];
	int v = kr->node;
	if (!node_up(&s->nodes[v]) || !cond_full_members(s))
		return false;
	for (int r = 0; r < s->n; r++)
		if (r != v && !connected(s, r, v))
			return false;
	return true;
}

static bool cond_victim_gone(struct meshsim *s)
{
	return s->kills[s->nkills - 1].gone_us != 0;
}

static struct kill_rec *new_kill(struct meshsim *s, int v, int64_t now)
{
	size_t n = (size_t)s->n;
	struct kill_rec *nk = realloc(s->kills, (size_t)(s->nkills + 1) * sizeof *nk);
	if (!nk)
		return NULL;
	s->kills = nk;
	struct kill_rec *kr = &s->kills[s->nkills];
	memset(kr, 0, sizeof *kr);
	kr->node = v;
	kr->kill_us = now;
	kr->up = calloc(n, 1);
	kr->had = calloc(n, 1);
	kr->exits = calloc(n, 1);
	kr->reentered = calloc(n, 1);
	if (!kr->up || !kr->had || !kr->exits || !kr->reentered) {
		free(kr->up);
		free(kr->had);
		free(kr->exits);
		free(kr->reentered);
		return NULL;
	}
	s->nkills++;
	return kr;
}

/* After the faults: the mesh must become whole again and every accepted message get its
 * answer. What may take longest is an answer the TTL gives, so the wait allows --deadline
 * beyond the TTL (and two expiries); when it ends, what still has no answer is lost. */
bool meshsim_wait_answers(struct meshsim *s, const char *scenario)
{
	char miss[400];
	int64_t wait = (int64_t)(s->o.deadline_s * 1e6) + 2 * (int64_t)s->env.expired_ms * 1000 +
	               (s->env.receipts ? (int64_t)s->env.ttl_ms * 1000 : 0);
	int64_t until = meshsim_now_us() + wait;
	/* A delivery to a node that was in a handshake at the send, or one held up in TCP's
	 * retransmission backoff after a partition, may still be on its way when everything
	 * known is answered: the account must hold still for a while (2 heartbeats, at least
	 * 1 s) before it is taken. */
	int64_t settle = 2 * (int64_t)s->env.heartbeat_ms * 1000;
	if (settle < 1000000)
		settle = 1000000;
	int64_t next_note = meshsim_now_us() + 10000000;
	/* what is waited for, every 10 s, so that a long wait says why */
	while (!s->o.quiet && !s->interrupted && meshsim_now_us() < until &&
	       !run_until(s, cond_answered, next_note < until ? next_note : until)) {
		fprintf(stderr, "meshsim: %s: waiting for the mesh%s and %ld answer(s)%s%s\n",
		        scenario, meshsim_mesh_whole(s) ? " (whole)" : "", s->open_pairs,
		        s->open_pairs ? ", e.g. " : "", s->open_example);
		next_note += 10000000;
	}
	while (run_until(s, cond_answered, until)) {
		/* the unsure ones (meshsim_check_open) once the mesh is whole: if they were queued,
		 * their answers come within two expiries */
		int64_t grace = meshsim_now_us() + 2 * (int64_t)s->env.expired_ms * 1000;
		(void)run_until(s, cond_answered_all, grace < until ? grace : until);
		(void)run_until(s, NULL, meshsim_now_us() + settle);
		s->open_at_us = 0;     /* ask the account afresh */
		if (cond_answered(s))
			return true;
	}
	if (s->interrupted)
		return false;
	if (!meshsim_mesh_whole(s)) {
		meshsim_describe_missing(s, miss, sizeof miss);
		meshsim_violation(s, "%s: the mesh was not whole again %.1f s after the last fault: "
		                  "%ld of %ld sessions, %ld of %ld memberships%s", scenario,
		                  (double)wait / 1e6, s->sessions, s->full, s->members, s->full, miss);
	}
	return false;   /* the account names what has no answer */
}

static void scenario_churn(struct meshsim *s)
{
	if (!converge(s, cond_full_members))
		return;
	start_sending(s, true);
	for (int c = 0; c < s->o.churn_kills && !s->interrupted; c++) {
		(void)run_until(s, NULL, meshsim_now_us() + rng_between_us(s, 1000, 2000));
		int v = pick_node(s, -1);
		if (v < 0) {
			meshsim_violation(s, "churn: no node up to kill");
			break;
		}
		int64_t now = meshsim_now_us();
		struct kill_rec *kr = new_kill(s, v, now);
		if (!kr) {
			meshsim_violation(s, "out of memory");
			break;
		}
		for (int r = 0; r < s->n; r++) {
			if (r == v || !node_up(&s->nodes[r]))
				continue;
			kr->up[r] = 1;
			kr->had[r] = s->sess[(size_t)r * (size_t)s->n + (size_t)v];
		}
		struct meshsim_node *nd = &s->nodes[v];
		int fault = meshsim_check_fault(s->check, MESHSIM_KIND_KILL, now);
		meshsim_kill_node(s, nd);
		int64_t restart_at = now + rng_between_us(s, 500, 3000);
		if (!run_until(s, cond_victim_gone, now + 10 * 1000000)) {
			if (!s->interrupted)
				meshsim_violation(s, "churn: %s did not die within 10 s of SIGKILL", nd->name);
			break;
		}
		(void)run_until(s, NULL, restart_at);
		if (s->interrupted)
			break;
		kr->restart_us = meshsim_now_us();
		meshsim_restart_node(s, nd);
		bool back = run_until(s, cond_victim_back,
		                      kr->restart_us + (int64_t)(s->o.deadline_s * 1e6));
		kr->ready_us = nd->ready ? nd->ready_us : 0;
		if (!back) {
			char miss[400];
			if (s->interrupted)
				break;
			meshsim_describe_missing(s, miss, sizeof miss);
			meshsim_violation(s, "churn: no full mesh within %.1f s after restarting %s "
			                  "(kill #%d): %ld of %ld sessions%s", s->o.deadline_s, nd->name,
			                  c + 1, s->sessions, s->full, miss);
			break;
		}
		/* the last enter between the victim's new generation and a survivor */
		kr->reconv_us = kr->restart_us;
		for (int r = 0; r < s->n; r++) {
			size_t rv = (size_t)r * (size_t)s->n + (size_t)v, vr = (size_t)v * (size_t)s->n + (size_t)r;
			if (r == v)
				continue;
			if (s->sess_t[rv] > kr->reconv_us)
				kr->reconv_us = s->sess_t[rv];
			if (s->sess_t[vr] > kr->reconv_us)
				kr->reconv_us = s->sess_t[vr];
		}
		meshsim_check_fault_end(s->check, fault, kr->reconv_us);
	}
	/* Send until at least --messages went out, then wait for every answer. */
	meshsim_finish_sending(s);
	(void)meshsim_wait_answers(s, "churn");
}

/* ---------- for scenarios in other files ---------- */

bool meshsim_run_until(struct meshsim *s, meshsim_cond done, int64_t deadline_us)
{
	return run_until(s, done, deadline_us);
}

bool meshsim_converge(struct meshsim *s)
{
	return converge(s, cond_full_members);
}

bool meshsim_mesh_whole(struct meshsim *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].frozen)
			return false;
	return cond_full_members(s);
}

void meshsim_start_sending(struct meshsim *s)
{
	start_sending(s, true);
}

void meshsim_finish_sending(struct meshsim *s)
{
	s->send_unbounded = false;
	if (s->sending && s->nmsgs < s->o.messages)
		(void)run_until(s, cond_sent, meshsim_now_us() +
		                (int64_t)((double)(s->o.messages - s->nmsgs) / s->o.rate * 1e6) +
		                drain_us(s));
	s->sending = false;
}

uint64_t meshsim_rng_below(struct meshsim *s, uint64_t bound)
{
	return rng_below(s, bound);
}

int meshsim_pick_node(struct meshsim *s, int exclude)
{
	return pick_node(s, exclude);
}

void meshsim_kill_node(struct meshsim *s, struct meshsim_node *nd)
{
	nd->killed = true;
	nd->running = false;
	meshsim_mark(s, "kill %s", nd->name);
	s->be->kill(s, nd);
	/* deliveries to it can no longer be waited for (broadcast's drain) */
	for (long m = 0; m < s->nmsgs; m++)
		unawait(s, m, nd->idx);
}

void meshsim_restart_node(struct meshsim *s, struct meshsim_node *nd)
{
	nd->gen++;
	meshsim_mark(s, "restart %s", nd->name);
	start_node(s, nd);
}

void meshsim_set_cut(struct meshsim *s, int first)
{
	s->cut_first = first;
	s->cut_active = first > 0;
	s->cut_us = meshsim_now_us();
	meshsim_mark(s, "%s", first > 0 ? "cut" : "heal");
	s->cross_sessions = 0;
	for (int i = 0; first > 0 && i < s->n; i++)
		for (int j = 0; j < s->n; j++)
			if (s->sess[(size_t)i * (size_t)s->n + (size_t)j] && cross(s, i, j))
				s->cross_sessions++;
}

struct meshsim_check *meshsim_checker(struct meshsim *s)
{
	return s->check;
}

bool meshsim_interrupted(const struct meshsim *s)
{
	return s->interrupted;
}

double meshsim_ms_of(const struct meshsim *s, int64_t t_us)
{
	return ms_of(s, t_us);
}

void meshsim_set_hook(struct meshsim *s, meshsim_hook fn, void *arg)
{
	s->hook = fn;
	s->hook_arg = arg;
}


static void scenario_partition(struct meshsim *s)
{
	char err[600];
	int half = s->o.hosts / 2;
	int64_t deadline = (int64_t)(s->o.deadline_s * 1e6);
	if (!converge(s, cond_full))
		return;
	s->cut_first = half;
	s->cross_sessions = 0;
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->n; j++)
			if (s->sess[(size_t)i * (size_t)s->n + (size_t)j] && cross(s, i, j))
				s->cross_sessions++;
	int64_t t_cut = meshsim_now_us();
	s->cut_active = true;
	meshsim_mark(s, "cut");
	if (meshsim_net_cut(s->net, half, err, sizeof err) != 0) {
		meshsim_violation(s, "partition: cannot cut the bridge: %s", err);
		return;
	}
	if (!run_until(s, cond_split, t_cut + deadline)) {
		if (!s->interrupted)
			meshsim_violation(s, "partition: split not detected within %.1f s (%ld sessions "
			                  "across the cut still live)", s->o.deadline_s,
			                  s->cross_sessions);
		return;
	}
	s->detect_ms = (double)(s->last_cross_exit_us - t_cut) / 1000.0;
	int64_t t_heal = meshsim_now_us();
	meshsim_mark(s, "heal");
	if (meshsim_net_heal(s->net, err, sizeof err) != 0) {
		meshsim_violation(s, "partition: cannot heal the bridge: %s", err);
		return;
	}
	s->cut_active = false;
	if (!run_until(s, cond_full, t_heal + deadline)) {
		char miss[400];
		if (s->interrupted)
			return;
		meshsim_describe_missing(s, miss, sizeof miss);
		meshsim_violation(s, "partition: no full mesh within %.1f s after the heal: %ld of %ld "
		                  "sessions%s", s->o.deadline_s, s->sessions, s->full, miss);
		return;
	}
	s->reconverge_ms = (double)(s->full_since - t_heal) / 1000.0;
}

/* ---------- results ---------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void check_messages(struct meshsim *s, struct meshsim_result *res)
{
	int64_t first_send = 0, last_rx = 0;
	int loss_ex = 0, dup_ex = 0, mis_ex = 0;
	char lb[48];
	size_t cap = (size_t)s->nmsgs * (size_t)s->n;
	res->latencies_ms = cap ? malloc(cap * sizeof *res->latencies_ms) : NULL;
	resolve_drops(s);
	for (long m = 0; m < s->nmsgs; m++) {
		const struct msg *msg = &s->msgs[m];
		int64_t sent = msg->sent_us ? msg->sent_us : msg->issued_us;
		if (!first_send || sent < first_send)
			first_send = sent;
		for (int r = 0; r < s->n; r++) {
			size_t k = (size_t)m * (size_t)s->n + (size_t)r;
			unsigned cnt = s->rcount[k];
			bool intended = msg->target < 0 ? r != msg->sender : r == msg->target;
			if (cnt > 1 && !s->check) {
				res->duplicates += cnt - 1;
				if (dup_ex++ < MAX_EXAMPLES)
					meshsim_violation(s, "duplicate: %s received %s %u times", s->nodes[r].name,
					                  msg_label(s, m, lb, sizeof lb), cnt);
			}
			if (!intended) {
				if (cnt) {
					res->misdeliveries += cnt;
					if (mis_ex++ < MAX_EXAMPLES)
						meshsim_violation(s, "misdelivery: %s received %s, which was not for "
						                  "it", s->nodes[r].name, msg_label(s, m, lb, sizeof lb));
				}
				continue;
			}
			if (cnt) {
				res->deliveries_total++;
				if (res->latencies_ms)
					res->latencies_ms[res->nlat++] = (double)(s->rtime[k] - sent) / 1000.0;
				if (s->rtime[k] > last_rx)
					last_rx = s->rtime[k];
			}
			if (msg->failed || s->check)
				continue;   /* refused: reported already; or the account decides */
			res->deliveries_expected++;
			if (cnt) {
				res->deliveries++;
			} else {
				res->losses++;
				if (loss_ex++ < MAX_EXAMPLES)
					meshsim_violation(s, "loss: %s never received %s (sent by %s at %.0f ms)%s",
					                  s->nodes[r].name, msg_label(s, m, lb, sizeof lb),
					                  s->nodes[msg->sender].name, ms_of(s, sent),
					                  s->sflags[k] & SLOT_DROPPED ?
					                  "; its sender reported it DROPPED" : "");
			}
		}
	}
	if (s->check) {
		/* faults, churn: what was owed is the account's (meshsim_check.c) */
		const struct meshsim_account_row *t = &res->account.total;
		res->deliveries = t->delivered + t->maybe + t->unanswered;
		res->losses = t->lost;
		res->deliveries_expected = res->deliveries + res->losses;
		res->duplicates = t->duplicates;
		s->order_violations = res->account.order_violations;
	}
	if (res->losses && !s->check)
		meshsim_violation(s, "losses: %ld of %ld expected deliveries never arrived",
		                  res->losses, res->deliveries_expected);
	if (res->duplicates && !s->check)
		meshsim_violation(s, "duplicates: %ld deliveries more than once", res->duplicates);
	if (s->order_violations && !s->check)
		meshsim_violation(s, "order: %ld deliveries out of per-sender order",
		                  s->order_violations);
	if (res->misdeliveries)
		meshsim_violation(s, "misdeliveries: %ld deliveries to a node a message was not for",
		                  res->misdeliveries);
	if (s->payload_errors)
		meshsim_violation(s, "%ld deliveries that do not match what was sent", s->payload_errors);
	res->order_violations = s->order_violations;
	res->payload_errors = s->payload_errors;
	if (res->nlat) {
		double sum = 0;
		qsort(res->latencies_ms, res->nlat, sizeof *res->latencies_ms, cmp_double);
		for (size_t i = 0; i < res->nlat; i++)
			sum += res->latencies_ms[i];
		res->lat_p50 = meshsim_report_percentile(res->latencies_ms, res->nlat, 50);
		res->lat_p95 = meshsim_report_percentile(res->latencies_ms, res->nlat, 95);
		res->lat_p99 = meshsim_report_percentile(res->latencies_ms, res->nlat, 99);
		res->lat_max = res->latencies_ms[res->nlat - 1];
		res->lat_mean = sum / (double)res->nlat;
	}
	if (last_rx > first_send)
		res->throughput_per_s = (double)res->deliveries_total /
		                        ((double)(last_rx - first_send) / 1e6);
}

static void check_churn(struct meshsim *s, struct meshsim_result *res)
{
	res->cycles = calloc((size_t)s->nkills + 1, sizeof *res->cycles);
	for (int k = 0; k < s->nkills; k++) {
		const struct kill_rec *kr = &s->kills[k];
		const char *victim = s->nodes[kr->node].name;
		int missing_exit = 0, missing_enter = 0;
		char ex1[16] = "", en1[16] = "";
		if (res->cycles) {
			struct meshsim_cycle *c = &res->cycles[res->ncycles++];
			snprintf(c->name, sizeof c->name, "%s", victim);
			c->kill_ms = ms_of(s, kr->kill_us);
			c->restart_ms = kr->restart_us ? ms_of(s, kr->restart_us) : -1;
			c->ready_ms = kr->ready_us ? ms_of(s, kr->ready_us) : -1;
			c->reconverge_ms = kr->reconv_us ? ms_of(s, kr->reconv_us) : -1;
		}
		for (int r = 0; r < s->n; r++) {
			if (r == kr->node || !kr->up[r])
				continue;
			/* a node killed later owes nothing past its own death */
			bool survived = true;
			for (int k2 = k + 1; k2 < s->nkills; k2++)
				if (s->kills[k2].node == r && (!kr->reconv_us ||
				                                 s->kills[k2].kill_us <= kr->reconv_us))
					survived = false;
			if (!survived)
				continue;
			if (kr->had[r] && !kr->exits[r]) {
				if (!missing_exit++)
					snprintf(ex1, sizeof ex1, "%s", s->nodes[r].name);
			}
			if (kr->restart_us && !kr->reentered[r]) {
				if (!missing_enter++)
					snprintf(en1, sizeof en1, "%s", s->nodes[r].name);
			}
		}
		if (missing_exit)
			meshsim_violation(s, "churn: after kill #%d of %s, %d survivor(s) never reported "
			                  "its exit (e.g. %s)", k + 1, victim, missing_exit, ex1);
		if (missing_enter)
			meshsim_violation(s, "churn: after %s restarted (#%d), %d survivor(s) never "
			                  "reported it entered again (e.g. %s)", victim, k + 1,
			                  missing_enter, en1);
	}
	res->has_churn = true;
	res->kills = s->nkills;
	res->exits_seen = s->exits_seen;
	res->reenters_seen = s->reenters_seen;
}

static void build_result(struct meshsim *s, struct meshsim_result *res, double observer_cpu)
{
	memset(res, 0, sizeof *res);
	res->version = MESHNODE_VERSION;
	res->scenario = meshsim_scenario_name(s->o.scenario);
	res->n = s->n;
	res->hosts = s->o.hosts;
	res->subnets = s->o.subnets;
	res->bridge = s->o.bridge;
	res->fixed_peers = !s->o.subnets ? NULL :
	                   s->o.fixed_peers == MESHSIM_PEERS_NONE ? "none" :
	                   s->o.fixed_peers == MESHSIM_PEERS_ONE ? "one" : "all";
	res->seed = s->o.seed;
	res->inproc = s->o.inproc;
	res->loss_pct = s->o.loss_permille / 10.0;
	res->delay_ms = s->o.delay_ms;
	res->jitter_ms = s->o.jitter_ms;
	res->beacon_ms = s->env.beacon_ms;
	res->heartbeat_ms = s->env.heartbeat_ms;
	res->evasive_ms = s->env.evasive_ms;
	res->expired_ms = s->env.expired_ms;
	res->rekey_ms = s->env.rekey_ms ? s->env.rekey_ms : MESHSIM_REKEY_MS;
	res->mcast_port = s->env.mcast_port;
	res->deadline_s = s->o.deadline_s;
	res->converged = s->converged;
	res->convergence_ms = s->converged ? ms_of(s, s->converged_us) : -1;
	res->ready_ms = s->ready_all_us ? ms_of(s, s->ready_all_us) : -1;
	res->cpu_converge_s = s->converged ? s->cpu_converge_s : -1;
	res->online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	res->sessions_full = s->full;
	res->curve = s->curve;
	res->ncurve = s->ncurve;
	res->steps = s->steps;
	res->nsteps = s->nsteps;
	res->marks = s->marks;
	res->nmarks = s->nmarks;
	res->detect_ms = -1;
	res->reconverge_ms = -1;
	res->has_messages = s->o.scenario == MESHSIM_BROADCAST || s->o.scenario == MESHSIM_WHISPER ||
	                    s->o.scenario == MESHSIM_CHURN || s->o.scenario == MESHSIM_FAULTS ||
	                    s->o.scenario == MESHSIM_ATTACK;
	res->messages = s->nmsgs;
	res->send_failures = s->send_failures;
	res->size = s->o.size;
	res->rate = s->o.rate;
	res->dropped_events = s->dropped_events;
	if (s->check) {
		/* a message counts under a fault until the mesh had time to notice it was over */
		meshsim_check_account(s->check, s, 2 * (int64_t)s->env.expired_ms * 1000,
		                      &res->account);
		res->has_account = true;
		if (s->o.scenario == MESHSIM_FAULTS)
			meshsim_faults_result(s, &res->account);
	}
	check_messages(s, res);
	if (s->o.scenario == MESHSIM_CHURN)
		check_churn(s, res);
	if (s->o.scenario == MESHSIM_ATTACK)
		meshsim_attack_result(s, res);
	if (s->o.scenario == MESHSIM_PARTITION) {
		res->has_partition = true;
		res->detect_ms = s->detect_ms;
		res->reconverge_ms = s->reconverge_ms;
	}
	res->nodes = calloc((size_t)s->n, sizeof *res->nodes);
	res->rss_full_mean = res->rss_full_max = -1;
	res->rss_settle_ms = s->rss_settle_ms;
	if (res->nodes) {
		double sum_cpu = 0, sum_rss = 0, sum_full = 0;
		int nfull = 0;
		res->nnodes = (size_t)s->n;
		res->usage_shared = s->o.inproc;
		for (int i = 0; i < s->n; i++) {
			struct meshsim_node_usage *u = &res->nodes[i];
			snprintf(u->name, sizeof u->name, "%s", s->nodes[i].name);
			if (s->o.inproc) {
				u->cpu_s = s->proc_cpu_s / s->n;
				u->max_rss_kb = s->proc_rss_kb / s->n;
			} else {
				u->cpu_s = s->nodes[i].cpu_s;
				u->max_rss_kb = s->nodes[i].max_rss_kb;
			}
			u->restarts = s->nodes[i].gen;
			/* in-process every node reads the same process total */
			u->full_rss_kb = s->nodes[i].full_rss_kb < 0 ? -1 :
			                 s->o.inproc ? s->nodes[i].full_rss_kb / s->n :
			                 s->nodes[i].full_rss_kb;
			if (u->full_rss_kb >= 0) {
				sum_full += (double)u->full_rss_kb;
				nfull++;
				if ((double)u->full_rss_kb > res->rss_full_max)
					res->rss_full_max = (double)u->full_rss_kb;
			}
			u->start_ms = s->nodes[i].first_start_us ? ms_of(s, s->nodes[i].first_start_us) : -1;
			u->ready_ms = s->nodes[i].first_ready_us ? ms_of(s, s->nodes[i].first_ready_us) : -1;
			u->full_ms = s->nodes[i].full_us ? ms_of(s, s->nodes[i].full_us) : -1;
			sum_cpu += u->cpu_s;
			sum_rss += (double)u->max_rss_kb;
			if (u->cpu_s > res->cpu_max)
				res->cpu_max = u->cpu_s;
			if ((double)u->max_rss_kb > res->rss_max)
				res->rss_max = (double)u->max_rss_kb;
		}
		res->cpu_mean = sum_cpu / s->n;
		res->rss_mean = sum_rss / s->n;
		/* a figure only when every node was measured: a mean over some would mislead */
		if (nfull == s->n)
			res->rss_full_mean = sum_full / s->n;
		else
			res->rss_full_max = -1;
	}
	res->observer_cpu_s = observer_cpu;
	res->spurious_exits = s->spurious_exits;
	res->evasive_events = s->evasive_events;
	res->duration_ms = ms_of(s, meshsim_now_us());
	res->fault = s->o.fault == MESHSIM_FAULT_DROP ? "drop-delivery" :
	             s->o.fault == MESHSIM_FAULT_DUP ? "duplicate-delivery" : NULL;
	if (s->viol_more)
		meshsim_violation(s, "(%ld further violations not listed)", s->viol_more);
	res->violations = s->viol;
	res->nviolations = s->nviol;
	res->ok = s->nviol == 0 && s->converged && !s->interrupted;
}


/* Defaults fit small simulations; beyond 16 nodes every timer grows with N/16, because the
 * heartbeats alone cost n*(n-1)/heartbeat encrypted frames a second on two cores. Convergence
 * does not depend on it: new nodes are answered, not left to wait for a periodic beacon. */
static void choose_timers(struct meshsim *s)
{
	double f = s->n > 16 ? s->n / 16.0 : 1.0;
	s->env.beacon_ms = s->o.beacon_ms ? s->o.beacon_ms : (uint32_t)lround(500 * f);
	s->env.heartbeat_ms = s->o.heartbeat_ms ? s->o.heartbeat_ms : (uint32_t)lround(500 * f);
	s->env.evasive_ms = s->o.evasive_ms ? s->o.evasive_ms : (uint32_t)lround(1500 * f);
	s->env.expired_ms = s->o.expired_ms ? s->o.expired_ms : (uint32_t)lround(4000 * f);
	/* each link's rekey is a periodic cost too, and at 256 processes 32,640 of them fell due
	 * together, 120 s after the sessions were made, on a machine still saturated */
	s->env.rekey_ms = s->n > 16 ? (uint32_t)lround(MESHSIM_REKEY_MS * f) : 0;
}

/* ---------- setup and cleanup ---------- */

/* Every node's identity file, made before the clock starts. A deployed node has had its
 * identity since its first run; making one (a key pair, a write and two fsyncs, about 1 ms of
 * CPU and whatever the disk takes) is not part of joining a mesh, so it is not timed. */
static int make_identities(struct meshsim *s, char *err, size_t errcap)
{
	for (int i = 0; i < s->n; i++) {
		char path[600];
		snprintf(path, sizeof path, "%s/%s.id", s->tmpdir, s->nodes[i].name);
		struct keys_identity *k = keys_identity_generate();
		int rc = k ? keyfile_write_identity(path, k, err, errcap) : -1;
		if (!k)
			snprintf(err, errcap, "out of memory");
		keys_identity_destroy(&k);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int find_meshnode(const struct meshsim_opts *o, char *out, size_t cap)
{
	if (o->meshnode) {
		snprintf(out, cap, "%s", o->meshnode);
	} else {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
		if (l <= 0) {
			fprintf(stderr, "meshsim: cannot find myself (/proc/self/exe): %s; use --meshnode\n",
			        strerror(errno));
			return -1;
		}
		self[l] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		/* installed: meshnode beside meshsim in bin/; in the build tree: ../node/meshnode */
		int w = snprintf(out, cap, "%s/meshnode", self);
		if (w >= 0 && (size_t)w < cap && access(out, X_OK) != 0)
			w = snprintf(out, cap, "%s/../node/meshnode", self);
		if (w < 0 || (size_t)w >= cap) {
			fprintf(stderr, "meshsim: path of meshnode too long; use --meshnode\n");
			return -1;
		}
	}
	if (access(out, X_OK) != 0) {
		fprintf(stderr, "meshsim: the meshnode program '%s' is not there or not executable "
		        "(%s); build it, or name it with --meshnode PATH\n", out, strerror(errno));
		return -1;
	}
	if (out[0] != '/') {
		/* execvp() would search PATH for a name without a slash */
		char cwd[2048], rel[4096];
		if (!getcwd(cwd, sizeof cwd)) {
			fprintf(stderr, "meshsim: getcwd: %s\n", strerror(errno));
			return -1;
		}
		int w1 = snprintf(rel, sizeof rel, "%s", out);
		int w2 = w1 < 0 || (size_t)w1 >= sizeof rel ? -1 : snprintf(out, cap, "%s/%s", cwd, rel);
		if (w2 < 0 || (size_t)w2 >= cap) {
			fprintf(stderr, "meshsim: path of meshnode too long\n");
			return -1;
		}
	}
	return 0;
}

/* Open files a run needs. Process mode: meshsim holds 2 pipes per node and each node, which
 * inherits the limit, ~2 fds per peer (a zmq socket with its eventfd, a TCP connection).
 * In-process: every node's sockets live here, both ends of every TCP connection included;
 * measured ~1.7 n^2 at full mesh, budgeted 2 n^2 for handshakes in flight. */
static rlim_t nofile_need(bool inproc, long n)
{
	rlim_t need = inproc ? (rlim_t)(2 * n * n + 8 * n + 512) : (rlim_t)(8 * n + 1024);
	return need < 4096 ? 4096 : need;
}

static int raise_nofile(const struct meshsim_opts *o)
{
	struct rlimit rl;
	rlim_t want = nofile_need(o->inproc, o->n);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "meshsim: getrlimit: %s\n", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur >= want)
		return 0;
	struct rlimit nl = { want, rl.rlim_max > want ? rl.rlim_max : want };
	if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
		return 0;
	int e = errno;
	/* what would fit under the hard limit we have */
	long fit = 2;
	while (fit < MAX_NODES && nofile_need(o->inproc, fit + 1) <= rl.rlim_max)
		fit++;
	fprintf(stderr, "meshsim: %d %s nodes need about %llu open files, but the limit is %llu "
	        "and cannot be raised (setrlimit: %s%s).\n", o->n,
	        o->inproc ? "in-process" : "process-mode", (unsigned long long)want,
	        (unsigned long long)rl.rlim_max, strerror(e),
	        e == EPERM ? "; raising the hard limit needs CAP_SYS_RESOURCE" :
	        e == EINVAL ? "; above fs.nr_open?" : "");
	fprintf(stderr, "meshsim: at most %ld %s nodes fit under that limit%s\n", fit,
	        o->inproc ? "in-process" : "process-mode",
	        o->inproc ? "; process mode needs far fewer per process" : "");
	return -1;
}

static void remove_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int w = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (w > 0 && (size_t)w < sizeof path)
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static double self_cpu(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int init_sim(struct meshsim *s)
{
	size_t n = (size_t)s->n, nn = n * n;
	s->nodes = calloc(n, sizeof *s->nodes);
	s->sess = calloc(nn, 1);
	s->sess_t = calloc(nn, sizeof *s->sess_t);
	s->member = calloc(nn, 1);
	s->last_gen = malloc(nn * sizeof *s->last_gen);
	s->last_seq = calloc(nn, sizeof *s->last_seq);
	s->last_id = calloc(nn, sizeof *s->last_id);
	for (s->idx_cap = 16; s->idx_cap < n * 4; s->idx_cap *= 2)
		;
	s->idx_table = calloc(s->idx_cap, sizeof *s->idx_table);
	if (!s->nodes || !s->sess || !s->sess_t || !s->member || !s->last_gen || !s->last_seq ||
	    !s->last_id || !s->idx_table)
		return -1;
	for (size_t k = 0; k < nn; k++)
		s->last_gen[k] = -1;
	for (int i = 0; i < s->n; i++) {
		struct meshsim_node *nd = &s->nodes[i];
		nd->idx = i;
		snprintf(nd->name, sizeof nd->name, "n%03d", i);
		nd->host = s->o.hosts ? i % s->o.hosts : 0;
		nd->in_fd = nd->out_fd = -1;
		nd->full_rss_kb = -1;
	}
	s->full = (long)s->n * (s->n - 1);
	s->detect_ms = s->reconverge_ms = -1;
	s->rss_settle_ms = -1;
	return 0;
}

static void free_sim(struct meshsim *s)
{
	meshsim_check_destroy(&s->check);
	for (int i = 0; s->nodes && i < s->n; i++) {
		struct meshsim_node *nd = &s->nodes[i];
		free(nd->rbuf);
		free(nd->wbuf);
		free(nd->stamps);
		free(nd->cmdq);
	}
	for (int k = 0; k < s->nkills; k++) {
		free(s->kills[k].up);
		free(s->kills[k].had);
		free(s->kills[k].exits);
		free(s->kills[k].reentered);
	}
	for (size_t i = 0; i < s->nviol; i++)
		free(s->viol[i]);
	free(s->viol);
	free(s->kills);
	free(s->nodes);
	free(s->sess);
	free(s->sess_t);
	free(s->member);
	free(s->last_gen);
	free(s->last_seq);
	free(s->last_id);
	free(s->idx_table);
	free(s->msgs);
	free(s->rcount);
	free(s->rtime);
	free(s->sflags);
	free(s->payload);
	free(s->pdrops);
	free(s->curve);
	free(s->steps);
	free(s->marks);
}

/*
 * --keylog: opened at startup, as meshnode opens its own (append, 0600, no symlink, ours and
 * private), so that a bad FILE fails before the run rather than after it.
 */
static int keylog_open(const char *path)
{
	char err[PATH_MAX + 128];
	off_t size;
	int fd = secfile_open_append(path, "--keylog", &size, err, sizeof err);
	if (fd < 0)
		fprintf(stderr, "meshsim: %s\n", err);
	return fd;
}

/* Appends every node's key log (restarts included) to fd and closes it; false on error. */
static bool keylog_collect(struct meshsim *s, int fd)
{
	bool ok = true;
	for (int i = 0; i < s->n && ok; i++) {
		char path[PATH_MAX + 64], buf[4096];
		snprintf(path, sizeof path, "%s/%s.keylog", s->tmpdir, s->nodes[i].name);
		int in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			continue; /* a node that never ran has none */
		ssize_t got;
		while (ok && (got = read(in, buf, sizeof buf)) > 0)
			ok = secfile_write_all(fd, buf, (size_t)got) == 0;
		if (got < 0)
			ok = false;
		close(in);
	}
	if (close(fd) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "meshsim: --keylog %s: %s\n", s->o.keylog_path, strerror(errno));
	return ok;
}


/*
 * --capture: tcpdump in our own namespace on the interface that carries the nodes' packets,
 * lo on one host, the bridge with --hosts. Its stderr goes to a file in the temp dir, polled for
 * "listening on" so that no node starts before the capture does.
 */
static pid_t capture_start(struct meshsim *s, char *err, size_t errcap)
{
	const char *iface = s->o.hosts ? MESHSIM_NET_BRIDGE : "lo";
	char errpath[PATH_MAX + 32];
	snprintf(errpath, sizeof errpath, "%s/tcpdump.stderr", s->tmpdir);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errcap, "--capture: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0)
			dup2(nul, 1);
		/* -Z root: tcpdump would otherwise drop to a user that cannot write our FILE */
		execl(s->o.tcpdump, "tcpdump", "-i", iface, "-w", s->o.capture_path, "-U",
		      "--immediate-mode", "-B", "65536", "-n", "-Z", "root", (char *)NULL);
		_exit(127);
	}
	for (int waited_ms = 0; waited_ms < 10000; waited_ms += 20) {
		char buf[4096];
		FILE *f = fopen(errpath, "r");
		size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[got] = '\0';
		if (strstr(buf, "listening on"))
			return pid;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(err, errcap, "--capture: tcpdump exited: %.900s", buf);
			return -1;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(err, errcap, "--capture: tcpdump was not listening within 10 s");
	return -1;
}

/* SIGINT, so that tcpdump flushes FILE and prints its counts; false if it failed. */
static bool capture_stop(struct meshsim *s, pid_t pid)
{
	int st = 0;
	kill(pid, SIGINT);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char errpath[PATH_MAX + 32], line[512];
	snprintf(errpath, sizeof errpath, "%s/tcpdump.stderr", s->tmpdir);
	FILE *f = fopen(errpath, "r");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long dropped;
		if (sscanf(line, "%lu packets dropped by kernel", &dropped) == 1 && dropped > 0)
			fprintf(stderr, "meshsim: warning: --capture: tcpdump: %s", line);
	}
	if (f)
		fclose(f);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "meshsim: --capture: tcpdump failed (status %d)\n", st);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static struct meshsim sim;
	struct meshsim *s = &sim;
	struct meshsim_result res;
	char err[1024];
	int rc = meshsim_parse_options(argc, argv, &s->o);
	if (rc >= 0)
		return rc;
	s->n = s->o.n;
	if (s->o.sim) {
		/* no socket, no process, no namespace: the engines run in virtual time here */
		choose_timers(s);
		if (s->env.expired_ms <= s->env.evasive_ms)
			return meshsim_usage_error("--expired must be longer than --evasive", NULL);
		return meshsim_sim_run(&s->o, meshsim_scenario_name(s->o.scenario), s->env.beacon_ms,
		                       s->env.heartbeat_ms, s->env.evasive_ms, s->env.expired_ms,
		                       s->env.rekey_ms);
	}
	s->be = s->o.inproc ? &meshsim_inproc_backend : &meshsim_proc_backend;
	if (!s->o.inproc && find_meshnode(&s->o, s->meshnode, sizeof s->meshnode) != 0)
		return EXIT_FAIL;
	if (raise_nofile(&s->o) != 0)
		return EXIT_FAIL;
	int keylog_fd = -1;
	if (s->o.keylog_path && (keylog_fd = keylog_open(s->o.keylog_path)) < 0)
		return EXIT_USAGE;
	/* Before anything else can open a socket or start a thread: our own network. */
	if (meshsim_net_isolate(err, sizeof err) != 0) {
		fprintf(stderr, "meshsim: %s\n", err);
		return EXIT_FAIL;
	}
	uint64_t x = s->o.seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
	if (init_sim(s) != 0) {
		fprintf(stderr, "meshsim: out of memory\n");
		return EXIT_FAIL;
	}
	choose_timers(s);
	if (s->env.expired_ms <= s->env.evasive_ms) {
		free_sim(s);
		return meshsim_usage_error("--expired must be longer than --evasive", NULL);
	}
	s->env.o = &s->o;
	s->env.nodes = s->nodes;
	s->env.n = s->n;
	s->env.meshnode = s->meshnode;
	s->env.mcast_port = (uint16_t)(40000 + rng_below(s, 20001));
	s->env.join_group = s->o.scenario == MESHSIM_BROADCAST || s->o.scenario == MESHSIM_CHURN ||
	                    s->o.scenario == MESHSIM_FAULTS || s->o.scenario == MESHSIM_ATTACK;
	if (s->o.scenario == MESHSIM_CHURN || s->o.scenario == MESHSIM_FAULTS ||
	    s->o.scenario == MESHSIM_ATTACK) {
		/* every message is accounted: with receipts, each recipient's answer is printed */
		s->env.receipts = !s->o.no_receipts;
		s->env.ttl_ms = s->o.ttl_ms;
		s->check = meshsim_check_new(s->n, s->env.receipts);
		if (!s->check) {
			fprintf(stderr, "meshsim: out of memory\n");
			free_sim(s);
			return EXIT_FAIL;
		}
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(s->tmpdir, sizeof s->tmpdir, "%s/meshsim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->tmpdir)) {
		fprintf(stderr, "meshsim: cannot create a temp dir in %s: %s\n",
		        tmp && *tmp ? tmp : "/tmp", strerror(errno));
		free_sim(s);
		return EXIT_FAIL;
	}
	s->env.tmpdir = s->tmpdir;
	/*
	 * meshsim starts the nodes and timestamps their events as it reads them. At normal
	 * priority it competes with the nodes it has already started, which keep both CPUs busy:
	 * starting 64 took over a second, and events sat in pipes, so the figures measured
	 * meshsim's share of the CPU. It runs at nice -10 instead (it needs little CPU, about a
	 * tenth of one node's), and each node goes back to nice 0 before it runs. Not in-process,
	 * where the nodes are meshsim's own threads.
	 */
	if (!s->o.inproc && setpriority(PRIO_PROCESS, 0, MESHSIM_NICE) != 0 && !s->o.quiet)
		fprintf(stderr, "meshsim: cannot raise my priority (%s); starting and observing the "
		        "nodes competes with them for CPU\n", strerror(errno));
	if (make_identities(s, err, sizeof err) != 0) {
		fprintf(stderr, "meshsim: %s\n", err);
		remove_tmpdir(s->tmpdir);
		free_sim(s);
		return EXIT_FAIL;
	}
	if (s->o.hosts) {
		struct meshsim_net_params p = { s->o.hosts, s->o.subnets, s->o.loss_permille,
		                                s->o.delay_ms, s->o.jitter_ms, s->o.bridge,
		                                s->o.ipv6 };
		bool is_usage = false;
		s->net = meshsim_net_hosts_new(&p, err, sizeof err, &is_usage);
		if (!s->net) {
			fprintf(stderr, "meshsim: %s\n", err);
			remove_tmpdir(s->tmpdir);
			free_sim(s);
			return is_usage ? EXIT_USAGE : EXIT_FAIL;
		}
		s->env.net = s->net;
	}
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	pid_t capture = -1;
	if (s->o.capture_path) {
		capture = capture_start(s, err, sizeof err);
		if (capture < 0) {
			fprintf(stderr, "meshsim: %s\n", err);
			remove_tmpdir(s->tmpdir);
			meshsim_net_destroy(&s->net);
			free_sim(s);
			return EXIT_FAIL;
		}
	}
	s->progress = !s->o.quiet && isatty(2);
	if (!s->o.quiet)
		fprintf(stderr, "meshsim: %s, %d nodes (%s%s%s), seed %llu, multicast port %u, "
		        "timers %u/%u/%u/%u ms\n", meshsim_scenario_name(s->o.scenario), s->n, s->be->name,
		        s->o.bridge ? ", on hosts in routed subnets, host 0 bridging" :
		        s->o.subnets ? ", on hosts in routed subnets" : s->o.hosts ? ", on hosts" :
		        ", loopback", s->o.loss_permille ? ", lossy" : "",
		        (unsigned long long)s->o.seed, s->env.mcast_port, s->env.beacon_ms,
		        s->env.heartbeat_ms, s->env.evasive_ms, s->env.expired_ms);

	switch (s->o.scenario) {
	case MESHSIM_CONVERGE:
		scenario_converge(s);
		break;
	case MESHSIM_BROADCAST:
	case MESHSIM_WHISPER:
		scenario_messages(s);
		break;
	case MESHSIM_CHURN:
		scenario_churn(s);
		break;
	case MESHSIM_PARTITION:
		scenario_partition(s);
		break;
	case MESHSIM_FAULTS:
		meshsim_scenario_faults(s);
		break;
	case MESHSIM_ATTACK:
		meshsim_scenario_attack(s);
		break;
	}
	s->end_us = meshsim_now_us();
	s->sending = false;
	s->phase = PHASE_TEARDOWN;
	if (s->check)
		meshsim_check_freeze(s->check);
	progress(s, s->end_us, true);
	s->be->stop_all(s, s->end_us + 10 * 1000000 + (int64_t)s->n * 50000);
	flush_deferred(s);
	double observer = s->o.inproc ? 0 : self_cpu();
	build_result(s, &res, observer);
	if (capture > 0 && !capture_stop(s, capture))
		res.ok = false;
	if (keylog_fd >= 0 && !keylog_collect(s, keylog_fd))
		res.ok = false;

	FILE *human = s->o.json_stdout ? stderr : stdout;
	meshsim_report_table(human, &res);
	fflush(human);
	if (s->o.json_path && meshsim_report_json(s->o.json_path, &res) != 0) {
		fprintf(stderr, "meshsim: cannot write %s: %s\n", s->o.json_path, strerror(errno));
		res.ok = false;
	}
	if (s->o.plot_path && meshsim_report_svg(s->o.plot_path, &res) != 0) {
		fprintf(stderr, "meshsim: cannot write %s: %s\n", s->o.plot_path, strerror(errno));
		res.ok = false;
	}
	if (!res.ok) {
		int shown = 0;
		fprintf(stderr, "meshsim: FAILED (%s, n=%d, seed %llu):\n", res.scenario, s->n,
		        (unsigned long long)s->o.seed);
		for (size_t i = 0; i < res.nviolations; i++)
			fprintf(stderr, "  - %s\n", res.violations[i]);
		if (res.nviolations == 0)
			fprintf(stderr, "  - (no violation recorded: see above)\n");
		for (int i = 0; i < s->n && shown < MAX_LOGS_SHOWN; i++) {
			if (!s->nodes[i].failed)
				continue;
			s->be->show_log(s, &s->nodes[i]);
			shown++;
		}
	}
	/* a failure's node logs are what explains it: never delete them */
	if (s->o.keep || !res.ok)
		fprintf(stderr, "meshsim: files kept in %s\n", s->tmpdir);
	else
		remove_tmpdir(s->tmpdir);
	meshsim_net_destroy(&s->net);
	bool ok = res.ok;
	free(res.latencies_ms);
	free(res.nodes);
	free(res.cycles);
	free_sim(s);
	return ok ? EXIT_OK : EXIT_FAIL;
}
