/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * wire: the msgpack encoding of everything meshnode sends (docs/protocol.md, sections 2, 3
 * and 6). Decoding is strict and happens in two steps: wire_check() walks the raw bytes first
 * (every count and length backed by bytes present, depth and element caps), because msgpack-c
 * allocates whatever an array header claims; only then does msgpack_unpack_next run, and only
 * MSGPACK_UNPACK_SUCCESS with no bytes left over is accepted. Types are exact, sizes bounded.
 *
 * Decoded structs borrow pointers into the input buffer: valid while it lives.
 * Encoders write into caller buffers (out, cap) and fail with MESH_ELIMIT when it does not fit.
 */
#ifndef MESH_MESH_WIRE_H
#define MESH_MESH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "keys.h"
#include "mesh_err.h"

#define WIRE_VERSION 2             /* protocol version: beacons, payloads, prologue */
#define WIRE_MAGIC "meshnode"
#define WIRE_BEACON_MAGIC "meshnode-beacon"
#define WIRE_MAX_BEACON 512         /* whole datagram */
#define WIRE_MAX_NOISE 65535        /* Noise message limit */
#define WIRE_MAX_FRAME 66000        /* whole zmq frame: DATA header + Noise message */
#define WIRE_MAX_PAYLOAD 1048576u   /* application payload: section 6, MESH_MAX_PAYLOAD */
#define WIRE_MAX_FRAGMENT 60000     /* payload bytes per SHOUT/WHISPER fragment */
#define WIRE_MAX_FRAGMENTS 18       /* ceil(WIRE_MAX_PAYLOAD / WIRE_MAX_FRAGMENT) */
#define WIRE_MAX_NAME 64            /* node name, bytes of UTF-8 */
#define WIRE_MAX_GROUP 64           /* group name, bytes of UTF-8 */
#define WIRE_MAX_GROUPS 256         /* groups per node */
#define WIRE_MAX_DEPTH 3            /* deepest nesting any message needs */
#define WIRE_IDLEN KEYS_IDLEN         /* a node ID is its Ed25519 public key */
#define WIRE_SIGLEN 64
#define WIRE_SEAL_NONCE 24

struct wire_str {
	const char *p;
	size_t len;
};

/* Structural walk of exactly one msgpack object spanning all n bytes. */
enum mesh_err wire_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_elems);

/* The one UTF-8 decoder of the code (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF). wire_utf8_seq: length of the well-formed sequence at the start of s (1..4), or 0
 * if s does not start with one; len must be > 0, and it never reads past len. */
size_t wire_utf8_seq(const unsigned char *s, size_t len);
/* True if all of s is well-formed UTF-8. */
bool wire_utf8_valid(const char *s, size_t len);
/* True if s is valid UTF-8 without control characters (C0, DEL, C1): the rule for node and
 * group names, which reach logs, terminals and JSON (docs/protocol.md section 3.1). */
bool wire_name_valid(const char *s, size_t len);

/* --- Beacons (section 2) --- */
struct wire_beacon {
	bool sealed;
	const uint8_t *blob;
	size_t blob_len;
};
enum mesh_err wire_beacon_decode(const uint8_t *p, size_t n, struct wire_beacon *out);
/* For a datagram wire_beacon_decode() refused: MESH_OK and *version if it is one of another
 * protocol version ([ "meshnode", version:uint, and two elements more ], version neither ours
 * nor 0), so that the receiver can say why it drops it; MESH_EMALFORMED (and 0) otherwise. */
enum mesh_err wire_beacon_version(const uint8_t *p, size_t n, uint64_t *version);
enum mesh_err wire_beacon_encode(bool sealed, const uint8_t *blob, size_t blob_len,
                                 uint8_t *out, size_t cap, size_t *outlen);

struct wire_signed {
	const uint8_t *body;
	size_t body_len;
	const uint8_t *sig;          /* WIRE_SIGLEN bytes */
};
enum mesh_err wire_signed_decode(const uint8_t *p, size_t n, struct wire_signed *out);
enum mesh_err wire_signed_encode(const uint8_t *body, size_t body_len,
                                 const uint8_t sig[WIRE_SIGLEN], uint8_t *out, size_t cap,
                                 size_t *outlen);

struct wire_beacon_body {
	uint8_t node_id[WIRE_IDLEN];
	struct ipaddr ip;            /* 4 bytes on the wire for IPv4, 16 for IPv6 */
	uint16_t port;
	uint64_t counter;
	uint64_t incarnation;
};
enum mesh_err wire_beacon_body_decode(const uint8_t *p, size_t n, struct wire_beacon_body *out);
enum mesh_err wire_beacon_body_encode(const struct wire_beacon_body *b, uint8_t *out, size_t cap,
                                      size_t *outlen);

/* --- Frames (section 3) --- */
enum wire_frame_type {
	WIRE_HELLO = 1,
	WIRE_REPLY = 2,
	WIRE_FINISH = 3,
	WIRE_DATA = 4,
};

/*
 * rx_sid is the receiver's session ID (REPLY: initiator_sid, FINISH: responder_sid, DATA:
 * receiver_sid); HELLO has none. tx_sid is the sender's (HELLO: initiator_sid, REPLY:
 * responder_sid). body is the Noise message (handshake) or the ciphertext (DATA).
 */
struct wire_frame {
	enum wire_frame_type type;
	uint32_t rx_sid;
	uint32_t tx_sid;
	uint64_t counter;
	const uint8_t *body;
	size_t body_len;
};
enum mesh_err wire_frame_decode(const uint8_t *p, size_t n, struct wire_frame *out);
enum mesh_err wire_frame_encode(const struct wire_frame *f, uint8_t *out, size_t cap,
                                size_t *outlen);
