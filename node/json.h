/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * json: just enough JSON for the meshnode program's output (docs/usage.md, "JSON output"): a
 * growable byte buffer, string escaping that turns any bytes into valid JSON, and RFC 4648
 * base64. There is no parser: meshnode reads plain command lines, never JSON. The same buffer
 * also builds the text lines for people, so the escaping of untrusted text for a terminal
 * (json_term()) lives here too, where it can be tested beside the JSON escaping.
 *
 * Invariants:
 * - json_str() always writes a valid JSON string, whatever the input: peer names and messages
 *   are untrusted, so control characters, C1 controls, DEL and the JavaScript line separators
 *   U+2028/U+2029 are escaped, and every byte that is not part of well-formed UTF-8 becomes
 *   \ufffd. Well-formed UTF-8 passes through unchanged.
 * - json_term() never passes on a byte that could drive a terminal, nor a character that is
 *   invisible or reorders what follows: C0 controls and DEL become caret notation, C1 controls
 *   and invisible or bidirectional format characters become <U+XXXX>, malformed UTF-8 becomes
 *   U+FFFD. With JSON_TERM_ASCII its output is printable ASCII (and, for a message, newline
 *   and tab).
 * - A buffer that failed to grow stays failed (and keeps what it had) until json_buf_clear(),
 *   so a caller checks `failed` once, after building a whole line.
 * - The buffer may hold message plaintext, so its old memory is wiped when it grows and when
 *   it is freed.
 */
#ifndef MESH_NODE_JSON_H
#define MESH_NODE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_buf {
	char *p;        /* NUL-terminated whenever len > 0 or cap > 0 */
	size_t len;
	size_t cap;
	bool failed;    /* an append ran out of memory */
};

void json_buf_init(struct json_buf *b);
/* Empties the buffer and clears `failed`; keeps (and wipes) the memory for reuse. */
void json_buf_clear(struct json_buf *b);
/* Wipes and frees; the buffer is then empty and may be reused. */
void json_buf_free(struct json_buf *b);

/* Appends bytes as they are (the caller vouches for them being JSON). */
void json_raw(struct json_buf *b, const char *s);
void json_raw_n(struct json_buf *b, const void *s, size_t len);
/* Appends len bytes as a quoted, escaped JSON string. */
void json_str(struct json_buf *b, const void *s, size_t len);
/* json_str() of a NUL-terminated string. */
void json_cstr(struct json_buf *b, const char *s);
void json_u64(struct json_buf *b, uint64_t v);
void json_bool(struct json_buf *b, bool v);
/* Appends a quoted RFC 4648 base64 string (standard alphabet, '=' padding). */
void json_base64(struct json_buf *b, const void *data, size_t len);

enum json_term_flags {
	/* A message: a newline stays a newline followed by four spaces of indent (so that a
	 * message cannot forge a line of ours) and a tab stays a tab; otherwise they are ^J, ^I. */
	JSON_TERM_MULTILINE = 1,
	/* The terminal is not UTF-8 (its locale says so): every non-ASCII character is written
	 * <U+XXXX>, so that only printable ASCII reaches it. */
	JSON_TERM_ASCII = 2,
};

/* Appends len untrusted bytes in a form that cannot drive a terminal (docs/usage.md, "What the
 * interactive screen shows"): C0 controls and DEL become caret notation ("^[" for ESC); C1
 * controls and the characters json_term_hidden() names become <U+XXXX> (upper-case hex, at
 * least four digits), and so does a '<' that starts "<U+" in the text, as <U+003C>, so that
 * text cannot pass for an escape; every byte that is not part of well-formed UTF-8 becomes
 * U+FFFD. The rest of the text is kept as it is, except that with JSON_TERM_ASCII every
 * non-ASCII character (U+FFFD included) is written <U+XXXX> too. flags is a set of enum
 * json_term_flags. */
void json_term(struct json_buf *b, const void *s, size_t len, unsigned flags);
/* True when json_term(b, s, len, flags & ~JSON_TERM_MULTILINE) would append s unchanged. */
bool json_term_clean(const void *s, size_t len, unsigned flags);
/* True for the code points json_term() always escapes: C1 controls (U+0080..U+009F), the
 * bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), the line
 * and paragraph separators (U+2028, U+2029), and the other invisible format characters of
 * Unicode's Default_Ignorable_Code_Point, except the joiners U+200C and U+200D and the
 * variation selectors, which emoji and several scripts need and which hide nothing alone. */
bool json_term_hidden(uint32_t cp);

/* Length of the base64 text of len bytes (without quotes or NUL); SIZE_MAX if it overflows. */
size_t json_base64_len(size_t len);
/* True when s is well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) and contains no NUL byte: such a payload is shown as "text", any other as "data". */
bool json_is_text(const void *s, size_t len);
/* The code point of the well-formed sequence of n bytes (from wire_utf8_seq(), wire.h) at s. */
uint32_t json_utf8_decode(const unsigned char *s, size_t n);

#endif
