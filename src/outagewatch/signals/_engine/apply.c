/*
 * apply.c: resolved elements -> route cells, churn, and what the bin close must look at.
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

static int count(Core *c, int32_t prefix, int32_t peer, int announce, uint32_t before, uint32_t after) {
    int flags[5] = {announce, !announce, announce && before && before == after, announce && before && before != after,
                    1};
    int32_t as = announce ? c->path[after].as : (before ? c->path[before].as : -1);
    if (churn_add(c, ET_GLOBAL, 0, flags, peer) < 0) return -1;
    for (int32_t r = c->pfx[prefix].crow_start, e = r + c->pfx[prefix].crow_n; r < e; r++)
        if (churn_add(c, ET_COUNTRY, c->crow_country[r], flags, peer) < 0) return -1;
    if (as >= 0 && churn_add(c, ET_AS, as, flags, peer) < 0) return -1;
    if (c->pfx[prefix].watch >= 0 && churn_add(c, ET_PREFIX, c->pfx[prefix].watch, flags, peer) < 0) return -1;
    return 0;
}

int apply_resolved(Core *c, int count_churn) {
    if (count_churn && churn_begin(c) < 0) return -1;
    if (c->n_el) c->version++;
    for (int64_t j = 0; j < c->n_el; j++) {
        int kind = c->el_kind[j];
        int32_t peer = c->el_peer[j];
        if (kind == K_DOWN) {
            clear_peer(c, peer);
            if (count_churn) c->sessions_down++;
            continue;
        }
        if (kind != K_ANNOUNCE && kind != K_WITHDRAW) continue;
        int32_t prefix = c->el_pfx[j];
        uint32_t after = c->el_path[j];
        uint32_t *cell = core_cell(c, prefix, peer);
        uint32_t before = *cell;
        *cell = after;
        route_count(c, peer, prefix, before, after);
        int announce = kind == K_ANNOUNCE;
        if (announce) note_origin(c, after, prefix);
        if (count_churn && count(c, prefix, peer, announce, before, after) < 0) return -1;
        if (!c->ff[c->pfx[prefix].fam][peer] || before == after) continue;
        if (!before || !after || c->path[before].origin != c->path[after].origin) mark_dirty(c, prefix);
        if (c->path[before].pair != c->path[after].pair &&
            (up_move(c, prefix, before, -1) < 0 || up_move(c, prefix, after, 1) < 0))
            return -1;
    }
    return 0;
}

int set_resolved(Core *c) {
    for (int64_t j = 0; j < c->n_el; j++)
        if (c->el_kind[j] == K_RIB) set_cell(c, c->el_pfx[j], c->el_peer[j], c->el_path[j]);
    return 0;
}
