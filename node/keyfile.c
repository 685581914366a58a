/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keyfile: the identity and mesh-key files (layouts in docs/crypto.md).
 *
 * Invariants:
 * - A secret file is only read through open_secret(), which refuses anything that is not a
 *   regular file owned by us with no group or other permission bits, and never follows a
 *   symlink: whoever can swap or read that file can impersonate the node or join the mesh.
 * - A secret file is only created through write_new_file(): the full contents go to a 0600
 *   temp file in the same directory, are fsync'd, and the temp file is then link()ed to its
 *   name. link() fails with EEXIST instead of replacing, so an existing key is never
 *   overwritten, and a crash leaves either no file or a complete one.
 * - File contents sit only in sodium_malloc'd buffers, freed (and so wiped) on every path.
 *   Error text names the file and the fix, never a byte of the contents.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

/* Identity file layout (docs/crypto.md, "Identity file"): magic, seed, public key, checksum. */
#define ID_MAGIC "MNIDENT1"
#define ID_MAGIC_LEN 8
#define ID_OFF_SEED ID_MAGIC_LEN
#define ID_OFF_PK (ID_OFF_SEED + KEYS_SEEDLEN)
#define ID_OFF_SUM (ID_OFF_PK + KEYS_IDLEN)
#define ID_SUMLEN 16
#define ID_FILE_LEN (ID_OFF_SUM + ID_SUMLEN)            /* 88 */

/* Mesh key file: 64 hex characters and an optional newline. */
#define MESHKEY_HEXLEN (2 * KEYFILE_MESHKEY_LEN)

#define TMP_TRIES 16

static const char ID_WHAT[] = "identity file";
static const char MESHKEY_WHAT[] = "mesh key file";

enum open_result { OPEN_OK, OPEN_MISSING, OPEN_REFUSED };
enum write_result { WRITE_OK = 0, WRITE_FAILED = -1, WRITE_EXISTS = -2 };

/* Lets the compiler check every message's arguments; clang's -Wformat=2 also insists on it
 * before it accepts a forwarded format. */
#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void set_err(char *err, size_t errcap, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;
	if (!err || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

static int sodium_ready(char *err, size_t errcap)
{
	if (sodium_init() < 0) {
		set_err(err, errcap, "libsodium failed to initialise");
		return -1;
	}
	return 0;
}

/* Opens a secret file for reading and checks that only we can touch it. */
static enum open_result open_secret(const char *path, const char *what, int *fdp, off_t *sizep,
                                    char *err, size_t errcap)
{
	struct stat st;
	*fdp = -1;
	/* O_NONBLOCK: opening a FIFO planted at the path must not hang the node; fstat below
	 * refuses it. It changes nothing for a regular file. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			set_err(err, errcap, "%s %s does not exist", what, path);
			return OPEN_MISSING;
		}
		/* Linux says ELOOP for O_NOFOLLOW on a symlink, the BSDs EMLINK. */
		if (e == ELOOP || e == EMLINK)
			set_err(err, errcap, "%s %s is a symbolic link, which meshnode does not follow "
			        "for secret files; replace it with the file itself", what, path);
		else
			set_err(err, errcap, "cannot open %s %s: %s", what, path, strerror(e));
		return OPEN_REFUSED;
	}
	if (fstat(fd, &st) != 0) {
		set_err(err, errcap, "cannot stat %s %s: %s", what, path, strerror(errno));
		goto refused;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errcap, "%s %s is not a regular file; move it away", what, path);
		goto refused;
	}
	if (st.st_uid != geteuid()) {
		set_err(err, errcap, "%s %s is owned by uid %lu, not by the user running meshnode "
		        "(uid %lu); run: chown %lu %s", what, path, (unsigned long)st.st_uid,
		        (unsigned long)geteuid(), (unsigned long)geteuid(), path);
		goto refused;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errcap, "%s %s is accessible by other users (mode %04o); run: chmod 600 %s",
		        what, path, (unsigned)(st.st_mode & 07777), path);
		goto refused;
	}
	*fdp = fd;
	*sizep = st.st_size;
	return OPEN_OK;
