"""The live path on change-coded bins.

The detectors get each bin's change rows and carry the state values themselves: they step
exactly the points, and open exactly the events, that the dense rows of every bin give (across
a restart from a checkpoint, whose first bin is a keyframe). A watcher killed and restarted
keeps the store's ``signals`` view equal to the dense rows of every bin it closed."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from outagewatch.live import run
from outagewatch.live.detection import LiveDetectors
from outagewatch.live.replay import outage_stream
from outagewatch.live.settings import parse
from outagewatch.live.watcher import Watcher
from outagewatch.parse.rislive import decode
from outagewatch.signals.changes import Carry
from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.partial import finalize
from outagewatch.signals.snapshot import restore, snapshot
from outagewatch.store.db import connect

START = 1419206400  # 2014-12-22 00:00 UTC
BIN = 60
TYPES = ("global", "country", "as", "prefix")


def _times(msgs: list[str]) -> list[float]:
    return [float(json.loads(m)["data"]["timestamp"]) for m in msgs]


def _engine_bins(msgs: list[str], restart_at: float, dense: bool = False) -> tuple[list[ClosedBin], int]:
    """Closed bins of the stream; at ``restart_at`` the engine is replaced by one restored
    from a snapshot of its state (as the watcher restarts from its checkpoint). Returns the
    bins and the index of the first bin after the restart. ``dense``: engines writing every
    row of every bin (and its partial)."""
    engine = SignalEngine(bin_seconds=BIN, dense=dense)
    out: list[ClosedBin] = []
    cut = None
    for m, t in zip(msgs, _times(msgs), strict=True):
        if cut is None and t >= restart_at:
            out.extend(engine.flush())
            engine = SignalEngine(bin_seconds=BIN, state=restore(snapshot(engine.state)), dense=dense)
            cut = len(out)
        out.extend(engine.feed(decode([m]).batch))
    out.extend(engine.flush())
    assert cut is not None
    return out, cut


def test_detectors_on_change_rows_step_the_points_of_the_dense_rows() -> None:
    msgs, down, back = outage_stream(START, BIN, 30, 8, 6, peers=6, background=24)
    bins, cut = _engine_bins(msgs, START + 33 * BIN)
    full, _ = _engine_bins(msgs, START + 33 * BIN, dense=True)
    dense_rows = [finalize(cb.partial) for cb in full if cb.partial is not None]
    assert len(dense_rows) == len(bins)
    assert [b.keyframe for b in bins] == [i in (0, cut) for i in range(len(bins))]
    coded, dense = LiveDetectors(TYPES), LiveDetectors(TYPES)
    got, want = [], []
    for i, cb in enumerate(bins):
        if i == cut:  # the watcher restarts from its checkpoint: detector states only
            restarted = LiveDetectors(TYPES)
            restarted.loads(coded.dumps())
            coded = restarted
        start = cb.bin_start_us // 1_000_000
        got += coded.step_bin(cb.signals, start, BIN, True, keyframe=cb.keyframe)
        # every bin's dense rows, taken as a keyframe: each entity's values are that bin's rows
        want += dense.step_bin(dense_rows[i], start, BIN, True, keyframe=True)
        assert coded.states == dense.states, f"bin {i}"
    assert got == want
    outages = [(e.entity, e.start, e.end) for e in got if e.kind == "outage" and e.entity_type == "as"]
    start, end = (down // BIN) * BIN, (back // BIN) * BIN  # opened before the restart, closed after
    assert outages == [("131279", start, None), ("131279", start, end)]
    assert sum(cb.signals.num_rows for cb in bins) < sum(t.num_rows for t in dense_rows) / 2


def _recorded(w: Watcher, into: dict[int, pa.Table]) -> None:
    """Keep the dense rows of every bin the watcher's engine closes (its change rows carried
    forward here, in Python: the store's view does it in SQL)."""
    engine = w.engine
    feed, flush = engine.feed, engine.flush
    carry = Carry()

    def keep(closed: list[ClosedBin]) -> list[ClosedBin]:
        for c in closed:
            dense = carry.step(c.signals, c.keyframe, bin_start_us=c.bin_start_us, bin_seconds=c.bin_seconds)
            into[c.bin_start_us // 1_000_000] = dense
        return closed

    engine.feed = lambda batch: keep(feed(batch))  # type: ignore[method-assign]
    engine.flush = lambda: keep(flush())  # type: ignore[method-assign]


def _feed(w: Watcher, msgs: list[str]) -> None:
    for m, t in zip(msgs, _times(msgs), strict=True):
        w.messages([m], t + 0.5)


ROWS = "SELECT epoch(bin_start)::BIGINT, entity_type, entity, metric, value FROM signals"


def test_watcher_restart_keeps_the_dense_rows_of_every_closed_bin(tmp_path: Path) -> None:
    msgs, _, _ = outage_stream(START, BIN, 12, 5, 4, peers=5, background=16)
    times = _times(msgs)
    first = [m for m, t in zip(msgs, times, strict=True) if t < START + 14 * BIN + 30]
    rest = [m for m, t in zip(msgs, times, strict=True) if t >= START + 16 * BIN]  # minutes 14-15 lost
    settings = parse({"live": {"url": "ws://unused", "bin_seconds": BIN, "countries": False}})
    db = tmp_path / "ow.duckdb"
    dense: dict[int, pa.Table] = {}
    w, _ = run.build(db, settings)
    _recorded(w, dense)
    _feed(w, first)
    closed_first = len(dense)
    w.con.close()  # killed: the open bin (minute 14) dies with the process
    w, info = run.build(db, settings)  # restarted from the checkpoint
    assert info.state_source.startswith("checkpoint")
    _recorded(w, dense)
    _feed(w, rest)
    w.con.close()
    assert closed_first == 14 and len(dense) > closed_first + 5
    con = connect(db, read_only=True)
    view = sorted(con.execute(ROWS).fetchall())
    stored = [r[0] for r in con.execute("SELECT epoch(bin_start)::BIGINT FROM bins ORDER BY 1").fetchall()]
    changes = con.execute("SELECT count(*) FROM signal_changes").fetchone()
    con.close()
    assert stored == sorted(dense)
    want = sorted(
        (t, r["entity_type"], r["entity"], r["metric"], r["value"])
        for t, table in dense.items()
        for r in table.to_pylist()
    )
    assert view == want
    assert changes is not None and changes[0] < len(want) / 2
