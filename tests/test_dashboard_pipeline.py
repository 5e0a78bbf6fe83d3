"""API and dashboard against a store made by the real pipeline: the `kp-2014` scenario simulated
into MRT files, ingested, detected (``outagewatch.engine.demo.run_demo``, what ``outagewatch
demo`` runs). Real HTTP on 127.0.0.1; Debian chromium for the pages. Screenshots of this store
go to test-artifacts/pipeline-*.png (docs/img/dashboard.png is taken from it).

The store is built once per version of the pipeline's source and kept in the pytest cache, or
taken from ``OUTAGEWATCH_DEMO_DB`` (a store made by ``outagewatch demo --db PATH``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from outagewatch.serve import create_app
from test_dashboard_browser import ARTIFACTS, Page, browser  # noqa: F401  (browser: a fixture)
from test_serve_support import running_server

pytestmark = pytest.mark.slow

DROP = datetime(2014, 12, 22, 16, 15)
RECOVERY = datetime(2014, 12, 23, 1, 46)


DEMO_MEMORY = 7 * 2**30
"""``outagewatch demo`` (kp-2014, 2014-12-19…24) measured 5.4 GB peak resident, 96 s."""
PIPELINE = ("model", "parse", "sources", "signals", "enrich", "detect", "simulate", "engine", "store")


def _pipeline_key() -> str:
    """A digest of the pipeline's source: the cached demo store is rebuilt when it changes."""
    src = Path(__file__).resolve().parents[1] / "src" / "outagewatch"
    digest = hashlib.sha256()
    files = (p for pkg in PIPELINE for p in (src / pkg).rglob("*") if p.suffix in (".py", ".c", ".toml"))
    for path in sorted(files):
        digest.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _demo_store(cache_dir: Path) -> Path:
    """The kp-2014 demo store, built once per version of the pipeline's source (pytest cache)."""
    try:
        demo = importlib.import_module("outagewatch.engine.demo")
    except ImportError as exc:
        pytest.skip(f"the demo pipeline is not available: {exc}")
    db = cache_dir / f"kp-2014-{_pipeline_key()}.duckdb"
    if not db.exists():
        free = psutil.virtual_memory().available
        if free < DEMO_MEMORY:
            pytest.skip(
                f"building the kp-2014 demo store needs ~6 GB of memory; {free / 2**30:.1f} GiB "
                "available. Run `outagewatch demo --db PATH` and set OUTAGEWATCH_DEMO_DB=PATH"
            )
        for old in cache_dir.glob("kp-2014-*"):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        work = cache_dir / "work"
        shutil.rmtree(work, ignore_errors=True)
        partial = cache_dir / "kp-2014-building.duckdb"
        partial.unlink(missing_ok=True)
        demo.run_demo(work, partial)
        shutil.rmtree(work, ignore_errors=True)  # the MRT files are not needed to serve
        partial.rename(db)
    return db


@pytest.fixture(scope="module")
def pipeline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("OUTAGEWATCH_DEMO_DB")  # a store made by `outagewatch demo --db PATH`
    if given:
        db = Path(given)
    else:
        cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
        where = cache.mkdir("ow-kp2014-demo") if cache is not None else tmp_path_factory.mktemp("demo")
        db = _demo_store(Path(where))
    with running_server(create_app(db)) as base:
        yield base


