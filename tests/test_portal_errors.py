"""The portal tells a person what they sent wrong, and lets nothing else pass for that: a bug
behind a form (a KeyError, a ValueError, an arithmetic error) is a logged 500, not a notice
that blames the input, so tests and the logs can see it."""

from __future__ import annotations

import html
import logging
from decimal import InvalidOperation

import pytest
from apiclient import PASSWORD, PROGRAM, open_api
from fastapi.testclient import TestClient
from test_portal import _csrf

from accrue.settings import Settings


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("errors") / "books", actor="t"))
    yield api
    api.client.__exit__(None, None, None)


def _signed_in(api, username: str) -> tuple[TestClient, str]:
    """A browser that gets a server error as an answer (not raised), and its CSRF token."""
    browser = TestClient(api.client.app, raise_server_exceptions=False)
    form = browser.get("/login")
    data = {"username": username, "password": PASSWORD, "csrf": _csrf(form.text)}
    assert browser.post("/login", data=data).status_code == 200
    return browser, _csrf(browser.get("/login").text)


def _fails(error: Exception):
    def failing(*args, **kwargs):
        raise error

    return failing


# (who, form action, the function behind it that a bug breaks, what the form sends)
FORMS = {
    "opening a dispute": (
        "acme",
        "/claims/disputes",
        "accrue.web.disputes.open_dispute",
        {"line": "settlement:1", "reason": "an invoice is missing"},
    ),
    "answering a dispute": (
        "fin",
        "/finance/disputes/1",
        "accrue.web.disputes.resolve_dispute",
        {"resolution": "booked in Q2", "adjustment": "5.00"},
    ),
    "checking a program": (
        "pam",
        "/admin/programs/check",
        "accrue.web.admin.worked_example",
        {"document": PROGRAM},
    ),
}
BUGS = [KeyError("tiers"), ValueError("invalid literal for int()"), InvalidOperation()]


@pytest.mark.parametrize("bug", BUGS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("form", FORMS)
def test_a_bug_behind_a_form_is_a_logged_server_error(api, form, bug, monkeypatch, caplog):
    username, action, behind, data = FORMS[form]
    browser, csrf = _signed_in(api, username)
    monkeypatch.setattr(behind, _fails(bug))
    with caplog.at_level(logging.ERROR, logger="accrue.api"):
        answer = browser.post(action, data={**data, "csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 500, answer.text
    assert [r.exc_info[1] for r in caplog.records if r.exc_info] == [bug]


@pytest.mark.parametrize(
    ("username", "action", "data", "notice"),
    [
        (
            "acme",
            "/claims/disputes",
            {"line": "invoice:7", "reason": "an invoice is missing"},
            "line: 'invoice' is not a kind of thing to dispute",
        ),
        ("acme", "/claims/disputes", {"line": "settlement:99", "reason": "missing"}, "99"),
        (
            "acme",
            "/claims/disputes",
            {"line": "settlement:" + "9" * 20, "reason": "missing"},
            "no settlement " + "9" * 20,
        ),
        (
            "fin",
            "/finance/disputes/99",
            {"resolution": "booked in Q2", "adjustment": "Infinity"},
            "adjustment 'Infinity' is not a finite number",
        ),
        (
            "fin",
            "/finance/disputes/99",
            {"resolution": "booked in Q2", "adjustment": "1E400"},
            "adjustment '1E400' is too large",
        ),
        ("fin", "/finance/disputes/99", {"resolution": "booked in Q2"}, "no dispute 99"),
    ],
)
def test_what_a_person_sent_wrong_is_a_notice_on_the_page(api, username, action, data, notice):
    browser, csrf = _signed_in(api, username)
    answer = browser.post(action, data={**data, "csrf": csrf})
    assert answer.status_code == 200
    assert notice in html.unescape(answer.text)


TOO_LARGE = str(2**63)  # beyond any 64-bit key: the database cannot even compare it
LOOKED_UP = [
    ("ada", "GET", "/admin/batches/{id}/correct.csv"),
    ("ada", "GET", "/why/{id}"),
    ("acme", "GET", "/why/{id}"),
    ("aud", "GET", "/audit?before={id}"),
    ("aud", "GET", "/audit/payouts/{id}"),
    ("fin", "GET", "/finance/payouts/{id}/payout.csv"),
    ("fin", "GET", "/jobs/{id}/status"),
    ("fin", "POST", "/finance/disputes/{id}"),
    ("fin", "POST", "/finance/payouts/{id}/paid"),
    ("abe", "POST", "/finance/approvals/{id}"),
]


@pytest.mark.parametrize(("username", "method", "path"), LOOKED_UP)
def test_an_id_beyond_any_record_is_refused_by_the_page_not_a_bug(api, username, method, path):
    browser, csrf = _signed_in(api, username)
    form = {"csrf": csrf, "resolution": "booked", "decision": "approve"}
    answer = browser.request(
        method, path.format(id=TOO_LARGE), data=form if method == "POST" else None
    )
    assert answer.status_code == 400, answer.text
    assert "this page cannot use what was sent" in answer.text


def test_the_program_editor_shows_a_date_yaml_cannot_read_as_a_problem(api):
    """Typing a day that does not exist (2026-02-30) was a 500 from inside the YAML parser."""
    browser, csrf = _signed_in(api, "pam")
    typed = PROGRAM.replace("to: 2026-12-31", "to: 2026-02-30")
    answer = browser.post("/admin/programs/check", data={"document": typed, "csrf": csrf})
    assert answer.status_code == 200, answer.text
    assert "effective.to" in answer.text and "day value is outside" in answer.text
