"""MRT bytes → element record batches (pure: values in, values out).

The compiled decoder (``_mrtcore.Decoder``) walks MRT records and fills C column arrays;
this module wraps those buffers zero-copy into Arrow arrays of
:data:`~outagewatch.model.element.ELEMENT_SCHEMA` and turns damaged-input reports into
:class:`~outagewatch.model.problem.Problem` values.

Typical use (the file reader in ``outagewatch.sources.mrtfile`` does exactly this)::

    dec = MrtDecoder(source="rrc00.updates.gz", collector="rrc00")
    batches, consumed, problems = dec.feed(chunk, final=False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa

from outagewatch.model.element import ELEMENT_SCHEMA, KINDS
from outagewatch.model.problem import Problem
from outagewatch.parse import _mrtcore  # type: ignore[attr-defined]

P_PATH_ID: Final[int] = _mrtcore.P_PATH_ID
P_ORIGIN_ASN: Final[int] = _mrtcore.P_ORIGIN_ASN
P_ORIGIN: Final[int] = _mrtcore.P_ORIGIN
P_MED: Final[int] = _mrtcore.P_MED
P_LOCAL_PREF: Final[int] = _mrtcore.P_LOCAL_PREF
P_AGGREGATOR: Final[int] = _mrtcore.P_AGGREGATOR
P_STATE: Final[int] = _mrtcore.P_STATE
ADDPATH_NOTE: Final[str] = _mrtcore.ADDPATH_NOTE
"""Text of the once-per-input problem noting add-path NLRI under a plain MRT subtype."""

_KIND_DICT: Final = pa.array(KINDS, pa.string())

# column name → (arrow type, name of its validity bitmap or "" for never-null)
_FIXED: Final[dict[str, tuple[pa.DataType, str]]] = {
    "mrt_type": (pa.uint16(), ""),
    "mrt_subtype": (pa.uint16(), ""),
    "peer_afi": (pa.uint8(), ""),
    "peer_ip": (pa.binary(16), ""),
    "peer_asn": (pa.uint32(), ""),
    "afi": (pa.uint8(), ""),
    "prefix": (pa.binary(16), ""),
    "prefix_len": (pa.uint8(), ""),
    "path_id": (pa.uint32(), "path_id"),
    "origin_asn": (pa.uint32(), "origin_asn"),
    "nexthop_afi": (pa.uint8(), ""),
    "nexthop": (pa.binary(16), ""),
    "origin": (pa.uint8(), "origin"),
    "med": (pa.uint32(), "med"),
    "local_pref": (pa.uint32(), "local_pref"),
    "aggregator_asn": (pa.uint32(), "aggregator"),
    "aggregator_ip": (pa.binary(4), "aggregator"),
    "old_state": (pa.uint8(), "state"),
    "new_state": (pa.uint8(), "state"),
}
_LISTS: Final[dict[str, pa.DataType]] = {
    "as_path": pa.uint32(),
    "as_path_segments": pa.uint16(),
    "origin_asns": pa.uint32(),
    "communities": pa.uint32(),
}


def _fixed(cols: dict[str, Any], name: str, n: int) -> pa.Array:
    typ, valid = _FIXED[name]
    data = pa.py_buffer(cols[name])
    if not valid or cols[f"nulls.{valid}"] == 0:
        return pa.Array.from_buffers(typ, n, [None, data], null_count=0)
    bitmap = pa.py_buffer(cols[f"valid.{valid}"])
    return pa.Array.from_buffers(typ, n, [bitmap, data], null_count=cols[f"nulls.{valid}"])


def _list(cols: dict[str, Any], name: str, n: int) -> pa.Array:
    values_buf = pa.py_buffer(cols[f"{name}.values"])
    typ = _LISTS[name]
    count = values_buf.size // typ.byte_width
    values = pa.Array.from_buffers(typ, count, [None, values_buf])
    return pa.Array.from_buffers(
        pa.list_(typ), n, [None, pa.py_buffer(cols[f"{name}.offsets"])], children=[values]
    )


def _large_communities(cols: dict[str, Any], n: int) -> pa.Array:
    values_buf = pa.py_buffer(cols["large_communities.values"])
    count = values_buf.size // 4
    flat = pa.Array.from_buffers(pa.uint32(), count, [None, values_buf])
    triples = pa.FixedSizeListArray.from_arrays(flat, 3)
    return pa.Array.from_buffers(
        pa.list_(pa.list_(pa.uint32(), 3)),
        n,
        [None, pa.py_buffer(cols["large_communities.offsets"])],
        children=[triples],
    )


class _Zeros:
    """A growing, shared all-zero int32 buffer: the collector column's dictionary indices."""

    def __init__(self) -> None:
        self._buf = pa.py_buffer(np.zeros(1 << 16, np.int32))

    def get(self, n: int) -> pa.Buffer:
        if 4 * n > self._buf.size:
            self._buf = pa.py_buffer(np.zeros(max(n, 2 * self._buf.size // 4), np.int32))
        return self._buf.slice(0, 4 * n)


_ZEROS = _Zeros()


def columns_to_batch(cols: dict[str, Any], collector_dict: pa.Array) -> pa.RecordBatch:
    """Wrap the decoder's column buffers zero-copy into one batch with ELEMENT_SCHEMA."""
    kind = pa.py_buffer(cols["kind"])
    n = kind.size
    collector_idx = pa.Array.from_buffers(pa.int32(), n, [None, _ZEROS.get(n)], null_count=0)
    arrays: dict[str, pa.Array] = {
        "timestamp": pa.Array.from_buffers(
            pa.timestamp("us", tz="UTC"), n, [None, pa.py_buffer(cols["timestamp"])], null_count=0
        ),
        "collector": pa.DictionaryArray.from_arrays(collector_idx, collector_dict),
        "kind": pa.DictionaryArray.from_arrays(
            pa.Array.from_buffers(pa.int8(), n, [None, kind], null_count=0), _KIND_DICT
        ),
        "atomic_aggregate": pa.Array.from_buffers(
            pa.bool_(), n, [None, pa.py_buffer(cols["bits.atomic_aggregate"])], null_count=0
        ),
        "large_communities": _large_communities(cols, n),
    }
    for name in _FIXED:
        arrays[name] = _fixed(cols, name, n)
    for name in _LISTS:
        arrays[name] = _list(cols, name, n)
    return pa.RecordBatch.from_arrays([arrays[f.name] for f in ELEMENT_SCHEMA], schema=ELEMENT_SCHEMA)


@dataclass
class MrtDecoder:
    """Incremental MRT decoder: feed bytes, get element batches and problems back.

    ``source`` names the input in problems; ``collector`` fills the collector column.
    The TABLE_DUMP_V2 peer index table is kept between calls.
    """

    source: str = ""
    collector: str = ""
    batch_size: int = 65536
    _core: Any = field(init=False, repr=False)
    _collector_dict: pa.Array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._core = _mrtcore.Decoder()
        self._collector_dict = pa.array([self.collector], pa.string())

    @property
    def offset(self) -> int:
        """Absolute offset (in the decompressed stream) of the next byte to decode."""
        return int(self._core.offset)

    @property
    def record_index(self) -> int:
        """Index of the next MRT record."""
        return int(self._core.record_index)

    def feed_one(
        self, buf: bytes | bytearray | memoryview, final: bool
    ) -> tuple[pa.RecordBatch | None, int, list[Problem]]:
        """Decode complete records from the start of ``buf`` until one batch is full.

        Returns (batch or None, bytes consumed, problems). Call again with ``buf[consumed:]``.
        """
        consumed, cols, raw = self._core.decode(buf, final, self.batch_size)
        batch = columns_to_batch(cols, self._collector_dict) if cols is not None else None
        problems = [Problem(self.source, off, rec, typ, sub, cause) for off, rec, typ, sub, cause in raw]
        return batch, int(consumed), problems

    @property
    def warned_addpath(self) -> bool:
        """Whether the one-per-input note about add-path NLRI under plain subtypes was given."""
        return bool(self._core.warned_addpath)

    def split_point(self, buf: bytes | bytearray | memoryview, target: int) -> tuple[int, int, int] | None:
        """A record boundary at or after ``target`` up to which ``buf`` holds only complete,
        plausible BGP4MP records: (offset, records before it, time of the last one), or None.
        Decoding up to there changes nothing but position and time, so a second decoder that
        adopts this one (:meth:`adopt`) can decode the rest at the same time."""
        got = self._core.split_point(buf, target)
        return None if got is None else (int(got[0]), int(got[1]), int(got[2]))

    def adopt(
        self, other: MrtDecoder, offset_delta: int = 0, records_delta: int = 0, last_ts: int = -1
    ) -> None:
        """Continue from ``other``'s state (moved on by a :meth:`split_point`'s deltas)."""
        self._core.adopt(other._core, offset_delta, records_delta, last_ts)

    def feed(
        self, buf: bytes | bytearray | memoryview, final: bool = False
    ) -> tuple[list[pa.RecordBatch], int, list[Problem]]:
        """Decode every complete record in ``buf``; returns (batches, bytes consumed, problems)."""
        view = memoryview(buf)
        batches: list[pa.RecordBatch] = []
        problems: list[Problem] = []
        pos = 0
        while True:
            batch, used, probs = self.feed_one(view[pos:], final)
            pos += used
            problems.extend(probs)
            if batch is None:
                break
            batches.append(batch)
            if batch.num_rows < self.batch_size:
                break
        return batches, pos, problems


def decode_bytes(
    data: bytes | bytearray | memoryview, *, source: str = "", collector: str = "", batch_size: int = 65536
) -> tuple[pa.Table, list[Problem]]:
    """Decode a whole in-memory MRT byte string into a table and its problems."""
    dec = MrtDecoder(source=source, collector=collector, batch_size=batch_size)
    batches, _, problems = dec.feed(data, final=True)
    return pa.Table.from_batches(batches, schema=ELEMENT_SCHEMA), problems


__all__ = ["MrtDecoder", "columns_to_batch", "decode_bytes"]
