/*
 * emit.c: a closed bin's rows: churn, and the state values that changed (or all of them).
 *
 * Churn rows (announcements, withdrawals, duplicate announcements, path changes, updates, and
 * peers reporting) are written for every entity with an update in the bin. State values
 * (visibility, full-feed peers, upstream routes, shares and counts) are written when they
 * differ from the value this engine wrote last for the same key, a value dropping to zero
 * included; at a keyframe every value the dense form holds is written: every non-zero value,
 * and the zeros of the visibility of present countries, watched prefixes and the global entity
 * and of the full-feed peer counts. Entity ids are written as indices into the engine's entity
 * name list.
 */
#include "core.h"

int rows_push(Rows *r, int32_t et, int32_t ent, int32_t met, double val) {
    void **const cols[] = {(void **)&r->et, (void **)&r->ent, (void **)&r->met, (void **)&r->val};
    if (r->n == r->cap && ow_reserve_cols(&r->cap, r->n + 1, 4096, 4, cols, (const size_t[]){4, 4, 4, 8}) < 0)
        return -1;
    int64_t i = r->n++;
    r->et[i] = et;
    r->ent[i] = ent;
    r->met[i] = met;
    r->val[i] = val;
    return 0;
}

static int up_rows_push(UpRows *r, int32_t et, int32_t ent, uint32_t up, double routes) {
    void **const cols[] = {(void **)&r->et, (void **)&r->ent, (void **)&r->up, (void **)&r->routes};
    if (r->n == r->cap && ow_reserve_cols(&r->cap, r->n + 1, 4096, 4, cols, (const size_t[]){4, 4, 4, 8}) < 0)
        return -1;
    int64_t i = r->n++;
    r->et[i] = et;
    r->ent[i] = ent;
    r->up[i] = up;
    r->routes[i] = routes;
    return 0;
}

static int rep_rows_push(RepRows *r, int32_t et, int32_t ent, int32_t peer) {
    void **const cols[] = {(void **)&r->et, (void **)&r->ent, (void **)&r->peer};
    if (r->n == r->cap && ow_reserve_cols(&r->cap, r->n + 1, 4096, 3, cols, (const size_t[]){4, 4, 4}) < 0)
        return -1;
    int64_t i = r->n++;
    r->et[i] = et;
    r->ent[i] = ent;
    r->peer[i] = peer;
    return 0;
}

int churn_begin(Core *c) {
    Churn *h = &c->churn;
    int32_t words = (c->n_peers + 63) / 64;
    if (words < 1) words = 1;
    if (words <= h->words) return 0;
    if (h->n > 0) { /* slots hold masks of the old width: widen them */
        uint64_t *m = calloc((size_t)h->cap * (size_t)words, 8);
        if (!m) return core_error(c, 2, "out of memory");
        for (int32_t s = 0; s < h->n; s++) memcpy(m + (size_t)s * words, h->mask + (size_t)s * h->words, (size_t)h->words * 8);
        free(h->mask);
        h->mask = m;
    } else {
        free(h->mask);
        h->mask = NULL;
        h->cap = 0;
        h->n = 0;
        free(h->etype);
        free(h->ent);
        free(h->cnt);
        h->etype = h->ent = h->cnt = NULL;
    }
    h->words = words;
    return 0;
}

/* a new slot in the bin's churn pool for entity (et, id); et ET_ROUTE_PREFIX: a prefix, whose
 * slot index the caller keeps (PrefixInfo.churn) */
