/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_commands: the meshnode program's stdin, as the program reads it. The program's own
 * files do the work, compiled into this target unchanged: lineedit.c's read_stdin() splits
 * what arrives into lines, commands.c parses each (commands, group and peer arguments, quoted
 * names, fingerprint and hex prefixes, /ttl numbers, /peer addresses), output.c writes the
 * replies, errors and tables. Under them, instead of a node, is a fake of the meshnode_* API
 * written here, whose peers (names, IDs, groups, marks) the input describes. So the seam is
 * the public API, and the program is not changed at all.
 *
 * The input: a byte of settings (--json or plain, colours, an ASCII terminal, no remembered
 * peers, how many peers), a byte that says how the stream is cut into reads, the peers, then
 * the bytes that arrive on stdin, through a pipe (never a socket).
 *
 * What must hold, beyond no crash, leak or undefined behaviour:
 * - in --json mode every line on stdout is one JSON object meshsim's strict reader accepts,
 *   with a string "event"; stderr carries only /help's text;
 * - in plain mode without colours nothing on stdout or stderr can drive a terminal: valid
 *   UTF-8 with no control character but the newline, no C1 and none of the invisible
 *   characters json_term() hides; only ASCII when the terminal is not UTF-8;
 * - what is sent is what was typed: a shout's or whisper's bytes occur in the input, and a
 *   whisper goes to a peer of the list or to an ID typed in full;
 * - the program stops only by /quit or the end of its input, and with status 0.
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#define _GNU_SOURCE    /* memmem */

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "fuzz_input.h"
#include "group.h"
#include "json.h"
#include "keys.h"
#include "meshsim_json.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(real_stderr, "fuzz_commands: %s:%d: %s\n", __FILE__, \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

static FILE *real_stderr;

enum { S_JSON = 1, S_COLOR = 2, S_ASCII = 4, S_NO_KNOWN = 8, S_CURRENT = 128 };
#define MAX_PEERS 8

static const char *const group_names[] = { "chat", "news", "\xc3\xa9t\xc3\xa9" };
#define NGROUPS (sizeof group_names / sizeof group_names[0])

/* ------------------------------------------------------------------ the fake node */

struct meshnode {
	uint8_t id[MESHNODE_IDLEN];
	char id_hex[MESHNODE_HEXID_LEN];
	char fingerprint[KEYS_FPR_LEN];
	bool known;                      /* remembers peers (else /trust is MESH_ESTATE) */
	struct group_set groups;
	size_t npeers;
	struct meshnode_peer peers[MAX_PEERS];
	uint8_t peer_groups[MAX_PEERS];  /* a bit per group_names[] entry */
	bool verified[MAX_PEERS];
	uint64_t next_id;
	const uint8_t *input;            /* for the checks: the stream typed */
	size_t input_len;
	unsigned sent;
};

static struct meshnode node;

void meshnode_config_init(struct meshnode_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);     /* options.c's; its parse_options() is not run here */
}

const char *meshnode_strerror(enum mesh_err e)
{
	return mesh_strerror(e);
}

const uint8_t *meshnode_id(const struct meshnode *n) { return n->id; }
const char *meshnode_id_hex(const struct meshnode *n) { return n->id_hex; }
const char *meshnode_name(const struct meshnode *n) { (void)n; return "me"; }
const char *meshnode_fingerprint(const struct meshnode *n) { return n->fingerprint; }
const char *meshnode_endpoint(const struct meshnode *n) { (void)n; return "tcp://10.0.0.1:7000"; }

struct meshnode_event *meshnode_next_event(struct meshnode *n, int timeout_ms)
{
	(void)n;
	(void)timeout_ms;
	return NULL;                     /* events are output.c's other half, not fuzzed here */
}

void meshnode_event_destroy(struct meshnode_event **evp)
{
	if (evp)
		*evp = NULL;
}

enum mesh_err meshnode_join(struct meshnode *n, const char *group)
{
	return group ? group_set_add(&n->groups, group, strlen(group)) : MESH_EINVAL;
}

enum mesh_err meshnode_leave(struct meshnode *n, const char *group)
{
	return group ? group_set_remove(&n->groups, group, strlen(group)) : MESH_EINVAL;
}

