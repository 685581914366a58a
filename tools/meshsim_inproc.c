/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_inproc: nodes as struct meshnode objects in this process, through the public API of
 * node/meshnode.h (meshnode_new/start/join/shout/whisper/next_event), the same one any
 * embedding application uses. Each node has its own loop thread and ZeroMQ context; this file
 * only polls their event fds from meshsim's thread.
 *
 * What it cannot do, by construction: SIGKILL one node (they share a process), or put nodes in
 * different network namespaces (namespaces belong to threads the node creates itself). meshsim
 * refuses churn, partition and --hosts with --inproc for that reason.
 *
 * CPU and memory cannot be told apart per node either: stop_all() records the process totals,
 * which the core divides by n and labels as such.
 */
#include "meshsim.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "meshnode.h"

#define EVENTS_PER_TURN 512     /* per node, so one busy node cannot starve the others */
#define STOP_THREADS 16         /* meshnode_stop() lingers up to 500 ms for its BYEs */
#define LOG_TAIL_LINES 25

static FILE *g_log;
static char g_log_path[600];
static struct pollfd *g_pfd;
static struct meshsim_node **g_pnode;
static size_t g_pcap;

static void log_line(void *arg, int level, const char *line)
{
	const struct meshsim_node *nd = arg;
	static const char *names[] = { "error", "warn", "info", "debug" };
	if (g_log)   /* one fprintf per line: stdio locks the stream, so lines never interleave */
		fprintf(g_log, "%s %s: %s\n", nd->name, level >= 0 && level <= 3 ? names[level] : "log",
		        line);
}

static int level_of(const char *s)
{
	if (strcmp(s, "error") == 0)
		return MESHNODE_LOG_ERROR;
	if (strcmp(s, "warn") == 0)
		return MESHNODE_LOG_WARN;
	if (strcmp(s, "debug") == 0)
		return MESHNODE_LOG_DEBUG;
	return MESHNODE_LOG_INFO;
}

static int inproc_start(struct meshsim *s, struct meshsim_node *nd, char *err, size_t errcap)
{
	const struct meshsim_env *e = meshsim_env(s);
	struct meshnode_config cfg;
	char idpath[600], why[256];
	struct meshsim_ev ev;
	enum mesh_err rc;
	if (!g_log) {
		snprintf(g_log_path, sizeof g_log_path, "%s/inproc.log", e->tmpdir);
		g_log = fopen(g_log_path, "a");
		if (!g_log) {
			snprintf(err, errcap, "%s: %s", g_log_path, strerror(errno));
			return -1;
		}
		setvbuf(g_log, NULL, _IOLBF, 0);
	}
	snprintf(idpath, sizeof idpath, "%s/%s.id", e->tmpdir, nd->name);
	meshnode_config_init(&cfg);
	cfg.name = nd->name;
	cfg.iface = "lo";        /* never anything else: see meshsim_net.h */
	cfg.identity_path = idpath;
	cfg.mcast_port = e->mcast_port;
	cfg.beacon_interval_ms = e->beacon_ms;
	cfg.heartbeat_ms = e->heartbeat_ms;
	cfg.evasive_ms = e->evasive_ms;
	cfg.expired_ms = e->expired_ms;
	cfg.rekey_ms = e->rekey_ms;
	cfg.log_level = level_of(e->o->log_level);
	cfg.log_fn = log_line;
	cfg.log_arg = nd;
	nd->mn = meshnode_new(&cfg, why, sizeof why);
	if (!nd->mn) {
		snprintf(err, errcap, "meshnode_new: %s", why);
		return -1;
	}
	rc = meshnode_start(nd->mn, why, sizeof why);
	if (rc != MESH_OK) {
		snprintf(err, errcap, "meshnode_start: %s (%s)", why, meshnode_strerror(rc));
		meshnode_destroy(&nd->mn);
		return -1;
	}
	if (e->join_group && (rc = meshnode_join(nd->mn, MESHSIM_GROUP)) != MESH_OK) {
		snprintf(err, errcap, "meshnode_join: %s", meshnode_strerror(rc));
		meshnode_destroy(&nd->mn);
		return -1;
	}
	/* what the program prints as "ready" once it has started */
	memset(&ev, 0, sizeof ev);
	ev.type = MESHSIM_EV_READY;
	ev.t_us = meshsim_now_us();
	ev.text = meshnode_id_hex(nd->mn);
	ev.msg = -1;
	meshsim_event(s, nd, &ev);
	return 0;
}

