/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * linefile: reading the line-oriented text files a user may edit by hand (the remembered peers,
 * the allow list) strictly. A file is read whole under a size cap, then line by line; a line
 * with a carriage return is refused (a DOS line end would otherwise end up in a name), and
 * every complaint is one line naming the file, the line number and the fix, never the line's
 * bytes.
 */
#ifndef MESH_NODE_LINEFILE_H
#define MESH_NODE_LINEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "secfile.h"

#define LINEFILE_HEXID_LEN (2 * KEYS_IDLEN)

/* A cursor over one file's lines; no is the number of the line last returned (from 1). */
struct linefile {
	const char *what;     /* names the file in messages: "allow list" */
	const char *path;
	const char *fix;      /* ends every complaint: "fix or move it away" */
	const char *p;
	size_t left;
	unsigned no;
};

/* Reads all of fd (size from fstat) into a malloc'd buffer, refusing more than cap bytes;
 * always closes fd. NULL with err set on failure. */
char *linefile_read(int fd, off_t size, size_t cap, const struct linefile *l, size_t *lenp,
                    char *err, size_t errcap);

/* The next line, without its newline (the last one may lack it): 1, or 0 at the end, or -1
 * with err set for a carriage return. */
int linefile_next(struct linefile *l, const char **s, size_t *len, char *err, size_t errcap);

/* "WHAT PATH, line N: REASON; FIX" into err. */
void linefile_err(const struct linefile *l, unsigned line, char *err, size_t errcap,
                  const char *fmt, ...) SECFILE_PRINTF_LIKE(5, 6);

bool linefile_blank(char c);                           /* space or tab */
bool linefile_empty(const char *s, size_t len);        /* only blanks, or a # comment */

/* The LINEFILE_HEXID_LEN hex digits at the start of s (len bytes there) into id; uppercase
 * digits only when upper_ok. */
bool linefile_hexid(const char *s, size_t len, bool upper_ok, uint8_t id[KEYS_IDLEN]);

/* An ID with the line it came from and what the caller made of it. */
struct linefile_id {
	uint8_t id[KEYS_IDLEN];
	unsigned line;
	void *item;
};
/* Sorts v by ID and refuses an ID given twice, naming both lines in err. */
bool linefile_sort_unique(const struct linefile *l, struct linefile_id *v, size_t n, char *err,
                          size_t errcap);

#endif
