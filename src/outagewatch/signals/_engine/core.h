/*
 * core.h: the compiled signal engine's state and the functions its parts share.
 *
 * One Core holds a whole routing state and everything the per-bin signals are kept from:
 *
 * - dictionaries: peers (64-bit peer key -> id), prefixes (exact prefix -> id), AS paths
 *   (64-bit path hash -> id >= 1, with origin, upstream, AS entity, upstream id and (origin,
 *   upstream) pair), origin ASes (-> AS entity id), upstream ASNs, pairs;
 * - the route matrix routes[prefix][peer] (uint32 path id, 0 = no route; a prefix's routes are
 *   contiguous, so its visibility is one short scan) and, per peer, a bitmap of the prefixes it
 *   has a route to (session downs and full-feed changes visit exactly those);
 * - per prefix: visibility counts, levels and its (prefix, origin) pairs as they were at the
 *   last bin close; per entity (country, AS, watched prefix, global): level sums (integers:
 *   addresses, exact in any order), upstream route counts, and the values last emitted;
 * - the bin being built: churn counts and reporting peers per entity, the prefixes whose
 *   visibility may have changed, the entities whose values may have changed.
 *
 * The parts: resolve.c (element batches -> ids), apply.c (route changes, churn, what they
 * touch), visibility.c (full-feed peers, counts, levels, level sums), upstream.c (route counts
 * per upstream), emit.c (rows out), module.c (the Python type). Everything here is plain C
 * without Python calls, except module.c and resolve.c's batch reading.
 */
#ifndef OW_CORE_H
#define OW_CORE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow.h"
#include "maps.h"

enum { ET_COUNTRY = 0, ET_AS = 1, ET_PREFIX = 2, ET_GLOBAL = 3, N_ET = 4, ET_ROUTE_PREFIX = 4 };
/* ET_ROUTE_PREFIX: churn slots of one prefix's updates, spread to its entities at the close */
/* K_SKIP: a row the mode does not apply (its peer is still seen: its ASN); K_OTHER: a row the
 * mode does not look at (the updates in a batch loaded as a RIB) */
enum { K_ANNOUNCE = 0, K_WITHDRAW = 1, K_RIB = 2, K_STATE = 3, K_DOWN = 4, K_SKIP = 5, K_OTHER = 6 };
enum { N_THRESH = 9, N_VIS = 18 };

/* metric ids: the fixed catalogue, then two per upstream id (routes, share) */
enum {
    M_VIS4 = 0,
    M_VIS6 = 18,
    M_FF4 = 36,
    M_FF6 = 37,
    M_CHURN = 38, /* announcements, withdrawals, duplicate_announcements, path_changes, updates */
    M_REPORTING = 43,
    M_UP_COUNT = 44,
    M_UP_BASE = 45 /* + 2 * upstream id (+ 1 for the share) */
};

#define STATE_ESTABLISHED 6

typedef unsigned __int128 u128;

/* 8 bytes read as a big-endian number (addresses: the first byte is the most significant) */
static inline uint64_t be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* an exact sum of weights in addresses: hi * 2^64 + lo (lo < 2^64) */
typedef struct {
    __int128 hi;
    uint64_t lo;
} Big;

typedef struct {
    int32_t c[N_THRESH];
    int64_t w[N_THRESH]; /* IPv4 addresses */
} Sum4;

typedef struct {
    int32_t c[N_THRESH];
    Big w[N_THRESH]; /* IPv6 addresses */
} Sum6;

/* flags per entity */
enum {
    F_PRESENT4 = 1, /* the dense form holds this entity's IPv4 visibility rows, zeros included */
    F_PRESENT6 = 2,
    F_SEEN4 = 4, /* its IPv4 visibility rows were emitted at least once */
    F_SEEN6 = 8,
    F_DIRTY4 = 16, /* its IPv4 sums may have changed this bin (queued in dirty) */
    F_DIRTY6 = 32,
    F_UPDIRTY = 64 /* its upstream counts may have changed this bin (queued in up_dirty) */
};

