/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_faults: the faults scenario (docs/meshsim.md). Every node joins MESHSIM_GROUP;
 * once the mesh is whole the core sends shouts and whispers at --rate, while this file
 * injects --cuts, --kills, --stops, --partitions, --flaps and --readdrs faults in a random
 * order, one every 100-600 ms, each undone on its own timer, so that faults overlap:
 *
 *   cut        one random established TCP connection in a random host's namespace (on
 *              loopback: meshsim's own) is destroyed with `ss -K`; both ends get a reset
 *   kill       a random node is SIGKILLed and restarted 0.5-3 s later, same identity file
 *              and name (a new incarnation)
 *   stop       a random node is SIGSTOPped for 0.2 s to 2 x expired, then SIGCONTed; one
 *              stop in four ends in a SIGKILL instead, and a restart 0.5-3 s later
 *   partition  the hosts from a random one on are moved to a second bridge for expired / 2
 *              to 2 x expired, then back (one partition at a time)
 *   flap       one interface of a host (with --bridge: of the bridging host, which joins the
 *              subnets) is set down for 1-3 s, then up again
 *   readdr     one interface of such a host is given the other of its two addresses
 *              (meshsim_net_readdr()); the nodes must find the new one themselves
 *
 * When the last fault is undone and at least --messages were sent, sending stops and meshsim
 * waits until the mesh is whole and
 * every accepted message has its answer; then the account (meshsim_check.c) judges every
 * message, with no exclusion window.
 *
 * Invariants:
 * - At most (N - 1) / 2 nodes (at least one) are down (killed or stopped) at once, so that
 *   the others keep sending and a mesh is there to cut.
 * - Every signal goes to a PID meshsim started, and only while it has not been reaped.
 * - Every random choice comes from the core's seeded generator: one seed, one schedule (the
 *   nodes' own timing still varies from run to run).
 */
#include "meshsim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshsim_check.h"
#include "meshsim_net.h"
#include "meshsim_report.h"

#define GAP_MIN_MS 100          /* between two faults */
#define GAP_MAX_MS 600
#define RESTART_MIN_MS 500      /* a killed node is restarted this long after */
#define RESTART_MAX_MS 3000
#define STOP_MIN_MS 200
#define FLAP_MIN_MS 1000        /* an interface is down this long */
#define FLAP_MAX_MS 3000
#define RETRY_MS 50             /* a due action that must wait (node not reaped yet) */
#define SS_OUT 65536

enum act { ACT_RESTART, ACT_CONT, ACT_KILL_STOPPED, ACT_HEAL, ACT_UP };

struct action {
	int64_t due_us;
	enum act act;
	int node;                    /* ACT_UP: the host */
	int fault;                   /* the account's handle, to close the fault's window */
	int iface;                   /* ACT_UP: which of the host's interfaces */
};

struct faults {
	struct meshsim *s;
	const struct meshsim_env *e;
	struct meshsim_check *check;
	struct action *acts;
	size_t nacts, cacts;
	int down;                    /* nodes killed or stopped, not yet back */
	bool partitioned;
};

/* What the report adds to the account; one run per process. */
static long g_cuts_missed, g_stop_kills;

static int64_t between_us(struct meshsim *s, int64_t lo_ms, int64_t hi_ms)
{
	return (lo_ms + (int64_t)meshsim_rng_below(s, (uint64_t)(hi_ms - lo_ms + 1))) * 1000;
}

static int later_iface(struct faults *f, int64_t due_us, enum act act, int node, int fault,
                       int iface)
{
	if (f->nacts == f->cacts) {
		size_t ncap = f->cacts ? f->cacts * 2 : 16;
		struct action *na = realloc(f->acts, ncap * sizeof *na);
		if (!na)
			return -1;
		f->acts = na;
		f->cacts = ncap;
	}
	f->acts[f->nacts++] = (struct action){ due_us, act, node, fault, iface };
	return 0;
}

static int later(struct faults *f, int64_t due_us, enum act act, int node, int fault)
{
	return later_iface(f, due_us, act, node, fault, 0);
}

static void oom(struct faults *f)
{
	meshsim_violation(f->s, "faults: out of memory");
}

/* ---------- cut ---------- */

/* Destroys one random established TCP connection in host h's namespace (-1: loopback, the
 * namespace meshsim runs in). Returns 1 if one was cut, 0 if there was none. */
