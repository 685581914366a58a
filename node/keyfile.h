/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keyfile: the identity and mesh-key files on disk. The identity file holds the Ed25519 seed
 * in a fixed binary layout (docs/crypto.md) with a checksum; it is created on first use,
 * written atomically (temp file in the same directory, fsync, then link() to its name, which
 * never replaces an existing file) with mode 0600, and any
 * file that is group- or world-accessible, truncated, oversized or corrupt is refused with a
 * message naming the file and the fix. Nothing secret ever reaches the error text.
 */
#ifndef MESH_NODE_KEYFILE_H
#define MESH_NODE_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define KEYFILE_MESHKEY_LEN 32

/* Default identity path: $XDG_CONFIG_HOME/meshnode/identity, else $HOME/.config/meshnode/identity.
 * Returns 0, or -1 if neither variable is set or the path does not fit. */
int keyfile_default_identity_path(char *out, size_t cap);

/* Loads the identity at path, or creates it (and missing parent directories, mode 0700) when
 * it does not exist. *created (if not NULL) says whether this call created the file: false
 * when it loaded one, also one that another process created at the same moment. On failure
 * returns NULL and writes a one-line reason to err. */
struct keys_identity *keyfile_load_or_create_identity(const char *path, bool *created, char *err,
                                                      size_t errcap);

/* Loads an existing identity; never creates. */
struct keys_identity *keyfile_load_identity(const char *path, char *err, size_t errcap);

/* Writes a new identity file atomically, mode 0600; refuses to overwrite an existing file. */
int keyfile_write_identity(const char *path, const struct keys_identity *k, char *err, size_t errcap);

/* Mesh key file: 64 hex characters and an optional trailing newline, mode 0600 or stricter.
 * key must point to KEYFILE_MESHKEY_LEN bytes (ideally sodium_malloc'd). */
int keyfile_load_mesh_key(const char *path, uint8_t *key, char *err, size_t errcap);
/* Generates a fresh random mesh key file (atomic, 0600); refuses to overwrite. */
int keyfile_create_mesh_key(const char *path, char *err, size_t errcap);

#endif
