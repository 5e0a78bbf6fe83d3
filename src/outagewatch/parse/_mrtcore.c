/*
 * _mrtcore: the compiled, columnar MRT decoder of outagewatch.
 *
 * A Decoder walks complete MRT records in a byte buffer and appends one row per BGP
 * element into growable C column arrays (no Python object per element or record). The
 * columns are handed to Python zero-copy through the Arrow C data interface, as one struct
 * array with the fields of ELEMENT_SCHEMA that outagewatch.parse.mrt imports as a batch.
 * TABLE_DUMP_V2 peer index state persists across calls. The hot loop runs with the GIL released.
 *
 * Problems (damaged input) are collected as (offset, record, type, subtype, cause) and
 * returned beside the columns; decoding resumes where framing allows.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <malloc.h>
#include <pthread.h>

#define MAX_RECORD_LEN (64u * 1024u * 1024u)
/* the once-per-input note about add-path NLRI under plain subtypes (exported: readers that
 * decode one input with two decoders keep only the first) */
#define ADDPATH_NOTE "add-path NLRI under a non-add-path MRT subtype"
#define RESYNC_MAX_LEN (4u * 1024u * 1024u)

enum { K_ANNOUNCE = 0, K_WITHDRAW = 1, K_RIB = 2, K_STATE = 3 };

/* presence bits of the nullable columns */
enum {
    P_PATH_ID = 1, P_ORIGIN_ASN = 2, P_ORIGIN = 4, P_MED = 8, P_LOCAL_PREF = 16,
    P_AGGREGATOR = 32, P_STATE = 64
};

/* ------------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A small cache of column blocks. Every batch hands its column arrays to Arrow and the next
 * batch needs as many again; getting them back from the C library means fresh pages from the
 * kernel each time (page faults and zeroing cost more than filling them). Blocks freed by
 * Arrow come back here instead, up to CACHE_MAX_BYTES; the decoder takes them for its next
 * batch. Guarded by a mutex: buffers die with the GIL held, the decoder runs without it. */
#define CACHE_SLOTS 512
#define CACHE_MAX_BYTES (48u << 20)
#define CACHE_MIN_BLOCK 4096u
static void *cache_ptr[CACHE_SLOTS];
static size_t cache_size[CACHE_SLOTS];
static int cache_n;
static size_t cache_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void *block_get(size_t want) {
    if (want >= CACHE_MIN_BLOCK) {
        pthread_mutex_lock(&cache_lock);
        for (int k = cache_n - 1; k >= 0; k--) {
            if (cache_size[k] >= want && cache_size[k] <= 4 * want) {
                void *p = cache_ptr[k];
                cache_bytes -= cache_size[k];
                cache_n--;
                cache_ptr[k] = cache_ptr[cache_n];
                cache_size[k] = cache_size[cache_n];
                pthread_mutex_unlock(&cache_lock);
                return p;
            }
        }
        pthread_mutex_unlock(&cache_lock);
    }
    return malloc(want ? want : 1);
}

static void block_put(void *p) {
    if (!p) return;
    size_t size = malloc_usable_size(p);
    if (size >= CACHE_MIN_BLOCK) {
        pthread_mutex_lock(&cache_lock);
        if (cache_n < CACHE_SLOTS && cache_bytes + size <= CACHE_MAX_BYTES) {
            cache_ptr[cache_n] = p;
            cache_size[cache_n] = size;
            cache_n++;
            cache_bytes += size;
            pthread_mutex_unlock(&cache_lock);
            return;
        }
        pthread_mutex_unlock(&cache_lock);
    }
    free(p);
}

/* realloc that takes fresh blocks from the cache */
static void *block_realloc(void *p, size_t size) {
    if (p) return realloc(p, size);
    return block_get(size);
}

typedef struct { uint8_t *data; size_t len, cap; } Buf;

static int buf_grow(Buf *b, size_t need) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + need) cap *= 2;
    uint8_t *d = block_realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap && buf_grow(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

/* Append n uint32 values; short lists are the rule, so copy inline. */
static inline int buf_put32(Buf *b, const uint32_t *src, size_t n) {
    if (b->len + 4 * n > b->cap && buf_grow(b, 4 * n) < 0) return -1;
    uint32_t *dst = (uint32_t *)(b->data + b->len);
    if (n > 8) memcpy(dst, src, 4 * n);
    else for (size_t k = 0; k < n; k++) dst[k] = src[k];
    b->len += 4 * n;
    return 0;
}

static inline int buf_put16(Buf *b, const uint16_t *src, size_t n) {
    if (b->len + 2 * n > b->cap && buf_grow(b, 2 * n) < 0) return -1;
    uint16_t *dst = (uint16_t *)(b->data + b->len);
    for (size_t k = 0; k < n; k++) dst[k] = src[k];
    b->len += 2 * n;
    return 0;
}

/* ------------------------------------------------------------------ columns */

typedef struct {
    size_t n, cap;
    int64_t *ts;
    int8_t *kind;
    uint16_t *mtype, *msub;
    uint8_t *peer_afi, *peer_ip;
    uint32_t *peer_asn;
    uint8_t *afi, *prefix, *plen;
    uint32_t *path_id, *origin_asn;
    uint8_t *nh_afi, *nh, *origin;
    uint32_t *med, *lp;
    uint8_t *atomic;
    uint32_t *agg_asn;
    uint8_t *agg_ip, *old_state, *new_state;
    uint16_t *present;
    int32_t *off_path, *off_seg, *off_oasn, *off_comm, *off_lcomm;
    Buf path, seg, oasn, comm, lcomm;
} Cols;

#define NFIXED 30

static void cols_free(Cols *c) {
    void *ptrs[] = {c->ts, c->kind, c->mtype, c->msub, c->peer_afi, c->peer_ip, c->peer_asn,
                    c->afi, c->prefix, c->plen, c->path_id, c->origin_asn, c->nh_afi, c->nh,
                    c->origin, c->med, c->lp, c->atomic, c->agg_asn, c->agg_ip, c->old_state,
                    c->new_state, c->present, c->off_path, c->off_seg, c->off_oasn, c->off_comm,
                    c->off_lcomm, c->path.data, c->seg.data, c->oasn.data, c->comm.data,
                    c->lcomm.data};
    for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) free(ptrs[i]);
    memset(c, 0, sizeof(*c));
}

#define GROW(field, width)                                                   \
    do {                                                                     \
        void *np_ = block_realloc(c->field, (size_t)(width) * cap);         \
        if (!np_) return -1;                                                 \
        c->field = np_;                                                      \
    } while (0)
#define GROW_OFF(field)                                                      \
    do {                                                                     \
        void *np_ = block_realloc(c->field, 4 * (cap + 1));                  \
        if (!np_) return -1;                                                 \
        c->field = np_;                                                      \
        if (c->cap == 0) c->field[0] = 0;                                    \
    } while (0)

/* Bytes per element of each list buffer in the last batch handed over (path, seg, oasn, comm,
 * lcomm): a new batch sizes its list buffers from them, so they are not grown (copied) again and
 * again while it fills. Shared by all decoders; a stale value only costs one regrowth. */
static size_t list_bpe[5];

static int lists_reserve(Cols *c, size_t rows) {
    Buf *bufs[5] = {&c->path, &c->seg, &c->oasn, &c->comm, &c->lcomm};
    for (int i = 0; i < 5; i++) {
        Buf *b = bufs[i];
        if (b->data) continue;
        size_t want = list_bpe[i] * rows + list_bpe[i] * rows / 8;
        if (want < 65536) want = 65536;
        want = (want + 4095) & ~(size_t)4095;
        b->data = block_get(want);
        if (!b->data) return -1;
        b->cap = want;
        b->len = 0;
    }
    return 0;
}

static int cols_grow(Cols *c, size_t want) {
    if (c->cap == 0 && lists_reserve(c, want ? want : 4096) < 0) return -1;
    size_t cap = c->cap ? c->cap * 2 : (want ? want : 4096);
    if (cap < c->n + 1) cap = c->n + 1;
    GROW(ts, 8); GROW(kind, 1); GROW(mtype, 2); GROW(msub, 2); GROW(peer_afi, 1);
    GROW(peer_ip, 16); GROW(peer_asn, 4); GROW(afi, 1); GROW(prefix, 16); GROW(plen, 1);
    GROW(path_id, 4); GROW(origin_asn, 4); GROW(nh_afi, 1); GROW(nh, 16); GROW(origin, 1);
    GROW(med, 4); GROW(lp, 4); GROW(atomic, 1); GROW(agg_asn, 4); GROW(agg_ip, 4);
    GROW(old_state, 1); GROW(new_state, 1); GROW(present, 2);
    GROW_OFF(off_path); GROW_OFF(off_seg); GROW_OFF(off_oasn); GROW_OFF(off_comm); GROW_OFF(off_lcomm);
    c->cap = cap;
    return 0;
}

/* ------------------------------------------------------------------ attributes */

#define MAXPATH 40000
#define MAXCOMM 16400
#define MAXLCOMM 16400

