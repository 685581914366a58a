/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * link: the ZeroMQ transport behind link_zmq (see link.h).
 *
 * Every session we initiate has its own DEALER socket, and zmq_poll() costs one ZMQ_EVENTS
 * query and one poll() entry per socket on every turn of the loop (two of each when it sleeps:
 * it looks once without waiting, then again after): with 63 peers that was about 100 us a
 * turn, the largest single cost of forming a mesh. Instead, every socket's ZMQ_FD sits in one
 * epoll set, the DEALERs', the ROUTER's and the monitor's (below), which the loop polls as a
 * single descriptor, so a turn costs the same with 3 peers or 1000, only sockets that have
 * something are read, and a turn that finds nothing makes no zmq call at all.
 *
 * ZMQ_FD is edge-like: it signals commands in the socket's mailbox, not messages, and any zmq
 * call on the socket (a send, a bind, a connect, an events query) may consume that signal. A pipe's
 * writer wakes its reader only while the reader is asleep, which it is only after its last
 * look found the pipe empty, and a new pipe counts its reader awake. So:
 * - a socket that is readable is read until zmq says EAGAIN, and only then does its
 *   descriptor go quiet; one read up to its limit (256 frames, or connwatch's batch) is
 *   rechecked;
 * - a socket we sent on, bound or connected, whose signal the call may have swallowed, is
 *   rechecked;
 * - the ROUTER and the monitor are rechecked when they join the set;
 * - every recheck (a ZMQ_EVENTS query) is made in poll_items(), which the driver calls right
 *   before it polls: one that finds frames writes the kick eventfd, also in the set, so the
 *   loop comes straight back instead of sleeping on a frame that has already arrived.
 *
 * Incoming connections are the ROUTER's, and zmq alone knows them: connwatch.c watches them
 * through a socket monitor, read on this thread like the ROUTER, and closes those beyond its
 * bounds. It reads the monitor when the set says it has events (or a recheck is due), before
 * the ROUTER's frames, and again when a frame comes over a connection it has not heard of
 * (connwatch_on_frame), so it has heard of a connection before the first message from it is
 * handed over; it learns each connection's routing id from the descriptor the message came in
 * on (ZMQ_SRCFD). An event posted after the set was read waits for the next turn: only a new
 * connection on a closed one's descriptor number with the closed one's routing id, which
 * only a peer that sets its own could arrange, would pass for the closed one until then.
 *
 * Invariants: a dialled connection is in the table under its sid exactly from dial() to
 * hangup(); its descriptor is in the epoll set, registered as its sid (the kick as 0, which no
 * session has; the ROUTER and the monitor as EP_ROUTER and EP_WATCH, above every sid), and
 * leaves the set before zmq closes the socket. Anything that names a
 * connection after a call into the sink (epoll events, rechecks) names it by sid and looks it
 * up again, because the sink may have hung it up.
 */
#include "link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "connwatch.h"
#include "linkconns.h"
#include "wire.h"

_Static_assert((int)LINK_CLOSED_SOURCE == (int)CONNWATCH_SOURCE &&
               (int)LINK_CLOSED_TOTAL == (int)CONNWATCH_TOTAL &&
               (int)LINK_CLOSED_UNAUTH_TIMEOUT == (int)CONNWATCH_TIMEOUT &&
               LINK_MAX_RID == CONNWATCH_MAX_RID, "connwatch's reasons are the link's");

#define READ_BATCH 256               /* frames read from one socket before the others' turn */
#define EP_ROUTER (1ull << 32)       /* epoll tags beyond every sid (32 bits) */
#define EP_WATCH ((1ull << 32) + 1)

struct link {
	void *ctx;
	struct link_sink sink;
	void *router;
	char endpoint[LINK_EPLEN];
	uint16_t port;               /* the one port of every address listened on */
	struct ipaddr also[LINK_MAX_ADDRS]; /* addresses added by listen_also(), for unlisten */
	size_t n_also;
	struct connwatch *watch;     /* the ROUTER's connections not yet authenticated */
	uint64_t now_ms;             /* the engine's time, from clock() */

	struct linkconns conns;      /* the DEALERs we dialled, by sid (linkconns.h) */

	int epfd;
	int kick_fd;                 /* eventfd: written when a recheck found frames */
	uint32_t *recheck;           /* sids of DEALERs to look at again */
	size_t nrecheck, caprecheck;
	bool router_recheck, watch_recheck;  /* the ROUTER, the monitor: look at them again */
	bool recheck_all;            /* a recheck could not be queued: read every DEALER */
	bool hold_router, hold_dealers;      /* tests only (link_ops.hold): leave them unread */

	zmq_msg_t txmsg;             /* frame_buf()'s buffer; always initialised */
	uint8_t ridbuf[LINK_MAX_RID + 1];
};

/* ---------- connections by sid (linkconns.c) ---------- */

static struct linkconn *conn_get(const struct link *l, uint32_t sid)
{
	return linkconns_get(&l->conns, sid);
}

/* ---------- the epoll set ---------- */

static void kick(struct link *l)
{
	uint64_t one = 1;
	(void)!write(l->kick_fd, &one, sizeof one);
}

/* c's DEALER joins the epoll set (before anything is sent on it). */
static int watch(struct link *l, struct linkconn *c)
{
	int fd;
	size_t fl = sizeof fd;
	if (zmq_getsockopt(c->sock, ZMQ_FD, &fd, &fl) != 0)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = c->sid };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -1;
	c->fd = fd;
	return 0;
}

