/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * secfile: the checks and the atomic write behind every file only the user may touch
 * (secfile.h). Invariants:
 * - A file is only read after open(O_NOFOLLOW) and fstat on the descriptor, so what was
 *   checked is what is read, even if the path changes meanwhile.
 * - A file is only written by secfile_write(): a 0600 temp file in the same directory, fsync'd,
 *   then linked or renamed to its name and the directory fsync'd; the temp file is removed on
 *   every path.
 */
#include "secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define TMP_TRIES 16

void secfile_err(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;
	if (!err || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

enum secfile_open secfile_open(const char *path, const char *what, const char *kind, int *fdp,
                               off_t *sizep, char *err, size_t errcap)
{
	struct stat st;
	*fdp = -1;
	/* O_NONBLOCK: opening a FIFO planted at the path must not hang the node; fstat below
	 * refuses it. It changes nothing for a regular file. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			secfile_err(err, errcap, "%s %s does not exist", what, path);
			return SECFILE_OPEN_MISSING;
		}
		/* Linux says ELOOP for O_NOFOLLOW on a symlink, the BSDs EMLINK. */
		if (e == ELOOP || e == EMLINK)
			secfile_err(err, errcap, "%s %s is a symbolic link, which meshnode does not "
			            "follow for %s; replace it with the file itself", what, path, kind);
		else
			secfile_err(err, errcap, "cannot open %s %s: %s", what, path, strerror(e));
		return SECFILE_OPEN_REFUSED;
	}
	if (fstat(fd, &st) != 0) {
		secfile_err(err, errcap, "cannot stat %s %s: %s", what, path, strerror(errno));
		goto refused;
	}
	if (!S_ISREG(st.st_mode)) {
		secfile_err(err, errcap, "%s %s is not a regular file; move it away", what, path);
		goto refused;
	}
	if (st.st_uid != geteuid()) {
		secfile_err(err, errcap, "%s %s is owned by uid %lu, not by the user running meshnode "
		            "(uid %lu); run: chown %lu %s", what, path, (unsigned long)st.st_uid,
		            (unsigned long)geteuid(), (unsigned long)geteuid(), path);
		goto refused;
	}
	if ((st.st_mode & 077) != 0) {
		secfile_err(err, errcap, "%s %s is accessible by other users (mode %04o); run: chmod "
		            "600 %s", what, path, (unsigned)(st.st_mode & 07777), path);
		goto refused;
	}
	*fdp = fd;
	*sizep = st.st_size;
	return SECFILE_OPEN_OK;
refused:
	close(fd);
	return SECFILE_OPEN_REFUSED;
}

ssize_t secfile_read_upto(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int secfile_open_append(const char *path, const char *what, off_t *sizep, char *err,
                        size_t errcap)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		secfile_err(err, errcap, "%s %s: %s", what, path,
		            errno == ELOOP ? "is a symbolic link (refused)" : strerror(errno));
		return -1;
	}
	const char *why = NULL;
	if (fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		why = "readable or writable by others: chmod 600 it, or name a new file";
	if (why) {
		secfile_err(err, errcap, "%s %s: %s", what, path, why);
		close(fd);
		return -1;
	}
	*sizep = st.st_size;
	return fd;
}

int secfile_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *buf = data;
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* mkdir -p for every directory above path, mode 0700; existing ones are left as they are. */
static int make_parents(const char *path, char *err, size_t errcap)
{
	char *p = strdup(path);
	int rc = -1;
	if (!p) {
		secfile_err(err, errcap, "out of memory");
		return -1;
	}
	/* Start after the first byte so an absolute path does not try to create "". */
	for (char *s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			secfile_err(err, errcap, "cannot create directory %s: %s", p, strerror(errno));
			goto done;
		}
		*s = '/';
	}
	rc = 0;
done:
	free(p);
	return rc;
}

/* The directory holding path, as a new string: what must be fsync'd after the link. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	size_t n = (size_t)(slash - path);
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, path, n);
		d[n] = '\0';
	}
	return d;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	/* Some file systems cannot fsync a directory (EINVAL); the link is as durable as they
	 * allow, so that is not a failure. */
	if (rc != 0 && errno == EINVAL)
		rc = 0;
	close(fd);
	return rc;
}

enum secfile_write secfile_write(const char *path, const char *what, const uint8_t *data,
                                 size_t len, bool replace, char *err, size_t errcap)
{
	static const char suffix[] = ".tmp-";
	enum secfile_write rc = SECFILE_FAILED;
	char *dir = NULL, *tmp = NULL;
	size_t tmpcap = strlen(path) + sizeof suffix + 12;
	bool tmp_made = false;
	int fd = -1;

	if (make_parents(path, err, errcap) != 0)
		goto done;
	dir = dir_of(path);
	tmp = malloc(tmpcap);
	if (!dir || !tmp) {
		secfile_err(err, errcap, "out of memory");
		goto done;
	}
	for (int i = 0; i < TMP_TRIES && fd < 0; i++) {
		uint8_t rnd[6];
		char rhex[2 * sizeof rnd + 1];
		randombytes_buf(rnd, sizeof rnd);
		sodium_bin2hex(rhex, sizeof rhex, rnd, sizeof rnd);
		snprintf(tmp, tmpcap, "%s%s%s", path, suffix, rhex);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			secfile_err(err, errcap, "cannot create a temporary file next to %s %s: %s",
			            what, path, strerror(errno));
			goto done;
		}
	}
	if (fd < 0) {
		secfile_err(err, errcap, "cannot create a temporary file next to %s %s: all names "
		            "taken", what, path);
		goto done;
	}
	tmp_made = true;
	/* The umask may have taken bits off 0600; set it exactly so the loader accepts it. */
	if (fchmod(fd, 0600) != 0 || secfile_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		secfile_err(err, errcap, "cannot write %s %s: %s", what, path, strerror(errno));
		goto done;
	}
	int closed = close(fd);
	fd = -1;
	if (closed != 0) {
		secfile_err(err, errcap, "cannot write %s %s: %s", what, path, strerror(errno));
		goto done;
	}
	if (replace) {
		if (rename(tmp, path) != 0) {
			secfile_err(err, errcap, "cannot replace %s %s: %s", what, path,
			            strerror(errno));
			goto done;
		}
		tmp_made = false;       /* it is path now */
	} else if (link(tmp, path) != 0) {
		/* rename() would silently replace an existing key; link() is create-if-absent. */
		if (errno == EEXIST) {
			secfile_err(err, errcap, "%s %s already exists; refusing to overwrite it",
			            what, path);
			rc = SECFILE_EXISTS;
		} else {
			secfile_err(err, errcap, "cannot create %s %s: %s", what, path,
			            strerror(errno));
		}
		goto done;
	}
	/* Without this a crash could lose the new name: the next start would make a different
	 * identity than the one peers have already seen, or forget whom the user trusts. */
	if (fsync_dir(dir) != 0) {
		secfile_err(err, errcap, "%s %s was written but its directory %s could not be "
		            "synced: %s", what, path, dir, strerror(errno));
		goto done;
	}
	rc = SECFILE_WRITTEN;
done:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}
