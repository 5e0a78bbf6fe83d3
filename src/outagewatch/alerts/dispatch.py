"""Alert delivery: filter, deduplicate, queue per channel, retry with backoff, record attempts.

Each channel has its own queue and worker task, so a slow or failing channel delays only its
own alerts; :meth:`Dispatcher.submit` never waits (detection goes on). Every attempt, good or
bad, is passed to the ``record`` callback (the watcher writes them to ``alert_deliveries``).
An alert goes out once per ``(event_id, state, channel)``; ``sent`` is preloaded from the store
so a restart does not repeat alerts.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from outagewatch.alerts.channels import Channel, make
from outagewatch.alerts.config import AlertConfig, ChannelConfig
from outagewatch.alerts.message import Alert, build, event_state, wanted
from outagewatch.detect.event import Event

QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class Attempt:
    """One row of the ``alert_deliveries`` table."""

    delivery_id: str
    event_id: str
    event_state: str
    channel: str
    attempt: int
    attempted_at: datetime
    ok: bool
    status: str | None
    error: str | None


RecordFn = Callable[[Attempt], None]
Key = tuple[str, str, str]


def delivery_id(event_id: str, state: str, channel: str) -> str:
    return hashlib.sha1(f"{event_id}|{state}|{channel}".encode()).hexdigest()[:16]


class Dispatcher:
    def __init__(
        self,
        cfg: AlertConfig,
        record: RecordFn,
        *,
        sent: Iterable[Key] = (),
        channels: Sequence[tuple[ChannelConfig, Channel]] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.cfg, self.record, self.now, self.sleep = cfg, record, now, sleep
        pairs = (
            channels if channels is not None else [(c, make(c, cfg.timeout_seconds)) for c in cfg.channels]
        )
        self.channels = list(pairs)
        self.sent: set[Key] = set(sent)
        self.queued: set[Key] = set()
        self.queues: dict[str, asyncio.Queue[Alert]] = {}
        self.workers: list[asyncio.Task[None]] = []
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        """Start one worker per channel (inside the running event loop)."""
        for cfg, channel in self.channels:
            queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE_SIZE)
            self.queues[cfg.name] = queue
            self.workers.append(asyncio.create_task(self._work(channel, queue), name=f"alerts-{cfg.name}"))

    def submit(self, events: Iterable[Event]) -> int:
        """Queue the alerts these event emissions call for; returns how many were queued."""
        queued = 0
        now = self.now()
        for event in events:
            alert: Alert | None = None
            for cfg, _ in self.channels:
                key = (event.event_id, event_state(event), cfg.name)
                if key in self.sent or key in self.queued or not wanted(event, self.cfg, cfg, now):
                    continue
                alert = alert or build(event, self.cfg.base_url)
                queued += self._enqueue(cfg.name, key, alert)
        return queued

    def _enqueue(self, name: str, key: Key, alert: Alert) -> int:
        try:
            self.queues[name].put_nowait(alert)
        except asyncio.QueueFull:
            self._record(alert, name, 0, None, f"queue full ({QUEUE_SIZE} alerts waiting); dropped")
            return 0
        self.queued.add(key)
        return 1

    async def _work(self, channel: Channel, queue: asyncio.Queue[Alert]) -> None:
        while True:
            alert = await queue.get()
            try:
                await self._deliver(channel, alert)
            finally:
                queue.task_done()

    async def _deliver(self, channel: Channel, alert: Alert) -> None:
        key = (alert.event_id, alert.state, channel.name)
        for attempt in range(1, self.cfg.retries + 2):
            try:
                status = await asyncio.wait_for(channel.send(alert), self.cfg.timeout_seconds)
            except Exception as exc:  # a channel's failure is recorded, never raised
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._record(alert, channel.name, attempt, None, error)
                if attempt <= self.cfg.retries:
                    await self.sleep(self.cfg.backoff_seconds * 2 ** (attempt - 1))
                continue
            self._record(alert, channel.name, attempt, status, None)
            self.sent.add(key)
            self.delivered += 1
            break
        else:
            self.failed += 1
        self.queued.discard(key)

    def _record(
        self, alert: Alert, channel: str, attempt: int, status: str | None, error: str | None
    ) -> None:
        row = Attempt(
            delivery_id(alert.event_id, alert.state, channel),
            alert.event_id,
            alert.state,
            channel,
            attempt,
            self.now(),
            error is None,
            status,
            error,
        )
        try:
            self.record(row)
        except Exception as exc:  # bookkeeping must not kill delivery
            sys.stderr.write(f"outagewatch: cannot record alert delivery {row}: {exc}\n")

    async def drain(self) -> None:
        """Wait until every queued alert is delivered or given up."""
        for queue in self.queues.values():
            await queue.join()

    async def close(self) -> None:
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        self.workers.clear()
