/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_sim: meshsim --sim, the scenarios in virtual time over simnet (simnet.h): the real
 * engines with real crypto, one process, no socket and no namespace, one seed one history. It
 * fills the same struct meshsim_result as the other back-ends, so the table, the JSON report
 * and the plot read the same; times in it are virtual milliseconds, and the CPU and memory
 * figures, which have no meaning for nodes that share one process and one clock, are absent.
 */
#ifndef MESHSIM_SIM_H
#define MESHSIM_SIM_H

#include <stdint.h>

#include "meshsim.h"

/* Runs the scenario of o with these node timers; returns meshsim's exit status. */
int meshsim_sim_run(const struct meshsim_opts *o, const char *scenario, uint32_t beacon_ms,
                    uint32_t heartbeat_ms, uint32_t evasive_ms, uint32_t expired_ms,
                    uint32_t rekey_ms);

#endif
