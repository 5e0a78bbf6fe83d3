"""Wiring of ``outagewatch watch``: store, start state, engine, detectors, alerts, client, metrics.

Start state, in order of preference: ``--rib`` dumps (routing state re-synchronised from them;
detector state still comes from the checkpoint when there is one), else the last checkpoint,
else an empty state built from updates only. SIGINT/SIGTERM stop the watcher cleanly; the open
bin is not stored (it is incomplete), and the next start records the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outagewatch.alerts.config import AlertConfig
from outagewatch.alerts.dispatch import Dispatcher
from outagewatch.alerts.record import recorder, sent_keys
from outagewatch.engine.lookups import AsInfo
from outagewatch.live import checkpoint
from outagewatch.live.detection import LiveDetectors
from outagewatch.live.settings import LiveSettings
from outagewatch.live.watcher import Watcher, run_sql
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.mapping import PrefixMapper
from outagewatch.signals.snapshot import StateSnapshot, restore
from outagewatch.sources.rislive import RisLiveClient
from outagewatch.store.db import connect

Log = Callable[[str], None]


@dataclass
class StartInfo:
    run_id: str
    folder: Path
    state_source: str
    gap_from: datetime | None


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def build(
    db: Path,
    settings: LiveSettings,
    rib: Sequence[Path] = (),
    mapper: PrefixMapper | None = None,
    alerts: AlertConfig | None = None,
    as_info: AsInfo | None = None,
) -> tuple[Watcher, StartInfo]:
    """Open the store, restore or build the start state, and make the watcher."""
    con = connect(db)
    folder = Path(settings.checkpoint_dir or f"{os.fspath(db)}.live")
    folder.mkdir(parents=True, exist_ok=True)
    loaded = checkpoint.load(folder)
    if loaded is not None and loaded[0].bin_seconds != settings.bin_seconds:
        raise ValueError(
            f"{folder}: checkpoint uses {loaded[0].bin_seconds}-s bins, not {settings.bin_seconds}; "
            "use another --db or checkpoint_dir"
        )
    state, source = None, "empty (updates only)"
    if loaded is not None:
        snap = StateSnapshot(**loaded[1])
        state, source = restore(snap), f"checkpoint {folder / checkpoint.NAME}"
    engine = SignalEngine(
        bin_seconds=settings.bin_seconds,
        mapper=mapper,
        watch=settings.watch_prefixes,
        full_feed_share=settings.full_feed_share,
        state=state,
    )
    if rib:
        from outagewatch.sources.mrtfile import read_mrt

        for path in rib:
            engine.feed_rib(read_mrt(path, collector=_collector(path), on_problem="ignore"))
        source = "rib " + ", ".join(str(p) for p in rib)
    detectors = LiveDetectors(settings.entity_types, settings.min_full_feed_peers)
    if loaded is not None:
        detectors.loads(loaded[2]["detectors"])
    run_id = uuid.uuid4().hex[:16]
    run_sql(
        con,
        "INSERT INTO runs (run_id, command, started_at, inputs, status, details)"
        " VALUES (?, 'watch', ?, ?, ?, ?)",
        [run_id, datetime.now(UTC), json.dumps([settings.client.url, *map(str, rib)]), "running", "{}"],
    )
    dispatcher = (
        Dispatcher(alerts, recorder(con), sent=sent_keys(con)) if alerts and alerts.channels else None
    )
    cp = loaded[0] if loaded is not None else None
    watcher = Watcher(
        con,
        engine,
        detectors,
        folder,
        run_id=run_id,
        dispatcher=dispatcher,
        cp=cp,
        grace_seconds=settings.close_grace_seconds,
        use_raw=settings.client.include_raw,
    )
    watcher.as_info = as_info
    gap_from = _restart_gap(con, watcher, settings.bin_seconds)
    return watcher, StartInfo(run_id, folder, source, gap_from)


def _collector(path: Path) -> str:
    from outagewatch.engine.ingest import infer_collector

    return infer_collector(path)


def _restart_gap(con: Any, watcher: Watcher, bin_seconds: int) -> datetime | None:
    """Open a gap at the end of the last stored bin: what arrived after it was lost."""
    rows = con.execute("SELECT max(bin_start) FROM bins WHERE bin_seconds = ?", [bin_seconds]).fetchall()
    last = rows[0][0] if rows else None
    if last is None:
        return None
    end_us = int(last.timestamp() * 1_000_000) + bin_seconds * 1_000_000
    watcher.floor_us = max(watcher.floor_us or 0, end_us)
    watcher.open_gap(end_us, "watcher restarted")
    return datetime.fromtimestamp(end_us / 1e6, UTC)


async def serve(watcher: Watcher, settings: LiveSettings, stop: asyncio.Event, log: Log = _stderr) -> None:
    """Run the client (and the metrics endpoint and alert workers) until ``stop`` is set."""
    client = RisLiveClient(settings.client, watcher)
    server = None
    if settings.metrics_port:
        server = await asyncio.start_server(
            lambda r, w: _metrics_http(watcher, r, w), settings.metrics_host, settings.metrics_port
        )
        log(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    if watcher.dispatcher is not None:
        watcher.dispatcher.start()
    try:
        await client.run(stop)
    finally:
        if server is not None:
            server.close()
        if watcher.dispatcher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.dispatcher.drain(), 10)
            await watcher.dispatcher.close()
        watcher.metrics.write_json(watcher.folder / "metrics.json")
        watcher.write_entities()
        run_sql(
            watcher.con,
            "UPDATE runs SET status = 'stopped', finished_at = ? WHERE run_id = ?",
            [datetime.now(UTC), watcher.run_id],
        )


async def _metrics_http(watcher: Watcher, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await asyncio.wait_for(reader.readline(), 5)
        ok = request.split(b" ")[1:2] == [b"/metrics"]
        body = watcher.metrics.prometheus().encode() if ok else b"not found\n"
        status = b"200 OK" if ok else b"404 Not Found"
        writer.write(
            b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain; version=0.0.4\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
    except (OSError, TimeoutError, IndexError):
        pass
    finally:
        writer.close()


def run_forever(watcher: Watcher, settings: LiveSettings, log: Log = _stderr) -> None:
    """Blocking entry point with SIGINT/SIGTERM handling."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(watcher, settings, stop, log)

    asyncio.run(main())