/* one entity type's entities */
typedef struct {
    int32_t n, cap;
    int keeps_zero; /* country, prefix, global: visibility rows of present entities include zeros */
    uint8_t *flags;
    int32_t *name; /* index into the engine's entity name list */
    Sum4 *s4;
    double *em4;     /* [cap][18] last emitted IPv4 values */
    int32_t *s6_idx; /* IPv6 sums are made on first use: index into s6/em6, or -1 */
    Sum6 *s6;
    double *em6;
    int32_t n6;
    int64_t cap6;
    int32_t *dirty, n_dirty, dirty_cap;
    int32_t *up_dirty, n_up_dirty, up_dirty_cap;
    int32_t *churn_slot; /* slot in the bin's churn pool, or -1 */
    int32_t *up_head;    /* first upstream cell, -1 */
    int64_t *up_em_n;    /* upstream count last emitted */
} EntTab;

/* (entity, upstream id) cells of one entity type: full-feed routes through each upstream */
typedef struct {
    U64Map map; /* entity << 32 | upstream id -> cell */
    int32_t n, cap;
    int32_t *ent, *up, *next;
    int64_t *cnt, *em_routes;
    double *em_share;
} UpCells;

/* one (prefix, origin) pair of a prefix with full-feed routes */
typedef struct {
    uint32_t origin;
    int32_t as_id; /* -1: the origin is no AS entity (unknown origin) */
    uint16_t n, na; /* full-feed peers and peer ASNs with a route with this origin */
    uint8_t lf, la; /* its levels */
} Pair;

/* what the engine keeps per prefix (one cache line or less) */
typedef struct {
    uint8_t afi, plen, fam, dirty; /* fam: 0 IPv4, 1 IPv6; dirty: queued for the close */
    int32_t watch;                 /* watched prefix entity id, or -1 */
    int32_t churn;                 /* the bin's churn slot of its updates, or -1 */
    uint16_t cnt_ff, cnt_asn;      /* full-feed peers / peer ASNs with a route (last close) */
    uint8_t lvl_ff, lvl_asn;       /* their level codes */
    uint16_t pp_n, pp_cap;         /* its pairs in the pool */
    int32_t pp_start;
    int32_t crow_start, crow_n;    /* its country rows */
    uint8_t addr[16];
} PrefixInfo;

/* what the engine keeps per AS path */
typedef struct {
    uint64_t hash;
    uint32_t origin, upasn;
    int32_t as;   /* AS entity of the origin, or -1 (origin unknown) */
    int32_t pair; /* (origin, upstream) pair, or -1 (no upstream) */
} PathInfo;

/* a prefix's address words and map slot hash, computed ahead of its lookup */
typedef struct {
    uint64_t hi, lo, hash;
} PrefixKey;

/* a row of a part, in application order */
struct RowRef {
    const void *part;
    int64_t row, pos;
};

/* a row on its way through the ingest pipeline (ingest.c): keys, then ids, then applied */
typedef struct {
    struct RowRef ref;
    uint8_t kind; /* K_* (K_SKIP: a row the mode does not take) */
    PrefixKey key;
    uint64_t phash; /* path hash; 0: the previous announcement's path again */
    int32_t peer, pfx;
    uint32_t path;
} Row;

/* a growing list of strings (names of entities, of metrics): offsets and bytes */
typedef struct {
    int32_t *off; /* n + 1 offsets */
    char *data;
    int32_t n, cap;
    int64_t bytes_cap;
} StrList;

/* the bin's churn: counts and reporting peers per touched entity */
typedef struct {
    int32_t n, words;
    int64_t cap;
    int32_t *etype, *ent;
    int32_t *cnt;    /* [cap][4]: announcements, withdrawals, duplicates, path changes (16-byte rows) */
    uint64_t *mask;  /* [cap][words] */
} Churn;

/* output rows of one close */
typedef struct {
    int64_t n, cap;
    int32_t *et, *ent, *met;
    double *val;
} Rows;

typedef struct {
    int64_t n, cap;
    int32_t *et, *ent;
    uint32_t *up;
    double *routes;
} UpRows;

typedef struct {
    int64_t n, cap;
    int32_t *et, *ent, *peer;
} RepRows;

/* a run of rows of one element batch, as handed to resolve_parts */
typedef struct {
    ElementCols cols;
    int64_t lo, hi;
    const uint64_t *coll_hash; /* per collector dictionary entry: its 64-bit hash */
    int64_t n_coll;
    int8_t kind_map[16]; /* per kind dictionary entry: K_ANNOUNCE .. K_STATE, or -1 */
} Part;

enum { MODE_BIN = 0, MODE_RIB = 1 };

