"""Read-only SQL over the store's tables, returning plain rows (dicts) for the API.

Series read the dense ``signals`` view; which entities and metrics exist, and the latest bin,
come from ``signal_changes`` and ``bins`` directly (the same answers, without carrying every
value over every bin: :data:`outagewatch.store.changes.SHOWN`)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pytz

from outagewatch.serve.params import aggregate_for, aggregate_sql
from outagewatch.store.changes import SHOWN

HEADLINE_PREFERENCE = ("ff_50pct", "ff_any", "asn_50pct", "ff_25pct", "ff_75pct", "asn_25pct", "ff_100pct")

Row = dict[str, Any]


def with_country_name(row: Row) -> Row:
    """Fill a country's missing name from the ISO 3166 names shipped with pytz."""
    if row.get("entity_type") == "country" and not row.get("name"):
        row["name"] = pytz.country_names.get(str(row["entity"]).lower())
    return row


def fetch_rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Row]:
    cur.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def latest_bin(cur: duckdb.DuckDBPyConnection) -> datetime | None:
    row = cur.execute(
        "SELECT greatest((SELECT max(bin_start) FROM bins), (SELECT max(bin_start) FROM signal_changes))"
    ).fetchone()
    return None if row is None else row[0]


def data_span(cur: duckdb.DuckDBPyConnection, entity_type: str, entity: str) -> tuple[Any, Any, int | None]:
    """First bin start, last bin end and the finest stored bin of one entity (Nones when none)."""
    row = cur.execute(
        "SELECT min(bin_start), max(bin_start + to_seconds(bin_seconds)), min(bin_seconds) "
        "FROM signals WHERE entity_type = ? AND entity = ?",
        [entity_type, entity],
    ).fetchone()
    return (None, None, None) if row is None else (row[0], row[1], row[2])


def entity_row(cur: duckdb.DuckDBPyConnection, entity_type: str, entity: str) -> Row | None:
    """Name and country of a known entity (one that has signals, a name or prefixes)."""
    rows = fetch_rows(
        cur,
        f"""
        WITH known AS (
            SELECT entity_type, entity FROM entities WHERE entity_type = ? AND entity = ?
            UNION SELECT entity_type, entity FROM entity_prefixes WHERE entity_type = ? AND entity = ?
            UNION SELECT entity_type, entity FROM
                (SELECT entity_type, entity FROM signal_changes
                 WHERE entity_type = ? AND entity = ? AND {SHOWN} LIMIT 1)
        )
        SELECT k.entity_type, k.entity, e.name, e.country FROM known k
        LEFT JOIN entities e USING (entity_type, entity) LIMIT 1
        """,
        [entity_type, entity] * 3,
    )
    return with_country_name(rows[0]) if rows else None


def list_entities(cur: duckdb.DuckDBPyConnection, entity_type: str | None) -> list[Row]:
    """Every entity with signals or a name, optionally of one type, ordered by type and id."""
    where = "WHERE entity_type = ?" if entity_type else "WHERE entity_type <> 'global'"
    params = [entity_type] * 2 if entity_type else []
    rows = fetch_rows(
        cur,
        f"""
        WITH known AS (
            SELECT DISTINCT entity_type, entity FROM signal_changes {where} AND {SHOWN}
            UNION SELECT entity_type, entity FROM entities {where}
        )
        SELECT k.entity_type, k.entity, e.name, e.country FROM known k
        LEFT JOIN entities e USING (entity_type, entity)
        ORDER BY k.entity_type, length(k.entity), k.entity
        """,
        params,
    )
    return [with_country_name(r) for r in rows]


RELATED_LIMIT = 200
"""At most this many linked ASes / prefixes per entity answer; ``related.totals`` has the counts."""


