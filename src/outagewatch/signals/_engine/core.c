/* core.c: the engine's tables: creating peers, prefixes, paths, ASes, entities, cells. */
#include <stdio.h>

#include "core.h"


int ow_reserve_cols(int64_t *cap, int64_t need, int64_t first, int k, void **const arrays[], const size_t sizes[]) {
    if (need <= *cap) return 0;
    int64_t n = *cap ? *cap : first;
    while (n < need) n *= 2;
    for (int j = 0; j < k; j++) { /* one that fails leaves the grown ones valid (and bigger) */
        void *q = realloc(*arrays[j], (size_t)n * sizes[j]);
        if (!q) return -1;
        *arrays[j] = q;
    }
    *cap = n;
    return 0;
}

int ow_reserve(void **p, int64_t *cap, int64_t need, size_t size) {
    return ow_reserve_cols(cap, need, 64, 1, (void **const[]){p}, (const size_t[]){size});
}

int ow_reserve32(void **p, int32_t *cap, int32_t need, size_t size) {
    int64_t c = *cap;
    if (ow_reserve(p, &c, need, size) < 0) return -1;
    *cap = (int32_t)c;
    return 0;
}

/* realloc an array of `old` items to `n` items, zeroing the new ones */
static int grow_zero(void **p, int64_t old, int64_t n, size_t size) {
    void *q = realloc(*p, (size_t)(n ? n : 1) * size);
    if (!q) return -1;
    if (n > old) memset((char *)q + (size_t)old * size, 0, (size_t)(n - old) * size);
    *p = q;
    return 0;
}

static int ent_grow(EntTab *t, int32_t need) {
    if (need <= t->cap) return 0;
    int32_t n = t->cap ? t->cap : 64;
    while (n < need) n *= 2;
    int32_t old = t->cap;
    if (grow_zero((void **)&t->flags, old, n, 1) < 0 || grow_zero((void **)&t->name, old, n, 4) < 0 ||
        grow_zero((void **)&t->s4, old, n, sizeof(Sum4)) < 0 ||
        grow_zero((void **)&t->em4, (int64_t)old * N_VIS, (int64_t)n * N_VIS, sizeof(double)) < 0 ||
        grow_zero((void **)&t->s6_idx, old, n, 4) < 0 || grow_zero((void **)&t->churn_slot, old, n, 4) < 0 ||
        grow_zero((void **)&t->up_head, old, n, 4) < 0 || grow_zero((void **)&t->up_em_n, old, n, 8) < 0)
        return -1;
    for (int32_t i = old; i < n; i++) t->s6_idx[i] = t->churn_slot[i] = t->up_head[i] = -1;
    t->cap = n;
    return 0;
}

/* an ASN as decimal text (no sprintf: it is made for every AS and upstream seen) */
static size_t u32_text(uint32_t v, char *out) {
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t k = 0; k < n; k++) out[k] = tmp[n - 1 - k];
    return n;
}

int strlist_add(StrList *s, const char *text, size_t len) {
    if (s->n + 2 > s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 256;
        int32_t *o = realloc(s->off, (size_t)cap * 4);
        if (!o) return -1;
        if (!s->off) o[0] = 0;
        s->off = o;
        s->cap = cap;
    }
    int64_t end = s->off[s->n];
    if (end + (int64_t)len > INT32_MAX) return -1;
    if (end + (int64_t)len > s->bytes_cap) {
        int64_t cap = s->bytes_cap ? s->bytes_cap * 2 : 4096;
        while (cap < end + (int64_t)len) cap *= 2;
        char *d = realloc(s->data, (size_t)cap);
        if (!d) return -1;
        s->data = d;
        s->bytes_cap = cap;
    }
    if (len) memcpy(s->data + end, text, len);
    s->off[++s->n] = (int32_t)(end + (int64_t)len);
    return 0;
}

int core_entity(Core *c, int et, const char *name, size_t len, int32_t *id) {
    EntTab *t = &c->ent[et];
    if (ent_grow(t, t->n + 1) < 0 || strlist_add(&c->ent_names, name, len) < 0) return -1;
    int32_t i = t->n++;
    t->name[i] = c->ent_names.n - 1;
    *id = i;
    return 0;
}

