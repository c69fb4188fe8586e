"""Only the domain's own errors become 4xx answers; anything else is a bug and says so (500),
so the API fuzz test and the logs can see it."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accrue.api import errors
from accrue.domain.errors import Conflict, NotFound, Refused
from accrue.domain.ledger import UnbalancedJournal
from accrue.store.close import CloseError

RAISED = {
    "refused": Refused("amount: must be positive"),
    "conflict": Conflict("period 2026-Q1 is closed"),
    "close": CloseError("2026-Q1 is already closed"),
    "not-found": NotFound("no batch 7"),
    "key-error": KeyError("programs"),
    "value-error": ValueError("invalid literal for int() with base 10: 'x'"),
    "unbalanced": UnbalancedJournal("journal 12 does not balance: 0.01"),
}


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    errors.install(app)
    for name, error in RAISED.items():

        def fail(error=error):
            raise error

        app.get(f"/{name}")(fail)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("name", "status"),
    [("refused", 422), ("conflict", 409), ("close", 409), ("not-found", 404)],
)
def test_the_domains_errors_are_answers(client, name, status):
    answer = client.get(f"/{name}")
    assert answer.status_code == status
    assert answer.json()["error"]["message"] == str(RAISED[name]).strip("'")


@pytest.mark.parametrize("name", ["key-error", "value-error", "unbalanced"])
def test_anything_else_is_a_logged_server_error(client, name, caplog):
    with caplog.at_level(logging.ERROR, logger="accrue.api"):
        answer = client.get(f"/{name}")
    assert answer.status_code == 500
    assert "bug" in answer.json()["error"]["message"]
    assert "Traceback" not in answer.text
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert [(type(e), str(e)) for e in logged] == [(type(RAISED[name]), str(RAISED[name]))]


def test_a_refusal_names_its_field(client):
    assert client.get("/refused").json()["error"]["problems"][0]["field"] == "amount"
