/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * cmdline: a command line as slices of itself: blanks, tokens, the text after a token. The
 * commands (commands.c) and their PEER argument (peerarg.c) read lines with these.
 */
#include "app.h"

bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

struct slice skip_blanks(struct slice s)
{
	while (s.len && is_blank(*s.p)) {
		s.p++;
		s.len--;
	}
	return s;
}

/* Takes the next blank-separated token; *s is left at the blank after it. */
struct slice take_token(struct slice *s)
{
	*s = skip_blanks(*s);
	struct slice t = { s->p, 0 };
	while (t.len < s->len && !is_blank(s->p[t.len]))
		t.len++;
	s->p += t.len;
	s->len -= t.len;
	return t;
}

/* The message after a token: exactly one separating blank is dropped, so a message keeps
 * any leading spaces it has. */
struct slice take_text(struct slice *s)
{
	struct slice t = *s;
	if (t.len && is_blank(*t.p)) {
		t.p++;
		t.len--;
	}
	s->p += s->len;
	s->len = 0;
	return t;
}

struct slice trim_blanks(struct slice s)
{
	s = skip_blanks(s);
	while (s.len && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool all_blank(struct slice s)
{
	return skip_blanks(s).len == 0;
}
