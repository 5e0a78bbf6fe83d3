/*
 * alloc.h: zeroed allocations for the engine's big tables (the route matrix, the prefix and path
 * tables, the hash maps' slots).
 *
 * Those are read at random, element by element: with 4 KiB pages nearly every read also misses
 * the TLB. Tables of 1 MiB or more are therefore mapped on their own and advised to use huge
 * pages (transparent huge pages in "madvise" mode, as on Debian; elsewhere the advice is
 * harmless). Fresh mappings read as zero, so a table grown this way needs no zeroing.
 * ow_free and ow_regrow must be given the byte size the block was allocated with.
 */
#ifndef OW_ALLOC_H
#define OW_ALLOC_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h> /* mremap: the build defines _GNU_SOURCE */

#define OW_BIG_MIN ((size_t)1 << 20)
#define OW_HUGE ((size_t)2 << 20)

/* a hint that p will be read soon (an asm statement: the compiler must keep it) */
static inline void ow_prefetch(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p);
#endif
}

static inline size_t ow_big_size(size_t bytes) { return (bytes + OW_HUGE - 1) / OW_HUGE * OW_HUGE; }

static void *ow_alloc(size_t bytes) {
    if (bytes < OW_BIG_MIN) return calloc(1, bytes ? bytes : 1);
    size_t size = ow_big_size(bytes);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

static void ow_free(void *p, size_t bytes) {
    if (!p) return;
    if (bytes < OW_BIG_MIN) free(p);
    else munmap(p, ow_big_size(bytes));
}

/* a block of new_bytes holding the first used bytes of p (p is freed), zero past old_bytes;
 * between used and old_bytes it holds what p held there or zeros (callers keep nothing there but
 * zeros, or do not care). Big blocks are moved by the kernel (mremap: page tables, no copy). */
static void *ow_regrow(void *p, size_t old_bytes, size_t used, size_t new_bytes) {
#ifdef MREMAP_MAYMOVE
    if (p && old_bytes >= OW_BIG_MIN && new_bytes >= old_bytes) {
        void *q = mremap(p, ow_big_size(old_bytes), ow_big_size(new_bytes), MREMAP_MAYMOVE);
        if (q != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            madvise(q, ow_big_size(new_bytes), MADV_HUGEPAGE);
#endif
            return q;
        }
    }
#endif
    void *q = ow_alloc(new_bytes);
    if (!q) return NULL;
    if (p) {
        if (used) memcpy(q, p, used);
        ow_free(p, old_bytes);
    }
    return q;
}

#endif
