/*
 * visibility.c: full-feed peers, per-prefix visibility, and the level sums of every entity.
 *
 * At a bin close the full-feed peers of each family are found from the table sizes (a peer
 * holding at least ff_share of the largest table, and not empty). For each prefix the engine
 * keeps n (full-feed peers of its family with a route), na (distinct ASNs among them), its
 * level codes (0 none, 1 >= 1 peer, 2 >= 25 %, 3 >= 50 %, 4 >= 75 %, 5 all; the asn level the
 * same over distinct ASNs) and its (prefix, origin) pairs: one pair with the prefix's own
 * levels when all its full-feed routes share an origin, else one per origin with that origin's
 * own counts. Only prefixes a bin marked (a full-feed peer's route appeared, went or changed
 * origin; a peer joined or left the full feed; a peer changed ASN) are recounted from their
 * routes; when the number of full-feed peers or of their ASNs changes, every prefix of the
 * family is re-levelled from its kept counts. A prefix whose levels or pairs change moves the
 * level sums of the global entity, its countries, its watched entity and its pairs' ASes: old
 * contribution out, new in. Sums are integers (addresses), so moving on is exact.
 */
#include <math.h>

#include "core.h"

static inline int level_of(int64_t count, int64_t total) {
    if (total == 0 || count <= 0) return 0;
    int l = 1;
    for (int q = 1; q <= 3; q++) l += 4 * count >= q * total;
    l += count >= total;
    return l;
}

void mark_dirty(Core *c, int32_t prefix) {
    if (c->pfx[prefix].dirty) return;
    c->pfx[prefix].dirty = 1;
    c->dirty[c->n_dirty++] = prefix;
}

void ent_mark(Core *c, int et, int32_t id, int fam) {
    EntTab *t = &c->ent[et];
    uint8_t bit = fam == 0 ? F_DIRTY4 : F_DIRTY6;
    if (t->flags[id] & (F_DIRTY4 | F_DIRTY6)) {
        t->flags[id] |= bit;
        return;
    }
    t->flags[id] |= bit;
    if (ow_reserve32((void **)&t->dirty, &t->dirty_cap, t->n_dirty + 1, 4) < 0) {
        c->lost_marks = 1; /* emit_bin reports it */
        return;
    }
    t->dirty[t->n_dirty++] = id;
}

int entity_present(const Core *c, int et, int32_t id, int fam) {
    return (c->ent[et].flags[id] & (fam == 0 ? F_PRESENT4 : F_PRESENT6)) != 0;
}

static Sum6 *sum6_of(EntTab *t, int32_t id) {
    if (t->s6_idx[id] < 0) {
        void **const cols[] = {(void **)&t->s6, (void **)&t->em6};
        if (ow_reserve_cols(&t->cap6, t->n6 + 1, 64, 2, cols, (const size_t[]){sizeof(Sum6), N_VIS * sizeof(double)}) < 0)
            return NULL;
        int32_t k = t->n6++;
        memset(&t->s6[k], 0, sizeof(Sum6));
        memset(&t->em6[(size_t)k * N_VIS], 0, N_VIS * sizeof(double));
        t->s6_idx[id] = k;
    }
    return &t->s6[t->s6_idx[id]];
}

static inline void big_add(Big *s, u128 w, int sign) {
    uint64_t wl = (uint64_t)w, wh = (uint64_t)(w >> 64);
    if (sign > 0) {
        uint64_t nl = s->lo + wl;
        s->hi += (__int128)wh + (nl < wl);
        s->lo = nl;
    } else {
        uint64_t nl = s->lo - wl;
        s->hi -= (__int128)wh + (s->lo < wl);
        s->lo = nl;
    }
}

/* move one row of weight w of an entity from levels (olf, ola) to (lf, la): the thresholds in
 * between gain (or lose) it. Level 0 is no row; asn level 1 adds nothing (same as ff_any). */
