/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mcast_udp: the product's datagram transport under discovery (mcast.h). One non-blocking UDP
 * socket per node, bound to the group address and port, joined on one interface, with the
 * multicast TTL at 1 so that beacons stay on the segment.
 */
/* getifaddrs, IFF_* and struct ip_mreq are BSD/Linux interfaces outside strict POSIX */
#define _DEFAULT_SOURCE

#include "mcast.h"

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

struct udp {
	int fd;
	struct sockaddr_in dst;
};

static bool names(const char *entry, const struct mcast_iface *i)
{
	struct in_addr a;
	if (inet_pton(AF_INET, entry, &a) == 1)
		return a.s_addr == i->addr.s_addr;
	return strcmp(entry, i->name) == 0;
}

static bool named_by(const char *const *list, size_t n, const struct mcast_iface *i)
{
	for (size_t k = 0; k < n; k++)
		if (names(list[k], i))
			return true;
	return false;
}

static bool addr_named_by(const char *const *list, size_t n, struct in_addr a)
{
	struct in_addr e;
	for (size_t k = 0; k < n; k++)
		if (inet_pton(AF_INET, list[k], &e) == 1 && e.s_addr == a.s_addr)
			return true;
	return false;
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
		if (sel->n_allow ? !named_by(sel->allow, sel->n_allow, c) :
		                   !(c->up && c->multicast && !c->loopback))
			continue;
		if (named_by(sel->deny, sel->n_deny, c))
			continue;
		for (size_t j = 0; j < got && !taken; j++)
			taken = strcmp(out[j].name, c->name) == 0;
		/* an interface the allow list names through one of its addresses uses that one */
		bool by_addr = addr_named_by(sel->allow, sel->n_allow, c->addr);
		for (size_t j = 0; j < n && !taken && !by_addr; j++)
			taken = j != i && strcmp(all[j].name, c->name) == 0 &&
			        addr_named_by(sel->allow, sel->n_allow, all[j].addr);
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
		o->addr = ((const struct sockaddr_in *)(const void *)it->ifa_addr)->sin_addr;
		if (it->ifa_netmask && it->ifa_netmask->sa_family == AF_INET)
			o->mask = ((const struct sockaddr_in *)(const void *)it->ifa_netmask)->sin_addr;
		o->up = it->ifa_flags & IFF_UP;
		o->multicast = it->ifa_flags & IFF_MULTICAST;
		o->loopback = it->ifa_flags & IFF_LOOPBACK;
	}
	freeifaddrs(ifs);
	return MESH_OK;
}

enum mesh_err mcast_resolve_iface(const char *iface, struct in_addr *out, char *err,
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
		*out = pick[0].addr;
		return MESH_OK;
	}
	if (iface)
		snprintf(err, errcap, "no IPv4 interface '%s' (give --iface a name such as "
		         "eth0 or lo, or an address of this host)", iface);
	else
		snprintf(err, errcap, "no up, multicast-capable, non-loopback IPv4 interface; "
		         "choose one with --iface");
	return MESH_ENOTFOUND;
}

static void udp_close(void *t)
{
	struct udp *u = t;
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

static void *udp_open(const struct mcast_config *cfg, struct in_addr *ifaddr, char *err,
                      size_t errcap)
{
	struct udp *u = calloc(1, sizeof *u);
	struct ip_mreq mreq;
	int one = 1, zero = 0;
	unsigned char ttl = 1, loop = 1;
	if (!u) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	u->fd = -1;
	if (mcast_resolve_iface(cfg->iface, ifaddr, err, errcap) != MESH_OK)
		goto fail;
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
	mreq.imr_interface = *ifaddr;
	if (setsockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0 ||
	    setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, ifaddr, sizeof *ifaddr) != 0 ||
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
		char ifa[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, ifaddr, ifa, sizeof ifa);
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
	if (sendto(u->fd, dgram, len, 0, (const struct sockaddr *)&u->dst, sizeof u->dst) < 0)
		return MESH_EIO;
	return MESH_OK;
}

static enum mesh_err udp_recv(void *t, uint8_t *buf, size_t cap, bool *got, size_t *len,
                              struct in_addr *from)
{
	struct udp *u = t;
	struct sockaddr_in src;
	socklen_t srclen = sizeof src;
	memset(&src, 0, sizeof src);
	*got = false;
	*len = 0;
	/* MSG_TRUNC: the datagram's real length, so an oversized one is told from a full one */
	ssize_t n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&src, &srclen);
	*from = src.sin_addr;
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
