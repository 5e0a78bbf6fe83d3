"""Downloading real archive files from loopback servers: resume, truncation, 404s, cache, offline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outagewatch.backfill.collectors import collector
from outagewatch.backfill.discover import discover_plan
from outagewatch.backfill.download import Cache, FetchOptions, fetch_all, list_directory
from outagewatch.backfill.layout import ArchiveFile
from outagewatch.backfill.verify import VerifyError, verify_file
from test_backfill_server import SHARED, Faults, link, ris_tree, routeviews_tree, serve

pytestmark = pytest.mark.shared

FAST = FetchOptions(parallel=3, attempts=3, backoff=0.0, timeout=10.0)
RRC04 = collector("rrc04")
START, END = datetime(2022, 2, 6, 7, 25, tzinfo=UTC), datetime(2022, 2, 6, 7, 50, tzinfo=UTC)


@pytest.fixture
def tree(tmp_path: Path, shared_data: Path) -> Path:
    return ris_tree(tmp_path)


def _plan_files(base: str) -> list:  # type: ignore[type-arg]
    import httpx

    with httpx.Client() as client:
        plan = discover_plan([RRC04], START, END, lambda c: base, client)
    assert plan.source == "listing"
    return list(plan.files)


def test_download_plan_then_serve_from_cache(tree: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    with serve(tree) as (base, faults):
        files = _plan_files(base)
        names = [f.name for f in files]
        assert names[0] == "bview.20220206.0000.gz"
        # updates from the RIB (00:00) to the end; the archive has 03:50 and 03:55, then 07:25 on
        stamps = ("0350", "0355", "0725", "0730", "0735", "0740", "0745")
        assert names[1:] == [f"updates.20220206.{m}.gz" for m in stamps]
        results = fetch_all(files, lambda f: base, cache, FAST, progress=False)
        assert [r.status for r in results] == ["downloaded"] * len(files)
        for r in results:
            assert r.path is not None and r.path.read_bytes() == (tree / r.file.path).read_bytes()
        before = sum(faults.requests.values())
        again = fetch_all(files, lambda f: base, cache, FAST, progress=False)
        assert [r.status for r in again] == ["cached"] * len(files)
        assert sum(faults.requests.values()) == before  # nothing re-fetched
    offline = fetch_all(files, lambda f: base, cache, FetchOptions(offline=True), progress=False)
    assert all(r.status == "cached" for r in offline)
    # the cache mirrors the archive layout, so it is itself a base: plan from it with no server
    assert _plan_files(str(cache.root))[0].name == "bview.20220206.0000.gz"


def test_transfers_cut_short_resume_with_range(tree: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    with serve(tree, Faults(cut_first=1, cut_at=4096)) as (base, faults):
        files = _plan_files(base)
        results = fetch_all(files, lambda f: base, cache, FAST, progress=False)
    assert [r.status for r in results] == ["downloaded"] * len(files)
    assert all(r.attempts == 2 for r in results)
    assert sorted(faults.ranges) == sorted(f"{f.path} bytes=4096-" for f in files)
    for r in results:
        assert r.path is not None and r.path.read_bytes() == (tree / r.file.path).read_bytes()
    assert not list(cache.root.rglob("*.part"))


def test_truncated_file_with_honest_length_is_refetched_then_refused(tree: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    with serve(tree, Faults(lie=True)) as (base, faults):
        files = _plan_files(base)[:2]
        results = fetch_all(files, lambda f: base, cache, FAST, progress=False)
    for r in results:
        assert r.status == "failed" and r.path is None and r.attempts == FAST.attempts
        assert r.error is not None and "stream ends early" in r.error and r.file.path in r.error
        assert faults.requests[r.file.path] == FAST.attempts  # re-fetched each time, never accepted
    assert not [p for p in cache.root.rglob("*") if p.is_file()]


def test_404s_are_missing_without_retries(tree: Path, tmp_path: Path) -> None:
    gone = "rrc04/2022.02/updates.20220206.0735.gz"
    with serve(tree, Faults(gone={gone})) as (base, faults):
        files = _plan_files(base)
        results = fetch_all(files, lambda f: base, Cache(tmp_path / "c"), FAST, progress=False)
    by = {r.file.path: r for r in results}
    assert by[gone].status == "missing" and "HTTP 404" in (by[gone].error or "")
    assert faults.requests[gone] == 1
    assert sum(r.status == "downloaded" for r in results) == len(files) - 1


def test_listing_falls_back_to_the_schedule_when_the_server_has_none(tree: Path, tmp_path: Path) -> None:
    import httpx

    empty = tmp_path / "empty"
    empty.mkdir()
    with serve(empty) as (base, _), httpx.Client() as client:
        assert list_directory(client, base, "rrc04/2022.02") == []
        plan = discover_plan([RRC04], START, END, lambda c: base, client)
        assert plan.source == "schedule"
        results = fetch_all(list(plan.files), lambda f: base, Cache(tmp_path / "c"), FAST, progress=False)
    assert {r.status for r in results} == {"missing"}


def _const(base: str) -> Callable[[ArchiveFile], str]:
    return lambda f: base


def test_local_and_file_url_bases_are_read_in_place(tree: Path, tmp_path: Path) -> None:
    files = _plan_files(str(tree))
    for base in (str(tree), tree.as_uri()):
        results = fetch_all(files, _const(base), Cache(tmp_path / "c"), FAST, progress=False)
        assert {r.status for r in results} == {"local"}
        assert results[0].path == tree / files[0].path
    bad = tmp_path / "bad"
    link(
        SHARED / "mrt/truncated/rib.20140523.0600_firstMB.bz2",
        bad / "bgpdata/2014.05/RIBS/rib.20140523.0600.bz2",
    )
    rv2 = collector("route-views2")
    plan = discover_plan(
        [rv2],
        datetime(2014, 5, 23, 6, 0, tzinfo=UTC),
        datetime(2014, 5, 23, 6, 5, tzinfo=UTC),
        lambda c: str(bad),
        None,
    )
    res = fetch_all([plan.files[0]], lambda f: str(bad), Cache(tmp_path / "c"), FAST, progress=False)
    assert res[0].status == "failed" and "bzip2 stream ends early" in (res[0].error or "")


def test_routeviews_layout_over_http(tmp_path: Path, shared_data: Path) -> None:
    import httpx

    root = routeviews_tree(tmp_path)
    syd = collector("route-views.sydney")
    with serve(root) as (base, _), httpx.Client() as client:
        plan = discover_plan(
            [syd],
            datetime(2022, 6, 1, 2, 30, tzinfo=UTC),
            datetime(2022, 6, 1, 2, 45, tzinfo=UTC),
            lambda c: base,
            client,
        )
        assert [f.name for f in plan.files] == ["rib.20220601.0200.bz2", "updates.20220601.0230.bz2"]
        assert plan.collectors[0].gaps[0][0] == datetime(2022, 6, 1, 2, 0, tzinfo=UTC)
        results = fetch_all(list(plan.files), lambda f: base, Cache(tmp_path / "c"), FAST, progress=False)
    assert [r.status for r in results] == ["downloaded", "downloaded"]


def test_verify_real_files(shared_data: Path) -> None:
    whole = shared_data / "mrt/ris-2022-week/updates.20220206.0725.gz"
    assert verify_file(whole) > whole.stat().st_size
    with pytest.raises(VerifyError, match="server announced 1"):
        verify_file(whole, expected_size=1)
    for cut in ("rib.20080501.0644_firstMB.bz2", "rib6.20151101.0600_firstMB.bz2"):
        with pytest.raises(VerifyError, match="bzip2 stream ends early"):
            verify_file(shared_data / "mrt/truncated" / cut)
    with pytest.raises(VerifyError, match="is not MRT"):
        verify_file(shared_data / "mrt/ris-2022-week/../../README.md")
