"""Every metric name the engine can emit is documented in docs/signals.md, and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from outagewatch.signals import metrics
from outagewatch.signals.build import batch, element
from outagewatch.signals.engine import SignalEngine
from outagewatch.signals.mapping import RangeMapper
from outagewatch.signals.partial import finalize

DOC = Path(__file__).resolve().parents[1] / "docs" / "signals.md"


def _documented() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    names = set(re.findall(r"`((?:ipv4|ipv6|all|upstream)\.[a-z0-9_<>.]+)`", text))
    thresholds = set(re.findall(r"`((?:ff|asn)_[a-z0-9]+)`", text))
    out = set()
    for n in names:
        if "<threshold>" in n:
            out |= {n.replace("<threshold>", t) for t in thresholds}
        else:
            out.add(n)
    return out


def test_catalogue_is_documented() -> None:
    documented = _documented()
    missing = [m for m in metrics.catalogue() if m not in documented]
    assert not missing, f"undocumented metrics: {missing}"
    assert set(metrics.THRESHOLDS) <= set(re.findall(r"`((?:ff|asn)_[a-z0-9]+)`", DOC.read_text()))


def test_emitted_metrics_are_in_catalogue() -> None:
    t0 = 1_600_000_200
    rows = [
        element(t0, "A", peer="192.0.2.1", prefix="10.0.0.0/24", path=[1, 2, 3]),
        element(t0, "A", peer="192.0.2.2", peer_asn=2, prefix="10.0.0.0/24", path=[2, 3]),
        element(t0, "A", peer="2001:db8::1", peer_asn=5, prefix="2001:db8::/32", path=[5, 6, 7]),
        element(t0 + 1, "A", peer="192.0.2.1", prefix="10.0.0.0/24", path=[1, 2, 3]),
        element(t0 + 2, "A", peer="192.0.2.2", peer_asn=2, prefix="10.0.0.0/24", path=[2, 9, 3]),
        element(t0 + 3, "W", peer="192.0.2.1", prefix="10.0.0.0/24"),
    ]
    engine = SignalEngine(
        mapper=RangeMapper([(167772160, 184549375, "ZZ")]), watch=["10.0.0.0/24"], dense=True
    )
    closed = engine.feed(batch(rows)) + engine.flush()
    emitted = set(
        pa.concat_tables([finalize(c.partial) for c in closed])["metric"].cast(pa.string()).to_pylist()
    )
    assert emitted, "engine emitted nothing"
    unknown = [m for m in emitted if not metrics.is_known(m)]
    assert not unknown, f"metrics outside the catalogue: {unknown}"
    documented = _documented()
    generic = {re.sub(r"^upstream\.\d+\.", "upstream.<asn>.", m) for m in emitted}
    assert generic <= documented | {"upstream.<asn>.routes", "upstream.<asn>.share"}
    assert {
        "all.path_changes",
        "all.duplicate_announcements",
        "upstream.9.routes",
        "upstream.count",
    } <= emitted
