/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_check: the account of every accepted message, per recipient (meshsim_check.h says
 * the rules). Memory is one slot per (message, node): a few bytes each, so a run of 10,000
 * messages on 100 nodes needs about 12 MB.
 */
#include "meshsim_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshsim.h"

#define MAX_EXAMPLES 3          /* examples of one kind of violation */

enum { MSG_ISSUED = 0, MSG_ACCEPTED, MSG_REFUSED };

/* slot flags */
#define PRESENT 1u              /* the recipient was entered at the sender at its "sent" */

struct cmsg {
	int sender, gen, target;
	uint8_t state;
	bool sender_killed;         /* the sender's generation was SIGKILLed */
	uint64_t id;
	uint64_t accepted_seq;      /* position of the "sent" reply among all events */
	int64_t issued_us;
};

struct cslot {
	uint16_t rx;                /* deliveries, by the receiver's name (every generation) */
	uint8_t receipts, drops, maybe_drops, flags;
	uint32_t rseq;              /* the receiver's count of first deliveries at this one */
};

struct answer {
	int sender, gen, peer;
	uint64_t id;
	bool receipt, maybe;
};

struct fault {
	int kind;
	int64_t start_us, end_us;   /* end 0: still in effect */
};

struct sender_log {             /* a sender's accepted messages, in order: (gen, id) ascending */
	long *m;
	size_t len, cap;
};

struct meshsim_check {
	int n;
	bool receipts, frozen;
	struct cmsg *msgs;
	struct cslot *slots;        /* [m * n + r] */
	long nmsgs, cmsgs;
	uint8_t *present;           /* [i * n + j]: i has j entered */
	uint64_t *last_exit;        /* [i * n + j]: position of i's last exit of j; 0: none */
	uint32_t *rx_count;         /* per receiver: first deliveries so far */
	struct sender_log *log;     /* per sender */
	struct answer *pending;     /* answers read before their "sent" (should not happen) */
	size_t npending, cpending;
	struct fault *faults;
	size_t nfaults, cfaults;
	uint64_t seq;               /* events taken so far */
	long late_answers;
	bool oom;
};

struct meshsim_check *meshsim_check_new(int n, bool receipts)
{
	size_t nn = (size_t)n * (size_t)n;
	struct meshsim_check *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->n = n;
	c->receipts = receipts;
	c->present = calloc(nn, 1);
	c->last_exit = calloc(nn, sizeof *c->last_exit);
	c->rx_count = calloc((size_t)n, sizeof *c->rx_count);
	c->log = calloc((size_t)n, sizeof *c->log);
	if (!c->present || !c->last_exit || !c->rx_count || !c->log)
		meshsim_check_destroy(&c);
	return c;
}

void meshsim_check_destroy(struct meshsim_check **cp)
{
	struct meshsim_check *c = *cp;
	if (!c)
		return;
	for (int i = 0; c->log && i < c->n; i++)
		free(c->log[i].m);
	free(c->log);
	free(c->msgs);
	free(c->slots);
	free(c->present);
	free(c->last_exit);
	free(c->rx_count);
	free(c->pending);
	free(c->faults);
	free(c);
	*cp = NULL;
}

static struct cslot *slot(const struct meshsim_check *c, long m, int r)
{
	return &c->slots[(size_t)m * (size_t)c->n + (size_t)r];
}

int meshsim_check_msg(struct meshsim_check *c, long m, int sender, int gen, int target,
                      int64_t issued_us)
{
	if (m != c->nmsgs)
		return -1;
	if (c->nmsgs == c->cmsgs) {
		size_t ncap = c->cmsgs ? (size_t)c->cmsgs * 2 : 1024;
		struct cmsg *nm = realloc(c->msgs, ncap * sizeof *nm);
		if (!nm)
			return -1;
		c->msgs = nm;
		struct cslot *ns = realloc(c->slots, ncap * (size_t)c->n * sizeof *ns);
		if (!ns)
			return -1;
		c->slots = ns;
		c->cmsgs = (long)ncap;
	}
	c->msgs[m] = (struct cmsg){ .sender = sender, .gen = gen, .target = target,
	                            .issued_us = issued_us };
	memset(slot(c, m, 0), 0, (size_t)c->n * sizeof(struct cslot));
	c->nmsgs++;
	return 0;
}