/* Leaves the set before zmq closes the socket (and, later, its descriptor); close_all()
 * closes the set first. */
static void conn_close(struct link *l, struct linkconn *c)
{
	if (c->fd >= 0 && l->epfd >= 0)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->sock)
		zmq_close(c->sock);
	free(c);
}

/* c's DEALER may hold frames its descriptor no longer announces: look again soon. */
static void recheck(struct link *l, struct linkconn *c)
{
	if (c->recheck)
		return;
	if (l->nrecheck == l->caprecheck) {
		size_t ncap = l->caprecheck ? l->caprecheck * 2 : 64;
		uint32_t *nr = realloc(l->recheck, ncap * sizeof *nr);
		if (!nr) {
			/* cannot queue it: the next turn reads every DEALER instead (read_set),
			 * and settle() makes that turn come at once */
			l->recheck_all = true;
			return;
		}
		l->recheck = nr;
		l->caprecheck = ncap;
	}
	c->recheck = true;
	l->recheck[l->nrecheck++] = c->sid;
}

static bool sock_readable(void *sock)
{
	int events = 0;
	size_t el = sizeof events;
	return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &el) == 0 && (events & ZMQ_POLLIN);
}

/* A socket's ZMQ_FD joins the set as tag. */
static int watch_fd(struct link *l, void *sock, uint64_t tag)
{
	int fd;
	size_t fl = sizeof fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &fl) != 0)
		return -1;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---------- setup ---------- */

static void set_opt_int(void *sock, int opt, int v)
{
	(void)zmq_setsockopt(sock, opt, &v, sizeof v);
}

static void common_sockopts(void *sock)
{
	int64_t max = WIRE_MAX_FRAME;
	(void)zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
	set_opt_int(sock, ZMQ_LINGER, 0);
	/* zmq counts messages, not bytes: this bounds what a stuck peer pins in zmq's pipes
	 * (LINK_ZMQ_HWM frames of at most WIRE_MAX_FRAME) on top of the engine's queue_bytes */
	set_opt_int(sock, ZMQ_SNDHWM, LINK_ZMQ_HWM);
	set_opt_int(sock, ZMQ_RCVHWM, LINK_ZMQ_HWM);
	/* a peer that vanished (power, cable) never closes its end: the kernel finds out */
	set_opt_int(sock, ZMQ_TCP_KEEPALIVE, 1);
	set_opt_int(sock, ZMQ_TCP_KEEPALIVE_IDLE, LINK_KEEPALIVE_IDLE_S);
	set_opt_int(sock, ZMQ_TCP_KEEPALIVE_INTVL, LINK_KEEPALIVE_INTVL_S);
	set_opt_int(sock, ZMQ_TCP_KEEPALIVE_CNT, LINK_KEEPALIVE_CNT);
}

/* "tcp://10.0.0.1:47474", "tcp://[fd00::1]:47474", "tcp://[fe80::1%eth0]:47474" */
static void tcp_endpoint(const struct ipaddr *ip, uint16_t port, char ep[static LINK_EPLEN])
{
	char a[IPADDR_EPLEN];
	snprintf(ep, LINK_EPLEN, "tcp://%s", ipaddr_endpoint(ip, port, a));
}

