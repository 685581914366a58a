/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * node_impl: the inside of the embeddable node, shared by meshnode.c (configuration, the loop
 * thread, commands, the API) and events.c (the event queue, the set of present peers, and the
 * acknowledgement of what the application took). Private to node/: the library installs only
 * meshnode.h.
 *
 * Threads (docs/architecture.md): `lock` guards the command FIFO, the event queue, the present
 * set and the application's count of messages taken; everything marked "loop thread" belongs
 * to the loop thread alone. node_ functions are meshnode.c's, events_ functions events.c's.
 */
#ifndef NODE_NODE_IMPL_H
#define NODE_NODE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <zmq.h>

#include "group.h"
#include "json.h"
#include "keys.h"
#include "mesh.h"
#include "meshnode.h"

#define EVENT_QUEUE_MAX 200000     /* events the application has not read yet */
#define EVENT_QUEUE_MAX_BYTES (256u << 20)   /* payload bytes in those events */
#define TTL_DEFAULT_MS 60000
#define SEND_QUEUE_MAX 65536       /* sends the loop has not taken yet; then the caller waits */
#define SEND_QUEUE_MAX_BYTES (64u << 20)
#define PRESENT_BUCKETS 1024

enum cmd_kind {
	CMD_STOP = 1,
	CMD_JOIN,
	CMD_LEAVE,
	CMD_SHOUT,
	CMD_WHISPER,
	CMD_PEERS,
	CMD_GROUPS,
	CMD_SAS,
	CMD_STATS,
	CMD_STATUS,
	CMD_RELINK,
	CMD_ADD_PEER,
};

/* A fixed peer's address, parsed and resolved (peeraddr.c). */
struct node_peer_addr {
	struct ipaddr ip;
	uint16_t port;
	bool pinned;
	uint8_t pin[MESHNODE_IDLEN];
};
/* "[NODEID@]HOST:PORT" into out; 0, or -1 with a one-line reason in err. May block while a
 * name is resolved. */
int node_peer_addr_parse(const char *s, struct node_peer_addr *out, char *err, size_t errcap);
/* A malloc'd copy of s, or NULL (s NULL, or out of memory) (create.c). */
char *node_dupstr(const char *s);

struct cmd {
	struct cmd *next;           /* in the FIFO */
	enum cmd_kind kind;
	bool async;                 /* a send nobody waits for: the loop frees it */
	const char *group;
	uint8_t peer[MESHNODE_IDLEN];
	struct outmsg *om;          /* SHOUT, WHISPER */
	/* results */
	enum mesh_err rc;
	uint64_t msg_id;
	struct meshnode_peer *peers;
	size_t npeers;
	char **groups;
	size_t ngroups;
	char sas[KEYS_SAS_LEN];
	struct mesh_stats stats;    /* STATS: all the engine's counters */
	struct node_peer_addr addr; /* ADD_PEER */
	uint64_t sessions_live;
	struct meshnode_status status;              /* STATUS; its peers go in pstatus */
	struct meshnode_peer_status *pstatus;
	bool done;
};

/* An event and its link in the queue, in one allocation; ev comes first so that
 * meshnode_event_destroy() frees the box. */
struct evbox {
	struct meshnode_event ev;
	struct evbox *next;
};

struct present {
	struct present *next;
	uint8_t id[MESHNODE_IDLEN];
};

/* A message event handed to the queue, to acknowledge once the application has taken it. */
struct untaken {
	uint8_t peer[MESHNODE_IDLEN];
	uint64_t incarnation, msg_id;
	size_t len;
};

/* The last name alarm about one name (known.c, name_alarm_due). */
#define NAME_ALARM_SLOTS 32
#define NAME_ALARM_GAP_MS 60000
struct name_alarm {
	uint64_t hash;              /* of the name, lowercased, without blanks at the ends */
	uint64_t last_ms;           /* 0: free */
	unsigned held;              /* alarms held back since */
};

/* While messages handed to the application are not all taken, the loop turns at least this
 * often, so that their ACKs follow the taking (events_ack_taken) and the reader never has to
 * wake it; a driven node's owner reading a long queue turns it as often. */
#define TAKEN_POLL_MS 20

/* The loop's turns (meshnode.c): the time each phase took, for the late-turn warning, and
 * what the loop keeps from one turn to the next. */
enum turn_phase { PH_TIMERS, PH_KNOWN, PH_INPUT, PH_COMMANDS, PH_EVENTS, PH_OTHER, PH_COUNT };

struct turn_clock {
	uint64_t ms[PH_COUNT];   /* this turn's time in each phase */
	uint64_t overslept;      /* how long the poll returned after its timeout */
	uint64_t undriven;       /* a driven node: how long before this turn none ran */
	uint64_t logged_ms;      /* the last line's time, 0 before the first */
	unsigned long unsaid;    /* late turns since, not logged */
};

