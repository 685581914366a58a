/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * trust_allow: the allow list, the only IDs a node is to accept (WireGuard's list of peers).
 * A text file, one ID per line as 64 hex digits in either case, optionally preceded by
 * blanks and followed by blanks and any comment (a name, say); blank lines and # comments are
 * skipped. Read strictly: a bad or repeated ID, more than
 * TRUST_ALLOW_MAX of them, or more than TRUST_MAX_FILE bytes refuses the whole file with the
 * line number.
 *
 * It holds no secret, so unlike the key files it may be a symlink (managed configuration
 * often is) and may be readable by all. But whoever can write it decides whom the node
 * accepts, so, as sshd requires of authorized_keys, it must be a regular file owned by the
 * user or root that neither group nor others may write.
 */
#ifndef MESH_NODE_TRUST_ALLOW_H
#define MESH_NODE_TRUST_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trust.h"

#define TRUST_ALLOW_MAX 16384      /* 4 x PEER_MAX; all of them fit in TRUST_MAX_FILE */

struct trust_allow;

/* NULL with a one-line reason in err (a missing file is an error: it was asked for). */
struct trust_allow *trust_allow_load(const char *path, char *err, size_t errcap);
void trust_allow_destroy(struct trust_allow **ap);         /* *ap = NULL; NULL ok */
bool trust_allow_contains(const struct trust_allow *a, const uint8_t id[TRUST_ID_LEN]);
size_t trust_allow_count(const struct trust_allow *a);

#endif
