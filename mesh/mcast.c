/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mcast_udp: the product's datagram transport under discovery (mcast.h). One non-blocking UDP
 * socket per interface and family, bound to the group address and port, joined on that
 * interface, with the multicast TTL (hop limit) at 1 so that beacons stay on the segment.
 */
/* getifaddrs, IFF_* and struct ip_mreq are BSD/Linux interfaces outside strict POSIX */
#define _DEFAULT_SOURCE

#include "mcast.h"
#include "mcast6.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(MCAST_IFNAME_LEN == MCAST6_IFNAME_LEN, "interface names of one length");

struct udp {
	int fd;
	struct sockaddr_in dst;
	struct mcast6 *m6;              /* IPv6: the socket (mcast6.h), and fd is its */
	struct ipaddr src6;             /* IPv6: the address beacons announce, and come from */
};

/* An address written names one of the host's; with an interface (fe80::1%eth0), on that one
 * only: two interfaces may have the same link-local address. */
static bool same_addr(const struct ipaddr *written, const struct ipaddr *a)
{
	return ipaddr_same(written, a) && (!written->scope || written->scope == a->scope);
}

static bool names(const char *entry, const struct mcast_iface *i)
{
	struct ipaddr a;
	if (ipaddr_parse(entry, &a) == MESH_OK)
		return same_addr(&a, &i->addr);
	return strcmp(entry, i->name) == 0;
}

static bool named_by(const char *const *list, size_t n, const struct mcast_iface *i)
{
	for (size_t k = 0; k < n; k++)
		if (names(list[k], i))
			return true;
	return false;
}

static bool addr_named_by(const char *const *list, size_t n, const struct ipaddr *a)
{
	struct ipaddr e;
	for (size_t k = 0; k < n; k++)
		if (ipaddr_parse(list[k], &e) == MESH_OK && same_addr(&e, a))
			return true;
	return false;
}

/* One interface, one family: one address beaconed on, one group joined. */
static bool same_family(const struct mcast_iface *a, const struct mcast_iface *b)
{
	return strcmp(a->name, b->name) == 0 && ipaddr_is_v4(&a->addr) == ipaddr_is_v4(&b->addr);
}

static bool qualifies(const struct mcast_ifsel *sel, const struct mcast_iface *c)
{
	if (sel->n_allow ? !named_by(sel->allow, sel->n_allow, c) :
	                   !(c->up && c->multicast && !c->loopback))
		return false;
	return !named_by(sel->deny, sel->n_deny, c);
}

size_t mcast_select_ifaces(const struct mcast_iface *all, size_t n, const struct mcast_ifsel *sel,
                           struct mcast_iface out[static MCAST_MAX_IFACES], size_t *over,
                           size_t *unmatched)
{
	size_t got = 0;
	*over = 0;
	*unmatched = sel->n_allow;
	for (size_t k = 0; k < sel->n_allow && *unmatched == sel->n_allow; k++) {
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = names(sel->allow[k], &all[i]);
		if (!any)
			*unmatched = k;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mcast_iface *c = &all[i];
		bool taken = false;
		if (!qualifies(sel, c))
			continue;
		/* an interface the allow list names through one of its addresses uses that one */
		bool by_addr = addr_named_by(sel->allow, sel->n_allow, &c->addr);
		for (size_t j = 0; j < n && !taken && !by_addr; j++)
			taken = j != i && same_family(&all[j], c) &&
			        addr_named_by(sel->allow, sel->n_allow, &all[j].addr);
		/* an IPv6 address that can be passed on beats a link-local one (mcast.h) */
		for (size_t j = 0; j < n && !taken && !by_addr && ipaddr_is_linklocal(&c->addr); j++)
			taken = j != i && same_family(&all[j], c) && qualifies(sel, &all[j]) &&
			        !ipaddr_is_linklocal(&all[j].addr);
		for (size_t j = 0; j < got && !taken; j++)
			taken = same_family(&out[j], c);
		if (taken)
			continue;
		if (got == MCAST_MAX_IFACES) {
			(*over)++;
			continue;
		}
		out[got++] = *c;
	}
	return got;
}

/* The length of a netmask's run of ones. */
static uint8_t prefix_of(const struct sockaddr *mask)
{
	struct ipaddr m;
	uint8_t bits = 0;
	(void)ipaddr_from_sockaddr(mask, &m, NULL);
	for (size_t i = ipaddr_is_v4(&m) ? 12 : 0; i < 16; i++) {
		for (uint8_t b = m.b[i]; b & 0x80; b = (uint8_t)(b << 1))
			bits++;
		if (m.b[i] != 0xff)
			break;
	}
	return bits;
}

