/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_discovery: mesh/discovery.c against docs/protocol.md section 2, on loopback inside a
 * private network namespace (run only through tests/integration/netns-run).
 *
 * Happy paths: a beacon from A reaches B verified, with A's ID, address, port and incarnation,
 * open and sealed. Hostile twins: the other sealing mode (MESH_ESTATE), another mesh's key
 * (MESH_EAUTH), and datagrams sent with a plain UDP socket to the group: garbage, every
 * truncation of a real beacon (open and sealed), each byte of it flipped, a wrong version
 * (outer and inside a correctly signed body), a body signed by someone else, oversize. None
 * may come back MESH_OK with content other than what was signed. Every wait is a poll() with
 * a deadline. Output is counts only.
 */
/* struct ip_mreq and IP_MULTICAST_ALL are Linux/BSD interfaces outside strict POSIX */
#define _DEFAULT_SOURCE

#include "discovery.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>

#include "keys.h"
#include "wire.h"

#define GROUP "239.192.7.77"
#define PORT 47711
#define WAIT_MS 3000

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is readable or the deadline passes. */
static bool wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return false;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0 && (p.revents & POLLIN))
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* Receives the next datagram at d: true and its result, or false when none came in time. */
static bool recv_one(struct discovery *d, struct wire_beacon_body *b, enum mesh_err *rc)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		bool got = false;
		*rc = discovery_recv(d, b, &got);
		if (got)
			return true;
		if (!wait_readable(discovery_fd(d, 0), deadline))
			return false;
	}
}

/* Throws away whatever is waiting at d. */
static void drain(struct discovery *d)
{
	struct wire_beacon_body b;
	bool got = true;
	for (int i = 0; i < 10000 && got; i++)
		(void)discovery_recv(d, &b, &got);
}

static struct discovery *open_disc(const uint8_t *key)
{
	char err[256] = "";
	struct discovery_config c = { .mcast = { .iface = "lo", .group = GROUP, .port = PORT },
	                              .beacon_key = key };
	struct discovery *d = discovery_new(&c, err, sizeof err);
	CHECK(d != NULL);
	if (!d)
		fprintf(stderr, "discovery_new: %s\n", err);
	return d;
}

/* A plain UDP socket: sends to the group on lo, and (joined) receives what is sent there. */
static int raw_socket(bool join)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	struct in_addr lo;
	inet_pton(AF_INET, "127.0.0.1", &lo);
	CHECK(fd >= 0);
	if (fd < 0)
		return -1;
	CHECK(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) == 0);
	if (join) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
		struct ip_mreq mreq;
		inet_pton(AF_INET, GROUP, &a.sin_addr);
		CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
		CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
		CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
		mreq.imr_multiaddr = a.sin_addr;
		mreq.imr_interface = lo;
		CHECK(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) == 0);
		(void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
	}
	return fd;
}

static bool raw_send(int fd, const void *p, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	inet_pton(AF_INET, GROUP, &a.sin_addr);
	return sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)n;
}

/* Receives one datagram on a joined raw socket. */
static size_t raw_recv(int fd, uint8_t *buf, size_t cap)
{
	if (!wait_readable(fd, now_ms() + WAIT_MS))
		return 0;
	ssize_t n = recv(fd, buf, cap, 0);
	return n > 0 ? (size_t)n : 0;
}

static bool body_eq(const struct wire_beacon_body *a, const struct wire_beacon_body *b)
{
	return memcmp(a->node_id, b->node_id, WIRE_IDLEN) == 0 && ipaddr_eq(&a->ip, &b->ip) &&
	       a->port == b->port && a->counter == b->counter && a->incarnation == b->incarnation;
}

static struct keys_identity *ida, *idb;

/* ------------------------------------------------------------------ interfaces */

