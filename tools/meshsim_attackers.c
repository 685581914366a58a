/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_attackers: what the attack scenario's attacker processes do (the header says how
 * they are run and why they may use mesh/). Each attacker is a loop of small rounds until its
 * deadline; a round does a bounded amount of work, so the load is steady and the attacker
 * notices its deadline within about 20 ms.
 *
 *   conn-flood    holds up to `conns` TCP connections to the victim's ROUTER; every second
 *                 one sends a ZMTP 3.0 greeting and then nothing, the others send nothing at
 *                 all; a connection the victim closes is opened again at once
 *   beacon-flood  about 5000 beacons a second, each validly signed (discovery_send), from a
 *                 fresh identity every 5 beacons, announcing a port nobody listens on
 *
 * They attack as another host on the LAN would: from ATTACKER_ADDR (127.0.0.2), not the
 * victim's own address, so the victim's per-source limits apply to them. Beacons announce
 * that address and leave from it; TCP and ZeroMQ connections are made from it. Only
 * partial-hold's peers, which link for real, connect from 127.0.0.1.
 *   hello-flood   100 ZeroMQ DEALERs each send a Noise HELLO (a random ephemeral key) every
 *                 20 ms; every second REPLY gets a FINISH of random bytes, the rest nothing
 *   partial-hold  linked peers that each keep a fragmented message in progress (meshsim_hold.c)
 *   garbage       malformed beacons (random, truncated, bit-flipped), replayed beacons
 *                 captured from the mesh, forged beacons claiming the victim's ID, raw
 *                 TCP garbage, a ZMTP greeting followed by a frame header claiming 2^40
 *                 bytes, and msgpack that lies (random bytes, a 2^32-element array, deep
 *                 nesting, unknown frame types, DATA for sids that do not exist)
 *   mitm          on the path of every link: swaps keys in handshakes, tampers with DATA
 *                 frames (meshsim_mitm.c)
 */
#include "meshsim_attackers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "discovery.h"
#include "keys.h"
#include "mcast.h"
#include "monoclock.h"
#include "wire.h"

#define ROUND_MS 20
#define BEACON_RATE 5000        /* beacon-flood: beacons a second */
#define BEACONS_PER_ID 5
#define HELLO_DEALERS 100
#define GARBAGE_PER_ROUND 20
#define CAPTURED_MAX 8
#define DEAD_PORT 9             /* beacon-flood announces it: nothing listens there */
/* The attacker's own host: what it sends leaves from this address, as one attacking host's
 * would on a LAN. Not 127.0.0.1: that is every node's own address on loopback, which the
 * nodes spare from their per-source limits (docs/protocol.md sections 2 and 4). */
#define ATTACKER_ADDR "127.0.0.2"
#define LOOPBACK_ADDR "127.0.0.1"

static const char *names[MESHSIM_ATK_COUNT] = { "conn-flood", "beacon-flood", "hello-flood",
                                                "partial-hold", "garbage", "mitm" };

const char *meshsim_attacker_name(enum meshsim_attacker a)
{
	return (int)a >= 0 && a < MESHSIM_ATK_COUNT ? names[a] : "?";
}

