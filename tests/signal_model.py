"""A slow, plain-Python reference model of the signal engine (``outagewatch.signals``).

The oracle the compiled engine is tested against: dicts, sets and Python integers, every bin
computed afresh from the routing state, no shortcut, no NumPy beyond calling the prefix
mapper. ``ModelEngine`` mirrors :class:`outagewatch.signals.engine.SignalEngine`
(``feed_rib``, ``feed``, ``flush``); each closed bin is a :class:`ModelBin` holding every dense
row of the bin (the engine's change rows carried forward from its keyframe, or a dense engine's
rows), as ``(entity_type, entity, metric) -> value``, and
its peer rows, as ``(collector, peer_ip, afi) -> (table_size, full_feed)``.

The rules (docs/signals.md; where the documentation is silent, the current engine's rule,
marked *engine rule*):

Elements and bins
    Bins are ``[k·bin, (k+1)·bin)`` (``k = timestamp_µs // bin_µs``). Elements are taken one at
    a time in arrival order: an element of a later bin than the open one closes the open bin;
    an element of the open bin or of an earlier bin (a *late* element) goes into the open bin.
    A closed bin's elements are applied in timestamp order (stable: arrival order breaks ties).
    How the stream is cut into batches changes nothing.

Gaps
    When bin ``b`` opens and the last closed bin is ``l``, the ``g = b - l - 1`` bins between
    them are emitted as empty bins (no elements, state carried, no churn) when
    ``0 < g·bin_seconds <= fill_gap_seconds``; otherwise none. ``flush`` closes the open bin.

Peers
    A peer is ``(collector, family, 16-byte address)``. Its address text is fixed by its first
    element (IPv4 text when ``peer_afi`` is 4, else IPv6): 192.0.2.1 and c000:201:: at one
    collector are two peers. Its ASN is the ASN of its
    first element (in timestamp order) in the latest bin that held an element of it; RIB rows
    (``feed_rib`` or ``feed``) set it from the peer's first RIB row of each batch (*engine
    rule*).

Routes
    An announcement sets the peer's route to the prefix (the AS path: ASNs and segment codes);
    a withdrawal removes it. A state change whose ``new_state`` is set and is not 6
    (Established) is a *session down*: it removes every route of the peer (both families) at
    that point of the sequence. Prefixes are ``(family, 16-byte address, length)`` exactly as
    in the element; a prefix becomes *known* when an announcement, withdrawal or RIB row names
    it, and watched prefixes are known from the start.

RIB loads
    ``feed_rib`` clears every peer of every collector in the dump, then sets the dump's entries
    in order (later ones win), whichever of the dump's batches a collector first appears in.
    RIB rows inside ``feed`` batches set routes directly, without clearing; they
    are applied when the batch arrives, before any bin the batch closes is computed (*engine
    rule*), and are not elements of any bin. RIB rows are never churn.

Origin and upstream of a path
    Confederation segments are dropped first. AS_SEQUENCE members are hops. A run of
    consecutive AS_SET segments counts as its last set (*engine rule*; an empty set is no set).
    A set followed by an AS_SEQUENCE is one hop, its smallest member (*engine rule*). A final
    set with one distinct member is a last hop; a final set with several members adds no hop,
    so the origin is the AS before it (the aggregator). Repeated hops are collapsed
    (prepending). Origin: the last hop; upstream: the hop before it. No hops: origin unknown;
    one hop (the peer itself is the origin, or only prepending of it): no upstream. A path with
    ASNs but no segments is one AS_SEQUENCE. ASN 0 means "unknown" throughout: a route with
    origin 0 counts for no AS and has no upstream (AS 0 is reserved, RFC 7607).

Churn (per bin, per entity with >= 1 update)
    Each announcement and withdrawal is classified against the peer's route just before it
    (after earlier elements of the bin and session downs): announcement with no route:
    announcement; with the same AS path (same ASNs and segment codes): announcement +
    duplicate; with another path: announcement + path change. Withdrawal: withdrawal,
    attributed to the origin of the route it removed (no AS when there was none: never
    announced, already withdrawn, or cleared by a session down). Entities: ``global/all``
    (every update), each country of the prefix (once per update), the origin AS (the new
    route's for announcements, the removed route's for withdrawals; none when unknown) and the
    prefix if watched. Rows: ``all.announcements``, ``all.withdrawals``,
    ``all.duplicate_announcements``, ``all.path_changes``, ``all.updates`` (all five, zeros
    included) and ``all.peers_reporting`` (distinct peers with an update for the entity).
    Session downs and RIB rows are not updates.

Full-feed peers (per family, every bin, end of bin)
    Table size = the peer's routes of the family. Full feed: size > 0 and
    ``size >= full_feed_share * largest size of the family`` (floating-point product, as in
    the engine). ``ipv4.full_feed_peers`` / ``ipv6.full_feed_peers`` of ``global/all`` count
    them (rows always present). Peer rows: every (peer, family) with size > 0.

Visibility (per family, end of bin)
    For a prefix: ``n`` = full-feed peers of its family with a route to it, ``N`` = full-feed
    peers of the family, ``a``/``A`` the same for distinct peer ASNs. Thresholds: ``ff_any``
    n >= 1; ``ff_25pct``/``50``/``75`` n >= 1 and 4n >= (1, 2, 3)·N; ``ff_100pct`` n >= 1 and
    n >= N; ``asn_25pct`` … ``asn_100pct`` the same with a, A (there is no ``asn_any``). For an
    AS X, a prefix is judged per origin: n and a count only the full-feed routes whose origin is
    X (MOAS); for a prefix with one origin this is the prefix's own count. Per entity and
    threshold: ``*.visible_prefixes.<t>`` = visible prefixes, ``ipv4.visible_slash24.<t>`` /
    ``ipv6.visible_slash48.<t>`` = their /24- (2^(24-L)) or /48-equivalents (2^(48-L)); a
    country takes the mapper's weight of its part of each prefix (a prefix split between
    countries counts as one prefix in each), an AS and ``global`` the whole prefix.
    Rows: ``global/all`` all 18 metrics of both families always; each country holding a known
    prefix of the family: all 18 (zeros included); each watched prefix: the 18 of its family;
    ASes: only non-zero values.

Upstreams (end of bin)
    Every full-feed route (a full-feed peer's route to a prefix of the family it is full-feed
    for) with a known origin and an upstream counts once for its origin AS, once for each
    country of its prefix and once for its prefix if watched. Per entity with >= 1 such route:
    ``upstream.<asn>.routes`` (count), ``upstream.<asn>.share`` (count / entity total) per
    upstream with routes, and ``upstream.count`` (distinct upstreams).

Exact sums
    Weights are kept in addresses (Python ints: a /24 is 256, an IPv6 /48 is 2^80; a mapper's
    float weight converts exactly, as a float is a dyadic fraction); each value is rounded to
    float once. The engine keeps its level sums as exact integers too and rounds once, so every
    value must be equal. :attr:`ModelBin.approx` lists the keys where a float-summing engine
    could differ (terms of very different magnitude: IPv6 prefixes longer than /64 beside
    whole /48s, mapper weights such as 1/3 of a /48, a prefix as large as 2000::/12), to show
    the tests reach those cases.

Assumptions: watched prefixes are distinct; ``feed_rib`` batches hold only RIB rows; input
after ``flush`` is later than the bins already closed; the mapper returns at most one row per
(prefix, country) (the engine would count a repeated row twice in churn).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

SEG_AS_SET = 1
SEG_AS_SEQUENCE = 2
SEG_CONFED_SEQUENCE = 3
SEG_CONFED_SET = 4
ESTABLISHED = 6

FAMILY_NAME = {4: "ipv4", 6: "ipv6"}
UNIT_MEASURE = {4: "visible_slash24", 6: "visible_slash48"}
ADDRESS_BITS = {4: 32, 6: 128}
UNIT_ADDRESSES = {4: 1 << 8, 6: 1 << 80}
"""Addresses per /24 (IPv4) and per /48 (IPv6)."""
THRESHOLDS = (
    "ff_any",
    "ff_25pct",
    "ff_50pct",
    "ff_75pct",
    "ff_100pct",
    "asn_25pct",
    "asn_50pct",
    "asn_75pct",
    "asn_100pct",
)
CHURN_METRICS = (
    "all.announcements",
    "all.withdrawals",
    "all.duplicate_announcements",
    "all.path_changes",
    "all.updates",
)
PEERS_REPORTING = "all.peers_reporting"
UPSTREAM_COUNT = "upstream.count"
GLOBAL = "all"

Key = tuple[str, str, str]
"""(entity_type, entity, metric)."""
PeerId = tuple[str, int, bytes]
"""(collector, address family, 16-byte peer address)."""
PeerRowKey = tuple[str, str, int]
"""(collector, peer address text, family)."""
Prefix = tuple[int, bytes, int]
"""(family, 16-byte network address, length)."""
Path = tuple[tuple[int, ...], tuple[int, ...]]
"""(ASNs, segment codes type·256 + count)."""
Entity = tuple[str, str]
"""(entity_type, entity)."""
Weight = int | Fraction
"""Addresses (a mapper weight that is not a whole number of addresses: a fraction)."""


@dataclass(slots=True)
class ModelBin:
    """One closed bin: every signal row and peer row, and the keys whose float may differ from
    the exactly rounded value (see the module text, "Exact sums")."""

    bin_start_us: int
    elements: int
    rows: dict[Key, float]
    peers: dict[PeerRowKey, tuple[int, bool]]
    sessions_down: int = 0
    approx: frozenset[Key] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Element:
    """The fields of one element the signals use."""

    ts: int  # µs
    kind: str  # A, W, B or S
    peer: PeerId
    peer_afi: int
    peer_asn: int
    prefix: Prefix | None  # None for state changes
    path: Path
    new_state: int | None


def elements_of(batch: pa.RecordBatch) -> list[Element]:
    """The elements of an ``ELEMENT_SCHEMA`` batch, in order."""
    col = {
        name: batch.column(name).to_pylist()
        for name in (
            "collector",
            "kind",
            "peer_afi",
            "peer_ip",
            "peer_asn",
            "afi",
            "prefix",
            "prefix_len",
            "as_path",
            "as_path_segments",
            "new_state",
        )
    }
    ts = batch.column("timestamp").cast(pa.int64()).to_pylist()
    out = []
    for i in range(batch.num_rows):
        kind = col["kind"][i]
        has_prefix = kind in ("A", "W", "B")
        out.append(
            Element(
                ts=ts[i],
                kind=kind,
                peer=(col["collector"][i], col["peer_afi"][i], col["peer_ip"][i]),
                peer_afi=col["peer_afi"][i],
                peer_asn=col["peer_asn"][i],
                prefix=(col["afi"][i], col["prefix"][i], col["prefix_len"][i]) if has_prefix else None,
                path=(tuple(col["as_path"][i]), tuple(col["as_path_segments"][i])),
                new_state=col["new_state"][i],
            )
        )
    return out


def origin_upstream(path: Path) -> tuple[int, int]:
    """Origin and upstream ASN of a path (0: unknown / none); rules in the module text."""
    asns, segments = path
    if not segments and asns:
        segments = (SEG_AS_SEQUENCE * 256 + len(asns),)
    # (type, members) of each segment, confederation segments dropped
    segs: list[tuple[int, list[int]]] = []
    pos = 0
    for code in segments:
        kind, count = code >> 8, code & 0xFF
        members = list(asns[pos : pos + count])
        pos += count
        if kind not in (SEG_CONFED_SEQUENCE, SEG_CONFED_SET):
            segs.append((kind, members))
    hops: list[int] = []
    pending_set: list[int] = []  # the last set of the current run of sets
    for kind, members in segs:
        if kind == SEG_AS_SET:
            pending_set = members
            continue
        if pending_set:  # a set followed by a sequence: one hop, its smallest member
            hops.append(min(pending_set))
            pending_set = []
        hops.extend(members)
    if len(set(pending_set)) == 1:  # a final set with one distinct member
        hops.append(pending_set[0])
    collapsed: list[int] = []
    for asn in hops:
        if not collapsed or collapsed[-1] != asn:
            collapsed.append(asn)
    origin = collapsed[-1] if collapsed else 0
    upstream = collapsed[-2] if len(collapsed) >= 2 else 0
    return origin, upstream


def met_thresholds(n: int, n_total: int, a: int, a_total: int) -> tuple[bool, ...]:
    """Which of the nine thresholds (``THRESHOLDS`` order) ``n`` of ``n_total`` full-feed
    peers and ``a`` of ``a_total`` full-feed peer ASNs meet."""
    return (
        n >= 1,
        n >= 1 and 4 * n >= n_total,
        n >= 1 and 4 * n >= 2 * n_total,
        n >= 1 and 4 * n >= 3 * n_total,
        n >= 1 and n >= n_total,
        a >= 1 and 4 * a >= a_total,
        a >= 1 and 4 * a >= 2 * a_total,
        a >= 1 and 4 * a >= 3 * a_total,
        a >= 1 and a >= a_total,
    )


def two_adic(w: Weight) -> int:
    """The exponent e of the largest power of two 2^e dividing the non-zero dyadic ``w``."""
    num, den = (w.numerator, w.denominator) if isinstance(w, Fraction) else (w, 1)
    return ((num & -num).bit_length() - 1) - ((den & -den).bit_length() - 1)


class LevelSums:
    """The visible prefixes and the exact visible addresses of one entity at each threshold,
    with the finest 2-adic grain of the address terms (for :attr:`ModelBin.approx`)."""

    __slots__ = ("addresses", "count", "grain")

    def __init__(self) -> None:
        self.count = [0] * len(THRESHOLDS)
        self.addresses: list[Weight] = [0] * len(THRESHOLDS)
        self.grain: list[int | None] = [None] * len(THRESHOLDS)

    def add(self, met: Sequence[bool], addresses: Weight) -> None:
        grain = two_adic(addresses) if addresses else None
        for i, ok in enumerate(met):
            if ok:
                self.count[i] += 1
                self.addresses[i] += addresses
                if grain is not None:
                    g = self.grain[i]
                    self.grain[i] = grain if g is None else min(g, grain)

    def exact(self, i: int) -> bool:
        """Whether any float summation order of the terms gives the exact sum."""
        g = self.grain[i]
        return g is None or Fraction(self.addresses[i]) < Fraction(2) ** (53 + g)


@dataclass(slots=True)
class Peer:
    collector: str
    ip_text: str
    asn: int
    routes: dict[Prefix, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KnownPrefix:
    family: int
    addresses: int  # the whole prefix
    countries: dict[str, Weight]  # addresses of its part in each country (mapper weights)


class ModelEngine:
    """The reference model; same arguments and feeding methods as ``SignalEngine``."""

    def __init__(
        self,
        bin_seconds: int = 300,
        mapper: Any = None,
        watch: Sequence[str] = (),
        full_feed_share: float = 0.75,
        fill_gap_seconds: int = 900,
    ) -> None:
        self.bin_seconds = bin_seconds
        self.bin_us = bin_seconds * 1_000_000
        self.mapper = mapper
        self.full_feed_share = full_feed_share
        self.fill_gap_seconds = fill_gap_seconds
        self.peers: dict[PeerId, Peer] = {}
        self.prefixes: dict[Prefix, KnownPrefix] = {}
        self.watched: dict[Prefix, str] = {}  # prefix -> canonical text
        for text in watch:
            net = ipaddress.ip_network(text, strict=False)
            raw = net.network_address.packed
            pfx = (net.version, raw + bytes(16 - len(raw)), net.prefixlen)
            self.watched[pfx] = str(net)
            self._know(pfx)
        self._open: int | None = None  # index of the open bin
        self._open_elements: list[Element] = []
        self._last_closed: int | None = None

    # ---- feeding -------------------------------------------------------------------------

    def feed_rib(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Re-synchronise from a RIB dump: its collectors' peers cleared, its entries set."""
        batches = list(batches)
        rows = [[e for e in elements_of(b) if e.kind == "B"] for b in batches]
        collectors = {e.peer[0] for part in rows for e in part}
        for peer in self.peers.values():
            if peer.collector in collectors:
                peer.routes.clear()
        for part in rows:
            self._set_routes(part)
        return sum(len(part) for part in rows)

    def feed(self, batch: pa.RecordBatch) -> list[ModelBin]:
        """Add elements (one at a time); returns the bins they closed, in time order."""
        elements = elements_of(batch)
        self._set_routes([e for e in elements if e.kind == "B"])
        out: list[ModelBin] = []
        for e in elements:
            if e.kind == "B":
                continue
            b = e.ts // self.bin_us
            if self._open is None or b > self._open:
                out.extend(self._advance(b))
            self._open_elements.append(e)  # its own bin, or late: the open bin
        return out

    def flush(self) -> list[ModelBin]:
        """Close the open bin (end of input)."""
        if self._open is None:
            return []
        out = [self._close(self._open, self._open_elements)]
        self._open, self._open_elements = None, []
        return out

    def _advance(self, b: int) -> list[ModelBin]:
        out = self.flush()
        last = self._last_closed
        if last is not None and 0 < (b - last - 1) * self.bin_seconds <= self.fill_gap_seconds:
            out.extend(self._close(k, []) for k in range(last + 1, b))
        self._open = b
        return out

    def _set_routes(self, rib_rows: list[Element]) -> None:
        """RIB rows of one batch: routes set in order; each peer's ASN from its first row."""
        first_asn: dict[PeerId, int] = {}
        for e in rib_rows:
            assert e.prefix is not None
            peer = self._peer(e)
            first_asn.setdefault(e.peer, e.peer_asn)
            self._know(e.prefix)
            peer.routes[e.prefix] = e.path
        for pid, asn in first_asn.items():
            self.peers[pid].asn = asn

    def _peer(self, e: Element) -> Peer:
        if e.peer not in self.peers:
            collector, _, raw = e.peer
            ip = ipaddress.IPv4Address(raw[:4]) if e.peer_afi == 4 else ipaddress.IPv6Address(raw)
            self.peers[e.peer] = Peer(collector, str(ip), e.peer_asn)
        return self.peers[e.peer]

    def _know(self, prefix: Prefix) -> KnownPrefix:
        if prefix not in self.prefixes:
            fam, _, plen = prefix
            self.prefixes[prefix] = KnownPrefix(fam, 1 << (ADDRESS_BITS[fam] - plen), self._countries(prefix))
        return self.prefixes[prefix]

    def _countries(self, prefix: Prefix) -> dict[str, Weight]:
        """The mapper's countries of one prefix, weights converted to exact addresses."""
        if self.mapper is None:
            return {}
        fam, raw, plen = prefix
        idx, cc, w = self.mapper.map_prefixes(
            np.array([fam], dtype=np.uint8),
            np.frombuffer(raw, dtype=np.uint8).reshape(1, 16),
            np.array([plen], dtype=np.uint8),
        )
        out: dict[str, Weight] = {}
        for i, country, weight in zip(
            np.asarray(idx).tolist(), np.asarray(cc).tolist(), np.asarray(w).tolist(), strict=True
        ):
            assert i == 0, "the mapper was given one prefix"
            addresses = Fraction(weight) * UNIT_ADDRESSES[fam]  # exact: a float is a dyadic fraction
            total = out.get(str(country), 0) + addresses
            out[str(country)] = total.numerator if total.denominator == 1 else total
        return out

    # ---- closing a bin -------------------------------------------------------------------

    def _close(self, index: int, elements: list[Element]) -> ModelBin:
        self._last_closed = index
        ordered = sorted(elements, key=lambda e: e.ts)  # stable: arrival order breaks ties
        first_asn: dict[PeerId, int] = {}
        for e in ordered:
            self._peer(e)
            first_asn.setdefault(e.peer, e.peer_asn)
        for pid, asn in first_asn.items():
            self.peers[pid].asn = asn
        rows: dict[Key, float] = {}
        sessions_down = self._apply(ordered, rows)
        approx: set[Key] = set()
        peer_rows = self._state_rows(rows, approx)
        return ModelBin(index * self.bin_us, len(elements), rows, peer_rows, sessions_down, frozenset(approx))

    def _entities(self, prefix: Prefix, origin: int) -> list[Entity]:
        """The entities an update of ``prefix`` with route origin ``origin`` counts for."""
        out: list[Entity] = [("global", GLOBAL)]
        out += [("country", cc) for cc in self.prefixes[prefix].countries]
        if origin:
            out.append(("as", str(origin)))
        if prefix in self.watched:
            out.append(("prefix", self.watched[prefix]))
        return out

    def _apply(self, ordered: list[Element], rows: dict[Key, float]) -> int:
        """Apply a bin's elements in order, writing its churn rows; returns its session downs."""
        counts: dict[Entity, list[int]] = {}  # announcements, withdrawals, duplicates, changes
        reporters: dict[Entity, set[PeerId]] = {}
        downs = 0
        for e in ordered:
            peer = self.peers[e.peer]
            if e.kind == "S":
                if e.new_state is not None and e.new_state != ESTABLISHED:
                    peer.routes.clear()  # implicit withdrawals: not churn
                    downs += 1
                continue
            if e.kind not in ("A", "W"):
                continue
            assert e.prefix is not None
            self._know(e.prefix)
            before = peer.routes.get(e.prefix)
            if e.kind == "A":
                peer.routes[e.prefix] = e.path
                flags = [1, 0, int(before == e.path), int(before is not None and before != e.path)]
                origin = origin_upstream(e.path)[0]
            else:
                peer.routes.pop(e.prefix, None)
                flags = [0, 1, 0, 0]
                origin = origin_upstream(before)[0] if before is not None else 0
            for ent in self._entities(e.prefix, origin):
                c = counts.setdefault(ent, [0, 0, 0, 0])
                for i, f in enumerate(flags):
                    c[i] += f
                reporters.setdefault(ent, set()).add(e.peer)
        for (etype, name), (a, w, dup, change) in counts.items():
            for metric, value in zip(CHURN_METRICS, (a, w, dup, change, a + w), strict=True):
                rows[etype, name, metric] = float(value)
            rows[etype, name, PEERS_REPORTING] = float(len(reporters[etype, name]))
        return downs

    def _full_feed(self, fam: int) -> tuple[dict[PeerId, int], set[PeerId]]:
        """Table sizes of the family (peers with routes of it) and its full-feed peers."""
        sizes = {
            pid: n
            for pid, peer in self.peers.items()
            if (n := sum(1 for p in peer.routes if p[0] == fam)) > 0
        }
        largest = max(sizes.values(), default=0)
        full = {pid for pid, n in sizes.items() if n > 0 and n >= self.full_feed_share * largest}
        return sizes, full

    def _state_rows(self, rows: dict[Key, float], approx: set[Key]) -> dict[PeerRowKey, tuple[int, bool]]:
        """Visibility, full-feed and upstream rows of the current state; returns the peer rows."""
        peer_rows: dict[PeerRowKey, tuple[int, bool]] = {}
        upstreams: dict[Entity, dict[int, int]] = {}
        for fam in (4, 6):
            sizes, full = self._full_feed(fam)
            for pid, n in sizes.items():
                peer = self.peers[pid]
                peer_rows[peer.collector, peer.ip_text, fam] = (n, pid in full)
            rows["global", GLOBAL, f"{FAMILY_NAME[fam]}.full_feed_peers"] = float(len(full))
            # (peer ASN, origin) of every full-feed route to each prefix of the family
            carriers: dict[Prefix, list[tuple[int, int]]] = {}
            for pid in full:
                peer = self.peers[pid]
                for pfx, path in peer.routes.items():
                    if pfx[0] != fam:
                        continue
                    origin, upstream = origin_upstream(path)
                    carriers.setdefault(pfx, []).append((peer.asn, origin))
                    if origin and upstream:
                        for ent in self._state_entities(pfx, origin):
                            per_up = upstreams.setdefault(ent, {})
                            per_up[upstream] = per_up.get(upstream, 0) + 1
            self._visibility(fam, full, carriers, rows, approx)
        for (etype, name), per_up in upstreams.items():
            total = sum(per_up.values())
            for up, n in per_up.items():
                rows[etype, name, f"upstream.{up}.routes"] = float(n)
                rows[etype, name, f"upstream.{up}.share"] = float(Fraction(n, total))
            rows[etype, name, UPSTREAM_COUNT] = float(len(per_up))
        return peer_rows

    def _state_entities(self, prefix: Prefix, origin: int) -> list[Entity]:
        """The entities a full-feed route counts for in upstream metrics."""
        out: list[Entity] = [("as", str(origin))]
        out += [("country", cc) for cc in self.prefixes[prefix].countries]
        if prefix in self.watched:
            out.append(("prefix", self.watched[prefix]))
        return out

    def _visibility(
        self,
        fam: int,
        full: set[PeerId],
        carriers: dict[Prefix, list[tuple[int, int]]],
        rows: dict[Key, float],
        approx: set[Key],
    ) -> None:
        n_total = len(full)
        a_total = len({self.peers[pid].asn for pid in full})
        sums: dict[Entity, LevelSums] = {("global", GLOBAL): LevelSums()}
        as_entities: set[Entity] = set()
        for pfx, info in self.prefixes.items():
            if info.family != fam:
                continue
            for cc in info.countries:  # every country holding a known prefix has rows
                sums.setdefault(("country", cc), LevelSums())
            if pfx in self.watched:
                sums.setdefault(("prefix", self.watched[pfx]), LevelSums())
            routes = carriers.get(pfx, [])
            if not routes:
                continue  # no threshold met
            met = met_thresholds(len(routes), n_total, len({asn for asn, _ in routes}), a_total)
            sums["global", GLOBAL].add(met, info.addresses)
            for cc, addresses in info.countries.items():
                sums["country", cc].add(met, addresses)
            if pfx in self.watched:
                sums["prefix", self.watched[pfx]].add(met, info.addresses)
            for origin in {o for _, o in routes}:
                if origin == 0:
                    continue
                own = [asn for asn, o in routes if o == origin]  # per origin (MOAS)
                ent = ("as", str(origin))
                as_entities.add(ent)
                sums.setdefault(ent, LevelSums()).add(
                    met_thresholds(len(own), n_total, len(set(own)), a_total), info.addresses
                )
        fname, unit = FAMILY_NAME[fam], UNIT_ADDRESSES[fam]
        for ent, s in sums.items():
            etype, name = ent
            for i, t in enumerate(THRESHOLDS):
                count_key = (etype, name, f"{fname}.visible_prefixes.{t}")
                unit_key = (etype, name, f"{fname}.{UNIT_MEASURE[fam]}.{t}")
                value = float(Fraction(s.addresses[i]) / unit)
                if ent in as_entities and s.count[i] == 0:
                    continue  # ASes: only non-zero rows (a visible prefix has a non-zero weight)
                rows[count_key] = float(s.count[i])
                rows[unit_key] = value
                if not s.exact(i):
                    approx.add(unit_key)
