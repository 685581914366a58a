/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * keylog: the opt-in key log (docs/usage.md, "Key log"), the node's SSLKEYLOGFILE. When the
 * user names a file, each session's transport keys and the beacon key of a closed mesh are
 * appended to it, one line each, so that the Wireshark dissector (tools/wireshark) can decrypt
 * a capture. Anyone who reads the file reads every captured frame those keys protect, so the
 * file is the user's alone: created 0600, never through a symbolic link, refused if it is not
 * a regular file of ours with no group or other permission. Each line goes out in one write(),
 * so a reader that follows the file never sees half a key. The lines are built on the stack and
 * wiped; no key goes anywhere but this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "node_impl.h"
#include "secfile.h"

#define KEYLOG_HEADER "# meshnode key log: whoever reads this file can decrypt captures of " \
	"this node's traffic. Delete it when done.\n"

/* "MESHNODE_SESSION " 8 " " 8 " " 64 " " 64 "\n": the longest line */
#define KEYLOG_LINE_MAX (17 + 8 + 1 + 8 + 1 + 64 + 1 + 64 + 2)

enum mesh_err meshnode_set_keylog(struct meshnode *n, const char *path, char *err, size_t errcap)
{
	if (!n) {
		snprintf(err, errcap, "no node");
		return MESH_EINVAL;
	}
	if (n->started || n->stopped) {
		snprintf(err, errcap, "the key log is set before the node starts");
		return MESH_ESTATE;
	}
	if (n->keylog_fd >= 0) {
		close(n->keylog_fd);
		n->keylog_fd = -1;
	}
	if (!path)
		return MESH_OK;
	if (!path[0]) {
		snprintf(err, errcap, "the key log's path is empty");
		return MESH_EINVAL;
	}
	off_t size;
	int fd = secfile_open_append(path, "key log", &size, err, errcap);
	if (fd < 0)
		return MESH_EIO;
	if (size == 0 && secfile_write_all(fd, KEYLOG_HEADER, strlen(KEYLOG_HEADER)) != 0) {
		snprintf(err, errcap, "key log %s: %s", path, strerror(errno));
		close(fd);
		return MESH_EIO;
	}
	n->keylog_fd = fd;
	return MESH_OK;
}

static void hex(char *out, size_t cap, const uint8_t *k)
{
	sodium_bin2hex(out, cap, k, MESH_KEYLEN);
}

void node_keylog(void *arg, const struct mesh_keylog *k)
{
	struct meshnode *n = arg;
	char line[KEYLOG_LINE_MAX], a[2 * MESH_KEYLEN + 1], b[2 * MESH_KEYLEN + 1];
	int len;
	if (n->keylog_fd < 0)
		return;
	if (k->beacon_key) {
		hex(a, sizeof a, k->beacon_key);
		len = snprintf(line, sizeof line, "MESHNODE_BEACON %s\n", a);
	} else {
		hex(a, sizeof a, k->to_local);
		hex(b, sizeof b, k->to_remote);
		len = snprintf(line, sizeof line, "MESHNODE_SESSION %08x %08x %s %s\n",
		               (unsigned)k->local_sid, (unsigned)k->remote_sid, a, b);
	}
	if (len > 0 && (size_t)len < sizeof line &&
	    secfile_write_all(n->keylog_fd, line, (size_t)len) != 0 && !n->keylog_failed) {
		n->keylog_failed = true;
		node_logmsg(n, MESHNODE_LOG_ERROR, "cannot write the key log: %s", strerror(errno));
	}
	sodium_memzero(line, sizeof line);
	sodium_memzero(a, sizeof a);
	sodium_memzero(b, sizeof b);
}
