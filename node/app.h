/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * app: what the files of the meshnode program share: its state (struct app), its limits,
 * and the functions one file calls in another. The program is node/main.c (the loop),
 * options.c, output.c, commands.c and lineedit.c; see main.c for its invariants.
 */
#ifndef MESHNODE_APP_H
#define MESHNODE_APP_H

#include "editlib.h"
#include "json.h"
#include "keyfile.h"
#include "meshnode.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sodium.h>

/* Typed characters are sent as UTF-8 whatever the locale's charset, which needs wchar_t to hold
 * Unicode code points: true of glibc and musl, and this program runs on Linux only (epoll). */
#ifndef __STDC_ISO_10646__
#error "meshnode needs wchar_t to hold Unicode code points (__STDC_ISO_10646__)"
#endif

#ifndef MESHNODE_VERSION
#define MESHNODE_VERSION "unknown"
#endif

enum exit_code {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,   /* cannot bind, start or keep writing output */
	EXIT_USAGE = 2,
	EXIT_KEYFILE = 3,   /* identity or mesh key file refused */
};

/* A shout of MESHNODE_MAX_PAYLOAD bytes must fit on one line with its command and group. */
#define INPUT_LINE_MAX (2u * MESHNODE_MAX_PAYLOAD)
#define READ_CHUNK 65536u
/* Longest log line carried through the log pipe: below PIPE_BUF, so each write is atomic. */
#define LOG_LINE_MAX 1024u
/* Events handled per loop turn, so that a flood of them cannot starve stdin or signals. */
#define EVENTS_PER_TURN 256
#define HISTORY_MAX 500
/* Quiet time (no event, input or log line) after which the heap is trimmed (trim_heap()). */
#define TRIM_QUIET_MS 10000
#define ID_SHORT 8          /* hex digits of an ID shown in short */
#define FPR_SHORT 9         /* fingerprint characters ("abcd-efgh") that tell two same-named
                             * peers apart in messages */
/* The shortest fingerprint (without dashes) or hex ID prefix that names a peer: 40 and 32
 * bits, so that nobody makes a key to match what someone is likely to type (a 4-character
 * prefix is 2^20 tries, seconds of work); and a name the node remembers is never a prefix. */
#define HEX_PREFIX_MIN 8

enum mode {
	MODE_JSON,   /* --json: JSON lines out, command lines in */
	MODE_TTY,    /* stdin and stdout are terminals: editline, colours */
	MODE_PLAIN,  /* anything else: plain lines both ways */
};

struct options {
	struct meshnode_config cfg;
	const char *gen_mesh_key;
	const char *groups[MESHNODE_MAX_GROUPS];
	size_t ngroups;
	const char *peers[MESHNODE_MAX_FIXED_PEERS];   /* --peer, as given */
	size_t npeers;
	const char *ifaces[2][MESHNODE_MAX_IFACES];    /* --iface, --iface-deny */
	size_t nifaces[2];
	const char *trace_path;                        /* --trace, or NULL */
	const char *keylog_path;                       /* --keylog, or NULL */
	bool json;
};

struct linebuf {
	char *p;
	size_t len;
	size_t cap;
	size_t scanned;     /* bytes from the start already known to hold no newline */
	bool discarding;    /* dropping the rest of an overlong line */
};

struct slice {
	const char *p;
	size_t len;
};

struct app {
	struct meshnode *n;
	enum mode mode;
	bool color;
	bool running;
	int exit_code;
	bool out_broken;                         /* stdout can no longer be written */
	char last_error[128];                    /* reason of the node's last ERROR event */
	char current[MESHNODE_MAX_GROUP + 1];    /* where a line without '/' goes; "" if none */
	uint32_t ttl_ms;                         /* /ttl: for the messages sent next; 0: --ttl */
	struct json_buf out;                     /* the output line being built */
	struct json_buf scratch;
	struct linebuf in;
	bool stdin_open;
	EditLine *el;                            /* the line editor, in terminal mode */
	HistoryW *hist;
	bool edit_shown;                         /* the prompt and input line are on screen */
	unsigned term_flags;                     /* for json_term(): JSON_TERM_ASCII or 0 */
	char locale_note[96];                    /* why the terminal gets ASCII, or "" */
	char prompt[8 * MESHNODE_MAX_GROUP + 8]; /* json_term() writes up to 8 bytes a byte */
	int log_level;
	int sig_rd, sig_wr;
	int log_rd, log_wr;
	FILE *trace;                /* --trace: written by the loop thread while the node runs */
	bool trace_failed;
	char logbuf[2 * LOG_LINE_MAX];
	size_t loglen;
	/* Completion candidates, rebuilt on each Tab. */
	char **cand;
	size_t ncand;
	bool cand_peers;                         /* the candidates are PEER arguments */
	/* The line up to the cursor when Tab last found several matches and nothing to add: a
	 * second Tab there lists them. */
	char tab_seen[512];
	size_t tab_seen_len;
};

