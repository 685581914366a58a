/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* wcwidth() is XSI: _POSIX_C_SOURCE, which the build defines, does not declare it. */
#define _XOPEN_SOURCE 700

#include "app.h"
#include "monoclock.h"

/* The signal handler's only state; set before the handler is installed. */
static int g_sig_wr = -1;

/* ---- Log lines on a terminal ------------------------------------------------------------- */

static const char *level_name(int level)
{
	switch (level) {
	case MESHNODE_LOG_ERROR: return "error";
	case MESHNODE_LOG_WARN: return "warn";
	case MESHNODE_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Runs on the node's thread: hands the line to the main loop, dropping it if the pipe is
 * full rather than ever blocking the node. */
static void log_to_pipe(void *arg, int level, const char *line)
{
	const struct app *a = arg;
	char buf[LOG_LINE_MAX], ts[WALLCLOCK_ISO_LEN];
	if (level > a->log_level)
		return;
	/* the time it was said, not the time the main loop prints it: "TS level: text" */
	wallclock_iso(ts, 3);
	int n = snprintf(buf, sizeof buf - 1, "%s %s: %s", ts, level_name(level), line);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof buf - 1 ? (size_t)n : sizeof buf - 2;
	buf[len++] = '\n';
	ssize_t w = write(a->log_wr, buf, len);
	(void)w;
}

/* --trace: each line as it comes (line-buffered, so that `tail -f` follows a running node);
 * on the loop thread. A failed write is said once, on stderr. */
static void trace_to_file(void *arg, const char *line)
{
	struct app *a = arg;
	if (fputs(line, a->trace) == EOF || fputc('\n', a->trace) == EOF) {
		if (!a->trace_failed)
			fprintf(stderr, "meshnode: cannot write the trace: %s\n", strerror(errno));
		a->trace_failed = true;
	}
}

/* The trace file: created (or emptied) with mode 0600, never through a symbolic link. */
static FILE *open_trace(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

static void print_log_line(struct app *a, const char *s, size_t len)
{
	/* "TS level: text" (log_to_pipe) */
	const char *sp = memchr(s, ' ', len);
	size_t tslen = sp ? (size_t)(sp - s) : 0;
	json_buf_clear(&a->out);
	if (a->mode != MODE_TTY) {
		/* plain and JSON mode: the same format as the library's own stderr sink */
		json_term(&a->out, s, tslen, a->term_flags);
		json_raw(&a->out, " meshnode");
		if (a->n) {
			const char *name = meshnode_name(a->n);
			json_raw(&a->out, "[");
			json_term(&a->out, name, strlen(name), a->term_flags);
			json_raw(&a->out, "]");
		}
		json_raw(&a->out, " ");
		json_term(&a->out, s + tslen + !!sp, len - tslen - !!sp, a->term_flags);
		json_raw(&a->out, "\n");
		emit(a, stderr);
		return;
	}
	/* like every chat line that tells of something that happened: the local time first */
	put_time(a);
	color(a, "2;33");
	json_raw(&a->out, "~ ");
	json_term(&a->out, s + tslen + !!sp, len - tslen - !!sp, a->term_flags);
	color_off(a);
	json_raw(&a->out, "\n");
	emit(a, stderr);
}

static void read_log_pipe(struct app *a)
{
	ssize_t r = read(a->log_rd, a->logbuf + a->loglen, sizeof a->logbuf - a->loglen);
	if (r <= 0)
		return;
	a->loglen += (size_t)r;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(a->logbuf + start, '\n', a->loglen - start);
		if (!nl)
			break;
		print_log_line(a, a->logbuf + start, (size_t)(nl - (a->logbuf + start)));
		start = (size_t)(nl - a->logbuf) + 1;
	}
	memmove(a->logbuf, a->logbuf + start, a->loglen - start);
	a->loglen -= start;
	if (a->loglen == sizeof a->logbuf) {
		print_log_line(a, a->logbuf, a->loglen);
		a->loglen = 0;
	}
}

/* ---- Signals and the loop ---------------------------------------------------------------- */

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGWINCH ? 'w' : sig == SIGCONT ? 'c' : 'q';
	ssize_t w = write(g_sig_wr, &c, 1);
	(void)w;
	errno = saved;
}

static int make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
	}
	return 0;
}

