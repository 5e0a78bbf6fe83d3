/*
 * _rollupcore: the per-row loops of the per-bin roll-ups (outagewatch.signals.rollup).
 *
 * - level_sums: visible prefixes and visible /24- (or /48-) equivalents per entity at each
 *   nested threshold, from per-row level codes, in one pass (no bincount per level, no
 *   running sums over reversed views);
 * - matrix_rows: an entities x metrics value matrix to long rows (entity, metric, value),
 *   keeping every row of the entities a mask selects, or only the non-zero values;
 * - flag_counts: per-entity counts of per-row flags (the churn counts).
 *
 * Callers pass C-contiguous NumPy arrays (item sizes checked) and allocate the outputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define N_COLS 18 /* 9 prefix counts (ff_any .. ff_100pct, asn_25pct .. asn_100pct), 9 weights */

typedef struct {
    Py_buffer b[8];
    int n;
} Views;

static void release(Views *vs) {
    for (int i = 0; i < vs->n; i++) PyBuffer_Release(&vs->b[i]);
    vs->n = 0;
}

static Py_ssize_t view(Views *vs, PyObject *obj, int writable, Py_ssize_t itemsize, const char *what) {
    Py_buffer *v = &vs->b[vs->n];
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    vs->n++;
    if (v->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s must hold %zd-byte items, not %zd-byte", what, itemsize, v->itemsize);
        return -1;
    }
    return v->len / itemsize;
}

static PyObject *fail(Views *vs) {
    release(vs);
    return NULL;
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
    if (view(&vs, vo, 0, 8, "values") < 0) return fail(&vs);
    Py_buffer *vb = &vs.b[0];
    if (vb->ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "values must be a 2-d matrix");
        return fail(&vs);
    }
    Py_ssize_t n_e = vb->shape[0], n_m = vb->shape[1];
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
"flag_counts(entity, flags, out)\n\n"
"Count the set flags per entity: rows (int64 entity ids) x k bool flags, added to out\n"
"(float64, entities x k).");

static PyObject *flag_counts(PyObject *self, PyObject *args) {
    PyObject *eo, *fo, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &eo, &fo, &oo)) return NULL;
    Views vs = {.n = 0};
    Py_ssize_t n = view(&vs, eo, 0, 8, "entity");
    if (n < 0) return fail(&vs);
    if (view(&vs, fo, 0, 1, "flags") < 0 || view(&vs, oo, 1, 8, "out") < 0) return fail(&vs);
    Py_buffer *fb = &vs.b[1], *ob = &vs.b[2];
    if (fb->ndim != 2 || fb->shape[0] != n || ob->ndim != 2 || ob->shape[1] != fb->shape[1]) {
        PyErr_SetString(PyExc_ValueError, "flags must be rows x k and out entities x k");
        return fail(&vs);
    }
    Py_ssize_t k = fb->shape[1], n_ent = ob->shape[0];
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
        const uint8_t *f = flags + j * k;
        for (Py_ssize_t c = 0; c < k; c++) row[c] += f[c] != 0;
    }
    release(&vs);
    Py_RETURN_NONE;
}

static PyMethodDef rollupcore_methods[] = {
    {"flag_counts", flag_counts, METH_VARARGS, flag_counts_doc},
    {"level_sums", level_sums, METH_VARARGS, level_sums_doc},
    {"matrix_rows", matrix_rows, METH_VARARGS, matrix_rows_doc},
    {NULL}};

static struct PyModuleDef rollupcore_module = {PyModuleDef_HEAD_INIT, "_rollupcore",
                                               "Per-row loops of the per-bin roll-ups.", -1, rollupcore_methods};

PyMODINIT_FUNC PyInit__rollupcore(void) { return PyModule_Create(&rollupcore_module); }
