"""Proximity alerts: a partner within 10% of its next tier is told once per tier per period —
in the portal, by e-mail through a real SMTP server (aiosmtpd on loopback) to its users and
reps, and by a webhook signed with HMAC-SHA256."""

from __future__ import annotations

import hmac
import json
import socket
import threading
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from apiclient import PASSWORD, line_rows, open_api
from test_portal import signed_in

from accrue.domain.alerts import near
from accrue.domain.permissions import Role
from accrue.settings import Settings
from accrue.store import people
from accrue.store.alerts import signature


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default))
        )
        return "250 OK"


@pytest.fixture
def world(tmp_path):
    inbox, smtp_port = Inbox(), _port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    hooks = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hooks.append((self.headers["X-Accrue-Signature"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    settings = Settings(
        data_dir=tmp_path / "books",
        actor="t",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        webhook_url=f"http://127.0.0.1:{receiver.server_port}/hooks",
        webhook_secret="s3cret",
    )
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
    receiver.shutdown()


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
    # ACME is 4,000 from Gold (50,000); BOLT 500 from Silver (10,000); CORE is 30,000 away
    recipients = sorted((tuple(to), m["Subject"]) for to, m in inbox.messages)
    assert recipients == [
        (("amelia@acme.example",), "Acme Distribution is close to Gold in Quarterly volume"),
        (("rick@maker.example",), "Bolt Supply is close to Silver in Quarterly volume"),
    ]
    body = next(m for _, m in inbox.messages if "Acme" in m["Subject"]).get_content()
    assert "USD 4,000.00 away from Gold" in body and "Reaching it pays USD 2,000.00" in body
    assert len(hooks) == 2
    for signed, payload in hooks:
        assert hmac.compare_digest(signed, signature("s3cret", payload))
        assert json.loads(payload)["event"] == "tier.near"
    page = signed_in(api, "amelia").get("/partner").text
    assert "USD 4,000.00 away from Gold" in page and "Bolt" not in page
    assert (
        "Bolt Supply (BOLT) is USD 500.00 away from Silver"
        in signed_in(api, "rita").get("/rep").text
    )

    # once per tier per period: recalculating again tells no one again
    api.ok(api.post("fin", "/api/recalc", json={"full": True}))
    assert len(inbox.messages) == 2 and len(hooks) == 2
