"""Detection over the store: read bins and signals, run the detectors per entity, upsert events.

The shell around :mod:`outagewatch.detect`: the detectors themselves are pure. Events are keyed
by their deterministic id, so running detection twice over the same signals rewrites the same
rows. Reading events and names back (for ``outagewatch report``) lives here too.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from outagewatch.detect import DEFAULT_PARAMS, Event, Params, latest, outage
from outagewatch.detect.point import (
    DETECTOR_METRICS,
    FULL_FEED_V4,
    FULL_FEED_V6,
    UPDATES,
    points_from_columns,
    reliable_bins,
)
from outagewatch.detect.replay import replay
from outagewatch.enrich.country_names import country_name
from outagewatch.store.changes import carried_stats_sql, dense_sql

HISTORY_SECONDS = 7 * 86400
"""Signals read before ``--from`` so that baselines are warm when the window starts."""
ENTITY_TYPES = ("country", "as", "prefix", "global")


@dataclass
class DetectSummary:
    """What one detection run did."""

    events: list[Event] = field(default_factory=list)
    entities: int = 0
    bins: int = 0
    seconds: float = 0.0


def _ts(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp())


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def bin_grid(
    con: duckdb.DuckDBPyConnection, bin_seconds: int, lo: int | None, hi: int | None
) -> list[tuple[int, bool]]:
    """Every bin from the first to the last stored one (within ``lo``..``hi``), with its
    completeness; bins missing from the ``bins`` table are gaps (incomplete)."""
    rows = con.execute(
        "SELECT epoch(bin_start)::BIGINT, complete FROM bins WHERE bin_seconds = ? ORDER BY bin_start",
        [bin_seconds],
    ).fetchall()
    have = {int(t): bool(c) for t, c in rows if (lo is None or t >= lo) and (hi is None or t < hi)}
    if not have:
        return []
    first, last = min(have), max(have)
    return [(t, have.get(t, False)) for t in range(first, last + bin_seconds, bin_seconds)]


def _signal_rows(
    con: duckdb.DuckDBPyConnection, bin_seconds: int, lo: int, hi: int, busy: pa.Table
) -> pa.Table:
    """The dense rows the detectors read of the busy entities, ordered by entity and time: the
    ``signals`` view's query over those entities' change rows only (DuckDB cannot push the
    join with ``busy`` below the view's window; keys are carried one by one, so the rows are
    the view's)."""
    metrics = ", ".join(f"'{m}'" for m in (*DETECTOR_METRICS, FULL_FEED_V4, FULL_FEED_V6))
    source = f"""(
        SELECT c.* FROM signal_changes c
        SEMI JOIN _ow_busy b ON c.entity_type = b.entity_type AND c.entity = b.entity
        WHERE c.bin_seconds = {int(bin_seconds)}
          AND (c.metric IN ({metrics}) OR (c.metric LIKE 'upstream.%' AND c.metric LIKE '%.share'))
    )"""
    con.register("_ow_busy", busy)
    try:
        sql = f"""
            SELECT s.entity_type, s.entity, epoch(s.bin_start)::BIGINT AS t, s.metric, s.value
            FROM ({dense_sql(source)}) s
            WHERE s.bin_start >= ? AND s.bin_start <= ?
            ORDER BY s.entity_type, s.entity, t
        """
        return con.sql(sql, params=[_dt(lo), _dt(hi)]).to_arrow_table()
    finally:
        con.unregister("_ow_busy")


def busy_entities(
    con: duckdb.DuckDBPyConnection,
    grid: Sequence[tuple[int, bool]],
    bin_seconds: int,
    types: Sequence[str],
    params: Params,
) -> pa.Table:
    """Entities a detector might fire on, screened in SQL (a conservative superset of what
    :func:`outagewatch.detect.replay.replay` runs): a visibility measure dipping by the minimum
    drop or missing in some bin, an hour with ``min_updates`` updates, or an upstream share that
    moves or is missing in a bin with routes (or a type with single-upstream detection).
    ``global/all`` is always kept.

    Reads ``signal_changes``, not the ``signals`` view: churn rows are stored as they are, and
    the count, least and greatest of each state key's dense rows in the window come from the
    grid ordinals its change rows cover (:func:`outagewatch.store.changes.carried_stats_sql`),
    without spreading them over every bin."""
    kinds = ", ".join(f"'{t}'" for t in {*types, "global"})
    single = ", ".join(f"'{t}'" for t in params.upstream.single_entity_types) or "''"
    o, i, u = params.outage, params.instability, params.upstream
    limit = min(u.min_margin / 2, u.share_drop)
    gapless = all(ok for _, ok in grid)
    hours = "1 hour" if gapless else "100 years"
    measures = ", ".join(f"'{m}'" for m in outage.MEASURES)
    shares = "(metric LIKE 'upstream.%' AND metric LIKE '%.share')"
    source = f"""(
        SELECT * FROM signal_changes WHERE bin_seconds = {int(bin_seconds)} AND entity_type IN ({kinds})
          AND (metric IN ({measures}, 'upstream.count') OR {shares})
    )"""
    sql = f"""
        WITH stats AS ({carried_stats_sql(source)}),
        vis AS (
            SELECT entity_type, entity FROM stats
            WHERE metric IN ({measures}) AND greatest >= {o.min_baseline} AND (n < {len(grid)}
                OR least <= greatest - greatest({o.min_drop_share} * greatest, {o.min_drop_abs}))
        ),
        churn AS (
            SELECT entity_type, entity FROM (
                SELECT entity_type, entity, sum(value) OVER (
                    PARTITION BY entity_type, entity ORDER BY bin_start
                    RANGE BETWEEN INTERVAL '{hours}' PRECEDING AND CURRENT ROW) AS s
                FROM signal_changes
                WHERE bin_seconds = {int(bin_seconds)} AND bin_start >= $lo AND bin_start <= $hi
                  AND entity_type IN ({kinds}) AND metric = '{UPDATES}'
            ) GROUP BY entity_type, entity HAVING max(s) >= {i.min_updates}
        ),
        ups AS (
            SELECT u.entity_type, u.entity FROM (
                SELECT entity_type, entity, greatest - least AS spread, n FROM stats WHERE {shares}
            ) u JOIN (
                SELECT entity_type, entity, n FROM stats WHERE metric = 'upstream.count'
            ) c ON u.entity_type = c.entity_type AND u.entity = c.entity
            GROUP BY u.entity_type, u.entity
            HAVING max(u.spread) >= {limit} OR min(u.n) < max(c.n) OR u.entity_type IN ({single})
        )
        SELECT * FROM vis UNION SELECT * FROM churn UNION SELECT * FROM ups
        UNION SELECT 'global', 'all'
    """
    lo, hi = grid[0][0], grid[-1][0]
    return con.sql(sql, params={"lo": _dt(lo), "hi": _dt(hi)}).to_arrow_table()


@dataclass(frozen=True, slots=True)
class _Series:
    """Signal rows of one entity, as columns (metric codes into the table's metric names)."""

    t: npt.NDArray[np.int64]
    metric: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    names: list[str]

    def rows(self) -> list[tuple[int, str, float]]:
        names = self.names
        metrics = [names[c] for c in self.metric.tolist()]
        return list(zip(self.t.tolist(), metrics, self.value.tolist(), strict=True))


def _by_entity(table: pa.Table) -> dict[tuple[str, str], _Series]:
    """``(entity_type, entity) → its rows`` from rows ordered by entity (as :func:`_signal_rows`
    returns them): cut at the entity boundaries, one column slice per entity."""
    if table.num_rows == 0:
        return {}
    et, et_codes = _codes(table, "entity_type")
    en, en_codes = _codes(table, "entity")
    change = (et_codes[1:] != et_codes[:-1]) | (en_codes[1:] != en_codes[:-1])
    cuts = [0, *(np.flatnonzero(change) + 1).tolist(), table.num_rows]
    metric_names, metric_codes = _codes(table, "metric")
    names = [str(m) for m in metric_names.to_pylist()]
    t = table.column("t").to_numpy().astype(np.int64)
    v = table.column("value").to_numpy().astype(np.float64)
    out: dict[tuple[str, str], _Series] = {}
    for a, b in itertools.pairwise(cuts):
        key = (str(et[int(et_codes[a])].as_py()), str(en[int(en_codes[a])].as_py()))
        out[key] = _Series(t[a:b], metric_codes[a:b], v[a:b], names)
    return out


def _codes(table: pa.Table, column: str) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """A column's distinct values and each row's code into them."""
    encoded = table.column(column).combine_chunks().dictionary_encode()
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def detect_store(
    con: duckdb.DuckDBPyConnection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    bin_seconds: int = 300,
    params: Params = DEFAULT_PARAMS,
    entity_types: Sequence[str] = ENTITY_TYPES,
    write: bool = True,
) -> DetectSummary:
    """Run every detector over the stored signals; upsert (and return) the events that overlap
    ``start``..``end`` (UTC; both optional)."""
    t0 = time.perf_counter()
    lo, hi = _ts(start), _ts(end)
    grid = bin_grid(con, bin_seconds, None if lo is None else lo - HISTORY_SECONDS, hi)
    summary = DetectSummary(bins=len(grid))
    if not grid:
        return summary
    busy = busy_entities(con, grid, bin_seconds, entity_types, params)
    series = _by_entity(_signal_rows(con, bin_seconds, grid[0][0], grid[-1][0], busy))
    glob = series.get(("global", "all"))
    if "global" not in entity_types:
        series.pop(("global", "all"), None)
    global_ok = reliable_bins(glob.rows() if glob is not None else [])
    events: list[Event] = []
    for (et, e), cols in sorted(series.items()):
        points = points_from_columns(
            grid, bin_seconds, cols.t, cols.metric, cols.names, cols.value, global_ok
        )
        events.extend(replay(points, et, e, params))
    summary.entities = len(series)
    summary.events = [
        ev
        for ev in latest(events)
        if (hi is None or ev.start < hi) and (lo is None or ev.end is None or ev.end >= lo)
    ]
    summary.events = [_with_peers(con, ev, bin_seconds) for ev in summary.events]
    if write:
        upsert_events(con, summary.events)
    summary.seconds = time.perf_counter() - t0
    return summary


def _with_peers(con: duckdb.DuckDBPyConnection, ev: Event, bin_seconds: int) -> Event:
    """Outages: add the full-feed peers of the bin before the start (the peers that saw it go)."""
    if ev.kind != "outage":
        return ev
    rows = con.execute(
        "SELECT collector, peer_ip, peer_asn FROM peers WHERE bin_seconds = ? AND full_feed"
        " AND bin_start = (SELECT max(bin_start) FROM peers WHERE bin_seconds = ? AND bin_start < ?)"
        " ORDER BY collector, peer_ip",
        [bin_seconds, bin_seconds, _dt(ev.start)],
    ).fetchall()
    if not rows:
        return ev
    peers = {
        "count": len(rows),
        "list": [{"collector": c, "peer_ip": ip, "peer_asn": int(a)} for c, ip, a in rows],
    }
    return Event(**{**ev.__dict__, "evidence": {**ev.evidence, "peers": peers}})


EVENT_COLUMNS = (
    "event_id",
    "kind",
    "entity_type",
    "entity",
    "start",
    "end",
    "status",
    "scope",
    "severity",
    "score",
    "summary",
    "evidence",
    "updated_at",
)


def upsert_events(con: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> int:
    """Insert or replace events by id; returns the number written."""
    if not events:
        return 0
    rows = []
    for ev in events:
        row = ev.row()
        row["evidence"] = json.dumps(row["evidence"], sort_keys=True)
        rows.append([row[c] for c in EVENT_COLUMNS])
    names = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    marks = ", ".join("?" for _ in EVENT_COLUMNS)
    con.executemany(f"INSERT OR REPLACE INTO events ({names}) VALUES ({marks})", rows)
    return len(rows)


def load_events(
    con: duckdb.DuckDBPyConnection, entity_type: str | None = None, entity: str | None = None
) -> list[Event]:
    """Stored events (of one entity when given), as :class:`Event` values."""
    where, args = "", []
    if entity_type is not None and entity is not None:
        where, args = "WHERE entity_type = ? AND entity = ?", [entity_type, entity]
    sql = (
        'SELECT kind, entity_type, entity, epoch(start)::BIGINT, epoch("end")::BIGINT, severity, score,'
        f" summary, epoch(updated_at)::BIGINT, status, scope, evidence FROM events {where} ORDER BY start"
    )
    out = []
    for kind, et, e, s, en, sev, score, summ, upd, status, scope, evd in con.execute(sql, args).fetchall():
        evidence: dict[str, Any] = json.loads(evd) if evd else {}
        transition = "closed" if status == "closed" else "updated"
        end = None if en is None else int(en)
        out.append(
            Event(
                kind, et, e, int(s), end, sev, float(score or 0), summ, int(upd), transition, scope, evidence
            )
        )
    return out


def load_names(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """``(entity_type, entity) → name`` from the ``entities`` table, with country names filled in
    from the standard list when the table has none."""
    names = {
        (str(t), str(e)): str(n)
        for t, e, n in con.execute("SELECT entity_type, entity, name FROM entities").fetchall()
        if n
    }
    for (t, e), n in country_names(con).items():
        names.setdefault((t, e), n)
    return names


def country_names(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """Short English names (ISO 3166) of the countries in ``entities``."""
    rows = con.execute("SELECT DISTINCT entity FROM entities WHERE entity_type = 'country'").fetchall()
    names = {("country", str(r[0])): country_name(str(r[0])) for r in rows}
    return {k: v for k, v in names.items() if v != k[1]}


def data_end(con: duckdb.DuckDBPyConnection, bin_seconds: int = 300) -> int | None:
    """The end of the last stored bin (epoch seconds), or None for an empty store."""
    row = con.execute(
        "SELECT epoch(max(bin_start))::BIGINT FROM bins WHERE bin_seconds = ?", [bin_seconds]
    ).fetchone()
    return None if not row or row[0] is None else int(row[0]) + bin_seconds


__all__ = [
    "DetectSummary",
    "bin_grid",
    "data_end",
    "detect_store",
    "load_events",
    "load_names",
    "upsert_events",
]
