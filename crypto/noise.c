/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * noise: Noise Protocol Framework revision 34, Noise_*_25519_ChaChaPoly_BLAKE2b only.
 *
 * Layers follow the spec: CipherState (section 5.1), SymmetricState (5.2) and HandshakeState
 * (5.3). The handshake is an interpreter: a pattern is a row of the table below, a pskN modifier
 * only inserts psk tokens into a copy of that row, so adding a pattern never adds code.
 *
 * Invariants:
 * - struct noise_hs holds no pointers, so a read can run on a byte copy and commit with memcpy.
 * - A handshake that failed once has been wiped and keeps only failed = true.
 * - Nonce 2^64-1 is never used for a message (spec 5.1); only Rekey encrypts with it.
 * - Every function returns 0 or -1 and never says which check failed.
 */
#include "noise.h"

#include "hkdf.h"

#include <sodium.h>
#include <string.h>

#if NOISE_KEYLEN != crypto_aead_chacha20poly1305_ietf_KEYBYTES || \
	NOISE_TAGLEN != crypto_aead_chacha20poly1305_ietf_ABYTES || \
	NOISE_HASHLEN != HKDF_HASHLEN || NOISE_BLOCKLEN != HKDF_BLOCKLEN || \
	NOISE_DHLEN != crypto_scalarmult_BYTES
#error "noise.h constants disagree with libsodium or hkdf.h"
#endif

/* ---- CipherState (spec section 5.1) ---------------------------------------------------- */

/* ChaChaPoly nonce (spec section 12.3): 32 bits of zeros, then n as 64-bit little-endian. */
static void nonce_bytes(uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t n)
{
	memset(npub, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
	for (int i = 0; i < 8; i++)
		npub[4 + i] = (uint8_t)(n >> (8 * i));
}

/* Raw ENCRYPT(k, n, ad, pt): no nonce policy here, so Rekey can use n = 2^64-1. */
static int aead_encrypt(const uint8_t k[NOISE_KEYLEN], uint64_t n, const uint8_t *ad,
                        size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap,
                        size_t *outlen)
{
	uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen = 0;

	if (cap < NOISE_TAGLEN || ptlen > cap - NOISE_TAGLEN ||
	    ptlen > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX || (ptlen > 0 && !pt))
		return -1;
	nonce_bytes(npub, n);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, ad, adlen, NULL,
	                                              npub, k) != 0)
		return -1;
	*outlen = (size_t)clen;
	return 0;
}

static int aead_decrypt(const uint8_t k[NOISE_KEYLEN], uint64_t n, const uint8_t *ad,
                        size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out, size_t cap,
                        size_t *outlen)
{
	uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long mlen = 0;

	if (ctlen < NOISE_TAGLEN || ctlen - NOISE_TAGLEN > cap || !ct)
		return -1;
	nonce_bytes(npub, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen, ad, adlen,
	                                              npub, k) != 0) {
		/* never hand back bytes that failed authentication */
		if (out && ctlen > NOISE_TAGLEN)
			sodium_memzero(out, ctlen - NOISE_TAGLEN);
		return -1;
	}
	*outlen = (size_t)mlen;
	return 0;
}

/* Without a key the spec passes bytes through unchanged (the first handshake tokens). */
static int copy_through(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	if (len > cap || (len > 0 && (!in || !out)))
		return -1;
	if (len > 0)
		memmove(out, in, len);
	*outlen = len;
	return 0;
}

/* k NULL leaves the cipher empty (spec InitializeKey(empty)). */
void noise_cipher_init(struct noise_cipher *cs, const uint8_t k[NOISE_KEYLEN])
{
	if (!cs)
		return;
	sodium_memzero(cs, sizeof *cs);
	if (k) {
		memcpy(cs->k, k, NOISE_KEYLEN);
		cs->has_key = true;
	}
}

int noise_cipher_encrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap, size_t *outlen)
{
	if (!cs || !outlen || (!out && cap > 0) || (adlen > 0 && !ad))
		return -1;
	*outlen = 0;
	if (!cs->has_key)
		return copy_through(pt, ptlen, out, cap, outlen);
	if (cs->n == NOISE_NONCE_MAX)
		return -1;
	if (aead_encrypt(cs->k, cs->n, ad, adlen, pt, ptlen, out, cap, outlen) != 0)
		return -1;
	cs->n++;
	return 0;
}

int noise_cipher_decrypt(struct noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *ct, size_t ctlen, uint8_t *out, size_t cap, size_t *outlen)
{
	if (!cs || !outlen || (!out && cap > 0) || (adlen > 0 && !ad))
		return -1;
	*outlen = 0;
	if (!cs->has_key)
		return copy_through(ct, ctlen, out, cap, outlen);
	if (cs->n == NOISE_NONCE_MAX)
		return -1;
	/* spec 5.1: a failed decryption leaves n where it was */
	if (aead_decrypt(cs->k, cs->n, ad, adlen, ct, ctlen, out, cap, outlen) != 0)
		return -1;
	cs->n++;
	return 0;
}

