/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * main: the meshnode program, a thin front end over the embeddable node (meshnode.h). It reads
 * command lines from stdin and prints node events, either as JSON lines for programs (--json)
 * or for people (an editline prompt on a terminal, plain lines on a pipe). docs/usage.md is
 * the user's guide and the JSON contract.
 *
 * Invariants:
 * - One thread runs all of this: a poll() loop over stdin, the node's event fd, a self-pipe that
 *   the SIGINT/SIGTERM/SIGWINCH/SIGCONT handler writes to, and (on a terminal) a pipe that
 *   carries the node's log lines, so no other thread ever writes to the terminal while
 *   editline owns it.
 * - Everything a peer chose (its name, groups and payloads) is untrusted: in JSON it goes
 *   through json_str(), in the text modes (terminal and plain) through json_term(), and so
 *   never out raw. Tab completion offers only names that json_term() would leave unchanged.
 * - Only the terminal mode depends on the locale (LC_CTYPE from the environment): editline
 *   decodes keys in it, and a locale that is not UTF-8 means an ASCII terminal, which gets
 *   only ASCII (JSON_TERM_ASCII). JSON and plain output are the same bytes in every locale.
 *   Text inside the program is UTF-8 throughout; lines are converted as they leave editline.
 * - Lines read from stdin and output lines may hold message plaintext; their buffers are
 *   wiped before they are freed or reused.
 * - Only main() exits, after meshnode_destroy() has wiped the node's keys.
 */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include "json.h"
#include "keyfile.h"
#include "meshnode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <histedit.h>
#include <sodium.h>

/* Typed characters are sent as UTF-8 whatever the locale's charset, which needs wchar_t to hold
 * Unicode code points: true of glibc and musl, and this program runs on Linux only (epoll). */
#ifndef __STDC_ISO_10646__
#error "meshnode needs wchar_t to hold Unicode code points (__STDC_ISO_10646__)"
#endif

#ifndef MESHNODE_VERSION
#define MESHNODE_VERSION "unknown"
#endif

enum exit_code {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,   /* cannot bind, start or keep writing output */
	EXIT_USAGE = 2,
	EXIT_KEYFILE = 3,   /* identity or mesh key file refused */
};

/* A shout of MESHNODE_MAX_PAYLOAD bytes must fit on one line with its command and group. */
#define INPUT_LINE_MAX (2u * MESHNODE_MAX_PAYLOAD)
#define READ_CHUNK 65536u
/* Longest log line carried through the log pipe: below PIPE_BUF, so each write is atomic. */
#define LOG_LINE_MAX 1024u
/* Events handled per loop turn, so that a flood of them cannot starve stdin or signals. */
#define EVENTS_PER_TURN 256
#define HISTORY_MAX 500
/* Quiet time (no event, input or log line) after which the heap is trimmed (trim_heap()). */
#define TRIM_QUIET_MS 10000
#define ID_SHORT 8          /* hex digits of an ID shown to tell two same-named peers apart */
#define HEX_PREFIX_MIN 4

enum mode {
	MODE_JSON,   /* --json: JSON lines out, command lines in */
	MODE_TTY,    /* stdin and stdout are terminals: editline, colours */
	MODE_PLAIN,  /* anything else: plain lines both ways */
};

struct options {
	struct meshnode_config cfg;
	const char *gen_mesh_key;
	const char *groups[MESHNODE_MAX_GROUPS];
	size_t ngroups;
	bool json;
};

struct linebuf {
	char *p;
	size_t len;
	size_t cap;
	size_t scanned;     /* bytes from the start already known to hold no newline */
	bool discarding;    /* dropping the rest of an overlong line */
};

struct slice {
	const char *p;
	size_t len;
};

struct app {
	struct meshnode *n;
	enum mode mode;
	bool color;
	bool running;
	int exit_code;
	bool out_broken;                         /* stdout can no longer be written */
	char last_error[128];                    /* reason of the node's last ERROR event */
	char current[MESHNODE_MAX_GROUP + 1];    /* where a line without '/' goes; "" if none */
	struct json_buf out;                     /* the output line being built */
	struct json_buf scratch;
	struct linebuf in;
	bool stdin_open;
	EditLine *el;                            /* the line editor, in terminal mode */
	HistoryW *hist;
	bool edit_shown;                         /* the prompt and input line are on screen */
	unsigned term_flags;                     /* for json_term(): JSON_TERM_ASCII or 0 */
	char locale_note[96];                    /* why the terminal gets ASCII, or "" */
	char prompt[8 * MESHNODE_MAX_GROUP + 8]; /* json_term() writes up to 8 bytes a byte */
	int log_level;
	int sig_rd, sig_wr;
	int log_rd, log_wr;
	char logbuf[2 * LOG_LINE_MAX];
	size_t loglen;
	/* Completion candidates, rebuilt on each Tab. */
	char **cand;
	size_t ncand;
	bool cand_peers;                         /* the candidates are PEER arguments */
	/* The line up to the cursor when Tab last found several matches and nothing to add: a
	 * second Tab there lists them. */
	char tab_seen[512];
	size_t tab_seen_len;
};

/* The signal handler's only state; set before the handler is installed. */
static int g_sig_wr = -1;

/* ---- Options ---------------------------------------------------------------------------- */

enum {
	OPT_NAME = 256, OPT_IFACE, OPT_PORT, OPT_IDENTITY, OPT_MESH_KEY_FILE, OPT_GEN_MESH_KEY,
	OPT_MCAST_GROUP, OPT_MCAST_PORT, OPT_BEACON, OPT_HEARTBEAT, OPT_EVASIVE, OPT_EXPIRED,
	OPT_GROUP, OPT_LOG_LEVEL, OPT_JSON, OPT_HELP, OPT_VERSION,
};

