/*
 * module.c: outagewatch.signals._engine.Core, the Python face of the compiled signal engine.
 *
 * Python (outagewatch.signals.state / engine) drives it bin by bin:
 *   ingest(parts, mode, count_churn)  element rows applied in order (or RIB rows set)
 *   close(keyframe, dense, full_feed_share)  full-feed peers, visibility, sums, upstreams -> the bin's rows
 * and feeds it what lives in Python: country rows of new prefixes (the mapper), watched
 * prefixes, restored snapshots. Arrays go in and out as buffers (NumPy arrays in, bytes out);
 * the heavy calls release the GIL. A Core is not shared between threads: a second call while
 * one runs raises RuntimeError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core.h"

typedef struct {
    PyObject_HEAD
    Core core;
    int ready, busy;
} Engine;

static PyObject *raise_core(Core *c) {
    PyObject *type = c->err_kind == 2 ? PyExc_MemoryError : c->err_kind == 3 ? PyExc_IndexError : PyExc_ValueError;
    PyErr_SetString(type, c->err[0] ? c->err : "signal engine error");
    c->err_kind = 0;
    c->err[0] = 0;
    return NULL;
}

/* every method first: the core is initialised and no call that released the GIL is running */
static int idle(Engine *e) {
    if (!e->ready) {
        PyErr_SetString(PyExc_RuntimeError, "signal engine core not initialised");
        return -1;
    }
    if (e->busy) {
        PyErr_SetString(PyExc_RuntimeError, "signal engine core used from two threads at once");
        return -1;
    }
    return 0;
}

/* a call that may release the GIL: marks the core busy until it is done */
static int enter(Engine *e) {
    if (idle(e) < 0) return -1;
    e->busy = 1;
    return 0;
}

static PyObject *bytes_of(const void *p, int64_t n, size_t size) {
    return PyBytes_FromStringAndSize(n ? (const char *)p : "", (Py_ssize_t)((size_t)n * size));
}

/* a read-only C-contiguous view with items of `itemsize` bytes; returns the count or -1 */
static Py_ssize_t get_view(PyObject *o, Py_buffer *v, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (v->len % itemsize != 0 || (v->itemsize != itemsize && v->itemsize != 1)) {
        PyErr_Format(PyExc_TypeError, "%s must hold %zd-byte items", what, itemsize);
        PyBuffer_Release(v);
        return -1;
    }
    return v->len / itemsize;
}

static int Engine_init(Engine *e, PyObject *args, PyObject *kw) {
    static char *names[] = {"full_feed_share", "peer_capacity", "prefix_capacity", NULL};
    double share = 0.75;
    int peer_cap = 64, pfx_cap = 1 << 18;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dii", names, &share, &peer_cap, &pfx_cap)) return -1;
    if (!(share >= 0.0 && share <= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "full_feed_share must be between 0 and 1");
        return -1;
    }
    if (e->ready) core_free(&e->core);
    e->ready = 0;
    if (core_init(&e->core, share, peer_cap, pfx_cap) < 0) {
        core_free(&e->core);
        PyErr_NoMemory();
        return -1;
    }
    e->ready = 1;
    return 0;
}

