/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_trust_file: the files of node/trust.c and node/trust_allow.c under attack. Every kind
 * of bad line is refused with its line number and the file left byte for byte as it was; a
 * saved file is truncated at every offset and has every bit flipped; loose modes, symlinks,
 * FIFOs, directories and failed saves. Every error is one line that names the file and never
 * repeats its contents (MARK and the IDs below never show up in one).
 */
#include "testlib.h"
#include "trust.h"
#include "trust_allow.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#define HDR "# meshnode known peers v1\n"
#define HEXA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEXB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MARK "zqmark"   /* in every name of the hostile files: must never reach an error */

static char tmpdir[] = "/tmp/test_trust_file.XXXXXX";
static char err[512];
static unsigned long unclean;   /* errors that carried file contents or a newline */

static void path_in(char *out, size_t cap, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", tmpdir, rel);
	if (n < 0 || (size_t)n >= cap)
		abort();
}

static void make_id(uint8_t id[TRUST_ID_LEN], unsigned i)
{
	memset(id, 0x5a, TRUST_ID_LEN);
	id[0] = (uint8_t)(i >> 8);
	id[1] = (uint8_t)i;
	id[31] = (uint8_t)(i * 7);
}

/* Every error: one line, naming the file, with nothing from inside the file. */
static void screen_err(const char *path)
{
	if (strchr(err, '\n') || strstr(err, MARK) || strstr(err, "aaaaaaaaaaaaaaaa") ||
	    strstr(err, "bbbbbbbbbbbbbbbb") || (path && !strstr(err, path))) {
		unclean++;
		fprintf(stderr, "unclean error: %s\n", err);
	}
}

/* Expects path to be refused: NULL, the file untouched, the error clean and naming line. */
static bool refused_at(const char *path, int line, const char *what)
{
	size_t before_len = 0, after_len = 0;
	char *before = testlib_slurp(path, &before_len);
	err[0] = '\0';
	struct trust *t = trust_open(path, err, sizeof err);
	char *after = testlib_slurp(path, &after_len);
	char at[32];
	snprintf(at, sizeof at, ", line %d: ", line);
	bool ok = t == NULL && before && after && before_len == after_len &&
	          memcmp(before, after, before_len) == 0 &&
	          (line == 0 || (strstr(err, at) && strstr(err, "fix or move it away"))) &&
	          (!what || strstr(err, what));
	if (!ok)
		fprintf(stderr, "not refused as expected (line %d, %s): %s\n", line,
		        what ? what : "-", err);
	screen_err(path);
	trust_destroy(&t);
	free(before);
	free(after);
	return ok;
}

static bool seen(struct trust *t, unsigned i, const char *name, uint64_t now,
                 struct trust_seen_result *r)
{
	uint8_t id[TRUST_ID_LEN];
	struct trust_seen_result scratch;
	make_id(id, i);
	return trust_seen(t, id, name, strlen(name), now, r ? r : &scratch) == MESH_OK;
}

