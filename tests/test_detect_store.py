"""Detection over a real DuckDB store: detect_store, the detect and report commands, idempotence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from outagewatch.cli import app
from outagewatch.engine.detect_run import detect_store, load_events, load_names
from outagewatch.store.db import connect
from outagewatch.store.writes import upsert

BIN = 300
T0 = int(datetime(2014, 12, 20, tzinfo=UTC).timestamp())
OUT_START = int(datetime(2014, 12, 22, 16, 15, tzinfo=UTC).timestamp())
OUT_END = int(datetime(2014, 12, 23, 1, 45, tzinfo=UTC).timestamp())
RISE = int(datetime(2014, 12, 21, 6, 0, tzinfo=UTC).timestamp())
N = (4 * 86400) // BIN
GAP = range(OUT_START + 4 * 3600, OUT_START + 4 * 3600 + 3 * BIN, BIN)


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _signals() -> pa.Table:
    rng = random.Random(5)
    rows: list[tuple[int, str, str, str, float]] = []
    for i in range(N):
        t = T0 + i * BIN
        rows.append((t, "global", "all", "ipv4.full_feed_peers", 12.0))
        down = OUT_START <= t < OUT_END
        lam = 2.0 if t < RISE else 2.0 * 1.12 ** ((t - RISE) / 3600)
        ups = float(sum(rng.random() < 0.5 for _ in range(int(min(lam, 300) * 2))))
        rows.append((t, "country", "KP", "all.updates", ups))
        if not down:
            for m in (
                "ipv4.visible_slash24.ff_50pct",
                "ipv4.visible_prefixes.ff_50pct",
                "ipv4.visible_slash24.ff_any",
            ):
                rows.append((t, "country", "KP", m, 4.0))
            rows.append((t, "country", "KP", "upstream.4837.share", 1.0))
        # a big, healthy country with noise: must stay quiet
        rows.append((t, "country", "CN", "ipv4.visible_slash24.ff_50pct", 1_300_000 + rng.gauss(0, 800)))
        rows.append((t, "country", "CN", "ipv4.visible_prefixes.ff_50pct", 30_000 + rng.gauss(0, 20)))
        rows.append((t, "country", "CN", "all.updates", float(rng.randint(2000, 2600))))
    return pa.table(
        {
            "bin_start": pa.array([_dt(r[0]) for r in rows], pa.timestamp("us", tz="UTC")),
            "bin_seconds": pa.array([BIN] * len(rows), pa.int32()),
            "entity_type": [r[1] for r in rows],
            "entity": [r[2] for r in rows],
            "metric": [r[3] for r in rows],
            "value": pa.array([r[4] for r in rows], pa.float64()),
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "kp.duckdb"
    con = connect(db)
    bins = [T0 + i * BIN for i in range(N) if T0 + i * BIN not in GAP]
    upsert(
        con,
        "bins",
        pa.table(
            {
                "bin_start": pa.array([_dt(t) for t in bins], pa.timestamp("us", tz="UTC")),
                "bin_seconds": pa.array([BIN] * len(bins), pa.int32()),
                "complete": [True] * len(bins),
                "elements": pa.array([100] * len(bins), pa.int64()),
                "note": pa.array([None] * len(bins), pa.string()),
            }
        ),
    )
    upsert(con, "signals", _signals())
    ents = [
        ("country", "KP", None, "KP"),
        ("country", "CN", None, "CN"),
        ("as", "4837", "China Unicom", "CN"),
    ]
    upsert(
        con,
        "entities",
        pa.table(
            {k: [e[i] for e in ents] for i, k in enumerate(("entity_type", "entity", "name", "country"))}
        ),
    )
    con.close()
    return db


def test_detect_store_finds_the_kp_outage_and_nothing_for_cn(store: Path) -> None:
    con = connect(store)
    try:
        summary = detect_store(con, write=False)
    finally:
        con.close()
    outages = [e for e in summary.events if e.kind == "outage"]
    assert [(e.entity, e.start, e.end) for e in outages] == [("KP", OUT_START, OUT_END)]
    assert not [e for e in summary.events if e.entity == "CN" and e.kind in ("outage", "instability")]
    assert summary.bins == N


def test_detect_command_is_idempotent_and_report_tells_the_story(store: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["detect", "--db", str(store)])
    assert first.exit_code == 0, first.output
    assert "outage" in first.stdout and "country:KP" in first.stdout
    con = connect(store)
    n1 = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    again = runner.invoke(app, ["detect", "--db", str(store)])
    assert again.exit_code == 0
    con = connect(store)
    n2 = con.execute("SELECT count(*) FROM events").fetchone()
    names = load_names(con)
    stored = load_events(con, "country", "KP")
    con.close()
    assert n1 == n2 and n1 is not None and n1[0] >= 3
    assert names[("country", "KP")] == "North Korea" and names[("as", "4837")] == "China Unicom"
    assert {e.kind for e in stored} >= {"outage", "instability", "single_upstream"}

    out = runner.invoke(app, ["report", "--db", str(store), "--country", "kp", "--at", "2014-12-22T18:20Z"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(
        "KP (North Korea): down hard since 16:15 UTC (2 h 05 m so far): 4 of 4 prefixes"
    )
    assert "single upstream AS4837 (China Unicom)" in out.stdout
    js = runner.invoke(app, ["report", "--db", str(store), "--country", "KP", "--format", "json"])
    doc = json.loads(js.stdout)
    assert "was down hard from 16:15 UTC 22 Dec to 01:45 UTC 23 Dec" in doc["entities"][0]["headline"]


def test_report_argument_errors(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["report", "--db", str(store), "--country", "KP", "--as", "1"])
    assert bad.exit_code != 0 and "not both" in bad.output
    missing = runner.invoke(app, ["report", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no such database" in missing.output
    when = runner.invoke(app, ["detect", "--db", str(store), "--from", "yesterday"])
    assert when.exit_code != 0 and "ISO 8601" in when.output
