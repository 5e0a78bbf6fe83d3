/*
 * _hashcore: the compiled key → dense id map behind outagewatch.signals.hashing.HashIndex.
 *
 * An open-addressing hash table (linear probing) from uint64 keys to ids 0, 1, 2, ... in
 * insertion order, plus the keys in id order (for growth and pickling). Callers pass NumPy
 * arrays (any C-contiguous buffer of 8-byte items) and get the results written into output
 * arrays they allocated, so there is no Python object per key. The loops keep the GIL: an
 * index may be shared between threads, and an insert can move the table under a lookup.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    uint64_t *slot_key;
    int64_t *slot_id; /* -1: empty */
    size_t mask;      /* table size - 1 (a power of two), 0 before the first insert */
    uint64_t *by_id;  /* keys in id order */
    size_t size, by_cap;
} Index;

/* keys may be raw ASNs or well-mixed hashes: mix them (murmur3 finaliser) before masking */
static inline size_t slot_of(uint64_t k, size_t mask) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static inline int64_t find(const Index *x, uint64_t k) {
    if (!x->slot_id) return -1;
    size_t i = slot_of(k, x->mask);
    for (;;) {
        int64_t id = x->slot_id[i];
        if (id < 0) return -1;
        if (x->slot_key[i] == k) return id;
        i = (i + 1) & x->mask;
    }
}

static inline void place(Index *x, uint64_t k, int64_t id) {
    size_t i = slot_of(k, x->mask);
    while (x->slot_id[i] >= 0) i = (i + 1) & x->mask;
    x->slot_key[i] = k;
    x->slot_id[i] = id;
}

/* room for `need` keys: table at most half full, id list long enough */
static int reserve(Index *x, size_t need) {
    if (need > x->by_cap) {
        size_t cap = x->by_cap ? x->by_cap : 1024;
        while (cap < need) cap *= 2;
        uint64_t *b = realloc(x->by_id, cap * sizeof(uint64_t));
        if (!b) return -1;
        x->by_id = b;
        x->by_cap = cap;
    }
    size_t slots = x->slot_id ? x->mask + 1 : 0;
    if (2 * need <= slots) return 0;
    size_t cap = slots ? slots : 2048;
    while (cap < 2 * need) cap *= 2;
    uint64_t *keys = malloc(cap * sizeof(uint64_t));
    int64_t *ids = malloc(cap * sizeof(int64_t));
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return -1;
    }
    memset(ids, 0xff, cap * sizeof(int64_t));
    free(x->slot_key);
    free(x->slot_id);
    x->slot_key = keys;
    x->slot_id = ids;
    x->mask = cap - 1;
    for (size_t j = 0; j < x->size; j++) place(x, x->by_id[j], (int64_t)j);
    return 0;
}

