"""E14 through the API (a fund claim with its proof file, approved up to what is available),
disputes from opening to an approved adjustment settled at the next close, and the 844 reader
under fuzzing: whatever the bytes, an answer or an error naming segment and element."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from apiclient import FUND, PDF, line_rows, open_api
from conftest import BACKENDS
from hypothesis import given, settings
from hypothesis import strategies as st

from accrue.domain.shipdebit import ClaimLine
from accrue.ingest.claims import ClaimIn
from accrue.ingest.edi import build_844, claims_from_844
from accrue.ingest.x12 import X12Error


@pytest.fixture
def api(books_settings):
    opened = open_api(books_settings)
    opened.ok(opened.yaml("pam", "/api/programs", FUND))
    yield opened
    opened.client.__exit__(None, None, None)


def _fund_claim(api, who, number, amount, proof=("show.pdf", PDF), partner="ACME"):
    form = {
        "partner_id": partner,
        "program_id": "mdf",
        "number": number,
        "amount": amount,
        "description": "trade show booth",
    }
    return api.post(who, "/api/funds/claims", data=form, files={"proof": proof})


@BACKENDS
def test_e14_a_fund_claim_through_the_api(api):
    api.ok(
        api.post("fin", "/api/lines", json={"name": "q1", "lines": line_rows("ACME", ["400000"])}),
        201,
    )
    api.ok(api.post("fin", "/api/recalc", json={"as_of": "2026-03-31"}))
    [fund] = api.ok(api.get("acme", "/api/funds"))["items"]
    assert (fund["accrued"], fund["available"]) == ("8000.00", "8000.00")
    first = api.ok(_fund_claim(api, "acme", "M-1", "5000.00"), 201)
    second = api.ok(_fund_claim(api, "acme", "M-2", "4000.00"), 201)
    assert (first["approved"], first["status"]) == ("5000.00", "pending")
    assert (second["approved"], second["prevented"]) == ("3000.00", "1000.00")
    assert api.ok(_fund_claim(api, "acme", "M-1", "5000.00"), 201) == first  # a resend
    other = _fund_claim(api, "acme", "M-1", "5500.00")
    assert other.status_code == 409 and "'M-1' of ACME was already received" in other.text
    proof = api.ok(api.get("fin", f"/api/claims/{first['id']}/proofs/{first['proofs'][0]}"))
    assert proof.content == PDF and proof.headers["content-type"] == "application/pdf"
    assert api.get("bolt", f"/api/claims/{first['id']}").status_code == 404
    refused = _fund_claim(api, "acme", "M-3", "10", proof=("show.pdf", b"MZ\x90\x00 not a pdf"))
    assert refused.status_code == 422 and "not a PDF, PNG or JPEG" in refused.text
    assert _fund_claim(api, "bolt", "M-4", "10").status_code == 404  # not BOLT's partner
    for request in api.ok(api.get("abe", "/api/approvals", params={"subject": "claim"}))["items"]:
        api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    [fund] = api.ok(api.get("acme", "/api/funds"))["items"]
    assert (fund["used"], fund["available"]) == ("8000.00", "0.00")
    postings = api.ok(api.get("aud", "/api/ledger/journals", params={"limit": 500}))["items"]
    spent = [p for p in postings if p["kind"] == "fund_claim" and p["debit"] != "0.00"]
    assert sorted(p["debit"] for p in spent) == ["3000.00", "5000.00"]
    leak = api.ok(api.get("fin", "/api/leakage"))["items"]
    assert [(r["kind"], r["reason"], r["prevented"]) for r in leak] == [("fund", "NF", "1000.00")]


@BACKENDS
def test_a_dispute_from_opening_to_an_adjustment_settled_at_the_next_close(api):
    program = (
        FUND.replace("id: mdf", "id: vol")
        .replace("kind: fund\n", "")
        .replace("expires_after: 4\n", "")
    )
    api.ok(api.yaml("pam", "/api/programs", program))
    api.ok(
        api.post("fin", "/api/lines", json={"name": "q1", "lines": line_rows("ACME", ["10000"])}),
        201,
    )
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={"as_of": "2026-04-02"}))
    [settled] = api.ok(api.get("acme", "/api/settlements", params={"program_id": "vol"}))["items"]
    assert settled["payout"] == "200.00"

    # the partner disputes: an invoice of 2,500 is missing; they cannot dispute BOLT's things
    about = {"about": "settlement", "key": str(settled["id"]), "reason": "invoice 77 is missing"}
    dispute = api.ok(api.post("acme", "/api/disputes", json=about), 201)
    assert (dispute["status"], dispute["opened_by"], dispute["partner_id"]) == (
        "open",
        "acme",
        "ACME",
    )
    assert api.get("bolt", f"/api/disputes/{dispute['id']}").status_code == 404
    assert (
        api.post(
            "acme", f"/api/disputes/{dispute['id']}/resolve", json={"resolution": "x" * 5}
        ).status_code
        == 403
    )
    # finance sees the whole calculation, then proposes 2% of 2,500; someone else approves
    trace = api.ok(api.get("fin", f"/api/settlements/{settled['id']}/trace"))
    assert trace["reproduced"] and trace["recomputed"] == "200.00"
    resolved = {"resolution": "invoice 77 was booked to a branch by mistake", "adjustment": "50.00"}
    proposed = api.ok(api.post("fin", f"/api/disputes/{dispute['id']}/resolve", json=resolved))
    assert (proposed["status"], proposed["adjustment"]) == ("proposed", "50.00")
    [request] = api.ok(api.get("abe", "/api/approvals", params={"subject": "dispute"}))["items"]
    assert api.post("fin", f"/api/approvals/{request['id']}/approve", json={}).status_code == 409
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    done = api.ok(api.get("acme", f"/api/disputes/{dispute['id']}"))
    assert done["status"] == "resolved" and done["journal_id"]

    # the adjustment is owed now, and the next close pays it with Q2
    owed = api.ok(api.get("fin", "/api/ledger/liability", params={"by": "program_id,period"}))[
        "items"
    ]
    assert {(o["program_id"], o["period"]): o["outstanding"] for o in owed}[
        ("vol", "2026-Q1")
    ] == "250.00"
    api.ok(
        api.post(
            "fin",
            "/api/lines",
            json={
                "name": "q2",
                "lines": line_rows("ACME", ["10000"], day="2026-05-10", prefix="Q2"),
            },
        ),
        201,
    )
    api.ok(api.post("fin", "/api/periods/2026-Q2/close", json={"as_of": "2026-07-02"}))
    q2 = api.ok(
        api.get("acme", "/api/settlements", params={"program_id": "vol", "period": "2026-Q2"})
    )["items"]
    assert (q2[0]["adjustments"], q2[0]["payout"]) == ("50.00", "250.00")
    trail = api.ok(api.get("aud", "/api/audit", params={"entity": "dispute"}))["items"]
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("acme", "open"),
        ("fin", "resolve"),
        ("fin", "submit"),
        ("abe", "post"),
        ("abe", "approve"),
    ]


@BACKENDS
def test_a_dismissed_dispute_changes_no_amount(api):
    api.ok(
        api.post("fin", "/api/lines", json={"name": "q1", "lines": line_rows("ACME", ["10000"])}),
        201,
    )
    api.ok(api.post("fin", "/api/recalc", json={}))
    about = {"about": "standing", "key": "mdf/ACME/2026-Q1", "reason": "the rate should be 3%"}
    dispute = api.ok(api.post("acme", "/api/disputes", json=about), 201)
    dismissed = {"resolution": "the agreement says 2%, see section 4"}
    done = api.ok(api.post("fin", f"/api/disputes/{dispute['id']}/resolve", json=dismissed))
    assert (done["status"], done["adjustment"], done["journal_id"]) == ("dismissed", None, None)
    again = api.post("fin", f"/api/disputes/{dispute['id']}/resolve", json=dismissed)
    assert again.status_code == 409 or again.status_code == 422


CLAIM = build_844(
    ClaimIn(
        "C-1",
        "ACME",
        date(2026, 3, 1),
        "USD",
        [
            ClaimLine(
                1,
                "ACME",
                "SPA-1",
                "Acme Hospital",
                "V-100",
                "9001",
                "1",
                Decimal(5),
                date(2026, 2, 1),
                date(2026, 3, 1),
            ),
        ],
        "t",
    ),
    "Acme",
    1,
    datetime(2026, 3, 1),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(CLAIM) - 1), st.sampled_from(["", "*", "~", "X", "9", "\n", ">"])
        ),
        max_size=4,
    )
)
def test_the_844_reader_answers_or_names_what_is_wrong(edits):
    text = CLAIM
    for position, replacement in edits:
        text = text[:position] + replacement + text[position + 1 :]
    try:
        claims = claims_from_844(text, "fuzz.edi")
    except X12Error as error:
        assert error.segment or error.line is not None or "fuzz.edi" in str(error)
    else:
        assert all(claim.lines for claim in claims)
