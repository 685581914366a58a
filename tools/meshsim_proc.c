/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_proc: nodes as real `meshnode --json` processes, driven through pipes exactly as a
 * script would drive them (docs/usage.md): commands are written to stdin, the JSON lines on
 * stdout become struct meshsim_ev, stderr goes to a file per node.
 *
 * Invariants:
 * - Every pipe end meshsim keeps is non-blocking and close-on-exec, so a stuck node can never
 *   stall meshsim and no node inherits another node's pipes.
 * - Each child has PR_SET_PDEATHSIG = SIGKILL (kept across exec, also through
 *   `ip netns exec`), so no node outlives meshsim.
 * - A command's reply is matched to the command by order (meshnode answers every command
 *   exactly once, in order): cmdq holds, per node, the message index of each command still
 *   awaiting its reply (-1 for commands that carry none).
 * - A node is reported gone only when its stdout reached EOF and it was reaped, so every event
 *   it printed before dying is seen first.
 */
/* wait4() (per-child rusage) is a BSD/Linux interface that _POSIX_C_SOURCE hides. */
#define _GNU_SOURCE
#include "meshsim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

void meshsim_child_setup(pid_t parent, bool ignore_pipe)
{
	sigset_t none;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);           /* meshsim died between fork and prctl */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* meshsim runs at MESHSIM_NICE; a child competes at the normal priority, as nodes do */
	(void)setpriority(PRIO_PROCESS, 0, 0);
	signal(SIGPIPE, ignore_pipe ? SIG_IGN : SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

#define READ_CHUNK 65536u
#define READS_PER_TURN 16       /* per node and poll turn, so one chatty node cannot starve */
#define LOG_TAIL_LINES 25

static struct meshsim_json g_json;     /* one parser, reused for every line */
static struct pollfd *g_pfd;
static struct meshsim_node **g_pnode;
static size_t g_pcap;

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int cmdq_push(struct meshsim_node *nd, long msg)
{
	if (nd->qlen == nd->qcap) {
		size_t ncap = nd->qcap ? nd->qcap * 2 : 16;
		long *nq = malloc(ncap * sizeof *nq);
		if (!nq)
			return -1;
		for (size_t i = 0; i < nd->qlen; i++)
			nq[i] = nd->cmdq[(nd->qhead + i) % nd->qcap];
		free(nd->cmdq);
		nd->cmdq = nq;
		nd->qcap = ncap;
		nd->qhead = 0;
	}
	nd->cmdq[(nd->qhead + nd->qlen) % nd->qcap] = msg;
	nd->qlen++;
	return 0;
}

/* The oldest command without a reply: its message index, -1 for none, -2 if there is none. */
static long cmdq_pop(struct meshsim_node *nd)
{
	long v;
	if (nd->qlen == 0)
		return -2;
	v = nd->cmdq[nd->qhead];
	nd->qhead = (nd->qhead + 1) % nd->qcap;
	nd->qlen--;
	return v;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---------- starting ---------- */

#define ARGV_FIXED 48           /* every option but the fixed peers, with room to spare */
#define PEER_ARG_LEN 40         /* "10.77.S.HHH:PPPPP", "[fd77:0:S::HH]:PPPPP" and its NUL */

/* With subnets, nd's fixed peers: "IP:PORT" of every node on another subnet (multicast does
 * not cross the router, docs/meshsim.md "Subnets"), or with --fixed-peers one, for node 0
 * only, of the first node of each other subnet; written into buf (n slots). Their count. */
static int fixed_peers(const struct meshsim_env *e, const struct meshsim_node *nd,
                       char (*buf)[PEER_ARG_LEN])
{
	const struct meshsim_opts *o = e->o;
	int own = meshsim_net_subnet_of(o->hosts, o->subnets, nd->host), k = 0;
	bool seen[MESHSIM_NET_MAX_SUBNETS] = { false };
	if (!o->subnets || !e->net || o->fixed_peers == MESHSIM_PEERS_NONE)
		return 0;
	/* one: only node 0 (the first of subnet 0) names anyone */
	if (o->fixed_peers == MESHSIM_PEERS_ONE && nd->idx != 0)
		return 0;
	for (int j = 0; j < e->n; j++) {
		const struct meshsim_node *p = &e->nodes[j];
		int sub = meshsim_net_subnet_of(o->hosts, o->subnets, p->host);
		if (sub == own || (o->fixed_peers == MESHSIM_PEERS_ONE && seen[sub]))
			continue;
		seen[sub] = true;
		/* with IPv6, by it: every host has it, and some only it (--ipv6 mixed, only) */
		const char *a6 = meshsim_net_iface_addr6(e->net, p->host, 0);
		if (a6)
			snprintf(buf[k++], PEER_ARG_LEN, "[%s]:%d", a6, MESHSIM_NODE_PORT_BASE + p->idx);
		else
			snprintf(buf[k++], PEER_ARG_LEN, "%s:%d", meshsim_net_addr(e->net, p->host),
			         MESHSIM_NODE_PORT_BASE + p->idx);
	}
	return k;
}

static int proc_start(struct meshsim *s, struct meshsim_node *nd, char *err, size_t errcap)
{
	const struct meshsim_env *e = meshsim_env(s);
	char idpath[600], keylog[600], port[16], beacon[16], hb[16], ev[16], ex[16], ttl[16], tcp[16];
	char rk[16];
	/* the argv is built before fork: the child only execs it */
	const char **argv = malloc(((size_t)ARGV_FIXED + 2 * (size_t)e->n) * sizeof *argv);
	char (*peers)[PEER_ARG_LEN] = malloc((size_t)e->n * sizeof *peers);
	int a = 0, npeers, in[2] = { -1, -1 }, out[2] = { -1, -1 }, errfd = -1;
	pid_t parent = getpid(), pid;
	if (!argv || !peers) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	snprintf(idpath, sizeof idpath, "%s/%s.id", e->tmpdir, nd->name);
	snprintf(port, sizeof port, "%u", e->mcast_port);
	snprintf(beacon, sizeof beacon, "%u", e->beacon_ms);
	snprintf(hb, sizeof hb, "%u", e->heartbeat_ms);
	snprintf(ev, sizeof ev, "%u", e->evasive_ms);
	snprintf(ex, sizeof ex, "%u", e->expired_ms);
	if (e->net) {
		argv[a++] = "ip";
		argv[a++] = "netns";
		argv[a++] = "exec";
		argv[a++] = meshsim_net_ns(e->net, nd->host);
	}
	argv[a++] = e->meshnode;
	argv[a++] = "--json";
	if (!e->net) {
		argv[a++] = "--iface";
		argv[a++] = "lo";
	}
	/* One --iface per interface of the host (two on the bridging host). By address, as a
	 * person would name them, unless a readdr will move the address, or the interface has
	 * both families (--ipv6) or only IPv6: the name stays, and names both. */
	for (int k = 0; e->net && k < meshsim_net_ifaces(e->net, nd->host); k++) {
		bool by_name = e->o->readdrs > 0 || e->o->ipv6 != MESHSIM_IPV6_NONE;
		argv[a++] = "--iface";
		argv[a++] = by_name ? meshsim_net_iface_name(e->net, nd->host, k)
		                    : meshsim_net_iface_addr(e->net, nd->host, k);
	}
	argv[a++] = "--name";
	argv[a++] = nd->name;
	argv[a++] = "--identity";
	argv[a++] = idpath;
	argv[a++] = "--mcast-port";
	argv[a++] = port;
	argv[a++] = "--beacon-interval";
	argv[a++] = beacon;
	argv[a++] = "--heartbeat";
	argv[a++] = hb;
	argv[a++] = "--evasive";
	argv[a++] = ev;
	argv[a++] = "--expired";
	argv[a++] = ex;
	argv[a++] = "--log-level";
	argv[a++] = e->o->log_level;
	if (e->rekey_ms) {
		snprintf(rk, sizeof rk, "%u", e->rekey_ms);
		argv[a++] = "--rekey-interval";
		argv[a++] = rk;
	}
	if (e->join_group) {
		argv[a++] = "--group";
		argv[a++] = MESHSIM_GROUP;
	}
	if (e->o->keylog_path) {
		/* a restart appends to the same file, which main() copies into --keylog at the end */
		snprintf(keylog, sizeof keylog, "%s/%s.keylog", e->tmpdir, nd->name);
		argv[a++] = "--keylog";
		argv[a++] = keylog;
	}
	if (e->receipts) {
		snprintf(ttl, sizeof ttl, "%u", e->ttl_ms);
		argv[a++] = "--receipts";
		argv[a++] = "--ttl";
		argv[a++] = ttl;
	}
	if (e->o->subnets) {
		/* a fixed port, so that the nodes of other subnets can name this one */
		snprintf(tcp, sizeof tcp, "%d", MESHSIM_NODE_PORT_BASE + nd->idx);
		argv[a++] = "--port";
		argv[a++] = tcp;
	}
	npeers = fixed_peers(e, nd, peers);
	for (int k = 0; k < npeers; k++) {
		argv[a++] = "--peer";
		argv[a++] = peers[k];
	}
	argv[a] = NULL;

	snprintf(nd->stderr_path, sizeof nd->stderr_path, "%s/%s.stderr", e->tmpdir, nd->name);
	if (pipe(in) != 0 || pipe(out) != 0) {
		snprintf(err, errcap, "pipe: %s (open-file limit?)", strerror(errno));
		goto fail;
	}
	if (set_flags(in[1]) || set_flags(out[0]) || fcntl(in[0], F_SETFD, FD_CLOEXEC) ||
	    fcntl(out[1], F_SETFD, FD_CLOEXEC)) {
		snprintf(err, errcap, "fcntl: %s", strerror(errno));
		goto fail;
	}
	errfd = open(nd->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (errfd < 0) {
		snprintf(err, errcap, "%s: %s", nd->stderr_path, strerror(errno));
		goto fail;
	}
	dprintf(errfd, "=== meshsim: %s generation %d ===\n", nd->name, nd->gen);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errcap, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		meshsim_child_setup(parent, false);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "meshsim: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(errfd);
	nd->pid = pid;
	nd->in_fd = in[1];
	nd->out_fd = out[0];
	nd->reaped = nd->eof = false;
	nd->rlen = nd->wlen = nd->nstamps = 0;
	nd->qhead = nd->qlen = 0;
	free(argv);
	free(peers);
	return 0;
fail:
	free(argv);
	free(peers);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
	}
	close_fd(&errfd);
	return -1;
}

/* ---------- writing commands ---------- */

static void flush_out(struct meshsim *s, struct meshsim_node *nd)
{
	size_t done = 0;
	while (nd->in_fd >= 0 && done < nd->wlen) {
		ssize_t w = write(nd->in_fd, nd->wbuf + done, nd->wlen - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* EPIPE: the node is gone; its EOF and exit status tell the story */
			close_fd(&nd->in_fd);
			nd->wlen = nd->nstamps = 0;
			return;
		}
		done += (size_t)w;
	}
	if (done == 0)
		return;
	int64_t now = meshsim_now_us();
	size_t k = 0;
	while (k < nd->nstamps && nd->stamps[k].end <= done) {
		meshsim_msg_sent(s, nd->stamps[k].msg, now);
		k++;
	}
	/* stamps is NULL until the first message: memmove with NULL is undefined even for 0 */
	if (k > 0 && nd->nstamps > k)
		memmove(nd->stamps, nd->stamps + k, (nd->nstamps - k) * sizeof *nd->stamps);
	nd->nstamps -= k;
	for (size_t i = 0; i < nd->nstamps; i++)
		nd->stamps[i].end -= done;
	memmove(nd->wbuf, nd->wbuf + done, nd->wlen - done);
	nd->wlen -= done;
}

static int append(struct meshsim_node *nd, const char *p, size_t len)
{
	if (len > nd->wcap - nd->wlen) {
		size_t ncap = nd->wcap ? nd->wcap : 4096;
		while (ncap - nd->wlen < len)
			ncap *= 2;
		char *nb = realloc(nd->wbuf, ncap);
		if (!nb)
			return -1;
		nd->wbuf = nb;
		nd->wcap = ncap;
	}
	memcpy(nd->wbuf + nd->wlen, p, len);
	nd->wlen += len;
	return 0;
}

/* Queues one command line; msg >= 0 is stamped as sent once the whole line is written. */
static int command(struct meshsim *s, struct meshsim_node *nd, const char *head,
                   const char *body, size_t blen, long msg)
{
	if (nd->in_fd < 0)
		return -1;
	if (append(nd, head, strlen(head)) || (blen && append(nd, body, blen)) ||
	    append(nd, "\n", 1) || cmdq_push(nd, msg))
		return -1;
	if (msg >= 0) {
		if (nd->nstamps == nd->cstamps) {
			size_t ncap = nd->cstamps ? nd->cstamps * 2 : 16;
			struct meshsim_stamp *ns = realloc(nd->stamps, ncap * sizeof *ns);
			if (!ns)
				return -1;
			nd->stamps = ns;
			nd->cstamps = ncap;
		}
		nd->stamps[nd->nstamps++] = (struct meshsim_stamp){ nd->wlen, msg };
	}
	flush_out(s, nd);
	return 0;
}

static int proc_send(struct meshsim *s, struct meshsim_node *nd, long msg)
{
	const struct meshsim_env *e = meshsim_env(s);
	size_t len;
	const char *payload = meshsim_msg_payload(s, msg, &len);
	int target = meshsim_msg_target(s, msg);
	char head[160];
	if (target < 0)
		snprintf(head, sizeof head, "/shout %s ", MESHSIM_GROUP);
	else  /* the full hex ID: names are not unique in general, IDs are */
		snprintf(head, sizeof head, "/msg %s ", e->nodes[target].hex);
	return command(s, nd, head, payload, len, msg);
}

/* ---------- reading events ---------- */

static enum meshsim_ev_type ev_type(const char *name)
{
	static const struct { const char *name; enum meshsim_ev_type t; } map[] = {
		{ "ready", MESHSIM_EV_READY },     { "enter", MESHSIM_EV_ENTER },
		{ "exit", MESHSIM_EV_EXIT },       { "evasive", MESHSIM_EV_EVASIVE },
		{ "join", MESHSIM_EV_JOIN },       { "leave", MESHSIM_EV_LEAVE },
		{ "shout", MESHSIM_EV_SHOUT },     { "whisper", MESHSIM_EV_WHISPER },
		{ "dropped", MESHSIM_EV_DROPPED }, { "error", MESHSIM_EV_ERROR },
		{ "sent", MESHSIM_EV_SENT },       { "stopped", MESHSIM_EV_STOPPED },
		{ "delivered", MESHSIM_EV_DELIVERED },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].name, name) == 0)
			return map[i].t;
	return MESHSIM_EV_OTHER;
}

