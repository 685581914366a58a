/*
 * secpool: slots for secrets in shared sodium_malloc'd blocks (see secpool.h for why).
 *
 * The bookkeeping (which slots are in use) is not secret and lives in ordinary heap memory, so
 * that the guarded block holds nothing but slots. Blocks form a list; finding a free slot or the
 * block of a slot walks it. A node has at most a few thousand sessions, so at 64 slots a block
 * the list stays short, and both walks happen once per handshake or session close, never per
 * message.
 */
#include "secpool.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#define SLOT_ALIGN 16
#define SLOT_MAX 4096
/* A block is sized to fill two pages together with sodium_malloc's 16-byte canary (on a
 * 4 KiB-page machine): 63 slots of 128 bytes cost three resident pages, header page included,
 * where one sodium_malloc per slot costs two pages each. */
#define BLOCK_BYTES 8192
#define CANARY_ROOM 16

_Static_assert(SECPOOL_BLOCK_SLOTS == 64, "one 64-bit word says which slots are in use");

struct block {
	struct block *next;
	uint8_t *mem;            /* sodium_malloc'd, per_block slots */
	uint64_t used;           /* bit i: slot i handed out */
};

struct secpool {
	size_t slot;             /* bytes per slot, a multiple of SLOT_ALIGN */
	size_t per_block;        /* 1..SECPOOL_BLOCK_SLOTS */
	uint64_t full;           /* `used` of a full block */
	struct block *blocks;
	size_t nused, nblocks;
};

struct secpool *secpool_new(size_t slot_size)
{
	struct secpool *p;
	if (slot_size == 0 || slot_size > SLOT_MAX)
		return NULL;
	/* sodium_malloc needs an initialised library; sodium_init() is idempotent. */
	if (sodium_init() < 0)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->slot = (slot_size + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
	p->per_block = (BLOCK_BYTES - CANARY_ROOM) / p->slot;
	if (p->per_block > SECPOOL_BLOCK_SLOTS)
		p->per_block = SECPOOL_BLOCK_SLOTS;
	if (p->per_block == 0)
		p->per_block = 1;
	p->full = p->per_block == 64 ? UINT64_MAX : ((uint64_t)1 << p->per_block) - 1;
	return p;
}

static void block_free(struct block *b)
{
	sodium_free(b->mem);   /* wipes the whole block */
	free(b);
}

void secpool_destroy(struct secpool **pp)
{
	struct secpool *p = pp ? *pp : NULL;
	if (!p)
		return;
	while (p->blocks) {
		struct block *b = p->blocks;
		p->blocks = b->next;
		block_free(b);
	}
	free(p);
	*pp = NULL;
}

static struct block *block_new(struct secpool *p)
{
	struct block *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	/* A multiple of 16 bytes, so every slot is 16-byte aligned: sodium_malloc puts the end of
	 * the allocation at the end of a page. */
	b->mem = sodium_malloc(p->slot * p->per_block);
	if (!b->mem) {
		free(b);
		return NULL;
	}
	b->next = p->blocks;
	p->blocks = b;
	p->nblocks++;
	return b;
}

static unsigned first_free(uint64_t used)
{
	unsigned i = 0;
	while (used & ((uint64_t)1 << i))
		i++;
	return i;
}

void *secpool_alloc(struct secpool *p)
{
	struct block *b;
	assert(p != NULL);
	for (b = p->blocks; b; b = b->next)
		if (b->used != p->full)
			break;
	if (!b && !(b = block_new(p)))
		return NULL;
	unsigned i = first_free(b->used);
	b->used |= (uint64_t)1 << i;
	p->nused++;
	uint8_t *slot = b->mem + (size_t)i * p->slot;
	/* sodium_malloc fills new memory with garbage, and a freed slot is wiped: zero it either way */
	sodium_memzero(slot, p->slot);
	return slot;
}

void secpool_free(struct secpool *p, void **slotp)
{
	uint8_t *slot = slotp ? *slotp : NULL;
	struct block **bp;
	if (!slot)
		return;
	assert(p != NULL);
	for (bp = &p->blocks; *bp; bp = &(*bp)->next) {
		struct block *b = *bp;
		/* compare offsets, not pointers into different objects */
		uintptr_t off = (uintptr_t)slot - (uintptr_t)b->mem;
		if ((uintptr_t)slot < (uintptr_t)b->mem || off >= p->slot * p->per_block)
			continue;
		assert(off % p->slot == 0);
		uint64_t bit = (uint64_t)1 << (off / p->slot);
		assert(b->used & bit);
		sodium_memzero(slot, p->slot);
		b->used &= ~bit;
		p->nused--;
		if (b->used == 0) {
			*bp = b->next;
			p->nblocks--;
			block_free(b);
		}
		*slotp = NULL;
		return;
	}
	assert(!"secpool_free: not a slot of this pool");
}

size_t secpool_used(const struct secpool *p)
{
	return p ? p->nused : 0;
}

size_t secpool_blocks(const struct secpool *p)
{
	return p ? p->nblocks : 0;
}
