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

/* a peer: its collector, address and address family (192.0.2.1 and c000:201:: are two peers) */
uint64_t peer_key(uint64_t collector_hash, const uint8_t *ip, uint8_t afi) {
    uint64_t h = fold(0, collector_hash, 0);
    h = fold(h, be64(ip), 1);
    h = fold(h, be64(ip + 8), 2);
    return fold(h, afi, 3);
}

static inline uint64_t mum(uint64_t a, uint64_t b) {
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define S0 0xa0761d6478bd642fULL
#define S1 0xe7037ed1a0b428dbULL
#define S2 0x8ebc6af09c88c6e3ULL
#define S3 0x589965cc75374cc3ULL

/* the 64-bit key of an AS path (its ASNs and segment codes, in order): a multiply-fold over
 * 8-byte words (wyhash's "mum"), about one 128-bit multiply per two ASNs */
uint64_t path_hash_of(const uint32_t *asns, int64_t n_asns, const uint16_t *segs, int64_t n_segs) {
    uint64_t h = mum((uint64_t)n_asns ^ S0, ((uint64_t)n_segs << 32) ^ S1);
    int64_t k = 0;
    for (; k + 2 <= n_asns; k += 2) h = mum(h ^ S2, ((uint64_t)asns[k] | (uint64_t)asns[k + 1] << 32) ^ S3);
    if (k < n_asns) h = mum(h ^ S2, (uint64_t)asns[k] ^ S1);
    for (k = 0; k + 4 <= n_segs; k += 4) {
        uint64_t w;
        memcpy(&w, segs + k, 8);
        h = mum(h ^ S3, w ^ S0);
    }
    uint64_t t = 0;
    for (; k < n_segs; k++) t = t << 16 | segs[k];
    return mum(h ^ S1, t ^ S2);
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

static int note_new_peer(Core *c, int64_t pos) {
    if (ow_reserve((void **)&c->new_peer_pos, &c->new_peer_cap, c->n_new_peer + 1, 8) < 0) return -1;
    c->new_peer_pos[c->n_new_peer++] = pos;
    return 0;
}

static inline int same_u32(const uint32_t *a, const uint32_t *b, int64_t n) {
    for (int64_t k = 0; k < n; k++)
        if (a[k] != b[k]) return 0;
    return 1;
}

static inline int same_u16(const uint16_t *a, const uint16_t *b, int64_t n) {
    for (int64_t k = 0; k < n; k++)
        if (a[k] != b[k]) return 0;
    return 1;
}

static inline int same16(const uint8_t *a, const uint8_t *b) {
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* the kind code of a row (K_ANNOUNCE .. K_STATE, or K_SKIP / K_OTHER for rows the mode does not
 * take) */
static inline int row_kind(const Part *pt, int64_t i, int mode) {
    const DictCol *d = &pt->cols.kind;
    int64_t k = dict_index(d, i);
    int kind = (uint64_t)k < 16 ? pt->kind_map[k] : -1;
    if (mode == MODE_RIB) return kind == K_RIB ? K_RIB : K_OTHER;
    return kind == K_ANNOUNCE || kind == K_WITHDRAW || kind == K_STATE ? kind : K_SKIP;
}

/* stage 1 of a row: its kind, prefix key and path hash (0: the last announcement's path again) */
int row_keys(Core *c, Row *r, int mode, LastPath *lp) {
    const Part *pt = r->ref.part;
    const ElementCols *e = &pt->cols;
    int64_t i = r->ref.row;
    int kind = row_kind(pt, i, mode);
    r->kind = (uint8_t)kind;
    r->phash = 0;
    if (kind == K_SKIP || kind == K_STATE || kind == K_OTHER) return 0;
    prefix_key(e->prefix + 16 * i, e->prefix_len[i], e->afi[i], &r->key);
    if (kind == K_WITHDRAW) return 0;
    /* the offsets were checked for the whole part (check_offsets) */
    int64_t a = e->path_off[i], b = e->path_off[i + 1], sa = e->seg_off[i], sb = e->seg_off[i + 1];
    const uint32_t *asns = e->path_val + a;
    const uint16_t *segs = e->seg_val + sa;
    int64_t na = b - a, ns = sb - sa;
    if (na == lp->na && ns == lp->ns && same_u32(asns, lp->asns, na) && same_u16(segs, lp->segs, ns)) return 0;
    uint64_t h = path_hash_of(asns, na, segs, ns);
    r->phash = h ? h : 1; /* 0 marks a repeat: a hash of 0 is read as 1 */
    lp->asns = asns;
    lp->segs = segs;
    lp->na = na;
    lp->ns = ns;
    return 0;
}

static int new_path(Core *c, const ElementCols *e, int64_t i, uint64_t h, uint32_t *pid) {
    int64_t a = e->path_off[i], b = e->path_off[i + 1], sa = e->seg_off[i], sb = e->seg_off[i + 1];
    uint32_t o, u;
    origin_upstream(e->path_val + a, b - a, e->seg_val + sa, sb - sa, &o, &u);
    if (core_path(c, h, o, u, pid) < 0) return core_error(c, 2, "out of memory adding a path");
    return 0;
}

static int new_peer(Core *c, const Part *pt, int64_t i, int64_t coll, int64_t pos, LastRow *lr) {
    const ElementCols *e = &pt->cols;
    if (coll < 0 || coll >= pt->n_coll)
        return core_error(c, 1, "element %lld: collector index %lld out of range", (long long)pos, (long long)coll);
    const uint8_t *ip = e->peer_ip + 16 * i;
    int added;
    if (core_add_peer(c, peer_key(pt->coll_hash[coll], ip, e->peer_afi[i]), e->peer_asn[i], &lr->peer, &added) < 0)
        return core_error(c, 2, "out of memory adding a peer");
    if (added && note_new_peer(c, pos) < 0) return core_error(c, 2, "out of memory");
    lr->pt = pt;
    lr->coll = coll;
    lr->ip = ip;
    lr->afi = e->peer_afi[i];
    return 0;
}

/* stage 2 of a row: its ids (new peers, prefixes and paths are made here, in row order) */
int row_ids(Core *c, Row *r, LastRow *lr) {
    const Part *pt = r->ref.part;
    const ElementCols *e = &pt->cols;
    int64_t i = r->ref.row;
    if (r->kind == K_OTHER) return 0;
    const DictCol *d = &e->collector;
    int64_t coll = dict_index(d, i);
    if (pt != lr->pt || coll != lr->coll || !same16(e->peer_ip + 16 * i, lr->ip) || e->peer_afi[i] != lr->afi)
        if (new_peer(c, pt, i, coll, r->ref.pos, lr) < 0) return -1;
    int32_t peer = lr->peer;
    if (c->peer_stamp[peer] != c->stamp) { /* a peer's ASN is the one of its first row of a call */
        c->peer_stamp[peer] = c->stamp;
        c->peer_asn[peer] = e->peer_asn[i];
    }
    r->peer = peer;
    int kind = r->kind;
    if (kind == K_SKIP) return 0;
    if (kind == K_STATE) {
        int ns = element_new_state(e, i);
        r->kind = ns >= 0 && ns != STATE_ESTABLISHED ? K_DOWN : K_SKIP;
        return 0;
    }
    uint8_t afi = e->afi[i], plen = e->prefix_len[i];
    int32_t pfx = prefixmap_find_h(&c->pmap, r->key.hi, r->key.lo, plen, afi, r->key.hash);
    if (pfx < 0) {
        int added;
        if (core_add_prefix_k(c, afi, e->prefix + 16 * i, plen, &r->key, &pfx, &added) < 0)
            return core_error(c, 2, "out of memory adding a prefix");
    }
    r->pfx = pfx;
    ow_prefetch(core_cell(c, pfx, peer));
    ow_prefetch(&c->pfx[pfx]);
    if (kind == K_WITHDRAW) {
        r->path = 0;
        return 0;
    }
    if (r->phash) {
        int32_t id = u64map_find(&c->paths, r->phash);
        if (id >= 0) lr->path = (uint32_t)id + 1;
        else if (new_path(c, e, i, r->phash, &lr->path) < 0) return -1;
        ow_prefetch(&c->path[lr->path]);
    }
    r->path = lr->path;
    return 0;
}
