"""The approver and the auditor land on their own pages: the approver on what waits for their
decision (by name, amount, preparer and age; segregation of duties shown before a button
refuses), the auditor on the audit trail read as sentences, narrowed by who, what, when and
partner, and a payout traced to its settlements, program versions and lines."""

from __future__ import annotations

import re
from datetime import date

import pytest
from apiclient import line_rows, open_api
from test_portal import _csrf, signed_in
from test_portal_pages import _text

from accrue.domain.ledger import PayoutMethod
from accrue.domain.money import readable_money
from accrue.settings import Settings
from accrue.store.close import pay


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("roles") / "books", actor="t"))
    rows = [
        *line_rows("ACME", ["1000000.00"], day="2026-02-10", prefix="A"),  # 4%: two levels
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="C"),  # 2%: one level
        *line_rows("BOLT", ["15000.00"], day="2026-02-05", prefix="B"),
        *line_rows("BOLT", ["11000.00"], day="2026-05-05", prefix="P"),  # paid in a batch
        *line_rows("CORE", ["30000.00"], day="2026-05-06", prefix="T"),  # paid, days counted
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
    for period in ("2026-Q1", "2026-Q2"):
        api.ok(api.post("fin", f"/api/periods/{period}/close", json={}))
    yield api
    api.client.__exit__(None, None, None)


def _settlement(api, partner: str, period: str = "2026-Q1") -> dict:
    """The partner's one settlement of `period`; each test asks approval of its own."""
    asked = {"partner_id": partner, "period": period}
    [found] = api.ok(api.get("fin", "/api/settlements", params=asked))["items"]
    return found


def _submitted(api, partner: str) -> tuple[dict, dict]:
    settled = _settlement(api, partner)
    asked = api.post("fin", f"/api/settlements/{settled['id']}/submit")
    return settled, api.ok(asked, 201)


def _row(text: str, starting: str) -> str:
    """The words of the table row that starts with `starting`, up to the next row."""
    return text.split(starting, 1)[1].split("Settlement ", 1)[0]


def test_an_approver_lands_on_what_waits_for_them_and_decides_it_there(api):
    acme, big = _submitted(api, "ACME")
    core, small = _submitted(api, "CORE")
    abe = signed_in(api, "abe")
    landed = abe.get("/")
    assert landed.headers["location"] == "/approvals"
    html = abe.get("/approvals").text
    text = _text(html)
    mine = text.split("Yours to decide")[1].split("Waiting for someone else")[0]
    # both wait for Abe, oldest first, by name, with the amounts the books hold
    row = _row(mine, f"Settlement {acme['id']}")
    assert "Acme Distribution · Quarterly volume · 2026-Q1" in row
    assert readable_money(acme["payout"], "USD") in row and "USD 40,000.00" in row
    assert "Fin (fin)" in row and "today" in row and "0 of 2 approvals" in row
    assert f"Settlement {core['id']}" in mine and "0 of 1 approval" in mine
    assert "Waiting for you 2 requests" in text
    assert "They would release USD 40,400.00" in text
    assert "volume-q" not in text and "ACME" not in text

    decided = abe.post(
        f"/finance/approvals/{big['id']}",
        data={"decision": "approve", "then": "/approvals", "csrf": _csrf(html)},
    )
    assert decided.headers["location"] == "/approvals"
    after = _text(abe.get("/approvals").text)
    assert f"request {big['id']}: pending" in after  # one level of two given
    others = after.split("Waiting for someone else")[1].split("Your latest decisions")[0]
    row = _row(others, f"Settlement {acme['id']}")
    assert "1 of 2 approvals (by Abe (abe))" in row
    assert "you gave an approval already" in row
    assert "approved level 1" in after.split("Your latest decisions")[1]
    status = api.ok(api.get("fin", f"/api/approvals/{big['id']}"))["status"]
    assert status == "pending"

    # finance may decide too, but never what finance prepared: shown, with no button
    fin = _text(signed_in(api, "fin").get("/approvals").text)
    kept = fin.split("Waiting for someone else")[1]
    assert f"Settlement {core['id']}" in kept and "you prepared it" in kept
    assert "Nothing waits for your decision" in fin
    # a second approver finishes the big one; it leaves every list of waiting requests
    amy = signed_in(api, "amy")
    page = amy.get("/approvals").text
    amy.post(
        f"/finance/approvals/{big['id']}",
        data={"decision": "approve", "then": "/approvals", "csrf": _csrf(page)},
    )
    assert api.ok(api.get("fin", f"/api/approvals/{big['id']}"))["status"] == "approved"
    assert (
        f"Settlement {acme['id']}"
        not in _text(amy.get("/approvals").text).split("Your latest decisions")[0]
    )
    refused = abe.post(
        f"/finance/approvals/{small['id']}",
        data={"decision": "reject", "then": "/approvals", "csrf": _csrf(html)},
        follow_redirects=True,
    )
    assert "a rejection needs a reason" in refused.text
    bad = abe.post(
        f"/finance/approvals/{small['id']}",
        data={"decision": "approve", "then": "https://elsewhere.example", "csrf": _csrf(html)},
    )
    assert bad.status_code == 400  # the page to return to is one of the portal's


