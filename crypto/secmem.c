/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * secmem: fixed-size slots carved from sodium_malloc'd chunks (see secmem.h for why).
 *
 * Invariants: slot is a multiple of ALIGN, so every slot of a chunk is aligned when the chunk
 * is; a slot is either in use (used[] set) or on the free stack, never both; a free slot holds
 * zeros. Under AddressSanitizer free slots are poisoned, so a use after secmem_free() is caught
 * as it would be with sodium_free().
 */
#include "secmem.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_ASAN 1
#endif
#endif
#ifdef SECMEM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN _Alignof(max_align_t)

/* A chunk: one sodium_malloc() region of nslots slots, whose used[] entries start at first;
 * in_use of them handed out. idle: found empty by the last secmem_trim(), and no slot handed
 * out since. */
struct chunk {
	uint8_t *base;
	size_t nslots, first, in_use;
	bool idle;
};

struct secmem {
	size_t slot;                /* bytes per slot, a multiple of ALIGN */
	struct chunk *chunks;
	size_t nchunks, capchunks;
	size_t total;               /* slots in all chunks */
	uint8_t *used;              /* one per slot: chunk c, slot i is used[first + i] */
	void **stack;               /* free slots; room for all of them */
	size_t nfree;
	size_t in_use;
};

struct secmem *secmem_new(size_t slot_size)
{
	if (slot_size == 0 || slot_size > SECMEM_MAX_SLOT || sodium_init() < 0)
		return NULL;
	struct secmem *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->slot = (slot_size + ALIGN - 1) / ALIGN * ALIGN;
	return p;
}

void secmem_destroy(struct secmem **pp)
{
	struct secmem *p = pp ? *pp : NULL;
	if (!p)
		return;
	for (size_t c = 0; c < p->nchunks; c++) {
		UNPOISON(p->chunks[c].base, p->slot * p->chunks[c].nslots);
		sodium_free(p->chunks[c].base);   /* wipes the chunk */
	}
	free(p->chunks);
	free(p->used);
	free(p->stack);
	free(p);
	*pp = NULL;
}

/* Slots of the next chunk: SECMEM_CHUNK_SLOTS, doubling with each chunk held up to
 * SECMEM_CHUNK_BYTES (at least SECMEM_CHUNK_SLOTS). Each chunk is a few memory mappings
 * (sodium_malloc's guard pages split them), and the kernel allows a process 65,530: with a
 * fixed size, the link keys of meshsim --sim's 1,000 nodes (a million sessions in one
 * process) took more than that. */
static size_t next_slots(const struct secmem *p)
{
	size_t n = SECMEM_CHUNK_SLOTS;
	for (size_t c = 0; c < p->nchunks && p->slot * n * 2 <= SECMEM_CHUNK_BYTES; c++)
		n *= 2;
	return n;
}

/* One more chunk, its slots pushed so that the lowest address comes out first. */
static bool grow(struct secmem *p)
{
	size_t n = next_slots(p);
	size_t bytes = p->slot * n;
	if (p->nchunks == p->capchunks) {
		size_t ncap = p->capchunks ? p->capchunks * 2 : 4;
		struct chunk *nc = realloc(p->chunks, ncap * sizeof *nc);
		if (!nc)
			return false;
		p->chunks = nc;
		p->capchunks = ncap;
	}
	uint8_t *nu = realloc(p->used, p->total + n);
	if (!nu)
		return false;
	p->used = nu;
	void **ns = realloc(p->stack, (p->total + n) * sizeof *ns);
	if (!ns)
		return false;
	p->stack = ns;
	uint8_t *base = sodium_malloc(bytes);
	if (!base)
		return false;
	/* sodium_malloc puts the region's end against its guard page, so the start is aligned
	 * only because bytes is a multiple of ALIGN; check rather than trust it */
	if ((uintptr_t)base % ALIGN != 0) {
		sodium_free(base);
		return false;
	}
	sodium_memzero(base, bytes);        /* sodium_malloc fills with garbage */
	POISON(base, bytes);
	memset(p->used + p->total, 0, n);
	p->chunks[p->nchunks++] = (struct chunk){ .base = base, .nslots = n, .first = p->total };
	p->total += n;
	for (size_t i = n; i-- > 0;)
		p->stack[p->nfree++] = base + i * p->slot;
	return true;
}

