"""Archive layouts, names, listings and window plans (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.backfill.collectors import (
    RIS_COLLECTORS,
    ROUTEVIEWS_COLLECTORS,
    UnknownCollectorError,
    collector,
    parse_collectors,
)
from outagewatch.backfill.layout import (
    LayoutError,
    archive_file,
    era,
    file_path,
    files_from_listing,
    floor_to,
    listing_names,
    parse_name,
)
from outagewatch.backfill.plan import (
    PlanError,
    dirs_to_list,
    plan_from_files,
    plan_from_schedule,
    plan_window,
    segment_tasks,
    slice_edges,
    slice_tasks,
)


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


RRC00 = collector("rrc00")
RV2 = collector("route-views2")
LINX = collector("route-views.linx")


def test_paths_follow_the_public_layouts() -> None:
    at = t("2022-02-06 07:25")
    assert file_path(RRC00, "updates", at) == "rrc00/2022.02/updates.20220206.0725.gz"
    assert file_path(RRC00, "rib", t("2022-02-06 08:00")) == "rrc00/2022.02/bview.20220206.0800.gz"
    assert file_path(RV2, "rib", t("2022-02-06 06:00")) == "bgpdata/2022.02/RIBS/rib.20220206.0600.bz2"
    assert (
        file_path(RV2, "updates", t("2022-02-06 06:15"))
        == "bgpdata/2022.02/UPDATES/updates.20220206.0615.bz2"
    )
    assert (
        file_path(LINX, "updates", at.replace(minute=15))
        == "route-views.linx/bgpdata/2022.02/UPDATES/updates.20220206.0715.bz2"
    )
    f = archive_file(RRC00, "updates", at)
    assert f.end - f.start == timedelta(minutes=5)
    assert (
        f.url("https://data.ris.ripe.net/")
        == "https://data.ris.ripe.net/rrc00/2022.02/updates.20220206.0725.gz"
    )
    assert archive_file(RV2, "updates", at.replace(minute=15)).end == t("2022-02-06 07:30")


def test_collector_names() -> None:
    assert [c.name for c in parse_collectors("rrc00, route-views2,route-views.sydney")] == [
        "rrc00",
        "route-views2",
        "route-views.sydney",
    ]
    assert "rrc17" not in {c.name for c in RIS_COLLECTORS}
    assert len([c for c in RIS_COLLECTORS if c.active]) == 23
    assert len(ROUTEVIEWS_COLLECTORS) >= 35
    assert collector("rrc27").directory == "rrc27"  # newer than our list: regular layout
    with pytest.raises(UnknownCollectorError, match="unknown collector 'nowhere'"):
        collector("nowhere")
    assert len(parse_collectors("all")) == 23 + len(ROUTEVIEWS_COLLECTORS)


grid_times = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: floor_to(d.replace(tzinfo=UTC), timedelta(minutes=5))
)


@given(grid_times, st.sampled_from(["rrc00", "rrc25", "route-views2", "route-views.amsix"]))
def test_names_round_trip(at: datetime, name: str) -> None:
    c = collector(name)
    for kind in ("rib", "updates"):
        path = file_path(c, kind, at)
        assert parse_name(path.rsplit("/", 1)[-1]) == (kind, at)
        assert path.startswith(f"{c.directory}/{at:%Y.%m}/")


def test_parse_name_rejects_other_files() -> None:
    assert parse_name("updates.20220206.0725.gz.md5") is None
    assert parse_name("README") is None
    assert parse_name("updates.20221306.0725.gz") is None  # month 13
    assert parse_name("rib.20080501.0644.bz2") == ("rib", t("2008-05-01 06:44"))


def test_eras_and_history() -> None:
    assert era("ris", t("2022-01-01")).updates_every == timedelta(minutes=5)
    assert era("ris", t("2002-07-22")).updates_every == timedelta(minutes=15)
    assert not era("routeviews", t("2008-05-01")).regular
    with pytest.raises(LayoutError, match="RouteViews MRT archives begin on 2001-11-01"):
        era("routeviews", t("2000-06-01"))
    with pytest.raises(PlanError, match="irregular times; planning this window needs the archive's"):
        plan_from_schedule(RRC00, t("2002-07-22 22:00"), t("2002-07-22 23:00"))


APACHE_INDEX = """<html><body><h1>Index of /rrc00/2002.07</h1><pre>
<a href="?C=N;O=D">Name</a> <a href="/rrc00/">Parent Directory</a>
<a href="bview.20020722.2337.gz">bview.20020722.2337.gz</a>  22-Jul-2002 23:40  1.1M
<a href="updates.20020722.2238.gz">updates.20020722.2238.gz</a>
<a href="updates.20020722.2253.gz">updates.20020722.2253.gz</a>
<a href="updates.20020722.2308.gz">updates.20020722.2308.gz</a>
<a href="updates.20020722.2338.gz">updates.20020722.2338.gz</a>
<a href="updates.20020722.2338.gz.md5">md5</a>
</pre></body></html>"""


def test_listing_plans_irregular_early_archives() -> None:
    names = listing_names(APACHE_INDEX)
    assert names[0] == "bview.20020722.2337.gz" and len(names) == 5
    files = files_from_listing(RRC00, "rrc00/2002.07", names)
    plan = plan_from_files(RRC00, t("2002-07-22 23:40"), t("2002-07-23 00:00"), files)
    assert plan.ribs[0].path == "rrc00/2002.07/bview.20020722.2337.gz"
    # the RIB is at 23:37; 23:08 ends at 23:23 (before it); the 23:23 file is absent: one minute
    # uncovered until the 23:38 file, which covers 15 minutes, to 23:53
    assert [u.name for u in plan.updates] == ["updates.20020722.2338.gz"]
    assert plan.gaps == (
        (t("2002-07-22 23:37"), t("2002-07-22 23:38")),
        (t("2002-07-22 23:53"), t("2002-07-23 00:00")),
    )
    longer = plan_from_files(RRC00, t("2002-07-22 23:40"), t("2002-07-23 01:00"), files)
    assert longer.gaps[-1] == (t("2002-07-22 23:53"), t("2002-07-23 01:00"))
    with pytest.raises(PlanError, match="no RIB dump at or before 2002-07-22 23:00"):
        plan_from_files(RRC00, t("2002-07-22 23:00"), t("2002-07-23 00:00"), files)


def test_schedule_plan_rib_then_updates_to_the_end() -> None:
    p = plan_from_schedule(RRC00, t("2022-02-06 07:30"), t("2022-02-06 09:00"))
    assert [r.name for r in p.ribs] == ["bview.20220206.0000.gz", "bview.20220206.0800.gz"]
    assert p.updates[0].start == t("2022-02-06 00:00") and p.updates[-1].start == t("2022-02-06 08:55")
    assert len(p.updates) == 9 * 12
    rv = plan_from_schedule(RV2, t("2022-02-06 07:30"), t("2022-02-06 09:00"))
    assert [r.name for r in rv.ribs] == ["rib.20220206.0600.bz2", "rib.20220206.0800.bz2"]
    assert [u.start for u in rv.updates][:2] == [t("2022-02-06 06:00"), t("2022-02-06 06:15")]
    assert rv.updates[-1].start == t("2022-02-06 08:45")


def test_month_boundary_lists_the_previous_month() -> None:
    dirs = dirs_to_list(RRC00, t("2022-03-01 00:05"), t("2022-03-01 01:00"))
    assert dirs == ["rrc00/2022.02", "rrc00/2022.03"]
    assert dirs_to_list(RV2, t("2022-03-15 12:00"), t("2022-03-15 13:00")) == [
        "bgpdata/2022.03/RIBS",
        "bgpdata/2022.03/UPDATES",
    ]
    p = plan_from_schedule(RRC00, t("2022-03-01 00:00"), t("2022-03-01 00:10"))
    assert p.ribs[0].path == "rrc00/2022.03/bview.20220301.0000.gz"
    p = plan_from_schedule(RV2, t("2022-03-01 01:00"), t("2022-03-01 01:10"))
    assert p.ribs[0].path == "bgpdata/2022.03/RIBS/rib.20220301.0000.bz2"


def test_plan_window_mixes_listing_and_schedule() -> None:
    files = files_from_listing(RRC00, "rrc00/2002.07", listing_names(APACHE_INDEX))
    window = (t("2022-02-06 07:30"), t("2022-02-06 08:00"))
    plan = plan_window([RRC00, RV2], *window, listings=None)
    assert plan.source == "schedule" and len(plan.collectors) == 2
    with pytest.raises(PlanError, match="end 2022-02-06T07:30:00\\+00:00 is not after start"):
        plan_window([RRC00], window[0], window[0])
    with pytest.raises(PlanError, match="no RIB dump"):
        plan_window([RRC00], *window, listings={"rrc00": []})
    old = plan_window([RRC00], t("2002-07-22 23:40"), t("2002-07-23 00:00"), listings={"rrc00": files})
    assert old.source == "listing"


def test_slices_align_to_bins_and_start_from_the_latest_rib() -> None:
    plan = plan_window([RRC00], t("2022-02-06 06:00"), t("2022-02-06 10:00"))
    edges = slice_edges(plan.start, plan.end, 3600, 300)
    assert edges[0] == plan.start and edges[-1] == plan.end and len(edges) == 5
    with pytest.raises(PlanError, match="not a positive multiple"):
        slice_edges(plan.start, plan.end, 1000, 300)
    tasks = slice_tasks(plan, 3600, 300)
    assert [(x.start.hour, x.rib.start.hour) for x in tasks] == [(6, 0), (7, 0), (8, 8), (9, 8)]
    nine = tasks[-1]
    assert nine.updates[0].start == t("2022-02-06 08:00") and nine.updates[-1].start == t("2022-02-06 09:55")
    for task in tasks:  # from the RIB to the end of the plan (workers stop once past their end)
        assert all(u.end > task.rib.start for u in task.updates)
        assert task.updates[-1] == plan.collectors[0].updates[-1]


def test_segments_start_at_rib_dumps() -> None:
    plan = plan_window([RRC00, RV2], t("2022-02-06 06:00"), t("2022-02-06 17:00"))
    segs = segment_tasks(plan, 300)
    rrc = [(x.start.hour, x.end.hour, x.rib.start.hour) for x in segs if x.collector == "rrc00"]
    assert rrc == [(6, 8, 0), (8, 16, 8), (16, 17, 16)]
    rv = [x for x in segs if x.collector == "route-views2"]
    assert [x.start.hour for x in rv] == [6, 8, 10, 12, 14, 16]
    assert all(x.rib.start == x.start for x in rv)
