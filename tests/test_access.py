"""Who gets in, and what the server keeps and tells (issue 17, items 9 and 11): sign-in
lockout and throttle, password strength, the session cookie, uploads, sorting, identifiers,
EDI text and the payer's bank account."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import itsdangerous
import pytest
from apiclient import PASSWORD, PROGRAM, claim_lines, line_rows, lines_csv, open_api
from conftest import BACKENDS
from fastapi.testclient import TestClient

from accrue.api import create_app
from accrue.api.throttle import Throttle, TooManyAttempts
from accrue.domain.permissions import Role
from accrue.settings import Settings
from accrue.store import people
from accrue.store.books import Books


@pytest.fixture
def api(tmp_path):
    opened = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    yield opened
    opened.client.__exit__(None, None, None)


def _from(api, address: str) -> TestClient:
    """Another client of the same app, from its own address."""
    return TestClient(api.client.app, client=(address, 50000), follow_redirects=False)


# --- item 9: signing in ------------------------------------------------------------------------


def test_parallel_wrong_passwords_are_all_counted_and_lock_the_account(api):
    """Twenty guesses at once, each from its own address (so no throttle steps in)."""
    start = threading.Barrier(20)
    guessers = [_from(api, f"10.1.0.{n}") for n in range(20)]

    def guess(n: int) -> int:
        start.wait()
        wrong = {"username": "acme", "password": f"wrong guess {n}"}
        return guessers[n].post("/api/auth/login", json=wrong).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(guess, range(20)))
    assert answers == [401] * 20
    right = _from(api, "10.0.0.9").post(
        "/api/auth/login", json={"username": "acme", "password": PASSWORD}
    )
    assert right.status_code == 401
    assert "too many failed logins" in right.json()["error"]["message"]


@BACKENDS
def test_a_locked_account_opens_to_the_right_password_once_the_window_has_passed(books_settings):
    now = [datetime(2026, 11, 24, 12, tzinfo=UTC)]
    books = Books.init(books_settings, clock=lambda: now[0])
    try:
        people.create_user(books, "fin", "Finance", Role.FINANCE, PASSWORD)
        for _ in range(people.LOCK_AFTER):
            with pytest.raises(people.LoginRefused, match="wrong username or password"):
                people.login(books, "fin", "not the password")
        now[0] += people.LOCK_FOR - timedelta(seconds=1)
        with pytest.raises(people.LoginRefused, match="too many failed logins"):
            people.login(books, "fin", PASSWORD)
        now[0] += timedelta(seconds=1)
        assert people.login(books, "fin", PASSWORD).startswith(people.PREFIX)
    finally:
        books.close()


class _CountingHasher:
    """The real hasher, counting the checks it makes."""

    def __init__(self, real):
        self.real, self.checks = real, 0

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return self.real.verify(password_hash, password)


def test_an_unknown_username_costs_a_password_check_like_a_known_one(books, monkeypatch):
    people.create_user(books, "known", "Known", Role.FINANCE, PASSWORD)
    hasher = _CountingHasher(people.HASHER)
    monkeypatch.setattr(people, "HASHER", hasher)
    for username in ("known", "nobody"):
        with pytest.raises(people.LoginRefused, match="wrong username or password"):
            people.login(books, username, "not the password")
    assert hasher.checks == 2


def test_a_client_that_keeps_failing_is_held_back_whatever_names_it_tries(api):
    for n in range(10):
        wrong = {"username": f"guess{n}", "password": "wrong password"}
        assert api.client.post("/api/auth/login", json=wrong).status_code == 401
    held = api.client.post("/api/auth/login", json={"username": "acme", "password": PASSWORD})
    assert held.status_code == 429, held.text
    assert int(held.headers["Retry-After"]) > 0
    other = _from(api, "10.0.0.7")
    signed = other.post("/api/auth/login", json={"username": "acme", "password": PASSWORD})
    assert signed.status_code == 200, signed.text


def test_guesses_sent_at_once_from_one_client_are_held_back_like_guesses_in_a_row(api):
    """Twenty wrong sign-ins at once from one address, each at another username: the
    throttle counts each before its password is checked, so only ten are checked."""
    start = threading.Barrier(20)
    guesser = _from(api, "10.2.0.1")

    def guess(n: int) -> int:
        start.wait()
        wrong = {"username": f"guess{n}", "password": "wrong password"}
        return guesser.post("/api/auth/login", json=wrong).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = sorted(pool.map(guess, range(20)))
    assert answers == [401] * 10 + [429] * 10


def test_a_held_back_client_is_let_in_again_once_its_failures_are_a_minute_old():
    now = [0.0]
    throttle = Throttle(failures=3, window=60, clock=lambda: now[0])
    for second in (0, 10, 20):
        now[0] = second
        throttle.attempt("10.0.0.1")
    with pytest.raises(TooManyAttempts) as held:
        throttle.attempt("10.0.0.1")
    assert held.value.wait == 40
    throttle.forgive("10.0.0.2", throttle.attempt("10.0.0.2"))
    now[0] = 60
    throttle.forgive("10.0.0.1", throttle.attempt("10.0.0.1"))
    throttle.attempt("10.0.0.1")  # the sign-in let in just before does not count
    with pytest.raises(TooManyAttempts):
        throttle.attempt("10.0.0.1")


@pytest.mark.parametrize(
    "password", ["password123456", "demo-password", "qwertyuiop", "Finance2026!"]
)
def test_a_password_that_is_easy_to_guess_is_refused(books, password):
    with pytest.raises(ValueError, match="password: too easy to guess"):
        people.create_user(books, "finance", "Finance", Role.FINANCE, password)


# --- item 11: the portal's session cookie ------------------------------------------------------


def _signed_in(app) -> TestClient:
    """A browser signed in through the login form."""
    browser = TestClient(app, follow_redirects=False)
    form = browser.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = browser.post("/login", data={"username": "acme", "password": PASSWORD, "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return browser


def test_the_session_cookie_holds_an_opaque_id_that_opens_no_api(api):
    browser = _signed_in(api.client.app)
    cookie = browser.cookies["accrue_session"]
    held = json.loads(base64.b64decode(cookie.split(".")[0]))
    assert browser.get("/partner").status_code == 200
    for value in held.values():
        as_token = api.client.get("/api/me", headers={"Authorization": f"Bearer {value}"})
        assert as_token.status_code == 401, f"the cookie's {value!r} opened the API"
    token = api.as_("acme")["Authorization"].partition(" ")[2]
    forged = TestClient(api.client.app, follow_redirects=False)
    forged.cookies.set("accrue_session", _cookie_with(api, {"session_id": token}))
    assert forged.get("/partner").status_code == 303, "an API token opened the portal"


def _cookie_with(api, data: dict) -> str:
    """A session cookie signed with the app's key, as a browser would hold it."""
    signer = itsdangerous.TimestampSigner(api.books.settings.session_secret())
    return signer.sign(base64.b64encode(json.dumps(data).encode())).decode()


