"""Journeys in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser) against a real server on loopback. Without /usr/bin/chromium the tests skip loudly,
except under CI, which installs it (.ci/run)."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest
import uvicorn
from apiclient import PASSWORD, line_rows, open_api
from pypdf import PdfReader

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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(api.client.app, port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", api
    server.should_exit = True
    thread.join(timeout=10)
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


def test_finance_closes_a_period_and_a_second_person_approves_it(site, browser):
    base, api = site
    page = _sign_in(browser, base, "fin")
    page.get_by_label("Period").fill("2026-Q1")
    page.get_by_role("button", name="Close").click()
    assert "closed 2026-Q1" in page.get_by_role("status").inner_text()
    settlement = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "CORE"}))["items"][
        0
    ]
    api.ok(api.post("fin", f"/api/settlements/{settlement['id']}/submit"), 201)
    approver = _sign_in(browser, base, "abe")
    row = approver.get_by_role("row").filter(has_text=f"settlement {settlement['id']}")
    row.get_by_role("button", name="Approve").click()
    assert "approved" in approver.get_by_role("status").inner_text()


def test_a_partner_downloads_a_pdf_statement(site, browser, tmp_path):
    base, _ = site
    page = _sign_in(browser, base, "acme")
    with page.expect_download() as download:
        page.get_by_role("link", name="Acme Distribution · 2026-Q4 (PDF)").click()
    saved = tmp_path / "statement.pdf"
    download.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "Rebate statement - Acme Distribution (ACME)" in text and "Period 2026-Q4" in text
