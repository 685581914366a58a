/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * beaconmaker: real beacon datagrams for the tests and fuzz targets that feed an engine over a
 * fake network (test_beacon and test_crowd through beaconrig.c, fuzz_engine). Each is made by
 * discovery_send() itself, through a discovery whose transport keeps what it is asked to send,
 * so it is exactly what a node on the LAN would send.
 */
#ifndef MESH_TESTS_BEACONMAKER_H
#define MESH_TESTS_BEACONMAKER_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "keys.h"

/* id's beacon announcing ip:port, of run inc, with the counter that the wall clock wall_ms
 * gives, sealed with beacon_key (NULL: open), into out. Its length; 0 if it could not be made
 * or does not fit. */
size_t beaconmaker_make(const struct keys_identity *id, const struct ipaddr *ip, uint16_t port,
                        uint64_t inc, uint64_t wall_ms, const uint8_t *beacon_key, uint8_t *out,
                        size_t cap);

#endif
