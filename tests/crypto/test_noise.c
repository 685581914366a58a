/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_noise: crypto/noise.c against the official cacophony vectors (every
 * *_25519_ChaChaPoly_BLAKE2b vector whose pattern the tables know, in both roles, byte for byte,
 * every handshake message and every transport message, the transport both through
 * noise_cipher and through noise_transport_seal/open, the path the mesh uses), then the hostile
 * twins on XX and XXpsk3 with generated keys: flipped and truncated messages, wrong psk,
 * reordered and replayed messages, terminal failure, transport replay, nonce exhaustion,
 * low-order points, limits, and refused protocol names.
 *
 *   test_noise                    all of it, the vectors from $MN_VECTORS
 *   test_noise --vectors FILE...  only the vector files named
 *
 * The vectors live in tests/crypto/vectors (origins in SOURCES there). A missing or unreadable
 * file fails, and so does a file from which no Noise_XX or Noise_XXpsk3 vector ran: a silent
 * skip would hide a broken build. The main file must also have run Noise_KK, the pattern that
 * rekeys a live link (docs/crypto.md, "Rekeying"). A vector without handshake_hash is still
 * checked message by message and counted; noise-c's older `name` field is read like
 * `protocol_name`.
 * Output is counts and failing check locations only: no key, hash or plaintext is printed.
 */
#include "noise.h"
#include "testlib.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITE "_25519_ChaChaPoly_BLAKE2b"
#define XX "Noise_XX" SUITE
#define XXPSK3 "Noise_XXpsk3" SUITE
#define KK "Noise_KK" SUITE        /* the rekey of a live link (docs/crypto.md) */
#define BUFSZ 1024
#define MESH_MSGS 3         /* handshake messages of XX and XXpsk3 */
#define JSON_MAX_DEPTH 32

/* ---- a small JSON reader: strings are unescaped in place inside the slurped buffer ------- */

enum jtype { J_OTHER, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	char *s;            /* J_STR */
	size_t n;           /* J_ARR, J_OBJ: number of members */
	struct jv *v;       /* J_ARR, J_OBJ: the values */
	char **k;           /* J_OBJ: the keys */
};

struct jp {
	char *p;
	int depth;
};

static void skip_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The vectors hold only ASCII; \u escapes above 0x7f are refused rather than half-decoded. */
static int parse_string(struct jp *j, char **out)
{
	char *r, *w;

	if (*j->p != '"')
		return -1;
	r = w = ++j->p;
	*out = w;
	for (;;) {
		char c = *r++;

		if (c == '\0')
			return -1;
		if (c == '"')
			break;
		if (c == '\\') {
			char e = *r++;
			int u = 0;

			switch (e) {
			case '"': case '\\': case '/': c = e; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				for (int i = 0; i < 4; i++) {
					int d = hexdigit(r[i]);

					if (d < 0)
						return -1;
					u = u * 16 + d;
				}
				if (u == 0 || u > 0x7f)
					return -1;
				r += 4;
				c = (char)u;
				break;
			default:
				return -1;
			}
		}
		*w++ = c;
	}
	*w = '\0';          /* w never passes the closing quote, already consumed */
	j->p = r;
	return 0;
}

static int parse_value(struct jp *j, struct jv *out);

static void jv_free(struct jv *v)
{
	if (v->t == J_ARR || v->t == J_OBJ) {
		for (size_t i = 0; i < v->n; i++)
			jv_free(&v->v[i]);
		free(v->v);
		free(v->k);
	}
	memset(v, 0, sizeof *v);
}

/* Arrays and objects share this: obj says whether each member has a key. */
static int parse_members(struct jp *j, struct jv *out, bool obj)
{
	char close = obj ? '}' : ']';
	size_t cap = 0;

	out->t = obj ? J_OBJ : J_ARR;
	j->p++;
	skip_ws(j);
	if (*j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct jv *nv = realloc(out->v, ncap * sizeof *nv);

			if (!nv)
				return -1;
			out->v = nv;
			if (obj) {
				char **nk = realloc(out->k, ncap * sizeof *nk);

				if (!nk)
					return -1;
				out->k = nk;
			}
			cap = ncap;
		}
		skip_ws(j);
		if (obj) {
			if (parse_string(j, &key) != 0)
				return -1;
			skip_ws(j);
			if (*j->p != ':')
				return -1;
			j->p++;
			skip_ws(j);
			out->k[out->n] = key;
		}
		memset(&out->v[out->n], 0, sizeof out->v[out->n]);
		out->n++;
		if (parse_value(j, &out->v[out->n - 1]) != 0)
			return -1;
		skip_ws(j);
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return -1;
		j->p++;
	}
}

static int parse_value(struct jp *j, struct jv *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	skip_ws(j);
	switch (*j->p) {
	case '"':
		out->t = J_STR;
		return parse_string(j, &out->s);
	case '[':
	case '{':
		if (++j->depth > JSON_MAX_DEPTH)
			return -1;
		rc = parse_members(j, out, *j->p == '{');
		j->depth--;
		return rc;
	default:
		/* numbers, true, false, null: the vectors use none, so just step over them */
		if (!((*j->p >= '0' && *j->p <= '9') || *j->p == '-' || *j->p == 't' ||
		      *j->p == 'f' || *j->p == 'n'))
			return -1;
		while (*j->p && *j->p != ',' && *j->p != ']' && *j->p != '}' && *j->p != ' ' &&
		       *j->p != '\n' && *j->p != '\r' && *j->p != '\t')
			j->p++;
		out->t = J_OTHER;
		return 0;
	}
}

static int json_parse(char *text, struct jv *root)
{
	struct jp j = { text, 0 };

	if (parse_value(&j, root) != 0)
		return -1;
	skip_ws(&j);
	return *j.p == '\0' ? 0 : -1;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->k[i], key) == 0)
			return &o->v[i];
	return NULL;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->t == J_STR ? v->s : NULL;
}

/* ---- official vectors --------------------------------------------------------------------- */

enum vec_result { VEC_PASS, VEC_FAIL, VEC_UNSUPPORTED };

struct hexbuf {
	uint8_t b[BUFSZ];
	size_t len;
	bool present;
};

/* Absent is fine; present but malformed is a failure of the vector file. */
static int get_hex(const struct jv *o, const char *key, struct hexbuf *h)
{
	const char *s = jstr(o, key);
	long n;

	memset(h, 0, sizeof *h);
	if (!s)
		return jget(o, key) ? -1 : 0;
	n = testlib_unhex(s, h->b, sizeof h->b);
	if (n < 0)
		return -1;
	h->len = (size_t)n;
	h->present = true;
	return 0;
}

static int get_key32(const struct jv *o, const char *key, struct hexbuf *h)
{
	if (get_hex(o, key, h) != 0)
		return -1;
	return !h->present || h->len == 32 ? 0 : -1;
}

/* The API takes one psk, which covers every vector with a single psk. */
static int get_psk(const struct jv *o, const char *key, struct hexbuf *h, bool *multi)
{
	const struct jv *a = jget(o, key);
	long n;

	memset(h, 0, sizeof *h);
	if (!a)
		return 0;
	if (a->t != J_ARR)
		return -1;
	if (a->n == 0)
		return 0;
	if (a->n > 1) {
		*multi = true;
		return 0;
	}
	if (a->v[0].t != J_STR)
		return -1;
	n = testlib_unhex(a->v[0].s, h->b, sizeof h->b);
	if (n != NOISE_PSKLEN)
		return -1;
	h->len = (size_t)n;
	h->present = true;
	return 0;
}

static const uint8_t *opt(const struct hexbuf *h)
{
	return h->present ? h->b : NULL;
}

/* Which message of the vector failed, never its content. */
static void vec_fail(const char *name, size_t msg, const char *what)
{
	fprintf(stderr, "vector %s: message %zu: %s\n", name, msg, what);
}

/* Handshake messages, both ways: our write must equal the vector, our read its payload. */
static bool vec_handshake_msg(const char *name, size_t i, struct noise_hs *w, struct noise_hs *r,
                              const struct hexbuf *pl, const struct hexbuf *ct)
{
	uint8_t out[BUFSZ];
	size_t outlen = 0;
	bool ok = true;

	if (noise_hs_write(w, pl->b, pl->len, out, sizeof out, &outlen) != 0 ||
	    outlen != ct->len || memcmp(out, ct->b, ct->len) != 0) {
		vec_fail(name, i, "write differs");
		ok = false;
	}
	if (noise_hs_read(r, ct->b, ct->len, out, sizeof out, &outlen) != 0 ||
	    outlen != pl->len || memcmp(out, pl->b, pl->len) != 0) {
		vec_fail(name, i, "read differs");
		ok = false;
	}
	sodium_memzero(out, sizeof out);
	return ok;
}

