"""Only the domain's own errors become 4xx answers; anything else is a bug and says so (500),
so the API fuzz test and the logs can see it."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from apiclient import agreements_csv, csv_bytes, open_api
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accrue.api import errors
from accrue.domain.errors import Conflict, NotFound, Refused
from accrue.domain.ledger import UnbalancedJournal
from accrue.ingest.claims import MAX_DAYS
from accrue.settings import Settings
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


# --- text that looks like a number to `isdigit` reaches no query as one ---------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("errors") / "books", actor="t"))
    yield api
    api.client.__exit__(None, None, None)


@pytest.mark.parametrize("about", ["settlement", "claim_line"])
@pytest.mark.parametrize("key", ["\u00b2", "9" * 20, "0"])  # ², beyond any key, none
def test_a_dispute_about_an_id_no_record_can_have_is_not_found(api, about, key):
    asked = {"about": about, "key": key, "reason": "an invoice is missing"}
    answer = api.post("fin", "/api/disputes", json=asked)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["message"] == f"no {about.replace('_', ' ')} {key}"


@pytest.mark.parametrize("days", ["\u00b2", "9" * 30, str(MAX_DAYS + 1)])
def test_a_claim_window_no_date_can_reach_is_refused_naming_it(api, days):
    header, *rows = csv.reader(io.StringIO(agreements_csv(["ACME"]).decode()))
    for row in rows:
        row[header.index("claim_window_days")] = days
    sent = {"file": ("spa.csv", csv_bytes(header, rows))}
    answer = api.post("pam", "/api/agreements", files=sent)
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["error"]["problems"]
    assert problem["field"] == "claim_window_days"
    assert problem["message"] == f"not a whole number of days up to {MAX_DAYS}"
