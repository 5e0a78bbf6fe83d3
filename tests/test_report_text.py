"""Plain-language reports from events detected on a synthetic North Korea series."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from outagewatch.detect import Point, fold, initial, latest
from outagewatch.detect.point import UPDATES, V4_PREFIXES, V4_SLASH24, V4_SLASH24_ANY
from outagewatch.report import Query, render, stories

BIN = 300
T0 = int(datetime(2014, 12, 19, tzinfo=UTC).timestamp())
OUT_START = int(datetime(2014, 12, 22, 16, 15, tzinfo=UTC).timestamp())
OUT_END = int(datetime(2014, 12, 23, 1, 45, tzinfo=UTC).timestamp())
RISE = int(datetime(2014, 12, 21, 6, 0, tzinfo=UTC).timestamp())
NAMES = {("country", "KP"): "North Korea", ("as", "4837"): "China Unicom", ("as", "131279"): "Star JV"}


def kp_points() -> list[Point]:
    rng = random.Random(3)
    pts = []
    for i in range((5 * 86400) // BIN):
        t = T0 + i * BIN
        down = OUT_START <= t < OUT_END
        lam = 2.0 if t < RISE else 2.0 * 1.12 ** ((t - RISE) / 3600)
        ups = float(sum(rng.random() < 0.5 for _ in range(int(min(lam, 400) * 2))))
        vis = 0.0 if down else 4.0
        metrics = {V4_SLASH24: vis, V4_PREFIXES: vis, V4_SLASH24_ANY: vis, UPDATES: 0.0 if down else ups}
        if not down:
            metrics["upstream.4837.share"] = 1.0
        pts.append(Point(t, BIN, metrics))
    return pts


@pytest.fixture(scope="module")
def kp_events() -> list:
    _, evs = fold(kp_points(), initial("country", "KP"))
    return latest(evs)


def test_kp_headline_during_the_outage(kp_events: list) -> None:
    at = OUT_START + 2 * 3600 + 5 * 60
    [story] = stories(kp_events, NAMES, Query("country", "KP", at=at))
    assert story.headline.startswith("KP (North Korea): down hard since 16:15 UTC (2 h 05 m so far): ")
    assert "4 of 4 prefixes (1,024 addresses) withdrawn by 100 % of full-feed peers" in story.headline
    assert "h of increasing instability (updates" in story.headline
    assert story.headline.endswith("single upstream AS4837 (China Unicom)")


def test_kp_window_tells_the_whole_outage(kp_events: list) -> None:
    q = Query("country", "KP", start=T0, end=T0 + 5 * 86400)
    [story] = stories(kp_events, NAMES, q)
    assert "was down hard from 16:15 UTC 22 Dec to 01:45 UTC 23 Dec (9 h 30 m)" in story.headline
    kinds = {e.kind for e in story.events}
    assert {"outage", "instability", "single_upstream"} <= kinds


def test_before_the_outage_the_story_is_instability(kp_events: list) -> None:
    [story] = stories(kp_events, NAMES, Query("country", "KP", at=OUT_START - 3600))
    assert story.headline.startswith("KP (North Korea): unstable since ")
    assert "increasing for" in story.headline


def test_quiet_entity_says_nothing_detected(kp_events: list) -> None:
    [story] = stories(kp_events, NAMES, Query("as", "131279", at=OUT_START))
    assert story.headline == "AS131279 (Star JV): no outage or instability detected at 16:15 UTC 22 Dec 2014"


def test_all_entities_skip_pure_fragility() -> None:
    pts = [Point(T0 + i * BIN, BIN, {V4_SLASH24: 4.0, "upstream.1.share": 1.0}) for i in range(50)]
    _, evs = fold(pts, initial("country", "ZZ"))
    assert [e.kind for e in latest(evs)] == ["single_upstream"]
    assert stories(evs, NAMES, Query()) == []


def test_formats(kp_events: list) -> None:
    found = stories(kp_events, NAMES, Query("country", "KP", at=OUT_START + 600))
    text = render(found, "text")
    assert text.splitlines()[0] == found[0].headline
    assert "visible /24s from" in text
    md = render(found, "markdown")
    assert md.startswith("### KP (North Korea)") and "| outage | full | critical |" in md
    doc = json.loads(render(found, "json"))
    [ent] = doc["entities"]
    assert ent["entity"] == "KP" and ent["headline"] == found[0].headline
    assert any(e["kind"] == "outage" and e["start"] == "2014-12-22T16:15:00Z" for e in ent["events"])
    with pytest.raises(ValueError, match="unknown report format"):
        render(found, "html")
