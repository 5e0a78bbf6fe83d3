"""outagewatch: watch global BGP routing for Internet outages and instability.

The public API is small and locked by a test (``tests/test_public_api.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["ELEMENT_SCHEMA", "MrtError", "Problem", "__version__", "read_mrt"]

if TYPE_CHECKING:
    from outagewatch.model.element import ELEMENT_SCHEMA
    from outagewatch.model.problem import MrtError, Problem
    from outagewatch.sources.mrtfile import read_mrt

_LAZY = {
    "ELEMENT_SCHEMA": "outagewatch.model.element",
    "MrtError": "outagewatch.model.problem",
    "Problem": "outagewatch.model.problem",
    "read_mrt": "outagewatch.sources.mrtfile",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'outagewatch' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
