/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * simnet_impl: what simnet.c (the world: scheduler, nodes, faults, the run), simnet_app.c (the
 * application and the checks) and simnet_net.c (the simulated LAN: link_ops and mcast_ops)
 * share. Private to those three files.
 */
#ifndef MESH_TOOLS_SIMNET_IMPL_H
#define MESH_TOOLS_SIMNET_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "link.h"
#include "mcast.h"
#include "mesh.h"
#include "simnet.h"
#include "wire.h"

#define PORT 7000
#define HWM 256                      /* frames per connection and direction, as LINK_ZMQ_HWM */
#define RECONNECT_MS 100
#define RECONNECT_MAX_MS 2000
#define WALL_BASE_MS 1800000000000ull /* the wall clock beacon counters see at virtual time 0 */
#define GROUP "sim"
#define HDR 24                        /* payload header: sender identity, life, msg_id */
/* simnet_config_init()'s rekey interval: about a dozen rekeys per link during the 20 s of traffic
 * and faults of a default run (each costs some ten X25519 operations) */
#define SIMNET_REKEY_MS 1500


enum ev_kind {
	EV_DGRAM, EV_FRAME, EV_CONNECT, EV_TICK, EV_APP, EV_CUT, EV_PARTITION, EV_HEAL,
	EV_CRASH, EV_RESTART, EV_PAUSE, EV_RESUME, EV_SLOW, EV_TAKE, EV_END,
};

struct ev {
	uint64_t t, seq;
	enum ev_kind kind;
	uint32_t node;                   /* DGRAM, TICK, APP, CRASH, RESTART, PAUSE, RESUME, SLOW,
	                                  * TAKE */
	uint32_t conn;                   /* FRAME, CONNECT */
	uint32_t gen;                    /* TICK: the node's tick generation; CONNECT, FRAME:
	                                  * the connection's epoch */
	bool back;                       /* FRAME: responder to dialler */
	uint8_t src[4];                  /* DGRAM */
	size_t len;
	uint8_t *data;
};

/* A datagram or frame waiting in a node's inbox for its engine. */
struct item {
	struct item *next;
	uint32_t conn, epoch;            /* frames */
	bool back;
	uint8_t src[4];                  /* datagrams */
	size_t len;
	uint8_t data[];
};

struct conn {
	uint32_t from, from_life;        /* the dialler and its process */
	uint32_t sid;
	uint8_t ip[4];
	bool open;                       /* the dialler has not hung up */
	bool up;
	uint32_t to, to_life;            /* while up */
	uint32_t route;                  /* while up: how the responder names it (unique) */
	uint32_t epoch;                  /* bumped when it breaks: frames in flight are lost */
	uint32_t backoff;
	uint64_t last_fwd, last_back;    /* arrival of the last frame each way (order) */
	uint32_t unread_fwd, unread_back;/* sent, not yet read by the other engine (HWM) */
	struct item *wait_head, *wait_tail;  /* sent before it was up */
	uint32_t nwait;
};

struct node {
	uint32_t idx;
	uint8_t ip[4];
	char endpoint[40];
	struct keys_identity *id;
	uint32_t ident;                  /* number of the identity, unique in the run */
	uint32_t life;                   /* processes started on this node so far */
	struct mesh *m;                  /* NULL while crashed */
	bool paused;
	uint32_t side;                   /* partition side */
	uint32_t tick_gen;
	uint64_t next_tick;
	uint64_t msg_id;
	uint32_t live;                   /* peers present (ENTER minus EXIT) */
	struct link_sink sink;
	uint32_t *dialled;               /* conn numbers of open connections */
	size_t ndialled, capdialled;
	/* The application's inbox: messages the engine handed over that the application has not
	 * taken yet (EV_TAKE takes them all, unless the reader is slow until slow_until). */
	struct inmsg *inbox;
	size_t ninbox, capinbox;
	bool take_due;
	uint64_t slow_until;
	struct item *fhead, *ftail;      /* frames */
	struct item *dhead, *dtail;      /* datagrams */
	uint8_t *fbuf;                   /* frame_buf() */
	size_t fbufcap, fbuflen;         /* its size, and the length asked for last */
};

