"""The ASGI application: REST API under ``/api/v1``, dashboard pages under ``/``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from outagewatch import __version__
from outagewatch.serve import api_entities, api_events, pages
from outagewatch.serve.errors import install_handlers
from outagewatch.serve.snapshot import Snapshot

DESCRIPTION = """Read-only API over an outagewatch DuckDB store.

Times are UTC, ISO 8601 (`2014-12-22T16:15:00Z`). Every error answers
`{"error": {"code", "message", "parameter"}}`. See docs/api.md.
"""


def create_app(db: str | os.PathLike[str], refresh_seconds: float = 2.0) -> FastAPI:
    """The application serving the store at ``db`` (never opened for writing)."""
    snapshot = Snapshot(db, refresh_seconds=refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        snapshot.close()

    app = FastAPI(title="outagewatch", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.snapshot = snapshot
    install_handlers(app)
    app.include_router(api_entities.router)
    app.include_router(api_events.router)
    app.include_router(pages.router)
    return app
