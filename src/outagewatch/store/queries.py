"""Reading signals back from the store."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

ENTITY_TYPES = ("country", "as", "prefix", "global")


class EntityError(ValueError):
    """An entity argument that is not ``type:value``."""


def parse_entity(text: str) -> tuple[str, str]:
    """``country:KP`` → ("country", "KP"); ``as:AS131279`` → ("as", "131279")."""
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ENTITY_TYPES or not value.strip():
        raise EntityError(f"entity {text!r}: expected one of {', '.join(t + ':…' for t in ENTITY_TYPES)}")
    value = value.strip()
    if kind == "country":
        value = value.upper()
    elif kind == "as":
        value = value.upper().removeprefix("AS")
        if not value.isdigit():
            raise EntityError(f"entity {text!r}: AS number expected")
    elif kind == "prefix":
        import ipaddress

        try:
            value = str(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise EntityError(f"entity {text!r}: {exc}") from exc
    return kind, value


def read_signals(
    con: duckdb.DuckDBPyConnection,
    entity_type: str,
    entity: str,
    *,
    metrics: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    bin_seconds: int | None = None,
) -> pa.Table:
    """Signal rows of one entity, ordered by bin then metric. ``end`` is exclusive."""
    where = ["entity_type = ?", "entity = ?"]
    params: list[object] = [entity_type, entity]
    if metrics:
        where.append(f"metric IN ({', '.join('?' for _ in metrics)})")
        params.extend(metrics)
    if start is not None:
        where.append("bin_start >= ?")
        params.append(start)
    if end is not None:
        where.append("bin_start < ?")
        params.append(end)
    if bin_seconds is not None:
        where.append("bin_seconds = ?")
        params.append(bin_seconds)
    sql = (
        "SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM signals WHERE "
        + " AND ".join(where)
        + " ORDER BY bin_start, metric"
    )
    with warnings.catch_warnings():  # DuckDB ≥ 2 notes the extra copy of a DB-API result
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(sql, params).to_arrow_table()
