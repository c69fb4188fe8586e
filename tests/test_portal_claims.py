"""Partners claim in the portal as the API would have them: a ship-and-debit claim as a file
or one typed line, a fund claim with its proof; each line's answer and reason, and the fund
balances with the day the oldest funds run out, are on the claims page."""

from __future__ import annotations

import pytest
from apiclient import agreements_csv, claim_lines, csv_bytes, line_rows, open_api
from test_api_claims import CLAIM, FUND, PDF
from test_portal import _csrf, signed_in
from test_portal_pages import _text

from accrue.ingest.claims import CLAIM_COLUMNS
from accrue.settings import Settings


@pytest.fixture
def api(tmp_path):
    """Books of their own for each test: a claim's answer depends on what was claimed before."""
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    api.ok(api.yaml("pam", "/api/programs", FUND))
    spa = agreements_csv(["ACME"]).replace(b"2026-06-30", b"2026-12-31")
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", spa)}), 201)
    rows = line_rows("ACME", ["400000"], day="2026-02-10", prefix="Q1")
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    yield api
    api.client.__exit__(None, None, None)


def _send(browser, path: str, data: dict, files: dict | None = None) -> str:
    """The form posted from the claims page; the page it comes back to, as text."""
    form = {"csrf": _csrf(browser.get("/claims").text), **data}
    answer = browser.post(path, data=form, files=files)
    assert answer.status_code == 303 and answer.headers["location"] == "/claims"
    return _text(browser.get("/claims").text)


def test_a_claim_file_is_answered_line_by_line_with_its_reasons(api):
    acme = signed_in(api, "acme")
    lines = claim_lines("ACME", "F-1", units=("200", "400"), claimed_on="2026-03-01")
    content = csv_bytes(CLAIM_COLUMNS, [[line[c] for c in CLAIM_COLUMNS] for line in lines])
    text = _send(acme, "/claims/file", {}, {"file": ("claims.csv", content)})
    # 200 units at 80 - 62 = 18 each; the second line asks past the 500 units: 300 of 400
    assert "claim F-1: 9000.00 of 10800.00 USD approved" in text
    claim = text.split("F-1 (ship and debit")[1]
    assert "accepted 200" in claim and "USD 3,600.00" in claim
    assert "adjusted 300" in claim and "USD 5,400.00" in claim


def test_a_typed_line_and_a_refused_one_say_why(api):
    acme = signed_in(api, "acme")
    line = {
        "agreement_id": "SPA-ACME",
        "sku": "V-100",
        "claim_number": "L-1",
        "invoice": "7001",
        "invoice_line": "1",
        "quantity": "10",
        "sold_on": "2026-11-10",
    }
    text = _send(acme, "/claims/line", line)
    assert "claim L-1: 180.00 of 180.00 USD approved" in text  # 10 units at 80 - 62
    assert "accepted 10" in text.split("L-1 (ship and debit")[1]
    text = _send(acme, "/claims/line", {**line, "claim_number": "L-2", "quantity": "ten"})
    assert "not received:" in text and "quantity" in text
    text = _send(acme, "/claims/line", {**line, "agreement_id": "SPA-BOLT"})
    assert "not received: no agreement SPA-BOLT" in text


def test_a_fund_claim_with_its_proof_spends_up_to_the_balance(api):
    acme = signed_in(api, "acme")
    text = _text(acme.get("/claims").text)
    # 2% of 400,000 accrued in 2026-Q1, usable for four quarters after it
    funds = text.split("Market development funds Fund")[1]
    assert "Market development fund Acme Distribution USD 8,000.00" in funds
    assert "USD 8,000.00 2027-03-31" in funds
    claim = {"fund": "mdf/ACME", "number": "M-1", "amount": "9000.00", "description": "a show"}
    text = _send(acme, "/claims/fund", claim, {"proof": ("show.pdf", PDF)})
    assert "claim M-1: 8000.00 of 9000.00 USD approved" in text
    assert "Refused USD 1,000.00 : more than the funds available" in text
    claim = {**claim, "number": "M-2"}
    text = _send(acme, "/claims/fund", claim, {"proof": ("show.pdf", b"MZ not a pdf")})
    assert "not received:" in text and "not a PDF, PNG or JPEG" in text
    text = _send(acme, "/claims/fund", {**claim, "fund": "mdf/BOLT"}, {"proof": ("a.pdf", PDF)})
    assert "not received: no partner BOLT" in text


def test_an_844_is_read_as_the_api_reads_it_and_a_broken_one_says_where(api):
    acme = signed_in(api, "acme")
    edi = CLAIM.replace("SPA-1*", "SPA-ACME*").replace("C-1~", "E-1~").replace("9001", "8001")
    text = _send(acme, "/claims/file", {}, {"file": ("claim.edi", edi.encode())})
    assert "claim E-1:" in text and "E-1 (ship and debit" in text
    broken = edi.replace("QTY*39*5*", "QTY*39*five*")
    text = _send(acme, "/claims/file", {}, {"file": ("broken.edi", broken.encode())})
    assert "not received:" in text and "broken.edi" in text
