"""Proximity alerts: a partner within 10% of its next tier is told once per tier per period —
in the portal, and through the outbox by e-mail through a real SMTP server (aiosmtpd on
loopback) to its users and reps and by a webhook signed with HMAC-SHA256; a delivery that fails
is retried with backoff until the receiver recovers, and none is sent twice."""

from __future__ import annotations

import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from apiclient import PASSWORD, line_rows, open_api
from test_portal import signed_in
from typer.testing import CliRunner

from accrue.cli import app
from accrue.domain.alerts import near
from accrue.domain.permissions import Role
from accrue.settings import Settings
from accrue.store import people
from accrue.store.books import Books
from accrue.store.outbox import MAX_ATTEMPTS, WEBHOOK, deliver_due, enqueue, signature
from accrue.store.tables import OutboxRow

# seconds a test waits for a mail server to start or a delivery to arrive before it fails: only
# against a hang, never a measure of speed (it normally takes milliseconds)
SAFETY = 300


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Received:
    """What a receiver got, with a wait for the count to reach a number."""

    def __init__(self):
        self.items, self.changed = [], threading.Condition()

    def add(self, item) -> None:
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.items) >= count, SAFETY), self.items
            return list(self.items)


class Inbox(Received):
    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.add((envelope.rcpt_tos, message, session.authenticated))
        return "250 OK"