static void line(struct meshsim *s, struct meshsim_node *nd, const char *p, size_t len,
                 int64_t t)
{
	struct meshsim_ev ev;
	const char *name;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (meshsim_json_parse(&g_json, p, len) != 0 ||
	    !(name = meshsim_json_str(&g_json, "event", NULL))) {
		meshsim_violation(s, "%s printed a stdout line that is not a JSON event: '%.80s'",
		                  nd->name, p);
		nd->failed = true;
		return;
	}
	memset(&ev, 0, sizeof ev);
	ev.type = ev_type(name);
	ev.t_us = t;
	ev.msg = -1;
	ev.peer = meshsim_json_str(&g_json, "peer", NULL);
	ev.group = meshsim_json_str(&g_json, "group", NULL);
	ev.reason = meshsim_json_str(&g_json, "reason", NULL);
	ev.has_id = meshsim_json_uint(&g_json, "id", &ev.id);
	const struct meshsim_json_field *maybe = meshsim_json_get(&g_json, "maybe_delivered");
	ev.maybe = maybe && maybe->type == MESHSIM_JSON_BOOL && maybe->b;
	switch (ev.type) {
	case MESHSIM_EV_READY:
		ev.has_id = false;
		ev.text = meshsim_json_str(&g_json, "id", NULL);
		ev.endpoint = meshsim_json_str(&g_json, "endpoint", NULL);
		break;
	case MESHSIM_EV_SHOUT:
	case MESHSIM_EV_WHISPER:
		ev.data = meshsim_json_str(&g_json, "text", &ev.len);
		if (!ev.data) {
			ev.data = meshsim_json_str(&g_json, "data", &ev.len);
			ev.binary = true;
		}
		break;
	case MESHSIM_EV_ERROR:
		ev.text = meshsim_json_str(&g_json, "message", NULL);
		ev.msg = cmdq_pop(nd);
		if (ev.msg == -2)
			ev.msg = -1;   /* no command waiting: the node itself reports an error */
		break;
	case MESHSIM_EV_SENT:
		ev.msg = cmdq_pop(nd);
		if (ev.msg < 0) {
			meshsim_violation(s, "%s replied 'sent' with no message command waiting",
			                  nd->name);
			return;
		}
		break;
	case MESHSIM_EV_STOPPED:
		(void)cmdq_pop(nd);
		break;
	default:
		break;
	}
	meshsim_event(s, nd, &ev);
}