static int install_signals(bool winch)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return -1;
	if (winch && (sigaction(SIGWINCH, &sa, NULL) != 0 || sigaction(SIGCONT, &sa, NULL) != 0))
		return -1;
	return 0;
}

/* Once the loop has ended: saying BYE can take a moment, and a second Ctrl-C then ends the
 * program at once. */
static void default_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void read_signals(struct app *a)
{
	char buf[64];
	ssize_t r = read(a->sig_rd, buf, sizeof buf);
	for (ssize_t i = 0; i < r; i++) {
		if (buf[i] == 'w' && a->el) {
			libedit.el_resize(a->el);
		} else if (buf[i] == 'c' && a->el && a->edit_shown) {
			/* Resumed after a stop (^Z, whoever sent it): the shell has put the terminal
			 * back in its own mode. Into editline's again, and the line drawn anew;
			 * editline still believes it is in its mode, so it leaves it first. Not once
			 * the edit line is gone (we are leaving). */
			libedit.el_set(a->el, EL_PREP_TERM, 0);
			libedit.el_set(a->el, EL_PREP_TERM, 1);
			libedit.el_set(a->el, EL_REFRESH);
		} else if (buf[i] == 'q') {
			app_stop(a, EXIT_OK);
		}
	}
}

/* Large messages and bursts of handshakes leave freed memory in glibc's arenas (the node's loop
 * thread and zmq's I/O thread each have one), between blocks still in use, where free()'s own
 * trimming of the top never reaches: measured 0.6 MiB of 2.4 MiB after a few 64 KB shouts in
 * a 17-node mesh. malloc_trim() hands those pages back. It is a glibc extension, and a
 * policy for the whole process, so the program does it, not the embeddable node. */
static void trim_heap(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static int run_loop(struct app *a)
{
	enum { P_SIG, P_EVENTS, P_LOG, P_STDIN, NPOLL };
	/* trim once per quiet spell: after TRIM_QUIET_MS without activity, then not again until
	 * something happened (an idle node sleeps in poll() for good) */
	int64_t last_busy = (int64_t)monoclock_ms();
	bool trimmed = false;
	while (a->running) {
		struct pollfd pfd[NPOLL];
		nfds_t nfds = 0;
		int slot[NPOLL];
		for (int k = 0; k < NPOLL; k++)
			slot[k] = -1;

		slot[P_SIG] = (int)nfds;
		pfd[nfds++] = (struct pollfd){ .fd = a->sig_rd, .events = POLLIN };
		slot[P_EVENTS] = (int)nfds;
		pfd[nfds++] = (struct pollfd){ .fd = meshnode_event_fd(a->n), .events = POLLIN };
		if (a->log_rd >= 0) {
			slot[P_LOG] = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = a->log_rd, .events = POLLIN };
		}
		if (a->stdin_open) {
			slot[P_STDIN] = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}

		int timeout = -1;
		if (!trimmed) {
			int64_t left = last_busy + TRIM_QUIET_MS - (int64_t)monoclock_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		int ready = poll(pfd, nfds, timeout);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			errorf(a, "poll: %s", strerror(errno));
			app_stop(a, EXIT_RUNTIME);
			break;
		}
		if (ready == 0) {
			if (!trimmed && (int64_t)monoclock_ms() - last_busy >= TRIM_QUIET_MS) {
				trim_heap();
				trimmed = true;
			}
			continue;
		}
		last_busy = (int64_t)monoclock_ms();
		trimmed = false;
		if (pfd[slot[P_SIG]].revents)
			read_signals(a);
		if (slot[P_LOG] >= 0 && pfd[slot[P_LOG]].revents)
			read_log_pipe(a);
		if (a->running && pfd[slot[P_EVENTS]].revents &&
		    drain_events(a, EVENTS_PER_TURN) == 0) {
			/* The fd stays readable once the node's loop has ended, and only then with
			 * no event queued: without this we would spin here. */
			errorf(a, "node stopped: %s", a->last_error[0] ? a->last_error :
			       "its event loop ended");
			app_stop(a, EXIT_RUNTIME);
		}
		if (a->running && slot[P_STDIN] >= 0) {
			short rev = pfd[slot[P_STDIN]].revents;
			if (a->mode == MODE_TTY) {
				/* A hung-up terminal stays readable forever; take it as the end. */
				if (rev & (POLLHUP | POLLERR | POLLNVAL))
					app_stop(a, EXIT_OK);
				else if (rev & POLLIN)
					edit_read(a);
			} else if (rev & POLLNVAL) {
				a->stdin_open = false;
				app_stop(a, EXIT_OK);
			} else if (rev) {
				read_stdin(a);
			}
		}
	}
	default_signals();
	return a->exit_code;
}

