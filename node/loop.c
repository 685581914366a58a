/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * loop.c: the node's event loop. One turn (loop_turn) runs the tick, the known peers, the
 * commands, one poll of the engine's sockets and the events it produced; the loop thread runs
 * turns in loop_main, a driven node's owner in drive_turn (meshnode_drive, meshnode_next_event
 * and the calls that wait for a command), after meshnode_drive_fds() has said what to poll
 * for, if the owner polls. The turn's phases are timed, and a late turn says which phase
 * took it. docs/architecture.md, sections 3 and 6.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "known.h"
#include "mesh.h"
#include "meshnode.h"
#include "monoclock.h"
#include "node_impl.h"

/* A turn of the loop that came late. Seen from outside, a loop that stops (a phase that takes
 * seconds, or a thread the host does not schedule) looks like a peer that went quiet: its
 * sessions expire at the other end while it sends nothing. So a turn whose work took
 * LATE_TURN_MS or more says which phase took it, and a poll that returned LATE_TURN_MS or more
 * after its timeout says so; at most one line a LATE_TURN_LOG_MS, which counts the late turns
 * not logged since the line before. */
#define LATE_TURN_MS 1000
#define LATE_TURN_LOG_MS 10000

static void turn_check(struct meshnode *n, struct turn_clock *tc, uint64_t now)
{
	uint64_t work = 0;
	for (int i = 0; i < PH_COUNT; i++)
		work += tc->ms[i];
	if (work < LATE_TURN_MS && tc->overslept < LATE_TURN_MS && tc->undriven < LATE_TURN_MS)
		return;
	if (tc->logged_ms && now - tc->logged_ms < LATE_TURN_LOG_MS) {
		tc->unsaid++;
		return;
	}
	char more[64] = "";
	if (tc->unsaid)
		snprintf(more, sizeof more, " (and %lu late turns since the last report)", tc->unsaid);
	if (work >= LATE_TURN_MS)
		node_logmsg(n, MESHNODE_LOG_WARN, "a turn of the loop took %llu ms: timers %llu, "
		            "known peers %llu, input %llu, commands %llu, events %llu, other %llu%s",
		            (unsigned long long)work, (unsigned long long)tc->ms[PH_TIMERS],
		            (unsigned long long)tc->ms[PH_KNOWN], (unsigned long long)tc->ms[PH_INPUT],
		            (unsigned long long)tc->ms[PH_COMMANDS],
		            (unsigned long long)tc->ms[PH_EVENTS], (unsigned long long)tc->ms[PH_OTHER],
		            more);
	else if (tc->overslept >= LATE_TURN_MS)
		node_logmsg(n, MESHNODE_LOG_WARN, "the loop woke %llu ms after its poll's timeout: "
		            "the host did not run it, or was suspended%s",
		            (unsigned long long)tc->overslept, more);
	else
		node_logmsg(n, MESHNODE_LOG_WARN, "the node was not driven for %llu ms (no "
		            "meshnode_drive or meshnode_next_event on its thread): its peers may "
		            "take it for gone%s", (unsigned long long)tc->undriven, more);
	tc->logged_ms = now;
	tc->unsaid = 0;
}

/* When the loop must turn with nothing to read: the engine's next deadline, the known peers'
 * next look, and TAKEN_POLL_MS after the last tick while messages wait to be taken. A look
 * that fell due since the last turn looked is due now; one that was due when it looked, and
 * that it could not make (known_on_tick found the store busy), is tried TAKEN_POLL_MS after
 * that look, not in a spin. */
static uint64_t loop_next_due(const struct meshnode *n, const struct loop_state *ls,
                              uint64_t now)
{
	uint64_t due = mesh_next_due(n->mesh);
	uint64_t k = known_next_due(n);
	if (k <= now)
		k = k > ls->known_looked ? now : ls->known_looked + TAKEN_POLL_MS;
	if (k < due)
		due = k;
	if (n->ut_len && ls->ticked + TAKEN_POLL_MS < due)
		due = ls->ticked + TAKEN_POLL_MS;
	return due;
}

