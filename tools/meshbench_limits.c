/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_limits: raw ZeroMQ's ceilings, which meshbench compares the messenger with (see
 * meshbench_limits.h; the crypto primitives' are in meshbench_crypto.c).
 *
 * ZeroMQ runs get a fresh context each (default io threads), so one run's leftovers cannot slow
 * the next. Sockets move between threads only across pthread_create and pthread_join, which are
 * the full barriers zmq asks for when a socket changes thread; main opens and closes them all,
 * so every path closes every socket.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "meshbench_limits.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "monoclock.h"

/* the product's MESH_ZMQ_HWM (mesh/mesh.h); tools/ may not include mesh/ for this one number */
#define LIMITS_HWM 256
/* any blocking zmq call gives up after this, so a lost message fails the run */
#define LIMITS_TIMEOUT_MS 5000
#define LIMITS_RTT_WARMUP 100

/* ---------- ZeroMQ ---------- */

static int set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof v);
}

/* A ZeroMQ context, or NULL with the reason on stderr. */
static void *open_context(void)
{
	void *ctx = zmq_ctx_new();
	if (!ctx)
		fprintf(stderr, "limits: zmq_ctx_new: %s\n", zmq_strerror(zmq_errno()));
	return ctx;
}

/* size bytes of a fixed pattern for a run to send (malloc'd), or NULL with the reason on
 * stderr. */
static uint8_t *pattern_buf(size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		fprintf(stderr, "limits: out of memory\n");
	else
		memset(buf, 0x5a, size);
	return buf;
}

static void *open_socket(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (!s) {
		fprintf(stderr, "limits: zmq_socket: %s\n", zmq_strerror(zmq_errno()));
		return NULL;
	}
	if (set_int(s, ZMQ_SNDHWM, LIMITS_HWM) != 0 || set_int(s, ZMQ_RCVHWM, LIMITS_HWM) != 0 ||
	    set_int(s, ZMQ_LINGER, 0) != 0 || set_int(s, ZMQ_SNDTIMEO, LIMITS_TIMEOUT_MS) != 0 ||
	    set_int(s, ZMQ_RCVTIMEO, LIMITS_TIMEOUT_MS) != 0) {
		fprintf(stderr, "limits: zmq_setsockopt: %s\n", zmq_strerror(zmq_errno()));
		zmq_close(s);
		return NULL;
	}
	return s;
}

/* A ROUTER bound to a kernel-chosen port on 127.0.0.1 and a DEALER connected to it. Both or
 * neither are returned. */
