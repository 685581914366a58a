/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * discovery: beacons over the datagram transport of mcast.h. The transport carries bytes; this
 * file signs, seals, opens and verifies them.
 */
#include "discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

struct discovery {
	const struct mcast_ops *ops;
	void *t;                    /* the transport's */
	struct in_addr ifaddr;
	bool sealed;
	uint8_t *key;               /* sodium_malloc'd beacon key, or NULL */
	uint64_t last_counter;
	uint64_t first_counter;     /* the wall clock when we opened: our run's beacons count from */
	struct in_addr last_from;
	uint64_t last_version;      /* of the last datagram dropped as another version's, or 0 */
	/* the signed beacon (section 2's `signed`) of the last datagram read, opened: what peer
	 * exchange passes on (0 bytes when it was not one, or longer than WIRE_MAX_SIGNED) */
	uint8_t last_signed[WIRE_MAX_SIGNED];
	size_t last_signed_len;
};

static uint64_t wall_ms(void);

struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap)
{
	struct discovery *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	d->ops = cfg->ops ? cfg->ops : &mcast_udp;
	if (cfg->beacon_key) {
		d->key = sodium_malloc(DISCOVERY_KEYLEN);
		if (!d->key) {
			snprintf(err, errcap, "out of memory");
			goto fail;
		}
		memcpy(d->key, cfg->beacon_key, DISCOVERY_KEYLEN);
		d->sealed = true;
	}
	d->t = d->ops->open(&cfg->mcast, &d->ifaddr, err, errcap);
	if (!d->t)
		goto fail;
	d->first_counter = d->ops->wall_ms ? d->ops->wall_ms(d->t) : wall_ms();
	return d;
fail:
	discovery_destroy(&d);
	return NULL;
}

void discovery_destroy(struct discovery **dp)
{
	struct discovery *d = dp ? *dp : NULL;
	if (!d)
		return;
	if (d->t && d->ops->close)         /* NULL ok (mcast.h) */
		d->ops->close(d->t);
	if (d->key)
		sodium_free(d->key);
	free(d);
	*dp = NULL;
}

int discovery_fd(const struct discovery *d)
{
	return d->ops->fd(d->t);
}

struct in_addr discovery_last_source(const struct discovery *d)
{
	return d->last_from;
}

uint64_t discovery_last_version(const struct discovery *d)
{
	return d->last_version;
}

uint64_t discovery_first_counter(const struct discovery *d)
{
	return d->first_counter;
}

