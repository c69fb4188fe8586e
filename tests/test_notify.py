"""Notifications beyond proximity (issue 15, item 4): each change tells the people it concerns —
approvers, who resolves disputes, the partner's users — in the portal and by e-mail as each
chose, through the outbox to a real SMTP server (aiosmtpd on loopback) and a local webhook
receiver that fails and recovers; nobody sees another person's notifications."""

from __future__ import annotations

import hmac
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from apiclient import FUND, PASSWORD, agreements_csv, claim_lines, line_rows, open_api
from sqlalchemy import select
from test_alerts import Clock, Hooks, receiving
from test_portal import _csrf, signed_in

from accrue.domain import notices
from accrue.domain.money import ZERO
from accrue.domain.notices import Channels, NoticeKind
from accrue.domain.permissions import Role
from accrue.store import alerts, notify, people
from accrue.store.books import Books
from accrue.store.outbox import deliver_due, signature
from accrue.store.tables import NotificationRow, OutboxRow, UserRow


def _address(username: str) -> str:
    return f"{username}@example.test"


@pytest.fixture
def world(tmp_path):
    """The API with every role, each user with an address; a real mail server and webhook
    receiver the server's delivery worker sends to."""
    hooks = Hooks()
    inbox, smtp, settings = receiving(tmp_path, hooks, portal_url="https://rebates.example.test/")
    api = open_api(settings)
    with api.books.session() as session:
        for user in session.scalars(select(UserRow)):
            user.email = _address(user.username)
    yield api, inbox, hooks
    api.client.__exit__(None, None, None)
    smtp.stop()
    hooks.server.shutdown()


def _told(api) -> list[NotificationRow]:
    with api.books.session() as session:
        return list(session.scalars(select(NotificationRow).order_by(NotificationRow.id)))


def _usernames(api) -> dict[int, str]:
    with api.books.session() as session:
        return dict(session.execute(select(UserRow.id, UserRow.username)).tuples().all())


def _who(api, kind: NoticeKind) -> Counter:
    """How many notices of `kind` each person was given."""
    names = _usernames(api)
    return Counter(names[n.user_id] for n in _told(api) if n.kind == kind)


def _approve_waiting(api, username: str) -> None:
    for request in api.ok(api.get(username, "/api/approvals", params={"status": "pending"}))[
        "items"
    ]:
        api.ok(api.post(username, f"/api/approvals/{request['id']}/approve", json={}))


