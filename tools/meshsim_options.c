/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_options: meshsim's command line: `meshsim --help`, the options and what may be
 * combined with what (docs/meshsim.md, "Options", is the long form). Parsing ends either in a
 * complete struct meshsim_opts or in an exit status; nothing here starts anything.
 */
#include "meshsim.h"
#include "meshsim_attackers.h"
#include "meshnode.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MESHNODE_VERSION
#define MESHNODE_VERSION "unknown"
#endif

#define MAX_NODES 1000

static const char *names[] = { "converge", "broadcast", "whisper", "churn", "partition",
                               "faults", "attack" };

const char *meshsim_scenario_name(enum meshsim_scenario sc)
{
	return names[sc];
}

static void usage(FILE *f)
{
	fputs(
"usage: meshsim -n N [SCENARIO] [options]\n"
"Starts N meshnode nodes in a private network namespace of its own (never on a real\n"
"network), runs SCENARIO, checks the mesh's invariants and reports figures.\n"
"\n"
"Scenarios:\n"
"  converge   (default) start all nodes at once; time until every node has a live session\n"
"             with every other (full mesh), and the curve of sessions over time\n"
"  broadcast  every node joins group 'sim'; after full mesh and membership, --messages\n"
"             shouts from random senders at --rate; each member must receive each exactly\n"
"             once, in per-sender order, and no one else; latency and throughput\n"
"  whisper    --messages whispers between random distinct pairs at --rate; only the target\n"
"             receives, exactly once, in per-sender order\n"
"  churn      broadcast while --churn-kills times a random node is SIGKILLed and restarted\n"
"             (same identity) after 0.5-3 s; every shout is accounted per recipient\n"
"             (see faults), and every survivor must report exactly one exit and one\n"
"             new enter per kill\n"
"  partition  needs --hosts >= 2: converge, cut the bridge between two halves of the\n"
"             hosts, time until every node reported every node of the other half gone,\n"
"             heal, time until full mesh again\n"
"  faults     every node joins 'sim'; shouts and whispers at --rate while meshsim cuts\n"
"             TCP connections (ss -K), SIGKILLs and restarts nodes, SIGSTOPs and\n"
"             SIGCONTs them, partitions the LAN, sets a host's interface down and up\n"
"             and moves it to another address (--cuts, --kills, --stops, --partitions,\n"
"             --flaps, --readdrs); then, once the mesh is whole and every message answered,\n"
"             every accepted message must have been delivered exactly once and in order\n"
"             to each recipient or reported dropped to its sender, unless its sender was\n"
"             SIGKILLed first; no exclusion window. Nodes run with --receipts\n"
"  attack     process mode on loopback only. Every node joins 'sim'; shouts and whispers\n"
"             at --rate, accounted as in faults, while attacker processes run one\n"
"             after another against one victim node, each for --attack-secs:\n"
"             conn-flood, beacon-flood, hello-flood, partial-hold, garbage and mitm\n"
"             (--attacks). Per attack: the victim's peak fds, RSS and CPU, how long a\n"
"             fresh node started during it takes to link with the victim (and whisper\n"
"             to it), exits between linked nodes, and messages lost. Fails if a\n"
"             message is lost, the fresh node does not link within --attack-link-ms\n"
"             (not bounded for mitm, which is on the path), the victim dies, or\n"
"             mitm sees a swapped key accepted or plaintext\n"
"\n", f);
	fputs(
"Options:\n"
"  -n, --nodes N          number of nodes, 1..1000 (default 8)\n"
"  --seed S               seed of every random choice (default: from the clock; printed)\n"
"  --hosts K              K network namespaces on one bridge (veth pairs), nodes spread\n"
"                         round-robin; without it every node is on loopback\n"
"  --subnets S            with --hosts K >= S: split the hosts into S routed subnets (2..8),\n"
"                         each its own bridge and /24, joined by one router that forwards\n"
"                         no multicast; every node gets a fixed --port and, as --peer,\n"
"                         every node of the other subnets (at most 64 of them)\n"
"  --fixed-peers MODE     with --subnets: all (default) as above; one: only node 0 gets a\n"
"                         --peer, the first node of each other subnet, and peer exchange\n"
"                         must join the rest; or none: no --peer at all (without --bridge\n"
"                         a TEST AID: the mesh must stay split by subnet and the run\n"
"                         fails; proves that multicast does not cross the router)\n"
"  --bridge               with --subnets: host 0 gets a second veth into subnet 1\n"
"                         (10.77.1.200), and its nodes use both interfaces; with\n"
"                         --fixed-peers none the subnets then meet only through it\n"
"  --ipv6 MODE            with --hosts: dual, every host interface also has an IPv6\n"
"                         address (fd77:0:s::x/64); mixed, subnet 0 dual and the other\n"
"                         subnets IPv6 only (with --subnets); only, IPv6 everywhere and\n"
"                         no IPv4. Nodes then use both families as they find them\n"
"  --loss PCT             drop PCT% (0..100, step 0.1) of packets entering each host\n"
"                         (nftables); needs --hosts\n"
"  --delay MS, --jitter MS  netem delay on every host link; needs --hosts and sch_netem\n"
"  --inproc               run the nodes as objects in this process (node/meshnode.h)\n"
"                         instead of meshnode processes; for large N. Not with churn\n"
"                         (nodes share a process, so one cannot be SIGKILLed), partition\n"
"                         or --hosts (a node's threads cannot sit in another namespace)\n"
"  --sim                  run the scenario on simnet (docs/simulation.md): the real engines\n"
"                         on a simulated LAN in one process, in virtual time; no socket,\n"
"                         no namespace, one seed one history. --loss is beacon loss,\n"
"                         --delay/--jitter every frame's; churn crashes and restarts\n"
"                         nodes, partition splits them in two; times are virtual\n"
"", f);
	fputs(
"  --messages M           shouts or whispers to send (default 100; churn, faults and\n"
"                         attack: at least M, and faults and attack as long as the\n"
"                         faults or attacks last)\n"
"  --rate R               messages per second, all senders together (default 50)\n"
"  --size BYTES           payload size, 1..1048576 (default 64; at least the tag)\n"
"  --deadline SEC         convergence deadline, also per churn cycle and partition step\n"
"                         (default 30)\n"
"  --churn-kills K        churn: kill/restart cycles (default 3)\n"
"  --cuts N, --kills N, --stops N, --partitions N\n"
"                         faults: TCP connections cut, nodes SIGKILLed and restarted,\n"
"                         nodes stopped (SIGSTOP, then SIGCONT, or 1 in 4 SIGKILLed while\n"
"                         stopped and restarted), partitions (defaults 20, 5, 5, 2).\n"
"                         Partitions need hosts: without --hosts, faults uses min(N, 4)\n"
"  --flaps N, --readdrs N faults: a host's interface set down for 1-3 s, then up; a host's\n"
"                         interface moved to another address of its /24 (default 0 each;\n"
"                         with --bridge always the bridging host's). Need hosts as\n"
"                         partitions do; --readdrs at most 99 hosts, and with --subnets\n"
"                         only --fixed-peers none (a --peer would name the old address)\n"
"  --ttl MS               churn, faults, attack: the nodes' message TTL (default 60000)\n"
"  --no-receipts          churn, faults, attack: run the nodes without --receipts and\n"
"                         --ttl (a meshnode from before them); a delivery then needs no\n"
"                         receipt, and a shout's recipients are only those continuously\n"
"                         present\n"
"  --attack-secs SEC      attack: how long each attack lasts (default 5, 0.5..3600)\n"
"  --attack-link-ms MS    attack: the bound on a fresh node's link with the victim\n"
"                         during an attack (default 2000)\n"
"  --attack-conns N       attack: conn-flood's connections held at once (default 4000)\n"
"  --attack-peers N       attack: partial-hold's linked peers, each keeping a message\n"
"                         unfinished (default 100)\n"
"  --attacks LIST         attack: which attacks, comma-separated, in this order\n"
"                         (default conn-flood,beacon-flood,hello-flood,partial-hold,\n"
"                         garbage,mitm)\n"
"", f);
	fputs(
"  --json FILE            write the whole report as JSON (docs/meshsim.md); FILE - is\n"
"                         stdout, and the summary table then goes to stderr\n"
"  --plot FILE.svg        write an SVG picture: sessions over time with the faults\n"
"                         marked, latency of every delivery by rank\n"
"  --capture FILE.pcap    run tcpdump in meshsim's namespace on the interface the nodes\n"
"                         use (lo, or the bridge with --hosts) and write FILE.pcap\n"
"  --keylog FILE          DANGEROUS: append every node's session and beacon keys to FILE\n"
"                         (0600), so that a capture can be decrypted (docs/usage.md)\n"
"  --meshnode PATH        the meshnode program (default: meshnode beside meshsim, else\n"
"                         ../node/meshnode as in the build tree)\n"
"  --beacon-interval MS, --heartbeat MS, --evasive MS, --expired MS\n"
"                         node timers (defaults 500, 500, 1500, 4000 for N <= 16, scaled\n"
"                         up by N/16 beyond that so that CPU stays sane; see the report)\n"
"  --rss-settle MS        read the nodes' RSS this long after full mesh (default: two\n"
"                         heartbeats); a longer wait shows what traffic adds with time\n"
"  --log-level LEVEL      the nodes' log level (default info); logs go to a temp dir\n"
"  --keep                 keep the temp dir (identities, node logs) and print its path\n"
"                         (a failed run always keeps it)\n"
"  --quiet                no live progress line\n"
"  --inject-fault KIND    TEST ONLY: make the observer pretend one delivery was lost\n"
"                         (drop-delivery; in faults and attack its receipt too) or\n"
"                         duplicated (duplicate-delivery), to prove the checks catch it;\n"
"                         broadcast, whisper, faults and attack only. Never in real runs\n"
"  -h, --help             this help\n"
"  -V, --version          the version\n"
"\n"
"Output: a live progress line on a terminal (stderr), then a summary table on stdout.\n"
"Exit status: 0 if every invariant held and the mesh converged in time, 1 if not (the\n"
"violated invariants are listed on stderr), 2 for usage errors. Needs root: it creates\n"
"its own network and mount namespaces.\n", f);
}