/* The IPv6 rows: mcast6's listing, less the addresses that cannot be used now (still in
 * duplicate address detection, or on their way out: mcast6.h) and those of a loopback
 * interface (link-scope multicast does not work there: `--iface lo` means IPv4), each
 * interface's in the order mcast6_pick() prefers them, so that the first that qualifies is
 * the one to announce. */
static size_t list_v6(struct mcast_iface *out, size_t cap)
{
	struct mcast6_addr all[MCAST_LIST_MAX];
	size_t n = 0, got = 0;
	char err[128];
	if (mcast6_list_addrs(all, MCAST_LIST_MAX, &n, err, sizeof err) != MESH_OK)
		return 0;                   /* IPv4 alone is still a listing */
	for (int rank = 0; rank < 3; rank++)
		for (size_t i = 0; i < n && got < cap; i++) {
			const struct mcast6_addr *a = &all[i];
			if (a->tentative || a->deprecated || a->index == 0 || a->loopback ||
			    (a->linklocal ? 2 : a->temporary ? 1 : 0) != rank)
				continue;
			struct mcast_iface *o = &out[got++];
			memset(o, 0, sizeof *o);
			memcpy(o->name, a->name, sizeof o->name);      /* one size (below), NUL-ended */
			o->name[sizeof o->name - 1] = '\0';
			o->index = a->index;
			o->addr = a->addr;
			o->prefix = a->prefix;
			o->up = a->up;
			o->multicast = a->multicast;
			o->loopback = a->loopback;
		}
	return got;
}

enum mesh_err mcast_list_ifaces(struct mcast_iface *out, size_t cap, size_t *n, char *err,
                                size_t errcap)
{
	struct ifaddrs *ifs = NULL, *it;
	*n = 0;
	if (getifaddrs(&ifs) != 0) {
		snprintf(err, errcap, "cannot list interfaces: %s", strerror(errno));
		return MESH_EIO;
	}
	for (it = ifs; it && *n < cap; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET)
			continue;
		struct mcast_iface *o = &out[(*n)++];
		memset(o, 0, sizeof *o);
		snprintf(o->name, sizeof o->name, "%s", it->ifa_name);
		o->index = if_nametoindex(it->ifa_name);
		(void)ipaddr_from_sockaddr(it->ifa_addr, &o->addr, NULL);
		if (it->ifa_netmask && it->ifa_netmask->sa_family == AF_INET)
			o->prefix = prefix_of(it->ifa_netmask);
		o->up = it->ifa_flags & IFF_UP;
		o->multicast = it->ifa_flags & IFF_MULTICAST;
		o->loopback = it->ifa_flags & IFF_LOOPBACK;
	}
	freeifaddrs(ifs);
	*n += list_v6(out + *n, cap - *n);
	return MESH_OK;
}

enum mesh_err mcast_resolve_iface(const char *iface, struct mcast_iface *out, char *err,
                                  size_t errcap)
{
	struct mcast_iface all[MCAST_LIST_MAX], pick[MCAST_MAX_IFACES];
	struct mcast_ifsel sel = { &iface, iface ? 1 : 0, NULL, 0 };
	size_t n, over, unmatched;
	enum mesh_err rc = mcast_list_ifaces(all, MCAST_LIST_MAX, &n, err, errcap);
	if (rc != MESH_OK)
		return rc;
	/* the choice a node on several interfaces makes, of which a node on one takes the first */
	if (mcast_select_ifaces(all, n, &sel, pick, &over, &unmatched) > 0) {
		*out = pick[0];
		return MESH_OK;
	}
	if (iface)
		snprintf(err, errcap, "no interface '%s' with a usable address (give --iface a name "
		         "such as eth0 or lo, or an address of this host)", iface);
	else
		snprintf(err, errcap, "no up, multicast-capable, non-loopback interface with a "
		         "usable address; choose one with --iface");
	return MESH_ENOTFOUND;
}

static void udp_close(void *t)
{
	struct udp *u = t;
	if (!u)
		return;
	if (u->m6)
		mcast6_close(&u->m6);       /* its fd with it */
	else if (u->fd >= 0)
		close(u->fd);
	free(u);
}

/*
 * IPv6 (mcast6.h): the socket is bound to the group on the interface, so each handle reads
 * only what came in there, and every send names the address picked as its source, which the
 * kernel would not choose for a link-scope group (it would take the link-local one), and
 * which a beacon's signed ip must be.
 */
