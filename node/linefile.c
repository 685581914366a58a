/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* linefile: strict reading of hand-editable text files (linefile.h). */
#include "linefile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void linefile_err(const struct linefile *l, unsigned line, char *err, size_t errcap,
                  const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	secfile_err(err, errcap, "%s %s, line %u: %s; %s", l->what, l->path, line, why, l->fix);
}

char *linefile_read(int fd, off_t size, size_t cap, const struct linefile *l, size_t *lenp,
                    char *err, size_t errcap)
{
	char *buf = NULL;
	ssize_t n = 0;
	if (size < 0 || (uint64_t)size > cap)
		goto too_big;
	/* One byte past the cap, so that a file that grew after fstat is caught too. */
	buf = malloc(cap + 1);
	if (!buf) {
		secfile_err(err, errcap, "out of memory reading %s %s", l->what, l->path);
		goto done;
	}
	n = secfile_read_upto(fd, (uint8_t *)buf, cap + 1);
	if (n < 0) {
		secfile_err(err, errcap, "cannot read %s %s: %s", l->what, l->path, strerror(errno));
		goto fail;
	}
	if ((size_t)n > cap)
		goto too_big;
	*lenp = (size_t)n;
	goto done;
too_big:
	secfile_err(err, errcap, "%s %s is larger than %zu bytes; %s", l->what, l->path, cap,
	            l->fix);
fail:
	free(buf);
	buf = NULL;
done:
	close(fd);
	return buf;
}

int linefile_next(struct linefile *l, const char **s, size_t *len, char *err, size_t errcap)
{
	if (l->left == 0)
		return 0;
	const char *nl = memchr(l->p, '\n', l->left);
	size_t n = nl ? (size_t)(nl - l->p) : l->left;
	*s = l->p;
	*len = n;
	l->p += n + (nl != NULL);
	l->left -= n + (nl != NULL);
	l->no++;
	if (memchr(*s, '\r', n) != NULL) {
		linefile_err(l, l->no, err, errcap, "a carriage return (DOS line end?): lines end "
		             "with a newline alone");
		return -1;
	}
	return 1;
}

bool linefile_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool linefile_empty(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && linefile_blank(s[i]))
		i++;
	return i == len || s[i] == '#';
}

static int hexval(char c, bool upper_ok)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (upper_ok && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool linefile_hexid(const char *s, size_t len, bool upper_ok, uint8_t id[KEYS_IDLEN])
{
	if (len < LINEFILE_HEXID_LEN)
		return false;
	for (size_t i = 0; i < KEYS_IDLEN; i++) {
		int hi = hexval(s[2 * i], upper_ok), lo = hexval(s[2 * i + 1], upper_ok);
		if (hi < 0 || lo < 0)
			return false;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int cmp_id_line(const void *a, const void *b)
{
	const struct linefile_id *x = a, *y = b;
	int c = memcmp(x->id, y->id, KEYS_IDLEN);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

bool linefile_sort_unique(const struct linefile *l, struct linefile_id *v, size_t n, char *err,
                          size_t errcap)
{
	if (n > 1)
		qsort(v, n, sizeof v[0], cmp_id_line);
	for (size_t i = 1; i < n; i++)
		if (memcmp(v[i - 1].id, v[i].id, KEYS_IDLEN) == 0) {
			linefile_err(l, v[i].line, err, errcap, "the same ID as line %u", v[i - 1].line);
			return false;
		}
	return true;
}