/* One transport message, twice: through the bare ciphers (implicit nonce) and through
 * noise_transport_seal/open (the counter the mesh carries in its frames), which must agree. */
static bool vec_transport_msg(const char *name, size_t i, struct noise_cipher *send,
                              struct noise_cipher *recv, struct noise_transport *tsend,
                              struct noise_transport *trecv, const struct hexbuf *pl,
                              const struct hexbuf *ct)
{
	uint8_t out[BUFSZ];
	size_t outlen = 0;
	uint64_t counter = 0, want = send->n;
	bool ok = true;

	if (noise_cipher_encrypt(send, NULL, 0, pl->b, pl->len, out, sizeof out, &outlen) != 0 ||
	    outlen != ct->len || memcmp(out, ct->b, ct->len) != 0) {
		vec_fail(name, i, "transport encrypt differs");
		ok = false;
	}
	if (noise_cipher_decrypt(recv, NULL, 0, ct->b, ct->len, out, sizeof out, &outlen) != 0 ||
	    outlen != pl->len || memcmp(out, pl->b, pl->len) != 0) {
		vec_fail(name, i, "transport decrypt differs");
		ok = false;
	}
	if (noise_transport_seal(tsend, NULL, 0, pl->b, pl->len, out, sizeof out, &outlen,
	                         &counter) != 0 ||
	    counter != want || outlen != ct->len || memcmp(out, ct->b, ct->len) != 0) {
		vec_fail(name, i, "noise_transport_seal differs");
		ok = false;
	}
	if (noise_transport_open(trecv, want, NULL, 0, ct->b, ct->len, out, sizeof out,
	                         &outlen) != 0 ||
	    outlen != pl->len || memcmp(out, pl->b, pl->len) != 0) {
		vec_fail(name, i, "noise_transport_open differs");
		ok = false;
	}
	sodium_memzero(out, sizeof out);
	return ok;
}

/* The peer's static key as each side ends up knowing it (pre-shared or received). */
static bool vec_remote_static(const struct noise_hs *hs, const struct hexbuf *peer_priv)
{
	uint8_t got[NOISE_DHLEN], want[NOISE_DHLEN];

	if (!peer_priv->present)
		return noise_hs_remote_static(hs, got) == -1;
	if (noise_hs_remote_static(hs, got) != 0 || crypto_scalarmult_base(want, peer_priv->b) != 0)
		return false;
	return memcmp(got, want, sizeof got) == 0;
}

/* `protocol_name`, or noise-c's older `name`. */
static const char *vec_name(const struct jv *v)
{
	const char *name = jstr(v, "protocol_name");

	return name ? name : jstr(v, "name");
}

static enum vec_result run_vector(const struct jv *v, bool *no_hash)
{
	const char *name = vec_name(v);
	const struct jv *msgs = jget(v, "messages");
	struct hexbuf ipro, rpro, ie, re, is, rs, irs, rrs, ipsk, rpsk, hash, pl, ct;
	struct noise_hs *ini = NULL, *rsp = NULL;
	struct noise_transport ti, tr, ci, cr;   /* ci/cr: copies for the bare-cipher path */
	uint8_t h[NOISE_HASHLEN], rpub[NOISE_DHLEN];
	void *rmem = NULL;
	bool multi = false, one_way, ok = true;
	enum vec_result res = VEC_FAIL;

	memset(&ti, 0, sizeof ti);
	memset(&tr, 0, sizeof tr);
	memset(&ci, 0, sizeof ci);
	memset(&cr, 0, sizeof cr);
	*no_hash = false;
	if (!name || !msgs || msgs->t != J_ARR ||
	    get_hex(v, "init_prologue", &ipro) != 0 || get_hex(v, "resp_prologue", &rpro) != 0 ||
	    get_key32(v, "init_ephemeral", &ie) != 0 || get_key32(v, "resp_ephemeral", &re) != 0 ||
	    get_key32(v, "init_static", &is) != 0 || get_key32(v, "resp_static", &rs) != 0 ||
	    get_key32(v, "init_remote_static", &irs) != 0 ||
	    get_key32(v, "resp_remote_static", &rrs) != 0 ||
	    get_psk(v, "init_psks", &ipsk, &multi) != 0 ||
	    get_psk(v, "resp_psks", &rpsk, &multi) != 0 || get_hex(v, "handshake_hash", &hash) != 0) {
		fprintf(stderr, "vector %s: malformed\n", name ? name : "?");
		goto done;
	}
	if (multi) {
		res = VEC_UNSUPPORTED;
		goto done;
	}
	*no_hash = !hash.present;
	ini = noise_hs_new(name, NOISE_INITIATOR, ipro.b, ipro.len, opt(&is), opt(&irs), opt(&ipsk));
	/* the responder runs in caller memory with its public key given, as the mesh runs it:
	 * every vector must come out byte for byte the same */
	rmem = sodium_malloc(noise_hs_size());
	if (rs.present && crypto_scalarmult_base(rpub, rs.b) != 0)
		goto done;
	rsp = noise_hs_init(rmem, noise_hs_size(), name, NOISE_RESPONDER, rpro.b, rpro.len,
	                    opt(&rs), rs.present ? rpub : NULL, opt(&rrs), opt(&rpsk));
	if (!ini && !rsp) {
		res = VEC_UNSUPPORTED;
		goto done;
	}
	if (!ini || !rsp || !ie.present) {
		fprintf(stderr, "vector %s: only one role accepted its keys\n", name);
		goto done;
	}
	if (noise_hs_test_set_ephemeral(ini, ie.b) != 0 ||
	    (re.present && noise_hs_test_set_ephemeral(rsp, re.b) != 0))
		goto done;

	one_way = false;
	for (size_t i = 0; i < msgs->n; i++) {
		const struct jv *m = &msgs->v[i];

		if (get_hex(m, "payload", &pl) != 0 || get_hex(m, "ciphertext", &ct) != 0 ||
		    !pl.present || !ct.present) {
			vec_fail(name, i, "malformed");
			ok = false;
			break;
		}
		if (!noise_hs_done(ini)) {
			/* cacophony alternates senders, the initiator first */
			bool init_writes = i % 2 == 0;

			if (noise_hs_my_turn(ini) != init_writes || noise_hs_my_turn(rsp) == init_writes) {
				vec_fail(name, i, "turn order");
				ok = false;
				break;
			}
			ok &= init_writes ? vec_handshake_msg(name, i, ini, rsp, &pl, &ct)
			                  : vec_handshake_msg(name, i, rsp, ini, &pl, &ct);
			if (!ok)
				break;
			if (noise_hs_done(ini) != noise_hs_done(rsp)) {
				vec_fail(name, i, "done disagrees");
				ok = false;
				break;
			}
			if (!noise_hs_done(ini))
				continue;
			/* one-way patterns finish after the first message */
			one_way = i == 0;
			/* without handshake_hash the messages before and after still bind it */
			if (hash.present && (noise_hs_hash(ini, h) != 0 ||
			    memcmp(h, hash.b, NOISE_HASHLEN) != 0 || noise_hs_hash(rsp, h) != 0 ||
			    memcmp(h, hash.b, NOISE_HASHLEN) != 0)) {
				vec_fail(name, i, "handshake hash differs");
				ok = false;
			}
			if (!vec_remote_static(ini, &rs) || !vec_remote_static(rsp, &is)) {
				vec_fail(name, i, "remote static differs");
				ok = false;
			}
			if (noise_hs_split(ini, &ti) != 0 || noise_hs_split(rsp, &tr) != 0) {
				vec_fail(name, i, "split");
				ok = false;
				break;
			}
			ci = ti;
			cr = tr;
			continue;
		}
		if (one_way || i % 2 == 0)
			ok &= vec_transport_msg(name, i, &ci.send, &cr.recv, &ti, &tr, &pl, &ct);
		else
			ok &= vec_transport_msg(name, i, &cr.send, &ci.recv, &tr, &ti, &pl, &ct);
	}
	if (ok && !noise_hs_done(ini)) {
		vec_fail(name, msgs->n, "handshake never finished");
		ok = false;
	}
	res = ok ? VEC_PASS : VEC_FAIL;
done:
	noise_hs_destroy(&ini);
	noise_hs_destroy(&rsp);         /* in rmem: only wiped */
	sodium_free(rmem);
	noise_transport_wipe(&ti);
	noise_transport_wipe(&tr);
	noise_transport_wipe(&ci);
	noise_transport_wipe(&cr);
	sodium_memzero(h, sizeof h);
	return res;
}

