"""Journeys in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser) against a real server on loopback. Without /usr/bin/chromium the tests skip loudly,
except under CI, which installs it (.ci/run)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from pathlib import Path

import pytest
from apiclient import (
    NOW,
    PASSWORD,
    PROGRAM,
    USERS,
    agreements_csv,
    claim_lines,
    csv_bytes,
    line_rows,
    lines_csv,
    open_api,
)
from conftest import PARTNERS, PRODUCTS
from fastapi.responses import HTMLResponse
from playwright.sync_api import expect
from pypdf import PdfReader
from serving import serving
from test_jobs import PATIENCE, ended

from accrue.api.security import PUBLIC, declared_routes, permission_of
from accrue.app.insight import Question
from accrue.app.jobs import start
from accrue.domain.permissions import Role, allows
from accrue.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("browser") / "books", actor="t"))
    rows = [
        *line_rows("ACME", ["30000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9000.00"], day="2026-11-03"),
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="Q1"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    yield from _served(api)


def _served(api):
    """`api`'s app on a loopback port, as (its address, `api`), until the module is done."""
    with serving(api.client.app, lifespan="off") as url:
        yield url, api
    api.client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
        warnings.warn(
            "BROWSER TESTS NOT RUN: no /usr/bin/chromium (apt-get install chromium)", stacklevel=1
        )
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


def _sign_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/partner")
    assert page.url.endswith("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return page


def test_a_partner_signs_in_and_sees_progress_and_the_gap(site, browser, tmp_path):
    base, _ = site
    page = _sign_in(browser, base, "acme")
    assert page.url.endswith("/partner")
    card = page.get_by_role("article").filter(has_text="Quarterly volume")
    assert "Silver" in card.inner_text() and "To the next tier" in card.inner_text()
    assert card.get_by_role("progressbar").get_attribute("value") == "60"  # 30,000 of 50,000
    assert page.evaluate("Chart.getChart(document.querySelector('canvas.history')) !== undefined")
    page.screenshot(path=tmp_path / "partner.png", full_page=True)
    assert (tmp_path / "partner.png").stat().st_size > 10_000
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")


def test_a_rep_sees_an_assigned_distributor_and_not_another(site, browser):
    base, _ = site
    page = _sign_in(browser, base, "rita")
    assert page.url.endswith("/rep")
    text = page.get_by_role("table").inner_text()
    assert "Bolt Supply" in text and "Acme" not in text and "Core" not in text


def closed(page, period: str) -> None:
    """A close runs as a job: its page says what it did once a worker has done it."""
    done = page.locator("#job-view").get_by_role("status")
    expect(done).to_contain_text(f"closed {period}", timeout=PATIENCE * 1000)


def test_finance_closes_a_period_and_a_second_person_approves_it(site, browser):
    base, api = site
    page = _sign_in(browser, base, "fin")
    page.get_by_label("Period", exact=True).fill("2026-Q1")
    page.get_by_role("button", name="Review the close").click()
    assert "Closing 2026-Q1 will" in page.get_by_role("main").inner_text()
    page.get_by_role("button", name="Close 2026-Q1").click()
    closed(page, "2026-Q1")
    settlement = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE"}))["items"][
        0
    ]
    api.ok(api.post("fin", f"/api/settlements/{settlement['id']}/submit"), 201)
    approver = _sign_in(browser, base, "abe")
    row = approver.get_by_role("row").filter(has_text=f"settlement {settlement['id']}")
    row.get_by_role("button", name="Approve").click()
    assert "approved" in approver.get_by_role("status").inner_text()
    # the payout: batched by finance, released by the approver, its file downloaded, paid
    page.goto(f"{base}/finance")
    page.get_by_label("Pay by").select_option("check")
    page.get_by_role("button", name="Create payout batch").click()
    assert "payout batch" in page.get_by_role("status").inner_text()
    approver.goto(f"{base}/finance")
    approver.get_by_role("row").filter(has_text="payout batch").get_by_role(
        "button", name="Approve"
    ).click()
    assert "approved" in approver.get_by_role("status").inner_text()
    page.goto(f"{base}/finance")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"payout-\d+-checks\.csv")).click()
    saved = download.value.path().read_text()
    assert (
        saved.startswith("check_number,partner_id") and "CORE,Core Industrial,400.00,USD" in saved
    )
    page.get_by_role("button", name="Mark paid").click()
    assert "paid" in page.get_by_role("status").inner_text()


def test_a_partner_downloads_a_pdf_statement(site, browser, tmp_path):
    base, _ = site
    page = _sign_in(browser, base, "acme")
    with page.expect_download() as download:
        page.get_by_role("link", name="Acme Distribution · 2026-Q4 (PDF)").click()
    saved = tmp_path / "statement.pdf"
    download.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "Rebate statement - Acme Distribution" in text and "period 2026-Q4" in text


