"""Upstream change and single-upstream dependency on synthetic share series."""

from __future__ import annotations

from outagewatch.detect import Point, fold, initial, latest
from outagewatch.detect.point import V4_PREFIXES, V4_SLASH24

T0 = 1418947200
BIN = 300


def shares_series(shares: list[dict[str, float]]) -> list[Point]:
    out = []
    for i, sh in enumerate(shares):
        metrics = {V4_SLASH24: 4.0, V4_PREFIXES: 4.0, **{f"upstream.{a}.share": v for a, v in sh.items()}}
        out.append(Point(T0 + i * BIN, BIN, metrics))
    return out


def events(points: list[Point], kind: str, entity_type: str = "country") -> list:
    _, evs = fold(points, initial(entity_type, "KP"))
    return [e for e in latest(evs) if e.kind == kind]


def test_single_upstream_opens_after_an_hour_and_closes_when_a_second_appears() -> None:
    series = [{"4837": 1.0}] * 100 + [{"4837": 0.5, "22351": 0.5}] * 20
    [ev] = events(shares_series(series), "single_upstream")
    assert ev.start == T0 and ev.end == T0 + 100 * BIN
    assert ev.evidence["upstream"] == "4837"


def test_single_upstream_survives_an_outage_without_routes() -> None:
    series = [{"4837": 1.0}] * 50 + [{}] * 30 + [{"4837": 1.0}] * 20
    [ev] = events(shares_series(series), "single_upstream")
    assert ev.end is None


def test_multihomed_entity_is_not_fragile() -> None:
    assert events(shares_series([{"1": 0.98, "2": 0.02}] * 100), "single_upstream") == []


def test_switch_to_intelsat_is_an_upstream_change_at_its_first_bin() -> None:
    series = [{"4837": 1.0}] * 50 + [{"22351": 1.0}] * 20
    [ev] = events(shares_series(series), "upstream_change")
    assert ev.start == T0 + 50 * BIN and ev.end == ev.start
    assert ev.evidence["from"]["asn"] == "4837" and ev.evidence["to"]["asn"] == "22351"
    singles = events(shares_series(series), "single_upstream")
    assert [(s.evidence["upstream"], s.status) for s in singles] == [("4837", "closed"), ("22351", "open")]


def test_short_blip_is_not_a_change_and_share_drop_is() -> None:
    blip = [{"1": 1.0}] * 50 + [{"2": 1.0}] * 3 + [{"1": 1.0}] * 20
    assert events(shares_series(blip), "upstream_change") == []
    drop = [{"1": 0.95, "2": 0.05}] * 50 + [{"1": 0.6, "2": 0.4}] * 20
    [ev] = events(shares_series(drop), "upstream_change")
    assert ev.evidence["change"] == "share_drop"


def test_single_upstream_not_reported_for_prefix_entities() -> None:
    assert events(shares_series([{"1": 1.0}] * 50), "single_upstream", entity_type="prefix") == []
