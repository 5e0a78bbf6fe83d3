"""open_input: codec by magic bytes, concatenated members, truncation and error contract."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import os
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.model.problem import MrtError
from outagewatch.sources.compressed import CorruptInput, InputStream, TruncatedInput, open_input

# Deterministic, compressible, MRT-looking payload (no real data needed for the unit tests).
PAYLOAD = b"".join(
    i.to_bytes(4, "big") + b"\x00\x10\x00\x04" + (b"%08d" % (i * 7919 % 100003)) * (i % 13)
    for i in range(60_000)
)


@functools.cache
def _bz2(copies: int, level: int) -> bytes:
    return bz2.compress(PAYLOAD * copies, level)


def _read_all(stream: InputStream, size: int = 65_536) -> bytes:
    parts = []
    while block := stream.read(size):
        parts.append(block)
    return b"".join(parts)


def _readinto_all(stream: InputStream, size: int = 1 << 20) -> bytes:
    buf = bytearray(size)
    parts = []
    while n := stream.readinto(buf):
        parts.append(bytes(buf[:n]))
    return b"".join(parts)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The payload plain, gzip and bzip2, under misleading names."""
    out = {
        "plain": tmp_path / "plain.gz",
        "gzip": tmp_path / "gz.bz2",
        "bzip2": tmp_path / "bz.mrt",
    }
    out["plain"].write_bytes(PAYLOAD)
    out["gzip"].write_bytes(gzip.compress(PAYLOAD, 6))
    out["bzip2"].write_bytes(_bz2(1, 9))
    return out


@pytest.mark.parametrize("codec", ["plain", "gzip", "bzip2"])
def test_codec_by_magic_not_name(files: dict[str, Path], codec: str) -> None:
    with open_input(files[codec]) as s:
        assert s.codec == codec
        assert s.name == str(files[codec])
        assert _read_all(s) == PAYLOAD
        assert s.read(10) == b""
    with open_input(str(files[codec])) as s:
        assert _readinto_all(s) == PAYLOAD
        assert s.delivered == len(PAYLOAD)


@pytest.mark.parametrize("codec", ["plain", "gzip", "bzip2"])
def test_file_object_and_read_all(files: dict[str, Path], codec: str) -> None:
    f = io.BytesIO(files[codec].read_bytes())
    s = open_input(f)
    assert s.codec == codec
    assert "BytesIO" in s.name
    assert s.read() == PAYLOAD
    s.close()
    assert not f.closed  # the caller's file object stays open
    with pytest.raises(ValueError, match="closed"):
        s.read(1)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=300_000), min_size=1, max_size=40))
def test_mixed_read_sizes_reassemble(sizes: list[int]) -> None:
    data = gzip.compress(PAYLOAD[:400_000], 1)
    with open_input(io.BytesIO(data)) as s:
        got = bytearray()
        for i, n in enumerate(sizes):
            if i % 2:
                buf = bytearray(n)
                k = s.readinto(buf)
                got += buf[:k]
            else:
                got += s.read(n)
        got += s.read()
    assert bytes(got) == PAYLOAD[:400_000]


def test_multi_member_gzip_and_multi_stream_bzip2(tmp_path: Path) -> None:
    halves = PAYLOAD[:123_457], PAYLOAD[123_457:]
    gz = tmp_path / "multi.gz"
    gz.write_bytes(gzip.compress(halves[0]) + gzip.compress(halves[1]) + gzip.compress(b"") + b"\0" * 9)
    bz = tmp_path / "multi.bz2"
    bz.write_bytes(bz2.compress(halves[0], 1) + bz2.compress(halves[1], 1))
    for path in (gz, bz):
        with open_input(path) as s:
            assert _read_all(s, 777_777) == PAYLOAD


def test_trailing_garbage_after_member_is_corrupt(tmp_path: Path) -> None:
    p = tmp_path / "garbage.gz"
    p.write_bytes(gzip.compress(PAYLOAD) + b"not gzip")
    with open_input(p) as s:
        assert s.read(len(PAYLOAD)) == PAYLOAD
        with pytest.raises(CorruptInput, match=r"garbage\.gz") as info:
            s.read(1)
    assert info.value.offset == len(PAYLOAD)
    assert isinstance(info.value, MrtError)


