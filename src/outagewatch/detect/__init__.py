"""Step-function detectors over signal bins (pure): outages, instability, upstream changes.

``step(state, point) -> (state, events)`` per entity; :func:`fold` replays a series. See
docs/detection.md for the methods and every default.
"""

from outagewatch.detect.detector import (
    DEFAULT_PARAMS,
    Params,
    State,
    fold,
    initial,
    state_from_json,
    state_to_json,
    step,
)
from outagewatch.detect.event import Event, event_id, latest
from outagewatch.detect.point import Point, dense_points

__all__ = [
    "DEFAULT_PARAMS",
    "Event",
    "Params",
    "Point",
    "State",
    "dense_points",
    "event_id",
    "fold",
    "initial",
    "latest",
    "state_from_json",
    "state_to_json",
    "step",
]
