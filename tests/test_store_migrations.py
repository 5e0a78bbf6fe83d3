"""Forward migrations: a store written by an older schema opens with its rows intact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from outagewatch.store.db import connect, schema_version
from outagewatch.store.schema import MIGRATIONS, SCHEMA_VERSION
from outagewatch.store.writes import replace_bins, upsert

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
    replace_bins(con, _rows(4.0))
    replace_bins(con, _rows(0.0))  # the same bin again: replaced whole
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