static const struct option long_options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "iface", required_argument, NULL, OPT_IFACE },
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
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void print_usage(FILE *f)
{
	fputs("usage: meshnode [options]\n"
	      "  --name NAME            node name shown to peers (1..64 bytes UTF-8, no control\n"
	      "                         characters; default node-<first 8 hex digits of the ID>)\n"
	      "  --iface IFACE          interface name or IPv4 address (default: first up,\n"
	      "                         multicast, non-loopback interface)\n"
	      "  --port PORT            TCP port of the ROUTER socket (default 0 = ephemeral)\n"
	      "  --identity PATH        identity file (default $XDG_CONFIG_HOME/meshnode/identity)\n"
	      "  --mesh-key-file PATH   closed mesh: 64-hex-char key file, mode 0600\n"
	      "  --gen-mesh-key PATH    create a new mesh key file (0600) and exit\n"
	      "  --mcast-group ADDR     multicast group (default 239.192.7.7)\n"
	      "  --mcast-port PORT      multicast port (default 47474)\n"
	      "  --beacon-interval MS   default 1000\n"
	      "  --heartbeat MS         default 1000\n"
	      "  --evasive MS           default 3000\n"
	      "  --expired MS           default 10000; heartbeat < evasive < expired\n"
	      "  --group G              join G at start (repeatable)\n"
	      "  --log-level LEVEL      error|warn|info|debug (default info); logs go to stderr\n"
	      "  --json                 JSON lines on stdout, commands on stdin\n"
	      "  -h, --help             show this help\n"
	      "  -V, --version          show the version\n"
	      "Commands: /join G, /leave G, /shout G TEXT, /msg NAME TEXT, /peers, /groups,\n"
	      "/whoami, /verify NAME, /stats, /help, /quit; other lines go to the current group.\n"
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
static bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
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
 * controls. Checked here too so that a bad one is a usage error, not a runtime failure. */
static bool valid_label(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len < 1 || len > max || !json_is_text(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
			return false;
	}
	return true;
}

/* Returns -1 to go on, or the exit code (0 after --help or --version). */
static int parse_options(int argc, char **argv, struct options *o)
{
	unsigned long v;
	int c;

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
			if (!*optarg)
				return usage_error("--iface must not be empty", NULL);
			o->cfg.iface = optarg;
			break;
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
			struct in_addr addr;
			if (inet_pton(AF_INET, optarg, &addr) != 1 ||
			    (ntohl(addr.s_addr) >> 28) != 0xe)
				return usage_error("--mcast-group must be a multicast IPv4 address",
				                   optarg);
			o->cfg.mcast_group = optarg;
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
			break;
		case OPT_JSON:
			o->json = true;
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

/* ---- Terminal-safe text ------------------------------------------------------------------ */

/* Display columns of text that went through json_term(), as wcwidth() counts them: two for a
 * wide (CJK) character, none for a combining one. That needs a UTF-8 locale's tables, which
 * only terminal mode loads; elsewhere wcwidth() knows only ASCII, and any other character
 * counts one column, good enough for a table. */
static size_t text_width(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < len;) {
		size_t n = json_utf8_seq(u + i, len - i);
		int cw = n ? wcwidth((wchar_t)json_utf8_decode(u + i, n)) : -1;
		w += cw < 0 ? 1 : (size_t)cw;
		i += n ? n : 1;
	}
	return w;
}

/* Field of a fixed char array that may lack its NUL if the producer misbehaved. */
#define FIELD(arr) (arr), strnlen((arr), sizeof(arr))

/* ---- Output ------------------------------------------------------------------------------ */

static void app_stop(struct app *a, int code);

/* Before writing under the prompt: erase the prompt line. editline redraws it in ui_end(). */
static void ui_begin(struct app *a)
{
	if (a->edit_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
}

static void ui_end(struct app *a)
{
	fflush(stdout);
	fflush(stderr);
	if (a->edit_shown)
		el_set(a->el, EL_REFRESH);
}

static void color(struct app *a, const char *sgr)
{
	if (a->color) {
		json_raw(&a->out, "\033[");
		json_raw(&a->out, sgr);
		json_raw(&a->out, "m");
	}
}

static void color_off(struct app *a)
{
	if (a->color)
		json_raw(&a->out, "\033[0m");
}

/* Writes the line built in a->out to f, around the prompt. */
static void emit(struct app *a, FILE *f)
{
	ui_begin(a);
	if (a->out.failed)
		fputs("meshnode: out of memory formatting a line\n", f);
	else
		fwrite(a->out.p, 1, a->out.len, f);
	fflush(f);
	if (ferror(f)) {
		int err = errno;
		clearerr(f);
		if (f == stdout && !a->out_broken) {
			/* Nobody reads us any more (a JSON client has gone): stop, and say so in
			 * the exit code, since output was lost. */
			a->out_broken = true;
			fprintf(stderr, "meshnode: cannot write to stdout: %s\n", strerror(err));
			app_stop(a, EXIT_RUNTIME);
		}
	}
	ui_end(a);
	json_buf_clear(&a->out);
}

/* Peer names are coloured by ID, so two peers with the same name look different. */
static void put_name(struct app *a, const uint8_t id[MESHNODE_IDLEN], const char *name,
                     size_t len)
{
	static const char *const palette[] = { "32", "33", "34", "35", "36",
	                                       "92", "93", "94", "95", "96" };
	color(a, palette[id[0] % (sizeof palette / sizeof palette[0])]);
	json_term(&a->out, name, len, a->term_flags);
	color_off(a);
}

static void put_safe(struct app *a, const char *s, size_t len)
{
	json_term(&a->out, s, len, a->term_flags);
}

static void put_cstr(struct app *a, const char *s)
{
	json_term(&a->out, s, strlen(s), a->term_flags);
}

/* ---- JSON lines -------------------------------------------------------------------------- */

static void j_begin(struct app *a, const char *event)
{
	json_buf_clear(&a->out);
	json_raw(&a->out, "{\"event\":\"");
	json_raw(&a->out, event);
	json_raw(&a->out, "\"");
}

static void j_key(struct app *a, const char *key)
{
	json_raw(&a->out, ",\"");
	json_raw(&a->out, key);
	json_raw(&a->out, "\":");
}

static void j_str(struct app *a, const char *key, const char *s, size_t len)
{
	j_key(a, key);
	json_str(&a->out, s, len);
}

static void j_cstr(struct app *a, const char *key, const char *s)
{
	j_str(a, key, s ? s : "", s ? strlen(s) : 0);
}

static void j_u64(struct app *a, const char *key, uint64_t v)
{
	j_key(a, key);
	json_u64(&a->out, v);
}

static void j_end(struct app *a)
{
	json_raw(&a->out, "}\n");
	if (a->out.failed) {
		json_buf_clear(&a->out);
		json_raw(&a->out, "{\"event\":\"error\",\"message\":\"out of memory\"}\n");
	}
	emit(a, stdout);
}

/* ---- Errors ------------------------------------------------------------------------------ */

static void report_error(struct app *a, const char *msg, size_t len)
{
	if (a->mode == MODE_JSON) {
		j_begin(a, "error");
		j_str(a, "message", msg, len);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	color(a, "31");
	json_raw(&a->out, "error: ");
	json_term(&a->out, msg, len, a->term_flags);
	color_off(a);
	json_raw(&a->out, "\n");
	emit(a, stderr);
}

/* Lets the compiler check errorf()'s format strings; compilers without it lose only that. */
#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(fmt_arg, first) __attribute__((format(printf, fmt_arg, first)))
#else
#define PRINTF_LIKE(fmt_arg, first)
#endif

/* The message may quote what the user typed; report_error() makes it safe. */
static void errorf(struct app *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void errorf(struct app *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	report_error(a, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* A length for "%.*s" of something the user typed: long tokens are cut in messages. */
static int shown(size_t len)
{
	return len > 80 ? 80 : (int)len;
}

/* ---- Node events ------------------------------------------------------------------------- */

/* The fingerprint is not part of an event; the peer table has it while the peer is live. */
static void peer_fingerprint(struct app *a, const uint8_t id[MESHNODE_IDLEN], char *out,
                             size_t cap)
{
	struct meshnode_peer *peers = NULL;
	size_t count = 0;
	out[0] = '\0';
	if (meshnode_peers(a->n, &peers, &count) == MESH_OK) {
		for (size_t i = 0; i < count; i++)
			if (memcmp(peers[i].id, id, MESHNODE_IDLEN) == 0) {
				snprintf(out, cap, "%.*s", (int)strnlen(peers[i].fingerprint,
				         sizeof peers[i].fingerprint), peers[i].fingerprint);
				break;
			}
		meshnode_peers_free(&peers, count);
	}
}

static void json_event(struct app *a, const struct meshnode_event *ev)
{
	const char *reason = ev->reason ? ev->reason : "unknown";
	switch (ev->type) {
	case MESHNODE_EV_ENTER:
		j_begin(a, "enter");
		break;
	case MESHNODE_EV_EXIT:
		j_begin(a, "exit");
		break;
	case MESHNODE_EV_EVASIVE:
		j_begin(a, "evasive");
		break;
	case MESHNODE_EV_JOIN:
		j_begin(a, "join");
		break;
	case MESHNODE_EV_LEAVE:
		j_begin(a, "leave");
		break;
	case MESHNODE_EV_SHOUT:
		j_begin(a, "shout");
		break;
	case MESHNODE_EV_WHISPER:
		j_begin(a, "whisper");
		break;
	case MESHNODE_EV_DROPPED:
		j_begin(a, "dropped");
		break;
	case MESHNODE_EV_ERROR:
		j_begin(a, "error");
		j_cstr(a, "message", reason);
		j_end(a);
		return;
	default:
		return;
	}
	j_str(a, "peer", FIELD(ev->peer_hex));
	j_str(a, "name", FIELD(ev->name));
	switch (ev->type) {
	case MESHNODE_EV_ENTER:
		j_str(a, "endpoint", FIELD(ev->endpoint));
		break;
	case MESHNODE_EV_EXIT:
		j_cstr(a, "reason", reason);
		break;
	case MESHNODE_EV_JOIN:
	case MESHNODE_EV_LEAVE:
		j_str(a, "group", FIELD(ev->group));
		break;
	case MESHNODE_EV_SHOUT:
	case MESHNODE_EV_WHISPER:
		if (ev->type == MESHNODE_EV_SHOUT)
			j_str(a, "group", FIELD(ev->group));
		j_u64(a, "id", ev->msg_id);
		if (json_is_text(ev->data, ev->len)) {
			j_str(a, "text", (const char *)ev->data, ev->len);
		} else {
			j_key(a, "data");
			json_base64(&a->out, ev->data, ev->len);
		}
		break;
	case MESHNODE_EV_DROPPED:
		j_u64(a, "id", ev->msg_id);
		if (ev->group[0])
			j_str(a, "group", FIELD(ev->group));
		j_cstr(a, "reason", reason);
		break;
	default:
		break;
	}
	j_end(a);
}

static void human_payload(struct app *a, const uint8_t *data, size_t len)
{
	if (json_is_text(data, len)) {
		json_term(&a->out, data, len, a->term_flags | JSON_TERM_MULTILINE);
	} else {
		json_raw(&a->out, "(");
		json_u64(&a->out, len);
		json_raw(&a->out, " bytes of binary data)");
	}
}

static void human_event(struct app *a, const struct meshnode_event *ev)
{
	const char *reason = ev->reason ? ev->reason : "unknown";
	FILE *f = stdout;

	json_buf_clear(&a->out);
	switch (ev->type) {
	case MESHNODE_EV_ENTER: {
		char fp[64];
		peer_fingerprint(a, ev->peer, fp, sizeof fp);
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, " entered (");
		if (fp[0])
			put_cstr(a, fp);
		else
			put_safe(a, ev->peer_hex, ID_SHORT);
		json_raw(&a->out, ")");
		break;
	}
	case MESHNODE_EV_EXIT:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, " left (");
		put_cstr(a, reason);
		json_raw(&a->out, ")");
		break;
	case MESHNODE_EV_EVASIVE:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, " is silent (evasive)");
		break;
	case MESHNODE_EV_JOIN:
	case MESHNODE_EV_LEAVE:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, ev->type == MESHNODE_EV_JOIN ? " joined [" : " left [");
		put_safe(a, FIELD(ev->group));
		json_raw(&a->out, "]");
		break;
	case MESHNODE_EV_SHOUT:
		json_raw(&a->out, "[");
		put_safe(a, FIELD(ev->group));
		json_raw(&a->out, "] ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, ": ");
		human_payload(a, ev->data, ev->len);
		break;
	case MESHNODE_EV_WHISPER:
		json_raw(&a->out, "-> (whisper) ");
		put_name(a, ev->peer, FIELD(ev->name));
		json_raw(&a->out, ": ");
		human_payload(a, ev->data, ev->len);
		break;
	case MESHNODE_EV_DROPPED:
		color(a, "33");
		if (ev->group[0]) {
			json_raw(&a->out, "! shout ");
			json_u64(&a->out, ev->msg_id);
			json_raw(&a->out, " to [");
			put_safe(a, FIELD(ev->group));
			json_raw(&a->out, "]");
		} else {
			json_raw(&a->out, "! whisper ");
			json_u64(&a->out, ev->msg_id);
		}
		json_raw(&a->out, " was not delivered to ");
		put_safe(a, FIELD(ev->name));
		json_raw(&a->out, " (");
		put_cstr(a, reason);
		json_raw(&a->out, ")");
		color_off(a);
		break;
	case MESHNODE_EV_ERROR:
		f = stderr;
		color(a, "31");
		json_raw(&a->out, "error: ");
		put_cstr(a, reason);
		color_off(a);
		break;
	default:
		return;
	}
	json_raw(&a->out, "\n");
	emit(a, f);
}

static void print_event(struct app *a, const struct meshnode_event *ev)
{
	if (a->mode == MODE_JSON)
		json_event(a, ev);
	else
		human_event(a, ev);
}

/* Prints up to max events (all with max < 0) and returns how many there were. */
static int drain_events(struct app *a, int max)
{
	int i = 0;
	for (; max < 0 || i < max; i++) {
		struct meshnode_event *ev = meshnode_next_event(a->n, 0);
		if (!ev)
			break;
		if (ev->type == MESHNODE_EV_ERROR)
			snprintf(a->last_error, sizeof a->last_error, "%s",
			         ev->reason ? ev->reason : "unknown");
		print_event(a, ev);
		meshnode_event_destroy(&ev);
	}
	return i;
}

/* ---- Prompt ------------------------------------------------------------------------------ */

static void update_prompt(struct app *a)
{
	if (a->mode != MODE_TTY)
		return;
	if (a->current[0]) {
		struct json_buf b;
		json_buf_init(&b);
		json_raw(&b, "[");
		json_term(&b, a->current, strlen(a->current), a->term_flags);
		json_raw(&b, "]> ");
		if (!b.failed && b.len < sizeof a->prompt)
			memcpy(a->prompt, b.p, b.len + 1);
		else
			snprintf(a->prompt, sizeof a->prompt, "> ");
		json_buf_free(&b);
	} else {
		snprintf(a->prompt, sizeof a->prompt, "> ");
	}
	/* editline asks prompt_of() for the prompt each time it draws it. */
}

static void set_current(struct app *a, const char *group)
{
	snprintf(a->current, sizeof a->current, "%s", group);
	update_prompt(a);
}

/* ---- Command line parsing ---------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct slice skip_blanks(struct slice s)
{
	while (s.len && is_blank(*s.p)) {
		s.p++;
		s.len--;
	}
	return s;
}

/* Takes the next blank-separated token; *s is left at the blank after it. */
static struct slice take_token(struct slice *s)
{
	*s = skip_blanks(*s);
	struct slice t = { s->p, 0 };
	while (t.len < s->len && !is_blank(s->p[t.len]))
		t.len++;
	s->p += t.len;
	s->len -= t.len;
	return t;
}

/* The message after a token: exactly one separating blank is dropped, so a message keeps
 * any leading spaces it has. */
static struct slice take_text(struct slice *s)
{
	struct slice t = *s;
	if (t.len && is_blank(*t.p)) {
		t.p++;
		t.len--;
	}
	s->p += s->len;
	s->len = 0;
	return t;
}

static struct slice trim(struct slice s)
{
	s = skip_blanks(s);
	while (s.len && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static bool all_blank(struct slice s)
{
	return skip_blanks(s).len == 0;
}

/* Copies a group argument into out; reports and returns false if it cannot be one. */
static bool group_arg(struct app *a, struct slice t, char out[MESHNODE_MAX_GROUP + 1],
                      const char *usage)
{
	if (t.len == 0) {
		errorf(a, "usage: %s", usage);
		return false;
	}
	if (t.len > MESHNODE_MAX_GROUP || memchr(t.p, '\0', t.len)) {
		errorf(a, "group names are 1..%d bytes of UTF-8 without control characters",
		       MESHNODE_MAX_GROUP);
		return false;
	}
	memcpy(out, t.p, t.len);
	out[t.len] = '\0';
	return true;
}

static bool hex_token(struct slice t)
{
	if (t.len < HEX_PREFIX_MIN || t.len > 2 * MESHNODE_IDLEN)
		return false;
	for (size_t i = 0; i < t.len; i++)
		if (!strchr("0123456789abcdefABCDEF", t.p[i]) || t.p[i] == '\0')
			return false;
	return true;
}

static bool hex_prefix_of(struct slice t, const char *hex)
{
	for (size_t i = 0; i < t.len; i++) {
		char c = t.p[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (hex[i] != c)
			return false;
	}
	return true;
}

/* Lists the peers that what could name; hint (or NULL) says how to pick one. */
static void report_ambiguous(struct app *a, struct slice what, const struct meshnode_peer *peers,
                             const size_t *idx, size_t nidx, const char *hint)
{
	struct json_buf m;
	json_buf_init(&m);
	json_raw(&m, "ambiguous name '");
	json_raw_n(&m, what.p, what.len);
	json_raw(&m, "': ");
	for (size_t i = 0; i < nidx; i++) {
		const struct meshnode_peer *p = &peers[idx[i]];
		if (i)
			json_raw(&m, ", ");
		json_raw_n(&m, FIELD(p->name));
		json_raw(&m, " (");
		json_raw_n(&m, p->id_hex, ID_SHORT);
		json_raw(&m, "...)");
	}
	if (hint)
		json_raw(&m, hint);
	if (m.failed)
		errorf(a, "ambiguous name '%.*s'", shown(what.len), what.p);
	else
		report_error(a, m.p, m.len);
	json_buf_free(&m);
}

/*
 * Takes the PEER argument of /msg or /verify off the front of *s (docs/usage.md, "PEER"): a
 * name in double quotes, which may hold blanks and ends at the next '"', or else the first
 * word. We never guess where a name with blanks ends from the peers we know: with peers "bob"
 * and "bob the", "/msg bob the code is 1234" must not become "code is 1234" for "bob the".
 * Returns false after reporting a malformed argument.
 */
static bool take_peer_arg(struct app *a, struct slice *s, struct slice *out, bool *quoted)
{
	*s = skip_blanks(*s);
	*quoted = s->len && s->p[0] == '"';
	if (!*quoted) {
		*out = take_token(s);
		return true;
	}
	const char *close = memchr(s->p + 1, '"', s->len - 1);
	if (!close) {
		errorf(a, "the quoted peer name has no closing '\"'");
		return false;
	}
	out->p = s->p + 1;
	out->len = (size_t)(close - out->p);
	size_t used = out->len + 2;
	if (out->len == 0) {
		errorf(a, "empty peer name \"\"");
		return false;
	}
	if (used < s->len && !is_blank(s->p[used])) {
		errorf(a, "a blank must follow the closing '\"' of the peer name");
		return false;
	}
	s->p += used;
	s->len -= used;
	return true;
}

static bool name_is(const struct meshnode_peer *p, struct slice what)
{
	size_t nl = strnlen(p->name, sizeof p->name);
	return nl == what.len && nl > 0 && memcmp(p->name, what.p, nl) == 0;
}

/* p's name is what, a blank, and more: what someone might type unquoted, wanting p. */
static bool name_extends(const struct meshnode_peer *p, struct slice what)
{
	size_t nl = strnlen(p->name, sizeof p->name);
	return nl > what.len && what.len > 0 && memcmp(p->name, what.p, what.len) == 0 &&
	       is_blank(p->name[what.len]);
}

/*
 * Finds the peer that the argument what (from take_peer_arg()) names: by exact name, else,
 * unquoted, as a hex prefix (>= 4 digits) of its ID. With text_follows (/msg), an unquoted name
 * is refused when another peer's name starts with it and a blank, since the user may have
 * meant that one and its first word would then be sent as text. On success copies the peer
 * into *out (without its groups) and returns true; otherwise reports why.
 */
static bool resolve_peer(struct app *a, struct slice what, bool quoted, bool text_follows,
                         struct meshnode_peer *out)
{
	struct meshnode_peer *peers = NULL;
	size_t count = 0, *idx = NULL, nidx = 0;
	bool ok = false, longer = false;

	enum mesh_err rc = meshnode_peers(a->n, &peers, &count);
	if (rc != MESH_OK) {
		errorf(a, "cannot list peers: %s", meshnode_strerror(rc));
		return false;
	}
	idx = calloc(count ? count : 1, sizeof *idx);
	if (!idx) {
		errorf(a, "out of memory");
		goto done;
	}

	for (size_t i = 0; i < count; i++)
		if (name_is(&peers[i], what))
			idx[nidx++] = i;
	for (size_t i = 0; !quoted && i < count && !longer; i++)
		longer = name_extends(&peers[i], what);

	if (nidx > 0 && longer && text_follows) {
		for (size_t i = 0; i < count; i++)
			if (name_extends(&peers[i], what))
				idx[nidx++] = i;
		report_ambiguous(a, what, peers, idx, nidx,
		                 "; put a name with blanks in double quotes (/msg \"NAME\" TEXT) "
		                 "or use an ID prefix");
		goto done;
	}
	if (nidx == 0 && !quoted && hex_token(what))
		for (size_t i = 0; i < count; i++)
			if (hex_prefix_of(what, peers[i].id_hex))
				idx[nidx++] = i;

	if (nidx == 1) {
		*out = peers[idx[0]];
		out->groups = NULL;
		out->ngroups = 0;
		ok = true;
	} else if (nidx > 1) {
		report_ambiguous(a, what, peers, idx, nidx, NULL);
	} else if (longer) {
		errorf(a, "no peer named '%.*s' (put a name with blanks in double quotes)",
		       shown(what.len), what.p);
	} else {
		errorf(a, "no peer named '%.*s'", shown(what.len), what.p);
	}
done:
	free(idx);
	meshnode_peers_free(&peers, count);
	return ok;
}

/* ---- Commands ---------------------------------------------------------------------------- */

static void reply_group(struct app *a, const char *event, const char *group)
{
	if (a->mode == MODE_JSON) {
		j_begin(a, event);
		j_cstr(a, "group", group);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, strcmp(event, "joined") == 0 ? "* you joined [" : "* you left [");
	put_cstr(a, group);
	json_raw(&a->out, "]\n");
	emit(a, stdout);
}

static void do_join(struct app *a, const char *g)
{
	enum mesh_err rc = meshnode_join(a->n, g);
	switch (rc) {
	case MESH_OK:
		set_current(a, g);
		reply_group(a, "joined", g);
		break;
	case MESH_ESTATE:
		errorf(a, "already in group '%s'", g);
		break;
	case MESH_ELIMIT:
		errorf(a, "cannot join '%s': at most %d groups", g, MESHNODE_MAX_GROUPS);
		break;
	case MESH_EINVAL:
		errorf(a, "cannot join '%s': group names are 1..%d bytes of UTF-8 without control "
		       "characters", g, MESHNODE_MAX_GROUP);
		break;
	default:
		errorf(a, "cannot join '%s': %s", g, meshnode_strerror(rc));
		break;
	}
}

static void cmd_join(struct app *a, struct slice args)
{
	char g[MESHNODE_MAX_GROUP + 1];
	if (group_arg(a, trim(args), g, "/join GROUP"))
		do_join(a, g);
}

static void cmd_leave(struct app *a, struct slice args)
{
	char g[MESHNODE_MAX_GROUP + 1];
	if (!group_arg(a, trim(args), g, "/leave GROUP"))
		return;
	enum mesh_err rc = meshnode_leave(a->n, g);
	if (rc == MESH_ESTATE) {
		errorf(a, "not in group '%s'", g);
		return;
	}
	if (rc != MESH_OK) {
		errorf(a, "cannot leave '%s': %s", g, meshnode_strerror(rc));
		return;
	}
	if (strcmp(a->current, g) == 0) {
		/* Lines without a command now go to the first group still joined, if any. */
		char **groups = NULL;
		size_t count = 0;
		if (meshnode_groups(a->n, &groups, &count) == MESH_OK && count > 0)
			set_current(a, groups[0]);
		else
			set_current(a, "");
		meshnode_groups_free(&groups, count);
	}
	reply_group(a, "left", g);
}

static bool payload_fits(struct app *a, size_t len)
{
	if (len == 0) {
		errorf(a, "nothing to send");
		return false;
	}
	if (len > MESHNODE_MAX_PAYLOAD) {
		errorf(a, "message too long: %zu bytes, at most %u", len, MESHNODE_MAX_PAYLOAD);
		return false;
	}
	return true;
}

static void do_shout(struct app *a, const char *g, struct slice text)
{
	uint64_t id = 0;
	if (!payload_fits(a, text.len))
		return;
	enum mesh_err rc = meshnode_shout(a->n, g, text.p, text.len, &id);
	if (rc != MESH_OK) {
		errorf(a, "cannot shout to '%s': %s", g, meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "sent");
		j_cstr(a, "kind", "shout");
		j_cstr(a, "group", g);
		j_u64(a, "id", id);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	color(a, "2");
	json_raw(&a->out, "[");
	put_cstr(a, g);
	json_raw(&a->out, "] ");
	put_cstr(a, meshnode_name(a->n));
	json_raw(&a->out, ": ");
	human_payload(a, (const uint8_t *)text.p, text.len);
	color_off(a);
	json_raw(&a->out, "\n");
	emit(a, stdout);
}

static void cmd_shout(struct app *a, struct slice args)
{
	char g[MESHNODE_MAX_GROUP + 1];
	struct slice t = take_token(&args);
	if (!group_arg(a, t, g, "/shout GROUP TEXT"))
		return;
	struct slice text = take_text(&args);
	if (text.len == 0) {
		errorf(a, "usage: /shout GROUP TEXT");
		return;
	}
	do_shout(a, g, text);
}

static void cmd_msg(struct app *a, struct slice args)
{
	struct meshnode_peer p;
	struct slice who;
	bool quoted;
	uint64_t id = 0;

	if (all_blank(args)) {
		errorf(a, "usage: /msg NAME TEXT");
		return;
	}
	if (!take_peer_arg(a, &args, &who, &quoted))
		return;
	struct slice text = take_text(&args);
	if (text.len == 0) {
		errorf(a, "usage: /msg NAME TEXT");
		return;
	}
	if (!payload_fits(a, text.len))
		return;
	if (!resolve_peer(a, who, quoted, true, &p))
		return;
	enum mesh_err rc = meshnode_whisper(a->n, p.id, text.p, text.len, &id);
	if (rc == MESH_ENOTFOUND) {
		errorf(a, "peer '%s' is gone", p.name);
		return;
	}
	if (rc != MESH_OK) {
		errorf(a, "cannot whisper to '%s': %s", p.name, meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "sent");
		j_cstr(a, "kind", "whisper");
		j_str(a, "peer", FIELD(p.id_hex));
		j_u64(a, "id", id);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	color(a, "2");
	json_raw(&a->out, "(whisper to ");
	put_safe(a, FIELD(p.name));
	json_raw(&a->out, ") ");
	human_payload(a, (const uint8_t *)text.p, text.len);
	color_off(a);
	json_raw(&a->out, "\n");
	emit(a, stdout);
}

static void cmd_verify(struct app *a, struct slice args)
{
	struct meshnode_peer p;
	struct slice who;
	bool quoted;
	char sas[32];

	if (all_blank(args)) {
		errorf(a, "usage: /verify NAME");
		return;
	}
	if (!take_peer_arg(a, &args, &who, &quoted))
		return;
	if (!all_blank(args)) {
		errorf(a, "usage: /verify NAME (put a name with blanks in double quotes)");
		return;
	}
	if (!resolve_peer(a, who, quoted, false, &p))
		return;
	enum mesh_err rc = meshnode_sas(a->n, p.id, sas);
	if (rc != MESH_OK) {
		errorf(a, "no security code for '%s': %s", p.name, meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "verify");
		j_str(a, "peer", FIELD(p.id_hex));
		j_str(a, "name", FIELD(p.name));
		j_str(a, "sas", FIELD(sas));
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "Security code of your link with ");
	put_name(a, p.id, FIELD(p.name));
	json_raw(&a->out, " (");
	put_safe(a, FIELD(p.fingerprint));
	json_raw(&a->out, "):\n    ");
	color(a, "1");
	put_safe(a, FIELD(sas));
	color_off(a);
	json_raw(&a->out, "\nCompare it with ");
	put_safe(a, FIELD(p.name));
	json_raw(&a->out, " out of band (in person or on the phone, not through this chat):\n"
	         "their /verify for you must show the same code. If it differs, someone is in\n"
	         "the middle: do not trust this link.\n");
	emit(a, stdout);
}

static void peers_json(struct app *a, const struct meshnode_peer *peers, size_t count)
{
	j_begin(a, "peers");
	j_key(a, "peers");
	json_raw(&a->out, "[");
	for (size_t i = 0; i < count; i++) {
		const struct meshnode_peer *p = &peers[i];
		json_raw(&a->out, i ? ",{\"peer\":" : "{\"peer\":");
		json_str(&a->out, FIELD(p->id_hex));
		j_str(a, "name", FIELD(p->name));
		j_str(a, "endpoint", FIELD(p->endpoint));
		j_key(a, "evasive");
		json_bool(&a->out, p->evasive);
		j_key(a, "groups");
		json_raw(&a->out, "[");
		for (size_t g = 0; g < p->ngroups; g++) {
			if (g)
				json_raw(&a->out, ",");
			json_str(&a->out, FIELD(p->groups[g]));
		}
		json_raw(&a->out, "]");
		j_u64(a, "sid", p->local_sid);
		j_key(a, "initiator");
		json_bool(&a->out, p->initiator);
		j_u64(a, "queued", p->queued_msgs);
		json_raw(&a->out, "}");
	}
	json_raw(&a->out, "]");
	j_end(a);
}

enum { COL_NAME, COL_FP, COL_ENDPOINT, COL_GROUPS, COL_STATE, NCOLS };

/* Builds the terminal-safe text of one cell of the /peers table into b. */
static void peer_cell(struct json_buf *b, const struct meshnode_peer *p, int col, unsigned flags)
{
	json_buf_clear(b);
	switch (col) {
	case COL_NAME:
		json_term(b, FIELD(p->name), flags);
		break;
	case COL_FP:
		json_term(b, FIELD(p->fingerprint), flags);
		break;
	case COL_ENDPOINT:
		json_term(b, FIELD(p->endpoint), flags);
		break;
	case COL_GROUPS:
		for (size_t g = 0; g < p->ngroups; g++) {
			if (g)
				json_raw(b, ",");
			json_term(b, FIELD(p->groups[g]), flags);
		}
		if (p->ngroups == 0)
			json_raw(b, "-");
		break;
	default:
		json_raw(b, p->evasive ? "evasive" : "live");
		if (p->queued_msgs) {
			json_raw(b, ", ");
			json_u64(b, p->queued_msgs);
			json_raw(b, " queued");
		}
		break;
	}
}

static void peers_table(struct app *a, const struct meshnode_peer *peers, size_t count)
{
	static const char *const head[NCOLS] = { "NAME", "FINGERPRINT", "ENDPOINT", "GROUPS",
	                                         "STATE" };
	size_t width[NCOLS];
	struct json_buf *c = &a->scratch;

	json_buf_clear(&a->out);
	if (count == 0) {
		json_raw(&a->out, "(no peers)\n");
		emit(a, stdout);
		return;
	}
	for (int k = 0; k < NCOLS; k++)
		width[k] = strlen(head[k]);
	for (size_t i = 0; i < count; i++)
		for (int k = 0; k < NCOLS; k++) {
			peer_cell(c, &peers[i], k, a->term_flags);
			size_t w = text_width(c->p ? c->p : "", c->len);
			if (w > width[k])
				width[k] = w;
		}

	color(a, "1");
	for (int k = 0; k < NCOLS; k++) {
		json_raw(&a->out, head[k]);
		for (size_t w = strlen(head[k]); k + 1 < NCOLS && w < width[k] + 2; w++)
			json_raw(&a->out, " ");
	}
	color_off(a);
	json_raw(&a->out, "\n");
	for (size_t i = 0; i < count; i++) {
		for (int k = 0; k < NCOLS; k++) {
			peer_cell(c, &peers[i], k, a->term_flags);
			size_t w = text_width(c->p ? c->p : "", c->len);
			if (k == COL_NAME)
				put_name(a, peers[i].id, FIELD(peers[i].name)); /* by ID */
			else
				json_raw_n(&a->out, c->p ? c->p : "", c->len);
			for (; k + 1 < NCOLS && w < width[k] + 2; w++)
				json_raw(&a->out, " ");
		}
		json_raw(&a->out, "\n");
	}
	json_buf_clear(c);
	emit(a, stdout);
}

static void cmd_peers(struct app *a, struct slice args)
{
	struct meshnode_peer *peers = NULL;
	size_t count = 0;
	(void)args;
	enum mesh_err rc = meshnode_peers(a->n, &peers, &count);
	if (rc != MESH_OK) {
		errorf(a, "cannot list peers: %s", meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON)
		peers_json(a, peers, count);
	else
		peers_table(a, peers, count);
	meshnode_peers_free(&peers, count);
}

static void cmd_groups(struct app *a, struct slice args)
{
	char **groups = NULL;
	size_t count = 0;
	(void)args;
	enum mesh_err rc = meshnode_groups(a->n, &groups, &count);
	if (rc != MESH_OK) {
		errorf(a, "cannot list groups: %s", meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "groups");
		j_key(a, "groups");
		json_raw(&a->out, "[");
		for (size_t i = 0; i < count; i++) {
			if (i)
				json_raw(&a->out, ",");
			json_cstr(&a->out, groups[i]);
		}
		json_raw(&a->out, "]");
		j_end(a);
	} else {
		json_buf_clear(&a->out);
		if (count == 0)
			json_raw(&a->out, "(no groups; /join GROUP)");
		for (size_t i = 0; i < count; i++) {
			if (i)
				json_raw(&a->out, ", ");
			json_raw(&a->out, "[");
			put_cstr(a, groups[i]);
			json_raw(&a->out, "]");
			if (strcmp(groups[i], a->current) == 0)
				json_raw(&a->out, " (current)");
		}
		json_raw(&a->out, "\n");
		emit(a, stdout);
	}
	meshnode_groups_free(&groups, count);
}

static void cmd_whoami(struct app *a, struct slice args)
{
	const char *endpoint = meshnode_endpoint(a->n);
	(void)args;
	if (a->mode == MODE_JSON) {
		j_begin(a, "whoami");
		j_cstr(a, "id", meshnode_id_hex(a->n));
		j_cstr(a, "name", meshnode_name(a->n));
		j_cstr(a, "fingerprint", meshnode_fingerprint(a->n));
		j_cstr(a, "endpoint", endpoint);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "you are ");
	put_name(a, meshnode_id(a->n), meshnode_name(a->n), strlen(meshnode_name(a->n)));
	json_raw(&a->out, "\n  id:          ");
	put_cstr(a, meshnode_id_hex(a->n));
	json_raw(&a->out, "\n  fingerprint: ");
	put_cstr(a, meshnode_fingerprint(a->n));
	json_raw(&a->out, "\n  endpoint:    ");
	put_cstr(a, endpoint ? endpoint : "");
	json_raw(&a->out, "\n");
	emit(a, stdout);
}

/* Every counter of struct meshnode_stats, in order: one list so JSON and text stay complete. */
#define STATS_FIELDS(X) \
	X(beacons_rx) X(beacons_bad) X(beacons_stale) X(beacons_foreign) \
	X(frames_bad) X(frames_unknown_sid) X(frames_auth_failed) X(frames_replayed) \
	X(hellos_limited) X(handshakes_failed) X(handshakes_done) X(sessions_rejected) \
	X(msgs_bad) X(msgs_unknown_type) X(msgs_dup) X(fragments_dropped) \
	X(sessions_live)

static void cmd_stats(struct app *a, struct slice args)
{
	struct meshnode_stats st;
	(void)args;
	memset(&st, 0, sizeof st);
	enum mesh_err rc = meshnode_stats(a->n, &st);
	if (rc != MESH_OK) {
		errorf(a, "cannot read stats: %s", meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "stats");
#define X(f) j_u64(a, #f, st.f);
		STATS_FIELDS(X)
#undef X
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
#define X(f) \
	json_raw(&a->out, "  " #f); \
	for (size_t w = sizeof #f; w < 22; w++) \
		json_raw(&a->out, " "); \
	json_u64(&a->out, st.f); \
	json_raw(&a->out, "\n");
	STATS_FIELDS(X)
#undef X
	emit(a, stdout);
}

static const char help_text[] =
	"/join GROUP          join GROUP and make it the current group\n"
	"/leave GROUP         leave GROUP\n"
	"/shout GROUP TEXT    send TEXT to every member of GROUP\n"
	"/msg NAME TEXT       send TEXT to one peer: NAME, \"NAME WITH BLANKS\" in double\n"
	"                     quotes, or 4+ hex digits of its ID\n"
	"/peers               list the peers with a live link\n"
	"/groups              list your groups\n"
	"/whoami              show your ID, name, fingerprint and endpoint\n"
	"/verify NAME         show the security code of your link with a peer\n"
	"/stats               show the node's drop counters\n"
	"/help                show this list\n"
	"/quit                leave the mesh and exit\n"
	"Any other line is sent to the current group.\n";

static void cmd_help(struct app *a, struct slice args)
{
	(void)args;
	/* The JSON contract has no help reply, so in --json mode the text goes to stderr. */
	json_buf_clear(&a->out);
	json_raw(&a->out, help_text);
	emit(a, a->mode == MODE_JSON ? stderr : stdout);
}

static void cmd_quit(struct app *a, struct slice args)
{
	(void)args;
	app_stop(a, EXIT_OK);
}

struct command {
	const char *name;          /* with its slash, as typed */
	void (*run)(struct app *a, struct slice args);
};

static const struct command commands[] = {
	{ "/join", cmd_join },     { "/leave", cmd_leave },   { "/shout", cmd_shout },
	{ "/msg", cmd_msg },       { "/peers", cmd_peers },   { "/groups", cmd_groups },
	{ "/whoami", cmd_whoami }, { "/verify", cmd_verify }, { "/stats", cmd_stats },
	{ "/help", cmd_help },     { "/quit", cmd_quit },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void handle_line(struct app *a, const char *line, size_t len)
{
	struct slice s = { line, len };

	if (all_blank(s))
		return;
	if (line[0] != '/') {
		if (!a->current[0]) {
			errorf(a, "no current group: /join GROUP first, or use /shout GROUP TEXT");
			return;
		}
		do_shout(a, a->current, s);
		return;
	}
	struct slice cmd = take_token(&s);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i].name) == cmd.len &&
		    memcmp(commands[i].name, cmd.p, cmd.len) == 0) {
			commands[i].run(a, s);
			return;
		}
	errorf(a, "unknown command '%.*s'; /help lists the commands", shown(cmd.len), cmd.p);
}

/* ---- Reading lines without editline ------------------------------------------------------ */

static void linebuf_free(struct linebuf *lb)
{
	if (lb->p) {
		sodium_memzero(lb->p, lb->cap);
		free(lb->p);
	}
	memset(lb, 0, sizeof *lb);
}

/* Room for READ_CHUNK more bytes; the old buffer is wiped, as it may hold plaintext. */
static bool linebuf_reserve(struct linebuf *lb)
{
	if (lb->cap - lb->len >= READ_CHUNK)
		return true;
	size_t cap = lb->cap ? lb->cap * 2 : 4 * READ_CHUNK;
	while (cap - lb->len < READ_CHUNK)
		cap *= 2;
	char *p = malloc(cap);
	if (!p)
		return false;
	if (lb->p) {
		memcpy(p, lb->p, lb->len);
		sodium_memzero(lb->p, lb->cap);
		free(lb->p);
	}
	lb->p = p;
	lb->cap = cap;
	return true;
}

static void run_input_line(struct app *a, char *line, size_t len)
{
	/* Tolerate CRLF from Windows-made input. */
	if (len && line[len - 1] == '\r')
		len--;
	handle_line(a, line, len);
}

/* Reads what stdin has (one read(), so it cannot block after poll said readable) and runs
 * every complete line. */
static void read_stdin(struct app *a)
{
	struct linebuf *lb = &a->in;

	if (!linebuf_reserve(lb)) {
		errorf(a, "out of memory reading input");
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
		lb->discarding = true;
		return;
	}
	ssize_t r = read(STDIN_FILENO, lb->p + lb->len, lb->cap - lb->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		/* EOF (or a read error, which we treat the same): run an unterminated last line. */
		if (lb->len && !lb->discarding && a->running)
			run_input_line(a, lb->p, lb->len);
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
		a->stdin_open = false;
		if (a->running)
			app_stop(a, EXIT_OK);
		return;
	}
	lb->len += (size_t)r;

	size_t start = 0;
	while (a->running) {
		char *nl = memchr(lb->p + lb->scanned, '\n', lb->len - lb->scanned);
		if (!nl)
			break;
		size_t end = (size_t)(nl - lb->p);
		if (lb->discarding)
			lb->discarding = false;
		else
			run_input_line(a, lb->p + start, end - start);
		start = end + 1;
		lb->scanned = start;
	}
	if (!a->running)
		return;
	/* Keep the partial last line at the front. */
	size_t rest = lb->len - start;
	if (start) {
		memmove(lb->p, lb->p + start, rest);
		sodium_memzero(lb->p + rest, lb->len - rest);
	}
	lb->len = rest;
	lb->scanned = rest;
	if (lb->discarding || rest > INPUT_LINE_MAX) {
		if (!lb->discarding)
			errorf(a, "input line longer than %u bytes ignored", INPUT_LINE_MAX);
		lb->discarding = true;
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
	}
}

/* ---- editline ---------------------------------------------------------------------------- */

/*
 * editline works in wide characters, decoded in the locale that main() set; the rest of the
 * program in UTF-8. A finished line is converted as it leaves editline (edit_read()). Tab
 * completion (on_tab()) is ours, not editline's file-name completion: it converts the line up to
 * the cursor to UTF-8, matches there in bytes, and puts the completion back as wide characters,
 * replacing what was typed counted in characters. It converts the completion before it deletes
 * anything, so that a completion the line cannot hold never costs what was typed.
 */

static struct app *app_of(EditLine *el)
{
	void *a = NULL;
	el_get(el, EL_CLIENTDATA, &a);
	return a;
}

/* editline draws the prompt from here each time, decoding it in the locale: a->prompt went
 * through json_term(), so it is UTF-8 in a UTF-8 locale and ASCII otherwise. */
static char *prompt_of(EditLine *el)
{
	return app_of(el)->prompt;
}

/* One character as UTF-8 in out (returns 1..4). wchar_t holds its code point whatever the
 * locale's charset (__STDC_ISO_10646__), so a line typed under ISO 8859-1 goes out as UTF-8
 * too. What is not a Unicode scalar value becomes U+FFFD. */
static size_t wc_utf8(wchar_t wc, char out[static 4])
{
	long v = (long)wc;
	uint32_t c = v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffdu : (uint32_t)v;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* n characters from editline as UTF-8 on the heap, NUL-terminated, *len bytes; NULL when out
 * of memory. It may hold a message: the caller wipes *len bytes before freeing it. */
static char *wide_utf8(const wchar_t *w, size_t n, size_t *len)
{
	if (n > (SIZE_MAX - 1) / 4)
		return NULL;
	char *s = malloc(4 * n + 1);
	if (!s)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += wc_utf8(w[i], s + k);
	s[k] = '\0';
	*len = k;
	return s;
}

/* len bytes of well-formed UTF-8 as NUL-terminated wide characters on the heap; NULL when out
 * of memory or when s is not well-formed. */
static wchar_t *utf8_wide(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	wchar_t *w = calloc(len + 1, sizeof *w);
	size_t k = 0;
	for (size_t i = 0; w && i < len;) {
		size_t n = json_utf8_seq(u + i, len - i);
		if (n == 0) {
			free(w);
			return NULL;
		}
		w[k++] = (wchar_t)json_utf8_decode(u + i, n);
		i += n;
	}
	return w;
}

/* Characters in UTF-8 that wide_utf8() wrote: one per byte that does not continue one. */
static size_t utf8_chars(struct slice s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += ((unsigned char)s.p[i] & 0xc0) != 0x80;
	return n;
}

static void free_candidates(struct app *a)
{
	for (size_t i = 0; i < a->ncand; i++)
		free(a->cand[i]);
	free(a->cand);
	a->cand = NULL;
	a->ncand = 0;
}

/* Adds s (not NUL-terminated, len bytes) unless it is there already or is not something
 * json_term() would show as it is on this terminal: a candidate goes into the edit line, and
 * a second Tab lists the candidates on the terminal raw. */
static void add_candidate(struct app *a, const char *s, size_t len)
{
	if (len == 0 || !json_term_clean(s, len, a->term_flags))
		return;
	for (size_t i = 0; i < a->ncand; i++)
		if (strlen(a->cand[i]) == len && memcmp(a->cand[i], s, len) == 0)
			return;
	char **c = realloc(a->cand, (a->ncand + 1) * sizeof *c);
	if (!c)
		return;
	a->cand = c;
	char *dup = malloc(len + 1);
	if (!dup)
		return;
	memcpy(dup, s, len);
	dup[len] = '\0';
	a->cand[a->ncand++] = dup;
}

/* A name that take_peer_arg() reads back only in double quotes. */
static bool needs_quotes(const char *name)
{
	return name[0] == '"' || strchr(name, ' ') || strchr(name, '\t');
}

/* Peer names go in as they are; candidate_form() quotes them. A name that needs quotes but
 * holds a quote cannot be typed at all (only an ID prefix names that peer), so it is not
 * offered. */
static void add_peer_candidate(struct app *a, const char *name, size_t len)
{
	char n[MESHNODE_MAX_NAME + 1];
	if (len == 0 || len > MESHNODE_MAX_NAME)
		return;
	memcpy(n, name, len);
	n[len] = '\0';
	if (needs_quotes(n) && strchr(n, '"'))
		return;
	add_candidate(a, n, len);
}

static bool starts_with(const char *s, struct slice prefix)
{
	return strlen(s) >= prefix.len && memcmp(s, prefix.p, prefix.len) == 0;
}

/* What candidate c puts in place of the argument typed so far: c itself, or for a peer name
 * "c" in quotes; NULL if c does not complete typed. */
static char *candidate_form(const struct app *a, const char *c, struct slice typed,
                            bool quote_all)
{
	size_t cl = strlen(c);
	bool typed_quote = typed.len && typed.p[0] == '"';
	bool quoted = false;
	if (a->cand_peers) {
		quoted = typed_quote ? !strchr(c, '"') : needs_quotes(c) || (quote_all && !strchr(c, '"'));
		if (typed_quote && !quoted)
			return NULL;                /* a name holding a quote cannot be quoted */
	}
	size_t fl = cl + (quoted ? 2 : 0);
	char *f = malloc(fl + 1);
	if (!f)
		return NULL;
	if (quoted) {
		f[0] = '"';
		memcpy(f + 1, c, cl);
		f[cl + 1] = '"';
	} else {
		memcpy(f, c, cl);
	}
	f[fl] = '\0';
	/* What was typed is compared with the form, or with the bare name if the user has not
	 * typed the opening quote that the form adds. */
	if (!starts_with(quoted && !typed_quote ? c : f, typed)) {
		free(f);
		return NULL;
	}
	return f;
}

enum complete_what {
	COMPLETE_NOTHING, COMPLETE_COMMANDS, COMPLETE_PEERS, COMPLETE_OWN_GROUPS,
	COMPLETE_ALL_GROUPS,
};

static bool has_blank(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (is_blank(s.p[i]))
			return true;
	return false;
}

/* True while the cursor is still inside the PEER argument typed so far: a word, or an opening
 * quote and a name, possibly with its closing quote. */
static bool in_peer_arg(struct slice typed)
{
	if (typed.len == 0 || typed.p[0] != '"')
		return !has_blank(typed);
	const char *close = memchr(typed.p + 1, '"', typed.len - 1);
	return !close || (size_t)(close - typed.p) == typed.len - 1;
}

/* What Tab completes, given the line up to the cursor, and in *typed the end of the line that
 * the completion replaces: the command name, or the argument after it. */
static enum complete_what complete_context(struct slice line, struct slice *typed)
{
	if (!has_blank(line)) {
		*typed = line;
		return COMPLETE_COMMANDS;
	}
	if (line.p[0] != '/')
		return COMPLETE_NOTHING;        /* a message (handle_line() sees it so too) */
	struct slice rest = line;
	struct slice cmd = take_token(&rest);
	rest = skip_blanks(rest);
	*typed = rest;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i].name;
		if (strlen(name) != cmd.len || memcmp(name, cmd.p, cmd.len) != 0)
			continue;
		if (strcmp(name, "/msg") == 0 || strcmp(name, "/verify") == 0)
			return in_peer_arg(rest) ? COMPLETE_PEERS : COMPLETE_NOTHING;
		if (has_blank(rest))
			return COMPLETE_NOTHING;
		if (strcmp(name, "/join") == 0)
			return COMPLETE_ALL_GROUPS;
		if (strcmp(name, "/leave") == 0 || strcmp(name, "/shout") == 0)
			return COMPLETE_OWN_GROUPS;
	}
	return COMPLETE_NOTHING;
}

static void gather_candidates(struct app *a, enum complete_what what)
{
	free_candidates(a);
	a->cand_peers = what == COMPLETE_PEERS;
	if (what == COMPLETE_COMMANDS)
		for (size_t i = 0; i < NCOMMANDS; i++)
			add_candidate(a, commands[i].name, strlen(commands[i].name));
	if (what == COMPLETE_PEERS || what == COMPLETE_ALL_GROUPS) {
		struct meshnode_peer *peers = NULL;
		size_t count = 0;
		if (meshnode_peers(a->n, &peers, &count) == MESH_OK) {
			for (size_t i = 0; i < count; i++) {
				if (what == COMPLETE_PEERS)
					add_peer_candidate(a, FIELD(peers[i].name));
				else
					for (size_t g = 0; g < peers[i].ngroups; g++)
						add_candidate(a, FIELD(peers[i].groups[g]));
			}
			meshnode_peers_free(&peers, count);
		}
	}
	if (what == COMPLETE_OWN_GROUPS || what == COMPLETE_ALL_GROUPS) {
		char **groups = NULL;
		size_t count = 0;
		if (meshnode_groups(a->n, &groups, &count) == MESH_OK) {
			for (size_t g = 0; g < count; g++)
				add_candidate(a, groups[g], strlen(groups[g]));
			meshnode_groups_free(&groups, count);
		}
	}
}

static int compare_strings(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Lists the forms below the edit line, in columns; editline then draws the line again. The
 * forms come from candidates that json_term() leaves unchanged, so they go out as they are. */
static void list_forms(EditLine *el, char **forms, size_t nf)
{
	int cols = 0;
	size_t width = 0;
	if (el_get(el, EL_GETTC, "co", &cols) != 0 || cols < 1)
		cols = 80;
	qsort(forms, nf, sizeof *forms, compare_strings);
	for (size_t i = 0; i < nf; i++) {
		size_t w = text_width(forms[i], strlen(forms[i]));
		width = w > width ? w : width;
	}
	size_t per_row = (size_t)cols / (width + 2);
	per_row = per_row ? per_row : 1;
	fputs("\n", stdout);
	for (size_t i = 0; i < nf; i++) {
		fputs(forms[i], stdout);
		if ((i + 1) % per_row == 0 || i + 1 == nf)
			fputs("\n", stdout);
		else
			for (size_t w = text_width(forms[i], strlen(forms[i])); w < width + 2; w++)
				fputc(' ', stdout);
	}
	fflush(stdout);
}

/* Puts the longest text that all nf forms share in place of typed, or the only form and a
 * blank. With several forms and nothing to add, a second Tab lists them. */
static unsigned char fill_in(struct app *a, EditLine *el, struct slice line, struct slice typed,
                             char **forms, size_t nf)
{
	size_t common = strlen(forms[0]);
	for (size_t i = 1; i < nf; i++) {
		size_t k = 0;
		while (k < common && forms[i][k] == forms[0][k])
			k++;
		common = k;
	}
	/* Never stop inside a character: "zoë" and "zoé" share the first byte of their last. */
	while (common > 0 && ((unsigned char)forms[0][common] & 0xc0) == 0x80)
		common--;
	if (nf > 1 && common <= typed.len) {
		bool again = a->tab_seen_len > 0 && a->tab_seen_len == line.len &&
		             memcmp(a->tab_seen, line.p, line.len) == 0;
		a->tab_seen_len = 0;
		if (again) {
			list_forms(el, forms, nf);
			return CC_REDISPLAY;
		}
		if (line.len > 0 && line.len <= sizeof a->tab_seen) {
			memcpy(a->tab_seen, line.p, line.len);
			a->tab_seen_len = line.len;
		}
		return CC_REFRESH_BEEP;
	}
	a->tab_seen_len = 0;
	char *text = malloc(common + 2);
	if (!text)
		return CC_ERROR;
	memcpy(text, forms[0], common);
	size_t tl = common;
	if (nf == 1)
		text[tl++] = ' ';
	wchar_t *w = utf8_wide(text, tl);
	free(text);
	if (!w)
		return CC_ERROR;
	el_wdeletestr(el, (int)utf8_chars(typed));
	el_winsertstr(el, w);
	free(w);
	return CC_REFRESH;
}

/* Tab (bound in edit_setup()): completes a command name, or the argument of /msg and /verify
 * (a peer name), /join (any group known in the mesh), /leave and /shout (our groups). */
static unsigned char on_tab(EditLine *el, int ch)
{
	struct app *a = app_of(el);
	const LineInfoW *li = el_wline(el);
	unsigned char rc = CC_ERROR;
	size_t len = 0;
	(void)ch;

	char *buf = wide_utf8(li->buffer, (size_t)(li->cursor - li->buffer), &len);
	if (!buf)
		return CC_ERROR;
	struct slice line = { buf, len }, typed = { buf + len, 0 };
	enum complete_what what = complete_context(line, &typed);
	gather_candidates(a, what);
	char **forms = calloc(a->ncand ? a->ncand : 1, sizeof *forms);
	size_t nf = 0;
	if (forms) {
		/* When a peer name that needs quotes matches an unquoted start, every match is put
		 * in quotes, so that "bob" and "bob the" share the prefix "\"bob". */
		bool quote_all = false;
		bool unquoted = typed.len > 0 && typed.p[0] != '"';
		for (size_t i = 0; a->cand_peers && unquoted && i < a->ncand && !quote_all; i++)
			quote_all = needs_quotes(a->cand[i]) && starts_with(a->cand[i], typed);
		for (size_t i = 0; i < a->ncand; i++) {
			char *f = candidate_form(a, a->cand[i], typed, quote_all);
			if (f)
				forms[nf++] = f;
		}
		if (nf > 0)
			rc = fill_in(a, el, line, typed, forms, nf);
		else
			a->tab_seen_len = 0;
		for (size_t i = 0; i < nf; i++)
			free(forms[i]);
		free(forms);
	}
	free_candidates(a);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

/* ^Z, when it reaches editline (the terminal's suspend character usually stops us before, and
 * read_signals() handles the SIGCONT): the key does what the terminal would have done. The
 * terminal goes back to its own mode while we are stopped and into editline's again when `fg`
 * resumes us, and the line is drawn anew (the SIGCONT does the same). raise() sends
 * the signal to this thread, which then stops the process before raise() returns; kill(0, ...)
 * could be taken by another thread and return at once, and we would prepare the terminal
 * before the stop instead of after it. (The rest of a pipeline is not stopped with us.) */
static unsigned char on_suspend(EditLine *el, int ch)
{
	(void)ch;
	el_set(el, EL_PREP_TERM, 0);
	raise(SIGTSTP);
	el_set(el, EL_PREP_TERM, 1);
	return CC_REDISPLAY;
}

/* ^V: the next key goes on the line as it is, like editline's ed-quoted-insert, except the
 * keys that end a line (^J, ^M) and ^D: a chat line cannot hold a newline, and edit_read()
 * takes a line that ends in one, or a lone ^D, for finished. */
static unsigned char on_quoted_insert(EditLine *el, int ch)
{
	(void)ch;
	wchar_t k[2] = { 0, 0 };
	if (el_wgetc(el, &k[0]) != 1 || k[0] == L'\n' || k[0] == L'\r' || k[0] == 0x04)
		return CC_REFRESH_BEEP;
	return el_winsertstr(el, k) == 0 ? CC_REFRESH : CC_REFRESH_BEEP;
}

static void remember_line(struct app *a, const wchar_t *w, size_t n)
{
	HistEventW ev;
	wchar_t *copy = calloc(n + 1, sizeof *copy);
	if (!copy)
		return;
	memcpy(copy, w, n * sizeof *copy);
	history_w(a->hist, &ev, H_ENTER, copy);
	sodium_memzero(copy, n * sizeof *copy);
	free(copy);
}

/* Input is waiting on the terminal: editline takes one key (one character), and a finished line
 * is run. */
static void edit_read(struct app *a)
{
	int count = 0;
	const wchar_t *w = el_wgets(a->el, &count);
	if (!w || count <= 0)
		return;
	/* A key at a time, editline returns the whole line so far: it is finished when it ends in
	 * a newline, and Ctrl-D on an empty line comes back as a lone ^D. */
	size_t n = (size_t)count;
	bool eof = n == 1 && w[0] == 0x04;
	if (!eof && w[n - 1] != L'\n' && w[n - 1] != L'\r')
		return;
	size_t len = 0;
	char *line = NULL;
	if (!eof) {
		line = wide_utf8(w, n - 1, &len);
		if (line && !all_blank((struct slice){ line, len }))
			remember_line(a, w, n - 1);
	}
	/* Out of character mode until the line has run: its output then goes to a terminal in
	 * its usual state, below a prompt line that is finished. */
	el_set(a->el, EL_UNBUFFERED, 0);
	a->edit_shown = false;
	if (eof) {
		fputs("\n", stdout);
		app_stop(a, EXIT_OK);
		return;
	}
	if (line) {
		handle_line(a, line, len);
		sodium_memzero(line, len);
		free(line);
	} else {
		errorf(a, "out of memory reading a line");
	}
	if (a->running) {
		el_set(a->el, EL_UNBUFFERED, 1);     /* shows the prompt again */
		a->edit_shown = true;
	}
}

/* The keys that editline's readline front end, which this program used before, binds. */
static const char *const readline_keys[][2] = {
	{ "^R", "em-inc-search-prev" },
	{ "\\e[1~", "ed-move-to-beg" }, { "\\e[4~", "ed-move-to-end" },
	{ "\\e[7~", "ed-move-to-beg" }, { "\\e[8~", "ed-move-to-end" },
	{ "\\e[H", "ed-move-to-beg" },  { "\\e[F", "ed-move-to-end" },
	{ "\\e[3~", "ed-delete-next-char" }, { "\\e[2~", "em-toggle-overwrite" },
	{ "\\e[1;5C", "em-next-word" }, { "\\e[1;5D", "ed-prev-word" },
	{ "\\e[5C", "em-next-word" },   { "\\e[5D", "ed-prev-word" },
	{ "\\e\\e[C", "em-next-word" }, { "\\e\\e[D", "ed-prev-word" },
};

static int edit_setup(struct app *a)
{
	HistEventW ev;
	a->el = el_init("meshnode", stdin, stdout, stderr);
	a->hist = history_winit();
	if (!a->el || !a->hist) {
		if (a->el)
			el_end(a->el);
		if (a->hist)
			history_wend(a->hist);
		a->el = NULL;
		a->hist = NULL;
		return -1;
	}
	history_w(a->hist, &ev, H_SETSIZE, HISTORY_MAX);
	el_set(a->el, EL_CLIENTDATA, a);
	el_set(a->el, EL_EDITOR, "emacs");
	/* Our own handlers deal with signals; editline's would re-raise them to the whole
	 * process group. */
	el_set(a->el, EL_SIGNAL, 0);
	el_set(a->el, EL_PROMPT, prompt_of);
	el_wset(a->el, EL_HIST, history_w, a->hist);
	/* Wide names: editline keeps these pointers, where el_set() would hand it copies that
	 * el_end() never frees. */
	el_wset(a->el, EL_ADDFN, L"meshnode-complete", L"Complete a command, peer or group name",
	        on_tab);
	el_set(a->el, EL_BIND, "^I", "meshnode-complete", (const char *)NULL);
	el_wset(a->el, EL_ADDFN, L"meshnode-suspend", L"Suspend the program", on_suspend);
	el_set(a->el, EL_BIND, "^Z", "meshnode-suspend", (const char *)NULL);
	el_wset(a->el, EL_ADDFN, L"meshnode-quoted-insert", L"Insert the next key as it is",
	        on_quoted_insert);
	el_set(a->el, EL_BIND, "^V", "meshnode-quoted-insert", (const char *)NULL);
	for (size_t i = 0; i < sizeof readline_keys / sizeof readline_keys[0]; i++) {
		const char *const *k = readline_keys[i];
		el_set(a->el, EL_BIND, k[0], k[1], (const char *)NULL);
	}
	/* ~/.editrc (or $EDITRC) may change all of that; its lines for us start "meshnode:". */
	el_source(a->el, NULL);
	/* A key at a time, so that poll() stays in charge; this also shows the prompt. */
	el_set(a->el, EL_UNBUFFERED, 1);
	a->edit_shown = true;
	return 0;
}

static void edit_teardown(struct app *a)
{
	if (!a->el)
		return;
	if (a->edit_shown)
		fputs("\n", stdout);
	a->edit_shown = false;
	el_set(a->el, EL_UNBUFFERED, 0);
	el_end(a->el);                          /* the terminal as we found it */
	a->el = NULL;
	fflush(stdout);
	history_wend(a->hist);
	a->hist = NULL;
	free_candidates(a);
	sodium_memzero(a->tab_seen, sizeof a->tab_seen);
	a->tab_seen_len = 0;
}

/* ---- Log lines on a terminal ------------------------------------------------------------- */

static const char *level_name(int level)
{
	switch (level) {
	case MESHNODE_LOG_ERROR: return "error";
	case MESHNODE_LOG_WARN: return "warn";
	case MESHNODE_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Runs on the node's thread: hands the line to the main loop, dropping it if the pipe is
 * full rather than ever blocking the node. */
static void log_to_pipe(void *arg, int level, const char *line)
{
	const struct app *a = arg;
	char buf[LOG_LINE_MAX];
	if (level > a->log_level)
		return;
	int n = snprintf(buf, sizeof buf - 1, "%s: %s", level_name(level), line);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof buf - 1 ? (size_t)n : sizeof buf - 2;
	buf[len++] = '\n';
	ssize_t w = write(a->log_wr, buf, len);
	(void)w;
}

static void print_log_line(struct app *a, const char *s, size_t len)
{
	json_buf_clear(&a->out);
	if (a->mode != MODE_TTY) {
		/* plain and JSON mode: the same format as the library's own stderr sink */
		json_raw(&a->out, "meshnode");
		if (a->n) {
			const char *name = meshnode_name(a->n);
			json_raw(&a->out, "[");
			json_term(&a->out, name, strlen(name), a->term_flags);
			json_raw(&a->out, "]");
		}
		json_raw(&a->out, " ");
		json_term(&a->out, s, len, a->term_flags);
		json_raw(&a->out, "\n");
		emit(a, stderr);
		return;
	}
	color(a, "2;33");
	json_raw(&a->out, "~ ");
	json_term(&a->out, s, len, a->term_flags);
	color_off(a);
	json_raw(&a->out, "\n");
	emit(a, stderr);
}

static void read_log_pipe(struct app *a)
{
	ssize_t r = read(a->log_rd, a->logbuf + a->loglen, sizeof a->logbuf - a->loglen);
	if (r <= 0)
		return;
	a->loglen += (size_t)r;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(a->logbuf + start, '\n', a->loglen - start);
		if (!nl)
			break;
		print_log_line(a, a->logbuf + start, (size_t)(nl - (a->logbuf + start)));
		start = (size_t)(nl - a->logbuf) + 1;
	}
	memmove(a->logbuf, a->logbuf + start, a->loglen - start);
	a->loglen -= start;
	if (a->loglen == sizeof a->logbuf) {
		print_log_line(a, a->logbuf, a->loglen);
		a->loglen = 0;
	}
}

/* ---- Signals and the loop ---------------------------------------------------------------- */

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGWINCH ? 'w' : sig == SIGCONT ? 'c' : 'q';
	ssize_t w = write(g_sig_wr, &c, 1);
	(void)w;
	errno = saved;
}

static int make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
	}
	return 0;
}

static int install_signals(bool winch)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return -1;
	if (winch && (sigaction(SIGWINCH, &sa, NULL) != 0 || sigaction(SIGCONT, &sa, NULL) != 0))
		return -1;
	return 0;
}

static void app_stop(struct app *a, int code)
{
	if (!a->running)
		return;
	a->running = false;
	a->exit_code = code;
	/* Saying BYE can take a moment; a second Ctrl-C then ends the program at once. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void read_signals(struct app *a)
{
	char buf[64];
	ssize_t r = read(a->sig_rd, buf, sizeof buf);
	for (ssize_t i = 0; i < r; i++) {
		if (buf[i] == 'w' && a->el) {
			el_resize(a->el);
		} else if (buf[i] == 'c' && a->el && a->edit_shown) {
			/* Resumed after a stop (^Z, whoever sent it): the shell has put the terminal
			 * back in its own mode. Into editline's again, and the line drawn anew;
			 * editline still believes it is in its mode, so it leaves it first. Not once
			 * the edit line is gone (we are leaving). */
			el_set(a->el, EL_PREP_TERM, 0);
			el_set(a->el, EL_PREP_TERM, 1);
			el_set(a->el, EL_REFRESH);
		} else if (buf[i] == 'q') {
			app_stop(a, EXIT_OK);
		}
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Large messages and bursts of handshakes leave freed memory in glibc's arenas (the node's loop
 * thread and zmq's I/O thread each have one), between blocks still in use, where free()'s own
 * trimming of the top never reaches: measured 0.6 MiB of 2.4 MiB after a few 64 KB shouts in
 * a 17-node mesh. malloc_trim() hands those pages back. It is a glibc extension, and a
 * policy for the whole process, so the program does it, not the embeddable node. */
static void trim_heap(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static int run_loop(struct app *a)
{
	enum { P_SIG, P_EVENTS, P_LOG, P_STDIN, NPOLL };
	/* trim once per quiet spell: after TRIM_QUIET_MS without activity, then not again until
	 * something happened (an idle node sleeps in poll() for good) */
	int64_t last_busy = mono_ms();
	bool trimmed = false;
	while (a->running) {
		struct pollfd pfd[NPOLL];
		nfds_t nfds = 0;
		int slot[NPOLL];
		for (int k = 0; k < NPOLL; k++)
			slot[k] = -1;

		slot[P_SIG] = (int)nfds;
		pfd[nfds++] = (struct pollfd){ .fd = a->sig_rd, .events = POLLIN };
		slot[P_EVENTS] = (int)nfds;
		pfd[nfds++] = (struct pollfd){ .fd = meshnode_event_fd(a->n), .events = POLLIN };
		if (a->log_rd >= 0) {
			slot[P_LOG] = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = a->log_rd, .events = POLLIN };
		}
		if (a->stdin_open) {
			slot[P_STDIN] = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}

		int timeout = -1;
		if (!trimmed) {
			int64_t left = last_busy + TRIM_QUIET_MS - mono_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		int ready = poll(pfd, nfds, timeout);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			errorf(a, "poll: %s", strerror(errno));
			app_stop(a, EXIT_RUNTIME);
			break;
		}
		if (ready == 0) {
			if (!trimmed && mono_ms() - last_busy >= TRIM_QUIET_MS) {
				trim_heap();
				trimmed = true;
			}
			continue;
		}
		last_busy = mono_ms();
		trimmed = false;
		if (pfd[slot[P_SIG]].revents)
			read_signals(a);
		if (slot[P_LOG] >= 0 && pfd[slot[P_LOG]].revents)
			read_log_pipe(a);
		if (a->running && pfd[slot[P_EVENTS]].revents &&
		    drain_events(a, EVENTS_PER_TURN) == 0) {
			/* The fd stays readable once the node's loop has ended, and only then with
			 * no event queued: without this we would spin here. */
			errorf(a, "node stopped: %s", a->last_error[0] ? a->last_error :
			       "its event loop ended");
			app_stop(a, EXIT_RUNTIME);
		}
		if (a->running && slot[P_STDIN] >= 0) {
			short rev = pfd[slot[P_STDIN]].revents;
			if (a->mode == MODE_TTY) {
				/* A hung-up terminal stays readable forever; take it as the end. */
				if (rev & (POLLHUP | POLLERR | POLLNVAL))
					app_stop(a, EXIT_OK);
				else if (rev & POLLIN)
					edit_read(a);
			} else if (rev & POLLNVAL) {
				a->stdin_open = false;
				app_stop(a, EXIT_OK);
			} else if (rev) {
				read_stdin(a);
			}
		}
	}
	return a->exit_code;
}

/* ---- Start and stop ---------------------------------------------------------------------- */

/* Terminal mode takes LC_CTYPE from the environment: editline decodes keys in it, and
 * wcwidth() needs its tables. A locale that is not UTF-8 says that the terminal is not either,
 * so it gets only ASCII; a.locale_note then says why, for the banner. */
static void setup_locale(struct app *a)
{
	if (!setlocale(LC_CTYPE, "")) {
		snprintf(a->locale_note, sizeof a->locale_note,
		         "the one the environment names is not installed");
	} else {
		const char *cs = nl_langinfo(CODESET);
		if (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf-8") == 0 || strcmp(cs, "UTF8") == 0 ||
		    strcmp(cs, "utf8") == 0)
			return;
		snprintf(a->locale_note, sizeof a->locale_note, "its character set is %s", cs);
	}
	a->term_flags = JSON_TERM_ASCII;
}

static void announce_ready(struct app *a)
{
	const char *endpoint = meshnode_endpoint(a->n);
	if (a->mode == MODE_JSON) {
		j_begin(a, "ready");
		j_cstr(a, "id", meshnode_id_hex(a->n));
		j_cstr(a, "name", meshnode_name(a->n));
		j_cstr(a, "endpoint", endpoint);
		j_cstr(a, "fingerprint", meshnode_fingerprint(a->n));
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "* meshnode " MESHNODE_VERSION ": you are ");
	put_name(a, meshnode_id(a->n), meshnode_name(a->n), strlen(meshnode_name(a->n)));
	json_raw(&a->out, " (");
	put_cstr(a, meshnode_fingerprint(a->n));
	json_raw(&a->out, ") on ");
	put_cstr(a, endpoint ? endpoint : "?");
	json_raw(&a->out, "\n");
	if (a->mode == MODE_TTY)
		json_raw(&a->out, "* type /help for the commands, /quit or Ctrl-D to leave\n");
	if (a->locale_note[0]) {
		json_raw(&a->out, "* your locale is not UTF-8 (");
		put_cstr(a, a->locale_note);
		json_raw(&a->out, "): characters beyond ASCII are shown as <U+XXXX>; for non-ASCII "
		         "text use a UTF-8 locale (such as C.UTF-8, in LC_ALL or LANG)\n");
	}
	emit(a, stdout);
}

static void disable_core_dumps(void)
{
	/* A core file would hold the identity key and message plaintext. */
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		perror("meshnode: warning: cannot disable core dumps");
}

/* Each peer needs a socket, and zmq needs a few fds of its own, so the usual soft limit of
 * 1024 caps the mesh well below its size limit. The hard limit is ours to take. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		perror("meshnode: warning: cannot read the open-file limit");
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fprintf(stderr, "meshnode: warning: cannot raise the open-file limit from %llu: %s\n",
		        (unsigned long long)old, strerror(errno));
}

static int ignore_sigpipe(void)
{
	/* A closed stdout or socket must come back as EPIPE, not kill us with keys in memory. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGPIPE, &sa, NULL);
}

/* meshnode_new() says why it failed in words; these prefixes mean a key file was refused. */
static bool keyfile_problem(const char *err)
{
	return strncmp(err, "identity", 8) == 0 || strncmp(err, "mesh key", 8) == 0;
}

/* Starts the node with our signals blocked, so that its thread inherits a mask without them
 * and they always reach this thread and its self-pipe. */
static enum mesh_err start_node(struct meshnode *n, char *err, size_t errcap)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGCONT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	enum mesh_err rc = meshnode_start(n, err, errcap);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct app app;
	struct app *a = &app;
	char err[256] = "";
	int fds[2];

	disable_core_dumps();
	if (ignore_sigpipe() != 0) {
		perror("meshnode: sigaction");
		return EXIT_RUNTIME;
	}
	int rc = parse_options(argc, argv, &opt);
	if (rc >= 0)
		return rc;

	if (opt.gen_mesh_key) {
		if (keyfile_create_mesh_key(opt.gen_mesh_key, err, sizeof err) != 0) {
			fprintf(stderr, "meshnode: %s\n", err);
			return EXIT_KEYFILE;
		}
		printf("meshnode: created mesh key file %s (mode 0600); copy it to every member "
		       "over a secure channel\n", opt.gen_mesh_key);
		return EXIT_OK;
	}
	raise_fd_limit();
	if (sodium_init() < 0) {
		fputs("meshnode: libsodium failed to initialise\n", stderr);
		return EXIT_RUNTIME;
	}

	memset(a, 0, sizeof *a);
	json_buf_init(&a->out);
	json_buf_init(&a->scratch);
	a->sig_rd = a->sig_wr = a->log_rd = a->log_wr = -1;
	a->log_level = opt.cfg.log_level;
	if (opt.json)
		a->mode = MODE_JSON;
	else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		a->mode = MODE_TTY;
	else
		a->mode = MODE_PLAIN;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	if (a->mode == MODE_TTY)
		setup_locale(a);
	a->color = a->mode == MODE_TTY && !(no_color && *no_color) &&
	           !(term && strcmp(term, "dumb") == 0);
	snprintf(a->prompt, sizeof a->prompt, "> ");
	if (a->mode == MODE_JSON)
		setvbuf(stdout, NULL, _IOLBF, 0);

	if (make_pipe(fds) != 0) {
		perror("meshnode: pipe");
		return EXIT_RUNTIME;
	}
	a->sig_rd = fds[0];
	a->sig_wr = g_sig_wr = fds[1];
	if (install_signals(a->mode == MODE_TTY) != 0) {
		perror("meshnode: sigaction");
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Log lines go through a non-blocking pipe to the main loop, in every mode: on a terminal
	 * they never cut into what the user is typing, and a stderr that nobody drains can stall
	 * only this loop, never the node's, which keeps its peers' sessions alive. */
	if (make_pipe(fds) != 0) {
		perror("meshnode: pipe");
		rc = EXIT_RUNTIME;
		goto out;
	}
	a->log_rd = fds[0];
	a->log_wr = fds[1];
	opt.cfg.log_fn = log_to_pipe;
	opt.cfg.log_arg = a;

	a->n = meshnode_new(&opt.cfg, err, sizeof err);
	if (!a->n) {
		fprintf(stderr, "meshnode: %s\n", err[0] ? err : "cannot create the node");
		rc = keyfile_problem(err) ? EXIT_KEYFILE : EXIT_RUNTIME;
		goto out;
	}
	if (start_node(a->n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode: %s\n", err[0] ? err : "cannot start the node");
		rc = EXIT_RUNTIME;
		goto out;
	}
	a->running = true;
	a->stdin_open = true;
	announce_ready(a);
	for (size_t i = 0; i < opt.ngroups; i++) {
		enum mesh_err jr = meshnode_join(a->n, opt.groups[i]);
		if (jr == MESH_ESTATE)
			continue;                   /* the same --group twice */
		if (jr != MESH_OK) {
			errorf(a, "cannot join '%s': %s", opt.groups[i], meshnode_strerror(jr));
			a->running = false;
			rc = jr == MESH_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
			goto out;
		}
		reply_group(a, "joined", opt.groups[i]);
	}
	if (opt.ngroups)
		set_current(a, opt.groups[0]);
	if (a->mode == MODE_TTY && edit_setup(a) != 0) {
		/* The terminal still works line by line, without editing. */
		errorf(a, "cannot start the line editor; reading plain lines");
		a->mode = MODE_PLAIN;
	}

	rc = run_loop(a);

	edit_teardown(a);
	meshnode_stop(a->n);
	/* What the node reported while stopping still belongs to the output. */
	drain_events(a, -1);
	if (a->log_rd >= 0)
		read_log_pipe(a);
	/* "stopped" promises a clean stop; a failure has already printed its error line. */
	if (a->mode == MODE_JSON && rc == EXIT_OK && !a->out_broken) {
		j_begin(a, "stopped");
		j_end(a);
	}
	if (a->out_broken)
		rc = EXIT_RUNTIME;
out:
	meshnode_destroy(&a->n);
	if (a->log_rd >= 0)
		read_log_pipe(a);
	linebuf_free(&a->in);
	json_buf_free(&a->out);
	json_buf_free(&a->scratch);
	close_fd(&a->log_rd);
	close_fd(&a->log_wr);
	/* The signal handler may still run until we exit; leave its pipe open. */
	return rc;
}
