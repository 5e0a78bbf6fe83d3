"""AS number → (name, country), vectorised over sorted ASN ranges.

Built from AS-name tables (one ASN per row, with a name) and RIR delegated ASN lines (ranges of
ASNs with a country, no name). Later sources override earlier ones field by field: a delegated
file given after a names table updates the country but keeps the name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from outagewatch.enrich.delegated import AsnRows

OBJ = npt.NDArray[np.object_]


class AsInfo(NamedTuple):
    """Per queried ASN: ``name`` (None when unknown), ``handle`` (first word of the name, e.g.
    "STAR-KP"), ``country`` (None when unknown)."""

    name: OBJ
    handle: OBJ
    country: OBJ


class AsNames:
    """Sorted disjoint ASN ranges with name and country columns."""

    def __init__(
        self, first: npt.NDArray[np.uint64], last: npt.NDArray[np.uint64], name: OBJ, country: OBJ
    ) -> None:
        self.first, self.last, self.name, self.country = first, last, name, country
        self.handle = np.array([None if n is None else str(n).split(" ", 1)[0] for n in name], dtype=object)

    @classmethod
    def build(cls, sources: Sequence[AsnRows]) -> AsNames:
        """Oldest source first; later non-null fields win."""
        bounds = [np.zeros(1, np.uint64)]
        for s in sources:
            bounds += [s.first, s.last + np.uint64(1)]
        starts = np.unique(np.concatenate(bounds))
        n = len(starts)
        name = np.full(n, None, dtype=object)
        country = np.full(n, None, dtype=object)
        for s in sources:
            for col, values in ((name, s.name), (country, s.country)):
                _paint(starts, col, s.first, s.last, np.array(values, dtype=object))
        last = np.concatenate((starts[1:] - np.uint64(1), [np.uint64(2**64 - 1)]))
        known = np.flatnonzero((name != None) | (country != None))  # noqa: E711 - elementwise
        return cls(starts[known], last[known], name[known], country[known])

    def __len__(self) -> int:
        return int(np.sum(self.last - self.first + np.uint64(1))) if len(self.first) else 0

    def lookup(self, asns: npt.ArrayLike) -> AsInfo:
        """Name, handle and country for each ASN (None where unknown)."""
        a = np.asarray(asns, dtype=np.uint64).reshape(-1)
        name = np.full(len(a), None, dtype=object)
        handle = np.full(len(a), None, dtype=object)
        country = np.full(len(a), None, dtype=object)
        if len(self.first):
            i = np.searchsorted(self.first, a, side="right") - 1
            j = np.maximum(i, 0)
            ok = (i >= 0) & (a <= self.last[j])
            name[ok] = self.name[j[ok]]
            handle[ok] = self.handle[j[ok]]
            country[ok] = self.country[j[ok]]
        return AsInfo(name, handle, country)

    def get(self, asn: int) -> tuple[str | None, str | None]:
        """``(name, country)`` of one ASN."""
        info = self.lookup([asn])
        return info.name[0], info.country[0]


def _paint(
    starts: npt.NDArray[np.uint64],
    col: OBJ,
    first: npt.NDArray[np.uint64],
    last: npt.NDArray[np.uint64],
    values: OBJ,
) -> None:
    """Set ``col`` for the elementary segments inside each [first, last] where value is not None."""
    if len(first) == 0:
        return
    lo = np.searchsorted(starts, first)
    hi = np.searchsorted(starts, last + np.uint64(1))
    count = hi - lo
    rows = np.repeat(np.arange(len(first)), count)
    seg = lo[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count))
    vals = values[rows]
    keep = np.array([v is not None for v in vals], dtype=bool)
    col[seg[keep]] = vals[keep]