def related(cur: duckdb.DuckDBPyConnection, entity_type: str, entity: str, country: str | None) -> Row:
    """Links between a country, its ASes and their prefixes (each list capped, with totals)."""
    out: Row = {"countries": [], "ases": [], "prefixes": []}
    if entity_type == "country":
        out["ases"] = fetch_rows(
            cur,
            """
            WITH ases AS (
                SELECT entity FROM entities WHERE entity_type = 'as' AND country = ?
                UNION SELECT a.entity FROM entity_prefixes a JOIN entity_prefixes c
                    ON a.prefix = c.prefix AND c.entity_type = 'country' AND c.entity = ?
                    WHERE a.entity_type = 'as'
            )
            SELECT s.entity, e.name, count(*) OVER () AS total FROM ases s
            LEFT JOIN entities e ON e.entity_type = 'as' AND e.entity = s.entity
            ORDER BY length(s.entity), s.entity LIMIT ?
            """,
            [entity, entity, RELATED_LIMIT],
        )
    if entity_type in ("country", "as"):
        out["prefixes"] = fetch_rows(
            cur,
            "SELECT prefix, slash24, count(*) OVER () AS total FROM entity_prefixes "
            "WHERE entity_type = ? AND entity = ? ORDER BY prefix LIMIT ?",
            [entity_type, entity, RELATED_LIMIT],
        )
    if entity_type == "prefix":
        holders = fetch_rows(
            cur, "SELECT entity_type, entity FROM entity_prefixes WHERE prefix = ? ORDER BY 1, 2", [entity]
        )
        out["ases"] = [{"entity": h["entity"]} for h in holders if h["entity_type"] == "as"]
        out["countries"] = [{"entity": h["entity"]} for h in holders if h["entity_type"] == "country"]
    elif entity_type == "as":
        out["countries"] = fetch_rows(
            cur,
            """
            SELECT DISTINCT c.entity FROM entity_prefixes c JOIN entity_prefixes a
                ON a.prefix = c.prefix AND a.entity_type = 'as' AND a.entity = ?
            WHERE c.entity_type = 'country'
            UNION SELECT ? WHERE ? IS NOT NULL
            ORDER BY 1
            """,
            [entity, country, country],
        )
    out["totals"] = {key: _total(out[key]) for key in ("countries", "ases", "prefixes")}
    return out


def _total(rows: list[Row]) -> int:
    total = int(rows[0].pop("total", len(rows))) if rows else 0
    for row in rows[1:]:
        row.pop("total", None)
    return total


