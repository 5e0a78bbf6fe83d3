"""The kp-2014 bars, end to end: simulate → signal engine → DuckDB → detect → report (and the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outagewatch.cli import app
from outagewatch.engine.demo import DemoResult, run_demo
from outagewatch.store.db import connect

pytestmark = pytest.mark.slow
BIN = 300
OUT_START = int(datetime(2014, 12, 22, 16, 15, tzinfo=UTC).timestamp())
OUT_END = int(datetime(2014, 12, 23, 1, 46, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"))


def test_exactly_one_kp_outage_within_one_bin_of_the_facts(demo: DemoResult) -> None:
    kp = [e for e in demo.events if e.kind == "outage" and (e.entity_type, e.entity) == ("country", "KP")]
    assert len(kp) == 1, kp
    assert abs(kp[0].start - OUT_START) <= BIN
    assert kp[0].end is not None and abs(kp[0].end - OUT_END) <= BIN
    assert kp[0].scope == "full"


def test_kp_instability_opens_at_least_12_h_before_the_outage(demo: DemoResult) -> None:
    inst = [
        e for e in demo.events if e.kind == "instability" and (e.entity_type, e.entity) == ("country", "KP")
    ]
    assert any(e.start <= OUT_START - 12 * 3600 for e in inst), [(e.start, e.end) for e in inst]


def test_no_outage_for_any_other_country(demo: DemoResult) -> None:
    others = [
        e for e in demo.events if e.kind == "outage" and e.entity_type == "country" and e.entity != "KP"
    ]
    assert others == []


def test_report_names_the_single_upstream(demo: DemoResult) -> None:
    assert "KP (North Korea): down hard since 16:15 UTC (2 h 05 m so far): 4 of 4 prefixes" in demo.report
    assert "single upstream AS4837" in demo.report
    assert "increasing instability" in demo.report


def test_store_is_left_for_report_and_detect_reruns_without_duplicates(demo: DemoResult) -> None:
    con = connect(demo.db)
    n = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    runner = CliRunner()
    again = runner.invoke(app, ["detect", "--db", str(demo.db)])
    assert again.exit_code == 0, again.output
    con = connect(demo.db)
    assert con.execute("SELECT count(*) FROM events").fetchone() == n
    con.close()
    rep = runner.invoke(app, ["report", "--db", str(demo.db), "--as", "131279", "--format", "markdown"])
    assert rep.exit_code == 0 and rep.stdout.startswith("### AS131279")


def test_demo_command_refuses_to_overwrite_a_given_store(tmp_path: Path) -> None:
    db = tmp_path / "mine.duckdb"
    db.write_bytes(b"")
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--db", str(db)])
    assert res.exit_code == 2 and "exists" in res.output
