"""One bin of signals for one entity: the input of every detector.

A :class:`Point` is a plain value (epoch seconds, flags and a metric → value mapping), so a
detector's input can come from a replay of the store, from the live engine, or from a test.
:func:`dense_points` turns the long signal rows of one entity into one point per bin of a bin
grid, filling the metrics the engine did not write (an entity with nothing visible has no rows)
with zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

V4_PREFIXES: Final = "ipv4.visible_prefixes.ff_50pct"
V4_SLASH24: Final = "ipv4.visible_slash24.ff_50pct"
V6_PREFIXES: Final = "ipv6.visible_prefixes.ff_50pct"
V6_SLASH48: Final = "ipv6.visible_slash48.ff_50pct"
V4_SLASH24_ANY: Final = "ipv4.visible_slash24.ff_any"
V6_SLASH48_ANY: Final = "ipv6.visible_slash48.ff_any"
UPDATES: Final = "all.updates"
WITHDRAWALS: Final = "all.withdrawals"
PATH_CHANGES: Final = "all.path_changes"
PEERS_REPORTING: Final = "all.peers_reporting"
UPSTREAM_COUNT: Final = "upstream.count"
FULL_FEED_V4: Final = "ipv4.full_feed_peers"
FULL_FEED_V6: Final = "ipv6.full_feed_peers"

VISIBILITY_METRICS: Final[tuple[str, ...]] = (V4_SLASH24, V4_PREFIXES, V6_SLASH48, V6_PREFIXES)
"""The measures the outage detector watches, most telling first."""

DETECTOR_METRICS: Final[tuple[str, ...]] = (
    *VISIBILITY_METRICS,
    V4_SLASH24_ANY,
    V6_SLASH48_ANY,
    UPDATES,
    WITHDRAWALS,
    PATH_CHANGES,
    PEERS_REPORTING,
    UPSTREAM_COUNT,
    FULL_FEED_V4,
    FULL_FEED_V6,
)
"""Metrics a detector reads (plus every ``upstream.<asn>.share``); the full-feed peer counts
(entity ``global/all``) decide which bins are reliable."""


@dataclass(frozen=True)
class Point:
    """The signals of one entity in one bin.

    ``bin_start`` is in epoch seconds (UTC). ``complete`` is false for bins the engine marked
    incomplete (a data gap, a collector missing): such bins are skipped by every detector.
    ``reliable`` is false when the full-feed peer set is too small or just shrank (see
    :func:`reliable_bins`): visibility says nothing then, so the outage detector skips the bin.
    """

    bin_start: int
    bin_seconds: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    complete: bool = True
    reliable: bool = True
    shares: Mapping[str, float] | None = field(default=None, compare=False, repr=False)
    """``upstream_shares()`` precomputed (by :func:`dense_points`); None: derived from ``metrics``."""

    def get(self, metric: str) -> float:
        """The value of ``metric`` in this bin, 0.0 when the engine wrote none."""
        return float(self.metrics.get(metric, 0.0))

    def upstream_shares(self) -> dict[str, float]:
        """``{asn: share}`` of every ``upstream.<asn>.share`` metric with a positive share."""
        if self.shares is not None:
            return dict(self.shares)
        return _shares(self.metrics.items())


def _is_share(metric: str) -> bool:
    return metric.startswith("upstream.") and metric.endswith(".share")


def _share_asn(metric: str) -> str:
    """The upstream ASN of an ``upstream.<asn>.share`` metric."""
    return metric[len("upstream.") : -len(".share")]


def _shares(items: Iterable[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in items:
        if value > 0 and _is_share(name):
            out[_share_asn(name)] = float(value)
    return out


def wanted_metric(metric: str) -> bool:
    """Whether a detector reads this metric."""
    return metric in DETECTOR_METRICS or _is_share(metric)


def dense_points(
    grid: Sequence[tuple[int, bool]],
    bin_seconds: int,
    rows: Iterable[tuple[int, str, float]],
    global_ok: Mapping[int, bool] | None = None,
) -> list[Point]:
    """One point per bin of ``grid`` (``(bin_start, complete)``, ascending) from ``(bin_start,
    metric, value)`` rows of one entity. A bin absent from ``global_ok`` or mapped to False (see
    :func:`reliable_bins`) is marked unreliable: its visibility says nothing."""
    by_bin: dict[int, dict[str, float]] = {}
    for start, metric, value in rows:
        by_bin.setdefault(start, {})[metric] = value
    empty: dict[str, float] = {}
    shares = {start: _shares(m.items()) for start, m in by_bin.items()}
    return [
        Point(
            start,
            bin_seconds,
            by_bin.get(start, empty),
            complete,
            global_ok is None or global_ok.get(start, False),
            shares.get(start, empty),
        )
        for start, complete in grid
    ]


class MetricRow(Mapping[str, float]):
    """One bin of one entity's metrics: a row of a dense (bins × metrics) matrix sharing one
    name → column index; metrics the engine did not write in that bin read 0."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: Sequence[float]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, metric: str) -> float:
        return self._values[self._index[metric]]

    def get(self, metric: str, default: Any = None) -> Any:  # the hot call: no KeyError round trip
        i = self._index.get(metric)
        return default if i is None else self._values[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def points_from_columns(
    grid: Sequence[tuple[int, bool]],
    bin_seconds: int,
    t: npt.NDArray[np.int64],
    metric: npt.NDArray[np.int64],
    names: Sequence[str],
    value: npt.NDArray[np.float64],
    global_ok: Mapping[int, bool] | None = None,
) -> list[Point]:
    """:func:`dense_points` from columns: bin starts ``t`` (epoch seconds), metric codes into
    ``names`` and values, for a contiguous ``grid``; one matrix per entity instead of a dict per
    bin (the same points, read through :class:`MetricRow`)."""
    n = len(grid)
    if n == 0:
        return []
    first = grid[0][0]
    if grid[-1][0] != first + (n - 1) * bin_seconds:
        rows = zip(t.tolist(), [names[c] for c in metric.tolist()], value.tolist(), strict=True)
        return dense_points(grid, bin_seconds, rows, global_ok)
    ti = (t - first) // bin_seconds
    ok = (ti >= 0) & (ti < n)
    codes, local = np.unique(metric[ok], return_inverse=True)
    mat = np.zeros((n, len(codes)), dtype=np.float64)
    mat[ti[ok], local.reshape(-1)] = value[ok]
    index = {names[c]: j for j, c in enumerate(codes.tolist())}
    shares = _share_rows(mat, index)
    values = mat.tolist()
    return [
        Point(
            start,
            bin_seconds,
            MetricRow(index, values[k]),
            complete,
            global_ok is None or global_ok.get(start, False),
            shares[k],
        )
        for k, (start, complete) in enumerate(grid)
    ]


def _share_rows(mat: npt.NDArray[np.float64], index: Mapping[str, int]) -> list[dict[str, float]]:
    cols = [(j, _share_asn(m)) for m, j in index.items() if _is_share(m)]
    out: list[dict[str, float]] = [{} for _ in range(len(mat))]
    for j, asn in cols:
        col = mat[:, j]
        for k in np.flatnonzero(col > 0).tolist():
            out[k][asn] = float(col[k])
    return out


def reliable_bins(
    global_rows: Iterable[tuple[int, str, float]], min_peers: int = 3, max_drop: float = 0.3
) -> dict[int, bool]:
    """Bins whose full-feed peer sets can judge visibility, from the ``global/all`` rows: in each
    family that has full-feed peers (now or in the previous bin), at least ``min_peers`` of them
    and not ``max_drop`` fewer than in the previous bin (a shrinking peer set moves every share)."""
    peers: dict[int, dict[str, float]] = {}
    for start, metric, value in global_rows:
        if metric in (FULL_FEED_V4, FULL_FEED_V6):
            peers.setdefault(start, {})[metric] = value
    out: dict[int, bool] = {}
    previous: dict[str, float] = {}
    for start in sorted(peers):
        ok = True
        for fam in (FULL_FEED_V4, FULL_FEED_V6):
            n, before = peers[start].get(fam, 0.0), previous.get(fam, 0.0)
            if n > 0 or before > 0:
                ok = ok and n >= min_peers and n >= (1 - max_drop) * before
        out[start] = ok and any(v > 0 for v in peers[start].values())
        previous = peers[start]
    return out


__all__ = [
    "DETECTOR_METRICS",
    "FULL_FEED_V4",
    "FULL_FEED_V6",
    "PATH_CHANGES",
    "PEERS_REPORTING",
    "UPDATES",
    "UPSTREAM_COUNT",
    "V4_PREFIXES",
    "V4_SLASH24",
    "V4_SLASH24_ANY",
    "V6_PREFIXES",
    "V6_SLASH48",
    "V6_SLASH48_ANY",
    "VISIBILITY_METRICS",
    "WITHDRAWALS",
    "MetricRow",
    "Point",
    "dense_points",
    "points_from_columns",
    "reliable_bins",
    "wanted_metric",
]
