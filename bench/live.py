"""Benchmark of ``outagewatch watch``: sustained elements/s on one core, withdrawal → alert latency.

Run by hand (needs ../shared/data):

    .venv/bin/python bench/live.py [--quick]

1. Throughput. The real rrc01 withdrawal storm of 2010-08-27 (269,357 elements, 61k withdrawals
   in its worst minute) is converted to RIS Live messages and served at full speed by a local
   RIS Live server in another process; the watcher (decode → signal engine → store → detectors →
   checkpoints) runs in this process. Elements per CPU-second of this process is the sustained
   rate on one core. Peers measured in the same run: Debian ``bgpdump -m`` decoding the same
   file (C, decode and print only), and the per-collector rate of ../shared/data (elements per
   second of the newest full RIS update file, rrc01 2024-10-01, from bgpdump-counts.tsv).
2. Latency. A KP-2014-shaped scenario (4 prefixes withdrawn by every peer) is replayed at 1-min
   and 5-min bins, with a webhook channel pointing at a local HTTP server. Withdrawal → alert =
   stream wait (the outage detector needs ``k_bins`` bins below baseline, and a bin closes when
   the stream is past its end) + processing (bin-closing message received → webhook received).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing as mp
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
STORM = DATA / "mrt" / "rrc01-2010-08-27-storm" / "rrc01.updates.20100827.0840.gz"
MODERN = "mrt/modern/rrc01.updates.20241001.0055.gz"


def _serve(messages: list[str], port_q: Any, stop_ev: Any) -> None:
    from outagewatch.live.replay import ReplayServer

    srv = ReplayServer(messages).start()
    port_q.put(srv.port)
    stop_ev.wait()
    srv.stop()


def _watch_until(
    settings: Any, db: Path, expected: int, alerts: Any = None
) -> tuple[Any, float, float, list[tuple[float, float]]]:
    from outagewatch.live import run

    watcher, _ = run.build(db, settings, alerts=alerts)
    batches: list[tuple[float, float]] = []
    inner = watcher.messages

    def spy(batch: Sequence[str | bytes], received_at: float) -> None:
        inner(batch, received_at)
        if watcher.last_ts_us is not None:
            batches.append((received_at, watcher.last_ts_us / 1e6))

    watcher.messages = spy  # type: ignore[method-assign]

    async def main() -> tuple[float, float]:
        stop = asyncio.Event()
        task = asyncio.create_task(run.serve(watcher, settings, stop))
        while watcher.metrics.counters["messages"] == 0:
            await asyncio.sleep(0.001)
        t0, c0 = time.perf_counter(), time.process_time()
        while watcher.metrics.counters["messages"] < expected:
            await asyncio.sleep(0.005)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if watcher.dispatcher is not None:
            await asyncio.wait_for(watcher.dispatcher.drain(), 30)
        stop.set()
        await task
        return wall, cpu

    wall, cpu = asyncio.run(main())
    return watcher, wall, cpu, batches


def throughput(tmp: Path, bins: list[int]) -> None:
    from outagewatch import read_mrt
    from outagewatch.live.replay import elements_to_messages
    from outagewatch.live.settings import parse

    table = read_mrt(STORM, collector="rrc01").read_all()
    msgs = elements_to_messages(table)
    closing = json.loads(msgs[0])
    closing["data"]["timestamp"] = 1282899000
    msgs.append(json.dumps(closing))
    t0 = time.perf_counter()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["bgpdump", "-m", str(STORM)], check=True, **quiet)  # type: ignore[call-overload]
    bgpdump_rate = table.num_rows / (time.perf_counter() - t0)
    rows = list(csv.DictReader((DATA / "bgpdump-counts.tsv").open(), delimiter="\t"))
    modern = next(r for r in rows if r["file"] == MODERN)
    collector_rate = (int(modern["A"]) + int(modern["W"])) / 300
    print(f"storm: {table.num_rows:,} elements in {len(msgs):,} RIS Live messages")
    print(f"peer bgpdump -m (C, decode+print only): {bgpdump_rate:,.0f} elements/s")
    print(f"peer per-collector rate (rrc01 2024-10-01, bgpdump-counts.tsv): {collector_rate:,.0f} elements/s")
    for b in bins:
        ctx = mp.get_context("spawn")
        port_q, stop_ev = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(msgs, port_q, stop_ev), daemon=True)
        proc.start()
        port = port_q.get(timeout=120)
        url = f"ws://127.0.0.1:{port}/v1/ws/"
        settings = parse({"live": {"url": url, "bin_seconds": b, "countries": False}})
        w, wall, cpu, _ = _watch_until(settings, tmp / f"tp{b}.duckdb", len(msgs) + 1)
        stop_ev.set()
        proc.join(20)
        n = w.metrics.counters["elements"]
        rate = n / cpu
        print(
            f"watcher {b:>3}-s bins: {n:,.0f} elements, {cpu:.2f} CPU-s ({wall:.2f} s wall): "
            f"{rate:,.0f} elements/s on one core = {rate / bgpdump_rate:.2f}x bgpdump -m, "
            f"{rate / collector_rate:.0f}x one collector, "
            f"{rate / (25 * collector_rate):.1f}x 25 RIS collectors; "
            f"bins {w.metrics.counters['bins_closed']:.0f}, peak RSS {w.metrics.rss_peak / 1e6:.0f} MB"
        )


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.arrivals.append((time.time(), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def latency(tmp: Path, bins: list[int]) -> None:
    from outagewatch.alerts.config import parse as parse_alerts
    from outagewatch.detect.outage import OutageParams
    from outagewatch.live.replay import ReplayServer, outage_stream
    from outagewatch.live.settings import parse

    k = OutageParams().k_bins
    hook: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.arrivals = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    for b in bins:
        msgs, down, _ = outage_stream(1419206400, b, 14, 3, 2, background=16)
        srv = ReplayServer(msgs, rate=8).start()  # paced (~1.5 s per bin): no backlog, as live
        settings = parse({"live": {"url": srv.url, "bin_seconds": b, "countries": False}})
        url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
        alerts = parse_alerts({"alerts": {"channels": [{"type": "webhook", "url": url}]}}, {})
        hook.arrivals.clear()
        _, _, _, batches = _watch_until(settings, tmp / f"lat{b}.duckdb", len(msgs) + 1, alerts)
        srv.stop()
        got = [(t, a) for t, a in hook.arrivals if a["kind"] == "outage" and a["status"] == "open"]
        if not got:
            print(f"{b}-s bins: no outage alert (unexpected)")
            continue
        arrival = got[0][0]
        close_at = (down // b + k) * b  # the bin after the k-th low bin starts: the event's bin closes
        received = next(wall for wall, ts in batches if ts >= close_at)
        wait, proc = close_at - down, arrival - received
        print(
            f"withdrawal → alert, {b:>3}-s bins: stream wait {wait:.0f} s ({k} bins below baseline, "
            f"withdrawal {down % b} s into its bin) + processing {proc * 1000:.0f} ms "
            f"= {wait + proc:.1f} s; live, bins close {settings.close_grace_seconds:.0f} s after their end "
            f"when the stream is quiet: ≤ {wait + settings.close_grace_seconds + proc:.1f} s"
        )
    hook.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only 60-s bins")
    args = ap.parse_args()
    if not STORM.exists():
        sys.exit(f"needs {STORM} (../shared/data)")
    tmp = Path(tempfile.mkdtemp(prefix="ow-bench-live-"))
    try:
        throughput(tmp, [60] if args.quick else [60, 300])
        latency(tmp, [60] if args.quick else [60, 300])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
