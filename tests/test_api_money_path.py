"""The whole money path through the API alone: lines in → standings → close → settlement →
approval by a second person → payout batch → approval → bank file → paid → the ledger
balances and the period owes nothing. On the embedded default and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from apiclient import line_rows, lines_csv, open_api
from conftest import BACKENDS
from sepaxml import validation

PAIN_001 = xmlschema.XMLSchema(Path(validation.__file__).parent / "schemas/pain.001.001.03.xsd")
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
PAYER = {"payer_name": "Maker Industries", "payer_iban": "DE89370400440532013000"}


@pytest.fixture
def api(books_settings):
    opened = open_api(books_settings.model_copy(update=PAYER))
    yield opened
    opened.client.__exit__(None, None, None)


def _outstanding(api, period: str) -> Decimal:
    rows = api.ok(api.get("fin", "/api/ledger/liability", params={"by": "period"}))["items"]
    return sum((Decimal(r["outstanding"]) for r in rows if r["period"] == period), Decimal(0))


@BACKENDS
def test_money_goes_out_through_the_api_alone(api):
    # lines in: a file for ACME (two invoices, Gold tier: 4% of 55,000) and a JSON push for BOLT
    sent = api.post(
        "fin",
        "/api/batches",
        files={"file": ("acme-q1.csv", lines_csv(line_rows("ACME", ["30000.00", "25000.00"])))},
    )
    assert api.ok(sent, 201)["batch"]["accepted"] == 2
    pushed = {"name": "erp-push-1", "lines": line_rows("BOLT", ["12000.00"])}
    assert api.ok(api.post("fin", "/api/lines", json=pushed), 201)["batch"]["accepted"] == 1
    # each import recomputed what it touched: a recalculation now finds nothing to change
    assert api.ok(api.post("fin", "/api/recalc", json={}))["changed"] == 0

    standings = api.ok(api.get("fin", "/api/standings", params={"period": "2026-Q1"}))["items"]
    by_partner = {s["partner"]: s for s in standings}
    assert (by_partner["ACME"]["tier_name"], by_partner["ACME"]["amount"]) == ("Gold", "2200.00")
    assert (by_partner["BOLT"]["tier_name"], by_partner["BOLT"]["amount"]) == ("Silver", "240.00")
    assert _outstanding(api, "2026-Q1") == Decimal("2440.00")

    # close, then each settlement submitted by finance and approved by someone else
    closed = api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    assert closed["payable"] == {"USD": "2440.00"}
    settled = api.ok(api.get("fin", "/api/settlements", params={"period": "2026-Q1"}))["items"]
    paying = [s for s in settled if Decimal(s["payout"]) > 0]
    assert sorted(s["payout"] for s in paying) == ["2200.00", "240.00"]
    for s in paying:
        request = api.ok(api.post("fin", f"/api/settlements/{s['id']}/submit"), 201)
        refused = api.post("fin", f"/api/approvals/{request['id']}/approve", json={})
        assert refused.status_code == 409, "the preparer approved their own settlement"
        approved = api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
        assert approved["status"] == "approved"
        assert approved["decisions"][0]["user"] == "abe"

    # a payout batch by bank transfer, released by an approver, not by its preparer
    batch = api.ok(
        api.post("fay", "/api/payout-batches", json={"method": "bank_transfer", "currency": "USD"}),
        201,
    )
    assert (batch["status"], batch["total"], batch["files"]) == ("pending", "2440.00", [])
    assert api.post("fay", f"/api/payout-batches/{batch['id']}/paid", json={}).status_code == 409
    request = api.ok(
        api.get("fin", "/api/approvals", params={"subject": "payout_batch", "status": "pending"})
    )["items"][0]
    assert api.post("fay", f"/api/approvals/{request['id']}/approve", json={}).status_code == 409
    api.ok(api.post("amy", f"/api/approvals/{request['id']}/approve", json={"reason": "ok"}))

    # the bank file: valid pain.001.001.03 with the batch's amounts and identifiers
    released = api.ok(api.get("fin", f"/api/payout-batches/{batch['id']}"))
    assert released["status"] == "approved"
    [name] = released["files"]
    xml = api.ok(api.get("fin", f"/api/payout-batches/{batch['id']}/files/{name}")).content
    PAIN_001.validate(xml.decode())
    document = PAIN_001.to_dict(xml.decode())
    header = document["CstmrCdtTrfInitn"]["GrpHdr"]
    assert (header["MsgId"], header["NbOfTxs"], Decimal(str(header["CtrlSum"]))) == (
        f"ACCRUE-B{batch['id']}",
        "2",
        Decimal("2440.00"),
    )
    transfers = document["CstmrCdtTrfInitn"]["PmtInf"][0]["CdtTrfTxInf"]
    assert sorted(t["CdtrAcct"]["Id"]["IBAN"] for t in transfers) == sorted(
        ["DE02120300000000202051", "FR1420041010050500013M02606"]
    )

    # paid once: the journals post, a second attempt is refused, nothing is owed for Q1
    paid = api.ok(api.post("fin", f"/api/payout-batches/{batch['id']}/paid", json={}))
    assert paid["status"] == "paid" and all(i["journal_id"] for i in paid["items"])
    assert f"payout-{batch['id']}-journals.csv" in paid["files"]
    assert api.post("fin", f"/api/payout-batches/{batch['id']}/paid", json={}).status_code == 409
    assert _outstanding(api, "2026-Q1") == 0
    balance = api.ok(api.get("aud", "/api/ledger/trial-balance"))["items"]
    debit = sum(Decimal(b["debit"]) for b in balance)
    assert debit == sum(Decimal(b["credit"]) for b in balance) > 0
    paid_back = api.ok(api.get("fin", "/api/settlements", params={"period": "2026-Q1"}))["items"]
    assert all(s["paid"] == s["payout"] for s in paid_back)
    assert api.ok(api.get("aud", "/api/payouts/payable"))["total"] == 0

    # the audit trail holds and names each person in their step
    assert api.ok(api.get("aud", "/api/audit/verify"))["ok"]
    trail = api.ok(api.get("aud", "/api/audit", params={"limit": 500}))["items"]
    steps = {(e["actor"], e["action"], e["entity"]) for e in trail}
    assert {
        ("fin", "import", "lines"),
        ("fin", "submit", "settlement"),
        ("abe", "approve", "settlement"),
        ("fay", "create", "payout_batch"),
        ("amy", "approve", "payout_batch"),
        ("fin", "pay", "payout_batch"),
    } <= steps


@BACKENDS
def test_payout_files_for_credit_memos_and_checks_and_the_erp_journals(api):
    api.ok(
        api.post("fin", "/api/lines", json={"name": "p", "lines": line_rows("CORE", ["20000"])}),
        201,
    )
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    [s] = [
        s
        for s in api.ok(api.get("fin", "/api/settlements"))["items"]
        if s["partner_id"] == "CORE" and s["period"] == "2026-Q1"
    ]
    request = api.ok(api.post("fin", f"/api/settlements/{s['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    # CORE has no IBAN: a bank transfer is refused naming the partner, a credit memo is not
    refused = api.post(
        "fin", "/api/payout-batches", json={"method": "bank_transfer", "currency": "USD"}
    )
    assert refused.status_code == 409 and "CORE has no iban" in refused.json()["error"]["message"]
    batch = api.ok(
        api.post("fin", "/api/payout-batches", json={"method": "credit_memo", "currency": "USD"}),
        201,
    )
    request = api.ok(api.get("abe", "/api/approvals", params={"status": "pending"}))["items"][0]
    rejected = api.post("abe", f"/api/approvals/{request['id']}/reject", json={})
    assert rejected.status_code == 409 and "reason" in rejected.text
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    api.ok(api.post("fin", f"/api/payout-batches/{batch['id']}/paid", json={"on": "2026-11-30"}))
    memos = api.ok(
        api.get(
            "fin", f"/api/payout-batches/{batch['id']}/files/payout-{batch['id']}-credit-memos.csv"
        )
    ).text.splitlines()
    assert memos[0].startswith("credit_memo_number,partner_id")
    assert f"CR-{batch['id']}-{s['id']},CORE,Core Industrial,400.00,USD" in memos[1]
    journals = api.ok(
        api.get("fin", f"/api/payout-batches/{batch['id']}/files/payout-{batch['id']}-journals.csv")
    ).text.splitlines()
    assert len(journals) == 3 and all(",payout,2026-11-30," in j for j in journals[1:])