def test_corrupt_deflate_data_raises_mrt_error_after_good_bytes(tmp_path: Path) -> None:
    blob = bytearray(gzip.compress(PAYLOAD, 6))
    for i in range(len(blob) // 2, len(blob) // 2 + 64):
        blob[i] ^= 0x5A
    p = tmp_path / "damaged.gz"
    p.write_bytes(bytes(blob))
    got = bytearray()
    with open_input(p) as s, pytest.raises(MrtError, match=r"damaged\.gz") as info:
        while block := s.read(4096):
            got += block
    assert isinstance(info.value, CorruptInput)
    assert info.value.offset == len(got)
    assert PAYLOAD.startswith(bytes(got[: len(got) // 2]))


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress], ids=["gzip", "bzip2"])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.93, 0.9999])
def test_truncated_stream_yields_everything_then_raises(
    tmp_path: Path, compress: object, fraction: float
) -> None:
    blob = compress(PAYLOAD)  # type: ignore[operator]
    p = tmp_path / "cut.bin"
    p.write_bytes(blob[: int(len(blob) * fraction)])
    for use_readinto in (False, True):
        with open_input(p) as s:
            got = bytearray()
            buf = bytearray(300_000)
            with pytest.raises(TruncatedInput, match=r"cut\.bin") as info:
                while True:  # every good byte comes back before the error; no clean EOF
                    chunk = buf[: s.readinto(buf)] if use_readinto else s.read(300_000)
                    assert chunk, "a truncated stream must not end cleanly"
                    got += chunk
            assert info.value.offset == len(got) == s.delivered
            assert PAYLOAD.startswith(bytes(got))
            assert isinstance(info.value, EOFError)
            with pytest.raises(TruncatedInput):
                s.read(1)  # it keeps failing


def test_truncated_gzip_delivers_at_least_what_gzip_tool_decodes(tmp_path: Path) -> None:
    blob = gzip.compress(PAYLOAD, 9)
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) * 2 // 3])
    tool = subprocess.run(["gzip", "-dc", str(p)], capture_output=True, check=False).stdout
    with open_input(p) as s:
        got = bytearray()
        with pytest.raises(TruncatedInput):
            while block := s.read(100_000):
                got += block
    assert len(got) >= len(tool) > 0
    assert bytes(got).startswith(tool)


def test_missing_directory_empty_unreadable(tmp_path: Path) -> None:
    with pytest.raises(MrtError, match=r"nope\.gz: no such file"):
        open_input(tmp_path / "nope.gz")
    with pytest.raises(MrtError, match="is a directory"):
        open_input(tmp_path)
    empty = tmp_path / "empty.bz2"
    empty.write_bytes(b"")
    with pytest.raises(MrtError, match=r"empty\.bz2: empty file"):
        open_input(empty)
    with pytest.raises(MrtError, match="empty file"):
        open_input(io.BytesIO(b""))
    locked = tmp_path / "locked.gz"
    locked.write_bytes(b"x")
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(MrtError, match=r"locked\.gz: permission denied"):
            open_input(locked)


def test_one_byte_inputs() -> None:
    with open_input(io.BytesIO(b"\x1f")) as s:
        assert s.codec == "plain"
        assert s.read() == b"\x1f"
    with open_input(io.BytesIO(b"\x1f\x8b")) as s:
        assert s.codec == "gzip"
        with pytest.raises(TruncatedInput) as info:
            s.read()
        assert info.value.offset == 0


# -- real archives --------------------------------------------------------------------------


def _tool(cmd: str, path: Path) -> bytes:
    return subprocess.run([cmd, "-dc", str(path)], capture_output=True, check=False).stdout


@pytest.mark.shared
def test_real_gzip_and_bzip2_equal_command_line_tools(shared_data: Path) -> None:
    gz = shared_data / "mrt" / "ris-2022-week" / "updates.20220131.0625.gz"
    bz = shared_data / "mrt" / "modern" / "sydney.updates.20220601.0230.bz2"
    for path, cmd in ((gz, "gzip"), (bz, "bzip2")):
        with open_input(path) as s:
            assert _readinto_all(s) == _tool(cmd, path)


@pytest.mark.shared
def test_real_truncated_bzip2_files(shared_data: Path) -> None:
    paths = sorted((shared_data / "mrt" / "truncated").glob("*firstMB.bz2"))
    for path, threads in [(p, t) for p in paths for t in (1, 2)]:
        tool = _tool("bzip2", path)
        with open_input(path, threads=threads) as s:
            got = bytearray()
            with pytest.raises(TruncatedInput, match=path.name) as info:
                while block := s.read(1 << 20):
                    got += block
        assert info.value.offset == len(got) >= len(tool) > 1_000_000
        assert bytes(got).startswith(tool)
        # identical to stdlib's one-shot incremental decode of the same bytes
        assert bytes(got) == bz2.BZ2Decompressor().decompress(path.read_bytes())


