/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * simnet: whole meshes in one process, in virtual time. N real engines (mesh.h) with real
 * crypto and the real wire format run over a simulated LAN of this module's own: a struct
 * link_ops whose connections keep order as TCP does, can be cut, reconnect as a ZeroMQ DEALER
 * does and hold frames across a partition as TCP retransmission would; and a struct mcast_ops
 * whose beacons reach every node on the same side of a partition, or are lost. One seeded
 * scheduler orders every delivery, timer, application send and fault (link cuts, partitions,
 * crashes and restarts with or without the identity, paused nodes), and libsodium's random
 * source is replaced by a stream from the same seed, so one seed replays one history exactly.
 *
 * While it runs, it checks: no message is delivered twice or out of order per sender, and
 * (after a settling time with no fault and no traffic) every pair of running nodes shares
 * exactly one live session, and every message a sender accepted was delivered to each of its
 * recipients or reported to the sender (DROPPED). Messages accepted by a process that then
 * crashed are counted apart: nobody is left to tell.
 *
 * Not thread-safe, and one run at a time per process (the random source is global).
 * simnet_seed_rng() must run before sodium_init().
 */
#ifndef MESH_TOOLS_SIMNET_H
#define MESH_TOOLS_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simnet_config {
	uint32_t nodes;
	uint64_t seed;
	uint32_t duration_ms;        /* traffic and faults, in virtual time */
	uint32_t settle_ms;          /* then no fault and no traffic, before the final checks */
	uint32_t latency_ms;         /* one way, for every frame and datagram */
	uint32_t jitter_ms;          /* plus 0..jitter, drawn per datagram and per frame */
	uint32_t beacon_loss_pct;    /* datagrams lost */
	uint32_t cuts;               /* faults spread over the duration */
	uint32_t partitions;
	/* nonzero: each partition lasts exactly this long and leaves a node on each side (a
	 * scenario that must see the split); 0: 0.5 to 5.5 s, the sides drawn freely */
	uint32_t partition_ms;
	uint32_t crashes;            /* each followed by a restart, 80 % with the same identity */
	uint32_t pauses;
	uint32_t slow_readers;       /* an application stops reading for 0.5 to 6.5 s */
	uint32_t msg_interval_ms;    /* mean time between two sends of one node; 0: no traffic */
	uint32_t big_pct;            /* of messages, this many span several fragments */
	uint32_t shout_pct;          /* of messages, this many are shouts, the rest whispers */
	uint32_t msg_size;           /* every payload this many bytes (24 at least, for the
	                              * header that names the message; 1 MiB at most); 0: 24 to
	                              * 223, and big_pct of them of several fragments */
	bool record;                 /* keep the steps and latencies in the report */
	/* nonzero: end the run this long after the first full mesh, if that comes earlier (a
	 * convergence measurement needs no more) */
	uint32_t end_after_converged_ms;
	/* node timers; 0: the node's defaults (1000, 1000, 3000, 10000, 5000 ms) */
	uint32_t beacon_ms, heartbeat_ms, evasive_ms, expired_ms, handshake_timeout_ms;
	/* how often links replace their keys (docs/protocol.md section 3.3) while traffic and
	 * faults run; 0: the node's default, 120000 ms, which settling always uses.
	 * simnet_config_init() makes it short, so that rekeys run under every fault. */
	uint32_t rekey_ms;
	int log_level;               /* engine log lines to stderr at this level and below; -1 */
};

/* Sensible values for a fault scenario of n nodes. */
void simnet_config_init(struct simnet_config *c, uint32_t nodes, uint64_t seed);

struct simnet_report {
	uint64_t events;             /* scheduler steps */
	uint64_t virtual_ms;
	uint64_t converged_ms;       /* first time every running pair was linked; 0: never */
	uint64_t cuts, partitions, crashes, restarts, pauses, slow_readers;
	uint64_t sent;               /* messages the senders' engines took */
	/* messages: (message, recipient) pairs */
	uint64_t accepted;           /* the sender's engine took it */
	uint64_t refused;            /* messages refused at once, or not sent for want of a
	                              * live peer (counted, not a fault) */
	uint64_t delivered;          /* exactly once */
	uint64_t reported;           /* DROPPED to the sender, and not delivered */
	uint64_t reported_delivered; /* DROPPED to the sender, though it was delivered */
	uint64_t with_sender;        /* neither, but its sender's process crashed */
	uint64_t lost;               /* neither: silently lost */
	/* answers (the engine runs with receipts): each (message, recipient) whose sender still
	 * runs gets exactly one, DELIVERED or DROPPED, and it is true */
	uint64_t unanswered;         /* none, or more than one */
	uint64_t msgs_refused;       /* engines' refusals for want of room or after a loss (summed
	                              * over the nodes running at the end) */
	uint64_t rekeys;             /* link keys replaced (each side counts its own), summed over
	                              * every engine that ran, crashed ones included */
	uint64_t false_answers;      /* DELIVERED but not delivered, or DROPPED as certainly not
	                              * delivered but delivered */
	uint64_t exits;              /* EXIT events the running nodes reported (without a fault,
	                              * each one is a session that broke) */
	uint64_t duplicates, reordered;
	/* links at the end */
	uint64_t pairs_unlinked;     /* running pairs without a live session both ways */
	uint64_t stray_sessions;     /* sessions beyond one per live peer */
	char first_problem[256];     /* the first invariant broken, or "" */
	/* with config.record: live sessions (summed over nodes) at each change, and the virtual
	 * latency of each first delivery to a recipient, in order of delivery; malloc'd */
	struct simnet_step { uint64_t ms; uint64_t live; } *steps;
	/* the first partition: when it began and healed, and the live sessions (summed) that
	 * its sides allow; 0 if there was none */
	uint64_t part_start_ms, part_heal_ms, part_live;
	size_t nsteps;
	double *latencies_ms;
	size_t nlat;
};

/* Frees what a report holds (steps, latencies); the report itself is the caller's. */
void simnet_report_free(struct simnet_report *r);

/* Replaces libsodium's random source with a stream from seed (call before sodium_init()). */
void simnet_seed_rng(uint64_t seed);

/* Runs one history. 0 if it ran (check the report), -1 if it could not (out of memory). */
int simnet_run(const struct simnet_config *c, struct simnet_report *r);

/* Which invariants the report breaks: SIMNET_BAD_* bits, 0 for none. */
enum {
	SIMNET_BAD_ORDER = 1,        /* a duplicate or a reordering */
	SIMNET_BAD_UNLINKED = 2,     /* a running pair without its live session */
	SIMNET_BAD_STRAY = 4,        /* a session or live peer beyond one per running peer */
	SIMNET_BAD_DELIVERY = 8,     /* a message silently lost */
	SIMNET_BAD_ANSWER = 16,      /* a message without exactly one true answer */
};
unsigned simnet_broken(const struct simnet_report *r);

#endif