def _cookie_set(app, base_url: str = "http://testserver") -> str:
    """The session cookie the login page sets (it holds the form's CSRF token)."""
    return TestClient(app, base_url=base_url).get("/login").headers["set-cookie"].lower()


def test_the_session_cookie_is_secure_over_https_and_when_configured(api, tmp_path):
    assert "secure" not in _cookie_set(api.client.app)
    assert "; secure" in _cookie_set(api.client.app, "https://testserver")
    settings = Settings(data_dir=tmp_path / "secure", actor="t", secure_cookies=True)
    Books.init(settings).close()
    with TestClient(create_app(settings)) as served:
        assert "; secure" in _cookie_set(served.app)


# --- item 11: lists sort money as numbers ------------------------------------------------------


def test_money_sorts_by_value_in_every_list_and_export(api):
    rows = line_rows("ACME", ["30000.00", "25000.00"]) + line_rows("BOLT", ["12000.00"])
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    by_value = ["2200.00", "240.00"]  # as text, "240.00" would come first

    settled = api.get("fin", "/api/settlements", params={"sort": "-payout"})
    assert [s["payout"] for s in api.ok(settled)["items"]][:2] == by_value
    exported = api.get(
        "fin", "/api/settlements/export", params={"sort": "-payout", "format": "csv"}
    )
    assert [r["payout"] for r in csv.DictReader(io.StringIO(exported.text))][:2] == by_value

    params = {"by": "partner_id", "sort": "-outstanding"}
    owed = api.ok(api.get("fin", "/api/ledger/liability", params=params))["items"]
    assert [r["outstanding"] for r in owed][:2] == by_value
    exported = api.get("fin", "/api/ledger/liability/export", params={**params, "format": "csv"})
    assert [r["outstanding"] for r in csv.DictReader(io.StringIO(exported.text))][:2] == by_value


