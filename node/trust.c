/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * trust: the remembered peers (trust.h; the file format is in docs/usage.md, "Remembered
 * peers").
 *
 * Invariants:
 * - v[0..n) holds n <= TRUST_MAX_PEERS separately allocated entries, sorted by ID with no two
 *   alike, so a lookup is a binary search that no choice of IDs can slow down.
 * - Every entry obeys what the loader checks: names valid, distinct, at most TRUST_MAX_NAMES;
 *   first_seen <= last_seen, every time <= TRUST_MAX_TIME; verified_at is 0 unless verified.
 *   So whatever trust_save() writes, trust_open() reads back.
 * - A file is parsed whole before a store exists: a bad line refuses it and nothing is kept,
 *   so a corrupt file is never half-loaded, nor replaced by a later save.
 * - Error text names the file, the line and the fix, never bytes of the file.
 */
#include "trust.h"
#include "linefile.h"
#include "secfile.h"

#include <inttypes.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HEADER "# meshnode known peers v1"
#define HEADER_STEM "# meshnode known peers v"
#define MIN_FIELDS 5                       /* ID, status, first, last, verified-at */
#define MAX_FIELDS (MIN_FIELDS + TRUST_MAX_NAMES)

/* Lines a save writes after the header; the loader skips them as comments. */
static const char PREAMBLE[] =
	"# The peers this node has met (docs/usage.md, \"Remembered peers\"). meshnode rewrites\n"
	"# this file: edit it only while meshnode is stopped. One peer per line, tab-separated:\n"
	"# ID, verified or seen, first seen, last seen, verified at (unix seconds, 0 = never),\n"
	"# then the names it used, newest first.\n";

struct trust {
	char *path;
	size_t n;
	bool dirty;
	struct trust_entry *v[TRUST_MAX_PEERS];
};

static const char WHAT[] = "known peers file";
static const char FIX[] = "fix or move it away";

static bool parse_time(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > TRUST_MAX_TIME)    /* checked every digit, so v * 10 cannot overflow */
			return false;
	}
	*out = v;
	return true;
}

static bool name_ok(const char *s, size_t len)
{
	return s && len >= 1 && len <= TRUST_MAX_NAME && wire_name_valid(s, len);
}

/* Index of the name in e, or -1. */
static int name_index(const struct trust_entry *e, const char *s, size_t len)
{
	for (size_t i = 0; i < e->nnames; i++)
		if (e->names[i].len == len && memcmp(e->names[i].s, s, len) == 0)
			return (int)i;
	return -1;
}

/* Trims ASCII blanks at both ends. */
static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' '))
		(*s)++, (*len)--;
	while (*len && (*s)[*len - 1] == ' ')
		(*len)--;
}

/*
 * Whether two names would pass for each other to a reader: the same but for ASCII case and
 * blanks at either end ("Bob", "bob "). Look-alike letters of other scripts ("bоb" with a
 * Cyrillic о) are not caught: docs/usage.md says so.
 */
static bool name_alike(const char *a, size_t alen, const char *b, size_t blen)
{
	trim(&a, &alen);
	trim(&b, &blen);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

uint64_t trust_name_key(const char *name, size_t len)
{
	trim(&name, &len);
	uint64_t h = 1469598103934665603ull;        /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)tolower((unsigned char)name[i])) * 1099511628211ull;
	return h;
}

