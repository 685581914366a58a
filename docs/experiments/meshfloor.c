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
 * lower ID dials in the mesh (docs/protocol.md section 4, "Who initiates"). Each pair then
 * exchanges the frames of our handshake with their sizes on the wire (`meshnode --trace` of
 * two nodes: HELLO 41 bytes, REPLY 165, FINISH 131, ACCEPT 31), and the initiator's first
 * frame after ACCEPT (a heartbeat, 28), at which the responder reports the peer; no crypto.
 * The process waits in epoll over its sockets' ZMQ_FDs, as the link does for its DEALERs
 * (mesh/link.c; the link polls its ROUTER with zmq_poll), each socket read until EAGAIN
 * whenever its descriptor fires and after each send, so that no signal is missed.
 *
 * A process reports when all its N - 1 pairs are done, with its CPU time so far (every thread:
 * CLOCK_PROCESS_CPUTIME_ID; it has nothing left to do after that, where meshsim reads every
 * node's CPU at full mesh). The parent adds them up and takes the wall time from the first
 * fork to the last report. The socket options are the
 * link's that bear on cost: linger 0, TCP keepalive, ZeroMQ's handshake interval, the listen
 * backlog, ROUTER_MANDATORY.
 *
 *   meshfloor [--one-socket] [N [ROUNDS]]
 *
 * default 64 processes, 3 rounds; prints each round and the median. --one-socket: each
 * process dials with its ROUTER (ZMQ_CONNECT_ROUTING_ID names each peer), one socket for all
 * its pairs, in place of a DEALER per peer as the link has. A ROUTER cannot queue a message for
 * a connection not yet up, so its HELLOs wait for EHOSTUNREACH to clear, looked at each ms.
 *
 * It opens sockets, so it refuses to run outside netns-run's namespace, children included.
 * Built from the repository's root:
 *
 *   gcc -O2 -Itests docs/experiments/meshfloor.c tests/testlib.c -lzmq -o /tmp/meshfloor
 *   tests/integration/netns-run /tmp/meshfloor 64 5
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "testlib.h"

/* ports below the kernel's ephemeral range (32768 - 60999 here), which a DEALER's own end,
 * dialling before its peer has bound, could otherwise take from under that peer */
enum { PORT0 = 20000, MAXN = 512 };
enum { HELLO = 41, REPLY = 165, FINISH = 131, ACCEPT = 31, FIRST = 28 };

/* what a child tells its parent, written whole (under PIPE_BUF) so that records never mix */
struct report {
	char what;            /* 'b' bound, 'd' done (cpu_ns), 'x' failed */
	uint64_t cpu_ns;
};

static int up_fd = -1;   /* a child's end of the pipe to its parent */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void say(char what)
{
	struct report r = { .what = what };
	struct timespec t;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0)
		r.cpu_ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	(void)!write(up_fd, &r, sizeof r);
}

/* A child that fails says so on the pipe, so that its parent stops at once. */
static void die(const char *what)
{
	fprintf(stderr, "meshfloor: %s: %s\n", what, zmq_strerror(errno));
	say('x');
	exit(1);
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

static void send_len(void *s, int len)
{
	static char buf[256];
	memset(buf, 'm', (size_t)len);
	if (zmq_send(s, buf, (size_t)len, 0) != len)
		die("send");
}

/* Reads the ROUTER until EAGAIN: a HELLO or FINISH of a peer that dialled us is answered and
 * its first frame after ACCEPT ends the pair; with --one-socket the REPLY and ACCEPT of a peer
 * we dialled come here too. Adds the pairs completed to *done. */
static void read_router(void *router, int *done)
{
	char rid[256], buf[256];
	int rl;
	while ((rl = zmq_recv(router, rid, sizeof rid, ZMQ_DONTWAIT)) >= 0) {
		int len = zmq_recv(router, buf, sizeof buf, 0);
		int out = len == HELLO ? REPLY : len == FINISH ? ACCEPT : len == REPLY ? FINISH :
		          len == ACCEPT ? FIRST : 0;
		if (out) {
			if (zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE) != rl)
				die("send");
			send_len(router, out);
		}
		*done += len == FIRST || len == ACCEPT;
	}
}

