/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * known: what the node makes of the peers it remembers (trust.h, trust_allow.h). It records
 * every peer whose link goes live, raises the alarms about names (a name that another key
 * used, a verified peer with a new name), marks events from verified peers, keeps strangers
 * out in known-only or allow-list mode (mesh_config.may_link), and saves the store, at most
 * every KNOWN_SAVE_MS. The store is shared with the API's threads (meshnode_trust,
 * meshnode_is_verified) under known_lock; nothing else takes that lock, and nothing is called
 * while holding it but the store's own functions.
 *
 * The loop never writes the file: a save is an fsync, and on a busy disk that took up to 24 s
 * (256 nodes on one host), while the loop sent nothing and the node's peers expired its
 * sessions. It asks the saver thread instead (started with the node, so that it has the
 * signal mask the caller gave the loop), which takes a snapshot of the store in memory under
 * known_lock and writes it without the lock. file_mu, held from the snapshot to the end of its
 * write, keeps writers in order, so the file never goes back to an older snapshot;
 * meshnode_trust() writes on its caller's thread under the same rule, and the last save at
 * stop on the stopping thread. Lock order: file_mu, then known_lock; save_mu is never held
 * with another. The saver never logs: the loop says its failure when the next save is due, or
 * the stop does.
 */
#include "known.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monoclock.h"
#include "trust.h"
#include "trust_allow.h"

#define KNOWN_SAVE_MS 30000     /* a changed store is written at most this often */
#define KNOWN_SUFFIX ".known_peers"

static uint64_t unix_now(void)
{
	time_t t = time(NULL);
	return t > 0 ? (uint64_t)t : 1;
}

enum mesh_err known_open(struct meshnode *n, const char *identity_path, char *err,
                         size_t errcap)
{
	char path[4096], terr[512];
	const char *want = n->cfg.known_peers_path;
	pthread_mutex_init(&n->known_lock, NULL);
	pthread_mutex_init(&n->save_mu, NULL);
	pthread_mutex_init(&n->file_mu, NULL);
	pthread_cond_init(&n->save_cond, NULL);
	n->known_lock_init = true;
	if (want && !want[0]) {
		path[0] = '\0';                 /* remember no one */
	} else if (want) {
		if (snprintf(path, sizeof path, "%s", want) >= (int)sizeof path) {
			snprintf(err, errcap, "known peers: the file name is too long");
			return MESH_EINVAL;
		}
	} else if (identity_path) {
		/* an identity of its own has its own memory beside it: several nodes on one
		 * account, each with its --identity, must not share one */
		if (snprintf(path, sizeof path, "%s" KNOWN_SUFFIX, identity_path) >=
		    (int)sizeof path) {
			snprintf(err, errcap, "known peers: the file name is too long");
			return MESH_EINVAL;
		}
	} else if (trust_default_path(path, sizeof path) != 0) {
		snprintf(err, errcap, "known peers: neither XDG_DATA_HOME nor HOME is set; give a "
		         "file with --known-peers");
		return MESH_EKEYFILE;
	}
	if (path[0]) {
		n->known = trust_open(path, terr, sizeof terr);
		if (!n->known) {
			snprintf(err, errcap, "%s", terr);   /* it names the file */
			return MESH_EKEYFILE;
		}
	}
	if (n->cfg.known_only && !n->known) {
		snprintf(err, errcap, "known-only mode needs the known peers file (it was switched "
		         "off)");
		return MESH_EINVAL;
	}
	if (n->cfg.allow_path) {
		n->allow = trust_allow_load(n->cfg.allow_path, terr, sizeof terr);
		if (!n->allow) {
			snprintf(err, errcap, "%s", terr);
			return MESH_EKEYFILE;
		}
	}
	return MESH_OK;
}

/* Writes the store if it changed: a snapshot under known_lock, written without it. On failure
 * (the reason in err) the store stays changed, so the next save tries again, and *first says
 * whether it is the first failure since a save worked: periodic saves say only that one (the
 * node goes on remembering in memory). Any thread. */
