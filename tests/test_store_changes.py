"""The store's change-coded signals: the ``signals`` view holds exactly the dense rows.

Random dense series (gaps in the bin grid, keys appearing and vanishing, zeros kept or
absent as the dense form has them) are change-coded run by run and written in random batch
splits, keyframes at run starts; then windows are re-ingested (in the middle, earlier, later)
and ranges deleted. After every step the view must hold what dense writes of the same data
would: the dense rows of every stored bin. Real DuckDB files, no mocks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagewatch.signals.changes import BinRows, encode, is_churn, keeps_zero
from outagewatch.signals.partial import SIGNAL_SCHEMA, TS
from outagewatch.store.changes import carried_stats_sql, delete_range, dense_sql, write_changes
from outagewatch.store.db import connect
from outagewatch.store.writes import upsert

BIN = 300
US = 1_000_000
T0 = 1_419_206_400 * US
KEYS = [
    (t, e, m)
    for t, e in (
        ("country", "KP"),
        ("as", "131279"),
        ("as", "4837"),
        ("prefix", "175.45.176.0/24"),
        ("global", "all"),
    )
    for m in (
        "ipv4.visible_slash24.ff_50pct",
        "ipv6.visible_prefixes.ff_any",
        "ipv4.full_feed_peers",
        "upstream.4837.share",
        "upstream.count",
        "all.updates",
    )
]
Key = tuple[str, str, str]
Timeline = dict[int, dict[Key, float]]


def _at(i: int) -> int:
    return T0 + i * BIN * US


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    """Dense rows of bins 0..n-1 with gaps (missing bins); keys whose zeros the dense form
    keeps stay once they appear (as the engine keeps every known country)."""
    n = draw(st.integers(2, 12))
    present = [i for i in range(n) if i == 0 or draw(st.integers(0, 4)) > 0]
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=14, unique=True))
    values = st.sampled_from([0.0, 1.0, 3.0, 4.5])
    since: set[Key] = set()
    out: Timeline = {}
    for i in present:
        rows: dict[Key, float] = {}
        for k in keys:
            t, _, m = k
            if is_churn(m):
                if draw(st.booleans()):
                    rows[k] = draw(values)
            elif keeps_zero(t, m):
                if k in since or draw(st.integers(0, 2)) == 0:
                    since.add(k)
                    rows[k] = draw(values)
            elif draw(st.booleans()):
                rows[k] = draw(values.filter(bool))
        out[i] = rows
    return out


def _table(i: int, rows: dict[Key, float]) -> pa.Table:
    items = sorted(rows.items())
    return pa.table(
        {
            "bin_start": pa.array([_at(i)] * len(items), pa.int64()).cast(TS),
            "bin_seconds": pa.array([BIN] * len(items), pa.int32()),
            "entity_type": [k[0] for k, _ in items],
            "entity": [k[1] for k, _ in items],
            "metric": [k[2] for k, _ in items],
            "value": pa.array([v for _, v in items], pa.float64()),
        }
    ).cast(SIGNAL_SCHEMA)


def _bins_rows(starts: list[int]) -> pa.Table:
    n = len(starts)
    return pa.table(
        {
            "bin_start": pa.array(starts, pa.int64()).cast(TS),
            "bin_seconds": pa.array([BIN] * n, pa.int32()),
            "complete": [True] * n,
            "elements": pa.array([1] * n, pa.int64()),
            "note": pa.array([None] * n, pa.string()),
        }
    )


def ingest(con: duckdb.DuckDBPyConnection, timeline: Timeline, lo: int, hi: int, cuts: list[int]) -> None:
    """One engine run over the stored bins lo..hi: change-coded (first bin a keyframe), written
    in batches split at ``cuts``, each batch with its ``bins`` rows, as the bin writer does."""
    run = [i for i in sorted(timeline) if lo <= i <= hi]
    coded = encode([BinRows(_at(i), BIN, _table(i, timeline[i])) for i in run])
    edges = sorted({0, len(coded), *(c % (len(coded) + 1) for c in cuts)})
    for a, b in itertools.pairwise(edges):
        part = coded[a:b]
        write_changes(
            con,
            pa.concat_tables([p.rows for p in part]),
            bin_seconds=BIN,
            bins=[p.bin_start_us for p in part],
            keyframes=[p.bin_start_us for p in part if p.keyframe],
        )
        upsert(con, "bins", _bins_rows([p.bin_start_us for p in part]))


def _view(con: duckdb.DuckDBPyConnection) -> dict[tuple[int, Key], float]:
    rows = con.execute(
        "SELECT epoch_us(bin_start), bin_seconds, entity_type, entity, metric, value FROM signals"
    ).fetchall()
    out = {(int(t), (et, e, m)): float(v) for t, s, et, e, m, v in rows}
    assert len(out) == len(rows), "the view holds a (bin, key) twice"
    assert all(s == BIN for _, s, *_ in rows)
    return out


def _want(timeline: Timeline, stored: set[int]) -> dict[tuple[int, Key], float]:
    return {(_at(i), k): v for i in stored for k, v in timeline[i].items()}


Op = tuple[str, int, int, list[int]]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Timeline, list[Op]]:
    timeline = draw(timelines())
    n = max(timeline) + 1
    span = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).map(sorted)
    cuts = st.lists(st.integers(0, 12), max_size=3)
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["write", "write", "write", "delete"]))
        lo, hi = draw(span)
        ops.append((kind, lo, hi, draw(cuts)))
    return timeline, ops


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(tmp_path_factory.mktemp("changes") / "ow.duckdb")
    yield c
    c.close()


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM signal_changes")
    con.execute("DELETE FROM bins")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_the_view_holds_the_dense_rows_of_every_stored_bin(
    con: duckdb.DuckDBPyConnection, scenario: tuple[Timeline, list[Op]]
) -> None:
    timeline, ops = scenario
    _clear(con)
    stored: set[int] = set()
    for kind, lo, hi, cuts in ops:
        con.execute("BEGIN TRANSACTION")
        try:
            if kind == "write":
                ingest(con, timeline, lo, hi, cuts)
                stored |= {i for i in timeline if lo <= i <= hi}
            else:
                start, end = (datetime.fromtimestamp(_at(i) / US, UTC) for i in (lo, hi + 1))
                delete_range(con, bin_seconds=BIN, start=start, end=end)
                stored -= set(range(lo, hi + 1))
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        assert _view(con) == _want(timeline, stored), (kind, lo, hi)
        assert not con.execute("SELECT * FROM duckdb_tables() WHERE temporary").fetchall()
        _readers_agree(con, lo, hi)


def _readers_agree(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> None:
    """The view's query over a source of some keys gives the view's rows of those keys, and the
    stats of state keys over a window are the count, least and greatest of the view's rows."""
    cols = "bin_start, bin_seconds, entity_type, entity, metric, value"
    some = "entity_type <> 'as' OR metric LIKE 'upstream.%'"
    for source, where in (("signal_changes", "true"), (f"(SELECT * FROM signal_changes WHERE {some})", some)):
        got = con.execute(f"SELECT {cols} FROM ({dense_sql(source)}) ORDER BY ALL").fetchall()
        assert got == con.execute(f"SELECT {cols} FROM signals WHERE {where} ORDER BY ALL").fetchall()
    window = {
        "lo": datetime.fromtimestamp(_at(lo) / US, UTC),
        "hi": datetime.fromtimestamp(_at(hi) / US, UTC),
    }
    got = con.execute(
        f"SELECT * FROM ({carried_stats_sql('signal_changes')}) ORDER BY ALL", window
    ).fetchall()
    want = con.execute(
        "SELECT bin_seconds, entity_type, entity, metric, count(*), min(value), max(value) FROM signals"
        " WHERE bin_start >= $lo AND bin_start <= $hi AND metric NOT LIKE 'all.%'"
        " GROUP BY ALL ORDER BY ALL",
        window,
    ).fetchall()
    assert got == want


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timelines())
def test_dense_upserts_and_rewrites_give_the_same_view(
    con: duckdb.DuckDBPyConnection, timeline: Timeline
) -> None:
    """Dense rows upserted key by key (the tests' helper), then the same bins rewritten as
    change rows of one run: the view holds the dense rows either way."""
    _clear(con)
    upsert(con, "bins", _bins_rows([_at(i) for i in timeline]))
    dense = pa.concat_tables([_table(i, r) for i, r in sorted(timeline.items())])
    upsert(con, "signals", dense)
    assert _view(con) == _want(timeline, set(timeline))
    ingest(con, timeline, 0, max(timeline), [])
    assert _view(con) == _want(timeline, set(timeline))