static void test_resolve(void)
{
	struct mcast_iface a;
	char err[256];
	const struct ipaddr lo = IPADDR_V4(127, 0, 0, 1);

	err[0] = '\0';
	CHECK(mcast_resolve_iface("lo", &a, err, sizeof err) == MESH_OK);
	CHECK(ipaddr_eq(&a.addr, &lo));
	CHECK(mcast_resolve_iface("127.0.0.1", &a, err, sizeof err) == MESH_OK);
	CHECK(ipaddr_eq(&a.addr, &lo));

	err[0] = '\0';
	CHECK(mcast_resolve_iface("nonexistent0", &a, err, sizeof err) == MESH_ENOTFOUND);
	CHECK(strlen(err) > 0 && strstr(err, "nonexistent0") != NULL);
	err[0] = '\0';
	CHECK(mcast_resolve_iface("10.255.255.1", &a, err, sizeof err) == MESH_ENOTFOUND);
	CHECK(strlen(err) > 0 && strstr(err, "10.255.255.1") != NULL);
	/* an address-looking name that is no address, and an empty name */
	err[0] = '\0';
	CHECK(mcast_resolve_iface("127.0.0.1.5", &a, err, sizeof err) == MESH_ENOTFOUND);
	CHECK(strlen(err) > 0);
	err[0] = '\0';
	CHECK(mcast_resolve_iface("", &a, err, sizeof err) == MESH_ENOTFOUND);
	CHECK(strlen(err) > 0);
	/* the namespace has only lo: "first non-loopback" finds nothing, and says so */
	err[0] = '\0';
	CHECK(mcast_resolve_iface(NULL, &a, err, sizeof err) == MESH_ENOTFOUND);
	CHECK(strlen(err) > 0);
	/* a tiny error buffer is still NUL-terminated */
	char small[8];
	memset(small, 'z', sizeof small);
	CHECK(mcast_resolve_iface("nonexistent0", &a, small, sizeof small) == MESH_ENOTFOUND);
	CHECK(memchr(small, '\0', sizeof small) != NULL);

	/* the seam lists this namespace's interfaces: lo, loopback, 127.0.0.1, and nothing that
	 * the default (non-loopback) choice would take */
	struct mcast_iface ifs[8], pick[MCAST_MAX_IFACES];
	struct mcast_ifsel none = { NULL, 0, NULL, 0 };
	size_t n = 0, over, unmatched;
	bool lo_listed = false;
	CHECK(mcast_udp.ifaces(NULL, ifs, 8, &n, err, sizeof err) == MESH_OK);
	for (size_t i = 0; i < n; i++)
		lo_listed |= strcmp(ifs[i].name, "lo") == 0 && ifs[i].loopback &&
		             ipaddr_eq(&ifs[i].addr, &lo);
	CHECK(lo_listed);
	CHECK(mcast_select_ifaces(ifs, n, &none, pick, &over, &unmatched) == 0);

	/* discovery_new refuses a bad interface and a group that is not multicast */
	struct discovery_config c = { .mcast = { .iface = "nonexistent0", .group = GROUP,
	                                         .port = PORT } };
	err[0] = '\0';
	struct discovery *d = discovery_new(&c, err, sizeof err);
	CHECK(d == NULL && strlen(err) > 0);
	c.mcast.iface = "lo";
	c.mcast.group = "10.1.2.3";
	err[0] = '\0';
	d = discovery_new(&c, err, sizeof err);
	CHECK(d == NULL && strlen(err) > 0);
	c.mcast.group = "not-an-address";
	err[0] = '\0';
	d = discovery_new(&c, err, sizeof err);
	CHECK(d == NULL && strlen(err) > 0);
	discovery_destroy(&d);
	discovery_destroy(NULL);
}

/* ------------------------------------------------------------------ happy paths */

