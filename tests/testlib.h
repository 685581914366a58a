/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* testlib: the few helpers every unit test shares. A test that checks nothing is a defect, so
 * every test ends with testlib_done(), which fails when no check ran. */
#ifndef MESH_TESTS_TESTLIB_H
#define MESH_TESTS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

/* TESTLIB_ASAN: built with AddressSanitizer, whose allocator is not glibc's (gcc says so with
 * __SANITIZE_ADDRESS__, clang with __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define TESTLIB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESTLIB_ASAN 1
#endif
#endif

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

/* Files for the tests of file code: writes exactly these bytes with exactly this mode (replacing
 * whatever was at path; 0 or -1), counts the entries of a directory (. and .. aside), and
 * removes a tree (making its directories writable first). */
int testlib_write_file(const char *path, const void *data, size_t len, unsigned mode);
size_t testlib_count_entries(const char *dir);
void testlib_remove_tree(const char *path);

/* For a test that opens sockets: returns only inside a network namespace that netns-run made
 * (its markers MN_IN_NETNS, MN_NETNS_ID and MN_OUTER_NETNS agree with /proc/self/ns/net, and it
 * is not the namespace of pid 1 when that can be read). Anywhere else it prints one line that
 * says how to run the test and exits with status 2, before any socket is opened. */
void testlib_require_netns(const char *name);

#endif