typedef struct {
    uint16_t present;
    uint8_t origin, atomic;
    uint32_t med, lp, agg_asn;
    uint8_t agg_ip[4];
    uint8_t nh_afi, nh[16];
    uint32_t npath, nseg, noasn, ncomm, nlcomm; /* nlcomm counts uint32 values (3 per community) */
    uint32_t origin_asn;
    int has_origin_asn;
    const uint8_t *mp_reach, *mp_unreach;
    size_t mp_reach_len, mp_unreach_len;
    int has_mp_reach, has_mp_unreach;
    /* raw pieces for the RFC 6793 merge */
    const uint8_t *as_path, *as4_path;
    size_t as_path_len, as4_path_len;
    int has_as_path, has_as4_path, has_as4_agg;
    uint32_t as4_agg_asn;
    uint8_t as4_agg_ip[4];
} Attrs;

typedef struct {
    int64_t offset, record;
    uint16_t type, subtype;
    char cause[160];
} Prob;

typedef struct {
    uint8_t afi;
    uint8_t ip[16];
    uint32_t asn;
} Peer;

typedef struct {
    PyObject_HEAD
    Cols cols;
    int64_t offset;  /* absolute offset of the next unread byte */
    int64_t record;  /* index of the next record */
    int64_t last_ts; /* last good record time, for resynchronisation */
    Peer *peers;
    uint32_t npeers;
    int have_peer_table;
    int warned_td1_len;
    int warned_addpath;
    const uint8_t *buf_end; /* end of the buffer being decoded: prefixes may be over-read up to here */
    Prob *probs;
    size_t nprobs, probcap;
    int oom;
    char *collector; /* the collector column's one value */
    /* scratch */
    /* scratch, allocated once (malloc, not zeroed: always written before read) */
    uint32_t *path;     /* MAXPATH */
    uint16_t *seg;      /* MAXPATH */
    uint32_t *comm;     /* MAXCOMM */
    uint32_t *lcomm;    /* MAXLCOMM * 3 */
    uint32_t *tmp_path; /* MAXPATH */
    uint16_t *tmp_seg;  /* MAXPATH */
} Decoder;

typedef struct {
    int64_t ts;
    uint16_t type, subtype;
    uint8_t peer_afi, peer_ip[16];
    uint32_t peer_asn;
    int64_t offset, record;
} Ctx;

static void problem(Decoder *d, const Ctx *x, int64_t offset, const char *fmt, ...) {
    if (d->nprobs == d->probcap) {
        size_t cap = d->probcap ? d->probcap * 2 : 16;
        Prob *p = realloc(d->probs, cap * sizeof(Prob));
        if (!p) { d->oom = 1; return; }
        d->probs = p;
        d->probcap = cap;
    }
    Prob *p = &d->probs[d->nprobs++];
    p->offset = offset;
    p->record = x ? x->record : -1;
    p->type = x ? x->type : 0;
    p->subtype = x ? x->subtype : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->cause, sizeof(p->cause), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ emitting */

static const uint8_t ZERO16[16] = {0};
static uint8_t PMASK[129][16]; /* PMASK[len]: the bytes of a /len netmask */

static void init_masks(void) {
    for (int len = 0; len <= 128; len++)
        for (int k = 0; k < 16; k++) {
            int bits = len - 8 * k;
            PMASK[len][k] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        }
}

/* prefix: nb raw address bytes (nb <= 16), masked to plen bits here */
static int emit(Decoder *d, const Ctx *x, int kind, uint8_t afi, const uint8_t *prefix, int nb, uint8_t plen,
                int has_pid, uint32_t pid, uint8_t nh_afi, const uint8_t *nh, const Attrs *a) {
    Cols *c = &d->cols;
    if (c->n == c->cap && cols_grow(c, 0) < 0) { d->oom = 1; return -1; }
    const size_t i = c->n;
    /* column pointers in locals: byte stores would otherwise force reloads through c */
    uint8_t *restrict dst = c->prefix + 16 * i;
    uint8_t *restrict peer_ip = c->peer_ip + 16 * i;
    uint8_t *restrict nhop = c->nh + 16 * i;
    uint8_t *restrict agg_ip = c->agg_ip + 4 * i;
    uint16_t present = has_pid ? P_PATH_ID : 0;
    c->ts[i] = x->ts;
    c->mtype[i] = x->type;
    c->msub[i] = x->subtype;
    c->peer_asn[i] = x->peer_asn;
    c->path_id[i] = pid;
    memcpy(peer_ip, x->peer_ip, 16);
    if (nb < 0) { /* 16 readable bytes at prefix: load, mask to plen bits, store */
        uint64_t lo, hi, mlo, mhi;
        memcpy(&lo, prefix, 8);
        memcpy(&hi, prefix + 8, 8);
        memcpy(&mlo, PMASK[plen], 8);
        memcpy(&mhi, PMASK[plen] + 8, 8);
        lo &= mlo;
        hi &= mhi;
        memcpy(dst, &lo, 8);
        memcpy(dst + 8, &hi, 8);
    } else {
        memset(dst, 0, 16);
        for (int k = 0; k < nb; k++) dst[k] = prefix[k];
        if ((plen & 7) && plen < 128) dst[plen >> 3] &= (uint8_t)(0xff << (8 - (plen & 7)));
    }
    memcpy(nhop, nh ? nh : ZERO16, 16);
    uint8_t origin = 0, atomic = 0;
    if (a) {
        present |= a->present;
        origin = a->origin;
        atomic = a->atomic;
        c->med[i] = a->med;
        c->lp[i] = a->lp;
        c->agg_asn[i] = a->agg_asn;
        memcpy(agg_ip, a->agg_ip, 4);
        c->origin_asn[i] = a->origin_asn;
        if (a->has_origin_asn) present |= P_ORIGIN_ASN;
        if (buf_put32(&c->path, d->path, a->npath) < 0 || buf_put16(&c->seg, d->seg, a->nseg) < 0 ||
            buf_put32(&c->comm, d->comm, a->ncomm) < 0 || buf_put32(&c->lcomm, d->lcomm, a->nlcomm) < 0) {
            d->oom = 1;
            return -1;
        }
        if (a->noasn && buf_put32(&c->oasn, d->path + (a->npath - a->noasn), a->noasn) < 0) {
            d->oom = 1;
            return -1;
        }
    } else {
        c->med[i] = 0;
        c->lp[i] = 0;
        c->agg_asn[i] = 0;
        memset(agg_ip, 0, 4);
        c->origin_asn[i] = 0;
    }
    c->present[i] = present;
    c->off_path[i + 1] = (int32_t)(c->path.len / 4);
    c->off_seg[i + 1] = (int32_t)(c->seg.len / 2);
    c->off_oasn[i + 1] = (int32_t)(c->oasn.len / 4);
    c->off_comm[i + 1] = (int32_t)(c->comm.len / 4);
    c->off_lcomm[i + 1] = (int32_t)(c->lcomm.len / 12);
    /* the one-byte columns last, through locals */
    int8_t *restrict kind_col = c->kind;
    uint8_t *restrict peer_afi = c->peer_afi, *restrict afi_col = c->afi, *restrict plen_col = c->plen;
    uint8_t *restrict nh_afi_col = c->nh_afi, *restrict origin_col = c->origin, *restrict atomic_col = c->atomic;
    uint8_t *restrict old_state = c->old_state, *restrict new_state = c->new_state;
    kind_col[i] = (int8_t)kind;
    peer_afi[i] = x->peer_afi;
    afi_col[i] = afi;
    plen_col[i] = plen;
    nh_afi_col[i] = nh_afi;
    origin_col[i] = origin;
    atomic_col[i] = atomic;
    old_state[i] = 0;
    new_state[i] = 0;
    c->n = i + 1;
    return 0;
}

static int emit_state(Decoder *d, const Ctx *x, uint16_t old_state, uint16_t new_state) {
    if (emit(d, x, K_STATE, 0, NULL, 0, 0, 0, 0, 0, NULL, NULL) < 0) return -1;
    Cols *c = &d->cols;
    size_t i = c->n - 1;
    c->old_state[i] = (uint8_t)old_state;
    c->new_state[i] = (uint8_t)new_state;
    c->present[i] |= P_STATE;
    return 0;
}

/* ------------------------------------------------------------------ AS paths */

/* Parse an AS path attribute into asns/segs; returns 0 ok, -1 malformed (keeps what parsed). */
static int parse_path(const uint8_t *p, size_t len, int asn_len, uint32_t *asns, uint32_t *nasn,
                      uint16_t *segs, uint32_t *nseg) {
    const uint8_t *end = p + len;
    uint32_t na = 0, ns = 0;
    while (p < end) {
        if (end - p < 2) goto bad;
        uint8_t type = p[0], cnt = p[1];
        if (type < 1 || type > 4) goto bad;
        if ((size_t)(end - p - 2) < (size_t)cnt * asn_len) goto bad;
        p += 2;
        if (na + cnt > MAXPATH || ns + 1 > MAXPATH) goto bad;
        for (int k = 0; k < cnt; k++, p += asn_len) asns[na++] = asn_len == 4 ? be32(p) : be16(p);
        segs[ns++] = (uint16_t)(type * 256 + cnt);
    }
    *nasn = na;
    *nseg = ns;
    return 0;
bad:
    *nasn = na;
    *nseg = ns;
    return -1;
}

/* RFC 6793 path length: a set counts 1, confederation segments count 0 (bgpdump counts
 * confed sequences too; confederations never appear in AS4_PATH so it matters little). */
static uint32_t path_count(const uint16_t *segs, uint32_t nseg) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < nseg; i++) {
        int t = segs[i] >> 8, cnt = segs[i] & 0xff;
        if (t == 2 || t == 3) n += cnt;
        else n += 1;
    }
    return n;
}

