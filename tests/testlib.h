/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* testlib: the few helpers every unit test shares. A test that checks nothing is a defect, so
 * every test ends with testlib_done(), which fails when no check ran. */
#ifndef MESH_TESTS_TESTLIB_H
#define MESH_TESTS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

extern unsigned long testlib_checks;
extern unsigned long testlib_failures;

#define CHECK(cond) testlib_check((cond), #cond, __FILE__, __LINE__)
void testlib_check(int ok, const char *what, const char *file, int line);
/* Prints "<name>: N checks, M failures" and returns the process exit status. */
int testlib_done(const char *name);

/* Hex helpers: out must hold strlen(hex)/2 bytes; returns the byte count or -1. */
long testlib_unhex(const char *hex, uint8_t *out, size_t cap);
/* Reads a whole file into a malloc'd NUL-terminated buffer; NULL if it cannot. */
char *testlib_slurp(const char *path, size_t *len);

#endif