static void Engine_dealloc(Engine *e) {
    if (e->ready) core_free(&e->core);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static const char *KIND_NAMES[4] = {"A", "W", "B", "S"};

static int kind_map(const ElementCols *cols, int8_t map[16]) {
    const DictCol *d = &cols->kind;
    if (d->dict_len > 16) {
        PyErr_SetString(PyExc_ValueError, "element batch: more than 16 kinds in the kind dictionary");
        return -1;
    }
    for (int j = 0; j < 16; j++) map[j] = -1;
    for (int64_t j = 0; j < d->dict_len; j++) {
        int32_t a = d->dict_off[j], b = d->dict_off[j + 1];
        for (int k = 0; k < 4; k++)
            if (b - a == 1 && d->dict_data[a] == KIND_NAMES[k][0]) map[j] = (int8_t)k;
    }
    return 0;
}

PyDoc_STRVAR(ingest_doc,
"ingest(parts, mode, count_churn) -> (elements, new_peer_positions)\n\n"
"Apply element rows in time order (sorted when needed). parts: a list of (schema_capsule,\n"
"array_capsule, lo, hi, collector_hashes) from RecordBatch.__arrow_c_array__(), rows lo..hi,\n"
"and one uint64 hash per collector dictionary entry. mode 0: updates and session downs (A, W, S\n"
"rows; the bin's churn counted when count_churn), 1: RIB rows (B), set directly. Returns the\n"
"number of rows and the positions (int64 bytes, in the concatenated rows) of rows that made a\n"
"new peer (peer ids are given in that order).");

static PyObject *Engine_ingest(Engine *e, PyObject *args) {
    PyObject *parts;
    int mode, churn;
    if (!PyArg_ParseTuple(args, "Oip", &parts, &mode, &churn)) return NULL;
    if (mode != MODE_BIN && mode != MODE_RIB) {
        PyErr_SetString(PyExc_ValueError, "mode must be 0 (bin) or 1 (RIB)");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(parts, "parts must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Part *ps = calloc((size_t)(n ? n : 1), sizeof(Part));
    Py_buffer *hv = calloc((size_t)(n ? n : 1), sizeof(Py_buffer));
    Py_ssize_t got = 0;
    PyObject *result = NULL;
    if (!ps || !hv) {
        PyErr_NoMemory();
        goto done;
    }
    for (; got < n; got++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, got), *sc, *ac, *ho;
        long long lo, hi;
        if (!PyArg_ParseTuple(t, "OOLLO", &sc, &ac, &lo, &hi, &ho)) goto done;
        Part *p = &ps[got];
        if (element_cols(sc, ac, &p->cols) < 0) goto done;
        if (lo < 0 || hi < lo || hi > p->cols.n) {
            PyErr_Format(PyExc_IndexError, "part %zd: rows %lld..%lld outside the batch's %lld", got, lo, hi,
                         (long long)p->cols.n);
            goto done;
        }
        p->lo = lo;
        p->hi = hi;
        Py_ssize_t nh = get_view(ho, &hv[got], 8, "collector_hashes");
        if (nh < 0) goto done;
        p->coll_hash = hv[got].buf;
        p->n_coll = nh;
        if (kind_map(&p->cols, p->kind_map) < 0) {
            got++;
            goto done;
        }
    }
    if (enter(e) < 0) goto done;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = ingest_parts(&e->core, ps, (int)n, mode, churn);
    Py_END_ALLOW_THREADS e->busy = 0;
    if (rc < 0) {
        raise_core(&e->core);
        goto done;
    }
    result = Py_BuildValue("LN", (long long)e->core.n_el, bytes_of(e->core.new_peer_pos, e->core.n_new_peer, 8));
done:
    for (Py_ssize_t k = 0; k < got && k < n; k++)
        if (hv && hv[k].obj) PyBuffer_Release(&hv[k]);
    free(ps);
    free(hv);
    Py_DECREF(seq);
    return result;
}

PyDoc_STRVAR(close_doc,
"close(keyframe, dense, full_feed_share) -> tuple\n\n"
"Close the bin: full-feed peers, visibility, level sums, upstream counts, and its rows:\n"
"(entity_type, entity_name, metric) int32 bytes and values float64 bytes; then (dense only)\n"
"upstream rows (entity_type, entity_name int32, upstream ASN uint32, routes float64) and\n"
"reporter rows (entity_type, entity_name, peer id int32); then the session downs counted.\n"
"keyframe: every value the dense form holds, not only changes; dense: every bin a keyframe,\n"
"with the upstream and reporter rows.");

static PyObject *Engine_close(Engine *e, PyObject *args) {
    int keyframe, dense;
    double share;
    if (!PyArg_ParseTuple(args, "ppd", &keyframe, &dense, &share)) return NULL;
    if (!(share >= 0.0 && share <= 1.0)) return PyErr_Format(PyExc_ValueError, "full_feed_share must be in [0, 1]");
    if (enter(e) < 0) return NULL;
    Core *c = &e->core;
    c->ff_share = share;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = close_visibility(c);
    if (rc == 0) rc = emit_bin(c, keyframe, dense);
    Py_END_ALLOW_THREADS e->busy = 0;
    if (rc < 0) return raise_core(c);
    int32_t downs = c->sessions_down;
    c->sessions_down = 0;
    const Rows *r = &c->rows;
    const UpRows *u = &c->up_rows;
    const RepRows *p = &c->rep_rows;
    return Py_BuildValue("(NNNN)(NNNN)(NNN)i", bytes_of(r->et, r->n, 4), bytes_of(r->ent, r->n, 4),
                         bytes_of(r->met, r->n, 4), bytes_of(r->val, r->n, 8), bytes_of(u->et, u->n, 4),
                         bytes_of(u->ent, u->n, 4), bytes_of(u->up, u->n, 4), bytes_of(u->routes, u->n, 8),
                         bytes_of(p->et, p->n, 4), bytes_of(p->ent, p->n, 4), bytes_of(p->peer, p->n, 4), downs);
}

PyDoc_STRVAR(clear_peers_doc, "clear_peers(ids)\n\nWithdraw every route of these peers (int64 ids).");

static PyObject *Engine_clear_peers(Engine *e, PyObject *args) {
    PyObject *o;
    Py_buffer v = {0};
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    Py_ssize_t n = get_view(o, &v, 8, "ids");
    if (n < 0) return NULL;
    const int64_t *ids = v.buf;
    for (Py_ssize_t k = 0; k < n; k++)
        if (ids[k] < 0 || ids[k] >= e->core.n_peers) {
            PyBuffer_Release(&v);
            return PyErr_Format(PyExc_IndexError, "peer id %lld out of range", (long long)ids[k]);
        }
    if (enter(e) < 0) {
        PyBuffer_Release(&v);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) clear_peer(&e->core, (int32_t)ids[k]);
    e->core.need_full = 1;
    e->busy = 0;
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
}

static void rel(Py_buffer *v) {
    if (v->obj) PyBuffer_Release(v);
}

/* views of several arguments, all with n items (n from the first); -1 with an exception */
static Py_ssize_t views(int k, PyObject **objs, Py_buffer *vs, const Py_ssize_t *sizes, const char *const *names) {
    Py_ssize_t n = -1;
    for (int i = 0; i < k; i++) {
        Py_ssize_t m = get_view(objs[i], &vs[i], sizes[i], names[i]);
        if (m < 0) return -1;
        if (i == 0) n = m;
        else if (m != n) {
            PyErr_Format(PyExc_ValueError, "%s and %s must be equally long", names[0], names[i]);
            return -1;
        }
    }
    return n;
}

PyDoc_STRVAR(add_peers_doc, "add_peers(keys, asns) -> ids\n\nPeers by key (uint64) with their ASN (uint32); int32 ids.");

static PyObject *Engine_add_peers(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *o[2];
    Py_buffer v[2] = {{0}};
    static const Py_ssize_t sz[2] = {8, 4};
    static const char *const nm[2] = {"keys", "asns"};
    if (!PyArg_ParseTuple(args, "OO", &o[0], &o[1])) return NULL;
    PyObject *out = NULL;
    int32_t *ids = NULL;
    Py_ssize_t n = views(2, o, v, sz, nm);
    if (n >= 0 && !(ids = malloc((size_t)(n ? n : 1) * 4))) PyErr_NoMemory();
    if (ids) {
        const uint64_t *keys = v[0].buf;
        const uint32_t *asns = v[1].buf;
        Py_ssize_t k = 0;
        for (; k < n; k++) {
            int added;
            if (core_add_peer(&e->core, keys[k], asns[k], &ids[k], &added) < 0) break;
            e->core.peer_asn[ids[k]] = asns[k];
        }
        out = k < n ? PyErr_NoMemory() : bytes_of(ids, n, 4);
    }
    free(ids);
    rel(&v[0]);
    rel(&v[1]);
    return out;
}

PyDoc_STRVAR(add_prefixes_doc,
"add_prefixes(afi, addr, plen) -> ids\n\nPrefix ids (int32) of uint8 families, 16-byte addresses and uint8 lengths, made\n"
"when new.");

static PyObject *Engine_add_prefixes(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *o[3];
    Py_buffer v[3] = {{0}};
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    PyObject *out = NULL;
    int32_t *ids = NULL;
    Py_ssize_t n = get_view(o[0], &v[0], 1, "afi");
    Py_ssize_t nx = n < 0 ? -1 : get_view(o[1], &v[1], 1, "addr");
    Py_ssize_t nl = nx < 0 ? -1 : get_view(o[2], &v[2], 1, "plen");
    if (nl < 0) {
        /* the error is set */
    } else if (nx != 16 * n || nl != n) {
        PyErr_SetString(PyExc_ValueError, "afi, addr (16 bytes each) and plen must be equally long");
    } else if (!(ids = malloc((size_t)(n ? n : 1) * 4))) {
        PyErr_NoMemory();
    } else {
        const uint8_t *afi = v[0].buf, *addr = v[1].buf, *plen = v[2].buf;
        Py_ssize_t k = 0;
        for (; k < n; k++) {
            int added;
            if (core_add_prefix(&e->core, afi[k], addr + 16 * k, plen[k], &ids[k], &added) < 0) break;
        }
        out = k < n ? PyErr_NoMemory() : bytes_of(ids, n, 4);
    }
    free(ids);
    for (int i = 0; i < 3; i++) rel(&v[i]);
    return out;
}

PyDoc_STRVAR(intern_paths_doc,
"intern_paths(hashes, origins, upstreams) -> ids\n\nPath ids (uint32) of paths known by hash (uint64) with their origin and upstream\n"
"ASNs (uint32), made when new (restoring a snapshot).");

static PyObject *Engine_intern_paths(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *o[3];
    Py_buffer v[3] = {{0}};
    static const Py_ssize_t sz[3] = {8, 4, 4};
    static const char *const nm[3] = {"hashes", "origins", "upstreams"};
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    PyObject *out = NULL;
    uint32_t *ids = NULL;
    Py_ssize_t n = views(3, o, v, sz, nm);
    if (n >= 0 && !(ids = malloc((size_t)(n ? n : 1) * 4))) PyErr_NoMemory();
    if (ids) {
        const uint64_t *h = v[0].buf;
        const uint32_t *og = v[1].buf, *up = v[2].buf;
        Py_ssize_t k = 0;
        for (; k < n; k++) {
            int32_t id = u64map_find(&e->core.paths, h[k]);
            if (id >= 0) ids[k] = (uint32_t)id + 1;
            else if (core_path(&e->core, h[k], og[k], up[k], &ids[k]) < 0) break;
        }
        out = k < n ? PyErr_NoMemory() : bytes_of(ids, n, 4);
    }
    free(ids);
    for (int i = 0; i < 3; i++) rel(&v[i]);
    return out;
}

PyDoc_STRVAR(set_routes_doc,
"set_routes(peers, prefixes, paths)\n\nSet route cells directly (int64 peer and prefix ids, uint32 path ids; later entries win);\n"
"the next close recounts everything.");

static PyObject *Engine_set_routes(Engine *e, PyObject *args) {
    PyObject *o[3];
    Py_buffer v[3] = {{0}};
    static const Py_ssize_t sz[3] = {8, 8, 4};
    static const char *const nm[3] = {"peers", "prefixes", "paths"};
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    Py_ssize_t n = views(3, o, v, sz, nm);
    PyObject *out = n < 0 ? NULL : Py_None;
    Core *c = &e->core;
    const int64_t *peer = v[0].buf, *pfx = v[1].buf;
    const uint32_t *path = v[2].buf;
    for (Py_ssize_t k = 0; k < n && out; k++)
        if (peer[k] < 0 || peer[k] >= c->n_peers || pfx[k] < 0 || pfx[k] >= c->n_pfx || path[k] >= (uint32_t)c->n_paths) {
            PyErr_Format(PyExc_IndexError, "route %zd: peer %lld, prefix %lld or path %u out of range", k,
                         (long long)peer[k], (long long)pfx[k], path[k]);
            out = NULL;
        }
    if (out && enter(e) < 0) out = NULL;
    if (out) {
        for (Py_ssize_t k = 0; k < n; k++) set_cell(c, (int32_t)pfx[k], (int32_t)peer[k], path[k]);
        c->need_full = 1;
        e->busy = 0;
        Py_INCREF(out);
    }
    for (int i = 0; i < 3; i++) rel(&v[i]);
    return out;
}

PyDoc_STRVAR(add_origins_doc,
"add_origins(keys)\n\nOrigin ASNs known to have been announced: uint64 keys origin * 8 + afi (AS entities made).");

static PyObject *Engine_add_origins(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *o;
    Py_buffer v = {0};
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    Py_ssize_t n = get_view(o, &v, 8, "keys");
    if (n < 0) return NULL;
    const uint64_t *keys = v.buf;
    Core *c = &e->core;
    for (Py_ssize_t k = 0; k < n; k++) {
        uint32_t asn = (uint32_t)(keys[k] >> 3);
        uint8_t bit = (uint8_t)(1u << ((keys[k] & 7) == 4 ? 0 : 1));
        if (asn == 0) {
            c->origin0_fam |= bit;
            continue;
        }
        int32_t id;
        if (core_as(c, asn, &id) < 0) {
            PyBuffer_Release(&v);
            return PyErr_NoMemory();
        }
        c->as_fam[id] |= bit;
    }
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(add_countries_doc, "add_countries(codes)\n\nNew countries (str codes), in order: their entity ids follow the ones made before.");

static PyObject *Engine_add_countries(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *codes;
    if (!PyArg_ParseTuple(args, "O", &codes)) return NULL;
    PyObject *seq = PySequence_Fast(codes, "codes must be a sequence of str");
    if (!seq) return NULL;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(seq); k++) {
        Py_ssize_t len;
        const char *text = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, k), &len);
        int32_t id;
        if (!text || core_add_country(&e->core, text, (size_t)len, &id) < 0) {
            Py_DECREF(seq);
            return text ? PyErr_NoMemory() : NULL;
        }
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(set_fixed_metrics_doc,
"set_fixed_metrics(names)\n\nThe fixed metric catalogue (metric ids 0 .. M_UP_BASE - 1), before any upstream is known.");

static PyObject *Engine_set_fixed_metrics(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    PyObject *names;
    if (!PyArg_ParseTuple(args, "O", &names)) return NULL;
    Core *c = &e->core;
    PyObject *seq = PySequence_Fast(names, "names must be a sequence of str");
    if (!seq) return NULL;
    if (c->met_names.n != 0 || c->up_map.n != 0 || PySequence_Fast_GET_SIZE(seq) != M_UP_BASE) {
        Py_DECREF(seq);
        return PyErr_Format(PyExc_ValueError, "the fixed metric names are set once, first, and are %d", M_UP_BASE);
    }
    for (Py_ssize_t k = 0; k < M_UP_BASE; k++) {
        Py_ssize_t len;
        const char *text = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, k), &len);
        if (!text || strlist_add(&c->met_names, text, (size_t)len) < 0) {
            Py_DECREF(seq);
            return text ? PyErr_NoMemory() : NULL;
        }
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(names_doc,
"names(kind, since) -> (offsets, data)\n\nThe names from index since on (kind 0: entities, 1: metrics): int32 offsets (relative\n"
"to the first name's start, one more than names) and UTF-8 bytes.");

static PyObject *Engine_names(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int kind, since;
    if (!PyArg_ParseTuple(args, "ii", &kind, &since)) return NULL;
    const StrList *s = kind == 0 ? &e->core.ent_names : &e->core.met_names;
    if (since < 0 || since > s->n) return PyErr_Format(PyExc_IndexError, "names from %d of %d", since, s->n);
    int32_t n = s->n - since, base = s->n ? s->off[since] : 0;
    int32_t *off = malloc((size_t)(n + 1) * 4);
    if (!off) return PyErr_NoMemory();
    for (int32_t k = 0; k <= n; k++) off[k] = s->n ? s->off[since + k] - base : 0;
    PyObject *out = Py_BuildValue("NN", bytes_of(off, n + 1, 4), bytes_of(s->data ? s->data + base : "", off[n], 1));
    free(off);
    return out;
}

PyDoc_STRVAR(add_country_rows_doc,
"add_country_rows(n_prefixes, prefixes, countries, weight_lo, weight_hi)\n\n"
"Map the next n_prefixes prefix ids: rows (int32 prefix id, ascending; int32 country id) with\n"
"their weight in addresses as two uint64 halves.");

static PyObject *Engine_add_country_rows(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int n_pfx;
    PyObject *o[4];
    Py_buffer v[4] = {{0}};
    static const Py_ssize_t sz[4] = {4, 4, 8, 8};
    static const char *const nm[4] = {"prefixes", "countries", "weight_lo", "weight_hi"};
    if (!PyArg_ParseTuple(args, "iOOOO", &n_pfx, &o[0], &o[1], &o[2], &o[3])) return NULL;
    PyObject *out = NULL;
    u128 *w = NULL;
    Py_ssize_t n = views(4, o, v, sz, nm);
    if (n >= 0 && !(w = malloc((size_t)(n ? n : 1) * sizeof(u128)))) PyErr_NoMemory();
    if (w) {
        const uint64_t *wl = v[2].buf, *wh = v[3].buf;
        for (Py_ssize_t k = 0; k < n; k++) w[k] = (u128)wh[k] << 64 | wl[k];
        if (core_add_country_rows(&e->core, n_pfx, v[0].buf, v[1].buf, w, n) < 0) raise_core(&e->core);
        else out = Py_NewRef(Py_None);
    }
    free(w);
    for (int i = 0; i < 4; i++) rel(&v[i]);
    return out;
}

PyDoc_STRVAR(add_watch_doc, "add_watch(prefix, text)\n\nWatch a prefix (its id; its name); returns its prefix entity id.");

static PyObject *Engine_add_watch(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int p;
    const char *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "is#", &p, &text, &len)) return NULL;
    if (p < 0 || p >= e->core.n_pfx) return PyErr_Format(PyExc_IndexError, "prefix id %d out of range", p);
    if (e->core.pfx[p].watch >= 0) return PyLong_FromLong(e->core.pfx[p].watch);
    if (core_add_watch(&e->core, p, text, (size_t)len) < 0) return PyErr_NoMemory();
    return PyLong_FromLong(e->core.pfx[p].watch);
}

