"""Incremental benchmark: books with many lines, `accrue serve` running, then one new line at a
time pushed through the API and recalculated, timed until the partner's standing shows it.

    python bench/incremental.py --data /tmp/ingest-1m --programs bench/programs
    python bench/incremental.py --data /tmp/ingest-10m --posts 50     # the 10M-line books

`--data` holds partners.csv, products.csv and lines.csv (see bench/ingest.py). The books are
built once in `--books` (kept, so a second run starts serving at once). Each post is
`POST /api/lines` (one line for a partner), `POST /api/recalc`, then
`GET /api/standings?partner_id=…` until the standing's measure has moved; prints p50 and p99.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
ACCRUE = [sys.executable, "-m", "accrue"]
PASSWORD = "bench-password-1"


def accrue(books: Path, *args: str) -> str:
    env = {**os.environ, "ACCRUE_NEW_PASSWORD": PASSWORD}
    command = [*ACCRUE, "--data-dir", str(books), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def build(books: Path, data: Path, programs: Path) -> str:
    """Books with the data's lines and programs, and a finance user's token (kept beside)."""
    token = books / "bench.token"
    if token.exists():
        return token.read_text().strip()
    accrue(books, "init")
    for kind in ("partners", "products", "reps", "fx"):
        if (data / f"{kind}.csv").exists():  # rates: the bench programs pay in three currencies
            accrue(books, "import", kind, str(data / f"{kind}.csv"))
    accrue(books, "import", "programs", str(programs))
    accrue(books, "import", "lines", str(data / "lines.csv"), "--as-of", "2026-12-31")
    accrue(books, "user", "add", "bench", "--role", "finance")
    token.write_text(accrue(books, "user", "token", "bench", "--name", "bench").strip())
    return token.read_text().strip()


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.load(response)

    def measure(self, partner: str, period: str) -> dict:
        items = self.call("GET", f"/api/standings?partner_id={partner}&period={period}")["items"]
        return {s["program"]: s["measure"] for s in items}


def serve(books: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([*ACCRUE, "--data-dir", str(books), "serve", "--port", str(port)])
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


def one_post(api: Api, n: int, partner: str, sku: str, day: str, period: str) -> float:
    """Seconds from sending a line to seeing its partner's standing include it."""
    before = api.measure(partner, period)
    line = {
        "source": "bench",
        "document": f"INC{time.time_ns()}",
        "line_no": n,
        "kind": "sale",
        "partner_id": partner,
        "sku": sku,
        "date": day,
        "quantity": "1",
        "amount": "100.00",
        "currency": "USD",
    }
    start = time.perf_counter()
    api.call("POST", "/api/lines", {"name": f"bench-{n}", "lines": [line]})
    api.call("POST", "/api/recalc", {"as_of": "2026-12-31"})
    while api.measure(partner, period) == before:
        time.sleep(0.001)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--programs", type=Path, default=HERE / "programs")
    parser.add_argument("--books", type=Path, default=Path("/tmp/accrue-incremental-books"))
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--partner", help="whose line is posted (default: a top parent)")
    args = parser.parse_args()
    token = build(args.books, args.data, args.programs)
    server = serve(args.books, args.port)
    try:
        api = Api(f"http://127.0.0.1:{args.port}", token)
        standing = api.call("GET", "/api/standings?limit=1&period=2026-Q4")["items"][0]
        partner = args.partner or standing["partner"]
        sku = _first_sku(args.data)
        times = sorted(
            one_post(api, n, partner, sku, "2026-11-15", "2026-Q4") for n in range(args.posts)
        )
    finally:
        server.terminate()
        server.wait()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(
        f"posts {len(times)} for {partner}: p50 {statistics.median(times) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )


def _first_sku(data: Path) -> str:
    with open(data / "products.csv") as handle:
        handle.readline()
        return handle.readline().split(",")[0]


if __name__ == "__main__":
    main()
