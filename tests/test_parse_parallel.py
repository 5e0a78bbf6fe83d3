"""Uncompressed input decoded in two threads gives exactly what one decoder gives: the same
elements in the same order, the same problems (offsets, record indices, causes), the same counts."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from outagewatch import read_mrt
from outagewatch.model.element import ELEMENT_SCHEMA
from outagewatch.sources.mrtfile import MrtReader

pytestmark = pytest.mark.shared
SPLIT = 256 << 10  # smaller than the default, so that these inputs span several split chunks
CHUNK = 2 * SPLIT

# (files concatenated into one plain input, how many times) — real files of each kind
CASES = {
    "ris-week": (
        ["mrt/ris-2022-week/updates.20220206.0725.gz", "mrt/ris-2022-week/updates.20220206.0730.gz"],
        1,
    ),
    "storm": (["mrt/rrc01-2010-08-27-storm/rrc01.updates.20100827.0840.gz"], 1),
    # damaged records between clean ones: chunks holding them fall back to one decoder, the
    # others split, and resynchronisation (which checks times against the last good record)
    # sees the same state either way
    "damaged-boundary": (
        [
            "mrt/ris-2022-week/updates.20220206.0725.gz",
            "mrt/bgpkit-fixtures/ripe/rrc00/2000.03/updates.20000325.0345.gz",
            "mrt/ris-2022-week/updates.20220206.0730.gz",
        ],
        2,
    ),
    "zebra-corrupted": (
        [
            "mrt/bgpkit-fixtures/ripe/rrc01/2000.11/updates.20001104.0124.gz",
            "mrt/ris-2022-week/updates.20220206.0725.gz",
        ],
        2,
    ),
    "bird-add-path": (["mrt/lab/bird_bgp", "mrt/lab/bird6_bgp"], 400),
}


def _records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 12 <= len(data):
        end = pos + 12 + int.from_bytes(data[pos + 8 : pos + 12], "big")
        out.append(data[pos:end])
        pos = end
    return out


def _plain(shared: Path, files: list[str], times: int, out: Path) -> Path:
    data = b"".join(_bytes(shared / f) for f in files)
    out.write_bytes(data * times)
    return out


def _bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _read(path: Path, parallel: bool) -> tuple[pa.Table, list[tuple[object, ...]], int, int]:
    reader = MrtReader(
        path,
        collector="rrc00",
        chunk_size=CHUNK,
        on_problem="ignore",
        parallel=parallel,
        split_min_bytes=SPLIT,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = pa.Table.from_batches(list(reader), ELEMENT_SCHEMA)
    problems = [(p.offset, p.record_index, p.mrt_type, p.mrt_subtype, p.cause) for p in reader.problems]
    return table, problems, reader.stats.records, reader.stats.split_chunks


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_threads_equal_one(case: str, shared_data: Path, tmp_path: Path) -> None:
    files, times = CASES[case]
    path = _plain(shared_data, files, times, tmp_path / f"{case}.mrt")
    assert path.stat().st_size > CHUNK, "the input must span several split chunks"
    one = _read(path, parallel=False)
    two = _read(path, parallel=True)
    assert two[0].num_rows == one[0].num_rows > 0
    assert two[0].equals(one[0])
    assert two[1] == one[1]
    assert two[2] == one[2]
    assert one[3] == 0 and two[3] > 0, "no chunk was split"


def test_rib_entries_after_a_split_use_the_peer_index_read_before(shared_data: Path, tmp_path: Path) -> None:
    """TABLE_DUMP_V2 entries in the second half need the PEER_INDEX_TABLE the first decoder read."""
    rib = _records(_bytes(shared_data / "mrt/lab/quagga_rib"))
    assert int.from_bytes(rib[0][4:6], "big") == 13 and int.from_bytes(rib[0][6:8], "big") == 1
    entries = b"".join(rib[1:])
    updates = _bytes(shared_data / "mrt/lab/quagga_bgp") * 150
    path = tmp_path / "rib-mixed.mrt"
    path.write_bytes(rib[0] + entries + (updates + entries) * 3)
    one, two = _read(path, parallel=False), _read(path, parallel=True)
    assert two[3] > 0, "no chunk was split"
    alone = read_mrt(shared_data / "mrt/lab/quagga_rib", on_problem="ignore").read_all()
    assert _rib_rows(two[0]) == 4 * _rib_rows(alone) > 0  # every repeat of the entries was read
    assert two[0].equals(one[0]) and two[1:3] == one[1:3]


def _rib_rows(table: pa.Table) -> int:
    return sum(1 for k in table.column("kind").to_pylist() if k == "B")


def test_split_point_only_over_whole_bgp4mp_records(shared_data: Path) -> None:
    from outagewatch.parse.mrt import MrtDecoder

    data = _bytes(shared_data / "mrt/ris-2022-week/updates.20220206.0725.gz")
    dec = MrtDecoder()
    got = dec.split_point(data, len(data) // 2)
    assert got is not None
    pos, records, _ = got
    assert len(data) // 2 <= pos < len(data)
    walked, n = 0, 0
    while walked < pos:  # the offset is a record boundary, `records` records after the start
        walked += 12 + int.from_bytes(data[walked + 8 : walked + 12], "big")
        n += 1
    assert (walked, n) == (pos, records)
    rib = _bytes(shared_data / "mrt/lab/quagga_rib")
    assert dec.split_point(rib, 1) is None  # TABLE_DUMP_V2: the peer index is state
    assert dec.split_point(data[: len(data) // 2], len(data)) is None  # no boundary after target


def _read_with(path: Path, **kw: object) -> tuple[pa.Table, list[tuple[object, ...]], int, int]:
    reader = MrtReader(path, collector="rrc00", on_problem="ignore", **kw)  # type: ignore[arg-type]
    table = pa.Table.from_batches(list(reader), ELEMENT_SCHEMA)
    problems = [(p.offset, p.record_index, p.mrt_type, p.mrt_subtype, p.cause) for p in reader.problems]
    return table, problems, reader.stats.records, reader.stats.bytes


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("cut", [False, True])
def test_plain_reads_in_small_chunks_equal_one_whole_read(
    case: str, cut: bool, shared_data: Path, tmp_path: Path
) -> None:
    """An uncompressed input that is not split is read PLAIN_CHUNK bytes at a time (records cut
    by a chunk end carried over): the same elements, problems and counts as one whole read,
    damaged framing and an input cut in the middle of a record included."""
    from outagewatch.sources.mrtfile import PLAIN_CHUNK

    files, times = CASES[case]
    path = _plain(shared_data, files, times, tmp_path / f"{case}.mrt")
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 7])  # the last record loses its tail
    size = path.stat().st_size
    assert size > 2 * PLAIN_CHUNK, "the input must span several chunks"
    with MrtReader(path, parallel=False) as probe:
        assert probe._chunk_size == PLAIN_CHUNK  # the default for a plain input read by one decoder
    small = _read_with(path, parallel=False)
    whole = _read_with(path, parallel=False, chunk_size=size + (1 << 20))
    assert small[0].num_rows == whole[0].num_rows > 0
    assert small[0].equals(whole[0])
    assert small[1:] == whole[1:]
    if cut:
        assert any("truncated record" in p[4] for p in small[1])
