/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * secfile: opening and writing the files that only the user may touch, shared by keyfile (the
 * identity and mesh key) and trust (the remembered peers). Whoever can replace such a file can
 * impersonate the node or decide whom it trusts, so secfile_open() refuses a symlink, anything
 * but a regular file, a file owned by another user and any group or other permission bit, and
 * secfile_write() creates the file atomically with mode 0600. Every refusal is one line that
 * names the file and the fix, never a byte of its contents.
 */
#ifndef MESH_NODE_SECFILE_H
#define MESH_NODE_SECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Lets the compiler check every message's arguments; clang's -Wformat=2 also insists on it
 * before it accepts a forwarded format. */
#if defined(__GNUC__)
#define SECFILE_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define SECFILE_PRINTF_LIKE(f, a)
#endif

/* snprintf into err (cut to errcap); a NULL err or errcap 0 is allowed and writes nothing. */
void secfile_err(char *err, size_t errcap, const char *fmt, ...) SECFILE_PRINTF_LIKE(3, 4);

enum secfile_open { SECFILE_OPEN_OK, SECFILE_OPEN_MISSING, SECFILE_OPEN_REFUSED };

/* Opens path for reading after the checks above. what names the file in messages ("identity
 * file"), kind says which files the symlink rule is for ("secret files"). On SECFILE_OPEN_OK
 * *fdp is the descriptor (the caller closes it) and *sizep its size; otherwise err says why. */
enum secfile_open secfile_open(const char *path, const char *what, const char *kind, int *fdp,
                               off_t *sizep, char *err, size_t errcap);

/* Reads until EOF or cap bytes; returns the byte count or -1 (errno set). */
ssize_t secfile_read_upto(int fd, uint8_t *buf, size_t cap);

/* Opens path to append to a file only the user may read, creating it 0600: never through a
 * symbolic link, and refused unless it is a regular file of ours without any group or other
 * permission (the key logs). The descriptor, with *sizep its size, or -1 with err saying
 * "WHAT PATH: why". */
int secfile_open_append(const char *path, const char *what, off_t *sizep, char *err,
                        size_t errcap);

/* Writes all len bytes, retrying on EINTR and short writes; 0, or -1 (errno set). */
int secfile_write_all(int fd, const void *buf, size_t len);

enum secfile_write { SECFILE_WRITTEN = 0, SECFILE_FAILED = -1, SECFILE_EXISTS = -2 };

/*
 * Writes exactly these bytes to path with mode 0600, atomically: missing parent directories
 * are made (0700), the bytes go to PATH.tmp-RANDOM (O_EXCL, O_NOFOLLOW), are fsync'd, and the
 * temp file then becomes path, after which the directory is fsync'd; a crash leaves the old
 * file or the new one, complete. With replace false that last step is link(), which never
 * replaces a file (SECFILE_EXISTS); with replace true it is rename(). No temp file survives.
 * Needs sodium_init() to have run (the random name).
 */
enum secfile_write secfile_write(const char *path, const char *what, const uint8_t *data,
                                 size_t len, bool replace, char *err, size_t errcap);

#endif
