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
)

SCHEMA_VERSION: Final[int] = len(MIGRATIONS)
