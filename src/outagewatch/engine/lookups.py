"""Loading the lookups the signal engine needs: prefix → country mappers, AS names."""

from __future__ import annotations

import gzip
import importlib
import ipaddress
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from outagewatch.signals.mapping import PrefixMapper, RangeMapper

AsInfo = Callable[[Sequence[int]], dict[int, tuple[str | None, str | None]]]


def ranges_from_tsv(v4: str | os.PathLike[str], v6: str | os.PathLike[str] | None = None) -> RangeMapper:
    """A mapper from ``start<TAB>end<TAB>cc`` IPv4 lines and ``prefix<TAB>cc`` IPv6 lines."""
    r4: list[tuple[int, int, str]] = []
    for line in Path(v4).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        a, b, cc = line.split("\t")[:3]
        r4.append((int(ipaddress.IPv4Address(a)), int(ipaddress.IPv4Address(b)), cc.strip().upper()))
    r6: list[tuple[int, int, str]] = []
    if v6 is not None:
        for line in Path(v6).read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            pfx, cc = line.split("\t")[:2]
            net = ipaddress.IPv6Network(pfx, strict=False)
            r6.append((int(net.network_address), int(net.broadcast_address), cc.strip().upper()))
    return RangeMapper(_disjoint(r4), _disjoint(r6))


def _disjoint(rows: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sorted ranges with overlaps cut (the earlier-starting range keeps the overlap)."""
    out: list[tuple[int, int, str]] = []
    for a, b, cc in sorted(rows):
        if out and a <= out[-1][1]:
            a = out[-1][1] + 1
        if a <= b:
            out.append((a, b, cc))
    return out


def default_mapper(country_files: Sequence[str | os.PathLike[str]] = ()) -> PrefixMapper | None:
    """The project's prefix → country map (``outagewatch.sources.geo_files``): the bundled iptocc
    default layered under ``country_files`` (delegated-extended, range TSV or ``.mmdb`` files,
    newest last wins). ``None`` when that module is unavailable."""
    try:
        geo = importlib.import_module("outagewatch.sources.geo_files")
    except ImportError:
        return None
    mapper: PrefixMapper = geo.country_map(list(country_files))
    return mapper


def as_info_from_files(paths: Sequence[str | os.PathLike[str]]) -> AsInfo:
    """AS → (name, country) from ``asnames.json[.gz]`` or RIR delegated files (later ones win)."""
    try:
        geo = importlib.import_module("outagewatch.sources.geo_files")
    except ImportError:
        first = as_info_from_file(paths[0])
        return first
    names = geo.as_names(list(paths))

    def lookup(asns: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        if not asns:
            return {}
        info = names.lookup(list(asns))
        return {
            a: (_opt(n), _opt(c))
            for a, n, c in zip(asns, info.name.tolist(), info.country.tolist(), strict=True)
        }

    return lookup


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def as_info_from_file(path: str | os.PathLike[str]) -> AsInfo:
    """AS → (name, country) from ``asnames.json[.gz]`` (``{"131279": "STAR-KP ..., KP"}``)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data: dict[str, Any] = json.loads(raw)
    table: dict[int, tuple[str | None, str | None]] = {}
    for key, text in data.items():
        if not str(key).isdigit():
            continue
        name, _, cc = str(text).rpartition(", ")
        if len(cc) == 2 and cc.isalpha():
            table[int(key)] = (name or None, cc.upper())
        else:
            table[int(key)] = (str(text), None)

    def lookup(asns: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        return {a: table[a] for a in asns if a in table}

    return lookup