/* Index of a name in e that passes for this one (name_alike), or -1. */
static int alike_index(const struct trust_entry *e, const char *s, size_t len)
{
	for (size_t i = 0; i < e->nnames; i++)
		if (name_alike(e->names[i].s, e->names[i].len, s, len))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ the store file */

/* A zeroed entry with room for cap names; NULL if out of memory. A peer uses one name as a
 * rule, and the store holds up to TRUST_MAX_PEERS entries: room for TRUST_MAX_NAMES in each
 * was 600 bytes an entry, most of it never written. */
static struct trust_entry *entry_new(size_t cap)
{
	struct trust_entry *e = calloc(1, sizeof *e + cap * sizeof e->names[0]);
	if (e)
		e->capnames = cap;
	return e;
}

/* One peer line into e (room for TRUST_MAX_NAMES); false with err set. */
static bool parse_peer(const struct linefile *l, const char *s, size_t len,
                       struct trust_entry *e, char *err, size_t errcap)
{
	const char *f[MAX_FIELDS];
	size_t flen[MAX_FIELDS], nf = 0;
	const char *p = s, *end = s + len;
	for (;;) {
		if (nf == MAX_FIELDS) {       /* a tab ended the last field there can be */
			nf++;
			break;
		}
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		f[nf] = p;
		flen[nf++] = tab ? (size_t)(tab - p) : (size_t)(end - p);
		if (!tab)
			break;
		p = tab + 1;
	}
	if (nf < MIN_FIELDS || nf > MAX_FIELDS) {
		linefile_err(l, l->no, err, errcap, "%s fields, where %d to %d separated by tabs "
		             "are expected", nf < MIN_FIELDS ? "too few" : "too many", MIN_FIELDS,
		             MAX_FIELDS);
		return false;
	}
	size_t cap = e->capnames;
	memset(e, 0, sizeof *e);
	e->capnames = cap;
	if (flen[0] != LINEFILE_HEXID_LEN || !linefile_hexid(f[0], flen[0], false, e->id)) {
		linefile_err(l, l->no, err, errcap, "the ID is not %d lowercase hex digits",
		             LINEFILE_HEXID_LEN);
		return false;
	}
	if (flen[1] == 8 && memcmp(f[1], "verified", 8) == 0) {
		e->verified = true;
	} else if (!(flen[1] == 4 && memcmp(f[1], "seen", 4) == 0)) {
		linefile_err(l, l->no, err, errcap, "the second field is neither verified nor seen");
		return false;
	}
	static const char *const time_name[] = { "first seen", "last seen", "verified at" };
	uint64_t *times[] = { &e->first_seen, &e->last_seen, &e->verified_at };
	for (size_t i = 0; i < 3; i++)
		if (!parse_time(f[2 + i], flen[2 + i], times[i])) {
			linefile_err(l, l->no, err, errcap, "%s is not a number of seconds from 0 to "
			             "%" PRIu64, time_name[i], (uint64_t)TRUST_MAX_TIME);
			return false;
		}
	if (e->first_seen > e->last_seen) {
		linefile_err(l, l->no, err, errcap, "first seen is after last seen");
		return false;
	}
	if (!e->verified && e->verified_at != 0) {
		linefile_err(l, l->no, err, errcap, "verified at is not 0 for a peer that is not "
		             "verified");
		return false;
	}
	for (size_t i = MIN_FIELDS; i < nf; i++) {
		size_t k = i - MIN_FIELDS + 1;
		if (!name_ok(f[i], flen[i])) {
			linefile_err(l, l->no, err, errcap, "name %zu is not 1 to %d bytes of UTF-8 "
			             "without control characters", k, TRUST_MAX_NAME);
			return false;
		}
		if (name_index(e, f[i], flen[i]) >= 0) {
			linefile_err(l, l->no, err, errcap, "name %zu is there twice", k);
			return false;
		}
		struct trust_name *nm = &e->names[e->nnames++];
		nm->len = (uint8_t)flen[i];
		memcpy(nm->s, f[i], flen[i]);
		nm->s[flen[i]] = '\0';
	}
	return true;
}

/* Parses the whole file into t->v, sorted; false with err set (entries already made are
 * t->v[0..t->n), for the caller to free). */
static bool parse_store(struct trust *t, const char *buf, size_t len, char *err, size_t errcap)
{
	struct linefile l = { WHAT, t->path, FIX, buf, len, 0 };
	struct linefile_id *order = NULL;
	const char *s;
	size_t n;
	bool ok = false;
	int got;

	if ((got = linefile_next(&l, &s, &n, err, errcap)) < 0)
		return false;
	if (got == 0 || n != strlen(HEADER) || memcmp(s, HEADER, n) != 0) {
		/* "v" and digits: a format this meshnode does not know, so not corruption */
		size_t stem = strlen(HEADER_STEM), i = stem;
		bool other = got && n > stem && memcmp(s, HEADER_STEM, stem) == 0;
		for (; other && i < n; i++)
			other = s[i] >= '0' && s[i] <= '9';
		linefile_err(&l, 1, err, errcap, "%s", other ? "an unknown version of the format "
		             "(this meshnode reads v1)" : "the first line is not \"" HEADER "\"");
		return false;
	}
	order = malloc(TRUST_MAX_PEERS * sizeof *order);
	if (!order) {
		secfile_err(err, errcap, "out of memory reading %s %s", WHAT, t->path);
		return false;
	}
	while ((got = linefile_next(&l, &s, &n, err, errcap)) > 0) {
		if (linefile_empty(s, n))
			continue;
		if (t->n == TRUST_MAX_PEERS) {
			linefile_err(&l, l.no, err, errcap, "more than %d peers", TRUST_MAX_PEERS);
			goto done;
		}
		struct trust_entry *e = entry_new(TRUST_MAX_NAMES);
		if (!e) {
			secfile_err(err, errcap, "out of memory reading %s %s", WHAT, t->path);
			goto done;
		}
		t->v[t->n++] = e;
		if (!parse_peer(&l, s, n, e, err, errcap))
			goto done;
		/* down to the names it has (a shrink: it fails only to keep the block as it is) */
		size_t keep = e->nnames ? e->nnames : 1;
		struct trust_entry *small = realloc(e, sizeof *e + keep * sizeof e->names[0]);
		if (small) {
			small->capnames = keep;
			t->v[t->n - 1] = e = small;
		}
		memcpy(order[t->n - 1].id, e->id, TRUST_ID_LEN);
		order[t->n - 1].line = l.no;
		order[t->n - 1].item = e;
	}
	if (got < 0 || !linefile_sort_unique(&l, order, t->n, err, errcap))
		goto done;
	for (size_t i = 0; i < t->n; i++)
		t->v[i] = order[i].item;
	ok = true;
done:
	free(order);
	return ok;
}

/* ------------------------------------------------------------------ the store */

int trust_default_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int n;
	/* The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/meshnode/known_peers", xdg);
	else if (home && home[0] != '\0')
		n = snprintf(out, cap, "%s/.local/share/meshnode/known_peers", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void trust_destroy(struct trust **tp)
{
	struct trust *t = tp ? *tp : NULL;
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->path);
	free(t);
	*tp = NULL;
}

struct trust *trust_open(const char *path, char *err, size_t errcap)
{
	char def[4096];
	struct trust *t = NULL;
	char *buf = NULL;
	size_t len = 0;
	off_t size = 0;
	int fd = -1;

	if (sodium_init() < 0) {            /* secfile_write's random temp names */
		secfile_err(err, errcap, "libsodium failed to initialise");
		return NULL;
	}
	if (!path) {
		if (trust_default_path(def, sizeof def) != 0) {
			secfile_err(err, errcap, "no place for the known peers file: set HOME or "
			            "XDG_DATA_HOME, or give its path");
			return NULL;
		}
		path = def;
	}
	t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(path))) {
		secfile_err(err, errcap, "out of memory opening %s %s", WHAT, path);
		goto fail;
	}
	switch (secfile_open(path, WHAT, "the files that say whom it trusts", &fd, &size,
	                     err, errcap)) {
	case SECFILE_OPEN_OK:
		break;
	case SECFILE_OPEN_MISSING:
		if (err && errcap)
			err[0] = '\0';
		return t;
	case SECFILE_OPEN_REFUSED:
		goto fail;
	}
	struct linefile l = { WHAT, path, FIX, NULL, 0, 0 };
	buf = linefile_read(fd, size, TRUST_MAX_FILE, &l, &len, err, errcap);
	if (!buf || !parse_store(t, buf, len, err, errcap))
		goto fail;
	free(buf);
	return t;