static void test_open(void)
{
	struct discovery *a = open_disc(NULL), *b = open_disc(NULL);
	struct wire_beacon_body body, body2;
	enum mesh_err rc;
	if (!a || !b)
		goto done;
	CHECK(discovery_fd(a, 0) >= 0 && discovery_fd(b, 0) >= 0);
	struct ipaddr ifaddr = discovery_ifaddr(a);
	CHECK(ipaddr_eq(&ifaddr, &IPADDR_V4(127, 0, 0, 1)));
	drain(a);
	drain(b);
	/* nothing waiting: got is false */
	bool got = true;
	CHECK(discovery_recv(b, &body, &got) == MESH_OK && !got);

	CHECK(discovery_send(a, 0, ida, 40001, 0x0123456789abcdefull) == MESH_OK);
	CHECK(recv_one(b, &body, &rc));
	CHECK(rc == MESH_OK);
	CHECK(memcmp(body.node_id, ida->id, WIRE_IDLEN) == 0);
	CHECK(body.port == 40001);
	CHECK(body.incarnation == 0x0123456789abcdefull);
	CHECK(ipaddr_eq(&body.ip, &IPADDR_V4(127, 0, 0, 1)));
	CHECK(body.counter > 0);
	/* the sender hears its own beacon too (loopback on): the engine ignores its own ID */
	CHECK(recv_one(a, &body2, &rc) && rc == MESH_OK && body_eq(&body, &body2));

	/* counters strictly increase, even within one millisecond */
	uint64_t last = body.counter;
	unsigned increasing = 0;
	for (int i = 0; i < 5; i++) {
		CHECK(discovery_send(a, 0, ida, 40001, 0x0123456789abcdefull) == MESH_OK);
		if (recv_one(b, &body, &rc) && rc == MESH_OK && body.counter > last)
			increasing++;
		last = body.counter;
	}
	CHECK(increasing == 5);

	/* B announcing itself reaches A: both directions */
	drain(a);
	CHECK(discovery_send(b, 0, idb, 40002, 99) == MESH_OK);
	CHECK(recv_one(a, &body, &rc) && rc == MESH_OK);
	CHECK(memcmp(body.node_id, idb->id, WIRE_IDLEN) == 0 && body.port == 40002 &&
	      body.incarnation == 99);
done:
	discovery_destroy(&a);
	discovery_destroy(&b);
	CHECK(a == NULL && b == NULL);
}

static void test_sealed(void)
{
	uint8_t k1[DISCOVERY_KEYLEN], k2[DISCOVERY_KEYLEN];
	struct wire_beacon_body body;
	enum mesh_err rc;
	randombytes_buf(k1, sizeof k1);
	randombytes_buf(k2, sizeof k2);
	struct discovery *a = open_disc(k1), *b = open_disc(k1), *open_ = open_disc(NULL),
	                 *other = open_disc(k2);
	if (!a || !b || !open_ || !other)
		goto done;
	drain(a);
	drain(b);
	drain(open_);
	drain(other);

	/* same key: verified */
	CHECK(discovery_send(a, 0, ida, 40003, 5) == MESH_OK);
	CHECK(recv_one(b, &body, &rc) && rc == MESH_OK);
	CHECK(memcmp(body.node_id, ida->id, WIRE_IDLEN) == 0 && body.port == 40003 &&
	      body.incarnation == 5);
	/* an open node sees another mesh's sealed beacon: MESH_ESTATE; another key: MESH_EAUTH */
	CHECK(recv_one(open_, &body, &rc) && rc == MESH_ESTATE);
	CHECK(recv_one(other, &body, &rc) && rc == MESH_EAUTH);
	drain(a);

	/* B with a key hears an open beacon: MESH_ESTATE */
	CHECK(discovery_send(open_, 0, ida, 40004, 6) == MESH_OK);
	CHECK(recv_one(b, &body, &rc) && rc == MESH_ESTATE);
	CHECK(recv_one(other, &body, &rc) && rc == MESH_ESTATE);
	drain(a);
	drain(open_);

	/* a different key both ways */
	CHECK(discovery_send(other, 0, idb, 40005, 7) == MESH_OK);
	CHECK(recv_one(b, &body, &rc) && rc == MESH_EAUTH);
	CHECK(recv_one(a, &body, &rc) && rc == MESH_EAUTH);
	CHECK(recv_one(other, &body, &rc) && rc == MESH_OK && body.incarnation == 7);
done:
	discovery_destroy(&a);
	discovery_destroy(&b);
	discovery_destroy(&open_);
	discovery_destroy(&other);
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
}

/* ------------------------------------------------------------------ hostile datagrams */

struct tally {
	unsigned long sent, ok_same, ok_diff, lost, rc_count[10];
};

