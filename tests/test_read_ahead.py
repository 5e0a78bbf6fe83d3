"""Reading ahead on a second thread: items in order, errors at their place, bounded, stoppable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from outagewatch.sources.read_ahead import read_ahead


def test_items_come_in_order_made_on_another_thread() -> None:
    makers: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(1000):
            makers.add(threading.current_thread().name)
            yield i

    assert list(read_ahead(items(), depth=3)) == list(range(1000))
    assert makers == {"outagewatch-read-ahead"}


def test_an_error_is_raised_at_its_place_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("file.gz: truncated at byte 77")

    got = []
    with pytest.raises(OSError, match="truncated at byte 77"):
        for x in read_ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_the_producer_stays_at_most_depth_items_ahead() -> None:
    made = 0

    def items() -> Iterator[int]:
        nonlocal made
        for i in range(100):
            made += 1
            yield i

    it = read_ahead(items(), depth=4)
    assert next(it) == 0
    time.sleep(0.2)  # time enough to run far ahead, were it unbounded
    assert made <= 1 + 4 + 1  # the one taken, a full queue, one waiting to be put
    assert list(it) == list(range(1, 100))


def test_leaving_early_stops_the_producer() -> None:
    made = 0

    def items() -> Iterator[int]:
        nonlocal made
        for i in range(10**9):
            made += 1
            yield i

    before = threading.active_count()
    it = read_ahead(items(), depth=2)
    for x in it:
        if x == 5:
            break
    it.close()  # what leaving a for loop over a generator does when it is collected
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
    assert made < 20


def test_depth_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="depth"):
        list(read_ahead([1], depth=0))
