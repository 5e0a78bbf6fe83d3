"""Slices merge back into the continuous run: the law behind the Dask runner.

A stream of element batches (a RIB, then five-minute update files with late arrivals, gaps,
session drops) is stored as Arrow IPC files and processed three ways: a continuous
``SignalEngine`` run (RIB, every batch, flush), the backfill's local mode (one task per stretch
between RIB dumps) and (collector, slice) tasks of several lengths. Finalised signals must be
identical, row for row.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from outagewatch.backfill.layout import ArchiveFile
from outagewatch.backfill.plan import CollectorPlan, Plan, segment_tasks, slice_tasks
from outagewatch.engine.dask_runner import SliceConfig, finalize, map_fold_local
from outagewatch.signals.build import batch, element
from outagewatch.signals.changes import BinRows, densify
from outagewatch.signals.engine import SignalEngine

T0 = datetime(2022, 2, 6, 0, 0, tzinfo=UTC)
PEERS = [(f"192.0.2.{i}", 64500 + i) for i in range(1, 5)]
PREFIXES = [f"10.{i}.0.0/16" for i in range(24)] + ["2001:db8::/32"]


def read_ipc(path: str, collector: str) -> list[pa.RecordBatch]:
    with ipc.open_file(path) as f:
        return [f.get_batch(i) for i in range(f.num_record_batches)]


def _write(path: Path, rows: list[dict[str, object]], size: int) -> None:
    batches = [batch(rows[i : i + size]) for i in range(0, len(rows), size)]
    with ipc.new_file(path, batches[0].schema) as out:
        for b in batches:
            out.write_batch(b)


def _stream(rng: random.Random) -> tuple[list[dict[str, object]], list[list[dict[str, object]]]]:
    rib = [
        element(T0, "B", peer=ip, peer_asn=asn, prefix=p, path=[asn, 3356, 100 + k], collector="rrc00")
        for ip, asn in PEERS
        for k, p in enumerate(PREFIXES)
    ]
    files: list[list[dict[str, object]]] = []
    for f in range(36):  # three hours of 5-minute files, with two silent stretches
        if 10 <= f < 15 or f == 27:
            files.append([])
            continue
        rows = []
        for _ in range(rng.randint(5, 40)):
            secs = f * 300 + rng.randint(0, 299) - (rng.randint(300, 700) if rng.random() < 0.05 else 0)
            ip, asn = rng.choice(PEERS)
            p = rng.choice(PREFIXES)
            when = T0 + timedelta(seconds=max(secs, 0))
            if rng.random() < 0.02:
                rows.append(
                    element(when, "S", peer=ip, peer_asn=asn, collector="rrc00", old_state=6, new_state=1)
                )
            elif rng.random() < 0.3:
                rows.append(element(when, "W", peer=ip, peer_asn=asn, prefix=p, collector="rrc00"))
            else:
                upstream = rng.choice([3356, 174, 4837])
                path = [asn, upstream, 100 + PREFIXES.index(p)]
                rows.append(element(when, "A", peer=ip, peer_asn=asn, prefix=p, path=path, collector="rrc00"))
        files.append(
            sorted(rows, key=lambda r: cast(datetime, r["timestamp"])) if rng.random() < 0.5 else rows
        )
    return rib, files


def _norm(table: pa.Table) -> pa.Table:
    """Plain strings (dictionary encodings may differ) in key order: what a store would hold."""
    cols = {
        n: (c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c)
        for n, c in zip(table.column_names, table.columns, strict=True)
    }
    keys = [(k, "ascending") for k in ("bin_start", "entity_type", "entity", "metric")]
    return pa.table(cols).sort_by(keys)


def _continuous(rib_path: Path, update_paths: list[Path], start: datetime, end: datetime) -> pa.Table:
    """The change-coded engine's rows over the whole stream, densified, in [start, end)."""
    engine = SignalEngine(bin_seconds=300)
    engine.feed_rib(read_ipc(str(rib_path), "rrc00"))
    closed = []
    for path in update_paths:
        for b in read_ipc(str(path), "rrc00"):
            closed.extend(engine.feed(b))
    closed.extend(engine.flush())
    lo, hi = int(start.timestamp() * 1e6), int(end.timestamp() * 1e6)
    dense = densify(BinRows(c.bin_start_us, c.bin_seconds, c.signals, c.keyframe) for c in closed)
    return _norm(pa.concat_tables([b.rows for b in dense if lo <= b.bin_start_us < hi]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_slices_equal_the_continuous_run(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    rib_rows, files = _stream(rng)
    rib_path = tmp_path / "rib.arrow"
    _write(rib_path, rib_rows, 37)
    updates, paths = [], []
    for i, rows in enumerate(files):
        if not rows:
            continue
        p = tmp_path / f"u{i:02d}.arrow"
        _write(p, rows, rng.randint(3, 9))
        at = T0 + timedelta(minutes=5 * i)
        updates.append(ArchiveFile(at, "updates", "rrc00", p.name, at + timedelta(minutes=5)))
        paths.append(p)
    rib = ArchiveFile(T0, "rib", "rrc00", rib_path.name, T0)
    start, end = T0 + timedelta(minutes=40), T0 + timedelta(hours=3)
    plan = Plan(start, end, (CollectorPlan("rrc00", (rib,), tuple(updates)),))
    local = {f.path: str(tmp_path / f.path) for f in plan.files}
    cfg = SliceConfig(bin_seconds=300, reader=read_ipc)

    expected = _continuous(rib_path, paths, start, end)
    assert expected.num_rows > 0
    segments = map_fold_local(segment_tasks(plan, 300), local, cfg)
    assert _norm(finalize(segments)).equals(expected)
    for slice_seconds in (300, 900, 3600):
        sliced = map_fold_local(slice_tasks(plan, slice_seconds, 300), local, cfg)
        assert _norm(finalize(sliced)).equals(expected), f"slices of {slice_seconds} s differ"
        assert sliced.bins.equals(segments.bins)
        assert sliced.elements == segments.elements


def test_slices_from_the_latest_rib_equal_rib_segments(tmp_path: Path) -> None:
    """With a second RIB dump inside the window, slices start from it exactly like the local mode."""
    rng = random.Random(7)
    rib_rows, files = _stream(rng)
    later = [dict(r, timestamp=T0 + timedelta(hours=2)) for r in rib_rows if r["peer_asn"] != 64502]
    _write(tmp_path / "rib0.arrow", rib_rows, 50)
    _write(tmp_path / "rib2.arrow", later, 50)
    updates = []
    for i, rows in enumerate(files):
        if rows:
            _write(tmp_path / f"u{i:02d}.arrow", rows, 5)
            at = T0 + timedelta(minutes=5 * i)
            updates.append(ArchiveFile(at, "updates", "rrc00", f"u{i:02d}.arrow", at + timedelta(minutes=5)))
    ribs = (
        ArchiveFile(T0, "rib", "rrc00", "rib0.arrow", T0),
        ArchiveFile(T0 + timedelta(hours=2), "rib", "rrc00", "rib2.arrow", T0 + timedelta(hours=2)),
    )
    plan = Plan(
        T0 + timedelta(minutes=30), T0 + timedelta(hours=3), (CollectorPlan("rrc00", ribs, tuple(updates)),)
    )
    local = {f.path: str(tmp_path / f.path) for f in plan.files}
    cfg = SliceConfig(bin_seconds=300, reader=read_ipc)
    segments = map_fold_local(segment_tasks(plan, 300), local, cfg)
    assert segments.tasks == 2
    expected = _norm(finalize(segments))
    for slice_seconds in (600, 2700):
        sliced = map_fold_local(slice_tasks(plan, slice_seconds, 300), local, cfg)
        assert _norm(finalize(sliced)).equals(expected), f"slices of {slice_seconds} s differ"
