"""Replay detection over a long signal table (Arrow): every entity's series folded through ``step``.

Pure: an Arrow table of signal rows (``bin_start``, ``entity_type``, ``entity``, ``metric``,
``value``) and a bin grid in, events out. Used by benchmarks and batch runners that hold the
signals in memory rather than in the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.detect.detector import DEFAULT_PARAMS, Params, fold, initial
from outagewatch.detect.event import Event, latest
from outagewatch.detect.point import dense_points, reliable_bins, wanted_metric


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
        _, emitted = fold(dense_points(grid, bin_seconds, rows, ok), initial(et, e), params)
        events.extend(emitted)
    return events


__all__ = ["detect_signals", "latest", "series_by_entity"]