/* A message in an application's inbox: its header (which names it) and length. */
struct inmsg {
	uint8_t peer[WIRE_IDLEN];
	uint64_t incarnation, msg_id;
	size_t len;
	uint8_t hdr[HDR];
};
#define INBOX_MAX 64                 /* the application's budget: beyond it the engine refuses */

/* One (message, recipient) the sender's engine accepted. */
struct rec {
	uint32_t sender_ident, sender_life, dest_ident;
	uint64_t msg_id;
	uint64_t sent_ms;
	uint32_t delivered, reported;
	uint32_t reported_sure;      /* DROPPED saying it certainly was not delivered */
	uint32_t receipts;           /* DELIVERED */
	bool sender_died;
};

/* What a receiver last took from one sender's process. */
struct last {
	uint32_t sender_ident, sender_life;
	uint64_t msg_id;
};

struct world {
	const struct simnet_config *cfg;
	struct simnet_report *r;
	uint64_t now, seq;
	struct ev **heap;
	size_t nheap, capheap;
	struct node *nodes;
	uint32_t n;
	struct conn **conns;
	uint32_t nconns, capconns;
	uint32_t *route_conn;            /* route -> conn + 1 */
	uint32_t nroutes, caproutes;
	/* identities: ident -> node (UINT32_MAX when retired) and the ID bytes */
	uint32_t *ident_node;
	uint8_t (*ident_id)[WIRE_IDLEN];
	uint32_t nident, capident;
	uint32_t *idx;                   /* open addressing: ident + 1, keyed by the ID */
	size_t capidx;
	struct rec *recs;
	size_t nrecs, caprecs;
	size_t *rec_index;               /* open addressing over recs, key: sender, life, id, dest */
	size_t capindex;
	struct last **lasts;             /* per receiving node: per sender identity */
	uint64_t partition_until;        /* 0: no partition */
	uint32_t up, complete;           /* running nodes, of them those linked to all others */
	uint64_t live_total;             /* live peers summed over running nodes */
	size_t capsteps, caplat;
	bool settling, oom;
	uint8_t *payload;
};

/* The run in progress: the transport's callbacks reach the world through it. */
extern struct world *simnet_w;

/* simnet.c */
void sim_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grows an array to hold need elements (simnet_w->oom and NULL if it cannot). */
void *sim_grow(void *p, size_t *cap, size_t need, size_t size);
/* NULL (simnet_w->oom set) if out of memory */
struct ev *sim_schedule(uint64_t t, enum ev_kind kind);
struct ev *sim_take(void);
uint64_t sim_below(uint64_t n);                           /* the scheduler's draw in [0, n) */

/* simnet_app.c */
bool sim_ident_index(uint32_t ident);          /* indexes a new identity's ID */
void sim_on_event(void *arg, const struct mesh_event *ev);   /* the engines' event callback */
void sim_app_send(struct node *nd);            /* one whisper or shout, recorded */
void sim_record_step(void);                    /* live sessions changed: a step (record) */
/* The application takes what its inbox holds (EV_TAKE), and the engine's room callback. */
void sim_app_take(struct node *nd);
bool sim_can_take(void *arg, size_t len);
bool sim_can_resume(void *arg);
void sim_final_checks(void);                   /* after settling: links and messages */

/* simnet_net.c */
extern const struct link_ops simnet_link;
extern const struct mcast_ops simnet_mcast;
uint64_t sim_delay(void);                                 /* one way, with jitter */
bool sim_reachable(const struct node *a, const struct node *b);
struct item *sim_item_new(const uint8_t *data, size_t len);
void sim_append(struct item **head, struct item **tail, struct item *it);
void sim_free_items(struct item **head, struct item **tail);
struct node *sim_node_at(const uint8_t ip[4]);
void sim_conn_break(uint32_t cn, struct conn *c);
void sim_on_connect(uint32_t cn, uint32_t epoch);

#endif