def test_writes_are_checked(con: duckdb.DuckDBPyConnection) -> None:
    _clear(con)
    rows = _table(0, {("as", "1", "all.updates"): 1.0})
    with pytest.raises(ValueError, match="outside the bins"):
        write_changes(con, rows, bin_seconds=BIN, bins=[_at(1)])
    with pytest.raises(ValueError, match="keyframes"):
        write_changes(con, rows, bin_seconds=BIN, bins=[_at(0)], keyframes=[_at(1)])
    assert write_changes(con, rows, bin_seconds=BIN, bins=[]) == 0
    assert (
        write_changes(con, SIGNAL_SCHEMA.empty_table(), bin_seconds=BIN, bins=[_at(0)], keyframes=[_at(0)])
        == 0
    )


def test_a_keyframe_ends_the_values_it_does_not_mention(con: duckdb.DuckDBPyConnection) -> None:
    """A restarted engine that no longer sees an AS: its first bin (a keyframe) ends the AS's
    stored visibility, which would otherwise be carried on."""
    _clear(con)
    vis = ("as", "131279", "ipv4.visible_slash24.ff_50pct")
    kp = ("country", "KP", "ipv4.visible_slash24.ff_50pct")
    timeline: Timeline = {0: {vis: 4.0, kp: 4.0}, 1: {vis: 4.0, kp: 4.0}, 2: {kp: 4.0}, 3: {kp: 1.0}}
    ingest(con, timeline, 0, 1, [])
    ingest(con, timeline, 2, 3, [])
    assert _view(con) == _want(timeline, {0, 1, 2, 3})
    ends = con.execute(
        "SELECT epoch_us(bin_start), entity, value FROM signal_changes WHERE entity = '131279'"
    ).fetchall()
    assert sorted(ends) == [(_at(0), "131279", 4.0), (_at(2), "131279", 0.0)]