PyDoc_STRVAR(peer_rows_doc,
"peer_rows() -> (peer, afi, table_size, full_feed, asn)\n\nOne row per (peer, family) with a route, IPv4 rows first:\n"
"int32 peer id, uint8 afi, int64 table size, uint8 full feed (last close); and every peer's ASN (uint32).");

static PyObject *Engine_peer_rows(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    int32_t n = c->n_peers;
    int32_t *id = malloc((size_t)(2 * n + 1) * 4);
    uint8_t *afi = malloc((size_t)(2 * n + 1)), *ff = malloc((size_t)(2 * n + 1));
    int64_t *size = malloc((size_t)(2 * n + 1) * 8);
    PyObject *out = NULL;
    if (!id || !afi || !ff || !size) {
        PyErr_NoMemory();
    } else {
        int64_t k = 0;
        for (int fam = 0; fam < 2; fam++)
            for (int32_t q = 0; q < n; q++)
                if (c->peer_size[2 * q + fam] > 0) {
                    id[k] = q;
                    afi[k] = fam == 0 ? 4 : 6;
                    size[k] = c->peer_size[2 * q + fam];
                    ff[k++] = c->ff[fam][q];
                }
        out = Py_BuildValue("NNNNN", bytes_of(id, k, 4), bytes_of(afi, k, 1), bytes_of(size, k, 8), bytes_of(ff, k, 1),
                            bytes_of(c->peer_asn, n, 4));
    }
    free(id);
    free(afi);
    free(ff);
    free(size);
    return out;
}

