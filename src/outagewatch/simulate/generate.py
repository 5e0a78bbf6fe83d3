"""From a scenario to a columnar plan of BGP records (pure, deterministic for a seed).

The plan is five aligned NumPy arrays, one row per record to write: time, global peer index,
prefix index, operation (announce / withdraw / session down / session up) and path variant
(0 = the normal path, 1 = an alternate path). Every background or flap *cycle* ends with the
normal path announced, so the routing state outside events is always the full table; cycles that
would overlap an outage or a session-down window of the same (peer, prefix) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from outagewatch.simulate.scenario import Event, Scenario, select_prefixes

OP_ANNOUNCE = 0
OP_WITHDRAW = 1
OP_DOWN = 2
OP_UP = 3

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]


def epoch(t: datetime) -> int:
    return int(t.timestamp())


@dataclass(frozen=True)
class Topology:
    """Peers flattened over collectors and which prefixes each carries."""

    collector_of: I64  # global peer → collector index
    carries: Bool  # [peer, prefix]

    @property
    def n_peers(self) -> int:
        return int(self.collector_of.shape[0])


@dataclass(frozen=True)
class Plan:
    """Records to write, sorted by time (stable)."""

    ts: I64
    peer: I64
    prefix: I64
    op: I64
    alt: I64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def topology(scenario: Scenario, rng: np.random.Generator) -> Topology:
    fam = np.array([p.version for p in scenario.prefixes], dtype=np.int64)
    coll: list[int] = []
    rows: list[Bool] = []
    for ci, c in enumerate(scenario.collectors):
        for peer in c.peers:
            coll.append(ci)
            take = rng.random(len(fam)) < peer.feed if peer.feed < 1.0 else np.ones(len(fam), bool)
            rows.append(take & (fam == peer.version))
    carries = np.array(rows, dtype=bool).reshape(len(coll), len(fam))
    return Topology(np.array(coll, dtype=np.int64), carries)


@dataclass(frozen=True)
class _Block:
    peers: Bool
    prefixes: Bool
    t0: int
    t1: int


class _Builder:
    def __init__(self) -> None:
        self.parts: list[tuple[I64, ...]] = []

    def add(self, ts: I64, peer: I64, prefix: I64, op: int, alt: int = 0) -> None:
        n = ts.shape[0]
        full = np.full(n, op, np.int64), np.full(n, alt, np.int64)
        self.parts.append((ts.astype(np.int64), peer.astype(np.int64), prefix.astype(np.int64), *full))

    def plan(self, start: int, end: int) -> Plan:
        if not self.parts:
            empty = np.zeros(0, np.int64)
            return Plan(empty, empty, empty, empty, empty)
        cols = [np.concatenate([p[i] for p in self.parts]) for i in range(5)]
        keep = (cols[0] >= start) & (cols[0] < end)
        cols = [c[keep] for c in cols]
        order = np.argsort(cols[0], kind="stable")
        return Plan(*(c[order] for c in cols))


def _subset(rng: np.random.Generator, idx: list[int] | I64, share: float) -> I64:
    arr = np.asarray(idx, dtype=np.int64)
    if share >= 1.0 or arr.size == 0:
        return arr
    k = max(1, round(share * arr.size))
    return np.sort(rng.choice(arr, size=k, replace=False))


def _in_bin(rng: np.random.Generator, t: int, n: int, max_s: int, start: int, bin_s: int) -> I64:
    """``n`` times from ``t`` plus a jitter that keeps them inside t's bin."""
    room = bin_s - (t - start) % bin_s
    return t + rng.integers(0, max(1, min(max_s, room)), size=n)


def build_plan(scenario: Scenario, topo: Topology, rng: np.random.Generator) -> tuple[Plan, Bool]:
    """The record plan for the scenario window, and which (peer, prefix) routes exist at its start
    (the RIB: the table minus outages and session-down windows already under way)."""
    start, end, b = epoch(scenario.start), epoch(scenario.end), scenario.bin_seconds
    out = _Builder()
    blocks: list[_Block] = []
    downs: list[tuple[int, int, int]] = []
    for ev in scenario.events:
        if ev.kind == "outage":
            blocks.append(_outage(scenario, topo, ev, rng, out))
    for ev in scenario.events:
        if ev.kind == "peer_down":
            downs.append(_peer_down(scenario, topo, ev, rng, out, blocks))
        elif ev.kind == "upstream_switch":
            _switch(scenario, topo, ev, rng, out)
    for g, t0, t1 in downs:
        peers = np.zeros(topo.n_peers, bool)
        peers[g] = True
        blocks.append(_Block(peers, np.ones(topo.carries.shape[1], bool), t0, t1))
    cycles = [_background(scenario, topo, rng)]
    cycles += [_flap(scenario, topo, ev, rng) for ev in scenario.events if ev.kind == "flap"]
    for cyc in cycles:
        _emit_cycles(cyc, blocks, b, out)
    plan = out.plan(start, end)
    at_start = topo.carries.copy()
    for blk in blocks:
        if blk.t0 <= start < blk.t1:
            at_start[np.ix_(blk.peers, blk.prefixes)] = False
    return _drop_while_down(plan, downs, start), at_start


