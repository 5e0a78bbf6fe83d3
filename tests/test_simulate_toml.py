"""Scenario TOML: round trips, clear errors, splicing real update files, the CLI."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outagewatch.cli import app
from outagewatch.simulate import (
    Event,
    Splice,
    builtin_names,
    dumps,
    load_scenario,
    loads,
    simulate_scenario,
)
from outagewatch.simulate.scenario_toml import format_prefix_lines, parse_prefix_lines
from outagewatch.simulate.splice import walk_records

BGPDUMP = shutil.which("bgpdump") or "/usr/bin/bgpdump"


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenarios_round_trip_inline_and_with_a_prefix_file(name: str) -> None:
    scn = load_scenario(name)
    assert loads(dumps(scn)) == scn
    text = dumps(dataclasses.replace(scn, prefixes_file="p.tsv"), inline_prefixes=False)
    assert "[[prefixes]]" not in text
    assert loads(text, format_prefix_lines(scn.prefixes)) == scn


def test_kp_2014_facts_in_the_builtin() -> None:
    scn = load_scenario("kp-2014")
    kp = [p for p in scn.prefixes if p.country == "KP"]
    assert [(p.prefix, p.origin, p.upstreams) for p in kp] == [
        (f"175.45.{n}.0/24", 131279, (4837,)) for n in range(176, 180)
    ]
    assert len(scn.prefixes) > 2000 and len({p.country for p in scn.prefixes}) > 100
    assert (scn.start, scn.end) == (datetime(2014, 12, 19, tzinfo=UTC), datetime(2014, 12, 24, tzinfo=UTC))
    assert [c.name for c in scn.collectors] == ["rrc00", "rrc01", "route-views2"]
    assert all(10 <= len(c.peers) <= 15 for c in scn.collectors)
    assert sum(p.feed < 1 for c in scn.collectors for p in c.peers) >= 3


SMALL_BASE = load_scenario("as-outage-small")
_times = st.datetimes(datetime(2015, 3, 1, 10), datetime(2015, 3, 1, 11), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


@settings(max_examples=30, deadline=None)
@given(
    start=_times,
    minutes=st.integers(1, 300),
    share=st.floats(0.05, 1.0),
    rates=st.tuples(st.floats(0, 10), st.floats(0, 10)),
    label=st.text(max_size=20),
)
def test_any_event_round_trips(
    start: datetime, minutes: int, share: float, rates: tuple[float, float], label: str
) -> None:
    base = SMALL_BASE

    ev = Event(
        "flap",
        start,
        start + timedelta(minutes=minutes),
        asn=4648,
        share_peers=share,
        rate_start=rates[0],
        rate_end=rates[1],
        label=label,
    )
    scn = dataclasses.replace(base, events=(ev,))
    assert loads(dumps(scn)) == scn


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("bogus = 1\n", "unknown keys"),
        ('[[events]]\nkind = "outage"\ncountry = "ZZ"\nstart = 2015-03-01T10:00:00Z\n', "matches no prefix"),
        ('[[events]]\nkind = "meteor"\nasn = 4648\nstart = 2015-03-01T10:00:00Z\n', "unknown kind"),
        (
            '[[events]]\nkind = "outage"\nasn = 4648\nstart = 2015-03-01T10:00:00Z\n'
            "end = 2015-03-01T09:00:00Z\n",
            "end must be after start",
        ),
    ],
)
def test_bad_scenarios_are_named(patch: str, message: str) -> None:
    text = dumps(load_scenario("as-outage-small"))
    text = patch + text if patch.startswith("bogus") else text + "\n" + patch
    with pytest.raises(ValueError, match=message):
        loads(text)


def test_bad_prefix_line_names_source_and_line() -> None:
    with pytest.raises(ValueError, match=r"p\.tsv:2: bad prefix line"):
        parse_prefix_lines("1.0.0.0/24\t1\t2\tAU\n1.0.1.0/24\tx\t\tCN\n", "p.tsv")


def test_unknown_scenario_lists_the_builtins() -> None:
    with pytest.raises(ValueError, match="kp-2014"):
        load_scenario("no-such-scenario")


@pytest.mark.skipif(not Path(BGPDUMP).exists(), reason="Debian bgpdump not installed")
def test_splicing_real_updates_keeps_their_records(shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / "mrt/ris-2022-week").glob("updates.*.gz"))[:2]
    scn = dataclasses.replace(
        load_scenario("as-outage-small"),
        end=datetime(2015, 3, 1, 10, 15, tzinfo=UTC),
        splice=(Splice("rrc00", tuple(str(f) for f in files)),),
    )
    res = simulate_scenario(scn, tmp_path / "o", seed=1)
    c = res.collectors[0]
    real = [gzip.decompress(f.read_bytes()) for f in files]
    n0, n1 = (sum(1 for r in walk_records(d) if r[2] in (16, 17)) for d in real)
    assert c.spliced_records == n0 + n1 + n0  # 3 bins from 2 files: cycled
    lines = []
    for p in c.updates:
        run = subprocess.run([BGPDUMP, "-m", str(p)], capture_output=True, text=True, check=True)
        lines += run.stdout.splitlines()
    stamps = [int(ln.split("|")[1]) for ln in lines]
    t0 = int(scn.start.timestamp())
    assert all(t0 <= t < t0 + 900 for t in stamps)
    want: collections.Counter[str] = collections.Counter()
    for f in files:
        run = subprocess.run([BGPDUMP, "-m", str(f)], capture_output=True, text=True, check=True)
        want.update(ln.split("|")[2] for ln in run.stdout.splitlines())
    got = collections.Counter(ln.split("|")[2] for ln in lines)
    first = want.copy()
    first.update(
        ln.split("|")[2]
        for ln in subprocess.run(
            [BGPDUMP, "-m", str(files[0])], capture_output=True, text=True
        ).stdout.splitlines()
    )
    own = collections.Counter({"A": c.announcements, "W": c.withdrawals})
    assert got == first + own


def test_cli_writes_files_manifest_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    run = CliRunner().invoke(
        app, ["simulate", "--scenario", "upstream-switch", "--out", str(out), "--seed", "4"]
    )
    assert run.exit_code == 0, run.output
    assert "truth: upstream_change" in run.output
    manifest = json.loads((out / "scenario.json").read_text())
    assert manifest["scenario"] == "upstream-switch" and manifest["seed"] == 4
    assert manifest["countries"]["175.45.176.0/24"] == "KP"
    assert {c["name"] for c in manifest["collectors"]} == {"rrc00", "route-views2"}
    assert len(list(out.glob("rrc00/2015.03/updates.20150301.*.gz"))) == 36
    bad = CliRunner().invoke(app, ["simulate", "--scenario", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown scenario" in bad.output


PURE = ("mrtwriter", "scenario", "generate", "encode", "truth")
SHELL_IMPORTS = ("pathlib", "os", "time", "gzip", "bz2", "glob", "subprocess", "outagewatch.simulate.run")


@pytest.mark.parametrize("module", PURE)
def test_simulator_core_is_pure(module: str) -> None:
    import ast

    import outagewatch.simulate as pkg

    tree = ast.parse((Path(pkg.__file__).parent / f"{module}.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not names & set(SHELL_IMPORTS), names
    assert not any(
        n.startswith(("outagewatch.store", "outagewatch.sources", "outagewatch.engine")) for n in names
    )
