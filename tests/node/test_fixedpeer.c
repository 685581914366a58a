/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshnode_add_peer() through the public API, on loopback inside the private network namespace
 * that tests/integration/netns-run creates: two nodes on different multicast ports (neither
 * hears the other's beacons) link once one of them is given the other's address after both
 * started, and a whisper crosses; the argument checks and limits of the call, before the start,
 * after it and after the stop.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshnode.h"
#include "testlib.h"
#include "testnode.h"

static char dir[] = "/tmp/test_fixedpeer.XXXXXX";

static struct meshnode *make(const char *name, uint16_t mcast_port)
{
	struct meshnode_config cfg;
	char path[256], err[512];
	testnode_config(&cfg, path, sizeof path, dir, name, mcast_port);
	cfg.known_peers_path = "";
	struct meshnode *n = meshnode_new(&cfg, err, sizeof err);
	if (!n)
		fprintf(stderr, "meshnode_new: %s\n", err);
	return n;
}

static bool start(struct meshnode *n)
{
	char err[512];
	if (meshnode_start(n, err, sizeof err) == MESH_OK)
		return true;
	fprintf(stderr, "meshnode_start: %s\n", err);
	return false;
}

/* Waits up to timeout_ms for an event of type t from peer (and text if given). */
static bool wait_for(struct meshnode *n, enum meshnode_event_type t, const uint8_t *peer,
                     const char *text, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(n, 50))) {
			bool hit = ev->type == t && memcmp(ev->peer, peer, MESHNODE_IDLEN) == 0 &&
			           (!text || (ev->len == strlen(text) && memcmp(ev->data, text,
			                                                        ev->len) == 0));
			meshnode_event_destroy(&ev);
			if (hit)
				return true;
		}
	}
	return false;
}

/* The call's own checks, on a node that is never started. */
static void test_arguments(void)
{
	char err[256], addr[64];
	struct meshnode *n = make("args", 47621);
	CHECK(n != NULL);
	if (!n)
		return;
	CHECK(meshnode_add_peer(n, NULL, err, sizeof err) == MESH_EINVAL);
	CHECK(meshnode_add_peer(n, "127.0.0.1", err, sizeof err) == MESH_EINVAL &&
	      strstr(err, "HOST:PORT") != NULL);
	/* an IPv6 address is written in brackets, and a link-local one with its interface */
	CHECK(meshnode_add_peer(n, "::1:4000", err, sizeof err) == MESH_EINVAL &&
	      strstr(err, "IPv6") != NULL);
	CHECK(meshnode_add_peer(n, "[fe80::1]:4000", err, sizeof err) == MESH_EINVAL &&
	      strstr(err, "link-local") != NULL);
	CHECK(meshnode_add_peer(n, "[::]:4000", NULL, 0) == MESH_EINVAL);
	CHECK(meshnode_add_peer(n, "0.0.0.0:4000", NULL, 0) == MESH_EINVAL);
	CHECK(meshnode_add_peer(n, "127.0.0.1:4000", NULL, 0) == MESH_OK);
	/* the same address again is the same peer, not a second one */
	CHECK(meshnode_add_peer(n, "127.0.0.1:4000", err, sizeof err) == MESH_OK);
	CHECK(meshnode_add_peer(n, "[::1]:4000", err, sizeof err) == MESH_OK);
	CHECK(meshnode_add_peer(n, "[::1]:4000", err, sizeof err) == MESH_OK);
	/* two taken: 127.0.0.1 and ::1 */
	for (int i = 2; i < MESHNODE_MAX_FIXED_PEERS; i++) {
		snprintf(addr, sizeof addr, "127.0.1.%d:4000", i);
		CHECK(meshnode_add_peer(n, addr, err, sizeof err) == MESH_OK);
	}
	CHECK(meshnode_add_peer(n, "127.0.2.1:4000", err, sizeof err) == MESH_ELIMIT);
	meshnode_destroy(&n);
}

int main(void)
{
	if (!getenv("MN_IN_NETNS")) {
		fprintf(stderr, "test_fixedpeer must run inside tests/integration/netns-run\n");
		return 1;
	}
	if (!mkdtemp(dir))
		return 1;
	test_arguments();

	struct meshnode *a = make("alice", 47622), *b = make("bob", 47623);
	CHECK(a && b && start(a) && start(b));
	if (!a || !b)
		return testlib_done("test_fixedpeer");
	const char *ep = meshnode_endpoint(b);
	char addr[96], err[256];
	CHECK(strncmp(ep, "tcp://", 6) == 0);
	snprintf(addr, sizeof addr, "%s", ep + 6);
	/* added after the start: the loop dials it at its next sweep */
	CHECK(meshnode_add_peer(a, addr, err, sizeof err) == MESH_OK);
	CHECK(wait_for(a, MESHNODE_EV_ENTER, meshnode_id(b), NULL, 5000));
	CHECK(wait_for(b, MESHNODE_EV_ENTER, meshnode_id(a), NULL, 5000));
	CHECK(meshnode_whisper(b, meshnode_id(a), "over-the-fixed-link", 19, NULL) == MESH_OK);
	CHECK(wait_for(a, MESHNODE_EV_WHISPER, meshnode_id(b), "over-the-fixed-link", 5000));
	struct meshnode_peer *pa = NULL;
	size_t na = 0;
	CHECK(meshnode_peers(a, &pa, &na) == MESH_OK && na == 1 && pa[0].initiator);
	meshnode_peers_free(&pa, na);
	meshnode_stop(a);
	CHECK(meshnode_add_peer(a, addr, err, sizeof err) == MESH_ESTATE);
	meshnode_destroy(&a);
	meshnode_destroy(&b);
	return testlib_done("test_fixedpeer");
}