static int cut_one(struct faults *f, int h)
{
	const char *list[16], *kill_argv[20];
	char *out = malloc(SS_OUT), err[400];
	int a = 0, k = 0, lines = 0, pick;
	if (!out) {
		oom(f);
		return 0;
	}
	if (h >= 0) {
		list[a++] = "ip";
		list[a++] = "netns";
		list[a++] = "exec";
		list[a++] = meshsim_net_ns(f->e->net, h);
	}
	for (int i = 0; i < a; i++)
		kill_argv[k++] = list[i];
	list[a++] = "ss";
	list[a++] = "-t";
	list[a++] = "-n";
	list[a++] = "-H";
	list[a++] = "state";
	list[a++] = "established";
	list[a] = NULL;
	if (meshsim_net_run(list, out, SS_OUT, err, sizeof err) != 0) {
		meshsim_violation(f->s, "faults: cannot list TCP connections: %s", err);
		free(out);
		return 0;
	}
	/* "Recv-Q Send-Q LOCAL PEER" per line */
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	if (lines == 0) {
		free(out);
		return 0;
	}
	pick = (int)meshsim_rng_below(f->s, (uint64_t)lines);
	char *line = out;
	for (; pick > 0; pick--)
		line = strchr(line, '\n') + 1;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	char *field[4], *save = NULL;
	int nf = 0;
	for (char *t = strtok_r(line, " \t", &save); t && nf < 4; t = strtok_r(NULL, " \t", &save))
		field[nf++] = t;
	if (nf < 4) {
		meshsim_violation(f->s, "faults: cannot read ss's line '%.80s'", line);
		free(out);
		return 0;
	}
	kill_argv[k++] = "ss";
	kill_argv[k++] = "-K";
	kill_argv[k++] = "-t";
	kill_argv[k++] = "-n";
	kill_argv[k++] = "-H";
	kill_argv[k++] = "state";
	kill_argv[k++] = "established";
	kill_argv[k++] = "src";
	kill_argv[k++] = field[2];
	kill_argv[k++] = "dst";
	kill_argv[k++] = field[3];
	kill_argv[k] = NULL;
	char killed[512];
	int rc = meshsim_net_run(kill_argv, killed, sizeof killed, err, sizeof err);
	free(out);
	if (rc != 0) {
		/* a kernel without SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY) cannot do this at all */
		meshsim_violation(f->s, "faults: ss -K failed: %s", err);
		return 0;
	}
	return killed[0] != 0;       /* it prints what it destroyed: nothing if it was gone */
}

static bool inject_cut(struct faults *f)
{
	int64_t now = meshsim_now_us();
	int h = -1;
	if (f->e->net) {
		int i = meshsim_pick_node(f->s, -1);
		if (i < 0)
			return false;
		h = f->e->nodes[i].host;
	}
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_CUT, now);
	meshsim_mark(f->s, "conn cut");
	if (!cut_one(f, h))
		g_cuts_missed++;
	meshsim_check_fault_end(f->check, fault, meshsim_now_us());
	return true;
}

/* ---------- kill, stop ---------- */

static bool may_take_down(const struct faults *f)
{
	int most = (f->e->n - 1) / 2;
	return f->down < (most > 0 ? most : 1);
}

static bool inject_kill(struct faults *f)
{
	int v;
	if (!may_take_down(f) || (v = meshsim_pick_node(f->s, -1)) < 0)
		return false;
	int64_t now = meshsim_now_us();
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_KILL, now);
	if (later(f, now + between_us(f->s, RESTART_MIN_MS, RESTART_MAX_MS), ACT_RESTART, v,
	          fault) != 0) {
		oom(f);
		return false;
	}
	meshsim_kill_node(f->s, &f->e->nodes[v]);
	f->down++;
	return true;
}

static bool inject_stop(struct faults *f)
{
	int v;
	if (!may_take_down(f) || (v = meshsim_pick_node(f->s, -1)) < 0)
		return false;
	struct meshsim_node *nd = &f->e->nodes[v];
	if (nd->pid <= 0 || nd->reaped)
		return false;
	int64_t now = meshsim_now_us();
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_STOP, now);
	enum act how = meshsim_rng_below(f->s, 4) == 0 ? ACT_KILL_STOPPED : ACT_CONT;
	if (later(f, now + between_us(f->s, STOP_MIN_MS, 2 * (int64_t)f->e->expired_ms), how, v,
	          fault) != 0) {
		oom(f);
		return false;
	}
	meshsim_mark(f->s, "stop %s", nd->name);
	kill(nd->pid, SIGSTOP);
	nd->frozen = true;
	f->down++;
	return true;
}

/* ---------- partition ---------- */

static bool inject_partition(struct faults *f)
{
	char err[600];
	int hosts = f->e->o->hosts;
	if (f->partitioned || !f->e->net || hosts < 2)
		return false;
	int first = 1 + (int)meshsim_rng_below(f->s, (uint64_t)(hosts - 1));
	int64_t now = meshsim_now_us();
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_PARTITION, now);
	int64_t len = between_us(f->s, f->e->expired_ms / 2, 2 * (int64_t)f->e->expired_ms);
	if (later(f, now + len, ACT_HEAL, -1, fault) != 0) {
		oom(f);
		return false;
	}
	/* the observer first, so that exits read from now on are seen as across the cut */
	meshsim_set_cut(f->s, first);
	if (meshsim_net_cut(f->e->net, first, err, sizeof err) != 0)
		meshsim_violation(f->s, "faults: cannot cut the bridge: %s", err);
	f->partitioned = true;
	return true;
}