static void read_out(struct meshsim *s, struct meshsim_node *nd)
{
	for (int round = 0; round < READS_PER_TURN && nd->out_fd >= 0; round++) {
		if (nd->rcap - nd->rlen < READ_CHUNK) {
			size_t ncap = nd->rcap ? nd->rcap * 2 : 2 * READ_CHUNK;
			char *nb = realloc(nd->rbuf, ncap);
			if (!nb) {
				meshsim_violation(s, "out of memory reading %s", nd->name);
				return;
			}
			nd->rbuf = nb;
			nd->rcap = ncap;
		}
		ssize_t r = read(nd->out_fd, nd->rbuf + nd->rlen, nd->rcap - nd->rlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		int64_t t = meshsim_now_us();
		if (r <= 0) {
			if (nd->rlen > 0 && !nd->killed) {
				meshsim_violation(s, "%s: last stdout line has no newline: '%.60s'",
				                  nd->name, nd->rbuf);
				nd->failed = true;
			}
			nd->rlen = 0;
			close_fd(&nd->out_fd);
			nd->eof = true;
			return;
		}
		size_t old = nd->rlen, start = 0;
		nd->rlen += (size_t)r;
		for (size_t i = old; i < nd->rlen; i++) {
			if (nd->rbuf[i] != '\n')
				continue;
			line(s, nd, nd->rbuf + start, i - start, t);
			start = i + 1;
		}
		memmove(nd->rbuf, nd->rbuf + start, nd->rlen - start);
		nd->rlen -= start;
	}
}

static void try_reap(struct meshsim *s, struct meshsim_node *nd)
{
	if (nd->pid > 0 && !nd->reaped) {
		int st;
		struct rusage ru;
		pid_t r = wait4(nd->pid, &st, WNOHANG, &ru);
		if (r == nd->pid) {
			nd->reaped = true;
			nd->status = st;
			nd->cpu_s += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
			if (ru.ru_maxrss > nd->max_rss_kb)
				nd->max_rss_kb = ru.ru_maxrss;
		}
	}
	if (nd->pid > 0 && nd->reaped && nd->eof) {
		close_fd(&nd->in_fd);
		nd->wlen = nd->nstamps = 0;
		nd->pid = 0;
		meshsim_node_gone(s, nd, nd->status);
	}
}

static void proc_poll(struct meshsim *s, int timeout_ms)
{
	const struct meshsim_env *e = meshsim_env(s);
	size_t np = 0;
	bool reaping = false;
	if (g_pcap < (size_t)e->n * 2) {
		size_t ncap = (size_t)e->n * 2;
		struct pollfd *nf = realloc(g_pfd, ncap * sizeof *nf);
		if (nf)
			g_pfd = nf;
		struct meshsim_node **nn = realloc(g_pnode, ncap * sizeof *nn);
		if (nn)
			g_pnode = nn;
		if (!nf || !nn) {
			meshsim_violation(s, "out of memory");
			return;
		}
		g_pcap = ncap;
	}
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (nd->out_fd >= 0) {
			g_pfd[np] = (struct pollfd){ nd->out_fd, POLLIN, 0 };
			g_pnode[np++] = nd;
		}
		if (nd->in_fd >= 0 && nd->wlen > 0) {
			g_pfd[np] = (struct pollfd){ nd->in_fd, POLLOUT, 0 };
			g_pnode[np++] = nd;
		}
		if (nd->pid > 0 && nd->eof)
			reaping = true;   /* output done, exit status not yet in: look again soon */
	}
	if (reaping && (timeout_ms < 0 || timeout_ms > 5))
		timeout_ms = 5;
	int r = poll(g_pfd, (nfds_t)np, timeout_ms);
	if (r < 0 && errno != EINTR)
		meshsim_violation(s, "poll: %s", strerror(errno));
	for (size_t i = 0; r > 0 && i < np; i++) {
		struct meshsim_node *nd = g_pnode[i];
		short re = g_pfd[i].revents;
		if (!re)
			continue;
		if (g_pfd[i].events == POLLIN)
			read_out(s, nd);
		else if (re & (POLLERR | POLLHUP)) {
			close_fd(&nd->in_fd);
			nd->wlen = nd->nstamps = 0;
		} else
			flush_out(s, nd);
	}
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (nd->pid > 0 && (nd->eof || nd->killed))
			try_reap(s, nd);
	}
}