PyDoc_STRVAR(prefixes_doc, "prefixes(lo, hi) -> (afi, addr, plen)\n\nThe prefixes with ids lo .. hi - 1 (bytes).");

static PyObject *Engine_prefixes(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int lo, hi;
    if (!PyArg_ParseTuple(args, "ii", &lo, &hi)) return NULL;
    Core *c = &e->core;
    if (lo < 0 || hi < lo || hi > c->n_pfx) return PyErr_Format(PyExc_IndexError, "prefix ids %d..%d out of range", lo, hi);
    size_t n = (size_t)(hi - lo);
    uint8_t *afi = malloc(n + 1), *addr = malloc(16 * n + 1), *plen = malloc(n + 1);
    PyObject *out = NULL;
    if (!afi || !addr || !plen) {
        PyErr_NoMemory();
    } else {
        for (size_t k = 0; k < n; k++) {
            const PrefixInfo *x = &c->pfx[lo + (int)k];
            afi[k] = x->afi;
            plen[k] = x->plen;
            memcpy(addr + 16 * k, x->addr, 16);
        }
        out = Py_BuildValue("NNN", bytes_of(afi, (int64_t)n, 1), bytes_of(addr, (int64_t)n, 16),
                            bytes_of(plen, (int64_t)n, 1));
    }
    free(afi);
    free(addr);
    free(plen);
    return out;
}

