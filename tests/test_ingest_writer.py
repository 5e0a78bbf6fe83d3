"""The bin writer: closed bins written on a thread of their own into a real DuckDB file.

Held to the same writes made in the caller's thread; its errors reach the caller and the run
rolls back; the insertion-order setting it lifts comes back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from outagewatch import read_mrt
from outagewatch.engine.bin_writer import BinWriter, write_bins
from outagewatch.engine.ingest import ingest_files
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.store.db import connect
from outagewatch.store.writes import unordered

pytestmark = pytest.mark.shared
TIMES = ("0725", "0730", "0735", "0740")
TABLES = {
    "signals": "SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM signals ORDER BY ALL",
    "signal_changes": "SELECT * FROM signal_changes ORDER BY ALL",
    "peers": "SELECT * FROM peers ORDER BY ALL",
    "bins": "SELECT * FROM bins ORDER BY ALL",
}


@pytest.fixture(scope="module")
def files(shared_data: Path) -> list[Path]:
    return [shared_data / "mrt" / "ris-2022-week" / f"updates.20220206.{t}.gz" for t in TIMES]


@pytest.fixture(scope="module")
def closed(files: list[Path]) -> list[ClosedBin]:
    """The closed 60-s bins of 20 minutes of real updates (20 bins)."""
    engine = SignalEngine(bin_seconds=60)
    out: list[ClosedBin] = []
    for f in files:
        for batch in read_mrt(f, collector="rrc04"):
            out.extend(engine.feed(batch))
    out.extend(engine.flush())
    assert len(out) >= 19
    return out


def _dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    con = connect(db, read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        con.close()


def _write(db: Path, bins: list[ClosedBin], **kw: int | bool) -> int:
    con = connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        writer = BinWriter(con, **kw)  # type: ignore[arg-type]
        for b in bins:  # one bin at a time, as the engine closes them
            writer.take([b])
        rows = writer.close()
        con.execute("COMMIT")
        return rows
    finally:
        con.close()


def test_threaded_writes_equal_the_callers_own(tmp_path: Path, closed: list[ClosedBin]) -> None:
    direct = tmp_path / "direct.duckdb"
    con = connect(direct)
    expected_rows = write_bins(con, closed)
    con.close()
    want = _dump(direct)
    assert len(want["bins"]) == len(closed) and len(want["signals"]) > 100_000
    assert expected_rows == len(want["signal_changes"]) == sum(b.signals.num_rows for b in closed)
    for name, kw in {
        "threaded": {"batch": 3, "depth": 1},
        "threaded-big": {"batch": 24, "depth": 2},
        "caller": {"batch": 5, "threaded": False},
    }.items():
        db = tmp_path / f"{name}.duckdb"
        assert _write(db, closed, **kw) == expected_rows, name
        assert _dump(db) == want, name


def test_writer_error_reaches_the_caller_and_later_batches_are_dropped(
    tmp_path: Path, closed: list[ClosedBin]
) -> None:
    broken = dataclasses.replace(closed[2], peers=pa.table({"not_a_peer_column": [1]}))
    bins = [closed[0], closed[1], broken, *closed[3:]]
    db = tmp_path / "ow.duckdb"
    con = connect(db)
    writer = BinWriter(con, batch=1, depth=1)
    with pytest.raises(KeyError, match="does not exist in schema"):
        for b in bins:
            writer.take([b])
        writer.close()
    writer.abort()  # after an error: stops quietly
    with pytest.raises(RuntimeError, match="closed"):
        writer.take(closed[:1])
    stored = con.execute("SELECT DISTINCT bin_start FROM signal_changes ORDER BY 1").fetchall()
    con.close()
    # the broken bin's signals went in before its peers failed; nothing after it was written
    starts = [pa.scalar(b.bin_start_us, pa.timestamp("us", tz="UTC")).as_py() for b in closed[:3]]
    assert [r[0] for r in stored] == starts


def test_ingest_rolls_back_when_the_store_refuses_a_bin(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "ow.duckdb"
    con = connect(db)  # a store whose signal table refuses global rows (the view reads it by name)
    con.execute("DROP TABLE signal_changes")
    con.execute(
        "CREATE TABLE signal_changes (bin_start TIMESTAMPTZ NOT NULL, bin_seconds INTEGER NOT NULL,"
        " entity_type VARCHAR NOT NULL CHECK (entity_type <> 'global'), entity VARCHAR NOT NULL,"
        " metric VARCHAR NOT NULL, value DOUBLE NOT NULL)"
    )
    con.close()
    with pytest.raises(duckdb.ConstraintException):
        ingest_files(db, files[:2], collector="rrc04", bin_seconds=60)
    con = connect(db, read_only=True)
    tables = ("signal_changes", "signals", "bins", "runs", "inputs")
    counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables]
    con.close()
    assert counts == [(0,)] * 5


def test_unordered_brings_the_setting_back() -> None:
    con = duckdb.connect()
    for before in (True, False):
        con.execute(f"SET preserve_insertion_order = {before}")
        with unordered(con):
            assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (before,)
    with pytest.raises(ZeroDivisionError), unordered(con):
        1 / 0  # noqa: B018
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BinWriter(None, batch=0)
