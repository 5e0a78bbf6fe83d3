"""Routing state per (collector, peer), held by the compiled core (:mod:`outagewatch.signals._engine`).

The core keeps the prefix, path and peer dictionaries, the route matrix (``routes[prefix][peer]``:
the interned path id of the peer's route, 0 = none), per-peer table sizes and everything the
per-bin signals are kept from. This module is its Python face: peer metadata (collector, address
text), read-only copies of the tables for snapshots, entity tables and tests, and the calls that
change routes outside a bin (a RIB dump, a restored snapshot, updates applied between bins).

Element batches go to the core as they are (Arrow C data interface): :func:`parts_of` describes
rows of a batch, :meth:`RoutingState.ingest` applies them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.signals import _engine
from outagewatch.signals.hashing import string_hash
from outagewatch.signals.names import FIXED_METRICS

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
MODE_BIN, MODE_RIB = 0, 1
Part = tuple[object, object, int, int, bytes]
"""What the core reads of some rows of a batch: its two Arrow capsules, the row range and the
64-bit hash of each collector name of its dictionary."""


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows ``lo .. hi - 1`` of an element batch (a bin's share of a reader batch)."""

    batch: pa.RecordBatch
    lo: int
    hi: int

    def __len__(self) -> int:
        return self.hi - self.lo


@lru_cache(maxsize=4096)
def _collector_hashes(names: tuple[str, ...]) -> bytes:
    return np.array([string_hash(n) for n in names], dtype=np.uint64).tobytes()


def peer_key(collector: str, ip: str, afi: int) -> int:
    """The core's key of a peer (collector, address, family), as it makes it from elements."""
    raw = ipaddress.ip_address(ip).packed.ljust(16, b"\0")
    return int(_engine.peer_key(string_hash(collector), raw, afi))


def parts_of(rows: Sequence[Rows]) -> list[Part]:
    """The core's view of some batch rows (no copy: Arrow capsules)."""
    out: list[Part] = []
    for r in rows:
        names = tuple(str(n) for n in r.batch.column("collector").dictionary.to_pylist())
        schema, array = r.batch.__arrow_c_array__()
        out.append((schema, array, r.lo, r.hi, _collector_hashes(names)))
    return out


def rib_rows(batch: pa.RecordBatch) -> npt.NDArray[np.bool_] | None:
    """Which rows of an element batch are RIB entries (kind ``B``); None when there are none."""
    kind = batch.column("kind")
    codes = [i for i, k in enumerate(kind.dictionary.to_pylist()) if k == "B"]
    if not codes:
        return None
    indices = kind.indices.to_numpy(zero_copy_only=False)
    rib = indices == codes[0] if len(codes) == 1 else np.isin(indices, codes)
    return rib if rib.any() else None


def _np(buf: bytes, dtype: npt.DTypeLike) -> npt.NDArray[np.generic]:
    return np.frombuffer(buf, dtype=dtype)


def unit_weight(afi: U8, plen: U8) -> npt.NDArray[np.float64]:
    """/24-equivalents (IPv4) or /48-equivalents (IPv6) of whole prefixes."""
    unit = np.where(afi == 4, 24, 48).astype(np.float64)
    return np.asarray(np.exp2(unit - plen.astype(np.float64)), dtype=np.float64)


class PeerTable:
    """Every (collector, peer address) seen; index = peer id. Names live here, numbers in the core."""

    def __init__(self, core: _engine.Core) -> None:
        self._core = core
        self.collector: list[str] = []
        self.ip: list[str] = []
        self._afi: list[int] = []

    @property
    def size(self) -> int:
        return len(self.collector)

    def _numbers(self) -> tuple[bytes, ...]:
        return tuple(self._core.peers())

    @property
    def key(self) -> npt.NDArray[np.uint64]:
        return _np(self._numbers()[0], np.uint64)  # type: ignore[return-value]

    @property
    def asn(self) -> U32:
        return _np(self._numbers()[1], np.uint32)  # type: ignore[return-value]

    @property
    def afi(self) -> U8:
        return np.array(self._afi, dtype=np.uint8)

    def add(self, collector: str, ip: str, afi: int) -> None:
        self.collector.append(collector)
        self.ip.append(ip)
        self._afi.append(afi)

    def add_named(self, collector: str, ip: str, asn: int, afi: int) -> int:
        """Register a peer by name (a snapshot's); returns its id."""
        return self.add_known(peer_key(collector, ip, afi), collector, ip, asn, afi)

    def add_known(self, key: int, collector: str, ip: str, asn: int, afi: int) -> int:
        """Register a peer by key (a benchmark's); returns its id."""
        ids = _np(self._core.add_peers(np.array([key], np.uint64), np.array([asn], np.uint32)), np.int32)
        pid = int(ids[0])
        if pid == self.size:
            self.add(collector, ip, afi)
        return pid


