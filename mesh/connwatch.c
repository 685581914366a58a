/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * connwatch: bounds on the ROUTER's connections not yet authenticated (see connwatch.h).
 *
 * Invariants: the table holds at most CONNWATCH_MAX_TOTAL records, in the order their
 * ACCEPTED events were read (so by accepted time), at most CONNWATCH_MAX_PER_SOURCE of them
 * with one source address, and at most one per descriptor number. Records are removed before
 * their connection is shut down, so a closure is counted once. Only the thread that owns the
 * ROUTER calls in here: the PAIR socket, like every zmq socket, is used by one thread.
 */
#include "connwatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#define EVENT_BATCH 1024             /* monitor events read per call */
/* A record keeps a routing id of up to RID_KEPT bytes itself, and of a longer one (a peer
 * may set ids of up to 255 bytes; ZeroMQ's own are 5) its BLAKE2b under the table's random
 * key, so that records stay small: every live session we answered has one. Keyed, so that
 * no peer can choose two ids that share a record. */
#define RID_KEPT 16

_Static_assert(RID_KEPT >= crypto_generichash_BYTES_MIN && CONNWATCH_MAX_RID <= UINT8_MAX,
               "a long id's hash fits a record, and every id's length fits its len");

/* A TCP peer's address: IPv4 or IPv6, all that getpeername gives a connection of ours. */
union peer_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* A routing id as records keep it (rid_of). */
struct rid_kept {
	uint8_t b[RID_KEPT];
	uint8_t len;
};

struct watched {
	uint64_t accepted_ms;
	union peer_addr peer;
	int fd;
	unsigned live;               /* proven: live sessions over it */
	struct rid_kept rid;         /* len 0: no message seen yet */
	bool local;                  /* from our own address: a node on this host */
};

_Static_assert(sizeof(struct watched) <= 64, "a record is at most the 64 bytes docs/ give");

struct connwatch {
	void *router;
	uint8_t rid_key[crypto_generichash_KEYBYTES];
	void *pair;
	uint16_t local_port;         /* 0 until bound: nothing is closed before */
	uint32_t lifetime_ms;        /* how long one may stay unauthenticated */
	connwatch_closed_fn *closed;
	void *arg;
	size_t n;
	struct watched w[CONNWATCH_MAX_TOTAL];
	/* the proven: out of the bounds while a session lives over them (as many as live
	 * responder sessions, which the engine bounds), back in when the last one ends */
	struct watched *pw;
	size_t pn, pcap;
};

/* ---------- addresses ---------- */

static uint16_t port_of(const union peer_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->v4.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->v6.sin6_port);
	return 0;
}

/* Same source address (the port aside). */
static bool same_source(const union peer_addr *a, const union peer_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

/* Same source address and port. */
static bool same_peer(const union peer_addr *a, const union peer_addr *b)
{
	return same_source(a, b) && port_of(a) == port_of(b);
}

static void addr_text(const union peer_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->v4.sin_addr, ip, sizeof ip);
	else if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->v6.sin6_addr, ip, sizeof ip);
	snprintf(buf, cap, a->sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port_of(a));
}

/* fd's own address (remote false) or its peer's in *a, if it is IPv4 or IPv6. */
static bool sock_addr(int fd, bool remote, union peer_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	memset(a, 0, sizeof *a);
	if ((remote ? getpeername(fd, (struct sockaddr *)&ss, &len)
	            : getsockname(fd, (struct sockaddr *)&ss, &len)) != 0)
		return false;
	if (ss.ss_family == AF_INET && len >= sizeof a->v4)
		memcpy(&a->v4, &ss, sizeof a->v4);
	else if (ss.ss_family == AF_INET6 && len >= sizeof a->v6)
		memcpy(&a->v6, &ss, sizeof a->v6);
	else
		return false;
	return true;
}

/* The socket behind fd is a connection to our ROUTER's port; its peer in *peer, and in
 * *from_us whether that peer has our own address (another node on this host). */
static bool is_ours(const struct connwatch *cw, int fd, union peer_addr *peer, bool *from_us)
{
	union peer_addr local;
	memset(peer, 0, sizeof *peer);
	if (!sock_addr(fd, false, &local) || port_of(&local) != cw->local_port ||
	    cw->local_port == 0)
		return false;
	if (!sock_addr(fd, true, peer))
		return false;
	if (from_us)
		*from_us = same_source(peer, &local);
	return true;
}

/* ---------- the table ---------- */