int noise_cipher_encrypt_at(const struct noise_cipher *cs, uint64_t n, const uint8_t *ad,
                            size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *out,
                            size_t cap, size_t *outlen)
{
	if (!cs || !outlen || (!out && cap > 0) || (adlen > 0 && !ad))
		return -1;
	*outlen = 0;
	if (!cs->has_key)
		return copy_through(pt, ptlen, out, cap, outlen);
	if (n == NOISE_NONCE_MAX)
		return -1;
	return aead_encrypt(cs->k, n, ad, adlen, pt, ptlen, out, cap, outlen);
}

int noise_cipher_decrypt_at(const struct noise_cipher *cs, uint64_t n, const uint8_t *ad,
                            size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out,
                            size_t cap, size_t *outlen)
{
	if (!cs || !outlen || (!out && cap > 0) || (adlen > 0 && !ad))
		return -1;
	*outlen = 0;
	if (!cs->has_key)
		return copy_through(ct, ctlen, out, cap, outlen);
	if (n == NOISE_NONCE_MAX)
		return -1;
	return aead_decrypt(cs->k, n, ad, adlen, ct, ctlen, out, cap, outlen);
}

int noise_cipher_rekey(struct noise_cipher *cs)
{
	static const uint8_t zeros[NOISE_KEYLEN];
	uint8_t buf[NOISE_KEYLEN + NOISE_TAGLEN];
	size_t len = 0;
	int rc = -1;

	if (!cs || !cs->has_key)
		return -1;
	/* spec 4.2: the one use of the reserved nonce; n itself is left alone */
	if (aead_encrypt(cs->k, NOISE_NONCE_MAX, NULL, 0, zeros, sizeof zeros, buf, sizeof buf,
	                 &len) != 0 || len != sizeof buf)
		goto done;
	memcpy(cs->k, buf, NOISE_KEYLEN);
	rc = 0;
done:
	sodium_memzero(buf, sizeof buf);
	return rc;
}

void noise_cipher_wipe(struct noise_cipher *cs)
{
	if (cs)
		sodium_memzero(cs, sizeof *cs);
}

/* ---- Transport with explicit counters --------------------------------------------------- */

/*
 * A keyless direction (the unused one of a one-way pattern, or a zeroed struct) must never fall
 * back to the spec's copy-through: that would put plaintext on the wire.
 */
int noise_transport_seal(struct noise_transport *t, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap,
                         size_t *outlen, uint64_t *counter)
{
	if (!t || !outlen || !counter)
		return -1;
	*outlen = 0;
	if (!t->send.has_key || t->send_next == NOISE_NONCE_MAX ||
	    ptlen > NOISE_MAX_MSG - NOISE_TAGLEN)
		return -1;
	if (noise_cipher_encrypt_at(&t->send, t->send_next, ad, adlen, pt, ptlen, out, cap,
	                            outlen) != 0)
		return -1;
	*counter = t->send_next++;
	return 0;
}

int noise_transport_next_counter(const struct noise_transport *t, uint64_t *counter)
{
	if (!t || !counter || !t->send.has_key || t->send_next == NOISE_NONCE_MAX)
		return -1;
	*counter = t->send_next;
	return 0;
}

int noise_transport_open(struct noise_transport *t, uint64_t counter, const uint8_t *ad,
                         size_t adlen, const uint8_t *ct, size_t ctlen, uint8_t *out,
                         size_t cap, size_t *outlen)
{
	if (!t || !outlen)
		return -1;
	*outlen = 0;
	if (!t->recv.has_key || counter == NOISE_NONCE_MAX || ctlen > NOISE_MAX_MSG)
		return -1;
	/* replayed or reordered: only strictly newer counters, so each one decrypts at most once */
	if (t->recv_any && counter <= t->recv_last)
		return -1;
	if (noise_cipher_decrypt_at(&t->recv, counter, ad, adlen, ct, ctlen, out, cap,
	                            outlen) != 0)
		return -1;
	t->recv_last = counter;
	t->recv_any = true;
	return 0;
}

void noise_transport_wipe(struct noise_transport *t)
{
	if (t)
		sodium_memzero(t, sizeof *t);
}

int noise_transport_keys(const struct noise_transport *t, uint8_t send[NOISE_KEYLEN],
                         uint8_t recv[NOISE_KEYLEN])
{
	if (!t || !send || !recv || !t->send.has_key || !t->recv.has_key)
		return -1;
	memcpy(send, t->send.k, NOISE_KEYLEN);
	memcpy(recv, t->recv.k, NOISE_KEYLEN);
	return 0;
}

/* ---- SymmetricState (spec section 5.2) -------------------------------------------------- */

struct symmetric {
	struct noise_cipher cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
};

