"""Schemathesis over the OpenAPI document: generated requests to every operation, signed in as
an admin (who may call them all), find no server error, and every answer matches the document
(status codes, content types, response bodies). Bounded so `make test` stays quick."""

from __future__ import annotations

import pytest
import schemathesis
from apiclient import line_rows, lines_csv, open_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accrue.settings import Settings
from accrue.store import people

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    opened = open_api(Settings(data_dir=tmp_path_factory.mktemp("fuzz") / "books", actor="t"))
    rows = [*line_rows("ACME", ["30000.00", "25000.00"]), *line_rows("BOLT", ["12000.00"])]
    opened.ok(opened.post("fin", "/api/batches", files={"file": ("q1.csv", lines_csv(rows))}), 201)
    opened.ok(opened.post("fin", "/api/recalc", json={}))
    opened.ok(opened.post("fin", "/api/periods/2026-Q1/close", json={}))
    yield opened
    opened.client.__exit__(None, None, None)


def test_no_operation_fails_or_breaks_its_contract(api):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    failures = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            headers = api.as_("ada")
            if case.path.endswith("/auth/logout"):  # a token of its own: the call revokes it
                token = people.issue_token(api.books.acting_as("t"), "ada", "fuzz")
                headers = {"Authorization": f"Bearer {token}"}
            # no deadline per request (Schemathesis' default is 10 s): a loaded machine is slower
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=None)

        try:
            check()
        except Exception as failure:  # gathered, then reported together
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
