"""Our ``-m`` lines equal live Debian ``bgpdump -m`` output, file by file.

Differences we keep on purpose (the columns hold true values):

* ``lab/openbgpd_rib_table``: one TABLE_DUMP entry carries an 8-byte AGGREGATOR (4-byte AS)
  in a 2-byte-AS record; bgpdump reads it as AS 0 and address 253.232.192.168, we read
  AS 65000 and 192.168.0.15.
* ``lab/bird_bgp``, ``lab/bird6_bgp``: add-path NLRI under plain subtypes (see
  test_parse_counts.py); not compared here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from outagewatch import read_mrt
from outagewatch.parse.bgpdump_format import render_lines

pytestmark = pytest.mark.shared

BGPDUMP = shutil.which("bgpdump") or "/usr/bin/bgpdump"

FILES = [
    "lab/bird-mrtdump_bgp",
    "lab/bird6-mrtdump_bgp",
    "lab/openbgpd_bgp",
    "lab/quagga_bgp",
    "lab/bird-mrtdump_rib",
    "lab/bird6-mrtdump_rib",
    "lab/openbgpd_rib_table-v2",
    "lab/openbgpd_rib_table-mp",
    "lab/quagga_rib",
    "libbgpstream/ris.rrc06.updates.1427846400.gz",
    "libbgpstream/routeviews.route-views.jinx.updates.1427846400.bz2",
    "bgpkit-fixtures/updates-et-2024-09-14.bz2",
    "bgpkit-fixtures/ripe/rrc00/1999.12/updates.19991214.1621.gz",
    "bgpkit-fixtures/ripe/rrc00/2000.01/updates.20000102.2014.gz",
    "bgpkit-fixtures/ripe/rrc01/2000.11/updates.20001104.0124.gz",
    "bgpkit-fixtures/ripe/rrc03/2010.02/updates.20100227.1600.first-796-records.gz",
    "bgpkit-fixtures/ripe/rrc15/2010.02/updates.20100227.1610.gz",
    "truncated/bview.20140112.1600_3samples.bz2",
    "truncated/rib6.20151101.0600_firstMB.bz2",
    "modern/rrc23.updates.20220421.0200.gz",
    "ris-2022-week/updates.20220206.0355.gz",
]
KNOWN_DIFFERENCES = {"lab/openbgpd_rib_table": 1}


def _bgpdump_lines(path: Path) -> list[str]:
    if not Path(BGPDUMP).exists():
        pytest.skip("Debian bgpdump is not installed")
    done = subprocess.run([BGPDUMP, "-m", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


@pytest.mark.parametrize("name", [*FILES, *KNOWN_DIFFERENCES])
def test_lines_equal_live_bgpdump(shared_data: Path, name: str) -> None:
    path = shared_data / "mrt" / name
    expected = _bgpdump_lines(path)
    got = list(render_lines(read_mrt(path, on_problem="ignore")))
    assert len(got) == len(expected)
    differing = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
    assert len(differing) == KNOWN_DIFFERENCES.get(name, 0), differing[:3]
