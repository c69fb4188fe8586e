"""Who gets in, and what the server keeps and tells (issue 17, items 9 and 11): sign-in
lockout and throttle, password strength, the session cookie, uploads, sorting, identifiers,
EDI text and the payer's bank account."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from apiclient import PASSWORD, open_api
from fastapi.testclient import TestClient

from accrue.domain.permissions import Role
from accrue.settings import Settings
from accrue.store import people


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
    start = threading.Barrier(20)

    def guess(n: int) -> int:
        start.wait()
        wrong = {"username": "acme", "password": f"wrong guess {n}"}
        return api.client.post("/api/auth/login", json=wrong).status_code

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(guess, range(20)))
    assert answers == [401] * 20
    right = _from(api, "10.0.0.9").post(
        "/api/auth/login", json={"username": "acme", "password": PASSWORD}
    )
    assert right.status_code == 401
    assert "too many failed logins" in right.json()["error"]["message"]


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


@pytest.mark.parametrize(
    "password", ["password123456", "demo-password", "qwertyuiop", "Finance2026!"]
)
def test_a_password_that_is_easy_to_guess_is_refused(books, password):
    with pytest.raises(ValueError, match="password: too easy to guess"):
        people.create_user(books, "finance", "Finance", Role.FINANCE, password)
