"""A trailing window of values with robust statistics (median, MAD, trimmed mean).

The window is an immutable value (a tuple in arrival order), so detector states that hold it stay
picklable and JSON-able. Windows are short (a day of 5-minute bins), so sorting on demand is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAD_TO_SIGMA: Final = 1.4826
"""Scale of the median absolute deviation to a normal standard deviation."""


@dataclass(frozen=True)
class Window:
    """The last ``len(values)`` values fed to a baseline, oldest first."""

    values: tuple[float, ...] = ()

    def push(self, value: float, capacity: int) -> Window:
        """A window with ``value`` appended, keeping at most ``capacity`` values."""
        kept = self.values[-(capacity - 1) :] if capacity > 1 else ()
        return Window((*kept, float(value)))

    def __len__(self) -> int:
        return len(self.values)

    def median(self) -> float:
        return median(self.values)

    def mad(self) -> float:
        """Median absolute deviation from the median."""
        if not self.values:
            return 0.0
        m = self.median()
        return median(tuple(abs(v - m) for v in self.values))

    def trimmed_mean(self, trim: float) -> float:
        """Mean after dropping the top ``trim`` share of values (robust to spikes)."""
        if not self.values:
            return 0.0
        s = sorted(self.values)
        keep = s[: max(1, len(s) - int(len(s) * trim))]
        return sum(keep) / len(keep)


def median(values: tuple[float, ...]) -> float:
    """The median (0.0 for no values)."""
    if not values:
        return 0.0
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


__all__ = ["MAD_TO_SIGMA", "Window", "median"]
