"""The plain-language report of an event: the report module's renderer when it has one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from outagewatch.serve.status import fallback_report


def _renderer() -> Callable[[Mapping[str, Any]], str] | None:
    try:
        module = importlib.import_module("outagewatch.report")
    except ImportError:
        return None
    fn = getattr(module, "event_text", None)
    return fn if callable(fn) else None


def event_report(event: Mapping[str, Any]) -> str:
    """Report text for an event row (ISO times, parsed evidence)."""
    render = _renderer()
    if render is not None:
        try:
            return str(render(event))
        except (KeyError, TypeError, ValueError):
            pass
    return fallback_report(event)
