"""The REST API over real HTTP on 127.0.0.1 against a real DuckDB file (the synthetic KP store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outagewatch.serve import create_app
from outagewatch.serve.params import MAX_POINTS
from outagewatch.store.schema import SCHEMA_VERSION
from test_serve_support import BACK, DROP, EVENTS, KP_PREFIXES, build_store, running_server

KP_OUTAGE = EVENTS[0]["event_id"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = build_store(tmp_path_factory.mktemp("serve") / "kp.duckdb")
    with running_server(create_app(db)) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_health_and_version(client: httpx.Client) -> None:
    health = get(client, "/api/v1/health")
    assert health["status"] == "ok"
    assert health["latest_bin"] == "2014-12-23T11:55:00Z"
    assert health["snapshot"]["last_error"] is None
    assert get(client, "/api/v1/version")["schema_version"] == health["schema_version"] == SCHEMA_VERSION


def test_openapi_document_lists_every_endpoint(client: httpx.Client) -> None:
    paths = get(client, "/openapi.json")["paths"]
    for path in (
        "/api/v1/overview",
        "/api/v1/entities",
        "/api/v1/signals",
        "/api/v1/events",
        "/api/v1/problems",
    ):
        assert path in paths
    assert "/api/v1/events/{event_id}" in paths and "/api/v1/runs/{run_id}" in paths
    assert "ErrorResponse" in get(client, "/openapi.json")["components"]["schemas"]


def test_overview_at_outage_time_puts_kp_first_in_outage(client: httpx.Client) -> None:
    data = get(client, "/api/v1/overview", at="2014-12-22T18:00:00Z")
    assert data["at"] == "2014-12-22T18:00:00Z"
    assert data["metric"] == "ipv4.visible_slash24.ff_50pct"
    statuses = {c["entity"]: c["status"] for c in data["countries"]}
    assert statuses == {"KP": "outage", "CN": "normal", "NL": "normal", "SY": "normal"}
    assert data["countries"][0]["entity"] == "KP"
    assert {c["entity"]: c["name"] for c in data["countries"]}["NL"] == "Netherlands"  # ISO name fallback
    kp = data["countries"][0]
    assert kp["sparkline"]["peak"] == 4.0 and kp["sparkline"]["share_of_peak"] == 0.0
    assert kp["name"] == "North Korea" and kp["sparkline"]["last"] == 0.0
    assert max(kp["sparkline"]["v"]) == 4.0
    assert KP_OUTAGE in {e["event_id"] for e in data["active_events"]}
    assert "single_upstream" not in {e["kind"] for e in data["active_events"]}  # a property, not a problem


def test_overview_default_is_latest_bin(client: httpx.Client) -> None:
    data = get(client, "/api/v1/overview")
    assert data["at"] == "2014-12-23T11:55:00Z"
    assert (data["countries"][0]["entity"], data["countries"][0]["status"]) == ("SY", "partial")
    recent = {e["event_id"] for e in data["recent_events"]}
    assert recent == {KP_OUTAGE, EVENTS[1]["event_id"], EVENTS[2]["event_id"]}  # ended in the 48 h window
    normal = [c["sparkline"]["share_of_peak"] for c in data["countries"][1:]]
    assert normal == sorted(normal)  # within a status: the darkest first
    assert {c["entity"]: c["status"] for c in data["countries"]}["KP"] == "normal"


def test_entities_list_by_type_with_status(client: httpx.Client) -> None:
    data = get(client, "/api/v1/entities", type="as", at="2014-12-22T17:00:00Z")
    items = {i["entity"]: i for i in data["items"]}
    assert items["131279"]["status"] == "outage" and items["131279"]["name"] == "STAR-KP"
    assert items["4837"]["status"] == "normal"
    everything = get(client, "/api/v1/entities", limit=3, offset=0)
    assert everything["total"] == 4 + 2 + 4 and len(everything["items"]) == 3
    assert "global" not in {i["entity_type"] for i in everything["items"]}


def test_entity_links_country_as_prefix(client: httpx.Client) -> None:
    kp = get(client, "/api/v1/entities/country/KP", at="2014-12-22T18:00:00Z")
    assert kp["status"] == "outage" and [e["event_id"] for e in kp["active_events"]] == [KP_OUTAGE]
    assert [a["entity"] for a in kp["related"]["ases"]] == ["131279"]
    assert [p["prefix"] for p in kp["related"]["prefixes"]] == KP_PREFIXES
    assert kp["related"]["totals"] == {"countries": 0, "ases": 1, "prefixes": 4}
    assert kp["first_bin"] == "2014-12-20T00:00:00Z" and kp["data_end"] == "2014-12-23T12:00:00Z"
    assert "ipv4.visible_slash24.ff_50pct" in kp["metrics"]
    asn = get(client, "/api/v1/entities/as/131279")
    assert asn["related"]["countries"] == [{"entity": "KP"}]
    prefix = get(client, "/api/v1/entities/prefix/175.45.177.0/24", at="2014-12-22T16:20:00Z")
    assert prefix["related"]["ases"] == [{"entity": "131279"}]
    assert prefix["related"]["countries"] == [{"entity": "KP"}]


def _series(data: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(s for s in data["series"] if s["metric"] == metric)


def test_signals_show_drop_and_recovery(client: httpx.Client) -> None:
    data = get(
        client,
        "/api/v1/signals",
        entity_type="country",
        entity="KP",
        metric="ipv4.visible_slash24.ff_50pct",
        start="2014-12-22T00:00:00Z",
        end="2014-12-23T06:00:00Z",
    )
    assert data["bin_seconds"] == data["stored_bin_seconds"] == 300
    s = _series(data, "ipv4.visible_slash24.ff_50pct")
    points = dict(zip(s["t"], s["v"], strict=True))
    zeros = [t for t, v in points.items() if v == 0]
    assert zeros[0] == DROP.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert points["2014-12-22T16:10:00Z"] == 4 and points[BACK.strftime("%Y-%m-%dT%H:%M:%SZ")] == 4
    assert zeros[-1] == "2014-12-23T01:40:00Z"


def test_signals_downsampling_rule(client: httpx.Client) -> None:
    common = {
        "entity_type": "country",
        "entity": "KP",
        "start": "2014-12-22T14:00:00Z",
        "end": "2014-12-22T18:00:00Z",
    }
    fine = get(
        client, "/api/v1/signals", metric=["all.withdrawals", "ipv4.visible_slash24.ff_50pct"], **common
    )
    coarse = get(
        client,
        "/api/v1/signals",
        metric=["all.withdrawals", "ipv4.visible_slash24.ff_50pct"],
        bin=3600,
        **common,
    )
    assert coarse["bin_seconds"] == 3600
    fw, cw = _series(fine, "all.withdrawals"), _series(coarse, "all.withdrawals")
    assert cw["aggregate"] == "sum" and sum(cw["v"]) == sum(fw["v"])
    assert cw["t"] == [
        "2014-12-22T14:00:00Z",
        "2014-12-22T15:00:00Z",
        "2014-12-22T16:00:00Z",
        "2014-12-22T17:00:00Z",
    ]
    vis = _series(coarse, "ipv4.visible_slash24.ff_50pct")
    assert vis["aggregate"] == "min" and vis["v"] == [
        4.0,
        4.0,
        0.0,
        0.0,
    ]  # the 16:15 drop survives the hour bin
    mean = get(
        client, "/api/v1/signals", metric="ipv4.visible_slash24.ff_50pct", bin=3600, agg="mean", **common
    )
    assert _series(mean, "ipv4.visible_slash24.ff_50pct")["v"][2] == pytest.approx(4 * 3 / 12)
    long = get(
        client,
        "/api/v1/signals",
        entity_type="country",
        entity="KP",
        metric="all.updates",
        start="2014-11-23T00:00:00Z",
        end="2014-12-23T12:00:00Z",
    )
    assert long["bin_seconds"] == 1800 and MAX_POINTS >= 30.5 * 86400 / 1800


def test_signals_metric_prefix_and_defaults(client: httpx.Client) -> None:
    data = get(client, "/api/v1/signals", entity_type="as", entity="131279", metric="upstream.*")
    assert {s["metric"] for s in data["series"]} == {
        "upstream.4837.routes",
        "upstream.4837.share",
        "upstream.count",
    }
    assert data["end"] == "2014-12-23T12:00:00Z" and data["start"] == "2014-12-20T12:00:00Z"
    every = get(client, "/api/v1/signals", entity_type="prefix", entity="175.45.176.0/24")
    assert "all.announcements" in {s["metric"] for s in every["series"]}


def test_events_filters_and_pagination(client: httpx.Client) -> None:
    everything = get(client, "/api/v1/events", limit=500)
    assert everything["total"] == len(EVENTS) == len(everything["items"])
    statuses = [e["status"] for e in everything["items"]]
    assert statuses == sorted(statuses, key=lambda s: s != "open")  # open first
    pages = [get(client, "/api/v1/events", limit=2, offset=o)["items"] for o in (0, 2, 4)]
    assert [e["event_id"] for p in pages for e in p] == [e["event_id"] for e in everything["items"]]
    assert {e["event_id"] for e in get(client, "/api/v1/events", kind="outage", entity="KP")["items"]} == {
        KP_OUTAGE
    }
    assert get(client, "/api/v1/events", severity="critical")["total"] == 2
    assert get(client, "/api/v1/events", status="open")["total"] == 2
    assert get(client, "/api/v1/events", entity_type="as", status="closed")["total"] == 1
    window = get(client, "/api/v1/events", start="2014-12-23T02:00:00Z", end="2014-12-23T12:00:00Z")
    assert {e["entity"] for e in window["items"]} == {"SY", "131279"}


def test_one_event_with_evidence_and_report(client: httpx.Client) -> None:
    ev = get(client, f"/api/v1/events/{KP_OUTAGE}")
    assert ev["start"] == "2014-12-22T16:15:00Z" and ev["end"] == "2014-12-23T01:45:00Z"
    assert ev["duration_seconds"] == 9 * 3600 + 30 * 60
    assert ev["affected_prefixes"] == KP_PREFIXES
    assert ev["evidence"]["baseline_slash24"] == 4
    assert ev["report_source"] == "report"
    assert "North Korea" in ev["report"] and "16:15" in ev["report"] and "01:45" in ev["report"]


def test_affected_prefixes_from_prefix_signals_when_evidence_has_none(client: httpx.Client) -> None:
    ev = get(client, f"/api/v1/events/{EVENTS[1]['event_id']}")
    assert "affected_prefixes" not in ev["evidence"]
    assert ev["affected_prefixes"] == KP_PREFIXES
    sy = get(client, f"/api/v1/events/{EVENTS[4]['event_id']}")
    assert sy["affected_prefixes"] == []  # partial outage, no prefix signals: unknown, not guessed


def test_runs_and_problems(client: httpx.Client) -> None:
    runs = get(client, "/api/v1/runs")
    assert runs["total"] == 1 and runs["items"][0]["inputs"] == ["kp-2014/updates.*.bz2"]
    assert get(client, "/api/v1/runs/run-1")["problems"] == 2
    problems = get(client, "/api/v1/problems", run_id="run-1", limit=1)
    assert problems["total"] == 2 and problems["items"][0]["offset"] == 1024
    assert get(client, "/api/v1/problems", run_id="nope")["total"] == 0


SIG = "/api/v1/signals?entity_type=country&entity=KP"
ERRORS = [
    ("/api/v1/signals?entity_type=country&entity=QQ", 404, "not_found", "entity"),
    ("/api/v1/entities/country/QQ", 404, "not_found", "entity"),
    ("/api/v1/entities/planet/KP", 400, "invalid_parameter", "entity_type"),
    ("/api/v1/events/0000000000000000", 404, "not_found", "event_id"),
    ("/api/v1/runs/nope", 404, "not_found", "run_id"),
    (SIG + "&start=yesterday", 400, "invalid_parameter", "start"),
    (SIG + "&start=2014-12-23T00:00:00Z&end=2014-12-22T00:00:00Z", 400, "bad_time_range", "end"),
    (SIG + "&start=2014-12-22T00:00:00Z&end=2014-12-22T00:00:00Z", 400, "bad_time_range", "end"),
    (SIG + "&start=2000-01-01T00:00:00Z&end=2014-12-22T00:00:00Z", 400, "range_too_large", "end"),
    (SIG + "&start=2014-01-01T00:00:00Z&end=2014-12-22T00:00:00Z&bin=300", 400, "range_too_large", "bin"),
    (SIG + "&bin=301", 400, "invalid_parameter", "bin"),
    (SIG + "&bin=0", 400, "invalid_parameter", "bin"),
    (SIG + "&agg=median", 400, "invalid_parameter", "agg"),
    (SIG + "&metric=DROP TABLE", 400, "invalid_parameter", "metric"),
    (SIG + "&metric=a*b", 400, "invalid_parameter", "metric"),
    (SIG + "".join(f"&metric=m{i}" for i in range(65)), 400, "invalid_parameter", "metric"),
    ("/api/v1/signals?entity=KP", 400, "invalid_parameter", "entity_type"),
    ("/api/v1/events?kind=meltdown", 400, "invalid_parameter", "kind"),
    ("/api/v1/events?severity=extreme", 400, "invalid_parameter", "severity"),
    ("/api/v1/events?status=pending", 400, "invalid_parameter", "status"),
    ("/api/v1/events?start=2014-12-23T00:00:00Z&end=2014-12-22T00:00:00Z", 400, "bad_time_range", "end"),
    ("/api/v1/events?limit=0", 400, "invalid_parameter", "limit"),
    ("/api/v1/events?limit=100000", 400, "invalid_parameter", "limit"),
    ("/api/v1/events?offset=-1", 400, "invalid_parameter", "offset"),
    ("/api/v1/overview?at=noon", 400, "invalid_parameter", "at"),
    ("/api/v1/overview?hours=0", 400, "invalid_parameter", "hours"),
    ("/api/v1/entities?type=planet", 400, "invalid_parameter", "type"),
    ("/api/v1/nothing-here", 404, "not_found", None),
    ("/static/secret.py", 404, "not_found", None),
]


@pytest.mark.parametrize(("url", "status", "code", "parameter"), ERRORS, ids=[e[0][8:60] for e in ERRORS])
def test_error_shape(client: httpx.Client, url: str, status: int, code: str, parameter: str | None) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "parameter"}
    assert body["error"]["code"] == code and body["error"]["parameter"] == parameter
    assert body["error"]["message"]
    if parameter:
        assert parameter in body["error"]["message"]


def test_pages_and_bundled_plotly(client: httpx.Client) -> None:
    for path in ("/", "/entity/country/KP", "/entity/prefix/175.45.176.0/24", f"/event/{KP_OUTAGE}"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert '<script src="/static/plotly.min.js">' in r.text and "cdn" not in r.text.lower()
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    for asset in ("app.js", "overview.js", "entity.js", "event.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_missing_store_answers_503_in_error_shape(tmp_path: Path) -> None:
    with running_server(create_app(tmp_path / "absent.duckdb")) as base:
        r = httpx.get(base + "/api/v1/health")
        assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
        assert "absent.duckdb" in r.json()["error"]["message"]