static int open_pair(void *ctx, void **router, void **dealer)
{
	char ep[256];
	size_t eplen = sizeof ep;
	*router = open_socket(ctx, ZMQ_ROUTER);
	*dealer = open_socket(ctx, ZMQ_DEALER);
	if (!*router || !*dealer)
		goto fail;
	if (zmq_bind(*router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(*router, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 ||
	    zmq_connect(*dealer, ep) != 0) {
		fprintf(stderr, "limits: cannot set up tcp://127.0.0.1: %s\n", zmq_strerror(zmq_errno()));
		goto fail;
	}
	return 0;
fail:
	if (*router)
		zmq_close(*router);
	if (*dealer)
		zmq_close(*dealer);
	*router = *dealer = NULL;
	return -1;
}

static int recv_frame(void *sock, zmq_msg_t *m)
{
	int n;
	do
		n = zmq_msg_recv(m, sock, 0);
	while (n < 0 && zmq_errno() == EINTR);
	return n < 0 ? -1 : 0;
}

/* blocking send of size bytes, retried on EINTR; 0 or -1 */
static int send_buf(void *sock, const void *buf, size_t size, int flags)
{
	int n;
	do
		n = zmq_send(sock, buf, size, flags);
	while (n < 0 && zmq_errno() == EINTR);
	return n >= 0 && (size_t)n == size ? 0 : -1;
}

/* One message at the ROUTER: a routing id frame then exactly one body frame of `size` bytes.
 * The id stays in *id for a reply. 0, or -1 with the reason on stderr. */
static int recv_routed(void *router, zmq_msg_t *id, zmq_msg_t *body, size_t size, long i)
{
	if (recv_frame(router, id) != 0 || recv_frame(router, body) != 0) {
		fprintf(stderr, "limits: message %ld not received: %s\n", i, zmq_strerror(zmq_errno()));
		return -1;
	}
	if (!zmq_msg_more(id) || zmq_msg_more(body) || zmq_msg_size(body) != size) {
		fprintf(stderr, "limits: message %ld: %zu bytes%s, expected one frame of %zu\n", i,
		        zmq_msg_size(body), zmq_msg_more(body) ? " and more frames" : "", size);
		return -1;
	}
	return 0;
}

struct tput {
	void *sock;
	size_t size;
	long count;
	double t;  /* sender: time of the first send; receiver: time of the last receipt */
	long done; /* messages sent or received */
	int rc;
};

static void *tput_send(void *arg)
{
	struct tput *s = arg;
	uint8_t *buf = malloc(s->size ? s->size : 1);
	s->rc = -1;
	if (!buf) {
		fprintf(stderr, "limits: out of memory\n");
		return NULL;
	}
	memset(buf, 0xa5, s->size);
	s->t = monoclock_s();
	for (s->done = 0; s->done < s->count; s->done++) {
		if (send_buf(s->sock, buf, s->size, 0) != 0) {
			fprintf(stderr, "limits: send %ld of %ld failed: %s\n", s->done + 1, s->count,
			        zmq_strerror(zmq_errno()));
			goto done;
		}
	}
	s->rc = 0;
done:
	free(buf);
	return NULL;
}

static void *tput_recv(void *arg)
{
	struct tput *r = arg;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	r->rc = -1;
	for (r->done = 0; r->done < r->count; r->done++)
		if (recv_routed(r->sock, &id, &body, r->size, r->done + 1) != 0)
			goto done;
	r->t = monoclock_s();
	r->rc = 0;
done:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return NULL;
}

double limits_zmq_throughput(size_t size, long count)
{
	void *ctx = open_context(), *router = NULL, *dealer = NULL;
	struct tput tx = { 0 }, rx = { 0 };
	pthread_t ttx, trx;
	int have_tx = 0, have_rx = 0, err;
	double rate = -1;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (count <= 0 || size > INT_MAX) {
		fprintf(stderr, "limits: bad throughput run (%ld messages of %zu bytes)\n", count, size);
		goto done;
	}
	if (!ctx)
		goto done;
	if (open_pair(ctx, &router, &dealer) != 0)
		goto done;
	/* one message through before the clock starts, so the TCP connection and the ZMTP
	 * handshake are not part of the figure */
	if (send_buf(dealer, "", 0, 0) != 0 || recv_routed(router, &id, &body, 0, 0) != 0) {
		fprintf(stderr, "limits: DEALER and ROUTER did not connect\n");
		goto done;
	}
	tx = (struct tput){ .sock = dealer, .size = size, .count = count };
	rx = (struct tput){ .sock = router, .size = size, .count = count };
	if ((err = pthread_create(&trx, NULL, tput_recv, &rx)) != 0) {
		fprintf(stderr, "limits: pthread_create: %s\n", strerror(err));
		goto done;
	}
	have_rx = 1;
	/* if this fails the receiver times out on its own and is joined below */
	if ((err = pthread_create(&ttx, NULL, tput_send, &tx)) != 0) {
		fprintf(stderr, "limits: pthread_create: %s\n", strerror(err));
		goto done;
	}
	have_tx = 1;
done:
	if (have_tx)
		pthread_join(ttx, NULL);
	if (have_rx)
		pthread_join(trx, NULL);
	if (have_tx && have_rx && tx.rc == 0 && rx.rc == 0) {
		/* the receiver stops at `count`; anything already behind it would be a duplicate */
		if (zmq_msg_recv(&id, router, ZMQ_DONTWAIT) >= 0)
			fprintf(stderr, "limits: more than %ld messages arrived\n", count);
		else if (rx.t > tx.t)
			rate = (double)count / (rx.t - tx.t);
	}
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	if (router)
		zmq_close(router);
	if (dealer)
		zmq_close(dealer);
	if (ctx)
		zmq_ctx_term(ctx);
	return rate;
}

struct echo {
	void *router;
	size_t size;
	long count;
	int rc;
};

/* Sends each message back to its routing id: the frames are forwarded, not copied. */
static void *echo_run(void *arg)
{
	struct echo *e = arg;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	e->rc = -1;
	for (long i = 1; i <= e->count; i++) {
		if (recv_routed(e->router, &id, &body, e->size, i) != 0)
			goto done;
		/* zmq_msg_send empties the message it sends, so both are ready for the next recv */
		if (zmq_msg_send(&id, e->router, ZMQ_SNDMORE) < 0 ||
		    zmq_msg_send(&body, e->router, 0) < 0) {
			fprintf(stderr, "limits: echo %ld failed: %s\n", i, zmq_strerror(zmq_errno()));
			goto done;
		}
	}
	e->rc = 0;
done:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* nearest rank: the smallest sample with at least per_mille/1000 of all samples at or below
 * it, in integers so that 0.99 * 100 cannot round up to the 100th sample */
static double percentile(const double *sorted, long n, long per_mille)
{
	long k = (n * per_mille + 999) / 1000;
	return sorted[k < 1 ? 0 : k - 1];
}

int limits_zmq_rtt(size_t size, long count, double *p50_us, double *p99_us)
{
	void *ctx = NULL, *router = NULL, *dealer = NULL;
	struct echo e = { 0 };
	pthread_t techo;
	int have_echo = 0, rc = -1, err;
	uint8_t *buf = NULL;
	double *us = NULL;
	zmq_msg_t reply;
	zmq_msg_init(&reply);
	if (count <= 0 || size > INT_MAX || (unsigned long)count > SIZE_MAX / sizeof *us) {
		fprintf(stderr, "limits: bad round-trip run (%ld of %zu bytes)\n", count, size);
		goto done;
	}
	if (!(buf = pattern_buf(size)))
		goto done;
	if (!(us = malloc((size_t)count * sizeof *us))) {
		fprintf(stderr, "limits: out of memory\n");
		goto done;
	}
	if (!(ctx = open_context()))
		goto done;
	if (open_pair(ctx, &router, &dealer) != 0)
		goto done;
	e = (struct echo){ .router = router, .size = size, .count = LIMITS_RTT_WARMUP + count };
	if ((err = pthread_create(&techo, NULL, echo_run, &e)) != 0) {
		fprintf(stderr, "limits: pthread_create: %s\n", strerror(err));
		goto done;
	}
	have_echo = 1;
	for (long i = -LIMITS_RTT_WARMUP; i < count; i++) {
		double t0 = monoclock_s();
		if (send_buf(dealer, buf, size, 0) != 0 || recv_frame(dealer, &reply) != 0) {
			fprintf(stderr, "limits: round trip %ld failed: %s\n", i + LIMITS_RTT_WARMUP + 1,
			        zmq_strerror(zmq_errno()));
			goto done;
		}
		double t1 = monoclock_s();
		if (zmq_msg_more(&reply) || zmq_msg_size(&reply) != size) {
			fprintf(stderr, "limits: round trip %ld: reply of %zu bytes, expected %zu\n",
			        i + LIMITS_RTT_WARMUP + 1, zmq_msg_size(&reply), size);
			goto done;
		}
		/* contents checked on the warm-up only: a 64 KiB memcmp would be part of the figure */
		if (i < 0 && size && memcmp(zmq_msg_data(&reply), buf, size) != 0) {
			fprintf(stderr, "limits: round trip %ld: reply differs\n", i + LIMITS_RTT_WARMUP + 1);
			goto done;
		}
		if (i >= 0)
			us[i] = (t1 - t0) * 1e6;
	}
	rc = 0;
done:
	if (have_echo) {
		/* on a client failure the echo thread gives up after its receive timeout */
		pthread_join(techo, NULL);
		if (e.rc != 0)
			rc = -1;
	}
	if (rc == 0) {
		qsort(us, (size_t)count, sizeof *us, cmp_double);
		*p50_us = percentile(us, count, 500);
		*p99_us = percentile(us, count, 990);
	}
	zmq_msg_close(&reply);
	if (router)
		zmq_close(router);
	if (dealer)
		zmq_close(dealer);
	if (ctx)
		zmq_ctx_term(ctx);
	free(buf);
	free(us);
	return rc;
}

/* ---------- connection set-up ---------- */

/* One end that answers: a context of its own (a node's), a bound ROUTER, an echo thread. */
struct answerer {
	void *ctx, *router;
	char ep[256];
	struct echo e;
	pthread_t t;
	bool running;
};

/* One round: DEALER i of ctx connects to answerer i, sends a message, reads the echo, sends
 * a second one, reads that echo, and all are closed: the exchanges of a Noise XX handshake and
 * its ACCEPT over a new connection. The echoes' contents are compared only if `check` (the
 * untimed round): a memcmp would be part of the figure. 0, or -1 with the reason on stderr. */
static int connect_round(void *ctx, const struct answerer *a, void **dealer, int parallel,
                         const uint8_t *buf, size_t size, zmq_msg_t *reply, bool check)
{
	int rc = -1;
	for (int i = 0; i < parallel; i++)
		dealer[i] = NULL;
	for (int i = 0; i < parallel; i++) {
		if (!(dealer[i] = open_socket(ctx, ZMQ_DEALER)))
			goto done;
		if (zmq_connect(dealer[i], a[i].ep) != 0) {
			fprintf(stderr, "limits: zmq_connect: %s\n", zmq_strerror(zmq_errno()));
			goto done;
		}
	}
	for (int turn = 0; turn < 2; turn++) {
		for (int i = 0; i < parallel; i++)
			if (send_buf(dealer[i], buf, size, 0) != 0) {
				fprintf(stderr, "limits: send failed: %s\n", zmq_strerror(zmq_errno()));
				goto done;
			}
		for (int i = 0; i < parallel; i++) {
			if (recv_frame(dealer[i], reply) != 0) {
				fprintf(stderr, "limits: no echo: %s\n", zmq_strerror(zmq_errno()));
				goto done;
			}
			if (zmq_msg_more(reply) || zmq_msg_size(reply) != size) {
				fprintf(stderr, "limits: echo of %zu bytes, expected %zu\n",
				        zmq_msg_size(reply), size);
				goto done;
			}
			if (check && size && memcmp(zmq_msg_data(reply), buf, size) != 0) {
				fprintf(stderr, "limits: echo differs from what was sent\n");
				goto done;
			}
		}
	}
	rc = 0;
done:
	for (int i = 0; i < parallel; i++)
		if (dealer[i])
			zmq_close(dealer[i]);
	return rc;
}

/* A context, a ROUTER bound on 127.0.0.1 and its echo thread for `count` messages. */
static int answerer_start(struct answerer *a, size_t size, long count)
{
	size_t eplen = sizeof a->ep;
	int err;
	if (!(a->ctx = open_context()))
		return -1;
	if (!(a->router = open_socket(a->ctx, ZMQ_ROUTER)))
		return -1;
	if (zmq_bind(a->router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(a->router, ZMQ_LAST_ENDPOINT, a->ep, &eplen) != 0) {
		fprintf(stderr, "limits: cannot bind tcp://127.0.0.1: %s\n", zmq_strerror(zmq_errno()));
		return -1;
	}
	a->e = (struct echo){ .router = a->router, .size = size, .count = count };
	if ((err = pthread_create(&a->t, NULL, echo_run, &a->e)) != 0) {
		fprintf(stderr, "limits: pthread_create: %s\n", strerror(err));
		return -1;
	}
	a->running = true;
	return 0;
}

/* Joins the echo thread (which gives up after its receive timeout if the run failed) and
 * closes everything; whether the echo thread saw all it should have. */
static bool answerer_stop(struct answerer *a)
{
	bool ok = a->running;
	if (a->running) {
		pthread_join(a->t, NULL);
		ok = a->e.rc == 0;
	}
	if (a->router)
		zmq_close(a->router);
	if (a->ctx)
		zmq_ctx_term(a->ctx);
	return ok;
}

double limits_zmq_connect_rate(size_t size, int parallel, long rounds)
{
	void *ctx = NULL, **dealer = NULL;
	struct answerer *a = NULL;
	double rate = -1;
	uint8_t *buf = NULL;
	zmq_msg_t reply;
	zmq_msg_init(&reply);
	if (parallel <= 0 || rounds <= 0 || size > INT_MAX || rounds > LONG_MAX / 2 - 1) {
		fprintf(stderr, "limits: bad connection run (%d x %ld)\n", parallel, rounds);
		goto done;
	}
	if (!(buf = pattern_buf(size)))
		goto done;
	dealer = calloc((size_t)parallel, sizeof *dealer);
	a = calloc((size_t)parallel, sizeof *a);
	if (!dealer || !a) {
		fprintf(stderr, "limits: out of memory\n");
		goto done;
	}
	/* the dialling node's context; each answering node has its own (answerer_start) */
	if (!(ctx = open_context()))
		goto done;
	/* one untimed round first, as the other ZeroMQ figures warm up */
	for (int i = 0; i < parallel; i++)
		if (answerer_start(&a[i], size, (rounds + 1) * 2) != 0)
			goto done;
	if (connect_round(ctx, a, dealer, parallel, buf, size, &reply, true) != 0)
		goto done;
	double t0 = monoclock_s();
	for (long r = 0; r < rounds; r++)
		if (connect_round(ctx, a, dealer, parallel, buf, size, &reply, false) != 0)
			goto done;
	rate = (double)rounds * parallel / (monoclock_s() - t0);
done:
	for (int i = 0; a && i < parallel; i++)
		if (!answerer_stop(&a[i]))
			rate = -1;
	zmq_msg_close(&reply);
	if (ctx)
		zmq_ctx_term(ctx);
	free(a);
	free(dealer);
	free(buf);
	return rate;
}

/* ---------- raw ZeroMQ's memory per pipe ---------- */

#define FLOOR_MSG 64
#define FLOOR_WAIT_MS 30000

/* This process's resident set in KiB, from /proc/self/status; -1 if unreadable. */
static long vmrss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The ROUTER side, in its own process: binds, tells the endpoint on out, then answers one
 * warm-up message and `pipes` more, each from its own DEALER. Its growth in KiB from just
 * before the first answer (one pipe up, the I/O thread running: *base) to after the last. */
static long floor_router(void *ctx, int pipes, FILE *out, long *base)
{
	char ep[256];
	size_t eplen = sizeof ep;
	long before = -1;
	void *r = open_socket(ctx, ZMQ_ROUTER);
	if (!r || zmq_bind(r, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 ||
	    fprintf(out, "%s\n", ep) < 0 || fflush(out) != 0) {
		fprintf(stderr, "limits: floor ROUTER: %s\n", zmq_strerror(zmq_errno()));
		goto out;
	}
	for (int i = 0; i <= pipes; i++) {
		zmq_msg_t id, body;
		zmq_msg_init(&id);
		zmq_msg_init(&body);
		int rc = recv_routed(r, &id, &body, FLOOR_MSG, i);
		/* the DEALERs come only after the warm-up answer, so nothing else is up yet */
		if (rc == 0 && i == 0)
			before = vmrss_kib();
		if (rc == 0 && (zmq_msg_send(&id, r, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, r, 0) < 0))
			rc = -1;
		zmq_msg_close(&id);
		zmq_msg_close(&body);
		if (rc != 0) {
			before = -1;
			goto out;
		}
	}
out:;
	long after = before >= 0 ? vmrss_kib() : -1;
	if (r)
		zmq_close(r);
	*base = before;
	return before >= 0 && after >= 0 ? after - before : -1;
}

/* The DEALER side, in its own process: one warm-up DEALER, then `pipes` more, each sending one
 * message and taking its answer. Its growth in KiB over the `pipes` DEALERs (from *base). */
static long floor_dealers(void *ctx, int pipes, const char *ep, long *base)
{
	char msg[FLOOR_MSG] = { 0 };
	long before = -1, after = -1;
	void **d = calloc((size_t)pipes + 1, sizeof *d);
	int open = 0;
	if (!d)
		return -1;
	for (int i = 0; i <= pipes; i++) {
		if (i == 1)
			before = vmrss_kib();
		d[i] = open_socket(ctx, ZMQ_DEALER);
		if (!d[i] || zmq_connect(d[i], ep) != 0 || send_buf(d[i], msg, sizeof msg, 0) != 0)
			goto out;
		open = i + 1;
		/* the warm-up waits for its answer, so that the ROUTER measures before the rest */
		if (i == 0 && zmq_recv(d[0], msg, sizeof msg, 0) != (int)sizeof msg)
			goto out;
	}
	for (int i = 1; i <= pipes; i++)
		if (zmq_recv(d[i], msg, sizeof msg, 0) != (int)sizeof msg)
			goto out;
	after = vmrss_kib();
out:
	if (after < 0)
		fprintf(stderr, "limits: floor DEALER %d: %s\n", open, zmq_strerror(zmq_errno()));
	for (int i = 0; i < open; i++)
		zmq_close(d[i]);
	if (open <= pipes && d[open])
		zmq_close(d[open]);
	free(d);
	*base = before;
	return before >= 0 && after >= 0 ? after - before : -1;
}

/* Reads one line within FLOOR_WAIT_MS into buf (without its newline); 0 or -1. */
static int read_line_within(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	double end = monoclock_s() + FLOOR_WAIT_MS / 1000.0;
	while (got + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = (int)((end - monoclock_s()) * 1000);
		if (ms <= 0 || poll(&p, 1, ms) <= 0 || read(fd, buf + got, 1) != 1)
			return -1;
		if (buf[got] == '\n') {
			buf[got] = '\0';
			return 0;
		}
		got++;
	}
	return -1;
}

int limits_floor_child(int argc, char **argv)
{
	char c;
	int pipes = argc >= 3 ? atoi(argv[2]) : 0;
	if (argc < 3 || pipes < 1 || (strcmp(argv[1], "router") != 0 &&
	                              (strcmp(argv[1], "dealers") != 0 || argc < 4)))
		return 2;
	void *ctx = open_context();
	long base = -1;
	long v = !ctx ? -1 : argv[1][0] == 'r' ? floor_router(ctx, pipes, stdout, &base) :
	                                         floor_dealers(ctx, pipes, argv[3], &base);
	printf("%ld %ld\n", v, base);
	fflush(stdout);
	/* stay connected while the other side measures: until the parent closes stdin */
	while (read(0, &c, 1) > 0)
		;
	if (ctx)
		zmq_ctx_term(ctx);
	return v < 0;
}

/* Starts `self --zmq-floor-child args...` with pipes on its stdin and stdout. */
static pid_t spawn_floor(const char *self, char *const argv[], int *to, int *from)
{
	int in[2], out[2];
	if (pipe(in) != 0)
		return -1;
	if (pipe(out) != 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(self, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		return -1;
	}
	*to = in[1];
	*from = out[0];
	return pid;
}

double limits_zmq_rss_per_pipe_kib(const char *self, int pipes, double *router_kib)
{
	char n[16], ep[256] = "", line[64];
	int to[2] = { -1, -1 }, from[2] = { -1, -1 };
	pid_t pid[2] = { -1, -1 };
	long v[2] = { -1, -1 }, base[2] = { -1, -1 };
	double out = -1;
	*router_kib = -1;
	snprintf(n, sizeof n, "%d", pipes);
	char *rargv[] = { (char *)self, "--zmq-floor-child", "router", n, NULL };
	pid[0] = spawn_floor(self, rargv, &to[0], &from[0]);
	if (pid[0] < 0 || read_line_within(from[0], ep, sizeof ep) != 0) {
		fprintf(stderr, "limits: the floor's ROUTER process gave no endpoint\n");
		goto out;
	}
	char *dargv[] = { (char *)self, "--zmq-floor-child", "dealers", n, ep, NULL };
	pid[1] = spawn_floor(self, dargv, &to[1], &from[1]);
	for (int i = 0; i < 2; i++) {
		char *end;
		if (pid[i] < 0 || read_line_within(from[i], line, sizeof line) != 0) {
			fprintf(stderr, "limits: the floor's %s process gave no figure within %d s\n",
			        i ? "DEALER" : "ROUTER", FLOOR_WAIT_MS / 1000);
			goto out;
		}
		v[i] = strtol(line, &end, 10);
		char *p = end;
		base[i] = strtol(p, &end, 10);
		if (end == p || *end)
			v[i] = -1;
	}
	if (v[0] >= 0 && v[1] >= 0) {
		out = (double)(v[0] + v[1]) / 2.0 / pipes;
		*router_kib = (double)base[0];
	} else {
		fprintf(stderr, "limits: the floor's processes could not measure (%ld, %ld)\n", v[0],
		        v[1]);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);      /* the child sees EOF and leaves */
		if (from[i] >= 0)
			close(from[i]);
	}
	for (int i = 0; i < 2; i++) {
		int st;
		if (pid[i] <= 0)
			continue;
		if (out < 0)
			kill(pid[i], SIGKILL);   /* our own child, by PID */
		while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
			;
	}
	return out;
}
