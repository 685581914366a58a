/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* mesh_err: the error codes of mesh/ and node/ (STYLE.md, "Errors"). */
#ifndef MESH_MESH_ERR_H
#define MESH_MESH_ERR_H

enum mesh_err {
	MESH_OK = 0,
	MESH_ENOMEM = -1,
	MESH_EMALFORMED = -2, /* peer bytes did not parse */
	MESH_EAUTH = -3,      /* MAC, signature or key check failed */
	MESH_ESTATE = -4,     /* valid message, wrong moment */
	MESH_ELIMIT = -5,     /* cap, quota or table full */
	MESH_EIO = -6,        /* system call failed; errno says why */
	MESH_EINVAL = -7,     /* bad argument from our own caller (API misuse, bad config) */
	MESH_ENOTFOUND = -8,  /* no such peer, group or session */
	MESH_EKEYFILE = -9,   /* an identity or mesh key file could not be used */
};

const char *mesh_strerror(enum mesh_err e);

#endif