static void finish_path(Decoder *d, const Ctx *x, Attrs *a, int asn_len) {
    a->npath = a->nseg = 0;
    if (a->has_as_path) {
        if (parse_path(a->as_path, a->as_path_len, asn_len, d->path, &a->npath, d->seg, &a->nseg) < 0)
            problem(d, x, x->offset, "malformed AS_PATH attribute (%zu bytes)", a->as_path_len);
    }
    int use_as4 = a->has_as4_path && asn_len == 2 && a->has_as_path;
    if (a->has_as4_agg && asn_len == 2 && (a->present & P_AGGREGATOR)) {
        if (a->agg_asn == 23456) {
            a->agg_asn = a->as4_agg_asn;
            memcpy(a->agg_ip, a->as4_agg_ip, 4);
        } else {
            use_as4 = 0; /* RFC 6793 4.2.3: AS4_PATH ignored too */
        }
    }
    if (use_as4) {
        uint32_t n4 = 0, s4 = 0;
        if (parse_path(a->as4_path, a->as4_path_len, 4, d->tmp_path, &n4, d->tmp_seg, &s4) < 0) {
            problem(d, x, x->offset, "malformed AS4_PATH attribute (%zu bytes), ignored", a->as4_path_len);
        } else {
            uint32_t c2 = path_count(d->seg, a->nseg), c4 = path_count(d->tmp_seg, s4);
            if (c2 >= c4 && a->npath + n4 <= MAXPATH && a->nseg + s4 <= MAXPATH) {
                /* keep the leading (c2 - c4) ASNs of AS_PATH, then AS4_PATH */
                uint32_t keep = c2 - c4, kept = 0, na = 0, ns = 0, pos = 0;
                for (uint32_t s = 0; s < a->nseg && kept < keep; s++) {
                    int t = d->seg[s] >> 8, cnt = d->seg[s] & 0xff;
                    int take = cnt;
                    if (t == 2 || t == 3) {
                        if (kept + (uint32_t)cnt > keep) take = (int)(keep - kept);
                        kept += (uint32_t)take;
                    } else {
                        kept += 1;
                    }
                    /* d->path is overwritten in place: na <= pos always holds */
                    for (int k = 0; k < take; k++) d->path[na++] = d->path[pos + k];
                    pos += (uint32_t)cnt;
                    d->seg[ns++] = (uint16_t)(t * 256 + take);
                }
                memcpy(d->path + na, d->tmp_path, 4 * (size_t)n4);
                memcpy(d->seg + ns, d->tmp_seg, 2 * (size_t)s4);
                a->npath = na + n4;
                a->nseg = ns + s4;
            }
        }
    }
    /* origin AS(es) */
    a->noasn = 0;
    a->has_origin_asn = 0;
    a->origin_asn = 0;
    if (a->nseg) {
        int t = d->seg[a->nseg - 1] >> 8, cnt = d->seg[a->nseg - 1] & 0xff;
        if (cnt > 0) {
            if (t == 1 || t == 4) {
                a->noasn = (uint32_t)cnt;
            } else {
                a->noasn = 1;
                a->has_origin_asn = 1;
                a->origin_asn = d->path[a->npath - 1];
            }
        }
    }
}

/* Parse path attributes. Returns 0, or -1 when the attribute block is malformed (what parsed is kept). */
static int parse_attrs(Decoder *d, const Ctx *x, const uint8_t *p, size_t len, int asn_len, Attrs *a) {
    a->present = 0;
    a->origin = a->atomic = a->nh_afi = 0;
    a->med = a->lp = a->agg_asn = 0;
    memset(a->agg_ip, 0, 4);
    memset(a->nh, 0, 16);
    a->ncomm = a->nlcomm = 0;
    a->has_mp_reach = a->has_mp_unreach = 0;
    a->mp_reach_len = a->mp_unreach_len = 0;
    a->has_as_path = a->has_as4_path = a->has_as4_agg = 0;
    const uint8_t *end = p + len;
    int rc = 0;
    while (p < end) {
        if (end - p < 3) { rc = -1; break; }
        uint8_t flags = p[0], type = p[1];
        size_t alen, hl;
        if (flags & 0x10) {
            if (end - p < 4) { rc = -1; break; }
            alen = be16(p + 2);
            hl = 4;
        } else {
            alen = p[2];
            hl = 3;
        }
        if ((size_t)(end - p) - hl < alen) {
            problem(d, x, x->offset, "attribute type %u claims %zu bytes, only %zu left", type, alen,
                    (size_t)(end - p) - hl);
            rc = -2;
            break;
        }
        const uint8_t *v = p + hl;
        p += hl + alen;
        switch (type) {
        case 1:
            if (alen >= 1) { a->origin = v[0]; a->present |= P_ORIGIN; }
            break;
        case 2:
            a->as_path = v; a->as_path_len = alen; a->has_as_path = 1;
            break;
        case 3:
            if (alen >= 4) { a->nh_afi = 4; memset(a->nh, 0, 16); memcpy(a->nh, v, 4); }
            break;
        case 4:
            if (alen >= 4) { a->med = be32(v); a->present |= P_MED; }
            break;
        case 5:
            if (alen >= 4) { a->lp = be32(v); a->present |= P_LOCAL_PREF; }
            break;
        case 6:
            a->atomic = 1;
            break;
        case 7: {
            int al = asn_len;
            if (alen == 8) al = 4;
            else if (alen == 6) al = 2;
            if (alen >= (size_t)al + 4) {
                a->agg_asn = al == 4 ? be32(v) : be16(v);
                memcpy(a->agg_ip, v + al, 4);
                a->present |= P_AGGREGATOR;
            }
            break;
        }
        case 8: {
            size_t n = alen / 4;
            if (n > MAXCOMM) n = MAXCOMM;
            for (size_t k = 0; k < n; k++) d->comm[k] = be32(v + 4 * k);
            a->ncomm = (uint32_t)n;
            break;
        }
        case 14:
            a->mp_reach = v; a->mp_reach_len = alen; a->has_mp_reach = 1;
            break;
        case 15:
            a->mp_unreach = v; a->mp_unreach_len = alen; a->has_mp_unreach = 1;
            break;
        case 17:
            a->as4_path = v; a->as4_path_len = alen; a->has_as4_path = 1;
            break;
        case 18:
            if (alen >= 8) { a->as4_agg_asn = be32(v); memcpy(a->as4_agg_ip, v + 4, 4); a->has_as4_agg = 1; }
            break;
        case 32: {
            size_t n = alen / 12;
            if (n > MAXLCOMM) n = MAXLCOMM;
            for (size_t k = 0; k < 3 * n; k++) d->lcomm[k] = be32(v + 4 * k);
            a->nlcomm = (uint32_t)(3 * n);
            break;
        }
        default:
            break;
        }
    }
    if (rc == -1) problem(d, x, x->offset, "malformed path attribute header");
    finish_path(d, x, a, asn_len);
    return rc;
}

/* ------------------------------------------------------------------ NLRI */

/* Read one prefix. Returns bytes consumed, 0 at a clean end, -1 on error. */
static int read_prefix(const uint8_t *p, const uint8_t *end, int maxbits, uint8_t *out, uint8_t *plen) {
    if (p >= end) return 0;
    int bits = p[0];
    if (bits > maxbits) return -1;
    int nb = (bits + 7) / 8;
    if (end - p - 1 < nb) return -2;
    memset(out, 0, 16);
    memcpy(out, p + 1, (size_t)nb);
    if (bits % 8) out[nb - 1] &= (uint8_t)(0xff << (8 - bits % 8));
    *plen = (uint8_t)bits;
    return nb + 1;
}

/* Does the block parse completely as prefixes (with or without add-path ids)? */
static int nlri_ok(const uint8_t *p, size_t len, int maxbits, int addpath) {
    const uint8_t *end = p + len;
    while (p < end) {
        if (addpath) {
            if (end - p < 5) return 0;
            p += 4;
        }
        if (p[0] > maxbits || end - p - 1 < (p[0] + 7) / 8) return 0;
        p += 1 + (p[0] + 7) / 8;
    }
    return 1;
}

/* Walk an NLRI block once, emitting one element per prefix. On a bad prefix returns -1 and
 * describes it in why; -2 when out of memory. */
static int walk_once(Decoder *d, const Ctx *x, const uint8_t *p, size_t len, int afi, int addpath, int kind,
                     uint8_t nh_afi, const uint8_t *nh, const Attrs *a, char *why, size_t whylen) {
    const uint8_t *end = p + len;
    int maxbits = afi == 6 ? 128 : 32;
    while (p < end) {
        uint32_t pid = 0;
        if (addpath) {
            if (end - p < 5) {
                snprintf(why, whylen, "truncated add-path NLRI (%zu bytes left)", (size_t)(end - p));
                return -1;
            }
            pid = be32(p);
            p += 4;
        }
        int bits = p[0], nb = (bits + 7) >> 3;
        if (bits > maxbits) {
            snprintf(why, whylen, "prefix length %d exceeds %d bits", bits, maxbits);
            return -1;
        }
        if (end - p - 1 < nb) {
            snprintf(why, whylen, "prefix /%d truncated (%zu bytes left)", bits, (size_t)(end - p - 1));
            return -1;
        }
        int fast = p + 17 <= d->buf_end;
        if (emit(d, x, kind, (uint8_t)afi, p + 1, fast ? -1 : nb, (uint8_t)bits, addpath, pid, nh_afi, nh, a) < 0)
            return -2;
        p += 1 + nb;
    }
    return 0;
}