static void initialize_symmetric(struct symmetric *ss, const char *name, size_t len)
{
	sodium_memzero(ss, sizeof *ss);
	if (len <= NOISE_HASHLEN)
		memcpy(ss->h, name, len);
	else
		crypto_generichash(ss->h, NOISE_HASHLEN, (const uint8_t *)name, len, NULL, 0);
	memcpy(ss->ck, ss->h, NOISE_HASHLEN);
	noise_cipher_init(&ss->cs, NULL);
}

static void mix_hash(struct symmetric *ss, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, ss->h, NOISE_HASHLEN);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, ss->h, NOISE_HASHLEN);
	sodium_memzero(&st, sizeof st);
}

static int mix_key(struct symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASHLEN];
	int rc = -1;

	if (hkdf_noise(ss->ck, ikm, len, ss->ck, temp_k, NULL) != 0)
		goto done;
	/* HASHLEN 64 > 32: the cipher key is the first 32 bytes */
	noise_cipher_init(&ss->cs, temp_k);
	rc = 0;
done:
	sodium_memzero(temp_k, sizeof temp_k);
	return rc;
}

static int mix_key_and_hash(struct symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[NOISE_HASHLEN];
	uint8_t temp_k[NOISE_HASHLEN];
	int rc = -1;

	if (hkdf_noise(ss->ck, ikm, len, ss->ck, temp_h, temp_k) != 0)
		goto done;
	mix_hash(ss, temp_h, sizeof temp_h);
	noise_cipher_init(&ss->cs, temp_k);
	rc = 0;
done:
	sodium_memzero(temp_h, sizeof temp_h);
	sodium_memzero(temp_k, sizeof temp_k);
	return rc;
}

static int encrypt_and_hash(struct symmetric *ss, const uint8_t *pt, size_t ptlen, uint8_t *out,
                            size_t cap, size_t *outlen)
{
	if (noise_cipher_encrypt(&ss->cs, ss->h, NOISE_HASHLEN, pt, ptlen, out, cap, outlen) != 0)
		return -1;
	mix_hash(ss, out, *outlen);
	return 0;
}

/*
 * h must absorb the ciphertext, but decrypting in place (out == ct) overwrites it: so the next h
 * is computed first and only committed once the ciphertext authenticated.
 */
static int decrypt_and_hash(struct symmetric *ss, const uint8_t *ct, size_t ctlen, uint8_t *out,
                            size_t cap, size_t *outlen)
{
	struct symmetric next;
	int rc = -1;

	memcpy(next.h, ss->h, NOISE_HASHLEN);
	mix_hash(&next, ct, ctlen);
	if (noise_cipher_decrypt(&ss->cs, ss->h, NOISE_HASHLEN, ct, ctlen, out, cap, outlen) != 0)
		goto done;
	memcpy(ss->h, next.h, NOISE_HASHLEN);
	rc = 0;
done:
	sodium_memzero(&next, sizeof next);
	return rc;
}

static int split(const struct symmetric *ss, struct noise_cipher *c1, struct noise_cipher *c2)
{
	uint8_t k1[NOISE_HASHLEN];
	uint8_t k2[NOISE_HASHLEN];
	int rc = -1;

	if (hkdf_noise(ss->ck, NULL, 0, k1, k2, NULL) != 0)
		goto done;
	noise_cipher_init(c1, k1);
	noise_cipher_init(c2, k2);
	rc = 0;
done:
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
	return rc;
}

/* ---- Pattern tables (spec sections 7.4 to 7.6) ---------------------------------- */