static int get_view(PyObject *obj, Py_buffer *v, int writable, const char *what) {
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0) return -1;
    if (v->itemsize != 8 && !(v->itemsize == 1 && v->len % 8 == 0)) {
        PyErr_Format(PyExc_TypeError, "%s must hold 8-byte items", what);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

static void Index_dealloc(Index *x) {
    free(x->slot_key);
    free(x->slot_id);
    free(x->by_id);
    Py_TYPE(x)->tp_free((PyObject *)x);
}

PyDoc_STRVAR(lookup_doc, "lookup(keys, out)\n\nWrite the id of each uint64 key into the int64 array out (-1: unknown).");

static PyObject *Index_lookup(Index *x, PyObject *args) {
    PyObject *ko, *oo;
    if (!PyArg_ParseTuple(args, "OO", &ko, &oo)) return NULL;
    Py_buffer kv, ov;
    if (get_view(ko, &kv, 0, "keys") < 0) return NULL;
    if (get_view(oo, &ov, 1, "out") < 0) {
        PyBuffer_Release(&kv);
        return NULL;
    }
    size_t n = (size_t)kv.len / 8;
    if ((size_t)ov.len / 8 < n) {
        PyBuffer_Release(&kv);
        PyBuffer_Release(&ov);
        PyErr_SetString(PyExc_ValueError, "out is shorter than keys");
        return NULL;
    }
    const uint64_t *keys = kv.buf;
    int64_t *out = ov.buf;
    for (size_t j = 0; j < n; j++) out[j] = find(x, keys[j]);
    PyBuffer_Release(&kv);
    PyBuffer_Release(&ov);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_or_insert_doc,
"get_or_insert(keys, ids, new_positions) -> count\n\n"
"Write the id of each key into ids, giving unknown keys new ids in the order they first\n"
"occur; the positions of those first occurrences go to new_positions[:count].");

static PyObject *Index_get_or_insert(Index *x, PyObject *args) {
    PyObject *ko, *io, *no;
    if (!PyArg_ParseTuple(args, "OOO", &ko, &io, &no)) return NULL;
    Py_buffer kv, iv, nv;
    if (get_view(ko, &kv, 0, "keys") < 0) return NULL;
    if (get_view(io, &iv, 1, "ids") < 0) {
        PyBuffer_Release(&kv);
        return NULL;
    }
    if (get_view(no, &nv, 1, "new_positions") < 0) {
        PyBuffer_Release(&kv);
        PyBuffer_Release(&iv);
        return NULL;
    }
    size_t n = (size_t)kv.len / 8, added = 0;
    int failed = 0;
    if ((size_t)iv.len / 8 < n || (size_t)nv.len / 8 < n) {
        PyErr_SetString(PyExc_ValueError, "ids or new_positions is shorter than keys");
        failed = 1;
    } else if (reserve(x, x->size + 1) < 0) {
        PyErr_NoMemory();
        failed = 1;
    } else {
        /* the table grows as new keys come (doubling), not by the batch length up front: a
         * batch of many repeats of few keys keeps a small table */
        const uint64_t *keys = kv.buf;
        int64_t *ids = iv.buf, *newpos = nv.buf;
        for (size_t j = 0; j < n; j++) {
            uint64_t k = keys[j];
            int64_t id = find(x, k);
            if (id < 0) { /* new key */
                if ((2 * (x->size + 1) > x->mask + 1 || x->size + 1 > x->by_cap) && reserve(x, x->size + 1) < 0) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                id = (int64_t)x->size;
                place(x, k, id);
                x->by_id[x->size++] = k;
                newpos[added++] = (int64_t)j;
            }
            ids[j] = id;
        }
    }
    PyBuffer_Release(&kv);
    PyBuffer_Release(&iv);
    PyBuffer_Release(&nv);
    if (failed) return NULL;
    return PyLong_FromSize_t(added);
}

PyDoc_STRVAR(keys_doc, "keys() -> bytes\n\nThe keys in id order, as native uint64 bytes.");

static PyObject *Index_keys(Index *x, PyObject *unused) {
    return PyBytes_FromStringAndSize((const char *)x->by_id, (Py_ssize_t)(8 * x->size));
}

static PyObject *Index_get_size(Index *x, void *c) { return PyLong_FromSize_t(x->size); }

static PyObject *Index_get_nbytes(Index *x, void *c) {
    size_t slots = x->slot_id ? x->mask + 1 : 0;
    return PyLong_FromSize_t(16 * slots + 8 * x->by_cap);
}

static PyGetSetDef Index_getset[] = {
    {"size", (getter)Index_get_size, NULL, "number of keys", NULL},
    {"nbytes", (getter)Index_get_nbytes, NULL, "bytes held", NULL},
    {NULL}};

static PyMethodDef Index_methods[] = {
    {"lookup", (PyCFunction)Index_lookup, METH_VARARGS, lookup_doc},
    {"get_or_insert", (PyCFunction)Index_get_or_insert, METH_VARARGS, get_or_insert_doc},
    {"keys", (PyCFunction)Index_keys, METH_NOARGS, keys_doc},
    {NULL}};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "outagewatch.signals._hashcore.Index",
    .tp_basicsize = sizeof(Index),
    .tp_dealloc = (destructor)Index_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "uint64 key -> dense id (insertion order), open addressing.",
    .tp_methods = Index_methods,
    .tp_getset = Index_getset,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef hashcore_module = {PyModuleDef_HEAD_INIT, "_hashcore",
                                             "Compiled key -> id map for the signal engine.", -1, NULL};

PyMODINIT_FUNC PyInit__hashcore(void) {
    if (PyType_Ready(&IndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&hashcore_module);
    if (!m) return NULL;
    Py_INCREF(&IndexType);
    if (PyModule_AddObject(m, "Index", (PyObject *)&IndexType) < 0) return NULL;
    return m;
}
