"""Replay detection over a long signal table (Arrow): every entity's series folded through ``step``.

Pure: an Arrow table of signal rows (``bin_start``, ``entity_type``, ``entity``, ``metric``,
``value``) and a bin grid in, events out. Used by benchmarks and batch runners that hold the
signals in memory rather than in the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.detect import instability, outage, upstream
from outagewatch.detect.detector import DEFAULT_PARAMS, Params
from outagewatch.detect.event import Event, latest
from outagewatch.detect.point import UPDATES, Point, dense_points, reliable_bins, wanted_metric


def series_by_entity(signals: pa.Table) -> dict[tuple[str, str], list[tuple[int, str, float]]]:
    """``(entity_type, entity) → [(bin_start epoch s, metric, value)]`` for the metrics detectors read."""
    metric = signals.column("metric").cast(pa.string())
    names = [m for m in pc.unique(metric).to_pylist() if m is not None and wanted_metric(m)]
    keep = signals.filter(pc.is_in(metric, pa.array(names, pa.string())))
    starts = pc.divide(keep.column("bin_start").cast(pa.int64()), 1_000_000).to_pylist()
    cols = [keep.column(c).cast(pa.string()).to_pylist() for c in ("entity_type", "entity", "metric")]
    values = keep.column("value").to_pylist()
    out: dict[tuple[str, str], list[tuple[int, str, float]]] = {}
    for et, e, t, m, v in zip(cols[0], cols[1], starts, cols[2], values, strict=True):
        out.setdefault((et, e), []).append((int(t), m, float(v)))
    return out


def detect_signals(
    signals: pa.Table,
    grid: Sequence[tuple[int, bool]],
    bin_seconds: int,
    params: Params = DEFAULT_PARAMS,
    *,
    entity_types: Sequence[str] = ("country", "as", "prefix", "global"),
    min_peers: int = 3,
) -> list[Event]:
    """Every detector over every entity of ``signals``; returns every emission in order of entity."""
    series = series_by_entity(signals)
    ok = reliable_bins(series.get(("global", "all"), []), min_peers=min_peers)
    events: list[Event] = []
    for (et, e), rows in sorted(series.items()):
        if et not in entity_types:
            continue
        events.extend(replay(dense_points(grid, bin_seconds, rows, ok), et, e, params))
    return events


def replay(
    points: Sequence[Point], entity_type: str, entity: str, params: Params = DEFAULT_PARAMS
) -> list[Event]:
    """The events of ``fold(points, initial(entity_type, entity), params)``, faster: a detector that
    provably cannot fire on this series (see the ``*_quiet`` screens) is not run at all. Returns
    the emissions in bin order (for one entity, the same events as the fold)."""
    run_o = not outage_quiet(points, params.outage)
    run_i = not instability_quiet(points, params.instability)
    run_u = not upstream_quiet(points, entity_type, params.upstream)
    so, si, su = outage.OutageState(), instability.InstabilityState(), upstream.UpstreamState()
    events: list[Event] = []
    for p in points if (run_o or run_i or run_u) else ():
        if run_i:
            si, ev = instability.step(si, p, entity_type, entity, params.instability)
            events.extend(ev)
        if run_o:
            so, ev = outage.step(so, p, entity_type, entity, params.outage)
            events.extend(ev)
        if run_u:
            su, ev = upstream.step(su, p, entity_type, entity, params.upstream)
            events.extend(ev)
    return events


def outage_quiet(points: Sequence[Point], p: outage.OutageParams) -> bool:
    """No bin can be below: a baseline median is at most the series maximum M, and a bin below
    needs a value ≤ median − max(min_drop_share · median, min_drop_abs) ≤ that bound at M."""
    usable = [pt for pt in points if pt.complete and pt.reliable]
    for m in outage.MEASURES:
        xs = [pt.get(m) for pt in usable]
        if not xs:
            continue
        top = max(xs)
        if top >= p.min_baseline and min(xs) <= top - max(p.min_drop_share * top, p.min_drop_abs):
            return False
    return True


def instability_quiet(points: Sequence[Point], p: instability.InstabilityParams) -> bool:
    """Never ``min_updates`` updates within one hour of complete bins."""
    ups = [pt.get(UPDATES) for pt in points if pt.complete]
    if not ups:
        return True
    hour = max(1, 3600 // points[0].bin_seconds)
    window = sum(ups[:hour])
    best = window
    for i in range(hour, len(ups)):
        window += ups[i] - ups[i - hour]
        best = max(best, window)
    return best < p.min_updates


def upstream_quiet(points: Sequence[Point], entity_type: str, p: upstream.UpstreamParams) -> bool:
    """Every upstream's share (0 where absent, in bins with routes) varies by less than
    ``min(min_margin / 2, share_drop)``: a switch needs two shares to move by ``min_margin`` in
    total, a drop needs the dominant one to move by ``share_drop``. Never quiet for the entity
    types with single-upstream detection."""
    if entity_type in p.single_entity_types:
        return False
    limit = min(p.min_margin / 2, p.share_drop)
    rows = [pt.upstream_shares() for pt in points if pt.complete]
    rows = [r for r in rows if r]
    asns = {a for r in rows for a in r}
    for a in asns:
        values = [r.get(a, 0.0) for r in rows]
        if max(values) - min(values) >= limit:
            return False
    return True


__all__ = [
    "detect_signals",
    "instability_quiet",
    "latest",
    "outage_quiet",
    "replay",
    "series_by_entity",
    "upstream_quiet",
]
