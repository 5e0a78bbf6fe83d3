/*
 * resolve.c: element rows -> (kind, peer id, prefix id, path id), in application order.
 *
 * A bin's rows are applied in time order (stable: arrival order breaks ties); the rows of the
 * parts are checked and, only when some row is older than one before it, sorted. Peers,
 * prefixes and paths new to the engine get ids here (new paths with their origin, upstream, AS
 * entity and (origin, upstream) pair). A row repeating the previous row's peer or AS path
 * reuses its id without hashing (the rule in MRT files: one UPDATE, several prefixes).
 *
 * The keys are bit for bit those of outagewatch.signals.hashing (snapshots store path keys):
 * SplitMix64 finaliser, order-sensitive combine.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

#define M1 0xBF58476D1CE4E5B9ULL
#define M2 0x94D049BB133111EBULL
#define GOLDEN 0x9E3779B97F4A7C15ULL

enum { SEG_AS_SET = 1, SEG_AS_SEQUENCE = 2, SEG_CONFED_SEQUENCE = 3, SEG_CONFED_SET = 4 };

int core_error(Core *c, int kind, const char *fmt, ...) {
    if (!c->err_kind) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof c->err, fmt, ap);
        va_end(ap);
        c->err_kind = kind;
    }
    return -1;
}

static inline uint64_t mix64(uint64_t x) {
    uint64_t z = x + GOLDEN;
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    return z ^ (z >> 31);
}

static inline uint64_t fold(uint64_t h, uint64_t part, uint64_t i) { return mix64(h ^ mix64(part + i + 1)); }

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint64_t peer_key(uint64_t collector_hash, const uint8_t *ip) {
    uint64_t h = fold(0, collector_hash, 0);
    h = fold(h, load_be64(ip), 1);
    return fold(h, load_be64(ip + 8), 2);
}

uint64_t path_hash_of(const uint32_t *asns, int64_t n_asns, const uint16_t *segs, int64_t n_segs) {
    uint64_t sum = 0;
    for (int64_t k = 0; k < n_asns; k++) sum += mix64((uint64_t)asns[k] * M1 + (uint64_t)k * M2 + 1);
    uint64_t hp = mix64(sum ^ mix64((uint64_t)n_asns));
    sum = 0;
    for (int64_t k = 0; k < n_segs; k++) sum += mix64((uint64_t)segs[k] * M1 + (uint64_t)k * M2 + 1);
    uint64_t hs = mix64(sum ^ mix64((uint64_t)n_segs));
    return fold(fold(0, hp, 0), hs, 1);
}

/* the rules of outagewatch.signals.paths: origin and upstream after collapsing prepending */
void origin_upstream(const uint32_t *asns, int64_t n_asns, const uint16_t *segs, int64_t n_segs,
                     uint32_t *origin, uint32_t *upstream) {
    *origin = *upstream = 0;
    if (n_asns <= 0) return;
    int plain = 1;
    for (int64_t k = 0; k < n_segs; k++)
        if ((segs[k] >> 8) != SEG_AS_SEQUENCE) plain = 0;
    if (plain) {
        uint32_t o = asns[n_asns - 1];
        *origin = o;
        for (int64_t k = n_asns - 2; k >= 0; k--)
            if (asns[k] != o) {
                *upstream = asns[k];
                break;
            }
        return;
    }
    /* AS_SET or confederation segments: the tail of the collapsed sequence is all we need */
    uint32_t last = 0, prev = 0;
    int64_t n = 0, pos = 0;
    const uint32_t *set = NULL;
    int64_t set_n = 0;
    int has_set = 0;
#define PUSH(v)                          \
    do {                                 \
        uint32_t v_ = (v);               \
        if (n == 0 || v_ != last) {      \
            prev = last;                 \
            last = v_;                   \
            n++;                         \
        }                                \
    } while (0)
    for (int64_t k = 0; k < n_segs; k++) {
        int kind = segs[k] >> 8;
        int64_t count = segs[k] & 0xFF;
        int64_t a = pos < n_asns ? pos : n_asns, b = pos + count < n_asns ? pos + count : n_asns;
        pos += count;
        if (kind == SEG_CONFED_SEQUENCE || kind == SEG_CONFED_SET) continue;
        if (kind == SEG_AS_SET) {
            set = asns + a;
            set_n = b - a;
            has_set = set_n > 0;
            continue;
        }
        if (has_set) { /* a set followed by more sequence: its smallest member is one hop */
            uint32_t m = set[0];
            for (int64_t j = 1; j < set_n; j++)
                if (set[j] < m) m = set[j];
            PUSH(m);
            has_set = 0;
        }
        for (int64_t j = a; j < b; j++) PUSH(asns[j]);
    }
    if (has_set) {
        int one = 1;
        for (int64_t j = 1; j < set_n; j++)
            if (set[j] != set[0]) one = 0;
        if (one) PUSH(set[0]);
    }
#undef PUSH
    if (n >= 1) *origin = last;
    if (n >= 2) *upstream = prev;
}

