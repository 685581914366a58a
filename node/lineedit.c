/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * lineedit: reading command lines: plain lines from a pipe (read_stdin), and, on a terminal,
 * editline with our own Tab completion, Ctrl-Z and Ctrl-V. Lines may hold message plaintext:
 * their buffers are wiped before they are freed or reused.
 */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include "app.h"

/* ---- Reading lines without editline ------------------------------------------------------ */

void linebuf_free(struct linebuf *lb)
{
	if (lb->p) {
		sodium_memzero(lb->p, lb->cap);
		free(lb->p);
	}
	memset(lb, 0, sizeof *lb);
}

/* Room for READ_CHUNK more bytes; the old buffer is wiped, as it may hold plaintext. */
static bool linebuf_reserve(struct linebuf *lb)
{
	if (lb->cap - lb->len >= READ_CHUNK)
		return true;
	size_t cap = lb->cap ? lb->cap * 2 : 4 * READ_CHUNK;
	while (cap - lb->len < READ_CHUNK)
		cap *= 2;
	char *p = malloc(cap);
	if (!p)
		return false;
	if (lb->p) {
		memcpy(p, lb->p, lb->len);
		sodium_memzero(lb->p, lb->cap);
		free(lb->p);
	}
	lb->p = p;
	lb->cap = cap;
	return true;
}

static void run_input_line(struct app *a, char *line, size_t len)
{
	/* Tolerate CRLF from Windows-made input. */
	if (len && line[len - 1] == '\r')
		len--;
	handle_line(a, line, len);
}

/* Reads what stdin has (one read(), so it cannot block after poll said readable) and runs
 * every complete line. */
void read_stdin(struct app *a)
{
	struct linebuf *lb = &a->in;

	if (!linebuf_reserve(lb)) {
		errorf(a, "out of memory reading input");
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
		lb->discarding = true;
		return;
	}
	ssize_t r = read(STDIN_FILENO, lb->p + lb->len, lb->cap - lb->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		/* EOF (or a read error, which we treat the same): run an unterminated last line. */
		if (lb->len && !lb->discarding && a->running)
			run_input_line(a, lb->p, lb->len);
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
		a->stdin_open = false;
		if (a->running)
			app_stop(a, EXIT_OK);
		return;
	}
	lb->len += (size_t)r;

	size_t start = 0;
	while (a->running) {
		char *nl = memchr(lb->p + lb->scanned, '\n', lb->len - lb->scanned);
		if (!nl)
			break;
		size_t end = (size_t)(nl - lb->p);
		if (lb->discarding)
			lb->discarding = false;
		else
			run_input_line(a, lb->p + start, end - start);
		start = end + 1;
		lb->scanned = start;
	}
	if (!a->running)
		return;
	/* Keep the partial last line at the front. */
	size_t rest = lb->len - start;
	if (start) {
		memmove(lb->p, lb->p + start, rest);
		sodium_memzero(lb->p + rest, lb->len - rest);
	}
	lb->len = rest;
	lb->scanned = rest;
	if (lb->discarding || rest > INPUT_LINE_MAX) {
		if (!lb->discarding)
			errorf(a, "input line longer than %u bytes ignored", INPUT_LINE_MAX);
		lb->discarding = true;
		sodium_memzero(lb->p, lb->len);
		lb->len = lb->scanned = 0;
	}
}

/* ---- editline ---------------------------------------------------------------------------- */

/*
 * editline works in wide characters, decoded in the locale that main() set; the rest of the
 * program in UTF-8. A finished line is converted as it leaves editline (edit_read()). Tab
 * completion (on_tab()) is ours, not editline's file-name completion: it converts the line up to
 * the cursor to UTF-8, matches there in bytes, and puts the completion back as wide characters,
 * replacing what was typed counted in characters. It converts the completion before it deletes
 * anything, so that a completion the line cannot hold never costs what was typed.
 */

static struct app *app_of(EditLine *el)
{
	void *a = NULL;
	libedit.el_get(el, EL_CLIENTDATA, &a);
	return a;
}

/* editline draws the prompt from here each time, decoding it in the locale: a->prompt went
 * through json_term(), so it is UTF-8 in a UTF-8 locale and ASCII otherwise. */