def _upload_lines(page, path, rows) -> None:
    """Uploads `rows` as a lines CSV through the admin page's form."""
    path.write_text(lines_csv(rows).decode())
    page.get_by_label(
        "Sales, returns or point-of-sale lines (CSV, Excel, Parquet, JSON or X12 867)"
    ).set_input_files(path)
    page.get_by_role("button", name="Upload").click()


def _type_into(editor, text: str) -> None:
    """As a person edits: the text, then a keystroke (the live check listens to typing)."""
    editor.fill(text)
    editor.press("End")
    editor.press("Enter")


def test_a_program_edit_shows_validation_errors_live(site, browser):
    base, _ = site
    page = _sign_in(browser, base, "pam")
    page.goto(f"{base}/admin/programs?edit=volume-q")
    editor = page.get_by_label("Program (YAML, see the program language reference)")
    assert "Quarterly volume" in page.locator("#check").inner_text()  # the preview of the saved one
    _type_into(editor, PROGRAM.replace("rate: 2%", "rate: 200%"))
    page.locator("#check .error").wait_for()
    assert "tiers.0: rate 2 is outside 0%–100%" in page.locator("#check").inner_text()
    _type_into(editor, PROGRAM.replace("rate: 2%", "rate: 3%"))
    page.locator("#check .card").wait_for()
    page.get_by_role("button", name="Save as a new version").click()
    assert "saved: volume-q@v2" in page.get_by_role("status").inner_text()


def test_an_upload_with_bad_rows_shows_them_and_the_correction_goes_through(
    site, browser, tmp_path
):
    base, _ = site
    page = _sign_in(browser, base, "fin")
    page.goto(f"{base}/admin/uploads")
    rows = line_rows("CORE", ["100.00", "12,50", "300.00"], day="2026-11-10", prefix="UP")
    rows[1]["amount"] = "12,50"
    _upload_lines(page, tmp_path / "november.csv", rows)
    assert "3 received, 2 accepted" in page.get_by_role("status").inner_text()
    assert "12,50" in page.get_by_role("table").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these rows to correct").click()
    fixed = tmp_path / "fixed.csv"
    download.value.save_as(fixed)
    fixed.write_text(fixed.read_text().replace('"12,50"', "12.50").replace("12,50", "12.50"))
    page.get_by_label(
        "Sales, returns or point-of-sale lines (CSV, Excel, Parquet, JSON or X12 867)"
    ).set_input_files(fixed)
    page.get_by_role("button", name="Upload").click()
    assert "1 received, 1 accepted" in page.get_by_role("status").inner_text()


# --- stored script (issue 17, item 8): a payload in every field a user controls runs nowhere ---

# each sets the flag `pwned` on the window if it runs, and opens a dialog
SCRIPT = (
    "</script><script>pwned=alert(4)</script><img src=x onerror=pwned=alert(5)>"
    "\"'><svg onload=pwned=alert(6)>"
)
KEY_SCRIPT = "</script><script>pwned=alert(4)</script>"  # fits an identifier (64 at most)


def _hostile(text: str, payload: str = SCRIPT) -> str:
    """`text` with the payload in it, so a page shows where it came from."""
    return f"{text} {payload}"