def names(cur: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(entity_type, entity) → name, for every named entity."""
    cur.execute("SELECT entity_type, entity, name FROM entities WHERE name IS NOT NULL")
    out = {("country", code.upper()): name for code, name in pytz.country_names.items()}
    out.update({(t, e): n for t, e, n in cur.fetchall()})
    return out


def dropped_prefixes(
    cur: duckdb.DuckDBPyConnection,
    entity_type: str,
    entity: str,
    start: datetime,
    end: datetime,
    limit: int = 500,
) -> list[str]:
    """Prefixes of an entity whose visibility during ``[start, end)`` fell below the hour before."""
    if entity_type == "prefix":
        return [entity]
    rows = fetch_rows(
        cur,
        """
        SELECT s.entity AS prefix FROM signals s
        JOIN entity_prefixes p ON p.prefix = s.entity AND p.entity_type = ? AND p.entity = ?
        WHERE s.entity_type = 'prefix' AND s.metric LIKE 'ipv_.visible_prefixes.%'
          AND s.bin_start >= ? - INTERVAL 1 HOUR AND s.bin_start < ?
        GROUP BY s.entity, s.metric
        HAVING min(value) FILTER (WHERE bin_start >= ?) < max(value) FILTER (WHERE bin_start < ?)
        ORDER BY 1 LIMIT ?
        """,
        [entity_type, entity, start, end, start, start, limit * 4],
    )
    return sorted({r["prefix"] for r in rows})[:limit]


def metrics_of(cur: duckdb.DuckDBPyConnection, entity_type: str, entity: str) -> list[str]:
    return [
        r["metric"]
        for r in fetch_rows(
            cur,
            f"SELECT DISTINCT metric FROM signal_changes WHERE entity_type = ? AND entity = ? AND {SHOWN}"
            " ORDER BY metric",
            [entity_type, entity],
        )
    ]


def headline_metric(cur: duckdb.DuckDBPyConnection, entity_type: str) -> str | None:
    """The visible-/24 metric shown in sparklines: the first threshold present, by preference."""
    present = {
        r["metric"]
        for r in fetch_rows(
            cur,
            "SELECT DISTINCT metric FROM signal_changes "
            f"WHERE entity_type = ? AND starts_with(metric, 'ipv4.visible_slash24.') AND {SHOWN}",
            [entity_type],
        )
    }
    for threshold in HEADLINE_PREFERENCE:
        if f"ipv4.visible_slash24.{threshold}" in present:
            return f"ipv4.visible_slash24.{threshold}"
    return min(present) if present else None


def _metric_filter(patterns: list[str]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for pattern in patterns:
        if pattern.endswith("*"):
            clauses.append("starts_with(metric, ?)")
            params.append(pattern[:-1])
        else:
            clauses.append("metric = ?")
            params.append(pattern)
    return "(" + " OR ".join(clauses) + ")", params


ISO_SQL = "strftime(to_timestamp(floor(epoch(bin_start) / ?) * ?), '%Y-%m-%dT%H:%M:%SZ')"
"""The bucket start of a row as ISO 8601 text (session time zone is UTC); params: bin, bin."""


Grouped = list[tuple[str, list[str], list[float]]]


def _grouped(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Grouped:
    """The query's rows ``(key, t, v)``, ordered by key, as one (key, times, values) per key, columnar."""
    cols = list(cur.execute(sql, params).fetchnumpy().values())
    keys, times, values = cols[0], cols[1].tolist(), np.asarray(cols[2], dtype=np.float64).tolist()
    if not len(keys):
        return []
    cuts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(keys)]
    return [(str(keys[a]), times[a:b], values[a:b]) for a, b in itertools.pairwise(cuts)]


def signal_series(
    cur: duckdb.DuckDBPyConnection,
    key: tuple[str, str, int],
    patterns: list[str],
    window: tuple[datetime, datetime],
    out_bin: int,
    agg: str,
) -> list[Row]:
    """Series ``{metric, aggregate, t, v}`` of one entity, bucketed to ``out_bin`` seconds."""
    entity_type, entity, stored = key
    mfilter, mparams = _metric_filter(patterns)
    sql = f"""
        SELECT metric, {ISO_SQL} AS t, {aggregate_sql(agg)} AS v
        FROM signals
        WHERE entity_type = ? AND entity = ? AND bin_seconds = ? AND bin_start >= ? AND bin_start < ?
          AND {mfilter}
        GROUP BY metric, t ORDER BY metric, t
        """
    params = [out_bin, out_bin, entity_type, entity, stored, *window, *mparams]
    return [
        {"metric": metric, "aggregate": aggregate_for(metric, agg), "t": t, "v": v}
        for metric, t, v in _grouped(cur, sql, params)
    ]


def sparklines(
    cur: duckdb.DuckDBPyConnection,
    entity_type: str,
    metric: str,
    window: tuple[datetime, datetime],
    out_bin: int,
) -> dict[str, Row]:
    """One bucketed (minimum) series of ``metric`` per entity of a type: entity → {t, v, last}."""
    sql = f"""
        SELECT entity, {ISO_SQL} AS t, min(value) AS v
        FROM signals WHERE entity_type = ? AND metric = ? AND bin_start >= ? AND bin_start < ?
        GROUP BY entity, t ORDER BY entity, t
        """
    grouped = _grouped(cur, sql, [out_bin, out_bin, entity_type, metric, *window])
    return {entity: spark_entry(t, v) for entity, t, v in grouped}


def spark_entry(t: list[str], v: list[float]) -> Row:
    """A sparkline with its last value, its peak and the share of the peak still visible."""
    last = v[-1] if v else None
    peak = max(v) if v else None
    share = None if last is None or not peak else round(last / peak, 4)
    return {"t": t, "v": v, "last": last, "peak": peak, "share_of_peak": share}
