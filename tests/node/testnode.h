/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * testnode: the configuration the node tests that open sockets start from (test_pair,
 * test_unread, test_slowsave, test_fixedpeer, test_keylog, test_handoff): on `lo` inside
 * netns-run's namespace, an identity file in the test's directory, fast timers, warnings
 * only. A test changes what it needs afterwards. And the index of a test message
 * ("w17": whisper 17).
 */
#ifndef TESTS_NODE_TESTNODE_H
#define TESTS_NODE_TESTNODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshnode.h"

static inline double testnode_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads n's events until it has seen an ENTER (true) or timeout seconds have passed. */
static inline bool testnode_wait_enter(struct meshnode *n, double timeout)
{
	double end = testnode_now_s() + timeout;
	while (testnode_now_s() < end) {
		struct meshnode_event *ev = meshnode_next_event(n, 50);
		bool enter = ev && ev->type == MESHNODE_EV_ENTER;
		meshnode_event_destroy(&ev);
		if (enter)
			return true;
	}
	return false;
}

/* path (cap bytes) holds the identity file's name, and must outlive the node's creation. */
static inline void testnode_config(struct meshnode_config *cfg, char *path, size_t cap,
                                   const char *dir, const char *name, uint16_t mcast_port)
{
	meshnode_config_init(cfg);
	snprintf(path, cap, "%s/%s.id", dir, name);
	cfg->name = name;
	cfg->iface = "lo";
	cfg->identity_path = path;
	cfg->mcast_port = mcast_port;
	cfg->beacon_interval_ms = 200;
	cfg->heartbeat_ms = 200;
	cfg->evasive_ms = 1000;
	cfg->expired_ms = 3000;
	cfg->log_level = MESHNODE_LOG_WARN;
}

/* The index of a test's message "<kind><index>" (a letter, then a decimal number), or -1 for
 * any other payload. */
static inline long testnode_index_of(const struct meshnode_event *ev, char kind)
{
	char buf[16];
	if (ev->len < 2 || ev->len >= sizeof buf || ((const char *)ev->data)[0] != kind)
		return -1;
	memcpy(buf, ev->data, ev->len);
	buf[ev->len] = '\0';
	return atol(buf + 1);
}

#endif