int core_init(Core *c, double ff_share, int32_t peer_cap, int32_t pfx_cap) {
    memset(c, 0, sizeof *c);
    c->ff_share = ff_share;
    peer_cap = peer_cap < 8 ? 8 : (peer_cap + 7) / 8 * 8;
    pfx_cap = pfx_cap < 1024 ? 1024 : (pfx_cap + 63) / 64 * 64;
    c->peer_cap = peer_cap;
    c->pfx_cap = pfx_cap;
    c->bit_words = (size_t)pfx_cap / 64;
    /* the matrix: pages are mapped lazily (zero until written) */
    c->routes_bytes = (size_t)pfx_cap * (size_t)peer_cap * sizeof(uint32_t);
    c->bits_bytes = (size_t)peer_cap * c->bit_words * 8;
    c->routes = ow_alloc(c->routes_bytes);
    if (!c->routes) return -1;
    /* the prefix and path maps sized for the capacity asked for: no rehash while it holds */
    if (prefixmap_grow(&c->pmap, pfx_cap) < 0 || u64map_grow(&c->paths, pfx_cap / 2) < 0) return -1;
    if (grow_zero((void **)&c->peer_asn, 0, peer_cap, 4) < 0 || grow_zero((void **)&c->peer_size, 0, 2 * peer_cap, 8) < 0 ||
        grow_zero((void **)&c->peer_clears, 0, peer_cap, 8) < 0 || grow_zero((void **)&c->peer_stamp, 0, peer_cap, 4) < 0 ||
        grow_zero((void **)&c->ff_asn, 0, peer_cap, 4) < 0 || !(c->peer_bits = ow_alloc(c->bits_bytes)))
        return -1;
    for (int f = 0; f < 2; f++)
        if (grow_zero((void **)&c->ff[f], 0, peer_cap, 1) < 0 || grow_zero((void **)&c->ff_list[f], 0, peer_cap, 4) < 0 ||
            grow_zero((void **)&c->group[f], 0, peer_cap, 4) < 0)
            return -1;
    size_t p = (size_t)pfx_cap;
    if (!(c->pfx = ow_alloc(p * sizeof(PrefixInfo))) || !(c->dirty = ow_alloc(4 * p))) return -1;
    c->dirty_cap = pfx_cap;
    /* path id 0: no route */
    c->path_cap = 1024;
    if (!(c->path = ow_alloc(1024 * sizeof(PathInfo)))) return -1;
    c->path[0].as = c->path[0].pair = -1;
    c->n_paths = 1;
    c->ent[ET_COUNTRY].keeps_zero = c->ent[ET_PREFIX].keeps_zero = c->ent[ET_GLOBAL].keeps_zero = 1;
    int32_t g;
    if (core_entity(c, ET_GLOBAL, "all", 3, &g) < 0) return -1;
    c->ent[ET_GLOBAL].flags[g] |= F_PRESENT4 | F_PRESENT6;
    return 0;
}

static void ent_free(EntTab *t) {
    free(t->flags);
    free(t->name);
    free(t->s4);
    free(t->em4);
    free(t->s6_idx);
    free(t->s6);
    free(t->em6);
    free(t->dirty);
    free(t->up_dirty);
    free(t->churn_slot);
    free(t->up_head);
    free(t->up_em_n);
}

static void cells_free(UpCells *u) {
    u64map_free(&u->map);
    free(u->ent);
    free(u->up);
    free(u->next);
    free(u->cnt);
    free(u->em_routes);
    free(u->em_share);
}

