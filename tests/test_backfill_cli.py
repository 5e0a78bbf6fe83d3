"""``outagewatch backfill`` download phase end to end: loopback archive, cache, offline rerun."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from outagewatch.backfill.collectors import DEFAULT_BASE_URLS
from outagewatch.backfill.fetch import BaseUrlError, parse_base_urls
from outagewatch.cli import backfill_cmd
from test_backfill_server import Faults, ris_tree, serve


def _app() -> typer.Typer:
    app = typer.Typer()
    backfill_cmd.register(app)
    app.command(name="noop", hidden=True)(lambda: None)  # keep typer in multi-command mode
    return app


def test_base_urls() -> None:
    assert parse_base_urls([]) == DEFAULT_BASE_URLS
    assert parse_base_urls(["/srv/mirror"]) == {"ris": "/srv/mirror", "routeviews": "/srv/mirror"}
    both = parse_base_urls(["ris=http://127.0.0.1:9/ris", "routeviews=file:///srv/rv"])
    assert both == {"ris": "http://127.0.0.1:9/ris", "routeviews": "file:///srv/rv"}
    with pytest.raises(BaseUrlError, match="unknown project 'pch'"):
        parse_base_urls(["pch=http://x"])


def test_parse_time() -> None:
    assert backfill_cmd.parse_time("2014-12-22T16:15Z") == datetime(2014, 12, 22, 16, 15, tzinfo=UTC)
    assert backfill_cmd.parse_time("2014-12-22") == datetime(2014, 12, 22, tzinfo=UTC)
    with pytest.raises(typer.BadParameter, match="not an ISO 8601 time"):
        backfill_cmd.parse_time("yesterday")


@pytest.mark.shared
def test_download_only_then_offline(tmp_path: Path, shared_data: Path) -> None:
    tree = ris_tree(tmp_path)
    cache = tmp_path / "cache"
    args = ["backfill", "--collectors", "rrc04", "--start", "2022-02-06T07:25Z", "--end", "2022-02-06T07:40Z"]
    gone = "rrc04/2022.02/updates.20220206.0730.gz"
    with serve(tree, Faults(cut_first=1, cut_at=2000, gone={gone})) as (base, faults):
        res = CliRunner().invoke(
            _app(), [*args, "--base-url", base, "--cache", str(cache), "--download-only", "--retries", "2"]
        )
    assert res.exit_code == 0, res.output
    assert (
        "plan (listing): 6 files" in res.output and "1 missing" in res.output and "5 downloaded" in res.output
    )
    assert "HTTP 404" in res.output and "no update file covers 2022-02-06 07:30–07:35" not in res.output
    assert (cache / "rrc04/2022.02/updates.20220206.0725.gz").read_bytes() == (
        tree / "rrc04/2022.02/updates.20220206.0725.gz"
    ).read_bytes()
    assert faults.ranges  # the cut transfers were resumed
    offline = CliRunner().invoke(_app(), [*args, "--cache", str(cache), "--offline", "--download-only"])
    assert offline.exit_code == 0, offline.output
    assert "plan (listing): 5 files" in offline.output and "5 cached" in offline.output
    assert "rrc04: no update file covers 2022-02-06 07:30–07:35" in offline.output


def test_bad_arguments_are_named() -> None:
    res = CliRunner().invoke(
        _app(), ["backfill", "--collectors", "nowhere", "--start", "2022-01-01", "--end", "2022-01-02"]
    )
    assert res.exit_code == 2 and "unknown collector 'nowhere'" in res.output
    res = CliRunner().invoke(
        _app(), ["backfill", "--collectors", "rrc00", "--start", "2022-01-02", "--end", "2022-01-01"]
    )
    assert res.exit_code == 2 and "is not after --start" in res.output


@pytest.mark.shared
def test_backfill_processes_into_the_store(tmp_path: Path, shared_data: Path) -> None:
    import duckdb

    tree = ris_tree(tmp_path)
    db = tmp_path / "ow.duckdb"
    args = ["backfill", "--collectors", "rrc04", "--start", "2022-02-06T07:27Z", "--end", "2022-02-06T07:35Z"]
    res = CliRunner().invoke(
        _app(), [*args, "--base-url", str(tree), "--cache", str(tmp_path / "c"), "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    assert "plan (listing): 5 files" in res.output and "5 local" in res.output
    assert "backfill (local): 1 tasks" in res.output and "2 bins" in res.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT bin_start) FROM signals").fetchone() == (2,)
        row = con.execute("SELECT command, status, bins FROM runs").fetchone()
        assert row == ("backfill", "ok", 2)
