/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_limits: what the machine allows, measured in the same run as the messenger so that
 * meshbench can print the two side by side. Two kinds of ceiling:
 *
 * - raw ZeroMQ (meshbench_limits.c): DEALERs and ROUTERs over tcp://127.0.0.1, with the
 *   product's socket options (MESH_ZMQ_HWM frames of send and receive HWM, linger 0), and
 *   nothing of ours on top: no encryption, no msgpack, no event loop;
 * - the cipher and the handshake primitives on one core (meshbench_crypto.c), through the same
 *   libsodium calls the product makes.
 *
 * Each function does one run and returns its figure; the caller repeats runs and takes medians.
 * Failure is a negative return with one line on stderr. The ZeroMQ functions only ever bind and
 * connect 127.0.0.1 (port chosen by the kernel), and the caller must already be in a private
 * network namespace. Every blocking zmq call has a 5 s timeout, so a lost message fails a run
 * instead of hanging it.
 */
#ifndef MESHBENCH_LIMITS_H
#define MESHBENCH_LIMITS_H

#include <stddef.h>

/* One thread sends `count` messages of `size` bytes from a DEALER (blocking zmq_send in a loop),
 * another receives them at a ROUTER (routing id frame + body) and checks that exactly `count`
 * arrive, each of `size` bytes. Messages per second from the first send to the last receipt. */
double limits_zmq_throughput(size_t size, long count);

/* DEALER sends `size` bytes to a ROUTER whose echo thread sends them back to the routing id:
 * `count` sequential round trips after 100 warm-up ones. p50 and p99 in microseconds.
 * 0, or -1 on failure. */
int limits_zmq_rtt(size_t size, long count, double *p50_us, double *p99_us);

/* Connections set up per second: rounds of `parallel` DEALERs of one context (a node
 * dialling) that each connect to a ROUTER of a context of its own (a node answering, with an
 * echo thread), send `size` bytes, read the echo, send and read once more, and are closed: the
 * TCP connection, the ZMTP greeting and the four messages of a Noise XX handshake with its
 * ACCEPT, without the crypto. One untimed round first. -1 on failure. */
double limits_zmq_connect_rate(size_t size, int parallel, long rounds);

/* ChaCha20-Poly1305 (IETF: 12-byte nonce, 16-byte tag, no additional data) on one core for
 * about `seconds`: operations per second with `size` bytes of plaintext. Decryption checks
 * every tag and fails the run if one does not verify. */
double limits_aead_encrypt_rate(size_t size, double seconds);
double limits_aead_decrypt_rate(size_t size, double seconds);

/* Microseconds per operation, each timed over about `seconds`. */
double limits_x25519_us(double seconds);              /* crypto_scalarmult (variable point) */
double limits_x25519_base_us(double seconds);         /* crypto_scalarmult_base (key generation) */
double limits_ed25519_sign_us(double seconds);        /* 64-byte message */
double limits_ed25519_verify_us(double seconds);      /* 64-byte message */
double limits_ed25519_to_x25519_us(double seconds);   /* crypto_sign_ed25519_pk_to_curve25519 */
double limits_blake2b_us(size_t size, double seconds);/* crypto_generichash, 32-byte output */

/* Raw ZeroMQ's own memory per connected pipe: the floor under our RSS per session. Two fresh
 * processes (self, this program, run with --zmq-floor-child: not forks of a caller whose heap
 * would hide their growth) each make a context; one binds a ROUTER, the other connects
 * `pipes` DEALERs to it, with the product's socket options, and each DEALER and the ROUTER
 * exchange one 64-byte message each way so that every pipe has carried traffic, as the
 * sessions meshsim measures have. Each reads its VmRSS after one warm-up pipe and after the
 * rest; the figure is the mean of the two sides' growth per pipe in KiB, since a node of a
 * full mesh holds about as many accepted as dialled sessions. -1 on failure.
 * *router_kib gets the ROUTER process's whole VmRSS after its warm-up pipe: a process that
 * has loaded the libraries the node loads (this program links them too) and holds a zmq
 * context, its threads and a bound ROUTER with one pipe, the floor under an idle node. */
double limits_zmq_rss_per_pipe_kib(const char *self, int pipes, double *router_kib);

/* The body of such a child: argv is { self, "--zmq-floor-child", "router", N } or { ...,
 * "dealers", N, ENDPOINT }. Prints the endpoint (router) and then its growth and its VmRSS
 * when that growth began, in KiB, on stdout, and waits for EOF on stdin. Its exit status. */
int limits_floor_child(int argc, char **argv);

#endif
