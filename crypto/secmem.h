/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * secmem: many small secrets of one size in locked, guarded memory, without system calls for
 * each. sodium_malloc() maps a fresh region with guard pages and locks it for every allocation
 * (mmap, mprotect, mlock; munlock, mprotect, munmap on free): tens of microseconds, a write
 * lock on the address space and a TLB shootdown across the process's threads, each time. A
 * node running thousands of handshakes (a handshake state, then link keys, per session) takes
 * its secrets from a pool instead: chunks of SECMEM_CHUNK_SLOTS slots at first, twice as
 * many in each next chunk up to SECMEM_CHUNK_BYTES, each chunk one sodium_malloc() region,
 * so the secrets stay locked (where the memlock limit allows) and the chunk is guarded at
 * both ends, though neighbouring slots are not guarded from each other.
 * Every slot is zeroed when handed out and wiped when given back; destroying the pool wipes
 * everything. A chunk is kept until the pool is destroyed, or until secmem_trim() finds it
 * empty at two calls in a row with no slot handed out from it in between (its owner calls
 * that now and then): a burst of handshakes leaves no chunk without a slot in use behind
 * once it is over, and a pool that is used steadily does not map and unmap a chunk at each
 * turn. A chunk's size follows how many the pool holds when it is added, so after a trim the
 * sizes need not rise in order.
 *
 * A pool is not thread-safe: it belongs to one owner (a mesh, which runs on one thread).
 */
#ifndef MESH_CRYPTO_SECMEM_H
#define MESH_CRYPTO_SECMEM_H

#include <stddef.h>

#define SECMEM_CHUNK_SLOTS 32        /* slots of the first chunk */
#define SECMEM_CHUNK_BYTES (256 << 10) /* the largest chunk doubling reaches */
#define SECMEM_MAX_SLOT 4096        /* bytes; larger secrets get their own sodium_malloc */

struct secmem;

/* A pool of slots of slot_size bytes (1..SECMEM_MAX_SLOT), each aligned for any type. NULL on
 * out of memory or a bad size. */
struct secmem *secmem_new(size_t slot_size);
/* Wipes and releases every chunk, slots still in use included; NULL and *pp NULL are fine. */
void secmem_destroy(struct secmem **pp);
/* A zeroed slot, or NULL on out of memory. */
void *secmem_alloc(struct secmem *p);
/* Wipes slot and gives it back; NULL is fine. The slot must come from this pool. */
void secmem_free(struct secmem *p, void *slot);
/* Releases (wiping them) the chunks that have had no slot in use since the last call: a chunk
 * goes at the second call that finds it empty with no slot handed out from it in between.
 * Returns how many chunks went. NULL is fine. */
size_t secmem_trim(struct secmem *p);
/* Slots handed out and not given back. */
size_t secmem_in_use(const struct secmem *p);
/* Chunks the pool holds (each one sodium_malloc() region: a few memory mappings). */
size_t secmem_chunks(const struct secmem *p);

#endif