/* KK vectors that passed in the last file test_vector_file() read: the mesh rekeys its links
 * with Noise_KK, so the main file must prove that pattern too (test_vectors). */
static unsigned long kk_passed;

/* Runs every vector of one file; returns false (and says why) when the file proved nothing. */
static bool test_vector_file(const char *path)
{
	struct jv root;
	const struct jv *vecs;
	char *text;
	unsigned long n_xx = 0, n_xxpsk3 = 0, n_other = 0, n_unsupported = 0, n_failed = 0;
	unsigned long n_xx_seen = 0, n_xxpsk3_seen = 0, n_fallback = 0, n_other_suites = 0;
	unsigned long n_no_hash = 0, n_name_field = 0, failures_before = testlib_failures;
	unsigned long n_kk = 0, n_kk_seen = 0;

	text = testlib_slurp(path, NULL);
	if (!text) {
		fprintf(stderr, "\n*** FAILED vectors: cannot read %s ***\n\n", path);
		CHECK(text != NULL);
		return false;
	}
	memset(&root, 0, sizeof root);
	CHECK(json_parse(text, &root) == 0);
	vecs = jget(&root, "vectors");
	CHECK(vecs && vecs->t == J_ARR && vecs->n > 0);
	for (size_t i = 0; vecs && vecs->t == J_ARR && i < vecs->n; i++) {
		const char *name = vec_name(&vecs->v[i]);
		size_t len = name ? strlen(name) : 0;
		enum vec_result r;
		bool is_xx, is_xxpsk3, no_hash = false;

		if (!name || len < strlen(SUITE) || strcmp(name + len - strlen(SUITE), SUITE) != 0) {
			n_other_suites++;
			continue;
		}
		is_xx = strcmp(name, XX) == 0;
		is_xxpsk3 = strcmp(name, XXPSK3) == 0;
		n_xx_seen += is_xx;
		n_xxpsk3_seen += is_xxpsk3;
		n_kk_seen += strcmp(name, KK) == 0;
		r = run_vector(&vecs->v[i], &no_hash);
		if (r == VEC_UNSUPPORTED) {
			/* fallback needs a pre-message e this API cannot take; anything else is a gap */
			if (strstr(name, "fallback")) {
				n_fallback++;
			} else {
				fprintf(stderr, "vector %s: unsupported\n", name);
				n_unsupported++;
			}
			continue;
		}
		if (r == VEC_FAIL) {
			n_failed++;
			continue;
		}
		n_no_hash += no_hash;
		n_kk += strcmp(name, KK) == 0;
		n_name_field += !jstr(&vecs->v[i], "protocol_name");
		if (is_xx)
			n_xx++;
		else if (is_xxpsk3)
			n_xxpsk3++;
		else
			n_other++;
	}
	printf("vectors %s: XX=%lu XXpsk3=%lu other=%lu total=%lu failed=%lu unsupported=%lu "
	       "fallback_skipped=%lu other_suites_skipped=%lu\n",
	       path, n_xx, n_xxpsk3, n_other, n_xx + n_xxpsk3 + n_other, n_failed, n_unsupported,
	       n_fallback, n_other_suites);
	if (n_no_hash)
		printf("vectors %s: %lu passed without handshake_hash (every message and the "
		       "transport checked; the hash itself could not be)\n", path, n_no_hash);
	if (n_name_field)
		printf("vectors %s: %lu passed named by noise-c's older `name` field\n", path,
		       n_name_field);
	if (n_xx + n_xxpsk3 == 0)
		fprintf(stderr, "\n*** FAILED vectors %s: no Noise_XX or Noise_XXpsk3 vector ran "
		        "(%lu seen) ***\n\n", path, n_xx_seen + n_xxpsk3_seen);
	CHECK(n_xx + n_xxpsk3 > 0);
	CHECK(n_xx == n_xx_seen);
	CHECK(n_xxpsk3 == n_xxpsk3_seen);
	CHECK(n_kk == n_kk_seen);
	kk_passed = n_kk;
	CHECK(n_failed == 0);
	CHECK(n_unsupported == 0);
	jv_free(&root);
	free(text);
	return testlib_failures == failures_before;
}

/* The file CMake names: it must prove both of the mesh's patterns. */
static void test_vectors(void)
{
	const char *path = getenv("MN_VECTORS");
	char *text;

	if (!path || !*path) {
		fprintf(stderr, "\n*** FAILED vectors: MN_VECTORS is not set (ctest sets it to "
		        "tests/crypto/vectors/cacophony.txt) ***\n\n");
		CHECK(path && *path);
		return;
	}
	test_vector_file(path);
	/* all three of the mesh's patterns must be in the main file, and KK must have run */
	printf("vectors %s: %s=%lu\n", path, KK, kk_passed);
	CHECK(kk_passed > 0);
	text = testlib_slurp(path, NULL);
	CHECK(text && strstr(text, "\"" XX "\"") && strstr(text, "\"" XXPSK3 "\"") &&
	      strstr(text, "\"" KK "\""));
	free(text);
}

/* ---- generated keys for the hostile twins ---------------------------------------------- */

static const uint8_t prologue[] = "meshnode test prologue";

static struct {
	uint8_t i_s[NOISE_DHLEN], r_s[NOISE_DHLEN], i_pub[NOISE_DHLEN], r_pub[NOISE_DHLEN];
	uint8_t psk[NOISE_PSKLEN], psk_wrong[NOISE_PSKLEN];
} keys;

static void make_keys(void)
{
	randombytes_buf(keys.i_s, sizeof keys.i_s);
	randombytes_buf(keys.r_s, sizeof keys.r_s);
	CHECK(crypto_scalarmult_base(keys.i_pub, keys.i_s) == 0);
	CHECK(crypto_scalarmult_base(keys.r_pub, keys.r_s) == 0);
	randombytes_buf(keys.psk, sizeof keys.psk);
	memcpy(keys.psk_wrong, keys.psk, sizeof keys.psk);
	keys.psk_wrong[7] ^= 0x40;
}

static bool uses_psk(const char *name)
{
	return strstr(name, "psk") != NULL;
}

static struct noise_hs *party(const char *name, enum noise_role role, const uint8_t *psk)
{
	return noise_hs_new(name, role, prologue, sizeof prologue - 1,
	                    role == NOISE_INITIATOR ? keys.i_s : keys.r_s, NULL,
	                    uses_psk(name) ? psk : NULL);
}

/* Non-empty payloads, so payload bytes get flipped and truncated too. */
static const uint8_t *payload(size_t m, size_t *len)
{
	static const char *const p[] = { "first payload", "second payload", "third payload",
	                                 "fourth payload" };
	*len = strlen(p[m % 4]);
	return (const uint8_t *)p[m % 4];
}

struct pair {
	struct noise_hs *hs[2];             /* [0] initiator, [1] responder */
};

static void pair_free(struct pair *p)
{
	noise_hs_destroy(&p->hs[0]);
	noise_hs_destroy(&p->hs[1]);
}

/* A fresh pair that has exchanged messages 0..k-1; message k is written into msg, unread. */
static int pair_start(struct pair *p, const char *name, const uint8_t *rpsk, size_t k,
                      uint8_t *msg, size_t cap, size_t *len)
{
	uint8_t pl[BUFSZ];
	size_t pllen, plen;
	const uint8_t *want;

	p->hs[0] = party(name, NOISE_INITIATOR, keys.psk);
	p->hs[1] = party(name, NOISE_RESPONDER, rpsk);
	if (!p->hs[0] || !p->hs[1])
		return -1;
	for (size_t m = 0; m <= k; m++) {
		want = payload(m, &plen);
		if (noise_hs_write(p->hs[m % 2], want, plen, msg, cap, len) != 0)
			return -1;
		if (m == k)
			return 0;
		if (noise_hs_read(p->hs[1 - m % 2], msg, *len, pl, sizeof pl, &pllen) != 0 ||
		    pllen != plen || memcmp(pl, want, plen) != 0)
			return -1;
	}
	return -1;
}