/* ---------- kill, stop, logs ---------- */

static void proc_kill(struct meshsim *s, struct meshsim_node *nd)
{
	(void)s;
	if (nd->pid > 0)
		kill(nd->pid, SIGKILL);
	close_fd(&nd->in_fd);
	nd->wlen = nd->nstamps = 0;
}

static bool all_gone(const struct meshsim_env *e)
{
	for (int i = 0; i < e->n; i++)
		if (e->nodes[i].pid > 0)
			return false;
	return true;
}

static void proc_stop_all(struct meshsim *s, int64_t deadline_us)
{
	const struct meshsim_env *e = meshsim_env(s);
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (nd->pid <= 0)
			continue;
		nd->stopping = true;
		if (command(s, nd, "/quit", NULL, 0, -1) != 0) {
			/* its stdin is closed already: it can only be stopped by force */
			kill(nd->pid, SIGKILL);
		}
	}
	while (!all_gone(e) && meshsim_now_us() < deadline_us)
		proc_poll(s, 50);
	for (int pass = 0; pass < 2 && !all_gone(e); pass++) {
		for (int i = 0; i < e->n; i++) {
			struct meshsim_node *nd = &e->nodes[i];
			if (nd->pid <= 0)
				continue;
			if (pass == 0) {
				meshsim_violation(s, "%s did not stop within the deadline after /quit: killed",
				                  nd->name);
				nd->failed = true;
				nd->killed = true;
				kill(nd->pid, SIGKILL);
			} else {
				/* SIGKILL cannot be ignored: wait for it without a deadline */
				int st;
				struct rusage ru;
				if (wait4(nd->pid, &st, 0, &ru) == nd->pid) {
					nd->reaped = true;
					nd->status = st;
				}
				close_fd(&nd->out_fd);
				nd->eof = true;
				try_reap(s, nd);
			}
		}
		int64_t until = meshsim_now_us() + 3000000;
		while (pass == 0 && !all_gone(e) && meshsim_now_us() < until)
			proc_poll(s, 50);
	}
	meshsim_json_free(&g_json);
	free(g_pfd);
	free(g_pnode);
	g_pfd = NULL;
	g_pnode = NULL;
	g_pcap = 0;
}