class Hooks(Received):
    """A webhook receiver that answers 503 to its first `failures` requests, then 204."""

    def __init__(self, failures: int = 0):
        super().__init__()
        self.failures, self.refused = failures, 0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hooks.refused < hooks.failures:
                    hooks.refused += 1
                    self.send_response(503)
                else:
                    signed = self.headers["X-Accrue-Signature"]
                    hooks.add((signed, self.headers["X-Accrue-Delivery"], body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"


def _mail_server(inbox: Inbox, port: int, **options) -> Controller:
    """A mail server on loopback, started: waited for until it answers (aiosmtpd gives up after
    5 s by default, which a loaded machine can take; SAFETY is only against a hang)."""
    smtp = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=SAFETY, **options)
    smtp.start()
    return smtp


def receiving(tmp_path, hooks: Hooks, **options) -> tuple[Inbox, Controller, Settings]:
    """A real mail server started on a free loopback port, and settings of books that send
    e-mail to it and webhooks to `hooks`, signed with "s3cret"."""
    inbox, port = Inbox(), _port()
    smtp = _mail_server(inbox, port)
    settings = Settings(
        data_dir=tmp_path / "books",
        actor="t",
        smtp_host="127.0.0.1",
        smtp_port=port,
        webhook_url=hooks.url,
        webhook_secret="s3cret",
        **options,
    )
    return inbox, smtp, settings


@pytest.fixture
def world(tmp_path):
    hooks = Hooks()
    inbox, smtp, settings = receiving(tmp_path, hooks)
    api = open_api(settings)
    books = api.books
    people.create_user(
        books, "amelia", "Amelia", Role.PARTNER, PASSWORD, "ACME", email="amelia@acme.example"
    )
    people.create_user(
        books, "rick", "Rick", Role.REP, PASSWORD, rep_id="R1", email="rick@maker.example"
    )
    yield api, inbox, hooks
    api.client.__exit__(None, None, None)
    smtp.stop()
    hooks.server.shutdown()


@pytest.mark.parametrize(
    ("measure", "gap", "told"), [(45000, 5000, True), (44999, 5001, False), (50000, 0, False)]
)
def test_near_means_within_ten_percent_of_the_next_threshold(measure, gap, told):
    assert near(measure, gap) is told


def test_alerts_reach_the_portal_the_inbox_and_the_webhook_once(world):
    api, inbox, hooks = world
    lines = [
        *line_rows("ACME", ["46000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9500.00"], day="2026-11-03"),
        *line_rows("CORE", ["20000.00"], day="2026-11-03"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "nov", "lines": lines}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    # the server's worker delivers what the recalculation queued
    # ACME is 4,000 from Gold (50,000); BOLT 500 from Silver (10,000); CORE is 30,000 away
    mails = inbox.wait_for(2)
    recipients = sorted((tuple(to), m["Subject"]) for to, m, _ in mails)
    assert recipients == [
        (("amelia@acme.example",), "Acme Distribution is close to Gold in Quarterly volume"),
        (("rick@maker.example",), "Bolt Supply is close to Silver in Quarterly volume"),
    ]
    body = next(m for _, m, _ in mails if "Acme" in m["Subject"]).get_content()
    assert "USD 4,000.00 away from Gold" in body and "Reaching it pays USD 2,000.00" in body
    for signed, _, payload in hooks.wait_for(2):
        assert hmac.compare_digest(signed, signature("s3cret", payload))
        assert json.loads(payload)["event"] == "tier.near"
    page = signed_in(api, "amelia").get("/partner").text
    assert "USD 4,000.00 away from Gold" in page and "Bolt" not in page
    assert "Bolt Supply is USD 500.00 away from Silver" in signed_in(api, "rita").get("/rep").text
    delivered = api.ok(api.get("ada", "/api/v1/outbox?status=delivered"))
    assert delivered["total"] == 4 and {m["channel"] for m in delivered["items"]} == {
        "email",
        "webhook",
    }

    # once per tier per period: recalculating again queues nothing, and nothing goes twice
    api.ok(api.post("fin", "/api/recalc", json={"full": True}))
    assert deliver_due(api.books).delivered == 0
    assert len(inbox.items) == 2 and len(hooks.items) == 2


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 20, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _books(tmp_path, clock=None, **settings) -> Books:
    options = {"data_dir": tmp_path / "books", "actor": "t", "webhook_secret": "s3cret"}
    return Books.init(Settings(**options, **settings), clock=clock or Clock())


def _queue_webhooks(books: Books, url: str, count: int = 1) -> None:
    with books.session() as session:
        for n in range(count):
            body = json.dumps({"event": "tier.near", "n": n})
            enqueue(session, books, WEBHOOK, "tier.near", f"alert:{n}", url, "", body)


def _outbox(books: Books) -> list[OutboxRow]:
    with books.session() as session:
        return session.query(OutboxRow).order_by(OutboxRow.id).all()


def test_a_webhook_is_retried_with_backoff_and_delivered_once_when_the_receiver_recovers(
    tmp_path,
):
    hooks, clock = Hooks(failures=2), Clock()
    books = _books(tmp_path, clock)
    _queue_webhooks(books, hooks.url)
    assert deliver_due(books).retrying == 1  # 503
    [message] = _outbox(books)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "503" in message.last_error
    clock.now += timedelta(seconds=29)
    assert deliver_due(books).retrying == 0  # not due yet: the first retry waits 30 s
    clock.now += timedelta(seconds=1)
    assert deliver_due(books).retrying == 1  # 503 again; the next wait is a minute
    clock.now += timedelta(seconds=60)
    assert deliver_due(books).delivered == 1
    [(signed, delivery, payload)] = hooks.wait_for(1)
    assert hmac.compare_digest(signed, signature("s3cret", payload)) and delivery == "1"
    [message] = _outbox(books)
    assert (message.status, message.attempts, message.delivered_at) == (
        "delivered",
        3,
        clock().isoformat(timespec="microseconds"),
    )
    clock.now += timedelta(hours=2)
    assert deliver_due(books).delivered == 0 and len(hooks.items) == 1
    hooks.server.shutdown()
    books.close()


def test_a_message_that_never_gets_through_fails_after_its_last_attempt(tmp_path):
    clock = Clock()
    books = _books(tmp_path, clock)
    _queue_webhooks(books, f"http://127.0.0.1:{_port()}/nobody-listens")
    for _ in range(MAX_ATTEMPTS):
        deliver_due(books)
        clock.now += timedelta(hours=1)
    [message] = _outbox(books)
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert "Connection refused" in message.last_error
    assert deliver_due(books).delivered == 0
    books.close()


def test_two_workers_at_once_send_each_message_once(tmp_path):
    hooks = Hooks()
    books = _books(tmp_path)
    _queue_webhooks(books, hooks.url, count=20)
    turn = threading.Lock()  # the books in turn, as in the server; sends run side by side
    workers = [threading.Thread(target=deliver_due, args=(books, lambda: turn)) for _ in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    deliveries = [delivery for _, delivery, _ in hooks.wait_for(20)]
    assert sorted(deliveries, key=int) == [str(n) for n in range(1, 21)]
    assert {m.status for m in _outbox(books)} == {"delivered"}
    hooks.server.shutdown()
    books.close()


def _login(server, session, envelope, mechanism, auth_data):
    right = (auth_data.login, auth_data.password) == (b"accrue", b"mail-pw")
    return AuthResult(success=right, handled=False)  # a refusal is answered with a 535


@pytest.mark.parametrize(("password", "status"), [("mail-pw", "delivered"), ("wrong", "pending")])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_e_mail_logs_in_to_the_mail_server_when_configured(tmp_path, password, status):
    inbox, port = Inbox(), _port()
    smtp = _mail_server(
        inbox, port, authenticator=_login, auth_require_tls=False, auth_required=True
    )
    books = _books(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_username="accrue",
        smtp_password=password,
    )
    with books.session() as session:
        enqueue(
            session,
            books,
            "email",
            "tier.near",
            "alert:1",
            '["amelia@acme.example"]',
            "Close to Gold",
            "4,000.00 to go",
        )
    deliver_due(books)
    [message] = _outbox(books)
    assert message.status == status
    if status == "delivered":
        [(to, mail, login)] = inbox.wait_for(1)
        assert (to, mail["Subject"], login) == (["amelia@acme.example"], "Close to Gold", True)
    else:
        assert "SMTPAuthenticationError" in message.last_error and not inbox.items
    smtp.stop()
    books.close()


def test_accrue_deliver_sends_what_is_due_and_shows_what_is_not_delivered(tmp_path):
    books = _books(tmp_path)
    _queue_webhooks(books, f"http://127.0.0.1:{_port()}/nobody-listens")
    books.close()
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "books"), "deliver"])
    assert result.exit_code == 0, result.output
    assert "outbox: 0 delivered, 1 to retry, 0 failed" in result.output
    assert "Not delivered" in result.output and "alert:0" in result.output