static int peer_index(const struct meshnode *n, const uint8_t id[MESHNODE_IDLEN])
{
	for (size_t i = 0; i < n->npeers; i++)
		if (memcmp(n->peers[i].id, id, MESHNODE_IDLEN) == 0)
			return (int)i;
	return -1;
}

/* The checks of meshnode.c's send_cmd(), and what was sent must have been typed. */
static enum mesh_err sent(struct meshnode *n, const char *group, const void *data, size_t len,
                          uint32_t ttl_ms, uint64_t *msg_id)
{
	if (len > MESHNODE_MAX_PAYLOAD)
		return MESH_ELIMIT;
	if (ttl_ms > 600000 || (len && !data))
		return MESH_EINVAL;
	if (group && !group_name_valid(group, strlen(group)))
		return MESH_EINVAL;
	REQUIRE(len > 0 && memmem(n->input, n->input_len, data, len) != NULL);
	n->sent++;
	if (msg_id)
		*msg_id = ++n->next_id;
	return MESH_OK;
}

enum mesh_err meshnode_shout_ttl(struct meshnode *n, const char *group, const void *data,
                                 size_t len, uint32_t ttl_ms, uint64_t *msg_id)
{
	return group ? sent(n, group, data, len, ttl_ms, msg_id) : MESH_EINVAL;
}

/* A whole ID typed in the input, in either case. */
static bool typed_in_full(const struct meshnode *n, const uint8_t id[MESHNODE_IDLEN])
{
	char hex[MESHNODE_HEXID_LEN];
	keys_id_hex(id, hex);
	for (size_t i = 0; i + 64 <= n->input_len; i++) {
		size_t k = 0;
		while (k < 64 && tolower(n->input[i + k]) == hex[k])
			k++;
		if (k == 64)
			return true;
	}
	return false;
}

enum mesh_err meshnode_whisper_ttl(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                                   const void *data, size_t len, uint32_t ttl_ms,
                                   uint64_t *msg_id)
{
	if (!peer)
		return MESH_EINVAL;
	bool listed = peer_index(n, peer) >= 0;
	REQUIRE(listed || typed_in_full(n, peer));
	if (!listed && (peer[0] & 1))
		return MESH_ENOTFOUND;       /* an ID the node never heard of */
	return sent(n, NULL, data, len, ttl_ms, msg_id);
}

enum mesh_err meshnode_peers(struct meshnode *n, struct meshnode_peer **out, size_t *count)
{
	*out = calloc(n->npeers ? n->npeers : 1, sizeof **out);
	*count = 0;
	if (!*out)
		return MESH_ENOMEM;
	for (size_t i = 0; i < n->npeers; i++) {
		struct meshnode_peer *p = &(*out)[i];
		*p = n->peers[i];
		p->groups = calloc(NGROUPS, sizeof *p->groups);
		REQUIRE(p->groups != NULL);
		p->ngroups = 0;
		for (size_t g = 0; g < NGROUPS; g++)
			if (n->peer_groups[i] & (1u << g))
				snprintf(p->groups[p->ngroups++], sizeof p->groups[0], "%s", group_names[g]);
	}
	*count = n->npeers;
	return MESH_OK;
}

void meshnode_peers_free(struct meshnode_peer **peers, size_t count)
{
	if (!peers || !*peers)
		return;
	for (size_t i = 0; i < count; i++)
		free((*peers)[i].groups);
	free(*peers);
	*peers = NULL;
}

/* /status: the fake's peers with numbers that vary with the input (its sends), so that every
 * path of the table's durations and byte sizes is walked. */