PyDoc_STRVAR(paths_doc, "paths(lo, hi) -> (hash, origin, upstream)\n\nThe paths with ids lo .. hi - 1 (bytes; id 0 is no route).");

static PyObject *Engine_paths(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int lo, hi;
    if (!PyArg_ParseTuple(args, "ii", &lo, &hi)) return NULL;
    Core *c = &e->core;
    if (lo < 0 || hi < lo || hi > c->n_paths) return PyErr_Format(PyExc_IndexError, "path ids %d..%d out of range", lo, hi);
    size_t n = (size_t)(hi - lo);
    uint64_t *h = malloc(8 * n + 8);
    uint32_t *o = malloc(4 * n + 4), *u = malloc(4 * n + 4);
    PyObject *out = NULL;
    if (!h || !o || !u) {
        PyErr_NoMemory();
    } else {
        for (size_t k = 0; k < n; k++) {
            const PathInfo *x = &c->path[lo + (int)k];
            h[k] = x->hash;
            o[k] = x->origin;
            u[k] = x->upasn;
        }
        out = Py_BuildValue("NNN", bytes_of(h, (int64_t)n, 8), bytes_of(o, (int64_t)n, 4), bytes_of(u, (int64_t)n, 4));
    }
    free(h);
    free(o);
    free(u);
    return out;
}

PyDoc_STRVAR(peers_doc,
"peers() -> (keys, asns, sizes, clears, full_feed)\n\nPer peer id: key (uint64), ASN (uint32), routes to IPv4 and IPv6\n"
"prefixes (int64 pairs), times cleared (int64), full feed for IPv4 and IPv6 at the last close (uint8 pairs).");

static PyObject *Engine_peers(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    int32_t n = c->n_peers;
    uint8_t *ff = malloc((size_t)(n ? 2 * n : 1));
    if (!ff) return PyErr_NoMemory();
    for (int32_t q = 0; q < n; q++) {
        ff[2 * q] = c->ff[0][q];
        ff[2 * q + 1] = c->ff[1][q];
    }
    PyObject *out = Py_BuildValue("NNNNN", bytes_of(c->peers.keys, n, 8), bytes_of(c->peer_asn, n, 4),
                                  bytes_of(c->peer_size, 2 * (int64_t)n, 8), bytes_of(c->peer_clears, n, 8),
                                  bytes_of(ff, 2 * (int64_t)n, 1));
    free(ff);
    return out;
}

