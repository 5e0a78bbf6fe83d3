"""The DuckDB schema, as an ordered list of forward migrations.

Migration N brings a database from version N-1 to N; ``schema_version`` records what was
applied. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the first schema
    """
    CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        seconds DOUBLE,
        inputs JSON,
        elements BIGINT,
        problems BIGINT,
        bins BIGINT,
        status VARCHAR,
        details JSON
    );
    CREATE TABLE IF NOT EXISTS problems (
        run_id VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        "offset" BIGINT,
        record_index BIGINT,
        mrt_type INTEGER,
        mrt_subtype INTEGER,
        cause VARCHAR NOT NULL
    );
    CREATE TABLE IF NOT EXISTS inputs (
        source VARCHAR NOT NULL,
        collector VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        bytes BIGINT,
        first_ts TIMESTAMPTZ,
        last_ts TIMESTAMPTZ,
        elements BIGINT,
        run_id VARCHAR,
        PRIMARY KEY (sha256, collector)
    );
    CREATE TABLE IF NOT EXISTS signals (
        bin_start TIMESTAMPTZ NOT NULL,
        bin_seconds INTEGER NOT NULL,
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        PRIMARY KEY (bin_seconds, entity_type, entity, metric, bin_start)
    );
    CREATE TABLE IF NOT EXISTS bins (
        bin_start TIMESTAMPTZ NOT NULL,
        bin_seconds INTEGER NOT NULL,
        complete BOOLEAN NOT NULL DEFAULT TRUE,
        elements BIGINT,
        note VARCHAR,
        PRIMARY KEY (bin_seconds, bin_start)
    );
    CREATE TABLE IF NOT EXISTS peers (
        bin_start TIMESTAMPTZ NOT NULL,
        bin_seconds INTEGER NOT NULL,
        collector VARCHAR NOT NULL,
        peer_ip VARCHAR NOT NULL,
        peer_asn UBIGINT NOT NULL,
        afi UTINYINT NOT NULL,
        table_size BIGINT NOT NULL,
        full_feed BOOLEAN NOT NULL,
        PRIMARY KEY (bin_seconds, bin_start, collector, peer_ip, afi)
    );
    CREATE TABLE IF NOT EXISTS entities (
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        name VARCHAR,
        country VARCHAR,
        PRIMARY KEY (entity_type, entity)
    );
    CREATE TABLE IF NOT EXISTS entity_prefixes (
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        prefix VARCHAR NOT NULL,
        slash24 DOUBLE,
        PRIMARY KEY (entity_type, entity, prefix)
    );
    CREATE TABLE IF NOT EXISTS events (
        event_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        start TIMESTAMPTZ NOT NULL,
        "end" TIMESTAMPTZ,
        status VARCHAR NOT NULL,
        scope VARCHAR,
        severity VARCHAR NOT NULL,
        score DOUBLE,
        summary VARCHAR NOT NULL,
        evidence JSON,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS alert_deliveries (
        delivery_id VARCHAR NOT NULL,
        event_id VARCHAR NOT NULL,
        event_state VARCHAR NOT NULL,
        channel VARCHAR NOT NULL,
        attempt INTEGER NOT NULL,
        attempted_at TIMESTAMPTZ NOT NULL,
        ok BOOLEAN NOT NULL,
        status VARCHAR,
        error VARCHAR
    );
    CREATE TABLE IF NOT EXISTS gaps (
        source VARCHAR NOT NULL,
        gap_start TIMESTAMPTZ NOT NULL,
        gap_end TIMESTAMPTZ,
        reason VARCHAR
    );
    """,
    # v2: signals without a primary key. Its ART index cost ≈ 90 % of the store's size and of
    # the time to write a bin; bins are replaced whole (store.writes.replace_bins), which keeps
    # re-ingests idempotent without it, and readers filter by entity and time (zone maps).
    """
    CREATE TABLE signals_v2 (
        bin_start TIMESTAMPTZ NOT NULL,
        bin_seconds INTEGER NOT NULL,
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE NOT NULL
    );
    INSERT INTO signals_v2 SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM signals;
    DROP TABLE signals;
    ALTER TABLE signals_v2 RENAME TO signals;
    """,
    # v3: change-coded signals. The table ``signal_changes`` holds churn rows (``all.*``) as
    # they are and state rows only where the value changes; ``signals`` becomes a view that
    # yields the dense rows (docs/signals.md, "Store"). The old dense rows are converted on
    # the grid of bins = ``bins`` ∪ the bins of the rows: a state row is kept where the key
    # had no row at the previous bin or another value (or where its bin is not in ``bins``:
    # the view shows such a bin's own rows only), and a 0 row ends it at the bin after each
    # of its stretches when such a bin exists.
    """
    CREATE TABLE signal_changes (
        bin_start TIMESTAMPTZ NOT NULL,
        bin_seconds INTEGER NOT NULL,
        entity_type VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE NOT NULL
    );
    INSERT INTO signal_changes
    WITH stored AS (
        SELECT bin_seconds, bin_start, bool_or(listed) AS listed
        FROM (SELECT bin_seconds, bin_start, true AS listed FROM bins
              UNION ALL SELECT DISTINCT bin_seconds, bin_start, false FROM signals)
        GROUP BY bin_seconds, bin_start
    ),
    grid AS (
        SELECT *, lag(bin_start) OVER w AS prev_bin, lead(bin_start) OVER w AS next_bin
        FROM stored WINDOW w AS (PARTITION BY bin_seconds ORDER BY bin_start)
    ),
    s AS (
        SELECT s.*, g.listed, g.prev_bin, g.next_bin,
            lag(s.bin_start) OVER w AS prev_row_bin,
            lag(s.value) OVER w AS prev_value,
            lead(s.bin_start) OVER w AS next_row_bin
        FROM signals s JOIN grid g USING (bin_seconds, bin_start)
        WHERE NOT starts_with(s.metric, 'all.')
        WINDOW w AS (PARTITION BY s.bin_seconds, s.entity_type, s.entity, s.metric ORDER BY s.bin_start)
    )
    SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM signals
    WHERE starts_with(metric, 'all.')
    UNION ALL
    SELECT bin_start, bin_seconds, entity_type, entity, metric, value FROM s
    WHERE NOT listed OR prev_row_bin IS NULL OR prev_row_bin <> prev_bin OR prev_value <> value
    UNION ALL
    SELECT next_bin, bin_seconds, entity_type, entity, metric, 0.0 FROM s
    WHERE next_bin IS NOT NULL AND (next_row_bin IS NULL OR next_row_bin <> next_bin);
    DROP TABLE signals;
    CREATE VIEW signals AS
    WITH changes AS (
        SELECT *, lead(bin_start) OVER (
            PARTITION BY bin_seconds, entity_type, entity, metric ORDER BY bin_start) AS until
        FROM signal_changes WHERE NOT starts_with(metric, 'all.')
    ),
    held AS (
        SELECT * FROM changes
        WHERE value <> 0 OR metric IN ('ipv4.full_feed_peers', 'ipv6.full_feed_peers')
           OR (contains(metric, '.visible_') AND entity_type IN ('country', 'prefix', 'global'))
    ),
    grid AS (
        SELECT bin_seconds, bin_start, row_number() OVER (PARTITION BY bin_seconds ORDER BY bin_start) AS i
        FROM bins
    ),
    first_bin AS (
        SELECT h.*, g.i - 1 AS lo FROM held h
        JOIN grid g ON h.bin_seconds = g.bin_seconds AND h.bin_start = g.bin_start
        UNION ALL
        SELECT h.*, coalesce(g.i, 0) AS lo
        FROM (SELECT * FROM held h ANTI JOIN grid g
              ON h.bin_seconds = g.bin_seconds AND h.bin_start = g.bin_start) h
        ASOF LEFT JOIN grid g ON h.bin_seconds = g.bin_seconds AND h.bin_start > g.bin_start
    ),
    span AS (
        SELECT f.*, g.i - 1 AS hi FROM first_bin f
        JOIN grid g ON f.bin_seconds = g.bin_seconds AND f.until = g.bin_start
        UNION ALL
        SELECT f.*, coalesce(g.i, 0) AS hi
        FROM (SELECT * FROM first_bin f ANTI JOIN grid g
              ON f.bin_seconds = g.bin_seconds AND f.until = g.bin_start) f
        ASOF LEFT JOIN grid g ON f.bin_seconds = g.bin_seconds
            AND coalesce(f.until, 'infinity'::TIMESTAMPTZ) > g.bin_start
    ),
    spread AS (
        SELECT bin_seconds, entity_type, entity, metric, value, unnest(range(lo + 1, hi + 1)) AS i FROM span
    )
    SELECT g.bin_start, s.bin_seconds, s.entity_type, s.entity, s.metric, s.value
    FROM spread s JOIN grid g USING (bin_seconds, i)
    UNION ALL
    SELECT h.bin_start, h.bin_seconds, h.entity_type, h.entity, h.metric, h.value
    FROM held h ANTI JOIN bins b ON b.bin_seconds = h.bin_seconds AND b.bin_start = h.bin_start
    UNION ALL
    SELECT bin_start, bin_seconds, entity_type, entity, metric, value
    FROM signal_changes WHERE starts_with(metric, 'all.');
    """,
)

SCHEMA_VERSION: Final[int] = len(MIGRATIONS)
