"""The processing half of ``outagewatch backfill``: plan + local files → signals, events, store.

Two modes share every core function and give identical results (``tests/test_dask_runner.py``):

- **local** (no ``--dask`` / ``--workers``): one task per (collector, stretch between RIB dumps),
  run in this process: each task is a continuous engine run from its RIB dump, as ``ingest`` does;
- **dask**: (collector, ``--slice-seconds``) tasks on a cluster, each starting from the latest RIB
  at or before its start (:mod:`outagewatch.engine.dask_runner`).

Either way the partials merge into one series (churn sums, visibility takes the best collector's
view), which is finalised, stored, and handed to the detectors bin by bin.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.backfill.plan import Plan, segment_tasks
from outagewatch.detect import Event, dense_points, fold, initial, latest
from outagewatch.detect.point import wanted_metric
from outagewatch.engine.dask_runner import (
    SliceConfig,
    SliceResult,
    dask_client,
    finalize,
    map_fold_local,
    run_slices,
)


@dataclass(frozen=True, slots=True)
class RunOptions:
    db: Path | None = Path("outagewatch.duckdb")
    country: str | None = None
    bin_seconds: int = 300
    slice_seconds: int = 3600
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
    """Every detector over the merged series, entity by entity; the last emission of each event."""
    wanted = signals.filter(pc.is_in(signals["metric"], pa.array(sorted(_wanted(signals)))))
    wanted = pa.table(
        {
            "et": wanted["entity_type"].cast(pa.string()),
            "e": wanted["entity"].cast(pa.string()),
            "t": pc.divide(wanted["bin_start"].cast(pa.int64()), 1_000_000),
            "m": wanted["metric"].cast(pa.string()),
            "v": wanted["value"],
        }
    ).sort_by([("et", "ascending"), ("e", "ascending"), ("t", "ascending")])
    et, e = wanted["et"].to_pylist(), wanted["e"].to_pylist()
    t, m, v = wanted["t"].to_pylist(), wanted["m"].to_pylist(), wanted["v"].to_pylist()
    bounds = [i for i in range(1, len(e)) if e[i] != e[i - 1] or et[i] != et[i - 1]]
    spans = list(itertools.pairwise([0, *bounds, len(e)])) if e else []
    global_ok: dict[int, bool] = {}
    for lo, hi in spans:
        if et[lo] == "global":
            for k in range(lo, hi):
                if m[k] in ("ipv4.full_feed_peers", "ipv6.full_feed_peers"):
                    global_ok[t[k]] = global_ok.get(t[k], False) or v[k] > 0
    events: list[Event] = []
    for lo, hi in spans:
        points = dense_points(grid, bin_seconds, zip(t[lo:hi], m[lo:hi], v[lo:hi], strict=True), global_ok)
        events.extend(fold(points, initial(et[lo], e[lo]))[1])
    return latest(events)


def _wanted(signals: pa.Table) -> set[str]:
    return {m for m in pc.unique(signals["metric"]).to_pylist() if wanted_metric(m)}


def compute(plan: Plan, local: Mapping[str, Path], opts: RunOptions, client: Any | None = None) -> Outcome:
    """Run the plan (on ``client`` when given, else locally) and detect; nothing is stored."""
    t0 = time.perf_counter()
    cfg = SliceConfig(
        bin_seconds=opts.bin_seconds, watch=opts.watch, mapper_factory=opts.mapper_factory, reader=opts.reader
    )
    if client is None:
        paths = {k: str(v) for k, v in local.items()}
        result, mode = map_fold_local(segment_tasks(plan, opts.bin_seconds), paths, cfg), "local"
    else:
        result = run_slices(plan, local, cfg, slice_seconds=opts.slice_seconds, client=client)
        mode = f"dask, {len(client.scheduler_info().get('workers', {}))} workers"
    signals = finalize(result)
    events = detect_events(signals, _grid(plan, result.bins, opts.bin_seconds), opts.bin_seconds)
    return Outcome(mode, signals, events, result, time.perf_counter() - t0)


def _replace_window(con: Any, plan: Plan, outcome: Outcome) -> None:
    """The backfill owns its window: its bins' signals replace whatever the store held there.

    A delete of the window plus a plain insert: several times faster than a keyed upsert of
    millions of rows, and a re-run with fewer entities leaves no stale rows behind.
    """
    bin_seconds = int(outcome.signals["bin_seconds"][0].as_py()) if outcome.signals.num_rows else 0
    con.execute(
        "DELETE FROM signals WHERE bin_seconds = ? AND bin_start >= ? AND bin_start < ?",
        [bin_seconds, plan.start, plan.end],
    )
    cols = "bin_start, bin_seconds, entity_type, entity, metric, value"
    con.register("_ow_backfill_signals", outcome.signals)
    try:
        con.execute(f"INSERT INTO signals ({cols}) SELECT {cols} FROM _ow_backfill_signals")
    finally:
        con.unregister("_ow_backfill_signals")


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
