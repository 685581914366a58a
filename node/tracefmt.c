/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * tracefmt: the engine's trace records (mesh.h, struct mesh_trace) as the node gives them
 * (docs/usage.md, "Trace"): one JSON line each for meshnode_set_trace()'s function, and, at
 * log level debug, a log line for each drop and decision. Runs on the loop thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "monoclock.h"
#include "node_impl.h"

static const char *const kinds[] = {
	[MESH_TRACE_IN] = "in", [MESH_TRACE_OUT] = "out", [MESH_TRACE_DROP] = "drop",
	[MESH_TRACE_DECISION] = "decision",
};

static void json_line(struct meshnode *n, const struct mesh_trace *t)
{
	struct json_buf *b = &n->trace_buf;
	char num[WALLCLOCK_ISO_LEN], id[KEYS_HEXID_LEN];
	json_buf_clear(b);
	wallclock_iso(num, 6);
	json_raw(b, "{\"ts\":\"");
	json_raw(b, num);
	json_raw(b, "\",\"ms\":");
	json_u64(b, monoclock_ms());
	json_raw(b, ",\"ev\":\"");
	json_raw(b, kinds[t->kind]);
	json_raw(b, "\"");
	if (t->what) {
		json_raw(b, ",\"what\":");
		json_cstr(b, t->what);
	}
	const char *msg = t->msg >= 0 ? mesh_trace_msg_name(t->msg) : NULL;
	if (msg) {
		json_raw(b, ",\"msg\":\"");
		json_raw(b, msg);
		json_raw(b, "\"");
	} else if (t->msg >= 0) {
		json_raw(b, ",\"msg\":");
		json_u64(b, (uint64_t)t->msg);
	}
	if (t->reason) {
		json_raw(b, ",\"reason\":");
		json_cstr(b, t->reason);
	}
	if (t->peer) {
		keys_id_hex(t->peer, id);
		json_raw(b, ",\"peer\":\"");
		json_raw(b, id);
		json_raw(b, "\"");
	}
	if (t->addr) {
		json_raw(b, ",\"addr\":");
		json_cstr(b, t->addr);
	}
	if (t->sid) {
		snprintf(num, sizeof num, ",\"sid\":\"%08" PRIx32 "\"", t->sid);
		json_raw(b, num);
	}
	if (t->rx_sid) {
		snprintf(num, sizeof num, ",\"rx_sid\":\"%08" PRIx32 "\"", t->rx_sid);
		json_raw(b, num);
	}
	if (t->has_counter) {
		json_raw(b, ",\"counter\":");
		json_u64(b, t->counter);
	}
	if (t->bytes) {
		json_raw(b, ",\"bytes\":");
		json_u64(b, t->bytes);
	}
	if (t->msg_id) {
		json_raw(b, ",\"msg_id\":");
		json_u64(b, t->msg_id);
	}
	json_raw(b, "}");
	if (!b->failed)
		n->trace_fn(n->trace_arg, b->p);
}

/* The same for a person: "drop frames_auth_failed: data from 10.0.0.2:5000 session 0a1b2c3d
 * (peer 1a2b3c4d...) counter 7". */
static void log_line(struct meshnode *n, const struct mesh_trace *t)
{
	char line[400], id[KEYS_HEXID_LEN];
	size_t o = 0;
#define ADD(...) do { int k_ = snprintf(line + o, sizeof line - o, __VA_ARGS__); \
	if (k_ > 0) o += (size_t)k_ < sizeof line - o ? (size_t)k_ : sizeof line - o - 1; } while (0)
	if (t->kind == MESH_TRACE_DROP)
		ADD("trace: drop %s", t->reason ? t->reason : "?");
	else
		ADD("trace: %s%s%s", t->what ? t->what : "?", t->reason ? ": " : "",
		    t->reason ? t->reason : "");
	if (t->kind == MESH_TRACE_DROP && t->what) {
		const char *msg = t->msg >= 0 ? mesh_trace_msg_name(t->msg) : NULL;
		ADD(" (%s%s%s)", t->what, msg ? " " : "", msg ? msg : "");
	}
	if (t->addr)
		ADD(" at %s", t->addr);
	if (t->sid)
		ADD(" session %08" PRIx32, t->sid);
	if (t->peer) {
		keys_id_hex(t->peer, id);
		ADD(" peer %.16s", id);
	}
	if (t->has_counter)
		ADD(" counter %" PRIu64, t->counter);
	if (t->msg_id)
		ADD(" message %" PRIu64, t->msg_id);
#undef ADD
	node_logmsg(n, MESHNODE_LOG_DEBUG, "%s", line);
}

void node_trace(void *arg, const struct mesh_trace *t)
{
	struct meshnode *n = arg;
	if (n->trace_fn)
		json_line(n, t);
	if (n->cfg.log_level >= MESHNODE_LOG_DEBUG &&
	    (t->kind == MESH_TRACE_DROP || t->kind == MESH_TRACE_DECISION))
		log_line(n, t);
}