static int sum_move(Core *c, int et, int32_t id, int fam, int olf, int ola, int lf, int la, u128 w) {
    if (ola < 1) ola = 1;
    if (la < 1) la = 1;
    if (olf == lf && ola == la) return 0;
    EntTab *t = &c->ent[et];
    int fs = lf > olf ? 1 : -1, as = la > ola ? 1 : -1;
    int f0 = lf > olf ? olf : lf, f1 = lf > olf ? lf : olf;    /* ff columns f0 .. f1 - 1 */
    int a0 = la > ola ? ola : la, a1 = la > ola ? la : ola;    /* asn levels a0 + 1 .. a1 */
    if (fam == 0) {
        Sum4 *s = &t->s4[id];
        int64_t wv = (int64_t)w;
        for (int l = f0; l < f1; l++) {
            s->c[l] += fs;
            s->w[l] += fs * wv;
        }
        for (int l = a0 + 1; l <= a1; l++) {
            s->c[3 + l] += as;
            s->w[3 + l] += as * wv;
        }
    } else {
        Sum6 *s = sum6_of(t, id);
        if (!s) return core_error(c, 2, "out of memory");
        for (int l = f0; l < f1; l++) {
            s->c[l] += fs;
            big_add(&s->w[l], w, fs);
        }
        for (int l = a0 + 1; l <= a1; l++) {
            s->c[3 + l] += as;
            big_add(&s->w[3 + l], w, as);
        }
    }
    ent_mark(c, et, id, fam);
    return 0;
}

/* add (sign +1) or take away (-1) one row at levels lf / la with weight w to an entity */
static int sum_add(Core *c, int et, int32_t id, int fam, int lf, int la, u128 w, int sign) {
    return sign > 0 ? sum_move(c, et, id, fam, 0, 0, lf, la, w) : sum_move(c, et, id, fam, lf, la, 0, 0, w);
}

/* the prefix-level rows (global, countries, watched) move from levels (olf, ola) to (lf, la) */
static int prefix_rows(Core *c, int32_t p, int olf, int ola, int lf, int la) {
    const PrefixInfo *x = &c->pfx[p];
    int fam = x->fam;
    u128 w = prefix_weight(c, p);
    if (sum_move(c, ET_GLOBAL, 0, fam, olf, ola, lf, la, w) < 0) return -1;
    for (int32_t r = x->crow_start, e = r + x->crow_n; r < e; r++)
        if (sum_move(c, ET_COUNTRY, c->crow_country[r], fam, olf, ola, lf, la, c->crow_w[r]) < 0) return -1;
    if (x->watch >= 0 && sum_move(c, ET_PREFIX, x->watch, fam, olf, ola, lf, la, w) < 0) return -1;
    return 0;
}

static int pair_rows(Core *c, int32_t p, const Pair *pairs, int n, int sign) {
    int fam = c->pfx[p].fam;
    u128 w = prefix_weight(c, p);
    for (int k = 0; k < n; k++)
        if (pairs[k].as_id >= 0 && sum_add(c, ET_AS, pairs[k].as_id, fam, pairs[k].lf, pairs[k].la, w, sign) < 0)
            return -1;
    return 0;
}

static int scratch(Core *c, int64_t pairs, int64_t mask_words) {
    if (ow_reserve((void **)&c->scr_pairs, &c->scr_pairs_cap, 2 * pairs + 2, sizeof(Pair)) < 0 ||
        ow_reserve((void **)&c->scr_mask, &c->scr_mask_cap, mask_words + 1, 8) < 0)
        return core_error(c, 2, "out of memory");
    return 0;
}

/* store n pairs for prefix p in the pool (in place when they fit) */
static int store_pairs(Core *c, int32_t p, const Pair *pairs, int n) {
    PrefixInfo *x = &c->pfx[p];
    if (n > x->pp_cap) {
        if (ow_reserve((void **)&c->pool, &c->pool_cap, c->pool_n + n, sizeof(Pair)) < 0)
            return core_error(c, 2, "out of memory");
        c->pool_waste += x->pp_cap;
        x->pp_start = (int32_t)c->pool_n;
        x->pp_cap = (uint16_t)n;
        c->pool_n += n;
    }
    Pair *dst = c->pool + x->pp_start;
    for (int k = 0; k < n; k++) dst[k] = pairs[k];
    x->pp_n = (uint16_t)n;
    if (n > c->max_pp) c->max_pp = n;
    return 0;
}

