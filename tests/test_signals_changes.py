"""Change-coded signals: encoding dense bins and densifying them back gives the same rows.

Random dense sequences (keys appearing and disappearing, zeros kept or absent as the dense form
has them, churn rows with zeros, empty bins, tables split into batches with their own
dictionaries) and the engine's own bins on real RIS updates."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch import read_mrt
from outagewatch.signals.changes import BinRows, Carry, Encoder, densify, encode, is_churn, keeps_zero
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.partial import SIGNAL_SCHEMA, TS, finalize

BIN = 300
T0 = 1_643_612_400_000_000  # µs
ENTITIES = [
    ("country", "KP"),
    ("country", "CN"),
    ("as", "131279"),
    ("as", "4837"),
    ("prefix", "10.0.0.0/8"),
    ("global", "all"),
]
METRICS = [
    "ipv4.visible_prefixes.ff_any",
    "ipv4.visible_slash24.ff_50pct",
    "ipv6.visible_slash48.asn_100pct",
    "ipv4.full_feed_peers",
    "upstream.4837.routes",
    "upstream.4837.share",
    "upstream.9.share",
    "upstream.count",
    "all.updates",
    "all.peers_reporting",
]
KEYS = [(t, e, m) for t, e in ENTITIES for m in METRICS]

Dense = list[dict[tuple[str, str, str], float]]


@st.composite
def dense_runs(draw: st.DrawFn) -> Dense:
    """Per bin, key → value, as the dense form holds them: churn rows any value (zeros too);
    carried keys whose zeros are kept stay once they appear; other carried keys are absent or
    non-zero."""
    n = draw(st.integers(1, 8))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=0, max_size=24, unique=True))
    values = st.sampled_from([0.0, 1.0, 2.0, 2.5, 7.0])
    out: Dense = []
    since: dict[tuple[str, str, str], int] = {}
    for i in range(n):
        row: dict[tuple[str, str, str], float] = {}
        for k in keys:
            t, _, m = k
            if is_churn(m):
                if draw(st.booleans()):
                    row[k] = draw(values)
            elif keeps_zero(t, m):
                if k in since or draw(st.integers(0, 3)) == 0:
                    since.setdefault(k, i)
                    row[k] = draw(values)
            elif draw(st.booleans()):
                row[k] = draw(values.filter(bool))
        out.append(row)
    return out


def _table(start_us: int, rows: dict[tuple[str, str, str], float], batches: int, plain: bool) -> pa.Table:
    """One bin's rows as a signal table split into ``batches`` batches, each with its own
    dictionaries (or plain strings)."""
    items = sorted(rows.items())
    parts = []
    for j in range(batches):
        chunk = items[j::batches]
        cols = {
            "bin_start": pa.array([start_us] * len(chunk), pa.int64()).cast(TS),
            "bin_seconds": pa.array([BIN] * len(chunk), pa.int32()),
            "entity_type": pa.array([k[0] for k, _ in chunk], pa.string()),
            "entity": pa.array([k[1] for k, _ in chunk], pa.string()),
            "metric": pa.array([k[2] for k, _ in chunk], pa.string()),
            "value": pa.array([v for _, v in chunk], pa.float64()),
        }
        t = pa.table(cols)
        parts.append(t if plain else t.cast(SIGNAL_SCHEMA))
    return pa.concat_tables(parts, promote_options="permissive") if parts else SIGNAL_SCHEMA.empty_table()


def _rows(table: pa.Table) -> dict[tuple[str, str, str], float]:
    got = table.select(["entity_type", "entity", "metric", "value"]).to_pylist()
    out = {(r["entity_type"], r["entity"], r["metric"]): r["value"] for r in got}
    assert len(out) == len(got), "duplicate keys in a bin"
    return out


def _bins(dense: Dense, batches: int, plain: bool) -> list[BinRows]:
    return [
        BinRows(T0 + i * BIN * 1_000_000, BIN, _table(T0 + i * BIN * 1_000_000, r, batches, plain))
        for i, r in enumerate(dense)
    ]


@settings(max_examples=200, deadline=None)
@given(dense_runs(), st.integers(1, 3), st.booleans())
def test_densify_of_encode_is_the_dense_sequence(dense: Dense, batches: int, plain: bool) -> None:
    coded = encode(_bins(dense, batches, plain))
    assert [b.keyframe for b in coded] == [True] + [False] * (len(dense) - 1)
    assert _rows(coded[0].rows) == dense[0]  # a keyframe holds everything
    back = densify(coded)
    assert [_rows(b.rows) for b in back] == dense
    assert all(b.rows.schema.equals(SIGNAL_SCHEMA) for b in coded + back)


@settings(max_examples=200, deadline=None)
@given(dense_runs())
def test_change_rows_are_exactly_the_changes(dense: Dense) -> None:
    """After the keyframe: every churn row, and a carried row exactly where the dense value
    changed (absent reads as 0 for keys whose zeros the dense form drops)."""
    coded = encode(_bins(dense, 2, False))
    for i in range(1, len(dense)):
        before, now = dense[i - 1], dense[i]
        want = {k: v for k, v in now.items() if is_churn(k[2])}
        for k in {*before, *now}:
            if is_churn(k[2]):
                continue
            if (k in before, before.get(k, 0.0)) != (k in now, now.get(k, 0.0)):
                want[k] = now.get(k, 0.0)
        assert _rows(coded[i].rows) == want


@settings(max_examples=100, deadline=None)
@given(dense_runs(), st.data())
def test_carry_values_and_restarts(dense: Dense, data: st.DataObject) -> None:
    """A second run (a restart: its own keyframe) densifies on its own; Carry.values holds the
    carried values the dense form holds."""
    cut = data.draw(st.integers(0, len(dense)))
    bins = _bins(dense, 1, False)
    coded = encode(bins[:cut]) + encode(bins[cut:])
    assert [_rows(b.rows) for b in densify(coded)] == dense
    carry = Carry()
    for b, want in zip(coded, dense, strict=True):
        carry.step(b.rows, b.keyframe, bin_start_us=b.bin_start_us, bin_seconds=BIN)
        assert carry.values() == {k: v for k, v in want.items() if not is_churn(k[2])}


def test_empty_bins_need_their_bin_and_keep_the_carried_values() -> None:
    vis = ("as", "131279", "ipv4.visible_prefixes.ff_any")
    kept = ("country", "KP", "ipv4.visible_prefixes.ff_any")
    dense: Dense = [{}, {vis: 4.0, kept: 0.0}, {vis: 4.0, kept: 0.0}, {kept: 0.0}, {kept: 1.0}]
    enc = Encoder()
    with pytest.raises(ValueError, match="empty bin"):
        enc.step(SIGNAL_SCHEMA.empty_table())
    coded = encode(_bins(dense, 1, False))
    assert [_rows(b.rows) for b in coded] == [{}, {vis: 4.0, kept: 0.0}, {}, {vis: 0.0}, {kept: 1.0}]
    assert [_rows(b.rows) for b in densify(coded)] == dense
    with pytest.raises(ValueError, match="keyframe"):
        densify(coded[1:])
    with pytest.raises(ValueError, match="share bin_start"):
        Encoder().step(pa.concat_tables([coded[1].rows, _table(T0, {vis: 1.0}, 1, False)]))


@pytest.mark.shared
def test_engine_bins_carry_their_dense_rows(shared_data: Path) -> None:
    """The engine's change rows densify to ``finalize`` of a dense engine's partials, bin for bin (real
    updates, 60-s bins: appearing and vanishing ASes, upstreams, gap-filled bins)."""
    engine, dense = SignalEngine(bin_seconds=60), SignalEngine(bin_seconds=60, dense=True)
    closed, full = [], []
    for t in ("0725", "0730", "0735", "0745"):
        for batch in read_mrt(
            shared_data / "mrt" / "ris-2022-week" / f"updates.20220206.{t}.gz", collector="rrc04"
        ):
            closed.extend(engine.feed(batch))
            full.extend(dense.feed(batch))
    closed.extend(engine.flush())
    full.extend(dense.flush())
    assert [c.bin_start_us for c in closed] == [c.bin_start_us for c in full]
    assert [c.keyframe for c in closed] == [True] + [False] * (len(closed) - 1)
    assert any(c.elements == 0 for c in closed)  # a filled gap
    carry = Carry()
    dense_rows = changed = 0
    for c, d in zip(closed, full, strict=True):
        got = carry.step(c.signals, c.keyframe, bin_start_us=c.bin_start_us, bin_seconds=60)
        assert d.partial is not None
        want = finalize(d.partial)
        assert _rows(got) == _rows(want)
        dense_rows += want.num_rows
        changed += c.signals.num_rows
    assert changed < dense_rows / 4
