"""Writes of change-coded signals (``signal_changes``), keeping the dense view right.

The store keeps churn rows as they are and state rows only where a value changes
(:mod:`outagewatch.signals.changes`); the ``signals`` view carries each state row over the
``bins`` grid until the next row of its key. Writing a bin therefore affects later bins, and
three rules keep every reader's dense rows what a dense store would hold:

1. every written bin replaces whatever ``signal_changes`` held for it (idempotent re-ingest);
2. at a keyframe bin K, every carried key whose stored value just before K is non-zero and
   that K's rows do not mention gets a 0 row at K (a keyframe states every value);
3. a stored bin N of the ``bins`` grid that directly follows written bins keeps its values:
   each carried key's value as of N is taken before anything changes, and N gets a row for
   every key whose value as of N would otherwise differ (missing reads as 0; a stored 0 that
   would go missing is written again, so a zero the dense form keeps stays).

Appending at the end (the next window, the live watcher) touches no history beyond one look
at the ``bins`` table, except at a keyframe (rule 2 reads each key's last value).
:func:`delete_range` removes a time range with the same care for the bin after it, and
:func:`upsert_dense` writes dense rows key by key (tests). :func:`dense_sql` is the view's
query over any source of change rows, :func:`carried_stats_sql` counts a window's dense rows
per key without spreading them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.signals.changes import CHURN_PREFIX, ZERO_KEEPING_METRICS, ZERO_KEEPING_TYPES
from outagewatch.store.writes import registered, undo, unordered

COLUMNS = ("bin_start", "bin_seconds", "entity_type", "entity", "metric", "value")
_ZERO_METRICS = ", ".join(repr(m) for m in ZERO_KEEPING_METRICS)
_ZERO_TYPES = ", ".join(repr(t) for t in ZERO_KEEPING_TYPES)
SHOWN = (
    f"(starts_with(metric, '{CHURN_PREFIX}') OR value <> 0 OR metric IN ({_ZERO_METRICS})"
    f" OR (contains(metric, '.visible_') AND entity_type IN ({_ZERO_TYPES})))"
)
"""SQL: a ``signal_changes`` row the ``signals`` view shows (at its own bin at least). An entity
or metric has dense rows exactly when it has such a change row, so lists of entities and
metrics read ``signal_changes WHERE SHOWN`` instead of expanding the view."""
_KEY = ("entity_type", "entity", "metric")
_CARRIED = f"NOT starts_with(metric, '{CHURN_PREFIX}')"
_TS = pa.timestamp("us", tz="UTC")


def _spans(source: str) -> str:
    """CTEs over the carried rows of ``source``: ``held`` (the rows the dense form shows, with
    the next row of their key, ``until``), ``grid`` (the bins, numbered ``i`` per width) and
    ``span`` (each held row with the grid ordinals it covers: ``lo`` < i <= ``hi``)."""
    return f"""
    changes AS (
        SELECT *, lead(bin_start) OVER (
            PARTITION BY bin_seconds, entity_type, entity, metric ORDER BY bin_start) AS until
        FROM {source} WHERE NOT starts_with(metric, '{CHURN_PREFIX}')
    ),
    held AS (
        SELECT * FROM changes
        WHERE value <> 0 OR metric IN ({_ZERO_METRICS})
           OR (contains(metric, '.visible_') AND entity_type IN ({_ZERO_TYPES}))
    ),
    grid AS (
        SELECT bin_seconds, bin_start, row_number() OVER (PARTITION BY bin_seconds ORDER BY bin_start) AS i
        FROM bins
    ),
    first_bin AS (
        SELECT h.*, g.i - 1 AS lo FROM held h
        JOIN grid g ON h.bin_seconds = g.bin_seconds AND h.bin_start = g.bin_start
        UNION ALL
        SELECT h.*, coalesce(g.i, 0) AS lo
        FROM (SELECT * FROM held h ANTI JOIN grid g
              ON h.bin_seconds = g.bin_seconds AND h.bin_start = g.bin_start) h
        ASOF LEFT JOIN grid g ON h.bin_seconds = g.bin_seconds AND h.bin_start > g.bin_start
    ),
    span AS (
        SELECT f.*, g.i - 1 AS hi FROM first_bin f
        JOIN grid g ON f.bin_seconds = g.bin_seconds AND f.until = g.bin_start
        UNION ALL
        SELECT f.*, coalesce(g.i, 0) AS hi
        FROM (SELECT * FROM first_bin f ANTI JOIN grid g
              ON f.bin_seconds = g.bin_seconds AND f.until = g.bin_start) f
        ASOF LEFT JOIN grid g ON f.bin_seconds = g.bin_seconds
            AND coalesce(f.until, 'infinity'::TIMESTAMPTZ) > g.bin_start
    )"""


def dense_sql(source: str) -> str:
    """The ``signals`` view's query over the change rows of ``source`` (a table name or a
    parenthesised query with the columns of ``signal_changes``) instead of the whole table.

    Keys are carried independently of each other, so a source that keeps or drops whole keys
    (some entities, some metrics: never a time range) gives exactly the view's rows of those
    keys; filter the result by time. Readers that need a few entities out of a join use it,
    as DuckDB cannot push a join below the view's window (schema v3 holds the same query)."""
    return f"""
    WITH {_spans(source)},
    spread AS (
        SELECT bin_seconds, entity_type, entity, metric, value, unnest(range(lo + 1, hi + 1)) AS i FROM span
    )
    SELECT g.bin_start, s.bin_seconds, s.entity_type, s.entity, s.metric, s.value
    FROM spread s JOIN grid g USING (bin_seconds, i)
    UNION ALL
    SELECT h.bin_start, h.bin_seconds, h.entity_type, h.entity, h.metric, h.value
    FROM held h ANTI JOIN bins b ON b.bin_seconds = h.bin_seconds AND b.bin_start = h.bin_start
    UNION ALL
    SELECT bin_start, bin_seconds, entity_type, entity, metric, value
    FROM {source} WHERE starts_with(metric, '{CHURN_PREFIX}')
    """


