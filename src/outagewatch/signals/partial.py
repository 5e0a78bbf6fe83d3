"""Mergeable signal partials: ``empty``, ``add``, ``merge``, ``finalize`` on Arrow tables.

A :class:`SignalPartial` holds, for any set of bins, three tables:

- ``values``: one row per (bin, entity, metric) with a value that merges by **sum** (churn
  counts, full-feed peers) or by **maximum** (visibility metrics: the best view);
- ``upstreams``: (bin, entity, upstream ASN) → full-feed routes through it, merged by sum;
- ``reporters``: distinct (bin, entity, peer) triples, merged by set union.

``merge`` is associative and commutative with ``empty()`` as identity. Work split into
(collector, bin-aligned time slice) tasks gives each bin to exactly one slice, so merging the
slices reproduces the whole run exactly. ``finalize`` derives ``all.peers_reporting``,
``upstream.<asn>.routes`` / ``.share`` and ``upstream.count`` and returns the long signal table
(:data:`SIGNAL_SCHEMA`; string columns dictionary-encoded, rows in no particular order).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals.hashing import HashIndex
from outagewatch.signals.metrics import PEERS_REPORTING, UPSTREAM_COUNT

TS = pa.timestamp("us", tz="UTC")
STR = pa.dictionary(pa.int32(), pa.string())
KEYS: Final = ("bin_start", "bin_seconds", "entity_type", "entity", "metric")
ENTITY_KEYS: Final = KEYS[:4]

SIGNAL_SCHEMA: Final = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("entity_type", STR),
        ("entity", STR),
        ("metric", STR),
        ("value", pa.float64()),
    ]
)
UPSTREAM_SCHEMA: Final = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("entity_type", STR),
        ("entity", STR),
        ("upstream", pa.uint32()),
        ("routes", pa.float64()),
    ]
)
REPORTER_SCHEMA: Final = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("entity_type", STR),
        ("entity", STR),
        ("peer", pa.uint64()),
    ]
)


@dataclass(frozen=True, slots=True)
class SignalPartial:
    """Partial signals of some bins (picklable: three Arrow tables).

    ``derived``, when set, holds the rows :func:`finalize` would derive from ``upstreams`` and
    ``reporters``: the engine knows its groups and writes them as it closes a bin. It is a
    cache, not part of the value: :func:`merge` does not carry it, pickling drops it, and
    equality ignores it."""

    values: pa.Table
    upstreams: pa.Table
    reporters: pa.Table
    derived: pa.Table | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return int(self.values.num_rows + self.upstreams.num_rows + self.reporters.num_rows)

    def __getstate__(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        return (self.values, self.upstreams, self.reporters)

    def __setstate__(self, state: tuple[pa.Table, pa.Table, pa.Table]) -> None:
        for name, table in zip(("values", "upstreams", "reporters"), state, strict=True):
            object.__setattr__(self, name, table)
        object.__setattr__(self, "derived", None)


def empty() -> SignalPartial:
    return SignalPartial(
        SIGNAL_SCHEMA.empty_table(), UPSTREAM_SCHEMA.empty_table(), REPORTER_SCHEMA.empty_table()
    )


def add(partial: SignalPartial, other: SignalPartial) -> SignalPartial:
    """Fold one bin's partial (as the engine emits it) into an accumulated partial."""
    return merge(partial, other)


def merge(a: SignalPartial, b: SignalPartial) -> SignalPartial:
    """Combine two partials: sums and maxima per key, union of reporters."""
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    return SignalPartial(
        _merge_values(a.values, b.values),
        _grouped(a.upstreams, b.upstreams, UPSTREAM_SCHEMA, [*ENTITY_KEYS, "upstream"], [("routes", "sum")]),
        _grouped(a.reporters, b.reporters, REPORTER_SCHEMA, REPORTER_SCHEMA.names, []),
    )


