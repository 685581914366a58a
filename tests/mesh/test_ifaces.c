/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_ifaces: discovery on several interfaces, over a transport of the test's own (no
 * socket): one handle per interface chosen, each beacon with its own interface's address and
 * counters of one sequence across them, reading from every handle with the tag of the one
 * read, and discovery_rescan() following interfaces that come, go, change address or cannot
 * be opened, each change reported once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "discovery.h"
#include "keys.h"
#include "testlib.h"

#define MAXQ 8

/* The host's interfaces, as the test sets them, and what was sent on each handle. */
struct fakenet {
	struct mcast_iface all[8];
	size_t n;
	const char *refuse;               /* open() of this address fails */
	size_t opened, closed;
};

struct fh {
	struct fakenet *net;
	struct ipaddr addr;
	uint8_t sent[MAXQ][WIRE_MAX_BEACON];
	size_t sent_len[MAXQ], nsent;
	uint8_t in[WIRE_MAX_BEACON];      /* one datagram waiting, if in_len */
	size_t in_len;
	struct ipaddr in_from;
	uint64_t order[MAXQ];             /* the global order of each datagram sent */
};

static struct fh *handles[16];
static size_t nhandles;
static uint64_t sends;

static void *f_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                    size_t errcap)
{
	struct fakenet *net = cfg->env;
	if (net->refuse && strcmp(cfg->iface, net->refuse) == 0) {
		snprintf(err, errcap, "refused by the test");
		return NULL;
	}
	struct fh *h = calloc(1, sizeof *h);
	if (!h || ipaddr_parse(cfg->iface, &h->addr) != MESH_OK) {
		free(h);
		snprintf(err, errcap, "bad iface");
		return NULL;
	}
	h->net = net;
	*ifaddr = h->addr;
	handles[nhandles++ % 16] = h;
	net->opened++;
	return h;
}

static void f_close(void *t)
{
	struct fh *h = t;
	h->net->closed++;
	for (size_t i = 0; i < 16; i++)
		if (handles[i] == h)
			handles[i] = NULL;
	free(h);
}

static int f_fd(const void *t)
{
	(void)t;
	return -1;
}

static enum mesh_err f_send(void *t, const uint8_t *d, size_t len)
{
	struct fh *h = t;
	if (h->nsent < MAXQ) {
		memcpy(h->sent[h->nsent], d, len);
		h->sent_len[h->nsent] = len;
		h->order[h->nsent++] = ++sends;
	}
	return MESH_OK;
}

static enum mesh_err f_recv(void *t, uint8_t *buf, size_t cap, bool *got, size_t *len,
                            struct ipaddr *from)
{
	struct fh *h = t;
	*got = false;
	if (!h->in_len || h->in_len > cap)
		return MESH_OK;
	memcpy(buf, h->in, h->in_len);
	*len = h->in_len;
	*from = h->in_from;
	*got = true;
	h->in_len = 0;
	return MESH_OK;
}

static uint64_t f_wall(void *t)
{
	(void)t;
	return 1000;                      /* a clock that stands still: +1 per beacon */
}

static enum mesh_err f_ifaces(void *env, struct mcast_iface *out, size_t cap, size_t *n,
                              char *err, size_t errcap)
{
	struct fakenet *net = env;
	(void)err;
	(void)errcap;
	*n = net->n < cap ? net->n : cap;
	memcpy(out, net->all, *n * sizeof *out);
	return MESH_OK;
}

static const struct mcast_ops fake = {
	.open = f_open, .close = f_close, .fd = f_fd, .send = f_send, .recv = f_recv,
	.wall_ms = f_wall, .ifaces = f_ifaces,
};

/* The address addr names (a valid one: the test's own). */
static struct ipaddr ip(const char *addr)
{
	struct ipaddr a = { { 0 }, 0 };
	CHECK(ipaddr_parse(addr, &a) == MESH_OK);
	return a;
}

static struct mcast_iface ifc(const char *name, const char *addr, bool up)
{
	struct mcast_iface i;
	memset(&i, 0, sizeof i);
	snprintf(i.name, sizeof i.name, "%s", name);
	i.addr = ip(addr);
	i.prefix = 24;
	i.up = up;
	i.multicast = true;
	return i;
}

static struct fh *handle_of(const char *addr)
{
	struct ipaddr a = ip(addr);
	for (size_t i = 0; i < 16; i++)
		if (handles[i] && ipaddr_eq(&handles[i]->addr, &a))
			return handles[i];
	return NULL;
}

static size_t index_of(const struct discovery *d, const char *addr)
{
	struct ipaddr a = ip(addr);
	for (size_t i = 0; i < discovery_count(d); i++)
		if (ipaddr_eq(&discovery_iface(d, i)->addr, &a))
			return i;
	return SIZE_MAX;
}

