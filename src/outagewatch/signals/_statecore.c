/*
 * _statecore: the per-element kernels of the routing state (outagewatch.signals.state).
 *
 * - path_hashes / prefix_keys / peer_keys: the 64-bit keys of AS paths, prefixes and peers,
 *   bit for bit the NumPy definitions in outagewatch.signals.hashing (SplitMix64 finaliser,
 *   order-sensitive combine), without the temporary arrays;
 * - apply: one bin of updates and session downs applied to the route matrix in sequence order,
 *   writing each update's previous route (what classification needs) and keeping the per-peer
 *   table sizes and clear counts up to date.
 *
 * Callers pass C-contiguous NumPy arrays (item sizes checked) and allocate the outputs, so
 * there is no Python object per element. The loops keep the GIL: the state they write is
 * shared with Python code.
 */
#include "_views.h"
#include <stdint.h>
#include <string.h>

#define M1 0xBF58476D1CE4E5B9ULL
#define M2 0x94D049BB133111EBULL
#define GOLDEN 0x9E3779B97F4A7C15ULL

static inline uint64_t mix64(uint64_t x) {
    uint64_t z = x + GOLDEN;
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    return z ^ (z >> 31);
}

/* combine(): h = mix64(h ^ mix64(part_i + i + 1)) from h = 0 */
static inline uint64_t fold(uint64_t h, uint64_t part, uint64_t i) { return mix64(h ^ mix64(part + i + 1)); }

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

PyDoc_STRVAR(path_hashes_doc,
"path_hashes(path_offsets, path_values, seg_offsets, seg_values, out)\n\n"
"The hash of each element's AS path (int64 absolute offsets, uint32 ASNs) and segment list\n"
"(int64 offsets, uint16 codes) into the uint64 array out: combine(list_hash(path),\n"
"list_hash(segments)) of outagewatch.signals.hashing.");

static inline uint64_t list_hash(const int64_t *off, const void *vals, int wide, Py_ssize_t j) {
    int64_t s = off[j], e = off[j + 1];
    uint64_t sum = 0;
    for (int64_t k = s; k < e; k++) {
        uint64_t v = wide ? ((const uint32_t *)vals)[k] : ((const uint16_t *)vals)[k];
        sum += mix64(v * M1 + (uint64_t)(k - s) * M2 + 1);
    }
    return mix64(sum ^ mix64((uint64_t)(e - s)));
}

static int offsets_ok(const int64_t *off, Py_ssize_t n, Py_ssize_t n_values, const char *what) {
    for (Py_ssize_t j = 0; j < n; j++)
        if (off[j] < 0 || off[j + 1] < off[j] || off[j + 1] > n_values) {
            PyErr_Format(PyExc_ValueError, "%s are not ascending within the values at %zd", what, j);
            return 0;
        }
    return 1;
}

