"""Prefix arrays ↔ text, and prefix → address-range keys used by the country mapper.

Prefixes are columnar like the element schema: ``afi`` (n,) uint8 (4 or 6), ``prefix`` (n, 16) uint8
big-endian addresses (IPv4 in the first 4 bytes), ``prefix_len`` (n,) uint8.

Range keys: IPv4 uses the 32-bit address; IPv6 uses the top 64 bits of the address (a /64 is the
finest granularity that matters for routing visibility). Both fit uint64.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]

FAMILY_BITS = {4: 32, 6: 64}  # key width per address family


def as_matrix(prefix: pa.Array | pa.ChunkedArray | npt.NDArray[np.uint8]) -> U8:
    """An (n, 16) uint8 view of a fixed_size_binary(16) Arrow array (zero-copy when possible)."""
    if isinstance(prefix, np.ndarray):
        return prefix.reshape(-1, 16).astype(np.uint8, copy=False)
    if isinstance(prefix, pa.ChunkedArray):
        prefix = prefix.combine_chunks()
    n = len(prefix)
    buf = prefix.buffers()[1]
    if buf is None:
        return np.zeros((0, 16), np.uint8)
    flat = np.frombuffer(buf, dtype=np.uint8, count=(prefix.offset + n) * 16)
    return flat[prefix.offset * 16 :].reshape(n, 16)


def range_keys(afi: U8, prefix: U8, prefix_len: U8) -> tuple[U64, U64]:
    """Inclusive (first, last) range keys per prefix in its family's key space.

    IPv6 prefixes longer than /64 map to the single /64 that holds them.
    """
    m = as_matrix(prefix)
    hi = m[:, :8].copy().view(">u8").reshape(-1).astype(np.uint64)
    v4 = np.asarray(afi) == 4
    bits = np.where(v4, 32, 64).astype(np.uint64)
    first = np.where(v4, hi >> np.uint64(32), hi)
    plen = np.minimum(np.asarray(prefix_len).astype(np.uint64), bits)
    host = bits - plen  # host bits within the key, 0..64
    small = np.minimum(host, np.uint64(63))
    span = (np.uint64(1) << small) - np.uint64(1)
    span = np.where(host >= np.uint64(64), np.uint64(0xFFFF_FFFF_FFFF_FFFF), span)
    first = first & ~span
    return first, first + span


def prefix_text(afi: U8, prefix: U8, prefix_len: U8) -> list[str]:
    """``"a.b.c.d/n"`` / compressed IPv6 text for each prefix."""
    m = as_matrix(prefix)
    out: list[str] = []
    for fam, row, plen in zip(np.asarray(afi).tolist(), m, np.asarray(prefix_len).tolist(), strict=True):
        if fam == 4:
            out.append(f"{row[0]}.{row[1]}.{row[2]}.{row[3]}/{plen}")
        else:
            out.append(f"{ipaddress.IPv6Address(row.tobytes())}/{plen}")
    return out


def parse_prefixes(texts: Iterable[str]) -> tuple[U8, U8, U8]:
    """(afi, (n, 16) addresses, lengths) from prefix strings; host bits are cleared.

    Raises ``ValueError`` naming the first bad string.
    """
    items: Sequence[str] = list(texts)
    afi = np.zeros(len(items), np.uint8)
    addr = np.zeros((len(items), 16), np.uint8)
    plen = np.zeros(len(items), np.uint8)
    for i, text in enumerate(items):
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"bad prefix {text!r}: {exc}") from None
        packed = net.network_address.packed
        afi[i] = net.version
        addr[i, : len(packed)] = np.frombuffer(packed, np.uint8)
        plen[i] = net.prefixlen
    return afi, addr, plen
