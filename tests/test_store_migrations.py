"""Forward migrations: a store written by an older schema opens with its rows intact."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch import read_mrt
from outagewatch.engine.bin_writer import bins_table
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.partial import finalize
from outagewatch.store.changes import write_changes
from outagewatch.store.db import connect, schema_version
from outagewatch.store.schema import MIGRATIONS, SCHEMA_VERSION
from outagewatch.store.writes import upsert
from test_store_changes import Timeline, _at, _bins_rows, _table, timelines

T0 = datetime(2014, 12, 22, 16, 15, tzinfo=UTC)


def _rows(value: float, metric: str = "ipv4.visible_slash24.ff_50pct") -> pa.Table:
    return pa.table(
        {
            "bin_start": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
            "bin_seconds": pa.array([300, 300], pa.int32()),
            "entity_type": ["country", "as"],
            "entity": ["KP", "131279"],
            "metric": [metric, metric],
            "value": [value, value],
        }
    )


def _v1_store(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO schema_version (version) VALUES (1)")
    con.register("r", _rows(4.0))
    con.execute("INSERT INTO signals SELECT * FROM r")
    con.close()


def test_v1_store_migrates_keeping_its_signals(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _v1_store(db)
    con = connect(db)
    assert schema_version(con) == SCHEMA_VERSION >= 2
    got = con.execute("SELECT entity, value FROM signals ORDER BY entity").fetchall()
    assert got == [("131279", 4.0), ("KP", 4.0)]
    constraints = con.execute(
        "SELECT count(*) FROM duckdb_constraints()"
        " WHERE table_name = 'signals' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    assert constraints == (0,)
    con.close()


def test_signals_stay_unique_per_key_without_a_primary_key(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    at = int(T0.timestamp()) * 1_000_000
    write_changes(con, _rows(4.0), bin_seconds=300, bins=[at], keyframes=[at])
    write_changes(con, _rows(0.0), bin_seconds=300, bins=[at], keyframes=[at])  # replaced whole
    assert con.execute("SELECT entity, value FROM signals").fetchall() == [("KP", 0.0)]  # AS zero: absent
    upsert(con, "signals", _rows(2.0))  # keyed upsert: same keys replaced
    upsert(con, "signals", _rows(1.0, metric="all.withdrawals"))  # new keys added
    got = con.execute("SELECT entity, metric, value FROM signals ORDER BY entity, metric").fetchall()
    assert got == [
        ("131279", "all.withdrawals", 1.0),
        ("131279", "ipv4.visible_slash24.ff_50pct", 2.0),
        ("KP", "all.withdrawals", 1.0),
        ("KP", "ipv4.visible_slash24.ff_50pct", 2.0),
    ]
    con.close()


def _v2_store(path: Path, dense: pa.Table, bins: pa.Table) -> None:
    """A store as schema v2 left it: dense signal rows in a table, the bins written."""
    con = duckdb.connect(str(path))
    for version, sql in enumerate(MIGRATIONS[:2], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
    con.register("d", dense)
    con.execute(
        "INSERT INTO signals SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM d"
    )
    con.register("b", bins)
    con.execute("INSERT INTO bins SELECT * FROM b")
    con.close()


DENSE_ROWS = "SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM signals ORDER BY ALL"


@settings(max_examples=60, deadline=None)
@given(timelines(), st.data())
def test_v2_dense_rows_migrate_to_changes_with_the_same_view(timeline: Timeline, data: st.DataObject) -> None:
    """Bins listed in ``bins`` or not (a bin only the rows know shows its own rows), keys
    vanishing and coming back: the view after the migration holds exactly the old rows."""
    listed = data.draw(st.lists(st.sampled_from(sorted(timeline)), unique=True))
    dense = pa.concat_tables([_table(i, r) for i, r in sorted(timeline.items())])
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "v2.duckdb"
        _v2_store(db, dense, _bins_rows([_at(i) for i in sorted(listed)]))
        old = duckdb.connect(str(db))
        want = old.execute(DENSE_ROWS).fetchall()
        old.close()
        con = connect(db)
        assert schema_version(con) == SCHEMA_VERSION
        assert con.execute(DENSE_ROWS).fetchall() == want
        con.close()


@pytest.mark.shared
def test_v2_store_of_real_updates_migrates_to_the_same_rows(tmp_path: Path, shared_data: Path) -> None:
    """The dense rows and bins a v2 ingest stored (the engine's finalize of every bin; 60-s
    bins of 20 minutes of RIS updates, a filled gap among them) read the same after the
    migration, from the change rows the engine codes (a quarter of the rows or fewer)."""
    engine, coder = SignalEngine(bin_seconds=60, dense=True), SignalEngine(bin_seconds=60)
    closed, coded = [], []
    for t in ("0725", "0730", "0735", "0745"):
        path = shared_data / "mrt" / "ris-2022-week" / f"updates.20220206.{t}.gz"
        for batch in read_mrt(path, collector="rrc04"):
            closed.extend(engine.feed(batch))
            coded.extend(coder.feed(batch))
    closed.extend(engine.flush())
    coded.extend(coder.flush())
    db = tmp_path / "week.duckdb"
    dense = [finalize(c.partial) for c in closed if c.partial is not None]
    _v2_store(db, pa.concat_tables(dense), bins_table(closed))
    old = duckdb.connect(str(db))
    want = old.execute(DENSE_ROWS).fetchall()
    old.close()
    con = connect(db)
    assert con.execute(DENSE_ROWS).fetchall() == want
    changes = con.execute("SELECT count(*) FROM signal_changes").fetchone()  # what the engine codes
    assert changes == (sum(c.signals.num_rows for c in coded),) and changes[0] < len(want) / 4
    con.close()


def test_the_view_is_the_readers_dense_query() -> None:
    """The view the latest migration defines and ``store.changes.dense_sql`` (which readers run
    over a few entities' change rows) are the same query: a change to one must go to the other
    (the view's in a new migration)."""
    import re

    from outagewatch.store.changes import dense_sql

    latest = [m for m in MIGRATIONS if "CREATE VIEW signals AS" in m][-1]
    view = latest.split("CREATE VIEW signals AS", 1)[1].strip().rstrip(";")
    assert re.sub(r"\s+", " ", view).strip() == re.sub(r"\s+", " ", dense_sql("signal_changes")).strip()