/* A failed handshake stays failed: no turn, no read, no write, no split. */
static bool terminal(struct noise_hs *hs, const uint8_t *msg, size_t len)
{
	uint8_t buf[BUFSZ];
	size_t n = 0;
	struct noise_transport t;
	uint8_t h[NOISE_HASHLEN], rs[NOISE_DHLEN];

	return noise_hs_failed(hs) && !noise_hs_my_turn(hs) && !noise_hs_done(hs) &&
	       noise_hs_read(hs, msg, len, buf, sizeof buf, &n) == -1 && n == 0 &&
	       noise_hs_write(hs, NULL, 0, buf, sizeof buf, &n) == -1 && n == 0 &&
	       noise_hs_split(hs, &t) == -1 && noise_hs_hash(hs, h) == -1 &&
	       noise_hs_remote_static(hs, rs) == -1;
}

/*
 * Feeds a corrupted message k (good is the genuine one) to its reader. The handshake must refuse
 * it on the spot, or -- for the first XX message, which carries nothing authenticated -- when the
 * reply built on it reaches the other side. Whoever refused must then be terminal.
 */
static bool refused(struct pair *p, size_t k, const uint8_t *bad, size_t badlen,
                    const uint8_t *good, size_t goodlen)
{
	struct noise_hs *w = p->hs[k % 2], *r = p->hs[1 - k % 2];
	uint8_t pl[BUFSZ], reply[BUFSZ];
	size_t pllen = 0, rlen = 0, plen;
	const uint8_t *next = payload(k + 1, &plen);

	if (noise_hs_read(r, bad, badlen, pl, sizeof pl, &pllen) != 0)
		return pllen == 0 && terminal(r, good, goodlen);
	if (k != 0)
		return false;
	if (noise_hs_write(r, next, plen, reply, sizeof reply, &rlen) != 0)
		return false;
	return noise_hs_read(w, reply, rlen, pl, sizeof pl, &pllen) == -1 &&
	       terminal(w, reply, rlen);
}

static void test_flip_and_truncate(const char *name)
{
	uint8_t msg[BUFSZ], bad[BUFSZ];
	size_t len = 0;
	unsigned long flips = 0, cuts = 0, bad_flips = 0, bad_cuts = 0;

	for (size_t k = 0; k < MESH_MSGS; k++) {
		struct pair p = { { NULL, NULL } };

		CHECK(pair_start(&p, name, keys.psk, k, msg, sizeof msg, &len) == 0);
		pair_free(&p);
		for (size_t j = 0; j < len; j++) {
			CHECK(pair_start(&p, name, keys.psk, k, msg, sizeof msg, &len) == 0);
			memcpy(bad, msg, len);
			bad[j] ^= 0x01;
			flips++;
			bad_flips += !refused(&p, k, bad, len, msg, len);
			pair_free(&p);
		}
		for (size_t j = 0; j < len; j++) {
			CHECK(pair_start(&p, name, keys.psk, k, msg, sizeof msg, &len) == 0);
			cuts++;
			bad_cuts += !refused(&p, k, msg, j, msg, len);
			pair_free(&p);
		}
	}
	CHECK(flips > 100 && bad_flips == 0);
	CHECK(cuts > 100 && bad_cuts == 0);
}

/* Runs a whole handshake; msgs/lens keep the transcript when given. */
static int full_handshake(struct pair *p, const char *name, uint8_t msgs[][BUFSZ], size_t *lens)
{
	uint8_t buf[BUFSZ], pl[BUFSZ];
	size_t len = 0, pllen = 0, plen;

	p->hs[0] = party(name, NOISE_INITIATOR, keys.psk);
	p->hs[1] = party(name, NOISE_RESPONDER, keys.psk);
	if (!p->hs[0] || !p->hs[1])
		return -1;
	for (size_t m = 0; !noise_hs_done(p->hs[0]); m++) {
		const uint8_t *want = payload(m, &plen);

		if (m >= 4 || noise_hs_write(p->hs[m % 2], want, plen, buf, sizeof buf, &len) != 0 ||
		    noise_hs_read(p->hs[1 - m % 2], buf, len, pl, sizeof pl, &pllen) != 0 ||
		    pllen != plen || memcmp(pl, want, plen) != 0)
			return -1;
		if (msgs) {
			memcpy(msgs[m], buf, len);
			lens[m] = len;
		}
	}
	return noise_hs_done(p->hs[1]) ? 0 : -1;
}

static void test_happy(const char *name)
{
	struct pair p = { { NULL, NULL } };
	uint8_t h0[NOISE_HASHLEN], h1[NOISE_HASHLEN], rs[NOISE_DHLEN];
	struct noise_transport t0, t1;

	CHECK(full_handshake(&p, name, NULL, NULL) == 0);
	CHECK(noise_hs_hash(p.hs[0], h0) == 0 && noise_hs_hash(p.hs[1], h1) == 0);
	CHECK(memcmp(h0, h1, sizeof h0) == 0);
	CHECK(noise_hs_remote_static(p.hs[0], rs) == 0 && memcmp(rs, keys.r_pub, sizeof rs) == 0);
	CHECK(noise_hs_remote_static(p.hs[1], rs) == 0 && memcmp(rs, keys.i_pub, sizeof rs) == 0);
	CHECK(!noise_hs_my_turn(p.hs[0]) && !noise_hs_my_turn(p.hs[1]));
	CHECK(noise_hs_split(p.hs[0], &t0) == 0 && noise_hs_split(p.hs[1], &t1) == 0);
	CHECK(sodium_memcmp(t0.send.k, t1.recv.k, NOISE_KEYLEN) == 0);
	CHECK(sodium_memcmp(t0.recv.k, t1.send.k, NOISE_KEYLEN) == 0);
	CHECK(sodium_memcmp(t0.send.k, t0.recv.k, NOISE_KEYLEN) != 0);
	/* the key log's accessor hands out exactly the split's keys, and nothing without them */
	{
		uint8_t ks[NOISE_KEYLEN], kr[NOISE_KEYLEN];
		struct noise_transport empty;

		CHECK(noise_transport_keys(&t0, ks, kr) == 0);
		CHECK(sodium_memcmp(ks, t1.recv.k, NOISE_KEYLEN) == 0);
		CHECK(sodium_memcmp(kr, t1.send.k, NOISE_KEYLEN) == 0);
		memset(&empty, 0, sizeof empty);
		CHECK(noise_transport_keys(&empty, ks, kr) == -1);
		CHECK(noise_transport_keys(NULL, ks, kr) == -1);
		sodium_memzero(ks, sizeof ks);
		sodium_memzero(kr, sizeof kr);
	}
	/* the handshake is over: more handshake messages are refused */
	{
		uint8_t buf[BUFSZ];
		size_t n;

		CHECK(noise_hs_write(p.hs[0], NULL, 0, buf, sizeof buf, &n) == -1);
		CHECK(noise_hs_failed(p.hs[0]));
	}
	noise_transport_wipe(&t0);
	noise_transport_wipe(&t1);
	pair_free(&p);
}

