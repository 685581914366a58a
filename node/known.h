/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * known: the node's remembered peers (trust.h) and what it makes of them: alarms about names,
 * the verified mark on events, known-only and allow-list mode, and saving the store. See
 * known.c for the threads.
 */
#ifndef NODE_KNOWN_H
#define NODE_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_impl.h"

/* meshnode_create: opens the store (cfg.known_peers_path; NULL: beside identity_path, the
 * identity file the configuration named, or the XDG default when it named none) and the allow
 * list. */
enum mesh_err known_open(struct meshnode *n, const char *identity_path, char *err,
                         size_t errcap);
/* meshnode_start: starts the saver thread (none when remembering is off). */
enum mesh_err known_start(struct meshnode *n, char *err, size_t errcap);
/* Loop thread: has a changed store saved, at most every 30 s, by the saver; says the
 * saver's failures. */
void known_on_tick(struct meshnode *n, uint64_t now_ms);
/* Loop thread: when known_on_tick() next looks at the store; UINT64_MAX when it never does. */
uint64_t known_next_due(const struct meshnode *n);
/* Once the loop has ended: ends the saver, and saves what changed on the calling thread.
 * Safe to call twice. */
void known_stop(struct meshnode *n);
/* known_stop(), then frees everything; safe to call twice. */
void known_close(struct meshnode *n);
/* Loop thread: records an ENTER's peer and pushes the alarms it raises (before ev), and sets
 * ev->verified for any event about a peer. */
void known_on_event(struct meshnode *n, struct meshnode_event *ev);
/* mesh_config.may_link (arg: the node). */
bool known_may_link(void *arg, const uint8_t id[MESHNODE_IDLEN]);

#endif
