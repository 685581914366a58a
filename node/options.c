/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * options: the command line of meshnode (print_usage, parse_options). Nothing here
 * touches the node; main() acts on struct options.
 */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include "app.h"

/* ---- Options ---------------------------------------------------------------------------- */

enum {
	OPT_NAME = 256, OPT_IFACE, OPT_PORT, OPT_IDENTITY, OPT_MESH_KEY_FILE, OPT_GEN_MESH_KEY,
	OPT_MCAST_GROUP, OPT_MCAST_PORT, OPT_BEACON, OPT_HEARTBEAT, OPT_EVASIVE, OPT_EXPIRED,
	OPT_GROUP, OPT_LOG_LEVEL, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_TTL, OPT_RECEIPTS,
	OPT_KNOWN_PEERS, OPT_NO_KNOWN_PEERS, OPT_KNOWN_ONLY, OPT_ALLOW, OPT_PEER,
	OPT_REKEY, OPT_IFACE_DENY, OPT_TRACE, OPT_KEYLOG,
};

static const struct option long_options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "iface-deny", required_argument, NULL, OPT_IFACE_DENY },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "mesh-key-file", required_argument, NULL, OPT_MESH_KEY_FILE },
	{ "gen-mesh-key", required_argument, NULL, OPT_GEN_MESH_KEY },
	{ "mcast-group", required_argument, NULL, OPT_MCAST_GROUP },
	{ "mcast-port", required_argument, NULL, OPT_MCAST_PORT },
	{ "beacon-interval", required_argument, NULL, OPT_BEACON },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "evasive", required_argument, NULL, OPT_EVASIVE },
	{ "expired", required_argument, NULL, OPT_EXPIRED },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "receipts", no_argument, NULL, OPT_RECEIPTS },
	{ "known-peers", required_argument, NULL, OPT_KNOWN_PEERS },
	{ "no-known-peers", no_argument, NULL, OPT_NO_KNOWN_PEERS },
	{ "known-only", no_argument, NULL, OPT_KNOWN_ONLY },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "rekey-interval", required_argument, NULL, OPT_REKEY },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "keylog", required_argument, NULL, OPT_KEYLOG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void print_usage(FILE *f)
{
	fputs("usage: meshnode [options]\n"
	      "  --name NAME            node name shown to peers (1..64 bytes UTF-8, no control\n"
	      "                         characters; default node-<first 8 hex digits of the ID>)\n"
	      "  --iface IFACE          beacon and listen on this interface, name or IPv4 address;\n"
	      "                         repeatable (default: every up, multicast, non-loopback\n"
	      "                         interface, followed as they come and go)\n"
	      "  --iface-deny IFACE     never this interface (name or address); repeatable\n"
	      "  --port PORT            TCP port of the ROUTER socket (default 0 = ephemeral)\n"
	      "  --identity PATH        identity file (default $XDG_CONFIG_HOME/meshnode/identity)\n"
	      "  --mesh-key-file PATH   closed mesh: 64-hex-char key file, mode 0600\n"
	      "  --gen-mesh-key PATH    create a new mesh key file (0600) and exit\n"
	      "  --mcast-group ADDR     multicast group, IPv4 (default 239.192.7.7) or IPv6\n"
	      "                         (default ff12::7d7e); once per family\n"
	      "  --mcast-port PORT      multicast port (default 47474)\n"
	      "  --beacon-interval MS   default 1000\n"
	      "  --heartbeat MS         default 1000\n"
	      "  --evasive MS           default 3000\n"
	      "  --expired MS           default 10000; heartbeat < evasive < expired\n"
	      "  --group G              join G at start (repeatable)\n"
	      "  --log-level LEVEL      error|warn|info|debug (default warn, info with --json);\n"
	      "                         logs go to stderr\n"
	      "  --json                 JSON lines on stdout, commands on stdin\n"
	      "  --ttl MS               how long a message may wait for its peer's acknowledgement\n"
	      "                         before it is reported dropped (default 60000, max 600000)\n"
	      "  --receipts             report each peer's acknowledgement (\"delivered\")\n"
	      "  --known-peers PATH     the peers this node remembers (default: beside --identity,\n"
	      "                         or $XDG_DATA_HOME/meshnode/known_peers)\n"
	      "  --no-known-peers       remember no one (no alarms about names, no verified marks)\n"
	      "  --known-only           link only with remembered peers\n"
	      "  --allow PATH           link only with the node IDs listed in PATH\n"
	      "  --peer [ID@]HOST:PORT  a fixed peer, for a node multicast cannot reach (another\n"
	      "                         subnet): dialled and kept linked; with ID, only that node\n"
	      "                         may answer there (repeatable, at most 64)\n"
	      "  --rekey-interval MS    replace each link's keys with a fresh key exchange this\n"
	      "                         often (default 120000, at least 100)\n"
	      "  --trace PATH           write a JSON line for each frame in and out and each\n"
	      "                         decision to PATH (created 0600; docs/usage.md, \"Trace\")\n"
	      "  --keylog FILE          append each link's keys to FILE (0600), to decrypt captures\n"
	      "                         with tools/wireshark/meshnode.lua; DANGEROUS: whoever reads\n"
	      "                         FILE reads the traffic (docs/usage.md, \"Key log\")\n"
	      "  -h, --help             show this help\n"
	      "  -V, --version          show the version\n"
	      "Commands: /join G, /leave G, /shout G TEXT, /msg NAME TEXT, /peers, /groups,\n"
	      "/whoami, /verify NAME, /trust NAME, /untrust NAME, /stats, /ttl [MS], /help, /quit;\n"
	      "other lines go to the current group.\n"
	      "Exit codes: 0 clean stop, 1 runtime failure, 2 usage error, 3 key file refused.\n",
	      f);
}

