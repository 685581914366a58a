/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench_floor: raw ZeroMQ doing the work of two of meshbench's parts in the parts' own
 * shapes, with no crypto, no discovery and no code of ours: the floors under forming a mesh
 * and under a shout's fan-out (docs/performance.md, "Convergence: the floor without crypto"
 * and "Fan-out: the floor without crypto"). The caller must already be in a private network
 * namespace; every socket is on 127.0.0.1.
 */
#ifndef MESHBENCH_FLOOR_H
#define MESHBENCH_FLOOR_H

#include <stddef.h>

/* The most processes floor_mesh starts: meshbench's largest mesh. */
#define FLOOR_MESH_MAX 128

/* Process i of the mesh binds 127.0.0.1:FLOOR_MESH_PORT0 + i. Ports below the kernel's
 * ephemeral range (32768 and up by default): a DEALER's own end, chosen from that range, can
 * then never take a port a process of the mesh is to bind. */
#define FLOOR_MESH_PORT0 20000
/* Our handshake's frames, in bytes on the wire (`meshnode --trace` of two nodes), and the
 * initiator's first frame after ACCEPT, a heartbeat, at which the responder reports the peer
 * (docs/protocol.md section 4). All differ, so the size says which one came. */
enum { F_HELLO = 41, F_REPLY = 165, F_FINISH = 131, F_ACCEPT = 31, F_FIRST = 28 };

/* A full mesh of n processes (self run with --zmq-mesh-child, fork and exec as meshsim starts
 * nodes), each with a context and a ROUTER on 127.0.0.1; once all have bound, each dials every
 * process of a higher index with a DEALER of its own, as the lower ID dials, and each pair
 * exchanges frames of our handshake's sizes on the wire (HELLO, REPLY, FINISH, ACCEPT and the
 * initiator's first frame) without crypto; a dialler sends its frame again when the answer is
 * late, as our handshake does. Each process waits in epoll over its sockets' ZMQ_FDs and
 * reports its CPU (every thread) once its pairs are done. Sets the wall time from
 * the first fork to the last report and the CPU of all processes per pair, in ms. 0, or -1 on
 * failure (30 s without a report included). */
int floor_mesh(const char *self, int n, double *wall_ms, double *cpu_per_pair_ms);

/* The body of such a process: argv is { "--zmq-mesh-child", INDEX, N, UP_FD, GO_FD,
 * PARENT_PID }; it runs only as a child of that parent, and dies with it. Its exit status. */
int floor_mesh_child(int argc, char **argv);

/* meshbench's shout part done by raw ZeroMQ: in this process, a context for the sender and
 * one for each of `members` members; `count` messages of `size` (at least 8) bytes, each sent
 * on a DEALER per member connected to that member's ROUTER, at most `window` not yet received
 * by every member, all read by this thread, after 100 not counted. Sets the deliveries per
 * second and lat_us[count], in the order the messages completed: from each message's first
 * send to its receipt by the last member. 0, or -1 on failure. */
int floor_fanout(int members, size_t size, long count, long window, double *deliveries_s,
                 double *lat_us);

#endif