enum mesh_err meshnode_status(struct meshnode *n, struct meshnode_status *totals,
                              struct meshnode_peer_status **peers, size_t *count)
{
	uint64_t x = (uint64_t)n->sent * 0x9e3779b97f4a7c15u;
	*totals = (struct meshnode_status){ .uptime_ms = x >> 20, .peers = n->npeers,
	                                    .sessions = n->npeers, .tx_bytes = x, .rx_bytes = x >> 7,
	                                    .tx_msgs = n->sent, .rx_msgs = n->sent / 2 };
	*peers = NULL;
	*count = 0;
	if (n->npeers == 0)
		return MESH_OK;
	*peers = calloc(n->npeers, sizeof **peers);
	if (!*peers)
		return MESH_ENOMEM;
	for (size_t i = 0; i < n->npeers; i++) {
		struct meshnode_peer_status *p = &(*peers)[i];
		uint64_t v = x >> (i * 7 % 60);
		memcpy(p->id, n->peers[i].id, sizeof p->id);
		memcpy(p->id_hex, n->peers[i].id_hex, sizeof p->id_hex);
		memcpy(p->name, n->peers[i].name, sizeof p->name);
		memcpy(p->endpoint, n->peers[i].endpoint, sizeof p->endpoint);
		p->session_age_ms = v;
		p->handshake_age_ms = v >> 3;
		p->last_rx_age_ms = v & 1023;
		p->rtt_samples = i & 1;
		p->rtt_ms = p->rtt_last_ms = v & 2047;
		p->tx_bytes = v;
		p->rx_bytes = UINT64_MAX - v;
		p->queued_msgs = i;
		p->queued_bytes = v >> 9;
	}
	*count = n->npeers;
	return MESH_OK;
}

void meshnode_status_free(struct meshnode_peer_status **peers)
{
	if (!peers)
		return;
	free(*peers);
	*peers = NULL;
}

enum mesh_err meshnode_groups(struct meshnode *n, char ***out, size_t *count)
{
	*out = calloc(n->groups.n ? n->groups.n : 1, sizeof **out);
	*count = 0;
	if (!*out)
		return MESH_ENOMEM;
	for (size_t i = 0; i < n->groups.n; i++) {
		(*out)[i] = strdup(n->groups.names[i]);
		REQUIRE((*out)[i] != NULL);
	}
	*count = n->groups.n;
	return MESH_OK;
}

void meshnode_groups_free(char ***groups, size_t count)
{
	if (!groups || !*groups)
		return;
	for (size_t i = 0; i < count; i++)
		free((*groups)[i]);
	free(*groups);
	*groups = NULL;
}

enum mesh_err meshnode_sas(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN], char out[32])
{
	if (!peer)
		return MESH_EINVAL;
	if (peer_index(n, peer) < 0)
		return MESH_ENOTFOUND;
	snprintf(out, 32, "%05u %05u %05u", peer[0] * 100u, peer[1] * 100u, peer[2] * 100u);
	return MESH_OK;
}

enum mesh_err meshnode_stats(struct meshnode *n, struct meshnode_stats *out)
{
	memset(out, 0, sizeof *out);
	out->sessions_live = n->npeers;
	return MESH_OK;
}

enum mesh_err meshnode_counters(struct meshnode *n, struct meshnode_counter *out, size_t cap,
                                size_t *count)
{
	static const char *names[] = { "beacons_rx", "sessions_live", "beacons_limited" };
	size_t all = sizeof names / sizeof names[0];
	for (size_t i = 0; i < all && i < cap; i++)
		out[i] = (struct meshnode_counter){ names[i], i == 1 ? n->npeers : i };
	*count = all;
	return MESH_OK;
}

/* /peer: the fake takes an address that ends in ":PORT" and refuses the rest, resolving
 * nothing (a fuzzer must not touch the network); the real parser is peeraddr.c's. */
enum mesh_err meshnode_add_peer(struct meshnode *n, const char *addr, char *err, size_t errcap)
{
	(void)n;
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	if (!colon || colon == addr || !isdigit((unsigned char)colon[1])) {
		snprintf(err, errcap, "'%s' is not HOST:PORT", addr ? addr : "");
		return MESH_EINVAL;
	}
	return MESH_OK;
}

enum mesh_err meshnode_trust(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                             bool verified)
{
	if (!peer)
		return MESH_EINVAL;
	if (!n->known)
		return MESH_ESTATE;
	int i = peer_index(n, peer);
	if (i < 0)
		return verified ? MESH_OK : MESH_ENOTFOUND;
	n->verified[i] = verified;
	return MESH_OK;
}

size_t meshnode_known_by_name(struct meshnode *n, const char *name,
                              uint8_t (*ids)[MESHNODE_IDLEN], size_t cap)
{
	(void)n;
	(void)name;
	(void)ids;
	(void)cap;
	return 0;       /* the fake remembers no one who is away */
}

bool meshnode_is_verified(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN])
{
	int i = peer_index(n, peer);
	return n->known && i >= 0 && n->verified[i];
}

