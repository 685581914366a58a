/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_net: namespaces, veths, bridges, the router between subnets, loss (see
 * meshsim_net.h). Links are set up with the `ip` program of iproute2, loss with `nft` and
 * forwarding with `sysctl`, the same commands a person would type, so a failure message can
 * be tried by hand.
 */
/* unshare(), CLONE_NEWNET/CLONE_NEWNS and struct ifreq's ifr_flags are GNU/Linux interfaces,
 * not POSIX: this file is the only one that needs them. */
#define _GNU_SOURCE
#include "meshsim_net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monoclock.h"

#define BRIDGE_A MESHSIM_NET_BRIDGE
#define BRIDGE_B "msbr1"
#define ROUTER_NS "msrouter"
#define BRIDGE_HOST 0           /* --bridge: the host on two subnets */
#define BRIDGE_SUBNET 1         /* ... the one its second veth goes into */
#define BRIDGE_LAST 200         /* ... and that veth's address: 10.77.1.200, or .201 moved */
#define READDR_LAST 100         /* a moved host i has 10.77.s.(100 + i) */
#define LINK_WAIT_MS 10000

struct meshsim_net {
	int hosts;
	int subnets;            /* 0: every host on BRIDGE_A; else one bridge per subnet */
	int nbr;                /* bridges of the LAN: 1, or subnets */
	char (*br)[16];         /* their names; br[0] is BRIDGE_A without subnets */
	int *subnet;            /* per host: the index of its bridge in br */
	char (*ns)[24];
	char (*addr)[16];
	char (*hdev)[16];       /* host side of the veth, a bridge port here */
	char (*ndev)[16];       /* the end inside the host namespace */
	char (*rhdev)[16];      /* per subnet: the router's veth, bridge side */
	char (*rndev)[16];      /* per subnet: its end inside the router namespace */
	int ns_made;            /* namespaces created so far, for cleanup */
	int br_made;            /* bridges br[0..br_made) created so far */
	bool router_made;       /* ROUTER_NS exists */
	bool bridge_b;
	bool netns_mounted;
	int cut_first;          /* hosts >= this are on BRIDGE_B; hosts when healed */
	bool *moved;            /* per host: its veth has the other address (readdr) */
	bool *down;             /* per host: its veth is down (flap) */
	/* --bridge: BRIDGE_HOST's second veth, into br[BRIDGE_SUBNET] */
	bool bridge;
	bool bmoved, bdown;
	char baddr[16], bhdev[16], bndev[16];
	int ipv6;               /* MESHSIM_IPV6_* */
	char (*addr6)[40];      /* per host: its IPv6 address, "" without */
	char baddr6[40];
};

/* One interface of a host, wherever it is kept. */
struct iface {
	char *addr;             /* current address */
	char *addr6;            /* current IPv6 address ("" without) */
	const char *hdev, *ndev;
	int subnet;
	unsigned home, away;    /* the last byte of its address, before and after a readdr */
	bool *moved, *down;
};

static struct iface iface_of(struct meshsim_net *net, int h, int k)
{
	if (k == 1)
		return (struct iface){ net->baddr, net->baddr6, net->bhdev, net->bndev, BRIDGE_SUBNET,
		                       BRIDGE_LAST, BRIDGE_LAST + 1, &net->bmoved, &net->bdown };
	return (struct iface){ net->addr[h], net->addr6[h], net->hdev[h], net->ndev[h],
	                       net->subnet[h], (unsigned)h + 1, READDR_LAST + (unsigned)h,
	                       &net->moved[h], &net->down[h] };
}

/* Whether interface k of host h has IPv4, IPv6 (--ipv6, meshsim_net.h). */
static bool has_v4(const struct meshsim_net *net, int h, int k)
{
	int subnet = k == 1 ? BRIDGE_SUBNET : net->subnet[h];
	return net->ipv6 != MESHSIM_IPV6_ONLY && !(net->ipv6 == MESHSIM_IPV6_MIXED && subnet != 0);
}

static bool has_v6(const struct meshsim_net *net)
{
	return net->ipv6 != MESHSIM_IPV6_NONE;
}

/* fd77:0:s::x/64 (x in hex) */
static void addr6_of(char *out, size_t cap, int subnet, unsigned last, bool cidr)
{
	snprintf(out, cap, "fd77:0:%x::%x%s", (unsigned)subnet, last, cidr ? "/64" : "");
}

/* ---------- running programs ---------- */

