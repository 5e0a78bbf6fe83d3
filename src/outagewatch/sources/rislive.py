"""RIS Live websocket client: subscribe, receive in batches, survive the network.

The public protocol (https://ris-live.ripe.net/manual/): the client sends
``{"type": "ris_subscribe", "data": {host, type, require, peer, path, prefix, moreSpecific,
lessSpecific, socketOptions: {includeRaw, acknowledge}}}``; the server streams ``ris_message``
objects and reports problems as ``ris_error``. ``{"type": "ping"}`` is answered with ``pong``.

:class:`RisLiveClient` connects, subscribes, and hands the raw message texts to a
:class:`StreamHandler` in batches (whatever arrived while the handler was busy, at most
``max_batch``). It pings the server (websocket ping frames; no pong within ``ping_timeout``
drops the connection), drops a connection silent for ``idle_timeout`` seconds, and reconnects
with exponential backoff and jitter, telling the handler about each disconnection so it can
account for the gap. Memory stays bounded: at most ``max_pending`` messages wait for the
handler; beyond that the client stops reading and TCP flow control slows the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect

DEFAULT_URL = "wss://ris-live.ripe.net/v1/ws/?client=outagewatch"
SUBSCRIBE_KEYS = ("host", "type", "require", "peer", "path", "prefix", "moreSpecific", "lessSpecific")


@dataclass(frozen=True)
class ClientSettings:
    url: str = DEFAULT_URL
    subscribe: Mapping[str, Any] = field(default_factory=dict)
    include_raw: bool = False
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    open_timeout: float = 10.0
    idle_timeout: float = 120.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 0.5
    max_batch: int = 20_000
    max_pending: int = 100_000


class StreamHandler(Protocol):
    def connected(self, url: str) -> None: ...

    def disconnected(self, reason: str) -> None: ...

    def messages(self, batch: Sequence[str | bytes], received_at: float) -> None: ...

    def tick(self, now: float) -> None: ...


def subscribe_message(subscribe: Mapping[str, Any], include_raw: bool = False) -> str:
    """The ``ris_subscribe`` request for these filters (unknown filter names are an error)."""
    unknown = sorted(set(subscribe) - set(SUBSCRIBE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown RIS Live filter(s): {', '.join(unknown)}; known: {', '.join(SUBSCRIBE_KEYS)}"
        )
    data = {k: v for k, v in subscribe.items() if v not in (None, "", [])}
    data["socketOptions"] = {"includeRaw": include_raw, "acknowledge": True}
    return json.dumps({"type": "ris_subscribe", "data": data})


def backoff_delay(attempt: int, s: ClientSettings, rng: random.Random) -> float:
    """``min(max, initial·2^attempt)`` scaled by a random factor in ``[1 - jitter, 1]``."""
    base = min(s.backoff_max, s.backoff_initial * 2.0**attempt)
    return base * (1.0 - s.jitter * rng.random())


class RisLiveClient:
    def __init__(
        self, settings: ClientSettings, handler: StreamHandler, rng: random.Random | None = None
    ) -> None:
        self.s, self.handler = settings, handler
        self.rng = rng or random.Random()
        self.connections = 0
        self._buf: list[str | bytes] = []
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._last_recv = 0.0
        self._received = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream and reconnect until ``stop`` is set."""
        attempt = 0
        ticker = asyncio.create_task(self._ticker(stop))
        try:
            while not stop.is_set():
                reason = await self._session(stop)
                if reason is None:
                    attempt = 0
                    continue
                if stop.is_set():
                    break
                self.handler.disconnected(reason)
                attempt = 0 if self._received else attempt
                delay = backoff_delay(attempt, self.s, self.rng)
                attempt += 1
                await _wait(stop, delay)
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)

    async def _session(self, stop: asyncio.Event) -> str | None:
        """One connection; returns why it ended (None: it ended because ``stop`` was set)."""
        self._received = 0
        try:
            async with connect(
                self.s.url,
                ping_interval=self.s.ping_interval,
                ping_timeout=self.s.ping_timeout,
                open_timeout=self.s.open_timeout,
                max_size=2**24,
                max_queue=64,
                compression=None,
            ) as ws:
                await ws.send(subscribe_message(self.s.subscribe, self.s.include_raw))
                self.connections += 1
                self.handler.connected(self.s.url)
                self._received = await self._pump(ws, stop)
                if stop.is_set():
                    return None
                why = ws.close_reason or "connection closed"
                return f"closed after {self._received} messages: {why}"
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            if stop.is_set():
                return None
            return f"{type(exc).__name__}: {exc}"

    async def _pump(self, ws: ClientConnection, stop: asyncio.Event) -> int:
        """Receive into the buffer while a consumer hands batches to the handler."""
        self._last_recv = time.monotonic()
        consumer = asyncio.create_task(self._consume())
        watchdog = asyncio.create_task(self._watchdog(ws, stop))
        received = 0
        try:
            async for message in ws:
                if consumer.done():
                    consumer.result()  # the handler failed: raise its error here
                self._buf.append(message)
                received += 1
                self._ready.set()
                if len(self._buf) >= self.s.max_pending:
                    self._space.clear()
                    await self._space.wait()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._last_recv = time.monotonic()
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
            self._ready.set()
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            if not consumer.cancelled() and consumer.exception() is not None:
                raise RuntimeError("the stream handler failed") from consumer.exception()
            self._deliver()
        return received

    async def _consume(self) -> None:
        """One batch at a time, yielding in between (alert delivery and pings share the loop)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._deliver(once=True):
                self._ready.set()
            await asyncio.sleep(0)

    def _deliver(self, once: bool = False) -> bool:
        """Hand buffered messages to the handler; returns whether some are still waiting."""
        while self._buf:
            batch = self._buf[: self.s.max_batch]
            del self._buf[: self.s.max_batch]
            self._last_recv = time.monotonic()
            self.handler.messages(batch, time.time())
            if once:
                break
        if len(self._buf) < self.s.max_pending:
            self._space.set()
        return bool(self._buf)

    async def _watchdog(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.s.idle_timeout / 4))
            if stop.is_set():
                await ws.close(1000, "watcher stopping")
                return
            if time.monotonic() - self._last_recv > self.s.idle_timeout and not self._buf:
                await ws.close(1000, f"no message for {self.s.idle_timeout:g} s")
                return

    async def _ticker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(1.0)
            self.handler.tick(time.time())


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
