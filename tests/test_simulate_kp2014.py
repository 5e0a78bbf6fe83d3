"""The built-in kp-2014 scenario encodes the public facts of North Korea's outage (bgpdump as oracle)."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outagewatch.simulate import SimulationResult, load_scenario, simulate_scenario

BGPDUMP = shutil.which("bgpdump") or "/usr/bin/bgpdump"
pytestmark = pytest.mark.skipif(not Path(BGPDUMP).exists(), reason="Debian bgpdump not installed")
KP = {f"175.45.{n}.0/24" for n in range(176, 180)}


def t(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def bgpdump(path: Path) -> list[list[str]]:
    run = subprocess.run([BGPDUMP, "-v", "-m", str(path)], capture_output=True, text=True, check=True)
    noise = [ln for ln in run.stderr.splitlines() if "[info]" not in ln]
    assert not noise, f"bgpdump complained about {path}: {noise[:3]}"
    return [ln.split("|") for ln in run.stdout.splitlines()]


def streams(res: SimulationResult, tmp: Path) -> tuple[list[list[str]], list[list[str]]]:
    """(RIB lines, update lines) over all collectors, peers named ``collector|address``."""
    rib, upd = [], []
    for c in res.collectors:
        rib += [[*r[:3], f"{c.name}|{r[3]}", *r[4:]] for r in bgpdump(c.rib)]
        joined = tmp / f"{c.name}.mrt"
        joined.write_bytes(b"".join(gzip.decompress(p.read_bytes()) for p in c.updates))
        upd += [[*r[:3], f"{c.name}|{r[3]}", *r[4:]] for r in bgpdump(joined)]
    upd.sort(key=lambda r: int(r[1]))
    return rib, upd


Lines = tuple[list[list[str]], list[list[str]]]


def replay(res: SimulationResult, lines: Lines) -> tuple[list[int], list[dict[str, int]], dict[str, int]]:
    """Bin ends, and per bin end the number of peers carrying each prefix; plus RIB carriers."""
    rib, upd = lines
    state = {(r[3], r[5]) for r in rib}
    full = collections.Counter(p for _, p in state)
    s = res.scenario
    ends = [int(s.start.timestamp()) + s.bin_seconds * (k + 1) for k in range(s.n_bins)]
    seen = collections.Counter(full)
    out, i = [], 0
    for end in ends:
        while i < len(upd) and int(upd[i][1]) < end:
            r = upd[i]
            key = (r[3], r[5])
            if r[2] == "A" and key not in state:
                state.add(key)
                seen[r[5]] += 1
            elif r[2] == "W" and key in state:
                state.discard(key)
                seen[r[5]] -= 1
            i += 1
        out.append(dict(seen))
    return ends, out, full


@pytest.fixture(scope="module")
def around_outage(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    scn = dataclasses.replace(
        load_scenario("kp-2014"),
        start=datetime(2014, 12, 22, 14, 0, tzinfo=UTC),
        end=datetime(2014, 12, 23, 3, 0, tzinfo=UTC),
    )
    return simulate_scenario(scn, tmp_path_factory.mktemp("kp"), seed=0)


@pytest.fixture(scope="module")
def kp_lines(around_outage: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Lines:
    return streams(around_outage, tmp_path_factory.mktemp("kpl"))


def test_kp_prefixes_and_upstream_in_the_table(kp_lines: Lines) -> None:
    rib, _ = kp_lines
    kp = [r for r in rib if r[5] in KP]
    assert {r[5] for r in kp} == KP
    assert {tuple(r[6].split()[-2:]) for r in kp} == {("4837", "131279")}
    assert len({r[3] for r in kp}) >= 25  # three collectors' worth of peers


def test_kp_down_from_1615_to_0146_and_nobody_else(around_outage: SimulationResult, kp_lines: Lines) -> None:
    ends, counts, full = replay(around_outage, kp_lines)
    down0, up0 = t("2014-12-22T16:20"), t("2014-12-23T01:50")  # ends of the 16:15 and 01:45 bins
    for end, seen in zip(ends, counts, strict=True):
        for p in KP:
            if end < down0:
                assert seen[p] >= 0.8 * full[p], (end, p)
            elif end < up0:
                assert seen[p] == 0, (end, p)
            else:
                assert seen[p] == full[p], (end, p)
        short = [p for p in full if p not in KP and seen[p] < 0.5 * full[p]]
        assert short == [], (end, short[:5])


def test_kp_withdrawn_by_every_peer_in_the_1615_file_and_back_at_0146(
    around_outage: SimulationResult, kp_lines: Lines
) -> None:
    rib, upd = kp_lines
    carriers = {(r[3], r[5]) for r in rib if r[5] in KP}
    w = {
        (r[3], r[5])
        for r in upd
        if r[2] == "W" and r[5] in KP and t("2014-12-22T16:15") <= int(r[1]) < down_end()
    }
    assert w == carriers
    back = [r for r in upd if r[2] == "A" and r[5] in KP and int(r[1]) >= t("2014-12-22T16:20")]
    assert {(r[3], r[5]) for r in back} == carriers
    assert min(int(r[1]) for r in back) >= t("2014-12-23T01:46")
    assert max(int(r[1]) for r in back) < t("2014-12-23T01:50")
    name = "updates.20141222.1615.gz"
    assert all(any(p.name == name for p in c.updates) for c in around_outage.collectors)


def down_end() -> int:
    return t("2014-12-22T16:20")


def test_ground_truth_names_the_facts() -> None:
    from outagewatch.simulate import ground_truth

    truth = {(g.kind, g.entity_type, g.entity): g for g in ground_truth(load_scenario("kp-2014"))}
    out = truth[("outage", "country", "KP")]
    assert (out.start, out.end) == (
        datetime(2014, 12, 22, 16, 15, tzinfo=UTC),
        datetime(2014, 12, 23, 1, 46, tzinfo=UTC),
    )
    flap = truth[("instability", "country", "KP")]
    assert out.end is not None
    assert (
        out.start - flap.start >= (out.end - out.start)
        and (out.start - flap.start).total_seconds() >= 24 * 3600
    )
    assert [k for k in truth if k[0] == "outage"] == [("outage", "country", "KP")]


@pytest.mark.slow
def test_full_kp_2014_is_genuine_and_instability_rises(tmp_path: Path) -> None:
    res = simulate_scenario("kp-2014", tmp_path / "kp", seed=0)
    assert sum(len(c.updates) for c in res.collectors) == 3 * 5 * 288
    per_day: collections.Counter[str] = collections.Counter()
    for c in res.collectors:
        joined = tmp_path / f"{c.name}.mrt"
        joined.write_bytes(b"".join(gzip.decompress(p.read_bytes()) for p in c.updates))
        lines = bgpdump(joined)
        kinds = collections.Counter(r[2] for r in lines)
        assert kinds == +collections.Counter(
            {"A": c.announcements, "W": c.withdrawals, "STATE": c.state_changes}
        )
        assert collections.Counter(r[2] for r in bgpdump(c.rib)) == {"B": c.rib_entries}
        for r in lines:
            if r[2] in "AW" and r[5] in KP and int(r[1]) < t("2014-12-22T16:15"):
                per_day[datetime.fromtimestamp(int(r[1]), UTC).strftime("%d")] += 1
    assert per_day["19"] < per_day["20"] < per_day["21"] < per_day["22"]
    assert per_day["21"] > 5 * per_day["19"]


def test_window_opening_inside_the_outage_starts_from_the_true_state(tmp_path: Path) -> None:
    scn = dataclasses.replace(
        load_scenario("kp-2014"),
        start=datetime(2014, 12, 22, 20, 0, tzinfo=UTC),
        end=datetime(2014, 12, 23, 2, 30, tzinfo=UTC),
    )
    res = simulate_scenario(scn, tmp_path / "o", seed=0)
    rib, upd = streams(res, tmp_path)
    assert KP.isdisjoint(r[5] for r in rib) and len(rib) == sum(c.rib_entries for c in res.collectors)
    kinds = collections.Counter(r[2] for r in upd)
    total: collections.Counter[str] = collections.Counter()
    for c in res.collectors:
        total.update({"A": c.announcements, "W": c.withdrawals, "STATE": c.state_changes})
    assert kinds == +total
    back = [r for r in upd if r[5] in KP]
    assert {r[2] for r in back} == {"A"} and min(int(r[1]) for r in back) >= t("2014-12-23T01:46")