/* zmq reads ZMQ_IPV6 when it binds: an IPv4 address is bound on an IPv4 socket, so that the
 * peer addresses of its connections stay IPv4 text (not ::ffff:...), and an IPv6 one on an
 * IPv6 socket, which zmq refuses without it. */
static int bind_at(struct link *l, const struct ipaddr *ip, const char *ep)
{
	set_opt_int(l->router, ZMQ_IPV6, !ipaddr_is_v4(ip));
	return zmq_bind(l->router, ep);
}

static void close_all(void *lv)
{
	struct link *l = lv;
	if (!l)
		return;
	/* the set first: the sockets whose descriptors it holds are closed below */
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	for (size_t i = 0; i < l->conns.cap; i++)
		if (l->conns.slots[i])
			conn_close(l, l->conns.slots[i]);
	linkconns_free(&l->conns);
	connwatch_destroy(&l->watch);   /* the monitor goes before its socket */
	if (l->router)
		zmq_close(l->router);
	if (l->kick_fd >= 0)
		close(l->kick_fd);
	free(l->recheck);
	zmq_msg_close(&l->txmsg);
	free(l);
}

static void on_watch_closed(void *arg, enum connwatch_why why, const char *addr)
{
	struct link *l = arg;
	if (l->sink.closed)
		l->sink.closed(l->sink.arg, (enum link_closed)why, addr);
}

static void *listen_on(const struct link_config *cfg, uint16_t *port, char *err, size_t errcap)
{
	struct link *l = calloc(1, sizeof *l);
	char bind_ep[LINK_EPLEN];
	size_t eplen;
	if (!l) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	l->ctx = cfg->env;
	l->sink = cfg->sink;
	l->epfd = l->kick_fd = -1;
	zmq_msg_init(&l->txmsg);
	if (linkconns_init(&l->conns) != MESH_OK) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	{
		/* the kick is registered as sid 0, which no session has */
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
		if (l->epfd < 0 || l->kick_fd < 0 ||
		    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->kick_fd, &ev) != 0) {
			snprintf(err, errcap, "epoll: %s", strerror(errno));
			goto fail;
		}
	}
	l->router = zmq_socket(l->ctx, ZMQ_ROUTER);
	if (!l->router) {
		snprintf(err, errcap, "zmq ROUTER socket: %s", zmq_strerror(errno));
		goto fail;
	}
	common_sockopts(l->router);
	set_opt_int(l->router, ZMQ_ROUTER_MANDATORY, 1);
	/* Anyone on the LAN can connect, and each connection holds a descriptor and zmq's
	 * buffers (about 23 KiB) until zmq closes it. zmq's default gives a connection that
	 * never completes the greeting 30 s; a libzmq peer completes it in one round trip, so
	 * this bound cannot close a working link. No ZMTP heartbeats (link.h says why). */
	set_opt_int(l->router, ZMQ_HANDSHAKE_IVL, LINK_HANDSHAKE_IVL_MS);
	set_opt_int(l->router, ZMQ_BACKLOG, LINK_LISTEN_BACKLOG);
	/* A greeted connection that says nothing, or only ZMTP, or a HELLO and never a FINISH,
	 * is connwatch's to bound. It watches from before the bind, so that it misses none. */
	l->watch = connwatch_new(l->ctx, l->router, cfg->unauth_lifetime_ms, on_watch_closed, l,
	                         err, errcap);
	if (!l->watch)
		goto fail;
	if (watch_fd(l, l->router, EP_ROUTER) != 0 ||
	    watch_fd(l, connwatch_socket(l->watch), EP_WATCH) != 0) {
		snprintf(err, errcap, "epoll: %s", strerror(errno));
		goto fail;
	}
	l->router_recheck = l->watch_recheck = true;   /* their pipes count their readers awake */
	tcp_endpoint(&cfg->ip, cfg->port, bind_ep);
	if (cfg->port == 0)
		strcpy(strrchr(bind_ep, ':') + 1, "*");
	if (bind_at(l, &cfg->ip, bind_ep) != 0) {
		snprintf(err, errcap, "cannot bind %s: %s", bind_ep, zmq_strerror(errno));
		goto fail;
	}
	eplen = sizeof l->endpoint;
	if (zmq_getsockopt(l->router, ZMQ_LAST_ENDPOINT, l->endpoint, &eplen) != 0) {
		snprintf(err, errcap, "cannot read the bound endpoint: %s", zmq_strerror(errno));
		goto fail;
	}
	{
		const char *colon = strrchr(l->endpoint, ':');
		long p = colon ? strtol(colon + 1, NULL, 10) : 0;
		if (p <= 0 || p > 65535) {
			snprintf(err, errcap, "unexpected bound endpoint %s", l->endpoint);
			goto fail;
		}
		*port = (uint16_t)p;
	}
	connwatch_set_port(l->watch, *port);
	l->port = *port;
	return l;
