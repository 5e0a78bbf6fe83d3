"""The alert configuration file: every key documented, bad values named, filters applied."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outagewatch.alerts.config import SETTINGS, ConfigError, load, parse
from outagewatch.alerts.message import build, wanted
from outagewatch.detect.event import Event

DOCS = Path(__file__).resolve().parents[1] / "docs" / "alerts.md"
NOON = datetime(2014, 12, 22, 12, 0, tzinfo=UTC)
NIGHT = datetime(2014, 12, 22, 23, 30, tzinfo=UTC)


def ev(
    entity_type: str = "country", entity: str = "KP", severity: str = "high", kind: str = "outage"
) -> Event:
    return Event(kind, entity_type, entity, 1419264900, None, severity, 0.9, "s", 1419265200, "opened")


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", DOCS.read_text(), flags=re.M))
    assert documented == set(SETTINGS)


def test_example_in_the_docs_loads(tmp_path: Path) -> None:
    example = DOCS.read_text().split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "ow.toml").write_text(example)
    env = {"OUTAGEWATCH_WEBHOOK_SECRET": "x", "OUTAGEWATCH_SMTP_PASSWORD": "y"}
    cfg, _ = load(tmp_path / "ow.toml", env)
    assert [c.type for c in cfg.channels] == ["webhook", "slack", "email", "jsonl"]
    assert cfg.channels[0].get("secret") == "x" and cfg.channels[2].get("password") == "y"
    assert cfg.quiet_hours == (22 * 60, 7 * 60) and cfg.asns == {"131279"}


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"alerts": {"min_severity": "huge"}}, "alerts.min_severity = 'huge'"),
        ({"alerts": {"colour": "red"}}, "unknown setting(s) colour"),
        ({"alerts": {"quiet_hours": "late"}}, "quiet_hours"),
        ({"alerts": {"channels": [{"type": "pigeon"}]}}, "#1: type = 'pigeon'"),
        ({"alerts": {"channels": [{"type": "webhook"}]}}, "needs url"),
        ({"alerts": {"channels": [{"type": "email"}]}}, "needs to"),
        ({"alerts": {"channels": [{"type": "webhook", "url": "u", "secret_env": "NOPE"}]}}, "'NOPE'"),
        ({"alerts": {"channels": [{"type": "jsonl", "pth": "x"}]}}, "unknown setting(s) pth"),
        ({"alerts": {"watchlist": {"prefixes": ["not/a/prefix"]}}}, "[alerts]"),
    ],
)
def test_bad_settings_are_named(doc: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(doc, {}, source="ow.toml")
    assert needle in str(info.value) and "ow.toml" in str(info.value)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[alerts\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load(tmp_path / "bad.toml", {})


def test_watchlist_severity_kinds_and_quiet_hours() -> None:
    doc = {
        "alerts": {
            "min_severity": "medium",
            "kinds": ["outage"],
            "quiet_hours": "22:00-07:00",
            "watchlist": {"countries": ["kp"], "asns": ["AS4837"], "prefixes": ["175.45.176.0/22"]},
            "channels": [{"type": "jsonl"}, {"type": "jsonl", "name": "pager", "min_severity": "critical"}],
        }
    }
    cfg = parse(doc, {})
    everyone, pager = cfg.channels
    assert wanted(ev(), cfg, everyone, NOON)
    assert not wanted(ev(), cfg, pager, NOON)
    assert not wanted(ev(entity="EG"), cfg, everyone, NOON)
    assert wanted(ev("as", "4837"), cfg, everyone, NOON)
    assert not wanted(ev("as", "131279"), cfg, everyone, NOON)
    assert wanted(ev("prefix", "175.45.177.0/24"), cfg, everyone, NOON)
    assert not wanted(ev("prefix", "175.45.0.0/16"), cfg, everyone, NOON)
    assert not wanted(ev("prefix", "2001:db8::/32"), cfg, everyone, NOON)
    assert not wanted(ev(severity="low"), cfg, everyone, NOON)
    assert not wanted(ev(kind="instability"), cfg, everyone, NOON)
    assert not wanted(ev(), cfg, everyone, NIGHT)  # quiet hours wrap midnight
    assert wanted(ev(severity="critical"), cfg, everyone, NIGHT)
    empty = parse({"alerts": {"channels": [{"type": "jsonl"}]}}, {})
    assert wanted(ev("prefix", "10.0.0.0/8"), empty, empty.channels[0], NIGHT)


def test_alert_text_carries_the_report_and_link() -> None:
    closed = Event(
        "outage", "country", "KP", 1419264900, 1419299160, "critical", 1.0, "Gone.", 1419299160, "closed"
    )
    alert = build(closed, "https://ow.example")
    assert alert.url == f"https://ow.example/events/{closed.event_id}"
    assert alert.state == "closed/critical" and alert.subject.startswith("[outagewatch] RESOLVED")
    assert "from 16:15 UTC 22 Dec 2014 to 01:46 UTC 23 Dec (9 h 31 m)" in alert.text
    assert alert.payload["report"] == alert.text and alert.payload["end"] == "2014-12-23T01:46:00Z"
