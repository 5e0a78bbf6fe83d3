"""Cost of signals against the reader alone, on the same input, measured in the same run.

    .venv/bin/python bench/signals.py [--files N] [--bin 300] [--data ../shared/data/mrt/ris-2022-week]

Prints timings (wall and CPU) over the same MRT files (default: all 129 RIS update files of
ris-2022-week, 2.59 M elements) and the ratios against the reader. The first two run in
turn for ``--repeat`` rounds (default 3); the fastest run of each counts:

1. ``read_mrt`` alone (the named peer);
2. reader + ``SignalEngine`` + ``finalize`` (every signal row built) — the bar: ≤ 1.5×;
3. the whole ``ingest_files`` into a fresh DuckDB file (signals, peers, bins, entities, runs);
   "rows stored" are the change-coded signal rows (docs/signals.md, "Store").
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from outagewatch import read_mrt
from outagewatch.engine.ingest import ingest_files
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.partial import finalize

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mrt" / "ris-2022-week"


def reader_only(files: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds of reading every file, and the elements read."""
    t, c = time.perf_counter(), time.process_time()
    n = 0
    for f in files:
        for batch in read_mrt(f, collector="rrc04"):
            n += batch.num_rows
    return time.perf_counter() - t, time.process_time() - c, n


def _batches(files: list[str]) -> Iterator[pa.RecordBatch]:
    for f in files:
        yield from read_mrt(f, collector="rrc04")


def reader_and_signals(files: list[str], bin_seconds: int) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, bins and signal rows, as ``ingest_files`` runs them (one thread)."""
    t, c = time.perf_counter(), time.process_time()
    engine = SignalEngine(bin_seconds=bin_seconds)
    rows = bins = 0
    for batch in _batches(files):
        for closed in engine.feed(batch):
            rows += finalize(closed.partial).num_rows
            bins += 1
    for closed in engine.flush():
        rows += finalize(closed.partial).num_rows
        bins += 1
    return time.perf_counter() - t, time.process_time() - c, bins, rows


def full_ingest(files: list[str], bin_seconds: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        summary = ingest_files(
            os.path.join(tmp, "b.duckdb"), files, collector="rrc04", bin_seconds=bin_seconds
        )
        return time.perf_counter() - t, summary.signal_rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--files", type=int, default=0, help="use only the first N files (0: all)")
    ap.add_argument("--bin", type=int, default=300)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the fastest run of each counts")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "*.gz")))
    if args.files:
        files = files[: args.files]
    if not files:
        raise SystemExit(f"no MRT files in {args.data}")
    reader_only(files[:1])  # warm caches and imports
    n = reader_only(files)[2]
    # all in turn for --repeat rounds, the fastest of each counting: a change in the shared
    # machine's load between rounds hits them alike
    best: dict[str, tuple[float, float]] = {}
    bins = rows = 0
    for _ in range(max(1, args.repeat)):
        runs = {"read": reader_only(files)[:2], "signals": (out := reader_and_signals(files, args.bin))[:2]}
        bins, rows = out[2], out[3]
        for k, (wall, cpu) in runs.items():
            old = best.get(k)
            best[k] = (min(wall, old[0]), min(cpu, old[1])) if old else (wall, cpu)
    (r_wall, r_cpu), (s_wall, s_cpu) = best["read"], best["signals"]
    print(f"input: {len(files)} files, {n:,} elements; bins of {args.bin} s")
    print(f"reader alone (read_mrt)          : {r_wall:6.2f} s wall {r_cpu:6.2f} s cpu")
    print(
        f"reader + SignalEngine + finalize : {s_wall:6.2f} s wall {s_cpu:6.2f} s cpu  "
        f"({bins} bins, {rows:,} signal rows)"
    )
    print(
        f"ratio signals/reader             : {s_wall / r_wall:6.2f}x wall "
        f"{s_cpu / r_cpu:6.2f}x cpu  (bar <= 1.5x)"
    )
    if not args.skip_ingest:
        t_ing, stored = full_ingest(files, args.bin)
        print(f"full ingest into DuckDB          : {t_ing:6.2f} s  ({stored:,} rows stored)")
        print(f"ratio ingest/reader              : {t_ing / r_wall:6.2f}x")


if __name__ == "__main__":
    main()
