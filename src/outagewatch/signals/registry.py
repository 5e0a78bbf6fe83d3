"""Dictionaries of peers and prefixes: 64-bit key → dense index, with columnar attributes."""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt

from outagewatch.signals import _statecore  # type: ignore[attr-defined]
from outagewatch.signals.columns import Columns
from outagewatch.signals.growable import Growable
from outagewatch.signals.hashing import HashIndex, prefix_keys


class PrefixCollision(Exception):
    """Two different prefixes hashed to the same 64-bit key (astronomically rare)."""


def unit_weight(afi: npt.NDArray[np.uint8], plen: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """/24-equivalents (IPv4) or /48-equivalents (IPv6) of whole prefixes."""
    unit = np.where(afi == 4, 24, 48).astype(np.float64)
    return np.asarray(np.exp2(unit - plen.astype(np.float64)), dtype=np.float64)


class PrefixTable:
    """Every prefix seen: afi, network address (16 bytes), length; index = prefix id."""

    def __init__(self) -> None:
        self.index = HashIndex()
        self._afi = Growable(np.zeros(0), np.uint8)
        self._addr = Growable(np.zeros((0, 16)), np.uint8)
        self._plen = Growable(np.zeros(0), np.uint8)
        self._weight = Growable(np.zeros(0), np.float64)
        self._family: dict[int, tuple[int, npt.NDArray[np.int64]]] = {}

    @property
    def afi(self) -> npt.NDArray[np.uint8]:
        return self._afi.view

    @property
    def addr(self) -> npt.NDArray[np.uint8]:
        """(prefixes, 16) network addresses."""
        return self._addr.view

    @property
    def plen(self) -> npt.NDArray[np.uint8]:
        return self._plen.view

    def weights(self) -> npt.NDArray[np.float64]:
        """/24- or /48-equivalents per prefix id (extended as prefixes are added)."""
        n = len(self._weight)
        if n < self.size:
            self._weight.append(unit_weight(self.afi[n:], self.plen[n:]))
        return self._weight.view

    def family(self, afi: int) -> npt.NDArray[np.int64]:
        """Ids of the prefixes of one family (cached until prefixes are added)."""
        hit = self._family.get(afi)
        if hit is None or hit[0] != self.size:
            hit = (self.size, np.flatnonzero(self.afi == afi))
            self._family[afi] = hit
        return hit[1]

    @property
    def size(self) -> int:
        return len(self.afi)

    def ids(
        self, afi: npt.NDArray[np.uint8], prefix: npt.NDArray[np.uint8], plen: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Prefix ids (inserting new prefixes) and the positions of newly added ones."""
        keys = prefix_keys(afi, prefix, plen)
        ids, new_pos = self.index.get_or_insert(keys)
        if len(new_pos):
            self._afi.append(afi[new_pos])
            self._addr.append(prefix[new_pos])
            self._plen.append(plen[new_pos])
        bad = _statecore.find_mismatch(
            ids,
            np.ascontiguousarray(afi, dtype=np.uint8),
            np.ascontiguousarray(plen, dtype=np.uint8),
            np.ascontiguousarray(prefix, dtype=np.uint8),
            self.afi,
            self.plen,
            self.addr,
        )
        if bad >= 0:
            raise PrefixCollision(f"prefix hash collision at element {bad}")
        return ids, new_pos

    def ids_of_cols(self, cols: Columns) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return self.ids(cols.afi, cols.prefix, cols.prefix_len)

    def text(self, idx: npt.NDArray[np.int64]) -> list[str]:
        """Prefixes as text (used only for the few watchlisted prefixes and snapshots)."""
        return [prefix_text(int(self.afi[i]), bytes(self.addr[i]), int(self.plen[i])) for i in idx]


def prefix_text(afi: int, addr: bytes, plen: int) -> str:
    if afi == 4:
        return f"{ipaddress.IPv4Address(addr[:4])}/{plen}"
    return f"{ipaddress.IPv6Address(addr)}/{plen}"


def parse_prefix(text: str) -> tuple[int, bytes, int]:
    """``"175.45.176.0/22"`` → (4, 16-byte address, 22)."""
    net = ipaddress.ip_network(text, strict=False)
    raw = net.network_address.packed
    return net.version, raw + bytes(16 - len(raw)), net.prefixlen


class PeerTable:
    """Every (collector, peer address) seen; index = peer id (row of the route matrix)."""

    def __init__(self) -> None:
        self._index = HashIndex()  # peer key → peer id
        self.key = np.zeros(0, dtype=np.uint64)
        self.asn = np.zeros(0, dtype=np.uint32)
        self.afi = np.zeros(0, dtype=np.uint8)
        self.collector: list[str] = []
        self.ip: list[str] = []

    @property
    def size(self) -> int:
        return len(self.key)

    def ids(self, cols: Columns) -> npt.NDArray[np.int64]:
        """Peer ids of every element; each peer's ASN becomes the one of its first element here."""
        ids, new_pos = self._index.get_or_insert(cols.peer_key)
        for row in new_pos.tolist():
            self._add(cols, row)
        if len(ids):
            first = np.full(self.size, len(ids), dtype=np.int64)
            np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
            seen = np.flatnonzero(first < len(ids))
            self.asn[seen] = cols.peer_asn[first[seen]]
        return ids

    def _add(self, cols: Columns, row: int) -> None:
        self.key = np.append(self.key, cols.peer_key[row])
        self.asn = np.append(self.asn, cols.peer_asn[row])
        afi = int(cols.peer_afi[row])
        self.afi = np.append(self.afi, np.uint8(afi))
        self.collector.append(str(cols.collector[row]))
        raw = bytes(cols.peer_ip[row])
        self.ip.append(str(ipaddress.IPv4Address(raw[:4]) if afi == 4 else ipaddress.IPv6Address(raw)))

    def add_known(self, key: int, collector: str, ip: str, asn: int, afi: int) -> int:
        """Register a peer from a snapshot; returns its id."""
        ids, new_pos = self._index.get_or_insert(np.array([key], dtype=np.uint64))
        if not len(new_pos):
            return int(ids[0])
        self.key = np.append(self.key, np.uint64(key))
        self.asn = np.append(self.asn, np.uint32(asn))
        self.afi = np.append(self.afi, np.uint8(afi))
        self.collector.append(collector)
        self.ip.append(ip)
        return int(ids[0])


def prefix_texts(
    afi: npt.NDArray[np.uint8], addr: npt.NDArray[np.uint8], plen: npt.NDArray[np.uint8]
) -> list[str]:
    """Text of many prefixes (IPv4 vectorised through Arrow; IPv6 through ipaddress)."""
    import pyarrow as pa
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