PyDoc_STRVAR(asns_doc, "as_asns(lo, hi) -> bytes\n\nThe origin ASNs (uint32) of AS entity ids lo .. hi - 1.");

static PyObject *Engine_as_asns(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int lo, hi;
    if (!PyArg_ParseTuple(args, "ii", &lo, &hi)) return NULL;
    const U64Map *m = &e->core.as_map;
    if (lo < 0 || hi < lo || hi > m->n) return PyErr_Format(PyExc_IndexError, "AS ids %d..%d out of range", lo, hi);
    uint32_t *a = malloc((size_t)(hi - lo + 1) * 4);
    if (!a) return PyErr_NoMemory();
    for (int k = lo; k < hi; k++) a[k - lo] = (uint32_t)m->keys[k];
    PyObject *out = bytes_of(a, hi - lo, 4);
    free(a);
    return out;
}

PyDoc_STRVAR(up_asns_doc, "up_asns(lo, hi) -> bytes\n\nThe upstream ASNs (uint32) of upstream ids lo .. hi - 1.");

static PyObject *Engine_up_asns(Engine *e, PyObject *args) {
    if (idle(e) < 0) return NULL;
    int lo, hi;
    if (!PyArg_ParseTuple(args, "ii", &lo, &hi)) return NULL;
    const U64Map *m = &e->core.up_map;
    if (lo < 0 || hi < lo || hi > m->n) return PyErr_Format(PyExc_IndexError, "upstream ids %d..%d out of range", lo, hi);
    uint32_t *a = malloc((size_t)(hi - lo + 1) * 4);
    if (!a) return PyErr_NoMemory();
    for (int k = lo; k < hi; k++) a[k - lo] = (uint32_t)m->keys[k];
    PyObject *out = bytes_of(a, hi - lo, 4);
    free(a);
    return out;
}

PyDoc_STRVAR(routes_doc,
"routes() -> (peers, prefixes, paths)\n\nEvery route (int32 peer, int32 prefix, uint32 path id), peer by peer, prefixes ascending.");

static PyObject *Engine_routes(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    int64_t n = 0;
    for (int32_t q = 0; q < c->n_peers; q++) n += c->peer_size[2 * q] + c->peer_size[2 * q + 1];
    int32_t *peer = malloc((size_t)(n ? n : 1) * 4), *pfx = malloc((size_t)(n ? n : 1) * 4);
    uint32_t *path = malloc((size_t)(n ? n : 1) * 4);
    PyObject *out = NULL;
    if (!peer || !pfx || !path) {
        PyErr_NoMemory();
    } else {
        int64_t k = 0;
        size_t n_words = ((size_t)c->n_pfx + 63) / 64;
        for (int32_t q = 0; q < c->n_peers; q++) {
            const uint64_t *words = c->peer_bits + (size_t)q * c->bit_words;
            for (size_t w = 0; w < n_words; w++)
                for (uint64_t bits = words[w]; bits && k < n; bits &= bits - 1) {
                    int32_t p = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
                    peer[k] = q;
                    pfx[k] = p;
                    path[k++] = *core_cell(c, p, q);
                }
        }
        out = Py_BuildValue("NNN", bytes_of(peer, k, 4), bytes_of(pfx, k, 4), bytes_of(path, k, 4));
    }
    free(peer);
    free(pfx);
    free(path);
    return out;
}

PyDoc_STRVAR(origin_keys_doc,
"origin_keys() -> bytes\n\nEvery (origin ASN, family) announced, as uint64 origin * 8 + afi (origin 0: unknown).");

static PyObject *Engine_origin_keys(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    int32_t n_as = c->as_map.n;
    uint64_t *k = malloc((size_t)(2 * n_as + 2) * 8);
    if (!k) return PyErr_NoMemory();
    int64_t n = 0;
    for (int f = 0; f < 2; f++)
        if (c->origin0_fam & (1u << f)) k[n++] = f == 0 ? 4 : 6;
    for (int32_t a = 0; a < n_as; a++)
        for (int f = 0; f < 2; f++)
            if (c->as_fam[a] & (1u << f)) k[n++] = c->as_map.keys[a] * 8 + (f == 0 ? 4 : 6);
    PyObject *out = bytes_of(k, n, 8);
    free(k);
    return out;
}

PyDoc_STRVAR(levels_doc,
"levels() -> (ff_level, asn_level)\n\nEach prefix's visibility level codes at the last close (uint8 bytes).");

static PyObject *Engine_levels(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    uint8_t *f = malloc((size_t)c->n_pfx + 1), *a = malloc((size_t)c->n_pfx + 1);
    PyObject *out = NULL;
    if (!f || !a) {
        PyErr_NoMemory();
    } else {
        for (int32_t p = 0; p < c->n_pfx; p++) {
            f[p] = c->pfx[p].lvl_ff;
            a[p] = c->pfx[p].lvl_asn;
        }
        out = Py_BuildValue("NN", bytes_of(f, c->n_pfx, 1), bytes_of(a, c->n_pfx, 1));
    }
    free(f);
    free(a);
    return out;
}

PyDoc_STRVAR(recount_doc, "recount()\n\nRecount everything from the routes at the next close (as after a RIB load).");

