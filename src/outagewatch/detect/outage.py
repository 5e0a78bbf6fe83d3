"""Outage detector: address visibility falls below a robust trailing baseline for k bins.

Method (defaults in :class:`OutageParams`, documented in docs/detection.md):

* measures: IPv4 /24-equivalents and IPv6 /48-equivalents visible to ≥ 50 % of full-feed peers
  (``ipv4.visible_slash24.ff_50pct``, ``ipv6.visible_slash48.ff_50pct``); prefix counts are kept
  as evidence;
* baseline per measure: median and MAD of a trailing window of complete bins that were neither
  inside an outage nor part of a run of low bins;
* a bin is *below* when a measure with a baseline of at least ``min_baseline`` falls at least
  ``max(n_mad · 1.4826 · MAD, min_drop_share · median, min_drop_abs)`` under its median;
* ``k_bins`` consecutive complete bins below open an outage whose start is the first of them;
  the baseline is frozen while it is open; the first bin back within half that gap on every
  measure closes it (end = that bin's start);
* scope: ``full`` when the peak share of the baseline lost reaches ``full_share``, else ``partial``.

Incomplete or unreliable bins (too few full-feed peers, a shrinking peer set) and gaps in the
bin sequence reset a run of low bins: they never open an outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outagewatch.detect.baseline import MAD_TO_SIGMA, Window
from outagewatch.detect.event import Event, severity_of
from outagewatch.detect.evolve import evolve
from outagewatch.detect.point import (
    V4_PREFIXES,
    V4_SLASH24,
    V4_SLASH24_ANY,
    V6_PREFIXES,
    V6_SLASH48,
    V6_SLASH48_ANY,
    Point,
)

MEASURES = (V4_SLASH24, V6_SLASH48)
"""Measures that open and close outages."""
TRACKED = (V4_SLASH24, V4_PREFIXES, V4_SLASH24_ANY, V6_SLASH48, V6_PREFIXES, V6_SLASH48_ANY)
"""Measures kept in the baselines and the evidence."""


@dataclass(frozen=True)
class OutageParams:
    k_bins: int = 2
    window_bins: int = 288
    min_history: int = 12
    n_mad: float = 4.0
    min_drop_share: float = 0.1
    min_drop_abs: float = 1.0
    min_baseline: float = 1.0
    full_share: float = 0.95
    severity_cuts: tuple[float, float, float] = (0.25, 0.5, 0.95)
    slice_before: int = 12
    slice_max: int = 288
    refresh_bins: int = 6


@dataclass(frozen=True)
class OpenOutage:
    start: int
    baseline: Mapping[str, tuple[float, float]]
    peak_share: float
    minimum: Mapping[str, float]
    bins_below: int
    scope: str
    severity: str
    slice_start: int
    slice: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class OutageState:
    windows: Mapping[str, Window] = field(default_factory=dict)
    pending: tuple[tuple[int, tuple[float, ...]], ...] = ()
    recent: tuple[tuple[int, tuple[float, ...]], ...] = ()
    last_bin: int | None = None
    open: OpenOutage | None = None
    cache: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    fed_since_refresh: int = 0


def _values(point: Point) -> tuple[float, ...]:
    return tuple(point.get(m) for m in TRACKED)


def _baselines(state: OutageState) -> dict[str, tuple[float, float]]:
    return {m: (w.median(), w.mad()) for m, w in state.windows.items()}


def _refreshed(state: OutageState, p: OutageParams) -> OutageState:
    """Recompute the cached baselines of the opening measures every ``refresh_bins`` fed bins."""
    if state.cache and state.fed_since_refresh < p.refresh_bins:
        return state
    cache = {m: (w.median(), w.mad()) for m, w in state.windows.items() if m in MEASURES}
    return evolve(state, cache=cache, fed_since_refresh=0)


def _gap(median: float, mad: float, p: OutageParams) -> float:
    return max(p.n_mad * MAD_TO_SIGMA * mad, p.min_drop_share * median, p.min_drop_abs)


def drop_share(
    values: tuple[float, ...], baseline: Mapping[str, tuple[float, float]], p: OutageParams
) -> tuple[bool, bool, float]:
    """(below, recovered, share lost) of one bin's values against the baselines."""
    below, recovered, share = False, True, 0.0
    for m in MEASURES:
        med, mad = baseline.get(m, (0.0, 0.0))
        if med < p.min_baseline:
            continue
        x = values[TRACKED.index(m)]
        gap = _gap(med, mad, p)
        share = max(share, (med - x) / med)
        below = below or x <= med - gap
        recovered = recovered and x >= med - gap / 2.0
    return below, recovered, max(share, 0.0)


def _feed(
    state: OutageState, runs: tuple[tuple[int, tuple[float, ...]], ...], p: OutageParams
) -> OutageState:
    windows = dict(state.windows)
    for _, values in runs:
        for i, m in enumerate(TRACKED):
            windows[m] = windows.get(m, Window()).push(values[i], p.window_bins)
    return evolve(state, windows=windows, fed_since_refresh=state.fed_since_refresh + len(runs))


