"""Each role finishes its job in Debian's chromium, on a 390 px phone and a 1366 px laptop, and
every number the page shows is the one the books hold (read back through the API): a partner
claims ship and debit and funds; finance settles, has it approved, pays it, answers a dispute
and closes a period through the guard; the approver finds what waits and approves it; the
auditor searches the trail and traces a payout to its lines; the rep finds the closest account
and their place; the program manager reads program health and opens a program. One server for
the module; each width works on its own claims, period and settlement, so the journeys do not
lean on each other.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from apiclient import agreements_csv, claim_lines, csv_bytes, line_rows, open_api
from test_api_claims import FUND, PDF
from test_browser import _served, _sign_in, browser, closed  # noqa: F401 (the browser fixture)
from test_portal_pages import POINTS

from accrue.domain.money import readable_money
from accrue.ingest.claims import AGREEMENT_COLUMNS, CLAIM_COLUMNS
from accrue.settings import Settings

WIDTHS = (390, 1366)
# each width closes, settles and pays its own period: Q4 has not ended, so only with a reason
CLOSES = {390: ("2026-Q3", None), 1366: ("2026-Q4", "the auditors want Q4 settled now")}
per_width = pytest.mark.parametrize("width", WIDTHS)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("journeys") / "books", actor="t"))
    for program in (FUND, POINTS):
        api.ok(api.yaml("pam", "/api/programs", program))
    spa = agreements_csv(["ACME"]).replace(b"2026-06-30", b"2026-12-31")
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", spa)}), 201)
    pumps = [  # a second agreement, of two products, for the claim form's product search
        (
            "SPA-PUMPS",
            "ACME",
            "Acme Hospital",
            sku,
            "50.00",
            "40.00",
            "100",
            "2026-01-01",
            "2026-12-31",
            "60",
        )
        for sku in ("P-200", "M-300")
    ]
    sent = {"file": ("pumps.csv", csv_bytes(AGREEMENT_COLUMNS, pumps))}
    api.ok(api.post("pam", "/api/agreements", files=sent), 201)
    rows = [
        *line_rows("ACME", ["400000.00"], day="2026-02-10", prefix="Q1"),
        *line_rows("ACME", ["30000.00"], day="2026-08-04", prefix="Q3"),
        *line_rows("ACME", ["20000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9000.00"], day="2026-11-03"),
        # settled in Q1 and Q2 for the approver's and the auditor's journeys, one per width
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="C1"),
        *line_rows("CORE", ["25000.00"], day="2026-05-04", prefix="C2"),
        *line_rows("BOLT", ["15000.00"], day="2026-02-05", prefix="B1"),
        *line_rows("BOLT", ["12000.00"], day="2026-05-05", prefix="B2"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
    for period in ("2026-Q1", "2026-Q2"):
        api.ok(api.post("fin", f"/api/periods/{period}/close", json={}))
    yield from _served(api)


def _open(browser, base: str, username: str, width: int):  # noqa: F811
    page = _sign_in(browser, base, username)
    page.set_viewport_size({"width": width, "height": 800})
    return page


def _said(page) -> str:
    return page.get_by_role("status").inner_text()


def _items(api, who: str, path: str, **params) -> list[dict]:
    return api.ok(api.get(who, path, params={"limit": 500, **params}))["items"]


@per_width
def test_a_partner_claims_ship_and_debit_and_funds_and_reads_the_answers(
    site,
    browser,  # noqa: F811
    width,
    tmp_path,
):
    base, api = site
    page = _open(browser, base, "acme", width)
    page.goto(f"{base}/claims")
    lines = claim_lines("ACME", f"F-{width}", units=("100",), claimed_on="2026-03-01")
    rows = [[{**line, "invoice": f"{width}"}[c] for c in CLAIM_COLUMNS] for line in lines]
    (tmp_path / "claims.csv").write_bytes(csv_bytes(CLAIM_COLUMNS, rows))
    page.get_by_label("An X12 844, CSV or Excel file").set_input_files(tmp_path / "claims.csv")
    page.get_by_role("button", name="Send the file").click()
    [claim] = [c for c in _items(api, "acme", "/api/claims") if c["number"] == f"F-{width}"]
    approved = readable_money(claim["approved"], "USD")
    assert f"claim F-{width}: {claim['approved']} of" in _said(page)
    shown = page.locator("section.card").filter(has_text=f"F-{width}").inner_text()
    assert f"Approved {approved}" in shown and "accepted" in shown  # 100 units at 80 - 62

    (tmp_path / "show.pdf").write_bytes(PDF)
    page.get_by_label("Your claim number").nth(1).fill(f"M-{width}")
    page.get_by_label("Amount", exact=True).fill("1000.00")
    page.get_by_label("What the funds paid for").fill("a trade show booth")
    page.get_by_label("Proof of performance").set_input_files(tmp_path / "show.pdf")
    page.get_by_role("button", name="Claim the funds").click()
    assert f"claim M-{width}: 1000.00 of 1000.00 USD approved" in _said(page)
    [fund] = _items(api, "acme", "/api/funds")
    balance = page.locator("table.balances tbody tr").inner_text()
    assert readable_money(fund["available"], "USD") in balance
    assert readable_money(fund["accrued"], "USD") in balance  # 2% of 400,000 in Q1
    _fits(page)


VISIBLE = "[...document.querySelectorAll('#sku option')].filter(o => !o.hidden).map(o => o.text)"


@per_width
def test_a_partner_finds_the_product_to_claim_among_the_agreements(site, browser, width):  # noqa: F811
    base, api = site
    page = _open(browser, base, "acme", width)
    page.goto(f"{base}/claims")
    page.get_by_label("Agreement").select_option(value="SPA-PUMPS")
    assert page.evaluate(VISIBLE) == ["M-300 · Meter 300", "P-200 · Pump 200"]
    page.get_by_label("Find the product").fill("pump")
    assert page.evaluate(VISIBLE) == ["P-200 · Pump 200"]
    assert page.get_by_label("Product (SKU)").input_value() == "P-200"
    assert page.locator("#sku-count").inner_text() == "1 product"
    page.get_by_label("Find the product").fill("")
    page.get_by_label("Agreement").select_option(value="SPA-ACME")
    assert page.evaluate(VISIBLE) == ["V-100 · Valve 100"]  # only what this agreement covers
    page.get_by_label("Agreement").select_option(value="SPA-PUMPS")
    page.get_by_label("Find the product").fill("P-2")
    page.get_by_label("Your claim number").first.fill(f"P-{width}")
    page.get_by_label("Invoice and line").fill(f"INV-P-{width}")
    page.get_by_label("Units sold").fill("10")
    page.get_by_label("Sold on").fill("2026-11-02")
    page.get_by_role("button", name="Claim this line").click()
    [claim] = [c for c in _items(api, "acme", "/api/claims") if c["number"] == f"P-{width}"]
    assert claim["approved"] == "100.00"  # 10 units at 50 - 40
    assert f"claim P-{width}: 100.00 of 100.00 USD approved" in _said(page)
    _fits(page)


@per_width
def test_finance_settles_pays_answers_a_dispute_and_closes_through_the_guard(
    site,
    browser,  # noqa: F811
    width,
):
    base, api = site
    period, reason = CLOSES[width]
    if reason:  # periods close in order; Q3 closes here when this worker's site skipped 390 px
        api.post("fin", "/api/periods/2026-Q3/close", json={})  # already closed: refused
    fin = _open(browser, base, "fin", width)
    fin.goto(f"{base}/finance")
    fin.get_by_label("Period", exact=True).fill(period)
    fin.get_by_role("button", name="Review the close").click()
    if reason:  # the guard: not ended, so closed only with a reason, which the audit keeps
        assert f"{period} has not ended" in fin.get_by_role("alert").inner_text()
        fin.get_by_label("Reason to close before the end").fill(reason)
    fin.get_by_role("button", name=f"Close {period}").click()
    closed(fin, period)
    fin.get_by_role("link", name="submit them for approval on the finance page").click()

    [settled] = _items(
        api, "fin", "/api/settlements", partner_id="ACME", period=period, program_id="volume-q"
    )
    payout = readable_money(settled["payout"], "USD")
    row = fin.get_by_role("row").filter(has_text="Acme Distribution").filter(has_text=period)
    assert payout in row.inner_text()
    row.get_by_role("button", name="Submit").click()
    approver = _open(browser, base, "abe", width)
    request = approver.get_by_role("row").filter(has_text=f"settlement {settled['id']}")
    assert payout in request.inner_text()
    request.get_by_role("button", name="Approve").click()
    assert "approved" in _said(approver)

    fin.goto(f"{base}/finance")
    fin.get_by_label("Pay by").select_option("check")
    fin.get_by_role("button", name="Create payout batch").click()
    batch = re.search(r"payout batch (\d+)", _said(fin)).group(1)
    approver.goto(f"{base}/finance")
    approver.get_by_role("row").filter(has_text=f"payout batch {batch}").get_by_role(
        "button", name="Approve"
    ).click()
    fin.goto(f"{base}/finance")
    with fin.expect_download() as download:
        fin.get_by_role("link", name=f"payout-{batch}-checks.csv").click()
    paid = download.value.path().read_text()
    assert f"ACME,Acme Distribution,{settled['payout']},USD" in paid
    fin.get_by_role("button", name="Mark paid").click()
    assert f"payout batch {batch} paid" in _said(fin)

    why = f"the Gold tier is missing ({width})"
    asked = {"about": "settlement", "key": str(settled["id"]), "reason": why}
    dispute = api.ok(api.post("acme", "/api/disputes", json=asked), 201)
    fin.goto(f"{base}/finance/disputes")
    case = fin.locator("section.dispute").filter(has_text=why)
    assert payout.split(" ")[1].replace(",", "") in case.inner_text()  # the evidence beside it
    case.get_by_label("Answer").fill("Gold is reached at 50,000: the settlement is right")
    case.get_by_role("button", name="Answer dispute").click()
    [answered] = [d for d in _items(api, "fin", "/api/disputes") if d["id"] == dispute["id"]]
    assert f"dispute {dispute['id']}: {answered['status']}" in _said(fin)
    _fits(fin)


@per_width
def test_the_rep_finds_the_closest_account_and_their_place(site, browser, width):  # noqa: F811
    base, api = site
    page = _open(browser, base, "rita", width)
    [standing] = _items(api, "rita", "/api/standings", program_id="volume-q", period="2026-Q4")
    first = page.locator("table tbody tr").first.inner_text()
    assert "Bolt Supply" in first and "Quarterly volume" in first
    assert readable_money(standing["gap_needed"], "USD") in first  # 1,000 to Silver
    points = sum(s["points"] for s in _items(api, "rita", "/api/standings", program_id="club"))
    standing_text = page.get_by_role("region", name="Your standing").inner_text()
    assert f"{points:,} points this year" in standing_text
    assert "Place 1 of 1" in standing_text
    _fits(page)


@per_width
def test_the_program_manager_reads_health_and_opens_a_program(site, browser, width):  # noqa: F811
    base, api = site
    page = _open(browser, base, "pam", width)
    assert page.url.endswith("/programs")
    running = _items(api, "pam", "/api/standings", program_id="volume-q", period="2026-Q4")
    buying = [s for s in running if Decimal(s["measure"] or 0) > 0]
    qualifying = [s for s in running if s["tier_name"]]
    row = page.get_by_role("row").filter(has_text="Quarterly volume").inner_text()
    assert f"({len(buying)} of " in row and f"\t{len(qualifying)}\t" in row
    _fits(page)
    page.get_by_role("link", name="Quarterly volume").click()
    page.wait_for_url(re.compile(r"edit=volume-q"))
    assert "id: volume-q" in page.locator("textarea").input_value()


OWN_QUARTER = {390: "2026-Q1", 1366: "2026-Q2"}  # the approver's and auditor's, per width


def _settled(api, partner: str, width: int) -> dict:
    asked = {"partner_id": partner, "period": OWN_QUARTER[width], "program_id": "volume-q"}
    [found] = _items(api, "fin", "/api/settlements", **asked)
    return found


@per_width
def test_an_approver_lands_on_what_waits_and_approves_it(site, browser, width):  # noqa: F811
    base, api = site
    settled = _settled(api, "CORE", width)
    request = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    page = _open(browser, base, "amy", width)
    assert page.url.endswith("/approvals")
    row = page.get_by_role("row").filter(has_text=f"settlement {settled['id']}")
    shown = row.inner_text()
    assert readable_money(settled["payout"], "USD") in shown  # 2% of the quarter's sales
    assert f"Core Industrial · Quarterly volume · {OWN_QUARTER[width]}" in shown
    assert "Fin (fin)" in shown and "0 of 1 approval" in shown
    _fits(page)
    row.get_by_role("button", name="Approve").click()
    assert f"request {request['id']}: approved" in _said(page)
    assert api.ok(api.get("fin", f"/api/approvals/{request['id']}"))["status"] == "approved"
    mine = page.get_by_role("row").filter(has_text=f"settlement {settled['id']}")
    assert "approved level 1" in mine.inner_text()  # now under the approver's decisions
    _fits(page)


@per_width
def test_an_auditor_searches_the_trail_and_traces_a_payout(site, browser, width):  # noqa: F811
    base, api = site
    settled = _settled(api, "BOLT", width)
    asked = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{asked['id']}/approve", json={}))
    wanted = {"method": "check", "currency": "USD", "settlement_ids": [settled["id"]]}
    batch = api.ok(api.post("fin", "/api/payout-batches", json=wanted), 201)
    [release] = [
        r
        for r in _items(api, "fin", "/api/approvals")
        if r["subject"] == "payout_batch" and r["subject_id"] == batch["id"]
    ]
    api.ok(api.post("abe", f"/api/approvals/{release['id']}/approve", json={}))

    page = _open(browser, base, "aud", width)
    assert page.url.endswith("/audit")
    assert "Intact:" in _said(page)  # the seals, checked once the page showed
    page.get_by_label("About partner").select_option(label="Bolt Supply")
    page.get_by_label("Did", exact=True).select_option(label="submitted for approval")
    page.get_by_role("button", name="Show").click()
    entry = page.locator("ol.trail li").filter(has_text=f"settlement {settled['id']} ")
    assert entry.count() == 1, page.locator("main").inner_text()[:3000]
    shown = entry.inner_text()
    assert f"Fin (fin) submitted for approval settlement {settled['id']} (Bolt Supply" in shown
    assert f"Amount\t{readable_money(settled['payout'], 'USD')}" in shown
    _fits(page)
    page.get_by_label("About partner").select_option(label="any partner")
    page.get_by_label("Did", exact=True).select_option(label="approved")
    page.get_by_label("To", exact=True).select_option(label="payout batch")
    page.get_by_role("button", name="Show").click()
    page.locator("ol.trail li").filter(has_text=f"payout batch {batch['id']} ").get_by_role(
        "link", name="trace it"
    ).click()
    batch_text = " ".join(page.get_by_role("region", name="The batch").inner_text().split())
    assert f"Total {readable_money(batch['total'], 'USD')}" in batch_text
    paid = page.get_by_role("row").filter(has_text="Bolt Supply").inner_text()
    assert "Quarterly volume, version 1" in paid and OWN_QUARTER[width] in paid
    assert readable_money(settled["payout"], "USD") in paid
    _fits(page)
    page.get_by_role("row").filter(has_text="Bolt Supply").get_by_role("link").click()
    assert f"Why {readable_money(settled['amount'], 'USD')}?" in page.locator("h1").inner_text()
    assert "reproduces the settled amount" in page.locator("main").inner_text()


def _fits(page) -> None:
    """Nothing scrolls sideways at this width (wide tables scroll inside their box)."""
    scroll, width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= width, (page.url, scroll, width, page.evaluate(WIDER))


WIDER = """[...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > innerWidth)
  .map(e => `${e.tagName}#${e.id}.${e.className}`).slice(0, 10)"""
