"""Test helpers: a :class:`ClosedBin`'s rows as plain dicts, and change-coded bins densified.

Written plainly (one Python tuple per row) so that the tests compare the engine's rows with an
independent reading of the change-coding rules of docs/signals.md.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from outagewatch.signals.engine import ClosedBin

Key = tuple[str, str, str]


def rows(table: pa.Table) -> list[tuple[str, str, str, float]]:
    """(entity_type, entity, metric, value) of every row of a signal table."""
    out: list[tuple[str, str, str, float]] = []
    for b in table.to_batches():
        cols = []
        for name in ("entity_type", "entity", "metric"):
            col = b.column(name)
            cols.append(
                col.dictionary.take(col.indices).to_pylist()
                if pa.types.is_dictionary(col.type)
                else col.to_pylist()
            )
        out.extend(zip(*cols, b.column("value").to_pylist(), strict=True))
    return out


def keeps_zero(entity_type: str, metric: str) -> bool:
    """State values the dense form holds even at 0 (else 0 is an absent row)."""
    return (".visible_" in metric and entity_type in ("country", "prefix", "global")) or metric.endswith(
        "full_feed_peers"
    )


def densify(bins: Iterable[ClosedBin]) -> list[tuple[int, dict[Key, float]]]:
    """Each bin's dense rows: its churn rows plus every state value carried to it."""
    carried: dict[Key, float] = {}
    out = []
    for cb in bins:
        if cb.keyframe:
            carried.clear()
        dense: dict[Key, float] = {}
        for et, e, m, v in rows(cb.signals):
            if m.startswith("all."):
                dense[(et, e, m)] = v
            elif v == 0 and not keeps_zero(et, m):
                carried.pop((et, e, m), None)
            else:
                carried[(et, e, m)] = v
        dense.update(carried)
        out.append((cb.bin_start_us, dense))
    return out


def table_dict(table: pa.Table) -> dict[Key, float]:
    """A dense table's rows as a dict (each key once)."""
    out: dict[Key, float] = {}
    for et, e, m, v in rows(table):
        assert (et, e, m) not in out, f"row {(et, e, m)} twice"
        out[(et, e, m)] = v
    return out
