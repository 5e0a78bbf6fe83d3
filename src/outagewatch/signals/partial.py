"""Mergeable signal partials: ``empty``, ``add``, ``merge``, ``finalize`` on Arrow tables.

A :class:`SignalPartial` holds, for any set of bins:

- ``values``: one row per (bin, entity, metric) with a value that merges by **sum** (churn
  counts, full-feed peers, upstream routes) or by **maximum** (visibility: the best view);
- ``reporters``: distinct (bin, entity, peer) triples, merged by set union, finalised into
  ``all.peers_reporting``.

``merge`` is associative and commutative with ``empty()`` as identity. Work split into
(collector, bin-aligned time slice) tasks gives each bin to exactly one slice, so merging the
slices reproduces the whole run exactly. ``finalize`` adds the derived metrics
(``all.peers_reporting``, ``upstream.<asn>.share``, ``upstream.count``) and returns the long
signal table (schema :data:`SIGNAL_SCHEMA`), sorted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals.metrics import PEERS_REPORTING, UPSTREAM_COUNT

TS = pa.timestamp("us", tz="UTC")
KEYS: Final = ("bin_start", "bin_seconds", "entity_type", "entity", "metric")

SIGNAL_SCHEMA: Final = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("entity_type", pa.string()),
        ("entity", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]
)
REPORTER_SCHEMA: Final = pa.schema(
    [
        ("bin_start", TS),
        ("bin_seconds", pa.int32()),
        ("entity_type", pa.string()),
        ("entity", pa.string()),
        ("peer", pa.uint64()),
    ]
)


@dataclass(frozen=True, slots=True)
class SignalPartial:
    """Partial signals of some bins (picklable: two Arrow tables)."""

    values: pa.Table
    reporters: pa.Table

    def __len__(self) -> int:
        return int(self.values.num_rows + self.reporters.num_rows)


def empty() -> SignalPartial:
    return SignalPartial(SIGNAL_SCHEMA.empty_table(), REPORTER_SCHEMA.empty_table())


def add(partial: SignalPartial, other: SignalPartial) -> SignalPartial:
    """Fold one bin's partial (as the engine emits it) into an accumulated partial."""
    return merge(partial, other)


def merge(a: SignalPartial, b: SignalPartial) -> SignalPartial:
    """Combine two partials: sums and maxima per key, union of reporters."""
    if a.values.num_rows == 0 and a.reporters.num_rows == 0:
        return b
    if b.values.num_rows == 0 and b.reporters.num_rows == 0:
        return a
    return SignalPartial(_merge_values(a.values, b.values), _merge_reporters(a.reporters, b.reporters))


def merge_all(partials: Iterable[SignalPartial]) -> SignalPartial:
    return functools.reduce(merge, partials, empty())


def _merge_values(a: pa.Table, b: pa.Table) -> pa.Table:
    both = pa.concat_tables([a, b])
    is_max = pc.match_substring(both["metric"], ".visible_")
    maxed = both.filter(is_max).group_by(list(KEYS)).aggregate([("value", "max")])
    summed = both.filter(pc.invert(is_max)).group_by(list(KEYS)).aggregate([("value", "sum")])
    parts = [t.rename_columns([*KEYS, "value"]).select(SIGNAL_SCHEMA.names) for t in (maxed, summed)]
    return pa.concat_tables(parts).cast(SIGNAL_SCHEMA)


def _merge_reporters(a: pa.Table, b: pa.Table) -> pa.Table:
    both = pa.concat_tables([a, b])
    names = REPORTER_SCHEMA.names
    return both.group_by(names).aggregate([]).select(names).cast(REPORTER_SCHEMA)


def finalize(partial: SignalPartial) -> pa.Table:
    """The long signal table: stored values plus peers reporting and upstream shares/counts."""
    values = partial.values
    parts = [values, _peers_reporting(partial.reporters), *_upstream_derived(values)]
    out = pa.concat_tables([p.cast(SIGNAL_SCHEMA) for p in parts])
    return out.sort_by([(k, "ascending") for k in KEYS])


def _peers_reporting(reporters: pa.Table) -> pa.Table:
    keys = list(KEYS[:4])
    counts = reporters.group_by(keys).aggregate([("peer", "count")])
    n = counts.num_rows
    return pa.table(
        {
            **{k: counts[k] for k in keys},
            "metric": pa.array([PEERS_REPORTING] * n, pa.string()) if n else pa.array([], pa.string()),
            "value": counts["peer_count"].cast(pa.float64()),
        }
    )