def carried_stats_sql(source: str) -> str:
    """Per carried key of ``source``: how many dense rows the view has for it from ``$lo`` to
    ``$hi`` (inclusive, TIMESTAMPTZ named parameters), and their least and greatest value,
    without spreading the rows over the grid (columns ``bin_seconds, entity_type, entity,
    metric, n, least, greatest``; keys without rows there are left out)."""
    return f"""
    WITH {_spans(source)},
    window_bins AS (
        SELECT bin_seconds, min(i) AS first_i, max(i) AS last_i FROM grid
        WHERE bin_start >= $lo AND bin_start <= $hi GROUP BY bin_seconds
    ),
    covered AS (
        SELECT s.bin_seconds, s.entity_type, s.entity, s.metric, s.value,
            greatest(0, least(s.hi, w.last_i) - greatest(s.lo + 1, w.first_i) + 1) AS n
        FROM span s JOIN window_bins w USING (bin_seconds)
        UNION ALL
        SELECT h.bin_seconds, h.entity_type, h.entity, h.metric, h.value, 1 AS n
        FROM held h ANTI JOIN bins b ON b.bin_seconds = h.bin_seconds AND b.bin_start = h.bin_start
        WHERE h.bin_start >= $lo AND h.bin_start <= $hi
    )
    SELECT bin_seconds, entity_type, entity, metric, sum(n) AS n, min(value) AS least, max(value) AS greatest
    FROM covered WHERE n > 0
    GROUP BY bin_seconds, entity_type, entity, metric
    """


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def write_changes(
    con: Any,
    rows: pa.Table,
    *,
    bin_seconds: int,
    bins: Sequence[int],
    keyframes: Collection[int] = (),
) -> int:
    """Store the change rows of the bins ``bins`` (µs bin starts, every bin written, with rows
    or not) of width ``bin_seconds``; ``keyframes`` (⊆ ``bins``) are the keyframe bins.
    Returns the rows inserted (the given rows, plus keyframe ends and the rows that keep the
    bin after them). Does not write the ``bins`` table (the caller does, in the same
    transaction)."""
    written = sorted({int(b) for b in bins})
    if not written:
        return 0
    if not set(keyframes) <= set(written):
        raise ValueError("keyframes must be among the bins written")
    data = _checked(rows, bin_seconds, written)
    kept = _protected(con, bin_seconds, written)
    with _frozen(con, bin_seconds, kept):
        with registered(con, "_ow_bins", pa.table({"bin_start": pa.array(written, pa.int64()).cast(_TS)})):
            con.execute(
                "DELETE FROM signal_changes WHERE bin_seconds = ? AND bin_start >= ? AND bin_start <= ?"
                " AND bin_start IN (SELECT bin_start FROM _ow_bins)",
                [bin_seconds, _at(written[0]), _at(written[-1])],
            ).fetchall()
        n = _insert(con, data)
        with registered(con, "_ow_rows", data):
            for k in sorted(int(x) for x in keyframes):
                n += _end_unmentioned(con, bin_seconds, k)
        n += _rekey(con, bin_seconds, kept)
    return n


