"""The streaming engine behind ``outagewatch watch``: messages → bins → signals → events → alerts.

:class:`Watcher` is the :class:`~outagewatch.sources.rislive.StreamHandler` of the RIS Live
client. Each batch of messages is decoded into element batches and fed to the same
:class:`~outagewatch.signals.engine.SignalEngine` the file ingest uses. Every closed bin is
written (signals, peers, bins, events) in one transaction, stepped through the detectors,
handed to the alert dispatcher, and checkpointed.

Gaps: a disconnection opens a gap at the time of the last message received; the first message
after reconnecting closes it. A restart opens a gap at the end of the last closed bin (the open
bin's elements died with the process). Every bin overlapping a gap is stored with
``complete = false`` and reaches the detectors as an incomplete point, which never opens an
outage. Bins close when a message of a later bin arrives, or when the stream clock (wall time
minus the measured offset to message time) is ``close_grace_seconds`` past the bin's end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from outagewatch.alerts.dispatch import Dispatcher
from outagewatch.detect import Event
from outagewatch.engine.entities import entity_tables
from outagewatch.engine.lookups import AsInfo
from outagewatch.live import checkpoint
from outagewatch.live.detection import LiveDetectors
from outagewatch.live.metrics import LiveMetrics
from outagewatch.model.problem import problems_table
from outagewatch.parse.rislive import decode
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.snapshot import snapshot
from outagewatch.store.changes import write_changes
from outagewatch.store.writes import insert, upsert

TS = pa.timestamp("us", tz="UTC")
MAX_PROBLEMS_PER_BATCH = 100
ENTITIES_EVERY_BINS = 12
EVENT_COLUMNS = (
    "event_id", "kind", "entity_type", "entity", "start", "end", "status", "scope", "severity", "score",
    "summary", "evidence", "updated_at",
)  # fmt: skip


def run_sql(con: Any, text: str, params: Sequence[Any] = ()) -> None:
    """Execute and consume the result (DuckDB refuses new work while a result is pending)."""
    con.execute(text, list(params)).fetchall()


def _dt(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC)


class Watcher:
    def __init__(
        self,
        con: Any,
        engine: SignalEngine,
        detectors: LiveDetectors,
        folder: Path,
        *,
        run_id: str,
        dispatcher: Dispatcher | None = None,
        cp: checkpoint.Checkpoint | None = None,
        grace_seconds: float = 30.0,
        use_raw: bool = False,
        source: str = "ris-live",
    ) -> None:
        self.con, self.engine, self.detectors, self.folder = con, engine, detectors, folder
        self.run_id, self.dispatcher, self.source = run_id, dispatcher, source
        self.grace, self.use_raw = grace_seconds, use_raw
        self.bin_us = engine.bin_us
        self.cp = cp or checkpoint.Checkpoint(engine.bin_seconds)
        self.metrics = LiveMetrics()
        self.metrics.counters.update(
            {k: v for k, v in self.cp.counters.items() if k in self.metrics.counters}
        )
        self.floor_us = None if self.cp.last_closed_us is None else self.cp.last_closed_us + self.bin_us
        self.last_ts_us: int | None = None
        self.offset: float | None = None  # wall seconds − message seconds, at the latest batch
        self.open_us: int | None = None  # start of the bin being filled
        self.msg_index = 0
        self.as_info: AsInfo | None = None

    # --- gaps -------------------------------------------------------------------------------
    def open_gap(self, start_us: int, reason: str) -> None:
        if self.cp.gaps and self.cp.gaps[-1][1] is None:
            return
        self.cp.gaps.append([start_us, None])
        self.metrics.add("gaps")
        run_sql(
            self.con,
            "INSERT INTO gaps (source, gap_start, gap_end, reason) VALUES (?, ?, NULL, ?)",
            [self.source, _dt(start_us), reason],
        )

    def _close_gap(self, end_us: int) -> None:
        gap = self.cp.gaps[-1]
        gap[1] = max(end_us, int(gap[0] or end_us))
        run_sql(
            self.con,
            "UPDATE gaps SET gap_end = ? WHERE source = ? AND gap_start = ? AND gap_end IS NULL",
            [_dt(gap[1]), self.source, _dt(gap[0])],
        )
        self.cp.gaps = [g for g in self.cp.gaps if g[1] is None or g[1] >= (self.floor_us or 0) - self.bin_us]

    def _incomplete(self, start_us: int) -> bool:
        end = start_us + self.bin_us
        return any(int(g[0] or 0) < end and (g[1] is None or g[1] >= start_us) for g in self.cp.gaps)

    # --- StreamHandler ----------------------------------------------------------------------
    def connected(self, url: str) -> None:
        self.metrics.add("connections")

    def disconnected(self, reason: str) -> None:
        self.metrics.add("disconnections")
        if self.last_ts_us is not None:
            self.open_gap(self.last_ts_us, f"disconnected: {reason}")

    def messages(self, batch: Sequence[str | bytes], received_at: float) -> None:
        d = decode(batch, source=self.source, first_index=self.msg_index, use_raw=self.use_raw)
        self.msg_index += len(batch)
        self.metrics.add("messages", len(batch))
        self.metrics.add("ris_errors", len(d.errors))
        if d.problems:
            self._problems(d.problems)
        elements = d.batch
        if elements.num_rows == 0:
            return
        ts = elements.column("timestamp").cast(pa.int64()).to_numpy()
        first, last = int(ts.min()), int(ts.max())
        if self.cp.gaps and self.cp.gaps[-1][1] is None:
            self._close_gap(first)
        if self.floor_us is not None and first < self.floor_us:
            elements = _clamp(elements, ts, self.floor_us)
        self.last_ts_us = max(last, self.last_ts_us or last)
        self.offset = received_at - last / 1e6
        self.metrics.lag("message_lag_seconds", received_at - last / 1e6)
        self.metrics.add("elements", elements.num_rows)
        closed = self.engine.feed(elements)
        self.open_us = (max(last, self.floor_us or last) // self.bin_us) * self.bin_us
        self._close_all(closed)

    def tick(self, now: float) -> None:
        """Close the open bin once the stream clock is past its end plus the grace period."""
        if self.open_us is not None and self.offset is not None:
            stream_now = now - self.offset
            if stream_now > (self.open_us + self.bin_us) / 1e6 + self.grace:
                self.open_us = None
                self._close_all(self.engine.flush())
        self.metrics.write_json(self.folder / "metrics.json")

    # --- bins -------------------------------------------------------------------------------
    def _close_all(self, closed: list[ClosedBin]) -> None:
        for cb in closed:
            self._close(cb)

    def _close(self, cb: ClosedBin) -> None:
        t0 = time.time()
        start_s = cb.bin_start_us // 1_000_000
        end_s = start_s + cb.bin_seconds
        complete = not self._incomplete(cb.bin_start_us)
        events = self.detectors.step_bin(cb.signals, start_s, cb.bin_seconds, complete, keyframe=cb.keyframe)
        try:
            self._store(cb, complete, events, write=insert)
        except duckdb.ConstraintException:  # the bin was stored before after all: replace it
            self._store(cb, complete, events, write=upsert)
        self.metrics.lag("bin_close_lag_seconds", t0 - end_s)
        if events:
            self.metrics.lag("event_lag_seconds", time.time() - end_s)
            self.metrics.add("events", len(events))
            if self.dispatcher is not None:
                self.metrics.add("alerts_queued", self.dispatcher.submit(events))
        self.metrics.add("bins_closed")
        self.metrics.add("bins_incomplete", 0 if complete else 1)
        if self.metrics.counters["bins_closed"] % ENTITIES_EVERY_BINS == 1:
            self.write_entities()
        self.cp.last_closed_us = cb.bin_start_us
        self.floor_us = cb.bin_start_us + self.bin_us
        self._checkpoint()
        self.metrics.lag("bin_processing_seconds", time.time() - t0)

    def _store(self, cb: ClosedBin, complete: bool, events: list[Event], write: Any) -> None:
        """One transaction per bin. A live bin is always new (bins up to the last stored one
        are never emitted again, see ``floor_us``), so plain inserts serve; upserts otherwise.
        Its change-coded signals replace the bin's; the engine's first bin after a (re)start
        is a keyframe, which ends the stored values it does not mention."""
        run_sql(self.con, "BEGIN TRANSACTION")
        try:
            keyframes = [cb.bin_start_us] if cb.keyframe else []
            write_changes(
                self.con, cb.signals, bin_seconds=cb.bin_seconds, bins=[cb.bin_start_us], keyframes=keyframes
            )
            write(self.con, "peers", cb.peers)
            upsert(self.con, "bins", _bins_row(cb, complete))
            self._write_events(events)
            run_sql(self.con, "COMMIT")
        except BaseException:
            run_sql(self.con, "ROLLBACK")
            raise

    def write_entities(self) -> None:
        """Entity names, countries and prefixes seen so far (first bin, then every few bins)."""
        entities, prefixes = entity_tables(self.engine, self.as_info)
        upsert(self.con, "entities", entities)
        upsert(self.con, "entity_prefixes", prefixes)

    def _write_events(self, events: list[Event]) -> None:
        if not events:
            return
        latest = {e.event_id: e for e in events}
        names = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
        sql = f"INSERT OR REPLACE INTO events ({names}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
        rows = []
        for ev in latest.values():
            row = ev.row()
            row["evidence"] = json.dumps(row["evidence"], default=str)
            rows.append([row[c] for c in EVENT_COLUMNS])
        self.con.executemany(sql, rows).fetchall()

    def _problems(self, problems: list[Any]) -> None:
        self.metrics.add("problems", len(problems))
        table = problems_table(problems[:MAX_PROBLEMS_PER_BATCH])
        run = pa.array([self.run_id] * table.num_rows, pa.string())
        insert(self.con, "problems", table.add_column(0, "run_id", run))

    def _checkpoint(self) -> None:
        self.cp.counters = dict(self.metrics.counters)
        blobs = {"detectors": self.detectors.dumps()}
        checkpoint.save(self.folder, self.cp, snapshot(self.engine.state).tables(), blobs)
        details = json.dumps(self.metrics.snapshot())
        c = self.metrics.counters
        run_sql(
            self.con,
            "UPDATE runs SET finished_at = now(), elements = ?, problems = ?, bins = ?, details = ?"
            " WHERE run_id = ?",
            [int(c["elements"]), int(c["problems"]), int(c["bins_closed"]), details, self.run_id],
        )


def _clamp(batch: pa.RecordBatch, ts: np.ndarray, floor_us: int) -> pa.RecordBatch:
    """Late elements (before the first open bin) are counted in it, as the engine does."""
    fixed = pa.array(np.maximum(ts, floor_us), pa.int64()).cast(TS)
    i = batch.schema.get_field_index("timestamp")
    return batch.set_column(i, batch.schema.field(i), fixed)


def _bins_row(cb: ClosedBin, complete: bool) -> pa.Table:
    note = None if complete else "overlaps a gap in the live stream"
    if complete and cb.elements == 0:
        note = "no elements (gap filled)"
    return pa.table(
        {
            "bin_start": pa.array([cb.bin_start_us], pa.int64()).cast(TS),
            "bin_seconds": pa.array([cb.bin_seconds], pa.int32()),
            "complete": pa.array([complete]),
            "elements": pa.array([cb.elements], pa.int64()),
            "note": pa.array([note], pa.string()),
        }
    )


__all__ = ["Watcher"]
