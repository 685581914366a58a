/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_floor: raw ZeroMQ in the shapes of the converge and shout parts (see
 * meshbench_floor.h). The mesh's processes each wait in epoll over their sockets' ZMQ_FDs, as
 * the link does for its DEALERs (mesh/link.c). A ZMQ_FD says that the socket's mailbox changed,
 * not that a frame is there, and a send or receive may take that signal: so each socket is
 * read until EAGAIN after every send on it and whenever its descriptor fires, and the ROUTER
 * once each turn before the wait.
 *
 * ZeroMQ loses a frame here when its ZMTP handshake timer (ZMQ_HANDSHAKE_IVL, 2 s as in the
 * link) closes a connection whose other end has finished its greeting and sent: with 128
 * processes dialling at once, a greeting can take that long on two cores. A dialler whose
 * HELLO went that way waited for ever, and the parent gave up after 30 s. So the dialler sends
 * the frame it awaits an answer to again, first after MESH_RETRY_MS and then after twice as
 * long each time, as our handshake does after handshake_timeout (5 s by default: the floor
 * retries sooner, so it stays a floor). It takes only the answer it waits for, so an answer
 * that comes twice moves the pair on once. Its first frame after ACCEPT is not sent again: it
 * goes over a connection whose greeting both ends have finished (the ACCEPT came over it),
 * which the timer no longer closes.
 */
#include "meshbench_floor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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

#include "monoclock.h"

#define MESH_WAIT_MS 30000    /* the parent gives up after this long without a report */
#define MESH_RETRY_MS 1000    /* a dialler's first wait for an answer before it sends again */
#define MESH_TICK_MS 250      /* how often a process looks for a wait that ran out */
#define FAN_TIMEOUT_MS 5000

/* What a mesh process tells its parent, written whole (under PIPE_BUF), so records never mix. */
struct report {
	char what;            /* 'b' bound, 'd' done (cpu_ns), 'x' failed */
	uint64_t cpu_ns;
};

/* Tells the parent on fd; 'x' also names what failed on stderr. Returns -1 for 'x', else 0. */
static int report(int fd, char what, const char *failed)
{
	struct report r;
	struct timespec t;
	memset(&r, 0, sizeof r);      /* the padding too: all of it goes down the pipe */
	r.what = what;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0)
		r.cpu_ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	if (failed)
		fprintf(stderr, "meshbench: zmq mesh: %s: %s\n", failed, zmq_strerror(zmq_errno()));
	(void)!write(fd, &r, sizeof r);
	return what == 'x' ? -1 : 0;
}

/* The options of the link's sockets that bear on the cost of a connection (mesh/link.c). */
static int mesh_opts(void *s)
{
	static const int opts[][2] = {
		{ ZMQ_LINGER, 0 }, { ZMQ_TCP_KEEPALIVE, 1 }, { ZMQ_HANDSHAKE_IVL, 2000 },
		{ ZMQ_BACKLOG, 1024 }, { ZMQ_SNDHWM, 256 }, { ZMQ_RCVHWM, 256 },
	};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (zmq_setsockopt(s, opts[i][0], &opts[i][1], sizeof(int)) != 0)
			return -1;
	return 0;
}

static int mesh_send(void *s, int len)
{
	static char buf[256];
	memset(buf, 'm', (size_t)len);
	return zmq_send(s, buf, (size_t)len, 0) == len ? 0 : -1;
}

/* Reads the ROUTER until EAGAIN: answers a HELLO with REPLY and a FINISH with ACCEPT, and
 * counts the pair done at the initiator's first frame. 0, or -1 if a send failed. */
static int mesh_read_router(void *router, int *done)
{
	char rid[256], buf[256];
	int rl;
	while ((rl = zmq_recv(router, rid, sizeof rid, ZMQ_DONTWAIT)) >= 0) {
		int len = zmq_recv(router, buf, sizeof buf, 0);
		int out = len == F_HELLO ? F_REPLY : len == F_FINISH ? F_ACCEPT : 0;
		if (out && (zmq_send(router, rid, (size_t)rl, ZMQ_SNDMORE) != rl ||
		            mesh_send(router, out) != 0))
			return -1;
		*done += len == F_FIRST;
	}
	return 0;
}