/* Field of a fixed char array that may lack its NUL if the producer misbehaved. */
#define FIELD(arr) (arr), strnlen((arr), sizeof(arr))

/* Lets the compiler check errorf()'s format strings; compilers without it lose only that. */
#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(fmt_arg, first) __attribute__((format(printf, fmt_arg, first)))
#else
#define PRINTF_LIKE(fmt_arg, first)
#endif

/* options.c: the command line */
/* A decimal number in [min, max], digits only (no sign, blank or hex); false otherwise. */
bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int parse_options(int argc, char **argv, struct options *o);

/* output.c: everything written to stdout and stderr */
size_t text_width(const char *s, size_t len);
void color(struct app *a, const char *sgr);
void color_off(struct app *a);
void emit(struct app *a, FILE *f);
/* Before the name of a peer the user verified; ASCII when the terminal is not UTF-8. */
#define VERIFIED_MARK "\xe2\x9c\x93"  /* U+2713 CHECK MARK */
#define VERIFIED_MARK_ASCII "+"
void put_name(struct app *a, const uint8_t id[MESHNODE_IDLEN], const char *name, size_t len,
              bool verified);
void put_time(struct app *a);
/* A peer's name, terminal-safe, with whatever at its start could pass for the verified mark
 * shown as '?' (no colour, no mark: put_name adds those). */
void put_peer_name(struct app *a, const char *name, size_t len);
/* How many bytes at the start of name put_peer_name shows as '?'. */
size_t fake_mark_len(unsigned term_flags, const char *name, size_t len);
void put_safe(struct app *a, const char *s, size_t len);
void put_cstr(struct app *a, const char *s);
void j_begin(struct app *a, const char *event);
void j_key(struct app *a, const char *key);
void j_str(struct app *a, const char *key, const char *s, size_t len);
void j_cstr(struct app *a, const char *key, const char *s);
void j_u64(struct app *a, const char *key, uint64_t v);
void j_end(struct app *a);
void report_error(struct app *a, const char *msg, size_t len);
void errorf(struct app *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
int shown(size_t len);
void human_payload(struct app *a, const uint8_t *data, size_t len);
int drain_events(struct app *a, int max);
void set_current(struct app *a, const char *group);

/* cmdline.c: a line as slices */
bool is_blank(char c);
struct slice skip_blanks(struct slice s);
/* The next blank-separated token; *s is left at the blank after it. */
struct slice take_token(struct slice *s);
/* The rest after a token, less exactly one separating blank (a message keeps its leading
 * spaces); *s is left empty. */
struct slice take_text(struct slice *s);
struct slice trim_blanks(struct slice s);
bool all_blank(struct slice s);

/* commands.c: the command lines typed or piped in */
/* The name of the i-th command, with its slash ("/join"); NULL past the last. */
const char *command_name(size_t i);
void reply_group(struct app *a, const char *event, const char *group);
void handle_line(struct app *a, const char *line, size_t len);

/* peerarg.c: the PEER argument of a command */
/* Takes it off the front of *s: a quoted name (*quoted), else the first word. False after
 * reporting a malformed one. */
bool take_peer_arg(struct app *a, struct slice *s, struct slice *out, bool *quoted);
/* The one peer it names, copied into *out without its groups; false after saying why not
 * (text_follows: a /msg, whose unquoted name must not be the start of another's). */
bool resolve_peer(struct app *a, struct slice what, bool quoted, bool text_follows,
                  struct meshnode_peer *out);

/* lineedit.c: reading lines, with editline or without */
void linebuf_free(struct linebuf *lb);
void read_stdin(struct app *a);
void edit_read(struct app *a);
int edit_setup(struct app *a);
void edit_teardown(struct app *a);

/* Ends the loop after this turn with exit status code; the first call decides it. Every file
 * may call it; main.c's loop acts on it, so nothing here calls up into main.c. */
static inline void app_stop(struct app *a, int code)
{
	if (!a->running)
		return;
	a->running = false;
	a->exit_code = code;
}

#endif
