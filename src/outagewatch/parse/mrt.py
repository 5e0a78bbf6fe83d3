"""MRT bytes → element record batches (pure: values in, values out).

The compiled decoder (``_mrtcore.Decoder``) walks MRT records and fills C column arrays;
it hands them over through the Arrow C data interface as one struct array, which this module
imports zero-copy as a batch of :data:`~outagewatch.model.element.ELEMENT_SCHEMA`, and turns
damaged-input reports into :class:`~outagewatch.model.problem.Problem` values.

Typical use (the file reader in ``outagewatch.sources.mrtfile`` does exactly this)::

    dec = MrtDecoder(source="rrc00.updates.gz", collector="rrc00")
    batches, consumed, problems = dec.feed(chunk, final=False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

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

if tuple(KINDS) != ("A", "W", "B", "S"):  # pragma: no cover - the decoder's kind dictionary
    raise ImportError("outagewatch.parse._mrtcore encodes kinds as A, W, B, S")


def capsule_to_batch(capsule: Any) -> pa.RecordBatch:
    """Import the decoder's Arrow C data interface capsule as a batch with ELEMENT_SCHEMA
    (zero-copy: the batch owns the decoder's column blocks)."""
    return pa.RecordBatch._import_from_c_capsule(ELEMENT_SCHEMA.__arrow_c_schema__(), capsule)


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

    def __post_init__(self) -> None:
        self._core = _mrtcore.Decoder(collector=self.collector)

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
        consumed, capsule, raw = self._core.decode(buf, final, self.batch_size)
        batch = capsule_to_batch(capsule) if capsule is not None else None
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


__all__ = ["MrtDecoder", "capsule_to_batch", "decode_bytes"]