int meshsim_usage_error(const char *what, const char *arg)
{
	if (arg)
		fprintf(stderr, "meshsim: %s: '%s'\n", what, arg);
	else
		fprintf(stderr, "meshsim: %s\n", what);
	fputs("Try 'meshsim --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v < min || v > max)
		return false;
	*out = (unsigned long)v;
	return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

enum {
	OPT_SEED = 256, OPT_HOSTS, OPT_LOSS, OPT_DELAY, OPT_JITTER, OPT_INPROC, OPT_SIM, OPT_MESSAGES,
	OPT_RATE, OPT_SIZE, OPT_DEADLINE, OPT_JSON, OPT_PLOT, OPT_CAPTURE, OPT_KEYLOG, OPT_MESHNODE, OPT_BEACON,
	OPT_HEARTBEAT, OPT_EVASIVE, OPT_EXPIRED, OPT_CHURN_KILLS, OPT_QUIET, OPT_FAULT, OPT_KEEP,
	OPT_LOG_LEVEL, OPT_RSS_SETTLE, OPT_CUTS, OPT_KILLS, OPT_STOPS, OPT_PARTITIONS, OPT_TTL,
	OPT_NO_RECEIPTS, OPT_ATTACK_SECS, OPT_ATTACK_LINK, OPT_ATTACK_CONNS, OPT_ATTACK_PEERS,
	OPT_ATTACKS, OPT_SUBNETS, OPT_FIXED_PEERS, OPT_BRIDGE, OPT_IPV6, OPT_FLAPS, OPT_READDRS,
};

static const struct option long_options[] = {
	{ "nodes", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "hosts", required_argument, NULL, OPT_HOSTS },
	{ "subnets", required_argument, NULL, OPT_SUBNETS },
	{ "fixed-peers", required_argument, NULL, OPT_FIXED_PEERS },
	{ "bridge", no_argument, NULL, OPT_BRIDGE },
	{ "ipv6", required_argument, NULL, OPT_IPV6 },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "jitter", required_argument, NULL, OPT_JITTER },
	{ "inproc", no_argument, NULL, OPT_INPROC },
	{ "sim", no_argument, NULL, OPT_SIM },
	{ "messages", required_argument, NULL, OPT_MESSAGES },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "keylog", required_argument, NULL, OPT_KEYLOG },
	{ "meshnode", required_argument, NULL, OPT_MESHNODE },
	{ "beacon-interval", required_argument, NULL, OPT_BEACON },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "evasive", required_argument, NULL, OPT_EVASIVE },
	{ "expired", required_argument, NULL, OPT_EXPIRED },
	{ "churn-kills", required_argument, NULL, OPT_CHURN_KILLS },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "inject-fault", required_argument, NULL, OPT_FAULT },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "rss-settle", required_argument, NULL, OPT_RSS_SETTLE },
	{ "cuts", required_argument, NULL, OPT_CUTS },
	{ "kills", required_argument, NULL, OPT_KILLS },
	{ "stops", required_argument, NULL, OPT_STOPS },
	{ "partitions", required_argument, NULL, OPT_PARTITIONS },
	{ "flaps", required_argument, NULL, OPT_FLAPS },
	{ "readdrs", required_argument, NULL, OPT_READDRS },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "no-receipts", no_argument, NULL, OPT_NO_RECEIPTS },
	{ "attack-secs", required_argument, NULL, OPT_ATTACK_SECS },
	{ "attack-link-ms", required_argument, NULL, OPT_ATTACK_LINK },
	{ "attack-conns", required_argument, NULL, OPT_ATTACK_CONNS },
	{ "attack-peers", required_argument, NULL, OPT_ATTACK_PEERS },
	{ "attacks", required_argument, NULL, OPT_ATTACKS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* --subnets and --fixed-peers, once every option is known: -1 to go on, or the exit status. */
static int check_subnets(const struct meshsim_opts *o, bool have_peers)
{
	int most = 0, per[MESHSIM_NET_MAX_SUBNETS] = { 0 };
	char what[200];
	if (have_peers && !o->subnets)
		return meshsim_usage_error("--fixed-peers applies to --subnets (without them every "
		                           "node hears every other's beacons)", NULL);
	if (!o->hosts)
		return meshsim_usage_error("--subnets splits the hosts into subnets: it needs --hosts",
		                           NULL);
	if (o->hosts < o->subnets)
		return meshsim_usage_error("--subnets cannot exceed --hosts (a subnet without a host "
		                           "proves nothing)", NULL);
	if (o->sim || o->inproc)
		return meshsim_usage_error("--subnets needs real processes in host namespaces: drop "
		                           "--sim and --inproc", NULL);
	if (o->scenario == MESHSIM_PARTITION)
		return meshsim_usage_error("partition cuts one bridge in two; between routed subnets "
		                           "the router would still join the halves: drop --subnets",
		                           NULL);
	if (o->scenario == MESHSIM_FAULTS && o->partitions > 0)
		return meshsim_usage_error("faults' partitions cut one bridge in two, which routed "
		                           "subnets do not have: add --partitions 0", NULL);
	if (o->scenario == MESHSIM_ATTACK)
		return meshsim_usage_error("attack runs on loopback, where its attackers reach the "
		                           "victim: drop --subnets", NULL);
	if (o->scenario == MESHSIM_FAULTS && o->readdrs > 0 &&
	    o->fixed_peers != MESHSIM_PEERS_NONE)
		return meshsim_usage_error("--readdrs moves a node to an address that the other "
		                           "subnets' --peer do not name: with --subnets it needs "
		                           "--fixed-peers none (and --bridge, to join them)", NULL);
	/* node i is on host i mod hosts (as in meshsim.c), and its fixed peers are the nodes of
	 * every other subnet: that count must fit meshnode's own limit */
	for (int i = 0; i < o->n; i++)
		per[meshsim_net_subnet_of(o->hosts, o->subnets, i % o->hosts)]++;
	for (int b = 0; b < o->subnets; b++)
		if (o->n - per[b] > most)
			most = o->n - per[b];
	if (o->fixed_peers == MESHSIM_PEERS_ALL && most > MESHNODE_MAX_FIXED_PEERS) {
		snprintf(what, sizeof what, "--subnets would give a node %d fixed peers (every node of "
		         "the other subnets), more than meshnode's %d: use fewer nodes", most,
		         MESHNODE_MAX_FIXED_PEERS);
		return meshsim_usage_error(what, NULL);
	}
	return -1;
}

/*
 * An output that cannot be written is refused now, not after a run of minutes whose figures
 * would then be lost: the file's directory must exist and be writable, and the path must not
 * be a directory. Returns -1 if PATH looks writable, else the usage exit status.
 */
static int check_output(const char *opt, const char *path)
{
	char dir[PATH_MAX], what[PATH_MAX + 64];
	struct stat st;
	int err = 0;

	if (!path)
		return -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		err = EISDIR;
	} else {
		const char *slash = strrchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : 0;
		if (n >= sizeof dir)
			err = ENAMETOOLONG;
		else if (!slash)
			memcpy(dir, ".", 2);
		else if (n == 0)
			memcpy(dir, "/", 2);
		else {
			memcpy(dir, path, n);
			dir[n] = '\0';
		}
		if (!err && access(dir, W_OK | X_OK) != 0)
			err = errno;
	}
	if (!err)
		return -1;
	snprintf(what, sizeof what, "%s: cannot write '%s': %s", opt, path, strerror(err));
	return meshsim_usage_error(what, NULL);
}