int32_t churn_slot_new(Core *c, int et, int32_t id) {
    Churn *h = &c->churn;
    void **const cols[] = {(void **)&h->etype, (void **)&h->ent, (void **)&h->cnt, (void **)&h->mask};
    const size_t sizes[] = {4, 4, 4 * 4, (size_t)h->words * 8}; /* cnt rows: 16 bytes, malloc-aligned */
    if (h->n == h->cap && ow_reserve_cols(&h->cap, h->n + 1, 1024, 4, cols, sizes) < 0)
        return core_error(c, 2, "out of memory");
    int32_t s = h->n++;
    h->etype[s] = et;
    h->ent[s] = id;
    memset(h->cnt + 4 * (size_t)s, 0, 4 * 4);
    memset(h->mask + (size_t)s * h->words, 0, (size_t)h->words * 8);
    if (et != ET_ROUTE_PREFIX) c->ent[et].churn_slot[id] = s;
    return s;
}

static int emit_churn(Core *c, int dense) {
    Churn *h = &c->churn;
    if (churn_spread(c) < 0) return -1;
    for (int32_t s = 0; s < h->n; s++) {
        int et = h->etype[s];
        if (et == ET_ROUTE_PREFIX) continue;
        int32_t id = h->ent[s], name = c->ent[et].name[id];
        const int32_t *n = h->cnt + 4 * (size_t)s;
        for (int k = 0; k < 4; k++)
            if (rows_push(&c->rows, et, name, M_CHURN + k, (double)n[k]) < 0) return -1;
        /* updates: announcements and withdrawals */
        if (rows_push(&c->rows, et, name, M_CHURN + 4, (double)n[0] + (double)n[1]) < 0) return -1;
        const uint64_t *m = h->mask + (size_t)s * h->words;
        int reporting = 0;
        for (int32_t w = 0; w < h->words; w++) {
            reporting += __builtin_popcountll(m[w]);
            if (dense)
                for (uint64_t bits = m[w]; bits; bits &= bits - 1)
                    if (rep_rows_push(&c->rep_rows, et, name, w * 64 + __builtin_ctzll(bits)) < 0) return -1;
        }
        if (rows_push(&c->rows, et, name, M_REPORTING, (double)reporting) < 0) return -1;
        c->ent[et].churn_slot[id] = -1;
    }
    h->n = 0;
    return 0;
}

/* one entity's visibility rows of one family */
static int emit_vis(Core *c, int et, int32_t id, int fam, int keyframe) {
    EntTab *t = &c->ent[et];
    double v[N_VIS];
    vis_values(c, et, id, fam, v);
    double *em;
    if (fam == 0) {
        em = t->em4 + (size_t)id * N_VIS;
    } else {
        if (t->s6_idx[id] < 0) { /* never any IPv6 sums: zeros all along */
            if (!(t->flags[id] & F_PRESENT6) || ((t->flags[id] & F_SEEN6) && !keyframe)) return 0;
            for (int k = 0; k < N_VIS; k++)
                if (rows_push(&c->rows, et, t->name[id], M_VIS6 + k, 0.0) < 0) return -1;
            t->flags[id] |= F_SEEN6;
            return 0;
        }
        em = t->em6 + (size_t)t->s6_idx[id] * N_VIS;
    }
    uint8_t present = t->flags[id] & (fam == 0 ? F_PRESENT4 : F_PRESENT6);
    uint8_t seen_bit = fam == 0 ? F_SEEN4 : F_SEEN6;
    int all = keyframe ? 0 : present && !(t->flags[id] & seen_bit);
    int32_t base = fam == 0 ? M_VIS4 : M_VIS6, name = t->name[id];
    for (int k = 0; k < N_VIS; k++) {
        int out = keyframe ? (present || v[k] != 0.0) : (all || v[k] != em[k]);
        if (out && rows_push(&c->rows, et, name, base + k, v[k]) < 0) return -1;
        em[k] = v[k];
    }
    if (present) t->flags[id] |= seen_bit;
    return 0;
}