static enum mesh_err save_now(struct meshnode *n, char *err, size_t errcap, bool *first)
{
	char *buf = NULL;
	size_t len = 0;
	pthread_mutex_lock(&n->file_mu);
	pthread_mutex_lock(&n->known_lock);
	enum mesh_err rc = MESH_OK;
	if (n->known && trust_dirty(n->known))
		rc = trust_snapshot(n->known, &buf, &len, err, errcap);
	pthread_mutex_unlock(&n->known_lock);
	if (buf) {
#ifdef MESH_TEST_HOOKS
		if (n->test_save_hook)
			n->test_save_hook(n->test_save_arg);
#endif
		rc = trust_write(trust_path(n->known), buf, len, err, errcap);
		free(buf);
		if (rc != MESH_OK) {
			pthread_mutex_lock(&n->known_lock);
			trust_mark_dirty(n->known);
			pthread_mutex_unlock(&n->known_lock);
		}
	}
	*first = rc != MESH_OK && !n->known_save_failed;
	n->known_save_failed = rc != MESH_OK;
	pthread_mutex_unlock(&n->file_mu);
	return rc;
}

static void say_save_failed(struct meshnode *n, const char *err)
{
	node_logmsg(n, MESHNODE_LOG_ERROR, "cannot save the known peers: %s", err);
}

static void *saver_main(void *arg)
{
	struct meshnode *n = arg;
	char err[512];
	bool first;
	pthread_mutex_lock(&n->save_mu);
	for (;;) {
		while (!n->save_due && !n->save_stop)
			pthread_cond_wait(&n->save_cond, &n->save_mu);
		if (n->save_stop)
			break;
		n->save_due = false;
		pthread_mutex_unlock(&n->save_mu);
		enum mesh_err rc = save_now(n, err, sizeof err, &first);
		pthread_mutex_lock(&n->save_mu);
		if (rc != MESH_OK && first) {
			memcpy(n->save_err, err, sizeof n->save_err);
			n->save_err_new = true;
		}
	}
	pthread_mutex_unlock(&n->save_mu);
	return NULL;
}

/* Says a failure the saver recorded, once. */
static void say_saver_failure(struct meshnode *n)
{
	char err[512];
	bool failed = false;
	pthread_mutex_lock(&n->save_mu);
	if (n->save_err_new) {
		memcpy(err, n->save_err, sizeof err);
		n->save_err_new = false;
		failed = true;
	}
	pthread_mutex_unlock(&n->save_mu);
	if (failed)
		say_save_failed(n, err);
}

enum mesh_err known_start(struct meshnode *n, char *err, size_t errcap)
{
	if (!n->known || n->saver_started)
		return MESH_OK;
	n->save_stop = n->save_due = false;
	if (pthread_create(&n->saver, NULL, saver_main, n) != 0) {
		snprintf(err, errcap, "cannot start the thread that saves the known peers");
		return MESH_EIO;
	}
	n->saver_started = true;
	return MESH_OK;
}

void known_stop(struct meshnode *n)
{
	if (!n->known)
		return;
	if (n->saver_started) {
		pthread_mutex_lock(&n->save_mu);
		n->save_stop = true;
		pthread_cond_signal(&n->save_cond);
		pthread_mutex_unlock(&n->save_mu);
		pthread_join(n->saver, NULL);
		n->saver_started = false;
		say_saver_failure(n);
	}
	/* the last save, here: its failure is always said, the node will not try again */
	char err[512];
	bool first;
	if (save_now(n, err, sizeof err, &first) != MESH_OK)
		say_save_failed(n, err);
}

void known_close(struct meshnode *n)
{
	if (!n->known_lock_init)
		return;
	known_stop(n);
	pthread_mutex_lock(&n->known_lock);
	trust_destroy(&n->known);
	trust_allow_destroy(&n->allow);
	pthread_mutex_unlock(&n->known_lock);
	pthread_cond_destroy(&n->save_cond);
	pthread_mutex_destroy(&n->file_mu);
	pthread_mutex_destroy(&n->save_mu);
	pthread_mutex_destroy(&n->known_lock);
	n->known_lock_init = false;
}

static uint64_t save_every(const struct meshnode *n)
{
#ifdef MESH_TEST_HOOKS
	if (n->test_save_ms)
		return n->test_save_ms;
#endif
	(void)n;
	return KNOWN_SAVE_MS;
}

uint64_t known_next_due(const struct meshnode *n)
{
	if (!n->known || !n->saver_started)
		return UINT64_MAX;
	return n->known_saved_ms + save_every(n);
}