/* Sends one datagram from the raw socket and reads B's verdict. */
static void probe(int tx, struct discovery *b, const uint8_t *p, size_t n,
                  const struct wire_beacon_body *genuine, struct tally *t)
{
	struct wire_beacon_body body;
	enum mesh_err rc;
	t->sent++;
	if (!raw_send(tx, p, n) || !recv_one(b, &body, &rc)) {
		t->lost++;
		return;
	}
	if (rc == MESH_OK) {
		if (genuine && body_eq(&body, genuine))
			t->ok_same++;
		else
			t->ok_diff++;
	}
	if (rc <= 0 && rc > -10)
		t->rc_count[-rc]++;
}

/* msgpack of [magic, version, sealed, blob] with any values, for wrong-version beacons. */
static size_t pack_datagram(const char *magic, uint64_t version, bool sealed, const uint8_t *blob,
                            size_t bloblen, uint8_t *out, size_t cap)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_str(&pk, strlen(magic));
	msgpack_pack_str_body(&pk, magic, strlen(magic));
	msgpack_pack_uint64(&pk, version);
	if (sealed)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msgpack_pack_bin(&pk, bloblen);
	msgpack_pack_bin_body(&pk, blob, bloblen);
	size_t n = sb.size <= cap ? sb.size : 0;
	if (n)
		memcpy(out, sb.data, n);
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/* A signed, open beacon datagram for `body_bytes`, signed by `signer`. */
static size_t signed_datagram(const uint8_t *body_bytes, size_t blen,
                              const struct keys_identity *signer, uint8_t *out, size_t cap)
{
	uint8_t sig[WIRE_SIGLEN], sgn[WIRE_MAX_BEACON];
	size_t slen = 0, dlen = 0;
	CHECK(keys_sign(signer, body_bytes, blen, sig) == 0);
	CHECK(wire_signed_encode(body_bytes, blen, sig, sgn, sizeof sgn, &slen) == MESH_OK);
	CHECK(wire_beacon_encode(false, sgn, slen, out, cap, &dlen) == MESH_OK);
	return dlen;
}

static void mutations(int tx, struct discovery *b, const uint8_t *good, size_t n,
                      const struct wire_beacon_body *genuine, struct tally *t)
{
	static const uint8_t xs[] = { 0x01, 0x80, 0xff };
	uint8_t *copy = malloc(WIRE_MAX_BEACON + 2);
	if (!copy)
		return;
	/* every truncation, including the empty datagram */
	for (size_t k = 0; k < n; k++)
		probe(tx, b, good, k, genuine, t);
	/* every byte flipped three ways */
	for (size_t pos = 0; pos < n; pos++)
		for (size_t xi = 0; xi < sizeof xs; xi++) {
			memcpy(copy, good, n);
			copy[pos] ^= xs[xi];
			probe(tx, b, copy, n, genuine, t);
		}
	/* a trailing byte */
	memcpy(copy, good, n);
	copy[n] = 0;
	probe(tx, b, copy, n + 1, genuine, t);
	free(copy);
}

