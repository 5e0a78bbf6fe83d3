"""Alert bookkeeping in the store: every delivery attempt is a row of ``alert_deliveries``."""

from __future__ import annotations

from typing import Any

from outagewatch.alerts.dispatch import Attempt, Key, RecordFn

COLUMNS = (
    "delivery_id",
    "event_id",
    "event_state",
    "channel",
    "attempt",
    "attempted_at",
    "ok",
    "status",
    "error",
)


def recorder(con: Any) -> RecordFn:
    """A ``record`` callback writing each attempt to ``alert_deliveries`` of a DuckDB connection."""
    sql = f"INSERT INTO alert_deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def record(row: Attempt) -> None:
        con.execute(sql, [getattr(row, c) for c in COLUMNS]).fetchall()

    return record


def sent_keys(con: Any) -> set[Key]:
    """``(event_id, event_state, channel)`` of every successful delivery so far."""
    rows = con.execute(
        "SELECT DISTINCT event_id, event_state, channel FROM alert_deliveries WHERE ok"
    ).fetchall()
    return {(str(a), str(b), str(c)) for a, b, c in rows}
