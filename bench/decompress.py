"""Measure gzip/bzip2 decompressors on real MRT archives; print MB/s and ratio vs the CLI floor.

Usage: .venv/bin/python bench/decompress.py [--data ../shared/data] [--repeat 3] [--codec gzip|bzip2|both]

Inputs (real RIS / RouteViews archives from ../shared/data/mrt):
  gzip small  all 129 files of mrt/ris-2022-week/ (~200 KB each), opened one by one
  gzip large  those 129 files concatenated into one multi-member file, plus rrc01 2024 (2.6 MB)
  bzip2 small the two RouteViews Sydney update files under mrt/modern/
  bzip2 large the decompressed ris-2022-week recompressed with `bzip2 -9` as one stream

MB/s counts decompressed bytes. The floor is `gzip -dc` / `bzip2 -dc` to a pipe we drain.
"sound" says whether, on a truncated copy, the candidate delivers every byte `gzip -dc` /
`bzip2 -dc` recovers and then raises (a silent short read or lost bytes is unsound).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from outagewatch.sources.compressed import open_input

Reader = Callable[[Path], int]
CHUNK = 1 << 20


def _drain(f: Any) -> int:
    n = 0
    buf = bytearray(CHUNK)
    while k := f.readinto(buf):
        n += k
    return n


def _drain_read(f: Any) -> int:
    n = 0
    while block := f.read(CHUNK):
        n += len(block)
    return n


def _cli(cmd: str) -> Reader:
    def run(path: Path) -> int:
        with subprocess.Popen([cmd, "-dc", str(path)], stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            n = _drain(proc.stdout)
        return n

    return run


def _zlib_obj(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        d = zlib.decompressobj(31)
        while block := f.read(CHUNK):
            while block:
                n += len(d.decompress(block))
                block = d.unused_data
                if d.eof and block:
                    d = zlib.decompressobj(31)
    return n


def gzip_candidates() -> dict[str, Reader]:
    out: dict[str, Reader] = {
        "gzip -dc (floor)": _cli("gzip"),
        "stdlib gzip.open": lambda p: _drain(gzip.open(p)),  # noqa: SIM115
        "stdlib zlib.decompressobj": _zlib_obj,
    }
    try:
        import isal.igzip as igzip
        import isal.igzip_threaded as igzip_threaded

        out["isal.igzip.open"] = lambda p: _drain(igzip.open(p))  # type: ignore[no-untyped-call]
        out["isal.igzip_threaded threads=2"] = lambda p: _drain_read(
            igzip_threaded.open(p, threads=2)  # type: ignore[no-untyped-call]
        )
    except ImportError:
        print("isal not installed", file=sys.stderr)
    try:
        import rapidgzip

        out["rapidgzip par=1"] = lambda p: _drain_read(rapidgzip.open(str(p), parallelization=1))
        out["rapidgzip par=2"] = lambda p: _drain_read(rapidgzip.open(str(p), parallelization=2))
    except ImportError:
        print("rapidgzip not installed (pip install rapidgzip to measure it)", file=sys.stderr)
    out["outagewatch open_input"] = lambda p: _drain(open_input(p))
    return out


def bzip2_candidates() -> dict[str, Reader]:
    out: dict[str, Reader] = {
        "bzip2 -dc (floor)": _cli("bzip2"),
        "stdlib bz2.open": lambda p: _drain(bz2.open(p)),  # noqa: SIM115
    }
    try:
        import indexed_bzip2

        out["indexed_bzip2 par=1"] = lambda p: _drain_read(indexed_bzip2.open(str(p), parallelization=1))
        out["indexed_bzip2 par=2"] = lambda p: _drain_read(indexed_bzip2.open(str(p), parallelization=2))
    except ImportError:
        print("indexed_bzip2 not installed", file=sys.stderr)
    out["outagewatch open_input threads=1"] = lambda p: _drain(open_input(p, threads=1))
    out["outagewatch open_input threads=2"] = lambda p: _drain(open_input(p, threads=2))
    return out


def _time(reader: Reader, files: list[Path], repeat: int) -> tuple[float, int]:
    best = float("inf")
    total = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        total = sum(reader(p) for p in files)
        best = min(best, time.perf_counter() - t0)
    return best, total


def _sound_bytes(name: str, cut: Path) -> str:
    """Bytes delivered before the error, or 'silent' when no error is raised."""
    n = 0
    try:
        f = _open_for(name, cut)
        while block := f.read(65_536):
            n += len(block)
    except Exception as exc:  # report what each library does
        return f"{n} B then {type(exc).__name__}"
    return f"{n} B, NO ERROR"


def _open_for(name: str, path: Path) -> Any:
    if name.startswith("stdlib gzip"):
        return gzip.open(path)
    if name.startswith("stdlib bz2"):
        return bz2.open(path)
    if name.startswith("isal.igzip.open"):
        import isal.igzip as igzip

        return igzip.open(path)  # type: ignore[no-untyped-call]
    if name.startswith("isal.igzip_threaded"):
        import isal.igzip_threaded as igzip_threaded

        return igzip_threaded.open(path, threads=2)  # type: ignore[no-untyped-call]
    if name.startswith("rapidgzip"):
        import rapidgzip

        return rapidgzip.open(str(path), parallelization=int(name[-1]))
    if name.startswith("indexed_bzip2"):
        import indexed_bzip2

        return indexed_bzip2.open(str(path), parallelization=int(name[-1]))
    if name.startswith("outagewatch"):
        return open_input(path, threads=int(name[-1]) if name[-1].isdigit() else None)
    raise KeyError(name)


def _floor_bytes(cmd: str, path: Path) -> int:
    return len(subprocess.run([cmd, "-dc", str(path)], capture_output=True, check=False).stdout)


def _inputs(data: Path, tmp: Path) -> Iterator[tuple[str, str, list[Path]]]:
    week = sorted((data / "mrt" / "ris-2022-week").glob("*.gz"))
    yield "gzip", f"small: {len(week)} RIS files ~200 KB", week
    big = tmp / "week-multimember.gz"
    big.write_bytes(b"".join(p.read_bytes() for p in week))
    yield "gzip", "large: 129 files as one multi-member file", [big]
    yield "gzip", "large: rrc01 2024 2.6 MB", [data / "mrt" / "modern" / "rrc01.updates.20241001.0055.gz"]
    syd = sorted((data / "mrt" / "modern").glob("sydney*.bz2"))
    yield "bzip2", f"small: {len(syd)} RouteViews Sydney files", syd
    plain = tmp / "week.mrt"
    with plain.open("wb") as out:
        subprocess.run(["gzip", "-dc", *map(str, week)], stdout=out, check=True)
    subprocess.run(["bzip2", "-9", "-k", str(plain)], check=True)
    yield "bzip2", "large: RIS week recompressed, one stream", [tmp / "week.mrt.bz2"]


def _cut(path: Path, tmp: Path) -> Path:
    cut = tmp / f"cut-{path.name}"
    blob = path.read_bytes()
    cut.write_bytes(blob[: len(blob) * 2 // 3])
    return cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--codec", choices=["gzip", "bzip2", "both"], default="both")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cut_checked: set[str] = set()
        for codec, label, files in _inputs(args.data, tmp):
            if args.codec not in ("both", codec):
                continue
            cands = gzip_candidates() if codec == "gzip" else bzip2_candidates()
            rows = [(name, *_time(reader, files, args.repeat)) for name, reader in cands.items()]
            floor_s = rows[0][1]
            mb = rows[0][2] / 1e6
            print(f"\n## {codec} {label}: {mb:.1f} MB decompressed")
            print("| decompressor | MB/s | × floor |")
            print("|---|---:|---:|")
            for name, secs, total in rows:
                assert total == rows[0][2], f"{name} delivered {total} bytes, floor {rows[0][2]}"
                print(f"| {name} | {total / 1e6 / secs:.0f} | {floor_s / secs:.2f} |")
            if codec not in cut_checked and "large" in label:
                cut_checked.add(codec)
                cut = _cut(files[0], tmp)
                floor = _floor_bytes("gzip" if codec == "gzip" else "bzip2", cut)
                print(f"\ntruncated copy (first 2/3): `{codec} -dc` recovers {floor} B")
                for name in cands:
                    if "floor" not in name and "decompressobj" not in name:
                        print(f"- {name}: {_sound_bytes(name, cut)}")


if __name__ == "__main__":
    main()
