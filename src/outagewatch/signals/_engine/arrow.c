/* arrow.c: ElementCols from the capsules of an ELEMENT_SCHEMA record batch (see arrow.h). */
#include "arrow.h"

#include <string.h>

typedef struct {
    const struct ArrowSchema *schema;
    const struct ArrowArray *array;
    int64_t base; /* first row of the batch within the child's buffers */
} Child;

static int find_child(const struct ArrowSchema *s, const struct ArrowArray *a, const char *name,
                      const char *format, Child *out) {
    for (int64_t k = 0; k < s->n_children; k++) {
        const struct ArrowSchema *cs = s->children[k];
        if (!cs->name || strcmp(cs->name, name) != 0) continue;
        size_t n = strlen(format);
        int prefix = n > 0 && format[n - 1] == '*'; /* "tsu:*": any time zone */
        if (prefix ? strncmp(cs->format, format, n - 1) != 0 : strcmp(cs->format, format) != 0) {
            PyErr_Format(PyExc_TypeError, "element batch column %s: Arrow format %s, expected %s", name,
                         cs->format, format);
            return -1;
        }
        out->schema = cs;
        out->array = a->children[k];
        out->base = a->offset + a->children[k]->offset;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "element batch has no column %s", name);
    return -1;
}

static const void *buffer(const Child *c, int i, const char *name) {
    if (c->array->n_buffers <= i || (!c->array->buffers[i] && c->array->length > 0)) {
        PyErr_Format(PyExc_ValueError, "element batch column %s: buffer %d missing", name, i);
        return NULL;
    }
    return c->array->buffers[i];
}

static int no_nulls(const Child *c, const char *name) {
    if (c->array->null_count > 0) {
        PyErr_Format(PyExc_ValueError, "element batch column %s holds nulls", name);
        return -1;
    }
    return 0;
}

static int dict_col(const struct ArrowSchema *s, const struct ArrowArray *a, const char *name, DictCol *d) {
    Child c;
    int64_t k;
    for (k = 0; k < s->n_children; k++)
        if (s->children[k]->name && strcmp(s->children[k]->name, name) == 0) break;
    if (k == s->n_children) {
        PyErr_Format(PyExc_TypeError, "element batch has no column %s", name);
        return -1;
    }
    const struct ArrowSchema *cs = s->children[k];
    const char *f = cs->format;
    if (!cs->dictionary || strcmp(cs->dictionary->format, "u") != 0 || (strcmp(f, "c") != 0 && strcmp(f, "i") != 0)) {
        PyErr_Format(PyExc_TypeError, "element batch column %s: a dictionary<int8|int32, string> is expected", name);
        return -1;
    }
    c.schema = cs;
    c.array = a->children[k];
    c.base = a->offset + c.array->offset;
    if (no_nulls(&c, name) < 0) return -1;
    const struct ArrowArray *dict = c.array->dictionary;
    if (!dict || dict->n_buffers < 3 || dict->null_count != 0) {
        PyErr_Format(PyExc_ValueError, "element batch column %s: bad dictionary", name);
        return -1;
    }
    d->idx_width = f[0] == 'c' ? 1 : 4;
    const char *idx = buffer(&c, 1, name);
    if (!idx && c.array->length > 0) return -1;
    d->idx = idx ? idx + (size_t)c.base * (size_t)d->idx_width : NULL;
    d->dict_len = dict->length;
    d->dict_off = dict->buffers[1] ? (const int32_t *)dict->buffers[1] + dict->offset : NULL;
    d->dict_data = dict->buffers[2];
    if (d->dict_len > 0 && (!d->dict_off || (!d->dict_data && d->dict_off[d->dict_len] > d->dict_off[0]))) {
        PyErr_Format(PyExc_ValueError, "element batch column %s: bad dictionary", name);
        return -1;
    }
    return 0;
}

