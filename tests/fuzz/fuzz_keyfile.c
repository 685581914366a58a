/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * fuzz_keyfile: the loaders of the files a user or an attacker with a copy can put in front of
 * a node: the identity file and the mesh key file (node/keyfile.c), the remembered peers
 * (node/trust.c, trust_open) and the allow list (node/trust_allow.c). The input after its first
 * byte is written to a file in a private temporary directory (on /dev/shm when there is one:
 * no disk), and the first byte says which loader reads it and what the file is: mode 0600 (most
 * often), other modes, a symlink, a directory, or no file; and, for an identity file, whether
 * its checksum and public key are made right first, so that the checks behind them are reached.
 *
 * What must hold, beyond no crash, leak or undefined behaviour (and no socket):
 * - a refusal is one line of printable ASCII, and says nothing of a secret: the same file with
 *   other key bytes (the seed, or other hex digits of the mesh key) is refused in exactly the
 *   same words;
 * - what loads is what the format says: an identity whose public key derives from its seed and
 *   whose checksum matches; a mesh key that is the file's 64 hex digits; a known peers file
 *   that trust_save() writes back into a file trust_open() reads to the same entries; an
 *   allow list with one ID per line that is not blank or a comment;
 * - a failed mesh key load leaves no key behind.
 *
 * Built alone as a libFuzzer binary (-DMESH_FUZZ=ON), or with replay.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fuzz_rng.h"
#include "keyfile.h"
#include "keys.h"
#include "trust.h"
#include "trust_allow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i);

#define REQUIRE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_keyfile: %s:%d: %s\n", __FILE__,     \
			        __LINE__, #c);                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

enum { L_IDENTITY, L_MESHKEY, L_KNOWN, L_ALLOW };
enum { K_0600, K_0640, K_0644, K_0400, K_SYMLINK, K_DIR, K_MISSING, K_0622 };
#define F_FIX_SUM 0x20           /* identity: the checksum made right */
#define F_FIX_PK 0x40            /* identity: the public key made right (then the checksum) */

/* Identity file layout (docs/crypto.md): magic, seed, public key, checksum. */
#define ID_SEED 8
#define ID_PK (ID_SEED + KEYS_SEEDLEN)
#define ID_SUM (ID_PK + KEYS_IDLEN)
#define ID_LEN (ID_SUM + 16)

static char dir[256], path[300], target[300], saved[300];

/* The directory lives for one input: libFuzzer may end the process without exit handlers. */
static void cleanup(void)
{
	unlink(path);
	rmdir(path);
	unlink(target);
	unlink(saved);
	rmdir(dir);
}

static void setup(void)
{
	const char *base = getenv("FUZZ_TMPDIR");
	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!base)
		base = "/tmp";
	snprintf(dir, sizeof dir, "%s/fuzz_keyfile-XXXXXX", base);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/file", dir);
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(saved, sizeof saved, "%s/saved", dir);
}

static void write_file(const char *where, const uint8_t *p, size_t n, mode_t mode)
{
	int fd = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(n == 0 || write(fd, p, n) == (ssize_t)n);
	REQUIRE(fchmod(fd, mode) == 0);
	close(fd);
}

/* The file under test at path, as kind says. */
static void make(const uint8_t *p, size_t n, int kind)
{
	static const mode_t modes[] = { 0600, 0640, 0644, 0400, 0600, 0, 0, 0622 };
	unlink(path);
	rmdir(path);
	unlink(target);
	switch (kind) {
	case K_SYMLINK:
		write_file(target, p, n, 0600);
		REQUIRE(symlink(target, path) == 0);
		break;
	case K_DIR:
		REQUIRE(mkdir(path, 0700) == 0);
		break;
	case K_MISSING:
		break;
	default:
		write_file(path, p, n, modes[kind]);
		break;
	}
}

/* A refusal: one line of printable ASCII. */
static void check_err(const char *err)
{
	size_t n = strlen(err);
	REQUIRE(n > 0);
	for (size_t i = 0; i < n; i++)
		REQUIRE(err[i] >= 0x20 && err[i] < 0x7f);
}

/* ------------------------------------------------------------------ the secret files */

