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

#include <arpa/inet.h>

#include <sodium.h>

struct handle {
	void *t;                    /* the transport's */
	struct mcast_iface iface;
	uint8_t tag;
};

struct discovery {
	const struct mcast_ops *ops;
	struct mcast_config mcast;  /* group, port, env: iface is set per handle */
	const char **allow;         /* sel.allow, and mcast.iface if set; borrowed strings */
	struct mcast_ifsel sel;
	struct handle h[MCAST_MAX_IFACES];
	size_t n;
	size_t rr;                  /* the handle to read first next time */
	uint8_t next_tag;
	struct mcast_iface failed[MCAST_MAX_IFACES];   /* reported once, until they open */
	size_t nfailed;
	struct ipaddr host[MCAST_LIST_MAX];            /* every address at the last listing */
	size_t nhost;
	const char *unmatched;      /* an allow entry that named nothing at the last listing */
	bool sealed;
	uint8_t *key;               /* sodium_malloc'd beacon key, or NULL */
	uint64_t last_counter;
	uint64_t first_counter;     /* the wall clock when we opened: our run's beacons count from */
	struct ipaddr last_from;
	uint8_t last_tag;
	uint64_t last_version;      /* of the last datagram dropped as another version's, or 0 */
	size_t last_len;            /* bytes of the last datagram read or sent (the trace's) */
	/* the signed beacon (section 2's `signed`) of the last datagram read, opened: what peer
	 * exchange passes on (0 bytes when it was not one, or longer than WIRE_MAX_SIGNED) */
	uint8_t last_signed[WIRE_MAX_SIGNED];
	size_t last_signed_len;
};

static uint64_t wall_ms(void);

static uint8_t free_tag(struct discovery *d)
{
	for (;;) {
		uint8_t t = d->next_tag = (uint8_t)(d->next_tag % 255 + 1);
		bool used = false;
		for (size_t i = 0; i < d->n && !used; i++)
			used = d->h[i].tag == t;
		if (!used)
			return t;
	}
}

/* Opens a handle on one interface; with a transport that has no list, the one it finds. */
static bool open_handle(struct discovery *d, const struct mcast_iface *pick, char *err,
                        size_t errcap)
{
	char a[IPADDR_STRLEN];
	struct mcast_config c = d->mcast;
	struct handle *h = &d->h[d->n];
	memset(h, 0, sizeof *h);
	if (pick) {
		c.iface = ipaddr_str(&pick->addr, a);
		h->iface = *pick;
	} else {
		c.iface = d->sel.n_allow ? d->sel.allow[0] : NULL;
		snprintf(h->iface.name, sizeof h->iface.name, "%s", c.iface ? c.iface : "");
	}
	h->t = d->ops->open(&c, &h->iface.addr, err, errcap);
	if (!h->t)
		return false;
	h->tag = free_tag(d);
	d->n++;
	return true;
}

static void close_handle(struct discovery *d, size_t i)
{
	if (d->h[i].t && d->ops->close)    /* NULL ok (mcast.h) */
		d->ops->close(d->h[i].t);
	d->h[i] = d->h[--d->n];
	if (d->rr >= d->n)
		d->rr = 0;
}

static bool same_iface(const struct mcast_iface *a, const struct mcast_iface *b)
{
	return strcmp(a->name, b->name) == 0 && ipaddr_eq(&a->addr, &b->addr);
}

static bool in_list(const struct mcast_iface *v, size_t n, const struct mcast_iface *x)
{
	for (size_t i = 0; i < n; i++)
		if (same_iface(&v[i], x))
			return true;
	return false;
}

static void change(struct discovery_change *out, size_t *k, enum discovery_change_kind kind,
                   const struct mcast_iface *i, uint8_t tag, const char *why)
{
	if (*k == DISCOVERY_MAX_CHANGES)
		return;
	out[*k] = (struct discovery_change){ .kind = kind, .iface = *i, .tag = tag };
	snprintf(out[*k].why, sizeof out[*k].why, "%s", why ? why : "");
	(*k)++;
}

