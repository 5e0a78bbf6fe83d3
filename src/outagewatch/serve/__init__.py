"""outagewatch.serve: the read-only REST API and web dashboard (``outagewatch serve``)."""

from __future__ import annotations

from outagewatch.serve.app import create_app

__all__ = ["create_app"]