static char *prompt_of(EditLine *el)
{
	return app_of(el)->prompt;
}

/* One character as UTF-8 in out (returns 1..4). wchar_t holds its code point whatever the
 * locale's charset (__STDC_ISO_10646__), so a line typed under ISO 8859-1 goes out as UTF-8
 * too. What is not a Unicode scalar value becomes U+FFFD. */
static size_t wc_utf8(wchar_t wc, char out[static 4])
{
	long v = (long)wc;
	uint32_t c = v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffdu : (uint32_t)v;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* n characters from editline as UTF-8 on the heap, NUL-terminated, *len bytes; NULL when out
 * of memory. It may hold a message: the caller wipes *len bytes before freeing it. */
static char *wide_utf8(const wchar_t *w, size_t n, size_t *len)
{
	if (n > (SIZE_MAX - 1) / 4)
		return NULL;
	char *s = malloc(4 * n + 1);
	if (!s)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += wc_utf8(w[i], s + k);
	s[k] = '\0';
	*len = k;
	return s;
}

/* len bytes of well-formed UTF-8 as NUL-terminated wide characters on the heap; NULL when out
 * of memory or when s is not well-formed. */
static wchar_t *utf8_wide(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	wchar_t *w = calloc(len + 1, sizeof *w);
	size_t k = 0;
	for (size_t i = 0; w && i < len;) {
		size_t n = wire_utf8_seq(u + i, len - i);
		if (n == 0) {
			free(w);
			return NULL;
		}
		w[k++] = (wchar_t)json_utf8_decode(u + i, n);
		i += n;
	}
	return w;
}

/* Characters in UTF-8 that wide_utf8() wrote: one per byte that does not continue one. */
static size_t utf8_chars(struct slice s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += ((unsigned char)s.p[i] & 0xc0) != 0x80;
	return n;
}

static void free_candidates(struct app *a)
{
	for (size_t i = 0; i < a->ncand; i++)
		free(a->cand[i]);
	free(a->cand);
	a->cand = NULL;
	a->ncand = 0;
}

/* Adds s (not NUL-terminated, len bytes) unless it is there already or is not something
 * json_term() would show as it is on this terminal: a candidate goes into the edit line, and
 * a second Tab lists the candidates on the terminal raw. */
static void add_candidate(struct app *a, const char *s, size_t len)
{
	if (len == 0 || !json_term_clean(s, len, a->term_flags))
		return;
	for (size_t i = 0; i < a->ncand; i++)
		if (strlen(a->cand[i]) == len && memcmp(a->cand[i], s, len) == 0)
			return;
	char **c = realloc(a->cand, (a->ncand + 1) * sizeof *c);
	if (!c)
		return;
	a->cand = c;
	char *dup = malloc(len + 1);
	if (!dup)
		return;
	memcpy(dup, s, len);
	dup[len] = '\0';
	a->cand[a->ncand++] = dup;
}

/* A name that take_peer_arg() reads back only in double quotes. */
static bool needs_quotes(const char *name)
{
	return name[0] == '"' || strchr(name, ' ') || strchr(name, '\t');
}

/* Peer names go in as they are; candidate_form() quotes them. A name that needs quotes but
 * holds a quote cannot be typed at all (only an ID prefix names that peer), so it is not
 * offered. */
static void add_peer_candidate(struct app *a, const char *name, size_t len)
{
	char n[MESHNODE_MAX_NAME + 1];
	if (len == 0 || len > MESHNODE_MAX_NAME)
		return;
	memcpy(n, name, len);
	n[len] = '\0';
	if (needs_quotes(n) && strchr(n, '"'))
		return;
	add_candidate(a, n, len);
}

static bool starts_with(const char *s, struct slice prefix)
{
	return strlen(s) >= prefix.len && memcmp(s, prefix.p, prefix.len) == 0;
}

/* What candidate c puts in place of the argument typed so far: c itself, or for a peer name
 * "c" in quotes; NULL if c does not complete typed. */
static char *candidate_form(const struct app *a, const char *c, struct slice typed,
                            bool quote_all)
{
	size_t cl = strlen(c);
	bool typed_quote = typed.len && typed.p[0] == '"';
	bool quoted = false;
	if (a->cand_peers) {
		quoted = typed_quote ? !strchr(c, '"') : needs_quotes(c) || (quote_all && !strchr(c, '"'));
		if (typed_quote && !quoted)
			return NULL;                /* a name holding a quote cannot be quoted */
	}
	size_t fl = cl + (quoted ? 2 : 0);
	char *f = malloc(fl + 1);
	if (!f)
		return NULL;
	if (quoted) {
		f[0] = '"';
		memcpy(f + 1, c, cl);
		f[cl + 1] = '"';
	} else {
		memcpy(f, c, cl);
	}
	f[fl] = '\0';
	/* What was typed is compared with the form, or with the bare name if the user has not
	 * typed the opening quote that the form adds. */
	if (!starts_with(quoted && !typed_quote ? c : f, typed)) {
		free(f);
		return NULL;
	}
	return f;
}

enum complete_what {
	COMPLETE_NOTHING, COMPLETE_COMMANDS, COMPLETE_PEERS, COMPLETE_OWN_GROUPS,
	COMPLETE_ALL_GROUPS,
};

static bool has_blank(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (is_blank(s.p[i]))
			return true;
	return false;
}

/* True while the cursor is still inside the PEER argument typed so far: a word, or an opening
 * quote and a name, possibly with its closing quote. */
static bool in_peer_arg(struct slice typed)
{
	if (typed.len == 0 || typed.p[0] != '"')
		return !has_blank(typed);
	const char *close = memchr(typed.p + 1, '"', typed.len - 1);
	return !close || (size_t)(close - typed.p) == typed.len - 1;
}

/* What Tab completes, given the line up to the cursor, and in *typed the end of the line that
 * the completion replaces: the command name, or the argument after it. */
static enum complete_what complete_context(struct slice line, struct slice *typed)
{
	if (!has_blank(line)) {
		*typed = line;
		return COMPLETE_COMMANDS;
	}
	if (line.p[0] != '/')
		return COMPLETE_NOTHING;        /* a message (handle_line() sees it so too) */
	struct slice rest = line;
	struct slice cmd = take_token(&rest);
	rest = skip_blanks(rest);
	*typed = rest;
	const char *name;
	for (size_t i = 0; (name = command_name(i)) != NULL; i++) {
		if (strlen(name) != cmd.len || memcmp(name, cmd.p, cmd.len) != 0)
			continue;
		if (strcmp(name, "/msg") == 0 || strcmp(name, "/verify") == 0 ||
		    strcmp(name, "/trust") == 0 || strcmp(name, "/untrust") == 0)
			return in_peer_arg(rest) ? COMPLETE_PEERS : COMPLETE_NOTHING;
		if (has_blank(rest))
			return COMPLETE_NOTHING;
		if (strcmp(name, "/join") == 0)
			return COMPLETE_ALL_GROUPS;
		if (strcmp(name, "/leave") == 0 || strcmp(name, "/shout") == 0)
			return COMPLETE_OWN_GROUPS;
	}
	return COMPLETE_NOTHING;
}

static void gather_candidates(struct app *a, enum complete_what what)
{
	free_candidates(a);
	a->cand_peers = what == COMPLETE_PEERS;
	if (what == COMPLETE_COMMANDS)
		for (size_t i = 0; command_name(i); i++)
			add_candidate(a, command_name(i), strlen(command_name(i)));
	if (what == COMPLETE_PEERS || what == COMPLETE_ALL_GROUPS) {
		struct meshnode_peer *peers = NULL;
		size_t count = 0;
		if (meshnode_peers(a->n, &peers, &count) == MESH_OK) {
			for (size_t i = 0; i < count; i++) {
				if (what == COMPLETE_PEERS)
					add_peer_candidate(a, FIELD(peers[i].name));
				else
					for (size_t g = 0; g < peers[i].ngroups; g++)
						add_candidate(a, FIELD(peers[i].groups[g]));
			}
			meshnode_peers_free(&peers, count);
		}
	}
	if (what == COMPLETE_OWN_GROUPS || what == COMPLETE_ALL_GROUPS) {
		char **groups = NULL;
		size_t count = 0;
		if (meshnode_groups(a->n, &groups, &count) == MESH_OK) {
			for (size_t g = 0; g < count; g++)
				add_candidate(a, groups[g], strlen(groups[g]));
			meshnode_groups_free(&groups, count);
		}
	}
}

static int compare_strings(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Lists the forms below the edit line, in columns; editline then draws the line again. The
 * forms come from candidates that json_term() leaves unchanged, so they go out as they are. */
static void list_forms(EditLine *el, char **forms, size_t nf)
{
	int cols = 0;
	size_t width = 0;
	if (libedit.el_get(el, EL_GETTC, "co", &cols) != 0 || cols < 1)
		cols = 80;
	qsort(forms, nf, sizeof *forms, compare_strings);
	for (size_t i = 0; i < nf; i++) {
		size_t w = text_width(forms[i], strlen(forms[i]));
		width = w > width ? w : width;
	}
	size_t per_row = (size_t)cols / (width + 2);
	per_row = per_row ? per_row : 1;
	fputs("\n", stdout);
	for (size_t i = 0; i < nf; i++) {
		fputs(forms[i], stdout);
		if ((i + 1) % per_row == 0 || i + 1 == nf)
			fputs("\n", stdout);
		else
			for (size_t w = text_width(forms[i], strlen(forms[i])); w < width + 2; w++)
				fputc(' ', stdout);
	}
	fflush(stdout);
}

/* Puts the longest text that all nf forms share in place of typed, or the only form and a
 * blank. With several forms and nothing to add, a second Tab lists them. */
static unsigned char fill_in(struct app *a, EditLine *el, struct slice line, struct slice typed,
                             char **forms, size_t nf)
{
	size_t common = strlen(forms[0]);
	for (size_t i = 1; i < nf; i++) {
		size_t k = 0;
		while (k < common && forms[i][k] == forms[0][k])
			k++;
		common = k;
	}
	/* Never stop inside a character: "zoë" and "zoé" share the first byte of their last. */
	while (common > 0 && ((unsigned char)forms[0][common] & 0xc0) == 0x80)
		common--;
	if (nf > 1 && common <= typed.len) {
		bool again = a->tab_seen_len > 0 && a->tab_seen_len == line.len &&
		             memcmp(a->tab_seen, line.p, line.len) == 0;
		a->tab_seen_len = 0;
		if (again) {
			list_forms(el, forms, nf);
			return CC_REDISPLAY;
		}
		if (line.len > 0 && line.len <= sizeof a->tab_seen) {
			memcpy(a->tab_seen, line.p, line.len);
			a->tab_seen_len = line.len;
		}
		return CC_REFRESH_BEEP;
	}
	a->tab_seen_len = 0;
	char *text = malloc(common + 2);
	if (!text)
		return CC_ERROR;
	memcpy(text, forms[0], common);
	size_t tl = common;
	if (nf == 1)
		text[tl++] = ' ';
	wchar_t *w = utf8_wide(text, tl);
	free(text);
	if (!w)
		return CC_ERROR;
	libedit.el_wdeletestr(el, (int)utf8_chars(typed));
	libedit.el_winsertstr(el, w);
	free(w);
	return CC_REFRESH;
}

/* Tab (bound in edit_setup()): completes a command name, or the argument of /msg, /verify,
 * /trust and /untrust (a peer name), /join (any group known in the mesh), /leave and /shout
 * (our groups). */
static unsigned char on_tab(EditLine *el, int ch)
{
	struct app *a = app_of(el);
	const LineInfoW *li = libedit.el_wline(el);
	unsigned char rc = CC_ERROR;
	size_t len = 0;
	(void)ch;

	char *buf = wide_utf8(li->buffer, (size_t)(li->cursor - li->buffer), &len);
	if (!buf)
		return CC_ERROR;
	struct slice line = { buf, len }, typed = { buf + len, 0 };
	enum complete_what what = complete_context(line, &typed);
	gather_candidates(a, what);
	char **forms = calloc(a->ncand ? a->ncand : 1, sizeof *forms);
	size_t nf = 0;
	if (forms) {
		/* When a peer name that needs quotes matches an unquoted start, every match is put
		 * in quotes, so that "bob" and "bob the" share the prefix "\"bob". */
		bool quote_all = false;
		bool unquoted = typed.len > 0 && typed.p[0] != '"';
		for (size_t i = 0; a->cand_peers && unquoted && i < a->ncand && !quote_all; i++)
			quote_all = needs_quotes(a->cand[i]) && starts_with(a->cand[i], typed);
		for (size_t i = 0; i < a->ncand; i++) {
			char *f = candidate_form(a, a->cand[i], typed, quote_all);
			if (f)
				forms[nf++] = f;
		}
		if (nf > 0)
			rc = fill_in(a, el, line, typed, forms, nf);
		else
			a->tab_seen_len = 0;
		for (size_t i = 0; i < nf; i++)
			free(forms[i]);
		free(forms);
	}
	free_candidates(a);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

/* ^Z, when it reaches editline (the terminal's suspend character usually stops us before, and
 * read_signals() handles the SIGCONT): the key does what the terminal would have done. The
 * terminal goes back to its own mode while we are stopped and into editline's again when `fg`
 * resumes us, and the line is drawn anew (the SIGCONT does the same). raise() sends
 * the signal to this thread, which then stops the process before raise() returns; kill(0, ...)
 * could be taken by another thread and return at once, and we would prepare the terminal
 * before the stop instead of after it. (The rest of a pipeline is not stopped with us.) */
static unsigned char on_suspend(EditLine *el, int ch)
{
	(void)ch;
	libedit.el_set(el, EL_PREP_TERM, 0);
	raise(SIGTSTP);
	libedit.el_set(el, EL_PREP_TERM, 1);
	return CC_REDISPLAY;
}

/* ^V: the next key goes on the line as it is, like editline's ed-quoted-insert, except the
 * keys that end a line (^J, ^M) and ^D: a chat line cannot hold a newline, and edit_read()
 * takes a line that ends in one, or a lone ^D, for finished. */
static unsigned char on_quoted_insert(EditLine *el, int ch)
{
	(void)ch;
	wchar_t k[2] = { 0, 0 };
	if (libedit.el_wgetc(el, &k[0]) != 1 || k[0] == L'\n' || k[0] == L'\r' || k[0] == 0x04)
		return CC_REFRESH_BEEP;
	return libedit.el_winsertstr(el, k) == 0 ? CC_REFRESH : CC_REFRESH_BEEP;
}

static void remember_line(struct app *a, const wchar_t *w, size_t n)
{
	HistEventW ev;
	wchar_t *copy = calloc(n + 1, sizeof *copy);
	if (!copy)
		return;
	memcpy(copy, w, n * sizeof *copy);
	libedit.history_w(a->hist, &ev, H_ENTER, copy);
	sodium_memzero(copy, n * sizeof *copy);
	free(copy);
}

/* Input is waiting on the terminal: editline takes one key (one character), and a finished line
 * is run. */
void edit_read(struct app *a)
{
	int count = 0;
	const wchar_t *w = libedit.el_wgets(a->el, &count);
	if (!w || count <= 0)
		return;
	/* A key at a time, editline returns the whole line so far: it is finished when it ends in
	 * a newline, and Ctrl-D on an empty line comes back as a lone ^D. */
	size_t n = (size_t)count;
	bool eof = n == 1 && w[0] == 0x04;
	if (!eof && w[n - 1] != L'\n' && w[n - 1] != L'\r')
		return;
	size_t len = 0;
	char *line = NULL;
	if (!eof) {
		line = wide_utf8(w, n - 1, &len);
		if (line && !all_blank((struct slice){ line, len }))
			remember_line(a, w, n - 1);
	}
	/* Out of character mode until the line has run: its output then goes to a terminal in
	 * its usual state, below a prompt line that is finished. */
	libedit.el_set(a->el, EL_UNBUFFERED, 0);
	a->edit_shown = false;
	if (eof) {
		fputs("\n", stdout);
		app_stop(a, EXIT_OK);
		return;
	}
	if (line) {
		handle_line(a, line, len);
		sodium_memzero(line, len);
		free(line);
	} else {
		errorf(a, "out of memory reading a line");
	}
	if (a->running) {
		libedit.el_set(a->el, EL_UNBUFFERED, 1);   /* shows the prompt again */
		a->edit_shown = true;
	}
}

/* The keys that editline's readline front end, which this program used before, binds. */
static const char *const readline_keys[][2] = {
	{ "^R", "em-inc-search-prev" },
	{ "\\e[1~", "ed-move-to-beg" }, { "\\e[4~", "ed-move-to-end" },
	{ "\\e[7~", "ed-move-to-beg" }, { "\\e[8~", "ed-move-to-end" },
	{ "\\e[H", "ed-move-to-beg" },  { "\\e[F", "ed-move-to-end" },
	{ "\\e[3~", "ed-delete-next-char" }, { "\\e[2~", "em-toggle-overwrite" },
	{ "\\e[1;5C", "em-next-word" }, { "\\e[1;5D", "ed-prev-word" },
	{ "\\e[5C", "em-next-word" },   { "\\e[5D", "ed-prev-word" },
	{ "\\e\\e[C", "em-next-word" }, { "\\e\\e[D", "ed-prev-word" },
};

int edit_setup(struct app *a)
{
	HistEventW ev;
	char err[256];
	if (!editlib_load(err, sizeof err)) {
		errorf(a, "no line editor: %s", err);
		return -1;
	}
	a->el = libedit.el_init("meshnode", stdin, stdout, stderr);
	a->hist = libedit.history_winit();
	if (!a->el || !a->hist) {
		if (a->el)
			libedit.el_end(a->el);
		if (a->hist)
			libedit.history_wend(a->hist);
		a->el = NULL;
		a->hist = NULL;
		return -1;
	}
	libedit.history_w(a->hist, &ev, H_SETSIZE, HISTORY_MAX);
	libedit.el_set(a->el, EL_CLIENTDATA, a);
	libedit.el_set(a->el, EL_EDITOR, "emacs");
	/* Our own handlers deal with signals; editline's would re-raise them to the whole
	 * process group. */
	libedit.el_set(a->el, EL_SIGNAL, 0);
	libedit.el_set(a->el, EL_PROMPT, prompt_of);
	libedit.el_wset(a->el, EL_HIST, libedit.history_w, a->hist);
	/* Wide names: editline keeps these pointers, where el_set() would hand it copies that
	 * el_end() never frees. */
	libedit.el_wset(a->el, EL_ADDFN, L"meshnode-complete",
	                L"Complete a command, peer or group name", on_tab);
	libedit.el_set(a->el, EL_BIND, "^I", "meshnode-complete", (const char *)NULL);
	libedit.el_wset(a->el, EL_ADDFN, L"meshnode-suspend", L"Suspend the program", on_suspend);
	libedit.el_set(a->el, EL_BIND, "^Z", "meshnode-suspend", (const char *)NULL);
	libedit.el_wset(a->el, EL_ADDFN, L"meshnode-quoted-insert",
	                L"Insert the next key as it is", on_quoted_insert);
	libedit.el_set(a->el, EL_BIND, "^V", "meshnode-quoted-insert", (const char *)NULL);
	for (size_t i = 0; i < sizeof readline_keys / sizeof readline_keys[0]; i++) {
		const char *const *k = readline_keys[i];
		libedit.el_set(a->el, EL_BIND, k[0], k[1], (const char *)NULL);
	}
	/* ~/.editrc (or $EDITRC) may change all of that; its lines for us start "meshnode:". */
	libedit.el_source(a->el, NULL);
	/* A key at a time, so that poll() stays in charge; this also shows the prompt. */
	libedit.el_set(a->el, EL_UNBUFFERED, 1);
	a->edit_shown = true;
	return 0;
}

void edit_teardown(struct app *a)
{
	if (!a->el)
		return;
	if (a->edit_shown)
		fputs("\n", stdout);
	a->edit_shown = false;
	libedit.el_set(a->el, EL_UNBUFFERED, 0);
	libedit.el_end(a->el);                  /* the terminal as we found it */
	a->el = NULL;
	fflush(stdout);
	libedit.history_wend(a->hist);
	a->hist = NULL;
	free_candidates(a);
	sodium_memzero(a->tab_seen, sizeof a->tab_seen);
	a->tab_seen_len = 0;
}