/* recount prefix p from its routes: counts and pairs (levels come after) into out */
static int recount(Core *c, int32_t p, Pair *out, int *n_out) {
    int fam = c->pfx[p].fam;
    const int32_t *list = c->ff_list[fam], *group = c->group[fam];
    int32_t n_list = c->n_ff[fam];
    const uint32_t *row = c->routes + (size_t)p * (size_t)c->peer_cap;
    int n_orig = 0, n = 0, na = 0;
    if (c->n_groups[fam] <= 64) { /* the rule: one word of ASN groups */
        uint64_t all = 0, *om = c->scr_mask;
        uint32_t last_path = 0, o = 0;
        for (int32_t k = 0; k < n_list; k++) {
            int32_t q = list[k];
            uint32_t path = row[q];
            if (!path) continue;
            n++;
            uint64_t bit = 1ULL << group[q];
            all |= bit;
            if (path != last_path) { /* a prefix's routes share few paths */
                o = c->path[path].origin;
                last_path = path;
            }
            int j = 0;
            while (j < n_orig && out[j].origin != o) j++;
            if (j == n_orig) {
                out[j].origin = o;
                out[j].as_id = c->path[path].as;
                out[j].n = 0;
                om[j] = 0;
                n_orig++;
            }
            out[j].n++;
            om[j] |= bit;
        }
        na = __builtin_popcountll(all);
        for (int j = 0; j < n_orig; j++) out[j].na = (uint16_t)__builtin_popcountll(om[j]);
    } else {
        int64_t words = (c->n_groups[fam] + 63) / 64;
        uint64_t *all = c->scr_mask; /* words for the prefix, then words per origin */
        memset(all, 0, (size_t)words * 8);
        for (int32_t k = 0; k < n_list; k++) {
            int32_t q = list[k];
            uint32_t path = row[q];
            if (!path) continue;
            n++;
            int32_t g = group[q];
            all[g >> 6] |= 1ULL << (g & 63);
            uint32_t o = c->path[path].origin;
            int j = 0;
            while (j < n_orig && out[j].origin != o) j++;
            if (j == n_orig) {
                out[j].origin = o;
                out[j].as_id = c->path[path].as;
                out[j].n = 0;
                memset(all + (1 + j) * words, 0, (size_t)words * 8);
                n_orig++;
            }
            out[j].n++;
            all[(1 + j) * words + (g >> 6)] |= 1ULL << (g & 63);
        }
        for (int64_t w = 0; w < words; w++) na += __builtin_popcountll(all[w]);
        for (int j = 0; j < n_orig; j++) {
            int a = 0;
            for (int64_t w = 0; w < words; w++) a += __builtin_popcountll(all[(1 + j) * words + w]);
            out[j].na = (uint16_t)a;
        }
    }
    c->pfx[p].cnt_ff = (uint16_t)n;
    c->pfx[p].cnt_asn = (uint16_t)na;
    *n_out = n_orig;
    return 0;
}

/* levels from counts; the sums moved on when the prefix's levels or pairs changed */
static int refresh(Core *c, int32_t p, int do_recount) {
    PrefixInfo *x = &c->pfx[p];
    int fam = x->fam;
    int32_t N = c->n_ff[fam], A = c->n_groups[fam];
    int n_old = x->pp_n;
    const Pair *old = c->pool + (x->pp_start >= 0 ? x->pp_start : 0);
    Pair *now = c->scr_pairs;
    int n_now = n_old;
    if (do_recount) {
        if (recount(c, p, now, &n_now) < 0) return -1;
        x = &c->pfx[p];
    } else {
        for (int j = 0; j < n_now; j++) now[j] = old[j];
    }
    int lf = level_of(x->cnt_ff, N), la = level_of(x->cnt_asn, A);
    if (x->cnt_ff == 0) n_now = 0;
    if (n_now == 1) {
        now[0].lf = (uint8_t)lf;
        now[0].la = (uint8_t)la;
        now[0].n = x->cnt_ff;
        now[0].na = x->cnt_asn;
    } else {
        for (int j = 0; j < n_now; j++) {
            now[j].lf = (uint8_t)level_of(now[j].n, N);
            now[j].la = (uint8_t)level_of(now[j].na, A);
        }
    }
    int olf = x->lvl_ff, ola = x->lvl_asn;
    if (olf != lf || ola != la) {
        if (prefix_rows(c, p, olf, ola, lf, la) < 0) return -1;
        x = &c->pfx[p];
        x->lvl_ff = (uint8_t)lf;
        x->lvl_asn = (uint8_t)la;
    }
    if (n_old == 1 && n_now == 1 && old[0].origin == now[0].origin) { /* the rule: one origin, kept */
        if ((old[0].lf != now[0].lf || old[0].la != now[0].la) && now[0].as_id >= 0 &&
            sum_move(c, ET_AS, now[0].as_id, fam, old[0].lf, old[0].la, now[0].lf, now[0].la, prefix_weight(c, p)) < 0)
            return -1;
        c->pool[c->pfx[p].pp_start] = now[0];
        return 0;
    }
    int same = n_old == n_now;
    for (int j = 0; j < n_now && same; j++)
        same = old[j].origin == now[j].origin && old[j].lf == now[j].lf && old[j].la == now[j].la;
    if (!same && (pair_rows(c, p, old, n_old, -1) < 0 || pair_rows(c, p, now, n_now, 1) < 0)) return -1;
    return store_pairs(c, p, now, n_now);
}