fail:
	free(buf);
	trust_destroy(&t);
	return NULL;
}

const char *trust_path(const struct trust *t)
{
	return t->path;
}

size_t trust_count(const struct trust *t)
{
	return t->n;
}

const struct trust_entry *trust_entry_at(const struct trust *t, size_t i)
{
	return i < t->n ? t->v[i] : NULL;
}

/* Where id is, or where it would go; *found says which. */
static size_t find(const struct trust *t, const uint8_t id[TRUST_ID_LEN], bool *found)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(t->v[mid]->id, id, TRUST_ID_LEN);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const struct trust_entry *trust_lookup(const struct trust *t, const uint8_t id[TRUST_ID_LEN])
{
	bool found;
	size_t i = find(t, id, &found);
	return found ? t->v[i] : NULL;
}

/* Adds a fresh entry for id (not in the store), evicting the unverified entry seen longest
 * ago when full, if that was more than TRUST_EVICT_AGE before now: a flood of fresh keys
 * must not make the store forget the peers met today, whose names the alarms watch. NULL
 * with *rc set when it cannot. */
static struct trust_entry *add(struct trust *t, const uint8_t id[TRUST_ID_LEN], uint64_t now,
                               bool *evicted, enum mesh_err *rc)
{
	size_t victim = t->n;
	*evicted = false;
	if (t->n == TRUST_MAX_PEERS) {
		for (size_t i = 0; i < t->n; i++)
			if (!t->v[i]->verified && t->v[i]->last_seen + TRUST_EVICT_AGE <= now &&
			    (victim == t->n || t->v[i]->last_seen < t->v[victim]->last_seen))
				victim = i;
		if (victim == t->n) {
			*rc = MESH_ELIMIT;
			return NULL;
		}
	}
	/* Allocated before anything is evicted, so that running out of memory loses nothing. */
	struct trust_entry *e = entry_new(1);
	if (!e) {
		*rc = MESH_ENOMEM;
		return NULL;
	}
	if (victim < t->n) {
		free(t->v[victim]);
		memmove(&t->v[victim], &t->v[victim + 1], (t->n - victim - 1) * sizeof t->v[0]);
		t->n--;
		*evicted = true;
	}
	bool found;
	size_t at = find(t, id, &found);
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof t->v[0]);
	t->v[at] = e;
	t->n++;
	memcpy(e->id, id, TRUST_ID_LEN);
	t->dirty = true;
	return e;
}

