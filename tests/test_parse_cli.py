"""``outagewatch parse``: formats, and one-line errors naming the file for unusable inputs."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from outagewatch.cli import app

runner = CliRunner()
TEST_DATA = ("mrt", "bgpdump-tests", "test_data")


@pytest.mark.shared
def test_bgpdump_format_matches_expectation(shared_data: Path) -> None:
    name = "updates.20071015.1505.gz"
    result = runner.invoke(app, ["parse", str(shared_data.joinpath(*TEST_DATA, name))])
    assert result.exit_code == 0, result.output
    expect = shared_data / "mrt" / "bgpdump-tests" / "test_expect" / f"{name}.bgp.gz"
    with gzip.open(expect, "rt", encoding="utf-8") as f:
        assert result.stdout == f.read()


@pytest.mark.shared
def test_jsonl_and_parquet(shared_data: Path, tmp_path: Path) -> None:
    src = str(shared_data / "mrt" / "lab" / "quagga_bgp")
    result = runner.invoke(app, ["parse", "--format", "jsonl", "--collector", "lab", src])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 38 and rows[0]["collector"] == "lab" and rows[0]["peer_ip"] == "192.168.0.10"
    out = tmp_path / "x.parquet"
    result = runner.invoke(app, ["parse", "-f", "parquet", "-o", str(out), src, src])
    assert result.exit_code == 0
    assert pq.read_table(out).num_rows == 76


@pytest.mark.shared
def test_damaged_input_warns_but_succeeds_unless_fail(shared_data: Path) -> None:
    src = str(shared_data / "mrt" / "truncated" / "rib6.20151101.0600_firstMB.bz2")
    result = runner.invoke(app, ["parse", src, "-o", os.devnull])
    assert result.exit_code == 0
    assert "truncated bzip2 stream" in result.stderr
    result = runner.invoke(app, ["parse", src, "-o", os.devnull, "--on-problem", "fail"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and src in result.stderr


def test_unusable_files_exit_nonzero_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.mrt").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("these are notes, not an MRT file at all\n")
    for path in [tmp_path / "missing.gz", tmp_path, tmp_path / "empty.mrt", tmp_path / "notes.txt"]:
        result = runner.invoke(app, ["parse", str(path)])
        assert result.exit_code != 0
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and str(path) in lines[0], lines


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.mrt"
    path.write_bytes(b"\0" * 32)
    path.chmod(0)
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code != 0 and "permission denied" in result.stderr


def test_parquet_needs_out(tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", "-f", "parquet", str(tmp_path / "x")])
    assert result.exit_code == 2