/* A driven node left alone this long reads what came meanwhile before its timers run, so
 * that they do not judge its peers by frames still waiting in its sockets (EVASIVE, then
 * BACK, for nothing). */
#define READ_FIRST_MS 100

/* The engine's poll items in ls->items (ls->nitems of them), with room for one more (the
 * wake-up pipe); false when out of memory. */
static bool poll_set(struct meshnode *n, struct loop_state *ls)
{
	size_t want = mesh_pollitems_count(n->mesh) + 1;
	if (want > ls->cap) {
		zmq_pollitem_t *ni = realloc(ls->items, want * 2 * sizeof *ni);
		if (!ni)
			return false;
		ls->items = ni;
		struct pollfd *np = realloc(ls->pfds, want * 2 * sizeof *np);
		if (!np)
			return false;   /* items grew, cap did not: the next call tries again */
		ls->pfds = np;
		ls->cap = want * 2;
	}
	ls->nitems = mesh_pollitems(n->mesh, ls->items, ls->cap - 1);
	return true;
}

/* zmq_poll(), one system call cheaper when it sleeps: zmq_poll() polls once without waiting,
 * then again with the timeout, which costs the loop a second poll() each time it sleeps (once
 * a message or so when messages come one by one). The engine's set holds descriptors only
 * (the link's epoll set, the discovery sockets; the wake-up pipe is one too), and for those
 * one poll() with the timeout does the same. A set with a zmq socket in it, which the engine
 * does not make today, still goes to zmq_poll(), which alone can poll one (and so does an
 * item that asks for ZMQ_POLLPRI, which nothing here asks for). */
static int loop_poll(struct loop_state *ls, zmq_pollitem_t *items, int nitems, long timeout)
{
	struct pollfd *pf = ls->pfds;
	for (int i = 0; i < nitems; i++) {
		if (items[i].socket || (items[i].events & ZMQ_POLLPRI))
			return zmq_poll(items, nitems, timeout);
		short ev = items[i].events;
		pf[i] = (struct pollfd){ .fd = items[i].fd,
		                         .events = (short)((ev & ZMQ_POLLIN ? POLLIN : 0) |
		                                           (ev & ZMQ_POLLOUT ? POLLOUT : 0)) };
	}
	int rc = poll(pf, (nfds_t)nitems, timeout > INT_MAX ? INT_MAX : (int)timeout);
	for (int i = 0; i < nitems; i++) {
		short r = rc > 0 ? pf[i].revents : 0;
		/* as zmq_poll() reports them: anything but in and out (a hang-up) is an error */
		items[i].revents = (short)((r & POLLIN ? ZMQ_POLLIN : 0) |
		                           (r & POLLOUT ? ZMQ_POLLOUT : 0) |
		                           (r & ~(POLLIN | POLLOUT) ? ZMQ_POLLERR : 0));
	}
	return rc;
}

/* One turn: ACKs for what the application took, the tick if due, the known peers, then one
 * poll until the next deadline, the input and the commands it found, and the turn's events.
 * false once the loop must end: the poll failed (an ERROR event says so).
 *
 * A driven node's turn (its owner's thread, meshnode_start_driven) differs in three ways:
 * the commands its owner queued run before the poll, since no wake-up byte announces them;
 * the poll waits at most max_wait ms (-1: no cap but the deadline); and it does not wait at
 * all while events are queued, so that the owner gets them back at once. */