enum token { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

#define HS_MAX_MSGS 4
/* The longest base message has 5 tokens; psk modifiers add at most 2, plus a T_END. */
#define HS_MAX_TOKENS 8
#define HS_MAX_PATTERN_NAME 8

struct pattern {
	const char *name;
	bool pre_i_s;        /* -> s: the responder knows the initiator's static beforehand */
	bool pre_r_s;        /* <- s: the initiator knows the responder's static beforehand */
	bool one_way;
	uint8_t nmsgs;
	uint8_t msgs[HS_MAX_MSGS][HS_MAX_TOKENS];
};

/* Messages alternate, the initiator writing the even ones (index 0, 2, ...). */
static const struct pattern patterns[] = {
	/* one-way (7.4) */
	{ "N", false, true, true, 1, { { T_E, T_ES } } },
	{ "K", true, true, true, 1, { { T_E, T_ES, T_SS } } },
	{ "X", false, true, true, 1, { { T_E, T_ES, T_S, T_SS } } },
	/* interactive fundamental (7.5) */
	{ "NN", false, false, false, 2, { { T_E }, { T_E, T_EE } } },
	{ "NK", false, true, false, 2, { { T_E, T_ES }, { T_E, T_EE } } },
	{ "NX", false, false, false, 2, { { T_E }, { T_E, T_EE, T_S, T_ES } } },
	{ "KN", true, false, false, 2, { { T_E }, { T_E, T_EE, T_SE } } },
	{ "KK", true, true, false, 2, { { T_E, T_ES, T_SS }, { T_E, T_EE, T_SE } } },
	{ "KX", true, false, false, 2, { { T_E }, { T_E, T_EE, T_SE, T_S, T_ES } } },
	{ "XN", false, false, false, 3, { { T_E }, { T_E, T_EE }, { T_S, T_SE } } },
	{ "XK", false, true, false, 3, { { T_E, T_ES }, { T_E, T_EE }, { T_S, T_SE } } },
	{ "XX", false, false, false, 3, { { T_E }, { T_E, T_EE, T_S, T_ES }, { T_S, T_SE } } },
	{ "IN", false, false, false, 2, { { T_E, T_S }, { T_E, T_EE, T_SE } } },
	{ "IK", false, true, false, 2, { { T_E, T_ES, T_S, T_SS }, { T_E, T_EE, T_SE } } },
	{ "IX", false, false, false, 2, { { T_E, T_S }, { T_E, T_EE, T_SE, T_S, T_ES } } },
	/* deferred (7.6) */
	{ "NK1", false, true, false, 2, { { T_E }, { T_E, T_EE, T_ES } } },
	{ "NX1", false, false, false, 3, { { T_E }, { T_E, T_EE, T_S }, { T_ES } } },
	{ "X1N", false, false, false, 4, { { T_E }, { T_E, T_EE }, { T_S }, { T_SE } } },
	{ "X1K", false, true, false, 4, { { T_E, T_ES }, { T_E, T_EE }, { T_S }, { T_SE } } },
	{ "XK1", false, true, false, 3, { { T_E }, { T_E, T_EE, T_ES }, { T_S, T_SE } } },
	{ "X1K1", false, true, false, 4, { { T_E }, { T_E, T_EE, T_ES }, { T_S }, { T_SE } } },
	{ "X1X", false, false, false, 4,
	  { { T_E }, { T_E, T_EE, T_S, T_ES }, { T_S }, { T_SE } } },
	{ "XX1", false, false, false, 3, { { T_E }, { T_E, T_EE, T_S }, { T_ES, T_S, T_SE } } },
	{ "X1X1", false, false, false, 4, { { T_E }, { T_E, T_EE, T_S }, { T_ES, T_S }, { T_SE } } },
	{ "K1N", true, false, false, 3, { { T_E }, { T_E, T_EE }, { T_SE } } },
	{ "K1K", true, true, false, 3, { { T_E, T_ES }, { T_E, T_EE }, { T_SE } } },
	{ "KK1", true, true, false, 2, { { T_E }, { T_E, T_EE, T_SE, T_ES } } },
	{ "K1K1", true, true, false, 3, { { T_E }, { T_E, T_EE, T_ES }, { T_SE } } },
	{ "K1X", true, false, false, 3, { { T_E }, { T_E, T_EE, T_S, T_ES }, { T_SE } } },
	{ "KX1", true, false, false, 3, { { T_E }, { T_E, T_EE, T_SE, T_S }, { T_ES } } },
	{ "K1X1", true, false, false, 3, { { T_E }, { T_E, T_EE, T_S }, { T_SE, T_ES } } },
	{ "I1N", false, false, false, 3, { { T_E, T_S }, { T_E, T_EE }, { T_SE } } },
	{ "I1K", false, true, false, 3, { { T_E, T_ES, T_S }, { T_E, T_EE }, { T_SE } } },
	{ "IK1", false, true, false, 2, { { T_E, T_S }, { T_E, T_EE, T_SE, T_ES } } },
	{ "I1K1", false, true, false, 3, { { T_E, T_S }, { T_E, T_EE, T_ES }, { T_SE } } },
	{ "I1X", false, false, false, 3, { { T_E, T_S }, { T_E, T_EE, T_S, T_ES }, { T_SE } } },
	{ "IX1", false, false, false, 3, { { T_E, T_S }, { T_E, T_EE, T_SE, T_S }, { T_ES } } },
	{ "I1X1", false, false, false, 3, { { T_E, T_S }, { T_E, T_EE, T_S }, { T_SE, T_ES } } },
};

/* ---- HandshakeState (spec section 5.3) -------------------------------------------------- */

struct noise_hs {
	struct symmetric ss;
	uint8_t tokens[HS_MAX_MSGS][HS_MAX_TOKENS];
	uint8_t nmsgs;
	uint8_t next;            /* index of the next message to write or read */
	bool one_way;
	bool psk_mode;           /* any pskN modifier: e tokens also MixKey (spec 9.2) */
	bool done;
	bool failed;
	bool owned;              /* sodium_malloc'd by noise_hs_new (else the caller's memory) */
	enum noise_role role;
	bool has_s, has_e, has_rs, has_re;
	uint8_t s_priv[NOISE_DHLEN], s_pub[NOISE_DHLEN];
	uint8_t e_priv[NOISE_DHLEN], e_pub[NOISE_DHLEN];
	uint8_t rs[NOISE_DHLEN], re[NOISE_DHLEN];
	uint8_t psk[NOISE_PSKLEN];
#ifdef NOISE_TEST_HOOKS
	bool has_fixed_e;
	uint8_t fixed_e[NOISE_DHLEN];
#endif
};

/* Everything after the fixed prefix and suffix, e.g. "XXpsk3" or "NNpsk0+psk2". */
struct parsed_name {
	const struct pattern *pat;
	unsigned psk_mask;       /* bit N set for modifier pskN */
};

static const struct pattern *find_pattern(const char *base, size_t len)
{
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
		if (strlen(patterns[i].name) == len && memcmp(patterns[i].name, base, len) == 0)
			return &patterns[i];
	return NULL;
}

static bool is_base_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Modifiers are "pskN" joined by '+'; anything else (fallback, hfs, ...) is refused. */
static int parse_pattern(const char *p, size_t len, struct parsed_name *out)
{
	size_t i = 0;

	while (i < len && is_base_char(p[i]))
		i++;
	if (i == 0 || i > HS_MAX_PATTERN_NAME)
		return -1;
	out->pat = find_pattern(p, i);
	out->psk_mask = 0;
	if (!out->pat)
		return -1;
	if (i == len)
		return 0;
	for (;;) {
		unsigned n;

		/* one digit is enough: no pattern has more than HS_MAX_MSGS messages */
		if (len - i < 4 || memcmp(p + i, "psk", 3) != 0 || p[i + 3] < '0' || p[i + 3] > '9')
			return -1;
		n = (unsigned)(p[i + 3] - '0');
		i += 4;
		if (n > out->pat->nmsgs || (out->psk_mask & (1u << n)))
			return -1;
		out->psk_mask |= 1u << n;
		if (i == len)
			return 0;
		if (p[i] != '+')
			return -1;
		i++;
	}
}

static int parse_name(const char *name, struct parsed_name *out)
{
	static const char prefix[] = "Noise_";
	static const char suffix[] = "_25519_ChaChaPoly_BLAKE2b";
	const size_t plen = sizeof prefix - 1, slen = sizeof suffix - 1;
	size_t len = strnlen(name, NOISE_MAX_PROTOCOL_NAME + 1);

	if (len > NOISE_MAX_PROTOCOL_NAME || len <= plen + slen)
		return -1;
	if (memcmp(name, prefix, plen) != 0 || memcmp(name + len - slen, suffix, slen) != 0)
		return -1;
	return parse_pattern(name + plen, len - plen - slen, out);
}

static int append_token(uint8_t msg[HS_MAX_TOKENS], uint8_t tok, bool at_start)
{
	size_t n = 0;

	while (n < HS_MAX_TOKENS && msg[n] != T_END)
		n++;
	if (n + 1 >= HS_MAX_TOKENS)
		return -1;       /* keep a T_END terminator */
	if (at_start) {
		memmove(msg + 1, msg, n);
		msg[0] = tok;
	} else {
		msg[n] = tok;
	}
	return 0;
}

/* psk0 opens the first message; pskN (N >= 1) closes message N (spec 9.4). */
static int build_tokens(struct noise_hs *hs, const struct parsed_name *pn)
{
	memcpy(hs->tokens, pn->pat->msgs, sizeof hs->tokens);
	hs->nmsgs = pn->pat->nmsgs;
	hs->one_way = pn->pat->one_way;
	hs->psk_mode = pn->psk_mask != 0;
	for (unsigned n = 0; n <= pn->pat->nmsgs; n++) {
		if (!(pn->psk_mask & (1u << n)))
			continue;
		if (append_token(hs->tokens[n == 0 ? 0 : n - 1], T_PSK, n == 0) != 0)
			return -1;
	}
	return 0;
}

static bool sends_message(enum noise_role role, unsigned idx)
{
	return (idx % 2 == 0) == (role == NOISE_INITIATOR);
}

/* Our static is needed when a pre-message or one of our messages carries it. */
static bool needs_local_static(const struct pattern *pat, enum noise_role role)
{
	if (role == NOISE_INITIATOR ? pat->pre_i_s : pat->pre_r_s)
		return true;
	for (unsigned m = 0; m < pat->nmsgs; m++) {
		if (!sends_message(role, m))
			continue;
		for (unsigned t = 0; t < HS_MAX_TOKENS; t++)
			if (pat->msgs[m][t] == T_S)
				return true;
	}
	return false;
}

size_t noise_hs_size(void)
{
	return sizeof(struct noise_hs);
}

/* Checks the arguments and fills the zeroed state hs; -1 leaves it to be wiped. */
static int hs_setup(struct noise_hs *hs, const char *protocol_name, enum noise_role role,
                    const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
                    const uint8_t *s_pub, const uint8_t *rs, const uint8_t *psk)
{
	struct parsed_name pn;
	bool need_s, need_rs;

	if (!protocol_name || (prologue_len > 0 && !prologue))
		return -1;
	if (role != NOISE_INITIATOR && role != NOISE_RESPONDER)
		return -1;
	if (parse_name(protocol_name, &pn) != 0)
		return -1;

	/*
	 * A key the pattern does not use is a caller mistake worth refusing: an rs passed to XX
	 * would look like pinning the peer while authenticating nothing.
	 */
	need_s = needs_local_static(pn.pat, role);
	need_rs = role == NOISE_INITIATOR ? pn.pat->pre_r_s : pn.pat->pre_i_s;
	if (need_s != (s_priv != NULL) || need_rs != (rs != NULL) ||
	    (pn.psk_mask != 0) != (psk != NULL) || (s_pub && !s_priv))
		return -1;

	hs->role = role;
	if (build_tokens(hs, &pn) != 0)
		return -1;
	if (s_priv) {
		memcpy(hs->s_priv, s_priv, NOISE_DHLEN);
		/* the caller's copy saves an X25519 multiplication per handshake */
		if (s_pub)
			memcpy(hs->s_pub, s_pub, NOISE_DHLEN);
		else if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0)
			return -1;
		hs->has_s = true;
	}
	if (rs) {
		memcpy(hs->rs, rs, NOISE_DHLEN);
		hs->has_rs = true;
	}
	if (psk)
		memcpy(hs->psk, psk, NOISE_PSKLEN);