/* Walk an NLRI block. BIRD and others dump RFC 7911 add-path messages under the plain
 * subtypes: a block that fails without path ids but parses with them is read with them. */
static int walk_nlri(Decoder *d, const Ctx *x, const uint8_t *p, size_t len, int afi, int addpath, int kind,
                     uint8_t nh_afi, const uint8_t *nh, const Attrs *a, const char *what) {
    if (len == 0) return 0; /* the common empty block (no withdrawals, no NLRI) */
    Cols *c = &d->cols;
    size_t n0 = c->n, l0 = c->path.len, l1 = c->seg.len, l2 = c->oasn.len, l3 = c->comm.len, l4 = c->lcomm.len;
    char why[120];
    int rc = walk_once(d, x, p, len, afi, addpath, kind, nh_afi, nh, a, why, sizeof(why));
    if (rc == -1 && !addpath && nlri_ok(p, len, afi == 6 ? 128 : 32, 1)) {
        c->n = n0;
        c->path.len = l0, c->seg.len = l1, c->oasn.len = l2, c->comm.len = l3, c->lcomm.len = l4;
        if (!d->warned_addpath)
            problem(d, x, x->offset, "%s: " ADDPATH_NOTE "; read as add-path here and wherever else it occurs",
                    what);
        d->warned_addpath = 1;
        rc = walk_once(d, x, p, len, afi, 1, kind, nh_afi, nh, a, why, sizeof(why));
    }
    if (rc == -1) problem(d, x, x->offset, "%s: %s", what, why);
    return rc;
}

static int afi_bits(uint16_t afi) { return afi == 1 ? 4 : afi == 2 ? 6 : 0; }

/* MP_UNREACH_NLRI: afi, safi, withdrawn routes */
static int do_mp_unreach(Decoder *d, const Ctx *x, const Attrs *a, int addpath, int kind_w) {
    if (!a->has_mp_unreach) return 0;
    if (a->mp_unreach_len < 3) {
        if (a->mp_unreach_len) problem(d, x, x->offset, "MP_UNREACH_NLRI too short (%zu bytes)", a->mp_unreach_len);
        return 0;
    }
    int afi = afi_bits(be16(a->mp_unreach));
    uint8_t safi = a->mp_unreach[2];
    if (!afi || safi < 1 || safi > 3) return 0; /* other families (VPN, flowspec, ...) are not elements */
    return walk_nlri(d, x, a->mp_unreach + 3, a->mp_unreach_len - 3, afi, addpath, kind_w, 0, NULL, NULL,
                     "MP_UNREACH_NLRI");
}

/* Parse an MP next hop of nhlen bytes for afi. */
static void mp_nexthop(const uint8_t *v, size_t nhlen, uint8_t *nh_afi, uint8_t *nh) {
    memset(nh, 0, 16);
    *nh_afi = 0;
    if (nhlen == 4) { memcpy(nh, v, 4); *nh_afi = 4; }
    else if (nhlen == 16 || nhlen == 32) { memcpy(nh, v, 16); *nh_afi = 6; }
    else if (nhlen == 12) { memcpy(nh, v + 8, 4); *nh_afi = 4; }   /* RD + IPv4 */
    else if (nhlen == 24 || nhlen == 48) { memcpy(nh, v + 8, 16); *nh_afi = 6; } /* RD + IPv6 */
}

static int do_mp_reach(Decoder *d, const Ctx *x, const Attrs *a, int addpath, int kind) {
    if (!a->has_mp_reach) return 0;
    const uint8_t *v = a->mp_reach;
    size_t len = a->mp_reach_len;
    if (len < 5) {
        problem(d, x, x->offset, "MP_REACH_NLRI too short (%zu bytes)", len);
        return 0;
    }
    int afi = afi_bits(be16(v));
    uint8_t safi = v[2], nhlen = v[3];
    if (len < (size_t)5 + nhlen) {
        problem(d, x, x->offset, "MP_REACH_NLRI next hop of %u bytes overruns the attribute", nhlen);
        return 0;
    }
    if (!afi || safi < 1 || safi > 3) return 0;
    uint8_t nh_afi, nh[16];
    mp_nexthop(v + 4, nhlen, &nh_afi, nh);
    size_t skip = 4 + (size_t)nhlen;
    uint8_t nsnpa = v[skip++];
    for (int k = 0; k < nsnpa; k++) {
        if (skip >= len) return 0;
        skip += 1 + (size_t)((v[skip] + 1) / 2);
    }
    if (skip > len) return 0;
    return walk_nlri(d, x, v + skip, len - skip, afi, addpath, kind, nh_afi, nh, a, "MP_REACH_NLRI");
}

/* ------------------------------------------------------------------ BGP UPDATE */

static int do_update(Decoder *d, const Ctx *x, const uint8_t *p, size_t len, int asn_len, int addpath) {
    const uint8_t *end = p + len;
    Attrs a;
    if (len < 2) { problem(d, x, x->offset, "UPDATE too short (%zu bytes)", len); return 0; }
    size_t wlen = be16(p);
    p += 2;
    if ((size_t)(end - p) < wlen) {
        problem(d, x, x->offset, "withdrawn routes length %zu overruns the UPDATE (%zu left); "
                "UPDATE skipped", wlen, (size_t)(end - p));
        return 0;
    }
    const uint8_t *wd = p;
    p += wlen;
    size_t alen = 0;
    const uint8_t *at = p;
    if (end - p >= 2) {
        alen = be16(p);
        p += 2;
        at = p;
        if ((size_t)(end - p) < alen) {
            problem(d, x, x->offset, "path attribute length %zu overruns the UPDATE (%zu left); "
                    "UPDATE skipped", alen, (size_t)(end - p));
            return 0;
        }
        p += alen;
    } else if (end - p == 1) {
        problem(d, x, x->offset, "UPDATE truncated inside the attribute length");
        p = end;
    }
    int rc = parse_attrs(d, x, at, alen, asn_len, &a);
    if (walk_nlri(d, x, wd, wlen, 4, addpath, K_WITHDRAW, 0, NULL, NULL, "withdrawn routes") == -2) return -1;
    if (do_mp_unreach(d, x, &a, addpath, K_WITHDRAW) == -2) return -1;
    (void)rc;
    if (walk_nlri(d, x, p, (size_t)(end - p), 4, addpath, K_ANNOUNCE, a.nh_afi, a.nh, &a, "NLRI") == -2)
        return -1;
    if (do_mp_reach(d, x, &a, addpath, K_ANNOUNCE) == -2) return -1;
    return 0;
}

/* ------------------------------------------------------------------ BGP4MP */

/* BGP4MP_ENTRY (subtype 2, pre-RFC 6396 draft; OpenBGPD "dump table-mp"): one RIB entry. */
static int do_bgp4mp_entry(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    if (len < 8) goto short_rec;
    uint16_t afi = be16(p + 6);
    int ipl = afi == 1 ? 4 : afi == 2 ? 16 : 0;
    if (!ipl) { problem(d, x, x->offset, "unknown address family %u in BGP4MP_ENTRY", afi); return 0; }
    if (len < 8 + 2 * (size_t)ipl + 12) goto short_rec;
    x->peer_asn = be16(p + 2); /* the second (AS, address) pair is the peer, as in OpenBGPD's TABLE_DUMP */
    x->peer_afi = afi == 1 ? 4 : 6;
    memset(x->peer_ip, 0, 16);
    memcpy(x->peer_ip, p + 8 + ipl, (size_t)ipl);
    p += 8 + 2 * ipl + 8; /* view, status, originated */
    int pafi = afi_bits(be16(p));
    uint8_t safi = p[2], nhlen = p[3];
    p += 4;
    if (!pafi || safi < 1 || safi > 3) return 0;
    if ((size_t)(end - p) < (size_t)nhlen + 1) goto short_rec;
    uint8_t nh_afi, nh[16], pfx[16], plen;
    mp_nexthop(p, nhlen, &nh_afi, nh);
    p += nhlen;
    int r = read_prefix(p, end, pafi == 6 ? 128 : 32, pfx, &plen);
    if (r <= 0) { problem(d, x, x->offset, "bad BGP4MP_ENTRY prefix"); return 0; }
    p += r;
    if (end - p < 2) goto short_rec;
    size_t alen = be16(p);
    p += 2;
    if ((size_t)(end - p) < alen) {
        problem(d, x, x->offset, "BGP4MP_ENTRY attributes overrun the record");
        return 0;
    }
    Attrs a;
    parse_attrs(d, x, p, alen, 2, &a);
    if (a.nh_afi && !nh_afi) { nh_afi = a.nh_afi; memcpy(nh, a.nh, 16); }
    return emit(d, x, K_RIB, (uint8_t)pafi, pfx, 16, plen, 0, 0, nh_afi, nh, &a);
short_rec:
    problem(d, x, x->offset, "record too short (%zu bytes) for BGP4MP_ENTRY", len);
    return 0;
}

