/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* mesh_stats: the engine's counters (struct mesh_stats), one list for every use of them. */
#ifndef MESH_MESH_STATS_H
#define MESH_MESH_STATS_H

#include <stdint.h>

/*
 * The engine's counters, listed once. MESH_STATS_PUBLIC are those struct meshnode_stats
 * (node/meshnode.h) carries, in its order: node/ copies them with this list, so a counter
 * added here and not there does not build. That struct keeps its size (programs built
 * against it allocate it), so new counters go to MESH_STATS_ENGINE, the engine's own, which
 * meshnode_counters() gives by name after the public ones, and /stats prints: beacons
 * sent (tx), of those sent early to answer a new peer (answered), and beacons whose signature
 * was checked and good (verified, then maybe stale), and those left unchecked and dropped
 * because the second's budget of checks, or their source address's share of it, was spent
 * (limited, protocol.md section 7), beacons of
 * another protocol version (version, section 2); dials put off at a sweep because the
 * slots of their class were taken, or those of their address (deferred: protocol.md section
 * 4, "Dial slots"); messages refused for want of room (or
 * after a lost frame) that their senders will send again, and the RESENDs that asked; ALARM
 * events (one node ID in two places); link keys replaced (rekeys: one per completed rekey on
 * each side), attempts given up for want of a REKEY_REPLY and made again, and REKEY_REPLYs
 * for an attempt no longer awaited; partial messages dropped to keep the bytes all sessions
 * hold in them within REASM_BUDGET (their senders send them again after a RESEND).
 * And incoming connections that no session had authenticated,
 * closed by the link as the oldest beyond the bound per source address (source) or in all
 * (total), or for having lived CONNWATCH_LIFETIME_MS unauthenticated (unauth_timeout),
 * protocol.md section 7.
 */
#define MESH_STATS_PUBLIC(X) \
	X(beacons_rx) X(beacons_bad) X(beacons_stale) X(beacons_foreign) \
	X(frames_bad) X(frames_unknown_sid) X(frames_auth_failed) X(frames_replayed) \
	X(hellos_limited) X(handshakes_failed) X(handshakes_done) X(sessions_rejected) \
	X(msgs_bad) X(msgs_unknown_type) X(msgs_dup) X(fragments_dropped)
#define MESH_STATS_ENGINE(X) X(beacons_tx) X(beacons_answered) X(beacons_verified) \
	X(beacons_limited) X(beacons_version) X(dials_deferred) \
	X(msgs_refused) X(resends_asked) X(alarms) X(rekeys) X(rekeys_retried) \
	X(rekey_replies_stale) X(partials_evicted) \
	X(conns_closed_source) X(conns_closed_total) X(conns_closed_unauth_timeout) \
	X(pex_tx) X(pex_rx) X(pex_taken) X(pex_bad) X(iface_changes) X(pex_unreachable)

/* The counters of input dropped (or given up, like a handshake): each count of one of these has
 * its DROP record in the trace, with the counter's name as its reason (trace.c, MESH_DROP). */
#define MESH_STATS_DROPS(X) \
	X(beacons_bad) X(beacons_stale) X(beacons_foreign) X(beacons_limited) X(beacons_version) \
	X(frames_bad) X(frames_unknown_sid) X(frames_auth_failed) X(frames_replayed) \
	X(hellos_limited) X(handshakes_failed) X(sessions_rejected) X(msgs_bad) \
	X(msgs_unknown_type) X(msgs_dup) X(fragments_dropped) X(msgs_refused) \
	X(rekey_replies_stale) X(pex_bad) X(pex_unreachable) X(conns_closed_source) \
	X(conns_closed_total) X(conns_closed_unauth_timeout) X(partials_evicted)

#define MESH_STATS_FIELD(name) uint64_t name;
struct mesh_stats {
	MESH_STATS_PUBLIC(MESH_STATS_FIELD)
	MESH_STATS_ENGINE(MESH_STATS_FIELD)
};
#undef MESH_STATS_FIELD

#endif