static void test_wrong_psk(void)
{
	struct pair p = { { NULL, NULL } };
	uint8_t msg[BUFSZ], pl[BUFSZ];
	size_t len = 0, pllen = 0;

	/* psk3 is mixed in at the end of the third message: that is where it must fail */
	CHECK(pair_start(&p, XXPSK3, keys.psk_wrong, 2, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == -1);
	CHECK(pllen == 0 && terminal(p.hs[1], msg, len));
	pair_free(&p);

	/* the mesh's two patterns do not interoperate */
	p.hs[0] = party(XX, NOISE_INITIATOR, NULL);
	p.hs[1] = party(XXPSK3, NOISE_RESPONDER, keys.psk);
	CHECK(p.hs[0] && p.hs[1]);
	CHECK(noise_hs_write(p.hs[0], NULL, 0, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == -1);
	pair_free(&p);
}

/* Messages of another run (A) or of this run (B) at the wrong moment. */
static void test_order_and_replay(const char *name)
{
	static uint8_t a[4][BUFSZ], b[4][BUFSZ];
	size_t alen[4], blen[4];
	uint8_t pl[BUFSZ], msg[BUFSZ];
	size_t pllen = 0, len = 0;
	struct pair pa = { { NULL, NULL } }, p = { { NULL, NULL } };

	CHECK(full_handshake(&pa, name, a, alen) == 0);
	pair_free(&pa);

	/* msg 3 (and msg 1) where the initiator expects msg 2 */
	CHECK(pair_start(&p, name, keys.psk, 1, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 1, a[2], alen[2], msg, len));
	pair_free(&p);
	CHECK(pair_start(&p, name, keys.psk, 1, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 1, a[0], alen[0], msg, len));
	pair_free(&p);
	/* another run's msg 2, same length and keys but other ephemerals */
	CHECK(pair_start(&p, name, keys.psk, 1, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 1, a[1], alen[1], msg, len));
	pair_free(&p);
	/* another run's msg 3 and msg 2 where the responder expects msg 3 */
	CHECK(pair_start(&p, name, keys.psk, 2, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 2, a[2], alen[2], msg, len));
	pair_free(&p);
	CHECK(pair_start(&p, name, keys.psk, 2, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 2, a[1], alen[1], msg, len));
	pair_free(&p);
	/* msg 2 where the responder expects msg 1: unauthenticated, caught one step later */
	CHECK(pair_start(&p, name, keys.psk, 0, msg, sizeof msg, &len) == 0);
	CHECK(refused(&p, 0, a[1], alen[1], msg, len));
	pair_free(&p);
	/* a whole recorded initiator side replayed to a fresh responder */
	CHECK(pair_start(&p, name, keys.psk, 0, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], a[0], alen[0], pl, sizeof pl, &pllen) == 0);
	CHECK(noise_hs_write(p.hs[1], NULL, 0, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], a[2], alen[2], pl, sizeof pl, &pllen) == -1);
	CHECK(terminal(p.hs[1], a[2], alen[2]));
	pair_free(&p);

	/* replays within one run: each side refuses a message it already took */
	CHECK(full_handshake(&p, name, b, blen) == 0);
	pair_free(&p);
	CHECK(pair_start(&p, name, keys.psk, 0, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == 0);
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == -1);
	CHECK(terminal(p.hs[1], msg, len));
	pair_free(&p);
	CHECK(pair_start(&p, name, keys.psk, 1, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[0], msg, len, pl, sizeof pl, &pllen) == 0);
	CHECK(noise_hs_read(p.hs[0], msg, len, pl, sizeof pl, &pllen) == -1);
	CHECK(terminal(p.hs[0], msg, len));
	pair_free(&p);
	CHECK(pair_start(&p, name, keys.psk, 2, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == 0);
	CHECK(noise_hs_done(p.hs[1]));
	CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == -1);
	pair_free(&p);
	/* the initiator does not read first, the responder does not write first */
	p.hs[0] = party(name, NOISE_INITIATOR, keys.psk);
	CHECK(p.hs[0] && noise_hs_my_turn(p.hs[0]));
	CHECK(noise_hs_read(p.hs[0], b[1], blen[1], pl, sizeof pl, &pllen) == -1);
	CHECK(terminal(p.hs[0], b[1], blen[1]));
	p.hs[1] = party(name, NOISE_RESPONDER, keys.psk);
	CHECK(p.hs[1] && !noise_hs_my_turn(p.hs[1]));
	CHECK(noise_hs_write(p.hs[1], NULL, 0, msg, sizeof msg, &len) == -1 && len == 0);
	CHECK(terminal(p.hs[1], b[0], blen[0]));
	pair_free(&p);
}

/* Low-order points make X25519 output all zeros; DH must refuse, on write and on read. */
static void test_low_order(const char *name)
{
	static const uint8_t points[2][NOISE_DHLEN] = {
		{ 0 },
		/* a point of order 8 */
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	};
	uint8_t msg[BUFSZ], pl[BUFSZ];
	size_t len = 0, pllen = 0;

	for (size_t i = 0; i < 2; i++) {
		struct pair p = { { NULL, NULL } };

		/*
		 * responder: in XX msg 1's e is only hashed, so the read passes and the responder's
		 * own ee fails; under psk the e keys the payload, so the read itself fails
		 */
		CHECK(pair_start(&p, name, keys.psk, 0, msg, sizeof msg, &len) == 0);
		memcpy(msg, points[i], NOISE_DHLEN);
		if (uses_psk(name)) {
			CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == -1);
		} else {
			CHECK(noise_hs_read(p.hs[1], msg, len, pl, sizeof pl, &pllen) == 0);
			CHECK(noise_hs_write(p.hs[1], NULL, 0, msg, sizeof msg, &len) == -1);
			CHECK(len == 0);
		}
		CHECK(terminal(p.hs[1], msg, sizeof msg));
		pair_free(&p);

		/* initiator: msg 2's e reaches ee while reading */
		CHECK(pair_start(&p, name, keys.psk, 1, msg, sizeof msg, &len) == 0);
		memcpy(msg, points[i], NOISE_DHLEN);
		CHECK(noise_hs_read(p.hs[0], msg, len, pl, sizeof pl, &pllen) == -1);
		CHECK(terminal(p.hs[0], msg, len));
		pair_free(&p);
	}
}

static void test_limits(void)
{
	static uint8_t big[NOISE_MAX_MSG + 2], out[NOISE_MAX_MSG + 64];
	struct pair p = { { NULL, NULL } };
	size_t len = 0, pllen = 0, plen;
	const uint8_t *pl1 = payload(1, &plen);
	uint8_t msg[BUFSZ];

	memset(big, 0x5a, sizeof big);
	/* XX msg 1 is e + plaintext payload: 32 + 65503 is the largest legal message */
	p.hs[0] = party(XX, NOISE_INITIATOR, NULL);
	CHECK(p.hs[0] != NULL);
	CHECK(noise_hs_write(p.hs[0], big, NOISE_MAX_MSG - NOISE_DHLEN + 1, out, sizeof out,
	                     &len) == -1 && len == 0);
	CHECK(noise_hs_failed(p.hs[0]));
	noise_hs_destroy(&p.hs[0]);
	p.hs[0] = party(XX, NOISE_INITIATOR, NULL);
	CHECK(noise_hs_write(p.hs[0], big, NOISE_MAX_MSG - NOISE_DHLEN, out, sizeof out, &len) == 0);
	CHECK(len == NOISE_MAX_MSG);
	p.hs[1] = party(XX, NOISE_RESPONDER, NULL);
	CHECK(noise_hs_read(p.hs[1], out, len, out, 0, &pllen) == -1);  /* payload has no room */
	CHECK(terminal(p.hs[1], out, len));
	noise_hs_destroy(&p.hs[1]);
	p.hs[1] = party(XX, NOISE_RESPONDER, NULL);
	{
		static uint8_t scratch[NOISE_MAX_MSG + 2];

		CHECK(noise_hs_read(p.hs[1], out, NOISE_MAX_MSG + 1, scratch, sizeof scratch,
		                    &pllen) == -1);
	}
	CHECK(terminal(p.hs[1], out, len));
	noise_hs_destroy(&p.hs[1]);
	p.hs[1] = party(XX, NOISE_RESPONDER, NULL);
	{
		static uint8_t got[NOISE_MAX_MSG];

		CHECK(noise_hs_read(p.hs[1], out, len, got, sizeof got, &pllen) == 0);
		CHECK(pllen == NOISE_MAX_MSG - NOISE_DHLEN && memcmp(got, big, pllen) == 0);
	}
	/* output capacity one byte short */
	CHECK(noise_hs_write(p.hs[1], pl1, plen, msg, 32 + 48 + plen + 16 - 1, &len) == -1);
	CHECK(terminal(p.hs[1], msg, len));
	pair_free(&p);
	CHECK(pair_start(&p, XX, NULL, 1, msg, 32 + 48 + plen + 16, &len) == 0);
	CHECK(len == 32 + 48 + plen + 16);
	pair_free(&p);
	/* NULL arguments are refused, not dereferenced */
	p.hs[0] = party(XX, NOISE_INITIATOR, NULL);
	CHECK(noise_hs_write(p.hs[0], NULL, 1, msg, sizeof msg, &len) == -1);
	pair_free(&p);
	p.hs[0] = party(XX, NOISE_INITIATOR, NULL);
	CHECK(noise_hs_write(p.hs[0], NULL, 0, NULL, 0, &len) == -1);
	pair_free(&p);
	CHECK(noise_hs_write(NULL, NULL, 0, msg, sizeof msg, &len) == -1);
	CHECK(noise_hs_read(NULL, msg, 1, NULL, 0, &len) == -1);
	CHECK(noise_hs_failed(NULL) && !noise_hs_done(NULL) && !noise_hs_my_turn(NULL));
	noise_hs_destroy(NULL);
	noise_hs_destroy(&p.hs[0]);
}