@BACKENDS
def test_paging_through_a_list_sorted_by_a_column_with_ties_shows_each_item_once(books_settings):
    """Items that tie on the sorted column keep one order from page to page (their key breaks
    the tie), so no page repeats an item another shows, nor leaves one out."""
    api = open_api(books_settings)
    try:
        rows = line_rows("ACME", ["30000.00", "25000.00"]) + line_rows("BOLT", ["12000.00"])
        rows += line_rows("CORE", ["10500.00"])
        api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
        api.ok(api.post("fin", "/api/recalc", json={}))
        total = api.ok(api.get("fin", "/api/standings", params={"limit": 1}))["total"]
        seen = []
        for offset in range(0, total, 3):
            params = {"sort": "status", "limit": 3, "offset": offset}
            page = api.ok(api.get("fin", "/api/standings", params=params))["items"]
            seen += [(s["program_id"], s["partner_id"], s["period"]) for s in page]
        assert total > 3 and len(seen) == len(set(seen)) == total, seen
    finally:
        api.client.__exit__(None, None, None)


# --- item 11: the payer's bank account ---------------------------------------------------------


def test_no_bank_file_until_the_payers_account_is_configured(api):
    assert Settings().payer_iban is None
    rows = line_rows("ACME", ["30000.00", "25000.00"])
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    [settled] = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "ACME"}))["items"]
    request = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    wanted = {"method": "bank_transfer", "currency": "USD"}
    refused = api.post("fin", "/api/payout-batches", json=wanted)
    assert refused.status_code == 409, refused.text
    assert "ACCRUE_PAYER_IBAN" in refused.json()["error"]["message"]


# --- item 11: EDI text -------------------------------------------------------------------------

EXAMPLE_844 = Path(__file__).parents[1] / "examples/claims/d01-claim.844.edi"
UPLOADS = ("/api/claims", "/api/batches")


@pytest.mark.parametrize("route", UPLOADS)
def test_a_latin1_edi_file_is_refused_not_read_with_replacement_characters(api, route):
    text = EXAMPLE_844.read_text().replace("Acme Hospital", "Hôpital Saint-Éloi")
    sent = api.post("fin", route, files={"file": ("claim.edi", text.encode("latin-1"))})
    assert sent.status_code == 422, sent.text
    [problem] = sent.json()["error"]["problems"]
    assert problem["file"] == "claim.edi" and problem["line"] == 7
    assert "not UTF-8" in problem["message"]


@pytest.mark.parametrize("route", UPLOADS)
def test_an_empty_edi_file_is_refused_as_x12(api, route):
    sent = api.post("fin", route, files={"file": ("claim.edi", b"")})
    assert sent.status_code == 422, sent.text
    assert "no X12 segments" in sent.json()["error"]["message"]


# --- item 11: uploads --------------------------------------------------------------------------


def _kept(api) -> list[Path]:
    return sorted(p for p in (api.books.settings.data_dir / "uploads").rglob("*") if p.is_file())


def test_refused_uploads_are_not_kept_and_no_answer_names_where_files_are_kept(api):
    kept_before = _kept(api)
    where = str(api.books.settings.data_dir)
    refusals = [
        ("/api/batches", "bad-lines.csv", b"foo,bar\n1,2\n"),
        ("/api/master/partners", "bad-partners.csv", b"id,name\n,Nameless\n"),
        ("/api/agreements", "bad-agreements.csv", b"agreement_id\nSPA-1\n"),
        ("/api/claims", "bad-claims.csv", b"claim_number\nC-1\n"),
        ("/api/batches", "bad-lines.parquet", b"not parquet"),  # DuckDB names the file
    ]
    for route, name, content in refusals:
        sent = api.post("ada", route, files={"file": (name, content)})
        assert sent.status_code == 422, sent.text
        assert where not in sent.text and "uploads" not in sent.text, sent.text
        assert {p["file"] for p in sent.json()["error"]["problems"]} == {name}
    assert _kept(api) == kept_before

    rows = lines_csv(line_rows("ACME", ["100.00"]))
    taken = api.ok(api.post("fin", "/api/batches", files={"file": ("q1.csv", rows)}), 201)
    assert taken["batch"]["source_name"] == "q1.csv"
    assert sorted(p.name for p in _kept(api)) == sorted(["q1.csv", *(p.name for p in kept_before)])
    for path in ("/api/batches", "/api/audit"):
        listed = api.get("aud", path, params={"limit": 500})
        assert where not in listed.text and "uploads/" not in listed.text


