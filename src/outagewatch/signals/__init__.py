"""Routing state, full-feed peers and mergeable per-bin signals (pure: values in, values out).

See docs/signals.md. The usual entry points:

- :class:`SignalEngine` — feed element batches, get a :class:`ClosedBin` per finished bin;
- :func:`finalize` / :func:`merge` / :func:`empty` / :func:`add` — the partial algebra;
- :func:`snapshot` / :func:`restore` — carry routing state between windows or tasks.
"""

from __future__ import annotations

from outagewatch.signals.engine import ClosedBin, SignalEngine
from outagewatch.signals.mapping import PrefixMapper, RangeMapper
from outagewatch.signals.partial import SignalPartial, add, empty, finalize, merge, merge_all
from outagewatch.signals.snapshot import StateSnapshot, restore, snapshot
from outagewatch.signals.state import RoutingState

__all__ = [
    "ClosedBin",
    "PrefixMapper",
    "RangeMapper",
    "RoutingState",
    "SignalEngine",
    "SignalPartial",
    "StateSnapshot",
    "add",
    "empty",
    "finalize",
    "merge",
    "merge_all",
    "restore",
    "snapshot",
]
