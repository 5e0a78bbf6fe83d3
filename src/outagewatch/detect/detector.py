"""All detectors of one entity as one step function, for replay (a fold) and live (bin by bin).

``step(state, point) -> (state, events)`` is the only entry point: :func:`fold` runs it over a
series, and the live watcher calls it once per bin and checkpoints the state between calls
(:func:`state_to_json` / :func:`state_from_json`, or pickle).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from outagewatch.detect import instability, outage, upstream
from outagewatch.detect.baseline import Window
from outagewatch.detect.event import Event
from outagewatch.detect.point import Point


@dataclass(frozen=True)
class Params:
    """Every detector setting (docs/detection.md lists them with their meaning)."""

    outage: outage.OutageParams = field(default_factory=outage.OutageParams)
    instability: instability.InstabilityParams = field(default_factory=instability.InstabilityParams)
    upstream: upstream.UpstreamParams = field(default_factory=upstream.UpstreamParams)


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class State:
    """The detectors' state for one entity."""

    entity_type: str
    entity: str
    outage: outage.OutageState = field(default_factory=outage.OutageState)
    instability: instability.InstabilityState = field(default_factory=instability.InstabilityState)
    upstream: upstream.UpstreamState = field(default_factory=upstream.UpstreamState)


def initial(entity_type: str, entity: str) -> State:
    return State(entity_type, entity)


def step(state: State, point: Point, params: Params = DEFAULT_PARAMS) -> tuple[State, list[Event]]:
    """Advance every detector of ``state``'s entity by one bin."""
    et, e = state.entity_type, state.entity
    o, ev_o = outage.step(state.outage, point, et, e, params.outage)
    i, ev_i = instability.step(state.instability, point, et, e, params.instability)
    u, ev_u = upstream.step(state.upstream, point, et, e, params.upstream)
    return State(et, e, o, i, u), [*ev_i, *ev_o, *ev_u]


def fold(points: Iterable[Point], state: State, params: Params = DEFAULT_PARAMS) -> tuple[State, list[Event]]:
    """Replay: ``step`` over every point; returns the final state and every emission in order."""
    events: list[Event] = []
    for point in points:
        state, new = step(state, point, params)
        events.extend(new)
    return state, events


def state_to_json(state: State) -> dict[str, Any]:
    """The state as plain JSON data (dicts, lists, numbers, strings)."""
    return asdict(state)


def state_from_json(data: Mapping[str, Any]) -> State:
    """Inverse of :func:`state_to_json`."""
    o, i, u = dict(data["outage"]), dict(data["instability"]), dict(data["upstream"])
    return State(
        data["entity_type"],
        data["entity"],
        _outage_state(o),
        _instability_state(i),
        upstream.UpstreamState(**u),
    )


def _pairs(rows: Any) -> tuple[tuple[int, tuple[float, ...]], ...]:
    return tuple((int(t), tuple(v)) for t, v in rows)


def _outage_state(d: dict[str, Any]) -> outage.OutageState:
    op = d["open"]
    opened = None
    if op is not None:
        opened = outage.OpenOutage(
            op["start"],
            {m: (b[0], b[1]) for m, b in op["baseline"].items()},
            op["peak_share"],
            dict(op["minimum"]),
            op["bins_below"],
            op["scope"],
            op["severity"],
            op["slice_start"],
            tuple(tuple(v) for v in op["slice"]),
        )
    return outage.OutageState(
        windows={m: Window(tuple(w["values"])) for m, w in d["windows"].items()},
        pending=_pairs(d["pending"]),
        recent=_pairs(d["recent"]),
        last_bin=d["last_bin"],
        open=opened,
        cache={m: (b[0], b[1]) for m, b in d["cache"].items()},
        fed_since_refresh=d["fed_since_refresh"],
    )


def _instability_state(d: dict[str, Any]) -> instability.InstabilityState:
    op = d["open"]
    fields = {
        **d,
        "recent": tuple(tuple(r) for r in d["recent"]),
        "hourly": tuple(d["hourly"]),
        "baseline": Window(tuple(d["baseline"]["values"])),
        "above": tuple(d["above"]),
        "open": None if op is None else instability.OpenInstability(**op),
    }
    return instability.InstabilityState(**fields)


__all__ = ["DEFAULT_PARAMS", "Params", "State", "fold", "initial", "state_from_json", "state_to_json", "step"]