size_t discovery_rescan(struct discovery *d, struct discovery_change out[static
                        DISCOVERY_MAX_CHANGES], char *err, size_t errcap)
{
	struct mcast_iface all[MCAST_LIST_MAX], pick[MCAST_MAX_IFACES], failed[MCAST_MAX_IFACES];
	size_t n, over, unmatched, k = 0, nfailed = 0;
	if (!d->ops->ifaces)
		return 0;
	if (d->ops->ifaces(d->mcast.env, all, MCAST_LIST_MAX, &n, err, errcap) != MESH_OK)
		return 0;
	d->nhost = 0;
	for (size_t i = 0; i < n; i++)
		d->host[d->nhost++] = all[i].addr;
	size_t np = mcast_select_ifaces(all, n, &d->sel, pick, &over, &unmatched);
	d->unmatched = unmatched < d->sel.n_allow ? d->sel.allow[unmatched] : NULL;
	for (size_t i = d->n; i-- > 0;) {
		if (in_list(pick, np, &d->h[i].iface))
			continue;
		change(out, &k, DISCOVERY_REMOVED, &d->h[i].iface, d->h[i].tag, NULL);
		close_handle(d, i);
	}
	for (size_t j = 0; j < np; j++) {
		char why[128];
		bool open = false;
		for (size_t i = 0; i < d->n && !open; i++)
			open = same_iface(&d->h[i].iface, &pick[j]);
		if (open || d->n == MCAST_MAX_IFACES)
			continue;
		if (open_handle(d, &pick[j], why, sizeof why)) {
			change(out, &k, DISCOVERY_ADDED, &d->h[d->n - 1].iface, d->h[d->n - 1].tag,
			       NULL);
			continue;
		}
		/* reported once, not at every rescan, until it opens or goes away */
		if (!in_list(d->failed, d->nfailed, &pick[j]))
			change(out, &k, DISCOVERY_FAILED, &pick[j], 0, why);
		failed[nfailed++] = pick[j];
	}
	memcpy(d->failed, failed, nfailed * sizeof *failed);
	d->nfailed = nfailed;
	return k;
}

struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap)
{
	struct discovery_change ch[DISCOVERY_MAX_CHANGES];
	struct discovery *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	d->ops = cfg->ops ? cfg->ops : &mcast_udp;
	d->mcast = cfg->mcast;
	d->mcast.iface = NULL;
	d->sel = cfg->sel;
	d->allow = calloc(cfg->sel.n_allow + 1, sizeof *d->allow);
	if (!d->allow) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	d->sel.n_allow = 0;
	if (cfg->mcast.iface)
		d->allow[d->sel.n_allow++] = cfg->mcast.iface;
	for (size_t i = 0; i < cfg->sel.n_allow; i++)
		d->allow[d->sel.n_allow++] = cfg->sel.allow[i];
	d->sel.allow = d->allow;
	if (cfg->beacon_key) {
		d->key = sodium_malloc(DISCOVERY_KEYLEN);
		if (!d->key) {
			snprintf(err, errcap, "out of memory");
			goto fail;
		}
		memcpy(d->key, cfg->beacon_key, DISCOVERY_KEYLEN);
		d->sealed = true;
	}
	if (!d->ops->ifaces) {
		if (!open_handle(d, NULL, err, errcap))
			goto fail;
	} else {
		err[0] = 0;
		size_t k = discovery_rescan(d, ch, err, errcap);
		for (size_t i = 0; i < k && !d->n; i++)
			if (ch[i].kind == DISCOVERY_FAILED)
				snprintf(err, errcap, "%s", ch[i].why);
		if (!d->n) {
			if (!err[0] && d->sel.n_allow)
				snprintf(err, errcap, "no interface '%s' with a usable address (give "
				         "--iface a name such as eth0 or lo, or an address of this host)",
				         d->unmatched ? d->unmatched : d->sel.allow[0]);
			else if (!err[0])
				snprintf(err, errcap, "no up, multicast-capable, non-loopback interface "
				         "with a usable address; choose one with --iface");
			goto fail;
		}
		/* what failed beside what opened is said by the first rescan: the changes of this
		 * listing are not the engine's to see (ifaces_on_open lists what is open) */
		d->nfailed = 0;
	}
	d->first_counter = d->ops->wall_ms ? d->ops->wall_ms(d->h[0].t) : wall_ms();
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
	while (d->n)
		close_handle(d, d->n - 1);
	if (d->key)
		sodium_free(d->key);
	free(d->allow);
	free(d);
	*dp = NULL;
}

size_t discovery_count(const struct discovery *d)
{
	return d->n;
}

const struct mcast_iface *discovery_iface(const struct discovery *d, size_t i)
{
	return &d->h[i].iface;
}