static int do_bgp4mp(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    uint16_t st = x->subtype;
    int as4 = (st == 4 || st == 5 || st == 7 || st == 9 || st == 11);
    int addpath = (st >= 8 && st <= 11);
    int al = as4 ? 4 : 2;
    const uint8_t *end = p + len;
    if (st == 0 || st == 5) { /* STATE_CHANGE */
        if (len == 8 && st == 0) { /* Zebra bug: 8-byte state change without addresses */
            x->peer_asn = be16(p);
            x->peer_afi = 4;
            memset(x->peer_ip, 0, 16);
            return emit_state(d, x, be16(p + 4), be16(p + 6));
        }
        if (len < (size_t)(2 * al + 4)) goto short_rec;
        x->peer_asn = al == 4 ? be32(p) : be16(p);
        uint16_t afi = be16(p + 2 * al + 2);
        p += 2 * al + 4;
        int ipl = afi == 1 ? 4 : afi == 2 ? 16 : 0;
        if (!ipl) { problem(d, x, x->offset, "unknown address family %u in STATE_CHANGE", afi); return 0; }
        if ((size_t)(end - p) < (size_t)(2 * ipl + 4)) goto short_rec;
        memset(x->peer_ip, 0, 16);
        memcpy(x->peer_ip, p, (size_t)ipl);
        x->peer_afi = afi == 1 ? 4 : 6;
        p += 2 * ipl;
        return emit_state(d, x, be16(p), be16(p + 2));
    }
    if (st == 2) return do_bgp4mp_entry(d, x, p, len);
    if (!(st == 1 || st == 4 || (st >= 6 && st <= 11))) return 0; /* SNAPSHOT, unknown */
    if (len < (size_t)(2 * al + 4)) goto short_rec;
    x->peer_asn = al == 4 ? be32(p) : be16(p);
    uint16_t afi = be16(p + 2 * al + 2);
    p += 2 * al + 4;
    int ipl = afi == 1 ? 4 : afi == 2 ? 16 : 0;
    if (!ipl) {
        if (afi != 0xffff) problem(d, x, x->offset, "unknown address family %u in BGP4MP message", afi);
        return 0; /* 0xffff: Zebra OPEN without addresses, not an update */
    }
    if ((size_t)(end - p) < (size_t)(2 * ipl + 19)) goto short_rec;
    memset(x->peer_ip, 0, 16);
    memcpy(x->peer_ip, p, (size_t)ipl);
    x->peer_afi = afi == 1 ? 4 : 6;
    p += 2 * ipl;
    for (int k = 0; k < 16; k++)
        if (p[k] != 0xff) {
            problem(d, x, x->offset, "bad BGP marker");
            return 0;
        }
    size_t mlen = be16(p + 16);
    uint8_t mtype = p[18];
    p += 19;
    if (mtype != 2) return 0;
    size_t body = (size_t)(end - p);
    if (mlen < 19) { problem(d, x, x->offset, "BGP message length %zu below 19", mlen); return 0; }
    if (mlen - 19 < body) body = mlen - 19;
    else if (mlen - 19 > body)
        problem(d, x, x->offset, "BGP message claims %zu bytes, record holds %zu", mlen, body + 19);
    return do_update(d, x, p, body, al, addpath);
short_rec:
    problem(d, x, x->offset, "record too short (%zu bytes) for BGP4MP subtype %u", len, st);
    return 0;
}

/* ------------------------------------------------------------------ legacy BGP (type 5) */

static int do_bgp_legacy(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    uint16_t st = x->subtype;
    if (st == 1) { /* BGP_UPDATE */
        if (len < 12) goto short_rec;
        x->peer_asn = be16(p);
        x->peer_afi = 4;
        memset(x->peer_ip, 0, 16);
        memcpy(x->peer_ip, p + 2, 4);
        return do_update(d, x, p + 12, len - 12, 2, 0);
    }
    if (st == 3) { /* BGP_STATE_CHANGE */
        if (len < 10) goto short_rec;
        x->peer_asn = be16(p);
        x->peer_afi = 4;
        memset(x->peer_ip, 0, 16);
        memcpy(x->peer_ip, p + 2, 4);
        return emit_state(d, x, be16(p + 6), be16(p + 8));
    }
    return 0;
short_rec:
    problem(d, x, x->offset, "record too short (%zu bytes) for BGP subtype %u", len, st);
    return 0;
}

/* ------------------------------------------------------------------ TABLE_DUMP v1 */

static size_t td1_entry_len(const uint8_t *p, size_t avail, int ipl, int al) {
    size_t fixed = (size_t)ipl + 6 + (size_t)ipl + (size_t)al + 2;
    if (avail < fixed) return 0;
    size_t alen = be16(p + fixed - 2);
    return fixed + alen <= avail ? fixed + alen : 0;
}

/* Early RIS TABLE_DUMP records (1999-2000) pack many entries into one record and their
 * length leaves out the 4 bytes of view and sequence. Returns the true body length. */
static size_t td1_body_len(const uint8_t *body, size_t avail, size_t rlen, uint16_t st) {
    int ipl = (st == 2 || st == 4) ? 16 : 4, al = (st == 3 || st == 4) ? 4 : 2;
    size_t q = 4;
    while (q < rlen + 4) {
        size_t e = td1_entry_len(body + q, avail - q, ipl, al);
        if (!e) return rlen;
        q += e;
    }
    return q == rlen + 4 && q > rlen && q <= avail ? q : rlen;
}

static int do_table_dump(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    uint16_t st = x->subtype;
    int v6 = (st == 2 || st == 4);
    int al = (st == 3 || st == 4) ? 4 : 2;
    if (st < 1 || st > 4) { problem(d, x, x->offset, "unknown TABLE_DUMP subtype %u", st); return 0; }
    int ipl = v6 ? 16 : 4;
    size_t need = (size_t)ipl + 6 + (size_t)ipl + (size_t)al + 2;
    const uint8_t *end = p + len;
    if (len < 4 + need) { problem(d, x, x->offset, "record too short (%zu bytes) for TABLE_DUMP", len); return 0; }
    const uint8_t *q = p + 4;
    while ((size_t)(end - q) >= need) {
        uint8_t pfx[16] = {0};
        memcpy(pfx, q, (size_t)ipl);
        q += ipl;
        uint8_t plen = q[0];
        q += 6; /* mask, status, originated */
        memset(x->peer_ip, 0, 16);
        memcpy(x->peer_ip, q, (size_t)ipl);
        x->peer_afi = v6 ? 6 : 4;
        q += ipl;
        x->peer_asn = al == 4 ? be32(q) : be16(q);
        q += al;
        size_t alen = be16(q);
        q += 2;
        size_t left = (size_t)(end - q);
        if (alen > left) {
            problem(d, x, x->offset, "attribute length %zu overruns the TABLE_DUMP record (%zu left)", alen, left);
            alen = left;
        }
        Attrs a;
        parse_attrs(d, x, q, alen, al, &a);
        q += alen;
        uint8_t nh_afi = a.nh_afi, nh[16];
        memcpy(nh, a.nh, 16);
        if (a.has_mp_reach) {
            /* TABLE_DUMP v1 IPv6 entries carry a full MP_REACH_NLRI */
            const uint8_t *v = a.mp_reach;
            if (a.mp_reach_len >= 5 && v[0] == 0) {
                if ((size_t)v[3] + 4 <= a.mp_reach_len) mp_nexthop(v + 4, v[3], &nh_afi, nh);
            } else if (a.mp_reach_len >= 1 && (size_t)v[0] + 1 <= a.mp_reach_len) {
                mp_nexthop(v + 1, v[0], &nh_afi, nh);
            }
        }
        int maxbits = v6 ? 128 : 32;
        if (plen > maxbits) {
            problem(d, x, x->offset, "prefix length %u exceeds %d bits", plen, maxbits);
            continue;
        }
        if (plen % 8) pfx[plen / 8] &= (uint8_t)(0xff << (8 - plen % 8));
        for (int k = (plen + 7) / 8; k < 16; k++) pfx[k] = 0;
        if (emit(d, x, K_RIB, v6 ? 6 : 4, pfx, 16, plen, 0, 0, nh_afi, nh, &a) < 0) return -1;
    }
    if (q != end) problem(d, x, x->offset, "%zu trailing bytes after the last TABLE_DUMP entry", (size_t)(end - q));
    return 0;
}

/* ------------------------------------------------------------------ TABLE_DUMP_V2 */

static int do_peer_index(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    if (len < 8) goto bad;
    size_t vlen = be16(p + 4);
    p += 6;
    if ((size_t)(end - p) < vlen + 2) goto bad;
    p += vlen;
    uint32_t n = be16(p);
    p += 2;
    Peer *peers = calloc(n ? n : 1, sizeof(Peer));
    if (!peers) { d->oom = 1; return -1; }
    uint32_t got = 0;
    for (; got < n; got++) {
        if (end - p < 1) break;
        uint8_t t = p[0];
        int ipl = (t & 1) ? 16 : 4, al = (t & 2) ? 4 : 2;
        if ((size_t)(end - p) < (size_t)(5 + ipl + al)) break;
        p += 5;
        peers[got].afi = ipl == 16 ? 6 : 4;
        memcpy(peers[got].ip, p, (size_t)ipl);
        p += ipl;
        peers[got].asn = al == 4 ? be32(p) : be16(p);
        p += al;
    }
    if (got < n) problem(d, x, x->offset, "PEER_INDEX_TABLE truncated: %u of %u peers", got, n);
    free(d->peers);
    d->peers = peers;
    d->npeers = got;
    d->have_peer_table = 1;
    return 0;
bad:
    problem(d, x, x->offset, "PEER_INDEX_TABLE too short (%zu bytes)", len);
    return 0;
}