def merge_all(partials: Iterable[SignalPartial]) -> SignalPartial:
    return functools.reduce(merge, partials, empty())


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded string columns → plain strings (for grouping across chunks)."""
    schema = pa.schema([pa.field(f.name, pa.string()) if f.type == STR else f for f in table.schema])
    return table.cast(schema)


def _encoded(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = [
        pc.dictionary_encode(table[f.name]).cast(STR) if f.type == STR else table[f.name].cast(f.type)
        for f in schema
    ]
    return pa.table(cols, schema=schema)


def _grouped(
    a: pa.Table, b: pa.Table, schema: pa.Schema, keys: list[str], aggs: list[tuple[str, str]]
) -> pa.Table:
    out = _plain(pa.concat_tables([a, b])).group_by(keys).aggregate(aggs)
    for col, fn in aggs:
        out = out.rename_columns([col if c == f"{col}_{fn}" else c for c in out.column_names])
    return _encoded(out.select(schema.names), schema)


def _merge_values(a: pa.Table, b: pa.Table) -> pa.Table:
    both = _plain(pa.concat_tables([a, b]))
    is_max = pc.match_substring(both["metric"], ".visible_")
    maxed = both.filter(is_max).group_by(list(KEYS)).aggregate([("value", "max")])
    summed = both.filter(pc.invert(is_max)).group_by(list(KEYS)).aggregate([("value", "sum")])
    parts = [
        t.rename_columns([c if not c.startswith("value") else "value" for c in t.column_names])
        for t in (maxed, summed)
    ]
    return _encoded(pa.concat_tables([p.select(SIGNAL_SCHEMA.names) for p in parts]), SIGNAL_SCHEMA)


def finalize(partial: SignalPartial) -> pa.Table:
    """The long signal table: values plus peers reporting and upstream routes, shares, counts."""
    if partial.derived is not None:
        return pa.concat_tables([_as_signals(partial.values), _as_signals(partial.derived)])
    parts = [partial.values, *_peers_reporting(partial.reporters), *_upstream_rows(partial.upstreams)]
    return pa.concat_tables([_as_signals(p) for p in parts])


def derived(partial: SignalPartial) -> pa.Table:
    """The rows :func:`finalize` derives from ``upstreams`` and ``reporters`` (recomputed,
    whatever ``partial.derived`` holds)."""
    parts = [*_peers_reporting(partial.reporters), *_upstream_rows(partial.upstreams)]
    return pa.concat_tables([_as_signals(p) for p in parts]) if parts else SIGNAL_SCHEMA.empty_table()


def _as_signals(table: pa.Table) -> pa.Table:
    if table.schema.equals(SIGNAL_SCHEMA):
        return table
    return table.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)


def _single(table: pa.Table) -> pa.Table:
    """One chunk per column, dictionaries unified (so indices are comparable across rows)."""
    return table.unify_dictionaries().combine_chunks()


def _groups(t: pa.Table) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group id of every row by (bin, entity), and each group's first row. Exact and without a
    sort: each key column gets dense ids (a constant column: 0; the dictionary columns: their
    indices; the others from a hash index of their exact values), and the ids compose into one
    integer key (a lexsort when that key could overflow)."""
    et, ent = t["entity_type"].chunk(0), t["entity"].chunk(0)
    cols = [
        t["bin_start"].cast(pa.int64()).to_numpy().view(np.uint64),
        t["bin_seconds"].to_numpy().astype(np.uint64),
        et.indices.to_numpy(zero_copy_only=False).astype(np.uint64),
        ent.indices.to_numpy(zero_copy_only=False).astype(np.uint64),
    ]
    key = np.zeros(t.num_rows, dtype=np.uint64)
    span = 1
    for k, c in enumerate(cols):
        if k >= 2:  # dictionary indices are dense ids already
            ids, size = c, len(et.dictionary if k == 2 else ent.dictionary)
        elif c.min() == c.max():
            continue
        else:
            index = HashIndex()
            ids, size = index.get_or_insert(c)[0].astype(np.uint64), index.size
        span *= max(size, 1)
        if span >= 1 << 63:
            return _sorted_groups(cols)
        key = key * np.uint64(size) + ids
    gid, first = HashIndex().get_or_insert(key)
    return gid, first


