"""Each role's landing page answers its question at a glance, with the numbers the books hold:
the partner's totals and best next moves, finance's liability and what waits, the period
close through its confirmation, disputes, the rep's accounts and standing, program health."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape

import pytest
from apiclient import ended, open_api
from fastapi.testclient import TestClient
from pypdf import PdfReader
from test_api_claims import FUND as API_FUND
from test_portal import _csrf, signed_in

from accrue.settings import Settings

FUND = API_FUND.replace("expires_after: 4", "expires_after: 1")
POINTS = """
id: club
name: Partner club
kind: points
effective: {from: 2026-01-01, to: 2026-12-31}
period: year
points: {per_amount: 100, points: 1}
tiers: [{name: Member, from: 0, points: 0}, {name: Elite, from: 100000, points: 5000}]
"""
YEARLY = """
id: growth-y
name: Yearly growth
effective: {from: 2026-01-01, to: 2026-12-31}
period: year
measure: amount
tiers: [{name: Base, from: 10000, rate: 1%}, {name: Top, from: 60000, rate: 3%}]
caps: {budget_per_period: 5000}
"""


def _text(html: str) -> str:
    """A page's words without its markup, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from apiclient import line_rows

    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("pages") / "books", actor="t"))
    for program in (FUND, POINTS, YEARLY):
        api.ok(api.yaml("pam", "/api/programs", program))
    rows = [
        *line_rows("ACME", ["12000.00"], day="2026-02-10", prefix="Q1"),
        *line_rows("ACME", ["30000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9000.00"], day="2026-11-03"),
        *line_rows("BOLT", ["5000.00"], day="2026-08-03", prefix="Q3"),
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="Q1"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
    for period in ("2026-Q1", "2026-Q2", "2026-Q3"):
        api.ok(api.post("fin", f"/api/periods/{period}/close", json={}))
    yield api
    api.client.__exit__(None, None, None)


def test_the_partner_sees_totals_best_moves_and_cards_by_period_kind(api):
    text = _text(signed_in(api, "acme").get("/partner").text)
    # Q4: 30,000 at Silver (2%) = 600.00; the year: 42,000 at Base (1%) = 420.00
    assert "Earned this period USD 1,020.00" in text
    # Q1's settlement (12,000 at 2% = 240.00) is closed and not yet approved; nothing paid
    assert "Pending approval USD 240.00" in text and "Paid USD 0.00" in text
    assert "Next payment 2027-01-01 when 2026 and 2026-Q4 close" in text
    moves = text.split("Best next moves")[1].split("Quarterly programs")[0]
    # Top: 18,000 to go adds 1,800 - 420 (0.077 a dollar); Gold: 20,000 adds 1,400 (0.07);
    # money first, then points
    assert "Yearly growth (Acme Distribution, 2026) : USD 18,000.00 to go" in moves
    assert "+USD 1,380.00" in moves and "+USD 1,400.00" in moves
    assert moves.index("Yearly growth") < moves.index("Quarterly volume") < moves.index("club")
    assert "Quarterly programs · 2026-Q4" in text and "Yearly programs · 2026" in text
    assert "this period" not in text.split("Best next moves")[1]
    # points as points, the fund as its balance and expiry
    assert "Earned so far 420 points" in text
    assert "USD 420.00 points" not in text and "Tier 1" not in text
    assert "Available to claim USD 600.00" in text and "Expires after 2027-03-31" in text
    assert "(ACME)" not in text


def test_finance_sees_the_liability_by_program_name_and_submits_settlements(api):
    finance = signed_in(api, "fin")
    html = finance.get("/finance").text
    text = _text(html)
    books = api.ok(api.get("fin", "/api/ledger/liability", params={"by": "program_id"}))["items"]
    owed = {r["program_id"]: r["outstanding"] for r in books}
    # Quarterly volume: Q1 settled (240 + 400), Q4 open (ACME 600; BOLT under Silver)
    assert owed["volume-q"] == "1240.00"
    assert "Quarterly volume USD 600.00 USD 640.00" in text and "USD 1,240.00" in text
    assert "volume-q" not in text
    assert "2 settlements to submit for approval" in text
    assert "Core Industrial Quarterly volume 2026-Q1 USD 400.00" in text
    csv = finance.get("/finance/exports/liability.csv")
    assert csv.status_code == 200
    assert "volume-q,Quarterly volume,USD,600.00,640.00,1240.00" in csv.text
    excel = finance.get("/finance/exports/to-submit.xlsx")
    assert excel.content.startswith(b"PK")
    assert finance.get("/finance/exports/secrets.csv").status_code == 404
    csrf = _csrf(html)
    settled = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE"}))["items"]
    [core] = [s for s in settled if s["payout"] != "0.00"]
    one = finance.post(
        "/finance/settlements/submit", data={"one": core["id"], "csrf": csrf}, follow_redirects=True
    )
    assert "1 settlement(s) submitted" in one.text
    waiting = _text(signed_in(api, "abe").get("/finance").text)
    assert f"settlement {core['id']} Core Industrial · Quarterly volume · 2026-Q1" in waiting
    assert "1 settlements to submit for approval" in _text(one.text)
    every = finance.post(
        "/finance/settlements/submit", data={"every": "true", "csrf": csrf}, follow_redirects=True
    )
    assert "1 settlement(s) submitted" in every.text
    assert "No closed settlement waits to be submitted" in every.text
    assert "0 settlements to submit" in _text(every.text)


def test_a_partner_disputes_a_statement_line_and_finance_answers_beside_its_trace(api):
    partner = signed_in(api, "acme")
    html = partner.get("/claims").text
    choice = "Quarterly volume · Acme Distribution · 2026-Q1 · payout USD 240.00"
    line = re.search(rf'<option value="(settlement:\d+)">{choice}</option>', html).group(1)
    assert "Quarterly volume · Core Industrial" not in html  # another partner's: not offered
    opened = partner.post(
        "/claims/disputes",
        data={"line": line, "reason": "an invoice of 2,500 is missing", "csrf": _csrf(html)},
        follow_redirects=True,
    )
    assert "opened: finance will answer it" in opened.text
    finance = signed_in(api, "fin")
    page = finance.get("/finance/disputes").text
    text = _text(page)
    assert "Acme Distribution · Quarterly volume · 2026-Q1" in text
    assert "an invoice of 2,500 is missing" in text
    assert "Recomputed from the lines 240.00 (reproduces the settlement)" in text
    assert "Q1-ACME-1 USD 12,000.00 USD 240.00" in text  # the line and its share
    dispute = re.search(r'action="/finance/disputes/(\d+)"', page).group(1)
    for typed, why in (("NaN", "is not a finite number"), ("1E400", "is too large")):
        refused = finance.post(
            f"/finance/disputes/{dispute}",
            data={"resolution": "pay it", "adjustment": typed, "csrf": _csrf(page)},
            follow_redirects=True,
        )
        assert f"dispute {dispute}: adjustment '{typed}' {why}" in unescape(refused.text)
    answered = finance.post(
        f"/finance/disputes/{dispute}",
        data={"resolution": "the invoice is in Q2", "adjustment": "", "csrf": _csrf(page)},
        follow_redirects=True,
    )
    assert f"dispute {dispute}: dismissed" in answered.text
    assert "No dispute is open" in answered.text and "the invoice is in Q2" in answered.text
    assert signed_in(api, "acme").get("/finance/disputes").status_code == 403


def test_the_rep_sees_their_level_place_and_accounts_with_the_most_within_reach_first(api):
    rep = signed_in(api, "rita")
    text = _text(rep.get("/rep").text)
    # BOLT, Rita's only account, bought 14,000 in 2026: 140 club points, 360 short of Bronze
    assert "Your level Associate · 140 points this year" in text
    assert "360 points to Bronze" in text and "Place 1 of 1" in text
    assert "1. Rita Alvarez · 140 points" in text
    table = text.split("To the next tier Reaching it pays")[1]
    # Silver: 1,000 to go adds 200 (0.2 a dollar) before the year's Top: 46,000 adds 1,660
    order = [table.index(n) for n in ("Quarterly volume", "Yearly growth", "Partner club")]
    assert order == sorted(order)
    assert "USD 1,000.00 USD 200.00" in table and "USD 140.00" not in table
    found = _text(rep.get("/rep", params={"q": "bolt growth"}).text)
    assert "Yearly growth" in found.split("To the next tier")[1]
    assert "Quarterly volume 2026-Q4" not in found
    exported = rep.get("/rep/accounts.csv", params={"program": "Partner club"}).text
    assert exported.splitlines() == [
        "distributor,program,period,tier,to_next_tier,reaching_it_pays",
        'Bolt Supply,Partner club,2026,Member,"USD 86,000.00","6,000 points"',
    ]


def _row(html: str, starting: str) -> str:
    """The words of the table row whose first cell starts with `starting`."""
    return next(
        _text(r).strip() for r in html.split("<tr>") if _text(r).strip().startswith(starting)
    )


def test_the_program_manager_reads_every_programs_health_against_the_books(api):
    browser = signed_in(api, "pam")
    assert browser.get("/").headers["location"] == "/programs"
    html = browser.get("/programs").text
    assert 'href="/admin/programs?edit=volume-q">Quarterly volume</a>' in html
    # Q4: ACME and BOLT of 3 enrolled tops buy; ACME qualifies (600.00 on 39,000 bought);
    # the partners who disputed (ACME, when the dispute test ran first on these books) of the
    # 3 partners the program ever had
    disputes = api.ok(api.get("fin", "/api/disputes", params={"program_id": "volume-q"}))
    disputed = len({d["partner_id"] for d in disputes["items"]})
    rate = f"{Decimal(100 * disputed) / 3:.1f}% ({disputed})"
    assert _row(html, "Quarterly volume") == (
        f"Quarterly volume rebate 2026-Q4 66.7% (2 of 3) 1 USD 600.00 1.5% no budget {rate} —"
    )  # nothing paid yet: no payment timeliness
    standings = api.ok(api.get("fin", "/api/standings", params={"program_id": "growth-y"}))
    projected = sum(Decimal(s["projected_amount"] or s["amount"]) for s in standings["items"])
    # the year: ACME 420.00, BOLT 140.00, CORE 200.00 = 760.00 of a 5,000.00 budget
    growth = _row(html, "Yearly growth")
    assert "USD 253.33" in growth and f"15.2% / {projected / 50:.1f}%" in growth
    club = _row(html, "Partner club")
    assert "points" in club and "USD" not in club


def test_a_period_closes_through_a_confirmation_and_early_only_with_a_reason(api):
    finance = signed_in(api, "fin")
    html = finance.get("/finance/close", params={"period": "2026-Q4"}).text
    text = _text(html)
    assert "2026-Q4 has not ended: it ends on 2026-12-31" in text
    # ACME's 30,000 (600.00 at Silver); BOLT's 9,000 and CORE, nothing
    assert "Quarterly volume 3 USD 600.00" in text
    # BOLT's Q3 funds (100.00) are usable to 2026-12-31: an early close leaves them
    assert "No fund expires" in text
    through_api = api.post("fin", "/api/periods/2026-Q4/close", json={})
    assert through_api.status_code == 409 and "unless forced with a reason" in through_api.text
    csrf = _csrf(html)
    refused = finance.post(
        "/finance/close", data={"label": "2026-Q4", "csrf": csrf}, follow_redirects=True
    )
    assert "unless forced with a reason" in refused.text and "Close 2026-Q4" in refused.text
    reason = "year-end audit needs Q4 settled before the holidays"
    queued = finance.post(
        "/finance/close", data={"label": "2026-Q4", "csrf": csrf, "force_reason": reason}
    )
    job_id = int(queued.headers["location"].removeprefix("/jobs/"))
    closed = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), job_id)
    assert closed["result"]["summary"].startswith("closed 2026-Q4: 3 settlements")
    audit = api.ok(api.get("aud", "/api/audit", params={"entity": "period", "key": "2026-Q4"}))
    [entry] = audit["items"]
    assert entry["actor"] == "fin" and reason in entry["after"]
    funds = api.ok(api.get("fin", "/api/funds", params={"partner_id": "BOLT"}))["items"]
    [bolt] = [f for f in funds if f["program_id"] == "mdf"]
    assert bolt["expired"] == "0.00" and bolt["available"] == "280.00"  # Q3 100 + Q4 180