static PyObject *Engine_recount(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    e->core.need_full = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(sizes_doc,
"sizes() -> (prefixes, mapped, entity_names, metric_names)\n\nThe counts a bin close looks at.");

static PyObject *Engine_sizes(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    return Py_BuildValue("iiii", c->n_pfx, c->n_mapped, c->ent_names.n, c->met_names.n);
}

PyDoc_STRVAR(counts_doc, "counts() -> dict\n\nTable sizes and the state version (bumped by every route change).");

static PyObject *Engine_counts(Engine *e, PyObject *unused) {
    if (idle(e) < 0) return NULL;
    Core *c = &e->core;
    size_t nbytes = c->routes_bytes + c->bits_bytes +
                    (size_t)c->pfx_cap * 40 + (c->pmap.mask + 1) * sizeof(PrefixSlot) + u64map_nbytes(&c->paths) +
                    (size_t)c->path_cap * 24 + (size_t)c->pool_cap * sizeof(Pair);
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:L,s:n}", "peers", c->n_peers, "prefixes", c->n_pfx, "paths",
                         c->n_paths, "ases", c->as_map.n, "upstreams", c->up_map.n, "mapped", c->n_mapped, "names",
                         c->ent_names.n, "version", (long long)c->version, "nbytes", (Py_ssize_t)nbytes);
}

static PyMethodDef Engine_methods[] = {
    {"ingest", (PyCFunction)Engine_ingest, METH_VARARGS, ingest_doc},
    {"close", (PyCFunction)Engine_close, METH_VARARGS, close_doc},
    {"clear_peers", (PyCFunction)Engine_clear_peers, METH_VARARGS, clear_peers_doc},
    {"add_peers", (PyCFunction)Engine_add_peers, METH_VARARGS, add_peers_doc},
    {"add_prefixes", (PyCFunction)Engine_add_prefixes, METH_VARARGS, add_prefixes_doc},
    {"intern_paths", (PyCFunction)Engine_intern_paths, METH_VARARGS, intern_paths_doc},
    {"set_routes", (PyCFunction)Engine_set_routes, METH_VARARGS, set_routes_doc},
    {"add_origins", (PyCFunction)Engine_add_origins, METH_VARARGS, add_origins_doc},
    {"add_countries", (PyCFunction)Engine_add_countries, METH_VARARGS, add_countries_doc},
    {"set_fixed_metrics", (PyCFunction)Engine_set_fixed_metrics, METH_VARARGS, set_fixed_metrics_doc},
    {"names", (PyCFunction)Engine_names, METH_VARARGS, names_doc},
    {"peer_rows", (PyCFunction)Engine_peer_rows, METH_NOARGS, peer_rows_doc},
    {"add_country_rows", (PyCFunction)Engine_add_country_rows, METH_VARARGS, add_country_rows_doc},
    {"add_watch", (PyCFunction)Engine_add_watch, METH_VARARGS, add_watch_doc},
    {"prefixes", (PyCFunction)Engine_prefixes, METH_VARARGS, prefixes_doc},
    {"paths", (PyCFunction)Engine_paths, METH_VARARGS, paths_doc},
    {"peers", (PyCFunction)Engine_peers, METH_NOARGS, peers_doc},
    {"as_asns", (PyCFunction)Engine_as_asns, METH_VARARGS, asns_doc},
    {"up_asns", (PyCFunction)Engine_up_asns, METH_VARARGS, up_asns_doc},
    {"routes", (PyCFunction)Engine_routes, METH_NOARGS, routes_doc},
    {"origin_keys", (PyCFunction)Engine_origin_keys, METH_NOARGS, origin_keys_doc},
    {"levels", (PyCFunction)Engine_levels, METH_NOARGS, levels_doc},
    {"recount", (PyCFunction)Engine_recount, METH_NOARGS, recount_doc},
    {"counts", (PyCFunction)Engine_counts, METH_NOARGS, counts_doc},
    {"sizes", (PyCFunction)Engine_sizes, METH_NOARGS, sizes_doc},
    {NULL}};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "outagewatch.signals._engine.Core",
    .tp_basicsize = sizeof(Engine),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The compiled signal engine: routing state, visibility, level sums, upstreams, rows.",
    .tp_methods = Engine_methods,
    .tp_init = (initproc)Engine_init,
    .tp_new = PyType_GenericNew,
};

PyDoc_STRVAR(path_facts_doc,
"path_facts(asns, segments) -> (origin, upstream)\n\nThe origin and upstream ASN the engine gives an AS path (lists of\n"
"ints: ASNs, and segment codes type * 256 + count): the rules of docs/signals.md.");

static PyObject *path_facts(PyObject *self, PyObject *args) {
    PyObject *ao, *so;
    if (!PyArg_ParseTuple(args, "OO", &ao, &so)) return NULL;
    PyObject *a = PySequence_Fast(ao, "asns must be a sequence"), *s = a ? PySequence_Fast(so, "segments must be a sequence") : NULL;
    if (!a || !s) {
        Py_XDECREF(a);
        return NULL;
    }
    Py_ssize_t na = PySequence_Fast_GET_SIZE(a), ns = PySequence_Fast_GET_SIZE(s);
    uint32_t *asns = malloc((size_t)(na + 1) * 4);
    uint16_t *segs = malloc((size_t)(ns + 1) * 2);
    PyObject *out = NULL;
    if (!asns || !segs) {
        PyErr_NoMemory();
    } else {
        int ok = 1;
        for (Py_ssize_t k = 0; k < na && ok; k++) {
            unsigned long v = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(a, k));
            ok = !(v == (unsigned long)-1 && PyErr_Occurred()) && v <= UINT32_MAX;
            asns[k] = (uint32_t)v;
        }
        for (Py_ssize_t k = 0; k < ns && ok; k++) {
            unsigned long v = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(s, k));
            ok = !(v == (unsigned long)-1 && PyErr_Occurred()) && v <= UINT16_MAX;
            segs[k] = (uint16_t)v;
        }
        if (!ok) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "an ASN or segment code out of range");
        } else {
            uint32_t o, u;
            origin_upstream(asns, na, segs, ns, &o, &u);
            out = Py_BuildValue("II", o, u);
        }
    }
    free(asns);
    free(segs);
    Py_DECREF(a);
    Py_DECREF(s);
    return out;
}

