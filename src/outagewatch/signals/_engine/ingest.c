/*
 * ingest.c: element rows through the engine in one pass, as a three-stage software pipeline.
 *
 * The rows of a call are applied in time order (stable: arrival order breaks ties; they are
 * checked first and sorted only when some row is older than one before it). Every row goes
 * through three stages, each a few rows ahead of the next, so that the random reads of one
 * stage are already on their way when the next needs them:
 *
 *   keys  (row j + 2·AHEAD): kind, prefix key, AS path hash; their map slots are prefetched;
 *   ids   (row j + AHEAD):   peer, prefix and path ids, new ones made in row order; the route
 *                            cell, the prefix's and the path's records are prefetched;
 *   apply (row j):           the route change, its churn, what the bin close must look at.
 *
 * The stages only read what earlier rows' stages wrote (ids are made in row order; the apply
 * stage alone reads and writes routes), so the result is that of doing each row whole, in turn.
 */
#include "core.h"

#define AHEAD 8
#define RING 32 /* > 2 * AHEAD, a power of two */

typedef struct {
    int64_t ts, seq;
} Stamp;

static int by_time(const void *a, const void *b) {
    const Stamp *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* c->refs: every row of the parts, in application order */
static int order_rows(Core *c, const Part *parts, int n_parts, int64_t n, int mode) {
    if (ow_reserve((void **)&c->refs, &c->refs_cap, n + 1, sizeof(struct RowRef)) < 0)
        return core_error(c, 2, "out of memory");
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
    if (sorted || mode == MODE_RIB) return 0;
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
    return 0;
}

/* a part's AS path and segment list offsets ascend within the value buffers (as in any valid
 * Arrow array): checked once here, before anything is applied, so rows need not check them */
static int check_offsets(Core *c, const Part *pt, int64_t pos0) {
    const ElementCols *e = &pt->cols;
    int64_t lo = pt->lo, hi = pt->hi;
    if (hi <= lo) return 0;
    const int32_t *po = e->path_off, *so = e->seg_off;
    int bad = po[lo] < 0 || so[lo] < 0 || po[hi] > e->n_path_val || so[hi] > e->n_seg_val;
    for (int64_t i = lo; i < hi; i++) bad |= (po[i + 1] < po[i]) | (so[i + 1] < so[i]);
    if (!bad) return 0;
    for (int64_t i = lo; i < hi; i++)
        if (po[i] < 0 || po[i + 1] < po[i] || po[i + 1] > e->n_path_val || so[i] < 0 || so[i + 1] < so[i] ||
            so[i + 1] > e->n_seg_val)
            return core_error(c, 1, "element %lld: AS path offsets out of range", (long long)(pos0 + i - lo));
    return core_error(c, 1, "element %lld: AS path offsets out of range", (long long)pos0);
}

int ingest_parts(Core *c, const Part *parts, int n_parts, int mode, int count_churn) {
    int64_t n = 0;
    for (int k = 0; k < n_parts; k++) {
        if (check_offsets(c, &parts[k], n) < 0) return -1;
        n += parts[k].hi - parts[k].lo;
    }
    c->n_el = 0;
    c->n_new_peer = 0;
    c->stamp++;
    if (order_rows(c, parts, n_parts, n, mode) < 0) return -1;
    if (count_churn && churn_begin(c) < 0) return -1;
    if (n) c->version++;
    Row ring[RING];
    LastPath lp = {NULL, NULL, -1, -1};
    LastRow lr = {NULL, -1, NULL, 0, -1, 0};
    for (int64_t j = -2 * AHEAD; j < n; j++) {
        int64_t a = j + 2 * AHEAD, b = j + AHEAD;
        if (a < n) {
            Row *r = &ring[a & (RING - 1)];
            r->ref = c->refs[a];
            if (row_keys(c, r, mode, &lp) < 0) return -1;
            if (r->kind == K_ANNOUNCE || r->kind == K_WITHDRAW || r->kind == K_RIB) {
                prefixmap_prefetch(&c->pmap, r->key.hash);
                if (r->phash) u64map_prefetch(&c->paths, r->phash);
            }
        }
        if (b >= 0 && b < n) {
            if (row_ids(c, &ring[b & (RING - 1)], &lr) < 0) return -1;
            if (count_churn && c->n_peers > 64 * c->churn.words && churn_begin(c) < 0) return -1;
        }
        if (j >= 0 && apply_row(c, &ring[j & (RING - 1)], count_churn) < 0) return -1;
    }
    c->n_el = n;
    return 0;
}
