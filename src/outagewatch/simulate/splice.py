"""Splicing real MRT update records into a scenario as background, re-timed into its window.

A tiny header walker: records are copied byte for byte except the 4-byte timestamp. Files are laid
end to end, one bin each (in name order, cycled if ``repeat``), so record offsets inside a file are
kept relative to the start of that file's bin. Records that are not BGP4MP / BGP4MP_ET
(types 16 and 17) are skipped, and a truncated tail ends the file (reported in ``problems``).
"""

from __future__ import annotations

import bz2
import glob
import gzip
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

_HDR = struct.Struct("!IHHI")


def _open_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    return raw


def walk_records(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(offset, timestamp, type, total length) of each complete MRT record in ``data``."""
    off, n = 0, len(data)
    while off + 12 <= n:
        ts, mtype, _sub, length = _HDR.unpack_from(data, off)
        if off + 12 + length > n:
            return
        yield off, ts, mtype, 12 + length
        off += 12 + length


@dataclass
class Spliced:
    """Re-timed records for one collector."""

    ts: list[int] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def arrays(self) -> npt.NDArray[np.int64]:
        return np.array(self.ts, np.int64)


def expand(patterns: tuple[str, ...], base: Path) -> list[Path]:
    """Files matching the patterns (relative ones against ``base``), sorted by name."""
    out: list[Path] = []
    for pat in patterns:
        full = pat if Path(pat).is_absolute() else str(base / pat)
        hits = sorted(glob.glob(full)) or ([full] if Path(full).exists() else [])
        out.extend(Path(h) for h in hits)
    return sorted(set(out), key=lambda p: p.name)


def splice(files: list[Path], start: int, end: int, bin_s: int, repeat: bool) -> Spliced:
    """Records of ``files`` laid end to end from ``start``, one bin per file, until ``end``."""
    got = Spliced()
    if not files:
        return got
    slot = start
    cache: dict[Path, list[tuple[int, bytes]]] = {}
    i = 0
    while slot < end and (repeat or i < len(files)):
        path = files[i % len(files)]
        if path not in cache:
            cache[path] = _file_records(path, bin_s, got.problems)
        for rel, rec in cache[path]:
            t = slot + rel
            if t < end:
                got.ts.append(t)
                got.records.append(_HDR.pack(t, *_HDR.unpack_from(rec)[1:]) + rec[12:])
        slot += bin_s
        i += 1
    return got


def _file_records(path: Path, bin_s: int, problems: list[str]) -> list[tuple[int, bytes]]:
    data = _open_bytes(path)
    out: list[tuple[int, bytes]] = []
    first = -1
    last_end = 0
    for off, ts, mtype, length in walk_records(data):
        last_end = off + length
        if mtype not in (16, 17):
            continue
        if first < 0:
            first = ts - ts % bin_s
        out.append((min(max(ts - first, 0), bin_s - 1), data[off : off + length]))
    if last_end < len(data):
        problems.append(f"{path}: truncated record at byte {last_end}; rest of file skipped")
    return out