class PrefixTable:
    """Every prefix seen (index = prefix id): read-only copies of the core's table."""

    def __init__(self, core: _engine.Core) -> None:
        self._core = core
        self._afi = np.zeros(0, np.uint8)
        self._addr = np.zeros((0, 16), np.uint8)
        self._plen = np.zeros(0, np.uint8)

    @property
    def size(self) -> int:
        return int(self._core.counts()["prefixes"])

    def _sync(self) -> None:
        have, n = len(self._afi), self.size
        if n > have:
            afi, addr, plen = self._core.prefixes(have, n)
            self._afi = np.concatenate([self._afi, _np(afi, np.uint8)])
            self._addr = np.concatenate([self._addr, _np(addr, np.uint8).reshape(-1, 16)])
            self._plen = np.concatenate([self._plen, _np(plen, np.uint8)])

    @property
    def afi(self) -> U8:
        self._sync()
        return self._afi

    @property
    def addr(self) -> U8:
        """(prefixes, 16) network addresses."""
        self._sync()
        return self._addr

    @property
    def plen(self) -> U8:
        self._sync()
        return self._plen

    def weights(self) -> npt.NDArray[np.float64]:
        return unit_weight(self.afi, self.plen)

    def family(self, afi: int) -> I64:
        return np.flatnonzero(self.afi == afi)

    def ids(self, afi: U8, prefix: U8, plen: U8) -> tuple[I64, I64]:
        """Prefix ids (inserting new prefixes) and the positions of newly added ones."""
        before = self.size
        ids = _np(
            self._core.add_prefixes(
                np.ascontiguousarray(afi, np.uint8),
                np.ascontiguousarray(prefix, np.uint8),
                np.ascontiguousarray(plen, np.uint8),
            ),
            np.int32,
        ).astype(np.int64)
        # new ids are given in order of first occurrence: a first occurrence is a new high
        seen = np.maximum.accumulate(np.concatenate([[before - 1], ids[:-1]])) if len(ids) else ids
        return ids, np.flatnonzero(ids > seen)

    def text(self, idx: I64) -> list[str]:
        """Prefixes as text."""
        return [prefix_text(int(self.afi[i]), bytes(self.addr[i]), int(self.plen[i])) for i in idx]


class PathTable:
    """Every AS path interned (index = path id, 0 = no route): hash, origin and upstream ASN."""

    def __init__(self, core: _engine.Core) -> None:
        self._core = core

    @property
    def size(self) -> int:
        return int(self._core.counts()["paths"])

    def _facts(self) -> tuple[bytes, bytes, bytes]:
        h, o, u = self._core.paths(0, self.size)
        return h, o, u

    @property
    def hash(self) -> npt.NDArray[np.uint64]:
        return _np(self._facts()[0], np.uint64)  # type: ignore[return-value]

    @property
    def origin(self) -> U32:
        return _np(self._facts()[1], np.uint32)  # type: ignore[return-value]

    @property
    def upstream(self) -> U32:
        return _np(self._facts()[2], np.uint32)  # type: ignore[return-value]

    def intern_facts(self, hashes: npt.NDArray[np.uint64], origin: U32, upstream: U32) -> U32:
        """Path ids for paths known only by hash and facts (restoring a snapshot)."""
        return _np(  # type: ignore[return-value]
            self._core.intern_paths(
                np.ascontiguousarray(hashes, np.uint64),
                np.ascontiguousarray(origin, np.uint32),
                np.ascontiguousarray(upstream, np.uint32),
            ),
            np.uint32,
        )


