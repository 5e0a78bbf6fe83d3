"""Pure parsers for RIR delegated statistics, range tables and AS-name tables (text in, arrays out).

RIR delegated(-extended) lines: ``registry|cc|type|start|value|date|status[|opaque-id]`` with
type ``ipv4`` (value = address count), ``ipv6`` (value = prefix length) or ``asn`` (value = count).
Only ``allocated`` and ``assigned`` rows count; ``available``/``reserved`` rows, the version line,
summary lines (``*`` in the cc field) and comments are skipped.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from outagewatch.enrich.countries import CountryMap, make_ranges
from outagewatch.enrich.prefixes import U64

USED = frozenset({"allocated", "assigned"})


class AsnRows(NamedTuple):
    """ASN ranges with a country (from delegated files) or single ASNs with a name."""

    first: U64
    last: U64
    name: list[str | None]
    country: list[str | None]


class Delegated(NamedTuple):
    countries: CountryMap
    asns: AsnRows


def parse_delegated(lines: Iterable[str], source: str = "delegated") -> Delegated:
    """Country ranges and ASN countries from RIR delegated(-extended) lines.

    Raises ``ValueError`` naming ``source`` and the line number for a malformed used row.
    """
    rows: dict[str, tuple[list[int], list[int], list[str]]] = {
        t: ([], [], []) for t in ("ipv4", "ipv6", "asn")
    }
    for lineno, line in enumerate(lines, 1):
        parts = line.strip().split("|")
        if len(parts) < 7 or line.startswith("#") or parts[6].strip() not in USED or parts[1] in ("*", ""):
            continue
        kind = parts[2]
        if kind not in rows:
            continue
        try:
            first, last = _span(kind, parts[3], int(parts[4]))
        except ValueError as exc:
            raise ValueError(f"{source}: line {lineno}: {exc}: {line.strip()!r}") from None
        s, e, c = rows[kind]
        s.append(first)
        e.append(last)
        c.append(parts[1].upper())
    v4, v6 = (make_ranges(*rows[k]) for k in ("ipv4", "ipv6"))
    a = rows["asn"]
    asns = AsnRows(np.array(a[0], np.uint64), np.array(a[1], np.uint64), [None] * len(a[0]), list(a[2]))
    return Delegated(CountryMap(v4, v6, source=source), asns)


def _span(kind: str, start: str, value: int) -> tuple[int, int]:
    if kind == "asn":
        return int(start), int(start) + value - 1
    if kind == "ipv4":
        first = int(ipaddress.IPv4Address(start))
        return first, first + value - 1
    net = ipaddress.IPv6Network(f"{start}/{value}", strict=False)
    first = int(net.network_address) >> 64
    return first, first + (1 << max(64 - value, 0)) - 1


def parse_range_tsv(v4_lines: Iterable[str], v6_lines: Iterable[str] = (), source: str = "tsv") -> CountryMap:
    """``first<TAB>last<TAB>cc`` IPv4 lines and ``prefix<TAB>cc`` IPv6 lines (``#`` comments)."""
    cols = [line.rstrip("\n").split("\t") for line in v4_lines if line.strip() and not line.startswith("#")]
    s4 = ipv4_ints([c[0] for c in cols])
    e4 = ipv4_ints([c[1] for c in cols])
    c4 = [c[2].strip() for c in cols]
    s6: list[int] = []
    e6: list[int] = []
    c6: list[str] = []
    for line in v6_lines:
        if line.startswith("#") or not line.strip():
            continue
        pfx, cc = line.rstrip("\n").split("\t")[:2]
        net = ipaddress.IPv6Network(pfx.strip(), strict=False)
        s6.append(int(net.network_address) >> 64)
        e6.append(int(net.broadcast_address) >> 64)
        c6.append(cc.strip())
    return CountryMap(make_ranges(s4, e4, c4), make_ranges(s6, e6, c6), source=source)


def ipv4_ints(texts: list[str]) -> U64:
    """Dotted-quad strings → uint64 (vectorised); ``ValueError`` names the first bad one."""
    if not texts:
        return np.zeros(0, np.uint64)
    try:
        octets = np.array(".".join(t.strip() for t in texts).split("."), dtype=np.int64).reshape(-1, 4)
    except ValueError:
        octets = np.zeros((0, 4), np.int64)
    if len(octets) != len(texts) or ((octets < 0) | (octets > 255)).any():
        for t in texts:
            ipaddress.IPv4Address(t.strip())  # raises with the offending text
    weights = np.array([1 << 24, 1 << 16, 1 << 8, 1], np.int64)
    return (octets @ weights).astype(np.uint64)


def parse_asnames_json(text: str | bytes) -> AsnRows:
    """``{"131279": "STAR-KP Ryugyong-dong ..., KP", ...}`` → one row per ASN (name, country)."""
    data = json.loads(text)
    asns: list[int] = []
    names: list[str | None] = []
    ccs: list[str | None] = []
    for key, value in data.items():
        if not str(key).isdigit():
            continue
        name, sep, cc = str(value).rpartition(", ")
        ok = sep and len(cc) == 2 and cc.isalpha()
        asns.append(int(key))
        names.append((name if ok else str(value)) or None)
        ccs.append(cc.upper() if ok else None)
    arr = np.array(asns, np.uint64)
    return AsnRows(arr, arr.copy(), names, ccs)
