/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* test_keyfile: node/keyfile.c against real files in a private temp directory. The happy paths
 * (create, load, no overwrite, 0700/0600) each face their hostile twins: loose permissions,
 * every truncation, every flipped byte, oversize, symlink, directory, FIFO, foreign owner. Every
 * error string is screened for key material, and nothing secret is ever printed. */
#include "keyfile.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#define ID_FILE_LEN 88          /* docs/crypto.md, "Identity file" */
#define MAX_SECRETS 16

static char tmpdir[] = "/tmp/test_keyfile.XXXXXX";
static char err[512];

/* Secrets whose hex (either case) or raw bytes must never show up in an error string. */
static uint8_t secrets[MAX_SECRETS][32];
static size_t nsecrets;
static unsigned long leaks;

static void add_secret(const uint8_t s[32])
{
	if (nsecrets < MAX_SECRETS)
		memcpy(secrets[nsecrets++], s, 32);
}

static bool contains_bytes(const char *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

/* Called on every error string the code produced. */
static void screen_err(void)
{
	size_t n = strnlen(err, sizeof err);
	for (size_t i = 0; i < nsecrets; i++) {
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, secrets[i], 32);
		/* Half a key is already too much: look for any 16-character run of its hex. */
		for (int upper = 0; upper < 2; upper++) {
			for (size_t j = 0; upper && hex[j]; j++)
				if (hex[j] >= 'a' && hex[j] <= 'f')
					hex[j] = (char)(hex[j] - 'a' + 'A');
			for (size_t off = 0; off + 16 <= 64; off += 8)
				leaks += contains_bytes(err, n, hex + off, 16);
		}
		leaks += contains_bytes(err, n, secrets[i], 8);
		sodium_memzero(hex, sizeof hex);
	}
}

