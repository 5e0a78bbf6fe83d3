"""``evolve``: a new frozen detector state with some fields changed.

The detectors step once per (entity, bin), hundreds of thousands of times per replay, and
``dataclasses.replace`` (which re-runs ``__init__`` with every field) was a third of detection
time. States are plain frozen dataclasses without ``__post_init__`` logic, so copying the field
dictionary is exact.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def evolve(state: T, **changes: Any) -> T:
    """``dataclasses.replace(state, **changes)``, for frozen dataclasses without ``__post_init__``."""
    fields = type(state).__dataclass_fields__  # type: ignore[attr-defined]
    if not changes.keys() <= fields.keys():
        unknown = sorted(set(changes) - set(fields))
        raise TypeError(f"{type(state).__name__} has no field(s) {', '.join(unknown)}")
    new = object.__new__(type(state))
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


__all__ = ["evolve"]