static void test_corrupt(void)
{
	static const struct {
		const char *text;
		int line;
		const char *why;
	} cases[] = {
		{ "", 1, "first line" },
		{ "\n" HDR, 1, "first line" },
		{ HEXA "\tseen\t1\t2\t0\t" MARK "\n", 1, "first line" },
		{ "# meshnode known peers v2\n", 1, "unknown version" },
		{ "# meshnode known peers v10\n", 1, "unknown version" },
		{ "# meshnode known peers v0\n", 1, "unknown version" },
		{ "# meshnode known peers v1 \n", 1, "first line" },
		{ "# meshnode known peers\n", 1, "first line" },
		{ HDR "\n# c\n" HEXA "\tseen\t1\t2\n", 4, "too few fields" },
		{ HDR HEXA "\tseen\t1\t2\t0\ta\tb\tc\td\te\tf\tg\th\t" MARK "\n", 2, "too many" },
		{ HDR HEXA "\tseen\t1\t2\t0\ta\tb\tc\td\te\tf\tg\th\t\n", 2, "too many" },
		{ HDR HEXA " seen 1 2 0 " MARK "\n", 2, "too few" },
		{ HDR "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\tseen\t1\t2\t0\n",
		  2, "lowercase hex" },
		{ HDR "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\tseen\t1\t2\t0\n",
		  2, "lowercase hex" },
		{ HDR HEXA "a\tseen\t1\t2\t0\n", 2, "lowercase hex" },
		{ HDR "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\tseen\t1\t2\t0\n",
		  2, "lowercase hex" },
		{ HDR " " HEXA "\tseen\t1\t2\t0\n", 2, "lowercase hex" },
		{ HDR HEXA "\tSeen\t1\t2\t0\n", 2, "verified nor seen" },
		{ HDR HEXA "\tpinned\t1\t2\t0\n", 2, "verified nor seen" },
		{ HDR HEXA "\tseen\t-1\t2\t0\n", 2, "first seen is not a number" },
		{ HDR HEXA "\tseen\t\t2\t0\n", 2, "first seen is not" },
		{ HDR HEXA "\tseen\t1\t+2\t0\n", 2, "last seen is not" },
		{ HDR HEXA "\tseen\t1\t2 \t0\n", 2, "last seen is not" },
		{ HDR HEXA "\tseen\t1\t1e3\t0\n", 2, "last seen is not" },
		{ HDR HEXA "\tseen\t1\t253402300800\t0\n", 2, "last seen is not" },
		{ HDR HEXA "\tseen\t1\t99999999999999999999999\t0\n", 2, "last seen is not" },
		{ HDR HEXA "\tverified\t1\t2\t0x10\n", 2, "verified at is not" },
		{ HDR HEXA "\tseen\t3\t2\t0\n", 2, "first seen is after" },
		{ HDR HEXA "\tseen\t1\t2\t5\n", 2, "not verified" },
		{ HDR HEXA "\tseen\t1\t2\t0\t\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\ta\t\tb\n", 2, "name 2 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\x01\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\x7f\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\xc2\x9b\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\xff\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\xed\xa0\x80\n", 2, "name 1 is not" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "0123456789012345678901234567890"
		  "123456789012345678901234567890\n", 2, "name 1 is not" },      /* 67 bytes */
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\t" MARK "\n", 2, "name 2 is there twice" },
		{ HDR HEXA "\tseen\t1\t2\t0\t" MARK "\r\n", 2, "carriage return" },
		{ "# meshnode known peers v1\r\n", 1, "carriage return" },
		{ HDR HEXB "\tseen\t1\t2\t0\n\n" HEXA "\tseen\t1\t2\t0\n# x\n" HEXB "\tverified\t1\t2\t3\n",
		  6, "the same ID as line 2" },
	};
	char path[512], dir[512];
	path_in(dir, sizeof dir, "corrupt");
	path_in(path, sizeof path, "corrupt/known_peers");
	CHECK(mkdir(dir, 0700) == 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(testlib_write_file(path, cases[i].text, strlen(cases[i].text), 0600) == 0);
		CHECK(refused_at(path, cases[i].line, cases[i].why));
		CHECK(testlib_count_entries(dir) == 1);
	}
	static const char nul[] = HDR HEXA "\tseen\t1\t2\t0\tx\t" MARK "\0x\n";
	CHECK(testlib_write_file(path, nul, sizeof nul - 1, 0600) == 0);
	CHECK(refused_at(path, 2, "name 2 is not"));
	/* Good files for contrast: comments, blank lines, a last line without newline, no names. */
	const char *good = HDR "# one\n\n   \n\t\n" HEXA "\tseen\t0\t0\t0\n#\n" HEXB
	                   "\tverified\t1\t2\t3\t" MARK " x\t  \tü";
	CHECK(testlib_write_file(path, good, strlen(good), 0600) == 0);
	struct trust *t = trust_open(path, err, sizeof err);
	CHECK(t && trust_count(t) == 2 && trust_entry_at(t, 1)->nnames == 3 &&
	      strcmp(trust_entry_at(t, 1)->names[1].s, "  ") == 0);
	trust_destroy(&t);

	/* Oversize is refused before it is read. */
	size_t big = TRUST_MAX_FILE + 1;
	char *buf = malloc(big);
	CHECK(buf != NULL);
	if (buf) {
		memset(buf, '#', big);
		memcpy(buf, HDR, strlen(HDR));
		for (size_t i = strlen(HDR); i + 80 < big; i += 80)
			buf[i] = '\n';
		CHECK(testlib_write_file(path, buf, big, 0600) == 0);
		CHECK(refused_at(path, 0, "larger than 4194304 bytes; fix or move it away"));
		CHECK(testlib_write_file(path, buf, big - 1, 0600) == 0);     /* the cap itself is fine */
		t = trust_open(path, err, sizeof err);
		CHECK(t && trust_count(t) == 0);
		trust_destroy(&t);
		free(buf);
	}
}