fail:
	close_all(l);
	return NULL;
}

static void endpoint_at(const struct link *l, const struct ipaddr *ip, char ep[static LINK_EPLEN])
{
	tcp_endpoint(ip, l->port, ep);
}

static size_t also_index(const struct link *l, const struct ipaddr *ip)
{
	size_t i = 0;
	while (i < l->n_also && !ipaddr_eq(&l->also[i], ip))
		i++;
	return i;
}

static enum mesh_err listen_also(void *lv, const struct ipaddr *ip, char *err, size_t errcap)
{
	struct link *l = lv;
	char ep[LINK_EPLEN];
	endpoint_at(l, ip, ep);
	/* open()'s own address, or one added before: binding it again would fail */
	if (strcmp(ep, l->endpoint) == 0 || also_index(l, ip) < l->n_also)
		return MESH_OK;
	if (l->n_also == LINK_MAX_ADDRS) {
		snprintf(err, errcap, "cannot bind %s: already listening on %d addresses", ep,
		         LINK_MAX_ADDRS + 1);
		return MESH_ELIMIT;
	}
	int rc = bind_at(l, ip, ep);
	l->router_recheck = true;   /* a bind may swallow the ROUTER's signal */
	if (rc != 0) {
		snprintf(err, errcap, "cannot bind %s: %s", ep, zmq_strerror(errno));
		return MESH_EIO;
	}
	l->also[l->n_also++] = *ip;
	return MESH_OK;
}

static void unlisten(void *lv, const struct ipaddr *ip)
{
	struct link *l = lv;
	char ep[LINK_EPLEN];
	size_t i = also_index(l, ip);
	if (i == l->n_also)
		return;             /* open()'s stays for the link's life; unknown: nothing */
	endpoint_at(l, ip, ep);
	(void)zmq_unbind(l->router, ep);
	l->router_recheck = true;   /* so may an unbind */
	memmove(&l->also[i], &l->also[i + 1], (l->n_also - i - 1) * sizeof l->also[0]);
	l->n_also--;
}

static const char *endpoint_of(const void *lv)
{
	const struct link *l = lv;
	return l->endpoint;
}

/* ---------- connections ---------- */

static enum mesh_err dial_peer(void *lv, uint32_t sid, const struct ipaddr *ip, uint16_t port)
{
	struct link *l = lv;
	char ep[LINK_EPLEN];
	if (sid == 0 || conn_get(l, sid))
		return MESH_ESTATE;
	struct linkconn *c = calloc(1, sizeof *c);
	if (!c)
		return MESH_ENOMEM;
	c->sid = sid;
	c->fd = -1;
	ipaddr_endpoint(ip, port, c->addr);
	tcp_endpoint(ip, port, ep);
	c->sock = zmq_socket(l->ctx, ZMQ_DEALER);
	if (!c->sock || watch(l, c) != 0)
		goto fail;
	common_sockopts(c->sock);
	set_opt_int(c->sock, ZMQ_RECONNECT_IVL, 100);
	set_opt_int(c->sock, ZMQ_RECONNECT_IVL_MAX, 2000);
	set_opt_int(c->sock, ZMQ_IPV6, !ipaddr_is_v4(ip));
	if (zmq_connect(c->sock, ep) != 0 || linkconns_add(&l->conns, c) != MESH_OK)
		goto fail;
	recheck(l, c);   /* the connect may have taken a signal, like a send */
	return MESH_OK;
fail:
	conn_close(l, c);
	return MESH_EIO;
}