static void identity(const uint8_t *p, size_t n, int kind, uint8_t flags)
{
	static uint8_t file[2][4096];
	char err[2][512];
	struct keys_identity *k[2];
	size_t len = n < sizeof file[0] ? n : sizeof file[0];

	/* the file as given (fixed up if asked), and the same with other seed bytes */
	for (int v = 0; v < 2; v++) {
		memcpy(file[v], p, len);
		if (v == 1)
			for (size_t i = ID_SEED; i < ID_PK && i < len; i++)
				file[v][i] ^= 0xa5;
		if (len == ID_LEN && (flags & F_FIX_PK)) {
			struct keys_identity *d = keys_identity_from_seed(file[v] + ID_SEED);
			REQUIRE(d != NULL);
			memcpy(file[v] + ID_PK, d->id, KEYS_IDLEN);
			keys_identity_destroy(&d);
		}
		if (len == ID_LEN && (flags & (F_FIX_SUM | F_FIX_PK)))
			crypto_generichash(file[v] + ID_SUM, 16, file[v], ID_SUM, NULL, 0);
	}
	for (int v = 0; v < 2; v++) {
		make(file[v], len, kind);
		err[v][0] = '\0';
		k[v] = keyfile_load_identity(path, err[v], sizeof err[v]);
		if (k[v]) {
			/* exactly the documented layout, and a key that belongs to its seed */
			uint8_t sum[16], seed[KEYS_SEEDLEN];
			REQUIRE(len == ID_LEN && memcmp(file[v], "MNIDENT1", 8) == 0);
			crypto_generichash(sum, sizeof sum, file[v], ID_SUM, NULL, 0);
			REQUIRE(memcmp(sum, file[v] + ID_SUM, 16) == 0);
			REQUIRE(memcmp(k[v]->id, file[v] + ID_PK, KEYS_IDLEN) == 0);
			keys_identity_seed(k[v], seed);
			REQUIRE(memcmp(seed, file[v] + ID_SEED, KEYS_SEEDLEN) == 0);
		} else if (kind != K_MISSING) {
			check_err(err[v]);
		}
	}
	/* the seed decides nothing but the key: both load, or both fail in the same words */
	REQUIRE((k[0] == NULL) == (k[1] == NULL));
	REQUIRE(strcmp(err[0], err[1]) == 0);
	keys_identity_destroy(&k[0]);
	keys_identity_destroy(&k[1]);

	if (kind == K_MISSING) {
		/* created on first use, then loaded as it was made */
		bool created = false;
		struct keys_identity *c = keyfile_load_or_create_identity(path, &created, err[0],
		                                                          sizeof err[0]);
		REQUIRE(c != NULL && created);
		struct keys_identity *again = keyfile_load_identity(path, err[0], sizeof err[0]);
		REQUIRE(again != NULL && memcmp(again->id, c->id, KEYS_IDLEN) == 0);
		REQUIRE(keyfile_write_identity(path, c, err[0], sizeof err[0]) != 0);  /* no overwrite */
		keys_identity_destroy(&c);
		keys_identity_destroy(&again);
	}
}

/* Another hex digit of the same case, so that a file stays as well- or ill-formed. */
static uint8_t other_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return (uint8_t)('0' + (c - '0' + 3) % 10);
	if (c >= 'a' && c <= 'f')
		return (uint8_t)('a' + (c - 'a' + 1) % 6);
	if (c >= 'A' && c <= 'F')
		return (uint8_t)('A' + (c - 'A' + 1) % 6);
	return c;
}

static void mesh_key(const uint8_t *p, size_t n, int kind)
{
	static uint8_t file[2][4096];
	char err[2][512];
	int rc[2];
	size_t len = n < sizeof file[0] ? n : sizeof file[0];
	uint8_t *key = sodium_malloc(KEYFILE_MESHKEY_LEN);
	REQUIRE(key != NULL);

	memcpy(file[0], p, len);
	for (size_t i = 0; i < len; i++)
		file[1][i] = other_digit(p[i]);
	for (int v = 0; v < 2; v++) {
		make(file[v], len, kind);
		memset(key, 0xee, KEYFILE_MESHKEY_LEN);
		err[v][0] = '\0';
		rc[v] = keyfile_load_mesh_key(path, key, err[v], sizeof err[v]);
		if (rc[v] == 0) {
			uint8_t want[KEYFILE_MESHKEY_LEN];
			REQUIRE(len == 64 || (len == 65 && file[v][64] == '\n'));
			REQUIRE(sodium_hex2bin(want, sizeof want, (const char *)file[v], 64, NULL, NULL,
			                       NULL) == 0);
			REQUIRE(memcmp(key, want, sizeof want) == 0);
		} else {
			check_err(err[v]);
			/* nothing of a key is left behind: untouched, or wiped */
			bool untouched = true, wiped = true;
			for (size_t i = 0; i < KEYFILE_MESHKEY_LEN; i++) {
				untouched = untouched && key[i] == 0xee;
				wiped = wiped && key[i] == 0;
			}
			REQUIRE(untouched || wiped);
		}
	}
	REQUIRE(rc[0] == rc[1] && strcmp(err[0], err[1]) == 0);
	sodium_free(key);
}