static void test_too_many(void)
{
	char path[512];
	uint8_t id[TRUST_ID_LEN];
	path_in(path, sizeof path, "too_many");
	/* A hand-made file of 4097 peers is refused at the last one. */
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(HDR, f);
	for (unsigned i = 0; i <= TRUST_MAX_PEERS; i++) {
		char hex[65];
		make_id(id, i);
		sodium_bin2hex(hex, sizeof hex, id, sizeof id);
		fprintf(f, "%s\tseen\t1\t2\t0\t" MARK "\n", hex);
	}
	fclose(f);
	CHECK(chmod(path, 0600) == 0);
	CHECK(refused_at(path, TRUST_MAX_PEERS + 2, "more than 4096 peers"));
}


/* A saved file truncated at every offset and with every byte flipped: refused with a line
 * number, or loaded as what it then says; never a crash or a leak (ASan). */
static void test_hostile_bytes(void)
{
	char path[512], bad[512];
	path_in(path, sizeof path, "hostile");
	path_in(bad, sizeof bad, "hostile.bad");
	struct trust *t = trust_open(path, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(seen(t, 1, MARK "1", 100, NULL) && seen(t, 2, MARK "2 ü", 200, NULL));
	CHECK(seen(t, 2, MARK "3", 300, NULL));
	uint8_t id[TRUST_ID_LEN];
	make_id(id, 1);
	CHECK(trust_set_verified(t, id, true, 150) == MESH_OK);
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	trust_destroy(&t);
	size_t len = 0;
	char *file = testlib_slurp(path, &len);
	CHECK(file != NULL);
	if (!file)
		return;
	unsigned refused = 0, loaded = 0, odd = 0;
	for (size_t n = 0; n <= len; n++) {
		CHECK(testlib_write_file(bad, file, n, 0600) == 0);
		err[0] = '\0';
		t = trust_open(bad, err, sizeof err);
		if (t) {
			loaded++;
			odd += trust_count(t) > 2;
		} else {
			refused++;
			odd += strstr(err, ", line ") == NULL;
			screen_err(bad);
		}
		trust_destroy(&t);
	}
	CHECK(loaded > 0 && refused > 0 && odd == 0);
	uint8_t *bytes = (uint8_t *)file;
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t f = (uint8_t)(1u << bit);
			bytes[i] ^= f;
			CHECK(testlib_write_file(bad, file, len, 0600) == 0);
			err[0] = '\0';
			t = trust_open(bad, err, sizeof err);
			if (!t) {
				odd += strstr(err, ", line ") == NULL;
				screen_err(bad);
			}
			trust_destroy(&t);
			bytes[i] ^= f;
		}
	}
	CHECK(odd == 0);
	free(file);
}

