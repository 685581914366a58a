/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* beaconmaker: see beaconmaker.h. */
#include "beaconmaker.h"

#include <string.h>

#include "discovery.h"
#include "wire.h"

static struct {
	struct ipaddr ip;
	uint64_t wall;
	uint8_t data[WIRE_MAX_BEACON + 8];
	size_t len;
} cap;

static void *cap_open(const struct mcast_config *cfg, struct ipaddr *ifaddr, char *err,
                      size_t errcap)
{
	(void)cfg;
	(void)err;
	(void)errcap;
	*ifaddr = cap.ip;
	return &cap;
}

static int cap_fd(const void *p)
{
	(void)p;
	return -1;
}

static enum mesh_err cap_send(void *p, const uint8_t *d, size_t len)
{
	(void)p;
	if (len > sizeof cap.data)
		return MESH_ELIMIT;
	memcpy(cap.data, d, len);
	cap.len = len;
	return MESH_OK;
}

static enum mesh_err cap_recv(void *p, uint8_t *buf, size_t bufcap, bool *got, size_t *len,
                              struct ipaddr *from)
{
	(void)p;
	(void)buf;
	(void)bufcap;
	(void)from;
	*got = false;
	*len = 0;
	return MESH_OK;
}

static uint64_t cap_wall(void *p)
{
	(void)p;
	return cap.wall;
}

static const struct mcast_ops capture = {
	.open = cap_open, .fd = cap_fd, .send = cap_send, .recv = cap_recv, .wall_ms = cap_wall,
};

size_t beaconmaker_make(const struct keys_identity *id, const struct ipaddr *ip, uint16_t port,
                        uint64_t inc, uint64_t wall_ms, const uint8_t *beacon_key, uint8_t *out,
                        size_t outcap)
{
	char err[128];
	cap.ip = *ip;
	cap.wall = wall_ms;
	cap.len = 0;
	struct discovery_config dc = { .ops = &capture, .beacon_key = beacon_key };
	struct discovery *d = discovery_new(&dc, err, sizeof err);
	if (!d)
		return 0;
	enum mesh_err rc = discovery_send(d, 0, id, port, inc);
	discovery_destroy(&d);
	if (rc != MESH_OK || cap.len > outcap)
		return 0;
	memcpy(out, cap.data, cap.len);
	return cap.len;
}