void core_free(Core *c) {
    u64map_free(&c->peers);
    free(c->peer_asn);
    free(c->peer_size);
    free(c->peer_clears);
    free(c->peer_stamp);
    ow_free(c->peer_bits, c->bits_bytes);
    free(c->ff_asn);
    for (int f = 0; f < 2; f++) {
        free(c->ff[f]);
        free(c->ff_list[f]);
        free(c->group[f]);
    }
    ow_free(c->pmap.slots, c->pmap.slots ? (c->pmap.mask + 1) * sizeof(PrefixSlot) : 0);
    ow_free(c->dirty, 4 * (size_t)c->pfx_cap);
    free(c->pool);
    ow_free(c->pfx, (size_t)c->pfx_cap * sizeof(PrefixInfo));
    ow_free(c->path, (size_t)c->path_cap * sizeof(PathInfo));
    free(c->crow_country);
    free(c->crow_w);
    ow_free(c->routes, c->routes_bytes);
    u64map_free(&c->paths);
    u64map_free(&c->as_map);
    free(c->as_fam);
    u64map_free(&c->up_map);
    u64map_free(&c->pair_map);
    free(c->pair_as);
    free(c->pair_up);
    free(c->pair_cell);
    for (int e = 0; e < N_ET; e++) ent_free(&c->ent[e]);
    for (int e = 0; e < 3; e++) cells_free(&c->cells[e]);
    free(c->watch_pfx);
    free(c->holder);
    free(c->ent_names.off);
    free(c->ent_names.data);
    free(c->met_names.off);
    free(c->met_names.data);
    free(c->churn.etype);
    free(c->churn.ent);
    free(c->churn.cnt);
    free(c->churn.mask);
    free(c->new_peer_pos);
    free(c->refs);
    free(c->rows.et);
    free(c->rows.ent);
    free(c->rows.met);
    free(c->rows.val);
    free(c->up_rows.et);
    free(c->up_rows.ent);
    free(c->up_rows.up);
    free(c->up_rows.routes);
    free(c->rep_rows.et);
    free(c->rep_rows.ent);
    free(c->rep_rows.peer);
    memset(c, 0, sizeof *c);
}

/* a wider matrix stride for more peers: every live row is copied over */
/* a wider matrix stride for more peers. The matrix grows in place (the kernel moves it: no
 * second copy of it in memory), then its rows are moved to the wider stride from the last down,
 * each to a place at or after its old one, and the new columns zeroed. */
static int widen(Core *c, int32_t need) {
    int32_t old = c->peer_cap, n = old;
    while (n < need) n = 2 * n; /* doubling: a burst of new peers widens once */
    size_t new_bytes = (size_t)c->pfx_cap * (size_t)n * sizeof(uint32_t), new_bits = (size_t)n * c->bit_words * 8;
    uint64_t *bits = ow_regrow(c->peer_bits, c->bits_bytes, c->bits_bytes, new_bits);
    if (!bits) return -1; /* not moved: the old block is whole */
    c->peer_bits = bits;
    c->bits_bytes = new_bits;
    uint32_t *m = ow_regrow(c->routes, c->routes_bytes, (size_t)c->n_pfx * (size_t)old * 4, new_bytes);
    if (!m) return -1;
    c->routes = m;
    c->routes_bytes = new_bytes;
    for (int32_t p = c->n_pfx - 1; p >= 0; p--) {
        memmove(m + (size_t)p * n, m + (size_t)p * old, (size_t)old * 4);
        memset(m + (size_t)p * n + old, 0, (size_t)(n - old) * 4);
    }
    if (grow_zero((void **)&c->peer_asn, old, n, 4) < 0 || grow_zero((void **)&c->peer_size, 2 * old, 2 * n, 8) < 0 ||
        grow_zero((void **)&c->peer_clears, old, n, 8) < 0 || grow_zero((void **)&c->peer_stamp, old, n, 4) < 0 ||
        grow_zero((void **)&c->ff_asn, old, n, 4) < 0)
        return -1;
    for (int f = 0; f < 2; f++)
        if (grow_zero((void **)&c->ff[f], old, n, 1) < 0 || grow_zero((void **)&c->ff_list[f], old, n, 4) < 0 ||
            grow_zero((void **)&c->group[f], old, n, 4) < 0)
            return -1;
    c->peer_cap = n;
    return 0;
}

int core_add_peer(Core *c, uint64_t key, uint32_t asn, int32_t *id, int *added) {
    int32_t i = u64map_get(&c->peers, key, added);
    if (i < 0) return -1;
    if (*added) {
        if (i >= c->peer_cap && widen(c, i + 1) < 0) return -1;
        c->n_peers = i + 1;
        c->peer_asn[i] = asn;
    }
    *id = i;
    return 0;
}

/* room for more prefixes: the matrix and the per-prefix table grow into fresh (zeroed) memory, and
 * every peer's bitmap gets the words of the new prefix ids */