static void remove_at(struct connwatch *cw, size_t i)
{
	memmove(cw->w + i, cw->w + i + 1, (cw->n - i - 1) * sizeof *cw->w);
	cw->n--;
}

static size_t find_fd(const struct connwatch *cw, int fd)
{
	size_t i = 0;
	while (i < cw->n && cw->w[i].fd != fd)
		i++;
	return i;
}

/*
 * Closes the connection of record i, if its descriptor still is that connection, and removes
 * the record either way. The check and the shutdown go through a duplicate: the descriptor
 * number may be closed by zmq's I/O thread and reused at any moment, but the duplicate keeps
 * naming the socket we checked. Without a descriptor to spare (the very case an fd flood
 * makes likely) the number itself is checked and shut down, with that small window open.
 */
static void close_at(struct connwatch *cw, size_t i, enum connwatch_why why)
{
	struct watched w = cw->w[i];
	union peer_addr peer;
	char addr[INET6_ADDRSTRLEN + 8];
	remove_at(cw, i);
	int dup_fd = fcntl(w.fd, F_DUPFD_CLOEXEC, 0);
	int fd = dup_fd >= 0 ? dup_fd : w.fd;
	bool ours = is_ours(cw, fd, &peer, NULL) && same_peer(&peer, &w.peer);
	if (ours)
		(void)shutdown(fd, SHUT_RDWR);   /* zmq reads the end of stream and closes it */
	if (dup_fd >= 0)
		close(dup_fd);                   /* ours: zmq's descriptor stays open */
	if (!ours)
		return;                          /* gone already, or another socket now */
	addr_text(&w.peer, addr, sizeof addr);
	if (cw->closed)
		cw->closed(cw->arg, why, addr);
}

static size_t find_proven_fd(const struct connwatch *cw, int fd)
{
	size_t i = 0;
	while (i < cw->pn && cw->pw[i].fd != fd)
		i++;
	return i;
}

static void remove_proven_at(struct connwatch *cw, size_t i)
{
	memmove(cw->pw + i, cw->pw + i + 1, (cw->pn - i - 1) * sizeof *cw->pw);
	cw->pn--;
}

/* Takes w into the table of the unauthenticated, closing what the bounds say to make room. */
static void admit(struct connwatch *cw, struct watched w)
{
	/* The oldest of its source first: a crowd from one address cannot push out the others.
	 * Not for our own address: every node on this host has it, and a hundred of them
	 * starting together all dial us at once (the bound in all still holds). */
	size_t same = 0, oldest = cw->n;
	for (size_t i = 0; i < cw->n && !w.local; i++) {
		if (same_source(&cw->w[i].peer, &w.peer)) {
			if (same++ == 0)
				oldest = i;
		}
	}
	if (same >= CONNWATCH_MAX_PER_SOURCE)
		close_at(cw, oldest, CONNWATCH_SOURCE);
	if (cw->n >= CONNWATCH_MAX_TOTAL)
		close_at(cw, 0, CONNWATCH_TOTAL);
	cw->w[cw->n++] = w;
}

static void on_accepted(struct connwatch *cw, int fd, uint64_t now)
{
	struct watched w = { .fd = fd, .accepted_ms = now };
	size_t i = find_fd(cw, fd);
	if (i < cw->n)
		remove_at(cw, i);           /* its end was not reported yet; the number is reused */
	i = find_proven_fd(cw, fd);
	if (i < cw->pn)
		remove_proven_at(cw, i);
	if (!is_ours(cw, fd, &w.peer, &w.local))
		return;                     /* ended before we looked */
	admit(cw, w);
}

static void on_ended(struct connwatch *cw, int fd)
{
	size_t i = find_fd(cw, fd);
	if (i < cw->n)
		remove_at(cw, i);
	i = find_proven_fd(cw, fd);
	if (i < cw->pn)
		remove_proven_at(cw, i);
}

/* ---------- the monitor ---------- */