int meshsim_net_run(const char *const argv[], char *out, size_t outcap, char *err, size_t errcap)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 };
	char ebuf[1024];
	size_t olen = 0, elen = 0;
	int status = 0;
	pid_t pid;
	if (out && outcap)
		out[0] = 0;
	if (pipe(opipe) != 0 || pipe(epipe) != 0) {
		snprintf(err, errcap, "pipe: %s", strerror(errno));
		goto fail_fds;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errcap, "fork: %s", strerror(errno));
		goto fail_fds;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		close(opipe[0]);
		close(epipe[0]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	{
		struct pollfd pf[2] = { { opipe[0], POLLIN, 0 }, { epipe[0], POLLIN, 0 } };
		int open_fds = 2;
		while (open_fds > 0) {
			if (poll(pf, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			for (int i = 0; i < 2; i++) {
				char tmp[4096];
				ssize_t r;
				if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(pf[i].fd, tmp, sizeof tmp);
				if (r <= 0) {
					if (r < 0 && errno == EINTR)
						continue;
					close(pf[i].fd);
					pf[i].fd = -1;
					open_fds--;
					continue;
				}
				if (i == 0 && out && outcap > 1) {
					size_t room = outcap - 1 - olen;
					size_t n = (size_t)r < room ? (size_t)r : room;
					memcpy(out + olen, tmp, n);
					olen += n;
					out[olen] = 0;
				} else if (i == 1) {
					size_t room = sizeof ebuf - 1 - elen;
					size_t n = (size_t)r < room ? (size_t)r : room;
					memcpy(ebuf + elen, tmp, n);
					elen += n;
				}
			}
		}
		opipe[0] = epipe[0] = -1;
	}
	ebuf[elen] = 0;
	while (elen > 0 && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == ' '))
		ebuf[--elen] = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errcap, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	{
		char cmd[256] = "";
		size_t cl = 0;
		for (int i = 0; argv[i] && cl < sizeof cmd - 1; i++) {
			int w = snprintf(cmd + cl, sizeof cmd - cl, "%s%s", i ? " " : "", argv[i]);
			if (w < 0)
				break;
			cl += (size_t)w;
		}
		if (WIFEXITED(status))
			snprintf(err, errcap, "'%s' failed (exit %d): %s", cmd, WEXITSTATUS(status),
			         elen ? ebuf : "no message");
		else
			snprintf(err, errcap, "'%s' killed by signal %d", cmd, WTERMSIG(status));
	}
	return -1;
fail_fds:
	for (int i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			close(opipe[i]);
		if (epipe[i] >= 0)
			close(epipe[i]);
	}
	return -1;
}

#define RUN(err, errcap, ...) \
	meshsim_net_run((const char *const[]){ __VA_ARGS__, NULL }, NULL, 0, err, errcap)

/* The sysctls of an interface inside namespace ns, before it comes up: IPv6 off without
 * --ipv6 (no link-local address, no IPv6 beacons: runs as before IPv6), else on without
 * duplicate address detection, so that its addresses are usable at once, and kept while it
 * is down. */
static int v6_sysctls(const struct meshsim_net *net, const char *ns, const char *dev,
                      char *err, size_t errcap)
{
	char key[96];
	snprintf(key, sizeof key, "net.ipv6.conf.%s.disable_ipv6=%d", dev, has_v6(net) ? 0 : 1);
	if (RUN(err, errcap, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", key))
		return -1;
	if (!has_v6(net))
		return 0;
	snprintf(key, sizeof key, "net.ipv6.conf.%s.accept_dad=0", dev);
	if (RUN(err, errcap, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", key))
		return -1;
	/* a flap keeps the addresses, as IPv4's are kept (Linux drops IPv6 ones by default) */
	snprintf(key, sizeof key, "net.ipv6.conf.%s.keep_addr_on_down=1", dev);
	return RUN(err, errcap, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", key);
}

/* ---------- isolation ---------- */

static int netns_inode(ino_t *ino)
{
	struct stat st;
	if (stat("/proc/self/ns/net", &st) != 0)
		return -1;
	*ino = st.st_ino;
	return 0;
}

/* Names of every interface in the current namespace, "a,b,c". Returns the count, -1 on error. */
static int interfaces(char *list, size_t cap)
{
	struct if_nameindex *ifs = if_nameindex();
	int n = 0;
	size_t len = 0;
	if (!ifs)
		return -1;
	list[0] = 0;
	for (struct if_nameindex *i = ifs; i->if_index != 0; i++) {
		int w = snprintf(list + len, cap - len, "%s%s", n ? "," : "", i->if_name);
		if (w > 0 && (size_t)w < cap - len)
			len += (size_t)w;
		n++;
	}
	if_freenameindex(ifs);
	return n;
}

int meshsim_net_isolate(char *err, size_t errcap)
{
	ino_t before, after;
	char list[512];
	struct ifreq ifr;
	int fd;
	if (netns_inode(&before) != 0) {
		snprintf(err, errcap, "cannot read /proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
		snprintf(err, errcap, "cannot create a private network namespace (unshare: %s); "
		         "meshsim needs root (CAP_SYS_ADMIN) and never runs nodes on the network it "
		         "was started in", strerror(errno));
		return -1;
	}
	if (netns_inode(&after) != 0 || after == before) {
		snprintf(err, errcap, "unshare succeeded but the network namespace did not change: "
		         "refusing to go on");
		return -1;
	}
	/* Our mounts (the tmpfs for `ip netns`) must not leak into the namespace we came from. */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		snprintf(err, errcap, "cannot make the mount namespace private: %s", strerror(errno));
		return -1;
	}
	int n = interfaces(list, sizeof list);
	if (n != 1 || strcmp(list, "lo") != 0) {
		snprintf(err, errcap, "the new network namespace has interfaces other than lo (%s): "
		         "refusing to go on", n < 0 ? "unreadable" : list);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		snprintf(err, errcap, "SIOCGIFFLAGS lo: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* lo has no MULTICAST flag by default, and the beacons go to a multicast group on it. */
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP | IFF_MULTICAST);
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		snprintf(err, errcap, "cannot bring lo up: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (RUN(err, errcap, "ip", "route", "replace", "224.0.0.0/4", "dev", "lo") != 0)
		return -1;
	n = interfaces(list, sizeof list);
	if (n != 1 || strcmp(list, "lo") != 0) {
		snprintf(err, errcap, "interfaces other than lo appeared (%s): refusing to go on",
		         n < 0 ? "unreadable" : list);
		return -1;
	}
	return 0;
}

/* ---------- hosts ---------- */

int meshsim_net_subnet_of(int hosts, int subnets, int h)
{
	if (subnets < 2 || hosts < subnets)
		return 0;
	int base = hosts / subnets, extra = hosts % subnets;
	/* the first `extra` subnets hold base + 1 hosts each */
	if (h < extra * (base + 1))
		return h / (base + 1);
	return extra + (h - extra * (base + 1)) / base;
}

const char *meshsim_net_ns(const struct meshsim_net *net, int host)
{
	return net->ns[host];
}

const char *meshsim_net_addr(const struct meshsim_net *net, int host)
{
	return net->addr[host];
}

int meshsim_net_ifaces(const struct meshsim_net *net, int host)
{
	return net->bridge && host == BRIDGE_HOST ? 2 : 1;
}

const char *meshsim_net_iface_name(const struct meshsim_net *net, int host, int k)
{
	return k == 1 ? net->bndev : net->ndev[host];
}

const char *meshsim_net_iface_addr(const struct meshsim_net *net, int host, int k)
{
	return k == 1 ? net->baddr : net->addr[host];
}

const char *meshsim_net_iface_addr6(const struct meshsim_net *net, int host, int k)
{
	if (!has_v6(net))
		return NULL;
	return k == 1 ? net->baddr6 : net->addr6[host];
}

bool meshsim_net_iface_v4(const struct meshsim_net *net, int host, int k)
{
	return has_v4(net, host, k);
}

bool meshsim_net_iface_up(const struct meshsim_net *net, int host, int k)
{
	return !(k == 1 ? net->bdown : net->down[host]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits until every veth end in a host namespace is UP and every bridge port forwards.
 * Polling link state is setup, not synchronisation of anything under test. */
static int wait_links(struct meshsim_net *net, char *err, size_t errcap)
{
	long deadline = (long)monoclock_ms() + LINK_WAIT_MS;
	size_t cap = (size_t)net->hosts * 512 + 4096;
	char *out = malloc(cap);
	char pending[256];
	int rc = -1;
	if (!out) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	for (;;) {
		pending[0] = 0;
		/* a flapped interface is down on purpose until its flap ends */
		for (int i = 0; i < net->hosts && !pending[0]; i++) {
			for (int k = 0; k < meshsim_net_ifaces(net, i) && !pending[0]; k++) {
				struct iface f = iface_of(net, i, k);
				if (*f.down)
					continue;
				if (meshsim_net_run((const char *const[]){ "ip", "-n", net->ns[i], "-o",
				                    "link", "show", f.ndev, NULL }, out, cap, err,
				                    errcap) != 0)
					goto done;
				if (!strstr(out, "state UP"))
					snprintf(pending, sizeof pending, "%s in %s", f.ndev, net->ns[i]);
			}
		}
		for (int s = 0; net->subnets && s < net->subnets && !pending[0]; s++) {
			if (meshsim_net_run((const char *const[]){ "ip", "-n", ROUTER_NS, "-o", "link",
			                    "show", net->rndev[s], NULL }, out, cap, err, errcap) != 0)
				goto done;
			if (!strstr(out, "state UP"))
				snprintf(pending, sizeof pending, "%s in %s", net->rndev[s], ROUTER_NS);
		}
		/* bridge b < nbr is br[b]; b == nbr is BRIDGE_B, the far side of a cut */
		for (int b = 0; b <= net->nbr && !pending[0]; b++) {
			const char *br = b < net->nbr ? net->br[b] : BRIDGE_B;
			if (b == net->nbr && !net->bridge_b)
				break;
			if (meshsim_net_run((const char *const[]){ "ip", "-d", "-o", "link", "show",
			                    "master", br, NULL }, out, cap, err, errcap) != 0)
				goto done;
			for (int i = 0; i < net->hosts + net->subnets + 1 && !pending[0]; i++) {
				/* hosts first, then the router's port on each subnet's bridge, then the
				 * bridging host's second veth */
				bool host = i < net->hosts, second = i == net->hosts + net->subnets;
				int on = host ? (i >= net->cut_first ? net->nbr : net->subnet[i])
				              : second ? BRIDGE_SUBNET : i - net->hosts;
				const char *port = host ? net->hdev[i] : second ? net->bhdev
				                 : net->rhdev[i - net->hosts];
				if (second && !net->bridge)
					continue;
				if (on != b || (host && net->down[i]) || (second && net->bdown))
					continue;
				char key[32];
				snprintf(key, sizeof key, " %s@", port);
				const char *line = strstr(out, key);
				const char *eol = line ? strchr(line, '\n') : NULL;
				const char *fw = line ? strstr(line, "state forwarding") : NULL;
				if (!line || !fw || (eol && fw > eol))
					snprintf(pending, sizeof pending, "bridge port %s", port);
			}
		}
		if (!pending[0]) {
			rc = 0;
			goto done;
		}
		if ((long)monoclock_ms() > deadline) {
			snprintf(err, errcap, "links not ready within %d s: %s", LINK_WAIT_MS / 1000,
			         pending);
			goto done;
		}
		sleep_ms(20);
	}
done:
	free(out);
	return rc;
}

static int add_bridge(const char *br, char *err, size_t errcap)
{
	if (RUN(err, errcap, "ip", "link", "add", br, "type", "bridge", "mcast_snooping", "0",
	        "stp_state", "0", "forward_delay", "0") != 0)
		return -1;
	return RUN(err, errcap, "ip", "link", "set", br, "multicast", "on", "up");
}

/* The router: one namespace with a veth into each subnet's bridge (10.77.s.254), forwarding
 * unicast between them. It runs no multicast routing (no mroute socket, no daemon), so the
 * kernel forwards no multicast at all, whatever the TTL: beacons stay in their subnet. */
static int add_router(struct meshsim_net *net, char *err, size_t errcap)
{
	if (RUN(err, errcap, "ip", "netns", "add", ROUTER_NS) != 0)
		return -1;
	net->router_made = true;
	if (RUN(err, errcap, "ip", "-n", ROUTER_NS, "link", "set", "lo", "up") ||
	    RUN(err, errcap, "ip", "netns", "exec", ROUTER_NS, "sysctl", "-q", "-w",
	        "net.ipv4.ip_forward=1"))
		return -1;
	if (has_v6(net) && RUN(err, errcap, "ip", "netns", "exec", ROUTER_NS, "sysctl", "-q", "-w",
	                       "net.ipv6.conf.all.forwarding=1"))
		return -1;
	for (int b = 0; b < net->subnets; b++) {
		const char *h = net->rhdev[b], *d = net->rndev[b];
		char cidr[24], cidr6[48];
		snprintf(cidr, sizeof cidr, "10.77.%d.254/24", b);
		addr6_of(cidr6, sizeof cidr6, b, 0xfe, true);
		if (RUN(err, errcap, "ip", "link", "add", h, "type", "veth", "peer", "name", d) ||
		    RUN(err, errcap, "ip", "link", "set", d, "netns", ROUTER_NS) ||
		    RUN(err, errcap, "ip", "link", "set", h, "master", net->br[b]) ||
		    RUN(err, errcap, "ip", "link", "set", h, "up") ||
		    v6_sysctls(net, ROUTER_NS, d, err, errcap) ||
		    RUN(err, errcap, "ip", "-n", ROUTER_NS, "addr", "add", cidr, "dev", d) ||
		    (has_v6(net) && RUN(err, errcap, "ip", "-n", ROUTER_NS, "addr", "add", cidr6,
		                        "dev", d, "nodad")) ||
		    RUN(err, errcap, "ip", "-n", ROUTER_NS, "link", "set", d, "up"))
			return -1;
	}
	return 0;
}

/* The routes through interface k of host h, which the kernel removes when the interface goes
 * down: multicast on the host's own link, and with subnets the other subnets through its
 * router. None for the bridging host's second veth: its /24 is on the link (the kernel puts
 * that route back itself), and the node names the interface of each beacon it sends. */
static int iface_routes(struct meshsim_net *net, int h, int k, char *err, size_t errcap)
{
	const char *ns = net->ns[h];
	struct iface f = iface_of(net, h, k);
	char via[16], via6[40];
	if (k != 0)
		return 0;
	if (has_v4(net, h, k) &&
	    RUN(err, errcap, "ip", "-n", ns, "route", "replace", "224.0.0.0/4", "dev", f.ndev))
		return -1;
	if (!net->subnets)
		return 0;
	snprintf(via, sizeof via, "10.77.%d.254", f.subnet);
	addr6_of(via6, sizeof via6, f.subnet, 0xfe, false);
	/* the own /24 (/64) stays on the link */
	if (has_v4(net, h, k) &&
	    RUN(err, errcap, "ip", "-n", ns, "route", "replace", "10.77.0.0/16", "via", via,
	        "dev", f.ndev))
		return -1;
	return has_v6(net) ? RUN(err, errcap, "ip", "-n", ns, "-6", "route", "replace",
	                         "fd77::/16", "via", via6, "dev", f.ndev) : 0;
}

/* netem delay on the bridge side of a host's veth */
static int add_delay(const char *dev, const struct meshsim_net_params *p, char *err,
                     size_t errcap, bool *usage)
{
	char dl[24], jt[24];
	int rc;
	if (p->delay_ms == 0 && p->jitter_ms == 0)
		return 0;
	snprintf(dl, sizeof dl, "%ums", p->delay_ms);
	snprintf(jt, sizeof jt, "%ums", p->jitter_ms);
	if (p->jitter_ms > 0)
		rc = RUN(err, errcap, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", dl,
		         jt);
	else
		rc = RUN(err, errcap, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", dl);
	if (rc != 0 && (strstr(err, "nknown") || strstr(err, "not supported") ||
	                strstr(err, "No such file"))) {
		char why[512];
		snprintf(why, sizeof why, "%s", err);
		snprintf(err, errcap, "--delay/--jitter need the kernel's netem qdisc (sch_netem), "
		         "which this kernel lacks (%s); --loss works without it (it uses nftables)",
		         why);
		*usage = true;
	}
	return rc;
}

/* --bridge: a second veth from BRIDGE_HOST into subnet BRIDGE_SUBNET's bridge. */
static int add_bridge_iface(struct meshsim_net *net, const struct meshsim_net_params *p,
                            char *err, size_t errcap, bool *usage)
{
	const char *ns = net->ns[BRIDGE_HOST], *h = net->bhdev, *d = net->bndev;
	char cidr[24], cidr6[48];
	snprintf(cidr, sizeof cidr, "%s/24", net->baddr);
	snprintf(cidr6, sizeof cidr6, "%s/64", net->baddr6);
	if (RUN(err, errcap, "ip", "link", "add", h, "type", "veth", "peer", "name", d) ||
	    RUN(err, errcap, "ip", "link", "set", d, "netns", ns) ||
	    RUN(err, errcap, "ip", "link", "set", h, "master", net->br[BRIDGE_SUBNET]) ||
	    RUN(err, errcap, "ip", "link", "set", h, "multicast", "on", "up") ||
	    v6_sysctls(net, ns, d, err, errcap) ||
	    (has_v4(net, BRIDGE_HOST, 1) &&
	     RUN(err, errcap, "ip", "-n", ns, "addr", "add", cidr, "dev", d)) ||
	    (has_v6(net) && RUN(err, errcap, "ip", "-n", ns, "addr", "add", cidr6, "dev", d,
	                        "nodad")) ||
	    RUN(err, errcap, "ip", "-n", ns, "link", "set", d, "multicast", "on", "up"))
		return -1;
	return add_delay(h, p, err, errcap, usage);
}

struct meshsim_net *meshsim_net_hosts_new(const struct meshsim_net_params *p, char *err,
                                          size_t errcap, bool *usage)
{
	struct meshsim_net *net = calloc(1, sizeof *net);
	int k = p->hosts, sn = p->subnets;
	*usage = false;
	if (!net)
		goto nomem;
	if (k < 1 || k > MESHSIM_NET_MAX_HOSTS || sn == 1 || sn < 0 ||
	    sn > MESHSIM_NET_MAX_SUBNETS || sn > k || (p->bridge && sn < 2)) {
		snprintf(err, errcap, "bad network: %d hosts in %d subnets%s", k, sn,
		         p->bridge ? ", bridged" : "");
		goto fail;
	}
	net->hosts = k;
	net->subnets = sn;
	net->nbr = sn ? sn : 1;
	net->cut_first = k;
	net->ns = calloc((size_t)k, sizeof *net->ns);
	net->addr = calloc((size_t)k, sizeof *net->addr);
	net->hdev = calloc((size_t)k, sizeof *net->hdev);
	net->ndev = calloc((size_t)k, sizeof *net->ndev);
	net->subnet = calloc((size_t)k, sizeof *net->subnet);
	net->moved = calloc((size_t)k, sizeof *net->moved);
	net->down = calloc((size_t)k, sizeof *net->down);
	net->addr6 = calloc((size_t)k, sizeof *net->addr6);
	net->br = calloc((size_t)net->nbr, sizeof *net->br);
	net->rhdev = calloc((size_t)net->nbr, sizeof *net->rhdev);
	net->rndev = calloc((size_t)net->nbr, sizeof *net->rndev);
	if (!net->ns || !net->addr || !net->hdev || !net->ndev || !net->subnet || !net->br ||
	    !net->rhdev || !net->rndev || !net->moved || !net->down || !net->addr6)
		goto nomem;
	net->bridge = p->bridge;
	net->ipv6 = p->ipv6;
	snprintf(net->baddr, sizeof net->baddr, "10.77.%d.%d", BRIDGE_SUBNET, BRIDGE_LAST);
	if (has_v6(net))
		addr6_of(net->baddr6, sizeof net->baddr6, BRIDGE_SUBNET, BRIDGE_LAST, false);
	snprintf(net->bhdev, sizeof net->bhdev, "msb%dh", BRIDGE_HOST);
	snprintf(net->bndev, sizeof net->bndev, "msb%dn", BRIDGE_HOST);
	if (sn == 0)
		snprintf(net->br[0], sizeof net->br[0], "%s", BRIDGE_A);
	for (int b = 0; b < sn; b++) {
		snprintf(net->br[b], sizeof net->br[b], "mssn%d", b);
		snprintf(net->rhdev[b], sizeof net->rhdev[b], "msr%dh", b);
		snprintf(net->rndev[b], sizeof net->rndev[b], "msr%dn", b);
	}
	for (int i = 0; i < k; i++) {
		/* the last byte stays i + 1 in every subnet, so an address still names its host */
		net->subnet[i] = meshsim_net_subnet_of(k, sn, i);
		snprintf(net->ns[i], sizeof net->ns[i], "mshost%d", i);
		snprintf(net->addr[i], sizeof net->addr[i], "10.77.%u.%u",
		         (unsigned)(uint8_t)net->subnet[i], (unsigned)(uint8_t)(i + 1));
		if (has_v6(net))
			addr6_of(net->addr6[i], sizeof net->addr6[i], net->subnet[i],
			         (unsigned)(i + 1), false);
		snprintf(net->hdev[i], sizeof net->hdev[i], "msv%dh", i);
		snprintf(net->ndev[i], sizeof net->ndev[i], "msv%dn", i);
	}
	/* `ip netns add` registers namespaces under /run/netns: keep them on a tmpfs of our own
	 * mount namespace, so nothing is left behind in the host's /run/netns. */
	if (mkdir("/run/netns", 0755) != 0 && errno != EEXIST) {
		snprintf(err, errcap, "mkdir /run/netns: %s", strerror(errno));
		goto fail;
	}
	if (mount("meshsim-netns", "/run/netns", "tmpfs", 0, "mode=0755") != 0) {
		snprintf(err, errcap, "cannot mount a tmpfs on /run/netns: %s", strerror(errno));
		goto fail;
	}
	net->netns_mounted = true;
	if (mount("none", "/run/netns", NULL, MS_PRIVATE, NULL) != 0) {
		snprintf(err, errcap, "cannot make /run/netns private: %s", strerror(errno));
		goto fail;
	}
	for (int b = 0; b < net->nbr; b++) {
		if (add_bridge(net->br[b], err, errcap) != 0)
			goto fail;
		net->br_made = b + 1;
	}
	if (sn && add_router(net, err, errcap) != 0)
		goto fail;
	for (int i = 0; i < k; i++) {
		const char *ns = net->ns[i], *h = net->hdev[i], *d = net->ndev[i];
		char cidr[24], cidr6[48];
		snprintf(cidr, sizeof cidr, "%s/24", net->addr[i]);
		snprintf(cidr6, sizeof cidr6, "%s/64", net->addr6[i]);
		if (RUN(err, errcap, "ip", "netns", "add", ns) != 0)
			goto fail;
		net->ns_made = i + 1;
		if (RUN(err, errcap, "ip", "link", "add", h, "type", "veth", "peer", "name", d) ||
		    RUN(err, errcap, "ip", "link", "set", d, "netns", ns) ||
		    RUN(err, errcap, "ip", "link", "set", h, "master", net->br[net->subnet[i]]) ||
		    RUN(err, errcap, "ip", "link", "set", h, "multicast", "on", "up") ||
		    RUN(err, errcap, "ip", "-n", ns, "link", "set", "lo", "up") ||
		    v6_sysctls(net, ns, d, err, errcap) ||
		    (has_v4(net, i, 0) &&
		     RUN(err, errcap, "ip", "-n", ns, "addr", "add", cidr, "dev", d)) ||
		    (has_v6(net) && RUN(err, errcap, "ip", "-n", ns, "addr", "add", cidr6, "dev", d,
		                        "nodad")) ||
		    RUN(err, errcap, "ip", "-n", ns, "link", "set", d, "multicast", "on", "up") ||
		    iface_routes(net, i, 0, err, errcap))
			goto fail;
		if (p->loss_permille > 0) {
			char lim[16];
			snprintf(lim, sizeof lim, "%u", p->loss_permille);
			if (RUN(err, errcap, "ip", "netns", "exec", ns, "nft", "add", "table", "inet",
			        "meshsim") ||
			    RUN(err, errcap, "ip", "netns", "exec", ns, "nft", "add", "chain", "inet",
			        "meshsim", "in", "{ type filter hook input priority 0; }") ||
			    RUN(err, errcap, "ip", "netns", "exec", ns, "nft", "add", "rule", "inet",
			        "meshsim", "in", "numgen", "random", "mod", "1000", "<", lim, "drop"))
				goto fail;
		}
		if (add_delay(h, p, err, errcap, usage) != 0)
			goto fail;
	}
	if (net->bridge && add_bridge_iface(net, p, err, errcap, usage) != 0)
		goto fail;
	if (wait_links(net, err, errcap) != 0)
		goto fail;
	return net;
nomem:
	snprintf(err, errcap, "out of memory");
fail:
	meshsim_net_destroy(&net);
	return NULL;
}

static int move_ports(struct meshsim_net *net, int first, char *err, size_t errcap)
{
	for (int i = 0; i < net->hosts; i++) {
		bool want_b = i >= first;
		bool is_b = i >= net->cut_first;
		if (want_b == is_b)
			continue;
		if (RUN(err, errcap, "ip", "link", "set", net->hdev[i], "master",
		        want_b ? BRIDGE_B : net->br[net->subnet[i]]) != 0)
			return -1;
	}
	net->cut_first = first;
	return wait_links(net, err, errcap);
}

int meshsim_net_cut(struct meshsim_net *net, int first, char *err, size_t errcap)
{
	if (first <= 0 || first >= net->hosts) {
		snprintf(err, errcap, "a cut needs hosts on both sides");
		return -1;
	}
	if (net->subnets) {
		/* the router would still join the two sides: the options refuse this earlier */
		snprintf(err, errcap, "a cut is not supported between routed subnets");
		return -1;
	}
	if (!net->bridge_b) {
		if (add_bridge(BRIDGE_B, err, errcap) != 0)
			return -1;
		net->bridge_b = true;
	}
	return move_ports(net, first, err, errcap);
}

int meshsim_net_heal(struct meshsim_net *net, char *err, size_t errcap)
{
	return move_ports(net, net->hosts, err, errcap);
}

/* ---------- interface faults ---------- */

int meshsim_net_flap(struct meshsim_net *net, int host, int k, bool up, char *err,
                     size_t errcap)
{
	struct iface f = iface_of(net, host, k);
	if (!up) {
		*f.down = true;
		return RUN(err, errcap, "ip", "-n", net->ns[host], "link", "set", f.ndev, "down");
	}
	*f.down = false;
	if (RUN(err, errcap, "ip", "-n", net->ns[host], "link", "set", f.ndev, "up") ||
	    wait_links(net, err, errcap))
		return -1;
	/* the kernel dropped every route through the interface when it went down */
	return iface_routes(net, host, k, err, errcap);
}

int meshsim_net_readdr(struct meshsim_net *net, int host, int k, char *err, size_t errcap)
{
	const char *ns = net->ns[host];
	struct iface f = iface_of(net, host, k);
	char old[24], new[24];
	char old6[48], new6[48];
	unsigned last = *f.moved ? f.home : f.away;
	snprintf(old, sizeof old, "%s/24", f.addr);
	snprintf(new, sizeof new, "10.77.%u.%u/24", (unsigned)(uint8_t)f.subnet, last);
	snprintf(old6, sizeof old6, "%s/64", f.addr6);
	addr6_of(new6, sizeof new6, f.subnet, last, true);
	/* The new address comes in as a secondary of the same /24; without promotion, deleting
	 * the old primary would take every secondary with it. */
	if (has_v4(net, host, k) &&
	    (RUN(err, errcap, "ip", "netns", "exec", ns, "sysctl", "-q", "-w",
	         "net.ipv4.conf.all.promote_secondaries=1") ||
	     RUN(err, errcap, "ip", "-n", ns, "addr", "add", new, "dev", f.ndev) ||
	     RUN(err, errcap, "ip", "-n", ns, "addr", "del", old, "dev", f.ndev)))
		return -1;
	if (has_v6(net) &&
	    (RUN(err, errcap, "ip", "-n", ns, "addr", "add", new6, "dev", f.ndev, "nodad") ||
	     RUN(err, errcap, "ip", "-n", ns, "addr", "del", old6, "dev", f.ndev)))
		return -1;
	*f.moved = !*f.moved;
	snprintf(f.addr, 16, "%.*s", (int)(strchr(new, '/') - new), new);
	if (has_v6(net))
		snprintf(f.addr6, 40, "%.*s", (int)(strchr(new6, '/') - new6), new6);
	/* routes that named the old address as their source went with it */
	return *f.down ? 0 : iface_routes(net, host, k, err, errcap);
}

void meshsim_net_destroy(struct meshsim_net **np)
{
	struct meshsim_net *net = *np;
	char err[256];
	if (!net)
		return;
	/* Deleting a namespace removes the veth end inside it, and with it the whole pair. */
	for (int i = net->ns_made - 1; i >= 0; i--)
		RUN(err, sizeof err, "ip", "netns", "del", net->ns[i]);
	if (net->router_made)
		RUN(err, sizeof err, "ip", "netns", "del", ROUTER_NS);
	if (net->bridge_b)
		RUN(err, sizeof err, "ip", "link", "del", BRIDGE_B);
	for (int b = net->br_made - 1; b >= 0; b--)
		RUN(err, sizeof err, "ip", "link", "del", net->br[b]);
	if (net->netns_mounted)
		umount2("/run/netns", MNT_DETACH);
	free(net->ns);
	free(net->addr);
	free(net->hdev);
	free(net->ndev);
	free(net->subnet);
	free(net->moved);
	free(net->down);
	free(net->addr6);
	free(net->br);
	free(net->rhdev);
	free(net->rndev);
	free(net);
	*np = NULL;
}