/* The bytes of a DATA frame that precede its body_len bytes of ciphertext: with them the
 * sender can seal straight into the frame, behind the header, instead of into a scratch buffer
 * that is then copied. header || body is exactly wire_frame_encode()'s output. */
#define WIRE_DATA_HDR_MAX 19        /* fixarray, type, uint32, uint64, bin16 header */
enum mesh_err wire_data_header(uint32_t rx_sid, uint64_t counter, size_t body_len, uint8_t *out,
                               size_t cap, size_t *outlen);

/* Payloads (section 3.1). features: */
#define WIRE_FEATURE_ACK 1u         /* follows section 6, "Delivery" */
#define WIRE_FEATURE_REKEY 2u       /* ... and section 3.3: replaces its link keys in place */
#define WIRE_FEATURE_PEERS 4u       /* ... and section 2, "Peer exchange": takes PEERS */

/* reply_payload: what the responder tells an initiator it has not authenticated yet (message
 * 2): no more than its signed beacon publishes, and its feature bits. */
struct wire_reply_payload {
	uint8_t node_id[WIRE_IDLEN];
	uint64_t incarnation;
	uint32_t features;
	struct ipaddr ip;            /* where the sender's ROUTER listens */
	uint16_t port;
};
enum mesh_err wire_reply_payload_decode(const uint8_t *p, size_t n,
                                        struct wire_reply_payload *out);
enum mesh_err wire_reply_payload_encode(const struct wire_reply_payload *r, uint8_t *out,
                                        size_t cap, size_t *outlen);

/* hello_payload: the initiator's, in message 3, once it has authenticated the responder.
 * groups[] borrows from the input. */

struct wire_hello {
	uint8_t node_id[WIRE_IDLEN];
	struct wire_str name;
	uint64_t incarnation;
	uint32_t features;
	size_t ngroups;
	struct wire_str groups[WIRE_MAX_GROUPS];
	struct ipaddr ip;            /* where the sender's ROUTER listens */
	uint16_t port;
};
enum mesh_err wire_hello_decode(const uint8_t *p, size_t n, struct wire_hello *out);
enum mesh_err wire_hello_encode(const struct wire_hello *h, uint8_t *out, size_t cap,
                                size_t *outlen);

/* Messages inside DATA (sections 3.2 and 6). */
enum wire_msg_type {
	WIRE_ACCEPT = 1,
	WIRE_REJECT = 2,
	WIRE_HEARTBEAT = 3,
	WIRE_BYE = 4,
	WIRE_JOIN = 5,
	WIRE_LEAVE = 6,
	WIRE_SHOUT = 7,
	WIRE_WHISPER = 8,
	WIRE_ACK = 9,                /* delivery (section 6, "Acknowledgement") */
	WIRE_RESEND = 10,
	WIRE_MARK = 11,
	WIRE_REKEY = 12,             /* rekeying (section 3.3): Noise_KK message 1 */
	WIRE_REKEY_REPLY = 13,       /* ... and message 2 */
	WIRE_PEERS = 14,             /* peer exchange (section 2): signed beacons of live peers */
};

/* PEERS: at most WIRE_PEERS_MAX signed beacons (section 2's `signed`), each at most
 * WIRE_MAX_SIGNED bytes. */
#define WIRE_PEERS_MAX 8
#define WIRE_MAX_SIGNED 256

struct wire_bin {
	const uint8_t *p;
	size_t len;
};

/* ACCEPT (section 3.2): the responder's name and groups, sent only once message 3 has proven
 * the initiator. groups[] borrows from the input. */
struct wire_accept {
	struct wire_str name;
	size_t ngroups;
	struct wire_str groups[WIRE_MAX_GROUPS];
};
enum mesh_err wire_accept_decode(const uint8_t *p, size_t n, struct wire_accept *out);
enum mesh_err wire_accept_encode(const struct wire_accept *a, uint8_t *out, size_t cap,
                                 size_t *outlen);

/* Both KK messages of a rekey: an ephemeral key and the tag of an empty payload. */
#define WIRE_REKEY_NOISE 48

struct wire_msg {
	uint64_t type;               /* an unknown type decodes fine: the caller counts and ignores it */
	uint64_t reason;             /* REJECT */
	struct wire_str group;       /* JOIN, LEAVE, SHOUT */
	uint64_t msg_id;             /* SHOUT, WHISPER (>= 1); ACK, RESEND, MARK (>= 0) */
	uint32_t index, count;       /* SHOUT, WHISPER fragments */
	const uint8_t *data;         /* SHOUT, WHISPER */
	size_t data_len;
	uint64_t incarnation;        /* ACK, RESEND: the acknowledged sender's (>= 1) */
	uint64_t rekey_n;            /* REKEY, REKEY_REPLY: the attempt (>= 1) */
	const uint8_t *noise;        /* REKEY, REKEY_REPLY: WIRE_REKEY_NOISE bytes */
	struct wire_str name;        /* ACCEPT: checked whole, but only the name and the number */
	size_t ngroups;              /* of groups kept: wire_accept_decode() gives the groups */
	size_t npeers;               /* PEERS: 1 to WIRE_PEERS_MAX signed beacons */
	struct wire_bin peers[WIRE_PEERS_MAX];
};
/* MESH_OK also for an unknown type (with only m->type set): the caller counts and ignores it. */
enum mesh_err wire_msg_decode(const uint8_t *p, size_t n, struct wire_msg *m);
/* Every type but ACCEPT, which wire_accept_encode() writes (MESH_EINVAL here). */
enum mesh_err wire_msg_encode(const struct wire_msg *m, uint8_t *out, size_t cap, size_t *outlen);
/* Bytes needed to encode a SHOUT/WHISPER fragment of data_len bytes, group of glen bytes. */
size_t wire_msg_overhead(size_t glen);

#endif
