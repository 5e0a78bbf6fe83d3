"""The public API of the package is small and locked."""

from __future__ import annotations

import outagewatch


def test_all_is_locked() -> None:
    assert outagewatch.__all__ == ["ELEMENT_SCHEMA", "MrtError", "Problem", "__version__", "read_mrt"]


def test_every_name_resolves() -> None:
    for name in outagewatch.__all__:
        assert getattr(outagewatch, name) is not None
    assert outagewatch.read_mrt.__module__ == "outagewatch.sources.mrtfile"
    assert issubclass(outagewatch.MrtError, Exception)