def step(
    state: OutageState, point: Point, entity_type: str, entity: str, p: OutageParams
) -> tuple[OutageState, list[Event]]:
    """Advance the outage detector of one entity by one bin."""
    if not point.complete or not point.reliable:
        return evolve(state, pending=()), []
    contiguous = state.last_bin is not None and point.bin_start - state.last_bin == point.bin_seconds
    values = _values(point)
    recent = (*state.recent[-(p.slice_before - 1) :], (point.bin_start, values))
    pending = state.pending if contiguous else ()
    state = evolve(state, last_bin=point.bin_start, recent=recent)
    if state.open is not None:
        return _step_open(state, point, values, entity_type, entity, p)
    if len(next(iter(state.windows.values()), Window())) < p.min_history:
        return _feed(evolve(state, pending=()), ((point.bin_start, values),), p), []
    state = _refreshed(state, p)
    below, _, _ = drop_share(values, state.cache, p)
    if not below:
        return _feed(evolve(state, pending=()), (*pending, (point.bin_start, values)), p), []
    pending = (*pending, (point.bin_start, values))
    if len(pending) < p.k_bins:
        return evolve(state, pending=pending), []
    return _open(state, pending, {**_baselines(state), **state.cache}, point, entity_type, entity, p)


def _open(
    state: OutageState,
    pending: tuple[tuple[int, tuple[float, ...]], ...],
    base: dict[str, tuple[float, float]],
    point: Point,
    entity_type: str,
    entity: str,
    p: OutageParams,
) -> tuple[OutageState, list[Event]]:
    start = pending[0][0]
    before = [v for t, v in state.recent if t < start][-p.slice_before :]
    slice_start = start - len(before) * point.bin_seconds
    shares = [drop_share(v, base, p)[2] for _, v in pending]
    mins = {m: min(v[i] for _, v in pending) for i, m in enumerate(TRACKED)}
    peak = max(shares)
    scope = "full" if peak >= p.full_share else "partial"
    ev = OpenOutage(
        start,
        base,
        peak,
        mins,
        len(pending),
        scope,
        severity_of(peak, p.severity_cuts),
        slice_start,
        (*before, *(v for _, v in pending)),
    )
    state = evolve(state, pending=(), open=ev)
    return state, [_event(ev, None, point.bin_start, "opened", entity_type, entity, point.bin_seconds)]


def _step_open(
    state: OutageState,
    point: Point,
    values: tuple[float, ...],
    entity_type: str,
    entity: str,
    p: OutageParams,
) -> tuple[OutageState, list[Event]]:
    ev = state.open
    assert ev is not None
    below, recovered, share = drop_share(values, ev.baseline, p)
    if recovered and not below:
        closed = evolve(ev, slice=(*ev.slice, values)[: p.slice_max])
        event = _event(
            closed, point.bin_start, point.bin_start, "closed", entity_type, entity, point.bin_seconds
        )
        return evolve(state, open=None, pending=()), [event]
    peak = max(ev.peak_share, share)
    scope = "full" if peak >= p.full_share else "partial"
    sev = severity_of(peak, p.severity_cuts)
    mins = {m: min(ev.minimum[m], values[i]) for i, m in enumerate(TRACKED)}
    grown = (*ev.slice, values) if len(ev.slice) < p.slice_max else ev.slice
    new = evolve(
        ev,
        peak_share=peak,
        minimum=mins,
        bins_below=ev.bins_below + 1,
        scope=scope,
        severity=sev,
        slice=grown,
    )
    state = evolve(state, open=new)
    if (scope, sev) != (ev.scope, ev.severity):
        return state, [_event(new, None, point.bin_start, "updated", entity_type, entity, point.bin_seconds)]
    return state, []


def _event(
    ev: OpenOutage, end: int | None, at: int, transition: str, entity_type: str, entity: str, bin_seconds: int
) -> Event:
    lost = {m: max(0.0, ev.baseline.get(m, (0.0, 0.0))[0] - ev.minimum[m]) for m in TRACKED}
    evidence: dict[str, Any] = {
        "share_lost": round(ev.peak_share, 6),
        "baseline": {m: {"median": b[0], "mad": b[1]} for m, b in ev.baseline.items()},
        "minimum": dict(ev.minimum),
        "lost": lost,
        "bins_below": ev.bins_below,
        "slice": {
            "from": ev.slice_start,
            "bin_seconds": bin_seconds,
            "metrics": {m: [v[i] for v in ev.slice] for i, m in enumerate(TRACKED)},
        },
    }
    v4 = ev.baseline.get(V4_SLASH24, (0.0, 0.0))[0]
    parts = []
    if v4 > 0:
        parts.append(f"{lost[V4_SLASH24]:g} of {v4:g} /24-equivalents, {lost[V4_PREFIXES]:g} prefixes")
    v6 = ev.baseline.get(V6_SLASH48, (0.0, 0.0))[0]
    if v6 > 0:
        parts.append(f"{lost[V6_SLASH48]:g} of {v6:g} IPv6 /48-equivalents, {lost[V6_PREFIXES]:g} prefixes")
    summary = f"{ev.scope} outage: {ev.peak_share:.0%} of visible address space lost ({'; '.join(parts)})"
    return Event(
        "outage",
        entity_type,
        entity,
        ev.start,
        end,
        ev.severity,
        round(ev.peak_share, 6),
        summary,
        at,
        transition,
        ev.scope,
        evidence,
    )


__all__ = ["MEASURES", "TRACKED", "OpenOutage", "OutageParams", "OutageState", "drop_share", "step"]
