"""Build-time tool: pick the kp-2014 background prefix table from real allocation data.

Run once by a maintainer (never at simulation time); the output ships as package data::

    python -m outagewatch.simulate.build_prefixes --data ../shared/data \\
        --out src/outagewatch/simulate/scenarios/kp-2014-prefixes.tsv

Sources (all under ``--data``): prefixes and origins from RouteViews 2014-05-13
(``geo/ipasn_20140513.dat.gz``) and 2015-11-01 for IPv6 (``geo/ipasn6_20151101.dat.gz``); countries
from RIR delegations (``geo/ip_to_country_1.0.2_ipv*_ranges.tsv``); upstreams (the AS before the
origin) as observed in real AS paths (``mrt/truncated/rib.20140523.0600_firstMB.bz2`` and
``mrt/ris-2022-week``) read with ``bgpdump -m``; an origin never seen in those paths gets its
country's most common observed upstream. KP is pinned to the public facts (four /24s of AS131279
behind AS4837).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import ipaddress
import subprocess
from pathlib import Path

import numpy as np

KP = [f"175.45.{n}.0/24" for n in range(176, 180)]


def _ranges4(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:  # type: ignore[type-arg]
    starts, ends, ccs = [], [], []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        a, b, cc = line.split("\t")[:3]
        starts.append(int(ipaddress.IPv4Address(a)))
        ends.append(int(ipaddress.IPv4Address(b)))
        ccs.append(cc.strip().upper())
    order = np.argsort(starts)
    return np.array(starts)[order], np.array(ends)[order], [ccs[i] for i in order]


def _country4(ranges: tuple[np.ndarray, np.ndarray, list[str]], net: ipaddress.IPv4Network) -> str | None:  # type: ignore[type-arg]
    starts, ends, ccs = ranges
    a = int(net.network_address)
    i = int(np.searchsorted(starts, a, side="right")) - 1
    return ccs[i] if i >= 0 and ends[i] >= int(net.broadcast_address) else None


def _country6(table: list[tuple[ipaddress.IPv6Network, str]], net: ipaddress.IPv6Network) -> str | None:
    for n, cc in table:
        if net.subnet_of(n):
            return cc
    return None


def _ipasn(path: Path) -> list[tuple[str, int]]:
    out = []
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith(";"):
                continue
            pfx, asn = line.split()
            out.append((pfx, int(asn)))
    return out


def observed_upstreams(files: list[Path]) -> dict[int, collections.Counter[int]]:
    """origin → Counter of upstreams, from real AS paths (bgpdump -m)."""
    ups: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for f in files:
        text = subprocess.run(["bgpdump", "-m", str(f)], capture_output=True, text=True).stdout
        for line in text.splitlines():
            cols = line.split("|")
            if len(cols) < 7 or cols[2] not in ("A", "B"):
                continue
            path = [int(a) for a in cols[6].split() if a.isdigit()]
            dedup = [a for i, a in enumerate(path) if i == 0 or path[i - 1] != a]
            if len(dedup) >= 2:
                ups[dedup[-1]][dedup[-2]] += 1
    return ups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--v4", type=int, default=3000)
    ap.add_argument("--v6", type=int, default=300)
    args = ap.parse_args()
    d: Path = args.data
    rng = np.random.default_rng(2014)
    mrt = [
        d / "mrt/truncated/rib.20140523.0600_firstMB.bz2",
        *sorted((d / "mrt/ris-2022-week").glob("*.gz"))[::4],
    ]
    ups = observed_upstreams(mrt)
    r4 = _ranges4(d / "geo/ip_to_country_1.0.2_ipv4_ranges.tsv")
    by_cc: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for pfx, asn in _ipasn(d / "geo/ipasn_20140513.dat.gz"):
        net = ipaddress.IPv4Network(pfx)
        if 16 <= net.prefixlen <= 24 and pfx not in KP and (cc := _country4(r4, net)):
            by_cc[cc].append((pfx, asn))
    rows: list[tuple[str, int, tuple[int, ...], str]] = [(p, 131279, (4837,), "KP") for p in KP]
    rows += _pick(by_cc, args.v4, ups, rng)
    t6 = []
    for line in (d / "geo/ip_to_country_1.0.2_ipv6_ranges.tsv").read_text().splitlines():
        if not line.startswith("#"):
            p, cc = line.split("\t")[:2]
            t6.append((ipaddress.IPv6Network(p), cc.strip().upper()))
    v6 = [r for r in _ipasn(d / "geo/ipasn6_20151101.dat.gz") if ":" in r[0]]
    by6: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for i in rng.choice(len(v6), size=min(len(v6), args.v6 * 4), replace=False):
        pfx, asn = v6[int(i)]
        net6 = ipaddress.IPv6Network(pfx)
        if net6.prefixlen <= 48 and (cc := _country6(t6, net6)):
            by6[cc].append((pfx, asn))
    rows += _pick(by6, args.v6, ups, rng)
    _write(args.out, rows)


def _pick(
    by_cc: dict[str, list[tuple[str, int]]],
    total: int,
    ups: dict[int, collections.Counter[int]],
    rng: np.random.Generator,
) -> list[tuple[str, int, tuple[int, ...], str]]:
    ccs = sorted(by_cc)
    weight = np.sqrt([len(by_cc[c]) for c in ccs])
    quota = np.maximum(1, np.floor(weight / weight.sum() * total)).astype(int)
    out = []
    for cc, q in zip(ccs, quota.tolist(), strict=True):
        cands = by_cc[cc]
        known = [c for c in cands if c[1] in ups]
        cc_ups = collections.Counter[int]()
        for _, asn in known:
            cc_ups.update(ups[asn])
        pool = known if len(known) >= q else known + [c for c in cands if c[1] not in ups]
        idx = (
            rng.permutation(len(pool))[:q]
            if len(known) >= q
            else list(range(len(known)))
            + list(len(known) + rng.permutation(len(pool) - len(known))[: q - len(known)])
        )
        for i in sorted(int(i) for i in idx):
            pfx, asn = pool[i]
            seen = [u for u, _ in (ups.get(asn) or cc_ups or collections.Counter({3356: 1})).most_common(2)]
            out.append((pfx, asn, tuple(u for u in seen if u != asn) or (3356,), cc))
    return out


def _write(path: Path, rows: list[tuple[str, int, tuple[int, ...], str]]) -> None:
    head = (__doc__ or "").strip().splitlines()
    lines = ["# kp-2014 background prefixes: prefix, origin AS, upstream ASes, country"]
    lines += ["# " + h for h in head[7:] if h.strip()]
    lines += [f"{p}\t{o}\t{','.join(map(str, u))}\t{cc}" for p, o, u, cc in rows]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
