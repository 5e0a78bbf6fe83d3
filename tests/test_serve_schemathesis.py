"""Property-based API testing: schemathesis, from the app's OpenAPI document, finds no 5xx.

Each operation gets a small, bounded number of generated requests against the real server
on 127.0.0.1 (synthetic KP store); every answer must be no server error, use a documented
status code and content type, and match the documented schema (errors: the one error shape).
(schemathesis' pytest plugin does not run under pytest 9, so operations are driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from outagewatch.serve import create_app
from test_serve_support import build_store, running_server

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
MAX_EXAMPLES = 15
SUPPRESS = list(HealthCheck)


def _schema() -> Any:
    app = create_app(Path("unused.duckdb"))  # the document does not depend on the store
    try:
        return schemathesis.openapi.from_dict(app.openapi())
    finally:
        app.state.snapshot.close()


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_store(tmp_path_factory.mktemp("st") / "kp.duckdb")
    with running_server(create_app(db)) as base:
        yield base


def test_document_has_the_operations() -> None:
    assert len(OPERATIONS) >= 10


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_operation_has_no_server_errors(operation: Any, served: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=SUPPRESS, database=None)
    def run(case: Any) -> None:
        case.call_and_validate(base_url=served, checks=CHECKS)

    run()
