/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_keylog: the key log (meshnode_set_keylog, docs/usage.md "Key log"). The file is
 * created 0600 with a warning line; a symbolic link, a directory and a file others may read
 * are refused, and so is a call after the start. Then two nodes of a closed mesh, on loopback
 * inside netns-run's namespace, each with a key log: each logs the beacon key once, and one
 * session line whose session IDs and keys mirror the other node's (my key of frames to me is
 * its key of frames to its peer). Nothing here prints a key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshnode.h"
#include "testlib.h"
#include "testnode.h"

static char dir[] = "/tmp/test_keylog.XXXXXX";

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

struct logged {
	int beacons, sessions, other;
	char beacon[65];
	unsigned long local_sid, remote_sid;
	char to_local[65], to_remote[65];
};

static bool is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static void read_log(const char *p, struct logged *l)
{
	char line[512];
	memset(l, 0, sizeof *l);
	FILE *f = fopen(p, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char a[80], b[80], c[80], d[80];
		if (line[0] == '#')
			continue;
		if (sscanf(line, "MESHNODE_BEACON %79s", a) == 1 && is_hex(a, 64)) {
			l->beacons++;
			memcpy(l->beacon, a, 65);
		} else if (sscanf(line, "MESHNODE_SESSION %79s %79s %79s %79s", a, b, c, d) == 4 &&
		           is_hex(a, 8) && is_hex(b, 8) && is_hex(c, 64) && is_hex(d, 64)) {
			l->sessions++;
			l->local_sid = strtoul(a, NULL, 16);
			l->remote_sid = strtoul(b, NULL, 16);
			memcpy(l->to_local, c, 65);
			memcpy(l->to_remote, d, 65);
		} else {
			l->other++;
		}
	}
	fclose(f);
}

/* The refusals, with no socket: a node that is never started. */
static void test_file_rules(const char *id_dir)
{
	struct meshnode_config cfg;
	char id[512], p[512], err[512];
	testnode_config(&cfg, id, sizeof id, id_dir, "files", 47631);
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	CHECK(n != NULL);
	if (!n)
		return;
	struct stat st;
	path(p, sizeof p, "fresh.keylog");
	CHECK(meshnode_set_keylog(n, p, err, sizeof err) == MESH_OK);
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	CHECK(meshnode_set_keylog(n, NULL, err, sizeof err) == MESH_OK);   /* off again */

	char target[512];
	path(target, sizeof target, "target");
	path(p, sizeof p, "link.keylog");
	FILE *f = fopen(target, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	chmod(target, 0600);
	CHECK(symlink(target, p) == 0);
	err[0] = '\0';
	CHECK(meshnode_set_keylog(n, p, err, sizeof err) == MESH_EIO);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(stat(target, &st) == 0 && st.st_size == 0);               /* nothing written */

	path(p, sizeof p, "loose.keylog");
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	chmod(p, 0644);
	CHECK(meshnode_set_keylog(n, p, err, sizeof err) == MESH_EIO);
	CHECK(stat(p, &st) == 0 && st.st_size == 0);

	CHECK(meshnode_set_keylog(n, dir, err, sizeof err) == MESH_EIO);  /* a directory */
	CHECK(meshnode_set_keylog(n, "", err, sizeof err) == MESH_EINVAL);
	meshnode_destroy(&n);
}

static struct meshnode *start(const char *name, const char *key, const char *log)
{
	struct meshnode_config cfg;
	char id[512], err[512];
	testnode_config(&cfg, id, sizeof id, dir, name, 47632);
	cfg.mesh_key_path = key;
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n) {
		fprintf(stderr, "meshnode_new: %s\n", err);
		return NULL;
	}
	CHECK(meshnode_set_keylog(n, log, err, sizeof err) == MESH_OK);
	if (meshnode_start(n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode_start: %s\n", err);
		meshnode_destroy(&n);
		return NULL;
	}
	CHECK(meshnode_set_keylog(n, log, err, sizeof err) == MESH_ESTATE);
	return n;
}

static bool entered(struct meshnode *n, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct meshnode_event *ev = meshnode_next_event(n, 50);
		if (ev) {
			bool enter = ev->type == MESHNODE_EV_ENTER;
			meshnode_event_destroy(&ev);
			if (enter)
				return true;
		}
	}
	return false;
}

int main(void)
{
	char key[512], la[512], lb[512];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_file_rules(dir);

	path(key, sizeof key, "mesh.key");
	FILE *f = fopen(key, "w");
	CHECK(f != NULL);
	if (!f)
		return testlib_done("test_keylog");
	fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	chmod(key, 0600);
	path(la, sizeof la, "alice.keylog");
	path(lb, sizeof lb, "bob.keylog");
	struct meshnode *a = start("alice", key, la);
	struct meshnode *b = start("bob", key, lb);
	CHECK(a && b);
	if (a && b) {
		CHECK(entered(a, 10000));
		CHECK(entered(b, 10000));
	}
	meshnode_destroy(&a);
	meshnode_destroy(&b);

	struct logged x, y;
	struct stat st;
	read_log(la, &x);
	read_log(lb, &y);
	CHECK(stat(la, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(x.beacons == 1 && y.beacons == 1 && strcmp(x.beacon, y.beacon) == 0);
	CHECK(x.other == 0 && y.other == 0);
	CHECK(x.sessions == 1 && y.sessions == 1);
	CHECK(x.local_sid == y.remote_sid && x.remote_sid == y.local_sid && x.local_sid != 0);
	CHECK(strcmp(x.to_local, y.to_remote) == 0 && strcmp(x.to_remote, y.to_local) == 0);
	CHECK(strcmp(x.to_local, x.to_remote) != 0);
	return testlib_done("test_keylog");
}
