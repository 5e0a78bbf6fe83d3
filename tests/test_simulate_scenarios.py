"""Simulated scenarios are genuine MRT with the promised events: bgpdump is the oracle."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outagewatch.simulate import (
    SimulationResult,
    builtin_names,
    ground_truth,
    load_scenario,
    simulate_scenario,
)
from outagewatch.simulate.run import CollectorOutput

BGPDUMP = shutil.which("bgpdump") or "/usr/bin/bgpdump"
pytestmark = pytest.mark.skipif(not Path(BGPDUMP).exists(), reason="Debian bgpdump not installed")
SMALL = ("as-outage-small", "partial-outage", "upstream-switch")


def bgpdump(path: Path) -> list[list[str]]:
    run = subprocess.run([BGPDUMP, "-v", "-m", str(path)], capture_output=True, text=True, check=True)
    noise = [ln for ln in run.stderr.splitlines() if "[info]" not in ln]
    assert not noise, f"bgpdump complained about {path}: {noise[:3]}"
    return [ln.split("|") for ln in run.stdout.splitlines()]


def update_lines(c: CollectorOutput, tmp: Path) -> list[list[str]]:
    """All update files of a collector through one bgpdump run (decompressed and concatenated)."""
    joined = tmp / f"{c.name}.updates.mrt"
    joined.write_bytes(b"".join(gzip.decompress(p.read_bytes()) for p in c.updates))
    return bgpdump(joined)


def file_lines(path: Path) -> list[list[str]]:
    return bgpdump(path)


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.fixture(scope="module", params=SMALL)
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate_scenario(request.param, tmp_path_factory.mktemp(request.param), seed=7)


def test_builtins_listed() -> None:
    assert set(SMALL) | {"kp-2014"} <= set(builtin_names())


def test_bgpdump_counts_equal_what_the_simulator_wrote(small: SimulationResult, tmp_path: Path) -> None:
    s = small.scenario
    for c in small.collectors:
        assert len(c.updates) == s.n_bins
        assert c.rib.name == f"bview.{s.start:%Y%m%d.%H%M}.gz" and c.rib.parent.name == f"{s.start:%Y.%m}"
        rib = file_lines(c.rib)
        assert collections.Counter(r[2] for r in rib) == {"B": c.rib_entries}
        kinds = collections.Counter(r[2] for r in update_lines(c, tmp_path))
        want = collections.Counter({"A": c.announcements, "W": c.withdrawals, "STATE": c.state_changes})
        assert kinds == +want
        assert c.announcements > 0 and c.withdrawals > 0


def test_every_update_file_holds_its_own_five_minutes(small: SimulationResult) -> None:
    c = small.collectors[0]
    for path in c.updates[:: max(1, len(c.updates) // 6)]:
        t0 = ts(datetime.strptime(path.name[8:21], "%Y%m%d.%H%M").isoformat())
        stamps = [int(r[1]) for r in file_lines(path)]
        assert all(t0 <= t < t0 + 300 for t in stamps), path


def _withdrawn_by_all(result: SimulationResult, tmp: Path, t0: int, t1: int) -> dict[str, set[str]]:
    """prefix → peers that withdrew it in [t0, t1), over all collectors."""
    got: dict[str, set[str]] = collections.defaultdict(set)
    for c in result.collectors:
        for r in update_lines(c, tmp):
            if r[2] == "W" and t0 <= int(r[1]) < t1:
                got[r[5]].add(f"{c.name}|{r[3]}")
    return got


def _carriers(result: SimulationResult) -> dict[str, set[str]]:
    got: dict[str, set[str]] = collections.defaultdict(set)
    for c in result.collectors:
        for r in file_lines(c.rib):
            got[r[5]].add(f"{c.name}|{r[3]}")
    return got


def test_as_outage_small_withdrawn_by_every_peer_and_back(tmp_path: Path) -> None:
    res = simulate_scenario("as-outage-small", tmp_path / "o", seed=1)
    mine = {p.prefix for p in res.scenario.prefixes if p.origin == 4648}
    carriers = _carriers(res)
    gone = _withdrawn_by_all(res, tmp_path, ts("2015-03-01T10:40"), ts("2015-03-01T10:45"))
    assert mine and all(gone[p] == carriers[p] for p in mine)
    others = [p for p, peers in gone.items() if p not in mine]
    assert all(len(gone[p]) == 1 for p in others)  # background churn: single-peer withdrawals only
    lines = update_lines(res.collectors[0], tmp_path)
    during = [
        r
        for r in lines
        if r[2] == "A" and r[5] in mine and ts("2015-03-01T10:45") <= int(r[1]) < ts("2015-03-01T11:20")
    ]
    assert during == []
    back = {
        (r[3], r[5])
        for r in lines
        if r[2] == "A" and r[5] in mine and ts("2015-03-01T11:20") <= int(r[1]) < ts("2015-03-01T11:25")
    }
    assert {p for _, p in back} == mine


def test_partial_outage_takes_half_of_the_country(tmp_path: Path) -> None:
    res = simulate_scenario("partial-outage", tmp_path / "o", seed=2)
    uy = {p.prefix for p in res.scenario.prefixes if p.country == "UY"}
    carriers = _carriers(res)
    gone = _withdrawn_by_all(res, tmp_path, ts("2015-03-01T11:00"), ts("2015-03-01T11:05"))
    down = {p for p in uy if gone.get(p) == carriers[p]}
    assert len(down) == round(len(uy) * 0.5)
    truth = {(t.entity_type, t.entity, t.scope) for t in res.truth}
    assert ("country", "UY", "partial") in truth


def test_upstream_switch_moves_kp_to_intelsat_and_back(tmp_path: Path) -> None:
    res = simulate_scenario("upstream-switch", tmp_path / "o", seed=3)
    for c in res.collectors:
        kp = [r for r in update_lines(c, tmp_path) if r[2] == "A" and r[5].startswith("175.45.")]
        ups = {(ts("2015-03-01T11:00") <= int(r[1]) < ts("2015-03-01T12:30"), r[6].split()[-2]) for r in kp}
        assert (True, "22351") in ups and (False, "4837") in ups
        assert (True, "4837") not in ups and (False, "22351") not in ups
        assert {r[6].split()[-1] for r in kp} == {"131279"}


def _digest(result: SimulationResult) -> str:
    h = hashlib.sha256()
    for p in result.files:
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = simulate_scenario("partial-outage", tmp_path / "a", seed=11)
    b = simulate_scenario("partial-outage", tmp_path / "b", seed=11)
    c = simulate_scenario("partial-outage", tmp_path / "c", seed=12)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_peer_session_reset_writes_state_changes_and_table_again(tmp_path: Path) -> None:
    scn = load_scenario("kp-2014")
    scn = dataclasses.replace(
        scn, start=datetime(2014, 12, 19, 9, 0, tzinfo=UTC), end=datetime(2014, 12, 19, 10, 0, tzinfo=UTC)
    )
    res = simulate_scenario(scn, tmp_path / "o", seed=5)
    rv = next(c for c in res.collectors if c.name == "route-views2")
    lines = update_lines(rv, tmp_path)
    states = [(r[1], r[3], r[5], r[6]) for r in lines if r[2] == "STATE"]
    assert states == [
        (str(ts("2014-12-19T09:20")), "208.74.64.40", "6", "1"),
        (str(ts("2014-12-19T09:42")), "208.74.64.40", "1", "6"),
    ]
    mine = [r for r in lines if r[3] == "208.74.64.40" and r[2] in "AW"]
    assert not [r for r in mine if ts("2014-12-19T09:20") <= int(r[1]) <= ts("2014-12-19T09:42")]
    table = {r[5] for r in file_lines(rv.rib) if r[3] == "208.74.64.40"}
    again = {
        r[5] for r in mine if r[2] == "A" and ts("2014-12-19T09:42") < int(r[1]) < ts("2014-12-19T09:45")
    }
    assert again == table
    assert any(t.kind == "peer_down" for t in ground_truth(scn))


def test_periodic_rib_equals_the_replayed_state(tmp_path: Path) -> None:
    scn = dataclasses.replace(load_scenario("as-outage-small"), rib_every_hours=1)
    res = simulate_scenario(scn, tmp_path / "o", seed=9)
    c = res.collectors[0]
    assert [p.name for p in c.ribs] == ["bview.20150301.1000.gz", "bview.20150301.1100.gz"]
    state = {(r[3], r[5]): r[6] for r in file_lines(c.ribs[0])}
    for r in update_lines(c, tmp_path):
        if int(r[1]) >= ts("2015-03-01T11:00"):
            break
        if r[2] == "A":
            state[(r[3], r[5])] = r[6]
        elif r[2] == "W":
            state.pop((r[3], r[5]), None)
    later = {(r[3], r[5]): r[6] for r in file_lines(c.ribs[1])}
    assert later == state
    down = {p.prefix for p in scn.prefixes if p.origin == 4648}
    assert not down & {p for _, p in later}  # 11:00 is inside the AS4648 outage


def test_project_reader_agrees_with_the_counts(small: SimulationResult) -> None:
    """outagewatch.read_mrt reads every file (none empty) and sees what bgpdump sees."""
    import pyarrow as pa

    from outagewatch import read_mrt

    for c in small.collectors:
        kinds: collections.Counter[str] = collections.Counter()
        for path in (c.rib, *c.updates):
            reader = read_mrt(str(path), collector=c.name)
            table = pa.Table.from_batches(list(reader))
            assert not reader.problems, reader.problems[:3]
            kinds.update(table.column("kind").to_pylist())
        want = {"B": c.rib_entries, "A": c.announcements, "W": c.withdrawals, "S": c.state_changes}
        assert +kinds == +collections.Counter(want)
