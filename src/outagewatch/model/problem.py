"""Parse problems are data: what went wrong, where, returned beside the good elements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pyarrow as pa

ProblemPolicy = Literal["ignore", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input.

    ``offset`` is the byte offset of the record's MRT header in the *decompressed* stream
    (for a truncated compressed stream: the offset at which decompressed data ended).
    ``record_index`` counts MRT records from 0; -1 when the problem is not tied to a record.
    """

    source: str
    offset: int
    record_index: int
    mrt_type: int
    mrt_subtype: int
    cause: str

    def __str__(self) -> str:
        return (
            f"{self.source}: byte {self.offset}, record {self.record_index} "
            f"(MRT type {self.mrt_type}/{self.mrt_subtype}): {self.cause}"
        )


PROBLEM_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("source", pa.string()),
        ("offset", pa.int64()),
        ("record_index", pa.int64()),
        ("mrt_type", pa.int32()),
        ("mrt_subtype", pa.int32()),
        ("cause", pa.string()),
    ]
)


def problems_table(problems: list[Problem]) -> pa.Table:
    """The problems as an Arrow table with :data:`PROBLEM_SCHEMA`."""
    cols = {name: [getattr(p, name) for p in problems] for name in PROBLEM_SCHEMA.names}
    return pa.table(cols, schema=PROBLEM_SCHEMA)


class MrtError(Exception):
    """The one documented error type of the MRT reader.

    Raised for unusable inputs (missing, unreadable, not MRT) and, with the ``fail`` policy,
    for the first problem found. ``problem`` carries the location when there is one.
    """

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem
