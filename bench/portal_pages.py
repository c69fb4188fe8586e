"""How fast the partner landing page and the program-health page answer over the `make run`
demo books (seed them first with `make run`, or point `--books` at other books):

    PYTHONPATH=src .venv/bin/python bench/portal_pages.py [--books demo-books] [--requests 200]

Each page is read by a signed-in user (d01, a partner; manager, a program manager) through the
application in this process, without a network: what is timed is the page's own work. A few
reads warm it up first; then prints p50 and p99 of each page against its target (partner
≤ 100 ms p99, program health ≤ 1 s p99) and exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from accrue.api import create_app
from accrue.settings import Settings

PASSWORD = "demo-rebates-2026"
PAGES = [("d01", "/partner", 0.100), ("manager", "/programs", 1.0)]  # user, page, p99 target
WARM_UP = 3


def signed_in(app, username: str) -> TestClient:
    client = TestClient(app)
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    answer.raise_for_status()
    return client


def timed(client: TestClient, path: str, requests: int) -> list[float]:
    for _ in range(WARM_UP):
        client.get(path).raise_for_status()
    seconds = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        seconds.append(time.perf_counter() - start)
    return seconds


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=Path, default=Path("demo-books"))
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    missed = False
    with TestClient(create_app(Settings(data_dir=args.books))) as opened:
        for username, path, target in PAGES:
            seconds = timed(signed_in(opened.app, username), path, args.requests)
            p50, p99 = percentile(seconds, 0.50), percentile(seconds, 0.99)
            verdict = "ok" if p99 <= target else "MISSED"
            missed |= p99 > target
            print(
                f"{path:<10} as {username:<8} p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms"
                f"  (target p99 ≤ {target * 1000:.0f} ms: {verdict})"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
