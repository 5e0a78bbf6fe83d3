"""Dashboard pages and static assets, all shipped in the package (no CDN).

The pages are static HTML + JavaScript that read the REST API; charts use the plotly.js
bundle that ships inside the ``plotly`` Python package (served from its installed path).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = frozenset({"app.js", "overview.js", "entity.js", "event.js", "style.css"})
"""Files of ``static/`` served under ``/static/`` (the HTML pages have their own routes)."""

router = APIRouter(include_in_schema=False)


def plotly_js_path() -> Path:
    """plotly.min.js from the installed plotly package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8")


@router.get("/")
def overview_page() -> FileResponse:
    return _page("overview.html")


@router.get("/entity/{entity_type}/{entity:path}")
def entity_page(entity_type: str, entity: str) -> FileResponse:
    return _page("entity.html")


@router.get("/event/{event_id}")
def event_page(event_id: str) -> FileResponse:
    return _page("event.html")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name}")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return FileResponse(STATIC / name, media_type=kind)
