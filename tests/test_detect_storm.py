"""The real 2010-08-27 rrc01 withdrawal storm comes out as instability, not as a country outage."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from outagewatch.detect import DEFAULT_PARAMS
from outagewatch.detect.outage import OutageParams
from outagewatch.detect.point import reliable_bins
from outagewatch.engine.detect_run import detect_store
from outagewatch.engine.ingest import ingest_files
from outagewatch.engine.lookups import ranges_from_tsv
from outagewatch.store.db import connect

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def storm_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("storm") / "storm.duckdb"
    mapper = ranges_from_tsv(shared_data / "geo" / "ip_to_country_1.0.2_ipv4_ranges.tsv")
    storm = shared_data / "mrt" / "rrc01-2010-08-27-storm" / "rrc01.updates.20100827.0840.gz"
    ingest_files(db, [storm], bin_seconds=60, mapper=mapper)
    return db


def test_storm_is_instability_and_no_outage(storm_db: Path) -> None:
    # Let the outage detector judge from the second bin on, so "no outage" is not a cold start.
    eager = DEFAULT_PARAMS.__class__(
        outage=OutageParams(min_history=1, k_bins=2), instability=DEFAULT_PARAMS.instability
    )
    con = connect(storm_db)
    try:
        summary = detect_store(con, bin_seconds=60, params=eager, write=False)
    finally:
        con.close()
    kinds = Counter((e.kind, e.entity_type) for e in summary.events)
    assert kinds[("outage", "country")] == 0
    assert kinds[("outage", "global")] == 0
    assert kinds[("instability", "global")] == 1
    assert kinds[("instability", "country")] >= 10
    [glob] = [e for e in summary.events if e.kind == "instability" and e.entity_type == "global"]
    assert glob.evidence["totals"]["withdrawals"] > 30_000


def test_storm_without_a_rib_has_too_few_full_feed_peers_to_judge_visibility(storm_db: Path) -> None:
    con = connect(storm_db)
    try:
        rows = con.execute(
            "SELECT epoch(bin_start)::BIGINT, metric, value FROM signals WHERE entity_type = 'global'"
            " AND metric IN ('ipv4.full_feed_peers', 'ipv6.full_feed_peers')"
        ).fetchall()
    finally:
        con.close()
    ok = reliable_bins([(int(t), str(m), float(v)) for t, m, v in rows])
    assert ok and not any(ok.values())
