/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_check: the account of every message a sender accepted, per recipient, by the
 * delivery contract of issue 12 (docs/meshsim.md, "The account"). The faults, churn and
 * attack scenarios feed it what the nodes printed; at the end it sorts every (message,
 * recipient) into exactly one outcome and reports each violation:
 *
 *   delivered   delivered exactly once, in per-sender order, with a "delivered" receipt (or
 *               with no answer at all when the nodes run without --receipts)
 *   maybe       delivered once, and reported dropped with maybe_delivered = true
 *   reported    not delivered, and reported dropped to its sender
 *   gone        no answer, and its sender's process was SIGKILLed: gone with its sender
 *   lost        neither delivered nor answered, sender still running: a silent loss
 *   unanswered  delivered, but its sender (still running, receipts on) never answered
 *   bad         a contradiction: delivered and reported certainly not delivered, a receipt
 *               for a message never delivered, or two answers for one recipient
 *
 * Duplicates (the same receiver name delivering a message again, across its restarts) and
 * order violations are counted on top. There is no exclusion window: a kill excuses only
 * the answers its sender could no longer give.
 *
 * Whom a message was for: a whisper, its target. A shout, every node its sender answered
 * for or that delivered it, and every node that was continuously present at the sender:
 * its enter printed before the "sent" reply, and no exit after it until the end of the run.
 *
 * Invariants:
 * - Events are taken in the order meshsim read them; "before" and "after" compare those
 *   positions, never clock readings, so two lines read in one chunk keep their order.
 * - After meshsim_check_freeze() answers no longer count: what a node says while it is told
 *   to quit cannot turn a silent loss into a reported one. Deliveries still count, so a late
 *   duplicate is still seen.
 */
#ifndef MESHSIM_CHECK_H
#define MESHSIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsim_report.h"

struct meshsim;
struct meshsim_check;

/* receipts: the nodes run with --receipts, so every delivery must be answered. NULL if out of
 * memory. */
struct meshsim_check *meshsim_check_new(int n, bool receipts);
void meshsim_check_destroy(struct meshsim_check **cp);

/* Message m (0, 1, 2, ... in the order they are issued) from sender's generation gen; target
 * -1 for a shout to every member. 0, or -1 if out of memory. */
int meshsim_check_msg(struct meshsim_check *c, long m, int sender, int gen, int target,
                      int64_t issued_us);
/* The sender's "sent" reply: the message is accepted under id. */
void meshsim_check_accepted(struct meshsim_check *c, long m, uint64_t id);
/* The sender refused it (an error reply, or its input closed): not accounted. */
void meshsim_check_refused(struct meshsim_check *c, long m);
/* Node i printed enter / exit for node j. */
void meshsim_check_enter(struct meshsim_check *c, int i, int j);
void meshsim_check_exit(struct meshsim_check *c, int i, int j);
/* Generation gen of node i is gone; killed: by meshsim's SIGKILL. */
void meshsim_check_gone(struct meshsim_check *c, int i, int gen, bool killed);
/* Receiver r printed message m. */
void meshsim_check_delivery(struct meshsim_check *c, long m, int r);
/* Generation gen of sender printed an answer for its message id and peer: a "delivered"
 * receipt (receipt true), or a "dropped" event with its maybe_delivered. */
void meshsim_check_answer(struct meshsim_check *c, int sender, int gen, int peer, uint64_t id,
                          bool receipt, bool maybe);
/* A fault of kind (MESHSIM_KIND_*) began at start_us; its effects last until end_us (0: not
 * known yet, use meshsim_check_fault_end). Only for attributing messages in the report: a
 * message belongs to the latest fault in effect when it was issued. Returns a handle or -1. */
int meshsim_check_fault(struct meshsim_check *c, int kind, int64_t start_us);
void meshsim_check_fault_end(struct meshsim_check *c, int handle, int64_t end_us);
/* From now on answers are not taken (teardown). */
void meshsim_check_freeze(struct meshsim_check *c);
/* (message, recipient) pairs still waiting for their answer, whose sender is still running:
 * a whisper's, and a shout's to a node that delivered it or was continuously present at the
 * sender; example (if not NULL) names the first. *unsure: with receipts, shouts' pairs with
 * a node that was present when the sender replied "sent" but left since, which the sender
 * has most likely (not surely) queued. */
long meshsim_check_open(const struct meshsim_check *c, long *unsure, char *example, size_t cap);
/* Sorts every pair, reports violations through meshsim_violation() and fills acc.
 * linger_us: how long after a fault ends messages are still attributed to it. */
void meshsim_check_account(struct meshsim_check *c, struct meshsim *s, int64_t linger_us,
                           struct meshsim_account *acc);

#endif
