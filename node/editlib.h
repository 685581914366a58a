/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * editlib: libedit, loaded only when meshnode runs on a terminal. A node driven through a pipe
 * (--json, plain lines, meshsim) never maps it, nor the terminal library it pulls in
 * (libtinfo): about 250 KiB of an idle node's RSS (docs/performance.md).
 * The functions are called through `libedit`, typed by <histedit.h>'s own prototypes.
 */
#ifndef MESHNODE_EDITLIB_H
#define MESHNODE_EDITLIB_H

#include <stdbool.h>
#include <stddef.h>

#include <histedit.h>

/* libedit's run-time name; the build may name another (CMake: MESHNODE_LIBEDIT_SONAME). */
#ifndef MESHNODE_LIBEDIT_SONAME
#define MESHNODE_LIBEDIT_SONAME "libedit.so.2"
#endif

struct editlib {
	__typeof__(el_init) *el_init;
	__typeof__(el_end) *el_end;
	__typeof__(el_get) *el_get;
	__typeof__(el_set) *el_set;
	__typeof__(el_wset) *el_wset;
	__typeof__(el_source) *el_source;
	__typeof__(el_resize) *el_resize;
	__typeof__(el_wgets) *el_wgets;
	__typeof__(el_wgetc) *el_wgetc;
	__typeof__(el_wline) *el_wline;
	__typeof__(el_winsertstr) *el_winsertstr;
	__typeof__(el_wdeletestr) *el_wdeletestr;
	__typeof__(history_winit) *history_winit;
	__typeof__(history_wend) *history_wend;
	__typeof__(history_w) *history_w;
};

/* Every member is set once editlib_load() has returned true, and never changes again. */
extern struct editlib libedit;

/* Loads libedit and finds each function, the first time; true when they are all there.
 * Otherwise false, with the reason in err (dlerror()'s, or the function it lacks), and
 * libedit stays unloaded. */
bool editlib_load(char *err, size_t errcap);

#endif