def test_each_change_tells_the_people_it_concerns_once_by_the_channels_they_chose(world):
    api, inbox, hooks = world
    # bolt wants claim answers in the portal only
    chosen = [{"kind": "claim.answered", "portal": True, "email": False}]
    mine = api.client.put("/api/v1/notifications/preferences", headers=api.as_("bolt"), json=chosen)
    prefs = {p["kind"]: (p["portal"], p["email"]) for p in api.ok(mine)}
    assert prefs["claim.answered"] == (True, False) and prefs["dispute.answered"] == (True, True)
    assert prefs["statement.ready"] == (True, False)  # the default: a routine, portal only

    lines = [*line_rows("ACME", ["56000.00"]), *line_rows("BOLT", ["12000.00"])]
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": lines}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    statements = _who(api, NoticeKind.STATEMENT_READY)
    assert statements == {"acme": 1, "bolt": 1}  # not acme1: ACME-1 was not settled

    settled = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "ACME"}))
    acme_settlement = settled["items"][0]["id"]
    api.ok(api.post("fin", f"/api/settlements/{acme_settlement}/submit"), 201)
    # every approver but the one who prepared it; finance holds approvals:decide too
    assert _who(api, NoticeKind.APPROVAL_WAITING) == {"ada": 1, "abe": 1, "amy": 1, "fay": 1}
    _approve_waiting(api, "abe")
    batch = api.ok(
        api.post("fin", "/api/payout-batches", json={"method": "check", "currency": "USD"}), 201
    )
    _approve_waiting(api, "amy")
    api.ok(api.post("fin", f"/api/payout-batches/{batch['id']}/paid", json={}))
    assert _who(api, NoticeKind.PAYMENT_SENT) == {"acme": 1}

    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements_csv())}), 201)
    [claim] = api.ok(
        api.post("bolt", "/api/claims/lines", json={"lines": claim_lines("BOLT")}), 201
    )
    _approve_waiting(api, "abe")
    assert _who(api, NoticeKind.CLAIM_ANSWERED) == {"bolt": 1}

    bolt_settlement = api.ok(api.get("bolt", "/api/settlements"))["items"][0]["id"]
    about = {"about": "settlement", "key": str(bolt_settlement), "reason": "an invoice is missing"}
    dispute = api.ok(api.post("bolt", "/api/disputes", json=about), 201)
    assert _who(api, NoticeKind.DISPUTE_OPENED) == {"ada": 1, "pam": 1, "fin": 1, "fay": 1}
    resolve = {"resolution": "that invoice is dated April: it counts in Q2"}
    api.ok(api.post("fin", f"/api/disputes/{dispute['id']}/resolve", json=resolve))
    assert _who(api, NoticeKind.DISPUTE_ANSWERED) == {"bolt": 1}

    # e-mail: exactly one per notification someone gets by e-mail, to their own address
    told = _told(api)
    names = _usernames(api)
    mailed = sorted((_address(names[n.user_id]), n.subject) for n in told if n.by_email)
    received = inbox.wait_for(len(mailed))
    assert sorted((to, m["Subject"]) for [to], m, _ in received) == mailed
    assert not any(to == [_address("bolt")] and "Claim" in m["Subject"] for to, m, _ in received)
    assert all(n.by_email is False for n in told if n.kind == NoticeKind.STATEMENT_READY)
    [(_, paid, _)] = [r for r in received if r[1]["Subject"].startswith("Payment sent")]
    assert paid["Subject"] == "Payment sent: USD 2,240.00 for Quarterly volume 2026-Q1"
    text = paid.get_content()
    assert "by check, reference" in text and "https://rebates.example.test/partner" in text
    [waiting] = [
        r for r in received if r[0] == [_address("abe")] and "settlement" in r[1]["Subject"]
    ]
    assert "fin submitted settlement" in waiting[1].get_content()
    assert (
        "USD 2,240.00" in waiting[1]["Subject"] and "Approve or reject" in waiting[1].get_content()
    )

    # the webhook: one signed post per notice, whoever was told
    notices_sent = {(n.kind, n.key) for n in told}
    posts = hooks.wait_for(len(notices_sent))
    for signed, _, payload in posts:
        assert hmac.compare_digest(signed, signature("s3cret", payload))
    assert Counter(json.loads(p)["event"] for _, _, p in posts) == Counter(
        k for k, _ in notices_sent
    )

    # the portal: bolt sees its claim answer without having had an e-mail; nothing is sent twice
    assert any(n["kind"] == "claim.answered" for n in _listed(api, "bolt"))
    assert deliver_due(api.books).delivered == 0
    assert len(inbox.items) == len(mailed) and len(hooks.items) == len(notices_sent)
    assert claim["partner_id"] == "BOLT"


def _listed(api, username: str, **params) -> list[dict]:
    return api.ok(api.get(username, "/api/notifications", params={"limit": 500, **params}))["items"]


