/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * commands: a command line (typed, or piped in, or sent by a program in --json mode) parsed
 * into its command and arguments (a peer's, by peerarg.c), and the command table with each
 * command.
 */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include <ctype.h>

#include "app.h"
#include "keys.h"

/* ---- Command line parsing ---------------------------------------------------------------- */

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

/* ---- Commands ---------------------------------------------------------------------------- */

void reply_group(struct app *a, const char *event, const char *group)
{
	if (a->mode == MODE_JSON) {
		j_begin(a, event);
		j_cstr(a, "group", group);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	put_time(a);
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
	if (group_arg(a, trim_blanks(args), g, "/join GROUP"))
		do_join(a, g);
}

static void cmd_leave(struct app *a, struct slice args)
{
	char g[MESHNODE_MAX_GROUP + 1];
	if (!group_arg(a, trim_blanks(args), g, "/leave GROUP"))
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
	enum mesh_err rc = meshnode_shout_ttl(a->n, g, text.p, text.len, a->ttl_ms, &id);
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
	put_time(a);
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
	enum mesh_err rc = meshnode_whisper_ttl(a->n, p.id, text.p, text.len, a->ttl_ms, &id);
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
	put_time(a);
	color(a, "2");
	json_raw(&a->out, "(whisper to ");
	put_name(a, p.id, FIELD(p.name), meshnode_is_verified(a->n, p.id));
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
	put_name(a, p.id, FIELD(p.name), meshnode_is_verified(a->n, p.id));
	json_raw(&a->out, " (");
	put_safe(a, FIELD(p.fingerprint));
	json_raw(&a->out, "):\n    ");
	color(a, "1");
	put_safe(a, FIELD(sas));
	color_off(a);
	json_raw(&a->out, "\nCompare it with ");
	put_peer_name(a, FIELD(p.name));
	json_raw(&a->out, " out of band (in person or on the phone, not through this chat):\n"
	         "their /verify for you must show the same code. If it differs, someone is in\n"
	         "the middle: do not trust this link.\n");
	emit(a, stdout);
}

/* /trust and /untrust: the verified mark of a peer (docs/usage.md, "Remembered peers"). */
static void set_trust(struct app *a, struct slice args, bool verified)
{
	const char *cmd = verified ? "/trust" : "/untrust";
	struct meshnode_peer p;
	struct slice who;
	bool quoted;
	if (all_blank(args)) {
		errorf(a, "usage: %s NAME", cmd);
		return;
	}
	if (!take_peer_arg(a, &args, &who, &quoted))
		return;
	if (!all_blank(args)) {
		errorf(a, "usage: %s NAME (put a name with blanks in double quotes)", cmd);
		return;
	}
	if (!resolve_peer(a, who, quoted, false, &p))
		return;
	enum mesh_err rc = meshnode_trust(a->n, p.id, verified);
	if (rc == MESH_ESTATE) {
		errorf(a, "%s: this node remembers no one (--no-known-peers)", cmd);
		return;
	}
	if (rc == MESH_ENOTFOUND) {
		errorf(a, "%s: '%s' is not among the peers this node remembers", cmd, p.name);
		return;
	}
	if (rc != MESH_OK) {
		errorf(a, "%s '%s': %s", cmd, p.name, meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "trust");
		j_str(a, "peer", FIELD(p.id_hex));
		j_str(a, "name", FIELD(p.name));
		j_key(a, "verified");
		json_bool(&a->out, verified);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "* ");
	put_name(a, p.id, FIELD(p.name), verified);
	json_raw(&a->out, " (");
	put_safe(a, FIELD(p.fingerprint));
	json_raw(&a->out, verified ? ") is verified: its name carries the mark from now on, and "
	                             "another key that takes its name raises an alarm\n"
	                           : ") is no longer marked verified\n");
	emit(a, stdout);
}

static void cmd_trust(struct app *a, struct slice args)
{
	set_trust(a, args, true);
}

static void cmd_untrust(struct app *a, struct slice args)
{
	set_trust(a, args, false);
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
		j_key(a, "verified");
		json_bool(&a->out, meshnode_is_verified(a->n, p->id));
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
	case COL_NAME: {
		/* as put_name() shows it, for the width */
		size_t len = strnlen(p->name, sizeof p->name);
		size_t fake = fake_mark_len(flags, p->name, len);
		if (fake)
			json_raw(b, "?");
		json_term(b, p->name + fake, len - fake, flags);
		break;
	}
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

/* Whether peers[i] is verified: from the array filled in the first pass, or asked again when
 * it could not be allocated. */
static bool verified_at(struct app *a, const bool *verified, size_t i,
                        const struct meshnode_peer *peers)
{
	return verified ? verified[i] : meshnode_is_verified(a->n, peers[i].id);
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
	bool *verified = calloc(count, sizeof *verified);
	for (size_t i = 0; i < count; i++) {
		if (verified)
			verified[i] = meshnode_is_verified(a->n, peers[i].id);
		bool v = verified_at(a, verified, i, peers);
		for (int k = 0; k < NCOLS; k++) {
			peer_cell(c, &peers[i], k, a->term_flags);
			size_t w = text_width(c->p ? c->p : "", c->len) + (k == COL_NAME && v);
			if (w > width[k])
				width[k] = w;
		}
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
			bool v = verified_at(a, verified, i, peers);
			size_t w = text_width(c->p ? c->p : "", c->len) + (k == COL_NAME && v);
			if (k == COL_NAME)
				put_name(a, peers[i].id, FIELD(peers[i].name), v); /* by ID */
			else
				json_raw_n(&a->out, c->p ? c->p : "", c->len);
			for (; k + 1 < NCOLS && w < width[k] + 2; w++)
				json_raw(&a->out, " ");
		}
		json_raw(&a->out, "\n");
	}
	free(verified);
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
	put_name(a, meshnode_id(a->n), meshnode_name(a->n), strlen(meshnode_name(a->n)), false);
	json_raw(&a->out, "\n  id:          ");
	put_cstr(a, meshnode_id_hex(a->n));
	json_raw(&a->out, "\n  fingerprint: ");
	put_cstr(a, meshnode_fingerprint(a->n));
	json_raw(&a->out, "\n  endpoint:    ");
	put_cstr(a, endpoint ? endpoint : "");
	json_raw(&a->out, "\n");
	emit(a, stdout);
}

/* /stats: every counter the node keeps (meshnode_counters), by name, in its order. */
static void cmd_stats(struct app *a, struct slice args)
{
	struct meshnode_counter cs[96];
	size_t n = 0;
	(void)args;
	enum mesh_err rc = meshnode_counters(a->n, cs, sizeof cs / sizeof cs[0], &n);
	if (rc != MESH_OK) {
		errorf(a, "cannot read stats: %s", meshnode_strerror(rc));
		return;
	}
	if (n > sizeof cs / sizeof cs[0])
		n = sizeof cs / sizeof cs[0];
	if (a->mode == MODE_JSON) {
		j_begin(a, "stats");
		for (size_t i = 0; i < n; i++)
			j_u64(a, cs[i].name, cs[i].value);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	for (size_t i = 0; i < n; i++) {
		json_raw(&a->out, "  ");
		json_raw(&a->out, cs[i].name);
		for (size_t w = strlen(cs[i].name) + 1; w < 28; w++)
			json_raw(&a->out, " ");
		json_u64(&a->out, cs[i].value);
		json_raw(&a->out, "\n");
	}
	emit(a, stdout);
}

/* A count of milliseconds as `wg show` writes a time: "1 h 2 min 3 s", or "250 ms". */
static void put_dur(struct json_buf *b, uint64_t ms)
{
	static const struct { uint64_t ms; const char *unit; } u[] = {
		{ 86400000u, " d" }, { 3600000u, " h" }, { 60000u, " min" }, { 1000u, " s" },
	};
	bool any = false;
	if (ms < 1000) {
		json_u64(b, ms);
		json_raw(b, " ms");
		return;
	}
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		if (ms < u[i].ms)
			continue;
		if (any)
			json_raw(b, " ");
		json_u64(b, ms / u[i].ms);
		json_raw(b, u[i].unit);
		ms %= u[i].ms;
		any = true;
	}
}

/* Bytes as `wg show` writes them: "1.50 KiB" past 1024, else "12 B". */
static void put_bytes(struct json_buf *b, uint64_t v)
{
	static const char *const unit[] = { " KiB", " MiB", " GiB", " TiB" };
	if (v < 1024) {
		json_u64(b, v);
		json_raw(b, " B");
		return;
	}
	size_t i = 0;
	uint64_t div = 1024;
	while (i + 1 < sizeof unit / sizeof unit[0] && v / div >= 1024) {
		div *= 1024;
		i++;
	}
	uint64_t hundredths = (v % div) * 100 / div;
	json_u64(b, v / div);
	json_raw(b, hundredths < 10 ? ".0" : ".");
	json_u64(b, hundredths);
	json_raw(b, unit[i]);
}

static void status_json(struct app *a, const struct meshnode_status *t,
                        const struct meshnode_peer_status *ps, size_t count)
{
	j_begin(a, "status");
	j_u64(a, "uptime_ms", t->uptime_ms);
	j_u64(a, "peer_count", t->peers);
	j_u64(a, "sessions", t->sessions);
	j_u64(a, "tx_bytes", t->tx_bytes);
	j_u64(a, "rx_bytes", t->rx_bytes);
	j_u64(a, "tx_msgs", t->tx_msgs);
	j_u64(a, "rx_msgs", t->rx_msgs);
	j_key(a, "peers");
	json_raw(&a->out, "[");
	for (size_t i = 0; i < count; i++) {
		const struct meshnode_peer_status *p = &ps[i];
		json_raw(&a->out, i ? ",{\"peer\":" : "{\"peer\":");
		json_str(&a->out, FIELD(p->id_hex));
		j_str(a, "name", FIELD(p->name));
		j_str(a, "endpoint", FIELD(p->endpoint));
		j_u64(a, "sid", p->local_sid);
		j_key(a, "initiator");
		json_bool(&a->out, p->initiator);
		j_u64(a, "session_age_ms", p->session_age_ms);
		j_u64(a, "handshake_age_ms", p->handshake_age_ms);
		j_u64(a, "last_rx_age_ms", p->last_rx_age_ms);
		if (p->rtt_samples) {   /* absent until a round trip was timed */
			j_u64(a, "rtt_ms", p->rtt_ms);
			j_u64(a, "rtt_last_ms", p->rtt_last_ms);
		}
		j_u64(a, "rtt_samples", p->rtt_samples);
		j_u64(a, "tx_bytes", p->tx_bytes);
		j_u64(a, "rx_bytes", p->rx_bytes);
		j_u64(a, "tx_msgs", p->tx_msgs);
		j_u64(a, "rx_msgs", p->rx_msgs);
		j_u64(a, "queued_msgs", p->queued_msgs);
		j_u64(a, "queued_bytes", p->queued_bytes);
		j_u64(a, "unacked_msgs", p->unacked_msgs);
		j_u64(a, "rekeys", p->rekeys);
		json_raw(&a->out, "}");
	}
	json_raw(&a->out, "]");
	j_end(a);
}

/* One "  label: " line start of a /status block. */
static void status_line(struct app *a, const char *label)
{
	json_raw(&a->out, "  ");
	json_raw(&a->out, label);
	json_raw(&a->out, ": ");
}

static void status_transfer(struct app *a, uint64_t rxb, uint64_t txb, uint64_t rxm,
                            uint64_t txm)
{
	struct json_buf *o = &a->out;
	status_line(a, "transfer");
	put_bytes(o, rxb);
	json_raw(o, " received, ");
	put_bytes(o, txb);
	json_raw(o, " sent\n");
	status_line(a, "messages");
	json_u64(o, rxm);
	json_raw(o, " received, ");
	json_u64(o, txm);
	json_raw(o, " sent\n");
}

/* Like `wg show`: the node's block, then one block per peer. */
static void status_text(struct app *a, const struct meshnode_status *t,
                        const struct meshnode_peer_status *ps, size_t count)
{
	struct json_buf *o = &a->out;
	json_buf_clear(o);
	color(a, "1");
	json_raw(o, "node");
	color_off(a);
	json_raw(o, ": ");
	put_cstr(a, meshnode_name(a->n));
	json_raw(o, "\n");
	status_line(a, "uptime");
	put_dur(o, t->uptime_ms);
	json_raw(o, "\n");
	status_line(a, "peers");
	json_u64(o, t->peers);
	json_raw(o, " linked, ");
	json_u64(o, t->sessions);
	json_raw(o, t->sessions == 1 ? " session\n" : " sessions\n");
	status_transfer(a, t->rx_bytes, t->tx_bytes, t->rx_msgs, t->tx_msgs);
	for (size_t i = 0; i < count; i++) {
		const struct meshnode_peer_status *p = &ps[i];
		json_raw(o, "\n");
		color(a, "1");
		json_raw(o, "peer");
		color_off(a);
		json_raw(o, ": ");
		put_name(a, p->id, FIELD(p->name), meshnode_is_verified(a->n, p->id));
		json_raw(o, " ");
		json_raw_n(o, p->id_hex, 16);   /* the ID's start: /peers and /whoami give it whole */
		json_raw(o, "\n");
		status_line(a, "endpoint");
		json_term(o, FIELD(p->endpoint), a->term_flags);
		json_raw(o, "\n");
		status_line(a, "session");
		put_dur(o, p->session_age_ms);
		json_raw(o, p->initiator ? " (we dialled)\n" : " (it dialled)\n");
		status_line(a, "latest handshake");
		put_dur(o, p->handshake_age_ms);
		json_raw(o, " ago\n");
		status_line(a, "latest frame in");
		put_dur(o, p->last_rx_age_ms);
		json_raw(o, " ago\n");
		status_line(a, "round trip");
		if (p->rtt_samples) {
			put_dur(o, p->rtt_ms);
			json_raw(o, " (latest ");
			put_dur(o, p->rtt_last_ms);
			json_raw(o, ")\n");
		} else {
			json_raw(o, "not timed yet\n");
		}
		status_transfer(a, p->rx_bytes, p->tx_bytes, p->rx_msgs, p->tx_msgs);
		status_line(a, "queued");
		json_u64(o, p->queued_msgs);
		json_raw(o, " messages (");
		put_bytes(o, p->queued_bytes);
		json_raw(o, "), ");
		json_u64(o, p->unacked_msgs);
		json_raw(o, " unacknowledged\n");
		status_line(a, "rekeys");
		json_u64(o, p->rekeys);
		json_raw(o, "\n");
	}
	emit(a, stdout);
}

/* /status: the node and each live session, like `wg show` (docs/usage.md, "Status"). */
static void cmd_status(struct app *a, struct slice args)
{
	struct meshnode_status t;
	struct meshnode_peer_status *ps = NULL;
	size_t count = 0;
	(void)args;
	enum mesh_err rc = meshnode_status(a->n, &t, &ps, &count);
	if (rc != MESH_OK) {
		errorf(a, "cannot read status: %s", meshnode_strerror(rc));
		return;
	}
	if (a->mode == MODE_JSON)
		status_json(a, &t, ps, count);
	else
		status_text(a, &t, ps, count);
	meshnode_status_free(&ps);
}

/* /ttl [MS]: the time-to-live of the messages sent from now on; without MS, says it. */
/* /peer [NODEID@]HOST:PORT: a fixed peer from now on (docs/usage.md, "Fixed peers"). */
static void cmd_peer(struct app *a, struct slice args)
{
	char addr[384], err[256];
	struct slice t = take_token(&args);
	if (!t.len || t.len >= sizeof addr || !all_blank(args)) {
		errorf(a, "usage: /peer [NODEID@]HOST:PORT");
		return;
	}
	memcpy(addr, t.p, t.len);
	addr[t.len] = '\0';
	if (meshnode_add_peer(a->n, addr, err, sizeof err) != MESH_OK) {
		errorf(a, "cannot add peer '%s': %s", addr, err);
		return;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "peer_added");
		j_cstr(a, "address", addr);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "* fixed peer ");
	json_term(&a->out, addr, strlen(addr), a->term_flags);
	json_raw(&a->out, " will be dialled and kept linked\n");
	emit(a, stdout);
}

static void cmd_ttl(struct app *a, struct slice args)
{
	struct slice t = take_token(&args);
	if (t.len) {
		char buf[16];
		unsigned long v;
		if (t.len >= sizeof buf || !all_blank(args)) {
			errorf(a, "usage: /ttl [MS]  (1 to 600000, or 0 for the node's --ttl)");
			return;
		}
		memcpy(buf, t.p, t.len);
		buf[t.len] = '\0';
		if (!parse_ulong(buf, 0, 600000, &v)) {
			errorf(a, "usage: /ttl [MS]  (1 to 600000, or 0 for the node's --ttl)");
			return;
		}
		a->ttl_ms = (uint32_t)v;
	}
	if (a->mode == MODE_JSON) {
		j_begin(a, "ttl");
		j_u64(a, "ms", a->ttl_ms);
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	if (a->ttl_ms) {
		json_raw(&a->out, "* messages you send now wait ");
		json_u64(&a->out, a->ttl_ms);
		json_raw(&a->out, " ms at most for each peer\n");
	} else {
		json_raw(&a->out, "* messages you send now wait as long as --ttl says\n");
	}
	emit(a, stdout);
}

static const char help_text[] =
	"/join GROUP          join GROUP and make it the current group\n"
	"/leave GROUP         leave GROUP\n"
	"/shout GROUP TEXT    send TEXT to every member of GROUP\n"
	"/msg NAME TEXT       send TEXT to one peer: NAME, \"NAME WITH BLANKS\" in double\n"
	"                     quotes, or 8+ characters of its fingerprint\n"
	"/peers               list the peers with a live link\n"
	"/groups              list your groups\n"
	"/whoami              show your ID, name, fingerprint and endpoint\n"
	"/verify NAME         show the security code of your link with a peer\n"
	"/trust NAME          mark a peer verified, once /verify matched on both ends\n"
	"/untrust NAME        take the mark away\n"
	"/stats               show the node's drop counters\n"
	"/status              show each peer's session, traffic and round trip\n"
	"/ttl [MS]            how long your next messages may wait for each peer (0: --ttl)\n"
	"/peer [ID@]HOST:PORT dial a node multicast cannot reach, and keep it linked\n"
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
	{ "/status", cmd_status },
	{ "/help", cmd_help },     { "/quit", cmd_quit },     { "/ttl", cmd_ttl },
	{ "/trust", cmd_trust },   { "/untrust", cmd_untrust }, { "/peer", cmd_peer },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const char *command_name(size_t i)
{
	return i < NCOMMANDS ? commands[i].name : NULL;
}

void handle_line(struct app *a, const char *line, size_t len)
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