# A cycle array: rows of (t_first, t_second, peer, prefix, kind) with kind 0 = withdraw/re-announce,
# 1 = alternate path/back, 2 = duplicate announcement (t_second unused).
Cycles = npt.NDArray[np.int64]


def _emit_cycles(cyc: Cycles, blocks: list[_Block], bin_s: int, out: _Builder) -> None:
    t0, t1, g, p, kind = (cyc[:, i] for i in range(5))
    keep = np.ones(len(cyc), bool)
    for blk in blocks:
        hit = blk.peers[g] & blk.prefixes[p] & (t1 >= blk.t0 - bin_s) & (t0 <= blk.t1 + bin_s)
        keep &= ~hit
    t0, t1, g, p, kind = t0[keep], t1[keep], g[keep], p[keep], kind[keep]
    w, c, d = kind == 0, kind == 1, kind == 2
    out.add(t0[w], g[w], p[w], OP_WITHDRAW)
    out.add(t0[c], g[c], p[c], OP_ANNOUNCE, alt=1)
    out.add(t0[d], g[d], p[d], OP_ANNOUNCE)
    second = w | c
    out.add(t1[second], g[second], p[second], OP_ANNOUNCE)


def _background(scenario: Scenario, topo: Topology, rng: np.random.Generator) -> Cycles:
    start, b, churn = epoch(scenario.start), scenario.bin_seconds, scenario.churn
    rows: list[Cycles] = []
    for ci in range(len(scenario.collectors)):
        mine = np.flatnonzero(topo.collector_of == ci)
        pg, pp = np.nonzero(topo.carries[mine])
        if pg.size == 0:
            continue
        for kind, rate in enumerate((churn.withdrawals, churn.path_changes, churn.duplicates)):
            counts = rng.poisson(rate, scenario.n_bins) if rate > 0 else np.zeros(scenario.n_bins, np.int64)
            if kind == 2:  # at least min_per_bin duplicates: no update file is empty
                counts = np.maximum(counts, churn.min_per_bin)
            bins = np.repeat(np.arange(scenario.n_bins, dtype=np.int64), counts)
            n = bins.size
            t0 = start + bins * b + rng.integers(0, b, n)
            t1 = t0 + rng.integers(30, max(31, churn.max_delay + 1), n)
            pick = rng.integers(0, pg.size, n)
            rows.append(np.stack([t0, t1, mine[pg[pick]], pp[pick], np.full(n, kind)], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 5), np.int64)


