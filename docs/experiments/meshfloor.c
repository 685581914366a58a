/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshfloor.c: a measurement, not part of the product or of the tests. What forming a full
 * mesh of N processes costs raw ZeroMQ on this machine, without crypto, discovery or any code
 * of ours: the floor under meshbench's "CPU per linked pair" beside the crypto a pair cannot
 * avoid (docs/performance.md, "Convergence: the floor without crypto").
 *
 * Each of N processes is started as meshsim starts nodes (fork and exec of a program linked
 * against Debian's libzmq), makes a ZeroMQ context and binds a ROUTER on 127.0.0.1. Once all
 * have bound (a node dials only a node whose beacon it heard, so never one not yet
 * listening), each dials every process of a higher index with a DEALER of its own, as the
 * lower ID dials in the mesh (docs/protocol.md section 2). Each pair then exchanges the four messages of a handshake with
 * the sizes ours have (HELLO 64 bytes, REPLY 160, FINISH 200, ACCEPT 100), without crypto. A
 * process reports when all its N - 1 pairs are done; at the last report the CPU of every
 * thread of every process is read (schedstat, as meshsim's process back-end does) and the
 * wall time taken from the first fork. The socket options are the link's (mesh/link.c) that
 * bear on cost: linger 0, TCP keepalive, ZeroMQ's handshake interval, the listen backlog.
 *
 *   meshfloor [--one-socket] [N [ROUNDS]]
 *
 * default 64 processes, 3 rounds; prints each round and the median. --one-socket: each
 * process dials with its ROUTER (ZMQ_CONNECT_ROUTING_ID), one socket for all its pairs, in
 * place of a DEALER per peer as the link has (docs/architecture.md, mesh/link.c).
 *
 * It opens sockets, so it refuses to run outside netns-run's namespace. Built from the
 * repository's root:
 *
 *   gcc -O2 -Itests docs/experiments/meshfloor.c tests/testlib.c -lzmq -o /tmp/meshfloor
 *   tests/integration/netns-run /tmp/meshfloor 64 5
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "testlib.h"

/* ports below the kernel's ephemeral range (32768 - 60999 here), which a DEALER's own end,
 * dialling before its peer has bound, could otherwise take from under that peer */
enum { PORT0 = 20000, MAXN = 512, HELLO = 64, REPLY = 160, FINISH = 200, ACCEPT = 100 };

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void opts(void *s)
{
	int v = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &v, sizeof v);
	v = 1;
	zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE, &v, sizeof v);
	v = 2000;                    /* LINK_HANDSHAKE_IVL_MS */
	zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &v, sizeof v);
	v = 1024;                    /* LINK_LISTEN_BACKLOG: 2,016 dials come at once */
	zmq_setsockopt(s, ZMQ_BACKLOG, &v, sizeof v);
}

static int up_fd = -1;   /* a child's end of the pipe to its parent */

/* A child that fails says so on the pipe, so that its parent stops at once. */
static void die(const char *what)
{
	fprintf(stderr, "meshfloor: %s: %s\n", what, zmq_strerror(errno));
	if (up_fd >= 0)
		(void)!write(up_fd, "x", 1);
	exit(1);
}

/* Answers what reached the ROUTER: a HELLO or FINISH of a peer that dialled us, and, when the
 * ROUTER dials too (--one-socket), the REPLY or ACCEPT of a peer we dialled. Adds the pairs
 * completed to *done. */
static void read_router(void *router, int *done)
{
	static char buf[256];
	char rid[256];
	int rl;
	while ((rl = zmq_recv(router, rid, sizeof rid, ZMQ_DONTWAIT)) >= 0) {
		int len = zmq_recv(router, buf, sizeof buf, 0);
		if (len == HELLO || len == FINISH || len == REPLY) {
			int out = len == HELLO ? REPLY : len == FINISH ? ACCEPT : FINISH;
			memset(buf, 'r', (size_t)out);
			zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE);
			zmq_send(router, buf, (size_t)out, 0);
		}
		*done += len == FINISH || len == ACCEPT;
	}
}

/* One process: index me of n. Writes 'b' to fd `up` once bound, reads one byte of fd `go`
 * before it dials, writes 'd' once every pair is done, then waits for its parent to end it.
 * one_socket: it dials with its ROUTER (ZMQ_CONNECT_ROUTING_ID names each peer) instead of a
 * DEALER per peer. */