static void hang_up(void *lv, uint32_t sid)
{
	struct link *l = lv;
	struct linkconn *c = conn_get(l, sid);
	if (!c)
		return;
	linkconns_del(&l->conns, sid);
	conn_close(l, c);   /* a recheck queued for sid finds nothing and is skipped */
}

static size_t dialled_count(const void *lv)
{
	const struct link *l = lv;
	return l->conns.n;
}

static void set_linger(void *lv, int ms)
{
	struct link *l = lv;
	for (size_t i = 0; i < l->conns.cap; i++)
		if (l->conns.slots[i])
			set_opt_int(l->conns.slots[i]->sock, ZMQ_LINGER, ms);
	set_opt_int(l->router, ZMQ_LINGER, ms);
}

/* ---------- sending ---------- */

static enum mesh_err send_err(int rc, int err)
{
	if (rc >= 0)
		return MESH_OK;
	return err == EAGAIN ? MESH_ELIMIT : MESH_EIO;
}

/* Sends frame (or, with frame NULL, txmsg) on its route. */
static enum mesh_err send_on(struct link *l, const struct link_route *to, const uint8_t *frame,
                             size_t len)
{
	int rc, err;
	if (to->sid) {
		struct linkconn *c = conn_get(l, to->sid);
		if (!c)
			return MESH_EIO;
		rc = frame ? zmq_send(c->sock, frame, len, ZMQ_DONTWAIT)
		           : zmq_msg_send(&l->txmsg, c->sock, ZMQ_DONTWAIT);
		err = errno;        /* before recheck() makes calls of its own */
		recheck(l, c);      /* the send may have swallowed its readiness signal */
	} else {
		rc = zmq_send(l->router, to->rid, to->rid_len, ZMQ_DONTWAIT | ZMQ_SNDMORE);
		if (rc >= 0)
			rc = frame ? zmq_send(l->router, frame, len, ZMQ_DONTWAIT)
			           : zmq_msg_send(&l->txmsg, l->router, ZMQ_DONTWAIT);
		err = errno;
		l->router_recheck = true;
	}
	return send_err(rc, err);
}

static enum mesh_err send_copy(void *lv, const struct link_route *to, const uint8_t *frame,
                               size_t len)
{
	return send_on(lv, to, frame, len);
}

static uint8_t *frame_buffer(void *lv, size_t len)
{
	struct link *l = lv;
	zmq_msg_close(&l->txmsg);
	if (zmq_msg_init_size(&l->txmsg, len) != 0) {
		zmq_msg_init(&l->txmsg);
		return NULL;
	}
	return zmq_msg_data(&l->txmsg);
}

/* zmq_msg_send() takes the message on success and leaves it, bytes and all, on failure. */
static enum mesh_err send_buffer(void *lv, const struct link_route *to)
{
	return send_on(lv, to, NULL, 0);
}

/* ---------- receiving ---------- */

/* Receives one whole zmq message part into buf; -1 if none. */
static int recv_part(void *sock, uint8_t *buf, size_t cap, size_t *len, bool *more)
{
	int more_i = 0;
	size_t ml = sizeof more_i;
	int n = zmq_recv(sock, buf, cap, ZMQ_DONTWAIT);
	if (n < 0)
		return -1;
	*len = (size_t)n;
	zmq_getsockopt(sock, ZMQ_RCVMORE, &more_i, &ml);
	*more = more_i != 0;
	return 0;
}

static void drain_parts(void *sock)
{
	int more = 1;
	size_t ml = sizeof more;
	uint8_t junk[64];
	while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml) == 0 && more)
		if (zmq_recv(sock, junk, sizeof junk, ZMQ_DONTWAIT) < 0)
			break;
}

/* zmq's Peer-Address of a link-local IPv6 peer lacks its interface, without which the
 * address names nothing (ipaddr.h): the socket's own peer address has it. */
static void scoped(int fd, char addr[static IPADDR_EPLEN])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct ipaddr a;
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ipaddr_from_sockaddr((const struct sockaddr *)&ss, &a, NULL))
		ipaddr_str(&a, addr);
}

/* ROUTER messages are [routing id, frame]; anything else is dropped. The monitor is not read
 * first when the set said nothing of it: a read that finds nothing costs two system calls a
 * batch, and connwatch_on_frame() reads it for a connection's first frame. */
