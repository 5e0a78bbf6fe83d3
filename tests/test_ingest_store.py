"""Ingest into a real DuckDB store: idempotency, later windows, problems, runs, CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from outagewatch.cli import export_cmd, ingest_cmd, signals_cmd
from outagewatch.engine.ingest import infer_collector, ingest_files
from outagewatch.store.db import connect

pytestmark = pytest.mark.shared
TIMES = ("0725", "0730", "0735")


@pytest.fixture(scope="module")
def files(shared_data: Path) -> list[Path]:
    return [shared_data / "mrt" / "ris-2022-week" / f"updates.20220206.{t}.gz" for t in TIMES]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


SIGNALS = "SELECT bin_start, entity_type, entity, metric, value FROM signals ORDER BY ALL"


def test_reingest_is_idempotent(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "ow.duckdb"
    first = ingest_files(db, files[:2], collector="rrc04", watch=["1.1.1.0/24"])
    before = _rows(db, SIGNALS)
    second = ingest_files(db, files[:2], collector="rrc04", watch=["1.1.1.0/24"])
    assert second.already_ingested == [str(f) for f in files[:2]]
    assert _rows(db, SIGNALS) == before
    assert first.bins == second.bins == 2
    assert _rows(db, "SELECT count(*) FROM bins") == [(2,)]
    assert _rows(db, "SELECT count(*) FROM inputs") == [(2,)]
    assert _rows(db, "SELECT count(*), sum(elements) FROM runs") == [(2, 2 * first.elements)]
    assert len(before) > 10_000  # dense rows; the run counts the change rows it stored
    changes = _rows(db, "SELECT count(*) FROM signal_changes")[0][0]
    assert first.signal_rows == second.signal_rows == changes < len(before)


def test_later_window_extends_series_with_carried_state(tmp_path: Path, files: list[Path]) -> None:
    whole, parts = tmp_path / "whole.duckdb", tmp_path / "parts.duckdb"
    ingest_files(whole, files, collector="rrc04")
    ingest_files(parts, files[:2], collector="rrc04")
    later = ingest_files(parts, files[2:], collector="rrc04")
    assert later.state_source.startswith("snapshot at 2022-02-06T07:35")
    assert _rows(parts, SIGNALS) == _rows(whole, SIGNALS)
    assert _rows(parts, "SELECT count(*) FROM bins") == [(3,)]


def test_peers_entities_and_collector_inference(tmp_path: Path, files: list[Path], shared_data: Path) -> None:
    db = tmp_path / "ow.duckdb"
    ingest_files(db, files[:1], collector="rrc04", as_info=_as_info(shared_data))
    peers = _rows(db, "SELECT count(*), sum(full_feed::INT), max(table_size) FROM peers WHERE afi = 4")
    assert peers[0][0] >= 5 and 0 < peers[0][1] <= peers[0][0]
    vn = _rows(db, "SELECT name, country FROM entities WHERE entity_type = 'as' AND entity = '45899'")
    assert vn and vn[0][1] == "VN"
    assert (
        _rows(db, "SELECT count(*) FROM entity_prefixes WHERE entity_type = 'as' AND entity = '45899'")[0][0]
        > 10
    )
    assert infer_collector("/x/rrc04/2022.02/updates.20220206.0725.gz") == "rrc04"
    assert infer_collector("/a/route-views.sydney/bgpdata/2022.01/UPDATES/u.bz2") == "route-views.sydney"
    assert infer_collector("/a/bgpdata/2022.01/UPDATES/updates.20220101.0000.bz2") == "route-views2"
    assert infer_collector("/tmp/whatever.gz") == "unknown"


def _as_info(shared: Path):  # type: ignore[no-untyped-def]
    from outagewatch.engine.lookups import as_info_from_file

    return as_info_from_file(shared / "geo" / "asnames.json.gz")


def test_truncated_input_is_recorded_not_fatal(tmp_path: Path, files: list[Path]) -> None:
    import gzip

    raw = gzip.decompress(files[0].read_bytes())
    cut = tmp_path / "updates.20220206.0725"
    cut.write_bytes(raw[: len(raw) // 2 + 7])
    db = tmp_path / "ow.duckdb"
    summary = ingest_files(db, [cut, files[1]], collector="rrc04")
    assert summary.problems >= 1
    probs = _rows(db, "SELECT source, cause FROM problems")
    assert probs and str(cut) in str(probs[0][0])
    assert _rows(db, "SELECT problems FROM runs") == [(summary.problems,)]
    assert summary.bins == 2


def test_files_the_reader_refuses_are_problems_and_the_rest_is_ingested(
    tmp_path: Path, files: list[Path]
) -> None:
    empty, garbage = tmp_path / "empty.gz", tmp_path / "garbage.mrt"
    empty.write_bytes(b"")
    garbage.write_bytes(bytes(range(256)) * 20)
    db, alone = tmp_path / "ow.duckdb", tmp_path / "alone.duckdb"
    summary = ingest_files(db, [empty, files[0], garbage], collector="rrc04")
    good = ingest_files(alone, [files[0]], collector="rrc04")
    assert summary.elements == good.elements > 0 and summary.bins == good.bins
    assert _rows(db, SIGNALS) == _rows(alone, SIGNALS)
    probs = _rows(db, 'SELECT source, "offset", record_index, cause FROM problems ORDER BY source')
    assert probs == [
        (str(empty), 0, -1, "empty file"),
        (str(garbage), 0, -1, probs[1][3]),
    ]
    assert probs[1][3].startswith("not an MRT file")
    assert _rows(db, "SELECT count(*), sum(elements) FROM inputs") == [(3, good.elements)]


def test_cli_refuses_an_unusable_rib_in_one_line_and_stores_nothing(
    tmp_path: Path, files: list[Path]
) -> None:
    garbage = tmp_path / "rib.mrt"
    garbage.write_bytes(bytes(range(256)) * 20)
    db = tmp_path / "r.duckdb"
    res = CliRunner().invoke(_app(), ["ingest", str(files[0]), "--rib", str(garbage), "--db", str(db)])
    assert res.exit_code == 1
    assert res.output.strip().startswith("error: ") and "not an MRT file" in res.output
    assert "Traceback" not in res.output and "(nothing stored)" in res.output
    assert _rows(db, "SELECT count(*) FROM runs") == [(0,)]


def _app() -> typer.Typer:
    app = typer.Typer()
    for mod in (ingest_cmd, signals_cmd, export_cmd):
        mod.register(app)
    return app


def test_cli_ingest_signals_export(tmp_path: Path, files: list[Path]) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    res = runner.invoke(
        _app(),
        [
            "ingest",
            *map(str, files[:2]),
            "--db",
            str(db),
            "--collector",
            "rrc04",
            "--bin",
            "60",
            "--no-countries",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "elements" in res.output and "bins" in res.output
    res = runner.invoke(
        _app(),
        [
            "signals",
            "--db",
            str(db),
            "--entity",
            "as:AS45899",
            "--metric",
            "all.announcements",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) >= 2 and all(r["bin_seconds"] == 60 and r["entity"] == "45899" for r in rows)
    res = runner.invoke(
        _app(),
        [
            "signals",
            "--db",
            str(db),
            "--entity",
            "as:45899",
            "--format",
            "csv",
            "--from",
            "2022-02-06T07:30Z",
        ],
    )
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("bin_start,")
    assert all(line[:16] >= "2022-02-06T07:30" for line in res.stdout.splitlines()[1:])
    res = runner.invoke(_app(), ["signals", "--db", str(db), "--entity", "planet:earth"])
    assert res.exit_code != 0
    out = tmp_path / "parquet"
    res = runner.invoke(_app(), ["export", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert pq.read_table(out / "signals.parquet").num_rows == _rows(db, "SELECT count(*) FROM signals")[0][0]
    changes = _rows(db, "SELECT count(*) FROM signal_changes")[0][0]
    assert pq.read_table(out / "signal_changes.parquet").num_rows == changes
    res = runner.invoke(_app(), ["ingest", str(files[0]), "--db", str(db), "--bin", "30"])
    assert res.exit_code != 0


def test_rib_starts_the_state(tmp_path: Path, shared_data: Path) -> None:
    data = shared_data / "mrt" / "bgpdump-tests" / "test_data"
    db = tmp_path / "rib.duckdb"
    summary = ingest_files(
        db, [data / "updates.20020722.2238.gz"], ribs=[data / "bview.20020722.2337.gz"], collector="rrc00"
    )
    assert summary.state_source == "rib"
    sizes = _rows(db, "SELECT max(table_size), sum(full_feed::INT) FROM peers WHERE afi = 4")
    assert sizes[0][0] > 100_000 and sizes[0][1] >= 1  # a full 2002 table (≈ 115 k prefixes)
    visible = _rows(
        db,
        "SELECT max(value) FROM signals WHERE entity_type = 'global'"
        " AND metric = 'ipv4.visible_prefixes.ff_any'",
    )
    assert visible[0][0] > 100_000


def test_cli_reports_problems(tmp_path: Path, files: list[Path]) -> None:
    import gzip

    cut = tmp_path / "updates.20220206.0725"
    cut.write_bytes(gzip.decompress(files[0].read_bytes())[:300_007])
    res = CliRunner().invoke(
        _app(), ["ingest", str(cut), "--db", str(tmp_path / "p.duckdb"), "--no-countries"]
    )
    assert res.exit_code == 0, res.output
    assert "1 problems" in res.output and "problem: " in res.output and "truncated" in res.output


def test_the_view_holds_the_engines_dense_rows(tmp_path: Path, files: list[Path]) -> None:
    """What ingest stores change-coded reads back, through the ``signals`` view, as exactly the
    dense rows the engine finalizes for every bin (15 bins of 60 s of real updates), from about
    half of the rows (a state built from 15 minutes of updates still moves a lot)."""
    from outagewatch import read_mrt
    from outagewatch.signals.engine import SignalEngine
    from outagewatch.signals.partial import finalize

    db = tmp_path / "ow.duckdb"
    summary = ingest_files(db, files, collector="rrc04", bin_seconds=60, watch=["1.1.1.0/24"])
    engine = SignalEngine(bin_seconds=60, watch=["1.1.1.0/24"], dense=True)
    dense = []
    for f in files:
        for batch in read_mrt(f, collector="rrc04"):
            dense += [finalize(c.partial) for c in engine.feed(batch)]
    dense += [finalize(c.partial) for c in engine.flush()]
    want = sorted(
        (r["bin_start"], r["entity_type"], r["entity"], r["metric"], r["value"])
        for t in dense
        for r in t.to_pylist()
    )
    assert _rows(db, SIGNALS) == want
    assert summary.bins == len(dense) and summary.signal_rows < len(want) * 0.6
