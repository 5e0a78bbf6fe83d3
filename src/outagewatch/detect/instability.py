"""Instability detector: routing churn per prefix above a robust baseline, with its trend.

Method (defaults in :class:`InstabilityParams`, documented in docs/detection.md):

* churn of a bin = ``all.updates`` (announcements + withdrawals) of the entity; the *level* is
  the churn of the last hour (a sliding sum over ``hour_bins`` bins) per visible prefix (the
  larger of the current and the last non-zero count at ≥ 50 % of full-feed peers);
* baseline = median of the hourly levels of past, completed hours outside instability events
  (a trailing week), floored at ``floor_per_prefix``;
* an event opens when the level stays ≥ ``ratio_open`` × baseline, with at least ``min_updates``
  updates in the hour, for ``k_bins`` bins (start = the first of them); with less than
  ``min_history_hours`` of history it needs ``cold_per_prefix`` updates per prefix per hour;
* it closes when the level stays < ``ratio_close`` × baseline for ``close_bins`` bins (end = the
  first of them); the baseline is frozen while it is open;
* trend: Mann-Kendall + Theil-Sen over the hourly levels of the last 6 … 48 hours
  (:func:`outagewatch.detect.trend.increasing_hours`), capped at the number of consecutive
  hours whose level exceeded ``elevated_ratio`` × baseline: "increasing for 24 h".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from outagewatch.detect.baseline import Window
from outagewatch.detect.event import Event, severity_of
from outagewatch.detect.point import PATH_CHANGES, UPDATES, V4_PREFIXES, V6_PREFIXES, WITHDRAWALS, Point
from outagewatch.detect.trend import increasing_hours


@dataclass(frozen=True)
class InstabilityParams:
    hour_bins: int = 12
    baseline_hours: int = 168
    trend_hours: int = 48
    min_history_hours: int = 6
    floor_per_prefix: float = 0.5
    cold_per_prefix: float = 20.0
    ratio_open: float = 3.0
    ratio_close: float = 1.5
    min_updates: float = 30.0
    k_bins: int = 3
    close_bins: int = 12
    severity_cuts: tuple[float, float, float] = (5.0, 10.0, 30.0)
    elevated_ratio: float = 1.2


@dataclass(frozen=True)
class OpenInstability:
    start: int
    baseline: float
    peak_ratio: float
    peak_level: float
    severity: str
    trend_hours: int
    trend_z: float
    quiet_since: int | None = None
    quiet_bins: int = 0
    updates: float = 0.0
    withdrawals: float = 0.0
    path_changes: float = 0.0


@dataclass(frozen=True)
class InstabilityState:
    recent: tuple[tuple[int, float, float, float], ...] = ()
    prefixes: float = 0.0
    hour_sum: float = 0.0
    hour_bins: int = 0
    hourly: tuple[float, ...] = ()
    baseline: Window = field(default_factory=Window)
    above: tuple[int, ...] = ()
    last_bin: int | None = None
    open: OpenInstability | None = None
    elevated_hours: int = 0


def _baseline(state: InstabilityState, p: InstabilityParams) -> float:
    return max(state.baseline.median(), p.floor_per_prefix)


def _advance(state: InstabilityState, point: Point, p: InstabilityParams) -> InstabilityState:
    """Account the bin: sliding hour, prefix count, hourly history."""
    ups, wd, pc = point.get(UPDATES), point.get(WITHDRAWALS), point.get(PATH_CHANGES)
    visible = point.get(V4_PREFIXES) + point.get(V6_PREFIXES)
    prefixes = visible if visible > 0 else state.prefixes
    recent = (*state.recent[-(p.hour_bins - 1) :], (point.bin_start, ups, wd, pc))
    hour_sum, hour_bins = state.hour_sum + ups, state.hour_bins + 1
    hourly, baseline, elevated = state.hourly, state.baseline, state.elevated_hours
    if hour_bins >= p.hour_bins:
        level = hour_sum / max(prefixes, 1.0)
        hourly = (*hourly[-(p.trend_hours - 1) :], level)
        ref = state.open.baseline if state.open is not None else _baseline(state, p)
        elevated = elevated + 1 if level > p.elevated_ratio * ref else 0
        if state.open is None:
            baseline = baseline.push(level, p.baseline_hours)
        hour_sum, hour_bins = 0.0, 0
    return replace(
        state,
        recent=recent,
        prefixes=prefixes,
        hour_sum=hour_sum,
        hour_bins=hour_bins,
        hourly=hourly,
        baseline=baseline,
        last_bin=point.bin_start,
        elevated_hours=elevated,
    )


def _trend(state: InstabilityState) -> tuple[int, float]:
    """(hours of significant increase, capped at the elevated hours; Mann-Kendall z)."""
    trend = increasing_hours(state.hourly)
    hours = min(trend.hours, state.elevated_hours)
    return hours, trend.z if hours else 0.0


def step(
    state: InstabilityState, point: Point, entity_type: str, entity: str, p: InstabilityParams
) -> tuple[InstabilityState, list[Event]]:
    """Advance the instability detector of one entity by one bin."""
    if not point.complete:
        return replace(state, above=()), []
    state = _advance(state, point, p)
    updates = sum(r[1] for r in state.recent)
    level = updates / max(state.prefixes, 1.0)
    base = _baseline(state, p)
    if state.open is not None:
        return _step_open(state, point, level, entity_type, entity, p)
    if len(state.baseline) >= p.min_history_hours:
        hot = level >= p.ratio_open * base
    else:
        hot = level >= p.cold_per_prefix
    if not (hot and updates >= p.min_updates):
        return replace(state, above=()), []
    above = (*state.above, point.bin_start)
    if len(above) < p.k_bins:
        return replace(state, above=above), []
    hours, z = _trend(state)
    ev = OpenInstability(
        above[0], base, level / base, level, severity_of(level / base, p.severity_cuts), hours, z
    )
    ev = _totals(ev, state)
    state = replace(state, above=(), open=ev)
    return state, [_event(ev, None, point.bin_start, "opened", entity_type, entity, state)]


def _totals(ev: OpenInstability, state: InstabilityState) -> OpenInstability:
    return replace(
        ev,
        updates=ev.updates + state.recent[-1][1],
        withdrawals=ev.withdrawals + state.recent[-1][2],
        path_changes=ev.path_changes + state.recent[-1][3],
    )


def _step_open(
    state: InstabilityState, point: Point, level: float, entity_type: str, entity: str, p: InstabilityParams
) -> tuple[InstabilityState, list[Event]]:
    ev = state.open
    assert ev is not None
    ratio = level / ev.baseline
    if ratio < p.ratio_close:
        quiet_since = ev.quiet_since if ev.quiet_since is not None else point.bin_start
        ev = replace(ev, quiet_since=quiet_since, quiet_bins=ev.quiet_bins + 1)
        if ev.quiet_bins >= p.close_bins:
            event = _event(ev, quiet_since, point.bin_start, "closed", entity_type, entity, state)
            return replace(state, open=None, above=()), [event]
        return replace(state, open=ev), []
    ev = _totals(replace(ev, quiet_since=None, quiet_bins=0), state)
    trend = _trend(state) if state.hour_bins == 0 else None
    new = replace(
        ev,
        peak_ratio=max(ev.peak_ratio, ratio),
        peak_level=max(ev.peak_level, level),
        trend_hours=max(ev.trend_hours, trend[0]) if trend else ev.trend_hours,
        trend_z=max(ev.trend_z, trend[1]) if trend else ev.trend_z,
    )
    new = replace(new, severity=severity_of(new.peak_ratio, p.severity_cuts))
    state = replace(state, open=new)
    if new.severity != ev.severity or new.trend_hours > ev.trend_hours:
        return state, [_event(new, None, point.bin_start, "updated", entity_type, entity, state)]
    return state, []


def _event(
    ev: OpenInstability,
    end: int | None,
    at: int,
    transition: str,
    entity_type: str,
    entity: str,
    state: InstabilityState,
) -> Event:
    evidence: dict[str, Any] = {
        "ratio": round(ev.peak_ratio, 3),
        "baseline_per_prefix_hour": round(ev.baseline, 6),
        "peak_per_prefix_hour": round(ev.peak_level, 6),
        "prefixes": state.prefixes,
        "trend": {"increasing_hours": ev.trend_hours, "mann_kendall_z": ev.trend_z},
        "totals": {"updates": ev.updates, "withdrawals": ev.withdrawals, "path_changes": ev.path_changes},
        "hourly_per_prefix": [round(v, 6) for v in state.hourly],
    }
    trend = f", increasing for {ev.trend_hours} h" if ev.trend_hours else ""
    summary = (
        f"instability: updates {ev.peak_ratio:.1f}× baseline ({ev.peak_level:.2f} per prefix per hour{trend})"
    )
    return Event(
        "instability",
        entity_type,
        entity,
        ev.start,
        end,
        ev.severity,
        round(ev.peak_ratio, 3),
        summary,
        at,
        transition,
        None,
        evidence,
    )


__all__ = ["InstabilityParams", "InstabilityState", "OpenInstability", "step"]
