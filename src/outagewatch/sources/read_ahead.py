"""Read ahead: the items of an iterable, made by a background thread a few items ahead.

The MRT reader (decompression, the compiled decoder) and the signal engine's compiled core both
release the GIL while they work, so reading the next batches on one core overlaps with
processing the current ones on another: a pipeline of two stages instead of one thread doing
both in turn. The items come out in order; an exception raised while making them is raised
here, at its place in the sequence; leaving the loop early (``break``, an exception, ``close``)
stops the producer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import suppress
from queue import Empty, Full, Queue
from typing import Final, TypeVar

T = TypeVar("T")
DEPTH: Final = 8
"""Items made ahead at most (reader batches are about 30,000 elements: a few MB each)."""

_END: Final = object()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterable[T], depth: int = DEPTH) -> Iterator[T]:
    """``items``, made by a background thread up to ``depth`` items ahead of the consumer."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
            return
        put(_END)

    worker = threading.Thread(target=produce, name="outagewatch-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            with suppress(Empty):
                queue.get(timeout=0.05)
        worker.join()


__all__ = ["DEPTH", "read_ahead"]
