/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* mesh_drop: see mesh_drop.h. */
#include "mesh_drop.h"

static const char *const names[MESH_DROP_COUNT] = {
	[MESH_DROP_QUEUE_FULL] = "send queue full",
	[MESH_DROP_EXPIRED] = "expired",
	[MESH_DROP_UNCONFIRMED] = "not confirmed in time",
	[MESH_DROP_PEER_RESTARTED] = "peer restarted",
	[MESH_DROP_PEER_GONE] = "peer gone",
	[MESH_DROP_NO_MEMORY] = "out of memory",
	[MESH_DROP_NOT_SENT] = "not sent",
};

const char *mesh_drop_reason(enum mesh_drop d)
{
	return (unsigned)d < MESH_DROP_COUNT && names[d] ? names[d] : "not delivered";
}