def test_unknown_pages_and_bad_links_answer_as_pages_with_the_navigation(api):
    finance = signed_in(api, "fin")
    lost = finance.get("/finance/nowhere")
    assert lost.status_code == 404 and lost.headers["content-type"].startswith("text/html")
    assert "no page /finance/nowhere" in lost.text and 'href="/finance">Finance</a>' in lost.text
    wrong = finance.get("/finance/close", params={"period": "last quarter"})
    assert wrong.status_code == 400 and "cannot use what was sent (period)" in wrong.text
    assert "<nav" in wrong.text
    for link in ("/why/99999999999999999999", "/audit/payouts/99999999999999999999"):
        huge = finance.get(link)  # past the records' 32-bit ids: a bad link, not a 500
        assert huge.status_code == 400 and "<nav" in huge.text, link
    huge = signed_in(api, "ada").get("/audit", params={"before": "99999999999999999999"})
    assert huge.status_code == 400 and "<nav" in huge.text
    not_here = finance.put("/finance")
    assert not_here.status_code == 405 and "<nav" in not_here.text
    anonymous = TestClient(api.client.app).get("/nowhere")
    assert anonymous.status_code == 404 and 'href="/login">Sign in</a>' in anonymous.text
    program = finance.get("/api/v1/nowhere")
    assert program.status_code == 404 and program.json()["error"]["status"] == 404
    invalid = api.get("fin", "/api/v1/standings", params={"limit": "many"})
    assert invalid.status_code == 422 and invalid.json()["error"]["status"] == 422


def test_a_partner_reads_the_rules_of_each_program_it_is_in_and_prints_them(api):
    acme = signed_in(api, "acme")
    text = _text(acme.get("/rules").text)
    assert "Yearly growth" in text and "Quarterly volume" in text and "Partner club" in text
    page = _text(acme.get("/rules/growth-y").text)
    # tiers at 10,000 (1%) and 60,000 (3%): a typical year halfway between them
    assert "a typical year : measure USD 35,000.00 → Base, earns USD 350.00" in page
    assert "USD 25,000.00 more reaches Top, which pays USD 1,800.00" in page
    assert "just below Base : measure USD 9,000.00 → no tier" in page
    pdf = acme.get("/rules/growth-y.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "a typical year: measure USD 35,000.00 -> Base, earns USD 350.00" in words
    assert "page 1 of 1" in words
    assert acme.get("/rules/nowhere").status_code == 404


def test_each_card_links_to_its_programs_rules(api):
    page = signed_in(api, "acme").get("/partner").text
    assert '<a href="/rules/growth-y">the rules</a>' in page