enum mesh_err trust_seen(struct trust *t, const uint8_t id[TRUST_ID_LEN], const char *name,
                         size_t len, uint64_t now, struct trust_seen_result *res)
{
	enum mesh_err rc = MESH_OK;
	const struct trust_entry *best = NULL;
	memset(res, 0, sizeof *res);
	if (!name_ok(name, len) || now > TRUST_MAX_TIME)
		return MESH_EINVAL;
	/* The others first: an eviction below must not hide that one of them used the name. */
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *o = t->v[i];
		if (memcmp(o->id, id, TRUST_ID_LEN) == 0 || alike_index(o, name, len) < 0)
			continue;
		res->others++;
		res->other_verified |= o->verified;
		if (!best || (o->verified && !best->verified) ||
		    (o->verified == best->verified && o->last_seen > best->last_seen))
			best = o;
	}
	if (best)
		memcpy(res->other_id, best->id, TRUST_ID_LEN);

	struct trust_entry *e = (struct trust_entry *)trust_lookup(t, id);
	if (!e) {
		e = add(t, id, now, &res->evicted, &rc);
		if (!e)
			return rc;
		res->new_entry = true;
	}
	/* A copy first: name may be one of this entry's own, which the move below overwrites
	 * (and the entry may move when it grows). */
	struct trust_name nm = { .len = (uint8_t)len };
	memcpy(nm.s, name, len);
	int at = name_index(e, name, len);
	res->new_name = at < 0;
	if (at < 0 && e->nnames == e->capnames && e->capnames < TRUST_MAX_NAMES) {
		/* room for one more name: the entry grows, and its place in t->v follows it */
		bool found;
		size_t i = find(t, id, &found);
		struct trust_entry *big = realloc(e, sizeof *e + (e->capnames + 1) * sizeof e->names[0]);
		if (!big)
			return MESH_ENOMEM;
		big->capnames++;
		t->v[i] = e = big;
	}
	if (at < 0)      /* the oldest falls off when all slots are taken */
		at = (int)(e->nnames < e->capnames ? e->nnames++ : e->capnames - 1);
	memmove(&e->names[1], &e->names[0], (size_t)at * sizeof e->names[0]);
	e->names[0] = nm;
	/* Never seen (pinned), or seen: first_seen stays the first; a wall clock that stepped back
	 * does not move last_seen back either, so first_seen <= last_seen holds. */
	if (e->first_seen == 0)
		e->first_seen = now;
	if (now > e->last_seen)
		e->last_seen = now;
	t->dirty = true;
	return MESH_OK;
}