static int parse_and_check(int argc, char **argv, struct meshsim_opts *o);

bool meshsim_find_tcpdump(char *out, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		int n = snprintf(out, cap, "%.*s/tcpdump", (int)len, path);
		if (len > 0 && n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

int meshsim_parse_options(int argc, char **argv, struct meshsim_opts *o)
{
	int rc = parse_and_check(argc, argv, o);
	if (rc < 0 && o->json_path && strcmp(o->json_path, "-") == 0) {
		/* a fresh FILE on fd 1: the report writer takes a path, and nothing else may be
		 * written on stdout then */
		o->json_stdout = true;
		o->json_path = "/dev/stdout";
	} else if (rc < 0) {
		rc = check_output("--json", o->json_path);
	}
	if (rc < 0)
		rc = check_output("--plot", o->plot_path);
	if (rc < 0)
		rc = check_output("--capture", o->capture_path);
	if (rc < 0 && o->capture_path && !meshsim_find_tcpdump(o->tcpdump, sizeof o->tcpdump))
		rc = meshsim_usage_error("--capture needs tcpdump, and there is none in PATH", NULL);
	return rc;
}

static int parse_and_check(int argc, char **argv, struct meshsim_opts *o)
{
	unsigned long v;
	double d;
	bool seed_set = false, have_loss = false, have_delay = false, have_peers = false;
	bool have_iface_faults = false;
	int c;
	memset(o, 0, sizeof *o);
	o->n = 8;
	o->messages = 100;
	o->rate = 50;
	o->size = 64;
	o->deadline_s = 30;
	o->churn_kills = 3;
	o->cuts = 20;
	o->kills = 5;
	o->stops = 5;
	o->partitions = 2;
	o->ttl_ms = 60000;
	o->attack_secs = 5;
	o->attack_link_ms = 2000;
	o->attack_conns = 4000;
	o->attack_peers = 100;
	o->log_level = "info";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:hV", long_options, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case 'n':
			if (!parse_ulong(a, 1, MAX_NODES, &v))
				return meshsim_usage_error("-n wants a node count from 1 to 1000", a);
			o->n = (int)v;
			break;
		case OPT_SEED:
			if (!parse_ulong(a, 0, ULONG_MAX, &v))
				return meshsim_usage_error("--seed wants an unsigned integer", a);
			o->seed = v;
			seed_set = true;
			break;
		case OPT_HOSTS:
			if (!parse_ulong(a, 1, MESHSIM_NET_MAX_HOSTS, &v))
				return meshsim_usage_error("--hosts wants 1 to 250", a);
			o->hosts = (int)v;
			break;
		case OPT_SUBNETS:
			if (!parse_ulong(a, 2, MESHSIM_NET_MAX_SUBNETS, &v))
				return meshsim_usage_error("--subnets wants 2 to 8", a);
			o->subnets = (int)v;
			break;
		case OPT_BRIDGE:
			o->bridge = true;
			break;
		case OPT_IPV6:
			if (strcmp(a, "dual") == 0)
				o->ipv6 = MESHSIM_IPV6_DUAL;
			else if (strcmp(a, "mixed") == 0)
				o->ipv6 = MESHSIM_IPV6_MIXED;
			else if (strcmp(a, "only") == 0)
				o->ipv6 = MESHSIM_IPV6_ONLY;
			else
				return meshsim_usage_error("--ipv6 wants dual, mixed or only", a);
			break;
		case OPT_FIXED_PEERS:
			if (strcmp(a, "all") == 0)
				o->fixed_peers = MESHSIM_PEERS_ALL;
			else if (strcmp(a, "none") == 0)
				o->fixed_peers = MESHSIM_PEERS_NONE;
			else if (strcmp(a, "one") == 0)
				o->fixed_peers = MESHSIM_PEERS_ONE;
			else
				return meshsim_usage_error("--fixed-peers wants all, one or none", a);
			have_peers = true;
			break;
		case OPT_LOSS:
			if (!parse_double(a, 0, 100, &d))
				return meshsim_usage_error("--loss wants a percentage from 0 to 100", a);
			o->loss_permille = (unsigned)lround(d * 10);
			have_loss = true;
			break;
		case OPT_DELAY:
		case OPT_JITTER:
			if (!parse_ulong(a, 0, 60000, &v))
				return meshsim_usage_error("--delay/--jitter want milliseconds from 0 to 60000", a);
			if (c == OPT_DELAY)
				o->delay_ms = (unsigned)v;
			else
				o->jitter_ms = (unsigned)v;
			have_delay = true;
			break;
		case OPT_INPROC:
			o->inproc = true;
			break;
		case OPT_SIM:
			o->sim = true;
			break;
		case OPT_MESSAGES:
			if (!parse_ulong(a, 0, 10000000, &v))
				return meshsim_usage_error("--messages wants 0 to 10000000", a);
			o->messages = (long)v;
			break;
		case OPT_RATE:
			if (!parse_double(a, 0.01, 1e6, &d))
				return meshsim_usage_error("--rate wants messages per second, 0.01 to 1000000", a);
			o->rate = d;
			break;
		case OPT_SIZE:
			if (!parse_ulong(a, 1, 1048576, &v))
				return meshsim_usage_error("--size wants 1 to 1048576 bytes", a);
			o->size = v;
			break;
		case OPT_DEADLINE:
			if (!parse_double(a, 0.1, 86400, &d))
				return meshsim_usage_error("--deadline wants seconds, 0.1 to 86400", a);
			o->deadline_s = d;
			break;
		case OPT_JSON:
			o->json_path = a;
			break;
		case OPT_PLOT:
			o->plot_path = a;
			break;
		case OPT_CAPTURE:
			o->capture_path = a;
			break;
		case OPT_KEYLOG:
			o->keylog_path = a;
			break;
		case OPT_MESHNODE:
			o->meshnode = a;
			break;
		case OPT_BEACON:
		case OPT_HEARTBEAT:
		case OPT_EVASIVE:
		case OPT_EXPIRED:
			if (!parse_ulong(a, 1, 4294967295ul, &v))
				return meshsim_usage_error("timer options want 1 to 4294967295 ms", a);
			if (c == OPT_BEACON)
				o->beacon_ms = (uint32_t)v;
			else if (c == OPT_HEARTBEAT)
				o->heartbeat_ms = (uint32_t)v;
			else if (c == OPT_EVASIVE)
				o->evasive_ms = (uint32_t)v;
			else
				o->expired_ms = (uint32_t)v;
			break;
		case OPT_CHURN_KILLS:
			if (!parse_ulong(a, 0, 10000, &v))
				return meshsim_usage_error("--churn-kills wants 0 to 10000", a);
			o->churn_kills = (int)v;
			break;
		case OPT_CUTS:
		case OPT_KILLS:
		case OPT_STOPS:
		case OPT_PARTITIONS:
			if (!parse_ulong(a, 0, 100000, &v))
				return meshsim_usage_error("--cuts, --kills, --stops and --partitions want 0 "
				                           "to 100000", a);
			*(c == OPT_CUTS ? &o->cuts : c == OPT_KILLS ? &o->kills :
			  c == OPT_STOPS ? &o->stops : &o->partitions) = (int)v;
			break;
		case OPT_FLAPS:
		case OPT_READDRS:
			if (!parse_ulong(a, 0, 100000, &v))
				return meshsim_usage_error("--flaps and --readdrs want 0 to 100000", a);
			*(c == OPT_FLAPS ? &o->flaps : &o->readdrs) = (int)v;
			have_iface_faults = true;
			break;
		case OPT_TTL:
			/* meshnode's own bounds (docs/usage.md) */
			if (!parse_ulong(a, 1, 600000, &v))
				return meshsim_usage_error("--ttl wants 1 to 600000 ms", a);
			o->ttl_ms = (uint32_t)v;
			break;
		case OPT_NO_RECEIPTS:
			o->no_receipts = true;
			break;
		case OPT_ATTACK_SECS:
			if (!parse_double(a, 0.5, 3600, &d))
				return meshsim_usage_error("--attack-secs wants seconds, 0.5 to 3600", a);
			o->attack_secs = d;
			break;
		case OPT_ATTACK_LINK:
			if (!parse_ulong(a, 1, 600000, &v))
				return meshsim_usage_error("--attack-link-ms wants 1 to 600000 ms", a);
			o->attack_link_ms = (uint32_t)v;
			break;
		case OPT_ATTACK_CONNS:
			if (!parse_ulong(a, 1, 100000, &v))
				return meshsim_usage_error("--attack-conns wants 1 to 100000", a);
			o->attack_conns = (int)v;
			break;
		case OPT_ATTACK_PEERS:
			if (!parse_ulong(a, 1, 1000, &v))
				return meshsim_usage_error("--attack-peers wants 1 to 1000", a);
			o->attack_peers = (int)v;
			break;
		case OPT_ATTACKS: {
			char list[256], *save = NULL;
			if (strlen(a) >= sizeof list)
				return meshsim_usage_error("--attacks: list too long", a);
			memcpy(list, a, strlen(a) + 1);
			o->attacks = 0;
			for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int k = meshsim_attacker_parse(t);
				if (k < 0)
					return meshsim_usage_error("--attacks wants a comma-separated list of "
					                           "conn-flood, beacon-flood, hello-flood, "
					                           "partial-hold, garbage", t);
				o->attacks |= 1u << k;
			}
			if (!o->attacks)
				return meshsim_usage_error("--attacks wants at least one attack", a);
			break;
		}
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_KEEP:
			o->keep = true;
			break;
		case OPT_RSS_SETTLE:
			if (!parse_ulong(a, 1, 86400000, &v))
				return meshsim_usage_error("--rss-settle wants 1 to 86400000 ms", a);
			o->rss_settle_ms = (uint32_t)v;
			break;
		case OPT_LOG_LEVEL:
			if (strcmp(a, "error") && strcmp(a, "warn") && strcmp(a, "info") &&
			    strcmp(a, "debug"))
				return meshsim_usage_error("--log-level wants error, warn, info or debug", a);
			o->log_level = a;
			break;
		case OPT_FAULT:
			if (strcmp(a, "drop-delivery") == 0)
				o->fault = MESHSIM_FAULT_DROP;
			else if (strcmp(a, "duplicate-delivery") == 0)
				o->fault = MESHSIM_FAULT_DUP;
			else
				return meshsim_usage_error("--inject-fault wants drop-delivery or duplicate-delivery",
				                   a);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("meshsim %s\n", MESHNODE_VERSION);
			return EXIT_OK;
		case ':':
			return meshsim_usage_error("option needs a value", argv[optind - 1]);
		default:
			return meshsim_usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		bool found = false;
		for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
			if (strcmp(argv[optind], names[i]) == 0) {
				o->scenario = (enum meshsim_scenario)i;
				found = true;
			}
		}
		if (!found)
			return meshsim_usage_error("unknown scenario (converge, broadcast, whisper, churn, "
			                   "partition, faults, attack)", argv[optind]);
		if (optind + 1 < argc)
			return meshsim_usage_error("more than one scenario or a stray argument", argv[optind + 1]);
	}
	if (!seed_set) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
		             ((uint64_t)getpid() << 32);
		x = (x ^ (x >> 31)) * 0x7fb5d329728ea185ull;
		o->seed = (x ^ (x >> 27)) % 1000000000ull;   /* short enough to type again */
	}
	/* one node: the idle figures of converge (docs/meshsim.md); nothing else has a meaning */
	if (o->n < 2 && o->scenario != MESHSIM_CONVERGE)
		return meshsim_usage_error("only converge runs with one node; the other scenarios need -n 2 "
		                   "or more", NULL);
	if (o->hosts > o->n)
		return meshsim_usage_error("--hosts cannot exceed -n (a host without nodes proves nothing)",
		                   NULL);
	if (o->ipv6 && !o->hosts)
		return meshsim_usage_error("--ipv6 gives the hosts' interfaces IPv6 addresses: it "
		                           "needs --hosts (IPv6 multicast does not work on lo)", NULL);
	if (o->ipv6 == MESHSIM_IPV6_MIXED && !o->subnets)
		return meshsim_usage_error("--ipv6 mixed makes subnets other than the first IPv6 "
		                           "only: it needs --subnets", NULL);
	if (o->bridge && !o->subnets)
		return meshsim_usage_error("--bridge puts host 0 on two routed subnets: it needs "
		                           "--subnets (without them every host is on one bridge)",
		                           NULL);
	if (have_iface_faults && o->scenario != MESHSIM_FAULTS)
		return meshsim_usage_error("--flaps and --readdrs are interface faults of the faults "
		                           "scenario", NULL);
	if (o->capture_path && (o->sim || o->inproc))
		return meshsim_usage_error("--capture records the packets of node processes: --sim and "
		                           "--inproc send none", NULL);
	if (o->keylog_path && (o->sim || o->inproc))
		return meshsim_usage_error("--keylog collects the key logs of node processes: drop --sim "
		                           "and --inproc", NULL);
	if (o->capture_path && o->subnets)
		return meshsim_usage_error("--capture listens on one bridge: it cannot take --subnets",
		                           NULL);
	if (o->subnets || have_peers) {
		int rc = check_subnets(o, have_peers);
		if (rc >= 0)
			return rc;
	}
	if (o->sim) {
		if (o->inproc || o->hosts)
			return meshsim_usage_error("--sim runs engines on a simulated LAN: it takes neither "
			                   "--inproc nor --hosts", NULL);
		if (o->fault)
			return meshsim_usage_error("--inject-fault tests the observer of the other back-ends, "
			                   "not --sim", NULL);
		if (o->n < 2)
			return meshsim_usage_error("--sim needs -n 2 or more", NULL);
		if (o->scenario == MESHSIM_FAULTS)
			return meshsim_usage_error("faults signals real processes; the simulation has "
			                           "fault seeds of its own (docs/simulation.md)", NULL);
		if (o->scenario == MESHSIM_ATTACK)
			return meshsim_usage_error("attack needs real processes and sockets (attackers "
			                           "connect to a real victim): drop --sim", NULL);
		return -1;
	}
	if ((have_loss || have_delay) && o->hosts == 0)
		return meshsim_usage_error("--loss, --delay and --jitter apply to host links: they need "
		                   "--hosts", NULL);
	if (o->inproc && o->hosts)
		return meshsim_usage_error("--inproc cannot use --hosts: the nodes' threads all live in one "
		                   "network namespace", NULL);
	if (o->inproc && o->scenario == MESHSIM_CHURN)
		return meshsim_usage_error("churn needs real processes (one in-process node cannot be "
		                   "SIGKILLed): drop --inproc", NULL);
	if (o->scenario == MESHSIM_FAULTS && o->inproc)
		return meshsim_usage_error("faults needs real processes (to SIGKILL and SIGSTOP "
		                           "them): drop --inproc", NULL);
	if (o->scenario == MESHSIM_FAULTS && o->partitions > 0) {
		/* a partition needs two sides of a LAN: hosts on a bridge */
		if (o->hosts == 0)
			o->hosts = o->n < 4 ? o->n : 4;
		if (o->hosts < 2)
			return meshsim_usage_error("faults with --partitions needs --hosts 2 or more (or "
			                           "--partitions 0)", NULL);
	}
	if (o->scenario == MESHSIM_FAULTS && (o->flaps > 0 || o->readdrs > 0)) {
		/* loopback cannot go down or change its address under the nodes: hosts can */
		if (o->hosts == 0)
			o->hosts = o->n < 4 ? o->n : 4;
		if (o->readdrs > 0 && o->hosts > MESHSIM_NET_MAX_READDR_HOSTS)
			return meshsim_usage_error("--readdrs moves host i to 10.77.s.(100+i): at most "
			                           "--hosts 99", NULL);
	}
	if (o->scenario == MESHSIM_ATTACK && o->inproc)
		return meshsim_usage_error("attack needs real processes (the victim's fds, RSS and "
		                           "CPU are measured per process): drop --inproc", NULL);
	if (o->scenario == MESHSIM_ATTACK && o->hosts)
		return meshsim_usage_error("attack runs on loopback, where its attackers reach the "
		                           "victim: drop --hosts", NULL);
	if (o->inproc && o->scenario == MESHSIM_PARTITION)
		return meshsim_usage_error("partition needs --hosts, which --inproc cannot use", NULL);
	if (o->scenario == MESHSIM_PARTITION && o->hosts < 2)
		return meshsim_usage_error("partition needs --hosts 2 or more", NULL);
	if (o->fault && o->scenario != MESHSIM_BROADCAST && o->scenario != MESHSIM_WHISPER &&
	    o->scenario != MESHSIM_FAULTS && o->scenario != MESHSIM_ATTACK)
		return meshsim_usage_error("--inject-fault works with broadcast, whisper, faults and "
		                           "attack only", NULL);
	if (o->fault && o->messages == 0)
		return meshsim_usage_error("--inject-fault needs messages", NULL);
	return -1;
}
