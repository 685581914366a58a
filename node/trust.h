/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * trust: the remembered peers (trust on first use). A pure file and memory module: no thread,
 * no socket, no clock (every time is the caller's `now`, unix seconds). The allow list is
 * trust_allow.h.
 *
 * The store remembers, per node ID, the names that ID has used (most recent first), when it
 * was first and last seen, and whether the user verified it. Its point is trust_seen()'s
 * answer: which OTHER IDs already used the name a peer just authenticated with, so that the
 * caller can warn "the name bob was used by another key before". At most TRUST_MAX_PEERS
 * entries; a new one then evicts the unverified entry seen longest ago if that was over a day
 * ago (TRUST_EVICT_AGE), never a verified one, and is not remembered otherwise.
 *
 * The file (docs/usage.md, "Remembered peers") is text, one peer per line, read strictly: any
 * bad line refuses the whole file with its line number, and a refused file is never
 * overwritten, since no store exists to save. It is opened and written like a key file
 * (secfile.h): ours, mode 0600, no symlink, replaced atomically.
 */
#ifndef MESH_NODE_TRUST_H
#define MESH_NODE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "mesh_err.h"
#include "wire.h"

#define TRUST_ID_LEN KEYS_IDLEN
#define TRUST_MAX_PEERS 4096
#define TRUST_MAX_NAMES 8                  /* names remembered per ID */
#define TRUST_EVICT_AGE 86400u             /* s: an entry seen since then is never evicted */
#define TRUST_MAX_NAME WIRE_MAX_NAME       /* bytes; the rule is wire_name_valid() */
#define TRUST_MAX_FILE (4u << 20)          /* bytes of known_peers, and of an allow list */
#define TRUST_MAX_TIME 253402300799u       /* 9999-12-31T23:59:59Z: larger is corruption */

struct trust_name {
	uint8_t len;                           /* 1..TRUST_MAX_NAME */
	char s[TRUST_MAX_NAME + 1];            /* NUL-terminated; no NUL inside (no control chars) */
};

/* One remembered peer. first_seen and last_seen are 0 for an ID the user pinned but that has
 * never been seen; verified_at is 0 unless verified. */
struct trust_entry {
	uint8_t id[TRUST_ID_LEN];
	uint64_t first_seen, last_seen, verified_at;
	bool verified;
	size_t nnames;
	size_t capnames;                            /* room in names[], at most TRUST_MAX_NAMES */
	struct trust_name names[];                  /* most recently used first */
};

struct trust;

/* Default path: $XDG_DATA_HOME/meshnode/known_peers when XDG_DATA_HOME is absolute, else
 * $HOME/.local/share/meshnode/known_peers. Returns 0, or -1 if neither applies or it does not
 * fit in cap. */
int trust_default_path(char *out, size_t cap);

/* Loads the store from path (NULL: the default path). A missing file is an empty store; the
 * file is created by the first trust_save(). On failure returns NULL and writes one line to
 * err naming the file, the line and the fix. */
struct trust *trust_open(const char *path, char *err, size_t errcap);
void trust_destroy(struct trust **tp);                     /* *tp = NULL; NULL ok */

const char *trust_path(const struct trust *t);             /* borrowed */
size_t trust_count(const struct trust *t);
/* Entries in order of ID, i < trust_count(). Every entry pointer is borrowed and valid until
 * the next trust_seen(), trust_set_verified() or trust_destroy(). */
const struct trust_entry *trust_entry_at(const struct trust *t, size_t i);
const struct trust_entry *trust_lookup(const struct trust *t, const uint8_t id[TRUST_ID_LEN]);

struct trust_seen_result {
	bool new_entry;          /* the ID was not in the store before */
	bool new_name;           /* this ID had not used this name before */
	bool evicted;            /* an unverified entry made room for this one */
	size_t others;           /* other IDs in the store that used this name, or one that passes
	                          * for it (trust_find_by_name), counted before any eviction */
	bool other_verified;     /* one of them is verified */
	uint8_t other_id[TRUST_ID_LEN]; /* when others > 0: a verified one if any, else the one
	                                   seen last */
};

/*
 * Records that the peer with this ID, authenticated, uses this name now: creates the entry if
 * new, moves the name to the front (the oldest of TRUST_MAX_NAMES falls off), and updates the
 * times. MESH_EINVAL if the name breaks wire_name_valid() or its size limits (nothing
 * changes), also for a now above TRUST_MAX_TIME; MESH_ELIMIT if the store is full of verified
 * entries and entries seen within TRUST_EVICT_AGE (nothing is recorded, but res->others is
 * filled in); MESH_ENOMEM. res is always written.
 */
enum mesh_err trust_seen(struct trust *t, const uint8_t id[TRUST_ID_LEN], const char *name,
                         size_t len, uint64_t now, struct trust_seen_result *res);

/* Marks an ID verified (at now) or not. Verifying an ID not in the store adds it, never seen
 * (the user pins an ID by its hex); that may evict as trust_seen() does, or fail with
 * MESH_ELIMIT. Verifying a verified ID keeps its first verified_at. Unverifying an ID not in
 * the store is MESH_ENOTFOUND. */
enum mesh_err trust_set_verified(struct trust *t, const uint8_t id[TRUST_ID_LEN], bool verified,
                                 uint64_t now);

/* The entries whose names include this one or one that passes for it (the same but for
 * ASCII case and blanks at either end), in order of ID: fills up to cap of them into out and
 * returns how many there are in all. */
size_t trust_find_by_name(const struct trust *t, const char *name, size_t len,
                          const struct trust_entry **out, size_t cap);

/* A hash that names passing for each other share (the same but for ASCII case and blanks at
 * either end, as trust_find_by_name sees them): a key for what is said about "a name". */
uint64_t trust_name_key(const char *name, size_t len);

/* True when the store has changed since it was loaded or last saved. */
bool trust_dirty(const struct trust *t);
/* Writes the whole store to its path atomically, mode 0600 (missing directories are made,
 * 0700), and clears the dirty flag. Comments and blank lines of the file loaded are not kept.
 * MESH_EIO or MESH_ENOMEM with a one-line reason in err; the file is then as it was. */
enum mesh_err trust_save(struct trust *t, char *err, size_t errcap);
/* trust_save() in two steps, so that the store's lock need not be held while a disk writes:
 * trust_snapshot() makes the file's bytes (*out, *outlen; the caller frees *out) and clears
 * the dirty flag; trust_write() writes them to path as trust_save() does. A write that fails
 * leaves the store clean: the caller marks it changed again (trust_mark_dirty). */
enum mesh_err trust_snapshot(struct trust *t, char **out, size_t *outlen, char *err,
                             size_t errcap);
enum mesh_err trust_write(const char *path, const char *buf, size_t len, char *err,
                          size_t errcap);
void trust_mark_dirty(struct trust *t);

#endif