refused:
	close(fd);
	return OPEN_REFUSED;
}

/* Reads until EOF or cap bytes; returns the byte count or -1. */
static ssize_t read_upto(int fd, uint8_t *buf, size_t cap)
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

static int write_all(int fd, const uint8_t *buf, size_t len)
{
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
		set_err(err, errcap, "out of memory");
		return -1;
	}
	/* Start after the first byte so an absolute path does not try to create "". */
	for (char *s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			set_err(err, errcap, "cannot create directory %s: %s", p, strerror(errno));
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

/* Creates path with exactly these bytes and mode 0600, atomically, never replacing a file. */
static enum write_result write_new_file(const char *path, const char *what, const uint8_t *data,
                                        size_t len, char *err, size_t errcap)
{
	static const char suffix[] = ".tmp-";
	enum write_result rc = WRITE_FAILED;
	char *dir = NULL, *tmp = NULL;
	size_t tmpcap = strlen(path) + sizeof suffix + 12;
	bool tmp_made = false;
	int fd = -1;

	if (make_parents(path, err, errcap) != 0)
		goto done;
	dir = dir_of(path);
	tmp = malloc(tmpcap);
	if (!dir || !tmp) {
		set_err(err, errcap, "out of memory");
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
			set_err(err, errcap, "cannot create a temporary file next to %s %s: %s", what,
			        path, strerror(errno));
			goto done;
		}
	}
	if (fd < 0) {
		set_err(err, errcap, "cannot create a temporary file next to %s %s: all names taken",
		        what, path);
		goto done;
	}
	tmp_made = true;
	/* The umask may have taken bits off 0600; set it exactly so the loader accepts it. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		set_err(err, errcap, "cannot write %s %s: %s", what, path, strerror(errno));
		goto done;
	}
	int closed = close(fd);
	fd = -1;
	if (closed != 0) {
		set_err(err, errcap, "cannot write %s %s: %s", what, path, strerror(errno));
		goto done;
	}
	/* rename() would silently replace an existing key; link() is create-if-absent. */
	if (link(tmp, path) != 0) {
		if (errno == EEXIST) {
			set_err(err, errcap, "%s %s already exists; refusing to overwrite it", what, path);
			rc = WRITE_EXISTS;
		} else {
			set_err(err, errcap, "cannot create %s %s: %s", what, path, strerror(errno));
		}
		goto done;
	}
	/* Without this a crash could lose the new name, and the next start would make a
	 * different identity than the one peers have already seen. */
	if (fsync_dir(dir) != 0) {
		set_err(err, errcap, "%s %s was written but its directory %s could not be synced: %s",
		        what, path, dir, strerror(errno));
		goto done;
	}
	rc = WRITE_OK;
done:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

static void id_size_err(const char *path, long long size, char *err, size_t errcap)
{
	if (size < ID_FILE_LEN)
		set_err(err, errcap, "%s %s is truncated (%lld of %d bytes); restore it from a backup, "
		        "or move it away to create a new identity (this changes the node ID)",
		        ID_WHAT, path, size, ID_FILE_LEN);
	else
		set_err(err, errcap, "%s %s has unexpected size %lld bytes (expected %d); it is not a "
		        "meshnode identity file: move it away to create a new identity",
		        ID_WHAT, path, size, ID_FILE_LEN);
}

static struct keys_identity *load_identity(const char *path, bool *missing, char *err,
                                           size_t errcap)
{
	struct keys_identity *k = NULL;
	uint8_t *buf = NULL;
	uint8_t sum[ID_SUMLEN];
	off_t size = 0;
	ssize_t n;
	int fd = -1;

	*missing = false;
	if (sodium_ready(err, errcap) != 0)
		goto done;
	switch (open_secret(path, ID_WHAT, &fd, &size, err, errcap)) {
	case OPEN_OK:
		break;
	case OPEN_MISSING:
		*missing = true;
		goto done;
	case OPEN_REFUSED:
		goto done;
	}
	if (size != ID_FILE_LEN) {
		id_size_err(path, (long long)size, err, errcap);
		goto done;
	}
	buf = sodium_malloc(ID_FILE_LEN + 1);
	if (!buf) {
		set_err(err, errcap, "out of memory reading %s %s", ID_WHAT, path);
		goto done;
	}
	/* Read one byte past the layout so a file that changed after fstat is caught too. */
	n = read_upto(fd, buf, ID_FILE_LEN + 1);
	if (n < 0) {
		set_err(err, errcap, "cannot read %s %s: %s", ID_WHAT, path, strerror(errno));
		goto done;
	}
	if (n != ID_FILE_LEN) {
		id_size_err(path, (long long)n, err, errcap);
		goto done;
	}
	if (memcmp(buf, ID_MAGIC, ID_MAGIC_LEN) != 0) {
		set_err(err, errcap, "%s %s is not a meshnode identity file (unknown header); move it "
		        "away to create a new identity", ID_WHAT, path);
		goto done;
	}
	crypto_generichash(sum, sizeof sum, buf, ID_OFF_SUM, NULL, 0);
	if (sodium_memcmp(sum, buf + ID_OFF_SUM, ID_SUMLEN) != 0) {
		set_err(err, errcap, "%s %s is corrupt (checksum mismatch); restore it from a backup, "
		        "or move it away to create a new identity (this changes the node ID)",
		        ID_WHAT, path);
		goto done;
	}
	k = keys_identity_from_seed(buf + ID_OFF_SEED);
	if (!k) {
		set_err(err, errcap, "out of memory reading %s %s", ID_WHAT, path);
		goto done;
	}
	/* The checksum is unkeyed and only catches accidents; deriving again proves that the
	 * stored key, the one a user may have pinned, really belongs to the seed. */
	if (sodium_memcmp(k->id, buf + ID_OFF_PK, KEYS_IDLEN) != 0) {
		keys_identity_destroy(&k);
		set_err(err, errcap, "%s %s is corrupt (public key does not match the seed); restore "
		        "it from a backup, or move it away to create a new identity", ID_WHAT, path);
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	sodium_free(buf);
	return k;
}

static enum write_result write_identity(const char *path, const struct keys_identity *k,
                                        char *err, size_t errcap)
{
	enum write_result rc = WRITE_FAILED;
	uint8_t *buf = NULL;

	if (sodium_ready(err, errcap) != 0)
		goto done;
	buf = sodium_malloc(ID_FILE_LEN);
	if (!buf) {
		set_err(err, errcap, "out of memory writing %s %s", ID_WHAT, path);
		goto done;
	}
	memcpy(buf, ID_MAGIC, ID_MAGIC_LEN);
	keys_identity_seed(k, buf + ID_OFF_SEED);
	memcpy(buf + ID_OFF_PK, k->id, KEYS_IDLEN);
	crypto_generichash(buf + ID_OFF_SUM, ID_SUMLEN, buf, ID_OFF_SUM, NULL, 0);
	rc = write_new_file(path, ID_WHAT, buf, ID_FILE_LEN, err, errcap);
done:
	sodium_free(buf);
	return rc;
}

int keyfile_default_identity_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	/* The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/meshnode/identity", xdg);
	else if (home && home[0] != '\0')
		n = snprintf(out, cap, "%s/.config/meshnode/identity", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

struct keys_identity *keyfile_load_identity(const char *path, char *err, size_t errcap)
{
	bool missing;
	return load_identity(path, &missing, err, errcap);
}

struct keys_identity *keyfile_load_or_create_identity(const char *path, bool *created, char *err,
                                                      size_t errcap)
{
	bool missing;
	if (created)
		*created = false;
	struct keys_identity *k = load_identity(path, &missing, err, errcap);
	if (k || !missing)
		return k;
	k = keys_identity_generate();
	if (!k) {
		set_err(err, errcap, "out of memory creating %s %s", ID_WHAT, path);
		return NULL;
	}
	enum write_result w = write_identity(path, k, err, errcap);
	if (w == WRITE_OK) {
		if (created)
			*created = true;
		return k;
	}
	keys_identity_destroy(&k);
	/* Another process created it between our open and our link: use that one, so both
	 * agree on a single identity. */
	if (w == WRITE_EXISTS)
		return load_identity(path, &missing, err, errcap);
	return NULL;
}

int keyfile_write_identity(const char *path, const struct keys_identity *k, char *err,
                           size_t errcap)
{
	return write_identity(path, k, err, errcap) == WRITE_OK ? 0 : -1;
}

/* One message for every format fault: saying which byte was wrong would describe the key. */
static void meshkey_format_err(const char *path, char *err, size_t errcap)
{
	set_err(err, errcap, "%s %s is malformed: it must hold exactly %d hex characters and an "
	        "optional newline; put the mesh key shared by the other nodes in it",
	        MESHKEY_WHAT, path, MESHKEY_HEXLEN);
}

int keyfile_load_mesh_key(const char *path, uint8_t *key, char *err, size_t errcap)
{
	uint8_t *buf = NULL;
	const char *end = NULL;
	size_t binlen = 0;
	off_t size = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	if (sodium_ready(err, errcap) != 0)
		goto done;
	if (open_secret(path, MESHKEY_WHAT, &fd, &size, err, errcap) != OPEN_OK)
		goto done;
	if (size != MESHKEY_HEXLEN && size != MESHKEY_HEXLEN + 1) {
		meshkey_format_err(path, err, errcap);
		goto done;
	}
	buf = sodium_malloc(MESHKEY_HEXLEN + 2);
	if (!buf) {
		set_err(err, errcap, "out of memory reading %s %s", MESHKEY_WHAT, path);
		goto done;
	}
	/* One byte past the longest valid file, to catch a file that grew after fstat. */
	n = read_upto(fd, buf, MESHKEY_HEXLEN + 2);
	if (n < 0) {
		set_err(err, errcap, "cannot read %s %s: %s", MESHKEY_WHAT, path, strerror(errno));
		goto done;
	}
	if (n != MESHKEY_HEXLEN && n != MESHKEY_HEXLEN + 1) {
		meshkey_format_err(path, err, errcap);
		goto done;
	}
	/* sodium_hex2bin runs in constant time, so the key's digits do not leak through timing;
	 * with an end pointer it stops at the first non-hex byte rather than failing. */
	if ((n == MESHKEY_HEXLEN + 1 && buf[MESHKEY_HEXLEN] != '\n') ||
	    sodium_hex2bin(key, KEYFILE_MESHKEY_LEN, (const char *)buf, MESHKEY_HEXLEN, NULL,
	                   &binlen, &end) != 0 ||
	    binlen != KEYFILE_MESHKEY_LEN || end != (const char *)buf + MESHKEY_HEXLEN) {
		sodium_memzero(key, KEYFILE_MESHKEY_LEN);
		meshkey_format_err(path, err, errcap);
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	sodium_free(buf);
	return rc;
}

int keyfile_create_mesh_key(const char *path, char *err, size_t errcap)
{
	uint8_t *buf = NULL;
	int rc = -1;

	if (sodium_ready(err, errcap) != 0)
		goto done;
	/* One allocation for both forms, so the binary key is wiped with the text. */
	buf = sodium_malloc(KEYFILE_MESHKEY_LEN + MESHKEY_HEXLEN + 1);
	if (!buf) {
		set_err(err, errcap, "out of memory creating %s %s", MESHKEY_WHAT, path);
		goto done;
	}
	uint8_t *raw = buf, *text = buf + KEYFILE_MESHKEY_LEN;
	randombytes_buf(raw, KEYFILE_MESHKEY_LEN);
	sodium_bin2hex((char *)text, MESHKEY_HEXLEN + 1, raw, KEYFILE_MESHKEY_LEN);
	text[MESHKEY_HEXLEN] = '\n';
	if (write_new_file(path, MESHKEY_WHAT, text, MESHKEY_HEXLEN + 1, err, errcap) != WRITE_OK)
		goto done;
	rc = 0;
done:
	sodium_free(buf);
	return rc;
}
