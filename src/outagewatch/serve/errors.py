"""The one error shape of the API: ``{"error": {"code", "message", "parameter"}}``.

Every 4xx/5xx answer of ``/api`` uses it, including FastAPI's own validation errors and
unknown routes, so clients parse one shape. ``parameter`` names the offending query or path
parameter (``null`` when the error is not about one).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("outagewatch.serve")


class ErrorBody(BaseModel):
    code: str
    message: str
    parameter: str | None = None


class ErrorResponse(BaseModel):
    """The documented error shape."""

    error: ErrorBody


class ApiError(Exception):
    """An error the API reports to the client with a status, a code and the parameter at fault."""

    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter


def bad_parameter(parameter: str, message: str, code: str = "invalid_parameter") -> ApiError:
    """A 400 naming ``parameter``."""
    return ApiError(400, code, f"{parameter}: {message}", parameter)


def not_found(what: str, parameter: str | None = None) -> ApiError:
    """A 404; the message starts with the parameter's name when there is one."""
    return ApiError(404, "not_found", f"{parameter}: {what}" if parameter else what, parameter)


def error_json(status: int, code: str, message: str, parameter: str | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "parameter": parameter}}
    return JSONResponse(body, status_code=status)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid parameter"},
    404: {"model": ErrorResponse, "description": "Unknown entity, event or run"},
    503: {"model": ErrorResponse, "description": "The database cannot be read right now"},
}


def _validation_parameter(exc: RequestValidationError) -> tuple[str | None, str]:
    errors = exc.errors()
    if not errors:
        return None, "invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")]
    name = ".".join(loc) or None
    return name, str(first.get("msg", "invalid value"))


def install_handlers(app: FastAPI) -> None:
    """Route every error through :func:`error_json`."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.code, exc.message, exc.parameter)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        name, msg = _validation_parameter(exc)
        return error_json(400, "invalid_parameter", f"{name}: {msg}" if name else msg, name)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return error_json(exc.status_code, code, str(exc.detail), None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error serving %s", request.url.path)
        return error_json(500, "internal", f"internal error: {type(exc).__name__}", None)
