"""A time window becomes a plan: per collector, the RIB at or before the start plus updates to the end.

Pure. The plan is built either from the archive's directory listings (exact, works for every era)
or, when no listing is available, from the dump schedule (regular eras only). Slicing the plan into
(collector, time-slice) tasks aligned to bin edges is here too: each slice starts from the latest
RIB at or before its start and replays the updates from that RIB to its end.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from outagewatch.backfill.collectors import Collector
from outagewatch.backfill.layout import (
    ArchiveFile,
    LayoutError,
    era,
    floor_to,
    listing_dirs,
    nominal_files,
    nominal_rib_at_or_before,
)


class PlanError(ValueError):
    """A window that cannot be planned (bad bounds, no RIB dump before the start, ...)."""


@dataclass(frozen=True, slots=True)
class CollectorPlan:
    """What one collector contributes: its RIB dumps and update files, plus uncovered spans."""

    collector: str
    ribs: tuple[ArchiveFile, ...]
    """The RIB at or before the window start, then every RIB stamped inside the window."""
    updates: tuple[ArchiveFile, ...]
    """Update files meeting ``[ribs[0].start, end)``, in time order."""
    gaps: tuple[tuple[datetime, datetime], ...] = ()
    """Spans inside ``[ribs[0].start, end)`` that no listed update file covers."""

    @property
    def files(self) -> tuple[ArchiveFile, ...]:
        return self.ribs + self.updates


@dataclass(frozen=True, slots=True)
class Plan:
    start: datetime
    end: datetime
    collectors: tuple[CollectorPlan, ...]
    source: str = "listing"
    """``listing`` (from directory listings) or ``schedule`` (names derived from the dump schedule)."""

    @property
    def files(self) -> tuple[ArchiveFile, ...]:
        return tuple(f for cp in self.collectors for f in cp.files)


@dataclass(frozen=True, slots=True)
class SliceTask:
    """One unit of distributed work: a collector over ``[start, end)``, aligned to bin edges."""

    collector: str
    start: datetime
    end: datetime
    rib: ArchiveFile
    updates: tuple[ArchiveFile, ...] = field(default=())
    """Update files from the RIB on, in time order; read until the engine is past ``end``."""

    @property
    def files(self) -> tuple[ArchiveFile, ...]:
        return (self.rib, *self.updates)


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise PlanError("window bounds must be timezone-aware (UTC)")
    if end <= start:
        raise PlanError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")


def months(start: datetime, end: datetime, lookback: timedelta) -> list[datetime]:
    """First instants of the months from ``start - lookback`` to ``end`` (for directory listings)."""
    at = (start - lookback).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    out: list[datetime] = []
    while at < end:
        out.append(at)
        at = (at + timedelta(days=32)).replace(day=1)
    return out


def dirs_to_list(c: Collector, start: datetime, end: datetime) -> list[str]:
    """Directories whose listings a plan of ``c`` over ``[start, end)`` needs."""
    lookback = era(c.project, max(start, era(c.project, start).since)).rib_every
    return [d for m in months(start, end, lookback) for d in listing_dirs(c, m)]


Span = tuple[datetime, datetime]


def _gaps(files: Sequence[ArchiveFile], start: datetime, end: datetime) -> tuple[Span, ...]:
    out: list[Span] = []
    cursor = start
    for f in files:
        if f.start > cursor:
            out.append((cursor, min(f.start, end)))
        cursor = max(cursor, f.end)
    if cursor < end:
        out.append((cursor, end))
    return tuple(g for g in out if g[1] > g[0])


def plan_from_files(
    c: Collector, start: datetime, end: datetime, available: Iterable[ArchiveFile]
) -> CollectorPlan:
    """Plan ``c`` over ``[start, end)`` from the files an archive listing shows."""
    _check_window(start, end)
    files = sorted(f for f in available if f.collector == c.name)
    ribs = [f for f in files if f.kind == "rib"]
    before = [r for r in ribs if r.start <= start]
    if not before:
        raise PlanError(f"{c.name}: no RIB dump at or before {start:%Y-%m-%d %H:%M} in the archive listing")
    first = before[-1]
    inside = [r for r in ribs if start < r.start < end]
    updates = [f for f in files if f.kind == "updates" and f.end > first.start and f.start < end]
    return CollectorPlan(c.name, (first, *inside), tuple(updates), _gaps(updates, first.start, end))


def plan_from_schedule(c: Collector, start: datetime, end: datetime) -> CollectorPlan:
    """Plan ``c`` over ``[start, end)`` from the dump schedule (regular eras only)."""
    _check_window(start, end)
    try:
        first = nominal_rib_at_or_before(c, start)
        inside = [r for r in nominal_files(c, "rib", start, end) if r.start > start]
        updates = nominal_files(c, "updates", first.start, end)
    except LayoutError as exc:
        raise PlanError(str(exc)) from exc
    return CollectorPlan(c.name, (first, *inside), tuple(updates))


def plan_window(
    collectors: Sequence[Collector],
    start: datetime,
    end: datetime,
    listings: Mapping[str, Sequence[ArchiveFile]] | None = None,
) -> Plan:
    """The plan for every collector; ``listings`` maps collector name → listed files (when known)."""
    _check_window(start, end)
    parts: list[CollectorPlan] = []
    for c in collectors:
        if listings is not None and c.name in listings:
            parts.append(plan_from_files(c, start, end, listings[c.name]))
        else:
            parts.append(plan_from_schedule(c, start, end))
    source = "listing" if listings and all(c.name in listings for c in collectors) else "schedule"
    return Plan(start, end, tuple(parts), source)


def slice_edges(start: datetime, end: datetime, slice_seconds: int, bin_seconds: int) -> list[datetime]:
    """Slice boundaries covering ``[start, end)``: multiples of ``slice_seconds`` (a multiple of the bin)."""
    if slice_seconds <= 0 or bin_seconds <= 0 or slice_seconds % bin_seconds:
        raise PlanError(f"slice of {slice_seconds} s is not a positive multiple of the {bin_seconds} s bin")
    step = timedelta(seconds=slice_seconds)
    edges = [start]
    at = floor_to(start, step) + step
    while at < end:
        edges.append(at)
        at += step
    edges.append(end)
    return edges


def _updates_from(cp: CollectorPlan, rib: ArchiveFile) -> tuple[ArchiveFile, ...]:
    """Update files after ``rib``, to the end of the plan: a task reads on until its engine has
    moved past the slice end, because a file stamped after the end can still hold late elements
    that a continuous run bins into the slice's last bin."""
    return tuple(u for u in cp.updates if u.end > rib.start)


