/*
 * _rollupcore: the per-row loops of the per-bin roll-ups (outagewatch.signals.rollup).
 *
 * - level_sums: visible prefixes and visible /24- (or /48-) equivalents per entity at each
 *   nested threshold, from per-row level codes, in one pass (no bincount per level, no
 *   running sums over reversed views);
 * - matrix_rows: an entities x metrics value matrix to long rows (entity, metric, value),
 *   keeping every row of the entities a mask selects, or only the non-zero values;
 * - flag_counts: per-entity counts of per-row flags (the churn counts);
 * - prefix_counts: per prefix, the full-feed peers and peer ASNs with a route to it and the
 *   range of their routes' origins, reading the route matrix row by row;
 * - tally: routes per (entity, path class) over some rows and prefixes (upstream counts);
 * - row_sizes: routes per peer and family (table sizes).
 *
 * Callers pass C-contiguous NumPy arrays (item sizes checked) and allocate the outputs.
 */
#include "_views.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_COLS 18 /* 9 prefix counts (ff_any .. ff_100pct, asn_25pct .. asn_100pct), 9 weights */

static inline const uint32_t *routes_row(const Py_buffer *rb, int64_t r, Py_ssize_t stride) {
    return (const uint32_t *)rb->buf + r * stride;
}

PyDoc_STRVAR(level_sums_doc,
"level_sums(entity, level_ff, level_asn, weight, out, sign=1.0)\n\n"
"Add each row (int64 entity id, or None: all rows to entity 0; int8 level codes 0..5; float64\n"
"weight) to out (float64, entities x 18): columns 0-4 count rows with ff level >= 1..5,\n"
"columns 5-8 rows with asn level >= 2..5, columns 9-17 the same sums of weights. With\n"
"sign -1.0 the rows are taken away instead (moving sums on by changed rows).");

static PyObject *level_sums(PyObject *self, PyObject *args) {
    PyObject *eo, *fo, *ao, *wo, *oo;
    double sign = 1.0;
    if (!PyArg_ParseTuple(args, "OOOOO|d", &eo, &fo, &ao, &wo, &oo, &sign)) return NULL;
    if (sign != 1.0 && sign != -1.0) {
        PyErr_SetString(PyExc_ValueError, "sign must be 1.0 or -1.0");
        return NULL;
    }
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, fo, 0, 1, "level_ff");
    if (n < 0) return fail(&vs);
    const int8_t *lf = vs.b[0].buf;
    if (view(&vs, ao, 0, 1, "level_asn") != n || view(&vs, wo, 0, 8, "weight") != n) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "levels and weights must be equally long");
        return fail(&vs);
    }
    const int8_t *la = vs.b[1].buf;
    const double *w = vs.b[2].buf;
    Py_ssize_t n_out = view(&vs, oo, 1, 8, "out");
    if (n_out < 0) return fail(&vs);
    double *out = vs.b[3].buf;
    Py_ssize_t n_ent = n_out / N_COLS;
    const int64_t *ent = NULL;
    if (eo != Py_None) {
        if (view(&vs, eo, 0, 8, "entity") != n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "entity and levels must be equally long");
            return fail(&vs);
        }
        ent = vs.b[4].buf;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t e = ent ? ent[j] : 0;
        if (e < 0 || e >= n_ent || lf[j] < 0 || lf[j] > 5 || la[j] < 0 || la[j] > 5) {
            PyErr_Format(PyExc_IndexError, "row %zd: entity %lld or level %d/%d out of range", j, (long long)e,
                         lf[j], la[j]);
            return fail(&vs);
        }
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        double *row = out + (ent ? ent[j] : 0) * N_COLS, wj = sign * w[j];
        for (int l = 0; l < lf[j]; l++) {
            row[l] += sign;
            row[9 + l] += wj;
        }
        for (int l = 2; l <= la[j]; l++) {
            row[3 + l] += sign;
            row[12 + l] += wj;
        }
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(matrix_rows_doc,
"matrix_rows(values, entity_mask, nonzero, ent, met, val) -> count\n\n"
"Long rows of the float64 matrix values (entities x metrics): every metric of the entities\n"
"whose bool entity_mask is set (None: all), and of those only non-zero values when nonzero\n"
"is true. Entity and metric indices (int32) and values go to ent, met, val[:count].");

