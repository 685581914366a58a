/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * peerarg: the PEER argument of /msg, /verify, /trust and /untrust (docs/usage.md, "PEER"):
 * taken off the command line, quoted or not, and resolved to one peer by exact name, or by a
 * prefix of at least 8 characters of its fingerprint or hex ID, never by a name that a
 * remembered peer used; an ambiguous or away peer is reported, not guessed.
 */
#include <ctype.h>

#include "app.h"
#include "keys.h"

static bool hex_token(struct slice t)
{
	if (t.len < HEX_PREFIX_MIN || t.len > 2 * MESHNODE_IDLEN)
		return false;
	for (size_t i = 0; i < t.len; i++)
		if (!strchr("0123456789abcdefABCDEF", t.p[i]) || t.p[i] == '\0')
			return false;
	return true;
}

/*
 * A fingerprint prefix as a person types it: at least HEX_PREFIX_MIN characters of the base32
 * alphabet (docs/crypto.md section 7), either case, with or without the dashes. Written into
 * out without dashes, lowercase; false if t is not one.
 */
static bool fpr_token(struct slice t, char out[KEYS_FPR_LEN])
{
	size_t n = 0;
	for (size_t i = 0; i < t.len; i++) {
		char c = (char)tolower((unsigned char)t.p[i]);
		if (c == '-' && i > 0)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) || n + 1 >= KEYS_FPR_LEN)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n >= HEX_PREFIX_MIN;
}

/* Whether typed (from fpr_token) starts the fingerprint fpr ("abcd-efgh-..."). */
static bool fpr_prefix_of(const char *typed, const char *fpr, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; typed[i]; i++) {
		while (j < cap && fpr[j] == '-')
			j++;
		if (j >= cap || fpr[j] != typed[i])
			return false;
		j++;
	}
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
		json_raw_n(&m, p->fingerprint, FPR_SHORT);
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

/* A name that only peers away from us have used: say who they are and how to reach one. */
static void report_away(struct app *a, struct slice what, uint8_t (*ids)[MESHNODE_IDLEN],
                        size_t n, size_t total)
{
	struct json_buf m;
	json_buf_init(&m);
	json_raw(&m, "'");
	json_raw_n(&m, what.p, what.len);
	json_raw(&m, "' is not linked now; the name was used by ");
	for (size_t i = 0; i < n; i++) {
		char fp[KEYS_FPR_LEN];
		keys_fingerprint(ids[i], fp);
		if (i)
			json_raw(&m, ", ");
		json_raw_n(&m, fp, FPR_SHORT);
		json_raw(&m, "...");
	}
	if (total > n)
		json_raw(&m, " and others");
	json_raw(&m, ". To leave a message for one, use its whole 64-digit ID");
	if (m.failed)
		errorf(a, "'%.*s' is not linked now", shown(what.len), what.p);
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
bool take_peer_arg(struct app *a, struct slice *s, struct slice *out, bool *quoted)
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
 * unquoted and not a remembered name, as a prefix (>= 8 characters) of its fingerprint or hex
 * ID. With text_follows (/msg), an unquoted name is refused when another peer's name starts
 * with it and a blank, since the user may have meant that one and its first word would then
 * be sent as text. On success copies the peer
 * into *out (without its groups) and returns true; otherwise reports why.
 */
bool resolve_peer(struct app *a, struct slice what, bool quoted, bool text_follows,
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
		                 "or use a fingerprint prefix");
		goto done;
	}
	/* The name of a remembered peer that is not linked now: never read as a prefix, or
	 * whoever made a key whose fingerprint starts with "dave" would get dave's messages
	 * while dave is away. */
	if (nidx == 0 && !longer && what.len <= MESHNODE_MAX_NAME) {
		char name[MESHNODE_MAX_NAME + 1];
		uint8_t ids[4][MESHNODE_IDLEN];
		memcpy(name, what.p, what.len);
		name[what.len] = '\0';
		size_t known = meshnode_known_by_name(a->n, name, ids, 4);
		if (known) {
			report_away(a, what, ids, known < 4 ? known : 4, known);
			goto done;
		}
	}
	/* not a name: the start of the fingerprint a person sees, or of the hex ID that --json
	 * reports; a word that is both names every peer it starts either of */
	char typed[KEYS_FPR_LEN];
	bool as_fpr = nidx == 0 && !quoted && fpr_token(what, typed);
	bool as_hex = nidx == 0 && !quoted && hex_token(what);
	for (size_t i = 0; (as_fpr || as_hex) && i < count; i++)
		if ((as_fpr && fpr_prefix_of(typed, peers[i].fingerprint,
		                             sizeof peers[i].fingerprint)) ||
		    (as_hex && hex_prefix_of(what, peers[i].id_hex)))
			idx[nidx++] = i;

	if (nidx == 1) {
		*out = peers[idx[0]];
		out->groups = NULL;
		out->ngroups = 0;
		ok = true;
	} else if (!quoted && what.len == 2 * MESHNODE_IDLEN && hex_token(what)) {
		/* a whole ID names a peer that is away too: its messages wait for it (protocol
		 * section 6, "Delivery"); the node says whether it knows the ID at all */
		char hex[2 * MESHNODE_IDLEN + 1];
		memset(out, 0, sizeof *out);
		for (size_t i = 0; i < what.len; i++)
			hex[i] = (char)tolower((unsigned char)what.p[i]);
		hex[what.len] = '\0';
		ok = keys_id_from_hex(hex, out->id) == 0;
		memcpy(out->id_hex, hex, sizeof out->id_hex);
		if (ok) {
			keys_fingerprint(out->id, out->fingerprint);
			snprintf(out->name, sizeof out->name, "%.*s", FPR_SHORT, out->fingerprint);
		}
		if (!ok)
			errorf(a, "no peer named '%.*s'", shown(what.len), what.p);
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