static int do_rib(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    uint16_t st = x->subtype;
    int addpath = st >= 8 && st <= 12;
    int base = addpath ? st - 6 : st; /* 2..6 */
    const uint8_t *end = p + len;
    int afi;
    uint8_t pfx[16], plen;
    if (len < 5) goto short_rec;
    p += 4; /* sequence */
    if (base == 6) {
        if (end - p < 3) goto short_rec;
        afi = afi_bits(be16(p));
        uint8_t safi = p[2];
        p += 3;
        if (!afi || safi < 1 || safi > 3) return 0; /* not a unicast/multicast IP RIB */
    } else {
        afi = (base == 2 || base == 3) ? 4 : 6;
    }
    int r = read_prefix(p, end, afi == 6 ? 128 : 32, pfx, &plen);
    if (r <= 0) {
        problem(d, x, x->offset, "bad RIB prefix");
        return 0;
    }
    p += r;
    if (end - p < 2) goto short_rec;
    uint32_t n = be16(p);
    p += 2;
    if (!d->have_peer_table) {
        problem(d, x, x->offset, "RIB record before any PEER_INDEX_TABLE: %u entries skipped", n);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t hl = addpath ? 12 : 8;
        if ((size_t)(end - p) < hl) {
            problem(d, x, x->offset, "RIB entry %u of %u truncated", i, n);
            return 0;
        }
        uint16_t pi = be16(p);
        uint32_t pid = addpath ? be32(p + 6) : 0;
        size_t alen = be16(p + hl - 2);
        p += hl;
        if ((size_t)(end - p) < alen) {
            problem(d, x, x->offset, "RIB entry %u of %u: attributes overrun the record", i, n);
            return 0;
        }
        const uint8_t *at = p;
        p += alen;
        if (pi >= d->npeers) {
            problem(d, x, x->offset, "RIB entry %u: peer index %u not in the peer table (%u peers)", i, pi,
                    d->npeers);
            continue;
        }
        Peer *peer = &d->peers[pi];
        x->peer_afi = peer->afi;
        memcpy(x->peer_ip, peer->ip, 16);
        x->peer_asn = peer->asn;
        Attrs a;
        parse_attrs(d, x, at, alen, 4, &a);
        uint8_t nh_afi = a.nh_afi, nh[16];
        memcpy(nh, a.nh, 16);
        if (a.has_mp_reach) {
            const uint8_t *v = a.mp_reach;
            if (a.mp_reach_len >= 5 && v[0] == 0 && (v[1] == 1 || v[1] == 2)) {
                if ((size_t)v[3] + 4 <= a.mp_reach_len) mp_nexthop(v + 4, v[3], &nh_afi, nh);
            } else if (a.mp_reach_len >= 1 && (size_t)v[0] + 1 <= a.mp_reach_len) {
                mp_nexthop(v + 1, v[0], &nh_afi, nh);
            }
        }
        if (emit(d, x, K_RIB, (uint8_t)afi, pfx, 16, plen, addpath, pid, nh_afi, nh, &a) < 0) return -1;
    }
    return 0;
short_rec:
    problem(d, x, x->offset, "RIB record too short (%zu bytes)", len);
    return 0;
}

static int do_td2(Decoder *d, Ctx *x, const uint8_t *p, size_t len) {
    uint16_t st = x->subtype;
    if (st == 1) return do_peer_index(d, x, p, len);
    if ((st >= 2 && st <= 6) || (st >= 8 && st <= 12)) return do_rib(d, x, p, len);
    return 0;
}

/* ------------------------------------------------------------------ framing */

static int known_type(uint16_t t, uint16_t st) {
    switch (t) {
    case 5: return st <= 7;
    case 12: return st >= 1 && st <= 4;
    case 13: return st >= 1 && st <= 12;
    case 16: case 17: return st <= 11;
    default: return 0;
    }
}

/* Find the next plausible MRT header after a damaged one. */
static size_t resync(Decoder *d, const uint8_t *buf, size_t pos, size_t len) {
    for (size_t q = pos + 1; q + 12 <= len; q++) {
        const uint8_t *h = buf + q;
        uint32_t ts = be32(h), rl = be32(h + 8);
        uint16_t t = be16(h + 4), st = be16(h + 6);
        if (!known_type(t, st) || rl > RESYNC_MAX_LEN) continue;
        if (d->last_ts && ((int64_t)ts < d->last_ts - 86400 || (int64_t)ts > d->last_ts + 86400)) continue;
        return q;
    }
    return len > 11 ? len - 11 : pos + 1;
}

static int dispatch(Decoder *d, Ctx *x, const uint8_t *body, size_t blen) {
    switch (x->type) {
    case 16: case 17: return do_bgp4mp(d, x, body, blen);
    case 13: return do_td2(d, x, body, blen);
    case 12: return do_table_dump(d, x, body, blen);
    case 5: return do_bgp_legacy(d, x, body, blen);
    default: return 0;
    }
}

/* Walk records; returns bytes consumed. */
static size_t run(Decoder *d, const uint8_t *buf, size_t len, int final, size_t batch) {
    size_t pos = 0;
    d->buf_end = buf + len;
    while (len - pos >= 12 && d->cols.n < batch && !d->oom) {
        const uint8_t *h = buf + pos;
        Ctx x;
        uint32_t rlen = be32(h + 8);
        x.type = be16(h + 4);
        x.subtype = be16(h + 6);
        x.offset = d->offset + (int64_t)pos;
        x.record = d->record;
        x.ts = (int64_t)be32(h) * 1000000;
        x.peer_afi = 0;
        x.peer_asn = 0;
        memset(x.peer_ip, 0, 16);
        if (rlen > MAX_RECORD_LEN || (x.type == 17 && rlen < 4)) {
            size_t q = resync(d, buf, pos, len);
            if (q + 12 > len && !final) {
                if (pos == 0 && len >= 2 * RESYNC_MAX_LEN) { /* give up on this region */
                    problem(d, &x, x.offset, "record length %u is not plausible; skipped %zu bytes", rlen, q);
                    d->record++;
                    pos = q;
                }
                break;
            }
            problem(d, &x, x.offset, "record length %u is not plausible; skipped %zu bytes to the next "
                    "plausible record", rlen, q - pos);
            d->record++;
            pos = q;
            continue;
        }
        if (len - pos - 12 < rlen) {
            if (!final) break;
            problem(d, &x, x.offset, "truncated record: header says %u bytes, only %zu remain", rlen,
                    len - pos - 12);
            d->record++;
            pos = len;
            break;
        }
        const uint8_t *body = h + 12;
        size_t blen = rlen;
        if (x.type == 12 && known_type(12, x.subtype)) {
            size_t avail = len - pos - 12;
            if (!final && avail < (size_t)rlen + 16) break; /* need the next header to judge */
            size_t true_len = td1_body_len(body, avail, rlen, x.subtype);
            if (true_len != rlen) {
                if (!d->warned_td1_len)
                    problem(d, &x, x.offset, "TABLE_DUMP record length leaves out view and sequence "
                            "(early RIS dump); corrected here and in later records");
                d->warned_td1_len = 1;
                blen = true_len;
                rlen = (uint32_t)true_len;
            }
        }
        if (x.type == 17) {
            x.ts += be32(body);
            body += 4;
            blen -= 4;
        }
        if (known_type(x.type, x.subtype)) d->last_ts = be32(h);
        dispatch(d, &x, body, blen);
        d->record++;
        pos += 12 + (size_t)rlen;
    }
    if (final && !d->oom && d->cols.n < batch && len - pos > 0 && len - pos < 12) {
        Ctx x = {0};
        x.record = d->record;
        problem(d, &x, d->offset + (int64_t)pos, "truncated MRT header: %zu bytes at end of input", len - pos);
        x.record = -1;
        pos = len;
    }
    d->offset += (int64_t)pos;
    return pos;
}

/* ------------------------------------------------------------------ Arrow export */

/* The Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html). */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};
struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif

#define N_FIELDS 28 /* ELEMENT_SCHEMA, in order */
#define N_OWNED 48

/* Everything one exported batch holds: the child structs and the column blocks it owns.
 * Released as a whole by the top-level struct's release callback (Arrow keeps the whole
 * import alive while any of its buffers is in use). */
typedef struct {
    struct ArrowArray col[N_FIELDS], list_child[5], lcomm_values, dict[2];
    struct ArrowArray *col_ptr[N_FIELDS], *list_ptr[5], *lcomm_ptr[1];
    const void *bufs[N_FIELDS + 5 + 1 + 2][3];
    void *owned[N_OWNED];
    int nowned;
    int32_t collector_offsets[2];
} Export;

static const char KIND_DATA[] = "AWBS"; /* the kind dictionary: model.element.KINDS */
static const int32_t KIND_OFFSETS[5] = {0, 1, 2, 3, 4};

static void child_release(struct ArrowArray *a) { a->release = NULL; }

static void export_release(struct ArrowArray *a) {
    Export *e = a->private_data;
    if (e) {
        for (int i = 0; i < e->nowned; i++) block_put(e->owned[i]);
        free(e);
    }
    a->release = NULL;
}

static void capsule_free(PyObject *capsule) {
    struct ArrowArray *a = PyCapsule_GetPointer(capsule, "arrow_array");
    if (!a) { PyErr_Clear(); return; }
    if (a->release) a->release(a);
    free(a);
}

