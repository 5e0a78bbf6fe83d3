"""The same plan on a real ``distributed.LocalCluster`` (2 worker processes) and in-process."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from outagewatch.backfill.layout import ArchiveFile
from outagewatch.backfill.plan import CollectorPlan, Plan, slice_tasks
from outagewatch.backfill.process import RunOptions, compute
from outagewatch.engine.dask_runner import SliceConfig, dask_client, finalize, map_fold_dask, map_fold_local
from test_dask_slices import T0, _norm, _stream, _write, read_ipc


def _plan(tmp_path: Path) -> tuple[Plan, dict[str, Path]]:
    parts = []
    for name, seed in (("rrc00", 11), ("route-views2", 12)):
        rng = random.Random(seed)
        rib_rows, files = _stream(rng)
        for r in rib_rows:
            r["collector"] = name
        _write(tmp_path / f"{name}-rib.arrow", rib_rows, 40)
        ups = []
        for i, rows in enumerate(files):
            if rows:
                for r in rows:
                    r["collector"] = name
                _write(tmp_path / f"{name}-u{i:02d}.arrow", rows, 6)
                at = T0 + timedelta(minutes=5 * i)
                ups.append(
                    ArchiveFile(at, "updates", name, f"{name}-u{i:02d}.arrow", at + timedelta(minutes=5))
                )
        rib = ArchiveFile(T0, "rib", name, f"{name}-rib.arrow", T0)
        parts.append(CollectorPlan(name, (rib,), tuple(ups)))
    plan = Plan(T0 + timedelta(minutes=20), T0 + timedelta(hours=3), tuple(parts))
    return plan, {f.path: tmp_path / f.path for f in plan.files}


@pytest.mark.slow
def test_local_cluster_matches_in_process(tmp_path: Path) -> None:
    plan, local = _plan(tmp_path)
    paths = {k: str(v) for k, v in local.items()}
    cfg = SliceConfig(bin_seconds=300, reader=read_ipc)
    tasks = slice_tasks(plan, 3600, 300)
    assert len(tasks) == 6  # per collector: 00:20-01:00, 01:00-02:00, 02:00-03:00
    in_process = map_fold_local(tasks, paths, cfg)
    opts = RunOptions(db=None)
    with dask_client(None, 2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        on_cluster = map_fold_dask(client, tasks, paths, cfg)
        outcome = compute(plan, local, _with_reader(opts), client)
    assert _norm(finalize(in_process)).equals(_norm(finalize(on_cluster)))
    assert on_cluster.tasks == 6 and on_cluster.elements == in_process.elements
    local_outcome = compute(plan, local, _with_reader(opts))
    assert local_outcome.mode == "local" and outcome.mode == "dask, 2 workers"
    assert _norm(outcome.signals).equals(_norm(local_outcome.signals))
    assert [e.row() for e in outcome.events] == [e.row() for e in local_outcome.events]


def _with_reader(opts: RunOptions) -> RunOptions:
    import dataclasses

    return dataclasses.replace(opts, reader=read_ipc)
