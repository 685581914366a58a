/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshbench.h: what meshbench.c shares with the parts kept in files of their own
 * (meshbench_shout.c): the figures, the run count of failures, the payloads, and the nodes of
 * an in-process part and the namespace each runs in.
 */
#ifndef MESHBENCH_H
#define MESHBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshnode.h"

#define MAX_MEMBERS 32       /* the most members a shout part has */

struct fig;                  /* a figure: its runs, median and range (meshbench.c) */

extern int failures;         /* parts or runs that failed: the exit status */
extern long shout_window;    /* --shout-window */

/* The figure key (made with label and unit the first time); NULL when the table is full. */
struct fig *fig_get(const char *key, const char *label, const char *unit);
/* One run's value of f (NULL f: nothing). */
void fig_add(struct fig *f, double v);
/* The p-th percentile of n sorted values. */
double pct(const double *sorted, long n, double p);
/* qsort's comparison of doubles, ascending. */
int cmp_double(const void *a, const void *b);
/* A line on stderr as a run of a part starts. */
void progress(const char *what, int run, int runs);

/* A private network namespace of our own, loopback up: 0, or -1 with the reason said. */
int fresh_netns(void);
/* A node with meshbench's configuration, not started (NULL with the reason said). */
struct meshnode *new_node(const char *name);
/* Reads n's events until want of type t (in group, if given) have come; others are
 * discarded. 0, or -1 after timeout seconds. */
int wait_events(struct meshnode *n, enum meshnode_event_type t, const char *group, int want,
                double timeout);
/* Takes and drops every event queued at n. */
void drain_events(struct meshnode *n);
/* The payload of message seq of size bytes, and whether one came as sent. */
void fill_payload(uint8_t *p, size_t size, uint64_t seq);
bool payload_ok(const uint8_t *p, size_t len, size_t size, uint64_t seq);

/* The parts in files of their own. */
void bench_shout(int runs, bool quick);

#endif