static bool loop_turn(struct meshnode *n, struct loop_state *ls, long max_wait)
{
	struct turn_clock *tc = &ls->tc;
	uint64_t now = monoclock_ms(), t = now;
	tc->undriven = n->driven && ls->ended && now > ls->ended ? now - ls->ended : 0;
	events_ack_taken(n, now);   /* first: the room for input counts what was taken */
	if (tc->undriven >= READ_FIRST_MS && poll_set(n, ls) &&
	    loop_poll(ls, ls->items, (int)ls->nitems, 0) > 0)
		mesh_on_ready(n->mesh, ls->items, ls->nitems, now);
	uint64_t t1 = monoclock_ms();
	tc->ms[PH_OTHER] = t1 - t;
	bool waiting = false;   /* a driven node: events queued for its owner */
	if (now >= ls->next_tick) {
		mesh_on_tick(n->mesh, now);
		events_flush(n);   /* its EXITs and DROPPEDs before the loop sleeps */
		ls->ticked = now;
	}
	t = monoclock_ms();
	tc->ms[PH_TIMERS] = t - t1;
	ls->known_looked = now;
	known_on_tick(n, now);
	t1 = monoclock_ms();
	tc->ms[PH_KNOWN] = t1 - t;
	tc->ms[PH_COMMANDS] = 0;
	if (n->driven) {
		if (n->cq_head)   /* only the owner queues, so this read needs no lock */
			handle_wake(n);
		events_flush(n);
		waiting = events_waiting(n);
		t = monoclock_ms();
		tc->ms[PH_COMMANDS] = t - t1;
		t1 = t;
	}
	if (!poll_set(n, ls)) {
		node_logmsg(n, MESHNODE_LOG_ERROR, "out of memory in the event loop");
		struct timespec ts = { 0, 10000000L };
		nanosleep(&ts, NULL);
		return true;
	}
	zmq_pollitem_t *items = ls->items;
	size_t k = ls->nitems;
	items[k] = (zmq_pollitem_t){ .fd = n->wake[0], .events = ZMQ_POLLIN };
	int nitems = (int)k + (n->driven ? 0 : 1);   /* a driven node has no wake-up pipe */
	now = monoclock_ms();
	ls->next_tick = loop_next_due(n, ls, now);   /* after the tick, before the sleep */
	tc->ms[PH_OTHER] += now - t1;
	long timeout = ls->next_tick > now ? (long)(ls->next_tick - now) : 0;
	if (n->driven && (waiting || (max_wait >= 0 && timeout > max_wait)))
		timeout = waiting ? 0 : max_wait;
	int rc = loop_poll(ls, items, nitems, timeout);
	int poll_errno = errno;
	t = monoclock_ms();
	tc->overslept = t - now > (uint64_t)timeout ? t - now - (uint64_t)timeout : 0;
	tc->ms[PH_INPUT] = 0;
	if (rc < 0 && poll_errno == ENOMEM) {
		/* the kernel's memory for the poll, short for now: as when poll_set() runs out */
		node_logmsg(n, MESHNODE_LOG_ERROR, "out of memory in the event loop's poll");
		struct timespec ts = { 0, 10000000L };
		nanosleep(&ts, NULL);
		return true;
	}
	if (rc < 0 && poll_errno != EINTR) {
		node_logmsg(n, MESHNODE_LOG_ERROR, "poll: %s", zmq_strerror(poll_errno));
		struct meshnode_event *ev = events_new();
		if (ev) {
			ev->type = MESHNODE_EV_ERROR;
			ev->reason = "the event loop failed (poll); the node has stopped";
			events_push(n, ev);
		}
		return false;
	}
	if (rc > 0) {
		now = t;
		mesh_on_ready(n->mesh, items, k, now);
		t1 = monoclock_ms();
		tc->ms[PH_INPUT] = t1 - t;
		if (!n->driven && (items[k].revents & ZMQ_POLLIN)) {
			handle_wake(n);
			t = monoclock_ms();
			tc->ms[PH_COMMANDS] = t - t1;
		} else {
			t = t1;
		}
	}
	events_flush(n);
	t1 = monoclock_ms();
	tc->ms[PH_EVENTS] = t1 - t;
	turn_check(n, tc, t1);
	ls->next_tick = loop_next_due(n, ls, t1);   /* what this turn made due: at the top */
	ls->ended = t1;
	return true;
}

/* After the last turn: BYE to every peer, the engine and its sockets gone, the last events
 * queued, and the callers still waiting told. */