	initialize_symmetric(&hs->ss, protocol_name, strlen(protocol_name));
	mix_hash(&hs->ss, prologue, prologue_len);
	/* pre-messages: the initiator's key first, then the responder's (spec 5.3) */
	if (pn.pat->pre_i_s)
		mix_hash(&hs->ss, role == NOISE_INITIATOR ? hs->s_pub : hs->rs, NOISE_DHLEN);
	if (pn.pat->pre_r_s)
		mix_hash(&hs->ss, role == NOISE_RESPONDER ? hs->s_pub : hs->rs, NOISE_DHLEN);
	return 0;
}

struct noise_hs *noise_hs_new(const char *protocol_name, enum noise_role role,
                              const uint8_t *prologue, size_t prologue_len,
                              const uint8_t *s_priv, const uint8_t *rs, const uint8_t *psk)
{
	struct noise_hs *hs;

	if (sodium_init() < 0)
		return NULL;
	hs = sodium_malloc(sizeof *hs);
	if (!hs)
		return NULL;
	sodium_memzero(hs, sizeof *hs);
	hs->owned = true;
	if (hs_setup(hs, protocol_name, role, prologue, prologue_len, s_priv, NULL, rs, psk) != 0)
		noise_hs_destroy(&hs);
	return hs;
}

