/*
 * apply.c: rows -> route cells, churn, and what the bin close must look at.
 *
 * Updates are written in sequence; each is classified against the route it replaced (the
 * state's for the first update of a (peer, prefix) in the bin, else the previous update's):
 * announcement over nothing, over the same path (duplicate), over another path (path change);
 * withdrawal (attributed to the withdrawn route's origin). A session down withdraws every route
 * of its peer at that point of the sequence and is no churn. For peers that were full feed at
 * the last close, a change that can move visibility (a route appearing or going, or its origin
 * changing) marks the prefix for the close, and a change of (origin, upstream) moves the
 * upstream counts at once. RIB rows and restored routes are set directly: the close then
 * recounts everything.
 */
#include "core.h"

static inline void bit_set(Core *c, int32_t peer, int32_t prefix, int on) {
    uint64_t *w = c->peer_bits + (size_t)peer * c->bit_words + ((size_t)prefix >> 6);
    uint64_t b = 1ULL << (prefix & 63);
    *w = on ? (*w | b) : (*w & ~b);
}

static inline void route_count(Core *c, int32_t peer, int32_t prefix, uint32_t before, uint32_t after) {
    if ((before == 0) == (after == 0)) return;
    bit_set(c, peer, prefix, after != 0);
    c->peer_size[2 * peer + c->pfx[prefix].fam] += after ? 1 : -1;
}

static inline void note_origin(Core *c, uint32_t path, int32_t prefix) {
    int32_t as = c->path[path].as;
    uint8_t bit = (uint8_t)(1u << c->pfx[prefix].fam);
    if (as >= 0) c->as_fam[as] |= bit;
    else c->origin0_fam |= bit;
}

int set_cell(Core *c, int32_t prefix, int32_t peer, uint32_t path) {
    uint32_t *cell = core_cell(c, prefix, peer);
    uint32_t before = *cell;
    *cell = path;
    route_count(c, peer, prefix, before, path);
    if (path) note_origin(c, path, prefix);
    c->need_full = 1;
    c->version++;
    return 0;
}

void clear_peer(Core *c, int32_t peer) {
    uint64_t *words = c->peer_bits + (size_t)peer * c->bit_words;
    size_t n_words = ((size_t)c->n_pfx + 63) / 64;
    for (size_t w = 0; w < n_words; w++) {
        uint64_t bits = words[w];
        while (bits) {
            int32_t q = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            bits &= bits - 1;
            uint32_t *cell = core_cell(c, q, peer);
            uint32_t before = *cell;
            *cell = 0;
            if (c->ff[c->pfx[q].fam][peer]) {
                mark_dirty(c, q);
                up_move(c, q, before, -1);
            }
        }
        words[w] = 0;
    }
    c->peer_size[2 * peer] = c->peer_size[2 * peer + 1] = 0;
    c->peer_clears[peer]++;
    c->version++;
}

/* the bin's churn slot of an entity (made on its first update) */
static inline int32_t slot(Core *c, int et, int32_t id) {
    int32_t s = c->ent[et].churn_slot[id];
    return s >= 0 ? s : churn_slot_new(c, et, id);
}

typedef int32_t v4i __attribute__((vector_size(16)));
/* the four counts an update of these flags adds (bit k: count k) */
static const v4i FLAG_ADD[16] = {
    {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 1, 0}, {1, 0, 1, 0}, {0, 1, 1, 0}, {1, 1, 1, 0},
    {0, 0, 0, 1}, {1, 0, 0, 1}, {0, 1, 0, 1}, {1, 1, 0, 1}, {0, 0, 1, 1}, {1, 0, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 1}};

static inline void tally(Churn *h, int32_t s, uint32_t flags, int32_t peer) {
    v4i *n = (v4i *)(h->cnt + 4 * (size_t)s); /* malloc'd: 16-byte aligned */
    *n += FLAG_ADD[flags & 15];
    h->mask[(size_t)s * (size_t)h->words + (size_t)(peer >> 6)] |= 1ULL << (peer & 63);
}

/* one update's churn: its prefix's slot (spread to the prefix's entities at the close) and
 * its AS's: the AS of the new route's origin, or of the withdrawn route's */
static inline int count(Core *c, int32_t prefix, int32_t peer, int announce, uint32_t before, uint32_t after) {
    uint32_t flags = announce ? 1u | (before ? (before == after ? 4u : 8u) : 0u) : 2u;
    int32_t as = c->path[announce ? after : before].as; /* path 0: -1 */
    PrefixInfo *x = &c->pfx[prefix];
    int32_t s = x->churn;
    if (s < 0) {
        if ((s = churn_slot_new(c, ET_ROUTE_PREFIX, prefix)) < 0) return -1;
        c->pfx[prefix].churn = s;
    }
    tally(&c->churn, s, flags, peer);
    if (as >= 0) {
        if ((s = slot(c, ET_AS, as)) < 0) return -1;
        tally(&c->churn, s, flags, peer);
    }
    return 0;
}

int apply_row(Core *c, const Row *r, int count_churn) {
    int kind = r->kind;
    int32_t peer = r->peer;
    if (kind == K_DOWN) {
        clear_peer(c, peer);
        if (count_churn) c->sessions_down++;
        return 0;
    }
    if (kind == K_RIB) return set_cell(c, r->pfx, peer, r->path);
    if (kind != K_ANNOUNCE && kind != K_WITHDRAW) return 0;
    int32_t prefix = r->pfx;
    uint32_t after = r->path;
    uint32_t *cell = core_cell(c, prefix, peer);
    uint32_t before = *cell;
    *cell = after;
    route_count(c, peer, prefix, before, after);
    int announce = kind == K_ANNOUNCE;
    if (announce) note_origin(c, after, prefix);
    if (count_churn && count(c, prefix, peer, announce, before, after) < 0) return -1;
    if (!c->ff[c->pfx[prefix].fam][peer] || before == after) return 0;
    if (!before || !after || c->path[before].origin != c->path[after].origin) mark_dirty(c, prefix);
    if (c->path[before].pair != c->path[after].pair &&
        (up_move(c, prefix, before, -1) < 0 || up_move(c, prefix, after, 1) < 0))
        return -1;
    return 0;
}

/* add slot s's counts and peers to slot t */
static inline void merge_slot(Churn *h, int32_t t, int32_t s) {
    for (int k = 0; k < 4; k++) h->cnt[4 * (size_t)t + k] += h->cnt[4 * (size_t)s + k];
    uint64_t *dst = h->mask + (size_t)t * h->words;
    const uint64_t *src = h->mask + (size_t)s * h->words;
    for (int32_t w = 0; w < h->words; w++) dst[w] |= src[w];
}

int churn_spread(Core *c) {
    Churn *h = &c->churn;
    int32_t n = h->n;
    for (int32_t s = 0; s < n; s++) {
        if (h->etype[s] != ET_ROUTE_PREFIX) continue;
        int32_t p = h->ent[s], t;
        PrefixInfo *x = &c->pfx[p];
        if ((t = slot(c, ET_GLOBAL, 0)) < 0) return -1;
        merge_slot(h, t, s);
        for (int32_t r = x->crow_start, e = r + x->crow_n; r < e; r++) {
            if ((t = slot(c, ET_COUNTRY, c->crow_country[r])) < 0) return -1;
            merge_slot(h, t, s);
        }
        if (x->watch >= 0) {
            if ((t = slot(c, ET_PREFIX, x->watch)) < 0) return -1;
            merge_slot(h, t, s);
        }
        x->churn = -1;
    }
    return 0;
}