/* ------------------------------------------------------------------ the peer lists */

static bool same_entry(const struct trust_entry *a, const struct trust_entry *b)
{
	if (memcmp(a->id, b->id, TRUST_ID_LEN) != 0 || a->first_seen != b->first_seen ||
	    a->last_seen != b->last_seen || a->verified_at != b->verified_at ||
	    a->verified != b->verified || a->nnames != b->nnames)
		return false;
	for (size_t i = 0; i < a->nnames; i++)
		if (a->names[i].len != b->names[i].len ||
		    memcmp(a->names[i].s, b->names[i].s, a->names[i].len) != 0)
			return false;
	return true;
}

/* What the node does with a store: a peer seen with a name another entry has, then verified
 * and unverified. trust_seen() must report the others that used the name. */
static void seen_and_verified(struct trust *t)
{
	const struct trust_entry *found[1], *e = trust_count(t) ? trust_entry_at(t, 0) : NULL;
	const char *name = e && e->nnames ? e->names[0].s : "bob";
	size_t len = strlen(name);
	uint8_t fresh[TRUST_ID_LEN];
	struct trust_seen_result r;
	memset(fresh, 0xab, sizeof fresh);
	const struct trust_entry *old = trust_lookup(t, fresh);
	bool had = old != NULL, had_name = false;
	for (size_t k = 0; old && k < old->nnames; k++)
		had_name = had_name || strcmp(old->names[k].s, name) == 0;
	size_t others = trust_find_by_name(t, name, len, found, 1) - had_name;
	enum mesh_err rc = trust_seen(t, fresh, name, len, 2000000000, &r);
	if (rc != MESH_OK) {
		REQUIRE(rc == MESH_ELIMIT && !had && trust_count(t) == TRUST_MAX_PEERS);
		return;
	}
	REQUIRE(r.new_entry == !had && r.new_name == !had_name && r.others == others);
	const struct trust_entry *now = trust_lookup(t, fresh);
	REQUIRE(now && now->nnames >= 1 && strcmp(now->names[0].s, name) == 0);
	REQUIRE(now->last_seen == 2000000000 && trust_dirty(t));
	REQUIRE(trust_set_verified(t, fresh, true, 2000000001) == MESH_OK);
	now = trust_lookup(t, fresh);
	REQUIRE(now && now->verified && now->verified_at != 0);
	REQUIRE(trust_set_verified(t, fresh, false, 2000000002) == MESH_OK);
	now = trust_lookup(t, fresh);
	REQUIRE(now && !now->verified && now->verified_at == 0);
	REQUIRE(trust_seen(t, fresh, "\x01", 1, 5, &r) == MESH_EINVAL);   /* a control char */
}

static void known_peers(const uint8_t *p, size_t n, int kind, uint8_t flags)
{
	char err[512] = "";
	make(p, n, kind);
	struct trust *t = trust_open(path, err, sizeof err);
	if (!t) {
		REQUIRE(kind != K_MISSING);      /* a missing file is an empty store */
		check_err(err);
		return;
	}
	size_t count = trust_count(t);
	REQUIRE(count <= TRUST_MAX_PEERS && !trust_dirty(t));
	for (size_t i = 0; i < count; i++) {
		const struct trust_entry *e = trust_entry_at(t, i);
		REQUIRE(e && trust_lookup(t, e->id) == e);
		if (i)
			REQUIRE(memcmp(trust_entry_at(t, i - 1)->id, e->id, TRUST_ID_LEN) < 0);
		REQUIRE(e->first_seen <= e->last_seen && e->last_seen <= TRUST_MAX_TIME);
		REQUIRE(e->verified || e->verified_at == 0);
		REQUIRE(e->nnames <= TRUST_MAX_NAMES);
		for (size_t k = 0; k < e->nnames; k++) {
			const struct trust_entry *found[1];
			REQUIRE(e->names[k].len >= 1 && e->names[k].len == strlen(e->names[k].s));
			REQUIRE(trust_find_by_name(t, e->names[k].s, e->names[k].len, found, 1) >= 1);
		}
	}
	if (flags & 0x40)
		seen_and_verified(t);
	count = trust_count(t);
	/* what a save writes, an open reads back the same (sometimes: it syncs to disk) */
	if ((flags & 0x80) && count) {
		struct trust *t2;
		char err2[512];
		unlink(saved);
		/* the save goes to the file it was read from: move it aside first */
		REQUIRE(kind != K_SYMLINK && rename(path, saved) == 0);
		REQUIRE(trust_save(t, err2, sizeof err2) == MESH_OK);
		t2 = trust_open(path, err2, sizeof err2);
		REQUIRE(t2 != NULL && trust_count(t2) == count);
		for (size_t i = 0; i < count; i++)
			REQUIRE(same_entry(trust_entry_at(t, i), trust_entry_at(t2, i)));
		trust_destroy(&t2);
	}
	trust_destroy(&t);
	REQUIRE(t == NULL);
}

