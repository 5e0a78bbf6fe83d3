"""Instability detector: routing churn per prefix above a robust baseline, with its trend.

Method (defaults in :class:`InstabilityParams`, documented in docs/detection.md):

* churn of a bin = ``all.updates`` (announcements + withdrawals) per visible prefix (prefixes at
  ≥ 50 % of full-feed peers, the last non-zero count during an outage); an entity never seen
  visible has no per-prefix churn and is skipped;
* *level* = churn per prefix per hour over the last hour, robust to single spikes: the mean of
  the hour's bins after dropping its ``spike_bins`` largest, scaled to an hour (one flap of a
  prefix is not instability; sustained churn is);
* baseline = median of the levels at the end of past, completed hours outside instability
  events (a trailing week), floored at ``floor_per_prefix``;
* an event opens when the level stays ≥ ``ratio_open`` × baseline, with at least ``min_updates``
  updates in the hour, for ``open_bins`` bins (start = the first of them); with less than
  ``min_history_hours`` of history it needs ``cold_per_prefix`` updates per prefix per hour;
* it closes when the level stays < ``ratio_close`` × baseline for ``close_seconds`` (end = the
  first bin of that quiet run); the baseline is frozen while it is open;
* trend: Mann-Kendall + Theil-Sen over the hourly levels of the last 6 … 48 hours
  (:func:`outagewatch.detect.trend.increasing_hours`), capped at the number of consecutive
  hours whose level exceeded ``elevated_ratio`` × baseline: "increasing for 24 h".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outagewatch.detect.baseline import Window
from outagewatch.detect.event import Event, severity_of
from outagewatch.detect.evolve import evolve
from outagewatch.detect.point import PATH_CHANGES, UPDATES, V4_PREFIXES, V6_PREFIXES, WITHDRAWALS, Point
from outagewatch.detect.trend import increasing_hours


@dataclass(frozen=True)
class InstabilityParams:
    baseline_hours: int = 168
    trend_hours: int = 48
    min_history_hours: int = 6
    floor_per_prefix: float = 0.5
    cold_per_prefix: float = 20.0
    ratio_open: float = 3.0
    ratio_close: float = 1.5
    min_updates: float = 30.0
    spike_bins: int = 2
    open_bins: int = 3
    close_seconds: int = 3600
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
    recent: tuple[tuple[int, float, float, float, float], ...] = ()
    prefixes: float = 0.0
    hour_bins: int = 0
    hourly: tuple[float, ...] = ()
    baseline: Window = field(default_factory=Window)
    above: tuple[int, ...] = ()
    last_bin: int | None = None
    open: OpenInstability | None = None
    elevated_hours: int = 0


def _per_hour(bin_seconds: int) -> int:
    return max(1, 3600 // bin_seconds)


def _baseline(state: InstabilityState, p: InstabilityParams) -> float:
    return max(state.baseline.median(), p.floor_per_prefix)


def level(state: InstabilityState, bin_seconds: int, p: InstabilityParams) -> float:
    """Churn per prefix per hour over the last hour, without its ``spike_bins`` largest bins."""
    values = sorted(r[1] for r in state.recent)
    keep = values[: max(1, len(values) - p.spike_bins)] if len(values) > p.spike_bins else values
    return sum(keep) / max(len(keep), 1) * _per_hour(bin_seconds)


def _advance(state: InstabilityState, point: Point, p: InstabilityParams) -> InstabilityState:
    """Account the bin: the last hour of churn, the prefix count, the hourly history."""
    ups, wd, pc = point.get(UPDATES), point.get(WITHDRAWALS), point.get(PATH_CHANGES)
    visible = point.get(V4_PREFIXES) + point.get(V6_PREFIXES)
    prefixes = visible if visible > 0 else state.prefixes
    churn = ups / prefixes if prefixes > 0 else 0.0
    hour = _per_hour(point.bin_seconds)
    recent = (
        (*state.recent[-(hour - 1) :], (point.bin_start, churn, ups, wd, pc))
        if hour > 1
        else ((point.bin_start, churn, ups, wd, pc),)
    )
    state = evolve(
        state, recent=recent, prefixes=prefixes, last_bin=point.bin_start, hour_bins=state.hour_bins + 1
    )
    if state.hour_bins < hour:
        return state
    now = level(state, point.bin_seconds, p)
    ref = state.open.baseline if state.open is not None else _baseline(state, p)
    return evolve(
        state,
        hour_bins=0,
        hourly=(*state.hourly[-(p.trend_hours - 1) :], now),
        baseline=state.baseline if state.open is not None else state.baseline.push(now, p.baseline_hours),
        elevated_hours=state.elevated_hours + 1 if now > p.elevated_ratio * ref else 0,
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
        return evolve(state, above=()), []
    state = _advance(state, point, p)
    if state.prefixes <= 0:
        return state, []
    now = level(state, point.bin_seconds, p)
    if state.open is not None:
        return _step_open(state, point, now, entity_type, entity, p)
    base = _baseline(state, p)
    hot = now >= (p.ratio_open * base if len(state.baseline) >= p.min_history_hours else p.cold_per_prefix)
    if not (hot and sum(r[2] for r in state.recent) >= p.min_updates):
        return evolve(state, above=()), []
    above = (*state.above, point.bin_start)
    if len(above) < p.open_bins:
        return evolve(state, above=above), []
    hours, z = _trend(state)
    ratio = now / base
    ev = OpenInstability(above[0], base, ratio, now, severity_of(ratio, p.severity_cuts), hours, z)
    ev = _totals(ev, state.recent[-len(above) :])
    state = evolve(state, above=(), open=ev)
    return state, [_event(ev, None, point.bin_start, "opened", entity_type, entity, state)]


def _totals(ev: OpenInstability, rows: tuple[tuple[int, float, float, float, float], ...]) -> OpenInstability:
    return evolve(
        ev,
        updates=ev.updates + sum(r[2] for r in rows),
        withdrawals=ev.withdrawals + sum(r[3] for r in rows),
        path_changes=ev.path_changes + sum(r[4] for r in rows),
    )


def _step_open(
    state: InstabilityState, point: Point, now: float, entity_type: str, entity: str, p: InstabilityParams
) -> tuple[InstabilityState, list[Event]]:
    ev = _totals(state.open, state.recent[-1:])  # type: ignore[arg-type]
    ratio = now / ev.baseline
    if ratio < p.ratio_close:
        quiet_since = ev.quiet_since if ev.quiet_since is not None else point.bin_start
        ev = evolve(ev, quiet_since=quiet_since, quiet_bins=ev.quiet_bins + 1)
        if ev.quiet_bins * point.bin_seconds >= p.close_seconds:
            event = _event(ev, quiet_since, point.bin_start, "closed", entity_type, entity, state)
            return evolve(state, open=None, above=()), [event]
        return evolve(state, open=ev), []
    trend = _trend(state) if state.hour_bins == 0 else (0, 0.0)
    new = evolve(
        ev,
        quiet_since=None,
        quiet_bins=0,
        peak_ratio=max(ev.peak_ratio, ratio),
        peak_level=max(ev.peak_level, now),
        trend_hours=max(ev.trend_hours, trend[0]),
        trend_z=max(ev.trend_z, trend[1]),
    )
    new = evolve(new, severity=severity_of(new.peak_ratio, p.severity_cuts))
    state = evolve(state, open=new)
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


__all__ = ["InstabilityParams", "InstabilityState", "OpenInstability", "level", "step"]
