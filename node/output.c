/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * output: everything meshnode writes: the terminal-safe text of the human modes, the
 * JSON lines of --json, errors, the node's events in either form, and the prompt. Whatever a
 * peer chose goes through json_term() or json_str(), never out raw.
 */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include "app.h"
#include "keys.h"
#include "wire.h"

/* ---- Terminal-safe text ------------------------------------------------------------------ */

/* Display columns of text that went through json_term(), as wcwidth() counts them: two for a
 * wide (CJK) character, none for a combining one. That needs a UTF-8 locale's tables, which
 * only terminal mode loads; elsewhere wcwidth() knows only ASCII, and any other character
 * counts one column, good enough for a table. */
size_t text_width(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < len;) {
		size_t n = wire_utf8_seq(u + i, len - i);
		int cw = n ? wcwidth((wchar_t)json_utf8_decode(u + i, n)) : -1;
		w += cw < 0 ? 1 : (size_t)cw;
		i += n ? n : 1;
	}
	return w;
}

/* ---- Output ------------------------------------------------------------------------------ */

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
		libedit.el_set(a->el, EL_REFRESH);
}

void color(struct app *a, const char *sgr)
{
	if (a->color) {
		json_raw(&a->out, "\033[");
		json_raw(&a->out, sgr);
		json_raw(&a->out, "m");
	}
}

void color_off(struct app *a)
{
	if (a->color)
		json_raw(&a->out, "\033[0m");
}

/* Writes the line built in a->out to f, around the prompt. */
void emit(struct app *a, FILE *f)
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
/* The code point of the well-formed UTF-8 sequence of n bytes at p. */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t c = p[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		c = c << 6 | (p[i] & 0x3f);
	return c;
}

/* Drawn as nothing, or nearly: zero-width and joining characters, direction marks and
 * embeddings, variation selectors, invisible fillers. */
static bool invisible(uint32_t c)
{
	return c == 0x00ad || c == 0x034f || c == 0x061c || c == 0x115f || c == 0x1160 ||
	       c == 0x180e || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0x3164 || (c >= 0xfe00 && c <= 0xfe0f) ||
	       c == 0xfeff || c == 0xffa0 || (c >= 0xe0100 && c <= 0xe01ef);
}

/* Looks like the verified mark: check marks, ticks, a square root. */
static bool check_like(uint32_t c)
{
	return c == 0x2713 || c == 0x2714 || c == 0x2705 || c == 0x2611 || c == 0x221a ||
	       c == 0x1f5f8 || c == 0x1f5f9 || c == 0x2e19;
}

/*
 * How many bytes at the start of a peer's name could pass for our verified mark, or hide
 * what comes first: invisible characters, then at most one check-like one, or the ASCII mark
 * in ASCII mode. Those are shown as one '?', so that "✓bob", "\u200d✓bob" and "✔bob" never
 * look like a verified bob.
 */
size_t fake_mark_len(unsigned term_flags, const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t at = 0;
	if (term_flags & JSON_TERM_ASCII) {
		size_t ml = strlen(VERIFIED_MARK_ASCII);
		return len >= ml && memcmp(name, VERIFIED_MARK_ASCII, ml) == 0 ? ml : 0;
	}
	while (at < len) {
		size_t n = wire_utf8_seq(p + at, len - at);
		if (n == 0)
			break;
		uint32_t c = code_point(p + at, n);
		if (invisible(c)) {
			at += n;
			continue;
		}
		if (check_like(c))
			at += n;
		break;
	}
	return at;
}

void put_peer_name(struct app *a, const char *name, size_t len)
{
	size_t fake = fake_mark_len(a->term_flags, name, len);
	if (fake) {
		json_raw(&a->out, "?");
		name += fake;
		len -= fake;
	}
	json_term(&a->out, name, len, a->term_flags);
}

/*
 * A peer's name, in its colour, after the mark of a peer the user verified (docs/usage.md,
 * "Remembered peers"). The mark comes first so that no name can draw it after itself, and
 * what at the start of a name could pass for it is shown as '?' (fake_mark_len).
 */
void put_name(struct app *a, const uint8_t id[MESHNODE_IDLEN], const char *name, size_t len,
              bool verified)
{
	static const char *const palette[] = { "32", "33", "34", "35", "36",
	                                       "92", "93", "94", "95", "96" };
	if (verified) {
		color(a, "1;32");
		json_raw(&a->out, (a->term_flags & JSON_TERM_ASCII) ? VERIFIED_MARK_ASCII
		                                                    : VERIFIED_MARK);
		color_off(a);
	}
	color(a, palette[id[0] % (sizeof palette / sizeof palette[0])]);
	put_peer_name(a, name, len);
	color_off(a);
}

/* The local time at the start of a line that tells of something that happened (a message, a
 * peer coming or going, a group change), so that a conversation read back later says when:
 * "HH:MM:SS ", dim. Replies to commands (tables, /whoami, /verify) carry none. */