/* A dialled pair on its dialler's side: the frame last sent, which awaits an answer (0 once
 * the pair is done), when it went and how long to wait before it goes again. */
struct dial {
	void *dealer;
	int awaits;           /* F_HELLO (awaits REPLY), F_FINISH (awaits ACCEPT), 0: done */
	uint64_t sent_ms, wait_ms;
};

static int dial_send(struct dial *d, int frame, uint64_t now_ms)
{
	d->awaits = frame;
	d->sent_ms = now_ms;
	d->wait_ms = MESH_RETRY_MS;
	return mesh_send(d->dealer, frame);
}

/* Reads a DEALER until EAGAIN: answers the REPLY to its HELLO with FINISH, and the ACCEPT to
 * its FINISH with the first frame, which ends the pair on this side; any other frame is an
 * answer that came twice, and is dropped. 0, or -1 if a send failed. */
static int mesh_read_dealer(struct dial *d, int *done)
{
	char buf[256];
	int len;
	while ((len = zmq_recv(d->dealer, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
		if (len == F_REPLY && d->awaits == F_HELLO) {
			if (dial_send(d, F_FINISH, monoclock_ms()) != 0)
				return -1;
		} else if (len == F_ACCEPT && d->awaits == F_FINISH) {
			d->awaits = 0;
			(*done)++;
			if (mesh_send(d->dealer, F_FIRST) != 0)
				return -1;
		}
	}
	return 0;
}

/* Sends again each frame whose answer is overdue, and waits twice as long for the next. 0, or
 * -1 if a send failed. */
static int mesh_resend(struct dial *dial, int ndial, uint64_t now_ms, int *done)
{
	for (int k = 0; k < ndial; k++) {
		struct dial *d = &dial[k];
		if (!d->awaits || now_ms - d->sent_ms < d->wait_ms)
			continue;
		d->sent_ms = now_ms;
		d->wait_ms *= 2;
		if (mesh_send(d->dealer, d->awaits) != 0 || mesh_read_dealer(d, done) != 0)
			return -1;
	}
	return 0;
}

static int mesh_watch(int epfd, void *sock, uint64_t key)
{
	int fd;
	size_t fl = sizeof fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &fl) != 0)
		return -1;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Dials every higher index, then answers and reads until all of this process's pairs are
 * done. 0, or what failed. */
static const char *mesh_pairs(void *ctx, void *router, int epfd, int me, int n)
{
	int ndial = n - 1 - me, done = 0;
	char ep[64];
	uint64_t tick = monoclock_ms() + MESH_TICK_MS;
	struct dial *dial = calloc((size_t)ndial + 1, sizeof *dial);
	if (!dial)
		return "out of memory";
	for (int k = 0; k < ndial; k++) {
		struct dial *d = &dial[k];
		snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", FLOOR_MESH_PORT0 + me + 1 + k);
		if (!(d->dealer = zmq_socket(ctx, ZMQ_DEALER)) || mesh_opts(d->dealer) != 0 ||
		    zmq_connect(d->dealer, ep) != 0 || mesh_watch(epfd, d->dealer, (uint64_t)k + 1) ||
		    dial_send(d, F_HELLO, monoclock_ms()) != 0 || mesh_read_dealer(d, &done) != 0)
			return "dial";     /* the process ends: its sockets with it */
	}
	for (;;) {
		if (mesh_read_router(router, &done) != 0)
			return "answer";
		if (done == n - 1)
			return NULL;
		uint64_t now = monoclock_ms();
		if (now >= tick) {
			if (mesh_resend(dial, ndial, now, &done) != 0)
				return "send again";
			tick = now + MESH_TICK_MS;
			continue;       /* done may have moved */
		}
		struct epoll_event evs[64];
		int k = epoll_wait(epfd, evs, 64, (int)(tick - now));
		if (k < 0 && errno != EINTR)
			return "epoll_wait";
		for (int i = 0; i < k; i++)
			if (evs[i].data.u64 && mesh_read_dealer(&dial[evs[i].data.u64 - 1], &done) != 0)
				return "send";
	}
}

int floor_mesh_child(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	int me = atoi(argv[1]), n = atoi(argv[2]), up = atoi(argv[3]), go = atoi(argv[4]);
	char ep[64], ch;
	if (n < 2 || n > FLOOR_MESH_MAX || me < 0 || me >= n)
		return 2;
	/* only as the process that meshbench started, in its namespace; and gone with it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)atol(argv[5]))
		return 2;
	void *ctx = zmq_ctx_new();
	void *router = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", FLOOR_MESH_PORT0 + me);
	if (!router || epfd < 0 || mesh_opts(router) != 0 || zmq_bind(router, ep) != 0 ||
	    mesh_watch(epfd, router, 0) != 0)
		return report(up, 'x', "set-up") != 0;
	report(up, 'b', NULL);
	if (read(go, &ch, 1) != 1)
		return report(up, 'x', "start") != 0;
	const char *failed = mesh_pairs(ctx, router, epfd, me, n);
	if (failed)
		return report(up, 'x', failed) != 0;
	report(up, 'd', NULL);
	pause();      /* the parent ends every process at once, after the last report */
	return 0;
}

int floor_mesh(const char *self, int n, double *wall_ms, double *cpu_per_pair_ms)
{
	static pid_t pid[FLOOR_MESH_MAX];
	int up[2], go[2], started = 0, bound = 0, got = 0;
	double cpu_ns = 0, t0 = monoclock_s();
	char ppid[24];
	struct report r;
	if (n < 2 || n > FLOOR_MESH_MAX || pipe(up) != 0)
		return -1;
	if (pipe(go) != 0) {
		close(up[0]);
		close(up[1]);
		return -1;
	}
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	for (; started < n; started++) {
		char a[16], b[16], c[16], d[16];
		snprintf(a, sizeof a, "%d", started);
		snprintf(b, sizeof b, "%d", n);
		snprintf(c, sizeof c, "%d", up[1]);
		snprintf(d, sizeof d, "%d", go[0]);
		pid[started] = fork();
		if (pid[started] == 0) {
			/* only the ends it uses: a child must see EOF on go if the parent is gone */
			close(up[0]);
			close(go[1]);
			execl(self, self, "--zmq-mesh-child", a, b, c, d, ppid, (char *)NULL);
			_exit(127);
		}
		if (pid[started] < 0)
			break;
	}
	close(up[1]);
	close(go[0]);
	struct pollfd p = { .fd = up[0], .events = POLLIN };
	while (started == n && got < n && poll(&p, 1, MESH_WAIT_MS) == 1 &&
	       read(up[0], &r, sizeof r) == (ssize_t)sizeof r && r.what != 'x') {
		if (r.what == 'b' && ++bound == n)
			for (int i = 0; i < n; i++)
				(void)!write(go[1], "g", 1);
		if (r.what == 'd') {
			got++;
			cpu_ns += (double)r.cpu_ns;
		}
	}
	*wall_ms = (monoclock_s() - t0) * 1000;
	for (int i = 0; i < started; i++)
		kill(pid[i], SIGKILL);
	for (int i = 0; i < started; i++)
		waitpid(pid[i], NULL, 0);
	close(up[0]);
	close(go[1]);
	if (got < n) {
		fprintf(stderr, "meshbench: zmq mesh of %d processes: %d done\n", n, got);
		return -1;
	}
	*cpu_per_pair_ms = cpu_ns / 1e6 / ((double)n * (n - 1) / 2);
	return 0;
}

/* One fan-out run over sockets already connected (see floor_fanout). */
static int fan_run(void **dealer, void **router, int m, size_t size, long count, long window,
                   double *rate, double *lat)
{
	uint8_t *buf = malloc(size > 256 ? size : 256);
	double *t_sent = calloc((size_t)count, sizeof *t_sent);
	int *have = calloc((size_t)count, sizeof *have);
	zmq_pollitem_t *items = calloc((size_t)m, sizeof *items);
	long sent = 0, done = 0;
	int rc = -1;
	if (!buf || !t_sent || !have || !items)
		goto out;
	for (int i = 0; i < m; i++)
		items[i] = (zmq_pollitem_t){ .socket = router[i], .events = ZMQ_POLLIN };
	memset(buf, 0x5a, size);
	double t0 = monoclock_s();
	while (done < count) {
		for (; sent < count && sent - done < window; sent++) {
			memcpy(buf, &sent, sizeof sent);
			t_sent[sent] = monoclock_s();
			for (int i = 0; i < m; i++)
				if (zmq_send(dealer[i], buf, size, 0) != (int)size)
					goto out;
		}
		bool any = false;
		for (int i = 0; i < m; i++) {
			char rid[256];
			long seq;
			while (zmq_recv(router[i], rid, sizeof rid, ZMQ_DONTWAIT) >= 0) {
				if (zmq_recv(router[i], buf, size, 0) != (int)size)
					goto out;
				memcpy(&seq, buf, sizeof seq);
				if (seq < 0 || seq >= sent) {
					fprintf(stderr, "meshbench: zmq fan-out: message %ld unknown\n", seq);
					goto out;
				}
				if (++have[seq] == m)
					lat[done++] = (monoclock_s() - t_sent[seq]) * 1e6;
				any = true;
			}
		}
		if (!any && zmq_poll(items, m, FAN_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "meshbench: zmq fan-out stalled at %ld of %ld\n", done, count);
			goto out;
		}
	}
	*rate = (double)count * m / (monoclock_s() - t0);
	rc = 0;
out:
	free(buf);
	free(t_sent);
	free(have);
	free(items);
	return rc;
}

int floor_fanout(int members, size_t size, long count, long window, double *deliveries_s,
                 double *lat_us)
{
	void **ctx = calloc((size_t)members + 1, sizeof *ctx);
	void **router = calloc((size_t)members, sizeof *router);
	void **dealer = calloc((size_t)members, sizeof *dealer);
	double warm[100];
	int rc = -1, timeout = FAN_TIMEOUT_MS, zero = 0;
	if (!ctx || !router || !dealer || size < sizeof(long) || members < 1 || count < 1)
		goto out;
	if (!(ctx[members] = zmq_ctx_new()))    /* the sender's */
		goto out;
	for (int i = 0; i < members; i++) {
		char ep[64];
		size_t eplen = sizeof ep;
		if (!(ctx[i] = zmq_ctx_new()) || !(router[i] = zmq_socket(ctx[i], ZMQ_ROUTER)) ||
		    !(dealer[i] = zmq_socket(ctx[members], ZMQ_DEALER)))
			goto out;
		zmq_setsockopt(router[i], ZMQ_LINGER, &zero, sizeof zero);
		zmq_setsockopt(dealer[i], ZMQ_LINGER, &zero, sizeof zero);
		zmq_setsockopt(dealer[i], ZMQ_SNDTIMEO, &timeout, sizeof timeout);
		zmq_setsockopt(router[i], ZMQ_RCVTIMEO, &timeout, sizeof timeout);
		if (zmq_bind(router[i], "tcp://127.0.0.1:*") != 0 ||
		    zmq_getsockopt(router[i], ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 ||
		    zmq_connect(dealer[i], ep) != 0)
			goto out;
	}
	/* not counted: every connection up first, as the shout part's members have joined */
	if (fan_run(dealer, router, members, size, 100, window, deliveries_s, warm) != 0 ||
	    fan_run(dealer, router, members, size, count, window, deliveries_s, lat_us) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "meshbench: zmq fan-out to %d failed: %s\n", members,
		        zmq_strerror(zmq_errno()));
	for (int i = 0; router && dealer && i < members; i++) {
		if (dealer[i])
			zmq_close(dealer[i]);
		if (router[i])
			zmq_close(router[i]);
	}
	for (int i = 0; ctx && i <= members; i++)
		if (ctx[i])
			zmq_ctx_term(ctx[i]);
	free(ctx);
	free(router);
	free(dealer);
	return rc;
}