static void path_in(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", tmpdir, rel);
	if (n < 0 || (size_t)n >= cap)
		abort();
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -1;
	int rc = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

static size_t count_entries(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Expects a refused identity load: NULL, an error naming the file, and no secret in it. */
static bool id_refused(const char *path)
{
	err[0] = '\0';
	struct keys_identity *k = keyfile_load_identity(path, err, sizeof err);
	bool ok = k == NULL && strstr(err, path) != NULL;
	screen_err();
	keys_identity_destroy(&k);
	return ok;
}

static void test_default_path(void)
{
	char out[256];
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	CHECK(keyfile_default_identity_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/x/cfg/meshnode/identity") == 0);
	/* A relative XDG_CONFIG_HOME is invalid per the XDG spec, and so is an empty one. */
	setenv("XDG_CONFIG_HOME", "cfg", 1);
	CHECK(keyfile_default_identity_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/home/u/.config/meshnode/identity") == 0);
	setenv("XDG_CONFIG_HOME", "", 1);
	CHECK(keyfile_default_identity_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/home/u/.config/meshnode/identity") == 0);
	unsetenv("XDG_CONFIG_HOME");
	CHECK(keyfile_default_identity_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/home/u/.config/meshnode/identity") == 0);
	size_t need = strlen(out) + 1;
	CHECK(keyfile_default_identity_path(out, need - 1) != 0);       /* no room for the NUL */
	CHECK(keyfile_default_identity_path(out, need) == 0);
	unsetenv("HOME");
	CHECK(keyfile_default_identity_path(out, sizeof out) != 0);
}

static void test_create_load(void)
{
	char path[512], parent[512], grand[512];
	uint8_t seed[KEYS_SEEDLEN], sum[16];
	path_in(path, sizeof path, "a/b/identity");
	path_in(parent, sizeof parent, "a/b");
	path_in(grand, sizeof grand, "a");

	/* Loading never creates. */
	err[0] = '\0';
	CHECK(keyfile_load_identity(path, err, sizeof err) == NULL);
	CHECK(strstr(err, path) && strstr(err, "does not exist"));

	err[0] = '\0';
	bool created = false;
	struct keys_identity *k = keyfile_load_or_create_identity(path, &created, err, sizeof err);
	CHECK(k != NULL && created);
	if (!k) {
		fprintf(stderr, "load_or_create: %s\n", err);
		return;
	}
	keys_identity_seed(k, seed);
	add_secret(seed);

	struct stat st;
	CHECK(stat(grand, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	CHECK(stat(parent, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	CHECK(st.st_size == ID_FILE_LEN && st.st_uid == geteuid());
	CHECK(count_entries(parent) == 1);      /* no temp file left behind */

	/* The documented layout, byte for byte. */
	size_t len = 0;
	char *raw = testlib_slurp(path, &len);
	CHECK(raw && len == ID_FILE_LEN);
	if (raw && len == ID_FILE_LEN) {
		const uint8_t *b = (const uint8_t *)raw;
		CHECK(memcmp(b, "MNIDENT1", 8) == 0);
		CHECK(memcmp(b + 8, seed, KEYS_SEEDLEN) == 0);
		CHECK(memcmp(b + 40, k->id, KEYS_IDLEN) == 0);
		crypto_generichash(sum, sizeof sum, b, 72, NULL, 0);
		CHECK(memcmp(b + 72, sum, sizeof sum) == 0);
	}

	/* Load and load_or_create both return the same identity. */
	struct keys_identity *k2 = keyfile_load_identity(path, err, sizeof err);
	CHECK(k2 && memcmp(k2->id, k->id, KEYS_IDLEN) == 0);
	CHECK(k2 && sodium_memcmp(k2->ed_sk, k->ed_sk, sizeof k->ed_sk) == 0);
	CHECK(k2 && sodium_memcmp(k2->x_sk, k->x_sk, KEYS_XLEN) == 0);
	keys_identity_destroy(&k2);
	k2 = keyfile_load_or_create_identity(path, &created, err, sizeof err);
	CHECK(k2 && memcmp(k2->id, k->id, KEYS_IDLEN) == 0 && !created);
	keys_identity_destroy(&k2);

	/* A second create refuses, and the file is left exactly as it was. */
	struct keys_identity *other = keys_identity_generate();
	CHECK(other != NULL);
	if (other) {
		uint8_t oseed[KEYS_SEEDLEN];
		keys_identity_seed(other, oseed);
		add_secret(oseed);
		sodium_memzero(oseed, sizeof oseed);
		err[0] = '\0';
		CHECK(keyfile_write_identity(path, other, err, sizeof err) != 0);
		CHECK(strstr(err, path) && strstr(err, "already exists"));
		screen_err();
		CHECK(keyfile_write_identity(path, k, err, sizeof err) != 0);
		size_t len2 = 0;
		char *raw2 = testlib_slurp(path, &len2);
		CHECK(raw && raw2 && len2 == len && memcmp(raw, raw2, len) == 0);
		CHECK(count_entries(parent) == 1);
		if (raw2)
			sodium_memzero(raw2, len2);
		free(raw2);
	}

	/* The file is 0600 whatever the umask took away at creation. */
	char strict[512];
	path_in(strict, sizeof strict, "a/b/strict");
	mode_t old = umask(0377);
	CHECK(other && keyfile_write_identity(strict, other, err, sizeof err) == 0);
	umask(old);
	CHECK(lstat(strict, &st) == 0 && (st.st_mode & 07777) == 0600);
	k2 = keyfile_load_identity(strict, err, sizeof err);
	CHECK(k2 && other && memcmp(k2->id, other->id, KEYS_IDLEN) == 0);
	keys_identity_destroy(&k2);
	keys_identity_destroy(&other);

	if (raw)
		sodium_memzero(raw, len);
	free(raw);
	keys_identity_destroy(&k);
	sodium_memzero(seed, sizeof seed);
}

/* Each hostile case starts from a good file's bytes. */
static void test_identity_hostile(void)
{
	char path[512], good[512], bad[512];
	uint8_t file[ID_FILE_LEN + ID_FILE_LEN], seed[KEYS_SEEDLEN];
	path_in(good, sizeof good, "good");
	path_in(path, sizeof path, "hostile");

	struct keys_identity *k = keyfile_load_or_create_identity(good, NULL, err, sizeof err);
	CHECK(k != NULL);
	if (!k)
		return;
	keys_identity_seed(k, seed);
	add_secret(seed);
	size_t len = 0;
	char *raw = testlib_slurp(good, &len);
	CHECK(raw && len == ID_FILE_LEN);
	if (!raw || len != ID_FILE_LEN)
		goto done;
	memcpy(file, raw, ID_FILE_LEN);

	/* Permissions: any group or other bit is refused, with the fix in the message. */
	static const mode_t loose[] = { 0644, 0640, 0604, 0620, 0602, 0660, 0606, 0610, 0601, 0666 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		CHECK(write_file(path, file, ID_FILE_LEN, loose[i]) == 0);
		CHECK(id_refused(path));
		CHECK(strstr(err, "chmod 600") != NULL);
	}
	CHECK(write_file(path, file, ID_FILE_LEN, 0644) == 0);
	CHECK(id_refused(path));
	CHECK(strstr(err, "(mode 0644)") != NULL);
	/* ...and load_or_create does not replace a refused file. */
	err[0] = '\0';
	CHECK(keyfile_load_or_create_identity(path, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	screen_err();
	static const mode_t strict[] = { 0600, 0400 };
	for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++) {
		CHECK(write_file(path, file, ID_FILE_LEN, strict[i]) == 0);
		struct keys_identity *k2 = keyfile_load_identity(path, err, sizeof err);
		CHECK(k2 && memcmp(k2->id, k->id, KEYS_IDLEN) == 0);
		keys_identity_destroy(&k2);
	}

	/* Truncated at every offset. */
	int accepted = 0, unnamed = 0;
	for (size_t n = 0; n < ID_FILE_LEN; n++) {
		CHECK(write_file(path, file, n, 0600) == 0);
		accepted += !id_refused(path);
		unnamed += strstr(err, "truncated") == NULL;
	}
	CHECK(accepted == 0 && unnamed == 0);
	CHECK(write_file(path, file, 40, 0600) == 0);
	CHECK(keyfile_load_or_create_identity(path, NULL, err, sizeof err) == NULL);
	screen_err();
	struct stat st;
	CHECK(lstat(path, &st) == 0 && st.st_size == 40);

	/* Every byte flipped, several ways: magic, seed, key and checksum are all covered. */
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	accepted = 0;
	for (size_t i = 0; i < ID_FILE_LEN; i++)
		for (size_t f = 0; f < sizeof flips; f++) {
			file[i] ^= flips[f];
			CHECK(write_file(path, file, ID_FILE_LEN, 0600) == 0);
			accepted += !id_refused(path);
			file[i] ^= flips[f];
		}
	CHECK(accepted == 0);

	/* Oversize: one byte more, or two files back to back. */
	memcpy(file + ID_FILE_LEN, file, ID_FILE_LEN);
	CHECK(write_file(path, file, ID_FILE_LEN + 1, 0600) == 0);
	CHECK(id_refused(path));
	CHECK(strstr(err, "unexpected size 89") != NULL);
	CHECK(write_file(path, file, 2 * ID_FILE_LEN, 0600) == 0);
	CHECK(id_refused(path));

	/* A consistent checksum over a public key that is not the seed's. */
	struct keys_identity *other = keys_identity_generate();
	CHECK(other != NULL);
	if (other) {
		memcpy(file + 40, other->id, KEYS_IDLEN);
		crypto_generichash(file + 72, 16, file, 72, NULL, 0);
		CHECK(write_file(path, file, ID_FILE_LEN, 0600) == 0);
		CHECK(id_refused(path));
		CHECK(strstr(err, "does not match") != NULL);
		memcpy(file, raw, ID_FILE_LEN);
		keys_identity_destroy(&other);
	}

	/* A symlink to a good file, and a dangling one that load_or_create must not follow. */
	unlink(path);
	CHECK(symlink(good, path) == 0);
	CHECK(id_refused(path));
	CHECK(strstr(err, "symbolic link") != NULL);
	path_in(bad, sizeof bad, "dangling");
	char target[512];
	path_in(target, sizeof target, "target");
	CHECK(symlink(target, bad) == 0);
	err[0] = '\0';
	CHECK(keyfile_load_or_create_identity(bad, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, bad) != NULL);
	CHECK(lstat(target, &st) != 0 && errno == ENOENT);

	/* A directory, a FIFO (must not block), and a path through a regular file. */
	path_in(bad, sizeof bad, "isdir");
	CHECK(mkdir(bad, 0700) == 0);
	CHECK(id_refused(bad));
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK(keyfile_load_or_create_identity(bad, NULL, err, sizeof err) == NULL);
	path_in(bad, sizeof bad, "fifo");
	CHECK(mkfifo(bad, 0600) == 0);
	CHECK(id_refused(bad));
	CHECK(strstr(err, "not a regular file") != NULL);
	path_in(bad, sizeof bad, "good/identity");
	CHECK(keyfile_load_or_create_identity(bad, NULL, err, sizeof err) == NULL);
	screen_err();

	/* Owned by someone else: only root can set that up. */
	if (geteuid() == 0) {
		CHECK(write_file(path, file, ID_FILE_LEN, 0600) == 0);
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(id_refused(path));
		CHECK(strstr(err, "owned by uid 65534") != NULL);
	}

	/* Errors are cut to the buffer, and a NULL buffer is allowed. */
	char tiny[8];
	memset(tiny, 'x', sizeof tiny);
	CHECK(keyfile_load_identity(path, tiny, sizeof tiny) == NULL);
	CHECK(strlen(tiny) == sizeof tiny - 1);
	CHECK(keyfile_load_identity(path, NULL, 0) == NULL);
done:
	sodium_memzero(file, sizeof file);
	sodium_memzero(seed, sizeof seed);
	if (raw)
		sodium_memzero(raw, len);
	free(raw);
	keys_identity_destroy(&k);
}

static bool meshkey_refused(const char *path)
{
	uint8_t key[KEYFILE_MESHKEY_LEN];
	err[0] = '\0';
	bool ok = keyfile_load_mesh_key(path, key, err, sizeof err) != 0 &&
	          strstr(err, path) != NULL;
	screen_err();
	sodium_memzero(key, sizeof key);
	return ok;
}

static void test_mesh_key(void)
{
	char path[512], other[512];
	uint8_t key[KEYFILE_MESHKEY_LEN], again[KEYFILE_MESHKEY_LEN];
	char text[2 * 64 + 1];
	path_in(path, sizeof path, "mesh/key");
	path_in(other, sizeof other, "meshkey2");

	err[0] = '\0';
	CHECK(keyfile_load_mesh_key(path, key, err, sizeof err) != 0);
	CHECK(strstr(err, path) && strstr(err, "does not exist"));
	err[0] = '\0';
	CHECK(keyfile_create_mesh_key(path, err, sizeof err) == 0);
	struct stat st;
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	CHECK(st.st_size == 65);

	size_t len = 0;
	char *raw = testlib_slurp(path, &len);
	CHECK(raw && len == 65 && raw[64] == '\n');
	CHECK(keyfile_load_mesh_key(path, key, err, sizeof err) == 0);
	add_secret(key);
	if (raw && len == 65) {
		raw[64] = '\0';
		CHECK(testlib_unhex(raw, again, sizeof again) == KEYFILE_MESHKEY_LEN);
		CHECK(sodium_memcmp(key, again, sizeof key) == 0);
		raw[64] = '\n';
	}

	/* No overwrite. */
	err[0] = '\0';
	CHECK(keyfile_create_mesh_key(path, err, sizeof err) != 0);
	CHECK(strstr(err, "already exists") != NULL);
	screen_err();
	CHECK(keyfile_load_mesh_key(path, again, err, sizeof err) == 0);
	CHECK(sodium_memcmp(key, again, sizeof key) == 0);

	/* Accepted variants: no newline, upper case, 0400. */
	sodium_bin2hex(text, sizeof text, key, sizeof key);
	CHECK(write_file(other, text, 64, 0600) == 0);
	CHECK(keyfile_load_mesh_key(other, again, err, sizeof err) == 0);
	CHECK(sodium_memcmp(key, again, sizeof key) == 0);
	for (size_t i = 0; i < 64; i++)
		if (text[i] >= 'a')
			text[i] = (char)(text[i] - 'a' + 'A');
	text[64] = '\n';
	CHECK(write_file(other, text, 65, 0400) == 0);
	CHECK(keyfile_load_mesh_key(other, again, err, sizeof err) == 0);
	CHECK(sodium_memcmp(key, again, sizeof key) == 0);

	/* Refused: wrong lengths, stray bytes anywhere, CRLF, leading newline. */
	sodium_bin2hex(text, sizeof text, key, sizeof key);
	static const size_t lens[] = { 0, 1, 32, 63, 66, 128 };
	memcpy(text + 64, text, 64);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		CHECK(write_file(other, text, lens[i], 0600) == 0);
		CHECK(meshkey_refused(other));
	}
	sodium_bin2hex(text, sizeof text, key, sizeof key);
	CHECK(write_file(other, text, 65, 0600) == 0);        /* 65 hex digits */
	text[64] = '\n';
	int accepted = 0;
	for (size_t i = 0; i < 65; i++) {
		static const char junk[] = { 'g', ' ', '\n', '\0', 'Z' };
		for (size_t j = 0; j < sizeof junk; j++) {
			char saved = text[i];
			if (i == 64 && junk[j] == '\n')
				continue;
			text[i] = junk[j];
			CHECK(write_file(other, text, 65, 0600) == 0);
			accepted += !meshkey_refused(other);
			text[i] = saved;
		}
	}
	CHECK(accepted == 0);
	memcpy(text + 64, "\r\n", 2);
	CHECK(write_file(other, text, 66, 0600) == 0);
	CHECK(meshkey_refused(other));
	char lead[66];
	lead[0] = '\n';
	memcpy(lead + 1, text, 64);
	CHECK(write_file(other, lead, 65, 0600) == 0);
	CHECK(meshkey_refused(other));

	/* Permissions, symlink, directory. */
	text[64] = '\n';
	CHECK(write_file(other, text, 65, 0644) == 0);
	CHECK(meshkey_refused(other));
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(write_file(other, text, 65, 0640) == 0);
	CHECK(meshkey_refused(other));
	unlink(other);
	CHECK(symlink(path, other) == 0);
	CHECK(meshkey_refused(other));
	unlink(other);
	CHECK(mkdir(other, 0700) == 0);
	CHECK(meshkey_refused(other));
	rmdir(other);

	sodium_memzero(text, sizeof text);
	sodium_memzero(lead, sizeof lead);
	sodium_memzero(key, sizeof key);
	sodium_memzero(again, sizeof again);
	if (raw)
		sodium_memzero(raw, len);
	free(raw);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	test_default_path();
	test_create_load();
	test_identity_hostile();
	test_mesh_key();
	CHECK(nsecrets >= 3);
	CHECK(leaks == 0);
	testlib_remove_tree(tmpdir);
	struct stat st;
	CHECK(lstat(tmpdir, &st) != 0);
	sodium_memzero(secrets, sizeof secrets);
	return testlib_done("test_keyfile");
}
