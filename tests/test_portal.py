"""The portal with the API's rules: every page and action against every role (signed in with
the login form, in a session cookie), nothing outside a partner's or rep's scope rendered,
forms refused without the session's CSRF token, finance acting from the page."""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal

import pytest
from apiclient import PASSWORD, USERS, agreements_csv, claim_lines, ended, line_rows, open_api
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from accrue.analytics.lift import lift
from accrue.analytics.simulation import simulate
from accrue.api.security import PUBLIC, declared_routes, permission_of
from accrue.domain.money import readable_money
from accrue.domain.permissions import allows
from accrue.settings import Settings
from accrue.store.tables import AuditRow
from accrue.web.formats import percent

CALLERS = ["ada", "pam", "fin", "abe", "aud", "acme", "acme1", "bolt", "rita"]
SCOPE_IDS = re.compile(r"\b(ACME(?:-\d)?|BOLT|CORE)\b")
SEEN = {
    "acme": {"ACME", "ACME-1", "ACME-2", "ACME-3", "ACME-4"},
    "acme1": {"ACME-1"},
    "bolt": {"BOLT"},
    "rita": {"BOLT"},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("portal") / "books", actor="t"))
    rows = [
        *line_rows("ACME", ["30000.00"], day="2026-11-02"),
        *line_rows("BOLT", ["9000.00"], day="2026-11-03"),
        *line_rows("CORE", ["55000.00"], day="2026-11-04"),
        *line_rows("CORE", ["20000.00"], day="2026-02-04", prefix="Q1"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    yield api
    api.client.__exit__(None, None, None)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def signed_in(api, username: str) -> TestClient:
    """A browser of its own (its own cookies) signed in through the login form."""
    browser = TestClient(api.client.app, follow_redirects=False)
    form = browser.get("/login")
    answer = browser.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": _csrf(form.text)}
    )
    assert answer.status_code == 303, answer.text
    return browser


# seconds an analysis job gets to end before the test says it never did: only against a hang,
# never a measure of speed
PATIENCE = 600
ANALYSIS_JOB = re.compile(r'hx-get="/analytics/jobs/(\d+)"')


def analysed(browser: TestClient, params: dict | None = None):
    """The analytics page once the background job it started (if any) has worked out its
    answer: its progress polled as the page does, until it stops polling."""
    answer = browser.get("/analytics", params=params)
    working = ANALYSIS_JOB.search(answer.text)
    if working:
        polled(browser, f"/analytics/jobs/{working.group(1)}")
        answer = browser.get("/analytics", params=params)
    return answer


def polled(browser: TestClient, path: str):
    """A job's progress at `path`, asked for again and again until it no longer polls."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        answer = browser.get(path)
        if "hx-get" not in answer.text:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"{path} still polling after {PATIENCE} s")


def _pages(api):
    return [r for r in declared_routes(api.client.app) if not r.path.startswith("/api/")]


def test_every_page_and_action_follows_the_policy_for_every_role(api):
    pages = _pages(api)
    assert {r.path for r in pages} >= {
        "/login",
        "/logout",
        "/",
        "/partner",
        "/rep",
        "/finance",
        "/finance/close",
    }
    for username in CALLERS:
        browser = signed_in(api, username)
        csrf = _csrf(browser.get("/login").text)
        for route in pages:
            permission = permission_of(route)
            if permission == PUBLIC or route.path == "/logout":
                continue
            [method] = route.methods
            home = {"acme": "ACME", "acme1": "ACME-1", "bolt": "BOLT", "rita": "BOLT"}.get(
                username, "ACME"
            )
            path = route.path.replace("{request_id}", "999999").replace("{partner_id}", home)
            path = path.replace("{settlement_id}", "999999").replace("{batch_id}", "999999")
            path = path.replace("{name}", "nothing.csv")
            path = path.replace("{period}", "2026-Q4")
            answer = browser.request(
                method, path, data={"csrf": csrf} if method == "POST" else None
            )
            refused = answer.status_code == 403
            assert refused != allows(USERS[username][0], permission), (
                username,
                path,
                answer.status_code,
            )
            if refused:
                assert "may not see this page" in answer.text


def test_nothing_outside_the_scope_renders(api):
    for username, scope in SEEN.items():
        browser = signed_in(api, username)
        for path in ("/partner", "/rep", "/", "/notifications"):
            answer = browser.get(path, follow_redirects=True)
            if answer.status_code == 200:
                named = set(SCOPE_IDS.findall(answer.text))
                assert named <= scope, (username, path, named - scope)
    acme = signed_in(api, "acme").get("/partner").text
    assert "Quarterly volume" in acme and "Silver" in acme and "<progress" in acme
    assert "To the next tier" in acme and "USD 20,000.00" in acme  # 30,000 of 50,000 for Gold
    assert "Reaching it pays" in acme
    rep = signed_in(api, "rita").get("/rep").text
    assert "Bolt Supply" in rep and "Acme" not in rep and "Core" not in rep


def test_anonymous_visitors_are_sent_to_sign_in_and_bad_logins_say_so(api):
    browser = TestClient(api.client.app, follow_redirects=False)
    for path in ("/", "/partner", "/finance"):
        assert browser.get(path).headers["location"] == "/login"
    form = browser.get("/login")
    wrong = browser.post(
        "/login", data={"username": "acme", "password": "nope", "csrf": _csrf(form.text)}
    )
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    cookie = form.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_a_wrong_link_gets_a_page_and_a_wrong_api_path_json(api):
    browser = TestClient(api.client.app)
    lost = browser.get("/no-such-page")
    assert lost.status_code == 404 and lost.headers["content-type"].startswith("text/html")
    assert "no page /no-such-page" in lost.text and 'href="/"' in lost.text
    wrong = browser.get("/api/v1/no-such-list")
    assert wrong.status_code == 404 and wrong.json()["error"]["status"] == 404


def test_forms_without_the_sessions_csrf_token_are_refused(api):
    browser = TestClient(api.client.app, follow_redirects=False)
    browser.get("/login")
    forged = browser.post(
        "/login", data={"username": "acme", "password": PASSWORD, "csrf": "forged"}
    )
    assert forged.status_code == 403 and "expired" in forged.text
    finance = signed_in(api, "fin")
    assert finance.post("/finance/close", data={"label": "2026-Q1"}).status_code == 403
    assert finance.post("/logout", data={}).status_code == 403
    assert finance.get("/finance").status_code == 200  # still signed in


def test_finance_closes_a_period_and_a_second_person_approves_from_the_page(api):
    finance = signed_in(api, "fin")
    csrf = _csrf(finance.get("/finance").text)
    queued = finance.post("/finance/close", data={"label": "2026-Q1", "csrf": csrf})
    job_id = int(queued.headers["location"].removeprefix("/jobs/"))
    closed = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), job_id)
    assert closed["result"]["summary"].startswith("closed 2026-Q1: ")
    settlement = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE"}))["items"][
        0
    ]
    request = api.ok(api.post("fin", f"/api/settlements/{settlement['id']}/submit"), 201)
    mine = finance.post(
        f"/finance/approvals/{request['id']}",
        data={"decision": "approve", "csrf": csrf},
        follow_redirects=True,
    )
    assert "prepared" in mine.text  # no one approves their own work
    approver = signed_in(api, "abe")
    page = approver.get("/finance").text
    assert f"settlement {settlement['id']}" in page
    done = approver.post(
        f"/finance/approvals/{request['id']}",
        data={"decision": "approve", "csrf": _csrf(page)},
        follow_redirects=True,
    )
    assert f"request {request['id']}: approved" in done.text
    auditor = signed_in(api, "aud").get("/finance").text
    assert "Approve" not in auditor and "Close a period" not in auditor


def test_master_data_imported_in_the_portal_recalculates_or_says_why_not(api):
    pam = signed_in(api, "pam")
    csrf = _csrf(pam.get("/admin/master").text)

    def sent(kind: str, content: bytes) -> str:
        form = {"kind": kind, "csrf": csrf}
        answer = pam.post("/admin/master", data=form, files={"file": ("m.csv", content)})
        return pam.get(answer.headers["location"]).text

    rates = b"valid_from,from_currency,to_currency,rate\n2026-01-01,USD,EUR,0.9\n"
    assert re.search(r"batch \d+: 1 fx rows, 1 new or changed.*recalculated all", sent("fx", rates))
    assert "not imported: unknown master data &#39;lines&#39;" in sent("lines", rates)
    assert "not imported: " in sent("partners", b"id,name\n")


def test_a_partner_downloads_a_pdf_statement_and_cannot_fetch_anothers(api):
    browser = signed_in(api, "acme")
    page = browser.get("/partner").text
    assert "/statements/ACME/2026-Q4.pdf" in page
    pdf = browser.get("/statements/ACME/2026-Q4.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Rebate statement - Acme Distribution" in text and "period 2026-Q4" in text
    # 2% of 30,000 in Q4's standing, by program and partner name, the measure as money
    standing = "Quarterly volume Acme Distribution 2026-Q4 Silver USD 30,000.00 USD 600.00"
    assert standing in text and "volume-q" not in text
    assert "Quarterly volume (USD) USD 600.00 USD 0.00 USD 0.00 USD 0.00" in text  # totals
    assert "Valves 1 1 USD 30,000.00" in text  # the line summary
    assert "page 1 of 1" in text
    assert "BOLT" not in text and "CORE" not in text
    assert browser.get("/statements/BOLT/2026-Q4.pdf").status_code == 404
    assert browser.get("/statements/ACME/2026-Q9.pdf").status_code == 404


def test_why_this_amount_for_the_partner_it_concerns_and_staff_only(api):
    settled = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE", "limit": 1}))
    if not settled["items"]:
        api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
        settled = api.ok(
            api.get("fin", "/api/settlements", params={"partner_id": "CORE", "limit": 1})
        )
    settlement = settled["items"][0]["id"]
    page = signed_in(api, "aud").get(f"/why/{settlement}").text
    assert "reproduces the settled amount" in page and "Lines, largest shares first" in page
    assert signed_in(api, "acme").get(f"/why/{settlement}").status_code == 404


def test_a_partner_sees_its_claims_answered_and_opens_a_dispute(api):
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements_csv())}), 201)
    for partner in ("ACME", "BOLT"):
        lines = claim_lines(partner, number=f"P-{partner}", units=("200", "600"))
        api.ok(api.post("fin", "/api/claims/lines", json={"lines": lines}), 201)
    browser = signed_in(api, "acme")
    page = browser.get("/claims").text
    assert "P-ACME" in page and "P-BOLT" not in page
    assert "adjusted" in page and "QA — quantity over agreement" in page
    line = re.search(r'<option value="(claim_line:\d+)">claim P-ACME line 2', page).group(1)
    opened = browser.post(
        "/claims/disputes",
        data={
            "line": line,
            "reason": "we sold 600 to the hospital",
            "csrf": _csrf(page),
        },
        follow_redirects=True,
    )
    assert (
        "opened: finance will answer it" in opened.text
        and "we sold 600 to the hospital" in opened.text
    )
    bolt_line = api.ok(api.get("fin", "/api/claims", params={"partner_id": "BOLT"}))["items"][0][
        "id"
    ]
    bolt = api.ok(api.get("fin", f"/api/claims/{bolt_line}"))["lines"][0]["id"]
    refused = browser.post(
        "/claims/disputes",
        data={"line": f"claim_line:{bolt}", "reason": "not ours", "csrf": _csrf(page)},
        follow_redirects=True,
    )
    assert f"no claim line {bolt}" in refused.text


REP_POINTS = """
id: rep-points
name: Points
kind: points
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
points: {per_amount: 100, points: 1}
tiers: [{from: 5000, points: 500}]
"""


def test_a_rep_sees_the_points_earned_through_assigned_distributors(api):
    api.ok(api.yaml("pam", "/api/programs", REP_POINTS))
    api.ok(api.post("fin", "/api/recalc", json={"full": True}))
    page = signed_in(api, "rita").get("/rep").text
    assert "Your points by program" in page and "<td>Points</td>" in page
    # BOLT bought 9,000 in Q4: 90 points + 500 for reaching the tier
    assert '<td class="money">590 points</td>' in page


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_staff_see_the_analytics_page_with_calibration_and_a_side_by_side_simulation(api):
    page = analysed(
        signed_in(api, "pam"),
        {
            "program": "volume-q",
            "baseline": "2026-Q4",
            "period": "2026-Q4",
            "after": "2026",
            "forecast": "true",
        },
    )
    assert page.status_code == 200
    text = page.text
    assert "Calibration of Quarterly volume on 2026-Q4" in text
    assert "Simulated over 2026-Q4" in text
    assert "Projected liability at period end" in text and "Unclaimed" in text
    assert '"calibration": [' in text and '"simulation": {' in text  # the charts' data
    # the simulation as the books compute it: program by name, money with its currency, the
    # cost as a percentage of revenue, never a raw ratio
    with api.books.session() as session:
        program = api.books.latest_programs(session)["volume-q"]
    [simulated] = simulate(api.books, [program], "2026-Q4", "segment")
    total = simulated.total
    row = _words(text).split("Quarterly volume all ", 1)[1]
    qualifying = percent(Decimal(total.qualifying) / total.partners)
    assert row.startswith(
        f"{total.partners} {total.qualifying} ({qualifying}) "
        f"{readable_money(total.cost, 'USD')} {readable_money(total.revenue, 'USD')} "
        f"{percent(total.cost_share)}"
    ), row[:200]
    assert signed_in(api, "acme").get("/analytics").status_code == 403


def test_the_analytics_page_shows_lift_and_calibration_money_in_the_programs_currency(api):
    page = analysed(
        signed_in(api, "pam"), {"program": "volume-q", "baseline": "2026-Q1", "after": "2026-Q4"}
    )
    assert page.status_code == 200
    words = _words(page.text)
    report = lift(api.books, "volume-q", "2026-Q1", "2026-Q4", reps=500)
    incremental, cost = (
        readable_money(v, "USD") for v in (report.incremental_revenue, report.rebate_cost)
    )
    assert f"incremental revenue {incremental} for rebates of {cost};" in words
    costs = re.findall(r"\+\d+\.\d% \S+ \S+ (\S+ \S+)", words.split("Cost if paid", 1)[1])
    assert costs and all(c.startswith("USD ") for c in costs), costs


# a script element that is not a file nor JSON data, or an inline event handler in a tag
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\b(src=|type=\"application/json\"))|<[^>]*\son[a-z]+\s*=", re.IGNORECASE
)
PAGES = {
    "ada": [
        "/partner?show=ACME",
        "/claims",
        "/finance",
        "/finance/disputes",
        "/finance/close?period=2026-Q4",
        "/programs",
        "/admin/programs?edit=volume-q",
        "/admin/uploads",
        "/audit",
        "/audit?partner=ACME&who=fin&since=2026-01-01",
        "/approvals",
        "/admin/users",
        "/analytics?program=volume-q&other=volume-q&baseline=2026-Q4&period=2026-Q4",
    ],
    "acme": ["/partner", "/claims"],
    "rita": ["/rep"],
}


def test_no_page_carries_inline_script_and_every_one_forbids_it(api):
    """Scripts come only as files and data as JSON, so the Content-Security-Policy can refuse
    every inline script: text that slipped into a page as markup would still not run."""
    pages = {None: ["/login"], **PAGES}
    for username, paths in pages.items():
        browser = signed_in(api, username) if username else TestClient(api.client.app)
        for path in paths:
            answer = browser.get(path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self';" in policy and "unsafe" not in policy, path
            assert [m.group(0) for m in INLINE_SCRIPT.finditer(answer.text)] == [], path


def _trail_since(books, seq: int) -> list[tuple[str, str, str]]:
    """(actor, action, entity) of every audit entry after `seq`."""
    with books.session() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.entity)
            .where(AuditRow.seq > seq)
            .order_by(AuditRow.seq)
        ).all()
    return [tuple(row) for row in rows]


def _last_seq(books) -> int:
    with books.session() as session:
        return session.scalar(select(func.max(AuditRow.seq)))


def test_a_sign_in_is_recorded_as_the_person_never_as_the_servers_account(api):
    """The server runs as `t` (the account a real one would take from the OS): a sign-in's
    seals name who signed in, a wrong password the name claimed."""
    server = api.books.settings.actor
    before = _last_seq(api.books)
    signed_in(api, "pam")
    portal = _trail_since(api.books, before)
    assert portal and {actor for actor, _, _ in portal} == {"pam"}, portal
    before = _last_seq(api.books)
    token = api.client.post("/api/auth/login", json={"username": "aud", "password": PASSWORD})
    assert token.status_code == 200
    wrong = api.client.post("/api/auth/login", json={"username": "fin", "password": "not it"})
    assert wrong.status_code == 401
    through_api = _trail_since(api.books, before)
    assert "aud" in {actor for actor, _, _ in through_api}, through_api
    assert {actor for actor, _, _ in through_api} <= {"aud", "sign-in:fin"}, through_api
    assert server not in {actor for actor, _, _ in portal + through_api}