static void read_router(struct link *l)
{
	for (int i = 0;; i++) {
		size_t rid_len;
		bool more;
		zmq_msg_t body;
		char addr[IPADDR_EPLEN] = "?";
		if (i == READ_BATCH) {
			l->router_recheck = true;   /* stopped short of empty: no signal will come */
			return;
		}
		if (recv_part(l->router, l->ridbuf, sizeof l->ridbuf, &rid_len, &more) != 0)
			return;
		if (!more)
			continue;
		if (rid_len > LINK_MAX_RID) {
			drain_parts(l->router);
			continue;
		}
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, l->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&body);
			continue;
		}
		if (zmq_msg_more(&body)) {
			drain_parts(l->router);
			zmq_msg_close(&body);
			l->sink.malformed(l->sink.arg);
			continue;
		}
		int srcfd = zmq_msg_get(&body, ZMQ_SRCFD);
		l->watch_recheck |= connwatch_on_frame(l->watch, srcfd, l->ridbuf, rid_len, l->now_ms);
		const char *pa = zmq_msg_gets(&body, "Peer-Address");
		if (pa)
			snprintf(addr, sizeof addr, "%s", pa);
		if (pa && strncmp(pa, "fe80:", 5) == 0)
			scoped(srcfd, addr);
		struct link_route from = { .rid = l->ridbuf, .rid_len = rid_len };
		l->sink.frame(l->sink.arg, &from, addr, zmq_msg_data(&body), zmq_msg_size(&body));
		zmq_msg_close(&body);
	}
}

/* Reads sid's DEALER until zmq says EAGAIN, or queues a recheck if it stopped at its limit. */
static void read_dealer(struct link *l, uint32_t sid)
{
	struct linkconn *c;
	for (int i = 0;; i++) {
		zmq_msg_t body;
		char addr[sizeof c->addr];
		if (!(c = conn_get(l, sid)))
			return;     /* hung up while we were handing over its frames */
		if (i == READ_BATCH) {
			recheck(l, c);
			return;
		}
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, c->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&body);
			return;
		}
		if (zmq_msg_more(&body)) {
			drain_parts(c->sock);
			zmq_msg_close(&body);
			l->sink.malformed(l->sink.arg);
			continue;
		}
		memcpy(addr, c->addr, sizeof addr);   /* c may be gone when the sink returns */
		struct link_route from = { .sid = sid };
		l->sink.frame(l->sink.arg, &from, addr, zmq_msg_data(&body), zmq_msg_size(&body));
		zmq_msg_close(&body);
	}
}

/* The epoll set is readable: the sockets it names, then the rechecks that found frames
 * (settle). A socket read to its limit, or sent on meanwhile, is queued again, and waits
 * for the next turn (settle() writes the kick: it comes at once), so one busy peer cannot
 * hold the loop. */
static void read_set(struct link *l)
{
	struct epoll_event evs[64];
	int k = epoll_wait(l->epfd, evs, 64, 0);
	bool watch = l->watch_recheck, router = l->router_recheck, kicked = false;
	for (int i = 0; i < k; i++) {
		watch |= evs[i].data.u64 == EP_WATCH;
		router |= evs[i].data.u64 == EP_ROUTER;
		kicked |= evs[i].data.u64 == 0;
	}
	if (kicked) {   /* read only when written: a read that finds nothing is a system call */
		uint64_t junk;
		(void)!read(l->kick_fd, &junk, sizeof junk);
	}
	size_t n = l->hold_dealers ? 0 : l->nrecheck;
	l->watch_recheck = l->router_recheck = false;
	if (watch)   /* the monitor before the ROUTER: what it said so far, then the frames */
		l->watch_recheck = connwatch_on_readable(l->watch, l->now_ms);
	if (router && !l->hold_router)
		read_router(l);
	else
		l->router_recheck = router;
	for (int i = 0; i < k && !l->hold_dealers; i++)
		if (evs[i].data.u64 != 0 && evs[i].data.u64 < EP_ROUTER)
			read_dealer(l, (uint32_t)evs[i].data.u64);
	for (size_t i = 0; i < n; i++) {
		struct linkconn *c = conn_get(l, l->recheck[i]);
		if (!c)
			continue;
		c->recheck = false;
		read_dealer(l, c->sid);
	}
	if (l->nrecheck > n)
		memmove(l->recheck, l->recheck + n, (l->nrecheck - n) * sizeof *l->recheck);
	l->nrecheck -= n;
	if (l->recheck_all && !l->hold_dealers) {
		/* by slot; a callback that dials or hangs up moves others between slots, and then
		 * the next turn reads them all again */
		uint64_t gen = l->conns.gen;
		l->recheck_all = false;
		for (size_t i = 0; i < l->conns.cap; i++)
			if (l->conns.slots[i])
				read_dealer(l, l->conns.slots[i]->sid);
		if (l->conns.gen != gen)
			l->recheck_all = true;
	}
}