/* ENCRYPT(k, 2^64-1, "", pt) straight from libsodium, to feed the refusals a real frame. */
static int seal_at_max(const uint8_t k[NOISE_KEYLEN], const uint8_t *pt, size_t ptlen,
                       uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen = 0;

	if (cap < ptlen + NOISE_TAGLEN)
		return -1;
	memset(npub, 0, 4);
	memset(npub + 4, 0xff, 8);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, NULL, 0, NULL, npub,
	                                              k) != 0)
		return -1;
	*outlen = (size_t)clen;
	return 0;
}

/* Transport on an XX (or XXpsk3) link: explicit counters, replay window of one. */
static void test_transport(const char *name)
{
	struct pair p = { { NULL, NULL } };
	struct noise_transport t0, t1;
	static const uint8_t ad[] = "header";
	uint8_t frame[4][BUFSZ], bad[BUFSZ], out[BUFSZ];
	size_t flen[4], len = 0, plen;
	uint64_t ctr[4];
	unsigned long bad_flips = 0, bad_cuts = 0;
	const uint8_t *pt;

	CHECK(full_handshake(&p, name, NULL, NULL) == 0);
	CHECK(noise_hs_split(p.hs[0], &t0) == 0 && noise_hs_split(p.hs[1], &t1) == 0);
	pair_free(&p);

	for (size_t i = 0; i < 4; i++) {
		pt = payload(i, &plen);
		CHECK(noise_transport_seal(&t0, ad, sizeof ad, pt, plen, frame[i], BUFSZ, &flen[i],
		                           &ctr[i]) == 0);
		CHECK(ctr[i] == i && flen[i] == plen + NOISE_TAGLEN);
	}
	/* every flipped byte and every truncation fails and leaves the window where it was */
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < flen[i]; j++) {
			memcpy(bad, frame[i], flen[i]);
			bad[j] ^= 0x01;
			bad_flips += noise_transport_open(&t1, ctr[i], ad, sizeof ad, bad, flen[i], out,
			                                  sizeof out, &len) != -1 || len != 0;
			bad_cuts += noise_transport_open(&t1, ctr[i], ad, sizeof ad, frame[i], j, out,
			                                 sizeof out, &len) != -1 || len != 0;
		}
	}
	CHECK(bad_flips == 0 && bad_cuts == 0);
	CHECK(!t1.recv_any);
	/* wrong counter, wrong ad, wrong direction */
	CHECK(noise_transport_open(&t1, 1, ad, sizeof ad, frame[0], flen[0], out, sizeof out,
	                           &len) == -1);
	CHECK(noise_transport_open(&t1, 0, ad, sizeof ad - 1, frame[0], flen[0], out, sizeof out,
	                           &len) == -1);
	CHECK(noise_transport_open(&t0, 0, ad, sizeof ad, frame[0], flen[0], out, sizeof out,
	                           &len) == -1);
	/* output one byte short */
	CHECK(noise_transport_open(&t1, 0, ad, sizeof ad, frame[0], flen[0], out,
	                           flen[0] - NOISE_TAGLEN - 1, &len) == -1);
	CHECK(!t1.recv_any);

	pt = payload(0, &plen);
	CHECK(noise_transport_open(&t1, 0, ad, sizeof ad, frame[0], flen[0], out, sizeof out,
	                           &len) == 0 && len == plen && memcmp(out, pt, plen) == 0);
	CHECK(t1.recv_any && t1.recv_last == 0);
	/* replay */
	CHECK(noise_transport_open(&t1, 0, ad, sizeof ad, frame[0], flen[0], out, sizeof out,
	                           &len) == -1);
	/* frame 1 lost: frame 2 still opens, then the late frame 1 is refused as older */
	pt = payload(2, &plen);
	CHECK(noise_transport_open(&t1, 2, ad, sizeof ad, frame[2], flen[2], out, sizeof out,
	                           &len) == 0 && len == plen && memcmp(out, pt, plen) == 0);
	CHECK(noise_transport_open(&t1, 1, ad, sizeof ad, frame[1], flen[1], out, sizeof out,
	                           &len) == -1);
	CHECK(noise_transport_open(&t1, 2, ad, sizeof ad, frame[2], flen[2], out, sizeof out,
	                           &len) == -1);
	/* a forged frame at a far counter must not move the window */
	CHECK(noise_transport_open(&t1, 1000, ad, sizeof ad, frame[3], flen[3], out, sizeof out,
	                           &len) == -1);
	CHECK(t1.recv_last == 2);
	CHECK(noise_transport_open(&t1, 3, ad, sizeof ad, frame[3], flen[3], out, sizeof out,
	                           &len) == 0);
	/* the other direction */
	pt = payload(1, &plen);
	CHECK(noise_transport_seal(&t1, NULL, 0, pt, plen, frame[0], BUFSZ, &flen[0], &ctr[0]) == 0);
	CHECK(noise_transport_open(&t0, ctr[0], NULL, 0, frame[0], flen[0], out, sizeof out,
	                           &len) == 0 && len == plen && memcmp(out, pt, plen) == 0);

	/* exhaustion: UINT64_MAX - 1 is the last counter, UINT64_MAX is never used */
	t0.send_next = UINT64_MAX - 1;
	CHECK(noise_transport_seal(&t0, NULL, 0, pt, plen, frame[0], BUFSZ, &flen[0], &ctr[0]) == 0);
	CHECK(ctr[0] == UINT64_MAX - 1);
	CHECK(noise_transport_seal(&t0, NULL, 0, pt, plen, frame[1], BUFSZ, &flen[1], &ctr[1]) == -1);
	CHECK(t0.send_next == UINT64_MAX);
	CHECK(noise_transport_open(&t1, UINT64_MAX - 1, NULL, 0, frame[0], flen[0], out, sizeof out,
	                           &len) == 0);
	/* a frame sealed by hand at the reserved counter is still refused */
	CHECK(noise_cipher_encrypt_at(&t0.send, UINT64_MAX, NULL, 0, pt, plen, frame[1], BUFSZ,
	                              &flen[1]) == -1);
	t1.recv_any = false;
	CHECK(seal_at_max(t0.send.k, pt, plen, frame[1], BUFSZ, &flen[1]) == 0);
	CHECK(noise_transport_open(&t1, UINT64_MAX, NULL, 0, frame[1], flen[1], out, sizeof out,
	                           &len) == -1);
	CHECK(!t1.recv_any);
	/* frames are Noise messages: 65535 bytes at most */
	{
		static uint8_t big[NOISE_MAX_MSG + NOISE_TAGLEN + 1];

		t0.send_next = 5;
		CHECK(noise_transport_seal(&t0, NULL, 0, big, NOISE_MAX_MSG - NOISE_TAGLEN + 1, big,
		                           sizeof big, &len, &ctr[0]) == -1);
		CHECK(noise_transport_open(&t1, 7, NULL, 0, big, NOISE_MAX_MSG + 1, big, sizeof big,
		                           &len) == -1);
	}
	/* a zeroed transport has no keys and never copies plaintext through */
	noise_transport_wipe(&t0);
	CHECK(noise_transport_seal(&t0, NULL, 0, pt, plen, frame[0], BUFSZ, &flen[0], &ctr[0]) == -1);
	CHECK(noise_transport_open(&t0, 9, NULL, 0, pt, plen, out, sizeof out, &len) == -1);
	noise_transport_wipe(&t1);
}

