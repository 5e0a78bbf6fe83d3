"""Backfill throughput on Dask with 1 and 2 worker processes (named peer: 1 worker), plus the
per-core rates docs/scale.md projects from.

    .venv/bin/python bench/scale.py [--collectors 4] [--slice-seconds 1800] [--rounds 1]

Workload: real RIS data in the real RIS layout, built in a temporary directory: the continuous
hour of ris-2022-week (2022-02-06 07:25–08:25, 12 update files, plus the 03:50/03:55 files before
it) with a real RIS bview (bgpdump's 2002 test dump, 115,521 entries) standing as the 00:00 and
08:00 dumps, repeated for ``--collectors`` collector names (each processed independently, as real
collectors are). The window 07:25–08:25 becomes (collector, slice) tasks.

Printed, all measured in this run:

1. the map + merge phase (``map_fold_dask``) on a ``LocalCluster`` of 1 and of 2 processes: wall
   time, elements read per second, and the speed-up of 2 workers over 1 (the named peer);
   the in-process run of the same tasks is shown too;
2. per-core rates from a single process: RIB entries loaded per second, update elements per second
   (reader + engine), and the engine's cost per closed bin at this state size.

The machine is shared: the numbers vary with other load; the script prints the load average.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from outagewatch import read_mrt  # noqa: E402
from outagewatch.backfill.collectors import collector  # noqa: E402
from outagewatch.backfill.discover import discover_plan  # noqa: E402
from outagewatch.backfill.plan import Plan, slice_tasks  # noqa: E402
from outagewatch.engine.dask_runner import (  # noqa: E402
    SliceConfig,
    dask_client,
    map_fold_local,
    merge_results,
    slice_partial,
)
from outagewatch.signals.engine import SignalEngine  # noqa: E402
from test_backfill_server import RIS_WEEK, SHARED, link  # noqa: E402

START, END = datetime(2022, 2, 6, 7, 25, tzinfo=UTC), datetime(2022, 2, 6, 8, 25, tzinfo=UTC)
BVIEW = SHARED / "mrt" / "bgpdump-tests" / "test_data" / "bview.20020722.2337.gz"


def build_archive(root: Path, n: int) -> list[str]:
    names = [f"rrc{10 + i:02d}" for i in range(n)]
    for name in names:
        for f in sorted(RIS_WEEK.glob("updates.20220206.*.gz")):
            link(f, root / name / "2022.02" / f.name)
        for stamp in ("0000", "0800"):
            link(BVIEW, root / name / "2022.02" / f"bview.20220206.{stamp}.gz")
    return names


def plan_for(root: Path, names: list[str]) -> tuple[Plan, dict[str, str]]:
    plan = discover_plan([collector(n) for n in names], START, END, lambda c: str(root), None)
    return plan, {f.path: str(root / f.path) for f in plan.files}


def _cpu() -> float:
    return time.process_time()


def timed_dask(
    workers: int, plan: Plan, paths: dict[str, str], slice_seconds: int
) -> tuple[float, float, int, float]:
    """Seconds for the map phase (every slice task done), for map + merge + gather, elements read,
    and the CPU seconds the worker processes used in the map phase (all their threads)."""
    from distributed import wait  # type: ignore[attr-defined]

    tasks = slice_tasks(plan, slice_seconds, 300)
    cfg = SliceConfig()
    with dask_client(None, workers) as client:
        cpu0 = sum(client.run(_cpu).values())  # workers up before the clock starts
        t0 = time.perf_counter()
        futures = [
            client.submit(slice_partial, t, {f.path: paths[f.path] for f in t.files}, cfg, pure=False)
            for t in tasks
        ]
        wait(futures)  # type: ignore[no-untyped-call]
        t_map = time.perf_counter() - t0
        cpu = sum(client.run(_cpu).values()) - cpu0
        read = sum(client.gather(client.map(lambda r: r.read, futures)))
        t1 = time.perf_counter()
        merged = client.submit(lambda *rs: functools.reduce(merge_results, rs), *futures).result()
        t_merge = time.perf_counter() - t1
        assert merged.tasks == len(tasks)
        return t_map, t_map + t_merge, read, cpu


def per_core_rates(root: Path) -> dict[str, float]:
    """Single-process rates: RIB load, updates through reader + engine, cost per closed bin."""
    engine = SignalEngine(bin_seconds=300)
    t0 = time.perf_counter()
    rib_entries = engine.feed_rib(read_mrt(str(BVIEW), collector="rrc99"))
    rib_s = time.perf_counter() - t0
    files = sorted((root / "rrc10" / "2022.02").glob("updates.20220206.0[78]*.gz"))
    n = bins = 0
    t0 = time.perf_counter()
    for f in files:
        for batch in read_mrt(str(f), collector="rrc99"):
            n += batch.num_rows
            bins += len(engine.feed(batch))
    bins += len(engine.flush())
    upd_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = 0
    for f in files:
        for batch in read_mrt(str(f), collector="rrc99"):
            m += batch.num_rows
    read_s = time.perf_counter() - t0
    peers = int(engine.state.peers.size)
    prefixes = int(engine.state.prefixes.size)
    return {
        "rib_entries": rib_entries,
        "rib_per_s": rib_entries / rib_s,
        "update_elements": n,
        "updates_per_s": n / upd_s,
        "reader_only_per_s": m / read_s,
        "bins": bins,
        "engine_s_per_bin": max(upd_s - read_s, 0.0) / max(bins, 1),
        "state_cells": peers * prefixes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collectors", type=int, default=2)
    ap.add_argument("--slice-seconds", type=int, default=1800)
    args = ap.parse_args()
    if not RIS_WEEK.is_dir():
        sys.exit(f"real data not found at {RIS_WEEK}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = build_archive(root, args.collectors)
        plan, paths = plan_for(root, names)
        tasks = slice_tasks(plan, args.slice_seconds, 300)
        t0 = time.perf_counter()
        local = map_fold_local(tasks, paths, SliceConfig())
        local_s = time.perf_counter() - t0
        print(
            f"workload: {len(names)} collectors × {START:%H:%M}–{END:%H:%M}, {len(tasks)} tasks, "
            f"{local.read:,} elements read ({local.elements:,} in the window)"
        )
        cols = f"{'map s':>8}{'total s':>9}{'elements/s (map)':>18}{'vs 1 worker':>13}{'worker CPU/wall':>17}"
        print(f"{'run':<18}{cols}")
        print(f"{'in-process':<18}{'':>8}{local_s:>9.2f}{local.read / local_s:>18,.0f}")
        one = timed_dask(1, plan, paths, args.slice_seconds)
        two = timed_dask(2, plan, paths, args.slice_seconds)
        for label, (m, tot, read, cpu) in (("dask, 1 worker", one), ("dask, 2 workers", two)):
            print(f"{label:<18}{m:>8.2f}{tot:>9.2f}{read / m:>18,.0f}{one[0] / m:>12.2f}×{cpu / m:>17.2f}")
        print(
            "per-core map throughput (elements read per worker CPU second): "
            f"1 worker {one[2] / one[3]:,.0f}/s, 2 workers {two[2] / two[3]:,.0f}/s"
        )
        print(
            f"speed-up, 2 workers over 1 worker: map phase {one[0] / two[0]:.2f}×, "
            f"end to end {one[1] / two[1]:.2f}× (ideal 2.00× on 2 idle cores)"
        )
        rates = per_core_rates(root)
        print("per-core rates (one process):")
        print(f"  RIB load: {rates['rib_entries']:,} entries at {rates['rib_per_s']:,.0f} entries/s")
        print(
            f"  updates, reader + engine: {rates['update_elements']:,} elements at "
            f"{rates['updates_per_s']:,.0f}/s (reader alone {rates['reader_only_per_s']:,.0f}/s)"
        )
        print(
            f"  engine per closed bin: {rates['engine_s_per_bin'] * 1000:.0f} ms over {rates['bins']} bins, "
            f"state {rates['state_cells']:,} peer×prefix cells"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
