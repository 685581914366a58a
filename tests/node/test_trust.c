/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_trust: what node/trust.c remembers and answers, through its API and a save and load:
 * many peers with UTF-8 names and blanks round trip exactly, names move to the front and the
 * oldest fall off, times come only from the caller, the verified flag and pinning persist, the
 * name-collision answer (and that a verified one is flagged), eviction order when full, and
 * atomic 0600 saves. Hostile files are test_trust_file's.
 */
#include "testlib.h"
#include "trust.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#define HDR "# meshnode known peers v1\n"

static char tmpdir[] = "/tmp/test_trust.XXXXXX";
static char err[512];

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

static bool entries_equal(const struct trust_entry *a, const struct trust_entry *b)
{
	if (memcmp(a->id, b->id, TRUST_ID_LEN) != 0 || a->first_seen != b->first_seen ||
	    a->last_seen != b->last_seen || a->verified != b->verified ||
	    a->verified_at != b->verified_at || a->nnames != b->nnames)
		return false;
	for (size_t i = 0; i < a->nnames; i++)
		if (a->names[i].len != b->names[i].len ||
		    memcmp(a->names[i].s, b->names[i].s, a->names[i].len + 1) != 0)
			return false;
	return true;
}

static bool seen(struct trust *t, unsigned i, const char *name, uint64_t now,
                 struct trust_seen_result *r)
{
	uint8_t id[TRUST_ID_LEN];
	struct trust_seen_result scratch;
	make_id(id, i);
	return trust_seen(t, id, name, strlen(name), now, r ? r : &scratch) == MESH_OK;
}