static void test_hostile(void)
{
	struct discovery *a = open_disc(NULL), *b = open_disc(NULL);
	int cap = raw_socket(true), tx = raw_socket(false);
	uint8_t good[WIRE_MAX_BEACON + 16], dg[1024];
	size_t glen = 0;
	struct wire_beacon_body genuine, body;
	enum mesh_err rc;
	struct tally t = { 0 };
	if (!a || !b || cap < 0 || tx < 0)
		goto done;
	drain(b);

	/* Capture what discovery_send really puts on the wire. */
	CHECK(discovery_send(a, 0, ida, 40010, 0xfeedull) == MESH_OK);
	glen = raw_recv(cap, good, sizeof good);
	CHECK(glen > 0 && glen <= WIRE_MAX_BEACON);
	CHECK(recv_one(b, &genuine, &rc) && rc == MESH_OK);
	discovery_destroy(&a);           /* A's socket would only fill up from here on */
	close(cap);
	cap = -1;
	if (glen == 0)
		goto done;

	/* Positive control: the captured bytes replayed from a plain socket verify (replays are
	 * the engine's business: it compares counters). */
	probe(tx, b, good, glen, &genuine, &t);
	CHECK(t.ok_same == 1 && t.ok_diff == 0 && t.lost == 0);

	mutations(tx, b, good, glen, &genuine, &t);

	/* Garbage: random bytes of many sizes, and msgpack of the wrong shape. */
	for (size_t k = 0; k < 200; k++) {
		size_t n = 1 + randombytes_uniform(WIRE_MAX_BEACON);
		randombytes_buf(dg, n);
		probe(tx, b, dg, n, NULL, &t);
	}
	static const uint8_t shapes[][12] = {
		{ 0x90 },                               /* [] */
		{ 0x91, 0xa8, 'm', 'e', 's', 'h', 'n', 'o', 'd', 'e' },
		{ 0xc0 },                               /* nil */
		{ 0x94, 0xc0, 0xc0, 0xc0, 0xc0 },
		{ 0xdd, 0xff, 0xff, 0xff, 0xff },        /* array32 claiming 4 billion elements */
		{ 0xc6, 0x7f, 0xff, 0xff, 0xff },        /* bin32 claiming 2 GiB */
	};
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		size_t n = sizeof shapes[k];
		while (n > 1 && shapes[k][n - 1] == 0)
			n--;
		probe(tx, b, shapes[k], n, NULL, &t);
	}

	/* Oversize: 513 bytes (a valid beacon padded), and 512 and 2000 bytes of junk. */
	memset(dg, 0, sizeof dg);
	memcpy(dg, good, glen);
	probe(tx, b, dg, WIRE_MAX_BEACON + 1, NULL, &t);
	probe(tx, b, dg, WIRE_MAX_BEACON, NULL, &t);
	probe(tx, b, dg, 1000, NULL, &t);

	/* Wrong version, outer: the genuine blob under version 0, 1 (a node of protocol version
	 * 1), 3, 255 and 2^64-1, each named by discovery_last_version but 0; the wrong magic. */
	{
		struct wire_beacon wb;
		CHECK(wire_beacon_decode(good, glen, &wb) == MESH_OK);
		uint8_t blob[WIRE_MAX_BEACON];
		size_t bl = wb.blob_len;
		memcpy(blob, wb.blob, bl);
		static const uint64_t versions[] = { 0, 1, 3, 255, UINT64_MAX };
		for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
			size_t n = pack_datagram(WIRE_MAGIC, versions[k], false, blob, bl, dg, sizeof dg);
			CHECK(n > 0);
			unsigned long malformed = t.rc_count[-MESH_EMALFORMED];
			probe(tx, b, dg, n, NULL, &t);
			CHECK(t.rc_count[-MESH_EMALFORMED] == malformed + 1);
			CHECK(discovery_last_version(b) == versions[k]);
		}
		size_t n = pack_datagram("meshnodf", 1, false, blob, bl, dg, sizeof dg);
		probe(tx, b, dg, n, NULL, &t);
		CHECK(discovery_last_version(b) == 0);
		/* our own packer reproduces the genuine datagram: the control for the above */
		n = pack_datagram(WIRE_MAGIC, WIRE_VERSION, false, blob, bl, dg, sizeof dg);
		CHECK(n == glen && memcmp(dg, good, glen) == 0);
	}

	/* Inside a correct signature: a body of another version, and a body signed by someone
	 * else. */
	{
		struct wire_beacon_body bb = genuine;
		uint8_t bodyb[WIRE_MAX_BEACON];
		size_t blen = 0;
		unsigned long ok_before = t.ok_diff + t.ok_same;
		bb.counter++;
		CHECK(wire_beacon_body_encode(&bb, bodyb, sizeof bodyb, &blen) == MESH_OK);
		/* [ "meshnode-beacon", 2, ... ]: fixarray, fixstr header + 15 bytes, then version */
		size_t vpos = 1 + 1 + strlen(WIRE_BEACON_MAGIC);
		CHECK(blen > vpos && bodyb[vpos] == WIRE_VERSION);
		/* control: a correctly signed body of our version verifies */
		size_t n = signed_datagram(bodyb, blen, ida, dg, sizeof dg);
		probe(tx, b, dg, n, &bb, &t);
		CHECK(t.ok_same + t.ok_diff == ok_before + 1);
		ok_before++;
		struct tally t2 = { 0 };
		bodyb[vpos] = 1;
		n = signed_datagram(bodyb, blen, ida, dg, sizeof dg);
		probe(tx, b, dg, n, NULL, &t2);
		CHECK(t2.rc_count[-MESH_EMALFORMED] == 1);
		bodyb[vpos] = 3;
		n = signed_datagram(bodyb, blen, ida, dg, sizeof dg);
		probe(tx, b, dg, n, NULL, &t2);
		CHECK(t2.rc_count[-MESH_EMALFORMED] == 2);
		bodyb[vpos] = WIRE_VERSION;
		/* alice's ID, bob's signature */
		n = signed_datagram(bodyb, blen, idb, dg, sizeof dg);
		probe(tx, b, dg, n, NULL, &t2);
		CHECK(t2.rc_count[-MESH_EAUTH] == 1);
		CHECK(t2.ok_same + t2.ok_diff == 0 && t2.lost == 0);
		t.sent += t2.sent;
	}

	CHECK(t.ok_diff == 0);
	CHECK(t.lost == 0);
	/* the control probes are the only acceptances */
	CHECK(t.ok_same == 2);
	printf("  open: %lu datagrams, %lu verified (the controls), malformed %lu, auth %lu, "
	       "state %lu, lost %lu\n", t.sent, t.ok_same + t.ok_diff,
	       t.rc_count[-MESH_EMALFORMED], t.rc_count[-MESH_EAUTH], t.rc_count[-MESH_ESTATE],
	       t.lost);

	/* B still works after all that. */
	a = open_disc(NULL);
	if (a) {
		drain(b);
		CHECK(discovery_send(a, 0, ida, 40011, 3) == MESH_OK);
		CHECK(recv_one(b, &body, &rc) && rc == MESH_OK && body.port == 40011);
	}