/* ---- Start and stop ---------------------------------------------------------------------- */

/* Terminal mode takes LC_CTYPE from the environment: editline decodes keys in it, and
 * wcwidth() needs its tables. A locale that is not UTF-8 says that the terminal is not either,
 * so it gets only ASCII; a.locale_note then says why, for the banner. */
static void setup_locale(struct app *a)
{
	if (!setlocale(LC_CTYPE, "")) {
		snprintf(a->locale_note, sizeof a->locale_note,
		         "the one the environment names is not installed");
	} else {
		const char *cs = nl_langinfo(CODESET);
		if (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf-8") == 0 || strcmp(cs, "UTF8") == 0 ||
		    strcmp(cs, "utf8") == 0)
			return;
		snprintf(a->locale_note, sizeof a->locale_note, "its character set is %s", cs);
	}
	a->term_flags = JSON_TERM_ASCII;
}

/* The identity file as an absolute path, to say where a new one is; malloc'd, or NULL if it
 * cannot be resolved (the caller then names it as given). */
static char *identity_where(struct app *a)
{
	return realpath(meshnode_identity_path(a->n), NULL);
}

/* A first run made a new identity: the user learns that it exists, where, and that it is who
 * they are to their peers, once, before anything else. In JSON mode the ready line says it. */
static void announce_new_identity(struct app *a)
{
	if (a->mode == MODE_JSON || !meshnode_identity_created(a->n))
		return;
	char *where = identity_where(a);
	json_buf_clear(&a->out);
	json_raw(&a->out, "meshnode: created a new identity in ");
	put_cstr(a, where ? where : meshnode_identity_path(a->n));
	json_raw(&a->out, " (ID ");
	put_safe(a, meshnode_id_hex(a->n), ID_SHORT);
	json_raw(&a->out, "..., fingerprint ");
	put_cstr(a, meshnode_fingerprint(a->n));
	json_raw(&a->out, "); keep this file private: whoever has a copy can act as you\n");
	emit(a, stderr);
	free(where);
}

static void announce_ready(struct app *a)
{
	const char *endpoint = meshnode_endpoint(a->n);
	if (a->mode == MODE_JSON) {
		j_begin(a, "ready");
		j_cstr(a, "id", meshnode_id_hex(a->n));
		j_cstr(a, "name", meshnode_name(a->n));
		j_cstr(a, "endpoint", endpoint);
		j_cstr(a, "fingerprint", meshnode_fingerprint(a->n));
		if (meshnode_identity_created(a->n)) {
			char *where = identity_where(a);
			j_cstr(a, "created_identity", where ? where : meshnode_identity_path(a->n));
			free(where);
		}
		j_end(a);
		return;
	}
	json_buf_clear(&a->out);
	json_raw(&a->out, "* meshnode " MESHNODE_VERSION ": you are ");
	put_name(a, meshnode_id(a->n), meshnode_name(a->n), strlen(meshnode_name(a->n)), false);
	json_raw(&a->out, " (");
	put_cstr(a, meshnode_fingerprint(a->n));
	json_raw(&a->out, ") on ");
	put_cstr(a, endpoint ? endpoint : "?");
	json_raw(&a->out, "\n");
	if (a->mode == MODE_TTY)
		json_raw(&a->out, "* type /help for the commands, /quit or Ctrl-D to leave\n");
	if (a->locale_note[0]) {
		json_raw(&a->out, "* your locale is not UTF-8 (");
		put_cstr(a, a->locale_note);
		json_raw(&a->out, "): characters beyond ASCII are shown as <U+XXXX>; for non-ASCII "
		         "text use a UTF-8 locale (such as C.UTF-8, in LC_ALL or LANG)\n");
	}
	emit(a, stdout);
}