static int inproc_send(struct meshsim *s, struct meshsim_node *nd, long msg)
{
	const struct meshsim_env *e = meshsim_env(s);
	size_t len;
	const char *payload = meshsim_msg_payload(s, msg, &len);
	int target = meshsim_msg_target(s, msg);
	uint64_t id = 0;
	enum mesh_err rc;
	struct meshsim_ev ev;
	if (!nd->mn)
		return -1;
	if (target < 0)
		rc = meshnode_shout(nd->mn, MESHSIM_GROUP, payload, len, &id);
	else if (e->nodes[target].mn)
		rc = meshnode_whisper(nd->mn, meshnode_id(e->nodes[target].mn), payload, len, &id);
	else
		rc = MESH_ESTATE;
	int64_t t = meshsim_now_us();
	memset(&ev, 0, sizeof ev);
	ev.t_us = t;
	ev.msg = msg;
	if (rc != MESH_OK) {
		ev.type = MESHSIM_EV_ERROR;
		ev.text = meshnode_strerror(rc);
	} else {
		meshsim_msg_sent(s, msg, t);
		ev.type = MESHSIM_EV_SENT;
		ev.id = id;
		ev.has_id = true;
	}
	meshsim_event(s, nd, &ev);
	return 0;
}

static enum meshsim_ev_type ev_type(enum meshnode_event_type t)
{
	switch (t) {
	case MESHNODE_EV_ENTER: return MESHSIM_EV_ENTER;
	case MESHNODE_EV_EXIT: return MESHSIM_EV_EXIT;
	case MESHNODE_EV_EVASIVE: return MESHSIM_EV_EVASIVE;
	case MESHNODE_EV_JOIN: return MESHSIM_EV_JOIN;
	case MESHNODE_EV_LEAVE: return MESHSIM_EV_LEAVE;
	case MESHNODE_EV_SHOUT: return MESHSIM_EV_SHOUT;
	case MESHNODE_EV_WHISPER: return MESHSIM_EV_WHISPER;
	case MESHNODE_EV_DROPPED: return MESHSIM_EV_DROPPED;
	case MESHNODE_EV_ERROR: return MESHSIM_EV_ERROR;
	case MESHNODE_EV_DELIVERED: return MESHSIM_EV_DELIVERED;
	case MESHNODE_EV_ALARM: return MESHSIM_EV_OTHER;
	case MESHNODE_EV_BACK: return MESHSIM_EV_OTHER;
	}
	return MESHSIM_EV_OTHER;
}

static void drain(struct meshsim *s, struct meshsim_node *nd)
{
	for (int k = 0; k < EVENTS_PER_TURN && nd->mn; k++) {
		struct meshnode_event *me = meshnode_next_event(nd->mn, 0);
		struct meshsim_ev ev;
		if (!me)
			return;
		memset(&ev, 0, sizeof ev);
		ev.type = ev_type(me->type);
		ev.t_us = meshsim_now_us();
		ev.msg = -1;
		ev.peer = me->peer_hex;
		ev.group = me->group[0] ? me->group : NULL;
		ev.reason = me->reason;
		ev.maybe = me->type == MESHNODE_EV_DROPPED && me->maybe_delivered;
		if (me->type == MESHNODE_EV_SHOUT || me->type == MESHNODE_EV_WHISPER ||
		    me->type == MESHNODE_EV_DROPPED || me->type == MESHNODE_EV_DELIVERED) {
			ev.id = me->msg_id;
			ev.has_id = true;
		}
		ev.data = (const char *)me->data;
		ev.len = me->len;
		if (me->type == MESHNODE_EV_ERROR) {
			ev.text = me->reason;
			ev.peer = NULL;
		}
		meshsim_event(s, nd, &ev);
		meshnode_event_destroy(&me);
	}
}

static void inproc_poll(struct meshsim *s, int timeout_ms)
{
	const struct meshsim_env *e = meshsim_env(s);
	size_t np = 0;
	if (g_pcap < (size_t)e->n) {
		struct pollfd *nf = realloc(g_pfd, (size_t)e->n * sizeof *nf);
		if (nf)
			g_pfd = nf;
		struct meshsim_node **nn = realloc(g_pnode, (size_t)e->n * sizeof *nn);
		if (nn)
			g_pnode = nn;
		if (!nf || !nn) {
			meshsim_violation(s, "out of memory");
			return;
		}
		g_pcap = (size_t)e->n;
	}
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (!nd->mn)
			continue;
		g_pfd[np] = (struct pollfd){ meshnode_event_fd(nd->mn), POLLIN, 0 };
		g_pnode[np++] = nd;
	}
	int r = poll(g_pfd, (nfds_t)np, timeout_ms);
	if (r < 0 && errno != EINTR)
		meshsim_violation(s, "poll: %s", strerror(errno));
	for (size_t i = 0; r > 0 && i < np; i++)
		if (g_pfd[i].revents)
			drain(s, g_pnode[i]);
}

