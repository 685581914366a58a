/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned long testlib_checks;
unsigned long testlib_failures;

void testlib_check(int ok, const char *what, const char *file, int line)
{
	testlib_checks++;
	if (!ok) {
		testlib_failures++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	}
}

int testlib_done(const char *name)
{
	printf("%s: %lu checks, %lu failures\n", name, testlib_checks, testlib_failures);
	if (testlib_checks == 0) {
		fprintf(stderr, "%s: no check ran\n", name);
		return 1;
	}
	return testlib_failures == 0 ? 0 : 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long testlib_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

char *testlib_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int testlib_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, (mode_t)mode);
	if (fd < 0)
		return -1;
	int rc = fchmod(fd, (mode_t)mode) == 0 && write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

size_t testlib_count_entries(const char *dir)
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

void testlib_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4096];
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		testlib_remove_tree(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* The link /proc/PID/ns/net reads as, "net:[INODE]"; "" if it cannot be read. */
static void netns_of(const char *pid, char *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/ns/net", pid);
	ssize_t n = readlink(path, out, cap - 1);
	out[n > 0 ? (size_t)n : 0] = 0;
}

void testlib_require_netns(const char *name)
{
	char self[64], init[64];
	const char *in = getenv("MN_IN_NETNS"), *id = getenv("MN_NETNS_ID");
	const char *outer = getenv("MN_OUTER_NETNS");
	const char *why = NULL;
	netns_of("self", self, sizeof self);
	netns_of("1", init, sizeof init);
	if (!self[0])
		why = "cannot read /proc/self/ns/net";
	else if (init[0] && strcmp(self, init) == 0)
		why = "this is the network namespace of pid 1";
	else if (!in || strcmp(in, "1") != 0 || !id || strcmp(id, self) != 0)
		why = "MN_IN_NETNS/MN_NETNS_ID do not name this namespace";
	else if (!outer || strcmp(outer, self) == 0)
		why = "MN_OUTER_NETNS is unset or this namespace";
	if (!why)
		return;
	fprintf(stderr, "%s: refusing to run outside a namespace made by netns-run (%s): it opens "
	        "sockets; run it as tests/integration/netns-run %s, or through ctest\n", name, why,
	        name);
	exit(2);
}