class RoutingState:
    """The compiled routing state and its Python face."""

    def __init__(self, peer_capacity: int = 16, prefix_capacity: int = 1 << 18) -> None:
        """Room for ``peer_capacity`` peers × ``prefix_capacity`` prefixes to start with (grown
        as needed; untouched pages of the matrix cost no memory)."""
        self.core = _engine.Core(0.75, peer_capacity, prefix_capacity)
        self.core.set_fixed_metrics(FIXED_METRICS)
        self.peers = PeerTable(self.core)
        self.prefixes = PrefixTable(self.core)
        self.paths = PathTable(self.core)

    @property
    def version(self) -> int:
        """Bumped by every change of a route: equal versions, equal routes."""
        return int(self.core.counts()["version"])

    def ingest(self, rows: Sequence[Rows], mode: int = MODE_BIN, *, churn: bool = False) -> int:
        """Apply ``rows`` in time order (mode MODE_BIN: updates and session downs, the bin's churn
        counted when ``churn``; MODE_RIB: RIB rows set directly); new peers are registered
        here. Returns the number of rows."""
        n, new_pos = self.core.ingest(parts_of(rows), mode, churn)
        if new_pos:
            self._add_peers(rows, _np(new_pos, np.int64))
        return int(n)

    def _add_peers(self, rows: Sequence[Rows], positions: npt.NDArray[np.generic]) -> None:
        starts = np.cumsum([0] + [len(r) for r in rows])
        for pos in positions.tolist():
            k = int(np.searchsorted(starts, pos, side="right")) - 1
            r = rows[k]
            i = r.lo + pos - int(starts[k])
            afi = int(r.batch.column("peer_afi")[i].as_py())
            raw = bytes(r.batch.column("peer_ip")[i].as_py())
            ip = ipaddress.IPv4Address(raw[:4]) if afi == 4 else ipaddress.IPv6Address(raw)
            self.peers.add(str(r.batch.column("collector")[i].as_py()), str(ip), afi)

    def apply(self, rows: Sequence[Rows] | pa.RecordBatch) -> int:
        """Apply updates and session downs in time order outside any bin (they bring the state
        forward; they are no bin's churn). Returns the rows applied."""
        if isinstance(rows, pa.RecordBatch):
            rows = [Rows(rows, 0, rows.num_rows)]
        return self.ingest(rows, MODE_BIN)

    def load_rib(
        self,
        batch: pa.RecordBatch,
        *,
        cleared: set[str] | None = None,
        rib: npt.NDArray[np.bool_] | None = None,
    ) -> int:
        """Set the routes of a RIB batch's RIB rows (``rib``: :func:`rib_rows` of the batch, when
        the caller has it). With ``cleared`` (the collectors of a dump cleared so far), every
        peer of a collector not in it is cleared first, and the collector added. Returns the
        RIB rows."""
        if rib is None:
            rib = rib_rows(batch)
            if rib is None:
                return 0
        if cleared is not None:
            coll = batch.column("collector")
            used = np.unique(coll.indices.to_numpy(zero_copy_only=False)[rib])
            names = {str(coll.dictionary[int(i)].as_py()) for i in used} - cleared
            cleared |= names
            stale = [i for i, c in enumerate(self.peers.collector) if c in names]
            if stale:
                self.core.clear_peers(np.array(stale, dtype=np.int64))
        self.ingest([Rows(batch, 0, batch.num_rows)], MODE_RIB)
        return int(rib.sum())

    def set_routes(self, peer: I64, prefix: I64, path: U32) -> None:
        """Set cells directly (snapshots, benchmarks); later entries win."""
        self.core.set_routes(
            np.ascontiguousarray(peer, np.int64),
            np.ascontiguousarray(prefix, np.int64),
            np.ascontiguousarray(path, np.uint32),
        )

    def clear_peers(self, peer: I64) -> None:
        self.core.clear_peers(np.ascontiguousarray(peer, np.int64))

    def note_origins(self, path: U32, prefix: I64) -> None:
        """Record the (origin, family) of routes set directly (as announcements record them)."""
        origin = self.paths.origin[np.asarray(path, np.int64)].astype(np.uint64)
        afi = self.prefixes.afi[np.asarray(prefix, np.int64)].astype(np.uint64)
        self.add_origin_families(origin * np.uint64(8) + afi)

    def add_origin_families(self, keys: npt.NDArray[np.uint64]) -> None:
        """Origin ASNs announced, as keys origin × 8 + afi (AS entities are made for them)."""
        self.core.add_origins(np.ascontiguousarray(keys, np.uint64))

    @property
    def origin_families(self) -> npt.NDArray[np.uint64]:
        """Sorted keys origin × 8 + afi of every (origin, family) ever announced."""
        return np.sort(_np(self.core.origin_keys(), np.uint64))  # type: ignore[return-value]

    @property
    def known_as(self) -> U32:
        """Sorted origin ASNs ever announced (0, unknown, excluded)."""
        asns = (self.origin_families >> np.uint64(3)).astype(np.uint32)
        return np.unique(asns[asns != 0])

    def as_asns(self, lo: int = 0, hi: int | None = None) -> U32:
        """The ASN of each AS entity id (ids in the order ASNs were first seen)."""
        n = int(self.core.counts()["ases"])
        return _np(self.core.as_asns(lo, n if hi is None else hi), np.uint32)  # type: ignore[return-value]

    def route_table(self) -> tuple[I64, I64, U32]:
        """Every route: (peer id, prefix id, path id), peer by peer."""
        peer, prefix, path = self.core.routes()
        return (
            _np(peer, np.int32).astype(np.int64),
            _np(prefix, np.int32).astype(np.int64),
            _np(path, np.uint32),  # type: ignore[return-value]
        )

    @property
    def routes(self) -> U32:
        """The route matrix as a dense peers × prefixes copy (small states: tests, examples)."""
        out = np.zeros((self.peers.size, self.prefixes.size), dtype=np.uint32)
        peer, prefix, path = self.route_table()
        out[peer, prefix] = path
        return out

    def route_count(self) -> int:
        v4, v6 = self.table_sizes()
        return int(v4.sum() + v6.sum())

    def table_sizes(self) -> tuple[I64, I64]:
        """Per peer: number of IPv4 and IPv6 prefixes with a route."""
        sizes = np.frombuffer(self.core.peers()[2], np.int64).reshape(-1, 2)
        return sizes[:, 0].copy(), sizes[:, 1].copy()

    def clears(self, peer: I64) -> I64:
        """How often each of these peers had all its routes cleared (session down, RIB reload)."""
        counts = _np(self.core.peers()[3], np.int64)
        return counts[np.asarray(peer, np.int64)].astype(np.int64)

    def nbytes(self) -> int:
        return int(self.core.counts()["nbytes"])