/* the full-feed peers of one family from the table sizes; 1 when they differ from before */
static int find_full_feed(Core *c, int fam, uint8_t *now) {
    int64_t largest = 0;
    for (int32_t q = 0; q < c->n_peers; q++)
        if (c->peer_size[2 * q + fam] > largest) largest = c->peer_size[2 * q + fam];
    int changed = 0;
    for (int32_t q = 0; q < c->n_peers; q++) {
        int64_t s = c->peer_size[2 * q + fam];
        now[q] = s > 0 && (double)s >= c->ff_share * (double)largest;
        changed |= now[q] != c->ff[fam][q] || (now[q] && c->ff_asn[q] != c->peer_asn[q]);
    }
    return changed;
}

/* mark the prefixes of one family a peer has a route to */
static void mark_peer(Core *c, int32_t peer, int fam) {
    const uint64_t *words = c->peer_bits + (size_t)peer * c->bit_words;
    size_t n_words = ((size_t)c->n_pfx + 63) / 64;
    for (size_t w = 0; w < n_words; w++)
        for (uint64_t bits = words[w]; bits; bits &= bits - 1) {
            int32_t q = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            if (c->pfx[q].fam == fam) mark_dirty(c, q);
        }
}

/* the full-feed list and ASN groups of one family from c->ff[fam] */
static void regroup(Core *c, int fam) {
    int32_t n = 0, g = 0;
    for (int32_t q = 0; q < c->n_peers; q++) {
        if (!c->ff[fam][q]) continue;
        c->ff_list[fam][n++] = q;
        int32_t k = 0;
        for (; k < n - 1; k++)
            if (c->peer_asn[c->ff_list[fam][k]] == c->peer_asn[q]) break;
        c->group[fam][q] = k < n - 1 ? c->group[fam][c->ff_list[fam][k]] : g++;
    }
    c->n_ff[fam] = n;
    c->n_groups[fam] = g;
}

int close_visibility(Core *c) {
    uint8_t *now = malloc((size_t)(c->n_peers ? c->n_peers : 1));
    if (!now) return core_error(c, 2, "out of memory");
    int level_pass[2] = {0, 0}, full = c->need_full || !c->first_done;
    for (int fam = 0; fam < 2; fam++) {
        if (!find_full_feed(c, fam, now) && !full) continue;
        int32_t n_before = c->n_ff[fam], g_before = c->n_groups[fam];
        for (int32_t q = 0; q < c->n_peers && !full; q++) {
            int was = c->ff[fam][q], is = now[q];
            if (was && !is) {
                if (up_join(c, q, fam, -1) < 0) goto fail;
                mark_peer(c, q, fam);
            } else if (is && (!was || c->ff_asn[q] != c->peer_asn[q])) {
                if (!was && up_join(c, q, fam, 1) < 0) goto fail;
                mark_peer(c, q, fam);
            }
        }
        memcpy(c->ff[fam], now, (size_t)c->n_peers);
        regroup(c, fam);
        level_pass[fam] = c->n_ff[fam] != n_before || c->n_groups[fam] != g_before;
    }
    free(now);
    now = NULL;
    for (int32_t q = 0; q < c->n_peers; q++) c->ff_asn[q] = c->peer_asn[q];
    int64_t n_max = c->n_ff[0] > c->n_ff[1] ? c->n_ff[0] : c->n_ff[1];
    int64_t g_max = c->n_groups[0] > c->n_groups[1] ? c->n_groups[0] : c->n_groups[1];
    /* a prefix has at most one pair per full-feed peer, before and after */
    if (scratch(c, n_max + c->max_pp, ((g_max + 63) / 64 + 1) * (n_max + 1)) < 0) return -1;
    if (full) {
        for (int32_t p = 0; p < c->n_pfx; p++) {
            c->pfx[p].dirty = 0;
            if (refresh(c, p, 1) < 0) return -1;
        }
        c->n_dirty = 0;
        if (up_recount(c) < 0) return -1;
        c->need_full = 0;
        c->first_done = 1;
        return 0;
    }
    for (int32_t k = 0; k < c->n_dirty; k++) {
        int32_t p = c->dirty[k];
        c->pfx[p].dirty = 0;
        if (refresh(c, p, 1) < 0) return -1;
    }
    c->n_dirty = 0;
    for (int fam = 0; fam < 2; fam++)
        if (level_pass[fam])
            for (int32_t p = 0; p < c->n_pfx; p++)
                if (c->pfx[p].fam == fam && refresh(c, p, 0) < 0) return -1;
    return 0;
fail:
    free(now);
    return -1;
}

