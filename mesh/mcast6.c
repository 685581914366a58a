/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * mcast6: one non-blocking UDP socket per interface for IPv6 beacons, bound to group%ifindex
 * and joined there, and the list of this host's IPv6 addresses with the pick of the one to
 * announce per interface (mcast6.h). Invariant: a handle's socket only ever sees datagrams to
 * its group that arrived on its interface, and sends only out of that interface.
 */
/* struct in6_pktinfo (RFC 3542) is under _GNU_SOURCE in glibc; getifaddrs and IFF_* under
 * _DEFAULT_SOURCE, which _GNU_SOURCE implies */
#define _GNU_SOURCE

#include "mcast6.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RCVBUF (1 << 20)        /* as mcast.c's MCAST_RCVBUF: beacons of many nodes in a burst */

/* IFA_F_* of <linux/if_addr.h>, as /proc/net/if_inet6 prints them (the low 8 bits) */
#define IFA_TEMPORARY 0x01u
#define IFA_OPTIMISTIC 0x04u
#define IFA_DADFAILED 0x08u
#define IFA_DEPRECATED 0x20u
#define IFA_TENTATIVE 0x40u

struct mcast6 {
	int fd;
	unsigned ifindex;
	struct sockaddr_in6 dst;        /* the group, with scope ifindex, and port */
};

bool mcast6_group_ok(const struct ipaddr *g)
{
	return !ipaddr_is_v4(g) && g->b[0] == 0xff && (g->b[1] & 0x0f) == 0x02;
}

void mcast6_close(struct mcast6 **mp)
{
	if (!mp || !*mp)
		return;
	if ((*mp)->fd >= 0)
		close((*mp)->fd);
	free(*mp);
	*mp = NULL;
}