static void test_file_checks(void)
{
	char path[512], other[512];
	path_in(path, sizeof path, "checks");
	path_in(other, sizeof other, "checks.link");
	const char *good = HDR HEXA "\tseen\t1\t2\t0\t" MARK "\n";
	static const mode_t loose[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0666 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		CHECK(testlib_write_file(path, good, strlen(good), loose[i]) == 0);
		CHECK(refused_at(path, 0, "chmod 600"));
	}
	CHECK(testlib_write_file(path, good, strlen(good), 0644) == 0);
	CHECK(refused_at(path, 0, "(mode 0644)"));
	CHECK(testlib_write_file(path, good, strlen(good), 0400) == 0);
	struct trust *t = trust_open(path, err, sizeof err);
	CHECK(t && trust_count(t) == 1);
	trust_destroy(&t);
	CHECK(chmod(path, 0600) == 0);

	/* A symlink to a good file, and a dangling one, are refused; nothing is created. */
	CHECK(symlink(path, other) == 0);
	CHECK(refused_at(other, 0, "symbolic link"));
	unlink(other);
	char target[512];
	path_in(target, sizeof target, "checks.target");
	CHECK(symlink(target, other) == 0);
	CHECK(trust_open(other, err, sizeof err) == NULL && strstr(err, "symbolic link"));
	screen_err(other);
	CHECK(access(target, F_OK) != 0);
	unlink(other);

	/* A directory, a FIFO (must not block), a path through a regular file. */
	CHECK(mkdir(other, 0700) == 0);
	CHECK(trust_open(other, err, sizeof err) == NULL && strstr(err, "not a regular file"));
	screen_err(other);
	rmdir(other);
	CHECK(mkfifo(other, 0600) == 0);
	CHECK(trust_open(other, err, sizeof err) == NULL && strstr(err, "not a regular file"));
	screen_err(other);
	unlink(other);
	path_in(other, sizeof other, "checks/known_peers");
	CHECK(trust_open(other, err, sizeof err) == NULL);
	screen_err(other);
	if (geteuid() == 0) {
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(refused_at(path, 0, "owned by uid 65534"));
	}

	/* A save that cannot happen fails cleanly and leaves the old file whole. */
	char dir[512];
	path_in(dir, sizeof dir, "ro");
	path_in(path, sizeof path, "ro/known_peers");
	CHECK(mkdir(dir, 0700) == 0);
	t = trust_open(path, err, sizeof err);
	CHECK(t && seen(t, 1, "x", 1, NULL) && trust_save(t, err, sizeof err) == MESH_OK);
	if (t && geteuid() != 0) {
		CHECK(chmod(dir, 0500) == 0);
		CHECK(seen(t, 2, "y", 2, NULL));
		err[0] = '\0';
		CHECK(trust_save(t, err, sizeof err) == MESH_EIO && trust_dirty(t));
		screen_err(path);
		CHECK(chmod(dir, 0700) == 0);
		struct trust *u = trust_open(path, err, sizeof err);
		CHECK(u && trust_count(u) == 1);
		trust_destroy(&u);
		CHECK(testlib_count_entries(dir) == 1);
	}
	trust_destroy(&t);
	/* Errors are cut to the buffer, and a NULL buffer is allowed. */
	char tiny[8];
	path_in(path, sizeof path, "checks");
	CHECK(chmod(path, 0644) == 0);
	CHECK(trust_open(path, tiny, sizeof tiny) == NULL && strlen(tiny) == sizeof tiny - 1);
	CHECK(trust_open(path, NULL, 0) == NULL);
}

static bool allow_refused(const char *path, int line, const char *why)
{
	err[0] = '\0';
	struct trust_allow *a = trust_allow_load(path, err, sizeof err);
	char at[32];
	snprintf(at, sizeof at, ", line %d: ", line);
	bool ok = a == NULL && (line == 0 || strstr(err, at)) && (!why || strstr(err, why));
	if (!ok)
		fprintf(stderr, "allow list not refused as expected (%d, %s): %s\n", line,
		        why ? why : "-", err);
	screen_err(path);
	trust_allow_destroy(&a);
	return ok;
}