/* The accepted message of sender's generation gen with this id, or -1. */
static long find(const struct meshsim_check *c, int sender, int gen, uint64_t id)
{
	const struct sender_log *l = &c->log[sender];
	size_t lo = 0, hi = l->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cmsg *x = &c->msgs[l->m[mid]];
		if (x->gen < gen || (x->gen == gen && x->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < l->len && c->msgs[l->m[lo]].gen == gen && c->msgs[l->m[lo]].id == id)
		return l->m[lo];
	/* IDs that do not grow (they should): look at every one */
	for (size_t k = l->len; k-- > 0;)
		if (c->msgs[l->m[k]].gen == gen && c->msgs[l->m[k]].id == id)
			return l->m[k];
	return -1;
}

static void apply_answer(struct meshsim_check *c, long m, int peer, bool receipt, bool maybe)
{
	struct cslot *sl = slot(c, m, peer);
	if (receipt) {
		if (sl->receipts < UINT8_MAX)
			sl->receipts++;
	} else if (maybe) {
		if (sl->maybe_drops < UINT8_MAX)
			sl->maybe_drops++;
	} else if (sl->drops < UINT8_MAX) {
		sl->drops++;
	}
}

void meshsim_check_accepted(struct meshsim_check *c, long m, uint64_t id)
{
	if (m < 0 || m >= c->nmsgs || c->msgs[m].state != MSG_ISSUED)
		return;
	struct cmsg *x = &c->msgs[m];
	struct sender_log *l = &c->log[x->sender];
	if (l->len == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		long *nl = realloc(l->m, ncap * sizeof *nl);
		if (!nl) {
			c->oom = true;
			return;
		}
		l->m = nl;
		l->cap = ncap;
	}
	l->m[l->len++] = m;
	x->state = MSG_ACCEPTED;
	x->id = id;
	x->accepted_seq = ++c->seq;
	for (int j = 0; j < c->n; j++)
		if (c->present[(size_t)x->sender * (size_t)c->n + (size_t)j])
			slot(c, m, j)->flags |= PRESENT;
	/* answers that came first, if any */
	size_t w = 0;
	for (size_t k = 0; k < c->npending; k++) {
		struct answer *a = &c->pending[k];
		if (a->sender == x->sender && a->gen == x->gen && a->id == id)
			apply_answer(c, m, a->peer, a->receipt, a->maybe);
		else
			c->pending[w++] = *a;
	}
	c->npending = w;
}

void meshsim_check_refused(struct meshsim_check *c, long m)
{
	if (m >= 0 && m < c->nmsgs && c->msgs[m].state == MSG_ISSUED)
		c->msgs[m].state = MSG_REFUSED;
}

void meshsim_check_enter(struct meshsim_check *c, int i, int j)
{
	c->seq++;
	c->present[(size_t)i * (size_t)c->n + (size_t)j] = 1;
}

void meshsim_check_exit(struct meshsim_check *c, int i, int j)
{
	size_t k = (size_t)i * (size_t)c->n + (size_t)j;
	c->present[k] = 0;
	c->last_exit[k] = ++c->seq;
}

void meshsim_check_gone(struct meshsim_check *c, int i, int gen, bool killed)
{
	c->seq++;
	for (int j = 0; j < c->n; j++) {
		size_t k = (size_t)i * (size_t)c->n + (size_t)j;
		c->present[k] = 0;
		c->last_exit[k] = c->seq;
	}
	if (!killed || c->frozen)
		return;
	/* only its own messages: the answers it could still owe died with it */
	const struct sender_log *l = &c->log[i];
	for (size_t k = l->len; k-- > 0 && c->msgs[l->m[k]].gen >= gen;)
		if (c->msgs[l->m[k]].gen == gen)
			c->msgs[l->m[k]].sender_killed = true;
}

void meshsim_check_delivery(struct meshsim_check *c, long m, int r)
{
	if (m < 0 || m >= c->nmsgs)
		return;
	struct cslot *sl = slot(c, m, r);
	c->seq++;
	if (sl->rx < UINT16_MAX)
		sl->rx++;
	if (sl->rx == 1)
		sl->rseq = ++c->rx_count[r];
}

void meshsim_check_answer(struct meshsim_check *c, int sender, int gen, int peer, uint64_t id,
                          bool receipt, bool maybe)
{
	c->seq++;
	if (c->frozen) {
		c->late_answers++;
		return;
	}
	long m = find(c, sender, gen, id);
	if (m >= 0) {
		apply_answer(c, m, peer, receipt, maybe);
		return;
	}
	if (c->npending == c->cpending) {
		size_t ncap = c->cpending ? c->cpending * 2 : 64;
		struct answer *na = realloc(c->pending, ncap * sizeof *na);
		if (!na) {
			c->oom = true;
			return;
		}
		c->pending = na;
		c->cpending = ncap;
	}
	c->pending[c->npending++] = (struct answer){ sender, gen, peer, id, receipt, maybe };
}

int meshsim_check_fault(struct meshsim_check *c, int kind, int64_t start_us)
{
	if (c->nfaults == c->cfaults) {
		size_t ncap = c->cfaults ? c->cfaults * 2 : 64;
		struct fault *nf = realloc(c->faults, ncap * sizeof *nf);
		if (!nf)
			return -1;
		c->faults = nf;
		c->cfaults = ncap;
	}
	c->faults[c->nfaults] = (struct fault){ kind, start_us, 0 };
	return (int)c->nfaults++;
}

void meshsim_check_fault_end(struct meshsim_check *c, int handle, int64_t end_us)
{
	if (handle >= 0 && (size_t)handle < c->nfaults)
		c->faults[handle].end_us = end_us;
}

void meshsim_check_freeze(struct meshsim_check *c)
{
	c->frozen = true;
}

/* The recipient was continuously present at the sender: entered when the "sent" reply was
 * printed, and no exit since. */
static bool continuous(const struct meshsim_check *c, long m, int r)
{
	const struct cmsg *x = &c->msgs[m];
	return (slot(c, m, r)->flags & PRESENT) &&
	       c->last_exit[(size_t)x->sender * (size_t)c->n + (size_t)r] < x->accepted_seq;
}

static bool answered(const struct cslot *sl)
{
	return sl->receipts || sl->drops || sl->maybe_drops;
}

long meshsim_check_open(const struct meshsim_check *c, long *unsure, char *example, size_t cap)
{
	long open = 0;
	*unsure = 0;
	if (example && cap)
		example[0] = 0;
	for (long m = 0; m < c->nmsgs; m++) {
		const struct cmsg *x = &c->msgs[m];
		if (x->state != MSG_ACCEPTED || x->sender_killed)
			continue;
		for (int r = 0; r < c->n; r++) {
			const struct cslot *sl = slot(c, m, r);
			if (r == x->sender || (x->target >= 0 && r != x->target) || answered(sl))
				continue;
			if (!c->receipts && sl->rx)
				continue;   /* without receipts a delivery is its own answer */
			/* A node that was present at the sender when it replied "sent" but left since
			 * was most likely queued for, and then it will be answered; but it may have left
			 * just before the sender's loop took the shout. Unsure. */
			if (!(x->target >= 0 || sl->rx || continuous(c, m, r))) {
				*unsure += c->receipts && (sl->flags & PRESENT);
				continue;
			}
			if (open++ == 0 && example && cap)
				snprintf(example, cap, "%s s%d-%ld (id %llu) from node %d to node %d%s",
				         x->target < 0 ? "shout" : "whisper", x->sender, m,
				         (unsigned long long)x->id, x->sender, r,
				         sl->rx ? ", delivered" : x->target < 0 ? ", present since" : "");
		}
	}
	return open;
}

/* The kind of the latest fault in effect when m was issued. */
static int kind_of(const struct meshsim_check *c, const struct cmsg *x, int64_t linger_us)
{
	for (size_t k = c->nfaults; k-- > 0;) {
		const struct fault *f = &c->faults[k];
		if (f->start_us <= x->issued_us && (f->end_us == 0 || x->issued_us <= f->end_us +
		                                                              linger_us))
			return f->kind;
	}
	return MESHSIM_KIND_NONE;
}

struct tally {
	long ex[8];                 /* examples reported, per violation kind */
};

enum { V_LOST, V_UNANSWERED, V_DUP, V_BAD_DROP, V_BAD_RECEIPT, V_TWICE, V_ORDER };

static bool example(struct tally *t, int v)
{
	return t->ex[v]++ < MAX_EXAMPLES;
}

static void name_msg(const struct meshsim_check *c, long m, char *buf, size_t cap)
{
	const struct cmsg *x = &c->msgs[m];
	snprintf(buf, cap, "%s s%d-%ld (id %llu, gen %d)", x->target < 0 ? "shout" : "whisper",
	         x->sender, m, (unsigned long long)x->id, x->gen);
}

static void classify(const struct meshsim_check *c, struct meshsim *s, long m, int r,
                     struct meshsim_account_row *row, struct tally *t)
{
	const struct cmsg *x = &c->msgs[m];
	const struct cslot *sl = slot(c, m, r);
	const struct meshsim_env *e = meshsim_env(s);
	const char *rn = e->nodes[r].name, *sn = e->nodes[x->sender].name;
	unsigned answers = (unsigned)sl->receipts + sl->drops + sl->maybe_drops;
	char lb[96];
	name_msg(c, m, lb, sizeof lb);
	if (!sl->rx && !answers) {
		bool shout = x->target < 0;
		if (shout && !(sl->flags & PRESENT))
			return;             /* not a recipient, as far as anyone can tell */
		if (x->sender_killed) {
			row->pairs++;
			row->gone++;
			return;
		}
		if (shout && !continuous(c, m, r))
			return;             /* it left after the send: the sender need not have queued it */
		row->pairs++;
		row->lost++;
		if (example(t, V_LOST))
			meshsim_violation(s, "loss: %s never received %s from %s, and %s, still running, "
			                  "never reported it dropped", rn, lb, sn, sn);
		return;
	}
	row->pairs++;
	if (sl->rx > 1) {
		row->duplicates += sl->rx - 1;
		if (example(t, V_DUP))
			meshsim_violation(s, "duplicate: %s received %s %u times", rn, lb, sl->rx);
	}
	if (answers > 1) {
		row->bad++;
		if (example(t, V_TWICE))
			meshsim_violation(s, "%s answered %s for %s %u times (%u receipts, %u dropped): "
			                  "one final answer each", sn, lb, rn, answers, sl->receipts,
			                  (unsigned)sl->drops + sl->maybe_drops);
		return;
	}
	if (sl->rx) {
		if (sl->drops) {
			row->bad++;
			if (example(t, V_BAD_DROP))
				meshsim_violation(s, "%s received %s, but %s reported it dropped with "
				                  "maybe_delivered false", rn, lb, sn);
		} else if (sl->maybe_drops) {
			row->maybe++;
		} else if (sl->receipts || !c->receipts) {
			row->delivered++;
		} else if (x->sender_killed) {
			row->gone++;
		} else {
			row->unanswered++;
			if (example(t, V_UNANSWERED))
				meshsim_violation(s, "unanswered: %s received %s, but %s, still running, "
				                  "printed neither a receipt nor a drop for it", rn, lb, sn);
		}
		return;
	}
	if (sl->receipts) {
		row->bad++;
		if (example(t, V_BAD_RECEIPT))
			meshsim_violation(s, "%s printed a receipt of %s for %s, which never received it",
			                  sn, lb, rn);
		return;
	}
	row->reported++;
}

static void add_row(struct meshsim_account_row *to, const struct meshsim_account_row *r)
{
	to->messages += r->messages;
	to->pairs += r->pairs;
	to->delivered += r->delivered;
	to->maybe += r->maybe;
	to->reported += r->reported;
	to->gone += r->gone;
	to->lost += r->lost;
	to->unanswered += r->unanswered;
	to->bad += r->bad;
	to->duplicates += r->duplicates;
}

/* Per sender generation, each receiver's first deliveries come in the order of sending. */
static long check_order(const struct meshsim_check *c, struct meshsim *s, struct tally *t)
{
	const struct meshsim_env *e = meshsim_env(s);
	long bad = 0;
	uint32_t *last = calloc((size_t)c->n, sizeof *last);
	long *last_m = calloc((size_t)c->n, sizeof *last_m);
	if (!last || !last_m) {
		free(last);
		free(last_m);
		meshsim_violation(s, "out of memory checking the order");
		return 0;
	}
	for (int i = 0; i < c->n; i++) {
		int gen = -1;
		for (long m = 0; m < c->nmsgs; m++) {
			const struct cmsg *x = &c->msgs[m];
			if (x->sender != i || x->state == MSG_REFUSED)
				continue;
			if (x->gen != gen) {
				memset(last, 0, (size_t)c->n * sizeof *last);
				gen = x->gen;
			}
			for (int r = 0; r < c->n; r++) {
				const struct cslot *sl = slot(c, m, r);
				if (!sl->rx)
					continue;
				if (sl->rseq < last[r]) {
					bad++;
					if (example(t, V_ORDER))
						meshsim_violation(s, "order: %s received s%d-%ld after s%d-%ld, which "
						                  "%s sent later", e->nodes[r].name, i, m, i,
						                  last_m[r], e->nodes[i].name);
				} else {
					last[r] = sl->rseq;
					last_m[r] = m;
				}
			}
		}
	}
	free(last);
	free(last_m);
	return bad;
}

void meshsim_check_account(struct meshsim_check *c, struct meshsim *s, int64_t linger_us,
                           struct meshsim_account *acc)
{
	struct tally t;
	memset(&t, 0, sizeof t);
	memset(acc, 0, sizeof *acc);
	acc->receipts = c->receipts;
	acc->late_answers = c->late_answers;
	for (size_t k = 0; k < c->nfaults; k++)
		acc->faults[c->faults[k].kind]++;
	for (long m = 0; m < c->nmsgs; m++) {
		const struct cmsg *x = &c->msgs[m];
		if (x->state == MSG_REFUSED)
			acc->refused++;
		if (x->state != MSG_ACCEPTED)
			continue;   /* never accepted: nobody owes anything for it */
		struct meshsim_account_row *row = &acc->kind[kind_of(c, x, linger_us)];
		row->messages++;
		for (int r = 0; r < c->n; r++)
			if (r != x->sender && (x->target < 0 || r == x->target))
				classify(c, s, m, r, row, &t);
	}
	for (int k = 0; k < MESHSIM_KINDS; k++)
		add_row(&acc->total, &acc->kind[k]);
	acc->order_violations = check_order(c, s, &t);
	const struct meshsim_account_row *T = &acc->total;
	if (T->lost)
		meshsim_violation(s, "losses: %ld of %ld (message, recipient) pairs silently lost",
		                  T->lost, T->pairs);
	if (T->unanswered)
		meshsim_violation(s, "unanswered: %ld deliveries whose running sender never answered",
		                  T->unanswered);
	if (T->duplicates)
		meshsim_violation(s, "duplicates: %ld deliveries more than once", T->duplicates);
	if (T->bad)
		meshsim_violation(s, "contradictions: %ld pairs answered twice, or delivered and "
		                  "reported certainly not, or receipted and never delivered", T->bad);
	if (acc->order_violations)
		meshsim_violation(s, "order: %ld deliveries out of per-sender order",
		                  acc->order_violations);
	if (c->npending)
		meshsim_violation(s, "%zu answers (receipts or drops) for message IDs no sender "
		                  "reported as sent", c->npending);
	if (c->oom)
		meshsim_violation(s, "out of memory in the account: it is incomplete");
}
