/*
 * upstream.c: full-feed routes per (entity, upstream), kept up to date route by route.
 *
 * A route counts when its peer is full feed for the prefix's family and its path has an
 * upstream (an origin and a different AS before it). It counts for the origin's AS entity
 * (through the path's (origin, upstream) pair), once for each country the prefix touches, and
 * for the watched prefix. Counts move when a full-feed peer's route changes pair, when a
 * peer joins or leaves the full feed (all its routes of the family), and are recounted from
 * the matrix after cells were set directly.
 */
#include "core.h"

static void up_mark(Core *c, int et, int32_t id) {
    EntTab *t = &c->ent[et];
    if (t->flags[id] & F_UPDIRTY) return;
    if (ow_reserve32((void **)&t->up_dirty, &t->up_dirty_cap, t->n_up_dirty + 1, 4) < 0) {
        c->lost_marks = 1; /* emit_bin reports it */
        return;
    }
    t->flags[id] |= F_UPDIRTY;
    t->up_dirty[t->n_up_dirty++] = id;
}

static int bump(Core *c, int et, int32_t ent, int32_t up, int sign) {
    int32_t cell;
    if (up_cell(c, et, ent, up, &cell) < 0) return core_error(c, 2, "out of memory");
    c->cells[et].cnt[cell] += sign;
    up_mark(c, et, ent);
    return 0;
}

int up_move(Core *c, int32_t prefix, uint32_t path, int sign) {
    if (!path) return 0;
    int32_t pair = c->path[path].pair;
    if (pair < 0) return 0;
    int32_t up = c->pair_up[pair], as = c->pair_as[pair];
    c->cells[ET_AS].cnt[c->pair_cell[pair]] += sign;
    up_mark(c, ET_AS, as);
    for (int32_t r = c->pfx[prefix].crow_start, e = r + c->pfx[prefix].crow_n; r < e; r++)
        if (bump(c, ET_COUNTRY, c->crow_country[r], up, sign) < 0) return -1;
    if (c->pfx[prefix].watch >= 0 && bump(c, ET_PREFIX, c->pfx[prefix].watch, up, sign) < 0) return -1;
    return 0;
}

int up_add_countries(Core *c, int32_t prefix) {
    int fam = c->pfx[prefix].fam;
    const uint32_t *row = c->routes + (size_t)prefix * (size_t)c->peer_cap;
    for (int32_t k = 0; k < c->n_ff[fam]; k++) {
        uint32_t path = row[c->ff_list[fam][k]];
        int32_t pair = path ? c->path[path].pair : -1;
        if (pair < 0) continue;
        for (int32_t r = c->pfx[prefix].crow_start, e = r + c->pfx[prefix].crow_n; r < e; r++)
            if (bump(c, ET_COUNTRY, c->crow_country[r], c->pair_up[pair], 1) < 0) return -1;
    }
    return 0;
}

int up_join(Core *c, int32_t peer, int fam, int sign) {
    const uint64_t *words = c->peer_bits + (size_t)peer * c->bit_words;
    size_t n_words = ((size_t)c->n_pfx + 63) / 64;
    for (size_t w = 0; w < n_words; w++)
        for (uint64_t bits = words[w]; bits; bits &= bits - 1) {
            int32_t q = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            if (c->pfx[q].fam == fam && up_move(c, q, *core_cell(c, q, peer), sign) < 0) return -1;
        }
    return 0;
}

int up_recount(Core *c) {
    for (int et = 0; et < 3; et++) {
        UpCells *u = &c->cells[et];
        for (int32_t k = 0; k < u->n; k++)
            if (u->cnt[k]) {
                u->cnt[k] = 0;
                up_mark(c, et, u->ent[k]);
            }
    }
    /* AS counts: full-feed routes per path first (a short array read at random), then per pair;
     * prefixes with countries or a watched prefix count their routes the general way */
    int64_t *per_path = calloc((size_t)c->n_paths, sizeof(int64_t));
    if (!per_path) return core_error(c, 2, "out of memory");
    for (int32_t p = 0; p < c->n_pfx; p++) {
        const PrefixInfo *x = &c->pfx[p];
        int fam = x->fam, others = x->crow_n > 0 || x->watch >= 0;
        const uint32_t *row = c->routes + (size_t)p * (size_t)c->peer_cap;
        const int32_t *list = c->ff_list[fam];
        for (int32_t k = 0; k < c->n_ff[fam]; k++) {
            uint32_t path = row[list[k]];
            if (!path) continue;
            if (others) {
                if (up_move(c, p, path, 1) < 0) {
                    free(per_path);
                    return -1;
                }
            } else {
                per_path[path]++;
            }
        }
    }
    UpCells *as_cells = &c->cells[ET_AS];
    for (int32_t path = 1; path < c->n_paths; path++) {
        int32_t pair = c->path[path].pair;
        if (!per_path[path] || pair < 0) continue;
        as_cells->cnt[c->pair_cell[pair]] += per_path[path];
        up_mark(c, ET_AS, c->pair_as[pair]);
    }
    free(per_path);
    return 0;
}