static void *own_block(Export *e, void *p) {
    e->owned[e->nowned++] = p;
    return p;
}

static struct ArrowArray *arr(Export *e, struct ArrowArray *a, int slot, int64_t len, int64_t nulls,
                              const void *validity, const void *b1, const void *b2, int nbuf) {
    const void **b = e->bufs[slot];
    b[0] = nulls ? validity : NULL;
    b[1] = b1;
    b[2] = b2;
    memset(a, 0, sizeof(*a));
    a->length = len;
    a->null_count = nulls;
    a->n_buffers = nbuf;
    a->buffers = b;
    a->release = child_release;
    return a;
}

static uint8_t POPCOUNT8[256]; /* set bits per byte (no popcnt instruction assumed) */

static void init_popcount(void) {
    for (int b = 0; b < 256; b++) POPCOUNT8[b] = (uint8_t)((b & 1) + POPCOUNT8[b >> 1]);
}

/* Transpose an 8 x 8 bit matrix: bit j of byte i (element i, flag j) moves to bit i of byte j
 * (flag j, element i). Hacker's Delight, 7-3. */
static inline uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x = x ^ t ^ (t << 28);
    return x;
}

enum { B_PATH_ID, B_ORIGIN_ASN, B_ORIGIN, B_MED, B_LOCAL_PREF, B_AGGREGATOR, B_STATE, B_ATOMIC };

/* Hand the columns over as one Arrow struct array (ELEMENT_SCHEMA's fields, zero-copy) in an
 * "arrow_array" capsule, and reset them. */
static PyObject *take_columns(Decoder *d) {
    Cols *c = &d->cols;
    const int64_t n = (int64_t)c->n;
    Export *e = calloc(1, sizeof(Export));
    struct ArrowArray *top = calloc(1, sizeof(struct ArrowArray));
    size_t nbytes = (size_t)(n + 7) / 8, clen = strlen(d->collector);
    uint8_t *bits = malloc(8 * (nbytes ? nbytes : 1));
    int32_t *zeros = block_get(4 * (size_t)(n ? n : 1));
    char *cname = malloc(clen + 1);
    if (!e || !top || !bits || !zeros || !cname) {
        free(e); free(top); free(bits); block_put(zeros); free(cname);
        return PyErr_NoMemory();
    }
    own_block(e, bits);
    own_block(e, memset(zeros, 0, 4 * (size_t)n));
    own_block(e, memcpy(cname, d->collector, clen + 1));
    /* validity bitmaps (Arrow: LSB first) of the nullable columns and the atomic_aggregate bits,
     * in one pass, eight elements at a time: each element's flags (presence bits 0-6, atomic
     * aggregate as bit 7) make one byte of a word, and a bit transpose turns that word into one
     * byte of each of the eight bitmaps. */
    int64_t set[8] = {0};
    for (size_t g = 0; g < nbytes; g++) {
        size_t k0 = 8 * g, lim = (size_t)n - k0 < 8 ? (size_t)n - k0 : 8;
        uint64_t w = 0;
        for (size_t j = 0; j < lim; j++)
            w |= (uint64_t)((uint8_t)(c->present[k0 + j] & 0x7f) | (c->atomic[k0 + j] ? 0x80u : 0u)) << (8 * j);
        w = transpose8(w);
        for (int i = 0; i < 8; i++) {
            uint8_t byte = (uint8_t)(w >> (8 * i));
            bits[i * nbytes + g] = byte;
            set[i] += POPCOUNT8[byte];
        }
    }
    const uint8_t *bm[8];
    int64_t nulls[8];
    for (int i = 0; i < 8; i++) {
        bm[i] = bits + i * nbytes;
        nulls[i] = n - set[i];
    }
    /* blocks handed over (present and atomic are folded into the bitmaps: recycled now) */
    void *cols_owned[] = {c->ts, c->kind, c->mtype, c->msub, c->peer_afi, c->peer_ip, c->peer_asn, c->afi,
                          c->prefix, c->plen, c->path_id, c->origin_asn, c->nh_afi, c->nh, c->origin, c->med,
                          c->lp, c->agg_asn, c->agg_ip, c->old_state, c->new_state, c->off_path, c->off_seg,
                          c->off_oasn, c->off_comm, c->off_lcomm, c->path.data, c->seg.data, c->oasn.data,
                          c->comm.data, c->lcomm.data};
    for (size_t i = 0; i < sizeof(cols_owned) / sizeof(cols_owned[0]); i++) own_block(e, cols_owned[i]);
    block_put(c->present);
    block_put(c->atomic);
    Buf *lb[5] = {&c->path, &c->seg, &c->oasn, &c->comm, &c->lcomm};
    const int width[5] = {4, 2, 4, 4, 12};
    for (int i = 0; i < 5; i++)
        if (n >= 1024) list_bpe[i] = (lb[i]->len + (size_t)n - 1) / (size_t)n;
    /* dictionaries: collector (one string) and kind */
    e->collector_offsets[0] = 0;
    e->collector_offsets[1] = (int32_t)clen;
    struct ArrowArray *dcoll = arr(e, &e->dict[0], N_FIELDS + 6, 1, 0, NULL, e->collector_offsets, cname, 3);
    struct ArrowArray *dkind = arr(e, &e->dict[1], N_FIELDS + 7, 4, 0, NULL, KIND_OFFSETS, KIND_DATA, 3);
    /* list children */
    for (int i = 0; i < 5; i++) {
        int64_t count = (int64_t)(lb[i]->len / (size_t)width[i]);
        if (i < 4) {
            e->list_ptr[i] = arr(e, &e->list_child[i], N_FIELDS + i, count, 0, NULL, lb[i]->data, NULL, 2);
        } else { /* fixed_size_list<uint32, 3>: no buffers but validity, one child of 3 x count */
            e->lcomm_ptr[0] = arr(e, &e->lcomm_values, N_FIELDS + 5, 3 * count, 0, NULL, lb[i]->data, NULL, 2);
            e->list_ptr[4] = arr(e, &e->list_child[4], N_FIELDS + 4, count, 0, NULL, NULL, NULL, 1);
            e->list_child[4].n_children = 1;
            e->list_child[4].children = e->lcomm_ptr;
        }
    }
    const void *offs[5] = {c->off_path, c->off_seg, c->off_oasn, c->off_comm, c->off_lcomm};
    /* the 28 columns */
    struct { const void *data; int bm; int list; } f[N_FIELDS] = {
        {c->ts, -1, -1}, {zeros, -1, -1}, {c->kind, -1, -1}, {c->mtype, -1, -1}, {c->msub, -1, -1},
        {c->peer_afi, -1, -1}, {c->peer_ip, -1, -1}, {c->peer_asn, -1, -1}, {c->afi, -1, -1},
        {c->prefix, -1, -1}, {c->plen, -1, -1}, {c->path_id, B_PATH_ID, -1}, {NULL, -1, 0}, {NULL, -1, 1},
        {NULL, -1, 2}, {c->origin_asn, B_ORIGIN_ASN, -1}, {c->nh_afi, -1, -1}, {c->nh, -1, -1},
        {c->origin, B_ORIGIN, -1}, {c->med, B_MED, -1}, {c->lp, B_LOCAL_PREF, -1}, {NULL, -1, 3},
        {NULL, -1, 4}, {bm[B_ATOMIC], -1, -1}, {c->agg_asn, B_AGGREGATOR, -1},
        {c->agg_ip, B_AGGREGATOR, -1}, {c->old_state, B_STATE, -1}, {c->new_state, B_STATE, -1},
    };
    for (int k = 0; k < N_FIELDS; k++) {
        struct ArrowArray *a;
        if (f[k].list >= 0) {
            a = arr(e, &e->col[k], k, n, 0, NULL, offs[f[k].list], NULL, 2);
            a->n_children = 1;
            a->children = &e->list_ptr[f[k].list];
        } else {
            int b = f[k].bm;
            a = arr(e, &e->col[k], k, n, b >= 0 ? nulls[b] : 0, b >= 0 ? bm[b] : NULL, f[k].data, NULL, 2);
        }
        e->col_ptr[k] = a;
    }
    e->col[1].dictionary = dcoll;
    e->col[2].dictionary = dkind;
    top->length = n; /* calloc'd: the rest is zero */
    top->n_buffers = 1;
    static const void *no_validity[1] = {NULL};
    top->buffers = no_validity;
    top->n_children = N_FIELDS;
    top->children = e->col_ptr;
    top->release = export_release;
    top->private_data = e;
    memset(c, 0, sizeof(*c)); /* every block is the batch's now */
    PyObject *capsule = PyCapsule_New(top, "arrow_array", capsule_free);
    if (!capsule) {
        export_release(top);
        free(top);
    }
    return capsule;
}

static PyObject *take_problems(Decoder *d) {
    PyObject *lst = PyList_New((Py_ssize_t)d->nprobs);
    if (!lst) return NULL;
    for (size_t i = 0; i < d->nprobs; i++) {
        Prob *p = &d->probs[i];
        PyObject *t = Py_BuildValue("(LLiis)", (long long)p->offset, (long long)p->record, (int)p->type,
                                    (int)p->subtype, p->cause);
        if (!t) { Py_DECREF(lst); return NULL; }
        PyList_SET_ITEM(lst, (Py_ssize_t)i, t);
    }
    d->nprobs = 0;
    return lst;
}