static int more_prefixes(Core *c) {
    int32_t old = c->pfx_cap, n = old * 2;
    size_t stride = (size_t)c->peer_cap, nw = (size_t)n / 64, ow = c->bit_words;
    uint32_t *m = ow_regrow(c->routes, c->routes_bytes, (size_t)c->n_pfx * stride * 4, (size_t)n * stride * 4);
    if (!m) return -1;
    c->routes = m;
    c->routes_bytes = (size_t)n * stride * 4;
    PrefixInfo *x = ow_regrow(c->pfx, (size_t)old * sizeof(PrefixInfo), (size_t)c->n_pfx * sizeof(PrefixInfo),
                              (size_t)n * sizeof(PrefixInfo));
    if (!x) return -1;
    c->pfx = x;
    int32_t *d = ow_regrow(c->dirty, 4 * (size_t)old, 4 * (size_t)c->n_dirty, 4 * (size_t)n);
    if (!d) return -1;
    c->dirty = d;
    c->dirty_cap = n;
    uint64_t *bits = ow_alloc((size_t)c->peer_cap * nw * 8);
    if (!bits) return -1;
    for (int32_t p = 0; p < c->n_peers; p++) memcpy(bits + p * nw, c->peer_bits + p * ow, ow * 8);
    ow_free(c->peer_bits, c->bits_bytes);
    c->peer_bits = bits;
    c->bits_bytes = (size_t)c->peer_cap * nw * 8;
    c->bit_words = nw;
    c->pfx_cap = n;
    return 0;
}

void prefix_key(const uint8_t *addr, uint8_t plen, uint8_t afi, PrefixKey *k) {
    k->hi = be64(addr);
    k->lo = be64(addr + 8);
    k->hash = prefix_slot_hash(k->hi, k->lo, plen, afi);
}

int core_add_prefix_k(Core *c, uint8_t afi, const uint8_t *addr, uint8_t plen, const PrefixKey *k, int32_t *id,
                      int *added) {
    int32_t i = prefixmap_get_h(&c->pmap, k->hi, k->lo, plen, afi, k->hash, c->n_pfx, added);
    if (i < 0) return -1;
    if (*added) {
        if (i >= c->pfx_cap && more_prefixes(c) < 0) return -1;
        c->n_pfx = i + 1;
        PrefixInfo *x = &c->pfx[i]; /* its matrix row is still zero: fresh memory, never written */
        memset(x, 0, sizeof *x);
        x->afi = afi;
        x->plen = plen;
        x->fam = afi == 4 ? 0 : 1;
        x->watch = -1;
        x->churn = -1;
        x->pp_start = -1;
        memcpy(x->addr, addr, 16);
    }
    *id = i;
    return 0;
}

int core_add_prefix(Core *c, uint8_t afi, const uint8_t *addr, uint8_t plen, int32_t *id, int *added) {
    PrefixKey k;
    prefix_key(addr, plen, afi, &k);
    return core_add_prefix_k(c, afi, addr, plen, &k, id, added);
}

static int cell_of(UpCells *u, EntTab *t, int32_t ent, int32_t up, int32_t *out) {
    int added;
    int32_t i = u64map_get(&u->map, (uint64_t)(uint32_t)ent << 32 | (uint32_t)up, &added);
    if (i < 0) return -1;
    if (added) {
        if (i >= u->cap) {
            int32_t n = u->cap ? u->cap * 2 : 256;
            int32_t old = u->cap;
            if (grow_zero((void **)&u->ent, old, n, 4) < 0 || grow_zero((void **)&u->up, old, n, 4) < 0 ||
                grow_zero((void **)&u->next, old, n, 4) < 0 || grow_zero((void **)&u->cnt, old, n, 8) < 0 ||
                grow_zero((void **)&u->em_routes, old, n, 8) < 0 || grow_zero((void **)&u->em_share, old, n, 8) < 0)
                return -1;
            u->cap = n;
        }
        u->n = i + 1;
        u->ent[i] = ent;
        u->up[i] = up;
        u->cnt[i] = u->em_routes[i] = 0;
        u->em_share[i] = 0.0;
        u->next[i] = t->up_head[ent];
        t->up_head[ent] = i;
    }
    *out = i;
    return 0;
}

int up_cell(Core *c, int et, int32_t ent, int32_t up, int32_t *out) {
    return cell_of(&c->cells[et], &c->ent[et], ent, up, out);
}