def test_a_person_reads_and_marks_only_their_own_notifications(world):
    api, _, _ = world
    lines = [
        *line_rows("ACME", ["56000.00"]),
        *line_rows("ACME-1", ["26000.00"]),
        *line_rows("BOLT", ["12000.00"]),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": lines}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    acme, bolt = _listed(api, "acme"), _listed(api, "bolt")
    # each company's user is told about its own statement; the branch's sales roll up into
    # its parent's settlement, whose statement the branch's user does not hold
    assert [(n["kind"], n["partner_id"]) for n in acme] == [("statement.ready", "ACME")]
    assert [(n["kind"], n["partner_id"]) for n in bolt] == [("statement.ready", "BOLT")]
    assert bolt[0]["link"] == "/statements/BOLT/2026-Q1.pdf"
    assert _listed(api, "acme1") == [] and _listed(api, "rita") == []

    # marking another person's notification read changes nothing of theirs
    other = {"ids": [bolt[0]["id"]]}
    assert api.ok(api.post("acme", "/api/notifications/read", json=other))["marked"] == 0
    assert _listed(api, "bolt", unread="true") == bolt

    # the portal: the bell counts the unread, the page lists them, marking one clears it
    browser = signed_in(api, "bolt")
    assert 'aria-label="Notifications, 1 unread"' in browser.get("/partner").text
    listed = browser.get("/notifications").text
    assert "Your statement for 2026-Q1 is ready" in listed and "BOLT/2026-Q1.pdf" in listed
    assert "ACME" not in listed
    read = {"csrf": _csrf(listed), "notification": bolt[0]["id"]}
    assert browser.post("/notifications/read", data=read).status_code == 303
    assert 'aria-label="Notifications, 0 unread"' in browser.get("/partner").text
    assert _listed(api, "bolt", unread="true") == []

    # the preferences form: what is ticked is kept, per kind and channel
    form = browser.get("/notifications/preferences").text
    assert form.count('type="checkbox"') == 2 * len(NoticeKind)
    ticked = {
        "csrf": _csrf(form),
        "portal": ["payment.sent", "fund.expiring"],
        "email": ["fund.expiring"],
    }
    assert browser.post("/notifications/preferences", data=ticked).status_code == 303
    prefs = api.ok(api.get("bolt", "/api/notifications/preferences"))
    assert {p["kind"]: (p["portal"], p["email"]) for p in prefs} == {
        kind.value: (kind.value in ticked["portal"], kind.value in ticked["email"])
        for kind in NoticeKind
    }
    assert api.ok(api.get("acme", "/api/notifications/preferences"))[0]["portal"] is True


def test_a_webhook_receiver_that_fails_then_recovers_gets_each_notice_once(tmp_path):
    hooks, clock = Hooks(failures=2), Clock()
    inbox, smtp, settings = receiving(tmp_path, hooks)
    books = Books.init(settings, clock=clock)
    for username in ("abe", "amy"):
        people.create_user(
            books, username, username.title(), Role.APPROVER, PASSWORD, email=_address(username)
        )
    notify.choose(books, "amy", {NoticeKind.APPROVAL_WAITING: Channels(portal=True, email=False)})
    notice = notices.approval_waiting(7, "settlement", 12, 2240, "USD", "fin", 1, 1)
    with books.session() as session:
        everyone = list(session.scalars(select(UserRow)))
        assert notify.tell(session, books, notice, everyone) == 2
    with books.session() as session:  # told again: nobody twice, no second webhook
        assert notify.tell(session, books, notice, everyone, new=False) == 0

    assert deliver_due(books).retrying == 1  # the receiver answers 503; the e-mail goes
    [(to, mail, _)] = inbox.wait_for(1)
    assert to == [_address("abe")] and mail["Subject"].startswith("Approval 1 of 1 waits")
    clock.now += timedelta(seconds=30)
    assert deliver_due(books).retrying == 1  # 503 again
    clock.now += timedelta(seconds=60)
    assert deliver_due(books).delivered == 1
    [(signed, _, payload)] = hooks.wait_for(1)
    assert hmac.compare_digest(signed, signature("s3cret", payload))
    assert json.loads(payload) == {
        "event": "approval.waiting",
        "request": 7,
        "subject": "settlement",
        "subject_id": 12,
        "level": 1,
    }
    clock.now += timedelta(hours=2)
    assert deliver_due(books).delivered == 0 and len(hooks.items) == 1 and len(inbox.items) == 1
    with books.session() as session:
        webhooks = session.scalars(select(OutboxRow).where(OutboxRow.channel == "webhook")).all()
        assert [(w.status, w.attempts) for w in webhooks] == [("delivered", 3)]
    assert [n.subject for n in notify.inbox(books, "amy")] == [notice.subject]  # portal only
    smtp.stop()
    hooks.server.shutdown()
    books.close()


def test_funds_about_to_expire_are_told_once_per_fund_and_threshold(world):
    api, inbox, _ = world
    api.ok(api.yaml("pam", "/api/programs", FUND.replace("expires_after: 4", "expires_after: 1")))
    lines = line_rows("ACME", ["50000.00"])  # Q1: 2% to the fund, usable until 2026-06-30
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": lines}), 201)

    def warned_on(day: str) -> list[str]:
        api.ok(api.post("fin", "/api/recalc", json={"as_of": day}))
        return sorted(n["key"] for n in _listed(api, "acme") if n["kind"] == "fund.expiring")

    assert warned_on("2026-05-30") == []  # 31 days left
    assert warned_on("2026-06-01") == ["fund:mdf:ACME:2026-Q1:30"]
    assert warned_on("2026-06-02") == ["fund:mdf:ACME:2026-Q1:30"]  # once per threshold
    assert warned_on("2026-06-24") == ["fund:mdf:ACME:2026-Q1:30", "fund:mdf:ACME:2026-Q1:7"]
    [warning] = [n for n in _listed(api, "acme") if n["key"].endswith(":7")]
    assert warning["subject"] == "USD 1,000.00 of Market development fund expires on 2026-06-30"
    assert "Claim it with proof of performance" in warning["text"]
    assert _listed(api, "acme1") == [] and _listed(api, "bolt") == []
    mails = inbox.wait_for(2)
    assert sorted(m["Subject"] for to, m, _ in mails if to == [_address("acme")]) == [
        warning["subject"],
        warning["subject"],
    ]


def test_funds_are_looked_at_once_a_day_not_at_every_recalculation(world, monkeypatch):
    """Every fund of every partner is read to find those about to expire: the days left
    change by the day, so a busy day's one-line recalculations do not read them again."""
    api, _, _ = world
    looked: list[date] = []
    monkeypatch.setattr(alerts, "warn_expiring", lambda books, session, day: looked.append(day))
    for day in ("2026-06-01", "2026-06-01", "2026-06-02", "2026-06-02"):
        api.ok(api.post("fin", "/api/recalc", json={"as_of": day}))
    assert looked == [date(2026, 6, 1), date(2026, 6, 2)]


@pytest.mark.parametrize(
    ("left", "warned"), [(31, None), (30, 30), (8, 30), (7, 7), (0, 7), (-1, None)]
)
def test_the_warning_due_is_the_smallest_threshold_reached(left, warned):
    last_day = date(2026, 6, 30)
    assert notices.warning_due(last_day, last_day - timedelta(days=left), [30, 7]) == warned


def test_fund_warning_thresholds_that_are_not_days_are_refused_naming_the_setting():
    assert notices.parse_thresholds("7, 30") == [30, 7]
    with pytest.raises(ValueError, match="fund_expiry_warnings 'soon'"):
        notices.parse_thresholds("soon")


def test_each_notice_says_what_the_amount_and_the_next_step():
    claim = notices.claim_answered(
        4, "C-9", "BOLT", "approved", Decimal("3600"), Decimal("360"), "USD"
    )
    assert claim.subject == "Claim C-9 approved for USD 3,600.00"
    assert claim.text.startswith("Your claim C-9 was approved for USD 3,600.00 (USD 360.00 ")
    assert "dispute a line there" in claim.text and claim.link == "/claims"
    nothing = notices.claim_answered(5, "C-10", "BOLT", "answered", ZERO, Decimal("90"), "USD")
    assert nothing.subject == "Claim C-10 answered with nothing to pay"
    adjusted = notices.dispute_answered(
        3, "ACME", "settlement 12", "an invoice was missed", Decimal("-125.5"), "USD"
    )
    assert "adjustment of USD -125.50, posted to your account" in adjusted.text
    assert "“an invoice was missed”" in adjusted.text and "open a new dispute" in adjusted.text
    opened = notices.dispute_opened(3, "ACME", "Acme Distribution", "standing x", "acme", "low")
    assert opened.subject == "Dispute 3 opened by Acme Distribution" and opened.partner_id == "ACME"