enum mesh_err trust_set_verified(struct trust *t, const uint8_t id[TRUST_ID_LEN], bool verified,
                                 uint64_t now)
{
	enum mesh_err rc = MESH_OK;
	bool evicted;
	if (now > TRUST_MAX_TIME)
		return MESH_EINVAL;
	struct trust_entry *e = (struct trust_entry *)trust_lookup(t, id);
	if (!e && !verified)
		return MESH_ENOTFOUND;
	if (!e && !(e = add(t, id, now, &evicted, &rc)))
		return rc;
	if (e->verified == verified)
		return MESH_OK;
	e->verified = verified;
	e->verified_at = verified ? now : 0;
	t->dirty = true;
	return MESH_OK;
}

size_t trust_find_by_name(const struct trust *t, const char *name, size_t len,
                          const struct trust_entry **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (alike_index(t->v[i], name, len) >= 0) {
			if (n < cap)
				out[n] = t->v[i];
			n++;
		}
	return n;
}

bool trust_dirty(const struct trust *t)
{
	return t->dirty;
}

void trust_mark_dirty(struct trust *t)
{
	t->dirty = true;
}

enum mesh_err trust_snapshot(struct trust *t, char **out, size_t *outlen, char *err,
                             size_t errcap)
{
	/* The longest line: ID, status, three times, every name, their tabs and the newline. */
	const size_t line_max = LINEFILE_HEXID_LEN + 1 + 8 + 3 * (1 + 20) +
	                        TRUST_MAX_NAMES * (1 + TRUST_MAX_NAME) + 1;
	size_t cap = sizeof HEADER + sizeof PREAMBLE + t->n * line_max, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		secfile_err(err, errcap, "out of memory saving %s %s", WHAT, t->path);
		return MESH_ENOMEM;
	}
	len += (size_t)snprintf(buf, cap, "%s\n%s", HEADER, PREAMBLE);
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = t->v[i];
		char hex[LINEFILE_HEXID_LEN + 1];
		sodium_bin2hex(hex, sizeof hex, e->id, TRUST_ID_LEN);
		len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%"
		                        PRIu64, hex, e->verified ? "verified" : "seen", e->first_seen,
		                        e->last_seen, e->verified_at);
		for (size_t k = 0; k < e->nnames; k++) {
			buf[len++] = '\t';
			memcpy(buf + len, e->names[k].s, e->names[k].len);
			len += e->names[k].len;
		}
		buf[len++] = '\n';
	}
	*out = buf;
	*outlen = len;
	t->dirty = false;
	return MESH_OK;
}

enum mesh_err trust_write(const char *path, const char *buf, size_t len, char *err,
                          size_t errcap)
{
	enum secfile_write w = secfile_write(path, WHAT, (const uint8_t *)buf, len, true, err,
	                                     errcap);
	return w == SECFILE_WRITTEN ? MESH_OK : MESH_EIO;
}

enum mesh_err trust_save(struct trust *t, char *err, size_t errcap)
{
	char *buf;
	size_t len;
	enum mesh_err rc = trust_snapshot(t, &buf, &len, err, errcap);
	if (rc != MESH_OK)
		return rc;
	rc = trust_write(t->path, buf, len, err, errcap);
	free(buf);
	if (rc != MESH_OK)
		t->dirty = true;
	return rc;
}
