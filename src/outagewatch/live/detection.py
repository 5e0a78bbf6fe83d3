"""Detectors run incrementally: one :func:`outagewatch.detect.step` per entity per closed bin.

Bins arrive change-coded (:mod:`outagewatch.signals.changes`): churn rows, plus the state rows
whose value changed, or every state value on a keyframe (the engine's first bin, also after a
restart). The detectors keep the state values they read, per entity, themselves (a keyframe
starts them afresh), so each entity gets the same :class:`~outagewatch.detect.Point` as from
the dense rows of the bin.

An entity is stepped when it has state values, churn rows in the bin or already has detector
state (an entity whose prefixes all vanished has no visibility values; its point is all zeros,
which is exactly what the outage detector must see). A bin is incomplete when it overlaps a gap
in the stream; it is unreliable when the full-feed peer set is too small or just shrank
(:func:`outagewatch.detect.point.reliable_bins`, the same rule as replay over the store).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outagewatch.detect import Event, Point, State, initial, state_to_json, step
from outagewatch.detect.point import DETECTOR_METRICS, FULL_FEED_V4, FULL_FEED_V6, reliable_bins
from outagewatch.signals.changes import is_churn, keeps_zero

Key = tuple[str, str]


class LiveDetectors:
    def __init__(self, entity_types: Sequence[str], min_peers: int = 3) -> None:
        self.entity_types = tuple(entity_types)
        self.min_peers = min_peers
        self.states: dict[Key, State] = {}
        self.previous_peers: dict[str, float] = {}  # full-feed peer counts of the last bin
        self.carried: dict[Key, dict[str, float]] = {}  # state values a detector reads, per entity

    def step_bin(
        self, signals: pa.Table, bin_start: int, bin_seconds: int, complete: bool, *, keyframe: bool
    ) -> list[Event]:
        """Step every relevant entity over one bin's change-coded signal rows."""
        churn = self._take(signals, keyframe)
        metrics = {k: dict(v) for k, v in self.carried.items()}
        for key, values in churn.items():
            metrics.setdefault(key, {}).update(values)
        glob = metrics.get(("global", "all"), {})
        peers = {m: glob.get(m, 0.0) for m in (FULL_FEED_V4, FULL_FEED_V6)}
        rows = [(bin_start - bin_seconds, m, v) for m, v in self.previous_peers.items()]
        rows += [(bin_start, m, v) for m, v in peers.items()]
        reliable = reliable_bins(rows, min_peers=self.min_peers).get(bin_start, False)
        self.previous_peers = peers
        events: list[Event] = []
        keys = {k for k in metrics if k[0] in self.entity_types} | set(self.states)
        for key in sorted(keys):
            state = self.states.get(key) or initial(*key)
            point = Point(bin_start, bin_seconds, metrics.get(key, {}), complete, reliable)
            state, new = step(state, point)
            self.states[key] = state
            events.extend(new)
        return events

    def _take(self, signals: pa.Table, keyframe: bool) -> dict[Key, dict[str, float]]:
        """Carry the bin's state rows (a 0 the dense form drops ends a value); its churn rows."""
        if keyframe:
            self.carried = {}
        churn: dict[Key, dict[str, float]] = {}
        for t, e, m, v in _wanted(signals, self.entity_types):
            key = (t, e)
            if is_churn(m):
                churn.setdefault(key, {})[m] = v
            elif v != 0 or keeps_zero(t, m):
                self.carried.setdefault(key, {})[m] = v
            elif key in self.carried:
                values = self.carried[key]
                values.pop(m, None)
                if not values:
                    del self.carried[key]
        return churn

    def dumps(self) -> bytes:
        """The detector states, pickled (the detectors' own format for live checkpoints)."""
        return pickle.dumps((self.states, self.previous_peers), protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, blob: bytes) -> None:
        states, peers = pickle.loads(blob)
        if not isinstance(states, dict) or not all(isinstance(s, State) for s in states.values()):
            raise ValueError("checkpoint: detector states are not outagewatch.detect.State values")
        self.states, self.previous_peers = states, dict(peers)

    def to_json(self) -> dict[str, Any]:
        """Readable form (for inspection): ``entity_type|entity → state``."""
        return {f"{t}|{e}": state_to_json(s) for (t, e), s in self.states.items()}


def _wanted(signals: pa.Table, entity_types: Sequence[str]) -> list[tuple[str, str, str, float]]:
    """``(entity_type, entity, metric, value)`` rows of the metrics a detector reads."""
    signals = signals.select(["entity_type", "entity", "metric", "value"])
    strings = [(n, pa.string()) for n in ("entity_type", "entity", "metric")]
    signals = signals.cast(pa.schema([*strings, ("value", pa.float64())]))
    metric = signals["metric"]
    wanted = pc.or_(
        pc.is_in(metric, pa.array([*DETECTOR_METRICS, FULL_FEED_V4, FULL_FEED_V6])),
        pc.and_(pc.starts_with(metric, "upstream."), pc.ends_with(metric, ".share")),
    )
    keep = pc.and_(wanted, pc.is_in(signals["entity_type"], pa.array([*entity_types, "global"])))
    rows = signals.filter(keep)
    cols = [rows[c].to_pylist() for c in ("entity_type", "entity", "metric", "value")]
    return list(zip(*cols, strict=True))
