"""Screenshots of the portal for the docs, taken from the `make run` demo books with Debian's
chromium: `.venv/bin/python docs/screenshots.py` (after `make run` has seeded demo-books); name
some (`docs/screenshots.py auditor approver`) to retake only those."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from accrue.api import create_app
from accrue.settings import Settings

HERE = Path(__file__).parent
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# (user, page, file, viewport, whole page): each role's landing page as its first screen
VIEWS = [
    ("d01", "/partner", "partner", DESKTOP, False),
    ("d01", "/partner", "partner-phone", PHONE, False),
    ("d01", "/claims", "partner-claims", DESKTOP, False),
    ("d01", "/rules/off-season", "partner-rules", DESKTOP, False),
    ("rita", "/rep", "rep", DESKTOP, False),
    ("finance", "/finance", "finance", DESKTOP, False),
    ("manager", "/programs", "program-manager", DESKTOP, False),
    ("approver", "/approvals", "approver", DESKTOP, False),
    ("approver", "/approvals", "approver-phone", PHONE, False),
    ("auditor", "/audit", "auditor", DESKTOP, False),
    ("auditor", "/audit", "auditor-phone", PHONE, False),
    (
        "manager",
        "/analytics?program=volume-retroactive&other=volume-incremental"
        "&baseline=2025-Q2&period=2026-Q2",
        "analytics",
        {"width": 1280, "height": 900},
        True,
    ),
]
WAIT = 180_000  # ms: the auditor's page checks every seal of the demo books once it shows
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    app = create_app(Settings(data_dir=HERE.parent / "demo-books"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        wanted = sys.argv[1:]
        for username, path, name, viewport, whole in VIEWS:
            if wanted and name not in wanted:
                continue
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(WAIT)
            page.goto(f"http://127.0.0.1:{port}/login")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill("demo-rebates-2026")
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"http://127.0.0.1:{port}{path}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=HERE / "screenshots" / f"{name}.png", full_page=whole)
            print(f"docs/screenshots/{name}.png")
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