static void test_allow(void)
{
	char path[512], link[512];
	path_in(path, sizeof path, "allow");
	path_in(link, sizeof link, "allow.link");
	const char *good = "# team\n\n" HEXA "\n  " HEXB " bob the builder\n"
	                   "0123456789ABCDEFabcdef0123456789abcdef0123456789ABCDEF0123456789\t# " MARK
	                   "\n\t\n" "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
	CHECK(testlib_write_file(path, good, strlen(good), 0644) == 0);
	struct trust_allow *a = trust_allow_load(path, err, sizeof err);
	uint8_t id[TRUST_ID_LEN];
	CHECK(a && trust_allow_count(a) == 4);
	memset(id, 0xaa, sizeof id);
	CHECK(a && trust_allow_contains(a, id));
	memset(id, 0xbb, sizeof id);
	CHECK(a && trust_allow_contains(a, id));
	memset(id, 0x5a, sizeof id);
	CHECK(a && trust_allow_contains(a, id));
	CHECK(testlib_unhex("0123456789abcdefabcdef0123456789abcdef0123456789abcdef0123456789", id,
	                    sizeof id) == TRUST_ID_LEN);
	CHECK(a && trust_allow_contains(a, id));
	id[31] ^= 1;
	CHECK(a && !trust_allow_contains(a, id));
	trust_allow_destroy(&a);
	trust_allow_destroy(&a);

	/* A symlink is followed: it holds no secret. An empty list is a list. */
	CHECK(symlink(path, link) == 0);
	a = trust_allow_load(link, err, sizeof err);
	CHECK(a && trust_allow_count(a) == 4);
	trust_allow_destroy(&a);
	CHECK(testlib_write_file(path, "# nobody yet\n", 13, 0600) == 0);
	a = trust_allow_load(path, err, sizeof err);
	CHECK(a && trust_allow_count(a) == 0);
	memset(id, 0, sizeof id);
	CHECK(a && !trust_allow_contains(a, id));
	trust_allow_destroy(&a);

	static const struct {
		const char *text;
		int line;
		const char *why;
	} cases[] = {
		{ HEXA "\n" MARK "\n", 2, "not an ID" },
		{ "\n\n" HEXA "a\n", 3, "not an ID" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 1, "not an ID" },
		{ HEXA "," MARK "\n", 1, "not an ID" },
		{ "0x" HEXA "\n", 1, "not an ID" },
		{ HEXA "\r\n", 1, "carriage return" },
		{ HEXB "\n# x\n" HEXA "\n" HEXB " again\n", 4, "the same ID as line 1" },
		{ HEXA "\n" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 2,
		  "the same ID as line 1" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(testlib_write_file(path, cases[i].text, strlen(cases[i].text), 0600) == 0);
		CHECK(allow_refused(path, cases[i].line, cases[i].why));
		CHECK(allow_refused(path, cases[i].line, "; fix it"));
	}
	/* Writable by others, through the symlink too; a directory; missing. */
	CHECK(testlib_write_file(path, HEXA "\n", 65, 0664) == 0);
	CHECK(allow_refused(path, 0, "chmod go-w"));
	CHECK(allow_refused(link, 0, "(mode 0664)"));
	CHECK(testlib_write_file(path, HEXA "\n", 65, 0602) == 0);
	CHECK(allow_refused(path, 0, "chmod go-w"));
	unlink(path);
	CHECK(allow_refused(path, 0, "No such file"));
	CHECK(mkdir(path, 0700) == 0);
	CHECK(allow_refused(path, 0, "not a regular file"));
	rmdir(path);
	/* More than TRUST_ALLOW_MAX IDs. */
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	for (unsigned i = 0; i <= TRUST_ALLOW_MAX; i++) {
		char hex[65];
		memset(id, 0, sizeof id);
		id[0] = (uint8_t)(i >> 16);
		id[1] = (uint8_t)(i >> 8);
		id[2] = (uint8_t)i;
		sodium_bin2hex(hex, sizeof hex, id, sizeof id);
		fprintf(f, "%s\n", hex);
	}
	fclose(f);
	CHECK(chmod(path, 0600) == 0);
	CHECK(allow_refused(path, TRUST_ALLOW_MAX + 1, "more than 16384 IDs"));
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
	test_corrupt();
	test_too_many();
	test_hostile_bytes();
	test_file_checks();
	test_allow();
	CHECK(unclean == 0);
	testlib_remove_tree(tmpdir);
	struct stat st;
	CHECK(lstat(tmpdir, &st) != 0);
	return testlib_done("test_trust_file");
}