static struct discovery *open_disc(struct fakenet *net, const char *const *allow, size_t n_allow,
                                   const char *const *deny, size_t n_deny, char *err,
                                   size_t errcap)
{
	struct discovery_config dc = {
		.mcast = { .env = net }, .ops = &fake,
		.sel = { .allow = allow, .n_allow = n_allow, .deny = deny, .n_deny = n_deny },
	};
	return discovery_new(&dc, err, errcap);
}

/* Every interface, a beacon on each with its address, one counter sequence; reading. */
static void test_beacons_on_each(struct keys_identity *id)
{
	struct fakenet net = { .n = 3 };
	char err[160];
	net.all[0] = ifc("eth0", "10.1.0.5", true);
	net.all[1] = ifc("wlan0", "10.2.0.5", true);
	net.all[2] = ifc("down0", "10.3.0.5", false);
	struct discovery *d = open_disc(&net, NULL, 0, NULL, 0, err, sizeof err);
	CHECK(d != NULL && discovery_count(d) == 2);
	if (!d)
		return;
	CHECK(discovery_tag(d, 0) != 0 && discovery_tag(d, 1) != 0 &&
	      discovery_tag(d, 0) != discovery_tag(d, 1));
	for (size_t i = 0; i < discovery_count(d); i++)
		CHECK(discovery_send(d, i, id, 4000, 7) == MESH_OK);
	CHECK(discovery_send(d, 0, id, 4000, 7) == MESH_OK);
	/* each handle got beacons announcing its own address; read them back through the
	 * other handle, and the counters increase across both, though the clock stood still */
	struct fh *e = handle_of("10.1.0.5"), *w = handle_of("10.2.0.5");
	CHECK(e && w && e->nsent == 2 && w->nsent == 1);
	if (!e || !w || e->nsent != 2 || w->nsent != 1)
		goto out;
	uint64_t counters[3];
	const char *announced[3] = { "10.1.0.5", "10.2.0.5", "10.1.0.5" };
	struct { struct fh *h; size_t k; } order[3] = { { e, 0 }, { w, 0 }, { e, 1 } };
	for (int i = 0; i < 3; i++) {
		struct wire_beacon_body b;
		bool got;
		struct fh *via = order[i].h == e ? w : e;    /* heard on the other interface */
		memcpy(via->in, order[i].h->sent[order[i].k], order[i].h->sent_len[order[i].k]);
		via->in_len = order[i].h->sent_len[order[i].k];
		via->in_from = ip(announced[i]);
		CHECK(discovery_recv(d, &b, &got) == MESH_OK && got);
		struct ipaddr a = ip(announced[i]), source = discovery_last_source(d);
		CHECK(ipaddr_eq(&b.ip, &a) && b.port == 4000);
		CHECK(ipaddr_eq(&source, &a));
		CHECK(discovery_last_tag(d) == discovery_tag(d, index_of(d, via == e ? "10.1.0.5"
		                                                                    : "10.2.0.5")));
		counters[i] = b.counter;
	}
	CHECK(counters[0] < counters[1] && counters[1] < counters[2]);
	bool got;
	struct wire_beacon_body b;
	CHECK(discovery_recv(d, &b, &got) == MESH_OK && !got);
out:
	discovery_destroy(&d);
	CHECK(net.opened == 2 && net.closed == 2);
}

/* Allow and deny lists, and the start failing only when nothing opens. */
static void test_choice(void)
{
	struct fakenet net = { .n = 2 };
	char err[160];
	net.all[0] = ifc("eth0", "10.1.0.5", true);
	net.all[1] = ifc("wlan0", "10.2.0.5", true);
	const char *allow[] = { "wlan0", "docker0" };
	const char *deny[] = { "eth0" };
	struct discovery *d = open_disc(&net, allow, 2, NULL, 0, err, sizeof err);
	CHECK(d && discovery_count(d) == 1 && index_of(d, "10.2.0.5") == 0);
	CHECK(d && discovery_unmatched(d) && strcmp(discovery_unmatched(d), "docker0") == 0);
	discovery_destroy(&d);
	d = open_disc(&net, NULL, 0, deny, 1, err, sizeof err);
	CHECK(d && discovery_count(d) == 1 && index_of(d, "10.2.0.5") == 0);
	discovery_destroy(&d);
	const char *none[] = { "docker0" };
	d = open_disc(&net, none, 1, NULL, 0, err, sizeof err);
	CHECK(!d && strstr(err, "docker0"));
	net.refuse = "10.1.0.5";
	d = open_disc(&net, NULL, 0, deny + 0, 0, err, sizeof err);
	CHECK(d && discovery_count(d) == 1);          /* one that opens is enough */
	discovery_destroy(&d);
	net.n = 1;
	d = open_disc(&net, NULL, 0, NULL, 0, err, sizeof err);
	CHECK(!d && strstr(err, "refused by the test"));
}