def delete_range(con: Any, *, bin_seconds: int, start: datetime, end: datetime) -> int:
    """Delete the signals of the bins in ``[start, end)``: their change rows and their
    ``bins`` rows (a deleted range holds no bins); the bin after the range keeps its values.
    Returns the change rows deleted."""
    row = con.execute(
        "SELECT epoch_us(min(bin_start)) FROM bins WHERE bin_seconds = ? AND bin_start >= ?",
        [bin_seconds, end],
    ).fetchone()
    kept = [] if row is None or row[0] is None else [int(row[0])]
    with _frozen(con, bin_seconds, kept):
        got = con.execute(
            "DELETE FROM signal_changes WHERE bin_seconds = ? AND bin_start >= ? AND bin_start < ?",
            [bin_seconds, start, end],
        ).fetchone()
        con.execute(
            "DELETE FROM bins WHERE bin_seconds = ? AND bin_start >= ? AND bin_start < ?",
            [bin_seconds, start, end],
        ).fetchall()
        _rekey(con, bin_seconds, kept)
    return int(got[0]) if got else 0


def _checked(rows: pa.Table, bin_seconds: int, written: list[int]) -> pa.Table:
    """``rows`` with the store's columns and plain strings; every row in a written bin."""
    data = rows.select(list(COLUMNS))
    if data.num_rows == 0:
        return data
    starts = data.column("bin_start").cast(_TS).cast(pa.int64())
    ok = pc.and_(
        pc.is_in(starts, pa.array(written, pa.int64())), pc.equal(data.column("bin_seconds"), bin_seconds)
    )
    if not pc.all(ok).as_py():
        raise ValueError("change rows outside the bins being written")
    return _plain(data)


