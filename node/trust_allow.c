/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* trust_allow: the allow list (trust_allow.h). The IDs are kept sorted, so a lookup is a
 * binary search. */
#include "trust_allow.h"
#include "linefile.h"
#include "secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct trust_allow {
	size_t n;
	uint8_t (*ids)[TRUST_ID_LEN];
};

static const char WHAT[] = "allow list";

/* Follows a symlink, unlike secfile_open(); the rest is trust_allow.h's rule. */
static int open_allow(const char *path, off_t *sizep, char *err, size_t errcap)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO at the path must not hang the node; fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		secfile_err(err, errcap, "cannot open %s %s: %s", WHAT, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		secfile_err(err, errcap, "cannot stat %s %s: %s", WHAT, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		secfile_err(err, errcap, "%s %s is not a regular file", WHAT, path);
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		secfile_err(err, errcap, "%s %s is owned by uid %lu, neither root nor the user "
		            "running meshnode (uid %lu); run: chown %lu %s", WHAT, path,
		            (unsigned long)st.st_uid, (unsigned long)geteuid(),
		            (unsigned long)geteuid(), path);
	} else if ((st.st_mode & 022) != 0) {
		secfile_err(err, errcap, "%s %s can be changed by other users (mode %04o); run: "
		            "chmod go-w %s", WHAT, path, (unsigned)(st.st_mode & 07777), path);
	} else {
		*sizep = st.st_size;
		return fd;
	}
	close(fd);
	return -1;
}

static bool parse(struct trust_allow *a, struct linefile *l, char *err, size_t errcap)
{
	struct linefile_id *v = NULL;
	size_t cap = 0, n;
	const char *s;
	bool ok = false;
	int got;

	while ((got = linefile_next(l, &s, &n, err, errcap)) > 0) {
		if (linefile_empty(s, n))
			continue;
		while (linefile_blank(*s)) {
			s++;
			n--;
		}
		if (a->n == TRUST_ALLOW_MAX) {
			linefile_err(l, l->no, err, errcap, "more than %d IDs", TRUST_ALLOW_MAX);
			goto done;
		}
		if (a->n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct linefile_id *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				secfile_err(err, errcap, "out of memory reading %s %s", WHAT, l->path);
				goto done;
			}
			v = nv;
			cap = ncap;
		}
		/* The ID, then the end of the line or a blank before the comment. */
		if (!linefile_hexid(s, n, true, v[a->n].id) ||
		    (n > LINEFILE_HEXID_LEN && !linefile_blank(s[LINEFILE_HEXID_LEN]))) {
			linefile_err(l, l->no, err, errcap, "not an ID of %d hex digits, a blank line "
			             "or a # comment", LINEFILE_HEXID_LEN);
			goto done;
		}
		v[a->n++].line = l->no;
	}
	if (got < 0 || !linefile_sort_unique(l, v, a->n, err, errcap))
		goto done;
	a->ids = malloc((a->n ? a->n : 1) * sizeof a->ids[0]);
	if (!a->ids) {
		secfile_err(err, errcap, "out of memory reading %s %s", WHAT, l->path);
		goto done;
	}
	for (size_t i = 0; i < a->n; i++)
		memcpy(a->ids[i], v[i].id, TRUST_ID_LEN);
	ok = true;
done:
	free(v);
	return ok;
}

struct trust_allow *trust_allow_load(const char *path, char *err, size_t errcap)
{
	struct linefile l = { WHAT, path, "fix it", NULL, 0, 0 };
	struct trust_allow *a = NULL;
	size_t len = 0;
	off_t size = 0;
	int fd = open_allow(path, &size, err, errcap);
	if (fd < 0)
		return NULL;
	char *buf = linefile_read(fd, size, TRUST_MAX_FILE, &l, &len, err, errcap);
	if (!buf)
		return NULL;
	l.p = buf;
	l.left = len;
	a = calloc(1, sizeof *a);
	if (!a)
		secfile_err(err, errcap, "out of memory reading %s %s", WHAT, path);
	else if (!parse(a, &l, err, errcap))
		trust_allow_destroy(&a);
	free(buf);
	return a;
}

void trust_allow_destroy(struct trust_allow **ap)
{
	struct trust_allow *a = ap ? *ap : NULL;
	if (!a)
		return;
	free(a->ids);
	free(a);
	*ap = NULL;
}

static int cmp_id(const void *key, const void *elem)
{
	return memcmp(key, elem, TRUST_ID_LEN);
}

bool trust_allow_contains(const struct trust_allow *a, const uint8_t id[TRUST_ID_LEN])
{
	return a->n > 0 && bsearch(id, a->ids, a->n, sizeof a->ids[0], cmp_id) != NULL;
}

size_t trust_allow_count(const struct trust_allow *a)
{
	return a->n;
}
