/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * discovery: one UDP socket bound to the multicast group and port, joined on one interface.
 * Several nodes on one host share the port (SO_REUSEADDR/SO_REUSEPORT), which is what lets
 * tests and meshsim run many nodes on loopback in one namespace.
 */
/* getifaddrs, IFF_* and struct ip_mreq are BSD/Linux interfaces outside strict POSIX */
#define _DEFAULT_SOURCE

#include "discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

struct discovery {
	int fd;
	struct sockaddr_in dst;
	struct in_addr ifaddr;
	bool sealed;
	uint8_t *key;               /* sodium_malloc'd beacon key, or NULL */
	uint64_t last_counter;
	struct in_addr last_from;
};

enum mesh_err discovery_resolve_iface(const char *iface, struct in_addr *out, char *err,
                                      size_t errcap)
{
	struct ifaddrs *ifs = NULL, *it;
	struct in_addr want;
	bool by_addr = iface && inet_pton(AF_INET, iface, &want) == 1;
	enum mesh_err rc = MESH_ENOTFOUND;
	if (getifaddrs(&ifs) != 0) {
		snprintf(err, errcap, "cannot list interfaces: %s", strerror(errno));
		return MESH_EIO;
	}
	for (it = ifs; it; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET)
			continue;
		struct in_addr a = ((const struct sockaddr_in *)(const void *)it->ifa_addr)->sin_addr;
		bool match;
		if (by_addr)
			match = a.s_addr == want.s_addr;
		else if (iface)
			match = strcmp(it->ifa_name, iface) == 0;
		else
			match = (it->ifa_flags & IFF_UP) && (it->ifa_flags & IFF_MULTICAST) &&
			        !(it->ifa_flags & IFF_LOOPBACK);
		if (match) {
			*out = a;
			rc = MESH_OK;
			break;
		}
	}
	freeifaddrs(ifs);
	if (rc != MESH_OK) {
		if (iface)
			snprintf(err, errcap, "no IPv4 interface '%s' (give --iface a name such as "
			         "eth0 or lo, or an address of this host)", iface);
		else
			snprintf(err, errcap, "no up, multicast-capable, non-loopback IPv4 interface; "
			         "choose one with --iface");
	}
	return rc;
}

struct discovery *discovery_new(const struct discovery_config *cfg, char *err, size_t errcap)
{
	struct discovery *d = calloc(1, sizeof *d);
	struct ip_mreq mreq;
	int one = 1, zero = 0;
	unsigned char ttl = 1, loop = 1;
	if (!d) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	d->fd = -1;
	if (discovery_resolve_iface(cfg->iface, &d->ifaddr, err, errcap) != MESH_OK)
		goto fail;
	d->dst.sin_family = AF_INET;
	d->dst.sin_port = htons(cfg->port ? cfg->port : DISCOVERY_DEFAULT_PORT);
	const char *group = cfg->group ? cfg->group : DISCOVERY_DEFAULT_GROUP;
	if (inet_pton(AF_INET, group, &d->dst.sin_addr) != 1 ||
	    (ntohl(d->dst.sin_addr.s_addr) >> 28) != 0xe) {
		snprintf(err, errcap, "multicast group '%s' is not an IPv4 multicast address", group);
		goto fail;
	}
	if (cfg->beacon_key) {
		d->key = sodium_malloc(DISCOVERY_KEYLEN);
		if (!d->key) {
			snprintf(err, errcap, "out of memory");
			goto fail;
		}
		memcpy(d->key, cfg->beacon_key, DISCOVERY_KEYLEN);
		d->sealed = true;
	}
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		goto syserr;
	if (setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(d->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
		goto syserr;
	/* Binding to the group address keeps unrelated multicast on the same port out. */
	if (bind(d->fd, (const struct sockaddr *)&d->dst, sizeof d->dst) != 0)
		goto syserr;
	mreq.imr_multiaddr = d->dst.sin_addr;
	mreq.imr_interface = d->ifaddr;
	if (setsockopt(d->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_IF, &d->ifaddr, sizeof d->ifaddr) != 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
	    setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
		goto syserr;
	/* Linux otherwise delivers every group any socket on the host joined. */
	(void)setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
	/* Many nodes starting together burst beacons at once; a beacon lost to a full receive
	 * buffer costs a whole beacon interval of discovery. Best effort: the kernel caps it. */
	int rcvbuf = DISCOVERY_RCVBUF;
	(void)setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	return d;
syserr:
	{
		int e = errno;
		char ifa[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &d->ifaddr, ifa, sizeof ifa);
		snprintf(err, errcap, "multicast socket on %s (group %s): %s", ifa, group, strerror(e));
	}
fail:
	discovery_destroy(&d);
	return NULL;
}

void discovery_destroy(struct discovery **dp)
{
	struct discovery *d = dp ? *dp : NULL;
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	if (d->key)
		sodium_free(d->key);
	free(d);
	*dp = NULL;
}

int discovery_fd(const struct discovery *d)
{
	return d->fd;
}

struct in_addr discovery_last_source(const struct discovery *d)
{
	return d->last_from;
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
	uint64_t now = wall_ms();
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
	if (sendto(d->fd, dgram, dlen, 0, (const struct sockaddr *)&d->dst, sizeof d->dst) < 0)
		return MESH_EIO;
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
	struct wire_signed ws;
	const uint8_t *sblob;
	size_t sbloblen;
	enum mesh_err rc;
	struct sockaddr_in from;
	socklen_t fromlen = sizeof from;
	memset(&from, 0, sizeof from);
	ssize_t n = recvfrom(d->fd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &fromlen);
	d->last_from = from.sin_addr;
	*got = false;
	*skipped = false;
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? MESH_OK : MESH_EIO;
	*got = true;
	if ((size_t)n > WIRE_MAX_BEACON)
		return MESH_EMALFORMED;
	if ((rc = wire_beacon_decode(dgram, (size_t)n, &wb)) != MESH_OK)
		return rc;
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
	if ((rc = wire_signed_decode(sblob, sbloblen, &ws)) != MESH_OK)
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