@pytest.mark.shared
def test_real_small_complete_bzip2(shared_data: Path) -> None:
    path = shared_data / "mrt" / "truncated" / "bview.20140112.1600_3samples.bz2"
    with open_input(path) as s:
        assert s.codec == "bzip2"
        assert s.read() == bz2.decompress(path.read_bytes())


def test_zlib_fallback_decoder_matches(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from outagewatch.sources import compressed

    monkeypatch.setattr(compressed, "_gzip_impl", zlib)
    with open_input(files["gzip"]) as s:
        assert _read_all(s) == PAYLOAD


@pytest.mark.parametrize("where", [0.0, 0.5, 0.999])
def test_bzip2_damage_parallel_and_stdlib_agree(tmp_path: Path, where: float) -> None:
    """Flipped bits in a bzip2 file: the good blocks before the damage, then CorruptInput.

    bzip2 checks a block's CRC only after emitting it, so up to one block (100 kB at level 1)
    before the error may be unverified, as with `bzip2 -dc`.
    """
    data = PAYLOAD * 3
    blob = bytearray(_bz2(3, 1))
    blob[20 + int((len(blob) - 40) * where)] ^= 0x40
    p = tmp_path / "flip.bz2"
    p.write_bytes(bytes(blob))
    results = []
    for threads in (1, 2):
        got = bytearray()
        with open_input(p, threads=threads) as s, pytest.raises(CorruptInput, match=r"flip\.bz2") as info:
            while block := s.read(50_000):
                got += block
        assert info.value.offset == len(got)
        verified = max(0, len(got) - 100_000)
        assert got[:verified] == data[:verified]
        if where > 0.9:
            assert len(got) > len(data) // 2
        results.append(bytes(got))
    assert results[0] == results[1]


@pytest.mark.parametrize("threads", [1, 2])
def test_bzip2_truncated_parallel_and_stdlib_agree(tmp_path: Path, threads: int) -> None:
    blob = _bz2(3, 1)
    p = tmp_path / "cut.bz2"
    p.write_bytes(blob[: len(blob) * 3 // 4])
    got = bytearray()
    with open_input(p, threads=threads) as s, pytest.raises(TruncatedInput):
        while block := s.read(70_000):
            got += block
    assert bytes(got) == bz2.BZ2Decompressor().decompress(p.read_bytes())
    assert len(got) > len(PAYLOAD)


@pytest.mark.parametrize("threads", [1, 2])
def test_bzip2_multi_stream_and_padding(tmp_path: Path, threads: int) -> None:
    p = tmp_path / "multi.bz2"
    p.write_bytes(_bz2(1, 9) + bz2.compress(PAYLOAD[:999]) + b"\0" * 5)
    with open_input(p, threads=threads) as s:
        assert _readinto_all(s, 333_333) == PAYLOAD + PAYLOAD[:999]


_SMALL = PAYLOAD[:200_000]
_BLOBS = {"gzip": gzip.compress(_SMALL, 6), "bzip2": bz2.compress(_SMALL, 1)}


@settings(max_examples=60, deadline=None)
@given(
    codec=st.sampled_from(["gzip", "bzip2"]),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(min_value=0.0, max_value=0.999), st.integers(1, 255)), max_size=3),
)
def test_fuzz_only_documented_errors(codec: str, cut: float, flips: list[tuple[float, int]]) -> None:
    """Cut and bit-flipped streams: only TruncatedInput / CorruptInput, bounded output, no hang."""
    blob = bytearray(_BLOBS[codec][: max(3, int(len(_BLOBS[codec]) * cut))])
    for where, mask in flips:
        blob[int(len(blob) * where)] ^= mask
    total = 0
    try:
        with open_input(io.BytesIO(bytes(blob))) as s:
            while block := s.read(65_536):
                total += len(block)
                assert total <= 4 * len(_SMALL)  # damage never makes output run away
    except (TruncatedInput, CorruptInput) as exc:
        assert exc.offset == total
    if not flips and cut < 0.99:
        assert total <= len(_SMALL)