/* Reads a DEALER until EAGAIN: REPLY is answered with FINISH, ACCEPT with the first frame,
 * and ends the pair. */
static void read_dealer(void *dealer, int *done)
{
	char buf[256];
	int len;
	while ((len = zmq_recv(dealer, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
		if (len == REPLY)
			send_len(dealer, FINISH);
		if (len == ACCEPT) {
			send_len(dealer, FIRST);
			++*done;
		}
	}
}

static void watch(int ep, void *sock, uint64_t key)
{
	int fd;
	size_t fl = sizeof fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &fl) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll");
}

/* One process: index me of n. Reports 'b' once bound, reads one byte of fd `go` before it
 * dials, reports 'd' once every pair is done, then waits for its parent to end it. */
static int child(int me, int n, int go, int one_socket)
{
	char ep[64];
	prctl(PR_SET_PDEATHSIG, SIGTERM);   /* none outlives a parent that was killed */
	void *ctx = zmq_ctx_new();
	void *router = zmq_socket(ctx, ZMQ_ROUTER);
	opts(router);
	int mandatory = 1;
	zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", PORT0 + me);
	if (zmq_bind(router, ep) != 0)
		die("bind");
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll");
	watch(epfd, router, 0);
	say('b');
	char ch;
	if (read(go, &ch, 1) != 1)
		return 1;
	int ndial = n - 1 - me, unsent = one_socket ? ndial : 0, done = 0, next = 0;
	void **dealer = calloc((size_t)ndial + 1, sizeof *dealer);
	if (!dealer)
		return 1;
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
		watch(epfd, dealer[k], (uint64_t)k + 1);
		send_len(dealer[k], HELLO);
		read_dealer(dealer[k], &done);     /* to EAGAIN: its descriptor fires from now on */
	}
	while (done < n - 1) {
		while (unsent > 0) {
			char rid[16];
			int rl = snprintf(rid, sizeof rid, "p%d", me + 1 + next);
			if (zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
				break;
			send_len(router, HELLO);
			next++;
			unsent--;
		}
		/* the ROUTER to EAGAIN each turn, so that its descriptor fires for what comes next:
		 * a send on it may have taken the signal of a frame */
		read_router(router, &done);
		if (done == n - 1)
			break;
		struct epoll_event evs[64];
		int k = epoll_wait(epfd, evs, 64, unsent ? 1 : -1);
		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++)
			if (evs[i].data.u64)
				read_dealer(dealer[evs[i].data.u64 - 1], &done);
	}
	say('d');
	pause();      /* the parent ends every process at once */
	return 0;
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
	double ns = 0;
	struct report r;
	struct pollfd p = { .fd = up[0], .events = POLLIN };
	while (got < n && poll(&p, 1, 60000) == 1 && read(up[0], &r, sizeof r) == sizeof r &&
	       r.what != 'x') {
		if (r.what == 'b' && ++bound == n) {
			*up_s = now_s() - t0;
			for (int i = 0; i < n; i++)
				(void)!write(go[1], "g", 1);
		}
		if (r.what == 'd') {
			got++;
			ns += (double)r.cpu_ns;
		}
	}
	*wall = now_s() - t0;
	*cpu = ns / 1e9;
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
	testlib_require_netns("meshfloor");
	if (argc == 7 && strcmp(argv[1], "--child") == 0) {
		up_fd = atoi(argv[4]);
		return child(atoi(argv[2]), atoi(argv[3]), atoi(argv[5]), atoi(argv[6]));
	}
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
	double med = rounds % 2 ? per[rounds / 2] : (per[rounds / 2 - 1] + per[rounds / 2]) / 2;
	printf("median of %d: %.3f ms a pair\n", rounds, med);
	return 0;
}
