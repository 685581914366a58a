/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * ifaces: the engine's interfaces (docs/protocol.md section 2, "Several interfaces"). A node
 * beacons on every interface discovery.c opened, and listens for links on each of their
 * addresses with its one port (link_ops.listen_also). Every IFACES_RESCAN_MS it lists the
 * interfaces again: one that came up, or a new address (a DHCP renewal, a docker bridge), is
 * beaconed on and listened on at once; one that went down or away is no longer beaconed on.
 * Sessions are never closed here: a link over an interface that flapped carries on when it
 * comes back, and one over an address that is gone fails by its own timers (section 4). An
 * address is stopped listening on only once the host no longer has it at all.
 *
 * Which of our addresses is "ours" (mesh_own_ip), and which one a peer at a given address
 * should be told (mesh_ip_towards: the interface whose subnet holds it), are answered here.
 */
#include <arpa/inet.h>
#include <string.h>

#include "mesh_impl.h"

static bool listened(const struct mesh *m, const struct ipaddr *ip, size_t *at)
{
	for (size_t i = 0; i < m->nlisten; i++)
		if (ipaddr_eq(&m->listen[i], ip)) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

/* The address the link was opened on (the first interface's then) is ours only while the
 * host has it: after a DHCP renewal another host may be given it, or an attacker take it,
 * and it must not be spared the per-address limits as ours are. */
static bool first_ours(const struct mesh *m)
{
	return discovery_host_has(m->disc, &m->ip);
}

bool mesh_own_ip(const struct mesh *m, const struct ipaddr *ip)
{
	/* bytes only: a connection's source names a link-local address without its scope */
	if (ipaddr_same(ip, &m->ip) && first_ours(m))
		return true;
	for (size_t i = 0; i < m->nlisten; i++)
		if (ipaddr_same(ip, &m->listen[i]))
			return true;
	for (size_t i = 0; i < discovery_count(m->disc); i++)
		if (ipaddr_same(ip, &discovery_iface(m->disc, i)->addr))
			return true;
	return false;
}

bool mesh_has_family(const struct mesh *m, const struct ipaddr *ip)
{
	if (discovery_count(m->disc) == 0)
		return ipaddr_is_v4(ip) == ipaddr_is_v4(&m->ip);
	for (size_t i = 0; i < discovery_count(m->disc); i++)
		if (ipaddr_is_v4(ip) == ipaddr_is_v4(&discovery_iface(m->disc, i)->addr))
			return true;
	return false;
}

/* The interface whose subnet holds ip, or -1 (its netmask unknown, or no such subnet). */
static long iface_towards(const struct mesh *m, const struct ipaddr *ip)
{
	for (size_t i = 0; i < discovery_count(m->disc); i++) {
		const struct mcast_iface *f = discovery_iface(m->disc, i);
		if (f->prefix && ipaddr_in_prefix(ip, &f->addr, f->prefix))
			return (long)i;
	}
	return -1;
}

void mesh_ip_towards(const struct mesh *m, const struct ipaddr *ip, struct ipaddr *out)
{
	long i = ip ? iface_towards(m, ip) : -1;
	bool first_fits = first_ours(m) && (!ip || ipaddr_is_v4(ip) == ipaddr_is_v4(&m->ip));
	/* on none of our subnets, and our first address of the other family: our first of its
	 * family that can be reached off a link, if any (an IPv6 peer told an IPv4 address
	 * would dial nothing) */
	for (size_t k = 0; i < 0 && ip && !first_fits && k < discovery_count(m->disc); k++) {
		const struct ipaddr *a = &discovery_iface(m->disc, k)->addr;
		if (ipaddr_is_v4(a) == ipaddr_is_v4(ip) && !ipaddr_is_linklocal(a))
			i = (long)k;
	}
	if (i < 0 && !first_ours(m) && discovery_count(m->disc))
		i = 0;                          /* not an address the host has left */
	if (i >= 0)
		*out = discovery_iface(m->disc, (size_t)i)->addr;
	else
		*out = m->ip;
}

uint8_t mesh_tag_within(const struct mesh *m, const struct ipaddr *ip)
{
	long i = iface_towards(m, ip);
	return i >= 0 ? discovery_tag(m->disc, (size_t)i) : PEX_NOWHERE;
}

uint8_t mesh_tag_towards(const struct mesh *m, const struct ipaddr *ip)
{
	uint8_t tag = mesh_tag_within(m, ip);
	if (tag == PEX_NOWHERE && discovery_count(m->disc) == 1)
		tag = discovery_tag(m->disc, 0);   /* one segment: whatever we heard, we heard there */
	return tag;
}

static void listen_on(struct mesh *m, const struct mcast_iface *f)
{
	char err[160], a[IPADDR_STRLEN];
	const struct ipaddr *ip = &f->addr;
	if (ipaddr_eq(ip, &m->ip) || listened(m, ip, NULL) || !m->lops->listen_also)
		return;
	ipaddr_str(ip, a);
	if (m->nlisten == LINK_MAX_ADDRS ||
	    m->lops->listen_also(m->link, ip, err, sizeof err) != MESH_OK) {
		/* its beacons name an endpoint that refuses links: peers there can still dial us
		 * at another address they can reach, or we them */
		mesh_logline(m, 1, "cannot listen on %s (%s): %s", a, f->name,
		             m->nlisten == LINK_MAX_ADDRS ? "too many addresses" : err);
		return;
	}
	m->listen[m->nlisten++] = *ip;
}

/* Addresses this host no longer has: nothing reaches them, and a new interface may get them. */
static void unlisten_gone(struct mesh *m)
{
	for (size_t i = m->nlisten; i-- > 0;) {
		if (discovery_host_has(m->disc, &m->listen[i]))
			continue;
		if (m->lops->unlisten)
			m->lops->unlisten(m->link, &m->listen[i]);
		m->listen[i] = m->listen[--m->nlisten];
	}
}

static void log_iface(struct mesh *m, int level, const char *what, const struct mcast_iface *f,
                      const char *why)
{
	char a[IPADDR_STRLEN];
	mesh_logline(m, level, "%s %s (%s)%s%s", what, f->name, ipaddr_str(&f->addr, a), why ? ": " : "",
	             why ? why : "");
}

struct forget_tag {
	uint8_t tag;
};

static void forget_origin(struct peer *p, void *arg)
{
	const struct forget_tag *ft = arg;
	if (p->pex_origin == ft->tag)
		p->pex_origin = PEX_NOWHERE;
}

void ifaces_on_open(struct mesh *m, uint64_t now)
{
	const char *miss = discovery_unmatched(m->disc);
	for (size_t i = 0; i < discovery_count(m->disc); i++) {
		log_iface(m, 2, "beaconing on", discovery_iface(m->disc, i), NULL);
		listen_on(m, discovery_iface(m->disc, i));
	}
	if (miss)
		mesh_logline(m, 1, "no interface '%s' now: it is used once it appears", miss);
	m->next_rescan_ms = now + IFACES_RESCAN_MS;
}

void ifaces_on_tick(struct mesh *m, uint64_t now)
{
	struct discovery_change ch[DISCOVERY_MAX_CHANGES];
	char err[160];
	if (now < m->next_rescan_ms)
		return;
	m->next_rescan_ms = now + IFACES_RESCAN_MS;
	err[0] = 0;
	size_t k = discovery_rescan(m->disc, ch, err, sizeof err);
	if (err[0])
		mesh_droplog(m, LK_CONN, now, "interfaces not rescanned: %s", err);
	bool added = false;
	for (size_t i = 0; i < k; i++) {
		const struct mcast_iface *f = &ch[i].iface;
		switch (ch[i].kind) {
		case DISCOVERY_ADDED:
			log_iface(m, 2, "beaconing on", f, NULL);
			listen_on(m, f);
			added = true;
			break;
		case DISCOVERY_REMOVED:
			log_iface(m, 2, "no longer beaconing on", f, "gone, down or readdressed");
			break;
		case DISCOVERY_FAILED:
			log_iface(m, 1, "cannot beacon on", f, ch[i].why);
			break;
		}
	}
	for (size_t i = 0; i < k; i++) {
		/* a peer heard on an interface that is gone is heard nowhere we know of, until a
		 * beacon of it arrives on another (tags are not reused soon: discovery.h) */
		struct forget_tag ft = { ch[i].tag };
		if (ch[i].kind == DISCOVERY_REMOVED) {
			peer_table_each(&m->peers, forget_origin, &ft);
			/* held beacons of it would be acted on as heard on an interface we left */
			size_t gone = backlog_drop_tag(&m->backlog, ch[i].tag);
			for (size_t j = 0; j < gone; j++)
				MESH_DROP(m, beacons_limited);
		}
	}
	/* at every listing, not only one that changed what we beacon on: an address can go
	 * from an interface that is down already */
	unlisten_gone(m);
	m->stats.iface_changes += k;
	if (added) {
		/* the new segment hears of us now, not at the next periodic beacon: a burst */
		m->burst = 0;
		m->next_beacon_ms = now;
	}
}