/* The chunk that holds a (NULL if none), and the index of a in used[] (*i). */
static struct chunk *chunk_of(const struct secmem *p, const void *a, size_t *i)
{
	uintptr_t u = (uintptr_t)a;
	for (size_t c = 0; c < p->nchunks; c++) {
		struct chunk *k = &p->chunks[c];
		uintptr_t base = (uintptr_t)k->base;
		if (u >= base && u - base < p->slot * k->nslots) {
			assert((u - base) % p->slot == 0);
			*i = k->first + (u - base) / p->slot;
			return k;
		}
	}
	return NULL;
}

void *secmem_alloc(struct secmem *p)
{
	assert(p);
	if (p->nfree == 0 && !grow(p))
		return NULL;
	void *s = p->stack[--p->nfree];
	size_t i = 0;
	struct chunk *k = chunk_of(p, s, &i);
	assert(k);
	UNPOISON(s, p->slot);
	p->used[i] = 1;
	k->in_use++;
	k->idle = false;
	p->in_use++;
	return s;                           /* free slots hold zeros */
}

void secmem_free(struct secmem *p, void *slot)
{
	if (!slot)
		return;
	assert(p);
	size_t i = 0;
	struct chunk *k = chunk_of(p, slot, &i);
	assert(k && "secmem_free: slot not from this pool");
	if (!k)
		return;
	assert(p->used[i]);                 /* a double free is our own mistake ... */
	if (!p->used[i])
		return;                         /* ... which must not make a chunk look empty */
	sodium_memzero(slot, p->slot);
	POISON(slot, p->slot);
	p->used[i] = 0;
	k->in_use--;
	p->in_use--;
	/* the stack has room for every slot of every chunk */
	p->stack[p->nfree++] = slot;
}

/* Releases chunk c, which has no slot in use: its slots leave the free stack, the used[]
 * entries of the chunks after it move down. The stack and used[] keep their allocations
 * (their size bounds nothing but the pool's own bookkeeping). */
static void release(struct secmem *p, size_t c)
{
	struct chunk k = p->chunks[c];
	uintptr_t lo = (uintptr_t)k.base, len = p->slot * k.nslots;
	size_t n = 0;
	for (size_t j = 0; j < p->nfree; j++)
		if ((uintptr_t)p->stack[j] - lo >= len)
			p->stack[n++] = p->stack[j];
	assert(p->nfree - n == k.nslots);
	p->nfree = n;
	memmove(p->used + k.first, p->used + k.first + k.nslots, p->total - k.first - k.nslots);
	p->total -= k.nslots;
	for (size_t j = c + 1; j < p->nchunks; j++)
		p->chunks[j].first -= k.nslots;
	memmove(p->chunks + c, p->chunks + c + 1, (p->nchunks - c - 1) * sizeof *p->chunks);
	p->nchunks--;
	UNPOISON(k.base, len);
	sodium_free(k.base);                /* wipes the chunk */
}

size_t secmem_trim(struct secmem *p)
{
	size_t released = 0;
	for (size_t c = 0; p && c < p->nchunks;) {
		struct chunk *k = &p->chunks[c];
		if (k->in_use == 0 && k->idle) {
			release(p, c);
			released++;
			continue;
		}
		k->idle = k->in_use == 0;
		c++;
	}
	return released;
}

size_t secmem_in_use(const struct secmem *p)
{
	return p ? p->in_use : 0;
}

size_t secmem_chunks(const struct secmem *p)
{
	return p ? p->nchunks : 0;
}