def _flap(scenario: Scenario, topo: Topology, ev: Event, rng: np.random.Generator) -> Cycles:
    start, b = epoch(scenario.start), scenario.bin_seconds
    assert ev.end is not None
    e0, e1 = max(epoch(ev.start), start), min(epoch(ev.end), epoch(scenario.end))
    first, last = -(-(e0 - start) // b), (e1 - start) // b
    pfx = _subset(rng, select_prefixes(scenario, ev), ev.share_prefixes)
    peers = _subset(rng, np.arange(topo.n_peers), ev.share_peers)
    if last <= first or pfx.size == 0:
        return np.zeros((0, 5), np.int64)
    bins = np.arange(first, last, dtype=np.int64)
    frac = (bins * b + start + b / 2 - e0) / max(1, e1 - e0)
    lam = (ev.rate_start + (ev.rate_end - ev.rate_start) * frac) * b / 3600
    counts = rng.poisson(np.repeat(lam, pfx.size).reshape(len(bins), pfx.size))
    bi, pi = np.nonzero(counts)
    reps = counts[bi, pi]
    cb, cp = np.repeat(bins[bi], reps), np.repeat(pfx[pi], reps)
    n = cb.size
    t0 = start + cb * b + rng.integers(0, max(1, b - 150), n)
    t1 = t0 + rng.integers(20, 121, n)
    kind = (rng.random(n) < ev.path_change_share).astype(np.int64)
    rows = []
    for g in peers:
        has = topo.carries[g, cp]
        jit = rng.integers(0, 11, n)[has]
        rows.append(np.stack([t0[has] + jit, t1[has] + jit, np.full(has.sum(), g), cp[has], kind[has]], 1))
    return np.concatenate(rows) if rows else np.zeros((0, 5), np.int64)


def _pairs(topo: Topology, peers: I64, pfx: I64) -> tuple[I64, I64]:
    sub = topo.carries[np.ix_(peers, pfx)]
    gi, pi = np.nonzero(sub)
    return peers[gi], pfx[pi]


def _outage(scenario: Scenario, topo: Topology, ev: Event, rng: np.random.Generator, out: _Builder) -> _Block:
    start, b = epoch(scenario.start), scenario.bin_seconds
    pfx = _subset(rng, select_prefixes(scenario, ev), ev.share_prefixes)
    peers = _subset(rng, np.flatnonzero(topo.carries[:, pfx].any(axis=1)), ev.share_peers)
    g, p = _pairs(topo, peers, pfx)
    t0 = epoch(ev.start)
    out.add(_in_bin(rng, t0, g.size, 90, start, b), g, p, OP_WITHDRAW)
    t1 = epoch(ev.end) if ev.end is not None else epoch(scenario.end)
    if ev.end is not None:
        out.add(_in_bin(rng, t1, g.size, 60, start, b), g, p, OP_ANNOUNCE)
    pm, gm = np.zeros(topo.carries.shape[1], bool), np.zeros(topo.n_peers, bool)
    pm[pfx], gm[peers] = True, True
    return _Block(gm, pm, t0, t1)


def _switch(scenario: Scenario, topo: Topology, ev: Event, rng: np.random.Generator, out: _Builder) -> None:
    start, b = epoch(scenario.start), scenario.bin_seconds
    pfx = _subset(rng, select_prefixes(scenario, ev), ev.share_prefixes)
    g, p = _pairs(topo, _subset(rng, np.arange(topo.n_peers), ev.share_peers), pfx)
    out.add(_in_bin(rng, epoch(ev.start), g.size, 60, start, b), g, p, OP_ANNOUNCE)
    if ev.end is not None:
        out.add(_in_bin(rng, epoch(ev.end), g.size, 60, start, b), g, p, OP_ANNOUNCE)


def peer_index(scenario: Scenario, collector: str, ip: str) -> int:
    """The global index of a collector's peer."""
    g = 0
    for c in scenario.collectors:
        for peer in c.peers:
            if c.name == collector and peer.ip == ip:
                return g
            g += 1
    raise ValueError(f"no peer {ip} at collector {collector}")


def _peer_down(
    scenario: Scenario,
    topo: Topology,
    ev: Event,
    rng: np.random.Generator,
    out: _Builder,
    outages: list[_Block],
) -> tuple[int, int, int]:
    start, b = epoch(scenario.start), scenario.bin_seconds
    assert ev.collector is not None and ev.peer is not None
    g = peer_index(scenario, ev.collector, ev.peer)
    one = np.array([g], np.int64)
    t0 = epoch(ev.start)
    t1 = epoch(ev.end) if ev.end is not None else epoch(scenario.end)
    out.add(np.array([t0]), one, np.array([-1]), OP_DOWN)
    if ev.end is not None:
        out.add(np.array([t1]), one, np.array([-1]), OP_UP)
        carried = topo.carries[g].copy()
        for blk in outages:
            if blk.peers[g] and blk.t0 <= t1 < blk.t1:
                carried &= ~blk.prefixes
        p = np.flatnonzero(carried)
        ts = np.sort(_in_bin(rng, t1 + 1, p.size, 30, start, b))
        out.add(ts, np.full(p.size, g), p, OP_ANNOUNCE)
    return g, t0, t1


def _drop_while_down(plan: Plan, downs: list[tuple[int, int, int]], start: int) -> Plan:
    """Route records of a peer strictly inside its session-down window never reach the collector."""
    keep = np.ones(len(plan), bool)
    for g, t0, t1 in downs:
        route = plan.op <= OP_WITHDRAW
        keep &= ~(route & (plan.peer == g) & (plan.ts >= t0) & (plan.ts <= t1))
    if keep.all():
        return plan
    return Plan(plan.ts[keep], plan.peer[keep], plan.prefix[keep], plan.op[keep], plan.alt[keep])


def state_at(plan: Plan, at_start: Bool, t: int) -> tuple[Bool, I64]:
    """The routes present just before ``t`` (replaying the plan over ``at_start``) and their path
    variants: for the periodic RIB dumps."""
    carries = at_start.copy()
    alts = np.zeros(carries.shape, np.int64)
    before = plan.ts < t
    for g in np.unique(plan.peer[before & (plan.op >= OP_DOWN)]).tolist():
        last = np.flatnonzero(before & (plan.peer == g) & (plan.op >= OP_DOWN))[-1]
        carries[g] = False  # down: nothing; up: only what was announced since
        before &= ~((plan.peer == g) & (np.arange(len(plan)) < last))
    route = np.flatnonzero(before & (plan.op <= OP_WITHDRAW))
    g, p = plan.peer[route], plan.prefix[route]
    key = (g * carries.shape[1] + p)[::-1]
    _, first = np.unique(key, return_index=True)
    last = route[::-1][first]
    carries[plan.peer[last], plan.prefix[last]] = plan.op[last] == OP_ANNOUNCE
    alts[plan.peer[last], plan.prefix[last]] = plan.alt[last]
    return carries, alts
