/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_fresh: the attack scenario's fresh node (docs/meshsim.md, "Attack"): a meshnode
 * process with an identity the mesh has never seen, started while an attack is on, whose
 * link with the victim and whisper to it meshsim_attack.c times. It runs as meshsim's nodes
 * do (--json on loopback, the same timers), but outside the observer: it joins no group and
 * remembers no peers, and its own output is read here only for its enter of the victim.
 *
 * Invariants: its identity file is written, and its ID known, before the process starts, so
 * that no event about it can come before the scenario knows it; it is signalled only by its
 * PID and only until it is reaped.
 */
#ifndef MESHSIM_FRESH_H
#define MESHSIM_FRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "meshsim.h"

#define MESHSIM_FRESH_QUIT_MS 2000   /* after /quit, SIGKILL */

struct meshsim_fresh {
	pid_t pid;
	bool reaped;
	int in_fd, out_fd;
	char name[16];
	char hex[MESHSIM_HEX_LEN + 1];
	char buf[16384];
	size_t len;
	struct meshsim_json json;
	int64_t start_us, quit_us;
	int64_t saw_victim_us;       /* it reported the victim entered */
	int64_t victim_saw_us;       /* the victim reported it entered (the scenario's hook) */
	int64_t whisper_us;          /* the victim printed its whisper (the scenario's hook) */
	bool whisper_sent;
};

/* Writes a new identity fresh<k>.id in the temp dir and starts the node on it; 0, or -1 with
 * the reason in err. */
int meshsim_fresh_start(struct meshsim_fresh *p, const struct meshsim_env *e, int k, char *err,
                        size_t errcap);
/* Reads what it printed so far; its enter of victim_hex sets saw_victim_us. */
void meshsim_fresh_read(struct meshsim_fresh *p, const char *victim_hex);
/* Writes one command line to its input (ignored once the input is closed). */
void meshsim_fresh_say(struct meshsim_fresh *p, const char *line);
/* It and the victim have both reported the other entered. */
bool meshsim_fresh_linked(const struct meshsim_fresh *p);
/* Reaps it if it is gone; true when it is. */
bool meshsim_fresh_reap(struct meshsim_fresh *p);
/* SIGKILLs it if it still runs, reaps it, closes its pipes; safe to call twice. */
void meshsim_fresh_close(struct meshsim_fresh *p);

#endif