static int child(int me, int n, int up, int go, int one_socket)
{
	static char buf[256];
	char ep[64];
	up_fd = up;
	void *ctx = zmq_ctx_new();
	void *router = zmq_socket(ctx, ZMQ_ROUTER);
	opts(router);
	int mandatory = 1;
	zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", PORT0 + me);
	if (zmq_bind(router, ep) != 0)
		die("bind");
	char ch;
	if (write(up, "b", 1) != 1 || read(go, &ch, 1) != 1)
		return 1;
	int ndial = n - 1 - me, unsent = one_socket ? ndial : 0;
	void **dealer = calloc((size_t)ndial + 1, sizeof *dealer);
	zmq_pollitem_t *items = calloc((size_t)ndial + 1, sizeof *items);
	if (!dealer || !items)
		return 1;
	items[0] = (zmq_pollitem_t){ .socket = router, .events = ZMQ_POLLIN };
	memset(buf, 'h', HELLO);
	for (int k = 0; k < ndial; k++) {
		snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", PORT0 + me + 1 + k);
		if (one_socket) {
			char rid[16];
			int rl = snprintf(rid, sizeof rid, "p%d", me + 1 + k);
			zmq_setsockopt(router, ZMQ_CONNECT_ROUTING_ID, rid, (size_t)rl);
			if (zmq_connect(router, ep) != 0)
				die("connect");
			continue;
		}
		dealer[k] = zmq_socket(ctx, ZMQ_DEALER);
		opts(dealer[k]);
		if (zmq_connect(dealer[k], ep) != 0)
			die("connect");
		if (zmq_send(dealer[k], buf, HELLO, 0) != HELLO)
			die("send");
		items[k + 1] = (zmq_pollitem_t){ .socket = dealer[k], .events = ZMQ_POLLIN };
	}
	int done = 0, next = 0;
	while (done < n - 1) {
		/* --one-socket: a ROUTER cannot send to a peer before its connection is up, so the
		 * HELLOs go as each one comes up (EHOSTUNREACH until then), looked at each ms */
		while (unsent > 0) {
			char rid[16];
			int rl = snprintf(rid, sizeof rid, "p%d", me + 1 + next);
			if (zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
				break;
			memset(buf, 'h', HELLO);
			zmq_send(router, buf, HELLO, 0);
			next++;
			unsent--;
		}
		if (zmq_poll(items, one_socket ? 1 : ndial + 1, unsent ? 1 : -1) < 0)
			die("poll");
		if (items[0].revents & ZMQ_POLLIN)
			read_router(router, &done);
		for (int k = 0; !one_socket && k < ndial; k++) {
			if (!(items[k + 1].revents & ZMQ_POLLIN))
				continue;
			int len;
			while ((len = zmq_recv(dealer[k], buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
				if (len == REPLY) {
					memset(buf, 'f', FINISH);
					zmq_send(dealer[k], buf, FINISH, 0);
				} else if (len == ACCEPT) {
					done++;
				}
			}
		}
	}
	(void)!write(up, "d", 1);
	pause();      /* the parent ends every process at once, after reading their CPU */
	return 0;
}

/* Nanoseconds on the CPU of every thread of pid, as meshsim's process back-end reads them. */
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
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			total += (double)ns;
		fclose(f);
	}
	closedir(d);
	return total;
}

/* One round: 0, the wall time to all bound and to full mesh, and the CPU to full mesh; or -1. */
static int round_once(const char *self, int n, int one_socket, double *up_s, double *wall,
                      double *cpu)
{
	static pid_t pid[MAXN];
	int up[2], go[2];
	if (pipe(up) != 0 || pipe(go) != 0)
		return -1;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		char a[16], b[16], c[16], d[16], e[4] = { one_socket ? '1' : '0' };
		snprintf(a, sizeof a, "%d", i);
		snprintf(b, sizeof b, "%d", n);
		snprintf(c, sizeof c, "%d", up[1]);
		snprintf(d, sizeof d, "%d", go[0]);
		pid[i] = fork();
		if (pid[i] == 0) {
			close(up[0]);
			close(go[1]);
			execl(self, self, "--child", a, b, c, d, e, (char *)NULL);
			_exit(127);
		}
		if (pid[i] < 0)
			return -1;
	}
	close(up[1]);
	close(go[0]);
	int bound = 0, got = 0;
	char ch;
	struct pollfd p = { .fd = up[0], .events = POLLIN };
	while (got < n && poll(&p, 1, 60000) == 1 && read(up[0], &ch, 1) == 1 && ch != 'x') {
		if (ch == 'b' && ++bound == n) {
			*up_s = now_s() - t0;
			for (int i = 0; i < n; i++)
				(void)!write(go[1], "g", 1);
		}
		got += ch == 'd';
	}
	*wall = now_s() - t0;
	double total = 0;
	for (int i = 0; i < n; i++)
		total += task_cpu_ns(pid[i]);
	*cpu = total / 1e9;
	for (int i = 0; i < n; i++)
		kill(pid[i], SIGTERM);
	for (int i = 0; i < n; i++)
		waitpid(pid[i], NULL, 0);
	close(up[0]);
	close(go[1]);
	if (got < n)
		fprintf(stderr, "meshfloor: %d of %d processes done\n", got, n);
	return got == n ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "--child") == 0)
		return child(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
		             atoi(argv[6]));
	testlib_require_netns("meshfloor");
	int one_socket = argc > 1 && strcmp(argv[1], "--one-socket") == 0;
	argc -= one_socket;
	argv += one_socket;
	int n = argc > 1 ? atoi(argv[1]) : 64, rounds = argc > 2 ? atoi(argv[2]) : 3;
	if (n < 2 || n > MAXN || rounds < 1 || rounds > 99) {
		fprintf(stderr, "usage: meshfloor [--one-socket] [N (2..%d) [ROUNDS (1..99)]]\n",
		        MAXN);
		return 2;
	}
	char self[4096];
	ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
	if (k <= 0)
		return 1;
	self[k] = 0;
	double pairs = (double)n * (n - 1) / 2, per[99];
	for (int r = 0; r < rounds; r++) {
		double up = 0, wall, cpu;
		if (round_once(self, n, one_socket, &up, &wall, &cpu) != 0)
			return 1;
		per[r] = cpu * 1000 / pairs;
		printf("%d processes: all bound in %.0f ms, full mesh in %.0f ms, %.3f CPU-s, %.3f ms "
		       "a pair\n", n, up * 1000, wall * 1000, cpu, per[r]);
	}
	qsort(per, (size_t)rounds, sizeof *per, cmp);
	printf("median of %d: %.3f ms a pair\n", rounds, per[rounds / 2]);
	return 0;
}
