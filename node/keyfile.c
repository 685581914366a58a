/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keyfile: the identity and mesh-key files (layouts in docs/crypto.md).
 *
 * Invariants:
 * - A secret file is only read through secfile_open(), which refuses anything that is not a
 *   regular file owned by us with no group or other permission bits, and never follows a
 *   symlink: whoever can swap or read that file can impersonate the node or join the mesh.
 * - A secret file is only created through secfile_write() without replace: the contents go
 *   to a 0600 temp file in the same directory, are fsync'd, and the temp file is then
 *   link()ed to its name. link() fails with EEXIST instead of replacing, so an existing key
 *   is never overwritten, and a crash leaves either no file or a complete one.
 * - File contents sit only in sodium_malloc'd buffers, freed (and so wiped) on every path.
 *   Error text names the file and the fix, never a byte of the contents.
 */
#include "keyfile.h"
#include "secfile.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
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

static const char ID_WHAT[] = "identity file";
static const char MESHKEY_WHAT[] = "mesh key file";
static const char KIND[] = "secret files";

static int sodium_ready(char *err, size_t errcap)
{
	if (sodium_init() < 0) {
		secfile_err(err, errcap, "libsodium failed to initialise");
		return -1;
	}
	return 0;
}

static void id_size_err(const char *path, long long size, char *err, size_t errcap)
{
	if (size < ID_FILE_LEN)
		secfile_err(err, errcap, "%s %s is truncated (%lld of %d bytes); restore it from a backup, "
		            "or move it away to create a new identity (this changes the node ID)",
		            ID_WHAT, path, size, ID_FILE_LEN);
	else
		secfile_err(err, errcap, "%s %s has unexpected size %lld bytes (expected %d); it is not a "
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
	switch (secfile_open(path, ID_WHAT, KIND, &fd, &size, err, errcap)) {
	case SECFILE_OPEN_OK:
		break;
	case SECFILE_OPEN_MISSING:
		*missing = true;
		goto done;
	case SECFILE_OPEN_REFUSED:
		goto done;
	}
	if (size != ID_FILE_LEN) {
		id_size_err(path, (long long)size, err, errcap);
		goto done;
	}
	buf = sodium_malloc(ID_FILE_LEN + 1);
	if (!buf) {
		secfile_err(err, errcap, "out of memory reading %s %s", ID_WHAT, path);
		goto done;
	}
	/* Read one byte past the layout so a file that changed after fstat is caught too. */
	n = secfile_read_upto(fd, buf, ID_FILE_LEN + 1);
	if (n < 0) {
		secfile_err(err, errcap, "cannot read %s %s: %s", ID_WHAT, path, strerror(errno));
		goto done;
	}
	if (n != ID_FILE_LEN) {
		id_size_err(path, (long long)n, err, errcap);
		goto done;
	}
	if (memcmp(buf, ID_MAGIC, ID_MAGIC_LEN) != 0) {
		secfile_err(err, errcap, "%s %s is not a meshnode identity file (unknown header); move it "
		            "away to create a new identity", ID_WHAT, path);
		goto done;
	}
	crypto_generichash(sum, sizeof sum, buf, ID_OFF_SUM, NULL, 0);
	if (sodium_memcmp(sum, buf + ID_OFF_SUM, ID_SUMLEN) != 0) {
		secfile_err(err, errcap, "%s %s is corrupt (checksum mismatch); restore it from a backup, "
		            "or move it away to create a new identity (this changes the node ID)",
		            ID_WHAT, path);
		goto done;
	}
	k = keys_identity_from_seed(buf + ID_OFF_SEED);
	if (!k) {
		secfile_err(err, errcap, "out of memory reading %s %s", ID_WHAT, path);
		goto done;
	}
	/* The checksum is unkeyed and only catches accidents; deriving again proves that the
	 * stored key, the one a user may have pinned, really belongs to the seed. */
	if (sodium_memcmp(k->id, buf + ID_OFF_PK, KEYS_IDLEN) != 0) {
		keys_identity_destroy(&k);
		secfile_err(err, errcap, "%s %s is corrupt (public key does not match the seed); restore "
		            "it from a backup, or move it away to create a new identity", ID_WHAT, path);
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	sodium_free(buf);
	return k;
}

static enum secfile_write write_identity(const char *path, const struct keys_identity *k,
                                         char *err, size_t errcap)
{
	enum secfile_write rc = SECFILE_FAILED;
	uint8_t *buf = NULL;

	if (sodium_ready(err, errcap) != 0)
		goto done;
	buf = sodium_malloc(ID_FILE_LEN);
	if (!buf) {
		secfile_err(err, errcap, "out of memory writing %s %s", ID_WHAT, path);
		goto done;
	}
	memcpy(buf, ID_MAGIC, ID_MAGIC_LEN);
	keys_identity_seed(k, buf + ID_OFF_SEED);
	memcpy(buf + ID_OFF_PK, k->id, KEYS_IDLEN);
	crypto_generichash(buf + ID_OFF_SUM, ID_SUMLEN, buf, ID_OFF_SUM, NULL, 0);
	rc = secfile_write(path, ID_WHAT, buf, ID_FILE_LEN, false, err, errcap);
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
		secfile_err(err, errcap, "out of memory creating %s %s", ID_WHAT, path);
		return NULL;
	}
	enum secfile_write w = write_identity(path, k, err, errcap);
	if (w == SECFILE_WRITTEN) {
		if (created)
			*created = true;
		return k;
	}
	keys_identity_destroy(&k);
	/* Another process created it between our open and our link: use that one, so both
	 * agree on a single identity. */
	if (w == SECFILE_EXISTS)
		return load_identity(path, &missing, err, errcap);
	return NULL;
}

int keyfile_write_identity(const char *path, const struct keys_identity *k, char *err,
                           size_t errcap)
{
	return write_identity(path, k, err, errcap) == SECFILE_WRITTEN ? 0 : -1;
}

/* One message for every format fault: saying which byte was wrong would describe the key. */
static void meshkey_format_err(const char *path, char *err, size_t errcap)
{
	secfile_err(err, errcap, "%s %s is malformed: it must hold exactly %d hex characters and an "
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
	if (secfile_open(path, MESHKEY_WHAT, KIND, &fd, &size, err, errcap) != SECFILE_OPEN_OK)
		goto done;
	if (size != MESHKEY_HEXLEN && size != MESHKEY_HEXLEN + 1) {
		meshkey_format_err(path, err, errcap);
		goto done;
	}
	buf = sodium_malloc(MESHKEY_HEXLEN + 2);
	if (!buf) {
		secfile_err(err, errcap, "out of memory reading %s %s", MESHKEY_WHAT, path);
		goto done;
	}
	/* One byte past the longest valid file, to catch a file that grew after fstat. */
	n = secfile_read_upto(fd, buf, MESHKEY_HEXLEN + 2);
	if (n < 0) {
		secfile_err(err, errcap, "cannot read %s %s: %s", MESHKEY_WHAT, path, strerror(errno));
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
		secfile_err(err, errcap, "out of memory creating %s %s", MESHKEY_WHAT, path);
		goto done;
	}
	uint8_t *raw = buf, *text = buf + KEYFILE_MESHKEY_LEN;
	randombytes_buf(raw, KEYFILE_MESHKEY_LEN);
	sodium_bin2hex((char *)text, MESHKEY_HEXLEN + 1, raw, KEYFILE_MESHKEY_LEN);
	text[MESHKEY_HEXLEN] = '\n';
	if (secfile_write(path, MESHKEY_WHAT, text, MESHKEY_HEXLEN + 1, false, err,
	                  errcap) != SECFILE_WRITTEN)
		goto done;
	rc = 0;
done:
	sodium_free(buf);
	return rc;
}