struct noise_hs *noise_hs_init(void *mem, size_t memlen, const char *protocol_name,
                               enum noise_role role, const uint8_t *prologue,
                               size_t prologue_len, const uint8_t *s_priv,
                               const uint8_t *s_pub, const uint8_t *rs, const uint8_t *psk)
{
	struct noise_hs *hs = mem;

	if (!mem || memlen < sizeof *hs || (uintptr_t)mem % _Alignof(struct noise_hs) != 0 ||
	    sodium_init() < 0)
		return NULL;
	sodium_memzero(hs, sizeof *hs);
	if (hs_setup(hs, protocol_name, role, prologue, prologue_len, s_priv, s_pub, rs,
	             psk) != 0) {
		sodium_memzero(hs, sizeof *hs);
		return NULL;
	}
	return hs;
}

void noise_hs_wipe(struct noise_hs *hs)
{
	if (hs)
		sodium_memzero(hs, sizeof *hs);
}

void noise_hs_destroy(struct noise_hs **hsp)
{
	if (!hsp || !*hsp)
		return;
	bool owned = (*hsp)->owned;
	sodium_memzero(*hsp, sizeof **hsp);
	/* a state in the caller's memory is only wiped: the memory is the caller's to free */
	if (owned)
		sodium_free(*hsp);
	*hsp = NULL;
}

bool noise_hs_my_turn(const struct noise_hs *hs)
{
	return hs && !hs->failed && !hs->done && sends_message(hs->role, hs->next);
}

bool noise_hs_done(const struct noise_hs *hs)
{
	return hs && !hs->failed && hs->done;
}

bool noise_hs_failed(const struct noise_hs *hs)
{
	return !hs || hs->failed;
}

/* Terminal: nothing of the handshake survives, so no later call can use a half-run state. */
static void fail_hs(struct noise_hs *hs)
{
	bool owned = hs->owned;
	sodium_memzero(hs, sizeof *hs);
	hs->failed = true;
	hs->owned = owned;
}