done:
	if (cap >= 0)
		close(cap);
	if (tx >= 0)
		close(tx);
	discovery_destroy(&a);
	discovery_destroy(&b);
}

static void test_hostile_sealed(void)
{
	uint8_t key[DISCOVERY_KEYLEN];
	randombytes_buf(key, sizeof key);
	struct discovery *a = open_disc(key), *b = open_disc(key);
	int cap = raw_socket(true), tx = raw_socket(false);
	uint8_t good[WIRE_MAX_BEACON + 16];
	size_t glen = 0;
	struct wire_beacon_body genuine;
	enum mesh_err rc;
	struct tally t = { 0 };
	if (!a || !b || cap < 0 || tx < 0)
		goto done;
	drain(b);
	CHECK(discovery_send(a, 0, idb, 40020, 0xbeefull) == MESH_OK);
	glen = raw_recv(cap, good, sizeof good);
	CHECK(glen > 0 && glen <= WIRE_MAX_BEACON);
	CHECK(recv_one(b, &genuine, &rc) && rc == MESH_OK);
	discovery_destroy(&a);
	close(cap);
	cap = -1;
	if (glen == 0)
		goto done;
	probe(tx, b, good, glen, &genuine, &t);
	CHECK(t.ok_same == 1 && t.lost == 0);
	mutations(tx, b, good, glen, &genuine, &t);
	CHECK(t.ok_diff == 0);
	CHECK(t.ok_same == 1);
	CHECK(t.lost == 0);
	printf("  sealed: %lu datagrams, %lu verified (the control), malformed %lu, auth %lu, "
	       "state %lu, lost %lu\n", t.sent, t.ok_same + t.ok_diff,
	       t.rc_count[-MESH_EMALFORMED], t.rc_count[-MESH_EAUTH], t.rc_count[-MESH_ESTATE],
	       t.lost);
done:
	if (cap >= 0)
		close(cap);
	if (tx >= 0)
		close(tx);
	discovery_destroy(&a);
	discovery_destroy(&b);
	sodium_memzero(key, sizeof key);
}

/* ------------------------------------------------------------------ the filtered receive */

struct known_probe {
	bool answer;
	unsigned calls;
	struct wire_beacon_body seen;
};

