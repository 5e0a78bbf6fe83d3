/*
 * maps.h: the engine's hash maps (open addressing, linear probing, at most half full).
 *
 * - U64Map: uint64 key -> dense int32 id in insertion order (keys kept in id order too);
 * - PrefixMap: a prefix (family, 16 address bytes, length) -> dense int32 id, compared whole:
 *   two different prefixes never share an id.
 *
 * Growth doubles the slot array and re-places every key; ids never change.
 */
#ifndef OW_MAPS_H
#define OW_MAPS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static inline uint64_t ow_mix(uint64_t k) { /* murmur3 finaliser */
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

typedef struct {
    uint64_t key;
    int32_t id1; /* id + 1; 0: empty (fresh zeroed slots are empty) */
    int32_t pad;
} Slot;

typedef struct {
    Slot *slots;
    size_t mask;    /* slots - 1; 0 with no slots */
    uint64_t *keys; /* by id */
    int32_t n, cap;
} U64Map;

static inline size_t u64map_home(const U64Map *m, uint64_t k) { return (size_t)ow_mix(k) & m->mask; }

static inline int32_t u64map_find(const U64Map *m, uint64_t k) {
    if (!m->slots) return -1;
    size_t i = u64map_home(m, k);
    for (;;) {
        const Slot *s = &m->slots[i];
        if (!s->id1 || s->key == k) return s->id1 - 1;
        i = (i + 1) & m->mask;
    }
}

static inline void u64map_prefetch(const U64Map *m, uint64_t k) {
    if (m->slots) ow_prefetch(&m->slots[u64map_home(m, k)]);
}

static int u64map_grow(U64Map *m, int32_t need) {
    if (need > m->cap) {
        int32_t cap = m->cap ? m->cap : 256;
        while (cap < need) cap *= 2;
        uint64_t *k = realloc(m->keys, (size_t)cap * sizeof(uint64_t));
        if (!k) return -1;
        m->keys = k;
        m->cap = cap;
    }
    size_t slots = m->slots ? m->mask + 1 : 0;
    if ((size_t)need * 2 <= slots) return 0;
    size_t ns = slots ? slots * 2 : 512;
    while (ns < (size_t)need * 2) ns *= 2;
    Slot *s = ow_alloc(ns * sizeof(Slot));
    if (!s) return -1;
    for (int32_t id = 0; id < m->n; id++) {
        size_t i = (size_t)ow_mix(m->keys[id]) & (ns - 1);
        while (s[i].id1) i = (i + 1) & (ns - 1);
        s[i].key = m->keys[id];
        s[i].id1 = id + 1;
    }
    ow_free(m->slots, slots * sizeof(Slot));
    m->slots = s;
    m->mask = ns - 1;
    return 0;
}

/* the id of k, inserting it when new (*added = 1); -1 on allocation failure */
static inline int32_t u64map_get(U64Map *m, uint64_t k, int *added) {
    *added = 0;
    int32_t found = u64map_find(m, k);
    if (found >= 0) return found;
    if (u64map_grow(m, m->n + 1) < 0) return -1;
    size_t i = u64map_home(m, k);
    while (m->slots[i].id1) i = (i + 1) & m->mask;
    int32_t id = m->n++;
    m->slots[i].key = k;
    m->slots[i].id1 = id + 1;
    m->keys[id] = k;
    *added = 1;
    return id;
}

static void u64map_free(U64Map *m) {
    ow_free(m->slots, m->slots ? (m->mask + 1) * sizeof(Slot) : 0);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

static inline size_t u64map_nbytes(const U64Map *m) {
    return (m->slots ? (m->mask + 1) * sizeof(Slot) : 0) + (size_t)m->cap * 8;
}

typedef struct {
    uint64_t hi, lo; /* the address as two big-endian words */
    int32_t id1;     /* id + 1; 0: empty */
    uint8_t plen, fam;
} PrefixSlot;

typedef struct {
    PrefixSlot *slots;
    size_t mask;
    int32_t n;
} PrefixMap;

/* one 128-bit multiply of the address words, folded (wyhash's "mum"); the length and family
 * enter the second word */
static inline uint64_t prefix_slot_hash(uint64_t hi, uint64_t lo, uint8_t plen, uint8_t fam) {
    unsigned __int128 r = (unsigned __int128)(hi ^ 0xa0761d6478bd642fULL) *
                          (lo ^ ((uint64_t)plen << 56 | (uint64_t)fam << 48) ^ 0xe7037ed1a0b428dbULL);
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static int prefixmap_grow(PrefixMap *m, int32_t need) {
    size_t slots = m->slots ? m->mask + 1 : 0;
    if ((size_t)need * 2 <= slots) return 0;
    size_t ns = slots ? slots * 2 : 1024;
    while (ns < (size_t)need * 2) ns *= 2;
    PrefixSlot *s = ow_alloc(ns * sizeof(PrefixSlot));
    if (!s) return -1;
    for (size_t j = 0; j < slots; j++) {
        if (!m->slots[j].id1) continue;
        const PrefixSlot *o = &m->slots[j];
        size_t i = (size_t)prefix_slot_hash(o->hi, o->lo, o->plen, o->fam) & (ns - 1);
        while (s[i].id1) i = (i + 1) & (ns - 1);
        s[i] = *o;
    }
    ow_free(m->slots, slots * sizeof(PrefixSlot));
    m->slots = s;
    m->mask = ns - 1;
    return 0;
}

/* the id of a prefix (slot hash h), or -1 when unknown */
static inline int32_t prefixmap_find_h(const PrefixMap *m, uint64_t hi, uint64_t lo, uint8_t plen, uint8_t fam,
                                       uint64_t h) {
    if (!m->slots) return -1;
    size_t i = (size_t)h & m->mask;
    for (;;) {
        const PrefixSlot *s = &m->slots[i];
        if (!s->id1) return -1;
        if (s->hi == hi && s->lo == lo && s->plen == plen && s->fam == fam) return s->id1 - 1;
        i = (i + 1) & m->mask;
    }
}

/* the id of a prefix (slot hash h), a new one (next_id, *added = 1) when unknown; -1 on
 * allocation failure */
static inline int32_t prefixmap_get_h(PrefixMap *m, uint64_t hi, uint64_t lo, uint8_t plen, uint8_t fam, uint64_t h,
                                      int32_t next_id, int *added) {
    *added = 0;
    int32_t found = prefixmap_find_h(m, hi, lo, plen, fam, h);
    if (found >= 0) return found;
    if (prefixmap_grow(m, m->n + 1) < 0) return -1;
    size_t i = (size_t)h & m->mask;
    while (m->slots[i].id1) i = (i + 1) & m->mask;
    PrefixSlot *s = &m->slots[i];
    s->hi = hi;
    s->lo = lo;
    s->plen = plen;
    s->fam = fam;
    s->id1 = next_id + 1;
    m->n++;
    *added = 1;
    return next_id;
}

static inline void prefixmap_prefetch(const PrefixMap *m, uint64_t h) {
    if (m->slots) ow_prefetch(&m->slots[(size_t)h & m->mask]);
}

#endif
