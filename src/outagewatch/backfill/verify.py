"""Is a downloaded archive file whole? Magic bytes, the full compressed stream, the first MRT header.

A transfer cut short leaves a file whose gzip/bzip2 stream ends before its end-of-stream marker;
reading it to the end is the only reliable test, so every fresh download is decompressed once
(in 1 MiB chunks, nothing kept) before it enters the cache.
"""

from __future__ import annotations

import bz2
import struct
import zlib
from pathlib import Path
from typing import Final

GZIP_MAGIC: Final = b"\x1f\x8b"
BZIP2_MAGIC: Final = b"BZh"
CHUNK: Final = 1 << 20

# MRT types (RFC 6396 + deprecated ones still found in archives): 5 BGP, 11 OSPFv2, 12 TABLE_DUMP,
# 13 TABLE_DUMP_V2, 16 BGP4MP, 17 BGP4MP_ET, 32/33 ISIS, 48/49 OSPFv3.
MRT_TYPES: Final = frozenset({5, 11, 12, 13, 16, 17, 32, 33, 48, 49})


class VerifyError(Exception):
    """The file is not a complete archive file; the message says where and why."""


def compression(head: bytes) -> str:
    """``gzip``, ``bzip2`` or ``none`` from a file's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    return "none"


def _check_mrt_header(path: Path, first: bytes) -> None:
    if len(first) < 12:
        raise VerifyError(f"{path}: decompressed stream holds {len(first)} bytes, less than one MRT header")
    _ts, mrt_type, _sub, _length = struct.unpack("!IHHI", first[:12])
    if mrt_type not in MRT_TYPES:
        raise VerifyError(f"{path}: byte 0 of the decompressed stream: MRT type {mrt_type} is not MRT")


def _gzip_stream(path: Path) -> tuple[int, bytes]:
    total, first = 0, b""
    dec = zlib.decompressobj(wbits=31)
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            data = dec.decompress(chunk)
            while dec.eof and dec.unused_data:  # next member of a multi-member gzip file
                rest = dec.unused_data
                dec = zlib.decompressobj(wbits=31)
                data += dec.decompress(rest)
            total += len(data)
            first = first or data[:12]
    if not dec.eof:
        raise VerifyError(f"{path}: gzip stream ends early, after {total} decompressed bytes (truncated)")
    return total, first


def _bzip2_stream(path: Path) -> tuple[int, bytes]:
    total, first = 0, b""
    try:
        with bz2.open(path, "rb") as fh:
            while True:
                data = fh.read(CHUNK)
                if not data:
                    break
                total += len(data)
                first = first or data[:12]
    except EOFError as exc:
        raise VerifyError(
            f"{path}: bzip2 stream ends early, after {total} decompressed bytes (truncated file)"
        ) from exc
    except OSError as exc:
        raise VerifyError(f"{path}: corrupt bzip2 stream after {total} decompressed bytes: {exc}") from exc
    return total, first


def verify_file(path: Path, expected_size: int | None = None) -> int:
    """Check ``path`` is a complete archive file; return its decompressed size.

    Raises :class:`VerifyError` naming the file and what is wrong: size mismatch, unknown
    compression, a stream that ends early or is corrupt, or a first record that is not MRT.
    """
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise VerifyError(f"{path}: {size} bytes on disk, the server announced {expected_size}")
    with path.open("rb") as fh:
        head = fh.read(12)
    kind = compression(head)
    try:
        if kind == "gzip":
            total, first = _gzip_stream(path)
        elif kind == "bzip2":
            total, first = _bzip2_stream(path)
        else:
            total, first = size, head
    except zlib.error as exc:
        raise VerifyError(f"{path}: corrupt gzip stream: {exc}") from exc
    _check_mrt_header(path, first)
    return total
