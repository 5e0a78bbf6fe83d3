"""The processing half of ``outagewatch backfill``: plan + local files → signals, events, store.

Two modes share every core function and give identical results (``tests/test_dask_runner.py``):

- **local** (no ``--dask`` / ``--workers``): one task per (collector, stretch between RIB dumps),
  run in this process: each task is a continuous engine run from its RIB dump, as ``ingest`` does;
- **dask**: (collector, ``--slice-seconds``) tasks on a cluster, each starting from the latest RIB
  at or before its start (:mod:`outagewatch.engine.dask_runner`).

Either way the partials merge into one series (churn sums, visibility takes the best collector's
view), which is finalised bin by bin and handed to the detectors, and change-coded
(:func:`outagewatch.signals.changes.encode`, the first bin a keyframe) for the store.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from outagewatch.backfill.plan import Plan, segment_tasks
from outagewatch.detect import Event, latest
from outagewatch.detect.replay import detect_signals
from outagewatch.engine.dask_runner import (
    SliceConfig,
    SliceResult,
    dask_client,
    dense_bins,
    map_fold_local,
    run_slices,
)
from outagewatch.signals.changes import BinRows, encode
from outagewatch.signals.partial import SIGNAL_SCHEMA


@dataclass(frozen=True, slots=True)
class RunOptions:
    db: Path | None = Path("outagewatch.duckdb")
    country: str | None = None
    bin_seconds: int = 300
    slice_seconds: int = 28800
    dask_address: str | None = None
    workers: int | None = None
    progress: bool = False
    watch: tuple[str, ...] = ()
    mapper_factory: Callable[[], Any] | None = None
    reader: Callable[[str, str], Iterable[pa.RecordBatch]] | None = None
    """``(path, collector) → batches``; ``None``: the MRT reader."""


@dataclass(slots=True)
class Outcome:
    """What a backfill run produced (also what the tests compare between modes)."""

    mode: str
    signals: pa.Table
    """The dense signal rows of every bin (what the ``signals`` view shows once stored)."""
    changes: list[BinRows]
    """The same bins change-coded, in bin order (the first a keyframe): what is stored."""
    events: list[Event]
    result: SliceResult
    seconds: float
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def describe(self, country: str | None = None) -> str:
        r = self.result
        lines = [
            f"backfill ({self.mode}): {r.tasks} tasks, {r.read:,} elements read, {r.elements:,} in window, "
            f"{r.bins.num_rows} bins, {self.signals.num_rows:,} signal rows, {len(self.events)} events, "
            f"{self.seconds:.1f} s",
        ]
        shown = [
            e for e in self.events if country is None or country in (e.entity, e.evidence.get("country"))
        ]
        lines += [f"  {e.kind} {e.entity_type} {e.entity}: {e.summary}" for e in shown[:20]]
        if r.problems:
            lines.append(f"  {len(r.problems)} parse problems, first: {r.problems[0]}")
        return "\n".join(lines)


def _grid(plan: Plan, bins: pa.Table, bin_seconds: int) -> list[tuple[int, bool]]:
    have = {int(t.timestamp()) for t in bins.column("bin_start").to_pylist()}
    step = timedelta(seconds=bin_seconds)
    out, at = [], plan.start
    while at < plan.end:
        out.append((int(at.timestamp()), int(at.timestamp()) in have))
        at += step
    return out


def detect_events(signals: pa.Table, grid: Sequence[tuple[int, bool]], bin_seconds: int) -> list[Event]:
    """Every detector over the merged series (the detectors' own replay); last emission per event."""
    return latest(detect_signals(signals, grid, bin_seconds))


def compute(plan: Plan, local: Mapping[str, Path], opts: RunOptions, client: Any | None = None) -> Outcome:
    """Run the plan (on ``client`` when given, else locally) and detect; nothing is stored."""
    t0 = time.perf_counter()
    cfg = SliceConfig(
        bin_seconds=opts.bin_seconds, watch=opts.watch, mapper_factory=opts.mapper_factory, reader=opts.reader
    )
    if client is None:
        paths = {k: str(v) for k, v in local.items()}
        tasks = segment_tasks(plan, opts.bin_seconds)
        result, mode = map_fold_local(tasks, paths, cfg, progress=opts.progress), "local"
    else:
        result = run_slices(
            plan, local, cfg, slice_seconds=opts.slice_seconds, client=client, progress=opts.progress
        )
        mode = f"dask, {len(client.scheduler_info().get('workers', {}))} workers"
    dense = dense_bins(result)
    signals = pa.concat_tables([b.rows for b in dense]) if dense else SIGNAL_SCHEMA.empty_table()
    events = detect_events(signals, _grid(plan, result.bins, opts.bin_seconds), opts.bin_seconds)
    return Outcome(mode, signals, encode(dense), events, result, time.perf_counter() - t0)


def _replace_window(con: Any, plan: Plan, outcome: Outcome) -> None:
    """The backfill owns its window: its bins' signals replace whatever the store held there.

    The window is deleted (its change rows and bins; the bin after it keeps its values), then
    the run's change rows are written, the first bin a keyframe: a re-run with fewer entities
    leaves no stale values behind. A run without bins leaves the store as it was."""
    from outagewatch.store.changes import delete_range, write_changes

    coded = outcome.changes
    if not coded:
        return
    width = coded[0].bin_seconds
    delete_range(con, bin_seconds=width, start=plan.start, end=plan.end)
    write_changes(
        con,
        pa.concat_tables([b.rows for b in coded]),
        bin_seconds=width,
        bins=[b.bin_start_us for b in coded],
        keyframes=[b.bin_start_us for b in coded if b.keyframe],
    )


def store(db: Path, plan: Plan, outcome: Outcome, started: datetime) -> None:
    """Write signals, peers, bins, events and the run record into the DuckDB store."""
    from outagewatch.store.db import connect
    from outagewatch.store.writes import RunRecord, upsert, write_run

    con = connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        _replace_window(con, plan, outcome)
        upsert(con, "peers", outcome.result.peers)
        bins = outcome.result.bins
        n = bins.num_rows
        upsert(
            con,
            "bins",
            bins.append_column("complete", pa.array([True] * n)).append_column(
                "note", pa.array([None] * n, pa.string())
            ),
        )
        for e in outcome.events:
            row = e.row()
            row["evidence"] = json.dumps(row["evidence"], default=str)
            cols = ", ".join(f'"{k}"' for k in row)
            marks = ", ".join("?" for _ in row)
            con.execute(f"INSERT OR REPLACE INTO events ({cols}) VALUES ({marks})", list(row.values()))
        r = outcome.result
        details = {
            "mode": outcome.mode,
            "tasks": r.tasks,
            "read": r.read,
            "task_seconds": r.seconds,
            "window": [plan.start.isoformat(), plan.end.isoformat()],
            "plan_source": plan.source,
        }
        write_run(
            con,
            RunRecord(
                outcome.run_id,
                "backfill",
                started,
                datetime.now(tz=UTC),
                outcome.seconds,
                [f.path for f in plan.files],
                r.elements,
                len(r.problems),
                n,
                "ok",
                details,
            ),
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def run_plan(plan: Plan, local: Mapping[str, Path], opts: RunOptions) -> Outcome:
    """Process ``plan`` in the mode ``opts`` asks for and store the outcome in ``opts.db``."""
    started = datetime.now(tz=UTC)
    if opts.dask_address or opts.workers:
        with dask_client(opts.dask_address, opts.workers) as client:
            outcome = compute(plan, local, opts, client)
    else:
        outcome = compute(plan, local, opts)
    if opts.db is not None:
        store(opts.db, plan, outcome, started)
    return outcome
