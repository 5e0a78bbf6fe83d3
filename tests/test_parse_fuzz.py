"""Damaged input: random mutations and truncations of real MRT files never raise anything but
MrtError, always terminate, and keep memory bounded (at most one element per input byte)."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import resource
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagewatch import MrtError, read_mrt
from outagewatch.parse.bgpdump_format import render_batch
from outagewatch.parse.mrt import decode_bytes

pytestmark = [pytest.mark.shared, pytest.mark.timeout(300)]

SEEDS = [
    ("lab/quagga_bgp", None),
    ("lab/bird6_bgp", None),
    ("lab/openbgpd_rib_table", None),
    ("lab/openbgpd_rib_table-mp", None),
    ("lab/bird-mrtdump_rib", None),
    ("bgpdump-tests/test_data/bview.ipv4_unicast_add_path.gz", None),
    ("bgpdump-tests/test_data/updates.nlri_mask_trailing_bits.gz", None),
    ("bgpdump-tests/test_data/updates.20020722.2238.gz", 40_000),
    ("bgpdump-tests/test_data/updates.et-header.2015.gz", 40_000),
    ("bgpkit-fixtures/ripe/rrc00/2000.01/updates.20000102.2014.gz", 40_000),
    ("bgpkit-fixtures/ripe/rrc00/2000.01/bview.20000111.0032.gz", 30_000),
    ("bgpkit-fixtures/updates-et-2024-09-14.bz2", None),
    ("truncated/rib6.20151101.0600_firstMB.bz2", 40_000),
]


def _load(shared_data: Path, name: str, limit: int | None) -> bytes:
    raw = (shared_data / "mrt" / name).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        with gzip.open(io.BytesIO(raw)) as f:
            raw = f.read(limit or -1)
    elif raw[:3] == b"BZh":
        dec = bz2.BZ2Decompressor()
        raw = dec.decompress(raw, limit or -1)
    return raw[:limit] if limit else raw


@pytest.fixture(scope="module")
def seeds(shared_data: Path) -> list[bytes]:
    return [_load(shared_data, name, limit) for name, limit in SEEDS]


def _mutate(data: bytes, edits: list[tuple[int, int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for where, value, op in edits:
        i = where % max(len(buf), 1)
        if op == 0 and buf:
            buf[i] = value
        elif op == 1:
            buf[i:i] = bytes([value]) * (value % 7 + 1)
        elif buf:
            del buf[i : i + value % 9 + 1]
    return bytes(buf[:cut] if cut is not None else buf)


def _check(data: bytes) -> None:
    table, problems = decode_bytes(data, source="fuzz", batch_size=4096)
    assert table.num_rows <= len(data)
    for p in problems:
        assert 0 <= p.offset <= len(data) and p.source == "fuzz"
    for batch in table.to_batches():
        for _ in render_batch(batch, bgpdump_only=False):
            pass
    with contextlib.suppress(MrtError):
        read_mrt(io.BytesIO(data), on_problem="fail", chunk_size=1 << 16).read_all()


edits_st = st.lists(
    st.tuples(st.integers(0, 1 << 24), st.integers(0, 255), st.integers(0, 2)), min_size=1, max_size=12
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SEEDS) - 1), edits=edits_st, cut=st.none() | st.integers(0, 1 << 16))
def test_mutated_records_only_raise_mrt_error(
    seeds: list[bytes], which: int, edits: list[tuple[int, int, int]], cut: int | None
) -> None:
    _check(_mutate(seeds[which], edits, cut))


@settings(max_examples=60, deadline=None)
@given(which=st.integers(0, len(SEEDS) - 1), cut=st.integers(0, 1 << 16))
def test_truncations_keep_every_complete_record(seeds: list[bytes], which: int, cut: int) -> None:
    data = seeds[which]
    cut = cut % (len(data) + 1)
    whole, _ = decode_bytes(data)
    part, problems = decode_bytes(data[:cut])
    assert part.num_rows <= whole.num_rows
    if cut < len(data) and part.num_rows < whole.num_rows:
        assert problems or cut == 0 or part.num_rows > 0


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, len(SEEDS) - 1), edits=edits_st)
def test_damaged_compressed_streams_only_raise_mrt_error(
    seeds: list[bytes], which: int, edits: list[tuple[int, int, int]]
) -> None:
    packed = gzip.compress(seeds[which][:20000], compresslevel=1)
    damaged = packed[:10] + _mutate(packed[10:], edits, None)
    with contextlib.suppress(MrtError):
        read_mrt(io.BytesIO(damaged), on_problem="ignore").read_all()


def test_memory_stays_bounded_over_many_damaged_inputs(seeds: list[bytes]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for round_ in range(30):
        for data in seeds:
            _check(
                _mutate(
                    data,
                    [(round_ * 7919 + k * 104729, (round_ * 13 + k) % 256, k % 3) for k in range(5)],
                    None,
                )
            )
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300