def _yaml(text: str) -> str:
    """`text` as a YAML scalar (a JSON string is one)."""
    return json.dumps(text)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    """Books whose every user-controlled text carries a script: partners (name, segment,
    region), products, reps, programs (name, description, tier), users, batches (and the
    file a job imported), lines, agreements and claims (number, end customer), disputes
    (reason, resolution), approvals (a rejection's reason, a payout batch waiting), and so
    the notifications that name them."""
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("hostile") / "books", actor="t"))
    partners = [
        (
            p.id,
            _hostile(p.name),
            p.parent_id or "",
            _hostile(p.segment or "Bronze", KEY_SCRIPT),
            _hostile("NA", KEY_SCRIPT),
        )
        for p in PARTNERS
    ]
    products = [
        (p.sku, _hostile(p.name), _hostile(p.category), _hostile(p.product_line)) for p in PRODUCTS
    ]
    for kind, header, rows in (
        ("partners", ("id", "name", "parent_id", "segment", "region"), partners),
        ("products", ("sku", "name", "category", "product_line"), products),
        ("reps", ("rep_id", "name", "partner_id"), [("R1", _hostile("Rita"), "BOLT")]),
    ):
        content = csv_bytes(header, rows)
        api.ok(api.post("ada", f"/api/master/{kind}", files={"file": (f"{kind}.csv", content)}))
    program = (
        PROGRAM.replace("Quarterly volume", _yaml(_hostile("Quarterly volume")))
        .replace("{name: Silver,", f"{{name: {_yaml(_hostile('Silver'))},")
        .replace("period: quarter", f"period: quarter\ndescription: {_yaml(_hostile('Why'))}")
    )
    api.ok(api.yaml("pam", "/api/programs", program))
    user = {"username": "eve", "name": _hostile("Eve"), "role": "finance", "password": PASSWORD}
    api.ok(api.post("ada", "/api/users", json=user), 201)
    rows = [
        *line_rows("ACME", ["30000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9000.00"], day="2026-11-03"),
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="Q1"),
        *line_rows("ACME", ["30000.00"], day="2026-02-05", prefix="Q1"),
    ]
    for row in rows:
        row["document"] = _hostile(row["document"], KEY_SCRIPT)
    api.ok(api.post("fin", "/api/lines", json={"name": _hostile("history"), "lines": rows}), 201)
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    [settled] = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE"}))["items"]
    request = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    api.ok(
        api.post("abe", f"/api/approvals/{request['id']}/reject", json={"reason": _hostile("no")})
    )
    about = {"about": "settlement", "key": str(settled["id"]), "reason": _hostile("missing")}
    dispute = api.ok(api.post("fin", "/api/disputes", json=about), 201)
    resolution = {"resolution": _hostile("booked elsewhere"), "adjustment": "5.00"}
    api.ok(api.post("fin", f"/api/disputes/{dispute['id']}/resolve", json=resolution))
    customer = _hostile("Acme Hospital")
    header, *spa = csv.reader(io.StringIO(agreements_csv(["ACME"]).decode()))
    agreements = csv_bytes(
        header, [[customer if c == "Acme Hospital" else c for c in r] for r in spa]
    )
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements)}), 201)
    claimed = claim_lines("ACME", _hostile("C-1", KEY_SCRIPT))
    for line in claimed:
        line["end_customer"] = customer
    api.ok(api.post("fin", "/api/claims/lines", json={"lines": claimed}), 201)
    api.ids = {
        "program_id": "volume-q",
        "batch_id": _payout_waiting(api, "ACME")["id"],
        "job_id": _imported_by_a_job(api)["id"],
        "analysis_id": _analysed_by_a_job(api),
    }
    yield from _served(api)


def _payout_waiting(api, partner: str) -> dict:
    """A payout batch of `partner`'s approved settlement, waiting for its own approval."""
    [settled] = api.ok(api.get("fin", "/api/settlements", params={"partner_id": partner}))["items"]
    request = api.ok(api.post("fin", f"/api/settlements/{settled['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    asked = {"method": "credit_memo", "currency": "USD"}
    return api.ok(api.post("fin", "/api/payout-batches", json=asked), 201)


def _analysed_by_a_job(api) -> int:
    """The analytics page's background job, done (its status shows no text a user chose)."""
    job = start(api.books.acting_as("pam"), "analytics", Question(NOW.date()).params())
    done = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), job.id)
    assert done["status"] == "done", done["error"]
    return job.id


def _answered(page) -> None:
    """An analytics page once the answer shows: its background job done, HTMX reloaded it
    (a page with no analysis job polling, such as a finished job's status, is left as is)."""
    if page.locator("#analysis[hx-get]").count():
        page.locator("#answer").wait_for(state="attached", timeout=PATIENCE * 1000)


def _imported_by_a_job(api):
    """A lines file imported by the server's background job (an upload's name is made safe
    on arrival, so the job's row shows no text a user chose)."""
    content = lines_csv(line_rows("BOLT", ["100.00"], day="2026-11-05", prefix="LATE"))
    sent = {"file": ("late.csv", content)}
    job = api.ok(api.post("fin", "/api/jobs/import-lines", files=sent), 202)
    done = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), job["id"])
    assert done["status"] == "done", done["error"]
    return done


def _watched(page) -> list[str]:
    """What went wrong on `page` from now on: a dialog opened (a script ran), an uncaught
    error, or a console error (a refusal by the Content-Security-Policy among them)."""
    seen: list[str] = []

    def dialog(opened):
        seen.append(f"dialog: {opened.message}")
        opened.dismiss()

    page.on("dialog", dialog)
    page.on("pageerror", lambda error: seen.append(f"error: {error}"))
    page.on("console", lambda m: m.type == "error" and seen.append(f"console: {m.text}"))
    return seen


ROLES = ("ada", "pam", "fin", "abe", "aud", "acme", "rita")  # one person of each role
# the same pages narrowed or filled in, as staff open them
STAFF_VARIANTS = (
    "/partner?show=CORE",
    "/admin/programs?edit=volume-q",
    "/audit?partner=ACME&who=fin&since=2026-01-01",
    "/finance/close?period=2026-Q4",
    "/analytics?program=volume-q&other=volume-q&baseline=2026-Q4&period=2026-Q4",
)
SHOWING_NO_TEXT = {  # forms, figures, ids and counts: no page of these shows what users wrote
    "/admin/master",
    "/admin/uploads",
    "/audit/verified",
    "/finance/close",
    "/jobs",
    "/jobs/{job_id}",
    "/jobs/{job_id}/status",
    "/jobs/{job_id}/view",
    "/analytics/jobs/{analysis_id}",
    "/notifications/preferences",
}