/* ------------------------------------------------------------------ Decoder type */

static PyObject *Decoder_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"collector", NULL};
    const char *collector = "";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|s", kwlist, &collector)) return NULL;
    Decoder *d = (Decoder *)type->tp_alloc(type, 0);
    if (!d) return NULL;
    d->collector = strdup(collector);
    if (!d->collector) {
        Py_DECREF(d);
        return PyErr_NoMemory();
    }
    /* one block for all scratch arrays (4-byte arrays first, then the 2-byte ones) */
    uint8_t *block = block_get(4 * MAXPATH + 4 * MAXCOMM + 12 * MAXLCOMM + 4 * MAXPATH + 2 * MAXPATH + 2 * MAXPATH);
    if (!block) {
        Py_DECREF(d);
        return PyErr_NoMemory();
    }
    d->path = (uint32_t *)block;
    d->comm = d->path + MAXPATH;
    d->lcomm = d->comm + MAXCOMM;
    d->tmp_path = d->lcomm + 3 * MAXLCOMM;
    d->seg = (uint16_t *)(d->tmp_path + MAXPATH);
    d->tmp_seg = d->seg + MAXPATH;
    return (PyObject *)d;
}

static void Decoder_dealloc(Decoder *d) {
    cols_free(&d->cols);
    block_put(d->path); /* the scratch block */
    free(d->collector);
    free(d->peers);
    free(d->probs);
    Py_TYPE(d)->tp_free((PyObject *)d);
}

PyDoc_STRVAR(decode_doc,
"decode(buf, final=False, batch_size=65536) -> (consumed, batch | None, problems)\n\n"
"Decode complete MRT records from the start of buf until about batch_size elements are\n"
"collected. consumed is the number of bytes used; the caller passes the rest again,\n"
"followed by more input. With final=True a trailing partial record is reported as a\n"
"problem and consumed. batch is an \"arrow_array\" capsule (Arrow C data interface) holding\n"
"a struct array with the fields of ELEMENT_SCHEMA, zero-copy over the decoder's columns.");

static PyObject *Decoder_decode(Decoder *d, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"buf", "final", "batch_size", NULL};
    Py_buffer view;
    int final = 0;
    Py_ssize_t batch = 65536;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|pn", kwlist, &view, &final, &batch)) return NULL;
    if (batch < 1) batch = 1;
    size_t consumed;
    /* columns for the batch, or for what the buffer can hold if that is less (an element takes
     * at least 16 bytes of a real MRT record, near enough: emit() grows them otherwise) */
    size_t rows = (size_t)batch + 64, fits = (size_t)view.len / 16 + 64;
    if (d->cols.cap == 0 && view.len >= 12 && cols_grow(&d->cols, rows < fits ? rows : fits) < 0) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    consumed = run(d, (const uint8_t *)view.buf, (size_t)view.len, final, (size_t)batch);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (d->oom) {
        d->oom = 0;
        return PyErr_NoMemory();
    }
    PyObject *cols;
    if (d->cols.n) {
        cols = take_columns(d);
        if (!cols) return NULL;
    } else {
        cols = Py_None;
        Py_INCREF(cols);
    }
    PyObject *probs = take_problems(d);
    if (!probs) { Py_DECREF(cols); return NULL; }
    return Py_BuildValue("(nNN)", (Py_ssize_t)consumed, cols, probs);
}

PyDoc_STRVAR(split_point_doc,
"split_point(buf, target) -> (offset, records, last_ts) | None\n\n"
"The first record boundary at or after target in buf, if every record before it is a\n"
"BGP4MP/BGP4MP_ET record with a plausible length that lies wholly in buf (so decoding\n"
"buf[:offset] changes no decoder state but offset, record index and last_ts: a second decoder\n"
"that adopt()s this one can decode buf[offset:] at the same time). None otherwise.");

static PyObject *Decoder_split_point(Decoder *d, PyObject *args) {
    Py_buffer view;
    Py_ssize_t target;
    if (!PyArg_ParseTuple(args, "y*n", &view, &target)) return NULL;
    const uint8_t *buf = (const uint8_t *)view.buf;
    size_t len = (size_t)view.len, pos = 0;
    int64_t records = 0, last_ts = d->last_ts;
    int ok = 0;
    Py_BEGIN_ALLOW_THREADS
    while (pos + 12 <= len) {
        if (records > 0 && pos >= (size_t)target) { ok = 1; break; }
        const uint8_t *h = buf + pos;
        uint16_t t = be16(h + 4), st = be16(h + 6);
        uint32_t rlen = be32(h + 8);
        if ((t != 16 && t != 17) || !known_type(t, st) || rlen > RESYNC_MAX_LEN || (t == 17 && rlen < 4) ||
            len - pos - 12 < rlen)
            break;
        last_ts = be32(h);
        records++;
        pos += 12 + (size_t)rlen;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (!ok || pos >= len) Py_RETURN_NONE;
    return Py_BuildValue("(nLL)", (Py_ssize_t)pos, (long long)records, (long long)last_ts);
}

PyDoc_STRVAR(adopt_doc,
"adopt(other, offset_delta=0, records_delta=0, last_ts=-1)\n\n"
"Take other's decoding state (offset, record index, last time, peer index table, notes given),\n"
"moved on by the deltas that split_point() reported (last_ts -1: other's).");

static PyObject *Decoder_adopt(Decoder *d, PyObject *args) {
    PyObject *o;
    long long doff = 0, drec = 0, last_ts = -1;
    if (!PyArg_ParseTuple(args, "O|LLL", &o, &doff, &drec, &last_ts)) return NULL;
    if (!PyObject_TypeCheck(o, Py_TYPE(d))) {
        PyErr_SetString(PyExc_TypeError, "adopt() needs another Decoder");
        return NULL;
    }
    Decoder *src = (Decoder *)o;
    if (src != d) {
        Peer *peers = NULL;
        if (src->npeers) {
            peers = malloc(src->npeers * sizeof(Peer));
            if (!peers) return PyErr_NoMemory();
            memcpy(peers, src->peers, src->npeers * sizeof(Peer));
        }
        free(d->peers);
        d->peers = peers;
        d->npeers = src->npeers;
        d->have_peer_table = src->have_peer_table;
        d->warned_td1_len = src->warned_td1_len;
        d->warned_addpath = src->warned_addpath;
    }
    d->offset = src->offset + doff;
    d->record = src->record + drec;
    d->last_ts = last_ts >= 0 ? last_ts : src->last_ts;
    Py_RETURN_NONE;
}

static PyObject *Decoder_get_warned_addpath(Decoder *d, void *c) { return PyBool_FromLong(d->warned_addpath); }

static PyObject *Decoder_get_offset(Decoder *d, void *c) { return PyLong_FromLongLong(d->offset); }
static PyObject *Decoder_get_record(Decoder *d, void *c) { return PyLong_FromLongLong(d->record); }
static PyObject *Decoder_get_npeers(Decoder *d, void *c) { return PyLong_FromUnsignedLong(d->npeers); }

static PyGetSetDef Decoder_getset[] = {
    {"offset", (getter)Decoder_get_offset, NULL, "absolute offset of the next unread byte", NULL},
    {"record_index", (getter)Decoder_get_record, NULL, "index of the next MRT record", NULL},
    {"peer_count", (getter)Decoder_get_npeers, NULL, "peers in the current PEER_INDEX_TABLE", NULL},
    {"warned_addpath", (getter)Decoder_get_warned_addpath, NULL, "the add-path note was given", NULL},
    {NULL}};

static PyMethodDef Decoder_methods[] = {
    {"decode", (PyCFunction)(void (*)(void))Decoder_decode, METH_VARARGS | METH_KEYWORDS, decode_doc},
    {"split_point", (PyCFunction)Decoder_split_point, METH_VARARGS, split_point_doc},
    {"adopt", (PyCFunction)Decoder_adopt, METH_VARARGS, adopt_doc},
    {NULL}};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "outagewatch.parse._mrtcore.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(collector='')\n\nStateful columnar MRT decoder (keeps the TABLE_DUMP_V2 peer index "
              "table); collector fills the collector column.",
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
    .tp_new = Decoder_new,
};

static struct PyModuleDef mrtcore_module = {PyModuleDef_HEAD_INIT, "_mrtcore",
                                            "Compiled columnar MRT decoder.", -1, NULL};

PyMODINIT_FUNC PyInit__mrtcore(void) {
    if (PyType_Ready(&DecoderType) < 0) return NULL;
    init_masks();
    init_popcount();
    PyObject *m = PyModule_Create(&mrtcore_module);
    if (!m) return NULL;
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) return NULL;
    PyModule_AddIntConstant(m, "P_PATH_ID", P_PATH_ID);
    PyModule_AddIntConstant(m, "P_ORIGIN_ASN", P_ORIGIN_ASN);
    PyModule_AddIntConstant(m, "P_ORIGIN", P_ORIGIN);
    PyModule_AddIntConstant(m, "P_MED", P_MED);
    PyModule_AddIntConstant(m, "P_LOCAL_PREF", P_LOCAL_PREF);
    PyModule_AddIntConstant(m, "P_AGGREGATOR", P_AGGREGATOR);
    PyModule_AddIntConstant(m, "P_STATE", P_STATE);
    PyModule_AddStringConstant(m, "ADDPATH_NOTE", ADDPATH_NOTE);
    return m;
}