/* Lines that are not blank or a comment: the IDs an allow list must hold. */
static size_t id_lines(const uint8_t *p, size_t n)
{
	size_t count = 0, i = 0;
	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < n && p[i] != '\n' && p[i] != '#')
			count++;
		while (i < n && p[i] != '\n')
			i++;
		i++;
	}
	return count;
}

static void allow_list(const uint8_t *p, size_t n, int kind)
{
	char err[512] = "";
	make(p, n, kind);
	struct trust_allow *a = trust_allow_load(path, err, sizeof err);
	if (!a) {
		check_err(err);
		return;
	}
	REQUIRE(kind != K_MISSING && kind != K_DIR && kind != K_0622);
	REQUIRE(trust_allow_count(a) == id_lines(p, n) && trust_allow_count(a) <= TRUST_ALLOW_MAX);
	/* each of them is in: the 64 hex digits after a line's blanks, in either case */
	for (size_t i = 0; i < n;) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (n - i >= 64 && p[i] != '#' && p[i] != '\n') {
			uint8_t id[TRUST_ID_LEN];
			char hex[65];
			for (size_t k = 0; k < 64; k++)
				hex[k] = (char)(p[i + k] >= 'A' && p[i + k] <= 'F' ? p[i + k] - 'A' + 'a'
				                                                   : p[i + k]);
			hex[64] = '\0';
			REQUIRE(keys_id_from_hex(hex, id) == 0 && trust_allow_contains(a, id));
			id[0] ^= 1;
			(void)trust_allow_contains(a, id);
		}
		while (i < n && p[i] != '\n')
			i++;
		i++;
	}
	trust_allow_destroy(&a);
	REQUIRE(a == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rng_seed(3);
	if (size == 0)
		return 0;
	setup();
	uint8_t how = data[0];
	int kind = (how >> 2) & 7;
	/* mostly a plain 0600 file: the other kinds are few paths */
	if (how & 0x80)
		kind = K_0600;
	switch (how & 3) {
	case L_IDENTITY: identity(data + 1, size - 1, kind, how); break;
	case L_MESHKEY: mesh_key(data + 1, size - 1, kind); break;
	case L_KNOWN: known_peers(data + 1, size - 1, kind, how); break;
	default: allow_list(data + 1, size - 1, kind); break;
	}
	cleanup();
	return 0;
}

/* ------------------------------------------------------------------ seeds for replay.c */

size_t fuzz_seeds(uint8_t *buf, size_t cap, unsigned i)
{
	static const char known[] =
		"# meshnode known peers v1\n"
		"# a comment\n"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\tseen\t"
		"1700000000\t1700000500\t0\tbob\tbobby\n"
		"1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\tverified\t"
		"1700000000\t1700000000\t1700000100\t\xc3\xa9lise\n"
		"2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\tseen\t0\t0\t0\n";
	static const char allow[] =
		"# whom we link with\n"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef bob\n"
		"\n"
		"  1123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\t# alice\n";
	static const char key[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
	if (cap < 1024)
		return 0;
	switch (i) {
	case 0: case 1: case 2: {                /* an identity: as is, fixed, and missing */
		buf[0] = (uint8_t)(L_IDENTITY | (i == 1 ? F_FIX_PK : 0) | (i == 2 ? K_MISSING << 2 : 0));
		memcpy(buf + 1, "MNIDENT1", 8);
		for (size_t k = 8; k < ID_LEN; k++)
			buf[1 + k] = (uint8_t)(k * 7);
		return 1 + ID_LEN;
	}
	case 3: case 4:                          /* a mesh key, then one a symlink */
		buf[0] = (uint8_t)(L_MESHKEY | (i == 4 ? K_SYMLINK << 2 : 0));
		memcpy(buf + 1, key, sizeof key - 1);
		return sizeof key;
	case 5: case 6:                          /* known peers, read back after a save */
		buf[0] = (uint8_t)(L_KNOWN | (i == 6 ? 0x80 | 0x40 : K_0640 << 2));
		memcpy(buf + 1, known, sizeof known - 1);
		return sizeof known;
	case 7: case 8:                          /* an allow list, then one others may write */
		buf[0] = (uint8_t)(L_ALLOW | (i == 8 ? K_0622 << 2 : 0));
		memcpy(buf + 1, allow, sizeof allow - 1);
		return sizeof allow;
	default:
		return 0;
	}
}