static int emit_visibility(Core *c, int keyframe) {
    for (int et = 0; et < N_ET; et++) {
        EntTab *t = &c->ent[et];
        if (keyframe) {
            for (int32_t id = 0; id < t->n; id++)
                for (int fam = 0; fam < 2; fam++)
                    if (emit_vis(c, et, id, fam, 1) < 0) return -1;
        } else {
            for (int32_t k = 0; k < t->n_dirty; k++) {
                int32_t id = t->dirty[k];
                if ((t->flags[id] & F_DIRTY4) && emit_vis(c, et, id, 0, 0) < 0) return -1;
                if ((t->flags[id] & F_DIRTY6) && emit_vis(c, et, id, 1, 0) < 0) return -1;
            }
        }
        for (int32_t k = 0; k < t->n_dirty; k++) t->flags[t->dirty[k]] &= (uint8_t)~(F_DIRTY4 | F_DIRTY6);
        t->n_dirty = 0;
    }
    double ff[2] = {(double)c->n_ff[0], (double)c->n_ff[1]};
    for (int fam = 0; fam < 2; fam++) {
        if (keyframe || !c->ff_seen || ff[fam] != c->em_ff[fam])
            if (rows_push(&c->rows, ET_GLOBAL, c->ent[ET_GLOBAL].name[0], fam == 0 ? M_FF4 : M_FF6, ff[fam]) < 0)
                return -1;
        c->em_ff[fam] = ff[fam];
    }
    c->ff_seen = 1;
    return 0;
}

/* one entity's upstream rows */
static int emit_up(Core *c, int et, int32_t id, int keyframe, int dense) {
    UpCells *u = &c->cells[et];
    EntTab *t = &c->ent[et];
    int64_t total = 0, n = 0;
    for (int32_t k = t->up_head[id]; k >= 0; k = u->next[k])
        if (u->cnt[k] != 0) {
            total += u->cnt[k];
            n++;
        }
    int32_t name = t->name[id];
    for (int32_t k = t->up_head[id]; k >= 0; k = u->next[k]) {
        int64_t cnt = u->cnt[k];
        double share = cnt != 0 ? (double)cnt / (double)total : 0.0;
        int32_t m = M_UP_BASE + 2 * u->up[k];
        if ((keyframe ? cnt != 0 : cnt != u->em_routes[k]) && rows_push(&c->rows, et, name, m, (double)cnt) < 0)
            return -1;
        if ((keyframe ? cnt != 0 : share != u->em_share[k]) && rows_push(&c->rows, et, name, m + 1, share) < 0)
            return -1;
        if (dense && cnt != 0 && up_rows_push(&c->up_rows, et, name, (uint32_t)c->up_map.keys[u->up[k]], (double)cnt) < 0)
            return -1;
        u->em_routes[k] = cnt;
        u->em_share[k] = share;
    }
    if ((keyframe ? n != 0 : n != t->up_em_n[id]) && rows_push(&c->rows, et, name, M_UP_COUNT, (double)n) < 0)
        return -1;
    t->up_em_n[id] = n;
    return 0;
}

static int emit_upstreams(Core *c, int keyframe, int dense) {
    for (int et = 0; et < 3; et++) {
        EntTab *t = &c->ent[et];
        if (keyframe) {
            for (int32_t id = 0; id < t->n; id++)
                if (t->up_head[id] >= 0 && emit_up(c, et, id, 1, dense) < 0) return -1;
        } else {
            for (int32_t k = 0; k < t->n_up_dirty; k++)
                if (emit_up(c, et, t->up_dirty[k], 0, 0) < 0) return -1;
        }
        for (int32_t k = 0; k < t->n_up_dirty; k++) t->flags[t->up_dirty[k]] &= (uint8_t)~F_UPDIRTY;
        t->n_up_dirty = 0;
    }
    return 0;
}

int emit_bin(Core *c, int keyframe, int dense) {
    c->rows.n = c->up_rows.n = c->rep_rows.n = 0;
    if (c->lost_marks) return core_error(c, 2, "out of memory while marking changed entities");
    if (dense) keyframe = 1;
    if (emit_churn(c, dense) < 0 || emit_visibility(c, keyframe) < 0 || emit_upstreams(c, keyframe, dense) < 0)
        return core_error(c, 2, "out of memory writing rows");
    return 0;
}
