"""Real archive files through the backfill: ingest == local mode == a 2-process LocalCluster.

The plan is built from a real RIS layout (``tests/test_backfill_server.ris_tree``: the
ris-2022-week update files of 2022-02-06 as rrc04, a real RIS bview as the 00:00 and 08:00 dumps)
and processed by the project's local ingest, by the backfill's local mode, and on Dask.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from outagewatch.backfill.collectors import collector
from outagewatch.backfill.discover import discover_plan
from outagewatch.backfill.plan import Plan
from outagewatch.backfill.process import RunOptions, compute, run_plan
from outagewatch.engine.ingest import ingest_files
from test_backfill_server import ris_tree
from test_dask_slices import _norm

pytestmark = pytest.mark.shared

KEYS = "bin_start, bin_seconds, entity_type, entity, metric"


def _plan(tree: Path, start: datetime, end: datetime) -> tuple[Plan, dict[str, Path]]:
    plan = discover_plan([collector("rrc04")], start, end, lambda c: str(tree), None)
    return plan, {f.path: tree / f.path for f in plan.files}


def _signals(db: Path, start: datetime, end: datetime) -> pa.Table:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        sql = f"SELECT {KEYS}, value FROM signals WHERE bin_start >= ? AND bin_start < ? ORDER BY {KEYS}"
        return con.sql(sql, params=[start, end]).to_arrow_table()


@pytest.mark.slow
def test_local_mode_equals_ingest(tmp_path: Path, shared_data: Path) -> None:
    tree = ris_tree(tmp_path)
    start, end = datetime(2022, 2, 6, 7, 25, tzinfo=UTC), datetime(2022, 2, 6, 7, 40, tzinfo=UTC)
    plan, local = _plan(tree, start, end)
    assert len(plan.collectors[0].ribs) == 1  # one dump: ingest and the local mode start alike
    cp = plan.collectors[0]
    ups = [local[u.path] for u in cp.updates if u.start < end]
    ingest_files(tmp_path / "ingest.duckdb", ups, ribs=[local[cp.ribs[0].path]], collector="rrc04")
    run_plan(plan, local, RunOptions(db=tmp_path / "backfill.duckdb"))
    ingested = _signals(tmp_path / "ingest.duckdb", start, end)
    backfilled = _signals(tmp_path / "backfill.duckdb", start, end)
    assert backfilled.num_rows > 100_000
    assert backfilled.equals(ingested)


def test_store_rerun_replaces_the_window(tmp_path: Path, shared_data: Path) -> None:
    tree = ris_tree(tmp_path)
    start, end = datetime(2022, 2, 6, 7, 25, tzinfo=UTC), datetime(2022, 2, 6, 7, 35, tzinfo=UTC)
    plan, local = _plan(tree, start, end)
    db = tmp_path / "b.duckdb"
    first = run_plan(plan, local, RunOptions(db=db))
    run_plan(plan, local, RunOptions(db=db))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM signals").fetchone() == (first.signals.num_rows,)
        assert con.execute("SELECT count(*), min(command) FROM runs").fetchone() == (2, "backfill")
        assert con.execute("SELECT count(*) FROM bins WHERE elements > 0").fetchone() == (2,)
        assert con.execute("SELECT count(DISTINCT collector) FROM peers").fetchone() == (1,)


@pytest.mark.slow
def test_local_cluster_equals_local_mode(tmp_path: Path, shared_data: Path) -> None:
    from outagewatch.engine.dask_runner import dask_client

    tree = ris_tree(tmp_path)
    start, end = datetime(2022, 2, 6, 7, 45, tzinfo=UTC), datetime(2022, 2, 6, 8, 15, tzinfo=UTC)
    plan, local = _plan(tree, start, end)
    assert [r.name for r in plan.collectors[0].ribs] == ["bview.20220206.0000.gz", "bview.20220206.0800.gz"]
    a = compute(plan, local, RunOptions(db=None))
    with dask_client(None, 2) as client:
        b = compute(plan, local, RunOptions(db=None, slice_seconds=600), client)
    assert a.mode == "local" and b.mode == "dask, 2 workers"
    assert a.result.tasks == 2 and b.result.tasks == 4  # 07:45, 07:50 | 08:00, 08:10
    assert b.result.read > a.result.read  # slices re-read their warm-up
    assert a.result.elements == b.result.elements > 50_000
    assert a.signals.num_rows > 1_000_000
    assert _norm(a.signals).equals(_norm(b.signals))
    assert [e.row() for e in a.events] == [e.row() for e in b.events]
