/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_fresh: the attack scenario's fresh node; meshsim_fresh.h says what it is for.
 */
#include "meshsim_fresh.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyfile.h"
#include "keys.h"

int meshsim_fresh_start(struct meshsim_fresh *p, const struct meshsim_env *e, int k, char *err,
                        size_t errcap)
{
	char idpath[600], errpath[600], port[16], beacon[16], hb[16], ev[16], ex[16], rk[16];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errfd;
	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->in_fd = p->out_fd = -1;
	meshsim_json_init(&p->json);
	snprintf(p->name, sizeof p->name, "fresh%d", k);
	snprintf(idpath, sizeof idpath, "%s/%s.id", e->tmpdir, p->name);
	snprintf(errpath, sizeof errpath, "%s/%s.stderr", e->tmpdir, p->name);
	/* the identity is ours before it runs, so that no event about it can come first */
	struct keys_identity *id = keys_identity_generate();
	if (!id) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	int rc = keyfile_write_identity(idpath, id, err, errcap);
	keys_id_hex(id->id, p->hex);
	keys_identity_destroy(&id);
	if (rc != 0)
		return -1;
	snprintf(port, sizeof port, "%u", e->mcast_port);
	snprintf(beacon, sizeof beacon, "%u", e->beacon_ms);
	snprintf(hb, sizeof hb, "%u", e->heartbeat_ms);
	snprintf(ev, sizeof ev, "%u", e->evasive_ms);
	snprintf(ex, sizeof ex, "%u", e->expired_ms);
	snprintf(rk, sizeof rk, "%u", e->rekey_ms ? e->rekey_ms : MESHSIM_REKEY_MS);
	const char *argv[] = { e->meshnode, "--json", "--iface", "lo", "--name", p->name,
	                       "--identity", idpath, "--no-known-peers", "--mcast-port", port,
	                       "--beacon-interval", beacon, "--heartbeat", hb, "--evasive", ev,
	                       "--expired", ex, "--rekey-interval", rk, "--log-level",
	                       e->o->log_level, NULL };
	if (pipe(in) != 0 || pipe(out) != 0) {
		snprintf(err, errcap, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* no other process (a node, an attacker) may hold its pipes: dup2() clears the flag on
	 * the copies the node gets as 0 and 1 */
	for (int i = 0; i < 2; i++) {
		(void)fcntl(in[i], F_SETFD, FD_CLOEXEC);
		(void)fcntl(out[i], F_SETFD, FD_CLOEXEC);
	}
	errfd = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (errfd < 0) {
		snprintf(err, errcap, "%s: %s", errpath, strerror(errno));
		goto fail;
	}
	pid_t parent = getpid();
	p->start_us = meshsim_now_us();
	p->pid = fork();
	if (p->pid == 0) {
		meshsim_child_setup(parent, false);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(errfd);
	if (p->pid < 0) {
		snprintf(err, errcap, "fork: %s", strerror(errno));
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	(void)fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	p->pid = -1;
	return -1;
}

static void on_line(struct meshsim_fresh *p, const char *victim_hex, const char *line, size_t len,
                    int64_t now)
{
	const char *ev, *peer;
	if (meshsim_json_parse(&p->json, line, len) != 0 ||
	    !(ev = meshsim_json_str(&p->json, "event", NULL)))
		return;
	peer = meshsim_json_str(&p->json, "peer", NULL);
	if (strcmp(ev, "enter") == 0 && peer && !p->saw_victim_us &&
	    strcmp(peer, victim_hex) == 0)
		p->saw_victim_us = now;
}

void meshsim_fresh_read(struct meshsim_fresh *p, const char *victim_hex)
{
	int64_t now = meshsim_now_us();
	while (p->out_fd >= 0) {
		ssize_t r = read(p->out_fd, p->buf + p->len, sizeof p->buf - p->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0) {
				close(p->out_fd);
				p->out_fd = -1;
			}
			break;
		}
		p->len += (size_t)r;
		size_t start = 0;
		for (size_t i = 0; i < p->len; i++) {
			if (p->buf[i] != '\n')
				continue;
			on_line(p, victim_hex, p->buf + start, i - start, now);
			start = i + 1;
		}
		if (start == 0 && p->len == sizeof p->buf)
			start = p->len;      /* a line longer than the buffer: not one we want */
		memmove(p->buf, p->buf + start, p->len - start);
		p->len -= start;
	}
}

void meshsim_fresh_say(struct meshsim_fresh *p, const char *line)
{
	if (p->in_fd >= 0 && write(p->in_fd, line, strlen(line)) < 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
}

bool meshsim_fresh_linked(const struct meshsim_fresh *p)
{
	return p->saw_victim_us && p->victim_saw_us;
}

bool meshsim_fresh_reap(struct meshsim_fresh *p)
{
	int st;
	if (p->pid <= 0 || p->reaped)
		return true;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid)
		p->reaped = true;
	return p->reaped;
}

void meshsim_fresh_close(struct meshsim_fresh *p)
{
	if (p->pid > 0 && !p->reaped) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->reaped = true;
	}
	if (p->in_fd >= 0)
		close(p->in_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->in_fd = p->out_fd = -1;
	meshsim_json_free(&p->json);
}
