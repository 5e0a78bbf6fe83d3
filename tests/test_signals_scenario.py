"""Bar: a country whose prefixes every peer withdraws drops to 0 visible /24s, then recovers.

The MRT input is generated here with a minimal BGP4MP_MESSAGE_AS4 writer (RFC 6396 §4.4.3),
read back by the project's reader and ingested into a real DuckDB store.
"""

from __future__ import annotations

import ipaddress
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outagewatch.engine.ingest import ingest_files
from outagewatch.signals.mapping import RangeMapper
from outagewatch.store.db import connect
from outagewatch.store.queries import read_signals

T0 = 1_419_264_000  # 2014-12-22 16:00 UTC, a bin edge
KP = [f"175.45.{i}.0/24" for i in range(176, 180)]
BACKGROUND = ["8.8.8.0/24", "8.8.4.0/24"]
PEERS = [("192.0.2.1", 3356), ("192.0.2.2", 174), ("192.0.2.3", 2914)]


def _nlri(prefixes: list[str]) -> bytes:
    out = b""
    for p in prefixes:
        net = ipaddress.ip_network(p)
        out += bytes([net.prefixlen]) + net.network_address.packed[: (net.prefixlen + 7) // 8]
    return out


def _update(
    ts: int, peer: tuple[str, int], announce: list[str], withdraw: list[str], path: list[int]
) -> bytes:
    attrs = b""
    if announce:
        seg = struct.pack("!BB", 2, len(path)) + b"".join(struct.pack("!I", a) for a in path)
        attrs += struct.pack("!BBB", 0x40, 1, 1) + b"\x00"
        attrs += struct.pack("!BBB", 0x40, 2, len(seg)) + seg
        attrs += struct.pack("!BBB", 0x40, 3, 4) + ipaddress.ip_address(peer[0]).packed
    wd = _nlri(withdraw)
    body = struct.pack("!H", len(wd)) + wd + struct.pack("!H", len(attrs)) + attrs + _nlri(announce)
    msg = b"\xff" * 16 + struct.pack("!HB", 19 + len(body), 2) + body
    ip = ipaddress.ip_address(peer[0]).packed
    rec = struct.pack("!IIHH", peer[1], 65000, 0, 1) + ip + ipaddress.ip_address("192.0.2.254").packed + msg
    return struct.pack("!IHHI", ts, 16, 4, len(rec)) + rec


def _scenario(path: Path) -> None:
    """Bins 0–1 normal, all KP prefixes withdrawn at 16:10:30, re-announced at 16:25:20."""
    out = b""
    for ts_bin in range(7):
        t = T0 + ts_bin * 300
        for peer in PEERS:
            if ts_bin == 0 or ts_bin == 5:
                out += _update(t + 20, peer, KP, [], [peer[1], 4837, 131279])
            if ts_bin == 2:
                out += _update(t + 30, peer, [], KP, [])
            out += _update(t + 40, peer, BACKGROUND, [], [peer[1], 15169])  # background churn every bin
    path.write_bytes(out)


def _mapper() -> RangeMapper:
    ip = lambda s: int(ipaddress.ip_address(s))  # noqa: E731
    return RangeMapper(
        [(ip("8.8.4.0"), ip("8.8.8.255"), "US"), (ip("175.45.176.0"), ip("175.45.179.255"), "KP")]
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    mrt = tmp_path / "updates.20141222.1600"
    _scenario(mrt)
    db = tmp_path / "ow.duckdb"
    summary = ingest_files(db, [mrt], collector="rrc00", mapper=_mapper(), watch=["175.45.176.0/24"])
    assert summary.bins == 7 and summary.problems == 0
    return db


def _series(db: Path, etype: str, entity: str, metric: str) -> list[float]:
    """The metric on the grid of bins written (absent rows mean 0, as documented)."""
    con = connect(db, read_only=True)
    try:
        rows = read_signals(con, etype, entity, metrics=[metric]).to_pylist()
        grid = [r[0] for r in con.execute("SELECT bin_start FROM bins ORDER BY bin_start").fetchall()]
    finally:
        con.close()
    assert grid == [datetime.fromtimestamp(T0 + 300 * i, tz=UTC) for i in range(7)]
    by_bin = {r["bin_start"]: r["value"] for r in rows}
    if etype != "as":  # countries and watched prefixes always have their rows, zeros included
        assert set(by_bin) == set(grid)
    return [by_bin.get(b, 0.0) for b in grid]


def test_country_outage_and_recovery(store: Path) -> None:
    assert _series(store, "country", "KP", "ipv4.visible_slash24.ff_any") == [4, 4, 0, 0, 0, 4, 4]
    assert _series(store, "country", "KP", "ipv4.visible_slash24.ff_100pct") == [4, 4, 0, 0, 0, 4, 4]
    assert _series(store, "as", "131279", "ipv4.visible_prefixes.asn_100pct") == [4, 4, 0, 0, 0, 4, 4]
    assert _series(store, "prefix", "175.45.176.0/24", "ipv4.visible_prefixes.ff_any") == [
        1,
        1,
        0,
        0,
        0,
        1,
        1,
    ]
    # the rest of the world is untouched
    assert _series(store, "country", "US", "ipv4.visible_slash24.ff_any") == [2] * 7


def test_outage_churn_and_single_upstream(store: Path) -> None:
    con = connect(store, read_only=True)
    try:
        w = read_signals(con, "country", "KP", metrics=["all.withdrawals"]).to_pylist()
        up = read_signals(con, "as", "131279", metrics=["upstream.4837.share", "upstream.count"]).to_pylist()
    finally:
        con.close()
    nonzero = [(r["bin_start"].timestamp(), r["value"]) for r in w if r["value"]]
    assert nonzero == [(T0 + 600, 12.0)]  # 4 prefixes × 3 peers, all in the outage bin
    shares = {(r["bin_start"].timestamp(), r["metric"]): r["value"] for r in up}
    assert shares[(T0, "upstream.4837.share")] == 1.0 and shares[(T0, "upstream.count")] == 1.0
    assert (T0 + 600, "upstream.count") not in shares  # no route, no upstream during the outage
