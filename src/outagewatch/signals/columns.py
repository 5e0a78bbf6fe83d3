"""Element batches (``ELEMENT_SCHEMA``) → the NumPy columns the routing state needs.

No per-element Python objects: every column is taken from the Arrow buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.model.element import KINDS
from outagewatch.signals.hashing import path_hashes, peer_keys, string_hash

KIND_CODES = {name: code for code, name in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of some elements, as NumPy arrays of equal length ``n``."""

    ts: npt.NDArray[np.int64]  # µs since the epoch
    kind: npt.NDArray[np.int8]  # KINDS codes
    peer_key: npt.NDArray[np.uint64]  # hash of (collector, peer address)
    collector: npt.NDArray[np.object_]  # per-element collector name (object refs, shared)
    peer_afi: npt.NDArray[np.uint8]
    peer_ip: npt.NDArray[np.uint8]  # (n, 16)
    peer_asn: npt.NDArray[np.uint32]
    afi: npt.NDArray[np.uint8]
    prefix: npt.NDArray[np.uint8]  # (n, 16)
    prefix_len: npt.NDArray[np.uint8]
    path_hash: npt.NDArray[np.uint64]
    path_offsets: npt.NDArray[np.int64]  # absolute offsets (n+1) into path_values
    path_values: npt.NDArray[np.uint32]
    seg_offsets: npt.NDArray[np.int64]
    seg_values: npt.NDArray[np.uint16]
    new_state: npt.NDArray[np.int16]  # -1 where null

    def __len__(self) -> int:
        return len(self.ts)


def _fixed16(arr: pa.Array) -> npt.NDArray[np.uint8]:
    buf = arr.buffers()[1]
    raw = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return raw[arr.offset * 16 : (arr.offset + len(arr)) * 16].reshape(-1, 16)


def _list(arr: pa.Array, dtype: type) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.generic]]:
    offsets = arr.offsets.to_numpy().astype(np.int64)
    values = arr.values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return offsets, values


def _dict_codes(arr: pa.Array, table: dict[str, int]) -> npt.NDArray[np.int64]:
    lut = np.array([table.get(v, -1) for v in arr.dictionary.to_pylist()], dtype=np.int64)
    out: npt.NDArray[np.int64] = lut[arr.indices.to_numpy(zero_copy_only=False)]
    return out


def _collectors(arr: pa.Array) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.object_]]:
    names = arr.dictionary.to_pylist()
    idx = arr.indices.to_numpy(zero_copy_only=False)
    hashes = np.array([string_hash(n) for n in names], dtype=np.uint64)
    objs = np.empty(len(names), dtype=object)
    objs[:] = names
    return hashes[idx], objs[idx]