void put_time(struct app *a)
{
	char ts[16];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || strftime(ts, sizeof ts, "%H:%M:%S ", &tm) != 9)
		snprintf(ts, sizeof ts, "--:--:-- ");
	color(a, "2");
	json_raw(&a->out, ts);
	color_off(a);
}

void put_safe(struct app *a, const char *s, size_t len)
{
	json_term(&a->out, s, len, a->term_flags);
}

void put_cstr(struct app *a, const char *s)
{
	json_term(&a->out, s, strlen(s), a->term_flags);
}

/* ---- JSON lines -------------------------------------------------------------------------- */

void j_begin(struct app *a, const char *event)
{
	json_buf_clear(&a->out);
	json_raw(&a->out, "{\"event\":\"");
	json_raw(&a->out, event);
	json_raw(&a->out, "\"");
}

void j_key(struct app *a, const char *key)
{
	json_raw(&a->out, ",\"");
	json_raw(&a->out, key);
	json_raw(&a->out, "\":");
}

void j_str(struct app *a, const char *key, const char *s, size_t len)
{
	j_key(a, key);
	json_str(&a->out, s, len);
}

void j_cstr(struct app *a, const char *key, const char *s)
{
	j_str(a, key, s ? s : "", s ? strlen(s) : 0);
}

void j_u64(struct app *a, const char *key, uint64_t v)
{
	j_key(a, key);
	json_u64(&a->out, v);
}

void j_end(struct app *a)
{
	json_raw(&a->out, "}\n");
	if (a->out.failed) {
		json_buf_clear(&a->out);
		json_raw(&a->out, "{\"event\":\"error\",\"message\":\"out of memory\"}\n");
	}
	emit(a, stdout);
}

/* ---- Errors ------------------------------------------------------------------------------ */

void report_error(struct app *a, const char *msg, size_t len)
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

/* The message may quote what the user typed; report_error() makes it safe. */
void errorf(struct app *a, const char *fmt, ...)
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
int shown(size_t len)
{
	return len > 80 ? 80 : (int)len;
}

/* ---- Node events ------------------------------------------------------------------------- */

static const char *alarm_kind(enum meshnode_alarm k)
{
	switch (k) {
	case MESHNODE_ALARM_OWN_ID: return "own_id";
	case MESHNODE_ALARM_SHARED_ID: return "shared_id";
	case MESHNODE_ALARM_NAME_TAKEN: return "name_taken";
	case MESHNODE_ALARM_VERIFIED_RENAMED: return "verified_renamed";
	case MESHNODE_ALARM_NONE: break;
	}
	return "unknown";
}

/* An alarm in plain words (docs/usage.md, "Alarms"), into a->out after what is there. */
static void alarm_text(struct app *a, const struct meshnode_event *ev)
{
	char fp[KEYS_FPR_LEN], ofp[KEYS_FPR_LEN];
	keys_fingerprint(ev->peer, fp);
	keys_fingerprint(ev->other, ofp);
	switch (ev->alarm) {
	case MESHNODE_ALARM_OWN_ID:
		json_raw(&a->out, "another node, at ");
		put_safe(a, FIELD(ev->endpoint));
		json_raw(&a->out, ", uses YOUR identity (");
		put_cstr(a, fp);
		json_raw(&a->out, "): your identity file was copied, and whoever has it can be you. "
		         "Give one of the two nodes its own identity (move its identity file away).");
		break;
	case MESHNODE_ALARM_SHARED_ID:
		json_raw(&a->out, "two nodes use the identity of ");
		put_name(a, ev->peer, FIELD(ev->name), false);
		json_raw(&a->out, " (");
		put_cstr(a, fp);
		json_raw(&a->out, "), one of them at ");
		put_safe(a, FIELD(ev->endpoint));
		json_raw(&a->out, ": its identity file was copied. This node keeps the link it has; "
		         "check with /verify before you trust either.");
		break;
	case MESHNODE_ALARM_NAME_TAKEN:
		json_raw(&a->out, "the name '");
		put_peer_name(a, FIELD(ev->name));
		json_raw(&a->out, "' is now used by another key (");
		put_cstr(a, fp);
		json_raw(&a->out, ev->other_verified ? ") than the one you verified ("
		                                     : ") than the one you met before (");
		put_cstr(a, ofp);
		json_raw(&a->out, "). Names are only labels and anyone can take one: this may be "
		         "someone else. Compare /verify with the person before you trust it.");
		break;
	case MESHNODE_ALARM_VERIFIED_RENAMED:
		json_raw(&a->out, "the peer you verified as '");
		put_peer_name(a, FIELD(ev->other_name));
		json_raw(&a->out, "' (");
		put_cstr(a, fp);
		json_raw(&a->out, ") now calls itself '");
		put_peer_name(a, FIELD(ev->name));
		json_raw(&a->out, "'. It holds the same key, so it is the peer you verified; only "
		         "its name changed.");
		break;
	case MESHNODE_ALARM_NONE:
		put_cstr(a, ev->reason ? ev->reason : "unknown");
		break;
	}
}

