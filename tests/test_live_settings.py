"""Watcher settings, checkpoints and the client's protocol pieces (no network)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from outagewatch.alerts.config import ConfigError
from outagewatch.cli import app
from outagewatch.live import checkpoint
from outagewatch.live.settings import SETTINGS, parse
from outagewatch.sources.rislive import ClientSettings, backoff_delay, subscribe_message

DOCS = Path(__file__).resolve().parents[1] / "docs" / "live.md"


def test_every_setting_is_documented_with_its_default() -> None:
    table = dict(re.findall(r"^\| `(live\.[A-Za-z_.]+)` \| `?([^|`]*)`? \|", DOCS.read_text(), flags=re.M))
    assert set(table) == set(SETTINGS)
    for key, (default, _) in SETTINGS.items():
        shown = json.dumps(default) if isinstance(default, list | bool) else str(default)
        assert table[key].strip('"') == shown.strip('"'), key


def test_example_in_the_docs_parses() -> None:
    import tomllib

    example = DOCS.read_text().split("```toml\n", 1)[1].split("```", 1)[0]
    s = parse(tomllib.loads(example))
    assert s.bin_seconds == 60 and s.watch_prefixes == ("175.45.176.0/22",) and s.metrics_port == 9108
    assert s.client.subscribe == {"host": "rrc00"}


def test_command_line_overrides_the_file() -> None:
    s = parse({"live": {"bin_seconds": 60, "url": "ws://a"}}, {"bin_seconds": 300, "url": None})
    assert s.bin_seconds == 300 and s.client.url == "ws://a"


@pytest.mark.parametrize(
    ("live", "needle"),
    [
        ({"colour": 1}, "unknown setting(s) colour"),
        ({"subscribe": {"hots": "rrc00"}}, "subscribe.hots"),
        ({"bin_seconds": 30}, "60 … 86400"),
        ({"include_raw": "yes"}, "expected true or false"),
        ({"ping_interval": "soon"}, "expected a number"),
    ],
)
def test_bad_settings_name_the_key(live: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse({"live": live}, source="ow.toml")


def test_subscribe_message_and_backoff() -> None:
    msg = json.loads(subscribe_message({"host": "rrc00", "prefix": "175.45.176.0/22", "path": ""}, True))
    assert msg == {
        "type": "ris_subscribe",
        "data": {
            "host": "rrc00",
            "prefix": "175.45.176.0/22",
            "socketOptions": {"includeRaw": True, "acknowledge": True},
        },
    }
    with pytest.raises(ValueError, match="unknown RIS Live filter"):
        subscribe_message({"collector": "rrc00"})
    s = ClientSettings(backoff_initial=1.0, backoff_max=8.0, jitter=0.5)
    rng = random.Random(1)
    delays = [backoff_delay(a, s, rng) for a in range(6) for _ in range(50)]
    for attempt in range(6):
        chunk = delays[attempt * 50 : (attempt + 1) * 50]
        base = min(8.0, 2.0**attempt)
        assert all(base / 2 <= d <= base for d in chunk)
        assert len(set(chunk)) > 40  # jittered: reconnecting clients do not stampede together


def test_checkpoint_round_trip_and_crash_leftovers(tmp_path: Path) -> None:
    cp = checkpoint.Checkpoint(bin_seconds=60, last_closed_us=120_000_000, gaps=[[1, None]])
    state = {"routes": pa.table({"peer": pa.array([1, 2], pa.uint32())})}
    checkpoint.save(tmp_path, cp, state, {"detectors": b"\x00abc"})
    checkpoint.save(tmp_path, cp, state, {"detectors": b"\x00xyz"})
    # a crash while writing the next one leaves only a temporary file behind
    (tmp_path / "state-3.routes.arrow.tmp").write_bytes(b"half a file")
    (tmp_path / "checkpoint.json.tmp").write_text("{")
    loaded = checkpoint.load(tmp_path)
    assert loaded is not None
    got, tables, blobs = loaded
    assert got.seq == 2 and got.last_closed_us == 120_000_000 and got.gaps == [[1, None]]
    assert tables["routes"].equals(state["routes"]) and blobs == {"detectors": b"\x00xyz"}
    assert sorted(p.name for p in tmp_path.glob("state-*.arrow")) == ["state-2.routes.arrow"]
    assert checkpoint.load(tmp_path / "nothing-here") is None


def test_watch_command_rejects_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["watch", "--db", str(tmp_path / "x.duckdb"), "--source", "bgpstream"])
    assert res.exit_code != 0 and "only ris-live" in res.output
    bad = tmp_path / "ow.toml"
    bad.write_text("[live]\nbin_seconds = 5\n")
    res = runner.invoke(app, ["watch", "--db", str(tmp_path / "x.duckdb"), "--config", str(bad)])
    assert res.exit_code == 2 and "60 … 86400" in res.output