def _sorted_groups(cols: list[npt.NDArray[np.uint64]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    order = np.lexsort(cols[::-1])
    new = np.zeros(len(order), dtype=bool)
    for c in cols:
        sc = c[order]
        new[1:] |= sc[1:] != sc[:-1]
    new[0] = True
    gid_sorted = np.cumsum(new) - 1
    gid = np.empty(len(order), dtype=np.int64)
    gid[order] = gid_sorted
    return gid, order[np.flatnonzero(new)]


def _keyed(
    t: pa.Table, rows: npt.NDArray[np.int64] | None, metric: pa.Array, value: npt.NDArray[np.float64]
) -> pa.Table:
    """Signal rows keyed as the rows ``rows`` of ``t`` (None: every row, in order)."""
    keys = t.select(list(ENTITY_KEYS))
    if rows is not None:
        keys = keys.take(pa.array(rows))
    return keys.append_column("metric", metric).append_column("value", pa.array(value, pa.float64()))


def _parts(table: pa.Table) -> list[pa.Table]:
    """``table`` as single-chunk tables no two of which share a (bin, entity): its batches when
    each holds one (bin, entity type) and no two the same (an engine bin's blocks), else the
    whole table with its dictionaries unified."""
    batches = [b for b in table.to_batches() if b.num_rows]
    seen: set[tuple[int, int, str]] = set()
    for b in batches:
        start = b.column("bin_start").cast(pa.int64()).to_numpy()
        secs = b.column("bin_seconds").to_numpy()
        et = b.column("entity_type")
        codes = et.indices.to_numpy(zero_copy_only=False)
        if start.min() != start.max() or secs.min() != secs.max() or codes.min() != codes.max():
            return [_single(table)]
        key = (int(start[0]), int(secs[0]), str(et.dictionary[int(codes[0])]))
        if key in seen:
            return [_single(table)]
        seen.add(key)
    return [pa.Table.from_batches([b]) for b in batches]


def _peers_reporting(reporters: pa.Table) -> list[pa.Table]:
    out = []
    for t in _parts(reporters) if reporters.num_rows else []:
        gid, first = _groups(t)
        count = np.bincount(gid).astype(np.float64)
        out.append(_keyed(t, first, const(len(first), PEERS_REPORTING), count))
    return out


def _upstream_rows(ups: pa.Table) -> list[pa.Table]:
    """``upstream.<asn>.routes`` / ``.share`` per (entity, upstream); ``upstream.count`` per entity."""
    return [r for t in (_parts(ups) if ups.num_rows else []) for r in _upstream_part(t)]


def _upstream_part(t: pa.Table) -> list[pa.Table]:
    gid, first = _groups(t)
    routes = t["routes"].to_numpy()
    totals = np.bincount(gid, weights=routes)
    encoded = pc.dictionary_encode(t["upstream"]).chunk(0)  # hash-based: no sort
    asn_idx = encoded.indices.to_numpy()
    names = encoded.dictionary.cast(pa.string())
    routes_m = pc.binary_join_element_wise("upstream.", names, ".routes", "")
    share_m = pc.binary_join_element_wise("upstream.", names, ".share", "")
    idx = asn_idx.reshape(-1).astype(np.int32)
    return [
        _keyed(t, None, pa.DictionaryArray.from_arrays(idx, routes_m), routes),
        _keyed(t, None, pa.DictionaryArray.from_arrays(idx, share_m), routes / totals[gid]),
        _keyed(t, first, const(len(first), UPSTREAM_COUNT), np.bincount(gid).astype(np.float64)),
    ]


def const(n: int, text: str) -> pa.Array:
    """n copies of one string, dictionary-encoded."""
    return pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([text], pa.string()))


def timestamps(n: int, us: int) -> pa.Array:
    """n copies of one µs timestamp, built on the int64 buffer (no cast)."""
    data = pa.py_buffer(np.full(n, us, dtype=np.int64))
    return pa.Array.from_buffers(TS, n, [None, data], null_count=0)