static void disable_core_dumps(void)
{
	/* A core file would hold the identity key and message plaintext. */
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		perror("meshnode: warning: cannot disable core dumps");
}

/* Each peer needs a socket, and zmq needs a few fds of its own, so the usual soft limit of
 * 1024 caps the mesh well below its size limit. The hard limit is ours to take. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		perror("meshnode: warning: cannot read the open-file limit");
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fprintf(stderr, "meshnode: warning: cannot raise the open-file limit from %llu: %s\n",
		        (unsigned long long)old, strerror(errno));
}

static int ignore_sigpipe(void)
{
	/* A closed stdout or socket must come back as EPIPE, not kill us with keys in memory. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGPIPE, &sa, NULL);
}

/* Starts the node with our signals blocked, so that its thread inherits a mask without them
 * and they always reach this thread and its self-pipe. */
static enum mesh_err start_node(struct meshnode *n, char *err, size_t errcap)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGCONT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	enum mesh_err rc = meshnode_start(n, err, errcap);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct app app;
	struct app *a = &app;
	char err[256] = "";
	int fds[2];

	disable_core_dumps();
	(void)meshnode_malloc_policy();   /* large messages without page faults (meshnode.h) */
	if (ignore_sigpipe() != 0) {
		perror("meshnode: sigaction");
		return EXIT_RUNTIME;
	}
	int rc = parse_options(argc, argv, &opt);
	if (rc >= 0)
		return rc;

	if (opt.gen_mesh_key) {
		if (keyfile_create_mesh_key(opt.gen_mesh_key, err, sizeof err) != 0) {
			fprintf(stderr, "meshnode: %s\n", err);
			return EXIT_KEYFILE;
		}
		printf("meshnode: created mesh key file %s (mode 0600); copy it to every member "
		       "over a secure channel\n", opt.gen_mesh_key);
		return EXIT_OK;
	}
	raise_fd_limit();
	if (sodium_init() < 0) {
		fputs("meshnode: libsodium failed to initialise\n", stderr);
		return EXIT_RUNTIME;
	}

	memset(a, 0, sizeof *a);
	json_buf_init(&a->out);
	json_buf_init(&a->scratch);
	a->sig_rd = a->sig_wr = a->log_rd = a->log_wr = -1;
	a->log_level = opt.cfg.log_level;
	if (opt.json)
		a->mode = MODE_JSON;
	else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		a->mode = MODE_TTY;
	else
		a->mode = MODE_PLAIN;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	if (a->mode == MODE_TTY)
		setup_locale(a);
	a->color = a->mode == MODE_TTY && !(no_color && *no_color) &&
	           !(term && strcmp(term, "dumb") == 0);
	snprintf(a->prompt, sizeof a->prompt, "> ");
	if (a->mode == MODE_JSON)
		setvbuf(stdout, NULL, _IOLBF, 0);
	else
		tzset();   /* for put_time(): localtime_r() need not read the time zone itself */

	if (make_pipe(fds) != 0) {
		perror("meshnode: pipe");
		return EXIT_RUNTIME;
	}
	a->sig_rd = fds[0];
	a->sig_wr = g_sig_wr = fds[1];
	if (install_signals(a->mode == MODE_TTY) != 0) {
		perror("meshnode: sigaction");
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Log lines go through a non-blocking pipe to the main loop, in every mode: on a terminal
	 * they never cut into what the user is typing, and a stderr that nobody drains can stall
	 * only this loop, never the node's, which keeps its peers' sessions alive. */
	if (make_pipe(fds) != 0) {
		perror("meshnode: pipe");
		rc = EXIT_RUNTIME;
		goto out;
	}
	a->log_rd = fds[0];
	a->log_wr = fds[1];
	opt.cfg.log_fn = log_to_pipe;
	opt.cfg.log_arg = a;

	enum mesh_err made = meshnode_create(&opt.cfg, &a->n, err, sizeof err);
	if (made != MESH_OK) {
		fprintf(stderr, "meshnode: %s\n", err[0] ? err : "cannot create the node");
		rc = made == MESH_EKEYFILE ? EXIT_KEYFILE : EXIT_RUNTIME;
		goto out;
	}
	announce_new_identity(a);
	/* --group is joined before the start, so that the node's very first hello carries
	 * it; the replies follow the ready line, in order, as they always have */
	enum mesh_err joined[MESHNODE_MAX_GROUPS];
	for (size_t i = 0; i < opt.ngroups; i++)
		joined[i] = meshnode_join(a->n, opt.groups[i]);
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; i < opt.nifaces[d]; i++)
			if (meshnode_add_iface(a->n, opt.ifaces[d][i], d, err, sizeof err) != MESH_OK) {
				fprintf(stderr, "meshnode: %s %s: %s\n", d ? "--iface-deny" : "--iface",
				        opt.ifaces[d][i], err);
				rc = EXIT_USAGE;
				goto out;
			}
	/* --peer: parsed and resolved now, so that a bad one stops us before anything starts */
	for (size_t i = 0; i < opt.npeers; i++) {
		enum mesh_err pr = meshnode_add_peer(a->n, opt.peers[i], err, sizeof err);
		if (pr != MESH_OK) {
			fprintf(stderr, "meshnode: --peer %s: %s\n", opt.peers[i], err);
			rc = pr == MESH_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
			goto out;
		}
	}
	if (opt.trace_path) {
		a->trace = open_trace(opt.trace_path);
		if (!a->trace) {
			fprintf(stderr, "meshnode: --trace %s: %s\n", opt.trace_path, strerror(errno));
			rc = EXIT_RUNTIME;
			goto out;
		}
		(void)meshnode_set_trace(a->n, trace_to_file, a);
	}
	if (opt.keylog_path && meshnode_set_keylog(a->n, opt.keylog_path, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode: --keylog: %s\n", err);
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (start_node(a->n, err, sizeof err) != MESH_OK) {
		fprintf(stderr, "meshnode: %s\n", err[0] ? err : "cannot start the node");
		rc = EXIT_RUNTIME;
		goto out;
	}
	a->running = true;
	a->stdin_open = true;
	announce_ready(a);
	for (size_t i = 0; i < opt.ngroups; i++) {
		enum mesh_err jr = joined[i];
		if (jr == MESH_ESTATE)
			continue;                   /* the same --group twice */
		if (jr != MESH_OK) {
			errorf(a, "cannot join '%s': %s", opt.groups[i], meshnode_strerror(jr));
			a->running = false;
			rc = jr == MESH_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
			goto out;
		}
		reply_group(a, "joined", opt.groups[i]);
	}
	if (opt.ngroups)
		set_current(a, opt.groups[0]);
	if (a->mode == MODE_TTY && edit_setup(a) != 0) {
		/* The terminal still works line by line, without editing. */
		errorf(a, "cannot start the line editor; reading plain lines");
		a->mode = MODE_PLAIN;
	}

	rc = run_loop(a);

	edit_teardown(a);
	meshnode_stop(a->n);
	/* What the node reported while stopping still belongs to the output. */
	drain_events(a, -1);
	if (a->log_rd >= 0)
		read_log_pipe(a);
	/* "stopped" promises a clean stop; a failure has already printed its error line. */
	if (a->mode == MODE_JSON && rc == EXIT_OK && !a->out_broken) {
		j_begin(a, "stopped");
		j_end(a);
	}
	if (a->out_broken)
		rc = EXIT_RUNTIME;
out:
	meshnode_destroy(&a->n);
	if (a->trace)
		fclose(a->trace);
	if (a->log_rd >= 0)
		read_log_pipe(a);
	linebuf_free(&a->in);
	json_buf_free(&a->out);
	json_buf_free(&a->scratch);
	close_fd(&a->log_rd);
	close_fd(&a->log_wr);
	/* The signal handler may still run until we exit; leave its pipe open. */
	return rc;
}
