"""Routing state memory for a full Internet table: 1 M IPv4 + 200 k IPv6 prefixes × 100 peers.

Generates the table synthetically (random distinct prefixes, 300 k distinct AS paths, each peer
carrying ~97 % of the prefixes), loads it into ``RoutingState`` through its bulk API, then closes
one 5-minute bin of 10 k updates through ``SignalEngine`` (visibility, upstreams, roll-ups at
full-table scale). Prints peak RSS against the 2 GB bar, and the state's own array bytes.

    .venv/bin/python bench/state.py [--peers 100] [--v4 1000000] [--v6 200000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import psutil

from outagewatch.signals.build import batch, element
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.state import RoutingState

T0 = 1_700_000_100


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _prefixes(rng: np.random.Generator, n4: int, n6: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    plen4 = rng.choice([16, 19, 20, 21, 22, 23, 24], size=n4 * 2, p=[0.02, 0.03, 0.05, 0.06, 0.12, 0.12, 0.6])
    addr4 = rng.integers(1 << 24, 223 << 24, size=n4 * 2, dtype=np.uint64)
    addr4 &= ~((np.uint64(1) << (32 - plen4).astype(np.uint64)) - np.uint64(1))
    key4 = np.unique(addr4 * np.uint64(64) + plen4.astype(np.uint64))[:n4]
    plen6 = rng.choice([29, 32, 36, 40, 44, 48], size=n6 * 2, p=[0.05, 0.25, 0.1, 0.1, 0.1, 0.4])
    hi6 = (np.uint64(0x2000) << np.uint64(48)) | rng.integers(
        0, 1 << 45, size=n6 * 2, dtype=np.uint64
    ) << np.uint64(3)
    hi6 &= ~((np.uint64(1) << (64 - plen6).astype(np.uint64)) - np.uint64(1))
    key6 = np.unique(hi6 * np.uint64(1) ^ plen6.astype(np.uint64))[:n6]
    n = len(key4) + len(key6)
    afi = np.concatenate([np.full(len(key4), 4, np.uint8), np.full(len(key6), 6, np.uint8)])
    plen = np.concatenate([(key4 % 64).astype(np.uint8), (key6 & np.uint64(0x7F)).astype(np.uint8)])
    addr = np.zeros((n, 16), np.uint8)
    a4 = (key4 // 64).astype(">u4").view(np.uint8).reshape(-1, 4)
    addr[: len(key4), :4] = a4
    a6 = (key6 & ~np.uint64(0x7F)).astype(">u8").view(np.uint8).reshape(-1, 8)
    addr[len(key4) :, :8] = a6
    return afi, addr, plen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", type=int, default=100)
    ap.add_argument("--v4", type=int, default=1_000_000)
    ap.add_argument("--v6", type=int, default=200_000)
    ap.add_argument("--paths", type=int, default=300_000)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    base = _rss_mb()
    t = time.perf_counter()
    afi, addr, plen = _prefixes(rng, args.v4, args.v6)
    n_pfx = len(afi)
    st = RoutingState(peer_capacity=args.peers, prefix_capacity=n_pfx + 4096)
    pfx_ids, _ = st.prefixes.ids(afi, addr, plen)
    # realistic shape: each prefix has one origin (its group's); peers differ in the path/upstream
    groups, variants = args.paths // 3, 3
    hashes = rng.integers(1, 2**63, size=groups * variants, dtype=np.uint64)
    group_origin = rng.integers(1, 400_000, size=groups, dtype=np.uint32)
    origin = np.repeat(group_origin, variants)
    upstream = rng.integers(1, 60_000, size=groups * variants, dtype=np.uint32)
    path_ids = st.paths.intern_facts(hashes, origin, upstream)
    group_of_prefix = rng.integers(0, groups, size=n_pfx)
    for p in range(args.peers):
        st.peers.add_known(p + 1, "bench", f"10.{p // 256}.{p % 256}.1", 64512 + p, 4)
    # prefix by prefix, every peer's route to it (as a TABLE_DUMP_V2 RIB holds them: one record
    # per prefix), each peer keeping 97 % of the prefixes
    chunk = 10_000
    for lo in range(0, n_pfx, chunk):
        ids = pfx_ids[lo : lo + chunk]
        peer = np.tile(np.arange(args.peers, dtype=np.int64), len(ids))
        prefix = np.repeat(ids, args.peers)
        chosen = np.repeat(group_of_prefix[lo : lo + chunk], args.peers) * variants + peer % variants
        keep = rng.random(len(peer)) < 0.97
        st.set_routes(peer[keep], prefix[keep], path_ids[chosen[keep]])
    st.note_origins(path_ids[group_of_prefix * variants], pfx_ids)
    load_s = time.perf_counter() - t
    routes = st.route_count()
    print(
        f"state: {st.peers.size} peers × {n_pfx:,} prefixes "
        f"({args.v4:,} IPv4 + {args.v6:,} IPv6), {routes:,} routes"
    )
    print(
        f"  state arrays: {st.nbytes() / 1e6:,.0f} MB; "
        f"RSS {_rss_mb():,.0f} MB (interpreter+libs {base:,.0f} MB)"
    )
    print(f"  load time {load_s:.1f} s")
    engine = SignalEngine(bin_seconds=300, state=st, watch=["10.1.0.0/24"])
    ups = [
        element(
            T0 + i % 290,
            "A" if i % 3 else "W",
            peer=f"10.{(i % args.peers) // 256}.{i % args.peers % 256}.1",
            peer_asn=64512 + i % args.peers,
            prefix=f"{1 + i % 200}.{i % 256}.{(i // 256) % 256}.0/24",
            path=[64512 + i % args.peers, 3356, 1000 + i % 5000],
        )
        for i in range(10_000)
    ]
    t = time.perf_counter()
    engine.feed(batch(ups))
    closed = engine.flush()
    bin_s = time.perf_counter() - t
    n_rows = sum(c.signals.num_rows for c in closed)
    print(f"one 5-min bin with 10,000 updates at full-table scale: {bin_s:.2f} s, {n_rows:,} signal rows")
    peak = _peak_mb()
    verdict = "PASS" if peak <= 2000 else "FAIL"
    print(f"peak RSS {peak:,.0f} MB vs bar 2,000 MB: {verdict} (ratio {peak / 2000:.2f})")
    sys.exit(0)


if __name__ == "__main__":
    main()