enum mesh_err mcast6_open(const char *group, uint16_t port, unsigned ifindex, struct mcast6 **out,
                          char *err, size_t errcap)
{
	struct mcast6 *m = NULL;
	struct ipv6_mreq mreq;
	struct in6_addr g6;
	struct ipaddr g;
	int one = 1, zero = 0, hops = 1, rcvbuf = RCVBUF;
	char ifname[IF_NAMESIZE] = "?";
	const char *what = "socket";

	*out = NULL;
	if (!group)
		group = MCAST6_DEFAULT_GROUP;
	bool parsed = inet_pton(AF_INET6, group, &g6) == 1;
	if (parsed)
		g = ipaddr_from_in6(&g6, 0);
	if (!parsed || !mcast6_group_ok(&g)) {
		snprintf(err, errcap, "IPv6 group '%s' is not a link-scope multicast address "
		         "(ff02::/16 or ff12::/16)", group);
		return MESH_EINVAL;
	}
	if (ifindex == 0 || !if_indextoname(ifindex, ifname)) {
		snprintf(err, errcap, "no interface with index %u for IPv6 group %s", ifindex, group);
		return MESH_EINVAL;
	}
	if (!(m = calloc(1, sizeof *m))) {
		snprintf(err, errcap, "out of memory");
		return MESH_ENOMEM;
	}
	m->ifindex = ifindex;
	m->dst.sin6_family = AF_INET6;
	m->dst.sin6_addr = g6;
	m->dst.sin6_port = htons(port);
	m->dst.sin6_scope_id = ifindex;
	m->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		goto syserr;
	what = "options";
	/* IPv6 only: an IPv4-mapped datagram has no business on this socket, IPv4 is mcast.c's */
	if (setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0 ||
	    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(m->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
		goto syserr;
	/* The group with its scope: the address keeps other groups on this port out, and the
	 * scope binds the socket to the interface (sk_bound_dev_if, as SO_BINDTODEVICE without
	 * its privilege), so that datagrams that came in on another interface, where another
	 * handle joined the same group, are not ours. Binding to :: does not do that. */
	what = "bind";
	if (bind(m->fd, (const struct sockaddr *)&m->dst, sizeof m->dst) != 0)
		goto syserr;
	what = "join";
	memset(&mreq, 0, sizeof mreq);
	mreq.ipv6mr_multiaddr = g6;
	mreq.ipv6mr_interface = ifindex;
	if (setsockopt(m->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) != 0)
		goto syserr;
	what = "options";
	if (setsockopt(m->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0 ||
	    setsockopt(m->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0 ||
	    setsockopt(m->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) != 0 ||
	    setsockopt(m->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0)
		goto syserr;
#ifdef IPV6_MULTICAST_ALL
	/* Only the groups this socket joined (Linux 4.20+; the bound address already ensures it,
	 * this is for a group ever bound as ::) */
	(void)setsockopt(m->fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof zero);
#else
	(void)zero;
#endif
	/* Best effort: the kernel caps it at rmem_max. */
	(void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	*out = m;
	return MESH_OK;
syserr:
	{
		int e = errno;
		snprintf(err, errcap, "IPv6 multicast socket on %s (group %s, port %u), %s: %s",
		         ifname, group, (unsigned)port, what, strerror(e));
		mcast6_close(&m);
		errno = e;
	}
	return MESH_EIO;
}

int mcast6_fd(const struct mcast6 *m)
{
	return m->fd;
}

unsigned mcast6_ifindex(const struct mcast6 *m)
{
	return m->ifindex;
}

enum mesh_err mcast6_send(struct mcast6 *m, const struct ipaddr *src, const uint8_t *dgram,
                          size_t len)
{
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct in6_pktinfo pi;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)dgram, .iov_len = len };
	struct msghdr msg;

	memset(&msg, 0, sizeof msg);
	memset(&ctl, 0, sizeof ctl);
	memset(&pi, 0, sizeof pi);
	msg.msg_name = &m->dst;
	msg.msg_namelen = sizeof m->dst;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	pi.ipi6_ifindex = m->ifindex;
	if (src) {
		if (ipaddr_is_v4(src) || ipaddr_is_unspecified(src) ||
		    (ipaddr_is_linklocal(src) && src->scope != 0 && src->scope != m->ifindex))
			return MESH_EINVAL;
		memcpy(pi.ipi6_addr.s6_addr, src->b, 16);
	}
	/* The source the beacon signs, even when the kernel would choose the link-local one; and
	 * the interface again, so that the route lookup can never pick another. */
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof pi);
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	if (sendmsg(m->fd, &msg, 0) < 0)
		return MESH_EIO;
	return MESH_OK;
}

enum mesh_err mcast6_recv(struct mcast6 *m, uint8_t *buf, size_t cap, bool *got, size_t *len,
                          struct ipaddr *from, unsigned *ifindex)
{
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct sockaddr_in6 src;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg;
	unsigned arrived = m->ifindex;

	memset(&msg, 0, sizeof msg);
	memset(&src, 0, sizeof src);
	*got = false;
	*len = 0;
	*from = ipaddr_from_in6(&src.sin6_addr, 0);
	if (ifindex)
		*ifindex = 0;
	msg.msg_name = &src;
	msg.msg_namelen = sizeof src;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	/* MSG_TRUNC: the datagram's real length, so an oversized one is told from a full one */
	ssize_t n = recvmsg(m->fd, &msg, MSG_TRUNC);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? MESH_OK : MESH_EIO;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			arrived = pi.ipi6_ifindex;
		}
	}
	*got = true;
	*len = (size_t)n > cap ? cap + 1 : (size_t)n;
	/* the arrival interface, not sin6_scope_id, so the two can never disagree */
	*from = ipaddr_from_in6(&src.sin6_addr, arrived);
	if (ifindex)
		*ifindex = arrived;
	return MESH_OK;
}

/* IFA_F_* of each address from /proc/net/if_inet6: "<32 hex> <ifindex> <plen> <scope>
 * <flags> <name>", all numbers hex. Returns whether a line matched. */
static bool proc_state(FILE *f, const struct in6_addr *a, unsigned index, unsigned *flags)
{
	char line[256], hex[33];
	unsigned idx, plen, scope, fl;
	rewind(f);
	while (fgets(line, sizeof line, f)) {
		uint8_t b[16];
		bool ok = true;
		if (sscanf(line, "%32s %x %x %x %x", hex, &idx, &plen, &scope, &fl) != 5 ||
		    strlen(hex) != 32 || idx != index)
			continue;
		for (size_t i = 0; i < 16 && ok; i++) {
			unsigned v;
			ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
			b[i] = (uint8_t)v;
		}
		if (ok && memcmp(b, a->s6_addr, 16) == 0) {
			*flags = fl;
			return true;
		}
	}
	return false;
}

static uint8_t prefix_of(const struct sockaddr *mask)
{
	uint8_t p = 0;
	if (!mask || mask->sa_family != AF_INET6)
		return 0;
	const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr.s6_addr;
	for (size_t i = 0; i < 16 && b[i] == 0xff; i++)
		p = (uint8_t)(p + 8);
	if (p < 128)
		for (uint8_t bit = 0x80, x = b[p / 8]; x & bit; bit >>= 1)
			p++;
	return p;
}

enum mesh_err mcast6_list_addrs(struct mcast6_addr *out, size_t cap, size_t *n, char *err,
                                size_t errcap)
{
	struct ifaddrs *ifs = NULL, *it;
	*n = 0;
	if (getifaddrs(&ifs) != 0) {
		snprintf(err, errcap, "cannot list interfaces: %s", strerror(errno));
		return MESH_EIO;
	}
	FILE *proc = fopen("/proc/net/if_inet6", "re");
	for (it = ifs; it && *n < cap; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET6)
			continue;
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)it->ifa_addr;
		struct mcast6_addr *o = &out[(*n)++];
		unsigned fl = 0;
		memset(o, 0, sizeof *o);
		snprintf(o->name, sizeof o->name, "%s", it->ifa_name);
		o->index = if_nametoindex(it->ifa_name);
		o->addr = ipaddr_from_in6(&s6->sin6_addr, o->index);
		o->prefix = prefix_of(it->ifa_netmask);
		o->up = it->ifa_flags & IFF_UP;
		o->multicast = it->ifa_flags & IFF_MULTICAST;
		o->loopback = it->ifa_flags & IFF_LOOPBACK;
		o->linklocal = ipaddr_is_linklocal(&o->addr);
		if (proc && proc_state(proc, &s6->sin6_addr, o->index, &fl)) {
			o->state_known = true;
			o->tentative = ((fl & IFA_TENTATIVE) && !(fl & IFA_OPTIMISTIC)) ||
			               (fl & IFA_DADFAILED);
			o->deprecated = fl & IFA_DEPRECATED;
			o->temporary = fl & IFA_TEMPORARY;
		}
	}
	if (proc)
		fclose(proc);
	freeifaddrs(ifs);
	return MESH_OK;
}

/* 0 best; -1 never announced */
static int rank(const struct mcast6_addr *a)
{
	if (a->index == 0 || a->tentative || a->deprecated || ipaddr_is_v4(&a->addr) ||
	    ipaddr_is_unspecified(&a->addr) || ipaddr_is_loopback(&a->addr) || a->addr.b[0] == 0xff)
		return -1;
	if (ipaddr_is_linklocal(&a->addr))
		return 2;
	return a->temporary ? 1 : 0;
}

size_t mcast6_pick(const struct mcast6_addr *all, size_t n, struct mcast6_addr *out, size_t cap)
{
	size_t got = 0;
	for (size_t i = 0; i < n && got < cap; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = all[j].index == all[i].index;
		if (seen)
			continue;
		int best_rank = -1;
		size_t best = 0;
		for (size_t j = i; j < n; j++) {
			int r = rank(&all[j]);
			if (all[j].index == all[i].index && r >= 0 && (best_rank < 0 || r < best_rank)) {
				best_rank = r;
				best = j;
			}
		}
		if (best_rank >= 0)
			out[got++] = all[best];
	}
	return got;
}