static void proc_show_log(struct meshsim *s, struct meshsim_node *nd)
{
	FILE *f = fopen(nd->stderr_path, "r");
	char **ring;
	char buf[512];
	size_t count = 0;
	(void)s;
	if (!f) {
		fprintf(stderr, "meshsim: (no stderr log for %s)\n", nd->name);
		return;
	}
	ring = calloc(LOG_TAIL_LINES, sizeof *ring);
	if (!ring) {
		fclose(f);
		return;
	}
	while (fgets(buf, sizeof buf, f)) {
		size_t slot = count % LOG_TAIL_LINES;
		free(ring[slot]);
		ring[slot] = strdup(buf);
		count++;
	}
	fclose(f);
	fprintf(stderr, "meshsim: --- last lines of %s's stderr (%s) ---\n", nd->name,
	        nd->stderr_path);
	size_t first = count > LOG_TAIL_LINES ? count - LOG_TAIL_LINES : 0;
	for (size_t i = first; i < count; i++) {
		const char *l = ring[i % LOG_TAIL_LINES];
		fprintf(stderr, "  | %s%s", l ? l : "", l && strchr(l, '\n') ? "" : "\n");
	}
	for (size_t i = 0; i < LOG_TAIL_LINES; i++)
		free(ring[i]);
	free(ring);
}