typedef struct Core {
    /* an error raised by a part that runs without the GIL: its Python type (0 none, 1
     * ValueError, 2 MemoryError, 3 IndexError) and message */
    int err_kind;
    char err[240];

    /* settings */
    double ff_share;

    /* peers */
    U64Map peers;
    int32_t n_peers, peer_cap; /* the matrix stride is peer_cap */
    uint32_t *peer_asn;
    int64_t *peer_size; /* [peer_cap][2]: routes to IPv4, IPv6 prefixes */
    int64_t *peer_clears;
    uint32_t *peer_stamp; /* resolve call that last set the peer's ASN */
    uint32_t stamp;
    uint64_t *peer_bits; /* [peer_cap][bit_words] */
    size_t bit_words;
    uint8_t *ff[2];      /* per peer: full feed for IPv4 / IPv6 as of the last close */
    int32_t *ff_list[2]; /* those peers */
    int32_t n_ff[2];
    int32_t *group[2]; /* per full-feed peer (by peer id): its ASN group (distinct ASNs) */
    int32_t n_groups[2];
    uint32_t *ff_asn; /* per peer: its ASN when its full-feed status was last computed */

    /* prefixes */
    PrefixMap pmap;
    int32_t n_pfx, pfx_cap;
    PrefixInfo *pfx;
    int32_t *dirty, n_dirty, dirty_cap;
    Pair *pool;
    int64_t pool_n, pool_cap, pool_waste;
    int32_t max_pp; /* most pairs a prefix ever had */
    /* countries: rows per prefix (CSR, prefixes mapped in id order: PrefixInfo.crow_*) */
    int32_t n_mapped;
    int32_t *crow_country;
    u128 *crow_w;
    int32_t n_crows;
    int64_t crow_cap;

    /* route matrix */
    uint32_t *routes; /* [pfx_cap][peer_cap] */
    size_t routes_bytes, bits_bytes; /* the allocated sizes of routes and peer_bits */

    /* paths: id 0 is "no route" */
    U64Map paths; /* hash -> id - 1 */
    int32_t n_paths, path_cap;
    PathInfo *path;

    /* AS entities, upstreams, pairs */
    U64Map as_map; /* origin ASN -> AS entity id */
    uint8_t *as_fam; /* per AS entity: bit 0 announced for IPv4, bit 1 for IPv6 */
    int32_t as_fam_cap;
    uint8_t origin0_fam;
    U64Map up_map; /* upstream ASN -> upstream id */
    U64Map pair_map; /* origin << 32 | upstream -> pair id */
    int32_t *pair_as, *pair_up, *pair_cell;
    int64_t pair_cap;

    /* entities */
    EntTab ent[N_ET];
    UpCells cells[3]; /* country, as, prefix */
    int32_t n_watch;
    int32_t *watch_pfx;
    uint8_t *holder; /* per country: bit 0 IPv4, bit 1 IPv6 */
    int32_t holder_cap;
    StrList ent_names; /* every entity's name, in the order entities were made */
    StrList met_names; /* the fixed metric catalogue, then two names per upstream id */
    double em_ff[2];
    int ff_seen;

    /* the bin */
    Churn churn;
    int need_full;  /* cells were set directly: recount everything at the next close */
    int lost_marks; /* an entity could not be queued for the close (out of memory) */
    int first_done; /* a close happened */
    int64_t version;
    int32_t sessions_down;

    /* the rows of the current ingest call, in application order */
    int64_t n_el, refs_cap;
    struct RowRef *refs;
    int64_t *new_peer_pos; /* positions (in the concatenated parts) of elements that made a peer */
    int64_t n_new_peer, new_peer_cap;

    /* scratch of a recount: per distinct origin of a prefix's routes, its ASN group mask */
    uint64_t *scr_mask;
    int64_t scr_mask_cap;
    Pair *scr_pairs; /* the pairs before, then the pairs after */
    int64_t scr_pairs_cap;

    /* output */
    Rows rows;
    UpRows up_rows;
    RepRows rep_rows;
} Core;

/* allocation helpers: grow *p (items of `size` bytes) to hold at least `need` items, doubling;
 * _cols: k parallel arrays (items of sizes[j] bytes) together, from `first` items */
int ow_reserve_cols(int64_t *cap, int64_t need, int64_t first, int k, void **const arrays[], const size_t sizes[]);
int ow_reserve(void **p, int64_t *cap, int64_t need, size_t size);
int ow_reserve32(void **p, int32_t *cap, int32_t need, size_t size);

