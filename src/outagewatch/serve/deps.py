"""Request-scoped access to the store snapshot, and shared parameter helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
from fastapi import Request

from outagewatch.serve import queries
from outagewatch.serve.errors import ApiError
from outagewatch.serve.params import parse_time
from outagewatch.serve.snapshot import Snapshot
from outagewatch.store.db import StoreError


def get_cursor(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current snapshot; 503 in the error shape when the store cannot be read."""
    snapshot: Snapshot = request.app.state.snapshot
    try:
        with snapshot.cursor() as cur:
            yield cur
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from None


def resolve_at(cur: duckdb.DuckDBPyConnection, at: str | None) -> datetime | None:
    """``at`` parsed, defaulting to the start of the latest stored bin (None for an empty store)."""
    return parse_time(at, "at") or queries.latest_bin(cur)


def default_window(end: datetime | None, days: float = 3.0) -> tuple[datetime, datetime] | None:
    if end is None:
        return None
    return end - timedelta(days=days), end