def api(base: str, path: str, **params: Any) -> Any:
    r = httpx.get(base + "/api/v1/" + path, params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _kp_outage(base: str) -> dict[str, Any]:
    items = api(base, "events", kind="outage", entity_type="country", entity="KP")["items"]
    assert items, "the pipeline found no KP outage"
    return dict(min(items, key=lambda e: abs(_t(e["start"]) - DROP)))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


def _drop_and_recovery(times: list[str], values: list[float]) -> tuple[datetime, datetime]:
    points = [(_t(t), v) for t, v in zip(times, values, strict=True)]
    base = max(v for _, v in points)
    drop = next(i for i, (t, v) in enumerate(points) if t >= DROP - timedelta(hours=1) and v < base / 2)
    back = next(i for i in range(drop, len(points)) if points[i][1] >= base / 2)
    return points[drop][0], points[back][0]


def test_overview_lists_kp_in_outage_at_18utc(pipeline: str) -> None:
    data = api(pipeline, "overview", at="2014-12-22T18:00:00Z")
    kp = next(c for c in data["countries"] if c["entity"] == "KP")
    assert kp["status"] == "outage"
    assert data["countries"][0]["status"] == "outage"


def test_kp_visibility_drops_at_1615_and_recovers_at_0146(pipeline: str) -> None:
    metric = api(pipeline, "overview")["metric"]
    data = api(
        pipeline,
        "signals",
        entity_type="country",
        entity="KP",
        metric=metric,
        start="2014-12-22T12:00:00Z",
        end="2014-12-23T06:00:00Z",
    )
    series = data["series"][0]
    drop, back = _drop_and_recovery(series["t"], series["v"])
    assert drop == DROP
    assert back <= RECOVERY < back + timedelta(seconds=data["bin_seconds"])


def test_links_between_kp_its_as_and_prefixes(pipeline: str) -> None:
    kp = api(pipeline, "entities/country/KP")
    assert "131279" in {a["entity"] for a in kp["related"]["ases"]}
    assert {p["prefix"] for p in kp["related"]["prefixes"]} >= {"175.45.176.0/24", "175.45.179.0/24"}
    asn = api(pipeline, "entities/as/131279")
    assert {"entity": "KP"} in asn["related"]["countries"]


def test_kp_outage_event_and_report(pipeline: str) -> None:
    ev = api(pipeline, "events/" + _kp_outage(pipeline)["event_id"])
    assert _t(ev["start"]) == DROP
    assert ev["end"] is not None and abs(_t(ev["end"]) - RECOVERY) <= timedelta(minutes=5)
    assert ev["report_source"] == "report" and "KP" in ev["report"] and "16:15" in ev["report"]
    affected = set(ev["affected_prefixes"])
    assert affected in ({"175.45.176.0/22"}, {f"175.45.{n}.0/24" for n in range(176, 180)}), affected


@pytest.mark.browser
def test_pages_show_the_kp_outage(pipeline: str, browser: Any) -> None:  # noqa: F811
    tab = Page(browser, pipeline)
    page = tab.open("/?at=2014-12-22T18:00:00Z")
    assert page.locator('#countries tr[data-entity="KP"]').get_attribute("data-status") == "outage"
    tab.shot("pipeline-overview-2014-12-22T1800", full_page=False)

    page = tab.open("/entity/country/KP?start=2014-12-21T12:00:00Z&end=2014-12-23T12:00:00Z")
    metric = page.evaluate("document.getElementById('chart-visibility').data.map((d) => d.meta)")
    assert "ipv4.visible_slash24.ff_50pct" in metric
    trace = page.evaluate(
        "(() => { const t = document.getElementById('chart-visibility').data"
        ".find((d) => d.meta === 'ipv4.visible_slash24.ff_50pct');"
        " return [Array.from(t.x), Array.from(t.y)]; })()"
    )
    drop, back = _drop_and_recovery([x + "Z" for x in trace[0]], trace[1])
    assert drop == DROP and back <= RECOVERY < back + timedelta(minutes=5)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pipeline-dashboard.png"))
    tab.shot("pipeline-entity-KP")

    page = tab.open("/event/" + _kp_outage(pipeline)["event_id"])
    report = page.inner_text("#report")
    assert "KP" in report and "16:15" in report
    assert page.inner_text('[data-fact="start"]') == "2014-12-22 16:15 UTC"
    tab.shot("pipeline-event-KP-outage")
    tab.clean()
    tab.page.close()