static bool known_cb(void *arg, const struct wire_beacon_body *unverified)
{
	struct known_probe *k = arg;
	k->calls++;
	k->seen = *unverified;
	return k->answer;
}

/* Like recv_one, through discovery_recv_filtered. */
static bool recv_filtered(struct discovery *d, struct known_probe *k, struct wire_beacon_body *b,
                          enum mesh_err *rc, bool *skipped)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		bool got = false;
		*rc = discovery_recv_filtered(d, b, &got, skipped, known_cb, k);
		if (got)
			return true;
		if (!wait_readable(discovery_fd(d, 0), deadline))
			return false;
	}
}

static void test_filtered(void)
{
	struct discovery *a = open_disc(NULL), *b = open_disc(NULL);
	int cap = raw_socket(true), tx = raw_socket(false);
	uint8_t good[WIRE_MAX_BEACON + 16], bad[WIRE_MAX_BEACON + 16];
	size_t glen = 0;
	struct wire_beacon_body body;
	enum mesh_err rc;
	bool skipped = true;
	if (!a || !b || cap < 0 || tx < 0)
		goto done;
	drain(b);

	/* known() says no: the beacon is verified as usual, and known() saw the parsed body */
	struct known_probe k = { .answer = false };
	CHECK(discovery_send(a, 0, ida, 40030, 11) == MESH_OK);
	glen = raw_recv(cap, good, sizeof good);
	CHECK(glen > 0);
	CHECK(recv_filtered(b, &k, &body, &rc, &skipped));
	CHECK(rc == MESH_OK && !skipped && k.calls == 1);
	CHECK(body_eq(&body, &k.seen) && body.port == 40030 && body.incarnation == 11);
	if (glen == 0)
		goto done;

	/* known() says yes: skipped, no verification (the body must not be used) */
	k = (struct known_probe){ .answer = true };
	CHECK(raw_send(tx, good, glen));
	CHECK(recv_filtered(b, &k, &body, &rc, &skipped));
	CHECK(rc == MESH_OK && skipped && k.calls == 1);

	/* a forged signature: refused when known() says no, skipped (never "verified") when yes */
	memcpy(bad, good, glen);
	bad[glen - 1] ^= 0x01;          /* the last byte is the signature's */
	k = (struct known_probe){ .answer = false };
	CHECK(raw_send(tx, bad, glen));
	CHECK(recv_filtered(b, &k, &body, &rc, &skipped));
	CHECK(rc == MESH_EAUTH && !skipped && k.calls == 1);
	k.answer = true;
	CHECK(raw_send(tx, bad, glen));
	CHECK(recv_filtered(b, &k, &body, &rc, &skipped));
	CHECK(rc == MESH_OK && skipped);

	/* known() is never asked about what does not even parse, nor about every truncation */
	k = (struct known_probe){ .answer = true };
	unsigned long not_ok = 0, skipped_bad = 0;
	for (size_t n = 0; n < glen; n++) {
		CHECK(raw_send(tx, good, n));
		if (!recv_filtered(b, &k, &body, &rc, &skipped))
			continue;
		not_ok += rc != MESH_OK;
		skipped_bad += rc != MESH_OK && skipped;
	}
	CHECK(not_ok == glen);
	CHECK(skipped_bad == 0);
	CHECK(k.calls == 0);
	/* nothing waiting */
	bool got = true;
	CHECK(discovery_recv_filtered(b, &body, &got, &skipped, known_cb, &k) == MESH_OK && !got &&
	      !skipped);
done:
	if (cap >= 0)
		close(cap);
	if (tx >= 0)
		close(tx);
	discovery_destroy(&a);
	discovery_destroy(&b);
}

int main(void)
{
	testlib_require_netns("test_discovery");
	if (sodium_init() < 0)
		return 1;
	ida = keys_identity_generate();
	idb = keys_identity_generate();
	CHECK(ida && idb);
	if (ida && idb) {
		test_resolve();
		test_open();
		test_sealed();
		test_hostile();
		test_hostile_sealed();
		test_filtered();
	}
	keys_identity_destroy(&ida);
	keys_identity_destroy(&idb);
	return testlib_done("test_discovery");
}