struct loop_state {
	zmq_pollitem_t *items;   /* the poll set, rebuilt each turn */
	struct pollfd *pfds;     /* loop_poll's copy of items, as poll() takes them */
	size_t cap, nitems;      /* cap of both; nitems: the engine's, without the wake-up pipe */
	uint64_t next_tick, ticked;
	uint64_t ended;          /* the last turn's end (a driven node's gap between turns) */
	uint64_t known_looked;   /* when the last turn looked at the known peers (known_on_tick) */
	bool in_turn;            /* a driven node's owner is inside a turn */
	struct turn_clock tc;
};

struct meshnode {
	struct meshnode_config cfg;
	char *iface, *identity_path, *mesh_key_path, *mcast_group, *mcast_group6;  /* owned */
	char *known_peers_path, *allow_path;                         /* owned copies */
	char name[MESHNODE_MAX_NAME + 1];
	char id_hex[MESHNODE_HEXID_LEN];
	char fingerprint[KEYS_FPR_LEN];
	char endpoint[MESHNODE_ENDPOINT_LEN + 6];   /* "tcp://" and one */
	struct keys_identity *id;
	bool identity_created;      /* meshnode_create() made the identity file at identity_path */
	uint8_t *mesh_key;          /* sodium_malloc'd, or NULL */

	void *zctx;
	struct mesh *mesh;
	pthread_t thread;
	bool started, stopped;
	/* meshnode_start_driven(): no loop thread; owner runs every turn (drive_turn), and every
	 * call that reaches the engine must come from it. Both set before the start. */
	bool driven;
	pthread_t owner;
	struct loop_state ls;       /* the loop thread's, or a driven node's owner's */
	uint64_t start_ms;          /* monoclock_ms() at meshnode_start(): /status uptime */
	/* Groups joined before meshnode_start(): the mesh starts in them, so that its first
	 * hello carries them. Touched only before the loop thread exists. */
	struct group_set start_groups;
	/* Fixed peers added before meshnode_start() (the same: before the loop exists). */
	struct node_peer_addr *start_peers;
	size_t nstart_peers;
	/* meshnode_add_iface(): owned copies, allowed and denied (before the start only) */
	char *ifaces[2][MESHNODE_MAX_IFACES];
	size_t nifaces[2];

	int wake[2];                /* API -> loop */
	int evpipe[2];              /* readable while events are queued */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a command done, room in the FIFO, or an event queued */
	unsigned room_waiters;      /* under lock: senders waiting for room in the FIFO */

	/* the command FIFO (under lock) */
	struct cmd *cq_head, *cq_tail;
	size_t cq_sends, cq_bytes;  /* async sends in it */
	size_t cq_max_sends, cq_max_bytes;  /* SEND_QUEUE_MAX* (tests: smaller) */
	uint64_t cq_waits;          /* under lock: sends that waited for room (tests read it) */
	bool wake_pending;          /* a byte is in the wake pipe that the loop has not read */
	uint64_t next_msg_id;
	bool quit;                  /* loop thread only */
	bool loop_done;

	/* peers with ENTER and no EXIT since (under lock) */
	struct present *present[PRESENT_BUCKETS];

	/* events of the current turn (loop thread only), then the queue (under lock) */
	struct evbox *pend_head, *pend_tail;
	struct evbox *ev_head, *ev_tail;
	size_t ev_count, ev_bytes;
	uint64_t ev_dropped;
	time_t ev_dropped_logged;
	size_t ev_max, ev_max_bytes;  /* EVENT_QUEUE_MAX, EVENT_QUEUE_MAX_BYTES (tests: smaller) */

	/* Acknowledgement (docs/protocol.md section 6): message events are acknowledged once
	 * meshnode_next_event() returned them. The application counts what it took (under
	 * lock); the loop keeps, in order, what it handed over and not yet acknowledged (a ring),
	 * and catches up each turn (ack_taken). The loop's copy of the counts decides whether a
	 * new message may be taken at all (can_take): the queue's budget is never exceeded, so no
	 * message is ever discarded. The counts are changed under lock and read by the loop
	 * without it: it reads them at the start of every turn, often right after it woke the
	 * application, which then holds the lock. */
	_Atomic uint64_t msg_taken, msg_taken_bytes; /* changed under lock, read without */
	uint64_t msg_given, msg_given_bytes;        /* loop thread */
	uint64_t seen_taken, seen_taken_bytes;      /* loop thread: its copy of the above */
	struct untaken *ut;                         /* loop thread: ring of ut_cap */
	size_t ut_cap, ut_head, ut_len;
	struct evbox *spare;                        /* loop thread: events_can_take's reserve */

	/* Remembered peers (known.c): the store and the allow list, under known_lock, which
	 * nothing else takes. known is NULL when remembering is off, allow without a list. */
	pthread_mutex_t known_lock;
	bool known_lock_init;
	struct trust *known;
	struct trust_allow *allow;
	uint64_t known_saved_ms;                    /* loop thread: last save */
	/* The saver thread (known.c) writes the known peers file, so that the loop never waits
	 * for a disk. save_mu guards save_due, save_stop, save_err_new and save_err; file_mu
	 * orders the writes (the saver's, meshnode_trust's and the last at stop) and guards
	 * known_save_failed. */
	pthread_t saver;
	bool saver_started;                         /* set before the loop starts, cleared after */
	pthread_mutex_t save_mu, file_mu;
	pthread_cond_t save_cond;
	bool save_due, save_stop, save_err_new;
	char save_err[512];                         /* the saver's failure, said by the loop */
	bool known_save_failed;
	struct name_alarm name_alarms[NAME_ALARM_SLOTS];   /* loop thread (known.c) */
#ifdef MESH_TEST_HOOKS
	/* meshnode_test_known_save(), set before the start: the save interval (0: known.c's) and
	 * a call made before each write of the known peers file, as a slow disk holds one */
	uint32_t test_save_ms;
	void (*test_save_hook)(void *arg);
	void *test_save_arg;
#endif