# --- item 11: identifiers ----------------------------------------------------------------------


def test_identifiers_with_nul_bytes_or_too_long_are_refused(api):
    rows = line_rows("ACME", ["100.00", "200.00", "300.00"])
    rows[0]["document"] = "INV-\x00-1"
    rows[1]["source"] = "e" * 65
    sent = api.ok(api.post("fin", "/api/lines", json={"name": "ids", "lines": rows}), 201)
    assert sent["batch"]["accepted"] == 1
    assert {(r["field"], r["row_no"]) for r in sent["rejections"]} == {
        ("document", 1),
        ("source", 2),
    }

    for partner in ("P\x00", "P" * 65):
        content = f"id,name,parent_id,segment,region\n{partner},Broken,,,\n".encode()
        sent = api.post("ada", "/api/master/partners", files={"file": ("p.csv", content)})
        assert sent.status_code == 422, sent.text
        [problem] = sent.json()["error"]["problems"]
        assert (problem["field"], problem["line"]) == ("id", 2)

    claims = {"lines": [{**claim_lines("ACME")[0], "invoice": "9\x001"}]}
    sent = api.post("acme", "/api/claims/lines", json=claims)
    assert sent.status_code == 422 and sent.json()["error"]["problems"][0]["field"] == "invoice"

    nul = api.get("fin", "/api/standings", params={"partner_id": "ACME\x00"})
    assert nul.status_code == 422, nul.text


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_nul_bytes_and_overlong_ids_are_refused_at_the_doors_of_people_and_programs(
    books_settings,
):
    """PostgreSQL cannot hold a NUL byte nor a 65-character id: each is a refusal naming its
    field (401 for a sign-in), never a 500."""
    api = open_api(books_settings)
    try:
        nul = {"username": "acme\x00", "password": PASSWORD}
        assert api.client.post("/api/auth/login", json=nul).status_code == 401
        user = {"username": "nul", "name": "N\x00L", "role": "finance", "password": PASSWORD}
        refused = [
            ("name", api.post("ada", "/api/users", json=user)),
            ("name", api.post("ada", "/api/users/fin/tokens", json={"name": "erp\x00"})),
        ]
        overlong = PROGRAM.replace("id: volume-q", "id: " + "v" * 65)
        yaml = {"Content-Type": "application/yaml"}
        refused.append(("id", api.post("pam", "/api/programs", content=overlong, headers=yaml)))
        for field, sent in refused:
            assert sent.status_code == 422, sent.text
            assert [p["field"] for p in sent.json()["error"]["problems"]] == [field], sent.text
    finally:
        api.client.__exit__(None, None, None)


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_a_nul_byte_in_a_name_or_reason_is_refused_naming_its_field(books_settings):
    """PostgreSQL cannot hold a NUL byte: a batch's name or a reason with one is a refusal
    naming the field (the portal says so on its page), never a 500."""
    api = open_api(books_settings)
    try:
        rows = line_rows("ACME", ["30000.00"])
        sent = api.post("fin", "/api/lines", json={"name": "q\x001", "lines": rows})
        refused = [("name", sent)]
        api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
        api.ok(api.post("fin", "/api/recalc", json={}))
        key = "volume-q/ACME/2026-Q1"
        dispute = {"about": "standing", "key": key, "reason": "why\x00not"}
        refused.append(("reason", api.post("acme", "/api/disputes", json=dispute)))
        api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
        [settled] = api.ok(api.get("fin", "/api/settlements"))["items"]
        asked = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
        no = {"reason": "no\x00"}
        refused.append(("reason", api.post("abe", f"/api/approvals/{asked['id']}/reject", json=no)))
        for field, sent in refused:
            assert sent.status_code == 422, sent.text
            assert [p["field"] for p in sent.json()["error"]["problems"]] == [field], sent.text
        browser = _signed_in(api.client.app)
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/claims").text).group(1)
        form = {"csrf": csrf, "line": f"standing:{key}", "reason": "why\x00not"}
        assert browser.post("/claims/disputes", data=form).status_code == 303
        assert "NUL" in browser.get("/claims").text
    finally:
        api.client.__exit__(None, None, None)
