"""A local RIS Live server for tests, benchmarks and demos: replays messages over a websocket.

:func:`elements_to_messages` turns element tables (from MRT files or the simulator) into RIS
Live ``ris_message`` texts, one per run of consecutive elements sharing time, peer, kind and
attributes (the BGP UPDATE they came from). :class:`ReplayServer` speaks the protocol on
127.0.0.1: it waits for ``ris_subscribe``, acknowledges it when asked, answers ``ping`` with
``pong``, applies the ``host`` filter, and streams the messages, at full speed or at a given
rate. The cursor is shared between connections, so a client that reconnects continues where
the stream is; :meth:`ReplayServer.drop` cuts every connection and skips messages, as a
network outage would.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.protocol import State

ORIGINS = ("igp", "egp", "incomplete")
STATES = {6: "connected"}


def _addr(raw: bytes, afi: int) -> str:
    return str(ipaddress.IPv4Address(raw[:4]) if afi == 4 else ipaddress.IPv6Address(raw))


def _path(path: list[int], segments: list[int]) -> list[Any]:
    out: list[Any] = []
    pos = 0
    for seg in segments or [2 * 256 + len(path)]:
        kind, n = divmod(seg, 256)
        part = path[pos : pos + n]
        pos += n
        out.extend(part if kind in (2, 3) else [sorted(part)])
    return out


_KEY_COLS = (
    "timestamp",
    "collector",
    "kind",
    "peer_ip",
    "peer_asn",
    "as_path",
    "nexthop",
    "communities",
    "med",
)


def elements_to_messages(table: pa.Table) -> list[str]:
    """RIS Live message texts for the A/W/S elements of ``table`` (RIB rows are skipped)."""
    t = table.filter(pc.is_in(table["kind"].cast(pa.string()), pa.array(["A", "W", "S"])))
    rows = t.to_pylist()
    out: list[str] = []
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and any(row[c] != group[0][c] for c in _KEY_COLS):
            out.append(_message(group))
            group = []
        group.append(row)
        if row["kind"] == "S":
            out.append(_message(group))
            group = []
    if group:
        out.append(_message(group))
    return out


def _message(rows: list[dict[str, Any]]) -> str:
    r = rows[0]
    data: dict[str, Any] = {
        "timestamp": round(r["timestamp"].timestamp(), 6),
        "peer": _addr(r["peer_ip"], r["peer_afi"]),
        "peer_asn": str(r["peer_asn"]),
        "id": f"replay-{r['timestamp'].timestamp()}",
        "host": r["collector"],
    }
    if r["kind"] == "S":
        data.update(type="RIS_PEER_STATE", state=STATES.get(r["new_state"], "down"))
        return json.dumps({"type": "ris_message", "data": data})
    prefixes = [f"{_addr(x['prefix'], x['afi'])}/{x['prefix_len']}" for x in rows]
    data["type"] = "UPDATE"
    if r["kind"] == "W":
        data.update(path=[], community=[], announcements=[], withdrawals=prefixes)
    else:
        data["path"] = _path(r["as_path"], r["as_path_segments"])
        data["community"] = [[c >> 16, c & 0xFFFF] for c in r["communities"]]
        if r["origin"] is not None:
            data["origin"] = ORIGINS[r["origin"]]
        if r["med"] is not None:
            data["med"] = r["med"]
        data["announcements"] = [
            {"next_hop": _addr(r["nexthop"], r["nexthop_afi"] or 4), "prefixes": prefixes}
        ]
        data["withdrawals"] = []
    return json.dumps({"type": "ris_message", "data": data})


def outage_stream(
    start: int,
    bin_seconds: int,
    bins_before: int,
    bins_out: int,
    bins_after: int,
    *,
    peers: int = 8,
    background: int = 64,
    targets: Sequence[str] = ("175.45.176.0/24", "175.45.177.0/24", "175.45.178.0/24", "175.45.179.0/24"),
    origin: int = 131279,
    upstream: int = 4837,
    host: str = "rrc00",
) -> tuple[list[str], int, int]:
    """A scenario stream in the shape of the 2014 KP outage, compressed in time.

    ``peers`` full-feed peers announce ``background`` prefixes and the ``targets`` (origin
    ``origin`` behind ``upstream``) at ``start``; every bin carries some background churn; the
    targets are withdrawn by every peer ``bins_before`` bins after the start and come back
    ``bins_out`` bins later. A last message one bin after the end closes the final bin.
    Returns (messages, withdrawal time, return time) in epoch seconds.
    """
    out: list[str] = []
    peer_ips = [f"192.0.2.{i + 1}" for i in range(peers)]
    bg = [f"10.{i // 256}.{i % 256}.0/24" for i in range(background)]

    def update(t: float, i: int, announce: list[str], path: list[int], withdraw: list[str]) -> str:
        data: dict[str, Any] = {
            "timestamp": round(t, 3), "peer": peer_ips[i], "peer_asn": str(64600 + i), "id": f"sim-{t}-{i}",
            "host": host, "type": "UPDATE", "path": path, "community": [], "origin": "igp",
            "announcements": [{"next_hop": peer_ips[i], "prefixes": announce}] if announce else [],
            "withdrawals": withdraw,
        }  # fmt: skip
        return json.dumps({"type": "ris_message", "data": data})

    def bg_path(i: int, k: int) -> list[int]:
        return [64600 + i, 3356, 65000 + k % 50]

    for i in range(peers):
        for k, p in enumerate(bg):
            out.append(update(start + 0.01 * i, i, [p], bg_path(i, k), []))
        out.append(
            update(start + 0.01 * i + 0.005, i, list(targets), [64600 + i, 3356, upstream, origin], [])
        )
    total = bins_before + bins_out + bins_after
    down = start + bins_before * bin_seconds + 7
    back = start + (bins_before + bins_out) * bin_seconds + 7
    for b in range(total):
        t0 = start + b * bin_seconds
        for j in range(4):  # background churn: path flaps between two upstreams
            k = (b * 4 + j) % background
            i = (b + j) % peers
            path = bg_path(i, k) if (b + j) % 2 else [64600 + i, 174, 65000 + k % 50]
            out.append(update(t0 + 20 + j, i, [bg[k]], path, []))
        if t0 < down <= t0 + bin_seconds:
            out.extend(update(down + 0.1 * i, i, [], [], list(targets)) for i in range(peers))
        if t0 < back <= t0 + bin_seconds:
            paths = [[64600 + i, 3356, upstream, origin] for i in range(peers)]
            out.extend(update(back + 0.1 * i, i, list(targets), paths[i], []) for i in range(peers))
    out.append(update(start + (total + 1) * bin_seconds + 1, 0, [bg[0]], bg_path(0, 0), []))
    out.sort(key=lambda m: json.loads(m)["data"]["timestamp"])
    return out, down, back


class ReplayServer:
    """RIS Live protocol on 127.0.0.1, in a background thread with its own event loop."""

    def __init__(
        self, messages: Sequence[str], rate: float | None = None, hosts: Sequence[str] | None = None
    ) -> None:
        self.messages = list(messages)
        self.hosts = list(hosts) if hosts is not None else None
        self.rate = rate
        self.cursor = 0
        self.connections = 0
        self.subscriptions: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._live: set[ServerConnection] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws/?client=test"

    def start(self) -> ReplayServer:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = fut.result(10)
        return self

    async def _start(self) -> int:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None, max_queue=64)
        return int(self._server.sockets[0].getsockname()[1])

    def extend(self, messages: Sequence[str]) -> None:
        self._loop.call_soon_threadsafe(self.messages.extend, list(messages))

    def drop(self, skip: int = 0) -> None:
        """Cut every connection now, as a network failure would (no closing handshake), and skip
        ``skip`` messages (lost while disconnected)."""

        async def cut() -> None:
            self.cursor += skip
            for ws in list(self._live):
                ws.transport.abort()

        asyncio.run_coroutine_threadsafe(cut(), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, ws: ServerConnection) -> None:
        first = json.loads(await ws.recv())
        if first.get("type") != "ris_subscribe":
            await ws.send(json.dumps({"type": "ris_error", "data": {"message": "expected ris_subscribe"}}))
            return
        data = first.get("data", {})
        self.subscriptions.append(data)
        if data.get("socketOptions", {}).get("acknowledge"):
            await ws.send(json.dumps({"type": "ris_subscribe_ok", "data": {"subscription": data}}))
        self.connections += 1
        self._live.add(ws)
        reader = asyncio.create_task(self._pings(ws))
        try:
            await self._stream(ws, data.get("host"))
        except Exception:  # connection cut by drop() or by the client
            pass
        finally:
            self._live.discard(ws)
            reader.cancel()

    async def _pings(self, ws: ServerConnection) -> None:
        async for text in ws:
            if json.loads(text).get("type") == "ping":
                await ws.send(json.dumps({"type": "pong", "data": None}))

    async def _stream(self, ws: ServerConnection, host: str | None) -> None:
        delay = 1.0 / self.rate if self.rate else 0.0
        while True:
            if self.cursor >= len(self.messages):
                if ws.state is not State.OPEN:
                    return
                await asyncio.sleep(0.01)
                continue
            i = self.cursor
            self.cursor += 1
            if host and self.hosts is not None and self.hosts[i] != host:
                continue
            await ws.send(self.messages[i])
            if delay:
                await asyncio.sleep(delay)
            elif i % 256 == 0:
                await asyncio.sleep(0)
