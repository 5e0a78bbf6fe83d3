"""The watcher against a local RIS Live server: real captures, a scenario stream, cuts, a storm."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outagewatch.live import run
from outagewatch.live.replay import ReplayServer, elements_to_messages, outage_stream
from outagewatch.live.settings import LiveSettings, parse
from outagewatch.live.watcher import Watcher

START = 1419206400  # 2014-12-22 00:00 UTC


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    srv = ReplayServer([]).start()
    yield srv
    srv.stop()


def _settings(url: str, **live: Any) -> LiveSettings:
    base = {"url": url, "bin_seconds": 60, "countries": False, "backoff_initial": 0.05, "backoff_max": 0.2}
    return parse({"live": {**base, **live}})


async def _until(cond: Any, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out waiting for the watcher")
        await asyncio.sleep(0.02)


def _watch(w: Watcher, s: LiveSettings, script: Any) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run.serve(w, s, stop))
        try:
            await script()
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)

    asyncio.run(main())


def test_real_capture_replayed_over_the_protocol(
    server: ReplayServer, tmp_path: Path, shared_data: Path
) -> None:
    lines = (shared_data / "rislive" / "ris-live-stream.json").read_text().splitlines()
    closing = json.loads(lines[0])
    closing["data"]["timestamp"] += 3600  # a later message closes the capture's bins
    server.extend([*lines, json.dumps(closing)])
    port = _free_port()
    s = _settings(server.url, subscribe={"host": "rrc00"}, metrics_port=port)
    w, _ = run.build(tmp_path / "ow.duckdb", s)
    scraped: list[httpx.Response] = []

    async def script() -> None:
        await _until(lambda: w.metrics.counters["messages"] >= len(lines) + 1)
        async with httpx.AsyncClient() as client:
            scraped.append(await client.get(f"http://127.0.0.1:{port}/metrics"))
            scraped.append(await client.get(f"http://127.0.0.1:{port}/other"))

    _watch(w, s, script)
    assert scraped[0].status_code == 200 and scraped[1].status_code == 404
    assert "# TYPE outagewatch_live_messages counter" in scraped[0].text
    assert "outagewatch_live_ris_errors 1" in scraped[0].text
    assert server.subscriptions[0]["host"] == "rrc00"
    assert server.subscriptions[0]["socketOptions"] == {"includeRaw": False, "acknowledge": True}
    c = w.metrics.counters
    assert c["ris_errors"] == 1 and c["problems"] == 1 and c["elements"] == 3 and c["connections"] == 1
    problems = w.con.execute("SELECT record_index, cause FROM problems").fetchall()
    assert problems[0][0] == 7 and "invalid JSON" in problems[0][1]  # frame 0 is ris_subscribe_ok
    assert w.con.execute("SELECT sum(elements) FROM bins").fetchone() == (2,)
    run_row = w.con.execute("SELECT command, status FROM runs").fetchone()
    assert run_row == ("watch", "stopped")
    metrics = json.loads((tmp_path / "ow.duckdb.live" / "metrics.json").read_text())
    assert metrics["messages"] == len(lines) + 2 and "message_lag_seconds" in metrics


def test_cut_connection_reconnects_and_the_gap_is_not_an_outage(server: ReplayServer, tmp_path: Path) -> None:
    msgs, down, _ = outage_stream(START, 60, 30, 8, 6)
    times = [json.loads(m)["data"]["timestamp"] for m in msgs]
    cut = next(i for i, t in enumerate(times) if t >= START + 16 * 60)  # minute 16
    resume = next(i for i, t in enumerate(times) if t >= START + 21 * 60)  # 5 minutes lost
    server.extend(msgs[:cut])
    s = _settings(server.url, watch_prefixes=["175.45.176.0/24"])
    w, _ = run.build(tmp_path / "ow.duckdb", s)

    async def script() -> None:
        await _until(lambda: w.metrics.counters["messages"] >= cut)
        server.drop()
        server.extend(msgs[resume:])  # the stream moved on while we were away
        await _until(lambda: w.metrics.counters["messages"] >= cut + len(msgs) - resume)

    _watch(w, s, script)
    assert server.connections == 2 and w.metrics.counters["disconnections"] == 1
    gaps = w.con.execute("SELECT epoch(gap_start), epoch(gap_end), reason FROM gaps").fetchall()
    assert len(gaps) == 1
    assert gaps[0][0] == pytest.approx(times[cut - 1]) and gaps[0][1] == pytest.approx(times[resume])
    assert "disconnected" in gaps[0][2]
    bins = dict(w.con.execute("SELECT epoch(bin_start)::BIGINT, complete FROM bins").fetchall())
    incomplete = sorted(b for b, ok in bins.items() if not ok)
    assert incomplete == list(range(START + 15 * 60, START + 22 * 60, 60))
    events = w.con.execute(
        "SELECT kind, entity, epoch(start), status FROM events WHERE kind = 'outage' ORDER BY entity"
    ).fetchall()
    assert ("outage", "131279") in [(e[0], e[1]) for e in events]
    assert all(e[2] == (down // 60) * 60 for e in events)  # the real withdrawal, never the gap


def test_idle_connection_is_dropped_and_reopened(server: ReplayServer, tmp_path: Path) -> None:
    s = _settings(server.url, idle_timeout=0.4)
    w, _ = run.build(tmp_path / "ow.duckdb", s)

    async def script() -> None:
        await _until(lambda: server.connections >= 2, timeout=20)

    _watch(w, s, script)
    assert w.metrics.counters["disconnections"] >= 1


@pytest.mark.slow
def test_storm_at_full_speed_keeps_memory_bounded(
    server: ReplayServer, tmp_path: Path, shared_data: Path
) -> None:
    from outagewatch import read_mrt

    path = shared_data / "mrt" / "rrc01-2010-08-27-storm" / "rrc01.updates.20100827.0840.gz"
    table = read_mrt(path, collector="rrc01").read_all()
    msgs = elements_to_messages(table)
    closing = json.loads(msgs[0])
    closing["data"]["timestamp"] = 1282899000  # 08:50, closes the storm's bins
    server.extend([*msgs, json.dumps(closing)])
    s = _settings(server.url, max_pending=5_000, max_batch=2_000)
    w, _ = run.build(tmp_path / "ow.duckdb", s)

    async def script() -> None:
        await _until(lambda: w.metrics.counters["messages"] >= len(msgs) + 1, timeout=300)

    _watch(w, s, script)
    n_closing = (
        len(closing["data"]["announcements"][0]["prefixes"]) if closing["data"]["announcements"] else 0
    )
    n_closing += len(closing["data"]["withdrawals"])
    assert w.metrics.counters["elements"] == table.num_rows + n_closing
    per_bin = dict(w.con.execute("SELECT epoch(bin_start)::BIGINT, elements FROM bins").fetchall())
    assert sum(per_bin.values()) == table.num_rows  # the closing message sits in the open bin
    assert max(per_bin.values()) > 100_000  # 08:43, the 61k-withdrawals minute
    assert w.metrics.rss_peak < 1_500_000_000


@pytest.mark.slow
def test_simulated_as_outage_from_a_rib_start_alerts_once_per_state(
    server: ReplayServer, tmp_path: Path
) -> None:
    import pyarrow as pa

    from outagewatch import read_mrt
    from outagewatch.alerts.config import parse as parse_alerts
    from outagewatch.simulate import simulate_scenario

    sim = simulate_scenario("as-outage-small", tmp_path / "sim", seed=0)
    truth = sim.truth[0]
    out = sim.collectors[0]
    updates = pa.concat_tables([read_mrt(u, collector=out.name).read_all() for u in out.updates])
    msgs = elements_to_messages(updates.sort_by("timestamp"))
    server.extend(msgs)
    s = _settings(server.url, bin_seconds=120, min_full_feed_peers=1)
    alerts_file = tmp_path / "alerts.jsonl"
    alerts = parse_alerts({"alerts": {"channels": [{"type": "jsonl", "path": str(alerts_file)}]}}, {})
    w, info = run.build(tmp_path / "ow.duckdb", s, rib=[out.rib], alerts=alerts)
    assert info.state_source.startswith("rib ")

    async def script() -> None:
        await _until(lambda: w.metrics.counters["messages"] >= len(msgs) + 1, timeout=120)

    _watch(w, s, script)
    events = w.con.execute(
        'SELECT event_id, entity, epoch(start)::BIGINT, epoch("end")::BIGINT FROM events'
        " WHERE kind = 'outage' AND entity_type = 'as' AND entity = ?",
        [truth.entity],
    ).fetchall()
    assert truth.end is not None
    assert [(e[1], e[2], e[3]) for e in events] == [
        (truth.entity, int(truth.start.timestamp()), int(truth.end.timestamp()))
    ]
    sent = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    ents = w.con.execute("SELECT entity FROM entities WHERE entity_type = 'as'").fetchall()
    assert (truth.entity,) in ents  # entity rows for the dashboard
    truth_alerts = [a["status"] for a in sent if a["event_id"] == events[0][0]]
    assert truth_alerts == ["open", "closed"]  # one alert per state change, not one per bin
    keys = [(a["event_id"], a["state"]) for a in sent]
    assert len(keys) == len(set(keys))


def test_quiet_stream_bins_close_on_the_stream_clock(tmp_path: Path) -> None:
    msgs, _, _ = outage_stream(START, 60, 2, 0, 0, peers=3, background=4)
    s = _settings("ws://unused", close_grace_seconds=5.0)
    w, _ = run.build(tmp_path / "ow.duckdb", s)
    first_bin = [m for m in msgs if json.loads(m)["data"]["timestamp"] < START + 60]
    received = 1_000_000.0  # wall clock when the batch arrived; stream time START + ~23 s
    w.messages(first_bin, received)
    last = max(json.loads(m)["data"]["timestamp"] for m in first_bin)
    w.tick(received + (START + 60 - last) + 4.0)  # 4 s past the bin's end: still open
    assert w.metrics.counters["bins_closed"] == 0
    w.tick(received + (START + 60 - last) + 6.0)  # past end + grace: closed without a message
    assert w.metrics.counters["bins_closed"] == 1
    late = json.loads(first_bin[-1])
    late["data"]["timestamp"] = START + 30  # arrives after its bin closed: counted in the next
    w.messages([json.dumps(late)], received + 70)
    w.messages([msgs[-1]], received + 200)
    rows = w.con.execute("SELECT epoch(bin_start)::BIGINT, elements FROM bins ORDER BY 1").fetchall()
    first_elements = sum(
        len(d["withdrawals"]) + sum(len(a["prefixes"]) for a in d["announcements"])
        for d in (json.loads(m)["data"] for m in first_bin)
    )
    late_elements = len(late["data"]["withdrawals"]) + sum(
        len(a["prefixes"]) for a in late["data"]["announcements"]
    )
    assert rows == [(START, first_elements), (START + 60, late_elements), (START + 120, 0)]