def prefix_text(afi: int, addr: bytes, plen: int) -> str:
    if afi == 4:
        return f"{ipaddress.IPv4Address(addr[:4])}/{plen}"
    return f"{ipaddress.IPv6Address(addr)}/{plen}"


def parse_prefix(text: str) -> tuple[int, bytes, int]:
    """``"175.45.176.0/22"`` → (4, 16-byte address, 22)."""
    net = ipaddress.ip_network(text, strict=False)
    raw = net.network_address.packed
    return net.version, raw + bytes(16 - len(raw)), net.prefixlen


def prefix_texts(afi: U8, addr: U8, plen: U8) -> list[str]:
    """Text of many prefixes (IPv4 vectorised through Arrow; IPv6 through ipaddress)."""
    import pyarrow.compute as pc

    out: list[str] = [""] * len(afi)
    v4 = np.flatnonzero(afi == 4)
    if len(v4):
        parts = [pa.array(addr[v4, i]).cast(pa.string()) for i in range(4)]
        dotted = pc.binary_join_element_wise(*parts, ".")
        text = pc.binary_join_element_wise(dotted, pa.array(plen[v4]).cast(pa.string()), "/")
        for i, t in zip(v4.tolist(), text.to_pylist(), strict=True):
            out[i] = str(t)
    for i in np.flatnonzero(afi != 4).tolist():
        out[i] = prefix_text(int(afi[i]), bytes(addr[i]), int(plen[i]))
    return out