int meshsim_attacker_parse(const char *name)
{
	for (int i = 0; i < MESHSIM_ATK_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* ---------- small helpers ---------- */

struct rng { uint64_t x; };

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: the bytes only have to be unpredictable to the victim's parser */
	uint64_t z = (r->x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rnd_bytes(struct rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(r);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool is_loopback(struct in_addr a)
{
	return (ntohl(a.s_addr) >> 24) == 127;
}

static struct sockaddr_in attacker_sa(void)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, ATTACKER_ADDR, &sa.sin_addr);
	return sa;
}

/* A nonblocking TCP connection to the victim from ATTACKER_ADDR, or -1. */
static int tcp_open(const struct meshsim_attack_target *t)
{
	struct sockaddr_in sa = attacker_sa();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr = t->addr;
	sa.sin_port = htons(t->port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ZMTP 3.0 greeting, NULL mechanism, as a client: signature, version, mechanism, as-server,
 * filler (64 bytes, RFC 23). */
static void zmtp_greeting(uint8_t g[64])
{
	memset(g, 0, 64);
	g[0] = 0xff;
	g[8] = 0x01;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 0;
	memcpy(g + 12, "NULL", 4);
}

/* The victim's ROUTER, connected to from ATTACKER_ADDR (ZeroMQ's "source;destination"). */
static char *endpoint(const struct meshsim_attack_target *t, char *buf, size_t cap)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &t->addr, ip, sizeof ip);
	snprintf(buf, cap, "tcp://%s:0;%s:%u", ATTACKER_ADDR, ip, t->port);
	return buf;
}

/* ---------- beacons from the attacker's host ----------
 *
 * An mcast_ops for discovery_send() that sends from ATTACKER_ADDR, so that the beacons it
 * signs announce that address and come from it (protocol section 2, rule 3): a UDP socket
 * bound to it, sending to the group on lo with TTL 1. It reads nothing. */

struct host_udp {
	int fd;
	struct sockaddr_in dst;
};

static void host_close(void *p)
{
	struct host_udp *u = p;
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

static void *host_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                       size_t errcap)
{
	struct sockaddr_in me = attacker_sa();
	struct in_addr lo;
	unsigned char ttl = 1;
	const char *group = cfg->group ? cfg->group : MCAST_DEFAULT_GROUP;
	struct host_udp *u = calloc(1, sizeof *u);
	if (!u) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	u->dst.sin_family = AF_INET;
	u->dst.sin_port = htons(cfg->port ? cfg->port : MCAST_DEFAULT_PORT);
	inet_pton(AF_INET, LOOPBACK_ADDR, &lo);
	/* only a multicast group, only out of lo, only one hop */
	if (inet_pton(AF_INET, group, &u->dst.sin_addr) != 1 ||
	    (ntohl(u->dst.sin_addr.s_addr) >> 28) != 0xe) {
		snprintf(err, errcap, "'%s' is not an IPv4 multicast group", group);
		free(u);
		return NULL;
	}
	u->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u->fd < 0 || fcntl(u->fd, F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(u->fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    bind(u->fd, (struct sockaddr *)&me, sizeof me) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
		snprintf(err, errcap, "UDP socket at %s: %s", ATTACKER_ADDR, strerror(errno));
		host_close(u);
		return NULL;
	}
	*ifaddr = ipaddr_from_in(me.sin_addr);
	return u;
}

static int host_fd(const void *p)
{
	(void)p;
	return -1;
}

static enum mesh_err host_send(void *p, const uint8_t *dgram, size_t len)
{
	struct host_udp *u = p;
	if (sendto(u->fd, dgram, len, 0, (const struct sockaddr *)&u->dst, sizeof u->dst) < 0)
		return MESH_EIO;
	return MESH_OK;
}

static enum mesh_err host_recv(void *p, uint8_t *buf, size_t cap, bool *got, size_t *len,
                               struct ipaddr *from)
{
	(void)p;
	(void)buf;
	(void)cap;
	(void)from;
	*got = false;
	*len = 0;
	return MESH_OK;
}

static const struct mcast_ops host_mcast = {
	.open = host_open, .close = host_close, .fd = host_fd, .send = host_send,
	.recv = host_recv, .wall_ms = NULL,
};

static void *dealer(void *ctx, const char *ep)
{
	int zero = 0, hwm = 1000;
	int64_t maxmsg = WIRE_MAX_FRAME;
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	if (!d)
		return NULL;
	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(d, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	if (zmq_connect(d, ep) != 0) {
		zmq_close(d);
		return NULL;
	}
	return d;
}

/* ---------- conn-flood ---------- */

struct conn {
	int fd;
	bool up;                     /* the TCP connection is established */
	bool greet;                  /* sends a ZMTP greeting once up */
};

static int conn_flood(const struct meshsim_attack_target *t, uint64_t end_ms, char *desc,
                      size_t cap)
{
	struct rlimit rl;
	int n = t->conns;
	long opened = 0, closed = 0, peak = 0, refused = 0;
	uint8_t greeting[64], buf[512];
	zmtp_greeting(greeting);
	/* our own limit, not the victim's: the victim keeps what it inherited */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)n + 64;
		if (want > rl.rlim_max)
			want = rl.rlim_max;
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if ((rlim_t)n + 64 > want)
			n = (int)want - 64;
	}
	struct conn *c = calloc((size_t)n, sizeof *c);
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	if (!c || !pf) {
		free(c);
		free(pf);
		snprintf(desc, cap, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		c[i].fd = -1;
		c[i].greet = i % 2 == 1;
	}
	while (monoclock_ms() < end_ms) {
		long up = 0, fresh = 0;
		for (int i = 0; i < n; i++) {
			/* at most 500 new connections a round: a SYN burst beyond the victim's backlog
			 * only makes the kernel retry them later */
			if (c[i].fd < 0 && fresh < 500) {
				c[i].fd = tcp_open(t);
				c[i].up = false;
				if (c[i].fd >= 0) {
					opened++;
					fresh++;
				} else {
					refused++;
				}
			}
			pf[i].fd = c[i].fd;
			pf[i].events = c[i].fd < 0 ? 0 : c[i].up ? POLLIN : POLLOUT;
			pf[i].revents = 0;
			up += c[i].up;
		}
		if (up > peak)
			peak = up;
		if (poll(pf, (nfds_t)n, ROUND_MS) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			bool drop = false;
			if (c[i].fd < 0 || !pf[i].revents)
				continue;
			if (pf[i].revents & (POLLERR | POLLHUP)) {
				drop = true;
			} else if (!c[i].up && (pf[i].revents & POLLOUT)) {
				c[i].up = true;
				if (c[i].greet && send(c[i].fd, greeting, sizeof greeting, MSG_NOSIGNAL) < 0)
					drop = true;
			} else if (pf[i].revents & POLLIN) {
				/* the victim's greeting, or its end of the connection */
				ssize_t r = recv(c[i].fd, buf, sizeof buf, 0);
				drop = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
			}
			if (drop) {
				close(c[i].fd);
				c[i].fd = -1;
				closed++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	free(pf);
	snprintf(desc, cap, "%ld connections opened (at most %d at once, %ld established at "
	         "the peak, half sending only a ZMTP greeting), %ld closed by the victim, %ld "
	         "failed to open", opened, n, peak, closed, refused);
	return 0;
}

/* ---------- beacon-flood ---------- */

static int beacon_flood(const struct meshsim_attack_target *t, uint64_t end_ms, struct rng *r,
                        char *desc, size_t cap)
{
	char err[256];
	struct discovery_config dc;
	long beacons = 0, ids = 0, failed = 0;
	memset(&dc, 0, sizeof dc);
	dc.mcast.iface = "lo";
	dc.mcast.port = t->mcast_port;
	dc.ops = &host_mcast;
	struct discovery *d = discovery_new(&dc, err, sizeof err);
	if (!d) {
		snprintf(desc, cap, "cannot open discovery: %s", err);
		return -1;
	}
	struct keys_identity *id = NULL;
	uint64_t inc = 0, start = monoclock_ms();
	while (monoclock_ms() < end_ms) {
		/* pace to BEACON_RATE from the start, in rounds */
		uint64_t due = (monoclock_ms() - start + ROUND_MS) * BEACON_RATE / 1000;
		while ((uint64_t)beacons < due && monoclock_ms() < end_ms) {
			if (!id || beacons % BEACONS_PER_ID == 0) {
				keys_identity_destroy(&id);
				id = keys_identity_generate();
				if (!id) {
					snprintf(desc, cap, "out of memory for identities");
					discovery_destroy(&d);
					return -1;
				}
				inc = rnd(r) | 1;
				ids++;
			}
			if (discovery_send(d, 0, id, DEAD_PORT, inc) != MESH_OK)
				failed++;
			beacons++;
		}
		sleep_ms(ROUND_MS);
	}
	keys_identity_destroy(&id);
	discovery_destroy(&d);
	snprintf(desc, cap, "%ld validly signed beacons from %ld fresh identities (%ld not sent)",
	         beacons, ids, failed);
	return 0;
}

/* ---------- hello-flood ---------- */

static int send_frame(void *sock, const struct wire_frame *f)
{
	uint8_t out[256];
	size_t len;
	if (wire_frame_encode(f, out, sizeof out, &len) != MESH_OK)
		return -1;
	return zmq_send(sock, out, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static int hello_flood(const struct meshsim_attack_target *t, uint64_t end_ms, struct rng *r,
                       char *desc, size_t cap)
{
	char ep[64];
	void *d[HELLO_DEALERS];
	long hellos = 0, replies = 0, finishes = 0, unsent = 0;
	uint8_t e[32], junk[96], in[WIRE_MAX_FRAME];
	void *ctx = zmq_ctx_new();
	if (!ctx) {
		snprintf(desc, cap, "zmq_ctx_new failed");
		return -1;
	}
	endpoint(t, ep, sizeof ep);
	for (int i = 0; i < HELLO_DEALERS; i++)
		d[i] = dealer(ctx, ep);
	while (monoclock_ms() < end_ms) {
		for (int i = 0; i < HELLO_DEALERS; i++) {
			if (!d[i])
				continue;
			/* -> e: message 1 is an ephemeral key and nothing else; any 32 bytes will do
			 * to make the responder run its half of the handshake */
			rnd_bytes(r, e, sizeof e);
			struct wire_frame h = { WIRE_HELLO, 0, (uint32_t)rnd(r) | 1, 0, e, sizeof e };
			if (send_frame(d[i], &h) == 0)
				hellos++;
			else
				unsent++;
			int got;
			while ((got = zmq_recv(d[i], in, sizeof in, ZMQ_DONTWAIT)) >= 0) {
				struct wire_frame f;
				if ((size_t)got > sizeof in ||
				    wire_frame_decode(in, (size_t)got, &f) != MESH_OK || f.type != WIRE_REPLY)
					continue;
				replies++;
				if (replies % 2)
					continue;   /* left half open until the victim gives up */
				rnd_bytes(r, junk, sizeof junk);
				struct wire_frame fin = { WIRE_FINISH, f.tx_sid, 0, 0, junk, sizeof junk };
				if (send_frame(d[i], &fin) == 0)
					finishes++;
			}
		}
		sleep_ms(ROUND_MS);
	}
	for (int i = 0; i < HELLO_DEALERS; i++)
		if (d[i])
			zmq_close(d[i]);
	zmq_ctx_term(ctx);
	snprintf(desc, cap, "%ld HELLOs over %d connections (%ld not sent: queue full), %ld "
	         "REPLYs, %ld answered with a FINISH of random bytes", hellos, HELLO_DEALERS,
	         unsent, replies, finishes);
	return 0;
}

/* ---------- garbage ---------- */

struct garbage {
	const struct meshsim_attack_target *t;
	struct rng *r;
	void *mc;                    /* mcast_udp on lo: captures real beacons */
	void *tx;                    /* host_mcast: sends the beacons, from ATTACKER_ADDR */
	void *ctx, *dealer;
	struct keys_identity *forger;  /* signs beacons that claim the victim's ID */
	uint8_t cap[CAPTURED_MAX][WIRE_MAX_BEACON];
	size_t cap_len[CAPTURED_MAX], ncap;
	long n[11];
};

enum { G_RANDOM_BEACON, G_FLIPPED_BEACON, G_TRUNCATED_BEACON, G_REPLAYED_BEACON, G_TCP_RANDOM,
       G_OVERSIZE_ZMTP, G_RANDOM_FRAME, G_LYING_MSGPACK, G_DATA_NO_SID, G_ODD_FRAME,
       G_FORGED_BEACON, G_KINDS };

/* A well-formed beacon that claims the victim's ID, at the address it comes from, signed
 * with another key: only the signature check can tell (protocol section 2). */
static void forged_beacon(struct garbage *g)
{
	uint8_t body[WIRE_MAX_BEACON], sig[WIRE_SIGLEN], sgn[WIRE_MAX_BEACON], dgram[WIRE_MAX_BEACON];
	size_t blen, slen, dlen;
	struct timespec ts;
	struct wire_beacon_body b;
	memset(&b, 0, sizeof b);
	memcpy(b.node_id, g->t->victim_id, WIRE_IDLEN);
	struct sockaddr_in me = attacker_sa();
	b.ip = ipaddr_from_in(me.sin_addr);
	b.port = g->t->port;
	clock_gettime(CLOCK_REALTIME, &ts);
	b.counter = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	b.incarnation = rnd(g->r) | 1;
	if (wire_beacon_body_encode(&b, body, sizeof body, &blen) != MESH_OK ||
	    keys_sign(g->forger, body, blen, sig) != 0 ||
	    wire_signed_encode(body, blen, sig, sgn, sizeof sgn, &slen) != MESH_OK ||
	    wire_beacon_encode(false, sgn, slen, dgram, sizeof dgram, &dlen) != MESH_OK)
		return;
	(void)host_mcast.send(g->tx, dgram, dlen);
}

static void capture(struct garbage *g)
{
	uint8_t buf[WIRE_MAX_BEACON];
	bool got = true;
	size_t len;
	struct ipaddr from;
	for (int k = 0; k < 64 && got; k++) {
		struct wire_beacon b;
		/* only real beacons: our own garbage comes back to us too, and an empty one would
		 * leave nothing to truncate or flip */
		if (mcast_udp.recv(g->mc, buf, sizeof buf, &got, &len, &from) != MESH_OK || !got ||
		    len == 0 || len > sizeof buf || wire_beacon_decode(buf, len, &b) != MESH_OK)
			continue;
		size_t slot = g->ncap < CAPTURED_MAX ? g->ncap++ : (size_t)(rnd(g->r) % CAPTURED_MAX);
		memcpy(g->cap[slot], buf, len);
		g->cap_len[slot] = len;
	}
}

/* Opens a TCP connection, waits up to 100 ms for it, sends what, closes. */
static void tcp_burst(const struct meshsim_attack_target *t, const uint8_t *what, size_t len)
{
	int fd = tcp_open(t);
	if (fd < 0)
		return;
	struct pollfd p = { fd, POLLOUT, 0 };
	if (poll(&p, 1, 100) == 1 && (p.revents & POLLOUT))
		(void)send(fd, what, len, MSG_NOSIGNAL);
	close(fd);
}

static void garbage_one(struct garbage *g, int what)
{
	uint8_t b[512];
	size_t len;
	struct rng *r = g->r;
	size_t k = g->ncap ? (size_t)(rnd(r) % g->ncap) : 0;
	if (what >= G_FLIPPED_BEACON && what <= G_REPLAYED_BEACON && !g->ncap)
		what = G_RANDOM_BEACON;     /* nothing captured yet */
	switch (what) {
	case G_RANDOM_BEACON:
		len = 1 + (size_t)(rnd(r) % 300);
		rnd_bytes(r, b, len);
		(void)host_mcast.send(g->tx, b, len);
		break;
	case G_FLIPPED_BEACON:
		len = g->cap_len[k];
		memcpy(b, g->cap[k], len);
		b[rnd(r) % len] ^= (uint8_t)(1u << (rnd(r) % 8));
		(void)host_mcast.send(g->tx, b, len);
		break;
	case G_TRUNCATED_BEACON:
		len = (size_t)(rnd(r) % g->cap_len[k]);
		memcpy(b, g->cap[k], len);
		(void)host_mcast.send(g->tx, b, len);
		break;
	case G_REPLAYED_BEACON:
		(void)host_mcast.send(g->tx, g->cap[k], g->cap_len[k]);
		break;
	case G_TCP_RANDOM:
		len = 1 + (size_t)(rnd(r) % sizeof b);
		rnd_bytes(r, b, len);
		tcp_burst(g->t, b, len);
		break;
	case G_OVERSIZE_ZMTP:
		/* a complete greeting, then a long frame (flags 0x02) claiming 2^40 bytes */
		zmtp_greeting(b);
		b[64] = 0x02;
		memset(b + 65, 0, 8);
		b[67] = 0x01;
		rnd_bytes(r, b + 73, 64);
		tcp_burst(g->t, b, 137);
		break;
	case G_RANDOM_FRAME:
		len = 1 + (size_t)(rnd(r) % 200);
		rnd_bytes(r, b, len);
		(void)zmq_send(g->dealer, b, len, ZMQ_DONTWAIT);
		break;
	case G_LYING_MSGPACK: {
		/* an array32 header claiming 2^32-1 elements, then one */
		static const uint8_t lie[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
		/* and a bin32 claiming 4 GiB inside a HELLO's shape */
		static const uint8_t lie2[] = { 0x93, 0x01, 0xce, 0, 0, 0, 1, 0xc6, 0xff, 0xff, 0xff,
		                                0xff, 0x00 };
		if (rnd(r) % 2)
			(void)zmq_send(g->dealer, lie, sizeof lie, ZMQ_DONTWAIT);
		else
			(void)zmq_send(g->dealer, lie2, sizeof lie2, ZMQ_DONTWAIT);
		break;
	}
	case G_DATA_NO_SID: {
		uint8_t ct[64];
		rnd_bytes(r, ct, sizeof ct);
		struct wire_frame f = { WIRE_DATA, (uint32_t)rnd(r) | 1, 0, rnd(r), ct, sizeof ct };
		if (wire_frame_encode(&f, b, sizeof b, &len) == MESH_OK)
			(void)zmq_send(g->dealer, b, len, ZMQ_DONTWAIT);
		break;
	}
	case G_FORGED_BEACON:
		forged_beacon(g);
		break;
	case G_ODD_FRAME:
		if (rnd(r) % 2) {
			/* nesting 200 deep */
			memset(b, 0x91, 200);
			b[200] = 0x01;
			(void)zmq_send(g->dealer, b, 201, ZMQ_DONTWAIT);
		} else {
			/* an unknown frame type, and a HELLO one byte short */
			static const uint8_t odd[] = { 0x93, 0x09, 0x01, 0x02 };
			uint8_t e[31];
			rnd_bytes(r, e, sizeof e);
			struct wire_frame h = { WIRE_HELLO, 0, (uint32_t)rnd(r) | 1, 0, e, sizeof e };
			(void)zmq_send(g->dealer, odd, sizeof odd, ZMQ_DONTWAIT);
			if (wire_frame_encode(&h, b, sizeof b, &len) == MESH_OK)
				(void)zmq_send(g->dealer, b, len, ZMQ_DONTWAIT);
		}
		break;
	}
	g->n[what]++;
}

static int garbage(const struct meshsim_attack_target *t, uint64_t end_ms, struct rng *r,
                   char *desc, size_t cap)
{
	char err[256], ep[64];
	struct ipaddr ifaddr;
	struct mcast_config mc = { NULL, "lo", NULL, t->mcast_port, NULL };
	struct garbage *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(desc, cap, "out of memory");
		return -1;
	}
	g->t = t;
	g->r = r;
	g->mc = mcast_udp.open(&mc, &ifaddr, err, sizeof err);
	if (g->mc)
		g->tx = host_mcast.open(&mc, &ifaddr, err, sizeof err);
	g->ctx = zmq_ctx_new();
	g->dealer = g->ctx ? dealer(g->ctx, endpoint(t, ep, sizeof ep)) : NULL;
	g->forger = keys_identity_generate();
	if (!g->mc || !g->tx || !g->dealer || !g->forger) {
		snprintf(desc, cap, "cannot open: %s", !g->mc || !g->tx ? err :
		         !g->dealer ? "a zmq DEALER" : "out of memory");
		if (g->dealer)
			zmq_close(g->dealer);
		host_mcast.close(g->tx);
		mcast_udp.close(g->mc);
		if (g->ctx)
			zmq_ctx_term(g->ctx);
		keys_identity_destroy(&g->forger);
		free(g);
		return -1;
	}
	while (monoclock_ms() < end_ms) {
		capture(g);
		for (int i = 0; i < GARBAGE_PER_ROUND; i++)
			garbage_one(g, (int)(rnd(r) % G_KINDS));
		uint8_t sink[WIRE_MAX_FRAME];
		while (zmq_recv(g->dealer, sink, sizeof sink, ZMQ_DONTWAIT) >= 0)
			;
		sleep_ms(ROUND_MS);
	}
	snprintf(desc, cap, "beacons: %ld random, %ld bit-flipped, %ld truncated, %ld replayed "
	         "(%zu captured), %ld forged with the victim's ID; TCP: %ld random, %ld oversize "
	         "ZMTP frames; frames: %ld random, %ld lying msgpack, %ld DATA for unknown sids, "
	         "%ld odd shapes", g->n[G_RANDOM_BEACON], g->n[G_FLIPPED_BEACON],
	         g->n[G_TRUNCATED_BEACON], g->n[G_REPLAYED_BEACON], g->ncap, g->n[G_FORGED_BEACON],
	         g->n[G_TCP_RANDOM], g->n[G_OVERSIZE_ZMTP], g->n[G_RANDOM_FRAME],
	         g->n[G_LYING_MSGPACK], g->n[G_DATA_NO_SID], g->n[G_ODD_FRAME]);
	zmq_close(g->dealer);
	zmq_ctx_term(g->ctx);
	host_mcast.close(g->tx);
	mcast_udp.close(g->mc);
	keys_identity_destroy(&g->forger);
	free(g);
	return 0;
}

int meshsim_attacker_run(enum meshsim_attacker a, const struct meshsim_attack_target *t,
                         char *desc, size_t cap)
{
	struct rng r = { t->seed };
	uint64_t end = monoclock_ms() + (uint64_t)(t->secs * 1000);
	if (!is_loopback(t->addr)) {
		snprintf(desc, cap, "refused: the victim's address is not on loopback");
		return -1;
	}
	switch (a) {
	case MESHSIM_ATK_CONN_FLOOD:
		return conn_flood(t, end, desc, cap);
	case MESHSIM_ATK_BEACON_FLOOD:
		return beacon_flood(t, end, &r, desc, cap);
	case MESHSIM_ATK_HELLO_FLOOD:
		return hello_flood(t, end, &r, desc, cap);
	case MESHSIM_ATK_PARTIAL_HOLD:
		return meshsim_attacker_hold(t, end, desc, cap);
	case MESHSIM_ATK_GARBAGE:
		return garbage(t, end, &r, desc, cap);
	case MESHSIM_ATK_MITM:
		return meshsim_attacker_mitm(t, end, desc, cap);
	default:
		break;
	}
	snprintf(desc, cap, "unknown attacker");
	return -1;
}