def _rib_edges(cp: CollectorPlan, plan: Plan, step: timedelta) -> list[datetime]:
    """RIB dump times inside the window, rounded down to a bin edge: no task straddles a RIB."""
    return sorted(
        {floor_to(r.start, step) for r in cp.ribs if plan.start < r.start < plan.end} - {plan.start}
    )


def _tasks(cp: CollectorPlan, edges: Sequence[datetime]) -> list[SliceTask]:
    out: list[SliceTask] = []
    for lo, hi in itertools.pairwise(sorted(set(edges))):
        rib = [r for r in cp.ribs if r.start <= lo][-1]
        out.append(SliceTask(cp.collector, lo, hi, rib, _updates_from(cp, rib)))
    return out


def slice_tasks(plan: Plan, slice_seconds: int, bin_seconds: int) -> list[SliceTask]:
    """(collector, slice) tasks at multiples of ``slice_seconds`` and at RIB dumps; each starts from
    the latest RIB at or before its start and lists the update files from that RIB on (the worker
    stops reading once it is past the slice end)."""
    edges = slice_edges(plan.start, plan.end, slice_seconds, bin_seconds)
    step = timedelta(seconds=bin_seconds)
    return [t for cp in plan.collectors for t in _tasks(cp, [*edges, *_rib_edges(cp, plan, step)])]


def segment_tasks(plan: Plan, bin_seconds: int) -> list[SliceTask]:
    """One task per (collector, stretch between RIB dumps): the plan run as the local engine does.

    Each segment starts at the window start or at a RIB dump (rounded down to a bin edge) and
    runs to the next one, so every task starts exactly from its RIB; slices of any length give
    the same bins (see :func:`slice_tasks`).
    """
    step = timedelta(seconds=bin_seconds)
    return [
        t for cp in plan.collectors for t in _tasks(cp, [plan.start, *_rib_edges(cp, plan, step), plan.end])
    ]
