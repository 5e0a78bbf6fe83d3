"""Kill the watcher process (SIGKILL) mid-stream and restart it: nothing closed is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from outagewatch.live.replay import ReplayServer, outage_stream

START = 1419206400  # 2014-12-22 00:00 UTC
BIN = 60


def _start(db: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    code = "from outagewatch.cli import main; main()"
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-c", code, "watch", "--db", str(db), "--config", str(config)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def _wait(cond: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"watcher exited with {proc.returncode}:\n{log.read_text()}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out; watcher log:\n{log.read_text()}")
        time.sleep(0.1)


def _json(path: Path) -> dict[str, object]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _closed(folder: Path) -> int | None:
    value = _json(folder / "checkpoint.json").get("last_closed_us")
    return int(value) // 1_000_000 if isinstance(value, int) else None


@pytest.mark.slow
def test_sigkill_and_restart_lose_no_closed_bin_event_or_alert(tmp_path: Path) -> None:
    msgs, down, back = outage_stream(START, BIN, 30, 8, 6)
    times = [json.loads(m)["data"]["timestamp"] for m in msgs]
    # the KP-like prefixes are withdrawn in minute 30; the watcher is killed with the outage open
    first_part = [m for m, t in zip(msgs, times, strict=True) if t < START + 34 * BIN + 30]
    rest = [m for m, t in zip(msgs, times, strict=True) if t >= START + 37 * BIN]  # minutes 34-36 lost
    server = ReplayServer(first_part).start()
    db, log, alerts = tmp_path / "ow.duckdb", tmp_path / "watch.log", tmp_path / "alerts.jsonl"
    config = tmp_path / "ow.toml"
    config.write_text(
        f'[live]\nurl = "{server.url}"\nbin_seconds = {BIN}\ncountries = false\n'
        "backoff_initial = 0.05\nbackoff_max = 0.2\n"
        f'[alerts]\nmin_severity = "high"\n[[alerts.channels]]\ntype = "jsonl"\npath = "{alerts}"\n'
    )
    folder = Path(f"{db}.live")
    try:
        proc = _start(db, config, log)
        _wait(lambda: _closed(folder) == START + 33 * BIN, proc, log)
        _wait(lambda: alerts.exists() and '"outage"' in alerts.read_text(), proc, log, 20)
        before = _json(folder / "checkpoint.json")["counters"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        con = duckdb.connect(str(db))
        bins_before = con.execute(
            "SELECT epoch(bin_start)::BIGINT, elements, complete FROM bins ORDER BY 1"
        ).fetchall()
        events_before = con.execute("SELECT event_id, status FROM events ORDER BY 1").fetchall()
        con.close()
        assert [b[0] for b in bins_before] == [START + i * BIN for i in range(34)]
        assert all(b[2] for b in bins_before) and ("open" in {e[1] for e in events_before})

        server.extend(rest)
        proc = _start(db, config, log)
        end = START + 44 * BIN  # 30 + 8 + 6 bins
        _wait(lambda: (_closed(folder) or 0) >= end - BIN, proc, log)
        _wait(lambda: alerts.exists() and len(alerts.read_text().splitlines()) >= 2, proc, log, 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        server.stop()

    con = duckdb.connect(str(db))
    bins = con.execute("SELECT epoch(bin_start)::BIGINT, elements, complete FROM bins ORDER BY 1").fetchall()
    assert bins[:34] == bins_before  # every bin closed before the kill is there, unchanged
    # minutes 34-36 were never seen (no bins: missing data); minute 37 lacks its start
    assert not {START + m * BIN for m in (34, 35, 36)} & {b[0] for b in bins}
    assert [b[0] for b in bins if not b[2]] == [START + 37 * BIN]
    gaps = con.execute("SELECT epoch(gap_start)::BIGINT, epoch(gap_end), reason FROM gaps").fetchall()
    assert gaps[0][0] == START + 34 * BIN and gaps[0][2] == "watcher restarted"
    assert gaps[0][1] == pytest.approx(times[msgs.index(rest[0])])
    stored = {e[0] for e in con.execute("SELECT event_id FROM events").fetchall()}
    assert {e[0] for e in events_before} <= stored  # no event lost
    outage = con.execute(
        'SELECT event_id, epoch(start)::BIGINT, epoch("end")::BIGINT, status'
        " FROM events WHERE kind = 'outage'"
    ).fetchall()
    assert [(o[1], o[2], o[3]) for o in outage] == [((down // BIN) * BIN, (back // BIN) * BIN, "closed")]
    lines = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert [(a["event_id"], a["state"]) for a in lines if a["kind"] == "outage"] == [
        (outage[0][0], "open/critical"),
        (outage[0][0], "closed/critical"),
    ]
    keys = [(a["event_id"], a["state"]) for a in lines]
    assert len(keys) == len(set(keys))  # one alert per event state, across the restart
    deliveries = con.execute("SELECT count(*), bool_and(ok) FROM alert_deliveries").fetchone()
    assert deliveries == (len(lines), True)
    runs = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    assert runs == [("running",), ("stopped",)]  # the killed run never finished
    assert isinstance(before, dict) and before["bins_closed"] == 34