uint8_t discovery_tag(const struct discovery *d, size_t i)
{
	return d->h[i].tag;
}

int discovery_fd(const struct discovery *d, size_t i)
{
	return d->ops->fd(d->h[i].t);
}

bool discovery_host_has(const struct discovery *d, const struct ipaddr *addr)
{
	for (size_t i = 0; i < d->nhost; i++)
		if (ipaddr_same(&d->host[i], addr))
			return true;
	for (size_t i = 0; i < d->n; i++)
		if (ipaddr_same(&d->h[i].iface.addr, addr))
			return true;
	return false;
}

const char *discovery_unmatched(const struct discovery *d)
{
	return d->unmatched;
}

struct ipaddr discovery_last_source(const struct discovery *d)
{
	return d->last_from;
}

uint8_t discovery_last_tag(const struct discovery *d)
{
	return d->last_tag;
}

size_t discovery_last_len(const struct discovery *d)
{
	return d->last_len;
}

uint64_t discovery_last_version(const struct discovery *d)
{
	return d->last_version;
}

uint64_t discovery_first_counter(const struct discovery *d)
{
	return d->first_counter;
}

struct ipaddr discovery_ifaddr(const struct discovery *d)
{
	return d->n ? d->h[0].iface.addr : (struct ipaddr){ { 0 }, 0 };
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum mesh_err discovery_send(struct discovery *d, size_t i, const struct keys_identity *id,
                             uint16_t port, uint64_t incarnation)
{
	uint8_t body[WIRE_MAX_BEACON], sig[WIRE_SIGLEN], signed_[WIRE_MAX_BEACON];
	uint8_t blob[WIRE_MAX_BEACON], dgram[WIRE_MAX_BEACON];
	size_t blen, slen, bloblen, dlen;
	enum mesh_err rc;
	struct wire_beacon_body b = { .port = port, .incarnation = incarnation };
	/* Wall-clock milliseconds keep counters increasing across restarts, so receivers drop
	 * beacons of an earlier run; +1 keeps them increasing within a millisecond. */
	uint64_t now = d->ops->wall_ms ? d->ops->wall_ms(d->h[i].t) : wall_ms();
	d->last_counter = now > d->last_counter ? now : d->last_counter + 1;
	b.counter = d->last_counter;
	memcpy(b.node_id, id->id, WIRE_IDLEN);
	b.ip = d->h[i].iface.addr;
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
	d->last_len = dlen;
	return d->ops->send(d->h[i].t, dgram, dlen);
}

/* discovery_check_signed(), and a link-local ip that is the datagram's source (from) takes
 * its scope: the interface it came in on, which the wire does not carry (ipaddr.h). */
static enum mesh_err check_signed(const uint8_t *p, size_t n, struct wire_beacon_body *out,
                                  bool *skipped,
                                  bool (*known)(void *arg,
                                                const struct wire_beacon_body *unverified),
                                  void *arg, const struct ipaddr *from)
{
	struct wire_signed ws;
	enum mesh_err rc;
	*skipped = false;
	if ((rc = wire_signed_decode(p, n, &ws)) != MESH_OK)
		return rc;
	if ((rc = wire_beacon_body_decode(ws.body, ws.body_len, out)) != MESH_OK)
		return rc;
	if (from && ipaddr_is_linklocal(&out->ip) && ipaddr_same(&out->ip, from))
		out->ip.scope = from->scope;
	if (known && known(arg, out)) {
		*skipped = true;
		return MESH_OK;
	}
	if (keys_verify(out->node_id, ws.body, ws.body_len, ws.sig) != 0)
		return MESH_EAUTH;
	return MESH_OK;
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
	*got = false;
	rc = MESH_OK;
	for (size_t k = 0; k < d->n && !*got; k++) {
		size_t i = (d->rr + k) % d->n;
		enum mesh_err r = d->ops->recv(d->h[i].t, dgram, sizeof dgram, got, &n,
		                               &d->last_from);
		if (r != MESH_OK)
			rc = r;             /* this interface's; the others are still read */
		if (*got) {
			d->rr = (i + 1) % d->n;
			d->last_tag = d->h[i].tag;
		}
	}
	if (!*got)
		return rc;
	d->last_len = n;
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
	rc = check_signed(sblob, sbloblen, out, skipped, known, arg, &d->last_from);
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
                                     void *arg, const struct ipaddr *from)
{
	return check_signed(p, n, out, skipped, known, arg, from);
}
