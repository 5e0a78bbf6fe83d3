"""Change-coded signals: a state value is written when it changes, and carried until the next.

The dense (per-bin) form holds, for every bin, every signal row (``finalize`` of a bin's
partial). Most of them are state values that did not move since the bin before. The change
form keeps the same rows but writes a *carried* metric only when its value changes:

- **per-bin (churn) metrics**, names starting with ``all.``: a row is that bin's value; never
  carried; kept exactly as the dense form has them (zeros included);
- **carried (state) metrics**, every other name (visibility, full-feed peers, upstreams): a
  row at bin b with value v means "from bin b on, the value is v, until the next row of the
  same (bin_seconds, entity_type, entity, metric)";
- **zeros**: the dense form holds a zero only for ``.visible_`` metrics of countries, prefixes
  and ``global`` and for the full-feed peer counts (:func:`keeps_zero`); any other carried key
  is absent from the dense form when it is 0. A change row may hold 0: the value dropped to
  zero, which ends the previous one.

A **keyframe** bin holds every carried value of the dense form (the first bin an engine
closes), so it does not depend on earlier bins: it ends every value it does not mention.

:class:`Encoder` turns dense bins into change rows, :class:`Carry` turns change rows back into
dense bins; :func:`encode` and :func:`densify` do the same over sequences of bins. Keys are
looked up once per Arrow dictionary entry into dense ids, and values compared as NumPy arrays:
no Python work per row (see :class:`_Index`).

One rule of the dense form is assumed, and holds for the engine: a key whose zeros the dense
form keeps, once present, stays present in every later bin of the same run (an engine never
forgets a country, a watched prefix or the global view). Such a key that vanished would read
as 0 after densifying, not as absent.
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals.growable import Growable, GrowableStrings
from outagewatch.signals.hashing import HashIndex
from outagewatch.signals.metrics import FULL_FEED
from outagewatch.signals.partial import SIGNAL_SCHEMA, TS

CHURN_PREFIX: Final = "all."
ZERO_KEEPING_TYPES: Final = ("country", "prefix", "global")
"""Entity types whose ``.visible_`` metrics the dense form holds even when 0."""
ZERO_KEEPING_METRICS: Final = tuple(FULL_FEED.values())
"""Metrics the dense form holds even when 0, whatever the entity type."""


def is_churn(metric: str) -> bool:
    """A per-bin metric (its row is that bin's value, never carried)."""
    return metric.startswith(CHURN_PREFIX)


def is_carried(metric: str) -> bool:
    """A state metric (its row holds until the next row of the same key)."""
    return not is_churn(metric)


def keeps_zero(entity_type: str, metric: str) -> bool:
    """Whether the dense form holds this carried key when its value is 0 (else it is absent)."""
    if metric in ZERO_KEEPING_METRICS:
        return True
    return ".visible_" in metric and entity_type in ZERO_KEEPING_TYPES


@dataclass(frozen=True, slots=True)
class BinRows:
    """The signal rows of one bin (dense or change-coded); ``keyframe`` for change rows."""

    bin_start_us: int
    bin_seconds: int
    rows: pa.Table
    keyframe: bool = False


class _Names:
    """Dense ids of strings, looked up a whole Arrow dictionary at a time.

    The engine's big dictionaries (AS names, upstream metric names) are append-only arrays
    whose buffers stay put from bin to bin: a dictionary that extends one seen before (same
    buffers, checked equal) only looks up its new tail."""

    __slots__ = ("_cache", "_ids", "_names")
    _CACHED = 64

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._names = GrowableStrings()
        self._cache: OrderedDict[tuple[int, int, int], tuple[pa.Array, npt.NDArray[np.int64]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._names)

    @property
    def array(self) -> pa.Array:
        """Every name, by id."""
        return self._names.array

    def ids(self, dictionary: pa.Array) -> npt.NDArray[np.int64]:
        """The id of every string of ``dictionary`` (non-null strings), adding unknown ones."""
        if len(dictionary) <= 64:  # an entity type, a few metric names: rebuilt every bin
            strings = dictionary.to_pylist()
            try:
                return np.array([self._ids[s] for s in strings], dtype=np.int64)
            except KeyError:
                return self._lookup(strings)
        text = dictionary if dictionary.type == pa.string() else dictionary.cast(pa.string())
        bufs = text.buffers()
        key = (bufs[1].address if bufs[1] else 0, bufs[2].address if bufs[2] else 0, text.offset)
        hit = self._cache.get(key)
        done: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        if hit is not None:
            seen, seen_ids = hit
            n = min(len(seen), len(text))
            if text.slice(0, n).equals(seen.slice(0, n)):
                if n == len(text) == len(seen_ids):
                    return seen_ids  # the same array: callers may key memos on it
                if n == len(text):
                    return seen_ids[:n]
                done = seen_ids
        tail = text.slice(len(done))
        new = self._lookup_many(tail)
        out = np.concatenate([done, new]) if len(done) else new
        self._cache[key] = (text, out)
        self._cache.move_to_end(key)
        while len(self._cache) > self._CACHED:
            self._cache.popitem(last=False)
        return out

    def _lookup_many(self, text: pa.Array) -> npt.NDArray[np.int64]:
        """Ids of a long run of strings: known ones found by Arrow in one pass (a dictionary
        built afresh, e.g. after pickling, holds mostly known names)."""
        if len(text) * 16 < len(self._names) or len(text) < 256:  # Arrow would hash every name
            return self._lookup(text.to_pylist())
        found = pc.index_in(text, value_set=self._names.array).to_numpy(zero_copy_only=False)
        unknown = np.isnan(found) if found.dtype.kind == "f" else np.zeros(len(found), dtype=np.bool_)
        out = np.where(unknown, -1, np.nan_to_num(found, nan=-1)).astype(np.int64)
        if unknown.any():
            rows = np.flatnonzero(unknown)
            out[rows] = self._lookup(text.take(pa.array(rows)).to_pylist())
        return out

    def _lookup(self, strings: list[str | None]) -> npt.NDArray[np.int64]:
        if None in strings:
            raise ValueError("signal rows must not have null entity types, entities or metrics")
        ids = self._ids
        known = len(ids)
        out = [ids.setdefault(s, len(ids)) for s in strings]  # type: ignore[arg-type]  # per name, not per row
        if len(ids) > known:  # the newest keys of the dict, in insertion (= id) order
            added = list(itertools.islice(reversed(ids.keys()), len(ids) - known))[::-1]
            self._names.append(pa.array(added, pa.string()))
        return np.array(out, dtype=np.int64)


CHURN, MATRIX, HASHED = 0, 1, 2
"""Kinds of rows: per-bin, carried in the matrix of fixed metrics, carried in hashed cells."""


@dataclass(slots=True)
class _Part:
    """Rows of one kind from one record batch, as cells (see :class:`_Index`)."""

    batch: pa.RecordBatch
    kind: int
    cell: npt.NDArray[np.int64]  # empty for churn rows
    value: npt.NDArray[np.float64]


_UPSTREAM = re.compile(r"^upstream\.\d+\.")


class _Index:
    """Signal keys → cells, without hashing most rows.

    A key is an (entity type, entity) *pair* and a metric. Pairs get dense ids through one
    array per entity type indexed by entity id; carried metrics of fixed names (visibility,
    full-feed peers, upstream count: the first :attr:`WIDTH`) get columns, and a pair's value
    of such a metric lives in cell ``pair × WIDTH + column`` of a matrix. The per-upstream
    metrics (``upstream.<asn>.*``: thousands of names, few per entity) get hashed cells from
    a hash index of (pair, metric). Ids are looked up per dictionary entry, not per row."""

    WIDTH: Final = 48

    def __init__(self) -> None:
        self.types, self.entities, self.metrics = _Names(), _Names(), _Names()
        self._pair_of: list[npt.NDArray[np.int64]] = []  # per type id: entity id → pair (-1)
        self.pair_type = Growable(np.zeros(0), np.int64)
        self.pair_entity = Growable(np.zeros(0), np.int64)
        self.kind = Growable(np.zeros(0), np.int8)  # per metric id: CHURN, MATRIX or HASHED
        self.column = Growable(np.zeros(0), np.int64)  # per metric id: matrix column (or -1)
        self.column_metric = Growable(np.zeros(0), np.int64)  # per column: metric id
        self.zero_rule = Growable(np.zeros(0), np.int8)  # per metric id: 2 always, 1 by type, 0 never
        self.type_zero = Growable(np.zeros(0), np.bool_)  # per type id
        self.hashed = HashIndex()  # (pair << 32 | metric) → hashed cell
        self._memo: dict[tuple[int, int], tuple[npt.NDArray[np.int64], ...]] = {}

    def size(self, kind: int) -> int:
        """Cells of a kind there can be now."""
        return len(self.pair_type) * self.WIDTH if kind == MATRIX else self.hashed.size

    def parts(self, table: pa.Table) -> list[_Part]:
        """The rows of ``table``, batch by batch, as parts of one kind each."""
        self._memo = {}  # pair ids per (type, entity dictionary), for this table only
        out: list[_Part] = []
        for b in table.to_batches():
            if b.num_rows:
                out.extend(self._batch(b))
        return out

    def _batch(self, b: pa.RecordBatch) -> list[_Part]:
        et, ent, met = (_encoded(b.column(c)) for c in ("entity_type", "entity", "metric"))
        m_ids = self.metrics.ids(met.dictionary)
        t_ids = self.types.ids(et.dictionary)
        e_ids = self.entities.ids(ent.dictionary)
        self._flags()
        value = b.column("value").to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        m_idx = met.indices.to_numpy(zero_copy_only=False)
        kinds = self.kind.view[m_ids]
        if (kinds == CHURN).all():  # checked on the dictionary: a churn block of the engine
            return [_Part(b, CHURN, np.zeros(0, dtype=np.int64), value)]
        e_idx = ent.indices.to_numpy(zero_copy_only=False)
        t_idx = et.indices.to_numpy(zero_copy_only=False)
        one_type = len(t_ids) == 1 or bool((t_idx == t_idx[0]).all())
        if one_type and (kinds == kinds[0]).all():  # one kind, one entity type: by dictionary
            pairs, base = self._dict_pairs(int(t_ids[t_idx[0]]), e_ids)
            if kinds[0] == MATRIX:  # cell = pair × WIDTH + column, both looked up per entry
                return [_Part(b, MATRIX, base[e_idx] + self.column.view[m_ids][m_idx], value)]
            return [self._part(b, int(kinds[0]), pairs[e_idx], m_ids[m_idx], value)]
        row_kind = kinds[m_idx]
        pair = self._pairs(t_ids[t_idx], e_ids[e_idx])
        out = []
        for k in (CHURN, MATRIX, HASHED):
            rows = np.flatnonzero(row_kind == k)
            if len(rows):
                part = b.take(pa.array(rows))
                out.append(self._part(part, k, pair[rows], m_ids[m_idx[rows]], value[rows]))
        return out

    def _part(
        self,
        b: pa.RecordBatch,
        kind: int,
        pair: npt.NDArray[np.int64],
        metric: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
    ) -> _Part:
        if kind == MATRIX:
            return _Part(b, kind, pair * self.WIDTH + self.column.view[metric], value)
        if kind == HASHED:
            key = (pair.astype(np.uint64) << np.uint64(32)) | metric.astype(np.uint64)
            return _Part(b, kind, self.hashed.get_or_insert(key)[0], value)
        return _Part(b, kind, np.zeros(0, dtype=np.int64), value)

    def _dict_pairs(
        self, tid: int, e_ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Pair ids of every entity of a dictionary and their first matrix cells (memo per
        table: its batches share dictionaries)."""
        memo = self._memo.get((tid, id(e_ids)))
        if memo is not None and memo[0] is e_ids:
            return memo[1], memo[2]
        pairs = self._type_pairs(tid, e_ids)
        base = pairs * self.WIDTH
        self._memo[(tid, id(e_ids))] = (e_ids, pairs, base)
        return pairs, base

    def _pairs(self, t: npt.NDArray[np.int64], e: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Pair ids of (type id, entity id) rows, new pairs added."""
        out = np.empty(len(t), dtype=np.int64)
        for tid in np.unique(t).tolist() if len(t) else []:
            rows = np.flatnonzero(t == tid)
            out[rows] = self._type_pairs(tid, e[rows])
        return out

    def _type_pairs(self, tid: int, ent: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Pair ids of entities of one type, new pairs added."""
        while len(self._pair_of) <= tid:
            self._pair_of.append(np.full(0, -1, dtype=np.int64))
        of = self._pair_of[tid]
        if len(of) < len(self.entities):
            grown = np.full(max(len(self.entities), 2 * len(of)), -1, dtype=np.int64)
            grown[: len(of)] = of
            of = self._pair_of[tid] = grown
        got = of[ent]
        if (got < 0).any():
            new = np.unique(ent[got < 0])
            of[new] = np.arange(len(self.pair_type), len(self.pair_type) + len(new))
            self.pair_type.append(np.full(len(new), tid, dtype=np.int64))
            self.pair_entity.append(new)
            got = of[ent]
        return got

    def _flags(self) -> None:
        """Per-name facts for names added since the last call."""
        n = len(self.kind)
        names = self.metrics.array.slice(n).to_pylist() if len(self.metrics) > n else []
        if names:
            kinds, cols = [], []
            for i, m in enumerate(names):  # per new metric name
                if is_churn(m):
                    kinds.append(CHURN)
                    cols.append(-1)
                elif _UPSTREAM.match(m) or len(self.column_metric) >= self.WIDTH:
                    kinds.append(HASHED)
                    cols.append(-1)
                else:
                    kinds.append(MATRIX)
                    cols.append(len(self.column_metric))
                    self.column_metric.append([n + i])
            self.kind.append(kinds)
            self.column.append(cols)
            self.zero_rule.append([_zero_rule(m) for m in names])
        if len(self.type_zero) < len(self.types):
            names = self.types.array.slice(len(self.type_zero)).to_pylist()
            self.type_zero.append([t in ZERO_KEEPING_TYPES for t in names])

    def names(
        self, kind: int, cell: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(pair, metric) of cells of one kind."""
        if kind == HASHED:
            key = self.hashed.keys()[cell]
            return (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
        return cell // self.WIDTH, self.column_metric.view[cell % self.WIDTH]

    def keeps_zero(self, kind: int, cell: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        pair, metric = self.names(kind, cell)
        rule = self.zero_rule.view[metric]
        by_type = self.type_zero.view[self.pair_type.view[pair]]
        out: npt.NDArray[np.bool_] = (rule == 2) | ((rule == 1) & by_type)
        return out

    def table(
        self, kind: int, cell: npt.NDArray[np.int64], value: npt.NDArray[np.float64], at: tuple[int, int]
    ) -> pa.Table:
        """Signal rows of cells of one kind at one bin."""
        pair, metric = self.names(kind, cell)
        n = len(cell)
        cols = [
            pa.array(np.full(n, at[0], dtype=np.int64)).cast(TS),
            pa.array(np.full(n, at[1], dtype=np.int32)),
            pa.DictionaryArray.from_arrays(self.pair_type.view[pair].astype(np.int32), self.types.array),
            pa.DictionaryArray.from_arrays(self.pair_entity.view[pair].astype(np.int32), self.entities.array),
            pa.DictionaryArray.from_arrays(metric.astype(np.int32), self.metrics.array),
            pa.array(np.asarray(value, dtype=np.float64)),
        ]
        return pa.Table.from_arrays(cols, schema=SIGNAL_SCHEMA)


def _encoded(column: pa.Array) -> pa.DictionaryArray:
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if column.null_count:
        raise ValueError("signal rows must not have null entity types, entities or metrics")
    return column


def _zero_rule(metric: str) -> int:
    if metric in ZERO_KEEPING_METRICS:
        return 2
    return 1 if ".visible_" in metric else 0


def _bin_of(table: pa.Table, bin_start_us: int | None, bin_seconds: int | None) -> tuple[int, int]:
    """The bin of ``table``'s rows: as given, else read (and checked) from the rows."""
    if bin_start_us is not None and bin_seconds is not None:
        return bin_start_us, bin_seconds
    if table.num_rows == 0:
        raise ValueError("an empty bin needs its bin_start_us and bin_seconds")
    start = pc.min_max(table.column("bin_start").cast(pa.int64()))
    secs = pc.min_max(table.column("bin_seconds"))
    if start["min"].as_py() != start["max"].as_py() or secs["min"].as_py() != secs["max"].as_py():
        raise ValueError("the rows of one bin must share bin_start and bin_seconds")
    return int(start["min"].as_py()), int(secs["min"].as_py())


def _as_signals(parts: Sequence[pa.Table | pa.RecordBatch]) -> pa.Table:
    tables = [p if isinstance(p, pa.Table) else pa.Table.from_batches([p]) for p in parts]
    cast = [
        t if t.schema.equals(SIGNAL_SCHEMA) else t.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)
        for t in tables
    ]
    return pa.concat_tables(cast) if cast else SIGNAL_SCHEMA.empty_table()


class _Cells:
    """Carried values of one kind of cell: NaN where the dense form holds nothing, and the
    cells that hold a value (``live``, in no order)."""

    def __init__(self) -> None:
        self.value = np.zeros(0, dtype=np.float64)
        self.mark = np.zeros(0, dtype=np.bool_)  # scratch, all False between uses
        self.live = np.zeros(0, dtype=np.int64)

    def fit(self, need: int) -> None:
        """Room for cells 0 … need - 1."""
        if need > len(self.value):
            room = max(need, 2 * len(self.value), 4096) - len(self.value)
            self.value = np.concatenate([self.value, np.full(room, np.nan)])
            self.mark = np.concatenate([self.mark, np.zeros(room, dtype=np.bool_)])

    def split_live(
        self, cells: list[npt.NDArray[np.int64]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The live cells among ``cells`` and the others."""
        for c in cells:
            self.mark[c] = True
        among = self.mark[self.live]
        kept, others = self.live[among], self.live[~among]
        for c in cells:
            self.mark[c] = False
        return kept, others

    def clear(self) -> None:
        self.value[self.live] = np.nan
        self.live = np.zeros(0, dtype=np.int64)


class _State:
    """Every carried value, in cells of two kinds (see :class:`_Index`)."""

    def __init__(self) -> None:
        self.index = _Index()
        self.cells = {MATRIX: _Cells(), HASHED: _Cells()}
        self.bins = 0

    def table(self, kind: int, cell: npt.NDArray[np.int64], at: tuple[int, int]) -> pa.Table:
        return self.index.table(kind, cell, self.cells[kind].value[cell], at)


class Encoder:
    """Dense bins in, change rows out, one bin at a time (the first bin: a keyframe, everything).

    ``step`` returns the bin's churn rows, the carried rows whose value differs from the bin
    before (a key that vanished from the dense form gets a 0 row) and whether it is a keyframe.
    Rows keep the dense table's dictionaries; the 0 rows of vanished keys come last. The bin
    is read from the rows unless given (an empty bin must be given)."""

    def __init__(self) -> None:
        self._s = _State()

    def step(
        self, dense: pa.Table, *, bin_start_us: int | None = None, bin_seconds: int | None = None
    ) -> tuple[pa.Table, bool]:
        at = _bin_of(dense, bin_start_us, bin_seconds)
        s = self._s
        keyframe = s.bins == 0
        s.bins += 1
        out: list[pa.Table | pa.RecordBatch] = []
        seen: dict[int, list[npt.NDArray[np.int64]]] = {MATRIX: [], HASHED: []}
        new: dict[int, list[npt.NDArray[np.int64]]] = {MATRIX: [], HASHED: []}
        held = dict.fromkeys(seen, 0)  # rows whose key held a value in the bin before
        for part in s.index.parts(dense):
            if part.kind == CHURN or keyframe:
                out.append(part.batch)
            if part.kind == CHURN:
                continue
            cells = s.cells[part.kind]
            cells.fit(s.index.size(part.kind))
            old = cells.value[part.cell]
            changed = np.flatnonzero(old != part.value)  # NaN: held nothing
            if not keyframe and len(changed) == len(part.cell):
                out.append(part.batch)
            elif not keyframe and len(changed):
                out.append(part.batch.take(pa.array(changed)))
            was = ~np.isnan(old[changed])
            held[part.kind] += len(part.cell) - len(changed) + int(was.sum())
            new[part.kind].append(part.cell[changed[~was]])
            cells.value[part.cell[changed]] = part.value[changed]
            seen[part.kind].append(part.cell)
        for kind, cells in s.cells.items():
            live, gone = cells.live, np.zeros(0, dtype=np.int64)
            if held[kind] < len(live):  # some key of the bin before has no row now
                live, gone = cells.split_live(seen[kind])
            ended = gone[cells.value[gone] != 0]
            if len(ended):
                out.append(s.index.table(kind, ended, np.zeros(len(ended)), at))
            stays = s.index.keeps_zero(kind, gone)
            cells.value[gone] = np.where(stays, 0.0, np.nan)
            cells.live = np.concatenate([live, *new[kind], gone[stays]])
        return _as_signals(out), keyframe


class Carry:
    """Change rows in, dense bins out: keeps the last value of every carried key.

    A keyframe starts afresh: the values it does not mention end."""

    def __init__(self) -> None:
        self._s = _State()

    def step(
        self,
        changes: pa.Table,
        keyframe: bool,
        *,
        bin_start_us: int | None = None,
        bin_seconds: int | None = None,
    ) -> pa.Table:
        """The dense rows of the bin whose change rows are ``changes``."""
        at = _bin_of(changes, bin_start_us, bin_seconds)
        churn = self.apply(changes, keyframe)
        s = self._s
        return _as_signals([*churn, *(s.table(k, np.sort(c.live), at) for k, c in s.cells.items())])

    def apply(self, changes: pa.Table, keyframe: bool) -> list[pa.RecordBatch]:
        """Take one bin's change rows into the carried values; returns its churn rows."""
        s = self._s
        s.bins += 1
        if keyframe:
            for cells in s.cells.values():
                cells.clear()
        churn: list[pa.RecordBatch] = []
        seen: dict[int, list[npt.NDArray[np.int64]]] = {MATRIX: [], HASHED: []}
        for part in s.index.parts(changes):
            if part.kind == CHURN:
                churn.append(part.batch)
                continue
            cells = s.cells[part.kind]
            cells.fit(s.index.size(part.kind))
            keep = (part.value != 0) | s.index.keeps_zero(part.kind, part.cell)
            cells.value[part.cell] = np.where(keep, part.value, np.nan)
            seen[part.kind].append(part.cell)
        for kind, cells in s.cells.items():
            written = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *seen[kind]]))
            _, others = cells.split_live([written])
            cells.live = np.concatenate([others, written[~np.isnan(cells.value[written])]])
        return churn

    def values(self) -> dict[tuple[str, str, str], float]:
        """``(entity_type, entity, metric) → value`` of every carried key the dense form holds."""
        s = self._s
        out: dict[tuple[str, str, str], float] = {}
        for kind, cells in s.cells.items():
            t = s.table(kind, cells.live, (0, 0))
            cols = [t.column(c).to_pylist() for c in ("entity_type", "entity", "metric", "value")]
            out.update({(a, b, c): v for a, b, c, v in zip(*cols, strict=True)})
        return out


def encode(dense: Iterable[BinRows]) -> list[BinRows]:
    """The change rows of a run of dense bins, in order (the first is the keyframe)."""
    enc = Encoder()
    out = []
    for b in dense:
        rows, key = enc.step(b.rows, bin_start_us=b.bin_start_us, bin_seconds=b.bin_seconds)
        out.append(BinRows(b.bin_start_us, b.bin_seconds, rows, key))
    return out


def densify(changes: Iterable[BinRows]) -> list[BinRows]:
    """The dense rows of change-coded bins, in order (the first must be a keyframe)."""
    carry = Carry()
    out = []
    for i, b in enumerate(changes):
        if i == 0 and not b.keyframe:
            raise ValueError("densify: the first bin must be a keyframe")
        rows = carry.step(b.rows, b.keyframe, bin_start_us=b.bin_start_us, bin_seconds=b.bin_seconds)
        out.append(BinRows(b.bin_start_us, b.bin_seconds, rows))
    return out


__all__ = [
    "CHURN_PREFIX",
    "ZERO_KEEPING_METRICS",
    "ZERO_KEEPING_TYPES",
    "BinRows",
    "Carry",
    "Encoder",
    "densify",
    "encode",
    "is_carried",
    "is_churn",
    "keeps_zero",
]
