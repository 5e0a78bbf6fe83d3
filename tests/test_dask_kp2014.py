"""kp-2014 with real RIS background, in real archive layouts: local engine == 2-process LocalCluster.

The simulator writes the North Korea scenario (narrowed to 22 Dec 2014 14:00–18:00 UTC; the four
KP /24s vanish at 16:15) for rrc00, rrc01 and route-views2, with the real ris-2022-week update
files spliced into rrc00 as background traffic. rrc00/rrc01 stay in the RIS layout the simulator
writes; route-views2 is rearranged into the RouteViews layout (bz2, 15-minute update files made by
concatenating three 5-minute MRT files). The archive is served over loopback HTTP, downloaded into a
cache and processed in both modes: signals and events must be identical, and the outage is found.
"""

from __future__ import annotations

import bz2
import dataclasses
import functools
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outagewatch.backfill.collectors import parse_collectors
from outagewatch.backfill.download import Cache, FetchOptions
from outagewatch.backfill.fetch import fetch_window
from outagewatch.backfill.process import RunOptions, compute
from outagewatch.engine.dask_runner import dask_client
from outagewatch.signals.mapping import RangeMapper
from test_backfill_server import RIS_WEEK, serve
from test_dask_slices import _norm

pytestmark = pytest.mark.shared

START, END = datetime(2014, 12, 22, 14, 0, tzinfo=UTC), datetime(2014, 12, 22, 18, 0, tzinfo=UTC)
KP = (0xAF2DB000, 0xAF2DB3FF, "KP")  # 175.45.176.0 – 175.45.179.255


def _to_routeviews(sim: Path, root: Path) -> None:
    src = sim / "route-views2" / "2014.12"
    ribs = root / "bgpdata/2014.12/RIBS"
    ups = root / "bgpdata/2014.12/UPDATES"
    ribs.mkdir(parents=True)
    ups.mkdir(parents=True)
    for bview in src.glob("bview.*.gz"):
        stamp = bview.name.removeprefix("bview.").removesuffix(".gz")
        (ribs / f"rib.{stamp}.bz2").write_bytes(bz2.compress(gzip.decompress(bview.read_bytes())))
    groups: dict[datetime, list[Path]] = {}
    for f in sorted(src.glob("updates.*.gz")):
        at = datetime.strptime(f.name[8:21], "%Y%m%d.%H%M").replace(tzinfo=UTC)
        groups.setdefault(at - timedelta(minutes=at.minute % 15), []).append(f)
    for at, files in groups.items():
        data = b"".join(gzip.decompress(f.read_bytes()) for f in files)
        (ups / f"updates.{at:%Y%m%d.%H%M}.bz2").write_bytes(bz2.compress(data))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not RIS_WEEK.is_dir():
        pytest.skip("../shared/data is absent")
    from outagewatch.simulate.run import simulate_scenario
    from outagewatch.simulate.scenario import Splice
    from outagewatch.simulate.scenario_toml import load_scenario

    tmp = tmp_path_factory.mktemp("kp")
    scenario = load_scenario("kp-2014")
    background = Splice("rrc00", (str(RIS_WEEK / "updates.20220206.0[78]*.gz"),))
    scenario = dataclasses.replace(scenario, start=START, end=END, splice=(background,))
    simulate_scenario(scenario, tmp / "sim", seed=7)
    root = tmp / "archive"
    root.mkdir()
    for rrc in ("rrc00", "rrc01"):
        (tmp / "sim" / rrc).rename(root / rrc)
    _to_routeviews(tmp / "sim", root)
    return root


@pytest.mark.slow
def test_kp2014_local_engine_equals_local_cluster(archive: Path, tmp_path: Path) -> None:
    collectors = parse_collectors("rrc00,rrc01,route-views2")
    with serve(archive) as (base, _):
        fetched = fetch_window(
            collectors,
            START,
            END,
            bases={"ris": base, "routeviews": base},
            cache=Cache(tmp_path / "cache"),
            options=FetchOptions(parallel=4, backoff=0.0),
        )
    assert fetched.plan.source == "listing" and not fetched.problems
    names = {f.name for f in fetched.plan.files}
    assert "rib.20141222.1400.bz2" in names and "updates.20141222.1745.bz2" in names
    assert "bview.20141222.1400.gz" in names and "updates.20141222.1755.gz" in names
    plan = fetched.usable_plan()
    opts = RunOptions(db=None, slice_seconds=7200, mapper_factory=functools.partial(RangeMapper, [KP]))
    local = compute(plan, fetched.local, opts)
    with dask_client(None, 2) as client:
        on_dask = compute(plan, fetched.local, opts, client)
    assert local.result.tasks == 3 and on_dask.result.tasks == 6
    assert _norm(local.signals).equals(_norm(on_dask.signals))
    assert [e.row() for e in local.events] == [e.row() for e in on_dask.events]
    outages = [e for e in local.events if e.kind == "outage" and e.entity == "KP"]
    assert outages and outages[0].start == int(datetime(2014, 12, 22, 16, 15, tzinfo=UTC).timestamp())