static void test_cipher(void)
{
	struct noise_cipher a, b, empty;
	uint8_t k[NOISE_KEYLEN], ct[BUFSZ], ct2[BUFSZ], pt[BUFSZ];
	static const uint8_t msg[] = "cipher state message";
	size_t len = 0, len2 = 0;

	randombytes_buf(k, sizeof k);
	noise_cipher_init(&a, k);
	noise_cipher_init(&b, k);

	/* implicit nonces advance only on success */
	CHECK(noise_cipher_encrypt(&a, NULL, 0, msg, sizeof msg, ct, sizeof ct, &len) == 0);
	CHECK(a.n == 1 && len == sizeof msg + NOISE_TAGLEN);
	ct[0] ^= 1;
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1 && b.n == 0);
	ct[0] ^= 1;
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == 0 && b.n == 1);
	CHECK(len2 == sizeof msg && memcmp(pt, msg, sizeof msg) == 0);
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1);
	/* the explicit variant at the same nonce gives the same bytes and leaves n alone */
	CHECK(noise_cipher_encrypt_at(&a, 0, NULL, 0, msg, sizeof msg, ct2, sizeof ct2, &len2) == 0);
	CHECK(len2 == len && memcmp(ct, ct2, len) == 0 && a.n == 1);
	CHECK(noise_cipher_decrypt_at(&a, 0, NULL, 0, ct, len, pt, sizeof pt, &len2) == 0);
	CHECK(noise_cipher_decrypt_at(&a, 1, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1);
	CHECK(noise_cipher_decrypt_at(&a, 0, NULL, 0, ct, NOISE_TAGLEN - 1, pt, sizeof pt,
	                              &len2) == -1);
	CHECK(noise_cipher_encrypt(&a, NULL, 0, msg, sizeof msg, ct, sizeof msg + NOISE_TAGLEN - 1,
	                           &len) == -1 && a.n == 1);

	/* nonce 2^64-2 is the last one; 2^64-1 is refused everywhere */
	a.n = UINT64_MAX - 1;
	b.n = UINT64_MAX - 1;
	CHECK(noise_cipher_encrypt(&a, NULL, 0, msg, sizeof msg, ct, sizeof ct, &len) == 0);
	CHECK(a.n == UINT64_MAX);
	CHECK(noise_cipher_encrypt(&a, NULL, 0, msg, sizeof msg, ct2, sizeof ct2, &len2) == -1);
	CHECK(a.n == UINT64_MAX);
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == 0);
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1);
	CHECK(noise_cipher_encrypt_at(&a, UINT64_MAX, NULL, 0, msg, sizeof msg, ct, sizeof ct,
	                              &len) == -1);
	/* even a genuine ciphertext at the reserved nonce (built on libsodium directly) */
	CHECK(seal_at_max(k, msg, sizeof msg, ct, sizeof ct, &len) == 0);
	CHECK(noise_cipher_decrypt_at(&b, UINT64_MAX, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1);
	CHECK(b.n == UINT64_MAX);
	CHECK(noise_cipher_decrypt(&b, NULL, 0, ct, len, pt, sizeof pt, &len2) == -1);

	/* without a key the spec copies through and the nonce does not move */
	noise_cipher_init(&empty, NULL);
	CHECK(noise_cipher_encrypt(&empty, NULL, 0, msg, sizeof msg, ct, sizeof ct, &len) == 0);
	CHECK(len == sizeof msg && memcmp(ct, msg, len) == 0 && empty.n == 0);
	CHECK(noise_cipher_decrypt(&empty, NULL, 0, ct, len, pt, sizeof pt, &len2) == 0);
	CHECK(len2 == len && memcmp(pt, msg, len) == 0);
	CHECK(noise_cipher_encrypt(&empty, NULL, 0, msg, sizeof msg, ct, sizeof msg - 1, &len) == -1);
	CHECK(noise_cipher_rekey(&empty) == -1);

	noise_cipher_wipe(&a);
	noise_cipher_wipe(&b);
	sodium_memzero(k, sizeof k);
}

/* Rekey: REKEY(k) = ENCRYPT(k, 2^64-1, "", zeros[32])[0..32], checked directly on libsodium. */
static void test_rekey(void)
{
	struct noise_cipher a, b;
	uint8_t k[NOISE_KEYLEN], want[NOISE_KEYLEN + NOISE_TAGLEN], npub[12], zeros[32] = { 0 };
	uint8_t before[BUFSZ], after[BUFSZ], pt[BUFSZ];
	static const uint8_t msg[] = "rekey";
	size_t len = 0, len2 = 0;
	unsigned long long wlen = 0;

	randombytes_buf(k, sizeof k);
	noise_cipher_init(&a, k);
	noise_cipher_init(&b, k);
	a.n = b.n = 5;
	CHECK(noise_cipher_encrypt_at(&a, 5, NULL, 0, msg, sizeof msg, before, sizeof before,
	                              &len) == 0);
	CHECK(noise_cipher_rekey(&a) == 0 && noise_cipher_rekey(&b) == 0);
	CHECK(a.n == 5 && b.n == 5);
	CHECK(sodium_memcmp(a.k, b.k, NOISE_KEYLEN) == 0);
	CHECK(sodium_memcmp(a.k, k, NOISE_KEYLEN) != 0);

	memset(npub, 0, 4);
	memset(npub + 4, 0xff, 8);
	CHECK(crypto_aead_chacha20poly1305_ietf_encrypt(want, &wlen, zeros, sizeof zeros, NULL, 0,
	                                                NULL, npub, k) == 0);
	CHECK(sodium_memcmp(a.k, want, NOISE_KEYLEN) == 0);

	/* still in sync, and no longer the old key */
	CHECK(noise_cipher_encrypt(&a, NULL, 0, msg, sizeof msg, after, sizeof after, &len2) == 0);
	CHECK(len2 == len && memcmp(before, after, len) != 0);
	CHECK(noise_cipher_decrypt(&b, NULL, 0, after, len2, pt, sizeof pt, &len) == 0);
	CHECK(len == sizeof msg && memcmp(pt, msg, len) == 0);
	/* a peer that did not rekey cannot read it */
	noise_cipher_init(&b, k);
	b.n = 5;
	CHECK(noise_cipher_decrypt(&b, NULL, 0, after, len2, pt, sizeof pt, &len) == -1);

	noise_cipher_wipe(&a);
	noise_cipher_wipe(&b);
	sodium_memzero(k, sizeof k);
	sodium_memzero(want, sizeof want);
}