/* ---------- flap, readdr ---------- */

/* The interface an interface fault hits: with --bridge one of the bridging host's, whose
 * loss would part the subnets; else one of a random host's. false if that one is down (a
 * flap is on): the fault waits. */
static bool pick_iface(struct faults *f, int *host, int *k)
{
	int h = f->e->o->bridge ? 0 : (int)meshsim_rng_below(f->s, (uint64_t)f->e->o->hosts);
	int i = (int)meshsim_rng_below(f->s, (uint64_t)meshsim_net_ifaces(f->e->net, h));
	if (!meshsim_net_iface_up(f->e->net, h, i))
		return false;
	*host = h;
	*k = i;
	return true;
}

static bool inject_flap(struct faults *f)
{
	char err[600];
	int h, k;
	if (!pick_iface(f, &h, &k))
		return false;
	int64_t now = meshsim_now_us();
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_FLAP, now);
	if (later_iface(f, now + between_us(f->s, FLAP_MIN_MS, FLAP_MAX_MS), ACT_UP, h, fault,
	                k) != 0) {
		oom(f);
		return false;
	}
	meshsim_mark(f->s, "down host%d", h);
	if (meshsim_net_flap(f->e->net, h, k, false, err, sizeof err) != 0)
		meshsim_violation(f->s, "faults: cannot set %s of host %d down: %s",
		                  meshsim_net_iface_name(f->e->net, h, k), h, err);
	return true;
}

static bool inject_readdr(struct faults *f)
{
	char err[600], old[16];
	int h, k;
	if (!pick_iface(f, &h, &k))
		return false;
	int64_t now = meshsim_now_us();
	int fault = meshsim_check_fault(f->check, MESHSIM_KIND_READDR, now);
	snprintf(old, sizeof old, "%s", meshsim_net_iface_addr(f->e->net, h, k));
	meshsim_mark(f->s, "readdr host%d", h);
	if (meshsim_net_readdr(f->e->net, h, k, err, sizeof err) != 0)
		meshsim_violation(f->s, "faults: cannot move %s of host %d from %s: %s",
		                  meshsim_net_iface_name(f->e->net, h, k), h, old, err);
	else if (!f->e->o->quiet)
		fprintf(stderr, "meshsim: faults: %s of host %d moved from %s to %s\n",
		        meshsim_net_iface_name(f->e->net, h, k), h, old,
		        meshsim_net_iface_addr(f->e->net, h, k));
	/* the address is gone at once; what it costs shows in the account */
	meshsim_check_fault_end(f->check, fault, meshsim_now_us());
	return true;
}

/* ---------- undoing them ---------- */

/* Carries out a due action; false if it must wait (the node is not reaped yet). */
static bool act(struct faults *f, struct action *x, int64_t now)
{
	char err[600];
	struct meshsim_node *nd = x->node >= 0 ? &f->e->nodes[x->node] : NULL;
	switch (x->act) {
	case ACT_RESTART:
		if (nd->pid > 0) {
			x->due_us = now + RETRY_MS * 1000;   /* not reaped yet */
			return false;
		}
		meshsim_restart_node(f->s, nd);
		f->down--;
		break;
	case ACT_CONT:
		if (nd->pid > 0 && !nd->reaped)
			kill(nd->pid, SIGCONT);
		meshsim_mark(f->s, "cont %s", nd->name);
		nd->frozen = false;
		f->down--;
		break;
	case ACT_KILL_STOPPED:
		/* SIGKILL ends a stopped process too; its restart is a new action */
		g_stop_kills++;
		meshsim_kill_node(f->s, nd);
		nd->frozen = false;
		if (later(f, now + between_us(f->s, RESTART_MIN_MS, RESTART_MAX_MS), ACT_RESTART,
		          x->node, x->fault) != 0) {
			oom(f);
			f->down--;
		}
		return true;             /* the restart closes the fault's window */
	case ACT_HEAL:
		if (meshsim_net_heal(f->e->net, err, sizeof err) != 0)
			meshsim_violation(f->s, "faults: cannot heal the bridge: %s", err);
		meshsim_set_cut(f->s, 0);
		f->partitioned = false;
		break;
	case ACT_UP:
		meshsim_mark(f->s, "up host%d", x->node);
		if (meshsim_net_flap(f->e->net, x->node, x->iface, true, err, sizeof err) != 0)
			meshsim_violation(f->s, "faults: cannot set %s of host %d up again: %s",
			                  meshsim_net_iface_name(f->e->net, x->node, x->iface), x->node,
			                  err);
		break;
	}
	meshsim_check_fault_end(f->check, x->fault, now);
	return true;
}

