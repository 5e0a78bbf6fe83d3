"""From a record plan to MRT bytes (pure): AS paths, attribute caching, RIB and update records.

Paths are ``peer AS, transit, upstream, origin`` with repeats removed: a peer that is itself a
large transit network reaches the upstream directly; the alternate path (variant 1) goes through a
different transit. The upstream of a (peer, prefix) is one of the prefix's upstreams, chosen by a
fixed hash, or one of an ``upstream_switch`` event's upstreams while that event is in effect.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outagewatch.simulate import mrtwriter as w
from outagewatch.simulate.generate import OP_DOWN, OP_UP, OP_WITHDRAW, Plan, epoch
from outagewatch.simulate.scenario import Scenario, select_prefixes

TRANSITS: tuple[int, ...] = (3356, 1299, 174, 2914, 3257, 6939, 6453, 6762, 3491, 1273)
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PeerInfo:
    asn: int
    collector: int
    index: int  # position in its collector's PEER_INDEX_TABLE
    ip: w.IPAddress
    header: bytes  # BGP4MP *_AS4 peer header
    transit: int
    alt_transit: int


def peer_infos(scenario: Scenario) -> list[PeerInfo]:
    out: list[PeerInfo] = []
    for ci, c in enumerate(scenario.collectors):
        for i, peer in enumerate(c.peers):
            ip = ipaddress.ip_address(peer.ip)
            local = ipaddress.ip_address(c.local_ip4 if ip.version == 4 else c.local_ip6)
            others = [t for t in TRANSITS if t != peer.asn]
            k = (peer.asn * 2654435761) % len(others)
            header = w.bgp4mp_peer_header(peer.asn, c.local_asn, ip, local)
            out.append(PeerInfo(peer.asn, ci, i, ip, header, others[k], others[(k + 3) % len(others)]))
    return out


def _dedup(path: tuple[int, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for asn in path:
        if asn in out:
            if out[-1] != asn:  # would loop: cut back to the first occurrence
                del out[out.index(asn) + 1 :]
            continue
        out.append(asn)
    return tuple(out)


def as_path(peer: PeerInfo, alt: int, upstream: int, origin: int) -> tuple[int, ...]:
    transit = peer.alt_transit if alt else peer.transit
    if peer.asn in TRANSITS and not alt:
        return _dedup((peer.asn, upstream, origin))
    return _dedup((peer.asn, transit, upstream, origin))


class Upstreams:
    """The upstream AS per record (vectorised over the plan)."""

    def __init__(self, scenario: Scenario) -> None:
        ups = [spec.upstreams or (spec.origin,) for spec in scenario.prefixes]
        width = max((len(u) for u in ups), default=1)
        self.table = np.zeros((len(ups), width), np.int64)
        self.count = np.array([len(u) for u in ups], np.int64)
        for i, u in enumerate(ups):
            self.table[i, : len(u)] = u
        self.switches: list[tuple[npt.NDArray[np.bool_], int, int, I64]] = []
        for ev in scenario.events:
            if ev.kind == "upstream_switch":
                mask = np.zeros(len(ups), bool)
                mask[select_prefixes(scenario, ev)] = True
                t1 = epoch(ev.end) if ev.end is not None else 2**62
                self.switches.append((mask, epoch(ev.start), t1, np.array(ev.upstreams, np.int64)))

    def __call__(self, peers: I64, prefixes: I64, ts: I64) -> I64:
        h = peers * 7919 + prefixes * 104729
        out: I64 = self.table[prefixes, h % np.maximum(self.count[prefixes], 1)]
        for mask, t0, t1, ups in self.switches:
            m = mask[prefixes] & (ts >= t0) & (ts < t1)
            out[m] = ups[h[m] % ups.size]
        return out


class Encoder:
    """Caches attribute blocks and message bodies; encodes plan rows into MRT records."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.peers = peer_infos(scenario)
        self.nets = [ipaddress.ip_network(p.prefix) for p in scenario.prefixes]
        self.nlri = [w.nlri(n) for n in self.nets]
        self.origins = [p.origin for p in scenario.prefixes]
        self.upstreams = Upstreams(scenario)
        self._bodies: dict[tuple[int, int, int, int], bytes] = {}
        self._attrs: dict[tuple[int, int, int, int, int], bytes] = {}

    def attributes(self, g: int, alt: int, upstream: int, p: int, *, rib: bool = False) -> bytes:
        v6 = self.nets[p].version == 6
        key = (g, alt, upstream, self.origins[p], (p + 1 if v6 and not rib else -1 if rib else 0))
        got = self._attrs.get(key)
        if got is None:
            peer = self.peers[g]
            path = as_path(peer, alt, upstream, self.origins[p])
            comm = [(peer.asn, 100 + alt)] if peer.asn < 65536 else []
            mp = [self.nets[p]] if v6 and not rib else None
            got = w.path_attributes(path, peer.ip, communities=comm, mp_nlri=mp, rib=rib)
            self._attrs[key] = got
        return got

    def _body(self, g: int, p: int, op: int, alt: int, upstream: int) -> bytes:
        key = (g, p, op * 2 + alt, upstream)
        got = self._bodies.get(key)
        if got is None:
            peer = self.peers[g]
            v6 = self.nets[p].version == 6
            if op == OP_WITHDRAW:
                msg = (
                    w.bgp_update(attributes=w.mp_unreach_attr([self.nets[p]]))
                    if v6
                    else w.bgp_update(self.nlri[p])
                )
            else:
                attrs = self.attributes(g, alt, upstream, p)
                msg = w.bgp_update(b"", attrs, b"" if v6 else self.nlri[p])
            got = peer.header + msg
            self._bodies[key] = got
        return got

    def updates(self, plan: Plan) -> list[bytes]:
        """One MRT record per plan row."""
        ups = self.upstreams(plan.peer, plan.prefix, plan.ts).tolist()
        pack = struct.Struct("!IHHI").pack
        out: list[bytes] = []
        append = out.append
        rows = zip(
            plan.ts.tolist(),
            plan.peer.tolist(),
            plan.prefix.tolist(),
            plan.op.tolist(),
            plan.alt.tolist(),
            ups,
            strict=True,
        )
        for t, g, p, op, alt, up in rows:
            if op in (OP_DOWN, OP_UP):
                old, new = (
                    (w.STATE_ESTABLISHED, w.STATE_IDLE)
                    if op == OP_DOWN
                    else (w.STATE_IDLE, w.STATE_ESTABLISHED)
                )
                append(w.bgp4mp_state_change(t, self.peers[g].header, old, new))
                continue
            body = self._body(g, p, op, alt, up)
            append(pack(t, w.BGP4MP, w.BGP4MP_MESSAGE_AS4, len(body)) + body)
        return out

    def rib(
        self,
        ci: int,
        carries: npt.NDArray[np.bool_],
        rng: np.random.Generator,
        at: int | None = None,
        alts: npt.NDArray[np.int64] | None = None,
    ) -> tuple[bytes, int]:
        """The TABLE_DUMP_V2 RIB of collector ``ci`` at ``at`` (default: the scenario start) from the
        routes present then (``carries``) and their path variants (``alts``); returns (bytes, entries)."""
        c = self.scenario.collectors[ci]
        t = epoch(self.scenario.start) if at is None else at
        mine = np.array([g for g, p in enumerate(self.peers) if p.collector == ci], np.int64)
        table = [
            (ipaddress.IPv4Address(self.peers[g].ip.packed[-4:]), self.peers[g].ip, self.peers[g].asn)
            for g in mine
        ]
        out = [w.peer_index_table(t, ipaddress.IPv4Address(c.bgp_id), "", table)]
        order = sorted(range(len(self.nets)), key=lambda i: (self.nets[i].version, self.nets[i]))
        zeros = np.zeros(len(mine), np.int64)
        entries = 0
        for p in order:
            carriers = mine[carries[mine, p]]
            if carriers.size == 0:
                continue
            ups = self.upstreams(carriers, np.full(carriers.size, p), zeros[: carriers.size] + t)
            ages = rng.integers(600, 30 * 86400, carriers.size)
            alt = [0] * carriers.size if alts is None else alts[carriers, p].tolist()
            ent = [
                w.rib_entry(self.peers[g].index, t - int(a), self.attributes(int(g), v, int(u), p, rib=True))
                for g, u, a, v in zip(carriers.tolist(), ups.tolist(), ages.tolist(), alt, strict=True)
            ]
            out.append(w.rib_record(t, len(out) - 1, self.nets[p], ent))
            entries += len(ent)
        return b"".join(out), entries