static void test_default_path(void)
{
	char out[256], want[600], dir[512];
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("HOME", "/home/u", 1);
	CHECK(trust_default_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/x/data/meshnode/known_peers") == 0);
	/* A relative or empty XDG_DATA_HOME is invalid per the XDG spec. */
	static const char *const bad[] = { "data", "" };
	for (size_t i = 0; i < 2; i++) {
		setenv("XDG_DATA_HOME", bad[i], 1);
		CHECK(trust_default_path(out, sizeof out) == 0);
		CHECK(strcmp(out, "/home/u/.local/share/meshnode/known_peers") == 0);
	}
	unsetenv("XDG_DATA_HOME");
	CHECK(trust_default_path(out, sizeof out) == 0);
	CHECK(strcmp(out, "/home/u/.local/share/meshnode/known_peers") == 0);
	CHECK(trust_default_path(out, strlen(out)) != 0);          /* no room for the NUL */
	unsetenv("HOME");
	CHECK(trust_default_path(out, sizeof out) != 0);
	CHECK(trust_open(NULL, err, sizeof err) == NULL && strstr(err, "HOME") != NULL);

	/* NULL means the default, and the first save makes its directories 0700. */
	path_in(dir, sizeof dir, "xdg");
	setenv("XDG_DATA_HOME", dir, 1);
	struct trust *t = trust_open(NULL, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	snprintf(want, sizeof want, "%s/meshnode/known_peers", dir);
	CHECK(strcmp(trust_path(t), want) == 0);
	CHECK(seen(t, 1, "alice", 100, NULL));
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(lstat(want, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	trust_destroy(&t);
	trust_destroy(&t);                                          /* NULL is fine */
	unsetenv("XDG_DATA_HOME");
}

static void test_round_trip(void)
{
	static const char *const names[] = { "alice", "Zoë", "日本語の名前", "two words",
	                                     " leading blank", "trailing blank ", "#not a comment",
	                                     "x", "🙂 emoji", "tab\xc2\xa0nbsp" };
	const size_t nn = sizeof names / sizeof names[0];
	char path[512], dir[512];
	path_in(dir, sizeof dir, "rt/sub");
	path_in(path, sizeof path, "rt/sub/known_peers");

	struct trust *t = trust_open(path, err, sizeof err);
	CHECK(t && trust_count(t) == 0 && !trust_dirty(t));
	if (!t)
		return;
	CHECK(access(path, F_OK) != 0);                 /* opening never creates */
	for (unsigned i = 0; i < 300; i++) {
		for (unsigned k = 0; k <= i % 11; k++)      /* up to 11 names: the oldest fall off */
			CHECK(seen(t, i, names[(i + k) % nn], 1000 + i + k, NULL));
	}
	uint8_t zero[TRUST_ID_LEN] = { 0 };
	CHECK(trust_set_verified(t, zero, true, 5) == MESH_OK);
	for (unsigned i = 0; i < 300; i += 3) {
		uint8_t id[TRUST_ID_LEN];
		make_id(id, i);
		CHECK(trust_set_verified(t, id, true, 2000 + i) == MESH_OK);
	}
	CHECK(trust_count(t) == 301 && trust_dirty(t));
	const struct trust_entry *e = trust_entry_at(t, 0);
	CHECK(e && memcmp(e->id, zero, TRUST_ID_LEN) == 0 && e->verified && e->nnames == 0 &&
	      e->first_seen == 0 && e->last_seen == 0 && e->verified_at == 5);
	CHECK(trust_entry_at(t, 301) == NULL);
	for (size_t i = 1; i < trust_count(t); i++)
		CHECK(memcmp(trust_entry_at(t, i - 1)->id, trust_entry_at(t, i)->id, TRUST_ID_LEN) < 0);

	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	CHECK(!trust_dirty(t));
	struct stat st;
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(testlib_count_entries(dir) == 1);                /* no temp file left behind */

	struct trust *u = trust_open(path, err, sizeof err);
	CHECK(u && trust_count(u) == trust_count(t) && !trust_dirty(u));
	size_t same = 0;
	for (size_t i = 0; u && i < trust_count(t); i++)
		same += entries_equal(trust_entry_at(t, i), trust_entry_at(u, i));
	CHECK(same == trust_count(t));
	uint8_t id[TRUST_ID_LEN];
	make_id(id, 10);                  /* 10 % 11 + 1 = 11 names: 8 kept, newest first */
	e = u ? trust_lookup(u, id) : NULL;
	CHECK(e && e->nnames == TRUST_MAX_NAMES && strcmp(e->names[0].s, names[20 % nn]) == 0 &&
	      e->first_seen == 1010 && e->last_seen == 1020 && !e->verified);
	make_id(id, 9);
	e = u ? trust_lookup(u, id) : NULL;
	CHECK(e && e->verified && e->verified_at == 2009 && e->nnames == TRUST_MAX_NAMES);
	make_id(id, 300);
	CHECK(u && trust_lookup(u, id) == NULL);

	/* Saving what was loaded writes the same bytes. */
	size_t l1 = 0, l2 = 0;
	char *a = testlib_slurp(path, &l1);
	CHECK(u && trust_save(u, err, sizeof err) == MESH_OK);
	char *b = testlib_slurp(path, &l2);
	CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0);
	CHECK(a && strncmp(a, HDR, strlen(HDR)) == 0);
	free(a);
	free(b);

	/* The mode is 0600 whatever the umask. */
	mode_t old = umask(0377);
	CHECK(seen(t, 1, "alice", 5000, NULL) && trust_save(t, err, sizeof err) == MESH_OK);
	umask(old);
	CHECK(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0600 && testlib_count_entries(dir) == 1);
	trust_destroy(&t);
	trust_destroy(&u);
}

static void test_seen(void)
{
	char path[512];
	path_in(path, sizeof path, "seen");
	struct trust *t = trust_open(path, err, sizeof err);
	struct trust_seen_result r;
	uint8_t id[TRUST_ID_LEN];
	CHECK(t != NULL);
	if (!t)
		return;
	make_id(id, 1);
	CHECK(seen(t, 1, "bob", 100, &r) && r.new_entry && r.new_name && r.others == 0);
	CHECK(seen(t, 1, "bob", 90, &r) && !r.new_entry && !r.new_name);
	const struct trust_entry *e = trust_lookup(t, id);
	CHECK(e && e->first_seen == 100 && e->last_seen == 100);   /* the clock stepped back */
	CHECK(seen(t, 1, "robert", 200, &r) && r.new_name && !r.new_entry);
	CHECK(seen(t, 1, "bob", 300, &r) && !r.new_name);
	e = trust_lookup(t, id);
	CHECK(e && e->nnames == 2 && strcmp(e->names[0].s, "bob") == 0 &&
	      strcmp(e->names[1].s, "robert") == 0 && e->first_seen == 100 && e->last_seen == 300);
	/* The entry's own name as the argument, which moving the names overwrites. */
	CHECK(e && trust_seen(t, id, e->names[1].s, e->names[1].len, 400, &r) == MESH_OK);
	e = trust_lookup(t, id);
	CHECK(e && strcmp(e->names[0].s, "robert") == 0 && strcmp(e->names[1].s, "bob") == 0);

	/* Names wire_name_valid() refuses, and times past the cap: nothing changes. */
	CHECK(trust_save(t, err, sizeof err) == MESH_OK && !trust_dirty(t));
	char big[TRUST_MAX_NAME + 2];
	memset(big, 'n', sizeof big);
	static const char *const bad[] = { "", "a\nb", "a\tb", "\x7f", "\xc2\x85", "\xff", "\xc0\xaf",
	                                   "a\rb" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(trust_seen(t, id, bad[i], strlen(bad[i]), 500, &r) == MESH_EINVAL);
	CHECK(trust_seen(t, id, "a\0b", 3, 500, &r) == MESH_EINVAL);
	CHECK(trust_seen(t, id, NULL, 3, 500, &r) == MESH_EINVAL);
	CHECK(trust_seen(t, id, big, TRUST_MAX_NAME + 1, 500, &r) == MESH_EINVAL);
	CHECK(trust_seen(t, id, big, TRUST_MAX_NAME, 500, &r) == MESH_OK && r.new_name);
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	CHECK(trust_seen(t, id, "bob", 3, (uint64_t)TRUST_MAX_TIME + 1, &r) == MESH_EINVAL);
	CHECK(trust_set_verified(t, id, true, (uint64_t)TRUST_MAX_TIME + 1) == MESH_EINVAL);
	CHECK(!trust_dirty(t));
	CHECK(trust_seen(t, id, "bob", 3, TRUST_MAX_TIME, &r) == MESH_OK && trust_dirty(t));
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	struct trust *u = trust_open(path, err, sizeof err);           /* the extremes load */
	CHECK(u && trust_lookup(u, id) && trust_lookup(u, id)->last_seen == TRUST_MAX_TIME &&
	      trust_lookup(u, id)->names[1].len == TRUST_MAX_NAME);
	trust_destroy(&u);
	trust_destroy(&t);
}

static void test_collision(void)
{
	char path[512];
	path_in(path, sizeof path, "collide");
	struct trust *t = trust_open(path, err, sizeof err);
	struct trust_seen_result r;
	uint8_t a[TRUST_ID_LEN], b[TRUST_ID_LEN], c[TRUST_ID_LEN];
	CHECK(t != NULL);
	if (!t)
		return;
	make_id(a, 1);
	make_id(b, 2);
	make_id(c, 3);
	CHECK(seen(t, 1, "bob", 10, &r) && r.others == 0);
	CHECK(seen(t, 2, "bob", 20, &r) && r.new_entry && r.others == 1 && !r.other_verified &&
	      memcmp(r.other_id, a, TRUST_ID_LEN) == 0);
	/* a name that passes for it (ASCII case, blanks at the ends) counts: found by review,
	 * "Bob" and "bob " raised no alarm for a remembered "bob" */
	CHECK(seen(t, 3, "Bob", 30, &r) && r.new_entry && r.others == 2);
	CHECK(seen(t, 3, "bob ", 30, &r) && r.others == 2);
	CHECK(seen(t, 3, "bobb", 30, &r) && r.others == 0);
	CHECK(trust_set_verified(t, a, true, 40) == MESH_OK);
	CHECK(seen(t, 3, "bob", 50, &r) && !r.new_entry && r.new_name && r.others == 2 &&
	      r.other_verified && memcmp(r.other_id, a, TRUST_ID_LEN) == 0);
	/* The verified one itself: the others are the two unverified, the latest seen named. */
	CHECK(seen(t, 1, "bob", 60, &r) && r.others == 2 && !r.other_verified &&
	      memcmp(r.other_id, c, TRUST_ID_LEN) == 0);
	/* A name an ID used before still counts after it moved on. */
	CHECK(seen(t, 2, "bobby", 70, &r) && r.others == 0);
	CHECK(seen(t, 3, "bobby", 80, &r) && r.others == 1 &&
	      memcmp(r.other_id, b, TRUST_ID_LEN) == 0);

	const struct trust_entry *found[4];
	CHECK(trust_find_by_name(t, "bob", 3, found, 4) == 3);
	CHECK(memcmp(found[0]->id, a, TRUST_ID_LEN) == 0 && memcmp(found[1]->id, b, TRUST_ID_LEN) == 0
	      && memcmp(found[2]->id, c, TRUST_ID_LEN) == 0);
	CHECK(trust_find_by_name(t, "bob", 3, found, 1) == 3 && found[0]->verified);
	CHECK(trust_find_by_name(t, "bob", 3, NULL, 0) == 3);
	CHECK(trust_find_by_name(t, "bo", 2, found, 4) == 0);
	CHECK(trust_find_by_name(t, "Bob", 3, found, 4) == 3);
	CHECK(trust_find_by_name(t, " BOB ", 5, found, 4) == 3);
	trust_destroy(&t);
}

/* Names that pass for each other share one key (the alarms' rate limit counts by it). */
static void test_name_key(void)
{
	uint64_t bob = trust_name_key("bob", 3);
	CHECK(trust_name_key("Bob", 3) == bob);
	CHECK(trust_name_key("  BOB ", 6) == bob);
	CHECK(trust_name_key("bob2", 4) != bob);
	CHECK(trust_name_key("b ob", 4) != bob);
	CHECK(trust_name_key("   ", 3) == trust_name_key("", 0));
}

static void test_verified(void)
{
	char path[512];
	path_in(path, sizeof path, "verified");
	struct trust *t = trust_open(path, err, sizeof err);
	uint8_t id[TRUST_ID_LEN];
	CHECK(t != NULL);
	if (!t)
		return;
	make_id(id, 7);
	CHECK(trust_set_verified(t, id, false, 10) == MESH_ENOTFOUND && !trust_dirty(t));
	/* Pinning an ID never met. */
	CHECK(trust_set_verified(t, id, true, 10) == MESH_OK && trust_dirty(t));
	const struct trust_entry *e = trust_lookup(t, id);
	CHECK(e && e->verified && e->verified_at == 10 && e->nnames == 0 && e->last_seen == 0);
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	CHECK(trust_set_verified(t, id, true, 20) == MESH_OK && !trust_dirty(t));
	CHECK(seen(t, 7, "carol", 30, NULL));
	e = trust_lookup(t, id);
	CHECK(e && e->first_seen == 30 && e->last_seen == 30 && e->verified_at == 10);
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	struct trust *u = trust_open(path, err, sizeof err);
	e = u ? trust_lookup(u, id) : NULL;
	CHECK(e && e->verified && e->verified_at == 10);
	CHECK(u && trust_set_verified(u, id, false, 40) == MESH_OK && trust_dirty(u));
	CHECK(u && trust_save(u, err, sizeof err) == MESH_OK);
	trust_destroy(&u);
	u = trust_open(path, err, sizeof err);
	e = u ? trust_lookup(u, id) : NULL;
	CHECK(e && !e->verified && e->verified_at == 0 && e->nnames == 1);
	trust_destroy(&u);
	trust_destroy(&t);
}

static void test_eviction(void)
{
	char path[512];
	path_in(path, sizeof path, "full");
	struct trust *t = trust_open(path, err, sizeof err);
	struct trust_seen_result r;
	uint8_t id[TRUST_ID_LEN];
	CHECK(t != NULL);
	if (!t)
		return;
	/* Peer i last seen at 10 + i, except that the oldest ten are verified. */
	unsigned fails = 0;
	for (unsigned i = 0; i < TRUST_MAX_PEERS; i++)
		fails += !seen(t, i, "n", 10 + i, &r) || r.evicted;
	CHECK(fails == 0 && trust_count(t) == TRUST_MAX_PEERS);
	for (unsigned i = 0; i < 10; i++) {
		make_id(id, i);
		CHECK(trust_set_verified(t, id, true, 1) == MESH_OK);
	}
	/* Peer 10 is seen again, so 11 is now the unverified one seen longest ago. */
	CHECK(seen(t, 10, "n", 9000, &r) && !r.evicted);
	/* Found by review: a flood of fresh keys evicted the peers met an hour ago, whose names
	 * the alarms watch. Nothing seen within TRUST_EVICT_AGE is evicted: the newcomer is not
	 * remembered instead. */
	make_id(id, 7000);
	CHECK(trust_seen(t, id, "n", 1, 9001, &r) == MESH_ELIMIT && !r.evicted && !r.new_entry);
	CHECK(trust_lookup(t, id) == NULL);
	CHECK(seen(t, 5000, "n", TRUST_EVICT_AGE + 21, &r) && r.new_entry && r.evicted);
	CHECK(r.others == TRUST_MAX_PEERS && r.other_verified);   /* counted before eviction */
	make_id(id, 11);
	CHECK(trust_lookup(t, id) == NULL && trust_count(t) == TRUST_MAX_PEERS);
	make_id(id, 12);
	CHECK(trust_set_verified(t, id, true, 2) == MESH_OK);      /* verified is kept... */
	make_id(id, 5001);
	CHECK(trust_set_verified(t, id, true, TRUST_EVICT_AGE + 23) == MESH_OK); /* ...pinning
	                                                                         * evicts too */
	make_id(id, 13);
	CHECK(trust_lookup(t, id) == NULL);
	for (unsigned i = 0; i < 20; i++) {
		make_id(id, i);
		CHECK((trust_lookup(t, id) != NULL) == (i < 11 || i == 12 || i > 13));
	}
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	struct trust *u = trust_open(path, err, sizeof err);         /* a full store loads */
	CHECK(u && trust_count(u) == TRUST_MAX_PEERS);
	trust_destroy(&u);

	/* Full of verified entries: nothing is added or lost, and the caller hears of it. */
	for (size_t i = 0; i < trust_count(t); i++)
		CHECK(trust_set_verified(t, trust_entry_at(t, i)->id, true, 4) == MESH_OK);
	CHECK(trust_save(t, err, sizeof err) == MESH_OK);
	make_id(id, 6000);
	CHECK(trust_seen(t, id, "n", 1, 9999, &r) == MESH_ELIMIT && !r.new_entry && !r.evicted &&
	      r.others == TRUST_MAX_PEERS - 1 && r.other_verified);      /* 5001 has no name */
	CHECK(trust_set_verified(t, id, true, 9999) == MESH_ELIMIT);
	CHECK(trust_lookup(t, id) == NULL && trust_count(t) == TRUST_MAX_PEERS && !trust_dirty(t));
	trust_destroy(&t);

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
	test_round_trip();
	test_seen();
	test_collision();
	test_name_key();
	test_verified();
	test_eviction();
	testlib_remove_tree(tmpdir);
	struct stat st;
	CHECK(lstat(tmpdir, &st) != 0);
	return testlib_done("test_trust");
}