PyDoc_STRVAR(sum_to_float_doc,
"sum_to_float(value, shift) -> float\n\nvalue / 2**shift correctly rounded: value as 32 bytes, little-endian two's complement\n"
"(int.to_bytes(32, 'little', signed=True)), below 2**191 in size as the engine holds its IPv6\n"
"sums (an exact integer of addresses): how a sum becomes /24- or /48-equivalents.");

static PyObject *sum_to_float(PyObject *self, PyObject *args) {
    const char *bytes;
    Py_ssize_t len;
    int shift;
    if (!PyArg_ParseTuple(args, "y#i", &bytes, &len, &shift)) return NULL;
    if (len != 32) return PyErr_Format(PyExc_ValueError, "32 bytes expected, got %zd", len);
    Big b;
    uint64_t w[4];
    memcpy(w, bytes, 32);
    b.lo = w[0];
    b.hi = (__int128)(((u128)w[2] << 64) | w[1]);
    if ((w[3] != 0 && w[3] != UINT64_MAX) || (w[3] == UINT64_MAX) != (b.hi < 0))
        return PyErr_Format(PyExc_OverflowError, "value out of the engine's sum range");
    return PyFloat_FromDouble(big_double(b, shift));
}

PyDoc_STRVAR(bin_runs_doc,
"bin_runs(timestamps, bin_us, floor) -> [(bin, lo, hi), ...]\n\nThe runs of rows by bin: timestamps (int64 µs, a buffer) in bins of bin_us, each row's bin\n"
"at least floor and at least every earlier row's (a row of a bin before one already seen is late:\n"
"it goes to the latest bin seen). Bins ascend; rows lo .. hi - 1 of each run.");

static PyObject *bin_runs(PyObject *self, PyObject *args) {
    Py_buffer ts;
    long long bin_us, floor_bin;
    if (!PyArg_ParseTuple(args, "y*LL", &ts, &bin_us, &floor_bin)) return NULL;
    PyObject *out = NULL;
    if (bin_us <= 0 || ts.len % 8) {
        PyErr_SetString(PyExc_ValueError, "bin_runs: int64 timestamps and a positive bin length are expected");
        goto done;
    }
    const int64_t *t = ts.buf;
    int64_t n = ts.len / 8, top = floor_bin, lo = 0;
    if (!(out = PyList_New(0))) goto done;
    for (int64_t i = 0; i < n; i++) {
        int64_t b = t[i] / bin_us;
        if (t[i] % bin_us < 0) b--; /* floor */
        if (b <= top) continue;
        if (i > lo) {
            PyObject *run = Py_BuildValue("(LLL)", (long long)top, (long long)lo, (long long)i);
            if (!run || PyList_Append(out, run) < 0) {
                Py_XDECREF(run);
                Py_CLEAR(out);
                goto done;
            }
            Py_DECREF(run);
        }
        top = b;
        lo = i;
    }
    if (n > lo) {
        PyObject *run = Py_BuildValue("(LLL)", (long long)top, (long long)lo, (long long)n);
        if (!run || PyList_Append(out, run) < 0) {
            Py_XDECREF(run);
            Py_CLEAR(out);
        } else {
            Py_DECREF(run);
        }
    }
done:
    PyBuffer_Release(&ts);
    return out;
}

PyDoc_STRVAR(peer_key_doc,
"peer_key(collector_hash, ip, afi) -> int\n\nThe key of a peer: the 64-bit hash of its collector's name, its address\n"
"as the element batches hold it (16 bytes, an IPv4 address in the first 4) and its family.");

static PyObject *py_peer_key(PyObject *self, PyObject *args) {
    unsigned long long coll;
    Py_buffer ip;
    int afi;
    if (!PyArg_ParseTuple(args, "Ky*i", &coll, &ip, &afi)) return NULL;
    if (ip.len != 16 || (afi != 4 && afi != 6)) {
        PyBuffer_Release(&ip);
        PyErr_SetString(PyExc_ValueError, "peer_key: a 16-byte address and family 4 or 6 are expected");
        return NULL;
    }
    uint64_t k = peer_key((uint64_t)coll, ip.buf, (uint8_t)afi);
    PyBuffer_Release(&ip);
    return PyLong_FromUnsignedLongLong(k);
}

static PyMethodDef engine_functions[] = {
    {"path_facts", path_facts, METH_VARARGS, path_facts_doc},
    {"peer_key", py_peer_key, METH_VARARGS, peer_key_doc},
    {"bin_runs", bin_runs, METH_VARARGS, bin_runs_doc},
    {"sum_to_float", sum_to_float, METH_VARARGS, sum_to_float_doc},
    {NULL}};

static struct PyModuleDef engine_module = {PyModuleDef_HEAD_INIT, "_engine", "The compiled signal engine core.", -1,
                                           engine_functions};

PyMODINIT_FUNC PyInit__engine(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&engine_module);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&EngineType) < 0) return NULL;
    if (PyModule_AddIntConstant(m, "M_UP_BASE", M_UP_BASE) < 0 || PyModule_AddIntConstant(m, "M_VIS6", M_VIS6) < 0 ||
        PyModule_AddIntConstant(m, "M_CHURN", M_CHURN) < 0)
        return NULL;
    return m;
}