void known_on_tick(struct meshnode *n, uint64_t now_ms)
{
	if (!n->known || !n->saver_started)
		return;
	if (now_ms - n->known_saved_ms < save_every(n))
		return;
	/* here, not on every turn: no lock on the loop's hot path; a failure is said by the
	 * next save's time, or at stop */
	say_saver_failure(n);
	/* busy (the saver is taking its snapshot, or an API call is in the store): next turn */
	if (pthread_mutex_trylock(&n->known_lock) != 0)
		return;
	bool dirty = trust_dirty(n->known);
	pthread_mutex_unlock(&n->known_lock);
	n->known_saved_ms = now_ms;
	if (!dirty)
		return;
	pthread_mutex_lock(&n->save_mu);
	n->save_due = true;
	pthread_cond_signal(&n->save_cond);
	pthread_mutex_unlock(&n->save_mu);
}

bool known_may_link(void *arg, const uint8_t id[MESHNODE_IDLEN])
{
	struct meshnode *n = arg;
	if (!n->allow && !n->cfg.known_only)
		return true;
	bool ok = n->allow && trust_allow_contains(n->allow, id);
	if (!ok && n->cfg.known_only) {
		pthread_mutex_lock(&n->known_lock);
		ok = trust_lookup(n->known, id) != NULL;
		pthread_mutex_unlock(&n->known_lock);
	}
	return ok;
}

static void push_alarm(struct meshnode *n, const struct meshnode_event *about,
                       enum meshnode_alarm kind, const struct trust_seen_result *res,
                       const char *old_name)
{
	struct meshnode_event *ev = events_new();
	if (!ev) {
		node_logmsg(n, MESHNODE_LOG_ERROR, "out of memory: an alarm about %s not reported",
		            about->name);
		return;
	}
	ev->type = MESHNODE_EV_ALARM;
	ev->alarm = kind;
	memcpy(ev->peer, about->peer, sizeof ev->peer);
	memcpy(ev->peer_hex, about->peer_hex, sizeof ev->peer_hex);
	memcpy(ev->name, about->name, sizeof ev->name);
	memcpy(ev->endpoint, about->endpoint, sizeof ev->endpoint);
	ev->incarnation = about->incarnation;
	ev->verified = about->verified;
	if (kind == MESHNODE_ALARM_NAME_TAKEN) {
		memcpy(ev->other, res->other_id, sizeof ev->other);
		keys_id_hex(ev->other, ev->other_hex);
		ev->other_verified = res->other_verified;
		ev->reason = res->other_verified ? "a verified peer's name is used by another key"
		                                 : "a known peer's name is used by another key";
	} else {
		events_copy_str(ev->other_name, sizeof ev->other_name, old_name);
		ev->reason = "a verified peer has another name";
	}
	char fp[KEYS_FPR_LEN];
	keys_fingerprint(ev->peer, fp);
	node_logmsg(n, MESHNODE_LOG_INFO, "%s: %s (%s)", ev->reason, ev->name, fp);
	events_push(n, ev);
}

/*
 * Whether a name alarm about this name may go out now: at most one a minute per name (as
 * trust_name_key sees names), so that a flood of fresh keys all calling themselves
 * "bob" cannot bury the chat; the ones held back are logged and counted in the next.
 */
static bool name_alarm_due(struct meshnode *n, const char *name, uint64_t now_ms,
                           unsigned *held)
{
	uint64_t h = trust_name_key(name, strlen(name));
	struct name_alarm *slot = NULL, *oldest = &n->name_alarms[0];
	for (size_t i = 0; i < NAME_ALARM_SLOTS; i++) {
		struct name_alarm *a = &n->name_alarms[i];
		if (a->hash == h && a->last_ms) {
			slot = a;
			break;
		}
		if (a->last_ms < oldest->last_ms)
			oldest = a;
	}
	if (slot && now_ms - slot->last_ms < NAME_ALARM_GAP_MS) {
		slot->held++;
		return false;
	}
	if (!slot) {
		slot = oldest;
		slot->held = 0;
	}
	*held = slot->held;
	slot->hash = h;
	slot->last_ms = now_ms ? now_ms : 1;
	slot->held = 0;
	return true;
}