def _plain(data: pa.Table) -> pa.Table:
    """Dictionary-encoded strings decoded (DuckDB's Arrow scan reads a column's whole
    dictionary again for every chunk: a 75 k-name dictionary for a few hundred rows)."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in data.schema
    ]
    return data.cast(pa.schema(fields)) if fields != list(data.schema) else data


def _insert(con: Any, data: pa.Table) -> int:
    if data.num_rows == 0:
        return 0
    names = ", ".join(COLUMNS)
    with registered(con, "_ow_changes", data), unordered(con):
        con.execute(f"INSERT INTO signal_changes ({names}) SELECT {names} FROM _ow_changes").fetchall()
    return int(data.num_rows)


def _protected(con: Any, bin_seconds: int, written: list[int]) -> list[int]:
    """Stored ``bins`` that directly follow a written bin and are not written themselves."""
    rows = con.execute(
        "SELECT epoch_us(bin_start) FROM bins WHERE bin_seconds = ? AND bin_start > ?"
        " AND bin_start <= coalesce((SELECT min(bin_start) FROM bins WHERE bin_seconds = ?"
        " AND bin_start > ?), ?) ORDER BY 1",
        [bin_seconds, _at(written[0]), bin_seconds, _at(written[-1]), _at(written[-1])],
    ).fetchall()
    stored = np.array([int(r[0]) for r in rows], dtype=np.int64)
    w = np.array(written, dtype=np.int64)
    stored = stored[~np.isin(stored, w)]
    if len(stored) == 0:
        return []
    # a stored bin is protected when the latest written bin before it comes after every
    # stored bin before it
    last_w = w[np.searchsorted(w, stored) - 1]
    before = np.concatenate([[np.iinfo(np.int64).min], stored[:-1]])
    return [int(s) for s in stored[last_w > before]]


@contextmanager
def _frozen(con: Any, bin_seconds: int, kept: list[int]) -> Iterator[None]:
    """Inside: the values as of each bin of ``kept``, from before, are in ``_ow_before``."""
    if not kept:
        yield
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ow_before (at_bin TIMESTAMPTZ, entity_type VARCHAR,"
        " entity VARCHAR, metric VARCHAR, value DOUBLE)"
    ).fetchall()
    try:
        for k in kept:
            con.execute(f"INSERT INTO _ow_before {_as_of('?')}", [_at(k), bin_seconds, _at(k)]).fetchall()
        yield
    finally:
        undo(lambda: con.execute("DROP TABLE IF EXISTS _ow_before").fetchall())


def _as_of(at: str) -> str:
    """(at, key, value) of every carried key's value as of the bin ``at`` (params: at,
    bin_seconds, at)."""
    return (
        f"SELECT {at}::TIMESTAMPTZ AS at_bin, entity_type, entity, metric, arg_max(value, bin_start) AS value"
        f" FROM signal_changes WHERE bin_seconds = ? AND bin_start <= {at} AND {_CARRIED}"
        " GROUP BY entity_type, entity, metric"
    )


def _rekey(con: Any, bin_seconds: int, kept: list[int]) -> int:
    """Rows at each bin of ``kept`` for the keys whose value as of it changed (rule 3)."""
    n = 0
    for k in kept:
        got = con.execute(
            f"""
            INSERT INTO signal_changes (bin_start, bin_seconds, entity_type, entity, metric, value)
            SELECT ?::TIMESTAMPTZ, ?, entity_type, entity, metric, coalesce(b.value, 0)
            FROM ({_as_of("?")}) a
            FULL OUTER JOIN (SELECT entity_type, entity, metric, value FROM _ow_before WHERE at_bin = ?) b
                USING (entity_type, entity, metric)
            WHERE coalesce(a.value, 0) <> coalesce(b.value, 0) OR (a.value IS NULL AND b.value IS NOT NULL)
            """,
            [_at(k), bin_seconds, _at(k), bin_seconds, _at(k), _at(k)],
        ).fetchone()
        n += int(got[0]) if got else 0
    return n


def _end_unmentioned(con: Any, bin_seconds: int, k: int) -> int:
    """0 rows at the keyframe ``k`` for keys non-zero just before it that it does not mention."""
    got = con.execute(
        f"""
        INSERT INTO signal_changes (bin_start, bin_seconds, entity_type, entity, metric, value)
        SELECT ?::TIMESTAMPTZ, ?, l.entity_type, l.entity, l.metric, 0.0 FROM (
            SELECT entity_type, entity, metric, arg_max(value, bin_start) AS value
            FROM signal_changes WHERE bin_seconds = ? AND bin_start < ? AND {_CARRIED}
            GROUP BY entity_type, entity, metric
        ) l ANTI JOIN (SELECT entity_type, entity, metric FROM _ow_rows WHERE bin_start = ?) r
            USING (entity_type, entity, metric)
        WHERE l.value <> 0
        """,
        [_at(k), bin_seconds, bin_seconds, _at(k), _at(k)],
    ).fetchone()
    return int(got[0]) if got else 0


def upsert_dense(con: Any, data: pa.Table) -> int:
    """Write dense rows key by key (the keyed upsert the dense table had): afterwards the
    ``signals`` view shows each given (key, bin) with its value, and every other (key, bin)
    as before. A carried row is followed, at the next bin of the grid (``bins``, stored and
    given bins) where its key has no row, by a row keeping the key's value from before
    (missing = 0). For dense series as tests write them."""
    if data.num_rows == 0:
        return 0
    given = _plain(data.select(list(COLUMNS)))
    key = " AND ".join(f"c.{c} = i.{c}" for c in ("bin_seconds", *_KEY))
    with registered(con, "_ow_dense", given):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _ow_keep AS
            WITH grid AS (
                SELECT bin_seconds, bin_start, lead(bin_start) OVER (
                    PARTITION BY bin_seconds ORDER BY bin_start) AS nb
                FROM (SELECT bin_seconds, bin_start FROM bins
                      UNION SELECT bin_seconds, bin_start FROM signal_changes
                      UNION SELECT bin_seconds, bin_start FROM _ow_dense)
            ),
            nxt AS (
                SELECT DISTINCT i.bin_seconds, g.nb AS bin_start, i.entity_type, i.entity, i.metric
                FROM _ow_dense i JOIN grid g USING (bin_seconds, bin_start)
                WHERE g.nb IS NOT NULL AND NOT starts_with(i.metric, '{CHURN_PREFIX}')
            ),
            open AS (
                SELECT * FROM nxt i
                WHERE NOT EXISTS (SELECT 1 FROM _ow_dense c WHERE {key} AND c.bin_start = i.bin_start)
                  AND NOT EXISTS (SELECT 1 FROM signal_changes c WHERE {key} AND c.bin_start = i.bin_start)
            )
            SELECT i.bin_start, i.bin_seconds, i.entity_type, i.entity, i.metric,
                coalesce(arg_max(c.value, c.bin_start), 0) AS value
            FROM open i LEFT JOIN signal_changes c ON {key} AND c.bin_start <= i.bin_start
            GROUP BY ALL
            """
        ).fetchall()
        keys = ", ".join(("bin_seconds", "bin_start", *_KEY))
        con.execute(f"DELETE FROM signal_changes WHERE ({keys}) IN (SELECT {keys} FROM _ow_dense)").fetchall()
        names = ", ".join(COLUMNS)
        con.execute(f"INSERT INTO signal_changes ({names}) SELECT {names} FROM _ow_dense").fetchall()
        con.execute(f"INSERT INTO signal_changes ({names}) SELECT {names} FROM _ow_keep").fetchall()
    con.execute("DROP TABLE _ow_keep").fetchall()
    return int(given.num_rows)


__all__ = [
    "COLUMNS",
    "SHOWN",
    "carried_stats_sql",
    "delete_range",
    "dense_sql",
    "upsert_dense",
    "write_changes",
]