struct connwatch *connwatch_new(void *ctx, void *router, uint32_t lifetime_ms,
                                connwatch_closed_fn *closed, void *arg, char *err,
                                size_t errcap)
{
	char ep[64];
	struct connwatch *cw = calloc(1, sizeof *cw);
	if (!cw) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	cw->router = router;
	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium did not start");
		free(cw);
		return NULL;
	}
	crypto_generichash_keygen(cw->rid_key);
	cw->lifetime_ms = lifetime_ms ? lifetime_ms : CONNWATCH_LIFETIME_MS;
	cw->closed = closed;
	cw->arg = arg;
	/* inproc names live in the context, and a closed monitor's lingers a moment: a random
	 * name, not the address of cw, which the next connwatch may get */
	snprintf(ep, sizeof ep, "inproc://meshnode-connwatch-%08" PRIx32 "%08" PRIx32,
	         randombytes_random(), randombytes_random());
	if (zmq_socket_monitor(router, ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
	                                   ZMQ_EVENT_CLOSED) != 0) {
		snprintf(err, errcap, "zmq socket monitor: %s", zmq_strerror(errno));
		sodium_memzero(cw->rid_key, sizeof cw->rid_key);
		free(cw);
		return NULL;
	}
	cw->pair = zmq_socket(ctx, ZMQ_PAIR);
	if (!cw->pair) {
		snprintf(err, errcap, "zmq PAIR socket: %s", zmq_strerror(errno));
		goto fail;
	}
	{
		/* An event lost is a connection never bounded, so the queue has no limit of its
		 * own: what waits in it is bounded by what one turn of the loop lets zmq accept,
		 * and every event read removes or closes something. */
		int zero = 0;
		(void)zmq_setsockopt(cw->pair, ZMQ_RCVHWM, &zero, sizeof zero);
		(void)zmq_setsockopt(cw->pair, ZMQ_LINGER, &zero, sizeof zero);
	}
	if (zmq_connect(cw->pair, ep) != 0) {
		snprintf(err, errcap, "zmq monitor connect: %s", zmq_strerror(errno));
		goto fail;
	}
	return cw;
fail:
	connwatch_destroy(&cw);
	return NULL;
}

void connwatch_set_port(struct connwatch *cw, uint16_t local_port)
{
	cw->local_port = local_port;
}

void connwatch_destroy(struct connwatch **cwp)
{
	struct connwatch *cw = *cwp;
	if (!cw)
		return;
	(void)zmq_socket_monitor(cw->router, NULL, 0);
	if (cw->pair)
		zmq_close(cw->pair);
	free(cw->pw);
	sodium_memzero(cw->rid_key, sizeof cw->rid_key);
	free(cw);
	*cwp = NULL;
}

void *connwatch_socket(const struct connwatch *cw)
{
	return cw->pair;
}

/* One event: [uint16 event, uint32 value] in host order, then the endpoint, which we skip. */
static bool read_event(struct connwatch *cw, uint16_t *event, uint32_t *value)
{
	zmq_msg_t m;
	bool ok = false;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, cw->pair, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return false;
	}
	if (zmq_msg_size(&m) == 6) {
		const uint8_t *p = zmq_msg_data(&m);
		memcpy(event, p, 2);
		memcpy(value, p + 2, 4);
		ok = true;
	} else {
		*event = 0;
	}
	while (zmq_msg_more(&m)) {
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, cw->pair, ZMQ_DONTWAIT) < 0)
			break;
	}
	zmq_msg_close(&m);
	if (!ok)
		*event = 0;                 /* not an event we know: skipped */
	return true;
}

/* Reads and applies one event; false if none waits. *accepted: the descriptor of an
 * ACCEPTED, else -1. */
static bool apply_event(struct connwatch *cw, uint64_t now_ms, int *accepted)
{
	uint16_t ev;
	uint32_t val;
	*accepted = -1;
	if (!read_event(cw, &ev, &val))
		return false;
	if (val > INT32_MAX)
		return true;
	if (ev == ZMQ_EVENT_ACCEPTED) {
		on_accepted(cw, (int)val, now_ms);
		*accepted = (int)val;
	} else if (ev == ZMQ_EVENT_DISCONNECTED || ev == ZMQ_EVENT_CLOSED) {
		on_ended(cw, (int)val);
	}
	return true;
}

bool connwatch_on_readable(struct connwatch *cw, uint64_t now_ms)
{
	int accepted;
	for (int i = 0; i < EVENT_BATCH; i++)
		if (!apply_event(cw, now_ms, &accepted))
			return false;
	return true;
}

void connwatch_on_clock(struct connwatch *cw, uint64_t now_ms)
{
	while (cw->n && now_ms >= cw->w[0].accepted_ms &&
	       now_ms - cw->w[0].accepted_ms >= cw->lifetime_ms)
		close_at(cw, 0, CONNWATCH_TIMEOUT);
}

uint64_t connwatch_next_due(const struct connwatch *cw)
{
	return cw && cw->n ? cw->w[0].accepted_ms + cw->lifetime_ms : UINT64_MAX;
}