/* DH (spec 12.1); libsodium refuses an all-zero result, i.e. a low-order point from the peer. */
static int mix_dh(struct symmetric *ss, bool have_sk, const uint8_t sk[NOISE_DHLEN],
                  bool have_pk, const uint8_t pk[NOISE_DHLEN])
{
	uint8_t shared[NOISE_DHLEN];
	int rc = -1;

	if (!have_sk || !have_pk)
		goto done;
	if (crypto_scalarmult(shared, sk, pk) != 0)
		goto done;
	rc = mix_key(ss, shared, sizeof shared);
done:
	sodium_memzero(shared, sizeof shared);
	return rc;
}

/* ee, es, se, ss: the letters name initiator's key then responder's key (spec 7.1). */
static int dh_token(struct noise_hs *hs, uint8_t tok)
{
	bool init = hs->role == NOISE_INITIATOR;

	switch (tok) {
	case T_EE:
		return mix_dh(&hs->ss, hs->has_e, hs->e_priv, hs->has_re, hs->re);
	case T_ES:
		return init ? mix_dh(&hs->ss, hs->has_e, hs->e_priv, hs->has_rs, hs->rs)
		            : mix_dh(&hs->ss, hs->has_s, hs->s_priv, hs->has_re, hs->re);
	case T_SE:
		return init ? mix_dh(&hs->ss, hs->has_s, hs->s_priv, hs->has_re, hs->re)
		            : mix_dh(&hs->ss, hs->has_e, hs->e_priv, hs->has_rs, hs->rs);
	case T_SS:
		return mix_dh(&hs->ss, hs->has_s, hs->s_priv, hs->has_rs, hs->rs);
	default:
		return -1;
	}
}

static int generate_ephemeral(struct noise_hs *hs)
{
	randombytes_buf(hs->e_priv, sizeof hs->e_priv);
#ifdef NOISE_TEST_HOOKS
	if (hs->has_fixed_e) {
		memcpy(hs->e_priv, hs->fixed_e, NOISE_DHLEN);
		sodium_memzero(hs->fixed_e, sizeof hs->fixed_e);
		hs->has_fixed_e = false;
	}
#endif
	if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0)
		return -1;
	hs->has_e = true;
	return 0;
}

/* Write cursor over the caller's buffer: every append checks the room left first. */
struct wr {
	uint8_t *p;
	size_t left;
	size_t len;
};

static int wr_put(struct wr *w, const uint8_t *data, size_t n)
{
	if (n > w->left)
		return -1;
	memcpy(w->p + w->len, data, n);
	w->len += n;
	w->left -= n;
	return 0;
}

static int wr_encrypt_and_hash(struct wr *w, struct symmetric *ss, const uint8_t *pt, size_t n)
{
	size_t got = 0;

	if (encrypt_and_hash(ss, pt, n, w->p + w->len, w->left, &got) != 0)
		return -1;
	w->len += got;
	w->left -= got;
	return 0;
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len,
                   uint8_t *out, size_t cap, size_t *outlen)
{
	struct wr w = { out, cap, 0 };
	int rc = -1;

	if (!hs)
		return -1;
	if (outlen)
		*outlen = 0;
	if (!outlen || !out || (payload_len > 0 && !payload) || payload_len > NOISE_MAX_MSG)
		goto done;
	if (!noise_hs_my_turn(hs))
		goto done;

	for (unsigned i = 0; i < HS_MAX_TOKENS && hs->tokens[hs->next][i] != T_END; i++) {
		uint8_t tok = hs->tokens[hs->next][i];

		switch (tok) {
		case T_E:       /* -> e: fresh key, sent in clear, bound into h (and k under psk) */
			if (hs->has_e || generate_ephemeral(hs) != 0 ||
			    wr_put(&w, hs->e_pub, NOISE_DHLEN) != 0)
				goto done;
			mix_hash(&hs->ss, hs->e_pub, NOISE_DHLEN);
			if (hs->psk_mode && mix_key(&hs->ss, hs->e_pub, NOISE_DHLEN) != 0)
				goto done;
			break;
		case T_S:       /* -> s: encrypted once a key exists */
			if (!hs->has_s || wr_encrypt_and_hash(&w, &hs->ss, hs->s_pub, NOISE_DHLEN) != 0)
				goto done;
			break;
		case T_PSK:     /* psk */
			if (mix_key_and_hash(&hs->ss, hs->psk, NOISE_PSKLEN) != 0)
				goto done;
			break;
		case T_EE:      /* ee */
		case T_ES:      /* es */
		case T_SE:      /* se */
		case T_SS:      /* ss */
			if (dh_token(hs, tok) != 0)
				goto done;
			break;
		default:
			goto done;
		}
	}
	if (wr_encrypt_and_hash(&w, &hs->ss, payload, payload_len) != 0)
		goto done;
	if (w.len > NOISE_MAX_MSG)
		goto done;

	if (++hs->next == hs->nmsgs)
		hs->done = true;
	*outlen = w.len;
	rc = 0;
done:
	if (rc != 0) {
		fail_hs(hs);
		if (out && cap > 0)
			sodium_memzero(out, cap);
	}
	return rc;
}

