"""The ASGI application: REST API under ``/api/v1``, dashboard pages under ``/``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
    _document_errors_as_400(app)
    return app


def _document_errors_as_400(app: FastAPI) -> None:
    """Validation errors answer 400 in the error shape: drop FastAPI's default 422 from the document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            for item in doc.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = doc.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