static PyObject *matrix_rows(PyObject *self, PyObject *args) {
    PyObject *vo, *mo, *eo, *to, *oo;
    int nonzero;
    if (!PyArg_ParseTuple(args, "OOpOOO", &vo, &mo, &nonzero, &eo, &to, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n_e, n_m;
    Py_buffer *vb = matrix(&vs, vo, 0, 8, "values", &n_e, &n_m);
    if (!vb) return fail(&vs);
    const double *values = vb->buf;
    const uint8_t *mask = NULL;
    if (mo != Py_None) {
        if (view(&vs, mo, 0, 1, "entity_mask") != n_e) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "entity_mask must hold one flag per entity");
            return fail(&vs);
        }
        mask = vs.b[vs.n - 1].buf;
    }
    Py_ssize_t c1 = view(&vs, eo, 1, 4, "ent"), c2 = view(&vs, to, 1, 4, "met"), c3 = view(&vs, oo, 1, 8, "val");
    if (c1 < 0 || c2 < 0 || c3 < 0) return fail(&vs);
    if (c1 < n_e * n_m || c2 < n_e * n_m || c3 < n_e * n_m) {
        PyErr_SetString(PyExc_ValueError, "ent, met and val must hold entities x metrics items");
        return fail(&vs);
    }
    int32_t *ent = vs.b[vs.n - 3].buf, *met = vs.b[vs.n - 2].buf;
    double *val = vs.b[vs.n - 1].buf;
    Py_ssize_t m = 0;
    for (Py_ssize_t e = 0; e < n_e; e++) {
        if (mask && !mask[e]) continue;
        const double *row = values + e * n_m;
        if (nonzero) { /* most AS rows of a family are all zero: skip them whole */
            uint64_t any = 0;
            for (Py_ssize_t k = 0; k < n_m; k++) {
                uint64_t bits;
                memcpy(&bits, row + k, sizeof bits);
                any |= bits << 1; /* the sign bit dropped: a row of -0.0 is skipped too */
            }
            if (!any) continue;
        }
        for (Py_ssize_t k = 0; k < n_m; k++) { /* branch-free: zeros are written, then overwritten */
            ent[m] = (int32_t)e;
            met[m] = (int32_t)k;
            val[m] = row[k];
            m += !nonzero || row[k] != 0.0;
        }
    }
    release(&vs);
    return PyLong_FromSsize_t(m);
}

PyDoc_STRVAR(flag_counts_doc,
"flag_counts(entity, flags, out, rows=None)\n\n"
"Count the set flags per entity: for each j, row rows[j] (int64; None: row j) of the\n"
"flags matrix (bool, any rows x k) counts for entity entity[j] (int64), added to out\n"
"(float64, entities x k).");

