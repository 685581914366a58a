/*
 * secpool: fixed-size slots for secrets (one link's transport keys each), carved out of
 * sodium_malloc'd blocks.
 *
 * sodium_malloc gives every allocation guard pages, a canary and mlock, but also two resident
 * pages and four memory mappings however small it is: 8 KiB and four mappings for the 120 bytes
 * of one link's keys, per session, and one locked page each against RLIMIT_MEMLOCK. A pool
 * keeps the protection for the block as a whole (guarded, locked, never swapped, wiped on
 * release) and packs up to SECPOOL_BLOCK_SLOTS slots into it. What is lost is a guard page between two
 * slots: the slots hold fixed-size structs that nothing writes variable lengths into.
 *
 * Invariants: a slot handed out is zeroed; a slot given back is wiped before it can be reused;
 * a block is released (wiped by sodium_free) as soon as no slot of it is in use.
 */
#ifndef MESH_CRYPTO_SECPOOL_H
#define MESH_CRYPTO_SECPOOL_H

#include <stddef.h>

#define SECPOOL_BLOCK_SLOTS 64       /* slots per sodium_malloc'd block, at most */

struct secpool;

/* slot_size: 1..4096 bytes; slots are 16-byte aligned. NULL when out of memory. */
struct secpool *secpool_new(size_t slot_size);
/* Every block is wiped and released; slots still in use become invalid. NULL ok. */
void secpool_destroy(struct secpool **pp);

/* A zeroed slot, or NULL when out of memory. */
void *secpool_alloc(struct secpool *p);
/* Wipes the slot and gives it back; *slotp = NULL. NULL ok. A pointer that is not a slot of p
 * in use is a caller bug (assert). */
void secpool_free(struct secpool *p, void **slotp);

/* Slots in use, and blocks held: for tests and statistics. */
size_t secpool_used(const struct secpool *p);
size_t secpool_blocks(const struct secpool *p);

#endif