void loop_finish(struct meshnode *n, struct loop_state *ls)
{
	free(ls->items);
	free(ls->pfds);
	ls->items = NULL;
	ls->pfds = NULL;
	ls->cap = 0;
	mesh_say_bye(n->mesh, monoclock_ms());
	mesh_destroy(&n->mesh);
	events_flush(n);
	pthread_mutex_lock(&n->lock);
	n->loop_done = true;
	/* sends still in the FIFO are never run (their callers were told MESH_OK: the node
	 * stopped, as meshnode_stop() says); waiting callers see loop_done and get MESH_ESTATE */
	struct cmd *left = n->cq_head;
	n->cq_head = n->cq_tail = NULL;
	n->cq_sends = n->cq_bytes = 0;
	for (struct cmd *next; left; left = next) {
		next = left->next;
		if (left->async)
			free_cmd(left);
	}
	if (n->ev_count == 0)
		(void)!write(n->evpipe[1], "e", 1);   /* wake pollers: next_event now returns NULL */
	pthread_mutex_unlock(&n->lock);
	pthread_cond_broadcast(&n->cond);
}

void *loop_main(void *arg)
{
	struct meshnode *n = arg;
	while (!n->quit && loop_turn(n, &n->ls, -1))
		;
	loop_finish(n, &n->ls);
	return NULL;
}

bool node_owner_ok(const struct meshnode *n)
{
	/* in_turn: a call from log_fn or the trace, inside a turn, would run a turn inside it */
	return !n->driven || (pthread_equal(pthread_self(), n->owner) && !n->ls.in_turn);
}

void drive_turn(struct meshnode *n, long timeout_ms)
{
	if (!n->started || n->loop_done)
		return;
	n->ls.in_turn = true;   /* the node's end too: its BYEs are traced, its flush may log */
	if (n->quit || !loop_turn(n, &n->ls, timeout_ms) || n->quit)
		loop_finish(n, &n->ls);
	n->ls.in_turn = false;
}

enum mesh_err meshnode_drive(struct meshnode *n, int timeout_ms)
{
	if (!n || !n->driven || !node_owner_ok(n))
		return MESH_ESTATE;
	if (!n->started || n->loop_done)
		return MESH_ESTATE;
	drive_turn(n, timeout_ms < 0 ? -1 : timeout_ms);
	return n->loop_done ? MESH_ESTATE : MESH_OK;   /* the turn's poll failed: stopped */
}

/* What a driven node's owner polls before the next turn (meshnode.h): the turn's own pre-poll
 * work (the rechecks, next_tick), without the poll. */
int meshnode_drive_fds(struct meshnode *n, int *fds, size_t cap, int *timeout_ms)
{
	if (!n || !n->driven || !node_owner_ok(n) || !n->started || n->loop_done)
		return -1;
	struct loop_state *ls = &n->ls;
	long timeout;
	int count = 0;
	if (!poll_set(n, ls)) {   /* the rechecks, as before the loop's own poll */
		ls->in_turn = true;   /* its log_fn may not call back into the node */
		node_logmsg(n, MESHNODE_LOG_ERROR, "out of memory in the event loop");
		ls->in_turn = false;
		timeout = 10;          /* nothing to poll: the owner comes back soon */
	} else {
		uint64_t now = monoclock_ms();
		/* as loop_turn sets it before it sleeps, so that the turn at the deadline ticks */
		ls->next_tick = loop_next_due(n, ls, now);
		timeout = ls->next_tick > now ? (long)(ls->next_tick - now) : 0;
		/* the owner's commands run only in a turn, and its events wait to be taken */
		if (n->cq_head || events_waiting(n))
			timeout = 0;
		for (size_t i = 0; i < ls->nitems; i++) {
			if (ls->items[i].socket) {   /* a zmq socket has no descriptor to give: turn */
				timeout = 0;
				continue;
			}
			if ((size_t)count < cap)
				fds[count] = ls->items[i].fd;
			count++;
		}
	}
	if (timeout_ms)
		*timeout_ms = timeout > INT_MAX ? INT_MAX : (int)timeout;
	return count;
}