int core_as(Core *c, uint32_t asn, int32_t *id) {
    int added;
    int32_t i = u64map_get(&c->as_map, asn, &added);
    if (i < 0) return -1;
    if (added) {
        int32_t e;
        char text[16];
        size_t len = u32_text(asn, text);
        if (core_entity(c, ET_AS, text, len, &e) < 0) return -1;
        if (e != i) return -1; /* AS entities are made here only */
        if (i >= c->as_fam_cap) {
            int32_t cap = c->ent[ET_AS].cap;
            void *q = realloc(c->as_fam, (size_t)cap);
            if (!q) return -1;
            c->as_fam = q;
            c->as_fam_cap = cap;
        }
        c->as_fam[i] = 0;
    }
    *id = i;
    return 0;
}

int core_path(Core *c, uint64_t hash, uint32_t origin, uint32_t upstream, uint32_t *id) {
    int added;
    int32_t i = u64map_get(&c->paths, hash, &added);
    if (i < 0) return -1;
    uint32_t pid = (uint32_t)i + 1;
    if (added) {
        if ((int32_t)pid >= c->path_cap) {
            int32_t n = c->path_cap * 2;
            PathInfo *q = ow_regrow(c->path, (size_t)c->path_cap * sizeof(PathInfo),
                                    (size_t)c->n_paths * sizeof(PathInfo), (size_t)n * sizeof(PathInfo));
            if (!q) return -1;
            c->path = q;
            c->path_cap = n;
        }
        c->n_paths = (int32_t)pid + 1;
        c->path[pid].hash = hash;
        c->path[pid].origin = origin;
        c->path[pid].upasn = upstream;
        c->path[pid].as = -1;
        c->path[pid].pair = -1;
        if (origin != 0 && core_as(c, origin, &c->path[pid].as) < 0) return -1;
        if (origin != 0 && upstream != 0) {
            int pa;
            int32_t pair = u64map_get(&c->pair_map, (uint64_t)origin << 32 | upstream, &pa);
            if (pair < 0) return -1;
            if (pa) {
                void **const cols[] = {(void **)&c->pair_as, (void **)&c->pair_up, (void **)&c->pair_cell};
                if (ow_reserve_cols(&c->pair_cap, (int64_t)pair + 1, 1024, 3, cols, (const size_t[]){4, 4, 4}) < 0)
                    return -1;
                int ua;
                int32_t up = u64map_get(&c->up_map, upstream, &ua);
                if (up < 0) return -1;
                if (ua) { /* its metric names: ids M_UP_BASE + 2 up (routes), + 1 (share) */
                    char text[48] = "upstream.";
                    size_t len = 9 + u32_text(upstream, text + 9);
                    memcpy(text + len, ".routes", 7);
                    if (strlist_add(&c->met_names, text, len + 7) < 0) return -1;
                    memcpy(text + len, ".share", 6);
                    if (strlist_add(&c->met_names, text, len + 6) < 0) return -1;
                }
                c->pair_as[pair] = c->path[pid].as;
                c->pair_up[pair] = up;
                if (up_cell(c, ET_AS, c->path[pid].as, up, &c->pair_cell[pair]) < 0) return -1;
            }
            c->path[pid].pair = pair;
        }
    }
    *id = pid;
    return 0;
}

int core_add_country(Core *c, const char *code, size_t len, int32_t *id) {
    if (core_entity(c, ET_COUNTRY, code, len, id) < 0) return -1;
    EntTab *t = &c->ent[ET_COUNTRY];
    if (t->n > c->holder_cap) {
        if (grow_zero((void **)&c->holder, c->holder_cap, t->cap, 1) < 0) return -1;
        c->holder_cap = t->cap;
    }
    return 0;
}

int core_add_watch(Core *c, int32_t prefix, const char *text, size_t len) {
    int32_t id;
    if (core_entity(c, ET_PREFIX, text, len, &id) < 0) return -1;
    int32_t cap = c->n_watch;
    int32_t *w = realloc(c->watch_pfx, (size_t)(cap + 1) * 4);
    if (!w) return -1;
    c->watch_pfx = w;
    c->watch_pfx[c->n_watch++] = prefix;
    c->pfx[prefix].watch = id;
    c->ent[ET_PREFIX].flags[id] |= c->pfx[prefix].fam == 0 ? F_PRESENT4 : F_PRESENT6;
    return 0;
}
