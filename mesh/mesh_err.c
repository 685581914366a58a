/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
#include "mesh_err.h"

const char *mesh_strerror(enum mesh_err e)
{
	switch (e) {
	case MESH_OK: return "ok";
	case MESH_ENOMEM: return "out of memory";
	case MESH_EMALFORMED: return "malformed input";
	case MESH_EAUTH: return "authentication failed";
	case MESH_ESTATE: return "not allowed in the current state";
	case MESH_ELIMIT: return "limit reached";
	case MESH_EIO: return "system call failed";
	case MESH_EINVAL: return "invalid argument";
	case MESH_ENOTFOUND: return "not found";
	case MESH_EKEYFILE: return "key file refused";
	}
	return "unknown error";
}