static void inproc_kill(struct meshsim *s, struct meshsim_node *nd)
{
	(void)nd;
	meshsim_violation(s, "in-process nodes cannot be killed (internal error)");
}

struct stopper {
	const struct meshsim_env *e;
	int first, step;
};

/* Each node is stopped by exactly one of these threads, and meshsim's own thread touches no
 * node until all have been joined: one application thread per node at a time, as
 * meshnode.h requires. */
static void *stop_some(void *arg)
{
	const struct stopper *st = arg;
	for (int i = st->first; i < st->e->n; i += st->step)
		if (st->e->nodes[i].mn)
			meshnode_stop(st->e->nodes[i].mn);
	return NULL;
}

static void inproc_stop_all(struct meshsim *s, int64_t deadline_us)
{
	const struct meshsim_env *e = meshsim_env(s);
	struct rusage ru;
	pthread_t th[STOP_THREADS];
	struct stopper st[STOP_THREADS];
	bool started[STOP_THREADS] = { false };
	(void)deadline_us;   /* meshnode_stop() is bounded by the BYE linger */
	for (int i = 0; i < e->n; i++)
		e->nodes[i].stopping = true;
	/* One at a time, n nodes would take n times the linger: stop them side by side. */
	for (int k = 0; k < STOP_THREADS; k++) {
		st[k] = (struct stopper){ e, k, STOP_THREADS };
		started[k] = pthread_create(&th[k], NULL, stop_some, &st[k]) == 0;
	}
	for (int k = 0; k < STOP_THREADS; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		else
			stop_some(&st[k]);
	}
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (nd->mn) {
			meshnode_destroy(&nd->mn);
			meshsim_node_gone(s, nd, 0);
		}
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		meshsim_process_usage(s, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		                      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
		                      ru.ru_maxrss);
	free(g_pfd);
	free(g_pnode);
	g_pfd = NULL;
	g_pnode = NULL;
	g_pcap = 0;
	if (g_log) {
		fclose(g_log);
		g_log = NULL;
	}
}

static void inproc_show_log(struct meshsim *s, struct meshsim_node *nd)
{
	FILE *f = fopen(g_log_path, "r");
	char *ring[LOG_TAIL_LINES] = { 0 };
	char buf[512], prefix[24];
	size_t count = 0, plen;
	(void)s;
	if (!f)
		return;
	plen = (size_t)snprintf(prefix, sizeof prefix, "%s ", nd->name);
	while (fgets(buf, sizeof buf, f)) {
		if (strncmp(buf, prefix, plen) != 0)
			continue;
		size_t slot = count % LOG_TAIL_LINES;
		free(ring[slot]);
		ring[slot] = strdup(buf);
		count++;
	}
	fclose(f);
	fprintf(stderr, "meshsim: --- last log lines of %s (%s) ---\n", nd->name, g_log_path);
	for (size_t i = count > LOG_TAIL_LINES ? count - LOG_TAIL_LINES : 0; i < count; i++) {
		const char *l = ring[i % LOG_TAIL_LINES];
		fprintf(stderr, "  | %s%s", l ? l : "", l && strchr(l, '\n') ? "" : "\n");
	}
	for (size_t i = 0; i < LOG_TAIL_LINES; i++)
		free(ring[i]);
}

/* The nodes share the process: the core divides this total by n, as for the peak RSS. */
static long inproc_rss_kb(struct meshsim *s, struct meshsim_node *nd)
{
	(void)s;
	return nd->mn ? meshsim_vmrss_kb(0) : -1;
}

/* The whole process: the nodes' threads and meshsim's own. */
static double inproc_cpu_now(struct meshsim *s)
{
	struct timespec ts;
	(void)s;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const struct meshsim_backend meshsim_inproc_backend = {
	.name = "in-process",
	.start = inproc_start,
	.send = inproc_send,
	.kill = inproc_kill,
	.poll = inproc_poll,
	.stop_all = inproc_stop_all,
	.show_log = inproc_show_log,
	.rss_kb = inproc_rss_kb,
	.cpu_now = inproc_cpu_now,
};