/* rid as records keep it; false for a length no connection has (0, or over the maximum). */
static bool rid_of(const struct connwatch *cw, const uint8_t *rid, size_t rid_len,
                   struct rid_kept *f)
{
	memset(f, 0, sizeof *f);
	if (rid_len == 0 || rid_len > CONNWATCH_MAX_RID)
		return false;
	f->len = (uint8_t)rid_len;
	if (rid_len <= RID_KEPT)
		memcpy(f->b, rid, rid_len);
	else
		crypto_generichash(f->b, RID_KEPT, rid, rid_len, cw->rid_key, sizeof cw->rid_key);
	return true;
}

static bool same_rid(const struct watched *w, const struct rid_kept *f)
{
	return w->rid.len == f->len && memcmp(w->rid.b, f->b, RID_KEPT) == 0;
}

bool connwatch_on_frame(struct connwatch *cw, int fd, const uint8_t *rid, size_t rid_len,
                        uint64_t now_ms)
{
	struct rid_kept f;
	if (!rid_of(cw, rid, rid_len, &f))
		return false;
	size_t i = find_fd(cw, fd), pi = find_proven_fd(cw, fd);
	bool known = i < cw->n ? same_rid(&cw->w[i], &f)
	                       : pi < cw->pn && same_rid(&cw->pw[pi], &f);
	if (!known) {
		/*
		 * A connection's first message (or a number reused). zmq put its ACCEPTED on the
		 * monitor before any of its messages could arrive, but we read the monitor and the
		 * ROUTER in turns: on a busy host a session could complete over a connection whose
		 * ACCEPTED was still unread, and never be proven. Read the monitor to its end first,
		 * whether or not a record of this number exists: the record, or the first ACCEPTED
		 * of the number, may be of an earlier connection on it that ended before sending
		 * anything, its end unread, and this one, taking its place, would be dropped at that
		 * end with its session live (its peer address does not tell: a record takes it when
		 * its ACCEPTED is read, from whatever holds the number then). Past this one's
		 * ACCEPTED could lie its own end and a third connection on the number, which then
		 * takes its routing id: that one escapes the bounds while the dead one's session
		 * lasts, then is bounded anew, and a session of its own over it is not seen as
		 * proven (closed at the lifetime). It needs a connection that completes a handshake
		 * and ends before its first message is read: rarer than the case this prevents. A
		 * monitor that does not run dry (a flood faster than we read) leaves the id
		 * unrecorded; the connection's next message tries again.
		 */
		int accepted = -1;
		bool drained = false;
		for (int k = 0; k < 4 * EVENT_BATCH && !drained; k++)
			drained = !apply_event(cw, now_ms, &accepted);
		if (!drained)
			return true;
		i = find_fd(cw, fd);
	}
	if (i < cw->n)
		cw->w[i].rid = f;   /* the latest wins: a reused number's new connection comes last */
	return false;
}

void connwatch_proven(struct connwatch *cw, const uint8_t *rid, size_t rid_len)
{
	struct rid_kept f;
	if (!rid_of(cw, rid, rid_len, &f))
		return;
	for (size_t i = 0; i < cw->pn; i++) {
		if (same_rid(&cw->pw[i], &f)) {
			cw->pw[i].live++;           /* a second session over it: a relink */
			return;
		}
	}
	for (size_t i = 0; i < cw->n; i++) {
		if (!same_rid(&cw->w[i], &f))
			continue;
		struct watched w = cw->w[i];
		remove_at(cw, i);
		if (cw->pn == cw->pcap) {
			size_t ncap = cw->pcap ? cw->pcap * 2 : 16;
			struct watched *nw = realloc(cw->pw, ncap * sizeof *nw);
			if (!nw)
				return;             /* out of the bounds, untracked: as a proven one is */
			cw->pw = nw;
			cw->pcap = ncap;
		}
		w.live = 1;
		cw->pw[cw->pn++] = w;
		return;
	}
}

void connwatch_unproven(struct connwatch *cw, const uint8_t *rid, size_t rid_len,
                        uint64_t now_ms)
{
	struct rid_kept f;
	if (!rid_of(cw, rid, rid_len, &f))
		return;
	for (size_t i = 0; i < cw->pn; i++) {
		if (!same_rid(&cw->pw[i], &f))
			continue;
		if (--cw->pw[i].live > 0)
			return;
		struct watched w = cw->pw[i];
		remove_proven_at(cw, i);
		/* a stranger's again, from now: a handshake over it may prove it anew */
		w.accepted_ms = now_ms;
		admit(cw, w);
		return;
	}
}

size_t connwatch_count(const struct connwatch *cw)
{
	return cw->n;
}
