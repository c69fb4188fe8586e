"""Load on the partner dashboard: 50 partner users reading /partner, against the `make run` demo.

    make run                       # in one terminal: seeds demo-books once, serves on :8000
    .venv/bin/pip install locust   # (not a test dependency)
    .venv/bin/locust -f bench/portal_load.py --headless -u 50 -r 50 -t 60s \\
        --host http://127.0.0.1:8000 --only-summary

Each simulated person signs in through the login form once, then opens the dashboard every 1–3
seconds, as someone reading it would. The baseline, measured in the same run by the same users,
is the portal's stylesheet: a static file through the same server, so the ratio says what the
dashboard costs beyond serving anything at all. The figures that matter: the 99th percentile
of GET /partner (target ≤ 100 ms) and its ratio to the baseline's.
"""

from __future__ import annotations

import re

from locust import HttpUser, between, events, task

PARTNER, PASSWORD = "d01", "demo-rebates-2026"


class PartnerReading(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        form = self.client.get("/login", name="login form")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        answer = self.client.post(
            "/login", data={"username": PARTNER, "password": PASSWORD, "csrf": csrf}, name="sign in"
        )
        answer.raise_for_status()

    @task(5)
    def dashboard(self) -> None:
        self.client.get("/partner", name="GET /partner")

    @task(1)
    def baseline(self) -> None:
        self.client.get("/static/portal.css", name="baseline: static file")


@events.quitting.add_listener
def report(environment, **_) -> None:
    stats = environment.stats
    page, static = stats.get("GET /partner", "GET"), stats.get("baseline: static file", "GET")
    if not page.num_requests or not static.num_requests:
        return
    p99, base99 = page.get_response_time_percentile(0.99), static.get_response_time_percentile(0.99)
    print(
        f"GET /partner: {page.num_requests} requests, median {page.median_response_time} ms, "
        f"p99 {p99} ms, failures {page.num_failures}; baseline p99 {base99} ms; "
        f"ratio p99 {p99 / max(base99, 1):.1f}×"
    )