def test_an_auditor_reads_the_trail_as_sentences_and_narrows_it(api):
    bolt, asked = _submitted(api, "BOLT")
    api.ok(api.post("abe", f"/api/approvals/{asked['id']}/approve", json={}))
    aud = signed_in(api, "aud")
    assert aud.get("/").headers["location"] == "/audit"
    html = aud.get("/audit").text
    text = _text(html)
    assert 'hx-get="/audit/verified"' in html  # the seals are checked once the page shows
    assert "Intact:" in _text(aud.get("/audit/verified").text)
    assert "{" not in text.split("Audit trail", 1)[1]  # no JSON anywhere
    assert re.search(r"Fin \(fin\) closed period 2026-Q1", text)
    assert "Pam (pam) imported program Quarterly volume, version 1" in text
    acme = _settlement(api, "ACME")

    only_bolt = _text(aud.get("/audit", params={"partner": "BOLT"}).text).split(" Show ")[1]
    about = f"settlement {bolt['id']} (Bolt Supply · Quarterly volume · 2026-Q1)"
    assert f"Fin (fin) submitted for approval {about}" in only_bolt
    assert f"Abe (abe) approved {about}" in only_bolt
    assert f"Amount {readable_money(bolt['payout'], 'USD')}" in only_bolt
    assert f"settlement {acme['id']} " not in only_bolt
    assert "imported program" not in only_bolt  # an entry that does not name Bolt
    only_abe = _text(aud.get("/audit", params={"who": "abe"}).text)
    found = re.findall(r"#\d+ · \S+ \S+ UTC (\S+ \(\w+\))", only_abe)
    assert found and set(found) == {"Abe (abe)"}
    assert "approved settlement" in only_abe
    assert "Level 1 Approvals needed 1" in only_abe and "Status approved" in only_abe
    everything = {"who": "", "action": "", "entity": "", "partner": "", "since": "", "until": ""}
    assert aud.get("/audit", params=everything).status_code == 200  # the form left empty
    assert aud.get("/audit", params={"since": "2026-02-30"}).status_code == 400
    before = _text(aud.get("/audit", params={"until": "2026-11-23"}).text)
    assert "No entry matches" in before
    on_the_day = _text(
        aud.get("/audit", params={"since": "2026-11-24", "until": "2026-11-24"}).text
    )
    assert "No entry matches" not in on_the_day
    closes = _text(aud.get("/audit", params={"action": "close"}).text).split(" Show ")[1]
    assert "closed period 2026-Q1" in closes and "imported" not in closes
    assert re.search(r"Settlements \d+ to \d+, sealed [0-9a-f]{12}…", closes)


def test_an_auditor_traces_a_payout_to_its_settlements_versions_and_lines(api):
    settled = _settlement(api, "BOLT", "2026-Q2")
    asked = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{asked['id']}/approve", json={}))
    wanted = {"method": "check", "currency": "USD", "settlement_ids": [settled["id"]]}
    batch = api.ok(api.post("fin", "/api/payout-batches", json=wanted), 201)
    [request] = [
        r
        for r in api.ok(api.get("fin", "/api/approvals", params={"limit": 500}))["items"]
        if r["subject"] == "payout_batch" and r["subject_id"] == batch["id"]
    ]
    api.ok(api.post("amy", f"/api/approvals/{request['id']}/approve", json={}))
    aud = signed_in(api, "aud")
    trail = aud.get("/audit", params={"entity": "payout_batch"}).text
    assert f'href="/audit/payouts/{batch["id"]}"' in trail
    text = _text(aud.get(f"/audit/payouts/{batch['id']}").text)
    assert f"Total {readable_money(batch['total'], 'USD')}" in text
    assert "Created by Fin (fin)" in text
    assert "approved by Amy (amy)" in text
    assert "Bolt Supply" in text and "BOLT" not in text
    assert "Quarterly volume, version 1" in text
    assert readable_money(settled["payout"], "USD") in text
    assert f'href="/why/{settled["id"]}"' in aud.get(f"/audit/payouts/{batch['id']}").text
    assert aud.get("/audit/payouts/99999").status_code == 404


def test_program_health_shows_how_soon_settlements_are_paid_against_the_terms(api):
    settled = _settlement(api, "CORE", "2026-Q2")  # 2% of 30,000
    pay(api.books, settled["id"], PayoutMethod.CHECK, "chk-45", date(2026, 8, 14))
    text = _text(signed_in(api, "pam").get("/programs").text)
    row = text.split("Quarterly volume", 1)[1]
    # paid 45 days after 2026-06-30: within the default terms of 60 days
    assert "45 days (100.0% on time)" in row
    assert "the share paid within 60 days" in text
    assert _settlement(api, "CORE", "2026-Q2")["paid"] == settled["payout"] == "600.00"