typedef struct {
    int64_t ts, seq;
} Stamp;

static int by_time(const void *a, const void *b) {
    const Stamp *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int reserve_elements(Core *c, int64_t n) {
    if (n <= c->el_cap) return 0;
    int64_t cap = c->el_cap ? c->el_cap : 4096;
    while (cap < n) cap *= 2;
#define R(field, size)                                         \
    do {                                                       \
        void *q = realloc(c->field, (size_t)cap * (size));     \
        if (!q) return -1;                                     \
        c->field = q;                                          \
    } while (0)
    R(el_kind, 1);
    R(el_peer, 4);
    R(el_pfx, 4);
    R(el_path, 4);
    R(refs, sizeof(struct RowRef));
    R(el_key, sizeof(PrefixKey));
    R(el_phash, 8);
#undef R
    c->el_cap = cap;
    return 0;
}

static int note_new_peer(Core *c, int64_t pos) {
    if (ow_reserve((void **)&c->new_peer_pos, &c->new_peer_cap, c->n_new_peer + 1, 8) < 0) return -1;
    c->new_peer_pos[c->n_new_peer++] = pos;
    return 0;
}

static inline int same16(const uint8_t *a, const uint8_t *b) {
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return x[0] == y[0] && x[1] == y[1];
}

static inline int same_words(const void *a, const void *b, size_t bytes) {
    const uint8_t *x = a, *y = b;
    for (size_t k = 0; k < bytes; k++)
        if (x[k] != y[k]) return 0;
    return 1;
}

static inline int row_kind(const Part *pt, int64_t i) {
    int64_t k = dict_index(&pt->cols.kind, i);
    return k >= 0 && k < 16 ? pt->kind_map[k] : -1;
}

static inline int wanted(int kind, int mode) {
    return mode == MODE_RIB ? kind == K_RIB : (kind == K_ANNOUNCE || kind == K_WITHDRAW || kind == K_STATE);
}

/* pass 1: every row's prefix key and path hash (0: the previous announcement's path again) */
static int keys_of(Core *c, int64_t n, int mode) {
    const uint32_t *last_asns = NULL;
    const uint16_t *last_segs = NULL;
    int64_t last_na = -1, last_ns = -1;
    for (int64_t j = 0; j < n; j++) {
        const struct RowRef *r = &c->refs[j];
        const Part *pt = r->part;
        const ElementCols *e = &pt->cols;
        int64_t i = r->row;
        int kind = row_kind(pt, i);
        c->el_phash[j] = 0;
        if (!wanted(kind, mode) || kind == K_STATE) continue;
        prefix_key(e->prefix + 16 * i, e->prefix_len[i], e->afi[i], &c->el_key[j]);
        if (kind == K_WITHDRAW) continue;
        int64_t a = e->path_off[i], b = e->path_off[i + 1], sa = e->seg_off[i], sb = e->seg_off[i + 1];
        if (a < 0 || b < a || b > e->n_path_val || sa < 0 || sb < sa || sb > e->n_seg_val)
            return core_error(c, 1, "element %lld: AS path offsets out of range", (long long)r->pos);
        const uint32_t *asns = e->path_val + a;
        const uint16_t *segs = e->seg_val + sa;
        int64_t na = b - a, ns = sb - sa;
        if (na == last_na && ns == last_ns && same_words(asns, last_asns, (size_t)na * 4) &&
            same_words(segs, last_segs, (size_t)ns * 2))
            continue;
        uint64_t h = path_hash_of(asns, na, segs, ns);
        c->el_phash[j] = h ? h : 1; /* 0 marks a repeat: hash 0 is read as 1 (an astronomically rare merge) */
        last_asns = asns;
        last_segs = segs;
        last_na = na;
        last_ns = ns;
    }
    return 0;
}

#define AHEAD 32

/* pass 2: ids, with the map slots of the rows AHEAD places on already on their way */
static int ids_of(Core *c, int64_t n, int mode) {
    const Part *last_pt = NULL;
    int64_t last_coll = -1;
    const uint8_t *last_ip = NULL;
    int32_t peer = -1;
    uint32_t last_path = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j + AHEAD < n) {
            prefixmap_prefetch(&c->pmap, c->el_key[j + AHEAD].hash);
            if (c->el_phash[j + AHEAD]) u64map_prefetch(&c->paths, c->el_phash[j + AHEAD]);
        }
        const struct RowRef *r = &c->refs[j];
        const Part *pt = r->part;
        const ElementCols *e = &pt->cols;
        int64_t i = r->row;
        int kind = row_kind(pt, i);
        int64_t coll = dict_index(&e->collector, i);
        if (coll < 0 || coll >= pt->n_coll)
            return core_error(c, 1, "element %lld: collector index %lld out of range", (long long)r->pos,
                              (long long)coll);
        const uint8_t *ip = e->peer_ip + 16 * i;
        if (pt != last_pt || coll != last_coll || !same16(ip, last_ip)) {
            int added;
            if (core_add_peer(c, peer_key(pt->coll_hash[coll], ip), e->peer_asn[i], &peer, &added) < 0)
                return core_error(c, 2, "out of memory adding a peer");
            if (added && note_new_peer(c, r->pos) < 0) return core_error(c, 2, "out of memory");
            last_pt = pt;
            last_coll = coll;
            last_ip = ip;
        }
        if (c->peer_stamp[peer] != c->stamp) { /* a peer's ASN is the one of its first row of a call */
            c->peer_stamp[peer] = c->stamp;
            c->peer_asn[peer] = e->peer_asn[i];
        }
        c->el_peer[j] = peer;
        c->el_pfx[j] = -1;
        c->el_path[j] = 0;
        if (!wanted(kind, mode)) {
            c->el_kind[j] = K_SKIP;
            continue;
        }
        if (kind == K_STATE) {
            int ns = element_new_state(e, i);
            c->el_kind[j] = ns >= 0 && ns != STATE_ESTABLISHED ? K_DOWN : K_SKIP;
            continue;
        }
        c->el_kind[j] = (uint8_t)kind;
        int added;
        if (core_add_prefix_k(c, e->afi[i], e->prefix + 16 * i, e->prefix_len[i], &c->el_key[j], &c->el_pfx[j],
                              &added) < 0)
            return core_error(c, 2, "out of memory adding a prefix");
        if (kind == K_WITHDRAW) continue;
        uint64_t h = c->el_phash[j];
        if (!h) {
            c->el_path[j] = last_path;
            continue;
        }
        int32_t id = u64map_find(&c->paths, h);
        uint32_t pid;
        if (id >= 0) {
            pid = (uint32_t)id + 1;
        } else {
            int64_t a = e->path_off[i], b = e->path_off[i + 1], sa = e->seg_off[i], sb = e->seg_off[i + 1];
            uint32_t o, u;
            origin_upstream(e->path_val + a, b - a, e->seg_val + sa, sb - sa, &o, &u);
            if (core_path(c, h, o, u, &pid) < 0) return core_error(c, 2, "out of memory adding a path");
        }
        c->el_path[j] = last_path = pid;
    }
    return 0;
}