static PyObject *flag_counts(PyObject *self, PyObject *args) {
    PyObject *eo, *fo, *oo, *ro = Py_None;
    if (!PyArg_ParseTuple(args, "OOO|O", &eo, &fo, &oo, &ro)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, eo, 0, 8, "entity");
    if (n < 0) return fail(&vs);
    Py_ssize_t n_flag_rows, k, n_ent, n_out_cols;
    Py_buffer *fb = matrix(&vs, fo, 0, 1, "flags", &n_flag_rows, &k);
    Py_buffer *ob = fb ? matrix(&vs, oo, 1, 8, "out", &n_ent, &n_out_cols) : NULL;
    if (!ob) return fail(&vs);
    const int64_t *rows = NULL;
    if (ro != Py_None) {
        if (view(&vs, ro, 0, 8, "rows") != n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "rows and entity must be equally long");
            return fail(&vs);
        }
        rows = vs.b[vs.n - 1].buf;
        if (ids_in_range(rows, n, n_flag_rows, "flag row") < 0) return fail(&vs);
    }
    if ((!rows && n_flag_rows != n) || n_out_cols != k) {
        PyErr_SetString(PyExc_ValueError, "flags must be rows x k and out entities x k");
        return fail(&vs);
    }
    const int64_t *ent = vs.b[0].buf;
    const uint8_t *flags = fb->buf;
    double *out = ob->buf;
    for (Py_ssize_t j = 0; j < n; j++)
        if (ent[j] < 0 || ent[j] >= n_ent) {
            PyErr_Format(PyExc_IndexError, "row %zd: entity %lld out of range", j, (long long)ent[j]);
            return fail(&vs);
        }
    for (Py_ssize_t j = 0; j < n; j++) {
        double *row = out + ent[j] * k;
        const uint8_t *f = flags + (rows ? rows[j] : j) * k;
        for (Py_ssize_t c = 0; c < k; c++) row[c] += f[c] != 0;
    }
    release(&vs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(prefix_counts_doc,
"prefix_counts(routes, rows, group, n_groups, cols, path_origin, count, asn_count, omin, omax)\n\n"
"For each prefix id in cols (int64): how many of the route-matrix rows (int64 peer ids) have a\n"
"route to it (count), how many distinct row groups (int64 group id per row, n_groups of them:\n"
"peer ASNs) do (asn_count), and the smallest and largest origin ASN of those routes (uint32\n"
"path_origin per path id; omin/omax, 0 when no route). Reads the uint32 matrix routes row by\n"
"row; outputs are int64, int64, uint32, uint32 arrays as long as cols.");

static PyObject *prefix_counts(PyObject *self, PyObject *args) {
    PyObject *ro, *rwo, *go, *co, *po, *cto, *ao, *mno, *mxo;
    Py_ssize_t n_groups;
    if (!PyArg_ParseTuple(args, "OOOnOOOOOO", &ro, &rwo, &go, &n_groups, &co, &po, &cto, &ao, &mno, &mxo))
        return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n_rows, stride;
    Py_buffer *rb = matrix(&vs, ro, 0, 4, "routes", &n_rows, &stride);
    if (!rb) return fail(&vs);
    Py_ssize_t n_r = view(&vs, rwo, 0, 8, "rows");
    if (n_r < 0) return fail(&vs);
    if (view(&vs, go, 0, 8, "group") != n_r) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "rows and group must be equally long");
        return fail(&vs);
    }
    Py_ssize_t n = view(&vs, co, 0, 8, "cols");
    if (n < 0) return fail(&vs);
    Py_ssize_t n_paths = view(&vs, po, 0, 4, "path_origin");
    if (n_paths < 0) return fail(&vs);
    /* the outputs are opened apart from vs: a wrong one is a ValueError naming it */
    const int64_t *rows = vs.b[1].buf, *group = vs.b[2].buf, *cols = vs.b[3].buf;
    const uint32_t *origin = vs.b[4].buf;
    if (ids_in_range(rows, n_r, n_rows, "rows") < 0 || ids_in_range(group, n_r, n_groups, "group") < 0 ||
        ids_in_range(cols, n, stride, "cols") < 0)
        return fail(&vs);
    Py_buffer out[4];
    PyObject *outs[4] = {cto, ao, mno, mxo};
    const Py_ssize_t sizes[4] = {8, 8, 4, 4};
    const char *names[4] = {"count", "asn_count", "omin", "omax"};
    int got = 0;
    for (; got < 4; got++) {
        if (PyObject_GetBuffer(outs[got], &out[got], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) break;
        if (out[got].itemsize != sizes[got] || out[got].len / sizes[got] < n) {
            PyErr_Format(PyExc_ValueError, "%s must hold %zd-byte items, one per col", names[got], sizes[got]);
            got++;
            break;
        }
    }
    if (got < 4 || PyErr_Occurred()) {
        for (int k = 0; k < got; k++) PyBuffer_Release(&out[k]);
        return fail(&vs);
    }
    int64_t *count = out[0].buf, *asn_count = out[1].buf;
    uint32_t *omin = out[2].buf, *omax = out[3].buf;
    Py_ssize_t words = (n_groups + 63) / 64;
    uint64_t *seen = calloc((size_t)(n > 0 ? n : 1) * (size_t)(words > 0 ? words : 1), sizeof(uint64_t));
    int bad_path = 0;
    if (!seen) {
        PyErr_NoMemory();
    } else {
        for (Py_ssize_t j = 0; j < n; j++) {
            count[j] = 0;
            omin[j] = UINT32_MAX;
            omax[j] = 0;
        }
        for (Py_ssize_t i = 0; i < n_r && !bad_path; i++) {
            const uint32_t *row = routes_row(rb, rows[i], stride);
            int64_t g = group[i];
            uint64_t bit = 1ULL << (g & 63);
            Py_ssize_t w = g >> 6;
            for (Py_ssize_t j = 0; j < n; j++) {
                uint32_t pid = row[cols[j]];
                if (!pid) continue;
                if ((Py_ssize_t)pid >= n_paths) {
                    bad_path = 1;
                    break;
                }
                count[j]++;
                seen[j * words + w] |= bit;
                uint32_t o = origin[pid];
                if (o < omin[j]) omin[j] = o;
                if (o > omax[j]) omax[j] = o;
            }
        }
        for (Py_ssize_t j = 0; j < n; j++) {
            int64_t c = 0;
            for (Py_ssize_t w = 0; w < words; w++) c += __builtin_popcountll(seen[j * words + w]);
            asn_count[j] = c;
            if (!count[j]) omin[j] = 0;
        }
        free(seen);
        if (bad_path) PyErr_SetString(PyExc_IndexError, "a route holds a path id past path_origin");
    }
    for (int k = 0; k < 4; k++) PyBuffer_Release(&out[k]);
    release(&vs);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(tally_doc,
"tally(routes, rows, item_prefix, item_entity, path_class, acc)\n\n"
"For every route-matrix row in rows (int64 peer ids) and every item (int64 prefix id each,\n"
"int64 entity id each or None: entity 0), the route's path id p (0: no route, skipped) adds one\n"
"to acc[entity, k] (int64, entities x classes), where k = path_class[p] (int64; < 0 skips) or\n"
"k = p when path_class is None. Reads routes (uint32) row by row.");

static PyObject *tally(PyObject *self, PyObject *args) {
    PyObject *ro, *rwo, *ipo, *ieo, *pco, *aco;
    if (!PyArg_ParseTuple(args, "OOOOOO", &ro, &rwo, &ipo, &ieo, &pco, &aco)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n_rows, stride;
    Py_buffer *rb = matrix(&vs, ro, 0, 4, "routes", &n_rows, &stride);
    if (!rb) return fail(&vs);
    Py_ssize_t n_r = view(&vs, rwo, 0, 8, "rows");
    if (n_r < 0) return fail(&vs);
    const int64_t *rows = vs.b[1].buf;
    Py_ssize_t n = view(&vs, ipo, 0, 8, "item_prefix");
    if (n < 0) return fail(&vs);
    const int64_t *item = vs.b[2].buf, *ent = NULL, *cls = NULL;
    if (ieo != Py_None) {
        if (view(&vs, ieo, 0, 8, "item_entity") != n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "item_entity must hold one id per item");
            return fail(&vs);
        }
        ent = vs.b[vs.n - 1].buf;
    }
    Py_ssize_t n_cls_map = 0;
    if (pco != Py_None) {
        n_cls_map = view(&vs, pco, 0, 8, "path_class");
        if (n_cls_map < 0) return fail(&vs);
        cls = vs.b[vs.n - 1].buf;
    }
    Py_ssize_t n_ent, n_class;
    Py_buffer *ab = matrix(&vs, aco, 1, 8, "acc", &n_ent, &n_class);
    if (!ab || ids_in_range(rows, n_r, n_rows, "rows") < 0) return fail(&vs);
    int64_t *acc = ab->buf;
    for (Py_ssize_t j = 0; j < n; j++)
        if (item[j] < 0 || item[j] >= stride || (ent && (ent[j] < 0 || ent[j] >= n_ent)) || (!ent && n_ent < 1)) {
            PyErr_Format(PyExc_IndexError, "item %zd: prefix %lld or its entity out of range", j, (long long)item[j]);
            return fail(&vs);
        }
    int bad = 0;
    for (Py_ssize_t i = 0; i < n_r && !bad; i++) {
        const uint32_t *row = routes_row(rb, rows[i], stride);
        for (Py_ssize_t j = 0; j < n; j++) {
            uint32_t pid = row[item[j]];
            if (!pid) continue;
            int64_t k;
            if (cls) {
                if ((Py_ssize_t)pid >= n_cls_map) {
                    bad = 1;
                    break;
                }
                k = cls[pid];
                if (k < 0) continue;
            } else {
                k = pid;
            }
            if (k >= n_class) {
                bad = 1;
                break;
            }
            acc[(ent ? ent[j] : 0) * n_class + k] += 1;
        }
    }
    release(&vs);
    if (bad) {
        PyErr_SetString(PyExc_IndexError, "a route's path id or class is past path_class or acc");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(row_sizes_doc,
"row_sizes(routes, n_rows, prefix_afi, out)\n\n"
"Per route-matrix row < n_rows: its routes to IPv4 and to other prefixes (uint8 family per\n"
"prefix id; the prefixes are the first len(prefix_afi) columns) into out (int64, rows x 2).");

static PyObject *row_sizes(PyObject *self, PyObject *args) {
    PyObject *ro, *afo, *oo;
    Py_ssize_t n_rows;
    if (!PyArg_ParseTuple(args, "OnOO", &ro, &n_rows, &afo, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t max_rows, stride;
    Py_buffer *rb = matrix(&vs, ro, 0, 4, "routes", &max_rows, &stride);
    if (!rb) return fail(&vs);
    Py_ssize_t n_pfx = view(&vs, afo, 0, 1, "prefix_afi");
    if (n_pfx < 0) return fail(&vs);
    if (view(&vs, oo, 1, 8, "out") < 0) return fail(&vs);
    if (n_rows < 0 || n_rows > max_rows || n_pfx > stride || vs.b[2].len / 16 < n_rows) {
        PyErr_SetString(PyExc_ValueError, "rows, prefixes or out do not fit the matrix");
        return fail(&vs);
    }
    const uint8_t *afi = vs.b[1].buf;
    int64_t *out = vs.b[2].buf;
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        const uint32_t *row = routes_row(rb, r, stride);
        int64_t v4 = 0, other = 0;
        for (Py_ssize_t p = 0; p < n_pfx; p++) {
            int has = row[p] != 0;
            v4 += has & (afi[p] == 4);
            other += has & (afi[p] != 4);
        }
        out[2 * r] = v4;
        out[2 * r + 1] = other;
    }
    release(&vs);
    Py_RETURN_NONE;
}

static PyMethodDef rollupcore_methods[] = {
    {"tally", tally, METH_VARARGS, tally_doc},
    {"row_sizes", row_sizes, METH_VARARGS, row_sizes_doc},
    {"prefix_counts", prefix_counts, METH_VARARGS, prefix_counts_doc},
    {"flag_counts", flag_counts, METH_VARARGS, flag_counts_doc},
    {"level_sums", level_sums, METH_VARARGS, level_sums_doc},
    {"matrix_rows", matrix_rows, METH_VARARGS, matrix_rows_doc},
    {NULL}};

static struct PyModuleDef rollupcore_module = {PyModuleDef_HEAD_INIT, "_rollupcore",
                                               "Per-row loops of the per-bin roll-ups.", -1, rollupcore_methods};

PyMODINIT_FUNC PyInit__rollupcore(void) { return PyModule_Create(&rollupcore_module); }