static int64_t next_due(const struct faults *f)
{
	int64_t t = INT64_MAX;
	for (size_t k = 0; k < f->nacts; k++)
		if (f->acts[k].due_us < t)
			t = f->acts[k].due_us;
	return t;
}

static void run_actions(struct faults *f)
{
	int64_t now = meshsim_now_us();
	for (size_t k = 0; k < f->nacts;) {
		struct action x = f->acts[k];
		if (x.due_us > now) {
			k++;
			continue;
		}
		/* act() may add an action: take this one out first */
		f->acts[k] = f->acts[--f->nacts];
		if (!act(f, &x, now) &&
		    later_iface(f, x.due_us, x.act, x.node, x.fault, x.iface) != 0)
			oom(f);
	}
}

/* The faults in a random order: a shuffled deck. */
static int *deck(struct meshsim *s, const struct meshsim_opts *o, size_t *len)
{
	size_t n = (size_t)o->cuts + (size_t)o->kills + (size_t)o->stops + (size_t)o->partitions +
	           (size_t)o->flaps + (size_t)o->readdrs, k = 0;
	int *d = malloc((n ? n : 1) * sizeof *d);
	if (!d)
		return NULL;
	for (int i = 0; i < o->cuts; i++)
		d[k++] = MESHSIM_KIND_CUT;
	for (int i = 0; i < o->kills; i++)
		d[k++] = MESHSIM_KIND_KILL;
	for (int i = 0; i < o->stops; i++)
		d[k++] = MESHSIM_KIND_STOP;
	for (int i = 0; i < o->partitions; i++)
		d[k++] = MESHSIM_KIND_PARTITION;
	for (int i = 0; i < o->flaps; i++)
		d[k++] = MESHSIM_KIND_FLAP;
	for (int i = 0; i < o->readdrs; i++)
		d[k++] = MESHSIM_KIND_READDR;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)meshsim_rng_below(s, i);
		int t = d[i - 1];
		d[i - 1] = d[j];
		d[j] = t;
	}
	*len = n;
	return d;
}

void meshsim_scenario_faults(struct meshsim *s)
{
	struct faults f;
	size_t ndeck, next = 0;
	memset(&f, 0, sizeof f);
	f.s = s;
	f.e = meshsim_env(s);
	f.check = meshsim_checker(s);
	int *d = deck(s, f.e->o, &ndeck);
	if (!d) {
		oom(&f);
		return;
	}
	if (!meshsim_converge(s)) {
		free(d);
		return;
	}
	meshsim_start_sending(s);
	int64_t next_fault = meshsim_now_us() + between_us(s, GAP_MIN_MS, GAP_MAX_MS);
	while (next < ndeck || f.nacts > 0) {
		int64_t wake = next < ndeck ? next_fault : INT64_MAX, due = next_due(&f);
		if (due < wake)
			wake = due;
		(void)meshsim_run_until(s, NULL, wake);
		if (meshsim_interrupted(s))
			break;
		run_actions(&f);
		int64_t now = meshsim_now_us();
		if (next >= ndeck || now < next_fault)
			continue;
		bool done = false;
		switch (d[next]) {
		case MESHSIM_KIND_CUT:
			done = inject_cut(&f);
			break;
		case MESHSIM_KIND_KILL:
			done = inject_kill(&f);
			break;
		case MESHSIM_KIND_STOP:
			done = inject_stop(&f);
			break;
		case MESHSIM_KIND_PARTITION:
			done = inject_partition(&f);
			break;
		case MESHSIM_KIND_FLAP:
			done = inject_flap(&f);
			break;
		case MESHSIM_KIND_READDR:
			done = inject_readdr(&f);
			break;
		}
		/* a fault that cannot happen now (too many nodes down, a partition on) waits */
		if (done)
			next++;
		next_fault = now + (done ? between_us(s, GAP_MIN_MS, GAP_MAX_MS) : RETRY_MS * 1000);
	}
	/* interrupted: nodes still stopped could not obey /quit */
	for (int i = 0; i < f.e->n; i++) {
		struct meshsim_node *nd = &f.e->nodes[i];
		if (nd->frozen && nd->pid > 0 && !nd->reaped)
			kill(nd->pid, SIGCONT);
		nd->frozen = false;
	}
	free(d);
	free(f.acts);
	meshsim_finish_sending(s);
	(void)meshsim_wait_answers(s, "faults");
}

void meshsim_faults_result(struct meshsim *s, struct meshsim_account *acc)
{
	(void)s;
	acc->stop_kills = g_stop_kills;
	acc->cuts_missed = g_cuts_missed;
}