static void test_names(void)
{
	static const char *const bad[] = {
		"Noise_XX_25519_AESGCM_BLAKE2b",
		"Noise_XX_25519_ChaChaPoly_BLAKE2s",
		"Noise_XX_25519_ChaChaPoly_SHA256",
		"Noise_XX_448_ChaChaPoly_BLAKE2b",
		"Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXfallback+psk0_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk3+fallback_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXhfs_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk3+psk3_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk3+_25519_ChaChaPoly_BLAKE2b",
		"Noise_XX+psk3_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk03_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk003_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk10_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXpsk3psk2_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXX_25519_ChaChaPoly_BLAKE2b",
		"Noise_xx_25519_ChaChaPoly_BLAKE2b",
		"Noise__25519_ChaChaPoly_BLAKE2b",
		"Noise_XX_25519_ChaChaPoly_BLAKE2b_",
		"Noise_XX_25519_ChaChaPoly_BLAKE2",
		"noise_XX_25519_ChaChaPoly_BLAKE2b",
		"Noise_XX_foo_25519_ChaChaPoly_BLAKE2b",
		"Noise_25519_ChaChaPoly_BLAKE2b",
		"",
	};
	uint8_t s[NOISE_DHLEN];
	char longname[300];
	struct noise_hs *hs;

	randombytes_buf(s, sizeof s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		hs = noise_hs_new(bad[i], NOISE_INITIATOR, NULL, 0, s, NULL, keys.psk);
		CHECK(hs == NULL);
		noise_hs_destroy(&hs);
		hs = noise_hs_new(bad[i], NOISE_INITIATOR, NULL, 0, s, NULL, NULL);
		CHECK(hs == NULL);
		noise_hs_destroy(&hs);
	}
	/* over 255 characters */
	memset(longname, 0, sizeof longname);
	strcpy(longname, "Noise_XXpsk3");
	for (size_t i = strlen(longname); i < 260; i += 5)
		memcpy(longname + i, "+psk3", 5);
	strcat(longname, SUITE);
	CHECK(noise_hs_new(longname, NOISE_INITIATOR, NULL, 0, s, NULL, keys.psk) == NULL);
	CHECK(noise_hs_new(NULL, NOISE_INITIATOR, NULL, 0, s, NULL, NULL) == NULL);
	CHECK(noise_hs_new(XX, (enum noise_role)7, NULL, 0, s, NULL, NULL) == NULL);
	CHECK(noise_hs_new(XX, NOISE_INITIATOR, NULL, 5, s, NULL, NULL) == NULL);

	/* keys: exactly what the pattern uses */
	CHECK(noise_hs_new(XX, NOISE_INITIATOR, NULL, 0, NULL, NULL, NULL) == NULL);
	CHECK(noise_hs_new(XX, NOISE_INITIATOR, NULL, 0, s, keys.r_pub, NULL) == NULL);
	CHECK(noise_hs_new(XX, NOISE_INITIATOR, NULL, 0, s, NULL, keys.psk) == NULL);
	CHECK(noise_hs_new(XXPSK3, NOISE_RESPONDER, NULL, 0, s, NULL, NULL) == NULL);
	CHECK(noise_hs_new("Noise_IK" SUITE, NOISE_INITIATOR, NULL, 0, s, NULL, NULL) == NULL);
	CHECK(noise_hs_new("Noise_NN" SUITE, NOISE_INITIATOR, NULL, 0, s, NULL, NULL) == NULL);
	CHECK(noise_hs_new("Noise_N" SUITE, NOISE_RESPONDER, NULL, 0, NULL, NULL, NULL) == NULL);
	hs = noise_hs_new("Noise_NN" SUITE, NOISE_INITIATOR, NULL, 0, NULL, NULL, NULL);
	CHECK(hs != NULL);
	noise_hs_destroy(&hs);
	CHECK(hs == NULL);
	hs = noise_hs_new("Noise_NNpsk0+psk2" SUITE, NOISE_RESPONDER, NULL, 0, NULL, NULL,
	                  keys.psk);
	CHECK(hs != NULL);
	noise_hs_destroy(&hs);

	/* noise_hs_init: the same checks, plus the memory it is given and the public key */
	size_t sz = noise_hs_size();
	uint8_t *mem = sodium_malloc(sz + 16);
	CHECK(mem != NULL && sz > 0);
	if (mem) {
		CHECK(noise_hs_init(NULL, sz, XX, NOISE_INITIATOR, NULL, 0, s, NULL, NULL, NULL) ==
		      NULL);
		CHECK(noise_hs_init(mem, sz - 1, XX, NOISE_INITIATOR, NULL, 0, s, NULL, NULL, NULL) ==
		      NULL);
		CHECK(noise_hs_init(mem + 1, sz, XX, NOISE_INITIATOR, NULL, 0, s, NULL, NULL, NULL) ==
		      NULL);
		CHECK(noise_hs_init(mem, sz, XX, NOISE_INITIATOR, NULL, 0, s, NULL, NULL,
		                    keys.psk) == NULL);
		/* a public key without the private one */
		CHECK(noise_hs_init(mem, sz, "Noise_NN" SUITE, NOISE_INITIATOR, NULL, 0, NULL,
		                    keys.i_pub, NULL, NULL) == NULL);
		hs = noise_hs_init(mem, sz, XX, NOISE_INITIATOR, NULL, 0, keys.i_s, keys.i_pub, NULL,
		                   NULL);
		CHECK(hs == (struct noise_hs *)(void *)mem);
		noise_hs_destroy(&hs);          /* wipes only: mem is ours */
		CHECK(hs == NULL && sodium_is_zero(mem, sz));
		hs = noise_hs_init(mem, sz, XX, NOISE_INITIATOR, NULL, 0, keys.i_s, NULL, NULL, NULL);
		CHECK(hs != NULL);
		noise_hs_wipe(hs);
		CHECK(sodium_is_zero(mem, sz));
		noise_hs_wipe(NULL);
		sodium_free(mem);
	}
	sodium_memzero(s, sizeof s);
}

/* Two psk modifiers at once, and a one-way pattern, between two of our own parties. */
static void test_other_patterns(void)
{
	static const char multi[] = "Noise_NNpsk0+psk2" SUITE;
	struct noise_hs *i, *r;
	struct noise_transport ti, tr;
	uint8_t msg[BUFSZ], pl[BUFSZ], rs[NOISE_DHLEN];
	size_t len = 0, pllen = 0, n = 0, plen;
	const uint8_t *pt = payload(0, &plen);
	uint64_t ctr = 0;

	for (int wrong = 0; wrong < 2; wrong++) {
		i = noise_hs_new(multi, NOISE_INITIATOR, NULL, 0, NULL, NULL, keys.psk);
		r = noise_hs_new(multi, NOISE_RESPONDER, NULL, 0, NULL, NULL,
		                 wrong ? keys.psk_wrong : keys.psk);
		CHECK(i && r);
		CHECK(noise_hs_write(i, pt, plen, msg, sizeof msg, &len) == 0);
		/* psk0 keys the first message, so its payload already carries a tag */
		CHECK(len == NOISE_DHLEN + plen + NOISE_TAGLEN);
		CHECK((noise_hs_read(r, msg, len, pl, sizeof pl, &pllen) == 0) == !wrong);
		if (!wrong) {
			CHECK(noise_hs_write(r, pt, plen, msg, sizeof msg, &len) == 0);
			CHECK(noise_hs_read(i, msg, len, pl, sizeof pl, &pllen) == 0);
			CHECK(noise_hs_done(i) && noise_hs_done(r));
			CHECK(noise_hs_remote_static(i, rs) == -1);
		}
		noise_hs_destroy(&i);
		noise_hs_destroy(&r);
	}

	/* one-way N: the responder can only receive, the initiator only send */
	i = noise_hs_new("Noise_N" SUITE, NOISE_INITIATOR, NULL, 0, NULL, keys.r_pub, NULL);
	r = noise_hs_new("Noise_N" SUITE, NOISE_RESPONDER, NULL, 0, keys.r_s, NULL, NULL);
	CHECK(i && r);
	CHECK(noise_hs_split(i, &ti) == -1);    /* not done yet */
	CHECK(noise_hs_hash(i, pl) == -1);
	CHECK(noise_hs_write(i, pt, plen, msg, sizeof msg, &len) == 0);
	CHECK(noise_hs_read(r, msg, len, pl, sizeof pl, &pllen) == 0);
	CHECK(noise_hs_done(i) && noise_hs_done(r));
	CHECK(noise_hs_split(i, &ti) == 0 && noise_hs_split(r, &tr) == 0);
	CHECK(noise_transport_seal(&ti, NULL, 0, pt, plen, msg, sizeof msg, &len, &ctr) == 0);
	CHECK(noise_transport_open(&tr, ctr, NULL, 0, msg, len, pl, sizeof pl, &n) == 0);
	CHECK(n == plen && memcmp(pl, pt, plen) == 0);
	CHECK(noise_transport_seal(&tr, NULL, 0, pt, plen, msg, sizeof msg, &len, &ctr) == -1);
	CHECK(noise_transport_open(&ti, 0, NULL, 0, pt, plen, pl, sizeof pl, &n) == -1);
	noise_transport_wipe(&ti);
	noise_transport_wipe(&tr);
	noise_hs_destroy(&i);
	noise_hs_destroy(&r);
}

int main(int argc, char **argv)
{
	static const char *const mesh[] = { XX, XXPSK3 };

	if (sodium_init() < 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], "--vectors") == 0) {
		CHECK(argc > 2);
		for (int i = 2; i < argc; i++)
			test_vector_file(argv[i]);
		return testlib_done("test_noise --vectors");
	}
	if (argc > 1) {
		fprintf(stderr, "usage: test_noise [--vectors FILE...]\n");
		return 2;
	}
	make_keys();
	test_vectors();
	test_cipher();
	test_rekey();
	test_names();
	test_wrong_psk();
	test_low_order(XX);
	test_limits();
	test_other_patterns();
	for (size_t i = 0; i < 2; i++) {
		test_happy(mesh[i]);
		test_flip_and_truncate(mesh[i]);
		test_order_and_replay(mesh[i]);
		test_transport(mesh[i]);
	}
	test_low_order(XXPSK3);
	sodium_memzero(&keys, sizeof keys);
	return testlib_done("test_noise");
}