static long proc_rss_kb(struct meshsim *s, struct meshsim_node *nd)
{
	(void)s;
	/* pid is meshnode itself: `ip netns exec` execs it without forking */
	return nd->pid > 0 && !nd->reaped ? meshsim_vmrss_kb(nd->pid) : -1;
}

/* Nanoseconds on the CPU of every thread of pid (the first field of each task's schedstat:
 * exact, where /proc/PID/stat counts in 10 ms ticks). -1 if it cannot be read. */
static double task_cpu_ns(pid_t pid)
{
	char path[64];
	double total = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p2[400];
		unsigned long long ns;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof p2, "%s/%s/schedstat", path, e->d_name);
		FILE *f = fopen(p2, "r");
		if (!f)
			continue;                   /* the thread just ended */
		if (fscanf(f, "%llu", &ns) == 1)
			total += (double)ns;
		fclose(f);
	}
	closedir(d);
	return total;
}

static double proc_cpu_now(struct meshsim *s)
{
	const struct meshsim_env *e = meshsim_env(s);
	double total = 0;
	for (int i = 0; i < e->n; i++) {
		struct meshsim_node *nd = &e->nodes[i];
		if (nd->pid <= 0 || nd->reaped)
			continue;
		double ns = task_cpu_ns(nd->pid);
		if (ns < 0)
			return -1;
		total += ns;
	}
	return total / 1e9;
}

const struct meshsim_backend meshsim_proc_backend = {
	.name = "process",
	.start = proc_start,
	.send = proc_send,
	.kill = proc_kill,
	.poll = proc_poll,
	.stop_all = proc_stop_all,
	.show_log = proc_show_log,
	.rss_kb = proc_rss_kb,
	.cpu_now = proc_cpu_now,
};
