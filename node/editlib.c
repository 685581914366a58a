/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* editlib: libedit, loaded when the terminal needs it (editlib.h). */
#include "editlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct editlib libedit;

/* Two steps, so that a name <histedit.h> defines as another (el_wdeletestr is el_deletestr)
 * is looked up under the name the library exports. */
#define EDITLIB_NAME(f) #f
#define EDITLIB_SYM(f) { EDITLIB_NAME(f), offsetof(struct editlib, f) }

static const struct {
	const char *name;
	size_t off;
} syms[] = {
	EDITLIB_SYM(el_init),       EDITLIB_SYM(el_end),        EDITLIB_SYM(el_get),
	EDITLIB_SYM(el_set),        EDITLIB_SYM(el_wset),       EDITLIB_SYM(el_source),
	EDITLIB_SYM(el_resize),     EDITLIB_SYM(el_wgets),      EDITLIB_SYM(el_wgetc),
	EDITLIB_SYM(el_wline),      EDITLIB_SYM(el_winsertstr), EDITLIB_SYM(el_wdeletestr),
	EDITLIB_SYM(history_winit), EDITLIB_SYM(history_wend),  EDITLIB_SYM(history_w),
};

_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "dlsym() results copy into function pointers");
_Static_assert(sizeof syms / sizeof syms[0] * sizeof(void (*)(void)) == sizeof(struct editlib),
               "every member of struct editlib has its entry in syms");

bool editlib_load(char *err, size_t errcap)
{
	static bool loaded;
	if (loaded)
		return true;
	/* RTLD_LOCAL: its names stay out of the way of everything loaded later. Never closed:
	 * a line editor, once on the terminal, serves until the program ends. */
	void *h = dlopen(MESHNODE_LIBEDIT_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(err, errcap, "%s", why ? why : "cannot load " MESHNODE_LIBEDIT_SONAME);
		return false;
	}
	struct editlib e;
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *f = dlsym(h, syms[i].name);
		if (!f) {
			snprintf(err, errcap, "%s has no %s", MESHNODE_LIBEDIT_SONAME, syms[i].name);
			dlclose(h);
			return false;
		}
		/* POSIX: a function's address from dlsym() converts to its pointer type. ISO C has
		 * no cast from void * to a function pointer, so the bytes are copied. */
		memcpy((char *)&e + syms[i].off, &f, sizeof f);
	}
	libedit = e;
	loaded = true;
	return true;
}