	/* meshnode_set_trace() (set before the start; then the loop thread's, tracefmt.c) */
	void (*trace_fn)(void *arg, const char *line);
	void *trace_arg;
	struct json_buf trace_buf;

	/* meshnode_set_keylog() (keylog.c): the open key log, or -1; set before the start, then
	 * written by the loop thread */
	int keylog_fd;
	bool keylog_failed;
};

/* ---------- meshnode.c ---------- */

/* A log line at level (MESHNODE_LOG_*), sanitized, to the configured log function. */
void node_logmsg(struct meshnode *n, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* Reads a non-blocking fd until it is empty. */
void node_drain_fd(int fd);
/* Hands c to the loop and waits until it has run; its result is c->rc (MESH_ESTATE once the
 * loop has ended). Called on the application's threads, never the loop's. */
enum mesh_err node_call(struct meshnode *n, struct cmd *c);
/* Appends c to the FIFO, waking the loop if it is not awake already; an async send waits
 * there while the FIFO is over its caps. MESH_ESTATE once the node is not running. Called
 * with lock held (calls.c's sends). */
enum mesh_err enqueue_cmd(struct meshnode *n, struct cmd *c);
/* Frees a command and drops its message. */
void free_cmd(struct cmd *c);
/* Runs every command in the FIFO, in order, on the loop's thread (a driven node's: its
 * owner's). */
void handle_wake(struct meshnode *n);

/* ---------- loop.c ---------- */

/* The loop thread's body: turns until the node stops, then its end (loop_finish). */
void *loop_main(void *arg);
/* The node's end, on the loop's thread: BYEs, the engine closed, the FIFO emptied, and every
 * waiter told (loop_done). */
void loop_finish(struct meshnode *n, struct loop_state *ls);
/* A driven node: whether the calling thread is its owner, outside a turn (always true for a
 * node with a loop thread). */
bool node_owner_ok(const struct meshnode *n);
/* A driven node, on its owner's thread: one turn, its poll waiting at most timeout_ms (-1: up
 * to the node's next deadline); runs the node's end if the turn stopped it. */
void drive_turn(struct meshnode *n, long timeout_ms);

/* ---------- queries.c (on the loop thread, from run_cmd) ---------- */

void queries_run_peers(struct meshnode *n, struct cmd *c);
void queries_run_groups(struct meshnode *n, struct cmd *c);
void queries_run_stats(struct meshnode *n, struct cmd *c);
void queries_run_status(struct meshnode *n, struct cmd *c, uint64_t now);

/* ---------- tracefmt.c ---------- */

/* The engine's trace function (mesh_config.trace): a JSON line to trace_fn, and at log level
 * debug a log line for each drop and decision. arg is the node. */
void node_trace(void *arg, const struct mesh_trace *t);

/* ---------- keylog.c ---------- */

/* The engine's key log function (mesh_config.keylog): one line to the key log. arg is the
 * node. */
void node_keylog(void *arg, const struct mesh_keylog *k);

/* ---------- events.c ---------- */

/* The set of present peers (ENTER and no EXIT since), under lock. */
bool events_present_has(const struct meshnode *n, const uint8_t id[MESHNODE_IDLEN]);
void events_present_set(struct meshnode *n, const uint8_t id[MESHNODE_IDLEN], bool on);
void events_present_clear(struct meshnode *n);
/* A zeroed event in its box (meshnode_event_destroy frees it); NULL when out of memory. */
struct meshnode_event *events_new(void);
/* Loop thread: the event joins this turn's batch; events_flush() queues the batch. */
void events_push(struct meshnode *n, struct meshnode_event *ev);
void events_flush(struct meshnode *n);
/* Whether events wait in the queue for the application. */
bool events_waiting(struct meshnode *n);
/* The next queued event, or NULL; counts a message as taken. */
struct meshnode_event *events_take(struct meshnode *n);
/* Copies a NUL-terminated string into a fixed array, cut to fit. */
void events_copy_str(char *dst, size_t cap, const char *src);
/* Loop thread: the engine's event callback (mesh_config.event). */
void events_on_mesh(void *arg, const struct mesh_event *me);
/* Loop thread: acknowledges what the application took since the last turn (mesh_taken). */
void events_ack_taken(struct meshnode *n, uint64_t now);
/* Loop thread, the engine's room callbacks (mesh_config.can_take, can_resume). */
bool events_can_take(void *arg, size_t len);
bool events_can_resume(void *arg);

#endif