/* core.c */
int core_init(Core *c, double ff_share, int32_t peer_cap, int32_t pfx_cap);
void core_free(Core *c);
int core_add_peer(Core *c, uint64_t key, uint32_t asn, int32_t *id, int *added);
int core_add_prefix(Core *c, uint8_t afi, const uint8_t *addr, uint8_t plen, int32_t *id, int *added);
void prefix_key(const uint8_t *addr, uint8_t plen, uint8_t afi, PrefixKey *k);
int core_add_prefix_k(Core *c, uint8_t afi, const uint8_t *addr, uint8_t plen, const PrefixKey *k, int32_t *id,
                      int *added);
int core_path(Core *c, uint64_t hash, uint32_t origin, uint32_t upstream, uint32_t *id);
int core_as(Core *c, uint32_t asn, int32_t *id);
int core_entity(Core *c, int et, const char *name, size_t len, int32_t *id);
int strlist_add(StrList *s, const char *text, size_t len);
int core_add_country(Core *c, const char *code, size_t len, int32_t *id);
int core_add_country_rows(Core *c, int32_t n_prefixes, const int32_t *pfx, const int32_t *country,
                          const u128 *w, int64_t n_rows);
int core_add_watch(Core *c, int32_t prefix, const char *text, size_t len);
int up_cell(Core *c, int et, int32_t ent, int32_t up, int32_t *out);

/* resolve.c: keys and ids of rows */
uint64_t path_hash_of(const uint32_t *asns, int64_t n_asns, const uint16_t *segs, int64_t n_segs);
void origin_upstream(const uint32_t *asns, int64_t n_asns, const uint16_t *segs, int64_t n_segs,
                     uint32_t *origin, uint32_t *upstream);
uint64_t peer_key(uint64_t collector_hash, const uint8_t *ip, uint8_t afi);
int core_error(Core *c, int kind, const char *fmt, ...);
typedef struct {
    const uint32_t *asns;
    const uint16_t *segs;
    int64_t na, ns;
} LastPath;
typedef struct {
    const Part *pt;
    int64_t coll;
    const uint8_t *ip;
    uint8_t afi;
    int32_t peer;
    uint32_t path;
} LastRow;
int row_keys(Core *c, Row *r, int mode, LastPath *lp);
int row_ids(Core *c, Row *r, LastRow *lr);

/* apply.c: route changes */
int apply_row(Core *c, const Row *r, int count_churn);
void clear_peer(Core *c, int32_t peer);
int set_cell(Core *c, int32_t prefix, int32_t peer, uint32_t path);
int churn_spread(Core *c); /* the prefixes' churn slots to their countries, watched prefix, global */

/* ingest.c */
int ingest_parts(Core *c, const Part *parts, int n_parts, int mode, int count_churn);

/* visibility.c */
int close_visibility(Core *c);
void mark_dirty(Core *c, int32_t prefix);
void ent_mark(Core *c, int et, int32_t id, int fam);
int entity_present(const Core *c, int et, int32_t id, int fam);
void vis_values(const Core *c, int et, int32_t id, int fam, double out[N_VIS]);
double big_double(Big s, int shift); /* s / 2^shift, correctly rounded */

/* upstream.c */
int up_move(Core *c, int32_t prefix, uint32_t path, int sign);
int up_recount(Core *c);
int up_join(Core *c, int32_t peer, int fam, int sign);
int up_add_countries(Core *c, int32_t prefix); /* a prefix just mapped: its routes' country counts */

/* emit.c */
int emit_bin(Core *c, int keyframe, int dense);
int32_t churn_slot_new(Core *c, int et, int32_t id); /* a slot (or -1, out of memory) */
int churn_begin(Core *c);
int rows_push(Rows *r, int32_t et, int32_t ent, int32_t met, double val);

static inline uint32_t *core_cell(const Core *c, int32_t prefix, int32_t peer) {
    return c->routes + (size_t)prefix * (size_t)c->peer_cap + (size_t)peer;
}

/* a whole prefix's weight in addresses (IPv6 ::/0: 2^128 - 1, as good as 2^128 once in /48s) */
static inline u128 prefix_weight(const Core *c, int32_t p) {
    int plen = c->pfx[p].plen;
    if (c->pfx[p].fam == 0) return (u128)1 << (plen <= 32 ? 32 - plen : 0);
    if (plen == 0) return ~(u128)0;
    return (u128)1 << (plen <= 128 ? 128 - plen : 0);
}

#endif