double big_double(Big s, int shift) {
    int neg = s.hi < 0;
    if (neg) {
        uint64_t lo = s.lo;
        s.lo = (uint64_t)0 - lo;
        s.hi = -s.hi - (lo != 0);
    }
    double d;
    if (s.hi == 0) {
        d = ldexp((double)s.lo, -shift);
    } else {
        u128 hi = (u128)s.hi;
        int hb = (uint64_t)(hi >> 64) ? 128 - __builtin_clzll((uint64_t)(hi >> 64)) : 64 - __builtin_clzll((uint64_t)hi);
        uint64_t top, sticky;
        if (hb <= 64) {
            top = (uint64_t)(hi << (64 - hb)) | (hb == 64 ? 0 : s.lo >> hb);
            sticky = (hb == 64 ? s.lo : s.lo & ((1ULL << hb) - 1)) != 0;
        } else {
            top = (uint64_t)(hi >> (hb - 64));
            sticky = ((hi & (((u128)1 << (hb - 64)) - 1)) != 0) || s.lo != 0;
        }
        d = ldexp((double)(top | sticky), hb - shift);
    }
    return neg ? -d : d;
}

void vis_values(const Core *c, int et, int32_t id, int fam, double out[N_VIS]) {
    const EntTab *t = &c->ent[et];
    if (fam == 0) {
        const Sum4 *s = &t->s4[id];
        for (int k = 0; k < N_THRESH; k++) {
            out[k] = (double)s->c[k];
            out[N_THRESH + k] = (double)s->w[k] / 256.0;
        }
        return;
    }
    if (t->s6_idx[id] < 0) {
        memset(out, 0, N_VIS * sizeof(double));
        return;
    }
    const Sum6 *s = &t->s6[t->s6_idx[id]];
    for (int k = 0; k < N_THRESH; k++) {
        out[k] = (double)s->c[k];
        out[N_THRESH + k] = big_double(s->w[k], 80);
    }
}

int core_add_country_rows(Core *c, int32_t n_prefixes, const int32_t *pfx, const int32_t *country,
                          const u128 *w, int64_t n_rows) {
    int32_t lo = c->n_mapped, hi = c->n_mapped + n_prefixes;
    if (hi > c->n_pfx) return core_error(c, 1, "mapping %d prefixes past the %d known", hi, c->n_pfx);
    int32_t n_c = c->ent[ET_COUNTRY].n;
    for (int64_t k = 0; k < n_rows; k++)
        if (pfx[k] < lo || pfx[k] >= hi || (k && pfx[k] < pfx[k - 1]) || country[k] < 0 || country[k] >= n_c)
            return core_error(c, 3, "country row %lld: prefix %d or country %d out of range", (long long)k, pfx[k],
                              country[k]);
    void **const cols[] = {(void **)&c->crow_country, (void **)&c->crow_w};
    if (ow_reserve_cols(&c->crow_cap, c->n_crows + n_rows, 64, 2, cols, (const size_t[]){4, sizeof(u128)}) < 0)
        return core_error(c, 2, "out of memory");
    for (int32_t p = lo; p < hi; p++) {
        c->pfx[p].crow_start = c->n_crows;
        c->pfx[p].crow_n = 0;
    }
    for (int64_t k = 0; k < n_rows; k++) {
        int32_t p = pfx[k], r = c->n_crows++;
        if (c->pfx[p].crow_n == 0) c->pfx[p].crow_start = r;
        c->pfx[p].crow_n++;
        c->crow_country[r] = country[k];
        c->crow_w[r] = w[k];
        int fam = c->pfx[p].fam;
        uint8_t bit = (uint8_t)(1u << fam);
        if (!(c->holder[country[k]] & bit)) {
            c->holder[country[k]] |= bit;
            c->ent[ET_COUNTRY].flags[country[k]] |= fam == 0 ? F_PRESENT4 : F_PRESENT6;
            ent_mark(c, ET_COUNTRY, country[k], fam);
        }
        if (sum_add(c, ET_COUNTRY, country[k], fam, c->pfx[p].lvl_ff, c->pfx[p].lvl_asn, w[k], 1) < 0) return -1;
    }
    for (int32_t p = lo; p < hi; p++) /* routes it had before it was mapped */
        if (c->pfx[p].crow_n && up_add_countries(c, p) < 0) return -1;
    c->n_mapped = hi;
    return 0;
}
