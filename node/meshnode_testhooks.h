/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* meshnode_testhooks: what only the test-hooks build of the node (mn_node_testhooks) has. Not
 * installed and not in libmeshnode: a program that includes it must link mn_node_testhooks. */
#ifndef MESHNODE_TESTHOOKS_H
#define MESHNODE_TESTHOOKS_H

#include "meshnode.h"

#ifndef MESH_TEST_HOOKS
#error "meshnode_testhooks.h is for the test-hooks build only (link mn_node_testhooks)"
#endif

/* Says BYE to peer and starts a new handshake with it at once; meshbench uses it to count
 * handshakes per second between running nodes. */
enum mesh_err meshnode_test_relink(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN]);
/* The event queue's caps (200000 events, 256 MiB), made small so that a test can fill it;
 * before meshnode_start(). */
void meshnode_test_event_caps(struct meshnode *n, size_t events, size_t bytes);
/* The caps of the sends waiting for the loop thread (65536 sends, 64 MiB), made small so that
 * a test can make its senders wait for room; sends at least 1; before meshnode_start(). */
void meshnode_test_send_caps(struct meshnode *n, size_t sends, size_t bytes);
/* How many sends have waited for room so far. */
uint64_t meshnode_test_send_waits(struct meshnode *n);
/* The known peers file is saved every every_ms (0: every 30 s) while it has changed, and
 * before_write(arg), if set, is called before each write of it: a test holds it there as a
 * slow disk would. Before meshnode_start(). */
void meshnode_test_known_save(struct meshnode *n, uint32_t every_ms, void (*before_write)(void *),
                              void *arg);

#endif