void known_on_event(struct meshnode *n, struct meshnode_event *ev)
{
	if (!n->known || ev->type == MESHNODE_EV_ERROR || ev->type == MESHNODE_EV_ALARM)
		return;
	struct trust_seen_result res = { 0 };
	char old_name[MESHNODE_MAX_NAME + 1] = "";
	bool entered = ev->type == MESHNODE_EV_ENTER, full = false, new_name = false;
	pthread_mutex_lock(&n->known_lock);
	if (ev->type == MESHNODE_EV_EXIT && ev->name[0]) {
		/* last seen now: a peer linked for hours is not the one a flood evicts first */
		struct trust_seen_result ignored;
		(void)trust_seen(n->known, ev->peer, ev->name, strlen(ev->name), unix_now(),
		                 &ignored);
	}
	if (entered) {
		/* the ID is proven (the handshake), the name is only what it says */
		const struct trust_entry *e = trust_lookup(n->known, ev->peer);
		bool was_verified = e && e->verified;
		if (e && e->nnames)
			snprintf(old_name, sizeof old_name, "%s", e->names[0].s);
		enum mesh_err rc = trust_seen(n->known, ev->peer, ev->name, strlen(ev->name),
		                              unix_now(), &res);
		/* not remembered for want of room: every return of that key is a first */
		full = rc == MESH_ELIMIT;
		new_name = res.new_name || full;
		entered = rc == MESH_OK || full;
		if (!(was_verified && res.new_name && old_name[0]))
			old_name[0] = '\0';
	}
	const struct trust_entry *e = trust_lookup(n->known, ev->peer);
	ev->verified = e && e->verified;
	pthread_mutex_unlock(&n->known_lock);
	if (!entered)
		return;
	if (full)
		node_logmsg(n, MESHNODE_LOG_WARN, "the known peers are full of peers verified or met "
		            "within a day: %s is not remembered", ev->name);
	/* said when this key first uses the name, not at every return */
	unsigned held = 0;
	if (res.others && new_name) {
		if (name_alarm_due(n, ev->name, monoclock_ms(), &held)) {
			if (held)
				node_logmsg(n, MESHNODE_LOG_INFO, "%u more keys used a name like '%s' in the "
				            "last minute (alarms held back)", held, ev->name);
			push_alarm(n, ev, MESHNODE_ALARM_NAME_TAKEN, &res, NULL);
		} else {
			node_logmsg(n, MESHNODE_LOG_INFO, "another key uses a name like '%s' (alarm held "
			            "back: at most one a minute per name)", ev->name);
		}
	}
	if (old_name[0])
		push_alarm(n, ev, MESHNODE_ALARM_VERIFIED_RENAMED, &res, old_name);
}

enum mesh_err meshnode_trust(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN],
                             bool verified)
{
	if (!n || !peer)
		return MESH_EINVAL;
	if (!n->known)
		return MESH_ESTATE;
	char err[512];
	pthread_mutex_lock(&n->known_lock);
	enum mesh_err rc = trust_set_verified(n->known, peer, verified, unix_now());
	pthread_mutex_unlock(&n->known_lock);
	if (rc != MESH_OK)
		return rc;
	/* the user's decision is on disk when the call returns: written here, or by a writer
	 * that took its snapshot after it and held file_mu until its write was done (the store
	 * is clean then) */
	bool first;
	rc = save_now(n, err, sizeof err, &first);
	if (rc != MESH_OK)
		say_save_failed(n, err);
	return rc;
}

bool meshnode_is_verified(struct meshnode *n, const uint8_t peer[MESHNODE_IDLEN])
{
	if (!n || !peer || !n->known)
		return false;
	pthread_mutex_lock(&n->known_lock);
	const struct trust_entry *e = trust_lookup(n->known, peer);
	bool v = e && e->verified;
	pthread_mutex_unlock(&n->known_lock);
	return v;
}

size_t meshnode_known_by_name(struct meshnode *n, const char *name,
                              uint8_t (*ids)[MESHNODE_IDLEN], size_t cap)
{
	const struct trust_entry *found[16];
	size_t len = name ? strlen(name) : 0, total;
	if (!n || !n->known || !len)
		return 0;
	pthread_mutex_lock(&n->known_lock);
	total = trust_find_by_name(n->known, name, len, found, sizeof found / sizeof found[0]);
	for (size_t i = 0; ids && i < cap && i < total && i < sizeof found / sizeof found[0]; i++)
		memcpy(ids[i], found[i]->id, MESHNODE_IDLEN);
	pthread_mutex_unlock(&n->known_lock);
	return total;
}

const char *meshnode_known_peers_path(const struct meshnode *n)
{
	return n && n->known ? trust_path(n->known) : NULL;
}
