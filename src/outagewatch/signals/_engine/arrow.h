/*
 * arrow.h: the element batches the engine reads, through the Arrow C data interface.
 *
 * A batch (ELEMENT_SCHEMA, outagewatch.model.element) arrives as the two capsules of
 * RecordBatch.__arrow_c_array__(): a struct schema and a struct array. ElementCols holds
 * typed pointers to the columns the engine reads, each already moved to the batch's first row
 * (slice offsets of the struct and of each child applied), so row i of every column is [i].
 * Nothing is copied; the capsules must outlive the use of an ElementCols.
 */
#ifndef OW_ARROW_H
#define OW_ARROW_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

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

/* one dictionary-encoded string column: indices plus the dictionary's strings */
typedef struct {
    const void *idx; /* int8 or int32 indices, by idx_width */
    int idx_width;
    const int32_t *dict_off; /* dict_len + 1 offsets (already at the dictionary's offset) */
    const char *dict_data;
    int64_t dict_len;
} DictCol;

typedef struct {
    int64_t n;
    const int64_t *ts;
    DictCol collector, kind;
    const uint8_t *peer_ip; /* 16 bytes per row */
    const uint8_t *peer_afi;
    const uint32_t *peer_asn;
    const uint8_t *afi, *prefix_len;
    const uint8_t *prefix; /* 16 bytes per row */
    const int32_t *path_off; /* n + 1 offsets into path_val (absolute) */
    const uint32_t *path_val;
    int64_t n_path_val; /* values path_val holds (offsets past it are bad input) */
    const int32_t *seg_off;
    const uint16_t *seg_val;
    int64_t n_seg_val;
    const uint8_t *new_state;
    const uint8_t *new_state_valid; /* validity bitmap, or NULL (all valid) */
    int64_t new_state_bit0;         /* bit position of row 0 in the bitmap */
} ElementCols;

static inline int64_t dict_index(const DictCol *d, int64_t i) {
    return d->idx_width == 1 ? (int64_t)((const int8_t *)d->idx)[i] : (int64_t)((const int32_t *)d->idx)[i];
}

static inline int element_new_state(const ElementCols *c, int64_t i) {
    if (c->new_state_valid) {
        int64_t b = c->new_state_bit0 + i;
        if (!((c->new_state_valid[b >> 3] >> (b & 7)) & 1)) return -1;
    }
    return c->new_state[i];
}

/* Fill cols from the capsules; 0 on success, -1 with a Python exception set. */
int element_cols(PyObject *schema_capsule, PyObject *array_capsule, ElementCols *cols);

#endif
