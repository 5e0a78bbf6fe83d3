"""Bar: announcements and withdrawals per 5-min bin equal an independent count from ``bgpdump -m``.

Input: the longest gap-free run of ../shared/data/mrt/ris-2022-week/ (2022-02-06 07:25–08:25,
12 RIS update files, ≈ 217 k elements, 381 peer state changes). Entities: countries VN, IR, US
and origin ASes 45899 (VNPT), 58224 (TCI), 20473 (Vultr). The oracle below parses bgpdump's
text, maps prefixes to countries with its own bisect over the same range table, tracks the
last announced origin per (peer, prefix) (cleared when the peer's session leaves Established)
to attribute withdrawals, and bins by ``timestamp // 300``.
"""

from __future__ import annotations

import bisect
import ipaddress
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from outagewatch.engine.lookups import ranges_from_tsv
from outagewatch.signals.engine import SignalEngine

COUNTRIES = ("VN", "IR", "US")
ASES = ("45899", "58224", "20473")
TIMES = ("0725", "0730", "0735", "0740", "0745", "0750", "0755", "0800", "0805", "0810", "0815", "0820")

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def files(shared_data: Path) -> list[Path]:
    folder = shared_data / "mrt" / "ris-2022-week"
    return [folder / f"updates.20220206.{t}.gz" for t in TIMES]


class _Ranges:
    """Independent prefix → countries lookup: bisect over the TSV ranges (IPv4 and IPv6)."""

    def __init__(self, geo: Path) -> None:
        rows = []
        for line in (geo / "ip_to_country_1.0.2_ipv4_ranges.tsv").read_text().splitlines():
            if line and not line.startswith("#"):
                a, b, cc = line.split("\t")[:3]
                rows.append((4, int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b)), cc.upper()))
        for line in (geo / "ip_to_country_1.0.2_ipv6_ranges.tsv").read_text().splitlines():
            if line and not line.startswith("#"):
                p, cc = line.split("\t")[:2]
                net = ipaddress.ip_network(p)
                rows.append((6, int(net.network_address), int(net.broadcast_address), cc.upper()))
        self.by_family: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        for fam, a, b, cc in sorted(rows):
            self.by_family[fam].append((a, b, cc))
        self.starts = {f: [r[0] for r in v] for f, v in self.by_family.items()}

    def countries(self, prefix: str) -> set[str]:
        net = ipaddress.ip_network(prefix, strict=False)
        a, b = int(net.network_address), int(net.broadcast_address)
        table, starts = self.by_family[net.version], self.starts[net.version]
        i = max(bisect.bisect_right(starts, a) - 1, 0)
        out = set()
        while i < len(table) and table[i][0] <= b:
            if table[i][1] >= a:
                out.add(table[i][2])
            i += 1
        return out


def _origin(path_text: str) -> str | None:
    """The documented origin rule, re-implemented on bgpdump's path text."""
    seq: list[str] = []
    final_set: list[str] = []
    for tok in path_text.split():
        if tok.startswith("{"):
            final_set = [x for x in tok.strip("{}").split(",") if x]
        elif tok.startswith("("):
            continue
        else:
            if final_set:
                seq.append(sorted(set(final_set), key=int)[0])
                final_set = []
            seq.append(tok)
    if final_set and len(set(final_set)) == 1:
        seq.append(final_set[0])
    return seq[-1] if seq else None


def _oracle(files: list[Path], ranges: _Ranges) -> Counter[tuple[int, str, str, str]]:
    counts: Counter[tuple[int, str, str, str]] = Counter()
    last_origin: dict[tuple[str, str], str | None] = {}
    for f in files:
        text = subprocess.run(["bgpdump", "-m", str(f)], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            fields = line.split("|")
            ts, kind, peer = int(fields[1]), fields[2], fields[3]
            b = ts - ts % 300
            if kind == "STATE":
                if fields[6] != "6":
                    for key in [k for k in last_origin if k[0] == peer]:
                        del last_origin[key]
                continue
            prefix = fields[5]
            if kind == "A":
                origin = _origin(fields[6])
                last_origin[(peer, prefix)] = origin
                metric = "all.announcements"
            else:
                origin = last_origin.pop((peer, prefix), None)
                metric = "all.withdrawals"
            for cc in ranges.countries(prefix):
                if cc in COUNTRIES:
                    counts[(b, "country", cc, metric)] += 1
            if origin in ASES:
                counts[(b, "as", origin, metric)] += 1
    return counts


def _engine_counts(files: list[Path], geo: Path) -> Counter[tuple[int, str, str, str]]:
    from outagewatch import read_mrt

    mapper = ranges_from_tsv(
        geo / "ip_to_country_1.0.2_ipv4_ranges.tsv", geo / "ip_to_country_1.0.2_ipv6_ranges.tsv"
    )
    engine = SignalEngine(bin_seconds=300, mapper=mapper)
    closed = []
    for f in files:
        for batch in read_mrt(str(f), collector="rrc04"):
            closed += engine.feed(batch)
    closed += engine.flush()
    table = pa.concat_tables([c.signals for c in closed])  # churn rows: in every bin's change rows
    counts: Counter[tuple[int, str, str, str]] = Counter()
    wanted = {("country", c) for c in COUNTRIES} | {("as", a) for a in ASES}
    for r in table.to_pylist():
        if (r["entity_type"], r["entity"]) in wanted and r["metric"] in (
            "all.announcements",
            "all.withdrawals",
        ):
            key = (int(r["bin_start"].timestamp()), r["entity_type"], r["entity"], r["metric"])
            counts[key] = int(r["value"])
    return counts


@pytest.mark.skipif(shutil.which("bgpdump") is None, reason="Debian bgpdump not installed")
def test_announcements_and_withdrawals_match_bgpdump(files: list[Path], shared_data: Path) -> None:
    geo = shared_data / "geo"
    expected = _oracle(files, _Ranges(geo))
    got = _engine_counts(files, geo)
    assert len(expected) >= 80, "oracle found too little to compare"
    assert {k[2] for k in expected} == set(COUNTRIES) | set(ASES)
    mismatches = {
        k: (expected.get(k, 0), got.get(k, 0))
        for k in set(expected) | set(got)
        if expected.get(k, 0) != got.get(k, 0)
    }
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {sorted(mismatches.items())[:5]}"
    assert sum(v for k, v in expected.items() if k[3] == "all.withdrawals") > 100