/* Says what was wrong, quoting the offending argument if there is one. The argument is
 * escaped: a name refused for its control characters must not drive the terminal. */
static int usage_error(const char *what, const char *arg)
{
	if (arg) {
		struct json_buf b;
		json_buf_init(&b);
		json_term(&b, arg, strlen(arg), 0);
		fprintf(stderr, "meshnode: %s: '%s'\n", what, b.failed || !b.p ? "" : b.p);
		json_buf_free(&b);
	} else {
		fprintf(stderr, "meshnode: %s\n", what);
	}
	fputs("Try 'meshnode --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Decimal digits only: strtoul() would also take signs, spaces and hex. */
bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long v = strtoul(s, NULL, 10);
	if (errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The node's rule for names and groups (docs/protocol.md): UTF-8 without C0, DEL or C1
 * controls, wire_name_valid(), the one home of that rule. Checked here too so that a bad one is
 * a usage error, not a runtime failure. */
static bool valid_label(const char *s, size_t max)
{
	size_t len = strlen(s);
	return len >= 1 && len <= max && wire_name_valid(s, len);
}

/* Returns -1 to go on, or the exit code (0 after --help or --version). */
int parse_options(int argc, char **argv, struct options *o)
{
	unsigned long v;
	int c;
	bool log_level_given = false;

	memset(o, 0, sizeof *o);
	meshnode_config_init(&o->cfg);
	opterr = 1;
	while ((c = getopt_long(argc, argv, "hV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			if (!valid_label(optarg, MESHNODE_MAX_NAME))
				return usage_error("--name must be 1..64 bytes of UTF-8 without control "
				                   "characters", optarg);
			o->cfg.name = optarg;
			break;
		case OPT_IFACE:
		case OPT_IFACE_DENY: {
			bool deny = c == OPT_IFACE_DENY;
			if (!*optarg)
				return usage_error(deny ? "--iface-deny must not be empty"
				                        : "--iface must not be empty", NULL);
			if (o->nifaces[deny] == MESHNODE_MAX_IFACES)
				return usage_error(deny ? "at most 16 --iface-deny options"
				                        : "at most 16 --iface options", NULL);
			o->ifaces[deny][o->nifaces[deny]++] = optarg;
			break;
		}
		case OPT_PORT:
			if (!parse_ulong(optarg, 0, 65535, &v))
				return usage_error("--port must be 0..65535", optarg);
			o->cfg.port = (uint16_t)v;
			break;
		case OPT_IDENTITY:
			o->cfg.identity_path = optarg;
			break;
		case OPT_MESH_KEY_FILE:
			o->cfg.mesh_key_path = optarg;
			break;
		case OPT_GEN_MESH_KEY:
			o->gen_mesh_key = optarg;
			break;
		case OPT_MCAST_GROUP: {
			/* one group per family: IPv4 224.0.0.0/4; IPv6 of link scope, any flags */
			struct in_addr a4;
			struct in6_addr a6;
			if (inet_pton(AF_INET, optarg, &a4) == 1 && (ntohl(a4.s_addr) >> 28) == 0xe)
				o->cfg.mcast_group = optarg;
			else if (inet_pton(AF_INET6, optarg, &a6) == 1 && a6.s6_addr[0] == 0xff &&
			         (a6.s6_addr[1] & 0x0f) == 2)
				o->cfg.mcast_group6 = optarg;
			else
				return usage_error("--mcast-group must be an IPv4 multicast address "
				                   "(224.0.0.0/4) or an IPv6 one of link scope (ff02::/16, "
				                   "ff12::/16)",
				                   optarg);
			break;
		}
		case OPT_MCAST_PORT:
			if (!parse_ulong(optarg, 1, 65535, &v))
				return usage_error("--mcast-port must be 1..65535", optarg);
			o->cfg.mcast_port = (uint16_t)v;
			break;
		case OPT_BEACON:
		case OPT_HEARTBEAT:
		case OPT_EVASIVE:
		case OPT_EXPIRED:
			/* 0 would silently mean "default" to the node, so we refuse it here. */
			if (!parse_ulong(optarg, 1, UINT32_MAX, &v))
				return usage_error("intervals are milliseconds, 1..4294967295",
				                   optarg);
			if (c == OPT_BEACON)
				o->cfg.beacon_interval_ms = (uint32_t)v;
			else if (c == OPT_HEARTBEAT)
				o->cfg.heartbeat_ms = (uint32_t)v;
			else if (c == OPT_EVASIVE)
				o->cfg.evasive_ms = (uint32_t)v;
			else
				o->cfg.expired_ms = (uint32_t)v;
			break;
		case OPT_GROUP:
			if (!valid_label(optarg, MESHNODE_MAX_GROUP))
				return usage_error("--group must be 1..64 bytes of UTF-8 without control "
				                   "characters", optarg);
			if (o->ngroups == MESHNODE_MAX_GROUPS)
				return usage_error("at most 256 --group options", NULL);
			o->groups[o->ngroups++] = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (strcmp(optarg, "error") == 0)
				o->cfg.log_level = MESHNODE_LOG_ERROR;
			else if (strcmp(optarg, "warn") == 0)
				o->cfg.log_level = MESHNODE_LOG_WARN;
			else if (strcmp(optarg, "info") == 0)
				o->cfg.log_level = MESHNODE_LOG_INFO;
			else if (strcmp(optarg, "debug") == 0)
				o->cfg.log_level = MESHNODE_LOG_DEBUG;
			else
				return usage_error("--log-level must be error, warn, info or debug",
				                   optarg);
			log_level_given = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_TTL:
			if (!parse_ulong(optarg, 1, 600000, &v))
				return usage_error("--ttl is milliseconds, 1..600000", optarg);
			o->cfg.ttl_ms = (uint32_t)v;
			break;
		case OPT_RECEIPTS:
			o->cfg.receipts = true;
			break;
		case OPT_KNOWN_PEERS:
			if (!optarg[0])
				return usage_error("--known-peers must not be empty (--no-known-peers "
				                   "remembers no one)", NULL);
			o->cfg.known_peers_path = optarg;
			break;
		case OPT_NO_KNOWN_PEERS:
			o->cfg.known_peers_path = "";
			break;
		case OPT_KNOWN_ONLY:
			o->cfg.known_only = true;
			break;
		case OPT_PEER:
			if (!optarg[0])
				return usage_error("--peer must not be empty", NULL);
			if (o->npeers == MESHNODE_MAX_FIXED_PEERS)
				return usage_error("at most 64 --peer options", NULL);
			o->peers[o->npeers++] = optarg;
			break;
		case OPT_TRACE:
			if (!optarg[0])
				return usage_error("--trace must not be empty", NULL);
			o->trace_path = optarg;
			break;
		case OPT_KEYLOG:
			if (!optarg[0])
				return usage_error("--keylog must not be empty", NULL);
			o->keylog_path = optarg;
			break;
		case OPT_ALLOW:
			if (!optarg[0])
				return usage_error("--allow must not be empty", NULL);
			o->cfg.allow_path = optarg;
			break;
		case OPT_REKEY:
			if (!parse_ulong(optarg, MESHNODE_REKEY_MIN_MS, UINT32_MAX, &v))
				return usage_error("--rekey-interval is milliseconds, 100..4294967295",
				                   optarg);
			o->cfg.rekey_ms = (uint32_t)v;
			break;
		case 'h':
		case OPT_HELP:
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
		case OPT_VERSION:
			printf("meshnode %s\n", MESHNODE_VERSION);
			return EXIT_OK;
		default:
			/* getopt_long has already said what was wrong. */
			fputs("Try 'meshnode --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	/* The chat shows each peer's coming and going, and each message, as a line of its own;
	 * the node's info lines would say the same again on stderr, which shares the screen. */
	if (!o->json && !log_level_given)
		o->cfg.log_level = MESHNODE_LOG_WARN;
	if (o->cfg.known_only && o->cfg.known_peers_path && !o->cfg.known_peers_path[0])
		return usage_error("--known-only needs the known peers (not --no-known-peers)", NULL);
	/* The node refuses these too, but only as a runtime failure (exit code 1). */
	uint32_t heartbeat = o->cfg.heartbeat_ms ? o->cfg.heartbeat_ms : 1000;
	uint32_t evasive = o->cfg.evasive_ms ? o->cfg.evasive_ms : 3000;
	uint32_t expired = o->cfg.expired_ms ? o->cfg.expired_ms : 10000;
	if (heartbeat >= evasive || evasive >= expired) {
		char msg[160];
		snprintf(msg, sizeof msg, "intervals must satisfy --heartbeat < --evasive < --expired "
		         "(got %" PRIu32 ", %" PRIu32 ", %" PRIu32 " ms)", heartbeat, evasive, expired);
		return usage_error(msg, NULL);
	}
	return -1;
}