int resolve_parts(Core *c, const Part *parts, int n_parts, int mode) {
    int64_t n = 0;
    for (int k = 0; k < n_parts; k++) n += parts[k].hi - parts[k].lo;
    c->n_el = 0;
    c->n_new_peer = 0;
    c->stamp++;
    if (reserve_elements(c, n) < 0) return core_error(c, 2, "out of memory");
    /* application order: time order, stable (rows of a bin are most often in order already) */
    int sorted = 1;
    int64_t prev = INT64_MIN, pos = 0;
    for (int k = 0; k < n_parts; k++)
        for (int64_t i = parts[k].lo; i < parts[k].hi; i++, pos++) {
            int64_t t = parts[k].cols.ts[i];
            sorted &= t >= prev;
            prev = t;
            c->refs[pos].part = &parts[k];
            c->refs[pos].row = i;
            c->refs[pos].pos = pos;
        }
    if (!sorted && mode == MODE_BIN) {
        Stamp *order = malloc((size_t)(n ? n : 1) * sizeof(Stamp));
        struct RowRef *copy = malloc((size_t)(n ? n : 1) * sizeof(struct RowRef));
        if (!order || !copy) {
            free(order);
            free(copy);
            return core_error(c, 2, "out of memory");
        }
        for (int64_t j = 0; j < n; j++) {
            const Part *pt = c->refs[j].part;
            order[j].ts = pt->cols.ts[c->refs[j].row];
            order[j].seq = j;
        }
        qsort(order, (size_t)n, sizeof(Stamp), by_time);
        memcpy(copy, c->refs, (size_t)n * sizeof(struct RowRef));
        for (int64_t j = 0; j < n; j++) c->refs[j] = copy[order[j].seq];
        free(order);
        free(copy);
    }
    if (keys_of(c, n, mode) < 0 || ids_of(c, n, mode) < 0) return -1;
    c->n_el = n;
    return 0;
}