static int open6(struct udp *u, const struct mcast_config *cfg, const struct mcast_iface *pick,
                 char *err, size_t errcap)
{
	if (mcast6_open(cfg->group6, cfg->port ? cfg->port : MCAST_DEFAULT_PORT, pick->index,
	                &u->m6, err, errcap) != MESH_OK)
		return -1;
	u->fd = mcast6_fd(u->m6);
	u->src6 = pick->addr;
	return 0;
}

static void *udp_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                      size_t errcap)
{
	struct udp *u = calloc(1, sizeof *u);
	struct mcast_iface pick;
	struct in_addr ifa4;
	struct ip_mreq mreq;
	int one = 1, zero = 0;
	unsigned char ttl = 1, loop = 1;
	if (!u) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	u->fd = -1;
	if (mcast_resolve_iface(cfg->iface, &pick, err, errcap) != MESH_OK)
		goto fail;
	*ifaddr = pick.addr;
	if (!ipaddr_is_v4(ifaddr)) {
		if (open6(u, cfg, &pick, err, errcap) != 0)
			goto fail;
		return u;
	}
	memcpy(&ifa4.s_addr, ipaddr_v4_bytes(ifaddr), 4);
	u->dst.sin_family = AF_INET;
	u->dst.sin_port = htons(cfg->port ? cfg->port : MCAST_DEFAULT_PORT);
	const char *group = cfg->group ? cfg->group : MCAST_DEFAULT_GROUP;
	if (inet_pton(AF_INET, group, &u->dst.sin_addr) != 1 ||
	    (ntohl(u->dst.sin_addr.s_addr) >> 28) != 0xe) {
		snprintf(err, errcap, "multicast group '%s' is not an IPv4 multicast address", group);
		goto fail;
	}
	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto syserr;
	if (setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
		goto syserr;
	/* Binding to the group address keeps unrelated multicast on the same port out. */
	if (bind(u->fd, (const struct sockaddr *)&u->dst, sizeof u->dst) != 0)
		goto syserr;
	mreq.imr_multiaddr = u->dst.sin_addr;
	mreq.imr_interface = ifa4;
	if (setsockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa4, sizeof ifa4) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
		goto syserr;
	/* Linux otherwise delivers every group any socket on the host joined. */
	(void)setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
	/* Many nodes starting together burst beacons at once; a beacon lost to a full receive
	 * buffer costs a whole beacon interval of discovery. Best effort: the kernel caps it. */
	int rcvbuf = MCAST_RCVBUF;
	(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	return u;
syserr:
	{
		int e = errno;
		char ifa[IPADDR_STRLEN];
		ipaddr_str(ifaddr, ifa);
		snprintf(err, errcap, "multicast socket on %s (group %s): %s", ifa, group, strerror(e));
	}
fail:
	udp_close(u);
	return NULL;
}

static int udp_fd(const void *t)
{
	return ((const struct udp *)t)->fd;
}

static enum mesh_err udp_send(void *t, const uint8_t *dgram, size_t len)
{
	struct udp *u = t;
	if (u->m6)
		return mcast6_send(u->m6, &u->src6, dgram, len);
	if (sendto(u->fd, dgram, len, 0, (const struct sockaddr *)&u->dst, sizeof u->dst) < 0)
		return MESH_EIO;
	return MESH_OK;
}

static enum mesh_err udp_recv(void *t, uint8_t *buf, size_t cap, bool *got, size_t *len,
                              struct ipaddr *from)
{
	struct udp *u = t;
	if (u->m6)
		return mcast6_recv(u->m6, buf, cap, got, len, from, NULL);
	struct sockaddr_storage src;
	socklen_t srclen = sizeof src;
	memset(&src, 0, sizeof src);
	*got = false;
	*len = 0;
	/* MSG_TRUNC: the datagram's real length, so an oversized one is told from a full one */
	ssize_t n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&src, &srclen);
	if (n < 0 || !ipaddr_from_sockaddr((const struct sockaddr *)&src, from, NULL))
		memset(from, 0, sizeof *from);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? MESH_OK : MESH_EIO;
	*got = true;
	*len = (size_t)n > cap ? cap + 1 : (size_t)n;
	return MESH_OK;
}

static enum mesh_err udp_ifaces(void *env, struct mcast_iface *out, size_t cap, size_t *n,
                                char *err, size_t errcap)
{
	(void)env;
	return mcast_list_ifaces(out, cap, n, err, errcap);
}

const struct mcast_ops mcast_udp = {
	.open = udp_open,
	.close = udp_close,
	.fd = udp_fd,
	.send = udp_send,
	.recv = udp_recv,
	.wall_ms = NULL,
	.ifaces = udp_ifaces,
};
