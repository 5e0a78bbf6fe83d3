"""A DuckDB store written directly into the documented tables: a KP-2014-like series.

Synthetic but shaped like the real event: the four /24s of 175.45.176.0/22 (AS131279, single
upstream AS4837) are visible to all full-feed peers until 2014-12-22 16:15 UTC, invisible until
the 01:45 bin of 23 Dec (recovery at 01:46), then visible again; churn rises in the 24 h before.
CN and NL are steady (NL has no name in the store); SY has an open partial outage (to check
ordering and the partial status).
Used by the API and browser tests until/unless a pipeline-produced store is available.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import uvicorn

from outagewatch.store.db import connect

BIN = 300
T0 = datetime(2014, 12, 20, tzinfo=UTC)
T1 = datetime(2014, 12, 23, 12, tzinfo=UTC)
DROP = datetime(2014, 12, 22, 16, 15, tzinfo=UTC)
BACK = datetime(2014, 12, 23, 1, 45, tzinfo=UTC)
SY_DROP = datetime(2014, 12, 23, 6, tzinfo=UTC)
KP_PREFIXES = [f"175.45.{n}.0/24" for n in range(176, 180)]
PEERS = 10
THRESHOLDS = ("ff_any", "ff_50pct", "asn_50pct")


def _times() -> np.ndarray:
    n = int((T1 - T0).total_seconds()) // BIN
    return np.datetime64(T0.replace(tzinfo=None), "s") + np.arange(n) * np.timedelta64(BIN, "s")


def _ts(when: datetime) -> np.datetime64:
    return np.datetime64(when.replace(tzinfo=None), "s")


def _rows(times: np.ndarray, entity_type: str, entity: str, metrics: dict[str, np.ndarray]) -> pa.Table:
    parts = []
    for metric, values in metrics.items():
        parts.append(
            pa.table(
                {
                    "bin_start": pa.array(times, pa.timestamp("s", tz="UTC")),
                    "bin_seconds": pa.array(np.full(len(times), BIN, np.int32)),
                    "entity_type": pa.array([entity_type] * len(times)),
                    "entity": pa.array([entity] * len(times)),
                    "metric": pa.array([metric] * len(times)),
                    "value": pa.array(values.astype(np.float64)),
                }
            )
        )
    return pa.concat_tables(parts)


def _kp_metrics(times: np.ndarray, n_prefixes: int) -> dict[str, np.ndarray]:
    up = ~((times >= _ts(DROP)) & (times < _ts(BACK)))
    rng = np.random.default_rng(131279 + n_prefixes)
    ramp = np.clip((times - _ts(DROP - timedelta(hours=24))) / np.timedelta64(3600, "s"), 0, 24)
    ramp = np.where(times < _ts(DROP), ramp, 0)
    announcements = rng.poisson(1 + ramp * n_prefixes)
    withdrawals = rng.poisson(0.5 + ramp * n_prefixes / 2)
    withdrawals[times == _ts(DROP)] += n_prefixes * PEERS
    announcements[times == _ts(BACK)] += n_prefixes * PEERS
    metrics: dict[str, np.ndarray] = {}
    for threshold in THRESHOLDS:
        metrics[f"ipv4.visible_prefixes.{threshold}"] = up * n_prefixes
        metrics[f"ipv4.visible_slash24.{threshold}"] = up * n_prefixes
    metrics["all.announcements"] = announcements
    metrics["all.withdrawals"] = withdrawals
    metrics["all.updates"] = announcements + withdrawals
    metrics["upstream.4837.routes"] = up * n_prefixes * PEERS
    metrics["upstream.4837.share"] = up * 1.0
    metrics["upstream.count"] = up * 1
    return metrics


def _steady(
    times: np.ndarray, level: float, seed: int, drop_at: datetime | None = None
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    level_series = level + rng.integers(-2, 3, len(times))
    if drop_at is not None:
        level_series = np.where(times >= _ts(drop_at), level * 0.6, level_series)
    metrics = {f"ipv4.visible_slash24.{t}": level_series for t in THRESHOLDS}
    metrics.update({f"ipv4.visible_prefixes.{t}": level_series / 4 for t in THRESHOLDS})
    metrics["all.updates"] = rng.poisson(level / 10, len(times))
    return metrics


def _event(
    kind: str, etype: str, entity: str, start: datetime, end: datetime | None, **kw: object
) -> dict[str, object]:
    import hashlib

    key = f"{kind}|{etype}|{entity}|{start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    return {
        "event_id": hashlib.sha1(key.encode()).hexdigest()[:16],
        "kind": kind,
        "entity_type": etype,
        "entity": entity,
        "start": start,
        "end": end,
        "status": "open" if end is None else "closed",
        "scope": kw.get("scope"),
        "severity": kw.get("severity", "high"),
        "score": kw.get("score", 1.0),
        "summary": kw.get("summary", f"{kind} of {etype} {entity}"),
        "evidence": json.dumps(kw.get("evidence", {})),
        "updated_at": end or T1,
    }


EVENTS = [
    _event(
        "outage",
        "country",
        "KP",
        DROP,
        BACK,
        scope="full",
        severity="critical",
        summary="North Korea (KP) lost all 4 of its visible /24s at 16:15 UTC; they came back at 01:45 UTC.",
        evidence={"affected_prefixes": KP_PREFIXES, "baseline_slash24": 4, "upstreams": ["4837"]},
    ),
    _event(
        "outage",
        "as",
        "131279",
        DROP,
        BACK,
        scope="full",
        severity="critical",
        summary="AS131279 (STAR-KP) withdrew all 4 prefixes.",
        evidence={"share_lost": 1.0},  # no prefix list: the API finds them in the prefix signals
    ),
    _event(
        "instability",
        "country",
        "KP",
        DROP - timedelta(hours=24),
        DROP,
        severity="medium",
        score=6.5,
        summary="Update churn for KP rose to 6.5 times its baseline.",
    ),
    _event(
        "single_upstream",
        "as",
        "131279",
        T0,
        None,
        severity="low",
        summary="AS131279 has one upstream: AS4837.",
    ),
    _event(
        "outage",
        "country",
        "SY",
        SY_DROP,
        None,
        scope="partial",
        severity="medium",
        score=0.4,
        summary="Syria (SY) lost 40% of its visible /24s.",
        evidence={"baseline_slash24": 200},
    ),
]


def build_store(path: Path) -> Path:
    """Write the synthetic store to ``path`` and return it."""
    times = _times()
    tables = [
        _rows(times, "country", "KP", _kp_metrics(times, 4)),
        _rows(times, "as", "131279", _kp_metrics(times, 4)),
    ]
    tables += [_rows(times, "prefix", p, _kp_metrics(times, 1)) for p in KP_PREFIXES]
    tables += [
        _rows(times, "country", "CN", _steady(times, 350000, 1)),
        _rows(times, "country", "NL", _steady(times, 30000, 2)),
        _rows(times, "country", "SY", _steady(times, 200, 3, SY_DROP)),
        _rows(times, "global", "all", {"ipv4.full_feed_peers": np.full(len(times), PEERS)}),
    ]
    signals = pa.concat_tables(tables)
    con = connect(path)
    con.register("signals_in", signals)
    con.execute("INSERT INTO signal_changes SELECT * FROM signals_in")  # dense rows: valid change rows
    con.executemany(
        "INSERT INTO entities VALUES (?, ?, ?, ?)",
        [
            ("country", "KP", "North Korea", "KP"),
            ("country", "CN", "China", "CN"),
            ("country", "SY", "Syria", "SY"),
            ("as", "131279", "STAR-KP", "KP"),
            ("as", "4837", "CHINA169-BACKBONE", "CN"),
        ],
    )
    prefix_rows = [
        (etype, ent, p, 1.0) for p in KP_PREFIXES for etype, ent in (("country", "KP"), ("as", "131279"))
    ]
    con.executemany("INSERT INTO entity_prefixes VALUES (?, ?, ?, ?)", prefix_rows)
    for ev in EVENTS:
        con.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(ev))})", list(ev.values()))
    con.execute(
        "INSERT INTO runs VALUES ('run-1', 'ingest', ?, ?, 12.5, ?, 123456, 2, ?, 'ok', ?)",
        [T1, T1 + timedelta(seconds=12), json.dumps(["kp-2014/updates.*.bz2"]), len(times), json.dumps({})],
    )
    con.executemany(
        "INSERT INTO problems VALUES ('run-1', ?, ?, ?, 16, 4, ?)",
        [
            ("updates.20141222.1615.bz2", 1024, 7, "truncated record"),
            ("updates.20141222.1620.bz2", 0, 0, "bad marker"),
        ],
    )
    con.close()
    return path


def test_store_builds_and_opens_read_only(tmp_path: Path) -> None:
    path = build_store(tmp_path / "kp.duckdb")
    con = connect(path, read_only=True)
    row = con.execute(
        "SELECT min(bin_start), count(*) FILTER (WHERE value = 0) FROM signals "
        "WHERE entity = 'KP' AND metric = 'ipv4.visible_slash24.ff_50pct'"
    ).fetchone()
    assert row is not None
    assert row[0] == T0
    assert row[1] == int((BACK - DROP).total_seconds()) // BIN


@contextlib.contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
