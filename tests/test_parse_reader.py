"""read_mrt: batches, chunking, inputs, problem policies, Arrow/Polars/DuckDB paths."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from outagewatch import ELEMENT_SCHEMA, MrtError, read_mrt
from outagewatch.sources.mrtfile import MrtProblemWarning, read_mrt_table

pytestmark = pytest.mark.shared

UPDATES = ("mrt", "bgpdump-tests", "test_data", "updates.20070211.0141.gz")
TRUNCATED_RIB = ("mrt", "truncated", "rib.20080501.0644_firstMB.bz2")


def test_batches_are_bounded_and_complete(shared_data: Path) -> None:
    reader = read_mrt(shared_data.joinpath(*UPDATES), collector="rrc01", batch_size=5000)
    batches = list(reader)
    assert all(b.schema == ELEMENT_SCHEMA for b in batches)
    assert sum(b.num_rows for b in batches) == 53657
    assert max(b.num_rows for b in batches) < 5000 + 2000
    assert all(b.num_rows >= 5000 for b in batches[:-1])
    assert reader.stats.elements == 53657 and reader.stats.codec == "gzip"
    assert reader.stats.records > 0 and reader.problems == []
    assert set(batches[0].column("collector").to_pylist()) == {"rrc01"}


def test_small_chunks_give_the_same_table(shared_data: Path) -> None:
    whole = read_mrt_table(shared_data.joinpath(*UPDATES))
    chunked = read_mrt(shared_data.joinpath(*UPDATES), chunk_size=1 << 16).read_all()
    assert chunked.equals(whole)


def test_plain_file_object_and_no_prefetch(shared_data: Path, tmp_path: Path) -> None:
    plain = tmp_path / "updates.mrt"
    with gzip.open(shared_data.joinpath(*UPDATES)) as f:
        plain.write_bytes(f.read())
    with open(plain, "rb") as f:
        reader = read_mrt(f)
        table = reader.read_all()
    assert reader.stats.codec == "plain"
    assert table.num_rows == 53657
    assert table.equals(read_mrt_table(shared_data.joinpath(*UPDATES)))


def test_truncated_stream_policies(shared_data: Path) -> None:
    path = shared_data.joinpath(*TRUNCATED_RIB)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = read_mrt(path, on_problem="ignore")
        assert reader.read_all().num_rows == 139291
    causes = [p.cause for p in reader.problems]
    assert causes[0].startswith("truncated record")
    assert causes[-1].startswith("truncated bzip2 stream")
    assert reader.problems[0].record_index == 139291
    with pytest.warns(MrtProblemWarning, match="truncated"):
        assert read_mrt(path).read_all().num_rows == 139291
    with pytest.raises(MrtError, match="truncated record") as info:
        read_mrt(path, on_problem="fail").read_all()
    assert info.value.problem is not None and info.value.problem.offset == 9876131


def test_gzip_cut_short_yields_everything_before_the_cut(shared_data: Path, tmp_path: Path) -> None:
    raw = shared_data.joinpath(*UPDATES).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    reader = read_mrt(cut, on_problem="ignore")
    rows = reader.read_all().num_rows
    assert 20000 < rows < 53657
    assert [p.cause.split(":")[0] for p in reader.problems][-1] == "truncated gzip stream"


def test_arrow_polars_duckdb_paths(shared_data: Path) -> None:
    frame = read_mrt(shared_data.joinpath(*UPDATES)).to_polars()
    assert frame.height == 53657
    assert frame["kind"].value_counts().sort("kind")["count"].to_list() == [51329, 2328]
    elements = read_mrt_table(shared_data.joinpath(*UPDATES))
    assert isinstance(elements, pa.Table)
    con = duckdb.connect()
    con.register("elements", elements)
    count = con.execute("select count(*) from elements where kind = 'W'").fetchone()
    assert count == (2328,)


def test_unusable_inputs_raise_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "text").write_text("not an mrt file at all, but long enough\n")
    cases = {
        tmp_path / "missing": "no such file",
        tmp_path: "is a directory",
        tmp_path / "empty": "empty file",
        tmp_path / "text": "not an MRT file",
    }
    for path, words in cases.items():
        with pytest.raises(MrtError, match=words) as info:
            read_mrt(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_reader_iterates_once(shared_data: Path) -> None:
    reader = read_mrt(shared_data / "mrt" / "lab" / "quagga_bgp")
    assert sum(b.num_rows for b in reader) == 38
    with pytest.raises(MrtError, match="only once"):
        list(reader)