def _col(batch: pa.RecordBatch, name: str) -> pa.Array:
    col = batch.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def peer_ip_words(ip: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The two big-endian 64-bit halves of 16-byte addresses."""
    words = np.ascontiguousarray(ip).view(">u8").reshape(-1, 2).astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


def from_batch(batch: pa.RecordBatch) -> Columns:
    """Extract the columns of one element batch."""
    kind = _dict_codes(_col(batch, "kind"), KIND_CODES).astype(np.int8)
    coll_hash, coll = _collectors(_col(batch, "collector"))
    peer_ip = _fixed16(_col(batch, "peer_ip"))
    peer_key = peer_keys(coll_hash, peer_ip)
    p_off, p_raw = _list(_col(batch, "as_path"), np.uint32)
    s_off, s_raw = _list(_col(batch, "as_path_segments"), np.uint16)
    p_val, s_val = p_raw.astype(np.uint32, copy=False), s_raw.astype(np.uint16, copy=False)
    new_state = _col(batch, "new_state").fill_null(255).to_numpy(zero_copy_only=False).astype(np.int16)
    new_state[new_state == 255] = -1
    return Columns(
        ts=_col(batch, "timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False),
        kind=kind,
        peer_key=peer_key,
        collector=coll,
        peer_afi=_col(batch, "peer_afi").to_numpy(zero_copy_only=False),
        peer_ip=peer_ip,
        peer_asn=_col(batch, "peer_asn").to_numpy(zero_copy_only=False),
        afi=_col(batch, "afi").to_numpy(zero_copy_only=False),
        prefix=_fixed16(_col(batch, "prefix")),
        prefix_len=_col(batch, "prefix_len").to_numpy(zero_copy_only=False),
        path_hash=path_hashes(p_off, p_val, s_off, s_val),
        path_offsets=p_off,
        path_values=p_val,
        seg_offsets=s_off,
        seg_values=s_val,
        new_state=new_state,
    )


def take(cols: Columns, idx: npt.NDArray[np.int64]) -> Columns:
    """The rows ``idx`` of ``cols`` (paths re-packed so offsets stay consistent)."""
    p_off, p_val = _take_lists(cols.path_offsets, cols.path_values, idx)
    s_off, s_val = _take_lists(cols.seg_offsets, cols.seg_values, idx)
    return Columns(
        ts=cols.ts[idx],
        kind=cols.kind[idx],
        peer_key=cols.peer_key[idx],
        collector=cols.collector[idx],
        peer_afi=cols.peer_afi[idx],
        peer_ip=cols.peer_ip[idx],
        peer_asn=cols.peer_asn[idx],
        afi=cols.afi[idx],
        prefix=cols.prefix[idx],
        prefix_len=cols.prefix_len[idx],
        path_hash=cols.path_hash[idx],
        path_offsets=p_off,
        path_values=p_val.astype(np.uint32, copy=False),
        seg_offsets=s_off,
        seg_values=s_val.astype(np.uint16, copy=False),
        new_state=cols.new_state[idx],
    )


def rows(cols: Columns, lo: int, hi: int) -> Columns:
    """The rows ``lo:hi`` of ``cols`` as views (list offsets stay absolute: no re-packing)."""
    return Columns(
        ts=cols.ts[lo:hi],
        kind=cols.kind[lo:hi],
        peer_key=cols.peer_key[lo:hi],
        collector=cols.collector[lo:hi],
        peer_afi=cols.peer_afi[lo:hi],
        peer_ip=cols.peer_ip[lo:hi],
        peer_asn=cols.peer_asn[lo:hi],
        afi=cols.afi[lo:hi],
        prefix=cols.prefix[lo:hi],
        prefix_len=cols.prefix_len[lo:hi],
        path_hash=cols.path_hash[lo:hi],
        path_offsets=cols.path_offsets[lo : hi + 1],
        path_values=cols.path_values,
        seg_offsets=cols.seg_offsets[lo : hi + 1],
        seg_values=cols.seg_values,
        new_state=cols.new_state[lo:hi],
    )


def _take_lists(
    offsets: npt.NDArray[np.int64], values: npt.NDArray[np.generic], idx: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.generic]]:
    start, end = offsets[:-1][idx], offsets[1:][idx]
    lengths = end - start
    new_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_off[1:])
    flat = np.repeat(start - new_off[:-1], lengths) + np.arange(int(new_off[-1]), dtype=np.int64)
    return new_off, values[flat]


def concat(parts: list[Columns]) -> Columns:
    """Concatenate several column sets (paths re-based)."""
    if len(parts) == 1:
        return parts[0]
    p_off, p_val = _concat_lists([(c.path_offsets, c.path_values) for c in parts])
    s_off, s_val = _concat_lists([(c.seg_offsets, c.seg_values) for c in parts])
    cat = np.concatenate
    return Columns(
        ts=cat([c.ts for c in parts]),
        kind=cat([c.kind for c in parts]),
        peer_key=cat([c.peer_key for c in parts]),
        collector=cat([c.collector for c in parts]),
        peer_afi=cat([c.peer_afi for c in parts]),
        peer_ip=cat([c.peer_ip for c in parts]),
        peer_asn=cat([c.peer_asn for c in parts]),
        afi=cat([c.afi for c in parts]),
        prefix=cat([c.prefix for c in parts]),
        prefix_len=cat([c.prefix_len for c in parts]),
        path_hash=cat([c.path_hash for c in parts]),
        path_offsets=p_off,
        path_values=p_val.astype(np.uint32, copy=False),
        seg_offsets=s_off,
        seg_values=s_val.astype(np.uint16, copy=False),
        new_state=cat([c.new_state for c in parts]),
    )


def _concat_lists(
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.generic]]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.generic]]:
    offs: list[npt.NDArray[np.int64]] = [np.zeros(1, dtype=np.int64)]
    vals = []
    base = 0
    for off, val in parts:
        lo, hi = int(off[0]), int(off[-1])
        vals.append(val[lo:hi])
        offs.append(off[1:] - lo + base)
        base += hi - lo
    return np.concatenate(offs), np.concatenate(vals)