def _html_pages(app, role) -> list[str]:
    """Every page the portal answers a GET with as HTML that `role` may see, as templates."""
    return [
        r.path
        for r in declared_routes(app)
        if "GET" in r.methods
        and r.original_route.response_class is HTMLResponse
        and permission_of(r.original_route) not in (None, PUBLIC)
        and allows(role, permission_of(r.original_route))
    ]


def _visited(api, username: str) -> list[tuple[str, str]]:
    """What `username` visits, as (template, path): every page of their role (ids filled from
    the books, a settlement they may see), and as staff the same pages narrowed; analytics
    last, to check its charts."""
    role = USERS[username][0]
    seen = api.get(username, "/api/settlements").json().get("items", [])
    ids = {**api.ids, "settlement_id": seen[0]["id"] if seen else None}
    paths = [(p, p.format(**ids)) for p in _html_pages(api.client.app, role)]
    if role is Role.ADMIN:
        paths += [(p.partition("?")[0], p) for p in STAFF_VARIANTS]
    return sorted(paths, key=lambda p: p[0] == "/analytics")


def test_a_script_planted_in_any_field_runs_on_no_page(hostile_site, browser):
    """Every page of every role, in one browser: none runs a script, each forbids inline
    ones, and each (but forms and counts) shows some planted text to someone."""
    base, api = hostile_site
    showing: dict[str, bool] = {}
    for username in ROLES:
        page = _sign_in(browser, base, username)
        problems = _watched(page)
        for template, path in _visited(api, username):
            response = page.goto(base + path)
            page.wait_for_load_state("networkidle")
            _answered(page)
            assert response.status == 200, (username, path)
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert problems == [], (username, path)
            assert page.evaluate("'pwned' in window") is False, (username, path)
            shown = "alert(4)" in page.locator("body").inner_text()
            showing[template] = showing.get(template, False) or shown
        if username == "ada":  # the charts are drawn from data, under the policy
            assert page.evaluate("Chart.getChart(document.querySelector('canvas.calibration'))")
        page.close()
    assert len(showing) >= 20
    assert {t for t, shown in showing.items() if not shown} == SHOWING_NO_TEXT


def test_a_script_in_a_rejected_row_or_a_live_check_runs_nowhere(hostile_site, browser, tmp_path):
    base, _ = hostile_site
    page = _sign_in(browser, base, "ada")
    problems = _watched(page)
    page.goto(f"{base}/admin/uploads")
    rows = line_rows("CORE", [SCRIPT], day="2026-11-10", prefix=SCRIPT)
    _upload_lines(page, tmp_path / "bad.csv", rows)
    assert "alert(4)" in page.get_by_role("table").inner_text()
    page.goto(f"{base}/admin/programs?edit=volume-q")
    editor = page.get_by_label("Program (YAML, see the program language reference)")
    _type_into(editor, PROGRAM.replace("Quarterly volume", _yaml(SCRIPT)))
    page.locator("#check .card").filter(has_text="alert(4)").wait_for()
    _type_into(editor, PROGRAM.replace("rate: 2%", f"rate: {_yaml(SCRIPT)}"))
    page.locator("#check .error").wait_for()
    assert problems == []


# --- every role's landing page fits a phone and a laptop, and names what it shows (issue 16) ---

LANDINGS = {  # each user's landing page first, then the other pages they use
    "acme": ("/partner", "/claims", "/rules", "/rules/volume-q"),
    "rita": ("/rep", "/claims"),
    "fin": ("/finance", "/finance/disputes"),
    "abe": ("/approvals", "/finance"),
    "aud": ("/audit", "/finance"),
    "pam": ("/programs", "/analytics?program=volume-q&baseline=2026-Q4&period=2026-Q4&after=2026"),
    "ada": ("/finance",),
}
WIDTHS = (390, 1366)
# ids that have a name: the partners', the program's and the rep's
RAW_IDS = re.compile(r"\b(ACME(?:-\d)?|BOLT|CORE|volume-q|R1)\b")


@pytest.mark.parametrize(("username", "paths"), LANDINGS.items())
def test_each_landing_page_fits_both_widths_and_shows_names_not_ids(site, browser, username, paths):
    base, _ = site
    page = _sign_in(browser, base, username)
    assert page.url.endswith(paths[0])
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            _answered(page)
            overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert overflow[0] <= overflow[1], (path, width, overflow)
            shown = page.locator("body").inner_text()
            assert RAW_IDS.findall(shown) == [], (path, width)
    page.close()
