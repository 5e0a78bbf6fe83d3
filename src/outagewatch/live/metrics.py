"""The watcher's own measurements: counters and lags, as a JSON file and Prometheus text.

Lags (seconds, wall clock):

- ``message_lag_seconds``: message received − message time (RIS delay + network);
- ``bin_close_lag_seconds``: bin closed − bin end;
- ``event_lag_seconds``: event emitted − end of the bin that produced it (message time → event);
- ``bin_processing_seconds``: time to finalise, store, detect and checkpoint one bin.

For each lag the last and the maximum value are kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import psutil

COUNTERS = (
    "messages",
    "elements",
    "problems",
    "ris_errors",
    "connections",
    "disconnections",
    "gaps",
    "bins_closed",
    "bins_incomplete",
    "events",
    "alerts_queued",
)
LAGS = ("message_lag_seconds", "bin_close_lag_seconds", "event_lag_seconds", "bin_processing_seconds")


@dataclass
class LiveMetrics:
    counters: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0.0))
    last: dict[str, float] = field(default_factory=dict)
    peak: dict[str, float] = field(default_factory=dict)
    rss_peak: int = 0

    def add(self, name: str, n: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0.0) + n

    def lag(self, name: str, seconds: float) -> None:
        self.last[name] = seconds
        self.peak[name] = max(seconds, self.peak.get(name, seconds))

    def snapshot(self) -> dict[str, float]:
        rss = psutil.Process().memory_info().rss
        self.rss_peak = max(self.rss_peak, rss)
        out = dict(self.counters)
        out.update({f"{k}": v for k, v in self.last.items()})
        out.update({f"{k}_max": v for k, v in self.peak.items()})
        out["rss_bytes"] = float(rss)
        out["rss_peak_bytes"] = float(self.rss_peak)
        return out

    def write_json(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    def prometheus(self) -> str:
        lines = []
        for name, value in sorted(self.snapshot().items()):
            metric = f"outagewatch_live_{name}"
            kind = "counter" if name in COUNTERS else "gauge"
            lines += [f"# TYPE {metric} {kind}", f"{metric} {value:.6g}"]
        return "\n".join(lines) + "\n"