/* Read cursor over peer bytes: fails once and stays failed; tested at each use. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t msg_len,
                  uint8_t *payload, size_t cap, size_t *payload_len)
{
	struct noise_hs scratch;
	struct rd r = { msg, msg_len, false };
	struct noise_hs *x = &scratch;
	int rc = -1;

	if (!hs)
		return -1;
	memcpy(&scratch, hs, sizeof scratch);
	if (payload_len)
		*payload_len = 0;
	if (!payload_len || !msg || (!payload && cap > 0) || msg_len > NOISE_MAX_MSG)
		goto done;
	if (x->failed || x->done || sends_message(x->role, x->next))
		goto done;

	for (unsigned i = 0; i < HS_MAX_TOKENS && x->tokens[x->next][i] != T_END; i++) {
		uint8_t tok = x->tokens[x->next][i];
		const uint8_t *raw;

		switch (tok) {
		case T_E:       /* <- e */
			if (x->has_re || !(raw = rd_take(&r, NOISE_DHLEN)))
				goto done;
			memcpy(x->re, raw, NOISE_DHLEN);
			x->has_re = true;
			mix_hash(&x->ss, x->re, NOISE_DHLEN);
			if (x->psk_mode && mix_key(&x->ss, x->re, NOISE_DHLEN) != 0)
				goto done;
			break;
		case T_S: {     /* <- s: carries a tag once a key exists */
			size_t n = NOISE_DHLEN + (x->ss.cs.has_key ? NOISE_TAGLEN : 0);
			size_t got = 0;

			if (x->has_rs || !(raw = rd_take(&r, n)))
				goto done;
			if (decrypt_and_hash(&x->ss, raw, n, x->rs, NOISE_DHLEN, &got) != 0 ||
			    got != NOISE_DHLEN)
				goto done;
			x->has_rs = true;
			break;
		}
		case T_PSK:     /* psk */
			if (mix_key_and_hash(&x->ss, x->psk, NOISE_PSKLEN) != 0)
				goto done;
			break;
		case T_EE:      /* ee */
		case T_ES:      /* es */
		case T_SE:      /* se */
		case T_SS:      /* ss */
			if (dh_token(x, tok) != 0)
				goto done;
			break;
		default:
			goto done;
		}
	}
	/* the rest is the payload: empty is fine, a short tag is not (decrypt checks) */
	if (r.bad || decrypt_and_hash(&x->ss, r.p, r.left, payload, cap, payload_len) != 0)
		goto done;

	if (++x->next == x->nmsgs)
		x->done = true;
	memcpy(hs, &scratch, sizeof *hs);
	rc = 0;
done:
	sodium_memzero(&scratch, sizeof scratch);
	if (rc != 0) {
		fail_hs(hs);
		if (payload_len)
			*payload_len = 0;
		if (payload && cap > 0)
			sodium_memzero(payload, cap);
	}
	return rc;
}

int noise_hs_split(struct noise_hs *hs, struct noise_transport *t)
{
	struct noise_cipher c1, c2;
	int rc = -1;

	if (!hs || !t || !noise_hs_done(hs))
		return -1;
	if (split(&hs->ss, &c1, &c2) != 0)
		goto done;
	sodium_memzero(t, sizeof *t);
	if (hs->role == NOISE_INITIATOR) {
		t->send = c1;
		t->recv = c2;
	} else {
		t->send = c2;
		t->recv = c1;
	}
	/* one-way: only the initiator -> responder direction exists (spec 7.4) */
	if (hs->one_way)
		noise_cipher_wipe(hs->role == NOISE_INITIATOR ? &t->recv : &t->send);
	rc = 0;
done:
	sodium_memzero(&c1, sizeof c1);
	sodium_memzero(&c2, sizeof c2);
	return rc;
}

int noise_hs_hash(const struct noise_hs *hs, uint8_t out[NOISE_HASHLEN])
{
	if (!out || !noise_hs_done(hs))
		return -1;
	memcpy(out, hs->ss.h, NOISE_HASHLEN);
	return 0;
}

int noise_hs_remote_static(const struct noise_hs *hs, uint8_t out[NOISE_DHLEN])
{
	if (!out || !hs || hs->failed || !hs->has_rs)
		return -1;
	memcpy(out, hs->rs, NOISE_DHLEN);
	return 0;
}

#ifdef NOISE_TEST_HOOKS
int noise_hs_test_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DHLEN])
{
	if (!hs || !e_priv || hs->failed)
		return -1;
	memcpy(hs->fixed_e, e_priv, NOISE_DHLEN);
	hs->has_fixed_e = true;
	return 0;
}
#endif