/* ------------------------------------------------------------------ checking the output */

/* Nothing that can drive a terminal: UTF-8 without controls (but the newline, and the tab a
 * message keeps), C1 or hidden characters; only ASCII if ascii. */
static void check_terminal_safe(const char *s, size_t len, bool ascii)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t k = wire_utf8_seq(u + i, len - i);
		REQUIRE(k > 0);
		uint32_t cp = json_utf8_decode(u + i, k);
		REQUIRE(cp == '\n' || cp == '\t' || (cp >= 0x20 && cp != 0x7f));
		REQUIRE(!(cp >= 0x80 && cp <= 0x9f) && !json_term_hidden(cp));
		REQUIRE(!ascii || cp < 0x80);
		i += k;
	}
}

static void check_json_lines(const char *s, size_t len)
{
	static struct meshsim_json j;
	static bool init;
	if (!init) {
		meshsim_json_init(&j);
		init = true;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		REQUIRE(nl != NULL);            /* every line ends */
		size_t n = (size_t)(nl - (s + i));
		REQUIRE(meshsim_json_parse(&j, s + i, n) == 0);
		REQUIRE(meshsim_json_str(&j, "event", NULL) != NULL);
		i += n + 1;
	}
}

/* stderr in --json mode: only /help's text. */
static void check_help_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		REQUIRE(nl != NULL);
		REQUIRE(s[i] == '/' || s[i] == ' ' || (len - i >= 3 && memcmp(s + i, "Any", 3) == 0));
		i += (size_t)(nl - (s + i)) + 1;
	}
}

/* ------------------------------------------------------------------ one input */