static size_t count_kind(const struct discovery_change *ch, size_t k,
                         enum discovery_change_kind kind, const char *addr)
{
	struct ipaddr a = ip(addr);
	size_t n = 0;
	for (size_t i = 0; i < k; i++)
		n += ch[i].kind == kind && ipaddr_eq(&ch[i].iface.addr, &a);
	return n;
}

/* Interfaces that come, go, flap, change address, or fail to open, followed by rescans. */
static void test_rescan(void)
{
	struct discovery_change ch[DISCOVERY_MAX_CHANGES];
	struct fakenet net = { .n = 1 };
	char err[160];
	net.all[0] = ifc("eth0", "10.1.0.5", true);
	struct discovery *d = open_disc(&net, NULL, 0, NULL, 0, err, sizeof err);
	CHECK(d && discovery_count(d) == 1);
	if (!d)
		return;
	uint8_t eth_tag = discovery_tag(d, 0);
	CHECK(discovery_rescan(d, ch, err, sizeof err) == 0);        /* nothing changed */
	/* a docker bridge comes up */
	net.all[net.n++] = ifc("docker0", "172.17.0.1", true);
	size_t k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 1 && count_kind(ch, k, DISCOVERY_ADDED, "172.17.0.1") == 1);
	CHECK(discovery_count(d) == 2 && discovery_tag(d, index_of(d, "10.1.0.5")) == eth_tag);
	CHECK(ch[0].tag == discovery_tag(d, index_of(d, "172.17.0.1")) && ch[0].tag != eth_tag);
	/* eth0 goes down: no longer beaconed on, its address still the host's */
	net.all[0].up = false;
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 1 && count_kind(ch, k, DISCOVERY_REMOVED, "10.1.0.5") == 1 &&
	      ch[0].tag == eth_tag);
	CHECK(discovery_count(d) == 1 && index_of(d, "10.1.0.5") == SIZE_MAX);
	const struct ipaddr a = IPADDR_V4(10, 1, 0, 5);
	CHECK(discovery_host_has(d, &a));
	/* ... and up again: a fresh handle, with a tag not the one just closed */
	net.all[0].up = true;
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 1 && count_kind(ch, k, DISCOVERY_ADDED, "10.1.0.5") == 1);
	CHECK(discovery_count(d) == 2 && discovery_tag(d, index_of(d, "10.1.0.5")) != eth_tag);
	/* a DHCP renewal gives eth0 another address: the old handle goes, a new one comes */
	net.all[0].addr = IPADDR_V4(10, 1, 0, 9);
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 2 && count_kind(ch, k, DISCOVERY_REMOVED, "10.1.0.5") == 1 &&
	      count_kind(ch, k, DISCOVERY_ADDED, "10.1.0.9") == 1);
	CHECK(!discovery_host_has(d, &a));
	CHECK(discovery_count(d) == 2 && index_of(d, "10.1.0.9") != SIZE_MAX);
	/* one that cannot be opened is reported once, and opened when it can be */
	net.all[net.n++] = ifc("wlan0", "10.2.0.5", true);
	net.refuse = "10.2.0.5";
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 1 && count_kind(ch, k, DISCOVERY_FAILED, "10.2.0.5") == 1 &&
	      strstr(ch[0].why, "refused by the test"));
	CHECK(discovery_rescan(d, ch, err, sizeof err) == 0);
	net.refuse = NULL;
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 1 && count_kind(ch, k, DISCOVERY_ADDED, "10.2.0.5") == 1);
	CHECK(discovery_count(d) == 3);
	/* everything gone: no handle, nothing read, and back */
	size_t n_before = net.n;
	net.n = 0;
	k = discovery_rescan(d, ch, err, sizeof err);
	CHECK(k == 3 && discovery_count(d) == 0);
	bool got = true;
	struct wire_beacon_body b;
	CHECK(discovery_recv(d, &b, &got) == MESH_OK && !got);
	net.n = n_before;
	CHECK(discovery_rescan(d, ch, err, sizeof err) == 3 && discovery_count(d) == 3);
	discovery_destroy(&d);
	CHECK(net.opened == net.closed);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	struct keys_identity *id = keys_identity_generate();
	CHECK(id != NULL);
	if (id)
		test_beacons_on_each(id);
	keys_identity_destroy(&id);
	test_choice();
	test_rescan();
	return testlib_done("test_ifaces");
}
