/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_attackers: the bodies of the attack scenario's attackers (docs/meshsim.md,
 * "Attack"). Each runs in a process meshsim forked, inside meshsim's private network
 * namespace, for a bounded time against one victim node on loopback, and then returns what it
 * did as one line of text. meshsim_attack.c schedules them and measures the victim.
 *
 * Layering: a tool normally sees only node/ and crypto/keys.h. The attackers are the one
 * exception that includes mesh/ headers beyond simnet's (discovery.h, mcast.h, wire.h, and
 * session.h in meshsim_hold.c): they must speak the protocol's own encodings, badly on
 * purpose, sign beacons with fresh identities and complete real handshakes through the same
 * code a node uses. They never include mesh_impl.h.
 *
 * Invariants:
 * - Every packet goes to 127.0.0.0/8 or to the multicast group on `lo`: the victim's ROUTER
 *   address is checked to be a loopback address before anything is sent. mitm's nft table
 *   diverts only TCP from 127.0.0.1 to 127.0.0.1, and lives in meshsim's namespace.
 * - An attacker stops by itself at its deadline, and closes what it opened.
 */
#ifndef MESHSIM_ATTACKERS_H
#define MESHSIM_ATTACKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "keys.h"

enum meshsim_attacker {
	MESHSIM_ATK_CONN_FLOOD = 0,  /* TCP connections that never finish ZMTP */
	MESHSIM_ATK_BEACON_FLOOD,    /* validly signed beacons from many fresh identities */
	MESHSIM_ATK_HELLO_FLOOD,     /* ZMTP connections sending Noise HELLOs, some a bad FINISH */
	MESHSIM_ATK_PARTIAL_HOLD,    /* linked peers of our own, each a message never finished */
	MESHSIM_ATK_GARBAGE,         /* malformed and replayed beacons, garbage ZMTP and msgpack */
	MESHSIM_ATK_MITM,            /* on the path of every link: key swaps, tampered frames */
	MESHSIM_ATK_COUNT
};

/* An attacker's return value when the protocol gave way (mitm: a swapped key accepted,
 * plaintext seen); its process then exits with this status. */
#define MESHSIM_ATK_BREACH 2

/* A node of the mesh as meshsim knows it: where it listens and who it is. */
struct meshsim_attack_node {
	uint16_t port;
	uint8_t id[KEYS_IDLEN];
};

struct meshsim_attack_target {
	struct in_addr addr;         /* the victim's ROUTER (loopback) */
	uint16_t port;
	uint16_t mcast_port;         /* the mesh's beacons, on lo */
	double secs;                 /* how long the attack lasts */
	int conns;                   /* conn-flood: connections held at once */
	uint64_t seed;
	/* partial-hold: the identities of its peers (meshsim made them, so it knows their IDs)
	 * and the victim's ID, which the handshake checks */
	struct keys_identity *const *holders;
	int nholders;
	uint8_t victim_id[KEYS_IDLEN];
	/* mitm: meshsim's nodes, so that its key swaps can claim the dialled node's ID */
	const struct meshsim_attack_node *nodes;
	int nnodes;
};

const char *meshsim_attacker_name(enum meshsim_attacker a);
/* Parses "conn-flood" etc.; -1 if unknown. */
int meshsim_attacker_parse(const char *name);

/* Runs attacker a until t->secs have passed; what it did goes to desc. 0, or -1 with the
 * reason in desc. Called in a forked child only. */
int meshsim_attacker_run(enum meshsim_attacker a, const struct meshsim_attack_target *t,
                         char *desc, size_t cap);
/* meshsim_mitm.c: mitm, until end_ms (monoclock); MESHSIM_ATK_BREACH if the protocol gave
 * way. */
int meshsim_attacker_mitm(const struct meshsim_attack_target *t, uint64_t end_ms, char *desc,
                          size_t cap);
/* Deletes mitm's nft table, if it is still there (its attacker was killed). */
void meshsim_mitm_cleanup(void);
/* meshsim_hold.c: partial-hold, until end_ms (monoclock). */
int meshsim_attacker_hold(const struct meshsim_attack_target *t, uint64_t end_ms, char *desc,
                          size_t cap);

#endif