/* The rechecks, made right before the driver polls: a socket with frames stays queued and
 * writes the kick, one without leaves the queue (its next frame will signal). */
static void settle(struct link *l)
{
	bool more = l->recheck_all;
	if (l->router_recheck)
		more |= l->router_recheck = sock_readable(l->router);
	if (l->watch_recheck)
		more |= l->watch_recheck = sock_readable(connwatch_socket(l->watch));
	size_t k = 0;
	for (size_t i = 0; i < l->nrecheck; i++) {
		struct linkconn *c = conn_get(l, l->recheck[i]);
		if (!c)
			continue;
		if (sock_readable(c->sock))
			l->recheck[k++] = c->sid;
		else
			c->recheck = false;
	}
	l->nrecheck = k;
	if (more || k)
		kick(l);
}

/* The driver asks for the items right before it polls, so the rechecks are made here and no
 * driver has to know of them; a count (items NULL) makes none. */
static size_t poll_items(void *lv, zmq_pollitem_t *items, size_t cap)
{
	struct link *l = lv;
	if (items && cap >= 1) {
		settle(l);
		items[0] = (zmq_pollitem_t){ .fd = l->epfd, .events = ZMQ_POLLIN };
	}
	return 1;
}

static void read_ready(void *lv, const zmq_pollitem_t *items, size_t n)
{
	struct link *l = lv;
	for (size_t i = 0; i < n; i++)
		if ((items[i].revents & ZMQ_POLLIN) && !items[i].socket && items[i].fd == l->epfd)
			read_set(l);
}

#ifdef MESH_TEST_HOOKS
/* Leaves the ROUTER, the DEALERs or both unread from now on, to force an order of frames (a
 * held socket's frames wait, and the loop spins while they do); true if the ROUTER is held
 * with frames waiting. */
static bool hold(void *lv, bool router, bool dealers)
{
	struct link *l = lv;
	if (l->hold_router && !router)
		l->router_recheck = true;
	if (l->hold_dealers && !dealers)
		kick(l);
	l->hold_router = router;
	l->hold_dealers = dealers;
	return router && sock_readable(l->router);
}
#endif

static void on_clock(void *lv, uint64_t now_ms)
{
	struct link *l = lv;
	l->now_ms = now_ms;
	connwatch_on_clock(l->watch, now_ms);
}

static uint64_t on_next_due(const void *lv)
{
	const struct link *l = lv;
	return connwatch_next_due(l->watch);
}

static void on_proven(void *lv, const struct link_route *from)
{
	struct link *l = lv;
	if (!from->sid)
		connwatch_proven(l->watch, from->rid, from->rid_len);
}

static void on_unproven(void *lv, const struct link_route *from, uint64_t now_ms)
{
	struct link *l = lv;
	if (!from->sid)
		connwatch_unproven(l->watch, from->rid, from->rid_len, now_ms);
}

const struct link_ops link_zmq = {
	.open = listen_on,
	.close = close_all,
	.endpoint = endpoint_of,
	.dial = dial_peer,
	.hangup = hang_up,
	.send = send_copy,
	.frame_buf = frame_buffer,
	.send_buf = send_buffer,
	.linger = set_linger,
	.pollitems = poll_items,
	.on_ready = read_ready,
	.dialled = dialled_count,
	.clock = on_clock,
	.next_due = on_next_due,
	.proven = on_proven,
	.unproven = on_unproven,
	.listen_also = listen_also,
	.unlisten = unlisten,
#ifdef MESH_TEST_HOOKS
	.hold = hold,
#endif
};