static void make_peers(struct in *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct meshnode_peer *p = &node.peers[i];
		uint8_t flags = in_u8(c), seed = in_u8(c), len = in_u8(c);
		memset(p, 0, sizeof *p);
		/* peers with one seed share the first four hex digits of their IDs */
		for (size_t k = 0; k < MESHNODE_IDLEN; k++)
			p->id[k] = (uint8_t)(k * 29 + i * 71 + 5);
		p->id[0] = seed;
		p->id[1] = seed & 0xf0;
		keys_id_hex(p->id, p->id_hex);
		keys_fingerprint(p->id, p->fingerprint);
		size_t take = len < c->left ? len : c->left;
		if (take >= 1 && take <= MESHNODE_MAX_NAME && wire_name_valid((const char *)c->p, take))
			memcpy(p->name, c->p, take);
		else
			snprintf(p->name, sizeof p->name, "p%zu", i);
		c->p += take;
		c->left -= take;
		snprintf(p->endpoint, sizeof p->endpoint, "10.0.0.%zu:7000", 10 + i);
		p->evasive = flags & 1;
		p->initiator = flags & 2;
		p->local_sid = 0x100 + (uint32_t)i;
		p->queued_msgs = flags >> 6;
		node.verified[i] = flags & 4;
		node.peer_groups[i] = (uint8_t)((flags >> 3) & 7);
	}
	node.npeers = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in c = { data, size };
	struct app app, *a = &app;
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int fds[2];

	if (!real_stderr) {
		real_stderr = stderr;
		if (sodium_init() < 0)
			abort();
	}
	uint8_t set = in_u8(&c), cut = in_u8(&c);
	memset(&node, 0, sizeof node);
	memset(node.id, 0x3c, sizeof node.id);
	keys_id_hex(node.id, node.id_hex);
	keys_fingerprint(node.id, node.fingerprint);
	node.known = !(set & S_NO_KNOWN);
	make_peers(&c, (set >> 4) & 7);
	node.input = c.p;
	node.input_len = c.left;

	memset(a, 0, sizeof *a);
	json_buf_init(&a->out);
	json_buf_init(&a->scratch);
	a->n = &node;
	a->mode = set & S_JSON ? MODE_JSON : MODE_PLAIN;
	a->color = set & S_COLOR;
	a->term_flags = set & S_ASCII ? JSON_TERM_ASCII : 0;
	a->running = true;
	a->stdin_open = true;
	a->sig_rd = a->sig_wr = a->log_rd = a->log_wr = -1;
	snprintf(a->prompt, sizeof a->prompt, "> ");
	if (set & S_CURRENT) {
		REQUIRE(meshnode_join(&node, "chat") == MESH_OK);
		set_current(a, "chat");
	}

	/* stdout and stderr into memory; sanitizers and libFuzzer write to fd 2 directly */
	FILE *real_stdout = stdout, *mem_out = open_memstream(&out, &outlen),
	     *mem_err = open_memstream(&err, &errlen);
	REQUIRE(mem_out && mem_err);
	stdout = mem_out;
	stderr = mem_err;

	/* stdin: a pipe the input goes through, cut into reads */
	REQUIRE(pipe(fds) == 0);
	int saved_stdin = dup(STDIN_FILENO);
	REQUIRE(saved_stdin >= 0 && dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
	close(fds[0]);
	size_t step = (size_t)cut + 1;
	for (size_t at = 0; a->running && a->stdin_open;) {
		size_t n = c.left - at < step ? c.left - at : step;
		if (n > 0)
			REQUIRE(write(fds[1], c.p + at, n) == (ssize_t)n);
		else if (fds[1] >= 0) {
			close(fds[1]);                  /* the end of the input */
			fds[1] = -1;
		}
		at += n;
		read_stdin(a);
	}
	if (fds[1] >= 0)
		close(fds[1]);
	REQUIRE(dup2(saved_stdin, STDIN_FILENO) == STDIN_FILENO);
	close(saved_stdin);

	stdout = real_stdout;
	stderr = real_stderr;
	fclose(mem_out);
	fclose(mem_err);

	if (getenv("FUZZ_COMMANDS_DEBUG")) {   /* what the program wrote */
		fprintf(real_stderr, "--- stdout\n%.*s--- stderr\n%.*s---\n", (int)outlen, out,
		        (int)errlen, err);
	}
	REQUIRE(!a->running && a->exit_code == EXIT_OK && !a->out_broken);
	if (a->mode == MODE_JSON) {
		check_json_lines(out, outlen);
		check_help_only(err, errlen);
	} else if (!a->color) {
		check_terminal_safe(out, outlen, a->term_flags & JSON_TERM_ASCII);
		check_terminal_safe(err, errlen, a->term_flags & JSON_TERM_ASCII);
	}
	free(out);
	free(err);
	linebuf_free(&a->in);
	json_buf_free(&a->out);
	json_buf_free(&a->scratch);
	group_set_clear(&node.groups);
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
#define SEED(s) { sizeof s - 1, s }
	static const struct {
		size_t len;
		const char *bytes;
	} seeds[] = {
		/* plain, three peers (two named bob and "bob the"), one ID prefix shared */
		SEED("\x30\xff" "\x08\x41\x03" "bob" "\x0c\x41\x07" "bob the" "\x04\x99\x05" "alice"
		     "/join chat\n/peers\n/status\n/msg bob hi\n/msg \"bob the\" there\n/msg alice  two\n"
		     "/verify alice\n/trust alice\n/untrust bob\n/groups\nhello all\n/ttl 5000\n"
		     "/peer 10.1.0.5:47000\n/shout news x\n/leave chat\n/whoami\n/stats\n/quit\n"),
		/* --json, the same, cut into 3-byte reads, with errors */
		SEED("\x31\x02" "\x08\x41\x03" "bob" "\x0c\x41\x07" "bob the" "\x04\x99\x05" "alice"
		     "/join chat\n/peers\n/status\n/msg bob the code\n/msg 4141 hi\n/msg \"\" x\n/msg \"bob\n"
		     "/frob\n/join \n/ttl 700000\n/verify\n/groups\n/help\n/stats\nno group\r\n"
		     "/peer\n/peer nohost\n/peer a b\n"),
		/* an ASCII terminal and names that need escaping */
		SEED("\x24\x10" "\x00\x10\x06" "\xe2\x80\xaex\xc3\xa9" "\x00\x20\x04" "<U+1"
		     "/msg 0000000000000000000000000000000000000000000000000000000000000000 hi\n"
		     "/peers\n/status\n/msg <U+1 \x1b[31mred\n/join \xc2\x9b\n/join ok\x01\n"),
	};
#undef SEED
	if (i >= sizeof seeds / sizeof seeds[0] || cap < seeds[i].len)
		return 0;
	memcpy(buf, seeds[i].bytes, seeds[i].len);
	return seeds[i].len;
}
