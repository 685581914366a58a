/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * beaconrig: one engine over a transport of the tests' own, with no socket and no real clock,
 * for test_beacon and test_crowd (the engine's beacon and handshake-answer policy). Its
 * mcast_ops reads datagrams the test queues (a socket of one family only those of its family:
 * one at the head of the queue that no socket of the engine's takes stops the queue) and
 * counts what it sends; its link_ops counts
 * dials and sends nothing anywhere, answers HELLOs it is told to deliver, and can answer every
 * HELLO of ours with a REPLY that fails. Beacons are made by discovery.c itself
 * (beaconmaker.h), so they are the real wire format, really signed. Its state is the one
 * struct t, which each test clears before it starts an engine.
 */
#ifndef MESH_TESTS_BEACONRIG_H
#define MESH_TESTS_BEACONRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "link.h"
#include "mcast.h"
#include "mesh.h"
#include "wire.h"

struct session;

#define MAXQ 256               /* datagrams queued for the engine */
#define FALLBACK_MS 3000       /* the engine's fallback */
#define BEACON_MS 1000         /* the engine's beacon interval */
#define WALL0 1800000000000ull /* the wall clock at virtual time 0 */
#define MAX_LATE 8             /* genuine nodes arriving late in a crowd scenario */
#define MAXHELD 1024           /* dials the test's link remembers until they hang up */
#define MAXTRIES 8             /* of which it times the first */
#define ANY 999u               /* a count the row does not fix */

struct dgram {
	uint8_t data[WIRE_MAX_BEACON + 8];
	size_t len;
	struct ipaddr src;
};

/* The transport's state, and what it saw. */
struct rig {
	struct dgram q[MAXQ];
	size_t head, n;
	unsigned sent;             /* beacons the engine sent */
	unsigned dials;
	uint64_t now;
	struct link_sink sink;
	bool bad_replies;          /* answer every HELLO with a REPLY that fails its checks */
	bool fail_dials;           /* every dial fails at once */
	uint32_t reply_to[MAXQ];   /* sessions owed such a REPLY */
	size_t nreply;
	uint64_t self_inc;         /* the engine's incarnation */
	unsigned alarms;           /* ALARM events */
	/* the crowd scenarios: dials from window_ms on, and each genuine node's first dial
	 * from its first beacon on */
	uint64_t window_ms;
	unsigned window_dials;
	struct watch {
		struct ipaddr ip;
		uint64_t from_ms;
		uint64_t dial_ms;  /* 0: none yet */
	} watch[1 + MAX_LATE];
	size_t nwatch;
	/* HELLOs the link delivers at its next turn, each on a connection of its own, from
	 * hello_addr; and the REPLYs the engine sent */
	unsigned hellos;
	const char *hello_addr;
	bool hello_spread;         /* each HELLO from an address of its own (10.2.x.y) instead */
	unsigned replies;
	/* the dials the link holds (dialled, not hung up): session ID, address, when dialled;
	 * and how long the first MAXTRIES held dials were held */
	struct { uint32_t sid; struct ipaddr ip; uint64_t at; } held[MAXHELD];
	size_t nheld;
	uint64_t tries[MAXTRIES];
	size_t ntries;
	uint32_t expired_ms;       /* the engine's; 0: 10 s */
	/* the host's interfaces, with engine_mcast_ifaces, and the addresses the link was told to
	 * listen on besides its own (listen_also, unlisten) */
	struct mcast_iface ifs[4];
	size_t nifs;
	const char *refuse;        /* opening discovery on this address fails */
	unsigned refused_lines;    /* log lines saying that it did */
	struct ipaddr listening[LINK_MAX_ADDRS];
	size_t nlistening;
	bool listen_twice, unlisten_unknown;
};
extern struct rig t;

/* The engine's multicast: the queued datagrams; and the same with the host's interfaces as
 * t.ifs says, for the engines that follow them (ifaces.c). */
extern const struct mcast_ops engine_mcast, engine_mcast_ifaces;

/* Who sends a beacon in a scenario. */
enum who { US, LOW1, LOW2, HIGH1, HIGH2, NWHO };

enum how {
	GOOD,        /* as the node sends it */
	FORGED,      /* one bit of the signature flipped */
	ELSEWHERE,   /* announcing another address than the datagram's source */
	EARLIER,     /* signed a second before the engine started (a replay of an earlier run) */
};

struct beacon {
	uint64_t at_ms;            /* virtual time it arrives */
	enum who who;
	enum how how;
	uint16_t port;             /* announced port; 0: 7001 */
	uint64_t counter_ms;       /* the wall clock it is signed at; 0: now */
	uint64_t incarnation;      /* 0: the sender's own */
	uint64_t every_ms;         /* nonzero: sent again this often, to the end of the row */
};

/* The identities of a scenario; the test makes them (rig_ids_init). */
extern struct keys_identity *ids[NWHO];
/* Ours in the middle of the ID space, two lower and two higher beside it; false if one could
 * not be made. */
bool rig_ids_init(void);
void rig_ids_free(void);

/* Queues b's datagram, as its row says. */
void queue_beacon(const struct beacon *b);
/* A beacon of id, signed at virtual time at_ms (a replay when that is past), from ip (and
 * announcing it), port 7001. */
void queue_signed(const struct keys_identity *id, const struct ipaddr *ip, uint64_t inc,
                  uint64_t at_ms);
/* A beacon of id, signed now, from ip (and announcing it), port 7001. */
void queue_id(const struct keys_identity *id, const struct ipaddr *ip, uint64_t inc);

/* A live session with id's run inc, made by hand at now (the rig's link completes no
 * handshake): in the session table and the peer's live_sid, with no keys, so it must not be
 * sealed with. The peer entry must exist. NULL if it could not be made. The engine may close
 * it: keep its sid, not the pointer, past a call into the engine. */
struct session *live_with(struct mesh *m, const uint8_t id[WIRE_IDLEN], uint64_t inc,
                          uint64_t now);
/* Ends the session sid that live_with made, unless the engine closed it: out of the table and
 * the peer, destroyed. 0 is fine. */
void unlive(struct mesh *m, uint32_t sid);

/* The engine under test, over ops, logging at level to log (NULL: nowhere); ALARM events are
 * counted in t.alarms. */
struct mesh *engine_new_logged(const struct mcast_ops *ops, int level,
                               void (*log)(void *arg, int level, const char *line));
struct mesh *engine_new_ops(const struct mcast_ops *ops);
struct mesh *engine_new(void);

#endif
