/*
 * meshbench: shout and whisper throughput between two embedded nodes.
 *
 *     meshbench [--messages N] [--size BYTES] [--window W] [--kind shout|whisper|both]
 *
 * Two nodes run in this process, on the loopback interface of a private network namespace
 * that meshbench creates itself (it refuses to run otherwise), so nothing reaches a network.
 * The sender keeps at most W messages in flight (sent but not yet received), which is how a
 * well-behaved application respects the per-peer queue; the figure is delivered messages per
 * second and payload MB/s from the first send to the last receipt, every message checked for
 * order and content. Figures go to stdout, one line per run; nothing here asserts a speed.
 */
/* unshare(2) and CLONE_NEWNET are Linux interfaces outside POSIX */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meshnode.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A private network namespace with only lo, up. Any failure is fatal: no fallback to the
 * namespace we were started in. */
static int enter_private_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "meshbench: cannot create a private network namespace (%s); "
		        "run as root\n", strerror(errno));
		return -1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "meshbench: cannot read lo: %s\n", strerror(errno));
		return -1;
	}
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "meshbench: cannot bring lo up: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	struct if_nameindex *ifs = if_nameindex(), *it;
	int others = 0;
	for (it = ifs; it && it->if_name; it++)
		others += strcmp(it->if_name, "lo") != 0;
	if (ifs)
		if_freenameindex(ifs);
	if (!ifs || others) {
		fprintf(stderr, "meshbench: the new namespace is not private: refusing\n");
		return -1;
	}
	return 0;
}

static struct meshnode *start_node(const char *dir, const char *name)
{
	struct meshnode_config cfg;
	char path[512], err[512];
	meshnode_config_init(&cfg);
	snprintf(path, sizeof path, "%s/%s.id", dir, name);
	cfg.name = name;
	cfg.iface = "lo";
	cfg.identity_path = path;
	cfg.beacon_interval_ms = 200;
	cfg.log_level = MESHNODE_LOG_WARN;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n || meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshbench: %s: %s\n", name, err);
		meshnode_destroy(&n);
		return NULL;
	}
	return n;
}

/* Waits until pred-matching event arrives at n; other events are dropped. */
static int wait_event(struct meshnode *n, enum meshnode_event_type t, const char *group,
                      double timeout)
{
	double end = now_s() + timeout;
	while (now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(n, 100);
		if (!ev)
			continue;
		int hit = ev->type == t && (!group || strcmp(ev->group, group) == 0);
		meshnode_event_destroy(&ev);
		if (hit)
			return 0;
	}
	return -1;
}

static int run(struct meshnode *a, struct meshnode *b, int shout, long count, size_t size,
               long window)
{
	uint8_t *payload = malloc(size ? size : 1);
	long sent = 0, got = 0, bad = 0, dropped = 0;
	uint64_t last_id = 0;
	double t0 = 0, t1 = 0;
	if (!payload)
		return -1;
	for (size_t i = 0; i < size; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	t0 = now_s();
	while (got + dropped < count) {
		while (sent < count && sent - got - dropped < window) {
			enum mesh_err rc = shout
				? meshnode_shout(a, "bench", payload, size, NULL)
				: meshnode_whisper(a, meshnode_id(b), payload, size, NULL);
			if (rc != MESH_OK) {
				fprintf(stderr, "meshbench: send failed: %s\n", meshnode_strerror(rc));
				free(payload);
				return -1;
			}
			sent++;
		}
		struct meshnode_event *ev = meshnode_next_event(b, 2000);
		if (!ev) {
			fprintf(stderr, "meshbench: stalled at %ld of %ld received\n", got, count);
			break;
		}
		if (ev->type == (shout ? MESHNODE_EV_SHOUT : MESHNODE_EV_WHISPER)) {
			if (ev->len != size || memcmp(ev->data, payload, size) != 0 ||
			    ev->msg_id <= last_id)
				bad++;
			last_id = ev->msg_id;
			got++;
		}
		meshnode_event_destroy(&ev);
		/* a DROPPED at the sender means the window was too large for the queue */
		struct meshnode_event *sev;
		while ((sev = meshnode_next_event(a, 0))) {
			if (sev->type == MESHNODE_EV_DROPPED)
				dropped++;
			meshnode_event_destroy(&sev);
		}
	}
	t1 = now_s();
	double secs = t1 - t0;
	printf("%-7s size %6zu B  messages %7ld  received %7ld  dropped %ld  bad %ld  "
	       "%9.0f msg/s  %8.2f MB/s  (%.2f s)\n",
	       shout ? "shout" : "whisper", size, count, got, dropped, bad,
	       secs > 0 ? (double)got / secs : 0.0,
	       secs > 0 ? (double)got * (double)size / secs / 1e6 : 0.0, secs);
	free(payload);
	return got == count && bad == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long count = 20000, window = 256;
	size_t size = 64;
	const char *kind = "both";
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "kind", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "m:s:w:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': count = strtol(optarg, NULL, 10); break;
		case 's': size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'w': window = strtol(optarg, NULL, 10); break;
		case 'k': kind = optarg; break;
		default:
			fprintf(stderr, "usage: meshbench [--messages N] [--size BYTES] [--window W] "
			        "[--kind shout|whisper|both]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (count <= 0 || window <= 0 || size > MESHNODE_MAX_PAYLOAD ||
	    (strcmp(kind, "shout") && strcmp(kind, "whisper") && strcmp(kind, "both"))) {
		fprintf(stderr, "meshbench: bad arguments\n");
		return 2;
	}
	if (enter_private_netns() != 0)
		return 1;
	char dir[] = "/tmp/meshbench.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("meshbench: mkdtemp");
		return 1;
	}
	int rc = 1;
	struct meshnode *a = start_node(dir, "bench-a"), *b = start_node(dir, "bench-b");
	if (!a || !b)
		goto out;
	if (meshnode_join(b, "bench") != MESH_OK ||
	    wait_event(a, MESHNODE_EV_JOIN, "bench", 10.0) != 0) {
		fprintf(stderr, "meshbench: the two nodes did not link within 10 s\n");
		goto out;
	}
	rc = 0;
	if (strcmp(kind, "whisper") != 0 && run(a, b, 1, count, size, window) != 0)
		rc = 1;
	if (strcmp(kind, "shout") != 0 && run(a, b, 0, count, size, window) != 0)
		rc = 1;
out:
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "meshbench: could not remove %s\n", dir);
	return rc;
}