static void json_alarm(struct app *a, const struct meshnode_event *ev)
{
	char fp[KEYS_FPR_LEN];
	struct json_buf text;
	/* the sentence, as the chat shows it, without colours or terminal escapes */
	unsigned flags = a->term_flags;
	bool colour = a->color;
	struct json_buf saved = a->out;
	json_buf_init(&text);
	a->out = text;
	a->term_flags = 0;
	a->color = false;
	alarm_text(a, ev);
	text = a->out;
	a->out = saved;
	a->term_flags = flags;
	a->color = colour;

	j_begin(a, "alarm");
	j_cstr(a, "kind", alarm_kind(ev->alarm));
	j_str(a, "peer", FIELD(ev->peer_hex));
	keys_fingerprint(ev->peer, fp);
	j_cstr(a, "fingerprint", fp);
	j_str(a, "name", FIELD(ev->name));
	if (ev->endpoint[0])
		j_str(a, "endpoint", FIELD(ev->endpoint));
	if (ev->alarm == MESHNODE_ALARM_NAME_TAKEN) {
		j_str(a, "other", FIELD(ev->other_hex));
		keys_fingerprint(ev->other, fp);
		j_cstr(a, "other_fingerprint", fp);
		j_key(a, "other_verified");
		json_bool(&a->out, ev->other_verified);
	}
	if (ev->alarm == MESHNODE_ALARM_VERIFIED_RENAMED)
		j_str(a, "other_name", FIELD(ev->other_name));
	if (!text.failed)
		j_str(a, "text", text.p, text.len);
	json_buf_free(&text);
	j_end(a);
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
	case MESHNODE_EV_BACK:
		j_begin(a, "back");
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
	case MESHNODE_EV_DELIVERED:
		j_begin(a, "delivered");
		break;
	case MESHNODE_EV_ALARM:
		json_alarm(a, ev);
		return;
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
	if (ev->verified) {
		j_key(a, "verified");
		json_bool(&a->out, true);
	}
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
	case MESHNODE_EV_DELIVERED:
		j_u64(a, "id", ev->msg_id);
		if (ev->group[0])
			j_str(a, "group", FIELD(ev->group));
		if (ev->type == MESHNODE_EV_DELIVERED)
			break;
		j_cstr(a, "reason", reason);
		j_key(a, "maybe_delivered");
		json_bool(&a->out, ev->maybe_delivered);
		break;
	default:
		break;
	}
	j_end(a);
}

void human_payload(struct app *a, const uint8_t *data, size_t len)
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
	put_time(a);
	switch (ev->type) {
	case MESHNODE_EV_ENTER: {
		char fp[KEYS_FPR_LEN];
		keys_fingerprint(ev->peer, fp);
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, " entered (");
		put_cstr(a, fp);
		json_raw(&a->out, ")");
		break;
	}
	case MESHNODE_EV_EXIT:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, " left (");
		put_cstr(a, reason);
		json_raw(&a->out, ")");
		break;
	case MESHNODE_EV_EVASIVE:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, " is silent (evasive)");
		break;
	case MESHNODE_EV_BACK:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, " is back");
		break;
	case MESHNODE_EV_JOIN:
	case MESHNODE_EV_LEAVE:
		json_raw(&a->out, "* ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, ev->type == MESHNODE_EV_JOIN ? " joined [" : " left [");
		put_safe(a, FIELD(ev->group));
		json_raw(&a->out, "]");
		break;
	case MESHNODE_EV_SHOUT:
		json_raw(&a->out, "[");
		put_safe(a, FIELD(ev->group));
		json_raw(&a->out, "] ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, ": ");
		human_payload(a, ev->data, ev->len);
		break;
	case MESHNODE_EV_WHISPER:
		json_raw(&a->out, "-> (whisper) ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
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
		json_raw(&a->out, ev->maybe_delivered ? " may not have been delivered to "
		                                      : " was not delivered to ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, " (");
		put_cstr(a, reason);
		json_raw(&a->out, ")");
		color_off(a);
		break;
	case MESHNODE_EV_DELIVERED:
		color(a, "2");
		json_raw(&a->out, ev->group[0] ? "  (shout " : "  (whisper ");
		json_u64(&a->out, ev->msg_id);
		json_raw(&a->out, " delivered to ");
		put_name(a, ev->peer, FIELD(ev->name), ev->verified);
		json_raw(&a->out, ")");
		color_off(a);
		break;
	case MESHNODE_EV_ALARM:
		color(a, "1;31");
		json_raw(&a->out, ev->alarm == MESHNODE_ALARM_VERIFIED_RENAMED ? "! NOTE: "
		                                                              : "!!! ALARM: ");
		color_off(a);
		alarm_text(a, ev);
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
int drain_events(struct app *a, int max)
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

void set_current(struct app *a, const char *group)
{
	snprintf(a->current, sizeof a->current, "%s", group);
	update_prompt(a);
}
