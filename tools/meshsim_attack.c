/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_attack: the attack scenario (docs/meshsim.md, "Attack"; issue 14's proof). Every
 * node joins MESHSIM_GROUP; once the mesh is whole the core sends shouts and whispers at
 * --rate, accounted as in faults (meshsim_check.c), while this file runs the attacks of
 * meshsim_attackers.c one after another against one victim node, each in a process of its own
 * for --attack-secs. During each attack it
 *
 *   - samples the victim every 200 ms: open fds (/proc/PID/fd), VmRSS (/proc/PID/status) and
 *     CPU (utime + stime from /proc/PID/stat);
 *   - starts a fresh node (a new identity, never seen by the mesh) a little after the attack
 *     began, and measures how long it takes until it and the victim have both reported the
 *     other entered, then has it whisper to the victim and waits for the victim to print it;
 *   - counts exits between meshsim's nodes (linked peers that noticed the attack).
 *
 * After the last attack, sending stops and meshsim waits for every answer; the account then
 * judges every message, attributed to the attack in effect when it was sent. The scenario
 * fails when a message is lost (the account), when the fresh node does not link and whisper
 * within --attack-link-ms, or when the victim dies.
 *
 * Invariants:
 * - Attackers and fresh nodes are processes meshsim forked, in its private namespace; each is
 *   signalled only by its PID and only until it is reaped.
 * - Events about our own identities (fresh nodes) are taken by meshsim_set_hook() and never
 *   reach the core's observer, which knows only its N nodes.
 * - One attack at a time, and the next starts only once the mesh is whole again.
 */
#include "meshsim.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "meshsim_attackers.h"
#include "meshsim_check.h"
#include "meshsim_fresh.h"
#include "meshsim_report.h"

#define SAMPLE_MS 200           /* the victim's fds, RSS and CPU */
#define SLICE_MS 20             /* how often the fresh node's output is read */
#define PROBE_LEAD_MS 1000      /* the fresh node starts this long into an attack, at most */
#define ATTACKER_GRACE_MS 3000  /* past its deadline, an attacker is SIGKILLed */

struct attack {
	struct meshsim *s;
	const struct meshsim_env *e;
	struct meshsim_check *check;
	int victim;
	long victim_nofile;
	struct meshsim_attack_row *rows;
	size_t nrows;
	struct meshsim_attack_row *cur;  /* exits are counted for it while set */
	char (*ids)[MESHSIM_HEX_LEN + 1];  /* every fresh node's ID, for the hook */
	size_t nids;
	struct meshsim_fresh p;     /* the fresh node of the attack in progress */
	long long last_ticks;
	int64_t last_sample_us;
	double cpu_sum;
};

static struct attack g;         /* one run per process; meshsim_attack_result reads it */

/* ---------- the victim's figures ---------- */

static long count_fds(pid_t pid)
{
	char path[64];
	long n = 0;
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* utime + stime of pid in clock ticks, or -1 */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = 0;
	/* the name in parentheses may hold blanks: fields are counted from its end */
	char *p = strrchr(buf, ')');
	long long ut = -1, st = -1;
	if (!p)
		return -1;
	char *save = NULL;
	int field = 3;
	for (char *t = strtok_r(p + 1, " ", &save); t; t = strtok_r(NULL, " ", &save), field++) {
		if (field == 14)
			ut = atoll(t);
		else if (field == 15) {
			st = atoll(t);
			break;
		}
	}
	return ut < 0 || st < 0 ? -1 : ut + st;
}

/* The soft "Max open files" of pid from /proc/PID/limits, or -1. */
static long nofile_of(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	snprintf(path, sizeof path, "/proc/%ld/limits", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Max open files", 14) == 0) {
			v = strtol(line + 14, NULL, 10);
			break;
		}
	fclose(f);
	return v > 0 ? v : -1;
}

static pid_t victim_pid(const struct attack *a)
{
	const struct meshsim_node *v = &a->e->nodes[a->victim];
	return v->running && v->pid > 0 && !v->reaped ? v->pid : 0;
}

static void sample(struct attack *a, struct meshsim_attack_row *row, int64_t now)
{
	pid_t pid = victim_pid(a);
	if (!pid)
		return;
	long fds = count_fds(pid), rss = meshsim_vmrss_kb(pid);
	long long ticks = cpu_ticks(pid);
	if (fds > row->peak_fds)
		row->peak_fds = fds;
	if (rss > row->peak_rss_kb)
		row->peak_rss_kb = rss;
	if (ticks >= 0 && a->last_ticks >= 0 && now > a->last_sample_us) {
		double pct = (double)(ticks - a->last_ticks) / (double)sysconf(_SC_CLK_TCK) /
		             ((double)(now - a->last_sample_us) / 1e6) * 100.0;
		if (pct > row->cpu_peak_pct)
			row->cpu_peak_pct = pct;
		a->cpu_sum += pct;
		row->samples++;
	}
	a->last_ticks = ticks;
	a->last_sample_us = now;
}

/* ---------- the fresh node ---------- */

static bool ours(const struct attack *a, const char *hex)
{
	for (size_t i = 0; i < a->nids; i++)
		if (strcmp(a->ids[i], hex) == 0)
			return true;
	return false;
}

/* Registers an ID of ours with the hook; -1 if out of memory. */
static int add_id(struct attack *a, const char hex[MESHSIM_HEX_LEN + 1])
{
	void *ni = realloc(a->ids, (a->nids + 1) * sizeof *a->ids);
	if (!ni)
		return -1;
	a->ids = ni;
	memcpy(a->ids[a->nids++], hex, MESHSIM_HEX_LEN + 1);
	return 0;
}

/* Events about our identities: the victim's view of the fresh node is measured, the rest
 * (other nodes linking with it) only kept from the core. Exits between meshsim's nodes are
 * counted for the attack in effect, and left to the core. */
static bool hook(void *arg, struct meshsim_node *nd, int peer, const struct meshsim_ev *ev)
{
	struct attack *a = arg;
	if (ev->type == MESHSIM_EV_EXIT && peer >= 0) {
		if (a->cur && a->cur->exits++ == 0)
			snprintf(a->cur->exit_example, sizeof a->cur->exit_example, "%s lost %s (%s)",
			         nd->name, a->e->nodes[peer].name, ev->reason ? ev->reason : "?");
		return false;
	}
	if (peer >= 0 || !ev->peer || ev->type == MESHSIM_EV_READY || !ours(a, ev->peer))
		return false;
	struct meshsim_fresh *p = &a->p;
	if (nd->idx == a->victim && p->pid > 0 && strcmp(ev->peer, p->hex) == 0) {
		if (ev->type == MESHSIM_EV_ENTER && !p->victim_saw_us)
			p->victim_saw_us = ev->t_us;
		if (ev->type == MESHSIM_EV_WHISPER && !p->whisper_us && ev->data &&
		    ev->len == strlen(p->name) && memcmp(ev->data, p->name, ev->len) == 0)
			p->whisper_us = ev->t_us;
	}
	return true;
}

/* ---------- one attack ---------- */

static void holders_free(struct meshsim_attack_target *t)
{
	struct keys_identity **h = (struct keys_identity **)t->holders;
	for (int k = 0; h && k < t->nholders; k++)
		keys_identity_destroy(&h[k]);
	free(h);
	t->holders = NULL;
	t->nholders = 0;
}

/* partial-hold's identities, made here so that the hook knows them before any event. */
static int holders_make(struct attack *a, struct meshsim_attack_target *t, char *err,
                        size_t errcap)
{
	int n = a->e->o->attack_peers;
	struct keys_identity **h = calloc((size_t)n, sizeof *h);
	if (!h) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	t->holders = h;
	t->nholders = n;
	for (int k = 0; k < n; k++) {
		char hex[KEYS_HEXID_LEN];
		if (!(h[k] = keys_identity_generate())) {
			snprintf(err, errcap, "out of memory for identities");
			holders_free(t);
			return -1;
		}
		keys_id_hex(h[k]->id, hex);
		if (add_id(a, hex) != 0) {
			snprintf(err, errcap, "out of memory");
			holders_free(t);
			return -1;
		}
	}
	return 0;
}

static pid_t attacker_start(struct attack *a, enum meshsim_attacker kind, int rfd[1],
                            char *err, size_t errcap)
{
	const struct meshsim_node *v = &a->e->nodes[a->victim];
	struct meshsim_attack_target t;
	char ip[32];
	unsigned port;
	int pfd[2];
	memset(&t, 0, sizeof t);
	if (sscanf(v->endpoint, "tcp://%31[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535 ||
	    inet_pton(AF_INET, ip, &t.addr) != 1 || (ntohl(t.addr.s_addr) >> 24) != 127) {
		snprintf(err, errcap, "the victim's endpoint '%s' is not a loopback TCP address",
		         v->endpoint);
		return -1;
	}
	t.port = (uint16_t)port;
	t.mcast_port = a->e->mcast_port;
	t.secs = a->e->o->attack_secs;
	t.conns = a->e->o->attack_conns;
	t.seed = meshsim_rng_below(a->s, UINT64_MAX);
	if (keys_id_from_hex(v->hex, t.victim_id) != 0) {
		snprintf(err, errcap, "the victim's ID is not valid hex");
		return -1;
	}
	if (kind == MESHSIM_ATK_PARTIAL_HOLD && holders_make(a, &t, err, errcap) != 0)
		return -1;
	struct meshsim_attack_node *nodes = calloc((size_t)a->e->n, sizeof *nodes);
	if (!nodes || pipe(pfd) != 0) {
		snprintf(err, errcap, nodes ? "pipe: %s" : "out of memory", strerror(errno));
		free(nodes);
		holders_free(&t);
		return -1;
	}
	for (int i = 0; i < a->e->n; i++) {
		const struct meshsim_node *nd = &a->e->nodes[i];
		unsigned np;
		if (sscanf(nd->endpoint, "tcp://%*[0-9.]:%u", &np) == 1 && np > 0 && np <= 65535 &&
		    keys_id_from_hex(nd->hex, nodes[t.nnodes].id) == 0)
			nodes[t.nnodes++].port = (uint16_t)np;
	}
	t.nodes = nodes;
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		char desc[480];
		meshsim_child_setup(parent, true);
		close(pfd[0]);
		int rc = meshsim_attacker_run(kind, &t, desc, sizeof desc);
		(void)write(pfd[1], desc, strlen(desc));
		_exit(rc == 0 ? 0 : rc == MESHSIM_ATK_BREACH ? MESHSIM_ATK_BREACH : 1);
	}
	close(pfd[1]);
	free(nodes);
	holders_free(&t);           /* the child has its copy; ours are wiped */
	if (pid < 0) {
		close(pfd[0]);
		snprintf(err, errcap, "fork: %s", strerror(errno));
		return -1;
	}
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	rfd[0] = pfd[0];
	return pid;
}

static void collect(int fd, struct meshsim_attack_row *row)
{
	size_t len = strlen(row->what);
	ssize_t r;
	while (len + 1 < sizeof row->what &&
	       ((r = read(fd, row->what + len, sizeof row->what - 1 - len)) > 0 ||
	        (r < 0 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	row->what[len] = 0;
}

/* The attacker process is gone: its fault ends, and what it changed in the namespace is
 * undone should it have been killed before it could. */
static void attacker_ended(struct attack *a, enum meshsim_attacker kind, int fault,
                           int64_t now)
{
	meshsim_check_fault_end(a->check, fault, now);
	meshsim_mark(a->s, "%s end", meshsim_attacker_name(kind));
	if (kind == MESHSIM_ATK_MITM)
		meshsim_mitm_cleanup();
}

static void run_attack(struct attack *a, enum meshsim_attacker kind, int k)
{
	struct meshsim *s = a->s;
	const struct meshsim_opts *o = a->e->o;
	struct meshsim_attack_row *row = &a->rows[a->nrows++];
	struct meshsim_fresh *p = &a->p;
	char err[600];
	int rfd = -1, st = 0;
	bool attacker_done = false, probe_done = false;
	int64_t bound = (int64_t)o->attack_link_ms * 1000;
	int64_t lead = (int64_t)(o->attack_secs * 1e6) / 4;
	if (lead > PROBE_LEAD_MS * 1000)
		lead = PROBE_LEAD_MS * 1000;

	bool baseline = kind == MESHSIM_ATK_COUNT, on_path = kind == MESHSIM_ATK_MITM;
	snprintf(row->name, sizeof row->name, "%s", baseline ? "baseline" :
	         meshsim_attacker_name(kind));
	row->link_ms = row->whisper_ms = -1;
	row->victim_alive = true;
	pid_t vpid = victim_pid(a);
	row->base_fds = row->peak_fds = vpid ? count_fds(vpid) : -1;
	row->base_rss_kb = row->peak_rss_kb = vpid ? meshsim_vmrss_kb(vpid) : -1;
	a->last_ticks = vpid ? cpu_ticks(vpid) : -1;
	a->cpu_sum = 0;

	int64_t t0 = meshsim_now_us();
	a->last_sample_us = t0;
	int fault = -1;
	pid_t apid = 0;
	if (baseline) {
		/* no attacker: the fresh node's link time on a quiet mesh, to compare with */
		attacker_done = true;
		snprintf(row->what, sizeof row->what, "no attack: a fresh node links with the victim");
	} else {
		fault = meshsim_check_fault(a->check, MESHSIM_KIND_CONN_FLOOD + (int)kind, t0);
		apid = attacker_start(a, kind, &rfd, err, sizeof err);
	}
	if (apid < 0) {
		meshsim_violation(s, "attack %s: cannot start the attacker: %s", row->name, err);
		snprintf(row->what, sizeof row->what, "%.400s", err);
		meshsim_check_fault_end(a->check, fault, t0);
		return;
	}
	a->cur = row;
	row->start_ms = meshsim_ms_of(s, t0);
	if (!baseline)
		meshsim_mark(s, "%s", row->name);
	int64_t end = t0 + (int64_t)(o->attack_secs * 1e6), probe_at = t0 + lead;
	int64_t next_sample = t0 + SAMPLE_MS * 1000;
	bool probe_started = false;
	while (!meshsim_interrupted(s) && (!attacker_done || !probe_done)) {
		int64_t now = meshsim_now_us(), wake = now + SLICE_MS * 1000;
		(void)meshsim_run_until(s, NULL, wake);
		now = meshsim_now_us();
		if (now >= next_sample) {
			if (!attacker_done || (baseline && !probe_done))
				sample(a, row, now);
			next_sample += SAMPLE_MS * 1000;
		}
		if (!victim_pid(a))
			row->victim_alive = false;
		/* the attacker ends itself at its deadline; past a grace it is killed */
		if (!attacker_done) {
			pid_t r = waitpid(apid, &st, WNOHANG);
			if (r == apid) {
				attacker_done = true;
				row->secs = (double)(now - t0) / 1e6;
			} else if (now > end + ATTACKER_GRACE_MS * 1000) {
				kill(apid, SIGKILL);
				while (waitpid(apid, &st, 0) < 0 && errno == EINTR)
					;
				attacker_done = true;
				row->secs = (double)(now - t0) / 1e6;
			}
			if (attacker_done)
				attacker_ended(a, kind, fault, now);
		}
		/* the fresh node: start it, see it link, have it whisper, send it away */
		if (!probe_started && now >= probe_at) {
			probe_started = true;
			if (meshsim_fresh_start(p, a->e, k, err, sizeof err) != 0) {
				meshsim_violation(s, "attack %s: cannot start a fresh node: %s", row->name, err);
				probe_done = true;
			} else if (add_id(a, p->hex) != 0) {
				meshsim_violation(s, "attack %s: out of memory", row->name);
				probe_done = true;
			}
		}
		if (probe_started && !probe_done) {
			meshsim_fresh_read(p, a->e->nodes[a->victim].hex);
			if (meshsim_fresh_linked(p) && row->link_ms < 0) {
				int64_t l = p->saw_victim_us > p->victim_saw_us ? p->saw_victim_us :
				            p->victim_saw_us;
				row->link_ms = (double)(l - p->start_us) / 1000.0;
			}
			if (meshsim_fresh_linked(p) && !p->whisper_sent) {
				char cmd[160];
				snprintf(cmd, sizeof cmd, "/msg %s %s\n", a->e->nodes[a->victim].hex, p->name);
				meshsim_fresh_say(p, cmd);
				p->whisper_sent = true;
			}
			if (p->whisper_us && row->whisper_ms < 0) {
				int64_t l = p->saw_victim_us > p->victim_saw_us ? p->saw_victim_us :
				            p->victim_saw_us;
				row->whisper_ms = (double)(p->whisper_us - l) / 1000.0;
			}
			/* done: whispered, or the bound (for the link, then for the whisper) passed twice
			 * over since the attack ended: a link that comes only after the attacker left is
			 * reported with its time, since damage that outlasts the attacker is worse */
			int64_t give_up = end + 2 * bound;
			if (!p->quit_us && (p->whisper_us || now >= give_up || !row->victim_alive)) {
				meshsim_fresh_say(p, "/quit\n");
				p->quit_us = now;
			}
			if (p->quit_us && (meshsim_fresh_reap(p) ||
			                   now >= p->quit_us + MESHSIM_FRESH_QUIT_MS * 1000)) {
				meshsim_fresh_close(p);
				probe_done = true;
			}
		}
	}
	if (!attacker_done) {                /* interrupted */
		kill(apid, SIGKILL);
		while (waitpid(apid, &st, 0) < 0 && errno == EINTR)
			;
		attacker_ended(a, kind, fault, meshsim_now_us());
	}
	if (probe_started)
		meshsim_fresh_close(p);
	if (baseline) {
		row->secs = (double)(meshsim_now_us() - t0) / 1e6;
		row->attacker_ok = true;
	} else {
		collect(rfd, row);
		close(rfd);
		row->attacker_ok = attacker_done && WIFEXITED(st) && WEXITSTATUS(st) == 0;
		row->breach = attacker_done && WIFEXITED(st) && WEXITSTATUS(st) == MESHSIM_ATK_BREACH;
		if (!row->attacker_ok && !row->what[0])
			snprintf(row->what, sizeof row->what, "its process ended with %s %d",
			         WIFSIGNALED(st) ? "signal" : "status",
			         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	if (row->samples)
		row->cpu_mean_pct = a->cpu_sum / (double)row->samples;
	if (meshsim_interrupted(s))
		return;
	if (row->breach)
		meshsim_violation(s, "attack %s: the protocol gave way: %s", row->name, row->what);
	else if (!row->attacker_ok)
		meshsim_violation(s, "attack %s: the attacker failed: %s", row->name, row->what);
	if (!row->victim_alive)
		meshsim_violation(s, "attack %s: the victim %s died", row->name,
		                  a->e->nodes[a->victim].name);
	/* an attacker on the path can delay or drop whatever it carries, the fresh node's
	 * handshakes included: its times are reported, not bounded */
	if (on_path)
		return;
	if (row->link_ms < 0 || row->link_ms > (double)o->attack_link_ms) {
		if (row->link_ms < 0)
			meshsim_violation(s, "attack %s: a fresh node started during it never linked with "
			                  "the victim %s", row->name, a->e->nodes[a->victim].name);
		else
			meshsim_violation(s, "attack %s: a fresh node took %.0f ms to link with the victim "
			                  "%s (bound %u ms)", row->name, row->link_ms,
			                  a->e->nodes[a->victim].name, o->attack_link_ms);
	} else if (row->whisper_ms < 0 || row->whisper_ms > (double)o->attack_link_ms) {
		meshsim_violation(s, "attack %s: the victim %s did not print the fresh node's whisper "
		                  "within %u ms of their link", row->name, a->e->nodes[a->victim].name,
		                  o->attack_link_ms);
	}
}

/* ---------- the scenario ---------- */

void meshsim_scenario_attack(struct meshsim *s)
{
	struct attack *a = &g;
	const struct meshsim_opts *o;
	memset(a, 0, sizeof *a);
	a->victim = -1;
	a->victim_nofile = -1;
	a->s = s;
	a->e = meshsim_env(s);
	o = a->e->o;
	a->check = meshsim_checker(s);
	a->p.pid = -1;
	a->p.in_fd = a->p.out_fd = -1;
	a->rows = calloc(MESHSIM_ATK_COUNT + 1, sizeof *a->rows);
	if (!a->rows) {
		meshsim_violation(s, "attack: out of memory");
		return;
	}
	meshsim_set_hook(s, hook, a);
	if (!meshsim_converge(s))
		return;
	a->victim = meshsim_pick_node(s, -1);
	if (a->victim < 0 || !a->e->nodes[a->victim].endpoint[0]) {
		meshsim_violation(s, "attack: no victim (no node up, or its ready line named no "
		                  "endpoint)");
		return;
	}
	a->victim_nofile = victim_pid(a) ? nofile_of(victim_pid(a)) : -1;
	meshsim_start_sending(s);
	/* first the baseline: a fresh node on the quiet mesh (its messages are the control) */
	int order[MESHSIM_ATK_COUNT + 1];
	order[0] = MESHSIM_ATK_COUNT;
	for (int i = 0; i < MESHSIM_ATK_COUNT; i++)
		order[i + 1] = i;
	for (int i = 0; i <= MESHSIM_ATK_COUNT && !meshsim_interrupted(s); i++) {
		int k = order[i];
		if (k < MESHSIM_ATK_COUNT && o->attacks && !(o->attacks & (1u << k)))
			continue;
		if (k < MESHSIM_ATK_COUNT && !o->quiet)
			fprintf(stderr, "meshsim: attack %s on %s for %.1f s\n",
			        meshsim_attacker_name((enum meshsim_attacker)k),
			        a->e->nodes[a->victim].name, o->attack_secs);
		run_attack(a, (enum meshsim_attacker)k, k);
		if (!a->rows[a->nrows - 1].victim_alive)
			break;                   /* nothing left to attack */
		/* the next attack starts on a whole mesh; exits meanwhile are this attack's */
		int64_t calm = meshsim_now_us() + 2 * (int64_t)a->e->heartbeat_ms * 1000;
		(void)meshsim_run_until(s, NULL, calm);
		if (!meshsim_run_until(s, meshsim_mesh_whole,
		                       meshsim_now_us() + (int64_t)(o->deadline_s * 1e6)) &&
		    !meshsim_interrupted(s)) {
			char miss[400];
			meshsim_describe_missing(s, miss, sizeof miss);
			meshsim_violation(s, "attack %s: the mesh was not whole again %.1f s after it%s",
			                  a->rows[a->nrows - 1].name, o->deadline_s, miss);
			break;
		}
		a->cur = NULL;
	}
	a->cur = NULL;
	meshsim_finish_sending(s);
	(void)meshsim_wait_answers(s, "attack");
}

void meshsim_attack_result(struct meshsim *s, struct meshsim_result *res)
{
	struct attack *a = &g;
	(void)s;
	res->has_attack = true;
	res->attack_link_bound_ms = a->e ? a->e->o->attack_link_ms : 0;
	res->attack_victim_nofile = a->victim_nofile;
	if (a->e && a->victim >= 0 && a->victim < a->e->n)
		snprintf(res->attack_victim, sizeof res->attack_victim, "%s",
		         a->e->nodes[a->victim].name);
	for (size_t i = 0; i < a->nrows; i++) {
		struct meshsim_attack_row *r = &a->rows[i];
		int atk = meshsim_attacker_parse(r->name);
		int kind = atk < 0 ? MESHSIM_KIND_NONE : MESHSIM_KIND_CONN_FLOOD + atk;
		r->account = res->account.kind[kind];
		if (r->account.lost)
			meshsim_violation(s, "attack %s: %ld message(s) sent during it were lost",
			                  r->name, r->account.lost);
	}
	res->attacks = a->rows;
	res->nattacks = a->nrows;
	free(a->ids);
	a->ids = NULL;
}