static PyObject *path_hashes(PyObject *self, PyObject *args) {
    PyObject *po, *pv, *so, *sv, *oo;
    if (!PyArg_ParseTuple(args, "OOOOO", &po, &pv, &so, &sv, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n_po = view(&vs, po, 0, 8, "path_offsets");
    if (n_po < 0) return fail(&vs);
    Py_ssize_t n_pv = view(&vs, pv, 0, 4, "path_values");
    if (n_pv < 0) return fail(&vs);
    Py_ssize_t n_so = view(&vs, so, 0, 8, "seg_offsets");
    if (n_so < 0) return fail(&vs);
    Py_ssize_t n_sv = view(&vs, sv, 0, 2, "seg_values");
    if (n_sv < 0) return fail(&vs);
    Py_ssize_t n_out = view(&vs, oo, 1, 8, "out");
    if (n_out < 0) return fail(&vs);
    Py_ssize_t n = n_po - 1;
    if (n < 0 || n_so != n_po) {
        PyErr_SetString(PyExc_ValueError, "path_offsets and seg_offsets must both hold n + 1 offsets");
        return fail(&vs);
    }
    if (n_out < n) return short_out(&vs, "out");
    const int64_t *p_off = vs.b[0].buf, *s_off = vs.b[2].buf;
    if (!offsets_ok(p_off, n, n_pv, "path_offsets") || !offsets_ok(s_off, n, n_sv, "seg_offsets"))
        return fail(&vs);
    uint64_t *out = vs.b[4].buf;
    for (Py_ssize_t j = 0; j < n; j++) {
        uint64_t h = fold(0, list_hash(p_off, vs.b[1].buf, 1, j), 0);
        out[j] = fold(h, list_hash(s_off, vs.b[3].buf, 0, j), 1);
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(prefix_keys_doc,
"prefix_keys(afi, plen, addr, out)\n\n"
"combine(afi, plen, high word, low word) of each prefix (uint8 afi and length, 16 address\n"
"bytes each, big-endian words) into the uint64 array out.");

static PyObject *prefix_keys(PyObject *self, PyObject *args) {
    PyObject *ao, *lo, *xo, *oo;
    if (!PyArg_ParseTuple(args, "OOOO", &ao, &lo, &xo, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, ao, 0, 1, "afi");
    if (n < 0) return fail(&vs);
    Py_ssize_t n_l = view(&vs, lo, 0, 1, "plen");
    if (n_l < 0) return fail(&vs);
    Py_ssize_t n_x = view(&vs, xo, 0, 1, "addr");
    if (n_x < 0) return fail(&vs);
    Py_ssize_t n_out = view(&vs, oo, 1, 8, "out");
    if (n_out < 0) return fail(&vs);
    if (n_l != n || n_x != 16 * n) {
        PyErr_SetString(PyExc_ValueError, "afi, plen and addr (16 bytes each) must be equally long");
        return fail(&vs);
    }
    if (n_out < n) return short_out(&vs, "out");
    const uint8_t *afi = vs.b[0].buf, *plen = vs.b[1].buf, *addr = vs.b[2].buf;
    uint64_t *out = vs.b[3].buf;
    for (Py_ssize_t j = 0; j < n; j++) {
        uint64_t h = fold(0, afi[j], 0);
        h = fold(h, plen[j], 1);
        h = fold(h, load_be64(addr + 16 * j), 2);
        out[j] = fold(h, load_be64(addr + 16 * j + 8), 3);
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(peer_keys_doc,
"peer_keys(collector_hash, ip, out)\n\n"
"combine(collector hash, high word, low word) of each peer (uint64 hashes, 16 address bytes\n"
"each) into the uint64 array out.");

static PyObject *peer_keys(PyObject *self, PyObject *args) {
    PyObject *co, *xo, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &co, &xo, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, co, 0, 8, "collector_hash");
    if (n < 0) return fail(&vs);
    Py_ssize_t n_x = view(&vs, xo, 0, 1, "ip");
    if (n_x < 0) return fail(&vs);
    Py_ssize_t n_out = view(&vs, oo, 1, 8, "out");
    if (n_out < 0) return fail(&vs);
    if (n_x != 16 * n) {
        PyErr_SetString(PyExc_ValueError, "collector_hash and ip (16 bytes each) must be equally long");
        return fail(&vs);
    }
    if (n_out < n) return short_out(&vs, "out");
    const uint64_t *coll = vs.b[0].buf;
    const uint8_t *ip = vs.b[1].buf;
    uint64_t *out = vs.b[2].buf;
    for (Py_ssize_t j = 0; j < n; j++) {
        /* runs of elements from one peer are the rule in MRT files: reuse the last key */
        if (j > 0 && coll[j] == coll[j - 1] && memcmp(ip + 16 * j, ip + 16 * (j - 1), 16) == 0) {
            out[j] = out[j - 1];
            continue;
        }
        uint64_t h = fold(0, coll[j], 0);
        h = fold(h, load_be64(ip + 16 * j), 1);
        out[j] = fold(h, load_be64(ip + 16 * j + 8), 2);
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(apply_doc,
"apply(routes, upd_pos, upd_peer, upd_prefix, upd_path, down_pos, down_peer, prefix_afi,\n"
"      sizes, clears, prev)\n\n"
"Apply updates (path id 0: withdrawal) and session downs to the uint32 route matrix\n"
"routes[peer, prefix] in sequence order: positions upd_pos and down_pos (int64, ascending)\n"
"interleave the two; at equal positions the update comes first. Each update writes the path\n"
"id its cell held before it into prev (uint32). A down clears its peer's row, zeroes its\n"
"table sizes and adds one to clears[peer]. sizes (int64 peers x 2: IPv4, IPv6 routes) is\n"
"kept up to date unless it is None. prefix_afi (uint8 per prefix id) picks the column.");

static PyObject *apply(PyObject *self, PyObject *args) {
    PyObject *ro, *upo, *upe, *upx, *upa, *dpo, *dpe, *afo, *szo, *clo, *pro;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO", &ro, &upo, &upe, &upx, &upa, &dpo, &dpe, &afo, &szo, &clo, &pro))
        return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n_rows, n_cols;
    Py_buffer *rb = matrix(&vs, ro, 1, 4, "routes", &n_rows, &n_cols);
    if (!rb) return fail(&vs);
    Py_ssize_t n = view(&vs, upo, 0, 8, "upd_pos");
    if (n < 0) return fail(&vs);
    if (view(&vs, upe, 0, 8, "upd_peer") != n || view(&vs, upx, 0, 8, "upd_prefix") != n ||
        view(&vs, upa, 0, 4, "upd_path") != n) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "the update arrays must be equally long");
        return fail(&vs);
    }
    Py_ssize_t n_down = view(&vs, dpo, 0, 8, "down_pos");
    if (n_down < 0) return fail(&vs);
    if (view(&vs, dpe, 0, 8, "down_peer") != n_down) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "down_pos and down_peer must be equally long");
        return fail(&vs);
    }
    Py_ssize_t n_afi = view(&vs, afo, 0, 1, "prefix_afi");
    if (n_afi < 0) return fail(&vs);
    int64_t *sizes = NULL;
    Py_ssize_t n_sizes = 0;
    if (szo != Py_None) {
        n_sizes = view(&vs, szo, 1, 8, "sizes");
        if (n_sizes < 0) return fail(&vs);
        n_sizes /= 2;
        sizes = vs.b[vs.n - 1].buf;
    }
    Py_ssize_t n_clears = view(&vs, clo, 1, 8, "clears");
    if (n_clears < 0) return fail(&vs);
    int64_t *clears = vs.b[vs.n - 1].buf;
    Py_ssize_t n_prev = view(&vs, pro, 1, 4, "prev");
    if (n_prev < 0) return fail(&vs);
    if (n_prev < n) return short_out(&vs, "prev");
    uint32_t *prev = vs.b[vs.n - 1].buf;
    uint32_t *routes = rb->buf;
    const int64_t *pos = vs.b[1].buf, *peer = vs.b[2].buf, *prefix = vs.b[3].buf;
    const uint32_t *path = vs.b[4].buf;
    const int64_t *dpos = vs.b[5].buf, *dpeer = vs.b[6].buf;
    const uint8_t *afi = vs.b[7].buf;
    /* check every index first: nothing is written unless all are in range */
    for (Py_ssize_t j = 0; j < n; j++)
        if (peer[j] < 0 || peer[j] >= n_rows || prefix[j] < 0 || prefix[j] >= n_cols || prefix[j] >= n_afi ||
            (sizes && peer[j] >= n_sizes)) {
            PyErr_Format(PyExc_IndexError, "update %zd: peer %lld or prefix %lld out of range", j,
                         (long long)peer[j], (long long)prefix[j]);
            return fail(&vs);
        }
    for (Py_ssize_t d = 0; d < n_down; d++)
        if (dpeer[d] < 0 || dpeer[d] >= n_rows || dpeer[d] >= n_clears || (sizes && dpeer[d] >= n_sizes)) {
            PyErr_Format(PyExc_IndexError, "down %zd: peer %lld out of range", d, (long long)dpeer[d]);
            return fail(&vs);
        }
    Py_ssize_t d = 0;
    for (Py_ssize_t j = 0; j <= n; j++) {
        /* the downs before this update (all remaining ones after the last) */
        while (d < n_down && (j == n || dpos[d] < pos[j])) {
            int64_t p = dpeer[d++];
            /* the live prefixes only: untouched pages of the capacity stay unallocated */
            memset(routes + p * n_cols, 0, (size_t)(n_afi < n_cols ? n_afi : n_cols) * sizeof(uint32_t));
            if (sizes) sizes[2 * p] = sizes[2 * p + 1] = 0;
            clears[p] += 1;
        }
        if (j == n) break;
        uint32_t *cell = routes + peer[j] * n_cols + prefix[j];
        uint32_t before = *cell, after = path[j];
        prev[j] = before;
        *cell = after;
        if (sizes) sizes[2 * peer[j] + (afi[prefix[j]] != 4)] += (int64_t)(after != 0) - (int64_t)(before != 0);
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(find_mismatch_doc,
"find_mismatch(ids, afi, plen, addr, table_afi, table_plen, table_addr) -> int\n\n"
"The first position whose prefix (uint8 afi and length, 16 address bytes) differs from the\n"
"table's prefix of its id (int64), or -1 when all match: a 64-bit key collision check.");

static PyObject *find_mismatch(PyObject *self, PyObject *args) {
    PyObject *o[7];
    if (!PyArg_ParseTuple(args, "OOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6])) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, o[0], 0, 8, "ids");
    if (n < 0) return fail(&vs);
    Py_ssize_t n_a = view(&vs, o[1], 0, 1, "afi"), n_l = view(&vs, o[2], 0, 1, "plen"),
               n_x = view(&vs, o[3], 0, 1, "addr");
    if (n_a < 0 || n_l < 0 || n_x < 0) return fail(&vs);
    Py_ssize_t t_a = view(&vs, o[4], 0, 1, "table_afi"), t_l = view(&vs, o[5], 0, 1, "table_plen"),
               t_x = view(&vs, o[6], 0, 1, "table_addr");
    if (t_a < 0 || t_l < 0 || t_x < 0) return fail(&vs);
    if (n_a != n || n_l != n || n_x != 16 * n || t_l != t_a || t_x != 16 * t_a) {
        PyErr_SetString(PyExc_ValueError, "afi, plen and addr (16 bytes each) must be equally long");
        return fail(&vs);
    }
    const int64_t *ids = vs.b[0].buf;
    const uint8_t *afi = vs.b[1].buf, *plen = vs.b[2].buf, *addr = vs.b[3].buf;
    const uint8_t *tafi = vs.b[4].buf, *tplen = vs.b[5].buf, *taddr = vs.b[6].buf;
    Py_ssize_t bad = -1;
    for (Py_ssize_t j = 0; j < n && bad < 0; j++) {
        int64_t i = ids[j];
        if (i < 0 || i >= t_a || tafi[i] != afi[j] || tplen[i] != plen[j] ||
            memcmp(taddr + 16 * i, addr + 16 * j, 16) != 0)
            bad = j;
    }
    release(&vs);
    return PyLong_FromSsize_t(bad);
}

static PyMethodDef statecore_methods[] = {
    {"find_mismatch", find_mismatch, METH_VARARGS, find_mismatch_doc},
    {"path_hashes", path_hashes, METH_VARARGS, path_hashes_doc},
    {"prefix_keys", prefix_keys, METH_VARARGS, prefix_keys_doc},
    {"peer_keys", peer_keys, METH_VARARGS, peer_keys_doc},
    {"apply", apply, METH_VARARGS, apply_doc},
    {NULL}};

static struct PyModuleDef statecore_module = {PyModuleDef_HEAD_INIT, "_statecore",
                                              "Per-element kernels of the routing state.", -1, statecore_methods};

PyMODINIT_FUNC PyInit__statecore(void) { return PyModule_Create(&statecore_module); }