static int list_col(const struct ArrowSchema *s, const struct ArrowArray *a, const char *name,
                    const char *value_format, const int32_t **off, const void **values, int itemsize,
                    int64_t *n_values) {
    Child c;
    if (find_child(s, a, name, "+l", &c) < 0 || no_nulls(&c, name) < 0) return -1;
    if (c.schema->n_children != 1 || strcmp(c.schema->children[0]->format, value_format) != 0) {
        PyErr_Format(PyExc_TypeError, "element batch column %s: list of format %s expected", name, value_format);
        return -1;
    }
    const int32_t *o = buffer(&c, 1, name);
    if (!o) {
        if (PyErr_Occurred()) return -1;
        static const int32_t zero = 0;
        o = &zero;
        c.base = 0;
    }
    *off = o + c.base;
    const struct ArrowArray *child = c.array->children[0];
    const char *v = child->n_buffers > 1 ? child->buffers[1] : NULL;
    *values = v ? v + (size_t)child->offset * (size_t)itemsize : NULL;
    *n_values = v ? child->length : 0;
    return 0;
}

#define FIXED(field, name, fmt, type, width)                                  \
    do {                                                                      \
        Child c;                                                              \
        if (find_child(s, a, name, fmt, &c) < 0 || no_nulls(&c, name) < 0) return -1; \
        const char *b = buffer(&c, 1, name);                                  \
        if (!b && PyErr_Occurred()) return -1;                                \
        cols->field = b ? (const type *)(b + (size_t)c.base * (width)) : NULL; \
    } while (0)

int element_cols(PyObject *schema_capsule, PyObject *array_capsule, ElementCols *cols) {
    const struct ArrowSchema *s = PyCapsule_GetPointer(schema_capsule, "arrow_schema");
    if (!s) return -1;
    const struct ArrowArray *a = PyCapsule_GetPointer(array_capsule, "arrow_array");
    if (!a) return -1;
    if (strcmp(s->format, "+s") != 0 || s->n_children != a->n_children) {
        PyErr_SetString(PyExc_TypeError, "an element batch (a struct of ELEMENT_SCHEMA columns) is expected");
        return -1;
    }
    memset(cols, 0, sizeof *cols);
    cols->n = a->length;
    FIXED(ts, "timestamp", "tsu:*", int64_t, 8);
    FIXED(peer_ip, "peer_ip", "w:16", uint8_t, 16);
    FIXED(peer_afi, "peer_afi", "C", uint8_t, 1);
    FIXED(peer_asn, "peer_asn", "I", uint32_t, 4);
    FIXED(afi, "afi", "C", uint8_t, 1);
    FIXED(prefix, "prefix", "w:16", uint8_t, 16);
    FIXED(prefix_len, "prefix_len", "C", uint8_t, 1);
    if (dict_col(s, a, "collector", &cols->collector) < 0 || dict_col(s, a, "kind", &cols->kind) < 0) return -1;
    if (list_col(s, a, "as_path", "I", &cols->path_off, (const void **)&cols->path_val, 4, &cols->n_path_val) < 0 ||
        list_col(s, a, "as_path_segments", "S", &cols->seg_off, (const void **)&cols->seg_val, 2,
                 &cols->n_seg_val) < 0)
        return -1;
    Child ns;
    if (find_child(s, a, "new_state", "C", &ns) < 0) return -1;
    const char *nb = ns.array->n_buffers > 1 ? ns.array->buffers[1] : NULL;
    cols->new_state = nb ? (const uint8_t *)nb + ns.base : NULL;
    if (!cols->new_state && cols->n > 0) {
        PyErr_SetString(PyExc_ValueError, "element batch column new_state: buffer 1 missing");
        return -1;
    }
    cols->new_state_valid = ns.array->null_count != 0 ? ns.array->buffers[0] : NULL; /* NULL: all valid */
    cols->new_state_bit0 = ns.base;
    if (cols->n > 0 && (!cols->ts || !cols->peer_ip || !cols->peer_afi || !cols->peer_asn || !cols->afi || !cols->prefix ||
                        !cols->prefix_len)) {
        PyErr_SetString(PyExc_ValueError, "element batch: a column buffer is missing");
        return -1;
    }
    return 0;
}
