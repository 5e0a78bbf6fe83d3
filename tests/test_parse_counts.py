"""Element counts per kind equal Debian bgpdump's (``bgpdump-counts.tsv``) for every MRT file.

Where we read more than bgpdump (or read real routes where it prints garbage),
``MORE_THAN_BGPDUMP`` says why and what we read instead.
Rows bgpdump never prints (TABLE_DUMP_V2 multicast / RIB_GENERIC) are left out of the
comparison exactly as the renderer leaves them out.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.compute as pc
import pytest

from outagewatch import read_mrt
from outagewatch.parse.bgpdump_format import printed_by_bgpdump_mask

pytestmark = pytest.mark.shared

# file -> (A, W, STATE, B) we read, and why that differs from bgpdump
MORE_THAN_BGPDUMP: dict[str, tuple[tuple[int, int, int, int], str]] = {
    "mrt/bgpkit-fixtures/ripe/rrc00/2000.01/bview.20000111.0032.gz": (
        (0, 0, 0, 452018),
        "early RIS TABLE_DUMP: one record holds ~190 entries and its length leaves out view and "
        "sequence; bgpdump prints the first entry, then loses framing and stops",
    ),
    "mrt/bgpkit-fixtures/ripe/rrc00/2000.03/updates.20000325.0345.gz": (
        (4370, 668, 102, 0),
        "damaged record boundary: bgpdump prints 2,044 garbage withdrawals from record 4 (its "
        "withdrawn length overruns the UPDATE; we skip it) and stops at the bad header at byte "
        "15024; we resynchronise 7 bytes later and read the remaining 2,206 records",
    ),
    "mrt/lab/openbgpd_rib_table-mp": (
        (0, 0, 0, 31),
        "OpenBGPD 'dump table-mp' writes BGP4MP_ENTRY records (subtype 2 of a pre-RFC 6396 draft); "
        "bgpdump skips them all, we read the 31 RIB entries (the same as openbgpd_rib_table)",
    ),
    "mrt/lab/bird_bgp": (
        (14, 0, 12, 0),
        "BIRD dumps add-path UPDATEs under plain BGP4MP_MESSAGE_AS4; bgpdump prints each path id "
        "and prefix as several garbage prefixes (24 lines), we read them as add-path (14 routes)",
    ),
    "mrt/lab/bird6_bgp": (
        (14, 0, 12, 0),
        "as bird_bgp, for IPv6 MP_REACH_NLRI: bgpdump prints 32 garbage prefixes, we read 14 routes",
    ),
}


def _rows(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / "bgpdump-counts.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["file"] not in seen and not row["file"].startswith("mrt/bgpdump-tests/"):
            seen.add(row["file"])
            out.append(row)
    return out


def _counts(path: Path, bgpdump_view: bool) -> tuple[int, int, int, int]:
    counts = {"A": 0, "W": 0, "S": 0, "B": 0}
    for batch in read_mrt(path, on_problem="ignore"):
        kinds = batch.column("kind")
        if bgpdump_view:
            kinds = pc.filter(kinds, printed_by_bgpdump_mask(batch))
        kinds = kinds.dictionary_decode()
        for value in pc.value_counts(kinds).to_pylist():
            counts[value["values"]] += value["counts"]
    return counts["A"], counts["W"], counts["S"], counts["B"]


def test_counts_equal_bgpdump(shared_data: Path) -> None:
    rows = _rows(shared_data)
    assert len(rows) >= 150  # the whole folder, ris-2022-week included
    mismatches = []
    for row in rows:
        got = _counts(shared_data / row["file"], row["file"] not in MORE_THAN_BGPDUMP)
        want = (int(row["A"]), int(row["W"]), int(row["STATE"]), int(row["B"]))
        if row["file"] in MORE_THAN_BGPDUMP:
            want = MORE_THAN_BGPDUMP[row["file"]][0]
        if got != want:
            mismatches.append((row["file"], got, want))
    assert mismatches == []


def test_exceptions_really_differ_from_bgpdump(shared_data: Path) -> None:
    rows = {r["file"]: r for r in _rows(shared_data)}
    for name, (ours, _why) in MORE_THAN_BGPDUMP.items():
        row = rows[name]
        theirs = (int(row["A"]), int(row["W"]), int(row["STATE"]), int(row["B"]))
        assert ours != theirs, name
