/*
 * _views.h: buffer views shared by the signal engine's compiled loops (_statecore.c,
 * _rollupcore.c). Every loop takes C-contiguous NumPy arrays; a Views set holds the buffers it
 * opened so that each error path releases them all.
 */
#ifndef OUTAGEWATCH_VIEWS_H
#define OUTAGEWATCH_VIEWS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef struct {
    Py_buffer b[12];
    int n;
} Views;

static void release(Views *vs) {
    for (int i = 0; i < vs->n; i++) PyBuffer_Release(&vs->b[i]);
    vs->n = 0;
}

/* a C-contiguous view of obj with items of `itemsize` bytes; returns its item count or -1 */
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

/* view() of a 2-d matrix: its shape goes to *rows and *cols; returns the buffer or NULL */
static Py_buffer *matrix(Views *vs, PyObject *obj, int writable, Py_ssize_t itemsize, const char *what,
                         Py_ssize_t *rows, Py_ssize_t *cols) {
    if (view(vs, obj, writable, itemsize, what) < 0) return NULL;
    Py_buffer *v = &vs->b[vs->n - 1];
    if (v->ndim != 2) {
        PyErr_Format(PyExc_ValueError, "%s must be a 2-d matrix", what);
        return NULL;
    }
    *rows = v->shape[0];
    *cols = v->shape[1];
    return v;
}

/* 0 when every id is in [0, limit), else -1 with an IndexError naming the first bad one */
static int ids_in_range(const int64_t *ids, Py_ssize_t n, Py_ssize_t limit, const char *what) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= limit) {
            PyErr_Format(PyExc_IndexError, "%s %zd: id %lld out of range", what, i, (long long)ids[i]);
            return -1;
        }
    return 0;
}

static PyObject *fail(Views *vs) {
    release(vs);
    return NULL;
}

static PyObject *short_out(Views *vs, const char *what) {
    PyErr_Format(PyExc_ValueError, "%s is too short", what);
    return fail(vs);
}

#endif