struct in_addr discovery_ifaddr(const struct discovery *d)
{
	return d->ifaddr;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum mesh_err discovery_send(struct discovery *d, const struct keys_identity *id,
                             uint16_t port, uint64_t incarnation)
{
	uint8_t body[WIRE_MAX_BEACON], sig[WIRE_SIGLEN], signed_[WIRE_MAX_BEACON];
	uint8_t blob[WIRE_MAX_BEACON], dgram[WIRE_MAX_BEACON];
	size_t blen, slen, bloblen, dlen;
	enum mesh_err rc;
	struct wire_beacon_body b = { .port = port, .incarnation = incarnation };
	/* Wall-clock milliseconds keep counters increasing across restarts, so receivers drop
	 * beacons of an earlier run; +1 keeps them increasing within a millisecond. */
	uint64_t now = d->ops->wall_ms ? d->ops->wall_ms(d->t) : wall_ms();
	d->last_counter = now > d->last_counter ? now : d->last_counter + 1;
	b.counter = d->last_counter;
	memcpy(b.node_id, id->id, WIRE_IDLEN);
	memcpy(b.ip, &d->ifaddr.s_addr, 4);
	if ((rc = wire_beacon_body_encode(&b, body, sizeof body, &blen)) != MESH_OK)
		return rc;
	if (keys_sign(id, body, blen, sig) != 0)
		return MESH_EAUTH;
	if ((rc = wire_signed_encode(body, blen, sig, signed_, sizeof signed_, &slen)) != MESH_OK)
		return rc;
	if (d->sealed) {
		unsigned long long clen;
		if (WIRE_SEAL_NONCE + slen + crypto_aead_xchacha20poly1305_ietf_ABYTES > sizeof blob)
			return MESH_ELIMIT;
		randombytes_buf(blob, WIRE_SEAL_NONCE);
		crypto_aead_xchacha20poly1305_ietf_encrypt(blob + WIRE_SEAL_NONCE, &clen, signed_,
		                                           slen, NULL, 0, NULL, blob, d->key);
		bloblen = WIRE_SEAL_NONCE + (size_t)clen;
	} else {
		memcpy(blob, signed_, slen);
		bloblen = slen;
	}
	if ((rc = wire_beacon_encode(d->sealed, blob, bloblen, dgram, sizeof dgram, &dlen)) !=
	    MESH_OK)
		return rc;
	return d->ops->send(d->t, dgram, dlen);
}

enum mesh_err discovery_recv(struct discovery *d, struct wire_beacon_body *out, bool *got)
{
	bool skipped;
	return discovery_recv_filtered(d, out, got, &skipped, NULL, NULL);
}

enum mesh_err discovery_recv_filtered(struct discovery *d, struct wire_beacon_body *out,
                                      bool *got, bool *skipped,
                                      bool (*known)(void *arg,
                                                    const struct wire_beacon_body *unverified),
                                      void *arg)
{
	uint8_t dgram[WIRE_MAX_BEACON + 1], plain[WIRE_MAX_BEACON];
	struct wire_beacon wb;
	const uint8_t *sblob;
	size_t sbloblen;
	enum mesh_err rc;
	size_t n;
	*skipped = false;
	d->last_version = 0;
	d->last_signed_len = 0;
	rc = d->ops->recv(d->t, dgram, sizeof dgram, got, &n, &d->last_from);
	if (rc != MESH_OK || !*got)
		return rc;
	if (n > WIRE_MAX_BEACON)
		return MESH_EMALFORMED;
	if ((rc = wire_beacon_decode(dgram, n, &wb)) != MESH_OK) {
		(void)wire_beacon_version(dgram, n, &d->last_version);
		return rc;
	}
	if (wb.sealed != d->sealed)
		return MESH_ESTATE;
	if (d->sealed) {
		unsigned long long plen;
		if (wb.blob_len < WIRE_SEAL_NONCE + crypto_aead_xchacha20poly1305_ietf_ABYTES)
			return MESH_EMALFORMED;
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		            plain, &plen, NULL, wb.blob + WIRE_SEAL_NONCE,
		            wb.blob_len - WIRE_SEAL_NONCE, NULL, 0, wb.blob, d->key) != 0)
			return MESH_EAUTH;
		sblob = plain;
		sbloblen = (size_t)plen;
	} else {
		sblob = wb.blob;
		sbloblen = wb.blob_len;
	}
	if (sbloblen <= sizeof d->last_signed) {
		memcpy(d->last_signed, sblob, sbloblen);
		d->last_signed_len = sbloblen;
	}
	rc = discovery_check_signed(sblob, sbloblen, out, skipped, known, arg);
	if (rc != MESH_OK)
		d->last_signed_len = 0;
	return rc;
}

const uint8_t *discovery_last_signed(const struct discovery *d, size_t *len)
{
	*len = d->last_signed_len;
	return d->last_signed;
}

enum mesh_err discovery_check_signed(const uint8_t *p, size_t n, struct wire_beacon_body *out,
                                     bool *skipped,
                                     bool (*known)(void *arg,
                                                   const struct wire_beacon_body *unverified),
                                     void *arg)
{
	struct wire_signed ws;
	enum mesh_err rc;
	*skipped = false;
	if ((rc = wire_signed_decode(p, n, &ws)) != MESH_OK)
		return rc;
	if ((rc = wire_beacon_body_decode(ws.body, ws.body_len, out)) != MESH_OK)
		return rc;
	if (known && known(arg, out)) {
		*skipped = true;
		return MESH_OK;
	}
	if (keys_verify(out->node_id, ws.body, ws.body_len, ws.sig) != 0)
		return MESH_EAUTH;
	return MESH_OK;
}