def _upstream_derived(values: pa.Table) -> list[pa.Table]:
    routes = values.filter(
        pc.and_(pc.starts_with(values["metric"], "upstream."), pc.ends_with(values["metric"], ".routes"))
    )
    keys = list(KEYS[:4])
    totals = routes.group_by(keys).aggregate([("value", "sum"), ("value", "count")])
    share_tab = routes.join(totals, keys=keys)
    share = pc.divide(share_tab["value"], share_tab["value_sum"])
    share_metric = pc.replace_substring_regex(share_tab["metric"], r"\.routes$", ".share")
    shares = pa.table({**{k: share_tab[k] for k in keys}, "metric": share_metric, "value": share})
    counts = _upstream_counts(values, totals)
    return [shares, counts]


def _upstream_counts(values: pa.Table, totals: pa.Table) -> pa.Table:
    """``upstream.count`` for every entity with visibility values (0 when no upstream is seen)."""
    keys = list(KEYS[:4])
    vis = values.filter(
        pc.and_(
            pc.match_substring(values["metric"], ".visible_prefixes.ff_any"),
            pc.not_equal(values["entity_type"], "global"),
        )
    )
    ents = pa.concat_tables([vis.select(keys), totals.select(keys)]).group_by(keys).aggregate([])
    joined = ents.join(totals, keys=keys, join_type="left outer")
    n = joined.num_rows
    count = pc.fill_null(joined["value_count"], 0).cast(pa.float64())
    metric = pa.array([UPSTREAM_COUNT] * n, pa.string()) if n else pa.array([], pa.string())
    return pa.table({**{k: joined[k] for k in keys}, "metric": metric, "value": count})


def block(
    bin_start_us: int,
    bin_seconds: int,
    entity_type: str,
    entities: pa.Array,
    metrics: list[str],
    values: npt.NDArray[np.float64],
    keep: npt.NDArray[np.bool_] | None = None,
) -> pa.Table:
    """Rows for an entities × metrics value matrix (``values[e, m]``), optionally masked."""
    n_e, n_m = values.shape
    ent = np.repeat(np.arange(n_e, dtype=np.int32), n_m)
    met = np.tile(np.arange(n_m, dtype=np.int32), n_e)
    flat = values.reshape(-1)
    if keep is not None:
        sel = np.flatnonzero(keep.reshape(-1))
        ent, met, flat = ent[sel], met[sel], flat[sel]
    n = len(flat)
    return pa.table(
        {
            "bin_start": pa.array(np.full(n, bin_start_us, dtype=np.int64)).cast(TS),
            "bin_seconds": pa.array(np.full(n, bin_seconds, dtype=np.int32)),
            "entity_type": pa.DictionaryArray.from_arrays(
                np.zeros(n, dtype=np.int32), pa.array([entity_type])
            ).cast(pa.string()),
            "entity": pa.DictionaryArray.from_arrays(ent, entities.cast(pa.string())).cast(pa.string()),
            "metric": pa.DictionaryArray.from_arrays(met, pa.array(metrics, pa.string())).cast(pa.string()),
            "value": pa.array(flat.astype(np.float64)),
        }
    )


def reporter_block(
    bin_start_us: int,
    bin_seconds: int,
    entity_type: str,
    entities: pa.Array,
    entity_idx: npt.NDArray[np.int64],
    peer: npt.NDArray[np.uint64],
) -> pa.Table:
    """Distinct (entity, peer) reporter rows."""
    key = np.unique(np.stack([entity_idx.astype(np.uint64), peer]), axis=1)
    n = key.shape[1]
    return pa.table(
        {
            "bin_start": pa.array(np.full(n, bin_start_us, dtype=np.int64)).cast(TS),
            "bin_seconds": pa.array(np.full(n, bin_seconds, dtype=np.int32)),
            "entity_type": pa.DictionaryArray.from_arrays(
                np.zeros(n, dtype=np.int32), pa.array([entity_type])
            ).cast(pa.string()),
            "entity": pa.DictionaryArray.from_arrays(
                key[0].astype(np.int32), entities.cast(pa.string())
            ).cast(pa.string()),
            "peer": pa.array(key[1], pa.uint64()),
        }
    )
